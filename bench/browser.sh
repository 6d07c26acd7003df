#!/usr/bin/env bash
# Browser page vs native CLI throughput, on the same local copy.
#
# MB/s of log data verified (uncompressed bytes: the report's
# log_bytes_hashed, divided by the wall time of the whole run):
#   native, 1 thread      ctverify validate --local ... (RAYON_NUM_THREADS=1)
#   native, all threads   the same with every core
#   page                  target/page/ in headless Chromium, from the click on
#                         Verify to the verdict (N hash workers, N = cores)
# and the ratio page / native 1 thread (goal: >= 0.5). Medians of RUNS runs.
#
#   bash bench/browser.sh            (RUNS=3; data cached in $BENCH_DIR or $TMPDIR;
#                                     WORKERS=N: N hash workers in the page, default: cores)
#
# The data set is bench/local.sh's "realistic" one (24 h x 12 logs,
# CloudTrail-like records, compressed sizes 2 KB to 5 MB: ~2 GB inflated),
# generated once. Needs target/page (bash wasm/build.sh), node, and
# /usr/bin/chromium (or $CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
bin=${CTVERIFY_BIN:-target/release/ctverify}
gen=target/release/ctverify-test-vectors

if [ ! -x "$bin" ] || [ ! -x "$gen" ]; then
  cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
fi
[ -f target/page/index.html ] || bash wasm/build.sh
[ -d wasm/tests/browser/node_modules/playwright-core ] || npm ci --silent --prefix wasm/tests/browser

data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-bench-realistic
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  echo "generating the data set into $data"
  "$gen" bench-data --out "$data" --hours 24 --logs-per-digest 12 --realistic --size-kb 2:5120 >/dev/null
fi
nlogs=$(find "$data/bucket" -name '*_CloudTrail_*.json.gz' | wc -l)
gz=$(du -sb "$data/bucket" | cut -f1)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Prints "SECONDS LOG_BYTES" for one native run.
native() {
  local start end out
  start=$(date +%s.%N)
  out=$("$bin" validate --local "$data/bucket" --public-keys "$data/public-keys.json" --format json || true)
  end=$(date +%s.%N)
  bytes=$(printf '%s' "$out" | sed -n 's/^ *"log_bytes_hashed": *\([0-9]*\).*/\1/p')
  verdict=$(printf '%s' "$out" | sed -n 's/^ *"verdict": *"\([a-z]*\)".*/\1/p')
  [ "$verdict" = valid ] || { echo "native run: verdict ${verdict:-none}" >&2; exit 1; }
  awk -v a="$start" -v b="$end" -v n="$bytes" 'BEGIN {print b - a, n}'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "data: $nlogs logs, $((gz / 1000000)) MB on disk, in $data"
one=() all=()
for _ in $(seq "$runs"); do
  read -r s bytes < <(RAYON_NUM_THREADS=1 native)
  one+=("$s")
  read -r s bytes < <(native)
  all+=("$s")
done
page_s=() page_wall=()
while read -r s pbytes mbps workers verdict wall; do
  [ "$verdict" = valid ] || { echo "page run: verdict $verdict" >&2; exit 1; }
  [ "$pbytes" = "$bytes" ] || { echo "page hashed $pbytes bytes, the CLI $bytes" >&2; exit 1; }
  page_s+=("$s")
  page_wall+=("$wall")
  nworkers=$workers
done < <(node bench/browser/page.mjs "$data/bucket" "$data/public-keys.json" "$runs" "${WORKERS:-}")
[ "${#page_s[@]}" -eq "$runs" ] || { echo "the page runs failed" >&2; exit 1; }

t1=$(printf '%s\n' "${one[@]}" | median)
tn=$(printf '%s\n' "${all[@]}" | median)
tp=$(printf '%s\n' "${page_s[@]}" | median)
tw=$(printf '%s\n' "${page_wall[@]}" | median)
echo "== $((bytes / 1000000)) MB of log data (uncompressed), median of $runs runs"
awk -v bytes="$bytes" -v t1="$t1" -v tn="$tn" -v tp="$tp" -v tw="$tw" -v w="$nworkers" -v n="$(nproc)" 'BEGIN {
  printf "native, 1 thread      : %7.3f s  %6.1f MB/s\n", t1, bytes/1e6/t1
  printf "native, %2d threads    : %7.3f s  %6.1f MB/s\n", n, tn, bytes/1e6/tn
  printf "page, %2d hash workers : %7.3f s  %6.1f MB/s  (click to verdict; %.3f s seen by the test driver)\n", w, tp, bytes/1e6/tp, tw
  printf "ratio page / native 1 thread : %.2f (goal >= 0.5)\n", t1/tp
  printf "ratio page / native all      : %.2f\n", tn/tp
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
