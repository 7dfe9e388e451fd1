#!/usr/bin/env bash
# test_gateway.sh — `tkms gateway` in front of three real `tkms server`
# processes (a 2-of-3 DKG run by `tkms ceremony run`), driven with curl as
# the validator clients a Web3Signer serves:
#   - clients by certificate, by bearer token, and by a plain loopback
#     listener of their own; each may sign only its own keys (403 other-
#     wise, 401 for a stranger); publicKeys lists a client's keys;
#   - a signature comes back and `tkms verify` accepts it under the group
#     key; bad bodies 400; an unknown key 404;
#   - slashing protection at the gateway itself: a double vote is 412 from
#     the gateway's own database (its log and the reason say so) and no
#     server's audit log has it; a request of another chain (fork_info's
#     genesis validators root) is 400; a vote the gateway allows but the
#     servers have a conflicting record of is 412 from the servers; the
#     gateway's records (D/slashing.sqlite) survive a restart, and the
#     gateway refuses to start on a database of another chain;
#   - kill -9 of one server: signing goes on; /healthcheck says it is down;
#   - a server that returns invalid partials (fault injection) is locked out
#     with its signed response as evidence, the lockout survives a gateway
#     restart, shows in /metrics, and `tkms gateway unban` lifts it.
#
# Run: TKMS=build/tkms bash tests/gateway/test_gateway.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=../server/server_lib.sh
source "$(dirname "$0")/../server/server_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
trap 'for p in p1 p2 p3 gw; do stop_server $p KILL; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

make_pki
for c in vc1 vc2; do "$TKMS" certs client --dir "$PKI" --name "$c" >/dev/null; done
start_servers
run_dkg 2
KEY_A=${DKG_KEYS[0]}
KEY_B=${DKG_KEYS[1]}

# --- the gateway ----------------------------------------------------------------------
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
VC3_PORT=$(free_port)
head -c 24 /dev/urandom | base64 >"$TMP/vc2.token"
mkdir -p "$TMP/gw"
cat >"$TMP/gw/gateway.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: data
tls: {cert: $PKI/server.pem, key: $PKI/server-key.pem, ca: $PKI/ca.pem}
$(servers_yaml)
clients:
  - {name: vc1, auth: cert}
  - {name: vc2, auth: token, token_file: $TMP/vc2.token}
  - {name: vc3, auth: listen, listen: "127.0.0.1:$VC3_PORT"}
YAML
run "$TKMS" gateway add-key --data-dir "$TMP/gw/data" --group "$TMP/p1/data/keys/$KEY_A/group.json" --client vc1
assert_eq "add key A for vc1" 0 "$RC"
run "$TKMS" gateway add-key --data-dir "$TMP/gw/data" --group "$TMP/p1/data/keys/$KEY_B/group.json"
assert_eq "add key B" 0 "$RC"
run "$TKMS" gateway assign "$KEY_B" --to vc3 --data-dir "$TMP/gw/data"
assert_eq "assign key B to vc3" 0 "$RC"
check "the gateway starts" start_gateway gw

# gw CLIENT METHOD PATH [BODY]: a request to the gateway as CLIENT
# (vc1: certificate, vc2: token, vc3: its plain listener, none: nothing).
gw() {
    local client=$1 method=$2 path=$3 body=${4:-} args=()
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    local url="https://127.0.0.1:$PORT_gw$path"
    case "$client" in
        vc1) args+=(--cacert "$PKI/ca.pem" --cert "$PKI/vc1.pem" --key "$PKI/vc1-key.pem") ;;
        vc2) args+=(--cacert "$PKI/ca.pem" --cert "$PKI/vc2.pem" --key "$PKI/vc2-key.pem"
                    -H "Authorization: Bearer $(cat "$TMP/vc2.token")") ;;
        vc3) url="http://127.0.0.1:$VC3_PORT$path" ;;
        *) args+=(--cacert "$PKI/ca.pem" --cert "$PKI/intruder.pem" --key "$PKI/intruder-key.pem") ;;
    esac
    STATUS=$(curl -s -o "$TMP/.gw" -w '%{http_code}' --max-time 30 -X "$method" "${args[@]}" "$url") || true
    BODY=$(cat "$TMP/.gw" 2>/dev/null)
}
sig_of() { node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$BODY"; }
root_of() { json_get "$CAPTURES/$1.json" d.signingRoot; }

gw vc1 GET /upcheck
assert_eq "upcheck" 200 "$STATUS"
assert_eq "upcheck body" '{"status":"OK"}' "$BODY"
gw vc1 GET /api/v1/eth2/publicKeys
assert_eq "vc1's keys" "[\"$KEY_A\"]" "$BODY"
gw vc3 GET /api/v1/eth2/publicKeys
assert_eq "vc3's keys (its plain listener)" "[\"$KEY_B\"]" "$BODY"
gw vc2 GET /api/v1/eth2/publicKeys
assert_eq "vc2 (token) has none" "[]" "$BODY"

# --- signing ---------------------------------------------------------------------------
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "sign through the gateway" 200 "$STATUS"
run "$TKMS" verify --pubkey "$KEY_A" --message "$(root_of 04_RANDAO_REVEAL_phase0)" --signature "$(sig_of)"
assert_eq "the signature verifies under the group key" 0 "$RC"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$CAPTURES/12_ATTESTATION.json"
assert_eq "vc3 signs key B over plain loopback HTTP" 200 "$STATUS"
run "$TKMS" verify --pubkey "$KEY_B" --message "$(root_of 12_ATTESTATION)" --signature "$(sig_of)"
assert_eq "and it verifies" 0 "$RC"
gw vc2 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "vc2 may not sign vc1's key" 403 "$STATUS"
assert_contains "403 says whose it is" "assigned to vc1" "$BODY"
gw intruder POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "a certificate of no client: 401" 401 "$STATUS"
gw vc1 POST "/api/v1/eth2/sign/0x$(printf '%096d' 0)" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "unknown key: 404" 404 "$STATUS"
printf '{"type":' >"$TMP/bad.json"
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$TMP/bad.json"
assert_eq "malformed body: 400" 400 "$STATUS"
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
r.attestation.beacon_block_root = "0x" + "55".repeat(32); fs.writeFileSync(process.argv[2], JSON.stringify(r))' \
    "$CAPTURES/12_ATTESTATION.json" "$TMP/mismatch.json"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$TMP/mismatch.json"
assert_eq "signing-root mismatch: 400" 400 "$STATUS"
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
delete r.signingRoot; r.attestation.beacon_block_root = "0x" + "55".repeat(32); fs.writeFileSync(process.argv[2], JSON.stringify(r))' \
    "$CAPTURES/12_ATTESTATION.json" "$TMP/double.json"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$TMP/double.json"
assert_eq "a double vote: 412" 412 "$STATUS"
assert_contains "412 says why" "double vote" "$BODY"
assert_contains "412: the gateway itself refused" "refused by the gateway's slashing protection" "$BODY"
DOUBLE_LOG=$(grep "refused by the gateway's slashing protection" "$TMP/gw/log" | tail -1)
assert_contains "the gateway logs its refusal" "key=$KEY_B type=ATTESTATION" "$DOUBLE_LOG"
DOUBLE_ROOT=$(sed -n 's/.*signing_root=\(0x[0-9a-f]*\).*/\1/p' <<<"$DOUBLE_LOG")
assert_match "the refusal names the signing root" '^0x[0-9a-f]{64}$' "$DOUBLE_ROOT"
for p in p1 p2 p3; do
    check "$p's audit log has the allowed vote" grep -q "$(root_of 12_ATTESTATION)" "$TMP/$p/data/audit.log"
    check "$p's audit log has no request for the double vote" \
        test -z "$(grep -F "$DOUBLE_ROOT" "$TMP/$p/data/audit.log")"
done
attestation 66 3 4 "$TMP/other-chain.json" "0x$(printf '%064d' 7)"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$TMP/other-chain.json"
assert_eq "another chain's genesis validators root: 400" 400 "$STATUS"
assert_contains "400 says why" "wrong genesis validators root" "$BODY"
# The servers still judge for themselves: they have signed 3->4 with one
# block root (asked directly), the gateway has no record of it.
attestation 77 3 4 "$TMP/direct.json"
for p in p1 p2 p3; do
    api "$p" gateway POST "/v1/eth2/sign/$KEY_B" "$TMP/direct.json"
    assert_eq "$p signs 3->4 when asked directly" 200 "$STATUS"
done
attestation 78 3 4 "$TMP/conflict.json"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$TMP/conflict.json"
assert_eq "a vote the gateway allows but the servers refuse: 412" 412 "$STATUS"
assert_contains "the servers' reason" "double vote" "$BODY"
check "this 412 is the servers'" test -z "$(grep -F "refused by the gateway" <<<"$BODY")"
gw vc1 GET /healthcheck
assert_eq "healthcheck: up" 200 "$STATUS"
assert_contains "healthcheck: every share healthy" '"healthy_shares":3' "$BODY"

# --- a server dies ------------------------------------------------------------------------
stop_server p3 KILL
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/05_RANDAO_REVEAL_capella.json"
assert_eq "one server down: still signs" 200 "$STATUS"
run "$TKMS" verify --pubkey "$KEY_A" --message "$(root_of 05_RANDAO_REVEAL_capella)" --signature "$(sig_of)"
assert_eq "and the signature verifies" 0 "$RC"
sleep 0.6
gw vc1 GET /healthcheck
assert_contains "healthcheck: 2 healthy shares of 2 needed" '"healthy_shares":2' "$BODY"

# --- a server lies --------------------------------------------------------------------------
TKMS_FAULT_INJECTION=invalid-partial start_server p3
stop_server p2 KILL           # so that p3's partial is needed
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/06_RANDAO_REVEAL_capella_epoch6.json"
assert_eq "with p2 down and p3 lying: not enough valid partials" 503 "$STATUS"
assert_contains "the 503 names the liar" "p3: invalid partial" "$BODY"
assert_contains "the gateway log says p3 is locked out" "server locked out" "$(grep p3 "$TMP/gw/log")"
run "$TKMS" gateway bans --data-dir "$TMP/gw/data"
assert_match "the ban list names p3" '"server": ?"p3"' "$OUT"
BAN_ID=$(node -e 'console.log(JSON.parse(process.argv[1])[0].id)' "$OUT")
run "$TKMS" gateway bans --data-dir "$TMP/gw/data" --evidence "$BAN_ID"
assert_contains "the evidence holds p3's signed response" '"response"' "$OUT"
assert_contains "and the request" '"request"' "$OUT"
start_server p2
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/06_RANDAO_REVEAL_capella_epoch6.json"
assert_eq "p2 back: signs without p3" 200 "$STATUS"
gw vc1 GET /metrics
assert_match "metrics: one lockout" 'tkms_gateway_lockouts_total 1' "$BODY"
assert_match "metrics: p3 locked out" 'tkms_gateway_server_locked_out\{server="p3"\} 1' "$BODY"

# --- restarts keep the ban and the slashing records; unban lifts the ban ------------------
stop_server gw KILL                 # no orderly close: what was answered is on disk
run "$TKMS" slashing export --db "$TMP/gw/data/slashing.sqlite" --file "$TMP/gw-history.json" \
    --genesis-validators-root "$GVR"
assert_eq "the gateway's slashing records export" 0 "$RC"
assert_contains "they hold key B's votes" "$KEY_B" "$(cat "$TMP/gw-history.json" 2>/dev/null)"
run timeout 20 "$TKMS" gateway --config "$TMP/gw/gateway.yaml" --genesis-validators-root "0x$(printf '%064d' 9)"
assert_ne "a gateway of another chain does not start on these records" 0 "$RC"
assert_contains "and says why" "bound to genesis validators root $GVR" "$ERR"
check "the gateway restarts" start_gateway gw
for _ in $(seq 1 25); do        # until its first health checks are in (slow under sanitizers)
    gw vc1 GET /healthcheck
    grep -qF '"name":"p3","up":true' <<<"$BODY" && break
    sleep 0.2
done
assert_contains "p3 is still locked out after a restart" '"name":"p3","up":true,"locked_out":true' "$BODY"
gw vc3 POST "/api/v1/eth2/sign/$KEY_B" "$TMP/double.json"
assert_eq "after a restart the double vote is still refused" 412 "$STATUS"
assert_contains "by the gateway's own records" "refused by the gateway's slashing protection" "$BODY"
stop_server p3
start_server p3                     # honest again
run "$TKMS" gateway unban p3 --data-dir "$TMP/gw/data" --by test
assert_eq "unban" 0 "$RC"
stop_server p1 KILL                 # p3 is needed again
sleep 1.2                           # the running gateway rereads the ban list each second
gw vc1 POST "/api/v1/eth2/sign/$KEY_A" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "after the unban p3 is asked again" 200 "$STATUS"
finish
