// The file pickers: the copy of the bucket (folder picker, .zip picker or a
// drop on the drop zone, turned into a Source by sources.js) and the
// public-keys files, with their status lines. What was chosen goes to the
// callbacks; the page's state lives in app.js.
import { $, clearMessages, showError } from './dom.js';
import { fmtBytes, plural } from './format.js';
import { fromDropEntries, fromFolderInput, fromZip } from './sources.js';

/**
 * Wires the bucket inputs and the drop zone. `onSource(source)` gets the
 * chosen Source (sources.js), or null when reading what was chosen failed.
 */
export function wireBucketInputs(onSource) {
  const chosen = (source) => {
    onSource(source);
    const st = $('bucket-status');
    st.replaceChildren();
    const strong = document.createElement('strong');
    strong.textContent = `${plural(source.items.length, 'file')}, ${fmtBytes(source.bytes)}`;
    st.append(strong, ` — ${source.label}.`);
    const notes = [...source.notes];
    const hasTrail = source.items.some(([p]) => p.startsWith('AWSLogs/') || p.includes('/AWSLogs/'));
    if (!hasTrail) notes.push('No AWSLogs/ folder at its root: is this the copy of the bucket?');
    for (const n of notes) {
      st.append(document.createElement('br'), n);
    }
    st.classList.toggle('warn', !hasTrail);
    $('dropzone').classList.add('chosen');
  };
  const failed = (e) => {
    onSource(null);
    $('bucket-status').textContent = 'No folder chosen.';
    $('dropzone').classList.remove('chosen');
    showError(e.message || String(e));
  };

  $('folder-input').addEventListener('change', (ev) => {
    clearMessages();
    const files = ev.target.files;
    if (!files || files.length === 0) return;
    try {
      chosen(fromFolderInput(files));
    } catch (e) {
      failed(e);
    }
  });

  $('zip-input').addEventListener('change', async (ev) => {
    clearMessages();
    const file = ev.target.files && ev.target.files[0];
    if (!file) return;
    $('bucket-status').textContent = `Reading ${file.name}…`;
    try {
      chosen(await fromZip(file));
    } catch (e) {
      failed(e);
    }
  });

  const dz = $('dropzone');
  // A file dropped anywhere else must not make the browser open it.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (ev) => ev.preventDefault());
  }
  dz.addEventListener('dragenter', (ev) => {
    ev.preventDefault();
    dz.classList.add('over');
  });
  dz.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
    dz.classList.add('over');
  });
  dz.addEventListener('dragleave', (ev) => {
    if (!dz.contains(ev.relatedTarget)) dz.classList.remove('over');
  });
  dz.addEventListener('drop', async (ev) => {
    ev.preventDefault();
    dz.classList.remove('over');
    clearMessages();
    // Entries must be taken now: the DataTransfer is emptied after the event.
    const items = [...ev.dataTransfer.items].filter((i) => i.kind === 'file');
    const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    // Without entries (an old browser, a synthetic drop) only a .zip can be used.
    const files = items.map((i) => i.getAsFile());
    $('bucket-status').textContent = 'Reading the dropped files…';
    try {
      if (entries.every((e) => !e) && files.length === 1 && files[0] && /\.zip$/i.test(files[0].name)) {
        chosen(await fromZip(files[0]));
      } else {
        chosen(await fromDropEntries(entries));
      }
    } catch (e) {
      failed(e);
    }
  });
}

/** Wires the public-keys picker: `onKeys(files)` gets the chosen File[]. */
export function wireKeysInput(onKeys) {
  $('keys-input').addEventListener('change', (ev) => {
    clearMessages();
    const keys = [...(ev.target.files || [])];
    onKeys(keys);
    const st = $('keys-status');
    st.textContent = keys.length
      ? `${keys.map((f) => f.name).join(', ')} (${fmtBytes(keys.reduce((n, f) => n + f.size, 0))})`
      : 'No keys file chosen.';
    st.closest('.dropzone').classList.toggle('chosen', keys.length > 0);
  });
}
