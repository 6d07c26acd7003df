// The driver worker: holds the run's `Verifier` (the core driver, in WASM)
// and does what `ctverify validate --local` does for a folder, with the
// dropped files as the folder: listing plan, digests (read whole, capped as
// the CLI caps them), then every vouched log hashed by the hash workers
// (MessagePorts given by the page), results handed back to the core as
// they come. Messages to the page:
//   {type: 'phase', phase, text}    a step starts
//   {type: 'progress', ...counts}   at most every 100 ms
//   {type: 'warning', message}      e.g. skipped keys
//   {type: 'error', message}        the run stopped (shown to the user)
//   {type: 'done', report}          the JSON report, as the CLI prints it
import init, { Verifier, object_path } from './pkg/ctverify_wasm.js';
import { readCapped } from './zip.js';

const MAX_KEY_FILE = 64 * 1024 * 1024; // core::keys::MAX_KEY_FILE
const DIGEST_READ_CAP = 4 * 1024 * 1024; // core::digest::DIGEST_READ_CAP
const SIDECAR_CAP = 1024 * 1024; // the CLI's sidecar read limit
const SIDECAR = '.metadata.json';
const DIGEST_READ_AHEAD = 16;
const JOBS_PER_WORKER = 2;

class RunError extends Error {}

function errorText(e) {
  if (e && e.name === 'NotReadableError') return 'the file could not be read (it changed or was removed after it was chosen)';
  if (e && e.name === 'NotFoundError') return 'the file was removed after it was chosen';
  return (e && e.message) || String(e);
}

self.onmessage = async (ev) => {
  try {
    await run(ev.data);
  } catch (e) {
    self.postMessage({ type: 'error', message: errorText(e) });
  }
};

function phase(phase, text) {
  self.postMessage({ type: 'phase', phase, text });
}

async function run({ module, options, keys, items, ports }) {
  await init({ module_or_path: module });
  const files = new Map(items);
  let v;
  try {
    v = new Verifier(JSON.stringify(options));
  } catch (e) {
    throw new RunError(errorText(e));
  }

  phase('keys', 'Reading public keys');
  let nKeys = 0;
  for (const { name, file } of keys) {
    let bytes;
    try {
      bytes = new Uint8Array(await file.slice(0, MAX_KEY_FILE + 1).arrayBuffer());
    } catch (e) {
      throw new RunError(`reading public keys ${name}: ${errorText(e)}`);
    }
    nKeys += v.add_keys(name, bytes);
  }
  for (const w of v.key_warnings()) self.postMessage({ type: 'warning', message: w });
  if (nKeys === 0) {
    self.postMessage({ type: 'warning', message: 'no usable public key in the keys file(s): every signed digest will be unverifiable (digest_key_unknown)' });
  }

  phase('listing', 'Finding digest files');
  const toLoad = v.plan([...files.keys()]);

  // Digests, read a few ahead, handed to the core in the plan's order.
  phase('digests', `Checking ${toLoad.length} digest files`);
  let last = 0;
  const progress = (extra, force) => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    const [digests, logsPlanned, logsDone, bytesHashed] = v.progress();
    self.postMessage({ type: 'progress', digestsTotal: toLoad.length, digests, logsPlanned, logsDone, bytesHashed, ...extra });
  };
  const readDigest = async (key) => {
    const path = object_path(key);
    if (path === undefined) return { error: 'unsafe key: it has no path inside the copy' };
    const item = files.get(path);
    const side = files.get(path + SIDECAR);
    try {
      const bytes = item === undefined ? undefined : await readCapped(item, DIGEST_READ_CAP);
      const metadata = side === undefined ? undefined : await readCapped(side, SIDECAR_CAP);
      return { bytes, metadata };
    } catch (e) {
      return { error: errorText(e) };
    }
  };
  const pending = [];
  for (let i = 0; i < toLoad.length; i++) {
    while (pending.length < DIGEST_READ_AHEAD && i + pending.length < toLoad.length) {
      pending.push(readDigest(toLoad[i + pending.length]));
    }
    const d = await pending.shift();
    v.add_digest(toLoad[i], d.bytes, d.metadata, d.error);
    progress({});
  }

  phase('analyze', 'Verifying signatures and the digest chain');
  const jobs = JSON.parse(v.analyze());
  const queue = [];
  let readTotal = 0;
  for (const job of jobs) {
    if (!job.vouched) {
      v.log_skipped(job.id);
      continue;
    }
    const path = object_path(job.key);
    const item = path === undefined ? undefined : files.get(path);
    if (path === undefined) v.log_failed(job.id, 'unsafe', '');
    else if (item === undefined) v.log_failed(job.id, 'not_found', '');
    else {
      queue.push({ id: job.id, item });
      readTotal += item.size;
    }
  }
  // Largest first: the workers finish together.
  queue.sort((a, b) => b.item.size - a.item.size);

  phase('logs', `Hashing ${queue.length} log files`);
  let readBytes = 0;
  progress({ readBytes, readTotal }, true);
  await hashAll(v, queue, ports, (bytes) => {
    readBytes += bytes;
    progress({ readBytes, readTotal });
  });
  progress({ readBytes, readTotal }, true);

  phase('report', 'Writing the report');
  const report = v.finish();
  v.free();
  self.postMessage({ type: 'done', report });
}

/** Runs the queue over the hash workers; resolves when every job is in. */
function hashAll(v, queue, ports, onRead) {
  const budget = v.log_budget();
  return new Promise((resolve, reject) => {
    let next = 0;
    let outstanding = 0;
    let failed = false;
    const fail = (e) => {
      if (failed) return;
      failed = true;
      reject(e);
    };
    if (queue.length === 0) {
      resolve();
      return;
    }
    const feed = (port, n) => {
      for (let k = 0; k < n && next < queue.length; k++) {
        const job = queue[next++];
        outstanding++;
        port.postMessage({ id: job.id, item: job.item, budget });
      }
    };
    for (const port of ports) {
      port.onmessage = (m) => {
        if (failed) return;
        const msg = m.data;
        try {
          switch (msg.type) {
            case 'ready':
              feed(port, JOBS_PER_WORKER);
              return;
            case 'read':
              onRead(msg.bytes);
              return;
            case 'fatal':
              throw new RunError(msg.message);
            case 'hashed':
              v.log_hashed(msg.id, msg.hashed);
              break;
            case 'failed':
              v.log_failed(msg.id, 'error', msg.message);
              break;
            default:
              return;
          }
          outstanding--;
          onRead(0);
          feed(port, 1);
          if (outstanding === 0 && next >= queue.length) resolve();
        } catch (e) {
          fail(e);
        }
      };
    }
  });
}
