/*
 * fuzz_gateway_config.c — libFuzzer target for the gateway's YAML
 * configuration (src/gateway/gateway_config.h) and the configuration
 * engine under it (src/server/config_source.h).
 *
 * The input is a config file applied on top of a fixed valid one (the
 * required settings, one server and tls.ca are there, so accepted inputs
 * get far), parsed with gateway_config_parse_yaml from memory and
 * completed with gateway_config_finish. Any input must be refused with
 * one printable line (naming the document, for the parser's own refusals;
 * never showing a database URL) or accepted with a configuration inside
 * every documented bound: absolute paths without control characters,
 * timeouts, workers, body size, scrypt n and the migration rule in their
 * ranges, 1..1024 servers with valid unique names, https URLs with a
 * non-zero port and unique identities, at most 1024 clients with valid
 * unique names whose auth fields agree with their kind, loopback-only
 * unique listen addresses, unique absolute token files, and standbys that
 * name another client. Parsing the same input twice must give the same
 * configuration and the same message.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_config.h"
#include "tkms/owners.h"

#include "../src/gateway/gateway_config.h"   /* the apps library, linked in */

static const char BASE[] =
    "data_dir: data\n"
    "tls: {cert: gw.pem, key: gw.key, ca: ca.pem}\n"
    "servers_tls: {cert: client.pem, key: client.key, ca: servers-ca.pem}\n"
    "genesis_validators_root: "
    "\"0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95\"\n"
    "servers:\n"
    "  - {name: base, url: \"https://base.example:9000\", identity: "
    "\"0xcecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc\"}\n";

static bool loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

static void check_config(const gateway_config *cfg)
{
    INVARIANT(cfg->listen != NULL && cfg->listen_host != NULL && cfg->listen_host[0] != '\0');
    INVARIANT(strstr(cfg->listen, cfg->listen_host) != NULL);
    fuzz_check_path(cfg->data_dir, true);
    fuzz_check_path(cfg->tls_cert, true);
    fuzz_check_path(cfg->tls_key, true);
    fuzz_check_path(cfg->tls_ca, false);
    fuzz_check_path(cfg->servers_tls_cert, true);
    fuzz_check_path(cfg->servers_tls_key, true);
    fuzz_check_path(cfg->servers_tls_ca, true);
    fuzz_check_path(cfg->keymanager_token_file, false);
    fuzz_check_path(cfg->password_file, false);
    INVARIANT(cfg->db == NULL || strncmp(cfg->db, "postgres://", 11) == 0 ||
              strncmp(cfg->db, "postgresql://", 13) == 0);
    INVARIANT(cfg->chain.preset == TKMS_ETH2_PRESET_MAINNET ||
              cfg->chain.preset == TKMS_ETH2_PRESET_MINIMAL);
    if (!cfg->genesis_fork_version_given) {
        static const uint8_t mainnet[4] = {0, 0, 0, 0}, minimal[4] = {0, 0, 0, 1};
        INVARIANT(memcmp(cfg->chain.genesis_fork_version,
                         cfg->chain.preset == TKMS_ETH2_PRESET_MINIMAL ? minimal : mainnet,
                         4) == 0);
    }
    INVARIANT(cfg->genesis_validators_root_given);
    INVARIANT(cfg->timeout_ms >= GATEWAY_CONFIG_MIN_TIMEOUT_MS &&
              cfg->timeout_ms <= GATEWAY_CONFIG_MAX_TIMEOUT_MS);
    INVARIANT(cfg->health_interval_ms >= GATEWAY_CONFIG_MIN_HEALTH_INTERVAL_MS &&
              cfg->health_interval_ms <= GATEWAY_CONFIG_MAX_HEALTH_INTERVAL_MS);
    INVARIANT(cfg->workers >= 1 && cfg->workers <= GATEWAY_CONFIG_MAX_WORKERS);
    INVARIANT(cfg->max_body_size >= GATEWAY_CONFIG_MIN_BODY_SIZE &&
              cfg->max_body_size <= GATEWAY_CONFIG_MAX_BODY_SIZE);
    uint32_t n = cfg->keystore.scrypt_n;
    INVARIANT(n >= GATEWAY_CONFIG_MIN_SCRYPT_N && n <= GATEWAY_CONFIG_MAX_SCRYPT_N &&
              (n & (n - 1)) == 0);
    INVARIANT(cfg->keystore.kdf == TKMS_KDF_SCRYPT || cfg->keystore.kdf == TKMS_KDF_PBKDF2);
    INVARIANT(cfg->log_level >= TKMS_LOG_ERROR && cfg->log_level <= TKMS_LOG_DEBUG);
    INVARIANT(cfg->migration_max_refusals >= 1 &&
              cfg->migration_max_refusals <= GATEWAY_CONFIG_MAX_REFUSALS);
    INVARIANT(cfg->migration_window_seconds >= 1 &&
              cfg->migration_window_seconds <= GATEWAY_CONFIG_MAX_WINDOW_SECONDS);

    INVARIANT(cfg->server_count >= 1 && cfg->server_count <= GATEWAY_CONFIG_MAX_SERVERS);
    for (size_t i = 0; i < cfg->server_count; i++) {
        const gateway_server *s = &cfg->servers[i];
        INVARIANT(tkms_owner_id_valid(s->name));
        INVARIANT(strncmp(s->url, "https://", 8) == 0 && strstr(s->url, s->host) != NULL);
        INVARIANT(s->port != 0 && s->host[0] != '\0');
        INVARIANT(gateway_config_server(cfg, s->name) == s);
        for (size_t j = 0; j < i; j++) {
            INVARIANT(strcmp(cfg->servers[j].url, s->url) != 0);
            INVARIANT(memcmp(cfg->servers[j].identity, s->identity, GATEWAY_IDENTITY_SIZE) != 0);
        }
    }
    INVARIANT(cfg->client_count <= GATEWAY_CONFIG_MAX_CLIENTS);
    for (size_t i = 0; i < cfg->client_count; i++) {
        const gateway_client *c = &cfg->clients[i];
        INVARIANT(tkms_owner_id_valid(c->name));
        INVARIANT(gateway_config_client(cfg, c->name) == c);
        INVARIANT((c->token_file != NULL) == (c->auth == GATEWAY_AUTH_TOKEN));
        INVARIANT((c->listen != NULL) == (c->auth == GATEWAY_AUTH_LISTEN));
        INVARIANT(c->auth != GATEWAY_AUTH_CERT || cfg->tls_ca != NULL);
        fuzz_check_path(c->token_file, false);
        if (c->listen != NULL) {
            INVARIANT(loopback(c->listen_host) && c->listen_port != 0);
            INVARIANT(strstr(c->listen, c->listen_host) != NULL);
        }
        if (c->standby != NULL)
            INVARIANT(strcmp(c->standby, c->name) != 0 &&
                      gateway_config_client(cfg, c->standby) != NULL);
        if (c->token_file != NULL && cfg->keymanager_token_file != NULL)
            INVARIANT(strcmp(c->token_file, cfg->keymanager_token_file) != 0);
        for (size_t j = 0; j < i; j++) {
            const gateway_client *d = &cfg->clients[j];
            INVARIANT(c->token_file == NULL || d->token_file == NULL ||
                      strcmp(c->token_file, d->token_file) != 0);
            INVARIANT(c->listen == NULL || d->listen == NULL || strcmp(c->listen, d->listen) != 0);
        }
    }
}

static void check_same(const gateway_config *a, const gateway_config *b)
{
    INVARIANT(fuzz_same_string(a->listen, b->listen) && a->listen_port == b->listen_port);
    INVARIANT(fuzz_same_string(a->data_dir, b->data_dir) && fuzz_same_string(a->db, b->db) &&
              fuzz_same_string(a->tls_cert, b->tls_cert) && fuzz_same_string(a->tls_key, b->tls_key) &&
              fuzz_same_string(a->tls_ca, b->tls_ca) &&
              fuzz_same_string(a->servers_tls_cert, b->servers_tls_cert) &&
              fuzz_same_string(a->servers_tls_key, b->servers_tls_key) &&
              fuzz_same_string(a->servers_tls_ca, b->servers_tls_ca) &&
              fuzz_same_string(a->keymanager_token_file, b->keymanager_token_file) &&
              fuzz_same_string(a->password_file, b->password_file));
    INVARIANT(memcmp(&a->chain, &b->chain, sizeof a->chain) == 0 &&
              memcmp(a->genesis_validators_root, b->genesis_validators_root, 32) == 0);
    INVARIANT(a->timeout_ms == b->timeout_ms && a->health_interval_ms == b->health_interval_ms &&
              a->workers == b->workers && a->max_body_size == b->max_body_size &&
              a->keystore.kdf == b->keystore.kdf && a->keystore.scrypt_n == b->keystore.scrypt_n &&
              a->log_level == b->log_level &&
              a->migration_max_refusals == b->migration_max_refusals &&
              a->migration_window_seconds == b->migration_window_seconds);
    INVARIANT(a->server_count == b->server_count && a->client_count == b->client_count);
    for (size_t i = 0; i < a->server_count; i++)
        INVARIANT(fuzz_same_string(a->servers[i].url, b->servers[i].url) &&
                  memcmp(a->servers[i].identity, b->servers[i].identity,
                         GATEWAY_IDENTITY_SIZE) == 0);
    for (size_t i = 0; i < a->client_count; i++)
        INVARIANT(fuzz_same_string(a->clients[i].name, b->clients[i].name) &&
                  a->clients[i].auth == b->clients[i].auth &&
                  fuzz_same_string(a->clients[i].token_file, b->clients[i].token_file) &&
                  fuzz_same_string(a->clients[i].listen, b->clients[i].listen) &&
                  fuzz_same_string(a->clients[i].standby, b->clients[i].standby));
}

/* A refusal of a db value never shows it (it may hold a password): a
 * message "fuzz.yaml:LINE: db: ..." quotes no user text. */
static void require_no_url(const tkms_err *err)
{
    const char *rest = strchr(err->message + strlen(FUZZ_CONFIG_NAME ":"), ':');
    if (rest != NULL && strncmp(rest, ": db: ", 6) == 0)
        INVARIANT(strchr(rest, '\'') == NULL);
}

/* finish refuses only on cross-setting checks: the base has the rest. */
static void check_finish_refusal(tkms_status st, const tkms_err *err)
{
    INVARIANT(st == TKMS_ERR_BAD_FORMAT);
    INVARIANT(strncmp(err->message, "clients: ", 9) == 0 ||
              strncmp(err->message, "keymanager.token_file: ", 23) == 0);
}

static tkms_status init(void *cfg, tkms_err *err)
{
    return gateway_config_init(cfg, err);
}

static tkms_status parse_yaml(void *cfg, const char *text, size_t len, const char *base_dir,
                              const char *name, tkms_err *err)
{
    return gateway_config_parse_yaml(cfg, text, len, base_dir, name, err);
}

static tkms_status finish(void *cfg, tkms_err *err)
{
    return gateway_config_finish(cfg, err);
}

static void free_config(void *cfg)
{
    gateway_config_free(cfg);
}

static void check_accepted(const void *a, const void *b)
{
    check_config(a);
    check_same(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fuzz_config_target target = {
        .base = BASE,
        .max_file_size = GATEWAY_CONFIG_MAX_FILE_SIZE,
        .size = sizeof(gateway_config),
        .init = init,
        .parse_yaml = parse_yaml,
        .finish = finish,
        .free = free_config,
        .check_parse_refusal = require_no_url,
        .check_finish_refusal = check_finish_refusal,
        .check_accepted = check_accepted,
    };
    return fuzz_config_run(&target, data, size);
}
