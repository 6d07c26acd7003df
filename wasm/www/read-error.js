// The message shown for a failed read of a chosen file (shared by the
// driver and hash workers): the browser's DOMException names said plainly.

/** A readable message for `e` (a DOMException from File reads, an Error…). */
export function errorText(e) {
  if (e && e.name === 'NotReadableError') return 'the file could not be read (it changed or was removed after it was chosen)';
  if (e && e.name === 'NotFoundError') return 'the file was removed after it was chosen';
  return (e && e.message) || String(e);
}
