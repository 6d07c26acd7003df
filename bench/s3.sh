#!/usr/bin/env bash
# S3-mode benchmark: ctverify vs aws-cli 1.46.3 on the same trail, served
# with the same added latency per request, in one run.
#
# Trail: 168 hourly digests and 2,016 logs (12 per hour, CloudTrail-like
# records, 2-100 KB compressed, 52 MB / 520 MB uncompressed), generated once
# by the deterministic generator. It is served on 127.0.0.1 by
# `ctverify-latency-proxy --serve` (a static, read-only S3 endpoint:
# GetObject with user metadata, ListObjects v1/v2, HeadBucket,
# GetBucketLocation) with LATENCY_MS (default 20) added to every request;
# CloudTrail calls go through the same latency to test-support/s3/proxy.py
# (ListPublicKeys) and moto (GetTrailStatus). moto itself serves ~340
# requests/s and s3s-fs stalls 40 ms per response (Nagle): either would
# measure the server, not the clients.
#
# Both tools read the same endpoint: aws-cli through AWS_ENDPOINT_URL, with
# its own calls (GetBucketLocation, ListObjects, ListPublicKeys, GetObject,
# one at a time); ctverify with --endpoint-url (HeadBucket, GetTrailStatus,
# scoped ListObjectsV2, ListPublicKeys, GetObject with --jobs in flight).
# Prints wall times (ctverify: median of RUNS), the ratio, and peak RSS.
#
#   bash bench/s3.sh            (RUNS=3 LATENCY_MS=20 JOBS=64)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
latency=${LATENCY_MS:-20}
jobs=${JOBS:-64}
data=${BENCH_DIR:-${TMPDIR:-/tmp}}/ctverify-bench-s3
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cargo build --quiet --release --locked -p ctverify -p ctverify-test-vectors -p ctverify-latency-proxy
bash test-support/s3/install.sh >/dev/null
if [ ! -f scripts/test.sh ] || ! .venv/awscli/bin/python -c 'import awscli, sys; sys.exit(awscli.__version__ != "1.46.3")' 2>/dev/null; then
  rm -rf .venv/awscli && python3 -m venv .venv/awscli
  .venv/awscli/bin/pip install --quiet --disable-pip-version-check awscli==1.46.3
fi
if [ ! -f "$data/done" ]; then
  rm -rf "$data"
  target/release/ctverify-test-vectors bench-data --out "$data" --hours 168 --logs-per-digest 12 --realistic --size-kb 2:100 >/dev/null
  touch "$data/done"
fi

# port_of LOGFILE: waits for "PORT n" (our proxies) or moto's "Running on".
port_of() {
  for _ in $(seq 100); do
    p=$(sed -n -e 's/^PORT \([0-9]*\).*/\1/p' -e 's/.*Running on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2; return 1
}
MOTO_ACCOUNT_ID=111122223333 .venv/moto/bin/moto_server -H 127.0.0.1 -p 0 >"$work/moto.log" 2>&1 & pids+=($!)
moto=$(port_of "$work/moto.log")
.venv/moto/bin/python test-support/s3/proxy.py --upstream "http://127.0.0.1:$moto" \
  --public-keys "$data/public-keys.json" --keys-page-size 100 >"$work/keys.log" 2>&1 & pids+=($!)
keys=$(port_of "$work/keys.log")
target/release/ctverify-latency-proxy --serve "$data/bucket" --bucket ctv-bench-bucket \
  --cloudtrail-upstream "http://127.0.0.1:$keys" --latency-ms "$latency" >"$work/s3.log" 2>&1 & pids+=($!)
endpoint=http://127.0.0.1:$(port_of "$work/s3.log")

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_SESSION_TOKEN
arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/bench
range=(--start-time 2024-03-01T00:17:28Z --end-time 2024-03-08T00:17:28Z)

timed() { # timed OUT -- CMD...: wall seconds and peak RSS (KB) of CMD into OUT
  local out=$1; shift 2
  /usr/bin/time -f "%e %M" -o "$out" "$@" >"$out.stdout" 2>"$out.stderr" || true
}

echo "trail: 168 digests, 2016 logs, $(du -sm "$data/bucket" | cut -f1) MB; ${latency} ms per request; ctverify --jobs $jobs"
walls=()
for i in $(seq "$runs"); do
  timed "$work/ct$i" -- target/release/ctverify validate --endpoint-url "$endpoint" --trail-arn "$arn" \
    --s3-bucket ctv-bench-bucket "${range[@]}" --jobs "$jobs" --verbose
  grep -q "^Verdict: valid" "$work/ct$i.stdout" || { cat "$work/ct$i.stdout" "$work/ct$i.stderr"; exit 1; }
  walls+=("$(cut -d' ' -f1 "$work/ct$i")")
  echo "ctverify run $i: $(cut -d' ' -f1 "$work/ct$i") s, peak RSS $(( $(cut -d' ' -f2 "$work/ct$i") / 1024 )) MB"
done
ct=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
grep "S3 requests" "$work/ct1.stderr" || true

timed "$work/compat" -- target/release/ctverify validate --compat --endpoint-url "$endpoint" --trail-arn "$arn" \
  --s3-bucket ctv-bench-bucket "${range[@]}" --region us-east-1 --jobs "$jobs"
echo "ctverify --compat: $(cut -d' ' -f1 "$work/compat") s"

(cd "$work" && timed "$work/aws" -- env AWS_ENDPOINT_URL="$endpoint" "$OLDPWD/.venv/awscli/bin/aws" cloudtrail validate-logs \
  --trail-arn "$arn" --s3-bucket ctv-bench-bucket "${range[@]}" --region us-east-1)
grep -q "2016/2016 log files valid" "$work/aws.stdout" || { cat "$work/aws.stdout" "$work/aws.stderr"; exit 1; }
aws=$(cut -d' ' -f1 "$work/aws")
echo "aws-cli 1.46.3: $aws s, peak RSS $(( $(cut -d' ' -f2 "$work/aws") / 1024 )) MB"
cmp -s "$work/aws.stdout" "$work/compat.stdout" && echo "ctverify --compat output: identical to aws-cli's" \
  || { echo "ctverify --compat output differs from aws-cli's"; diff "$work/aws.stdout" "$work/compat.stdout" | head; exit 1; }
awk -v a="$aws" -v c="$ct" -v k="$(cut -d' ' -f1 "$work/compat")" \
  'BEGIN { printf "ctverify median %.2f s: %.1fx faster than aws-cli (--compat: %.1fx)\n", c, a / c, a / k }'
