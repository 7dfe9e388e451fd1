/*
 * key_registry.h — the validator keys a gateway serves, and who holds
 * their shares: for each key the public group file (group key, K, n,
 * share public keys, and the owners with their share indices) and the
 * validator client it is assigned to.
 *
 * Layout, under the gateway's data directory D:
 *   D/keys/0x<96 hex group key>/group.json   the group file; its owner ids
 *                                            are the names of threshold
 *                                            servers in the configuration
 *   D/keys/0x<…>/client                      the assigned client's name
 *                                            (absent: none; one line)
 *
 * A key whose group file lists an owner that is not a configured server
 * (or no owners at all) is loaded but *unavailable*, with the reason: it
 * cannot be signed for, and /healthcheck says why.
 *
 * Threads: the registry belongs to the gateway's event loop; the functions
 * that change it (add, remove, assign) are called there too.
 */
#ifndef TKMS_GATEWAY_KEY_REGISTRY_H
#define TKMS_GATEWAY_KEY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sign_session.h"
#include "tkms/bls.h"
#include "tkms/group_file.h"
#include "tkms/identity.h"
#include "tkms/status.h"

#define GATEWAY_CLIENT_NAME_MAX 255u
#define GATEWAY_REGISTRY_MAX_KEYS 100000u

/* A threshold server as the gateway's configuration names it. */
typedef struct {
    const char *name;                                   /* owner id in group files */
    const char *url;                                    /* https://host:port      */
    uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE];        /* Ed25519                */
} gateway_server_config;

/* One key the gateway serves. */
typedef struct {
    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    char hex[TKMS_PUBLIC_KEY_SIZE * 2 + 3];             /* 0x…, lower case        */
    tkms_group_file file;                               /* group and owners       */
    gateway_key key;                                    /* for sign sessions      */
    gateway_holder *servers;                            /* key.servers            */
    size_t *server_of;                                  /* [i] = config index of
                                                         * key.servers[i]         */
    uint32_t *indices;                                  /* 1..n; the servers'
                                                         * index lists point here */
    char client[GATEWAY_CLIENT_NAME_MAX + 1];           /* "" when unassigned     */
    bool available;
    char reason[TKMS_ERR_MESSAGE_SIZE];                 /* when not available     */
} gateway_key_entry;

typedef struct gateway_registry gateway_registry;

/*
 * Loads every key of D/keys (creating D/keys 0700 when absent) against
 * the `count` configured servers (borrowed: they must outlive the
 * registry). A malformed group file is skipped with its reason reported
 * through *skipped (a count, may be NULL) — the rest load.
 * Returns TKMS_OK, TKMS_ERR_IO (D/keys cannot be read or created) or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status gateway_registry_open(gateway_registry **out, const char *data_dir,
                                  const gateway_server_config *servers, size_t count,
                                  size_t *skipped, tkms_err *err);

void gateway_registry_free(gateway_registry *r);

/* Number of keys, and the i-th (sorted by key bytes) — for listing. */
size_t gateway_registry_count(const gateway_registry *r);
const gateway_key_entry *gateway_registry_at(const gateway_registry *r, size_t i);

/* The key, or NULL when the gateway does not serve it. */
const gateway_key_entry *gateway_registry_find(const gateway_registry *r,
                                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

/*
 * Adds a key from its group file text (`len` bytes): checks it, writes
 * D/keys/0x<key>/group.json durably (never over an existing key:
 * TKMS_ERR_DUPLICATE_INDEX) and loads it. `client` (may be NULL) assigns
 * it at once. Returns TKMS_OK or the reason.
 */
tkms_status gateway_registry_add(gateway_registry *r, const char *group_json, size_t len,
                                 const char *client, tkms_err *err);

/* Removes the key and its directory. TKMS_ERR_NOT_FOUND, TKMS_ERR_IO. */
tkms_status gateway_registry_remove(gateway_registry *r,
                                    const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                    tkms_err *err);

/* Assigns the key to `client` ("" unassigns), durably. TKMS_ERR_NOT_FOUND,
 * TKMS_ERR_INVALID_ARGUMENT (a name too long or with control characters),
 * TKMS_ERR_IO. */
tkms_status gateway_registry_assign(gateway_registry *r,
                                    const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                    const char *client, tkms_err *err);

/*
 * The two halves of gateway_registry_assign, for callers that keep file
 * writes off the event loop (migration.c):
 *   gateway_registry_write_client writes D/keys/0x<key>/client durably and
 *     touches no registry: any thread. It does not check that the key is
 *     served (its directory must exist: TKMS_ERR_IO otherwise).
 *   gateway_registry_set_client then changes the registry in memory only:
 *     the loop thread.
 * Same errors as gateway_registry_assign.
 */
tkms_status gateway_registry_write_client(const char *data_dir,
                                          const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                          const char *client, tkms_err *err);
tkms_status gateway_registry_set_client(gateway_registry *r,
                                        const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                        const char *client, tkms_err *err);

#endif /* TKMS_GATEWAY_KEY_REGISTRY_H */
