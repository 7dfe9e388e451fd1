#!/usr/bin/env bash
# test_migration.sh — moving validator keys between clients at a real
# `tkms gateway`, in front of three real `tkms server` processes (a 2-of-3
# DKG of two keys run by `tkms ceremony run`). Clients vcold and vcnew
# (bearer tokens), each the other's standby.
#   - offline: `tkms gateway assign --data-dir` is recorded in the audit
#     log, and refused while a gateway runs on that directory;
#   - `tkms gateway migrate --url` (the operator's token): the old client
#     gets 403 at once, the new one signs, publicKeys follow; bad requests
#     (wrong token, unknown client, unknown key, migrate of a key without a
#     client) are refused with the reason;
#   - after a migration the old and the new client both try to sign the
#     same duty with different block roots: at most one signature, and it
#     verifies. Twice over: (a) at one gateway, the migration racing the
#     two requests; (b) the old client still served by a second gateway
#     with slashing records of its own, so only the servers' slashing
#     protection stands between the two — old first, new first, and both
#     at once, several times;
#   - the rules: migration.max_refusals slashing refusals within the
#     window move every key to the standby; `tkms gateway mark-unhealthy`
#     does it at once; migration.silence_seconds without a sign request
#     does it too;
#   - every move is in the gateway's audit log with its cause, which
#     `tkms audit verify` accepts; /metrics counts the moves; assignments
#     survive a restart.
#
# Run: TKMS=build/tkms bash tests/gateway/test_migration.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=../server/server_lib.sh
source "$(dirname "$0")/../server/server_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
trap 'for p in p1 p2 p3 gw gw2; do stop_server $p KILL; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

make_pki
start_servers
run_dkg 2
KEY_A=${DKG_KEYS[0]}
KEY_B=${DKG_KEYS[1]}
for t in vcold vcnew op; do head -c 24 /dev/urandom | base64 >"$TMP/$t.token"; done

# gateway_yaml NAME CLIENTS: a gateway config with the operator token and
# the given clients lines.
gateway_yaml() {
    mkdir -p "$TMP/$1"
    cat >"$TMP/$1/gateway.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: data
tls: {cert: $PKI/server.pem, key: $PKI/server-key.pem}
keymanager: {token_file: $TMP/op.token}
migration: {max_refusals: 2, window_seconds: 60}
$(servers_yaml)
clients:
$2
YAML
}
gateway_yaml gw "  - {name: vcold, auth: token, token_file: $TMP/vcold.token, standby: vcnew}
  - {name: vcnew, auth: token, token_file: $TMP/vcnew.token, standby: vcold}"
GW_DATA=$TMP/gw/data
AUDIT=$GW_DATA/audit.log

# --- offline ------------------------------------------------------------------------------
run "$TKMS" gateway add-key --data-dir "$GW_DATA" --group "$TMP/p1/data/keys/$KEY_A/group.json" --client vcold
assert_eq "add key A for vcold" 0 "$RC"
run "$TKMS" gateway add-key --data-dir "$GW_DATA" --group "$TMP/p1/data/keys/$KEY_B/group.json"
assert_eq "add key B (no client)" 0 "$RC"
run "$TKMS" gateway migrate "$KEY_B" --to vcold --data-dir "$GW_DATA"
assert_eq "migrate of a key without a client is refused" 1 "$RC"
assert_contains "and says to assign it" "use assign" "$ERR"
run "$TKMS" gateway assign "$KEY_B" --to vcold --data-dir "$GW_DATA" --reason "first owner"
assert_eq "assign key B to vcold (offline)" 0 "$RC"
assert_eq "assign prints the move" "$KEY_B: (none) -> vcold" "$OUT"
assert_contains "the assignment is in the audit log" '"event":"key.assign"' "$(cat "$AUDIT")"
assert_contains "with the operator as its cause" '"to":"vcold","cause":"operator","reason":"first owner"' "$(cat "$AUDIT")"
check "the gateway starts" start_gateway gw
run "$TKMS" gateway assign "$KEY_B" --to vcnew --data-dir "$GW_DATA"
assert_ne "an offline move while the gateway runs is refused" 0 "$RC"
assert_contains "because the gateway holds the audit log" "in use by another writer" "$ERR"

# gw NAME CLIENT METHOD PATH [BODY]: a request to gateway NAME as CLIENT
# (vcold, vcnew, op: their bearer tokens).
gw() {
    local name=$1 client=$2 method=$3 path=$4 body=${5:-} port_var="PORT_$1" args=()
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    rm -f "$TMP/.gw.$name.$client"
    STATUS=$(curl -s -o "$TMP/.gw.$name.$client" -w '%{http_code}' --max-time 30 -X "$method" \
        --cacert "$PKI/ca.pem" -H "Authorization: Bearer $(cat "$TMP/$client.token")" "${args[@]}" \
        "https://127.0.0.1:${!port_var}$path") || true
    BODY=$(cat "$TMP/.gw.$name.$client" 2>/dev/null)
}
keys_of() { gw gw "$1" GET /api/v1/eth2/publicKeys; echo "$BODY"; }
# signing_root BODY: BODY's signing root for key A, as the gateway computes
# it (sent by key A's client at gw with a wrong one, the 400 says it).
signing_root() {
    local client
    client=$(grep -q "$KEY_A" <<<"$(keys_of vcnew)" && echo vcnew || echo vcold)
    node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
r.signingRoot = "0x" + "00".repeat(32); fs.writeFileSync(process.argv[2], JSON.stringify(r))' "$1" "$TMP/.root.json"
    gw gw "$client" POST "/api/v1/eth2/sign/$KEY_A" "$TMP/.root.json"
    sed -n 's/.*computed \(0x[0-9a-f]\{64\}\).*/\1/p' <<<"$BODY"
}
# move CMD SUBJECT [FLAGS…]: `tkms gateway CMD SUBJECT` at the running gateway.
move() {
    local cmd=$1 subject=$2; shift 2
    run "$TKMS" gateway "$cmd" "$subject" "$@" --url "https://127.0.0.1:$PORT_gw" \
        --token-file "$TMP/op.token" --ca "$PKI/ca.pem"
}
# await_keys CLIENT EXPECTED: waits (10 s at most) until CLIENT's publicKeys is EXPECTED.
await_keys() {
    local i
    for i in $(seq 1 100); do
        [ "$(keys_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
BOTH="[\"$KEY_A\",\"$KEY_B\"]"
[[ "$KEY_B" < "$KEY_A" ]] && BOTH="[\"$KEY_B\",\"$KEY_A\"]"
assert_eq "vcold has both keys" "$BOTH" "$(keys_of vcold)"
assert_eq "vcnew has none" "[]" "$(keys_of vcnew)"

# --- the operator's routes -------------------------------------------------------------------
attestation 11 1 2 "$TMP/old-1-2.json"
gw gw vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/old-1-2.json"
assert_eq "vcold signs key A (1->2)" 200 "$STATUS"
run "$TKMS" gateway migrate "$KEY_A" --to vcnew --url "https://127.0.0.1:$PORT_gw" \
    --token-file "$TMP/vcold.token" --ca "$PKI/ca.pem"
assert_eq "a client's token is not the operator's" 1 "$RC"
assert_contains "401" "answered 401" "$ERR"
move migrate "$KEY_A" --to nobody
assert_contains "an unknown client: 400 naming it" "no client named 'nobody'" "$ERR"
move migrate "0x$(printf '%096d' 0)" --to vcnew
assert_contains "an unknown key: 404" "answered 404" "$ERR"
printf '{"pubkey": 7}' >"$TMP/bad-move.json"
gw gw op POST /tkms/v1/migrate "$TMP/bad-move.json"
assert_eq "a malformed move: 400" 400 "$STATUS"
assert_contains "it says what is wrong" "must be strings" "$BODY"
gw gw vcold POST /tkms/v1/migrate "$TMP/bad-move.json"
assert_eq "the routes need the operator's token" 401 "$STATUS"

move migrate "$KEY_A" --to vcnew --reason "vcold's host is being retired"
assert_eq "migrate key A to vcnew at the running gateway" 0 "$RC"
assert_eq "it prints what moved" "{\"data\":[{\"pubkey\":\"$KEY_A\",\"from\":\"vcold\",\"to\":\"vcnew\"}]}" "$OUT"
assert_eq "vcnew has key A at once" "[\"$KEY_A\"]" "$(keys_of vcnew)"
assert_eq "vcold keeps key B" "[\"$KEY_B\"]" "$(keys_of vcold)"
attestation 12 2 3 "$TMP/old-2-3.json"
gw gw vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/old-2-3.json"
assert_eq "the old client may no longer sign key A" 403 "$STATUS"
assert_contains "the 403 names the new client" "assigned to vcnew" "$BODY"
attestation 21 1 2 "$TMP/new-1-2.json"
gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/new-1-2.json"
assert_eq "the new client's different vote for the duty the old one signed: 412" 412 "$STATUS"
gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/old-2-3.json"
assert_eq "the new client signs the next duty" 200 "$STATUS"
sig=$(node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$BODY")
run "$TKMS" verify --pubkey "$KEY_A" --message "$(signing_root "$TMP/old-2-3.json")" --signature "$sig"
assert_eq "and the signature verifies" 0 "$RC"
move migrate "$KEY_A" --to vcnew
assert_eq "a move to the key's own client is a no-op" '{"data":[]}' "$OUT"
assert_contains "the migration is in the audit log" \
    "\"event\":\"key.migrate\",\"data\":{\"pubkey\":\"$KEY_A\",\"from\":\"vcold\",\"to\":\"vcnew\",\"cause\":\"operator\"" "$(cat "$AUDIT")"
assert_contains "the gateway logs it" "msg=\"key moved\" key=$KEY_A from=vcold to=vcnew cause=operator" "$(cat "$TMP/gw/log")"

# --- (a) the migration races the old and the new client at one gateway -----------------------
# The key is vcold's again; vcold's request for a duty is sent, the
# migration and vcnew's conflicting request follow at once.
move migrate "$KEY_A" --to vcold
assert_eq "key A back to vcold" 0 "$RC"
signed_pairs=0
for t in 10 11 12 13 14; do
    attestation 31 $((t - 1)) "$t" "$TMP/ra-old-$t.json"; attestation 32 $((t - 1)) "$t" "$TMP/ra-new-$t.json"
    gw gw vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/ra-old-$t.json" >/dev/null & p_old=$!
    move migrate "$KEY_A" --to vcnew & p_move=$!
    gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/ra-new-$t.json" & p_new=$!
    wait "$p_old" "$p_move" "$p_new"
    old=$(cat "$TMP/.gw.gw.vcold" | grep -c signature) new=$(cat "$TMP/.gw.gw.vcnew" | grep -c signature)
    [ $((old + new)) -le 1 ] || signed_pairs=$((signed_pairs + 1))
    move migrate "$KEY_A" --to vcold
done
assert_eq "racing a migration: never two signatures for one duty (5 races)" 0 "$signed_pairs"

# --- (b) the old client at a second gateway, the new one at the first -----------------------
# Gateway gw2 has its own slashing records and still gives key A to
# vcold: only the servers' slashing protection stands between the two.
move migrate "$KEY_A" --to vcnew
gateway_yaml gw2 "  - {name: vcold, auth: token, token_file: $TMP/vcold.token}"
run "$TKMS" gateway add-key --data-dir "$TMP/gw2/data" --group "$TMP/p1/data/keys/$KEY_A/group.json" --client vcold
assert_eq "gateway 2 serves key A to vcold" 0 "$RC"
check "gateway 2 starts" start_gateway gw2
# race2 ORDER T: duty T (T-1 -> T): vcold at gw2 and vcnew at gw, with
# different block roots; ORDER old, new or both (at once).
race2() {
    local order=$1 t=$2 so sn
    # Losing races are vcnew's slashing refusals: moving the key away and
    # back resets them, so the refusal rule stays out of this part.
    move migrate "$KEY_A" --to vcold; move migrate "$KEY_A" --to vcnew
    attestation 41 $((t - 1)) "$t" "$TMP/r2-old-$t.json"; attestation 42 $((t - 1)) "$t" "$TMP/r2-new-$t.json"
    case "$order" in
        old) gw gw2 vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-old-$t.json"
             gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-new-$t.json" ;;
        new) gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-new-$t.json"
             gw gw2 vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-old-$t.json" ;;
        both) gw gw2 vcold POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-old-$t.json" & local p1=$!
              gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/r2-new-$t.json" & local p2=$!
              wait "$p1" "$p2" ;;
    esac
    cp "$TMP/.gw.gw2.vcold" "$TMP/r2-old-$t.out"; cp "$TMP/.gw.gw.vcnew" "$TMP/r2-new-$t.out"
    so=$(grep -c signature "$TMP/r2-old-$t.out") sn=$(grep -c signature "$TMP/r2-new-$t.out")
    if [ $((so + sn)) -le 1 ]; then pass; else fail "duty $t ($order): both clients got a signature"; fi
    if [ "$so" = 1 ]; then loser=$TMP/r2-new-$t.out; else loser=$TMP/r2-old-$t.out; fi
    assert_contains "duty $t ($order): the other is refused by the servers' slashing protection" \
        "double vote for target epoch $t" "$(cat "$loser")"
    local winner="" file=""
    [ "$so" = 1 ] && winner=$TMP/r2-old-$t.out file=$TMP/r2-old-$t.json
    [ "$sn" = 1 ] && winner=$TMP/r2-new-$t.out file=$TMP/r2-new-$t.json
    [ "$order" = both ] || { [ -n "$winner" ] && pass || fail "duty $t ($order): the first asked got no signature"; }
    if [ -n "$winner" ]; then
        local sig
        sig=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).signature)' "$winner")
        run "$TKMS" verify --pubkey "$KEY_A" --message "$(signing_root "$file")" --signature "$sig"
        assert_eq "duty $t ($order): the one signature verifies" 0 "$RC"
    fi
}
race2 old 101
race2 new 102
for t in 103 104 105 106 107 108; do race2 both "$t"; done
stop_server gw2
# The losses above count as vcnew's slashing refusals; a move resets them.
move migrate "$KEY_A" --to vcold
move migrate "$KEY_A" --to vcnew
assert_eq "key A is vcnew's, its refusals reset" 0 "$RC"

# --- the rules: slashing refusals, an operator's mark, silence ---------------------------------
# vcnew holds key A; two slashing refusals within the window move every
# key of vcnew to its standby, vcold.
attestation 51 101 102 "$TMP/double-1.json"; attestation 52 101 102 "$TMP/double-2.json"
gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/double-1.json"
assert_eq "a slashable request: 412" 412 "$STATUS"
assert_eq "one refusal moves nothing" "[\"$KEY_A\"]" "$(keys_of vcnew)"
gw gw vcnew POST "/api/v1/eth2/sign/$KEY_A" "$TMP/double-2.json"
assert_eq "a second slashable request: 412" 412 "$STATUS"
check "two refusals within the window: vcnew's keys go to its standby vcold" await_keys vcold "$BOTH"
assert_eq "vcnew has none left" "[]" "$(keys_of vcnew)"
assert_contains "the rule's move is audited with its cause" \
    "\"from\":\"vcnew\",\"to\":\"vcold\",\"cause\":\"slashing-refusals\",\"reason\":\"2 slashing refusals within 60 s\"" "$(cat "$AUDIT")"
move mark-unhealthy vcold --reason "host down for maintenance"
assert_eq "mark vcold unhealthy" 0 "$RC"
check "marked unhealthy: vcold's keys go to vcnew" await_keys vcnew "$BOTH"
assert_contains "the mark is audited" '"cause":"unhealthy-mark","reason":"host down for maintenance"' "$(cat "$AUDIT")"
gw gw op GET /metrics
assert_match "/metrics counts the moves" '^tkms_gateway_keys_moved_total ([5-9]|[1-9][0-9]+)$' "$(grep '^tkms_gateway_keys_moved_total' <<<"$BODY")"
stop_server gw
check "the gateway restarts" start_gateway gw
assert_eq "assignments survive a restart" "$BOTH" "$(keys_of vcnew)"
stop_server gw
# Silence: restarted with migration.silence_seconds 2, vcnew (holding the
# keys) sends nothing, and loses them to vcold. (vcold, silent too, would
# get them back 2 s later: every bounce is a move, audited.)
check "the gateway restarts with the silence rule" start_gateway gw --migration-silence-seconds 2
check "silence: vcnew's keys go to vcold" await_keys vcold "$BOTH"
assert_contains "the silence move is audited" '"from":"vcnew","to":"vcold","cause":"silence","reason":"no sign request for 2 s"' "$(cat "$AUDIT")"
stop_server gw

# --- the audit log ---------------------------------------------------------------------------
run "$TKMS" audit verify --log "$AUDIT"
assert_eq "the gateway's audit log verifies" 0 "$RC"
now=$(cat "$GW_DATA/keys/$KEY_A/client") other=vcold
[ "$now" = vcold ] && other=vcnew
run "$TKMS" gateway migrate "$KEY_A" --to "$other" --data-dir "$GW_DATA"
assert_eq "offline migrate once the gateway is stopped" 0 "$RC"
assert_eq "it prints the move" "$KEY_A: $now -> $other" "$OUT"
run "$TKMS" audit verify --log "$AUDIT"
assert_eq "the audit log still verifies" 0 "$RC"
finish
