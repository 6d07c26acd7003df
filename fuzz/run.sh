#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 30) and fails if any
# of them crashes (panic, failed assertion, sanitizer report, timeout, OOM).
# Installs what it needs when missing: the nightly toolchain (minimal
# profile) and cargo-fuzz.
#
#   bash fuzz/run.sh [SECONDS]
#
# Targets are built once: release, debug assertions and overflow checks on,
# no sanitizer (the core forbids unsafe code; without AddressSanitizer the
# build takes half the time and bucket_mutation runs 8x faster). Set
# FUZZ_SANITIZER=address to build with it. Each run starts from the
# committed seed corpus
# fuzz/corpus/TARGET/, read only; what the fuzzer finds goes to
# fuzz/target/corpus-work/TARGET/ (kept between local runs), and a crashing
# input to fuzz/artifacts/TARGET/ (both ignored by git).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
case $secs in '' | *[!0-9]*)
  echo "usage: bash fuzz/run.sh [SECONDS]" >&2
  exit 2
  ;;
esac

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

flags=(-O -a -s "${FUZZ_SANITIZER:-none}")
start=$SECONDS
cargo +nightly fuzz build "${flags[@]}"
echo "build: $((SECONDS - start)) s"

failed=()
for target in $(cargo +nightly fuzz list); do
  work=target/corpus-work/$target
  mkdir -p "$work"
  printf '\n== %s (%s s)\n' "$target" "$secs"
  log=target/fuzz-$target.log
  extra=()
  # Structured input: full-size cases from the start (libFuzzer otherwise
  # grows the length slowly from the seeds' sizes, a few mutations at most).
  [ "$target" = bucket_mutation ] && extra=(-len_control=0 -max_len=1024)
  if cargo +nightly fuzz run "${flags[@]}" "$target" "$work" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=20 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$log" || true
  else
    tail -n 60 "$log"
    failed+=("$target")
  fi
done

printf '\nfuzz: %d targets, %s s each, %d s in all\n' "$(cargo +nightly fuzz list | wc -l)" "$secs" "$((SECONDS - start))"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]} (inputs in fuzz/artifacts/; reproduce with cargo +nightly fuzz run ${flags[*]} TARGET FILE)" >&2
  exit 1
fi
