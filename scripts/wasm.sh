#!/usr/bin/env bash
# Your char-GPT in the browser: build the `live` crate for WebAssembly into book/build/live/,
# with the model the book's "Your model, live" page loads.
#   scripts/wasm.sh          the rustup target and wasm-bindgen-cli (into .tools/) when missing,
#                            the build, the JavaScript bindings, and the models
# In a learner's copy (no solutions/) it is your weeks/week3 code, and your saved models when
# `just grade week3 baby_gpt --long` (and `sft --long`) have made them; otherwise the
# instructor's models in book/live/. In the instructors' checkout it is the reference code.
#   scripts/wasm.sh --soft   (what `just book` runs) the book still builds when the page cannot:
#                            without the rustup target or wasm-bindgen-cli (offline), or, in a
#                            learner's copy, while week 3's code does not compile; the page
#                            then says why (book/build/live/models.json's "unavailable")
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/book/build/live"
BINDGEN="$ROOT/.tools/bin/wasm-bindgen"
SOFT=0
[ "${1:-}" = "--soft" ] && SOFT=1

# Why the page cannot be built: an error, or with --soft a note the page shows.
unavailable() {
  if [ $SOFT -eq 1 ]; then
    rm -rf "$OUT"
    mkdir -p "$OUT"
    # A JSON string: the reason's backslashes and quotes escaped.
    printf '{"unavailable": "%s", "models": []}\n' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')" > "$OUT/models.json"
    echo "wasm: SKIPPED, the live page will say why: $1"
    exit 0
  fi
  echo "wasm: $1" >&2
  exit 1
}

# The CLI must be the version of the wasm-bindgen crate in Cargo.lock.
VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "wasm: adding the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown ||
    unavailable "the Rust target wasm32-unknown-unknown is not installed and rustup could not add it: run \`rustup target add wasm32-unknown-unknown\` (online), then \`just book\`"
fi
# Whether the program $1 is wasm-bindgen at $VERSION.
bindgen_fits() { [ -x "$1" ] && [ "$("$1" --version | cut -d' ' -f2)" = "$VERSION" ]; }
# The matching version already on PATH (installed by hand, or by another checkout) will do.
if ! bindgen_fits "$BINDGEN" && command -v wasm-bindgen >/dev/null 2>&1 && bindgen_fits "$(command -v wasm-bindgen)"; then
  mkdir -p "$(dirname "$BINDGEN")"
  ln -sf "$(command -v wasm-bindgen)" "$BINDGEN"
fi
if ! bindgen_fits "$BINDGEN"; then
  echo "wasm: installing wasm-bindgen-cli $VERSION into .tools/ (cargo install, a few minutes once)"
  # Only the bindings generator: the test runner's downloads (and their TLS stack) are not
  # needed. Not --locked: its lockfile names a webpki-roots the registry mirrors may not carry.
  cargo install wasm-bindgen-cli --version "$VERSION" --no-default-features --bin wasm-bindgen --root "$ROOT/.tools" ||
    unavailable "wasm-bindgen-cli $VERSION could not be installed (cargo install, online): run \`just wasm\` to see why"
fi

features=()
[ -d solutions ] && features=(--features reference)
# getrandom's browser backend (rand's entropy source; the model's draws are seeded), and
# WebAssembly's 128-bit SIMD for the whole build (gemm's kernels use it; every current browser
# has it).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+simd128'
if ! log=$(cargo build -q -p live --lib "${features[@]}" --target wasm32-unknown-unknown --release 2>&1); then
  echo "$log" >&2
  # A learner's week 3 that does not compile yet keeps the page from building, not the book.
  [ -d solutions ] && SOFT=0
  unavailable "your week-3 code (weeks/week3/src/chargpt.rs and what it uses) does not compile for the browser yet: \`just wasm\` shows the compiler's errors"
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
rm -rf "$OUT"
mkdir -p "$OUT"
"$BINDGEN" --target web --no-typescript --out-dir "$OUT" "$TARGET_DIR/wasm32-unknown-unknown/release/live.wasm"

# The models: yours when week 3 has saved them in a learner's copy, else the instructor's.
models='{"models": ['
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
    [ "$models" = '{"models": [' ] || models="$models,"
    models="$models{\"id\":\"$id\",\"file\":\"$file\",\"whose\":\"$whose\"}"
    echo "wasm: the $id model is $( [ $whose = yours ] && echo yours || echo "the instructor's") ($file.safetensors)"
  fi
done
echo "$models]}" > "$OUT/models.json"
echo "wasm: built into book/build/live ($(du -sh "$OUT" | cut -f1))"
