/*
 * tkms/dkg.h — one party of a key ceremony (DKG or reshare), sans-IO.
 *
 * A party is a state machine: created from the spec, its owner id, its
 * identity and one injected RNG; it emits messages (bytes) for the relay to
 * deliver, takes messages in (bytes), and after four rounds yields its
 * shares of the new key(s), the public groups and the transcript hash — or
 * a failure. It opens no socket or file and reads no clock: the driver
 * (simulator, file ceremony, network relay) decides when a round is over.
 *
 * Rounds (Joint-Feldman with complaints and justifications, GJKR):
 *   1 deal      each dealing broadcasts Feldman commitments (M keys × K
 *               uncompressed G1 points) and seals to every new share its
 *               M values. DKG: one random polynomial per owner, whatever
 *               its weight. Reshare: each old share deals its own value as
 *               the constant term, which must match its old share key.
 *   2 echo      each party broadcasts the hash of every deal it saw and
 *               its complaints: (dealing, index) whose values were missing
 *               or did not match the commitments.
 *   3 justify   a dealer reveals the values complained about; any party
 *               whose echo disagrees with another's forwards the signed deal
 *               it saw, so a dealer that showed parties different deals is
 *               caught with both signed versions.
 *   4 confirm   dealings that failed are disqualified, with the signed
 *               messages that prove it; the rest (DKG: all, reshare: the
 *               first K_old, Lagrange-weighted) form the new shares and
 *               commitments; every new share signs the transcript hash with
 *               every key, and every party combines K partials per key and
 *               verifies them against the new group key.
 *
 * Inside, each new share the owner holds is a share instance: messages are
 * routed by `to {party, share}`. After creation the API is the same
 * whether an owner holds one share or many.
 *
 * The router refuses (TKMS_ERR_BAD_FORMAT / TKMS_ERR_VERIFY_FAILED, with
 * the reason): malformed or oversize messages, another ceremony's id, a
 * round other than the current one, a bad signature, a `from` share the
 * sender does not hold, a `to` that is not this party or one of its
 * shares, a type that does not belong to the round, and a duplicate.
 */
#ifndef TKMS_DKG_H
#define TKMS_DKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/ceremony.h"
#include "tkms/identity.h"
#include "tkms/rng.h"
#include "tkms/shamir.h"
#include "tkms/status.h"

/* Messages a party wants sent. The outbox owns them. */
typedef struct {
    size_t count, capacity;
    uint8_t **data;
    size_t *len;
    uint16_t *to_party;    /* 0: broadcast */
} tkms_outbox;

void tkms_outbox_clear(tkms_outbox *box);

/* A dealer that was disqualified, why, and the proof. */
typedef struct {
    uint32_t party;                /* its number (1..m) in the spec        */
    uint32_t dealing;              /* DKG: = party; reshare: old index     */
    char reason[192];
    size_t evidence_count;         /* 0..2 signed messages that prove it   */
    uint8_t *evidence[2];
    size_t evidence_len[2];
} tkms_disqualification;

typedef enum { TKMS_PARTY_RUNNING, TKMS_PARTY_DONE, TKMS_PARTY_FAILED } tkms_party_state;

typedef struct tkms_party tkms_party;

/*
 * Creates party `my_id` of `spec` (which must outlive it). For a reshare,
 * `old_shares` are this owner's shares of the old key (all of them, as the
 * old owner map gives), else NULL/0. `rng` draws the polynomials.
 */
tkms_status tkms_party_new(tkms_party **out, const tkms_ceremony_spec *spec,
                           const char *my_id, const tkms_identity *identity,
                           const tkms_share *old_shares, size_t old_share_count,
                           tkms_rng *rng, tkms_err *err);

void tkms_party_free(tkms_party *party);

/* Round 1: appends this party's deals and sealed shares to `out`. */
tkms_status tkms_party_start(tkms_party *party, tkms_outbox *out, tkms_err *err);

/* Hands one message to the router. TKMS_OK when accepted (or when it is a
 * broadcast this party itself sent); otherwise refused with the reason. */
tkms_status tkms_party_receive(tkms_party *party, const uint8_t *bytes, size_t len,
                               tkms_err *err);

/* Ends the current round (the driver delivered what it had): processes it
 * and appends the next round's messages. After round 4 the party is DONE
 * or FAILED (the reason in err). */
tkms_status tkms_party_end_round(tkms_party *party, tkms_outbox *out, tkms_err *err);

uint32_t tkms_party_round(const tkms_party *party);      /* 1..4, 5 when over */
tkms_party_state tkms_party_state_of(const tkms_party *party);
uint32_t tkms_party_number(const tkms_party *party);     /* 1..m              */
/* Why the party FAILED ("" otherwise). */
const char *tkms_party_failure(const tkms_party *party);

/* ---- results (valid once DONE) ---------------------------------------- */

/* The group of key `key` (0..M-1). Its share keys are computed on the
 * first call (so this is not thread-safe against itself); NULL if the
 * party is not DONE, or on out of memory. */
const tkms_group *tkms_party_group(const tkms_party *party, uint32_t key);

/* This party's shares of key `key`, in index order; *count of them (0 and
 * NULL unless DONE). Owned by the party: wiped and freed with it. */
const tkms_share *tkms_party_shares(const tkms_party *party, uint32_t key,
                                    size_t *count);

/* SHA-256 over the ceremony, the qualified deals and the new group keys. */
const uint8_t *tkms_party_transcript(const tkms_party *party);

/* The disqualified dealers (also when FAILED). */
const tkms_disqualification *tkms_party_disqualified(const tkms_party *party,
                                                     size_t *count);

#endif /* TKMS_DKG_H */
