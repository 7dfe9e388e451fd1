#!/usr/bin/env bash
# test_slashing.sh — `tkms slashing import|export|check`: a check that may
# sign exits 0 and is recorded; a slashable one exits 3 with a one-line
# reason; the history round-trips through export and import; a database
# bound to one genesis validators root refuses another (exit 1); bad JSON
# and bad flags fail cleanly (1 / 2) and change nothing.
#
# Run: TKMS=build/tkms bash tests/cli/test_slashing.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
PK=0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c
PK2=0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b
GVR=0x$(hex_repeat 04 32)
OTHER_GVR=0x$(hex_repeat 05 32)
ROOT1=0x$(hex_repeat 11 32)
ROOT2=0x$(hex_repeat 22 32)

check_cmd() { "$TKMS" slashing check --db db.sqlite --genesis-validators-root "$GVR" "$@"; }

# ---- check: allowed, recorded, refused ----
run check_cmd --pubkey "$PK" --block 10 --signing-root "$ROOT1"
assert_eq "first block: exit" 0 "$RC"
assert_contains "first block: says so" "allowed" "$OUT"
run check_cmd --pubkey "$PK" --block 10 --signing-root "$ROOT1"
assert_eq "same block again (same root): exit" 0 "$RC"
expect_error "double block" 3 "slashing check" "double block proposal at slot 10" \
    check_cmd --pubkey "$PK" --block 10 --signing-root "$ROOT2"
expect_error "block without root at a recorded slot" 3 "slashing check" "slot 10" \
    check_cmd --pubkey "$PK" --block 10
expect_error "block below the lowest slot" 3 "slashing check" "below the lowest" \
    check_cmd --pubkey "$PK" --block 9

run check_cmd --pubkey "$PK" --source 10 --target 20
assert_eq "first attestation: exit" 0 "$RC"
expect_error "surrounding vote" 3 "slashing check" "surrounds the attestation 10->20" \
    check_cmd --pubkey "$PK" --source 9 --target 21
expect_error "surrounded vote" 3 "slashing check" "surrounded by the attestation 10->20" \
    check_cmd --pubkey "$PK" --source 11 --target 19
expect_error "double vote" 3 "slashing check" "double vote for target epoch 20" \
    check_cmd --pubkey "$PK" --source 10 --target 20 --signing-root "$ROOT2"
run check_cmd --pubkey "$PK2" --source 9 --target 21
assert_eq "another key has its own history" 0 "$RC"

# ---- export / import round trip ----
run "$TKMS" slashing export --db db.sqlite --genesis-validators-root "$GVR" --file out.json
assert_eq "export: exit" 0 "$RC"
assert_eq "export: version" 5 "$(json_get out.json 'd.metadata.interchange_format_version')"
assert_eq "export: gvr" "$GVR" "$(json_get out.json 'd.metadata.genesis_validators_root')"
assert_eq "export: block" 10 "$(json_get out.json 'd.data[0].signed_blocks[0].slot')"
assert_eq "export: root" "$ROOT1" "$(json_get out.json 'd.data[0].signed_blocks[0].signing_root')"
expect_error "export never overwrites" 1 "slashing export" "out.json" \
    "$TKMS" slashing export --db db.sqlite --genesis-validators-root "$GVR" --file out.json

run "$TKMS" slashing import --db new.sqlite --genesis-validators-root "$GVR" --file out.json
assert_eq "import into a new db: exit" 0 "$RC"
run "$TKMS" slashing export --db new.sqlite --genesis-validators-root "$GVR"
assert_eq "round trip: same history" "$(cat out.json)" "$OUT"
expect_error "imported history protects" 3 "slashing check" "surrounds" \
    "$TKMS" slashing check --db new.sqlite --genesis-validators-root "$GVR" --pubkey "$PK" \
    --source 8 --target 22
run "$TKMS" slashing export --db new.sqlite --genesis-validators-root "$GVR" --pubkey "$PK2"
assert_eq "filtered export: one key" 1 "$(node -e 'console.log(JSON.parse(process.argv[1]).data.length)' "$OUT")"

# ---- genesis validators root ----
expect_error "db bound to another gvr" 1 "slashing check" "genesis validators root" \
    "$TKMS" slashing check --db db.sqlite --genesis-validators-root "$OTHER_GVR" --pubkey "$PK" --block 50
json_edit out.json other.json "d.metadata.genesis_validators_root = '$OTHER_GVR'"
SUM=$(sha db.sqlite)
expect_error "import for another chain" 1 "slashing import" "genesis validators root" \
    "$TKMS" slashing import --db db.sqlite --genesis-validators-root "$GVR" --file other.json

# ---- bad input: nothing changes ----
printf '{"metadata": ' >broken.json
expect_error "bad JSON" 1 "slashing import" "not valid JSON" \
    "$TKMS" slashing import --db db.sqlite --genesis-validators-root "$GVR" --file broken.json
json_edit out.json badslot.json 'd.data[0].signed_blocks.push({slot: "x1"})'
expect_error "bad slot" 1 "slashing import" "data[0].signed_blocks[1].slot" \
    "$TKMS" slashing import --db db.sqlite --genesis-validators-root "$GVR" --file badslot.json
json_edit out.json badkey.json "d.data[1].pubkey = '0x$(hex_repeat 11 48)'"
expect_error "bad pubkey" 1 "slashing import" "data[1].pubkey" \
    "$TKMS" slashing import --db db.sqlite --genesis-validators-root "$GVR" --file badkey.json
json_edit out.json v4.json 'd.metadata.interchange_format_version = "4"'
expect_error "format version 4" 1 "slashing import" "interchange_format_version" \
    "$TKMS" slashing import --db db.sqlite --genesis-validators-root "$GVR" --file v4.json
run "$TKMS" slashing export --db db.sqlite --genesis-validators-root "$GVR"
assert_eq "failed imports changed nothing" "$(cat out.json)" "$OUT"
assert_eq "refusals did not write" "$SUM" "$(sha db.sqlite)"

expect_error "bad pubkey flag" 1 "slashing check" "pubkey" \
    check_cmd --pubkey 0x$(hex_repeat 11 48) --block 100
expect_error "both block and attestation" 2 "slashing check" "either" \
    check_cmd --pubkey "$PK" --block 100 --source 1 --target 2
expect_error "no target" 2 "slashing check" "--target" \
    check_cmd --pubkey "$PK" --source 1
expect_error "negative slot" 2 "slashing check" "--block" \
    check_cmd --pubkey "$PK" --block -1
expect_error "no db" 2 "slashing check" "--db" \
    "$TKMS" slashing check --genesis-validators-root "$GVR" --pubkey "$PK" --block 1
expect_error "no gvr" 2 "slashing import" "--genesis-validators-root" \
    "$TKMS" slashing import --db db.sqlite --file out.json
expect_error "unknown subcommand" 2 "slashing" "unknown subcommand" "$TKMS" slashing prune
expect_error "bad gvr" 1 "slashing export" "--genesis-validators-root" \
    "$TKMS" slashing export --db db.sqlite --genesis-validators-root 0x1234
expect_error "db in a missing directory" 1 "slashing check" "could not" \
    "$TKMS" slashing check --db nodir/db.sqlite --genesis-validators-root "$GVR" --pubkey "$PK" --block 1

for sub in import export check; do
    run "$TKMS" slashing "$sub" --help
    assert_eq "$sub --help: exit" 0 "$RC"
    assert_contains "$sub --help: usage" "usage: tkms slashing" "$OUT"
done
run "$TKMS" --help
assert_contains "listed in tkms --help" "slashing" "$OUT"

finish
