/*
 * banlist_sqlite.c — the SQLite storage of the ban list
 * (banlist_internal.h): a file in WAL mode with synchronous=FULL (a
 * COMMIT that returned is on disk), writes in BEGIN IMMEDIATE
 * transactions, which hold the file's write lock, so writers in any
 * process take turns. The file may also hold a slashing database (the
 * table names differ).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "banlist_internal.h"

#define BUSY_TIMEOUT_MS 10000

static const char what[] = "ban list";

static tkms_status sql_fail(sqlite3 *sql, tkms_err *err, const char *doing)
{
    return tkms_fail(err, TKMS_ERR_IO, "%s: could not %s: %s", what, doing,
                     sql != NULL ? sqlite3_errmsg(sql) : "cannot allocate the database handle");
}

static tkms_status exec(sqlite3 *sql, const char *text, const char *doing, tkms_err *err)
{
    if (sqlite3_exec(sql, text, NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(sql, err, doing);
    return TKMS_OK;
}

static tkms_status prepare(sqlite3 *sql, sqlite3_stmt **st, const char *text, const char *doing,
                           tkms_err *err)
{
    if (sqlite3_prepare_v2(sql, text, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sql_fail(sql, err, doing);
    }
    return TKMS_OK;
}

/* Steps once: *row says whether a row came (NULL: none expected). */
static tkms_status step(sqlite3 *sql, sqlite3_stmt *st, bool *row, const char *doing,
                        tkms_err *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(sql, err, doing);
    if (row != NULL)
        *row = rc == SQLITE_ROW;
    return TKMS_OK;
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS banlist_version ("
    "  version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bans ("
    "  id INTEGER PRIMARY KEY,"
    "  server TEXT NOT NULL CHECK (length(server) BETWEEN 1 AND 128),"
    "  key BLOB NOT NULL CHECK (length(key) = 48),"
    "  reason TEXT NOT NULL,"
    "  evidence BLOB NOT NULL,"
    "  banned_at INTEGER NOT NULL,"
    "  unbanned_at INTEGER,"
    "  unbanned_by TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS bans_active ON bans (server, key)"
    "  WHERE unbanned_at IS NULL;";

static void sqlite_close(void *store)
{
    sqlite3_close_v2(store);
}

static tkms_status sqlite_begin(void *store, const char *doing, tkms_err *err)
{
    return exec(store, "BEGIN IMMEDIATE", doing, err);
}

static void sqlite_rollback(void *store)
{
    if (!sqlite3_get_autocommit(store))
        sqlite3_exec(store, "ROLLBACK", NULL, NULL, NULL);
}

static tkms_status sqlite_commit(void *store, const char *doing, tkms_err *err)
{
    if (sqlite3_exec(store, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tkms_status status = sql_fail(store, err, doing);
        sqlite_rollback(store);
        return status;
    }
    return TKMS_OK;
}

static tkms_status sqlite_create_schema(void *store, bool *present, int64_t *version,
                                        tkms_err *err)
{
    tkms_status status = exec(store, schema_sql, "create the tables", err);
    sqlite3_stmt *st;
    if (status != TKMS_OK ||
        (status = prepare(store, &st, "SELECT version FROM banlist_version",
                          "read the schema version", err)) != TKMS_OK)
        return status;
    status = step(store, st, present, "read the schema version", err);
    *version = status == TKMS_OK && *present ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_write_version(void *store, int64_t version, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st, "INSERT INTO banlist_version (version) VALUES (?1)",
                                 "write the schema version", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int64(st, 1, version);
    status = step(store, st, NULL, "write the schema version", err);
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_find_active(void *store, const char *server,
                                      const uint8_t key[TKMS_PUBLIC_KEY_SIZE], bool *found,
                                      int64_t *id, tkms_err *err)
{
    static const char doing[] = "look up the ban";
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st, "SELECT id FROM bans WHERE server = ?1 AND key = ?2"
                                             " AND unbanned_at IS NULL", doing, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_text(st, 1, server, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    status = step(store, st, found, doing, err);
    if (status == TKMS_OK && *found)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_insert(void *store, const banlist_row *row, const void *evidence,
                                 size_t len, int64_t *id, tkms_err *err)
{
    static const char doing[] = "record the ban";
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st,
                                 "INSERT INTO bans (server, key, reason, evidence, banned_at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5)", doing, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_text(st, 1, row->server, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, row->key, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 4, evidence, len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, row->since);
    status = step(store, st, NULL, doing, err);
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(store);
    return status;
}

static tkms_status sqlite_lift(void *store, const char *server,
                               const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *by,
                               int64_t time, int64_t *count, tkms_err *err)
{
    static const char doing[] = "lift the ban";
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st,
                                 "UPDATE bans SET unbanned_at = ?3, unbanned_by = ?4"
                                 " WHERE server = ?1 AND unbanned_at IS NULL"
                                 " AND (?2 IS NULL OR key = ?2)", doing, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_text(st, 1, server, -1, SQLITE_STATIC);
    if (key != NULL)
        sqlite3_bind_blob(st, 2, key, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, time);
    sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
    status = step(store, st, NULL, doing, err);
    sqlite3_finalize(st);
    *count = status == TKMS_OK ? sqlite3_changes(store) : 0;
    return status;
}

static tkms_status sqlite_each(void *store, bool history, banlist_row_fn fn, void *arg,
                               tkms_err *err)
{
    static const char doing[] = "list the bans";
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st, history
        ? "SELECT id, server, key, reason, banned_at, length(evidence), unbanned_at, unbanned_by"
          " FROM bans ORDER BY id"
        : "SELECT id, server, key, reason, banned_at, length(evidence), unbanned_at, unbanned_by"
          " FROM bans WHERE unbanned_at IS NULL ORDER BY id", doing, err);
    if (status != TKMS_OK)
        return status;
    int rc = SQLITE_DONE;
    while (status == TKMS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        banlist_row row = {
            .id = sqlite3_column_int64(st, 0),
            .server = (const char *)sqlite3_column_text(st, 1),
            .key = sqlite3_column_blob(st, 2),
            .reason = (const char *)sqlite3_column_text(st, 3),
            .since = sqlite3_column_int64(st, 4),
            .evidence_size = sqlite3_column_int64(st, 5),
            .lifted = sqlite3_column_type(st, 6) != SQLITE_NULL,
            .unbanned_at = sqlite3_column_int64(st, 6),
            .unbanned_by = (const char *)sqlite3_column_text(st, 7),
        };
        if (row.server == NULL || row.reason == NULL || row.key == NULL ||
            sqlite3_column_bytes(st, 2) != TKMS_PUBLIC_KEY_SIZE)
            status = tkms_fail(err, TKMS_ERR_IO, "%s: ban %lld is corrupt", what,
                               (long long)row.id);
        else
            status = fn(arg, &row, err);
    }
    if (status == TKMS_OK && rc != SQLITE_DONE)
        status = sql_fail(store, err, doing);
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_evidence(void *store, int64_t id, bool *found, char **out, size_t *len,
                                   tkms_err *err)
{
    static const char doing[] = "read the evidence";
    sqlite3_stmt *st;
    tkms_status status = prepare(store, &st, "SELECT evidence FROM bans WHERE id = ?1", doing,
                                 err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int64(st, 1, id);
    status = step(store, st, found, doing, err);
    if (status == TKMS_OK && *found) {
        const void *bytes = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if ((*out = malloc(n + 1)) == NULL) {
            status = tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
        } else {
            if (n > 0)
                memcpy(*out, bytes, n);
            (*out)[n] = '\0';
            *len = n;
        }
    }
    sqlite3_finalize(st);
    return status;
}

static const banlist_ops sqlite_ops = {
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .create_schema = sqlite_create_schema,
    .write_version = sqlite_write_version,
    .find_active = sqlite_find_active,
    .insert = sqlite_insert,
    .lift = sqlite_lift,
    .each = sqlite_each,
    .evidence = sqlite_evidence,
};

tkms_status banlist_sqlite_open(const banlist_ops **ops, void **store, const char *path,
                                tkms_err *err)
{
    sqlite3 *sql = NULL;
    int rc = sqlite3_open_v2(path, &sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                             SQLITE_OPEN_NOMUTEX, NULL);
    tkms_status status = TKMS_OK;
    if (rc != SQLITE_OK) {
        status = tkms_fail(err, TKMS_ERR_IO, "%s: could not open %s: %s", what, path,
                           sql != NULL ? sqlite3_errmsg(sql) : sqlite3_errstr(rc));
    } else {
        sqlite3_extended_result_codes(sql, 1);
        sqlite3_busy_timeout(sql, BUSY_TIMEOUT_MS);
        /* WAL (a private in-memory database answers "memory") */
        if ((status = exec(sql, "PRAGMA journal_mode = WAL", "set WAL mode", err)) == TKMS_OK)
            status = exec(sql, "PRAGMA synchronous = FULL", "set synchronous=FULL", err);
    }
    if (status != TKMS_OK) {
        sqlite3_close_v2(sql);
        return status;
    }
    *ops = &sqlite_ops;
    *store = sql;
    return TKMS_OK;
}
