/*
 * ceremony_output.c — the files a finished ceremony party leaves behind
 * (cli_ceremony_write_party, layout in cli_ceremony.h), shared by
 * `tkms ceremony simulate` (every honest party into one directory) and
 * `tkms ceremony step` (one party at a time).
 *
 * Under D: keys/<m>/group.json (public, with the owners), keys/<m>/<owner>/
 * share-<i>.json (the owner's share keystores; the owner directory is mode
 * 0700) and transcript.json. The group files and the transcript are the
 * same for every honest party, so the first party writes them and the next
 * ones only check theirs against what is there: a group file must be the
 * same document; a transcript must name the same ceremony, spec, transcript
 * hash and keys (the reasons and evidence of a disqualification are each
 * party's own view of it and may differ in detail, e.g. how many of a
 * party's messages it refused, so the first party's are kept). Every file
 * is written atomically and never overwritten.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_ceremony.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"

/* A transcript lists evidence (signed deals) of up to every party, so it
 * can be large; this only bounds reading back one we wrote ourselves. */
#define TRANSCRIPT_MAX_SIZE (1024u * 1024u * 1024u)

/* The members every honest party's transcript.json must agree on. */
static const char *const transcript_consensus[] = {"ceremony_id", "spec_hash", "transcript",
                                                   "keys", NULL};

/* Creates directory `path` with `mode` (before umask) unless it exists. */
static int ensure_dir(const char *cmd, const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0)
        return CLI_EXIT_OK;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return CLI_EXIT_OK;
    return cli_fail(cmd, "cannot create directory %s: %s", path,
                    errno == EEXIST ? "a file of that name exists" : strerror(errno));
}

/* malloc'ed "0x…" of len bytes (NULL on OOM). */
static char *hex_of(const uint8_t *bytes, size_t len)
{
    char *hex = malloc(TKMS_HEX_SIZE(len));
    if (hex != NULL)
        tkms_hex_encode(hex, bytes, len);
    return hex;
}

/* Adds "0x…" of len bytes to a JSON array; false on OOM. */
static bool append_hex(json_t *array, const uint8_t *bytes, size_t len)
{
    char *hex = hex_of(bytes, len);
    bool ok = hex != NULL && json_array_append_new(array, json_string(hex)) == 0;
    free(hex);
    return ok;
}

/* True when the documents `a` and `b` are equal in every member of
 * `members` (NULL: as whole documents). */
static bool same_members(const char *a, const char *b, const char *const *members)
{
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    bool same = ja != NULL && jb != NULL;
    if (same && members == NULL)
        same = json_equal(ja, jb);
    for (size_t i = 0; same && members != NULL && members[i] != NULL; i++) {
        json_t *va = json_object_get(ja, members[i]), *vb = json_object_get(jb, members[i]);
        same = va != NULL && vb != NULL && json_equal(va, vb);
    }
    json_decref(ja);
    json_decref(jb);
    return same;
}

/* Writes a public file that every honest party has the same way: creates
 * it if absent, else checks that the one there agrees (see above). */
static int write_shared(const char *cmd, const char *path, const char *text, size_t max_size,
                        const char *const *members)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return cli_fail(cmd, "cannot read %s: %s", path, strerror(errno));
        return cli_write_new_file(cmd, path, text, false);
    }
    char *existing;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, max_size, &existing, &len, &err) != TKMS_OK)
        return cli_fail(cmd, "cannot read %s to compare it: %s", path, err.message);
    bool same = same_members(existing, text, members);
    free(existing);
    if (!same)
        return cli_fail(cmd, "%s already exists and differs from this party's: the parties "
                        "did not reach the same result", path);
    return CLI_EXIT_OK;
}

/* transcript.json of `party` (NUL-terminated, caller frees), NULL on OOM. */
static char *format_transcript(const tkms_ceremony_spec *spec, const tkms_party *party)
{
    json_t *root = json_object(), *keys = json_array(), *dqs = json_array();
    char *ceremony = hex_of(spec->ceremony_id, sizeof spec->ceremony_id);
    char *spec_hash = hex_of(spec->hash, sizeof spec->hash);
    char *transcript = hex_of(tkms_party_transcript(party), 32);
    bool ok = root && keys && dqs && ceremony && spec_hash && transcript &&
              json_object_set_new(root, "ceremony_id", json_string(ceremony)) == 0 &&
              json_object_set_new(root, "spec_hash", json_string(spec_hash)) == 0 &&
              json_object_set_new(root, "transcript", json_string(transcript)) == 0;
    for (uint32_t m = 0; ok && m < spec->keys; m++) {
        const tkms_group *group = tkms_party_group(party, m);
        uint8_t gk[TKMS_PUBLIC_KEY_SIZE];
        if ((ok = group != NULL)) {
            tkms_public_key_to_bytes(gk, &group->group_key);
            ok = append_hex(keys, gk, sizeof gk);
        }
    }
    size_t count;
    const tkms_disqualification *dq = tkms_party_disqualified(party, &count);
    for (size_t i = 0; ok && i < count; i++) {
        json_t *entry = json_object(), *evidence = json_array();
        ok = entry && evidence && json_array_append(dqs, entry) == 0 &&
             json_object_set_new(entry, "party", json_string(spec->parties[dq[i].party - 1].id)) == 0 &&
             json_object_set_new(entry, "reason", json_string(dq[i].reason)) == 0 &&
             json_object_set(entry, "evidence", evidence) == 0;
        for (size_t e = 0; ok && e < dq[i].evidence_count; e++)
            ok = append_hex(evidence, dq[i].evidence[e], dq[i].evidence_len[e]);
        json_decref(evidence);
        json_decref(entry);
    }
    ok = ok && json_object_set(root, "keys", keys) == 0 &&
         json_object_set(root, "disqualified", dqs) == 0;
    char *text = ok ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(keys);
    json_decref(dqs);
    json_decref(root);
    free(ceremony);
    free(spec_hash);
    free(transcript);
    return text;
}

/* D/keys/<m>/<owner>/share-<i>.json for every share `party` holds of key m. */
static int write_owner_shares(const char *cmd, const char *key_dir, const char *owner,
                              const tkms_group *group, const tkms_share *shares, size_t count,
                              const char *password, const tkms_kdf_params *params)
{
    char path[PATH_MAX];
    int rc = cli_path(cmd, path, "%s/%s", key_dir, owner);
    if (rc == 0)
        rc = ensure_dir(cmd, path, 0700);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = cli_path(cmd, path, "%s/%s/share-%u.json", key_dir, owner, shares[i].index);
        if (rc == 0)
            rc = cli_write_share_keystore(cmd, path, group, &shares[i], owner, password, params);
    }
    return rc;
}

int cli_ceremony_write_party(const char *cmd, const char *dir,
                             const tkms_ceremony_spec *spec, const tkms_party *party,
                             const char *password, const tkms_kdf_params *params)
{
    if (tkms_party_state_of(party) != TKMS_PARTY_DONE)
        return cli_fail(cmd, "party has not finished the ceremony: nothing to write");
    const char *owner = spec->parties[tkms_party_number(party) - 1].id;
    char keys_dir[PATH_MAX], key_dir[PATH_MAX], path[PATH_MAX];
    int rc = cli_path(cmd, keys_dir, "%s/keys", dir);
    if (rc == 0)
        rc = ensure_dir(cmd, keys_dir, 0777);
    for (uint32_t m = 0; rc == 0 && m < spec->keys; m++) {
        const tkms_group *group = tkms_party_group(party, m);
        char *json = NULL;
        if (group == NULL)
            return cli_fail(cmd, "key %u: cannot compute the group (out of memory)", m);
        if ((rc = cli_path(cmd, key_dir, "%s/%u", keys_dir, m)) != 0 ||
            (rc = ensure_dir(cmd, key_dir, 0777)) != 0 ||
            (rc = cli_path(cmd, path, "%s/group.json", key_dir)) != 0)
            break;
        if (tkms_group_file_format(&json, group, spec->owners) != TKMS_OK)
            return cli_fail(cmd, "key %u: cannot format the group file (out of memory)", m);
        rc = write_shared(cmd, path, json, TKMS_GROUP_FILE_MAX_SIZE, NULL);
        free(json);
        size_t count;
        const tkms_share *shares = tkms_party_shares(party, m, &count);
        if (rc == 0 && count > 0)
            rc = write_owner_shares(cmd, key_dir, owner, group, shares, count, password, params);
    }
    if (rc != 0)
        return rc;
    char *transcript = format_transcript(spec, party);
    if (transcript == NULL)
        return cli_fail(cmd, "cannot format the transcript (out of memory)");
    rc = cli_path(cmd, path, "%s/transcript.json", dir);
    if (rc == 0)
        rc = write_shared(cmd, path, transcript, TRANSCRIPT_MAX_SIZE, transcript_consensus);
    free(transcript);
    return rc;
}
