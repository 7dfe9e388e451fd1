/*
 * slashing_internal.h — what the two halves of slashing protection share:
 * the database handle and its SQLite helpers (slashing.c, which owns the
 * schema and the signing checks) and the EIP-3076 interchange reader and
 * writer (slashing_interchange.c). Internal to libtkms.
 *
 * Every helper that fails turns SQLite's error into a one-line message
 * that says what failed ("slashing db: could not record the block:
 * database or disk is full") and returns TKMS_ERR_IO.
 */
#ifndef TKMS_SLASHING_INTERNAL_H
#define TKMS_SLASHING_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "tkms/slashing.h"

#define SLASHING_CACHED 24                /* prepared statements kept per handle */

struct tkms_slashing_db {
    sqlite3 *sql;
    bool bound;                           /* genesis root known */
    uint8_t genesis[TKMS_ROOT_SIZE];
    /* Statements of the checks, prepared once (see slashing_cached). */
    sqlite3_stmt *cached[SLASHING_CACHED];
    const char *cached_sql[SLASHING_CACHED];
    size_t cached_count;
    bool batch;                           /* tkms_slashing_begin's transaction is open */
    bool batch_failed;                    /* a check in it could not read or write    */
    tkms_err batch_err;                   /* why (the first failure)                  */
};

/* TKMS_ERR_IO with "slashing db: could not <doing>: <sqlite's reason>". */
tkms_status slashing_sql_fail(tkms_slashing_db *db, tkms_err *err, const char *doing);

/* Prepares a constant statement (values are bound, never spliced in). */
tkms_status slashing_prepare(tkms_slashing_db *db, sqlite3_stmt **st, const char *sql,
                             const char *doing, tkms_err *err);

/* The prepared statement for the constant `sql`, kept with the handle
 * (prepared on first use, finalized by tkms_slashing_close) so that the
 * checks, run for every sign request, do not parse their SQL each time.
 * Give it back with slashing_release before asking for another one: when
 * the cache is full every kept statement is finalized to make room. */
tkms_status slashing_cached(tkms_slashing_db *db, sqlite3_stmt **st, const char *sql,
                            const char *doing, tkms_err *err);

/* Resets a statement from slashing_cached and clears its bindings. */
void slashing_release(sqlite3_stmt *st);

/* BEGIN IMMEDIATE (takes the write lock, waiting up to the busy timeout).
 * TKMS_ERR_INVALID_ARGUMENT while a batch (tkms_slashing_begin) is open:
 * an import or a key deletion cannot join or interrupt a batch. */
tkms_status slashing_begin(tkms_slashing_db *db, const char *doing, tkms_err *err);

/* BEGIN (a read snapshot; works on a read-only database). The same
 * TKMS_ERR_INVALID_ARGUMENT while a batch is open. */
tkms_status slashing_begin_read(tkms_slashing_db *db, const char *doing, tkms_err *err);

/* COMMIT; on failure rolls back and reports TKMS_ERR_IO. TKMS_OK means the
 * transaction is durable. */
tkms_status slashing_commit(tkms_slashing_db *db, const char *doing, tkms_err *err);

/* Rolls back the open transaction, if any (never fails visibly). */
void slashing_rollback(tkms_slashing_db *db);

/* Inside a transaction: binds an unbound database to `root` or checks a
 * bound one (TKMS_ERR_WRONG_GENESIS). The caller sets db->bound and
 * db->genesis once the transaction is committed. */
tkms_status slashing_bind_genesis(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                  tkms_err *err);

/* Inside a transaction: the row id of `pubkey` in `validators`, creating
 * the row when `create` (else *id = 0 when absent); *enabled (may be NULL)
 * says whether the key is in use (not deleted). */
tkms_status slashing_validator(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                               bool create, int64_t *id, bool *enabled, tkms_err *err);

/* Inside a transaction: marks a validator in use (enabled) or deleted. */
tkms_status slashing_set_enabled(tkms_slashing_db *db, int64_t id, bool enabled, tkms_err *err);

/* Inside a transaction: adds an imported block / attestation to the
 * history. A record already there keeps its signing root only when both
 * are known and equal; otherwise the root becomes unknown (NULL). */
tkms_status slashing_merge_block(tkms_slashing_db *db, int64_t id, int64_t slot,
                                 const uint8_t *root, tkms_err *err);
tkms_status slashing_merge_attestation(tkms_slashing_db *db, int64_t id, int64_t source,
                                       int64_t target, const uint8_t *root, tkms_err *err);

/* Inside a transaction: the interchange JSON for the given keys (NULL:
 * every key), as tkms_slashing_export. */
tkms_status slashing_export_locked(tkms_slashing_db *db, char **json,
                                   const uint8_t (*pubkeys)[TKMS_PUBLIC_KEY_SIZE],
                                   size_t count, tkms_err *err);

#endif /* TKMS_SLASHING_INTERNAL_H */
