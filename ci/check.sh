#!/usr/bin/env bash
# fmt, clippy (warnings are errors), then the README's test command. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace   (the README's test command)"
cargo test --workspace

step "the cluster suite on containers (HARNESS_BACKEND=container; processes ran above)"
HARNESS_BACKEND=container cargo test --workspace --test cluster

step "no OpenBao server left behind"
if pgrep -f 'openbao-.*/bao server|bao server -dev' >/dev/null; then
  pgrep -fa 'bao server' || true
  echo "a bao server outlived the tests" >&2
  exit 1
fi
echo ok
