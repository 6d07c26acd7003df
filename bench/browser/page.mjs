// Times the browser page (target/page/) over a local copy in headless
// Chromium: from the click on Verify to the verdict, RUNS times (a fresh
// page each time). Prints one line per run: "SECONDS LOG_BYTES MBPS WORKERS"
// (the page's own measure: data-elapsed-ms, data-log-bytes, data-mbps).
//
//   node bench/browser/page.mjs BUCKET_DIR KEYS_FILE [RUNS [WORKERS]]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// serve.mjs (and playwright-core, installed next to it) live with the browser tests.
const { launch, serve } = await import(path.join(ROOT, 'wasm/tests/browser/serve.mjs'));

const [bucket, keys, runsArg, workersArg] = process.argv.slice(2);
if (!bucket || !keys) {
  console.error('usage: node bench/browser/page.mjs BUCKET_DIR KEYS_FILE [RUNS]');
  process.exit(2);
}
const runs = Number(runsArg || 3);
const server = await serve(process.env.PAGE_DIR || path.join(ROOT, 'target/page'));
const browser = await launch();
const context = await browser.newContext();
let failed = false;
try {
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    await page.goto(`${server.base}/index.html${workersArg ? `?workers=${workersArg}` : ''}`);
    await page.waitForSelector('html[data-ready=true]', { timeout: 30000 });
    await page.setInputFiles('[data-testid=folder-input]', bucket);
    await page.setInputFiles('[data-testid=keys-input]', keys);
    const t0 = Date.now();
    await page.click('[data-testid=verify-button]');
    await page.waitForSelector('[data-testid=verdict][data-verdict], [data-testid=error]:not([hidden])', { timeout: 170000 });
    const wall = (Date.now() - t0) / 1e3;
    const err = await page.$eval('[data-testid=error]', (e) => (e.hidden ? null : e.textContent));
    if (err) throw new Error(`the page reported an error: ${err}`);
    const d = await page.$eval('[data-testid=verdict]', (e) => ({ ...e.dataset }));
    const workers = await page.evaluate(() => document.documentElement.dataset.workers);
    console.log(`${(Number(d.elapsedMs) / 1e3).toFixed(3)} ${d.logBytes} ${Number(d.mbps).toFixed(1)} ${workers} ${d.verdict} ${wall.toFixed(3)}`);
    await page.close();
  }
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await context.close();
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
