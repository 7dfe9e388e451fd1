/*
 * gateway_config.c — the gateway's configuration (gateway_config.h) on the
 * configuration engine (config_source.h): the table of settings (what the
 * YAML file, the TKMS_* environment and the flags are all matched
 * against) and the setters of the gateway's own, the YAML-only `servers`
 * and `clients` lists, the checks that span settings, and the help.
 * Sources, precedence, the YAML tree, paths and the shared value parsers
 * are the engine's, and the settings every daemon has are
 * config_common.h's, exactly as for the threshold server.
 */
#include "gateway_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_common.h"
#include "config_source.h"

#define SHOW(buf, text) CONFIG_SHOW(buf, text)
#define WHERE_SIZE 192u             /* "gateway.yaml:12: clients[1023].token_file" */

static const config_schema SCHEMA;

static tkms_status out_of_memory(tkms_err *err)
{
    return config_out_of_memory(&SCHEMA, err);
}

const char *gateway_auth_name(gateway_auth auth)
{
    switch (auth) {
    case GATEWAY_AUTH_CERT: return "cert";
    case GATEWAY_AUTH_TOKEN: return "token";
    case GATEWAY_AUTH_LISTEN: return "listen";
    }
    return "unknown";
}

/* ---- the gateway's own setters (config_setter) -------------------------------
 * The settings every daemon has are config_common.h's. */

#define PATH_SETTER(fn, field)                                                        \
    static tkms_status fn(const config_schema *schema, void *c, const char *value,    \
                          const char *base, const char *where, tkms_err *err)         \
    {                                                                                 \
        (void)where;                                                                  \
        return config_set_path(schema, &((gateway_config *)c)->field, base, value, err); \
    }
PATH_SETTER(set_servers_tls_cert, servers_tls_cert)
PATH_SETTER(set_servers_tls_key, servers_tls_key)
PATH_SETTER(set_servers_tls_ca, servers_tls_ca)
PATH_SETTER(set_keymanager_token_file, keymanager_token_file)

/* An unsigned setting in [min, max] stored as `unsigned`. */
#define UINT_SETTER(fn, field, min, max)                                              \
    static tkms_status fn(const config_schema *schema, void *c, const char *value,    \
                          const char *base, const char *where, tkms_err *err)         \
    {                                                                                 \
        (void)schema;                                                                 \
        (void)base;                                                                   \
        uint64_t v;                                                                   \
        tkms_status st = config_value_uint(value, where, (min), (max), &v, err);      \
        if (st == TKMS_OK)                                                            \
            ((gateway_config *)c)->field = (unsigned)v;                               \
        return st;                                                                    \
    }
UINT_SETTER(set_timeout_ms, timeout_ms, GATEWAY_CONFIG_MIN_TIMEOUT_MS,
            GATEWAY_CONFIG_MAX_TIMEOUT_MS)
UINT_SETTER(set_health_interval_ms, health_interval_ms, GATEWAY_CONFIG_MIN_HEALTH_INTERVAL_MS,
            GATEWAY_CONFIG_MAX_HEALTH_INTERVAL_MS)
UINT_SETTER(set_migration_max_refusals, migration_max_refusals, 1, GATEWAY_CONFIG_MAX_REFUSALS)
UINT_SETTER(set_migration_window_seconds, migration_window_seconds, 1,
            GATEWAY_CONFIG_MAX_WINDOW_SECONDS)
UINT_SETTER(set_migration_silence_seconds, migration_silence_seconds, 0,
            GATEWAY_CONFIG_MAX_SILENCE_SECONDS)

/* A PostgreSQL connection URI. It may hold a password, so no message shows
 * it. */
static tkms_status set_db(const config_schema *schema, void *c, const char *value,
                          const char *base, const char *where, tkms_err *err)
{
    (void)base;
    bool uri = strncmp(value, "postgres://", 11) == 0 || strncmp(value, "postgresql://", 13) == 0;
    if (!uri || strchr(value, ' ') != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: expected a postgres://... or postgresql://... URL without spaces "
                         "(the value is not shown: it may hold a password)",
                         where);
    return config_set_string(schema, &((gateway_config *)c)->db, strdup(value), err);
}

/* ---- the table: one row per setting, for all three sources ---------------- */

#define LISTEN_HINT " (quote IPv6 addresses: \"[::1]:9100\")"

static const config_setting SETTINGS[] = {
    {"listen", "TKMS_LISTEN", "listen", config_common_set_listen, LISTEN_HINT},
    {"data_dir", "TKMS_DATA_DIR", "data-dir", config_common_set_data_dir, NULL},
    {"db", "TKMS_DB", "db", set_db, NULL},
    {"tls.cert", "TKMS_TLS_CERT", "tls-cert", config_common_set_tls_cert, NULL},
    {"tls.key", "TKMS_TLS_KEY", "tls-key", config_common_set_tls_key, NULL},
    {"tls.ca", "TKMS_TLS_CA", "tls-ca", config_common_set_tls_ca, NULL},
    {"servers_tls.cert", "TKMS_SERVERS_TLS_CERT", "servers-tls-cert", set_servers_tls_cert, NULL},
    {"servers_tls.key", "TKMS_SERVERS_TLS_KEY", "servers-tls-key", set_servers_tls_key, NULL},
    {"servers_tls.ca", "TKMS_SERVERS_TLS_CA", "servers-tls-ca", set_servers_tls_ca, NULL},
    {"keymanager.token_file", "TKMS_KEYMANAGER_TOKEN_FILE", "keymanager-token-file",
     set_keymanager_token_file, NULL},
    {"password_file", "TKMS_PASSWORD_FILE", "password-file", config_common_set_password_file,
     NULL},
    {"network", "TKMS_NETWORK", "network", config_common_set_network, NULL},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "genesis-fork-version",
     config_common_set_genesis_fork_version, NULL},
    {"genesis_validators_root", "TKMS_GENESIS_VALIDATORS_ROOT", "genesis-validators-root",
     config_common_set_genesis_validators_root, NULL},
    {"timeout_ms", "TKMS_TIMEOUT_MS", "timeout-ms", set_timeout_ms, NULL},
    {"health_interval_ms", "TKMS_HEALTH_INTERVAL_MS", "health-interval-ms",
     set_health_interval_ms, NULL},
    {"workers", "TKMS_WORKERS", "workers", config_common_set_workers, NULL},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "max-body-size", config_common_set_max_body_size,
     NULL},
    {"keystore.kdf", "TKMS_KEYSTORE_KDF", "keystore-kdf", config_common_set_keystore_kdf, NULL},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "keystore-scrypt-n",
     config_common_set_keystore_scrypt_n, NULL},
    {"log_level", "TKMS_LOG_LEVEL", "log-level", config_common_set_log_level, NULL},
    {"migration.max_refusals", "TKMS_MIGRATION_MAX_REFUSALS", "migration-max-refusals",
     set_migration_max_refusals, NULL},
    {"migration.window_seconds", "TKMS_MIGRATION_WINDOW_SECONDS", "migration-window-seconds",
     set_migration_window_seconds, NULL},
    {"migration.silence_seconds", "TKMS_MIGRATION_SILENCE_SECONDS", "migration-silence-seconds",
     set_migration_silence_seconds, NULL},
};
#define SETTING_COUNT (sizeof SETTINGS / sizeof SETTINGS[0])

/* ---- servers (YAML only) ------------------------------------------------------ */

static void server_clear(gateway_server *s)
{
    free(s->name);
    free(s->url);
    free(s->host);
    memset(s, 0, sizeof *s);
}

/* "https://HOST:PORT" (one trailing "/" allowed), port 1..65535. */
static tkms_status parse_url(const char *value, const char *where, gateway_server *s,
                             tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    if (strncmp(value, "https://", 8) != 0) {
        if (strncmp(value, "http://", 7) == 0)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: must be https:// (servers are reached over mutual TLS), "
                             "got '%s'",
                             where, SHOW(shown, value));
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected https://HOST:PORT, got '%s'",
                         where, SHOW(shown, value));
    }
    size_t len = strlen(value + 8);
    if (len > 0 && value[8 + len - 1] == '/')
        len--;
    char *rest = strndup(value + 8, len);
    if (rest == NULL)
        return out_of_memory(err);
    if (strpbrk(rest, "/?#@") != NULL) {
        free(rest);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: expected https://HOST:PORT without user, path or query, got '%s'",
                         where, SHOW(shown, value));
    }
    config_host_port hp;
    tkms_status st = config_value_host_port(&SCHEMA, rest, where, &hp, err);
    free(rest);
    if (st != TKMS_OK)
        return st;
    if (hp.port == 0) {
        config_host_port_free(&hp);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: the port must be 1..65535, got '%s'",
                         where, SHOW(shown, value));
    }
    size_t size = strlen(hp.text) + 9;
    s->url = malloc(size);
    if (s->url == NULL) {
        config_host_port_free(&hp);
        return out_of_memory(err);
    }
    snprintf(s->url, size, "https://%s", hp.text);
    s->host = hp.host;
    s->port = hp.port;
    free(hp.text);
    return TKMS_OK;
}

static tkms_status parse_identity(const char *value, const char *where, uint8_t *identity,
                                  tkms_err *err)
{
    tkms_status st = config_value_hex(value, where, identity, GATEWAY_IDENTITY_SIZE, err);
    if (st != TKMS_OK)
        return st;
    if (sodium_init() < 0)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "gateway config: cannot start libsodium");
    if (crypto_core_ed25519_is_valid_point(identity) != 1)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: not an Ed25519 public key (off the curve or of small order)",
                         where);
    return TKMS_OK;
}

static tkms_status walk_server(const config_doc *doc, size_t index, const config_node *map)
{
    gateway_config *cfg = doc->cfg;
    static const char *const fields[] = {"name", "url", "identity"};
    char what[48], field[64], where[WHERE_SIZE], shown[CONFIG_SHOW_SIZE];
    snprintf(what, sizeof what, "servers[%zu]", index);
    const config_node *values[3];
    tkms_status st = config_doc_fields(doc, map, what, fields, 3, values);
    if (st != TKMS_OK)
        return st;
    for (size_t j = 0; j < 3; j++)
        if (values[j] == NULL)
            return config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT, "%s: %s: required", what,
                                   fields[j]);

    gateway_server s;
    memset(&s, 0, sizeof s);
    const char *text;
    snprintf(field, sizeof field, "%s.name", what);
    if ((st = config_doc_value(doc, values[0], field, where, sizeof where, &text)) != TKMS_OK ||
        (st = config_value_owner_id(text, where, doc->err)) != TKMS_OK)
        return st;
    for (size_t i = 0; i < cfg->server_count; i++)
        if (strcmp(cfg->servers[i].name, text) == 0)
            return tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT, "%s: duplicate server name '%s'",
                             where, SHOW(shown, text));
    if ((s.name = strdup(text)) == NULL)
        return out_of_memory(doc->err);

    snprintf(field, sizeof field, "%s.url", what);
    st = config_doc_value(doc, values[1], field, where, sizeof where, &text);
    if (st == TKMS_OK)
        st = parse_url(text, where, &s, doc->err);
    for (size_t i = 0; st == TKMS_OK && i < cfg->server_count; i++)
        if (strcmp(cfg->servers[i].url, s.url) == 0)
            st = tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT, "%s: %s is also server '%s'", where,
                           SHOW(shown, s.url), cfg->servers[i].name);

    if (st == TKMS_OK) {
        snprintf(field, sizeof field, "%s.identity", what);
        st = config_doc_value(doc, values[2], field, where, sizeof where, &text);
    }
    if (st == TKMS_OK)
        st = parse_identity(text, where, s.identity, doc->err);
    for (size_t i = 0; st == TKMS_OK && i < cfg->server_count; i++)
        if (memcmp(cfg->servers[i].identity, s.identity, GATEWAY_IDENTITY_SIZE) == 0)
            st = tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT, "%s: also the identity of server '%s'",
                           where, cfg->servers[i].name);

    if (st == TKMS_OK) {
        gateway_server *grown = realloc(cfg->servers, (cfg->server_count + 1) * sizeof *grown);
        if (grown == NULL) {
            st = out_of_memory(doc->err);
        } else {
            cfg->servers = grown;
            cfg->servers[cfg->server_count++] = s;
            return TKMS_OK;
        }
    }
    server_clear(&s);
    return st;
}

static tkms_status walk_servers(void *c, const config_doc *doc, const config_node *v)
{
    gateway_config *cfg = c;
    return config_doc_list(doc, v, "servers", "expected a list of {name, url, identity}",
                           "a list of {name, url, identity}",
                           GATEWAY_CONFIG_MAX_SERVERS - cfg->server_count,
                           GATEWAY_CONFIG_MAX_SERVERS, walk_server);
}

/* ---- clients (YAML only) ------------------------------------------------------ */

static void client_clear(gateway_client *cl)
{
    free(cl->name);
    free(cl->token_file);
    free(cl->listen);
    free(cl->listen_host);
    free(cl->standby);
    memset(cl, 0, sizeof *cl);
}

/* A loopback address with a non-zero port: 127.0.0.0/8 or [::1]. */
static tkms_status parse_client_listen(const char *value, const char *where, gateway_client *cl,
                                       tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    config_host_port hp;
    tkms_status st = config_value_host_port(&SCHEMA, value, where, &hp, err);
    if (st != TKMS_OK)
        return st;
    bool loopback = false;
    if (hp.v6) {
        struct in6_addr a6;
        loopback = inet_pton(AF_INET6, hp.host, &a6) == 1 &&
                   memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
    } else {
        struct in_addr a4;
        loopback = inet_pton(AF_INET, hp.host, &a4) == 1 &&
                   (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (!loopback || hp.port == 0) {
        config_host_port_free(&hp);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be a loopback address and a port, as 127.0.0.1:9101 or "
                         "[::1]:9101 (plain HTTP is only served on loopback), got '%s'",
                         where, SHOW(shown, value));
    }
    cl->listen = hp.text;
    cl->listen_host = hp.host;
    cl->listen_port = hp.port;
    return TKMS_OK;
}

static tkms_status walk_client(const config_doc *doc, size_t index, const config_node *map)
{
    gateway_config *cfg = doc->cfg;
    static const char *const fields[] = {"name", "auth", "token_file", "listen", "standby"};
    static const char *const auths[] = {"cert", "token", "listen"};
    char what[48], field[64], where[WHERE_SIZE], shown[CONFIG_SHOW_SIZE];
    snprintf(what, sizeof what, "clients[%zu]", index);
    const config_node *values[5];
    tkms_status st = config_doc_fields(doc, map, what, fields, 5, values);
    if (st != TKMS_OK)
        return st;
    const config_node *name = values[0], *auth = values[1], *token_file = values[2],
                      *listen = values[3], *standby = values[4];
    if (name == NULL || auth == NULL)
        return config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT, "%s: %s: required", what,
                               name == NULL ? "name" : "auth");

    gateway_client cl;
    memset(&cl, 0, sizeof cl);
    const char *text;
    snprintf(field, sizeof field, "%s.name", what);
    if ((st = config_doc_value(doc, name, field, where, sizeof where, &text)) != TKMS_OK ||
        (st = config_value_owner_id(text, where, doc->err)) != TKMS_OK)
        return st;
    for (size_t i = 0; i < cfg->client_count; i++)
        if (strcmp(cfg->clients[i].name, text) == 0)
            return tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT, "%s: duplicate client name '%s'",
                             where, SHOW(shown, text));
    if ((cl.name = strdup(text)) == NULL)
        return out_of_memory(doc->err);

    size_t kind = 0;
    snprintf(field, sizeof field, "%s.auth", what);
    st = config_doc_value(doc, auth, field, where, sizeof where, &text);
    if (st == TKMS_OK)
        st = config_value_enum(text, where, auths, 3, &kind, doc->err);
    cl.auth = (gateway_auth)kind;

    /* token_file with auth: token, listen with auth: listen, never otherwise */
    const struct {
        const config_node *node;
        const char *key;
        gateway_auth auth;
    } extra[] = {{token_file, "token_file", GATEWAY_AUTH_TOKEN},
                 {listen, "listen", GATEWAY_AUTH_LISTEN}};
    for (size_t e = 0; st == TKMS_OK && e < 2; e++) {
        if (extra[e].node == NULL && cl.auth == extra[e].auth)
            st = config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT,
                                 "%s: %s: required with auth: %s", what, extra[e].key,
                                 gateway_auth_name(extra[e].auth));
        else if (extra[e].node != NULL && cl.auth != extra[e].auth)
            st = config_doc_fail(doc, extra[e].node->line, TKMS_ERR_BAD_FORMAT,
                                 "%s.%s: only with auth: %s (this client has auth: %s)", what,
                                 extra[e].key, gateway_auth_name(extra[e].auth),
                                 gateway_auth_name(cl.auth));
    }
    if (st == TKMS_OK && token_file != NULL) {
        snprintf(field, sizeof field, "%s.token_file", what);
        st = config_doc_value(doc, token_file, field, where, sizeof where, &text);
        if (st == TKMS_OK)
            st = config_set_path(&SCHEMA, &cl.token_file, doc->base, text, doc->err);
        for (size_t i = 0; st == TKMS_OK && i < cfg->client_count; i++)
            if (cfg->clients[i].token_file != NULL &&
                strcmp(cfg->clients[i].token_file, cl.token_file) == 0)
                st = tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT,
                               "%s: also the token file of client '%s' (each client needs "
                               "its own token)",
                               where, cfg->clients[i].name);
    }
    if (st == TKMS_OK && listen != NULL) {
        snprintf(field, sizeof field, "%s.listen", what);
        st = config_doc_scalar(doc, listen, field, LISTEN_HINT, &text);
        if (st == TKMS_OK)
            st = config_doc_value(doc, listen, field, where, sizeof where, &text);
        if (st == TKMS_OK)
            st = parse_client_listen(text, where, &cl, doc->err);
        for (size_t i = 0; st == TKMS_OK && i < cfg->client_count; i++)
            if (cfg->clients[i].listen != NULL && strcmp(cfg->clients[i].listen, cl.listen) == 0)
                st = tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT,
                               "%s: %s is also the address of client '%s'", where, cl.listen,
                               cfg->clients[i].name);
    }
    if (st == TKMS_OK && standby != NULL) {
        snprintf(field, sizeof field, "%s.standby", what);
        st = config_doc_value(doc, standby, field, where, sizeof where, &text);
        if (st == TKMS_OK)
            st = config_value_owner_id(text, where, doc->err);
        if (st == TKMS_OK && strcmp(text, cl.name) == 0)
            st = tkms_fail(doc->err, TKMS_ERR_BAD_FORMAT,
                           "%s: a client cannot be its own standby", where);
        if (st == TKMS_OK)
            st = config_set_string(&SCHEMA, &cl.standby, strdup(text), doc->err);
    }

    if (st == TKMS_OK) {
        gateway_client *grown = realloc(cfg->clients, (cfg->client_count + 1) * sizeof *grown);
        if (grown == NULL) {
            st = out_of_memory(doc->err);
        } else {
            cfg->clients = grown;
            cfg->clients[cfg->client_count++] = cl;
            return TKMS_OK;
        }
    }
    client_clear(&cl);
    return st;
}

static tkms_status walk_clients(void *c, const config_doc *doc, const config_node *v)
{
    gateway_config *cfg = c;
    size_t first = cfg->client_count;
    tkms_status st = config_doc_list(doc, v, "clients", "write [] for no clients",
                                     "a list of {name, auth, ...}",
                                     GATEWAY_CONFIG_MAX_CLIENTS - cfg->client_count,
                                     GATEWAY_CONFIG_MAX_CLIENTS, walk_client);
    if (st != TKMS_OK)
        return st;
    /* Each standby names a client (of this list or one loaded before). */
    for (size_t i = 0; i < v->count; i++) {
        const gateway_client *cl = &cfg->clients[first + i];
        if (cl->standby == NULL || gateway_config_client(cfg, cl->standby) != NULL)
            continue;
        const config_node *map = v->items[i], *node = map;
        for (size_t k = 0; k < map->count / 2; k++)
            if (strcmp(map->items[2 * k]->text, "standby") == 0)
                node = map->items[2 * k + 1];
        char shown[CONFIG_SHOW_SIZE];
        return config_doc_fail(doc, node->line, TKMS_ERR_BAD_FORMAT,
                               "clients[%zu].standby: no client named '%s'", i,
                               SHOW(shown, cl->standby));
    }
    return TKMS_OK;
}

static const config_yaml_key YAML_KEYS[] = {
    {"servers", walk_servers},
    {"clients", walk_clients},
};

/* ---- the whole load ---------------------------------------------------------- */

static tkms_status schema_init(void *cfg, tkms_err *err)
{
    return gateway_config_init(cfg, err);
}

static tkms_status schema_finish(void *cfg, tkms_err *err)
{
    return gateway_config_finish(cfg, err);
}

static void schema_release(void *cfg)
{
    gateway_config_free(cfg);
}

static config_common_fields common_fields(void *cfg)
{
    return CONFIG_COMMON_FIELDS((gateway_config *)cfg);
}

static const config_common COMMON = {
    .fields = common_fields,
    .default_listen = GATEWAY_CONFIG_DEFAULT_LISTEN,
    .max_workers = GATEWAY_CONFIG_MAX_WORKERS,
    .min_body_size = GATEWAY_CONFIG_MIN_BODY_SIZE,
    .max_body_size = GATEWAY_CONFIG_MAX_BODY_SIZE,
    .default_body_size = GATEWAY_CONFIG_DEFAULT_BODY_SIZE,
    .min_scrypt_n = GATEWAY_CONFIG_MIN_SCRYPT_N,
    .max_scrypt_n = GATEWAY_CONFIG_MAX_SCRYPT_N,
    .default_scrypt_n = GATEWAY_CONFIG_DEFAULT_SCRYPT_N,
};

static const config_schema SCHEMA = {
    .what = "gateway config",
    .common = &COMMON,
    .settings = SETTINGS,
    .setting_count = SETTING_COUNT,
    .yaml_keys = YAML_KEYS,
    .yaml_key_count = sizeof YAML_KEYS / sizeof YAML_KEYS[0],
    .max_file_size = GATEWAY_CONFIG_MAX_FILE_SIZE,
    .max_depth = GATEWAY_CONFIG_MAX_DEPTH,
    .init = schema_init,
    .finish = schema_finish,
    .release = schema_release,
};

const gateway_server *gateway_config_server(const gateway_config *cfg, const char *name)
{
    for (size_t i = 0; cfg != NULL && name != NULL && i < cfg->server_count; i++)
        if (strcmp(cfg->servers[i].name, name) == 0)
            return &cfg->servers[i];
    return NULL;
}

const gateway_client *gateway_config_client(const gateway_config *cfg, const char *name)
{
    for (size_t i = 0; cfg != NULL && name != NULL && i < cfg->client_count; i++)
        if (strcmp(cfg->clients[i].name, name) == 0)
            return &cfg->clients[i];
    return NULL;
}

bool gateway_config_wants_help(int argc, char **argv)
{
    return config_wants_help(&SCHEMA, argc, argv);
}

tkms_status gateway_config_init(gateway_config *cfg, tkms_err *err)
{
    if (cfg == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway config: missing argument");
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = GATEWAY_CONFIG_DEFAULT_TIMEOUT_MS;
    cfg->health_interval_ms = GATEWAY_CONFIG_DEFAULT_HEALTH_INTERVAL_MS;
    cfg->migration_max_refusals = GATEWAY_CONFIG_DEFAULT_MAX_REFUSALS;
    cfg->migration_window_seconds = GATEWAY_CONFIG_DEFAULT_WINDOW_SECONDS;
    tkms_status st = config_common_init(&SCHEMA, cfg, err);
    if (st != TKMS_OK)
        gateway_config_free(cfg);
    return st;
}

/* True when a listener on (host, port) would take the loopback address
 * `client_host` at that port too: the same host, or a wildcard covering it. */
static bool listen_overlaps(const char *host, const char *client_host, bool client_v6)
{
    if (strcmp(host, client_host) == 0 || strcmp(host, "::") == 0 ||
        strcmp(host, "localhost") == 0)
        return true;
    return strcmp(host, "0.0.0.0") == 0 && !client_v6;
}

tkms_status gateway_config_finish(gateway_config *cfg, tkms_err *err)
{
    if (cfg == NULL || cfg->listen == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway config: missing argument");
    const config_required_setting required[] = {
        {cfg->servers_tls_cert != NULL, "servers_tls.cert"},
        {cfg->servers_tls_key != NULL, "servers_tls.key"},
        {cfg->servers_tls_ca != NULL, "servers_tls.ca"},
    };
    tkms_status st = config_common_finish(&SCHEMA, cfg, required,
                                          sizeof required / sizeof required[0], err);
    if (st != TKMS_OK)
        return st;
    if (cfg->server_count == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "servers: required (at least one {name, url, identity}, in the config "
                         "file)");
    for (size_t i = 0; i < cfg->client_count; i++) {
        const gateway_client *cl = &cfg->clients[i];
        if (cl->auth == GATEWAY_AUTH_CERT && cfg->tls_ca == NULL)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "tls.ca: required when a client uses auth: cert (client '%s'; set "
                             "tls.ca in the config file, TKMS_TLS_CA or --tls-ca)",
                             cl->name);
        if (cl->listen != NULL && cfg->listen_port != 0 && cl->listen_port == cfg->listen_port &&
            listen_overlaps(cfg->listen_host, cl->listen_host, strchr(cl->listen_host, ':') != NULL))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "clients: '%s' listens on %s, which the main listener (listen %s) "
                             "takes",
                             cl->name, cl->listen, cfg->listen);
        if (cl->token_file != NULL && cfg->keymanager_token_file != NULL &&
            strcmp(cl->token_file, cfg->keymanager_token_file) == 0)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "keymanager.token_file: is also the token file of client '%s' "
                             "(the client would get the keymanager API)",
                             cl->name);
    }
    return TKMS_OK;
}

tkms_status gateway_config_parse_yaml(gateway_config *cfg, const char *text, size_t len,
                                      const char *base_dir, const char *name, tkms_err *err)
{
    if (cfg == NULL || (text == NULL && len > 0) || cfg->listen == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway config: missing argument");
    return config_parse_yaml(&SCHEMA, cfg, text, len, base_dir, name, err);
}

tkms_status gateway_config_load(gateway_config *out, const char *yaml_path,
                                char *const envp[], int argc, char **argv, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway config: missing argument");
    memset(out, 0, sizeof *out);
    return config_load(&SCHEMA, out, &out->config_path, yaml_path, envp, argc, argv, err);
}

void gateway_config_free(gateway_config *cfg)
{
    if (cfg == NULL)
        return;
    config_common_free(&SCHEMA, cfg);
    free(cfg->config_path);
    if (cfg->db != NULL) {   /* may hold a password */
        sodium_memzero(cfg->db, strlen(cfg->db));
        free(cfg->db);
    }
    free(cfg->servers_tls_cert);
    free(cfg->servers_tls_key);
    free(cfg->servers_tls_ca);
    free(cfg->keymanager_token_file);
    for (size_t i = 0; i < cfg->server_count; i++)
        server_clear(&cfg->servers[i]);
    free(cfg->servers);
    for (size_t i = 0; i < cfg->client_count; i++)
        client_clear(&cfg->clients[i]);
    free(cfg->clients);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- help ---------------------------------------------------------------------- */

static const char HELP[] =
    "usage: tkms gateway [--config FILE] [--SETTING VALUE]...\n"
    "\n"
    "Runs the gateway: the Web3Signer eth2 API and the keymanager API for validator\n"
    "clients, fanned out to the threshold servers over mutual TLS. Each setting comes\n"
    "from, in rising precedence: its default, the YAML config file, a TKMS_*\n"
    "environment variable, a flag (--name VALUE or --name=VALUE). The file is\n"
    "--config FILE, else $TKMS_CONFIG, else none. Relative paths in the file are\n"
    "relative to the file's directory; from the environment or flags, to the current\n"
    "directory. An environment variable set to \"\" counts as unset. Every value given\n"
    "is checked, even one that a later source replaces.\n"
    "\n"
    CONFIG_HELP_HEADER
    "  listen                   TKMS_LISTEN                   127.0.0.1:9100\n"
    "                           --listen HOST:PORT            (the main listener, HTTPS;\n"
    "                                                         IPv6 \"[::1]:9100\", quoted\n"
    "                                                         in YAML; port 0 = any free)\n"
    "  data_dir                 TKMS_DATA_DIR                 required\n"
    "                           --data-dir DIR                (ban list and slashing\n"
    "                                                         database in SQLite, audit\n"
    "                                                         log, key registry)\n"
    "  db                       TKMS_DB                       none: SQLite in data_dir\n"
    "                           --db postgres://...           (PostgreSQL for the slashing\n"
    "                                                         records and ban list, shared\n"
    "                                                         by several gateways; never\n"
    "                                                         shown in messages)\n"
    "  tls.cert                 TKMS_TLS_CERT                 required\n"
    "                           --tls-cert PEM                (main listener certificate)\n"
    CONFIG_HELP_TLS_KEY
    "  tls.ca                   TKMS_TLS_CA                   required if a client uses\n"
    "                           --tls-ca PEM                  auth: cert (CA of client\n"
    "                                                         certificates)\n"
    "  servers_tls.cert         TKMS_SERVERS_TLS_CERT         required (no default from\n"
    "                           --servers-tls-cert PEM        tls.*: a client certificate,\n"
    "                                                         tkms certs client, for the\n"
    "                                                         threshold servers)\n"
    "  servers_tls.key          TKMS_SERVERS_TLS_KEY          required\n"
    "                           --servers-tls-key PEM         (its private key)\n"
    "  servers_tls.ca           TKMS_SERVERS_TLS_CA           required\n"
    "                           --servers-tls-ca PEM          (CA of the servers' certificates)\n"
    "  keymanager.token_file    TKMS_KEYMANAGER_TOKEN_FILE    none: keymanager API off\n"
    "                           --keymanager-token-file FILE  (bearer token of\n"
    "                                                         /eth/v1/keystores)\n"
    "  password_file            TKMS_PASSWORD_FILE            none: $TKMS_PASSWORD if set\n"
    "                           --password-file FILE          (reserved: the gateway keeps\n"
    "                                                         no secret; each share it sends\n"
    "                                                         a server on import has its own\n"
    "                                                         random password, and imported\n"
    "                                                         keystores' passwords come with\n"
    "                                                         the request)\n"
    CONFIG_HELP_CHAIN
    "  timeout_ms               TKMS_TIMEOUT_MS               2000\n"
    "                           --timeout-ms 10..60000        (per-server sign timeout)\n"
    "  health_interval_ms       TKMS_HEALTH_INTERVAL_MS       5000\n"
    "                           --health-interval-ms 100..600000 (server health checks)\n"
    CONFIG_HELP_WORKERS
    "  max_body_size            TKMS_MAX_BODY_SIZE            4MiB\n"
    "                           --max-body-size BYTES         (1KiB..64MiB; units KiB, MiB)\n"
    "  keystore.kdf             TKMS_KEYSTORE_KDF             scrypt\n"
    "                           --keystore-kdf scrypt|pbkdf2  (share keystores made when a\n"
    "                                                         key is imported and split)\n"
    CONFIG_HELP_SCRYPT_N_LOG_LEVEL
    "  migration.max_refusals   TKMS_MIGRATION_MAX_REFUSALS   3\n"
    "                           --migration-max-refusals 1..1000\n"
    "  migration.window_seconds TKMS_MIGRATION_WINDOW_SECONDS 60\n"
    "                           --migration-window-seconds 1..86400 (a client with a\n"
    "                                                         standby that gets\n"
    "                                                         max_refusals slashing\n"
    "                                                         refusals within the window\n"
    "                                                         loses its keys to the standby)\n"
    "  migration.silence_seconds TKMS_MIGRATION_SILENCE_SECONDS 0 (off)\n"
    "                           --migration-silence-seconds 0..86400 (a client with a\n"
    "                                                         standby and keys that sends\n"
    "                                                         no sign request for this long\n"
    "                                                         loses its keys to the standby;\n"
    "                                                         a validator signs at least an\n"
    "                                                         attestation every epoch, so\n"
    "                                                         two epochs, 768 on mainnet,\n"
    "                                                         is a sensible value)\n"
    "  servers                  (file only)                   required: at least one\n"
    "  clients                  (file only)                   none: nobody may sign\n"
    "\n"
    "Example file (at most 1 MiB, nesting at most 8 levels, at most 1024 servers and\n"
    "1024 clients; unknown or repeated keys are errors):\n"
    "\n"
    "  listen: 0.0.0.0:9100\n"
    "  data_dir: data                      # relative to this file\n"
    "  tls: {cert: gateway.pem, key: gateway.key, ca: clients-ca.pem}\n"
    "  servers_tls: {cert: gateway-client.pem, key: gateway-client.key, ca: ca.pem}\n"
    "  keymanager: {token_file: keymanager.token}\n"
    "  genesis_validators_root: \"0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95\"\n"
    "  servers:\n"
    "    - name: alice                     # owner id in the group files\n"
    "      url: https://alice.example:9000\n"
    "      identity: \"0xcecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc\"\n"
    "    - name: bob\n"
    "      url: https://10.0.0.2:9000\n"
    "      identity: \"0x6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc\"\n"
    "  clients:\n"
    "    - {name: teku-1, auth: cert, standby: teku-2}    # client certificate CN teku-1\n"
    "    - {name: teku-2, auth: token, token_file: teku-2.token}\n"
    "    - {name: lodestar, auth: listen, listen: \"127.0.0.1:9101\"}\n"
    "  migration: {max_refusals: 3, window_seconds: 60, silence_seconds: 768}\n"
    "\n"
    "Servers: name (the server's owner id, 1..64 of A-Z a-z 0-9 . _ -), url\n"
    "(https://HOST:PORT) and identity (0x and 64 hex digits: the server's Ed25519 key,\n"
    "tkms identity show); names, URLs and identities unique.\n"
    "Clients: name (1..64 of A-Z a-z 0-9 . _ -, unique) and auth, one of\n"
    "  cert    the client presents a certificate (signed by tls.ca) whose CN is name;\n"
    "  token   the client sends \"Authorization: Bearer\" with the token in token_file;\n"
    "  listen  the client gets a listener of its own, plain HTTP on a loopback address\n"
    "          (listen: 127.0.0.1:PORT or \"[::1]:PORT\"), for clients that can present\n"
    "          neither (such as Lodestar 1.5.1);\n"
    "and optionally standby: another client that takes over its keys when it breaks\n"
    "the migration rule. A client may sign only for the keys assigned to it\n"
    "(tkms gateway assign|migrate PUBKEY --to CLIENT).\n";

const char *gateway_config_help(void)
{
    return HELP;
}
