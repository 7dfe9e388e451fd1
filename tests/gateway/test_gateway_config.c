/*
 * test_gateway_config.c — the gateway's configuration
 * (src/gateway/gateway_config.h) and, through it, the configuration
 * engine it shares with the threshold server (src/server/config_source.h):
 * defaults; a full file; precedence file < environment < flags; relative
 * paths; the file chosen by --config, TKMS_CONFIG or the caller; required
 * settings (servers_tls.* without defaults, tls.ca only with certificate
 * clients, at least one server); every value check from each source as
 * one line naming the setting and its source; a database URL never shown;
 * the servers list (names, https URLs, Ed25519 identities, uniqueness,
 * 1024 at most) and the clients list (auth kinds, loopback-only listeners,
 * token files, standby clients); cross-setting checks; the YAML structure
 * errors; flags; the help and its example; the engine's value parsers.
 * Temporary files live under a mkdtemp directory, and every load gets an
 * explicit environment.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../src/gateway/gateway_config.h"
#include "config_source.h"
#include "config_test.h"
#include "test.h"
#include "tkms/hex.h"

#define GVR "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"
/* Ed25519 public keys of the seeds 01 00…, 02 00…, 03 00…, 04 00… */
#define ID_A "0xcecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc"
#define ID_B "0x6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc"
#define ID_C "0xdadbd184a2d526f1ebdd5c06fdad9359b228759b4d7f79d66689fa254aad8546"
#define ID_ZERO "0x0000000000000000000000000000000000000000000000000000000000000000"

/* The required settings (11 lines), for files that test something else. */
#define REQUIRED_BUT_SERVERS                                                        \
    "data_dir: data\n"                                                              \
    "tls:\n"                                                                        \
    "  cert: gw.pem\n"                                                              \
    "  key: gw.key\n"                                                               \
    "servers_tls:\n"                                                                \
    "  cert: client.pem\n"                                                          \
    "  key: client.key\n"                                                           \
    "  ca: ca.pem\n"                                                                \
    "genesis_validators_root: \"" GVR "\"\n"
#define SERVERS_A                                                                   \
    "servers:\n"                                                                    \
    "  - {name: alice, url: \"https://alice.example:9000\", identity: \"" ID_A "\"}\n"
#define REQUIRED REQUIRED_BUT_SERVERS SERVERS_A
#define NEXT_LINE 12   /* the line of whatever follows REQUIRED */

static tkms_status load_any(void *cfg, const char *path, char *const envp[], int argc,
                            char **argv, tkms_err *err)
{
    return gateway_config_load(cfg, path, envp, argc, argv, err);
}

static void free_any(void *cfg)
{
    gateway_config_free(cfg);
}

static const config_test_kind KIND = {"gateway.yaml", sizeof(gateway_config), load_any, free_any};

/* ---- defaults and a full file ------------------------------------------------ */

static void test_defaults(void)
{
    gateway_config cfg;
    tkms_err err;
    tkms_status st = load_config(&cfg, REQUIRED, NULL, NULL, &err);
    CHECK(st == TKMS_OK, "minimal file loads: %s", st == TKMS_OK ? "" : err.message);
    if (st != TKMS_OK)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;
    CHECK(strcmp(cfg.listen, "127.0.0.1:9100") == 0 && strcmp(cfg.listen_host, "127.0.0.1") == 0 &&
              cfg.listen_port == 9100,
          "default listen %s", cfg.listen);
    CHECK(cfg.timeout_ms == 2000 && cfg.health_interval_ms == 5000, "default timeouts");
    CHECK(cfg.workers == want, "default workers = online CPUs");
    CHECK(cfg.max_body_size == 4 * 1024 * 1024, "default max body 4 MiB");
    CHECK(cfg.keystore.kdf == TKMS_KDF_SCRYPT && cfg.keystore.scrypt_n == 262144 &&
              cfg.keystore.scrypt_r == 8 && cfg.keystore.scrypt_p == 1,
          "default keystore scrypt 2^18");
    CHECK(cfg.log_level == TKMS_LOG_INFO, "default log level info");
    CHECK(cfg.migration_max_refusals == 3 && cfg.migration_window_seconds == 60,
          "default migration rule 3 in 60 s");
    CHECK(cfg.migration_silence_seconds == 0, "default: the silence rule is off");
    CHECK(cfg.chain.preset == TKMS_ETH2_PRESET_MAINNET &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\0", 4) == 0,
          "default network mainnet");
    CHECK(cfg.db == NULL && cfg.tls_ca == NULL && cfg.keymanager_token_file == NULL &&
              cfg.password_file == NULL,
          "db, tls.ca, keymanager and password file unset");
    CHECK(cfg.client_count == 0 && cfg.clients == NULL, "no clients");
    CHECK(cfg.config_path != NULL && strcmp(cfg.config_path, config_yaml_path) == 0, "config_path");
    CHECK(strcmp(cfg.data_dir, path_in(config_etc, "data")) == 0, "data_dir %s", cfg.data_dir);
    CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "gw.pem")) == 0, "tls_cert");
    CHECK(strcmp(cfg.tls_key, path_in(config_etc, "gw.key")) == 0, "tls_key");
    CHECK(strcmp(cfg.servers_tls_cert, path_in(config_etc, "client.pem")) == 0, "servers_tls_cert");
    CHECK(strcmp(cfg.servers_tls_key, path_in(config_etc, "client.key")) == 0, "servers_tls_key");
    CHECK(strcmp(cfg.servers_tls_ca, path_in(config_etc, "ca.pem")) == 0, "servers_tls_ca");
    uint8_t gvr[32], id[32];
    tkms_hex_decode(gvr, 32, GVR, NULL);
    tkms_hex_decode(id, 32, ID_A, NULL);
    CHECK(memcmp(cfg.genesis_validators_root, gvr, 32) == 0, "genesis validators root");
    CHECK(cfg.server_count == 1 && strcmp(cfg.servers[0].name, "alice") == 0 &&
              strcmp(cfg.servers[0].url, "https://alice.example:9000") == 0 &&
              strcmp(cfg.servers[0].host, "alice.example") == 0 && cfg.servers[0].port == 9000 &&
              memcmp(cfg.servers[0].identity, id, 32) == 0,
          "one server");
    CHECK(gateway_config_server(&cfg, "alice") == &cfg.servers[0] &&
              gateway_config_server(&cfg, "bob") == NULL && gateway_config_client(&cfg, "x") == NULL &&
              gateway_config_server(NULL, "alice") == NULL,
          "lookups");
    gateway_config_free(&cfg);
    gateway_config_free(&cfg);   /* twice is harmless */
    gateway_config_free(NULL);
}

static void test_full_file(void)
{
    const char *yaml =
        "# every setting\n"
        "listen: \"[::]:9443\"\n"
        "data_dir: /var/lib/tkms-gw\n"
        "db: postgresql://gw@db.internal:5432/tkms?sslmode=verify-full\n"
        "tls: {cert: ./certs/gw.pem, key: ../keys/gw.key, ca: /etc/tkms/clients-ca.pem}\n"
        "servers_tls:\n"
        "  cert: sc.pem\n"
        "  key: sc.key\n"
        "  ca: servers-ca.pem\n"
        "keymanager:\n"
        "  token_file: km.token\n"
        "password_file: pw.txt\n"
        "network: minimal\n"
        "genesis_fork_version: '0x01020304'\n"
        "genesis_validators_root: " GVR "\n"
        "timeout_ms: 750\n"
        "health_interval_ms: 1000\n"
        "workers: 3\n"
        "max_body_size: 16MiB\n"
        "keystore:\n"
        "  kdf: pbkdf2\n"
        "  scrypt_n: 1024\n"
        "log_level: debug\n"
        "migration:\n"
        "  max_refusals: 5\n"
        "  window_seconds: 120\n"
        "  silence_seconds: 768\n"
        "servers:\n"
        "  - name: alice\n"
        "    url: https://alice.example:9000/\n"
        "    identity: " ID_A "\n"
        "  - name: bob.2\n"
        "    url: \"https://[fd00::2]:09001\"\n"
        "    identity: \"" ID_B "\"\n"
        "  - {name: carol, url: \"https://10.0.0.3:443\", identity: \"" ID_C "\"}\n"
        "clients:\n"
        "  - name: teku-1\n"
        "    auth: cert\n"
        "    standby: lodestar\n"          /* a client listed later */
        "  - {name: teku-2, auth: token, token_file: tokens/teku-2, standby: teku-1}\n"
        "  - {name: lodestar, auth: listen, listen: \"127.0.0.1:9101\"}\n"
        "  - {name: lodestar6, auth: listen, listen: \"[::1]:9102\"}\n";
    gateway_config cfg;
    tkms_err err;
    tkms_status st = load_config(&cfg, yaml, NULL, NULL, &err);
    CHECK(st == TKMS_OK, "full file loads: %s", st == TKMS_OK ? "" : err.message);
    if (st != TKMS_OK)
        return;
    CHECK(strcmp(cfg.listen, "[::]:9443") == 0 && strcmp(cfg.listen_host, "::") == 0 &&
              cfg.listen_port == 9443,
          "IPv6 listen");
    CHECK(strcmp(cfg.data_dir, "/var/lib/tkms-gw") == 0, "absolute data_dir");
    CHECK(cfg.db != NULL && strcmp(cfg.db, "postgresql://gw@db.internal:5432/tkms?sslmode=verify-full") == 0,
          "db URL kept as given");
    CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "certs/gw.pem")) == 0, "./ dropped: %s", cfg.tls_cert);
    CHECK(strcmp(cfg.tls_key, path_in(config_etc, "../keys/gw.key")) == 0, ".. kept");
    CHECK(strcmp(cfg.tls_ca, "/etc/tkms/clients-ca.pem") == 0, "tls_ca");
    CHECK(strcmp(cfg.servers_tls_cert, path_in(config_etc, "sc.pem")) == 0 &&
              strcmp(cfg.servers_tls_key, path_in(config_etc, "sc.key")) == 0 &&
              strcmp(cfg.servers_tls_ca, path_in(config_etc, "servers-ca.pem")) == 0,
          "servers_tls");
    CHECK(strcmp(cfg.keymanager_token_file, path_in(config_etc, "km.token")) == 0, "keymanager token");
    CHECK(strcmp(cfg.password_file, path_in(config_etc, "pw.txt")) == 0, "password_file");
    CHECK(cfg.chain.preset == TKMS_ETH2_PRESET_MINIMAL &&
              memcmp(cfg.chain.genesis_fork_version, "\x01\x02\x03\x04", 4) == 0,
          "minimal with its own fork version");
    CHECK(cfg.timeout_ms == 750 && cfg.health_interval_ms == 1000 && cfg.workers == 3 &&
              cfg.max_body_size == 16 * 1024 * 1024,
          "numbers");
    CHECK(cfg.keystore.kdf == TKMS_KDF_PBKDF2 && cfg.keystore.scrypt_n == 1024, "keystore");
    CHECK(cfg.log_level == TKMS_LOG_DEBUG, "log level");
    CHECK(cfg.migration_max_refusals == 5 && cfg.migration_window_seconds == 120 &&
              cfg.migration_silence_seconds == 768,
          "migration");

    CHECK(cfg.server_count == 3, "3 servers");
    if (cfg.server_count == 3) {
        CHECK(strcmp(cfg.servers[0].url, "https://alice.example:9000") == 0,
              "trailing / dropped: %s", cfg.servers[0].url);
        CHECK(strcmp(cfg.servers[1].name, "bob.2") == 0 &&
                  strcmp(cfg.servers[1].url, "https://[fd00::2]:9001") == 0 &&
                  strcmp(cfg.servers[1].host, "fd00::2") == 0 && cfg.servers[1].port == 9001,
              "IPv6 server URL canonical: %s", cfg.servers[1].url);
        CHECK(cfg.servers[2].port == 443 && strcmp(cfg.servers[2].host, "10.0.0.3") == 0,
              "flow-style server");
    }
    CHECK(cfg.client_count == 4, "4 clients");
    if (cfg.client_count == 4) {
        const gateway_client *c = cfg.clients;
        CHECK(strcmp(c[0].name, "teku-1") == 0 && c[0].auth == GATEWAY_AUTH_CERT &&
                  c[0].token_file == NULL && c[0].listen == NULL &&
                  strcmp(c[0].standby, "lodestar") == 0,
              "cert client with a standby listed later");
        CHECK(c[1].auth == GATEWAY_AUTH_TOKEN &&
                  strcmp(c[1].token_file, path_in(config_etc, "tokens/teku-2")) == 0 &&
                  strcmp(c[1].standby, "teku-1") == 0,
              "token client, token file from the file's directory");
        CHECK(c[2].auth == GATEWAY_AUTH_LISTEN && strcmp(c[2].listen, "127.0.0.1:9101") == 0 &&
                  strcmp(c[2].listen_host, "127.0.0.1") == 0 && c[2].listen_port == 9101 &&
                  c[2].standby == NULL,
              "listen client");
        CHECK(strcmp(c[3].listen, "[::1]:9102") == 0 && strcmp(c[3].listen_host, "::1") == 0,
              "IPv6 loopback client");
        CHECK(gateway_config_client(&cfg, "lodestar") == &c[2], "client lookup");
    }
    CHECK(strcmp(gateway_auth_name(GATEWAY_AUTH_CERT), "cert") == 0 &&
              strcmp(gateway_auth_name(GATEWAY_AUTH_TOKEN), "token") == 0 &&
              strcmp(gateway_auth_name(GATEWAY_AUTH_LISTEN), "listen") == 0 &&
              strcmp(gateway_auth_name((gateway_auth)7), "unknown") == 0,
          "auth names");
    gateway_config_free(&cfg);
}

/* ---- precedence, paths, the file ------------------------------------------------ */

static void test_precedence(void)
{
    const char *yaml = REQUIRED
        "timeout_ms: 100\n"
        "db: postgres://file/db\n"
        "migration: {max_refusals: 2, window_seconds: 10}\n"
        "log_level: warn\n"
        "network: minimal\n";
    gateway_config cfg;
    tkms_err err;
    CHECK(load_config(&cfg, yaml, NULL, NULL, &err) == TKMS_OK && cfg.timeout_ms == 100 &&
              strcmp(cfg.db, "postgres://file/db") == 0 && cfg.migration_max_refusals == 2 &&
              cfg.migration_window_seconds == 10 && cfg.log_level == TKMS_LOG_WARN &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\x01", 4) == 0,
          "file over defaults (minimal's fork version)");
    gateway_config_free(&cfg);

    char *env[] = {"PATH=/usr/bin",
                   "TKMS_TIMEOUT_MS=200",
                   "TKMS_DB=postgres://env/db",
                   "TKMS_MIGRATION_MAX_REFUSALS=4",
                   "TKMS_SERVERS_TLS_CA=env-ca.pem",
                   "TKMS_TIMEOUT_MS=999",          /* a second entry: the first counts */
                   "TKMS_LOG_LEVEL=",              /* empty: as if unset */
                   NULL};
    CHECK(load_config(&cfg, yaml, env, NULL, &err) == TKMS_OK && cfg.timeout_ms == 200 &&
              strcmp(cfg.db, "postgres://env/db") == 0 && cfg.migration_max_refusals == 4 &&
              cfg.migration_window_seconds == 10 && cfg.log_level == TKMS_LOG_WARN &&
              strcmp(cfg.servers_tls_ca, path_in(config_root, "env-ca.pem")) == 0,
          "environment over file");
    gateway_config_free(&cfg);

    const char *flags[] = {"--timeout-ms", "300", "--db=postgres://flag/db",
                           "--migration-window-seconds", "30", "--network", "mainnet",
                           "--servers-tls-ca", "/abs/ca.pem", NULL};
    CHECK(load_config(&cfg, yaml, env, flags, &err) == TKMS_OK && cfg.timeout_ms == 300 &&
              strcmp(cfg.db, "postgres://flag/db") == 0 && cfg.migration_max_refusals == 4 &&
              cfg.migration_window_seconds == 30 &&
              cfg.chain.preset == TKMS_ETH2_PRESET_MAINNET &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\0", 4) == 0 &&
              strcmp(cfg.servers_tls_ca, "/abs/ca.pem") == 0,
          "flags over environment over file");
    gateway_config_free(&cfg);

    /* a bad value is an error even where a later source replaces it */
    expect_error("bad file value under a good flag", REQUIRED "timeout_ms: 5\n", NULL,
                 (const char *[]){"--timeout-ms", "100", NULL}, TKMS_ERR_BAD_FORMAT,
                 "timeout_ms: must be 10..60000, got 5");
    char *bad_env[] = {"TKMS_HEALTH_INTERVAL_MS=1", NULL};
    expect_error("bad env value under a good flag", REQUIRED, bad_env,
                 (const char *[]){"--health-interval-ms=1000", NULL}, TKMS_ERR_BAD_FORMAT,
                 "TKMS_HEALTH_INTERVAL_MS: must be 100..600000, got 1");
}

static void test_paths_and_selection(void)
{
    gateway_config cfg;
    tkms_err err;
    char *env[] = {"TKMS_DATA_DIR=env-data", "TKMS_KEYMANAGER_TOKEN_FILE=./km", NULL};
    const char *flags[] = {"--servers-tls-key", "sub/k.pem", "--password-file=/abs/pw", NULL};
    tkms_status st = load_config(&cfg, REQUIRED, env, flags, &err);
    CHECK(st == TKMS_OK, "load: %s", st == TKMS_OK ? "" : err.message);
    if (st == TKMS_OK) {
        CHECK(strcmp(cfg.data_dir, path_in(config_root, "env-data")) == 0, "env path from cwd");
        CHECK(strcmp(cfg.keymanager_token_file, path_in(config_root, "km")) == 0, "env ./km");
        CHECK(strcmp(cfg.servers_tls_key, path_in(config_root, "sub/k.pem")) == 0, "flag path from cwd");
        CHECK(strcmp(cfg.password_file, "/abs/pw") == 0, "absolute flag path");
        CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "gw.pem")) == 0, "file path from the file");
    }
    gateway_config_free(&cfg);

    char other[PATH_MAX + 32], env_cfg[PATH_MAX + 64];
    snprintf(other, sizeof other, "%s/other.yaml", config_root);
    write_text(other, REQUIRED "timeout_ms: 11\n");
    snprintf(env_cfg, sizeof env_cfg, "TKMS_CONFIG=%s", other);
    char *cfg_env[] = {env_cfg, NULL};
    CHECK(load_config(&cfg, NULL, cfg_env, NULL, &err) == TKMS_OK && cfg.timeout_ms == 11 &&
              strcmp(cfg.data_dir, path_in(config_root, "data")) == 0,
          "TKMS_CONFIG selects the file");
    gateway_config_free(&cfg);
    write_text(config_yaml_path, REQUIRED "timeout_ms: 12\n");
    const char *rel[] = {"--config", "etc/gateway.yaml", NULL};
    CHECK(load_config(&cfg, NULL, cfg_env, rel, &err) == TKMS_OK && cfg.timeout_ms == 12 &&
              strcmp(cfg.data_dir, path_in(config_etc, "data")) == 0,
          "relative --config wins over TKMS_CONFIG");
    gateway_config_free(&cfg);
    CHECK(gateway_config_load(&cfg, config_yaml_path, cfg_env, 0, NULL, &err) == TKMS_OK &&
              cfg.timeout_ms == 12,
          "the caller's path wins over TKMS_CONFIG");
    gateway_config_free(&cfg);

    /* no file: lists are YAML only, so a file is needed for the servers */
    char *all_env[] = {"TKMS_DATA_DIR=/d", "TKMS_TLS_CERT=/c", "TKMS_TLS_KEY=/k",
                       "TKMS_SERVERS_TLS_CERT=/sc", "TKMS_SERVERS_TLS_KEY=/sk",
                       "TKMS_SERVERS_TLS_CA=/sca", "TKMS_GENESIS_VALIDATORS_ROOT=" GVR, NULL};
    expect_error("no file: no servers", NULL, all_env, NULL, TKMS_ERR_BAD_FORMAT,
                 "servers: required (at least one");
    expect_error("missing file", NULL, NULL,
                 (const char *[]){"--config", "/nonexistent/gw.yaml", NULL}, TKMS_ERR_IO,
                 "--config: cannot read /nonexistent/gw.yaml: No such file");
    expect_error("empty --config", NULL, NULL, (const char *[]){"--config=", NULL},
                 TKMS_ERR_BAD_FORMAT, "--config: must not be empty");

    /* parse_yaml twice: lists add up, uniqueness across documents */
    CHECK(gateway_config_init(&cfg, &err) == TKMS_OK, "init");
    const char *d1 = REQUIRED "clients: [{name: a, auth: token, token_file: t}]\n";
    const char *d2 = "servers: [{name: bob, url: \"https://b:1\", identity: \"" ID_B "\"}]\n"
                     "clients: [{name: b, auth: cert, standby: a}]\n";
    CHECK(gateway_config_parse_yaml(&cfg, d1, strlen(d1), "/x", "one.yaml", &err) == TKMS_OK &&
              gateway_config_parse_yaml(&cfg, d2, strlen(d2), NULL, "two.yaml", &err) == TKMS_OK &&
              cfg.server_count == 2 && cfg.client_count == 2 &&
              strcmp(cfg.clients[0].token_file, "/x/t") == 0,
          "two documents add up: %s", err.message);
    CHECK(gateway_config_finish(&cfg, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "tls.ca: required when a client uses auth: cert (client 'b'"),
          "finish: tls.ca for a cert client: %s", err.message);
    const char *d3 = "servers: [{name: carol, url: \"https://b:1\", identity: \"" ID_C "\"}]\n";
    CHECK(gateway_config_parse_yaml(&cfg, d3, strlen(d3), "/x", "three.yaml", &err) ==
                  TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "three.yaml:1: servers[0].url: https://b:1 is also server 'bob'") == 0,
          "duplicate URL across documents: %s", err.message);
    gateway_config_free(&cfg);
    CHECK(gateway_config_parse_yaml(&cfg, "", 0, NULL, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "parse_yaml before init");
    CHECK(gateway_config_finish(NULL, &err) == TKMS_ERR_INVALID_ARGUMENT, "finish NULL");
}

/* ---- required settings ---------------------------------------------------------- */

static void test_required(void)
{
    static const struct {
        const char *drop, *message;
    } cases[] = {
        {"data_dir: data\n", "data_dir: required (set data_dir in the config file, TKMS_DATA_DIR or --data-dir)"},
        {"  cert: gw.pem\n", "tls.cert: required"},
        {"  key: gw.key\n", "tls.key: required"},
        {"  cert: client.pem\n", "servers_tls.cert: required (set servers_tls.cert in the config file, TKMS_SERVERS_TLS_CERT or --servers-tls-cert)"},
        {"  key: client.key\n", "servers_tls.key: required"},
        {"  ca: ca.pem\n", "servers_tls.ca: required"},
        {"genesis_validators_root: \"" GVR "\"\n", "genesis_validators_root: required"},
        {SERVERS_A, "servers: required (at least one {name, url, identity}, in the config file)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        const char *full = REQUIRED;
        const char *at = strstr(full, cases[i].drop);
        snprintf(yaml, sizeof yaml, "%.*s%s", (int)(at - full), full, at + strlen(cases[i].drop));
        expect_error2(cases[i].message, yaml, NULL, NULL, TKMS_ERR_BAD_FORMAT, cases[i].message, "");
    }
    expect_error("nothing at all", NULL, NULL, NULL, TKMS_ERR_BAD_FORMAT, "data_dir: required");
    expect_error("empty servers list", REQUIRED_BUT_SERVERS "servers: []\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "servers: required (at least one");
    expect_error2("tls.ca for a cert client", REQUIRED "clients: [{name: vc, auth: cert}]\n", NULL,
                  NULL, TKMS_ERR_BAD_FORMAT,
                  "tls.ca: required when a client uses auth: cert (client 'vc'; set tls.ca in the "
                  "config file, TKMS_TLS_CA or --tls-ca)",
                  "");
    gateway_config cfg;
    tkms_err err;
    char *ca_env[] = {"TKMS_TLS_CA=ca.pem", NULL};
    CHECK(load_config(&cfg, REQUIRED "clients: [{name: vc, auth: cert}]\n", ca_env, NULL, &err) == TKMS_OK,
          "tls.ca from the environment satisfies it");
    gateway_config_free(&cfg);
    CHECK(load_config(&cfg, REQUIRED "clients: [{name: vc, auth: token, token_file: t},"
                     " {name: l, auth: listen, listen: \"127.0.0.1:9200\"}]\n",
               NULL, NULL, &err) == TKMS_OK &&
              cfg.tls_ca == NULL,
          "no tls.ca needed without certificate clients");
    gateway_config_free(&cfg);
}

/* ---- every value check, from each source ---------------------------------------- */

typedef struct {
    const char *key, *env, *flag, *value, *message;
} bad_value;

static const bad_value BAD[] = {
    {"listen", "TKMS_LISTEN", "--listen", "nohost", "expected HOST:PORT, got 'nohost'"},
    {"listen", "TKMS_LISTEN", "--listen", "host:65536", "port 0..65535"},
    {"listen", "TKMS_LISTEN", "--listen", "'::1:9100'", "IPv6 address in brackets"},
    {"listen", "TKMS_LISTEN", "--listen", "'[zz::]:1'", "not an IPv6 address"},
    {"db", "TKMS_DB", "--db", "mysql://root:hunter2@db/x",
     "expected a postgres://... or postgresql://... URL without spaces (the value is not shown"},
    {"db", "TKMS_DB", "--db", "'postgres://u:hunter2@db/x y'", "URL without spaces"},
    {"db", "TKMS_DB", "--db", "/var/lib/db.sqlite", "expected a postgres://"},
    {"network", "TKMS_NETWORK", "--network", "holesky", "must be mainnet or minimal, got 'holesky'"},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "--genesis-fork-version", "0x0102",
     "expected 0x and 8 hex digits, got '0x0102'"},
    {"genesis_validators_root", "TKMS_GENESIS_VALIDATORS_ROOT", "--genesis-validators-root",
     "0x4b36", "expected 0x and 64 hex digits"},
    {"timeout_ms", "TKMS_TIMEOUT_MS", "--timeout-ms", "9", "must be 10..60000, got 9"},
    {"timeout_ms", "TKMS_TIMEOUT_MS", "--timeout-ms", "60001", "must be 10..60000, got 60001"},
    {"timeout_ms", "TKMS_TIMEOUT_MS", "--timeout-ms", "2s", "must be 10..60000, got 2s"},
    {"health_interval_ms", "TKMS_HEALTH_INTERVAL_MS", "--health-interval-ms", "99",
     "must be 100..600000, got 99"},
    {"health_interval_ms", "TKMS_HEALTH_INTERVAL_MS", "--health-interval-ms", "600001",
     "must be 100..600000"},
    {"workers", "TKMS_WORKERS", "--workers", "0", "must be 1..64, got 0"},
    {"workers", "TKMS_WORKERS", "--workers", "-1", "must be 1..64, got -1"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "1023",
     "must be 1024..67108864 bytes (1 KiB..64 MiB; units KiB, MiB), got 1023"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "65MiB", "got 65MiB"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "1GiB", "units KiB, MiB"},
    {"keystore.kdf", "TKMS_KEYSTORE_KDF", "--keystore-kdf", "argon2",
     "must be scrypt or pbkdf2, got 'argon2'"},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "--keystore-scrypt-n", "1000",
     "must be a power of two from 1024 to 1048576, got 1000"},
    {"log_level", "TKMS_LOG_LEVEL", "--log-level", "trace",
     "must be error, warn, info or debug, got 'trace'"},
    {"migration.max_refusals", "TKMS_MIGRATION_MAX_REFUSALS", "--migration-max-refusals", "0",
     "must be 1..1000, got 0"},
    {"migration.max_refusals", "TKMS_MIGRATION_MAX_REFUSALS", "--migration-max-refusals", "1001",
     "must be 1..1000"},
    {"migration.window_seconds", "TKMS_MIGRATION_WINDOW_SECONDS", "--migration-window-seconds",
     "86401", "must be 1..86400, got 86401"},
    {"migration.silence_seconds", "TKMS_MIGRATION_SILENCE_SECONDS", "--migration-silence-seconds",
     "86401", "must be 0..86400, got 86401"},
};

static void test_bad_values(void)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_value *b = &BAD[i];
        char yaml[4096], expected[PATH_MAX + 512], env_entry[256], raw[128];
        const char *value = unquoted(b->value, raw, sizeof raw);
        const char *dot = strchr(b->key, '.');
        bool root_key = strcmp(b->key, "genesis_validators_root") == 0;
        int line = NEXT_LINE + (dot != NULL);
        if (dot != NULL)
            snprintf(yaml, sizeof yaml, REQUIRED "%.*s:\n  %s: %s\n", (int)(dot - b->key), b->key,
                     dot + 1, b->value);
        else if (root_key)   /* replaces REQUIRED's own, at the same line */
            snprintf(yaml, sizeof yaml, "%.*s%s: %s\n" SERVERS_A,
                     (int)strlen(REQUIRED_BUT_SERVERS) - (int)strlen("genesis_validators_root: \"" GVR "\"\n"),
                     REQUIRED_BUT_SERVERS, b->key, b->value);
        else
            snprintf(yaml, sizeof yaml, REQUIRED "%s: %s\n", b->key, b->value);
        if (root_key)
            line = 9;
        snprintf(expected, sizeof expected, "%s%s: ", at_line(line), b->key);
        expect_error2(b->key, yaml, NULL, NULL, TKMS_ERR_BAD_FORMAT, expected, b->message);

        snprintf(env_entry, sizeof env_entry, "%s=%s", b->env, value);
        char *env[] = {env_entry, NULL};
        snprintf(expected, sizeof expected, "%s: ", b->env);
        expect_error2(b->env, REQUIRED, env, NULL, TKMS_ERR_BAD_FORMAT, expected, b->message);

        const char *flags[] = {b->flag, value, NULL};
        snprintf(expected, sizeof expected, "%s: ", b->flag);
        expect_error2(b->flag, REQUIRED, NULL, flags, TKMS_ERR_BAD_FORMAT, expected, b->message);
    }

    /* the database URL never appears in a message */
    gateway_config cfg;
    tkms_err err;
    const char *leaks[] = {
        REQUIRED "db: \"mysql://root:hunter2@db/x\"\n",
        REQUIRED "db: \"postgres://u:hunter2@db/\\tx\"\n",
        REQUIRED "db: [\"postgres://u:hunter2@db\"]\n",
    };
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++) {
        CHECK(load_config(&cfg, leaks[i], NULL, NULL, &err) == TKMS_ERR_BAD_FORMAT &&
                  !contains(err.message, "hunter2") && contains(err.message, "db: "),
              "db %zu refused without showing it: %s", i, err.message);
        gateway_config_free(&cfg);
    }

    static const struct {
        const char *flag, *value;
    } good[] = {
        {"--timeout-ms", "10"}, {"--timeout-ms", "60000"}, {"--health-interval-ms", "100"},
        {"--health-interval-ms", "600000"}, {"--workers", "64"}, {"--max-body-size", "64MiB"},
        {"--max-body-size", "1 KiB"}, {"--migration-max-refusals", "1000"},
        {"--migration-window-seconds", "86400"}, {"--db", "postgres://"},
        {"--db", "postgresql://u:p%20w@[::1]:5432/db?sslmode=require"}, {"--listen", "[::1]:0"},
        {"--network", "minimal"}, {"--keystore-kdf", "pbkdf2"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *flags[] = {good[i].flag, good[i].value, NULL};
        tkms_status st = load_config(&cfg, REQUIRED, NULL, flags, &err);
        CHECK(st == TKMS_OK, "%s %s accepted: %s", good[i].flag, good[i].value,
              st == TKMS_OK ? "" : err.message);
        gateway_config_free(&cfg);
    }

    expect_error2("YAML empty value", REQUIRED "timeout_ms:\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                  at_line(NEXT_LINE), "timeout_ms: has no value");
    expect_error2("control character", REQUIRED "password_file: \"pw\\tfile\"\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE),
                  "password_file: must not contain control characters");
    expect_error("flag empty", REQUIRED, NULL, (const char *[]){"--db=", NULL},
                 TKMS_ERR_BAD_FORMAT, "--db: must not be empty");
}

/* ---- the servers list ------------------------------------------------------------ */

static void test_servers(void)
{
#define S(entry) REQUIRED_BUT_SERVERS "servers:\n  - " entry "\n"
#define SLINE 11   /* the entry's line in S() */
    static const struct {
        const char *yaml, *message;
        int line;
    } cases[] = {
        {REQUIRED_BUT_SERVERS "servers:\n", "servers: has no value", 10},
        {REQUIRED_BUT_SERVERS "servers: {name: a}\n", "servers: expected a list of {name, url, identity}", 10},
        {S("alice"), "servers[0]: expected a mapping with name, url and identity", SLINE},
        {S("{url: \"https://a:1\", identity: \"" ID_A "\"}"), "servers[0]: name: required", SLINE},
        {S("{name: a, identity: \"" ID_A "\"}"), "servers[0]: url: required", SLINE},
        {S("{name: a, url: \"https://a:1\"}"), "servers[0]: identity: required", SLINE},
        {S("{name: a, url: \"https://a:1\", identity: \"" ID_A "\", weight: 2}"),
         "servers[0]: unknown key 'weight' (expected name, url, identity)", SLINE},
        {S("{name: a, name: b}"), "servers[0]: duplicate key 'name'", SLINE},
        {S("{name: -a, url: \"https://a:1\", identity: \"" ID_A "\"}"),
         "servers[0].name: must be 1..64 characters of A-Z a-z 0-9 . _ - not starting with . or -, got '-a'", SLINE},
        {S("{name: [a], url: \"https://a:1\", identity: \"" ID_A "\"}"),
         "servers[0].name: expected a single value", SLINE},
        {S("{name: a, url: \"http://a:1\", identity: \"" ID_A "\"}"),
         "servers[0].url: must be https:// (servers are reached over mutual TLS), got 'http://a:1'", SLINE},
        {S("{name: a, url: \"a:1\", identity: \"" ID_A "\"}"),
         "servers[0].url: expected https://HOST:PORT, got 'a:1'", SLINE},
        {S("{name: a, url: \"https://a\", identity: \"" ID_A "\"}"),
         "servers[0].url: expected HOST:PORT, got 'a'", SLINE},
        {S("{name: a, url: \"https://a:1/sign\", identity: \"" ID_A "\"}"),
         "servers[0].url: expected https://HOST:PORT without user, path or query", SLINE},
        {S("{name: a, url: \"https://u@a:1\", identity: \"" ID_A "\"}"),
         "without user, path or query", SLINE},
        {S("{name: a, url: \"https://a:0\", identity: \"" ID_A "\"}"),
         "servers[0].url: the port must be 1..65535, got 'https://a:0'", SLINE},
        {S("{name: a, url: \"https://a:70000\", identity: \"" ID_A "\"}"),
         "servers[0].url: expected HOST:PORT with a port 0..65535", SLINE},
        {S("{name: a, url: \"https://a:1\", identity: \"0x1234\"}"),
         "servers[0].identity: expected 0x and 64 hex digits, got '0x1234'", SLINE},
        {S("{name: a, url: \"https://a:1\", identity: \"" ID_ZERO "\"}"),
         "servers[0].identity: not an Ed25519 public key", SLINE},
        {REQUIRED "  - {name: alice, url: \"https://b:1\", identity: \"" ID_B "\"}\n",
         "servers[1].name: duplicate server name 'alice'", NEXT_LINE},
        {REQUIRED "  - {name: bob, url: \"https://alice.example:9000/\", identity: \"" ID_B "\"}\n",
         "servers[1].url: https://alice.example:9000 is also server 'alice'", NEXT_LINE},
        {REQUIRED "  - {name: bob, url: \"https://b:1\", identity: \"" ID_A "\"}\n",
         "servers[1].identity: also the identity of server 'alice'", NEXT_LINE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error2(cases[i].message, cases[i].yaml, NULL, NULL, TKMS_ERR_BAD_FORMAT,
                      at_line(cases[i].line), cases[i].message);
#undef S

    /* 1024 servers fit, 1025 do not (identities: valid points, all distinct) */
    size_t size = strlen(REQUIRED_BUT_SERVERS) + 16 + 1025 * 160;
    char *text = malloc(size);
    size_t len = (size_t)snprintf(text, size, "%sservers:\n", REQUIRED_BUT_SERVERS);
    uint8_t seed[32] = {0}, pk[32], sk[64];
    char hex[TKMS_HEX_SIZE(32)];
    for (int i = 0; i < 1025; i++) {
        seed[0] = (uint8_t)i;
        seed[1] = (uint8_t)(i >> 8);
        seed[2] = 7;
        crypto_sign_seed_keypair(pk, sk, seed);
        tkms_hex_encode(hex, pk, 32);
        len += (size_t)snprintf(text + len, size - len,
                                "- {name: s%d, url: \"https://s%d:9000\", identity: \"%s\"}\n", i,
                                i, hex);
        if (i == 1023) {
            gateway_config cfg;
            tkms_err err;
            tkms_status st = load_config(&cfg, text, NULL, NULL, &err);
            CHECK(st == TKMS_OK && cfg.server_count == 1024 &&
                      strcmp(cfg.servers[1023].name, "s1023") == 0,
                  "1024 servers: %s", st == TKMS_OK ? "" : err.message);
            gateway_config_free(&cfg);
        }
    }
    expect_error2("1025 servers", text, NULL, NULL, TKMS_ERR_BAD_FORMAT, at_line(10 + 1025),
                  "servers: more than 1024 servers");
    free(text);
}

/* ---- the clients list ------------------------------------------------------------ */

static void test_clients(void)
{
/* REQUIRED already has a tls section (a second would be a duplicate key),
 * so these cases get tls.ca from the environment. */
#define C(entries) REQUIRED "clients:\n" entries
#define CL 13   /* the first entry's line in C() */
    char *ca_env[] = {"TKMS_TLS_CA=/ca.pem", NULL};
    static const struct {
        const char *yaml, *message;
        int line;
    } cases[] = {
        {REQUIRED "clients:\n", "clients: has no value (write [] for no clients)", NEXT_LINE},
        {REQUIRED "clients: vc\n", "clients: expected a list of {name, auth, ...}", NEXT_LINE},
        {C("  - vc\n"), "clients[0]: expected a mapping with name, auth, token_file, listen and standby", CL},
        {C("  - {auth: cert}\n"), "clients[0]: name: required", CL},
        {C("  - {name: vc}\n"), "clients[0]: auth: required", CL},
        {C("  - {name: vc, auth: cert, cert: x.pem}\n"),
         "clients[0]: unknown key 'cert' (expected name, auth, token_file, listen, standby)", CL},
        {C("  - {name: vc, auth: password}\n"),
         "clients[0].auth: must be cert, token or listen, got 'password'", CL},
        {C("  - {name: \"v c\", auth: cert}\n"), "clients[0].name: must be 1..64 characters", CL},
        {C("  - {name: vc, auth: token}\n"), "clients[0]: token_file: required with auth: token", CL},
        {C("  - {name: vc, auth: listen}\n"), "clients[0]: listen: required with auth: listen", CL},
        {C("  - {name: vc, auth: cert,\n     token_file: t}\n"),
         "clients[0].token_file: only with auth: token (this client has auth: cert)", CL + 1},
        {C("  - {name: vc, auth: token, token_file: t, listen: \"127.0.0.1:9101\"}\n"),
         "clients[0].listen: only with auth: listen (this client has auth: token)", CL},
        {C("  - {name: vc, auth: listen, listen: \"0.0.0.0:9101\"}\n"),
         "clients[0].listen: must be a loopback address and a port, as 127.0.0.1:9101 or "
         "[::1]:9101 (plain HTTP is only served on loopback), got '0.0.0.0:9101'", CL},
        {C("  - {name: vc, auth: listen, listen: \"localhost:9101\"}\n"),
         "clients[0].listen: must be a loopback address", CL},
        {C("  - {name: vc, auth: listen, listen: \"10.0.0.1:9101\"}\n"),
         "clients[0].listen: must be a loopback address", CL},
        {C("  - {name: vc, auth: listen, listen: \"[::2]:9101\"}\n"),
         "clients[0].listen: must be a loopback address", CL},
        {C("  - {name: vc, auth: listen, listen: \"127.0.0.1:0\"}\n"),
         "clients[0].listen: must be a loopback address and a port", CL},
        {C("  - {name: vc, auth: listen, listen: [::1]:9101}\n"),
         "", CL},   /* a YAML syntax error or a list: either way at this line */
        {C("  - {name: vc, auth: listen, listen: [\"::1\"]}\n"),
         "clients[0].listen: expected a single value (quote IPv6 addresses", CL},
        {C("  - {name: vc, auth: cert}\n  - {name: vc, auth: token, token_file: t}\n"),
         "clients[1].name: duplicate client name 'vc'", CL + 1},
        {C("  - {name: a, auth: token, token_file: t}\n  - {name: b, auth: token, token_file: ./t}\n"),
         "clients[1].token_file: also the token file of client 'a' (each client needs its own token)", CL + 1},
        {C("  - {name: a, auth: listen, listen: \"127.0.0.1:9101\"}\n"
           "  - {name: b, auth: listen, listen: \"127.0.0.1:09101\"}\n"),
         "clients[1].listen: 127.0.0.1:9101 is also the address of client 'a'", CL + 1},
        {C("  - {name: a, auth: cert, standby: a}\n"),
         "clients[0].standby: a client cannot be its own standby", CL},
        {C("  - {name: a, auth: cert}\n  - {name: b, auth: cert,\n      standby: c}\n"),
         "clients[1].standby: no client named 'c'", CL + 2},
        {C("  - {name: a, auth: cert, standby: \"c d\"}\n"),
         "clients[0].standby: must be 1..64 characters", CL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error2(cases[i].message, cases[i].yaml, ca_env, NULL, TKMS_ERR_BAD_FORMAT,
                      at_line(cases[i].line), cases[i].message);

    /* the main listener's address */
    const char *lod = C("  - {name: lodestar, auth: listen, listen: \"127.0.0.1:9100\"}\n");
    expect_error("client on the default main listener", lod, NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "clients: 'lodestar' listens on 127.0.0.1:9100, which the main listener "
                 "(listen 127.0.0.1:9100) takes");
    expect_error("client under a wildcard main listener", C("  - {name: l, auth: listen, listen: \"127.0.0.1:9300\"}\n"),
                 NULL, (const char *[]){"--listen", "0.0.0.0:9300", NULL}, TKMS_ERR_BAD_FORMAT,
                 "which the main listener (listen 0.0.0.0:9300) takes");
    expect_error("IPv6 client under [::]", C("  - {name: l, auth: listen, listen: \"[::1]:9300\"}\n"),
                 NULL, (const char *[]){"--listen", "[::]:9300", NULL}, TKMS_ERR_BAD_FORMAT,
                 "'l' listens on [::1]:9300");
    gateway_config cfg;
    tkms_err err;
    const char *ok_cases[][3] = {
        {"127.0.0.1:9300", "0.0.0.0:9301", "another port"},
        {"[::1]:9300", "0.0.0.0:9300", "0.0.0.0 does not take [::1]"},
        {"127.0.0.2:9300", "127.0.0.1:9300", "another loopback address"},
        {"127.0.0.1:9300", "127.0.0.1:0", "main port 0 (any free port)"},
    };
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml, REQUIRED "clients: [{name: l, auth: listen, listen: \"%s\"}]\n",
                 ok_cases[i][0]);
        const char *flags[] = {"--listen", ok_cases[i][1], NULL};
        tkms_status st = load_config(&cfg, yaml, NULL, flags, &err);
        CHECK(st == TKMS_OK, "%s: %s", ok_cases[i][2], st == TKMS_OK ? "" : err.message);
        gateway_config_free(&cfg);
    }

    /* the keymanager token is nobody's client token */
    expect_error("keymanager token shared with a client",
                 C("  - {name: vc, auth: token, token_file: /run/tkms/token}\n"), NULL,
                 (const char *[]){"--keymanager-token-file", "/run/tkms/token", NULL},
                 TKMS_ERR_BAD_FORMAT,
                 "keymanager.token_file: is also the token file of client 'vc' (the client "
                 "would get the keymanager API)");

    /* 1024 clients fit, 1025 do not */
    size_t size = strlen(REQUIRED) + 16 + 1025 * 64;
    char *text = malloc(size);
    size_t len = (size_t)snprintf(text, size, "%sclients:\n", REQUIRED);
    for (int i = 0; i < 1024; i++)
        len += (size_t)snprintf(text + len, size - len, "- {name: c%d, auth: cert}\n", i);
    tkms_status st = load_config(&cfg, text, ca_env, NULL, &err);
    CHECK(st == TKMS_OK && cfg.client_count == 1024, "1024 clients: %s",
          st == TKMS_OK ? "" : err.message);
    gateway_config_free(&cfg);
    snprintf(text + len, size - len, "- {name: c1024, auth: cert}\n");
    expect_error2("1025 clients", text, ca_env, NULL, TKMS_ERR_BAD_FORMAT,
                  at_line(NEXT_LINE + 1 + 1024), "clients: more than 1024 clients");
    free(text);
#undef C
}

/* ---- YAML structure and flags ------------------------------------------------------ */

static void test_structure_and_flags(void)
{
    expect_error2("unknown key", REQUIRED "timeout: 5\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                  at_line(NEXT_LINE), "unknown key 'timeout'");
    expect_error2("unknown nested key", REQUIRED "migration: {max_refusal: 3}\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE), "unknown key 'migration.max_refusal'");
    expect_error2("section not a mapping", REQUIRED "servers_tls_x: 1\nkeymanager: km.token\n",
                  NULL, NULL, TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE), "unknown key 'servers_tls_x'");
    expect_error2("keymanager as a scalar", REQUIRED "keymanager: km.token\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE),
                  "keymanager: expected a mapping of settings (token_file)");
    expect_error2("migration as a scalar", REQUIRED "migration: 3\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE),
                  "migration: expected a mapping of settings (max_refusals, window_seconds, silence_seconds)");
    expect_error2("duplicate key", REQUIRED "servers: []\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                  at_line(NEXT_LINE), "duplicate key 'servers'");
    expect_error2("duplicate nested key", REQUIRED "keymanager:\n  token_file: a\n  token_file: b\n",
                  NULL, NULL, TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE + 2),
                  "keymanager.duplicate key 'token_file'");
    expect_error2("alias", REQUIRED "log_level: &l info\nnetwork: *l\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE + 1), "YAML aliases are not supported");
    expect_error2("two documents", REQUIRED "---\nworkers: 1\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                  at_line(NEXT_LINE), "only one YAML document is allowed");
    expect_error2("syntax error", REQUIRED "workers: 2\n  bad: x\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE + 1), "YAML syntax error");
    expect_error2("deep nesting", REQUIRED "clients: [[[[[[[[1]]]]]]]]\n", NULL, NULL,
                  TKMS_ERR_BAD_FORMAT, at_line(NEXT_LINE), "nested deeper than 8 levels");
    expect_error("top-level list", "- a\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "expected a mapping of settings (key: value lines)");

    expect_error("unknown flag", REQUIRED, NULL, (const char *[]){"--timeout", "5", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--timeout: unknown flag");
    expect_error("lists are not flags", REQUIRED, NULL, (const char *[]){"--servers", "x", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--servers: unknown flag");
    expect_error("server flag in the gateway", REQUIRED, NULL, (const char *[]){"--owner", "x", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--owner: unknown flag");
    expect_error("flag twice", REQUIRED, NULL, (const char *[]){"--db", "postgres://a", "--db=postgres://b", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--db: given more than once");
    expect_error("missing value", REQUIRED, NULL, (const char *[]){"--timeout-ms", "--workers", "2", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--timeout-ms: needs a value");
    expect_error("positional", REQUIRED, NULL, (const char *[]){"assign", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "unexpected argument 'assign'");
    gateway_config cfg;
    tkms_err err;
    CHECK(gateway_config_load(NULL, NULL, no_env, 0, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL out");
    CHECK(gateway_config_load(&cfg, NULL, no_env, 1, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strcmp(err.message, "gateway config: missing argument") == 0,
          "NULL argv: %s", err.message);

    CHECK(gateway_config_wants_help(1, (char *[]){"--help", NULL}), "--help");
    CHECK(gateway_config_wants_help(3, (char *[]){"--db", "postgres://x", "-h", NULL}), "-h after a flag");
    CHECK(!gateway_config_wants_help(2, (char *[]){"--servers-tls-ca", "--help", NULL}),
          "--help as a value");
    CHECK(!gateway_config_wants_help(2, (char *[]){"--config", "-h", NULL}), "-h as --config's value");
    CHECK(!gateway_config_wants_help(0, NULL), "no arguments");
}

static void test_help(void)
{
    const char *help = gateway_config_help();
    CHECK(help != NULL && strlen(help) > 1000, "help text");
    static const char *const names[] = {
        "listen", "TKMS_LISTEN", "--listen", "data_dir", "TKMS_DATA_DIR", "--data-dir",
        "db", "TKMS_DB", "--db", "postgres://",
        "tls.cert", "TKMS_TLS_CERT", "--tls-cert", "tls.key", "TKMS_TLS_KEY", "--tls-key",
        "tls.ca", "TKMS_TLS_CA", "--tls-ca",
        "servers_tls.cert", "TKMS_SERVERS_TLS_CERT", "--servers-tls-cert",
        "servers_tls.key", "TKMS_SERVERS_TLS_KEY", "--servers-tls-key",
        "servers_tls.ca", "TKMS_SERVERS_TLS_CA", "--servers-tls-ca",
        "keymanager.token_file", "TKMS_KEYMANAGER_TOKEN_FILE", "--keymanager-token-file",
        "password_file", "TKMS_PASSWORD_FILE", "--password-file", "TKMS_PASSWORD",
        "network", "TKMS_NETWORK", "--network", "genesis_fork_version",
        "TKMS_GENESIS_FORK_VERSION", "--genesis-fork-version", "genesis_validators_root",
        "TKMS_GENESIS_VALIDATORS_ROOT", "--genesis-validators-root",
        "timeout_ms", "TKMS_TIMEOUT_MS", "--timeout-ms", "2000",
        "health_interval_ms", "TKMS_HEALTH_INTERVAL_MS", "--health-interval-ms", "5000",
        "workers", "TKMS_WORKERS", "--workers", "max_body_size", "TKMS_MAX_BODY_SIZE",
        "--max-body-size", "keystore.kdf", "TKMS_KEYSTORE_KDF", "--keystore-kdf",
        "keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "--keystore-scrypt-n", "log_level",
        "TKMS_LOG_LEVEL", "--log-level", "migration.max_refusals", "TKMS_MIGRATION_MAX_REFUSALS",
        "--migration-max-refusals", "migration.window_seconds", "TKMS_MIGRATION_WINDOW_SECONDS",
        "--migration-window-seconds", "migration.silence_seconds",
        "TKMS_MIGRATION_SILENCE_SECONDS", "--migration-silence-seconds", "servers", "clients", "identity", "url", "auth",
        "token_file", "standby", "cert", "token", "Lodestar", "loopback", "--config",
        "TKMS_CONFIG", "127.0.0.1:9100",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(contains(help, names[i]), "help mentions %s", names[i]);
    bool ascii = true;
    for (const char *c = help; *c; c++)
        ascii &= (*c >= 0x20 && *c <= 0x7e) || *c == '\n';
    CHECK(ascii, "help is plain ASCII");

    const char *start = strstr(help, "  listen: 0.0.0.0:9100");
    const char *end = start != NULL ? strstr(start, "\n\n") : NULL;
    CHECK(start != NULL && end != NULL, "help has an example file");
    if (start != NULL && end != NULL) {
        char *example = strndup(start, (size_t)(end - start + 1));
        gateway_config cfg;
        tkms_err err;
        tkms_status st = load_config(&cfg, example, NULL, NULL, &err);
        CHECK(st == TKMS_OK && cfg.server_count == 2 && cfg.client_count == 3 &&
                  cfg.keymanager_token_file != NULL && cfg.tls_ca != NULL,
              "the example file loads: %s", st == TKMS_OK ? "" : err.message);
        gateway_config_free(&cfg);
        free(example);
    }
}

/* ---- the engine's parsers, directly ---------------------------------------------------- */

static void test_engine(void)
{
    tkms_err err;
    uint64_t v = 0;
    CHECK(config_value_size("2 MiB", "x", 1, 4u << 20, &v, &err) == TKMS_OK && v == 2u << 20,
          "size 2 MiB");
    CHECK(config_value_size("5", "x", 10, 1000, &v, &err) == TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "x: must be 10..1000 bytes (10 bytes..1000 bytes; units KiB, MiB), got 5") == 0,
          "size labels in bytes: %s", err.message);
    CHECK(config_value_size(" 1KiB", "x", 1, 4096, &v, &err) == TKMS_ERR_BAD_FORMAT, "leading space");
    CHECK(config_value_size("1  KiB", "x", 1, 4096, &v, &err) == TKMS_ERR_BAD_FORMAT, "two spaces");
    CHECK(config_value_uint("18446744073709551615", "x", 0, UINT64_MAX, &v, &err) == TKMS_OK &&
              v == UINT64_MAX,
          "uint64 max");
    CHECK(config_value_uint("18446744073709551616", "x", 0, UINT64_MAX, &v, &err) ==
              TKMS_ERR_BAD_FORMAT,
          "uint64 overflow");
    CHECK(config_value_pow2("0", "x", 0, 8, &v, &err) == TKMS_ERR_BAD_FORMAT, "0 is no power of two");
    size_t index = 9;
    static const char *const one[] = {"only"};
    CHECK(config_value_enum("x", "w", one, 1, &index, &err) == TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "w: must be only, got 'x'") == 0 && index == 9,
          "enum of one: %s", err.message);
    uint8_t b[2];
    CHECK(config_value_hex("0XaBcD", "h", b, 2, &err) == TKMS_OK && b[0] == 0xab && b[1] == 0xcd,
          "hex either case");
    config_host_port hp;
    CHECK(config_value_host_port(NULL, "[::ffff:1.2.3.4]:007", "l", &hp, &err) == TKMS_OK &&
              strcmp(hp.text, "[::ffff:1.2.3.4]:7") == 0 && hp.v6 && hp.port == 7,
          "host_port canonical");
    config_host_port_free(&hp);
    config_host_port_free(&hp);
    CHECK(config_value_host_port(NULL, "a:123456", "l", &hp, &err) == TKMS_ERR_BAD_FORMAT &&
              hp.text == NULL && hp.host == NULL,
          "host_port failure leaves it empty");
    char *p = config_resolve_path("/b", "././/c/../d");
    CHECK(p != NULL && strcmp(p, "/b/c/../d") == 0, "resolve_path: %s", p);
    free(p);
    p = config_resolve_path("/", "x");
    CHECK(p != NULL && strcmp(p, "/x") == 0, "resolve_path from /: %s", p);
    free(p);
    char *envp[] = {"A=1", "AB=2", "C=", NULL};
    CHECK(config_env_get(envp, "A") != NULL && strcmp(config_env_get(envp, "A"), "1") == 0 &&
              strcmp(config_env_get(envp, "AB"), "2") == 0 && config_env_get(envp, "C") == NULL &&
              config_env_get(envp, "B") == NULL,
          "env_get");
    CHECK(config_value_check("a\x7f", "w", &err) == TKMS_ERR_BAD_FORMAT, "DEL is a control character");
    tkms_eth2_chain chain = TKMS_ETH2_MAINNET;
    CHECK(config_value_network("minimal", "n", &chain, &err) == TKMS_OK &&
              chain.preset == TKMS_ETH2_PRESET_MINIMAL,
          "network");
    config_chain_default_fork_version(&chain);
    CHECK(memcmp(chain.genesis_fork_version, "\0\0\0\x01", 4) == 0, "minimal fork version");
    int level = -1;
    CHECK(config_value_log_level("warn", "l", &level, &err) == TKMS_OK && level == TKMS_LOG_WARN,
          "log level");
    tkms_kdf kdf = TKMS_KDF_SCRYPT;
    CHECK(config_value_kdf("pbkdf2", "k", &kdf, &err) == TKMS_OK && kdf == TKMS_KDF_PBKDF2, "kdf");

    /* the tree keeps kinds and line numbers */
    static const config_schema tiny = {.what = "tiny", .max_file_size = 64, .max_depth = 2};
    config_node *tree = NULL;
    const char *doc = "a: 1\nb:\n  - x\n  - ~\n";
    CHECK(config_tree_parse(&tiny, &tree, doc, strlen(doc), "t.yaml", &err) == TKMS_OK &&
              tree != NULL && tree->kind == CONFIG_MAPPING && tree->count == 4 &&
              tree->items[3]->kind == CONFIG_SEQUENCE && tree->items[3]->line == 3 &&
              tree->items[3]->items[1]->line == 4 && config_node_is_null(tree->items[3]->items[1]) &&
              !config_node_is_null(tree->items[1]),
          "tree: %s", err.message);
    config_tree_free(tree);
    CHECK(config_tree_parse(&tiny, &tree, "a: [[1]]", 8, "t.yaml", &err) == TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "t.yaml:1: nested deeper than 2 levels") == 0 && tree == NULL,
          "schema depth: %s", err.message);
    char big[80];
    memset(big, '#', sizeof big);
    CHECK(config_tree_parse(&tiny, &tree, big, sizeof big, NULL, &err) == TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "config: larger than 64 bytes") == 0,
          "schema size: %s", err.message);
    CHECK(config_tree_parse(&tiny, &tree, "", 0, "e", &err) == TKMS_OK && tree == NULL,
          "empty stream: no tree");
    CHECK(config_out_of_memory(&tiny, &err) == TKMS_ERR_NO_MEMORY &&
              strcmp(err.message, "tiny: out of memory") == 0,
          "out of memory names the schema");
}

int main(void)
{
    config_test_setup(&KIND);
    if (sodium_init() < 0)
        test_fatal("sodium_init");

    test_defaults();
    test_full_file();
    test_precedence();
    test_paths_and_selection();
    test_required();
    test_bad_values();
    test_servers();
    test_clients();
    test_structure_and_flags();
    test_help();
    test_engine();

    config_test_cleanup();
    return test_report();
}
