#!/usr/bin/env bash
# test_ceremony_files.sh — key ceremonies with no network: `tkms ceremony
# spec` and `init` make the ceremony directory, each party runs `tkms
# ceremony step` in turn until it reports done, and the messages travel as
# files. Checks: a 2-of-3 DKG of two keys ends with the same keys at every
# party, share keystores from two parties sign and the signature verifies;
# a wrong identity is refused; a corrupted point-to-point message is
# refused by name and the ceremony still finishes (the dealer justifies);
# a corrupted broadcast stops its sender with a clear error, and the others
# finish with --close-round, blaming it; an altered read record is caught;
# a refresh (reshare among the same parties) via files keeps the key, and
# so does a change of owners and threshold.
#
# Run: TKMS=build/tkms bash tests/cli/test_ceremony_files.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
HEX32='^0x[0-9a-f]{64}$'
HEX48='^0x[0-9a-f]{96}$'
PARTIES=(p1 p2 p3)
MSG=0x$(printf 'signed by a key nobody ever held' | od -An -tx1 | tr -d ' \n')

for p in "${PARTIES[@]}"; do
    "$TKMS" identity new --out $p.id "${FAST[@]}" >$p.pub
done
LIST="p1:$(cat p1.pub),p2:$(cat p2.pub),p3:$(cat p3.pub)"

# step DIR PARTY [FLAGS...] — one step of PARTY (identity PARTY.id).
step() {
    local dir=$1 p=$2
    shift 2
    run "$TKMS" ceremony step --dir "$dir" --party "$p" --identity "$p.id" "${FAST[@]}" "$@"
}

# round_robin DIR [OLD] — steps every party of PARTIES in turn (with
# --old-shares OLD/<party> when OLD is given and the party has old shares
# there) until all report done or 10 turns pass; DONE[p] holds each party's
# last output, ERRS collects stderr.
declare -A DONE
ERRS=""
round_robin() {
    local dir=$1 old=${2:-} turn p finished
    DONE=()
    ERRS=""
    for ((turn = 0; turn < 10; turn++)); do
        finished=0
        for p in "${PARTIES[@]}"; do
            if [ -n "$old" ] && [ -d "$old/$p" ]; then
                step "$dir" $p --old-shares "$old/$p"
            else
                step "$dir" $p
            fi
            ERRS+=$ERR
            if [ "$RC" != 0 ]; then
                fail "round robin in $dir: $p failed ($RC): $ERR"
                return
            fi
            DONE[$p]=$OUT
            [[ "$OUT" == done* ]] && finished=$((finished + 1))
        done
        [ $finished = ${#PARTIES[@]} ] && return
    done
    fail "round robin in $dir: not done after 10 turns: ${DONE[*]}"
}

# ---- spec and init ------------------------------------------------------------
run "$TKMS" ceremony spec --parties "$LIST" --threshold 2 --keys 2 --out spec.json
assert_eq "spec: exit status" 0 "$RC"
assert_match "spec: prints the ceremony id" "^ceremony_id 0x[0-9a-f]{64}$" "$(head -1 <<<"$OUT")"
assert_match "spec: prints the spec hash" "^spec_hash 0x[0-9a-f]{64}$" "$(tail -1 <<<"$OUT")"
IDS=$OUT
assert_eq "spec.json: kind" dkg "$(json_get spec.json d.kind)"
assert_eq "spec.json: threshold" 2 "$(json_get spec.json d.threshold)"
assert_eq "spec.json: keys" 2 "$(json_get spec.json d.keys)"
assert_eq "spec.json: parties" '["p1","p2","p3"]' "$(json_get spec.json 'd.parties.map(p => p.id)')"
assert_eq "spec.json: p2's identity" "$(cat p2.pub)" "$(json_get spec.json d.parties[1].identity)"
run "$TKMS" ceremony spec --parties "$LIST" --threshold 2 --keys 2 --out spec2.json
assert_ne "spec: a fresh ceremony id each time" "$(json_get spec.json d.ceremony_id)" \
    "$(json_get spec2.json d.ceremony_id)"
expect_error "spec: never overwrites" 1 "ceremony spec" "already exists" \
    "$TKMS" ceremony spec --parties "$LIST" --threshold 2 --out spec.json
expect_error "spec: K above n" 1 "ceremony spec" "threshold" \
    "$TKMS" ceremony spec --parties "$LIST" --threshold 4 --out x.json
expect_error "spec: the same identity twice" 1 "ceremony spec" "same identity" \
    "$TKMS" ceremony spec --parties "p1:$(cat p1.pub),p2:$(cat p1.pub)" --threshold 1 --out x.json
expect_error "spec: not an Ed25519 key" 1 "ceremony spec" "Ed25519" \
    "$TKMS" ceremony spec --parties "p1:0x$(hex_repeat 00 32)" --threshold 1 --out x.json
expect_error "spec: ids that make file names ambiguous" 1 "ceremony spec" "ambiguous" \
    "$TKMS" ceremony spec --parties "a:$(cat p1.pub),a-b:$(cat p2.pub)" --threshold 1 --out x.json
expect_error "spec: a malformed party" 2 "ceremony spec" "ID:0xIDENTITY" \
    "$TKMS" ceremony spec --parties "p1" --threshold 1 --out x.json
check "spec: nothing written on failure" test ! -e x.json

run "$TKMS" ceremony init --spec spec.json --out-dir D
assert_eq "init: exit status" 0 "$RC"
assert_eq "init: prints the spec's ceremony id and hash" "$IDS" "$OUT"
for r in 1 2 3 4; do check "init: messages/round-$r" test -d D/messages/round-$r; done
check "init: out/" test -d D/out
assert_eq "init: spec.json is the spec as tkms writes it" "$(sha spec.json)" "$(sha D/spec.json)"
check "init: no temporary directory left" test -z "$(ls -d D.tmp-* 2>/dev/null)"
expect_error "init: an existing non-empty directory" 1 "ceremony init" "not empty" \
    "$TKMS" ceremony init --spec spec.json --out-dir D
mkdir empty
run "$TKMS" ceremony init --spec spec2.json --out-dir empty
assert_eq "init: into an empty directory" 0 "$RC"
json_edit spec.json badspec.json "d.threshold = 0"
expect_error "init: a bad spec names the field" 1 "ceremony init" "threshold" \
    "$TKMS" ceremony init --spec badspec.json --out-dir bad
check "init: nothing created for a bad spec" test ! -e bad

# ---- the DKG, one party at a time ----------------------------------------------
expect_error "step: the wrong identity file is refused" 1 "ceremony step" \
    "not the one the spec gives 'p1'" \
    "$TKMS" ceremony step --dir D --party p1 --identity p2.id "${FAST[@]}"
expect_error "step: not a party" 1 "ceremony step" "not a party" \
    "$TKMS" ceremony step --dir D --party p9 --identity p1.id "${FAST[@]}"
expect_error "step: wrong password" 1 "ceremony step" "wrong password" \
    env TKMS_PASSWORD=wrong "$TKMS" ceremony step --dir D --party p1 --identity p1.id
check "step: nothing written by refused steps" test -z "$(ls D/messages/round-1)"
step D p1
assert_eq "step: the first party waits for the others" "waiting: round 1: p2, p3" "$OUT"
assert_eq "step: p1 wrote its deal, two sealed shares and its manifest" \
    "p1-all-1.msg p1-p2-2.msg p1-p3-3.msg p1.sent" "$(ls D/messages/round-1 | tr '\n' ' ' | sed 's/ $//')"
SHA_DEAL=$(sha D/messages/round-1/p1-all-1.msg)
step D p1
assert_eq "step: again, still waiting" "waiting: round 1: p2, p3" "$OUT"
assert_eq "step: a re-run deals the same polynomial" "$SHA_DEAL" "$(sha D/messages/round-1/p1-all-1.msg)"

round_robin D
for p in "${PARTIES[@]}"; do
    assert_eq "dkg: $p reports done and two keys" 3 "$(grep -cE '^(done|0x[0-9a-f]{96})$' <<<"${DONE[$p]}")"
done
assert_eq "dkg: p1 and p2 report the same keys" "${DONE[p1]}" "${DONE[p2]}"
assert_eq "dkg: p1 and p3 report the same keys" "${DONE[p1]}" "${DONE[p3]}"
assert_eq "dkg: nothing refused" "" "$ERRS"
KEY0=$(sed -n 2p <<<"${DONE[p1]}")
KEY1=$(sed -n 3p <<<"${DONE[p1]}")
assert_match "dkg: key 0 is a public key" "$HEX48" "$KEY0"
assert_ne "dkg: two different keys" "$KEY0" "$KEY1"
for m in 0 1; do
    G=D/out/keys/$m/group.json
    check "dkg: key $m: group.json" test -f $G
    assert_eq "dkg: key $m: 2-of-3" "2 3" "$(json_get $G d.threshold) $(json_get $G d.shares)"
    for i in 1 2 3; do
        S=D/out/keys/$m/p$i/share-$i.json
        check "dkg: key $m: p$i's share keystore" test -f $S
        assert_eq "dkg: key $m: share $i is mode 0600" 600 "$(stat -c %a $S)"
    done
done
assert_eq "dkg: group.json of key 0 has the key" "$KEY0" "$(json_get D/out/keys/0/group.json d.group_public_key)"
assert_eq "dkg: group.json of key 1 has the key" "$KEY1" "$(json_get D/out/keys/1/group.json d.group_public_key)"
assert_eq "dkg: transcript lists the keys" "[\"$KEY0\",\"$KEY1\"]" "$(json_get D/out/transcript.json d.keys)"

# K shares from two different parties sign; the signature verifies
sign_and_verify() {  # LABEL KEY M PARTY_A PARTY_B
    local label=$1 key=$2 m=$3 a=$4 b=$5
    "$TKMS" sign --keystore D/out/keys/$m/$a/share-${a#p}.json --message "$MSG" --json >k$m-$a.json
    "$TKMS" sign --keystore D/out/keys/$m/$b/share-${b#p}.json --message "$MSG" --json >k$m-$b.json
    run "$TKMS" combine --group D/out/keys/$m/group.json --message "$MSG" k$m-$a.json k$m-$b.json
    assert_eq "$label: combine" 0 "$RC"
    local sig=$OUT
    run "$TKMS" verify --pubkey "$key" --message "$MSG" --signature "$sig"
    assert_eq "$label: verify accepts against the new key" 0 "$RC"
    run "$TKMS" verify --pubkey "$key" --message 0xdead --signature "$sig"
    assert_ne "$label: not for another message" 0 "$RC"
}
sign_and_verify "key 0 by p1+p3" "$KEY0" 0 p1 p3
sign_and_verify "key 1 by p2+p3" "$KEY1" 1 p2 p3

SHA_SHARE=$(sha D/out/keys/0/p1/share-1.json)
step D p1
assert_eq "after done: step again reports done" "${DONE[p1]}" "$OUT"
assert_eq "after done: the results are not rewritten" "$SHA_SHARE" "$(sha D/out/keys/0/p1/share-1.json)"

# a read record is signed: altering it stops the party
cp D/messages/round-2/p3.read saved.read
# flip the first character of line 2 to a different one, always
node -e 'const fs = require("fs"), f = process.argv[1];
         const lines = fs.readFileSync(f, "utf8").split("\n");
         lines[1] = (lines[1][0] === "0" ? "1" : "0") + lines[1].slice(1);
         fs.writeFileSync(f, lines.join("\n"));' D/messages/round-2/p3.read
assert_ne "the read record really changed" "$(sha saved.read)" "$(sha D/messages/round-2/p3.read)"
expect_error "an altered read record is caught" 1 "ceremony step" "p3.read" \
    "$TKMS" ceremony step --dir D --party p3 --identity p3.id "${FAST[@]}"
cp saved.read D/messages/round-2/p3.read

# a message file altered after it was read
cp D/messages/round-1/p2-all-1.msg saved.msg
flip_byte D/messages/round-1/p2-all-1.msg 100
expect_error "a message altered after it was read" 1 "ceremony step" "changed after p1 read it" \
    "$TKMS" ceremony step --dir D --party p1 --identity p1.id "${FAST[@]}"
cp saved.msg D/messages/round-1/p2-all-1.msg

# ---- a corrupted sealed share: refused by name, the dealer justifies ----------
"$TKMS" ceremony spec --parties "$LIST" --threshold 2 --out c.json >/dev/null
"$TKMS" ceremony init --spec c.json --out-dir C >/dev/null
step C p2
flip_byte C/messages/round-1/p2-p1-1.msg 100
round_robin C
assert_contains "corrupted share: the refusal names the file" \
    "tkms ceremony step: refused messages/round-1/p2-p1-1.msg: " "$ERRS"
assert_contains "corrupted share: and says why" "bad signature" "$ERRS"
assert_eq "corrupted share: reported once" 1 "$(grep -c refused <<<"$ERRS")"
assert_eq "corrupted share: p1 and p3 agree" "${DONE[p1]}" "${DONE[p3]}"
assert_eq "corrupted share: p2 and p3 agree" "${DONE[p2]}" "${DONE[p3]}"
assert_eq "corrupted share: nobody disqualified" 2 "$(wc -l <<<"${DONE[p1]}")"

# ---- a corrupted broadcast: the sender stops, the others close rounds ---------
"$TKMS" ceremony spec --parties "$LIST" --threshold 2 --out e.json >/dev/null
"$TKMS" ceremony init --spec e.json --out-dir E >/dev/null
step E p2
flip_byte E/messages/round-1/p2-all-1.msg 100
expect_error "corrupted broadcast: its sender refuses to go on" 1 "ceremony step" \
    "E/messages/round-1/p2-all-1.msg exists and differs" \
    "$TKMS" ceremony step --dir E --party p2 --identity p2.id "${FAST[@]}"
step E p1
step E p3
assert_contains "corrupted broadcast: the others refuse it by name" \
    "refused messages/round-1/p2-all-1.msg" "$ERR"
assert_eq "corrupted broadcast: then wait for p2" "waiting: round 2: p1, p2" "$OUT"
step E p1
assert_eq "corrupted broadcast: p1 waits for p2" "waiting: round 2: p2" "$OUT"
ERRS=""
for ((turn = 0; turn < 4; turn++)); do
    for p in p1 p3; do
        step E $p --close-round
        DONE[$p]=$OUT
        ERRS+=$ERR
    done
done
assert_contains "--close-round: says what it closes without" "closing round 4 without all messages from p2" "$ERRS"
assert_eq "--close-round: p1 done" done "$(head -1 <<<"${DONE[p1]}")"
assert_eq "--close-round: p1 and p3 agree" "${DONE[p1]}" "${DONE[p3]}"
assert_contains "--close-round: p2 is disqualified, with the reason" \
    "disqualified p2: sent no valid deal" "${DONE[p1]}"
assert_eq "--close-round: the transcript names p2" p2 "$(json_get E/out/transcript.json d.disqualified[0].party)"
check "--close-round: p1 has its share" test -f E/out/keys/0/p1/share-1.json

# ---- a refresh via files: same parties, same key, new shares ------------------
expect_error "reshare spec: --keys must be 1" 2 "ceremony spec" "--keys" \
    "$TKMS" ceremony spec --parties "$LIST" --threshold 2 --keys 2 \
    --reshare-group D/out/keys/0/group.json --out r.json
run "$TKMS" ceremony spec --parties "$LIST" --threshold 2 --reshare-group D/out/keys/0/group.json \
    --out r.json
assert_eq "reshare spec: exit status" 0 "$RC"
assert_eq "reshare spec: kind" reshare "$(json_get r.json d.kind)"
assert_eq "reshare spec: the old key" "$KEY0" "$(json_get r.json d.old_group.group_public_key)"
"$TKMS" ceremony init --spec r.json --out-dir R >/dev/null
expect_error "reshare: an old owner needs --old-shares" 2 "ceremony step" "--old-shares" \
    "$TKMS" ceremony step --dir R --party p1 --identity p1.id "${FAST[@]}"
expect_error "reshare: another owner's shares are refused" 1 "ceremony step" "share-1.json" \
    "$TKMS" ceremony step --dir R --party p1 --identity p1.id --old-shares D/out/keys/0/p2 "${FAST[@]}"
round_robin R D/out/keys/0
for p in "${PARTIES[@]}"; do
    assert_eq "reshare: $p done with the same key" "$(printf 'done\n%s' "$KEY0")" "${DONE[$p]}"
done
assert_eq "reshare: the group key is kept" "$KEY0" "$(json_get R/out/keys/0/group.json d.group_public_key)"
for i in 1 2 3; do
    assert_ne "reshare: share $i is new" "$(json_get D/out/keys/0/p$i/share-$i.json d.pubkey)" \
        "$(json_get R/out/keys/0/p$i/share-$i.json d.pubkey)"
done
"$TKMS" sign --keystore R/out/keys/0/p1/share-1.json --message "$MSG" --json >r1.json
"$TKMS" sign --keystore R/out/keys/0/p2/share-2.json --message "$MSG" --json >r2.json
run "$TKMS" combine --group R/out/keys/0/group.json --message "$MSG" r1.json r2.json
assert_eq "reshare: two new shares combine" 0 "$RC"
run "$TKMS" verify --pubkey "$KEY0" --message "$MSG" --signature "$OUT"
assert_eq "reshare: and verify against the old key" 0 "$RC"

# ---- a change of owners via files: p1 leaves, p4 joins with two shares, K 2 -> 3 --
"$TKMS" identity new --out p4.id "${FAST[@]}" >p4.pub
run "$TKMS" ceremony spec --threshold 3 \
    --parties "p1:$(cat p1.pub):0,p2:$(cat p2.pub),p3:$(cat p3.pub),p4:$(cat p4.pub):2" \
    --reshare-group D/out/keys/1/group.json --out n.json
assert_eq "owner change spec: exit status" 0 "$RC"
"$TKMS" ceremony init --spec n.json --out-dir N >/dev/null
expect_error "owner change: a new owner has no old shares" 2 "ceremony step" "holds no share" \
    "$TKMS" ceremony step --dir N --party p4 --identity p4.id --old-shares D/out/keys/1/p3 "${FAST[@]}"
PARTIES=(p1 p2 p3 p4)
round_robin N D/out/keys/1
for p in "${PARTIES[@]}"; do
    assert_eq "owner change: $p done with key 1" "$(printf 'done\n%s' "$KEY1")" "${DONE[$p]}"
done
G=N/out/keys/0/group.json
assert_eq "owner change: K 3 of n 4" "3 4" "$(json_get $G d.threshold) $(json_get $G d.shares)"
assert_eq "owner change: owners" '[[],[1],[2],[3,4]]' "$(json_get $G 'd.owners.map(o => o.indices)')"
check "owner change: the leaver holds no new share" test ! -e N/out/keys/0/p1
check "owner change: p4 holds shares 3 and 4" test -f N/out/keys/0/p4/share-3.json -a -f N/out/keys/0/p4/share-4.json
"$TKMS" sign --keystore-dir N/out/keys/0/p2 --message "$MSG" --json >n2.json
"$TKMS" sign --keystore-dir N/out/keys/0/p4 --message "$MSG" --json >n4.json
run "$TKMS" combine --group $G --message "$MSG" n2.json n4.json
assert_eq "owner change: p2's and p4's three shares combine" 0 "$RC"
run "$TKMS" verify --pubkey "$KEY1" --message "$MSG" --signature "$OUT"
assert_eq "owner change: and verify against key 1" 0 "$RC"
run "$TKMS" combine --group $G --message "$MSG" n4.json
assert_ne "owner change: p4's two shares alone do not" 0 "$RC"
PARTIES=(p1 p2 p3)

# ---- help ------------------------------------------------------------------------
for sub in spec init step; do
    run "$TKMS" ceremony $sub --help
    assert_eq "ceremony $sub --help: exit status" 0 "$RC"
    assert_contains "ceremony $sub --help: usage" "usage: tkms ceremony $sub" "$OUT"
done
expect_error "step: --dir, --party, --identity required" 2 "ceremony step" "required" \
    "$TKMS" ceremony step --dir D

finish
