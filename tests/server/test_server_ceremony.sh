#!/usr/bin/env bash
# test_server_ceremony.sh — key ceremonies among three real `tkms server`
# processes relayed by `tkms ceremony run` over mutual TLS:
#   - a DKG of two keys, 2-of-3: every server stores its share and signs at
#     once (no restart); partials from two servers combine and verify;
#   - a reshare of the first key to 3-of-4 shares (p1 gets two): the group
#     key stays, the old shares are replaced, three new partials combine;
#   - a server killed with -9 in the middle of a ceremony: the relay fails
#     naming it, the restarted server reports the ceremony interrupted,
#     `--abort` clears it everywhere, the same spec is refused, and a new
#     spec runs cleanly;
#   - a client without the ceremony rule is refused.
#
# Run: TKMS=build/tkms bash tests/server/test_server_ceremony.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=server_lib.sh
source "$(dirname "$0")/server_lib.sh"
trap 'for p in p1 p2 p3; do stop_server $p KILL; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

make_pki
# Ceremony rounds of many keys carry large bodies (16 MiB is the most).
start_servers "" --max-body-size 16MiB
# partial SERVER KEY REQUEST-FILE: "i:0xSIG" lines of the server's partials.
partials() {
    api "$1" gateway POST "/v1/eth2/sign/$2" "$3"
    node -e 'for (const p of JSON.parse(process.argv[1]).partials) console.log(p.index + ":" + p.signature)' "$BODY"
}
ROOT=$(json_get "$CAPTURES/04_RANDAO_REVEAL_phase0.json" d.signingRoot)
RANDAO=$CAPTURES/04_RANDAO_REVEAL_phase0.json

# --- a DKG of two keys ------------------------------------------------------------------
run "$TKMS" ceremony spec --parties "p1:$ID_p1,p2:$ID_p2,p3:$ID_p3" --threshold 2 --keys 2 \
    --out "$TMP/dkg.json"
assert_eq "spec" 0 "$RC"
relay "$TMP/dkg.json" --json
assert_eq "the DKG over the network: exit" 0 "$RC"
KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).keys[0])' "$OUT")
KEY_B=$(node -e 'console.log(JSON.parse(process.argv[1]).keys[1])' "$OUT")
assert_match "two keys" '^0x[0-9a-f]{96}$' "$KEY_B"
for p in p1 p2 p3; do
    api "$p" operator GET /v1/keys
    assert_eq "server $p serves both new keys at once" 2 "$(grep -o '"ready"' <<<"$BODY" | wc -l)"
done
GROUP=$TMP/p1/data/keys/$KEY/group.json
check "the servers keep the group file" test -s "$GROUP"
mapfile -t P1 < <(partials p1 "$KEY" "$RANDAO")
mapfile -t P3 < <(partials p3 "$KEY" "$RANDAO")
run "$TKMS" combine --group "$GROUP" --message "$ROOT" "${P1[@]}" "${P3[@]}"
assert_eq "partials of the new key combine" 0 "$RC"
run "$TKMS" verify --pubkey "$KEY" --message "$ROOT" --signature "$OUT"
assert_eq "and verify under the new key" 0 "$RC"
relay "$TMP/dkg.json"
assert_eq "the same spec again is refused" 1 "$RC"
assert_contains "because a ceremony id is used once" "new spec" "$ERR"

# --- a reshare of the first key ---------------------------------------------------------
run "$TKMS" ceremony spec --parties "p1:$ID_p1:2,p2:$ID_p2:1,p3:$ID_p3:1" --threshold 3 \
    --reshare-group "$GROUP" --out "$TMP/reshare.json"
assert_eq "reshare spec" 0 "$RC"
relay "$TMP/reshare.json"
assert_eq "the reshare over the network: exit" 0 "$RC"
assert_contains "the key stays" "${KEY}" "$OUT"
mapfile -t P1 < <(partials p1 "$KEY" "$RANDAO")
assert_eq "p1 now holds two shares of the key" 2 "${#P1[@]}"
mapfile -t P2 < <(partials p2 "$KEY" "$RANDAO")
GROUP2=$TMP/p1/data/keys/$KEY/group.json
assert_eq "the new group file says 3 of 4" "3 4" "$(node -e 'const g = require(process.argv[1]); console.log(g.threshold, g.shares)' "$GROUP2")"
run "$TKMS" combine --group "$GROUP2" --message "$ROOT" "${P1[@]}" "${P2[@]}"
assert_eq "three new partials combine" 0 "$RC"
run "$TKMS" verify --pubkey "$KEY" --message "$ROOT" --signature "$OUT"
assert_eq "into a signature of the same key" 0 "$RC"

# --- killed in the middle -----------------------------------------------------------------
run "$TKMS" ceremony spec --parties "p1:$ID_p1,p2:$ID_p2,p3:$ID_p3" --threshold 2 --keys 300 \
    --out "$TMP/big.json"
CID=$(json_get "$TMP/big.json" d.ceremony_id)
# shellcheck disable=SC2046
"$TKMS" ceremony run --spec "$TMP/big.json" $(ceremony_servers) --ca "$PKI/ca.pem" \
    --cert "$PKI/operator.pem" --key "$PKI/operator-key.pem" >"$TMP/big.out" 2>"$TMP/big.err" &
RELAY=$!
for _ in $(seq 1 200); do
    # p2 has closed round 1 of this ceremony: kill it during the next ones
    grep -q "\"action\":\"round\",\"subject\":\"$CID\"" "$TMP/p2/data/audit.log" && break
    sleep 0.05
done
stop_server p2 KILL
wait "$RELAY"; rc=$?
assert_eq "the relay fails when a server dies" 1 "$rc"
assert_contains "and names it" "p2" "$(cat "$TMP/big.err")"
check "server p2 restarts" start_server p2 --max-body-size 16MiB
api p2 operator GET "/v1/ceremony/$CID"
assert_contains "the restarted server reports the ceremony interrupted" "interrupted" "$BODY"
relay "$TMP/big.json" --abort
assert_eq "abort everywhere" 0 "$RC"
api p1 operator GET "/v1/ceremony/$CID"
assert_contains "aborted at p1" '"aborted"' "$BODY"
relay "$TMP/big.json"
assert_eq "the aborted spec cannot run again" 1 "$RC"
run "$TKMS" ceremony spec --parties "p1:$ID_p1,p2:$ID_p2,p3:$ID_p3" --threshold 2 \
    --out "$TMP/again.json"
relay "$TMP/again.json"
assert_eq "a new spec runs cleanly after the abort" 0 "$RC"
api p2 operator GET /v1/keys
assert_eq "p2 serves the keys of the first DKG and the new one" 3 "$(grep -o '"ready"' <<<"$BODY" | wc -l)"

# --- who may run ceremonies ---------------------------------------------------------------
api p1 gateway POST /v1/ceremony "$TMP/again.json"
assert_eq "a client without the ceremony rule: 403" 403 "$STATUS"

for p in p1 p2 p3; do
    stop_server "$p"
    run "$TKMS" audit verify --log "$TMP/$p/data/audit.log"
    assert_eq "audit log of $p verifies" 0 "$RC"
done
finish
