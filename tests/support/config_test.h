/*
 * config_test.h — helpers shared by the configuration tests
 * (tests/server/test_server_config.c, tests/gateway/test_gateway_config.c):
 * a temporary directory (the current directory while the test runs) with
 * an etc/ sub-directory holding the YAML file under test, loading a YAML
 * text with an explicit environment and flags, and expecting a refusal.
 *
 * A test describes its configuration type once (config_test_kind) and
 * calls config_test_setup with it; load_config, expect_error and
 * expect_error2 then work on that type.
 */
#ifndef TKMS_CONFIG_TEST_H
#define TKMS_CONFIG_TEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "tkms/status.h"

typedef struct {
    const char *file_name;   /* "server.yaml": the file in etc/ */
    size_t size;             /* sizeof the configuration struct */
    /* The type's *_config_load and *_config_free. */
    tkms_status (*load)(void *cfg, const char *yaml_path, char *const envp[], int argc,
                        char **argv, tkms_err *err);
    void (*free)(void *cfg);
} config_test_kind;

extern char config_root[PATH_MAX];        /* realpath of the temporary dir: the cwd */
extern char config_etc[PATH_MAX + 8];     /* config_root/etc                        */
extern char config_yaml_path[PATH_MAX + 32];   /* config_etc/<file_name>        */
extern char *const no_env[];              /* an empty environment                    */

/* Makes the temporary directory and etc/, changes into it, and remembers
 * `kind` (static) for the loads. Stops the test on failure. */
void config_test_setup(const config_test_kind *kind);

/* Removes the temporary directory. */
void config_test_cleanup(void);

/* Writes `text` to `path` or stops the test. */
void write_text(const char *path, const char *text);

bool contains(const char *text, const char *part);

/* True for a non-empty message of printable ASCII only (one line). */
bool one_printable_line(const char *text);

/* "dir/rel" (static until the next call). */
char *path_in(const char *dir, const char *rel);

/* "<config_yaml_path>:LINE: " (static until the next call). */
const char *at_line(int line);

/* `value` as the shell or argv would give it: one pair of enclosing
 * single quotes (YAML quoting) removed, into buf. */
const char *unquoted(const char *value, char *buf, size_t size);

/* Writes `yaml` (NULL: no file) to config_yaml_path and loads it with env
 * (NULL: no_env) and flags (NULL-terminated, NULL: none) into *cfg, which
 * the caller frees. A refusal's message must be one printable line (a
 * failed CHECK otherwise). */
tkms_status load_config(void *cfg, const char *yaml, char *const *env, const char *const *flags,
                        tkms_err *err);

/* Loads and expects status st with the message beginning with `prefix`
 * and containing `part`. */
void expect_error2(const char *what, const char *yaml, char *const *env, const char *const *flags,
                   tkms_status st, const char *prefix, const char *part);

/* expect_error2 without a prefix. */
void expect_error(const char *what, const char *yaml, char *const *env, const char *const *flags,
                  tkms_status st, const char *part);

#endif /* TKMS_CONFIG_TEST_H */
