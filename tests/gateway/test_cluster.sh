#!/usr/bin/env bash
# test_cluster.sh — `tkms cluster up|down`: a 3-of-5 cluster of real
# processes with two keys from a DKG; the printed JSON has what a client
# needs; a RANDAO reveal signed through the gateway with curl verifies
# under each key; with two servers killed it still signs; `down` stops
# every process and a second `up` in the same directory is refused while
# one runs.
#
# Run: TKMS=build/tkms bash tests/gateway/test_cluster.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
CAPTURES=${TKMS_LODESTAR:-$TKMS_SOURCE_DIR/../shared/lodestar}/captured-requests
[ -d "$CAPTURES" ] || { echo "Lodestar captures not found at $CAPTURES (set TKMS_LODESTAR)" >&2; exit 1; }
D=$TMP/cluster
trap '"$TKMS" cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$TMP"' EXIT

run "$TKMS" cluster --help
assert_contains "help" "cluster up" "$OUT"
expect_error "threshold above servers" 2 cluster "threshold" "$TKMS" cluster up --dir "$D" --servers 2 --threshold 3
run "$TKMS" cluster up --dir "$D" --servers 5 --threshold 3 --keys 2 --scrypt-n 1024 --json
assert_eq "cluster up" 0 "$RC"
echo "$OUT" >"$TMP/c.json"
field() { node -e "const c = require('$TMP/c.json'); console.log($1)"; }
assert_eq "five servers" 5 "$(field 'c.servers.length')"
assert_eq "two keys" 2 "$(field 'c.keys.length')"
assert_match "a gateway URL" '^https://127\.0\.0\.1:[0-9]+$' "$(field 'c.gateway')"
for f in ca client_cert client_key; do check "$f exists" test -s "$(field "c.$f")"; done
sign() {  # sign KEY REQUEST → $STATUS, $BODY
    STATUS=$(curl -s -o "$TMP/.s" -w '%{http_code}' --max-time 30 --cacert "$(field c.ca)" \
        --cert "$(field c.client_cert)" --key "$(field c.client_key)" \
        -H 'Content-Type: application/json' --data-binary "@$CAPTURES/$2.json" \
        "$(field c.gateway)/api/v1/eth2/sign/$1") || true
    BODY=$(cat "$TMP/.s")
}
ROOT=$(node -e "console.log(require('$CAPTURES/04_RANDAO_REVEAL_phase0.json').signingRoot)")
for i in 0 1; do
    KEY=$(field "c.keys[$i]")
    sign "$KEY" 04_RANDAO_REVEAL_phase0
    assert_eq "key $i signs through the gateway" 200 "$STATUS"
    SIG=$(node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$BODY")
    run "$TKMS" verify --pubkey "$KEY" --message "$ROOT" --signature "$SIG"
    assert_eq "key $i: the signature verifies" 0 "$RC"
done
kill -9 "$(field 'c.servers[0].pid')" "$(field 'c.servers[3].pid')"
sign "$(field 'c.keys[0]')" 05_RANDAO_REVEAL_capella
assert_eq "two of five servers killed: still signs" 200 "$STATUS"
run "$TKMS" cluster up --dir "$D" --servers 5 --threshold 3
assert_eq "a second up in the same directory is refused" 1 "$RC"
run "$TKMS" cluster down --dir "$D"
assert_eq "down" 0 "$RC"
alive=0
for pid in $(field 'c.servers.map(s => s.pid).join(" ")') "$(field c.gateway_pid)"; do
    kill -0 "$pid" 2>/dev/null && alive=$((alive + 1))
done
assert_eq "no process of the cluster is left" 0 "$alive"
finish
