/*
 * banlist_internal.h — how the ban list is put together, internal to
 * libtkms: banlist.c holds the public API (argument checks, the in-memory
 * copy of the active bans and its refresh, the JSON listing, the handle's
 * mutex) and the rule "one active ban per (server, key)"; banlist_sqlite.c
 * and banlist_pg.c store the rows. A backend decides nothing.
 *
 * Table bans(id, server, key 48 bytes (all zero: every key), reason,
 * evidence, banned_at, unbanned_at NULL while active, unbanned_by), with
 * a unique index on (server, key) over the active rows; table
 * banlist_version(version).
 */
#ifndef TKMS_BANLIST_INTERNAL_H
#define TKMS_BANLIST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tkms/banlist.h"

/* One ban as listed (the evidence itself is fetched separately). Strings
 * and key are borrowed for the duration of the callback. */
typedef struct {
    int64_t id;
    const char *server;
    const uint8_t *key;             /* TKMS_PUBLIC_KEY_SIZE bytes; zero: every key */
    const char *reason;
    int64_t since;
    int64_t evidence_size;
    bool lifted;
    int64_t unbanned_at;            /* when lifted */
    const char *unbanned_by;        /* when lifted */
} banlist_row;

typedef tkms_status (*banlist_row_fn)(void *arg, const banlist_row *row, tkms_err *err);

/* The storage operations, on the backend's own state (`store`). Writes
 * run between begin and commit (one writer at a time across every
 * handle); reads run on their own. */
typedef struct {
    void (*close)(void *store);
    tkms_status (*begin)(void *store, const char *doing, tkms_err *err);
    /* TKMS_OK means durable; on failure the transaction is rolled back. */
    tkms_status (*commit)(void *store, const char *doing, tkms_err *err);
    void (*rollback)(void *store);
    /* Inside a transaction: creates missing tables, reads the version. */
    tkms_status (*create_schema)(void *store, bool *present, int64_t *version, tkms_err *err);
    tkms_status (*write_version)(void *store, int64_t version, tkms_err *err);
    /* Inside a transaction: the active ban of exactly (server, key). */
    tkms_status (*find_active)(void *store, const char *server,
                               const uint8_t key[TKMS_PUBLIC_KEY_SIZE], bool *found, int64_t *id,
                               tkms_err *err);
    /* Inside a transaction: adds an active ban (row->id and the lifted
     * fields are ignored) and returns its id. */
    tkms_status (*insert)(void *store, const banlist_row *row, const void *evidence,
                          size_t len, int64_t *id, tkms_err *err);
    /* Inside a transaction: lifts the active bans of server for `key`
     * (NULL: all of them), *count how many. */
    tkms_status (*lift)(void *store, const char *server,
                        const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *by, int64_t time,
                        int64_t *count, tkms_err *err);
    /* Every ban (history) or the active ones, by id. */
    tkms_status (*each)(void *store, bool history, banlist_row_fn fn, void *arg,
                        tkms_err *err);
    /* The evidence of one ban: malloc'ed, NUL after the bytes. */
    tkms_status (*evidence)(void *store, int64_t id, bool *found, char **out, size_t *len,
                            tkms_err *err);
} banlist_ops;

/* Opens the storage: sets *ops and *store (tables are created by the
 * caller, through ops). On failure nothing is left to close. */
tkms_status banlist_sqlite_open(const banlist_ops **ops, void **store, const char *path,
                                tkms_err *err);
tkms_status banlist_pg_open(const banlist_ops **ops, void **store, const char *url,
                            tkms_err *err);

#endif /* TKMS_BANLIST_INTERNAL_H */
