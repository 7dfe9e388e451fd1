/*
 * slashing_sqlite.c — the SQLite storage of slashing protection (the
 * default; slashing_internal.h): one file in WAL mode with
 * synchronous=FULL, so a COMMIT that returned is on disk. Every write
 * transaction is BEGIN IMMEDIATE, which takes the file's write lock
 * (waiting up to the busy timeout): writers, in this process or another,
 * never interleave, so there is nothing to lock per key. Batch checks run
 * in savepoints.
 *
 * Schema (version 1): validators(id, pubkey 48-byte blob, enabled),
 * signed_blocks(validator, slot, signing_root or NULL) keyed by slot,
 * signed_attestations(validator, source, target, signing_root or NULL)
 * keyed by (target, source) with an index by (source, target), so the
 * double-vote, surround and lower-bound queries are index range scans.
 * The statements of the checks are prepared once per handle.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "slashing_internal.h"

#define CACHED_MAX 24                     /* prepared statements kept per handle */

typedef struct {
    sqlite3 *sql;
    sqlite3_stmt *cached[CACHED_MAX];
    const char *cached_sql[CACHED_MAX];
    size_t cached_count;
} sqlite_store;

static sqlite_store *store_of(tkms_slashing_db *db)
{
    return db->store;
}

/* TKMS_ERR_IO with "slashing db: could not <doing>: <sqlite's reason>". */
static tkms_status sql_fail(sqlite_store *s, tkms_err *err, const char *doing)
{
    const char *why = s != NULL && s->sql != NULL ? sqlite3_errmsg(s->sql)
                                                  : "cannot allocate the database handle";
    return tkms_fail(err, TKMS_ERR_IO, "slashing db: could not %s: %s", doing, why);
}

/* Prepares a constant statement (values are bound, never spliced in). */
static tkms_status prepare(sqlite_store *s, sqlite3_stmt **st, const char *sql,
                           const char *doing, tkms_err *err)
{
    if (sqlite3_prepare_v2(s->sql, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sql_fail(s, err, doing);
    }
    return TKMS_OK;
}

/* The prepared statement for the constant `sql`, kept with the handle
 * (prepared on first use, finalized on close) so that the checks, run for
 * every sign request, do not parse their SQL each time. Give it back with
 * release() before asking for another; listings, which nest, use
 * prepare() instead (a full cache is emptied to make room). */
static tkms_status cached(sqlite_store *s, sqlite3_stmt **st, const char *sql,
                          const char *doing, tkms_err *err)
{
    for (size_t i = 0; i < s->cached_count; i++)
        if (s->cached_sql[i] == sql || strcmp(s->cached_sql[i], sql) == 0) {
            *st = s->cached[i];
            return TKMS_OK;
        }
    if (s->cached_count == CACHED_MAX) {
        for (size_t i = 0; i < s->cached_count; i++)
            sqlite3_finalize(s->cached[i]);
        s->cached_count = 0;
    }
    if (sqlite3_prepare_v3(s->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sql_fail(s, err, doing);
    }
    s->cached[s->cached_count] = *st;
    s->cached_sql[s->cached_count++] = sql;
    return TKMS_OK;
}

static void release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs constant SQL without results (pragmas, schema, transactions). */
static tkms_status exec(sqlite_store *s, const char *sql, const char *doing, tkms_err *err)
{
    if (sqlite3_exec(s->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(s, err, doing);
    return TKMS_OK;
}

/* Steps a statement that returns at most one row: SQLITE_ROW or
 * SQLITE_DONE, anything else is reported. */
static tkms_status step(sqlite_store *s, sqlite3_stmt *st, bool *row, const char *doing,
                        tkms_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        if (row != NULL)
            *row = rc == SQLITE_ROW;
        return TKMS_OK;
    }
    return sql_fail(s, err, doing);
}

/* Runs a cached statement with int64 parameters ?1.. and steps it once;
 * the caller reads the row (when *row) and then calls release(*st). */
static tkms_status query(sqlite_store *s, sqlite3_stmt **st, const char *sql,
                         const int64_t *args, int nargs, bool *row, const char *doing,
                         tkms_err *err)
{
    tkms_status status = cached(s, st, sql, doing, err);
    if (status != TKMS_OK)
        return status;
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(*st, i + 1, args[i]);
    status = step(s, *st, row, doing, err);
    if (status != TKMS_OK)
        release(*st);
    return status;
}

/* A cached statement with int64 parameters and an optional root bound
 * last, run to completion. */
static tkms_status run(sqlite_store *s, const char *sql, const int64_t *args, int nargs,
                         bool with_root, const uint8_t *root, const char *doing, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = cached(s, &st, sql, doing, err);
    if (status != TKMS_OK)
        return status;
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(st, i + 1, args[i]);
    if (with_root && root != NULL)
        sqlite3_bind_blob(st, nargs + 1, root, TKMS_ROOT_SIZE, SQLITE_STATIC);
    else if (with_root)
        sqlite3_bind_null(st, nargs + 1);
    status = step(s, st, NULL, doing, err);
    release(st);
    return status;
}

static bool column_root(sqlite3_stmt *st, int col, uint8_t out[TKMS_ROOT_SIZE])
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
        sqlite3_column_bytes(st, col) != TKMS_ROOT_SIZE)
        return false;
    memcpy(out, sqlite3_column_blob(st, col), TKMS_ROOT_SIZE);
    return true;
}

/* ---- opening and transactions ---------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS genesis ("
    "  id INTEGER PRIMARY KEY CHECK (id = 0),"
    "  root BLOB NOT NULL CHECK (length(root) = 32));"
    "CREATE TABLE IF NOT EXISTS validators ("
    "  id INTEGER PRIMARY KEY,"
    "  pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 48),"
    "  enabled INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS signed_blocks ("
    "  validator_id INTEGER NOT NULL REFERENCES validators (id),"
    "  slot INTEGER NOT NULL CHECK (slot >= 0),"
    "  signing_root BLOB CHECK (signing_root IS NULL OR length(signing_root) = 32),"
    "  PRIMARY KEY (validator_id, slot)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS signed_attestations ("
    "  validator_id INTEGER NOT NULL REFERENCES validators (id),"
    "  source_epoch INTEGER NOT NULL CHECK (source_epoch >= 0),"
    "  target_epoch INTEGER NOT NULL CHECK (target_epoch >= 0),"
    "  signing_root BLOB CHECK (signing_root IS NULL OR length(signing_root) = 32),"
    "  PRIMARY KEY (validator_id, target_epoch, source_epoch)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS signed_attestations_by_source"
    "  ON signed_attestations (validator_id, source_epoch, target_epoch);";

static tkms_status set_journal_wal(sqlite_store *s, const char *path, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = prepare(s, &st, "PRAGMA journal_mode = WAL", "set WAL mode", err);
    if (status != TKMS_OK)
        return status;
    bool row = false;
    status = step(s, st, &row, "set WAL mode", err);
    const char *mode = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
    bool in_memory = strcmp(path, ":memory:") == 0;
    if (status == TKMS_OK &&
        (mode == NULL || (strcmp(mode, "wal") != 0 && !(in_memory && strcmp(mode, "memory") == 0))))
        status = tkms_fail(err, TKMS_ERR_IO,
                           "slashing db: could not set WAL mode on %s (journal mode is %s)",
                           path, mode != NULL ? mode : "unknown");
    sqlite3_finalize(st);
    return status;
}

static void sqlite_close(tkms_slashing_db *db)
{
    sqlite_store *s = store_of(db);
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->cached_count; i++)
        sqlite3_finalize(s->cached[i]);
    sqlite3_close_v2(s->sql);   /* rolls back an open transaction */
    free(s);
    db->store = NULL;
}

static tkms_status run_cached(sqlite_store *s, const char *sql, const char *doing, tkms_err *err);

static tkms_status sqlite_begin(tkms_slashing_db *db, slashing_tx tx, const char *doing,
                                tkms_err *err)
{
    /* BEGIN IMMEDIATE takes the write lock; BEGIN reads a snapshot (and
     * works on a read-only database). Prepared once, like the checks: a
     * transaction is begun and committed for every group commit. */
    return run_cached(store_of(db), tx == SLASHING_TX_READ ? "BEGIN" : "BEGIN IMMEDIATE", doing,
                      err);
}

static void sqlite_rollback(tkms_slashing_db *db)
{
    sqlite_store *s = store_of(db);
    if (!sqlite3_get_autocommit(s->sql))
        sqlite3_exec(s->sql, "ROLLBACK", NULL, NULL, NULL);
}

static tkms_status sqlite_commit(tkms_slashing_db *db, const char *doing, tkms_err *err)
{
    tkms_status st = run_cached(store_of(db), "COMMIT", doing, err);
    if (st != TKMS_OK)
        sqlite_rollback(db);
    return st;
}

static tkms_status run_cached(sqlite_store *s, const char *sql, const char *doing, tkms_err *err)
{
    return run(s, sql, NULL, 0, false, NULL, doing, err);
}

static tkms_status sqlite_savepoint(tkms_slashing_db *db, slashing_sp op, const char *doing,
                                    tkms_err *err)
{
    sqlite_store *s = store_of(db);
    switch (op) {
    case SLASHING_SAVEPOINT:
        return run_cached(s, "SAVEPOINT tkms_check", doing, err);
    case SLASHING_RELEASE:
        return run_cached(s, "RELEASE tkms_check", doing, err);
    case SLASHING_UNDO: {
        tkms_status status = run_cached(s, "ROLLBACK TO tkms_check", doing, err);
        return status != TKMS_OK ? status : run_cached(s, "RELEASE tkms_check", doing, err);
    }
    }
    return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: bad savepoint operation");
}

static tkms_status sqlite_lock_key(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                   tkms_err *err)
{
    (void)db, (void)pubkey, (void)err;   /* BEGIN IMMEDIATE holds the whole file */
    return TKMS_OK;
}

/* ---- schema and genesis --------------------------------------------------------- */

static tkms_status sqlite_create_schema(tkms_slashing_db *db, bool *present, int64_t *version,
                                        tkms_err *err)
{
    sqlite_store *s = store_of(db);
    tkms_status status = exec(s, schema_sql, "create the schema", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_stmt *st;
    if ((status = prepare(s, &st, "SELECT version FROM schema_version",
                          "read the schema version", err)) != TKMS_OK)
        return status;
    status = step(s, st, present, "read the schema version", err);
    *version = *present ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_write_version(tkms_slashing_db *db, int64_t version, tkms_err *err)
{
    return run(store_of(db), "INSERT INTO schema_version (version) VALUES (?1)", &version, 1,
                 false, NULL, "write the schema version", err);
}

static tkms_status sqlite_read_genesis(tkms_slashing_db *db, bool *found,
                                       uint8_t root[TKMS_ROOT_SIZE], tkms_err *err)
{
    static const char doing[] = "read the genesis validators root";
    sqlite_store *s = store_of(db);
    sqlite3_stmt *st;
    tkms_status status = query(s, &st, "SELECT root FROM genesis WHERE id = 0", NULL, 0, found,
                               doing, err);
    if (status != TKMS_OK)
        return status;
    if (*found && !column_root(st, 0, root))
        status = tkms_fail(err, TKMS_ERR_IO,
                           "slashing db: the stored genesis validators root is corrupt");
    release(st);
    return status;
}

static tkms_status sqlite_write_genesis(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                        tkms_err *err)
{
    return run(store_of(db), "INSERT INTO genesis (id, root) VALUES (0, ?1)", NULL, 0, true,
                 root, "bind the genesis validators root", err);
}

/* ---- keys ------------------------------------------------------------------------ */

static tkms_status sqlite_find_key(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                   int64_t *id, bool *enabled, tkms_err *err)
{
    sqlite_store *s = store_of(db);
    sqlite3_stmt *st;
    tkms_status status = cached(s, &st, "SELECT id, enabled FROM validators WHERE pubkey = ?",
                                "look up the key", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_blob(st, 1, pubkey, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    bool row = false;
    status = step(s, st, &row, "look up the key", err);
    *id = row ? sqlite3_column_int64(st, 0) : 0;
    *enabled = row ? sqlite3_column_int(st, 1) != 0 : true;
    release(st);
    return status;
}

static tkms_status sqlite_add_key(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                  int64_t *id, tkms_err *err)
{
    sqlite_store *s = store_of(db);
    sqlite3_stmt *st;
    tkms_status status = cached(s, &st, "INSERT INTO validators (pubkey) VALUES (?)",
                                "record the key", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_blob(st, 1, pubkey, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    status = step(s, st, NULL, "record the key", err);
    release(st);
    *id = sqlite3_last_insert_rowid(s->sql);
    return status;
}

static tkms_status sqlite_set_enabled(tkms_slashing_db *db, int64_t id, bool enabled,
                                      tkms_err *err)
{
    const int64_t args[] = {enabled ? 1 : 0, id};
    return run(store_of(db), "UPDATE validators SET enabled = ?1 WHERE id = ?2", args, 2,
                 false, NULL, "update the key", err);
}

/* ---- records ---------------------------------------------------------------------- */

static tkms_status sqlite_find_record(tkms_slashing_db *db, slashing_kind kind, int64_t id,
                                      int64_t a, int64_t b, bool *found,
                                      uint8_t root[TKMS_ROOT_SIZE], bool *has_root, tkms_err *err)
{
    const int64_t args[] = {id, a, b};
    sqlite3_stmt *st;
    tkms_status status = kind == SLASHING_BLOCK
        ? query(store_of(db), &st, "SELECT signing_root FROM signed_blocks"
                                   " WHERE validator_id = ?1 AND slot = ?2",
                args, 2, found, "read the signing history", err)
        : query(store_of(db), &st, "SELECT signing_root FROM signed_attestations"
                                   " WHERE validator_id = ?1 AND source_epoch = ?2"
                                   " AND target_epoch = ?3",
                args, 3, found, "read the signing history", err);
    if (status != TKMS_OK)
        return status;
    *has_root = *found && column_root(st, 0, root);
    release(st);
    return TKMS_OK;
}

static tkms_status sqlite_add_record(tkms_slashing_db *db, slashing_kind kind, int64_t id,
                                     int64_t a, int64_t b, const uint8_t *root, tkms_err *err)
{
    const int64_t args[] = {id, a, b};
    if (kind == SLASHING_BLOCK)
        return run(store_of(db), "INSERT INTO signed_blocks (validator_id, slot, signing_root)"
                                   " VALUES (?1, ?2, ?3)",
                     args, 2, true, root, "record the block", err);
    return run(store_of(db), "INSERT INTO signed_attestations"
                               " (validator_id, source_epoch, target_epoch, signing_root)"
                               " VALUES (?1, ?2, ?3, ?4)",
                 args, 3, true, root, "record the attestation", err);
}

static tkms_status sqlite_forget_root(tkms_slashing_db *db, slashing_kind kind, int64_t id,
                                      int64_t a, int64_t b, tkms_err *err)
{
    const int64_t args[] = {id, a, b};
    if (kind == SLASHING_BLOCK)
        return run(store_of(db), "UPDATE signed_blocks SET signing_root = NULL"
                                   " WHERE validator_id = ?1 AND slot = ?2",
                     args, 2, false, NULL, "import a record", err);
    return run(store_of(db), "UPDATE signed_attestations SET signing_root = NULL"
                               " WHERE validator_id = ?1 AND source_epoch = ?2"
                               " AND target_epoch = ?3",
                 args, 3, false, NULL, "import a record", err);
}

/* A one-row query of up to two int64 columns (NULL reads as not found). */
static tkms_status query_pair(tkms_slashing_db *db, const char *sql, const int64_t *args,
                              int nargs, bool *found, int64_t *x, int64_t *y, tkms_err *err)
{
    sqlite3_stmt *st;
    bool row = false;
    tkms_status status = query(store_of(db), &st, sql, args, nargs, &row,
                               "read the signing history", err);
    if (status != TKMS_OK)
        return status;
    *found = row && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (*found) {
        *x = sqlite3_column_int64(st, 0);
        if (y != NULL)
            *y = sqlite3_column_int64(st, 1);
    }
    release(st);
    return TKMS_OK;
}

static tkms_status min_slot(tkms_slashing_db *db, int64_t id, bool *found, int64_t *slot,
                            tkms_err *err)
{
    return query_pair(db, "SELECT MIN(slot) FROM signed_blocks WHERE validator_id = ?1", &id, 1,
                      found, slot, NULL, err);
}

static tkms_status same_target(tkms_slashing_db *db, int64_t id, int64_t target, bool *found,
                               int64_t *source, int64_t *count, uint8_t root[TKMS_ROOT_SIZE],
                               bool *has_root, tkms_err *err)
{
    const int64_t args[] = {id, target};
    sqlite3_stmt *st;
    tkms_status status = query(store_of(db), &st,
                               "SELECT source_epoch, count(*) OVER (), signing_root"
                               " FROM signed_attestations"
                               " WHERE validator_id = ?1 AND target_epoch = ?2 LIMIT 1",
                               args, 2, found, "read the signing history", err);
    if (status != TKMS_OK)
        return status;
    if (*found) {
        *source = sqlite3_column_int64(st, 0);
        *count = sqlite3_column_int64(st, 1);
        *has_root = column_root(st, 2, root);
    }
    release(st);
    return TKMS_OK;
}

/* The surround queries scan from the recent end of the history: by target
 * (the primary key) for the first, by source (the index) for the second;
 * the unary + keeps the planner off the index that would scan the old
 * records. */
static tkms_status surrounding(tkms_slashing_db *db, int64_t id, int64_t source, int64_t target,
                               bool *found, int64_t *s, int64_t *t, tkms_err *err)
{
    const int64_t args[] = {id, source, target};
    return query_pair(db, "SELECT source_epoch, target_epoch FROM signed_attestations"
                          " WHERE validator_id = ?1 AND target_epoch > ?3 AND +source_epoch < ?2"
                          " LIMIT 1", args, 3, found, s, t, err);
}

static tkms_status surrounded(tkms_slashing_db *db, int64_t id, int64_t source, int64_t target,
                              bool *found, int64_t *s, int64_t *t, tkms_err *err)
{
    const int64_t args[] = {id, source, target};
    return query_pair(db, "SELECT source_epoch, target_epoch FROM signed_attestations"
                          " WHERE validator_id = ?1 AND source_epoch > ?2 AND +target_epoch < ?3"
                          " LIMIT 1", args, 3, found, s, t, err);
}

static tkms_status min_epochs(tkms_slashing_db *db, int64_t id, bool *found, int64_t *source,
                              int64_t *target, tkms_err *err)
{
    return query_pair(db, "SELECT (SELECT MIN(source_epoch) FROM signed_attestations"
                          "         WHERE validator_id = ?1),"
                          "        (SELECT MIN(target_epoch) FROM signed_attestations"
                          "         WHERE validator_id = ?1)", &id, 1, found, source, target, err);
}

/* The facts: one query per fact (each an index range scan; SQLite runs in
 * this process, so more queries cost no round trips). */
static tkms_status sqlite_block_facts(tkms_slashing_db *db, int64_t id, int64_t slot,
                                      slashing_block_facts *f, tkms_err *err)
{
    tkms_status status = sqlite_find_record(db, SLASHING_BLOCK, id, slot, 0, &f->at_slot, f->root,
                                            &f->has_root, err);
    return status != TKMS_OK ? status : min_slot(db, id, &f->any, &f->min_slot, err);
}

static tkms_status sqlite_attestation_facts(tkms_slashing_db *db, int64_t id, int64_t source,
                                            int64_t target, slashing_attestation_facts *f,
                                            tkms_err *err)
{
    tkms_status status;
    if ((status = same_target(db, id, target, &f->same_target, &f->same_source, &f->same_count,
                              f->same_root, &f->same_has_root, err)) != TKMS_OK ||
        (status = surrounding(db, id, source, target, &f->surrounding, &f->surrounding_source,
                              &f->surrounding_target, err)) != TKMS_OK ||
        (status = surrounded(db, id, source, target, &f->surrounded, &f->surrounded_source,
                             &f->surrounded_target, err)) != TKMS_OK)
        return status;
    return min_epochs(db, id, &f->any, &f->min_source, &f->min_target, err);
}

/* ---- listings ------------------------------------------------------------------------ */

static tkms_status sqlite_each_key(tkms_slashing_db *db, slashing_key_fn fn, void *arg,
                                   tkms_err *err)
{
    static const char doing[] = "list the keys";
    sqlite_store *s = store_of(db);
    sqlite3_stmt *st;
    tkms_status status = prepare(s, &st, "SELECT id, pubkey FROM validators ORDER BY id", doing,
                                 err);
    if (status != TKMS_OK)
        return status;
    int rc = SQLITE_DONE;
    while (status == TKMS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != TKMS_PUBLIC_KEY_SIZE)
            status = tkms_fail(err, TKMS_ERR_IO, "slashing db: a stored public key is corrupt");
        else
            status = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1), err);
    }
    if (status == TKMS_OK && rc != SQLITE_DONE)
        status = sql_fail(s, err, doing);
    sqlite3_finalize(st);
    return status;
}

static tkms_status sqlite_each_record(tkms_slashing_db *db, slashing_kind kind, int64_t id,
                                      slashing_record_fn fn, void *arg, tkms_err *err)
{
    static const char doing[] = "read the signing history";
    sqlite_store *s = store_of(db);
    sqlite3_stmt *st;
    tkms_status status = prepare(s, &st, kind == SLASHING_BLOCK
        ? "SELECT slot, 0, signing_root FROM signed_blocks WHERE validator_id = ? ORDER BY slot"
        : "SELECT source_epoch, target_epoch, signing_root FROM signed_attestations"
          " WHERE validator_id = ? ORDER BY target_epoch, source_epoch", doing, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int64(st, 1, id);
    int rc = SQLITE_DONE;
    uint8_t root[TKMS_ROOT_SIZE];
    while (status == TKMS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        status = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                    column_root(st, 2, root) ? root : NULL, err);
    if (status == TKMS_OK && rc != SQLITE_DONE)
        status = sql_fail(s, err, doing);
    sqlite3_finalize(st);
    return status;
}

static const slashing_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .savepoint = sqlite_savepoint,
    .lock_key = sqlite_lock_key,
    .create_schema = sqlite_create_schema,
    .write_version = sqlite_write_version,
    .read_genesis = sqlite_read_genesis,
    .write_genesis = sqlite_write_genesis,
    .find_key = sqlite_find_key,
    .add_key = sqlite_add_key,
    .set_enabled = sqlite_set_enabled,
    .find_record = sqlite_find_record,
    .add_record = sqlite_add_record,
    .forget_root = sqlite_forget_root,
    .block_facts = sqlite_block_facts,
    .attestation_facts = sqlite_attestation_facts,
    .each_key = sqlite_each_key,
    .each_record = sqlite_each_record,
};

tkms_status slashing_sqlite_open(tkms_slashing_db *db, const char *path, tkms_err *err)
{
    sqlite_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "slashing db: out of memory");
    int rc = sqlite3_open_v2(path, &s->sql,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    tkms_status status = TKMS_OK;
    if (rc != SQLITE_OK) {
        status = tkms_fail(err, TKMS_ERR_IO, "slashing db: could not open %s: %s", path,
                           s->sql != NULL ? sqlite3_errmsg(s->sql) : sqlite3_errstr(rc));
    } else {
        sqlite3_extended_result_codes(s->sql, 1);
        sqlite3_busy_timeout(s->sql, TKMS_SLASHING_BUSY_TIMEOUT_MS);
        if ((status = set_journal_wal(s, path, err)) == TKMS_OK &&
            (status = exec(s, "PRAGMA synchronous = FULL", "set synchronous=FULL", err)) == TKMS_OK)
            status = exec(s, "PRAGMA foreign_keys = ON", "enable foreign keys", err);
    }
    if (status != TKMS_OK) {
        sqlite3_close_v2(s->sql);
        free(s);
        return status;
    }
    db->ops = &sqlite_ops;
    db->store = s;
    return TKMS_OK;
}
