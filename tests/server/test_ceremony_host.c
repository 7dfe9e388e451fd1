/*
 * test_ceremony_host.c — network ceremonies at the server (ceremony_host.h),
 * driven through the JSON bodies exactly as a relay sends them (the routing
 * by envelope is written here): several servers, each with its own data
 * directory and identity, owners with several shares.
 *   - a DKG of three keys: every server commits the same keys, its key
 *     store holds its share keystores and group.json, every share matches
 *     the commitments, K shares from the key stores sign and combine into a
 *     signature the group key verifies; on_commit is called per key;
 *   - a reshare of one key to another owner set and threshold (an owner
 *     leaves, one joins): the group key stays, the shares are replaced,
 *     the leaver's directory is gone, old and new shares do not mix, the
 *     other keys are untouched, an operator's lock mark survives; a second
 *     live reshare of the key is 409; a reshare whose old share is missing
 *     is 409 and leaves no record;
 *   - a reused ceremony id is 409 (after commit, after abort, after an
 *     abort of an id never seen); commit is idempotent, abort of a
 *     committed ceremony 409;
 *   - an abort mid-ceremony and after done (staged shares deleted), then a
 *     fresh spec runs;
 *   - a host re-created on the same data directory reports the running
 *     ceremony as interrupted (round and commit 409, abort works), and
 *     finishes a commit that a stop interrupted;
 *   - messages altered by the relay are refused (listed, not fatal) and
 *     the ceremony still ends the same at every server;
 *   - out-of-order rounds, bad ids and bodies, a server that is not a
 *     party or has another identity: the right status, no crash;
 *   - two ceremonies relayed at once from two threads to the same hosts;
 *     at most CEREMONY_HOST_MAX_LIVE live ceremonies (503 beyond); an abort
 *     that arrives while a round is being processed wins.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony_host.h"
#include "test.h"
#include "tkms/ceremony_message.h"
#include "tkms/combine.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/keystore.h"
#include "tkms/secmem.h"

/* CHECK from several threads (the relays of test_concurrent): the
 * harness's counters are serialized; the condition is evaluated first (it
 * may CHECK itself). */
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
#undef CHECK
#define CHECK(cond, ...)                                        \
    do {                                                        \
        bool check_ok_ = (cond);                                \
        pthread_mutex_lock(&check_lock);                        \
        test_check(check_ok_, __FILE__, __LINE__, __VA_ARGS__); \
        pthread_mutex_unlock(&check_lock);                      \
    } while (0)

#define PASSWORD "data directory password"
#define MAX_SERVERS 8

static tkms_rng_seeded rng;
static tkms_kdf_params kdf;
static char root_dir[] = "/tmp/tkms-ceremony-host-test.XXXXXX";

typedef struct {
    char id[16];
    char dir[256];
    tkms_identity identity;
    ceremony_host *host;
    pthread_mutex_t lock;        /* guards the commit record (two relays) */
    size_t commits;              /* on_commit calls                        */
    uint8_t last_commit[TKMS_PUBLIC_KEY_SIZE];
} server;

static void on_commit(void *arg, const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    server *s = arg;
    pthread_mutex_lock(&s->lock);
    s->commits++;
    memcpy(s->last_commit, key, TKMS_PUBLIC_KEY_SIZE);
    pthread_mutex_unlock(&s->lock);
}

static void server_open(server *s)
{
    ceremony_host_options options = {.data_dir = s->dir, .owner = s->id,
                                     .identity = &s->identity, .password = PASSWORD,
                                     .kdf = &kdf, .on_commit = on_commit, .on_commit_arg = s};
    tkms_err err;
    if (ceremony_host_new(&s->host, &options, &err) != TKMS_OK)
        test_fatal("%s: ceremony_host_new: %s", s->id, err.message);
}

static void server_init(server *s, const char *id)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->dir, sizeof s->dir, "%s/%s", root_dir, id);
    if (mkdir(s->dir, 0700) != 0)
        test_fatal("mkdir %s", s->dir);
    pthread_mutex_init(&s->lock, NULL);
    tkms_identity_generate(&s->identity, &rng.base);
    server_open(s);
}

static void server_free(server *s)
{
    ceremony_host_free(s->host);
    tkms_identity_wipe(&s->identity);
    pthread_mutex_destroy(&s->lock);
}

/* ---- requests, as the daemon would pass them ----------------------------------- */

enum { OP_START, OP_ROUND, OP_COMMIT, OP_ABORT, OP_STATUS };

/* Sends one request; returns the reply (the caller clears it). */
static ceremony_reply call(server *s, int op, const char *id, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    size_t len = text != NULL ? strlen(text) : 0;
    ceremony_reply r;
    switch (op) {
    case OP_START: ceremony_host_start(s->host, text, len, &r); break;
    case OP_ROUND: ceremony_host_round(s->host, id, text, len, &r); break;
    case OP_COMMIT: ceremony_host_commit(s->host, id, &r); break;
    case OP_ABORT: ceremony_host_abort(s->host, id, &r); break;
    default: ceremony_host_status(s->host, id, &r); break;
    }
    free(text);
    CHECK((r.status == 200) == (r.body != NULL) && (r.status == 200) == (r.reason[0] == '\0'),
          "%s: a reply has a body exactly when it is 200 (%d: %s)", s->id, r.status, r.reason);
    return r;
}

static json_t *start_body(const tkms_ceremony_spec *spec)
{
    char *text = tkms_ceremony_spec_format(spec);
    json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (doc == NULL)
        test_fatal("cannot format a spec");
    return json_pack("{s:o}", "spec", doc);
}

static const char *state_of(const ceremony_reply *r)
{
    const char *s = r->body != NULL ? json_string_value(json_object_get(r->body, "state")) : NULL;
    return s != NULL ? s : "-";
}

/* The state a server reports for a ceremony ("404" when unknown). */
static const char *status_of(server *s, const char *id)
{
    static char out[32];
    ceremony_reply r = call(s, OP_STATUS, id, NULL);
    snprintf(out, sizeof out, "%s", r.status == 200 ? state_of(&r) : r.status == 404 ? "404" : "?");
    ceremony_reply_clear(&r);
    return out;
}

/* ---- specs ----------------------------------------------------------------------- */

typedef struct {
    server *s;
    uint32_t shares;
} member;

static tkms_ceremony_spec *make_spec(tkms_ceremony_kind kind, const member *members, size_t count,
                                     uint32_t k, uint32_t keys, tkms_group *old_group,
                                     tkms_owner_map *old_owners)
{
    tkms_ceremony_party parties[MAX_SERVERS];
    for (size_t i = 0; i < count; i++) {
        snprintf(parties[i].id, sizeof parties[i].id, "%s", members[i].s->id);
        parties[i].shares = members[i].shares;
        memcpy(parties[i].identity, members[i].s->identity.public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    tkms_rng_fill(&rng.base, id, sizeof id);
    tkms_ceremony_spec *spec;
    tkms_err err;
    if (tkms_ceremony_spec_new(&spec, kind, id, k, keys, parties, count, old_group, old_owners,
                               &err) != TKMS_OK)
        test_fatal("spec: %s", err.message);
    return spec;
}

static void id_hex_of(char out[TKMS_HEX_SIZE(TKMS_CEREMONY_ID_SIZE)], const tkms_ceremony_spec *spec)
{
    tkms_hex_encode(out, spec->ceremony_id, TKMS_CEREMONY_ID_SIZE);
}

/* ---- the relay ------------------------------------------------------------------- */

/* Alters one delivery: called for every (message, recipient); returns a
 * replacement string (new reference) or NULL to deliver it unchanged. */
typedef json_t *(*tamper_fn)(const tkms_message *m, uint32_t to, const char *hex);

typedef struct {
    const tkms_ceremony_spec *spec;
    char id[TKMS_HEX_SIZE(TKMS_CEREMONY_ID_SIZE)];
    size_t m;
    server *servers[MAX_SERVERS];      /* [q - 1]: the server of party q       */
    json_t *inbox[MAX_SERVERS];        /* what each gets next round            */
    json_t *last[MAX_SERVERS];         /* each server's last answer            */
    size_t refused[MAX_SERVERS];       /* messages each server refused         */
    tamper_fn tamper;
    char failure[512];                 /* why the relay stopped, "" if it did not */
} relay;

static void relay_init(relay *r, const tkms_ceremony_spec *spec, server *const *all, size_t n,
                       tamper_fn tamper)
{
    memset(r, 0, sizeof *r);
    r->spec = spec;
    r->tamper = tamper;
    id_hex_of(r->id, spec);
    r->m = spec->party_count;
    for (size_t q = 0; q < r->m; q++) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(all[i]->id, spec->parties[q].id) == 0)
                r->servers[q] = all[i];
        if (r->servers[q] == NULL)
            test_fatal("no server for party %s", spec->parties[q].id);
        r->inbox[q] = json_array();
    }
}

static void relay_free(relay *r)
{
    for (size_t q = 0; q < r->m; q++) {
        json_decref(r->inbox[q]);
        json_decref(r->last[q]);
    }
}

/* Routes the messages of party `from`'s answer by their envelopes. */
static void route(relay *r, uint32_t from, const json_t *messages)
{
    size_t i;
    json_t *value;
    json_array_foreach(messages, i, value) {
        uint8_t *bytes;
        size_t len;
        tkms_message msg;
        const char *hex = json_string_value(value);
        if (hex == NULL || !test_hex(hex, &bytes, &len)) {
            CHECK(false, "%s: party %u sent a message that is not hex", r->id, from);
            continue;
        }
        bool ok = tkms_message_decode(&msg, bytes, len, NULL) == TKMS_OK &&
                  msg.from_party == from && msg.to_party <= r->m && msg.to_party != from;
        CHECK(ok, "%s: party %u's message %zu decodes, is from it and to another party", r->id,
              from, i);
        for (uint32_t to = 1; ok && to <= r->m; to++) {
            if (to == from || (msg.to_party != TKMS_MESSAGE_BROADCAST && msg.to_party != to))
                continue;
            json_t *altered = r->tamper != NULL ? r->tamper(&msg, to, hex) : NULL;
            json_array_append_new(r->inbox[to - 1], altered != NULL ? altered : json_string(hex));
        }
        free(bytes);
    }
}

/* Starts the ceremony at every server and routes the round-1 messages. */
static bool relay_start(relay *r)
{
    for (uint32_t q = 1; q <= r->m; q++) {
        ceremony_reply rep = call(r->servers[q - 1], OP_START, NULL, start_body(r->spec));
        if (rep.status != 200) {
            snprintf(r->failure, sizeof r->failure, "start at %s: %d %s", r->servers[q - 1]->id,
                     rep.status, rep.reason);
            ceremony_reply_clear(&rep);
            return false;
        }
        const json_t *b = rep.body;
        CHECK(strcmp(json_string_value(json_object_get(b, "ceremony_id")), r->id) == 0 &&
                  strcmp(json_string_value(json_object_get(b, "party")), r->servers[q - 1]->id) == 0 &&
                  strcmp(state_of(&rep), "running") == 0 &&
                  json_integer_value(json_object_get(b, "round")) == 1,
              "start at %s: ceremony_id, party, running, round 1", r->servers[q - 1]->id);
        route(r, q, json_object_get(b, "messages"));
        r->last[q - 1] = json_incref(rep.body);
        ceremony_reply_clear(&rep);
    }
    return true;
}

/* Closes round `round` at every server; routes what they send next. */
static bool relay_round(relay *r, uint32_t round)
{
    json_t *outgoing[MAX_SERVERS];
    for (size_t q = 0; q < r->m; q++) {
        outgoing[q] = r->inbox[q];
        r->inbox[q] = json_array();
    }
    bool ok = true;
    for (uint32_t q = 1; q <= r->m; q++) {
        ceremony_reply rep = call(r->servers[q - 1], OP_ROUND, r->id,
                                  json_pack("{s:i, s:o}", "round", (int)round, "messages",
                                            outgoing[q - 1]));
        if (rep.status != 200) {
            snprintf(r->failure, sizeof r->failure, "round %u at %s: %d %s", round,
                     r->servers[q - 1]->id, rep.status, rep.reason);
            ceremony_reply_clear(&rep);
            ok = false;
            for (uint32_t rest = q + 1; rest <= r->m; rest++)
                json_decref(outgoing[rest - 1]);
            break;
        }
        r->refused[q - 1] += json_array_size(json_object_get(rep.body, "refused"));
        route(r, q, json_object_get(rep.body, "messages"));
        json_decref(r->last[q - 1]);
        r->last[q - 1] = json_incref(rep.body);
        ceremony_reply_clear(&rep);
    }
    return ok;
}

/* Runs the whole ceremony up to commit (not included); true when every
 * server is done with the same keys and transcript. */
static bool relay_run(relay *r)
{
    if (!relay_start(r))
        return false;
    for (uint32_t round = 1; round <= 4; round++)
        if (!relay_round(r, round))
            return false;
    for (size_t q = 0; q < r->m; q++) {
        const json_t *b = r->last[q];
        if (strcmp(json_string_value(json_object_get(b, "state")), "done") != 0) {
            snprintf(r->failure, sizeof r->failure, "%s ended %s: %s", r->servers[q]->id,
                     json_string_value(json_object_get(b, "state")),
                     json_string_value(json_object_get(b, "reason")));
            return false;
        }
        if (!json_equal(json_object_get(b, "keys"), json_object_get(r->last[0], "keys")) ||
            !json_equal(json_object_get(b, "transcript"), json_object_get(r->last[0], "transcript"))) {
            snprintf(r->failure, sizeof r->failure, "%s ended with other keys", r->servers[q]->id);
            return false;
        }
    }
    return true;
}

/* Commits at every server; true when each answers committed with the keys
 * it reported done with. */
static bool relay_commit(relay *r)
{
    bool ok = true;
    for (size_t q = 0; q < r->m; q++) {
        ceremony_reply rep = call(r->servers[q], OP_COMMIT, r->id, NULL);
        bool good = rep.status == 200 && strcmp(state_of(&rep), "committed") == 0 &&
                    json_equal(json_object_get(rep.body, "keys"), json_object_get(r->last[q], "keys"));
        CHECK(good, "%s: commit at %s (%d %s)", r->id, r->servers[q]->id, rep.status, rep.reason);
        ok &= good;
        ceremony_reply_clear(&rep);
    }
    return ok;
}

static void relay_abort(relay *r)
{
    for (size_t q = 0; q < r->m; q++) {
        ceremony_reply rep = call(r->servers[q], OP_ABORT, r->id, NULL);
        CHECK(rep.status == 200 && strcmp(state_of(&rep), "aborted") == 0,
              "%s: abort at %s (%d %s)", r->id, r->servers[q]->id, rep.status, rep.reason);
        ceremony_reply_clear(&rep);
    }
}

/* Key m of a finished relay, as bytes. */
static void relay_key(const relay *r, size_t m, uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    const char *hex = json_string_value(json_array_get(json_object_get(r->last[0], "keys"), m));
    if (hex == NULL || tkms_hex_decode(key, TKMS_PUBLIC_KEY_SIZE, hex, NULL) != TKMS_OK)
        test_fatal("%s: no key %zu", r->id, m);
}

/* ---- the key store ---------------------------------------------------------------- */

static void key_dir(char out[PATH_MAX], const server *s, const uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_hex_encode(hex, key, TKMS_PUBLIC_KEY_SIZE);
    snprintf(out, PATH_MAX, "%s/keys/%s", s->dir, hex);
}

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads a server's group.json of `key` into *gf. */
static bool load_group(const server *s, const uint8_t key[TKMS_PUBLIC_KEY_SIZE], tkms_group_file *gf)
{
    char path[PATH_MAX];
    key_dir(path, s, key);
    strcat(path, "/group.json");
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_GROUP_FILE_MAX_SIZE * 2, &text, &len, NULL) != TKMS_OK)
        return false;
    tkms_status st = tkms_group_file_parse(gf, text, len, &err);
    free(text);
    CHECK(st == TKMS_OK, "%s: group.json parses (%s)", s->id, st == TKMS_OK ? "" : err.message);
    return st == TKMS_OK;
}

/* Decrypts the share keystores the owners map gives server `s` for `key`
 * (appended to `out`, *n of them). Checks modes, metadata and that each
 * share matches the group. Returns how many it found. */
static size_t load_shares(const server *s, const uint8_t key[TKMS_PUBLIC_KEY_SIZE],
                          const tkms_group_file *gf, tkms_share *out, size_t *n)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    key_dir(dir, s, key);
    const tkms_owner *owner = tkms_owner_find(gf->owners, s->id);
    size_t found = 0;
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "%s: key directory is 0700", s->id);
    for (uint32_t i = 0; owner != NULL && i < owner->share_count; i++) {
        uint32_t index = owner->first_index + i;
        snprintf(path, sizeof path, "%s/share-%u.json", dir, index);
        char *text;
        size_t len;
        tkms_keystore *ks = NULL;
        tkms_err err;
        if (tkms_file_read(path, TKMS_KEYSTORE_MAX_SIZE, &text, &len, &err) != TKMS_OK) {
            CHECK(false, "%s: %s", s->id, err.message);
            continue;
        }
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "%s: share %u is 0600", s->id,
              index);
        bool ok = tkms_keystore_parse(&ks, text, len, &err) == TKMS_OK;
        free(text);
        const tkms_share_info *info = ok ? tkms_keystore_share_info(ks) : NULL;
        ok = info != NULL && info->index == index && strcmp(info->owner, s->id) == 0 &&
             tkms_public_key_equal(&info->group_key, &gf->group->group_key) &&
             info->threshold == gf->group->threshold;
        tkms_share share = {.index = index};
        ok = ok && tkms_keystore_decrypt(ks, PASSWORD, &share.key, &err) == TKMS_OK &&
             tkms_share_check(gf->group, &share) == TKMS_OK;
        CHECK(ok, "%s: share %u of the key store decrypts and matches the commitments", s->id,
              index);
        tkms_keystore_free(ks);
        if (ok) {
            out[(*n)++] = share;
            found++;
        }
        tkms_share_wipe(&share);
    }
    return found;
}

/* K of `shares` (from index `first`) sign msg; the result verifies. */
static bool shares_sign(const tkms_group *g, const tkms_share *shares, size_t count)
{
    static const uint8_t msg[] = "a key no server ever held";
    tkms_partial p[TKMS_MAX_SHARES];
    uint32_t bad[TKMS_MAX_SHARES];
    size_t nbad;
    for (size_t i = 0; i < count; i++) {
        tkms_signature s;
        tkms_partial_sign(&s, &shares[i], msg, sizeof msg);
        p[i].index = shares[i].index;
        tkms_signature_to_bytes(p[i].signature, &s);
    }
    tkms_combiner *c = tkms_combiner_new(g);
    tkms_signature sig;
    tkms_status st = tkms_combiner_combine(c, msg, sizeof msg, p, count, &rng.base, &sig, bad, &nbad);
    tkms_combiner_free(c);
    return st == TKMS_OK && tkms_verify(&g->group_key, msg, sizeof msg, &sig);
}

/* Every server of `servers` (those holding shares of `key` by its group
 * file) has its shares; they match; K of them sign. The shares go to
 * `all` (*n), the group to *gf (first server's file). */
static void check_key_store(const char *label, server *const *servers, size_t count,
                            const uint8_t key[TKMS_PUBLIC_KEY_SIZE], tkms_group_file *gf,
                            tkms_share *all, size_t *n)
{
    *n = 0;
    gf->group = NULL;
    gf->owners = NULL;
    for (size_t i = 0; i < count; i++) {
        tkms_group_file mine;
        if (!load_group(servers[i], key, &mine)) {
            CHECK(false, "%s: %s has group.json", label, servers[i]->id);
            continue;
        }
        uint8_t gk[TKMS_PUBLIC_KEY_SIZE];
        tkms_public_key_to_bytes(gk, &mine.group->group_key);
        CHECK(memcmp(gk, key, sizeof gk) == 0, "%s: %s's group.json is of the key", label,
              servers[i]->id);
        if (gf->group == NULL) {
            *gf = mine;
        } else {
            CHECK(mine.group->threshold == gf->group->threshold &&
                      memcmp(mine.group->commitments, gf->group->commitments,
                             gf->group->threshold * sizeof *gf->group->commitments) == 0,
                  "%s: %s has the same group", label, servers[i]->id);
            tkms_group_file_clear(&mine);
        }
        const tkms_owner *o = tkms_owner_find(gf->owners, servers[i]->id);
        size_t got = load_shares(servers[i], key, gf, all, n);
        CHECK(o != NULL && got == o->share_count && got > 0, "%s: %s holds its %u shares (%zu)",
              label, servers[i]->id, o ? o->share_count : 0, got);
    }
    if (gf->group == NULL)
        return;
    CHECK(*n == gf->group->share_count, "%s: all %u shares are in the key stores (%zu)", label,
          gf->group->share_count, *n);
    uint32_t k = gf->group->threshold;
    CHECK(*n >= k && shares_sign(gf->group, all + (*n - k), k),
          "%s: K = %u shares from the key stores sign for the group key", label, k);
    CHECK(k < 2 || !shares_sign(gf->group, all, k - 1), "%s: K - 1 shares do not", label);
}

/* ---- the scenarios ------------------------------------------------------------------ */

static server alice, bob, carol, dave;

static bool reason_has(const ceremony_reply *r, const char *word)
{
    return strstr(r->reason, word) != NULL;
}

/* A raw body, as the daemon would pass it. */
static int raw(int op, server *s, const char *id, const char *body, ceremony_reply *r)
{
    size_t len = body != NULL ? strlen(body) : 0;
    return op == OP_START ? ceremony_host_start(s->host, body, len, r)
                          : ceremony_host_round(s->host, id, body, len, r);
}

/* A DKG of 3 keys among alice (2 shares), bob (1) and carol (2), K = 3;
 * then a reshare of key 0 to alice (1), bob (2), dave (2), carol leaving,
 * K = 2. */
static void test_dkg_then_reshare(void)
{
    server *three[] = {&alice, &bob, &carol};
    member members[] = {{&alice, 2}, {&bob, 1}, {&carol, 2}};
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 3, 3, NULL, NULL);
    relay r;
    relay_init(&r, spec, three, 3, NULL);
    bool done = relay_run(&r);
    CHECK(done, "dkg: every server is done with the same keys (%s)", r.failure);
    if (!done)
        test_fatal("cannot go on");
    for (size_t q = 0; q < 3; q++) {
        CHECK(r.refused[q] == 0, "dkg: %s refused nothing", r.servers[q]->id);
        CHECK(json_integer_value(json_object_get(r.last[q], "round")) == 5 &&
                  json_array_size(json_object_get(r.last[q], "messages")) == 0 &&
                  json_array_size(json_object_get(r.last[q], "disqualified")) == 0,
              "dkg: %s: round 5, no more messages, nobody disqualified", r.servers[q]->id);
        CHECK(strcmp(status_of(r.servers[q], r.id), "done") == 0, "dkg: %s: status done",
              r.servers[q]->id);
    }
    uint8_t keys[3][TKMS_PUBLIC_KEY_SIZE];
    for (size_t m = 0; m < 3; m++)
        relay_key(&r, m, keys[m]);
    char path[PATH_MAX + 64];
    key_dir(path, &alice, keys[0]);
    CHECK(!path_exists(path), "dkg: nothing in the key store before commit");
    snprintf(path, sizeof path, "%s/ceremonies/%s/out/keys/0/alice/share-1.json", alice.dir, r.id);
    CHECK(path_exists(path), "dkg: alice's shares are staged");
    CHECK(relay_commit(&r), "dkg: every server commits");
    for (size_t q = 0; q < 3; q++)
        CHECK(three[q]->commits == 3 && memcmp(three[q]->last_commit, keys[2], 48) == 0,
              "dkg: on_commit called for each key at %s (%zu)", three[q]->id, three[q]->commits);
    CHECK(!path_exists(path), "dkg: the staged shares moved");
    tkms_share old_shares[TKMS_MAX_SHARES];
    size_t old_n = 0;
    tkms_group_file key0 = {0};
    for (size_t m = 0; m < 3; m++) {
        char label[32];
        snprintf(label, sizeof label, "dkg key %zu", m);
        tkms_group_file gf;
        tkms_share shares[TKMS_MAX_SHARES];
        size_t n;
        check_key_store(label, three, 3, keys[m], &gf, shares, &n);
        if (m == 0) {
            key0 = gf;
            memcpy(old_shares, shares, n * sizeof *shares);
            old_n = n;
        } else {
            tkms_group_file_clear(&gf);
        }
        tkms_wipe(shares, sizeof shares);
    }
    /* the id is spent */
    ceremony_reply rep = call(&alice, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 409 && reason_has(&rep, "never used twice") && reason_has(&rep, "new spec"),
          "a committed ceremony's id cannot start again: 409 (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_COMMIT, r.id, NULL);
    CHECK(rep.status == 200 && strcmp(state_of(&rep), "committed") == 0 &&
              json_equal(json_object_get(rep.body, "keys"), json_object_get(r.last[1], "keys")) &&
              bob.commits == 3,
          "commit again: 200 with the same keys, nothing reloaded (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_ABORT, r.id, NULL);
    CHECK(rep.status == 409 && reason_has(&rep, "committed"), "abort after commit: 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    CHECK(strcmp(status_of(&carol, r.id), "committed") == 0, "status: committed");
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* the reshare of key 0: alice 2 -> 1, bob 1 -> 2, carol 2 -> 0, dave joins with 2 */
    server *four[] = {&alice, &bob, &carol, &dave};
    member next[] = {{&alice, 1}, {&bob, 2}, {&carol, 0}, {&dave, 2}};
    spec = make_spec(TKMS_CEREMONY_RESHARE, next, 4, 2, 1, key0.group, key0.owners);
    relay_init(&r, spec, four, 4, NULL);
    done = relay_run(&r);
    CHECK(done, "reshare: every server is done (%s)", r.failure);
    if (done) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        relay_key(&r, 0, key);
        CHECK(memcmp(key, keys[0], sizeof key) == 0, "reshare: the group key stays");
        /* a second reshare of the same key while this one is done: refused */
        member again[] = {{&alice, 1}, {&bob, 1}, {&carol, 1}};
        tkms_group_file copy;
        load_group(&alice, keys[0], &copy);
        tkms_ceremony_spec *other = make_spec(TKMS_CEREMONY_RESHARE, again, 3, 2, 1, copy.group,
                                              copy.owners);
        rep = call(&alice, OP_START, NULL, start_body(other));
        CHECK(rep.status == 409 && reason_has(&rep, "resharing the same key"),
              "a second live reshare of a key: 409 (%d %s)", rep.status, rep.reason);
        ceremony_reply_clear(&rep);
        tkms_ceremony_spec_free(other);

        size_t before[4] = {alice.commits, bob.commits, carol.commits, dave.commits};
        char bob_dir[PATH_MAX], mark[PATH_MAX + 16];
        key_dir(bob_dir, &bob, key);
        snprintf(mark, sizeof mark, "%s/locked", bob_dir);
        tkms_file_write_atomic(mark, "locked by an operator\n", 22, 0600, true, NULL);
        CHECK(relay_commit(&r), "reshare: every server commits");
        CHECK(path_exists(mark), "reshare: bob's operator lock survives the swap");
        for (size_t q = 0; q < 4; q++)
            CHECK(four[q]->commits == before[q] + 1 && memcmp(four[q]->last_commit, key, 48) == 0,
                  "reshare: on_commit for the key at %s", four[q]->id);
        server *holders[] = {&alice, &bob, &dave};
        tkms_group_file gf;
        tkms_share fresh[TKMS_MAX_SHARES];
        size_t n;
        check_key_store("reshare", holders, 3, key, &gf, fresh, &n);
        CHECK(gf.group != NULL && gf.group->threshold == 2 && gf.group->share_count == 5,
              "reshare: the key is now 2-of-5");
        char dir[PATH_MAX];
        key_dir(dir, &carol, key);
        CHECK(!path_exists(dir), "reshare: carol, who left, no longer has the key's directory");
        key_dir(dir, &alice, key);
        snprintf(path, sizeof path, "%s/share-2.json", dir);
        CHECK(!path_exists(path), "reshare: alice's old share 2 is gone");
        snprintf(path, sizeof path, "%s/ceremonies/%s/old-0", alice.dir, r.id);
        CHECK(!path_exists(path), "reshare: no old directory left behind");
        key_dir(dir, &carol, keys[1]);
        CHECK(path_exists(dir), "reshare: carol keeps the other keys");
        if (gf.group != NULL && n == 5) {
            /* an old share does not help the new ones */
            tkms_share mixed[2] = {fresh[0], old_shares[1]};
            CHECK(!shares_sign(gf.group, mixed, 2), "reshare: old and new shares do not mix");
        }
        tkms_wipe(fresh, sizeof fresh);
        tkms_group_file_clear(&gf);
    }
    tkms_wipe(old_shares, sizeof old_shares);
    (void)old_n;
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* a reshare whose old share is missing from the key store: 409, and
     * nothing recorded, so the same spec starts once the file is back */
    tkms_group_file now;
    if (!load_group(&alice, keys[0], &now))
        return;
    member again[] = {{&alice, 1}, {&bob, 1}, {&dave, 1}};
    spec = make_spec(TKMS_CEREMONY_RESHARE, again, 3, 2, 1, now.group, now.owners);
    char dir[PATH_MAX], moved[PATH_MAX + 32], id[TKMS_HEX_SIZE(32)];
    key_dir(dir, &alice, keys[0]);
    snprintf(path, sizeof path, "%s/share-1.json", dir);
    snprintf(moved, sizeof moved, "%s/../share-1.json.away", dir);
    id_hex_of(id, spec);
    CHECK(rename(path, moved) == 0, "reshare: alice's share moved away");
    rep = call(&alice, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 409 && reason_has(&rep, "lacks share 1"),
          "a reshare without the old share: 409 (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    CHECK(strcmp(status_of(&alice, id), "404") == 0, "a refused start leaves no record");
    CHECK(rename(moved, path) == 0, "reshare: alice's share is back");
    rep = call(&alice, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 200, "the same spec then starts (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&alice, OP_ABORT, id, NULL);
    ceremony_reply_clear(&rep);
    tkms_ceremony_spec_free(spec);
}

/* Aborts mid-ceremony and after done, then a fresh spec runs. */
static void test_abort(void)
{
    server *three[] = {&alice, &bob, &carol};
    member members[] = {{&alice, 1}, {&bob, 1}, {&carol, 1}};
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    relay r;
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_start(&r) && relay_round(&r, 1), "abort: rounds start (%s)", r.failure);
    relay_abort(&r);
    CHECK(strcmp(status_of(&bob, r.id), "aborted") == 0, "abort: status aborted");
    ceremony_reply rep = call(&bob, OP_ROUND, r.id, json_pack("{s:i, s:[]}", "round", 2, "messages"));
    CHECK(rep.status == 409 && reason_has(&rep, "aborted"), "abort: a round after it: 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_ABORT, r.id, NULL);
    CHECK(rep.status == 200, "abort: again, 200 (idempotent)");
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 409 && reason_has(&rep, "aborted"), "abort: the same spec again: 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* done, then aborted: the staged shares are deleted, nothing committed */
    spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_run(&r), "abort after done: the ceremony finishes (%s)", r.failure);
    char out[PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/ceremonies/%s/out", carol.dir, r.id);
    CHECK(path_exists(out), "abort after done: staged");
    relay_abort(&r);
    CHECK(!path_exists(out), "abort after done: the staged results are deleted");
    rep = call(&carol, OP_COMMIT, r.id, NULL);
    CHECK(rep.status == 409 && reason_has(&rep, "aborted"), "abort after done: commit 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    if (r.last[0] != NULL && json_array_size(json_object_get(r.last[0], "keys")) == 1) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        char dir[PATH_MAX];
        relay_key(&r, 0, key);
        key_dir(dir, &carol, key);
        CHECK(!path_exists(dir), "abort after done: the key never reached the key store");
    }
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* abort of an id never seen spends it */
    spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    relay_init(&r, spec, three, 3, NULL);
    rep = call(&carol, OP_ABORT, r.id, NULL);
    CHECK(rep.status == 200 && strcmp(status_of(&carol, r.id), "aborted") == 0,
          "abort of an unknown id: 200, recorded");
    ceremony_reply_clear(&rep);
    CHECK(!relay_run(&r) && strstr(r.failure, "start at carol: 409") != NULL,
          "a spec aborted before it reached a server cannot start there (%s)", r.failure);
    relay_abort(&r);
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* a fresh spec runs */
    spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_run(&r) && relay_commit(&r), "abort: a fresh spec then runs and commits (%s)",
          r.failure);
    relay_free(&r);
    tkms_ceremony_spec_free(spec);
}

/* A host re-created on the same data directory (as after a crash). */
static void test_restart(void)
{
    server *three[] = {&alice, &bob, &dave};
    member members[] = {{&alice, 1}, {&bob, 2}, {&dave, 1}};
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 2, NULL, NULL);
    relay r;
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_start(&r) && relay_round(&r, 1) && relay_round(&r, 2), "restart: two rounds (%s)",
          r.failure);
    ceremony_host_free(bob.host);   /* the process dies */
    server_open(&bob);
    CHECK(strcmp(status_of(&bob, r.id), "interrupted") == 0, "restart: the ceremony is interrupted");
    ceremony_reply rep = call(&bob, OP_ROUND, r.id, json_pack("{s:i, s:[]}", "round", 3, "messages"));
    CHECK(rep.status == 409 && reason_has(&rep, "interrupted by a restart") &&
              reason_has(&rep, "new spec"),
          "restart: round 409 interrupted (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_COMMIT, r.id, NULL);
    CHECK(rep.status == 409 && reason_has(&rep, "interrupted"), "restart: commit 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&bob, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 409 && reason_has(&rep, "interrupted"),
          "restart: the same spec cannot start again (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    relay_abort(&r);
    CHECK(strcmp(status_of(&bob, r.id), "aborted") == 0, "restart: aborted");
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* a stop in the middle of a commit: the next host finishes it */
    spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 2, NULL, NULL);
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_run(&r), "restart in commit: done (%s)", r.failure);
    ceremony_host_free(dave.host);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/ceremonies/%s/state", dave.dir, r.id);
    tkms_file_write_atomic(path, "committing\n", 11, 0600, false, NULL);
    CHECK(strcmp(status_of(&alice, r.id), "done") == 0, "restart in commit: alice is done");
    server_open(&dave);
    CHECK(strcmp(status_of(&dave, r.id), "committed") == 0,
          "restart in commit: the new host finished the commit");
    CHECK(relay_commit(&r), "restart in commit: every server commits (dave again: 200)");
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    for (size_t m = 0; m < 2; m++) {
        relay_key(&r, m, key);
        tkms_group_file gf;
        tkms_share shares[TKMS_MAX_SHARES];
        size_t n;
        check_key_store("restart in commit", three, 3, key, &gf, shares, &n);
        tkms_wipe(shares, sizeof shares);
        tkms_group_file_clear(&gf);
    }
    relay_free(&r);
    tkms_ceremony_spec_free(spec);
}

/* The relay alters messages. */
static int tamper_kind;

static json_t *flip(const char *hex, size_t at_from_end)
{
    char *copy = strdup(hex);
    size_t len = strlen(copy);
    copy[len - at_from_end] = copy[len - at_from_end] == '0' ? '1' : '0';
    json_t *s = json_string(copy);
    free(copy);
    return s;
}

static json_t *tamper(const tkms_message *m, uint32_t to, const char *hex)
{
    /* parties in spec order: alice 1, bob 2, carol 3 */
    if (tamper_kind == 1 && m->type == TKMS_MSG_SHARE && m->from_party == 3 && to == 2)
        return flip(hex, 10);                     /* the signature of carol's share to bob */
    if (tamper_kind == 2 && m->type == TKMS_MSG_DEAL && m->from_party == 3 && to == 2)
        return flip(hex, 200);                    /* inside carol's deal to bob */
    if (tamper_kind == 3 && m->round == 2 && to == 1 && m->from_party == 2)
        return json_string("0xnot-hex");
    if (tamper_kind == 4 && m->from_party == 3)
        return flip(hex, 10);                     /* everything carol sends, to everyone */
    return NULL;
}

static void test_tampering(void)
{
    server *three[] = {&alice, &bob, &carol};
    member members[] = {{&alice, 1}, {&bob, 2}, {&carol, 1}};
    static const char *const kinds[] = {"", "a sealed share", "a deal", "an echo (not hex)",
                                        "all of carol's messages"};
    for (tamper_kind = 1; tamper_kind <= 4; tamper_kind++) {
        tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
        relay r;
        relay_init(&r, spec, three, 3, tamper);
        bool done = relay_run(&r);
        size_t victim = tamper_kind == 3 ? 0 : 1;   /* alice (party 1) or bob (2) */
        CHECK(r.refused[victim] >= 1, "tamper %s: the victim lists the message as refused (%zu)",
              kinds[tamper_kind], r.refused[victim]);
        if (tamper_kind == 4) {
            /* the honest parties disqualify carol and finish; carol, whose
             * own view differs, fails: the relay aborts everywhere */
            for (size_t q = 0; q < 2; q++) {
                const json_t *dq = json_object_get(r.last[q], "disqualified");
                const char *who = json_string_value(json_object_get(json_array_get(dq, 0), "party"));
                CHECK(strcmp(json_string_value(json_object_get(r.last[q], "state")), "done") == 0 &&
                          json_array_size(dq) == 1 && who != NULL && strcmp(who, "carol") == 0,
                      "tamper %s: %s is done and disqualified carol", kinds[tamper_kind],
                      r.servers[q]->id);
            }
            CHECK(!done && strstr(r.failure, "carol ended failed") != NULL,
                  "tamper %s: carol failed, with the reason (%s)", kinds[tamper_kind], r.failure);
            relay_abort(&r);
        } else if (done) {
            /* relay_run: every server done with the same keys and transcript */
            size_t dq = json_array_size(json_object_get(r.last[0], "disqualified"));
            CHECK(dq == 0, "tamper %s: the message is recovered, nobody is disqualified (%zu)",
                  kinds[tamper_kind], dq);
            CHECK(relay_commit(&r), "tamper %s: commits", kinds[tamper_kind]);
        } else {
            CHECK(false, "tamper %s: the ceremony finishes (%s)", kinds[tamper_kind], r.failure);
            relay_abort(&r);
        }
        relay_free(&r);
        tkms_ceremony_spec_free(spec);
    }
}

/* Wrong rounds, ids, bodies and parties. */
static void test_bad_requests(void)
{
    server *three[] = {&alice, &bob, &carol};
    member members[] = {{&alice, 1}, {&bob, 1}, {&carol, 1}};
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    relay r;
    relay_init(&r, spec, three, 3, NULL);
    CHECK(relay_start(&r), "bad requests: started (%s)", r.failure);
    ceremony_reply rep = call(&alice, OP_ROUND, r.id, json_pack("{s:i, s:[]}", "round", 2, "messages"));
    CHECK(rep.status == 409 && reason_has(&rep, "not the current round"),
          "round 2 before round 1: 409 (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&alice, OP_COMMIT, r.id, NULL);
    CHECK(rep.status == 409 && reason_has(&rep, "still running"), "commit while running: 409 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&alice, OP_ROUND, r.id, json_pack("{s:i}", "round", 1));
    CHECK(rep.status == 400 && reason_has(&rep, "messages"), "no messages: 400 (%d %s)", rep.status,
          rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&alice, OP_ROUND, r.id, json_pack("{s:s, s:[]}", "round", "1", "messages"));
    CHECK(rep.status == 400 && reason_has(&rep, "round"), "a round that is a string: 400");
    ceremony_reply_clear(&rep);
    raw(OP_ROUND, &alice, r.id, "{\"round\":1,\"round\":1,\"messages\":[]}", &rep);
    CHECK(rep.status == 400, "duplicate keys: 400 (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    raw(OP_ROUND, &alice, r.id, "{\"round\":", &rep);
    CHECK(rep.status == 400 && reason_has(&rep, "not valid JSON"), "truncated JSON: 400");
    ceremony_reply_clear(&rep);
    raw(OP_ROUND, &alice, r.id, NULL, &rep);
    CHECK(rep.status == 400, "no body: 400");
    ceremony_reply_clear(&rep);
    CHECK(relay_round(&r, 1), "round 1 (%s)", r.failure);
    json_t *empty = json_pack("{s:i, s:[]}", "round", 1, "messages");
    rep = call(&alice, OP_ROUND, r.id, empty);
    CHECK(rep.status == 409 && reason_has(&rep, "each round is closed once"),
          "round 1 again: 409 (%d %s)", rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    rep = call(&alice, OP_ROUND, "0x1234", json_pack("{s:i, s:[]}", "round", 1, "messages"));
    CHECK(rep.status == 400, "a short id: 400");
    ceremony_reply_clear(&rep);
    char unknown[TKMS_HEX_SIZE(32)];
    uint8_t other[32];
    tkms_rng_fill(&rng.base, other, sizeof other);
    tkms_hex_encode(unknown, other, sizeof other);
    rep = call(&alice, OP_ROUND, unknown, json_pack("{s:i, s:[]}", "round", 1, "messages"));
    CHECK(rep.status == 404, "an unknown id: 404 (%d)", rep.status);
    ceremony_reply_clear(&rep);
    CHECK(strcmp(status_of(&alice, unknown), "404") == 0, "status of an unknown id: 404");
    CHECK(strcmp(status_of(&alice, r.id + 2), "running") == 0, "status with a bare hex id");
    rep = call(&alice, OP_STATUS, r.id, NULL);
    CHECK(rep.status == 200 && json_integer_value(json_object_get(rep.body, "round")) == 2,
          "status: round 2");
    ceremony_reply_clear(&rep);
    relay_abort(&r);
    relay_free(&r);
    tkms_ceremony_spec_free(spec);

    /* dave is no party; a spec that gives bob another identity */
    spec = make_spec(TKMS_CEREMONY_DKG, members, 3, 2, 1, NULL, NULL);
    rep = call(&dave, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 403 && reason_has(&rep, "not a party"), "not a party: 403 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    tkms_ceremony_spec_free(spec);
    server impostor = bob;
    tkms_identity_generate(&impostor.identity, &rng.base);
    member fake[] = {{&alice, 1}, {&impostor, 1}, {&carol, 1}};
    spec = make_spec(TKMS_CEREMONY_DKG, fake, 3, 2, 1, NULL, NULL);
    rep = call(&bob, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 403 && reason_has(&rep, "identity"), "another identity: 403 (%d %s)",
          rep.status, rep.reason);
    ceremony_reply_clear(&rep);
    CHECK(strcmp(status_of(&bob, "x"), "?") == 0, "status of a bad id: not 200");
    char id[TKMS_HEX_SIZE(32)];
    id_hex_of(id, spec);
    CHECK(strcmp(status_of(&bob, id), "404") == 0, "a refused start records nothing");
    tkms_identity_wipe(&impostor.identity);
    tkms_ceremony_spec_free(spec);
    raw(OP_START, &alice, NULL, "{\"spec\": 1}", &rep);
    CHECK(rep.status == 400 && reason_has(&rep, "spec"), "start without a spec: 400");
    ceremony_reply_clear(&rep);
    raw(OP_START, &alice, NULL, "{\"spec\": {\"version\": 1}}", &rep);
    CHECK(rep.status == 400, "start with a bad spec: 400 (%s)", rep.reason);
    ceremony_reply_clear(&rep);
}

/* At most CEREMONY_HOST_MAX_LIVE ceremonies live at once. */
static void test_limit(void)
{
    member members[] = {{&alice, 1}, {&bob, 1}};
    tkms_ceremony_spec *specs[CEREMONY_HOST_MAX_LIVE + 1];
    int last = 0;
    for (size_t i = 0; i <= CEREMONY_HOST_MAX_LIVE; i++) {
        specs[i] = make_spec(TKMS_CEREMONY_DKG, members, 2, 1, 1, NULL, NULL);
        ceremony_reply rep = call(&alice, OP_START, NULL, start_body(specs[i]));
        if (i < CEREMONY_HOST_MAX_LIVE)
            CHECK(rep.status == 200, "limit: ceremony %zu starts (%d %s)", i, rep.status, rep.reason);
        last = rep.status;
        ceremony_reply_clear(&rep);
    }
    CHECK(last == 503, "limit: one more is 503 (%d)", last);
    for (size_t i = 0; i <= CEREMONY_HOST_MAX_LIVE; i++) {
        char id[TKMS_HEX_SIZE(32)];
        id_hex_of(id, specs[i]);
        ceremony_reply rep = call(&alice, OP_ABORT, id, NULL);
        CHECK(rep.status == 200, "limit: abort %zu", i);
        ceremony_reply_clear(&rep);
        tkms_ceremony_spec_free(specs[i]);
    }
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 2, 1, 1, NULL, NULL);
    ceremony_reply rep = call(&alice, OP_START, NULL, start_body(spec));
    CHECK(rep.status == 200, "limit: after the aborts a ceremony starts again (%d)", rep.status);
    ceremony_reply_clear(&rep);
    char id[TKMS_HEX_SIZE(32)];
    id_hex_of(id, spec);
    rep = call(&alice, OP_ABORT, id, NULL);
    ceremony_reply_clear(&rep);
    tkms_ceremony_spec_free(spec);
}

/* An abort while a round is being processed. */
typedef struct {
    server *s;
    const char *id;
    json_t *body;
    ceremony_reply reply;
} round_job;

static void *round_thread(void *arg)
{
    round_job *j = arg;
    j->reply = call(j->s, OP_ROUND, j->id, j->body);
    return NULL;
}

static void test_abort_during_round(void)
{
    server *two[] = {&alice, &bob};
    member members[] = {{&alice, 2}, {&bob, 2}};
    unsigned busy_seen = 0;
    for (unsigned wait_us = 0; wait_us <= 30000; wait_us += 10000) {
        tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_DKG, members, 2, 3, 200, NULL, NULL);
        relay r;
        relay_init(&r, spec, two, 2, NULL);
        CHECK(relay_start(&r), "abort during a round: started (%s)", r.failure);
        round_job job = {.s = &bob, .id = r.id,
                         .body = json_pack("{s:i, s:O}", "round", 1, "messages", r.inbox[1])};
        pthread_t t;
        pthread_create(&t, NULL, round_thread, &job);
        usleep(wait_us);
        ceremony_reply rep = call(&bob, OP_ABORT, r.id, NULL);
        CHECK(rep.status == 200, "abort during a round: 200 (%d %s)", rep.status, rep.reason);
        ceremony_reply_clear(&rep);
        pthread_join(t, NULL);
        busy_seen += job.reply.status == 409 && reason_has(&job.reply, "aborted while");
        CHECK(job.reply.status == 200 ||
                  (job.reply.status == 409 && reason_has(&job.reply, "aborted")),
              "abort during a round: the round answers 200 (done first) or 409 (%d %s)",
              job.reply.status, job.reply.reason);
        ceremony_reply_clear(&job.reply);
        CHECK(strcmp(status_of(&bob, r.id), "aborted") == 0, "abort during a round: aborted");
        rep = call(&bob, OP_ROUND, r.id, json_pack("{s:i, s:[]}", "round", 2, "messages"));
        CHECK(rep.status == 409, "abort during a round: no more rounds");
        ceremony_reply_clear(&rep);
        relay_abort(&r);
        relay_free(&r);
        tkms_ceremony_spec_free(spec);
    }
    /* timing decides which path each run takes; both are checked above */
    printf("abort during a round: %u of 4 aborts arrived while the round was processed\n",
           busy_seen);
}

/* Two relays at once on the same hosts. */
static void *relay_thread(void *arg)
{
    relay *r = arg;
    if (relay_run(r))
        relay_commit(r);
    return NULL;
}

static void test_concurrent(void)
{
    server *three[] = {&alice, &bob, &carol};
    member a[] = {{&alice, 1}, {&bob, 1}, {&carol, 1}};
    member b[] = {{&alice, 2}, {&bob, 1}, {&carol, 1}};
    tkms_ceremony_spec *s1 = make_spec(TKMS_CEREMONY_DKG, a, 3, 2, 2, NULL, NULL);
    tkms_ceremony_spec *s2 = make_spec(TKMS_CEREMONY_DKG, b, 3, 3, 1, NULL, NULL);
    relay r1, r2;
    relay_init(&r1, s1, three, 3, NULL);
    relay_init(&r2, s2, three, 3, NULL);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, relay_thread, &r1);
    pthread_create(&t2, NULL, relay_thread, &r2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(r1.failure[0] == '\0' && r2.failure[0] == '\0', "concurrent: both ceremonies finish (%s%s)",
          r1.failure, r2.failure);
    CHECK(strcmp(status_of(&carol, r1.id), "committed") == 0 &&
              strcmp(status_of(&carol, r2.id), "committed") == 0,
          "concurrent: both committed");
    relay_free(&r1);
    relay_free(&r2);
    tkms_ceremony_spec_free(s1);
    tkms_ceremony_spec_free(s2);
}

int main(void)
{
    uint8_t seed[32] = "tkms ceremony host test seed";
    tkms_rng_seeded_init(&rng, seed);
    tkms_kdf_params_default(&kdf);
    kdf.scrypt_n = 1024;
    if (mkdtemp(root_dir) == NULL)
        test_fatal("mkdtemp");
    server_init(&alice, "alice");
    server_init(&bob, "bob");
    server_init(&carol, "carol");
    server_init(&dave, "dave");

    test_dkg_then_reshare();
    test_abort();
    test_restart();
    test_tampering();
    test_bad_requests();
    test_concurrent();
    test_limit();
    test_abort_during_round();

    server_free(&alice);
    server_free(&bob);
    server_free(&carol);
    server_free(&dave);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root_dir);
    if (test_failed == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root_dir);
    return test_report();
}
