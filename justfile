# candlecamp's recipes. `just` lists them. Install just itself with ./setup.sh.
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes
default:
    @just --list

# Install what grading needs beyond Rust: just itself, and PostgreSQL's server for week 3's job queue
setup:
    bash setup.sh

# Grade a week: `just grade week1`, `just grade week1 cumsum`, `just grade week1 --json`
grade week *args:
    cargo run -q -p grader -- grade {{week}} {{args}}

# Grade the hidden reference solutions instead of weeks/ (instructors)
grade-reference week *args:
    cargo run -q -p grader --features reference -- grade {{week}} {{args}}

# Grade on the GPU (needs nvcc and an NVIDIA GPU)
grade-cuda week *args:
    cargo run -q -p grader --features cuda -- grade {{week}} --device cuda {{args}}

# Regrade on every save: `just watch week1` (Ctrl-C quits)
watch week:
    cargo run -q -p grader -- watch {{week}}

# Put one exercise's stub back after backing up your file: `just reset week1.arrays.cumsum [--file]`
reset id *args:
    cargo run -q -p grader -- reset {{id}} {{args}}

# Week 3's training dashboard in the browser: `just dashboard` (every run), `just dashboard RUN_DIR… --watch`
dashboard *args:
    cargo run -q -p grader -- dashboard --open {{args}}

# The bug hunt: one bug planted in a model you built, its symptoms drawn: `just bughunt week1`, then `--line N`, a fix, `--give-up` or `--status`
bughunt week *args:
    cargo run -q -p grader -- bughunt {{week}} {{args}}

# Your char-GPT in WebAssembly for the book's "Your model, live" page, into book/build/live (`just book` runs it too)
wasm:
    bash scripts/wasm.sh

# Your char-GPT behind a local HTTP server on 127.0.0.1: POST /generate, POST /chat, GET / (`just serve --port 9000`)
serve *args:
    cargo run -q -p live -- serve {{args}}

# List exercises with their last status
list *week:
    cargo run -q -p grader -- list {{week}}

# Print an exercise's hint and book page
hint id *args:
    cargo run -q -p grader -- hint {{id}} {{args}}

# The first exercise you have not passed yet: file:line, what it asks, the book (--open: $EDITOR)
next *args:
    cargo run -q -p grader -- next {{args}}

# Leave an exercise for later (`next` passes over it), or bring it back
skip id:
    cargo run -q -p grader -- skip {{id}}

unskip id:
    cargo run -q -p grader -- unskip {{id}}

# The reference solution of an exercise, once it has passed in this copy
solution id:
    cargo run -q -p grader -- solution {{id}}

# The whole test suite: unit + fault tests, reference passes, stubs not started, drift, fixtures, learner copy
test:
    bash scripts/test.sh

# Write each exercise's registered difficulty and minutes under its heading in the book (instructors)
book-pace:
    cargo run -q -p grader -- book-pace

# Regenerate weeks/ stubs from solutions/ (instructors)
stubs:
    cargo run -q -p grader -- stubs

# Rewrite checks/registry.json from every week's checks program (after adding or renaming an exercise)
registry:
    cargo run -q -p grader -- registry

# Mutation testing of the checks: `just mutants`, `just mutants week1`, `just mutants week2 --sample 50`
mutants *args:
    cargo run -q -p grader -- mutants {{args}}

# Make the fixtures with pinned PyTorch in fixtures/gen/.venv, rewrite fixtures/MANIFEST
fixtures *scripts: _venv
    cd fixtures/gen && .venv/bin/python run_all.py {{scripts}}

# Fill data/ with the datasets (copied from ../shared/data, or downloaded and checked when online)
data:
    cargo run -q -p grader -- data

# Time the reference code against PyTorch on this machine: `just bench`, `just bench conv2d`
bench *args: _venv
    # PyTorch allocates with glibc's malloc: huge pages, and every block kept on the heap and
    # never given back (about 13 % off GPT-2 small's backward pass, see book/src/speed.md).
    # The week programs allocate with mimalloc instead (grader/src/lib.rs).
    GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736:glibc.malloc.top_pad=268435456}" fixtures/gen/.venv/bin/python bench/run_torch.py {{args}}
    cargo run -q -p grader --features reference -- bench {{args}}

# The pinned PyTorch venv in fixtures/gen/.venv (made once, reused)
_venv:
    test -x fixtures/gen/.venv/bin/python || python3 -m venv fixtures/gen/.venv
    fixtures/gen/.venv/bin/pip install --quiet --disable-pip-version-check -r fixtures/gen/requirements.txt

# Write a learner's copy (no solutions/) to DIR
dist dir *args:
    cargo run -q -p grader -- dist {{dir}} {{args}}

# Build the book into book/build: installs mdBook (pinned) into .tools/, then book-assets
book *args:
    bash scripts/book.sh build {{args}}

# The book's pictures: reference grade of every week, PNGs copied into book/src/images/<week>/
book-assets *args:
    bash scripts/book.sh assets {{args}}

# The browser test: serve book/build on 127.0.0.1, check it in headless Chromium (after `just book`)
book-test:
    bash scripts/book.sh test
