/*
 * test_owners.c — the owner map: ids sorted, indices by prefix sums,
 * owners with no shares, lookups both ways, and every refusal.
 */
#include <string.h>

#include "test.h"
#include "tkms/owners.h"
#include "tkms/shamir.h"

static void test_prefix_sums(void)
{
    const char *ids[] = {"carol", "alice", "bob", "dave"};
    uint32_t counts[] = {36, 47, 17, 0};
    tkms_owner_map *m;
    tkms_err err;
    CHECK(tkms_owner_map_new(&m, ids, counts, 4, &err) == TKMS_OK, "map: %s", err.message);
    CHECK(m->total == 100 && m->count == 4, "total 100, 4 owners");
    CHECK(strcmp(m->owners[0].id, "alice") == 0 && m->owners[0].first_index == 1 &&
              m->owners[0].share_count == 47, "alice holds 1..47");
    CHECK(strcmp(m->owners[1].id, "bob") == 0 && m->owners[1].first_index == 48 &&
              m->owners[1].share_count == 17, "bob holds 48..64");
    CHECK(strcmp(m->owners[2].id, "carol") == 0 && m->owners[2].first_index == 65, "carol from 65");
    CHECK(strcmp(m->owners[3].id, "dave") == 0 && m->owners[3].share_count == 0 &&
              m->owners[3].first_index == 0, "dave holds none");
    CHECK(tkms_owner_of(m, 1) == &m->owners[0] && tkms_owner_of(m, 47) == &m->owners[0], "1, 47 -> alice");
    CHECK(tkms_owner_of(m, 48) == &m->owners[1] && tkms_owner_of(m, 64) == &m->owners[1], "48, 64 -> bob");
    CHECK(tkms_owner_of(m, 65) == &m->owners[2] && tkms_owner_of(m, 100) == &m->owners[2], "65, 100 -> carol");
    CHECK(tkms_owner_of(m, 0) == NULL && tkms_owner_of(m, 101) == NULL, "out of range -> none");
    CHECK(tkms_owner_find(m, "bob") == &m->owners[1], "find bob");
    CHECK(tkms_owner_find(m, "eve") == NULL, "no eve");
    for (uint32_t i = 1; i <= 100; i++) {
        const tkms_owner *o = tkms_owner_of(m, i);
        CHECK(o != NULL && i >= o->first_index && i < o->first_index + o->share_count,
              "index %u inside its owner's range", i);
    }
    tkms_owner_map_free(m);
}

static void expect_refused(const char *const *ids, const uint32_t *counts, size_t n,
                           const char *keyword)
{
    tkms_owner_map *m = NULL;
    tkms_err err = {0};
    tkms_status st = tkms_owner_map_new(&m, ids, counts, n, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && m == NULL && strstr(err.message, keyword) != NULL,
          "refused naming '%s': %s", keyword, err.message);
}

static void test_refusals(void)
{
    const char *dup[] = {"a", "b", "a"};
    uint32_t ones[] = {1, 1, 1};
    expect_refused(dup, ones, 3, "appears twice");
    expect_refused(dup, ones, 0, "empty");
    const char *bad_ids[][1] = {{""}, {".hidden"}, {"-x"}, {"a b"}, {"a/b"}, {"é"},
                                {"0123456789012345678901234567890123456789012345678901234567890123x"}};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++)
        expect_refused(bad_ids[i], ones, 1, "[A-Za-z0-9._-]");
    const char *one[] = {"a"};
    uint32_t zero[] = {0}, big[] = {TKMS_MAX_SHARES + 1};
    expect_refused(one, zero, 1, "shares in all");
    expect_refused(one, big, 1, "shares in all");
    CHECK(tkms_owner_id_valid("op-1_a.b") && tkms_owner_id_valid("_x") && tkms_owner_id_valid("9"),
          "valid ids accepted");
}

int main(void)
{
    test_prefix_sums();
    test_refusals();
    return test_report();
}
