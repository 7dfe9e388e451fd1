#!/usr/bin/env bash
# test_certs.sh — `tkms certs`: a CA, a server and two clients; the files,
# their extensions and permissions; refusals; and a real mutual-TLS 1.3
# handshake on loopback with openssl s_server / s_client (a client of this
# CA is accepted, a client of another CA and a client without a
# certificate are rejected).
#
# Run: TKMS=build/tkms bash tests/net/test_certs.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

D=$TMP/pki
OTHER=$TMP/other

# --- making the files ------------------------------------------------------
run "$TKMS" certs --help
assert_eq "help: exit" 0 "$RC"
assert_contains "help: text" "certs server" "$OUT"

run "$TKMS" certs init --dir "$D"
assert_eq "init: exit" 0 "$RC"
run "$TKMS" certs server --dir "$D" --name server1 --ip 127.0.0.1 --dns localhost --dns srv.example
assert_eq "server: exit" 0 "$RC"
run "$TKMS" certs client --dir "$D" --name gateway --days 30
assert_eq "client 1: exit" 0 "$RC"
run "$TKMS" certs client --dir "$D" --name ops.alice_2
assert_eq "client 2: exit" 0 "$RC"

for f in ca server1 gateway ops.alice_2; do
    check "$f.pem exists" test -f "$D/$f.pem"
    assert_eq "$f-key.pem mode" 600 "$(stat -c %a "$D/$f-key.pem")"
    assert_eq "$f.pem mode" 644 "$(stat -c %a "$D/$f.pem")"
    assert_eq "$f-key.pem is PKCS#8" "-----BEGIN PRIVATE KEY-----" "$(head -1 "$D/$f-key.pem")"
    run openssl pkey -in "$D/$f-key.pem" -noout -check
    assert_eq "$f-key.pem is a valid key" 0 "$RC"
done
for f in server1 gateway ops.alice_2; do
    run openssl verify -CAfile "$D/ca.pem" "$D/$f.pem"
    assert_eq "verify $f: exit" 0 "$RC"
    assert_contains "verify $f: OK" "$f.pem: OK" "$OUT"
    # the key belongs to the certificate
    assert_eq "$f: key matches" "$(openssl x509 -in "$D/$f.pem" -noout -pubkey)" \
        "$(openssl pkey -in "$D/$f-key.pem" -pubout)"
done

text=$(openssl x509 -in "$D/ca.pem" -noout -text)
assert_match "ca: CN" "Subject: CN ?= ?tkms CA [0-9a-f]{8}" "$text"
assert_contains "ca: CA:TRUE" "CA:TRUE" "$text"
assert_contains "ca: basicConstraints critical" "Basic Constraints: critical" "$text"
assert_contains "ca: keyUsage" "Certificate Sign, CRL Sign" "$text"
assert_contains "ca: P-256" "NIST CURVE: P-256" "$text"

text=$(openssl x509 -in "$D/server1.pem" -noout -text)
assert_match "server: CN" "Subject: CN ?= ?server1" "$text"
assert_contains "server: SAN" "DNS:localhost, DNS:srv.example, IP Address:127.0.0.1" "$text"
assert_contains "server: EKU" "TLS Web Server Authentication" "$text"
assert_contains "server: CA:FALSE" "CA:FALSE" "$text"
assert_contains "server: v3" "Version: 3" "$text"
serial=$(openssl x509 -in "$D/server1.pem" -noout -serial)
assert_match "server: 128-bit serial" "^serial=[0-9A-F]{31,32}$" "$serial"

text=$(openssl x509 -in "$D/gateway.pem" -noout -text)
assert_match "client: CN" "Subject: CN ?= ?gateway" "$text"
assert_contains "client: EKU" "TLS Web Client Authentication" "$text"
if grep -q "Server Authentication" <<<"$text"; then fail "client: must not be serverAuth"; else pass; fi
if grep -q "Alternative Name" <<<"$text"; then fail "client: no SAN expected"; else pass; fi
check "client: --days 30" openssl x509 -in "$D/gateway.pem" -noout -checkend $((29 * 86400)) >/dev/null
if openssl x509 -in "$D/gateway.pem" -noout -checkend $((31 * 86400)) >/dev/null; then
    fail "client: valid past 30 days"
else
    pass
fi
check "server: default 825 days" openssl x509 -in "$D/server1.pem" -noout -checkend $((824 * 86400)) >/dev/null

# a server with no --dns/--ip gets localhost and 127.0.0.1
run "$TKMS" certs server --dir "$D" --name server2
assert_eq "server default SAN: exit" 0 "$RC"
assert_contains "server default SAN" "DNS:localhost, IP Address:127.0.0.1" \
    "$(openssl x509 -in "$D/server2.pem" -noout -text)"
run "$TKMS" certs server --dir "$D" --name server6 --ip ::1
assert_contains "server IPv6 SAN" "IP Address:0:0:0:0:0:0:0:1" \
    "$(openssl x509 -in "$D/server6.pem" -noout -text)"

# serials differ
assert_ne "serials differ" "$(openssl x509 -in "$D/server1.pem" -noout -serial)" \
    "$(openssl x509 -in "$D/server2.pem" -noout -serial)"

# --- refusals --------------------------------------------------------------
ca_sha=$(sha "$D/ca-key.pem")
key_sha=$(sha "$D/gateway-key.pem")
expect_error "init again" 1 certs "already exists" "$TKMS" certs init --dir "$D"
assert_eq "init again: CA key untouched" "$ca_sha" "$(sha "$D/ca-key.pem")"
expect_error "client again" 1 certs "already exists" "$TKMS" certs client --dir "$D" --name gateway
assert_eq "client again: key untouched" "$key_sha" "$(sha "$D/gateway-key.pem")"
expect_error "bad name /" 1 certs "not valid" "$TKMS" certs client --dir "$D" --name "a/b"
expect_error "bad name space" 1 certs "not valid" "$TKMS" certs client --dir "$D" --name "a b"
expect_error "bad name dash" 1 certs "not valid" "$TKMS" certs server --dir "$D" --name "-x"
expect_error "bad name ca" 1 certs "not valid" "$TKMS" certs client --dir "$D" --name ca
expect_error "bad ip" 1 certs "not an IP address" "$TKMS" certs server --dir "$D" --name s3 --ip 1.2.3
expect_error "bad dns" 1 certs "not a valid DNS name" "$TKMS" certs server --dir "$D" --name s4 --dns "a,IP:1.2.3.4"
check "bad ip: nothing written" test ! -e "$D/s3-key.pem"
expect_error "no CA" 1 certs "no CA" "$TKMS" certs client --dir "$TMP/empty" --name x
expect_error "no --name" 2 certs "--name" "$TKMS" certs client --dir "$D"
expect_error "no --dir" 2 certs "--dir" "$TKMS" certs init
expect_error "bad --days" 2 certs "--days" "$TKMS" certs client --dir "$D" --name x --days 0
expect_error "--ip on client" 2 certs "only for server" "$TKMS" certs client --dir "$D" --name x --ip 127.0.0.1
expect_error "unknown sub" 2 certs "unknown subcommand" "$TKMS" certs sign

# a CA key that does not match the CA certificate is refused
mkdir -p "$TMP/mismatch"
"$TKMS" certs init --dir "$TMP/mismatch-a" >/dev/null
cp "$D/ca.pem" "$TMP/mismatch/ca.pem"
cp "$TMP/mismatch-a/ca-key.pem" "$TMP/mismatch/ca-key.pem"
expect_error "CA key mismatch" 1 certs "does not match" "$TKMS" certs client --dir "$TMP/mismatch" --name x

# --- a real mutual-TLS handshake -------------------------------------------
run "$TKMS" certs init --dir "$OTHER"
assert_eq "other CA: exit" 0 "$RC"
run "$TKMS" certs client --dir "$OTHER" --name gateway
assert_eq "other client: exit" 0 "$RC"
run openssl verify -CAfile "$D/ca.pem" "$OTHER/gateway.pem"
assert_ne "other client does not verify against our CA" 0 "$RC"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
}
trap 'stop_server; rm -rf "$TMP"' EXIT

# start s_server on a free port (a few tries); bounded by timeout 60
started=0
for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    : >"$TMP/s_server.log"
    timeout 60 openssl s_server -accept "127.0.0.1:$PORT" -tls1_3 \
        -cert "$D/server1.pem" -key "$D/server1-key.pem" -CAfile "$D/ca.pem" \
        -Verify 1 -verify_return_error -www >"$TMP/s_server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 50); do
        if grep -q ACCEPT "$TMP/s_server.log"; then started=1; break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ "$started" = 1 ] && break
    stop_server
done
assert_eq "s_server started" 1 "$started"

# s_client_get CERT_ARGS... — one HTTP request through mutual TLS
s_client_get() {
    printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -servername localhost \
            -CAfile "$D/ca.pem" -verify_return_error -ign_eof "$@"
}

if [ "$started" = 1 ]; then
    run s_client_get -cert "$D/gateway.pem" -key "$D/gateway-key.pem"
    assert_eq "mTLS: exit" 0 "$RC"
    assert_contains "mTLS: server verified" "Verify return code: 0 (ok)" "$OUT"
    assert_contains "mTLS: TLS 1.3" "TLSv1.3" "$OUT"
    assert_contains "mTLS: HTTP answer" "HTTP/1.0 200 ok" "$OUT"
    assert_match "mTLS: server sees the client CN" "Subject: ?CN ?= ?gateway" "$OUT"

    run s_client_get -cert "$D/ops.alice_2.pem" -key "$D/ops.alice_2-key.pem"
    assert_eq "mTLS client 2: exit" 0 "$RC"
    assert_match "mTLS client 2: CN" "Subject: ?CN ?= ?ops.alice_2" "$OUT"

    run s_client_get -cert "$OTHER/gateway.pem" -key "$OTHER/gateway-key.pem"
    assert_ne "other CA: rejected" 0 "$RC"
    if grep -q "HTTP/1.0 200" <<<"$OUT"; then fail "other CA: got an answer"; else pass; fi
    assert_contains "other CA: unknown ca alert" "alert unknown ca" "$OUT$ERR"

    run s_client_get
    assert_ne "no client cert: rejected" 0 "$RC"
    if grep -q "HTTP/1.0 200" <<<"$OUT"; then fail "no client cert: got an answer"; else pass; fi
    assert_contains "no client cert: alert" "certificate required" "$OUT$ERR"

    # a server certificate used as a client certificate lacks clientAuth
    run s_client_get -cert "$D/server2.pem" -key "$D/server2-key.pem"
    assert_ne "server cert as client: rejected" 0 "$RC"
    if grep -q "HTTP/1.0 200" <<<"$OUT"; then fail "server cert as client: got an answer"; else pass; fi

    # the server must verify against our CA and the name localhost
    run bash -c "printf 'Q\n' | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_3 \
        -CAfile '$OTHER/ca.pem' -verify_return_error -cert '$D/gateway.pem' \
        -key '$D/gateway-key.pem'"
    assert_ne "client rejects a server of another CA" 0 "$RC"
    run bash -c "printf 'Q\n' | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_3 \
        -CAfile '$D/ca.pem' -verify_return_error -verify_ip 127.0.0.1 -verify_hostname localhost \
        -cert '$D/gateway.pem' -key '$D/gateway-key.pem'"
    assert_eq "server SAN matches 127.0.0.1 and localhost" 0 "$RC"
fi
stop_server

finish
