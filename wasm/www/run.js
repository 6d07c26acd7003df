// Running a verification: the options from the form, the WebAssembly module
// (compiled once, shared with every worker), the driver worker and the hash
// workers it talks to over MessagePorts, the progress card, cancel. One run
// at a time; its report goes to the `onReport` callback.
//
// Hidden URL parameters: ?now=RFC3339 pins the "current time" of the run
// (the CLI's --now), for reproducible reports in tests; ?workers=N sets the
// number of hash workers (benchmarks).
import { $, addWarning, announce, showError } from './dom.js';
import { fmtBytes, fmtRate, fmtSecs, nf } from './format.js';

const MAX_HASH_WORKERS = 16;
const params = new URLSearchParams(location.search);
export const hashWorkers = Math.max(1, Math.min(MAX_HASH_WORKERS, Number(params.get('workers')) || navigator.hardwareConcurrency || 2));

// One compile of the module, shared with every worker (a WebAssembly.Module
// is structured-cloneable; each worker instantiates its own).
const wasmUrl = new URL('./pkg/ctverify_wasm_bg.wasm', import.meta.url);
export const modulePromise = (async () => {
  const resp = await fetch(wasmUrl);
  if (!resp.ok) throw new Error(`loading the WebAssembly module: HTTP ${resp.status}`);
  try {
    return await WebAssembly.compileStreaming(resp.clone());
  } catch {
    // A server without the application/wasm type.
    return WebAssembly.compile(await resp.arrayBuffer());
  }
})();

let current = null; // {driver, hashers, started, logsStarted, last, timer, opts}

export function isRunning() {
  return current !== null;
}

function nowParam() {
  const pinned = params.get('now');
  if (pinned) return pinned;
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function list(id) {
  return $(id)
    .value.split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The run's options from the form (the `Verifier` constructor's). */
function options() {
  return {
    now: nowParam(),
    trail_arn: $('trail-arn').value.trim(),
    start_time: $('start-time').value.trim(),
    end_time: $('end-time').value.trim(),
    s3_bucket: $('s3-bucket').value.trim(),
    s3_prefix: $('s3-prefix').value.trim(),
    regions: list('regions'),
    accounts: list('accounts'),
    allow_gaps: $('allow-gaps').checked,
    verbose: $('verbose').checked,
  };
}

function stopRun() {
  const run = current;
  if (!run) return;
  clearInterval(run.timer);
  run.driver.terminate();
  for (const w of run.hashers) w.terminate();
  current = null;
  const b = $('verify-button');
  b.disabled = false;
  b.textContent = 'Verify';
  $('form').removeAttribute('aria-busy');
  $('cancel-button').hidden = true;
}

/** Stops the run under way, if any (the Cancel button). */
export function cancelRun() {
  if (!current) return;
  stopRun();
  $('phase').textContent = 'Cancelled.';
  announce('Verification cancelled.');
}

function verdictWord(text) {
  const m = /"verdict":\s*"(\w+)"/.exec(text);
  return m ? `verdict ${m[1]}` : 'no verdict';
}

function showProgress(run, p) {
  run.last = p;
  $('p-digests').textContent = `${nf.format(p.digests)} / ${nf.format(p.digestsTotal)}`;
  $('p-logs').textContent = p.logsPlanned ? `${nf.format(p.logsDone)} / ${nf.format(p.logsPlanned)}` : '–';
  $('p-bytes').textContent = fmtBytes(p.bytesHashed);
  const bar = $('progress-bar');
  if (p.readTotal !== undefined) {
    bar.value = p.readTotal ? p.readBytes / p.readTotal : 1;
    const secs = (performance.now() - (run.logsStarted || run.started)) / 1e3;
    if (secs > 0.05) $('p-speed').textContent = fmtRate(p.bytesHashed, secs * 1e3);
  } else if (p.digestsTotal) {
    bar.value = p.digests / p.digestsTotal;
  }
}

/**
 * Starts a run over `items` (the Source's `[path, item]` pairs) and `keys`
 * (File[]); `onReport(text, elapsedMs, opts)` gets the report JSON when it
 * is done. Errors are shown in the page.
 */
export async function startRun({ items, keys, onReport }) {
  let module;
  try {
    module = await modulePromise;
  } catch (e) {
    showError(`The WebAssembly module could not be loaded: ${e.message || e}`);
    return;
  }
  const opts = options();
  const started = performance.now();
  const driver = new Worker(new URL('./driver-worker.js', import.meta.url), { type: 'module', name: 'ctverify-driver' });
  const hashers = [];
  const ports = [];
  for (let i = 0; i < hashWorkers; i++) {
    const w = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module', name: `ctverify-hash-${i}` });
    const ch = new MessageChannel();
    w.postMessage({ module, port: ch.port2 }, [ch.port2]);
    ports.push(ch.port1);
    hashers.push(w);
  }
  const b = $('verify-button');
  b.disabled = true;
  b.textContent = 'Verifying…';
  $('form').setAttribute('aria-busy', 'true');
  const run = { driver, hashers, started, logsStarted: null, last: null, timer: 0, opts };
  current = run;
  $('progress-card').hidden = false;
  $('cancel-button').hidden = false;
  $('progress-card').scrollIntoView({ block: 'center' });
  $('phase').textContent = 'Starting…';
  announce('Verification started.');
  $('progress-bar').value = 0;
  for (const id of ['p-digests', 'p-logs', 'p-bytes', 'p-speed']) $(id).textContent = '–';
  run.timer = setInterval(() => {
    $('p-elapsed').textContent = fmtSecs(performance.now() - started);
  }, 250);

  const fail = (message) => {
    if (current !== run) return;
    stopRun();
    $('phase').textContent = 'Stopped: the run could not complete.';
    // Nothing was read yet (options, keys): the error says it all.
    if (!run.last) $('progress-card').hidden = true;
    showError(message);
  };
  driver.onerror = (e) => fail(`The verifier stopped: ${e.message || 'worker error'}`);
  for (const w of hashers) w.onerror = (e) => fail(`A hash worker stopped: ${e.message || 'worker error'}`);
  driver.onmessage = (m) => {
    if (current !== run) return;
    const msg = m.data;
    switch (msg.type) {
      case 'phase':
        $('phase').textContent = `${msg.text}…`;
        if (msg.phase === 'logs') run.logsStarted = performance.now();
        break;
      case 'progress':
        showProgress(run, msg);
        break;
      case 'warning':
        addWarning(msg.message);
        break;
      case 'error':
        fail(msg.message);
        break;
      case 'done': {
        const elapsed = performance.now() - started;
        stopRun();
        $('phase').textContent = `Done in ${fmtSecs(elapsed)}: ${verdictWord(msg.report)}.`;
        $('progress-card').hidden = true;
        announce(`Verification finished: ${verdictWord(msg.report)}.`);
        onReport(msg.report, elapsed, opts);
        break;
      }
      default:
    }
  };
  driver.postMessage(
    {
      module,
      options: opts,
      keys: keys.map((file) => ({ name: file.name, file })),
      items,
      ports,
    },
    ports,
  );
}
