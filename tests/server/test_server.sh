#!/usr/bin/env bash
# test_server.sh — a real `tkms server` on 127.0.0.1, driven over mutual TLS
# with curl: configuration and help; who may connect (no certificate, a
# foreign CA, a known client without a rule); key import, list, lock,
# unlock and delete (with its slashing interchange) without a restart;
# signing the captured Lodestar requests, whose partials from two servers
# combine into a signature `tkms verify` accepts; every bad request a clear
# HTTP error while the server keeps serving; /health, /metrics; the audit
# log verifies.
#
# Run: TKMS=build/tkms bash tests/server/test_server.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=server_lib.sh
source "$(dirname "$0")/server_lib.sh"
trap 'stop_server a KILL; stop_server b KILL; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

# attestation FILE SOURCE TARGET [BLOCK-ROOT-BYTE]: a Web3Signer ATTESTATION
# body from the capture, without signingRoot (the server computes it).
attestation() {
    node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1] + "/12_ATTESTATION.json"));
delete r.signingRoot;
r.attestation.source.epoch = process.argv[3];
r.attestation.target.epoch = process.argv[4];
r.attestation.beacon_block_root = "0x" + (process.argv[5] || "11").repeat(32);
fs.writeFileSync(process.argv[2], JSON.stringify(r));' "$CAPTURES" "$1" "$2" "$3" "${4:-11}"
}

make_pki
"$TKMS" keygen --out "$TMP/k1.json" "${FAST[@]}" >/dev/null
"$TKMS" keygen --out "$TMP/k2.json" "${FAST[@]}" >/dev/null
"$TKMS" split --keystore "$TMP/k1.json" --threshold 2 --shares 3 --out-dir "$TMP/s1" "${FAST[@]}" >/dev/null
"$TKMS" split --keystore "$TMP/k2.json" --threshold 2 --shares 3 --out-dir "$TMP/s2" "${FAST[@]}" >/dev/null
KEY1=$(json_get "$TMP/s1/group.json" d.group_public_key)
KEY2=$(json_get "$TMP/s2/group.json" d.group_public_key)


# --- help and configuration errors --------------------------------------------
run "$TKMS" server --help
assert_eq "help: exit" 0 "$RC"
for word in TKMS_DATA_DIR --listen genesis_validators_root rules operations; do
    assert_contains "help names $word" "$word" "$OUT"
done
write_config a
expect_error "unknown flag" 2 server "--bogus" "$TKMS" server --config "$TMP/a/server.yaml" --bogus 1
expect_error "bad workers" 1 server "workers" "$TKMS" server --config "$TMP/a/server.yaml" --workers 0
printf 'listen: 127.0.0.1:0\nlisten: 127.0.0.1:1\n' >"$TMP/dup.yaml"
expect_error "duplicate YAML key" 1 server "listen" "$TKMS" server --config "$TMP/dup.yaml"

# --- start, and who may connect ---------------------------------------------------
check "server a starts" start_server a
api a operator GET /health
assert_eq "health" 200 "$STATUS"
assert_contains "health says ok" '"status":"ok"' "$BODY"
api a none GET /health
assert_eq "no client certificate: refused at the TLS handshake" 000 "$STATUS"
api a foreign GET /health
assert_eq "a foreign CA's client: refused at the TLS handshake" 000 "$STATUS"
api a intruder GET /v1/keys
assert_eq "known client without a rule: admin denied" 403 "$STATUS"
assert_contains "denial names the client" "intruder" "$BODY"
api a gateway GET /v1/keys
assert_eq "the gateway may not use admin" 403 "$STATUS"
api a operator GET /nowhere
assert_eq "unknown route" 404 "$STATUS"
api a operator PUT /v1/keys
assert_eq "wrong method" 405 "$STATUS"

# --- key lifecycle without a restart ---------------------------------------------
import_body "$TMP/import.json" "$TKMS_PASSWORD" "$TMP/s1/share-1.json" "$TMP/s2/share-1.json"
api a operator POST /v1/keys "$TMP/import.json"
assert_eq "import: status" 200 "$STATUS"
assert_eq "import: both imported" '["imported","imported"]' \
    "$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).data.map(d => d.status)))' "$BODY")"
api a operator POST /v1/keys "$TMP/import.json"
assert_eq "import again: duplicates" '["duplicate","duplicate"]' \
    "$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]).data.map(d => d.status)))' "$BODY")"
import_body "$TMP/import-bad.json" "not the password" "$TMP/s1/share-2.json"
api a operator POST /v1/keys "$TMP/import-bad.json"
assert_contains "import with a wrong password: error" '"status":"error"' "$BODY"
assert_contains "import with a wrong password: says so" 'wrong password' "$BODY"
import_body "$TMP/import-whole.json" "$TKMS_PASSWORD" "$TMP/k1.json"
api a operator POST /v1/keys "$TMP/import-whole.json"
assert_contains "a whole key is never imported" 'not a share keystore' "$BODY"
echo '{"keystores": 3}' >"$TMP/import-shape.json"
api a operator POST /v1/keys "$TMP/import-shape.json"
assert_eq "malformed import: 400" 400 "$STATUS"
assert_contains "malformed import: names the field" "keystores" "$BODY"
api a operator GET /v1/keys
assert_eq "list" 200 "$STATUS"
assert_eq "list: two ready keys with share 1" "2 ready,ready 1,1" \
    "$(node -e 'const d = JSON.parse(process.argv[1]).data;
console.log(d.length, d.map(k => k.state).join(), d.map(k => k.shares.join("+")).join())' "$BODY")"

# --- signing ------------------------------------------------------------------------
for f in 04_RANDAO_REVEAL_phase0 07_BLOCK_V2_phase0 08_BLOCK_V2_altair 09_BLOCK_V2_bellatrix \
         11_BLOCK_V2_capella 12_ATTESTATION 13_AGGREGATION_SLOT 14_AGGREGATE_AND_PROOF \
         15_VOLUNTARY_EXIT 16_SYNC_COMMITTEE_MESSAGE 17_SYNC_COMMITTEE_SELECTION_PROOF \
         18_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF; do
    api a gateway POST "/v1/eth2/sign/$KEY1" "$CAPTURES/$f.json"
    assert_eq "sign $f" 200 "$STATUS"
    assert_contains "sign $f: a partial of share 1" '"index":1' "$BODY"
done
api a gateway POST "/v1/eth2/sign/$KEY1" "$CAPTURES/12_ATTESTATION.json"
echo "$BODY" >"$TMP/resp-a.json"

# A second server holding share 2: the two partials combine and verify.
write_config b
check "server b starts" start_server b
import_body "$TMP/import-b.json" "$TKMS_PASSWORD" "$TMP/s1/share-2.json"
api b operator POST /v1/keys "$TMP/import-b.json"
assert_contains "server b: imported" '"imported"' "$BODY"
api b gateway POST "/v1/eth2/sign/$KEY1" "$CAPTURES/12_ATTESTATION.json"
assert_eq "server b signs" 200 "$STATUS"
echo "$BODY" >"$TMP/resp-b.json"
ROOT=$(json_get "$TMP/resp-a.json" d.signing_root)
assert_eq "the root the server computed is the capture's" \
    "$(json_get "$CAPTURES/12_ATTESTATION.json" d.signingRoot)" "$ROOT"
partial() { node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1])).partials[0];
console.log(p.index + ":" + p.signature)' "$1"; }
run "$TKMS" combine --group "$TMP/s1/group.json" --message "$ROOT" "$(partial "$TMP/resp-a.json")" \
    "$(partial "$TMP/resp-b.json")"
assert_eq "partials from two servers combine" 0 "$RC"
SIG=$OUT
run "$TKMS" verify --pubkey "$KEY1" --message "$ROOT" --signature "$SIG"
assert_eq "the combined signature verifies under the group key" 0 "$RC"

# --- bad requests: a clear error, and the server keeps serving ------------------------
attestation "$TMP/vote.json" 2 3 44
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/vote.json"
assert_eq "double vote: 412" 412 "$STATUS"
assert_contains "double vote: says so" "double vote" "$BODY"
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
r.attestation.beacon_block_root = "0x" + "55".repeat(32); fs.writeFileSync(process.argv[2], JSON.stringify(r))' \
    "$CAPTURES/12_ATTESTATION.json" "$TMP/mismatch.json"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/mismatch.json"
assert_eq "signing-root mismatch: 400" 400 "$STATUS"
assert_contains "signing-root mismatch: says so" "signing" "$BODY"
printf '{"type": "ATTESTATION", ' >"$TMP/malformed.json"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/malformed.json"
assert_eq "malformed JSON: 400" 400 "$STATUS"
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
r.type = "NOT_A_TYPE"; fs.writeFileSync(process.argv[2], JSON.stringify(r))' \
    "$CAPTURES/12_ATTESTATION.json" "$TMP/type.json"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/type.json"
assert_eq "unknown type: 400" 400 "$STATUS"
assert_contains "unknown type: named" "NOT_A_TYPE" "$BODY"
head -c 70000 /dev/zero | tr '\0' 'x' >"$TMP/big.json"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/big.json"
assert_eq "oversize body: 413" 413 "$STATUS"
api a gateway POST "/v1/eth2/sign/0x$(printf '%096d' 0)" "$CAPTURES/12_ATTESTATION.json"
assert_eq "unknown key: 404" 404 "$STATUS"
api a intruder POST "/v1/eth2/sign/$KEY1" "$CAPTURES/12_ATTESTATION.json"
assert_eq "client without a sign rule: 403" 403 "$STATUS"
assert_contains "the denial names client and type" "intruder may not sign ATTESTATION" "$BODY"
attestation "$TMP/next.json" 3 4
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/next.json"
assert_eq "after all that, the next attestation signs" 200 "$STATUS"

# --- lock, unlock, delete --------------------------------------------------------------
api a operator POST "/v1/keys/$KEY1/lock"
assert_eq "lock" 200 "$STATUS"
attestation "$TMP/next.json" 4 5
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/next.json"
assert_eq "a locked key: 423" 423 "$STATUS"
assert_contains "a locked key: says so" "locked" "$BODY"
api a operator POST "/v1/keys/$KEY1/unlock"
assert_contains "unlock" '"ready"' "$BODY"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/next.json"
assert_eq "unlocked: signs again" 200 "$STATUS"
api a gateway POST "/v1/eth2/sign/$KEY2" "$CAPTURES/12_ATTESTATION.json"
assert_eq "key 2 signs" 200 "$STATUS"
api a operator DELETE "/v1/keys/$KEY2"
assert_eq "delete" 200 "$STATUS"
echo "$BODY" >"$TMP/deleted.json"
assert_eq "delete returns the key's interchange, with its attestation" "$KEY2 3" \
    "$(node -e 'const d = JSON.parse(JSON.parse(require("fs").readFileSync(process.argv[1])).slashing_protection).data;
console.log(d[0].pubkey, d[0].signed_attestations[0].target_epoch)' "$TMP/deleted.json")"
api a gateway POST "/v1/eth2/sign/$KEY2" "$CAPTURES/12_ATTESTATION.json"
assert_eq "a deleted key: 404" 404 "$STATUS"
api a operator DELETE "/v1/keys/$KEY2"
assert_eq "delete again: 404" 404 "$STATUS"
check "the key's files are gone" test ! -e "$TMP/a/data/keys/$KEY2"

# --- metrics --------------------------------------------------------------------------
api a operator GET /metrics
assert_eq "metrics" 200 "$STATUS"
assert_match "metrics: signed requests counted" 'tkms_server_requests_total\{route="sign",code="200"\} [1-9]' "$BODY"
assert_match "metrics: a slashing refusal counted" 'tkms_server_sign_refusals_total\{reason="slashing"\} 1$' "$BODY"
assert_match "metrics: latency histogram" 'tkms_server_sign_duration_seconds_count [1-9]' "$BODY"
assert_match "metrics: keys" 'tkms_server_keys\{state="ready"\} 1' "$BODY"
assert_match "metrics: group commits" 'tkms_server_record_commits_total [1-9]' "$BODY"
api a gateway GET /metrics
assert_eq "metrics need the metrics rule" 403 "$STATUS"

# --- restart: keys, lock state and history survive -------------------------------------
api a operator POST "/v1/keys/$KEY1/lock"
stop_server a
check "server a restarts" start_server a
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/next.json"
assert_eq "still locked after a restart" 423 "$STATUS"
api a operator POST "/v1/keys/$KEY1/unlock"
api a gateway POST "/v1/eth2/sign/$KEY1" "$TMP/vote.json"
assert_eq "the double vote is still refused after a restart" 412 "$STATUS"
stop_server a
stop_server b

# --- the audit log ---------------------------------------------------------------------
run "$TKMS" audit verify --log "$TMP/a/data/audit.log"
assert_eq "audit log verifies" 0 "$RC"
for word in '"event":"sign"' '"outcome":"refused"' '"outcome":"denied"' '"action":"delete"' \
            '"action":"lock"' '"action":"import"'; do
    assert_contains "audit log has $word" "$word" "$(cat "$TMP/a/data/audit.log")"
done
check "no secret in the server log" bash -c "! grep -qF '$TKMS_PASSWORD' '$TMP/a/log'"

finish
