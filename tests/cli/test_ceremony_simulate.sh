#!/usr/bin/env bash
# test_ceremony_simulate.sh — `tkms ceremony simulate`, a whole DKG in one
# process, through the CLI:
#   - honest 3-of-5 with two keys: the --json shape scripts rely on, the
#     files (group files with owners, private owner directories, share
#     keystores naming their owner, the transcript); for each key, K shares
#     of different owners sign with `tkms sign`, `tkms combine` gives one
#     signature whatever the K, and `tkms verify` accepts it;
#   - each misbehaviour of one party among five (3-of-5): the ceremony
#     still succeeds, exactly that party is disqualified with a reason that
#     says why (and the signed evidence when the fault is provable), its
#     shares are not written, and the honest shares sign the key;
#   - too few honest parties left (3-of-3 with one missing): exit 1 with
#     the reason and nothing written;
#   - weighted owners from a stakes file: parties named by the file, shares
#     as the allocation rule gives them, each owner's shares in its
#     directory, owners together reaching K sign;
#   - usage errors and refused output directories: one line, the right exit
#     status, nothing written.
#
# Run: TKMS=build/tkms bash tests/cli/test_ceremony_simulate.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TMP"

HEX48='^0x[0-9a-f]{96}$'
M=0x$(printf 'ceremony simulate test' | sha256sum | cut -c1-64)
simulate() { "$TKMS" ceremony simulate "${FAST[@]}" "$@"; }

# sign_combine_verify NAME OUTDIR KEY SHARE_FILE... — every share file signs
# M, the partials are combined with the key's group file and the result is
# verified against the key's pubkey (from the --json output OUTDIR.json);
# prints the signature.
sign_combine_verify() {
    local name=$1 out=$2 key=$3; shift 3
    local i=0 f pk group
    local -a parts=()
    pk=$(json_get "$out.json" "d.keys[$key].pubkey")
    group=$(json_get "$out.json" "d.keys[$key].group")
    for f in "$@"; do
        i=$((i + 1))
        run "$TKMS" sign --keystore "$f" --message "$M" --json
        assert_eq "$name: sign with $f ($ERR)" 0 "$RC"
        printf '%s\n' "$OUT" >"$out-k$key-p$i.json"
        parts+=("$out-k$key-p$i.json")
    done
    run "$TKMS" combine --group "$group" --message "$M" "${parts[@]}"
    assert_eq "$name: combine ($ERR)" 0 "$RC"
    local sig=$OUT
    run "$TKMS" verify --pubkey "$pk" --message "$M" --signature "$sig"
    assert_eq "$name: verify against the key's pubkey" "0 valid" "$RC $OUT"
    SIG=$sig
}

# ---- honest 3-of-5, two keys ----------------------------------------------
run simulate --parties 5 --threshold 3 --keys 2 --out-dir honest --json
assert_eq "honest: exit ($ERR)" 0 "$RC"
assert_eq "honest: nothing on stderr" "" "$ERR"
printf '%s\n' "$OUT" >honest.json
assert_eq "json: top-level members" '["keys","disqualified"]' "$(json_get honest.json 'Object.keys(d)')"
assert_eq "json: two keys" 2 "$(json_get honest.json d.keys.length)"
assert_eq "json: nobody disqualified" '[]' "$(json_get honest.json d.disqualified)"
assert_eq "json: members of a key" '["pubkey","group","shares"]' "$(json_get honest.json 'Object.keys(d.keys[0])')"
assert_ne "json: the two keys differ" "$(json_get honest.json d.keys[0].pubkey)" "$(json_get honest.json d.keys[1].pubkey)"
assert_eq "no temporary directory left" "honest honest.json" "$(ls -d honest* | tr '\n' ' ' | sed 's/ $//')"
for key in 0 1; do
    pk=$(json_get honest.json "d.keys[$key].pubkey")
    assert_match "key $key: pubkey is 48 bytes of hex" "$HEX48" "$pk"
    G=$(json_get honest.json "d.keys[$key].group")
    assert_eq "key $key: group file path" "honest/keys/$key/group.json" "$G"
    assert_eq "key $key: group key = pubkey" "$pk" "$(json_get "$G" d.group_public_key)"
    assert_eq "key $key: K and n" "3 5" "$(json_get "$G" 'd.threshold + " " + d.shares')"
    assert_eq "key $key: owners p1..p5, one index each" \
        '[["p1",[1]],["p2",[2]],["p3",[3]],["p4",[4]],["p5",[5]]]' \
        "$(json_get "$G" 'd.owners.map(o => [o.id, o.indices])')"
    assert_eq "key $key: shares of every owner" \
        "{\"p1\":[\"honest/keys/$key/p1/share-1.json\"],\"p2\":[\"honest/keys/$key/p2/share-2.json\"],\"p3\":[\"honest/keys/$key/p3/share-3.json\"],\"p4\":[\"honest/keys/$key/p4/share-4.json\"],\"p5\":[\"honest/keys/$key/p5/share-5.json\"]}" \
        "$(json_get honest.json "d.keys[$key].shares")"
    for o in 1 2 3 4 5; do
        S=honest/keys/$key/p$o/share-$o.json
        assert_eq "key $key: p$o's directory is private" 700 "$(stat -c %a "honest/keys/$key/p$o")"
        assert_eq "key $key: $S mode 0600" 600 "$(stat -c %a "$S")"
        assert_eq "key $key: $S names its owner, index, K, n, group key" "p$o $o 3 5 ${pk#0x}" \
            "$(json_get "$S" 'd.tkms.owner + " " + d.tkms.index + " " + d.tkms.threshold + " " + d.tkms.shares + " " + d.tkms.group_public_key.slice(2)')"
        assert_eq "key $key: $S pubkey is share key $o" "$(json_get "$G" "d.share_public_keys[$((o - 1))]")" \
            "0x$(json_get "$S" d.pubkey)"
    done
    sign_combine_verify "key $key, shares of p1 p3 p5" honest "$key" \
        honest/keys/$key/p1/share-1.json honest/keys/$key/p3/share-3.json honest/keys/$key/p5/share-5.json
    first=$SIG
    sign_combine_verify "key $key, shares of p2 p4 p5" honest "$key" \
        honest/keys/$key/p4/share-4.json honest/keys/$key/p2/share-2.json honest/keys/$key/p5/share-5.json
    assert_eq "key $key: any K shares give the same signature" "$first" "$SIG"
    run "$TKMS" combine --group "$G" --message "$M" honest-k$key-p1.json honest-k$key-p2.json
    assert_eq "key $key: two shares are not enough" 1 "$RC"
done
T=honest/transcript.json
assert_eq "transcript.json: members" '["ceremony_id","spec_hash","transcript","keys","disqualified"]' \
    "$(json_get $T 'Object.keys(d)')"
assert_eq "transcript.json: the keys" "$(json_get honest.json 'd.keys.map(k => k.pubkey)')" "$(json_get $T d.keys)"
assert_match "transcript.json: transcript hash" '^0x[0-9a-f]{64}$' "$(json_get $T d.transcript)"
assert_match "transcript.json: ceremony id" '^0x[0-9a-f]{64}$' "$(json_get $T d.ceremony_id)"
assert_eq "transcript.json: public" 644 "$(stat -c %a $T)"

# ---- one misbehaving party among five ---------------------------------------
# kind, what the reason must say, signed messages in the evidence
for fault in "bad-share:do not match:2" "bad-commitment:do not match:2" "missing:no deal:0" \
             "equivocate:two different deals:2" "bad-signature:bad signature:0" \
             "replay:another ceremony:0"; do
    IFS=: read -r kind keyword evidence <<<"$fault"
    run simulate --parties 5 --threshold 3 --malicious "p2:$kind" --out-dir "$kind" --json
    assert_eq "$kind: exit ($ERR)" 0 "$RC"
    printf '%s\n' "$OUT" >"$kind.json"
    assert_eq "$kind: exactly p2 is disqualified" '["p2"]' "$(json_get "$kind.json" 'd.disqualified.map(q => q.party)')"
    assert_contains "$kind: the reason" "$keyword" "$(json_get "$kind.json" 'd.disqualified[0].reason')"
    assert_eq "$kind: the transcript names p2 with $evidence signed messages" "p2 $evidence" \
        "$(json_get "$kind/transcript.json" 'd.disqualified.map(q => q.party + " " + q.evidence.length).join()')"
    assert_eq "$kind: p2's shares are not written" '["p1","p3","p4","p5"]' \
        "$(json_get "$kind.json" 'Object.keys(d.keys[0].shares)')"
    check "$kind: no directory for p2" test ! -e "$kind/keys/0/p2"
    sign_combine_verify "$kind: honest p1 p3 p4 sign" "$kind" 0 \
        "$kind/keys/0/p1/share-1.json" "$kind/keys/0/p3/share-3.json" "$kind/keys/0/p4/share-4.json"
done
# the human output: the key, then who was disqualified and why
run simulate --parties 5 --threshold 3 --malicious p4:missing --out-dir human
assert_eq "human output: exit" 0 "$RC"
assert_match "human output: the key" "^key 0: 0x[0-9a-f]{96}$" "$(head -1 <<<"$OUT")"
assert_eq "human output: the disqualified party" "disqualified p4: sent no deal" "$(tail -1 <<<"$OUT")"
# two misbehaving parties: 3 of 5 honest still make a 3-of-5 key
run simulate --parties 5 --threshold 3 --malicious p1:bad-commitment,p5:replay --out-dir two --json
assert_eq "two faulty: exit ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >two.json
assert_eq "two faulty: both disqualified" '["p1","p5"]' "$(json_get two.json 'd.disqualified.map(q => q.party).sort()')"
sign_combine_verify "two faulty: p2 p3 p4 sign" two 0 two/keys/0/p2/share-2.json two/keys/0/p3/share-3.json \
    two/keys/0/p4/share-4.json

# too few honest parties: 3-of-3 with one silent cannot confirm the key
expect_error "3-of-3 with a missing party" 1 "ceremony simulate" "failed" \
    simulate --parties 3 --threshold 3 --malicious p2:missing --out-dir short
check "3-of-3 with a missing party: nothing written" test -z "$(ls -d short* 2>/dev/null)"

# ---- weighted owners from a stakes file --------------------------------------
cat >stakes.json <<'JSON'
[{"id": "dave", "stake": 10}, {"id": "alice", "stake": "40"}, {"id": "carol", "stake": 20},
 {"id": "bob", "stake": "30"}]
JSON
run simulate --stakes stakes.json --shares 10 --threshold 6 --out-dir weighted --json
assert_eq "weighted: exit ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >weighted.json
G=weighted/keys/0/group.json
assert_eq "weighted: owners named by the stakes file, shares by the allocation rule" \
    '[["alice",[1,2,3,4]],["bob",[5,6,7]],["carol",[8,9]],["dave",[10]]]' \
    "$(json_get $G 'd.owners.map(o => [o.id, o.indices])')"
"$TKMS" allocate --stakes stakes.json --shares 10 --fraction 0.5 --json >alloc.json
assert_eq "weighted: the same share counts as tkms allocate" \
    "$(json_get alloc.json 'd.owners.map(o => o.shares)')" \
    "$(json_get $G 'd.owners.map(o => o.indices.length)')"
assert_eq "weighted: K 6 of n 10" "6 10" "$(json_get $G 'd.threshold + " " + d.shares')"
assert_eq "weighted: bob's shares in his directory" \
    '["weighted/keys/0/bob/share-5.json","weighted/keys/0/bob/share-6.json","weighted/keys/0/bob/share-7.json"]' \
    "$(json_get weighted.json d.keys[0].shares.bob)"
assert_eq "weighted: alice's directory holds her 4 shares" \
    "share-1.json share-2.json share-3.json share-4.json" "$(ls weighted/keys/0/alice | tr '\n' ' ' | sed 's/ $//')"
assert_eq "weighted: a share names its owner" carol "$(json_get weighted/keys/0/carol/share-9.json d.tkms.owner)"
PK=$(json_get weighted.json d.keys[0].pubkey)
for o in alice bob carol dave; do
    run "$TKMS" sign --keystore-dir "weighted/keys/0/$o" --message "$M" --json
    assert_eq "weighted: $o signs with all its shares ($ERR)" 0 "$RC"
    printf '%s\n' "$OUT" >"w-$o.json"
done
run "$TKMS" combine --group $G --message "$M" w-bob.json w-carol.json w-dave.json
assert_eq "weighted: bob+carol+dave (6 shares) sign ($ERR)" 0 "$RC"
WSIG=$OUT
run "$TKMS" verify --pubkey "$PK" --message "$M" --signature "$WSIG"
assert_eq "weighted: the signature verifies" "0 valid" "$RC $OUT"
run "$TKMS" combine --group $G --message "$M" w-alice.json w-dave.json w-carol.json
assert_eq "weighted: alice+carol+dave give the same signature" "$WSIG" "$OUT"
run "$TKMS" combine --group $G --message "$M" w-alice.json w-dave.json
assert_eq "weighted: alice+dave (5 shares) cannot sign" 1 "$RC"
run simulate --stakes stakes.json --shares 10 --threshold 6 --malicious bob:bad-share --out-dir wbad --json
assert_eq "weighted, bob bad-share: exit ($ERR)" 0 "$RC"
printf '%s\n' "$OUT" >wbad.json
assert_eq "weighted, bob bad-share: bob is disqualified" '["bob"]' \
    "$(json_get wbad.json 'd.disqualified.map(q => q.party)')"
run "$TKMS" sign --keystore-dir wbad/keys/0/alice --message "$M" --json
printf '%s\n' "$OUT" >wb-alice.json
run "$TKMS" sign --keystore-dir wbad/keys/0/carol --message "$M" --json
printf '%s\n' "$OUT" >wb-carol.json
run "$TKMS" combine --group wbad/keys/0/group.json --message "$M" wb-alice.json wb-carol.json
WBSIG=$OUT
run "$TKMS" verify --pubkey "$(json_get wbad.json d.keys[0].pubkey)" --message "$M" --signature "$WBSIG"
assert_eq "weighted, bob bad-share: alice+carol sign" "0 valid" "$RC $OUT"

# ---- errors -----------------------------------------------------------------
C="ceremony simulate"
expect_error "unknown misbehaviour" 2 "$C" "unknown misbehaviour 'lie'" \
    simulate --parties 5 --threshold 3 --malicious p2:lie --out-dir e1
expect_error "unknown party" 2 "$C" "'p6' is not a party" \
    simulate --parties 5 --threshold 3 --malicious p6:missing --out-dir e2
expect_error "a party named twice" 2 "$C" "named twice" \
    simulate --parties 5 --threshold 3 --malicious p2:missing,p2:replay --out-dir e3
expect_error "not ID:KIND" 2 "$C" "not ID:KIND" \
    simulate --parties 5 --threshold 3 --malicious p2 --out-dir e4
expect_error "every party malicious" 2 "$C" "at least one must be honest" \
    simulate --parties 2 --threshold 1 --malicious p1:missing,p2:missing --out-dir e5
expect_error "K > N" 2 "$C" "larger than the 5 shares" \
    simulate --parties 5 --threshold 6 --out-dir e6
expect_error "weighted K > N" 2 "$C" "larger than the 10 shares" \
    simulate --stakes stakes.json --shares 10 --threshold 11 --out-dir e7
expect_error "K = 0" 2 "$C" "--threshold" simulate --parties 5 --threshold 0 --out-dir e8
expect_error "too many parties" 2 "$C" "--parties" simulate --parties 257 --threshold 3 --out-dir e9
expect_error "--stakes without --shares" 2 "$C" "go together" \
    simulate --stakes stakes.json --threshold 3 --out-dir e10
expect_error "--parties disagreeing with the stakes file" 2 "$C" "names 4 owners" \
    simulate --parties 5 --stakes stakes.json --shares 10 --threshold 3 --out-dir e11
expect_error "no --out-dir" 2 "$C" "--out-dir" simulate --parties 5 --threshold 3
expect_error "no password" 2 "$C" "no password" \
    env -u TKMS_PASSWORD "$TKMS" ceremony simulate --parties 3 --threshold 2 --out-dir e12 "${FAST[@]}"
echo '[{"id": "x", "stake": 0}]' >zero.json
expect_error "a bad stakes file" 1 "$C" "zero.json" \
    simulate --stakes zero.json --shares 10 --threshold 3 --out-dir e13
check "errors: nothing written" test -z "$(ls -d e[0-9]* 2>/dev/null)"
mkdir full && echo keep >full/file
expect_error "non-empty out dir" 1 "$C" "not empty" simulate --parties 5 --threshold 3 --out-dir full
assert_eq "non-empty out dir: left as it was" "file" "$(ls full)"
touch plain
expect_error "out dir is a file" 1 "$C" "not a directory" simulate --parties 3 --threshold 2 --out-dir plain
mkdir empty
run simulate --parties 3 --threshold 2 --out-dir empty/
assert_eq "an empty out dir is used ($ERR)" 0 "$RC"
check "the empty out dir now holds the results" test -f empty/keys/0/group.json -a -f empty/transcript.json
assert_eq "no temporary directory left" "empty" "$(ls -d empty* | tr '\n' ' ' | sed 's/ $//')"
run "$TKMS" ceremony simulate --help
assert_eq "--help: exit" 0 "$RC"
assert_contains "--help names the misbehaviours" "bad-commitment" "$OUT"

finish
