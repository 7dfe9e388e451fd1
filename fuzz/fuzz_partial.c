/*
 * fuzz_partial.c — libFuzzer target for the partial-signature parser that
 * `tkms combine` uses (tkms_partials_parse: `i:0xSIG` lists, the JSON
 * partial, owner responses). Accepted partials must have indices in range
 * and no repeats, and must survive formatting and re-parsing unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/partial_file.h"

#define CAPACITY 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tkms_partial p[CAPACITY], again[CAPACITY];
    size_t count, count2;
    char owner[TKMS_OWNER_ID_MAX_SIZE + 1], owner2[TKMS_OWNER_ID_MAX_SIZE + 1];
    tkms_err err;
    if (tkms_partials_parse(p, CAPACITY, &count, owner, (const char *)data, size, &err) != TKMS_OK) {
        if (err.message[0] == '\0' || count != 0)
            abort();
        return 0;
    }
    if (count == 0 || count > CAPACITY)
        abort();
    for (size_t i = 0; i < count; i++) {
        if (p[i].index == 0 || p[i].index > TKMS_MAX_SHARES)
            abort();
        for (size_t j = 0; j < i; j++)
            if (p[i].index == p[j].index)
                abort();
    }
    char *text = owner[0] != '\0' ? tkms_owner_response_format_json(owner, p, count)
                 : count == 1     ? tkms_partial_format_json(&p[0])
                                  : NULL;
    if (text != NULL) {
        if (tkms_partials_parse(again, CAPACITY, &count2, owner2, text, strlen(text), &err) != TKMS_OK ||
            count2 != count || strcmp(owner, owner2) != 0 ||
            memcmp(again, p, count * sizeof *p) != 0)
            abort();
        free(text);
    }
    return 0;
}
