/*
 * ceremony_spec.c — building and checking a ceremony spec
 * (tkms/ceremony.h), and its hash over a canonical binary form so that
 * every party binds its messages and transcript to the same ceremony.
 */
#include <stdlib.h>
#include <string.h>

#include <blst.h>

#include "tkms/ceremony.h"

static int compare_parties(const void *a, const void *b)
{
    return strcmp(((const tkms_ceremony_party *)a)->id, ((const tkms_ceremony_party *)b)->id);
}

/* A growable byte buffer for the canonical form. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put32(bytes *b, uint32_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, be, 4);
}

static void put_key(bytes *b, const tkms_public_key *pk)
{
    uint8_t c[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(c, pk);
    put(b, c, sizeof c);
}

static void put_owners(bytes *b, const tkms_owner_map *owners)
{
    put32(b, (uint32_t)owners->count);
    for (size_t i = 0; i < owners->count; i++) {
        put32(b, (uint32_t)strlen(owners->owners[i].id));
        put(b, owners->owners[i].id, strlen(owners->owners[i].id));
        put32(b, owners->owners[i].share_count);
    }
}

static tkms_status compute_hash(tkms_ceremony_spec *s)
{
    bytes b = {0};
    put(&b, "tkms-ceremony-spec-v1", 21);
    put32(&b, s->kind);
    put(&b, s->ceremony_id, TKMS_CEREMONY_ID_SIZE);
    put32(&b, s->threshold);
    put32(&b, s->keys);
    put32(&b, (uint32_t)s->party_count);
    for (size_t i = 0; i < s->party_count; i++) {
        put32(&b, (uint32_t)strlen(s->parties[i].id));
        put(&b, s->parties[i].id, strlen(s->parties[i].id));
        put32(&b, s->parties[i].shares);
        put(&b, s->parties[i].identity, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    if (s->kind == TKMS_CEREMONY_RESHARE) {
        put32(&b, s->old_group->threshold);
        put32(&b, s->old_group->share_count);
        for (uint32_t t = 0; t < s->old_group->threshold; t++)
            put_key(&b, &s->old_group->commitments[t]);
        put_owners(&b, s->old_owners);
    }
    if (b.failed) {
        free(b.data);
        return TKMS_ERR_NO_MEMORY;
    }
    blst_sha256(s->hash, b.data, b.len);
    free(b.data);
    return TKMS_OK;
}

static tkms_status check_parties(const tkms_ceremony_party *parties, size_t n, tkms_err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t box[32];
        if (!tkms_owner_id_valid(parties[i].id))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: party #%zu has an invalid id",
                             i + 1);
        if (tkms_identity_box_key(box, parties[i].identity) != TKMS_OK)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "ceremony spec: party '%s' has an identity that is not an Ed25519 key",
                             parties[i].id);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(parties[i].id, parties[j].id) == 0)
                return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                                 "ceremony spec: party '%s' appears twice", parties[i].id);
            if (memcmp(parties[i].identity, parties[j].identity, TKMS_IDENTITY_PUBLIC_SIZE) == 0)
                return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                                 "ceremony spec: parties '%s' and '%s' have the same identity key",
                                 parties[j].id, parties[i].id);
        }
    }
    return TKMS_OK;
}

tkms_status tkms_ceremony_spec_new(tkms_ceremony_spec **out, tkms_ceremony_kind kind,
                                   const uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE],
                                   uint32_t threshold, uint32_t keys,
                                   const tkms_ceremony_party *parties, size_t party_count,
                                   tkms_group *old_group, tkms_owner_map *old_owners,
                                   tkms_err *err)
{
    *out = NULL;
    tkms_ceremony_spec *s = calloc(1, sizeof *s);
    if (s == NULL) {
        tkms_group_free(old_group);
        tkms_owner_map_free(old_owners);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony spec: out of memory");
    }
    s->old_group = old_group;
    s->old_owners = old_owners;
    s->kind = kind;
    memcpy(s->ceremony_id, ceremony_id, TKMS_CEREMONY_ID_SIZE);
    s->threshold = threshold;
    s->keys = keys;
    tkms_status st = TKMS_OK;
    if (kind != TKMS_CEREMONY_DKG && kind != TKMS_CEREMONY_RESHARE)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: kind must be dkg or reshare");
    else if (party_count == 0 || party_count > TKMS_CEREMONY_MAX_PARTIES)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: 1..%u parties needed",
                       TKMS_CEREMONY_MAX_PARTIES);
    else if (keys == 0 || keys > TKMS_CEREMONY_MAX_KEYS || (kind == TKMS_CEREMONY_RESHARE && keys != 1))
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: keys must be 1..%u (1 for a reshare)",
                       TKMS_CEREMONY_MAX_KEYS);
    else if ((kind == TKMS_CEREMONY_RESHARE) != (old_group != NULL && old_owners != NULL))
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "ceremony spec: a reshare needs the old group with its owners, a dkg none");
    else
        st = check_parties(parties, party_count, err);
    if (st == TKMS_OK) {
        s->parties = malloc(party_count * sizeof *s->parties);
        if (s->parties == NULL)
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony spec: out of memory");
    }
    if (st == TKMS_OK) {
        memcpy(s->parties, parties, party_count * sizeof *parties);
        s->party_count = party_count;
        qsort(s->parties, party_count, sizeof *s->parties, compare_parties);
        const char **ids = malloc(party_count * sizeof *ids);
        uint32_t *counts = malloc(party_count * sizeof *counts);
        if (ids == NULL || counts == NULL) {
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony spec: out of memory");
        } else {
            for (size_t i = 0; i < party_count; i++) {
                ids[i] = s->parties[i].id;
                counts[i] = s->parties[i].shares;
            }
            st = tkms_owner_map_new(&s->owners, ids, counts, party_count, err);
        }
        free(ids);
        free(counts);
    }
    if (st == TKMS_OK && (threshold < 1 || threshold > s->owners->total))
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: threshold must be 1..%u",
                       s->owners->total);
    for (size_t i = 0; st == TKMS_OK && kind == TKMS_CEREMONY_RESHARE && i < old_owners->count; i++)
        if (old_owners->owners[i].share_count > 0 &&
            tkms_ceremony_party_number(s, old_owners->owners[i].id) == 0)
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           "ceremony spec: old owner '%s' is not a party", old_owners->owners[i].id);
    if (st == TKMS_OK && kind == TKMS_CEREMONY_RESHARE && old_owners->total != old_group->share_count)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "ceremony spec: old owners do not match the old group");
    if (st == TKMS_OK && compute_hash(s) != TKMS_OK)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony spec: out of memory");
    if (st != TKMS_OK) {
        tkms_ceremony_spec_free(s);
        return st;
    }
    *out = s;
    return TKMS_OK;
}

void tkms_ceremony_spec_free(tkms_ceremony_spec *spec)
{
    if (spec == NULL)
        return;
    free(spec->parties);
    tkms_owner_map_free(spec->owners);
    tkms_group_free(spec->old_group);
    tkms_owner_map_free(spec->old_owners);
    free(spec);
}

uint32_t tkms_ceremony_party_number(const tkms_ceremony_spec *spec, const char *id)
{
    size_t lo = 0, hi = spec->party_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, spec->parties[mid].id);
        if (c == 0)
            return (uint32_t)(mid + 1);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}
