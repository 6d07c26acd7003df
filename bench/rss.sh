#!/usr/bin/env bash
# Peak memory (RSS) of `ctverify validate --local` against the number of logs.
#
# For each N (default 1000 10000 100000) a signed chain of N small realistic
# logs (1-4 KB compressed, 100 logs per hourly digest) is generated once into
# ${BENCH_DIR:-$TMPDIR}/ctverify-rss-N, then validated RUNS times (default 3)
# under /usr/bin/time; the median peak RSS and wall time are printed, with
# the growth per log from the previous row.
#
#   bash bench/rss.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time" >&2; exit 1; }
cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| logs    | digests | peak RSS KB | wall s | KB per extra log |"
echo "|---------|---------|-------------|--------|------------------|"
prev_n='' prev_kb=''
for n in "${counts[@]}"; do
  per=100
  hours=$(( (n + per - 1) / per ))
  data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-rss-$n
  if [ ! -f "$data/public-keys.json" ]; then
    rm -rf "$data"
    "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest "$per" \
      --realistic --size-kb 1:4 >/dev/null 2>&1
  fi
  kbs=() secs=()
  for _ in $(seq "$runs"); do
    read -r kb s < <({ /usr/bin/time -f '%M %e' "$bin/ctverify" validate --local "$data/bucket" \
      --public-keys "$data/public-keys.json" >/dev/null; } 2>&1 | tail -1)
    kbs+=("$kb") secs+=("$s")
  done
  kb=$(printf '%s\n' "${kbs[@]}" | median)
  s=$(printf '%s\n' "${secs[@]}" | median)
  growth=-
  if [ -n "$prev_n" ]; then
    growth=$(awk -v a="$prev_kb" -v b="$kb" -v m="$prev_n" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / (n - m)}')
  fi
  printf '| %7d | %7d | %11d | %6.2f | %16s |\n' "$n" "$hours" "$kb" "$s" "$growth"
  prev_n=$n prev_kb=$kb
done
