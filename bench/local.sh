#!/usr/bin/env bash
# Local-mode throughput benchmark.
#
# Baseline (named in the core issue): the physical bound of local
# verification, i.e. bare gunzip + SHA-256 of every log on all cores with
# nothing else around it (`ctverify-test-vectors bound`, same inflate and
# SHA-256 code as ctverify). ctverify runs over the same files (process
# start, listing, digest signatures, chain, streaming log hashing, report).
# Both are run alternately RUNS times in one invocation and the ratio of
# medians is printed: ratios, not absolute times, are comparable.
#
#   bash bench/local.sh [SET...]      (default: all four sets below)
#   bash bench/local.sh HOURS LOGS_PER_DIGEST LOG_MB   (a custom synthetic set)
#
# Sets (generated once, deterministic, cached in $TMPDIR):
#   synthetic      24 h x 12 logs of 4 MB uncompressed, uniform records (1.2 GB)
#   realistic      24 h x 12 logs, CloudTrail-like records (~1.5 KB, ~10:1),
#                  compressed sizes log-uniform from 2 KB to 5 MB (2 GB)
#   realistic-1mb  12 h x 12 logs of ~1 MB compressed, same records (1.5 GB)
#   small          48 h x 60 logs of 2-20 KB compressed, same records (2,880 logs)
# Data goes to ${BENCH_DIR:-$TMPDIR}/ctverify-bench-SET.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}

cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release

# set name -> "hours logs_per_digest bench-data flags"
spec() {
  case $1 in
    synthetic) echo "24 12 --log-mb 4" ;;
    realistic) echo "24 12 --realistic --size-kb 2:5120" ;;
    realistic-1mb) echo "12 12 --realistic --size-kb 1000" ;;
    small) echo "48 60 --realistic --size-kb 2:20" ;;
    custom) echo "$custom" ;;
    *) echo "unknown set $1 (synthetic, realistic, realistic-1mb, small)" >&2; return 1 ;;
  esac
}

if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  custom="${1} ${2:-12} --log-mb ${3:-4}"
  sets=(custom)
  name_custom="synthetic-$1-${2:-12}-${3:-4}"
elif [ $# -gt 0 ]; then
  sets=("$@")
else
  sets=(synthetic realistic realistic-1mb small)
fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Other work on the machine shifts both timings; the load shows how much.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
summary=()
for set in "${sets[@]}"; do
  read -r hours logs flags < <(spec "$set")
  name=$set
  [ "$set" = custom ] && name=$name_custom
  data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-bench-$name
  if [ ! -f "$data/public-keys.json" ]; then
    rm -rf "$data"
    echo "generating $name ($hours h x $logs logs, $flags) into $data"
    # shellcheck disable=SC2086
    "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest "$logs" $flags >/dev/null
  fi
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
  nlogs=$(find "$data/bucket" -name '*_CloudTrail_*.json.gz' | wc -l)
  mem=-
  if [ -x /usr/bin/time ]; then
    mem=$( { /usr/bin/time -f %M "$bin/ctverify" validate --local "$data/bucket" --public-keys "$data/public-keys.json" >/dev/null; } 2>&1 | tail -1)
  fi
  echo "== $name: $nlogs logs, $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}') MB uncompressed (median of $runs runs)"
  awk -v bytes="$bytes" -v b="$b" -v t="$t" -v mem="$mem" 'BEGIN {
    printf "bound (gunzip+sha256) : %.3f s  %.0f MB/s\n", b, bytes/1e6/b
    printf "ctverify validate     : %.3f s  %.0f MB/s (whole run, wall clock)\n", t, bytes/1e6/t
    printf "ratio ctverify/bound  : %.2f of the physical bound\n", b/t
    printf "peak memory           : %s KB\n", mem
  }'
  summary+=("$(awk -v n="$name" -v l="$nlogs" -v bytes="$bytes" -v b="$b" -v t="$t" -v mem="$mem" \
    'BEGIN {printf "| %-14s | %6d | %8.0f | %7.3f | %7.3f | %5.2f | %7s |", n, l, bytes/1e6, b, t, b/t, mem}')")
done
echo
echo "| set            |   logs |       MB | bound s | ctv s   | ratio | peak KB |"
echo "|----------------|--------|----------|---------|---------|-------|---------|"
printf '%s\n' "${summary[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
