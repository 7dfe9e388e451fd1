#!/usr/bin/env bash
# test_lodestar_probe.sh — the real Lodestar 1.5.1 remote-signer client
# (@lodestar/validator's externalSignerGetKeys / externalSignerPostSignature,
# driven through its own ValidatorStore by ../shared/lodestar/probe.mjs)
# against a 3-of-5 `tkms cluster` on its plain-HTTP client listener:
#   - upcheck answers and the client accepts it;
#   - the client gets the public keys (the cluster's one DKG key);
#   - every duty type it sends is signed through the gateway (RANDAO in
#     phase0 and capella, BLOCK_V2 phase0/altair/bellatrix/blinded/capella,
#     ATTESTATION, AGGREGATION_SLOT, AGGREGATE_AND_PROOF, VOLUNTARY_EXIT,
#     the three sync-committee types, VALIDATOR_REGISTRATION, DEPOSIT,
#     BLS_TO_EXECUTION_CHANGE): the probe recomputes each signing root from
#     the body and verifies the signature with @chainsafe/bls; here every
#     returned signature is verified again with `tkms verify`;
#   - a sign request for an unknown key gets 404.
#
# The packages come from tests/interop/lodestar/package-lock.json
# (lodestar/install.sh, cached in the build directory); probe.mjs is read
# from the shared Lodestar folder ($TKMS_LODESTAR, else ../shared/lodestar
# beside the source tree) and copied into this run's scratch directory.
#
# Run: TKMS=build/tkms bash tests/interop/test_lodestar_probe.sh
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/lib.sh
source "$here/../cli/lib.sh"

LODESTAR=${TKMS_LODESTAR:-$TKMS_SOURCE_DIR/../shared/lodestar}
if [ ! -f "$LODESTAR/probe.mjs" ]; then
    echo "ERROR: the shared Lodestar folder is missing: no probe.mjs in '$LODESTAR'." >&2
    echo "       This test drives the real Lodestar 1.5.1 client with it; set TKMS_LODESTAR" >&2
    echo "       to the folder (see ../shared/lodestar/README.md) or put it beside the source tree." >&2
    exit 1
fi

MODULES=$(bash "$here/lodestar/install.sh") || { echo "ERROR: installing the Lodestar packages failed" >&2; exit 1; }

D=$TMP/c
trap '"$TKMS" cluster down --dir "$D" >/dev/null 2>&1; rm -rf "$TMP"' EXIT

# A scratch copy of the probe whose node_modules is the cached install:
# ESM resolution and the probe's own node_modules path both go through it,
# and its captures stay in this run's $TMP.
P=$TMP/probe
mkdir -p "$P"
cp "$LODESTAR/probe.mjs" "$P/probe.mjs"
cp "$MODULES/package.json" "$P/package.json"
ln -s "$MODULES/node_modules" "$P/node_modules"

PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
GVR=0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673   # the probe's genesis validators root
run "$TKMS" cluster up --dir "$D" --servers 5 --threshold 3 --keys 1 --scrypt-n 1024 \
    --genesis-validators-root "$GVR" --client-listen "$PORT" --json
if [ "$RC" != 0 ]; then
    echo "ERROR: tkms cluster up failed ($RC): $ERR" >&2
    for log in "$D"/*/log; do
        [ -f "$log" ] && { echo "---- ${log#"$D"/} (last lines) ----"; tail -n 20 "$log"; }
    done >&2
    exit 1
fi
echo "$OUT" >"$TMP/cluster.json"
URL=$(json_get "$TMP/cluster.json" d.client_listen)
KEY=$(json_get "$TMP/cluster.json" 'd.keys[0]')
assert_eq "the client listener is the plain-HTTP port asked for" "http://127.0.0.1:$PORT" "$URL"

START=$SECONDS
PRC=0
(cd "$P" && node probe.mjs --url "$URL") >"$TMP/probe.out" 2>&1 || PRC=$?
echo "probe.mjs ran in $((SECONDS - START)) s, exit $PRC"
assert_eq "probe.mjs exit status" 0 "$PRC"
# probe_has NAME ERE — the probe printed a line matching ERE.
probe_has() {
    if grep -qE -- "$2" "$TMP/probe.out"; then pass; else fail "$1: no line /$2/ in the probe's output (below)"; fi
}
FAILS=$(grep '^FAIL' "$TMP/probe.out")
assert_eq "no FAIL line from the probe" "" "$FAILS"
probe_has "the client is @lodestar/validator 1.5.1" '^# client: @lodestar/validator 1\.5\.1,'
probe_has "the probe counts no failure" '; 0 failure\(s\)$'
probe_has "upcheck" '^PASS externalSignerUpCheck '
probe_has "the client gets the cluster's key" "^PASS externalSignerGetKeys  — 1 key\\(s\\): $KEY\$"
CASES=(RANDAO_REVEAL_phase0 RANDAO_REVEAL_capella RANDAO_REVEAL_capella_epoch6
       BLOCK_V2_phase0 BLOCK_V2_altair BLOCK_V2_bellatrix BLOCK_V2_bellatrix_blinded BLOCK_V2_capella
       ATTESTATION AGGREGATION_SLOT AGGREGATE_AND_PROOF VOLUNTARY_EXIT
       SYNC_COMMITTEE_MESSAGE SYNC_COMMITTEE_SELECTION_PROOF SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF
       VALIDATOR_REGISTRATION DEPOSIT BLS_TO_EXECUTION_CHANGE)
for c in "${CASES[@]}"; do
    probe_has "$c signed, signing root recomputed, signature verifies" "^PASS $c  — .* sig verifies\$"
done
assert_eq "PASS lines (upcheck, keys, ${#CASES[@]} duties, 404)" $((${#CASES[@]} + 3)) "$(grep -c '^PASS' "$TMP/probe.out")"
probe_has "a sign request for an unknown key gets 404" '^PASS unknown pubkey -> 404$'

# Every 200 answer to a sign request, verified again by tkms over the
# signing root the probe recomputed from the body.
REQS=$P/captured/_requests.json
if [ -f "$REQS" ]; then
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const e of r) {
        if (e.method !== "POST" || !e.response || e.response.status !== 200) continue;
        let sig = "";
        try { sig = JSON.parse(e.response.body).signature; } catch {}
        console.log([e.label, e.path.split("/").pop(), e.recomputedSigningRoot || e.body.signingRoot, sig || "none"].join(" "));
      }' "$REQS" >"$TMP/signed.txt"
    assert_eq "sign requests answered 200" "${#CASES[@]}" "$(wc -l <"$TMP/signed.txt" | tr -d ' ')"
    while read -r label key root sig; do
        run "$TKMS" verify --pubkey "$key" --message "$root" --signature "$sig"
        assert_eq "$label: tkms verify of the gateway's signature" 0 "$RC"
    done <"$TMP/signed.txt"
else
    fail "the probe wrote no $REQS"
fi

if [ "$FAILED" != 0 ]; then
    echo "---- probe.mjs output ----"
    cat "$TMP/probe.out"
    echo "-------------------------"
fi
run "$TKMS" cluster down --dir "$D"
assert_eq "cluster down" 0 "$RC"
finish
