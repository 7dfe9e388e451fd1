#!/usr/bin/env bash
# test_server_faults.sh — a real `tkms server` under faults:
#   - kill -9 in the middle of a load of sign requests from four clients,
#     then a restart: every attestation that was answered 200 is in the
#     slashing database, and signing any of them again with another block
#     root is refused (no slashable signature possible);
#   - a corrupted keystore and a keystore with another password: those two
#     keys are reported unavailable (health, key list, 503 naming the
#     file), the third key serves;
#   - a slashing database that cannot grow (a file size limit on the
#     process, as a full disk would do): signing is refused with 503, and
#     nothing that was answered 200 is missing from the database.
#
# Run: TKMS=build/tkms bash tests/server/test_server_faults.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=server_lib.sh
source "$(dirname "$0")/server_lib.sh"
trap 'stop_server f KILL; rm -rf "$TMP"' EXIT

# attestations DIR FROM TO [ROOT-BYTE]: one ATTESTATION body per target
# epoch t in FROM..TO (source t-1), DIR/<t>.json, without signingRoot.
attestations() {
    node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1] + "/12_ATTESTATION.json"));
delete r.signingRoot;
fs.mkdirSync(process.argv[2], {recursive: true});
for (let t = +process.argv[3]; t <= +process.argv[4]; t++) {
  r.attestation.source.epoch = String(t - 1);
  r.attestation.target.epoch = String(t);
  r.attestation.beacon_block_root = "0x" + (process.argv[5] || "11").repeat(32);
  fs.writeFileSync(process.argv[2] + "/" + t + ".json", JSON.stringify(r));
}' "$CAPTURES" "$1" "$2" "$3" "${4:-11}"
}


# exported_targets: the target epochs of KEY in the server's database.
exported_targets() {
    rm -f "$TMP/export.json"
    "$TKMS" slashing export --db "$TMP/f/data/slashing.sqlite" --file "$TMP/export.json" \
        --genesis-validators-root "$GVR" >/dev/null
    node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1])).data;
for (const k of d) for (const a of k.signed_attestations) console.log(a.target_epoch);' \
        "$TMP/export.json" | sort
}

make_pki
# Key 3's keystores are under another password (the server re-encrypts
# what it imports under its own).
for k in 1 2 3; do
    pw=$TKMS_PASSWORD
    [ "$k" = 3 ] && pw=other
    TKMS_PASSWORD=$pw "$TKMS" keygen --out "$TMP/k$k.json" "${FAST[@]}" >/dev/null
    TKMS_PASSWORD=$pw "$TKMS" split --keystore "$TMP/k$k.json" --threshold 2 --shares 3 \
        --out-dir "$TMP/s$k" "${FAST[@]}" >/dev/null
done
KEY1=$(json_get "$TMP/s1/group.json" d.group_public_key)
KEY2=$(json_get "$TMP/s2/group.json" d.group_public_key)
KEY3=$(json_get "$TMP/s3/group.json" d.group_public_key)
write_config f
check "server starts" start_server f
import_body "$TMP/import.json" "$TKMS_PASSWORD" "$TMP/s1/share-1.json" "$TMP/s2/share-1.json"
api f operator POST /v1/keys "$TMP/import.json"
import_body "$TMP/import3.json" other "$TMP/s3/share-1.json"
api f operator POST /v1/keys "$TMP/import3.json"
api f operator GET /v1/keys
assert_eq "three keys imported" 3 "$(grep -o '"ready"' <<<"$BODY" | wc -l)"

# --- kill -9 under load -------------------------------------------------------------------
attestations "$TMP/att" 1 4000
attestations "$TMP/twin" 1 4000 44
# client W signs targets W, W+4, W+8, … and logs each target answered 200.
client() {
    local w=$1 t
    for ((t = w; t <= 4000; t += 4)); do
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --tlsv1.3 --cacert "$PKI/ca.pem" \
               --cert "$PKI/gateway.pem" --key "$PKI/gateway-key.pem" \
               -H 'Content-Type: application/json' --data-binary "@$TMP/att/$t.json" \
               "https://127.0.0.1:$PORT_f/v1/eth2/sign/$KEY1" 2>/dev/null) || true
        [ "$code" = 200 ] && echo "$t" >>"$TMP/signed-$w"
        [ "$code" = 000 ] && break
    done
}
for w in 1 2 3 4; do : >"$TMP/signed-$w"; client "$w" & done
# Let the load run, then kill the server mid-flight.
for _ in $(seq 1 100); do
    [ "$(cat "$TMP"/signed-* | wc -l)" -ge 60 ] && break
    sleep 0.05
done
stop_server f KILL
wait
sort "$TMP"/signed-* >"$TMP/signed"
SIGNED=$(wc -l <"$TMP/signed")
check "the load signed something before the kill ($SIGNED)" test "$SIGNED" -gt 0
check "the kill stopped the load before its end" test "$SIGNED" -lt 4000
exported_targets >"$TMP/recorded"
assert_eq "every attestation answered 200 is recorded after kill -9" "" \
    "$(comm -23 "$TMP/signed" "$TMP/recorded")"
check "server restarts after kill -9" start_server f
refused=0
for t in $(shuf -n 20 "$TMP/signed"); do
    api f gateway POST "/v1/eth2/sign/$KEY1" "$TMP/twin/$t.json"
    [ "$STATUS" = 412 ] && refused=$((refused + 1))
done
want=$((SIGNED < 20 ? SIGNED : 20))
assert_eq "after the restart every double vote on a signed target is refused" "$want" "$refused"
run "$TKMS" audit verify --log "$TMP/f/data/audit.log"
assert_eq "the audit log verifies after kill -9" 0 "$RC"
stop_server f

# --- a corrupted and a wrong-password keystore ---------------------------------------------
truncate -s 100 "$TMP/f/data/keys/$KEY2/share-1.json"
cp "$TMP/s3/share-1.json" "$TMP/f/data/keys/$KEY3/share-1.json"    # under "other"
check "server starts with two bad keystores" start_server f
assert_contains "the log names the corrupt keystore" "share-1.json" "$(grep "$KEY2" "$TMP/f/log")"
api f operator GET /health
assert_contains "health counts two unavailable keys" '"unavailable":2' "$BODY"
assert_contains "health counts one ready key" '"ready":1' "$BODY"
api f operator GET /v1/keys
assert_contains "the key list says wrong password" "wrong password" "$BODY"
api f gateway POST "/v1/eth2/sign/$KEY2" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "corrupt keystore: 503" 503 "$STATUS"
assert_contains "corrupt keystore: the reason names the file" "share-1.json" "$BODY"
api f gateway POST "/v1/eth2/sign/$KEY3" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "wrong-password keystore: 503" 503 "$STATUS"
assert_contains "wrong-password keystore: says so" "wrong password" "$BODY"
api f gateway POST "/v1/eth2/sign/$KEY1" "$CAPTURES/04_RANDAO_REVEAL_phase0.json"
assert_eq "the good key still signs" 200 "$STATUS"
stop_server f

# --- the slashing database cannot grow -----------------------------------------------------
# A file size limit just above what the files hold now: the next pages
# the database or the audit log need cannot be written.
attestations "$TMP/more" 5001 5400
limit_kb=$(( ($(stat -c %s "$TMP/f/data/slashing.sqlite") + 8192) / 1024 ))
(ulimit -f "$limit_kb"; start_server f; echo "$PID_f $PORT_f" >"$TMP/pidport"; wait "$PID_f") &
LIMITED=$!
for _ in $(seq 1 100); do [ -s "$TMP/pidport" ] && break; sleep 0.05; done
read -r PID_f PORT_f <"$TMP/pidport"
: >"$TMP/signed-more"
codes=""
for t in $(seq 5001 5400); do
    api f gateway POST "/v1/eth2/sign/$KEY1" "$TMP/more/$t.json"
    [ "$STATUS" = 200 ] && echo "$t" >>"$TMP/signed-more"
    if [ "$STATUS" != 200 ]; then codes="$STATUS $BODY"; break; fi
done
assert_match "a full disk refuses signing with 503" '^503 ' "$codes"
assert_contains "and says it could not record" "could not" "$codes"
api f operator GET /health
assert_eq "the server keeps serving" 200 "$STATUS"
stop_server f KILL
kill "$LIMITED" 2>/dev/null; wait "$LIMITED" 2>/dev/null
exported_targets >"$TMP/recorded"
assert_eq "nothing answered 200 is missing from the database" "" \
    "$(comm -23 <(sort "$TMP/signed-more") "$TMP/recorded")"

finish
