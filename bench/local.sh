#!/usr/bin/env bash
# Local-mode throughput benchmark.
#
# Baseline (named in the core issue): the physical bound of local
# verification, i.e. bare gunzip + SHA-256 of every log on all cores with
# nothing else around it (`ctverify-test-vectors bound`). ctverify runs over
# the same files (listing, digest signatures, chain, streaming log hashing,
# report). Both are run alternately RUNS times in one invocation and the
# ratio of medians is printed: ratios, not absolute times, are comparable.
#
#   bash bench/local.sh [HOURS] [LOGS_PER_DIGEST] [LOG_MB]    (default 24 12 4: ~1.2 GB of logs)
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-24} logs=${2:-12} mb=${3:-4} runs=${RUNS:-5}
data=${BENCH_DIR:-${TMPDIR:-/tmp}/ctverify-bench-$hours-$logs-$mb}

cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  echo "generating $hours h x $logs logs x $mb MB into $data"
  "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest "$logs" --log-mb "$mb" >/dev/null
fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bound_t=() tool_t=()
for _ in $(seq "$runs"); do
  read -r bytes secs < <("$bin/ctverify-test-vectors" bound "$data/bucket")
  bound_t+=("$secs")
  start=$(date +%s.%N)
  "$bin/ctverify" validate --local "$data/bucket" --public-keys "$data/public-keys.json" >/dev/null
  end=$(date +%s.%N)
  tool_t+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')")
done
b=$(printf '%s\n' "${bound_t[@]}" | median)
t=$(printf '%s\n' "${tool_t[@]}" | median)
awk -v bytes="$bytes" -v b="$b" -v t="$t" -v runs="$runs" 'BEGIN {
  printf "uncompressed log data : %.1f MB (median of %d runs)\n", bytes/1e6, runs
  printf "bound (gunzip+sha256) : %.3f s  %.0f MB/s\n", b, bytes/1e6/b
  printf "ctverify validate     : %.3f s  %.0f MB/s (whole run, wall clock)\n", t, bytes/1e6/t
  printf "ratio ctverify/bound  : %.2f of the physical bound\n", b/t
}'
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "peak memory           : %M KB" "$bin/ctverify" validate --local "$data/bucket" --public-keys "$data/public-keys.json" >/dev/null
fi
