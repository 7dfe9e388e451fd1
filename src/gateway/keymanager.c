/*
 * keymanager.c — the keymanager API at the gateway (GET/POST/DELETE
 * /eth/v1/keystores): an imported key is split among the threshold
 * servers and forgotten; a deleted key stops being served, leaves the
 * registry once no sign request uses it, and returns its merged slashing
 * history. Contract in keymanager.h.
 *
 * Each POST or DELETE is one `km_op`, run one at a time. An op moves
 * between three places and is in exactly one of them at any moment:
 *   - the event loop (steps named after what they decide: the registry,
 *     the retired set, replies);
 *   - the keymanager's worker thread (`to_worker`: keystores, KDFs,
 *     splitting, the blocking calls to the servers, the scratch database);
 *   - the records worker (`to_records`: the gateway's slashing database,
 *     which it has to itself there — gateway_internal.h).
 * A worker part always ends by posting the op back to the loop (its
 * loop_queue_item), so the next step runs there; when the gateway is
 * stopping, a step that would leave the loop answers instead.
 *
 * Secrets live only on the keymanager's worker: the decrypted key (in the
 * op, wiped as soon as it is split), the shares (wiped once encrypted) and
 * the servers' request bodies holding the random share passwords (wiped
 * once sent). The loop sees public data only.
 */
#include "keymanager.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "tkms/ceremony_output.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"
#include "tkms/keystore.h"
#include "tkms/log.h"
#include "tkms/owners.h"
#include "tkms/rng.h"
#include "tkms/secmem.h"
#include "tkms/shamir.h"
#include "tkms/slashing.h"

#define TOKEN_FILE_MAX_SIZE 4096u
#define MESSAGE_SIZE 640
#define PASSWORD_BYTES 32                   /* a share keystore's random password */
#define DRAIN_TICK_MS 10
#define DRAIN_MARGIN_MS 1000
#define HEALTH_CALL_MAX_MS 2000u            /* gateway.c's health checks: at most this */
#define SERVER_RESPONSE_MAX (2u * TKMS_SLASHING_INTERCHANGE_MAX_SIZE + 1024u * 1024u)
#define KEY_HEX_SIZE TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)

typedef enum { KM_IMPORT, KM_DELETE } km_kind;

typedef enum {
    KM_ERROR = 0,
    KM_IMPORTED,
    KM_DUPLICATE,
    KM_DELETED,
    KM_NOT_ACTIVE,
    KM_NOT_FOUND,
} km_status;

static const char *const STATUS_NAMES[] = {"error",   "imported",   "duplicate",
                                           "deleted", "not_active", "not_found"};

typedef struct {
    km_status status;
    char message[MESSAGE_SIZE];
} km_result;

/* What a DELETE learns about one of its keys. */
typedef struct {
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    char hex[KEY_HEX_SIZE];
    size_t same_as;             /* 1 + the earlier position of the same key, or 0 */
    bool invalid;               /* not a BLS public key: nobody can hold it        */
    bool served;                /* in the registry when the DELETE began          */
    char *gateway_history;      /* the gateway's interchange for the key, or NULL  */
    char note[MESSAGE_SIZE];    /* what failed so far ("; "-separated)             */
} km_delete_key;

typedef struct km_op km_op;
typedef void (*km_step)(km_op *op);
typedef void (*km_db_step)(km_op *op, tkms_slashing_db *db);

struct km_op {
    struct gateway_keymanager *km;
    struct tkms_gateway *g;
    tkms_http_request *req;
    double started;
    km_kind kind;
    km_op *next;                /* the waiting list                                */
    loop_queue_item item;       /* back to the loop after a worker part            */
    km_step work, then;         /* the keymanager worker's part, then the loop's    */
    km_db_step db_work;         /* the records worker's part                        */
    bool barrier;               /* db_work hands back through records.loop          */

    int http_status;            /* non-zero: the whole request failed with `reason` */
    char reason[MESSAGE_SIZE];
    json_t *body;               /* the parsed request                               */
    size_t count, at;           /* keystores or pubkeys; the one under way (import) */
    km_result *results;         /* [count]                                          */
    tkms_slashing_db *scratch;  /* keymanager worker only                           */

    /* POST: the keystore under way (op->at). */
    bool skip;                  /* its result is set: go on to the next one         */
    bool has_secret;
    tkms_secret_key secret;
    uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE];
    char hex[KEY_HEX_SIZE];
    uint32_t threshold;
    char *group_json;           /* public                                           */
    char *history;              /* the key's interchange (public)                   */
    char **bodies;              /* [server_count] POST /v1/keys bodies: passwords!  */
    bool *imported;             /* [server_count] the server holds its share now    */

    /* DELETE */
    km_delete_key *keys;        /* [count]                                          */
    double drain_deadline;
    bool sign_marked;           /* sign_mark taken (the removal rule's step 2)      */
    uint64_t sign_mark;
    char *response;
};

struct gateway_keymanager {
    struct tkms_gateway *g;
    uint8_t token_hash[crypto_generichash_BYTES];
    tkms_workpool *pool;        /* one thread: the keymanager's worker              */
    loop_queue *loop;           /* its way back to the loop                          */
    struct event *drain;        /* ticks while a DELETE waits for its entries        */
    km_op *active;              /* the op under way (loop thread)                    */
    km_op *head, *tail;         /* waiting ops                                       */
    size_t waiting;
    uint8_t (*retired)[TKMS_PUBLIC_KEY_SIZE];   /* keys no longer served              */
    size_t retired_count, retired_capacity;
};

static void start_next(struct gateway_keymanager *km);

__attribute__((format(printf, 3, 4))) static void appendf(char *buf, size_t size,
                                                          const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Appends "; " and a message to a note. */
__attribute__((format(printf, 3, 4))) static void notef(char *note, size_t size,
                                                        const char *fmt, ...)
{
    char part[MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(part, sizeof part, fmt, ap);
    va_end(ap);
    appendf(note, size, "%s%s", note[0] ? "; " : "", part);
}

/* ---- retired keys (loop thread) --------------------------------------------- */

static size_t retired_at(const struct gateway_keymanager *km,
                         const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    for (size_t i = 0; i < km->retired_count; i++)
        if (memcmp(km->retired[i], key, TKMS_PUBLIC_KEY_SIZE) == 0)
            return i;
    return km->retired_count;
}

bool gateway_keymanager_retired(const struct tkms_gateway *g,
                                const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    const struct gateway_keymanager *km = g->keymanager;
    return km != NULL && km->retired_count > 0 && retired_at(km, key) < km->retired_count;
}

static bool retire(struct gateway_keymanager *km, const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    if (retired_at(km, key) < km->retired_count)
        return true;
    if (km->retired_count == km->retired_capacity) {
        size_t capacity = km->retired_capacity ? 2 * km->retired_capacity : 8;
        void *grown = realloc(km->retired, capacity * sizeof *km->retired);
        if (grown == NULL)
            return false;
        km->retired = grown;
        km->retired_capacity = capacity;
    }
    memcpy(km->retired[km->retired_count++], key, TKMS_PUBLIC_KEY_SIZE);
    return true;
}

static void unretire(struct gateway_keymanager *km, const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    size_t at = retired_at(km, key);
    if (at == km->retired_count)
        return;
    memmove(km->retired[at], km->retired[at + 1],
            (km->retired_count - at - 1) * sizeof *km->retired);
    km->retired_count--;
}

/* ---- replies (loop thread) ---------------------------------------------------- */

static void reply_message(struct tkms_gateway *g, tkms_http_request *req, int status,
                          const char *message, double started)
{
    json_t *doc = json_pack("{s:s}", "message", message);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    gateway_reply_text(g, req, SERVER_ROUTE_ADMIN, text != NULL ? status : 500,
                       "application/json",
                       text != NULL ? text : "{\"message\":\"out of memory\"}", started);
    free(text);
}

/* Replies with `doc` (taken), or 500. */
static void reply_doc(struct tkms_gateway *g, tkms_http_request *req, json_t *doc,
                      double started)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        reply_message(g, req, 500, "out of memory", started);
        return;
    }
    gateway_reply_text(g, req, SERVER_ROUTE_ADMIN, 200, "application/json", text, started);
    free(text);
}

/* ---- an op's life --------------------------------------------------------------- */

/* Wipes the secrets of the keystore under way and frees what it made. */
static void import_clear(km_op *op)
{
    if (op->has_secret)
        tkms_secret_key_wipe(&op->secret);
    op->has_secret = false;
    if (op->bodies != NULL) {
        for (size_t s = 0; s < op->g->cfg->server_count; s++) {
            if (op->bodies[s] != NULL)
                tkms_wipe(op->bodies[s], strlen(op->bodies[s]));
            free(op->bodies[s]);
        }
    }
    free(op->bodies);
    op->bodies = NULL;
    free(op->imported);
    op->imported = NULL;
    free(op->group_json);
    op->group_json = NULL;
    free(op->history);
    op->history = NULL;
    op->skip = false;
}

/* Wipes the passwords of a parsed POST body. */
static void wipe_passwords(json_t *body)
{
    json_t *passwords = json_object_get(body, "passwords"), *password;
    size_t i;
    json_array_foreach(passwords, i, password) {
        if (json_is_string(password))
            tkms_wipe((void *)json_string_value(password), json_string_length(password));
    }
}

static void op_free(km_op *op)
{
    if (op == NULL)
        return;
    import_clear(op);
    if (op->body != NULL)
        wipe_passwords(op->body);
    json_decref(op->body);
    for (size_t i = 0; op->keys != NULL && i < op->count; i++)
        free(op->keys[i].gateway_history);
    free(op->keys);
    free(op->results);
    free(op->response);
    tkms_slashing_close(op->scratch);
    free(op);
}

/* Answers the op and frees it (loop thread, or the closing thread). */
static void op_reply(km_op *op)
{
    struct tkms_gateway *g = op->g;
    if (op->http_status != 0) {
        reply_message(g, op->req, op->http_status, op->reason, op->started);
    } else if (op->kind == KM_DELETE && op->response != NULL) {
        gateway_reply_text(g, op->req, SERVER_ROUTE_ADMIN, 200, "application/json",
                           op->response, op->started);
    } else if (op->kind == KM_IMPORT) {
        json_t *data = json_array();
        for (size_t i = 0; data != NULL && i < op->count; i++)
            json_array_append_new(data, json_pack("{s:s, s:s}", "status",
                                                  STATUS_NAMES[op->results[i].status],
                                                  "message", op->results[i].message));
        reply_doc(g, op->req, data != NULL ? json_pack("{s:o}", "data", data) : NULL,
                  op->started);
    } else {
        reply_message(g, op->req, 500, "the deletion ended without a result", op->started);
    }
    op_free(op);
}

/* The op is done: answer it and start the next one. */
static void op_finish(km_op *op)
{
    struct gateway_keymanager *km = op->km;
    if (km->active == op)
        km->active = NULL;
    op_reply(op);
    start_next(km);
}

/* Ends the op early: what is not decided yet fails with `reason`. */
static void op_abort(km_op *op, const char *reason)
{
    if (op->kind == KM_IMPORT && op->results != NULL && op->http_status == 0) {
        for (size_t i = op->at; i < op->count; i++) {
            op->results[i].status = KM_ERROR;
            snprintf(op->results[i].message, sizeof op->results[i].message, "%s", reason);
        }
        op->at = op->count;
    } else if (op->http_status == 0) {
        op->http_status = 503;
        snprintf(op->reason, sizeof op->reason, "%s", reason);
    }
    op_finish(op);
}

static void on_loop(void *arg)
{
    km_op *op = arg;
    km_step then = op->then;
    op->then = NULL;
    then(op);
}

static void worker_job(void *arg)
{
    km_op *op = arg;
    op->work(op);
    loop_queue_post(op->km->loop, &op->item, on_loop, op);
}

static void records_job(void *arg)
{
    km_op *op = arg;
    op->db_work(op, op->g->records.db);
    loop_queue_post(op->barrier ? op->g->records.loop : op->km->loop, &op->item, on_loop, op);
}

/* Loop thread: work(op) on the keymanager's worker, then then(op) here. */
static void to_worker(km_op *op, km_step work, km_step then)
{
    if (op->g->stopping) {
        op_abort(op, "the gateway is stopping");
        return;
    }
    op->work = work;
    op->then = then;
    if (tkms_workpool_submit(op->km->pool, worker_job, op) != TKMS_OK)
        op_abort(op, "out of memory: the keymanager's work could not be queued");
}

/* Loop thread: work(op, db) on the records worker, with the gateway's
 * slashing database to itself; then then(op) here — after every request
 * the commit jobs before it handed back, when `barrier`. */
static void to_records(km_op *op, km_db_step work, bool barrier, km_step then)
{
    if (op->g->stopping) {
        op_abort(op, "the gateway is stopping");
        return;
    }
    op->db_work = work;
    op->barrier = barrier;
    op->then = then;
    if (tkms_workpool_submit(op->g->records.pool, records_job, op) != TKMS_OK)
        op_abort(op, "out of memory: the slashing database work could not be queued");
}

/* ---- shared worker helpers ------------------------------------------------------ */

static void fail_request(km_op *op, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_request(km_op *op, int status, const char *fmt, ...)
{
    op->http_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->reason, sizeof op->reason, fmt, ap);
    va_end(ap);
}

/* Parses the request body (worker). False with the op failed (400). */
static bool parse_body(km_op *op, bool wipe)
{
    size_t len = 0;
    const char *text = tkms_http_request_body(op->req, &len);
    json_error_t jerr;
    op->body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (wipe)       /* the passwords are in it; the request owns the buffer */
        tkms_wipe((void *)text, len);
    if (op->body == NULL) {
        /* Not jansson's text: it may quote the input, passwords included. */
        fail_request(op, 400, "malformed JSON body (line %d, column %d)", jerr.line,
                     jerr.column);
        return false;
    }
    if (!json_is_object(op->body)) {
        fail_request(op, 400, "the body must be a JSON object");
        return false;
    }
    return true;
}

static bool open_scratch(km_op *op)
{
    tkms_err e;
    if (tkms_slashing_open(&op->scratch, ":memory:", op->g->cfg->genesis_validators_root, &e) ==
        TKMS_OK)
        return true;
    fail_request(op, 500, "cannot open a scratch slashing database: %.300s", e.message);
    return false;
}

static tkms_http_client *server_client(struct tkms_gateway *g, tkms_err *err)
{
    tkms_http_client_options opt = {
        .ca_file = g->cfg->servers_tls_ca,
        .cert_file = g->cfg->servers_tls_cert,
        .key_file = g->cfg->servers_tls_key,
        .timeout_ms = GATEWAY_KEYMANAGER_SERVER_TIMEOUT_MS,
        .max_response_size = SERVER_RESPONSE_MAX,
    };
    tkms_http_client *c = NULL;
    if (tkms_http_client_new(&c, &opt, err) != TKMS_OK)
        return NULL;
    return c;
}

/* The reason in a server's error body ({"error": …}), shortened. */
static void server_reason(char *out, size_t size, const tkms_http_response *r)
{
    json_t *j = json_loadb(r->body != NULL ? r->body : "", r->body_len, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "error"));
    snprintf(out, size, "%.200s", text != NULL ? text : "no reason given");
    json_decref(j);
}

/* DELETE /v1/keys/0xKEY at server s: 200 with *history set (the server's
 * interchange, malloc'ed), 404, another status (reason in why), or 0 when
 * the call itself failed (why). */
static long delete_at(struct tkms_gateway *g, tkms_http_client *c, size_t s, const char *hex,
                      char **history, char *why, size_t why_size)
{
    *history = NULL;
    char url[700];
    snprintf(url, sizeof url, "%s/v1/keys/%s", g->cfg->servers[s].url, hex);
    tkms_http_response r;
    tkms_err e;
    if (tkms_http_client_request(c, "DELETE", url, NULL, NULL, 0, &r, &e) != TKMS_OK) {
        snprintf(why, why_size, "%.300s", e.message);
        return 0;
    }
    long status = r.status;
    if (status == 200) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        json_t *text = json_object_get(j, "slashing_protection");
        if (json_is_string(text))
            *history = strndup(json_string_value(text), json_string_length(text));
        if (*history == NULL) {
            snprintf(why, why_size, "deleted, but its answer holds no slashing history");
            status = -1;
        }
        json_decref(j);
    } else if (status != 404) {
        char reason[256];
        server_reason(reason, sizeof reason, &r);
        snprintf(why, why_size, "HTTP %ld: %s", status, reason);
    }
    tkms_http_response_free(&r);
    return status;
}

/* ---- POST: import ------------------------------------------------------------------ */

static km_result *current(km_op *op)
{
    return &op->results[op->at];
}

__attribute__((format(printf, 3, 4))) static void set_result(km_op *op, km_status status,
                                                             const char *fmt, ...)
{
    km_result *r = current(op);
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    op->skip = true;
}

/* Worker: the body's shape and the slashing history, before anything. */
static void import_parse(km_op *op)
{
    if (!parse_body(op, true))
        return;
    json_t *keystores = json_object_get(op->body, "keystores");
    json_t *passwords = json_object_get(op->body, "passwords");
    json_t *history = json_object_get(op->body, "slashing_protection");
    size_t count = json_array_size(keystores);
    if (!json_is_array(keystores) || count == 0 || count > GATEWAY_KEYMANAGER_MAX_KEYS) {
        fail_request(op, 400, "keystores: expected an array of 1..%u keystore strings",
                     GATEWAY_KEYMANAGER_MAX_KEYS);
        return;
    }
    if (!json_is_array(passwords) || json_array_size(passwords) != count) {
        fail_request(op, 400, "passwords: expected an array of one password per keystore");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (!json_is_string(json_array_get(keystores, i))) {
            fail_request(op, 400, "keystores[%zu]: expected a string (the keystore's JSON)", i);
            return;
        }
        if (!json_is_string(json_array_get(passwords, i))) {
            fail_request(op, 400, "passwords[%zu]: expected a string", i);
            return;
        }
    }
    if (history != NULL && !json_is_null(history) && !json_is_string(history)) {
        fail_request(op, 400, "slashing_protection: expected the EIP-3076 interchange as a "
                              "string");
        return;
    }
    op->results = calloc(count, sizeof *op->results);
    if (op->results == NULL) {
        fail_request(op, 500, "out of memory");
        return;
    }
    op->count = count;
    if (!open_scratch(op))
        return;
    if (json_is_string(history)) {
        tkms_err e;
        tkms_status st = tkms_slashing_import(op->scratch, json_string_value(history),
                                              json_string_length(history), &e);
        if (st != TKMS_OK)
            fail_request(op, st == TKMS_ERR_NO_MEMORY ? 500 : 400,
                         "slashing_protection: %.400s (nothing was imported)", e.message);
    }
}

/* Worker: reads and decrypts keystore op->at. */
static void import_open(km_op *op)
{
    size_t i = op->at;
    json_t *text = json_array_get(json_object_get(op->body, "keystores"), i);
    json_t *password = json_array_get(json_object_get(op->body, "passwords"), i);
    tkms_keystore *ks = NULL;
    tkms_err e;
    tkms_status st = tkms_keystore_parse(&ks, json_string_value(text), json_string_length(text),
                                         &e);
    if (st != TKMS_OK) {
        set_result(op, KM_ERROR, "keystores[%zu]: %.400s", i, e.message);
        return;
    }
    const tkms_share_info *share = tkms_keystore_share_info(ks);
    if (share != NULL) {
        char group[KEY_HEX_SIZE];
        uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
        tkms_public_key_to_bytes(bytes, &share->group_key);
        tkms_hex_encode(group, bytes, sizeof bytes);
        set_result(op, KM_ERROR,
                   "keystores[%zu] is a tkms share keystore (share %u of %u of key %s): only "
                   "whole validator keys are imported here",
                   i, share->index, share->share_count, group);
        tkms_keystore_free(ks);
        return;
    }
    st = tkms_keystore_decrypt(ks, json_string_value(password), &op->secret, &e);
    tkms_keystore_free(ks);
    if (st == TKMS_ERR_BAD_PASSWORD) {
        set_result(op, KM_ERROR, "wrong password for keystores[%zu] (passwords[%zu])", i, i);
        return;
    }
    if (st != TKMS_OK) {
        set_result(op, KM_ERROR, "keystores[%zu]: cannot decrypt: %.400s", i, e.message);
        return;
    }
    op->has_secret = true;
    tkms_public_key pk;
    tkms_public_key_from_secret(&pk, &op->secret);
    tkms_public_key_to_bytes(op->pubkey, &pk);
    tkms_hex_encode(op->hex, op->pubkey, sizeof op->pubkey);
}

/* One server's POST /v1/keys body: its share as a share keystore under a
 * fresh random password, the password, and the key's history. NULL with
 * err on failure. The caller wipes and frees the result. */
static char *share_body(const tkms_group *group, const tkms_share *share, const char *owner,
                        const char *history, const tkms_kdf_params *params, tkms_err *err)
{
    uint8_t raw[PASSWORD_BYTES];
    char password[TKMS_HEX_SIZE(PASSWORD_BYTES)];
    if (tkms_rng_system()->fill(tkms_rng_system(), raw, sizeof raw) != TKMS_OK) {
        tkms_fail(err, TKMS_ERR_RNG, "the system's random number generator failed");
        return NULL;
    }
    tkms_hex_encode(password, raw, sizeof raw);
    tkms_wipe(raw, sizeof raw);
    char *keystore = NULL, *text = NULL;
    tkms_status st =
        tkms_share_keystore_encrypt(&keystore, group, share, owner, password, params, err);
    if (st == TKMS_OK) {
        json_t *doc = json_pack("{s:[s], s:[s], s:s}", "keystores", keystore, "passwords",
                                password, "slashing_protection", history);
        text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_t *copy = json_array_get(json_object_get(doc, "passwords"), 0);
        if (json_is_string(copy))
            tkms_wipe((void *)json_string_value(copy), json_string_length(copy));
        json_decref(doc);
        if (text == NULL)
            tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    if (keystore != NULL)
        tkms_wipe(keystore, strlen(keystore));
    free(keystore);
    tkms_wipe(password, sizeof password);
    return text;
}

/* Worker: splits the key among the servers and prepares each server's
 * request; the key and the shares are wiped here. */
static void import_split(km_op *op)
{
    const gateway_config *cfg = op->g->cfg;
    size_t n = cfg->server_count;
    if (n < 2) {
        tkms_secret_key_wipe(&op->secret);
        op->has_secret = false;
        set_result(op, KM_ERROR,
                   "the gateway has one server: a key split 1-of-1 would be whole at that "
                   "server; configure at least two");
        return;
    }
    uint32_t k = (uint32_t)(n / 2 + 1);
    const char **ids = calloc(n, sizeof *ids);
    uint32_t *ones = calloc(n, sizeof *ones);
    tkms_share *shares = calloc(n, sizeof *shares);
    op->bodies = calloc(n, sizeof *op->bodies);
    op->imported = calloc(n, sizeof *op->imported);
    tkms_owner_map *owners = NULL;
    tkms_group *group = NULL;
    tkms_err e;
    tkms_err_clear(&e);
    tkms_status st = TKMS_OK;
    if (ids == NULL || ones == NULL || shares == NULL || op->bodies == NULL ||
        op->imported == NULL)
        st = tkms_fail(&e, TKMS_ERR_NO_MEMORY, "out of memory");
    for (size_t s = 0; st == TKMS_OK && s < n; s++) {
        ids[s] = cfg->servers[s].name;
        ones[s] = 1;
    }
    if (st == TKMS_OK)
        st = tkms_owner_map_new(&owners, ids, ones, n, &e);
    if (st == TKMS_OK && tkms_split(&group, shares, &op->secret, k, (uint32_t)n,
                                    tkms_rng_system()) != TKMS_OK)
        st = tkms_fail(&e, TKMS_ERR_NO_MEMORY, "the key could not be split");
    tkms_secret_key_wipe(&op->secret);          /* the shares are all that is left */
    op->has_secret = false;
    if (st == TKMS_OK && tkms_group_file_format(&op->group_json, group, owners) != TKMS_OK)
        st = tkms_fail(&e, TKMS_ERR_NO_MEMORY, "out of memory");
    if (st == TKMS_OK)
        st = tkms_slashing_export(op->scratch, &op->history,
                                  (const uint8_t(*)[TKMS_PUBLIC_KEY_SIZE])op->pubkey, 1, &e);
    for (size_t s = 0; st == TKMS_OK && s < n; s++) {
        const tkms_owner *owner = tkms_owner_find(owners, cfg->servers[s].name);
        op->bodies[s] = share_body(group, &shares[owner->first_index - 1], owner->id,
                                   op->history, &cfg->keystore, &e);
        if (op->bodies[s] == NULL)
            st = e.status != TKMS_OK ? e.status : TKMS_ERR_NO_MEMORY;
    }
    if (shares != NULL) {
        for (size_t s = 0; s < n; s++)
            tkms_share_wipe(&shares[s]);
    }
    free(shares);
    free(ids);
    free(ones);
    tkms_group_free(group);
    tkms_owner_map_free(owners);
    op->threshold = k;
    if (st != TKMS_OK)
        set_result(op, KM_ERROR, "key %s could not be split: %.400s", op->hex, e.message);
}

/* Records worker: the key's history into the gateway's own database. */
static void import_gateway_history(km_op *op, tkms_slashing_db *db)
{
    tkms_err e;
    if (tkms_slashing_import(db, op->history, strlen(op->history), &e) != TKMS_OK)
        set_result(op, KM_ERROR, "the gateway's slashing database: %.400s (nothing was imported)",
                   e.message);
}

/* Worker: deletes the key again at every server that imported it; the
 * outcome goes into `note`. */
static void rollback(km_op *op, tkms_http_client *c, char *note, size_t size)
{
    const gateway_config *cfg = op->g->cfg;
    char kept[MESSAGE_SIZE] = "", undone[MESSAGE_SIZE] = "";
    for (size_t s = 0; s < cfg->server_count; s++) {
        if (!op->imported[s])
            continue;
        char why[400] = "", *history = NULL;
        long status = c != NULL ? delete_at(op->g, c, s, op->hex, &history, why, sizeof why) : 0;
        free(history);
        if (status == 200 || status == 404) {
            op->imported[s] = false;
            appendf(undone, sizeof undone, "%s%s", undone[0] ? ", " : "", cfg->servers[s].name);
        } else {
            appendf(kept, sizeof kept, "%s%s (%s)", kept[0] ? ", " : "", cfg->servers[s].name,
                    c != NULL ? why : "no client");
        }
    }
    if (undone[0])
        notef(note, size, "the shares imported at %s were deleted again", undone);
    if (kept[0])
        notef(note, size, "the shares at %s could NOT be deleted again: delete key %s there",
              kept, op->hex);
    if (!undone[0] && !kept[0])
        notef(note, size, "no server kept a share");
}

/* Worker: sends each server its share; all must answer "imported". */
static void import_distribute(km_op *op)
{
    const gateway_config *cfg = op->g->cfg;
    tkms_err e;
    tkms_http_client *c = server_client(op->g, &e);
    char failure[MESSAGE_SIZE] = "";
    if (c == NULL)
        snprintf(failure, sizeof failure, "cannot reach the servers: %.300s", e.message);
    for (size_t s = 0; c != NULL && s < cfg->server_count && !failure[0]; s++) {
        char url[700];
        snprintf(url, sizeof url, "%s/v1/keys", cfg->servers[s].url);
        tkms_http_response r;
        /* Until the server says otherwise it may have stored the share (a
         * timeout after the write): a rollback must ask it to delete. */
        op->imported[s] = true;
        tkms_status st = tkms_http_client_request(c, "POST", url, "application/json",
                                                  op->bodies[s], strlen(op->bodies[s]), &r, &e);
        tkms_wipe(op->bodies[s], strlen(op->bodies[s]));    /* it held the password */
        if (st != TKMS_OK) {
            snprintf(failure, sizeof failure, "server %s: %.300s", cfg->servers[s].name,
                     e.message);
            continue;
        }
        json_t *j = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        json_t *first = json_array_get(json_object_get(j, "data"), 0);
        const char *status = json_string_value(json_object_get(first, "status"));
        const char *message = json_string_value(json_object_get(first, "message"));
        op->imported[s] = r.status == 200 && status != NULL && strcmp(status, "imported") == 0;
        if (r.status != 200) {
            char reason[256];
            server_reason(reason, sizeof reason, &r);
            snprintf(failure, sizeof failure, "server %s: HTTP %ld: %s", cfg->servers[s].name,
                     r.status, reason);
        } else if (status == NULL || strcmp(status, "imported") != 0) {
            snprintf(failure, sizeof failure, "server %s: %.20s: %.300s", cfg->servers[s].name,
                     status != NULL ? status : "no status",
                     message != NULL ? message : "no reason given");
        }
        json_decref(j);
        tkms_http_response_free(&r);
    }
    if (failure[0]) {
        char note[MESSAGE_SIZE] = "";
        rollback(op, c, note, sizeof note);
        set_result(op, KM_ERROR, "%s; %s", failure, note);
    }
    tkms_http_client_free(c);
}

/* Worker: after the registry refused the key, the shares go again. */
static void import_undo(km_op *op)
{
    tkms_err e;
    tkms_http_client *c = server_client(op->g, &e);
    km_result *r = current(op);
    char note[MESSAGE_SIZE] = "";
    rollback(op, c, note, sizeof note);
    appendf(r->message, sizeof r->message, "; %s", note);
    tkms_http_client_free(c);
}

static void import_next(km_op *op);

static void log_import(km_op *op)
{
    km_result *r = current(op);
    char quoted[MESSAGE_SIZE + 64];
    tkms_log(r->status == KM_IMPORTED ? TKMS_LOG_INFO : TKMS_LOG_WARN, "keymanager import",
             "key=%s status=%s message=%s", op->hex[0] ? op->hex : "-", STATUS_NAMES[r->status],
             tkms_log_quote(quoted, sizeof quoted, r->message));
}

static void next_keystore(km_op *op)
{
    log_import(op);
    import_clear(op);
    op->hex[0] = '\0';
    op->at++;
    import_next(op);
}

/* Loop: the shares are at the servers; the key joins the registry. */
static void import_register(km_op *op)
{
    if (op->skip) {
        next_keystore(op);
        return;
    }
    struct tkms_gateway *g = op->g;
    const gateway_config *cfg = g->cfg;
    const char *client = cfg->client_count == 1 ? cfg->clients[0].name : NULL;
    tkms_err e;
    if (gateway_registry_add(g->keys, op->group_json, strlen(op->group_json), client, &e) !=
        TKMS_OK) {
        set_result(op, KM_ERROR, "the gateway could not add the key to its registry: %.300s",
                   e.message);
        to_worker(op, import_undo, next_keystore);
        return;
    }
    if (client != NULL)
        set_result(op, KM_IMPORTED, "split %u-of-%zu among the servers; assigned to client %s",
                   op->threshold, cfg->server_count, client);
    else
        set_result(op, KM_IMPORTED,
                   "split %u-of-%zu among the servers; not assigned to a client (%zu clients "
                   "are configured): assign it with tkms gateway assign",
                   op->threshold, cfg->server_count, cfg->client_count);
    next_keystore(op);
}

static void import_after_history(km_op *op)
{
    if (op->skip)
        next_keystore(op);
    else
        to_worker(op, import_distribute, import_register);
}

static void import_after_split(km_op *op)
{
    if (op->skip)
        next_keystore(op);
    else
        to_records(op, import_gateway_history, false, import_after_history);
}

/* Loop: is the key new? */
static void import_check(km_op *op)
{
    if (op->skip) {
        next_keystore(op);
        return;
    }
    if (gateway_registry_find(op->g->keys, op->pubkey) != NULL) {
        tkms_secret_key_wipe(&op->secret);
        op->has_secret = false;
        if (gateway_keymanager_retired(op->g, op->pubkey))
            set_result(op, KM_ERROR, "key %s is being deleted; import it again afterwards",
                       op->hex);
        else
            set_result(op, KM_DUPLICATE, "the gateway serves key %s already", op->hex);
        next_keystore(op);
        return;
    }
    to_worker(op, import_split, import_after_split);
}

static void import_next(km_op *op)
{
    if (op->http_status != 0 || op->at >= op->count) {
        op_finish(op);
        return;
    }
    to_worker(op, import_open, import_check);
}

/* ---- DELETE ------------------------------------------------------------------------- */

static void delete_parse(km_op *op)
{
    if (!parse_body(op, false))
        return;
    json_t *pubkeys = json_object_get(op->body, "pubkeys");
    size_t count = json_array_size(pubkeys);
    if (!json_is_array(pubkeys) || count == 0 || count > GATEWAY_KEYMANAGER_MAX_KEYS) {
        fail_request(op, 400, "pubkeys: expected an array of 1..%u public keys (0x + 96 hex)",
                     GATEWAY_KEYMANAGER_MAX_KEYS);
        return;
    }
    op->keys = calloc(count, sizeof *op->keys);
    if (op->keys == NULL) {
        fail_request(op, 500, "out of memory");
        return;
    }
    op->count = count;
    for (size_t i = 0; i < count; i++) {
        const char *text = json_string_value(json_array_get(pubkeys, i));
        km_delete_key *k = &op->keys[i];
        if (text == NULL || tkms_hex_decode(k->key, sizeof k->key, text, NULL) != TKMS_OK) {
            fail_request(op, 400, "pubkeys[%zu]: expected a public key (0x + 96 hex digits)", i);
            return;
        }
        tkms_hex_encode(k->hex, k->key, sizeof k->key);
        tkms_public_key pk;
        k->invalid = tkms_public_key_from_bytes(&pk, k->key) != TKMS_OK;
        for (size_t j = 0; j < i && k->same_as == 0; j++)
            if (memcmp(op->keys[j].key, k->key, sizeof k->key) == 0)
                k->same_as = j + 1;
    }
    open_scratch(op);
}

/* Records worker: closes each served key's history in the gateway's own
 * database (returning it), reads the others'. */
static void delete_gateway_history(km_op *op, tkms_slashing_db *db)
{
    for (size_t i = 0; i < op->count; i++) {
        km_delete_key *k = &op->keys[i];
        if (k->same_as != 0 || k->invalid)
            continue;
        tkms_err e;
        tkms_status st =
            k->served
                ? tkms_slashing_delete_key(db, k->key, &k->gateway_history, &e)
                : tkms_slashing_export(db, &k->gateway_history,
                                       (const uint8_t(*)[TKMS_PUBLIC_KEY_SIZE])k->key, 1, &e);
        if (st != TKMS_OK)
            notef(k->note, sizeof k->note, "the gateway's slashing database: %.300s", e.message);
    }
}

/* True when an interchange has any record. */
static bool has_records(const char *interchange)
{
    json_t *doc = json_loads(interchange, 0, NULL);
    json_t *data = json_object_get(doc, "data"), *entry;
    size_t i;
    bool any = false;
    json_array_foreach(data, i, entry) {
        any = any || json_array_size(json_object_get(entry, "signed_blocks")) > 0 ||
              json_array_size(json_object_get(entry, "signed_attestations")) > 0;
    }
    json_decref(doc);
    return any;
}

static void merge(km_op *op, km_delete_key *k, const char *from, const char *interchange)
{
    tkms_err e;
    if (tkms_slashing_import(op->scratch, interchange, strlen(interchange), &e) != TKMS_OK)
        notef(k->note, sizeof k->note, "%s's slashing history could not be merged: %.200s",
              from, e.message);
}

/* Worker: every server deletes the key; the histories are merged and the
 * statuses decided; the answer is made. */
static void delete_servers(km_op *op)
{
    const gateway_config *cfg = op->g->cfg;
    tkms_err e;
    /* Without a client the servers cannot be asked, but the gateway's own
     * history (its keys are deleted already) is still returned. */
    tkms_http_client *c = server_client(op->g, &e);
    char no_client[400] = "";
    if (c == NULL)
        snprintf(no_client, sizeof no_client, "the servers could not be asked: %.300s",
                 e.message);
    op->results = calloc(op->count, sizeof *op->results);
    uint8_t(*keys)[TKMS_PUBLIC_KEY_SIZE] = calloc(op->count, sizeof *keys);
    if (op->results == NULL || keys == NULL) {
        fail_request(op, 500, "out of memory");
        free(keys);
        tkms_http_client_free(c);
        return;
    }
    size_t exported = 0;
    for (size_t i = 0; i < op->count; i++) {
        km_delete_key *k = &op->keys[i];
        km_result *r = &op->results[i];
        if (k->same_as != 0) {
            *r = op->results[k->same_as - 1];
            continue;
        }
        if (k->invalid) {
            r->status = KM_NOT_FOUND;
            snprintf(r->message, sizeof r->message, "not a valid BLS public key");
            continue;
        }
        char held[MESSAGE_SIZE] = "";
        if (c == NULL)
            notef(k->note, sizeof k->note, "%s", no_client);
        for (size_t s = 0; c != NULL && s < cfg->server_count; s++) {
            char why[400] = "", *history = NULL;
            long status = delete_at(op->g, c, s, k->hex, &history, why, sizeof why);
            if (status == 200) {
                appendf(held, sizeof held, "%s%s", held[0] ? ", " : "", cfg->servers[s].name);
                merge(op, k, cfg->servers[s].name, history);
            } else if (status != 404) {
                if (status == -1)
                    appendf(held, sizeof held, "%s%s", held[0] ? ", " : "",
                            cfg->servers[s].name);
                notef(k->note, sizeof k->note, "server %s: %s", cfg->servers[s].name, why);
            }
            free(history);
        }
        bool history = k->gateway_history != NULL && has_records(k->gateway_history);
        if (k->gateway_history != NULL)
            merge(op, k, "the gateway", k->gateway_history);
        if (k->note[0]) {
            r->status = KM_ERROR;
            snprintf(r->message, sizeof r->message, "%s%.590s",
                     k->served || held[0] ? "the gateway no longer serves the key, but: " : "",
                     k->note);
        } else if (k->served || held[0]) {
            r->status = KM_DELETED;
            snprintf(r->message, sizeof r->message, "deleted%s%s%.500s",
                     k->served ? " at the gateway" : "",
                     held[0] ? (k->served ? " and at " : " at ") : "", held);
        } else {
            r->status = history ? KM_NOT_ACTIVE : KM_NOT_FOUND;
            snprintf(r->message, sizeof r->message, "%s",
                     history ? "not served, no server holds it: its slashing history is "
                               "returned"
                             : "");
        }
        if (r->status != KM_NOT_FOUND)
            memcpy(keys[exported++], k->key, sizeof k->key);
        char quoted[MESSAGE_SIZE + 64];
        tkms_log(r->status == KM_ERROR ? TKMS_LOG_WARN : TKMS_LOG_INFO, "keymanager delete",
                 "key=%s status=%s message=%s", k->hex, STATUS_NAMES[r->status],
                 tkms_log_quote(quoted, sizeof quoted, r->message));
    }
    tkms_http_client_free(c);
    char *interchange = NULL;
    if (tkms_slashing_export(op->scratch, &interchange,
                             (const uint8_t(*)[TKMS_PUBLIC_KEY_SIZE])keys, exported,
                             &e) != TKMS_OK) {
        free(keys);
        fail_request(op, 500, "the merged slashing history could not be exported: %.300s",
                     e.message);
        return;
    }
    free(keys);
    json_t *data = json_array();
    for (size_t i = 0; data != NULL && i < op->count; i++)
        json_array_append_new(data, json_pack("{s:s, s:s}", "status",
                                              STATUS_NAMES[op->results[i].status], "message",
                                              op->results[i].message));
    json_t *doc = data != NULL ? json_pack("{s:o, s:s}", "data", data, "slashing_protection",
                                           interchange)
                               : NULL;
    free(interchange);
    op->response = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (op->response == NULL)
        fail_request(op, 500, "out of memory");
}

/* Loop: no sign request uses the entries any more; they go. */
static void delete_remove(km_op *op)
{
    for (size_t i = 0; i < op->count; i++) {
        km_delete_key *k = &op->keys[i];
        if (!k->served || k->same_as != 0)
            continue;
        tkms_err e;
        tkms_status st = gateway_registry_remove(op->g->keys, k->key, &e);
        if (st == TKMS_OK || st == TKMS_ERR_NOT_FOUND) {
            unretire(op->km, k->key);
        } else {    /* stays retired: not served until a restart */
            notef(k->note, sizeof k->note,
                  "it could not be removed from the gateway's registry: %.300s", e.message);
        }
    }
    to_worker(op, delete_servers, op_finish);
}

/* Loop: waits until no sign request can use a retired entry (the rule in
 * gateway_internal.h): the fan-out idle, or every call begun before now
 * over; then every session's work begun before that over. */
static void delete_wait(km_op *op)
{
    struct gateway_keymanager *km = op->km;
    if (op->g->stopping) {
        op_abort(op, "the gateway is stopping");
        return;
    }
    if (!op->sign_marked &&
        (tkms_fanout_pending(op->g->fanout) == 0 || gateway_now() >= op->drain_deadline)) {
        op->sign_mark = gateway_sign_mark(op->g);
        op->sign_marked = true;
    }
    if (op->sign_marked && gateway_sign_passed(op->g, op->sign_mark)) {
        delete_remove(op);
        return;
    }
    struct timeval tick = {0, DRAIN_TICK_MS * 1000};
    if (event_add(km->drain, &tick) != 0)
        op_abort(op, "cannot set up a timer");
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gateway_keymanager *km = arg;
    if (km->active != NULL)
        delete_wait(km->active);
}

/* Loop, after the records barrier: every request that was in the records
 * pipeline when the keys were retired is answered or in the fan-out. */
static void delete_drain(km_op *op)
{
    bool any = false;
    for (size_t i = 0; i < op->count; i++)
        any = any || op->keys[i].served;
    if (!any) {
        to_worker(op, delete_servers, op_finish);
        return;
    }
    unsigned timeout = op->g->cfg->timeout_ms > HEALTH_CALL_MAX_MS ? op->g->cfg->timeout_ms
                                                                   : HEALTH_CALL_MAX_MS;
    op->drain_deadline = gateway_now() + (timeout + DRAIN_MARGIN_MS) / 1e3;
    op->sign_marked = false;
    delete_wait(op);
}

/* Loop: the keys stop being served, at once. */
static void delete_retire(km_op *op)
{
    if (op->http_status != 0) {
        op_finish(op);
        return;
    }
    for (size_t i = 0; i < op->count; i++) {
        km_delete_key *k = &op->keys[i];
        if (k->same_as != 0 || k->invalid || gateway_registry_find(op->g->keys, k->key) == NULL)
            continue;
        k->served = true;
        if (!retire(op->km, k->key)) {
            /* Unretire what this op retired: nothing was changed yet. */
            for (size_t j = 0; j < i; j++)
                if (op->keys[j].served)
                    unretire(op->km, op->keys[j].key);
            fail_request(op, 500, "out of memory");
            op_finish(op);
            return;
        }
        tkms_log(TKMS_LOG_INFO, "keymanager delete: key no longer served", "key=%s", k->hex);
    }
    to_records(op, delete_gateway_history, true, delete_drain);
}

/* ---- the HTTP side ---------------------------------------------------------------- */

static void start(km_op *op)
{
    op->km->active = op;
    if (op->kind == KM_IMPORT)
        to_worker(op, import_parse, import_next);
    else
        to_worker(op, delete_parse, delete_retire);
}

static void start_next(struct gateway_keymanager *km)
{
    while (km->active == NULL && km->head != NULL) {
        km_op *op = km->head;
        km->head = op->next;
        if (km->head == NULL)
            km->tail = NULL;
        km->waiting--;
        if (!km->g->stopping) {
            start(op);
            return;
        }
        op->http_status = 503;
        snprintf(op->reason, sizeof op->reason, "the gateway is stopping");
        op_reply(op);
    }
}

static bool authorized(const struct gateway_keymanager *km, tkms_http_request *req)
{
    const char *auth = tkms_http_request_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    uint8_t hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)token, strlen(token), NULL, 0);
    return sodium_memcmp(hash, km->token_hash, sizeof hash) == 0;   /* constant time */
}

bool gateway_keymanager_operator(const struct tkms_gateway *g, const gateway_listener *l,
                                 tkms_http_request *req)
{
    return g->keymanager != NULL && l->client < 0 && authorized(g->keymanager, req);
}

static void list_keys(struct tkms_gateway *g, tkms_http_request *req, double started)
{
    json_t *data = json_array();
    for (size_t i = 0; data != NULL && i < gateway_registry_count(g->keys); i++) {
        const gateway_key_entry *e = gateway_registry_at(g->keys, i);
        if (gateway_keymanager_retired(g, e->group_key))
            continue;
        json_array_append_new(data, json_pack("{s:s, s:s, s:b}", "validating_pubkey", e->hex,
                                              "derivation_path", "", "readonly", 0));
    }
    reply_doc(g, req, data != NULL ? json_pack("{s:o}", "data", data) : NULL, started);
}

void gateway_keymanager_handle(struct tkms_gateway *g, const gateway_listener *l,
                               tkms_http_request *req, double started)
{
    struct gateway_keymanager *km = g->keymanager;
    if (km == NULL) {
        reply_message(g, req, 404, "keymanager API is off (no keymanager.token_file)", started);
        return;
    }
    if (l->client >= 0) {
        reply_message(g, req, 404, "the keymanager API is served on the main listener only",
                      started);
        return;
    }
    if (!authorized(km, req)) {
        reply_message(g, req, 401, "missing or wrong bearer token", started);
        return;
    }
    const char *method = tkms_http_request_method(req);
    if (strcmp(method, "GET") == 0) {
        list_keys(g, req, started);
        return;
    }
    bool post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
    if (!post && !del) {
        reply_message(g, req, 405, "method not allowed", started);
        return;
    }
    if (km->waiting >= GATEWAY_KEYMANAGER_MAX_WAITING) {
        reply_message(g, req, 503, "too many keymanager requests waiting; try again later",
                      started);
        return;
    }
    km_op *op = calloc(1, sizeof *op);
    if (op == NULL) {
        reply_message(g, req, 500, "out of memory", started);
        return;
    }
    op->km = km;
    op->g = g;
    op->req = req;
    op->started = started;
    op->kind = post ? KM_IMPORT : KM_DELETE;
    if (km->tail != NULL)
        km->tail->next = op;
    else
        km->head = op;
    km->tail = op;
    km->waiting++;
    start_next(km);
}

/* ---- opening and closing -------------------------------------------------------- */

static tkms_status read_token(struct gateway_keymanager *km, const char *path, tkms_err *err)
{
    char *text = NULL;
    size_t len = 0;
    tkms_status st = tkms_file_read(path, TOKEN_FILE_MAX_SIZE, &text, &len, err);
    if (st != TKMS_OK)
        return st;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (len < GATEWAY_KEYMANAGER_TOKEN_MIN)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "keymanager.token_file: the token in %s is shorter than %u characters",
                       path, GATEWAY_KEYMANAGER_TOKEN_MIN);
    else
        crypto_generichash(km->token_hash, sizeof km->token_hash, (const unsigned char *)text,
                           len, NULL, 0);
    tkms_wipe(text, len);
    free(text);
    return st;
}

tkms_status gateway_keymanager_open(struct tkms_gateway *g, tkms_err *err)
{
    g->keymanager = NULL;
    if (g->cfg->keymanager_token_file == NULL)
        return TKMS_OK;
    if (g->records.pool == NULL || tkms_workpool_threads(g->records.pool) != 1)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keymanager: the records worker must have exactly one thread");
    if (sodium_init() < 0)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "keymanager: libsodium cannot start");
    struct gateway_keymanager *km = calloc(1, sizeof *km);
    if (km == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    km->g = g;
    g->keymanager = km;     /* gateway_keymanager_close frees a half-opened one */
    tkms_status st = read_token(km, g->cfg->keymanager_token_file, err);
    if (st == TKMS_OK)
        st = tkms_workpool_new(&km->pool, 1, err);
    if (st == TKMS_OK)
        st = loop_queue_new(&km->loop, g->base, err);
    if (st == TKMS_OK && (km->drain = event_new(g->base, -1, 0, on_drain, km)) == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a timer");
    if (st == TKMS_OK)
        tkms_log(TKMS_LOG_INFO, "keymanager API on", "path=%s servers=%zu threshold=%zu",
                 GATEWAY_KEYMANAGER_PATH, g->cfg->server_count, g->cfg->server_count / 2 + 1);
    return st;
}

void gateway_keymanager_close(struct tkms_gateway *g)
{
    struct gateway_keymanager *km = g->keymanager;
    if (km == NULL)
        return;
    /* The worker's last parts finish and post back; their loop steps then
     * see g->stopping and answer instead of going on. */
    tkms_workpool_free(km->pool);
    km->pool = NULL;
    if (km->drain != NULL)
        event_del(km->drain);
    loop_queue_free(km->loop);
    km->loop = NULL;
    if (km->active != NULL)         /* waiting for its entries to be free */
        op_abort(km->active, "the gateway is stopping");
    start_next(km);                 /* answers every waiting op */
    if (km->drain != NULL)
        event_free(km->drain);
    free(km->retired);
    sodium_memzero(km->token_hash, sizeof km->token_hash);
    free(km);
    g->keymanager = NULL;
}
