/*
 * ceremony_host.h — one threshold server's side of network key ceremonies
 * (DKG and reshare, tkms/dkg.h), without HTTP: the daemon hands it the
 * request bodies of its /v1/ceremony routes and sends back what it gets.
 * A relay (`tkms ceremony run`, later the gateway) carries the messages
 * between the servers; servers never reach each other (DESIGN §2). The
 * messages are the same signed envelopes as in the file ceremony, so the
 * relay can delay or drop them but not read the sealed shares or forge
 * anything.
 *
 * Life of a ceremony at one server:
 *
 *   start   the spec arrives; the party is created and deals   → running
 *   round   r = 1..4: the relay delivers what the other parties sent in
 *           round r; the party closes the round and returns its next
 *           messages; after round 4 the party is done (its results are
 *           staged, not yet used) or failed                    → done|failed
 *   commit  the staged shares replace the key store's          → committed
 *   abort   any time before commit: everything is dropped       → aborted
 *
 * ---- Routes and wire formats (every body is JSON; hex is 0x lower case) ----
 *
 * POST /v1/ceremony                        ceremony_host_start
 *   request  {"spec": {…the spec document, as `tkms ceremony spec` writes
 *            it (tkms/ceremony.h)…}}
 *   200      {"ceremony_id":"0x…","party":"<owner>","state":"running",
 *             "round":1,"messages":["0x<signed message>",…]}
 * POST /v1/ceremony/0x<id>/round           ceremony_host_round
 *   request  {"round": r, "messages": ["0x<signed message>",…]}
 *            r is the round whose messages these are, and must be the
 *            party's current round (the "round" of the previous answer).
 *   200      {"ceremony_id","state":"running"|"done"|"failed","round":R,
 *             "messages":[…],                        the next round's, R
 *             "refused":[{"index":i,"reason":"…"}],  messages the router
 *                  refused (i into the request's list): reported, not fatal
 *             done:   "keys":["0x<group key>",…], "transcript":"0x…",
 *                     "disqualified":[{"party":ID,"reason":"…"}]
 *             failed: "reason":"…"}
 *            R is 2..4 while running and 5 once done or failed.
 * POST /v1/ceremony/0x<id>/commit          ceremony_host_commit
 *   200      {"ceremony_id","state":"committed","keys":["0x…",…]}
 * POST /v1/ceremony/0x<id>/abort           ceremony_host_abort
 *   200      {"ceremony_id","state":"aborted"}
 * GET  /v1/ceremony/0x<id>                 ceremony_host_status
 *   200      {"ceremony_id","state":S,"round":R}
 *            S: starting, running, done, committing, committed, aborted,
 *            failed, or interrupted (it was running or done when the process
 *            stopped); R is the party's round while it lives, else 0.
 * Errors: the reply's status and a one-line reason, which the daemon sends
 * as {"error":"<reason>"}:
 *   400 malformed body or id, a spec that does not check, a message list
 *       too long;
 *   403 this server is not a party of the spec, or the spec gives its
 *       owner another identity key;
 *   404 unknown ceremony id;
 *   409 the request does not fit the ceremony's state: an id seen before
 *       (start), a round other than the current one, a ceremony that is
 *       not running (round) or not done (commit), interrupted by a
 *       restart, committed (abort), another request for it in progress,
 *       another live reshare of the same key, a reshare whose old shares
 *       the key store lacks;
 *   500 out of memory or the disk failed (the reason says which file);
 *   503 CEREMONY_HOST_MAX_LIVE ceremonies are in progress already.
 *
 * ---- Never reuse a ceremony id ------------------------------------------------
 *
 * A server refuses to start a ceremony id it has seen before, in any state
 * (running, done, committed, aborted, failed, interrupted), also across
 * restarts: every id it starts is recorded on disk before its first
 * message leaves. Every message a party signs names the ceremony id, the
 * round and the type, and a dealer that signs two different deals for
 * the same ceremony is, by the protocol's rules, an equivocator: the
 * signed pair is the proof that disqualifies it. If a server took part
 * twice under one id (say the ceremony was aborted and started again), it
 * would deal a fresh random polynomial the second time, and a relay
 * holding the first run's signed messages could mix them into the second
 * run and frame the honest dealer as an equivocator, or replay old
 * complaints and justifications into the new run. So an interrupted or
 * aborted ceremony is never resumed or restarted: the operator makes a
 * new spec (`tkms ceremony spec`, a fresh random id) and runs that.
 * Abort also records an id this server never saw, so a spec that was
 * abandoned before reaching a server can never start there later.
 *
 * ---- Disk ---------------------------------------------------------------------
 *
 * Under the data directory D (directories 0700, secret files 0600):
 *   D/ceremonies/0x<id>/state    one word: running, done, committing,
 *                                committed, aborted or failed (atomic
 *                                writes, tkms/file.h)
 *   D/ceremonies/0x<id>/spec.json the spec, as tkms formats it
 *   D/ceremonies/0x<id>/out/     the staged results of a done party
 *                                (tkms/ceremony_output.h layout: keys/<m>/
 *                                group.json, keys/<m>/<owner>/share-<i>.json,
 *                                transcript.json)
 *   D/keys/0x<96 hex>/share-<i>.json, group.json   the key store
 *                                (keyring.h); a ceremony writes group.json
 * A ceremony found "running" or "done" on disk when the host is created
 * has lost its party with the process: it is *interrupted*; round and
 * commit answer 409 "interrupted by a restart: abort it and run a new
 * spec", abort works. A ceremony found "committing" (the process stopped
 * in the middle of a commit) is finished by ceremony_host_new — every
 * step of a commit can be redone — so no key is left half-committed; a
 * commit that fails again stays "committing" and a commit request
 * retries it.
 *
 * Commit, for each key m of the ceremony (key directory K = D/keys/0x<key>):
 *   - this server holds new shares of it: its staged share keystores and
 *     the new group.json (plus the `locked` mark, if K had one) form a new
 *     directory that replaces K in one atomic step (renameat2
 *     RENAME_EXCHANGE; the old directory is kept until the new one is in
 *     place, then deleted); in a DKG, K must not exist yet;
 *   - it holds none (an owner that leaves in a reshare): K is deleted;
 *   then on_commit(on_commit_arg, key) is called for every key, in order,
 *   on the committing thread with no host lock held, so the daemon can
 *   (re)load the key (keyring_load_key: a deleted K means no shares). The
 *   commit changes D/keys outside the daemon's admin lock; on_commit
 *   should take that lock itself.
 *
 * ---- Threads and bounds ----------------------------------------------------------
 *
 * Every function may be called from any thread at any time (one internal
 * mutex guards the table of live ceremonies; the work of a round — the
 * cryptography and the keystores' KDF — runs outside it, so requests for
 * different ceremonies proceed in parallel). Requests for one ceremony are
 * taken one at a time: a second request while one is in progress is 409,
 * except abort, which is recorded at once (the request in progress then
 * discards its work and answers 409).
 * At most CEREMONY_HOST_MAX_LIVE ceremonies live (starting, running, done
 * or committing) at a time; the daemon bounds request bodies, and the host
 * checks them too (sizes, counts, hex lengths).
 */
#ifndef TKMS_SERVER_CEREMONY_HOST_H
#define TKMS_SERVER_CEREMONY_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/bls.h"
#include "tkms/ceremony.h"
#include "tkms/identity.h"
#include "tkms/keystore.h"
#include "tkms/status.h"

#define CEREMONY_HOST_DIR "ceremonies"
#define CEREMONY_HOST_MAX_LIVE 16u
/* Messages in one round request (a reshare of 1024 shares to 1024 sends
 * about a million). */
#define CEREMONY_HOST_MAX_MESSAGES (1u << 21)
/* A start body: the spec and the wrapping. */
#define CEREMONY_HOST_MAX_START_BODY (2u * TKMS_CEREMONY_SPEC_MAX_SIZE)

typedef struct ceremony_host ceremony_host;

/* Called after a commit changed the key directory of `group_key`. */
typedef void (*ceremony_host_commit_fn)(void *arg, const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

typedef struct {
    const char *data_dir;            /* D                                    */
    const char *owner;               /* this server's owner id in specs      */
    const tkms_identity *identity;   /* its identity (decrypted); copied     */
    const char *password;            /* of the keystores it reads and writes;
                                      * copied                              */
    const tkms_kdf_params *kdf;      /* for the keystores it writes; copied  */
    ceremony_host_commit_fn on_commit;   /* may be NULL                      */
    void *on_commit_arg;
} ceremony_host_options;

/* The answer to one request. */
typedef struct {
    int status;                            /* HTTP status (see the top)       */
    json_t *body;                          /* 200: the answer, the caller's
                                            * reference (json_decref it);
                                            * otherwise NULL                  */
    char reason[TKMS_ERR_MESSAGE_SIZE];    /* not 200: one line, no secrets;
                                            * 200: ""                         */
} ceremony_reply;

/* Drops reply->body (if any) and clears the reply (NULL is fine). */
void ceremony_reply_clear(ceremony_reply *reply);

/*
 * Creates the host of the server whose data directory is options->data_dir
 * (it must exist; D/ceremonies and D/keys are created 0700 when absent).
 * Copies the owner id, the identity, the password and the KDF parameters
 * (the secrets are wiped on free). Reads D/ceremonies: finishes every
 * commit a stop interrupted ("committing"; a failure to finish one is not
 * fatal, see above) without calling on_commit — so create the host before
 * loading the key store — and from then on reports ceremonies left
 * running or done as interrupted.
 * Returns TKMS_OK; TKMS_ERR_INVALID_ARGUMENT (a NULL option other than
 * on_commit, an invalid owner id, a data directory path longer than
 * PATH_MAX - 512); TKMS_ERR_IO (D/ceremonies or D/keys cannot be
 * created); TKMS_ERR_NO_MEMORY — with the reason in err. The KDF
 * parameters are checked when a keystore is written (a done party whose
 * results cannot be staged fails its ceremony with the reason).
 */
tkms_status ceremony_host_new(ceremony_host **out, const ceremony_host_options *options,
                              tkms_err *err);

/* Drops every live party (wiping its secrets) and the copies of the
 * identity and password, and frees the host (NULL is fine). Nothing on
 * disk changes: ceremonies still running become interrupted for the next
 * host. No request may be in progress. */
void ceremony_host_free(ceremony_host *host);

/*
 * Starts the ceremony of the spec in `body` (`len` bytes, need not be
 * NUL-terminated): checks the spec, that this server's owner is a party
 * with this server's identity key, that the id is new here; for a reshare
 * loads and decrypts this owner's shares of the old key from
 * D/keys/0x<old key>/share-<i>.json (each must match the spec's old
 * group); creates the party, records the ceremony on disk ("running",
 * spec.json) and answers with its round-1 messages. Nothing is recorded
 * when it fails before that, so the same spec can be started once the
 * cause is fixed.
 * Fills *reply (see the top for the statuses) and returns reply->status.
 */
int ceremony_host_start(ceremony_host *host, const char *body, size_t len,
                        ceremony_reply *reply);

/*
 * Closes round r of ceremony `id_hex` (0x-prefixed or not) with the
 * messages of `body`: hands each to the party's router (a refused one is
 * listed in "refused"), ends the round and answers with the next round's
 * messages. When the party finishes, its results are written with
 * tkms_ceremony_write_party into D/ceremonies/0x<id>/out (durably, before
 * "done" is recorded) and the answer carries the keys, the transcript hash
 * and the disqualified parties; when it fails, the ceremony is recorded
 * "failed" with the reason (200 either way: the request worked). A failure
 * to stage the results fails the ceremony (500 with the reason).
 * Fills *reply and returns reply->status.
 */
int ceremony_host_round(ceremony_host *host, const char *id_hex, const char *body, size_t len,
                        ceremony_reply *reply);

/*
 * Commits done ceremony `id_hex`: installs the staged shares into the key
 * store (see "Commit" above), records "committed", then calls on_commit
 * for each key. Committing a committed ceremony answers 200 again (the
 * same keys) without changing anything, so a relay may retry; committing
 * one that is "committing" finishes it. Fills *reply and returns
 * reply->status.
 */
int ceremony_host_commit(ceremony_host *host, const char *id_hex, ceremony_reply *reply);

/*
 * Aborts ceremony `id_hex` in any state but committing or committed
 * (409): drops the party (wiping it), deletes the staged results and
 * records "aborted". Idempotent; an id never seen here is recorded as
 * aborted too (it can then never start here). Fills *reply and returns
 * reply->status.
 */
int ceremony_host_abort(ceremony_host *host, const char *id_hex, ceremony_reply *reply);

/* The state of ceremony `id_hex` (200), or 404 when this server has never
 * seen it. Fills *reply and returns reply->status. */
int ceremony_host_status(ceremony_host *host, const char *id_hex, ceremony_reply *reply);

#endif /* TKMS_SERVER_CEREMONY_HOST_H */
