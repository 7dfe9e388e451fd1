# shellcheck shell=bash
# server_lib.sh — running real `tkms server` processes on 127.0.0.1 for the
# server tests (sourced after tests/cli/lib.sh).
#
#   make_pki                      CA, certificate "server" (IP 127.0.0.1) and
#                                 clients "gateway", "operator", "intruder" in
#                                 $PKI, plus a foreign CA's client in $PKI2
#   write_config NAME [EXTRA]     $TMP/NAME/server.yaml with data dir
#                                 $TMP/NAME/data, port 0, the rules below, and
#                                 EXTRA lines appended (YAML)
#   start_server NAME [FLAGS…]    starts it; waits for its port: $PORT_<NAME>,
#                                 $PID_<NAME>; its log is $TMP/NAME/log; a
#                                 restart listens on the same port
#   await_port NAME PID           waits for process PID (a server or a
#                                 gateway) to log "msg=listening … port=N"
#                                 in $TMP/NAME/log: $PORT_<NAME>,
#                                 $PID_<NAME>; fails when it exits first or
#                                 after 10 s
#   stop_server NAME [SIGNAL]     stops it (default TERM) and waits
#   start_servers [RULES [FLAGS…]]
#                                 p1, p2, p3: write_config with the RULES
#                                 lines (rules after the default ones) and
#                                 "owner: pN", start_server with FLAGS, each
#                                 checked; their identities: $ID_p1..$ID_p3
#   ceremony_servers              the --server flags of p1, p2, p3 for
#                                 `tkms ceremony run`
#   relay SPEC [FLAGS…]           `tkms ceremony run` of SPEC among p1, p2 and
#                                 p3 as operator (through `run`)
#   import_body OUT PASSWORD KEYSTORE…
#                                 the admin import request for the keystores
#   api NAME CLIENT METHOD PATH [BODY-FILE]
#                                 one HTTPS request with CLIENT's certificate
#                                 ("none" = no certificate, "foreign" = the
#                                 other CA's client): $STATUS and $BODY
#
# Default rules: gateway may sign (every type), operator may use admin,
# ceremony and metrics; intruder has a valid certificate and no rule.

CAPTURES=${TKMS_LODESTAR:-$TKMS_SOURCE_DIR/../shared/lodestar}/captured-requests
[ -d "$CAPTURES" ] || { echo "Lodestar captures not found at $CAPTURES (set TKMS_LODESTAR)" >&2; exit 1; }
PKI=$TMP/pki
PKI2=$TMP/pki-foreign
# Chain of the Lodestar captures (tests/server reads them in place).
GVR=0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673
command -v curl >/dev/null || { echo "curl is required (scripts/install-deps)" >&2; exit 1; }

make_pki() {
    "$TKMS" certs init --dir "$PKI" >/dev/null
    "$TKMS" certs server --dir "$PKI" --name server --ip 127.0.0.1 >/dev/null
    for c in gateway operator intruder; do
        "$TKMS" certs client --dir "$PKI" --name "$c" >/dev/null
    done
    "$TKMS" certs init --dir "$PKI2" >/dev/null
    "$TKMS" certs client --dir "$PKI2" --name gateway >/dev/null
}

write_config() {
    local name=$1 extra=${2:-}
    mkdir -p "$TMP/$name"
    cat >"$TMP/$name/server.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: data
tls:
  cert: $PKI/server.pem
  key: $PKI/server-key.pem
  ca: $PKI/ca.pem
genesis_validators_root: "$GVR"
workers: 2
max_body_size: 65536
keystore:
  scrypt_n: 1024
rules:
  - client: gateway
    operations: [sign]
  - client: operator
    operations: [admin, ceremony, metrics]
YAML
    if [ -n "$extra" ]; then printf '%s\n' "$extra" >>"$TMP/$name/server.yaml"; fi
}

start_server() {
    local name=$1; shift
    local log=$TMP/$name/log
    local old_port_var="PORT_$name" listen=()
    # A restart keeps the server's port (clients and gateways know it).
    [ -n "${!old_port_var:-}" ] && listen=(--listen "127.0.0.1:${!old_port_var}")
    : >"$log"
    "$TKMS" server --config "$TMP/$name/server.yaml" "${listen[@]}" "$@" 2>>"$log" &
    await_port "$name" $!
}

await_port() {
    local name=$1 pid=$2 port="" i
    for i in $(seq 1 200); do
        port=$(grep -o 'msg=listening .*port=[0-9]*' "$TMP/$name/log" | head -1 | sed 's/.*port=//')
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    printf -v "PID_$name" '%s' "$pid"
    printf -v "PORT_$name" '%s' "$port"
    [ -n "$port" ]
}

stop_server() {
    local name=$1 sig=${2:-TERM}
    local pid_var="PID_$name"
    local pid=${!pid_var:-}
    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    printf -v "PID_$name" '%s' ""
    return 0
}

start_servers() {
    local rules=${1:-} p
    [ $# -gt 0 ] && shift
    for p in p1 p2 p3; do
        write_config "$p" "${rules:+$rules
}owner: $p"
        check "server $p starts" start_server "$p" "$@"
        api "$p" operator GET /health
        printf -v "ID_$p" '%s' "$(node -e 'console.log(JSON.parse(process.argv[1]).server)' "$BODY")"
    done
}

ceremony_servers() {
    local p v
    for p in p1 p2 p3; do v="PORT_$p"; printf -- '--server %s=https://127.0.0.1:%s ' "$p" "${!v}"; done
}

relay() {
    local spec=$1; shift
    # shellcheck disable=SC2046
    run "$TKMS" ceremony run --spec "$spec" $(ceremony_servers) --ca "$PKI/ca.pem" \
        --cert "$PKI/operator.pem" --key "$PKI/operator-key.pem" "$@"
}

api() {
    local name=$1 client=$2 method=$3 path=$4 body=${5:-}
    local port_var="PORT_$name"
    local cert=() data=()
    case "$client" in
        none) ;;
        foreign) cert=(--cert "$PKI2/gateway.pem" --key "$PKI2/gateway-key.pem") ;;
        *) cert=(--cert "$PKI/$client.pem" --key "$PKI/$client-key.pem") ;;
    esac
    [ -n "$body" ] && data=(-H 'Content-Type: application/json' --data-binary "@$body")
    STATUS=$(curl -s -o "$TMP/.body" -w '%{http_code}' --max-time 30 --tlsv1.3 \
                  --cacert "$PKI/ca.pem" "${cert[@]}" -X "$method" "${data[@]}" \
                  "https://127.0.0.1:${!port_var}$path" 2>/dev/null) || true
    BODY=$(cat "$TMP/.body" 2>/dev/null || true)
    rm -f "$TMP/.body"
}

import_body() {
    local out=$1 pw=$2; shift 2
    node -e '
const fs = require("fs");
const files = process.argv.slice(3);
fs.writeFileSync(process.argv[1], JSON.stringify({
  keystores: files.map(f => fs.readFileSync(f, "utf8")),
  passwords: files.map(() => process.argv[2]) }));' "$out" "$pw" "$@"
}
