/*
 * test_slashing_backends.c — slashing protection and the ban list through
 * each storage backend with one suite: SQLite always, and PostgreSQL too
 * when TKMS_TEST_POSTGRES_URL names a server (tests/store/test_postgres.sh
 * starts a private one and sets it; without it this says that it ran
 * SQLite only).
 *
 * For each backend: the rules (double votes and blocks, surround both
 * ways, lower bounds, re-signing), genesis binding, all-or-nothing import,
 * export/import round trips, key deletion, two handles on one database,
 * the schema version, batches (seen by the checks after them, invisible
 * to other handles before the commit, rolled back by rollback and close),
 * every case of the EIP-3076 interchange tests (38, read in place), two
 * processes racing conflicting votes and blocks (never both allowed), and
 * the ban list (ban, is_banned through a second handle and its refresh
 * rule, unban keeping the history, listing, evidence, bounds, two
 * processes banning the same server at once). PostgreSQL only: a password
 * never shows in a message, and a handle whose connection was killed
 * connects again on its next call.
 *
 * Every database is fresh: a new SQLite file, or a new PostgreSQL schema
 * (the URL gets ?options=-csearch_path=…), dropped at the end.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "slashing_test.h"
#include "test.h"
#include "tkms/banlist.h"
#include "tkms/hex.h"
#include "tkms/slashing.h"

#define EXPECTED_VECTOR_CASES 38
#define RACE_ROUNDS 60

/* The backend under test. */
static struct {
    const char *name;          /* "sqlite" or "postgresql" */
    const char *url;           /* PostgreSQL server URL; NULL for SQLite */
    PGconn *admin;             /* PostgreSQL: creates and drops the schemas */
    unsigned schemas;          /* PostgreSQL: schemas made so far */
} be;

static char dir[] = "/tmp/tkms-backends-test.XXXXXX";
static unsigned counter;
static const uint8_t gvr_a[TKMS_ROOT_SIZE] = {0xaa, 1, 2, 3};
static const uint8_t gvr_b[TKMS_ROOT_SIZE] = {0xbb, 1, 2, 3};
static uint8_t key1[TKMS_PUBLIC_KEY_SIZE], key2[TKMS_PUBLIC_KEY_SIZE],
    key3[TKMS_PUBLIC_KEY_SIZE];

/* ---- databases ---------------------------------------------------------------- */

static void schema_name(char *out, size_t size, unsigned n)
{
    snprintf(out, size, "tkms_test_%ld_%u", (long)getpid(), n);
}

/* Runs SQL on the admin connection (test set-up; names are made here). */
static void admin_run(const char *sql)
{
    PGresult *res = PQexec(be.admin, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        test_fatal("postgresql: %s: %s", sql, PQerrorMessage(be.admin));
    PQclear(res);
}

/* A new empty database: a file, or a URL whose search_path is a new schema
 * (the schema name is returned in `schema` when asked for). malloc'ed. */
static char *fresh_location_named(char *schema, size_t schema_size)
{
    char *out = malloc(1024);
    if (out == NULL)
        test_fatal("out of memory");
    if (be.url == NULL) {
        snprintf(out, 1024, "%s/db-%u.sqlite", dir, counter++);
        return out;
    }
    char name[64], sql[160];
    schema_name(name, sizeof name, be.schemas++);
    char *quoted = PQescapeIdentifier(be.admin, name, strlen(name));
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", quoted);
    PQfreemem(quoted);
    admin_run(sql);
    snprintf(out, 1024, "%s%soptions=-csearch_path%%3D%s", be.url,
             strchr(be.url, '?') != NULL ? "&" : "?", name);
    if (schema != NULL)
        snprintf(schema, schema_size, "%s", name);
    return out;
}

static char *fresh_location(void)
{
    return fresh_location_named(NULL, 0);
}

static void drop_schemas(void)
{
    for (unsigned i = 0; i < be.schemas; i++) {
        char name[64], sql[160];
        schema_name(name, sizeof name, i);
        char *quoted = PQescapeIdentifier(be.admin, name, strlen(name));
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", quoted);
        PQfreemem(quoted);
        admin_run(sql);
    }
    be.schemas = 0;
}

/* ---- helpers -------------------------------------------------------------------- */

static uint8_t *root(uint8_t buf[TKMS_ROOT_SIZE], uint8_t tag)
{
    memset(buf, 0, TKMS_ROOT_SIZE);
    buf[0] = 0x5a;
    buf[31] = tag;
    return buf;
}

static void make_key(uint8_t out[TKMS_PUBLIC_KEY_SIZE], uint8_t secret_tag)
{
    uint8_t bytes[TKMS_SECRET_KEY_SIZE] = {0};
    bytes[31] = secret_tag;
    tkms_secret_key sk;
    tkms_public_key pk;
    if (tkms_secret_key_from_bytes(&sk, bytes) != TKMS_OK)
        test_fatal("cannot make a test key");
    tkms_public_key_from_secret(&pk, &sk);
    tkms_public_key_to_bytes(out, &pk);
}

static tkms_slashing_db *open_db(const char *location, const uint8_t *gvr)
{
    tkms_slashing_db *db;
    tkms_err err;
    if (tkms_slashing_open(&db, location, gvr, &err) != TKMS_OK)
        test_fatal("%s: cannot open the slashing db: %s", be.name, err.message);
    return db;
}

static tkms_status block(tkms_slashing_db *db, const uint8_t *key, uint64_t slot,
                         const uint8_t *signing_root, tkms_err *err)
{
    return tkms_slashing_check_block(db, key, slot, signing_root, err);
}

static tkms_status att(tkms_slashing_db *db, const uint8_t *key, uint64_t s, uint64_t t,
                       const uint8_t *signing_root, tkms_err *err)
{
    return tkms_slashing_check_attestation(db, key, s, t, signing_root, err);
}

static char *export_all(tkms_slashing_db *db)
{
    char *json;
    tkms_err err;
    if (tkms_slashing_export(db, &json, NULL, 0, &err) != TKMS_OK)
        test_fatal("%s: export failed: %s", be.name, err.message);
    return json;
}

static tkms_status import(tkms_slashing_db *db, const char *json, tkms_err *err)
{
    return tkms_slashing_import(db, json, strlen(json), err);
}

/* An interchange for gvr_a with the given data[] entries. malloc'ed. */
static char *interchange(const char *entries)
{
    char hex[TKMS_HEX_SIZE(32)];
    tkms_hex_encode(hex, gvr_a, 32);
    size_t size = strlen(entries) + 256;
    char *doc = malloc(size);
    snprintf(doc, size, "{\"metadata\":{\"interchange_format_version\":\"5\","
             "\"genesis_validators_root\":\"%s\"},\"data\":[%s]}", hex, entries);
    return doc;
}

static char *entry(const uint8_t *key, const char *blocks, const char *atts)
{
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    size_t size = strlen(blocks) + strlen(atts) + 256;
    char *e = malloc(size);
    snprintf(e, size, "{\"pubkey\":\"%s\",\"signed_blocks\":[%s],\"signed_attestations\":[%s]}",
             hex, blocks, atts);
    return e;
}

/* ---- rules ----------------------------------------------------------------------- */

static void test_rules(void)
{
    char *loc = fresh_location();
    tkms_slashing_db *db = open_db(loc, gvr_a);
    tkms_err err;
    uint8_t r1[32], r2[32];
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "%s: first vote: %s", be.name,
          err.message);
    CHECK(att(db, key1, 9, 21, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "surrounds the attestation 10->20") != NULL,
          "%s: surrounding vote: %s", be.name, err.message);
    CHECK(att(db, key1, 11, 19, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "is surrounded by the attestation 10->20") != NULL,
          "%s: surrounded vote: %s", be.name, err.message);
    CHECK(att(db, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "double vote for target epoch 20") != NULL,
          "%s: double vote: %s", be.name, err.message);
    CHECK(att(db, key1, 11, 20, root(r1, 1), &err) == TKMS_ERR_REFUSED, "%s: other source",
          be.name);
    CHECK(att(db, key1, 10, 20, NULL, &err) == TKMS_ERR_REFUSED, "%s: re-sign without a root",
          be.name);
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "%s: re-sign same root: %s",
          be.name, err.message);
    CHECK(att(db, key1, 9, 20, NULL, &err) == TKMS_ERR_REFUSED, "%s: below the lowest source",
          be.name);
    CHECK(att(db, key1, 12, 11, NULL, &err) == TKMS_ERR_REFUSED, "%s: source after target",
          be.name);
    CHECK(att(db, key1, 10, 21, NULL, &err) == TKMS_OK, "%s: next target: %s", be.name,
          err.message);
    CHECK(att(db, key1, 21, 22, NULL, &err) == TKMS_OK, "%s: later vote: %s", be.name,
          err.message);
    CHECK(att(db, key2, 0, 1, NULL, &err) == TKMS_OK, "%s: other key: %s", be.name, err.message);
    CHECK(att(db, key1, 0, UINT64_MAX, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "%s: epoch > 2^63-1", be.name);
    CHECK(att(db, key2, 0, INT64_MAX, NULL, &err) == TKMS_OK, "%s: epoch 2^63-1: %s", be.name,
          err.message);

    CHECK(block(db, key1, 100, root(r1, 1), &err) == TKMS_OK, "%s: first block: %s", be.name,
          err.message);
    CHECK(block(db, key1, 100, root(r2, 2), &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "double block proposal at slot 100") != NULL,
          "%s: double proposal: %s", be.name, err.message);
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_ERR_REFUSED, "%s: re-sign without root",
          be.name);
    CHECK(block(db, key1, 100, root(r1, 1), &err) == TKMS_OK, "%s: re-sign same block: %s",
          be.name, err.message);
    CHECK(block(db, key1, 99, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "below the lowest recorded block slot 100") != NULL,
          "%s: below the lowest slot: %s", be.name, err.message);
    CHECK(block(db, key1, 150, NULL, &err) == TKMS_OK, "%s: later block: %s", be.name,
          err.message);
    CHECK(block(db, key1, 120, NULL, &err) == TKMS_OK, "%s: gap block: %s", be.name,
          err.message);
    CHECK(block(db, key1, 150, NULL, &err) == TKMS_ERR_REFUSED, "%s: unknown root re-signed",
          be.name);
    CHECK(block(db, key2, 1, NULL, &err) == TKMS_OK, "%s: other key's block: %s", be.name,
          err.message);
    tkms_slashing_close(db);
    free(loc);
}

/* ---- genesis, interchange, deletion -------------------------------------------------- */

static void test_genesis(void)
{
    char *loc = fresh_location();
    tkms_slashing_db *db;
    tkms_err err;
    uint8_t got[32];
    char *json;
    db = open_db(loc, NULL);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_ERR_NOT_FOUND, "%s: fresh db bound",
          be.name);
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: check unbound",
          be.name);
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_ERR_NOT_FOUND,
          "%s: export unbound", be.name);
    tkms_slashing_close(db);
    db = open_db(loc, gvr_a);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_a, 32) == 0,
          "%s: bound to the root given", be.name);
    tkms_slashing_close(db);
    CHECK(tkms_slashing_open(&db, loc, gvr_b, &err) == TKMS_ERR_WRONG_GENESIS && db == NULL,
          "%s: another root accepted", be.name);
    CHECK(strstr(err.message, "bound to genesis validators root 0xaa01") != NULL,
          "%s: message: %s", be.name, err.message);
    db = open_db(loc, NULL);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_a, 32) == 0,
          "%s: binding persisted", be.name);
    char hex[TKMS_HEX_SIZE(32)], doc[512];
    tkms_hex_encode(hex, gvr_b, 32);
    snprintf(doc, sizeof doc, "{\"metadata\":{\"interchange_format_version\":\"5\","
             "\"genesis_validators_root\":\"%s\"},\"data\":[]}", hex);
    CHECK(import(db, doc, &err) == TKMS_ERR_WRONG_GENESIS, "%s: import for another chain",
          be.name);
    tkms_slashing_close(db);
    free(loc);

    loc = fresh_location();   /* an import binds an unbound database */
    db = open_db(loc, NULL);
    CHECK(import(db, doc, &err) == TKMS_OK, "%s: import into unbound: %s", be.name, err.message);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_b, 32) == 0,
          "%s: import bound the db", be.name);
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "%s: check after binding: %s", be.name,
          err.message);
    tkms_slashing_close(db);
    free(loc);
}

static void test_interchange(void)
{
    char *loc = fresh_location();
    tkms_slashing_db *db = open_db(loc, gvr_a);
    tkms_err err;
    uint8_t r[32];
    block(db, key1, 10, root(r, 1), &err);
    block(db, key1, 12, NULL, &err);
    att(db, key1, 1, 2, root(r, 2), &err);
    att(db, key1, 2, 3, NULL, &err);
    att(db, key2, 0, 5, root(r, 3), &err);
    char *first = export_all(db);
    CHECK(strstr(first, "\"slot\": \"12\"") != NULL, "%s: export lists the blocks", be.name);

    /* a bad entry after a good one: nothing imported */
    char *good = entry(key3, "{\"slot\":\"7\"}", "{\"source_epoch\":\"1\",\"target_epoch\":\"2\"}");
    static const char *const bad_bodies[][2] = {
        {"{\"slot\":\"-1\"}", ""},
        {"{\"slot\":\"99999999999999999999\"}", ""},
        {"{\"slot\":\"9223372036854775808\"}", ""},
        {"{\"slot\":8}", ""},
        {"{\"slot\":\"8\",\"signing_root\":\"0x12\"}", ""},
        {"", "{\"source_epoch\":\"1\"}"},
        {"", "{\"source_epoch\":\" 1\",\"target_epoch\":\"2\"}"},
        {"\"8\"", ""},
    };
    for (size_t i = 0; i < sizeof bad_bodies / sizeof *bad_bodies; i++) {
        char *bad = entry(key2, bad_bodies[i][0], bad_bodies[i][1]);
        char both[2048];
        snprintf(both, sizeof both, "%s,%s", good, bad);
        char *doc = interchange(both);
        err.message[0] = '\0';
        CHECK(import(db, doc, &err) != TKMS_OK &&
                  strncmp(err.message, "interchange: data[1]", 20) == 0,
              "%s: bad entry %zu: %s", be.name, i, err.message);
        char *after = export_all(db);
        CHECK(strcmp(first, after) == 0, "%s: bad entry %zu left a partial import", be.name, i);
        free(after);
        free(doc);
        free(bad);
    }
    free(good);
    /* an invalid public key, and documents broken at the top */
    uint8_t not_a_key[TKMS_PUBLIC_KEY_SIZE];
    memset(not_a_key, 0x11, sizeof not_a_key);
    not_a_key[0] = 0x91;
    char *bad_key = entry(not_a_key, "", "");
    char *bad_doc = interchange(bad_key);
    CHECK(import(db, bad_doc, &err) != TKMS_OK && strstr(err.message, "data[0].pubkey") != NULL,
          "%s: invalid pubkey: %s", be.name, err.message);
    free(bad_doc);
    free(bad_key);
    static const char *const broken[] = {
        "", "[]", "{\"data\":[]}", "{\"metadata\":{},\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"4\",\"genesis_validators_root\":\"0x00\"},\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"0x00\"},\"data\":[]}",
    };
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        err.message[0] = '\0';
        CHECK(import(db, broken[i], &err) != TKMS_OK && err.message[0] != '\0',
              "%s: broken document %zu accepted", be.name, i);
    }
    char *unchanged = export_all(db);
    CHECK(strcmp(first, unchanged) == 0, "%s: failed imports changed the db", be.name);
    free(unchanged);

    /* round trip into another database, and into itself */
    char *loc2 = fresh_location();
    tkms_slashing_db *other = open_db(loc2, gvr_a);
    CHECK(import(other, first, &err) == TKMS_OK, "%s: re-import: %s", be.name, err.message);
    char *second = export_all(other);
    CHECK(strcmp(first, second) == 0, "%s: round trip changed the history:\n%s\n%s", be.name,
          first, second);
    CHECK(import(db, first, &err) == TKMS_OK, "%s: import into itself: %s", be.name, err.message);
    char *third = export_all(db);
    CHECK(strcmp(first, third) == 0, "%s: importing the same history changed it", be.name);
    CHECK(block(other, key1, 10, root(r, 1), &err) == TKMS_OK, "%s: same root after import: %s",
          be.name, err.message);
    CHECK(block(other, key1, 12, NULL, &err) == TKMS_ERR_REFUSED, "%s: double after import",
          be.name);
    CHECK(att(other, key2, 1, 4, NULL, &err) == TKMS_ERR_REFUSED, "%s: surrounded after import",
          be.name);
    /* a record imported with another root keeps an unknown root */
    char *conflict = entry(key1, "{\"slot\":\"10\",\"signing_root\":\"0x"
                                 "0101010101010101010101010101010101010101010101010101010101010101"
                                 "\"}", "");
    char *doc = interchange(conflict);
    CHECK(import(other, doc, &err) == TKMS_OK, "%s: conflicting import: %s", be.name,
          err.message);
    CHECK(block(other, key1, 10, root(r, 1), &err) == TKMS_ERR_REFUSED,
          "%s: a root made unknown by an import still matched", be.name);
    free(doc);
    free(conflict);

    /* filtered export */
    uint8_t keys[2][TKMS_PUBLIC_KEY_SIZE];
    memcpy(keys[0], key2, sizeof key2);
    memcpy(keys[1], key3, sizeof key3);
    char *filtered;
    CHECK(tkms_slashing_export(db, &filtered, (const uint8_t (*)[TKMS_PUBLIC_KEY_SIZE])keys, 2,
                               &err) == TKMS_OK, "%s: filtered: %s", be.name, err.message);
    char hex1[TKMS_HEX_SIZE(48)], hex3[TKMS_HEX_SIZE(48)];
    tkms_hex_encode(hex1, key1, 48);
    tkms_hex_encode(hex3, key3, 48);
    CHECK(strstr(filtered, hex1) == NULL && strstr(filtered, hex3) != NULL, "%s: filter: %s",
          be.name, filtered);
    free(filtered);

    /* deleting a key */
    char *json;
    CHECK(tkms_slashing_delete_key(db, key1, &json, &err) == TKMS_OK, "%s: delete: %s", be.name,
          err.message);
    CHECK(json != NULL && strstr(json, "\"target_epoch\": \"3\"") != NULL, "%s: its history",
          be.name);
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "deleted") != NULL, "%s: deleted key signed: %s", be.name,
          err.message);
    CHECK(block(db, key2, 100, NULL, &err) == TKMS_OK, "%s: other key: %s", be.name, err.message);
    CHECK(import(db, json, &err) == TKMS_OK, "%s: re-import: %s", be.name, err.message);
    CHECK(block(db, key1, 12, NULL, &err) == TKMS_ERR_REFUSED, "%s: history kept", be.name);
    CHECK(att(db, key1, 3, 4, NULL, &err) == TKMS_OK, "%s: re-imported key signs: %s", be.name,
          err.message);
    free(json);
    free(first);
    free(second);
    free(third);
    tkms_slashing_close(other);
    tkms_slashing_close(db);
    free(loc2);
    free(loc);
}

/* ---- handles, schema version, batches --------------------------------------------------- */

/* Sets the stored schema version behind the library's back. */
static void set_schema_version(const char *loc, const char *schema, int version)
{
    char sql[200];
    if (be.url == NULL) {
        sqlite3 *raw;
        snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", version);
        if (sqlite3_open(loc, &raw) != SQLITE_OK ||
            sqlite3_exec(raw, sql, NULL, NULL, NULL) != SQLITE_OK)
            test_fatal("cannot change the schema version of %s", loc);
        sqlite3_close(raw);
        return;
    }
    char *quoted = PQescapeIdentifier(be.admin, schema, strlen(schema));
    snprintf(sql, sizeof sql, "UPDATE %s.schema_version SET version = %d", quoted, version);
    PQfreemem(quoted);
    admin_run(sql);
}

static void test_handles(void)
{
    char schema[64] = "";
    char *loc = fresh_location_named(schema, sizeof schema);
    tkms_slashing_db *a = open_db(loc, gvr_a), *b = open_db(loc, gvr_a);
    tkms_err err;
    CHECK(block(a, key1, 42, NULL, &err) == TKMS_OK, "%s: record: %s", be.name, err.message);
    CHECK(att(a, key1, 5, 6, NULL, &err) == TKMS_OK, "%s: record: %s", be.name, err.message);
    CHECK(block(b, key1, 42, NULL, &err) == TKMS_ERR_REFUSED, "%s: second handle missed it",
          be.name);
    CHECK(att(b, key1, 4, 7, NULL, &err) == TKMS_ERR_REFUSED, "%s: second handle missed the vote",
          be.name);
    tkms_slashing_close(b);
    tkms_slashing_close(a);
    set_schema_version(loc, schema, 99);
    tkms_slashing_db *c = NULL;
    CHECK(tkms_slashing_open(&c, loc, gvr_a, &err) == TKMS_ERR_UNSUPPORTED &&
              strstr(err.message, "schema version 99") != NULL,
          "%s: schema 99 accepted: %s", be.name, err.message);
    free(loc);
}

static void test_batches(void)
{
    char *loc = fresh_location();
    tkms_slashing_db *db = open_db(loc, gvr_a), *other = open_db(loc, gvr_a);
    tkms_err err;
    uint8_t r1[32], r2[32];
    char *json = NULL;
    CHECK(tkms_slashing_commit(db, &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: commit, no batch",
          be.name);
    tkms_slashing_rollback(db);   /* no batch: nothing happens */
    tkms_slashing_rollback(NULL);
    CHECK(tkms_slashing_begin(NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: begin on NULL",
          be.name);
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "%s: begin: %s", be.name, err.message);
    CHECK(tkms_slashing_begin(db, &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: second begin",
          be.name);
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "%s: vote: %s", be.name,
          err.message);
    CHECK(att(db, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "double vote for target epoch 20") != NULL,
          "%s: conflicting vote in the batch: %s", be.name, err.message);
    CHECK(att(db, key1, 9, 21, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "surrounds the attestation 10->20") != NULL,
          "%s: surround in the batch: %s", be.name, err.message);
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "%s: same vote again: %s",
          be.name, err.message);
    CHECK(block(db, key1, 5, root(r1, 1), &err) == TKMS_OK, "%s: block: %s", be.name,
          err.message);
    CHECK(block(db, key1, 5, root(r2, 2), &err) == TKMS_ERR_REFUSED, "%s: double proposal",
          be.name);
    CHECK(att(db, key2, 5, 4, NULL, &err) == TKMS_ERR_REFUSED, "%s: source after target",
          be.name);
    CHECK(att(db, key1, 0, UINT64_MAX, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "%s: bad argument", be.name);
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "batch") != NULL,
          "%s: export in a batch: %s", be.name, err.message);
    CHECK(tkms_slashing_delete_key(db, key1, &json, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "%s: delete in a batch", be.name);
    char *empty = interchange("");
    CHECK(import(db, empty, &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: import in a batch: %s",
          be.name, err.message);
    free(empty);

    size_t blocks, atts;
    bool known;
    test_slashing_counts(other, key1, &blocks, &atts, &known);
    CHECK(!known, "%s: another handle sees the batch before its commit", be.name);
    CHECK(tkms_slashing_commit(db, &err) == TKMS_OK, "%s: commit: %s", be.name, err.message);
    test_slashing_counts(other, key1, &blocks, &atts, &known);
    CHECK(known && blocks == 1 && atts == 1, "%s: after the commit: %zu blocks, %zu votes",
          be.name, blocks, atts);
    test_slashing_counts(other, key2, &blocks, &atts, &known);
    CHECK(!known, "%s: the refused check added its key", be.name);
    CHECK(att(other, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED,
          "%s: the committed vote binds other handles", be.name);

    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "%s: begin: %s", be.name, err.message);
    CHECK(att(db, key1, 30, 31, root(r1, 1), &err) == TKMS_OK, "%s: vote: %s", be.name,
          err.message);
    CHECK(block(db, key2, 9, NULL, &err) == TKMS_OK, "%s: new key: %s", be.name, err.message);
    tkms_slashing_rollback(db);
    CHECK(att(db, key1, 30, 31, root(r2, 2), &err) == TKMS_OK, "%s: rolled-back vote kept: %s",
          be.name, err.message);
    test_slashing_counts(db, key2, &blocks, &atts, &known);
    CHECK(!known, "%s: a rolled-back key was recorded", be.name);
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_OK, "%s: export after: %s",
          be.name, err.message);
    free(json);

    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "%s: begin: %s", be.name, err.message);
    CHECK(block(db, key1, 77, NULL, &err) == TKMS_OK, "%s: block: %s", be.name, err.message);
    tkms_slashing_close(db);   /* with the batch open */
    CHECK(block(other, key1, 77, NULL, &err) == TKMS_OK, "%s: an unclosed batch was committed",
          be.name);
    tkms_slashing_close(other);
    free(loc);
}

/* ---- the EIP-3076 interchange tests ---------------------------------------------------- */

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

static const uint8_t *vector_root(uint8_t buf[TKMS_ROOT_SIZE], const json_t *obj)
{
    if (json_object_get(obj, "signing_root") == NULL)
        return NULL;
    hex_field(buf, TKMS_ROOT_SIZE, obj, "signing_root");
    return buf;
}

static void expect(tkms_status st, const tkms_err *err, const json_t *item, const char *name,
                   const char *kind, size_t step, size_t index)
{
    bool want = json_is_true(json_object_get(item, "should_succeed_complete"));
    CHECK(st == TKMS_OK || st == TKMS_ERR_REFUSED, "%s: %s step %zu %s %zu: %s", be.name, name,
          step, kind, index, err->message);
    CHECK((st == TKMS_OK) == want, "%s: %s step %zu %s %zu: expected %s, got %s%s", be.name,
          name, step, kind, index, want ? "allowed" : "refused",
          st == TKMS_OK ? "allowed" : "refused: ", st == TKMS_OK ? "" : err->message);
}

static void run_vector(const char *path)
{
    json_t *doc = test_load_json(path);
    const char *name = json_string_value(json_object_get(doc, "name"));
    uint8_t genesis[TKMS_ROOT_SIZE];
    hex_field(genesis, sizeof genesis, doc, "genesis_validators_root");
    char *loc = fresh_location();
    tkms_slashing_db *db = open_db(loc, genesis);
    tkms_err err;
    json_t *steps = json_object_get(doc, "steps");
    for (size_t s = 0; s < json_array_size(steps); s++) {
        json_t *step = json_array_get(steps, s);
        bool should_succeed = json_is_true(json_object_get(step, "should_succeed"));
        char *text = json_dumps(json_object_get(step, "interchange"), JSON_COMPACT);
        tkms_status st = tkms_slashing_import(db, text, strlen(text), &err);
        free(text);
        CHECK((st == TKMS_OK) == should_succeed, "%s: %s step %zu: import should %s: %s",
              be.name, name, s, should_succeed ? "succeed" : "fail",
              st == TKMS_OK ? "it succeeded" : err.message);
        if (st != TKMS_OK)
            break;
        json_t *blocks = json_object_get(step, "blocks");
        json_t *atts = json_object_get(step, "attestations");
        for (size_t i = 0; i < json_array_size(blocks); i++) {
            json_t *b = json_array_get(blocks, i);
            uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], buf[TKMS_ROOT_SIZE];
            hex_field(pubkey, sizeof pubkey, b, "pubkey");
            st = block(db, pubkey, decimal(b, "slot"), vector_root(buf, b), &err);
            expect(st, &err, b, name, "block", s, i);
        }
        for (size_t i = 0; i < json_array_size(atts); i++) {
            json_t *a = json_array_get(atts, i);
            uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], buf[TKMS_ROOT_SIZE];
            hex_field(pubkey, sizeof pubkey, a, "pubkey");
            st = att(db, pubkey, decimal(a, "source_epoch"), decimal(a, "target_epoch"),
                     vector_root(buf, a), &err);
            expect(st, &err, a, name, "attestation", s, i);
        }
    }
    tkms_slashing_close(db);
    free(loc);
    json_decref(doc);
}

static void test_vectors(void)
{
    char **files = test_vector_files("slashing-protection-interchange-tests/tests/generated");
    size_t cases = 0;
    for (char **f = files; *f != NULL; f++, cases++)
        run_vector(*f);
    test_free_list(files);
    CHECK(cases == EXPECTED_VECTOR_CASES, "%s: expected %d interchange cases, found %zu",
          be.name, EXPECTED_VECTOR_CASES, cases);
    printf("%s: %zu interchange cases\n", be.name, cases);
}

/* ---- two processes racing ----------------------------------------------------------------- */

/* Results a racer reports per round: one byte per check. */
#define RACE_CHECKS 3

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            _exit(3);
        p += n, len -= (size_t)n;
    }
}

static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return false;
        p += n, len -= (size_t)n;
    }
    return true;
}

/*
 * One racer (a child process with its own handle). Each round: a vote on
 * key1 that the other racer's surrounds or is surrounded by, a vote on
 * key2 for the same target as the other's with another root, and a block
 * on key3 at the same slot with another root. Racer 1 runs every other
 * round as a batch. The racers start each round together (each writes a
 * byte to the other and waits for the other's). Reports 'A' allowed, 'R'
 * refused, 'E' anything else.
 */
static void racer(const char *loc, int id, int ready_fd, int go_fd, int out_fd,
                  int to_other, int from_other)
{
    tkms_slashing_db *db;
    tkms_err err;
    if (tkms_slashing_open(&db, loc, gvr_a, &err) != TKMS_OK)
        _exit(2);
    char c = 'r';
    write_all(ready_fd, &c, 1);
    if (read(go_fd, &c, 1) != 1)
        _exit(2);
    uint8_t r[32];
    root(r, (uint8_t)(id + 1));
    for (uint64_t round = 0; round < RACE_ROUNDS; round++) {
        uint64_t base = 10 + 10 * round;
        write_all(to_other, &c, 1);
        if (read(from_other, &c, 1) != 1)
            _exit(2);
        bool batch = id == 1 && round % 2 == 1;
        if (batch && tkms_slashing_begin(db, &err) != TKMS_OK)
            _exit(2);
        tkms_status st[RACE_CHECKS] = {
            id == 0 ? att(db, key1, base, base + 5, r, &err) : att(db, key1, base + 1, base + 4, r, &err),
            att(db, key2, base, base + 1, r, &err),
            block(db, key3, base, r, &err),
        };
        bool committed = !batch || tkms_slashing_commit(db, &err) == TKMS_OK;
        char out[RACE_CHECKS];
        for (int k = 0; k < RACE_CHECKS; k++)
            out[k] = !committed ? 'E' : st[k] == TKMS_OK ? 'A' : st[k] == TKMS_ERR_REFUSED ? 'R' : 'E';
        write_all(out_fd, out, sizeof out);
    }
    tkms_slashing_close(db);
    _exit(0);
}

static void test_race(void)
{
    char *loc = fresh_location();
    tkms_slashing_close(open_db(loc, gvr_a));
    int ready[2], go[2], out[2][2], step[2][2];   /* step[i]: to racer i */
    pid_t pids[2];
    if (pipe(ready) != 0 || pipe(go) != 0 || pipe(step[0]) != 0 || pipe(step[1]) != 0)
        test_fatal("pipe failed");
    fflush(stdout);
    for (int id = 0; id < 2; id++) {
        if (pipe(out[id]) != 0)
            test_fatal("pipe failed");
        pids[id] = fork();
        if (pids[id] < 0)
            test_fatal("fork failed");
        if (pids[id] == 0) {
            close(out[id][0]);
            racer(loc, id, ready[1], go[0], out[id][1], step[1 - id][1], step[id][0]);
        }
        close(out[id][1]);
    }
    char c;
    bool started = read_all(ready[0], &c, 1) && read_all(ready[0], &c, 1);
    CHECK(started, "%s: a racer could not open the database", be.name);
    write_all(go[1], "gg", 2);
    char results[2][RACE_ROUNDS * RACE_CHECKS];
    bool complete = read_all(out[0][0], results[0], sizeof results[0]) &&
                    read_all(out[1][0], results[1], sizeof results[1]);
    for (int id = 0; id < 2; id++) {
        int status;
        waitpid(pids[id], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: racer %d failed", be.name, id);
        close(out[id][0]);
    }
    close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
    for (int i = 0; i < 2; i++)
        close(step[i][0]), close(step[i][1]);
    CHECK(complete, "%s: a racer stopped early", be.name);
    int both = 0, neither = 0, errors = 0, allowed[2] = {0, 0};
    for (int i = 0; complete && i < RACE_ROUNDS * RACE_CHECKS; i++) {
        char a = results[0][i], b = results[1][i];
        errors += (a == 'E') + (b == 'E');
        both += a == 'A' && b == 'A';
        neither += a != 'A' && b != 'A';
        allowed[0] += a == 'A';
        allowed[1] += b == 'A';
    }
    CHECK(both == 0, "%s: %d conflicting pairs were both allowed", be.name, both);
    CHECK(errors == 0 && neither == 0, "%s: %d errors, %d pairs with neither allowed", be.name,
          errors, neither);
    printf("%s: race: %d rounds x %d conflicting pairs; racer 0 won %d, racer 1 won %d\n",
           be.name, RACE_ROUNDS, RACE_CHECKS, allowed[0], allowed[1]);
    free(loc);
}

/* ---- the ban list ---------------------------------------------------------------------------- */

static tkms_banlist *open_banlist(const char *loc)
{
    tkms_banlist *bl;
    tkms_err err;
    if (tkms_banlist_open(&bl, loc, &err) != TKMS_OK)
        test_fatal("%s: cannot open the ban list: %s", be.name, err.message);
    return bl;
}

static bool banned(tkms_banlist *bl, const char *server, const uint8_t *key)
{
    bool yes = false;
    tkms_err err;
    if (tkms_banlist_is_banned(bl, server, key, &yes, &err) != TKMS_OK)
        test_fatal("%s: is_banned failed: %s", be.name, err.message);
    return yes;
}

static json_t *list(tkms_banlist *bl, bool history)
{
    char *json;
    tkms_err err;
    if (tkms_banlist_list(bl, history, &json, &err) != TKMS_OK)
        test_fatal("%s: list failed: %s", be.name, err.message);
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    if (!json_is_array(doc))
        test_fatal("%s: the list is not a JSON array", be.name);
    return doc;
}

static void test_banlist(void)
{
    char *loc = fresh_location();
    tkms_banlist *a = open_banlist(loc), *b = open_banlist(loc);
    tkms_banlist_set_refresh_ms(b, 0);
    tkms_err err;
    static const char evidence[] = "{\"request\":{\"type\":\"ATTESTATION\"},"
                                   "\"response\":{\"signature\":\"0x00\"}}";
    int64_t id1 = 0, id = 0;
    bool created = false;
    CHECK(!banned(a, "s1", key1) && !banned(b, "s1", NULL), "%s: banned before any ban", be.name);
    CHECK(tkms_banlist_ban(a, "s1", key1, "invalid partial signature", evidence,
                           strlen(evidence), 1000, &id1, &created, &err) == TKMS_OK && created,
          "%s: ban: %s", be.name, err.message);
    CHECK(banned(a, "s1", key1), "%s: own ban not seen at once", be.name);
    CHECK(!banned(a, "s1", key2), "%s: a ban for one key covers another", be.name);
    CHECK(banned(a, "s1", NULL), "%s: any ban of s1", be.name);
    CHECK(!banned(a, "s2", key1), "%s: another server banned", be.name);
    CHECK(banned(b, "s1", key1), "%s: the other handle does not see the ban", be.name);
    CHECK(tkms_banlist_ban(b, "s1", key1, "again", "x", 1, 1001, &id, &created, &err) ==
              TKMS_OK && !created && id == id1,
          "%s: a second ban of the same (server, key): created %d, id %" PRId64, be.name,
          created, id);
    CHECK(tkms_banlist_ban(a, "s2", NULL, "bad partials for every key", NULL, 0, 1002, &id,
                           &created, &err) == TKMS_OK && created, "%s: ban every key: %s",
          be.name, err.message);
    CHECK(banned(b, "s2", key3) && banned(b, "s2", NULL), "%s: every-key ban", be.name);

    json_t *doc = list(b, false);
    CHECK(json_array_size(doc) == 2, "%s: %zu active bans listed", be.name,
          json_array_size(doc));
    json_t *first = json_array_get(doc, 0), *second = json_array_get(doc, 1);
    char hex[TKMS_HEX_SIZE(48)];
    tkms_hex_encode(hex, key1, 48);
    CHECK(json_integer_value(json_object_get(first, "id")) == id1 &&
              strcmp(json_string_value(json_object_get(first, "server")), "s1") == 0 &&
              strcmp(json_string_value(json_object_get(first, "key")), hex) == 0 &&
              strcmp(json_string_value(json_object_get(first, "reason")),
                     "invalid partial signature") == 0 &&
              json_integer_value(json_object_get(first, "since")) == 1000 &&
              json_integer_value(json_object_get(first, "evidence_size")) ==
                  (json_int_t)strlen(evidence) &&
              json_is_null(json_object_get(first, "unbanned_at")),
          "%s: first entry wrong", be.name);
    CHECK(json_is_null(json_object_get(second, "key")) &&
              json_integer_value(json_object_get(second, "evidence_size")) == 0,
          "%s: every-key entry wrong", be.name);
    json_decref(doc);

    char *got;
    size_t len;
    CHECK(tkms_banlist_evidence(b, id1, &got, &len, &err) == TKMS_OK && len == strlen(evidence) &&
              memcmp(got, evidence, len) == 0 && got[len] == '\0',
          "%s: evidence: %s", be.name, err.message);
    free(got);
    CHECK(tkms_banlist_evidence(b, id1 + 1000, &got, &len, &err) == TKMS_ERR_NOT_FOUND,
          "%s: evidence of no ban", be.name);

    /* unban: the row stays, marked; the other handle sees it after its refresh */
    size_t count = 0;
    tkms_banlist_set_refresh_ms(a, 50);
    CHECK(banned(a, "s1", key1), "%s: s1 banned", be.name);
    CHECK(tkms_banlist_unban(b, "s1", NULL, "operator", 2000, &count, &err) == TKMS_OK &&
              count == 1, "%s: unban: %s", be.name, err.message);
    CHECK(!banned(b, "s1", key1), "%s: own unban not seen at once", be.name);
    usleep(80 * 1000);
    CHECK(!banned(a, "s1", key1), "%s: unban not seen after the refresh interval", be.name);
    CHECK(tkms_banlist_unban(b, "s1", NULL, "operator", 2001, &count, &err) ==
              TKMS_ERR_NOT_FOUND, "%s: unban of nothing", be.name);
    doc = list(a, true);
    first = json_array_get(doc, 0);
    CHECK(json_array_size(doc) == 2 &&
              json_integer_value(json_object_get(first, "unbanned_at")) == 2000 &&
              strcmp(json_string_value(json_object_get(first, "unbanned_by")), "operator") == 0,
          "%s: history lost the unban", be.name);
    json_decref(doc);
    doc = list(a, false);
    CHECK(json_array_size(doc) == 1, "%s: %zu active after unban", be.name, json_array_size(doc));
    json_decref(doc);
    CHECK(tkms_banlist_ban(a, "s1", key1, "again", NULL, 0, 3000, &id, &created, &err) ==
              TKMS_OK && created && id != id1, "%s: banned again after the unban", be.name);

    /* per-key unban leaves the others */
    tkms_banlist_ban(a, "s3", key1, "r", NULL, 0, 1, NULL, NULL, &err);
    tkms_banlist_ban(a, "s3", key2, "r", NULL, 0, 1, NULL, NULL, &err);
    CHECK(tkms_banlist_unban(a, "s3", key1, "op", 5, &count, &err) == TKMS_OK && count == 1,
          "%s: per-key unban: %s", be.name, err.message);
    CHECK(!banned(b, "s3", key1) && banned(b, "s3", key2), "%s: per-key unban lifted too much",
          be.name);

    /* bounds */
    char long_name[TKMS_BANLIST_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *bad_servers[] = {"", "s 1", "s\n1", long_name, NULL};
    for (size_t i = 0; i < sizeof bad_servers / sizeof *bad_servers; i++)
        CHECK(tkms_banlist_ban(a, bad_servers[i], key1, "r", NULL, 0, 1, NULL, NULL, &err) ==
                  TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "server name") != NULL,
              "%s: bad server name %zu: %s", be.name, i, err.message);
    CHECK(tkms_banlist_ban(a, "s4", key1, "two\nlines", NULL, 0, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "%s: reason with a newline", be.name);
    CHECK(tkms_banlist_ban(a, "s4", key1, "r", NULL, 0, -1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "%s: negative time", be.name);
    CHECK(tkms_banlist_unban(a, "s3", NULL, "", 1, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "%s: unban by nobody", be.name);
    char *big = malloc(TKMS_BANLIST_EVIDENCE_MAX + 1);
    memset(big, 'e', TKMS_BANLIST_EVIDENCE_MAX + 1);
    CHECK(tkms_banlist_ban(a, "s4", key1, "r", big, TKMS_BANLIST_EVIDENCE_MAX + 1, 1, NULL, NULL,
                           &err) == TKMS_ERR_INVALID_ARGUMENT, "%s: evidence over 1 MiB",
          be.name);
    CHECK(tkms_banlist_ban(a, "s4", key1, "r", big, TKMS_BANLIST_EVIDENCE_MAX, 1, &id, NULL,
                           &err) == TKMS_OK, "%s: 1 MiB of evidence: %s", be.name, err.message);
    CHECK(tkms_banlist_evidence(b, id, &got, &len, &err) == TKMS_OK &&
              len == TKMS_BANLIST_EVIDENCE_MAX && memcmp(got, big, len) == 0,
          "%s: 1 MiB evidence round trip", be.name);
    free(got);
    free(big);
    CHECK(!banned(b, "s4", key2) && banned(b, "s4", key1), "%s: s4", be.name);

    /* durable: a new handle sees everything */
    tkms_banlist_close(a);
    tkms_banlist_close(b);
    a = open_banlist(loc);
    CHECK(banned(a, "s1", key1) && banned(a, "s2", key2) && !banned(a, "s3", key1) &&
              banned(a, "s3", key2), "%s: bans lost across handles", be.name);
    tkms_banlist_close(a);
    free(loc);
}

/* Two processes ban the same servers at once: one active ban each. */
static void test_banlist_race(void)
{
    enum { SERVERS = 40 };
    char *loc = fresh_location();
    tkms_banlist_close(open_banlist(loc));
    int out[2][2];
    pid_t pids[2];
    fflush(stdout);
    for (int id = 0; id < 2; id++) {
        if (pipe(out[id]) != 0)
            test_fatal("pipe failed");
        if ((pids[id] = fork()) < 0)
            test_fatal("fork failed");
        if (pids[id] == 0) {
            close(out[id][0]);
            tkms_banlist *bl;
            tkms_err err;
            if (tkms_banlist_open(&bl, loc, &err) != TKMS_OK)
                _exit(2);
            int made = 0;
            for (int s = 0; s < SERVERS; s++) {
                char server[32];
                bool created = false;
                snprintf(server, sizeof server, "race-%d", s);
                if (tkms_banlist_ban(bl, server, key1, "race", "e", 1, 1, NULL, &created, &err) !=
                    TKMS_OK)
                    _exit(3);
                made += created;
            }
            write_all(out[id][1], &made, sizeof made);
            tkms_banlist_close(bl);
            _exit(0);
        }
        close(out[id][1]);
    }
    int made[2] = {0, 0};
    bool complete = read_all(out[0][0], &made[0], sizeof made[0]) &&
                    read_all(out[1][0], &made[1], sizeof made[1]);
    for (int id = 0; id < 2; id++) {
        int status;
        waitpid(pids[id], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: ban racer %d failed", be.name,
              id);
        close(out[id][0]);
    }
    tkms_banlist *bl = open_banlist(loc);
    json_t *doc = list(bl, true);
    CHECK(complete && made[0] + made[1] == SERVERS && json_array_size(doc) == SERVERS,
          "%s: racing bans made %d + %d bans, %zu rows (expected %d)", be.name, made[0], made[1],
          json_array_size(doc), SERVERS);
    json_decref(doc);
    tkms_banlist_close(bl);
    free(loc);
}

/* ---- PostgreSQL only ---------------------------------------------------------------------- */

static void test_pg_messages(void)
{
    tkms_slashing_db *db = NULL;
    tkms_banlist *bl = NULL;
    tkms_err err;
    const char *url = "postgresql://tkms:s3cret-pw@127.0.0.1:1/nodb?connect_timeout=3";
    CHECK(tkms_slashing_open(&db, url, gvr_a, &err) == TKMS_ERR_IO && db == NULL,
          "postgresql: open of an unreachable server");
    CHECK(strstr(err.message, "s3cret") == NULL && strstr(err.message, "***") != NULL &&
              strstr(err.message, "could not connect") != NULL && strchr(err.message, '\n') == NULL,
          "postgresql: message: %s", err.message);
    printf("postgresql: unreachable: %s\n", err.message);
    url = "postgresql://127.0.0.1:1/nodb?connect_timeout=3&password=s3cret-pw";
    CHECK(tkms_banlist_open(&bl, url, &err) == TKMS_ERR_IO && bl == NULL &&
              strstr(err.message, "s3cret") == NULL && strstr(err.message, "password=***"),
          "postgresql: ban list message: %s", err.message);
}

/* Kills the server side of every tkms connection (application_name
 * "tkms"), as a server restart would. */
static void kill_sessions(void)
{
    PGresult *res = PQexec(be.admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                     " WHERE application_name = 'tkms'");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        test_fatal("postgresql: cannot terminate sessions: %s", PQerrorMessage(be.admin));
    PQclear(res);
    usleep(100 * 1000);
}

static void test_pg_reconnect(void)
{
    char *loc = fresh_location();
    tkms_slashing_db *db = open_db(loc, gvr_a);
    tkms_banlist *bl = open_banlist(loc);
    tkms_banlist_set_refresh_ms(bl, 0);
    tkms_err err;
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "postgresql: before: %s", err.message);
    kill_sessions();
    CHECK(block(db, key1, 2, NULL, &err) == TKMS_OK, "postgresql: after the session was killed: %s",
          err.message);
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_ERR_REFUSED, "postgresql: history after reconnect");
    kill_sessions();
    bool yes = true;
    CHECK(tkms_banlist_is_banned(bl, "s1", key1, &yes, &err) == TKMS_OK && !yes,
          "postgresql: ban list after the session was killed: %s", err.message);
    CHECK(tkms_banlist_ban(bl, "s1", key1, "r", NULL, 0, 1, NULL, NULL, &err) == TKMS_OK,
          "postgresql: ban after reconnect: %s", err.message);
    /* a batch whose session dies fails as a whole, and the next one works */
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "postgresql: begin: %s", err.message);
    CHECK(block(db, key1, 3, NULL, &err) == TKMS_OK, "postgresql: batch check: %s", err.message);
    kill_sessions();
    CHECK(block(db, key1, 4, NULL, &err) == TKMS_ERR_IO, "postgresql: check on a dead session");
    CHECK(tkms_slashing_commit(db, &err) == TKMS_ERR_IO, "postgresql: commit on a dead session");
    CHECK(block(db, key1, 3, NULL, &err) == TKMS_OK, "postgresql: the failed batch left slot 3: %s",
          err.message);
    tkms_banlist_close(bl);
    tkms_slashing_close(db);
    free(loc);
}

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* ---- main --------------------------------------------------------------------------------- */

static void run_suite(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    test_rules();
    test_genesis();
    test_interchange();
    test_handles();
    test_batches();
    test_vectors();
    test_race();
    test_banlist();
    test_banlist_race();
    if (be.url != NULL) {
        test_pg_messages();
        test_pg_reconnect();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%s: suite done in %.1f s\n", be.name,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("cannot create a temporary directory");
    make_key(key1, 1);
    make_key(key2, 2);
    make_key(key3, 3);

    be.name = "sqlite";
    run_suite();

    const char *url = getenv("TKMS_TEST_POSTGRES_URL");
    if (url != NULL && url[0] != '\0') {
        be.name = "postgresql";
        be.url = url;
        be.admin = PQconnectdb(url);
        if (PQstatus(be.admin) != CONNECTION_OK)
            test_fatal("postgresql: cannot connect to TKMS_TEST_POSTGRES_URL: %s",
                       PQerrorMessage(be.admin));
        PQsetNoticeProcessor(be.admin, quiet, NULL);
        run_suite();
        drop_schemas();
        PQfinish(be.admin);
    } else {
        printf("note: TKMS_TEST_POSTGRES_URL is not set: SQLite only "
               "(tests/store/test_postgres.sh runs this against PostgreSQL)\n");
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", dir);
    return test_report();
}
