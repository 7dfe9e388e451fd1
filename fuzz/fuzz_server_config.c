/*
 * fuzz_server_config.c — libFuzzer target for the threshold server's YAML
 * configuration and rules (src/server/server_config.h, rules.h).
 *
 * The input is a config file applied on top of a fixed valid one (so the
 * required settings are there and accepted inputs get far), parsed with
 * server_config_parse_yaml from memory and completed with
 * server_config_finish. Any input must be refused with one printable line
 * (naming the document, for the parser's own refusals) or accepted with a
 * configuration inside every documented bound: absolute paths without
 * control characters, workers 1..64, body size 1 KiB..16 MiB, scrypt n a
 * power of two in 2^10..2^20, a valid owner id, a known preset and fork
 * version, at most 1024 rules. Parsing the same input twice must give the
 * same configuration, and rule checks and denial reasons on the result
 * must be well defined (printable, one line).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/owners.h"

#include "server_config.h"    /* the apps library (src/server), linked in */

#define NAME "fuzz.yaml"
#define BASE_DIR "/fuzz"

static const char BASE[] =
    "data_dir: data\n"
    "tls: {cert: server.pem, key: server.key, ca: ca.pem}\n"
    "genesis_validators_root: "
    "\"0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95\"\n";

static void require_printable(const char *text)
{
    INVARIANT(text[0] != '\0');
    for (const char *c = text; *c; c++)
        INVARIANT(*c >= 0x20 && *c <= 0x7e);
}

static void check_path(const char *path, bool required)
{
    if (path == NULL) {
        INVARIANT(!required);
        return;
    }
    INVARIANT(path[0] == '/');
    for (const char *c = path; *c; c++)
        INVARIANT((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_config(const server_config *cfg)
{
    INVARIANT(cfg->listen != NULL && cfg->listen_host != NULL && cfg->listen_host[0] != '\0');
    INVARIANT(strstr(cfg->listen, cfg->listen_host) != NULL);
    check_path(cfg->data_dir, true);
    check_path(cfg->tls_cert, true);
    check_path(cfg->tls_key, true);
    check_path(cfg->tls_ca, true);
    check_path(cfg->password_file, false);
    INVARIANT(cfg->owner == NULL || tkms_owner_id_valid(cfg->owner));
    INVARIANT(cfg->chain.preset == TKMS_ETH2_PRESET_MAINNET ||
              cfg->chain.preset == TKMS_ETH2_PRESET_MINIMAL);
    if (!cfg->genesis_fork_version_given) {
        static const uint8_t mainnet[4] = {0, 0, 0, 0}, minimal[4] = {0, 0, 0, 1};
        INVARIANT(memcmp(cfg->chain.genesis_fork_version,
                         cfg->chain.preset == TKMS_ETH2_PRESET_MINIMAL ? minimal : mainnet,
                         4) == 0);
    }
    INVARIANT(cfg->genesis_validators_root_given);
    INVARIANT(cfg->workers >= 1 && cfg->workers <= SERVER_CONFIG_MAX_WORKERS);
    INVARIANT(cfg->max_body_size >= SERVER_CONFIG_MIN_BODY_SIZE &&
              cfg->max_body_size <= SERVER_CONFIG_MAX_BODY_SIZE);
    uint32_t n = cfg->keystore.scrypt_n;
    INVARIANT(n >= SERVER_CONFIG_MIN_SCRYPT_N && n <= SERVER_CONFIG_MAX_SCRYPT_N &&
              (n & (n - 1)) == 0);
    INVARIANT(cfg->keystore.kdf == TKMS_KDF_SCRYPT || cfg->keystore.kdf == TKMS_KDF_PBKDF2);
    INVARIANT(cfg->log_level <= SERVER_LOG_DEBUG);
    INVARIANT(cfg->rules != NULL && server_rules_count(cfg->rules) <= SERVER_RULES_MAX);
}

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same(const server_config *a, const server_config *b)
{
    INVARIANT(same_string(a->listen, b->listen) && a->listen_port == b->listen_port);
    INVARIANT(same_string(a->data_dir, b->data_dir) && same_string(a->tls_cert, b->tls_cert) &&
              same_string(a->tls_key, b->tls_key) && same_string(a->tls_ca, b->tls_ca) &&
              same_string(a->password_file, b->password_file) &&
              same_string(a->owner, b->owner));
    INVARIANT(memcmp(&a->chain, &b->chain, sizeof a->chain) == 0 &&
              memcmp(a->genesis_validators_root, b->genesis_validators_root, 32) == 0);
    INVARIANT(a->workers == b->workers && a->max_body_size == b->max_body_size &&
              a->keystore.kdf == b->keystore.kdf && a->keystore.scrypt_n == b->keystore.scrypt_n &&
              a->log_level == b->log_level);
    INVARIANT(server_rules_count(a->rules) == server_rules_count(b->rules));
}

/* Rule checks on the parsed rules: defined for every input, and the
 * same answer for the two parses. */
static void check_rules(const server_config *a, const server_config *b)
{
    static const char *const clients[] = {"gateway-1", "operator", "*", "c0", "x", ""};
    uint8_t key[SERVER_RULE_KEY_SIZE];
    memset(key, 0xa9, sizeof key);
    for (size_t c = 0; c < sizeof clients / sizeof clients[0]; c++)
        for (int op = SERVER_OP_SIGN; op <= SERVER_OP_METRICS; op++)
            for (unsigned t = 0; t < SERVER_SIGN_TYPE_COUNT; t += op == SERVER_OP_SIGN ? 1 : 99) {
                bool allowed = server_rules_allow(a->rules, clients[c], (server_operation)op,
                                                  (tkms_eth2_type)t, key);
                INVARIANT(allowed == server_rules_allow(b->rules, clients[c],
                                                        (server_operation)op,
                                                        (tkms_eth2_type)t, key));
                INVARIANT(!allowed || server_rules_count(a->rules) > 0);
                INVARIANT(!allowed || clients[c][0] != '\0');
                if (!allowed) {
                    char reason[SERVER_RULES_DENIAL_SIZE];
                    server_rules_denial(reason, sizeof reason, clients[c], (server_operation)op,
                                        (tkms_eth2_type)t, key);
                    require_printable(reason);
                }
            }
}

/* Base document, then the input; the result (and *cfg, to free). */
static tkms_status parse(server_config *cfg, const uint8_t *data, size_t size, tkms_err *err)
{
    INVARIANT(server_config_init(cfg, err) == TKMS_OK);
    INVARIANT(server_config_parse_yaml(cfg, BASE, sizeof BASE - 1, BASE_DIR, "base.yaml", err) ==
              TKMS_OK);
    tkms_status st = server_config_parse_yaml(cfg, (const char *)data, size, BASE_DIR, NAME, err);
    if (st != TKMS_OK) {
        fuzz_require_explained(err);
        INVARIANT(st == TKMS_ERR_BAD_FORMAT || st == TKMS_ERR_NO_MEMORY);
        INVARIANT(strncmp(err->message, NAME ":", strlen(NAME ":")) == 0);
        return st;
    }
    st = server_config_finish(cfg, err);
    INVARIANT(st == TKMS_OK);   /* the base holds every required setting */
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SERVER_CONFIG_MAX_FILE_SIZE)
        return 0;
    server_config a, b;
    tkms_err err_a, err_b;
    tkms_status st_a = parse(&a, data, size, &err_a);
    tkms_status st_b = parse(&b, data, size, &err_b);
    INVARIANT(st_a == st_b);
    if (st_a != TKMS_OK) {
        INVARIANT(strcmp(err_a.message, err_b.message) == 0);
    } else {
        check_config(&a);
        check_same(&a, &b);
        check_rules(&a, &b);
    }
    server_config_free(&a);
    server_config_free(&b);
    return 0;
}
