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

struct tkms_slashing_db {
    sqlite3 *sql;
    bool bound;                           /* genesis root known */
    uint8_t genesis[TKMS_ROOT_SIZE];
};

/* TKMS_ERR_IO with "slashing db: could not <doing>: <sqlite's reason>". */
tkms_status slashing_sql_fail(tkms_slashing_db *db, tkms_err *err, const char *doing);

/* Prepares a constant statement (values are bound, never spliced in). */
tkms_status slashing_prepare(tkms_slashing_db *db, sqlite3_stmt **st, const char *sql,
                             const char *doing, tkms_err *err);

/* BEGIN IMMEDIATE (takes the write lock, waiting up to the busy timeout). */
tkms_status slashing_begin(tkms_slashing_db *db, const char *doing, tkms_err *err);

/* BEGIN (a read snapshot; works on a read-only database). */
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
