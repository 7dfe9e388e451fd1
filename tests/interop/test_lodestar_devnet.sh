#!/usr/bin/env bash
# test_lodestar_devnet.sh — a real chain signed through tkms: a one-node
# `lodestar dev` devnet (Lodestar 1.5.1, minimal preset, 6 s slots, 8 slots
# per epoch, altair from epoch 1) whose 8 genesis validators (the interop
# keys 0..7) sign every duty through the gateway of a 3-of-5 `tkms cluster`:
#   - the interop secret keys (SHA-256 of i as 32-byte little-endian, read
#     as a little-endian integer, mod r) are imported with `tkms keygen
#     --secret-file`; their public keys are the devnet's (Lodestar's own
#     interopSecretKey(i));
#   - each key is split 3-of-5 among owners s1..s5 (`tkms allocate`, `tkms
#     split --allocation`), each owner's share imported into its server over
#     mutual TLS (POST /v1/keys, operator certificate), the group file added
#     to the gateway (`tkms gateway add-key`, `tkms cluster restart-gateway`);
#   - the originals are forgotten: every secret file, keystore and share file
#     is deleted, and no secret key is left in any file of the test;
#   - the devnet runs with `--externalSigner.url` at the gateway's plain-HTTP
#     client listener; the test passes when the beacon node reports a
#     finalized epoch >= 1 (REST finality_checkpoints), with no signing error
#     in Lodestar's log, and every sign request the gateway answered was a
#     200 (tkms_gateway_requests_total{route="sign"}).
# It takes a few minutes (finality needs ~4 epochs of 48 s); the deadline is
# $TKMS_DEVNET_TIMEOUT seconds (default 420) after genesis.
#
# The Lodestar CLI comes from tests/interop/lodestar-cli/package-lock.json
# (lodestar-cli/install.sh: npm ci + native rebuild, cached in the build
# directory, ~3 min the first time). The devnet's genesis validators root is
# read from the shared Lodestar folder's captures ($TKMS_LODESTAR, else
# ../shared/lodestar beside the source tree).
#
# Run: TKMS=build/tkms bash tests/interop/test_lodestar_devnet.sh
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/lib.sh
source "$here/../cli/lib.sh"
T0=$SECONDS

LODESTAR=${TKMS_LODESTAR:-$TKMS_SOURCE_DIR/../shared/lodestar}
CAPTURE=$LODESTAR/captured-devnet-requests/ATTESTATION.json
if [ ! -f "$CAPTURE" ]; then
    echo "ERROR: the shared Lodestar folder is missing: no $CAPTURE." >&2
    echo "       This test reads the devnet's genesis validators root from it; set" >&2
    echo "       TKMS_LODESTAR to the folder (see ../shared/lodestar/README.md)." >&2
    exit 1
fi
GVR=$(json_get "$CAPTURE" d.fork_info.genesis_validators_root)
GFV=$(json_get "$CAPTURE" d.fork_info.fork.previous_version)   # phase0: the genesis fork version
echo "devnet genesis validators root $GVR (from ${CAPTURE#"$LODESTAR"/})"
# tkms's servers and gateway use minimal's genesis fork version by default
# with --network minimal (for DEPOSIT and VALIDATOR_REGISTRATION).
assert_eq "the devnet's genesis fork version is minimal's" 0x00000001 "$GFV"

CLI=$(bash "$here/lodestar-cli/install.sh") || { echo "ERROR: installing the Lodestar CLI failed" >&2; exit 1; }
LODESTAR_BIN=$CLI/node_modules/.bin/lodestar
INSTALL_S=$((SECONDS - T0))
echo "Lodestar CLI ready in $INSTALL_S s ($CLI)"

D=$TMP/cluster
W=$TMP/work              # everything secret lives here, and is deleted
mkdir -m 700 "$W" "$W/secrets" "$W/keystores" "$W/split"
LPID=
stop_lodestar() {  # SIGTERM, SIGKILL after 10 s
    if [ -n "$LPID" ] && kill -0 "$LPID" 2>/dev/null; then
        kill "$LPID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$LPID" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$LPID" 2>/dev/null
    fi
    LPID=
}
cleanup() {
    stop_lodestar
    [ -f "$D/cluster.json" ] && "$TKMS" cluster down --dir "$D" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

# dump_logs — the last lines of every log, for a failure.
dump_logs() {
    for log in "$D"/*/log; do
        [ -f "$log" ] && { echo "---- ${log#"$D"/} (last 15 lines) ----"; tail -n 15 "$log"; }
    done
    if [ -f "$TMP/lodestar.log" ]; then
        echo "---- lodestar (last 40 lines) ----"
        sed 's/\x1b\[[0-9;]*m//g' "$TMP/lodestar.log" | tail -n 40
    fi
} >&2

# Three free loopback ports at once (held together, so they differ).
read -r PORT REST P2P < <(node -e '
    const net = require("net"), ports = [];
    const next = () => { const s = net.createServer().listen(0, "127.0.0.1", () => {
        ports.push(s); if (ports.length < 3) return next();
        console.log(ports.map(p => p.address().port).join(" ")); ports.forEach(p => p.close()); }); };
    next();')

# ---- 1. the interop keys, imported with keygen --secret-file ----------------------------
# The secret keys go straight from node into 0600 files, never through an
# argument or a shell variable.
(umask 077 && node -e '
    const crypto = require("crypto"), fs = require("fs");
    const r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
    for (let i = 0; i < 8; i++) {
        const le = Buffer.alloc(32); le.writeUInt32LE(i, 0);
        const h = crypto.createHash("sha256").update(le).digest();
        const sk = BigInt("0x" + Buffer.from(h).reverse().toString("hex")) % r;
        fs.writeFileSync(`${process.argv[1]}/${i}`, "0x" + sk.toString(16).padStart(64, "0") + "\n",
                         {mode: 0o600});
    }' "$W/secrets")
# The devnet's genesis validators, as Lodestar itself computes them.
node --input-type=module -e '
    const m = await import(process.argv[1] + "/node_modules/@lodestar/state-transition/lib/util/interop.js");
    for (let i = 0; i < 8; i++) console.log(m.interopSecretKey(i).toPublicKey().toHex());' "$CLI" \
    >"$TMP/interop-pubkeys"
assert_eq "Lodestar gives 8 interop public keys" 8 "$(grep -c '^0x[0-9a-f]\{96\}$' "$TMP/interop-pubkeys")"
assert_eq "interop key 0 (Lodestar)" \
    0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c \
    "$(head -n 1 "$TMP/interop-pubkeys")"
mapfile -t INTEROP <"$TMP/interop-pubkeys"
PUBKEYS=()
for i in 0 1 2 3 4 5 6 7; do
    check "secret file $i is mode 0600" test "$(stat -c %a "$W/secrets/$i")" = 600
    run "$TKMS" keygen --secret-file "$W/secrets/$i" --out "$W/keystores/$i.json" "${FAST[@]}"
    assert_eq "keygen --secret-file interop key $i" 0 "$RC"
    assert_eq "interop key $i: tkms's public key is Lodestar's" "${INTEROP[$i]:-?}" "$OUT"
    PUBKEYS+=("$OUT")
done

# ---- 2. a 3-of-5 cluster without keys ----------------------------------------------------
expect_error "cluster up --network other" 2 cluster "mainnet or minimal" \
    "$TKMS" cluster up --dir "$TMP/none" --servers 1 --threshold 1 --network gnosis
expect_error "restart-gateway without a cluster" 1 cluster "no cluster" \
    "$TKMS" cluster restart-gateway --dir "$TMP/none"
expect_error "restart-gateway takes only --dir" 2 cluster "does not apply" \
    "$TKMS" cluster restart-gateway --dir "$TMP/none" --servers 3
run "$TKMS" cluster up --dir "$D" --servers 5 --threshold 3 --keys 0 --network minimal \
    --genesis-validators-root "$GVR" --client-listen "$PORT" "${FAST[@]}" --json
if [ "$RC" != 0 ]; then
    echo "ERROR: tkms cluster up failed ($RC): $ERR" >&2
    dump_logs
    exit 1
fi
assert_eq "cluster up --keys 0: no keys" "[]" "$(json_get "$D/cluster.json" d.keys)"
assert_eq "five servers" 5 "$(json_get "$D/cluster.json" d.servers.length)"
URL=$(json_get "$D/cluster.json" d.client_listen)
assert_eq "the client listener" "http://127.0.0.1:$PORT" "$URL"
for i in 1 2 3 4 5; do
    check "s$i runs the minimal preset" grep -q '^network: minimal$' "$D/s$i/server.yaml"
done
check "the gateway runs the minimal preset" grep -q '^network: minimal$' "$D/gateway/gateway.yaml"
assert_eq "the gateway starts with no key" "[]" "$(curl -s --max-time 10 "$URL/api/v1/eth2/publicKeys")"

# ---- 3. split among owners s1..s5, K = 3 -------------------------------------------------
echo '[{"id":"s1","stake":1},{"id":"s2","stake":1},{"id":"s3","stake":1},{"id":"s4","stake":1},{"id":"s5","stake":1}]' \
    >"$TMP/stakes.json"
run "$TKMS" allocate --stakes "$TMP/stakes.json" --shares 5 --fraction 0.4 --json
assert_eq "allocate" 0 "$RC"
echo "$OUT" >"$TMP/alloc.json"
assert_eq "allocate: K = 3" 3 "$(json_get "$TMP/alloc.json" d.threshold)"
assert_eq "allocate: one share each" "[1,1,1,1,1]" "$(json_get "$TMP/alloc.json" 'd.owners.map(o => o.shares)')"
for i in 0 1 2 3 4 5 6 7; do
    run "$TKMS" split --keystore "$W/keystores/$i.json" --allocation "$TMP/alloc.json" \
        --out-dir "$W/split/$i" "${FAST[@]}"
    assert_eq "split key $i" 0 "$RC"
    assert_eq "split key $i: the group key is the key" "${PUBKEYS[$i]}" "$OUT"
    G=$W/split/$i/group.json
    assert_eq "key $i: group.json owners" '["s1","s2","s3","s4","s5"]' \
        "$(json_get "$G" 'd.owners.map(o => o.id)')"
    assert_eq "key $i: threshold 3" 3 "$(json_get "$G" d.threshold)"
    for o in 1 2 3 4 5; do
        assert_eq "key $i: s$o holds one share" 1 "$(find "$W/split/$i/s$o" -name 'share-*.json' | wc -l | tr -d ' ')"
    done
done

# ---- 4. each owner's shares into its server, the group files into the gateway ------------
for o in 1 2 3 4 5; do
    SURL=$(json_get "$D/cluster.json" "d.servers[$((o - 1))].url")
    # The body (keystores and their password) in a 0600 file, not an argument.
    (umask 077 && node -e '
        const fs = require("fs"), files = process.argv.slice(2);
        const body = {keystores: files.map(f => fs.readFileSync(f, "utf8")),
                      passwords: files.map(() => process.env.TKMS_PASSWORD)};
        fs.writeFileSync(process.argv[1], JSON.stringify(body), {mode: 0o600});' \
        "$W/import-s$o.json" "$W"/split/*/"s$o"/share-*.json)
    STATUS=$(curl -s -o "$TMP/import.out" -w '%{http_code}' --max-time 120 \
        --cacert "$D/pki/ca.pem" --cert "$D/pki/operator.pem" --key "$D/pki/operator-key.pem" \
        -H 'Content-Type: application/json' --data-binary "@$W/import-s$o.json" "$SURL/v1/keys") || true
    assert_eq "s$o: POST /v1/keys answers 200" 200 "$STATUS"
    assert_eq "s$o: 8 shares imported" '["imported","imported","imported","imported","imported","imported","imported","imported"]' \
        "$(json_get "$TMP/import.out" 'd.data.map(r => r.status)' 2>/dev/null)"
    rm -f "$W/import-s$o.json"
done
for i in 0 1 2 3 4 5 6 7; do
    run "$TKMS" gateway add-key --data-dir "$D/gateway/data" --group "$W/split/$i/group.json" --client client-http
    assert_eq "gateway add-key $i" 0 "$RC"
done
run "$TKMS" cluster restart-gateway --dir "$D" --json
if [ "$RC" != 0 ]; then
    echo "ERROR: tkms cluster restart-gateway failed ($RC): $ERR" >&2
    dump_logs
    exit 1
fi
assert_eq "restart-gateway: 8 keys" 8 "$(json_get "$D/cluster.json" d.keys.length)"
SERVED=$(curl -s --max-time 10 "$URL/api/v1/eth2/publicKeys" |
    node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).sort().join(" "))')
assert_eq "the gateway serves the 8 interop keys to client-http" \
    "$(printf '%s\n' "${INTEROP[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" "$SERVED"

# ---- 5. the originals forgotten ----------------------------------------------------------
rm -rf "$W"
check "secret files, keystores and share files are gone" test ! -e "$W"
# No secret key, in hex, in any file of the test (cluster, servers, gateway):
# the patterns go from node to grep on a pipe, never to a file.
LEAKS=$(node -e '
    const crypto = require("crypto");
    const r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
    for (let i = 0; i < 8; i++) {
        const le = Buffer.alloc(32); le.writeUInt32LE(i, 0);
        const h = crypto.createHash("sha256").update(le).digest();
        console.log((BigInt("0x" + Buffer.from(h).reverse().toString("hex")) % r).toString(16).padStart(64, "0"));
    }' | grep -rliF -f - "$TMP" 2>/dev/null)
assert_eq "no file holds a whole secret key" "" "$LEAKS"
SHARES=0
for o in 1 2 3 4 5; do
    SHARES=$((SHARES + $(find "$D/s$o/data/keys" -name 'share-*.json' | wc -l)))
done
assert_eq "the servers hold 40 shares (8 keys x 5 owners)" 40 "$SHARES"

if [ "$FAILED" != 0 ]; then
    echo "ERROR: the cluster is not ready; the devnet is not started" >&2
    dump_logs
    finish
    exit 1
fi

# ---- 6. the devnet ----------------------------------------------------------------------
TIMEOUT=${TKMS_DEVNET_TIMEOUT:-420}
echo "starting lodestar dev (8 validators, every signature through $URL); deadline $TIMEOUT s"
(cd "$CLI" && LODESTAR_PRESET=minimal exec "$LODESTAR_BIN" dev \
    --genesisValidators 8 --startValidators 0..7 \
    --externalSigner.url "$URL" --externalSigner.fetch \
    --reset --dataDir "$TMP/devdata" --rest.port "$REST" --beaconNodes "http://127.0.0.1:$REST" \
    --port "$P2P" --params.ALTAIR_FORK_EPOCH 1) >"$TMP/lodestar.log" 2>&1 &
LPID=$!
RUN0=$SECONDS

plain_log() { sed 's/\x1b\[[0-9;]*m//g' "$TMP/lodestar.log"; }
# What Lodestar logs when a remote signature fails: its duty services log
# "Error signing …" / "Error proposing block" / the failed duty download
# that signs selection proofs, with the signer's error body.
SIGN_ERRORS='Error signing|Error proposing block|Error on SyncCommitteeContribution|Error on runSyncCommitteeTasks|Failed to download attester duties|Failed to download SyncDuties|Error on poll attesters|Error on poll indices|Error on poll SyncDuties'
finalized=-1
gvr_checked=
while [ $((SECONDS - RUN0)) -lt "$TIMEOUT" ]; do
    sleep 5
    if ! kill -0 "$LPID" 2>/dev/null; then
        fail "lodestar exited after $((SECONDS - RUN0)) s"
        break
    fi
    if [ -z "$gvr_checked" ]; then
        G=$(curl -s --max-time 5 "http://127.0.0.1:$REST/eth/v1/beacon/genesis" 2>/dev/null |
            node -e 'try { const g = JSON.parse(require("fs").readFileSync(0, "utf8")).data;
                           console.log(g.genesis_validators_root + " " + g.genesis_fork_version) } catch { console.log("") }')
        if [ -n "$G" ]; then
            assert_eq "the devnet's genesis validators root and fork version are the cluster's" "$GVR $GFV" "$G"
            gvr_checked=1
        fi
    fi
    finalized=$(curl -s --max-time 5 "http://127.0.0.1:$REST/eth/v1/beacon/states/head/finality_checkpoints" 2>/dev/null |
        node -e 'try { console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).data.finalized.epoch) } catch { console.log(-1) }')
    [ "$finalized" -ge 1 ] 2>/dev/null && break
    plain_log | grep -qE "$SIGN_ERRORS" && break
done
RUN_S=$((SECONDS - RUN0))
echo "lodestar ran $RUN_S s; finalized epoch: $finalized"
plain_log | grep -E 'Synced - slot' | tail -n 1

# The gateway's counts, before anything stops.
METRICS=$(curl -s --max-time 10 "$URL/metrics")
SIGN_OK=$(sed -n 's/^tkms_gateway_requests_total{route="sign",code="200"} \([0-9]*\)$/\1/p' <<<"$METRICS")
SIGN_BAD=$(grep -E '^tkms_gateway_requests_total\{route="sign",code="[0-9]+"\}' <<<"$METRICS" | grep -v 'code="200"')
echo "sign requests served by the gateway: ${SIGN_OK:-0} (200)${SIGN_BAD:+; others: $(tr '\n' ' ' <<<"$SIGN_BAD")}"
# Who signed: each server's answered sign requests (every one carries its
# partial), and the gateway's view of each server.
for o in 1 2 3 4 5; do
    SM=$(curl -s --max-time 10 --cacert "$D/pki/ca.pem" --cert "$D/pki/operator.pem" \
        --key "$D/pki/operator-key.pem" "$(json_get "$D/cluster.json" "d.servers[$((o - 1))].url")/metrics")
    printf 's%s: %s partial-signature requests answered 200; gateway: ok %s, failed %s\n' "$o" \
        "$(sed -n 's/^tkms_server_requests_total{route="sign",code="200"} \([0-9]*\)$/\1/p' <<<"$SM")" \
        "$(sed -n "s/^tkms_gateway_server_answers_total{server=\"s$o\",outcome=\"ok\"} \([0-9]*\)\$/\1/p" <<<"$METRICS")" \
        "$(sed -n "s/^tkms_gateway_server_answers_total{server=\"s$o\",outcome=\"failed\"} \([0-9]*\)\$/\1/p" <<<"$METRICS")"
done
BLOCKS=$(plain_log | grep -c 'Published block')
ATTS=$(plain_log | grep -c 'Published attestations')
echo "blocks published: $BLOCKS   attestations published: $ATTS"

# ---- 7. the verdict ----------------------------------------------------------------------
if [ "$finalized" -ge 1 ] 2>/dev/null; then pass; else
    fail "the chain did not finalize an epoch >= 1 within $TIMEOUT s (finalized: $finalized)"; fi
check "the genesis validators root was checked" test -n "$gvr_checked"
ERRS=$(plain_log | grep -E "$SIGN_ERRORS" | head -n 10)
assert_eq "no signing error in Lodestar's log" "" "$ERRS"
check "the gateway signed something" test "${SIGN_OK:-0}" -gt 0
assert_eq "every sign request answered 200 (no 4xx/5xx)" "" "$SIGN_BAD"
check "blocks were published" test "$BLOCKS" -gt 0
LOCKOUTS=$(sed -n 's/^tkms_gateway_lockouts_total \([0-9]*\)$/\1/p' <<<"$METRICS")
assert_eq "no server locked out" 0 "${LOCKOUTS:-?}"
# Other errors and warnings Lodestar logged (not failures by themselves).
echo "lodestar log: $(plain_log | grep -cE ' error: ') error and $(plain_log | grep -cE ' warn: ') warn lines, by message:"
plain_log | grep -E ' (error|warn): ' | sed -E 's/^.* (error|warn): /\1: /; s/ [A-Za-z_]+=.*//' | cut -c1-100 | sort | uniq -c | sort -rn | head -n 10
if [ "$FAILED" != 0 ]; then
    dump_logs
    echo "---- lodestar error/warn lines (first 20) ----" >&2
    plain_log | grep -E ' (error|warn): ' | head -n 20 >&2
fi

stop_lodestar
run "$TKMS" cluster down --dir "$D"
assert_eq "cluster down" 0 "$RC"
echo "runtime: install $INSTALL_S s, cluster and keys $((RUN0 - T0 - INSTALL_S)) s, devnet $RUN_S s, total $((SECONDS - T0)) s"
finish
