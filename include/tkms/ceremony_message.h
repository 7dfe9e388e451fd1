/*
 * tkms/ceremony_message.h — the signed envelope of every ceremony message.
 *
 *   "TKC1" | ceremony_id[32] | round u8 | type u8
 *   | from_party u16 | from_share u16 | to_party u16 | to_share u16
 *   | payload_len u32 | payload | Ed25519 signature[64]
 *
 * Integers are big-endian. Parties are numbered 1..m (spec order); share 0
 * means the party itself, otherwise a share index (DKG: of the new key; a
 * reshare dealer's from_share is the old share index it deals). to_party 0
 * is a broadcast. The signature, by from_party's identity key, covers
 * everything before it. Decoding checks only the framing and bounds; the
 * router (tkms/dkg.h) checks the ceremony, round, sender and signature.
 */
#ifndef TKMS_CEREMONY_MESSAGE_H
#define TKMS_CEREMONY_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/ceremony.h"
#include "tkms/identity.h"
#include "tkms/status.h"

#define TKMS_MESSAGE_HEADER_SIZE (4 + 32 + 1 + 1 + 2 * 4 + 4)
#define TKMS_MESSAGE_MAX_PAYLOAD (64u * 1024u * 1024u)
#define TKMS_MESSAGE_BROADCAST 0

enum {
    TKMS_MSG_DEAL = 1,       /* round 1, broadcast: commitments          */
    TKMS_MSG_SHARE = 2,      /* round 1, to one share: sealed values     */
    TKMS_MSG_ECHO = 3,       /* round 2, broadcast: hashes + complaints  */
    TKMS_MSG_JUSTIFY = 4,    /* round 3, broadcast: revealed values      */
    TKMS_MSG_EVIDENCE = 5,   /* round 3, broadcast: a forwarded DEAL     */
    TKMS_MSG_CONFIRM = 6,    /* round 4, broadcast: transcript partials  */
};

typedef struct {
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    uint8_t round;
    uint8_t type;
    uint16_t from_party, from_share, to_party, to_share;
    const uint8_t *payload;     /* points into the decoded bytes */
    uint32_t payload_len;
    const uint8_t *signed_part; /* header + payload              */
    size_t signed_len;
    const uint8_t *signature;   /* 64 bytes                      */
} tkms_message;

/*
 * Encodes and signs a message; *out (malloc'ed, *out_len bytes) holds it.
 * Returns TKMS_ERR_INVALID_ARGUMENT for a payload over the maximum.
 */
tkms_status tkms_message_encode(uint8_t **out, size_t *out_len,
                                const tkms_message *fields,
                                const uint8_t *payload, size_t payload_len,
                                const tkms_identity *sender);

/* Decodes the framing of `len` bytes into *msg (pointers into `bytes`).
 * TKMS_ERR_BAD_FORMAT with the reason for anything malformed. */
tkms_status tkms_message_decode(tkms_message *msg, const uint8_t *bytes, size_t len,
                                tkms_err *err);

/* True iff msg's signature is `identity`'s. */
bool tkms_message_signed_by(const tkms_message *msg,
                            const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE]);

#endif /* TKMS_CEREMONY_MESSAGE_H */
