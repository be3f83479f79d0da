#!/usr/bin/env bash
# Installs the command-line tools candlecamp's recipes use, when they are missing:
#   just — the command runner behind `just grade`, `just test`, …
#   PostgreSQL's server binaries (Debian's `postgresql` package) — week 3's job-queue checks
#   start a throwaway server of their own; without them those checks report "skipped".
# It takes the prebuilt binary from the `rust-just` package on PyPI when pip can fetch it, and
# otherwise builds it with `cargo install`. Both land in cargo's bin folder (already on PATH for
# anyone with Rust). Safe to run again: it does nothing when the tools are there.
set -euo pipefail
JUST_VERSION=1.59.0
BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
mkdir -p "$BIN"

if command -v just >/dev/null 2>&1; then
  echo "setup: just $(just --version | cut -d' ' -f2) is installed"
else
  echo "setup: installing just $JUST_VERSION into $BIN"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if command -v python3 >/dev/null 2>&1 &&
     python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" "rust-just==$JUST_VERSION" >/dev/null 2>&1 &&
     python3 - "$tmp" "$BIN/just" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith("/scripts/just"))
    with open(sys.argv[2], "wb") as out:
        out.write(z.read(member))
os.chmod(sys.argv[2], 0o755)
PY
  then
    echo "setup: just installed from the rust-just wheel"
  else
    cargo install just --locked --version "$JUST_VERSION"
  fi
fi
if { command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; } || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup: PostgreSQL's server binaries are installed"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing PostgreSQL (Debian's postgresql package) for week 3's job-queue checks"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # Only the binaries are needed: the checks run their own throwaway servers.
  command -v service >/dev/null 2>&1 && service postgresql stop >/dev/null 2>&1 || true
elif command -v apt-get >/dev/null 2>&1; then
  echo "setup: week 3's job-queue checks need PostgreSQL: sudo apt-get install postgresql (or run this script as root)"
else
  echo "setup: week 3's job-queue checks need PostgreSQL's server binaries (initdb, postgres, pg_ctl) on PATH or via pg_config"
fi
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) echo "setup: add $BIN to your PATH (e.g. in ~/.profile) to call just directly" ;;
esac
