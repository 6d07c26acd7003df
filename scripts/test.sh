#!/usr/bin/env bash
# Runs every test of ctverify. Installs what the tests need when it is not
# there yet (idempotent: cheap to rerun), so it works on a fresh machine.
#
#   bash scripts/test.sh
#
# Every dependency graph is built once: the tests and every binary the other
# steps run come from one `cargo test --profile ci` build (release-like, debug
# assertions and overflow checks on; Cargo.toml [profile.ci]); wasm32 is built
# once, by wasm/build.sh. Each step prints the elapsed time; CONTRIBUTING.md
# says what each one checks.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
bin=target/ci

step "toolchain: wasm32 target, rustfmt, clippy"
if ! rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null; then
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  rustup component list --installed | grep "^$comp" >/dev/null || rustup component add "$comp"
done

step "system packages (apt, when missing): chromium (page tests), systemd-analyze (examples lint), man (man page test), slurm + munge (sharded runs on a real engine)"
missing=()
for p in slurmctld slurmd sbatch munged; do
  command -v $p >/dev/null || { missing+=(slurmctld slurmd slurm-client munge); break; }
done
command -v chromium >/dev/null || missing+=(chromium)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v man >/dev/null || missing+=(man-db)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

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

step "playwright-core, ajv and eslint (npm ci) for the page tests"
if [ -f wasm/tests/browser/package-lock.json ] && { [ ! -d wasm/tests/browser/node_modules/playwright-core ] ||
  [ ! -d wasm/tests/browser/node_modules/ajv ] || [ ! -d wasm/tests/browser/node_modules/eslint ]; }; then
  (cd wasm/tests/browser && npm ci --silent --no-audit --no-fund)
fi

step "lint: the page's and the JS tests' code (ESLint, wasm/eslint.config.js)"
wasm/tests/browser/node_modules/.bin/eslint --max-warnings 0 wasm

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "build + clippy: every test and binary, profile ci (one build of each dependency graph; clippy lints the workspace crates as they compile)"
# clippy-driver is rustc with clippy's lints: as the workspace wrapper it
# lints our crates while the one build compiles them (what `cargo clippy`
# does in check mode, without a second dependency graph). Kept for every
# later cargo call, so none rebuilds: wasm/build.sh lints the wasm32 build.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo test --workspace --locked --profile ci --no-run
if cargo tree --locked -p ctverify-wasm --target wasm32-unknown-unknown -e features -i ctverify-core | grep -q 'feature "compat"'; then
  echo "the wasm crate must not build the compat feature" >&2
  exit 1
fi

step "browser page: wasm32 release build (linted) + wasm-bindgen-cli (pinned, installed when missing)"
bash wasm/build.sh

step "WASM: every vector through the module under Node (the page's sequence), reports the CLI's (byte-identical but for its hints)"
CTVERIFY_BIN=$bin/ctverify node wasm/tests/vectors.mjs

if [ -f wasm/tests/browser/e2e.mjs ]; then
  step "browser page end to end in headless Chromium (screenshots in target/browser-screenshots/)"
  CTVERIFY_BIN=$bin/ctverify node wasm/tests/browser/e2e.mjs
fi

step "deployment examples (systemd units, crontab, Kubernetes CronJob, IAM policies, sharded runs on AWS Batch, Kubernetes and Step Functions) lint against the built binary"
CTVERIFY_BIN=$bin/ctverify bash examples/lint.sh

step "random scenarios for the --compat differential test (fixed seed)"
random_dir=target/compat-random
$bin/ctverify-test-vectors random --out "$random_dir" --count 40 --seed 7
export CTVERIFY_EXTRA_VECTORS="$PWD/$random_dir"

step "hostile input: a 100 MB hostile copy is judged in <= 60 s and <= 1 GiB, never valid"
CTVERIFY_BIN=$bin/ctverify bash bench/hostile.sh 100

step "sharded run on a real engine: Slurm (installed and started when missing) array job + afterany merge over a 50-account x 4-region x 2-day organization trail; merged == single run"
bash scripts/slurm-shards.sh "$bin" 8

step "fuzz: the committed corpus and reproducers replayed on stable; a 10 s smoke run per target when nightly cargo-fuzz is there"
cargo test --manifest-path fuzz/Cargo.toml --locked
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  bash fuzz/run.sh "${CTVERIFY_FUZZ_SECONDS:-10}"
else
  echo "nightly cargo-fuzz is not installed: smoke run skipped (bash fuzz/run.sh installs it)"
fi

step "tests (vectors reproducible, core, CLI, --compat against aws-cli, S3 against moto, shells, man page)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if command -v cargo-nextest >/dev/null; then
  # Every test in its own process, several at once across test binaries:
  # the S3 fault tests mostly wait on timeouts.
  cargo nextest run --workspace --locked --cargo-profile ci --test-threads 6 --no-fail-fast 2>&1 | tee "$log"
  cargo test --workspace --locked --profile ci --doc 2>&1 | tee -a "$log"
  printf '\ntotal: %d s\n' "$SECONDS"
  grep -E '^ +Summary ' "$log" | tail -1
  awk '/^test result:/ {f += $6} /^ +Summary .* [0-9]+ failed/ {f += 1} END {exit (f > 0)}' "$log"
else
  cargo test --workspace --locked --profile ci 2>&1 | tee "$log"
  printf '\ntotal: %d s\n' "$SECONDS"
  # One closing line for the whole run (cargo prints one per test binary).
  awk '/^test result:/ {p += $4; f += $6} END {printf "\ntests: %d passed, %d failed\n", p, f; exit (f > 0)}' "$log"
fi
