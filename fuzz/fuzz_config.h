/*
 * fuzz_config.h — the part the configuration targets share
 * (fuzz_server_config.c, fuzz_gateway_config.c; header-only, each target
 * is its own program): a fixed valid base document, then the input, both
 * through the type's parse_yaml from memory, then its finish, done twice;
 * the two results must agree (status and message, or configuration), a
 * refusal by the parser must name the document in one printable line, and
 * an accepted configuration goes to the target's own checks.
 */
#ifndef TKMS_FUZZ_CONFIG_H
#define TKMS_FUZZ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define FUZZ_CONFIG_NAME "fuzz.yaml"
#define FUZZ_CONFIG_BASE_DIR "/fuzz"

typedef struct {
    const char *base;        /* a valid document with every required setting */
    size_t max_file_size;    /* larger inputs are skipped */
    size_t size;             /* sizeof the configuration struct */
    tkms_status (*init)(void *cfg, tkms_err *err);
    tkms_status (*parse_yaml)(void *cfg, const char *text, size_t len, const char *base_dir,
                              const char *name, tkms_err *err);
    tkms_status (*finish)(void *cfg, tkms_err *err);
    void (*free)(void *cfg);
    /* Extra checks on a refusal by the parser (NULL: none). */
    void (*check_parse_refusal)(const tkms_err *err);
    /* A refusal by finish (NULL: finish must accept, the base has it all). */
    void (*check_finish_refusal)(tkms_status st, const tkms_err *err);
    /* Both parses accepted: checks on a, and a against b. */
    void (*check_accepted)(const void *a, const void *b);
} fuzz_config_target;

/* A path the configuration resolved: absolute, no control characters. */
static inline void fuzz_check_path(const char *path, bool required)
{
    if (path == NULL) {
        INVARIANT(!required);
        return;
    }
    INVARIANT(path[0] == '/');
    for (const char *c = path; *c; c++)
        INVARIANT((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static inline bool fuzz_same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Base document, then the input, then finish; the result (and *cfg, to
 * free). */
static inline tkms_status fuzz_config_parse(const fuzz_config_target *t, void *cfg,
                                            const uint8_t *data, size_t size, tkms_err *err)
{
    INVARIANT(t->init(cfg, err) == TKMS_OK);
    INVARIANT(t->parse_yaml(cfg, t->base, strlen(t->base), FUZZ_CONFIG_BASE_DIR, "base.yaml",
                            err) == TKMS_OK);
    tkms_status st = t->parse_yaml(cfg, (const char *)data, size, FUZZ_CONFIG_BASE_DIR,
                                   FUZZ_CONFIG_NAME, err);
    if (st != TKMS_OK) {
        fuzz_require_explained(err);
        INVARIANT(st == TKMS_ERR_BAD_FORMAT || st == TKMS_ERR_NO_MEMORY);
        INVARIANT(strncmp(err->message, FUZZ_CONFIG_NAME ":", strlen(FUZZ_CONFIG_NAME ":")) == 0);
        if (t->check_parse_refusal != NULL)
            t->check_parse_refusal(err);
        return st;
    }
    st = t->finish(cfg, err);
    if (st != TKMS_OK) {
        INVARIANT(t->check_finish_refusal != NULL);
        fuzz_require_explained(err);
        t->check_finish_refusal(st, err);
    }
    return st;
}

/* The whole of LLVMFuzzerTestOneInput for a configuration type. */
static inline int fuzz_config_run(const fuzz_config_target *t, const uint8_t *data, size_t size)
{
    if (size > t->max_file_size)
        return 0;
    void *a = malloc(t->size), *b = malloc(t->size);
    INVARIANT(a != NULL && b != NULL);
    tkms_err err_a, err_b;
    tkms_status st_a = fuzz_config_parse(t, a, data, size, &err_a);
    tkms_status st_b = fuzz_config_parse(t, b, data, size, &err_b);
    INVARIANT(st_a == st_b);
    if (st_a != TKMS_OK)
        INVARIANT(strcmp(err_a.message, err_b.message) == 0);
    else
        t->check_accepted(a, b);
    t->free(a);
    t->free(b);
    free(a);
    free(b);
    return 0;
}

#endif /* TKMS_FUZZ_CONFIG_H */
