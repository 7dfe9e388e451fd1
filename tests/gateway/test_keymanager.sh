#!/usr/bin/env bash
# test_keymanager.sh — the keymanager API of `tkms gateway` (/eth/v1/keystores,
# bearer token) in front of three real `tkms server` processes:
#   - POST imports whole EIP-2335 keystores (made with `tkms keygen`): each is
#     split 2-of-3 among the servers (one share each, over mutual TLS) and
#     forgotten; an EIP-3076 interchange given with it reaches the gateway's
#     and every server's slashing database, so a lower-epoch vote is refused
#     afterwards (by the gateway, and by a server asked directly);
#   - GET lists the keys; a signature through the gateway verifies under the
#     imported key (`tkms verify`);
#   - duplicate import, a wrong password, a share keystore, a server down
#     (error, and the shares imported at the others deleted again; the same
#     import then works), 401 for a missing or wrong token, 404 when the
#     API is off or on a client's plain listener, and an unassigned key when
#     several clients are configured;
#   - DELETE (while sign requests for the key are in flight) returns the
#     merged interchange with the history signed meanwhile; the key is gone
#     from the gateway and from every server; a second DELETE is not_active,
#     an unknown key not_found;
#   - nothing of the secret keys or their passwords anywhere on the gateway's
#     disk or in its log, and no keystore file there.
#
# Run: TKMS=build/tkms bash tests/gateway/test_keymanager.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=../server/server_lib.sh
source "$(dirname "$0")/../server/server_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
trap 'for p in p1 p2 p3 gw gw2; do stop_server $p KILL; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

make_pki
# The gateway imports and deletes keys: its certificate needs `admin`.
start_servers "  - {client: gateway, operations: [admin]}"

# --- keys: secrets known to the test, keystores made by tkms keygen -------------
KS_PW="km-test-password-$RANDOM-$RANDOM"
printf '%s' "$KS_PW" >"$TMP/ks.pw"
new_secret() {   # a random secret key (nonzero, below r): 64 hex digits
    node -e 'const r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
let s = 0n; while (s === 0n) s = BigInt("0x" + require("crypto").randomBytes(32).toString("hex")) % r;
console.log(s.toString(16).padStart(64, "0"))'
}
make_key() {     # make_key NAME: $TMP/NAME.secret, $TMP/NAME.json; prints the pubkey
    (umask 077 && new_secret >"$TMP/$1.secret")
    "$TKMS" keygen --secret-file "$TMP/$1.secret" --out "$TMP/$1.json" --password-file "$TMP/ks.pw" "${FAST[@]}"
}
KEY_A=$(make_key a); KEY_B=$(make_key b); KEY_C=$(make_key c); KEY_D=$(make_key d)
for k in "$KEY_A" "$KEY_B" "$KEY_C" "$KEY_D"; do assert_match "keygen" '^0x[0-9a-f]{96}$' "$k"; done

# --- the gateway: one token client, the keymanager token ---------------------------
head -c 24 /dev/urandom | base64 >"$TMP/vc.token"
head -c 24 /dev/urandom | base64 >"$TMP/km.token"
mkdir -p "$TMP/gw"
gateway_yaml() {  # gateway_yaml DIR KEYMANAGER(yes|no) [EXTRA CLIENT LINE]
    cat <<YAML
listen: 127.0.0.1:0
data_dir: data
tls: {cert: $PKI/server.pem, key: $PKI/server-key.pem}
keystore: {scrypt_n: 1024}
$(servers_yaml)
clients:
  - {name: vc, auth: token, token_file: $TMP/vc.token}
${3:-}
YAML
    [ "$2" = yes ] && echo "keymanager: {token_file: $TMP/km.token}"
    return 0
}
gateway_yaml gw yes >"$TMP/gw/gateway.yaml"
check "the gateway starts" start_gateway gw

# km METHOD [BODY-FILE] [TOKEN|none] [GATEWAY]: a keymanager request; $STATUS, $BODY
km() {
    local method=$1 body=${2:-} token=${3:-$(cat "$TMP/km.token")} name=${4:-gw} args=()
    local port_var="PORT_$name"
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    [ "$token" != none ] && args+=(-H "Authorization: Bearer $token")
    STATUS=$(curl -s -o "$TMP/.km" -w '%{http_code}' --max-time 120 --cacert "$PKI/ca.pem" \
                  -X "$method" "${args[@]}" "https://127.0.0.1:${!port_var}/eth/v1/keystores") || true
    BODY=$(cat "$TMP/.km" 2>/dev/null)
}
# sign KEY REQUEST-FILE [GATEWAY]: a sign request of client vc; $STATUS, $BODY
sign() {
    local port_var="PORT_${3:-gw}"
    STATUS=$(curl -s -o "$TMP/.sig" -w '%{http_code}' --max-time 30 --cacert "$PKI/ca.pem" \
                  -H "Authorization: Bearer $(cat "$TMP/vc.token")" -H 'Content-Type: application/json' \
                  --data-binary "@$2" "https://127.0.0.1:${!port_var}/api/v1/eth2/sign/$1") || true
    BODY=$(cat "$TMP/.sig" 2>/dev/null)
}
# import_request OUT [--history FILE] [--password PW] KEYSTORE…: a POST body (passwords from $KS_PW_FILE)
import_request() {
    node -e '
const fs = require("fs"); const a = process.argv.slice(1); const out = a.shift();
let history = null, pw = fs.readFileSync(process.env.KS_PW_FILE, "utf8");
const files = [];
while (a.length) { const x = a.shift();
  if (x === "--history") history = fs.readFileSync(a.shift(), "utf8");
  else if (x === "--password") pw = a.shift(); else files.push(x); }
const body = { keystores: files.map(f => fs.readFileSync(f, "utf8")), passwords: files.map(() => pw) };
if (history !== null) body.slashing_protection = history;
fs.writeFileSync(out, JSON.stringify(body));' "$@"
}
export KS_PW_FILE="$TMP/ks.pw"
field() { node -e 'const d = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))' "$BODY" "$@"; }
statuses() { field 'd.data.map(x => x.status).join(",")'; }
root_of() { json_get "$CAPTURES/$1.json" d.signingRoot; }
attestation() {  # attestation SOURCE TARGET OUT: 12_ATTESTATION with those epochs, no signingRoot
    node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
delete r.signingRoot; r.attestation.source.epoch = process.argv[2]; r.attestation.target.epoch = process.argv[3];
fs.writeFileSync(process.argv[4], JSON.stringify(r))' "$CAPTURES/12_ATTESTATION.json" "$@"
}

# --- authorization -----------------------------------------------------------------
km GET "" none
assert_eq "no token: 401" 401 "$STATUS"
assert_contains "401 says why" "bearer token" "$BODY"
km GET "" "$(cat "$TMP/vc.token")"
assert_eq "a validator client's token is not the keymanager's: 401" 401 "$STATUS"
km GET "" "wrong-token-wrong-token-wrong"
assert_eq "wrong token: 401" 401 "$STATUS"
import_request "$TMP/imp-b.json" "$TMP/b.json"
km POST "$TMP/imp-b.json" none
assert_eq "an import without a token: 401" 401 "$STATUS"
km GET
assert_eq "GET with the token" 200 "$STATUS"
assert_eq "no keys yet" '{"data":[]}' "$BODY"
km PUT
assert_eq "another method: 405" 405 "$STATUS"

# --- import: A with a slashing history, B ----------------------------------------------
cat >"$TMP/history-a.json" <<JSON
{"metadata": {"interchange_format_version": "5", "genesis_validators_root": "$GVR"},
 "data": [{"pubkey": "$KEY_A", "signed_blocks": [{"slot": "100"}],
           "signed_attestations": [{"source_epoch": "5", "target_epoch": "10"}]}]}
JSON
import_request "$TMP/imp-ab.json" --history "$TMP/history-a.json" "$TMP/a.json" "$TMP/b.json"
km POST "$TMP/imp-ab.json"
assert_eq "import A and B" 200 "$STATUS"
assert_eq "both imported" "imported,imported" "$(statuses)"
assert_contains "split 2-of-3" "split 2-of-3" "$(field 'd.data[0].message')"
assert_contains "assigned to the only client" "assigned to client vc" "$(field 'd.data[0].message')"
km GET
assert_eq "list" 200 "$STATUS"
assert_eq "list: A and B, not read-only, no path" \
    "$(printf '%s\n' "$KEY_A" "$KEY_B" | sort | tr '\n' ' ')" \
    "$(field 'd.data.filter(x => x.readonly === false && x.derivation_path === "").map(x => x.validating_pubkey).sort().join(" ") + " "')"
for p in p1 p2 p3; do
    api "$p" operator GET /v1/keys
    assert_contains "$p holds a share of A" "$KEY_A" "$BODY"
    assert_contains "$p holds a share of B" "$KEY_B" "$BODY"
done
check "the gateway's registry has A's group file, with owners" \
    grep -q '"owners"' "$TMP/gw/data/keys/$KEY_A/group.json"

# --- signing with the imported keys ---------------------------------------------------
sig_of() { node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$BODY"; }
for k in "$KEY_A" "$KEY_B"; do
    sign "$k" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
    assert_eq "sign through the gateway" 200 "$STATUS"
    run "$TKMS" verify --pubkey "$k" --message "$(root_of 04_RANDAO_REVEAL_phase0)" --signature "$(sig_of)"
    assert_eq "the signature verifies under the imported key" 0 "$RC"
done
attestation 3 4 "$TMP/att-3-4.json"
sign "$KEY_A" "$TMP/att-3-4.json"
assert_eq "a vote below the imported history: 412" 412 "$STATUS"
assert_contains "refused by the gateway's own records" "refused by the gateway's slashing protection" "$BODY"
api p1 gateway POST "/v1/eth2/sign/$KEY_A" "$TMP/att-3-4.json"
assert_eq "a server asked directly refuses it too (its history was imported)" 412 "$STATUS"
sign "$KEY_B" "$TMP/att-3-4.json"
assert_eq "B had no history: the same vote is fine" 200 "$STATUS"
attestation 10 11 "$TMP/att-10-11.json"
sign "$KEY_A" "$TMP/att-10-11.json"
assert_eq "a vote above the history is signed" 200 "$STATUS"

# --- what is not imported ----------------------------------------------------------------
km POST "$TMP/imp-b.json"
assert_eq "duplicate: 200" 200 "$STATUS"
assert_eq "duplicate" duplicate "$(statuses)"
import_request "$TMP/imp-wrong.json" --password "not-the-password" "$TMP/c.json"
km POST "$TMP/imp-wrong.json"
assert_eq "wrong password: error" error "$(statuses)"
assert_contains "and it says so" "wrong password" "$BODY"
"$TKMS" split --keystore "$TMP/b.json" --password-file "$TMP/ks.pw" --threshold 2 --shares 3 \
    --out-dir "$TMP/b-shares" "${FAST[@]}" >/dev/null
import_request "$TMP/imp-share.json" "$TMP/b-shares/share-1.json"
km POST "$TMP/imp-share.json"
assert_eq "a share keystore: error" error "$(statuses)"
assert_contains "and it says why" "share keystore" "$BODY"
printf '{"keystores": "x"}' >"$TMP/bad-shape.json"
km POST "$TMP/bad-shape.json"
assert_eq "a body of the wrong shape: 400" 400 "$STATUS"
assert_contains "400 names the field" "keystores" "$(field 'd.message')"
sed "s/$GVR/0x$(printf '%064d' 7)/" "$TMP/history-a.json" >"$TMP/history-other.json"
import_request "$TMP/imp-other.json" --history "$TMP/history-other.json" "$TMP/c.json"
km POST "$TMP/imp-other.json"
assert_eq "an interchange of another chain: 400" 400 "$STATUS"

# --- a server down: nothing stays anywhere; then the same import works -----------------
stop_server p3
import_request "$TMP/imp-c.json" "$TMP/c.json"
km POST "$TMP/imp-c.json"
assert_eq "p3 down: error" error "$(statuses)"
assert_contains "naming p3" "server p3" "$BODY"
assert_contains "the other shares were deleted again" "deleted again" "$BODY"
for p in p1 p2; do
    api "$p" operator GET /v1/keys
    check "$p holds nothing of C after the rollback" test -z "$(grep -F "$KEY_C" <<<"$BODY")"
done
km GET
check "the gateway does not serve C" test -z "$(grep -F "$KEY_C" <<<"$BODY")"
start_server p3
km POST "$TMP/imp-c.json"
assert_eq "p3 back: C imports" imported "$(statuses)"
sign "$KEY_C" "$CAPTURES/05_RANDAO_REVEAL_capella.json"
assert_eq "C signs" 200 "$STATUS"
run "$TKMS" verify --pubkey "$KEY_C" --message "$(root_of 05_RANDAO_REVEAL_capella)" --signature "$(sig_of)"
assert_eq "and it verifies" 0 "$RC"
attestation 20 21 "$TMP/att-20-21.json"
sign "$KEY_C" "$TMP/att-20-21.json"
assert_eq "C votes: the servers' records of C are in use again after the rollback" 200 "$STATUS"

# --- delete A, with sign requests for it in flight -----------------------------------------
INFLIGHT=()
for _ in $(seq 1 12); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 --cacert "$PKI/ca.pem" \
        -H "Authorization: Bearer $(cat "$TMP/vc.token")" -H 'Content-Type: application/json' \
        --data-binary "@$CAPTURES/04_RANDAO_REVEAL_phase0.json" \
        "https://127.0.0.1:$PORT_gw/api/v1/eth2/sign/$KEY_A" >>"$TMP/inflight.txt" &
    INFLIGHT+=($!)
done
printf '{"pubkeys": ["%s"]}' "$KEY_A" >"$TMP/del-a.json"
km DELETE "$TMP/del-a.json"
wait "${INFLIGHT[@]}"
assert_eq "delete A" 200 "$STATUS"
assert_eq "deleted" deleted "$(statuses)"
check "the sign requests in flight got 200 or 404" test -z "$(grep -vE '^(200|404)$' "$TMP/inflight.txt")"
field 'd.slashing_protection' >"$TMP/deleted-a.json"
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = d.metadata.genesis_validators_root === process.argv[3] && d.data.length === 1 &&
  d.data[0].pubkey === process.argv[2] &&
  d.data[0].signed_blocks.some(b => b.slot === "100") &&
  d.data[0].signed_attestations.some(a => a.source_epoch === "5" && a.target_epoch === "10") &&
  d.data[0].signed_attestations.some(a => a.source_epoch === "10" && a.target_epoch === "11");
process.exit(ok ? 0 : 1)' "$TMP/deleted-a.json" "$KEY_A" "$GVR"
assert_eq "the interchange holds the imported history and the vote signed meanwhile" 0 "$?"
km GET
check "the gateway no longer lists A" test -z "$(grep -F "$KEY_A" <<<"$BODY")"
assert_contains "B is still there" "$KEY_B" "$BODY"
sign "$KEY_A" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "signing A: 404" 404 "$STATUS"
check "A's registry directory is gone" test ! -e "$TMP/gw/data/keys/$KEY_A"
for p in p1 p2 p3; do
    api "$p" operator GET /v1/keys
    check "$p no longer holds A" test -z "$(grep -F "$KEY_A" <<<"$BODY")"
done
sign "$KEY_B" "$CAPTURES/05_RANDAO_REVEAL_capella.json"
assert_eq "B still signs" 200 "$STATUS"
UNKNOWN=$(make_key unknown)
NOT_A_KEY=0x$(hex_repeat aa 48)
printf '{"pubkeys": ["%s", "%s", "%s", "%s"]}' "$KEY_A" "$UNKNOWN" "$NOT_A_KEY" "$KEY_A" >"$TMP/del-again.json"
km DELETE "$TMP/del-again.json"
assert_eq "delete again" 200 "$STATUS"
assert_eq "A: not_active (history kept); an unknown key, not a key: not_found; A again" \
    "not_active,not_found,not_found,not_active" "$(statuses)"
assert_eq "A's history is still returned, once" 1 \
    "$(field 'JSON.parse(d.slashing_protection).data.filter(x => x.pubkey === process.argv[3]).length' "$KEY_A")"
check "the unknown key's history is not" test -z "$(grep -F "$UNKNOWN" <<<"$(field 'd.slashing_protection')")"
# A comes back with the interchange its DELETE returned (a migration back):
# the history holds everywhere, and the key votes on above it.
import_request "$TMP/imp-a-again.json" --history "$TMP/deleted-a.json" "$TMP/a.json"
km POST "$TMP/imp-a-again.json"
assert_eq "A imported again with its interchange" imported "$(statuses)"
sign "$KEY_A" "$TMP/att-10-11.json"
assert_eq "re-signing the same vote is fine" 200 "$STATUS"
attestation 9 11 "$TMP/att-9-11.json"
sign "$KEY_A" "$TMP/att-9-11.json"
assert_eq "another vote for target 11: 412" 412 "$STATUS"
api p2 gateway POST "/v1/eth2/sign/$KEY_A" "$TMP/att-9-11.json"
assert_eq "a server asked directly refuses it too" 412 "$STATUS"
attestation 11 12 "$TMP/att-11-12.json"
sign "$KEY_A" "$TMP/att-11-12.json"
assert_eq "the next vote is signed" 200 "$STATUS"
printf '{"pubkeys": ["0x12"]}' >"$TMP/del-bad.json"
km DELETE "$TMP/del-bad.json"
assert_eq "a malformed pubkey: 400" 400 "$STATUS"

# --- several clients: the key is not assigned; plain listeners; the API off ----------------
VC3_PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p "$TMP/gw2"
gateway_yaml gw2 yes "  - {name: vc3, auth: listen, listen: \"127.0.0.1:$VC3_PORT\"}" >"$TMP/gw2/gateway.yaml"
check "a second gateway (two clients) starts" start_gateway gw2
import_request "$TMP/imp-d.json" "$TMP/d.json"
km POST "$TMP/imp-d.json" "" gw2
assert_eq "D imports" imported "$(statuses)"
assert_contains "not assigned when several clients are configured" "not assigned to a client" "$BODY"
sign "$KEY_D" "$CAPTURES/04_RANDAO_REVEAL_phase0.json" gw2
assert_eq "an unassigned key is not vc's: 403" 403 "$STATUS"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TMP/km.token")" \
              "http://127.0.0.1:$VC3_PORT/eth/v1/keystores") || true
assert_eq "a client's plain listener does not serve the keymanager API" 404 "$STATUS"
printf '{"pubkeys": ["%s"]}' "$KEY_D" >"$TMP/del-d.json"
km DELETE "$TMP/del-d.json" "" gw2
assert_eq "D deleted" deleted "$(statuses)"
stop_server gw2
gateway_yaml gw2 no >"$TMP/gw2/gateway.yaml"
check "the second gateway restarts without keymanager.token_file" start_gateway gw2
km GET "" "" gw2
assert_eq "the API off: 404" 404 "$STATUS"
assert_contains "and it says so" "keymanager API is off" "$BODY"
stop_server gw2

# --- the gateway stops in the middle of an import: it finishes it consistently ----------------
KEY_E=$(make_key e)
import_request "$TMP/imp-e.json" "$TMP/e.json"
kill -STOP "$PID_p3"                  # the import will wait at p3, the last server
km POST "$TMP/imp-e.json" &
IMPORTING=$!
for _ in $(seq 1 300); do             # until p1 has its share: the worker is past the point
    api p1 operator GET /v1/keys      # of no return and on its way to p3
    grep -qF "$KEY_E" <<<"$BODY" && break
    sleep 0.1
done
sleep 0.5
kill -TERM "$PID_gw"                  # the gateway stops while its worker waits for p3
sleep 1
kill -CONT "$PID_p3"
wait "$IMPORTING"
RC=0; wait "$PID_gw" || RC=$?
PID_gw=""
assert_eq "the gateway stops cleanly with an import under way" 0 "$RC"
check "and says nothing of a sanitizer" test -z "$(grep -E 'Sanitizer|runtime error' "$TMP/gw/log")"
cp "$TMP/gw/log" "$TMP/gw/log.1"      # start_gateway empties it
check "the gateway restarts" start_gateway gw
km GET
assert_contains "the import it finished while stopping is served" "$KEY_E" "$BODY"
sign "$KEY_E" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "and signs" 200 "$STATUS"
run "$TKMS" verify --pubkey "$KEY_E" --message "$(root_of 04_RANDAO_REVEAL_phase0)" --signature "$(sig_of)"
assert_eq "under the imported key" 0 "$RC"

# --- nothing of the keys on the gateway's disk or in its log ----------------------------------
stop_server gw                       # its log and databases complete
node -e '
const fs = require("fs"), path = require("path");
const [dirs, secrets, password] = [process.argv[1].split(":"), process.argv[2].split(":"), process.argv[3]];
const needles = [Buffer.from(password)];
for (const s of secrets) {
  const hex = fs.readFileSync(s, "utf8").trim();
  needles.push(Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(hex, "hex"),
               Buffer.from(hex, "hex").reverse());
}
let bad = [];
const walk = p => { const st = fs.lstatSync(p);
  if (st.isDirectory()) { for (const e of fs.readdirSync(p)) walk(path.join(p, e)); return; }
  if (!st.isFile()) return;
  const b = fs.readFileSync(p);
  needles.forEach((n, i) => { if (b.indexOf(n) >= 0) bad.push(p + " holds secret #" + i); });
  if (/"(cipher|kdf|checksum)"/.test(b.toString("latin1"))) bad.push(p + " looks like a keystore"); };
dirs.forEach(walk);
if (bad.length) { console.error(bad.join("\n")); process.exit(1); }' \
    "$TMP/gw:$TMP/gw2" "$TMP/a.secret:$TMP/b.secret:$TMP/c.secret:$TMP/d.secret:$TMP/e.secret" "$KS_PW"
assert_eq "no secret key, password or keystore on the gateways' disks or in their logs" 0 "$?"
check "the gateway logged the imports" grep -q 'msg="keymanager import".*status=imported' "$TMP/gw/log.1"
for p in p1 p2 p3; do stop_server "$p"; done
check "no sanitizer report in any log" test -z "$(cat "$TMP"/*/log "$TMP/gw/log.1" | grep -E 'Sanitizer|runtime error')"
finish
