/*
 * server_config.c — the threshold server's configuration (server_config.h):
 * defaults, then one YAML file, then TKMS_* environment variables, then
 * flags, each value checked where it is given and every error one line
 * naming the setting and its source.
 *
 * The YAML file is read with libyaml's event parser into a small tree
 * (scalars keep their line numbers for messages), bounded while it is
 * built: the file size, the nesting depth and one document, no aliases.
 * The tree is then walked against the table of settings below, which is
 * also what the environment and flags are matched against, so the three
 * sources cannot drift apart.
 */
#include "server_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/owners.h"
#include "tkms/text.h"

extern char **environ;

#define VALUE_MAX_SIZE 4096u        /* longest value accepted (a path)       */
#define SHOW_MAX 40u                /* user text shown in messages, at most   */
#define SHOW_SIZE (SHOW_MAX + 4u)
#define NAME_SHOW_MAX 100u          /* a file name in messages, at most       */
#define WHERE_SIZE 192u             /* "server.yaml:12: tls.cert"             */

/* ---- small helpers -------------------------------------------------------- */


#define SHOW(buf, text) tkms_text_printable((buf), sizeof(buf), (text), SHOW_MAX)

/* Strict decimal: digits only, no sign or spaces, fits in uint64. */
static bool parse_u64(const char *text, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* `value` as an absolute path: kept when absolute, else joined to `base`
 * (absolute) after dropping leading "./". NULL when out of memory. */
static char *resolve_path(const char *base, const char *value)
{
    if (value[0] == '/')
        return strdup(value);
    while (value[0] == '.' && value[1] == '/') {
        value += 2;
        while (value[0] == '/')
            value++;
    }
    if (strcmp(value, ".") == 0)
        value = "";
    size_t blen = strlen(base), vlen = strlen(value);
    bool slash = blen > 0 && base[blen - 1] == '/';
    char *out = malloc(blen + 1 + vlen + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, base, blen);
    size_t j = blen;
    if (vlen > 0 && !slash)
        out[j++] = '/';
    memcpy(out + j, value, vlen);
    out[j + vlen] = '\0';
    return out;
}

/* The current directory (malloc'ed), or NULL with err set. */
static char *current_dir(tkms_err *err)
{
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        tkms_fail(err, errno == ENOMEM ? TKMS_ERR_NO_MEMORY : TKMS_ERR_IO,
                  "cannot find the current directory: %s", strerror(errno));
    return cwd;
}

/* The absolute directory holding file `path`, relative ones from `cwd`. */
static char *dir_of(const char *path, const char *cwd)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(cwd);
    if (slash == path)
        return strdup("/");
    char *dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return NULL;
    char *abs = resolve_path(cwd, dir);
    free(dir);
    return abs;
}

static tkms_status out_of_memory(tkms_err *err)
{
    return tkms_fail(err, TKMS_ERR_NO_MEMORY, "server config: out of memory");
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

/* ---- one setter per setting ------------------------------------------------
 * Each gets the value (non-empty, no control characters, at most
 * VALUE_MAX_SIZE bytes), the absolute directory relative paths start from,
 * and `where` ("server.yaml:12: workers", "TKMS_WORKERS", "--workers") to
 * begin its message with. */

typedef tkms_status (*setter)(server_config *cfg, const char *value, const char *base,
                              const char *where, tkms_err *err);

static tkms_status set_string(char **field, char *value, tkms_err *err)
{
    if (value == NULL)
        return out_of_memory(err);
    free(*field);
    *field = value;
    return TKMS_OK;
}

#define PATH_SETTER(fn, field)                                                       \
    static tkms_status fn(server_config *cfg, const char *value, const char *base,   \
                          const char *where, tkms_err *err)                          \
    {                                                                                \
        (void)where;                                                                 \
        return set_string(&cfg->field, resolve_path(base, value), err);              \
    }
PATH_SETTER(set_data_dir, data_dir)
PATH_SETTER(set_tls_cert, tls_cert)
PATH_SETTER(set_tls_key, tls_key)
PATH_SETTER(set_tls_ca, tls_ca)
PATH_SETTER(set_password_file, password_file)

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

static tkms_status set_listen(server_config *cfg, const char *value, const char *base,
                              const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    const char *host, *port_text;
    size_t host_len;
    bool v6 = value[0] == '[';
    if (v6) {
        const char *close = strchr(value, ']');
        if (close == NULL || close[1] != ':')
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected [IPV6]:PORT, got '%s'",
                             where, SHOW(shown, value));
        host = value + 1;
        host_len = (size_t)(close - host);
        port_text = close + 2;
        char addr_text[INET6_ADDRSTRLEN + 1];
        struct in6_addr addr;
        if (host_len == 0 || host_len >= sizeof addr_text)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not an IPv6 address in '%s'",
                             where, SHOW(shown, value));
        memcpy(addr_text, host, host_len);
        addr_text[host_len] = '\0';
        if (inet_pton(AF_INET6, addr_text, &addr) != 1)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not an IPv6 address in '%s'",
                             where, SHOW(shown, value));
    } else {
        const char *colon = strrchr(value, ':');
        if (colon == NULL || colon == value)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected HOST:PORT, got '%s'",
                             where, SHOW(shown, value));
        host = value;
        host_len = (size_t)(colon - value);
        port_text = colon + 1;
        if (memchr(host, ':', host_len) != NULL)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: write an IPv6 address in brackets, as [::1]:9000, got '%s'",
                             where, SHOW(shown, value));
        bool ok = host_len <= 253;
        for (size_t i = 0; ok && i < host_len; i++)
            ok = host_char(host[i]);
        if (!ok)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: expected HOST:PORT with a host name or IPv4 address, got '%s'",
                             where, SHOW(shown, value));
    }
    uint64_t port;
    if (strlen(port_text) > 5 || !parse_u64(port_text, strlen(port_text), &port) ||
        port > 65535)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: expected HOST:PORT with a port 0..65535, got '%s'", where,
                         SHOW(shown, value));

    char *h = strndup(host, host_len);
    size_t size = host_len + 10;
    char *canonical = malloc(size);
    if (h == NULL || canonical == NULL) {
        free(h);
        free(canonical);
        return out_of_memory(err);
    }
    snprintf(canonical, size, v6 ? "[%s]:%u" : "%s:%u", h, (unsigned)port);
    free(cfg->listen_host);
    free(cfg->listen);
    cfg->listen_host = h;
    cfg->listen = canonical;
    cfg->listen_port = (uint16_t)port;
    return TKMS_OK;
}

static tkms_status set_owner(server_config *cfg, const char *value, const char *base,
                             const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    if (!tkms_owner_id_valid(value))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be 1..%u characters of A-Z a-z 0-9 . _ - not starting "
                         "with . or -, got '%s'",
                         where, TKMS_OWNER_ID_MAX_SIZE, SHOW(shown, value));
    return set_string(&cfg->owner, strdup(value), err);
}

static tkms_status set_network(server_config *cfg, const char *value, const char *base,
                               const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    if (strcmp(value, "mainnet") == 0)
        cfg->chain.preset = TKMS_ETH2_PRESET_MAINNET;
    else if (strcmp(value, "minimal") == 0)
        cfg->chain.preset = TKMS_ETH2_PRESET_MINIMAL;
    else
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be mainnet or minimal, got '%s'",
                         where, SHOW(shown, value));
    return TKMS_OK;
}

static tkms_status set_genesis_fork_version(server_config *cfg, const char *value,
                                            const char *base, const char *where,
                                            tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    uint8_t version[4];
    if (tkms_hex_decode(version, sizeof version, value, NULL) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected 0x and 8 hex digits, got '%s'",
                         where, SHOW(shown, value));
    memcpy(cfg->chain.genesis_fork_version, version, sizeof version);
    cfg->genesis_fork_version_given = true;
    return TKMS_OK;
}

static tkms_status set_genesis_validators_root(server_config *cfg, const char *value,
                                               const char *base, const char *where,
                                               tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    uint8_t root[32];
    if (tkms_hex_decode(root, sizeof root, value, NULL) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: expected 0x and 64 hex digits, got '%s'", where,
                         SHOW(shown, value));
    memcpy(cfg->genesis_validators_root, root, sizeof root);
    cfg->genesis_validators_root_given = true;
    return TKMS_OK;
}

static tkms_status set_workers(server_config *cfg, const char *value, const char *base,
                               const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    uint64_t v;
    if (!parse_u64(value, strlen(value), &v) || v < 1 || v > SERVER_CONFIG_MAX_WORKERS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be 1..%u, got %s", where,
                         SERVER_CONFIG_MAX_WORKERS, SHOW(shown, value));
    cfg->workers = (unsigned)v;
    return TKMS_OK;
}

/* Bytes, with an optional unit: "65536", "64KiB", "64 KiB", "1MiB". */
static tkms_status set_max_body_size(server_config *cfg, const char *value,
                                     const char *base, const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    size_t digits = strspn(value, "0123456789");
    const char *unit = value + digits;
    if (unit[0] == ' ' && unit[1] != '\0')
        unit++;
    uint64_t v, scale = 0;
    if (strcmp(unit, "") == 0)
        scale = 1;
    else if (strcmp(unit, "KiB") == 0)
        scale = 1024;
    else if (strcmp(unit, "MiB") == 0)
        scale = 1024 * 1024;
    if (scale == 0 || !parse_u64(value, digits, &v) || v > UINT64_MAX / scale ||
        v * scale < SERVER_CONFIG_MIN_BODY_SIZE || v * scale > SERVER_CONFIG_MAX_BODY_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be %u..%u bytes (1 KiB..16 MiB; units KiB, MiB), got %s",
                         where, SERVER_CONFIG_MIN_BODY_SIZE, SERVER_CONFIG_MAX_BODY_SIZE,
                         SHOW(shown, value));
    cfg->max_body_size = (size_t)(v * scale);
    return TKMS_OK;
}

static tkms_status set_keystore_kdf(server_config *cfg, const char *value, const char *base,
                                    const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    if (strcmp(value, "scrypt") == 0)
        cfg->keystore.kdf = TKMS_KDF_SCRYPT;
    else if (strcmp(value, "pbkdf2") == 0)
        cfg->keystore.kdf = TKMS_KDF_PBKDF2;
    else
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be scrypt or pbkdf2, got '%s'",
                         where, SHOW(shown, value));
    return TKMS_OK;
}

static tkms_status set_keystore_scrypt_n(server_config *cfg, const char *value,
                                         const char *base, const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    uint64_t v;
    if (!parse_u64(value, strlen(value), &v) || v < SERVER_CONFIG_MIN_SCRYPT_N ||
        v > SERVER_CONFIG_MAX_SCRYPT_N || (v & (v - 1)) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be a power of two from %u to %u, got %s", where,
                         SERVER_CONFIG_MIN_SCRYPT_N, SERVER_CONFIG_MAX_SCRYPT_N,
                         SHOW(shown, value));
    cfg->keystore.scrypt_n = (uint32_t)v;
    return TKMS_OK;
}

static tkms_status set_log_level(server_config *cfg, const char *value, const char *base,
                                 const char *where, tkms_err *err)
{
    (void)base;
    char shown[SHOW_SIZE];
    for (int l = SERVER_LOG_ERROR; l <= SERVER_LOG_DEBUG; l++)
        if (strcmp(value, server_log_level_name((server_log_level)l)) == 0) {
            cfg->log_level = (server_log_level)l;
            return TKMS_OK;
        }
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                     "%s: must be error, warn, info or debug, got '%s'", where,
                     SHOW(shown, value));
}

/* ---- the table: one row per setting, for all three sources ---------------- */

typedef struct {
    const char *key;    /* YAML key; "tls.cert" is `cert` inside `tls`   */
    const char *env;
    const char *flag;   /* without the leading "--"                      */
    setter set;
} setting;

static const setting SETTINGS[] = {
    {"listen", "TKMS_LISTEN", "listen", set_listen},
    {"data_dir", "TKMS_DATA_DIR", "data-dir", set_data_dir},
    {"tls.cert", "TKMS_TLS_CERT", "tls-cert", set_tls_cert},
    {"tls.key", "TKMS_TLS_KEY", "tls-key", set_tls_key},
    {"tls.ca", "TKMS_TLS_CA", "tls-ca", set_tls_ca},
    {"password_file", "TKMS_PASSWORD_FILE", "password-file", set_password_file},
    {"owner", "TKMS_OWNER", "owner", set_owner},
    {"network", "TKMS_NETWORK", "network", set_network},
    {"genesis_fork_version", "TKMS_GENESIS_FORK_VERSION", "genesis-fork-version",
     set_genesis_fork_version},
    {"genesis_validators_root", "TKMS_GENESIS_VALIDATORS_ROOT", "genesis-validators-root",
     set_genesis_validators_root},
    {"workers", "TKMS_WORKERS", "workers", set_workers},
    {"max_body_size", "TKMS_MAX_BODY_SIZE", "max-body-size", set_max_body_size},
    {"keystore.kdf", "TKMS_KEYSTORE_KDF", "keystore-kdf", set_keystore_kdf},
    {"keystore.scrypt_n", "TKMS_KEYSTORE_SCRYPT_N", "keystore-scrypt-n",
     set_keystore_scrypt_n},
    {"log_level", "TKMS_LOG_LEVEL", "log-level", set_log_level},
};
#define SETTING_COUNT (sizeof SETTINGS / sizeof SETTINGS[0])

/* Sections of the file: mappings whose keys are settings "SECTION.key". */
static const char *const SECTIONS[] = {"tls", "keystore"};

static const setting *setting_by_key(const char *key)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(SETTINGS[i].key, key) == 0)
            return &SETTINGS[i];
    return NULL;
}

/* Applies one value from any source: the checks every setting shares,
 * then the setting's own. */
static tkms_status apply_value(server_config *cfg, const setting *s, const char *value,
                               const char *base, const char *where, tkms_err *err)
{
    size_t len = strlen(value);
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must not be empty", where);
    if (len > VALUE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: longer than %u bytes", where,
                         VALUE_MAX_SIZE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: must not contain control characters", where);
    }
    return s->set(cfg, value, base, where, err);
}

/* ---- YAML: events to a bounded tree ------------------------------------- */

typedef enum { Y_SCALAR, Y_SEQUENCE, Y_MAPPING } ykind;

typedef struct ynode {
    ykind kind;
    size_t line;                /* 1-based, where the node starts          */
    char *text;                 /* scalar, NUL-terminated                  */
    size_t len;                 /* scalar bytes (a NUL inside: len > strlen) */
    bool plain;                 /* plain scalar style (may be null)        */
    struct ynode **items;       /* sequence: items; mapping: k, v, k, v, … */
    size_t count, capacity;
} ynode;

static void ynode_free(ynode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->count; i++)
        ynode_free(n->items[i]);
    free(n->items);
    free(n->text);
    free(n);
}

static bool ynode_push(ynode *parent, ynode *child)
{
    if (parent->count == parent->capacity) {
        size_t cap = parent->capacity ? parent->capacity * 2 : 8;
        ynode **grown = realloc(parent->items, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        parent->items = grown;
        parent->capacity = cap;
    }
    parent->items[parent->count++] = child;
    return true;
}

static tkms_status yaml_syntax_error(const yaml_parser_t *parser, const char *text,
                                     size_t len, const char *name, tkms_err *err)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return out_of_memory(err);
    size_t line;
    if (parser->error == YAML_READER_ERROR) {
        size_t end = parser->problem_offset < len ? parser->problem_offset : len;
        line = 1;
        for (size_t i = 0; i < end; i++)
            line += text[i] == '\n';
    } else {
        line = parser->problem_mark.line + 1;
    }
    const char *problem = parser->problem ? parser->problem : "cannot parse";
    if (parser->context != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s:%zu: YAML syntax error: %s (%s at line %zu)",
                         name, line, problem, parser->context,
                         (size_t)parser->context_mark.line + 1);
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s:%zu: YAML syntax error: %s", name, line,
                     problem);
}

/* Parses `text` into *root (NULL for a stream without a document). */
static tkms_status yaml_tree(ynode **root, const char *text, size_t len, const char *name,
                             tkms_err *err)
{
    *root = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return out_of_memory(err);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    ynode *stack[SERVER_CONFIG_MAX_DEPTH];
    size_t depth = 0, documents = 0;
    ynode *top = NULL;
    tkms_status st = TKMS_OK;
    bool done = false;
    while (!done && st == TKMS_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = yaml_syntax_error(&parser, text, len, name, err);
            break;
        }
        size_t line = ev.start_mark.line + 1;
        ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1)
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                               "%s:%zu: only one YAML document is allowed", name, line);
            break;
        case YAML_ALIAS_EVENT:
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s:%zu: YAML aliases are not supported",
                           name, line);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type != YAML_SCALAR_EVENT && depth == SERVER_CONFIG_MAX_DEPTH) {
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s:%zu: nested deeper than %u levels",
                               name, line, SERVER_CONFIG_MAX_DEPTH);
                break;
            }
            n = calloc(1, sizeof *n);
            if (n == NULL) {
                st = out_of_memory(err);
                break;
            }
            n->line = line;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->kind = Y_SCALAR;
                n->len = ev.data.scalar.length;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->text = malloc(n->len + 1);
                if (n->text == NULL) {
                    free(n);
                    st = out_of_memory(err);
                    break;
                }
                memcpy(n->text, ev.data.scalar.value, n->len);
                n->text[n->len] = '\0';
            } else {
                n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQUENCE : Y_MAPPING;
            }
            if (depth == 0) {
                ynode_free(top);   /* only one document: never replaces one */
                top = n;
            } else if (!ynode_push(stack[depth - 1], n)) {
                ynode_free(n);
                st = out_of_memory(err);
                break;
            }
            if (n->kind != Y_SCALAR)
                stack[depth++] = n;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (st != TKMS_OK) {
        ynode_free(top);
        return st;
    }
    *root = top;
    return TKMS_OK;
}

/* ---- YAML: the tree to settings -------------------------------------------- */

typedef struct {
    server_config *cfg;
    const char *name;       /* printable, shortened file name */
    const char *base;       /* absolute directory for relative paths */
    tkms_err *err;
} walk;

static bool ynode_is_null(const ynode *n)
{
    return n->kind == Y_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
            strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
}

/* Checks that mapping key i of `map` (the text at items[2i]) is a string
 * and not a repeat of an earlier key; `what` prefixes the key in messages
 * ("tls.", "rules[3]: "). */
static tkms_status check_key(const walk *w, const ynode *map, size_t i, const char *what)
{
    const ynode *k = map->items[2 * i];
    char shown[SHOW_SIZE];
    if (k->kind != Y_SCALAR || ynode_is_null(k) || k->len != strlen(k->text))
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %skeys must be names",
                         w->name, k->line, what);
    for (size_t j = 0; j < i; j++)
        if (strcmp(map->items[2 * j]->text, k->text) == 0)
            return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %sduplicate key '%s'",
                             w->name, k->line, what, SHOW(shown, k->text));
    return TKMS_OK;
}

/* A scalar value's text, or a message for a node that is not one. */
static tkms_status scalar_text(const walk *w, const ynode *v, const char *key,
                               const char **text)
{
    if (v->kind != Y_SCALAR) {
        bool listen = strcmp(key, "listen") == 0 && v->kind == Y_SEQUENCE;
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %s: expected a single value%s",
                         w->name, v->line, key,
                         listen ? " (quote IPv6 addresses: \"[::1]:9000\")" : "");
    }
    if (ynode_is_null(v))
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %s: has no value", w->name,
                         v->line, key);
    if (v->len != strlen(v->text))
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %s: contains a NUL character",
                         w->name, v->line, key);
    *text = v->text;
    return TKMS_OK;
}

static tkms_status walk_setting(const walk *w, const setting *s, const ynode *v)
{
    const char *text;
    tkms_status st = scalar_text(w, v, s->key, &text);
    if (st != TKMS_OK)
        return st;
    char where[WHERE_SIZE];
    snprintf(where, sizeof where, "%s:%zu: %s", w->name, v->line, s->key);
    return apply_value(w->cfg, s, text, w->base, where, w->err);
}

static tkms_status walk_section(const walk *w, const char *section, const ynode *map)
{
    if (map->kind != Y_MAPPING)
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: %s: expected a mapping of settings (%s)", w->name, map->line,
                         section,
                         strcmp(section, "tls") == 0 ? "cert, key, ca" : "kdf, scrypt_n");
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.", section);
    for (size_t i = 0; i < map->count / 2; i++) {
        tkms_status st = check_key(w, map, i, prefix);
        if (st != TKMS_OK)
            return st;
        const ynode *k = map->items[2 * i];
        char key[64];
        const setting *s = NULL;
        if (strlen(k->text) < 32 && strchr(k->text, '.') == NULL) {
            snprintf(key, sizeof key, "%s%s", prefix, k->text);
            s = setting_by_key(key);
        }
        if (s == NULL) {
            char shown[SHOW_SIZE];
            return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: unknown key '%s%s'",
                             w->name, k->line, prefix, SHOW(shown, k->text));
        }
        if ((st = walk_setting(w, s, map->items[2 * i + 1])) != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

/* operations or keys of a rule: a single scalar or a sequence of them.
 * Fills items (borrowed texts) and lines; *count of them. */
static tkms_status rule_list(const walk *w, const ynode *v, const char *what,
                             const char ***items, size_t **lines, size_t *count)
{
    *items = NULL;
    *lines = NULL;
    *count = 0;
    const ynode *const *nodes = (const ynode *const *)&v;
    size_t n = 1;
    if (v->kind == Y_SEQUENCE) {
        nodes = (const ynode *const *)v->items;
        n = v->count;
        if (n == 0)
            return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %s: empty list", w->name,
                             v->line, what);
    } else if (v->kind != Y_SCALAR) {
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: %s: expected a name or a list of names", w->name, v->line,
                         what);
    }
    *items = malloc(n * sizeof **items);
    *lines = malloc(n * sizeof **lines);
    if (*items == NULL || *lines == NULL) {
        free(*items);
        free(*lines);
        *items = NULL;
        *lines = NULL;
        return out_of_memory(w->err);
    }
    for (size_t i = 0; i < n; i++) {
        tkms_status st = nodes[i]->kind == Y_SCALAR
                             ? scalar_text(w, nodes[i], what, &(*items)[i])
                             : tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                                         "%s:%zu: %s: expected a list of names", w->name,
                                         nodes[i]->line, what);
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

static tkms_status walk_rule(const walk *w, size_t index, const ynode *map)
{
    char what[64];
    snprintf(what, sizeof what, "rules[%zu]", index);
    if (map->kind != Y_MAPPING)
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: %s: expected a mapping with client, operations and keys",
                         w->name, map->line, what);
    char prefix[72];
    snprintf(prefix, sizeof prefix, "%s: ", what);
    const ynode *client = NULL, *operations = NULL, *keys = NULL;
    for (size_t i = 0; i < map->count / 2; i++) {
        tkms_status st = check_key(w, map, i, prefix);
        if (st != TKMS_OK)
            return st;
        const ynode *k = map->items[2 * i], *v = map->items[2 * i + 1];
        if (strcmp(k->text, "client") == 0)
            client = v;
        else if (strcmp(k->text, "operations") == 0)
            operations = v;
        else if (strcmp(k->text, "keys") == 0)
            keys = v;
        else {
            char shown[SHOW_SIZE];
            return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                             "%s:%zu: %s: unknown key '%s' (expected client, operations, keys)",
                             w->name, k->line, what, SHOW(shown, k->text));
        }
    }
    if (client == NULL || operations == NULL)
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: %s: %s: required", w->name,
                         map->line, what, client == NULL ? "client" : "operations");

    char field[96];
    snprintf(field, sizeof field, "%s.client", what);
    const char *client_name;
    tkms_status st = scalar_text(w, client, field, &client_name);
    if (st != TKMS_OK)
        return st;
    if (!server_client_name_valid(client_name))
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: %s: must be \"*\" or a certificate name (1..%u bytes, no "
                         "control characters)",
                         w->name, client->line, field, SERVER_CLIENT_MAX_SIZE);

    const char **names = NULL, **key_texts = NULL;
    size_t *name_lines = NULL, *key_lines = NULL, name_count = 0, key_count = 0;
    uint8_t (*key_bytes)[SERVER_RULE_KEY_SIZE] = NULL;
    server_op_set ops = 0;
    bool any_key = true;
    tkms_err inner;

    snprintf(field, sizeof field, "%s.operations", what);
    st = rule_list(w, operations, field, &names, &name_lines, &name_count);
    for (size_t i = 0; st == TKMS_OK && i < name_count; i++)
        if (server_op_set_add(&ops, names[i], &inner) != TKMS_OK)
            st = tkms_fail(w->err, inner.status, "%s:%zu: %s: %s", w->name, name_lines[i],
                           field, inner.message);

    if (st == TKMS_OK && keys != NULL) {
        snprintf(field, sizeof field, "%s.keys", what);
        st = rule_list(w, keys, field, &key_texts, &key_lines, &key_count);
        for (size_t i = 0; st == TKMS_OK && i < key_count; i++)
            if (strcmp(key_texts[i], "*") == 0 && key_count > 1)
                st = tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                               "%s:%zu: %s: \"*\" (any key) cannot be mixed with keys",
                               w->name, key_lines[i], field);
        any_key = st == TKMS_OK && key_count == 1 && strcmp(key_texts[0], "*") == 0;
        if (st == TKMS_OK && !any_key) {
            key_bytes = malloc(key_count * sizeof *key_bytes);
            if (key_bytes == NULL)
                st = out_of_memory(w->err);
            for (size_t i = 0; st == TKMS_OK && i < key_count; i++)
                if (server_rule_key_parse(key_bytes[i], key_texts[i], &inner) != TKMS_OK)
                    st = tkms_fail(w->err, inner.status, "%s:%zu: %s: %s", w->name,
                                   key_lines[i], field, inner.message);
        }
    }
    if (st == TKMS_OK &&
        server_rules_add(w->cfg->rules, client_name, ops, any_key,
                         (const uint8_t (*)[SERVER_RULE_KEY_SIZE])key_bytes,
                         any_key ? 0 : key_count, &inner) != TKMS_OK)
        st = tkms_fail(w->err, inner.status, "%s:%zu: %s: %s", w->name, map->line, what,
                       inner.message);
    free(names);
    free(name_lines);
    free(key_texts);
    free(key_lines);
    free(key_bytes);
    return st;
}

static tkms_status walk_rules(const walk *w, const ynode *v)
{
    if (ynode_is_null(v))
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: rules: has no value (write [] for no rules)", w->name,
                         v->line);
    if (v->kind != Y_SEQUENCE)
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: rules: expected a list of rules",
                         w->name, v->line);
    size_t room = SERVER_RULES_MAX - server_rules_count(w->cfg->rules);
    if (v->count > room)   /* named at the first rule that does not fit */
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: rules: more than %u rules",
                         w->name, v->items[room]->line, SERVER_RULES_MAX);
    for (size_t i = 0; i < v->count; i++) {
        tkms_status st = walk_rule(w, i, v->items[i]);
        if (st != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

static tkms_status walk_root(const walk *w, const ynode *root)
{
    if (root == NULL || ynode_is_null(root))
        return TKMS_OK;   /* an empty file: no settings */
    if (root->kind != Y_MAPPING)
        return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT,
                         "%s:%zu: expected a mapping of settings (key: value lines)", w->name,
                         root->line);
    for (size_t i = 0; i < root->count / 2; i++) {
        tkms_status st = check_key(w, root, i, "");
        if (st != TKMS_OK)
            return st;
        const ynode *k = root->items[2 * i], *v = root->items[2 * i + 1];
        bool section = false;
        for (size_t j = 0; j < sizeof SECTIONS / sizeof SECTIONS[0]; j++)
            if (strcmp(k->text, SECTIONS[j]) == 0) {
                st = walk_section(w, SECTIONS[j], v);
                section = true;
            }
        if (section) {
            if (st != TKMS_OK)
                return st;
            continue;
        }
        if (strcmp(k->text, "rules") == 0) {
            if ((st = walk_rules(w, v)) != TKMS_OK)
                return st;
            continue;
        }
        const setting *s = strchr(k->text, '.') == NULL ? setting_by_key(k->text) : NULL;
        if (s == NULL) {
            char shown[SHOW_SIZE];
            return tkms_fail(w->err, TKMS_ERR_BAD_FORMAT, "%s:%zu: unknown key '%s'", w->name,
                             k->line, SHOW(shown, k->text));
        }
        if ((st = walk_setting(w, s, v)) != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

tkms_status server_config_parse_yaml(server_config *cfg, const char *text, size_t len,
                                     const char *base_dir, const char *name, tkms_err *err)
{
    if (cfg == NULL || (text == NULL && len > 0) || cfg->rules == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    char shown_name[NAME_SHOW_MAX + 4];
    tkms_text_printable(shown_name, sizeof shown_name, name != NULL ? name : "config", NAME_SHOW_MAX);
    if (len > SERVER_CONFIG_MAX_FILE_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: larger than %u bytes", shown_name,
                         SERVER_CONFIG_MAX_FILE_SIZE);

    char *cwd = NULL, *base = NULL;
    if (base_dir == NULL || base_dir[0] != '/') {
        if ((cwd = current_dir(err)) == NULL)
            return err != NULL ? err->status : TKMS_ERR_IO;
    }
    base = base_dir == NULL ? strdup(cwd) : resolve_path(cwd != NULL ? cwd : "/", base_dir);
    free(cwd);
    if (base == NULL)
        return out_of_memory(err);

    ynode *root = NULL;
    tkms_status st = yaml_tree(&root, text != NULL ? text : "", len, shown_name, err);
    if (st == TKMS_OK) {
        walk w = {.cfg = cfg, .name = shown_name, .base = base, .err = err};
        st = walk_root(&w, root);
    }
    ynode_free(root);
    free(base);
    return st;
}

/* ---- environment and flags --------------------------------------------------- */

/* The value of `name` in envp (the first entry counts); NULL when absent or
 * empty. */
static const char *env_get(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] != '\0' ? envp[i] + n + 1 : NULL;
    return NULL;
}

#define FLAG_CONFIG SETTING_COUNT   /* index of --config among the flags */

/* The index of flag `name` (`len` bytes, after "--"): a setting, FLAG_CONFIG,
 * or -1. */
static long flag_index(const char *name, size_t len)
{
    if (len == 6 && strncmp(name, "config", 6) == 0)
        return (long)FLAG_CONFIG;
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strlen(SETTINGS[i].flag) == len && strncmp(SETTINGS[i].flag, name, len) == 0)
            return (long)i;
    return -1;
}

/* Reads every flag into values[] (SETTING_COUNT + 1 slots, the last one
 * for --config), checking the syntax only. */
static tkms_status scan_flags(int argc, char **argv, const char *values[], tkms_err *err)
{
    char shown[SHOW_SIZE];
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg == NULL)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "argument %d is missing", i);
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || arg[2] == '=')
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "unexpected argument '%s'",
                             SHOW(shown, arg));
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        long index = flag_index(name, len);
        if (index < 0) {
            char *flag = strndup(arg, len + 2);
            if (flag == NULL)
                return out_of_memory(err);
            tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: unknown flag", SHOW(shown, flag));
            free(flag);
            return TKMS_ERR_INVALID_ARGUMENT;
        }
        const char *flag = (size_t)index == FLAG_CONFIG ? "config" : SETTINGS[index].flag;
        const char *value;
        if (eq != NULL) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc || argv[i + 1] == NULL || strncmp(argv[i + 1], "--", 2) == 0)
                return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                                 "--%s: needs a value (--%s VALUE or --%s=VALUE)", flag, flag,
                                 flag);
            value = argv[++i];
        }
        if (values[index] != NULL)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "--%s: given more than once",
                             flag);
        values[index] = value;
    }
    return TKMS_OK;
}

bool server_config_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && argv != NULL && argv[i] != NULL; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return true;
        if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') == NULL &&
            flag_index(arg + 2, strlen(arg + 2)) >= 0)
            i++;   /* skip its value */
    }
    return false;
}

/* ---- the whole load ---------------------------------------------------------- */

tkms_status server_config_init(server_config *cfg, tkms_err *err)
{
    if (cfg == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    memset(cfg, 0, sizeof *cfg);
    cfg->chain = TKMS_ETH2_MAINNET;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cpus < 1 ? 1u
                   : cpus > (long)SERVER_CONFIG_MAX_WORKERS ? SERVER_CONFIG_MAX_WORKERS
                                                            : (unsigned)cpus;
    cfg->max_body_size = SERVER_CONFIG_DEFAULT_BODY_SIZE;
    tkms_kdf_params_default(&cfg->keystore);
    cfg->keystore.kdf = TKMS_KDF_SCRYPT;
    cfg->keystore.scrypt_n = SERVER_CONFIG_DEFAULT_SCRYPT_N;
    cfg->log_level = SERVER_LOG_INFO;
    tkms_status st = set_listen(cfg, SERVER_CONFIG_DEFAULT_LISTEN, "/", "listen", err);
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
    if (!cfg->genesis_fork_version_given) {
        static const uint8_t minimal[4] = {0x00, 0x00, 0x00, 0x01};
        if (cfg->chain.preset == TKMS_ETH2_PRESET_MINIMAL)
            memcpy(cfg->chain.genesis_fork_version, minimal, 4);
        else
            memcpy(cfg->chain.genesis_fork_version, TKMS_ETH2_MAINNET.genesis_fork_version, 4);
    }
    const struct {
        bool present;
        const setting *s;
    } required[] = {
        {cfg->data_dir != NULL, setting_by_key("data_dir")},
        {cfg->tls_cert != NULL, setting_by_key("tls.cert")},
        {cfg->tls_key != NULL, setting_by_key("tls.key")},
        {cfg->tls_ca != NULL, setting_by_key("tls.ca")},
        {cfg->genesis_validators_root_given, setting_by_key("genesis_validators_root")},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i].present)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: required (set %s in the config file, %s or --%s)",
                             required[i].s->key, required[i].s->key, required[i].s->env,
                             required[i].s->flag);
    return TKMS_OK;
}

/* Reads and applies the YAML file `path`, named by `source` in messages
 * about the file as a whole ("--config", "TKMS_CONFIG"). */
static tkms_status load_file(server_config *cfg, const char *path, const char *source,
                             const char *cwd, tkms_err *err)
{
    char shown[NAME_SHOW_MAX + 4];
    tkms_text_printable(shown, sizeof shown, path, NAME_SHOW_MAX);
    char *text = NULL;
    size_t len = 0;
    tkms_err inner;
    tkms_status st = tkms_file_read(path, SERVER_CONFIG_MAX_FILE_SIZE, &text, &len, &inner);
    if (st == TKMS_ERR_BAD_FORMAT)
        return tkms_fail(err, st, "%s: %s: larger than %u bytes", source, shown,
                         SERVER_CONFIG_MAX_FILE_SIZE);
    if (st == TKMS_ERR_IO) {
        const char *reason = strrchr(inner.message, ':');   /* "path: reason" */
        return tkms_fail(err, st, "%s: cannot read %s: %s", source, shown,
                         reason != NULL ? reason + 2 : inner.message);
    }
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s", source, inner.message);
    char *dir = dir_of(path, cwd);
    cfg->config_path = strdup(path);
    if (dir == NULL || cfg->config_path == NULL)
        st = out_of_memory(err);
    else
        st = server_config_parse_yaml(cfg, text, len, dir, path, err);
    free(dir);
    free(text);
    return st;
}

tkms_status server_config_load(server_config *out, const char *yaml_path,
                               char *const envp[], int argc, char **argv, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    memset(out, 0, sizeof *out);
    if (argc < 0 || (argc > 0 && argv == NULL))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "server config: missing argument");
    if (envp == NULL)
        envp = environ;
    if (envp == NULL) {
        static char *const empty[] = {NULL};
        envp = empty;
    }

    const char *flags[SETTING_COUNT + 1] = {0};
    tkms_status st = scan_flags(argc, argv, flags, err);
    if (st != TKMS_OK)
        return st;
    char *cwd = current_dir(err);
    if (cwd == NULL)
        return err != NULL ? err->status : TKMS_ERR_IO;
    if ((st = server_config_init(out, err)) != TKMS_OK) {
        free(cwd);
        return st;
    }

    const char *path = NULL, *source = NULL;
    if (flags[FLAG_CONFIG] != NULL) {
        path = flags[FLAG_CONFIG];
        source = "--config";
    } else if (yaml_path != NULL) {
        path = yaml_path;
        source = "config file";
    } else if ((path = env_get(envp, "TKMS_CONFIG")) != NULL) {
        source = "TKMS_CONFIG";
    }
    if (path != NULL && path[0] == '\0')
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must not be empty", source);
    else if (path != NULL)
        st = load_file(out, path, source, cwd, err);

    for (size_t i = 0; st == TKMS_OK && i < SETTING_COUNT; i++) {
        const char *value = env_get(envp, SETTINGS[i].env);
        if (value != NULL)
            st = apply_value(out, &SETTINGS[i], value, cwd, SETTINGS[i].env, err);
    }
    for (size_t i = 0; st == TKMS_OK && i < SETTING_COUNT; i++) {
        if (flags[i] == NULL)
            continue;
        char where[40];
        snprintf(where, sizeof where, "--%s", SETTINGS[i].flag);
        st = apply_value(out, &SETTINGS[i], flags[i], cwd, where, err);
    }
    if (st == TKMS_OK)
        st = server_config_finish(out, err);
    free(cwd);
    if (st != TKMS_OK)
        server_config_free(out);
    return st;
}

void server_config_free(server_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->config_path);
    free(cfg->listen);
    free(cfg->listen_host);
    free(cfg->data_dir);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_ca);
    free(cfg->password_file);
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
    "  YAML key                 environment / flag            default\n"
    "  listen                   TKMS_LISTEN                   127.0.0.1:9000\n"
    "                           --listen HOST:PORT            (IPv6: \"[::1]:9000\", quoted\n"
    "                                                         in YAML; port 0 = any free)\n"
    "  data_dir                 TKMS_DATA_DIR                 required\n"
    "                           --data-dir DIR                (shares, identity, slashing\n"
    "                                                         database, audit log)\n"
    "  tls.cert                 TKMS_TLS_CERT                 required\n"
    "                           --tls-cert PEM                (server certificate)\n"
    "  tls.key                  TKMS_TLS_KEY                  required\n"
    "                           --tls-key PEM                 (its private key)\n"
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
    "  network                  TKMS_NETWORK                  mainnet\n"
    "                           --network mainnet|minimal     (the preset)\n"
    "  genesis_fork_version     TKMS_GENESIS_FORK_VERSION     mainnet 0x00000000,\n"
    "                           --genesis-fork-version 0xHEX  minimal 0x00000001\n"
    "  genesis_validators_root  TKMS_GENESIS_VALIDATORS_ROOT  required\n"
    "                           --genesis-validators-root 0xHEX (32 bytes; binds the\n"
    "                                                         slashing database)\n"
    "  workers                  TKMS_WORKERS                  online CPUs (at most 64)\n"
    "                           --workers 1..64\n"
    "  max_body_size            TKMS_MAX_BODY_SIZE            1MiB\n"
    "                           --max-body-size BYTES         (1KiB..16MiB; units KiB, MiB)\n"
    "  keystore.kdf             TKMS_KEYSTORE_KDF             scrypt\n"
    "                           --keystore-kdf scrypt|pbkdf2  (keystores the server writes)\n"
    "  keystore.scrypt_n        TKMS_KEYSTORE_SCRYPT_N        262144 (2^18)\n"
    "                           --keystore-scrypt-n N         (power of two, 1024..1048576)\n"
    "  log_level                TKMS_LOG_LEVEL                info\n"
    "                           --log-level error|warn|info|debug\n"
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
