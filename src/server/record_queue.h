/*
 * record_queue.h — group commits of a signer's records: the slashing check
 * and the "sign" audit record (signer.h) of every sign request, made for
 * many requests at once with one SQLite COMMIT and one audit write and
 * fsync. Internal to the server; signer.c is its only user.
 *
 * A request fills a record_entry (its audit fields, the slashing check to
 * make or the decision it already has) and calls record_queue_submit,
 * which returns once the entry's records are durable — or could not be
 * made — with the entry's own decision in it.
 *
 * Leader/follower: the submitting threads do the work themselves. A
 * waiting thread whose entry is still queued, finding no other committer
 * in step 1, becomes the committer: it takes every entry queued (at most
 * RECORD_QUEUE_MAX_BATCH, oldest first), and
 *   1. runs their slashing checks in queue order inside one batch
 *      (tkms_slashing_begin … tkms_slashing_commit), each seeing those
 *      before it, so of two conflicting votes in one batch the second is
 *      refused; a refused check records nothing;
 *   2. appends their audit records, in the same order, with one
 *      tkms_audit_append_batch (one write, one fsync);
 *   3. wakes the other threads of the batch, each with its decision.
 * Threads that arrive meanwhile queue and wait; one of them commits the
 * next batch. Requests that come together (the gateway sends the ones its
 * own group commit allowed at once) should share one commit: a request
 * announces itself with record_queue_arrive as soon as it is received
 * (tkms_signer_announce, before the HTTP layer queues it for a worker),
 * and a committer about to take a batch first waits — at most
 * RECORD_QUEUE_GATHER_US — while announced requests have not been
 * submitted yet (they are being parsed on other threads).
 *
 * The two stages overlap across batches: once batch N has
 * committed its slashing records, batch N+1 may run its checks (seeing
 * N's records) and commit while N writes its audit records; batch N+1's
 * audit records are written only after N's. So the audit log lists
 * requests in the order the slashing database allowed them, and nothing
 * is answered 200 before both of its records are on disk.
 *
 * Failures (the safe side, as for a single request): when the slashing
 * batch cannot be started or committed (or a check in it fails), every
 * entry whose check ran in it is 503 — none of them recorded; entries that
 * needed no slashing record keep their decision. When the audit append
 * fails, every entry of the batch is 503 (a slashing record made but
 * nothing signed). Either way each entry still gets exactly one decision.
 *
 * record_queue_exclusive (tkms_signer_with_records) waits until no batch
 * is in either step, and holds new batches back while its function runs.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef TKMS_SERVER_RECORD_QUEUE_H
#define TKMS_SERVER_RECORD_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "signer.h"
#include "tkms/hex.h"

/* Most entries one commit takes (the rest wait for the next one). */
#define RECORD_QUEUE_MAX_BATCH 128

/* Longest a committer waits for announced requests to join its batch
 * (they are parsed in tens of microseconds; one still queued for a busy
 * worker pool may not come in time, and must not stall the commit long). */
#define RECORD_QUEUE_GATHER_US 500

typedef struct record_queue record_queue;

typedef enum {
    RECORD_CHECK_NONE = 0,        /* no slashing record: the decision is set */
    RECORD_CHECK_BLOCK,           /* BLOCK_V2: slot                          */
    RECORD_CHECK_ATTESTATION,     /* ATTESTATION: source, target             */
} record_check;

/* One request's records. The caller fills the fields above `next`. */
typedef struct record_entry {
    /* The audit record (signer.h): "" for what is not known yet. */
    const char *client;
    char pubkey_hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    const char *type;
    char signing_root_hex[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];

    /* The slashing check. The request's genesis validators root (from
     * fork_info; has_genesis false when absent) must be the database's. */
    record_check check;
    uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE];
    uint64_t slot_or_source, target;
    uint8_t signing_root[TKMS_ROOT_SIZE];
    bool has_genesis;
    uint8_t genesis_root[TKMS_ROOT_SIZE];

    /* The decision: set by the caller for RECORD_CHECK_NONE, by the
     * committer otherwise (200, 400, 412, 503, …), and turned into 503
     * when the records cannot be made. `reason` is "" for 200. */
    int http;
    tkms_status status;
    char reason[TKMS_ERR_MESSAGE_SIZE];

    /* The queue's own. */
    struct record_entry *next;
    bool taken;                   /* in a committer's batch               */
    bool in_slashing_batch;       /* its check ran in the slashing batch  */
    bool done;                    /* decision final: the owner may return */
} record_entry;

/* Creates a queue over the borrowed handles (they must outlive it).
 * Returns TKMS_OK, TKMS_ERR_NO_MEMORY (also: cannot create its lock). */
tkms_status record_queue_new(record_queue **out, tkms_slashing_db *slashing,
                             tkms_audit *audit);

/* Frees the queue (NULL is fine); no submit may be in progress. */
void record_queue_free(record_queue *q);

/* Announces a request that will call record_queue_submit soon (see the
 * top). Every call must be followed by exactly one record_queue_submit or
 * record_queue_withdraw. */
void record_queue_arrive(record_queue *q);

/* Ends an announcement whose request will not be submitted. */
void record_queue_withdraw(record_queue *q);

/* Queues `entry` and returns when its records are made or failed, its
 * decision final (entry->http, status, reason). The entry may live on the
 * caller's stack: the queue forgets it before returning. Each call ends
 * one record_queue_arrive, which must have come before it. */
void record_queue_submit(record_queue *q, record_entry *entry);


/* Runs fn(slashing, audit, arg, err) with the handles to itself — once
 * the batches under way are done; no new one starts meanwhile, entries
 * queue up — and returns what it returns. */
tkms_status record_queue_exclusive(record_queue *q, tkms_signer_records_fn fn, void *arg,
                                   tkms_err *err);

/* The counters so far (see tkms_signer_records_stats). */
void record_queue_stats(record_queue *q, tkms_signer_record_stats *out);

/* The HTTP status for a failed parse or slashing check: 412 refused, 503
 * could not record, 500 out of memory, otherwise 400. */
int record_http_of(tkms_status st);

#endif /* TKMS_SERVER_RECORD_QUEUE_H */
