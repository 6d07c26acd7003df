#!/usr/bin/env bash
# Differential fuzzing of `ctverify validate --compat` against the real
# aws-cli: generates COUNT random scenarios (random trail shapes, random
# tampering; `ctverify-test-vectors random`) from SEED and runs the
# differential test (cli/tests/compat_awscli.rs) on them and on the committed
# vectors.
#
#   bash compat/fuzz.sh [COUNT] [SEED]        (default 100, a new seed each run)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100} seed=${2:-$(date +%s)}
out=${TMPDIR:-/tmp}/ctverify-fuzz-$seed
[ -x .venv/awscli/bin/python ] || { echo "run bash scripts/test.sh first (installs aws-cli)" >&2; exit 2; }
cargo run --quiet --release --locked -p ctverify-test-vectors -- random --out "$out" --count "$count" --seed "$seed"
echo "seed $seed: $count scenarios in $out"
CTVERIFY_EXTRA_VECTORS="$out" CTVERIFY_AWSCLI_PYTHON="$PWD/.venv/awscli/bin/python" CTVERIFY_REQUIRE_AWSCLI=1 \
  cargo test --release --locked -p ctverify --test compat_awscli
