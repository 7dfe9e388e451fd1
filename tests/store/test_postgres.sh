#!/usr/bin/env bash
# test_postgres.sh — slashing protection and the ban list on a real
# PostgreSQL server: starts a private server (initdb + pg_ctl from
# /usr/lib/postgresql/*/bin, which scripts/install-deps installs with the
# Debian package postgresql) in a temporary directory, listening only on a
# unix socket there, then runs test_slashing_backends with
# TKMS_TEST_POSTGRES_URL pointing at it, so that the whole suite (the
# rules, batches, the 38 EIP-3076 interchange cases, two processes racing
# conflicting votes, the ban list) runs against PostgreSQL as well as
# SQLite. The server stops and its directory goes away at exit.
#
# Run as root, the server runs as the `postgres` user (runuser), since
# PostgreSQL refuses to run as root. Not being able to start the server
# is a failure with the reason, never a skip. fsync is off in this
# throwaway server to keep the run short; the library's own durability
# contract (COMMIT with synchronous_commit = on) is unchanged.
set -euo pipefail

say() { printf 'test_postgres: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

build=${TKMS_BUILD_DIR:?TKMS_BUILD_DIR is not set (run through ctest)}
bin="$build/test_store_slashing_backends"
[ -x "$bin" ] || fail "$bin is missing (build the project first)"

# shellcheck source=postgres_lib.sh
source "$(dirname "$0")/postgres_lib.sh"
trap pg_stop EXIT
pg_start || fail "$PG_ERROR"
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running on $PG_WORK"

pg_createdb tkms_test || fail "createdb failed"
TKMS_TEST_POSTGRES_URL=$(pg_url tkms_test)
export TKMS_TEST_POSTGRES_URL
"$bin"
