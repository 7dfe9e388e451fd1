#!/usr/bin/env bash
# test_flow.sh — end-to-end use of the tkms CLI: keygen, pubkey, split,
# sign (whole key and shares), combine (every K-subset, inline and file
# partials, bad partials), verify / FastAggregateVerify / AggregateVerify,
# PBKDF2 keystores, file modes and --help.
#
# Run: TKMS=build/tkms bash tests/cli/test_flow.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
MSG=0x$(printf 'tkms end-to-end test message' | od -An -tx1 | tr -d ' \n')
OTHER=0xdeadbeef
HEX48='^0x[0-9a-f]{96}$'
HEX96='^0x[0-9a-f]{192}$'
printf '%s\n' "$TKMS_PASSWORD" >pw.txt   # with the trailing newline tkms strips

mode_of() { stat -c %a "$1"; }

# ---- keygen ---------------------------------------------------------------
run "$TKMS" keygen --out key.json "${FAST[@]}"
assert_eq "keygen: exit status" 0 "$RC"
assert_match "keygen: prints a 48-byte public key" "$HEX48" "$OUT"
assert_eq "keygen: nothing on stderr" "" "$ERR"
PK=$OUT
assert_eq "keygen: keystore mode 0600" 600 "$(mode_of key.json)"
assert_eq "keygen: keystore pubkey field" "${PK#0x}" "$(json_get key.json d.pubkey)"
assert_eq "keygen: EIP-2335 version 4" 4 "$(json_get key.json d.version)"
assert_eq "keygen: scrypt n from --scrypt-n" 1024 "$(json_get key.json d.crypto.kdf.params.n)"

run "$TKMS" keygen --out key2.json "${FAST[@]}"
assert_ne "keygen: two random keys differ" "$PK" "$OUT"

IKM=0x$(hex_repeat 5a 32)
PK_IKM1=$("$TKMS" keygen --out ikm1.json --ikm "$IKM" "${FAST[@]}")
PK_IKM2=$("$TKMS" keygen --out ikm2.json --ikm "$IKM" "${FAST[@]}")
assert_eq "keygen --ikm: same IKM, same key" "$PK_IKM1" "$PK_IKM2"
assert_ne "keygen --ikm: fresh salt, different files" "$(sha ikm1.json)" "$(sha ikm2.json)"
PK_IKM3=$("$TKMS" keygen --out ikm3.json --ikm 0x$(hex_repeat 5b 32) "${FAST[@]}")
assert_ne "keygen --ikm: other IKM, other key" "$PK_IKM1" "$PK_IKM3"
PK_IKM4=$("$TKMS" keygen --out ikm4.json --ikm 0x$(hex_repeat 5a 40) "${FAST[@]}")
assert_ne "keygen --ikm: longer IKM accepted, other key" "$PK_IKM1" "$PK_IKM4"

# ---- pubkey ---------------------------------------------------------------
run env -u TKMS_PASSWORD "$TKMS" pubkey --keystore key.json
assert_eq "pubkey without password: exit status" 0 "$RC"
assert_eq "pubkey without password" "$PK" "$OUT"
run env -u TKMS_PASSWORD "$TKMS" pubkey --keystore key.json --password-file pw.txt
assert_eq "pubkey --password-file (trailing newline stripped)" "$PK" "$OUT"
run "$TKMS" pubkey --keystore key.json
assert_eq "pubkey with \$TKMS_PASSWORD" "$PK" "$OUT"
run env -u TKMS_PASSWORD "$TKMS" pubkey --keystore ikm2.json --password-file pw.txt
assert_eq "pubkey of the --ikm keystore, decrypted" "$PK_IKM1" "$OUT"

# ---- split 3-of-5 ---------------------------------------------------------
run "$TKMS" split --keystore key.json --threshold 3 --shares 5 --out-dir shares "${FAST[@]}"
assert_eq "split: exit status" 0 "$RC"
assert_eq "split: prints the group key (= the key's public key)" "$PK" "$OUT"
assert_eq "split: writes group.json and share-1..5.json" \
    "group.json share-1.json share-2.json share-3.json share-4.json share-5.json" \
    "$(cd shares && ls | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "split: no temporary directory left" "shares" "$(ls -d shares* | tr '\n' ' ' | sed 's/ $//')"
for i in 1 2 3 4 5; do
    assert_eq "split: share-$i.json mode 0600" 600 "$(mode_of shares/share-$i.json)"
done
check "split: group.json is readable by everyone" test "$(( 0$(mode_of shares/group.json) & 044 ))" -eq 36
check "split: group.json is not writable by others" test "$(( 0$(mode_of shares/group.json) & 022 ))" -eq 0
check "split: the output directory is as readable as umask allows (not mkdtemp's 0700)" test "$(mode_of shares)" = "$(printf %o $(( 0777 & ~0$(umask) )))"
G=shares/group.json
assert_eq "group.json: group_public_key" "$PK" "$(json_get $G d.group_public_key)"
assert_eq "group.json: threshold" 3 "$(json_get $G d.threshold)"
assert_eq "group.json: shares" 5 "$(json_get $G d.shares)"
assert_eq "group.json: K commitments" 3 "$(json_get $G d.commitments.length)"
assert_eq "group.json: commitments[0] is the group key" "$PK" "$(json_get $G d.commitments[0])"
assert_eq "group.json: n share public keys" 5 "$(json_get $G d.share_public_keys.length)"
check "group.json: holds no secret (no crypto object)" test "$(json_get $G '"crypto" in d')" = false
declare -a SPK
for i in 1 2 3 4 5; do
    SPK[$i]=$(json_get $G "d.share_public_keys[$((i - 1))]")
    S=shares/share-$i.json
    assert_eq "share-$i.json: tkms.index" "$i" "$(json_get $S d.tkms.index)"
    assert_eq "share-$i.json: tkms.threshold" 3 "$(json_get $S d.tkms.threshold)"
    run env -u TKMS_PASSWORD "$TKMS" pubkey --keystore $S
    assert_eq "pubkey share-$i (field) = group.json share key" "${SPK[$i]}" "$OUT"
done
for i in 1 5; do
    run "$TKMS" pubkey --keystore shares/share-$i.json
    assert_eq "pubkey share-$i (decrypted) = group.json share key" "${SPK[$i]}" "$OUT"
done
assert_ne "share keys differ from each other" "${SPK[1]}" "${SPK[2]}"
assert_ne "share key differs from the group key" "$PK" "${SPK[1]}"

# ---- sign -----------------------------------------------------------------
run "$TKMS" sign --keystore key.json --message "$MSG"
assert_eq "sign: exit status" 0 "$RC"
assert_match "sign: 96-byte signature" "$HEX96" "$OUT"
SIG=$OUT
run env -u TKMS_PASSWORD "$TKMS" sign --keystore key.json --message "$MSG" --password-file pw.txt
assert_eq "sign: deterministic, --password-file = \$TKMS_PASSWORD" "$SIG" "$OUT"
run "$TKMS" sign --keystore key.json --message "$MSG" --json
assert_eq "sign --json (plain): pubkey" "$PK" "$(node -e 'console.log(JSON.parse(process.argv[1]).pubkey)' "$OUT")"
assert_eq "sign --json (plain): signature" "$SIG" "$(node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$OUT")"

declare -a PSIG
for i in 1 2 3 4 5; do
    "$TKMS" sign --keystore shares/share-$i.json --message "$MSG" --json >p$i.json
    assert_eq "sign --json share $i: index" "$i" "$(json_get p$i.json d.index)"
    PSIG[$i]=$(json_get p$i.json d.signature)
    run "$TKMS" sign --keystore shares/share-$i.json --message "$MSG"
    assert_eq "sign share $i: plain output = --json signature" "${PSIG[$i]}" "$OUT"
done
assert_ne "a partial is not the group signature" "$SIG" "${PSIG[1]}"

# ---- combine --------------------------------------------------------------
run "$TKMS" combine --group $G --message "$MSG" p1.json p3.json p5.json
assert_eq "combine 1,3,5: exit status" 0 "$RC"
assert_eq "combine 1,3,5 = sign with the whole key" "$SIG" "$OUT"
assert_eq "combine 1,3,5: nothing on stderr" "" "$ERR"

run "$TKMS" verify --pubkey "$(json_get $G d.group_public_key)" --message "$MSG" --signature "$SIG"
assert_eq "verify combined vs group key: exit status" 0 "$RC"
assert_eq "verify combined vs group key: output" valid "$OUT"

for a in 1 2 3 4 5; do for b in 1 2 3 4 5; do for c in 1 2 3 4 5; do
    [ $a -lt $b ] && [ $b -lt $c ] || continue
    run "$TKMS" combine --group $G --message "$MSG" p$a.json p$b.json p$c.json
    assert_eq "combine {$a,$b,$c} = whole-key signature (rc $RC)" "$SIG" "$OUT"
done; done; done

run "$TKMS" combine --group $G --message "$MSG" p5.json p1.json p3.json
assert_eq "combine: order of partials does not matter" "$SIG" "$OUT"
run "$TKMS" combine --group $G --message "$MSG" 1:${PSIG[1]} 3:${PSIG[3]} 5:${PSIG[5]}
assert_eq "combine inline i:0xSIG = files" "$SIG" "$OUT"
run "$TKMS" combine --group $G --message "$MSG" 2:${PSIG[2]} p4.json 5:${PSIG[5]}
assert_eq "combine inline and files mixed" "$SIG" "$OUT"
run "$TKMS" combine p1.json p2.json --group $G p3.json --message "$MSG"
assert_eq "combine: flags after partials" "$SIG" "$OUT"
run "$TKMS" combine --group $G --message "$MSG" p1.json p2.json p3.json p4.json p5.json
assert_eq "combine all 5 partials" "$SIG" "$OUT"

run "$TKMS" combine --group $G --message "$MSG" p1.json p4.json
assert_eq "combine 2 of 3: exit 1" 1 "$RC"
assert_eq "combine 2 of 3: no signature" "" "$OUT"
assert_eq "combine 2 of 3: one stderr line" 1 "$(err_lines)"
assert_match "combine 2 of 3: says 3 are needed" "tkms combine: .*3 needed" "$ERR"

# A bad partial: share 2's signature presented as share 1.
run "$TKMS" combine --group $G --message "$MSG" 1:${PSIG[2]} p3.json p4.json p5.json
assert_eq "combine with a wrong-index partial: exit 0" 0 "$RC"
assert_eq "combine with a wrong-index partial: right signature" "$SIG" "$OUT"
assert_match "combine with a wrong-index partial: names share 1" "tkms combine: .*share 1 .*invalid" "$ERR"
check "combine with a wrong-index partial: names no good share" \
    bash -c '! grep -qE "share [345] " <<<"$1"' _ "$ERR"
# A bad partial: share 2's signature of another message.
"$TKMS" sign --keystore shares/share-2.json --message "$OTHER" --json >p2-other.json
run "$TKMS" combine --group $G --message "$MSG" p1.json p2-other.json p3.json p4.json
assert_eq "combine with another message's partial: exit 0" 0 "$RC"
assert_eq "combine with another message's partial: right signature" "$SIG" "$OUT"
assert_match "combine with another message's partial: names share 2" "tkms combine: .*share 2 .*invalid" "$ERR"
# Two bad among five.
run "$TKMS" combine --group $G --message "$MSG" p2-other.json 3:${PSIG[4]} p1.json p4.json p5.json
assert_eq "combine with two bad of five: right signature" "$SIG" "$OUT"
assert_contains "combine with two bad of five: names share 2" "share 2 " "$ERR"
assert_contains "combine with two bad of five: names share 3" "share 3 " "$ERR"
# A bad partial after the first K is simply not used.
run "$TKMS" combine --group $G --message "$MSG" p1.json p3.json p4.json 5:${PSIG[2]}
assert_eq "combine with a bad 4th partial: right signature" "$SIG" "$OUT"
# Too few good ones.
run "$TKMS" combine --group $G --message "$MSG" p1.json p2-other.json p3.json
assert_eq "combine 3 with one bad: exit 1" 1 "$RC"
assert_contains "combine 3 with one bad: names share 2" "share 2 " "$ERR"
assert_contains "combine 3 with one bad: says how many are needed" "3 needed" "$ERR"
run "$TKMS" combine --group $G --message "$OTHER" p1.json p2.json p3.json
assert_eq "combine against the wrong message: exit 1" 1 "$RC"
assert_eq "combine against the wrong message: no signature" "" "$OUT"

# ---- verify ---------------------------------------------------------------
run "$TKMS" verify --pubkey "$PK" --message "$OTHER" --signature "$SIG"
assert_eq "verify wrong message: exit 1" 1 "$RC"
assert_eq "verify wrong message: prints invalid" invalid "$OUT"
run "$TKMS" verify --pubkey "${SPK[1]}" --message "$MSG" --signature "$SIG"
assert_eq "verify wrong key: prints invalid" invalid "$OUT"
run "$TKMS" verify --pubkey "$PK" --message "$MSG" --signature "${PSIG[1]}"
assert_eq "verify a partial against the group key: invalid" invalid "$OUT"
for i in 1 4; do
    run "$TKMS" verify --pubkey "${SPK[$i]}" --message "$MSG" --signature "${PSIG[$i]}"
    assert_eq "partial $i verifies against share key $i" "0 valid" "$RC $OUT"
done
run "$TKMS" verify --pubkey "$(negate_point "$PK")" --message "$MSG" --signature "$(negate_point "$SIG")"
assert_eq "verify(-pk, -sig) is valid (sign-bit flip is negation)" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "$PK" --message "$MSG" --signature "$(negate_point "$SIG")"
assert_eq "verify(pk, -sig) is invalid" "1 invalid" "$RC $OUT"

# Empty message.
run "$TKMS" sign --keystore key.json --message 0x
assert_eq "sign an empty message" 0 "$RC"
run "$TKMS" verify --pubkey "$PK" --message 0x --signature "$OUT"
assert_eq "verify an empty message" "0 valid" "$RC $OUT"

# FastAggregateVerify. There is no aggregate command, so build aggregates
# whose signature the CLI can produce: with shares 1,2 of a 2-of-3 split of
# key x, x = 2·s1 − s2 (Lagrange at 0), hence x·H(m) is the aggregate for
# the keys [pk1, pk1, −pk2] (−P is P with the sign bit flipped).
"$TKMS" split --keystore key2.json --threshold 2 --shares 3 --out-dir s23 "${FAST[@]}" >/dev/null
PK2=$("$TKMS" pubkey --keystore key2.json)
Q1=$(json_get s23/group.json 'd.share_public_keys[0]')
Q2=$(json_get s23/group.json 'd.share_public_keys[1]')
SIG2=$("$TKMS" sign --keystore key2.json --message "$MSG")
run "$TKMS" verify --pubkey "$Q1" --pubkey "$Q1" --pubkey "$(negate_point "$Q2")" --message "$MSG" --signature "$SIG2"
assert_eq "fast aggregate verify [pk1, pk1, -pk2] with x·H(m)" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "$Q1" --pubkey "$Q2" --message "$MSG" --signature "$SIG2"
assert_eq "fast aggregate verify [pk1, pk2]: invalid" "1 invalid" "$RC $OUT"
run "$TKMS" verify --pubkey "$Q1" --pubkey "$Q1" --pubkey "$(negate_point "$Q2")" --message "$OTHER" --signature "$SIG2"
assert_eq "fast aggregate verify, other message: invalid" "1 invalid" "$RC $OUT"
# Three different keystores signing one message: [pkA, pkB, -pkA] aggregates to pkB.
SIGB=$("$TKMS" sign --keystore key2.json --message "$MSG")
run "$TKMS" verify --pubkey "$PK" --pubkey "$PK2" --pubkey "$(negate_point "$PK")" --message "$MSG" --signature "$SIGB"
assert_eq "fast aggregate verify [pkA, pkB, -pkA] with sigB" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "$PK" --pubkey "$PK2" --message "$MSG" --signature "$SIGB"
assert_eq "fast aggregate verify [pkA, pkB] with sigB: invalid" "1 invalid" "$RC $OUT"

# AggregateVerify (one message per key): (pkA, m1), (-pkA, m1), (pkB, m2)
# aggregates to sigB(m2). Real aggregates are checked in tests/interop.
SIGB2=$("$TKMS" sign --keystore key2.json --message "$OTHER")
run "$TKMS" verify --pubkey "$PK" --message "$MSG" --pubkey "$(negate_point "$PK")" --message "$MSG" \
    --pubkey "$PK2" --message "$OTHER" --signature "$SIGB2"
assert_eq "aggregate verify (pairs)" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "$PK" --message "$MSG" --pubkey "$(negate_point "$PK")" --message "$OTHER" \
    --pubkey "$PK2" --message "$OTHER" --signature "$SIGB2"
assert_eq "aggregate verify, one message changed: invalid" "1 invalid" "$RC $OUT"
run "$TKMS" verify --pubkey "$PK" --message "$MSG" --pubkey "$PK2" --message "$OTHER" --signature "$SIGB2"
assert_eq "aggregate verify, missing the cancelling pair: invalid" "1 invalid" "$RC $OUT"

# ---- PBKDF2 keystores -----------------------------------------------------
run "$TKMS" keygen --out pb.json --kdf pbkdf2
assert_eq "keygen --kdf pbkdf2: exit status" 0 "$RC"
PKPB=$OUT
assert_eq "pbkdf2 keystore: kdf function" pbkdf2 "$(json_get pb.json d.crypto.kdf.function)"
assert_eq "pbkdf2 keystore: prf" hmac-sha256 "$(json_get pb.json d.crypto.kdf.params.prf)"
run "$TKMS" pubkey --keystore pb.json
assert_eq "pbkdf2 keystore: pubkey (decrypted)" "$PKPB" "$OUT"
run "$TKMS" split --keystore pb.json --threshold 2 --shares 3 --out-dir pbs --kdf pbkdf2
assert_eq "split --kdf pbkdf2: exit status" 0 "$RC"
assert_eq "split --kdf pbkdf2: share kdf" pbkdf2 "$(json_get pbs/share-3.json d.crypto.kdf.function)"
SIGPB=$("$TKMS" sign --keystore pb.json --message "$MSG")
"$TKMS" sign --keystore pbs/share-3.json --message "$MSG" --json >pb3.json
"$TKMS" sign --keystore pbs/share-1.json --message "$MSG" --json >pb1.json
run "$TKMS" combine --group pbs/group.json --message "$MSG" pb3.json pb1.json
assert_eq "pbkdf2 shares combine to the pbkdf2 key's signature" "$SIGPB" "$OUT"
# A scrypt keystore split into pbkdf2 shares and back is the same key.
run "$TKMS" split --keystore key.json --threshold 2 --shares 2 --out-dir mixed --kdf pbkdf2
assert_eq "scrypt keystore split into pbkdf2 shares: same group key" "$PK" "$OUT"

# ---- edge thresholds ------------------------------------------------------
run "$TKMS" split --keystore key.json --threshold 1 --shares 1 --out-dir s11 "${FAST[@]}"
assert_eq "split 1-of-1" 0 "$RC"
run "$TKMS" combine --group s11/group.json --message "$MSG" \
    "$("$TKMS" sign --keystore s11/share-1.json --message "$MSG" --json | tr -d ' ' | sed 's/.*"index":\([0-9]*\),"signature":"\(0x[0-9a-f]*\)".*/\1:\2/')"
assert_eq "1-of-1: the single partial combines to the signature" "$SIG" "$OUT"
run "$TKMS" split --keystore key.json --threshold 4 --shares 4 --out-dir s44 "${FAST[@]}"
assert_eq "split 4-of-4" 0 "$RC"
parts=()
for i in 4 3 2 1; do parts+=("$i:$("$TKMS" sign --keystore s44/share-$i.json --message "$MSG")"); done
run "$TKMS" combine --group s44/group.json --message "$MSG" "${parts[@]}"
assert_eq "4-of-4 combine" "$SIG" "$OUT"
run "$TKMS" combine --group s44/group.json --message "$MSG" "${parts[@]:0:3}"
assert_eq "4-of-4 with 3 partials fails" 1 "$RC"

# ---- --help ---------------------------------------------------------------
help_check() {  # COMMAND FLAG...
    local cmd=$1; shift
    run "$TKMS" "$cmd" --help
    assert_eq "$cmd --help: exit 0" 0 "$RC"
    assert_eq "$cmd --help: nothing on stderr" "" "$ERR"
    assert_contains "$cmd --help: usage line" "usage: tkms $cmd" "$OUT"
    local f
    for f in "$@"; do assert_contains "$cmd --help mentions $f" "$f" "$OUT"; done
}
help_check keygen --out --ikm --password-file --kdf --scrypt-n
help_check pubkey --keystore --password-file
help_check split --keystore --threshold --shares --out-dir --password-file --kdf --scrypt-n
help_check sign --keystore --message --password-file --json
help_check combine --group --message "i:0x"
help_check verify --pubkey --message --signature
help_check bench --json --seconds
run "$TKMS" verify --pubkey "$PK" --help
assert_eq "--help among other flags still helps" 0 "$RC"
for top in --help -h help; do
    run "$TKMS" $top
    assert_eq "tkms $top: exit 0" 0 "$RC"
    for c in keygen pubkey split sign combine verify bench; do
        assert_contains "tkms $top lists $c" "  $c " "$OUT"
    done
done

finish
