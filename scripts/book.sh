#!/usr/bin/env bash
# The book: install mdBook, make its pictures, build it, test it in a browser.
#   scripts/book.sh install          mdBook $MDBOOK_VERSION into .tools/bin (cargo install, once)
#   scripts/book.sh assets [--reuse] reference grade of every week, PNGs → book/src/images/<week>/
#                                    (--reuse: copy what the last reference grade wrote instead);
#                                    the pictures are committed, so a learner's copy has them
#   scripts/book.sh build [--reuse]  install + assets + mdbook build → book/build; in a learner's
#                                    copy (no solutions/) the pictures of the learner's own grades
#                                    are shown beside the reference's
#                                    and "Your model, live" (scripts/wasm.sh) into book/build/live
#   scripts/book.sh test             the browser test (headless Chromium) on book/build
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
MDBOOK_VERSION=0.5.4
MDBOOK="$ROOT/.tools/bin/mdbook"

install() {
  if [ -x "$MDBOOK" ] && [ "$("$MDBOOK" --version)" = "mdbook v$MDBOOK_VERSION" ]; then
    return 0
  fi
  # The pinned version already on PATH (installed by hand, or by another checkout) will do.
  if command -v mdbook >/dev/null 2>&1 && [ "$(mdbook --version)" = "mdbook v$MDBOOK_VERSION" ]; then
    mkdir -p "$(dirname "$MDBOOK")"
    ln -sf "$(command -v mdbook)" "$MDBOOK"
    return 0
  fi
  echo "book: installing mdBook $MDBOOK_VERSION into .tools/ (cargo install, a few minutes once)"
  # Only the search feature: the book is served by the test, so mdBook's own server and
  # file watcher (tokio, axum, notify) are not built.
  cargo install mdbook --locked --version "$MDBOOK_VERSION" --no-default-features --features search --root "$ROOT/.tools"
}

weeks() { for d in weeks/*/; do basename "$d"; done; }

assets() {
  if [ ! -d solutions ]; then
    # A learner's copy: the reference's pictures are committed in book/src/images; yours are
    # paired with them when the book is built.
    return 0
  fi
  local reuse=0
  [ "${1:-}" = "--reuse" ] && reuse=1
  for w in $(weeks); do
    if [ $reuse -eq 0 ]; then
      # The pictures are what the reference solutions draw; a failing reference is an error.
      # Time limits are tripled: speed is tested by `just test`, here only the pictures count,
      # and a busy machine should not stop the book.
      cargo run -q -p grader --features reference -- grade "$w" --timeout-scale 3 --expect passed | tail -1
    fi
    rm -rf "book/src/images/$w"
    mkdir -p "book/src/images/$w"
    if compgen -G "target/candlecamp/$w/*.png" >/dev/null; then
      cp target/candlecamp/"$w"/*.png "book/src/images/$w/"
      # The dashboards (week 3): self-contained pages, linked from the book.
      cp target/candlecamp/"$w"/*.html "book/src/images/$w/" 2>/dev/null || true
    fi
    echo "book: $(find "book/src/images/$w" -name '*.png' | wc -l) picture(s) for $w"
  done
  # The bug hunt's pictures: what `grader bughunt --verify` drew for each planted bug.
  if compgen -G "target/candlecamp/bughunt/verify/*.svg" >/dev/null; then
    rm -rf book/src/images/bughunt
    mkdir -p book/src/images/bughunt
    cp target/candlecamp/bughunt/verify/*.svg book/src/images/bughunt/
    echo "book: $(find book/src/images/bughunt -name '*.svg' | wc -l) picture(s) of the bug hunt"
  fi
}

build() {
  install
  assets "$@"
  if [ -d solutions ]; then
    "$MDBOOK" build book
  else
    cargo run -q -p grader -- __book-stage "$ROOT/target/book-stage"
    "$MDBOOK" build "$ROOT/target/book-stage" --dest-dir "$ROOT/book/build"
  fi
  # "Your model, live": the char-GPT compiled to WebAssembly, with its model, in book/build/live
  # (after mdBook, which empties book/build).
  bash scripts/wasm.sh --soft
  echo "book: built into book/build (open book/build/index.html; for the page \"Your model, live\", \`just serve\` and http://127.0.0.1:8080/book/week3/live.html)"
}

browser_test() {
  local chromium="${CHROMIUM:-$(command -v chromium || true)}"
  if [ -z "$chromium" ]; then
    echo "book: no chromium on PATH (Debian: apt-get install -y chromium)"
    return 1
  fi
  if [ ! -f book/build/index.html ]; then
    echo "book: book/build is empty; run scripts/book.sh build first"
    return 1
  fi
  if [ ! -d book/test/node_modules/playwright-core ]; then
    if [ -n "${CANDLECAMP_NODE_MODULES:-}" ] && [ -d "$CANDLECAMP_NODE_MODULES/playwright-core" ]; then
      ln -s "$CANDLECAMP_NODE_MODULES" book/test/node_modules
    else
      (cd book/test && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
  # The live page's native side: the same weights' greedy output, logits and speed.
  local features=()
  [ -d solutions ] && features=(--features reference)
  mkdir -p target/candlecamp/live
  rm -f target/candlecamp/live/native.json
  if [ -f book/build/live/chargpt.safetensors ]; then
    cargo run -q -p live "${features[@]}" -- greedy --model book/build/live/chargpt.safetensors --prompt $'ROMEO:\n' --n 200 --out target/candlecamp/live/native.json
  fi
  CHROMIUM="$chromium" node book/test/browser-test.mjs
}

case "${1:-}" in
  install) install ;;
  assets) shift; assets "$@" ;;
  build) shift; build "$@" ;;
  test) browser_test ;;
  *) echo "usage: scripts/book.sh install | assets [--reuse] | build [--reuse] | test"; exit 2 ;;
esac
