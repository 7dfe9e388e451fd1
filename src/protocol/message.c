/*
 * message.c — the signed envelope of ceremony messages
 * (tkms/ceremony_message.h): big-endian framing, bounds, Ed25519.
 */
#include <stdlib.h>
#include <string.h>

#include "tkms/ceremony_message.h"

static const uint8_t magic[4] = {'T', 'K', 'C', '1'};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

tkms_status tkms_message_encode(uint8_t **out, size_t *out_len,
                                const tkms_message *fields,
                                const uint8_t *payload, size_t payload_len,
                                const tkms_identity *sender)
{
    *out = NULL;
    if (payload_len > TKMS_MESSAGE_MAX_PAYLOAD)
        return TKMS_ERR_INVALID_ARGUMENT;
    size_t len = TKMS_MESSAGE_HEADER_SIZE + payload_len + TKMS_IDENTITY_SIGNATURE_SIZE;
    uint8_t *m = malloc(len);
    if (m == NULL)
        return TKMS_ERR_NO_MEMORY;
    uint8_t *p = m;
    memcpy(p, magic, 4), p += 4;
    memcpy(p, fields->ceremony_id, TKMS_CEREMONY_ID_SIZE), p += TKMS_CEREMONY_ID_SIZE;
    *p++ = fields->round;
    *p++ = fields->type;
    put16(p, fields->from_party), p += 2;
    put16(p, fields->from_share), p += 2;
    put16(p, fields->to_party), p += 2;
    put16(p, fields->to_share), p += 2;
    p[0] = (uint8_t)(payload_len >> 24);
    p[1] = (uint8_t)(payload_len >> 16);
    p[2] = (uint8_t)(payload_len >> 8);
    p[3] = (uint8_t)payload_len;
    p += 4;
    if (payload_len > 0)
        memcpy(p, payload, payload_len);
    p += payload_len;
    tkms_identity_sign(p, sender, m, (size_t)(p - m));
    *out = m;
    *out_len = len;
    return TKMS_OK;
}

tkms_status tkms_message_decode(tkms_message *msg, const uint8_t *bytes, size_t len,
                                tkms_err *err)
{
    memset(msg, 0, sizeof *msg);
    if (len < TKMS_MESSAGE_HEADER_SIZE + TKMS_IDENTITY_SIGNATURE_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message: %zu bytes is too short", len);
    if (memcmp(bytes, magic, 4) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message: not a tkms ceremony message");
    const uint8_t *p = bytes + 4;
    memcpy(msg->ceremony_id, p, TKMS_CEREMONY_ID_SIZE), p += TKMS_CEREMONY_ID_SIZE;
    msg->round = *p++;
    msg->type = *p++;
    msg->from_party = get16(p), p += 2;
    msg->from_share = get16(p), p += 2;
    msg->to_party = get16(p), p += 2;
    msg->to_share = get16(p), p += 2;
    uint32_t payload_len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    p += 4;
    if (payload_len > TKMS_MESSAGE_MAX_PAYLOAD)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message: payload of %u bytes is over the limit",
                         payload_len);
    if ((size_t)payload_len + TKMS_MESSAGE_HEADER_SIZE + TKMS_IDENTITY_SIGNATURE_SIZE != len)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "message: %zu bytes, but the header announces a %u-byte payload", len,
                         payload_len);
    if (msg->round < 1 || msg->round > 4 || msg->type < TKMS_MSG_DEAL || msg->type > TKMS_MSG_CONFIRM)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message: unknown round %u or type %u",
                         msg->round, msg->type);
    if (msg->from_party == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message: sender party 0");
    msg->payload = p;
    msg->payload_len = payload_len;
    msg->signed_part = bytes;
    msg->signed_len = len - TKMS_IDENTITY_SIGNATURE_SIZE;
    msg->signature = bytes + msg->signed_len;
    return TKMS_OK;
}

bool tkms_message_signed_by(const tkms_message *msg,
                            const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE])
{
    return tkms_identity_verify(identity, msg->signature, msg->signed_part, msg->signed_len);
}
