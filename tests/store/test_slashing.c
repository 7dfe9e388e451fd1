/*
 * test_slashing.c — what only the SQLite backend has, beyond the suite
 * every backend runs (tests/store/test_slashing_backends.c: the rules,
 * genesis binding, interchange, deletion, handles, batches, the EIP-3076
 * vectors): a :memory: database, durability across handles with the file
 * in WAL mode, the schema version, kill -9 in the middle of signing, an
 * unwritable database (full disk, read-only file system, file size limit)
 * refusing instead of signing unrecorded, and a batch whose COMMIT fails
 * (file size limit) recording none of its checks.
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

#include "slashing_test.h"
#include "test.h"
#include "tkms/slashing.h"

static char dir[] = "/tmp/tkms-slashing-test.XXXXXX";
static unsigned db_counter;
static const uint8_t gvr_a[TKMS_ROOT_SIZE] = {0xaa, 1, 2, 3};
static uint8_t key1[TKMS_PUBLIC_KEY_SIZE];

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

/* A database that is not a file: the same rules, nothing kept. */
static void test_memory_db(void)
{
    tkms_slashing_db *db = open_db(":memory:", gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_OK, "first block: %s", err.message);
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_ERR_REFUSED, "double proposal allowed");
    CHECK(att(db, key1, 10, 20, NULL, &err) == TKMS_OK, "first vote: %s", err.message);
    CHECK(att(db, key1, 9, 21, NULL, &err) == TKMS_ERR_REFUSED, "surrounding vote allowed");
    tkms_slashing_close(db);
    db = open_db(":memory:", gvr_a);
    CHECK(block(db, key1, 100, NULL, &err) == TKMS_OK, "a new :memory: database kept: %s",
          err.message);
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

/* Sets RLIMIT_FSIZE to the size of path's WAL so that it may not grow
 * (the write fails with EFBIG; SIGXFSZ ignored); *old is the limit to
 * restore. */
static void freeze_wal(const char *path, struct rlimit *old)
{
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat sb;
    if (stat(wal, &sb) != 0)
        test_fatal("no WAL file next to %s", path);
    if (getrlimit(RLIMIT_FSIZE, old) != 0)
        test_fatal("getrlimit");
    struct rlimit lim = *old;
    lim.rlim_cur = (rlim_t)sb.st_size;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        test_fatal("setrlimit");
}

/* A new database at path (512 bytes) holding block 1 of key1, its WAL
 * frozen by freeze_wal (*old: the limit to restore). */
static tkms_slashing_db *open_frozen(char *path, struct rlimit *old)
{
    snprintf(path, 512, "%s", new_path(NULL));
    tkms_slashing_db *db = open_db(path, gvr_a);
    tkms_err err;
    CHECK(block(db, key1, 1, NULL, &err) == TKMS_OK, "first record: %s", err.message);
    freeze_wal(path, old);
    return db;
}

static void test_file_size_limit(void)
{
    char path[512];
    struct rlimit old;
    tkms_slashing_db *db = open_frozen(path, &old);
    uint64_t failed = fill_until_refused(db, 2, "file size limit");
    setrlimit(RLIMIT_FSIZE, &old);
    tkms_slashing_close(db);
    if (failed > 0)
        check_after_recovery(path, failed - 1, failed, "file size limit");
}

/* ---- batches (group commit) ---------------------------------------------------- */

/* A batch whose COMMIT cannot write the WAL (RLIMIT_FSIZE): commit is
 * TKMS_ERR_IO and none of the batch's records exist; the handle then
 * works again. */
static void test_batch_commit_fails(void)
{
    char path[512];
    struct rlimit old;
    tkms_slashing_db *db = open_frozen(path, &old);
    tkms_err err;
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
    test_slashing_counts(db, key1, &blocks, &atts, &known);
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
    test_memory_db();
    test_durable_across_handles();
    test_kill9();
    test_file_size_limit();
    test_batch_commit_fails();
    test_tmpfs();
    remove_dir();
    return test_report();
}
