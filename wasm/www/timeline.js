// The coverage timeline: one row per digest chain, over the requested
// range, with the hours its authenticated digests cover (the report's
// `covered`) and the gaps (its `coverage_gap` findings). Drawn with plain
// elements (widths set through CSSOM, which the page's CSP allows).
import { fmtDuration, fmtTime } from './format.js';

const MS_H = 3600e3;

function t(s) {
  const v = Date.parse(s);
  return Number.isFinite(v) ? v : null;
}

/** The chain a coverage_gap finding is about (its label as in `covered`). */
function gapChain(f) {
  const m = /digest of (.+?) (?:covers \S+ to \S+|was found)$/.exec(f.message || '');
  if (m) return m[1];
  return (f.object || '').replace(/^s3:\/\/[^/]*\//, '') || '(whole bucket)';
}

/** Chains with their covered intervals and gaps, plus the axis. */
export function coverage(report) {
  const chains = new Map();
  const row = (label) => {
    if (!chains.has(label)) chains.set(label, { label, covered: [], gaps: [] });
    return chains.get(label);
  };
  for (const c of report.covered || []) {
    const s = t(c.start);
    const e = t(c.end);
    if (s !== null && e !== null) row(c.chain || '(chain)').covered.push([s, e]);
  }
  for (const f of report.findings || []) {
    if (f.kind !== 'coverage_gap') continue;
    const s = t(f.start);
    const e = t(f.end);
    if (s !== null && e !== null) row(gapChain(f)).gaps.push([s, e]);
  }
  let lo = t(report.requested && report.requested.start);
  let hi = t(report.requested && report.requested.end);
  for (const c of chains.values()) {
    for (const [s, e] of [...c.covered, ...c.gaps]) {
      lo = lo === null ? s : Math.min(lo, s);
      hi = hi === null ? e : Math.max(hi, e);
    }
  }
  return { chains: [...chains.values()], lo, hi };
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function total(list) {
  return list.reduce((n, [s, e]) => n + (e - s), 0);
}

/** Renders the timeline into `root`. */
export function renderTimeline(root, report) {
  root.replaceChildren();
  const { chains, lo, hi } = coverage(report);
  if (chains.length === 0 || lo === null || hi === null || hi <= lo) {
    root.append(el('p', 'hint', 'No digest chain covers any part of the range.'));
    return;
  }
  const span = hi - lo;
  const pct = (v) => `${(((v - lo) / span) * 100).toFixed(3)}%`;

  const axis = el('div', 'tl-axis');
  axis.setAttribute('aria-hidden', 'true');
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const v = lo + (span * i) / ticks;
    const tick = el('span', 'tl-tick', fmtTime(v));
    tick.style.left = pct(v);
    if (i === 0) tick.classList.add('first');
    if (i === ticks) tick.classList.add('last');
    axis.append(tick);
  }

  const list = el('ul', 'tl-rows');
  for (const c of chains) {
    c.covered.sort((a, b) => a[0] - b[0]);
    c.gaps.sort((a, b) => a[0] - b[0]);
    const li = el('li', 'tl-row');
    li.dataset.chain = c.label;
    const head = el('div', 'tl-head');
    head.append(el('span', 'tl-label', c.label));
    const cov = total(c.covered);
    const gap = total(c.gaps);
    const sum = `covered ${fmtDuration(cov)}` + (c.gaps.length ? ` · ${c.gaps.length} gap${c.gaps.length > 1 ? 's' : ''}, ${fmtDuration(gap)}` : ' · no gaps');
    head.append(el('span', c.gaps.length ? 'tl-sum bad' : 'tl-sum', sum));
    li.append(head);

    const bar = el('div', 'tl-bar');
    bar.setAttribute('role', 'img');
    const described = [
      ...c.covered.map(([s, e]) => `covered ${fmtTime(s)} to ${fmtTime(e)}`),
      ...c.gaps.map(([s, e]) => `gap ${fmtTime(s)} to ${fmtTime(e)}`),
    ];
    bar.setAttribute('aria-label', `${c.label}: ${described.join('; ') || 'nothing covered'}`);
    for (const [cls, items] of [['cov', c.covered], ['gap', c.gaps]]) {
      for (const [s, e] of items) {
        const seg = el('span', `tl-seg ${cls}`);
        seg.style.left = pct(s);
        seg.style.width = `max(2px, ${(((e - s) / span) * 100).toFixed(3)}%)`;
        seg.title = `${cls === 'cov' ? 'Covered' : 'Gap'}: ${fmtTime(s)} → ${fmtTime(e)} (${fmtDuration(e - s)})`;
        bar.append(seg);
      }
    }
    li.append(bar);
    list.append(li);
  }
  const legend = el('p', 'tl-legend');
  legend.setAttribute('aria-hidden', 'true');
  legend.append(el('span', 'key cov'), ' covered by authenticated digests ', el('span', 'key gap'), ' coverage gap ', el('span', 'key none'), ' outside the chain’s range or not yet due');
  root.append(list, axis, legend);
  if (span > 400 * 24 * MS_H) root.append(el('p', 'hint', 'Long range: short intervals are drawn at least 2 px wide.'));
}
