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

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ] || [ ! -x "$pgbin/pg_ctl" ]; then
  fail "no PostgreSQL server in /usr/lib/postgresql/*/bin (Debian package postgresql; run scripts/install-deps)"
fi

work=$(mktemp -d /tmp/tkms-pg.XXXXXX)   # short: a unix socket path is limited to ~100 bytes
as=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || fail "running as root, but there is no 'postgres' user to run the server as"
  chown postgres: "$work"
  as=(runuser -u postgres --)
fi

started=false
cleanup() {
  if $started; then
    "${as[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! "${as[@]}" "$pgbin/initdb" -D "$work/data" -U tkms --auth=trust -E UTF8 --no-sync \
    >"$work/initdb.log" 2>&1; then
  cat "$work/initdb.log" >&2
  fail "initdb failed (log above)"
fi
if ! "${as[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 30 \
    -o "-k $work -h '' -c fsync=off -c full_page_writes=off -c max_connections=40" \
    start >/dev/null 2>&1; then
  cat "$work/server.log" >&2 || true
  fail "the PostgreSQL server did not start (log above)"
fi
started=true
say "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') running on $work"

"$pgbin/createdb" -h "$work" -U tkms tkms_test || fail "createdb failed"
export TKMS_TEST_POSTGRES_URL="postgresql:///tkms_test?host=$work&user=tkms"
"$bin"
