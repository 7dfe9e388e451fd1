/*
 * test_key_registry.c — the gateway's key registry (src/gateway/
 * key_registry.h): a weighted 3-of-5 key whose owners are configured
 * servers loads with each server's share indices; a key naming an unknown
 * owner loads unavailable with the reason; add persists (a reopened
 * registry has it), refuses a second add of the same key and a malformed
 * group file; assign persists; remove deletes; a malformed group file in
 * the data directory is skipped while the others load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "key_registry.h"
#include "test.h"
#include "tkms/file.h"
#include "tkms/hex.h"

static char dir[] = "/tmp/tkms-registry-test.XXXXXX";

/* A K-of-n group file with owners ids[] holding counts[] shares. */
static char *group_json(const char *const *ids, const uint32_t *counts, size_t owners,
                        uint32_t threshold, uint8_t seed, uint8_t key_out[TKMS_PUBLIC_KEY_SIZE])
{
    uint32_t n = 0;
    for (size_t i = 0; i < owners; i++)
        n += counts[i];
    uint8_t seed_bytes[32] = {seed};
    tkms_rng_seeded rng;
    tkms_rng_seeded_init(&rng, seed_bytes);
    uint8_t sk_bytes[32] = {0};
    sk_bytes[31] = seed;
    tkms_secret_key sk;
    tkms_secret_key_from_bytes(&sk, sk_bytes);
    tkms_group *group = NULL;
    tkms_share *shares = calloc(n, sizeof *shares);
    tkms_owner_map *map = NULL;
    char *json = NULL;
    if (tkms_split(&group, shares, &sk, threshold, n, &rng.base) != TKMS_OK ||
        tkms_owner_map_new(&map, ids, counts, owners, NULL) != TKMS_OK ||
        tkms_group_file_format(&json, group, map) != TKMS_OK)
        test_fatal("cannot make a group file");
    tkms_public_key_to_bytes(key_out, &group->group_key);
    for (uint32_t i = 0; i < n; i++)
        tkms_share_wipe(&shares[i]);
    free(shares);
    tkms_owner_map_free(map);
    tkms_group_free(group);
    return json;
}

static const gateway_server_config servers[] = {
    {"s1", "https://127.0.0.1:1", {1}},
    {"s2", "https://127.0.0.1:2", {2}},
    {"s3", "https://127.0.0.1:3", {3}},
};

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp");
    tkms_err err;
    gateway_registry *r = NULL;
    CHECK(gateway_registry_open(&r, dir, servers, 3, NULL, &err) == TKMS_OK, "open: %s",
          err.message);
    CHECK(gateway_registry_count(r) == 0, "empty at first");

    const char *ids[] = {"s1", "s2", "s3"};
    const uint32_t counts[] = {2, 1, 2};
    uint8_t key[TKMS_PUBLIC_KEY_SIZE], other[TKMS_PUBLIC_KEY_SIZE];
    char *json = group_json(ids, counts, 3, 3, 7, key);
    CHECK(gateway_registry_add(r, json, strlen(json), "vc-1", &err) == TKMS_OK, "add: %s",
          err.message);
    const gateway_key_entry *e = gateway_registry_find(r, key);
    CHECK(e != NULL && e->available, "the key is available");
    if (e != NULL) {
        CHECK(e->key.server_count == 3, "three servers hold it");
        CHECK(e->key.servers[0].index_count == 2 && e->key.servers[0].indices[0] == 1 &&
                  e->key.servers[0].indices[1] == 2, "s1 holds 1 and 2");
        CHECK(e->key.servers[1].index_count == 1 && e->key.servers[1].indices[0] == 3,
              "s2 holds 3");
        CHECK(e->key.servers[2].index_count == 2 && e->key.servers[2].indices[0] == 4,
              "s3 holds 4 and 5");
        CHECK(e->server_of[2] == 2 && e->key.servers[2].identity[0] == 3,
              "s3 is configured server 2 with its identity");
        CHECK(strcmp(e->client, "vc-1") == 0, "assigned at once");
        CHECK(e->key.group->threshold == 3, "K = 3");
    }
    CHECK(gateway_registry_add(r, json, strlen(json), NULL, &err) == TKMS_ERR_DUPLICATE_INDEX,
          "the same key twice is refused");
    CHECK(gateway_registry_add(r, "{}", 2, NULL, &err) == TKMS_ERR_BAD_FORMAT,
          "a malformed group file is refused");

    const char *strangers[] = {"s1", "zz"};
    const uint32_t two[] = {1, 1};
    char *foreign = group_json(strangers, two, 2, 2, 9, other);
    CHECK(gateway_registry_add(r, foreign, strlen(foreign), NULL, &err) == TKMS_OK,
          "a key with an unknown owner is added: %s", err.message);
    e = gateway_registry_find(r, other);
    CHECK(e != NULL && !e->available && strstr(e->reason, "zz") != NULL,
          "but unavailable, naming the owner: %s", e != NULL ? e->reason : "");

    CHECK(gateway_registry_assign(r, key, "vc-2", &err) == TKMS_OK, "assign");
    CHECK(gateway_registry_assign(r, key, "bad\nname", &err) == TKMS_ERR_INVALID_ARGUMENT,
          "a name with a newline is refused");

    /* a malformed key directory is skipped */
    char path[512], hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    uint8_t junk_key[TKMS_PUBLIC_KEY_SIZE];
    memset(junk_key, 0xab, sizeof junk_key);
    tkms_hex_encode(hex, junk_key, sizeof junk_key);
    snprintf(path, sizeof path, "%s/keys/%s", dir, hex);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/keys/%s/group.json", dir, hex);
    tkms_file_write_atomic(path, "not json", 8, 0644, false, NULL);

    gateway_registry_free(r);
    size_t skipped = 0;
    CHECK(gateway_registry_open(&r, dir, servers, 3, &skipped, &err) == TKMS_OK, "reopen");
    CHECK(gateway_registry_count(r) == 2 && skipped == 1,
          "reopened: two keys, the malformed one skipped (%zu, %zu)",
          gateway_registry_count(r), skipped);
    e = gateway_registry_find(r, key);
    CHECK(e != NULL && strcmp(e->client, "vc-2") == 0, "the assignment persisted");
    CHECK(gateway_registry_remove(r, key, &err) == TKMS_OK, "remove");
    CHECK(gateway_registry_find(r, key) == NULL, "removed");
    CHECK(gateway_registry_remove(r, key, &err) == TKMS_ERR_NOT_FOUND, "remove twice: not found");
    gateway_registry_free(r);
    CHECK(gateway_registry_open(&r, dir, servers, 3, NULL, &err) == TKMS_OK &&
              gateway_registry_count(r) == 1, "after a reopen the removed key stays gone");
    gateway_registry_free(r);

    free(json);
    free(foreign);
    tkms_file_remove_tree(dir, NULL);
    return test_report();
}
