#!/usr/bin/env bash
# Builds the demo's two images locally; nothing is pulled (no registry is needed or reachable).
#   op-connect-harness/openbao:local       the static OpenBao 2.7.2 server + the op-connect engine,
#                                          linked statically as it ships (no libc in the image)
#   op-connect-harness/mock-connect:local  mock-connect serving its demo data set
# The images are assembled in ONE place, the harness (`harness images`, harness/src/launch/
# images.rs), which the container test suites use too: each image is tagged by a hash of what
# goes in, an unchanged build is reused, and `:local` is an extra tag on it for compose.yaml, so
# rebuilding never leaves untagged images behind. PROFILE=dev uses debug binaries (faster).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
flag=(--release)
if [ "${PROFILE:-release}" = dev ]; then flag=(); fi
exec cargo run -q -p harness -- images "${flag[@]}" --tag-local
