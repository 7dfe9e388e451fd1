/*
 * fuzz_ceremony_spec.c — libFuzzer target for the ceremony spec reader
 * (tkms_ceremony_spec_parse). A refusal must explain itself in one
 * printable line and leave nothing behind. An accepted spec must be
 * consistent (parties sorted by id, the owner map matching their shares,
 * a reshare with its old group and owners) and must round-trip: formatting
 * and reading it again gives the same spec hash, and formatting that gives
 * the same text (the format is canonical).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/ceremony.h"

static void check_consistent(const tkms_ceremony_spec *spec)
{
    if (spec->party_count == 0 || spec->party_count > TKMS_CEREMONY_MAX_PARTIES ||
        spec->owners == NULL || spec->owners->count != spec->party_count ||
        spec->threshold < 1 || spec->threshold > spec->owners->total ||
        spec->keys < 1 || spec->keys > TKMS_CEREMONY_MAX_KEYS)
        abort();
    for (size_t i = 0; i < spec->party_count; i++) {
        if (i > 0 && strcmp(spec->parties[i - 1].id, spec->parties[i].id) >= 0)
            abort();
        if (tkms_ceremony_party_number(spec, spec->parties[i].id) != i + 1 ||
            spec->owners->owners[i].share_count != spec->parties[i].shares)
            abort();
    }
    bool reshare = spec->kind == TKMS_CEREMONY_RESHARE;
    if (reshare != (spec->old_group != NULL) || reshare != (spec->old_owners != NULL) ||
        (reshare && (spec->keys != 1 || spec->old_owners->total != spec->old_group->share_count)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkms_ceremony_spec *spec = NULL;
    tkms_err err = {0};
    if (tkms_ceremony_spec_parse(&spec, (const char *)data, size, &err) != TKMS_OK) {
        if (spec != NULL)
            abort();
        fuzz_require_explained(&err);
        return 0;
    }
    check_consistent(spec);
    char *text = tkms_ceremony_spec_format(spec);
    if (text == NULL)
        abort();
    tkms_ceremony_spec *again = NULL;
    if (tkms_ceremony_spec_parse(&again, text, strlen(text), &err) != TKMS_OK ||
        memcmp(again->hash, spec->hash, sizeof spec->hash) != 0)
        abort();
    char *text2 = tkms_ceremony_spec_format(again);
    if (text2 == NULL || strcmp(text, text2) != 0)
        abort();
    free(text2);
    free(text);
    tkms_ceremony_spec_free(again);
    tkms_ceremony_spec_free(spec);
    return 0;
}
