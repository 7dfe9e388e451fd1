# shellcheck shell=bash
# noble_lib.sh — the checks the interop tests hand to @noble/curves
# (sourced after tests/cli/lib.sh, with $here set to tests/interop): cases
# are collected as JSON and run in one node process by noble_verify.mjs;
# each case counts as one check in lib.sh's tally.

noble() { node "$here/noble_verify.mjs" "$@"; }

CASES=()
case_verify() {  # NAME PUBKEY MESSAGE SIGNATURE EXPECT [DST]
    local dst=""
    [ $# -ge 6 ] && dst=", \"dst\": \"$6\""
    CASES+=("{\"name\": \"$1\", \"op\": \"verify\", \"pubkey\": \"$2\", \"message\": \"$3\", \"signature\": \"$4\", \"expect\": $5$dst}")
}
json_list() { local IFS=,; local q=("${@/#/\"}"); q=("${q[@]/%/\"}"); echo "[${q[*]}]"; }
case_fast() {  # NAME MESSAGE SIGNATURE EXPECT PUBKEY...
    local name=$1 msg=$2 sig=$3 expect=$4; shift 4
    CASES+=("{\"name\": \"$name\", \"op\": \"fast\", \"pubkeys\": $(json_list "$@"), \"message\": \"$msg\", \"signature\": \"$sig\", \"expect\": $expect}")
}
case_aggregate() {  # NAME SIGNATURE EXPECT PUBKEYS_JSON MESSAGES_JSON
    CASES+=("{\"name\": \"$1\", \"op\": \"aggregate\", \"pubkeys\": $4, \"messages\": $5, \"signature\": \"$2\", \"expect\": $3}")
}
case_feldman() {  # NAME GROUP_FILE INDEX
    CASES+=("{\"name\": \"$1\", \"op\": \"feldman\", \"commitments\": $(json_get "$2" d.commitments), \"index\": $3, \"pubkey\": \"$(json_get "$2" "d.share_public_keys[$3 - 1]")\", \"expect\": true}")
}
run_noble_cases() {
    local IFS=,
    echo "[${CASES[*]}]" >cases.json
    local out rc=0
    out=$(noble check cases.json) || rc=$?
    [ -z "${NOBLE_VERBOSE:-}" ] || echo "$out" >&2
    local n_ok n_bad
    n_ok=$(grep -c '^ok - ' <<<"$out" || true)
    n_bad=$(grep -c '^not ok - ' <<<"$out" || true)
    PASSED=$((PASSED + n_ok))
    if [ "$n_bad" -gt 0 ]; then
        FAILED=$((FAILED + n_bad))
        grep '^not ok - ' <<<"$out" | sed 's/^/FAIL: noble: /' >&2
    fi
    assert_eq "noble ran every check" "${#CASES[@]}" "$((n_ok + n_bad))"
    assert_eq "noble exit status" "$([ "$n_bad" -eq 0 ] && echo 0 || echo 1)" "$rc"
    CASES=()
}
