/*
 * fuzz_ceremony_message.c — libFuzzer target for the decoder of the signed
 * envelope every ceremony message travels in (tkms_message_decode,
 * tkms/ceremony_message.h). Besides "no crash, no sanitizer report" it
 * asserts:
 *   - a refusal leaves a reason in err;
 *   - what decodes has a sender, a known round and type, and its payload,
 *     signed part and signature lie inside the input, end to end;
 *   - re-encoding the decoded fields and payload (signed with a fixed
 *     identity) gives the same bytes up to the signature, and decodes back
 *     to the same fields, signed by that identity.
 * Seeds: fuzz/seeds/ceremony_message/ (real messages of each type from a
 * simulated 3-party ceremony, and a few malformed ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/ceremony_message.h"

static bool same_fields(const tkms_message *a, const tkms_message *b)
{
    return memcmp(a->ceremony_id, b->ceremony_id, TKMS_CEREMONY_ID_SIZE) == 0 &&
           a->round == b->round && a->type == b->type && a->from_party == b->from_party &&
           a->from_share == b->from_share && a->to_party == b->to_party &&
           a->to_share == b->to_share && a->payload_len == b->payload_len &&
           memcmp(a->payload, b->payload, a->payload_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tkms_identity signer;
    static bool ready;
    if (!ready) {
        uint8_t seed[TKMS_IDENTITY_SEED_SIZE] = {'f', 'u', 'z', 'z'};
        if (tkms_identity_from_seed(&signer, seed) != TKMS_OK)
            abort();
        ready = true;
    }
    tkms_message msg;
    tkms_err err;
    err.message[0] = '\0';
    if (tkms_message_decode(&msg, data, size, &err) != TKMS_OK) {
        INVARIANT(err.message[0] != '\0');
        return 0;
    }
    INVARIANT(msg.from_party != 0);
    INVARIANT(msg.round >= 1 && msg.round <= 4);
    INVARIANT(msg.type >= TKMS_MSG_DEAL && msg.type <= TKMS_MSG_CONFIRM);
    INVARIANT(msg.payload_len <= TKMS_MESSAGE_MAX_PAYLOAD);
    INVARIANT(msg.signed_part == data && msg.payload == data + TKMS_MESSAGE_HEADER_SIZE);
    INVARIANT(msg.signed_len == TKMS_MESSAGE_HEADER_SIZE + (size_t)msg.payload_len);
    INVARIANT(msg.signature == data + msg.signed_len);
    INVARIANT(msg.signed_len + TKMS_IDENTITY_SIGNATURE_SIZE == size);

    uint8_t *again;
    size_t again_len;
    INVARIANT(tkms_message_encode(&again, &again_len, &msg, msg.payload, msg.payload_len,
                                  &signer) == TKMS_OK);
    INVARIANT(again_len == size && memcmp(again, data, msg.signed_len) == 0);
    tkms_message back;
    INVARIANT(tkms_message_decode(&back, again, again_len, NULL) == TKMS_OK);
    INVARIANT(same_fields(&msg, &back));
    INVARIANT(tkms_message_signed_by(&back, signer.public_key));
    free(again);
    return 0;
}
