/*
 * test_slashing.c — slashing protection beyond the EIP-3076 vectors:
 * surround votes both ways, double votes and blocks, re-signing with the
 * same root, lower bounds, genesis root binding, all-or-nothing import,
 * export → import round trips, deleting a key, durability across handles,
 * the schema version, kill -9 in the middle of signing, and an unwritable
 * database (full disk, read-only
 * file system, file size limit) refusing instead of signing unrecorded.
 * Batches (group commit): checks in one batch see each other (conflicting
 * votes: the second refused), a refused check records nothing, nothing is
 * visible before the commit, rollback and close drop the batch, and a
 * batch whose COMMIT fails (file size limit) records none of its checks.
 *
 * Full disk and read-only: a small tmpfs is mounted in a temporary
 * directory when the test may mount (root); RLIMIT_FSIZE (the write that
 * would grow the WAL fails with EFBIG) runs everywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test.h"
#include "tkms/hex.h"
#include "tkms/slashing.h"

static char dir[] = "/tmp/tkms-slashing-test.XXXXXX";
static unsigned db_counter;
static const uint8_t gvr_a[TKMS_ROOT_SIZE] = {0xaa, 1, 2, 3};
static const uint8_t gvr_b[TKMS_ROOT_SIZE] = {0xbb, 1, 2, 3};
static uint8_t key1[TKMS_PUBLIC_KEY_SIZE], key2[TKMS_PUBLIC_KEY_SIZE];

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

/* A new database path in the test directory (or under `base`). */
static const char *new_path(const char *base)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/db-%u.sqlite", base ? base : dir, db_counter++);
    return path;
}

static tkms_slashing_db *open_db(const char *path, const uint8_t *gvr)
{
    tkms_slashing_db *db;
    tkms_err err;
    if (tkms_slashing_open(&db, path, gvr, &err) != TKMS_OK)
        test_fatal("cannot open %s: %s", path, err.message);
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
        test_fatal("export failed: %s", err.message);
    return json;
}

static tkms_status import(tkms_slashing_db *db, const char *json, tkms_err *err)
{
    return tkms_slashing_import(db, json, strlen(json), err);
}

/* ---- rules ------------------------------------------------------------------ */

static void test_attestation_rules(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    uint8_t r1[32], r2[32];
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "first attestation: %s", err.message);
    /* new surrounds old */
    CHECK(att(db, key1, 9, 21, NULL, &err) == TKMS_ERR_REFUSED, "surrounding vote allowed");
    CHECK(strstr(err.message, "surrounds the attestation 10->20") != NULL, "reason: %s", err.message);
    /* old surrounds new */
    CHECK(att(db, key1, 11, 19, NULL, &err) == TKMS_ERR_REFUSED, "surrounded vote allowed");
    CHECK(strstr(err.message, "is surrounded by the attestation 10->20") != NULL, "reason: %s",
          err.message);
    /* double vote, and idempotent re-signing */
    CHECK(att(db, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED, "double vote allowed");
    CHECK(strstr(err.message, "double vote for target epoch 20") != NULL, "reason: %s", err.message);
    CHECK(att(db, key1, 11, 20, root(r1, 1), &err) == TKMS_ERR_REFUSED, "other source, same target");
    CHECK(att(db, key1, 10, 20, NULL, &err) == TKMS_ERR_REFUSED, "re-sign without a root allowed");
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "re-sign same root: %s", err.message);
    /* lower bounds, source after target */
    CHECK(att(db, key1, 9, 20, NULL, &err) == TKMS_ERR_REFUSED, "below the lowest source");
    CHECK(att(db, key1, 12, 11, NULL, &err) == TKMS_ERR_REFUSED, "source after target allowed");
    CHECK(att(db, key1, 10, 21, NULL, &err) == TKMS_OK, "next target: %s", err.message);
    CHECK(att(db, key1, 21, 22, NULL, &err) == TKMS_OK, "later vote: %s", err.message);
    /* another key has its own history */
    CHECK(att(db, key2, 0, 1, NULL, &err) == TKMS_OK, "other key: %s", err.message);
    CHECK(att(db, key1, 0, UINT64_MAX, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "epoch > 2^63-1");
    tkms_slashing_close(db);
}

static void test_block_rules(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    uint8_t r1[32], r2[32];
    CHECK(block(db, key1, 100, root(r1, 1), &err) == TKMS_OK, "first block: %s", err.message);
    CHECK(block(db, key1, 100, root(r2, 2), &err) == TKMS_ERR_REFUSED, "double proposal allowed");
    CHECK(strstr(err.message, "double block proposal at slot 100") != NULL, "reason: %s", err.message);
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_ERR_REFUSED, "re-sign without root allowed");
    CHECK(block(db, key1, 100, root(r1, 1), &err) == TKMS_OK, "re-sign same root: %s", err.message);
    CHECK(block(db, key1, 99, NULL, &err) == TKMS_ERR_REFUSED, "below the lowest slot allowed");
    CHECK(block(db, key1, 150, NULL, &err) == TKMS_OK, "later block: %s", err.message);
    CHECK(block(db, key1, 120, NULL, &err) == TKMS_OK, "gap block (complete strategy): %s", err.message);
    CHECK(block(db, key1, 150, NULL, &err) == TKMS_ERR_REFUSED, "unknown root re-signed");
    CHECK(block(db, key2, 1, NULL, &err) == TKMS_OK, "other key: %s", err.message);
    tkms_slashing_close(db);
}

/* ---- genesis root ------------------------------------------------------------ */

static void test_genesis_binding(void)
{
    const char *path = new_path(NULL);
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    tkms_slashing_db *db;
    tkms_err err;
    uint8_t got[32];

    /* unbound: checks refused, export has nothing to say */
    db = open_db(p, NULL);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_ERR_NOT_FOUND, "fresh db bound");
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "check on unbound db");
    char *json;
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_ERR_NOT_FOUND, "export unbound");
    tkms_slashing_close(db);

    db = open_db(p, gvr_a);   /* first use binds */
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_a, 32) == 0,
          "bound to the root given");
    tkms_slashing_close(db);
    CHECK(tkms_slashing_open(&db, p, gvr_b, &err) == TKMS_ERR_WRONG_GENESIS, "other root accepted");
    CHECK(db == NULL, "handle returned on refusal");
    CHECK(strstr(err.message, "bound to genesis validators root 0xaa01") != NULL, "message: %s",
          err.message);
    db = open_db(p, NULL);   /* NULL: whatever it is bound to */
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_a, 32) == 0,
          "binding persisted");
    char hex[TKMS_HEX_SIZE(32)], doc[512];
    tkms_hex_encode(hex, gvr_b, 32);
    snprintf(doc, sizeof doc, "{\"metadata\":{\"interchange_format_version\":\"5\","
             "\"genesis_validators_root\":\"%s\"},\"data\":[]}", hex);
    CHECK(import(db, doc, &err) == TKMS_ERR_WRONG_GENESIS, "import for another chain accepted");
    tkms_slashing_close(db);

    /* an import binds an unbound database */
    db = open_db(":memory:", NULL);
    CHECK(import(db, doc, &err) == TKMS_OK, "import into unbound db: %s", err.message);
    CHECK(tkms_slashing_genesis_root(db, got) == TKMS_OK && memcmp(got, gvr_b, 32) == 0,
          "import bound the db");
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "check after binding: %s", err.message);
    tkms_slashing_close(db);
}

/* ---- interchange ------------------------------------------------------------- */

/* An interchange for gvr_a with one entry per (key, body) pair. */
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

static void test_import_all_or_nothing(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 5, NULL, &err) == TKMS_OK, "seed record: %s", err.message);
    char *before = export_all(db);

    char *good = entry(key1, "{\"slot\":\"7\"}", "{\"source_epoch\":\"1\",\"target_epoch\":\"2\"}");
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
        size_t size = strlen(good) + strlen(bad) + 2;
        char *both = malloc(size);
        snprintf(both, size, "%s,%s", good, bad);
        char *doc = interchange(both);
        err.message[0] = '\0';
        CHECK(import(db, doc, &err) != TKMS_OK, "bad entry %zu imported", i);
        CHECK(strncmp(err.message, "interchange: data[1]", 20) == 0, "bad entry %zu: message: %s",
              i, err.message);
        char *after = export_all(db);
        CHECK(strcmp(before, after) == 0, "bad entry %zu left a partial import", i);
        free(after);
        free(doc);
        free(both);
        free(bad);
    }
    /* an invalid public key, and documents broken at the top */
    uint8_t not_a_key[TKMS_PUBLIC_KEY_SIZE];
    memset(not_a_key, 0x11, sizeof not_a_key);
    not_a_key[0] = 0x91;
    char *bad = entry(not_a_key, "", "");
    char *doc = interchange(bad);
    CHECK(import(db, doc, &err) != TKMS_OK && strstr(err.message, "data[0].pubkey") != NULL,
          "invalid pubkey: %s", err.message);
    free(doc);
    free(bad);
    static const char *const broken[] = {
        "", "[]", "{\"data\":[]}", "{\"metadata\":{},\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"4\",\"genesis_validators_root\":\"0x00\"},\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"0x00\"},\"data\":[]}",
    };
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        err.message[0] = '\0';
        CHECK(import(db, broken[i], &err) != TKMS_OK && err.message[0] != '\0',
              "broken document %zu accepted", i);
    }
    char *after = export_all(db);
    CHECK(strcmp(before, after) == 0, "failed imports changed the db");
    free(after);
    free(before);
    free(good);
    tkms_slashing_close(db);
}

static void test_round_trip(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    uint8_t r[32];
    block(db, key1, 10, root(r, 1), &err);
    block(db, key1, 12, NULL, &err);
    att(db, key1, 1, 2, root(r, 2), &err);
    att(db, key1, 2, 3, NULL, &err);
    att(db, key2, 0, 5, root(r, 3), &err);
    char *first = export_all(db);
    CHECK(strstr(first, "\"slot\": \"12\"") != NULL, "export lists the blocks:\n%s", first);

    tkms_slashing_db *other = open_db(":memory:", gvr_a);
    CHECK(import(other, first, &err) == TKMS_OK, "re-import: %s", err.message);
    char *second = export_all(other);
    CHECK(strcmp(first, second) == 0, "round trip changed the history:\n%s\n%s", first, second);
    CHECK(import(db, first, &err) == TKMS_OK, "import into itself: %s", err.message);
    char *third = export_all(db);
    CHECK(strcmp(first, third) == 0, "importing the same history twice changed it");
    /* the imported history protects like the original, known roots included */
    CHECK(block(other, key1, 10, root(r, 1), &err) == TKMS_OK, "same root re-sign after import");
    CHECK(block(other, key1, 12, NULL, &err) == TKMS_ERR_REFUSED, "double block after import");
    CHECK(att(other, key2, 1, 4, NULL, &err) == TKMS_ERR_REFUSED, "surrounded after import");

    /* filtered export: only the keys asked for, unknown ones empty */
    uint8_t key3[TKMS_PUBLIC_KEY_SIZE];
    make_key(key3, 3);
    uint8_t keys[2][TKMS_PUBLIC_KEY_SIZE];
    memcpy(keys[0], key2, sizeof key2);
    memcpy(keys[1], key3, sizeof key3);
    char *filtered;
    CHECK(tkms_slashing_export(db, &filtered, (const uint8_t (*)[TKMS_PUBLIC_KEY_SIZE])keys, 2,
                               &err) == TKMS_OK, "filtered: %s", err.message);
    char hex1[TKMS_HEX_SIZE(48)], hex3[TKMS_HEX_SIZE(48)];
    tkms_hex_encode(hex1, key1, 48);
    tkms_hex_encode(hex3, key3, 48);
    CHECK(strstr(filtered, hex1) == NULL && strstr(filtered, hex3) != NULL, "filter: %s", filtered);
    free(filtered);
    free(first);
    free(second);
    free(third);
    tkms_slashing_close(other);
    tkms_slashing_close(db);
}

static void test_delete_key(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    att(db, key1, 3, 4, NULL, &err);
    block(db, key1, 7, NULL, &err);
    char *json;
    CHECK(tkms_slashing_delete_key(db, key1, &json, &err) == TKMS_OK, "delete: %s", err.message);
    CHECK(json != NULL && strstr(json, "\"target_epoch\": \"4\"") != NULL, "returned history");
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_ERR_REFUSED, "deleted key signed");
    CHECK(strstr(err.message, "deleted") != NULL, "reason: %s", err.message);
    CHECK(block(db, key2, 100, NULL, &err) == TKMS_OK, "other key: %s", err.message);
    CHECK(import(db, json, &err) == TKMS_OK, "re-import: %s", err.message);
    CHECK(block(db, key1, 7, NULL, &err) == TKMS_ERR_REFUSED, "history kept after delete");
    CHECK(att(db, key1, 4, 5, NULL, &err) == TKMS_OK, "re-imported key signs: %s", err.message);
    free(json);
    tkms_slashing_close(db);
}

/* ---- durability and storage ---------------------------------------------------- */

static void test_durable_across_handles(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(NULL));
    tkms_slashing_db *a = open_db(path, gvr_a), *b = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(a, key1, 42, NULL, &err) == TKMS_OK, "record: %s", err.message);
    CHECK(att(a, key1, 5, 6, NULL, &err) == TKMS_OK, "record: %s", err.message);
    /* another open handle (as another process would) sees it at once */
    CHECK(block(b, key1, 42, NULL, &err) == TKMS_ERR_REFUSED, "second handle missed the block");
    tkms_slashing_close(b);
    /* a handle that was never closed: the record is in the file already */
    tkms_slashing_db *c = open_db(path, gvr_a);
    CHECK(att(c, key1, 4, 7, NULL, &err) == TKMS_ERR_REFUSED, "fresh handle missed the vote");
    tkms_slashing_close(c);
    tkms_slashing_close(a);

    /* WAL mode and synchronous=FULL are what the file says */
    sqlite3 *raw;
    sqlite3_stmt *st;
    CHECK(sqlite3_open(path, &raw) == SQLITE_OK, "raw open");
    sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0,
          "journal mode is WAL");
    sqlite3_finalize(st);
    /* a future schema version is refused */
    sqlite3_exec(raw, "UPDATE schema_version SET version = 99", NULL, NULL, NULL);
    sqlite3_close(raw);
    CHECK(tkms_slashing_open(&c, path, gvr_a, &err) == TKMS_ERR_UNSUPPORTED, "schema 99 accepted");
}

/* A child signs blocks as fast as it can and reports each slot only after
 * the check returned TKMS_OK (as a server returns a signature); it is
 * killed with SIGKILL at some point. Every reported slot must be there. */
static void test_kill9(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(NULL));
    tkms_slashing_close(open_db(path, gvr_a));
    int fds[2];
    if (pipe(fds) != 0)
        test_fatal("pipe failed");
    pid_t pid = fork();
    if (pid < 0)
        test_fatal("fork failed");
    if (pid == 0) {
        close(fds[0]);
        tkms_slashing_db *db = open_db(path, gvr_a);
        for (uint64_t slot = 1;; slot++) {
            tkms_err err;
            if (block(db, key1, slot, NULL, &err) != TKMS_OK ||
                write(fds[1], &slot, sizeof slot) != sizeof slot)
                _exit(1);
        }
    }
    close(fds[1]);
    uint64_t slot, reported = 0, last = 0;
    while (reported < 300 && read(fds[0], &slot, sizeof slot) == sizeof slot)
        reported++, last = slot;
    kill(pid, SIGKILL);
    while (read(fds[0], &slot, sizeof slot) == sizeof slot)   /* sent before it died */
        reported++, last = slot;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was not killed");
    CHECK(reported >= 300 && last == reported, "child reported %llu slots, last %llu",
          (unsigned long long)reported, (unsigned long long)last);
    tkms_slashing_db *db = open_db(path, gvr_a);
    unsigned long lost = 0;
    tkms_err err;
    for (slot = 1; slot <= last; slot++)
        if (block(db, key1, slot, NULL, &err) != TKMS_ERR_REFUSED)
            lost++;
    CHECK(lost == 0, "kill -9: %lu of %llu signed slots lost", lost, (unsigned long long)last);
    tkms_slashing_close(db);
}

/* Checks new blocks until one fails; every failure must be TKMS_ERR_IO and
 * nothing may be allowed once the storage is full. Returns the first slot
 * that failed (0 when none did). */
static uint64_t fill_until_refused(tkms_slashing_db *db, uint64_t first_slot, const char *how)
{
    tkms_err err;
    for (uint64_t slot = first_slot; slot < first_slot + 64; slot++) {
        tkms_status st = block(db, key1, slot, NULL, &err);
        if (st == TKMS_OK)
            continue;
        CHECK(st == TKMS_ERR_IO, "%s: expected an I/O failure, got %s (%s)", how,
              tkms_status_string(st), err.message);
        CHECK(strstr(err.message, "could not") != NULL, "%s: message: %s", how, err.message);
        printf("%s at slot %llu: %s\n", how, (unsigned long long)slot, err.message);
        /* stays refused: a different message cannot slip through either */
        CHECK(att(db, key1, slot, slot + 1, NULL, &err) != TKMS_OK, "%s: attestation recorded", how);
        return slot;
    }
    CHECK(false, "%s: 64 records fitted; storage never filled", how);
    return 0;
}

/* After the storage recovers: the last record that returned OK is there,
 * the refused one is absent (it can be signed now). */
static void check_after_recovery(const char *path, uint64_t ok_slot, uint64_t failed_slot,
                                 const char *how)
{
    tkms_slashing_db *db = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(db, key1, ok_slot, NULL, &err) == TKMS_ERR_REFUSED,
          "%s: a record that returned OK is lost", how);
    CHECK(block(db, key1, failed_slot, NULL, &err) == TKMS_OK,
          "%s: the failed record was half-written: %s", how, err.message);
    tkms_slashing_close(db);
}

static void test_file_size_limit(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(NULL));
    tkms_slashing_db *db = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "first record: %s", err.message);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat sb;
    if (stat(wal, &sb) != 0)
        test_fatal("no WAL file next to %s", path);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size;   /* the WAL may not grow */
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    uint64_t failed = fill_until_refused(db, 2, "file size limit");
    setrlimit(RLIMIT_FSIZE, &old);
    tkms_slashing_close(db);
    if (failed > 0)
        check_after_recovery(path, failed - 1, failed, "file size limit");
}

/* ---- batches (group commit) ---------------------------------------------------- */

/* The number of blocks and attestations exported for `key` (0 and 0 when
 * the key is not in the database at all; *known says which). */
static void counts(tkms_slashing_db *db, const uint8_t *key, size_t *blocks, size_t *atts,
                   bool *known)
{
    char *json = export_all(db);
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    *blocks = *atts = 0;
    *known = false;
    json_t *data = json_object_get(doc, "data");
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *entry = json_array_get(data, i);
        if (strcmp(json_string_value(json_object_get(entry, "pubkey")), hex) != 0)
            continue;
        *known = true;
        *blocks = json_array_size(json_object_get(entry, "signed_blocks"));
        *atts = json_array_size(json_object_get(entry, "signed_attestations"));
    }
    json_decref(doc);
}

static void test_batch_rules(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(NULL));
    tkms_slashing_db *db = open_db(path, gvr_a), *other = open_db(path, gvr_a);
    tkms_err err;
    uint8_t r1[32], r2[32];
    char *json = NULL;
    CHECK(tkms_slashing_commit(db, &err) == TKMS_ERR_INVALID_ARGUMENT, "commit without a batch");
    tkms_slashing_rollback(db);                         /* no batch: nothing happens */
    tkms_slashing_rollback(NULL);
    CHECK(tkms_slashing_begin(NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "begin on NULL");
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "begin: %s", err.message);
    CHECK(tkms_slashing_begin(db, &err) == TKMS_ERR_INVALID_ARGUMENT, "a second begin");

    /* each check sees the ones before it in the batch */
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK, "first vote: %s", err.message);
    CHECK(att(db, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "double vote for target epoch 20") != NULL,
          "conflicting vote in the same batch: %s", err.message);
    CHECK(att(db, key1, 9, 21, NULL, &err) == TKMS_ERR_REFUSED &&
              strstr(err.message, "surrounds the attestation 10->20") != NULL,
          "surrounding vote in the same batch: %s", err.message);
    CHECK(att(db, key1, 10, 20, root(r1, 1), &err) == TKMS_OK,
          "the same vote again in the batch: %s", err.message);
    CHECK(block(db, key1, 5, root(r1, 1), &err) == TKMS_OK, "block: %s", err.message);
    CHECK(block(db, key1, 5, root(r2, 2), &err) == TKMS_ERR_REFUSED,
          "double proposal in the same batch");
    /* a refused check records nothing, not even a key seen for the first time */
    CHECK(att(db, key2, 5, 4, NULL, &err) == TKMS_ERR_REFUSED, "source after target");
    CHECK(att(db, key1, 0, UINT64_MAX, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "a bad argument in a batch");
    /* no import, export or deletion inside a batch */
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "batch") != NULL, "export in a batch: %s", err.message);
    CHECK(tkms_slashing_delete_key(db, key1, &json, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "delete in a batch");
    CHECK(import(db, "{\"metadata\":{\"interchange_format_version\":\"5\","
                     "\"genesis_validators_root\":\"0xaa01020300000000000000000000000000000"
                     "000000000000000000000000000\"},\"data\":[]}", &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "import in a batch: %s", err.message);

    /* nothing is visible to another handle before the commit */
    size_t blocks, atts;
    bool known;
    counts(other, key1, &blocks, &atts, &known);
    CHECK(!known, "another handle sees the batch before its commit");
    CHECK(tkms_slashing_commit(db, &err) == TKMS_OK, "commit: %s", err.message);
    counts(other, key1, &blocks, &atts, &known);
    CHECK(known && blocks == 1 && atts == 1, "after the commit: %zu blocks, %zu attestations",
          blocks, atts);
    counts(other, key2, &blocks, &atts, &known);
    CHECK(!known, "the refused check added its key");
    CHECK(att(other, key1, 10, 20, root(r2, 2), &err) == TKMS_ERR_REFUSED,
          "the committed vote binds other handles");

    /* rolled back: none of it was recorded */
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "begin: %s", err.message);
    CHECK(att(db, key1, 30, 31, root(r1, 1), &err) == TKMS_OK, "vote: %s", err.message);
    CHECK(block(db, key2, 9, NULL, &err) == TKMS_OK, "block of a new key: %s", err.message);
    tkms_slashing_rollback(db);
    CHECK(att(db, key1, 30, 31, root(r2, 2), &err) == TKMS_OK,
          "a rolled-back vote was recorded: %s", err.message);
    counts(db, key2, &blocks, &atts, &known);
    CHECK(!known, "a rolled-back key was recorded");
    CHECK(tkms_slashing_export(db, &json, NULL, 0, &err) == TKMS_OK, "export after: %s",
          err.message);
    free(json);

    /* closing with a batch open rolls it back */
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "begin: %s", err.message);
    CHECK(block(db, key1, 77, NULL, &err) == TKMS_OK, "block: %s", err.message);
    tkms_slashing_close(db);
    CHECK(block(other, key1, 77, NULL, &err) == TKMS_OK, "an unclosed batch was committed");
    tkms_slashing_close(other);
}

/* A batch whose COMMIT cannot write the WAL (RLIMIT_FSIZE): commit is
 * TKMS_ERR_IO and none of the batch's records exist; the handle then
 * works again. */
static void test_batch_commit_fails(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(NULL));
    tkms_slashing_db *db = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "first record: %s", err.message);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat sb;
    if (stat(wal, &sb) != 0)
        test_fatal("no WAL file next to %s", path);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size;   /* the WAL may not grow */
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    tkms_status st = tkms_slashing_begin(db, &err);
    CHECK(st == TKMS_OK, "begin: %s", err.message);
    int allowed = 0, failed = 0;
    for (uint64_t slot = 2; slot < 402 && st == TKMS_OK; slot++) {
        tkms_status c = block(db, key1, slot, NULL, &err);
        allowed += c == TKMS_OK;
        failed += c == TKMS_ERR_IO;    /* a spilled page may fail before the commit */
    }
    CHECK(allowed > 0 && allowed + failed == 400, "checks in the batch: %d allowed, %d failed",
          allowed, failed);
    CHECK(tkms_slashing_commit(db, &err) == TKMS_ERR_IO && strstr(err.message, "could not"),
          "commit on a full disk: %s", err.message);
    printf("batch commit on a full disk: %s\n", err.message);
    CHECK(block(db, key1, 2, NULL, &err) == TKMS_ERR_IO, "still full: %s", err.message);
    setrlimit(RLIMIT_FSIZE, &old);
    size_t blocks, atts;
    bool known;
    counts(db, key1, &blocks, &atts, &known);
    CHECK(blocks == 1, "the failed batch left %zu blocks (1 expected)", blocks);
    CHECK(tkms_slashing_begin(db, &err) == TKMS_OK, "begin after: %s", err.message);
    CHECK(block(db, key1, 2, NULL, &err) == TKMS_OK, "check after: %s", err.message);
    CHECK(tkms_slashing_commit(db, &err) == TKMS_OK, "commit after: %s", err.message);
    tkms_slashing_close(db);
    check_after_recovery(path, 2, 3, "batch on a full disk");
}

/* Full disk and read-only file system on a small tmpfs (needs mount). */
static void test_tmpfs(void)
{
    char mnt[256];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", dir);
    mkdir(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0) {
        printf("note: cannot mount a tmpfs (%s); full-disk and read-only tests skipped, "
               "the file-size-limit test covers the same path\n", strerror(errno));
        rmdir(mnt);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s", new_path(mnt));
    tkms_slashing_db *db = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "first record: %s", err.message);

    /* full disk: a filler file takes every free block */
    char filler[300];
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char chunk[4096];
    while (fd >= 0 && write(fd, chunk, sizeof chunk) > 0) {}
    if (fd >= 0)
        close(fd);
    uint64_t failed = fill_until_refused(db, 2, "full disk");
    unlink(filler);
    tkms_slashing_close(db);
    if (failed > 0)
        check_after_recovery(path, failed - 1, failed, "full disk");

    /* read-only file system (a remount needs no file open for writing) */
    if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
        tkms_status st = tkms_slashing_open(&db, path, gvr_a, &err);
        if (st == TKMS_OK) {
            st = block(db, key1, 1000, NULL, &err);
            tkms_slashing_close(db);
        }
        CHECK(st == TKMS_ERR_IO, "read-only fs: expected an I/O failure, got %s (%s)",
              tkms_status_string(st), err.message);
        printf("read-only fs: %s\n", err.message);
        mount(NULL, mnt, NULL, MS_REMOUNT, NULL);
        check_after_recovery(path, 1, 1000, "read-only fs");
    } else {
        printf("note: cannot remount read-only (%s)\n", strerror(errno));
    }
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
}

static void remove_dir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", dir);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("cannot create a temporary directory");
    make_key(key1, 1);
    make_key(key2, 2);
    test_attestation_rules();
    test_block_rules();
    test_genesis_binding();
    test_import_all_or_nothing();
    test_round_trip();
    test_delete_key();
    test_durable_across_handles();
    test_kill9();
    test_file_size_limit();
    test_batch_rules();
    test_batch_commit_fails();
    test_tmpfs();
    remove_dir();
    return test_report();
}
