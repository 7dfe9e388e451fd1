#!/usr/bin/env bash
# test_gateway_slashing.sh — two `tkms gateway` processes serving the same
# key from one PostgreSQL database (`db: postgresql://…`, a private server
# started by tests/store/postgres_lib.sh), in front of the same three
# `tkms server` processes (a 2-of-3 DKG run by `tkms ceremony run`):
#   - a migration race: the key is assigned to client vc1 on gateway A and
#     to vc2 on gateway B, and both are sent the same attestation duty with
#     different block roots — A first, B first, and both at once, several
#     times: exactly one 200, the other 412 from its gateway's slashing
#     protection (the shared records), and no server's audit log holds the
#     refused request; the same for a block proposal;
#   - the ban list is shared: a server that gateway A locks out for an
#     invalid partial is skipped by gateway B within the ban list's refresh
#     interval (B's 503 says "locked out", the server's audit log shows it
#     was not asked), and `tkms gateway bans --db` lists it;
#   - a gateway of another chain does not start on that database.
#
# Run: TKMS=build/tkms bash tests/gateway/test_gateway_slashing.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
# shellcheck source=../server/server_lib.sh
source "$(dirname "$0")/../server/server_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
# shellcheck source=../store/postgres_lib.sh
source "$(dirname "$0")/../store/postgres_lib.sh"
trap 'for p in p1 p2 p3 gwa gwb; do stop_server $p KILL; done; pg_stop; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

pg_start || { echo "test_gateway_slashing: $PG_ERROR" >&2; exit 1; }
pg_createdb tkms_gateways || { echo "test_gateway_slashing: createdb failed" >&2; exit 1; }
DB=$(pg_url tkms_gateways)

make_pki
for c in vc1 vc2; do "$TKMS" certs client --dir "$PKI" --name "$c" >/dev/null; done
start_servers
run_dkg 1
KEY=${DKG_KEYS[0]}

# --- two gateways, one database -----------------------------------------------------------
# gateway NAME CLIENT: $TMP/NAME/gateway.yaml on $DB, KEY assigned to CLIENT.
gateway() {
    local name=$1 client=$2
    mkdir -p "$TMP/$name"
    cat >"$TMP/$name/gateway.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: data
db: "$DB"
tls: {cert: $PKI/server.pem, key: $PKI/server-key.pem, ca: $PKI/ca.pem}
$(servers_yaml)
clients:
  - {name: $client, auth: cert}
YAML
    run "$TKMS" gateway add-key --data-dir "$TMP/$name/data" --group "$TMP/p1/data/keys/$KEY/group.json" --client "$client"
    assert_eq "$name: add the key for $client" 0 "$RC"
}
gateway gwa vc1
gateway gwb vc2
check "gateway A starts" start_gateway gwa
check "gateway B starts" start_gateway gwb

# sign GATEWAY BODY-FILE OUT: signs KEY at GATEWAY as its client; the
# status goes to OUT.status, the body to OUT.
sign() {
    local name=$1 body=$2 out=$3 client=vc1 port_var="PORT_$1"
    [ "$name" = gwb ] && client=vc2
    curl -s -o "$out" -w '%{http_code}' --max-time 30 --cacert "$PKI/ca.pem" \
        --cert "$PKI/$client.pem" --key "$PKI/$client-key.pem" \
        -H 'Content-Type: application/json' --data-binary "@$body" \
        "https://127.0.0.1:${!port_var}/api/v1/eth2/sign/$KEY" >"$out.status" 2>/dev/null || true
}
# The signing roots of a gateway's slashing refusals (from its log).
refused_roots() { sed -n "s/.*refused by the gateway's slashing protection\" .*signing_root=\(0x[0-9a-f]*\).*/\1/p" "$TMP/$1/log"; }
in_audit_logs() { cat "$TMP"/p[123]/data/audit.log | grep -c -F "$1"; }

# race NAME ORDER A-BODY B-BODY: both gateways get the same duty (A-BODY at
# A, B-BODY at B); ORDER is "a" (A answers first), "b", or "both" (at once).
race() {
    local name=$1 order=$2 a=$3 b=$4
    case "$order" in
        a) sign gwa "$a" "$TMP/ra"; sign gwb "$b" "$TMP/rb" ;;
        b) sign gwb "$b" "$TMP/rb"; sign gwa "$a" "$TMP/ra" ;;
        both) sign gwa "$a" "$TMP/ra" & local pa=$!
              sign gwb "$b" "$TMP/rb" & local pb=$!
              wait "$pa" "$pb" ;;
    esac
    local sa sb
    sa=$(cat "$TMP/ra.status"); sb=$(cat "$TMP/rb.status")
    local statuses
    statuses=$(printf '%s\n%s\n' "$sa" "$sb" | sort | tr '\n' ' ')
    assert_eq "$name: one 200, one 412 (A $sa, B $sb)" "200 412 " "$statuses"
    case "$order" in
        a) assert_eq "$name: A, asked first, signs" 200 "$sa" ;;
        b) assert_eq "$name: B, asked first, signs" 200 "$sb" ;;
    esac
    local loser=ra
    [ "$sb" = 412 ] && loser=rb
    assert_contains "$name: the 412 is the gateway's own refusal" \
        "refused by the gateway's slashing protection" "$(cat "$TMP/$loser")"
}

# --- the migration race ---------------------------------------------------------------------
attestation 41 3 4 "$TMP/a4.json"; attestation 42 3 4 "$TMP/b4.json"
race "attestation, A first" a "$TMP/a4.json" "$TMP/b4.json"
attestation 51 4 5 "$TMP/a5.json"; attestation 52 4 5 "$TMP/b5.json"
race "attestation, B first" b "$TMP/a5.json" "$TMP/b5.json"
for t in 6 7 8 9 10 11 12 13; do
    attestation 61 $((t - 1)) "$t" "$TMP/a$t.json"; attestation 62 $((t - 1)) "$t" "$TMP/b$t.json"
    race "attestation $t, both at once" both "$TMP/a$t.json" "$TMP/b$t.json"
done
# A surround vote across the gateways: A signed 12->13, B asks 11->14.
attestation 71 11 14 "$TMP/surround.json"
sign gwb "$TMP/surround.json" "$TMP/s"
assert_eq "a surround vote at B of what A signed: 412" 412 "$(cat "$TMP/s.status")"
assert_contains "refused by B's own records" "surrounds" "$(cat "$TMP/s")"
# A double block proposal: the same slot with another body, at each gateway.
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
delete r.signingRoot; r.beacon_block.block.slot = "40";
r.beacon_block.block.state_root = "0x" + process.argv[2].repeat(32);
fs.writeFileSync(process.argv[3], JSON.stringify(r))' "$CAPTURES/07_BLOCK_V2_phase0.json" 0a "$TMP/blk-a.json"
node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
delete r.signingRoot; r.beacon_block.block.slot = "40";
r.beacon_block.block.state_root = "0x" + process.argv[2].repeat(32);
fs.writeFileSync(process.argv[3], JSON.stringify(r))' "$CAPTURES/07_BLOCK_V2_phase0.json" 0b "$TMP/blk-b.json"
race "block proposal, both at once" both "$TMP/blk-a.json" "$TMP/blk-b.json"

ROOTS=$( (refused_roots gwa; refused_roots gwb) | sort -u)
assert_eq "every refusal is in a gateway log with its signing root" 12 "$(wc -l <<<"$ROOTS" | tr -d ' ')"
leaked=0
for r in $ROOTS; do [ "$(in_audit_logs "$r")" = 0 ] || leaked=$((leaked + 1)); done
assert_eq "no server's audit log holds a request the gateways refused" 0 "$leaked"
check "the servers did sign the winners (sanity)" test "$(cat "$TMP"/p1/data/audit.log | grep -c '"outcome":"signed"')" -ge 11

# --- the ban list is shared -----------------------------------------------------------------
stop_server p3
TKMS_FAULT_INJECTION=invalid-partial start_server p3
stop_server p2 KILL               # so that p3's partial is needed
sign gwa "$CAPTURES/04_RANDAO_REVEAL_phase0.json" "$TMP/ban"
assert_eq "A, with p2 down and p3 lying: 503" 503 "$(cat "$TMP/ban.status")"
assert_contains "A locks p3 out" "server locked out" "$(grep p3 "$TMP/gwa/log")"
run "$TKMS" gateway bans --db "$DB"
assert_match "the shared ban list names p3" '"server": ?"p3"' "$OUT"
sleep 1.2                         # B rereads the ban list each second
P3_LINES=$(wc -l <"$TMP/p3/data/audit.log")
sign gwb "$CAPTURES/05_RANDAO_REVEAL_capella.json" "$TMP/skip"
assert_eq "B, p2 down, p3 banned by A: 503" 503 "$(cat "$TMP/skip.status")"
assert_contains "B skipped p3: locked out" "p3: locked out" "$(cat "$TMP/skip")"
assert_eq "p3 was not asked by B" "$P3_LINES" "$(wc -l <"$TMP/p3/data/audit.log")"
curl -s -o "$TMP/hc" --max-time 30 --cacert "$PKI/ca.pem" --cert "$PKI/vc2.pem" --key "$PKI/vc2-key.pem" \
    "https://127.0.0.1:$PORT_gwb/healthcheck" || true
assert_contains "B's healthcheck: p3 locked out" '"name":"p3","up":true,"locked_out":true' "$(cat "$TMP/hc")"

# --- one chain per database -------------------------------------------------------------------
run timeout 20 "$TKMS" gateway --config "$TMP/gwb/gateway.yaml" --genesis-validators-root "0x$(printf '%064d' 9)"
assert_ne "a gateway of another chain does not start on the shared database" 0 "$RC"
assert_contains "and says why" "bound to genesis validators root $GVR" "$ERR"
finish
