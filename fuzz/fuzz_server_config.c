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

#include "fuzz_config.h"
#include "tkms/owners.h"

#include "server_config.h"    /* the apps library (src/server), linked in */

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

static void check_config(const server_config *cfg)
{
    INVARIANT(cfg->listen != NULL && cfg->listen_host != NULL && cfg->listen_host[0] != '\0');
    INVARIANT(strstr(cfg->listen, cfg->listen_host) != NULL);
    fuzz_check_path(cfg->data_dir, true);
    fuzz_check_path(cfg->tls_cert, true);
    fuzz_check_path(cfg->tls_key, true);
    fuzz_check_path(cfg->tls_ca, true);
    fuzz_check_path(cfg->password_file, false);
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

static void check_same(const server_config *a, const server_config *b)
{
    INVARIANT(fuzz_same_string(a->listen, b->listen) && a->listen_port == b->listen_port);
    INVARIANT(fuzz_same_string(a->data_dir, b->data_dir) && fuzz_same_string(a->tls_cert, b->tls_cert) &&
              fuzz_same_string(a->tls_key, b->tls_key) && fuzz_same_string(a->tls_ca, b->tls_ca) &&
              fuzz_same_string(a->password_file, b->password_file) &&
              fuzz_same_string(a->owner, b->owner));
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

static tkms_status init(void *cfg, tkms_err *err)
{
    return server_config_init(cfg, err);
}

static tkms_status parse_yaml(void *cfg, const char *text, size_t len, const char *base_dir,
                              const char *name, tkms_err *err)
{
    return server_config_parse_yaml(cfg, text, len, base_dir, name, err);
}

static tkms_status finish(void *cfg, tkms_err *err)
{
    return server_config_finish(cfg, err);
}

static void free_config(void *cfg)
{
    server_config_free(cfg);
}

static void check_accepted(const void *a, const void *b)
{
    check_config(a);
    check_same(a, b);
    check_rules(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fuzz_config_target target = {
        .base = BASE,
        .max_file_size = SERVER_CONFIG_MAX_FILE_SIZE,
        .size = sizeof(server_config),
        .init = init,
        .parse_yaml = parse_yaml,
        .finish = finish,   /* the base holds every required setting: no refusal */
        .free = free_config,
        .check_accepted = check_accepted,
    };
    return fuzz_config_run(&target, data, size);
}
