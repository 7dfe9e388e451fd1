/*
 * slashing.c — the slashing protection database (tkms/slashing.h): opening
 * it (WAL, synchronous=FULL, schema version, genesis binding), and the
 * block and attestation checks, each of which checks and records in one
 * BEGIN IMMEDIATE … COMMIT transaction and says TKMS_OK only after the
 * COMMIT — or, inside a batch (tkms_slashing_begin … commit), in one
 * savepoint of the batch's transaction. The EIP-3076 interchange is in
 * slashing_interchange.c.
 *
 * Schema (version 1): validators(id, pubkey 48-byte blob, enabled),
 * signed_blocks(validator, slot, signing_root or NULL) keyed by slot,
 * signed_attestations(validator, source, target, signing_root or NULL)
 * keyed by (target, source) with an index by (source, target), so the
 * double-vote, surround and lower-bound queries are index range scans.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "slashing_internal.h"
#include "tkms/hex.h"

/* ---- SQLite helpers ------------------------------------------------------ */

tkms_status slashing_sql_fail(tkms_slashing_db *db, tkms_err *err, const char *doing)
{
    const char *why = db != NULL && db->sql != NULL ? sqlite3_errmsg(db->sql)
                                                    : "cannot allocate the database handle";
    return tkms_fail(err, TKMS_ERR_IO, "slashing db: could not %s: %s", doing, why);
}

tkms_status slashing_prepare(tkms_slashing_db *db, sqlite3_stmt **st, const char *sql,
                             const char *doing, tkms_err *err)
{
    if (sqlite3_prepare_v2(db->sql, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return slashing_sql_fail(db, err, doing);
    }
    return TKMS_OK;
}

tkms_status slashing_cached(tkms_slashing_db *db, sqlite3_stmt **st, const char *sql,
                            const char *doing, tkms_err *err)
{
    for (size_t i = 0; i < db->cached_count; i++)
        if (db->cached_sql[i] == sql || strcmp(db->cached_sql[i], sql) == 0) {
            *st = db->cached[i];
            return TKMS_OK;
        }
    if (db->cached_count == SLASHING_CACHED) {
        for (size_t i = 0; i < db->cached_count; i++)
            sqlite3_finalize(db->cached[i]);
        db->cached_count = 0;
    }
    if (sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return slashing_sql_fail(db, err, doing);
    }
    db->cached[db->cached_count] = *st;
    db->cached_sql[db->cached_count++] = sql;
    return TKMS_OK;
}

void slashing_release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs constant SQL without results (pragmas, schema, transactions). */
static tkms_status exec(tkms_slashing_db *db, const char *sql, const char *doing, tkms_err *err)
{
    if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
        return slashing_sql_fail(db, err, doing);
    return TKMS_OK;
}

/* An import, export or key deletion cannot run inside a batch. */
static tkms_status no_batch(tkms_slashing_db *db, const char *doing, tkms_err *err)
{
    if (db->batch)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: cannot %s while a batch of checks is open", doing);
    return TKMS_OK;
}

tkms_status slashing_begin(tkms_slashing_db *db, const char *doing, tkms_err *err)
{
    tkms_status status = no_batch(db, doing, err);
    return status != TKMS_OK ? status : exec(db, "BEGIN IMMEDIATE", doing, err);
}

tkms_status slashing_begin_read(tkms_slashing_db *db, const char *doing, tkms_err *err)
{
    tkms_status status = no_batch(db, doing, err);
    return status != TKMS_OK ? status : exec(db, "BEGIN", doing, err);
}

void slashing_rollback(tkms_slashing_db *db)
{
    if (!sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

tkms_status slashing_commit(tkms_slashing_db *db, const char *doing, tkms_err *err)
{
    if (sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tkms_status st = slashing_sql_fail(db, err, doing);
        slashing_rollback(db);
        return st;
    }
    return TKMS_OK;
}

/* Steps a statement that returns at most one row: SQLITE_ROW or
 * SQLITE_DONE, anything else is reported. */
static tkms_status step(tkms_slashing_db *db, sqlite3_stmt *st, bool *row,
                        const char *doing, tkms_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        if (row != NULL)
            *row = rc == SQLITE_ROW;
        return TKMS_OK;
    }
    return slashing_sql_fail(db, err, doing);
}

static bool column_root(sqlite3_stmt *st, int col, uint8_t out[TKMS_ROOT_SIZE])
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
        sqlite3_column_bytes(st, col) != TKMS_ROOT_SIZE)
        return false;
    memcpy(out, sqlite3_column_blob(st, col), TKMS_ROOT_SIZE);
    return true;
}

static int bind_root(sqlite3_stmt *st, int col, const uint8_t *root)
{
    return root != NULL ? sqlite3_bind_blob(st, col, root, TKMS_ROOT_SIZE, SQLITE_STATIC)
                        : sqlite3_bind_null(st, col);
}

/* Known and equal signing roots (NULL = unknown never matches). */
static bool same_root(const uint8_t *a, const uint8_t *b)
{
    return a != NULL && b != NULL && memcmp(a, b, TKMS_ROOT_SIZE) == 0;
}

/* ---- opening ------------------------------------------------------------- */

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

static tkms_status set_journal_wal(tkms_slashing_db *db, const char *path, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = slashing_prepare(db, &st, "PRAGMA journal_mode = WAL",
                                          "set WAL mode", err);
    if (status != TKMS_OK)
        return status;
    bool row = false;
    status = step(db, st, &row, "set WAL mode", err);
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

/* Creates the schema or checks its version (inside a transaction). */
static tkms_status check_schema(tkms_slashing_db *db, tkms_err *err)
{
    tkms_status status = exec(db, schema_sql, "create the schema", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_stmt *st;
    if ((status = slashing_prepare(db, &st, "SELECT version FROM schema_version",
                                   "read the schema version", err)) != TKMS_OK)
        return status;
    bool row = false;
    status = step(db, st, &row, "read the schema version", err);
    int64_t version = row ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (status != TKMS_OK)
        return status;
    if (row && version != TKMS_SLASHING_SCHEMA_VERSION)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "slashing db: schema version %" PRId64 " is not supported (this is %d)",
                         version, TKMS_SLASHING_SCHEMA_VERSION);
    if (!row) {
        if ((status = slashing_prepare(db, &st, "INSERT INTO schema_version (version) VALUES (?)",
                                       "write the schema version", err)) != TKMS_OK)
            return status;
        sqlite3_bind_int(st, 1, TKMS_SLASHING_SCHEMA_VERSION);
        status = step(db, st, NULL, "write the schema version", err);
        sqlite3_finalize(st);
    }
    return status;
}

/* Reads the bound genesis root into the handle (inside a transaction). */
static tkms_status load_genesis(tkms_slashing_db *db, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = slashing_prepare(db, &st, "SELECT root FROM genesis WHERE id = 0",
                                          "read the genesis validators root", err);
    if (status != TKMS_OK)
        return status;
    bool row = false;
    status = step(db, st, &row, "read the genesis validators root", err);
    db->bound = status == TKMS_OK && row && column_root(st, 0, db->genesis);
    if (status == TKMS_OK && row && !db->bound)
        status = tkms_fail(err, TKMS_ERR_IO, "slashing db: the stored genesis validators root is corrupt");
    sqlite3_finalize(st);
    return status;
}

tkms_status slashing_bind_genesis(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                  tkms_err *err)
{
    tkms_status status = load_genesis(db, err);
    if (status != TKMS_OK)
        return status;
    if (db->bound) {
        if (memcmp(db->genesis, root, TKMS_ROOT_SIZE) == 0)
            return TKMS_OK;
        char have[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)], want[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];
        tkms_hex_encode(have, db->genesis, TKMS_ROOT_SIZE);
        tkms_hex_encode(want, root, TKMS_ROOT_SIZE);
        return tkms_fail(err, TKMS_ERR_WRONG_GENESIS,
                         "slashing db: bound to genesis validators root %s, not %s", have, want);
    }
    sqlite3_stmt *st;
    if ((status = slashing_prepare(db, &st, "INSERT INTO genesis (id, root) VALUES (0, ?)",
                                   "bind the genesis validators root", err)) != TKMS_OK)
        return status;
    bind_root(st, 1, root);
    status = step(db, st, NULL, "bind the genesis validators root", err);
    sqlite3_finalize(st);
    return status;
}

tkms_status tkms_slashing_open(tkms_slashing_db **out, const char *path,
                               const uint8_t genesis_root[TKMS_ROOT_SIZE], tkms_err *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no database path");
    tkms_slashing_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "slashing db: out of memory");
    tkms_status status = TKMS_OK;
    int rc = sqlite3_open_v2(path, &db->sql,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        status = tkms_fail(err, TKMS_ERR_IO, "slashing db: could not open %s: %s", path,
                           db->sql != NULL ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
        goto done;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    sqlite3_busy_timeout(db->sql, TKMS_SLASHING_BUSY_TIMEOUT_MS);
    if ((status = set_journal_wal(db, path, err)) != TKMS_OK ||
        (status = exec(db, "PRAGMA synchronous = FULL", "set synchronous=FULL", err)) != TKMS_OK ||
        (status = exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys", err)) != TKMS_OK ||
        (status = slashing_begin(db, "open the database for writing", err)) != TKMS_OK)
        goto done;
    if ((status = check_schema(db, err)) != TKMS_OK ||
        (status = genesis_root != NULL ? slashing_bind_genesis(db, genesis_root, err)
                                       : load_genesis(db, err)) != TKMS_OK) {
        slashing_rollback(db);
        goto done;
    }
    if ((status = slashing_commit(db, "create the schema", err)) != TKMS_OK)
        goto done;
    if (genesis_root != NULL) {
        db->bound = true;
        memcpy(db->genesis, genesis_root, TKMS_ROOT_SIZE);
    }
done:
    if (status != TKMS_OK) {
        if (status == TKMS_ERR_IO && err != NULL && strstr(err->message, path) == NULL) {
            char message[TKMS_ERR_MESSAGE_SIZE];
            memcpy(message, err->message, sizeof message);
            tkms_fail(err, status, "%s (database %s)", message, path);
        }
        tkms_slashing_close(db);
        return status;
    }
    *out = db;
    return TKMS_OK;
}

void tkms_slashing_close(tkms_slashing_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->cached_count; i++)
        sqlite3_finalize(db->cached[i]);
    sqlite3_close_v2(db->sql);
    free(db);
}

tkms_status tkms_slashing_genesis_root(const tkms_slashing_db *db, uint8_t out[TKMS_ROOT_SIZE])
{
    if (!db->bound)
        return TKMS_ERR_NOT_FOUND;
    memcpy(out, db->genesis, TKMS_ROOT_SIZE);
    return TKMS_OK;
}

/* ---- validators and imported records ------------------------------------- */

tkms_status slashing_validator(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                               bool create, int64_t *id, bool *enabled, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = slashing_cached(db, &st,
                                         "SELECT id, enabled FROM validators WHERE pubkey = ?",
                                         "look up the key", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_blob(st, 1, pubkey, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    bool row = false;
    status = step(db, st, &row, "look up the key", err);
    *id = row ? sqlite3_column_int64(st, 0) : 0;
    if (enabled != NULL)
        *enabled = row ? sqlite3_column_int(st, 1) != 0 : true;
    slashing_release(st);
    if (status != TKMS_OK || row || !create)
        return status;
    if ((status = slashing_cached(db, &st, "INSERT INTO validators (pubkey) VALUES (?)",
                                  "record the key", err)) != TKMS_OK)
        return status;
    sqlite3_bind_blob(st, 1, pubkey, TKMS_PUBLIC_KEY_SIZE, SQLITE_STATIC);
    status = step(db, st, NULL, "record the key", err);
    slashing_release(st);
    *id = sqlite3_last_insert_rowid(db->sql);
    return status;
}

tkms_status slashing_set_enabled(tkms_slashing_db *db, int64_t id, bool enabled, tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = slashing_prepare(db, &st, "UPDATE validators SET enabled = ? WHERE id = ?",
                                          "update the key", err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int(st, 1, enabled ? 1 : 0);
    sqlite3_bind_int64(st, 2, id);
    status = step(db, st, NULL, "update the key", err);
    sqlite3_finalize(st);
    return status;
}

/*
 * Merges one record into a table: `find` selects the signing root of the
 * record with the key columns bound as ?1.. (after ?1 = validator); when
 * absent `insert` adds it (roots bound last), when present with a
 * different or unknown root `forget` sets the root to NULL.
 */
static tkms_status merge_record(tkms_slashing_db *db, const char *find, const char *insert,
                                const char *forget, const int64_t *keys, int nkeys,
                                const uint8_t *root, tkms_err *err)
{
    static const char doing[] = "import a record";
    sqlite3_stmt *st;
    tkms_status status = slashing_prepare(db, &st, find, doing, err);
    if (status != TKMS_OK)
        return status;
    for (int i = 0; i < nkeys; i++)
        sqlite3_bind_int64(st, i + 1, keys[i]);
    bool row = false;
    status = step(db, st, &row, doing, err);
    uint8_t have[TKMS_ROOT_SIZE];
    bool have_root = row && column_root(st, 0, have);
    sqlite3_finalize(st);
    if (status != TKMS_OK || (row && same_root(have_root ? have : NULL, root)))
        return status;
    if (row && !have_root)
        return TKMS_OK;   /* already unknown */
    if ((status = slashing_prepare(db, &st, row ? forget : insert, doing, err)) != TKMS_OK)
        return status;
    for (int i = 0; i < nkeys; i++)
        sqlite3_bind_int64(st, i + 1, keys[i]);
    if (!row)
        bind_root(st, nkeys + 1, root);
    status = step(db, st, NULL, doing, err);
    sqlite3_finalize(st);
    return status;
}

tkms_status slashing_merge_block(tkms_slashing_db *db, int64_t id, int64_t slot,
                                 const uint8_t *root, tkms_err *err)
{
    const int64_t keys[] = {id, slot};
    return merge_record(
        db, "SELECT signing_root FROM signed_blocks WHERE validator_id = ?1 AND slot = ?2",
        "INSERT INTO signed_blocks (validator_id, slot, signing_root) VALUES (?1, ?2, ?3)",
        "UPDATE signed_blocks SET signing_root = NULL WHERE validator_id = ?1 AND slot = ?2",
        keys, 2, root, err);
}

tkms_status slashing_merge_attestation(tkms_slashing_db *db, int64_t id, int64_t source,
                                       int64_t target, const uint8_t *root, tkms_err *err)
{
    const int64_t keys[] = {id, source, target};
    return merge_record(
        db,
        "SELECT signing_root FROM signed_attestations"
        " WHERE validator_id = ?1 AND source_epoch = ?2 AND target_epoch = ?3",
        "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root)"
        " VALUES (?1, ?2, ?3, ?4)",
        "UPDATE signed_attestations SET signing_root = NULL"
        " WHERE validator_id = ?1 AND source_epoch = ?2 AND target_epoch = ?3",
        keys, 3, root, err);
}

/* ---- checks --------------------------------------------------------------- */

/* Result of one rule: TKMS_OK (passes), TKMS_ERR_REFUSED with the reason,
 * or an I/O failure. `same` is set when the exact record is already there
 * (re-signing: allowed, nothing to write). */
typedef struct {
    tkms_slashing_db *db;
    int64_t id;
    const uint8_t *root;
    bool same;
} check_ctx;

/* Runs a query with the int64 parameters `args` that returns at most one
 * row of up to 3 columns (int64 in vals, a root in column `root_col`, or
 * -1 for none). NULL aggregates read as -1. */
static tkms_status query(check_ctx *c, const char *sql, const int64_t *args, int nargs,
                         bool *row, int64_t vals[2], uint8_t *root, bool *has_root, tkms_err *err)
{
    static const char doing[] = "read the signing history";
    sqlite3_stmt *st;
    tkms_status status = slashing_cached(c->db, &st, sql, doing, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int64(st, 1, c->id);
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(st, i + 2, args[i]);
    status = step(c->db, st, row, doing, err);
    if (status == TKMS_OK && *row) {
        int cols = sqlite3_column_count(st);
        for (int i = 0; i < 2 && i < cols; i++)
            vals[i] = sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
        if (has_root != NULL)
            *has_root = cols > 2 && column_root(st, 2, root);
    }
    slashing_release(st);
    return status;
}

static tkms_status block_rules(check_ctx *c, int64_t slot, tkms_err *err)
{
    bool row = false, has_root = false;
    int64_t v[2] = {-1, -1};
    uint8_t root[TKMS_ROOT_SIZE];
    tkms_status status = query(c, "SELECT slot, slot, signing_root FROM signed_blocks"
                                  " WHERE validator_id = ?1 AND slot = ?2",
                               &slot, 1, &row, v, root, &has_root, err);
    if (status != TKMS_OK)
        return status;
    if (row) {
        if (same_root(has_root ? root : NULL, c->root)) {
            c->same = true;
            return TKMS_OK;
        }
        return tkms_fail(err, TKMS_ERR_REFUSED, "double block proposal at slot %" PRId64
                         " (a block with %s signing root is recorded)", slot,
                         has_root ? "another" : "an unknown");
    }
    status = query(c, "SELECT MIN(slot) FROM signed_blocks WHERE validator_id = ?1",
                   NULL, 0, &row, v, NULL, NULL, err);
    if (status == TKMS_OK && row && v[0] >= 0 && slot < v[0])
        return tkms_fail(err, TKMS_ERR_REFUSED, "slot %" PRId64
                         " is below the lowest recorded block slot %" PRId64, slot, v[0]);
    return status;
}

static tkms_status attestation_rules(check_ctx *c, int64_t source, int64_t target, tkms_err *err)
{
    if (source > target)
        return tkms_fail(err, TKMS_ERR_REFUSED, "source epoch %" PRId64
                         " is after target epoch %" PRId64, source, target);
    bool row = false, has_root = false;
    int64_t v[2] = {-1, -1};
    uint8_t root[TKMS_ROOT_SIZE];
    /* Double vote: any other record with this target (two rows at one
     * target can only come from slashable imports: refused). */
    tkms_status status = query(c, "SELECT source_epoch, count(*) OVER (), signing_root"
                                  " FROM signed_attestations"
                                  " WHERE validator_id = ?1 AND target_epoch = ?2 LIMIT 1",
                               &target, 1, &row, v, root, &has_root, err);
    if (status != TKMS_OK)
        return status;
    if (row) {
        if (v[0] == source && v[1] == 1 && same_root(has_root ? root : NULL, c->root)) {
            c->same = true;
            return TKMS_OK;
        }
        return tkms_fail(err, TKMS_ERR_REFUSED, "double vote for target epoch %" PRId64
                         " (already signed %" PRId64 "->%" PRId64 ")", target, v[0], target);
    }
    const int64_t st[2] = {source, target};
    /* Surround queries scan from the recent end of the history: by target
     * (the primary key) here, by source (the index) below; the unary + keeps
     * the planner off the index that would scan the old records. */
    status = query(c, "SELECT source_epoch, target_epoch FROM signed_attestations"
                      " WHERE validator_id = ?1 AND target_epoch > ?3 AND +source_epoch < ?2"
                      " LIMIT 1", st, 2, &row, v, NULL, NULL, err);
    if (status != TKMS_OK)
        return status;
    if (row)
        return tkms_fail(err, TKMS_ERR_REFUSED, "is surrounded by the attestation %" PRId64
                         "->%" PRId64, v[0], v[1]);
    status = query(c, "SELECT source_epoch, target_epoch FROM signed_attestations"
                      " WHERE validator_id = ?1 AND source_epoch > ?2 AND +target_epoch < ?3"
                      " LIMIT 1", st, 2, &row, v, NULL, NULL, err);
    if (status != TKMS_OK)
        return status;
    if (row)
        return tkms_fail(err, TKMS_ERR_REFUSED, "surrounds the attestation %" PRId64
                         "->%" PRId64, v[0], v[1]);
    status = query(c, "SELECT (SELECT MIN(source_epoch) FROM signed_attestations"
                      "         WHERE validator_id = ?1),"
                      "        (SELECT MIN(target_epoch) FROM signed_attestations"
                      "         WHERE validator_id = ?1)", NULL, 0, &row, v, NULL, NULL, err);
    if (status != TKMS_OK || !row || v[0] < 0)
        return status;
    if (source < v[0])
        return tkms_fail(err, TKMS_ERR_REFUSED, "source epoch %" PRId64
                         " is below the lowest recorded source epoch %" PRId64, source, v[0]);
    if (target <= v[1])
        return tkms_fail(err, TKMS_ERR_REFUSED, "target epoch %" PRId64
                         " is not above the lowest recorded target epoch %" PRId64, target, v[1]);
    return TKMS_OK;
}

typedef enum { CHECK_BLOCK, CHECK_ATTESTATION } check_kind;

/* Inside a transaction: look up (or add) the key, apply the rules, insert
 * the record. */
static tkms_status check_body(tkms_slashing_db *db, check_kind kind,
                              const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], uint64_t a,
                              uint64_t b, const uint8_t *root, const char *what, tkms_err *err)
{
    check_ctx c = {db, 0, root, false};
    bool enabled = true;
    tkms_status status = slashing_validator(db, pubkey, true, &c.id, &enabled, err);
    if (status != TKMS_OK)
        return status;
    if (!enabled)
        return tkms_fail(err, TKMS_ERR_REFUSED,
                         "key was deleted; import its slashing interchange to use it again");
    status = kind == CHECK_BLOCK ? block_rules(&c, (int64_t)a, err)
                                 : attestation_rules(&c, (int64_t)a, (int64_t)b, err);
    if (status != TKMS_OK || c.same)
        return status;
    sqlite3_stmt *st;
    status = slashing_cached(db, &st, kind == CHECK_BLOCK
                ? "INSERT INTO signed_blocks (validator_id, slot, signing_root)"
                  " VALUES (?1, ?2, ?4)"
                : "INSERT INTO signed_attestations"
                  " (validator_id, source_epoch, target_epoch, signing_root)"
                  " VALUES (?1, ?2, ?3, ?4)", what, err);
    if (status != TKMS_OK)
        return status;
    sqlite3_bind_int64(st, 1, c.id);
    sqlite3_bind_int64(st, 2, (int64_t)a);
    if (kind == CHECK_ATTESTATION)
        sqlite3_bind_int64(st, 3, (int64_t)b);
    bind_root(st, 4, root);
    status = step(db, st, NULL, what, err);
    slashing_release(st);
    return status;
}

/* Marks the open batch failed for the reason in `why` (the first reason
 * is kept for the commit) and returns TKMS_ERR_IO with it in err. */
static tkms_status fail_batch(tkms_slashing_db *db, const tkms_err *why, tkms_err *err)
{
    if (!db->batch_failed) {
        db->batch_failed = true;
        tkms_fail(&db->batch_err, TKMS_ERR_IO, "%s", why->message);
    }
    return tkms_fail(err, TKMS_ERR_IO, "%s", why->message);
}

/* Runs one constant statement without results, prepared once. */
static tkms_status run_cached(tkms_slashing_db *db, const char *sql, const char *doing,
                              tkms_err *err)
{
    sqlite3_stmt *st;
    tkms_status status = slashing_cached(db, &st, sql, doing, err);
    if (status != TKMS_OK)
        return status;
    status = step(db, st, NULL, doing, err);
    slashing_release(st);
    return status;
}

/* One check inside the open batch, in a savepoint: a refusal rolls back
 * what the check wrote (a new key), an I/O failure fails the batch. */
static tkms_status check_in_batch(tkms_slashing_db *db, check_kind kind,
                                  const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], uint64_t a,
                                  uint64_t b, const uint8_t *root, const char *what,
                                  tkms_err *err)
{
    if (db->batch_failed)
        return tkms_fail(err, TKMS_ERR_IO, "%s (an earlier check of the batch failed)",
                         db->batch_err.message);
    tkms_err e;
    tkms_err_clear(&e);
    if (run_cached(db, "SAVEPOINT tkms_check", what, &e) != TKMS_OK)
        return fail_batch(db, &e, err);
    tkms_status status = check_body(db, kind, pubkey, a, b, root, what, &e);
    if (status == TKMS_OK) {
        if (run_cached(db, "RELEASE tkms_check", what, &e) != TKMS_OK)
            return fail_batch(db, &e, err);
        tkms_err_clear(err);
        return TKMS_OK;
    }
    if (status != TKMS_ERR_REFUSED)
        return fail_batch(db, &e, err);
    tkms_err undo;
    if (run_cached(db, "ROLLBACK TO tkms_check", what, &undo) != TKMS_OK ||
        run_cached(db, "RELEASE tkms_check", what, &undo) != TKMS_OK)
        return fail_batch(db, &undo, err);
    return tkms_fail(err, TKMS_ERR_REFUSED, "%s", e.message);
}

/* A check: its own BEGIN IMMEDIATE … COMMIT transaction, or a savepoint of
 * the open batch. */
static tkms_status check_and_record(tkms_slashing_db *db, check_kind kind,
                                    const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                    uint64_t a, uint64_t b, const uint8_t *root, tkms_err *err)
{
    const char *what = kind == CHECK_BLOCK ? "record the block" : "record the attestation";
    if (db == NULL || pubkey == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no database or key");
    if (!db->bound)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: no genesis validators root is bound yet");
    if (a > TKMS_SLASHING_MAX_EPOCH || b > TKMS_SLASHING_MAX_EPOCH)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: slot or epoch above %" PRId64, TKMS_SLASHING_MAX_EPOCH);
    if (db->batch)
        return check_in_batch(db, kind, pubkey, a, b, root, what, err);
    tkms_status status = slashing_begin(db, what, err);
    if (status != TKMS_OK)
        return status;
    status = check_body(db, kind, pubkey, a, b, root, what, err);
    if (status != TKMS_OK) {
        slashing_rollback(db);
        return status;
    }
    return slashing_commit(db, what, err);
}

tkms_status tkms_slashing_check_block(tkms_slashing_db *db,
                                      const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                      uint64_t slot, const uint8_t signing_root[TKMS_ROOT_SIZE],
                                      tkms_err *err)
{
    return check_and_record(db, CHECK_BLOCK, pubkey, slot, 0, signing_root, err);
}

tkms_status tkms_slashing_check_attestation(tkms_slashing_db *db,
                                            const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                            uint64_t source, uint64_t target,
                                            const uint8_t signing_root[TKMS_ROOT_SIZE],
                                            tkms_err *err)
{
    return check_and_record(db, CHECK_ATTESTATION, pubkey, source, target, signing_root, err);
}

/* ---- batches (group commit) ------------------------------------------------ */

tkms_status tkms_slashing_begin(tkms_slashing_db *db, tkms_err *err)
{
    if (db == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no database");
    if (db->batch)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: a batch is open already");
    tkms_status status = exec(db, "BEGIN IMMEDIATE", "start a batch of checks", err);
    if (status != TKMS_OK)
        return status;
    db->batch = true;
    db->batch_failed = false;
    tkms_err_clear(&db->batch_err);
    return TKMS_OK;
}

tkms_status tkms_slashing_commit(tkms_slashing_db *db, tkms_err *err)
{
    if (db == NULL || !db->batch)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no batch is open");
    db->batch = false;
    if (db->batch_failed) {
        slashing_rollback(db);
        return tkms_fail(err, TKMS_ERR_IO, "%s; nothing in the batch was recorded",
                         db->batch_err.message);
    }
    return slashing_commit(db, "record the batch", err);
}

void tkms_slashing_rollback(tkms_slashing_db *db)
{
    if (db == NULL || !db->batch)
        return;
    db->batch = false;
    slashing_rollback(db);
}
