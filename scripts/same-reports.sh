#!/usr/bin/env bash
# Shows that two builds of ctverify give byte-identical output: every
# committed vector (and the random scenarios when given) through both
# binaries, in text and JSON, with and without --verbose; stdout, stderr and
# the exit code must be equal (wall times and rates aside). Used to show that a refactoring changed no
# behaviour (issue 17):
#
#   bash scripts/same-reports.sh OLD_BINARY NEW_BINARY [EXTRA_VECTOR_DIR...]
set -euo pipefail
old=$1 new=$2
shift 2
cd "$(dirname "$0")/.."
now=2026-01-01T00:00:00Z
runs=0 diffs=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in test-vectors/vectors/*/ "${@/%//*/}"; do
  for vdir in $dir; do
    [ -f "$vdir/expected.json" ] || continue
    mapfile -t args < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["args"]))' "$vdir/expected.json" | sed '/^$/d')
    mapfile -t keys < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["public_keys"]))' "$vdir/expected.json" | sed '/^$/d')
    keyargs=()
    for k in "${keys[@]}"; do keyargs+=(--public-keys "$vdir/$k"); done
    for format in text json; do
      for verbose in "" --verbose; do
        for bin in "$old" "$new"; do
          tag=$([ "$bin" = "$old" ] && echo old || echo new)
          set +e
          "$bin" validate --local "$vdir/bucket" --now "$now" --format "$format" $verbose \
            "${keyargs[@]}" "${args[@]}" >"$tmp/$tag.out" 2>"$tmp/$tag.err"
          echo $? >"$tmp/$tag.rc"
          set -e
          # Wall times and rates differ from run to run: not behaviour.
          sed -i -E 's/[0-9]+\.[0-9]+ s\b/T s/g; s/\([0-9.]+ [kMG]?B\/s\)/(R)/g' "$tmp/$tag.out" "$tmp/$tag.err"
        done
        runs=$((runs + 1))
        for part in out err rc; do
          if ! cmp -s "$tmp/old.$part" "$tmp/new.$part"; then
            diffs=$((diffs + 1))
            echo "DIFF $vdir ($format $verbose) std$part:"
            diff "$tmp/old.$part" "$tmp/new.$part" | head -5 || true
          fi
        done
      done
    done
  done
done
echo "same-reports: $runs runs, $diffs differences"
[ "$diffs" -eq 0 ]
