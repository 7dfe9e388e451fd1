#!/usr/bin/env bash
# install.sh — installs the Lodestar 1.5.1 validator-client packages pinned
# by package.json / package-lock.json in this folder (261 packages, ~70 MB,
# no native build) into a cache directory, and prints that directory.
#
#   bash tests/interop/lodestar/install.sh [DIR]
#
# DIR defaults to $TKMS_BUILD_DIR/lodestar-probe (CTest sets TKMS_BUILD_DIR),
# else $TKMS_SOURCE_DIR/build/lodestar-probe. The install is `npm ci
# --ignore-scripts` (@chainsafe/bls then uses its WASM backend). It runs
# under a lock (tests may run at once with ctest -j) and only when the
# stamp file DIR/.tkms-lock-sha256 does not hold the hash of this folder's
# package.json and package-lock.json: a second run costs nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_dir=${TKMS_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
dest=${1:-${TKMS_BUILD_DIR:-$src_dir/build}/lodestar-probe}

command -v npm >/dev/null || { echo "npm is required (scripts/install-deps installs node)" >&2; exit 1; }
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
stamp=$dest/.tkms-lock-sha256

exec 9>"$dest.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   [ -f "$dest/node_modules/@lodestar/validator/package.json" ]; then
    echo "$dest"
    exit 0
fi

echo "installing the pinned Lodestar 1.5.1 client packages (npm ci, ~70 MB) in $dest" >&2
rm -f "$stamp"
rm -f "$dest/package.json" "$dest/package-lock.json"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
chmod u+w "$dest/package.json" "$dest/package-lock.json"
if ! (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    echo "npm ci failed in $dest: the Lodestar interop test needs @lodestar/validator@1.5.1" >&2
    exit 1
fi
version=$(node -p 'require(process.argv[1]).version' "$dest/node_modules/@lodestar/validator/package.json")
if [ "$version" != 1.5.1 ]; then
    echo "npm ci installed @lodestar/validator $version, expected 1.5.1" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "$dest"
