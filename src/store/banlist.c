/*
 * banlist.c — the gateway's ban list (tkms/banlist.h): argument checks,
 * the rule "one active ban per (server, key)", the in-memory copy of the
 * active bans that answers tkms_banlist_is_banned (sorted, searched in
 * O(log n), read again from the database when older than the refresh
 * interval), the JSON listing, and the mutex that makes a handle
 * thread-safe. The rows live in SQLite (banlist_sqlite.c) or PostgreSQL
 * (banlist_pg.c).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "banlist_internal.h"
#include "store_pg.h"
#include "tkms/hex.h"

static const char what[] = "ban list";

/* An active ban as the in-memory copy keeps it. */
typedef struct {
    char server[TKMS_BANLIST_NAME_MAX + 1];
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];     /* zero: every key */
} ban_entry;

typedef struct {
    ban_entry *items;
    size_t count, cap;
} ban_set;

struct tkms_banlist {
    pthread_mutex_t lock;
    const banlist_ops *ops;
    void *store;
    unsigned refresh_ms;
    bool loaded;                  /* `active` reflects the database as of loaded_at */
    uint64_t loaded_at;           /* monotonic milliseconds */
    ban_set active;               /* sorted by (server, key) */
};

static const uint8_t every_key[TKMS_PUBLIC_KEY_SIZE];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The key a ban is stored under: the key itself, or zero for every key. */
static const uint8_t *stored_key(const uint8_t *key)
{
    return key != NULL ? key : every_key;
}

static bool is_every_key(const uint8_t *key)
{
    return key == NULL || memcmp(key, every_key, TKMS_PUBLIC_KEY_SIZE) == 0;
}

/* 1..max bytes in [low, 0x7e]. */
static tkms_status check_text(const char *text, size_t max, unsigned char low, const char *name,
                              tkms_err *err)
{
    if (text == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no %s", what, name);
    size_t n = strnlen(text, max + 1);
    if (n == 0 || n > max)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: %s must be 1 to %zu bytes", what,
                         name, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < low || (unsigned char)text[i] > 0x7e)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                             "%s: %s must be printable ASCII%s", what, name,
                             low > 0x20 ? " without spaces" : "");
    return TKMS_OK;
}

static tkms_status check_name(const char *name, const char *field, tkms_err *err)
{
    return check_text(name, TKMS_BANLIST_NAME_MAX, 0x21, field, err);
}

/* ---- the in-memory copy ------------------------------------------------------- */

static int entry_cmp(const char *server, const uint8_t *key, const ban_entry *e)
{
    int c = strcmp(server, e->server);
    return c != 0 ? c : memcmp(key, e->key, TKMS_PUBLIC_KEY_SIZE);
}

static int entry_qsort_cmp(const void *a, const void *b)
{
    const ban_entry *x = a;
    return entry_cmp(x->server, x->key, b);
}

/* The first index whose entry is not below (server, key); key NULL
 * compares below every key of the server. */
static size_t lower_bound(const ban_set *set, const char *server, const uint8_t *key)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ban_entry *e = &set->items[mid];
        int c = strcmp(server, e->server);
        if (c == 0 && key != NULL)
            c = memcmp(key, e->key, TKMS_PUBLIC_KEY_SIZE);
        else if (c == 0)
            c = -1;
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool set_has(const ban_set *set, const char *server, const uint8_t *key)
{
    size_t i = lower_bound(set, server, key);
    if (i >= set->count)
        return false;
    if (key == NULL)
        return strcmp(set->items[i].server, server) == 0;
    return entry_cmp(server, key, &set->items[i]) == 0;
}

static bool set_push(ban_set *set, const char *server, const uint8_t *key)
{
    if (set->count == set->cap) {
        size_t cap = set->cap != 0 ? set->cap * 2 : 16;
        ban_entry *items = realloc(set->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        set->items = items;
        set->cap = cap;
    }
    ban_entry *e = &set->items[set->count++];
    snprintf(e->server, sizeof e->server, "%s", server);
    memcpy(e->key, key, TKMS_PUBLIC_KEY_SIZE);
    return true;
}

static tkms_status collect_active(void *arg, const banlist_row *row, tkms_err *err)
{
    if (!set_push(arg, row->server, row->key))
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    return TKMS_OK;
}

/* Reads the active bans again; on failure the old copy stays. */
static tkms_status reload(tkms_banlist *bl, tkms_err *err)
{
    ban_set fresh = {0};
    tkms_status status = bl->ops->each(bl->store, false, collect_active, &fresh, err);
    if (status != TKMS_OK) {
        free(fresh.items);
        return status;
    }
    if (fresh.count > 1)
        qsort(fresh.items, fresh.count, sizeof *fresh.items, entry_qsort_cmp);
    free(bl->active.items);
    bl->active = fresh;
    bl->loaded = true;
    bl->loaded_at = now_ms();
    return TKMS_OK;
}

/* After this handle's own ban: the copy has it at once. */
static void remember_ban(tkms_banlist *bl, const char *server, const uint8_t *key)
{
    if (!bl->loaded || set_has(&bl->active, server, key))
        return;
    if (!set_push(&bl->active, server, key)) {
        bl->loaded = false;   /* out of memory: read it all on the next check */
        return;
    }
    qsort(bl->active.items, bl->active.count, sizeof *bl->active.items, entry_qsort_cmp);
}

/* After this handle's own unban: drops (server, key), or every ban of the
 * server when key is NULL. */
static void forget_ban(tkms_banlist *bl, const char *server, const uint8_t *key)
{
    size_t out = 0;
    for (size_t i = 0; i < bl->active.count; i++) {
        const ban_entry *e = &bl->active.items[i];
        bool match = strcmp(e->server, server) == 0 &&
                     (key == NULL || memcmp(e->key, key, TKMS_PUBLIC_KEY_SIZE) == 0);
        if (!match)
            bl->active.items[out++] = *e;
    }
    bl->active.count = out;
}

/* ---- opening -------------------------------------------------------------------- */

static tkms_status create_tables(tkms_banlist *bl, tkms_err *err)
{
    tkms_status status = bl->ops->begin(bl->store, "create the tables", err);
    if (status != TKMS_OK)
        return status;
    bool present = false;
    int64_t version = 0;
    status = bl->ops->create_schema(bl->store, &present, &version, err);
    if (status == TKMS_OK && !present)
        status = bl->ops->write_version(bl->store, TKMS_BANLIST_SCHEMA_VERSION, err);
    else if (status == TKMS_OK && version != TKMS_BANLIST_SCHEMA_VERSION)
        status = tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                           "%s: schema version %" PRId64 " is not supported (this is %d)", what,
                           version, TKMS_BANLIST_SCHEMA_VERSION);
    if (status != TKMS_OK) {
        bl->ops->rollback(bl->store);
        return status;
    }
    return bl->ops->commit(bl->store, "create the tables", err);
}

tkms_status tkms_banlist_open(tkms_banlist **out, const char *location, tkms_err *err)
{
    *out = NULL;
    if (location == NULL || location[0] == '\0')
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no database location", what);
    tkms_banlist *bl = calloc(1, sizeof *bl);
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    if (pthread_mutex_init(&bl->lock, NULL) != 0) {
        free(bl);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: cannot create a mutex", what);
    }
    bl->refresh_ms = TKMS_BANLIST_REFRESH_MS;
    tkms_status status = store_is_postgres_url(location)
                             ? banlist_pg_open(&bl->ops, &bl->store, location, err)
                             : banlist_sqlite_open(&bl->ops, &bl->store, location, err);
    if (status == TKMS_OK)
        status = create_tables(bl, err);
    if (status != TKMS_OK) {
        char where[STORE_PG_LOCATION_SIZE];
        store_redact_location(where, sizeof where, location);
        if (status == TKMS_ERR_IO && err != NULL && strstr(err->message, where) == NULL) {
            char message[TKMS_ERR_MESSAGE_SIZE];
            memcpy(message, err->message, sizeof message);
            tkms_fail(err, status, "%s (database %s)", message, where);
        }
        tkms_banlist_close(bl);
        return status;
    }
    *out = bl;
    return TKMS_OK;
}

void tkms_banlist_close(tkms_banlist *bl)
{
    if (bl == NULL)
        return;
    if (bl->ops != NULL)
        bl->ops->close(bl->store);
    free(bl->active.items);
    pthread_mutex_destroy(&bl->lock);
    free(bl);
}

void tkms_banlist_set_refresh_ms(tkms_banlist *bl, unsigned ms)
{
    pthread_mutex_lock(&bl->lock);
    bl->refresh_ms = ms;
    pthread_mutex_unlock(&bl->lock);
}

tkms_status tkms_banlist_refresh(tkms_banlist *bl, tkms_err *err)
{
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    pthread_mutex_lock(&bl->lock);
    tkms_status status = reload(bl, err);
    pthread_mutex_unlock(&bl->lock);
    return status;
}

/* ---- ban, check, unban ---------------------------------------------------------------- */

tkms_status tkms_banlist_ban(tkms_banlist *bl, const char *server,
                             const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *reason,
                             const void *evidence, size_t len, int64_t time, int64_t *ban_id,
                             bool *created, tkms_err *err)
{
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    tkms_status status;
    if ((status = check_name(server, "server name", err)) != TKMS_OK ||
        (status = check_text(reason, TKMS_BANLIST_REASON_MAX, 0x20, "reason", err)) != TKMS_OK)
        return status;
    if (len > TKMS_BANLIST_EVIDENCE_MAX)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "%s: evidence is larger than %u bytes", what, TKMS_BANLIST_EVIDENCE_MAX);
    if (evidence == NULL && len > 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no evidence bytes", what);
    if (time < 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: time must not be negative", what);
    const uint8_t *k = stored_key(key);
    banlist_row row = {.server = server, .key = k, .reason = reason, .since = time,
                       .evidence_size = (int64_t)len};
    int64_t id = 0;
    bool found = false;

    pthread_mutex_lock(&bl->lock);
    status = bl->ops->begin(bl->store, "record the ban", err);
    if (status == TKMS_OK) {
        status = bl->ops->find_active(bl->store, server, k, &found, &id, err);
        if (status == TKMS_OK && !found)
            status = bl->ops->insert(bl->store, &row, evidence != NULL ? evidence : "", len, &id,
                                     err);
        if (status == TKMS_OK)
            status = bl->ops->commit(bl->store, "record the ban", err);
        else
            bl->ops->rollback(bl->store);
    }
    if (status == TKMS_OK)
        remember_ban(bl, server, k);
    pthread_mutex_unlock(&bl->lock);
    if (status == TKMS_OK) {
        if (ban_id != NULL)
            *ban_id = id;
        if (created != NULL)
            *created = !found;
    }
    return status;
}

tkms_status tkms_banlist_is_banned(tkms_banlist *bl, const char *server,
                                   const uint8_t key[TKMS_PUBLIC_KEY_SIZE], bool *banned,
                                   tkms_err *err)
{
    *banned = false;
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    tkms_status status = check_name(server, "server name", err);
    if (status != TKMS_OK)
        return status;
    pthread_mutex_lock(&bl->lock);
    if (!bl->loaded || now_ms() - bl->loaded_at >= bl->refresh_ms)
        status = reload(bl, err);
    if (is_every_key(key))
        *banned = set_has(&bl->active, server, NULL);
    else
        *banned = set_has(&bl->active, server, key) || set_has(&bl->active, server, every_key);
    pthread_mutex_unlock(&bl->lock);
    return status;
}

tkms_status tkms_banlist_unban(tkms_banlist *bl, const char *server,
                               const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *by,
                               int64_t time, size_t *count, tkms_err *err)
{
    if (count != NULL)
        *count = 0;
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    tkms_status status;
    if ((status = check_name(server, "server name", err)) != TKMS_OK ||
        (status = check_name(by, "unbanned by", err)) != TKMS_OK)
        return status;
    if (time < 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: time must not be negative", what);
    const uint8_t *k = is_every_key(key) ? NULL : key;
    int64_t lifted = 0;

    pthread_mutex_lock(&bl->lock);
    status = bl->ops->begin(bl->store, "lift the ban", err);
    if (status == TKMS_OK) {
        status = bl->ops->lift(bl->store, server, k, by, time, &lifted, err);
        if (status == TKMS_OK && lifted > 0)
            status = bl->ops->commit(bl->store, "lift the ban", err);
        else
            bl->ops->rollback(bl->store);
    }
    if (status == TKMS_OK)
        forget_ban(bl, server, k);
    pthread_mutex_unlock(&bl->lock);
    if (status != TKMS_OK)
        return status;
    if (lifted == 0)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "%s: %s has no active ban%s", what, server,
                         k != NULL ? " for that key" : "");
    if (count != NULL)
        *count = (size_t)lifted;
    return TKMS_OK;
}

/* ---- listing and evidence ------------------------------------------------------------- */

static bool put(json_t *object, const char *name, json_t *value)
{
    return value != NULL && json_object_set_new(object, name, value) == 0;
}

static tkms_status list_row(void *arg, const banlist_row *row, tkms_err *err)
{
    json_t *array = arg, *entry = json_object();
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, row->key, TKMS_PUBLIC_KEY_SIZE);
    bool ok = entry != NULL && put(entry, "id", json_integer(row->id)) &&
              put(entry, "server", json_string(row->server)) &&
              put(entry, "key", is_every_key(row->key) ? json_null() : json_string(hex)) &&
              put(entry, "reason", json_string(row->reason)) &&
              put(entry, "since", json_integer(row->since)) &&
              put(entry, "evidence_size", json_integer(row->evidence_size)) &&
              put(entry, "unbanned_at", row->lifted ? json_integer(row->unbanned_at) : json_null()) &&
              put(entry, "unbanned_by", row->lifted && row->unbanned_by != NULL
                                            ? json_string(row->unbanned_by) : json_null()) &&
              json_array_append(array, entry) == 0;
    json_decref(entry);
    if (!ok)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory (or a stored text is not "
                         "UTF-8)", what);
    return TKMS_OK;
}

tkms_status tkms_banlist_list(tkms_banlist *bl, bool history, char **json, tkms_err *err)
{
    *json = NULL;
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    json_t *array = json_array();
    if (array == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    pthread_mutex_lock(&bl->lock);
    tkms_status status = bl->ops->each(bl->store, history, list_row, array, err);
    pthread_mutex_unlock(&bl->lock);
    if (status == TKMS_OK && (*json = json_dumps(array, JSON_INDENT(2))) == NULL)
        status = tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    json_decref(array);
    return status;
}

tkms_status tkms_banlist_evidence(tkms_banlist *bl, int64_t ban_id, char **evidence, size_t *len,
                                  tkms_err *err)
{
    *evidence = NULL;
    *len = 0;
    if (bl == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no ban list", what);
    bool found = false;
    pthread_mutex_lock(&bl->lock);
    tkms_status status = bl->ops->evidence(bl->store, ban_id, &found, evidence, len, err);
    pthread_mutex_unlock(&bl->lock);
    if (status == TKMS_OK && !found)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND, "%s: no ban %" PRId64, what, ban_id);
    return status;
}
