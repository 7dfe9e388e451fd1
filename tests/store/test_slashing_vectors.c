/*
 * test_slashing_vectors.c — every case of the EIP-3076 interchange tests
 * (slashing-protection-interchange-tests v5.3.0, read in place) through the
 * one slashing protection code path: a fresh database file per case bound
 * to the case's genesis validators root, each step's interchange through
 * tkms_slashing_import (must succeed iff should_succeed; this
 * implementation records slashable imports rather than rejecting them),
 * then each block and attestation through tkms_slashing_check_* (must be
 * allowed iff should_succeed_complete: the complete, full-history
 * strategy). There are 38 cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "tkms/hex.h"
#include "tkms/slashing.h"

#define EXPECTED_CASES 38

static uint64_t decimal(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    if (text == NULL)
        test_fatal("vector field %s is missing", key);
    return strtoull(text, NULL, 10);
}

static void hex_field(uint8_t *out, size_t len, const json_t *obj, const char *key)
{
    if (tkms_hex_decode(out, len, json_string_value(json_object_get(obj, key)), NULL) != TKMS_OK)
        test_fatal("vector field %s is not %zu bytes of hex", key, len);
}

/* The optional signing_root of a check: NULL when absent. */
static const uint8_t *signing_root(uint8_t buf[TKMS_ROOT_SIZE], const json_t *obj)
{
    if (json_object_get(obj, "signing_root") == NULL)
        return NULL;
    hex_field(buf, TKMS_ROOT_SIZE, obj, "signing_root");
    return buf;
}

/* One check: allowed iff should_succeed_complete, and never an I/O error. */
static void expect(tkms_status st, const tkms_err *err, const json_t *item, const char *name,
                   const char *kind, size_t step, size_t index)
{
    bool want = json_is_true(json_object_get(item, "should_succeed_complete"));
    CHECK(st == TKMS_OK || st == TKMS_ERR_REFUSED, "%s step %zu %s %zu: unexpected status: %s",
          name, step, kind, index, err->message);
    CHECK((st == TKMS_OK) == want, "%s step %zu %s %zu: expected %s, got %s%s", name, step,
          kind, index, want ? "allowed" : "refused", st == TKMS_OK ? "allowed" : "refused: ",
          st == TKMS_OK ? "" : err->message);
}

static void run_case(const char *path, const char *db_path)
{
    json_t *doc = test_load_json(path);
    const char *name = json_string_value(json_object_get(doc, "name"));
    uint8_t genesis[TKMS_ROOT_SIZE];
    hex_field(genesis, sizeof genesis, doc, "genesis_validators_root");
    tkms_slashing_db *db;
    tkms_err err;
    if (tkms_slashing_open(&db, db_path, genesis, &err) != TKMS_OK)
        test_fatal("%s: cannot open %s: %s", name, db_path, err.message);

    json_t *steps = json_object_get(doc, "steps");
    for (size_t s = 0; s < json_array_size(steps); s++) {
        json_t *step = json_array_get(steps, s);
        bool should_succeed = json_is_true(json_object_get(step, "should_succeed"));
        char *text = json_dumps(json_object_get(step, "interchange"), JSON_COMPACT);
        tkms_status st = tkms_slashing_import(db, text, strlen(text), &err);
        free(text);
        CHECK((st == TKMS_OK) == should_succeed, "%s step %zu: import should %s: %s", name, s,
              should_succeed ? "succeed" : "fail", st == TKMS_OK ? "it succeeded" : err.message);
        if (st != TKMS_OK)
            break;   /* the rest of the case presumes the import */

        json_t *blocks = json_object_get(step, "blocks"), *atts = json_object_get(step, "attestations");
        for (size_t i = 0; i < json_array_size(blocks); i++) {
            json_t *b = json_array_get(blocks, i);
            uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], buf[TKMS_ROOT_SIZE];
            hex_field(pubkey, sizeof pubkey, b, "pubkey");
            st = tkms_slashing_check_block(db, pubkey, decimal(b, "slot"), signing_root(buf, b), &err);
            expect(st, &err, b, name, "block", s, i);
        }
        for (size_t i = 0; i < json_array_size(atts); i++) {
            json_t *a = json_array_get(atts, i);
            uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], buf[TKMS_ROOT_SIZE];
            hex_field(pubkey, sizeof pubkey, a, "pubkey");
            st = tkms_slashing_check_attestation(db, pubkey, decimal(a, "source_epoch"),
                                                 decimal(a, "target_epoch"), signing_root(buf, a),
                                                 &err);
            expect(st, &err, a, name, "attestation", s, i);
        }
    }
    tkms_slashing_close(db);
    json_decref(doc);
}

static void remove_db(const char *db_path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char file[512];
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(file, sizeof file, "%s%s", db_path, suffixes[i]);
        unlink(file);
    }
}

int main(void)
{
    char dir[] = "/tmp/tkms-slashing-vectors.XXXXXX";
    if (mkdtemp(dir) == NULL)
        test_fatal("cannot create a temporary directory");
    char **files = test_vector_files("slashing-protection-interchange-tests/tests/generated");
    size_t cases = 0;
    for (char **f = files; *f != NULL; f++, cases++) {
        char db_path[512];
        snprintf(db_path, sizeof db_path, "%s/case-%zu.sqlite", dir, cases);
        run_case(*f, db_path);
        remove_db(db_path);
    }
    test_free_list(files);
    rmdir(dir);
    CHECK(cases == EXPECTED_CASES, "expected %d interchange cases, found %zu", EXPECTED_CASES, cases);
    printf("%zu interchange cases\n", cases);
    return test_report();
}
