// End-to-end test of the browser verification page (target/page/, built by
// `bash wasm/build.sh`) in headless Chromium, through playwright-core.
//
//   node wasm/tests/browser/e2e.mjs [VECTOR...]
//
// For each committed test vector (test-vectors/vectors/NAME: bucket/,
// keys, expected.json with the CLI args), it picks the bucket folder and the
// keys in the page, clicks Verify, and checks: the verdict (against
// expected.json and the CLI), one findings row per finding of the report,
// and that the downloaded report is the one
// `ctverify validate --local ... --format json ARGS --now NOW` prints on the
// same files (sameReport, ../same-report.mjs: byte-identical but for the
// hints the CLI adds to two finding messages). Also: the same through a
// .zip (deflated, in a wrapper folder; stored, without one; dropped), error
// cases (bad keys file, bad time, no digests), and that no request leaves
// 127.0.0.1. Screenshots go to target/browser-screenshots/.
//
// Env: CTVERIFY_BIN (default target/release/ctverify), CHROMIUM (default
// /usr/bin/chromium), E2E_ALL=0 to run only the named core cases.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameReport } from '../same-report.mjs';
import { launch, serve } from './serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PAGE = path.join(ROOT, 'target/page');
const VECTORS = path.join(ROOT, 'test-vectors/vectors');
const SHOTS = path.join(ROOT, 'target/browser-screenshots');
const NOW = '2026-01-01T00:00:00Z'; // what expected.json assumes
const BIN = path.resolve(ROOT, process.env.CTVERIFY_BIN || 'target/release/ctverify');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CORE = [
  'clean_chain_valid',
  'log_modified_detected',
  'digest_missing_middle_detected',
  'chain_hash_mismatch_resigned',
  'org_trail_valid',
  'clean_range_cuts_chain_valid', // --start-time / --end-time
  'trail_name_collision_detects', // --trail-arn
  'chain_restart_gap_incomplete', // coverage gaps on the timeline
  'public_keys_pem_file', // PEM keys
];

const t0 = Date.now();
const failures = [];
const results = [];

function log(...a) {
  console.log(...a);
}

// ------------------------------------------------------------------ set-up

if (!fs.existsSync(path.join(PAGE, 'index.html')) || !fs.existsSync(path.join(PAGE, 'pkg/ctverify_wasm_bg.wasm'))) {
  console.error(`${PAGE} is not built: run bash wasm/build.sh first`);
  process.exit(2);
}
if (!fs.existsSync(BIN)) {
  log(`building ${BIN} (cargo build --release -p ctverify)`);
  execFileSync('cargo', ['build', '--release', '--locked', '-p', 'ctverify'], { cwd: ROOT, stdio: 'inherit' });
}
fs.rmSync(SHOTS, { recursive: true, force: true }); // no stale screenshots
fs.mkdirSync(SHOTS, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctverify-e2e-'));

const server = await serve(PAGE);
const BASE = server.base;
const browser = await launch(CHROMIUM);
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
const offsite = [];
const allowed = (u) => u.startsWith(`${BASE}/`) || u.startsWith('data:') || u.startsWith('blob:');
context.on('request', (r) => {
  if (!allowed(r.url())) offsite.push(r.url());
});
await context.route('**/*', (route) => {
  const u = route.request().url();
  if (!allowed(u)) {
    offsite.push(u);
    return route.abort();
  }
  return route.continue();
});
await context.addInitScript(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
});

// ------------------------------------------------------------------ helpers

/** CLI args of a vector mapped to page fields; null if one is not supported. */
function pageOptions(args) {
  const o = { text: {}, lists: { regions: [], accounts: [] }, checks: [] };
  const text = { '--trail-arn': 'trail-arn', '--start-time': 'start-time', '--end-time': 'end-time', '--s3-bucket': 's3-bucket', '--s3-prefix': 's3-prefix' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (text[a]) o.text[text[a]] = args[++i];
    else if (a === '--region') o.lists.regions.push(args[++i]);
    else if (a === '--account-id') o.lists.accounts.push(args[++i]);
    else if (a === '--allow-gaps') o.checks.push('allow-gaps');
    else if (a === '--verbose') o.checks.push('verbose');
    else return null;
  }
  return o;
}

function cli(bucket, keys, args) {
  const argv = ['validate', '--local', bucket, ...keys.flatMap((k) => ['--public-keys', k]), '--format', 'json', ...args, '--now', NOW];
  const r = spawnSync(BIN, argv, { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1 && r.status !== 2) throw new Error(`CLI failed (${r.status}): ${r.stderr}`);
  if (!r.stdout.startsWith('{')) throw new Error(`CLI gave no report (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function openPage() {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${BASE}/index.html?now=${NOW}`);
  await page.waitForSelector('html[data-ready=true]', { timeout: 30000 });
  const csp = await page.$eval('meta[http-equiv=Content-Security-Policy]', (m) => m.content).catch(() => '');
  if (!/default-src 'self'/.test(csp) || !/connect-src 'self'/.test(csp) || /'unsafe-(inline|eval)'/.test(csp)) {
    errors.push(`the page's Content-Security-Policy meta tag is missing or too loose: ${JSON.stringify(csp)}`);
  }
  return { page, errors };
}

async function fillOptions(page, o) {
  if (!o) return;
  if (Object.keys(o.text).some((k) => k.startsWith('s3-')) || o.lists.regions.length || o.lists.accounts.length || o.checks.length) {
    await page.click('details.more summary');
  }
  for (const [id, v] of Object.entries(o.text)) await page.fill(`[data-testid=${id}]`, v);
  if (o.lists.regions.length) await page.fill('[data-testid=regions]', o.lists.regions.join(', '));
  if (o.lists.accounts.length) await page.fill('[data-testid=accounts]', o.lists.accounts.join(', '));
  for (const c of o.checks) await page.check(`[data-testid=${c}]`);
}

/** Clicks Verify and waits for the verdict or an error. */
async function verify(page) {
  await page.click('[data-testid=verify-button]');
  await page.waitForSelector('[data-testid=verdict][data-verdict], [data-testid=error]:not([hidden])', { timeout: 30000 });
  const error = await page.$eval('[data-testid=error]', (e) => (e.hidden ? null : e.textContent));
  const verdict = await page.$eval('[data-testid=verdict]', (e) => e.getAttribute('data-verdict'));
  return { error, verdict };
}

async function downloadReport(page) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-report]')]);
  if (dl.suggestedFilename() !== 'ctverify-report.json') throw new Error(`download named ${dl.suggestedFilename()}`);
  return fs.readFileSync(await dl.path(), 'utf8');
}

function multiset(list) {
  const m = {};
  for (const k of list) m[k] = (m[k] || 0) + 1;
  return JSON.stringify(Object.fromEntries(Object.entries(m).sort()));
}

function firstDiff(a, b) {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const line = a.slice(0, i).split('\n').length;
  return `first difference at line ${line}:\n  page: ${JSON.stringify(a.slice(Math.max(0, i - 60), i + 80))}\n  cli:  ${JSON.stringify(b.slice(Math.max(0, i - 60), i + 80))}`;
}

async function checkCase(name, { setFiles, bucket, keys, args, expectedVerdict, shot }) {
  const started = Date.now();
  const problems = [];
  const { page, errors } = await openPage();
  try {
    const o = pageOptions(args);
    await setFiles(page);
    await page.setInputFiles('[data-testid=keys-input]', keys);
    await fillOptions(page, o);
    const { error, verdict } = await verify(page);
    const expected = cli(bucket, keys, args);
    const report = JSON.parse(expected);
    if (error) {
      problems.push(`page error: ${error}`);
    } else {
      if (verdict !== report.verdict) problems.push(`verdict ${verdict}, CLI says ${report.verdict}`);
      if (expectedVerdict && verdict !== expectedVerdict) problems.push(`verdict ${verdict}, expected.json says ${expectedVerdict}`);
      const rows = await page.$$eval('[data-testid=findings] tr[data-kind]', (trs) => trs.map((t) => t.dataset.kind));
      const want = report.findings.map((f) => f.kind).filter((k) => k !== 'valid');
      if (multiset(rows) !== multiset(want)) problems.push(`findings rows ${multiset(rows)} != report ${multiset(want)}`);
      const got = await downloadReport(page);
      if (!sameReport(expected, got)) problems.push(`downloaded report differs from the CLI's: ${firstDiff(got, expected)}`);
      const mbps = await page.$eval('[data-testid=verdict]', (e) => e.dataset.mbps);
      if (!(Number(mbps) >= 0)) problems.push(`no data-mbps (${mbps})`);
    }
    const csp = await page.evaluate(() => window.__csp);
    if (csp.length) problems.push(`CSP violations: ${csp.join(', ')}`);
    if (errors.length) problems.push(...errors);
    if (shot) await page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage: true });
    record(name, problems, `${verdict ?? 'no verdict'}`, started);
  } catch (e) {
    record(name, [...problems, e.message.split('\n')[0]], 'exception', started);
    await page.screenshot({ path: path.join(SHOTS, `FAILED-${name.replace(/\W+/g, '_')}.png`), fullPage: true }).catch(() => {});
  } finally {
    await page.close();
  }
}

function record(name, problems, what, started) {
  const ms = Date.now() - started;
  results.push({ name, ok: problems.length === 0 });
  if (problems.length) {
    failures.push(name);
    log(`FAIL ${name} (${what}, ${ms} ms)`);
    for (const p of problems) log(`     ${p}`);
  } else {
    log(`ok   ${name} (${what}, ${ms} ms)`);
  }
}

function vector(name) {
  const dir = path.join(VECTORS, name);
  const exp = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  return {
    dir,
    bucket: path.join(dir, 'bucket'),
    keys: (exp.public_keys || ['public-keys.json']).map((k) => path.join(dir, k)),
    args: exp.args || [],
    verdict: exp.verdict,
  };
}

function zipFolder(src, out, { wrapper, stored, junk = 0 }) {
  const py = `
import os, sys, zipfile
src, out, wrapper, stored, junk = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1', int(sys.argv[5])
with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
    if wrapper:
        z.writestr(wrapper + '/', b'')
    # More than 65,535 entries: the zip needs ZIP64 end records.
    for i in range(junk):
        z.writestr(zipfile.ZipInfo(f'{wrapper}/unrelated/{i:06d}.txt' if wrapper else f'unrelated/{i:06d}.txt'), b'')
    for d, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            arc = os.path.relpath(p, src).replace(os.sep, '/')
            z.write(p, (wrapper + '/' + arc) if wrapper else arc)
`;
  execFileSync('python3', ['-c', py, src, out, wrapper || '', stored ? '1' : '0', String(junk)]);
}

async function errorCase(name, setup, wantText) {
  const started = Date.now();
  const problems = [];
  const { page, errors } = await openPage();
  try {
    await setup(page);
    const { error, verdict } = await verify(page);
    if (verdict) problems.push(`a verdict (${verdict}) was shown`);
    if (!error) problems.push('no error shown');
    else if (!error.includes(wantText)) problems.push(`error ${JSON.stringify(error)} does not mention ${JSON.stringify(wantText)}`);
    const busy = await page.$eval('[data-testid=verify-button]', (b) => b.disabled);
    if (busy) problems.push('verify button still disabled after the error');
    await page.screenshot({ path: path.join(SHOTS, `error-${name.replace(/\W+/g, '-')}.png`), fullPage: true });
    if (errors.length) problems.push(...errors.filter((e) => !e.includes('404')));
    record(`error: ${name}`, problems, error ? 'error shown' : 'no error', started);
  } catch (e) {
    record(`error: ${name}`, [e.message.split('\n')[0]], 'exception', started);
  } finally {
    await page.close();
  }
}

// ------------------------------------------------------------------ cases

const requested = process.argv.slice(2);
const all = fs.readdirSync(VECTORS).filter((n) => fs.existsSync(path.join(VECTORS, n, 'expected.json'))).sort();
let names = requested.length ? requested : process.env.E2E_ALL === '0' ? CORE.filter((n) => all.includes(n)) : all;
const missingCore = CORE.filter((n) => !all.includes(n));
if (missingCore.length) log(`note: vectors not found: ${missingCore.join(', ')}`);
// Named cases first (with screenshots), then the rest.
names = [...names.filter((n) => CORE.includes(n)), ...names.filter((n) => !CORE.includes(n))];

try {
  for (const name of names) {
    const v = vector(name);
    if (pageOptions(v.args) === null) {
      log(`skip ${name} (args ${v.args.join(' ')} have no field in the page)`);
      continue;
    }
    await vectorCase(name, v);
  }
  async function vectorCase(name, v) {
    await checkCase(name, {
      setFiles: (page) => page.setInputFiles('[data-testid=folder-input]', v.bucket),
      bucket: v.bucket,
      keys: v.keys,
      args: v.args,
      expectedVerdict: v.verdict,
      shot: CORE.includes(name) ? name : null,
    });
  }

  if (!requested.length) {
    // The same copy as a .zip: deflated inside a wrapper folder, stored
    // without one, and dropped on the drop zone.
    for (const [label, name, opts] of [
      ['zip (deflate, wrapper folder)', 'log_modified_detected', { wrapper: 'evidence', stored: false }],
      ['zip (stored, no wrapper)', 'clean_chain_valid', { wrapper: '', stored: true }],
      ['zip (drop)', 'digest_missing_middle_detected', { wrapper: 'copy', stored: false }],
      ['zip (key prefix, no wrapper)', 'prefix_valid', { wrapper: '', stored: false }],
      ['zip (key prefix, wrapper folder)', 'prefix_deep_valid', { wrapper: 'evidence', stored: false }],
      ['zip (ZIP64: 66,000 entries)', 'log_missing_detected', { wrapper: '', stored: false, junk: 66000 }],
    ]) {
      const v = vector(name);
      const zip = path.join(tmp, `${name}-${opts.stored ? 'stored' : 'deflate'}-${opts.wrapper || 'root'}.zip`);
      zipFolder(v.bucket, zip, opts);
      const drop = label.includes('drop');
      await checkCase(`${label}: ${name}`, {
        setFiles: drop
          ? async (page) => {
              const b64 = fs.readFileSync(zip).toString('base64');
              await page.evaluate(
                ({ b64, name }) => {
                  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                  const dt = new DataTransfer();
                  dt.items.add(new File([bytes], name, { type: 'application/zip' }));
                  const dz = document.getElementById('dropzone');
                  for (const type of ['dragenter', 'dragover', 'drop']) {
                    dz.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
                  }
                },
                { b64, name: path.basename(zip) },
              );
              await page.waitForFunction(() => document.getElementById('dropzone').classList.contains('chosen'), null, { timeout: 10000 });
            }
          : (page) => page.setInputFiles('[data-testid=zip-input]', zip),
        bucket: v.bucket,
        keys: v.keys,
        args: v.args,
        expectedVerdict: v.verdict,
        shot: `zip-${name}${drop ? '-drop' : ''}`,
      });
    }

    // A dropped folder: Playwright cannot drag a real folder, so the drop
    // carries one item whose webkitGetAsEntry() gives a FileSystemEntry
    // tree of the vector's files (the API the page walks), under a folder
    // "evidence" that must be taken as the copy's root.
    {
      const name = 'multi_region_valid';
      const v = vector(name);
      const files = [];
      const walk = (d, rel) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
          else files.push({ path: `${rel}${e.name}`, b64: fs.readFileSync(p).toString('base64') });
        }
      };
      walk(v.bucket, '');
      await checkCase(`drop (folder): ${name}`, {
        setFiles: async (page) => {
          await page.evaluate((files) => {
            const root = { name: 'evidence', kids: new Map() };
            for (const f of files) {
              const parts = f.path.split('/');
              let d = root;
              for (const seg of parts.slice(0, -1)) {
                if (!d.kids.has(seg)) d.kids.set(seg, { name: seg, kids: new Map() });
                d = d.kids.get(seg);
              }
              d.kids.set(parts.at(-1), { name: parts.at(-1), bytes: Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0)) });
            }
            const entry = (n, dir) =>
              n.kids
                ? {
                    isFile: false,
                    isDirectory: true,
                    name: n.name,
                    fullPath: `${dir}/${n.name}`,
                    createReader() {
                      const all = [...n.kids.values()].map((k) => entry(k, `${dir}/${n.name}`));
                      let at = 0;
                      // Batches of 2, as readEntries hands out at most ~100.
                      return { readEntries: (ok) => setTimeout(() => ok(all.slice(at, (at += 2)))) };
                    },
                  }
                : { isFile: true, isDirectory: false, name: n.name, file: (ok) => setTimeout(() => ok(new File([n.bytes], n.name))) };
            const fake = entry(root, '');
            DataTransferItem.prototype.webkitGetAsEntry = () => fake;
            const dt = new DataTransfer();
            dt.items.add(new File(['x'], 'evidence'));
            const dz = document.getElementById('dropzone');
            for (const type of ['dragenter', 'dragover', 'drop']) {
              dz.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            }
          }, files);
          await page.waitForFunction(() => document.getElementById('dropzone').classList.contains('chosen'), null, { timeout: 10000 });
        },
        bucket: v.bucket,
        keys: v.keys,
        args: v.args,
        expectedVerdict: v.verdict,
        shot: 'drop-folder',
      });
    }

    // Two runs on the same page: the second report replaces the first.
    {
      const started = Date.now();
      const problems = [];
      const { page, errors } = await openPage();
      try {
        const a = vector('clean_chain_valid');
        const b = vector('log_modified_detected');
        await page.setInputFiles('[data-testid=folder-input]', a.bucket);
        await page.setInputFiles('[data-testid=keys-input]', a.keys);
        const first = await verify(page);
        if (first.verdict !== 'valid') problems.push(`first run: ${first.verdict || first.error}`);
        await page.setInputFiles('[data-testid=folder-input]', b.bucket);
        await page.setInputFiles('[data-testid=keys-input]', b.keys);
        await page.click('[data-testid=verify-button]');
        await page.waitForSelector('[data-testid=verdict][data-verdict=invalid]', { timeout: 30000 });
        const expected = cli(b.bucket, b.keys, b.args);
        const got = await downloadReport(page);
        if (!sameReport(expected, got)) problems.push(`second report differs from the CLI's: ${firstDiff(got, expected)}`);
        const rows = await page.$$eval('[data-testid=findings] tr[data-kind]', (trs) => trs.map((t) => t.dataset.kind));
        const want = JSON.parse(expected).findings.map((f) => f.kind);
        if (multiset(rows) !== multiset(want)) problems.push(`findings rows ${multiset(rows)} != report ${multiset(want)}`);
        problems.push(...errors);
      } catch (e) {
        problems.push(e.message.split('\n')[0]);
      } finally {
        await page.close();
      }
      record('two runs on one page', problems, problems.length ? 'failed' : 'invalid after valid', started);
    }

    // Errors: shown in the page, no verdict.
    const clean = vector('clean_chain_valid');
    const badKeys = path.join(tmp, 'broken-keys.json');
    fs.writeFileSync(badKeys, '{"PublicKeyList": [');
    await errorCase(
      'broken keys file',
      async (page) => {
        await page.setInputFiles('[data-testid=folder-input]', clean.bucket);
        await page.setInputFiles('[data-testid=keys-input]', badKeys);
      },
      'not a public-key list',
    );
    await errorCase(
      'bad start time',
      async (page) => {
        await page.setInputFiles('[data-testid=folder-input]', clean.bucket);
        await page.setInputFiles('[data-testid=keys-input]', clean.keys);
        await page.fill('[data-testid=start-time]', 'yesterday-ish');
      },
      'start time',
    );
    const empty = path.join(tmp, 'not-a-trail');
    fs.mkdirSync(path.join(empty, 'photos'), { recursive: true });
    fs.writeFileSync(path.join(empty, 'photos', 'cat.txt'), 'meow');
    await errorCase(
      'no digests',
      async (page) => {
        await page.setInputFiles('[data-testid=folder-input]', empty);
        await page.setInputFiles('[data-testid=keys-input]', clean.keys);
      },
      'no CloudTrail digest files found',
    );
    await errorCase(
      'no keys chosen',
      async (page) => {
        await page.setInputFiles('[data-testid=folder-input]', clean.bucket);
      },
      'public-keys file',
    );
  }
} finally {
  await context.close();
  await browser.close();
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

if (offsite.length) {
  failures.push('requests off loopback');
  log(`FAIL requests that left ${BASE}:`);
  for (const u of [...new Set(offsite)]) log(`     ${u}`);
} else {
  log(`ok   every request stayed on ${BASE} (or data:/blob:)`);
}
const passed = results.filter((r) => r.ok).length;
log(`screenshots: ${path.relative(ROOT, SHOTS)}/`);
log(`time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
log(`browser: ${passed} passed, ${results.length - passed} failed`);
process.exit(failures.length ? 1 : 0);
