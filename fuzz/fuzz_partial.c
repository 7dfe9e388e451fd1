/*
 * fuzz_partial.c — libFuzzer target for the partial-signature parser that
 * `tkms combine` uses (tkms_partials_parse: `i:0xSIG` and the JSON form).
 * An accepted partial must have an index in range and must survive
 * formatting and re-parsing unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/partial_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkms_partial p;
    size_t count;
    tkms_err err;
    if (tkms_partials_parse(&p, 1, &count, (const char *)data, size, &err) != TKMS_OK) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    if (count != 1 || p.index == 0 || p.index > TKMS_MAX_SHARES)
        abort();
    char *text = tkms_partial_format_json(&p);
    tkms_partial again;
    if (text == NULL ||
        tkms_partials_parse(&again, 1, &count, text, strlen(text), &err) != TKMS_OK ||
        again.index != p.index || memcmp(again.signature, p.signature, sizeof p.signature) != 0)
        abort();
    free(text);
    return 0;
}
