/*
 * gateway_config.h — the gateway's configuration (`tkms gateway`): one
 * YAML file, TKMS_* environment variables and command-line flags, read by
 * the same engine as the threshold server's (config_source.h), so the
 * rules are the same:
 *
 *   defaults  <  the YAML file  <  the environment  <  flags;
 *
 * every value given anywhere is checked, even one a later source
 * replaces; relative paths in the file are relative to the file's
 * directory, from the environment or flags to the current directory, and
 * stored paths are absolute; the file is `--config FILE`, else
 * $TKMS_CONFIG, else none; an environment variable set to "" counts as
 * unset; unknown and duplicate keys are errors; at most
 * GATEWAY_CONFIG_MAX_FILE_SIZE bytes, nesting at most
 * GATEWAY_CONFIG_MAX_DEPTH levels, one document, no aliases. Errors are one
 * printable line naming the setting and its source:
 *   "gateway.yaml:12: timeout_ms: must be 10..60000, got 0"
 *   "TKMS_TIMEOUT_MS: must be 10..60000, got 0"
 *   "gateway.yaml:20: servers[1].url: expected https://HOST:PORT, got 'x'"
 * Every setting is listed by gateway_config_help().
 *
 * Two lists are YAML only:
 *   servers  the threshold servers: {name, url, identity}; at least one,
 *            at most GATEWAY_CONFIG_MAX_SERVERS; names, URLs and
 *            identities unique.
 *   clients  the validator clients that may sign: {name, auth, token_file
 *            | listen, standby}; at most GATEWAY_CONFIG_MAX_CLIENTS; names,
 *            token files and listen addresses unique; may be empty (then
 *            nobody signs; the keymanager API and /metrics still work).
 * When gateway_config_parse_yaml is called more than once (tests), each
 * document's entries are added to the lists, and uniqueness holds across
 * them.
 *
 * Decisions (see also the help):
 *   - servers_tls.cert / .key / .ca have NO default from tls.*: the main
 *     listener's certificate is a server certificate (`tkms certs server`:
 *     extendedKeyUsage serverAuth), which the threshold servers refuse as
 *     a client certificate, and tls.ca is the CA of *validator clients*,
 *     which must not be trusted to vouch for threshold servers. All three
 *     are required (they may name the same files when one CA does both).
 *   - tls.cert and tls.key are required (the main listener is HTTPS);
 *     tls.ca is required only when some client uses `auth: cert`.
 *   - A client name is 1..64 of A-Z a-z 0-9 . _ - not starting with . or
 *     - (as `tkms certs client --name`), so names are safe in logs, metric
 *     labels and `tkms gateway assign|migrate … --to CLIENT`.
 *   - A client `listen` address is plain HTTP, so it must be a loopback
 *     address (127.0.0.0/8 or [::1], not a name) with a non-zero port, and
 *     must not be the main listener's address.
 *   - `db` may hold a password: no message ever shows its value.
 *   - keymanager.token_file must not be a client's token file (a client
 *     would otherwise get the keymanager API).
 *   - Automatic migration (clients with a standby; migration.h): a client
 *     that gets migration.max_refusals slashing refusals within
 *     migration.window_seconds, or (when migration.silence_seconds is not
 *     0) sends no sign request for that long while it has keys, loses its
 *     keys to its standby.
 * Token files and certificates are not read here (nothing needs to exist
 * yet); the gateway reads them when it starts.
 */
#ifndef TKMS_GATEWAY_CONFIG_H
#define TKMS_GATEWAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/eth2.h"
#include "tkms/keystore.h"
#include "tkms/log.h"
#include "tkms/owners.h"
#include "tkms/status.h"

#define GATEWAY_CONFIG_MAX_FILE_SIZE (1024u * 1024u)
#define GATEWAY_CONFIG_MAX_DEPTH 8u
#define GATEWAY_CONFIG_DEFAULT_LISTEN "127.0.0.1:9100"
#define GATEWAY_CONFIG_MAX_SERVERS 1024u
#define GATEWAY_CONFIG_MAX_CLIENTS 1024u
#define GATEWAY_CONFIG_MIN_TIMEOUT_MS 10u
#define GATEWAY_CONFIG_MAX_TIMEOUT_MS 60000u
#define GATEWAY_CONFIG_DEFAULT_TIMEOUT_MS 2000u
#define GATEWAY_CONFIG_MIN_HEALTH_INTERVAL_MS 100u
#define GATEWAY_CONFIG_MAX_HEALTH_INTERVAL_MS 600000u
#define GATEWAY_CONFIG_DEFAULT_HEALTH_INTERVAL_MS 5000u
#define GATEWAY_CONFIG_MAX_WORKERS 64u
#define GATEWAY_CONFIG_MIN_BODY_SIZE 1024u
#define GATEWAY_CONFIG_MAX_BODY_SIZE (64u * 1024u * 1024u)
#define GATEWAY_CONFIG_DEFAULT_BODY_SIZE (4u * 1024u * 1024u)
#define GATEWAY_CONFIG_MIN_SCRYPT_N (1u << 10)
#define GATEWAY_CONFIG_MAX_SCRYPT_N (1u << 20)
#define GATEWAY_CONFIG_DEFAULT_SCRYPT_N (1u << 18)
#define GATEWAY_CONFIG_MAX_REFUSALS 1000u
#define GATEWAY_CONFIG_DEFAULT_MAX_REFUSALS 3u
#define GATEWAY_CONFIG_MAX_WINDOW_SECONDS 86400u
#define GATEWAY_CONFIG_DEFAULT_WINDOW_SECONDS 60u
#define GATEWAY_CONFIG_MAX_SILENCE_SECONDS 86400u
#define GATEWAY_IDENTITY_SIZE 32u          /* an Ed25519 public key */

/* A threshold server the gateway fans requests out to. */
typedef struct {
    char *name;                 /* owner id in the group files (tkms_owner_id_valid) */
    char *url;                  /* canonical "https://HOST:PORT" (no trailing "/") */
    char *host;                 /* without brackets                              */
    uint16_t port;              /* 1..65535                                      */
    uint8_t identity[GATEWAY_IDENTITY_SIZE];   /* Ed25519: signs its responses */
} gateway_server;

/* How a validator client proves who it is. */
typedef enum {
    GATEWAY_AUTH_CERT = 0,      /* client certificate on the main listener, CN = name */
    GATEWAY_AUTH_TOKEN,         /* "Authorization: Bearer" with the token in token_file */
    GATEWAY_AUTH_LISTEN,        /* its own plain-HTTP loopback listener              */
} gateway_auth;

/* "cert", "token", "listen" ("unknown" otherwise). */
const char *gateway_auth_name(gateway_auth auth);

typedef struct {
    char *name;                 /* 1..64 of A-Z a-z 0-9 . _ - (tkms_owner_id_valid) */
    gateway_auth auth;
    char *token_file;           /* absolute; GATEWAY_AUTH_TOKEN only, else NULL  */
    char *listen;               /* canonical "127.0.0.1:PORT" / "[::1]:PORT";
                                   GATEWAY_AUTH_LISTEN only, else NULL           */
    char *listen_host;          /* without brackets                              */
    uint16_t listen_port;       /* 1..65535 (0 when no listen)                   */
    char *standby;              /* another client's name, or NULL                */
} gateway_client;

/* A loaded configuration. Every string and list is owned (malloc'ed) and
 * freed by gateway_config_free. */
typedef struct gateway_config {
    char *config_path;          /* the YAML file read, as given; NULL: none      */

    char *listen;               /* canonical "HOST:PORT" / "[V6]:PORT" (HTTPS)   */
    char *listen_host;          /* without brackets                              */
    uint16_t listen_port;       /* 0 = any free port (tests)                     */

    char *data_dir;             /* absolute: ban list, slashing DB, audit log, key registry */
    char *db;                   /* "postgres://…" / "postgresql://…", or NULL:
                                   SQLite files in data_dir. May hold a password. */
    char *tls_cert;             /* absolute: the main listener's certificate     */
    char *tls_key;              /* absolute: its key                             */
    char *tls_ca;               /* absolute: CA of client certificates, or NULL
                                   (no client uses auth: cert)                   */
    char *servers_tls_cert;     /* absolute: client certificate for the servers  */
    char *servers_tls_key;      /* absolute: its key                             */
    char *servers_tls_ca;       /* absolute: CA the servers' certificates chain to */
    char *keymanager_token_file;/* absolute, or NULL: keymanager API off         */
    char *password_file;        /* absolute, or NULL; reserved (unused: the gateway
                                   keeps no secret)                               */

    tkms_eth2_chain chain;      /* preset (network) and genesis fork version     */
    uint8_t genesis_validators_root[32];

    unsigned timeout_ms;        /* per-server sign timeout                       */
    unsigned health_interval_ms;
    unsigned workers;           /* 1..GATEWAY_CONFIG_MAX_WORKERS: threads that check
                                   the servers' answers and combine them          */
    size_t max_body_size;       /* bytes, MIN..MAX_BODY_SIZE                     */
    tkms_kdf_params keystore;   /* share keystores made on import                */
    tkms_log_level log_level;
    unsigned migration_max_refusals;    /* 1..GATEWAY_CONFIG_MAX_REFUSALS        */
    unsigned migration_window_seconds;  /* 1..GATEWAY_CONFIG_MAX_WINDOW_SECONDS  */
    unsigned migration_silence_seconds; /* 0 (off)..GATEWAY_CONFIG_MAX_SILENCE_SECONDS */

    gateway_server *servers;    /* server_count entries, in file order           */
    size_t server_count;
    gateway_client *clients;    /* client_count entries, in file order           */
    size_t client_count;

    /* Book-keeping (read-only for callers): which settings were given. */
    bool genesis_fork_version_given;
    bool genesis_validators_root_given;
} gateway_config;

/*
 * Loads the configuration: `yaml_path` (NULL: from --config in argv, else
 * $TKMS_CONFIG, else no file; a non-NULL yaml_path is used as if given
 * with --config, and --config in argv then wins), the environment `envp`
 * (NULL-terminated "NAME=value", NULL = environ; the first entry of a name
 * counts), and `argc` flags in `argv` (argv[0] is NOT a program name: pass
 * the arguments after "gateway"), each "--name VALUE" or "--name=VALUE",
 * each setting at most once.
 *
 * On TKMS_OK *out holds every setting; free it with gateway_config_free.
 * On failure *out is left empty (freeing it is harmless) and err has one
 * line. Returns
 *   TKMS_ERR_INVALID_ARGUMENT  flag syntax: unknown flag, missing value, a
 *                              flag given twice, a non-flag argument (a
 *                              usage error: exit code 2);
 *   TKMS_ERR_IO                the YAML file cannot be read;
 *   TKMS_ERR_BAD_FORMAT        anything wrong in a value, the YAML, the
 *                              lists, or a required setting missing;
 *   TKMS_ERR_NO_MEMORY.
 * Required: data_dir, tls.cert, tls.key, servers_tls.cert,
 * servers_tls.key, servers_tls.ca, genesis_validators_root, at least one
 * server; tls.ca when a client uses auth: cert.
 */
tkms_status gateway_config_load(gateway_config *out, const char *yaml_path,
                                char *const envp[], int argc, char **argv, tkms_err *err);

/* Frees every string and list and clears *cfg (NULL is fine). */
void gateway_config_free(gateway_config *cfg);

/* The --help text: every setting with its YAML key, environment variable,
 * flag and default, the precedence, the lists and an example. Static. */
const char *gateway_config_help(void);

/* True when argv (as for gateway_config_load) asks for help: "--help" or
 * "-h" in a flag position. The caller checks this before loading. */
bool gateway_config_wants_help(int argc, char **argv);

/* The server or client called `name`, or NULL. */
const gateway_server *gateway_config_server(const gateway_config *cfg, const char *name);
const gateway_client *gateway_config_client(const gateway_config *cfg, const char *name);

/* ---- the steps of gateway_config_load, for tests and the fuzz target ---- */

/* Fills *cfg with the defaults (no servers, no clients). TKMS_OK or
 * TKMS_ERR_NO_MEMORY. */
tkms_status gateway_config_init(gateway_config *cfg, tkms_err *err);

/*
 * Applies one YAML document of `len` bytes (need not be NUL-terminated)
 * on top of *cfg: its settings replace those in cfg, its servers and
 * clients are added (each client's standby must be a client loaded by
 * then). `base_dir` resolves relative paths (NULL: the current directory;
 * a relative base_dir is taken from the current directory); `name` names
 * the document in messages ("gateway.yaml"). Does not check required
 * settings (gateway_config_finish does). On failure *cfg may hold some of
 * the document's settings and entries; free it.
 */
tkms_status gateway_config_parse_yaml(gateway_config *cfg, const char *text, size_t len,
                                      const char *base_dir, const char *name, tkms_err *err);

/*
 * Completes *cfg after every source: the network's genesis fork version
 * when none was given; the required settings ("data_dir: required (set
 * data_dir in the config file, TKMS_DATA_DIR or --data-dir)", "servers:
 * required (at least one, in the config file)", "tls.ca: required when a
 * client uses auth: cert (client 'vc1') …"); a client listen address that
 * is the main listener's; keymanager.token_file shared with a client.
 */
tkms_status gateway_config_finish(gateway_config *cfg, tkms_err *err);

#endif /* TKMS_GATEWAY_CONFIG_H */
