# shellcheck shell=bash
# postgres_lib.sh — a private, throwaway PostgreSQL server for tests
# (sourced): initdb + pg_ctl from /usr/lib/postgresql/*/bin (Debian package
# postgresql, which scripts/install-deps installs) in a temporary
# directory, listening only on a unix socket there. Run as root, the server
# runs as the `postgres` user (runuser), since PostgreSQL refuses to run as
# root. fsync is off to keep runs short; the library's own durability
# contract (COMMIT with synchronous_commit = on) is unchanged.
#
#   pg_start          starts it: $PG_BIN (the server's bin directory) and
#                     $PG_WORK (its directory and socket) are set; returns 1
#                     with the reason in $PG_ERROR (logs on stderr) when it
#                     cannot — a failure for the caller, never a skip
#   pg_stop           stops it and removes $PG_WORK (safe to call always,
#                     e.g. from an EXIT trap)
#   pg_createdb NAME  creates database NAME (owner: the superuser "tkms")
#   pg_url NAME       prints the libpq URL of database NAME

# shellcheck disable=SC2034  # PG_ERROR and the others are read by the sourcing script
PG_BIN=""
PG_WORK=""
PG_ERROR=""
PG_AS=()
PG_STARTED=false

pg_start() {
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        PG_ERROR="no PostgreSQL server in /usr/lib/postgresql/*/bin (Debian package postgresql; run scripts/install-deps)"
        return 1
    fi
    PG_WORK=$(mktemp -d /tmp/tkms-pg.XXXXXX)   # short: a unix socket path is limited to ~100 bytes
    PG_AS=()
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            PG_ERROR="running as root, but there is no 'postgres' user to run the server as"
            return 1
        fi
        chown postgres: "$PG_WORK"
        PG_AS=(runuser -u postgres --)
    fi
    if ! "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_WORK/data" -U tkms --auth=trust -E UTF8 --no-sync \
        >"$PG_WORK/initdb.log" 2>&1; then
        cat "$PG_WORK/initdb.log" >&2
        PG_ERROR="initdb failed (log above)"
        return 1
    fi
    if ! "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/server.log" -w -t 30 \
        -o "-k $PG_WORK -h '' -c fsync=off -c full_page_writes=off -c max_connections=40" \
        start >/dev/null 2>&1; then
        cat "$PG_WORK/server.log" >&2 || true
        PG_ERROR="the PostgreSQL server did not start (log above)"
        return 1
    fi
    PG_STARTED=true
}

pg_stop() {
    if $PG_STARTED; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
        PG_STARTED=false
    fi
    if [ -n "$PG_WORK" ]; then rm -rf "$PG_WORK"; fi
    PG_WORK=""
}

pg_createdb() {
    "$PG_BIN/createdb" -h "$PG_WORK" -U tkms "$1"
}

pg_url() {
    printf 'postgresql:///%s?host=%s&user=tkms\n' "$1" "$PG_WORK"
}
