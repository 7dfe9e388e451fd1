/*
 * rules.c — the threshold server's authorization rules (rules.h): a list of
 * (client, operations, keys) grants, deny by default. Each rule's keys are
 * kept sorted so a signing check is a binary search per rule; with at most
 * SERVER_RULES_MAX rules a check is cheap next to one BLS signature.
 */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/hex.h"
#include "tkms/text.h"

typedef struct {
    char *client;                                /* "*" = any authenticated client */
    server_op_set ops;
    bool any_key;
    uint8_t (*keys)[SERVER_RULE_KEY_SIZE];       /* sorted, unique */
    size_t key_count;
} rule;

struct server_rules {
    rule *rules;
    size_t count, capacity;
};

/* Shortest shown value, and how much of a user's text goes into a message. */
#define SHOW_MAX 40u


const char *server_operation_name(server_operation op)
{
    switch (op) {
    case SERVER_OP_SIGN: return "sign";
    case SERVER_OP_ADMIN: return "admin";
    case SERVER_OP_CEREMONY: return "ceremony";
    case SERVER_OP_METRICS: return "metrics";
    }
    return "unknown";
}

tkms_status server_op_set_add(server_op_set *set, const char *name, tkms_err *err)
{
    if (set == NULL || name == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "operations: missing argument");
    if (strcmp(name, "sign") == 0) {
        *set |= SERVER_OPS_SIGN_ALL;
        return TKMS_OK;
    }
    if (strcmp(name, "admin") == 0) {
        *set |= SERVER_OPS_ADMIN;
        return TKMS_OK;
    }
    if (strcmp(name, "ceremony") == 0) {
        *set |= SERVER_OPS_CEREMONY;
        return TKMS_OK;
    }
    if (strcmp(name, "metrics") == 0) {
        *set |= SERVER_OPS_METRICS;
        return TKMS_OK;
    }
    for (unsigned t = 0; t < SERVER_SIGN_TYPE_COUNT; t++)
        if (strcmp(name, tkms_eth2_type_name((tkms_eth2_type)t)) == 0) {
            *set |= SERVER_OPS_SIGN_TYPE(t);
            return TKMS_OK;
        }
    char shown[SHOW_MAX + 8];
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                     "unknown operation '%s' (expected sign, admin, ceremony, metrics or a "
                     "signing type such as ATTESTATION)",
                     tkms_text_printable(shown, sizeof shown, name, SHOW_MAX));
}

tkms_status server_rule_key_parse(uint8_t key[SERVER_RULE_KEY_SIZE], const char *text,
                                  tkms_err *err)
{
    if (key == NULL || text == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "keys: missing argument");
    if (tkms_hex_decode(key, SERVER_RULE_KEY_SIZE, text, NULL) != TKMS_OK) {
        char shown[SHOW_MAX + 8];
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "bad key '%s': expected 0x and 96 hex digits",
                         tkms_text_printable(shown, sizeof shown, text, SHOW_MAX));
    }
    return TKMS_OK;
}

bool server_client_name_valid(const char *client)
{
    if (client == NULL)
        return false;
    size_t len = strlen(client);
    if (len == 0 || len > SERVER_CLIENT_MAX_SIZE)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)client[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

tkms_status server_rules_new(server_rules **out, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "rules: missing argument");
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
    return TKMS_OK;
}

void server_rules_free(server_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->count; i++) {
        free(rules->rules[i].client);
        free(rules->rules[i].keys);
    }
    free(rules->rules);
    free(rules);
}

size_t server_rules_count(const server_rules *rules)
{
    return rules == NULL ? 0 : rules->count;
}

static int key_compare(const void *a, const void *b)
{
    return memcmp(a, b, SERVER_RULE_KEY_SIZE);
}

tkms_status server_rules_add(server_rules *rules, const char *client, server_op_set ops,
                             bool any_key, const uint8_t (*keys)[SERVER_RULE_KEY_SIZE],
                             size_t key_count, tkms_err *err)
{
    if (rules == NULL || client == NULL || (keys == NULL && key_count > 0))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "rules: missing argument");
    if (!server_client_name_valid(client))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "client: must be \"*\" or 1..%u bytes without control characters",
                         SERVER_CLIENT_MAX_SIZE);
    if (ops == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "operations: none given");
    if ((ops & ~SERVER_OPS_ALL) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "operations: unknown operation bits");
    if (!any_key && key_count == 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keys: no key given (use any key instead)");
    if (!any_key && (ops & SERVER_OPS_SIGN_ALL) == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keys: only restrict signing, and this rule grants no signing "
                         "operation");
    if (rules->count >= SERVER_RULES_MAX)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "rules: more than %u rules",
                         SERVER_RULES_MAX);

    rule r = {.ops = ops, .any_key = any_key};
    r.client = strdup(client);
    if (r.client == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
    if (!any_key) {
        r.keys = key_count > SIZE_MAX / SERVER_RULE_KEY_SIZE ? NULL : malloc(key_count * sizeof *r.keys);
        if (r.keys == NULL) {
            free(r.client);
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
        }
        memcpy(r.keys, keys, key_count * sizeof *r.keys);
        qsort(r.keys, key_count, sizeof *r.keys, key_compare);
        size_t unique = 0;
        for (size_t i = 0; i < key_count; i++)
            if (unique == 0 || memcmp(r.keys[unique - 1], r.keys[i], SERVER_RULE_KEY_SIZE) != 0)
                memmove(r.keys[unique++], r.keys[i], SERVER_RULE_KEY_SIZE);
        r.key_count = unique;
    }
    if (rules->count == rules->capacity) {
        size_t cap = rules->capacity ? rules->capacity * 2 : 8;
        rule *grown = realloc(rules->rules, cap * sizeof *grown);
        if (grown == NULL) {
            free(r.client);
            free(r.keys);
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
        }
        rules->rules = grown;
        rules->capacity = cap;
    }
    rules->rules[rules->count++] = r;
    return TKMS_OK;
}

tkms_status server_rules_add_names(server_rules *rules, const char *client,
                                   const char *const *operations, size_t operation_count,
                                   const char *const *keys, size_t key_count,
                                   tkms_err *err)
{
    if (rules == NULL || client == NULL || (operations == NULL && operation_count > 0))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "rules: missing argument");
    if (operation_count == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "operations: none given");
    server_op_set ops = 0;
    tkms_err inner;
    for (size_t i = 0; i < operation_count; i++)
        if (server_op_set_add(&ops, operations[i], &inner) != TKMS_OK)
            return tkms_fail(err, inner.status, "operations[%zu]: %s", i, inner.message);

    if (keys == NULL && key_count == 0)
        return server_rules_add(rules, client, ops, true, NULL, 0, err);
    if (keys == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "rules: missing argument");
    if (key_count == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keys: empty list (write \"*\" for any key)");
    bool any = false;
    for (size_t i = 0; i < key_count; i++)
        if (keys[i] != NULL && strcmp(keys[i], "*") == 0)
            any = true;
    if (any && key_count > 1)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keys: \"*\" (any key) cannot be mixed with keys");
    if (any)
        return server_rules_add(rules, client, ops, true, NULL, 0, err);

    if (key_count > SIZE_MAX / SERVER_RULE_KEY_SIZE)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
    uint8_t (*parsed)[SERVER_RULE_KEY_SIZE] = malloc(key_count * sizeof *parsed);
    if (parsed == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "rules: out of memory");
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i < key_count && st == TKMS_OK; i++)
        if ((st = server_rule_key_parse(parsed[i], keys[i], &inner)) != TKMS_OK)
            tkms_fail(err, st, "keys[%zu]: %s", i, inner.message);
    if (st == TKMS_OK)
        st = server_rules_add(rules, client, ops, false,
                              (const uint8_t (*)[SERVER_RULE_KEY_SIZE])parsed, key_count, err);
    free(parsed);
    return st;
}

static bool rule_has_key(const rule *r, const uint8_t *key)
{
    if (r->any_key)
        return true;
    if (key == NULL)
        return false;
    return bsearch(key, r->keys, r->key_count, sizeof *r->keys, key_compare) != NULL;
}

bool server_rules_allow(const server_rules *rules, const char *client, server_operation op,
                        tkms_eth2_type type, const uint8_t *key)
{
    if (rules == NULL || client == NULL || client[0] == '\0')
        return false;
    server_op_set need;
    switch (op) {
    case SERVER_OP_SIGN:
        if ((unsigned)type >= SERVER_SIGN_TYPE_COUNT)
            return false;
        need = SERVER_OPS_SIGN_TYPE(type);
        break;
    case SERVER_OP_ADMIN: need = SERVER_OPS_ADMIN; break;
    case SERVER_OP_CEREMONY: need = SERVER_OPS_CEREMONY; break;
    case SERVER_OP_METRICS: need = SERVER_OPS_METRICS; break;
    default: return false;
    }
    for (size_t i = 0; i < rules->count; i++) {
        const rule *r = &rules->rules[i];
        if ((r->ops & need) == 0)
            continue;
        if (strcmp(r->client, "*") != 0 && strcmp(r->client, client) != 0)
            continue;
        if (op == SERVER_OP_SIGN && !rule_has_key(r, key))
            continue;
        return true;
    }
    return false;
}

void server_rules_denial(char *out, size_t size, const char *client, server_operation op,
                         tkms_eth2_type type, const uint8_t *key)
{
    if (out == NULL || size == 0)
        return;
    char who[64 + 16];
    if (client == NULL || client[0] == '\0')
        snprintf(who, sizeof who, "an unauthenticated client");
    else {
        char shown[64 + 8];
        snprintf(who, sizeof who, "client %s", tkms_text_printable(shown, sizeof shown, client, 64));
    }
    if (op == SERVER_OP_SIGN) {
        const char *type_name = tkms_eth2_type_name(type);
        if (key != NULL) {
            char hex[TKMS_HEX_SIZE(SERVER_RULE_KEY_SIZE)];
            tkms_hex_encode(hex, key, SERVER_RULE_KEY_SIZE);
            snprintf(out, size, "%s may not sign %s for key %s", who, type_name, hex);
        } else {
            snprintf(out, size, "%s may not sign %s", who, type_name);
        }
    } else {
        snprintf(out, size, "%s may not use %s", who, server_operation_name(op));
    }
}
