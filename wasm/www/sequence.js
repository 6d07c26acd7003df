// The verification sequence over the core's `Verifier` (wasm/src/lib.rs):
// what `ctverify validate --local` does for a folder, written once for
// every front end of the WASM module. The page's driver worker runs it over
// the dropped files with the hash workers; wasm/tests/vectors.mjs runs it
// under Node over the committed vectors. It knows nothing of its
// environment: the module's exports, the copy's files and the log hashing
// are handed to it.
//
//   new Verifier(options) → add_keys(each keys file) → plan(every path)
//   → add_digest(each digest key, bytes, KEY.metadata.json sidecar)
//   → analyze() → per log job: log_skipped (not vouched for)
//     | log_failed('unsafe' | 'not_found') | hash → log_hashed / log_failed('error')
//   → finish(): the report, as `--format json` prints it.

export const MAX_KEY_FILE = 64 * 1024 * 1024; // core::keys::MAX_KEY_FILE
export const DIGEST_READ_CAP = 4 * 1024 * 1024; // core::digest::DIGEST_READ_CAP
export const SIDECAR_CAP = 1024 * 1024; // the CLI's sidecar read limit
const SIDECAR = '.metadata.json';
const DIGEST_READ_AHEAD = 16;

/** An error's message (a `read` or `hashLog` may throw anything). */
const messageOf = (e) => (e && e.message) || String(e);

/**
 * Runs one verification; resolves to the report JSON.
 *
 * - `wasm`: the initialized wasm-bindgen module (`Verifier`, `object_path`).
 * - `options`: the run's options (the `Verifier` constructor's, as an object).
 * - `keys`: the public-keys files, `[{name, read(cap)}]`.
 * - `files`: the copy: `paths` (every object, `/`-separated, relative to the
 *   copy's root), `has(path)`, `size(path)` and `read(path, cap)`.
 *   Every `read` resolves to a Uint8Array of the first `cap + 1` bytes at
 *   most (so the core sees a file over its cap) and may be async.
 * - `hashLog({id, path, size}, budget)`: hashes one log through a `Hasher`
 *   made with `budget` (`Verifier.log_budget()`); resolves to `{hashed}` (the
 *   Hasher's result) or `{failed: message}` (it could not be read);
 *   rejecting stops the run. Called largest log first, at most
 *   `concurrency` at a time.
 * - `errorText(e)`: the message of a failed read (default: e.message).
 * - `onPhase(phase, text)`, `onWarning(message)`: what the run is doing.
 * - `onProgress(counts, force)`: after each digest and log; `counts()` gives
 *   `{digestsTotal, digests, logsPlanned, logsDone, bytesHashed}`, plus
 *   `readTotal` (bytes of the logs to hash) once the logs phase starts.
 *   Cheap to ignore: `counts` asks the core only when called.
 */
export async function verifySequence(wasm, run) {
  const { options, keys, files, hashLog, concurrency = 1 } = run;
  const errorText = run.errorText || messageOf;
  const onPhase = run.onPhase || (() => {});
  const onWarning = run.onWarning || (() => {});
  const onProgress = run.onProgress || (() => {});
  const { Verifier, object_path: objectPath } = wasm;

  const v = new Verifier(JSON.stringify(options));
  let stopped = false;
  try {
    onPhase('keys', 'Reading public keys');
    let nKeys = 0;
    for (const { name, read } of keys) {
      let bytes;
      try {
        bytes = await read(MAX_KEY_FILE);
      } catch (e) {
        throw new Error(`reading public keys ${name}: ${errorText(e)}`, { cause: e });
      }
      nKeys += v.add_keys(name, bytes);
    }
    for (const w of v.key_warnings()) onWarning(w);
    if (nKeys === 0) {
      onWarning('no usable public key in the keys file(s): every signed digest will be unverifiable (digest_key_unknown)');
    }

    onPhase('listing', 'Finding digest files');
    const toLoad = v.plan([...files.paths]);
    let readTotal;
    const counts = () => {
      const [digests, logsPlanned, logsDone, bytesHashed] = v.progress();
      const c = { digestsTotal: toLoad.length, digests, logsPlanned, logsDone, bytesHashed };
      if (readTotal !== undefined) c.readTotal = readTotal;
      return c;
    };

    // Digests, read a few ahead, handed to the core in the plan's order.
    onPhase('digests', `Checking ${toLoad.length} digest files`);
    const readDigest = async (key) => {
      const path = objectPath(key);
      if (path === undefined) return { error: 'unsafe key: it has no path inside the copy' };
      try {
        const bytes = files.has(path) ? await files.read(path, DIGEST_READ_CAP) : undefined;
        const side = path + SIDECAR;
        const metadata = files.has(side) ? await files.read(side, SIDECAR_CAP) : undefined;
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
      onProgress(counts, false);
    }

    onPhase('analyze', 'Verifying signatures and the digest chain');
    const queue = [];
    readTotal = 0;
    for (const job of JSON.parse(v.analyze())) {
      if (!job.vouched) {
        v.log_skipped(job.id);
        continue;
      }
      const path = objectPath(job.key);
      if (path === undefined) v.log_failed(job.id, 'unsafe', '');
      else if (!files.has(path)) v.log_failed(job.id, 'not_found', '');
      else {
        const size = files.size(path);
        queue.push({ id: job.id, path, size });
        readTotal += size;
      }
    }
    // Largest first: parallel hashers finish together.
    queue.sort((a, b) => b.size - a.size);

    onPhase('logs', `Hashing ${queue.length} log files`);
    onProgress(counts, true);
    const budget = v.log_budget();
    let next = 0;
    const lane = async () => {
      while (!stopped && next < queue.length) {
        const job = queue[next++];
        const r = await hashLog(job, budget);
        if (stopped) return;
        if (r.failed !== undefined) v.log_failed(job.id, 'error', r.failed);
        else v.log_hashed(job.id, r.hashed);
        onProgress(counts, false);
      }
    };
    const lanes = Math.max(1, Math.min(concurrency, queue.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    onProgress(counts, true);

    onPhase('report', 'Writing the report');
    return v.finish();
  } finally {
    // Hashes still out when the run stopped are dropped, not handed to a
    // freed Verifier.
    stopped = true;
    v.free();
  }
}
