/*
 * owners.c — the owner map of tkms/owners.h: owner ids, index ranges by
 * prefix sums in ascending id order, and lookups both ways.
 */
#include <stdlib.h>
#include <string.h>

#include "tkms/owners.h"
#include "tkms/shamir.h"

bool tkms_owner_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > TKMS_OWNER_ID_MAX_SIZE || id[0] == '.' || id[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static int compare_owner_ids(const void *a, const void *b)
{
    return strcmp(((const tkms_owner *)a)->id, ((const tkms_owner *)b)->id);
}

tkms_status tkms_owner_map_new(tkms_owner_map **out, const char *const *ids,
                               const uint32_t *share_counts, size_t count,
                               tkms_err *err)
{
    *out = NULL;
    if (count == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "owners: the list is empty");
    if (count > TKMS_MAX_OWNERS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "owners: more than %u owners",
                         TKMS_MAX_OWNERS);
    tkms_owner_map *map = calloc(1, sizeof *map);
    tkms_owner *owners = calloc(count, sizeof *owners);
    if (map == NULL || owners == NULL) {
        free(map);
        free(owners);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "owners: out of memory");
    }
    map->owners = owners;
    map->count = count;
    uint64_t total = 0;
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i < count && st == TKMS_OK; i++) {
        if (!tkms_owner_id_valid(ids[i]))
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           "owners: id #%zu is not 1..%u characters of "
                           "[A-Za-z0-9._-] starting with a letter, digit or '_'",
                           i + 1, TKMS_OWNER_ID_MAX_SIZE);
        else
            strcpy(owners[i].id, ids[i]);
        owners[i].share_count = share_counts[i];
        total += share_counts[i];
    }
    if (st == TKMS_OK && (total == 0 || total > TKMS_MAX_SHARES))
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "owners: %llu shares in all, must be 1..%u",
                       (unsigned long long)total, TKMS_MAX_SHARES);
    if (st == TKMS_OK) {
        qsort(owners, count, sizeof *owners, compare_owner_ids);
        uint32_t next = 1;
        for (size_t i = 0; i < count && st == TKMS_OK; i++) {
            if (i > 0 && strcmp(owners[i - 1].id, owners[i].id) == 0)
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "owners: id '%s' appears twice",
                               owners[i].id);
            owners[i].first_index = owners[i].share_count ? next : 0;
            next += owners[i].share_count;
        }
        map->total = (uint32_t)total;
        map->holder = calloc(map->total + 1, sizeof *map->holder);
        if (st == TKMS_OK && map->holder == NULL)
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "owners: out of memory");
        for (size_t i = 0; st == TKMS_OK && i < count; i++)
            for (uint32_t j = 0; j < owners[i].share_count; j++)
                map->holder[owners[i].first_index + j] = (uint32_t)i;
    }
    if (st != TKMS_OK) {
        tkms_owner_map_free(map);
        return st;
    }
    *out = map;
    return TKMS_OK;
}

void tkms_owner_map_free(tkms_owner_map *map)
{
    if (map != NULL) {
        free(map->holder);
        free(map->owners);
        free(map);
    }
}

const tkms_owner *tkms_owner_of(const tkms_owner_map *map, uint32_t index)
{
    if (index == 0 || index > map->total)
        return NULL;
    return &map->owners[map->holder[index]];
}

const tkms_owner *tkms_owner_find(const tkms_owner_map *map, const char *id)
{
    tkms_owner key = {0};
    if (strlen(id) > TKMS_OWNER_ID_MAX_SIZE)
        return NULL;
    strcpy(key.id, id);
    return bsearch(&key, map->owners, map->count, sizeof key, compare_owner_ids);
}
