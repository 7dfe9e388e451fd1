/*
 * config_test.c — helpers shared by the configuration tests (see
 * config_test.h).
 */
#include "config_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

char config_root[PATH_MAX];
char config_etc[PATH_MAX + 8];
char config_yaml_path[PATH_MAX + 32];
char *const no_env[] = {NULL};

static const config_test_kind *kind;

void config_test_setup(const config_test_kind *k)
{
    static char tmp[] = "/tmp/tkms-config-test.XXXXXX";
    kind = k;
    if (mkdtemp(tmp) == NULL)
        test_fatal("mkdtemp");
    if (realpath(tmp, config_root) == NULL)
        test_fatal("realpath");
    snprintf(config_etc, sizeof config_etc, "%s/etc", config_root);
    snprintf(config_yaml_path, sizeof config_yaml_path, "%s/%s", config_etc, k->file_name);
    if (mkdir(config_etc, 0700) != 0 || chdir(config_root) != 0)
        test_fatal("set-up");
}

void config_test_cleanup(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", config_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", config_root);
}

void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0)
        test_fatal("cannot write %s", path);
}

bool contains(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

bool one_printable_line(const char *text)
{
    if (text[0] == '\0')
        return false;
    for (const char *c = text; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return false;
    return true;
}

char *path_in(const char *dir, const char *rel)
{
    static char buf[PATH_MAX * 2];
    snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    return buf;
}

const char *at_line(int line)
{
    static char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "%s:%d: ", config_yaml_path, line);
    return buf;
}

const char *unquoted(const char *value, char *buf, size_t size)
{
    size_t len = strlen(value);
    if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
        snprintf(buf, size, "%.*s", (int)(len - 2), value + 1);
        return buf;
    }
    return value;
}

tkms_status load_config(void *cfg, const char *yaml, char *const *env, const char *const *flags,
                        tkms_err *err)
{
    int argc = 0;
    while (flags != NULL && flags[argc] != NULL)
        argc++;
    if (yaml != NULL)
        write_text(config_yaml_path, yaml);
    tkms_status st = kind->load(cfg, yaml != NULL ? config_yaml_path : NULL,
                                env != NULL ? env : no_env, argc, (char **)flags, err);
    if (st != TKMS_OK && !one_printable_line(err->message))
        CHECK(false, "message is not one printable line: '%s'", err->message);
    return st;
}

void expect_error2(const char *what, const char *yaml, char *const *env, const char *const *flags,
                   tkms_status st, const char *prefix, const char *part)
{
    void *cfg = malloc(kind->size);
    if (cfg == NULL)
        test_fatal("out of memory");
    tkms_err err;
    tkms_status got = load_config(cfg, yaml, env, flags, &err);
    CHECK(got == st && strncmp(err.message, prefix, strlen(prefix)) == 0 &&
              contains(err.message, part),
          "%s: expected status %d and '%s...%s', got %d '%s'", what, (int)st, prefix, part,
          (int)got, got == TKMS_OK ? "" : err.message);
    kind->free(cfg);
    free(cfg);
}

void expect_error(const char *what, const char *yaml, char *const *env, const char *const *flags,
                  tkms_status st, const char *part)
{
    expect_error2(what, yaml, env, flags, st, "", part);
}
