/*
 * server_admin.c — the operator's key lifecycle over mutual TLS: list,
 * import (with optional slashing history), delete (returning the key's
 * slashing interchange), lock and unlock. Each runs on a worker under the
 * server's admin lock, changes the data directory and the signer without
 * a restart, and leaves one audit record per key touched.
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "tkms/hex.h"
#include "tkms/log.h"
#include "tkms/secmem.h"

#define MAX_IMPORT 1024u          /* keystores in one import request */

void server_admin_list(tkms_server *s, tkms_http_request *req)
{
    double started = server_now();
    pthread_mutex_lock(&s->admin);
    json_t *list = keyring_list(s->cfg->data_dir, s->signer);
    pthread_mutex_unlock(&s->admin);
    server_reply_json(s, req, SERVER_ROUTE_ADMIN, 200,
                      list != NULL ? json_pack("{s:o}", "data", list) : NULL, started);
}

typedef struct {
    const char *json;
    size_t len;
} interchange;

static tkms_status import_interchange(tkms_slashing_db *slashing, tkms_audit *audit, void *arg,
                                      tkms_err *err)
{
    (void)audit;
    const interchange *in = arg;
    return tkms_slashing_import(slashing, in->json, in->len, err);
}

/* The import body's shape, checked before anything is changed. */
static bool import_shape(json_t *body, json_t **keystores, json_t **passwords,
                         const char **slashing, char *reason, size_t size)
{
    *keystores = json_object_get(body, "keystores");
    *passwords = json_object_get(body, "passwords");
    json_t *history = json_object_get(body, "slashing_protection");
    *slashing = json_string_value(history);
    if (!json_is_object(body))
        snprintf(reason, size, "the body must be a JSON object");
    else if (!json_is_array(*keystores) || json_array_size(*keystores) == 0 ||
             json_array_size(*keystores) > MAX_IMPORT)
        snprintf(reason, size, "keystores: expected an array of 1..%u keystore strings",
                 MAX_IMPORT);
    else if (!json_is_array(*passwords) ||
             json_array_size(*passwords) != json_array_size(*keystores))
        snprintf(reason, size, "passwords: expected an array of one password per keystore");
    else if (history != NULL && *slashing == NULL)
        snprintf(reason, size, "slashing_protection: expected the interchange as a string");
    else {
        size_t i;
        json_t *value;
        json_array_foreach(*keystores, i, value) {
            if (!json_is_string(value)) {
                snprintf(reason, size, "keystores[%zu]: expected a string", i);
                return false;
            }
            if (!json_is_string(json_array_get(*passwords, i))) {
                snprintf(reason, size, "passwords[%zu]: expected a string", i);
                return false;
            }
        }
        return true;
    }
    return false;
}

/* Frees a parsed import body and wipes what held the keystores'
 * passwords: the parsed strings and the request's own copy of the body. */
static void free_import_body(json_t *body, const char *text, size_t len)
{
    json_t *password;
    size_t i;
    json_array_foreach(json_object_get(body, "passwords"), i, password) {
        if (json_is_string(password))
            tkms_wipe((void *)json_string_value(password), json_string_length(password));
    }
    json_decref(body);
    tkms_wipe((void *)text, len);
}

void server_admin_import(tkms_server *s, tkms_http_request *req)
{
    double started = server_now();
    const char *client = tkms_http_request_client(req);
    size_t len;
    const char *text = (const char *)tkms_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    char reason[TKMS_ERR_MESSAGE_SIZE];
    json_t *keystores, *passwords;
    const char *history;
    if (body == NULL) {
        tkms_wipe((void *)text, len);
        snprintf(reason, sizeof reason, "malformed JSON: %.150s (line %d)", jerr.text,
                 jerr.line);
        server_audit(s, "admin", client, "import", "", "error", reason);
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 400, reason, started);
        return;
    }
    if (!import_shape(body, &keystores, &passwords, &history, reason, sizeof reason)) {
        free_import_body(body, text, len);
        server_audit(s, "admin", client, "import", "", "error", reason);
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 400, reason, started);
        return;
    }

    pthread_mutex_lock(&s->admin);
    tkms_err e;
    if (history != NULL) {
        interchange in = {history, json_string_length(json_object_get(body,
                                                                      "slashing_protection"))};
        if (tkms_signer_with_records(s->signer, import_interchange, &in, &e) != TKMS_OK) {
            pthread_mutex_unlock(&s->admin);
            snprintf(reason, sizeof reason, "slashing_protection: %.200s", e.message);
            free_import_body(body, text, len);
            server_audit(s, "admin", client, "import", "", "error", reason);
            server_reply_error(s, req, SERVER_ROUTE_ADMIN,
                               e.status == TKMS_ERR_IO ? 503 : 400, reason, started);
            return;
        }
        server_audit(s, "admin", client, "import-slashing-protection", "", "ok", "");
    }
    json_t *results = json_array();
    size_t i;
    json_t *keystore;
    json_array_foreach(keystores, i, keystore) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE] = {0};
        char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)] = "";
        tkms_status st = keyring_import(s->cfg->data_dir, json_string_value(keystore),
                                        json_string_length(keystore),
                                        json_string_value(json_array_get(passwords, i)),
                                        s->password, &s->cfg->keystore, s->signer, key, &e);
        if (st != TKMS_ERR_BAD_FORMAT && st != TKMS_ERR_UNSUPPORTED)
            tkms_hex_encode(hex, key, sizeof key);
        const char *status = st == TKMS_OK                    ? "imported"
                             : st == TKMS_ERR_DUPLICATE_INDEX ? "duplicate"
                                                              : "error";
        json_array_append_new(results, json_pack("{s:s, s:s}", "status", status, "message",
                                                 st == TKMS_OK ? "" : e.message));
        server_audit(s, "admin", client, "import", hex, status, st == TKMS_OK ? "" : e.message);
        tkms_log(st == TKMS_OK ? TKMS_LOG_INFO : TKMS_LOG_WARN, "import", "key=%s status=%s",
                 hex[0] ? hex : "?", status);
    }
    pthread_mutex_unlock(&s->admin);
    free_import_body(body, text, len);
    server_reply_json(s, req, SERVER_ROUTE_ADMIN, 200,
                      results != NULL ? json_pack("{s:o}", "data", results) : NULL, started);
}

typedef struct {
    const uint8_t *key;
    char *interchange;
} deletion;

static tkms_status delete_history(tkms_slashing_db *slashing, tkms_audit *audit, void *arg,
                                  tkms_err *err)
{
    (void)audit;
    deletion *d = arg;
    return tkms_slashing_delete_key(slashing, d->key, &d->interchange, err);
}

void server_admin_delete(tkms_server *s, tkms_http_request *req, const uint8_t *key)
{
    double started = server_now();
    const char *client = tkms_http_request_client(req);
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    tkms_err e;
    pthread_mutex_lock(&s->admin);
    if (!keyring_has_key(s->cfg->data_dir, key)) {
        pthread_mutex_unlock(&s->admin);
        server_audit(s, "admin", client, "delete", hex, "error", "unknown key");
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 404, "unknown key", started);
        return;
    }
    /* Stop signing first, then close the history (durably, returning the
     * interchange), then remove the files. */
    tkms_signer_mark_key(s->signer, key, TKMS_SIGNER_KEY_LOCKED, NULL);
    deletion d = {key, NULL};
    tkms_status st = tkms_signer_with_records(s->signer, delete_history, &d, &e);
    if (st != TKMS_OK) {
        /* nothing changed: the key serves again */
        keyring_load_key(s->cfg->data_dir, key, s->password, s->signer, NULL);
    } else if ((st = keyring_delete(s->cfg->data_dir, key, s->signer, &e)) != TKMS_OK) {
        /* the history is closed but the files stay: keep the key locked,
         * also across a restart, until a repeated delete removes them */
        keyring_set_locked(s->cfg->data_dir, key, true, s->password, s->signer, NULL);
    }
    pthread_mutex_unlock(&s->admin);
    server_audit(s, "admin", client, "delete", hex, st == TKMS_OK ? "ok" : "error",
                 st == TKMS_OK ? "" : e.message);
    if (st != TKMS_OK) {
        free(d.interchange);
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 503, e.message, started);
        return;
    }
    tkms_log(TKMS_LOG_INFO, "key deleted", "key=%s", hex);
    json_t *reply = json_pack("{s:s, s:s}", "status", "deleted", "slashing_protection",
                              d.interchange);
    free(d.interchange);
    server_reply_json(s, req, SERVER_ROUTE_ADMIN, 200, reply, started);
}

void server_admin_lock(tkms_server *s, tkms_http_request *req, const uint8_t *key, bool locked)
{
    double started = server_now();
    const char *client = tkms_http_request_client(req);
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    tkms_err e;
    pthread_mutex_lock(&s->admin);
    tkms_status st = keyring_set_locked(s->cfg->data_dir, key, locked, s->password, s->signer,
                                        &e);
    char reason[TKMS_ERR_MESSAGE_SIZE] = "";
    tkms_signer_key_state state = tkms_signer_key_state_of(s->signer, key, reason);
    pthread_mutex_unlock(&s->admin);
    const char *action = locked ? "lock" : "unlock";
    server_audit(s, "admin", client, action, hex, st == TKMS_OK ? "ok" : "error",
                 st == TKMS_OK ? "" : e.message);
    if (st == TKMS_ERR_NOT_FOUND) {
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 404, "unknown key", started);
        return;
    }
    if (st != TKMS_OK && state != TKMS_SIGNER_KEY_UNAVAILABLE) {
        server_reply_error(s, req, SERVER_ROUTE_ADMIN, 503, e.message, started);
        return;
    }
    static const char *const names[] = {"ready", "locked", "unavailable"};
    server_reply_json(s, req, SERVER_ROUTE_ADMIN, 200,
                      json_pack("{s:s, s:s}", "status", names[state], "reason", reason),
                      started);
}
