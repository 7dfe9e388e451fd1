#!/usr/bin/env bash
# install-packages.sh — installs the pinned interop packages (package.json,
# package-lock.json in this folder) with `npm ci` when any is missing.
# Interop tests run this first; they may run at the same time (ctest -j),
# so the check and the install happen under one lock.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec 9>"${TMPDIR:-/tmp}/tkms-interop-npm.lock"
flock 9
for pkg in @noble/curves @chainsafe/bls-keystore; do
  if [ ! -d "$here/node_modules/$pkg" ]; then
    echo "installing the pinned interop packages (npm ci) in $here" >&2
    (cd "$here" && npm ci --silent --no-audit --no-fund) ||
      { echo "npm ci failed: the interop tests need $pkg" >&2; exit 1; }
    break
  fi
done
