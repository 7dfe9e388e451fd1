# shellcheck shell=bash
# gateway_lib.sh — `tkms gateway` in front of three real `tkms server`
# processes, for the gateway tests (sourced after tests/cli/lib.sh and
# tests/server/server_lib.sh, with p1, p2, p3 started by start_servers).
#
#   run_dkg KEYS              a 2-of-3 DKG of KEYS keys among p1, p2, p3
#                             (`tkms ceremony run` as operator), checked;
#                             the group keys in the array DKG_KEYS
#   servers_yaml              how the gateway reaches p1, p2, p3 (YAML
#                             lines): servers_tls with the "gateway" client
#                             certificate, genesis_validators_root $GVR,
#                             timeouts, and the `servers:` list
#   attestation ROOT_BYTE SOURCE TARGET OUT [GVR]
#                             writes OUT: the captured 12_ATTESTATION with
#                             block root ROOT_BYTE x 32, epochs SOURCE ->
#                             TARGET (and genesis validators root GVR), no
#                             signingRoot
#   start_gateway NAME [FLAGS…]
#                             starts `tkms gateway --config
#                             $TMP/NAME/gateway.yaml FLAGS`, its log $TMP/NAME/log
#                             (emptied first); waits for its main listener:
#                             $PORT_<NAME>, $PID_<NAME>; fails without it

run_dkg() {
    "$TKMS" ceremony spec --parties "p1:$ID_p1,p2:$ID_p2,p3:$ID_p3" --threshold 2 --keys "$1" \
        --out "$TMP/dkg.json" >/dev/null
    relay "$TMP/dkg.json" --json
    assert_eq "DKG among the servers" 0 "$RC"
    mapfile -t DKG_KEYS < <(node -e 'for (const k of JSON.parse(process.argv[1]).keys) console.log(k)' "$OUT")
}

servers_yaml() {
    local p port id
    cat <<YAML
servers_tls: {cert: $PKI/gateway.pem, key: $PKI/gateway-key.pem, ca: $PKI/ca.pem}
genesis_validators_root: "$GVR"
timeout_ms: 3000
health_interval_ms: 200
servers:
YAML
    for p in p1 p2 p3; do
        port="PORT_$p" id="ID_$p"
        echo "  - {name: $p, url: \"https://127.0.0.1:${!port}\", identity: \"${!id}\"}"
    done
}

start_gateway() {
    local name=$1; shift
    : >"$TMP/$name/log"
    "$TKMS" gateway --config "$TMP/$name/gateway.yaml" "$@" 2>>"$TMP/$name/log" &
    await_port "$name" $!
}

attestation() {
    node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1]));
delete r.signingRoot; r.attestation.beacon_block_root = "0x" + process.argv[2].repeat(32);
r.attestation.source.epoch = process.argv[3]; r.attestation.target.epoch = process.argv[4];
if (process.argv[6]) r.fork_info.genesis_validators_root = process.argv[6];
fs.writeFileSync(process.argv[5], JSON.stringify(r))' "$CAPTURES/12_ATTESTATION.json" "$@"
}
