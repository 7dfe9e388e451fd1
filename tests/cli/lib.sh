# shellcheck shell=bash
# lib.sh — shell helpers shared by the tkms CLI tests (sourced, not run).
#
# Provides: $TKMS (the binary), $TMP (a scratch dir removed on exit), check
# counters and assertions, `run` (captures $OUT, $ERR, $RC), `expect_error`
# (the one-line-error contract), and small JSON helpers built on node
# (which install-deps provides; jq is not a dependency).
#
# Every check prints nothing when it passes and one "FAIL: …" line when it
# fails; `finish` prints "N passed, M failed" and sets the exit status.

TKMS_SOURCE_DIR=${TKMS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TKMS=${TKMS:-$TKMS_SOURCE_DIR/build/tkms}
if [ ! -x "$TKMS" ]; then
    echo "tkms binary not found at '$TKMS' (set TKMS)" >&2
    exit 1
fi
command -v node >/dev/null || { echo "node is required (scripts/install-deps installs it)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tkms-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Keystores in tests use cheap KDF parameters; a fixed password by default.
export TKMS_PASSWORD="correct horse battery staple"
# shellcheck disable=SC2034  # used by the scripts that source this file
FAST=(--scrypt-n 1024)

PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# check NAME COMMAND... — passes when COMMAND succeeds.
check() {
    local name=$1; shift
    if "$@"; then pass; else fail "$name"; fi
}

assert_eq() {  # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass; else fail "$1: expected '$2', got '$3'"; fi
}

assert_ne() {  # NAME UNEXPECTED ACTUAL
    if [ "$2" != "$3" ]; then pass; else fail "$1: did not expect '$2'"; fi
}

assert_contains() {  # NAME NEEDLE HAYSTACK (case-insensitive)
    if grep -qiF -- "$2" <<<"$3"; then pass; else fail "$1: '$2' not in: $3"; fi
}

assert_match() {  # NAME ERE TEXT
    if grep -qE -- "$2" <<<"$3"; then pass; else fail "$1: /$2/ does not match: $3"; fi
}

# run COMMAND... — runs COMMAND; $OUT, $ERR (without trailing newlines) and
# $RC hold its stdout, stderr and exit status. Never fails itself.
run() {
    RC=0
    "$@" >"$TMP/.out" 2>"$TMP/.err" || RC=$?
    OUT=$(cat "$TMP/.out")
    ERR=$(cat "$TMP/.err")
}

# Number of lines in $ERR.
err_lines() {
    if [ -z "$ERR" ]; then echo 0; else printf '%s\n' "$ERR" | wc -l | tr -d ' '; fi
}

# expect_error NAME CODE CMD KEYWORD COMMAND... — COMMAND must exit with
# CODE, print nothing on stdout and exactly one line on stderr that starts
# with "tkms CMD: " and contains KEYWORD (case-insensitive). Four checks.
expect_error() {
    local name=$1 code=$2 cmd=$3 keyword=$4; shift 4
    run "$@"
    assert_eq "$name: exit status" "$code" "$RC"
    assert_eq "$name: stdout" "" "$OUT"
    if [ "$(err_lines)" = 1 ] && [[ "$ERR" == "tkms $cmd: "* ]]; then
        pass
    else
        fail "$name: expected one stderr line 'tkms $cmd: …', got: $ERR"
    fi
    assert_contains "$name: message" "$keyword" "$ERR"
}

# json_get FILE EXPR — prints EXPR evaluated with `d` = the parsed FILE,
# e.g. json_get group.json 'd.share_public_keys[0]'.
json_get() {
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]);
             console.log(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}

# json_edit IN OUT STATEMENT — parses IN as `d`, runs STATEMENT, writes d
# to OUT, e.g. json_edit ks.json bad.json 'd.version = "4"'.
json_edit() {
    node -e 'const fs = require("fs");
             const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
             eval(process.argv[3]);
             fs.writeFileSync(process.argv[2], JSON.stringify(d, null, 2) + "\n");' "$1" "$2" "$3"
}

# hex_repeat BYTE COUNT — "BYTE" repeated COUNT times (no 0x).
hex_repeat() {
    local s="" i
    for ((i = 0; i < $2; i++)); do s+=$1; done
    printf '%s' "$s"
}

# negate_point 0xHEX — the negation of a compressed G1/G2 point: flips the
# sign bit (0x20 of the first byte).
negate_point() {
    local h=${1#0x}
    printf '0x%02x%s\n' $((16#${h:0:2} ^ 0x20)) "${h:2}"
}

# flip_byte FILE OFFSET — changes the byte at OFFSET (xor 0x01), so the
# file is always altered (overwriting with a fixed byte may change nothing).
flip_byte() {
    node -e 'const fs = require("fs"), f = process.argv[1], at = Number(process.argv[2]);
             const b = fs.readFileSync(f); b[at] ^= 0x01; fs.writeFileSync(f, b);' "$1" "$2"
}

# sha FILE — the SHA-256 of FILE (to show a file was left untouched).
sha() { sha256sum "$1" | cut -d' ' -f1; }

# finish — prints the tally and exits non-zero on any failure.
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
