/*
 * ceremony_dir.c — the layout of a file ceremony directory (ceremony_dir.h):
 * paths, the spec file, and the names of message files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony_dir.h"
#include "cli.h"
#include "tkms/file.h"
#include "tkms/hex.h"

int ceremony_check_names(const char *cmd, const tkms_ceremony_spec *spec)
{
    for (size_t i = 0; i < spec->party_count; i++) {
        const char *a = spec->parties[i].id;
        if (strcmp(a, "all") == 0)
            return cli_fail(cmd, "a party called 'all' cannot take part in a file ceremony "
                            "(its message files would look like broadcasts)");
        size_t len = strlen(a);
        for (size_t j = 0; j < spec->party_count; j++)
            if (j != i && strncmp(spec->parties[j].id, a, len) == 0 &&
                spec->parties[j].id[len] == '-')
                return cli_fail(cmd, "party ids '%s' and '%s' would make message file names "
                                "ambiguous in a file ceremony; rename one", a,
                                spec->parties[j].id);
    }
    return CLI_EXIT_OK;
}

int ceremony_load_spec(const char *cmd, const char *path, tkms_ceremony_spec **out)
{
    *out = NULL;
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_CEREMONY_SPEC_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail(cmd, "cannot read the spec: %s", err.message);
    tkms_status st = tkms_ceremony_spec_parse(out, text, len, &err);
    free(text);
    if (st != TKMS_OK)
        return cli_fail(cmd, "%s: %s", path, err.message);
    int rc = ceremony_check_names(cmd, *out);
    if (rc != 0) {
        tkms_ceremony_spec_free(*out);
        *out = NULL;
    }
    return rc;
}

void ceremony_print_ids(const tkms_ceremony_spec *spec)
{
    char hex[TKMS_HEX_SIZE(32)];
    tkms_hex_encode(hex, spec->ceremony_id, sizeof spec->ceremony_id);
    printf("ceremony_id %s\n", hex);
    tkms_hex_encode(hex, spec->hash, sizeof spec->hash);
    printf("spec_hash %s\n", hex);
}

void ceremony_message_name(char name[CEREMONY_NAME_MAX], const tkms_ceremony_spec *spec,
                           uint32_t from, uint32_t to_party, uint32_t to_share, size_t k)
{
    const char *sender = spec->parties[from - 1].id;
    if (to_party == 0)
        snprintf(name, CEREMONY_NAME_MAX, "%s-all-%zu.msg", sender, k);
    else
        snprintf(name, CEREMONY_NAME_MAX, "%s-%s-%u.msg", sender,
                 spec->parties[to_party - 1].id, to_share);
}

/* The number a run of 1..5 decimal digits (no leading zero) spells, or 0. */
static uint32_t parse_number(const char *s, size_t len)
{
    if (len == 0 || len > 5 || s[0] == '0')
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    return v;
}

uint32_t ceremony_message_for(const tkms_ceremony_spec *spec, uint32_t me, const char *name)
{
    size_t len = strlen(name);
    if (len < 4 || len >= CEREMONY_NAME_MAX || strcmp(name + len - 4, ".msg") != 0)
        return 0;
    len -= 4;
    const tkms_owner *mine = &spec->owners->owners[me - 1];
    const char *my_id = spec->parties[me - 1].id;
    size_t my_len = strlen(my_id);
    /* the sender is the one party whose id followed by '-' starts the name */
    for (size_t dash = 1; dash < len; dash++) {
        if (name[dash] != '-' || dash > TKMS_OWNER_ID_MAX_SIZE)
            continue;
        char sender[TKMS_OWNER_ID_MAX_SIZE + 1];
        memcpy(sender, name, dash);
        sender[dash] = '\0';
        uint32_t from = tkms_ceremony_party_number(spec, sender);
        if (from == 0 || from == me)
            continue;
        const char *rest = name + dash + 1;
        size_t rest_len = len - dash - 1;
        if (rest_len > 4 && strncmp(rest, "all-", 4) == 0)
            return parse_number(rest + 4, rest_len - 4) != 0 ? from : 0;
        if (rest_len > my_len + 1 && strncmp(rest, my_id, my_len) == 0 && rest[my_len] == '-') {
            uint32_t share = parse_number(rest + my_len + 1, rest_len - my_len - 1);
            bool held = share >= mine->first_index &&
                        share < mine->first_index + mine->share_count;
            return share != 0 && held ? from : 0;
        }
        return 0;
    }
    return 0;
}
