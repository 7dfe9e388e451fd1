/*
 * slashing_test.c — helpers shared by the slashing protection tests (see
 * slashing_test.h).
 */
#include "slashing_test.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test.h"
#include "tkms/hex.h"

void test_slashing_counts(tkms_slashing_db *db, const uint8_t *key, size_t *blocks, size_t *atts,
                          bool *known)
{
    char *json;
    tkms_err err;
    if (tkms_slashing_export(db, &json, NULL, 0, &err) != TKMS_OK)
        test_fatal("export failed: %s", err.message);
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    if (doc == NULL)
        test_fatal("the export is not JSON");
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    *blocks = *atts = 0;
    *known = false;
    json_t *data = json_object_get(doc, "data");
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *entry = json_array_get(data, i);
        const char *pubkey = json_string_value(json_object_get(entry, "pubkey"));
        if (pubkey == NULL || strcmp(pubkey, hex) != 0)
            continue;
        *known = true;
        *blocks = json_array_size(json_object_get(entry, "signed_blocks"));
        *atts = json_array_size(json_object_get(entry, "signed_attestations"));
    }
    json_decref(doc);
}
