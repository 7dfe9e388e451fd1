/*
 * test_banlist.c — the ban list on SQLite (tkms/banlist.h): bans per key
 * and for every key, the refresh rule of is_banned (another handle's ban
 * is seen only once the copy is older than the interval, or at once after
 * tkms_banlist_refresh; 0 reads every time; a failed refresh still
 * answers from the copy), unban keeping the
 * history, the JSON listing, binary evidence, bounds and one-line errors,
 * a file shared with a slashing database, the schema version, one handle
 * shared by several threads, and kill -9 right after bans returned (none
 * is lost). The same behaviour on PostgreSQL is tested by
 * test_slashing_backends.c (through tests/store/test_postgres.sh).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test.h"
#include "tkms/banlist.h"
#include "tkms/hex.h"
#include "tkms/slashing.h"

static char dir[] = "/tmp/tkms-banlist-test.XXXXXX";
static unsigned counter;
static uint8_t key1[TKMS_PUBLIC_KEY_SIZE], key2[TKMS_PUBLIC_KEY_SIZE];

static const char *new_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/bans-%u.sqlite", dir, counter++);
    return path;
}

static tkms_banlist *open_bl(const char *path)
{
    tkms_banlist *bl;
    tkms_err err;
    if (tkms_banlist_open(&bl, path, &err) != TKMS_OK)
        test_fatal("cannot open %s: %s", path, err.message);
    return bl;
}

static bool banned(tkms_banlist *bl, const char *server, const uint8_t *key)
{
    bool yes = false;
    tkms_err err;
    if (tkms_banlist_is_banned(bl, server, key, &yes, &err) != TKMS_OK)
        test_fatal("is_banned: %s", err.message);
    return yes;
}

static tkms_status ban(tkms_banlist *bl, const char *server, const uint8_t *key, int64_t *id,
                       tkms_err *err)
{
    return tkms_banlist_ban(bl, server, key, "invalid partial signature", "{}", 2, 100, id, NULL,
                            err);
}

static size_t count_listed(tkms_banlist *bl, bool history)
{
    char *json;
    tkms_err err;
    if (tkms_banlist_list(bl, history, &json, &err) != TKMS_OK)
        test_fatal("list: %s", err.message);
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    size_t n = json_array_size(doc);
    json_decref(doc);
    return n;
}

static void test_memory_and_listing(void)
{
    tkms_banlist *bl = open_bl(":memory:");
    tkms_err err;
    int64_t id;
    static const char evidence[] = {'{', 0, '\n', (char)0xff, '}'};   /* any bytes */
    CHECK(tkms_banlist_ban(bl, "s1", key1, "partial for 0x12 did not verify", evidence,
                           sizeof evidence, 1700000000, &id, NULL, &err) == TKMS_OK,
          "ban: %s", err.message);
    char *json;
    CHECK(tkms_banlist_list(bl, false, &json, &err) == TKMS_OK, "list: %s", err.message);
    json_t *doc = json_loads(json, 0, NULL), *e = json_array_get(doc, 0);
    CHECK(json_array_size(doc) == 1 && json_is_integer(json_object_get(e, "id")) &&
              json_is_string(json_object_get(e, "key")) &&
              json_integer_value(json_object_get(e, "since")) == 1700000000 &&
              json_integer_value(json_object_get(e, "evidence_size")) == sizeof evidence &&
              json_is_null(json_object_get(e, "unbanned_by")),
          "listing: %s", json);
    json_decref(doc);
    free(json);
    char *got;
    size_t len;
    CHECK(tkms_banlist_evidence(bl, id, &got, &len, &err) == TKMS_OK && len == sizeof evidence &&
              memcmp(got, evidence, len) == 0, "binary evidence: %s", err.message);
    free(got);
    tkms_banlist_close(bl);
    tkms_banlist_close(NULL);
}

static void test_bad_input(void)
{
    tkms_banlist *bl = NULL;
    tkms_err err;
    CHECK(tkms_banlist_open(&bl, "", &err) == TKMS_ERR_INVALID_ARGUMENT && bl == NULL,
          "empty location");
    CHECK(tkms_banlist_open(&bl, "/nonexistent-dir/x/bans.sqlite", &err) == TKMS_ERR_IO &&
              strstr(err.message, "/nonexistent-dir/x/bans.sqlite") != NULL &&
              strchr(err.message, '\n') == NULL,
          "unopenable file: %s", err.message);
    bl = open_bl(":memory:");
    char reason[TKMS_BANLIST_REASON_MAX + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    CHECK(tkms_banlist_ban(bl, "s1", key1, reason, NULL, 0, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "reason") != NULL,
          "reason too long: %s", err.message);
    reason[TKMS_BANLIST_REASON_MAX] = '\0';
    CHECK(tkms_banlist_ban(bl, "s1", key1, reason, NULL, 0, 1, NULL, NULL, &err) == TKMS_OK,
          "longest reason: %s", err.message);
    CHECK(tkms_banlist_ban(bl, "s1", key1, "", NULL, 0, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "empty reason");
    CHECK(tkms_banlist_ban(bl, "s\x7f", key1, "r", NULL, 0, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "DEL in a server name");
    CHECK(tkms_banlist_ban(bl, "s1", key1, "r", NULL, 5, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "evidence length without bytes");
    bool yes = true;
    CHECK(tkms_banlist_is_banned(bl, "", key1, &yes, &err) == TKMS_ERR_INVALID_ARGUMENT && !yes,
          "is_banned with an empty name");
    CHECK(tkms_banlist_unban(bl, "s9", NULL, "op", 1, NULL, &err) == TKMS_ERR_NOT_FOUND &&
              strstr(err.message, "s9 has no active ban") != NULL, "unban nothing: %s",
          err.message);
    CHECK(tkms_banlist_ban(NULL, "s1", key1, "r", NULL, 0, 1, NULL, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "NULL handle");
    tkms_banlist_close(bl);
}

/* The documented refresh rule, and a failed refresh answering from the copy. */
static void test_refresh_rule(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path());
    tkms_banlist *a = open_bl(path), *b = open_bl(path);
    tkms_err err;
    CHECK(!banned(a, "s1", key1), "fresh list");   /* a's copy is loaded now */
    CHECK(ban(b, "s1", key1, NULL, &err) == TKMS_OK, "ban: %s", err.message);
    CHECK(!banned(a, "s1", key1), "seen before the default 1 s interval passed: the copy "
                                  "was refreshed too early");
    tkms_banlist *c = open_bl(path);                /* an explicit refresh: at once */
    CHECK(!banned(c, "s2", key2), "c's copy, loaded now");
    CHECK(ban(a, "s2", key2, NULL, &err) == TKMS_OK, "ban: %s", err.message);
    CHECK(!banned(c, "s2", key2), "c's copy is older than a's ban");
    CHECK(tkms_banlist_refresh(c, &err) == TKMS_OK, "refresh: %s", err.message);
    CHECK(banned(c, "s2", key2) && banned(c, "s1", key1), "after tkms_banlist_refresh");
    CHECK(tkms_banlist_refresh(NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "refresh of NULL");
    tkms_banlist_close(c);
    tkms_banlist_set_refresh_ms(a, 0);
    CHECK(banned(a, "s1", key1), "interval 0: the other handle's ban not seen");
    CHECK(banned(a, "s1", NULL) && !banned(a, "s1", key2), "any ban / other key");

    /* the table disappears: the refresh fails, the answer comes from the copy */
    sqlite3 *raw;
    CHECK(sqlite3_open(path, &raw) == SQLITE_OK &&
              sqlite3_exec(raw, "ALTER TABLE bans RENAME TO bans_gone", NULL, NULL, NULL) ==
                  SQLITE_OK, "rename the table");
    bool yes = false;
    CHECK(tkms_banlist_is_banned(a, "s1", key1, &yes, &err) == TKMS_ERR_IO && yes &&
              strstr(err.message, "ban list: could not list the bans") != NULL,
          "failed refresh: %d, %s", yes, err.message);
    sqlite3_exec(raw, "ALTER TABLE bans_gone RENAME TO bans", NULL, NULL, NULL);
    sqlite3_close(raw);
    CHECK(banned(a, "s1", key1), "after the table came back");
    tkms_banlist_close(a);
    tkms_banlist_close(b);
}

/* One file for the slashing database and the ban list; schema version. */
static void test_shared_file_and_version(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path());
    static const uint8_t gvr[TKMS_ROOT_SIZE] = {1};
    tkms_slashing_db *db;
    tkms_err err;
    if (tkms_slashing_open(&db, path, gvr, &err) != TKMS_OK)
        test_fatal("slashing open: %s", err.message);
    tkms_banlist *bl = open_bl(path);
    CHECK(tkms_slashing_check_block(db, key1, 5, NULL, &err) == TKMS_OK, "block: %s", err.message);
    CHECK(ban(bl, "s1", NULL, NULL, &err) == TKMS_OK, "ban: %s", err.message);
    CHECK(tkms_slashing_check_block(db, key1, 5, NULL, &err) == TKMS_ERR_REFUSED, "double block");
    tkms_banlist_close(bl);
    tkms_slashing_close(db);

    sqlite3 *raw;
    CHECK(sqlite3_open(path, &raw) == SQLITE_OK &&
              sqlite3_exec(raw, "UPDATE banlist_version SET version = 7", NULL, NULL, NULL) ==
                  SQLITE_OK, "change the version");
    sqlite3_close(raw);
    bl = NULL;
    CHECK(tkms_banlist_open(&bl, path, &err) == TKMS_ERR_UNSUPPORTED && bl == NULL &&
              strstr(err.message, "schema version 7") != NULL, "version 7: %s", err.message);
    if (tkms_slashing_open(&db, path, gvr, &err) != TKMS_OK)
        test_fatal("slashing open after: %s", err.message);
    tkms_slashing_close(db);
}

/* ---- threads ---------------------------------------------------------------------- */

enum { THREADS = 4, BANS_PER_THREAD = 25 };

typedef struct {
    tkms_banlist *bl;
    int index;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    tkms_err err;
    for (int i = 0; i < BANS_PER_THREAD; i++) {
        char server[32];
        snprintf(server, sizeof server, "t%d-%d", w->index, i);
        bool yes = false;
        if (tkms_banlist_is_banned(w->bl, server, key1, &yes, &err) != TKMS_OK || yes)
            w->failures++;
        if (ban(w->bl, server, key1, NULL, &err) != TKMS_OK)
            w->failures++;
        if (tkms_banlist_is_banned(w->bl, server, key2, &yes, &err) != TKMS_OK || yes)
            w->failures++;
        if (tkms_banlist_is_banned(w->bl, server, key1, &yes, &err) != TKMS_OK || !yes)
            w->failures++;
    }
    return NULL;
}

static void test_threads(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path());
    tkms_banlist *bl = open_bl(path);
    tkms_banlist_set_refresh_ms(bl, 1);   /* refreshes interleave with bans */
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){bl, i, 0};
        if (pthread_create(&threads[i], NULL, work, &workers[i]) != 0)
            test_fatal("pthread_create failed");
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        failures += workers[i].failures;
    }
    CHECK(failures == 0, "%d failures with %d threads on one handle", failures, THREADS);
    CHECK(count_listed(bl, false) == THREADS * BANS_PER_THREAD, "threads: %zu bans listed",
          count_listed(bl, false));
    tkms_banlist_close(bl);
}

/* A child bans servers and reports each one after the call returned; it
 * is killed with SIGKILL. Every reported ban must be there. */
static void test_kill9(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", new_path());
    tkms_banlist_close(open_bl(path));
    int fds[2];
    if (pipe(fds) != 0)
        test_fatal("pipe failed");
    pid_t pid = fork();
    if (pid < 0)
        test_fatal("fork failed");
    if (pid == 0) {
        close(fds[0]);
        tkms_banlist *bl = open_bl(path);
        for (unsigned i = 0;; i++) {
            char server[32];
            tkms_err err;
            snprintf(server, sizeof server, "k%u", i);
            if (ban(bl, server, NULL, NULL, &err) != TKMS_OK ||
                write(fds[1], &i, sizeof i) != sizeof i)
                _exit(1);
        }
    }
    close(fds[1]);
    unsigned i, reported = 0;
    while (reported < 60 && read(fds[0], &i, sizeof i) == sizeof i)
        reported++;
    kill(pid, SIGKILL);
    while (read(fds[0], &i, sizeof i) == sizeof i)
        reported++;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status), "child was not killed");
    tkms_banlist *bl = open_bl(path);
    unsigned lost = 0;
    for (i = 0; i < reported; i++) {
        char server[32];
        snprintf(server, sizeof server, "k%u", i);
        lost += !banned(bl, server, key1);
    }
    CHECK(reported >= 60 && lost == 0, "kill -9: %u of %u reported bans lost", lost, reported);
    tkms_banlist_close(bl);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("cannot create a temporary directory");
    memset(key1, 0x11, sizeof key1);
    memset(key2, 0x22, sizeof key2);
    test_memory_and_listing();
    test_bad_input();
    test_refresh_rule();
    test_shared_file_and_version();
    test_threads();
    test_kill9();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", dir);
    return test_report();
}
