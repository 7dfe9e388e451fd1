/*
 * slashing_internal.h — how slashing protection is put together, internal
 * to libtkms:
 *
 *   slashing.c              the public API and the rules (opening and genesis
 *                           binding, block and attestation checks, batches,
 *                           merging imported records), written once;
 *   slashing_interchange.c  the EIP-3076 interchange reader and writer;
 *   slashing_sqlite.c       the storage in an SQLite file (the default);
 *   slashing_pg.c           the storage in PostgreSQL ("postgres://" URLs),
 *                           for gateways that share one database.
 *
 * A storage backend is a table of small operations (slashing_ops) on the
 * history: transactions, per-key locks, and one query or write each. The
 * backends decide nothing; every rule is in slashing.c, so both pass the
 * same tests. Every backend operation that fails returns TKMS_ERR_IO (or
 * TKMS_ERR_NO_MEMORY) with a one-line message that says what failed
 * ("slashing db: could not record the block: database or disk is full").
 */
#ifndef TKMS_SLASHING_INTERNAL_H
#define TKMS_SLASHING_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tkms/slashing.h"

/* What a transaction is for: how much of the database it locks. */
typedef enum {
    SLASHING_TX_READ,     /* a consistent read snapshot (export)                */
    SLASHING_TX_CHECKS,   /* checks and key deletion: each key is locked with
                           * ops->lock_key before it is read                     */
    SLASHING_TX_ALL,      /* the whole database (open, import): no check runs
                           * meanwhile, in this process or any other            */
} slashing_tx;

/* Savepoints of a batch (one check each). */
typedef enum {
    SLASHING_SAVEPOINT,   /* start one                          */
    SLASHING_RELEASE,     /* keep what it did                    */
    SLASHING_UNDO,        /* roll it back and release it         */
} slashing_sp;

/* A record: a block (a = slot) or an attestation (a = source, b = target). */
typedef enum { SLASHING_BLOCK, SLASHING_ATTESTATION } slashing_kind;

/* Callbacks of the listing operations; a status other than TKMS_OK stops
 * the listing and is returned by it. `root` NULL is an unknown root. */
typedef tkms_status (*slashing_key_fn)(void *arg, int64_t id,
                                       const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], tkms_err *err);
typedef tkms_status (*slashing_record_fn)(void *arg, int64_t a, int64_t b, const uint8_t *root,
                                          tkms_err *err);

/* What the history of one key says about a new block at a slot; the rules
 * (slashing.c) decide from it. */
typedef struct {
    bool at_slot;                         /* a block at this slot is recorded */
    bool has_root;                        /* ... with a known signing root:   */
    uint8_t root[TKMS_ROOT_SIZE];
    bool any;                             /* any block is recorded:           */
    int64_t min_slot;                     /* ... the lowest slot              */
} slashing_block_facts;

/* What the history of one key says about a new attestation source->target. */
typedef struct {
    bool same_target;                     /* one with this target is recorded: */
    int64_t same_source;                  /* ... its source,                    */
    int64_t same_count;                   /* ... how many have this target,     */
    bool same_has_root;                   /* ... its root when known            */
    uint8_t same_root[TKMS_ROOT_SIZE];
    bool surrounding;                     /* a recorded s->t with s < source and */
    int64_t surrounding_source, surrounding_target;   /* t > target (one of them) */
    bool surrounded;                      /* a recorded s->t with s > source and */
    int64_t surrounded_source, surrounded_target;     /* t < target (one of them) */
    bool any;                             /* any attestation is recorded:       */
    int64_t min_source, min_target;       /* ... the lowest source and target   */
} slashing_attestation_facts;

/*
 * The storage operations. All but close and begin run inside the
 * transaction that begin opened; ids are the backend's row ids of keys (> 0).
 * Out-parameters for "found" say whether a row was there; the values are
 * only meaningful when it was.
 */
typedef struct {
    const char *name;                                   /* "sqlite", "postgresql" */
    void (*close)(tkms_slashing_db *db);
    tkms_status (*begin)(tkms_slashing_db *db, slashing_tx tx, const char *doing, tkms_err *err);
    /* TKMS_OK means durable. On failure the transaction is rolled back. */
    tkms_status (*commit)(tkms_slashing_db *db, const char *doing, tkms_err *err);
    void (*rollback)(tkms_slashing_db *db);              /* if one is open; never fails visibly */
    tkms_status (*savepoint)(tkms_slashing_db *db, slashing_sp op, const char *doing,
                             tkms_err *err);
    /* Waits (up to TKMS_SLASHING_BUSY_TIMEOUT_MS) until no other handle
     * holds `pubkey` and holds it until the transaction ends. A backend
     * whose transactions already exclude each other does nothing. */
    tkms_status (*lock_key)(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                            tkms_err *err);

    /* Schema (inside SLASHING_TX_ALL): creates the tables that are missing
     * and reads the stored version (*present false when none is stored). */
    tkms_status (*create_schema)(tkms_slashing_db *db, bool *present, int64_t *version,
                                 tkms_err *err);
    tkms_status (*write_version)(tkms_slashing_db *db, int64_t version, tkms_err *err);
    tkms_status (*read_genesis)(tkms_slashing_db *db, bool *found, uint8_t root[TKMS_ROOT_SIZE],
                                tkms_err *err);
    tkms_status (*write_genesis)(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                 tkms_err *err);

    /* Keys: *id = 0 when absent; *enabled false once deleted. */
    tkms_status (*find_key)(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                            int64_t *id, bool *enabled, tkms_err *err);
    tkms_status (*add_key)(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                           int64_t *id, tkms_err *err);
    tkms_status (*set_enabled)(tkms_slashing_db *db, int64_t id, bool enabled, tkms_err *err);

    /* The record (kind, a, b) exactly, with its root (*has_root false when
     * unknown); b is ignored for blocks. */
    tkms_status (*find_record)(tkms_slashing_db *db, slashing_kind kind, int64_t id, int64_t a,
                               int64_t b, bool *found, uint8_t root[TKMS_ROOT_SIZE],
                               bool *has_root, tkms_err *err);
    tkms_status (*add_record)(tkms_slashing_db *db, slashing_kind kind, int64_t id, int64_t a,
                              int64_t b, const uint8_t *root, tkms_err *err);
    /* Makes the root of an existing record unknown. */
    tkms_status (*forget_root)(tkms_slashing_db *db, slashing_kind kind, int64_t id, int64_t a,
                               int64_t b, tkms_err *err);

    /* What the key's history says about a new block / attestation (see
     * the facts types above), in as few queries as the backend can. */
    tkms_status (*block_facts)(tkms_slashing_db *db, int64_t id, int64_t slot,
                               slashing_block_facts *facts, tkms_err *err);
    tkms_status (*attestation_facts)(tkms_slashing_db *db, int64_t id, int64_t source,
                                     int64_t target, slashing_attestation_facts *facts,
                                     tkms_err *err);

    /* Every key, by id; every record of a key, blocks by slot, attestations
     * by (target, source). The callbacks may run other operations. */
    tkms_status (*each_key)(tkms_slashing_db *db, slashing_key_fn fn, void *arg, tkms_err *err);
    tkms_status (*each_record)(tkms_slashing_db *db, slashing_kind kind, int64_t id,
                               slashing_record_fn fn, void *arg, tkms_err *err);
} slashing_ops;

struct tkms_slashing_db {
    const slashing_ops *ops;
    void *store;                          /* the backend's own state          */
    bool bound;                           /* genesis root known               */
    uint8_t genesis[TKMS_ROOT_SIZE];
    bool batch;                           /* tkms_slashing_begin's transaction is open */
    bool batch_failed;                    /* a check in it could not read or write    */
    tkms_err batch_err;                   /* why (the first failure)                  */
};

/* The backends: connect or open the storage and set db->ops and db->store
 * (nothing else). On failure nothing is left to close. */
tkms_status slashing_sqlite_open(tkms_slashing_db *db, const char *path, tkms_err *err);
tkms_status slashing_pg_open(tkms_slashing_db *db, const char *url, tkms_err *err);

/* Starts a transaction for an import, export or key deletion:
 * TKMS_ERR_INVALID_ARGUMENT while a batch (tkms_slashing_begin) is open,
 * since those cannot join or interrupt one. */
tkms_status slashing_begin(tkms_slashing_db *db, slashing_tx tx, const char *doing,
                           tkms_err *err);

/* Inside a transaction: binds an unbound database to `root` or checks a
 * bound one (TKMS_ERR_WRONG_GENESIS). The caller sets db->bound and
 * db->genesis once the transaction is committed. */
tkms_status slashing_bind_genesis(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                  tkms_err *err);

/* Inside a transaction: the row id of `pubkey`, creating the row when
 * `create` (else *id = 0 when absent); *enabled (may be NULL) says whether
 * the key is in use (not deleted). */
tkms_status slashing_validator(tkms_slashing_db *db, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                               bool create, int64_t *id, bool *enabled, tkms_err *err);

/* Inside a transaction: adds an imported block / attestation (b ignored
 * for blocks) to the history. A record already there keeps its signing
 * root only when both are known and equal; otherwise the root becomes
 * unknown. */
tkms_status slashing_merge(tkms_slashing_db *db, slashing_kind kind, int64_t id, int64_t a,
                           int64_t b, const uint8_t *root, tkms_err *err);

/* Inside a transaction: the interchange JSON for the given keys (NULL:
 * every key), as tkms_slashing_export. */
tkms_status slashing_export_locked(tkms_slashing_db *db, char **json,
                                   const uint8_t (*pubkeys)[TKMS_PUBLIC_KEY_SIZE],
                                   size_t count, tkms_err *err);

#endif /* TKMS_SLASHING_INTERNAL_H */
