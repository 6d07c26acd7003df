#!/usr/bin/env bash
# The cost bound of hostile input (issue 6, rule 5): a hostile local copy of
# ~100 MB (log and digest bombs, huge and deep digests, sidecar bombs,
# thousands of injected objects) must be judged in <= 60 s and <= 1 GiB RSS
# on a 2-core machine, and never `valid`. Exits non-zero otherwise.
#
#   bash bench/hostile.sh [TOTAL_MB]      (CTVERIFY_BIN: the binary to judge;
#                                         default: a release build of it)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
dir=${TMPDIR:-/tmp}/ctverify-hostile-$mb
bin=${CTVERIFY_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet --release --locked -p ctverify
  bin=target/release/ctverify
fi
python3 bench/hostile.py test-vectors/vectors/clean_chain_valid "$dir" "$mb"
start=$(date +%s.%N)
set +e
/usr/bin/time -f "%M" -o "$dir.rss" "$bin" validate --local "$dir/bucket" \
  --public-keys "$dir/public-keys.json" --now 2026-01-01T00:00:00Z --format json >"$dir.json" 2>"$dir.err"
code=$?
set -e
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
rss=$(tail -1 "$dir.rss")
verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$dir.json" 2>/dev/null || echo "none")
echo "hostile ${mb} MB copy: exit $code, verdict $verdict, ${secs} s, peak RSS $((rss / 1024)) MiB"
ok=1
[ "$code" -ne 0 ] || { echo "FAIL: exit 0 (valid) on hostile input" >&2; ok=0; }
awk -v s="$secs" 'BEGIN {exit !(s <= 60)}' || { echo "FAIL: more than 60 s" >&2; ok=0; }
[ "$rss" -le $((1024 * 1024)) ] || { echo "FAIL: more than 1 GiB RSS" >&2; ok=0; }
rm -rf "$dir" "$dir.json" "$dir.err" "$dir.rss"
[ "$ok" = 1 ]
