/*
 * fuzz_slashing_interchange.c — libFuzzer target for the EIP-3076
 * interchange import (tkms_slashing_import) on a fresh in-memory database
 * bound to the zero genesis validators root (the root of the seeds in
 * fuzz/seeds/slashing_interchange), which already holds one block.
 *
 * Invariants: a refused import explains itself in one printable line and
 * leaves the history exactly as it was (all or nothing); an accepted one
 * exports to a document that imports again into the same database without
 * changing it (idempotent) and into a fresh database giving the same
 * export (round trip); the seeded block stays refused throughout.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/slashing.h"

static const uint8_t genesis[TKMS_ROOT_SIZE];   /* zero */

static tkms_slashing_db *fresh_db(void)
{
    tkms_slashing_db *db;
    if (tkms_slashing_open(&db, ":memory:", genesis, NULL) != TKMS_OK)
        abort();
    return db;
}

static char *export_all(tkms_slashing_db *db)
{
    char *json;
    if (tkms_slashing_export(db, &json, NULL, 0, NULL) != TKMS_OK)
        abort();
    return json;
}

/* The generator of G1 (a valid key distinct from nothing in particular). */
static const uint8_t seeded_key[TKMS_PUBLIC_KEY_SIZE] = {
    0x97, 0xf1, 0xd3, 0xa7, 0x31, 0x97, 0xd7, 0x94, 0x26, 0x95, 0x63, 0x8c,
    0x4f, 0xa9, 0xac, 0x0f, 0xc3, 0x68, 0x8c, 0x4f, 0x97, 0x74, 0xb9, 0x05,
    0xa1, 0x4e, 0x3a, 0x3f, 0x17, 0x1b, 0xac, 0x58, 0x6c, 0x55, 0xe8, 0x3f,
    0xf9, 0x7a, 0x1a, 0xef, 0xfb, 0x3a, 0xf0, 0x0a, 0xdb, 0x22, 0xc6, 0xbb,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkms_slashing_db *db = fresh_db();
    tkms_err err = {0};
    if (tkms_slashing_check_block(db, seeded_key, 1000, NULL, &err) != TKMS_OK)
        abort();
    char *before = export_all(db);
    tkms_status st = tkms_slashing_import(db, (const char *)data, size, &err);
    char *after = export_all(db);
    if (st != TKMS_OK) {
        fuzz_require_explained(&err);
        if (strcmp(before, after) != 0)
            abort();   /* a refused import changed the history */
    } else {
        if (tkms_slashing_import(db, after, strlen(after), &err) != TKMS_OK)
            abort();
        char *again = export_all(db);
        if (strcmp(after, again) != 0)
            abort();   /* importing our own export changed it */
        free(again);
        tkms_slashing_db *other = fresh_db();
        if (tkms_slashing_import(other, after, strlen(after), &err) != TKMS_OK)
            abort();
        char *copy = export_all(other);
        if (strcmp(after, copy) != 0)
            abort();   /* the round trip lost or invented history */
        free(copy);
        tkms_slashing_close(other);
    }
    if (tkms_slashing_check_block(db, seeded_key, 1000, NULL, &err) != TKMS_ERR_REFUSED)
        abort();   /* the seeded block must stay recorded */
    free(before);
    free(after);
    tkms_slashing_close(db);
    return 0;
}
