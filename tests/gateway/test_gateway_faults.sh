#!/usr/bin/env bash
# test_gateway_faults.sh — faults and bad input against real processes: a
# 3-of-5 cluster (`tkms cluster up`: five `tkms server`, a DKG, a
# `tkms gateway`) under load from `tkms bench gateway` (distinct
# attestations from 4 clients back to back), DESIGN §9:
#   1. kill -9 of n-K = 2 servers, one after the other, while the load
#      runs: no request fails (requests in flight to a killed server are
#      answered from the other three), and signing goes on after both;
#   2. slow servers (TKMS_FAULT_INJECTION=delay-ms=N: every sign answer
#      held N ms, without holding the server's workers) do not move the
#      median: with two of them — one answering within the gateway's 2 s
#      timeout (late, not needed), one beyond it — the load's p50 stays
#      below a third of the smaller delay and nothing fails;
#   3. a lying server (TKMS_FAULT_INJECTION=invalid-partial) is locked out
#      under load as soon as one of its bad answers is examined (after a
#      handful of requests at most), and the load has no failure: the ban
#      is in `tkms gateway bans`, in /metrics and in the gateway's log, and
#      the liar is not asked again;
#   4. a gateway killed with -9 and restarted keeps its ban list (the liar
#      stays locked out, is not asked) and its slashing records (a double
#      vote of an attestation signed before the restart gets 412);
#   5. malformed and oversize requests — bad JSON, missing fields, wrong
#      types, a bad public key, a body over the limit (413), chunked,
#      wrong method, oversize headers — each get a 4xx with
#      {"error": "<reason>"} naming the problem, and a request after each
#      still signs (the signature verifies).
# Timing is asserted only with a large structural margin (item 2). The
# servers the test restarts itself are killed on exit; `tkms cluster down`
# stops the rest.
#
# Run: TKMS=build/tkms bash tests/gateway/test_gateway_faults.sh
set -u
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"
CAPTURES=${TKMS_LODESTAR:-$TKMS_SOURCE_DIR/../shared/lodestar}/captured-requests
[ -d "$CAPTURES" ] || { echo "Lodestar captures not found at $CAPTURES (set TKMS_LODESTAR)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required (scripts/install-deps)" >&2; exit 1; }
D=$TMP/cluster
CLIENTS=4                       # load generator clients (closed loop)
GVR=0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95   # the cluster's (mainnet)
declare -A SPID=()              # servers this test (re)started itself: sI -> pid
BENCH_PID=""
cleanup() {
    [ -n "$BENCH_PID" ] && kill -9 "$BENCH_PID" 2>/dev/null
    for pid in "${SPID[@]}"; do kill -9 "$pid" 2>/dev/null; done
    "$TKMS" cluster down --dir "$D" >/dev/null 2>&1
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
say() { printf '== %s\n' "$*"; }

# ---- helpers ------------------------------------------------------------------------------
field() { json_get "$TMP/c.json" "$1"; }
server_pid() { if [ -n "${SPID[s$1]:-}" ]; then echo "${SPID[s$1]}"; else field "d.servers[$(($1 - 1))].pid"; fi; }
server_url() { field "d.servers[$(($1 - 1))].url"; }

# wait_for SECONDS COMMAND… — true once COMMAND succeeds (polled every 0.1 s).
wait_for() {
    local limit=$1 i; shift
    for ((i = 0; i < limit * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# gone PID — true once process PID has ended entirely: reaped, or a zombie
# none of whose threads is left but its leader. (A killed multi-threaded
# process shows as a zombie while its other threads are still exiting; it
# holds its files and locks — the audit log's — until the last one has.)
gone() {
    ! kill -0 "$1" 2>/dev/null && return 0
    grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null &&
        [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -le 1 ]
}

# gw METHOD PATH [CURL-ARGS…] — a request to the gateway as its client:
# $STATUS and $BODY.
gw() {
    local method=$1 path=$2; shift 2
    STATUS=$(curl -s -o "$TMP/.gw" -w '%{http_code}' --max-time 60 --cacert "$CA" \
        --cert "$CERT" --key "$CERTKEY" -X "$method" "$@" "$GATEWAY$path") || true
    BODY=$(cat "$TMP/.gw" 2>/dev/null)
}
# sign FILE [KEY] — POST FILE to the sign route of KEY (default: the key).
sign() { gw POST "/api/v1/eth2/sign/${2:-$KEY}" -H 'Content-Type: application/json' --data-binary "@$1"; }
metrics() { gw GET /metrics; printf '%s\n' "$BODY"; }
# metric LINE-PREFIX — the value of the gateway metric line (0 when absent).
metric() { metrics | awk -v p="$1" 'index($0, p " ") == 1 { v = $2 } END { print v + 0 }'; }
signed_count() { metric 'tkms_gateway_requests_total{route="sign",code="200"}'; }
answers() { metric "tkms_gateway_server_answers_total{server=\"s$1\",outcome=\"$2\"}"; }
# audit_signs I — sign requests in server I's audit log (every one it was asked).
audit_signs() { grep -c '"event":"sign"' "$D/s$1/data/audit.log" || true; }

# attestation SOURCE TARGET [BLOCK-ROOT-BYTE] > FILE — a Web3Signer body.
hex32() { local s="" i; for ((i = 0; i < 32; i++)); do s+=$1; done; printf '%s' "$s"; }
attestation() {
    printf '{"type":"ATTESTATION","fork_info":{"fork":{"previous_version":"0x00000000","current_version":"0x00000000","epoch":"0"},"genesis_validators_root":"%s"},"attestation":{"slot":"%s","index":"0","beacon_block_root":"0x%s","source":{"epoch":"%s","root":"0x%s"},"target":{"epoch":"%s","root":"0x%s"}}}' \
        "$GVR" "$(($2 * 32))" "$(hex32 "${3:-11}")" "$1" "$(hex32 22)" "$2" "$(hex32 33)"
}
# An epoch above every one the load sent: the load numbers its epochs from
# the wall clock in microseconds when it starts, one per request.
fresh_epoch() { echo $(($(date +%s%6N) + 1000000000)); }

# still_signs NAME — a RANDAO reveal (no slashing record) signs through the
# gateway and the signature verifies under the group key.
RANDAO=$CAPTURES/04_RANDAO_REVEAL_phase0.json
RANDAO_ROOT=$(json_get "$RANDAO" d.signingRoot)
still_signs() {
    sign "$RANDAO"
    if [ "$STATUS" != 200 ]; then fail "$1: a request after it does not sign: $STATUS $BODY"; return; fi
    local sig
    sig=$(node -e 'console.log(JSON.parse(process.argv[1]).signature)' "$BODY" 2>/dev/null)
    if "$TKMS" verify --pubkey "$KEY" --message "$RANDAO_ROOT" --signature "$sig" >/dev/null 2>&1; then
        pass
    else
        fail "$1: the next signature does not verify: $BODY"
    fi
}

server_healthy() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CA" --cert "$D/pki/operator.pem" \
        --key "$D/pki/operator-key.pem" "$(server_url "$1")/health" 2>/dev/null | grep -q '^200$'
}
# restart_server I [VAR=VALUE…] — server sI again (same config, data and
# port) with the environment given; waits until it answers /health.
restart_server() {
    local i=$1; shift
    local old
    old=$(server_pid "$i")
    kill -9 "$old" 2>/dev/null
    wait_for 30 gone "$old"
    (cd "$D/s$i" && exec env "$@" "$TKMS" server --config server.yaml >>log 2>&1) &
    SPID[s$i]=$!
    disown "$!"
    check "s$i restarts${1:+ with $*}" wait_for 60 server_healthy "$i"
}

# start_bench OUT SECONDS — the load, in the background ($BENCH_PID).
start_bench() {
    "$TKMS" bench gateway --url "$GATEWAY" --pubkey "$KEY" --genesis-validators-root "$GVR" \
        --ca "$CA" --cert "$CERT" --key "$CERTKEY" --clients "$CLIENTS" --seconds "$2" --json \
        >"$TMP/$1.json" 2>"$TMP/$1.err" &
    BENCH_PID=$!
}
# finish_bench NAME OUT — waits for it; checks it signed and nothing failed.
finish_bench() {
    local rc=0
    wait "$BENCH_PID" || rc=$?
    BENCH_PID=""
    assert_eq "$1: the load ran (exit status; $(cat "$TMP/$2.err"))" 0 "$rc"
    local signed failed
    signed=$(json_get "$TMP/$2.json" d.signed 2>/dev/null)
    failed=$(json_get "$TMP/$2.json" d.failed 2>/dev/null)
    printf '   load: %s signed, %s failed, p50 %.1f ms, p99 %.1f ms\n' "${signed:-?}" "${failed:-?}" \
        "$(json_get "$TMP/$2.json" d.latency_p50_ms 2>/dev/null || echo 0)" \
        "$(json_get "$TMP/$2.json" d.latency_p99_ms 2>/dev/null || echo 0)"
    check "$1: signatures were made" test "${signed:-0}" -gt 0
    assert_eq "$1: no request failed (first failure: $(json_get "$TMP/$2.json" d.first_failure 2>/dev/null))" 0 "${failed:-?}"
}
bench_running() { [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; }
# signed_reached N — the gateway has answered N sign requests with 200.
signed_reached() { [ "$(signed_count)" -ge "$1" ]; }
# wait_load_signed N — waits until N more signatures are made while the load runs.
wait_load_signed() {
    local target=$(($(signed_count) + $1)) i
    for ((i = 0; i < 1200; i++)); do
        signed_reached "$target" && return 0
        bench_running || { signed_reached "$target"; return; }
        sleep 0.1
    done
    return 1
}

# ---- the cluster ---------------------------------------------------------------------------
say "a 3-of-5 cluster: five servers, a DKG, a gateway"
run "$TKMS" cluster up --dir "$D" --servers 5 --threshold 3 --keys 1 --scrypt-n 1024 --json
assert_eq "cluster up" 0 "$RC"
[ "$RC" = 0 ] || { echo "$ERR" >&2; finish; exit 1; }
printf '%s\n' "$OUT" >"$TMP/c.json"
GATEWAY=$(field d.gateway)
CA=$(field d.ca)
CERT=$(field d.client_cert)
CERTKEY=$(field d.client_key)
KEY=$(field 'd.keys[0]')
still_signs "a fresh cluster"

# ---- 1. kill -9 of two servers under load --------------------------------------------------
say "1. kill -9 of s1, then s2, while the load runs: no request fails"
start_bench kill 8
check "the load starts" wait_load_signed 20
check "the load is running at the first kill" bench_running
kill -9 "$(server_pid 1)"
check "signing goes on with s1 dead" wait_load_signed 20
check "the load is running at the second kill" bench_running
kill -9 "$(server_pid 2)"
AT_SECOND_KILL=$(signed_count)
check "signing goes on with s1 and s2 dead" wait_load_signed 20
finish_bench "two servers killed under load" kill
check "signatures were made after the second kill" test "$(signed_count)" -gt "$AT_SECOND_KILL"
for i in 1 2; do check "s$i is dead" wait_for 30 gone "$(server_pid "$i")"; done
still_signs "with three servers of five"

# ---- 2. slow servers do not move the median ------------------------------------------------
say "2. s1 holds every answer 1.5 s (within the gateway's 2 s timeout), s2 4 s (beyond it)"
expect_error "an unknown fault mode is refused" 2 server "unknown mode 'slow'" \
    bash -c "cd '$D/s1' && TKMS_FAULT_INJECTION=slow exec '$TKMS' server --config server.yaml"
expect_error "a delay out of range is refused" 2 server "delay-ms must be a whole number in 1..600000" \
    bash -c "cd '$D/s1' && TKMS_FAULT_INJECTION=delay-ms=0 exec '$TKMS' server --config server.yaml"
restart_server 1 TKMS_FAULT_INJECTION=delay-ms=1500
restart_server 2 TKMS_FAULT_INJECTION=delay-ms=4000
assert_contains "s1 says loudly that it delays" 'FAULT INJECTION: this server holds every sign answer before sending it" delay_ms=1500' "$(cat "$D/s1/log")"
assert_contains "s2 too" 'delay_ms=4000' "$(grep 'FAULT INJECTION' "$D/s2/log")"
# The delay is real, and held on its own thread: 12 requests at once to s2
# (4 workers) each take >= 4 s and all end together, well before the 12 s
# a delay that held the workers would need.
printf '{"type":"RANDAO_REVEAL","fork_info":{"fork":{"previous_version":"0x00000000","current_version":"0x00000000","epoch":"0"},"genesis_validators_root":"%s"},"randao_reveal":{"epoch":"7"}}' "$GVR" >"$TMP/randao7.json"
S2_URL=$(server_url 2)
started=$(date +%s%N)
direct=()
for n in $(seq 1 12); do
    curl -s -o "$TMP/direct-$n.out" -w '%{http_code} %{time_total}\n' --max-time 60 --cacert "$CA" \
        --cert "$D/pki/gateway-client.pem" --key "$D/pki/gateway-client-key.pem" \
        -H 'Content-Type: application/json' --data-binary "@$TMP/randao7.json" \
        "$S2_URL/v1/eth2/sign/$KEY" >"$TMP/direct-$n.time" &
    direct+=($!)
done
wait "${direct[@]}"
took_ms=$((($(date +%s%N) - started) / 1000000))
ok=0 slow=0
for n in $(seq 1 12); do
    read -r code secs <"$TMP/direct-$n.time"
    [ "$code" = 200 ] && ok=$((ok + 1))
    node -e 'process.exit(Number(process.argv[1]) >= 4.0 ? 0 : 1)' "$secs" && slow=$((slow + 1))
done
printf '   12 direct requests to s2: %d answered 200, %d took >= 4 s, all in %d ms\n' "$ok" "$slow" "$took_ms"
assert_eq "s2 answers every direct request" 12 "$ok"
assert_eq "each direct answer is held >= 4 s" 12 "$slow"
check "the held answers do not hold the workers (12 at once end within 8 s, not 12)" test "$took_ms" -lt 8000
S1_OK=$(answers 1 ok) S2_FAILED=$(answers 2 failed)
start_bench slow 6
finish_bench "two slow servers" slow
P50=$(json_get "$TMP/slow.json" d.latency_p50_ms)
check "the median stays far below the delays (p50 $P50 ms < 1500/3 ms)" \
    node -e 'process.exit(Number(process.argv[1]) < 500 ? 0 : 1)' "$P50"
check "s1's late answers came in (within the timeout, not needed)" test "$(answers 1 ok)" -gt "$S1_OK"
check "the gateway gave up on s2 (timeouts) without failing a request" test "$(answers 2 failed)" -gt "$S2_FAILED"

# ---- 3. a lying server is locked out under load ------------------------------------------
say "3. s1 and s2 honest and prompt again, s3 lies (invalid partials): locked out under load"
# The liar is not one of the slow servers: calls the gateway still had
# queued for those (each ends within its 2 s timeout) would reach a
# restarted one without being needed, and blur what the liar was asked.
restart_server 1
restart_server 2
restart_server 3 TKMS_FAULT_INJECTION=invalid-partial
assert_contains "s3 says loudly that it lies" "FAULT INJECTION: this server returns invalid partial signatures" "$(cat "$D/s3/log")"
run "$TKMS" gateway bans --data-dir "$D/gateway/data"
assert_eq "no ban before" "[]" "$(tr -d ' \n' <<<"$OUT")"
LIAR_BEFORE=$(audit_signs 3)
start_bench liar 5
finish_bench "one liar of five" liar
run "$TKMS" gateway bans --data-dir "$D/gateway/data"
assert_eq "tkms gateway bans: one ban" 1 "$(node -e 'console.log(JSON.parse(process.argv[1]).length)' "$OUT" 2>/dev/null)"
assert_match "it names s3" '"server": ?"s3"' "$OUT"
assert_contains "for an invalid partial" "invalid partial" "$OUT"
assert_eq "metrics: one lockout" 1 "$(metric tkms_gateway_lockouts_total)"
assert_eq "metrics: s3 locked out" 1 "$(metric 'tkms_gateway_server_locked_out{server="s3"}')"
for i in 1 2 4 5; do assert_eq "metrics: s$i not locked out" 0 "$(metric "tkms_gateway_server_locked_out{server=\"s$i\"}")"; done
assert_match "the gateway's log names s3" 'msg="server locked out" server=s3 .*reason="invalid partial' "$(cat "$D/gateway/log")"
LIAR_ASKED=$(($(audit_signs 3) - LIAR_BEFORE))
printf '   s3 was asked %d times of %s signed requests\n' "$LIAR_ASKED" "$(json_get "$TMP/liar.json" d.signed)"
check "the liar was cut off at once (asked $LIAR_ASKED times, at most 20)" test "$LIAR_ASKED" -le 20
LIAR_AFTER=$(audit_signs 3)
for n in 1 2 3; do still_signs "after the lockout ($n)"; done
assert_eq "the locked-out liar is not asked again" "$LIAR_AFTER" "$(audit_signs 3)"

# ---- 4. a gateway restart keeps the bans and the slashing records ----------------------
say "4. the gateway is killed (-9) and restarted: the ban and the slashing records stay"
E=$(fresh_epoch)
attestation "$E" $((E + 1)) >"$TMP/vote.json"
attestation "$E" $((E + 1)) 55 >"$TMP/double.json"
attestation $((E + 1)) $((E + 2)) >"$TMP/next.json"
sign "$TMP/vote.json"
assert_eq "an attestation signs before the restart" 200 "$STATUS"
OLD_GW=$(field d.gateway_pid)
kill -9 "$OLD_GW"
check "the gateway is dead" wait_for 30 gone "$OLD_GW"
run "$TKMS" cluster restart-gateway --dir "$D" --json
assert_eq "tkms cluster restart-gateway" 0 "$RC"
[ "$RC" = 0 ] && printf '%s\n' "$OUT" >"$TMP/c.json"
assert_ne "a new gateway process" "$OLD_GW" "$(field d.gateway_pid)"
run "$TKMS" gateway bans --data-dir "$D/gateway/data"
assert_match "the ban list still names s3" '"server": ?"s3"' "$OUT"
s3_checked() { gw GET /healthcheck; grep -qF '"name":"s3","up":true' <<<"$BODY"; }
check "the new gateway sees s3 up" wait_for 60 s3_checked
assert_contains "and locked out" '"name":"s3","up":true,"locked_out":true' "$BODY"
assert_eq "metrics: s3 locked out after the restart" 1 "$(metric 'tkms_gateway_server_locked_out{server="s3"}')"
sign "$TMP/double.json"
assert_eq "a double vote of an attestation signed before the restart: 412" 412 "$STATUS"
assert_contains "412 says why" "double vote" "$BODY"
assert_contains "from the gateway's own records" "refused by the gateway's slashing protection" "$BODY"
LIAR_AFTER=$(audit_signs 3)
sign "$TMP/next.json"
assert_eq "the next attestation signs after the restart" 200 "$STATUS"
assert_eq "the restarted gateway does not ask the locked-out s3" "$LIAR_AFTER" "$(audit_signs 3)"

# ---- 5. malformed and oversize requests ---------------------------------------------------
say "5. malformed and oversize requests: 4xx with a reason, and the gateway keeps serving"
GW_PID=$(field d.gateway_pid)
# bad NAME STATUS REASON CURL-ARGS… — the gateway answers STATUS with
# {"error": "…REASON…"}; a request after it still signs.
bad() {
    local name=$1 want=$2 reason=$3; shift 3
    gw "$@"
    assert_eq "$name: status" "$want" "$STATUS"
    local error
    error=$(node -e 'const e = JSON.parse(process.argv[1]).error;
                     if (typeof e !== "string" || e === "") process.exit(1); console.log(e)' "$BODY" 2>/dev/null)
    if [ -n "$error" ]; then pass; else fail "$name: not {\"error\": \"<reason>\"}: $BODY"; fi
    assert_contains "$name: the reason" "$reason" "$error"
    still_signs "$name"
}
SIGN_PATH=/api/v1/eth2/sign/$KEY
body() { printf '%s' "$1" >"$TMP/bad.json"; echo "@$TMP/bad.json"; }
FORK='"fork_info":{"fork":{"previous_version":"0x00000000","current_version":"0x00000000","epoch":"0"},"genesis_validators_root":"'$GVR'"}'
J=(-H 'Content-Type: application/json' --data-binary)
bad "bad JSON" 400 "not JSON" POST "$SIGN_PATH" "${J[@]}" "$(body '{"type":')"
bad "not JSON at all" 400 "not JSON" POST "$SIGN_PATH" "${J[@]}" "$(body 'hello')"
bad "an empty body" 400 "not JSON" POST "$SIGN_PATH" "${J[@]}" "$(body '')"
bad "a JSON array" 400 "not a JSON object" POST "$SIGN_PATH" "${J[@]}" "$(body '[1,2]')"
printf '{"type":"RANDAO_REVEAL\377\000"}' >"$TMP/binary.json"
bad "bytes that are not UTF-8" 400 "not JSON" POST "$SIGN_PATH" "${J[@]}" "@$TMP/binary.json"
bad "missing type" 400 "type: missing" POST "$SIGN_PATH" "${J[@]}" "$(body '{}')"
bad "missing fork_info" 400 "fork_info: missing" POST "$SIGN_PATH" "${J[@]}" "$(body '{"type":"RANDAO_REVEAL","randao_reveal":{"epoch":"5"}}')"
bad "missing randao_reveal" 400 "randao_reveal: missing" POST "$SIGN_PATH" "${J[@]}" "$(body "{\"type\":\"RANDAO_REVEAL\",$FORK}")"
bad "type of the wrong type" 400 "type: not a string" POST "$SIGN_PATH" "${J[@]}" "$(body '{"type":42}')"
bad "an unknown type" 400 "unknown signing type" POST "$SIGN_PATH" "${J[@]}" "$(body "{\"type\":\"NOPE\",$FORK}")"
bad "an epoch as a number" 400 "randao_reveal.epoch: not a decimal uint64" POST "$SIGN_PATH" "${J[@]}" \
    "$(body "{\"type\":\"RANDAO_REVEAL\",$FORK,\"randao_reveal\":{\"epoch\":5}}")"
bad "fork_info not an object" 400 "fork_info: not an object" POST "$SIGN_PATH" "${J[@]}" \
    "$(body '{"type":"RANDAO_REVEAL","fork_info":"x","randao_reveal":{"epoch":"5"}}')"
bad "a block root too short" 400 "beacon_block_root: not hex of exactly 32 bytes" POST "$SIGN_PATH" "${J[@]}" \
    "$(body "{\"type\":\"ATTESTATION\",$FORK,\"attestation\":{\"slot\":\"1\",\"index\":\"0\",\"beacon_block_root\":\"0x11\",\"source\":{\"epoch\":\"1\",\"root\":\"0x00\"},\"target\":{\"epoch\":\"2\",\"root\":\"0x00\"}}}")"
bad "a public key that is not hex" 404 "Public Key not found: 0xzz12" POST /api/v1/eth2/sign/0xzz12 "${J[@]}" "@$RANDAO"
bad "a public key one byte too long" 404 "Public Key not found: ${KEY}00" POST "$SIGN_PATH"00 "${J[@]}" "@$RANDAO"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$TMP/big.json"
bad "a body over the 4 MiB limit" 413 "larger than 4194304 bytes" POST "$SIGN_PATH" "${J[@]}" "@$TMP/big.json"
bad "a body over the limit, sent without waiting (no Expect)" 413 "larger than 4194304 bytes" \
    POST "$SIGN_PATH" -H 'Expect:' "${J[@]}" "@$TMP/big.json"
bad "a chunked body" 411 "Content-Length" POST "$SIGN_PATH" -H 'Transfer-Encoding: chunked' "${J[@]}" "@$RANDAO"
bad "GET on the sign route" 405 "method not allowed" GET "$SIGN_PATH"
bad "headers over the limit" 431 "too large" POST "$SIGN_PATH" -H "X-Filler: $(head -c 20000 /dev/zero | tr '\0' a)" \
    "${J[@]}" "@$RANDAO"
check "the gateway process is the same one" kill -0 "$GW_PID"
sign "$TMP/double.json"
assert_eq "the slashing records are intact: the double vote is still 412" 412 "$STATUS"

finish
