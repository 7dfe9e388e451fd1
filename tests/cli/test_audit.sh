#!/usr/bin/env bash
# test_audit.sh — `tkms audit append|verify`: records appended through the
# CLI form a chain that verifies ("ok: N records, last hash 0x…"); a
# changed, deleted, reordered or torn line makes verify exit 1 with one
# line naming the bad line; append refuses a broken log and bad input.
#
# Run: TKMS=build/tkms bash tests/cli/test_audit.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
HEX32='0x[0-9a-f]{64}'

# ---- append and verify ------------------------------------------------------
for i in 1 2 3 4 5; do
    run "$TKMS" audit append --log a.log --event sign --data "{\"slot\":$i,\"pk\":\"0xab\"}"
    assert_eq "append $i: exit status" 0 "$RC"
    assert_match "append $i: prints seq and hash" "^appended record $i, hash $HEX32\$" "$OUT"
done
LAST=${OUT##* }
assert_eq "log mode 0600" 600 "$(stat -c %a a.log)"
assert_eq "five lines" 5 "$(wc -l <a.log | tr -d ' ')"
run "$TKMS" audit verify --log a.log
assert_eq "verify: exit status" 0 "$RC"
assert_eq "verify: output" "ok: 5 records, last hash $LAST" "$OUT"
assert_eq "verify: nothing on stderr" "" "$ERR"
assert_eq "line 2 prev is the hash of line 1" \
    "0x$(head -1 a.log | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
    "$(sed -n 2p a.log | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).prev)')"
: >empty.log
run "$TKMS" audit verify --log empty.log
assert_eq "empty log verifies" "ok: 0 records, last hash 0x$(hex_repeat 00 32)" "$OUT"

# ---- tampering ----------------------------------------------------------------
SHA=$(sha a.log)
# change one character of line 2's data (slot 2 -> 7)
node -e 'const fs = require("fs"); const l = fs.readFileSync("a.log", "utf8").split("\n");
         l[1] = l[1].replace("\"slot\":2", "\"slot\":7"); fs.writeFileSync("b.log", l.join("\n"));'
assert_ne "tamper changed the file" "$SHA" "$(sha b.log)"
expect_error "changed data" 1 "audit verify" "line 3: prev does not match the hash of line 2" \
    "$TKMS" audit verify --log b.log
expect_error "append refuses a tampered log" 1 "audit append" "line 3: prev does not match" \
    "$TKMS" audit append --log b.log --event sign --data '{}'

sed '3d' a.log >c.log
assert_ne "delete changed the file" "$SHA" "$(sha c.log)"
expect_error "deleted line" 1 "audit verify" "line 3: seq is 4, expected 3" \
    "$TKMS" audit verify --log c.log

awk 'NR == 2 { held = $0; next } NR == 3 { print; print held; next } { print }' a.log >d.log
assert_ne "reorder changed the file" "$SHA" "$(sha d.log)"
expect_error "reordered lines" 1 "audit verify" "line 2: seq is 3, expected 2" \
    "$TKMS" audit verify --log d.log

head -c -5 a.log >e.log
expect_error "torn last line" 1 "audit verify" "line 5 is incomplete (torn write)" \
    "$TKMS" audit verify --log e.log
expect_error "append refuses a torn log" 1 "audit append" "torn write" \
    "$TKMS" audit append --log e.log --event sign --data '{}'

cp a.log f.log
flip_byte f.log 3   # inside "seq" of line 1
assert_ne "flip changed the file" "$SHA" "$(sha f.log)"
expect_error "flipped byte" 1 "audit verify" "line 1" "$TKMS" audit verify --log f.log

# ---- bad input ------------------------------------------------------------------
expect_error "bad event" 1 "audit append" "event" \
    "$TKMS" audit append --log a.log --event 'Bad Event' --data '{}'
expect_error "data not an object" 1 "audit append" "not an object" \
    "$TKMS" audit append --log a.log --event sign --data '[1]'
assert_eq "refused appends left the log alone" "$SHA" "$(sha a.log)"
expect_error "missing log" 1 "audit verify" "cannot open" "$TKMS" audit verify --log nope.log
expect_error "--log required" 2 "audit verify" "--log" "$TKMS" audit verify
expect_error "append needs --event and --data" 2 "audit append" "--event" \
    "$TKMS" audit append --log a.log
expect_error "unknown subcommand" 2 audit "unknown subcommand" "$TKMS" audit frob
expect_error "unknown flag" 2 "audit verify" "--bogus" "$TKMS" audit verify --log a.log --bogus
run "$TKMS" audit --help
assert_eq "--help: exit 0" 0 "$RC"
assert_contains "--help: mentions verify" "tkms audit verify --log F" "$OUT"
run "$TKMS" audit verify --help
assert_eq "verify --help: exit 0" 0 "$RC"
run "$TKMS" --help
assert_contains "listed in tkms --help" "audit" "$OUT"

finish
