/*
 * slashing.c — slashing protection (tkms/slashing.h): the public API and
 * every rule, written once over the storage backends of
 * slashing_internal.h (slashing_sqlite.c, slashing_pg.c). Opening (schema
 * version, genesis binding), the block and attestation checks — each
 * checks and records in one transaction, holding its key's lock, and says
 * TKMS_OK only after the COMMIT, or inside a batch (tkms_slashing_begin …
 * commit) in one savepoint of the batch's transaction — and the merge of
 * imported records. The EIP-3076 interchange is in slashing_interchange.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "slashing_internal.h"
#include "store_pg.h"
#include "tkms/hex.h"

/* Known and equal signing roots (NULL = unknown never matches). */
static bool same_root(const uint8_t *a, const uint8_t *b)
{
    return a != NULL && b != NULL && memcmp(a, b, TKMS_ROOT_SIZE) == 0;
}

/* An import, export or key deletion cannot run inside a batch. */
tkms_status slashing_begin(tkms_slashing_db *db, slashing_tx tx, const char *doing,
                           tkms_err *err)
{
    if (db->batch)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: cannot %s while a batch of checks is open", doing);
    return db->ops->begin(db, tx, doing, err);
}

/* ---- opening ------------------------------------------------------------- */

/* Creates the schema or checks its version (inside a transaction). */
static tkms_status check_schema(tkms_slashing_db *db, tkms_err *err)
{
    bool present = false;
    int64_t version = 0;
    tkms_status status = db->ops->create_schema(db, &present, &version, err);
    if (status != TKMS_OK)
        return status;
    if (!present)
        return db->ops->write_version(db, TKMS_SLASHING_SCHEMA_VERSION, err);
    if (version != TKMS_SLASHING_SCHEMA_VERSION)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "slashing db: schema version %" PRId64 " is not supported (this is %d)",
                         version, TKMS_SLASHING_SCHEMA_VERSION);
    return TKMS_OK;
}

tkms_status slashing_bind_genesis(tkms_slashing_db *db, const uint8_t root[TKMS_ROOT_SIZE],
                                  tkms_err *err)
{
    bool found = false;
    uint8_t have[TKMS_ROOT_SIZE];
    tkms_status status = db->ops->read_genesis(db, &found, have, err);
    if (status != TKMS_OK)
        return status;
    if (!found)
        return db->ops->write_genesis(db, root, err);
    if (memcmp(have, root, TKMS_ROOT_SIZE) == 0)
        return TKMS_OK;
    char have_hex[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)], want_hex[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];
    tkms_hex_encode(have_hex, have, TKMS_ROOT_SIZE);
    tkms_hex_encode(want_hex, root, TKMS_ROOT_SIZE);
    return tkms_fail(err, TKMS_ERR_WRONG_GENESIS,
                     "slashing db: bound to genesis validators root %s, not %s", have_hex,
                     want_hex);
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
    char where[STORE_PG_LOCATION_SIZE];
    store_redact_location(where, sizeof where, path);
    tkms_status status = store_is_postgres_url(path) ? slashing_pg_open(db, path, err)
                                                     : slashing_sqlite_open(db, path, err);
    if (status != TKMS_OK) {
        free(db);
        db = NULL;
        goto done;
    }
    if ((status = db->ops->begin(db, SLASHING_TX_ALL, "open the database for writing", err)) !=
        TKMS_OK)
        goto done;
    if ((status = check_schema(db, err)) != TKMS_OK) {
        db->ops->rollback(db);
        goto done;
    }
    bool found = false;
    status = genesis_root != NULL ? slashing_bind_genesis(db, genesis_root, err)
                                  : db->ops->read_genesis(db, &found, db->genesis, err);
    if (status != TKMS_OK) {
        db->ops->rollback(db);
        goto done;
    }
    if ((status = db->ops->commit(db, "create the schema", err)) != TKMS_OK)
        goto done;
    db->bound = genesis_root != NULL || found;
    if (genesis_root != NULL)
        memcpy(db->genesis, genesis_root, TKMS_ROOT_SIZE);
done:
    if (status != TKMS_OK) {
        if (status == TKMS_ERR_IO && err != NULL && strstr(err->message, where) == NULL) {
            char message[TKMS_ERR_MESSAGE_SIZE];
            memcpy(message, err->message, sizeof message);
            tkms_fail(err, status, "%s (database %s)", message, where);
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
    if (db->batch)
        db->ops->rollback(db);
    db->ops->close(db);
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
    bool in_use = true;
    tkms_status status = db->ops->find_key(db, pubkey, id, &in_use, err);
    if (status == TKMS_OK && *id == 0) {
        in_use = true;
        if (create)
            status = db->ops->add_key(db, pubkey, id, err);
    }
    if (enabled != NULL)
        *enabled = in_use;
    return status;
}

tkms_status slashing_merge(tkms_slashing_db *db, slashing_kind kind, int64_t id, int64_t a,
                           int64_t b, const uint8_t *root, tkms_err *err)
{
    bool found = false, has_root = false;
    uint8_t have[TKMS_ROOT_SIZE];
    tkms_status status = db->ops->find_record(db, kind, id, a, b, &found, have, &has_root, err);
    if (status != TKMS_OK)
        return status;
    if (!found)
        return db->ops->add_record(db, kind, id, a, b, root, err);
    if (!has_root || same_root(have, root))
        return TKMS_OK;   /* already unknown, or the same */
    return db->ops->forget_root(db, kind, id, a, b, err);
}

/* ---- checks --------------------------------------------------------------- */

/* Result of the rules: TKMS_OK (passes), TKMS_ERR_REFUSED with the reason,
 * or an I/O failure. `same` is set when the exact record is already there
 * (re-signing: allowed, nothing to write). */
typedef struct {
    tkms_slashing_db *db;
    int64_t id;
    const uint8_t *root;
    bool same;
} check_ctx;

static tkms_status block_rules(check_ctx *c, int64_t slot, tkms_err *err)
{
    slashing_block_facts f;
    memset(&f, 0, sizeof f);
    tkms_status status = c->db->ops->block_facts(c->db, c->id, slot, &f, err);
    if (status != TKMS_OK)
        return status;
    if (f.at_slot) {
        if (same_root(f.has_root ? f.root : NULL, c->root)) {
            c->same = true;
            return TKMS_OK;
        }
        return tkms_fail(err, TKMS_ERR_REFUSED, "double block proposal at slot %" PRId64
                         " (a block with %s signing root is recorded)", slot,
                         f.has_root ? "another" : "an unknown");
    }
    if (f.any && slot < f.min_slot)
        return tkms_fail(err, TKMS_ERR_REFUSED, "slot %" PRId64
                         " is below the lowest recorded block slot %" PRId64, slot, f.min_slot);
    return TKMS_OK;
}

static tkms_status attestation_rules(check_ctx *c, int64_t source, int64_t target, tkms_err *err)
{
    if (source > target)
        return tkms_fail(err, TKMS_ERR_REFUSED, "source epoch %" PRId64
                         " is after target epoch %" PRId64, source, target);
    slashing_attestation_facts f;
    memset(&f, 0, sizeof f);
    tkms_status status = c->db->ops->attestation_facts(c->db, c->id, source, target, &f, err);
    if (status != TKMS_OK)
        return status;
    /* Double vote: any other record with this target (two rows at one
     * target can only come from slashable imports: refused). */
    if (f.same_target) {
        if (f.same_source == source && f.same_count == 1 &&
            same_root(f.same_has_root ? f.same_root : NULL, c->root)) {
            c->same = true;
            return TKMS_OK;
        }
        return tkms_fail(err, TKMS_ERR_REFUSED, "double vote for target epoch %" PRId64
                         " (already signed %" PRId64 "->%" PRId64 ")", target, f.same_source,
                         target);
    }
    if (f.surrounding)
        return tkms_fail(err, TKMS_ERR_REFUSED, "is surrounded by the attestation %" PRId64
                         "->%" PRId64, f.surrounding_source, f.surrounding_target);
    if (f.surrounded)
        return tkms_fail(err, TKMS_ERR_REFUSED, "surrounds the attestation %" PRId64
                         "->%" PRId64, f.surrounded_source, f.surrounded_target);
    if (!f.any)
        return TKMS_OK;
    if (source < f.min_source)
        return tkms_fail(err, TKMS_ERR_REFUSED, "source epoch %" PRId64
                         " is below the lowest recorded source epoch %" PRId64, source,
                         f.min_source);
    if (target <= f.min_target)
        return tkms_fail(err, TKMS_ERR_REFUSED, "target epoch %" PRId64
                         " is not above the lowest recorded target epoch %" PRId64, target,
                         f.min_target);
    return TKMS_OK;
}

/* Inside a transaction: lock the key, look it up (or add it), apply the
 * rules, insert the record. */
static tkms_status check_body(tkms_slashing_db *db, slashing_kind kind,
                              const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], int64_t a, int64_t b,
                              const uint8_t *root, tkms_err *err)
{
    check_ctx c = {db, 0, root, false};
    bool enabled = true;
    tkms_status status = db->ops->lock_key(db, pubkey, err);
    if (status == TKMS_OK)
        status = slashing_validator(db, pubkey, true, &c.id, &enabled, err);
    if (status != TKMS_OK)
        return status;
    if (!enabled)
        return tkms_fail(err, TKMS_ERR_REFUSED,
                         "key was deleted; import its slashing interchange to use it again");
    status = kind == SLASHING_BLOCK ? block_rules(&c, a, err) : attestation_rules(&c, a, b, err);
    if (status != TKMS_OK || c.same)
        return status;
    return db->ops->add_record(db, kind, c.id, a, b, root, err);
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

/* One check inside the open batch, in a savepoint: a refusal rolls back
 * what the check wrote (a new key), an I/O failure fails the batch. */
static tkms_status check_in_batch(tkms_slashing_db *db, slashing_kind kind,
                                  const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], int64_t a,
                                  int64_t b, const uint8_t *root, const char *what,
                                  tkms_err *err)
{
    if (db->batch_failed)
        return tkms_fail(err, TKMS_ERR_IO, "%s (an earlier check of the batch failed)",
                         db->batch_err.message);
    tkms_err e;
    tkms_err_clear(&e);
    if (db->ops->savepoint(db, SLASHING_SAVEPOINT, what, &e) != TKMS_OK)
        return fail_batch(db, &e, err);
    tkms_status status = check_body(db, kind, pubkey, a, b, root, &e);
    if (status == TKMS_OK) {
        if (db->ops->savepoint(db, SLASHING_RELEASE, what, &e) != TKMS_OK)
            return fail_batch(db, &e, err);
        tkms_err_clear(err);
        return TKMS_OK;
    }
    if (status != TKMS_ERR_REFUSED)
        return fail_batch(db, &e, err);
    tkms_err undo;
    tkms_err_clear(&undo);
    if (db->ops->savepoint(db, SLASHING_UNDO, what, &undo) != TKMS_OK)
        return fail_batch(db, &undo, err);
    return tkms_fail(err, TKMS_ERR_REFUSED, "%s", e.message);
}

/* A check: its own transaction, or a savepoint of the open batch. */
static tkms_status check_and_record(tkms_slashing_db *db, slashing_kind kind,
                                    const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                    uint64_t a, uint64_t b, const uint8_t *root, tkms_err *err)
{
    const char *what = kind == SLASHING_BLOCK ? "record the block" : "record the attestation";
    if (db == NULL || pubkey == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no database or key");
    if (!db->bound)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: no genesis validators root is bound yet");
    if (a > TKMS_SLASHING_MAX_EPOCH || b > TKMS_SLASHING_MAX_EPOCH)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "slashing db: slot or epoch above %" PRId64, TKMS_SLASHING_MAX_EPOCH);
    if (db->batch)
        return check_in_batch(db, kind, pubkey, (int64_t)a, (int64_t)b, root, what, err);
    tkms_status status = db->ops->begin(db, SLASHING_TX_CHECKS, what, err);
    if (status != TKMS_OK)
        return status;
    status = check_body(db, kind, pubkey, (int64_t)a, (int64_t)b, root, err);
    if (status != TKMS_OK) {
        db->ops->rollback(db);
        return status;
    }
    return db->ops->commit(db, what, err);
}

tkms_status tkms_slashing_check_block(tkms_slashing_db *db,
                                      const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                      uint64_t slot, const uint8_t signing_root[TKMS_ROOT_SIZE],
                                      tkms_err *err)
{
    return check_and_record(db, SLASHING_BLOCK, pubkey, slot, 0, signing_root, err);
}

tkms_status tkms_slashing_check_attestation(tkms_slashing_db *db,
                                            const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                            uint64_t source, uint64_t target,
                                            const uint8_t signing_root[TKMS_ROOT_SIZE],
                                            tkms_err *err)
{
    return check_and_record(db, SLASHING_ATTESTATION, pubkey, source, target, signing_root, err);
}

/* ---- batches (group commit) ------------------------------------------------ */

tkms_status tkms_slashing_begin(tkms_slashing_db *db, tkms_err *err)
{
    if (db == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: no database");
    if (db->batch)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "slashing db: a batch is open already");
    tkms_status status = db->ops->begin(db, SLASHING_TX_CHECKS, "start a batch of checks", err);
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
        db->ops->rollback(db);
        return tkms_fail(err, TKMS_ERR_IO, "%s; nothing in the batch was recorded",
                         db->batch_err.message);
    }
    return db->ops->commit(db, "record the batch", err);
}

void tkms_slashing_rollback(tkms_slashing_db *db)
{
    if (db == NULL || !db->batch)
        return;
    db->batch = false;
    db->ops->rollback(db);
}
