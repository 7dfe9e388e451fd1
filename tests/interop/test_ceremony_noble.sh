#!/usr/bin/env bash
# test_ceremony_noble.sh — keys made by a distributed key generation
# (`tkms ceremony simulate`) checked by @noble/curves, an independent
# BLS12-381 implementation (pinned in package.json / package-lock.json):
#   - a 3-of-5 ceremony with two keys, one with a misbehaving party, and a
#     weighted one (4 owners, 10 shares, K = 6): K shares sign with
#     `tkms sign`, `tkms combine` gives the signature, and noble verifies it
#     under the group key with the Ethereum POP DST (and rejects it for
#     another message or another key);
#   - every share key in the group files is Σ C_j·i^j of its commitments,
#     every partial verifies under its share key, and noble's own Lagrange
#     combine of the partials equals `tkms combine`.
#
# Run: TKMS=build/tkms bash tests/interop/test_ceremony_noble.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../cli/lib.sh"

bash "$here/install-packages.sh"
source "$here/noble_lib.sh"

cd "$TMP"
MSG=0x$(printf 'tkms ceremony x noble' | sha256sum | cut -c1-64)
MSG2=0x$(printf 'another message' | od -An -tx1 | tr -d ' \n')

# check_key NAME OUT KEY OWNER... — the named owners sign key KEY of the
# ceremony in OUT (its --json output is OUT.json) with all their shares;
# queues noble's checks and compares noble's combine with tkms's.
check_key() {
    local name=$1 out=$2 key=$3; shift 3
    local pk group o i
    pk=$(json_get "$out.json" "d.keys[$key].pubkey")
    group=$(json_get "$out.json" "d.keys[$key].group")
    local -a files=() parts=()
    for i in $(seq 1 "$(json_get "$group" d.shares)"); do
        case_feldman "$name: share key $i = sum C_j*$i^j" "$group" "$i"
    done
    for o in "$@"; do
        run "$TKMS" sign --keystore-dir "$(dirname "$group")/$o" --message "$MSG" --json
        assert_eq "$name: $o signs ($ERR)" 0 "$RC"
        printf '%s\n' "$OUT" >"$out-$key-$o.json"
        files+=("$out-$key-$o.json")
        for i in $(seq 0 $(($(json_get "$out-$key-$o.json" d.partials.length) - 1))); do
            local idx sig
            idx=$(json_get "$out-$key-$o.json" "d.partials[$i].index")
            sig=$(json_get "$out-$key-$o.json" "d.partials[$i].signature")
            parts+=("$idx:$sig")
            case_verify "$name: $o's partial $idx under share key $idx" \
                "$(json_get "$group" "d.share_public_keys[$idx - 1]")" "$MSG" "$sig" true
        done
    done
    run "$TKMS" combine --group "$group" --message "$MSG" "${files[@]}"
    assert_eq "$name: tkms combine ($ERR)" 0 "$RC"
    local combined=$OUT
    case_verify "$name: combined signature under the group key" "$pk" "$MSG" "$combined" true
    case_verify "$name: combined signature, other message, rejected" "$pk" "$MSG2" "$combined" false
    assert_eq "$name: noble's Lagrange combine = tkms combine" "$combined" "$(noble lagrange "${parts[@]}")"
    LAST_PK=$pk LAST_SIG=$combined
}

# ---- 3-of-5, two keys ---------------------------------------------------------
run "$TKMS" ceremony simulate --parties 5 --threshold 3 --keys 2 --out-dir dkg --json "${FAST[@]}"
assert_eq "3-of-5 ceremony ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >dkg.json
check_key "3-of-5 key 0, p1 p3 p5" dkg 0 p1 p3 p5
K0_PK=$LAST_PK K0_SIG=$LAST_SIG
check_key "3-of-5 key 1, p2 p4 p5" dkg 1 p2 p4 p5
case_verify "key 0's signature under key 1 is rejected" "$LAST_PK" "$MSG" "$K0_SIG" false
case_verify "key 1's signature under key 0 is rejected" "$K0_PK" "$MSG" "$LAST_SIG" false

# ---- a misbehaving party: the honest ones' key -------------------------------
run "$TKMS" ceremony simulate --parties 5 --threshold 3 --malicious p3:equivocate --out-dir eq --json "${FAST[@]}"
assert_eq "3-of-5 with p3 equivocating ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >eq.json
check_key "p3 equivocated, p1 p2 p4" eq 0 p1 p2 p4

# ---- weighted: 4 owners, 10 shares, K = 6 ------------------------------------
cat >stakes.json <<'JSON'
[{"id": "alice", "stake": 40}, {"id": "bob", "stake": 30}, {"id": "carol", "stake": 20},
 {"id": "dave", "stake": 10}]
JSON
run "$TKMS" ceremony simulate --stakes stakes.json --shares 10 --threshold 6 --out-dir weighted --json "${FAST[@]}"
assert_eq "weighted ceremony ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >weighted.json
check_key "weighted, bob carol dave (6 shares)" weighted 0 bob carol dave
check_key "weighted, alice carol (6 shares)" weighted 0 alice carol

run_noble_cases
finish
