/*
 * key_registry.c — the keys a gateway serves, read from D/keys/0x<key>/
 * (group file, assigned client) and matched with the configured servers.
 * Contract in key_registry.h.
 */
#include "key_registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tkms/file.h"
#include "tkms/hex.h"

#define KEYS_DIR "keys"
#define GROUP_FILE "group.json"
#define CLIENT_FILE "client"
#define PATH_SIZE 4096

struct gateway_registry {
    char *data_dir;
    const gateway_server_config *servers;
    size_t server_count;
    gateway_key_entry **keys;        /* sorted by group key bytes */
    size_t count, capacity;
};

static void entry_free(gateway_key_entry *e)
{
    if (e == NULL)
        return;
    free(e->indices);
    free(e->servers);
    free(e->server_of);
    tkms_group_file_clear(&e->file);
    free(e);
}

static void key_dir(char *out, size_t size, const char *data_dir,
                    const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    snprintf(out, size, "%s/%s/%s", data_dir, KEYS_DIR, hex);
}

/* Matches the group's owners with the configured servers: every owner
 * holding shares must be a server; fills e->key. False with e->reason. */
static bool match_servers(gateway_key_entry *e, const gateway_registry *r)
{
    const tkms_owner_map *owners = e->file.owners;
    if (owners == NULL) {
        snprintf(e->reason, sizeof e->reason,
                 "its group file names no owners, so no server is known to hold its shares");
        return false;
    }
    uint32_t *indices = e->indices = calloc(owners->total ? owners->total : 1, sizeof *indices);
    e->servers = calloc(owners->count, sizeof *e->servers);
    e->server_of = calloc(owners->count, sizeof *e->server_of);
    if (indices == NULL || e->servers == NULL || e->server_of == NULL) {
        snprintf(e->reason, sizeof e->reason, "out of memory");
        return false;
    }
    for (uint32_t i = 0; i < owners->total; i++)
        indices[i] = i + 1;
    size_t used = 0;
    for (size_t o = 0; o < owners->count; o++) {
        const tkms_owner *owner = &owners->owners[o];
        if (owner->share_count == 0)
            continue;
        size_t s = 0;
        while (s < r->server_count && strcmp(r->servers[s].name, owner->id) != 0)
            s++;
        if (s == r->server_count) {
            snprintf(e->reason, sizeof e->reason,
                     "owner %s holds shares %u..%u but no configured server is named %s",
                     owner->id, owner->first_index, owner->first_index + owner->share_count - 1,
                     owner->id);
            return false;
        }
        gateway_holder *g = &e->servers[used];
        g->name = r->servers[s].name;
        memcpy(g->identity, r->servers[s].identity, sizeof g->identity);
        g->indices = indices + (owner->first_index - 1);
        g->index_count = owner->share_count;
        e->server_of[used++] = s;
    }
    e->key.group = e->file.group;
    e->key.servers = e->servers;
    e->key.server_count = used;
    return true;
}

/* Reads D/keys/<name>: its group file (which must be of that key) and its
 * client. NULL with *why when it cannot be loaded at all. */
static gateway_key_entry *load_entry(const gateway_registry *r,
                                     const uint8_t key[TKMS_PUBLIC_KEY_SIZE], tkms_err *why)
{
    char dir[PATH_SIZE], path[PATH_SIZE + 32];
    key_dir(dir, sizeof dir, r->data_dir, key);
    snprintf(path, sizeof path, "%s/%s", dir, GROUP_FILE);
    char *json = NULL;
    size_t len = 0;
    gateway_key_entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        tkms_fail(why, TKMS_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    memcpy(e->group_key, key, TKMS_PUBLIC_KEY_SIZE);
    tkms_hex_encode(e->hex, key, TKMS_PUBLIC_KEY_SIZE);
    tkms_status st = tkms_file_read(path, TKMS_GROUP_FILE_MAX_SIZE, &json, &len, why);
    if (st == TKMS_OK)
        st = tkms_group_file_parse(&e->file, json, len, why);
    free(json);
    uint8_t actual[TKMS_PUBLIC_KEY_SIZE];
    if (st == TKMS_OK) {
        tkms_public_key_to_bytes(actual, &e->file.group->group_key);
        if (memcmp(actual, key, sizeof actual) != 0)
            st = tkms_fail(why, TKMS_ERR_BAD_FORMAT, "%s: the group file is of another key",
                           path);
    }
    if (st != TKMS_OK) {
        entry_free(e);
        return NULL;
    }
    e->available = match_servers(e, r);
    snprintf(path, sizeof path, "%s/%s", dir, CLIENT_FILE);
    char *client = NULL;
    if (tkms_file_read(path, GATEWAY_CLIENT_NAME_MAX + 2, &client, &len, NULL) == TKMS_OK) {
        client[strcspn(client, "\n")] = '\0';
        snprintf(e->client, sizeof e->client, "%s", client);
    }
    free(client);
    return e;
}

static size_t position(const gateway_registry *r, const uint8_t key[TKMS_PUBLIC_KEY_SIZE],
                       bool *found)
{
    size_t lo = 0, hi = r->count;
    *found = false;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(r->keys[mid]->group_key, key, TKMS_PUBLIC_KEY_SIZE);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Puts e into the table (replacing an entry of the same key). */
static tkms_status insert(gateway_registry *r, gateway_key_entry *e, tkms_err *err)
{
    bool found;
    size_t at = position(r, e->group_key, &found);
    if (found) {
        entry_free(r->keys[at]);
        r->keys[at] = e;
        return TKMS_OK;
    }
    if (r->count == GATEWAY_REGISTRY_MAX_KEYS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "more than %u keys",
                         GATEWAY_REGISTRY_MAX_KEYS);
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? 2 * r->capacity : 16;
        gateway_key_entry **grown = realloc(r->keys, capacity * sizeof *grown);
        if (grown == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
        r->keys = grown;
        r->capacity = capacity;
    }
    memmove(&r->keys[at + 1], &r->keys[at], (r->count - at) * sizeof *r->keys);
    r->keys[at] = e;
    r->count++;
    return TKMS_OK;
}

static bool key_dir_name(const char *name, uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    char canonical[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    if (strlen(name) != sizeof canonical - 1 ||
        tkms_hex_decode(key, TKMS_PUBLIC_KEY_SIZE, name, NULL) != TKMS_OK)
        return false;
    tkms_hex_encode(canonical, key, TKMS_PUBLIC_KEY_SIZE);
    return strcmp(canonical, name) == 0;
}

tkms_status gateway_registry_open(gateway_registry **out, const char *data_dir,
                                  const gateway_server_config *servers, size_t count,
                                  size_t *skipped, tkms_err *err)
{
    *out = NULL;
    if (skipped != NULL)
        *skipped = 0;
    gateway_registry *r = calloc(1, sizeof *r);
    if (r == NULL || (r->data_dir = strdup(data_dir)) == NULL) {
        free(r);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    r->servers = servers;
    r->server_count = count;
    char dir[PATH_SIZE];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, KEYS_DIR);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        gateway_registry_free(r);
        return tkms_fail(err, TKMS_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        gateway_registry_free(r);
        return tkms_fail(err, TKMS_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    tkms_status st = TKMS_OK;
    while (st == TKMS_OK && (de = readdir(d)) != NULL) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        if (!key_dir_name(de->d_name, key))
            continue;
        tkms_err why;
        gateway_key_entry *e = load_entry(r, key, &why);
        if (e == NULL) {
            if (why.status == TKMS_ERR_NO_MEMORY)
                st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
            else if (skipped != NULL)
                (*skipped)++;
            continue;
        }
        st = insert(r, e, err);
        if (st != TKMS_OK)
            entry_free(e);
    }
    closedir(d);
    if (st != TKMS_OK) {
        gateway_registry_free(r);
        return st;
    }
    *out = r;
    return TKMS_OK;
}

void gateway_registry_free(gateway_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++)
        entry_free(r->keys[i]);
    free(r->keys);
    free(r->data_dir);
    free(r);
}

size_t gateway_registry_count(const gateway_registry *r)
{
    return r != NULL ? r->count : 0;
}

const gateway_key_entry *gateway_registry_at(const gateway_registry *r, size_t i)
{
    return r != NULL && i < r->count ? r->keys[i] : NULL;
}

const gateway_key_entry *gateway_registry_find(const gateway_registry *r,
                                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    if (r == NULL || group_key == NULL)
        return NULL;
    bool found;
    size_t at = position(r, group_key, &found);
    return found ? r->keys[at] : NULL;
}

static bool client_name_ok(const char *client)
{
    size_t len = strlen(client);
    if (len > GATEWAY_CLIENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)client[i] < 0x20 || client[i] == 0x7f)
            return false;
    return true;
}

static tkms_status write_client(const char *dir, const char *client, tkms_err *err)
{
    char path[PATH_SIZE + 32], line[GATEWAY_CLIENT_NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", dir, CLIENT_FILE);
    int n = snprintf(line, sizeof line, "%s\n", client);
    return tkms_file_write_atomic(path, line, (size_t)n, 0600, false, err);
}

tkms_status gateway_registry_add(gateway_registry *r, const char *group_json, size_t len,
                                 const char *client, tkms_err *err)
{
    if (client != NULL && !client_name_ok(client))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "client name too long or not printable");
    tkms_group_file file;
    tkms_status st = tkms_group_file_parse(&file, group_json, len, err);
    if (st != TKMS_OK)
        return st;
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(key, &file.group->group_key);
    tkms_group_file_clear(&file);
    if (gateway_registry_find(r, key) != NULL)
        return tkms_fail(err, TKMS_ERR_DUPLICATE_INDEX, "the gateway serves this key already");
    char dir[PATH_SIZE], path[PATH_SIZE + 32];
    key_dir(dir, sizeof dir, r->data_dir, key);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tkms_fail(err, TKMS_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    tkms_file_sync_parent(dir);
    snprintf(path, sizeof path, "%s/%s", dir, GROUP_FILE);
    st = tkms_file_write_atomic(path, group_json, len, 0644, true, err);
    if (st == TKMS_OK && client != NULL && client[0] != '\0')
        st = write_client(dir, client, err);
    if (st != TKMS_OK)
        return st;
    tkms_err why;
    gateway_key_entry *e = load_entry(r, key, &why);
    if (e == NULL)
        return tkms_fail(err, why.status, "%s", why.message);
    st = insert(r, e, err);
    if (st != TKMS_OK)
        entry_free(e);
    return st;
}

tkms_status gateway_registry_remove(gateway_registry *r,
                                    const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE], tkms_err *err)
{
    bool found;
    size_t at = position(r, group_key, &found);
    if (!found)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "the gateway does not serve this key");
    char dir[PATH_SIZE];
    key_dir(dir, sizeof dir, r->data_dir, group_key);
    tkms_status st = tkms_file_remove_tree(dir, err);
    if (st != TKMS_OK)
        return st;
    entry_free(r->keys[at]);
    memmove(&r->keys[at], &r->keys[at + 1], (r->count - at - 1) * sizeof *r->keys);
    r->count--;
    return TKMS_OK;
}

tkms_status gateway_registry_write_client(const char *data_dir,
                                          const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                          const char *client, tkms_err *err)
{
    if (client == NULL || !client_name_ok(client))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "client name too long or not printable");
    char dir[PATH_SIZE];
    key_dir(dir, sizeof dir, data_dir, group_key);
    return write_client(dir, client, err);
}

tkms_status gateway_registry_set_client(gateway_registry *r,
                                        const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                        const char *client, tkms_err *err)
{
    bool found;
    size_t at = position(r, group_key, &found);
    if (!found)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "the gateway does not serve this key");
    if (client == NULL || !client_name_ok(client))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "client name too long or not printable");
    snprintf(r->keys[at]->client, sizeof r->keys[at]->client, "%s", client);
    return TKMS_OK;
}

tkms_status gateway_registry_assign(gateway_registry *r,
                                    const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                    const char *client, tkms_err *err)
{
    if (gateway_registry_find(r, group_key) == NULL)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "the gateway does not serve this key");
    tkms_status st = gateway_registry_write_client(r->data_dir, group_key, client, err);
    if (st == TKMS_OK)
        st = gateway_registry_set_client(r, group_key, client, err);
    return st;
}
