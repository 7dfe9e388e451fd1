/*
 * config_source.c — the configuration engine (config_source.h): YAML via
 * libyaml's event parser into a bounded tree with line numbers, the tree
 * walked against a daemon's table of settings, TKMS_* environment
 * variables and flags matched against the same table (so the three
 * sources cannot drift apart), precedence, path resolution, and the value
 * parsers the daemons share. The daemons (server_config.c,
 * gateway_config.c) only describe their settings and check the result.
 */
#include "config_source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/owners.h"

extern char **environ;

#define WHERE_SIZE 192u             /* "server.yaml:12: tls.cert"             */
#define FLAG_WHERE_SIZE 72u         /* "--genesis-validators-root"            */

/* ---- small helpers -------------------------------------------------------- */

tkms_status config_out_of_memory(const config_schema *schema, tkms_err *err)
{
    return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory",
                     schema != NULL && schema->what != NULL ? schema->what : "config");
}

static tkms_status missing_argument(const config_schema *schema, tkms_err *err)
{
    return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: missing argument",
                     schema != NULL && schema->what != NULL ? schema->what : "config");
}

bool config_parse_u64(const char *text, size_t len, uint64_t *out)
{
    if (text == NULL || len == 0 || len > 20)
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

char *config_resolve_path(const char *base, const char *value)
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
    char *abs = config_resolve_path(cwd, dir);
    free(dir);
    return abs;
}

tkms_status config_set_string(const config_schema *schema, char **field, char *value,
                              tkms_err *err)
{
    if (value == NULL)
        return config_out_of_memory(schema, err);
    free(*field);
    *field = value;
    return TKMS_OK;
}

tkms_status config_set_path(const config_schema *schema, char **field, const char *base,
                            const char *value, tkms_err *err)
{
    return config_set_string(schema, field, config_resolve_path(base, value), err);
}

const config_setting *config_setting_by_key(const config_schema *schema, const char *key)
{
    for (size_t i = 0; i < schema->setting_count; i++)
        if (strcmp(schema->settings[i].key, key) == 0)
            return &schema->settings[i];
    return NULL;
}

tkms_status config_required(const config_schema *schema, const char *key, tkms_err *err)
{
    const config_setting *s = config_setting_by_key(schema, key);
    if (s == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: required", key);
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: required (set %s in the config file, %s or --%s)",
                     s->key, s->key, s->env, s->flag);
}

/* ---- value parsers ----------------------------------------------------------- */

tkms_status config_value_check(const char *value, const char *where, tkms_err *err)
{
    size_t len = strlen(value);
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must not be empty", where);
    if (len > CONFIG_VALUE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: longer than %u bytes", where,
                         CONFIG_VALUE_MAX_SIZE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: must not contain control characters", where);
    }
    return TKMS_OK;
}

tkms_status config_value_uint(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    uint64_t v;
    if (!config_parse_u64(value, strlen(value), &v) || v < min || v > max)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be %" PRIu64 "..%" PRIu64 ", got %s",
                         where, min, max, CONFIG_SHOW(shown, value));
    *out = v;
    return TKMS_OK;
}

tkms_status config_value_pow2(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    uint64_t v;
    if (!config_parse_u64(value, strlen(value), &v) || v < min || v > max || v == 0 ||
        (v & (v - 1)) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be a power of two from %" PRIu64 " to %" PRIu64 ", got %s",
                         where, min, max, CONFIG_SHOW(shown, value));
    *out = v;
    return TKMS_OK;
}

/* `v` bytes in the largest unit that divides it: "16 MiB", "1 KiB", "100 bytes". */
static const char *size_label(char *out, size_t size, uint64_t v)
{
    if (v != 0 && v % (1024u * 1024u) == 0)
        snprintf(out, size, "%" PRIu64 " MiB", v / (1024u * 1024u));
    else if (v != 0 && v % 1024u == 0)
        snprintf(out, size, "%" PRIu64 " KiB", v / 1024u);
    else
        snprintf(out, size, "%" PRIu64 " bytes", v);
    return out;
}

tkms_status config_value_size(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
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
    if (scale == 0 || !config_parse_u64(value, digits, &v) || v > UINT64_MAX / scale ||
        v * scale < min || v * scale > max) {
        char lo[32], hi[32];
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be %" PRIu64 "..%" PRIu64
                         " bytes (%s..%s; units KiB, MiB), got %s",
                         where, min, max, size_label(lo, sizeof lo, min),
                         size_label(hi, sizeof hi, max), CONFIG_SHOW(shown, value));
    }
    *out = v * scale;
    return TKMS_OK;
}

tkms_status config_value_enum(const char *value, const char *where,
                              const char *const *names, size_t count, size_t *index,
                              tkms_err *err)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(value, names[i]) == 0) {
            *index = i;
            return TKMS_OK;
        }
    char list[256], shown[CONFIG_SHOW_SIZE];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < count && used < sizeof list; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        int n = snprintf(list + used, sizeof list - used, "%s%s", sep, names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be %s, got '%s'", where, list,
                     CONFIG_SHOW(shown, value));
}

tkms_status config_value_hex(const char *value, const char *where, uint8_t *out,
                             size_t size, tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    if (tkms_hex_decode(out, size, value, NULL) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected 0x and %zu hex digits, got '%s'",
                         where, 2 * size, CONFIG_SHOW(shown, value));
    return TKMS_OK;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

void config_host_port_free(config_host_port *hp)
{
    if (hp == NULL)
        return;
    free(hp->text);
    free(hp->host);
    memset(hp, 0, sizeof *hp);
}

tkms_status config_value_host_port(const config_schema *schema, const char *value,
                                   const char *where, config_host_port *out, tkms_err *err)
{
    memset(out, 0, sizeof *out);
    char shown[CONFIG_SHOW_SIZE];
    const char *host, *port_text;
    size_t host_len;
    bool v6 = value[0] == '[';
    if (v6) {
        const char *close = strchr(value, ']');
        if (close == NULL || close[1] != ':')
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected [IPV6]:PORT, got '%s'",
                             where, CONFIG_SHOW(shown, value));
        host = value + 1;
        host_len = (size_t)(close - host);
        port_text = close + 2;
        char addr_text[INET6_ADDRSTRLEN + 1];
        struct in6_addr addr;
        if (host_len == 0 || host_len >= sizeof addr_text)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not an IPv6 address in '%s'",
                             where, CONFIG_SHOW(shown, value));
        memcpy(addr_text, host, host_len);
        addr_text[host_len] = '\0';
        if (inet_pton(AF_INET6, addr_text, &addr) != 1)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not an IPv6 address in '%s'",
                             where, CONFIG_SHOW(shown, value));
    } else {
        const char *colon = strrchr(value, ':');
        if (colon == NULL || colon == value)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected HOST:PORT, got '%s'",
                             where, CONFIG_SHOW(shown, value));
        host = value;
        host_len = (size_t)(colon - value);
        port_text = colon + 1;
        if (memchr(host, ':', host_len) != NULL)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: write an IPv6 address in brackets, as [::1]:9000, got '%s'",
                             where, CONFIG_SHOW(shown, value));
        bool ok = host_len <= 253;
        for (size_t i = 0; ok && i < host_len; i++)
            ok = host_char(host[i]);
        if (!ok)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "%s: expected HOST:PORT with a host name or IPv4 address, got '%s'",
                             where, CONFIG_SHOW(shown, value));
    }
    uint64_t port;
    if (strlen(port_text) > 5 || !config_parse_u64(port_text, strlen(port_text), &port) ||
        port > 65535)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: expected HOST:PORT with a port 0..65535, got '%s'", where,
                         CONFIG_SHOW(shown, value));

    char *h = strndup(host, host_len);
    size_t size = host_len + 10;
    char *canonical = malloc(size);
    if (h == NULL || canonical == NULL) {
        free(h);
        free(canonical);
        return config_out_of_memory(schema, err);
    }
    snprintf(canonical, size, v6 ? "[%s]:%u" : "%s:%u", h, (unsigned)port);
    out->text = canonical;
    out->host = h;
    out->port = (uint16_t)port;
    out->v6 = v6;
    return TKMS_OK;
}

/* ---- settings the daemons share ------------------------------------------------ */

tkms_status config_value_network(const char *value, const char *where, tkms_eth2_chain *chain,
                                 tkms_err *err)
{
    static const char *const names[] = {"mainnet", "minimal"};
    static const tkms_eth2_preset presets[] = {TKMS_ETH2_PRESET_MAINNET,
                                               TKMS_ETH2_PRESET_MINIMAL};
    size_t i = 0;
    tkms_status st = config_value_enum(value, where, names, 2, &i, err);
    if (st == TKMS_OK)
        chain->preset = presets[i];
    return st;
}

void config_chain_default_fork_version(tkms_eth2_chain *chain)
{
    static const uint8_t minimal[4] = {0x00, 0x00, 0x00, 0x01};
    if (chain->preset == TKMS_ETH2_PRESET_MINIMAL)
        memcpy(chain->genesis_fork_version, minimal, 4);
    else
        memcpy(chain->genesis_fork_version, TKMS_ETH2_MAINNET.genesis_fork_version, 4);
}

tkms_status config_value_owner_id(const char *value, const char *where, tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    if (!tkms_owner_id_valid(value))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: must be 1..%u characters of A-Z a-z 0-9 . _ - not starting "
                         "with . or -, got '%s'",
                         where, TKMS_OWNER_ID_MAX_SIZE, CONFIG_SHOW(shown, value));
    return TKMS_OK;
}

tkms_status config_value_kdf(const char *value, const char *where, tkms_kdf *kdf,
                             tkms_err *err)
{
    static const char *const names[] = {"scrypt", "pbkdf2"};
    size_t i = 0;
    tkms_status st = config_value_enum(value, where, names, 2, &i, err);
    if (st == TKMS_OK)
        *kdf = i == 0 ? TKMS_KDF_SCRYPT : TKMS_KDF_PBKDF2;
    return st;
}

tkms_status config_value_log_level(const char *value, const char *where, int *level,
                                   tkms_err *err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    size_t i = 0;
    tkms_status st = config_value_enum(value, where, names, 4, &i, err);
    if (st == TKMS_OK)
        *level = (int)i;
    return st;
}

/* Applies one value from any source: the checks every setting shares,
 * then the setting's own. */
static tkms_status apply_value(const config_schema *schema, void *cfg, const config_setting *s,
                               const char *value, const char *base, const char *where,
                               tkms_err *err)
{
    tkms_status st = config_value_check(value, where, err);
    return st != TKMS_OK ? st : s->set(schema, cfg, value, base, where, err);
}

/* ---- YAML: events to a bounded tree ------------------------------------- */

bool config_node_is_null(const config_node *n)
{
    return n->kind == CONFIG_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
            strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
}

void config_tree_free(config_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->count; i++)
        config_tree_free(n->items[i]);
    free(n->items);
    free(n->text);
    free(n);
}

static bool node_push(config_node *parent, config_node *child)
{
    if (parent->count == parent->capacity) {
        size_t cap = parent->capacity ? parent->capacity * 2 : 8;
        config_node **grown = realloc(parent->items, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        parent->items = grown;
        parent->capacity = cap;
    }
    parent->items[parent->count++] = child;
    return true;
}

static tkms_status yaml_syntax_error(const config_schema *schema, const yaml_parser_t *parser,
                                     const char *text, size_t len, const char *name,
                                     tkms_err *err)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return config_out_of_memory(schema, err);
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

/* Parses `text` into *root (NULL for a stream without a document); `name`
 * is already printable. */
static tkms_status yaml_tree(const config_schema *schema, config_node **root, const char *text,
                             size_t len, const char *name, tkms_err *err)
{
    *root = NULL;
    unsigned max_depth = schema->max_depth;
    if (max_depth == 0 || max_depth > CONFIG_MAX_DEPTH_LIMIT)
        max_depth = CONFIG_MAX_DEPTH_LIMIT;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return config_out_of_memory(schema, err);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    config_node *stack[CONFIG_MAX_DEPTH_LIMIT];
    size_t depth = 0, documents = 0;
    config_node *top = NULL;
    tkms_status st = TKMS_OK;
    bool done = false;
    while (!done && st == TKMS_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = yaml_syntax_error(schema, &parser, text, len, name, err);
            break;
        }
        size_t line = ev.start_mark.line + 1;
        config_node *n = NULL;
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
            if (ev.type != YAML_SCALAR_EVENT && depth == max_depth) {
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s:%zu: nested deeper than %u levels",
                               name, line, max_depth);
                break;
            }
            n = calloc(1, sizeof *n);
            if (n == NULL) {
                st = config_out_of_memory(schema, err);
                break;
            }
            n->line = line;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->kind = CONFIG_SCALAR;
                n->len = ev.data.scalar.length;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->text = malloc(n->len + 1);
                if (n->text == NULL) {
                    free(n);
                    st = config_out_of_memory(schema, err);
                    break;
                }
                memcpy(n->text, ev.data.scalar.value, n->len);
                n->text[n->len] = '\0';
            } else {
                n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? CONFIG_SEQUENCE : CONFIG_MAPPING;
            }
            if (depth == 0) {
                config_tree_free(top);   /* only one document: never replaces one */
                top = n;
            } else if (!node_push(stack[depth - 1], n)) {
                config_tree_free(n);
                st = config_out_of_memory(schema, err);
                break;
            }
            if (n->kind != CONFIG_SCALAR)
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
        config_tree_free(top);
        return st;
    }
    *root = top;
    return TKMS_OK;
}

tkms_status config_tree_parse(const config_schema *schema, config_node **root,
                              const char *text, size_t len, const char *name, tkms_err *err)
{
    if (root != NULL)
        *root = NULL;
    if (schema == NULL || root == NULL || (text == NULL && len > 0))
        return missing_argument(schema, err);
    char shown_name[CONFIG_NAME_SHOW_MAX + 4];
    tkms_text_printable(shown_name, sizeof shown_name, name != NULL ? name : "config",
                        CONFIG_NAME_SHOW_MAX);
    if (len > schema->max_file_size)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: larger than %zu bytes", shown_name,
                         schema->max_file_size);
    return yaml_tree(schema, root, text != NULL ? text : "", len, shown_name, err);
}

/* ---- YAML: helpers for walkers ------------------------------------------------- */

tkms_status config_doc_fail(const config_doc *doc, size_t line, tkms_status status,
                            const char *fmt, ...)
{
    char rest[TKMS_ERR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    return tkms_fail(doc->err, status, "%s:%zu: %s", doc->name, line, rest);
}

tkms_status config_doc_key(const config_doc *doc, const config_node *map, size_t i,
                           const char *prefix)
{
    const config_node *k = map->items[2 * i];
    char shown[CONFIG_SHOW_SIZE];
    if (k->kind != CONFIG_SCALAR || config_node_is_null(k) || k->len != strlen(k->text))
        return config_doc_fail(doc, k->line, TKMS_ERR_BAD_FORMAT, "%skeys must be names", prefix);
    for (size_t j = 0; j < i; j++)
        if (strcmp(map->items[2 * j]->text, k->text) == 0)
            return config_doc_fail(doc, k->line, TKMS_ERR_BAD_FORMAT, "%sduplicate key '%s'",
                                   prefix, CONFIG_SHOW(shown, k->text));
    return TKMS_OK;
}

tkms_status config_doc_scalar(const config_doc *doc, const config_node *v, const char *what,
                              const char *hint, const char **text)
{
    if (v->kind != CONFIG_SCALAR)
        return config_doc_fail(doc, v->line, TKMS_ERR_BAD_FORMAT, "%s: expected a single value%s",
                               what, hint != NULL && v->kind == CONFIG_SEQUENCE ? hint : "");
    if (config_node_is_null(v))
        return config_doc_fail(doc, v->line, TKMS_ERR_BAD_FORMAT, "%s: has no value", what);
    if (v->len != strlen(v->text))
        return config_doc_fail(doc, v->line, TKMS_ERR_BAD_FORMAT, "%s: contains a NUL character",
                               what);
    *text = v->text;
    return TKMS_OK;
}

tkms_status config_doc_value(const config_doc *doc, const config_node *node, const char *what,
                             char *where_out, size_t where_size, const char **text)
{
    tkms_status st = config_doc_scalar(doc, node, what, NULL, text);
    if (st != TKMS_OK)
        return st;
    snprintf(where_out, where_size, "%s:%zu: %s", doc->name, node->line, what);
    return config_value_check(*text, where_out, doc->err);
}

/* names joined with `sep` and the last with `last` into out. */
static void join_names(char *out, size_t size, const char *const *names, size_t count,
                       const char *sep, const char *last)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s",
                         i == 0 ? "" : i + 1 == count ? last : sep, names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

tkms_status config_doc_fields(const config_doc *doc, const config_node *map, const char *what,
                              const char *const *names, size_t count,
                              const config_node **values)
{
    char list[256];
    for (size_t j = 0; j < count; j++)
        values[j] = NULL;
    if (map->kind != CONFIG_MAPPING) {
        join_names(list, sizeof list, names, count, ", ", " and ");
        return config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT,
                               "%s: expected a mapping with %s", what, list);
    }
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s: ", what);
    for (size_t i = 0; i < map->count / 2; i++) {
        tkms_status st = config_doc_key(doc, map, i, prefix);
        if (st != TKMS_OK)
            return st;
        const config_node *k = map->items[2 * i];
        size_t j = 0;
        while (j < count && strcmp(k->text, names[j]) != 0)
            j++;
        if (j == count) {
            char shown[CONFIG_SHOW_SIZE];
            join_names(list, sizeof list, names, count, ", ", ", ");
            return config_doc_fail(doc, k->line, TKMS_ERR_BAD_FORMAT,
                                   "%s: unknown key '%s' (expected %s)", what,
                                   CONFIG_SHOW(shown, k->text), list);
        }
        values[j] = map->items[2 * i + 1];
    }
    return TKMS_OK;
}

tkms_status config_doc_list(const config_doc *doc, const config_node *list, const char *key,
                            const char *null_hint, const char *expected, size_t room,
                            unsigned max, config_entry_walker walk)
{
    if (config_node_is_null(list))
        return config_doc_fail(doc, list->line, TKMS_ERR_BAD_FORMAT, "%s: has no value (%s)", key,
                               null_hint);
    if (list->kind != CONFIG_SEQUENCE)
        return config_doc_fail(doc, list->line, TKMS_ERR_BAD_FORMAT, "%s: expected %s", key,
                               expected);
    if (list->count > room)   /* named at the first entry that does not fit */
        return config_doc_fail(doc, list->items[room]->line, TKMS_ERR_BAD_FORMAT,
                               "%s: more than %u %s", key, max, key);
    for (size_t i = 0; i < list->count; i++) {
        tkms_status st = walk(doc, i, list->items[i]);
        if (st != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

/* ---- YAML: the tree to settings -------------------------------------------- */

static tkms_status walk_setting(const config_doc *doc, const config_setting *s,
                                const config_node *v)
{
    const char *text;
    tkms_status st = config_doc_scalar(doc, v, s->key, s->list_hint, &text);
    if (st != TKMS_OK)
        return st;
    char where[WHERE_SIZE];
    snprintf(where, sizeof where, "%s:%zu: %s", doc->name, v->line, s->key);
    return apply_value(doc->schema, doc->cfg, s, text, doc->base, where, doc->err);
}

/* True when `name` is a section: some setting's key is "name.…". */
static bool is_section(const config_schema *schema, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < schema->setting_count; i++) {
        const char *key = schema->settings[i].key;
        if (strncmp(key, name, n) == 0 && key[n] == '.')
            return true;
    }
    return false;
}

static tkms_status walk_section(const config_doc *doc, const char *section,
                                const config_node *map)
{
    const config_schema *schema = doc->schema;
    size_t n = strlen(section);
    if (map->kind != CONFIG_MAPPING) {
        char list[256];
        size_t used = 0;
        list[0] = '\0';
        for (size_t i = 0; i < schema->setting_count && used < sizeof list; i++) {
            const char *key = schema->settings[i].key;
            if (strncmp(key, section, n) != 0 || key[n] != '.')
                continue;
            int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "",
                             key + n + 1);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        return config_doc_fail(doc, map->line, TKMS_ERR_BAD_FORMAT,
                               "%s: expected a mapping of settings (%s)", section, list);
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.", section);
    for (size_t i = 0; i < map->count / 2; i++) {
        tkms_status st = config_doc_key(doc, map, i, prefix);
        if (st != TKMS_OK)
            return st;
        const config_node *k = map->items[2 * i];
        char key[96];
        const config_setting *s = NULL;
        if (strlen(k->text) < 32 && strchr(k->text, '.') == NULL) {
            snprintf(key, sizeof key, "%s%s", prefix, k->text);
            s = config_setting_by_key(schema, key);
        }
        if (s == NULL) {
            char shown[CONFIG_SHOW_SIZE];
            return config_doc_fail(doc, k->line, TKMS_ERR_BAD_FORMAT, "unknown key '%s%s'",
                                   prefix, CONFIG_SHOW(shown, k->text));
        }
        if ((st = walk_setting(doc, s, map->items[2 * i + 1])) != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

static tkms_status walk_root(const config_doc *doc, const config_node *root)
{
    const config_schema *schema = doc->schema;
    if (root == NULL || config_node_is_null(root))
        return TKMS_OK;   /* an empty file: no settings */
    if (root->kind != CONFIG_MAPPING)
        return config_doc_fail(doc, root->line, TKMS_ERR_BAD_FORMAT,
                               "expected a mapping of settings (key: value lines)");
    for (size_t i = 0; i < root->count / 2; i++) {
        tkms_status st = config_doc_key(doc, root, i, "");
        if (st != TKMS_OK)
            return st;
        const config_node *k = root->items[2 * i], *v = root->items[2 * i + 1];
        if (strchr(k->text, '.') == NULL && strlen(k->text) < 32 && is_section(schema, k->text)) {
            if ((st = walk_section(doc, k->text, v)) != TKMS_OK)
                return st;
            continue;
        }
        const config_yaml_key *special = NULL;
        for (size_t j = 0; j < schema->yaml_key_count; j++)
            if (strcmp(k->text, schema->yaml_keys[j].key) == 0)
                special = &schema->yaml_keys[j];
        if (special != NULL) {
            if ((st = special->walk(doc->cfg, doc, v)) != TKMS_OK)
                return st;
            continue;
        }
        const config_setting *s =
            strchr(k->text, '.') == NULL ? config_setting_by_key(schema, k->text) : NULL;
        if (s == NULL) {
            char shown[CONFIG_SHOW_SIZE];
            return config_doc_fail(doc, k->line, TKMS_ERR_BAD_FORMAT, "unknown key '%s'",
                                   CONFIG_SHOW(shown, k->text));
        }
        if ((st = walk_setting(doc, s, v)) != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

tkms_status config_parse_yaml(const config_schema *schema, void *cfg, const char *text,
                              size_t len, const char *base_dir, const char *name,
                              tkms_err *err)
{
    if (schema == NULL || cfg == NULL || (text == NULL && len > 0))
        return missing_argument(schema, err);
    char shown_name[CONFIG_NAME_SHOW_MAX + 4];
    tkms_text_printable(shown_name, sizeof shown_name, name != NULL ? name : "config",
                        CONFIG_NAME_SHOW_MAX);
    if (len > schema->max_file_size)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: larger than %zu bytes", shown_name,
                         schema->max_file_size);

    char *cwd = NULL, *base = NULL;
    if (base_dir == NULL || base_dir[0] != '/') {
        if ((cwd = current_dir(err)) == NULL)
            return err != NULL ? err->status : TKMS_ERR_IO;
    }
    base = base_dir == NULL ? strdup(cwd)
                            : config_resolve_path(cwd != NULL ? cwd : "/", base_dir);
    free(cwd);
    if (base == NULL)
        return config_out_of_memory(schema, err);

    config_node *root = NULL;
    tkms_status st = yaml_tree(schema, &root, text != NULL ? text : "", len, shown_name, err);
    if (st == TKMS_OK) {
        config_doc doc = {.schema = schema, .cfg = cfg, .name = shown_name, .base = base,
                          .err = err};
        st = walk_root(&doc, root);
    }
    config_tree_free(root);
    free(base);
    return st;
}

/* ---- environment and flags --------------------------------------------------- */

const char *config_env_get(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i][n + 1] != '\0' ? envp[i] + n + 1 : NULL;
    return NULL;
}

/* The index of flag `name` (`len` bytes, after "--"): a setting,
 * schema->setting_count for --config, or -1. */
static long flag_index(const config_schema *schema, const char *name, size_t len)
{
    if (len == 6 && strncmp(name, "config", 6) == 0)
        return (long)schema->setting_count;
    for (size_t i = 0; i < schema->setting_count; i++)
        if (strlen(schema->settings[i].flag) == len &&
            strncmp(schema->settings[i].flag, name, len) == 0)
            return (long)i;
    return -1;
}

/* Reads every flag into values[] (setting_count + 1 slots, the last one
 * for --config), checking the syntax only. */
static tkms_status scan_flags(const config_schema *schema, int argc, char **argv,
                              const char *values[], tkms_err *err)
{
    char shown[CONFIG_SHOW_SIZE];
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg == NULL)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "argument %d is missing", i);
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || arg[2] == '=')
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "unexpected argument '%s'",
                             CONFIG_SHOW(shown, arg));
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        long index = flag_index(schema, name, len);
        if (index < 0) {
            char *flag = strndup(arg, len + 2);
            if (flag == NULL)
                return config_out_of_memory(schema, err);
            tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: unknown flag", CONFIG_SHOW(shown, flag));
            free(flag);
            return TKMS_ERR_INVALID_ARGUMENT;
        }
        const char *flag =
            (size_t)index == schema->setting_count ? "config" : schema->settings[index].flag;
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

bool config_wants_help(const config_schema *schema, int argc, char **argv)
{
    for (int i = 0; i < argc && argv != NULL && argv[i] != NULL; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return true;
        if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') == NULL &&
            flag_index(schema, arg + 2, strlen(arg + 2)) >= 0)
            i++;   /* skip its value */
    }
    return false;
}

/* ---- the whole load ---------------------------------------------------------- */

/* Reads and applies the YAML file `path`, named by `source` in messages
 * about the file as a whole ("--config", "TKMS_CONFIG"). */
static tkms_status load_file(const config_schema *schema, void *cfg, char **config_path,
                             const char *path, const char *source, const char *cwd,
                             tkms_err *err)
{
    char shown[CONFIG_NAME_SHOW_MAX + 4];
    tkms_text_printable(shown, sizeof shown, path, CONFIG_NAME_SHOW_MAX);
    char *text = NULL;
    size_t len = 0;
    tkms_err inner;
    tkms_status st = tkms_file_read(path, schema->max_file_size, &text, &len, &inner);
    if (st == TKMS_ERR_BAD_FORMAT)
        return tkms_fail(err, st, "%s: %s: larger than %zu bytes", source, shown,
                         schema->max_file_size);
    if (st == TKMS_ERR_IO) {
        const char *reason = strrchr(inner.message, ':');   /* "path: reason" */
        return tkms_fail(err, st, "%s: cannot read %s: %s", source, shown,
                         reason != NULL ? reason + 2 : inner.message);
    }
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s", source, inner.message);
    char *dir = dir_of(path, cwd);
    free(*config_path);
    *config_path = strdup(path);
    if (dir == NULL || *config_path == NULL)
        st = config_out_of_memory(schema, err);
    else
        st = config_parse_yaml(schema, cfg, text, len, dir, path, err);
    free(dir);
    free(text);
    return st;
}

tkms_status config_load(const config_schema *schema, void *cfg, char **config_path,
                        const char *yaml_path, char *const envp[], int argc, char **argv,
                        tkms_err *err)
{
    if (schema == NULL || cfg == NULL || config_path == NULL || argc < 0 ||
        (argc > 0 && argv == NULL))
        return missing_argument(schema, err);
    if (envp == NULL)
        envp = environ;
    if (envp == NULL) {
        static char *const empty[] = {NULL};
        envp = empty;
    }

    const char **flags = calloc(schema->setting_count + 1, sizeof *flags);
    if (flags == NULL)
        return config_out_of_memory(schema, err);
    tkms_status st = scan_flags(schema, argc, argv, flags, err);
    if (st != TKMS_OK) {
        free(flags);
        return st;
    }
    char *cwd = current_dir(err);
    if (cwd == NULL) {
        free(flags);
        return err != NULL ? err->status : TKMS_ERR_IO;
    }
    if ((st = schema->init(cfg, err)) != TKMS_OK) {
        free(cwd);
        free(flags);
        return st;
    }

    const char *path = NULL, *source = NULL;
    if (flags[schema->setting_count] != NULL) {
        path = flags[schema->setting_count];
        source = "--config";
    } else if (yaml_path != NULL) {
        path = yaml_path;
        source = "config file";
    } else if ((path = config_env_get(envp, "TKMS_CONFIG")) != NULL) {
        source = "TKMS_CONFIG";
    }
    if (path != NULL && path[0] == '\0')
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must not be empty", source);
    else if (path != NULL)
        st = load_file(schema, cfg, config_path, path, source, cwd, err);

    for (size_t i = 0; st == TKMS_OK && i < schema->setting_count; i++) {
        const config_setting *s = &schema->settings[i];
        const char *value = config_env_get(envp, s->env);
        if (value != NULL)
            st = apply_value(schema, cfg, s, value, cwd, s->env, err);
    }
    for (size_t i = 0; st == TKMS_OK && i < schema->setting_count; i++) {
        if (flags[i] == NULL)
            continue;
        char where[FLAG_WHERE_SIZE];
        snprintf(where, sizeof where, "--%s", schema->settings[i].flag);
        st = apply_value(schema, cfg, &schema->settings[i], flags[i], cwd, where, err);
    }
    if (st == TKMS_OK)
        st = schema->finish(cfg, err);
    free(cwd);
    free(flags);
    if (st != TKMS_OK)
        schema->release(cfg);
    return st;
}
