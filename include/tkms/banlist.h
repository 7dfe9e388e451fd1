/*
 * tkms/banlist.h — the gateway's ban list: threshold servers locked out
 * for returning invalid partial signatures, each ban kept with its
 * evidence (the request the gateway sent and the server's signed
 * response), so that a lockout can be justified to the server's owner and
 * to anyone else. Kept in an SQLite file (by default; it may be the file
 * of the slashing database) or in PostgreSQL ("postgres://…" or
 * "postgresql://…"), so that several gateways serving the same keys share
 * one list.
 *
 * A ban names a server and either one key (a 48-byte group public key) or
 * every key (an all-zero or NULL key). It is active until lifted with
 * tkms_banlist_unban; a lifted ban stays in the history with when and by
 * whom it was lifted. Bans and unbans are durable before they return
 * (SQLite WAL with synchronous=FULL; PostgreSQL COMMIT with
 * synchronous_commit=on), and writers serialize (SQLite's write lock, a
 * PostgreSQL advisory lock), so one (server, key) has at most one active
 * ban whichever gateway writes it.
 *
 * Freshness: tkms_banlist_is_banned answers from an in-memory copy of the
 * active bans. The copy is read again from the database when it is older
 * than the refresh interval (TKMS_BANLIST_REFRESH_MS unless changed with
 * tkms_banlist_set_refresh_ms; 0 reads the database on every call). Bans
 * and unbans made through this handle change the copy at once; those made
 * through another handle — another gateway on the same PostgreSQL
 * database, or another process on the same file — are seen at most one
 * refresh interval later.
 *
 * A handle is thread-safe: every call takes the handle's mutex, so threads
 * may share one (a database read to refresh the copy holds it too).
 *
 * Text fields are bounded and printable ASCII, so they go into JSON and
 * logs as they are: a server name and `by` are 1..TKMS_BANLIST_NAME_MAX
 * bytes of 0x21..0x7e; a reason 1..TKMS_BANLIST_REASON_MAX bytes of
 * 0x20..0x7e. Times are seconds since the Unix epoch (>= 0), given by the
 * caller.
 */
#ifndef TKMS_BANLIST_H
#define TKMS_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/status.h"

#define TKMS_BANLIST_NAME_MAX 128                  /* server name, `by`        */
#define TKMS_BANLIST_REASON_MAX 512
#define TKMS_BANLIST_EVIDENCE_MAX (1024u * 1024u)  /* evidence bytes per ban   */
#define TKMS_BANLIST_REFRESH_MS 1000u              /* default refresh interval */
#define TKMS_BANLIST_SCHEMA_VERSION 1

typedef struct tkms_banlist tkms_banlist;

/*
 * Opens (creating its tables if needed) the ban list at `location`: an
 * SQLite file (":memory:" for a private one, for tests) or a PostgreSQL
 * URL. Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (no location),
 * TKMS_ERR_IO (could not open, connect or create; the message names the
 * location, with a URL's password hidden), TKMS_ERR_UNSUPPORTED (another
 * schema version) or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_banlist_open(tkms_banlist **out, const char *location, tkms_err *err);

/* Closes the handle (NULL is fine). */
void tkms_banlist_close(tkms_banlist *bl);

/* Sets how old (in milliseconds) the in-memory copy may get before
 * tkms_banlist_is_banned reads the database again; 0: every call. */
void tkms_banlist_set_refresh_ms(tkms_banlist *bl, unsigned ms);

/* Reads the active bans from the database into the in-memory copy now,
 * whatever its age (for a caller that keeps its own copy and refreshes it
 * off a latency-sensitive thread). Returns TKMS_OK, TKMS_ERR_INVALID_
 * ARGUMENT (bl NULL) or TKMS_ERR_IO (the copy then stays as it was). */
tkms_status tkms_banlist_refresh(tkms_banlist *bl, tkms_err *err);

/*
 * Bans `server` for `key` (NULL or all-zero: every key) for `reason`, with
 * `evidence` (`len` bytes, at most TKMS_BANLIST_EVIDENCE_MAX; may be
 * empty), at `time`, and returns durably. When the same (server, key) is
 * banned already, nothing is written and the earlier ban (and its
 * evidence) stands. *ban_id (may be NULL) gets the id of the active ban,
 * *created (may be NULL) whether this call made it.
 *
 * Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (a field out of bounds; the
 * message names it), TKMS_ERR_IO (not recorded) or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_banlist_ban(tkms_banlist *bl, const char *server,
                             const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *reason,
                             const void *evidence, size_t len, int64_t time, int64_t *ban_id,
                             bool *created, tkms_err *err);

/*
 * Whether `server` may not be asked for `key`: *banned is true when it has
 * an active ban for that key or for every key. With `key` NULL or
 * all-zero, true when it has any active ban at all.
 *
 * Reads the database first when the in-memory copy is older than the
 * refresh interval. Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (bad server
 * name), or TKMS_ERR_IO when that read failed — *banned is then still set,
 * from the copy as it was (bans made through this handle included).
 */
tkms_status tkms_banlist_is_banned(tkms_banlist *bl, const char *server,
                                   const uint8_t key[TKMS_PUBLIC_KEY_SIZE], bool *banned,
                                   tkms_err *err);

/*
 * Lifts the active bans of `server`: the one for `key`, or with `key`
 * NULL or all-zero every active ban of the server (per key and for every
 * key). The rows stay, marked lifted at `time` by `by`. *count (may be
 * NULL) gets how many were lifted. Returns TKMS_OK, TKMS_ERR_NOT_FOUND
 * (nothing was active), TKMS_ERR_INVALID_ARGUMENT or TKMS_ERR_IO.
 */
tkms_status tkms_banlist_unban(tkms_banlist *bl, const char *server,
                               const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *by,
                               int64_t time, size_t *count, tkms_err *err);

/*
 * The bans as a JSON array (NUL-terminated, malloc'ed; free with free()),
 * oldest first: the active ones, or with `history` every ban ever made:
 *   [{"id": 3, "server": "s2", "key": "0x…" (null: every key),
 *     "reason": "…", "since": 1700000000, "evidence_size": 1234,
 *     "unbanned_at": null or time, "unbanned_by": null or "…"}]
 * Returns TKMS_OK, TKMS_ERR_IO or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_banlist_list(tkms_banlist *bl, bool history, char **json, tkms_err *err);

/*
 * The evidence of ban `ban_id` (from tkms_banlist_ban or the list):
 * malloc'ed bytes with a NUL after them (free with free()), *len without
 * it. Returns TKMS_OK, TKMS_ERR_NOT_FOUND (no such ban), TKMS_ERR_IO or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_banlist_evidence(tkms_banlist *bl, int64_t ban_id, char **evidence,
                                  size_t *len, tkms_err *err);

#endif /* TKMS_BANLIST_H */
