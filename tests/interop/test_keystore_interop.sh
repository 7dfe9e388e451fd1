#!/usr/bin/env bash
# test_keystore_interop.sh — tkms keystores against an independent
# EIP-2335 implementation (@chainsafe/bls-keystore, with @noble/curves for
# public keys; see keystore_interop.mjs):
#   (a) keystores written by `tkms keygen` (scrypt and PBKDF2) decrypt there
#       to a secret whose public key is the one tkms reports;
#   (b) keystores written there (scrypt and PBKDF2) decrypt in tkms to the
#       key noble computes, and a wrong password is refused;
#   (c) share keystores written by `tkms split` decrypt there too (the
#       `tkms` object is ignored by other tools) and match their pubkey.
# The password has a tab, non-ASCII letters that NFKD folds, and an accent,
# so both sides' EIP-2335 password processing is exercised.
# Needs $TKMS (the CLI) and $TKMS_SOURCE_DIR, both set by CTest.
set -euo pipefail

: "${TKMS:?set TKMS to the tkms binary}"
: "${TKMS_SOURCE_DIR:?set TKMS_SOURCE_DIR to the source tree}"
here="$TKMS_SOURCE_DIR/tests/interop"
bash "$here/install-packages.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

node_side() { node "$here/keystore_interop.mjs" "$@"; }
# tkms without a password from the environment unless one is given
tkms() { env -u TKMS_PASSWORD "$TKMS" "$@"; }
same() { # same LABEL EXPECTED ACTUAL
  if [ "$2" = "$3" ] && [ -n "$2" ]; then
    echo "ok: $1"
  else
    echo "FAIL: $1: expected '$2', got '$3'"
    failures=$((failures + 1))
  fi
}

password=$'interop\t\xf0\x9d\x94\xad\xf0\x9d\x94\x9e\xf0\x9d\x94\xb0\xf0\x9d\x94\xb0 caf\xc3\xa9'
printf '%s' "$password" > "$work/password"
printf '%s' "not the password" > "$work/wrong-password"

# (a) tkms writes, the package reads
for kdf in scrypt pbkdf2; do
  ks="$work/tkms-$kdf.json"
  made=$(TKMS_PASSWORD="$password" "$TKMS" keygen --out "$ks" --kdf "$kdf")
  field=$(tkms pubkey --keystore "$ks")
  theirs=$(node_side decrypt "$ks" "$work/password")
  same "tkms keygen ($kdf): pubkey field is the printed key" "$made" "$field"
  same "tkms keygen ($kdf): @chainsafe/bls-keystore decrypts to that key" "$made" "$theirs"
done

# (b) the package writes, tkms reads
for kdf in scrypt pbkdf2; do
  ks="$work/chainsafe-$kdf.json"
  theirs=$(node_side create "$ks" "$work/password" "$kdf")
  field=$(tkms pubkey --keystore "$ks")
  decrypted=$(tkms pubkey --keystore "$ks" --password-file "$work/password")
  same "chainsafe keystore ($kdf): tkms reads its pubkey field" "$theirs" "$field"
  same "chainsafe keystore ($kdf): tkms decrypts to noble's key" "$theirs" "$decrypted"
  if tkms pubkey --keystore "$ks" --password-file "$work/wrong-password" >/dev/null 2>&1; then
    echo "FAIL: chainsafe keystore ($kdf): wrong password accepted"
    failures=$((failures + 1))
  else
    echo "ok: chainsafe keystore ($kdf): wrong password refused"
  fi
done

# (c) share keystores from tkms split
tkms split --keystore "$work/tkms-pbkdf2.json" --password-file "$work/password" \
  --threshold 2 --shares 3 --out-dir "$work/shares" --scrypt-n 16384 >/dev/null
for share in "$work"/shares/share-*.json; do
  name=$(basename "$share")
  same "tkms split $name: @chainsafe/bls-keystore decrypts to its pubkey" \
    "$(tkms pubkey --keystore "$share")" "$(node_side decrypt "$share" "$work/password")"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures interop check(s) failed"
  exit 1
fi
echo "all keystore interop checks passed"
