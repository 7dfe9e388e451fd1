/*
 * record_queue.c — group commits of a signer's slashing checks and audit
 * records (record_queue.h): the queue and its committer, the batch of
 * slashing checks, and the "sign" audit records.
 */
#include "record_queue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/*
 * `lock` guards everything here but the handles. The two stages of a
 * commit are each run by one thread at a time, outside the lock: the
 * slashing stage by whoever set `checking`, the audit stage by the
 * committer of batch `audit_turn` (batches are numbered as they are
 * taken, so audit records go out in the order the slashing database
 * allowed them). record_queue_exclusive waits until no batch is in
 * either stage and holds new ones back (`exclusive`, and `claims` so that
 * a stream of batches cannot starve it).
 */
struct record_queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;       /* a stage was left, entries are done       */
    record_entry *head, *tail;    /* queued, not taken by a committer yet     */
    size_t queued;
    size_t arriving;              /* announced, not submitted yet             */
    bool gathering;               /* a committer waits for them               */
    bool checking;                /* a committer is gathering or in the
                                   * slashing stage                           */
    uint64_t next_batch;          /* number of the next batch taken           */
    uint64_t audit_turn;          /* the batch whose audit records go next    */
    bool exclusive;               /* record_queue_exclusive has the handles   */
    unsigned claims;              /* record_queue_exclusive calls waiting     */
    uint64_t commits, records, largest;
    tkms_slashing_db *slashing;   /* borrowed */
    tkms_audit *audit;            /* borrowed */
};

int record_http_of(tkms_status st)
{
    switch (st) {
    case TKMS_ERR_REFUSED:
        return 412;
    case TKMS_ERR_IO:
        return 503;
    case TKMS_ERR_NO_MEMORY:
        return 500;
    default:
        return 400;
    }
}

static void set_decision(record_entry *e, int http, tkms_status st, const char *reason)
{
    e->http = http;
    e->status = st;
    snprintf(e->reason, sizeof e->reason, "%s", reason);
}

/* ---- the slashing batch --------------------------------------------------------- */

/* Checks one entry in the batch. */
static void check_entry(record_queue *q, record_entry *e, bool *open, tkms_err *begin_err)
{
    uint8_t bound[TKMS_ROOT_SIZE];
    if (tkms_slashing_genesis_root(q->slashing, bound) != TKMS_OK) {
        set_decision(e, 503, TKMS_ERR_IO, "slashing database is not bound to a chain");
        return;
    }
    if (!e->has_genesis || memcmp(bound, e->genesis_root, TKMS_ROOT_SIZE) != 0) {
        set_decision(e, 400, TKMS_ERR_WRONG_GENESIS, "wrong genesis validators root");
        return;
    }
    /* Opened on the first check; when it cannot be, every check of the
     * batch fails alike (begin_err keeps why). */
    if (!*open && begin_err->status == TKMS_OK &&
        tkms_slashing_begin(q->slashing, begin_err) == TKMS_OK)
        *open = true;
    if (!*open) {
        set_decision(e, 503, TKMS_ERR_IO, begin_err->message);
        return;
    }
    tkms_err err;
    tkms_err_clear(&err);
    tkms_status st;
    if (e->check == RECORD_CHECK_BLOCK)
        st = tkms_slashing_check_block(q->slashing, e->pubkey, e->slot_or_source,
                                       e->signing_root, &err);
    else
        st = tkms_slashing_check_attestation(q->slashing, e->pubkey, e->slot_or_source,
                                             e->target, e->signing_root, &err);
    /* Anything but OK, a refusal or a bad argument means "could not check
     * or record": not signed, and the client may try again later. */
    if (st != TKMS_OK && st != TKMS_ERR_REFUSED && st != TKMS_ERR_INVALID_ARGUMENT &&
        st != TKMS_ERR_NO_MEMORY)
        st = TKMS_ERR_IO;
    e->in_slashing_batch = st == TKMS_OK || st == TKMS_ERR_REFUSED || st == TKMS_ERR_IO;
    if (st == TKMS_OK)
        set_decision(e, 200, TKMS_OK, "");
    else
        set_decision(e, record_http_of(st), st, err.message);
}

/* Step 1: every check of the batch in one slashing transaction. */
static void check_batch(record_queue *q, record_entry *const *batch, size_t n)
{
    bool open = false;
    tkms_err begin_err;
    tkms_err_clear(&begin_err);
    for (size_t i = 0; i < n; i++) {
        batch[i]->in_slashing_batch = false;
        if (batch[i]->check != RECORD_CHECK_NONE)
            check_entry(q, batch[i], &open, &begin_err);
    }
    if (!open)
        return;
    tkms_err err;
    if (tkms_slashing_commit(q->slashing, &err) == TKMS_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (batch[i]->in_slashing_batch)
            set_decision(batch[i], 503, TKMS_ERR_IO, err.message);
}

/* ---- the audit records ------------------------------------------------------------ */

/* A JSON string of at most `max` bytes of s, or "?" when it is not UTF-8. */
static json_t *audit_string(const char *s, size_t max)
{
    size_t len = strnlen(s, max);
    json_t *j = json_stringn(s, len);
    return j != NULL ? j : json_string("?");
}

/* The data of an entry's "sign" record (malloc'ed), or NULL: no memory. */
static char *audit_data(const record_entry *e)
{
    const char *outcome = e->http == 200   ? "signed"
                          : e->http == 412 ? "refused"
                          : e->http == 403 ? "denied"
                                           : "error";
    json_t *data = json_object();
    if (data == NULL ||
        json_object_set_new(data, "client", audit_string(e->client,
                                                         TKMS_SIGNER_MAX_CLIENT_SIZE)) ||
        json_object_set_new(data, "pubkey", json_string(e->pubkey_hex)) ||
        json_object_set_new(data, "type", json_string(e->type)) ||
        json_object_set_new(data, "signing_root", json_string(e->signing_root_hex)) ||
        json_object_set_new(data, "outcome", json_string(outcome)) ||
        json_object_set_new(data, "reason", audit_string(e->reason, TKMS_ERR_MESSAGE_SIZE))) {
        json_decref(data);
        return NULL;
    }
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(data);
    return text;
}

/* Step 2: one audit record per entry, in order, one write and one fsync.
 * A failure turns every decision of the batch into 503. */
static void audit_batch(record_queue *q, record_entry *const *batch, size_t n)
{
    char *texts[RECORD_QUEUE_MAX_BATCH];
    tkms_audit_record records[RECORD_QUEUE_MAX_BATCH];
    tkms_err err;
    tkms_err_clear(&err);
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i < n; i++) {
        texts[i] = audit_data(batch[i]);
        records[i] = (tkms_audit_record){"sign", texts[i]};
        if (texts[i] == NULL && st == TKMS_OK)
            st = tkms_fail(&err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    if (st == TKMS_OK)
        st = tkms_audit_append_batch(q->audit, records, n, &err);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    if (st == TKMS_OK)
        return;
    char reason[TKMS_ERR_MESSAGE_SIZE];
    snprintf(reason, sizeof reason, "could not write the audit log: %.200s", err.message);
    for (size_t i = 0; i < n; i++)
        set_decision(batch[i], 503, st == TKMS_ERR_NO_MEMORY ? TKMS_ERR_NO_MEMORY : TKMS_ERR_IO,
                     reason);
}

/* ---- the queue ---------------------------------------------------------------------- */

tkms_status record_queue_new(record_queue **out, tkms_slashing_db *slashing, tkms_audit *audit)
{
    *out = NULL;
    record_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return TKMS_ERR_NO_MEMORY;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q);
        return TKMS_ERR_NO_MEMORY;
    }
    pthread_condattr_t attr;
    bool made = pthread_condattr_init(&attr) == 0;
    if (made) {
        made = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
               pthread_cond_init(&q->changed, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!made) {
        pthread_mutex_destroy(&q->lock);
        free(q);
        return TKMS_ERR_NO_MEMORY;
    }
    q->slashing = slashing;
    q->audit = audit;
    *out = q;
    return TKMS_OK;
}

void record_queue_free(record_queue *q)
{
    if (q == NULL)
        return;
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* Commits a batch taken as number `seq` (called without the lock, with
 * `checking` set by the caller; returns with the lock held and the
 * batch's entries done). */
static void commit(record_queue *q, record_entry *const *batch, size_t n, uint64_t seq)
{
    check_batch(q, batch, n);

    /* The next batch may run its slashing stage while this one writes
     * its audit records: it sees this batch's records, committed. */
    pthread_mutex_lock(&q->lock);
    q->checking = false;
    pthread_cond_broadcast(&q->changed);
    while (q->audit_turn != seq)                  /* earlier batches first */
        pthread_cond_wait(&q->changed, &q->lock);
    pthread_mutex_unlock(&q->lock);

    audit_batch(q, batch, n);

    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < n; i++)
        batch[i]->done = true;          /* its owner may return (and free it) now */
    q->audit_turn++;
    q->commits++;
    q->records += n;
    if (n > q->largest)
        q->largest = n;
    pthread_cond_broadcast(&q->changed);
}

void record_queue_arrive(record_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->arriving++;
    pthread_mutex_unlock(&q->lock);
}

void record_queue_withdraw(record_queue *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->arriving > 0)
        q->arriving--;
    if (q->gathering)
        pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* The committer (lock held, `checking` set by it) lets the announced
 * requests join its batch: waits until they are all queued, a batch is
 * full, or RECORD_QUEUE_GATHER_US have passed. */
static void gather(record_queue *q)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += RECORD_QUEUE_GATHER_US * 1000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    q->gathering = true;
    while (q->arriving > 0 && q->queued < RECORD_QUEUE_MAX_BATCH &&
           pthread_cond_timedwait(&q->changed, &q->lock, &until) == 0)
        ;
    q->gathering = false;
}

void record_queue_submit(record_queue *q, record_entry *entry)
{
    entry->next = NULL;
    entry->taken = false;
    entry->done = false;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL)
        q->tail->next = entry;
    else
        q->head = entry;
    q->tail = entry;
    q->queued++;
    if (q->arriving > 0)
        q->arriving--;
    if (q->gathering)
        pthread_cond_broadcast(&q->changed);
    while (!entry->done) {
        if (entry->taken || q->checking || q->exclusive || q->claims > 0) {
            pthread_cond_wait(&q->changed, &q->lock);
            continue;
        }
        /* This thread commits the next batch: its own entry, every entry
         * queued before it and those after it (announced ones given a
         * moment to come), up to a batch. */
        q->checking = true;
        gather(q);
        record_entry *batch[RECORD_QUEUE_MAX_BATCH];
        size_t n = 0;
        while (q->head != NULL && n < RECORD_QUEUE_MAX_BATCH) {
            batch[n] = q->head;
            batch[n++]->taken = true;
            q->head = q->head->next;
        }
        if (q->head == NULL)
            q->tail = NULL;
        q->queued -= n;
        uint64_t seq = q->next_batch++;
        pthread_mutex_unlock(&q->lock);
        commit(q, batch, n, seq);
    }
    pthread_mutex_unlock(&q->lock);
}

tkms_status record_queue_exclusive(record_queue *q, tkms_signer_records_fn fn, void *arg,
                                   tkms_err *err)
{
    pthread_mutex_lock(&q->lock);
    q->claims++;                        /* no new batch starts from now on */
    while (q->checking || q->exclusive || q->audit_turn != q->next_batch)
        pthread_cond_wait(&q->changed, &q->lock);
    q->claims--;
    q->exclusive = true;
    pthread_mutex_unlock(&q->lock);

    tkms_status st = fn(q->slashing, q->audit, arg, err);

    pthread_mutex_lock(&q->lock);
    q->exclusive = false;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return st;
}

void record_queue_stats(record_queue *q, tkms_signer_record_stats *out)
{
    pthread_mutex_lock(&q->lock);
    out->commits = q->commits;
    out->records = q->records;
    out->largest = q->largest;
    out->waiting = q->queued;
    pthread_mutex_unlock(&q->lock);
}
