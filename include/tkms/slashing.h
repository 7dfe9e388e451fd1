/*
 * tkms/slashing.h — slashing protection (EIP-3076): the signing history of
 * validator keys, kept in an SQLite file (by default) or in PostgreSQL
 * (for gateways that share one history), checked and extended before
 * anything is signed. The server, the gateway and the CLI all go through
 * these calls; there is no other code path that decides whether a block
 * or an attestation may be signed, and the rules below are the same
 * whichever database holds the history.
 *
 * Strategy: complete (full history). Every block and attestation ever
 * signed or imported is kept, never pruned, and a new one is refused when
 *   - block: a block at the same slot is recorded (unless both signing
 *     roots are known and equal: re-signing the same block is allowed), or
 *     the slot is below the lowest recorded slot of the key;
 *   - attestation: source > target; an attestation with the same target is
 *     recorded (unless it has the same source and both signing roots are
 *     known and equal); it surrounds a recorded one (source < s', target >
 *     t') or is surrounded by one (source > s', target < t'); its source is
 *     below the lowest recorded source, or its target is not above the
 *     lowest recorded target (EIP-3076's lower bounds, which make imported
 *     history that may be incomplete safe).
 * A missing signing root (NULL, or absent in an interchange) is "unknown":
 * it never equals anything.
 *
 * Durability: a check and the record it makes are one transaction, and
 * TKMS_OK is returned only after its COMMIT succeeded: with SQLite, BEGIN
 * IMMEDIATE … COMMIT on a database in WAL mode with synchronous=FULL; with
 * PostgreSQL, a COMMIT with synchronous_commit=on (returns once the
 * commit record is flushed; that the server's own fsync is on is its
 * operator's part). So a caller that signs only on TKMS_OK never holds a
 * signature whose record a crash could lose. Every failure other than
 * TKMS_OK means: do not sign (also a PostgreSQL COMMIT whose answer was
 * lost with the connection). A caller with many checks to make at once
 * may group them into one transaction (a batch, see tkms_slashing_begin):
 * then the rule is "sign only on TKMS_OK from the check AND from the
 * tkms_slashing_commit that follows it".
 *
 * A database belongs to one chain: it is bound to a genesis validators
 * root on first use (open with a root, or the first import) and refuses
 * any other with TKMS_ERR_WRONG_GENESIS.
 *
 * Several processes on one database: a check and its record are atomic
 * across every handle, in this process or any other, so two conflicting
 * votes or blocks racing through two gateways are never both allowed.
 * SQLite: each write transaction holds the file's write lock. PostgreSQL:
 * each check holds an advisory lock on its key (and a shared lock on the
 * database, which open and import take exclusively) from before it reads
 * the history until its COMMIT. Every wait for a lock gives up after
 * TKMS_SLASHING_BUSY_TIMEOUT_MS with TKMS_ERR_IO.
 *
 * A handle is for one thread at a time; open one handle per thread or
 * process. A PostgreSQL handle whose connection was lost (server restart)
 * connects again at its next transaction; what was in flight failed with
 * TKMS_ERR_IO.
 */
#ifndef TKMS_SLASHING_H
#define TKMS_SLASHING_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/status.h"

#define TKMS_ROOT_SIZE 32                     /* signing and genesis roots   */
#define TKMS_SLASHING_MAX_EPOCH INT64_MAX     /* largest slot / epoch stored */
#define TKMS_SLASHING_BUSY_TIMEOUT_MS 10000
#define TKMS_SLASHING_INTERCHANGE_MAX_SIZE (64u * 1024u * 1024u)
#define TKMS_SLASHING_SCHEMA_VERSION 1

typedef struct tkms_slashing_db tkms_slashing_db;

/*
 * Opens (creating if needed) the database at `path`: an SQLite file
 * (":memory:" gives a private in-memory one, for tests; WAL mode,
 * synchronous=FULL and the busy timeout are set), or, when `path` starts
 * with "postgres://" or "postgresql://", a PostgreSQL database (libpq URL;
 * connect_timeout 10 s unless the URL sets one; the tables go in the
 * connection's default schema, which the URL may choose with
 * "?options=-csearch_path%3DNAME", so one PostgreSQL database can hold
 * the histories of several chains). Creates or checks the schema (a
 * database with another schema version is TKMS_ERR_UNSUPPORTED).
 *
 * With `genesis_root`, binds an unbound database to it, or checks a bound
 * one: a different root is TKMS_ERR_WRONG_GENESIS ("database is bound to
 * genesis validators root 0x…, not 0x…"). With NULL the database stays as
 * it is; an unbound one can then only be bound by an import.
 *
 * Returns TKMS_OK, TKMS_ERR_IO (could not open, connect, create or write;
 * the message names the database, a URL's password replaced by "***"),
 * TKMS_ERR_WRONG_GENESIS, TKMS_ERR_UNSUPPORTED or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_slashing_open(tkms_slashing_db **out, const char *path,
                               const uint8_t genesis_root[TKMS_ROOT_SIZE],
                               tkms_err *err);

/* Closes the handle (NULL is fine). Every returned TKMS_OK is already
 * durable; closing adds nothing to that. */
void tkms_slashing_close(tkms_slashing_db *db);

/* Copies the bound genesis validators root; TKMS_ERR_NOT_FOUND when the
 * database is not bound yet. */
tkms_status tkms_slashing_genesis_root(const tkms_slashing_db *db,
                                       uint8_t out[TKMS_ROOT_SIZE]);

/*
 * Decides whether `pubkey` may sign a block at `slot` with `signing_root`
 * (NULL: unknown) and, when it may, records it durably first.
 *
 * Returns:
 *   TKMS_OK                  allowed, and recorded (or re-signing the same
 *                            recorded block): the caller may sign;
 *   TKMS_ERR_REFUSED         slashable or below the lower bound; err says
 *                            why ("double block proposal at slot 12");
 *   TKMS_ERR_IO              the record could not be written (disk full,
 *                            read-only, locked too long): do NOT sign;
 *   TKMS_ERR_INVALID_ARGUMENT slot > TKMS_SLASHING_MAX_EPOCH, or the
 *                            database has no genesis validators root.
 */
tkms_status tkms_slashing_check_block(tkms_slashing_db *db,
                                      const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                      uint64_t slot,
                                      const uint8_t signing_root[TKMS_ROOT_SIZE],
                                      tkms_err *err);

/* The same for an attestation from `source` to `target` epoch; refusals
 * read "double vote for target epoch 5 (already signed 3->5)", "surrounds
 * the attestation 3->4", "is surrounded by the attestation 1->9", … */
tkms_status tkms_slashing_check_attestation(tkms_slashing_db *db,
                                            const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                            uint64_t source, uint64_t target,
                                            const uint8_t signing_root[TKMS_ROOT_SIZE],
                                            tkms_err *err);

/*
 * Group commit: tkms_slashing_begin opens a batch, one transaction
 * (SQLite: BEGIN IMMEDIATE, waiting up to TKMS_SLASHING_BUSY_TIMEOUT_MS
 * for the write lock; PostgreSQL: each check of the batch takes its key's
 * lock, held until the batch ends) that the checks made until
 * tkms_slashing_commit or tkms_slashing_rollback share, so that many
 * checks cost one COMMIT (one fsync of the WAL) instead of one each.
 *
 * While a batch is open, tkms_slashing_check_block and
 * tkms_slashing_check_attestation open no transaction of their own: each
 * runs in a savepoint of the batch and sees every record allowed before
 * it in the same batch (of two conflicting votes in one batch, the second
 * is refused). What they return then:
 *   TKMS_OK                  allowed, and recorded in the batch — but NOT
 *                            durable yet: the caller may sign only once
 *                            tkms_slashing_commit has returned TKMS_OK;
 *   TKMS_ERR_REFUSED         refused; this check recorded nothing (its
 *                            savepoint is rolled back, so not even a key
 *                            seen for the first time is added); the batch
 *                            goes on;
 *   TKMS_ERR_INVALID_ARGUMENT as outside a batch; nothing recorded, the
 *                            batch goes on;
 *   TKMS_ERR_IO              could not read or write: the batch is failed
 *                            (the database may have dropped the whole
 *                            transaction): every later check in it is
 *                            TKMS_ERR_IO at once, and tkms_slashing_commit
 *                            rolls it back and returns TKMS_ERR_IO. With
 *                            PostgreSQL this is also what happens to one
 *                            of two batches that lock the same keys in
 *                            opposite orders (the server breaks the
 *                            deadlock by aborting one).
 * Import, export and delete_key are refused while a batch is open
 * (TKMS_ERR_INVALID_ARGUMENT); closing the handle rolls an open batch
 * back. Keep batches short with PostgreSQL: the keys they checked stay
 * locked for every other gateway until the batch ends.
 *
 * tkms_slashing_begin returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (NULL db,
 * or a batch is open already) or TKMS_ERR_IO (could not start the
 * transaction: locked too long by another handle, read-only database, …).
 */
tkms_status tkms_slashing_begin(tkms_slashing_db *db, tkms_err *err);

/*
 * Commits the open batch (one COMMIT) and closes it. Returns TKMS_OK once
 * every record the batch's checks allowed is durable; then a TKMS_OK from
 * a check in it means "may sign". Otherwise the batch is rolled back —
 * none of its records was made, whatever its checks returned, and nothing
 * it allowed may be signed: TKMS_ERR_IO (the COMMIT failed — disk full,
 * I/O error — or a check in the batch had failed, err says which) or
 * TKMS_ERR_INVALID_ARGUMENT (NULL db, or no batch is open).
 */
tkms_status tkms_slashing_commit(tkms_slashing_db *db, tkms_err *err);

/* Rolls the open batch back and closes it: none of its records is made.
 * Does nothing when no batch is open (NULL is fine). */
void tkms_slashing_rollback(tkms_slashing_db *db);

/*
 * Imports an EIP-3076 interchange (format version "5") of `len` bytes
 * (at most TKMS_SLASHING_INTERCHANGE_MAX_SIZE), all or nothing, in one
 * transaction. metadata.genesis_validators_root must equal the database's
 * (TKMS_ERR_WRONG_GENESIS) or binds an unbound database. Every pubkey must
 * be a valid public key, every slot and epoch a decimal string up to
 * TKMS_SLASHING_MAX_EPOCH, every signing_root 32 bytes of hex.
 *
 * Records are added to the history as they are, slashable ones included
 * (they only make later checks stricter). A record that is already there
 * with a different or unknown signing root keeps an unknown root. A key
 * deleted with tkms_slashing_delete_key is in use again once imported.
 *
 * Returns TKMS_OK, TKMS_ERR_BAD_FORMAT / TKMS_ERR_BAD_ENCODING /
 * TKMS_ERR_NOT_ON_CURVE / … (naming the entry: "interchange:
 * data[2].signed_blocks[0].slot must be a decimal string"),
 * TKMS_ERR_UNSUPPORTED (another format version), TKMS_ERR_WRONG_GENESIS,
 * TKMS_ERR_IO or TKMS_ERR_NO_MEMORY. On any failure nothing was imported.
 */
tkms_status tkms_slashing_import(tkms_slashing_db *db, const char *json,
                                 size_t len, tkms_err *err);

/*
 * Writes the history as an EIP-3076 v5 interchange (a NUL-terminated,
 * malloc'ed JSON document in *json; free with free()). With `pubkeys`
 * (count keys) only those keys, each listed even when it has no history;
 * with NULL every key the database knows. Needs a bound database
 * (TKMS_ERR_NOT_FOUND otherwise).
 */
tkms_status tkms_slashing_export(tkms_slashing_db *db, char **json,
                                 const uint8_t (*pubkeys)[TKMS_PUBLIC_KEY_SIZE],
                                 size_t count, tkms_err *err);

/*
 * Deletes `pubkey` from use and returns its interchange (as
 * tkms_slashing_export for that key), in one transaction. Its history is
 * kept, so a key that comes back can never sign against it; until an
 * interchange naming the key is imported again, every check for it is
 * TKMS_ERR_REFUSED ("key was deleted").
 */
tkms_status tkms_slashing_delete_key(tkms_slashing_db *db,
                                     const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                     char **json, tkms_err *err);

#endif /* TKMS_SLASHING_H */
