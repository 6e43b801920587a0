#!/usr/bin/env bash
# fmt, clippy (warnings are errors), the README's test command on processes, the criterion
# benches in quick mode, the engine suites again on containers, then checks that nothing of this
# run is left behind. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Everything the container backend creates carries this run id (label op-connect-harness.run).
export HARNESS_RUN_ID="${HARNESS_RUN_ID:-ci-$$-$(date +%s)}"

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace   (the README's test command; engine suites on processes)"
cargo test --workspace

# The criterion benches in quick mode, built like the tests (dev profile, plugins included): this
# proves they still run; their figures come from `harness criterion` (release) and are not kept.
step "HARNESS_BENCH_PROFILE=dev cargo bench --workspace --profile dev --bench '*' -- --quick"
started=$(date +%s)
HARNESS_BENCH_PROFILE=dev cargo bench --workspace --profile dev --bench '*' -- --quick
echo "criterion benches (quick): $(( $(date +%s) - started ))s"

# Only the suites that depend on the backend run twice. `--workspace` (not `-p harness`) keeps
# the workspace's feature resolution, so the test binaries built above are reused as they are.
container_suites=()
for suite in harness/tests/engine_*.rs harness/tests/cluster.rs; do
  container_suites+=(--test "$(basename "$suite" .rs)")
done
step "HARNESS_BACKEND=container cargo test --workspace ${container_suites[*]}"
started=$(date +%s)
HARNESS_BACKEND=container cargo test --workspace "${container_suites[@]}"
echo "engine and cluster suites on containers: $(( $(date +%s) - started ))s"

step "no OpenBao server left behind"
if pgrep -f 'openbao-.*/bao server|bao server -dev' >/dev/null; then
  pgrep -fa 'bao server' || true
  echo "a bao server outlived the tests" >&2
  exit 1
fi
echo ok

step "no container, network or untagged image of this run left behind"
# The watchdog of a test process removes its containers right after the process exits.
for _ in $(seq 1 50); do
  leftovers="$(docker ps -aq --filter "label=op-connect-harness.run=$HARNESS_RUN_ID")"
  leftovers+="$(docker network ls -q --filter "label=op-connect-harness.run=$HARNESS_RUN_ID")"
  [ -z "$leftovers" ] && break
  sleep 0.2
done
leftovers+="$(docker images -q --filter dangling=true --filter label=op-connect-harness.image)"
if [ -n "$leftovers" ]; then
  docker ps -a --filter "label=op-connect-harness.run=$HARNESS_RUN_ID"
  docker network ls --filter "label=op-connect-harness.run=$HARNESS_RUN_ID"
  docker images --filter dangling=true --filter label=op-connect-harness.image
  echo "the run left Docker objects behind" >&2
  exit 1
fi
echo ok
