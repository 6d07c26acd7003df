// One log hasher: its own WASM instance, streaming each log (a File or a
// zip entry) through the core's gunzip + SHA-256 `Hasher` in slices, never
// whole in memory. Talks to the driver worker over a MessagePort:
//   in:  {id, item, budget} (budget: Verifier.log_budget())
//   out: {type: 'ready'} once, {type: 'read', bytes} while reading,
//        {type: 'hashed', id, hashed} | {type: 'failed', id, message}
import init, { Hasher } from './pkg/ctverify_wasm.js';
import { errorText } from './read-error.js';
import { chunks, itemSize } from './zip.js';

const CHUNK = 4 << 20; // 4 MiB slices
// Logs up to this compressed size are inflated in WASM and hashed whole by
// WebCrypto (several times faster than SHA-256 in WASM); the inflated bytes
// are held at most up to EXTERNAL_MAX, else the log is read again through
// the streaming WASM hasher. Memory: workers x EXTERNAL_MAX at most.
const EXTERNAL_COMPRESSED_MAX = 8 << 20;
const EXTERNAL_MAX = 64 << 20;
const subtle = self.crypto && self.crypto.subtle;
let port = null;

/** Inflates in WASM, hashes with WebCrypto; null when the log is too big. */
async function hashExternal(item, budget) {
  const h = Hasher.inflate_only(budget);
  try {
    const parts = [];
    let total = 0;
    let unreported = 0;
    for await (const chunk of chunks(item, CHUNK)) {
      const out = h.update_inflated(chunk);
      total += out.byteLength;
      if (total > EXTERNAL_MAX) return null;
      if (out.byteLength) parts.push(out);
      unreported += chunk.byteLength;
      if (h.failed()) break;
    }
    const whole = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
    parts.length = 0;
    const digest = new Uint8Array(await subtle.digest('SHA-256', whole));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    if (unreported) port.postMessage({ type: 'read', bytes: unreported });
    return h.finish_with(hex);
  } finally {
    h.free();
  }
}

async function hash(id, item, budget) {
  if (subtle && itemSize(item) <= EXTERNAL_COMPRESSED_MAX) {
    try {
      const hashed = await hashExternal(item, budget);
      if (hashed !== null) {
        port.postMessage({ type: 'hashed', id, hashed });
        return;
      }
    } catch (e) {
      port.postMessage({ type: 'failed', id, message: errorText(e) });
      return;
    }
  }
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
