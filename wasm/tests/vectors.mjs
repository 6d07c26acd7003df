// Runs every committed test vector through the WASM module under Node (the
// same build the page uses, for Node: target/wasm-node, from wasm/build.sh)
// through the page's own sequence (wasm/www/sequence.js: listing plan over
// the file list, digests, log jobs), each vector twice: logs streamed
// through a Hasher in 1 MiB chunks, and inflate_only + SHA-256 outside the
// module (as the page does with WebCrypto); both reports must be the same.
// Checks the verdict, exit code and the multiset of findings against
// expected.json, and the report against docs/report.schema.json; with
// CTVERIFY_BIN set, also that the report is the one `ctverify validate
// --local ... --format json` prints for the same options (sameReport:
// byte-identical but for the hints the CLI adds to two finding messages).
//
//   bash wasm/build.sh && CTVERIFY_BIN=target/release/ctverify node wasm/tests/vectors.mjs
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifySequence } from '../www/sequence.js';
import { sameReport } from './same-report.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const wasm = require(path.join(repo, 'target/wasm-node/ctverify_wasm.js'));
const NOW = '2026-01-01T00:00:00Z';
const cli = process.env.CTVERIFY_BIN;
// The report's published JSON Schema (docs/report.schema.json), with ajv
// (installed by npm ci in wasm/tests/browser, as playwright-core).
const Ajv2020 = createRequire(path.join(repo, 'wasm/tests/browser/package.json'))('ajv/dist/2020');
const schemaErrors = (() => {
  const check = new Ajv2020({ allErrors: true, strict: false }).compile(
    JSON.parse(fs.readFileSync(path.join(repo, 'docs/report.schema.json'), 'utf8')));
  return (report) => (check(report) ? [] : check.errors.map((e) => `${e.instancePath} ${e.message}`));
})();

/** Regular files under dir, as `/`-separated paths relative to it. */
function walk(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/** The page's options from the vector's CLI arguments. */
function options(args) {
  const o = { now: NOW, regions: [], accounts: [] };
  for (let i = 0; i < args.length; i++) {
    const next = () => args[++i];
    switch (args[i]) {
      case '--trail-arn': o.trail_arn = next(); break;
      case '--start-time': o.start_time = next(); break;
      case '--end-time': o.end_time = next(); break;
      case '--s3-bucket': o.s3_bucket = next(); break;
      case '--s3-prefix': o.s3_prefix = next(); break;
      case '--region': o.regions.push(next()); break;
      case '--account-id': o.accounts.push(next()); break;
      case '--allow-gaps': o.allow_gaps = true; break;
      default: throw new Error(`unmapped argument ${args[i]}`);
    }
  }
  return o;
}

/** The first `cap + 1` bytes of `file` at most (the sequence's `read`). */
function readHead(file, cap) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(fs.fstatSync(fd).size, cap + 1));
    let at = 0;
    let n;
    while (at < buf.length && (n = fs.readSync(fd, buf, at, buf.length - at, null)) > 0) at += n;
    return buf.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Hashes one log file: streaming WASM SHA-256, or (external) inflated in
 * WASM and hashed whole outside it, as the page does with WebCrypto. */
function hashLog(file, budget, external, buf) {
  const h = external ? wasm.Hasher.inflate_only(budget) : new wasm.Hasher(budget);
  const sha = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0 && !h.failed()) {
      if (external) sha.update(h.update_inflated(buf.subarray(0, n)));
      else h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return external ? h.finish_with(sha.digest('hex')) : h.finish();
}

/** The page's sequence (wasm/www/sequence.js) over a vector's bucket/. */
function verify(dir, exp, external) {
  const root = path.join(dir, 'bucket');
  const paths = walk(root);
  const present = new Set(paths);
  const buf = Buffer.alloc(1 << 20);
  return verifySequence(wasm, {
    options: options(exp.args),
    keys: exp.public_keys.map((k) => ({ name: k, read: (cap) => readHead(path.join(dir, k), cap) })),
    files: {
      paths,
      has: (p) => present.has(p),
      size: (p) => fs.statSync(path.join(root, p)).size,
      read: (p, cap) => readHead(path.join(root, p), cap),
    },
    hashLog: async (job, budget) => ({ hashed: hashLog(path.join(root, job.path), budget, external, buf) }),
  });
}

const tuples = (findings) =>
  findings.filter((f) => f.kind !== 'valid').map((f) => JSON.stringify([f.kind, f.object, f.start, f.end])).sort();

const vectors = path.join(repo, 'test-vectors/vectors');
let failures = 0;
let count = 0;
for (const name of fs.readdirSync(vectors).sort()) {
  const dir = path.join(vectors, name);
  if (!fs.existsSync(path.join(dir, 'expected.json'))) continue;
  count++;
  const exp = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  const problems = [];
  let json;
  try {
    json = await verify(dir, exp, false);
    if ((await verify(dir, exp, true)) !== json) problems.push('inflate_only + external SHA-256 gives another report');
  } catch (e) {
    problems.push(`threw: ${e.message ?? e}`);
  }
  if (json !== undefined) {
    const report = JSON.parse(json);
    for (const e of schemaErrors(report)) problems.push(`report schema: ${e}`);
    if (report.verdict !== exp.verdict) problems.push(`verdict ${report.verdict}, expected ${exp.verdict}`);
    const code = { valid: 0, invalid: 1, incomplete: 2 }[report.verdict];
    if (code !== exp.exit_code) problems.push(`exit code ${code}, expected ${exp.exit_code}`);
    const got = tuples(report.findings);
    const want = tuples(exp.findings);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      problems.push(`findings differ:\n  got  ${got.join('\n       ')}\n  want ${want.join('\n       ')}`);
    }
    if (cli) {
      const args = ['validate', '--local', path.join(dir, 'bucket'), '--now', NOW, '--format', 'json', ...exp.args];
      for (const k of exp.public_keys) args.push('--public-keys', path.join(dir, k));
      let out;
      try {
        out = execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch (e) {
        out = e.stdout; // exit 1 and 2 are verdicts
      }
      if (!sameReport(out, json)) problems.push('report differs from the CLI\'s JSON');
    }
  }
  if (problems.length) {
    failures++;
    console.log(`FAIL ${name}: ${problems.join('; ')}`);
  }
}
console.log(`wasm vectors: ${count - failures}/${count} as native${cli ? ' (reports the CLI\'s: byte-identical but for its hints)' : ''}`);
process.exit(failures && 1);
