// The verification page's entry point: what the user chose (the copy of
// the bucket, the keys files), the form's wiring, and start-up. A run
// (run.js) verifies in Web Workers (driver-worker.js holds the core's
// Verifier; hash-worker.js instances hash the logs, one WASM instance each,
// navigator.hardwareConcurrency of them); report-view.js shows the report.
// Nothing is sent anywhere: the files are only read.
//
// Modules: dom.js (elements, messages), format.js (numbers, times),
// inputs.js (pickers, drop zone), sources.js + zip.js (what was chosen, as
// the copy's objects), run.js (options, workers, progress), sequence.js
// (the Verifier sequence, shared with wasm/tests/vectors.mjs),
// report-view.js + timeline.js (the report), cli-command.js.
import init, { version } from './pkg/ctverify_wasm.js';
import { cliCommand } from './cli-command.js';
import { $, clearMessages, showError } from './dom.js';
import { plural } from './format.js';
import { wireBucketInputs, wireKeysInput } from './inputs.js';
import { resetReport, showReport, wireReportControls } from './report-view.js';
import { cancelRun, hashWorkers, isRunning, modulePromise, startRun } from './run.js';

const state = {
  source: null, // {items, label, notes, bytes}: sources.js's Source
  keys: [], // File[]
};

wireBucketInputs((source) => {
  state.source = source;
});
wireKeysInput((keys) => {
  state.keys = keys;
});
wireReportControls();

$('cancel-button').addEventListener('click', cancelRun);

$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (isRunning()) return;
  clearMessages();
  resetReport();
  if (!state.source) {
    showError('Choose the copy of the bucket first: a folder (or a .zip of it) holding AWSLogs/.');
    $('folder-input').focus();
    return;
  }
  if (state.keys.length === 0) {
    showError('Choose the public-keys file first (the output of aws cloudtrail list-public-keys, or PEM / DER keys).');
    $('keys-input').focus();
    return;
  }
  startRun({
    items: state.source.items,
    keys: state.keys,
    onReport: (text, elapsedMs, opts) => showReport(text, elapsedMs, cliCommand(opts, state.keys.map((f) => f.name))),
  });
});

$('workers-note').textContent = `Runs in ${hashWorkers + 1} Web Workers on this computer (${plural(hashWorkers, 'hasher')}).`;
(async () => {
  try {
    await init({ module_or_path: await modulePromise });
    $('version').textContent = version();
    document.documentElement.dataset.ready = 'true';
    document.documentElement.dataset.workers = String(hashWorkers);
  } catch (e) {
    showError(`The WebAssembly module could not be loaded: ${e.message || e}`);
  }
})();
