/*
 * signer.h — the signing core of a threshold server, without networking.
 *
 * A tkms_signer holds what one server needs to answer a sign request: its
 * identity key (to sign its responses), the chain, its slashing database,
 * its audit log and the shares it holds, grouped by group public key. The
 * HTTP layer hands it the authenticated client name, the validator key
 * from the URL and the request body (the Web3Signer JSON the gateway
 * received) and sends back the status and body it gets.
 *
 * Order of one request, and the guarantees it gives:
 *   1. the key from the URL must be a held group key (else 404);
 *   2. the body is parsed and its signing root computed here
 *      (tkms_eth2_parse_sign_request); a malformed body or a body whose
 *      `signingRoot` differs is 400;
 *   3. BLOCK_V2 and ATTESTATION: fork_info.genesis_validators_root must be
 *      the slashing database's (else 400), and the slashing check records
 *      the block / attestation durably (refused: 412; could not record or
 *      check: 503);
 *   4. one audit record ("sign", see below) is appended durably;
 *   5. only then are the partial signatures computed.
 * So nothing is ever signed whose slashing record (where one applies) and
 * audit record are not both on disk. Every request that reaches step 1 —
 * signed, refused or failed — leaves exactly one audit record; when that
 * append fails the answer is 503 whatever the decision was.
 *
 * Audit record: event "sign", data
 *   {"client":…,"pubkey":"0x…","type":"ATTESTATION","signing_root":"0x…",
 *    "outcome":"signed"|"refused"|"denied"|"error","reason":"…"}
 * ("type" and "signing_root" are "" when not known yet; "reason" is "" for
 * "signed"). Nothing secret is ever written there or into a reason.
 *
 * Response (status 200), compact JSON in exactly this key order:
 *   {"server":"0x<Ed25519 identity public key>",
 *    "group_public_key":"0x<48 bytes>","type":"ATTESTATION",
 *    "signing_root":"0x<32 bytes>",
 *    "partials":[{"index":1,"signature":"0x<96 bytes>"},…],
 *    "signature":"0x<64 bytes>"}
 * with partials in ascending share index, all hex lower case.
 *
 * Canonical bytes (what "signature" signs): the same compact JSON text
 * without the "signature" member, i.e. the response up to and including
 * the closing "]" of "partials", followed by "}". The Ed25519 message is
 * TKMS_SIGNER_RESPONSE_CONTEXT (including its terminating NUL) followed by
 * those canonical bytes, so a response signature can never be mistaken for
 * a ceremony message signature (or the reverse). A verifier re-creates the
 * canonical bytes from the parsed values, so whitespace or hex case in
 * transit do not matter, but every value does.
 *
 * Threads: every function may be called from any thread at any time. Sign
 * requests run in parallel (the partial signatures are computed outside
 * any exclusive lock); key changes (add, remove, mark) wait for the sign
 * requests in progress and go before new ones.
 *
 * Group commits: steps 3 and 4 are made for many requests at once
 * (record_queue.h). Each request queues its record and waits; one waiting
 * thread at a time commits everything queued: all the slashing checks in
 * one SQLite transaction, in queue order (each check sees the ones before
 * it, so of two conflicting votes the second is refused, and a refused
 * check records nothing), one COMMIT; then all their audit records with
 * one write and one fsync, in the same order; then each request gets its
 * own decision and signs (or not) on its own thread. The next group may
 * run its slashing transaction while this one writes its audit records;
 * its audit records follow this group's. Every request is audited, so
 * every request goes through the queue. The guarantees above hold per
 * request: the audit log lists requests in the order the slashing
 * database allowed them; if the COMMIT fails, every request whose check
 * was in it is 503 (none recorded); if the audit append fails, every
 * request of the group is 503 (recorded, not signed). A caller waits for
 * its group's commit (two fsyncs) before it signs, so C concurrent callers
 * (the server's worker threads) get at most about C requests per
 * (two fsyncs + one signature): more callers than cores pay off when
 * fsync is slow.
 *
 * Before step 3 two more checks run: a key marked locked is 423 and a key
 * marked unavailable (its keystore could not be read) is 503, both with
 * the reason; and after parsing, the authorizer (if set) may deny the
 * client this type for this key: 403 with its reason.
 */
#ifndef TKMS_SERVER_SIGNER_H
#define TKMS_SERVER_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/audit.h"
#include "tkms/combine.h"
#include "tkms/eth2.h"
#include "tkms/identity.h"
#include "tkms/keystore.h"
#include "tkms/shamir.h"
#include "tkms/slashing.h"
#include "tkms/status.h"

/* Domain separation for response signatures (sizeof includes the NUL,
 * which is part of the signed message). */
#define TKMS_SIGNER_RESPONSE_CONTEXT "tkms sign response v1"

/* Longest client name recorded in the audit log (longer ones are cut). */
#define TKMS_SIGNER_MAX_CLIENT_SIZE 256

typedef struct tkms_signer tkms_signer;

/* The answer to one sign request, HTTP-like. */
typedef struct {
    int status;    /* 200 signed; 400 bad request (incl. signing-root
                    * mismatch, wrong genesis validators root); 403 denied
                    * by the authorizer; 404 unknown key; 412 refused by
                    * slashing protection; 423 key locked; 503 key
                    * unavailable, or could not record (slashing or
                    * audit): not signed; 500 internal failure (out of
                    * memory): not signed                                 */
    char *body;    /* 200: the response JSON (malloc'ed, NUL-terminated);
                    * otherwise NULL                                      */
    size_t body_len;
    char reason[TKMS_ERR_MESSAGE_SIZE]; /* not 200: one line, no secrets;
                                         * 200: ""                        */
} tkms_signer_result;

/* Frees result->body and clears the result (NULL is fine). */
void tkms_signer_result_free(tkms_signer_result *result);

/*
 * Creates a signer. Copies `identity` (wiped on free) and `chain`.
 * `slashing` and `audit` are borrowed: they stay the caller's, must be
 * open and outlive the signer, and the caller closes them after
 * tkms_signer_free. The slashing database should be bound to the chain's
 * genesis validators root (an unbound one makes every BLOCK_V2 and
 * ATTESTATION request 503).
 * Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (a NULL argument) or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_signer_new(tkms_signer **out, const tkms_identity *identity,
                            const tkms_eth2_chain *chain, tkms_slashing_db *slashing,
                            tkms_audit *audit, tkms_err *err);

/* Wipes every share and the identity, and frees the signer (NULL is
 * fine). Does not close the slashing database or the audit log. */
void tkms_signer_free(tkms_signer *signer);

/*
 * Adds one share (copied; the copy is wiped on free) described by `info`
 * (from its share keystore: group key, index, K, n, commitments, owner).
 * A group key may get several shares (of one owner or several).
 * Checks that share->index equals info->index and that the share's public
 * key is the one the commitments give for that index.
 * Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (NULL, index mismatch or out
 * of range), TKMS_ERR_VERIFY_FAILED (share does not match the
 * commitments), TKMS_ERR_DUPLICATE_INDEX (that index of that key is held
 * already) or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_signer_add_share(tkms_signer *signer, const tkms_share_info *info,
                                  const tkms_share *share, tkms_err *err);

/* Number of shares held for the 48-byte group key (0: unknown key). */
size_t tkms_signer_share_count(tkms_signer *signer,
                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

/* Removes (and wipes) every share of the group key; returns how many
 * there were. Its mark, if any, stays (see tkms_signer_mark_key). */
size_t tkms_signer_remove_key(tkms_signer *signer,
                              const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE]);

typedef enum {
    TKMS_SIGNER_KEY_READY = 0,    /* signs when it has shares            */
    TKMS_SIGNER_KEY_LOCKED,       /* an operator locked it: 423          */
    TKMS_SIGNER_KEY_UNAVAILABLE,  /* a keystore could not be read: 503   */
} tkms_signer_key_state;

/*
 * Sets the state of a group key (held or not). READY clears the mark;
 * `reason` (may be NULL; one line, no secrets, cut at
 * TKMS_ERR_MESSAGE_SIZE) is what an unavailable key's 503 says.
 * Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_signer_mark_key(tkms_signer *signer,
                                 const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                 tkms_signer_key_state state, const char *reason);

/* Keys by state, and shares held. */
typedef struct {
    size_t ready;        /* keys with shares and no mark          */
    size_t locked;       /* keys marked locked                    */
    size_t unavailable;  /* keys marked unavailable               */
    size_t shares;       /* shares held                           */
} tkms_signer_key_counts;

/* Fills *out (zeros for a NULL signer). Reads memory only. */
void tkms_signer_count_keys(tkms_signer *signer, tkms_signer_key_counts *out);

/* The key's state; copies its reason into `reason` (may be NULL). */
tkms_signer_key_state tkms_signer_key_state_of(tkms_signer *signer,
                                               const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                               char reason[TKMS_ERR_MESSAGE_SIZE]);

/*
 * Decides whether `client` may have `type` signed by `group_key`. Returns
 * true to allow; false to deny, with a one-line reason written into
 * `reason` (TKMS_ERR_MESSAGE_SIZE bytes). Called from any thread, with
 * the signer's key lock held for reading: it must not call the signer.
 */
typedef bool (*tkms_signer_authorizer)(void *arg, const char *client, tkms_eth2_type type,
                                       const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                       char reason[TKMS_ERR_MESSAGE_SIZE]);

/* Sets (or with NULL clears) the authorizer consulted for every request
 * that parses. Without one every client may sign every type. */
void tkms_signer_set_authorizer(tkms_signer *signer, tkms_signer_authorizer authorize,
                                void *arg);

/*
 * FOR TESTS AND DEMONSTRATIONS ONLY: with `lie`, every partial signature
 * is of a slightly different root — a valid curve point that does not
 * verify — in a correctly signed response, as a compromised server would
 * send. The gateway must name and lock out such a server. Set before the
 * signer serves (not synchronized).
 */
void tkms_signer_inject_invalid_partials(tkms_signer *signer, bool lie);

/* Work on the slashing database and the audit log with the signer's
 * records lock held (they are single-threaded handles). */
typedef tkms_status (*tkms_signer_records_fn)(tkms_slashing_db *slashing, tkms_audit *audit,
                                              void *arg, tkms_err *err);

/* Runs fn(slashing, audit, arg, err) under the records lock — once the
 * group commits under way are done; sign requests queue meanwhile — and
 * returns what it returns (TKMS_ERR_INVALID_ARGUMENT for a NULL signer or
 * fn). fn must not sign nor call tkms_signer_with_records (it would wait
 * for itself). */
tkms_status tkms_signer_with_records(tkms_signer *signer, tkms_signer_records_fn fn,
                                     void *arg, tkms_err *err);

/* What the group commits have done so far. */
typedef struct {
    uint64_t commits;    /* group commits made (each: ≤ 1 COMMIT, 1 audit fsync) */
    uint64_t records;    /* requests recorded by them (one audit record each)    */
    uint64_t largest;    /* most requests in one commit                          */
    uint64_t waiting;    /* requests queued now for the next commit              */
} tkms_signer_record_stats;

/* Fills *out with the counters (zeros for a NULL signer). */
void tkms_signer_records_stats(tkms_signer *signer, tkms_signer_record_stats *out);

/*
 * Handles one sign request (see the order at the top): `client` is the
 * authenticated peer's name (recorded in the audit log), `pubkey_hex` the
 * validator key from the URL (the group key, 0x-prefixed or not), `body`
 * the `len` request bytes (need not be NUL-terminated).
 *
 * Always fills *out (free it with tkms_signer_result_free). Returns TKMS_OK
 * when out->status is 200, otherwise the status that explains it
 * (TKMS_ERR_NOT_FOUND, TKMS_ERR_BAD_FORMAT, TKMS_ERR_VERIFY_FAILED,
 * TKMS_ERR_WRONG_GENESIS, TKMS_ERR_REFUSED, TKMS_ERR_IO, …) with err's
 * message equal to out->reason.
 */
tkms_status tkms_signer_sign(tkms_signer *signer, const char *client,
                             const char *pubkey_hex, const char *body, size_t len,
                             tkms_signer_result *out, tkms_err *err);

/*
 * For an HTTP layer that hands requests to worker threads: announces a
 * sign request received, for which another thread will soon call
 * tkms_signer_sign_announced. A group commit about to start waits a
 * moment for announced requests (record_queue.h), so that requests that
 * come together share one commit (one COMMIT, one audit fsync). Each
 * announcement must end with exactly one tkms_signer_sign_announced or,
 * when the request will not be signed after all (it could not be queued),
 * one tkms_signer_withdraw. NULL is ignored.
 */
void tkms_signer_announce(tkms_signer *signer);
void tkms_signer_withdraw(tkms_signer *signer);

/* tkms_signer_sign for a request announced with tkms_signer_announce
 * (which this ends, whatever it returns). */
tkms_status tkms_signer_sign_announced(tkms_signer *signer, const char *client,
                                       const char *pubkey_hex, const char *body, size_t len,
                                       tkms_signer_result *out, tkms_err *err);

/*
 * Verifies a response of `len` bytes (need not be NUL-terminated) against
 * the server identity public key `identity`: a JSON object with exactly
 * the six members above (no duplicates), each well formed (hex of the
 * right length, a known type, indices 1..TKMS_MAX_SHARES strictly
 * ascending, at least one partial), "server" equal to `identity`, and
 * "signature" a valid Ed25519 signature by `identity` of the canonical
 * bytes. It does not check the partials themselves (that is
 * tkms_partial_verify's job, with the group).
 * Returns TKMS_OK, TKMS_ERR_BAD_FORMAT (with the member named) or
 * TKMS_ERR_VERIFY_FAILED (another server, or the signature does not
 * verify), TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_signer_verify_response(const char *json, size_t len,
                                        const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                        tkms_err *err);

/* A response tkms_signer_read_response accepted: its members, decoded. */
typedef struct {
    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_eth2_type type;
    uint8_t signing_root[TKMS_ROOT_SIZE];
    tkms_partial *partials;         /* `count` (1..TKMS_MAX_SHARES), indices ascending */
    size_t count;
} tkms_signer_response;

/*
 * tkms_signer_verify_response that also hands back what it read, so that
 * a caller (the gateway) parses each response once. On TKMS_OK *out holds
 * the members (free with tkms_signer_response_free); on failure it is
 * cleared, nothing to free.
 */
tkms_status tkms_signer_read_response(const char *json, size_t len,
                                      const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                      tkms_signer_response *out, tkms_err *err);

/*
 * tkms_signer_read_response without the one check that costs: the Ed25519
 * signature (every member is still read and checked, "server" included).
 * What it returns says nothing about who sent it. For a caller whose use
 * of the partials is proven otherwise (the gateway's combined signature
 * verifies under the group key) and who calls tkms_signer_verify_response
 * before it blames the server for anything in it. Same results, without
 * the "does not verify" failure.
 */
tkms_status tkms_signer_parse_response(const char *json, size_t len,
                                       const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                       tkms_signer_response *out, tkms_err *err);

/* Frees out->partials and clears *out (NULL is fine). */
void tkms_signer_response_free(tkms_signer_response *out);

#endif /* TKMS_SERVER_SIGNER_H */
