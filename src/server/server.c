/*
 * server.c — the threshold server's lifecycle: opening the data directory
 * (identity, slashing database, audit log, keys), the event loop with its
 * HTTPS listener and worker pool, and an orderly stop on SIGINT/SIGTERM.
 * The routes are in server_routes.c and server_admin.c.
 */
#include "server_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keyring.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/identity_file.h"
#include "tkms/log.h"
#include "tkms/rng.h"
#include "tkms/secmem.h"

#define PATH_SIZE 4096

double server_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The data directory, created 0700 when absent; refused when others can
 * read it (it holds encrypted secrets and the slashing history). */
static tkms_status open_data_dir(const char *dir, tkms_err *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tkms_fail(err, TKMS_ERR_IO, "data_dir %s: cannot create: %s", dir,
                         strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tkms_fail(err, TKMS_ERR_IO, "data_dir %s: not a directory", dir);
    if ((st.st_mode & 0077) != 0)
        return tkms_fail(err, TKMS_ERR_IO,
                         "data_dir %s: readable by others (mode %03o); chmod 700 it", dir,
                         (unsigned)(st.st_mode & 0777));
    return TKMS_OK;
}

/* Reads D/identity.json, or creates it at first start. */
static tkms_status load_identity(tkms_identity *out, const char *dir, const char *password,
                                 const tkms_kdf_params *params, tkms_err *err)
{
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s", dir, SERVER_IDENTITY_FILE);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        char *json = NULL;
        tkms_status status = tkms_identity_generate(out, tkms_rng_system());
        if (status == TKMS_OK)
            status = tkms_identity_file_encrypt(&json, out, password, params, tkms_rng_system(),
                                                err);
        if (status == TKMS_OK)
            status = tkms_file_write_atomic(path, json, strlen(json), 0600, true, err);
        free(json);
        if (status != TKMS_OK) {
            tkms_identity_wipe(out);
            return tkms_fail(err, status, "identity %s: %s", path,
                             err != NULL ? err->message : "cannot create");
        }
        char hex[TKMS_HEX_SIZE(TKMS_IDENTITY_PUBLIC_SIZE)];
        tkms_hex_encode(hex, out->public_key, TKMS_IDENTITY_PUBLIC_SIZE);
        tkms_log(TKMS_LOG_INFO, "created the server identity", "file=%s identity=%s", path, hex);
        return TKMS_OK;
    }
    tkms_identity_file *file = NULL;
    tkms_status status = tkms_identity_file_read(&file, path, err);
    if (status == TKMS_OK)
        status = tkms_identity_file_decrypt(out, file, password, err);
    tkms_identity_file_free(file);
    return status;
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tkms_server *s = arg;
    tkms_log(TKMS_LOG_INFO, "stopping", "signal=%d", (int)fd);
    event_base_loopexit(s->base, NULL);
}

/* Loads a key a ceremony committed; runs under the admin lock, which the
 * commit route holds (server_routes.c). */
static void on_commit(void *arg, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    tkms_server *s = arg;
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, group_key, TKMS_PUBLIC_KEY_SIZE);
    tkms_err e;
    char reason[512];
    if (keyring_load_key(s->cfg->data_dir, group_key, s->password, s->signer, &e) == TKMS_OK)
        tkms_log(TKMS_LOG_INFO, "key from a ceremony serves", "key=%s", hex);
    else
        tkms_log(TKMS_LOG_ERROR, "key from a ceremony is unavailable", "key=%s reason=%s", hex,
                 tkms_log_quote(reason, sizeof reason, e.message));
}

/* The authorizer the signer consults for every parsed sign request. */
static bool authorize(void *arg, const char *client, tkms_eth2_type type,
                      const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                      char reason[TKMS_ERR_MESSAGE_SIZE])
{
    const tkms_server *s = arg;
    if (server_rules_allow(s->cfg->rules, client, SERVER_OP_SIGN, type, group_key))
        return true;
    server_rules_denial(reason, TKMS_ERR_MESSAGE_SIZE, client, SERVER_OP_SIGN, type, group_key);
    return false;
}

tkms_status tkms_server_open(tkms_server **out, const server_config *cfg, const char *password,
                             tkms_err *err)
{
    *out = NULL;
    /* A file size limit (or a full quota) must make a write fail — and
     * the request be refused — not kill the server. */
    signal(SIGXFSZ, SIG_IGN);
    tkms_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    s->cfg = cfg;
    pthread_mutex_init(&s->admin, NULL);
    s->password = strdup(password);
    s->metrics = server_metrics_new("tkms_server");
    if (s->password == NULL || s->metrics == NULL) {
        tkms_server_free(s);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }

    char path[PATH_SIZE];
    tkms_identity identity;
    memset(&identity, 0, sizeof identity);
    tkms_status st = open_data_dir(cfg->data_dir, err);
    if (st == TKMS_OK)
        st = load_identity(&identity, cfg->data_dir, password, &cfg->keystore, err);
    if (st == TKMS_OK) {
        memcpy(s->identity_public, identity.public_key, TKMS_IDENTITY_PUBLIC_SIZE);
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, SERVER_SLASHING_FILE);
        st = tkms_slashing_open(&s->slashing, path, cfg->genesis_validators_root, err);
    }
    if (st == TKMS_OK) {
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, SERVER_AUDIT_FILE);
        st = tkms_audit_open(&s->audit, path, err);
    }
    if (st == TKMS_OK)
        st = tkms_signer_new(&s->signer, &identity, &cfg->chain, s->slashing, s->audit, err);
    if (st == TKMS_OK && cfg->owner != NULL) {
        ceremony_host_options options = {
            .data_dir = cfg->data_dir,
            .owner = cfg->owner,
            .identity = &identity,
            .password = password,
            .kdf = &cfg->keystore,
            .on_commit = on_commit,
            .on_commit_arg = s,
        };
        st = ceremony_host_new(&s->ceremonies, &options, err);
    }
    tkms_identity_wipe(&identity);
    if (st != TKMS_OK) {
        tkms_server_free(s);
        return st;
    }
    tkms_signer_set_authorizer(s->signer, authorize, s);

    size_t ready = 0, failed = 0;
    st = keyring_load_all(cfg->data_dir, password, s->signer, &ready, &failed, err);
    if (st != TKMS_OK) {
        tkms_server_free(s);
        return st;
    }
    if (failed > 0) {
        json_t *list = keyring_list(cfg->data_dir, s->signer);
        size_t i;
        json_t *entry;
        json_array_foreach(list, i, entry) {
            if (strcmp(json_string_value(json_object_get(entry, "state")), "unavailable") == 0)
            {
                char reason[512];
                tkms_log(TKMS_LOG_ERROR, "key unavailable", "key=%s reason=%s",
                         json_string_value(json_object_get(entry, "pubkey")),
                         tkms_log_quote(reason, sizeof reason,
                                        json_string_value(json_object_get(entry, "reason"))));
            }
        }
        json_decref(list);
    }
    tkms_log(TKMS_LOG_INFO, "keys loaded", "ready=%zu unavailable=%zu", ready, failed);

    s->base = event_base_new();
    if (s->base == NULL) {
        tkms_server_free(s);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create the event loop");
    }
    tkms_http_server_options http = {
        .address = cfg->listen_host,
        .port = cfg->listen_port,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .ca_file = cfg->tls_ca,
        .max_body_size = cfg->max_body_size,
    };
    st = tkms_workpool_new(&s->workers, cfg->workers, err);
    if (st == TKMS_OK)
        st = tkms_http_server_new(&s->http, s->base, &http, server_handle, s, err);
    if (st != TKMS_OK) {
        tkms_server_free(s);
        return st;
    }
    s->on_sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    s->on_sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    if (s->on_sigint == NULL || s->on_sigterm == NULL || event_add(s->on_sigint, NULL) != 0 ||
        event_add(s->on_sigterm, NULL) != 0) {
        tkms_server_free(s);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot watch signals");
    }
    *out = s;
    return TKMS_OK;
}

void tkms_server_inject_invalid_partials(tkms_server *server)
{
    tkms_signer_inject_invalid_partials(server->signer, true);
    tkms_log(TKMS_LOG_WARN, "FAULT INJECTION: this server returns invalid partial signatures",
             NULL);
}

tkms_status tkms_server_inject_delay(tkms_server *server, unsigned delay_ms, tkms_err *err)
{
    if (server->delay != NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "a reply delay is set already");
    tkms_status st = reply_delay_new(&server->delay, delay_ms, server->metrics, err);
    if (st == TKMS_OK)
        tkms_log(TKMS_LOG_WARN,
                 "FAULT INJECTION: this server holds every sign answer before sending it",
                 "delay_ms=%u", delay_ms);
    return st;
}

uint16_t tkms_server_port(const tkms_server *server)
{
    return tkms_http_server_port(server->http);
}

tkms_status tkms_server_run(tkms_server *s, tkms_err *err)
{
    char identity[TKMS_HEX_SIZE(TKMS_IDENTITY_PUBLIC_SIZE)];
    tkms_hex_encode(identity, s->identity_public, TKMS_IDENTITY_PUBLIC_SIZE);
    tkms_log(TKMS_LOG_INFO, "listening", "addr=%s port=%u identity=%s workers=%u",
             s->cfg->listen_host, (unsigned)tkms_server_port(s), identity, s->cfg->workers);
    if (event_base_dispatch(s->base) < 0)
        return tkms_fail(err, TKMS_ERR_IO, "the event loop failed");
    return TKMS_OK;
}

void tkms_server_free(tkms_server *s)
{
    if (s == NULL)
        return;
    /* Finish the work in progress first: jobs reply through the loop,
     * which is no longer running, so their replies are dropped. */
    tkms_workpool_free(s->workers);
    reply_delay_free(s->delay);        /* after the workers: they hand it answers */
    tkms_http_server_free(s->http);
    if (s->on_sigint != NULL)
        event_free(s->on_sigint);
    if (s->on_sigterm != NULL)
        event_free(s->on_sigterm);
    if (s->base != NULL)
        event_base_free(s->base);
    ceremony_host_free(s->ceremonies);
    tkms_signer_free(s->signer);
    tkms_audit_close(s->audit);
    tkms_slashing_close(s->slashing);
    server_metrics_free(s->metrics);
    if (s->password != NULL) {
        tkms_wipe(s->password, strlen(s->password));
        free(s->password);
    }
    pthread_mutex_destroy(&s->admin);
    free(s);
}
