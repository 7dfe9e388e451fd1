#!/usr/bin/env bash
# test_weighted.sh — weighted owners end to end through the CLI:
# allocate (47/17/36 of N = 100 at F = 0.4, so K = 41) → split --allocation
# (one directory per owner) → each owner signs with all its shares in one
# response → combine owner responses. Owners whose shares reach K sign
# (byte-identical to the whole key); below K they cannot; an owner that
# lies in one of its partials is blamed by name; an owner answering for
# another owner's share is refused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TMP"

cat > stakes.json <<'JSON'
[{"id": "carol", "stake": "36"}, {"id": "alice", "stake": 47}, {"id": "bob", "stake": "17"}]
JSON
run "$TKMS" allocate --stakes stakes.json --shares 100 --fraction 0.4 --json
assert_eq "allocate: exit" 0 "$RC"
printf '%s\n' "$OUT" > alloc.json
assert_eq "allocate: K" 41 "$(json_get alloc.json d.threshold)"

"$TKMS" keygen --out key.json "${FAST[@]}" > /dev/null
run "$TKMS" split --keystore key.json --allocation alloc.json --out-dir shares "${FAST[@]}"
assert_eq "split --allocation: exit ($ERR)" 0 "$RC"
assert_eq "group.json owners" '[{"id":"alice","indices":47},{"id":"bob","indices":17},{"id":"carol","indices":36}]' \
    "$(json_get shares/group.json 'd.owners.map(o => ({id: o.id, indices: o.indices.length}))')"
assert_eq "bob's indices are 48..64" "48 64" "$(json_get shares/group.json 'd.owners[1].indices[0] + " " + d.owners[1].indices[16]')"
assert_eq "alice's directory holds 47 shares" 47 "$(ls shares/alice | wc -l | tr -d ' ')"
check "bob's directory holds shares 48..64" test -f shares/bob/share-48.json -a -f shares/bob/share-64.json -a ! -e shares/bob/share-65.json
assert_eq "an owner's directory is private" 700 "$(stat -c %a shares/carol)"
assert_eq "a share keystore names its owner" carol "$(json_get shares/carol/share-65.json d.tkms.owner)"

M=0x$(printf 'weighted owners' | sha256sum | cut -c1-64)
whole=$("$TKMS" sign --keystore key.json --message "$M")
for o in alice bob carol; do
    run "$TKMS" sign --keystore-dir "shares/$o" --message "$M" --json
    assert_eq "$o signs with all its shares ($ERR)" 0 "$RC"
    printf '%s\n' "$OUT" > "$o.json"
    assert_eq "$o's response names $o" "$o" "$(json_get "$o.json" d.owner)"
done
assert_eq "alice's response holds 47 partials" 47 "$(json_get alice.json d.partials.length)"

combine() { run "$TKMS" combine --group shares/group.json --message "$M" "$@"; }
for set in "alice" "alice bob" "bob carol" "carol alice" "alice bob carol"; do
    args=(); for o in $set; do args+=("$o.json"); done
    combine "${args[@]}"
    assert_eq "{$set} (at least 41 shares) signs" "$whole" "$OUT"
done
for o in bob carol; do
    expect_error "$o alone (fewer than 41 shares)" 1 combine "41 needed" \
        "$TKMS" combine --group shares/group.json --message "$M" "$o.json"
done

# bob lies in one partial: negated, a valid point with the wrong value; his
# response goes first so the combiner examines it
json_edit bob.json bob-lies.json '
    const h = d.partials[3].signature.slice(2);
    d.partials[3].signature = "0x" + (parseInt(h.slice(0, 2), 16) ^ 0x20).toString(16).padStart(2, "0") + h.slice(2);'
combine bob-lies.json alice.json
assert_eq "with a lying bob, bob+alice still sign" "$whole" "$OUT"
assert_contains "the lie is blamed on bob" "share 51 is invalid: owner bob is to blame" "$ERR"
combine bob-lies.json carol.json
assert_eq "bob (lying) + carol: 52 valid shares is enough" "$whole" "$OUT"
combine bob-lies.json
assert_eq "bob lies and only bob answers: exit" 1 "$RC"
assert_eq "bob lies and only bob answers: no signature" "" "$OUT"
assert_eq "bob lies and only bob answers: the blame, then the shortfall" \
    "tkms combine: partial signature of share 51 is invalid: owner bob is to blame
tkms combine: only 16 valid partial signatures, 41 needed" "$ERR"
# an owner cannot answer for another owner's share
json_edit alice.json alice-steals.json 'd.partials[0].index = 48'
expect_error "alice answering for bob's share 48" 1 combine "which belongs to owner bob" \
    "$TKMS" combine --group shares/group.json --message "$M" alice-steals.json
json_edit alice.json mallory.json 'd.owner = "mallory"'
expect_error "an unknown owner" 1 combine "not an owner of this group" \
    "$TKMS" combine --group shares/group.json --message "$M" mallory.json
# the same response twice is a repeated index
expect_error "one response given twice" 1 combine "given twice" \
    "$TKMS" combine --group shares/group.json --message "$M" alice.json alice.json
# shares of different owners cannot sign as one response
expect_error "sign with shares of two owners" 1 sign "belongs to owner" \
    "$TKMS" sign --keystore shares/alice/share-1.json --keystore shares/bob/share-48.json --message "$M" --json
# split refuses K/N flags next to an allocation, and a tampered allocation
expect_error "split --allocation with --threshold" 2 split "do not also give" \
    "$TKMS" split --keystore key.json --allocation alloc.json --threshold 3 --out-dir x
json_edit alloc.json alloc-bad.json 'd.owners[0].shares = 46; d.owners[1].shares = 18'
expect_error "split with a tampered allocation" 1 split "alloc-bad.json" \
    "$TKMS" split --keystore key.json --allocation alloc-bad.json --out-dir y "${FAST[@]}"
check "nothing written for the tampered allocation" test ! -e y

finish
