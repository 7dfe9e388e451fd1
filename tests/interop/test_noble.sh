#!/usr/bin/env bash
# test_noble.sh — cross-checks the tkms CLI against @noble/curves (pinned in
# package.json / package-lock.json), an independent BLS12-381 implementation:
#   - whole-key and combined threshold signatures (3-of-5 and 7-of-10)
#     verify in noble under the Ethereum POP DST, and not under noble's
#     default _NUL_ DST, nor for another message or a tampered signature;
#   - every partial verifies against its share key from group.json;
#   - every share key is sum_j C_j·i^j of the Feldman commitments;
#   - noble's own Lagrange combine of the partials equals `tkms combine`;
#   - aggregates built by noble from tkms signatures pass `tkms verify`
#     (FastAggregateVerify and AggregateVerify), and noble agrees.
#
# Run: TKMS=build/tkms bash tests/interop/test_noble.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../cli/lib.sh"

bash "$here/install-packages.sh"
source "$here/noble_lib.sh"

cd "$TMP"
MSG=0x$(printf 'tkms x noble interop' | sha256sum | cut -c1-64)
MSG2=0x$(printf 'another message' | od -An -tx1 | tr -d ' \n')


tamper() {  # flip the lowest bit of the last byte of a 0x-hex point
    local h=$1
    printf '%s%x\n' "${h:0:${#h}-1}" $((16#${h: -1} ^ 1))
}

# ---- one key, split twice -------------------------------------------------
PK=$("$TKMS" keygen --out key.json "${FAST[@]}")
SIG=$("$TKMS" sign --keystore key.json --message "$MSG")
SIG2=$("$TKMS" sign --keystore key.json --message "$MSG2")
SIG_EMPTY=$("$TKMS" sign --keystore key.json --message 0x)

# The DST: the whole-key signature verifies under POP, not under NUL.
case_verify "whole-key signature, POP DST" "$PK" "$MSG" "$SIG" true
case_verify "whole-key signature, noble's default NUL DST fails" "$PK" "$MSG" "$SIG" false \
    "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
case_verify "whole-key signature of the empty message" "$PK" 0x "$SIG_EMPTY" true
case_verify "second message" "$PK" "$MSG2" "$SIG2" true
case_verify "signature of another message is rejected" "$PK" "$MSG" "$SIG2" false
case_verify "negated signature is rejected" "$PK" "$MSG" "$(negate_point "$SIG")" false
case_verify "signature with a flipped bit is rejected" "$PK" "$MSG" "$(tamper "$SIG")" false
"$TKMS" keygen --out other.json "${FAST[@]}" >/dev/null
case_verify "another key's signature of the message is rejected" "$PK" "$MSG" \
    "$("$TKMS" sign --keystore other.json --message "$MSG")" false

threshold_flow() {  # K N SIGNER_INDICES...
    local k=$1 n=$2; shift 2
    local dir=s$k-$n i
    run "$TKMS" split --keystore key.json --threshold "$k" --shares "$n" --out-dir $dir "${FAST[@]}"
    assert_eq "split $k-of-$n" "0 $PK" "$RC $OUT"
    local gpk; gpk=$(json_get $dir/group.json d.group_public_key)
    local -a parts=() files=()
    for i in $(seq 1 "$n"); do
        local spk p
        spk=$(json_get $dir/group.json "d.share_public_keys[$((i - 1))]")
        "$TKMS" sign --keystore $dir/share-$i.json --message "$MSG" --json >$dir-p$i.json
        p=$(json_get $dir-p$i.json d.signature)
        parts[$i]=$i:$p
        case_verify "$k-of-$n: partial $i under share key $i" "$spk" "$MSG" "$p" true
        case_feldman "$k-of-$n: share key $i = sum C_j*$i^j" $dir/group.json "$i"
    done
    # Cross-wired partials are rejected.
    case_verify "$k-of-$n: partial 1 under share key 2 is rejected" \
        "$(json_get $dir/group.json 'd.share_public_keys[1]')" "$MSG" "${parts[1]#*:}" false
    case_verify "$k-of-$n: partial 1 under the group key is rejected" "$gpk" "$MSG" "${parts[1]#*:}" false
    for i in "$@"; do files+=("$dir-p$i.json"); done
    run "$TKMS" combine --group $dir/group.json --message "$MSG" "${files[@]}"
    assert_eq "$k-of-$n: combine of shares $* succeeds" 0 "$RC"
    local combined=$OUT
    assert_eq "$k-of-$n: combined = whole-key signature" "$SIG" "$combined"
    case_verify "$k-of-$n: combined signature under group_public_key" "$gpk" "$MSG" "$combined" true
    case_verify "$k-of-$n: combined signature, other message, rejected" "$gpk" "$MSG2" "$combined" false
    case_verify "$k-of-$n: tampered combined signature rejected" "$gpk" "$MSG" "$(tamper "$combined")" false
    local -a chosen=()
    for i in "$@"; do chosen+=("${parts[$i]}"); done
    assert_eq "$k-of-$n: noble's Lagrange combine of shares $* = tkms combine" "$combined" "$(noble lagrange "${chosen[@]}")"
    # K-1 partials interpolate to something else (noble), and tkms refuses them.
    assert_ne "$k-of-$n: noble's combine of K-1 partials is not the signature" \
        "$combined" "$(noble lagrange "${chosen[@]:1}")"
    run "$TKMS" combine --group $dir/group.json --message "$MSG" "${files[@]:1}"
    assert_eq "$k-of-$n: tkms combine of K-1 partials fails" 1 "$RC"
}
threshold_flow 3 5 1 3 5
threshold_flow 7 10 10 2 7 4 9 1 5

# ---- aggregates made by noble, verified by tkms ---------------------------
declare -a APK ASIG ASIG_OWN
msgs=("$MSG" "$MSG2" 0x00)
for j in 0 1 2; do
    APK[$j]=$("$TKMS" keygen --out agg$j.json "${FAST[@]}")
    ASIG[$j]=$("$TKMS" sign --keystore agg$j.json --message "$MSG")
    ASIG_OWN[$j]=$("$TKMS" sign --keystore agg$j.json --message "${msgs[$j]}")
done
FAST_AGG=$(noble aggregate "${ASIG[@]}")
assert_match "noble aggregated three signatures" '^0x[0-9a-f]{192}$' "$FAST_AGG"
run "$TKMS" verify --pubkey "${APK[0]}" --pubkey "${APK[1]}" --pubkey "${APK[2]}" --message "$MSG" --signature "$FAST_AGG"
assert_eq "tkms fast aggregate verify of noble's aggregate" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "${APK[0]}" --pubkey "${APK[1]}" --message "$MSG" --signature "$FAST_AGG"
assert_eq "tkms fast aggregate verify, a key missing: invalid" "1 invalid" "$RC $OUT"
run "$TKMS" verify --pubkey "${APK[0]}" --pubkey "${APK[1]}" --pubkey "${APK[2]}" --message "$MSG2" --signature "$FAST_AGG"
assert_eq "tkms fast aggregate verify, other message: invalid" "1 invalid" "$RC $OUT"
case_fast "noble fast aggregate verify of tkms signatures" "$MSG" "$FAST_AGG" true "${APK[@]}"
case_fast "noble fast aggregate verify, a key missing: rejected" "$MSG" "$FAST_AGG" false "${APK[0]}" "${APK[1]}"

AGG=$(noble aggregate "${ASIG_OWN[@]}")
pairs=()
for j in 0 1 2; do pairs+=(--pubkey "${APK[$j]}" --message "${msgs[$j]}"); done
run "$TKMS" verify "${pairs[@]}" --signature "$AGG"
assert_eq "tkms aggregate verify of noble's aggregate (3 pairs)" "0 valid" "$RC $OUT"
run "$TKMS" verify --pubkey "${APK[0]}" --message "${msgs[1]}" --pubkey "${APK[1]}" --message "${msgs[0]}" \
    --pubkey "${APK[2]}" --message "${msgs[2]}" --signature "$AGG"
assert_eq "tkms aggregate verify, messages swapped: invalid" "1 invalid" "$RC $OUT"
run "$TKMS" verify "${pairs[@]}" --signature "$(negate_point "$AGG")"
assert_eq "tkms aggregate verify, negated aggregate: invalid" "1 invalid" "$RC $OUT"
case_aggregate "noble aggregate verify of tkms signatures" "$AGG" true \
    "$(json_list "${APK[@]}")" "$(json_list "${msgs[@]}")"
case_aggregate "noble aggregate verify, messages swapped: rejected" "$AGG" false \
    "$(json_list "${APK[@]}")" "$(json_list "${msgs[1]}" "${msgs[0]}" "${msgs[2]}")"

run_noble_cases
finish
