/*
 * keyring.h — the threshold server's key store on disk, and loading it
 * into the signer.
 *
 * Layout, under the data directory D (shared with ceremony_host.c):
 *   D/keys/0x<96 hex group key>/share-<index>.json   share keystores
 *       (EIP-2335 + the tkms share object), encrypted with the data
 *       directory's password; files 0600, directories 0700
 *   D/keys/0x<…>/locked                              present: an operator
 *       locked the key (it survives restarts)
 *   D/keys/0x<…>/group.json                          optional public group
 *       file (a ceremony writes it)
 *
 * Loading never stops at a bad keystore: a key whose keystore is corrupt,
 * has the wrong password or does not fit the others is marked unavailable
 * in the signer with the file named, none of its shares are used, and
 * every other key serves.
 *
 * Functions are not thread-safe with each other; the server calls them
 * under its admin lock. The signer they update is thread-safe.
 */
#ifndef TKMS_SERVER_KEYRING_H
#define TKMS_SERVER_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "signer.h"
#include "tkms/keystore.h"

#define KEYRING_DIR "keys"
#define KEYRING_LOCKED_FILE "locked"
#define KEYRING_MAX_SHARES_PER_KEY 64u      /* one server's shares of a key */
#define KEYRING_MAX_KEYS 100000u

/*
 * Loads (or reloads) one key: drops its shares from the signer, reads and
 * decrypts every share-*.json of its directory with `password`, and adds
 * them; marks the key locked, unavailable (with the reason) or ready.
 * A key whose directory is gone ends with no shares and no mark.
 * Returns TKMS_OK when the key is ready or locked (or gone),
 * otherwise the status of the first failure, whose reason is also the
 * mark's.
 */
tkms_status keyring_load_key(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                             const char *password, tkms_signer *signer, tkms_err *err);

/*
 * Creates D/keys if needed and loads every key in it (keyring_load_key).
 * *ready and *failed (may be NULL) count keys that serve and keys marked
 * unavailable. Returns TKMS_OK unless D/keys cannot be read or created
 * (TKMS_ERR_IO); an entry that is not a key directory is ignored.
 */
tkms_status keyring_load_all(const char *data_dir, const char *password, tkms_signer *signer,
                             size_t *ready, size_t *failed, tkms_err *err);

/*
 * Imports one share keystore (`json`, `len` bytes) encrypted with
 * `keystore_password`: parses it (it must be a share keystore), decrypts
 * it, re-encrypts the share with `password` and `params`, writes it as
 * D/keys/0x<key>/share-<i>.json (durably, never overwriting) and reloads
 * the key. *group_key receives the key.
 * Returns TKMS_OK; TKMS_ERR_BAD_FORMAT / TKMS_ERR_UNSUPPORTED (not a
 * share keystore, malformed), TKMS_ERR_BAD_PASSWORD,
 * TKMS_ERR_DUPLICATE_INDEX (that share is held already), TKMS_ERR_IO.
 */
tkms_status keyring_import(const char *data_dir, const char *json, size_t len,
                           const char *keystore_password, const char *password,
                           const tkms_kdf_params *params, tkms_signer *signer,
                           uint8_t group_key[TKMS_PUBLIC_KEY_SIZE], tkms_err *err);

/* True when D/keys/0x<key> exists. */
bool keyring_has_key(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

/*
 * Removes the key's directory and everything in it (shares are wiped
 * from the signer with tkms_signer_remove_key first, and its mark
 * cleared). Returns TKMS_OK, TKMS_ERR_NOT_FOUND or TKMS_ERR_IO.
 */
tkms_status keyring_delete(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                           tkms_signer *signer, tkms_err *err);

/* Creates or removes the key's `locked` file (durably) and marks the key
 * in the signer (unlocking reloads it). TKMS_ERR_NOT_FOUND for an unknown
 * key, TKMS_ERR_IO. */
tkms_status keyring_set_locked(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                               bool locked, const char *password, tkms_signer *signer,
                               tkms_err *err);

/*
 * A JSON array describing every key directory, sorted by key:
 *   {"pubkey":"0x…","state":"ready"|"locked"|"unavailable","reason":"…",
 *    "threshold":K,"share_count":n,"shares":[indices held]}
 * (threshold and share_count 0 when no keystore could be read). NULL when
 * out of memory. Reads keystore metadata only (no decryption).
 */
json_t *keyring_list(const char *data_dir, tkms_signer *signer);

/* The key directory's path: D/keys/0x<hex>. */
void keyring_key_dir(char *out, size_t size, const char *data_dir,
                     const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

#endif /* TKMS_SERVER_KEYRING_H */
