/*
 * allocation_file.c — the JSON formats of tkms/allocation.h: reading a
 * stakes file, writing the allocation that `tkms allocate --json` prints,
 * and reading that back with every check, including that the share counts
 * are what the rule gives. This file only moves text between JSON and the
 * protocol layer (src/protocol/allocation.c), which does the arithmetic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/allocation_internal.h"
#include "json_fields.h"
#include "tkms/shamir.h"

#define STAKES "stakes"
#define ALLOCATION "allocation"
#define ALLOCATION_OWNERS "allocation: owners"

/* Room for "WHAT: entry N ('id')". */
#define LABEL_SIZE (TKMS_OWNER_ID_MAX_SIZE + 64u)
/* Room for a JSON integer as decimal text. */
#define INTEGER_TEXT_SIZE 24u

/* True for a member name short and plain enough to quote in a message. */
static bool quotable_name(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == len;
}

/* Refuses a member of `object` that is not one of names[0..count). */
static tkms_status check_members(json_t *object, const char *const *names, size_t count,
                                 const char *what, tkms_err *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        (void)value;
        bool known = false;
        for (size_t i = 0; i < count && !known; i++)
            known = strcmp(key, names[i]) == 0;
        if (known)
            continue;
        char allowed[128] = "";
        for (size_t i = 0; i < count; i++) {
            size_t used = strlen(allowed);
            snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "", names[i]);
        }
        if (quotable_name(key))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: unknown member '%s' (expected %s)",
                             what, key, allowed);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: unknown member (expected %s)", what,
                         allowed);
    }
    return TKMS_OK;
}

/* ---- stakes files ---------------------------------------------------------- */

/* Reads entry `number` (1-based) of a stakes file into `entry`; an integer
 * stake is written as text into `number_text`. */
static tkms_status read_stake_entry(tkms_stake_entry *entry, char *number_text,
                                    json_t *object, size_t number, tkms_err *err)
{
    static const char *const members[] = {"id", "stake"};
    char label[LABEL_SIZE];
    tkms_stake_entry_label(label, sizeof label, STAKES, number, NULL);
    if (!json_is_object(object))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be an object {\"id\": ..., \"stake\": ...}", label);
    tkms_status st = json_get_string(&entry->id, object, "id", true, label, err);
    if (st != TKMS_OK)
        return st;
    tkms_stake_entry_label(label, sizeof label, STAKES, number, entry->id);
    if ((st = check_members(object, members, 2, label, err)) != TKMS_OK)
        return st;
    json_t *stake = json_object_get(object, "stake");
    switch (stake != NULL ? json_typeof(stake) : JSON_NULL) {
    case JSON_STRING:
        entry->stake = json_string_value(stake);
        return TKMS_OK;
    case JSON_INTEGER:
        snprintf(number_text, INTEGER_TEXT_SIZE, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(stake));
        entry->stake = number_text;
        return TKMS_OK;
    case JSON_REAL:
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: stake is a JSON real number, which is not exact; quote it "
                         "as a string, e.g. \"47.5\"", label);
    default:
        if (stake == NULL)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: stake is missing", label);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: stake must be a string of decimal digits (e.g. \"47.5\") or "
                         "an integer", label);
    }
}

tkms_status tkms_stakes_parse(tkms_stakes **out, const char *json, size_t len,
                              tkms_err *err)
{
    *out = NULL;
    if (len > TKMS_STAKES_FILE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, STAKES ": larger than %u bytes",
                         TKMS_STAKES_FILE_MAX_SIZE);
    json_t *root;
    tkms_err inner;
    tkms_status st = json_parse_array(&root, json, len, STAKES, &inner);
    if (st != TKMS_OK) {
        if (strstr(inner.message, "too big integer") != NULL)
            return tkms_fail(err, st, STAKES ": an integer stake is too large for JSON; "
                             "quote it as a string (%s)", inner.message + strlen(STAKES ": "));
        return tkms_fail(err, st, "%s", inner.message);
    }
    size_t count = json_array_size(root);
    tkms_stake_entry *entries = NULL;
    char (*numbers)[INTEGER_TEXT_SIZE] = NULL;
    if (count > 0 && count <= TKMS_MAX_OWNERS) {
        entries = calloc(count, sizeof *entries);
        numbers = calloc(count, sizeof *numbers);
        if (entries == NULL || numbers == NULL) {
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, STAKES ": out of memory");
            goto done;
        }
        for (size_t i = 0; i < count && st == TKMS_OK; i++)
            st = read_stake_entry(&entries[i], numbers[i], json_array_get(root, i), i + 1, err);
    }
    /* an empty or too long list is refused here, with the other checks */
    if (st == TKMS_OK)
        st = tkms_stakes_from_entries(out, entries, count, STAKES, err);
done:
    free(entries);
    free(numbers);
    json_decref(root);
    return st;
}

/* ---- allocation files ------------------------------------------------------- */

/* jansson's *_new setters take the value even when they fail, so a
 * document is built by setting every member and checking once. */
static json_t *owner_json(const tkms_owner_share *owner)
{
    json_t *indices = json_array();
    for (uint32_t j = 0; indices != NULL && j < owner->shares; j++) {
        if (json_array_append_new(indices, json_integer(owner->first_index + j)) != 0) {
            json_decref(indices);
            indices = NULL;
        }
    }
    json_t *object = json_object();
    int failed = json_object_set_new(object, "id", json_string(owner->id));
    failed |= json_object_set_new(object, "stake", json_string(owner->stake));
    failed |= json_object_set_new(object, "shares", json_integer(owner->shares));
    failed |= json_object_set_new(object, "indices", indices);
    if (failed) {
        json_decref(object);
        return NULL;
    }
    return object;
}

char *tkms_allocation_format_json(const tkms_allocation *allocation)
{
    json_t *owners = json_array();
    for (size_t i = 0; owners != NULL && i < allocation->owner_count; i++) {
        if (json_array_append_new(owners, owner_json(&allocation->owners[i])) != 0) {
            json_decref(owners);
            owners = NULL;
        }
    }
    json_t *root = json_object();
    int failed = json_object_set_new(root, "total", json_integer(allocation->total));
    failed |= json_object_set_new(root, "threshold", json_integer(allocation->threshold));
    failed |= json_object_set_new(root, "owners", owners);
    failed |= json_object_set_new(root, "cannot_sign_max",
                                  json_string(allocation->cannot_sign_max));
    failed |= json_object_set_new(root, "can_sign_min", json_string(allocation->can_sign_min));
    char *text = failed ? NULL : json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

/* Reads owner `number` (1-based) of an allocation file: its entry, its
 * share count, and checks its indices are next..next+shares-1. */
static tkms_status read_allocation_owner(tkms_stake_entry *entry, uint32_t *shares,
                                         json_t *object, size_t number, uint32_t total,
                                         uint32_t next, tkms_err *err)
{
    static const char *const members[] = {"id", "stake", "shares", "indices"};
    char label[LABEL_SIZE];
    tkms_stake_entry_label(label, sizeof label, ALLOCATION_OWNERS, number, NULL);
    if (!json_is_object(object))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be an object", label);
    tkms_status st = json_get_string(&entry->id, object, "id", true, label, err);
    if (st != TKMS_OK)
        return st;
    tkms_stake_entry_label(label, sizeof label, ALLOCATION_OWNERS, number, entry->id);
    json_t *indices;
    if ((st = check_members(object, members, 4, label, err)) != TKMS_OK ||
        (st = json_get_string(&entry->stake, object, "stake", true, label, err)) != TKMS_OK ||
        (st = json_get_u32(shares, object, "shares", 0, total, label, err)) != TKMS_OK ||
        (st = json_field(&indices, object, "indices", JSON_ARRAY, true, label, err)) != TKMS_OK)
        return st;
    bool ok = json_array_size(indices) == *shares;
    for (uint32_t j = 0; ok && j < *shares; j++) {
        json_t *index = json_array_get(indices, j);
        ok = json_is_integer(index) && json_integer_value(index) == (json_int_t)next + j;
    }
    if (!ok)
        return *shares == 0
                   ? tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: indices must be empty", label)
                   : tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                               "%s: indices must be %u..%u (prefix sums in id order)", label,
                               next, next + *shares - 1);
    return TKMS_OK;
}

/* Reads a report fraction member. */
static tkms_status read_fraction(const char **out, json_t *root, const char *name,
                                 tkms_err *err)
{
    tkms_status st = json_get_string(out, root, name, true, ALLOCATION, err);
    if (st == TKMS_OK && !tkms_report_fraction_valid(*out))
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       ALLOCATION ": %s must be a fraction \"p/q\" in lowest terms from 0 to 1",
                       name);
    return st;
}

/* Checks that the owners hold what the rule gives for their stakes. */
static tkms_status check_rule(const tkms_stakes *stakes, uint32_t total,
                              const uint32_t *shares, tkms_err *err)
{
    size_t count = tkms_stakes_count(stakes);
    uint32_t *expected = malloc(count * sizeof *expected);
    if (expected == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, ALLOCATION ": out of memory");
    tkms_stakes_apply_rule(stakes, total, expected);
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i < count && st == TKMS_OK; i++) {
        if (shares[i] != expected[i]) {
            char label[LABEL_SIZE];
            tkms_stake_entry_label(label, sizeof label, ALLOCATION_OWNERS, i + 1,
                                   tkms_stakes_id(stakes, i));
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           "%s: holds %u shares but the allocation rule gives %u for these "
                           "stakes and total %u", label, shares[i], expected[i], total);
        }
    }
    free(expected);
    return st;
}

tkms_status tkms_allocation_parse(tkms_allocation **out, const char *json,
                                  size_t len, tkms_err *err)
{
    static const char *const members[] = {"total", "threshold", "owners",
                                          "cannot_sign_max", "can_sign_min"};
    *out = NULL;
    json_t *root, *owners;
    tkms_status st = json_parse_object(&root, json, len, ALLOCATION, err);
    if (st != TKMS_OK)
        return st;
    uint32_t total, threshold, *shares = NULL;
    const char *cannot_sign_max, *can_sign_min;
    tkms_stake_entry *entries = NULL;
    tkms_stakes *stakes = NULL;
    if ((st = check_members(root, members, 5, ALLOCATION, err)) != TKMS_OK ||
        (st = json_get_u32(&total, root, "total", 1, TKMS_MAX_SHARES, ALLOCATION, err)) != TKMS_OK ||
        (st = json_get_u32(&threshold, root, "threshold", 1, total, ALLOCATION, err)) != TKMS_OK ||
        (st = read_fraction(&cannot_sign_max, root, "cannot_sign_max", err)) != TKMS_OK ||
        (st = read_fraction(&can_sign_min, root, "can_sign_min", err)) != TKMS_OK ||
        (st = json_field(&owners, root, "owners", JSON_ARRAY, true, ALLOCATION, err)) != TKMS_OK)
        goto done;
    size_t count = json_array_size(owners);
    if (count == 0 || count > TKMS_MAX_OWNERS) {
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, ALLOCATION ": owners must hold 1..%u owners",
                       TKMS_MAX_OWNERS);
        goto done;
    }
    entries = calloc(count, sizeof *entries);
    shares = calloc(count, sizeof *shares);
    if (entries == NULL || shares == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, ALLOCATION ": out of memory");
        goto done;
    }
    uint64_t given = 0;
    for (size_t i = 0; i < count; i++) {
        st = read_allocation_owner(&entries[i], &shares[i], json_array_get(owners, i), i + 1,
                                   total, (uint32_t)given + 1, err);
        if (st != TKMS_OK)
            goto done;
        if (i > 0 && strcmp(entries[i - 1].id, entries[i].id) >= 0) {
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           ALLOCATION ": owners must be in ascending id order without "
                           "duplicates (entry %zu)", i + 1);
            goto done;
        }
        given += shares[i];
        if (given > total)
            break;
    }
    if (given != total) {
        st = given > total
                 ? tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             ALLOCATION ": the owners' shares add up to more than total %u",
                             total)
                 : tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             ALLOCATION ": the owners' shares add up to %u, not total %u",
                             (uint32_t)given, total);
        goto done;
    }
    if ((st = tkms_stakes_from_entries(&stakes, entries, count, ALLOCATION_OWNERS, err)) !=
            TKMS_OK ||
        (st = check_rule(stakes, total, shares, err)) != TKMS_OK)
        goto done;
    *out = tkms_allocation_new(stakes, total, threshold, shares, cannot_sign_max, can_sign_min);
    if (*out == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, ALLOCATION ": out of memory");
done:
    tkms_stakes_free(stakes);
    free(entries);
    free(shares);
    json_decref(root);
    return st;
}

tkms_status tkms_allocation_owner_map(tkms_owner_map **out,
                                      const tkms_allocation *allocation,
                                      tkms_err *err)
{
    *out = NULL;
    size_t count = allocation->owner_count;
    const char **ids = calloc(count ? count : 1, sizeof *ids);
    uint32_t *counts = calloc(count ? count : 1, sizeof *counts);
    tkms_status st;
    if (ids == NULL || counts == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, ALLOCATION ": out of memory");
    } else {
        for (size_t i = 0; i < count; i++) {
            ids[i] = allocation->owners[i].id;
            counts[i] = allocation->owners[i].shares;
        }
        st = tkms_owner_map_new(out, ids, counts, count, err);
    }
    free(ids);
    free(counts);
    return st;
}
