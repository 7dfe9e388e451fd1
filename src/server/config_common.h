/*
 * config_common.h — the settings every daemon has, written once for the
 * configuration engine (config_source.h): `tkms server` (server_config.c)
 * and `tkms gateway` (gateway_config.c) both list these rows in their
 * tables with the setters below, and call the steps below from their
 * init, finish and free.
 *
 *   listen                   config_common_set_listen
 *   data_dir                 config_common_set_data_dir
 *   tls.cert, .key, .ca      config_common_set_tls_cert, _tls_key, _tls_ca
 *   password_file            config_common_set_password_file
 *   network                  config_common_set_network
 *   genesis_fork_version     config_common_set_genesis_fork_version
 *   genesis_validators_root  config_common_set_genesis_validators_root
 *   workers                  config_common_set_workers
 *   max_body_size            config_common_set_max_body_size
 *   keystore.kdf, .scrypt_n  config_common_set_keystore_kdf, _keystore_scrypt_n
 *   log_level                config_common_set_log_level
 *
 * A daemon keeps these settings in members of its configuration struct
 * with the names and types of config_common_fields (below), and its schema
 * points at a config_common: where those members are (a function that
 * returns CONFIG_COMMON_FIELDS of the struct, so the compiler checks every
 * type) and the daemon's own bounds and defaults. Every function here
 * needs schema->common; their messages are the engine's ("WHERE: …",
 * "WHAT: out of memory").
 */
#ifndef TKMS_CONFIG_COMMON_H
#define TKMS_CONFIG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_source.h"
#include "tkms/eth2.h"
#include "tkms/keystore.h"
#include "tkms/log.h"
#include "tkms/status.h"

/* The members of a daemon's configuration struct that hold the shared
 * settings. Every string is malloc'ed and owned by the struct. */
typedef struct {
    char **listen;                          /* canonical "HOST:PORT" / "[V6]:PORT" */
    char **listen_host;                     /* without brackets                    */
    uint16_t *listen_port;                  /* 0 = any free port                   */
    char **data_dir;                        /* absolute paths, or NULL (not given) */
    char **tls_cert;
    char **tls_key;
    char **tls_ca;
    char **password_file;
    tkms_eth2_chain *chain;                 /* preset and genesis fork version     */
    bool *genesis_fork_version_given;
    uint8_t (*genesis_validators_root)[32];
    bool *genesis_validators_root_given;
    unsigned *workers;
    size_t *max_body_size;
    tkms_kdf_params *keystore;
    tkms_log_level *log_level;
} config_common_fields;

/* The config_common_fields of `cfg`, a pointer to a daemon's struct with
 * members of those names (a compound literal; the types are checked). */
#define CONFIG_COMMON_FIELDS(cfg)                                                        \
    ((config_common_fields){                                                             \
        .listen = &(cfg)->listen,                                                        \
        .listen_host = &(cfg)->listen_host,                                              \
        .listen_port = &(cfg)->listen_port,                                              \
        .data_dir = &(cfg)->data_dir,                                                    \
        .tls_cert = &(cfg)->tls_cert,                                                    \
        .tls_key = &(cfg)->tls_key,                                                      \
        .tls_ca = &(cfg)->tls_ca,                                                        \
        .password_file = &(cfg)->password_file,                                          \
        .chain = &(cfg)->chain,                                                          \
        .genesis_fork_version_given = &(cfg)->genesis_fork_version_given,                \
        .genesis_validators_root = &(cfg)->genesis_validators_root,                      \
        .genesis_validators_root_given = &(cfg)->genesis_validators_root_given,          \
        .workers = &(cfg)->workers,                                                      \
        .max_body_size = &(cfg)->max_body_size,                                          \
        .keystore = &(cfg)->keystore,                                                    \
        .log_level = &(cfg)->log_level,                                                  \
    })

/* A daemon's shared settings: where they are, and its bounds and defaults. */
typedef struct config_common {
    config_common_fields (*fields)(void *cfg);
    const char *default_listen;             /* "127.0.0.1:9000"                    */
    unsigned max_workers;                   /* workers: 1..max_workers; the default
                                               is the online CPUs, at most that   */
    uint64_t min_body_size, max_body_size, default_body_size;
    uint64_t min_scrypt_n, max_scrypt_n, default_scrypt_n;
} config_common;

/* ---- the setters (config_setter_fn; each begins its messages with `where`) */

/* HOST:PORT (config_value_host_port) into listen, listen_host, listen_port. */
config_setter_fn config_common_set_listen;

/* Paths, resolved against `base` (config_set_path). */
config_setter_fn config_common_set_data_dir;
config_setter_fn config_common_set_tls_cert;
config_setter_fn config_common_set_tls_key;
config_setter_fn config_common_set_tls_ca;
config_setter_fn config_common_set_password_file;

/* network: config_value_network into chain. */
config_setter_fn config_common_set_network;

/* 0x and 8 hex digits into chain.genesis_fork_version, and marks it given
 * (so config_common_finish keeps it). */
config_setter_fn config_common_set_genesis_fork_version;

/* 0x and 64 hex digits into genesis_validators_root, and marks it given. */
config_setter_fn config_common_set_genesis_validators_root;

/* 1..common->max_workers. */
config_setter_fn config_common_set_workers;

/* Bytes with an optional unit (config_value_size), common->min_body_size ..
 * common->max_body_size. */
config_setter_fn config_common_set_max_body_size;

/* "scrypt" or "pbkdf2" into keystore.kdf. */
config_setter_fn config_common_set_keystore_kdf;

/* A power of two, common->min_scrypt_n .. common->max_scrypt_n, into
 * keystore.scrypt_n. */
config_setter_fn config_common_set_keystore_scrypt_n;

/* "error", "warn", "info" or "debug". */
config_setter_fn config_common_set_log_level;

/* ---- the steps of a daemon's init, finish and free ------------------------ */

/*
 * The defaults, into a zeroed struct: mainnet, workers = the online CPUs
 * (1..max_workers), default_body_size, keystore scrypt with
 * default_scrypt_n, log level info, listen default_listen. TKMS_OK or
 * TKMS_ERR_NO_MEMORY (the caller frees what was set).
 */
tkms_status config_common_init(const config_schema *schema, void *cfg, tkms_err *err);

/* A setting the daemon requires, and whether it was given. */
typedef struct {
    bool present;
    const char *key;            /* its YAML key in the schema's table */
} config_required_setting;

/*
 * After every source: the network's genesis fork version when none was
 * given; then the required settings, first missing one failing
 * (config_required): data_dir, tls.cert, tls.key, the daemon's own
 * `required[0..count-1]` in order, genesis_validators_root.
 */
tkms_status config_common_finish(const config_schema *schema, void *cfg,
                                 const config_required_setting *required, size_t count,
                                 tkms_err *err);

/* Frees the shared strings (listen, listen_host and the paths); the caller
 * clears the struct. */
void config_common_free(const config_schema *schema, void *cfg);

/* ---- lines of the daemons' --help tables (string literals) -----------------
 * They name the bounds both daemons have: workers at most 64, scrypt_n a
 * power of two from 1024 to 1048576, 262144 by default. */

#define CONFIG_HELP_HEADER                                                                \
    "  YAML key                 environment / flag            default\n"

#define CONFIG_HELP_TLS_KEY                                                               \
    "  tls.key                  TKMS_TLS_KEY                  required\n"                 \
    "                           --tls-key PEM                 (its private key)\n"

#define CONFIG_HELP_CHAIN                                                                 \
    "  network                  TKMS_NETWORK                  mainnet\n"                  \
    "                           --network mainnet|minimal     (the preset)\n"             \
    "  genesis_fork_version     TKMS_GENESIS_FORK_VERSION     mainnet 0x00000000,\n"      \
    "                           --genesis-fork-version 0xHEX  minimal 0x00000001\n"       \
    "  genesis_validators_root  TKMS_GENESIS_VALIDATORS_ROOT  required\n"                 \
    "                           --genesis-validators-root 0xHEX (32 bytes; binds the\n"   \
    "                                                         slashing database)\n"

#define CONFIG_HELP_WORKERS                                                               \
    "  workers                  TKMS_WORKERS                  online CPUs (at most 64)\n" \
    "                           --workers 1..64\n"

#define CONFIG_HELP_SCRYPT_N_LOG_LEVEL                                                    \
    "  keystore.scrypt_n        TKMS_KEYSTORE_SCRYPT_N        262144 (2^18)\n"            \
    "                           --keystore-scrypt-n N         (power of two, 1024..1048576)\n" \
    "  log_level                TKMS_LOG_LEVEL                info\n"                     \
    "                           --log-level error|warn|info|debug\n"

#endif /* TKMS_CONFIG_COMMON_H */
