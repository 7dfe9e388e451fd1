/*
 * signer.c — the signing core of a threshold server: checks a structured
 * sign request, records it (slashing protection, audit log) and only then
 * returns this server's partial signatures, in a response signed with the
 * server's identity key. The contract is in signer.h.
 */
#include "signer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tkms/bls.h"
#include "tkms/combine.h"
#include "tkms/hex.h"
#include "tkms/secmem.h"
#include "record_queue.h"

/* One share held, with the group key it belongs to. Kept sorted by
 * (group key bytes, index), so a key's shares are adjacent and ascending. */
typedef struct {
    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_share share;                                /* secret */
} held_share;

/* A key that is not simply "ready": locked by an operator, or
 * unavailable (its keystore could not be read) with the reason. */
typedef struct {
    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_signer_key_state state;
    char reason[TKMS_ERR_MESSAGE_SIZE];
} key_mark;

/*
 * Locks: `keys` (a reader-writer lock preferring writers) guards the
 * shares and the marks: sign requests read them for their whole length,
 * so signing runs in parallel; adding, removing and marking keys write.
 * `records` (record_queue.c) serializes the slashing database and the
 * audit log, whose handles are single-threaded, and groups the records
 * of concurrent requests into one commit; it is always entered after
 * `keys`.
 */
struct tkms_signer {
    tkms_identity identity;                          /* secret */
    tkms_eth2_chain chain;
    held_share *shares;
    size_t share_count, share_capacity;
    key_mark *marks;
    size_t mark_count;
    tkms_signer_authorizer authorize;
    void *authorize_arg;
    pthread_rwlock_t keys;
    record_queue *records;
    bool lie;                                        /* fault injection */
};

static const size_t CONTEXT_SIZE = sizeof TKMS_SIGNER_RESPONSE_CONTEXT; /* with NUL */

/* ---- shares ------------------------------------------------------------- */

static int held_compare(const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE], uint32_t index,
                        const held_share *held)
{
    int c = memcmp(group_key, held->group_key, TKMS_PUBLIC_KEY_SIZE);
    if (c != 0)
        return c;
    return index < held->share.index ? -1 : index > held->share.index ? 1 : 0;
}

/* The first held share of group_key (*count of them, adjacent), or NULL. */
static const held_share *find_shares(const tkms_signer *signer,
                                     const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                     size_t *count)
{
    *count = 0;
    for (size_t i = 0; i < signer->share_count; i++) {
        if (memcmp(signer->shares[i].group_key, group_key, TKMS_PUBLIC_KEY_SIZE) != 0)
            continue;
        size_t n = 1;
        while (i + n < signer->share_count &&
               memcmp(signer->shares[i + n].group_key, group_key, TKMS_PUBLIC_KEY_SIZE) == 0)
            n++;
        *count = n;
        return &signer->shares[i];
    }
    return NULL;
}

size_t tkms_signer_share_count(tkms_signer *signer,
                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    size_t count = 0;
    if (signer != NULL && group_key != NULL) {
        pthread_rwlock_rdlock(&signer->keys);
        find_shares(signer, group_key, &count);
        pthread_rwlock_unlock(&signer->keys);
    }
    return count;
}

static key_mark *find_mark(const tkms_signer *signer,
                           const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    for (size_t i = 0; i < signer->mark_count; i++)
        if (memcmp(signer->marks[i].group_key, group_key, TKMS_PUBLIC_KEY_SIZE) == 0)
            return &signer->marks[i];
    return NULL;
}

static tkms_status add_share_locked(tkms_signer *signer, const tkms_share_info *info,
                                    const tkms_share *share, tkms_err *err)
{
    if (share->index != info->index || share->index == 0 ||
        share->index > info->share_count)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "signer: share index %u does not match its description (%u of %u)",
                         share->index, info->index, info->share_count);

    tkms_public_key expected, actual;
    tkms_status st = tkms_share_public_key(&expected, info->commitments, info->threshold,
                                           share->index);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "signer: no share public key for index %u", share->index);
    tkms_public_key_from_secret(&actual, &share->key);
    if (!tkms_public_key_equal(&expected, &actual))
        return tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                         "signer: share %u does not match the key's commitments",
                         share->index);

    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(group_key, &info->group_key);

    size_t at = 0;
    while (at < signer->share_count) {
        int c = held_compare(group_key, share->index, &signer->shares[at]);
        if (c == 0)
            return tkms_fail(err, TKMS_ERR_DUPLICATE_INDEX,
                             "signer: share %u of this key is held already", share->index);
        if (c < 0)
            break;
        at++;
    }

    if (signer->share_count == signer->share_capacity) {
        /* Grow by copying into fresh memory, so no share is left behind
         * unwiped in a block realloc would have freed. */
        size_t capacity = signer->share_capacity ? 2 * signer->share_capacity : 8;
        held_share *grown = calloc(capacity, sizeof *grown);
        if (grown == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "signer: out of memory");
        if (signer->share_count > 0)
            memcpy(grown, signer->shares, signer->share_count * sizeof *grown);
        tkms_wipe(signer->shares, signer->share_capacity * sizeof *signer->shares);
        free(signer->shares);
        signer->shares = grown;
        signer->share_capacity = capacity;
    }
    memmove(&signer->shares[at + 1], &signer->shares[at],
            (signer->share_count - at) * sizeof *signer->shares);
    memcpy(signer->shares[at].group_key, group_key, TKMS_PUBLIC_KEY_SIZE);
    signer->shares[at].share = *share;
    signer->share_count++;
    return TKMS_OK;
}

tkms_status tkms_signer_add_share(tkms_signer *signer, const tkms_share_info *info,
                                  const tkms_share *share, tkms_err *err)
{
    if (signer == NULL || info == NULL || share == NULL || info->commitments == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "signer: missing argument");
    pthread_rwlock_wrlock(&signer->keys);
    tkms_status st = add_share_locked(signer, info, share, err);
    pthread_rwlock_unlock(&signer->keys);
    return st;
}

size_t tkms_signer_remove_key(tkms_signer *signer,
                              const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    if (signer == NULL || group_key == NULL)
        return 0;
    pthread_rwlock_wrlock(&signer->keys);
    size_t count;
    const held_share *first = find_shares(signer, group_key, &count);
    if (first != NULL) {
        size_t at = (size_t)(first - signer->shares);
        for (size_t i = at; i < at + count; i++)
            tkms_share_wipe(&signer->shares[i].share);
        memmove(&signer->shares[at], &signer->shares[at + count],
                (signer->share_count - at - count) * sizeof *signer->shares);
        signer->share_count -= count;
        tkms_wipe(&signer->shares[signer->share_count], count * sizeof *signer->shares);
    }
    pthread_rwlock_unlock(&signer->keys);
    return count;
}

tkms_status tkms_signer_mark_key(tkms_signer *signer,
                                 const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                 tkms_signer_key_state state, const char *reason)
{
    if (signer == NULL || group_key == NULL || state > TKMS_SIGNER_KEY_UNAVAILABLE)
        return TKMS_ERR_INVALID_ARGUMENT;
    tkms_status st = TKMS_OK;
    pthread_rwlock_wrlock(&signer->keys);
    key_mark *mark = find_mark(signer, group_key);
    if (state == TKMS_SIGNER_KEY_READY) {
        if (mark != NULL)
            *mark = signer->marks[--signer->mark_count];
    } else {
        if (mark == NULL) {
            key_mark *grown = realloc(signer->marks,
                                      (signer->mark_count + 1) * sizeof *signer->marks);
            if (grown == NULL) {
                st = TKMS_ERR_NO_MEMORY;
                goto done;
            }
            signer->marks = grown;
            mark = &signer->marks[signer->mark_count++];
            memcpy(mark->group_key, group_key, TKMS_PUBLIC_KEY_SIZE);
        }
        mark->state = state;
        snprintf(mark->reason, sizeof mark->reason, "%s", reason != NULL ? reason : "");
    }
done:
    pthread_rwlock_unlock(&signer->keys);
    return st;
}

void tkms_signer_count_keys(tkms_signer *signer, tkms_signer_key_counts *out)
{
    memset(out, 0, sizeof *out);
    if (signer == NULL)
        return;
    pthread_rwlock_rdlock(&signer->keys);
    out->shares = signer->share_count;
    size_t held = 0;      /* distinct keys among the shares (sorted by key) */
    for (size_t i = 0; i < signer->share_count; i++)
        held += i == 0 || memcmp(signer->shares[i].group_key, signer->shares[i - 1].group_key,
                                 TKMS_PUBLIC_KEY_SIZE) != 0;
    size_t marked_held = 0;
    for (size_t m = 0; m < signer->mark_count; m++) {
        const key_mark *mark = &signer->marks[m];
        size_t count;
        if (find_shares(signer, mark->group_key, &count) != NULL)
            marked_held++;
        if (mark->state == TKMS_SIGNER_KEY_LOCKED)
            out->locked++;
        else if (mark->state == TKMS_SIGNER_KEY_UNAVAILABLE)
            out->unavailable++;
    }
    out->ready = held - marked_held;
    pthread_rwlock_unlock(&signer->keys);
}

tkms_signer_key_state tkms_signer_key_state_of(tkms_signer *signer,
                                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                               char reason[TKMS_ERR_MESSAGE_SIZE])
{
    tkms_signer_key_state state = TKMS_SIGNER_KEY_READY;
    if (reason != NULL)
        reason[0] = '\0';
    if (signer == NULL || group_key == NULL)
        return state;
    pthread_rwlock_rdlock(&signer->keys);
    const key_mark *mark = find_mark(signer, group_key);
    if (mark != NULL) {
        state = mark->state;
        if (reason != NULL)
            memcpy(reason, mark->reason, TKMS_ERR_MESSAGE_SIZE);
    }
    pthread_rwlock_unlock(&signer->keys);
    return state;
}

void tkms_signer_inject_invalid_partials(tkms_signer *signer, bool lie)
{
    if (signer != NULL)
        signer->lie = lie;
}

void tkms_signer_set_authorizer(tkms_signer *signer, tkms_signer_authorizer authorize,
                                void *arg)
{
    if (signer == NULL)
        return;
    pthread_rwlock_wrlock(&signer->keys);
    signer->authorize = authorize;
    signer->authorize_arg = arg;
    pthread_rwlock_unlock(&signer->keys);
}

tkms_status tkms_signer_with_records(tkms_signer *signer, tkms_signer_records_fn fn,
                                     void *arg, tkms_err *err)
{
    if (signer == NULL || fn == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "signer: missing argument");
    return record_queue_exclusive(signer->records, fn, arg, err);
}

void tkms_signer_records_stats(tkms_signer *signer, tkms_signer_record_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (signer != NULL)
        record_queue_stats(signer->records, out);
}

/* ---- life cycle ----------------------------------------------------------- */

tkms_status tkms_signer_new(tkms_signer **out, const tkms_identity *identity,
                            const tkms_eth2_chain *chain, tkms_slashing_db *slashing,
                            tkms_audit *audit, tkms_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || identity == NULL || chain == NULL || slashing == NULL || audit == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "signer: missing argument");
    tkms_signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "signer: out of memory");
    signer->identity = *identity;
    signer->chain = *chain;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* An operator's change must not wait behind an endless stream of
     * sign requests. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int failed = pthread_rwlock_init(&signer->keys, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (failed || record_queue_new(&signer->records, slashing, audit) != TKMS_OK) {
        if (!failed)
            pthread_rwlock_destroy(&signer->keys);
        tkms_identity_wipe(&signer->identity);
        free(signer);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "signer: cannot create its locks");
    }
    *out = signer;
    return TKMS_OK;
}

void tkms_signer_free(tkms_signer *signer)
{
    if (signer == NULL)
        return;
    for (size_t i = 0; i < signer->share_count; i++)
        tkms_share_wipe(&signer->shares[i].share);
    tkms_wipe(signer->shares, signer->share_capacity * sizeof *signer->shares);
    free(signer->shares);
    free(signer->marks);
    pthread_rwlock_destroy(&signer->keys);
    record_queue_free(signer->records);
    tkms_identity_wipe(&signer->identity);
    tkms_wipe(signer, sizeof *signer);
    free(signer);
}

void tkms_signer_result_free(tkms_signer_result *result)
{
    if (result == NULL)
        return;
    free(result->body);
    memset(result, 0, sizeof *result);
}

/* ---- canonical bytes -------------------------------------------------------- */

/* Room for the canonical text of `count` partials plus the signature
 * member that turns it into the response (and a NUL). */
static size_t response_max_size(const char *type, size_t count)
{
    return 128 + strlen(type) + TKMS_HEX_SIZE(TKMS_IDENTITY_PUBLIC_SIZE) +
           TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE) + TKMS_HEX_SIZE(TKMS_ROOT_SIZE) +
           count * (40 + TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)) +
           TKMS_HEX_SIZE(TKMS_IDENTITY_SIGNATURE_SIZE);
}

typedef struct {
    char *text;
    size_t len, capacity;
    bool overflow;
} text_buffer;

static void put_text(text_buffer *b, const char *s)
{
    size_t n = strlen(s);
    if (b->overflow || b->len + n + 1 > b->capacity) {
        b->overflow = true;
        return;
    }
    memcpy(b->text + b->len, s, n + 1);
    b->len += n;
}

static void put_hex(text_buffer *b, const uint8_t *bytes, size_t len)
{
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];   /* the longest value */
    tkms_hex_encode(hex, bytes, len);
    put_text(b, "\"");
    put_text(b, hex);
    put_text(b, "\"");
}

/* Appends the canonical bytes (signer.h) to b. */
static void put_canonical(text_buffer *b, const uint8_t server[TKMS_IDENTITY_PUBLIC_SIZE],
                          const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE], const char *type,
                          const uint8_t signing_root[TKMS_ROOT_SIZE],
                          const tkms_partial *partials, size_t count)
{
    put_text(b, "{\"server\":");
    put_hex(b, server, TKMS_IDENTITY_PUBLIC_SIZE);
    put_text(b, ",\"group_public_key\":");
    put_hex(b, group_key, TKMS_PUBLIC_KEY_SIZE);
    put_text(b, ",\"type\":\"");
    put_text(b, type);                        /* a known type name: no escaping */
    put_text(b, "\",\"signing_root\":");
    put_hex(b, signing_root, TKMS_ROOT_SIZE);
    put_text(b, ",\"partials\":[");
    for (size_t i = 0; i < count; i++) {
        char index[32];
        snprintf(index, sizeof index, "%s{\"index\":%u,\"signature\":", i ? "," : "",
                 partials[i].index);
        put_text(b, index);
        put_hex(b, partials[i].signature, TKMS_SIGNATURE_SIZE);
        put_text(b, "}");
    }
    put_text(b, "]}");
}

/* ---- one request ------------------------------------------------------------ */

/* Answers with the entry's final decision: out->status and reason, err,
 * and the returned status (TKMS_OK exactly for 200). */
static tkms_status answer(record_entry *entry, tkms_signer_result *out, tkms_err *err)
{
    out->status = entry->http;
    snprintf(out->reason, sizeof out->reason, "%s", entry->reason);
    if (entry->status == TKMS_OK) {
        tkms_err_clear(err);
        return TKMS_OK;
    }
    return tkms_fail(err, entry->status, "%s", out->reason);
}

/* Records a decision the request already has (http/st/reason, no
 * slashing check): queues the entry, waits for its audit record and
 * answers (503 when the audit record could not be written). */
static tkms_status decide(tkms_signer *signer, record_entry *entry, int http, tkms_status st,
                          const char *reason, tkms_signer_result *out, tkms_err *err)
{
    entry->check = RECORD_CHECK_NONE;
    entry->http = http;
    entry->status = st;
    snprintf(entry->reason, sizeof entry->reason, "%s", reason);
    record_queue_submit(signer->records, entry);
    return answer(entry, out, err);
}

/* The slashing check a request needs (BLOCK_V2 and ATTESTATION), in the
 * entry: the committer runs it in its batch. */
static void set_check(record_entry *entry, const tkms_eth2_request *req,
                      const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE])
{
    entry->check = req->type == TKMS_ETH2_BLOCK_V2      ? RECORD_CHECK_BLOCK
                   : req->type == TKMS_ETH2_ATTESTATION ? RECORD_CHECK_ATTESTATION
                                                        : RECORD_CHECK_NONE;
    memcpy(entry->pubkey, group_key, TKMS_PUBLIC_KEY_SIZE);
    entry->slot_or_source = req->type == TKMS_ETH2_BLOCK_V2 ? req->slot : req->source_epoch;
    entry->target = req->type == TKMS_ETH2_BLOCK_V2 ? 0 : req->target_epoch;
    memcpy(entry->signing_root, req->signing_root, TKMS_ROOT_SIZE);
    entry->has_genesis = req->has_fork_info;
    if (req->has_fork_info)
        memcpy(entry->genesis_root, req->fork_info.genesis_validators_root, TKMS_ROOT_SIZE);
    /* allowed unless the check says otherwise */
    entry->http = 200;
    entry->status = TKMS_OK;
    entry->reason[0] = '\0';
}

/* Signs the root with each share and writes the signed response into
 * `buf` (`capacity` bytes from response_max_size plus CONTEXT_SIZE).
 * Does not allocate: called only after the records are durable. */
static size_t write_response(const tkms_signer *signer, const held_share *shares, size_t count,
                             const tkms_eth2_request *req, tkms_partial *partials,
                             char *buf, size_t capacity)
{
    blst_p2 hash;
    uint8_t root[TKMS_ROOT_SIZE];
    memcpy(root, req->signing_root, sizeof root);
    if (signer->lie)
        root[0] ^= 1;      /* fault injection: a valid point, the wrong partial */
    tkms_hash_to_g2(&hash, root, TKMS_ROOT_SIZE);
    for (size_t i = 0; i < count; i++) {
        tkms_signature sig;
        tkms_sign_hashed(&sig, &shares[i].share.key, &hash);
        partials[i].index = shares[i].share.index;
        tkms_signature_to_bytes(partials[i].signature, &sig);
    }

    /* buf = context NUL canonical; Ed25519 over all of it */
    memcpy(buf, TKMS_SIGNER_RESPONSE_CONTEXT, CONTEXT_SIZE);
    text_buffer b = {buf + CONTEXT_SIZE, 0, capacity - CONTEXT_SIZE, false};
    put_canonical(&b, signer->identity.public_key, shares[0].group_key,
                  tkms_eth2_type_name(req->type), req->signing_root, partials, count);
    if (b.overflow)
        return 0;
    uint8_t signature[TKMS_IDENTITY_SIGNATURE_SIZE];
    tkms_identity_sign(signature, &signer->identity, (const uint8_t *)buf,
                       CONTEXT_SIZE + b.len);

    /* the response: the canonical object with "signature" as last member */
    b.len--;                                            /* drop the final '}' */
    put_text(&b, ",\"signature\":");
    put_hex(&b, signature, sizeof signature);
    put_text(&b, "}");
    if (b.overflow)
        return 0;
    memmove(buf, buf + CONTEXT_SIZE, b.len + 1);
    return b.len;
}

/* tkms_signer_sign with the keys lock held for reading. */
static tkms_status sign_locked(tkms_signer *signer, const char *client,
                               const char *pubkey_hex, const char *body, size_t len,
                               tkms_signer_result *out, tkms_err *err)
{
    record_entry rec = {.client = client, .pubkey_hex = "", .type = "", .signing_root_hex = ""};
    char reason[TKMS_ERR_MESSAGE_SIZE];
    tkms_err e;
    tkms_err_clear(&e);
    /* Every path below submits `rec` once, which ends the request's
     * announcement (tkms_signer_announce). */

    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    if (tkms_hex_decode(group_key, sizeof group_key, pubkey_hex, &e) != TKMS_OK) {
        snprintf(reason, sizeof reason, "public key: %.200s", e.message);
        return decide(signer, &rec, 400, TKMS_ERR_BAD_FORMAT, reason, out, err);
    }
    tkms_hex_encode(rec.pubkey_hex, group_key, sizeof group_key);
    const key_mark *mark = find_mark(signer, group_key);
    if (mark != NULL && mark->state == TKMS_SIGNER_KEY_LOCKED) {
        snprintf(reason, sizeof reason, "key %s is locked", rec.pubkey_hex);
        return decide(signer, &rec, 423, TKMS_ERR_REFUSED, reason, out, err);
    }
    if (mark != NULL && mark->state == TKMS_SIGNER_KEY_UNAVAILABLE) {
        snprintf(reason, sizeof reason, "key %.98s is unavailable: %.120s", rec.pubkey_hex,
                 mark->reason);
        return decide(signer, &rec, 503, TKMS_ERR_IO, reason, out, err);
    }
    size_t count;
    const held_share *shares = find_shares(signer, group_key, &count);
    if (shares == NULL) {
        snprintf(reason, sizeof reason, "unknown public key %s", rec.pubkey_hex);
        return decide(signer, &rec, 404, TKMS_ERR_NOT_FOUND, reason, out, err);
    }

    tkms_eth2_request req;
    tkms_status st = tkms_eth2_parse_sign_request(&req, body != NULL ? body : "", len,
                                                  &signer->chain, &e);
    if (st == TKMS_ERR_VERIFY_FAILED) {        /* signing root mismatch: root known */
        rec.type = tkms_eth2_type_name(req.type);
        tkms_hex_encode(rec.signing_root_hex, req.signing_root, TKMS_ROOT_SIZE);
    }
    if (st != TKMS_OK)
        return decide(signer, &rec, record_http_of(st), st, e.message, out, err);
    rec.type = tkms_eth2_type_name(req.type);
    tkms_hex_encode(rec.signing_root_hex, req.signing_root, TKMS_ROOT_SIZE);

    if (signer->authorize != NULL &&
        !signer->authorize(signer->authorize_arg, client, req.type, group_key, reason)) {
        reason[sizeof reason - 1] = '\0';
        return decide(signer, &rec, 403, TKMS_ERR_REFUSED, reason, out, err);
    }

    if ((req.type == TKMS_ETH2_DEPOSIT || req.type == TKMS_ETH2_VALIDATOR_REGISTRATION) &&
        (!req.has_pubkey || memcmp(req.pubkey, group_key, sizeof group_key) != 0))
        return decide(signer, &rec, 400, TKMS_ERR_BAD_FORMAT,
                      "the pubkey in the request is not the key in the URL", out, err);

    /* Everything signing needs is allocated before anything is recorded,
     * so a recorded "signed" is always followed by a signature. */
    size_t capacity = CONTEXT_SIZE + response_max_size(rec.type, count);
    char *buf = malloc(capacity);
    tkms_partial *partials = calloc(count, sizeof *partials);
    if (buf == NULL || partials == NULL) {
        free(buf);
        free(partials);
        return decide(signer, &rec, 500, TKMS_ERR_NO_MEMORY, "out of memory", out, err);
    }

    /* The slashing record (BLOCK_V2, ATTESTATION) and the audit record are
     * made by a group commit, in the order the slashing database allows
     * them; this returns once both are durable (or failed). */
    set_check(&rec, &req, group_key);
    record_queue_submit(signer->records, &rec);
    st = answer(&rec, out, err);
    if (st != TKMS_OK) {
        free(buf);
        free(partials);
        return st;
    }

    size_t body_len = write_response(signer, shares, count, &req, partials, buf, capacity);
    free(partials);                 /* partial signatures are public */
    if (body_len == 0) {            /* cannot happen: the size is an upper bound */
        free(buf);
        out->status = 500;
        snprintf(out->reason, sizeof out->reason, "signer: response buffer too small");
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s", out->reason);
    }
    out->body = buf;
    out->body_len = body_len;
    return TKMS_OK;
}

void tkms_signer_announce(tkms_signer *signer)
{
    if (signer != NULL)
        record_queue_arrive(signer->records);
}

void tkms_signer_withdraw(tkms_signer *signer)
{
    if (signer != NULL)
        record_queue_withdraw(signer->records);
}

tkms_status tkms_signer_sign(tkms_signer *signer, const char *client,
                             const char *pubkey_hex, const char *body, size_t len,
                             tkms_signer_result *out, tkms_err *err)
{
    tkms_signer_announce(signer);
    return tkms_signer_sign_announced(signer, client, pubkey_hex, body, len, out, err);
}

tkms_status tkms_signer_sign_announced(tkms_signer *signer, const char *client,
                                       const char *pubkey_hex, const char *body, size_t len,
                                       tkms_signer_result *out, tkms_err *err)
{
    if (out == NULL || client == NULL || pubkey_hex == NULL || (body == NULL && len > 0))
        tkms_signer_withdraw(signer);       /* sign_locked is not reached */
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "signer: missing argument");
    memset(out, 0, sizeof *out);
    if (signer == NULL || client == NULL || pubkey_hex == NULL || (body == NULL && len > 0)) {
        out->status = 500;
        snprintf(out->reason, sizeof out->reason, "signer: missing argument");
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s", out->reason);
    }
    pthread_rwlock_rdlock(&signer->keys);
    tkms_status st = sign_locked(signer, client, pubkey_hex, body, len, out, err);
    pthread_rwlock_unlock(&signer->keys);
    return st;
}

/* ---- verifying a response --------------------------------------------------- */

static tkms_status hex_member(uint8_t *bytes, size_t size, json_t *obj, const char *key,
                              tkms_err *err)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL || tkms_hex_decode(bytes, size, s, NULL) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "sign response: %s must be %zu bytes of hex", key, size);
    return TKMS_OK;
}

/* The signing type named `name` into *out; NULL when there is none, else
 * its name. */
static const char *known_type_name(const char *name, tkms_eth2_type *out)
{
    for (int t = TKMS_ETH2_ATTESTATION; t <= TKMS_ETH2_BLS_TO_EXECUTION_CHANGE; t++) {
        const char *known = tkms_eth2_type_name((tkms_eth2_type)t);
        if (name != NULL && strcmp(name, known) == 0) {
            *out = (tkms_eth2_type)t;
            return known;
        }
    }
    return NULL;
}

/* Reads the partials array: 1..TKMS_MAX_SHARES entries, indices strictly
 * ascending. *out is malloc'ed. */
static tkms_status read_partials(json_t *array, tkms_partial **out, size_t *count,
                                 tkms_err *err)
{
    *out = NULL;
    size_t n = json_array_size(array);
    if (!json_is_array(array) || n == 0 || n > TKMS_MAX_SHARES)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "sign response: partials must be 1 to %u entries", TKMS_MAX_SHARES);
    tkms_partial *partials = calloc(n, sizeof *partials);
    if (partials == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *entry = json_array_get(array, i);
        json_t *index = json_object_get(entry, "index");
        json_int_t value = json_integer_value(index);
        if (json_object_size(entry) != 2 || !json_is_integer(index) || value < 1 ||
            value > TKMS_MAX_SHARES || (i > 0 && (uint32_t)value <= partials[i - 1].index)) {
            free(partials);
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "sign response: partials[%zu].index must be 1..%u, ascending",
                             i, TKMS_MAX_SHARES);
        }
        partials[i].index = (uint32_t)value;
        if (hex_member(partials[i].signature, TKMS_SIGNATURE_SIZE, entry, "signature", err) !=
            TKMS_OK) {
            free(partials);
            return TKMS_ERR_BAD_FORMAT;
        }
    }
    *out = partials;
    *count = n;
    return TKMS_OK;
}

/* tkms_signer_read_response, and without `check_signature` its parse. */
static tkms_status read_response(const char *json, size_t len,
                                 const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                 bool check_signature, tkms_signer_response *out, tkms_err *err)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (json == NULL || identity == NULL || out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "sign response: missing argument");
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root) || json_object_size(root) != 6) {
        json_decref(root);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "sign response: not a JSON object with the six members");
    }

    uint8_t server[TKMS_IDENTITY_PUBLIC_SIZE], group_key[TKMS_PUBLIC_KEY_SIZE];
    uint8_t signing_root[TKMS_ROOT_SIZE], signature[TKMS_IDENTITY_SIGNATURE_SIZE];
    tkms_eth2_type type_code = TKMS_ETH2_ATTESTATION;
    const char *type =
        known_type_name(json_string_value(json_object_get(root, "type")), &type_code);
    tkms_partial *partials = NULL;
    size_t count = 0;
    tkms_status st = hex_member(server, sizeof server, root, "server", err);
    if (st == TKMS_OK)
        st = hex_member(group_key, sizeof group_key, root, "group_public_key", err);
    if (st == TKMS_OK && type == NULL)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "sign response: type is not a signing type");
    if (st == TKMS_OK)
        st = hex_member(signing_root, sizeof signing_root, root, "signing_root", err);
    if (st == TKMS_OK)
        st = hex_member(signature, sizeof signature, root, "signature", err);
    if (st == TKMS_OK)
        st = read_partials(json_object_get(root, "partials"), &partials, &count, err);
    json_decref(root);
    if (st == TKMS_OK && memcmp(server, identity, sizeof server) != 0)
        st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED, "sign response: from another server");

    char *buf = NULL;
    if (st == TKMS_OK && check_signature) {
        size_t capacity = CONTEXT_SIZE + response_max_size(type, count);
        buf = malloc(capacity);
        if (buf == NULL) {
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
        } else {
            memcpy(buf, TKMS_SIGNER_RESPONSE_CONTEXT, CONTEXT_SIZE);
            text_buffer b = {buf + CONTEXT_SIZE, 0, capacity - CONTEXT_SIZE, false};
            put_canonical(&b, server, group_key, type, signing_root, partials, count);
            if (b.overflow || !tkms_identity_verify(identity, signature, (const uint8_t *)buf,
                                                    CONTEXT_SIZE + b.len))
                st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                               "sign response: the server's signature does not verify");
        }
    }
    free(buf);
    if (st != TKMS_OK) {
        free(partials);
        return st;
    }
    memcpy(out->group_key, group_key, sizeof group_key);
    out->type = type_code;
    memcpy(out->signing_root, signing_root, sizeof signing_root);
    out->partials = partials;
    out->count = count;
    tkms_err_clear(err);
    return TKMS_OK;
}

tkms_status tkms_signer_read_response(const char *json, size_t len,
                                      const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                      tkms_signer_response *out, tkms_err *err)
{
    return read_response(json, len, identity, true, out, err);
}

tkms_status tkms_signer_parse_response(const char *json, size_t len,
                                       const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                       tkms_signer_response *out, tkms_err *err)
{
    return read_response(json, len, identity, false, out, err);
}

void tkms_signer_response_free(tkms_signer_response *out)
{
    if (out == NULL)
        return;
    free(out->partials);
    memset(out, 0, sizeof *out);
}

tkms_status tkms_signer_verify_response(const char *json, size_t len,
                                        const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                        tkms_err *err)
{
    tkms_signer_response parsed;
    tkms_status st = tkms_signer_read_response(json, len, identity, &parsed, err);
    tkms_signer_response_free(&parsed);
    return st;
}
