/*
 * ceremony_output.c — the files a finished ceremony party leaves behind
 * (tkms/ceremony_output.h): its share keystores, the public group files
 * and the transcript, shared by the file ceremony, the simulator command
 * and the server's ceremony host.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_fields.h"
#include "tkms/ceremony_output.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/secmem.h"

/* The members every honest party's transcript.json must agree on. */
static const char *const transcript_consensus[] = {"ceremony_id", "spec_hash", "transcript",
                                                   "keys", NULL};

/* path = printf(fmt, …) into PATH_MAX bytes, or TKMS_ERR_IO when it does
 * not fit. */
static tkms_status make_path(char path[PATH_MAX], tkms_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tkms_status make_path(char path[PATH_MAX], tkms_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        return tkms_fail(err, TKMS_ERR_IO, "path too long (%.60s…)", path);
    return TKMS_OK;
}

/* Creates directory `path` with `mode` (before umask) unless it exists,
 * durably. */
static tkms_status ensure_dir(const char *path, mode_t mode, tkms_err *err)
{
    if (mkdir(path, mode) == 0) {
        tkms_file_sync_parent(path);
        return TKMS_OK;
    }
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return TKMS_OK;
    return tkms_fail(err, TKMS_ERR_IO, "cannot create directory %s: %s", path,
                     errno == EEXIST ? "a file of that name exists" : strerror(errno));
}

/* Writes text + "\n" atomically to a new file of `mode`; the copy is wiped
 * (it may be a keystore). */
static tkms_status write_new_file(const char *path, const char *text, mode_t mode,
                                  tkms_err *err)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", path);
    memcpy(buf, text, len);
    buf[len] = '\n';
    tkms_status st = tkms_file_write_atomic(path, buf, len + 1, mode, true, err);
    tkms_wipe(buf, len + 1);
    free(buf);
    return st;
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
 * it if absent, else checks that the one there agrees (see the header). */
static tkms_status write_shared(const char *path, const char *text, size_t max_size,
                                const char *const *members, tkms_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return tkms_fail(err, TKMS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        return write_new_file(path, text, 0644, err);
    }
    char *existing;
    size_t len;
    tkms_err read_err;
    if (tkms_file_read(path, max_size, &existing, &len, &read_err) != TKMS_OK)
        return tkms_fail(err, read_err.status, "cannot read %s to compare it: %s", path,
                         read_err.message);
    bool same = same_members(existing, text, members);
    free(existing);
    if (!same)
        return tkms_fail(err, TKMS_ERR_VERIFY_FAILED, "%s already exists and differs from this "
                         "party's: the parties did not reach the same result", path);
    return TKMS_OK;
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
        ok = group != NULL && json_array_append_new(keys, json_public_key(&group->group_key)) == 0;
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

tkms_status tkms_share_keystore_encrypt(char **json_out, const tkms_group *group,
                                        const tkms_share *share, const char *owner,
                                        const char *password, const tkms_kdf_params *params,
                                        tkms_err *err)
{
    tkms_share_info info = {
        .index = share->index,
        .threshold = group->threshold,
        .share_count = group->share_count,
        .group_key = group->group_key,
        .commitments = group->commitments,
    };
    snprintf(info.owner, sizeof info.owner, "%s", owner);
    return tkms_keystore_encrypt(json_out, &share->key, password, params, &info, NULL,
                                 tkms_rng_system(), err);
}

tkms_status tkms_share_keystore_write(const char *path, const tkms_group *group,
                                      const tkms_share *share, const char *owner,
                                      const char *password, const tkms_kdf_params *params,
                                      tkms_err *err)
{
    char *json;
    tkms_err enc_err;
    tkms_status st =
        tkms_share_keystore_encrypt(&json, group, share, owner, password, params, &enc_err);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "share %u: %s", share->index, enc_err.message);
    st = write_new_file(path, json, 0600, err);
    tkms_wipe(json, strlen(json));
    free(json);
    return st;
}

/* D/keys/<m>/<owner>/share-<i>.json for every share `party` holds of key m. */
static tkms_status write_owner_shares(const char *key_dir, const char *owner,
                                      const tkms_group *group, const tkms_share *shares,
                                      size_t count, const char *password,
                                      const tkms_kdf_params *params, tkms_err *err)
{
    char path[PATH_MAX];
    tkms_status st = make_path(path, err, "%s/%s", key_dir, owner);
    if (st == TKMS_OK)
        st = ensure_dir(path, 0700, err);
    for (size_t i = 0; st == TKMS_OK && i < count; i++) {
        st = make_path(path, err, "%s/%s/share-%u.json", key_dir, owner, shares[i].index);
        if (st == TKMS_OK)
            st = tkms_share_keystore_write(path, group, &shares[i], owner, password, params, err);
    }
    return st;
}

tkms_status tkms_ceremony_write_party(const char *dir, const tkms_ceremony_spec *spec,
                                      const tkms_party *party, const char *password,
                                      const tkms_kdf_params *params, tkms_err *err)
{
    if (tkms_party_state_of(party) != TKMS_PARTY_DONE)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "party has not finished the ceremony: nothing to write");
    const char *owner = spec->parties[tkms_party_number(party) - 1].id;
    char keys_dir[PATH_MAX], key_dir[PATH_MAX], path[PATH_MAX];
    tkms_status st = make_path(keys_dir, err, "%s/keys", dir);
    if (st == TKMS_OK)
        st = ensure_dir(keys_dir, 0777, err);
    for (uint32_t m = 0; st == TKMS_OK && m < spec->keys; m++) {
        const tkms_group *group = tkms_party_group(party, m);
        char *json = NULL;
        if (group == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                             "key %u: cannot compute the group (out of memory)", m);
        if ((st = make_path(key_dir, err, "%s/%u", keys_dir, m)) != TKMS_OK ||
            (st = ensure_dir(key_dir, 0777, err)) != TKMS_OK ||
            (st = make_path(path, err, "%s/group.json", key_dir)) != TKMS_OK)
            break;
        if (tkms_group_file_format(&json, group, spec->owners) != TKMS_OK)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                             "key %u: cannot format the group file (out of memory)", m);
        st = write_shared(path, json, TKMS_GROUP_FILE_MAX_SIZE, NULL, err);
        free(json);
        size_t count;
        const tkms_share *shares = tkms_party_shares(party, m, &count);
        if (st == TKMS_OK && count > 0)
            st = write_owner_shares(key_dir, owner, group, shares, count, password, params, err);
    }
    if (st != TKMS_OK)
        return st;
    char *transcript = format_transcript(spec, party);
    if (transcript == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot format the transcript (out of memory)");
    st = make_path(path, err, "%s/" TKMS_CEREMONY_TRANSCRIPT_FILE, dir);
    if (st == TKMS_OK)
        st = write_shared(path, transcript, TKMS_CEREMONY_TRANSCRIPT_MAX_SIZE,
                          transcript_consensus, err);
    free(transcript);
    return st;
}
