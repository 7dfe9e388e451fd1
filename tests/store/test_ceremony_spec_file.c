/*
 * test_ceremony_spec_file.c — SPEC.json (tkms_ceremony_spec_parse and
 * _format): DKG and reshare specs round-trip to the same hash and the same
 * text; every malformed field is refused with a one-line message naming
 * it; the nested old group is checked like a group file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test.h"
#include "tkms/ceremony.h"
#include "tkms/group_file.h"

static tkms_rng_seeded rng;

/* A spec of m parties p1..pm (shares[i] each, 1 if NULL). */
static tkms_ceremony_spec *make_spec(tkms_ceremony_kind kind, size_t m, const uint32_t *shares,
                                     uint32_t k, uint32_t keys, tkms_group *old_group,
                                     tkms_owner_map *old_owners)
{
    tkms_ceremony_party parties[8];
    for (size_t i = 0; i < m; i++) {
        tkms_identity id;
        tkms_identity_generate(&id, &rng.base);
        snprintf(parties[i].id, sizeof parties[i].id, "p%zu", m - i);   /* unsorted */
        parties[i].shares = shares ? shares[i] : 1;
        memcpy(parties[i].identity, id.public_key, sizeof id.public_key);
        tkms_identity_wipe(&id);
    }
    uint8_t cid[TKMS_CEREMONY_ID_SIZE];
    tkms_rng_fill(&rng.base, cid, sizeof cid);
    tkms_ceremony_spec *spec;
    tkms_err err;
    if (tkms_ceremony_spec_new(&spec, kind, cid, k, keys, parties, m, old_group, old_owners,
                               &err) != TKMS_OK)
        test_fatal("make_spec: %s", err.message);
    return spec;
}

/* Formats, parses back and checks hash and text are kept. */
static void check_round_trip(const char *label, const tkms_ceremony_spec *spec)
{
    char *text = tkms_ceremony_spec_format(spec);
    CHECK(text != NULL, "%s: formats", label);
    if (text == NULL)
        return;
    tkms_ceremony_spec *back = NULL;
    tkms_err err;
    tkms_status st = tkms_ceremony_spec_parse(&back, text, strlen(text), &err);
    CHECK(st == TKMS_OK, "%s: parses back (%s)", label, st == TKMS_OK ? "" : err.message);
    if (back != NULL) {
        CHECK(memcmp(back->hash, spec->hash, sizeof spec->hash) == 0, "%s: same spec hash", label);
        CHECK(back->kind == spec->kind && back->threshold == spec->threshold &&
                  back->keys == spec->keys && back->party_count == spec->party_count,
              "%s: same kind, K, M and parties", label);
        char *again = tkms_ceremony_spec_format(back);
        CHECK(again != NULL && strcmp(again, text) == 0, "%s: the format is canonical", label);
        free(again);
    }
    tkms_ceremony_spec_free(back);
    free(text);
}

/* `text` edited by `edit` must be refused with a message containing `needle`. */
typedef void (*edit_fn)(json_t *root);

static void expect_refused(const char *label, const char *base, edit_fn edit, const char *needle)
{
    json_t *root = json_loads(base, 0, NULL);
    if (root == NULL)
        test_fatal("%s: base does not load", label);
    edit(root);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    tkms_ceremony_spec *spec = NULL;
    tkms_err err = {0};
    tkms_status st = tkms_ceremony_spec_parse(&spec, text, strlen(text), &err);
    CHECK(st != TKMS_OK && spec == NULL, "%s: refused", label);
    CHECK(strstr(err.message, needle) != NULL, "%s: message '%s' names '%s'", label, err.message,
          needle);
    CHECK(strncmp(err.message, "ceremony spec: ", 15) == 0 && strchr(err.message, '\n') == NULL,
          "%s: one line, prefixed (%s)", label, err.message);
    tkms_ceremony_spec_free(spec);
    free(text);
}

static json_t *party(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "parties"), i);
}

static void e_version(json_t *r) { json_object_set_new(r, "version", json_integer(2)); }
static void e_kind(json_t *r) { json_object_set_new(r, "kind", json_string("frost")); }
static void e_id_short(json_t *r) { json_object_set_new(r, "ceremony_id", json_string("0x00")); }
static void e_id_missing(json_t *r) { json_object_del(r, "ceremony_id"); }
static void e_k_zero(json_t *r) { json_object_set_new(r, "threshold", json_integer(0)); }
static void e_k_big(json_t *r) { json_object_set_new(r, "threshold", json_integer(4)); }
static void e_k_string(json_t *r) { json_object_set_new(r, "threshold", json_string("2")); }
static void e_keys_zero(json_t *r) { json_object_set_new(r, "keys", json_integer(0)); }
static void e_keys_big(json_t *r) { json_object_set_new(r, "keys", json_integer(10001)); }
static void e_parties_obj(json_t *r) { json_object_set_new(r, "parties", json_object()); }
static void e_parties_empty(json_t *r) { json_object_set_new(r, "parties", json_array()); }
static void e_party_str(json_t *r) { json_array_set_new(json_object_get(r, "parties"), 1, json_string("p2")); }
static void e_party_id(json_t *r) { json_object_set_new(party(r, 1), "id", json_string("-p")); }
static void e_party_id_long(json_t *r)
{
    char id[80];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    json_object_set_new(party(r, 1), "id", json_string(id));
}
static void e_party_dup(json_t *r) { json_object_set_new(party(r, 1), "id", json_string("p1")); }
static void e_party_shares(json_t *r) { json_object_set_new(party(r, 2), "shares", json_integer(-1)); }
static void e_party_shares_big(json_t *r) { json_object_set_new(party(r, 2), "shares", json_integer(1025)); }
static void e_party_identity(json_t *r)
{
    json_object_set_new(party(r, 0), "identity",
                        json_string("0x0000000000000000000000000000000000000000000000000000000000000000"));
}
static void e_party_identity_short(json_t *r) { json_object_set_new(party(r, 0), "identity", json_string("0x01")); }
static void e_same_identity(json_t *r)
{
    json_object_set(party(r, 1), "identity", json_object_get(party(r, 0), "identity"));
}
static void e_dkg_old_group(json_t *r) { json_object_set_new(r, "old_group", json_object()); }
static void e_no_old_group(json_t *r) { json_object_del(r, "old_group"); }
static void e_old_no_owners(json_t *r) { json_object_del(json_object_get(r, "old_group"), "owners"); }
static void e_old_bad_threshold(json_t *r)
{
    json_object_set_new(json_object_get(r, "old_group"), "threshold", json_integer(9));
}
static void e_old_share_key(json_t *r)
{
    json_t *keys = json_object_get(json_object_get(r, "old_group"), "share_public_keys");
    json_array_set(keys, 0, json_array_get(keys, 1));
}
static void e_old_owner_gone(json_t *r)
{
    json_t *parties = json_object_get(r, "parties");
    json_array_remove(parties, 0);
}
static void e_reshare_keys(json_t *r) { json_object_set_new(r, "keys", json_integer(2)); }

static void test_dkg(void)
{
    uint32_t weighted[] = {2, 0, 3};
    tkms_ceremony_spec *plain = make_spec(TKMS_CEREMONY_DKG, 3, NULL, 2, 4, NULL, NULL);
    tkms_ceremony_spec *heavy = make_spec(TKMS_CEREMONY_DKG, 3, weighted, 3, 1, NULL, NULL);
    check_round_trip("dkg 2-of-3, 4 keys", plain);
    check_round_trip("dkg weighted 2/0/3", heavy);
    CHECK(memcmp(plain->hash, heavy->hash, 32) != 0, "different specs, different hashes");

    char *base = tkms_ceremony_spec_format(plain);
    json_t *doc = json_loads(base, 0, NULL);
    CHECK(json_is_object(doc) && json_object_get(doc, "old_group") == NULL &&
              strcmp(json_string_value(json_object_get(doc, "kind")), "dkg") == 0 &&
              strcmp(json_string_value(json_object_get(party(doc, 0), "id")), "p1") == 0,
          "dkg format: kind dkg, parties sorted, no old_group");
    json_decref(doc);
    struct { const char *label; edit_fn edit; const char *needle; } cases[] = {
        {"version 2", e_version, "version"},
        {"unknown kind", e_kind, "kind"},
        {"short ceremony id", e_id_short, "ceremony_id"},
        {"no ceremony id", e_id_missing, "ceremony_id is missing"},
        {"K = 0", e_k_zero, "threshold"},
        {"K above n", e_k_big, "threshold"},
        {"K as a string", e_k_string, "threshold must be an integer"},
        {"M = 0", e_keys_zero, "keys"},
        {"M above the limit", e_keys_big, "keys"},
        {"parties an object", e_parties_obj, "parties must be an array"},
        {"no parties", e_parties_empty, "parties"},
        {"a party that is a string", e_party_str, "parties[1] must be an object"},
        {"a bad party id", e_party_id, "parties[1].id"},
        {"an over-long party id", e_party_id_long, "parties[1].id"},
        {"a party twice", e_party_dup, "appears twice"},
        {"negative shares", e_party_shares, "parties[2].shares"},
        {"shares above the limit", e_party_shares_big, "parties[2].shares"},
        {"identity of small order", e_party_identity, "parties[0].identity is not a valid Ed25519"},
        {"identity of one byte", e_party_identity_short, "parties[0].identity"},
        {"two parties, one identity", e_same_identity, "same identity"},
        {"a dkg with an old group", e_dkg_old_group, "old_group"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_refused(cases[i].label, base, cases[i].edit, cases[i].needle);

    tkms_ceremony_spec *spec = NULL;
    tkms_err err;
    const char *texts[] = {"", "[]", "{\"version\": 1, \"version\": 1}", "{\"version\": 1"};
    const char *needles[] = {"not valid JSON", "must be a JSON object", "not valid JSON",
                             "not valid JSON"};
    for (size_t i = 0; i < 4; i++)
        CHECK(tkms_ceremony_spec_parse(&spec, texts[i], strlen(texts[i]), &err) == TKMS_ERR_BAD_FORMAT &&
                  strstr(err.message, needles[i]) != NULL,
              "'%s' refused: %s", texts[i], err.message);
    size_t big = TKMS_CEREMONY_SPEC_MAX_SIZE + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    CHECK(tkms_ceremony_spec_parse(&spec, huge, big, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "larger") != NULL,
          "an over-large spec is refused before parsing: %s", err.message);
    free(huge);
    free(base);
    tkms_ceremony_spec_free(plain);
    tkms_ceremony_spec_free(heavy);
}

static void test_reshare(void)
{
    /* the key being reshared: 2-of-3 held by p1, p2, p3 */
    tkms_secret_key sk;
    uint8_t bytes[32] = {0x2a};
    bytes[31] = 7;
    tkms_secret_key_from_bytes(&sk, bytes);
    tkms_group *group;
    tkms_share shares[3];
    if (tkms_split(&group, shares, &sk, 2, 3, &rng.base) != TKMS_OK)
        test_fatal("split");
    const char *ids[] = {"p1", "p2", "p3"};
    uint32_t counts[] = {1, 1, 1};
    tkms_owner_map *owners;
    tkms_owner_map_new(&owners, ids, counts, 3, NULL);
    tkms_ceremony_spec *spec = make_spec(TKMS_CEREMONY_RESHARE, 3, NULL, 2, 1, group, owners);
    check_round_trip("reshare refresh", spec);
    char *base = tkms_ceremony_spec_format(spec);
    json_t *doc = json_loads(base, 0, NULL);
    tkms_group_file old = {NULL, NULL};
    char *old_text = json_dumps(json_object_get(doc, "old_group"), 0);
    CHECK(old_text != NULL && tkms_group_file_parse(&old, old_text, strlen(old_text), NULL) == TKMS_OK &&
              old.owners != NULL && tkms_public_key_equal(&old.group->group_key, &spec->old_group->group_key),
          "reshare format: old_group is the group file, with owners");
    tkms_group_file_clear(&old);
    free(old_text);
    json_decref(doc);
    struct { const char *label; edit_fn edit; const char *needle; } cases[] = {
        {"reshare without old group", e_no_old_group, "old_group is missing"},
        {"old group without owners", e_old_no_owners, "old_group must list its owners"},
        {"old group K above n", e_old_bad_threshold, "old_group: threshold"},
        {"old group share key wrong", e_old_share_key, "old_group: share_public_keys[0]"},
        {"old owner not a party", e_old_owner_gone, "old owner 'p1' is not a party"},
        {"reshare of two keys", e_reshare_keys, "keys"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_refused(cases[i].label, base, cases[i].edit, cases[i].needle);
    free(base);
    tkms_ceremony_spec_free(spec);
    tkms_secret_key_wipe(&sk);
}

int main(void)
{
    uint8_t seed[32] = {'s', 'p', 'e', 'c'};
    tkms_rng_seeded_init(&rng, seed);
    test_dkg();
    test_reshare();
    return test_report();
}
