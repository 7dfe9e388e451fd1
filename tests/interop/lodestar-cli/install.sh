#!/usr/bin/env bash
# install.sh — installs the full Lodestar 1.5.1 command line (the `lodestar`
# binary: beacon node + validator client, for `lodestar dev`) pinned by
# package.json / package-lock.json in this folder (772 packages, ~230 MB)
# into a cache directory, builds its native addons, and prints that
# directory; the binary is DIR/node_modules/.bin/lodestar.
#
#   bash tests/interop/lodestar-cli/install.sh [DIR]
#
# DIR defaults to $TKMS_BUILD_DIR/lodestar-cli (CTest sets TKMS_BUILD_DIR),
# else $TKMS_SOURCE_DIR/build/lodestar-cli. The install is `npm ci
# --ignore-scripts` (no package's install script runs), then `npm rebuild`
# of the packages with native addons, which compiles them with node-gyp
# (gcc, g++, make and python3: scripts/install-deps installs them; their
# scripts first try to download prebuilt binaries, which may fail offline,
# then compile). `overrides` in package.json pin every @lodestar/* package
# to 1.5.1 and nan to 2.22.0 (see ../shared/lodestar/README.md).
# It runs under a lock (tests may run at once with ctest -j) and only when
# the stamp file DIR/.tkms-lock-sha256 does not hold the hash of this
# folder's package.json and package-lock.json: a second run costs nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_dir=${TKMS_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
dest=${1:-${TKMS_BUILD_DIR:-$src_dir/build}/lodestar-cli}
NATIVE=(@chainsafe/blst snappy classic-level gc-stats keccak secp256k1 bcrypto c-kzg bigint-buffer)

command -v npm >/dev/null || { echo "npm is required (scripts/install-deps installs node)" >&2; exit 1; }
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
stamp=$dest/.tkms-lock-sha256

# version: what `lodestar --version` says (v1.5.1/<commit>), "" when it fails.
version() {
    (cd "$dest" && LODESTAR_PRESET=minimal ./node_modules/.bin/lodestar --version 2>/dev/null) |
        grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+[^ ]*' | head -n 1 || true
}

exec 9>"$dest.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   [ -x "$dest/node_modules/.bin/lodestar" ]; then
    echo "$dest"
    exit 0
fi

started=$SECONDS
echo "installing the pinned Lodestar 1.5.1 CLI (npm ci, ~230 MB, then a native rebuild) in $dest" >&2
rm -f "$stamp"
rm -f "$dest/package.json" "$dest/package-lock.json"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
chmod u+w "$dest/package.json" "$dest/package-lock.json"
if ! (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    echo "npm ci failed in $dest: the Lodestar devnet test needs @chainsafe/lodestar@1.5.1" >&2
    exit 1
fi
if ! (cd "$dest" && npm rebuild "${NATIVE[@]}" --no-audit --no-fund --loglevel=error >&2); then
    echo "npm rebuild of the native addons failed in $dest (needs gcc, g++, make, python3:" \
         "scripts/install-deps)" >&2
    exit 1
fi
got=$(version)
case "$got" in
    v1.5.1*) ;;
    *)
        echo "lodestar --version in $dest says '${got:-nothing (it does not start)}', expected v1.5.1" >&2
        exit 1
        ;;
esac
echo "$want" >"$stamp"
echo "Lodestar $got installed in $((SECONDS - started)) s" >&2
echo "$dest"
