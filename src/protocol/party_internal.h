/*
 * party_internal.h — the state of one ceremony party, shared by the three
 * files that implement tkms/dkg.h: party.c (creation, dealing, results),
 * party_router.c (checking and storing incoming messages) and
 * party_rounds.c (processing the rounds). Not a public header.
 */
#ifndef TKMS_PARTY_INTERNAL_H
#define TKMS_PARTY_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "tkms/ceremony_message.h"
#include "tkms/combine.h"
#include "tkms/dkg.h"
#include "tkms/secmem.h"

#define POINT_SIZE 96              /* uncompressed G1 in deals          */
#define VALUE_SIZE 32              /* big-endian scalar                 */
#define HASH_SIZE 32

typedef struct {
    uint32_t party;                /* the dealer                         */
    uint8_t *deal;                 /* first signed DEAL seen (raw)       */
    size_t deal_len;
    uint8_t deal_hash[HASH_SIZE];
    uint8_t *other_deal;           /* a second, different one            */
    size_t other_len;
    blst_p1_affine *commitments;   /* M × K once decoded                 */
    bool commitments_ok;
    uint8_t *complained;           /* [n + 1]                            */
    bool any_complaint;
    uint8_t *justify;              /* the dealer's JUSTIFY (raw)         */
    size_t justify_len;
    bool disqualified;
    blst_fr *coeffs;               /* M × K, only for this party's own   */
} dealing;

typedef struct {
    uint32_t index;
    uint8_t **sealed;              /* [D] SHARE payloads received        */
    size_t *sealed_len;
    blst_scalar *values;           /* [D × M]                            */
    bool *have;                    /* [D] values verified or revealed    */
} share_instance;

struct tkms_party {
    const tkms_ceremony_spec *spec;
    uint32_t me;
    tkms_identity identity;
    tkms_rng *rng;
    uint32_t round;
    tkms_party_state state;
    uint32_t K, M, n, D, m;
    dealing *dealings;             /* [D]                                */
    share_instance *shares;        /* this owner's new shares            */
    size_t share_count;
    uint8_t *echo_hashes;          /* [m × D × 32]                       */
    bool *echo_received;           /* [m + 1]                            */
    uint8_t *confirm_sigs;         /* [n × M × 96]                       */
    bool *confirm_received;        /* [n + 1]                            */
    uint8_t (*box_keys)[32];       /* [m] each party's X25519 key        */
    uint32_t *refused;             /* [m + 1] deals refused per sender   */
    char (*refused_reason)[96];    /* [m + 1] why the last one was       */
    tkms_public_key *new_commitments; /* [M × K] the new keys' commitments */
    tkms_group **groups;           /* [M], built on demand (share keys)  */
    tkms_share *results;           /* [M × share_count]: key-major       */
    uint8_t transcript[HASH_SIZE];
    blst_p2_affine transcript_point;   /* H(transcript), hashed once      */
    tkms_disqualification dq[TKMS_CEREMONY_MAX_PARTIES];
    size_t dq_count;
    char failure[TKMS_ERR_MESSAGE_SIZE];   /* why, once FAILED */
};

/* ---- shared between party.c, party_router.c and party_rounds.c ---------- */

void party_put16(uint8_t *p, uint32_t v);
uint32_t party_get16(const uint8_t *p);
uint8_t *party_copy_bytes(const uint8_t *p, size_t len);
bool party_is_reshare(const tkms_party *p);
/* The share instance of new share `index`, or NULL if this owner lacks it. */
share_instance *party_share_instance(tkms_party *p, uint32_t index);
/* from_share of this party's messages for dealing d (DKG 0, reshare d). */
uint32_t party_dealing_share(const tkms_party *p, uint32_t d);
void party_value_to_bytes(uint8_t out[VALUE_SIZE], const blst_fr *v);
/* Reads a value; false if it is not below r. */
bool party_value_from_bytes(blst_scalar *out, const uint8_t in[VALUE_SIZE]);
/* Disqualifies dealing d with up to two signed messages as evidence. */
void party_disqualify(tkms_party *p, uint32_t d, const uint8_t *ev1, size_t len1,
                      const uint8_t *ev2, size_t len2, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Encodes, signs, takes to itself if it is for itself, and queues. */
tkms_status party_send(tkms_party *p, tkms_outbox *out, uint8_t type, uint32_t from_share,
                       uint32_t to_party, uint32_t to_share, const uint8_t *payload,
                       size_t len, tkms_err *err);
/* The router (party_router.c): checks one message and stores it. */
tkms_status party_accept(tkms_party *p, const uint8_t *bytes, size_t len, tkms_err *err);
/* Round processing (party_rounds.c). */
tkms_status party_end_round_1(tkms_party *p, tkms_outbox *out, tkms_err *err);
tkms_status party_end_round_2(tkms_party *p, tkms_outbox *out, tkms_err *err);
tkms_status party_end_round_3(tkms_party *p, tkms_outbox *out, tkms_err *err);
tkms_status party_end_round_4(tkms_party *p, tkms_err *err);
/* The group of key `key`, share keys computed on first use; NULL on OOM. */
const tkms_group *party_group_of(tkms_party *p, uint32_t key);

#endif /* TKMS_PARTY_INTERNAL_H */
