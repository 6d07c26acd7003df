// One log hasher: its own WASM instance, streaming each log (a File or a
// zip entry) through the core's gunzip + SHA-256 `Hasher` in slices, never
// whole in memory. Talks to the driver worker over a MessagePort:
//   in:  {id, item, budget} (budget: Verifier.log_budget())
//   out: {type: 'ready'} once, {type: 'read', bytes} while reading,
//        {type: 'hashed', id, hashed} | {type: 'failed', id, message}
import init, { Hasher } from './pkg/ctverify_wasm.js';
import { chunks } from './zip.js';

const CHUNK = 4 << 20; // 4 MiB slices
let port = null;

async function hash(id, item, budget) {
  let h = null;
  try {
    h = new Hasher(budget);
    let unreported = 0;
    for await (const chunk of chunks(item, CHUNK)) {
      h.update(chunk);
      unreported += chunk.byteLength;
      if (unreported >= CHUNK) {
        port.postMessage({ type: 'read', bytes: unreported });
        unreported = 0;
      }
      if (h.failed()) break;
    }
    if (unreported) port.postMessage({ type: 'read', bytes: unreported });
    port.postMessage({ type: 'hashed', id, hashed: h.finish() });
  } catch (e) {
    port.postMessage({ type: 'failed', id, message: errorText(e) });
  } finally {
    if (h) h.free();
  }
}

function errorText(e) {
  if (e && e.name === 'NotReadableError') return 'the file could not be read (it changed or was removed after it was chosen)';
  if (e && e.name === 'NotFoundError') return 'the file was removed after it was chosen';
  return (e && e.message) || String(e);
}

self.onmessage = async (ev) => {
  const { module, port: p } = ev.data;
  port = p;
  try {
    await init({ module_or_path: module });
  } catch (e) {
    port.postMessage({ type: 'fatal', message: `hash worker: ${errorText(e)}` });
    return;
  }
  // Jobs run one at a time, in arrival order (the driver keeps two queued).
  let chain = Promise.resolve();
  port.onmessage = (m) => {
    const { id, item, budget } = m.data;
    chain = chain.then(() => hash(id, item, budget));
  };
  port.postMessage({ type: 'ready' });
};
