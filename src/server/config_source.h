/*
 * config_source.h — the engine under the daemons' configurations
 * (server_config.h for `tkms server`, gateway_config.h for `tkms gateway`):
 * where settings come from and how values are checked, with no knowledge
 * of any one daemon's settings.
 *
 * A daemon describes its settings in a table (config_setting: YAML key,
 * TKMS_* environment variable, flag, setter) and a config_schema (the
 * settings every daemon has, such as listen and tls.*, with the setters
 * and steps of config_common.h), and the engine does the rest the same
 * way for every daemon:
 *
 *   - sources, in rising precedence: the daemon's defaults (schema->init),
 *     one YAML file, TKMS_* environment variables, flags; every value
 *     given anywhere is checked, even one a later source replaces;
 *   - the file: --config FILE / --config=FILE, else the caller's path,
 *     else $TKMS_CONFIG, else none; read whole (at most
 *     schema->max_file_size bytes) and parsed with libyaml's event parser
 *     into a bounded tree (config_node: kinds, texts, line numbers) — one
 *     document, no aliases, nesting at most schema->max_depth levels;
 *   - the tree walked against the table: a key "a.b" of the table is `b`
 *     inside the mapping `a` (a section); keys the table lacks are either
 *     the schema's YAML-only keys (lists such as `rules`, `servers`,
 *     `clients`, walked by the daemon's own function with the helpers
 *     below) or errors, and so are repeated keys;
 *   - environment: the first "NAME=value" entry of a name counts; an empty
 *     value counts as unset;
 *   - flags: "--flag VALUE" or "--flag=VALUE", each at most once; a value
 *     may not begin with "--" (use "--flag=--x"); flag syntax errors come
 *     before anything is read;
 *   - paths: relative paths in the file are relative to the file's
 *     directory, from the environment or flags to the current directory;
 *     stored paths are absolute, joined as text (config_resolve_path);
 *   - every value: non-empty, at most CONFIG_VALUE_MAX_SIZE bytes, no
 *     control characters (config_value_check), then the setter's checks.
 *
 * Errors are one printable line naming the setting and where it came from:
 *   "server.yaml:12: workers: must be 1..64, got 0"   (file: name, line)
 *   "TKMS_WORKERS: must be 1..64, got 0"              (environment)
 *   "--listen: expected HOST:PORT, got 'x'"           (flag)
 * Setters and value parsers get `where` (one of the three forms, without
 * the trailing ": ") and begin their messages with it. User text inside a
 * message is shown printable and cut to CONFIG_SHOW_MAX bytes
 * (CONFIG_SHOW). Nothing in this module is secret; a setter whose value
 * may be (a database URL with a password) must not show it.
 *
 * Everything here is single-threaded start-up code; nothing is global
 * except the read-only tables the daemons pass in.
 */
#ifndef TKMS_CONFIG_SOURCE_H
#define TKMS_CONFIG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/eth2.h"
#include "tkms/keystore.h"
#include "tkms/status.h"
#include "tkms/text.h"

#define CONFIG_VALUE_MAX_SIZE 4096u    /* longest value accepted (a path)      */
#define CONFIG_SHOW_MAX 40u            /* user text shown in messages, at most  */
#define CONFIG_SHOW_SIZE (CONFIG_SHOW_MAX + 4u)
#define CONFIG_NAME_SHOW_MAX 100u      /* a file name in messages, at most      */
#define CONFIG_MAX_DEPTH_LIMIT 32u     /* largest schema->max_depth             */

/* `text` printable and shortened into the char array `buf` (CONFIG_SHOW_SIZE
 * bytes or more); evaluates to buf. */
#define CONFIG_SHOW(buf, text) tkms_text_printable((buf), sizeof(buf), (text), CONFIG_SHOW_MAX)

/* ---- the YAML tree ---------------------------------------------------------- */

typedef enum { CONFIG_SCALAR, CONFIG_SEQUENCE, CONFIG_MAPPING } config_kind;

/* One node of a parsed document. Read-only for walkers. */
typedef struct config_node {
    config_kind kind;
    size_t line;                  /* 1-based line where the node starts            */
    char *text;                   /* scalar: NUL-terminated (NULL otherwise)        */
    size_t len;                   /* scalar bytes; len > strlen(text): a NUL inside */
    bool plain;                   /* plain scalar style (so ~, null, "" are null)   */
    struct config_node **items;   /* sequence: items; mapping: k0, v0, k1, v1, …    */
    size_t count, capacity;       /* count of items (a mapping: 2 × its pairs)      */
} config_node;

/* True for a plain empty, "~", "null", "Null" or "NULL" scalar. */
bool config_node_is_null(const config_node *node);

/* ---- the schema -------------------------------------------------------------- */

struct config_schema;

/*
 * Sets one setting from `value` (already through config_value_check),
 * `base` the absolute directory relative paths start from, `where` the
 * message prefix. `cfg` is the daemon's configuration struct, `schema`
 * its schema (for "WHAT: out of memory" and schema->common). Returns
 * TKMS_OK, TKMS_ERR_BAD_FORMAT (message "WHERE: …") or TKMS_ERR_NO_MEMORY.
 * A setter replaces what an earlier source set.
 */
typedef tkms_status config_setter_fn(const struct config_schema *schema, void *cfg,
                                     const char *value, const char *base, const char *where,
                                     tkms_err *err);
typedef config_setter_fn *config_setter;

typedef struct {
    const char *key;        /* YAML key; "tls.cert" is `cert` in the section `tls` */
    const char *env;        /* "TKMS_TLS_CERT"                                     */
    const char *flag;       /* "tls-cert" (without the leading "--")              */
    config_setter set;
    const char *list_hint;  /* added to "KEY: expected a single value" when a list
                               is given (e.g. " (quote IPv6 addresses: …)"), or NULL */
} config_setting;

struct config_doc;

/* Walks the value of a YAML-only key (one the table lacks, such as a list
 * of rules). Its errors go through the config_doc helpers below. */
typedef tkms_status (*config_yaml_walker)(void *cfg, const struct config_doc *doc,
                                          const config_node *value);

typedef struct {
    const char *key;        /* a top-level key: "rules", "servers" */
    config_yaml_walker walk;
} config_yaml_key;

typedef struct config_schema {
    const char *what;                    /* "server config": "WHAT: out of memory"   */
    const config_setting *settings;      /* every setting of every source            */
    size_t setting_count;
    const config_yaml_key *yaml_keys;    /* YAML-only keys (may be NULL)             */
    size_t yaml_key_count;
    const struct config_common *common;  /* the settings every daemon has
                                            (config_common.h), or NULL             */
    size_t max_file_size;                /* bytes of the YAML document, at most      */
    unsigned max_depth;                  /* 1..CONFIG_MAX_DEPTH_LIMIT nesting levels */
    /* The daemon's steps, for config_load: defaults into a zeroed struct
     * (freeing what it made on failure), the checks after every source
     * (required settings, defaults that depend on others), and freeing. */
    tkms_status (*init)(void *cfg, tkms_err *err);
    tkms_status (*finish)(void *cfg, tkms_err *err);
    void (*release)(void *cfg);
} config_schema;

/* The setting with YAML key `key` ("tls.cert"), or NULL. */
const config_setting *config_setting_by_key(const config_schema *schema, const char *key);

/* ---- loading ------------------------------------------------------------------- */

/*
 * The whole load for one daemon, into `cfg` (zeroed by the caller;
 * `config_path` points at the struct's field for the file's path, set to
 * a malloc'ed copy of the path when a file is read): scans the flags
 * (argv[0..argc-1] are all flags and values, no program name; "--config"
 * is always a flag), schema->init, the file (see the top; `yaml_path` as
 * if given with --config, which wins), the environment `envp`
 * (NULL-terminated "NAME=value", NULL = environ), the flags, then
 * schema->finish. On failure schema->release(cfg) has been called and err
 * holds one line. Returns
 *   TKMS_ERR_INVALID_ARGUMENT  flag syntax: unknown flag, missing value, a
 *                              flag given twice, a non-flag argument; or
 *                              argc < 0 / argv NULL with argc > 0;
 *   TKMS_ERR_IO                the file cannot be read, or no current
 *                              directory;
 *   TKMS_ERR_BAD_FORMAT        anything wrong in a value, the YAML, or
 *                              whatever schema->finish refuses;
 *   TKMS_ERR_NO_MEMORY.
 */
tkms_status config_load(const config_schema *schema, void *cfg, char **config_path,
                        const char *yaml_path, char *const envp[], int argc, char **argv,
                        tkms_err *err);

/*
 * Applies one YAML document (`len` bytes, need not be NUL-terminated) on
 * top of cfg: table settings replace earlier values, YAML-only keys are
 * handed to their walkers. `base_dir` resolves relative paths (NULL: the
 * current directory; a relative one is taken from the current directory),
 * `name` names the document in messages (NULL: "config"; shown printable,
 * cut to CONFIG_NAME_SHOW_MAX). An empty document (or one holding only
 * null) sets nothing. Returns TKMS_OK, TKMS_ERR_BAD_FORMAT
 * ("NAME:LINE: …", or "NAME: larger than N bytes"), TKMS_ERR_IO (no
 * current directory), TKMS_ERR_NO_MEMORY, or TKMS_ERR_INVALID_ARGUMENT
 * (schema or cfg NULL, text NULL with len > 0). Does not call
 * schema->finish. On failure cfg may hold some of the document's values.
 */
tkms_status config_parse_yaml(const config_schema *schema, void *cfg, const char *text,
                              size_t len, const char *base_dir, const char *name,
                              tkms_err *err);

/*
 * Parses one YAML document into a tree without walking it, with the
 * same bounds (schema->max_file_size, schema->max_depth; one document,
 * no aliases) and messages. *root is NULL for a document-less stream.
 * Free with config_tree_free. For tests and tools.
 */
tkms_status config_tree_parse(const config_schema *schema, config_node **root,
                              const char *text, size_t len, const char *name, tkms_err *err);
void config_tree_free(config_node *root);

/* True when argv (as for config_load) asks for help: "--help" or "-h" in a
 * flag position (not as the value of a flag of the schema or --config). */
bool config_wants_help(const config_schema *schema, int argc, char **argv);

/* The value of `name` in envp (the first entry counts); NULL when absent or
 * empty. */
const char *config_env_get(char *const envp[], const char *name);

/* "KEY: required (set KEY in the config file, ENV or --FLAG)" for the
 * setting `key` of the table; returns TKMS_ERR_BAD_FORMAT. */
tkms_status config_required(const config_schema *schema, const char *key, tkms_err *err);

/* "WHAT: out of memory"; returns TKMS_ERR_NO_MEMORY. */
tkms_status config_out_of_memory(const config_schema *schema, tkms_err *err);

/* ---- walking YAML-only keys ------------------------------------------------------ */

/* Where a walk is: given to YAML-only walkers, read-only. */
typedef struct config_doc {
    const config_schema *schema;
    void *cfg;
    const char *name;       /* the document's name, printable and shortened */
    const char *base;       /* absolute directory for relative paths         */
    tkms_err *err;
} config_doc;

/* Fails with "NAME:LINE: " and the printf-style rest; returns `status`. */
tkms_status config_doc_fail(const config_doc *doc, size_t line, tkms_status status,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Checks key i of mapping `map` (map->items[2i]): a scalar name (not null,
 * no NUL) and not a repeat of an earlier key. `prefix` goes before the
 * message ("tls.", "rules[3]: "): "NAME:LINE: PREFIXkeys must be names",
 * "NAME:LINE: PREFIXduplicate key 'K'".
 */
tkms_status config_doc_key(const config_doc *doc, const config_node *map, size_t i,
                           const char *prefix);

/*
 * The text of a scalar value named `what` in messages: "NAME:LINE: WHAT:
 * expected a single value[HINT]" (hint, may be NULL, only for a list),
 * "…: has no value" (null), "…: contains a NUL character". The text is
 * borrowed from the node; config_value_check is NOT applied.
 */
tkms_status config_doc_scalar(const config_doc *doc, const config_node *node, const char *what,
                              const char *hint, const char **text);

/*
 * A mapping with known keys (a list entry such as a rule): checks that
 * `node` is a mapping ("WHAT: expected a mapping with A, B and C"), every
 * key (config_doc_key with prefix "WHAT: "), and that each key is one of
 * names[0..count-1] ("WHAT: unknown key 'K' (expected A, B, C)");
 * values[j] is the value of names[j], or NULL when absent. Presence is the
 * caller's to check.
 */
tkms_status config_doc_fields(const config_doc *doc, const config_node *node, const char *what,
                              const char *const *names, size_t count,
                              const config_node **values);

/*
 * A scalar value given in the file for `what` (a field of a list entry):
 * config_doc_scalar, then config_value_check, with `where` =
 * "NAME:LINE: WHAT" written into where_out (where_size bytes) for the
 * caller's own checks. *text is borrowed from the node.
 */
tkms_status config_doc_value(const config_doc *doc, const config_node *node, const char *what,
                             char *where_out, size_t where_size, const char **text);

/* Walks entry `index` (from 0) of a YAML-only list into doc->cfg
 * (config_doc_list). */
typedef tkms_status (*config_entry_walker)(const config_doc *doc, size_t index,
                                           const config_node *entry);

/*
 * The value of the YAML-only list `key` ("rules"), with room for `room`
 * more entries of `max` in all: "NAME:LINE: KEY: has no value (NULL_HINT)"
 * for null, "…: KEY: expected EXPECTED" for anything but a sequence,
 * "…: KEY: more than MAX KEY" at the first entry that does not fit; then
 * each entry through `walk`, in order, stopping at its first error.
 */
tkms_status config_doc_list(const config_doc *doc, const config_node *list, const char *key,
                            const char *null_hint, const char *expected, size_t room,
                            unsigned max, config_entry_walker walk);

/* ---- value parsers (each message begins with "WHERE: ") ------------------------- */

/* "WHERE: must not be empty", "WHERE: longer than 4096 bytes", "WHERE: must
 * not contain control characters" (bytes below 0x20 and 0x7f). */
tkms_status config_value_check(const char *value, const char *where, tkms_err *err);

/* Strict decimal of `len` bytes: digits only (no sign or spaces), fits in
 * uint64. */
bool config_parse_u64(const char *text, size_t len, uint64_t *out);

/* A decimal in min..max: "WHERE: must be MIN..MAX, got V". */
tkms_status config_value_uint(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err);

/* A power of two in min..max: "WHERE: must be a power of two from MIN to
 * MAX, got V". */
tkms_status config_value_pow2(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err);

/* Bytes with an optional unit ("65536", "64KiB", "64 KiB", "1MiB") in
 * min..max: "WHERE: must be MIN..MAX bytes (1 KiB..16 MiB; units KiB, MiB),
 * got V" (the bounds also shown in the largest unit that divides them). */
tkms_status config_value_size(const char *value, const char *where, uint64_t min,
                              uint64_t max, uint64_t *out, tkms_err *err);

/* One of names[0..count-1] (case-sensitive): *index. "WHERE: must be A, B
 * or C, got 'V'". */
tkms_status config_value_enum(const char *value, const char *where,
                              const char *const *names, size_t count, size_t *index,
                              tkms_err *err);

/* Exactly `size` bytes of hex, "0x" optional, either case: "WHERE: expected
 * 0x and 2·SIZE hex digits, got 'V'". */
tkms_status config_value_hex(const char *value, const char *where, uint8_t *out,
                             size_t size, tkms_err *err);

/* A host and port. */
typedef struct {
    char *text;             /* canonical "HOST:PORT" / "[V6]:PORT" (port without
                               leading zeros), malloc'ed                  */
    char *host;             /* without brackets, malloc'ed                 */
    uint16_t port;
    bool v6;                /* given in brackets (an IPv6 address)         */
} config_host_port;

/*
 * "HOST:PORT" with a host name or IPv4 address (1..253 bytes of A-Z a-z
 * 0-9 . - _; not checked further), or "[IPV6]:PORT" (checked with
 * inet_pton), port 0..65535 (decimal, at most 5 digits). On TKMS_OK *out holds two malloc'ed strings (free with
 * config_host_port_free); on failure *out is zeroed. Messages: "WHERE:
 * expected HOST:PORT, got 'V'", "… IPv6 address in brackets …", "… port
 * 0..65535 …", "… not an IPv6 address …". `schema` (may be NULL) names out
 * of memory.
 */
tkms_status config_value_host_port(const config_schema *schema, const char *value,
                                   const char *where, config_host_port *out, tkms_err *err);
void config_host_port_free(config_host_port *hp);

/* `value` as an absolute path: kept when absolute, else joined to `base`
 * (absolute) after dropping leading "./" (and "." alone); ".." is kept, "~"
 * is not expanded. malloc'ed; NULL when out of memory. */
char *config_resolve_path(const char *base, const char *value);

/* Replaces *field (freeing the old string) with `value`, which is
 * malloc'ed or NULL (out of memory: *field unchanged, TKMS_ERR_NO_MEMORY). */
tkms_status config_set_string(const config_schema *schema, char **field, char *value,
                              tkms_err *err);

/* *field = config_resolve_path(base, value), as config_set_string. */
tkms_status config_set_path(const config_schema *schema, char **field, const char *base,
                            const char *value, tkms_err *err);

/* ---- settings the daemons share ------------------------------------------------- */

/* network: "mainnet" or "minimal" into chain->preset. */
tkms_status config_value_network(const char *value, const char *where, tkms_eth2_chain *chain,
                                 tkms_err *err);

/* The preset's genesis fork version (mainnet 0x00000000, minimal
 * 0x00000001), for when none was given. */
void config_chain_default_fork_version(tkms_eth2_chain *chain);

/* An owner id (tkms_owner_id_valid; also the syntax of the gateway's client
 * names): "WHERE: must be 1..64 characters of A-Z a-z 0-9 . _ - not
 * starting with . or -, got 'V'". */
tkms_status config_value_owner_id(const char *value, const char *where, tkms_err *err);

/* keystore.kdf: "scrypt" or "pbkdf2". */
tkms_status config_value_kdf(const char *value, const char *where, tkms_kdf *kdf,
                             tkms_err *err);

/* log_level: "error", "warn", "info", "debug" as 0..3 (the values of
 * tkms_log_level). */
tkms_status config_value_log_level(const char *value, const char *where, int *level,
                                   tkms_err *err);

#endif /* TKMS_CONFIG_SOURCE_H */
