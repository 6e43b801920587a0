#!/usr/bin/env bash
# Builds the shipped engine: one fully static x86_64 Linux binary (no libc, loader or NSS module
# needed at run time, so it runs in a FROM scratch image and in any OpenBao or Vault image), with
# the `dist` profile (fat LTO, one codegen unit, stripped). Writes
#   dist/vault-plugin-secrets-onepassword   the binary (reports `--version`)
#   dist/SHA256SUMS                         its sha256, in `sha256sum` format
# Not part of CI's test run (a fat-LTO build takes minutes on two cores); the container suites
# build the same static linkage with the dev profile.
#
# How: the musl target is not installable here, so the binary is linked against glibc's static
# libraries (`-C target-feature=+crt-static`, which needs Debian's libc6-dev). `--target` keeps
# the flag off build scripts and proc macros and the artifacts under target/<triple>/, apart from
# the ordinary build. glibc's getaddrinfo cannot work in a static binary (it loads NSS modules at
# run time); the engine never calls it: Connect's host is resolved by hickory-dns inside reqwest.
# `-C relocation-model=static` links a non-PIE static executable instead of a static-pie one: the
# static-pie carried 0.54 MB of relative relocations (.rela.dyn) that its start-up code applied to
# every pointer table, dirtying those pages in every running plugin. The cost: the binary's own
# code and data load at a fixed address (no ASLR for the image; heap, stacks and mmaps still are
# randomised). harness/src/plugin.rs builds its static test binaries with the same flags.
set -euo pipefail
cd "$(dirname "$0")/.."

package=vault-plugin-secrets-onepassword
target=x86_64-unknown-linux-gnu
profile=dist
out="target/$target/$profile/$package"

# Paths of this checkout and of cargo's registry are remapped, so the binary (and its sha256)
# does not depend on where it was built or by whom.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static --remap-path-prefix=$PWD=. --remap-path-prefix=$cargo_home=/cargo"

started=$(date +%s)
cargo build --locked --profile "$profile" --target "$target" -p "$package" --bin "$package"
echo "built in $(( $(date +%s) - started ))s"

# Static, or fail: no program interpreter and no shared library needed.
if readelf --program-headers --wide "$out" | grep -q INTERP || readelf --dynamic "$out" | grep -q NEEDED; then
  readelf --dynamic "$out" | grep NEEDED || true
  echo "$out is not fully static" >&2
  exit 1
fi

mkdir -p dist
install -m 0755 "$out" "dist/$package"
(cd dist && sha256sum "$package" > SHA256SUMS)

file "dist/$package" 2>/dev/null || true
"dist/$package" --version
ls -l "dist/$package"
cat dist/SHA256SUMS
