#!/usr/bin/env bash
# --compat benchmark against its baseline, the real aws-cli 1.46.3
# validate-logs, run offline over the same local copy (compat/awscli_offline.py;
# no network latency, so this measures the local work only: aws-cli fetches
# and hashes sequentially in 2 KiB reads, ctverify --compat streams the same
# sequence of checks in 256 KiB reads). Both outputs must be identical; the
# ratio of medians over RUNS alternating runs is printed.
#
#   bash bench/compat.sh [HOURS] [LOGS_PER_DIGEST] [LOG_MB]     (default 12 12 2: ~300 MB of logs)
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-12} logs=${2:-12} mb=${3:-2} runs=${RUNS:-3}
data=${BENCH_DIR:-${TMPDIR:-/tmp}/ctverify-bench-$hours-$logs-$mb}
py=${CTVERIFY_AWSCLI_PYTHON:-.venv/awscli/bin/python}
[ -x "$py" ] || { echo "aws-cli venv missing: run bash scripts/test.sh first" >&2; exit 2; }

cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors
bin=target/release
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest "$logs" --log-mb "$mb" >/dev/null
fi
arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/bench
args=(--trail-arn "$arn" --start-time 2024-03-01T00:17:28Z --end-time 2024-03-02T00:00:00Z --region us-east-1 --verbose)
job=$(mktemp) out1=$(mktemp) out2=$(mktemp)
trap 'rm -f "$job" "$out1" "$out2"' EXIT
printf '{"bucket_dir": "%s", "public_keys": ["%s"], "trail": {"arn": "%s", "bucket": "ctv-bench-bucket", "prefix": null, "org_id": null}, "now": "2026-01-01T00:00:00Z", "args": [%s]}\n' \
  "$data/bucket" "$data/public-keys.json" "$arn" "$(printf '"%s",' "${args[@]}" | sed 's/,$//')" > "$job"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
aws_t=() ctv_t=()
for _ in $(seq "$runs"); do
  s=$(now); "$py" compat/awscli_offline.py "$job" >"$out1" 2>&1 || true; e=$(now)
  aws_t+=("$(awk -v a="$s" -v b="$e" 'BEGIN {print b - a}')")
  s=$(now); "$bin/ctverify" validate --compat --now 2026-01-01T00:00:00Z --local "$data/bucket" --public-keys "$data/public-keys.json" "${args[@]}" >"$out2" 2>&1 || true; e=$(now)
  ctv_t+=("$(awk -v a="$s" -v b="$e" 'BEGIN {print b - a}')")
done
cmp -s "$out1" "$out2" || { echo "outputs differ!" >&2; diff "$out1" "$out2" | head >&2; exit 1; }
a=$(printf '%s\n' "${aws_t[@]}" | median)
c=$(printf '%s\n' "${ctv_t[@]}" | median)
awk -v a="$a" -v c="$c" -v runs="$runs" 'BEGIN {
  printf "aws-cli 1.46.3 (offline) : %.2f s (median of %d)\n", a, runs
  printf "ctverify --compat        : %.2f s\n", c
  printf "speed-up                 : %.1fx, identical output\n", a/c
}'
