/*
 * config_common.c — the settings every daemon has (config_common.h): their
 * setters, defaults, required checks and freeing, once for the threshold
 * server and the gateway, reaching a daemon's struct through
 * schema->common->fields.
 */
#include "config_common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static config_common_fields fields_of(const config_schema *schema, void *cfg)
{
    return schema->common->fields(cfg);
}

/* ---- setters ------------------------------------------------------------------- */

tkms_status config_common_set_listen(const config_schema *schema, void *cfg, const char *value,
                                     const char *base, const char *where, tkms_err *err)
{
    (void)base;
    config_common_fields f = fields_of(schema, cfg);
    config_host_port hp;
    tkms_status st = config_value_host_port(schema, value, where, &hp, err);
    if (st != TKMS_OK)
        return st;
    free(*f.listen_host);
    free(*f.listen);
    *f.listen_host = hp.host;
    *f.listen = hp.text;
    *f.listen_port = hp.port;
    return TKMS_OK;
}

#define PATH_SETTER(fn, member)                                                         \
    tkms_status fn(const config_schema *schema, void *cfg, const char *value,           \
                   const char *base, const char *where, tkms_err *err)                  \
    {                                                                                   \
        (void)where;                                                                    \
        return config_set_path(schema, fields_of(schema, cfg).member, base, value, err); \
    }
PATH_SETTER(config_common_set_data_dir, data_dir)
PATH_SETTER(config_common_set_tls_cert, tls_cert)
PATH_SETTER(config_common_set_tls_key, tls_key)
PATH_SETTER(config_common_set_tls_ca, tls_ca)
PATH_SETTER(config_common_set_password_file, password_file)

tkms_status config_common_set_network(const config_schema *schema, void *cfg, const char *value,
                                      const char *base, const char *where, tkms_err *err)
{
    (void)base;
    return config_value_network(value, where, fields_of(schema, cfg).chain, err);
}

/* `size` (at most 32) bytes of hex into `out`, which keeps its value on
 * failure; marks *given. */
static tkms_status set_hex(const char *value, const char *where, uint8_t *out, size_t size,
                           bool *given, tkms_err *err)
{
    uint8_t bytes[32];
    tkms_status st = config_value_hex(value, where, bytes, size, err);
    if (st != TKMS_OK)
        return st;
    memcpy(out, bytes, size);
    *given = true;
    return TKMS_OK;
}

tkms_status config_common_set_genesis_fork_version(const config_schema *schema, void *cfg,
                                                   const char *value, const char *base,
                                                   const char *where, tkms_err *err)
{
    (void)base;
    config_common_fields f = fields_of(schema, cfg);
    return set_hex(value, where, f.chain->genesis_fork_version,
                   sizeof f.chain->genesis_fork_version, f.genesis_fork_version_given, err);
}

tkms_status config_common_set_genesis_validators_root(const config_schema *schema, void *cfg,
                                                      const char *value, const char *base,
                                                      const char *where, tkms_err *err)
{
    (void)base;
    config_common_fields f = fields_of(schema, cfg);
    return set_hex(value, where, *f.genesis_validators_root, sizeof *f.genesis_validators_root,
                   f.genesis_validators_root_given, err);
}

tkms_status config_common_set_workers(const config_schema *schema, void *cfg, const char *value,
                                      const char *base, const char *where, tkms_err *err)
{
    (void)base;
    uint64_t v;
    tkms_status st = config_value_uint(value, where, 1, schema->common->max_workers, &v, err);
    if (st == TKMS_OK)
        *fields_of(schema, cfg).workers = (unsigned)v;
    return st;
}

tkms_status config_common_set_max_body_size(const config_schema *schema, void *cfg,
                                            const char *value, const char *base,
                                            const char *where, tkms_err *err)
{
    (void)base;
    uint64_t v;
    tkms_status st = config_value_size(value, where, schema->common->min_body_size,
                                       schema->common->max_body_size, &v, err);
    if (st == TKMS_OK)
        *fields_of(schema, cfg).max_body_size = (size_t)v;
    return st;
}

tkms_status config_common_set_keystore_kdf(const config_schema *schema, void *cfg,
                                           const char *value, const char *base,
                                           const char *where, tkms_err *err)
{
    (void)base;
    return config_value_kdf(value, where, &fields_of(schema, cfg).keystore->kdf, err);
}

tkms_status config_common_set_keystore_scrypt_n(const config_schema *schema, void *cfg,
                                                const char *value, const char *base,
                                                const char *where, tkms_err *err)
{
    (void)base;
    uint64_t v;
    tkms_status st = config_value_pow2(value, where, schema->common->min_scrypt_n,
                                       schema->common->max_scrypt_n, &v, err);
    if (st == TKMS_OK)
        fields_of(schema, cfg).keystore->scrypt_n = (uint32_t)v;
    return st;
}

tkms_status config_common_set_log_level(const config_schema *schema, void *cfg,
                                        const char *value, const char *base, const char *where,
                                        tkms_err *err)
{
    (void)base;
    int level;
    tkms_status st = config_value_log_level(value, where, &level, err);
    if (st == TKMS_OK)
        *fields_of(schema, cfg).log_level = (tkms_log_level)level;
    return st;
}

/* ---- init, finish, free ---------------------------------------------------------- */

tkms_status config_common_init(const config_schema *schema, void *cfg, tkms_err *err)
{
    const config_common *common = schema->common;
    config_common_fields f = fields_of(schema, cfg);
    *f.chain = TKMS_ETH2_MAINNET;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *f.workers = cpus < 1 ? 1u
                 : cpus > (long)common->max_workers ? common->max_workers
                                                    : (unsigned)cpus;
    *f.max_body_size = (size_t)common->default_body_size;
    tkms_kdf_params_default(f.keystore);
    f.keystore->kdf = TKMS_KDF_SCRYPT;
    f.keystore->scrypt_n = (uint32_t)common->default_scrypt_n;
    *f.log_level = TKMS_LOG_INFO;
    return config_common_set_listen(schema, cfg, common->default_listen, "/", "listen", err);
}

tkms_status config_common_finish(const config_schema *schema, void *cfg,
                                 const config_required_setting *required, size_t count,
                                 tkms_err *err)
{
    config_common_fields f = fields_of(schema, cfg);
    if (!*f.genesis_fork_version_given)
        config_chain_default_fork_version(f.chain);
    const config_required_setting first[] = {
        {*f.data_dir != NULL, "data_dir"},
        {*f.tls_cert != NULL, "tls.cert"},
        {*f.tls_key != NULL, "tls.key"},
    };
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (!first[i].present)
            return config_required(schema, first[i].key, err);
    for (size_t i = 0; i < count; i++)
        if (!required[i].present)
            return config_required(schema, required[i].key, err);
    if (!*f.genesis_validators_root_given)
        return config_required(schema, "genesis_validators_root", err);
    return TKMS_OK;
}

void config_common_free(const config_schema *schema, void *cfg)
{
    config_common_fields f = fields_of(schema, cfg);
    char **strings[] = {f.listen, f.listen_host, f.data_dir, f.tls_cert,
                        f.tls_key, f.tls_ca, f.password_file};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
}
