/*
 * keyring.c — the server's share keystores on disk (D/keys/0x<key>/), read
 * into the signer at start and after every change. Contract in keyring.h.
 */
#include "keyring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/secmem.h"

#define PATH_SIZE 4096
#define KEY_DIR_NAME_SIZE TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)

void keyring_key_dir(char *out, size_t size, const char *data_dir,
                     const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    char hex[KEY_DIR_NAME_SIZE];
    tkms_hex_encode(hex, group_key, TKMS_PUBLIC_KEY_SIZE);
    snprintf(out, size, "%s/%s/%s", data_dir, KEYRING_DIR, hex);
}

/* True for "share-<1..TKMS_MAX_SHARES>.json"; the index in *index. */
static bool share_file_name(const char *name, uint32_t *index)
{
    unsigned long value;
    char tail[8];
    if (sscanf(name, "share-%lu%7s", &value, tail) != 2 || strcmp(tail, ".json") != 0)
        return false;
    char canonical[64];
    snprintf(canonical, sizeof canonical, "share-%lu.json", value);
    if (strcmp(canonical, name) != 0 || value == 0 || value > TKMS_MAX_SHARES)
        return false;
    *index = (uint32_t)value;
    return true;
}

/* True for a key directory name "0x<96 lower-case hex>" (the key in *key). */
static bool key_dir_name(const char *name, uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    char canonical[KEY_DIR_NAME_SIZE];
    if (strlen(name) != KEY_DIR_NAME_SIZE - 1 || tkms_hex_decode(key, TKMS_PUBLIC_KEY_SIZE,
                                                                 name, NULL) != TKMS_OK)
        return false;
    tkms_hex_encode(canonical, key, TKMS_PUBLIC_KEY_SIZE);
    return strcmp(canonical, name) == 0;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads and parses one share keystore; it must be a share of group_key. */
static tkms_status read_share_keystore(const char *path, const char *name,
                                       const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                       uint32_t index, tkms_keystore **out, tkms_err *err)
{
    char *json = NULL;
    size_t len = 0;
    tkms_err e;
    tkms_status st = tkms_file_read(path, TKMS_KEYSTORE_MAX_SIZE, &json, &len, &e);
    if (st == TKMS_OK)
        st = tkms_keystore_parse(out, json, len, &e);
    free(json);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s", name, e.message);
    const tkms_share_info *info = tkms_keystore_share_info(*out);
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    if (info != NULL)
        tkms_public_key_to_bytes(bytes, &info->group_key);
    if (info == NULL || memcmp(bytes, group_key, sizeof bytes) != 0 || info->index != index) {
        tkms_keystore_free(*out);
        *out = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: not share %u of the key its directory names", name, index);
    }
    return TKMS_OK;
}

/* Decrypts the keystore's share and adds it to the signer. */
static tkms_status add_keystore_share(const tkms_keystore *ks, const char *name,
                                      const char *password, tkms_signer *signer, tkms_err *err)
{
    const tkms_share_info *info = tkms_keystore_share_info(ks);
    tkms_share share = {.index = info->index};
    tkms_err e;
    tkms_status st = tkms_keystore_decrypt(ks, password, &share.key, &e);
    if (st == TKMS_OK)
        st = tkms_signer_add_share(signer, info, &share, &e);
    tkms_share_wipe(&share);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s", name,
                         st == TKMS_ERR_BAD_PASSWORD ? "wrong password" : e.message);
    return TKMS_OK;
}

/* The sorted share indices in the key directory (at most
 * KEYRING_MAX_SHARES_PER_KEY); -1 when it cannot be read. */
static int list_share_files(const char *dir, uint32_t *indices, size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *entry;
    uint32_t index;
    while ((entry = readdir(d)) != NULL) {
        if (!share_file_name(entry->d_name, &index))
            continue;
        if (*count == KEYRING_MAX_SHARES_PER_KEY) {
            closedir(d);
            return -2;
        }
        size_t at = (*count)++;
        while (at > 0 && indices[at - 1] > index) {
            indices[at] = indices[at - 1];
            at--;
        }
        indices[at] = index;
    }
    closedir(d);
    return 0;
}

tkms_status keyring_load_key(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                             const char *password, tkms_signer *signer, tkms_err *err)
{
    char dir[PATH_SIZE], path[PATH_SIZE + 64];
    keyring_key_dir(dir, sizeof dir, data_dir, group_key);
    tkms_signer_remove_key(signer, group_key);

    uint32_t indices[KEYRING_MAX_SHARES_PER_KEY];
    size_t count;
    int listed = list_share_files(dir, indices, &count);
    if (listed == -1 && errno == ENOENT) {
        tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_READY, NULL);
        return TKMS_OK;
    }
    tkms_err e;
    tkms_status st = TKMS_OK;
    if (listed == -1)
        st = tkms_fail(&e, TKMS_ERR_IO, "cannot read its directory: %s", strerror(errno));
    else if (listed == -2)
        st = tkms_fail(&e, TKMS_ERR_BAD_FORMAT, "more than %u share files",
                       KEYRING_MAX_SHARES_PER_KEY);
    else if (count == 0)
        st = tkms_fail(&e, TKMS_ERR_NOT_FOUND, "no share keystore in its directory");
    for (size_t i = 0; st == TKMS_OK && i < count; i++) {
        char name[40];
        snprintf(name, sizeof name, "share-%u.json", indices[i]);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        tkms_keystore *ks = NULL;
        st = read_share_keystore(path, name, group_key, indices[i], &ks, &e);
        if (st == TKMS_OK)
            st = add_keystore_share(ks, name, password, signer, &e);
        tkms_keystore_free(ks);
    }
    if (st != TKMS_OK) {
        tkms_signer_remove_key(signer, group_key);
        tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_UNAVAILABLE, e.message);
        return tkms_fail(err, st, "%s", e.message);
    }
    snprintf(path, sizeof path, "%s/%s", dir, KEYRING_LOCKED_FILE);
    tkms_signer_mark_key(signer, group_key,
                         path_exists(path) ? TKMS_SIGNER_KEY_LOCKED : TKMS_SIGNER_KEY_READY, NULL);
    return TKMS_OK;
}

static tkms_status make_dir(const char *path, tkms_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return tkms_fail(err, TKMS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return TKMS_OK;
}

tkms_status keyring_load_all(const char *data_dir, const char *password, tkms_signer *signer,
                             size_t *ready, size_t *failed, tkms_err *err)
{
    size_t ok = 0, bad = 0;
    char dir[PATH_SIZE];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, KEYRING_DIR);
    tkms_status st = make_dir(dir, err);
    DIR *d = st == TKMS_OK ? opendir(dir) : NULL;
    if (st == TKMS_OK && d == NULL)
        st = tkms_fail(err, TKMS_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        if (!key_dir_name(entry->d_name, key))
            continue;
        if (keyring_load_key(data_dir, key, password, signer, NULL) == TKMS_OK)
            ok++;
        else
            bad++;
    }
    if (d != NULL)
        closedir(d);
    if (ready != NULL)
        *ready = ok;
    if (failed != NULL)
        *failed = bad;
    return st;
}

bool keyring_has_key(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    char dir[PATH_SIZE];
    keyring_key_dir(dir, sizeof dir, data_dir, group_key);
    return path_exists(dir);
}

tkms_status keyring_import(const char *data_dir, const char *json, size_t len,
                           const char *keystore_password, const char *password,
                           const tkms_kdf_params *params, tkms_signer *signer,
                           uint8_t group_key[TKMS_PUBLIC_KEY_SIZE], tkms_err *err)
{
    tkms_keystore *ks = NULL;
    tkms_status st = tkms_keystore_parse(&ks, json, len, err);
    if (st != TKMS_OK)
        return st;
    const tkms_share_info *info = tkms_keystore_share_info(ks);
    if (info == NULL) {
        tkms_keystore_free(ks);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "not a share keystore (no tkms object): a whole key is never imported "
                         "into a server");
    }
    tkms_public_key_to_bytes(group_key, &info->group_key);

    char dir[PATH_SIZE], path[PATH_SIZE + 64];
    keyring_key_dir(dir, sizeof dir, data_dir, group_key);
    snprintf(path, sizeof path, "%s/share-%u.json", dir, info->index);
    if (path_exists(path)) {
        uint32_t index = info->index;           /* info lives in ks */
        tkms_keystore_free(ks);
        return tkms_fail(err, TKMS_ERR_DUPLICATE_INDEX, "share %u of this key is held already",
                         index);
    }

    tkms_secret_key secret;
    char *encrypted = NULL;
    tkms_err e;
    st = tkms_keystore_decrypt(ks, keystore_password, &secret, &e);
    if (st == TKMS_ERR_BAD_PASSWORD)
        tkms_fail(&e, st, "wrong password for the keystore");
    if (st == TKMS_OK)
        st = tkms_keystore_encrypt(&encrypted, &secret, password, params, info, "",
                                   tkms_rng_system(), &e);
    tkms_secret_key_wipe(&secret);
    tkms_keystore_free(ks);
    if (st == TKMS_OK) {
        char keys_dir[PATH_SIZE];
        snprintf(keys_dir, sizeof keys_dir, "%s/%s", data_dir, KEYRING_DIR);
        st = make_dir(keys_dir, &e);
        if (st == TKMS_OK)
            st = make_dir(dir, &e);
        if (st == TKMS_OK) {
            tkms_file_sync_parent(dir);
            st = tkms_file_write_atomic(path, encrypted, strlen(encrypted), 0600, true, &e);
        }
    }
    free(encrypted);                          /* encrypted: no secret in it */
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s", e.message);
    return keyring_load_key(data_dir, group_key, password, signer, err);
}

tkms_status keyring_delete(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                           tkms_signer *signer, tkms_err *err)
{
    char dir[PATH_SIZE];
    keyring_key_dir(dir, sizeof dir, data_dir, group_key);
    if (!path_exists(dir))
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "no such key");
    tkms_signer_remove_key(signer, group_key);
    tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_READY, NULL);
    return tkms_file_remove_tree(dir, err);
}

tkms_status keyring_set_locked(const char *data_dir, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                               bool locked, const char *password, tkms_signer *signer,
                               tkms_err *err)
{
    char dir[PATH_SIZE], path[PATH_SIZE + 64];
    keyring_key_dir(dir, sizeof dir, data_dir, group_key);
    if (!path_exists(dir))
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "no such key");
    snprintf(path, sizeof path, "%s/%s", dir, KEYRING_LOCKED_FILE);
    if (locked) {
        static const char note[] = "locked by an operator\n";
        tkms_status st = path_exists(path) ? TKMS_OK
                                           : tkms_file_write_atomic(path, note, sizeof note - 1,
                                                                    0600, false, err);
        if (st != TKMS_OK)
            return st;
        return tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_LOCKED, NULL);
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return tkms_fail(err, TKMS_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    tkms_file_sync_parent(path);
    return keyring_load_key(data_dir, group_key, password, signer, err);
}

json_t *keyring_list(const char *data_dir, tkms_signer *signer)
{
    json_t *list = json_array();
    char dir[PATH_SIZE];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, KEYRING_DIR);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        if (list != NULL && key_dir_name(names[i]->d_name, key)) {
            char reason[TKMS_ERR_MESSAGE_SIZE], key_dir[PATH_SIZE], path[PATH_SIZE + 64];
            tkms_signer_key_state state = tkms_signer_key_state_of(signer, key, reason);
            uint32_t indices[KEYRING_MAX_SHARES_PER_KEY];
            size_t count = 0;
            uint32_t threshold = 0, share_count = 0;
            keyring_key_dir(key_dir, sizeof key_dir, data_dir, key);
            if (list_share_files(key_dir, indices, &count) != 0)
                count = 0;
            json_t *shares = json_array();
            for (size_t s = 0; s < count; s++) {
                json_array_append_new(shares, json_integer(indices[s]));
                tkms_keystore *ks = NULL;
                snprintf(path, sizeof path, "%s/share-%u.json", key_dir, indices[s]);
                if (threshold == 0 &&
                    read_share_keystore(path, "", key, indices[s], &ks, NULL) == TKMS_OK) {
                    threshold = tkms_keystore_share_info(ks)->threshold;
                    share_count = tkms_keystore_share_info(ks)->share_count;
                }
                tkms_keystore_free(ks);
            }
            static const char *const state_names[] = {"ready", "locked", "unavailable"};
            json_t *entry = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "pubkey",
                                      names[i]->d_name, "state", state_names[state], "reason",
                                      reason, "threshold", (json_int_t)threshold,
                                      "share_count", (json_int_t)share_count, "shares", shares);
            if (entry == NULL || json_array_append_new(list, entry) != 0) {
                json_decref(list);
                list = NULL;
            }
        }
        free(names[i]);
    }
    free(names);
    return list;
}
