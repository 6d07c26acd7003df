// Turns what the user chose (a folder from the picker, a dropped folder or
// files, a .zip) into the copy's objects: `[path, item]` pairs where path
// is relative to the copy's root with `/` separators (object s3://B/K is the
// file K) and item is a File or a zip entry (see zip.js).
//
// The root: a picked or dropped folder is the copy's root, so its own name
// is not part of the keys ("evidence/AWSLogs/..." -> "AWSLogs/..."). In a
// zip, one folder that holds every entry is taken to be such a wrapper and
// is dropped too, unless a digest under it names its own key with that
// folder (then it is the trail's key prefix). A folder named AWSLogs is
// never a wrapper: it is where CloudTrail's keys start, so it stays.
import { listZip, readCapped } from './zip.js';

const KEYS_START = 'AWSLogs';

/**
 * @typedef {{items: Array<[string, File|object]>, label: string, notes: string[], bytes: number}} Source
 */

function summarize(items, label, notes) {
  let bytes = 0;
  for (const [, it] of items) bytes += it.size;
  return { items, label, notes, bytes };
}

/**
 * The key a digest says it has (`digestS3Object`), or null. Read from the
 * zip only to tell a wrapper folder from a key prefix; nothing is judged
 * from it here.
 */
async function claimedKey(item) {
  try {
    const gz = await readCapped(item, 4 << 20);
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'));
    const reader = stream.getReader();
    const parts = [];
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.byteLength;
      if (n > 16 << 20) {
        reader.cancel().catch(() => {});
        return null;
      }
    }
    const key = JSON.parse(await new Blob(parts).text()).digestS3Object;
    return typeof key === 'string' ? key : null;
  } catch {
    return null;
  }
}

/**
 * Drops `root/` from every path when all of them are under one folder —
 * unless that folder is part of the keys: it is AWSLogs, or a digest in it
 * names its own key with the folder (a key prefix, not a wrapper).
 */
async function stripWrapper(pairs, notes, what) {
  if (pairs.length === 0) return pairs;
  const first = pairs[0][0];
  const slash = first.indexOf('/');
  if (slash <= 0) return pairs;
  const root = first.slice(0, slash + 1);
  if (root === KEYS_START + '/') return pairs;
  if (!pairs.every(([p]) => p.startsWith(root))) return pairs;
  const digest = pairs.find(([p]) => /(^|\/)AWSLogs\/.*\/CloudTrail-Digest\/.*\.json\.gz$/.test(p));
  if (digest && (await claimedKey(digest[1])) === digest[0]) {
    notes.push(`The ${what}'s top folder “${root.slice(0, -1)}” is part of the keys (a key prefix): it is kept.`);
    return pairs;
  }
  notes.push(`The ${what}'s top folder “${root.slice(0, -1)}” is taken as the copy's root.`);
  return pairs.map(([p, it]) => [p.slice(root.length), it]);
}

/** A folder from `<input type=file webkitdirectory>`. */
export function fromFolderInput(fileList) {
  const files = [...fileList];
  if (files.length === 0) throw new Error('The chosen folder holds no files.');
  const rel = (f) => f.webkitRelativePath || f.name;
  const top = rel(files[0]).split('/')[0];
  const notes = [];
  let pairs = files.map((f) => [rel(f), f]);
  // webkitRelativePath always starts with the picked folder's name.
  if (top !== KEYS_START && pairs.every(([p]) => p.startsWith(top + '/'))) {
    pairs = pairs.map(([p, f]) => [p.slice(top.length + 1), f]);
  }
  return summarize(pairs, `folder “${top}”`, notes);
}

/** A .zip file. */
export async function fromZip(file) {
  const { entries, skipped } = await listZip(file);
  const notes = [];
  if (skipped.length) notes.push(`${skipped.length} symbolic link entr${skipped.length === 1 ? 'y was' : 'ies were'} ignored.`);
  let pairs = entries.map((e) => [e.name.replace(/^\.\//, ''), e]);
  pairs = await stripWrapper(pairs, notes, 'zip');
  if (pairs.length === 0) throw new Error(`${file.name}: the zip holds no files.`);
  const seen = new Set();
  let dups = 0;
  for (const [p] of pairs) {
    if (seen.has(p)) dups++;
    seen.add(p);
  }
  if (dups) notes.push(`${dups} duplicate zip entr${dups === 1 ? 'y' : 'ies'}: the last one of each name is used.`);
  return summarize(pairs, `zip “${file.name}”`, notes);
}

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(dir, prefix, out) {
  const reader = dir.createReader();
  for (;;) {
    const batch = await readEntries(reader); // at most ~100 at a time
    if (batch.length === 0) break;
    const files = [];
    for (const e of batch) {
      if (e.isFile) files.push(fileOf(e).then((f) => out.push([prefix + e.name, f])));
      else if (e.isDirectory) await walk(e, `${prefix}${e.name}/`, out);
    }
    await Promise.all(files);
  }
}

/**
 * A drop: one folder (it is the copy's root), one .zip, or several
 * entries (the contents of the copy's root). The entries must be taken
 * from the DataTransfer synchronously, in the drop event: pass them here.
 */
export async function fromDropEntries(entries) {
  entries = entries.filter(Boolean);
  if (entries.length === 0) throw new Error('Nothing usable was dropped: drop a folder or a .zip file.');
  if (entries.length === 1 && entries[0].isFile && /\.zip$/i.test(entries[0].name)) {
    return fromZip(await fileOf(entries[0]));
  }
  const out = [];
  if (entries.length === 1 && entries[0].isDirectory) {
    const dir = entries[0];
    const prefix = dir.name === KEYS_START ? `${KEYS_START}/` : '';
    await walk(dir, prefix, out);
    if (out.length === 0) throw new Error(`The folder “${dir.name}” holds no files.`);
    return summarize(out, `folder “${dir.name}”`, []);
  }
  for (const e of entries) {
    if (e.isFile) out.push([e.name, await fileOf(e)]);
    else if (e.isDirectory) await walk(e, `${e.name}/`, out);
  }
  if (out.length === 0) throw new Error('The dropped items hold no files.');
  return summarize(out, `${entries.length} dropped items`, []);
}
