#!/usr/bin/env bash
# Sharded runs (SPEC §10), measured on this machine: an organization trail
# (ACCOUNTS x REGIONS x HOURS, LOGS per digest, ~10 KB logs) verified by one
# process, and by N shards run one after another (each shard's wall time and
# peak RSS: what one array child costs), plus the plan and the merge. The
# per-shard throughput is what sizes an array job (docs/sharding.md).
#
#   bash bench/shards.sh [SHARDS] [ACCOUNTS] [REGIONS] [HOURS] [LOGS]
set -euo pipefail
cd "$(dirname "$0")/.."
shards=${1:-8} accounts=${2:-50} regions=${3:-4} hours=${4:-48} logs=${5:-10}
cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release
data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-bench-org-$accounts-$regions-$hours-$logs
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest "$logs" --log-mb 0.01 \
    --org o-abc123def4 --accounts "$accounts" --regions "$regions" >/dev/null
fi
src=(--local "$data/bucket" --public-keys "$data/public-keys.json")
now=2026-01-01T00:00:00Z
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# "SECONDS PEAK_KB" of a command (output discarded).
measure() {
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -o "$work/time" -f %M "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}', open('$work/time').read().split()[-1])"
}
read -r single_s single_kb < <(measure "$bin/ctverify" validate "${src[@]}" --now "$now")
read -r plan_s plan_kb < <(measure "$bin/ctverify" plan "${src[@]}" --now "$now" --shards "$shards" --out "$work/plan.json")
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["shards"]))' "$work/plan.json")
total=0 max_s=0 max_kb=0
for i in $(seq 0 $((n - 1))); do
  read -r s kb < <(measure "$bin/ctverify" validate --shard-plan "$work/plan.json" --shard "$i" --partials "$work/p" "${src[@]}")
  total=$(python3 -c "print($total + $s)")
  max_s=$(python3 -c "print(max($max_s, $s))")
  max_kb=$((kb > max_kb ? kb : max_kb))
done
read -r merge_s merge_kb < <(measure "$bin/ctverify" merge --shard-plan "$work/plan.json" --partials "$work/p" --format json)
digests=$(find "$data/bucket" -name '*CloudTrail-Digest*.json.gz' | wc -l)
logcount=$(find "$data/bucket" -name '*_CloudTrail_*.json.gz' | wc -l)
partials=$(du -sk "$work/p" | cut -f1)
echo "org trail: $accounts accounts x $regions regions x $hours h: $digests digests, $logcount logs"
echo "one process:      ${single_s} s, peak $((single_kb / 1024)) MiB"
echo "plan ($n shards): ${plan_s} s, peak $((plan_kb / 1024)) MiB"
echo "shards:           sum $(python3 -c "print(f'{$total:.2f}')") s, slowest ${max_s} s, mean $(python3 -c "print(f'{$total / $n:.2f}')") s, peak $((max_kb / 1024)) MiB (one after another)"
echo "merge:            ${merge_s} s, peak $((merge_kb / 1024)) MiB; partials ${partials} KiB"
