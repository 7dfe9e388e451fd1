/*
 * server_config.c — the threshold server's configuration (server_config.h):
 * defaults, then one YAML file, then TKMS_* environment variables, then
 * flags, each value checked where it is given and every error one line
 * naming the setting and its source.
 *
 * The sources, the YAML tree, precedence, paths and the common value
 * parsers are the configuration engine's (config_source.h), and so are
 * the settings every daemon has (config_common.h); this file holds what
 * is the server's own: the table of settings below (what the file, the
 * environment and the flags are all matched against), the owner setting,
 * the `rules` list, the required settings and the help.
 */
#include "server_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_common.h"
#include "config_source.h"

static const config_schema SCHEMA;

static tkms_status out_of_memory(tkms_err *err)
{
    return config_out_of_memory(&SCHEMA, err);
}

const char *server_log_level_name(server_log_level level)
{
    switch (level) {
    case SERVER_LOG_ERROR: return "error";
    case SERVER_LOG_WARN: return "warn";
    case SERVER_LOG_INFO: return "info";
    case SERVER_LOG_DEBUG: return "debug";
    }
    return "unknown";
}

/* ---- the server's own setter (config_setter) --------------------------------
 * The settings every daemon has are config_common.h's. */

static tkms_status set_owner(const config_schema *schema, void *c, const char *value,
                             const char *base, const char *where, tkms_err *err)
{
    (void)base;
    tkms_status st = config_value_owner_id(value, where, err);
    if (st != TKMS_OK)
        return st;
    return config_set_string(schema, &((server_config *)c)->owner, strdup(value), err);
}

/* ---- the table: one row per setting, for all three sources ---------------- */

#define LISTEN_HINT " (quote IPv6 addresses: \"[::1]:9000\")"

static const config_setting SETTINGS[] = {
    {"listen", "TKMS_LISTEN", "listen", config_common_set_listen, LISTEN_HINT},
    {"data_dir", "TKMS_DATA_DIR", "data-dir", config_common_set_data_dir, NULL},
    {"tls.cert", "TKMS_TLS_CERT", "tls-cert", config_common_set_tls_cert, NULL},
    {"tls.key", "TKMS_TLS_KEY", "tls-key", config_common_set_tls_key, NULL},
    {"tls.ca", "TKMS_TLS_CA", "tls-ca", config_common_set_tls_ca, NULL},
    {"password_file", "TKMS_PASSWORD_FILE", "password-file", config_common_set_password_file,
     NULL},
    {"owner", "TKMS_OWNER", "owner", set_owner, NULL},
    {"network", "TKMS_NETWORK", "network", config_common_set_network, NULL},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "genesis-fork-version",
     config_common_set_genesis_fork_version, NULL},
    {"genesis_validators_root", "TKMS_GENESIS_VALIDATORS_ROOT", "genesis-validators-root",
     config_common_set_genesis_validators_root, NULL},
    {"workers", "TKMS_WORKERS", "workers", config_common_set_workers, NULL},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "max-body-size", config_common_set_max_body_size,
     NULL},
    {"keystore.kdf", "TKMS_KEYSTORE_KDF", "keystore-kdf", config_common_set_keystore_kdf, NULL},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "keystore-scrypt-n",
     config_common_set_keystore_scrypt_n, NULL},
    {"log_level", "TKMS_LOG_LEVEL", "log-level", config_common_set_log_level, NULL},
};
#define SETTING_COUNT (sizeof SETTINGS / sizeof SETTINGS[0])

/* ---- the rules list (YAML only) --------------------------------------------- */

/* operations or keys of a rule: a single scalar or a sequence of them.
 * Fills items (borrowed texts) and lines; *count of them. */
static tkms_status rule_list(const config_doc *doc, const config_node *v, const char *what,
                             const char ***items, size_t **lines, size_t *count)
{
    *items = NULL;
    *lines = NULL;
    *count = 0;
    const config_node *const *nodes = (const config_node *const *)&v;
    size_t n = 1;
    if (v->kind == CONFIG_SEQUENCE) {
        nodes = (const config_node *const *)v->items;
        n = v->count;
        if (n == 0)
            return config_doc_fail(doc, v->line, TKMS_ERR_BAD_FORMAT, "%s: empty list", what);
    } else if (v->kind != CONFIG_SCALAR) {
        return config_doc_fail(doc, v->line, TKMS_ERR_BAD_FORMAT,
                               "%s: expected a name or a list of names", what);
    }
    *items = malloc(n * sizeof **items);
    *lines = malloc(n * sizeof **lines);
    if (*items == NULL || *lines == NULL) {
        free(*items);
        free(*lines);
        *items = NULL;
        *lines = NULL;
        return out_of_memory(doc->err);
    }
    for (size_t i = 0; i < n; i++) {
        tkms_status st = nodes[i]->kind == CONFIG_SCALAR
                             ? config_doc_scalar(doc, nodes[i], what, NULL, &(*items)[i])
                             : config_doc_fail(doc, nodes[i]->line, TKMS_ERR_BAD_FORMAT,
                                               "%s: expected a list of names", what);
        if (st != TKMS_OK) {
            free(*items);
            free(*lines);
            *items = NULL;
            *lines = NULL;
            return st;
        }
        (*lines)[i] = nodes[i]->line;
    }
    *count = n;
    return TKMS_OK;
}

static tkms_status walk_rule(const config_doc *doc, size_t index, const config_node *map)
{
    server_config *cfg = doc->cfg;
    static const char *const fields[] = {"client", "operations", "keys"};
    char what[64];
    snprintf(what, sizeof what, "rules[%zu]", index);
    const config_node *values[3];
    tkms_status st = config_doc_fields(doc, map, what, fields, 3, values);
    if (st != TKMS_OK)
        return st;
    const config_node *client = values[0], *operations = values[1], *keys = values[2];
    if (client == NULL || operations == NULL)
        return config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT, "%s: %s: required", what,
                               client == NULL ? "client" : "operations");

    char field[96];
    snprintf(field, sizeof field, "%s.client", what);
    const char *client_name;
    st = config_doc_scalar(doc, client, field, NULL, &client_name);
    if (st != TKMS_OK)
        return st;
    if (!server_client_name_valid(client_name))
        return config_doc_fail(doc, client->line, TKMS_ERR_BAD_FORMAT,
                               "%s: must be \"*\" or a certificate name (1..%u bytes, no "
                               "control characters)",
                               field, SERVER_CLIENT_MAX_SIZE);

    const char **names = NULL, **key_texts = NULL;
    size_t *name_lines = NULL, *key_lines = NULL, name_count = 0, key_count = 0;
    uint8_t (*key_bytes)[SERVER_RULE_KEY_SIZE] = NULL;
    server_op_set ops = 0;
    bool any_key = true;
    tkms_err inner;

    snprintf(field, sizeof field, "%s.operations", what);
    st = rule_list(doc, operations, field, &names, &name_lines, &name_count);
    for (size_t i = 0; st == TKMS_OK && i < name_count; i++)
        if (server_op_set_add(&ops, names[i], &inner) != TKMS_OK)
            st = config_doc_fail(doc, name_lines[i], inner.status, "%s: %s", field,
                                 inner.message);

    if (st == TKMS_OK && keys != NULL) {
        snprintf(field, sizeof field, "%s.keys", what);
        st = rule_list(doc, keys, field, &key_texts, &key_lines, &key_count);
        for (size_t i = 0; st == TKMS_OK && i < key_count; i++)
            if (strcmp(key_texts[i], "*") == 0 && key_count > 1)
                st = config_doc_fail(doc, key_lines[i], TKMS_ERR_BAD_FORMAT,
                                     "%s: \"*\" (any key) cannot be mixed with keys", field);
        any_key = st == TKMS_OK && key_count == 1 && strcmp(key_texts[0], "*") == 0;
        if (st == TKMS_OK && !any_key) {
            key_bytes = malloc(key_count * sizeof *key_bytes);
            if (key_bytes == NULL)
                st = out_of_memory(doc->err);
            for (size_t i = 0; st == TKMS_OK && i < key_count; i++)
                if (server_rule_key_parse(key_bytes[i], key_texts[i], &inner) != TKMS_OK)
                    st = config_doc_fail(doc, key_lines[i], inner.status, "%s: %s", field,
                                         inner.message);
        }
    }
    if (st == TKMS_OK &&
        server_rules_add(cfg->rules, client_name, ops, any_key,
                         (const uint8_t (*)[SERVER_RULE_KEY_SIZE])key_bytes,
                         any_key ? 0 : key_count, &inner) != TKMS_OK)
        st = config_doc_fail(doc, map->line, inner.status, "%s: %s", what, inner.message);
    free(names);
    free(name_lines);
    free(key_texts);
    free(key_lines);
    free(key_bytes);
    return st;
}

static tkms_status walk_rules(void *c, const config_doc *doc, const config_node *v)
{
    server_config *cfg = c;
    return config_doc_list(doc, v, "rules", "write [] for no rules", "a list of rules",
                           SERVER_RULES_MAX - server_rules_count(cfg->rules), SERVER_RULES_MAX,
                           walk_rule);
}

static const config_yaml_key YAML_KEYS[] = {
    {"rules", walk_rules},
};

/* ---- the whole load ---------------------------------------------------------- */

static tkms_status schema_init(void *cfg, tkms_err *err)
{
    return server_config_init(cfg, err);
}

static tkms_status schema_finish(void *cfg, tkms_err *err)
{
    return server_config_finish(cfg, err);
}

static void schema_release(void *cfg)
{
    server_config_free(cfg);
}

static config_common_fields common_fields(void *cfg)
{
    return CONFIG_COMMON_FIELDS((server_config *)cfg);
}

static const config_common COMMON = {
    .fields = common_fields,
    .default_listen = SERVER_CONFIG_DEFAULT_LISTEN,
    .max_workers = SERVER_CONFIG_MAX_WORKERS,
    .min_body_size = SERVER_CONFIG_MIN_BODY_SIZE,
    .max_body_size = SERVER_CONFIG_MAX_BODY_SIZE,
    .default_body_size = SERVER_CONFIG_DEFAULT_BODY_SIZE,
    .min_scrypt_n = SERVER_CONFIG_MIN_SCRYPT_N,
    .max_scrypt_n = SERVER_CONFIG_MAX_SCRYPT_N,
    .default_scrypt_n = SERVER_CONFIG_DEFAULT_SCRYPT_N,
};

static const config_schema SCHEMA = {
    .what = "server config",
    .common = &COMMON,
    .settings = SETTINGS,
    .setting_count = SETTING_COUNT,
    .yaml_keys = YAML_KEYS,
    .yaml_key_count = sizeof YAML_KEYS / sizeof YAML_KEYS[0],
    .max_file_size = SERVER_CONFIG_MAX_FILE_SIZE,
    .max_depth = SERVER_CONFIG_MAX_DEPTH,
    .init = schema_init,
    .finish = schema_finish,
    .release = schema_release,
};

bool server_config_wants_help(int argc, char **argv)
{
    return config_wants_help(&SCHEMA, argc, argv);
}

tkms_status server_config_init(server_config *cfg, tkms_err *err)
{
    if (cfg == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    memset(cfg, 0, sizeof *cfg);
    tkms_status st = config_common_init(&SCHEMA, cfg, err);
    if (st == TKMS_OK)
        st = server_rules_new(&cfg->rules, err);
    if (st != TKMS_OK)
        server_config_free(cfg);
    return st;
}

tkms_status server_config_finish(server_config *cfg, tkms_err *err)
{
    if (cfg == NULL || cfg->rules == NULL || cfg->listen == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    const config_required_setting required[] = {{cfg->tls_ca != NULL, "tls.ca"}};
    return config_common_finish(&SCHEMA, cfg, required, 1, err);
}

tkms_status server_config_parse_yaml(server_config *cfg, const char *text, size_t len,
                                     const char *base_dir, const char *name, tkms_err *err)
{
    if (cfg == NULL || (text == NULL && len > 0) || cfg->rules == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    return config_parse_yaml(&SCHEMA, cfg, text, len, base_dir, name, err);
}

tkms_status server_config_load(server_config *out, const char *yaml_path,
                               char *const envp[], int argc, char **argv, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    memset(out, 0, sizeof *out);
    return config_load(&SCHEMA, out, &out->config_path, yaml_path, envp, argc, argv, err);
}

void server_config_free(server_config *cfg)
{
    if (cfg == NULL)
        return;
    config_common_free(&SCHEMA, cfg);
    free(cfg->config_path);
    free(cfg->owner);
    server_rules_free(cfg->rules);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- help ---------------------------------------------------------------------- */

static const char HELP[] =
    "usage: tkms server [--config FILE] [--SETTING VALUE]...\n"
    "\n"
    "Runs a threshold server. Each setting comes from, in rising precedence: its\n"
    "default, the YAML config file, a TKMS_* environment variable, a flag\n"
    "(--name VALUE or --name=VALUE). The file is --config FILE, else $TKMS_CONFIG,\n"
    "else none. Relative paths in the file are relative to the file's directory;\n"
    "from the environment or flags, to the current directory. An environment\n"
    "variable set to \"\" counts as unset. Every value given is checked, even one\n"
    "that a later source replaces.\n"
    "\n"
    CONFIG_HELP_HEADER
    "  listen                   TKMS_LISTEN                   127.0.0.1:9000\n"
    "                           --listen HOST:PORT            (IPv6: \"[::1]:9000\", quoted\n"
    "                                                         in YAML; port 0 = any free)\n"
    "  data_dir                 TKMS_DATA_DIR                 required\n"
    "                           --data-dir DIR                (shares, identity, slashing\n"
    "                                                         database, audit log)\n"
    "  tls.cert                 TKMS_TLS_CERT                 required\n"
    "                           --tls-cert PEM                (server certificate)\n"
    CONFIG_HELP_TLS_KEY
    "  tls.ca                   TKMS_TLS_CA                   required\n"
    "                           --tls-ca PEM                  (CA of client certificates)\n"
    "  password_file            TKMS_PASSWORD_FILE            none: $TKMS_PASSWORD\n"
    "                           --password-file FILE          (password of the data\n"
    "                                                         directory's identity and\n"
    "                                                         keystores)\n"
    "  owner                    TKMS_OWNER                    none\n"
    "                           --owner ID                    (this server's owner id in\n"
    "                                                         ceremonies: 1..64 of\n"
    "                                                         A-Z a-z 0-9 . _ -)\n"
    CONFIG_HELP_CHAIN
    CONFIG_HELP_WORKERS
    "  max_body_size            TKMS_MAX_BODY_SIZE            1MiB\n"
    "                           --max-body-size BYTES         (1KiB..16MiB; units KiB, MiB)\n"
    "  keystore.kdf             TKMS_KEYSTORE_KDF             scrypt\n"
    "                           --keystore-kdf scrypt|pbkdf2  (keystores the server writes)\n"
    CONFIG_HELP_SCRYPT_N_LOG_LEVEL
    "  rules                    (file only)                   none: every request denied\n"
    "\n"
    "Example file (at most 1 MiB, nesting at most 8 levels, at most 1024 rules;\n"
    "unknown or repeated keys are errors):\n"
    "\n"
    "  listen: 0.0.0.0:9000\n"
    "  data_dir: data                      # relative to this file\n"
    "  tls: {cert: server.pem, key: server.key, ca: ca.pem}\n"
    "  owner: alice\n"
    "  genesis_validators_root: \"0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95\"\n"
    "  keystore: {kdf: scrypt, scrypt_n: 262144}\n"
    "  rules:\n"
    "    - client: gateway-1               # client certificate CN, or \"*\" for any\n"
    "      operations: [sign]              # every signing type\n"
    "      keys: [\"*\"]                     # optional, default \"*\"; or 0x-prefixed group keys\n"
    "    - client: gateway-2\n"
    "      operations: [ATTESTATION, AGGREGATE_AND_PROOF_V2]\n"
    "      keys: [\"0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c\"]\n"
    "    - client: operator\n"
    "      operations: [admin, ceremony, metrics]\n"
    "\n"
    "Rules: deny by default; a request is allowed when some rule matches its client\n"
    "certificate's CN (or \"*\"), its operation and, for signing, its signing type and\n"
    "key. Operations: sign (every type), a signing type by its Web3Signer name\n"
    "(ATTESTATION, BLOCK_V2, AGGREGATE_AND_PROOF, AGGREGATE_AND_PROOF_V2,\n"
    "AGGREGATION_SLOT, RANDAO_REVEAL, VOLUNTARY_EXIT, SYNC_COMMITTEE_MESSAGE,\n"
    "SYNC_COMMITTEE_SELECTION_PROOF, SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF,\n"
    "VALIDATOR_REGISTRATION, DEPOSIT, BLS_TO_EXECUTION_CHANGE), admin, ceremony,\n"
    "metrics. Keys only restrict signing operations.\n";

const char *server_config_help(void)
{
    return HELP;
}
