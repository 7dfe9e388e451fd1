#!/usr/bin/env bash
# test_allocate.sh — `tkms allocate`: the seed cases of DESIGN §5 through
# --json (shape and values), the human table, the --max-error search, and
# every refusal of issue 3 item 5 (empty list, duplicate ids, zero,
# negative or non-numeric stakes, an unquoted real stake, N < 1, F outside
# [0, 1)), each one line "tkms allocate: …" with a non-zero exit and
# nothing on stdout.
#
# Run: TKMS=build/tkms bash tests/cli/test_allocate.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TMP"
A=("$TKMS" allocate)

cat >seed1.json <<'EOF'
[{"id": "alice", "stake": 47}, {"id": "bob", "stake": 17}, {"id": "carol", "stake": 36}]
EOF
cat >seed2.json <<'EOF'
[{"id": "carol", "stake": "36"}, {"id": "alice", "stake": "47.50"}, {"id": "bob", "stake": "16.5"}]
EOF
node -e 'const p = ["0.007", "0.006", "0.004", "0.003"];
         console.log(JSON.stringify(Array.from({length: 200}, (_, i) =>
             ({id: "o" + String(i).padStart(3, "0"), stake: p[Math.floor(i / 50)]}))));' >seed3.json

# ---- seed cases, --json --------------------------------------------------
"${A[@]}" --stakes seed1.json --shares 100 --fraction 0.40 --json >a1.json
assert_eq "json keys" "total,threshold,owners,cannot_sign_max,can_sign_min" \
    "$(json_get a1.json 'Object.keys(d).join()')"
assert_eq "owner keys" "id,stake,shares,indices" "$(json_get a1.json 'Object.keys(d.owners[0]).join()')"
assert_eq "seed 1: N" 100 "$(json_get a1.json d.total)"
assert_eq "seed 1: K" 41 "$(json_get a1.json d.threshold)"
assert_eq "seed 1: shares" "[47,17,36]" "$(json_get a1.json 'd.owners.map(o => o.shares)')"
assert_eq "seed 1: ids" "[\"alice\",\"bob\",\"carol\"]" "$(json_get a1.json 'd.owners.map(o => o.id)')"
assert_eq "seed 1: stakes are strings" "[\"47\",\"17\",\"36\"]" "$(json_get a1.json 'd.owners.map(o => o.stake)')"
assert_eq "seed 1: indices" "1-47 48-64 65-100" \
    "$(json_get a1.json 'd.owners.map(o => o.indices[0] + "-" + o.indices.at(-1)).join(" ")')"
assert_eq "seed 1: indices contiguous" true \
    "$(json_get a1.json 'd.owners.flatMap(o => o.indices).every((x, i) => x === i + 1)')"
assert_eq "seed 1: report" "9/25 47/100" "$(json_get a1.json 'd.cannot_sign_max + " " + d.can_sign_min')"

"${A[@]}" --stakes seed2.json --shares 100 --fraction 0.4 --json >a2.json
assert_eq "seed 2: shares" "[48,16,36]" "$(json_get a2.json 'd.owners.map(o => o.shares)')"
assert_eq "seed 2: canonical stakes" "[\"47.5\",\"16.5\",\"36\"]" "$(json_get a2.json 'd.owners.map(o => o.stake)')"
assert_eq "seed 2: report" "9/25 19/40" "$(json_get a2.json 'd.cannot_sign_max + " " + d.can_sign_min')"

"${A[@]}" --stakes seed3.json --shares 100 --fraction 0.4 --json >a3.json
assert_eq "seed 3: one share to each of the first hundred" true \
    "$(json_get a3.json 'd.owners.every((o, i) => o.shares === (i < 100 ? 1 : 0))')"
assert_eq "seed 3: none to the rest, no indices" true \
    "$(json_get a3.json 'd.owners.slice(100).every(o => o.indices.length === 0)')"
assert_eq "seed 3: report" "63/100 123/500" "$(json_get a3.json 'd.cannot_sign_max + " " + d.can_sign_min')"

"${A[@]}" --stakes seed1.json --shares 100 --fraction 0 --json >f0.json
assert_eq "F = 0 → K = 1" 1 "$(json_get f0.json d.threshold)"
"${A[@]}" --stakes seed1.json --shares 100 --fraction 0.999 --json >f1.json
assert_eq "F = 0.999 → K = 100" 100 "$(json_get f1.json d.threshold)"

# ---- human output ----------------------------------------------------------
run "${A[@]}" --stakes seed1.json --shares 100 --fraction 0.40
assert_eq "table: exit status" 0 "$RC"
assert_match "table: header" '^owner +stake +shares +indices' "$OUT"
assert_match "table: alice" 'alice +47 +47 +1-47$' "$OUT"
assert_match "table: carol" 'carol +36 +36 +65-100$' "$OUT"
assert_contains "table: N and K" "N = 100 shares, threshold K = 41" "$OUT"
assert_contains "table: cannot sign" "cannot sign: 9/25 ≈ 0.360000" "$OUT"
assert_contains "table: can sign" "can sign:   47/100 ≈ 0.470000" "$OUT"
run "${A[@]}" --stakes seed3.json --shares 100 --fraction 0.4
assert_match "table: one share" 'o099 +0.006 +1 +100$' "$OUT"
assert_match "table: no share" 'o100 +0.004 +0 +-$' "$OUT"

# ---- the search ------------------------------------------------------------
# 47.5/16.5/36 at F = 0.4: N = 7 (4/1/2 shares, K = 3) is the first N where
# carol (0.36) cannot sign and alice (0.475) can: error 0.075.
"${A[@]}" --stakes seed2.json --fraction 0.4 --max-error 0.075 --json >s7.json
assert_eq "search: N" 7 "$(json_get s7.json d.total)"
"${A[@]}" --stakes seed2.json --fraction 0.4 --shares 7 --json >n7.json
assert_eq "search: the same allocation as --shares" "$(sha n7.json)" "$(sha s7.json)"
run "${A[@]}" --stakes seed2.json --fraction 0.4 --max-error 0.075
assert_contains "search: human output" "smallest N whose report is within 0.075 of F = 0.4: 7" "$OUT"
"${A[@]}" --stakes seed2.json --fraction 0.4 --max-error 1 --json >s1.json
assert_eq "search: E = 1 → N = 1" 1 "$(json_get s1.json d.total)"
expect_error "search: none within 0.07" 1 allocate "closest is N = 7" \
    "${A[@]}" --stakes seed2.json --fraction 0.4 --max-error 0.07
expect_error "search: none up to M" 1 allocate "no share count N in 1..6" \
    "${A[@]}" --stakes seed2.json --fraction 0.4 --max-error 0.075 --max-shares 6

# ---- refusals ------------------------------------------------------------------
printf '[]\n' >empty.json
printf '[{"id": "a", "stake": 1}, {"id": "a", "stake": 2}]\n' >dup.json
printf '[{"id": "alice", "stake": 1}, {"id": "bob", "stake": "0"}]\n' >zero.json
printf '[{"id": "alice", "stake": 1}, {"id": "bob", "stake": -3}]\n' >neg.json
printf '[{"id": "alice", "stake": "1"}, {"id": "bob", "stake": "-3.5"}]\n' >neg-string.json
printf '[{"id": "alice", "stake": "lots"}]\n' >nan.json
printf '[{"id": "alice", "stake": 47.5}]\n' >real.json
printf '[{"id": "alice", "stake": 100000000000000000000}]\n' >huge.json
printf '{"alice": 47}\n' >object.json
printf '[{"id": "../x", "stake": 1}]\n' >bad-id.json

expect_error "empty list" 1 allocate "the list is empty" \
    "${A[@]}" --stakes empty.json --shares 10 --fraction 0.4
expect_error "duplicate ids" 1 allocate "entries 1 and 2 have the same id 'a'" \
    "${A[@]}" --stakes dup.json --shares 10 --fraction 0.4
expect_error "zero stake" 1 allocate "entry 2 ('bob'): stake must be greater than zero" \
    "${A[@]}" --stakes zero.json --shares 10 --fraction 0.4
expect_error "negative stake" 1 allocate "entry 2 ('bob'): stake must be greater than zero (it is negative)" \
    "${A[@]}" --stakes neg.json --shares 10 --fraction 0.4
expect_error "negative stake string" 1 allocate "negative" \
    "${A[@]}" --stakes neg-string.json --shares 10 --fraction 0.4
expect_error "non-numeric stake" 1 allocate "entry 1 ('alice'): stake is not a decimal number" \
    "${A[@]}" --stakes nan.json --shares 10 --fraction 0.4
expect_error "unquoted real stake" 1 allocate 'quote it as a string, e.g. "47.5"' \
    "${A[@]}" --stakes real.json --shares 10 --fraction 0.4
expect_error "integer too large for JSON" 1 allocate "quote it as a string" \
    "${A[@]}" --stakes huge.json --shares 10 --fraction 0.4
expect_error "not an array" 1 allocate "must be a JSON array" \
    "${A[@]}" --stakes object.json --shares 10 --fraction 0.4
expect_error "bad id" 1 allocate "entry 1: id must be" \
    "${A[@]}" --stakes bad-id.json --shares 10 --fraction 0.4
expect_error "missing file" 1 allocate "cannot read stakes file" \
    "${A[@]}" --stakes nowhere.json --shares 10 --fraction 0.4
expect_error "N = 0" 2 allocate "--shares must be a whole number in 1..1024" \
    "${A[@]}" --stakes seed1.json --shares 0 --fraction 0.4
expect_error "N negative" 2 allocate "--shares must be a whole number" \
    "${A[@]}" --stakes seed1.json --shares -5 --fraction 0.4
expect_error "N too large" 2 allocate "1..1024" \
    "${A[@]}" --stakes seed1.json --shares 1025 --fraction 0.4
expect_error "F = 1" 2 allocate "fraction must be at least 0 and below 1" \
    "${A[@]}" --stakes seed1.json --shares 10 --fraction 1
expect_error "F = 1.5" 2 allocate "below 1" \
    "${A[@]}" --stakes seed1.json --shares 10 --fraction 1.5
expect_error "F negative" 2 allocate "fraction must not be negative" \
    "${A[@]}" --stakes seed1.json --shares 10 --fraction -0.1
expect_error "F not a number" 2 allocate "fraction must be a decimal number" \
    "${A[@]}" --stakes seed1.json --shares 10 --fraction 40%
expect_error "E negative" 2 allocate "maximum error must not be negative" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --max-error -0.1
expect_error "M = 0" 2 allocate "--max-shares must be a whole number in 1..1024" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --max-error 0.1 --max-shares 0
expect_error "no --stakes" 2 allocate "--stakes and --fraction are required" \
    "${A[@]}" --shares 10 --fraction 0.4
expect_error "no --fraction" 2 allocate "--stakes and --fraction are required" \
    "${A[@]}" --stakes seed1.json --shares 10
expect_error "neither N nor E" 2 allocate "either --shares N or --max-error E" \
    "${A[@]}" --stakes seed1.json --fraction 0.4
expect_error "both N and E" 2 allocate "either --shares N or --max-error E" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --shares 10 --max-error 0.1
expect_error "M without E" 2 allocate "--max-shares goes with --max-error" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --shares 10 --max-shares 20
expect_error "unknown flag" 2 allocate "bad or incomplete option '--weights'" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --shares 10 --weights x
expect_error "extra argument" 2 allocate "unexpected argument 'more'" \
    "${A[@]}" --stakes seed1.json --fraction 0.4 --shares 10 more

run "${A[@]}" --help
assert_eq "--help: exit status" 0 "$RC"
assert_contains "--help: usage" "usage: tkms allocate --stakes FILE --fraction F --shares N" "$OUT"

finish
