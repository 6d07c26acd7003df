// Pure formatting helpers for the page (no DOM): byte counts, times,
// durations, rates and counted nouns, in the page's fixed en-US style.

export const nf = new Intl.NumberFormat('en-US');

/** `1.5 MB`: decimal units, as the CLI prints sizes. */
export function fmtBytes(n) {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** A UTC time to the minute: `2024-03-01 12:00Z`. */
export function fmtTime(ms) {
  return new Date(ms).toISOString().replace(/:\d\d(\.\d+)?Z$/, 'Z').replace('T', ' ');
}

/** A duration to the minute: `2 d 3 h 5 min`. */
export function fmtDuration(ms) {
  const mins = Math.round(ms / 60e3);
  const d = Math.floor(mins / 1440);
  const h = Math.floor((mins % 1440) / 60);
  const m = mins % 60;
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m || parts.length === 0) parts.push(`${m} min`);
  return parts.join(' ');
}

/** An elapsed time: seconds (2 decimals under 10 s), then minutes. */
export function fmtSecs(ms) {
  return ms < 10e3 ? `${(ms / 1e3).toFixed(2)} s` : ms < 120e3 ? `${(ms / 1e3).toFixed(1)} s` : fmtDuration(ms);
}

/** Throughput in MB/s. */
export function fmtRate(bytes, ms) {
  const mbps = ms > 0 ? bytes / 1e3 / ms : 0;
  return `${mbps.toFixed(mbps < 10 ? 2 : 1)} MB/s`;
}

/** `1 file`, `2,000 files`. */
export function plural(n, one, many = `${one}s`) {
  return `${nf.format(n)} ${n === 1 ? one : many}`;
}
