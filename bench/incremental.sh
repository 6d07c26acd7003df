#!/usr/bin/env bash
# Scheduled-run benchmark: the nightly incremental run (--state) against the
# baseline the issue names, a full re-scan of the whole range (what aws-cli
# validate-logs does on every run; here ctverify without state, which is
# itself far faster than aws-cli, so the ratio is conservative).
#
# Data: a 31-day trail (744 hourly digests, 12 realistic logs per digest,
# 2-200 KB compressed; deterministic, cached in $TMPDIR). The state holds
# the first 30 verified days; each measured "nightly" run restores that
# state and verifies day 31 (plus, in a second variant, --recheck 24).
# Full and incremental runs alternate RUNS times in one invocation; the
# ratios of medians (wall time) and of what was read are printed.
#
#   bash bench/incremental.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release
data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-bench-incremental
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  "$bin/ctverify-test-vectors" bench-data --out "$data" --hours 744 --logs-per-digest 12 --realistic --size-kb 2:200 >/dev/null
fi
now=2024-04-05T00:00:00Z
t0=2024-03-01T00:17:28Z
day30=2024-03-31T00:17:28Z
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(validate --local "$data/bucket" --public-keys "$data/public-keys.json" --now "$now" --format json --verbose)

# The state after 30 verified days.
"$bin/ctverify" "${common[@]}" --start-time "$t0" --end-time "$day30" --state "$work/base.json" >/dev/null 2>"$work/err" \
  || { cat "$work/err"; exit 1; }

# One run: prints "seconds files bytes".
measure() {
  local start end
  start=$(date +%s.%N)
  "$bin/ctverify" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  end=$(date +%s.%N)
  local read
  read=$(grep -o 'read [0-9]* files, [0-9.]* MB' "$work/err" | awk '{f += $2; m += $4} END {print f, m}')
  echo "$(echo "$end - $start" | bc -l) $read"
}

: >"$work/full"; : >"$work/inc"; : >"$work/rc"
for _ in $(seq "$runs"); do
  measure "${common[@]}" --start-time "$t0" >>"$work/full"
  cp "$work/base.json" "$work/s.json"
  measure "${common[@]}" --state "$work/s.json" >>"$work/inc"
  cp "$work/base.json" "$work/s.json"
  measure "${common[@]}" --state "$work/s.json" --recheck 24 >>"$work/rc"
done
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
report() {
  local name=$1 file=$2
  local t f m
  t=$(cut -d' ' -f1 "$file" | median)
  f=$(head -1 "$file" | cut -d' ' -f2)
  m=$(head -1 "$file" | cut -d' ' -f3)
  printf '%-34s median %6.3f s  read %6d files %8.1f MB\n' "$name" "$t" "$f" "$m"
  echo "$t $f $m" >"$work/$name.sum"
}
report "full re-scan (31 days, baseline)" "$work/full"
report "nightly --state (day 31)" "$work/inc"
report "nightly --state --recheck 24" "$work/rc"
read -r ft ff fm <"$work/full re-scan (31 days, baseline).sum"
read -r it if im <"$work/nightly --state (day 31).sum"
read -r rt rf rm_ <"$work/nightly --state --recheck 24.sum"
printf 'nightly vs full re-scan: %.1fx faster, %.1fx fewer files, %.1fx fewer MB read\n' \
  "$(echo "$ft / $it" | bc -l)" "$(echo "$ff / $if" | bc -l)" "$(echo "$fm / $im" | bc -l)"
printf 'nightly --recheck 24 vs full re-scan: %.1fx faster, %.1fx fewer MB read\n' \
  "$(echo "$ft / $rt" | bc -l)" "$(echo "$fm / $rm_" | bc -l)"
