/*
 * server_config.h — the threshold server's configuration (`tkms server`):
 * one YAML file, TKMS_* environment variables and command-line flags.
 *
 * Each setting may come from four places; a later one wins:
 *   defaults  <  the YAML file  <  the environment  <  flags.
 * Every value given anywhere is checked, even one a later source replaces
 * (a bad value is a mistake wherever it is). Relative paths in the file
 * are relative to the file's directory; relative paths from the
 * environment or flags are relative to the current directory. Stored
 * paths are always absolute (joined as text; "~" is not expanded, ".."
 * is kept, nothing needs to exist yet).
 *
 * The file is chosen by `--config FILE` (or `--config=FILE`), else by
 * $TKMS_CONFIG; without either there is no file. An environment variable
 * set to the empty string counts as not set. Settings (YAML key / env /
 * flag, default) are listed by server_config_help(); see the table in
 * server_config.c.
 *
 * The YAML file: one mapping; `tls` and `keystore` are nested mappings;
 * at most SERVER_CONFIG_MAX_FILE_SIZE bytes, nesting at most
 * SERVER_CONFIG_MAX_DEPTH levels, at most SERVER_RULES_MAX rules, one
 * document, no aliases. Unknown and duplicate keys are errors (typo
 * safety). Values are read as text ("workers: 4" and "workers: '4'" are
 * the same); an empty value (or ~ / null) is an error. The `rules` list
 * (YAML only) is described in rules.h and server_config_help().
 *
 * Errors are one printable line naming the setting and where it came
 * from, e.g.
 *   "server.yaml:12: workers: must be 1..64, got 0"   (line from libyaml)
 *   "TKMS_WORKERS: must be 1..64, got 0"
 *   "--listen: expected HOST:PORT, got 'x'"
 * User text inside a message is shown printable and shortened. Nothing
 * here is secret (the password itself is never read here).
 */
#ifndef TKMS_SERVER_CONFIG_H
#define TKMS_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "tkms/eth2.h"
#include "tkms/keystore.h"
#include "tkms/log.h"
#include "tkms/status.h"

#define SERVER_CONFIG_MAX_FILE_SIZE (1024u * 1024u)
#define SERVER_CONFIG_MAX_DEPTH 8u
#define SERVER_CONFIG_DEFAULT_LISTEN "127.0.0.1:9000"
#define SERVER_CONFIG_MAX_WORKERS 64u
#define SERVER_CONFIG_MIN_BODY_SIZE 1024u
#define SERVER_CONFIG_MAX_BODY_SIZE (16u * 1024u * 1024u)
#define SERVER_CONFIG_DEFAULT_BODY_SIZE (1024u * 1024u)
#define SERVER_CONFIG_MIN_SCRYPT_N (1u << 10)
#define SERVER_CONFIG_MAX_SCRYPT_N (1u << 20)
#define SERVER_CONFIG_DEFAULT_SCRYPT_N (1u << 18)

/* The server's log level is the log's (tkms/log.h), under the names its
 * callers use. */
typedef tkms_log_level server_log_level;
#define SERVER_LOG_ERROR TKMS_LOG_ERROR
#define SERVER_LOG_WARN TKMS_LOG_WARN
#define SERVER_LOG_INFO TKMS_LOG_INFO
#define SERVER_LOG_DEBUG TKMS_LOG_DEBUG

/* "error", "warn", "info", "debug" ("unknown" otherwise). */
const char *server_log_level_name(server_log_level level);

/* A loaded configuration. Every string is owned (malloc'ed) and freed by
 * server_config_free. */
typedef struct server_config {
    char *config_path;          /* the YAML file read, as given; NULL: none  */

    char *listen;               /* canonical "HOST:PORT" / "[V6]:PORT"       */
    char *listen_host;          /* without brackets: "127.0.0.1", "::1", a name */
    uint16_t listen_port;       /* 0 = any free port (the kernel picks; tests) */

    char *data_dir;             /* absolute                                  */
    char *tls_cert;             /* absolute: server certificate (PEM)         */
    char *tls_key;              /* absolute: its private key (PEM)           */
    char *tls_ca;               /* absolute: CA that signs client certificates */
    char *password_file;        /* absolute, or NULL: use $TKMS_PASSWORD     */
    char *owner;                /* owner id in ceremonies, or NULL (not set) */

    tkms_eth2_chain chain;      /* preset (network) and genesis fork version */
    uint8_t genesis_validators_root[32];

    unsigned workers;           /* 1..SERVER_CONFIG_MAX_WORKERS              */
    size_t max_body_size;       /* bytes, MIN..MAX_BODY_SIZE                 */
    tkms_kdf_params keystore;   /* for keystores the server writes           */
    server_log_level log_level;

    server_rules *rules;        /* never NULL once loaded; empty = deny all  */

    /* Book-keeping (read-only for callers): which settings were given. */
    bool genesis_fork_version_given;
    bool genesis_validators_root_given;
} server_config;

/*
 * Loads the configuration: `yaml_path` (NULL: from --config in argv, else
 * $TKMS_CONFIG, else no file; a non-NULL yaml_path is used as if given
 * with --config, and --config in argv then wins), the environment `envp`
 * (a NULL-terminated "NAME=value" array, NULL = environ; the first entry
 * of a name counts), and `argc` flags in `argv`: argv[0] .. argv[argc-1]
 * are all flags and values (argv[0] is NOT a program name: pass the
 * arguments after "server"), each "--name VALUE" or "--name=VALUE",
 * each setting at most once.
 *
 * On TKMS_OK *out holds every setting; free it with server_config_free.
 * On failure *out is left empty (freeing it is harmless) and err has one
 * line. Returns
 *   TKMS_ERR_INVALID_ARGUMENT  flag syntax: unknown flag, missing value,
 *                              a flag given twice, a non-flag argument
 *                              (a usage error: exit code 2);
 *   TKMS_ERR_IO                the YAML file cannot be read;
 *   TKMS_ERR_BAD_FORMAT        anything wrong in a value, the YAML, the
 *                              rules, or a required setting missing;
 *   TKMS_ERR_NO_MEMORY.
 * Required: data_dir, tls.cert, tls.key, tls.ca, genesis_validators_root.
 */
tkms_status server_config_load(server_config *out, const char *yaml_path,
                               char *const envp[], int argc, char **argv, tkms_err *err);

/* Frees every string and the rules, and clears *cfg (NULL is fine). */
void server_config_free(server_config *cfg);

/* The --help text: every setting with its YAML key, environment variable,
 * flag and default, the precedence, and the rules format. Static. */
const char *server_config_help(void);

/* True when argv (as for server_config_load) asks for help: "--help" or
 * "-h" in a flag position. The caller checks this before loading. */
bool server_config_wants_help(int argc, char **argv);

/* ---- the steps of server_config_load, for tests and the fuzz target ---- */

/* Fills *cfg with the defaults (and an empty rule set). TKMS_OK or
 * TKMS_ERR_NO_MEMORY. */
tkms_status server_config_init(server_config *cfg, tkms_err *err);

/*
 * Applies one YAML document of `len` bytes (need not be NUL-terminated)
 * on top of *cfg: its settings replace those in cfg, its rules are added.
 * `base_dir` resolves relative paths (NULL: the current directory; a
 * relative base_dir is itself taken from the current directory); `name`
 * names the document in messages ("server.yaml"). Does not check that
 * required settings are present (server_config_finish does). On failure
 * *cfg may hold some of the document's settings; free it.
 */
tkms_status server_config_parse_yaml(server_config *cfg, const char *text, size_t len,
                                     const char *base_dir, const char *name, tkms_err *err);

/* Completes *cfg after every source: the genesis fork version of the
 * network when none was given, and the check that the required settings
 * are present ("data_dir: required (YAML data_dir, TKMS_DATA_DIR or
 * --data-dir)"). */
tkms_status server_config_finish(server_config *cfg, tkms_err *err);

#endif /* TKMS_SERVER_CONFIG_H */
