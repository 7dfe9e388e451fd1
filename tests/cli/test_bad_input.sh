#!/usr/bin/env bash
# test_bad_input.sh — every tkms command fed bad input: malformed hex, wrong
# lengths, points off the curve / outside the subgroup / at infinity, bad
# secrets, wrong passwords, corrupted keystores and group files, bad
# partials, impossible thresholds, missing files, unknown flags/commands.
#
# The contract checked for each case (expect_error in lib.sh): the right
# exit status (2 usage, 1 invalid input), nothing on stdout, exactly one
# stderr line "tkms CMD: …" naming the problem. And nothing half-written:
# failing keygen/split leave no file, no directory, no temporary, and
# never touch an existing file.
#
# Run: TKMS=build/tkms bash tests/cli/test_bad_input.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
MSG=0x0102030405
Z47=$(hex_repeat 00 47)
Z95=$(hex_repeat 00 95)
INF48=0xc0$Z47                  # the identity in G1 (compressed)
INF96=0xc0$Z95                  # the identity in G2
G1_OFF_CURVE=0x80${Z47:2}01     # x = 1: x^3 + 4 is not a square
G1_NOT_IN_GROUP=0x80$Z47        # (0, 2) is on E but not in G1
G2_OFF_CURVE=0x80${Z95:2}01     # x = 1 (in Fp2): not on E'
G2_NOT_IN_GROUP=0x80${Z95:2}02  # x = 2: on E' but not in G2
G1_X_TOO_BIG=0x9f$(hex_repeat ff 47)   # x >= p
G2_X_TOO_BIG=0x9f$(hex_repeat ff 95)

# State of the scratch dir (names, modes, contents), to show that failing
# commands leave nothing behind and change nothing.
snapshot() {
    find . -path ./.out -prune -o -path ./.err -prune -o -printf '%p %y %m\n' | sort
    find . -type f ! -name .out ! -name .err -exec sha256sum {} + | sort
}
SNAP_BEFORE=""
begin_unchanged() { SNAP_BEFORE=$(snapshot); }
end_unchanged() {  # NAME
    local after; after=$(snapshot)
    if [ "$after" = "$SNAP_BEFORE" ]; then pass; else
        fail "$1: files changed: $(diff <(echo "$SNAP_BEFORE") <(echo "$after") | head -5 | tr '\n' ' ')"
    fi
}

# Fixtures.
"$TKMS" keygen --out key.json "${FAST[@]}" >/dev/null
PK=$("$TKMS" pubkey --keystore key.json)
SIG=$("$TKMS" sign --keystore key.json --message "$MSG")
"$TKMS" keygen --out other.json "${FAST[@]}" >/dev/null
OTHER_PK=$("$TKMS" pubkey --keystore other.json)
"$TKMS" split --keystore key.json --threshold 3 --shares 5 --out-dir sh "${FAST[@]}" >/dev/null
G=sh/group.json
for i in 1 2 3 4 5; do
    "$TKMS" sign --keystore sh/share-$i.json --message "$MSG" --json >p$i.json
done
P1=$(json_get p1.json d.signature)
P2=$(json_get p2.json d.signature)
printf 'wrong password\n' >wrong-pw.txt
printf 'a\0b\n' >nul-pw.txt
printf '\xff\xfe\n' >bad-utf8-pw.txt

# Corrupted keystores.
head -c 200 key.json >bad-truncated.json
printf 'this is not json\n' >bad-notjson.json
: >bad-empty.json
printf '[1, 2, 3]\n' >bad-array.json
json_edit key.json bad-version-type.json 'd.version = "4"'
json_edit key.json bad-version.json 'd.version = 3'
json_edit key.json bad-crypto-type.json 'd.crypto = []'
json_edit key.json bad-n-type.json 'd.crypto.kdf.params.n = "1024"'
json_edit key.json bad-n-pow2.json 'd.crypto.kdf.params.n = 1000'
json_edit key.json bad-n-huge.json 'd.crypto.kdf.params.n = 1 << 30'
json_edit key.json bad-r-huge.json 'd.crypto.kdf.params.r = 1000000'
json_edit key.json bad-kdf.json 'd.crypto.kdf.function = "argon2id"'
json_edit key.json bad-cipher.json 'd.crypto.cipher.function = "aes-256-gcm"'
json_edit key.json bad-cipher-len.json 'd.crypto.cipher.message = "00"'
json_edit key.json bad-checksum-hex.json 'd.crypto.checksum.message = "zz".repeat(32)'
json_edit key.json bad-iv.json 'd.crypto.cipher.params.iv = "0011"'
json_edit key.json bad-no-cipher.json 'delete d.crypto.cipher'
json_edit key.json bad-ciphertext.json \
    'd.crypto.cipher.message = (d.crypto.cipher.message[0] === "0" ? "1" : "0") + d.crypto.cipher.message.slice(1)'

# Tampered pubkey: another valid key, the identity, a point off the curve.
json_edit key.json bad-pubkey-other.json "d.pubkey = '${OTHER_PK#0x}'"
json_edit key.json bad-pubkey-inf.json "d.pubkey = '${INF48#0x}'"
json_edit key.json bad-pubkey-curve.json "d.pubkey = '${G1_OFF_CURVE#0x}'"
json_edit key.json bad-pubkey-group.json "d.pubkey = '${G1_NOT_IN_GROUP#0x}'"
json_edit key.json bad-pubkey-short.json "d.pubkey = '${PK:2:90}'"

# Keystores holding a secret that is not a valid key (crafted with node:
# EIP-2335, PBKDF2, AES-128-CTR): zero, r, 2^256-1; and, as a control, 1
# and r-1 (public keys G and -G).
craft_keystore() {  # SECRET_HEX OUT [PUBKEY_HEX]
    node -e '
const c = require("crypto"), fs = require("fs");
const [secretHex, password, out, pubkey] = process.argv.slice(1);
const salt = c.randomBytes(32), iv = c.randomBytes(16);
const dk = c.pbkdf2Sync(Buffer.from(password.normalize("NFKD")), salt, 16, 32, "sha256");
const ciph = c.createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
const ct = Buffer.concat([ciph.update(Buffer.from(secretHex, "hex")), ciph.final()]);
const sum = c.createHash("sha256").update(Buffer.concat([dk.subarray(16, 32), ct])).digest("hex");
const ks = { crypto: {
    kdf: { function: "pbkdf2", params: { dklen: 32, c: 16, prf: "hmac-sha256", salt: salt.toString("hex") }, message: "" },
    checksum: { function: "sha256", params: {}, message: sum },
    cipher: { function: "aes-128-ctr", params: { iv: iv.toString("hex") }, message: ct.toString("hex") } },
  description: "crafted by test_bad_input.sh", path: "", uuid: c.randomUUID(), version: 4 };
if (pubkey) ks.pubkey = pubkey;
fs.writeFileSync(out, JSON.stringify(ks, null, 2) + "\n");' "$1" "$TKMS_PASSWORD" "$2" "${3:-}"
}
R_HEX=73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001
G1_GEN=0x97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb
craft_keystore "$(hex_repeat 00 31)01" crafted-one.json
craft_keystore 73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000 crafted-rm1.json
craft_keystore "$(hex_repeat 00 32)" crafted-zero.json
craft_keystore "$R_HEX" crafted-r.json
craft_keystore "$(hex_repeat ff 32)" crafted-ff.json
craft_keystore "$(hex_repeat 00 32)" crafted-zero-inf.json "${INF48#0x}"

# Tampered share keystores.
S1=sh/share-1.json
json_edit $S1 bad-share-index.json 'd.tkms.index = 2'
json_edit $S1 bad-share-index0.json 'd.tkms.index = 0'
json_edit $S1 bad-share-k.json 'd.tkms.threshold = 2'
json_edit $S1 bad-share-kn.json 'd.tkms.threshold = 6'
json_edit $S1 bad-share-gk.json 'd.tkms.group_public_key = "0x" + d.pubkey'
json_edit $S1 bad-share-comm.json 'd.tkms.commitments[1] = d.tkms.commitments[2]'
json_edit $S1 bad-share-type.json 'd.tkms = "share"'
json_edit $S1 bad-share-version.json 'd.tkms.version = 99'

# Bad partial files.
printf 'not json at all\n' >bad-partial.json
printf '{"index": "1", "signature": "%s"}\n' "$P1" >bad-partial-type.json
printf '{"index": 1, "signature": 7}\n' >bad-partial-sig.json
printf '{"index": 1}\n' >bad-partial-missing.json
head -c 40 p1.json >bad-partial-trunc.json

# Corrupted group files.
head -c 300 $G >bad-group-trunc.json
printf '{}\n' >bad-group-empty.json
json_edit $G bad-group-k-type.json 'd.threshold = "3"'
json_edit $G bad-group-k0.json 'd.threshold = 0'
json_edit $G bad-group-kn.json 'd.threshold = 6'
json_edit $G bad-group-n.json 'd.shares = 1025'
json_edit $G bad-group-share.json 'd.share_public_keys[1] = d.share_public_keys[0]'
json_edit $G bad-group-count.json 'd.share_public_keys.pop()'
json_edit $G bad-group-inf.json "d.group_public_key = '$INF48'"
json_edit $G bad-group-gk.json "d.group_public_key = '$OTHER_PK'"
json_edit $G bad-group-comm.json "d.commitments[2] = '$G1_NOT_IN_GROUP'"

ln -s dangling-target dangling.json
mkdir empty-out

begin_unchanged

# ---- commands and flags (usage: exit 2) -----------------------------------
run "$TKMS" frobnicate
assert_eq "unknown command: exit 2" 2 "$RC"
assert_eq "unknown command: one stderr line" 1 "$(err_lines)"
assert_match "unknown command: named" "^tkms: unknown command 'frobnicate'" "$ERR"
run "$TKMS"
assert_eq "no command: exit 2" 2 "$RC"
assert_eq "no command: nothing on stdout" "" "$OUT"
for cmd in keygen pubkey split sign combine verify bench; do
    expect_error "$cmd --bogus" 2 $cmd "--bogus" "$TKMS" $cmd --bogus
done
expect_error "keygen short option" 2 keygen "'-o'" "$TKMS" keygen -o x.json
expect_error "sign --keystore without value" 2 sign "--keystore" "$TKMS" sign --keystore
expect_error "keygen stray argument" 2 keygen "unexpected argument 'stray'" \
    "$TKMS" keygen --out x.json stray
expect_error "pubkey stray argument" 2 pubkey "unexpected argument" "$TKMS" pubkey --keystore key.json stray
expect_error "verify stray argument" 2 verify "unexpected argument" \
    "$TKMS" verify --pubkey "$PK" --message "$MSG" --signature "$SIG" stray
expect_error "keygen without --out" 2 keygen "--out" "$TKMS" keygen "${FAST[@]}"
expect_error "pubkey without --keystore" 2 pubkey "--keystore" "$TKMS" pubkey
expect_error "split without --out-dir" 2 split "--out-dir" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3
expect_error "sign without --message" 2 sign "--message" "$TKMS" sign --keystore key.json
expect_error "combine without --group" 2 combine "--group" "$TKMS" combine --message "$MSG" p1.json
expect_error "combine without --message" 2 combine "--message" "$TKMS" combine --group $G p1.json
expect_error "combine without partials" 2 combine "no partial" "$TKMS" combine --group $G --message "$MSG"
expect_error "verify without --signature" 2 verify "--signature" "$TKMS" verify --pubkey "$PK" --message "$MSG"
expect_error "verify 2 keys, 3 messages" 2 verify "one --message" \
    "$TKMS" verify --pubkey "$PK" --pubkey "$PK" --message 0x01 --message 0x02 --message 0x03 --signature "$SIG"
expect_error "keygen --kdf argon2" 2 keygen "--kdf" "$TKMS" keygen --out x.json --kdf argon2
expect_error "keygen --scrypt-n 1000" 2 keygen "power of two" "$TKMS" keygen --out x.json --scrypt-n 1000
expect_error "keygen --scrypt-n 0" 2 keygen "--scrypt-n" "$TKMS" keygen --out x.json --scrypt-n 0
expect_error "keygen --scrypt-n 2^21" 2 keygen "--scrypt-n" "$TKMS" keygen --out x.json --scrypt-n 2097152
expect_error "bench --seconds abc" 2 bench "--seconds" "$TKMS" bench --seconds abc

# ---- missing password / files ---------------------------------------------
expect_error "keygen without password" 2 keygen "password" env -u TKMS_PASSWORD "$TKMS" keygen --out x.json "${FAST[@]}"
expect_error "sign without password" 2 sign "password" env -u TKMS_PASSWORD "$TKMS" sign --keystore key.json --message "$MSG"
expect_error "split without password" 2 split "password" \
    env -u TKMS_PASSWORD "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir x "${FAST[@]}"
expect_error "missing password file" 1 sign "password file" \
    "$TKMS" sign --keystore key.json --message "$MSG" --password-file nope.txt
expect_error "password file with a NUL byte" 1 keygen "NUL" \
    "$TKMS" keygen --out x.json --password-file nul-pw.txt "${FAST[@]}"
expect_error "password not UTF-8" 1 keygen "UTF-8" \
    "$TKMS" keygen --out x.json --password-file bad-utf8-pw.txt "${FAST[@]}"
expect_error "missing keystore (sign)" 1 sign "nope.json" "$TKMS" sign --keystore nope.json --message "$MSG"
expect_error "missing keystore (pubkey)" 1 pubkey "nope.json" "$TKMS" pubkey --keystore nope.json
expect_error "missing keystore (split)" 1 split "nope.json" \
    "$TKMS" split --keystore nope.json --threshold 2 --shares 3 --out-dir x "${FAST[@]}"
expect_error "missing group file" 1 combine "nope.json" "$TKMS" combine --group nope.json --message "$MSG" p1.json
expect_error "missing partial file" 1 combine "nope.json" "$TKMS" combine --group $G --message "$MSG" p1.json nope.json p2.json

# ---- wrong password -------------------------------------------------------
expect_error "sign, wrong password" 1 sign "wrong password" \
    "$TKMS" sign --keystore key.json --message "$MSG" --password-file wrong-pw.txt
expect_error "pubkey, wrong password" 1 pubkey "wrong password" \
    env TKMS_PASSWORD=nope "$TKMS" pubkey --keystore key.json
expect_error "split, wrong password" 1 split "wrong password" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir x --password-file wrong-pw.txt "${FAST[@]}"
expect_error "share keystore, wrong password" 1 sign "wrong password" \
    env TKMS_PASSWORD=nope "$TKMS" sign --keystore sh/share-1.json --message "$MSG"

# ---- corrupted keystores --------------------------------------------------
for f in bad-truncated:JSON bad-notjson:JSON bad-empty:JSON bad-array:object \
         bad-version-type:version bad-version:version bad-crypto-type:crypto \
         bad-n-type:n bad-n-pow2:"power of two" bad-n-huge:limit bad-r-huge:crypto.kdf.params.r \
         bad-kdf:crypto.kdf.function bad-cipher:aes-128-ctr bad-cipher-len:crypto.cipher.message \
         bad-checksum-hex:crypto.checksum.message bad-iv:iv bad-no-cipher:cipher \
         bad-ciphertext:"wrong password"; do
    name=${f%%:*} keyword=${f#*:}
    expect_error "sign with $name.json" 1 sign "$keyword" "$TKMS" sign --keystore $name.json --message "$MSG"
done
expect_error "pubkey of a truncated keystore" 1 pubkey "JSON" "$TKMS" pubkey --keystore bad-truncated.json
expect_error "split of a truncated keystore" 1 split "JSON" \
    "$TKMS" split --keystore bad-truncated.json --threshold 2 --shares 3 --out-dir x "${FAST[@]}"

# Tampered pubkey: another valid key, the identity, off the curve, …
expect_error "sign, pubkey of another key" 1 sign "does not match pubkey" \
    "$TKMS" sign --keystore bad-pubkey-other.json --message "$MSG"
expect_error "pubkey (decrypting), pubkey of another key" 1 pubkey "does not match pubkey" \
    "$TKMS" pubkey --keystore bad-pubkey-other.json
expect_error "split, pubkey of another key" 1 split "does not match pubkey" \
    "$TKMS" split --keystore bad-pubkey-other.json --threshold 2 --shares 3 --out-dir x "${FAST[@]}"
expect_error "keystore pubkey at infinity" 1 pubkey "infinity" "$TKMS" pubkey --keystore bad-pubkey-inf.json
expect_error "keystore pubkey off the curve" 1 pubkey "curve" "$TKMS" pubkey --keystore bad-pubkey-curve.json
expect_error "keystore pubkey outside the subgroup" 1 pubkey "subgroup" "$TKMS" pubkey --keystore bad-pubkey-group.json
expect_error "keystore pubkey too short" 1 pubkey "pubkey" "$TKMS" pubkey --keystore bad-pubkey-short.json
# Crafted keystores: valid ones as a control, then invalid secrets.
run "$TKMS" pubkey --keystore crafted-one.json
assert_eq "control: crafted keystore with secret 1 gives G1" "0 $G1_GEN" "$RC $OUT"
run "$TKMS" pubkey --keystore crafted-rm1.json
assert_eq "control: crafted keystore with secret r-1 gives -G1" "0 $(negate_point $G1_GEN)" "$RC $OUT"
expect_error "zero secret (pubkey)" 1 pubkey "zero" "$TKMS" pubkey --keystore crafted-zero.json
expect_error "zero secret (sign)" 1 sign "zero" "$TKMS" sign --keystore crafted-zero.json --message "$MSG"
expect_error "zero secret (split)" 1 split "zero" \
    "$TKMS" split --keystore crafted-zero.json --threshold 2 --shares 3 --out-dir x "${FAST[@]}"
expect_error "secret = r" 1 sign "not below r" "$TKMS" sign --keystore crafted-r.json --message "$MSG"
expect_error "secret = 2^256-1" 1 sign "not below r" "$TKMS" sign --keystore crafted-ff.json --message "$MSG"
expect_error "zero secret with an infinity pubkey" 1 sign "infinity" \
    "$TKMS" sign --keystore crafted-zero-inf.json --message "$MSG"

# Tampered share keystores.
for f in bad-share-index:"share 2" bad-share-index0:tkms.index bad-share-k:tkms.threshold \
         bad-share-kn:tkms.threshold bad-share-gk:group_public_key bad-share-comm:commitments \
         bad-share-type:tkms bad-share-version:tkms.version; do
    name=${f%%:*} keyword=${f#*:}
    expect_error "sign with $name.json" 1 sign "$keyword" "$TKMS" sign --keystore $name.json --message "$MSG" --json
done
expect_error "split a share keystore" 1 split "already a share keystore" \
    "$TKMS" split --keystore $S1 --threshold 2 --shares 3 --out-dir x "${FAST[@]}"

# ---- keygen: bad --ikm, never overwrite -----------------------------------
expect_error "keygen --ikm too short" 1 keygen "at least 32 bytes" "$TKMS" keygen --out x.json --ikm 0x$(hex_repeat 11 31)
expect_error "keygen --ikm not hex" 1 keygen "hex" "$TKMS" keygen --out x.json --ikm 0x$(hex_repeat zz 32)
expect_error "keygen --ikm odd digits" 1 keygen "odd" "$TKMS" keygen --out x.json --ikm 0x$(hex_repeat 11 32)1
expect_error "keygen --ikm too long" 1 keygen "at most" "$TKMS" keygen --out x.json --ikm 0x$(hex_repeat 11 4097)
expect_error "keygen --ikm empty" 1 keygen "--ikm" "$TKMS" keygen --out x.json --ikm 0x
expect_error "keygen onto an existing keystore" 1 keygen "exists" "$TKMS" keygen --out key.json "${FAST[@]}"
expect_error "keygen onto an existing file, same IKM" 1 keygen "exists" \
    "$TKMS" keygen --out other.json --ikm 0x$(hex_repeat 11 32) "${FAST[@]}"
expect_error "keygen onto a directory" 1 keygen "exists" "$TKMS" keygen --out sh "${FAST[@]}"
expect_error "keygen onto a dangling symlink" 1 keygen "exists" "$TKMS" keygen --out dangling.json "${FAST[@]}"
check "keygen did not follow the dangling symlink" test ! -e dangling-target
expect_error "keygen into a missing directory" 1 keygen "no-such-dir/x.json" \
    "$TKMS" keygen --out no-such-dir/x.json "${FAST[@]}"
# A write that fails half-way (file size limit): no file, no temporary.
ERR=$( (trap '' XFSZ; ulimit -f 0; exec "$TKMS" keygen --out x.json "${FAST[@]}") 2>&1 >/dev/null ) && RC=0 || RC=$?
assert_eq "keygen, write fails: exit 1" 1 "$RC"
assert_eq "keygen, write fails: one stderr line" 1 "$(err_lines)"
assert_match "keygen, write fails: says so" "^tkms keygen: x.json: cannot write" "$ERR"

# ---- split: impossible K/n, unusable out dir ------------------------------
split_args=(--keystore key.json --out-dir x "${FAST[@]}")
expect_error "split K = 0" 2 split "--threshold" "$TKMS" split --threshold 0 --shares 5 "${split_args[@]}"
expect_error "split n = 0" 2 split "--shares" "$TKMS" split --threshold 1 --shares 0 "${split_args[@]}"
expect_error "split K > n" 2 split "larger than --shares" "$TKMS" split --threshold 6 --shares 5 "${split_args[@]}"
expect_error "split n = 1025" 2 split "1..1024" "$TKMS" split --threshold 3 --shares 1025 "${split_args[@]}"
expect_error "split K = 1025" 2 split "--threshold" "$TKMS" split --threshold 1025 --shares 1024 "${split_args[@]}"
expect_error "split K not a number" 2 split "--threshold" "$TKMS" split --threshold three --shares 5 "${split_args[@]}"
expect_error "split n negative" 2 split "--shares" "$TKMS" split --threshold 3 --shares -5 "${split_args[@]}"
expect_error "split n with junk" 2 split "--shares" "$TKMS" split --threshold 3 --shares 5x "${split_args[@]}"
expect_error "split n huge" 2 split "--shares" "$TKMS" split --threshold 3 --shares 99999999999999999999 "${split_args[@]}"
expect_error "split into a non-empty dir" 1 split "not empty" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir sh "${FAST[@]}"
expect_error "split onto a file" 1 split "not a directory" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir key.json "${FAST[@]}"
expect_error "split under a missing directory" 1 split "no-such-dir/x" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir no-such-dir/x "${FAST[@]}"

end_unchanged "no failing command so far created or changed a file"

# An existing empty out dir stays empty when split fails.
begin_unchanged
expect_error "split, wrong password, empty out dir" 1 split "wrong password" \
    "$TKMS" split --keystore key.json --threshold 2 --shares 3 --out-dir empty-out \
    --password-file wrong-pw.txt "${FAST[@]}"
# A write that fails after some shares are written (group.json ~0.7 KiB fits
# under 1 KiB, a share keystore does not): everything is removed again.
ERR=$( (trap '' XFSZ; ulimit -f 1; exec "$TKMS" split --keystore key.json --threshold 2 --shares 2 \
        --out-dir half "${FAST[@]}") 2>&1 >/dev/null ) && RC=0 || RC=$?
assert_eq "split, write fails half-way: exit 1" 1 "$RC"
assert_eq "split, write fails half-way: one stderr line" 1 "$(err_lines)"
assert_match "split, write fails half-way: names the failing share" "^tkms split: .*share-1.json: cannot write" "$ERR"
check "split, write fails half-way: no out dir" test ! -e half
ERR=$( (trap '' XFSZ; ulimit -f 1; exec "$TKMS" split --keystore key.json --threshold 2 --shares 2 \
        --out-dir empty-out "${FAST[@]}") 2>&1 >/dev/null ) && RC=0 || RC=$?
assert_eq "split into an empty dir, write fails: exit 1" 1 "$RC"
end_unchanged "failing splits leave no out dir, no temporary dir, and the empty dir empty"

# ---- sign: bad message ----------------------------------------------------
begin_unchanged
expect_error "sign, message not hex" 1 sign "--message" "$TKMS" sign --keystore key.json --message 0xzz
expect_error "sign, message odd digits" 1 sign "odd" "$TKMS" sign --keystore key.json --message 0x123
expect_error "sign, message empty string" 1 sign "--message" "$TKMS" sign --keystore key.json --message ""

# ---- verify: bad keys, signatures, messages --------------------------------
v() { "$TKMS" verify "$@"; }
expect_error "verify, pubkey not hex" 1 verify "hex" v --pubkey 0x$(hex_repeat zz 48) --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey 47 bytes" 1 verify "48" v --pubkey "${PK:0:96}" --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey 49 bytes" 1 verify "48" v --pubkey "${PK}00" --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey odd digits" 1 verify "--pubkey" v --pubkey "${PK}0" --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey at infinity" 1 verify "infinity" v --pubkey $INF48 --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey off the curve" 1 verify "curve" v --pubkey $G1_OFF_CURVE --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey outside the subgroup" 1 verify "subgroup" v --pubkey $G1_NOT_IN_GROUP --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey x >= p" 1 verify "encoding" v --pubkey $G1_X_TOO_BIG --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey uncompressed flag" 1 verify "encoding" v --pubkey 0x00$Z47 --message "$MSG" --signature "$SIG"
expect_error "verify, pubkey infinity with junk" 1 verify "encoding" v --pubkey 0xc0${Z47:2}01 --message "$MSG" --signature "$SIG"
expect_error "verify, 2nd pubkey bad" 1 verify "#2" v --pubkey "$PK" --pubkey $INF48 --message "$MSG" --signature "$SIG"
expect_error "verify, signature not hex" 1 verify "--signature" v --pubkey "$PK" --message "$MSG" --signature 0x$(hex_repeat zz 96)
expect_error "verify, signature 95 bytes" 1 verify "96" v --pubkey "$PK" --message "$MSG" --signature "${SIG:0:192}"
expect_error "verify, signature 48 bytes" 1 verify "96" v --pubkey "$PK" --message "$MSG" --signature "$PK"
expect_error "verify, signature off the curve" 1 verify "curve" v --pubkey "$PK" --message "$MSG" --signature $G2_OFF_CURVE
expect_error "verify, signature outside the subgroup" 1 verify "subgroup" v --pubkey "$PK" --message "$MSG" --signature $G2_NOT_IN_GROUP
expect_error "verify, signature x >= p" 1 verify "encoding" v --pubkey "$PK" --message "$MSG" --signature $G2_X_TOO_BIG
expect_error "verify, signature infinity with junk" 1 verify "encoding" v --pubkey "$PK" --message "$MSG" --signature 0xe0$Z95
expect_error "verify, message not hex" 1 verify "--message" v --pubkey "$PK" --message 0xgg --signature "$SIG"
expect_error "verify, message odd digits" 1 verify "odd" v --pubkey "$PK" --message 0x123 --signature "$SIG"
# The identity is a well-formed G2 point (tkms/bls.h): verify answers
# `invalid` (exit 1) rather than reporting malformed input.
run v --pubkey "$PK" --message "$MSG" --signature $INF96
assert_eq "verify, signature at infinity: invalid" "1 invalid" "$RC $OUT"
run v --pubkey "$PK" --pubkey "$OTHER_PK" --message "$MSG" --signature $INF96
assert_eq "fast aggregate verify, signature at infinity: invalid" "1 invalid" "$RC $OUT"
run v --pubkey "$PK" --pubkey "$(negate_point "$PK")" --message "$MSG" --signature $INF96
assert_eq "fast aggregate verify, keys summing to infinity + infinity sig: invalid" "1 invalid" "$RC $OUT"
run v --pubkey "$PK" --message 0x01 --pubkey "$(negate_point "$PK")" --message 0x01 --signature $INF96
assert_eq "aggregate verify, pairs cancelling + infinity sig: invalid" "1 invalid" "$RC $OUT"

# ---- combine: bad partials ------------------------------------------------
c() { "$TKMS" combine --group $G --message "$MSG" "$@"; }
expect_error "combine, duplicate index (inline)" 1 combine "given twice" c 1:$P1 1:$P1 p3.json
expect_error "combine, duplicate index (file + inline)" 1 combine "given twice" c p2.json p3.json 2:$P2
expect_error "combine, duplicate index (same file twice)" 1 combine "given twice" c p1.json p1.json p3.json
expect_error "combine, index 0" 1 combine "index" c 0:$P1 p2.json p3.json
expect_error "combine, index > n" 1 combine "outside 1..5" c 6:$P1 p2.json p3.json
expect_error "combine, index > 1024" 1 combine "index" c 1025:$P1 p2.json p3.json
expect_error "combine, index overflow" 1 combine "index" c 99999999999999999999:$P1 p2.json p3.json
expect_error "combine, short signature" 1 combine "96" c 1:${P1:0:100} p2.json p3.json
expect_error "combine, empty signature" 1 combine "partial" c 1: p2.json p3.json
expect_error "combine, signature not hex" 1 combine "partial" c 1:0x$(hex_repeat zz 96) p2.json p3.json
expect_error "combine, more partials than shares" 1 combine "only 5 shares" \
    c p1.json p2.json p3.json p4.json p5.json 1:$P1
for f in bad-partial bad-partial-type bad-partial-sig bad-partial-missing bad-partial-trunc; do
    expect_error "combine, $f.json" 1 combine "$f.json" c $f.json p2.json p3.json
done
expect_error "combine, message not hex" 1 combine "--message" "$TKMS" combine --group $G --message 0xzz p1.json
# Points that are not valid signatures are bad partials: with K good ones
# left the combine succeeds and names them; otherwise it fails.
for bad in G2_OFF_CURVE G2_NOT_IN_GROUP INF96 G2_X_TOO_BIG; do
    run c 1:${!bad} p2.json p3.json p4.json
    assert_eq "combine, $bad partial among 4: right signature" "0 $SIG" "$RC $OUT"
    assert_match "combine, $bad partial among 4: names share 1" "^tkms combine: .*share 1 .*invalid" "$ERR"
    run c 1:${!bad} p2.json p3.json
    assert_eq "combine, $bad partial among 3: exit 1" 1 "$RC"
    assert_eq "combine, $bad partial among 3: no output" "" "$OUT"
    check "combine, $bad partial among 3: every stderr line is 'tkms combine: …'" \
        bash -c '! grep -qv "^tkms combine: " <<<"$1"' _ "$ERR"
    assert_contains "combine, $bad partial among 3: says how many are needed" "3 needed" "$ERR"
done

# ---- corrupted group files ------------------------------------------------
for f in bad-group-trunc:JSON bad-group-empty:bad-group-empty.json bad-group-k-type:threshold \
         bad-group-k0:threshold bad-group-kn:threshold bad-group-n:shares \
         bad-group-share:share_public_keys bad-group-count:share_public_keys \
         bad-group-inf:infinity bad-group-gk:"commitments[0] is not the group public key" bad-group-comm:commitments; do
    name=${f%%:*} keyword=${f#*:}
    expect_error "combine with $name.json" 1 combine "$keyword" \
        "$TKMS" combine --group $name.json --message "$MSG" p1.json p2.json p3.json
done
end_unchanged "sign/verify/combine failures changed no file"

finish
