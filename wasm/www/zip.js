// A small ZIP reader for the page: the central directory (ZIP64 too) and
// entry data, stored or deflated (DecompressionStream('deflate-raw')).
// Nothing is read whole: entries are Blob slices of the zip File, inflated
// as a stream when deflated. Used on the main thread (listing) and in the
// workers (reading), so an entry is a plain object holding the zip File.

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

async function bytesAt(blob, start, end) {
  return new DataView(await blob.slice(start, end).arrayBuffer());
}

function u64(view, offset) {
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  const v = hi * 0x100000000 + lo;
  if (!Number.isSafeInteger(v)) throw new Error('zip: 64-bit field out of range');
  return v;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Lists a zip File. Returns `{entries, skipped}`: `entries` are file entries
 * `{name, zip, offset, csize, size, method, encrypted}` (folders left out);
 * `skipped` names symlink entries (they are not objects of the copy).
 * Throws an Error with a readable message when it is not a zip.
 */
export async function listZip(zip) {
  const tailLen = Math.min(zip.size, 22 + MAX_COMMENT);
  const tailStart = zip.size - tailLen;
  const tail = await bytesAt(zip, tailStart, zip.size);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zip.name}: not a zip file (no end-of-central-directory record)`);
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: the locator sits right before the end record.
    const locAt = tailStart + eocd - 20;
    if (locAt < 0) throw new Error(`${zip.name}: truncated ZIP64 locator`);
    const loc = await bytesAt(zip, locAt, locAt + 20);
    if (loc.getUint32(0, true) !== SIG_EOCD64_LOCATOR) throw new Error(`${zip.name}: missing ZIP64 locator`);
    const recAt = u64(loc, 8);
    const rec = await bytesAt(zip, recAt, recAt + 56);
    if (rec.byteLength < 56 || rec.getUint32(0, true) !== SIG_EOCD64) {
      throw new Error(`${zip.name}: bad ZIP64 end-of-central-directory record`);
    }
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > zip.size) throw new Error(`${zip.name}: central directory beyond the end of the file (truncated zip?)`);
  const cd = await bytesAt(zip, cdOffset, cdOffset + cdSize);
  const entries = [];
  const skipped = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== SIG_CENTRAL) {
      throw new Error(`${zip.name}: corrupt central directory (entry ${n + 1} of ${count})`);
    }
    const madeBy = cd.getUint16(p + 4, true) >> 8;
    const flags = cd.getUint16(p + 8, true);
    const method = cd.getUint16(p + 10, true);
    let csize = cd.getUint32(p + 20, true);
    let size = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    const external = cd.getUint32(p + 38, true);
    let offset = cd.getUint32(p + 42, true);
    const nameBytes = new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLen);
    const name = utf8.decode(nameBytes);
    // ZIP64 extended information: the fields that are saturated, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.getUint16(e, true);
      const len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) { size = u64(cd, q); q += 8; }
        if (csize === 0xffffffff && q + 8 <= e + 4 + len) { csize = u64(cd, q); q += 8; }
        if (offset === 0xffffffff && q + 8 <= e + 4 + len) { offset = u64(cd, q); }
      }
      e += 4 + len;
    }
    p = extraEnd + commentLen;
    if (name.endsWith('/')) continue; // a folder
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    if ((unixMode & 0xf000) === 0xa000) {
      skipped.push(name);
      continue;
    }
    entries.push({ name, zip, offset, csize, size, method, encrypted: (flags & 1) === 1 });
  }
  return { entries, skipped };
}

/** The Blob of an entry's (possibly compressed) data. */
async function dataBlob(entry) {
  if (entry.encrypted) throw new Error('encrypted zip entry');
  if (entry.method !== 0 && entry.method !== 8) throw new Error(`unsupported zip compression method ${entry.method}`);
  const head = await bytesAt(entry.zip, entry.offset, entry.offset + 30);
  if (head.byteLength < 30 || head.getUint32(0, true) !== SIG_LOCAL) throw new Error('corrupt zip entry (no local header)');
  const start = entry.offset + 30 + head.getUint16(26, true) + head.getUint16(28, true);
  if (start + entry.csize > entry.zip.size) throw new Error('zip entry extends beyond the end of the zip (truncated?)');
  return entry.zip.slice(start, start + entry.csize);
}

export function isZipEntry(item) {
  return item !== null && typeof item === 'object' && !(item instanceof Blob) && 'zip' in item;
}

/** Size of an item (File or zip entry), in bytes of the object. */
export function itemSize(item) {
  return isZipEntry(item) ? item.size : item.size;
}

/**
 * Async iterator over an item's bytes (Uint8Array chunks of at most
 * `chunk` bytes for files; inflater-sized for deflated zip entries), one
 * chunk read ahead. Call `return()` (a `break` in for-await does) to stop.
 */
export async function* chunks(item, chunk) {
  if (isZipEntry(item)) {
    const blob = await dataBlob(item);
    if (item.method === 0) {
      if (blob.size !== item.size) throw new Error('stored zip entry: sizes disagree');
      yield* blobChunks(blob, chunk);
      return;
    }
    const reader = blob.stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > item.size) throw new Error('zip entry inflates beyond its recorded size');
        yield value;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    if (total !== item.size) throw new Error('zip entry inflates to less than its recorded size');
    return;
  }
  yield* blobChunks(item, chunk);
}

async function* blobChunks(blob, chunk) {
  // Two buffers, read into in turn (BYOB): the bytes of a large log pass
  // through the same memory instead of a fresh ArrayBuffer per slice, which
  // the garbage collector of a busy worker may leave lying for a long time.
  let reader;
  try {
    reader = blob.stream().getReader({ mode: 'byob' });
  } catch {
    reader = null; // no byte streams: slices below
  }
  if (reader) {
    let spare = new Uint8Array(chunk);
    let pending = reader.read(new Uint8Array(chunk));
    try {
      for (;;) {
        const { done, value } = await pending;
        if (done) break;
        pending = reader.read(spare);
        yield value; // used (copied into the hasher) before the next read lands in it
        spare = new Uint8Array(value.buffer);
      }
    } finally {
      pending.catch(() => {});
      reader.cancel().catch(() => {});
    }
    return;
  }
  const size = blob.size;
  const read = (at) => {
    const p = blob.slice(at, Math.min(size, at + chunk)).arrayBuffer();
    p.catch(() => {}); // observed when awaited; silence it if never awaited
    return p;
  };
  let at = 0;
  let next = size > 0 ? read(0) : null;
  while (next) {
    const buf = await next;
    at += buf.byteLength;
    next = at < size && buf.byteLength > 0 ? read(at) : null;
    yield new Uint8Array(buf);
  }
}

/**
 * Reads an item whole, but at most `limit + 1` bytes (as the CLI does for
 * digests and sidecars: more than `limit` is reported by the core).
 */
export async function readCapped(item, limit) {
  if (!isZipEntry(item) || item.method === 0) {
    const blob = isZipEntry(item) ? await dataBlob(item) : item;
    return new Uint8Array(await blob.slice(0, limit + 1).arrayBuffer());
  }
  const parts = [];
  let total = 0;
  for await (const c of chunks(item, 1 << 20)) {
    parts.push(c);
    total += c.byteLength;
    if (total > limit) break;
  }
  const out = new Uint8Array(Math.min(total, limit + 1));
  let at = 0;
  for (const c of parts) {
    const n = Math.min(c.byteLength, out.length - at);
    out.set(c.subarray(0, n), at);
    at += n;
    if (at === out.length) break;
  }
  return out;
}
