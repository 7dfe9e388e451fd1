/*
 * test_server_config.c — the threshold server's configuration
 * (src/server/server_config.h): defaults; precedence file < environment <
 * flags for several settings; relative paths (from the file's directory
 * for the file, from the current directory for the environment and
 * flags); the file chosen by --config, TKMS_CONFIG or the caller; every
 * validation error as one line naming the setting and its source (with
 * the YAML line); unknown and duplicate keys, YAML syntax errors, aliases,
 * several documents, nesting, oversize and unreadable files; rules from
 * the file; flag syntax errors; the help text. Temporary files live under
 * a mkdtemp directory, and every load gets an explicit environment.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_test.h"
#include "server_config.h"
#include "test.h"
#include "tkms/hex.h"

#define GVR "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"
#define KEY_A "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c"
#define KEY_B "0xb53d21a4cfd562c469cc81514d4ce5a6b577d8403d32a394dc265dd190b47fa9f829fdd7963afdf972e5e77854051f6f"

/* The required settings, for files that test something else. */
#define REQUIRED_BUT_ROOT                                                           \
    "data_dir: data\n"                                                              \
    "tls:\n"                                                                        \
    "  cert: server.pem\n"                                                          \
    "  key: server.key\n"                                                           \
    "  ca: ca.pem\n"
#define REQUIRED REQUIRED_BUT_ROOT "genesis_validators_root: \"" GVR "\"\n"

static tkms_status load_any(void *cfg, const char *path, char *const envp[], int argc,
                            char **argv, tkms_err *err)
{
    return server_config_load(cfg, path, envp, argc, argv, err);
}

static void free_any(void *cfg)
{
    server_config_free(cfg);
}

static const config_test_kind KIND = {"server.yaml", sizeof(server_config), load_any, free_any};

/* ---- defaults and a full file ------------------------------------------------ */

static void test_defaults(void)
{
    server_config cfg;
    tkms_err err;
    tkms_status st = load_config(&cfg, REQUIRED, NULL, NULL, &err);
    CHECK(st == TKMS_OK, "minimal file loads: %s", st == TKMS_OK ? "" : err.message);
    if (st != TKMS_OK)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;
    CHECK(strcmp(cfg.listen, "127.0.0.1:9000") == 0 && strcmp(cfg.listen_host, "127.0.0.1") == 0 &&
              cfg.listen_port == 9000,
          "default listen %s", cfg.listen);
    CHECK(cfg.workers == want, "default workers = online CPUs (%u, want %u)", cfg.workers, want);
    CHECK(cfg.max_body_size == 1024 * 1024, "default max body 1 MiB");
    CHECK(cfg.keystore.kdf == TKMS_KDF_SCRYPT && cfg.keystore.scrypt_n == 262144 &&
              cfg.keystore.scrypt_r == 8 && cfg.keystore.scrypt_p == 1,
          "default keystore scrypt 2^18");
    CHECK(cfg.log_level == SERVER_LOG_INFO, "default log level info");
    CHECK(cfg.chain.preset == TKMS_ETH2_PRESET_MAINNET &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\0", 4) == 0,
          "default network mainnet, fork version 0x00000000");
    CHECK(cfg.password_file == NULL && cfg.owner == NULL, "password_file and owner unset");
    CHECK(cfg.rules != NULL && server_rules_count(cfg.rules) == 0, "no rules: deny all");
    CHECK(!server_rules_allow(cfg.rules, "anyone", SERVER_OP_METRICS, 0, NULL), "denied");
    CHECK(cfg.config_path != NULL && strcmp(cfg.config_path, config_yaml_path) == 0, "config_path");
    uint8_t gvr[32];
    tkms_hex_decode(gvr, 32, GVR, NULL);
    CHECK(memcmp(cfg.genesis_validators_root, gvr, 32) == 0, "genesis validators root");
    CHECK(strcmp(cfg.data_dir, path_in(config_etc, "data")) == 0, "data_dir %s", cfg.data_dir);
    CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "server.pem")) == 0, "tls_cert %s", cfg.tls_cert);
    CHECK(strcmp(cfg.tls_key, path_in(config_etc, "server.key")) == 0, "tls_key %s", cfg.tls_key);
    CHECK(strcmp(cfg.tls_ca, path_in(config_etc, "ca.pem")) == 0, "tls_ca %s", cfg.tls_ca);
    server_config_free(&cfg);
    server_config_free(&cfg);   /* twice is harmless */
    server_config_free(NULL);
}

static void test_full_file(void)
{
    const char *yaml =
        "# every setting\n"
        "listen: \"[::1]:9443\"\n"
        "data_dir: /var/lib/tkms\n"
        "tls: {cert: ./certs/server.pem, key: ../keys/server.key, ca: /etc/tkms/ca.pem}\n"
        "password_file: pw.txt\n"
        "owner: alice.1\n"
        "network: minimal\n"
        "genesis_fork_version: '0x01020304'\n"
        "genesis_validators_root: " GVR "\n"
        "workers: 3\n"
        "max_body_size: 64KiB\n"
        "keystore:\n"
        "  kdf: pbkdf2\n"
        "  scrypt_n: 1024\n"
        "log_level: debug\n"
        "rules: []\n";
    server_config cfg;
    tkms_err err;
    tkms_status st = load_config(&cfg, yaml, NULL, NULL, &err);
    CHECK(st == TKMS_OK, "full file loads: %s", st == TKMS_OK ? "" : err.message);
    if (st != TKMS_OK)
        return;
    CHECK(strcmp(cfg.listen, "[::1]:9443") == 0 && strcmp(cfg.listen_host, "::1") == 0 &&
              cfg.listen_port == 9443,
          "IPv6 listen %s / %s", cfg.listen, cfg.listen_host);
    CHECK(strcmp(cfg.data_dir, "/var/lib/tkms") == 0, "absolute path kept");
    CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "certs/server.pem")) == 0, "./ dropped: %s",
          cfg.tls_cert);
    CHECK(strcmp(cfg.tls_key, path_in(config_etc, "../keys/server.key")) == 0, ".. kept: %s",
          cfg.tls_key);
    CHECK(strcmp(cfg.tls_ca, "/etc/tkms/ca.pem") == 0, "tls_ca");
    CHECK(strcmp(cfg.password_file, path_in(config_etc, "pw.txt")) == 0, "password_file %s",
          cfg.password_file);
    CHECK(strcmp(cfg.owner, "alice.1") == 0, "owner");
    CHECK(cfg.chain.preset == TKMS_ETH2_PRESET_MINIMAL &&
              memcmp(cfg.chain.genesis_fork_version, "\x01\x02\x03\x04", 4) == 0,
          "minimal with its own fork version");
    CHECK(cfg.workers == 3 && cfg.max_body_size == 65536, "workers, max_body_size");
    CHECK(cfg.keystore.kdf == TKMS_KDF_PBKDF2 && cfg.keystore.scrypt_n == 1024, "keystore");
    CHECK(cfg.log_level == SERVER_LOG_DEBUG, "log level");
    CHECK(strcmp(server_log_level_name(cfg.log_level), "debug") == 0, "log level name");
    server_config_free(&cfg);
}

static void test_network_fork_version(void)
{
    server_config cfg;
    tkms_err err;
    const char *minimal[] = {"--network", "minimal", NULL};
    CHECK(load_config(&cfg, REQUIRED, NULL, minimal, &err) == TKMS_OK &&
              cfg.chain.preset == TKMS_ETH2_PRESET_MINIMAL &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\x01", 4) == 0,
          "minimal defaults to fork version 0x00000001");
    server_config_free(&cfg);
    const char *mainnet_v[] = {"--genesis-fork-version", "00000007", NULL};
    CHECK(load_config(&cfg, REQUIRED "network: minimal\n", NULL, mainnet_v, &err) == TKMS_OK &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\x07", 4) == 0,
          "an explicit fork version wins over the network's (0x optional)");
    server_config_free(&cfg);
    char *env[] = {"TKMS_NETWORK=minimal", NULL};
    const char *back[] = {"--network=mainnet", NULL};
    CHECK(load_config(&cfg, REQUIRED, env, back, &err) == TKMS_OK &&
              cfg.chain.preset == TKMS_ETH2_PRESET_MAINNET &&
              memcmp(cfg.chain.genesis_fork_version, "\0\0\0\0", 4) == 0,
          "flag mainnet over env minimal: fork version follows the final network");
    server_config_free(&cfg);
}

/* ---- precedence and paths ---------------------------------------------------- */

static void test_precedence(void)
{
    const char *yaml = REQUIRED
        "listen: 10.0.0.1:1000\n"
        "workers: 2\n"
        "log_level: warn\n"
        "owner: from-file\n"
        "max_body_size: 2048\n"
        "keystore: {scrypt_n: 2048}\n";
    server_config cfg;
    tkms_err err;

    CHECK(load_config(&cfg, yaml, NULL, NULL, &err) == TKMS_OK && cfg.listen_port == 1000 &&
              cfg.workers == 2 && cfg.log_level == SERVER_LOG_WARN &&
              strcmp(cfg.owner, "from-file") == 0 && cfg.max_body_size == 2048 &&
              cfg.keystore.scrypt_n == 2048,
          "file over defaults");
    server_config_free(&cfg);

    char *env[] = {"PATH=/usr/bin",
                   "TKMS_LISTEN=10.0.0.2:2000",
                   "TKMS_WORKERS=4",
                   "TKMS_LOG_LEVEL=error",
                   "TKMS_OWNER=from-env",
                   "TKMS_KEYSTORE_SCRYPT_N=4096",
                   "TKMS_WORKERS=9",            /* a second entry: the first counts */
                   "TKMS_MAX_BODY_SIZE=",       /* empty: as if unset */
                   NULL};
    CHECK(load_config(&cfg, yaml, env, NULL, &err) == TKMS_OK &&
              strcmp(cfg.listen, "10.0.0.2:2000") == 0 && cfg.workers == 4 &&
              cfg.log_level == SERVER_LOG_ERROR && strcmp(cfg.owner, "from-env") == 0 &&
              cfg.max_body_size == 2048 && cfg.keystore.scrypt_n == 4096,
          "environment over file (empty variable ignored, first entry counts)");
    server_config_free(&cfg);

    const char *flags[] = {"--workers", "8", "--log-level=info", "--owner", "from-flag",
                           "--max-body-size", "1 MiB", NULL};
    CHECK(load_config(&cfg, yaml, env, flags, &err) == TKMS_OK &&
              strcmp(cfg.listen, "10.0.0.2:2000") == 0 && cfg.workers == 8 &&
              cfg.log_level == SERVER_LOG_INFO && strcmp(cfg.owner, "from-flag") == 0 &&
              cfg.max_body_size == 1024 * 1024 && cfg.keystore.scrypt_n == 4096,
          "flags over environment over file");
    server_config_free(&cfg);

    /* A bad value is an error even where a later source replaces it. */
    const char *good[] = {"--workers", "2", NULL};
    expect_error("bad file value under a good flag", REQUIRED "workers: 0\n", NULL, good,
                 TKMS_ERR_BAD_FORMAT, "workers: must be 1..64, got 0");
    char *bad_env[] = {"TKMS_WORKERS=100", NULL};
    expect_error("bad env value under a good flag", REQUIRED, bad_env, good,
                 TKMS_ERR_BAD_FORMAT, "TKMS_WORKERS: must be 1..64, got 100");
}

static void test_relative_paths(void)
{
    server_config cfg;
    tkms_err err;
    char *env[] = {"TKMS_DATA_DIR=env-data", "TKMS_TLS_KEY=./k.pem", NULL};
    const char *flags[] = {"--tls-ca", "sub/ca.pem", "--password-file=/abs/pw", NULL};
    tkms_status st = load_config(&cfg, REQUIRED, env, flags, &err);
    CHECK(st == TKMS_OK, "load: %s", st == TKMS_OK ? "" : err.message);
    if (st == TKMS_OK) {
        CHECK(strcmp(cfg.data_dir, path_in(config_root, "env-data")) == 0,
              "env path relative to the current directory: %s", cfg.data_dir);
        CHECK(strcmp(cfg.tls_key, path_in(config_root, "k.pem")) == 0, "env ./k.pem: %s", cfg.tls_key);
        CHECK(strcmp(cfg.tls_ca, path_in(config_root, "sub/ca.pem")) == 0,
              "flag path relative to the current directory: %s", cfg.tls_ca);
        CHECK(strcmp(cfg.password_file, "/abs/pw") == 0, "absolute flag path");
        CHECK(strcmp(cfg.tls_cert, path_in(config_etc, "server.pem")) == 0,
              "file path relative to the file: %s", cfg.tls_cert);
    }
    server_config_free(&cfg);

    /* a relative --config: its directory is taken from the current one */
    write_text(config_yaml_path, REQUIRED);
    const char *rel[] = {"--config", "etc/server.yaml", NULL};
    st = load_config(&cfg, NULL, NULL, rel, &err);
    CHECK(st == TKMS_OK && strcmp(cfg.data_dir, path_in(config_etc, "data")) == 0,
          "relative --config: data_dir %s", st == TKMS_OK ? cfg.data_dir : err.message);
    server_config_free(&cfg);
    const char *rel2[] = {"--config=./etc//server.yaml", NULL};
    st = load_config(&cfg, NULL, NULL, rel2, &err);
    CHECK(st == TKMS_OK && strcmp(cfg.tls_ca, path_in(config_etc, "ca.pem")) == 0,
          "--config=./etc//server.yaml: %s", st == TKMS_OK ? cfg.tls_ca : err.message);
    server_config_free(&cfg);

    /* parse_yaml with a relative base and with none */
    CHECK(server_config_init(&cfg, &err) == TKMS_OK, "init");
    const char *text = "data_dir: d\n";
    CHECK(server_config_parse_yaml(&cfg, text, strlen(text), "base", "mem.yaml", &err) ==
                  TKMS_OK &&
              strcmp(cfg.data_dir, path_in(config_root, "base/d")) == 0,
          "relative base_dir from the current directory: %s", cfg.data_dir);
    CHECK(server_config_parse_yaml(&cfg, "data_dir: e", 11, NULL, "mem.yaml", &err) == TKMS_OK &&
              strcmp(cfg.data_dir, path_in(config_root, "e")) == 0,
          "no base_dir: the current directory: %s", cfg.data_dir);
    CHECK(server_config_parse_yaml(&cfg, "data_dir: .", 11, "/x/y/", "mem.yaml", &err) ==
                  TKMS_OK &&
              strcmp(cfg.data_dir, "/x/y/") == 0,
          "'.' is the base itself: %s", cfg.data_dir);
    CHECK(server_config_finish(&cfg, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "tls.cert: required"),
          "finish checks required settings: %s", err.message);
    server_config_free(&cfg);
}

static void test_config_selection(void)
{
    server_config cfg;
    tkms_err err;
    char other[PATH_MAX + 32];
    snprintf(other, sizeof other, "%s/other.yaml", config_root);
    write_text(other, REQUIRED "workers: 5\n");
    write_text(config_yaml_path, REQUIRED "workers: 6\n");

    char env_cfg[PATH_MAX + 64];
    snprintf(env_cfg, sizeof env_cfg, "TKMS_CONFIG=%s", other);
    char *env[] = {env_cfg, NULL};
    CHECK(load_config(&cfg, NULL, env, NULL, &err) == TKMS_OK && cfg.workers == 5 &&
              strcmp(cfg.data_dir, path_in(config_root, "data")) == 0,
          "TKMS_CONFIG selects the file");
    server_config_free(&cfg);

    const char *flag[] = {"--config", config_yaml_path, NULL};
    CHECK(load_config(&cfg, NULL, env, flag, &err) == TKMS_OK && cfg.workers == 6,
          "--config wins over TKMS_CONFIG");
    server_config_free(&cfg);

    CHECK(server_config_load(&cfg, other, env, 2, (char **)flag, &err) == TKMS_OK &&
              cfg.workers == 6,
          "--config wins over the caller's path");
    server_config_free(&cfg);
    CHECK(server_config_load(&cfg, config_yaml_path, env, 0, NULL, &err) == TKMS_OK && cfg.workers == 6,
          "the caller's path wins over TKMS_CONFIG");
    server_config_free(&cfg);

    /* without a file, everything from env and flags */
    char *all_env[] = {"TKMS_DATA_DIR=/d", "TKMS_TLS_CERT=/c", "TKMS_TLS_KEY=/k", NULL};
    const char *all_flags[] = {"--tls-ca", "/ca", "--genesis-validators-root", GVR, NULL};
    CHECK(load_config(&cfg, NULL, all_env, all_flags, &err) == TKMS_OK && cfg.config_path == NULL &&
              strcmp(cfg.tls_ca, "/ca") == 0,
          "no file at all");
    server_config_free(&cfg);

    expect_error("missing file", NULL, NULL, (const char *[]){"--config", "/nonexistent/x.yaml", NULL},
                 TKMS_ERR_IO, "--config: cannot read /nonexistent/x.yaml: No such file");
    char *missing_env[] = {"TKMS_CONFIG=/nonexistent/y.yaml", NULL};
    expect_error("missing TKMS_CONFIG file", NULL, missing_env, NULL, TKMS_ERR_IO,
                 "TKMS_CONFIG: cannot read /nonexistent/y.yaml");
    expect_error("directory as file", NULL, NULL, (const char *[]){"--config", config_root, NULL},
                 TKMS_ERR_IO, "is a directory");
    expect_error("empty --config", NULL, NULL, (const char *[]){"--config=", NULL},
                 TKMS_ERR_BAD_FORMAT, "--config: must not be empty");
}

/* ---- required settings -------------------------------------------------------- */

static void test_required(void)
{
    static const struct {
        const char *drop, *message;
    } cases[] = {
        {"data_dir: data\n", "data_dir: required (set data_dir in the config file, TKMS_DATA_DIR or --data-dir)"},
        {"  cert: server.pem\n", "tls.cert: required"},
        {"  key: server.key\n", "tls.key: required"},
        {"  ca: ca.pem\n", "tls.ca: required (set tls.ca in the config file, TKMS_TLS_CA or --tls-ca)"},
        {"genesis_validators_root: \"" GVR "\"\n", "genesis_validators_root: required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[1024];
        const char *full = REQUIRED;
        const char *at = strstr(full, cases[i].drop);
        snprintf(yaml, sizeof yaml, "%.*s%s", (int)(at - full), full, at + strlen(cases[i].drop));
        expect_error(cases[i].message, yaml, NULL, NULL, TKMS_ERR_BAD_FORMAT, cases[i].message);
    }
    expect_error("nothing at all", NULL, NULL, NULL, TKMS_ERR_BAD_FORMAT, "data_dir: required");
    expect_error("empty file", "", NULL, NULL, TKMS_ERR_BAD_FORMAT, "data_dir: required");
    expect_error("comment-only file", "# nothing\n---\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "data_dir: required");
}

/* ---- every value check, from each source ------------------------------------- */

typedef struct {
    const char *key, *env, *flag, *value, *message;
} bad_value;

static const bad_value BAD[] = {
    {"listen", "TKMS_LISTEN", "--listen", "nohost", "expected HOST:PORT, got 'nohost'"},
    {"listen", "TKMS_LISTEN", "--listen", "':9000'", "expected HOST:PORT"},
    {"listen", "TKMS_LISTEN", "--listen", "'host:'", "port 0..65535"},
    {"listen", "TKMS_LISTEN", "--listen", "host:65536", "port 0..65535, got 'host:65536'"},
    {"listen", "TKMS_LISTEN", "--listen", "host:+80", "port 0..65535"},
    {"listen", "TKMS_LISTEN", "--listen", "ho st:80", "host name or IPv4 address"},
    {"listen", "TKMS_LISTEN", "--listen", "'::1:9000'", "IPv6 address in brackets"},
    {"listen", "TKMS_LISTEN", "--listen", "'[::1]9000'", "expected [IPV6]:PORT"},
    {"listen", "TKMS_LISTEN", "--listen", "'[zz::q]:9000'", "not an IPv6 address"},
    {"listen", "TKMS_LISTEN", "--listen", "'[]:9000'", "not an IPv6 address"},
    {"owner", "TKMS_OWNER", "--owner", "-bad", "must be 1..64 characters"},
    {"owner", "TKMS_OWNER", "--owner", "a/b", "got 'a/b'"},
    {"owner", "TKMS_OWNER", "--owner",
     "x12345678901234567890123456789012345678901234567890123456789012345", "must be 1..64"},
    {"network", "TKMS_NETWORK", "--network", "holesky", "must be mainnet or minimal, got 'holesky'"},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "--genesis-fork-version", "0x0102",
     "expected 0x and 8 hex digits, got '0x0102'"},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "--genesis-fork-version", "0xzzzzzzzz",
     "expected 0x and 8 hex digits"},
    {"genesis_validators_root", "TKMS_GENESIS_VALIDATORS_ROOT", "--genesis-validators-root",
     "0x4b36", "expected 0x and 64 hex digits"},
    {"workers", "TKMS_WORKERS", "--workers", "0", "must be 1..64, got 0"},
    {"workers", "TKMS_WORKERS", "--workers", "65", "must be 1..64, got 65"},
    {"workers", "TKMS_WORKERS", "--workers", "-1", "must be 1..64, got -1"},
    {"workers", "TKMS_WORKERS", "--workers", "4.0", "must be 1..64, got 4.0"},
    {"workers", "TKMS_WORKERS", "--workers", "99999999999999999999999", "must be 1..64"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "1023", "must be 1024..16777216 bytes"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "17MiB", "got 17MiB"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "16777217", "must be 1024..16777216"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "1GiB", "units KiB, MiB"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "KiB", "must be 1024"},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "18446744073709551615MiB", "must be 1024"},
    {"keystore.kdf", "TKMS_KEYSTORE_KDF", "--keystore-kdf", "argon2", "must be scrypt or pbkdf2, got 'argon2'"},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "--keystore-scrypt-n", "1000", "must be a power of two from 1024 to 1048576, got 1000"},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "--keystore-scrypt-n", "512", "power of two"},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "--keystore-scrypt-n", "2097152", "power of two"},
    {"log_level", "TKMS_LOG_LEVEL", "--log-level", "trace", "must be error, warn, info or debug, got 'trace'"},
    {"log_level", "TKMS_LOG_LEVEL", "--log-level", "INFO", "got 'INFO'"},
};

static void test_bad_values(void)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_value *b = &BAD[i];
        char yaml[2048], expected[PATH_MAX + 512], env_entry[256], raw[128];
        const char *value = unquoted(b->value, raw, sizeof raw);

        /* in the file, at line 7 (after the 6 lines of REQUIRED), or 6
         * (the root replaces REQUIRED's), or 8 (in a section) */
        const char *dot = strchr(b->key, '.');
        bool root_key = strcmp(b->key, "genesis_validators_root") == 0;
        if (dot != NULL)
            snprintf(yaml, sizeof yaml, REQUIRED "%.*s:\n  %s: %s\n", (int)(dot - b->key), b->key,
                     dot + 1, b->value);
        else
            snprintf(yaml, sizeof yaml, "%s%s: %s\n", root_key ? REQUIRED_BUT_ROOT : REQUIRED,
                     b->key, b->value);
        snprintf(expected, sizeof expected, "%s%s: ", at_line(dot != NULL ? 8 : root_key ? 6 : 7),
                 b->key);
        expect_error2(b->key, yaml, NULL, NULL, TKMS_ERR_BAD_FORMAT, expected, b->message);

        /* in the environment */
        snprintf(env_entry, sizeof env_entry, "%s=%s", b->env, value);
        char *env[] = {env_entry, NULL};
        snprintf(expected, sizeof expected, "%s: ", b->env);
        expect_error2(b->env, REQUIRED, env, NULL, TKMS_ERR_BAD_FORMAT, expected, b->message);

        /* as a flag */
        const char *flags[] = {b->flag, value, NULL};
        snprintf(expected, sizeof expected, "%s: ", b->flag);
        expect_error2(b->flag, REQUIRED, NULL, flags, TKMS_ERR_BAD_FORMAT, expected, b->message);
    }
}

static void test_good_values(void)
{
    static const struct {
        const char *flag, *value;
    } good[] = {
        {"--listen", "localhost:0"},   {"--listen", "[::]:65535"},  {"--listen", "0.0.0.0:1"},
        {"--listen", "my_host.internal:443"},
        {"--workers", "1"},            {"--workers", "64"},         {"--workers", "007"},
        {"--max-body-size", "1024"},   {"--max-body-size", "1KiB"}, {"--max-body-size", "16MiB"},
        {"--max-body-size", "16384 KiB"},
        {"--keystore-scrypt-n", "1024"}, {"--keystore-scrypt-n", "1048576"},
        {"--owner", "a"},
        {"--owner", "x123456789012345678901234567890123456789012345678901234567890123"},
        {"--genesis-fork-version", "0XAABBCCDD"},
        {"--log-level", "error"},      {"--log-level", "warn"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        server_config cfg;
        tkms_err err;
        const char *flags[] = {good[i].flag, good[i].value, NULL};
        tkms_status st = load_config(&cfg, REQUIRED, NULL, flags, &err);
        CHECK(st == TKMS_OK, "%s %s accepted: %s", good[i].flag, good[i].value,
              st == TKMS_OK ? "" : err.message);
        server_config_free(&cfg);
    }
    server_config cfg;
    tkms_err err;
    const char *v6[] = {"--listen", "[::]:65535", "--max-body-size", "16384 KiB", NULL};
    CHECK(load_config(&cfg, REQUIRED, NULL, v6, &err) == TKMS_OK &&
              strcmp(cfg.listen, "[::]:65535") == 0 && strcmp(cfg.listen_host, "::") == 0 &&
              cfg.listen_port == 65535 && cfg.max_body_size == 16 * 1024 * 1024,
          "[::]:65535 and 16384 KiB: %s", err.message);
    server_config_free(&cfg);
    const char *zero[] = {"--listen", "localhost:00080", NULL};
    CHECK(load_config(&cfg, REQUIRED, NULL, zero, &err) == TKMS_OK &&
              strcmp(cfg.listen, "localhost:80") == 0 && cfg.listen_port == 80,
          "canonical listen: %s", err.message);
    server_config_free(&cfg);
}

static void test_empty_and_control_values(void)
{
    expect_error("YAML empty value", REQUIRED "workers:\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:7: workers: has no value");
    expect_error("YAML ~", REQUIRED "owner: ~\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "owner: has no value");
    expect_error("YAML quoted empty", REQUIRED "owner: ''\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:7: owner: must not be empty");
    expect_error("flag empty", REQUIRED, NULL, (const char *[]){"--workers=", NULL},
                 TKMS_ERR_BAD_FORMAT, "--workers: must not be empty");
    expect_error("control character", REQUIRED "password_file: \"pw\\tfile\"\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:7: password_file: must not contain control characters");
    expect_error("NUL in a scalar", REQUIRED "password_file: \"pw\\0x\"\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:7: password_file: contains a NUL character");
    char *env[] = {"TKMS_OWNER=a\x1b[31m", NULL};
    expect_error("escape in env", REQUIRED, env, NULL, TKMS_ERR_BAD_FORMAT,
                 "TKMS_OWNER: must not contain control characters");
    char long_value[5000];
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    expect_error("too long", REQUIRED, NULL, (const char *[]){"--data-dir", long_value, NULL},
                 TKMS_ERR_BAD_FORMAT, "--data-dir: longer than 4096 bytes");
    expect_error("non-ASCII shown as ?", REQUIRED "network: \"m\xc3\xa4innet\"\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "got 'm??innet'");
}

/* ---- YAML structure ----------------------------------------------------------- */

static void test_yaml_structure(void)
{
    expect_error("unknown key", REQUIRED "wokers: 2\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:7: unknown key 'wokers'");
    expect_error("unknown nested key", "tls:\n  cert: a\n  certificate: b\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:3: unknown key 'tls.certificate'");
    expect_error("dotted key at the top", "tls.cert: a\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: unknown key 'tls.cert'");
    expect_error("rules is not a flag-like key", REQUIRED "password-file: x\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "unknown key 'password-file'");
    expect_error("duplicate key", REQUIRED "workers: 2\nlog_level: info\nworkers: 3\n", NULL,
                 NULL, TKMS_ERR_BAD_FORMAT, "server.yaml:9: duplicate key 'workers'");
    expect_error("duplicate nested key", "tls:\n  ca: a\n  ca: b\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:3: tls.duplicate key 'ca'");
    expect_error("duplicate section", "tls: {ca: a}\nkeystore: {kdf: scrypt}\ntls: {key: b}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT, "server.yaml:3: duplicate key 'tls'");
    expect_error("syntax error", "workers: 2\nlisten: a\n  bad: x\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:3: YAML syntax error: mapping values are not allowed");
    expect_error("unclosed flow", "workers: 2\ntls: {cert: a,\n\nlog_level: info\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "YAML syntax error");
    expect_error("tab indentation", "tls:\n\tcert: a\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:2: YAML syntax error");
    expect_error("invalid UTF-8", "owner: a\nnetwork: \xff\xfe\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:2: YAML syntax error");
    expect_error("alias", REQUIRED "owner: &o alice\nlog_level: *o\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:8: YAML aliases are not supported");
    expect_error("two documents", "workers: 2\n---\nworkers: 3\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:2: only one YAML document is allowed");
    expect_error("top-level list", "- workers\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: expected a mapping of settings");
    expect_error("top-level scalar", "workers\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: expected a mapping of settings");
    expect_error("tls as a scalar", "tls: cert.pem\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: tls: expected a mapping of settings (cert, key, ca)");
    expect_error("a list as a value", "workers: [1, 2]\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: workers: expected a single value");
    expect_error("unquoted IPv6", "listen: [::1]:9000\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1:");
    expect_error("IPv6 as a flow list", "listen: [\"::1\"]\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "quote IPv6 addresses");
    expect_error("a mapping as a key", "? {a: b}\n: c\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: keys must be names");
    expect_error("deep nesting", "a: [[[[[[[[[1]]]]]]]]]\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1: nested deeper than 8 levels");
    /* eight levels are fine for the parser (the key is then unknown) */
    expect_error("eight levels", "a: [[[[[[[1]]]]]]]\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "unknown key 'a'");
    expect_error("tags are ignored, value checked", REQUIRED "workers: !!int 0\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:7: workers: must be 1..64, got 0");

    server_config cfg;
    tkms_err err;
    CHECK(load_config(&cfg, "%YAML 1.1\n---\n" REQUIRED "workers: \"2\"\n...\n", NULL, NULL, &err) ==
                  TKMS_OK &&
              cfg.workers == 2,
          "directive, explicit document, quoted number");
    server_config_free(&cfg);
    CHECK(load_config(&cfg, "{data_dir: d, tls: {cert: c, key: k, ca: a}, genesis_validators_root: " GVR
                     ", workers: 1}",
               NULL, NULL, &err) == TKMS_OK &&
              cfg.workers == 1,
          "flow style file");
    server_config_free(&cfg);
    CHECK(load_config(&cfg, "\xef\xbb\xbf" REQUIRED, NULL, NULL, &err) == TKMS_OK, "UTF-8 BOM");
    server_config_free(&cfg);

    /* oversize: one byte over 1 MiB, and exactly 1 MiB (comments) */
    size_t big = SERVER_CONFIG_MAX_FILE_SIZE;
    char *text = malloc(big + 2);
    memset(text, '#', big + 1);
    memcpy(text, REQUIRED, strlen(REQUIRED));
    text[strlen(REQUIRED)] = '#';
    text[big + 1] = '\0';
    expect_error("oversize file", text, NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "larger than 1048576 bytes");
    text[big] = '\0';
    CHECK(load_config(&cfg, text, NULL, NULL, &err) == TKMS_OK, "exactly 1 MiB is fine: %s",
          err.message);
    server_config_free(&cfg);
    CHECK(server_config_init(&cfg, &err) == TKMS_OK, "init");
    text[big] = '#';
    CHECK(server_config_parse_yaml(&cfg, text, big + 1, "/", "mem", &err) == TKMS_ERR_BAD_FORMAT &&
              strcmp(err.message, "mem: larger than 1048576 bytes") == 0,
          "parse_yaml refuses oversize: %s", err.message);
    server_config_free(&cfg);
    free(text);
}

/* ---- rules in the file --------------------------------------------------------- */

static void test_rules_file(void)
{
    const char *yaml = REQUIRED
        "rules:\n"
        "  - client: gateway-1\n"
        "    operations: [sign]\n"
        "    keys: [\"*\"]\n"
        "  - client: gateway-2\n"
        "    operations: [ATTESTATION, AGGREGATE_AND_PROOF_V2]\n"
        "    keys:\n"
        "      - " KEY_A "\n"
        "  - client: operator\n"
        "    operations: [admin, ceremony, metrics]\n"
        "  - client: \"*\"\n"
        "    operations: metrics\n"
        "  - {client: gateway-3, operations: [RANDAO_REVEAL], keys: \"*\"}\n";
    server_config cfg;
    tkms_err err;
    tkms_status st = load_config(&cfg, yaml, NULL, NULL, &err);
    CHECK(st == TKMS_OK, "rules load: %s", st == TKMS_OK ? "" : err.message);
    if (st != TKMS_OK)
        return;
    uint8_t a[48], b[48];
    tkms_hex_decode(a, 48, KEY_A, NULL);
    tkms_hex_decode(b, 48, KEY_B, NULL);
    const server_rules *r = cfg.rules;
    CHECK(server_rules_count(r) == 5, "5 rules");
    CHECK(server_rules_allow(r, "gateway-1", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, b),
          "gateway-1 signs anything");
    CHECK(!server_rules_allow(r, "gateway-1", SERVER_OP_ADMIN, 0, NULL), "but no admin");
    CHECK(server_rules_allow(r, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, a),
          "gateway-2 attests with key A");
    CHECK(!server_rules_allow(r, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, b),
          "not with key B");
    CHECK(!server_rules_allow(r, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, a),
          "and proposes nothing");
    CHECK(server_rules_allow(r, "operator", SERVER_OP_CEREMONY, 0, NULL), "operator ceremony");
    CHECK(!server_rules_allow(r, "operator", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, a),
          "operator does not sign");
    CHECK(server_rules_allow(r, "somebody", SERVER_OP_METRICS, 0, NULL), "* metrics");
    CHECK(!server_rules_allow(r, "somebody", SERVER_OP_ADMIN, 0, NULL), "somebody no admin");
    CHECK(server_rules_allow(r, "gateway-3", SERVER_OP_SIGN, TKMS_ETH2_RANDAO_REVEAL, b),
          "flow-style rule, keys: \"*\" as a scalar");
    server_config_free(&cfg);

    expect_error("unknown operation",
                 REQUIRED "rules:\n  - client: gw\n    operations:\n      - sign\n      - sgin\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:11: rules[0].operations: unknown operation 'sgin' (expected sign");
    expect_error("bad key",
                 REQUIRED "rules:\n  - client: x\n    operations: [sign]\n"
                          "  - client: gw\n    operations: [sign]\n    keys:\n"
                          "      - " KEY_A "\n      - 0x1234\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:14: rules[1].keys: bad key '0x1234': expected 0x and 96 hex digits");
    expect_error("missing client", REQUIRED "rules:\n  - operations: [sign]\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:8: rules[0]: client: required");
    expect_error("missing operations", REQUIRED "rules:\n  - client: gw\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "rules[0]: operations: required");
    expect_error("unknown rule key",
                 REQUIRED "rules:\n  - client: gw\n    operation: [sign]\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT,
                 "server.yaml:9: rules[0]: unknown key 'operation' (expected client, operations, keys)");
    expect_error("duplicate rule key",
                 REQUIRED "rules:\n  - client: gw\n    client: gx\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:9: rules[0]: duplicate key 'client'");
    expect_error("rules not a list", REQUIRED "rules: {client: gw}\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:7: rules: expected a list of rules");
    expect_error("rules empty", REQUIRED "rules:\n", NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "rules: has no value (write [] for no rules)");
    expect_error("rule not a mapping", REQUIRED "rules:\n  - gw\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "server.yaml:8: rules[0]: expected a mapping");
    expect_error("empty operations", REQUIRED "rules:\n  - {client: gw, operations: []}\n", NULL,
                 NULL, TKMS_ERR_BAD_FORMAT, "rules[0].operations: empty list");
    expect_error("nested operation list",
                 REQUIRED "rules:\n  - {client: gw, operations: [[sign]]}\n", NULL, NULL,
                 TKMS_ERR_BAD_FORMAT, "rules[0].operations: expected a list of names");
    expect_error("empty keys", REQUIRED "rules:\n  - {client: gw, operations: [sign], keys: []}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT, "rules[0].keys: empty list");
    expect_error("* mixed with keys",
                 REQUIRED "rules:\n  - {client: gw, operations: [sign], keys: [\"*\", " KEY_A "]}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT, "cannot be mixed with keys");
    expect_error("keys on admin",
                 REQUIRED "rules:\n  - {client: gw, operations: [admin], keys: [" KEY_A "]}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:8: rules[0]: keys: only restrict signing");
    expect_error("bad client", REQUIRED "rules:\n  - {client: \"a\\nb\", operations: [sign]}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT, "rules[0].client: must be \"*\" or a certificate name");
    expect_error("null client", REQUIRED "rules:\n  - {client: , operations: [sign]}\n",
                 NULL, NULL, TKMS_ERR_BAD_FORMAT, "rules[0].client: has no value");

    /* 1024 rules fit, 1025 do not */
    size_t size = strlen(REQUIRED) + 16 + 1025 * 64;
    char *text = malloc(size);
    size_t len = (size_t)snprintf(text, size, "%srules:\n", REQUIRED);
    for (int i = 0; i < 1024; i++)
        len += (size_t)snprintf(text + len, size - len, "- {client: c%d, operations: [metrics]}\n", i);
    st = load_config(&cfg, text, NULL, NULL, &err);
    CHECK(st == TKMS_OK && server_rules_count(cfg.rules) == 1024, "1024 rules: %s",
          st == TKMS_OK ? "" : err.message);
    CHECK(st == TKMS_OK && server_rules_allow(cfg.rules, "c1023", SERVER_OP_METRICS, 0, NULL),
          "rule 1024 works");
    server_config_free(&cfg);
    snprintf(text + len, size - len, "- {client: c1024, operations: [metrics]}\n");
    expect_error("1025 rules", text, NULL, NULL, TKMS_ERR_BAD_FORMAT,
                 "server.yaml:1032: rules: more than 1024 rules");
    free(text);
}

/* ---- flags ------------------------------------------------------------------------- */

static void test_flags(void)
{
    expect_error("unknown flag", REQUIRED, NULL, (const char *[]){"--lisen", "x", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--lisen: unknown flag");
    expect_error("unknown flag with =", REQUIRED, NULL, (const char *[]){"--wrkrs=3", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--wrkrs: unknown flag");
    expect_error("rules is not a flag", REQUIRED, NULL, (const char *[]){"--rules", "x", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--rules: unknown flag");
    expect_error("--help is not a setting", REQUIRED, NULL, (const char *[]){"--help", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--help: unknown flag");
    expect_error("missing value at the end", REQUIRED, NULL, (const char *[]){"--workers", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--workers: needs a value");
    expect_error("a flag where a value goes", REQUIRED, NULL,
                 (const char *[]){"--workers", "--listen", "a:1", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--workers: needs a value");
    expect_error("flag given twice", REQUIRED, NULL,
                 (const char *[]){"--workers", "2", "--workers=3", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--workers: given more than once");
    expect_error("--config twice", REQUIRED, NULL,
                 (const char *[]){"--config", "a", "--config", "b", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--config: given more than once");
    expect_error("positional", REQUIRED, NULL, (const char *[]){"serve", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "unexpected argument 'serve'");
    expect_error("single dash", REQUIRED, NULL, (const char *[]){"-w", "2", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "unexpected argument '-w'");
    expect_error("bare --", REQUIRED, NULL, (const char *[]){"--", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "unexpected argument '--'");
    /* flag errors come before the file is read */
    expect_error("flag error before file error", NULL, NULL,
                 (const char *[]){"--config", "/nonexistent", "--bogus", NULL},
                 TKMS_ERR_INVALID_ARGUMENT, "--bogus: unknown flag");

    server_config cfg;
    tkms_err err;
    const char *negative[] = {"--workers", "-1", NULL};
    CHECK(load_config(&cfg, REQUIRED, NULL, negative, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "--workers: must be 1..64, got -1"),
          "a single-dash value is a value: %s", err.message);
    server_config_free(&cfg);
    CHECK(server_config_load(NULL, NULL, no_env, 0, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL out");
    CHECK(server_config_load(&cfg, NULL, no_env, 2, NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL argv with argc 2");

    CHECK(server_config_wants_help(1, (char *[]){"--help", NULL}), "--help");
    CHECK(server_config_wants_help(3, (char *[]){"--listen", "a:1", "-h", NULL}), "-h after a flag");
    CHECK(!server_config_wants_help(2, (char *[]){"--owner", "--help", NULL}),
          "--help as a value is not a request for help");
    CHECK(!server_config_wants_help(1, (char *[]){"--workers=2", NULL}), "no help");
    CHECK(!server_config_wants_help(0, NULL), "no arguments");
}

static void test_help(void)
{
    const char *help = server_config_help();
    CHECK(help != NULL && strlen(help) > 500, "help text");
    static const char *const names[] = {
        "listen", "TKMS_LISTEN", "--listen", "data_dir", "TKMS_DATA_DIR", "--data-dir",
        "tls.cert", "TKMS_TLS_CERT", "--tls-cert", "tls.key", "TKMS_TLS_KEY", "--tls-key",
        "tls.ca", "TKMS_TLS_CA", "--tls-ca", "password_file", "TKMS_PASSWORD_FILE",
        "--password-file", "TKMS_PASSWORD", "owner", "TKMS_OWNER", "--owner", "network",
        "TKMS_NETWORK", "--network", "genesis_fork_version", "TKMS_GENESIS_FORK_VERSION",
        "--genesis-fork-version", "0x00000001", "genesis_validators_root",
        "TKMS_GENESIS_VALIDATORS_ROOT", "--genesis-validators-root", "workers", "TKMS_WORKERS",
        "--workers", "max_body_size", "TKMS_MAX_BODY_SIZE", "--max-body-size", "keystore.kdf",
        "TKMS_KEYSTORE_KDF", "--keystore-kdf", "keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N",
        "--keystore-scrypt-n", "log_level", "TKMS_LOG_LEVEL", "--log-level", "rules",
        "--config", "TKMS_CONFIG", "127.0.0.1:9000", "262144", "operations", "client",
        "ceremony", "metrics", "admin", "BLS_TO_EXECUTION_CHANGE", "deny",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(contains(help, names[i]), "help mentions %s", names[i]);
    bool ascii = true;
    for (const char *c = help; *c; c++)
        ascii &= (*c >= 0x20 && *c <= 0x7e) || *c == '\n';
    CHECK(ascii, "help is plain ASCII");

    /* the help's example file is valid (after making its paths absolute) */
    const char *start = strstr(help, "  listen: 0.0.0.0:9000");
    const char *end = start != NULL ? strstr(start, "\n\n") : NULL;
    CHECK(start != NULL && end != NULL, "help has an example file");
    if (start != NULL && end != NULL) {
        char *example = strndup(start, (size_t)(end - start + 1));
        server_config cfg;
        tkms_err err;
        tkms_status st = load_config(&cfg, example, NULL, NULL, &err);
        CHECK(st == TKMS_OK && server_rules_count(cfg.rules) == 3,
              "the example file loads: %s", st == TKMS_OK ? "" : err.message);
        server_config_free(&cfg);
        free(example);
    }
}

int main(void)
{
    config_test_setup(&KIND);

    test_defaults();
    test_full_file();
    test_network_fork_version();
    test_precedence();
    test_relative_paths();
    test_config_selection();
    test_required();
    test_bad_values();
    test_good_values();
    test_empty_and_control_values();
    test_yaml_structure();
    test_rules_file();
    test_flags();
    test_help();

    config_test_cleanup();
    return test_report();
}
