#!/usr/bin/env bash
# Builds the two demo images locally; nothing is pulled (no registry is needed or reachable).
#   op-connect-demo/openbao:local       the static OpenBao 2.7.2 server + the op-connect engine
#   op-connect-demo/mock-connect:local  mock-connect serving its demo data set
# Images are made with `docker import` from a root file system assembled here: the binaries and
# the shared libraries they link (the engine and the mock are ordinary glibc binaries), so no
# base image and no builder are involved. PROFILE=dev builds debug binaries (faster); ENGINE_BIN,
# MOCK_BIN and BAO_BIN take binaries built elsewhere (the harness test passes its own).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
profile="${PROFILE:-release}"
cd "$root"

flag=(); dir=debug
if [ "$profile" = release ]; then flag=(--release); dir=release; fi
target="${CARGO_TARGET_DIR:-$root/target}"

if [ -z "${ENGINE_BIN:-}" ] || [ -z "${MOCK_BIN:-}" ]; then
  echo "==> cargo build (${profile}) of the engine and mock-connect"
  cargo build "${flag[@]}" -q -p vault-plugin-secrets-onepassword -p mock-connect
fi
engine="${ENGINE_BIN:-$target/$dir/vault-plugin-secrets-onepassword}"
mock="${MOCK_BIN:-$target/$dir/mock-connect}"

if [ -z "${BAO_BIN:-}" ]; then
  echo "==> provisioning OpenBao"
  bao="$(cargo run -q -p harness -- provision)"
else
  bao="$BAO_BIN"
fi

# Imports a root file system as TAG; the image TAG named before (if any) is removed unless a
# container still uses it, so rebuilding leaves no untagged images behind.
import_as() {
  local tag="$1" rootfs="$2"; shift 2
  local previous
  previous="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  tar --numeric-owner -C "$rootfs" -cf - . | docker import "$@" - "$tag" >/dev/null
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
}

# Copies a dynamically linked binary's libraries (and loader) into a root file system.
copy_libs() {
  local binary="$1" rootfs="$2"
  ldd "$binary" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "==> op-connect-demo/openbao:local"
rootfs="$work/openbao"
install -d -m 1777 "$rootfs/tmp"
install -d -m 0755 "$rootfs/bin" "$rootfs/plugins" "$rootfs/etc/openbao"
# Raft data of the cluster profile: named volumes copy this directory's owner on first use.
install -d -m 0700 -o 65532 -g 65532 "$rootfs/var/lib/openbao"
install -m 0755 "$bao" "$rootfs/bin/bao"
install -m 0755 "$engine" "$rootfs/plugins/op-connect"
copy_libs "$engine" "$rootfs"
sha="$(sha256sum "$rootfs/plugins/op-connect" | cut -d' ' -f1)"
version="v$(sed -n 's/^version = "\(.*\)"/\1/p' plugin/Cargo.toml | head -n1)"
for config in openbao:demo cluster:cluster cluster-init:cluster-init; do
  sed -e "s/@SHA256@/$sha/" -e "s/@VERSION@/$version/" "$here/${config%%:*}.hcl.in" \
    > "$rootfs/etc/openbao/${config##*:}.hcl"
done
import_as op-connect-demo/openbao:local "$rootfs" \
  --change 'ENTRYPOINT ["/bin/bao"]' \
  --change 'CMD ["server","-dev","-dev-no-store-token","-dev-root-token-id=root","-dev-listen-address=0.0.0.0:8200","-config=/etc/openbao/demo.hcl"]' \
  --change 'EXPOSE 8200' \
  --change 'USER 65532:65532' \
  --change 'LABEL org.opencontainers.image.title=op-connect-demo-openbao'

echo "==> op-connect-demo/mock-connect:local"
rootfs="$work/mock"
install -d -m 1777 "$rootfs/tmp"
install -m 0755 "$mock" "$rootfs/mock-connect"
copy_libs "$mock" "$rootfs"
import_as op-connect-demo/mock-connect:local "$rootfs" \
  --change 'ENTRYPOINT ["/mock-connect"]' \
  --change 'CMD ["--addr","0.0.0.0:8080","--demo","--token","demo-connect-token"]' \
  --change 'EXPOSE 8080' \
  --change 'USER 65532:65532' \
  --change 'LABEL org.opencontainers.image.title=op-connect-demo-mock-connect'
echo "built op-connect-demo/openbao:local (engine sha256 $sha, $version) and op-connect-demo/mock-connect:local"
