#!/usr/bin/env bash
# Runs every test of ctverify. Installs what the tests need when it is not
# there yet (idempotent: cheap to rerun), so it works on a fresh machine.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }

step "toolchain: wasm32 target"
if ! rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null; then
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  rustup component list --installed | grep "^$comp" >/dev/null || rustup component add "$comp"
done

step "aws-cli 1.46.3 in a throwaway virtualenv (the --compat reference)"
venv=.venv/awscli
if ! "$venv/bin/python" -c 'import awscli, sys; sys.exit(awscli.__version__ != "1.46.3")' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check awscli==1.46.3
fi
"$venv/bin/python" -c 'import awscli; print("aws-cli", awscli.__version__)'
export CTVERIFY_AWSCLI_PYTHON="$PWD/$venv/bin/python" CTVERIFY_REQUIRE_AWSCLI=1

step "moto (S3 + CloudTrail stand-in for the S3-mode tests) in a throwaway virtualenv"
bash test-support/s3/install.sh
.venv/moto/bin/python test-support/s3/selftest.py

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "test vectors are reproducible (regenerate, then git diff)"
cargo run --quiet --locked -p ctverify-test-vectors --release
untracked=$(git ls-files --others --exclude-standard -- test-vectors/vectors)
if ! git diff --quiet -- test-vectors/vectors || [ -n "$untracked" ]; then
  git diff --stat -- test-vectors/vectors || true
  printf '%s\n' "$untracked"
  echo "test-vectors/vectors differs from what the generator produces" >&2
  exit 1
fi

step "core and the wasm crate build for wasm32-unknown-unknown (without compat)"
cargo build --locked -p ctverify-core -p ctverify-wasm --target wasm32-unknown-unknown
if cargo tree --locked -p ctverify-wasm --target wasm32-unknown-unknown -e features -i ctverify-core | grep -q 'feature "compat"'; then
  echo "the wasm crate must not build the compat feature" >&2
  exit 1
fi

step "browser page: Debian chromium (apt), wasm-bindgen-cli (pinned), playwright-core (npm ci); systemd-analyze (apt: systemd) for the examples"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -f wasm/tests/browser/package-lock.json ] && [ ! -d wasm/tests/browser/node_modules/playwright-core ]; then
  (cd wasm/tests/browser && npm ci --silent --no-audit --no-fund)
fi
bash wasm/build.sh

step "WASM: every vector through the module under Node, reports byte-identical to the CLI's"
cargo build --quiet --release --locked -p ctverify
CTVERIFY_BIN=target/release/ctverify node wasm/tests/vectors.mjs

if [ -f wasm/tests/browser/e2e.mjs ]; then
  step "browser page end to end in headless Chromium (screenshots in target/browser-screenshots/)"
  CTVERIFY_BIN=target/release/ctverify node wasm/tests/browser/e2e.mjs
fi

step "deployment examples (systemd units, crontab, Kubernetes CronJob, IAM policies) lint against the built binary"
CTVERIFY_BIN=target/release/ctverify bash examples/lint.sh

step "random scenarios for the --compat differential test (fixed seed)"
random_dir=target/compat-random
cargo run --quiet --locked --release -p ctverify-test-vectors -- random --out "$random_dir" --count 40 --seed 7
export CTVERIFY_EXTRA_VECTORS="$PWD/$random_dir"

step "hostile input: a 100 MB hostile copy is judged in <= 60 s and <= 1 GiB, never valid"
bash bench/hostile.sh 100

step "fuzz: every cargo-fuzz target ${CTVERIFY_FUZZ_SECONDS:-10} s (installs nightly and cargo-fuzz if missing)"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
bash fuzz/run.sh "${CTVERIFY_FUZZ_SECONDS:-10}"

step "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
printf '\nelapsed: %d s\n' "$SECONDS"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ {p += $4; f += $6} END {printf "\ntests: %d passed, %d failed\n", p, f; exit (f > 0)}' "$log"
