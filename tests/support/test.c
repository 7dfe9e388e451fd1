/*
 * test.c — implementation of the test harness in test.h.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tkms/hex.h"
#include "test.h"

unsigned long test_passed, test_failed;

void test_check(bool ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        test_passed++;
        return;
    }
    test_failed++;
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_report(void)
{
    printf("%lu passed, %lu failed\n", test_passed, test_failed);
    return test_failed == 0 && test_passed > 0 ? 0 : 1;
}

void test_fatal(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FATAL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static const char *vectors_dir(void)
{
    const char *dir = getenv("TKMS_VECTORS");
    if (dir == NULL || dir[0] == '\0')
        dir = getenv("TKMS_VECTORS_DEFAULT");
#ifdef TKMS_VECTORS_DEFAULT
    if (dir == NULL || dir[0] == '\0')
        dir = TKMS_VECTORS_DEFAULT;
#endif
    struct stat st;
    if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        test_fatal("official test vectors not found at '%s': set TKMS_VECTORS "
                   "to the shared/vectors directory", dir ? dir : "(unset)");
    return dir;
}

const char *test_vector_path(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", vectors_dir(), rel);
    return path;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **test_vector_files(const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_vector_path(rel));
    DIR *d = opendir(dir);
    if (d == NULL)
        test_fatal("vector directory %s is missing", dir);
    size_t n = 0, cap = 16;
    char **list = malloc(cap * sizeof *list);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n + 2 > cap)
            list = realloc(list, (cap *= 2) * sizeof *list);
        size_t plen = strlen(dir) + 1 + len + 1;
        list[n] = malloc(plen);
        snprintf(list[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n == 0)
        test_fatal("vector directory %s has no .json files", dir);
    qsort(list, n, sizeof *list, compare_strings);
    list[n] = NULL;
    return list;
}

void test_free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

const char *test_lodestar_path(const char *rel)
{
    static char path[8192];
    const char *dir = getenv("TKMS_LODESTAR");
    const char *source = getenv("TKMS_SOURCE_DIR");
    char fallback[4096];
    if ((dir == NULL || dir[0] == '\0') && source != NULL && source[0] != '\0') {
        snprintf(fallback, sizeof fallback, "%.4000s/../shared/lodestar", source);
        dir = fallback;
    }
#ifdef TKMS_LODESTAR_DEFAULT
    if (dir == NULL || dir[0] == '\0')
        dir = TKMS_LODESTAR_DEFAULT;
#endif
    struct stat st;
    if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        test_fatal("the shared Lodestar folder was not found at '%s': set TKMS_LODESTAR "
                   "to the shared/lodestar directory", dir ? dir : "(unset)");
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return path;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test_fatal("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        test_fatal("cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

json_t *test_load_json(const char *path)
{
    json_error_t error;
    json_t *j = json_load_file(path, 0, &error);
    if (j == NULL)
        test_fatal("%s: %s (line %d)", path, error.text, error.line);
    return j;
}

bool test_hex(const char *hex, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (hex == NULL)
        return false;
    size_t max = strlen(hex) / 2 + 1;
    *out = malloc(max);
    if (tkms_hex_decode_var(*out, max, out_len, hex, NULL) != TKMS_OK) {
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

uint32_t test_rand_below(tkms_rng *rng, uint32_t bound)
{
    uint8_t b[4];
    tkms_rng_fill(rng, b, sizeof b);
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return v % bound;
}

const char *test_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
