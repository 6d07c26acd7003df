#!/usr/bin/env bash
# Builds the browser verification page into target/page/ (index.html at its
# root; any static server can serve it), and the same WASM module for Node
# into target/wasm-node/ (the vector test). Installs wasm-bindgen-cli at
# exactly the wasm-bindgen crate's version when missing. No wasm-opt:
# Debian 12's binaryen (version 108) breaks wasm-bindgen's externref table
# (the module then fails to load), and the release build is already -O3.
#
#   bash wasm/build.sh
#   python3 -m http.server --bind 127.0.0.1 8000 --directory target/page   # then open http://127.0.0.1:8000/
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' wasm/Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
  # Not --locked: the CLI's own lockfile pins a yanked crate.
  cargo install --quiet wasm-bindgen-cli --version "=$version"
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

cargo build --quiet --release --locked -p ctverify-wasm --target wasm32-unknown-unknown
wasm=target/wasm32-unknown-unknown/release/ctverify_wasm.wasm

out=target/page
rm -rf "$out" target/wasm-node
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out/pkg" "$wasm"
wasm-bindgen --target nodejs --no-typescript --out-dir target/wasm-node "$wasm"
cp -r wasm/www/. "$out/"
raw=$(stat -c %s "$out/pkg/ctverify_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/pkg/ctverify_wasm_bg.wasm" | wc -c)
echo "page: $out/index.html; ctverify_wasm_bg.wasm $((raw / 1024)) KiB ($((gz / 1024)) KiB gzipped)"
