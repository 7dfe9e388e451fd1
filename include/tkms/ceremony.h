/*
 * tkms/ceremony.h — the description of a key ceremony (DKG or reshare)
 * that every party starts from, and its JSON file (`SPEC.json`):
 *
 *   { "version": 1, "kind": "dkg" | "reshare",
 *     "ceremony_id": "0x<32 bytes>",     unique per ceremony: messages of
 *                                         another ceremony are refused
 *     "threshold": K, "keys": M,          K of the new key(s); M keys (DKG)
 *     "parties": [{"id": "p1", "shares": 1, "identity": "0x<Ed25519>"}, …],
 *     "old_group": { group file }         reshare only: the key being
 *   }                                     reshared, with its owners
 *
 * Parties are sorted by id and numbered 1..m in that order; `shares` is
 * how many shares of the new key each receives (0 for an owner that
 * leaves in a reshare), indices by prefix sums (DESIGN §5). In a reshare
 * the dealers are the old owners, matched by id to `old_group.owners`;
 * each old share deals itself, M is 1, and the new key is the old one.
 */
#ifndef TKMS_CEREMONY_H
#define TKMS_CEREMONY_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/shamir.h"
#include "tkms/identity.h"
#include "tkms/owners.h"
#include "tkms/status.h"

#define TKMS_CEREMONY_ID_SIZE 32
#define TKMS_CEREMONY_MAX_PARTIES 256u
#define TKMS_CEREMONY_MAX_KEYS 10000u
#define TKMS_CEREMONY_SPEC_MAX_SIZE (2u * 1024u * 1024u)

typedef enum { TKMS_CEREMONY_DKG = 1, TKMS_CEREMONY_RESHARE = 2 } tkms_ceremony_kind;

typedef struct {
    char id[TKMS_OWNER_ID_MAX_SIZE + 1];
    uint32_t shares;                                  /* of the new key */
    uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE];      /* Ed25519 public */
} tkms_ceremony_party;

typedef struct {
    tkms_ceremony_kind kind;
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    uint32_t threshold;            /* K of the new key(s)                   */
    uint32_t keys;                 /* M                                     */
    size_t party_count;
    tkms_ceremony_party *parties;  /* sorted by id                          */
    tkms_owner_map *owners;        /* the new owners (from parties/shares)  */
    tkms_group *old_group;         /* reshare: the key being reshared       */
    tkms_owner_map *old_owners;    /* reshare: who holds its shares         */
    uint8_t hash[32];              /* SHA-256 of a canonical binary form    */
} tkms_ceremony_spec;

/*
 * Builds and checks a spec from its parts (parties in any order; copied).
 * For a reshare `old_group` and `old_owners` are taken over (freed with the
 * spec, also on failure); for a DKG they must be NULL. Checks:
 * 1 <= K <= n (total new shares) <= TKMS_MAX_SHARES, 1 <= M <=
 * TKMS_CEREMONY_MAX_KEYS (1 for reshare), 1..TKMS_CEREMONY_MAX_PARTIES
 * parties with valid distinct ids and distinct identities; for a reshare,
 * an old group with owners whose every id is a party. Computes `hash`.
 */
tkms_status tkms_ceremony_spec_new(tkms_ceremony_spec **out, tkms_ceremony_kind kind,
                                   const uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE],
                                   uint32_t threshold, uint32_t keys,
                                   const tkms_ceremony_party *parties, size_t party_count,
                                   tkms_group *old_group, tkms_owner_map *old_owners,
                                   tkms_err *err);

void tkms_ceremony_spec_free(tkms_ceremony_spec *spec);

/* Position (1..m) of party `id`, or 0. */
uint32_t tkms_ceremony_party_number(const tkms_ceremony_spec *spec, const char *id);

/* Reads a SPEC.json (checks as tkms_ceremony_spec_new, plus the format).
 * Implemented in the store layer (src/store/ceremony_spec_file.c). */
tkms_status tkms_ceremony_spec_parse(tkms_ceremony_spec **out, const char *json,
                                     size_t len, tkms_err *err);

/* Writes a spec as SPEC.json (caller frees). NULL on OOM. */
char *tkms_ceremony_spec_format(const tkms_ceremony_spec *spec);

#endif /* TKMS_CEREMONY_H */
