/*
 * sign_session.h — one threshold sign request at the gateway, without
 * networking (sans-IO): the gateway fans the request out to every server
 * holding shares of the key and feeds each server's answer to a session as
 * it arrives; the session says when a verified group signature is ready,
 * or that one can no longer be had, and names the servers that lied, with
 * the evidence.
 *
 * What a server's answer can be, and what the session makes of it:
 *
 *   answered    a response (signer.h) from that server's identity, for
 *               this session's group key, type and signing root, with
 *               partials only for indices the server holds: its partials
 *               join the pool. Its Ed25519 signature is NOT checked then,
 *               only when the session is about to blame the server (below).
 *               That is safe: a group signature is used only once it
 *               verifies under the group key, which proves it (BLS
 *               signatures are unique: it is the whole key's, whoever's
 *               bytes went into it); only blame needs the server's own
 *               signature. So a body tampered with on the way whose
 *               partials are all valid is simply used.
 *   faulty      a response that verifies under the server's identity key
 *               (checked before blaming) but is provably wrong: for another
 *               group key, type or signing root
 *               (GATEWAY_FAULT_WRONG_REQUEST), with a partial for an index
 *               the server does not hold (GATEWAY_FAULT_FOREIGN_INDEX), or
 *               with a partial that does not verify against its share public
 *               key (GATEWAY_FAULT_INVALID_PARTIAL, found by the culprit
 *               search below). The server is locked out of this session: none
 *               of its partials count, not even ones that verify. Its signed
 *               response is kept as evidence. A server whose chain settings
 *               differ from the gateway's computes another root and is faulty
 *               this way too — its signature is of no use, and the mismatch
 *               is what its own signed response shows.
 *   unusable    a body that does not read as that server's response (not
 *               JSON, a missing or malformed member, another server's
 *               identity), or one that would make the server faulty but
 *               whose Ed25519 signature does not verify. It is NOT faulty:
 *               nothing in it can be attributed to the server (anybody on
 *               the path could have produced it), so it is not evidence
 *               and blames no one. The server is treated like an
 *               unreachable one: answered, not counted (partials it had in
 *               the pool leave it).
 *   failed      the gateway's I/O layer says the server timed out, refused
 *               (e.g. 412 from its slashing protection, 423 locked) or
 *               errored (gateway_session_failed). Not faulty; not counted.
 *
 * Combining (DESIGN §4, optimistic combine): the session does not verify
 * partials one by one. As soon as the pool holds K partials it combines
 * them with the tkms_combiner and verifies the result once against the
 * group key — the good case costs K point decompressions, one MSM and one
 * verify, whatever n is. Only when that fails does the combiner's culprit
 * search (batch verification, bisection) name the bad indices; the
 * servers that sent them become faulty (or unusable, when their response's
 * Ed25519 signature does not verify), all their partials leave the pool,
 * and the session goes on with the rest: DONE at once if K good partials
 * remain among those already in, else PENDING until more arrive. A
 * partial the combiner did not need is neither used nor judged.
 *
 * States: PENDING (more answers needed), DONE (a verified group signature
 * is ready), FAILED (K can no longer be reached: the partials in the pool
 * plus every share index of the servers still awaited add up to fewer than
 * K; at the latest when every server has answered or failed). DONE and
 * FAILED are final: later calls change nothing and examine nothing.
 *
 * Each server's first outcome counts; a second response or failure for a
 * server that already answered or failed is ignored.
 *
 * Memory: a session allocates its working memory (pool, combiner scratch)
 * once in gateway_session_new, nothing per partial; accepting an answer
 * copies its body (it may become evidence later), and checking it
 * allocates what the JSON parser (jansson) needs (each body is parsed
 * once on arrival, again only to check its Ed25519 signature before blame
 * or when it does not read). A session is not thread-safe: drive
 * it from one thread at a time (the gateway hands each request's session
 * between its event loop and one job at a time on its worker pool).
 * Everything here is public data.
 */
#ifndef TKMS_GATEWAY_SIGN_SESSION_H
#define TKMS_GATEWAY_SIGN_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/eth2.h"
#include "tkms/identity.h"
#include "tkms/shamir.h"
#include "tkms/status.h"

/* Longest reason kept per server (failures, unusable bodies, faults),
 * with the NUL; longer ones are cut. */
#define GATEWAY_REASON_SIZE TKMS_ERR_MESSAGE_SIZE

/* A threshold server and the share indices it holds of one key. */
typedef struct {
    const char *name;                               /* for reports; NULL: "server <i>" */
    uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE];    /* Ed25519 key its responses verify under */
    const uint32_t *indices;                        /* index_count share indices, 1..n */
    size_t index_count;                             /* 0 allowed: it holds none */
} gateway_holder;

/* One key as the gateway knows it: the group (share public keys, K) and
 * the servers holding its shares. No index may be held by two servers. */
typedef struct {
    const tkms_group *group;
    const gateway_holder *servers;
    size_t server_count;
} gateway_key;

typedef enum {
    GATEWAY_SESSION_PENDING = 0,
    GATEWAY_SESSION_DONE,
    GATEWAY_SESSION_FAILED,
} gateway_session_state;

/* What became of one server in a session. */
typedef enum {
    GATEWAY_SERVER_WAITING = 0,   /* no answer yet                                  */
    GATEWAY_SERVER_ANSWERED,      /* its partials are in the pool (or were used)    */
    GATEWAY_SERVER_FAILED,        /* timed out / refused / errored: not counted     */
    GATEWAY_SERVER_UNUSABLE,      /* a body that does not verify: not counted, not faulty */
    GATEWAY_SERVER_FAULTY,        /* provably misbehaved: locked out, evidence kept */
} gateway_server_state;

typedef enum {
    GATEWAY_FAULT_INVALID_PARTIAL = 0,  /* a partial fails against its share key  */
    GATEWAY_FAULT_WRONG_REQUEST,        /* signed for another key, type or root   */
    GATEWAY_FAULT_FOREIGN_INDEX,        /* a partial for an index it does not hold */
} gateway_fault_kind;

/* A faulty server, with the evidence against it. */
typedef struct {
    size_t server;                      /* position in key->servers            */
    gateway_fault_kind kind;
    char reason[GATEWAY_REASON_SIZE];   /* "invalid partial 4", one line       */
    const char *evidence;               /* the server's signed response, exactly
                                         * as received (a copy, NUL-terminated);
                                         * NULL only if the gateway ran out of
                                         * memory copying it                  */
    size_t evidence_len;
    const uint32_t *bad_indices;        /* INVALID_PARTIAL: the indices found
                                         * invalid (ascending); FOREIGN_INDEX:
                                         * the indices it does not hold;
                                         * WRONG_REQUEST: none                */
    size_t bad_count;
} gateway_fault;

typedef struct gateway_session gateway_session;

/*
 * Starts a session for signing `signing_root` (the root the gateway
 * computed from the client's request, of type `type`) with `key`.
 * `key`, its group, its servers' arrays and names are borrowed and must
 * outlive the session.
 * Checks the key: a group with 1 <= K <= n, at least one server, every
 * index in 1..n and held by one server only. When the servers together
 * hold fewer than K indices the session starts FAILED.
 * Returns TKMS_OK with *out set, TKMS_ERR_INVALID_ARGUMENT (with the
 * reason in err) or TKMS_ERR_NO_MEMORY; *out is NULL on failure.
 */
tkms_status gateway_session_new(gateway_session **out, const gateway_key *key,
                                tkms_eth2_type type, const uint8_t signing_root[32],
                                tkms_err *err);

/* Frees the session, its copies of the bodies and its faults (NULL is
 * fine). Pointers from gateway_session_faulty die with it. */
void gateway_session_free(gateway_session *s);

/*
 * Feeds the response body (`len` bytes, need not be NUL-terminated) that
 * server number `server` (position in key->servers) sent, and returns the
 * session's state afterwards. In order:
 *   1. the body must read as that server's response (what
 *      tkms_signer_read_response checks, but the Ed25519 signature), else
 *      the server is UNUSABLE (see above), read_response's reason kept;
 *   2. its group key, type and signing root must be this session's, else
 *      the server is FAULTY (WRONG_REQUEST);
 *   3. every partial must be for an index the server holds, else FAULTY
 *      (FOREIGN_INDEX);
 *   4. its partials join the pool; with K or more in the pool they are
 *      combined and the result verified (see the top).
 * Before any FAULTY (here or from the culprit search) the Ed25519
 * signature is checked (tkms_signer_verify_response): when it does not
 * verify, the server is UNUSABLE instead, with that reason.
 * Ignored (the state is returned unchanged) when the session is no longer
 * PENDING, `server` is out of range, or that server already answered or
 * failed.
 */
gateway_session_state gateway_session_response(gateway_session *s, size_t server,
                                               const char *body, size_t len);

/*
 * Records that server number `server` will not answer: timed out, refused,
 * errored. `reason` (one line, e.g. "timeout after 300 ms", "412: refused
 * by slashing protection"; NULL for "failed") is kept for the report, cut
 * at GATEWAY_REASON_SIZE, control characters replaced by spaces. The
 * server is not faulty and not counted. Returns the state afterwards;
 * ignored like gateway_session_response.
 */
gateway_session_state gateway_session_failed(gateway_session *s, size_t server,
                                             const char *reason);

/* The session's state. */
gateway_session_state gateway_session_state_of(const gateway_session *s);

/* What became of server number `server` (WAITING when out of range). */
gateway_server_state gateway_session_server_state(const gateway_session *s, size_t server);

/* Partials in the pool now: received from answered servers and not
 * dropped (not all of them necessarily judged). */
size_t gateway_session_partial_count(const gateway_session *s);

/*
 * The group signature (96-byte compressed G2), verified against the group
 * key and byte-identical to the whole key's signature of the signing root.
 * Returns TKMS_OK when the session is DONE, else TKMS_ERR_NOT_ENOUGH_SHARES
 * (out untouched).
 */
tkms_status gateway_session_signature(const gateway_session *s,
                                      uint8_t out[TKMS_SIGNATURE_SIZE]);

/*
 * The faulty servers in the order they were found (*count of them; NULL
 * when none). The array (sized for every server, so it never moves) and
 * what it points to stay valid until gateway_session_free; feeding the
 * session may append entries (call again for the new count).
 */
const gateway_fault *gateway_session_faulty(const gateway_session *s, size_t *count);

/*
 * A one-line account for a 503 (or a log line): the partials the session
 * has and needs, then every server's fate, separated by "; ":
 *   "2 partials of 3 needed: s1: ok (partial 1); s2: ok (partial 2);
 *    s3: timeout after 300 ms; s4: invalid partial 4 (locked out);
 *    s5: unusable response (not counted): sign response: the server's
 *    signature does not verify"
 * (on one line). Writes at most `size` bytes including the NUL (cut if
 * needed; out may be NULL when size is 0) and returns the length the whole
 * text has, like snprintf.
 */
size_t gateway_session_report(const gateway_session *s, char *out, size_t size);

/*
 * Checks lockout evidence offline: what an operator or a third party runs
 * on a fault's evidence. `body` (`len` bytes) must be a response validly
 * signed by the server with Ed25519 key `identity` (tkms_signer_verify_
 * response), for `group`'s key, `type` and `signing_root` (get those from
 * the client's request with tkms_eth2_parse_sign_request), and must hold
 * a partial that is not its share's valid partial signature on the
 * signing root: an index outside 1..n, bytes that do not decode to a G2
 * point in the subgroup, or a point that fails tkms_partial_verify against
 * the share public key. Then the evidence proves the server misbehaved
 * (nobody else can produce its signature), and the function returns
 * TKMS_OK with the first such index in *bad_index (may be NULL) and
 * named in err's message.
 * Returns TKMS_ERR_VERIFY_FAILED when the evidence proves nothing: not
 * validly signed by that server, for another key, type or root, or every
 * partial verifies (err says which); TKMS_ERR_INVALID_ARGUMENT for a NULL
 * argument; TKMS_ERR_NO_MEMORY.
 * Only invalid partials are transferable evidence: that a server signed a
 * response for another root shows the server's word only next to proof of
 * what it was asked, which the gateway alone holds.
 */
tkms_status gateway_evidence_verify(const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                    const tkms_group *group, tkms_eth2_type type,
                                    const uint8_t signing_root[32], const char *body,
                                    size_t len, uint32_t *bad_index, tkms_err *err);

#endif /* TKMS_GATEWAY_SIGN_SESSION_H */
