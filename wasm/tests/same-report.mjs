// sameReport: whether the page's JSON report (the WASM module's, as
// wasm/tests/vectors.mjs gets it under Node, or as the page downloads it in
// wasm/tests/browser/e2e.mjs) is the CLI's `--format json` report for the
// same files and options: byte-identical but for the hints the CLI adds to
// two finding messages.

// The hints the CLI adds to the core's finding messages (which name no CLI
// flag, being every front end's): the CLI's message from the page's.
const CLI_HINTS = {
  digest_key_unknown: (m) => `${m} (add it with --public-keys)`,
  coverage_gap: (m) => `--${m}`,
};

/**
 * Whether the CLI's `--format json` report and the page's (the WASM
 * module's) are the same report: byte-identical, or different only in
 * CLI_HINTS — a finding of one of those kinds whose CLI message is exactly
 * the hinted page message. Everything else must be identical, checked twice:
 * - parsed, the two are deep-equal (same keys, same order) once each hinted
 *   CLI message is replaced by the page's;
 * - byte for byte: the page's text with each such message (JSON-escaped, the
 *   next occurrence in finding order) replaced by the CLI's is the CLI's
 *   text, so no whitespace or format drift gets through.
 */
export function sameReport(cliJson, pageJson) {
  if (cliJson === pageJson) return true;
  let cli;
  let page;
  try {
    cli = JSON.parse(cliJson);
    page = JSON.parse(pageJson);
  } catch {
    return false;
  }
  const cf = cli.findings;
  const pf = page.findings;
  if (!Array.isArray(cf) || !Array.isArray(pf) || cf.length !== pf.length) return false;
  const hinted = []; // [page message, CLI message], in finding order
  cf.forEach((f, i) => {
    const p = pf[i];
    const hint = CLI_HINTS[p.kind];
    if (hint && f.kind === p.kind && typeof p.message === 'string' && f.message !== p.message && f.message === hint(p.message)) {
      hinted.push([p.message, f.message]);
      f.message = p.message;
    }
  });
  if (hinted.length === 0 || JSON.stringify(cli) !== JSON.stringify(page)) return false;
  let expected = '';
  let at = 0;
  for (const [pm, cm] of hinted) {
    const lit = JSON.stringify(pm);
    const i = pageJson.indexOf(lit, at);
    if (i < 0) return false;
    expected += pageJson.slice(at, i) + JSON.stringify(cm);
    at = i + lit.length;
  }
  return expected + pageJson.slice(at) === cliJson;
}
