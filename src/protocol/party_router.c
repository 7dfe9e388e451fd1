/*
 * party_router.c — the router of a ceremony party: every incoming message
 * is checked (framing, ceremony, round, signature, that the sender holds
 * the share it speaks for, the addressee, the type, the exact length,
 * duplicates) before anything is stored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "party_internal.h"

/* ---- the router ------------------------------------------------------------ */

static tkms_status refuse(tkms_party *p, uint32_t from, tkms_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static tkms_status refuse(tkms_party *p, uint32_t from, tkms_err *err, const char *fmt, ...)
{
    (void)p;
    (void)from;
    char reason[TKMS_ERR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", reason);
}

/* The dealing a DEAL/SHARE/JUSTIFY claims to come from; 0 if the sender
 * does not deal it. */
static uint32_t claimed_dealing(const tkms_party *p, const tkms_message *m)
{
    uint32_t d = party_is_reshare(p) ? m->from_share : m->from_party;
    if (d == 0 || d > p->D || (!party_is_reshare(p) && m->from_share != 0))
        return 0;
    return p->dealings[d - 1].party == m->from_party ? d : 0;
}

static size_t expected_len(const tkms_party *p, const tkms_message *m)
{
    switch (m->type) {
    case TKMS_MSG_DEAL: return (size_t)p->M * p->K * POINT_SIZE;
    case TKMS_MSG_SHARE: return (size_t)p->M * VALUE_SIZE + TKMS_IDENTITY_SEAL_OVERHEAD;
    case TKMS_MSG_CONFIRM: return (size_t)p->M * TKMS_SIGNATURE_SIZE;
    default: return 0;   /* variable */
    }
}

static uint8_t round_of_type(uint8_t type)
{
    switch (type) {
    case TKMS_MSG_DEAL:
    case TKMS_MSG_SHARE: return 1;
    case TKMS_MSG_ECHO: return 2;
    case TKMS_MSG_JUSTIFY:
    case TKMS_MSG_EVIDENCE: return 3;
    default: return 4;
    }
}

/* Checks a forwarded deal and keeps it: adopted if this party had none,
 * kept as proof if it differs from the one it has. */
static tkms_status take_forwarded_deal(tkms_party *p, uint32_t d, const uint8_t *raw,
                                       size_t len, uint32_t from, tkms_err *err)
{
    tkms_message inner;
    tkms_err e;
    if (tkms_message_decode(&inner, raw, len, &e) != TKMS_OK)
        return refuse(p, from, err, "evidence: the forwarded deal is malformed: %s", e.message);
    if (memcmp(inner.ceremony_id, p->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE) != 0 ||
        inner.type != TKMS_MSG_DEAL || inner.round != 1 || claimed_dealing(p, &inner) != d ||
        inner.payload_len != expected_len(p, &inner) ||
        !tkms_message_signed_by(&inner, p->spec->parties[inner.from_party - 1].identity))
        return refuse(p, from, err, "evidence: the forwarded deal is not dealing %u's signed deal", d);
    dealing *dl = &p->dealings[d - 1];
    if (dl->deal == NULL) {
        dl->deal = party_copy_bytes(raw, len);
        dl->deal_len = len;
        blst_sha256(dl->deal_hash, raw, len);
    } else if ((len != dl->deal_len || memcmp(raw, dl->deal, len) != 0) && dl->other_deal == NULL) {
        dl->other_deal = party_copy_bytes(raw, len);
        dl->other_len = len;
    }
    return TKMS_OK;
}

static tkms_status store(tkms_party *p, const tkms_message *m, const uint8_t *bytes,
                         size_t len, tkms_err *err)
{
    uint32_t from = m->from_party;
    const uint8_t *pl = m->payload;
    switch (m->type) {
    case TKMS_MSG_DEAL: {
        dealing *dl = &p->dealings[claimed_dealing(p, m) - 1];
        if (dl->deal == NULL) {
            dl->deal = party_copy_bytes(bytes, len);
            dl->deal_len = len;
            blst_sha256(dl->deal_hash, bytes, len);
            return TKMS_OK;
        }
        if (len == dl->deal_len && memcmp(bytes, dl->deal, len) == 0)
            return refuse(p, 0, err, "duplicate deal from party %u", from);
        if (dl->other_deal == NULL) {   /* two signed deals: proof of equivocation */
            dl->other_deal = party_copy_bytes(bytes, len);
            dl->other_len = len;
        }
        return TKMS_OK;
    }
    case TKMS_MSG_SHARE: {
        share_instance *s = party_share_instance(p, m->to_share);
        uint32_t d = claimed_dealing(p, m);
        if (s->sealed[d - 1] != NULL)
            return refuse(p, 0, err, "duplicate share message from party %u", from);
        s->sealed[d - 1] = party_copy_bytes(pl, m->payload_len);
        s->sealed_len[d - 1] = m->payload_len;
        return TKMS_OK;
    }
    case TKMS_MSG_ECHO: {
        if (p->echo_received[from])
            return refuse(p, 0, err, "duplicate echo from party %u", from);
        if (m->payload_len < (size_t)p->D * HASH_SIZE + 2)
            return refuse(p, from, err, "echo from party %u is too short", from);
        uint32_t count = party_get16(pl + (size_t)p->D * HASH_SIZE);
        if (m->payload_len != (size_t)p->D * HASH_SIZE + 2 + 4 * (size_t)count)
            return refuse(p, from, err, "echo from party %u has the wrong length", from);
        const tkms_owner *sender = &p->spec->owners->owners[from - 1];
        const uint8_t *c = pl + (size_t)p->D * HASH_SIZE + 2;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t d = party_get16(c + 4 * i), k = party_get16(c + 4 * i + 2);
            if (d == 0 || d > p->D || k < sender->first_index || k >= sender->first_index + sender->share_count)
                return refuse(p, from, err, "party %u complains about share %u of dealing %u, "
                              "which it does not hold", from, k, d);
        }
        for (uint32_t i = 0; i < count; i++) {
            dealing *dl = &p->dealings[party_get16(c + 4 * i) - 1];
            dl->complained[party_get16(c + 4 * i + 2)] = 1;
            dl->any_complaint = true;
        }
        memcpy(p->echo_hashes + (size_t)(from - 1) * p->D * HASH_SIZE, pl, (size_t)p->D * HASH_SIZE);
        p->echo_received[from] = true;
        return TKMS_OK;
    }
    case TKMS_MSG_JUSTIFY: {
        dealing *dl = &p->dealings[claimed_dealing(p, m) - 1];
        if (dl->justify != NULL)
            return refuse(p, 0, err, "duplicate justification from party %u", from);
        size_t entry = 2 + (size_t)p->M * VALUE_SIZE;
        if (m->payload_len < 2 || m->payload_len != 2 + entry * party_get16(pl))
            return refuse(p, from, err, "justification from party %u has the wrong length", from);
        dl->justify = party_copy_bytes(bytes, len);
        dl->justify_len = len;
        return TKMS_OK;
    }
    case TKMS_MSG_EVIDENCE: {
        if (m->payload_len < 2)
            return refuse(p, from, err, "evidence from party %u is too short", from);
        uint32_t d = party_get16(pl);
        if (d == 0 || d > p->D)
            return refuse(p, from, err, "evidence from party %u names no dealing", from);
        return take_forwarded_deal(p, d, pl + 2, m->payload_len - 2, from, err);
    }
    default: {   /* CONFIRM */
        uint32_t k = m->from_share;
        if (p->confirm_received[k])
            return refuse(p, 0, err, "duplicate confirmation for share %u", k);
        memcpy(p->confirm_sigs + (size_t)(k - 1) * p->M * TKMS_SIGNATURE_SIZE, pl, m->payload_len);
        p->confirm_received[k] = true;
        return TKMS_OK;
    }
    }
}

/* The router: checks one message and stores it. */
tkms_status party_accept(tkms_party *p, const uint8_t *bytes, size_t len, tkms_err *err)
{
    tkms_message m;
    tkms_err e;
    if (tkms_message_decode(&m, bytes, len, &e) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", e.message);
    uint32_t from = m.from_party;
    if (from > p->m)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message from unknown party %u", from);
    if (memcmp(m.ceremony_id, p->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE) != 0)
        return refuse(p, from, err, "message from party %u belongs to another ceremony", from);
    if (!tkms_message_signed_by(&m, p->spec->parties[from - 1].identity))
        return refuse(p, from, err, "message claiming party %u has a bad signature", from);
    if (m.round != p->round || round_of_type(m.type) != m.round)
        return refuse(p, from, err, "round %u message of type %u from party %u while in round %u",
                      m.round, m.type, from, p->round);
    if (m.to_party != TKMS_MESSAGE_BROADCAST && m.to_party != p->me)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message for party %u, not this one", m.to_party);
    bool p2p = m.type == TKMS_MSG_SHARE;
    if (p2p != (m.to_party != TKMS_MESSAGE_BROADCAST))
        return refuse(p, from, err, "type %u message from party %u has the wrong addressee", m.type, from);
    if (p2p && party_share_instance(p, m.to_share) == NULL)
        return refuse(p, from, err, "share message from party %u for share %u, which this party "
                      "does not hold", from, m.to_share);
    size_t want = expected_len(p, &m);
    if (want != 0 && m.payload_len != want)
        return refuse(p, from, err, "type %u message from party %u: %u bytes, expected %zu",
                      m.type, from, m.payload_len, want);
    switch (m.type) {
    case TKMS_MSG_DEAL:
    case TKMS_MSG_SHARE:
    case TKMS_MSG_JUSTIFY:
        if (claimed_dealing(p, &m) == 0)
            return refuse(p, from, err, "party %u sent a message for share %u, which it does not deal",
                          from, m.from_share);
        break;
    case TKMS_MSG_CONFIRM: {
        const tkms_owner *o = tkms_owner_of(p->spec->owners, m.from_share);
        if (o == NULL || tkms_ceremony_party_number(p->spec, o->id) != from)
            return refuse(p, from, err, "party %u confirmed for share %u, which it does not hold",
                          from, m.from_share);
        break;
    }
    default:
        if (m.from_share != 0)
            return refuse(p, from, err, "party %u sent a party message from share %u", from, m.from_share);
    }
    return store(p, &m, bytes, len, err);
}

tkms_status tkms_party_receive(tkms_party *p, const uint8_t *bytes, size_t len,
                               tkms_err *err)
{
    tkms_message m;
    tkms_err e;
    if (tkms_message_decode(&m, bytes, len, &e) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", e.message);
    /* this party took its own messages when it sent them; the relay's
     * copies (and anything else claiming to be from it) change nothing */
    if (m.from_party == p->me)
        return TKMS_OK;
    tkms_err why;
    tkms_status st = party_accept(p, bytes, len, &why);
    /* a refused deal is remembered to explain the dealer's absence; only
     * deals, which every party receives alike, so every honest party gives
     * the same reason */
    if (st != TKMS_OK && m.type == TKMS_MSG_DEAL && m.from_party <= p->m) {
        p->refused[m.from_party]++;
        snprintf(p->refused_reason[m.from_party], sizeof p->refused_reason[m.from_party], "%.90s",
                 why.message);
    }
    if (st != TKMS_OK && err != NULL)
        *err = why;
    return st;
}
