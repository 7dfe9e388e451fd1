#!/usr/bin/env bash
# test_identity.sh — `tkms identity new|show`: identity files (an Ed25519
# seed encrypted like an EIP-2335 keystore) are written 0600 and never
# overwritten, show needs no password, --check proves the password and the
# file, and wrong passwords, tampered and foreign files are refused with
# one clear line.
#
# Run: TKMS=build/tkms bash tests/cli/test_identity.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
HEX32='^0x[0-9a-f]{64}$'
printf '%s\n' "$TKMS_PASSWORD" >pw.txt

# ---- new ------------------------------------------------------------------
run "$TKMS" identity new --out a.json "${FAST[@]}"
assert_eq "new: exit status" 0 "$RC"
assert_match "new: prints a 32-byte public key" "$HEX32" "$OUT"
assert_eq "new: nothing on stderr" "" "$ERR"
A=$OUT
assert_eq "new: file mode 0600" 600 "$(stat -c %a a.json)"
assert_eq "new: version 1" 1 "$(json_get a.json d.version)"
assert_eq "new: kind identity" identity "$(json_get a.json d.kind)"
assert_eq "new: public_key is the printed key" "$A" "$(json_get a.json d.public_key)"
assert_eq "new: scrypt by default" scrypt "$(json_get a.json d.crypto.kdf.function)"
assert_eq "new: --scrypt-n" 1024 "$(json_get a.json d.crypto.kdf.params.n)"
assert_eq "new: aes-128-ctr" aes-128-ctr "$(json_get a.json d.crypto.cipher.function)"
check "new: the seed is not stored in the clear" test "$(grep -c seed a.json || true)" = 0

run "$TKMS" identity new --out b.json "${FAST[@]}"
B=$OUT
assert_ne "new: two identities differ" "$A" "$B"

run env -u TKMS_PASSWORD "$TKMS" identity new --out c.json --kdf pbkdf2 --password-file pw.txt
assert_eq "new --kdf pbkdf2: exit status" 0 "$RC"
assert_eq "new --kdf pbkdf2: kdf" pbkdf2 "$(json_get c.json d.crypto.kdf.function)"
C=$OUT

SHA_A=$(sha a.json)
expect_error "new: never overwrites" 1 identity "already exists" \
    "$TKMS" identity new --out a.json "${FAST[@]}"
assert_eq "new: the existing file is untouched" "$SHA_A" "$(sha a.json)"
expect_error "new: needs a password" 2 identity "password" \
    env -u TKMS_PASSWORD "$TKMS" identity new --out d.json "${FAST[@]}"
check "new: nothing written without a password" test ! -e d.json
expect_error "new: --out required" 2 identity "--out" "$TKMS" identity new
expect_error "new: bad --scrypt-n" 2 identity "power of two" \
    "$TKMS" identity new --out d.json --scrypt-n 1000
expect_error "new: unknown flag" 2 identity "--bogus" "$TKMS" identity new --out d.json --bogus
expect_error "new: into a missing directory" 1 identity "nodir" \
    "$TKMS" identity new --out nodir/x.json "${FAST[@]}"

# ---- show -----------------------------------------------------------------
run env -u TKMS_PASSWORD "$TKMS" identity show --identity a.json
assert_eq "show without a password: exit status" 0 "$RC"
assert_eq "show without a password: the public key" "$A" "$OUT"
run "$TKMS" identity show --identity a.json --check
assert_eq "show --check: exit status" 0 "$RC"
assert_eq "show --check: the public key" "$A" "$OUT"
run env -u TKMS_PASSWORD "$TKMS" identity show --identity c.json --check --password-file pw.txt
assert_eq "show --check --password-file (pbkdf2)" "$C" "$OUT"

expect_error "show --check: wrong password" 1 identity "wrong password" \
    env TKMS_PASSWORD=wrong "$TKMS" identity show --identity a.json --check
expect_error "show --check: no password" 2 identity "password" \
    env -u TKMS_PASSWORD "$TKMS" identity show --identity a.json --check
expect_error "show: --password-file needs --check" 2 identity "--check" \
    "$TKMS" identity show --identity a.json --password-file pw.txt
expect_error "show: --identity required" 2 identity "--identity" "$TKMS" identity show
expect_error "show: missing file" 1 identity "missing.json" \
    "$TKMS" identity show --identity missing.json

# ---- tampered and foreign files ---------------------------------------------
json_edit a.json swapped.json "d.public_key = '$B'"
run env -u TKMS_PASSWORD "$TKMS" identity show --identity swapped.json
assert_eq "swapped public key: show (no password) trusts the file" "$B" "$OUT"
expect_error "swapped public key: --check catches it" 1 identity "does not give public_key" \
    "$TKMS" identity show --identity swapped.json --check

CT=$(json_get a.json d.crypto.cipher.message)
FLIPPED=$(printf '%x' $(( 16#${CT:0:1} ^ 1 )))${CT:1}
json_edit a.json cipher.json "d.crypto.cipher.message = '$FLIPPED'"
expect_error "altered ciphertext: refused by the checksum" 1 identity "checksum" \
    "$TKMS" identity show --identity cipher.json --check

json_edit a.json small.json "d.public_key = '0x$(hex_repeat 00 32)'"
expect_error "public key of small order" 1 identity "not a valid Ed25519 public key" \
    "$TKMS" identity show --identity small.json
json_edit a.json short.json "d.public_key = '0x$(hex_repeat 11 31)'"
expect_error "public key of 31 bytes" 1 identity "public_key" \
    "$TKMS" identity show --identity short.json
json_edit a.json kind.json "d.kind = 'keystore'"
expect_error "another kind" 1 identity "kind must be identity" \
    "$TKMS" identity show --identity kind.json
json_edit a.json version.json "d.version = 2"
expect_error "another version" 1 identity "version" \
    "$TKMS" identity show --identity version.json
json_edit a.json nokdf.json "delete d.crypto.kdf"
expect_error "no kdf" 1 identity "crypto.kdf" "$TKMS" identity show --identity nokdf.json
json_edit a.json hugen.json "d.crypto.kdf.params.n = 2 ** 30"
expect_error "scrypt n above the limit" 1 identity "crypto.kdf.params.n" \
    "$TKMS" identity show --identity hugen.json
printf 'not json' >junk.json
expect_error "not JSON" 1 identity "not valid JSON" "$TKMS" identity show --identity junk.json
"$TKMS" keygen --out key.json "${FAST[@]}" >/dev/null
expect_error "a BLS keystore is not an identity" 1 identity "identity file" \
    "$TKMS" identity show --identity key.json
head -c 20000 /dev/zero | tr '\0' ' ' >big.json
expect_error "over-large file" 1 identity "larger" "$TKMS" identity show --identity big.json

# ---- help and usage ----------------------------------------------------------
for sub in "" new show; do
    run "$TKMS" identity $sub --help
    assert_eq "identity $sub --help: exit status" 0 "$RC"
    assert_contains "identity $sub --help: usage" "usage: tkms identity new" "$OUT"
done
run "$TKMS" identity
assert_eq "identity without a subcommand: usage error" 2 "$RC"
expect_error "unknown subcommand" 2 identity "frobnicate" "$TKMS" identity frobnicate

finish
