// The driver worker (a module worker): runs the verification sequence
// (sequence.js) over the core's `Verifier` with the dropped files as the
// copy (Files or zip entries, digests read capped as the CLI caps them),
// every vouched log hashed by the hash workers (MessagePorts given by the
// page), results handed back to the core as they come. Messages to the
// page:
//   {type: 'phase', phase, text}    a step starts
//   {type: 'progress', ...counts}   at most every 100 ms
//   {type: 'warning', message}      e.g. skipped keys
//   {type: 'error', message}        the run stopped (shown to the user)
//   {type: 'done', report}          the JSON report, as the CLI prints it
import init, * as wasm from './pkg/ctverify_wasm.js';
import { errorText } from './read-error.js';
import { verifySequence } from './sequence.js';
import { readCapped } from './zip.js';

const JOBS_PER_WORKER = 2;

self.onmessage = async (ev) => {
  try {
    await run(ev.data);
  } catch (e) {
    self.postMessage({ type: 'error', message: errorText(e) });
  }
};

async function run({ module, options, keys, items, ports }) {
  await init({ module_or_path: module });
  const files = new Map(items);
  let readBytes = 0;
  let counts = null;
  let last = 0;
  const progress = (force) => {
    const now = performance.now();
    if (!counts || (!force && now - last < 100)) return;
    last = now;
    const c = counts();
    if (c.readTotal !== undefined) c.readBytes = readBytes;
    self.postMessage({ type: 'progress', ...c });
  };
  const hashLog = hashPool(ports, JOBS_PER_WORKER, files, (bytes) => {
    readBytes += bytes;
    progress(false);
  });
  const report = await verifySequence(wasm, {
    options,
    keys: keys.map(({ name, file }) => ({ name, read: async (cap) => new Uint8Array(await file.slice(0, cap + 1).arrayBuffer()) })),
    files: {
      paths: files.keys(),
      has: (path) => files.has(path),
      size: (path) => files.get(path).size,
      read: (path, cap) => readCapped(files.get(path), cap),
    },
    hashLog,
    concurrency: ports.length * JOBS_PER_WORKER,
    errorText,
    onPhase: (phase, text) => self.postMessage({ type: 'phase', phase, text }),
    onWarning: (message) => self.postMessage({ type: 'warning', message }),
    onProgress: (c, force) => {
      counts = c;
      progress(force);
    },
  });
  self.postMessage({ type: 'done', report });
}

/**
 * The sequence's `hashLog` over the hash workers' ports: a job goes to a
 * worker that said it is ready and has fewer than `perWorker` jobs; a
 * worker's fatal error fails every job out or waiting (the run stops).
 */
function hashPool(ports, perWorker, files, onRead) {
  const waiting = [];
  const workers = ports.map((port) => ({ port, ready: false, jobs: new Map() }));
  let fatal = null;
  const pump = () => {
    for (const w of workers) {
      while (w.ready && w.jobs.size < perWorker && waiting.length) {
        const t = waiting.shift();
        w.jobs.set(t.job.id, t);
        w.port.postMessage({ id: t.job.id, item: files.get(t.job.path), budget: t.budget });
      }
    }
  };
  const fail = (e) => {
    fatal = e;
    for (const t of waiting.splice(0)) t.reject(e);
    for (const w of workers) {
      for (const t of w.jobs.values()) t.reject(e);
      w.jobs.clear();
    }
  };
  for (const w of workers) {
    w.port.onmessage = (m) => {
      if (fatal) return;
      const msg = m.data;
      switch (msg.type) {
        case 'ready':
          w.ready = true;
          pump();
          return;
        case 'read':
          onRead(msg.bytes);
          return;
        case 'fatal':
          fail(new Error(msg.message));
          return;
        case 'hashed':
        case 'failed': {
          const t = w.jobs.get(msg.id);
          if (!t) return;
          w.jobs.delete(msg.id);
          t.resolve(msg.type === 'hashed' ? { hashed: msg.hashed } : { failed: msg.message });
          pump();
          return;
        }
        default:
      }
    };
  }
  return (job, budget) =>
    new Promise((resolve, reject) => {
      if (fatal) {
        reject(fatal);
        return;
      }
      waiting.push({ job, budget, resolve, reject });
      pump();
    });
}
