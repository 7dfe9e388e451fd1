/*
 * cmd_ceremony_run.c — `tkms ceremony run`: the relay of a network key
 * ceremony among threshold servers (their side: src/server/ceremony_host.h).
 *
 * Servers never reach each other (DESIGN §2): this command starts the
 * ceremony at every server, then round by round posts to each server the
 * messages the others addressed to it, and takes back what it sends next.
 * A message is routed by its envelope (tkms/ceremony_message.h): a
 * broadcast goes to every other party, a point-to-point message to the
 * party it names; the bytes are never changed (the relay cannot read the
 * sealed shares or forge a signature anyway). When every server is done
 * with the same keys and transcript, it commits at every server; on any
 * failure before that it aborts at every server, so no server keeps a
 * half-made key, and says which server failed and why.
 *
 * Requests to the servers of one phase (start, a round, commit, abort) go
 * out in parallel, one HTTPS client per server (mutual TLS).
 */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_ceremony.h"
#include "tkms/ceremony_message.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"

#define CMD "ceremony run"
#define ROUNDS 4u
#define DEFAULT_TIMEOUT_MS 300000u
#define MAX_RESPONSE (256u * 1024u * 1024u)
#define MAX_THREADS 8u
#define REASON_SIZE 512
#define MESSAGE_MAX_SIZE \
    (TKMS_MESSAGE_HEADER_SIZE + (size_t)TKMS_MESSAGE_MAX_PAYLOAD + TKMS_IDENTITY_SIGNATURE_SIZE)

static const char *const help =
    "usage: tkms ceremony run --spec SPEC.json --server ID=URL [--server ID=URL ...]\n"
    "                         --ca CA.pem --cert CLIENT.pem --key CLIENT-key.pem\n"
    "                         [--abort | --commit] [--timeout-ms N] [--json]\n"
    "\n"
    "Runs the key ceremony of SPEC.json (`tkms ceremony spec`: a DKG, or a\n"
    "reshare) among threshold servers (`tkms server`, each configured with\n"
    "its owner id), relaying their messages: the servers never talk to each\n"
    "other. It starts the ceremony at every server, relays the four rounds,\n"
    "and when every server is done with the same keys, commits: each server\n"
    "then stores its new shares (a reshare replaces the key's old shares)\n"
    "and serves them, without a restart. If anything fails first, the\n"
    "ceremony is aborted at every server and nothing is kept; the error\n"
    "names the server and the reason. A ceremony id is used once: to try\n"
    "again, make a new spec.\n"
    "\n"
    "  --server ID=URL     the server of party ID, e.g. p1=https://10.0.0.1:9000;\n"
    "                      one for every party of the spec\n"
    "  --ca CA.pem         the CA the servers' certificates chain to\n"
    "  --cert, --key       this client's certificate and key (mutual TLS; the\n"
    "                      servers' rules must allow it the ceremony operation)\n"
    "  --abort             only abort the ceremony at every server (after a\n"
    "                      crash or kill of a run, before a new spec)\n"
    "  --commit            only commit at every server (to finish a run whose\n"
    "                      commit failed at some server)\n"
    "  --timeout-ms N      for each request (default 300000: a round of a large\n"
    "                      ceremony takes time)\n"
    "  --json              print {\"ceremony_id\", \"keys\": [\"0x…\"], \"disqualified\":\n"
    "                      [{\"party\", \"reason\"}]}\n"
    "\n"
    "Prints the new keys (\"key M: 0x…\") and any disqualified party with the\n"
    "reason; a message a server refused is reported on stderr (the protocol\n"
    "deals with it). Exit 0 when every server committed, 1 otherwise.\n";

/* One party's server. */
typedef struct {
    const char *id;              /* the spec's party id                   */
    char *url;                   /* base URL, no trailing '/'             */
    tkms_http_client *client;
    json_t *inbox;               /* messages for it in the next request   */
    json_t *inbox_from;          /* the sender (party number) of each     */
    json_t *sent_from;           /* inbox_from of the request in flight   */
    json_t *body;                /* request body of the phase, or NULL    */
    json_t *answer;              /* its last 200 answer                   */
    char error[REASON_SIZE];     /* why its last request failed, or ""    */
} peer;

typedef enum { REQ_START, REQ_ROUND, REQ_COMMIT, REQ_ABORT } request_kind;

typedef struct {
    const tkms_ceremony_spec *spec;
    char id_hex[TKMS_HEX_SIZE(TKMS_CEREMONY_ID_SIZE)];
    size_t m;
    peer *peers;                 /* [q - 1]: party q                      */
    request_kind kind;           /* of the phase under way                */
    pthread_mutex_t lock;
    size_t next;                 /* next peer to serve in the phase       */
} relay;

/* ---- one request ----------------------------------------------------------------- */

/* Keeps a server's text one printable line. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

/* Sends peer q the phase's request; fills p->answer or p->error. */
static void request(relay *r, size_t q)
{
    peer *p = &r->peers[q];
    static const char *const actions[] = {[REQ_START] = "start", [REQ_ROUND] = "round",
                                          [REQ_COMMIT] = "commit", [REQ_ABORT] = "abort"};
    char *url = NULL, *text = NULL;
    json_decref(p->answer);
    p->answer = NULL;
    p->error[0] = '\0';
    int n = r->kind == REQ_START
                ? asprintf(&url, "%s/v1/ceremony", p->url)
                : asprintf(&url, "%s/v1/ceremony/%s/%s", p->url, r->id_hex, actions[r->kind]);
    if (n < 0 || (p->body != NULL && (text = json_dumps(p->body, JSON_COMPACT)) == NULL)) {
        snprintf(p->error, sizeof p->error, "%s: out of memory", actions[r->kind]);
        free(url);
        return;
    }
    tkms_http_response res;
    tkms_err err;
    tkms_status st = tkms_http_client_request(p->client, "POST", url,
                                              text != NULL ? "application/json" : NULL, text,
                                              text != NULL ? strlen(text) : 0, &res, &err);
    free(text);
    free(url);
    if (st != TKMS_OK) {
        snprintf(p->error, sizeof p->error, "%s: %s", actions[r->kind], err.message);
        return;
    }
    json_t *doc = json_loadb(res.body, res.body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *why = json_string_value(json_object_get(doc, "error"));
    if (res.status == 200 && json_is_object(doc)) {
        p->answer = doc;
        doc = NULL;
    } else if (why != NULL) {
        snprintf(p->error, sizeof p->error, "%s: HTTP %ld: %s", actions[r->kind], res.status, why);
    } else {
        snprintf(p->error, sizeof p->error, "%s: HTTP %ld%s%.120s", actions[r->kind], res.status,
                 res.status == 200 ? ": the answer is not a JSON object: " : ": ",
                 res.body != NULL ? res.body : "");
    }
    printable(p->error);
    json_decref(doc);
    tkms_http_response_free(&res);
}

static void *phase_worker(void *arg)
{
    relay *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        size_t q = r->next++;
        pthread_mutex_unlock(&r->lock);
        if (q >= r->m)
            return NULL;
        request(r, q);
    }
}

/* Sends every server the request of `kind` (peers' `body`), in parallel.
 * Returns the number of servers whose request failed. */
static size_t run_phase(relay *r, request_kind kind)
{
    r->kind = kind;
    r->next = 0;
    pthread_t threads[MAX_THREADS];
    size_t started = 0, want = r->m < MAX_THREADS ? r->m : MAX_THREADS;
    while (started + 1 < want && pthread_create(&threads[started], NULL, phase_worker, r) == 0)
        started++;
    phase_worker(r);   /* this thread works too (alone if no thread could start) */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    size_t failed = 0;
    for (size_t q = 0; q < r->m; q++)
        failed += r->peers[q].error[0] != '\0';
    return failed;
}

/* ---- routing ---------------------------------------------------------------------- */

/* Delivers message `msg` (a JSON string) sent by party `from` to party `to`. */
static bool deliver(relay *r, uint32_t to, json_t *msg, uint32_t from)
{
    peer *p = &r->peers[to - 1];
    return json_array_append(p->inbox, msg) == 0 &&
           json_array_append_new(p->inbox_from, json_integer(from)) == 0;
}

/* Routes the messages of party q's answer by their envelopes; a message
 * that is not one of q's own for this ceremony is dropped with a warning
 * (the protocol then treats it as missing). False when out of memory. */
static bool route(relay *r, uint32_t q)
{
    json_t *messages = json_object_get(r->peers[q - 1].answer, "messages"), *value;
    size_t i;
    uint8_t *bytes = NULL;
    bool ok = true;
    json_array_foreach(messages, i, value) {
        const char *hex = json_string_value(value);
        size_t hex_len = hex != NULL ? strlen(hex) : 0, len = 0;
        tkms_message msg;
        tkms_err err;
        const char *bad = NULL;
        free(bytes);
        bytes = NULL;
        if (hex == NULL || hex_len > 2 + 2 * MESSAGE_MAX_SIZE)
            bad = "not a hex string of a message";
        else if ((bytes = malloc(hex_len / 2 + 1)) == NULL)
            return false;
        else if (tkms_hex_decode_var(bytes, hex_len / 2 + 1, &len, hex, &err) != TKMS_OK)
            bad = "not hex";
        else if (tkms_message_decode(&msg, bytes, len, &err) != TKMS_OK)
            bad = err.message;
        else if (memcmp(msg.ceremony_id, r->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE) != 0)
            bad = "of another ceremony";
        else if (msg.from_party != q || msg.to_party == q || msg.to_party > r->m)
            bad = "not from it to another party";
        if (bad != NULL) {
            fprintf(stderr, "tkms %s: warning: %s sent a message that cannot be relayed (%s); "
                    "dropped\n", CMD, r->peers[q - 1].id, bad);
            continue;
        }
        for (uint32_t to = 1; ok && to <= r->m; to++)
            if (to != q && (msg.to_party == TKMS_MESSAGE_BROADCAST || msg.to_party == to))
                ok = deliver(r, to, value, q);
    }
    free(bytes);
    return ok;
}

/* Sets each peer's round body from its inbox, which starts empty again. */
static bool prepare_round(relay *r, uint32_t round)
{
    for (size_t q = 0; q < r->m; q++) {
        peer *p = &r->peers[q];
        json_decref(p->body);
        json_decref(p->sent_from);
        p->body = json_pack("{s:i, s:o}", "round", (int)round, "messages", p->inbox);
        p->sent_from = p->inbox_from;
        p->inbox = json_array();
        p->inbox_from = json_array();
        if (p->body == NULL || p->inbox == NULL || p->inbox_from == NULL)
            return false;
    }
    return true;
}

/* Reports the messages each server refused (the protocol deals with them). */
static void report_refused(const relay *r)
{
    for (size_t q = 0; q < r->m; q++) {
        const peer *p = &r->peers[q];
        json_t *entry;
        size_t i;
        json_array_foreach(json_object_get(p->answer, "refused"), i, entry) {
            json_int_t at = json_integer_value(json_object_get(entry, "index"));
            json_int_t from = json_integer_value(json_array_get(p->sent_from, (size_t)at));
            const char *text = json_string_value(json_object_get(entry, "reason"));
            char reason[REASON_SIZE];
            snprintf(reason, sizeof reason, "%s", text != NULL ? text : "?");
            printable(reason);
            fprintf(stderr, "tkms %s: warning: %s refused a message from %s: %s\n", CMD, p->id,
                    from >= 1 && (size_t)from <= r->m ? r->peers[from - 1].id : "?", reason);
        }
    }
}

/* ---- the ceremony -------------------------------------------------------------------- */

/* The first failed peer's error, as "ID: reason", into out. */
static void first_error(const relay *r, char *out, size_t size)
{
    for (size_t q = 0; q < r->m; q++)
        if (r->peers[q].error[0] != '\0') {
            snprintf(out, size, "%s: %s", r->peers[q].id, r->peers[q].error);
            return;
        }
    snprintf(out, size, "unknown failure");
}

/* Aborts at every server and fails with `why` and how the abort went. */
static int fail_and_abort(relay *r, const char *why)
{
    for (size_t q = 0; q < r->m; q++) {
        json_decref(r->peers[q].body);
        r->peers[q].body = NULL;
    }
    if (run_phase(r, REQ_ABORT) == 0)
        return cli_fail(CMD, "%s; the ceremony is aborted at every server", why);
    char abort_error[REASON_SIZE];
    first_error(r, abort_error, sizeof abort_error);
    return cli_fail(CMD, "%s; the abort failed at %s (run `tkms ceremony run --abort` again)",
                    why, abort_error);
}

/* Checks the answers of round `round`; routes what the servers send next.
 * *why is set (and false returned) when the ceremony cannot go on. */
static bool after_round(relay *r, uint32_t round, char *why, size_t size)
{
    report_refused(r);
    for (size_t q = 0; q < r->m; q++) {
        const json_t *a = r->peers[q].answer;
        const char *state = json_string_value(json_object_get(a, "state"));
        json_int_t next = json_integer_value(json_object_get(a, "round"));
        const char *reason = json_string_value(json_object_get(a, "reason"));
        bool last = round == ROUNDS;
        if (state != NULL && strcmp(state, "failed") == 0) {
            snprintf(why, size, "%s: the ceremony failed there: %s", r->peers[q].id,
                     reason != NULL ? reason : "no reason given");
            return false;
        }
        if (state == NULL || strcmp(state, last ? "done" : "running") != 0 ||
            next != (json_int_t)round + 1) {
            snprintf(why, size, "%s: after round %u it is %s (round %lld), not %s", r->peers[q].id,
                     round, state != NULL ? state : "in no state", (long long)next,
                     last ? "done" : "running");
            return false;
        }
    }
    for (uint32_t q = 1; q <= r->m; q++)
        if (!route(r, q)) {
            snprintf(why, size, "out of memory");
            return false;
        }
    return true;
}

/* Every done server has the same keys and transcript as the first. */
static bool same_results(const relay *r, char *why, size_t size)
{
    const json_t *ref = r->peers[0].answer;
    for (size_t q = 1; q < r->m; q++) {
        const json_t *a = r->peers[q].answer;
        if (!json_equal(json_object_get(a, "keys"), json_object_get(ref, "keys")) ||
            !json_equal(json_object_get(a, "transcript"), json_object_get(ref, "transcript"))) {
            snprintf(why, size, "%s and %s ended with different keys or transcripts",
                     r->peers[0].id, r->peers[q].id);
            return false;
        }
    }
    const json_t *keys = json_object_get(ref, "keys");
    if (json_array_size(keys) != r->spec->keys) {
        snprintf(why, size, "%s reports %zu keys, the spec asks for %u", r->peers[0].id,
                 json_array_size(keys), r->spec->keys);
        return false;
    }
    return true;
}

/* Start, four rounds; on success every peer's answer is its "done" one. */
static int run_rounds(relay *r)
{
    char why[2 * REASON_SIZE];
    char *spec_text = tkms_ceremony_spec_format(r->spec);
    json_t *spec_doc = spec_text != NULL ? json_loads(spec_text, 0, NULL) : NULL;
    free(spec_text);
    for (size_t q = 0; q < r->m; q++)
        if (spec_doc == NULL ||
            (r->peers[q].body = json_pack("{s:O}", "spec", spec_doc)) == NULL) {
            json_decref(spec_doc);
            return cli_fail(CMD, "out of memory");
        }
    json_decref(spec_doc);
    if (run_phase(r, REQ_START) != 0) {
        first_error(r, why, sizeof why);
        return fail_and_abort(r, why);
    }
    for (uint32_t q = 1; q <= r->m; q++)
        if (!route(r, q))
            return fail_and_abort(r, "out of memory");
    for (uint32_t round = 1; round <= ROUNDS; round++) {
        if (!prepare_round(r, round))
            return fail_and_abort(r, "out of memory");
        if (run_phase(r, REQ_ROUND) != 0) {
            first_error(r, why, sizeof why);
            return fail_and_abort(r, why);
        }
        if (!after_round(r, round, why, sizeof why))
            return fail_and_abort(r, why);
    }
    if (!same_results(r, why, sizeof why))
        return fail_and_abort(r, why);
    return CLI_EXIT_OK;
}

/* Commits at every server; every one must answer with `keys`. */
static int commit_all(relay *r, const json_t *keys)
{
    for (size_t q = 0; q < r->m; q++) {
        json_decref(r->peers[q].body);
        r->peers[q].body = NULL;
    }
    size_t failed = run_phase(r, REQ_COMMIT);
    for (size_t q = 0; failed == 0 && q < r->m; q++) {
        const json_t *a = r->peers[q].answer;
        const char *state = json_string_value(json_object_get(a, "state"));
        if (state == NULL || strcmp(state, "committed") != 0 ||
            (keys != NULL && !json_equal(json_object_get(a, "keys"), keys)) ||
            !json_equal(json_object_get(a, "keys"), json_object_get(r->peers[0].answer, "keys"))) {
            snprintf(r->peers[q].error, sizeof r->peers[q].error,
                     "commit: it answered with other keys than the others");
            failed++;
        }
    }
    if (failed == 0)
        return CLI_EXIT_OK;
    char why[2 * REASON_SIZE];
    first_error(r, why, sizeof why);
    /* a server that committed cannot go back: finish the others instead */
    return cli_fail(CMD, "%s (%zu of %zu servers did not commit; fix that and run `tkms ceremony "
                    "run --commit` with the same spec)", why, failed, r->m);
}

static int print_result(const relay *r, const json_t *keys, const json_t *disqualified, bool json)
{
    if (json) {
        json_t *dq = json_array(), *entry;
        size_t i;
        json_array_foreach(disqualified, i, entry)
            json_array_append_new(dq, json_pack("{s:O?, s:O?}", "party",
                                                json_object_get(entry, "party"), "reason",
                                                json_object_get(entry, "reason")));
        json_t *root = json_pack("{s:s, s:O, s:o}", "ceremony_id", r->id_hex, "keys", keys,
                                 "disqualified", dq);
        char *text = root != NULL ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(root);
        if (text == NULL)
            return cli_fail(CMD, "out of memory");
        puts(text);
        free(text);
        return CLI_EXIT_OK;
    }
    json_t *value;
    size_t i;
    json_array_foreach(keys, i, value)
        printf("key %zu: %s\n", i, json_string_value(value));
    json_array_foreach(disqualified, i, value) {
        const char *text = json_string_value(json_object_get(value, "reason"));
        const char *who = json_string_value(json_object_get(value, "party"));
        char reason[REASON_SIZE];
        snprintf(reason, sizeof reason, "%s", text != NULL ? text : "");
        printable(reason);
        printf("disqualified %s: %s\n", who != NULL ? who : "?", reason);
    }
    return CLI_EXIT_OK;
}

/* ---- the command line -------------------------------------------------------------- */

/* Takes "ID=URL" into the peer of party ID. */
static int add_server(relay *r, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || eq[1] == '\0')
        return cli_usage(CMD, "--server must be ID=URL, got '%s'", arg);
    char id[TKMS_OWNER_ID_MAX_SIZE + 1];
    size_t id_len = (size_t)(eq - arg);
    if (id_len >= sizeof id)
        return cli_usage(CMD, "--server: '%.*s…' is not a party of the spec", 20, arg);
    memcpy(id, arg, id_len);
    id[id_len] = '\0';
    uint32_t q = tkms_ceremony_party_number(r->spec, id);
    if (q == 0)
        return cli_usage(CMD, "--server: '%s' is not a party of the spec", id);
    peer *p = &r->peers[q - 1];
    if (p->url != NULL)
        return cli_usage(CMD, "--server: party '%s' is given twice", id);
    if (strncmp(eq + 1, "https://", 8) != 0)
        return cli_usage(CMD, "--server: the URL of '%s' must start with https://", id);
    if ((p->url = strdup(eq + 1)) == NULL)
        return cli_fail(CMD, "out of memory");
    size_t len = strlen(p->url);
    while (len > 8 && p->url[len - 1] == '/')
        p->url[--len] = '\0';
    return CLI_EXIT_OK;
}

static void relay_free(relay *r)
{
    for (size_t q = 0; r->peers != NULL && q < r->m; q++) {
        peer *p = &r->peers[q];
        free(p->url);
        tkms_http_client_free(p->client);
        json_decref(p->inbox);
        json_decref(p->inbox_from);
        json_decref(p->sent_from);
        json_decref(p->body);
        json_decref(p->answer);
    }
    free(r->peers);
    pthread_mutex_destroy(&r->lock);
}

int cmd_ceremony_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"spec", required_argument, NULL, 's'},
        {"server", required_argument, NULL, 'S'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"abort", no_argument, NULL, 'A'},
        {"commit", no_argument, NULL, 'C'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *spec_path = NULL, *ca = NULL, *cert = NULL, *key = NULL, *timeout_text = NULL;
    const char **servers = calloc((size_t)argc + 1, sizeof *servers);
    size_t server_count = 0;
    bool abort_only = false, commit_only = false, json = false;
    if (servers == NULL)
        return cli_fail(CMD, "out of memory");
    int opt, rc = CLI_EXIT_OK;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's': spec_path = optarg; break;
        case 'S': servers[server_count++] = optarg; break;
        case 'a': ca = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'A': abort_only = true; break;
        case 'C': commit_only = true; break;
        case 't': timeout_text = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); free(servers); return CLI_EXIT_OK;
        default: rc = cli_bad_flag(CMD, argv);
        }
    }
    uint32_t timeout_ms = DEFAULT_TIMEOUT_MS;
    if (rc == 0 && optind != argc)
        rc = cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    else if (rc == 0 && (spec_path == NULL || ca == NULL || cert == NULL || key == NULL))
        rc = cli_usage(CMD, "--spec, --ca, --cert and --key are required");
    else if (rc == 0 && abort_only && commit_only)
        rc = cli_usage(CMD, "--abort and --commit exclude each other");
    else if (rc == 0 && timeout_text != NULL)
        rc = cli_parse_u32(CMD, "--timeout-ms", timeout_text, 1, 86400000u, &timeout_ms);
    if (rc != 0) {
        free(servers);
        return rc;
    }

    relay r = {0};
    pthread_mutex_init(&r.lock, NULL);
    tkms_ceremony_spec *spec = NULL;
    char *text = NULL;
    size_t len;
    tkms_err err;
    if (tkms_file_read(spec_path, TKMS_CEREMONY_SPEC_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        rc = cli_fail(CMD, "cannot read the spec: %s", err.message);
    else if (tkms_ceremony_spec_parse(&spec, text, len, &err) != TKMS_OK)
        rc = cli_fail(CMD, "%s: %s", spec_path, err.message);
    free(text);
    if (rc == 0) {
        r.spec = spec;
        r.m = spec->party_count;
        tkms_hex_encode(r.id_hex, spec->ceremony_id, TKMS_CEREMONY_ID_SIZE);
        if ((r.peers = calloc(r.m, sizeof *r.peers)) == NULL)
            rc = cli_fail(CMD, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < server_count; i++)
        rc = add_server(&r, servers[i]);
    tkms_http_client_options client_options = {.ca_file = ca, .cert_file = cert, .key_file = key,
                                               .timeout_ms = timeout_ms,
                                               .max_response_size = MAX_RESPONSE};
    for (size_t q = 0; rc == 0 && q < r.m; q++) {
        peer *p = &r.peers[q];
        p->id = spec->parties[q].id;
        if (p->url == NULL)
            rc = cli_usage(CMD, "no --server for party '%s'", p->id);
        else if (tkms_http_client_new(&p->client, &client_options, &err) != TKMS_OK)
            rc = cli_fail(CMD, "%s", err.message);
        else if ((p->inbox = json_array()) == NULL || (p->inbox_from = json_array()) == NULL)
            rc = cli_fail(CMD, "out of memory");
    }
    if (rc == 0 && abort_only) {
        size_t failed = run_phase(&r, REQ_ABORT);
        if (failed != 0) {
            char why[2 * REASON_SIZE];
            first_error(&r, why, sizeof why);
            rc = cli_fail(CMD, "%s (%zu of %zu servers did not abort)", why, failed, r.m);
        } else if (!json) {
            printf("ceremony %s: aborted at every server\n", r.id_hex);
        } else {
            printf("{\"ceremony_id\": \"%s\", \"state\": \"aborted\"}\n", r.id_hex);
        }
    } else if (rc == 0) {
        json_t *keys = NULL, *disqualified = NULL;
        if (!commit_only && (rc = run_rounds(&r)) == 0) {
            keys = json_incref(json_object_get(r.peers[0].answer, "keys"));
            disqualified = json_incref(json_object_get(r.peers[0].answer, "disqualified"));
        }
        if (rc == 0)
            rc = commit_all(&r, keys);
        if (rc == 0 && keys == NULL)
            keys = json_incref(json_object_get(r.peers[0].answer, "keys"));
        if (rc == 0)
            rc = print_result(&r, keys, disqualified, json);
        json_decref(keys);
        json_decref(disqualified);
    }
    relay_free(&r);
    tkms_ceremony_spec_free(spec);
    free(servers);
    return rc;
}
