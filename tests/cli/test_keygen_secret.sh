#!/usr/bin/env bash
# test_keygen_secret.sh — `tkms keygen --secret-file F`: an existing secret
# key (32 bytes of big-endian hex, 0x optional, one line) imported into a
# keystore:
#   - the Ethereum interop keys 0 and 1 give their known public keys, the
#     same as `tkms pubkey` (from the stored pubkey and from the decrypted
#     secret), and the keystore signs under that key;
#   - 0x or not, upper case, CRLF, no line end: the same key;
#   - zero, r, above r, bad hex, wrong length, empty, two lines, a missing
#     file, --ikm with it: one-line errors that never show the file's text,
#     and nothing written.
#
# Run: TKMS=build/tkms bash tests/cli/test_keygen_secret.sh
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# Interop keys (SHA-256 of i as 32-byte little-endian, read little-endian,
# mod r) and their public keys, as every Ethereum client has them.
SK0=0x25295f0d1d592a90b333e26e85149708208e9f8e8bc18f6c77bd62f8ad7a6866
PK0=0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c
SK1=0x51d0b65185db6989ab0b560d6deed19c7ead0e24b9b6372cbecb1f26bdfad000
PK1=0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b
R=73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001

# The interop secret keys, recomputed here from their definition.
for i in 0 1; do
    want=$([ "$i" = 0 ] && echo "$SK0" || echo "$SK1")
    got=$(node -e '
        const i = Number(process.argv[1]), le = Buffer.alloc(32); le.writeUInt32LE(i, 0);
        const h = require("crypto").createHash("sha256").update(le).digest();
        const r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
        console.log("0x" + (BigInt("0x" + Buffer.from(h).reverse().toString("hex")) % r).toString(16).padStart(64, "0"));' "$i")
    assert_eq "interop secret key $i from its definition" "$want" "$got"
done

run "$TKMS" keygen --help
assert_contains "help names --secret-file" "--secret-file F" "$OUT"
assert_contains "help: never on the command line" "ps does not show" "$OUT"

# secret FILE CONTENT — writes CONTENT (printf %b) to FILE, mode 0600.
secret() { (umask 077 && printf '%b' "$2" >"$1"); }

secret sk0 "$SK0\n"
run "$TKMS" keygen --secret-file sk0 --out k0.json "${FAST[@]}"
assert_eq "interop key 0: exit" 0 "$RC"
assert_eq "interop key 0: the known public key" "$PK0" "$OUT"
assert_eq "interop key 0: keystore mode" 600 "$(stat -c %a k0.json)"
run "$TKMS" pubkey --keystore k0.json
assert_eq "interop key 0: tkms pubkey (decrypted)" "$PK0" "$OUT"
run env -u TKMS_PASSWORD "$TKMS" pubkey --keystore k0.json
assert_eq "interop key 0: tkms pubkey (stored)" "$PK0" "$OUT"
assert_eq "an imported key has no derivation path" '""' "$(json_get k0.json 'JSON.stringify(d.path)')"
MSG=0x$(printf 'interop' | sha256sum | cut -c1-64)
run "$TKMS" sign --keystore k0.json --message "$MSG"
SIG=$OUT
run "$TKMS" verify --pubkey "$PK0" --message "$MSG" --signature "$SIG"
assert_eq "interop key 0 signs under its public key" 0 "$RC"

secret sk1 "${SK1#0x}"
run "$TKMS" keygen --secret-file sk1 --out k1.json "${FAST[@]}"
assert_eq "interop key 1 (no 0x, no newline)" "$PK1" "$OUT"
run "$TKMS" pubkey --keystore k1.json
assert_eq "interop key 1: tkms pubkey" "$PK1" "$OUT"

UPPER=$(tr 'a-f' 'A-F' <<<"${SK0#0x}")
secret upper "0X$UPPER\r\n"
run "$TKMS" keygen --secret-file upper --out k-upper.json "${FAST[@]}"
assert_eq "upper case, 0X, CRLF: the same key" "$PK0" "$OUT"
secret blanks "$SK0  \n"
run "$TKMS" keygen --secret-file blanks --out k-blanks.json "${FAST[@]}"
assert_eq "trailing blanks: the same key" "$PK0" "$OUT"

# bad NAME KEYWORD CONTENT — keygen refuses the file with one line naming
# KEYWORD, writes no keystore, and does not echo the file's hex.
n=0
bad() {
    n=$((n + 1))
    secret "bad$n" "$3"
    expect_error "$1" 1 keygen "$2" "$TKMS" keygen --secret-file "bad$n" --out "out$n.json" "${FAST[@]}"
    check "$1: no keystore written" test ! -e "out$n.json"
    local hex
    hex=$(printf '%b' "$3" | tr -d '\r\n' | sed 's/^0[xX]//')
    if [ ${#hex} -ge 8 ] && grep -qiF -- "${hex:8:16}" <<<"$ERR"; then
        fail "$1: the error shows the secret file's text: $ERR"
    else
        pass
    fi
}
bad "zero" "is zero" "$(hex_repeat 00 32)\n"
bad "zero with 0x" "is zero" "0x$(hex_repeat 00 32)"
bad "r itself" "not below the group order r" "$R\n"
bad "above r" "not below the group order r" "$(hex_repeat ff 32)\n"
bad "bad hex" "not a hex string" "0x${SK0:2:62}zz\n"
bad "too short" "holds 31 bytes, expected 32" "${SK0:0:64}\n"
bad "too long" "holds 33 bytes, expected 32" "${SK0}00\n"
bad "odd digits" "odd number of digits" "${SK0:0:65}\n"
bad "empty" "is empty" ""
bad "only a newline" "is empty" "\n"
bad "two lines" "one line" "$SK0\n$SK0\n"
bad "an inner blank" "one line" "${SK0:0:34} ${SK0:34}\n"
bad "a leading blank" "one line" " $SK0\n"
bad "too large" "too large" "$(hex_repeat 30 300)\n"

expect_error "missing file" 1 keygen "cannot read --secret-file" \
    "$TKMS" keygen --secret-file nowhere --out none.json "${FAST[@]}"
expect_error "--ikm and --secret-file" 2 keygen "not both" \
    "$TKMS" keygen --secret-file sk0 --ikm "0x$(hex_repeat 11 32)" --out none.json "${FAST[@]}"
expect_error "--secret-file without --out" 2 keygen "--out" "$TKMS" keygen --secret-file sk0
BEFORE=$(sha k0.json)
expect_error "an existing keystore is not overwritten" 1 keygen "already exists" \
    "$TKMS" keygen --secret-file sk1 --out k0.json "${FAST[@]}"
assert_eq "k0.json untouched" "$BEFORE" "$(sha k0.json)"
check "nothing written for the usage errors" test ! -e none.json
finish
