/*
 * test_audit_log.c — the hash-chained audit log (tkms/audit.h): appending,
 * reopening and continuing the chain; verification of intact logs; every
 * kind of damage (a changed, deleted or reordered line, a torn tail, a
 * wrong first prev, a non-canonical line, an overlong line) reported at
 * the right line; open refusing a broken log and a second writer;
 * argument checks; durability (a fresh reader sees each record as soon as
 * append returns); and a disk that is full for a while (RLIMIT_FSIZE): the
 * failed append leaves nothing behind and the next one, once there is
 * room, continues the chain without a reopen. Batches: several records in
 * one write, all or nothing (a bad record, or a disk with room for part
 * of the batch, leaves none of its lines), the chain continuing across
 * batches and single appends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "tkms/audit.h"

static char dir[] = "/tmp/tkms-audit-test.XXXXXX";

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test_fatal("cannot open %s", path);
    char *buf = malloc(1 << 20);
    if (buf == NULL)
        test_fatal("out of memory");
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void spill(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        test_fatal("cannot write %s", path);
}

/* Writes a fresh log of n records at path. */
static void make_log(const char *path, int n)
{
    unlink(path);
    tkms_audit *log;
    tkms_err err;
    if (tkms_audit_open(&log, path, &err) != TKMS_OK)
        test_fatal("open %s: %s", path, err.message);
    for (int i = 1; i <= n; i++) {
        char data[64];
        snprintf(data, sizeof data, "{\"i\":%d,\"pk\":\"0xabcd\"}", i);
        if (tkms_audit_append(log, i % 2 ? "sign" : "sign.refused", data, &err) != TKMS_OK)
            test_fatal("append: %s", err.message);
    }
    tkms_audit_close(log);
}

/* Offsets of the starts of the lines of buf (up to 64), count in *n. */
static void line_starts(const char *buf, size_t len, size_t *starts, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < len && *n < 64; i++)
        if (i == 0 || buf[i - 1] == '\n')
            starts[(*n)++] = i;
}

/* Verifies path, expecting failure with a message containing `needle`. */
static void expect_bad(const char *what, const char *path, const char *needle)
{
    tkms_err err;
    uint64_t lines = 99;
    tkms_status s = tkms_audit_verify_file(path, &lines, NULL, &err);
    CHECK(s == TKMS_ERR_BAD_FORMAT, "%s: verify fails (%d)", what, (int)s);
    CHECK(strstr(err.message, needle) != NULL, "%s: message has '%s': %s", what, needle,
          err.message);
    CHECK(lines == 99, "%s: lines untouched on failure", what);
    /* open refuses it too, and leaves it as it was */
    size_t before_len, after_len;
    char *before = slurp(path, &before_len);
    tkms_audit *log = (tkms_audit *)1;
    s = tkms_audit_open(&log, path, &err);
    CHECK(s == TKMS_ERR_BAD_FORMAT && log == NULL, "%s: open refuses (%d)", what, (int)s);
    CHECK(strstr(err.message, needle) != NULL && strstr(err.message, "refusing") != NULL,
          "%s: open message: %s", what, err.message);
    char *after = slurp(path, &after_len);
    CHECK(before_len == after_len && memcmp(before, after, before_len) == 0,
          "%s: open leaves the log unchanged", what);
    free(before);
    free(after);
}

static void test_append_reopen_verify(void)
{
    const char *p = path_of("chain.log");
    tkms_audit *log;
    tkms_err err;
    uint8_t zero[TKMS_AUDIT_HASH_SIZE] = {0}, h[TKMS_AUDIT_HASH_SIZE], h2[TKMS_AUDIT_HASH_SIZE];
    uint64_t lines;

    CHECK(tkms_audit_open(&log, p, &err) == TKMS_OK, "open creates: %s", err.message);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "created with mode 0600");
    CHECK(tkms_audit_last_seq(log) == 0, "new log: seq 0");
    tkms_audit_last_hash(log, h);
    CHECK(memcmp(h, zero, sizeof h) == 0, "new log: zero hash");
    CHECK(tkms_audit_verify_file(p, &lines, h, &err) == TKMS_OK && lines == 0,
          "empty log verifies: %s", err.message);

    for (int i = 0; i < 3; i++) {
        CHECK(tkms_audit_append(log, "admin.ban", "{\"peer\":\"gw-1\",\"n\":[1,2.5,null]}",
                                &err) == TKMS_OK, "append %d: %s", i, err.message);
        /* durability: a fresh reader sees the record at once */
        CHECK(tkms_audit_verify_file(p, &lines, h, &err) == TKMS_OK && lines == (uint64_t)i + 1,
              "fresh verify after append %d sees it: %s", i, err.message);
        tkms_audit_last_hash(log, h2);
        CHECK(memcmp(h, h2, sizeof h) == 0, "append %d: handle and verify agree on the hash", i);
    }
    CHECK(tkms_audit_last_seq(log) == 3, "seq 3 after three appends");
    tkms_audit_close(log);

    /* reopen continues the chain */
    CHECK(tkms_audit_open(&log, p, &err) == TKMS_OK, "reopen: %s", err.message);
    CHECK(tkms_audit_last_seq(log) == 3, "reopen: seq 3");
    tkms_audit_last_hash(log, h2);
    CHECK(memcmp(h, h2, sizeof h) == 0, "reopen: last hash kept");
    CHECK(tkms_audit_append(log, "ceremony", "{}", &err) == TKMS_OK, "append after reopen: %s",
          err.message);
    tkms_audit_close(log);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 4,
          "4 records verify: %s", err.message);

    size_t len;
    char *buf = slurp(p, &len);
    CHECK(strncmp(buf, "{\"seq\":1,\"time\":\"", 17) == 0, "line 1 starts canonically");
    CHECK(strstr(buf, "\"data\":{\"peer\":\"gw-1\",\"n\":[1,2.5,null]}") != NULL,
          "data kept with its key order");
    CHECK(strstr(buf, "\"prev\":\"0x0000000000000000000000000000000000000000000000000000000000000000\"}\n{\"seq\":2,") != NULL,
          "first prev is zero");
    CHECK(buf[len - 1] == '\n', "ends in a newline");
    /* the buffer verifier agrees */
    CHECK(tkms_audit_verify_buffer((const uint8_t *)buf, len, &lines, h2, &err) == TKMS_OK &&
              lines == 4, "buffer verify: %s", err.message);
    CHECK(tkms_audit_verify_buffer(NULL, 0, &lines, NULL, &err) == TKMS_OK && lines == 0,
          "empty buffer verifies");
    free(buf);
}

static void test_tamper(void)
{
    const char *good = path_of("good.log"), *bad = path_of("bad.log");
    make_log(good, 6);
    size_t len, starts[64], n;
    char *buf = slurp(good, &len);
    line_starts(buf, len, starts, &n);
    CHECK(n == 6, "6 lines");

    /* change one character of line 3's data: line 4's prev no longer matches */
    char *t = malloc(len + 64);
    memcpy(t, buf, len + 1);
    char *d = strstr(t + starts[2], "0xabcd");
    d[2] = 'f';
    spill(bad, t, len);
    expect_bad("changed data", bad, "line 4: prev does not match the hash of line 3");

    /* change the last line: the chain cannot see it; seq of a middle line */
    memcpy(t, buf, len + 1);
    d = strstr(t + starts[5], "0xabcd");
    d[2] = 'f';
    spill(bad, t, len);
    tkms_err err;
    CHECK(tkms_audit_verify_file(bad, NULL, NULL, &err) == TKMS_OK,
          "a changed last line is not visible to the chain (documented)");
    memcpy(t, buf, len + 1);
    t[starts[1] + 7] = '7'; /* {"seq":2 -> {"seq":7 */
    spill(bad, t, len);
    expect_bad("changed seq", bad, "line 2: seq is 7, expected 2");

    /* delete line 3 */
    size_t l3 = starts[3] - starts[2];
    memcpy(t, buf, starts[2]);
    memcpy(t + starts[2], buf + starts[3], len - starts[3]);
    spill(bad, t, len - l3);
    expect_bad("deleted line", bad, "line 3: seq is 4, expected 3");

    /* delete the first line */
    spill(bad, buf + starts[1], len - starts[1]);
    expect_bad("deleted first line", bad, "line 1: seq is 2, expected 1");

    /* swap lines 4 and 5 */
    size_t l4 = starts[4] - starts[3], l5 = starts[5] - starts[4];
    memcpy(t, buf, len + 1);
    memcpy(t + starts[3], buf + starts[4], l5);
    memcpy(t + starts[3] + l5, buf + starts[3], l4);
    spill(bad, t, len);
    expect_bad("reordered", bad, "line 4: seq is 5, expected 4");

    /* torn last line: cut in the middle, and just the newline */
    spill(bad, buf, len - 10);
    expect_bad("torn tail", bad, "line 6 is incomplete (torn write)");
    spill(bad, buf, len - 1);
    expect_bad("missing last newline", bad, "line 6 is incomplete (torn write)");

    /* an empty line, a non-JSON line, a blank appended */
    memcpy(t, buf, len);
    t[len] = '\n';
    spill(bad, t, len + 1);
    expect_bad("empty line", bad, "line 7 is empty");
    memcpy(t, buf, len);
    memcpy(t + len, "hello\n", 6);
    spill(bad, t, len + 6);
    expect_bad("garbage line", bad, "line 7 is not JSON");

    /* non-canonical: a space added after a colon (the next prev fails
     * first), so test it on the last line */
    memcpy(t, buf, starts[5]);
    const char *rest = buf + starts[5];
    size_t k = (size_t)(strchr(rest, ':') - rest) + 1;
    memcpy(t + starts[5], rest, k);
    t[starts[5] + k] = ' ';
    memcpy(t + starts[5] + k + 1, rest + k, len - starts[5] - k);
    spill(bad, t, len + 1);
    expect_bad("non-canonical", bad, "line 6 is not in canonical form");

    /* a forged first line: right seq, nonzero prev */
    const char *forged =
        "{\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"sign\",\"data\":{},"
        "\"prev\":\"0x0000000000000000000000000000000000000000000000000000000000000001\"}\n";
    spill(bad, forged, strlen(forged));
    expect_bad("nonzero first prev", bad, "line 1: prev is not zero");
    const char *badtime =
        "{\"seq\":1,\"time\":\"2026-13-01T00:00:00Z\",\"event\":\"sign\",\"data\":{},"
        "\"prev\":\"0x0000000000000000000000000000000000000000000000000000000000000000\"}\n";
    spill(bad, badtime, strlen(badtime));
    expect_bad("bad time", bad, "line 1: time");
    const char *order =
        "{\"time\":\"2026-01-01T00:00:00Z\",\"seq\":1,\"event\":\"sign\",\"data\":{},"
        "\"prev\":\"0x0000000000000000000000000000000000000000000000000000000000000000\"}\n";
    spill(bad, order, strlen(order));
    expect_bad("key order", bad, "line 1: fields are not in the order");
    const char *dup =
        "{\"seq\":1,\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"sign\",\"data\":{},"
        "\"prev\":\"0x0000000000000000000000000000000000000000000000000000000000000000\"}\n";
    spill(bad, dup, strlen(dup));
    expect_bad("duplicate key", bad, "line 1 is not JSON");

    /* an overlong line (no newline within the limit) */
    size_t big = TKMS_AUDIT_MAX_LINE_SIZE + 100;
    char *huge = malloc(big + 1);
    memset(huge, 'x', big);
    huge[big] = '\n';
    spill(bad, huge, big + 1);
    expect_bad("overlong line", bad, "line 1 is longer than");
    free(huge);

    free(t);
    free(buf);
}

static void test_second_writer_and_args(void)
{
    const char *p = path_of("locked.log");
    make_log(p, 2);
    tkms_audit *a, *b = (tkms_audit *)1;
    tkms_err err;
    CHECK(tkms_audit_open(&a, p, &err) == TKMS_OK, "first writer: %s", err.message);
    CHECK(tkms_audit_open(&b, p, &err) == TKMS_ERR_IO && b == NULL,
          "second writer refused");
    CHECK(strstr(err.message, "in use by another writer") != NULL, "clear message: %s",
          err.message);
    uint64_t lines;
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 2,
          "verify needs no lock");

    /* argument errors leave the handle usable and the file unchanged */
    CHECK(tkms_audit_append(a, "", "{}", &err) == TKMS_ERR_INVALID_ARGUMENT, "empty event");
    CHECK(tkms_audit_append(a, "Sign", "{}", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "upper-case event");
    CHECK(tkms_audit_append(a, "sign\n", "{}", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "newline in event");
    CHECK(tkms_audit_append(a, "sign", "[1]", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "data not an object");
    CHECK(tkms_audit_append(a, "sign", "{\"a\":1", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "data not JSON");
    CHECK(tkms_audit_append(a, "sign", "{\"a\":1,\"a\":2}", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "duplicate keys in data");
    CHECK(tkms_audit_append(a, "sign", NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "NULL data");
    size_t big = TKMS_AUDIT_MAX_LINE_SIZE;
    char *data = malloc(big + 16);
    memcpy(data, "{\"x\":\"", 6);
    memset(data + 6, 'a', big);
    memcpy(data + 6 + big, "\"}", 3);
    CHECK(tkms_audit_append(a, "sign", data, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "more than") != NULL, "overlong record: %s", err.message);
    free(data);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 2,
          "refused appends wrote nothing");
    CHECK(tkms_audit_append(a, "sign", "{\"s\":\"line\\nbreak \\u00e9\"}", &err) == TKMS_OK,
          "escaped newline and unicode in data: %s", err.message);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 3,
          "still one record per line: %s", err.message);
    tkms_audit_close(a);

    /* the lock goes with the handle */
    CHECK(tkms_audit_open(&b, p, &err) == TKMS_OK, "open after close: %s", err.message);
    tkms_audit_close(b);
    tkms_audit_close(NULL);

    CHECK(tkms_audit_open(&b, path_of("no/such/dir.log"), &err) == TKMS_ERR_IO,
          "missing directory: IO error");
    CHECK(tkms_audit_verify_file(path_of("absent.log"), &lines, NULL, &err) == TKMS_ERR_IO,
          "verify of a missing file: IO error");
    CHECK(tkms_audit_verify_file(dir, &lines, NULL, &err) == TKMS_ERR_IO,
          "verify of a directory: IO error");
    CHECK(tkms_audit_open(NULL, p, &err) == TKMS_ERR_INVALID_ARGUMENT, "NULL out");
}

static void test_full_disk_recovers(void)
{
    const char *p = path_of("full.log");
    tkms_audit *log = NULL;
    tkms_err err;
    if (tkms_audit_open(&log, p, &err) != TKMS_OK)
        test_fatal("open: %s", err.message);
    CHECK(tkms_audit_append(log, "sign", "{\"n\":1}", &err) == TKMS_OK, "first append");
    struct stat sb;
    stat(p, &sb);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, tight;
    getrlimit(RLIMIT_FSIZE, &old);
    tight = old;
    tight.rlim_cur = (rlim_t)sb.st_size + 20;   /* room for part of a line only */
    setrlimit(RLIMIT_FSIZE, &tight);
    CHECK(tkms_audit_append(log, "sign", "{\"n\":2}", &err) == TKMS_ERR_IO,
          "append on a full disk fails");
    setrlimit(RLIMIT_FSIZE, &old);
    uint64_t lines = 0;
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 1,
          "the failed append left nothing behind (%llu lines): %s",
          (unsigned long long)lines, err.message);
    CHECK(tkms_audit_append(log, "sign", "{\"n\":3}", &err) == TKMS_OK,
          "with room again the next append works without a reopen: %s", err.message);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 2,
          "the chain continues (%llu lines)", (unsigned long long)lines);
    tkms_audit_close(log);
}

/* Batches: one write, all or nothing, the chain continues across them. */
static void test_batch(void)
{
    const char *p = path_of("batch.log");
    make_log(p, 2);
    tkms_audit *log;
    tkms_err err;
    uint64_t lines;
    uint8_t h[TKMS_AUDIT_HASH_SIZE], h2[TKMS_AUDIT_HASH_SIZE];
    if (tkms_audit_open(&log, p, &err) != TKMS_OK)
        test_fatal("open: %s", err.message);

    tkms_audit_record three[] = {{"sign", "{\"n\":3}"}, {"sign.refused", "{\"n\":4}"},
                                 {"admin.ban", "{\"n\":5,\"peer\":\"gw\"}"}};
    CHECK(tkms_audit_append_batch(log, three, 3, &err) == TKMS_OK, "batch of 3: %s",
          err.message);
    CHECK(tkms_audit_last_seq(log) == 5, "seq 5 after the batch");
    CHECK(tkms_audit_verify_file(p, &lines, h, &err) == TKMS_OK && lines == 5,
          "a fresh reader sees all 3 at once: %s", err.message);
    tkms_audit_last_hash(log, h2);
    CHECK(memcmp(h, h2, sizeof h) == 0, "handle and verify agree on the hash");
    size_t len;
    char *buf = slurp(p, &len);
    CHECK(strstr(buf, "{\"seq\":4,") != NULL && strstr(buf, "\"event\":\"sign.refused\","
                                                          "\"data\":{\"n\":4}") != NULL,
          "record 2 of the batch is line 4");
    free(buf);

    /* nothing to write */
    CHECK(tkms_audit_append_batch(log, NULL, 0, &err) == TKMS_OK, "empty batch");
    CHECK(tkms_audit_append_batch(log, NULL, 2, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL records");
    CHECK(tkms_audit_append_batch(NULL, three, 3, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL log");

    /* one bad record: none written, named, the handle stays usable */
    tkms_audit_record bad[] = {{"sign", "{\"n\":6}"}, {"Sign", "{\"n\":7}"},
                               {"sign", "{\"n\":8}"}};
    CHECK(tkms_audit_append_batch(log, bad, 3, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "record 2 of 3: event") != NULL,
          "bad event in a batch: %s", err.message);
    bad[1] = (tkms_audit_record){"sign", "[7]"};
    CHECK(tkms_audit_append_batch(log, bad, 3, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "record 2 of 3: data is not an object") != NULL,
          "bad data in a batch: %s", err.message);
    bad[1] = (tkms_audit_record){"sign", NULL};
    CHECK(tkms_audit_append_batch(log, bad, 3, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL data in a batch");
    size_t big = TKMS_AUDIT_MAX_LINE_SIZE;
    char *data = malloc(big + 16);
    memcpy(data, "{\"x\":\"", 6);
    memset(data + 6, 'a', big);
    memcpy(data + 6 + big, "\"}", 3);
    bad[1] = (tkms_audit_record){"sign", data};
    CHECK(tkms_audit_append_batch(log, bad, 3, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "record 2 of 3: record is") != NULL,
          "overlong record in a batch: %s", err.message);
    free(data);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 5,
          "refused batches wrote nothing (%llu lines)", (unsigned long long)lines);

    /* a disk with room for part of the batch: all or nothing */
    struct stat sb;
    stat(p, &sb);
    char *before = slurp(p, &len);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, tight;
    getrlimit(RLIMIT_FSIZE, &old);
    tight = old;
    tight.rlim_cur = (rlim_t)sb.st_size + 200;   /* room for one line and a bit */
    setrlimit(RLIMIT_FSIZE, &tight);
    tkms_audit_record many[40];
    char texts[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(texts[i], sizeof texts[i], "{\"n\":%d}", 100 + i);
        many[i] = (tkms_audit_record){"sign", texts[i]};
    }
    CHECK(tkms_audit_append_batch(log, many, 40, &err) == TKMS_ERR_IO,
          "a batch on a full disk fails: %s", err.message);
    CHECK(tkms_audit_append_batch(log, many, 1, &err) == TKMS_OK,
          "one line still fits: %s", err.message);
    CHECK(tkms_audit_append_batch(log, many + 1, 3, &err) == TKMS_ERR_IO,
          "three more do not: %s", err.message);
    setrlimit(RLIMIT_FSIZE, &old);
    char *after = slurp(p, &len);
    CHECK(strncmp(before, after, strlen(before)) == 0 &&
              tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 6,
          "the failed batches left none of their lines (%llu lines): %s",
          (unsigned long long)lines, err.message);
    free(before);
    free(after);
    CHECK(tkms_audit_append_batch(log, many + 1, 39, &err) == TKMS_OK,
          "with room again the batch goes on without a reopen: %s", err.message);
    CHECK(tkms_audit_verify_file(p, &lines, NULL, &err) == TKMS_OK && lines == 45,
          "the chain continues (%llu lines): %s", (unsigned long long)lines, err.message);
    CHECK(tkms_audit_append(log, "sign", "{}", &err) == TKMS_OK && tkms_audit_last_seq(log) == 46,
          "a single append after the batches");
    tkms_audit_close(log);
    CHECK(tkms_audit_open(&log, p, &err) == TKMS_OK && tkms_audit_last_seq(log) == 46,
          "reopen after batches: %s", err.message);
    tkms_audit_close(log);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp failed");
    test_append_reopen_verify();
    test_tamper();
    test_second_writer_and_args();
    test_full_disk_recovers();
    test_batch();
    const char *names[] = {"chain.log", "good.log",  "bad.log",
                           "locked.log", "full.log", "batch.log"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(path_of(names[i]));
    rmdir(dir);
    return test_report();
}
