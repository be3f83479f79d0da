#!/usr/bin/env bash
# Your char-GPT in the browser: build the `live` crate for WebAssembly into book/build/live/,
# with the model the book's "Your model, live" page loads.
#   scripts/wasm.sh          the rustup target and wasm-bindgen-cli (into .tools/) when missing,
#                            the build, the JavaScript bindings, and the models
# In a learner's copy (no solutions/) it is your weeks/week3 code, and your saved models when
# `just grade week3 baby_gpt --long` (and `sft --long`) have made them; otherwise the
# instructor's models in book/live/. In the instructors' checkout it is the reference code.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/book/build/live"
BINDGEN="$ROOT/.tools/bin/wasm-bindgen"
# The CLI must be the version of the wasm-bindgen crate in Cargo.lock.
VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "wasm: adding the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if [ ! -x "$BINDGEN" ] || [ "$("$BINDGEN" --version | cut -d' ' -f2)" != "$VERSION" ]; then
  echo "wasm: installing wasm-bindgen-cli $VERSION into .tools/ (cargo install, a few minutes once)"
  # Only the bindings generator: the test runner's downloads (and their TLS stack) are not
  # needed. Not --locked: its lockfile names a webpki-roots the registry mirrors may not carry.
  cargo install wasm-bindgen-cli --version "$VERSION" --no-default-features --bin wasm-bindgen --root "$ROOT/.tools"
fi

features=()
[ -d solutions ] && features=(--features reference)
# getrandom's browser backend (rand's entropy source; the model's draws are seeded).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='--cfg getrandom_backend="wasm_js"'
cargo build -q -p live --lib "${features[@]}" --target wasm32-unknown-unknown --release
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
rm -rf "$OUT"
mkdir -p "$OUT"
"$BINDGEN" --target web --no-typescript --out-dir "$OUT" "$TARGET_DIR/wasm32-unknown-unknown/release/live.wasm"

# The models: yours when week 3 has saved them in a learner's copy, else the instructor's.
models="["
for m in chargpt:base sft:sft; do
  file=${m%%:*}
  id=${m##*:}
  whose=""
  if [ ! -d solutions ] && [ -f "target/candlecamp/week3/$file.safetensors" ] && [ -f "target/candlecamp/week3/$file.json" ]; then
    cp "target/candlecamp/week3/$file.safetensors" "target/candlecamp/week3/$file.json" "$OUT/"
    whose=yours
  elif [ -f "book/live/$file.safetensors" ]; then
    cp "book/live/$file.safetensors" "book/live/$file.json" "$OUT/"
    whose=instructor
  fi
  if [ -n "$whose" ]; then
    [ "$models" = "[" ] || models="$models,"
    models="$models{\"id\":\"$id\",\"file\":\"$file\",\"whose\":\"$whose\"}"
    echo "wasm: the $id model is $( [ $whose = yours ] && echo yours || echo "the instructor's") ($file.safetensors)"
  fi
done
echo "$models]" > "$OUT/models.json"
echo "wasm: built into book/build/live ($(du -sh "$OUT" | cut -f1))"
