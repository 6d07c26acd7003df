// The report in the page: the verdict banner, the summary, the coverage
// timeline (timeline.js), the findings table with its filters, and the
// report's download link. Holds the report shown (one at a time).
import { $, showError } from './dom.js';
import { fmtBytes, fmtDuration, fmtRate, fmtSecs, fmtTime, nf, plural } from './format.js';
import { renderTimeline } from './timeline.js';

const ROW_LIMIT = 5000;
const CLASS_ORDER = ['violation', 'unverifiable', 'notice', 'valid'];

const VERDICT_TEXT = {
  valid: ['Valid', () => 'Every digest and every log file in the range verified: nothing modified, deleted, moved or forged.'],
  invalid: ['Invalid', (c) => `${plural(c.violation || 0, 'violation')}: log or digest files were modified, deleted, moved or forged. See the findings below.`],
  incomplete: ['Incomplete', (c) => `No tampering found, but ${plural(c.unverifiable || 0, 'finding')} could not be verified (gaps, missing signatures or keys, unreadable files). See the findings below.`],
};

// What to do about a finding, said for the page (the report's messages are
// the core's, the same in every front end).
// Text, or [text] for code.
const HINTS = {
  digest_key_unknown: [
    'Add the trail’s public keys for that time — the JSON of ',
    ['aws cloudtrail list-public-keys'],
    ', or PEM / DER key files — under “Public keys”, and verify again.',
  ],
};

const view = {
  report: null,
  url: null, // the download's blob: URL
  showAllRows: false,
};

/** Hides the result and forgets the report (a new run starts). */
export function resetReport() {
  const v = $('verdict');
  v.removeAttribute('data-verdict');
  v.removeAttribute('data-mbps');
  v.removeAttribute('data-elapsed-ms');
  v.removeAttribute('data-log-bytes');
  v.className = 'verdict';
  $('result').hidden = true;
  $('findings').tBodies[0].replaceChildren();
  view.report = null;
  if (view.url) URL.revokeObjectURL(view.url);
  view.url = null;
}

/**
 * Shows report `text` (the JSON, offered as is for download) of a run that
 * took `elapsedMs`; `command` is the equivalent CLI command line.
 */
export function showReport(text, elapsedMs, command) {
  let report;
  try {
    report = JSON.parse(text);
  } catch (e) {
    showError(`The report is not JSON: ${e.message}`);
    return;
  }
  view.report = report;
  view.showAllRows = false;
  const findings = report.findings || [];
  const byClass = {};
  for (const f of findings) byClass[f.class] = (byClass[f.class] || 0) + 1;

  if (view.url) URL.revokeObjectURL(view.url);
  view.url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  $('download-report').href = view.url;
  $('cli-equivalent').textContent = command;

  const bytes = Number(report.log_bytes_hashed || 0);
  const mbps = elapsedMs > 0 ? bytes / 1e6 / (elapsedMs / 1e3) : 0;
  renderSummary(report, bytes, elapsedMs);
  renderTimeline($('timeline'), report);
  setupFilters(findings);
  renderFindings();

  const [word, sentence] = VERDICT_TEXT[report.verdict] || [report.verdict, () => ''];
  $('verdict-word').textContent = word;
  $('verdict-text').textContent = sentence(byClass);
  const v = $('verdict');
  v.className = `verdict verdict-${report.verdict}`;
  v.dataset.mbps = mbps.toFixed(3);
  v.dataset.elapsedMs = String(Math.round(elapsedMs));
  v.dataset.logBytes = String(bytes);
  $('result').hidden = false;
  // Last: the test contract waits for data-verdict.
  v.dataset.verdict = report.verdict;
  $('result').scrollIntoView({ block: 'start' });
}

function renderSummary(report, bytes, elapsedMs) {
  const dl = $('summary');
  dl.replaceChildren();
  const item = (label, ...content) => {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.append(...content);
    div.append(dt, dd);
    dl.append(div);
  };
  const counts = (c) => {
    const span = document.createElement('span');
    const total = document.createElement('strong');
    total.textContent = nf.format(c.total);
    span.append(total, ' total');
    for (const [k, cls] of [['valid', 'ok'], ['invalid', 'bad'], ['unverified', 'warn']]) {
      const s = document.createElement('span');
      s.className = c[k] > 0 && k !== 'valid' ? `count ${cls}` : 'count';
      s.textContent = `${nf.format(c[k])} ${k}`;
      span.append(' · ', s);
    }
    return span;
  };
  const s = report.summary || {};
  if (s.digests) item('Digests', counts(s.digests));
  if (s.logs) item('Log files', counts(s.logs));
  const r = report.requested || {};
  if (r.start || r.end) {
    const a = Date.parse(r.start);
    const b = Date.parse(r.end);
    item('Range', `${r.start ? fmtTime(a) : '…'} → ${r.end ? fmtTime(b) : '…'}`, Number.isFinite(a) && Number.isFinite(b) ? ` (${fmtDuration(b - a)})` : '');
  }
  item('Log data verified', `${fmtBytes(bytes)} in ${fmtSecs(elapsedMs)} · ${fmtRate(bytes, elapsedMs)}`);
}

// ---------------------------------------------------------------- findings

function setupFilters(findings) {
  const classes = new Map();
  const kinds = new Map();
  let valid = 0;
  for (const f of findings) {
    if (f.kind === 'valid') valid++;
    classes.set(f.class, (classes.get(f.class) || 0) + 1);
    kinds.set(f.kind, (kinds.get(f.kind) || 0) + 1);
  }
  const fill = (sel, label, map, order) => {
    sel.replaceChildren(new Option(`All ${label} (${nf.format(findings.length)})`, ''));
    const keys = [...map.keys()].sort((a, b) => {
      const ia = order ? order.indexOf(a) : -1;
      const ib = order ? order.indexOf(b) : -1;
      return ia !== ib ? (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) : a.localeCompare(b);
    });
    for (const k of keys) sel.append(new Option(`${k} (${nf.format(map.get(k))})`, k));
  };
  fill($('filter-class'), 'classes', classes, CLASS_ORDER);
  fill($('filter-kind'), 'kinds', kinds, null);
  $('filter-text').value = '';
  $('show-valid').checked = false;
  $('show-valid-wrap').hidden = valid === 0;
}

function filtered() {
  const cls = $('filter-class').value;
  const kind = $('filter-kind').value;
  const text = $('filter-text').value.trim().toLowerCase();
  const showValid = $('show-valid').checked || kind === 'valid' || cls === 'valid';
  const rank = (c) => {
    const i = CLASS_ORDER.indexOf(c);
    return i < 0 ? CLASS_ORDER.length : i;
  };
  // Most severe first; the report's order within a class (sort is stable).
  return (view.report.findings || [])
    .filter(
      (f) =>
        (showValid || f.kind !== 'valid') &&
        (!cls || f.class === cls) &&
        (!kind || f.kind === kind) &&
        (!text || `${f.object || ''}\n${f.message || ''}`.toLowerCase().includes(text)),
    )
    .sort((a, b) => rank(a.class) - rank(b.class));
}

function findingRow(f) {
  const tr = document.createElement('tr');
  tr.dataset.kind = f.kind;
  tr.dataset.class = f.class;
  const c = document.createElement('td');
  const badge = document.createElement('span');
  badge.className = `badge ${f.class}`;
  badge.textContent = f.class;
  c.append(badge);
  const k = document.createElement('td');
  const code = document.createElement('code');
  code.textContent = f.kind;
  k.append(code);
  const o = document.createElement('td');
  o.className = 'obj';
  o.textContent = f.object || '';
  const msg = document.createElement('td');
  msg.className = 'msg';
  msg.textContent = f.message || '';
  const hint = HINTS[f.kind];
  if (hint) {
    const p = document.createElement('span');
    p.className = 'hint finding-hint';
    for (const part of hint) {
      if (typeof part === 'string') {
        p.append(part);
      } else {
        const c = document.createElement('code');
        c.textContent = part[0];
        p.append(c);
      }
    }
    msg.append(p);
  }
  tr.append(c, k, o, msg);
  return tr;
}

function renderFindings() {
  if (!view.report) return;
  const rows = filtered();
  const all = (view.report.findings || []).length;
  const body = $('findings').tBodies[0];
  const frag = document.createDocumentFragment();
  const limit = view.showAllRows ? rows.length : Math.min(rows.length, ROW_LIMIT);
  for (let i = 0; i < limit; i++) frag.append(findingRow(rows[i]));
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    const td = document.createElement('td');
    td.colSpan = 4;
    td.textContent = all === 0 ? 'No findings.' : 'No finding matches the filter.';
    tr.append(td);
    frag.append(tr);
  }
  body.replaceChildren(frag);
  $('findings-count').textContent =
    limit < rows.length
      ? `Showing the first ${nf.format(limit)} of ${nf.format(rows.length)} matching findings (${nf.format(all)} in the report).`
      : `${plural(rows.length, 'finding')} shown (${nf.format(all)} in the report).`;
  $('findings-more').hidden = limit >= rows.length;
  $('show-all').textContent = `Show all ${nf.format(rows.length)}`;
}

/** Wires the findings filters and the "Show all" button. */
export function wireReportControls() {
  for (const id of ['filter-class', 'filter-kind', 'show-valid']) $(id).addEventListener('change', renderFindings);
  let searchTimer = 0;
  $('filter-text').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(renderFindings, 150);
  });
  $('show-all').addEventListener('click', () => {
    view.showAllRows = true;
    renderFindings();
  });
}
