/*
 * cmd_ceremony_step.c — `tkms ceremony step`: moves one party of a file
 * ceremony (layout in ceremony_dir.h) as far as the messages on disk allow.
 *
 * A step keeps no secret state between runs. It re-creates the party from
 * the spec and its identity with a deterministic RNG keyed by the identity
 * seed and the spec hash, so every run deals the same polynomials, and
 * replays the rounds it has already closed from the files it recorded
 * reading then (round-<r>/<id>.read: names and SHA-256 of the files,
 * signed by the party's identity key). A replayed round must give the same
 * broadcasts as the ones already on disk; the party's point-to-point
 * messages are sealed afresh each run and are written only when absent.
 *
 * For the first round not yet closed, the party waits until every other
 * party has written its manifest for that round (<from>.sent) and every
 * file the manifests list for this party is present — or, with
 * --close-round, closes it with what is there. It then records what it
 * read, ends the round, writes its next messages and goes on. After round
 * 4 it writes its results with cli_ceremony_write_party.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "ceremony_dir.h"
#include "cli_ceremony.h"
#include "tkms/ceremony_message.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/identity_file.h"
#include "tkms/secmem.h"

#define CMD "ceremony step"
#define HASH_SIZE 32
#define MESSAGE_MAX_SIZE \
    (TKMS_MESSAGE_HEADER_SIZE + (size_t)TKMS_MESSAGE_MAX_PAYLOAD + TKMS_IDENTITY_SIGNATURE_SIZE)
#define LIST_MAX_SIZE (64u * 1024u * 1024u)   /* a manifest or read record */
#define RNG_LABEL "tkms-ceremony-rng-v1"
#define READ_LABEL "tkms-ceremony-read-v1"

static const char *const help =
    "usage: tkms ceremony step --dir D --party ID --identity F [--close-round]\n"
    "                          [--old-shares DIR] [--out-dir O] [--password-file F]\n"
    "                          [--kdf scrypt|pbkdf2] [--scrypt-n N]\n"
    "\n"
    "Moves party ID of the ceremony in directory D (`tkms ceremony init`) as\n"
    "far as the messages there allow: writes its messages into D/messages,\n"
    "reads the ones for it, and closes each round once every other party's\n"
    "messages for it have arrived. Run it again (for every party, in any\n"
    "order, on any machine holding a copy of D) until it prints \"done\".\n"
    "Prints \"waiting: round R: ID, …\" when other parties must step first\n"
    "(exit 0); \"done\" and the new public key(s), then any disqualified\n"
    "party with the reason, when finished; exit 1 with the reason when the\n"
    "ceremony failed. A message file that is malformed or forged is refused\n"
    "with a warning naming it.\n"
    "\n"
    "  --identity F        this party's identity file (tkms identity new); its\n"
    "                      public key must be the one the spec gives ID\n"
    "  --close-round       close the round it waits for with the messages that\n"
    "                      are there (a party that never sends is then blamed)\n"
    "  --old-shares DIR    reshare: this owner's share keystores of the key\n"
    "                      being reshared, DIR/share-<i>.json\n"
    "  --out-dir O         where to write the results (default D/out):\n"
    "                      O/keys/<m>/group.json, O/keys/<m>/ID/share-<i>.json,\n"
    "                      O/transcript.json\n"
    "  --password-file F   password of the identity file, the old shares and\n"
    "                      the new share keystores (else $TKMS_PASSWORD)\n"
    "  --kdf, --scrypt-n   as for tkms keygen, for the new share keystores\n";

/* A list of file names. */
typedef struct {
    size_t count, capacity;
    char **names;
    uint8_t (*hashes)[HASH_SIZE];   /* SHA-256 of each file, when known */
} name_list;

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    free(l->hashes);
    memset(l, 0, sizeof *l);
}

static int list_add(name_list *l, const char *name, const uint8_t *hash)
{
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? l->capacity * 2 : 16;
        char **names = realloc(l->names, cap * sizeof *names);
        if (names != NULL)
            l->names = names;
        uint8_t(*hashes)[HASH_SIZE] = names ? realloc(l->hashes, cap * sizeof *hashes) : NULL;
        if (hashes == NULL)
            return cli_fail(CMD, "out of memory");
        l->hashes = hashes;
        l->capacity = cap;
    }
    if ((l->names[l->count] = strdup(name)) == NULL)
        return cli_fail(CMD, "out of memory");
    if (hash != NULL)
        memcpy(l->hashes[l->count], hash, HASH_SIZE);
    else
        memset(l->hashes[l->count], 0, HASH_SIZE);
    l->count++;
    return CLI_EXIT_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What one run of the step works with. */
typedef struct {
    const char *dir;                   /* D                                 */
    const tkms_ceremony_spec *spec;
    uint32_t me;
    const char *my_id;
    const tkms_identity *identity;
    tkms_party *party;
    bool close_round;                  /* --close-round, not yet used        */
} step;

/* path = D/messages/round-<r>/<name> */
static int round_path(const step *s, char path[PATH_MAX], uint32_t round, const char *name)
{
    return cli_path(CMD, path, "%s/" CEREMONY_MESSAGES_DIR "/round-%u/%s", s->dir, round,
                         name);
}

/* Reads D/messages/round-<round>/<name> (at most max bytes). */
static int read_file(const step *s, uint32_t round, const char *name, size_t max,
                     char **text, size_t *len)
{
    char path[PATH_MAX];
    int rc = round_path(s, path, round, name);
    tkms_err err;
    if (rc == 0 && tkms_file_read(path, max, text, len, &err) != TKMS_OK)
        rc = cli_fail(CMD, "%s", err.message);
    return rc;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- writing this party's messages ---------------------------------------- */

/* Writes `len` bytes to a new file; if the file is there already, it must
 * hold the same bytes unless `replaceable` (a sealed message, which is
 * random each time: the one there stands). */
static int write_once(const char *path, const void *data, size_t len, bool replaceable)
{
    tkms_err err;
    if (!exists(path)) {
        if (tkms_file_write_atomic(path, data, len, 0644, true, &err) != TKMS_OK)
            return cli_fail(CMD, "%s", err.message);
        return CLI_EXIT_OK;
    }
    if (replaceable)
        return CLI_EXIT_OK;
    char *there;
    size_t there_len;
    if (tkms_file_read(path, len + 1, &there, &there_len, &err) != TKMS_OK) {
        if (err.status != TKMS_ERR_BAD_FORMAT)   /* too large: it differs */
            return cli_fail(CMD, "%s", err.message);
        there = NULL;
    }
    bool same = there != NULL && there_len == len && memcmp(there, data, len) == 0;
    free(there);
    if (!same)
        return cli_fail(CMD, "%s exists and differs from what this party sends: it was "
                        "altered, or the messages it was made from changed; not overwriting",
                        path);
    return CLI_EXIT_OK;
}

/* Writes the messages in `out` (sent in round `round`), then the manifest
 * D/messages/round-<round>/<me>.sent naming them; empties `out`. */
static int publish(step *s, uint32_t round, tkms_outbox *out)
{
    size_t manifest_cap = out->count * CEREMONY_NAME_MAX + 1, used = 0;
    char *manifest = malloc(manifest_cap);
    int rc = manifest ? CLI_EXIT_OK : cli_fail(CMD, "out of memory");
    size_t broadcasts = 0;
    for (size_t i = 0; rc == 0 && i < out->count; i++) {
        tkms_message m;
        tkms_err err;
        if (tkms_message_decode(&m, out->data[i], out->len[i], &err) != TKMS_OK) {
            rc = cli_fail(CMD, "internal error: own message does not decode: %s", err.message);
            break;
        }
        char name[CEREMONY_NAME_MAX], path[PATH_MAX];
        bool broadcast = m.to_party == TKMS_MESSAGE_BROADCAST;
        ceremony_message_name(name, s->spec, s->me, m.to_party, m.to_share,
                              broadcast ? ++broadcasts : 0);
        if ((rc = round_path(s, path, round, name)) == 0)
            rc = write_once(path, out->data[i], out->len[i], !broadcast);
        used += (size_t)snprintf(manifest + used, manifest_cap - used, "%s\n", name);
    }
    if (rc == 0) {
        char name[CEREMONY_NAME_MAX], path[PATH_MAX];
        snprintf(name, sizeof name, "%s.sent", s->my_id);
        manifest[used] = '\0';
        if ((rc = round_path(s, path, round, name)) == 0)
            rc = write_once(path, manifest, used, false);
    }
    free(manifest);
    tkms_outbox_clear(out);
    return rc;
}

/* ---- what others sent ----------------------------------------------------- */

/* Whether round `round` is complete for this party: every other party's
 * manifest is there, with every file it lists for this party. The parties
 * still missing go to `waiting` (comma-separated). */
static int round_complete(const step *s, uint32_t round, bool *complete, char *waiting,
                          size_t waiting_size)
{
    *complete = true;
    waiting[0] = '\0';
    for (uint32_t q = 1; q <= s->spec->party_count; q++) {
        if (q == s->me)
            continue;
        char name[CEREMONY_NAME_MAX], path[PATH_MAX];
        snprintf(name, sizeof name, "%s.sent", s->spec->parties[q - 1].id);
        int rc = round_path(s, path, round, name);
        if (rc != 0)
            return rc;
        bool missing = !exists(path);
        if (!missing) {
            char *text;
            size_t len;
            if ((rc = read_file(s, round, name, LIST_MAX_SIZE, &text, &len)) != 0)
                return rc;
            char *save = NULL;
            for (char *line = strtok_r(text, "\n", &save); line != NULL && !missing;
                 line = strtok_r(NULL, "\n", &save)) {
                if (ceremony_message_for(s->spec, s->me, line) != q)
                    continue;   /* not for this party */
                if ((rc = round_path(s, path, round, line)) != 0)
                    break;
                missing = !exists(path);
            }
            free(text);
            if (rc != 0)
                return rc;
        }
        if (missing) {
            size_t used = strlen(waiting);
            snprintf(waiting + used, waiting_size - used, "%s%s", *complete ? "" : ", ",
                     s->spec->parties[q - 1].id);
            *complete = false;
        }
    }
    return CLI_EXIT_OK;
}

/* The files in round `round` that other parties sent to this party, in
 * name order. */
static int gather(const step *s, uint32_t round, name_list *names)
{
    char path[PATH_MAX];
    int rc = cli_path(CMD, path, "%s/" CEREMONY_MESSAGES_DIR "/round-%u", s->dir, round);
    if (rc != 0)
        return rc;
    DIR *d = opendir(path);
    if (d == NULL)
        return cli_fail(CMD, "cannot read %s: %s", path, strerror(errno));
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (ceremony_message_for(s->spec, s->me, e->d_name) != 0)
            rc = list_add(names, e->d_name, NULL);
    closedir(d);
    if (rc == 0 && names->count > 1)   /* no hashes yet: only the names move */
        qsort(names->names, names->count, sizeof *names->names, compare_names);
    return rc;
}

/* Hands the files in `names` to the party. With `replay`, each file must
 * still have the recorded hash; otherwise each file's hash is recorded,
 * and a refused message is reported (once: replays stay quiet). */
static int feed(step *s, uint32_t round, name_list *names, bool replay)
{
    for (size_t i = 0; i < names->count; i++) {
        char *bytes;
        size_t len;
        int rc = read_file(s, round, names->names[i], MESSAGE_MAX_SIZE, &bytes, &len);
        if (rc != 0)
            return rc;
        uint8_t hash[HASH_SIZE];
        crypto_hash_sha256(hash, (const uint8_t *)bytes, len);
        if (replay && memcmp(hash, names->hashes[i], HASH_SIZE) != 0) {
            free(bytes);
            return cli_fail(CMD, "messages/round-%u/%s changed after %s read it; restore it "
                            "(its SHA-256 is in messages/round-%u/%s.read)", round,
                            names->names[i], s->my_id, round, s->my_id);
        }
        memcpy(names->hashes[i], hash, HASH_SIZE);
        tkms_err err;
        if (tkms_party_receive(s->party, (const uint8_t *)bytes, len, &err) != TKMS_OK &&
            !replay)
            fprintf(stderr, "tkms %s: refused messages/round-%u/%s: %s\n", CMD, round,
                    names->names[i], err.message);
        free(bytes);
    }
    return CLI_EXIT_OK;
}

/* ---- the record of what this party read ----------------------------------- */

/* What a read record's signature covers: a label, the spec hash and the
 * record's text before its signature line (malloc'ed, NULL on OOM). */
static uint8_t *record_signed_part(const step *s, const char *text, size_t len, size_t *total)
{
    *total = sizeof READ_LABEL + HASH_SIZE + len;
    uint8_t *msg = malloc(*total);
    if (msg != NULL) {
        memcpy(msg, READ_LABEL, sizeof READ_LABEL);   /* with its NUL */
        memcpy(msg + sizeof READ_LABEL, s->spec->hash, HASH_SIZE);
        memcpy(msg + sizeof READ_LABEL + HASH_SIZE, text, len);
    }
    return msg;
}

/* Writes messages/round-<r>/<me>.read for the files in `names`. */
static int write_record(const step *s, uint32_t round, const name_list *names)
{
    size_t cap = 128 + names->count * (2 * HASH_SIZE + CEREMONY_NAME_MAX + 2) +
                 TKMS_HEX_SIZE(TKMS_IDENTITY_SIGNATURE_SIZE) + 16;
    char *text = malloc(cap);
    if (text == NULL)
        return cli_fail(CMD, "out of memory");
    size_t used = (size_t)snprintf(text, cap, "# files %s read to close round %u\n",
                                   s->my_id, round);
    for (size_t i = 0; i < names->count; i++) {
        char hex[TKMS_HEX_SIZE(HASH_SIZE)];
        tkms_hex_encode(hex, names->hashes[i], HASH_SIZE);
        used += (size_t)snprintf(text + used, cap - used, "%s %s\n", hex + 2, names->names[i]);
    }
    uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE];
    size_t signed_len;
    uint8_t *signed_part = record_signed_part(s, text, used, &signed_len);
    if (signed_part == NULL) {
        free(text);
        return cli_fail(CMD, "out of memory");
    }
    tkms_identity_sign(sig, s->identity, signed_part, signed_len);
    free(signed_part);
    char hex[TKMS_HEX_SIZE(sizeof sig)];
    tkms_hex_encode(hex, sig, sizeof sig);
    used += (size_t)snprintf(text + used, cap - used, "signature %s\n", hex);
    char name[CEREMONY_NAME_MAX], path[PATH_MAX];
    snprintf(name, sizeof name, "%s.read", s->my_id);
    int rc = round_path(s, path, round, name);
    tkms_err err;
    if (rc == 0 && tkms_file_write_atomic(path, text, used, 0644, true, &err) != TKMS_OK)
        rc = cli_fail(CMD, "%s", err.message);
    free(text);
    return rc;
}

/* Reads messages/round-<r>/<me>.read into `names` (*found false when there
 * is none); its signature must be this party's. */
static int read_record(const step *s, uint32_t round, name_list *names, bool *found)
{
    char name[CEREMONY_NAME_MAX], path[PATH_MAX];
    snprintf(name, sizeof name, "%s.read", s->my_id);
    int rc = round_path(s, path, round, name);
    *found = rc == 0 && exists(path);
    if (rc != 0 || !*found)
        return rc;
    char *text;
    size_t len;
    if ((rc = read_file(s, round, name, LIST_MAX_SIZE, &text, &len)) != 0)
        return rc;
    /* the last line is "signature 0x<64 bytes>" over everything before it */
    const char *bad = NULL;
    char *sig_line = len > 0 && text[len - 1] == '\n' ? text + len - 1 : NULL;
    if (sig_line != NULL) {
        *sig_line = '\0';
        sig_line = strrchr(text, '\n');
    }
    uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE];
    if (sig_line == NULL || strncmp(sig_line + 1, "signature ", 10) != 0 ||
        tkms_hex_decode(sig, sizeof sig, sig_line + 11, NULL) != TKMS_OK) {
        bad = "it has no signature line";
    } else {
        size_t signed_len;
        uint8_t *signed_part =
            record_signed_part(s, text, (size_t)(sig_line + 1 - text), &signed_len);
        if (signed_part == NULL)
            rc = cli_fail(CMD, "out of memory");
        else if (!tkms_identity_verify(s->identity->public_key, sig, signed_part, signed_len))
            bad = "its signature is not this party's (it was altered)";
        free(signed_part);
    }
    if (rc == 0 && bad == NULL) {
        *sig_line = '\0';
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line != NULL && rc == 0;
             line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == '#')
                continue;
            uint8_t hash[HASH_SIZE];
            char *space = strchr(line, ' ');
            if (space == NULL) {
                bad = "a line is not '<sha256> <name>'";
                break;
            }
            *space = '\0';
            if (tkms_hex_decode(hash, sizeof hash, line, NULL) != TKMS_OK ||
                ceremony_message_for(s->spec, s->me, space + 1) == 0) {
                bad = "a line is not '<sha256> <name>' of a message for this party";
                break;
            }
            rc = list_add(names, space + 1, hash);
        }
    }
    free(text);
    if (rc == 0 && bad != NULL)
        rc = cli_fail(CMD, "%s: %s; restore it, or start the ceremony over", path, bad);
    return rc;
}

/* ---- the rounds ------------------------------------------------------------ */

typedef enum { ROUND_CLOSED, ROUND_WAITING } round_result;

/* Closes round `round` for the party: replays it from the record, or — when
 * it is complete or --close-round is still unused — reads what arrived and
 * records that. */
static int close_round(step *s, uint32_t round, round_result *result)
{
    name_list names = {0};
    bool recorded;
    int rc = read_record(s, round, &names, &recorded);
    if (rc == 0 && recorded) {
        rc = feed(s, round, &names, true);
        *result = ROUND_CLOSED;
        list_free(&names);
        return rc;
    }
    bool complete;
    char waiting[TKMS_CEREMONY_MAX_PARTIES * (TKMS_OWNER_ID_MAX_SIZE + 2) + 1];
    if (rc == 0)
        rc = round_complete(s, round, &complete, waiting, sizeof waiting);
    if (rc == 0 && !complete && !s->close_round) {
        printf("waiting: round %u: %s\n", round, waiting);
        *result = ROUND_WAITING;
        list_free(&names);
        return CLI_EXIT_OK;
    }
    if (rc == 0 && !complete) {
        fprintf(stderr, "tkms %s: closing round %u without all messages from %s\n", CMD, round,
                waiting);
        s->close_round = false;
    }
    if (rc == 0)
        rc = gather(s, round, &names);
    if (rc == 0)
        rc = feed(s, round, &names, false);
    if (rc == 0)
        rc = write_record(s, round, &names);
    *result = ROUND_CLOSED;
    list_free(&names);
    return rc;
}

/* Runs the party through every round the files allow. *done is set when
 * it has finished round 4 (DONE or FAILED). */
static int run_rounds(step *s, bool *done)
{
    *done = false;
    tkms_outbox out = {0};
    tkms_err err;
    if (tkms_party_start(s->party, &out, &err) != TKMS_OK) {
        tkms_outbox_clear(&out);
        return cli_fail(CMD, "%s", err.message);
    }
    int rc = publish(s, 1, &out);
    for (uint32_t round = 1; rc == 0 && round <= CEREMONY_ROUNDS; round++) {
        round_result result;
        if ((rc = close_round(s, round, &result)) != 0 || result == ROUND_WAITING)
            break;
        tkms_status st = tkms_party_end_round(s->party, &out, &err);
        if (tkms_party_state_of(s->party) == TKMS_PARTY_FAILED) {
            tkms_outbox_clear(&out);
            return cli_fail(CMD, "the ceremony failed for %s: %s", s->my_id,
                            tkms_party_failure(s->party));
        }
        if (st != TKMS_OK)
            rc = cli_fail(CMD, "%s", err.message);
        else if (round < CEREMONY_ROUNDS)
            rc = publish(s, round + 1, &out);
        else
            *done = true;
    }
    tkms_outbox_clear(&out);
    return rc;
}

/* ---- inputs and outputs ---------------------------------------------------- */

/* Reads the identity file, checks it is the one the spec gives `me`, and
 * decrypts it. */
static int load_identity(const char *path, const tkms_ceremony_spec *spec, uint32_t me,
                         const char *password, tkms_identity *out)
{
    tkms_identity_file *file;
    tkms_err err;
    if (tkms_identity_file_read(&file, path, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    int rc = CLI_EXIT_OK;
    const tkms_ceremony_party *party = &spec->parties[me - 1];
    if (memcmp(tkms_identity_file_public_key(file), party->identity,
               TKMS_IDENTITY_PUBLIC_SIZE) != 0) {
        char hex[TKMS_HEX_SIZE(TKMS_IDENTITY_PUBLIC_SIZE)];
        tkms_hex_encode(hex, tkms_identity_file_public_key(file), TKMS_IDENTITY_PUBLIC_SIZE);
        rc = cli_fail(CMD, "%s is identity %.18s…, not the one the spec gives '%s'; refusing",
                      path, hex, party->id);
    } else {
        tkms_status st = tkms_identity_file_decrypt(out, file, password, &err);
        if (st == TKMS_ERR_BAD_PASSWORD)
            rc = cli_fail(CMD, "%s: wrong password (checksum does not match)", path);
        else if (st != TKMS_OK)
            rc = cli_fail(CMD, "%s: %s", path, err.message);
    }
    tkms_identity_file_free(file);
    return rc;
}

/* Decrypts this owner's shares of the key being reshared from
 * dir/share-<i>.json (*count of them into a new array *out). */
static int load_old_shares(const char *dir, const tkms_ceremony_spec *spec, const char *my_id,
                           const char *password, tkms_share **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    const tkms_owner *owner = tkms_owner_find(spec->old_owners, my_id);
    uint32_t held = owner ? owner->share_count : 0;
    if (held == 0)
        return dir == NULL ? CLI_EXIT_OK
                           : cli_usage(CMD, "'%s' holds no share of the key being reshared: "
                                       "--old-shares is not used", my_id);
    if (dir == NULL)
        return cli_usage(CMD, "'%s' holds shares %u..%u of the key being reshared: give "
                         "--old-shares DIR", my_id, owner->first_index,
                         owner->first_index + held - 1);
    tkms_share *shares = calloc(held, sizeof *shares);
    if (shares == NULL)
        return cli_fail(CMD, "out of memory");
    int rc = CLI_EXIT_OK;
    for (uint32_t i = 0; rc == 0 && i < held; i++) {
        uint32_t index = owner->first_index + i;
        char path[PATH_MAX];
        tkms_keystore *ks = NULL;
        if ((rc = cli_path(CMD, path, "%s/share-%u.json", dir, index)) != 0 ||
            (rc = cli_load_keystore(CMD, path, &ks)) != 0)
            break;
        const tkms_share_info *info = tkms_keystore_share_info(ks);
        if (info == NULL || info->index != index ||
            !tkms_public_key_equal(&info->group_key, &spec->old_group->group_key))
            rc = cli_fail(CMD, "%s is not share %u of the key being reshared", path, index);
        else if ((rc = cli_decrypt_keystore(CMD, path, ks, password, &shares[i].key)) == 0)
            shares[i].index = index;
        tkms_keystore_free(ks);
    }
    if (rc != 0) {
        tkms_wipe(shares, held * sizeof *shares);
        free(shares);
        return rc;
    }
    *out = shares;
    *count = held;
    return CLI_EXIT_OK;
}

/* True when this party's results are in out_dir already (a step run again
 * after it finished). */
static bool results_written(const char *out_dir, const tkms_ceremony_spec *spec,
                            const tkms_party *party, const char *my_id)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/transcript.json", out_dir) >= (int)sizeof path ||
        !exists(path))
        return false;
    for (uint32_t m = 0; m < spec->keys; m++) {
        size_t count;
        const tkms_share *shares = tkms_party_shares(party, m, &count);
        for (size_t i = 0; i < count; i++)
            if (snprintf(path, sizeof path, "%s/keys/%u/%s/share-%u.json", out_dir, m, my_id,
                         shares[i].index) >= (int)sizeof path ||
                !exists(path))
                return false;
    }
    return true;
}

static void print_done(const tkms_ceremony_spec *spec, const tkms_party *party)
{
    puts("done");
    for (uint32_t m = 0; m < spec->keys; m++) {
        uint8_t gk[TKMS_PUBLIC_KEY_SIZE];
        tkms_public_key_to_bytes(gk, &tkms_party_group(party, m)->group_key);
        cli_print_hex(gk, sizeof gk);
    }
    size_t count;
    const tkms_disqualification *dq = tkms_party_disqualified(party, &count);
    for (size_t i = 0; i < count; i++)
        printf("disqualified %s: %s\n", spec->parties[dq[i].party - 1].id, dq[i].reason);
}

int cmd_ceremony_step(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"party", required_argument, NULL, 'P'},
        {"identity", required_argument, NULL, 'i'},
        {"close-round", no_argument, NULL, 'c'},
        {"old-shares", required_argument, NULL, 's'},
        {"out-dir", required_argument, NULL, 'o'},
        {"password-file", required_argument, NULL, 'p'},
        {"kdf", required_argument, NULL, 'K'},
        {"scrypt-n", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *party_id = NULL, *identity_path = NULL, *old_dir = NULL,
               *out_dir = NULL, *password_file = NULL, *kdf = NULL, *scrypt_n = NULL;
    bool close_flag = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'P': party_id = optarg; break;
        case 'i': identity_path = optarg; break;
        case 'c': close_flag = true; break;
        case 's': old_dir = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'p': password_file = optarg; break;
        case 'K': kdf = optarg; break;
        case 'N': scrypt_n = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || party_id == NULL || identity_path == NULL)
        return cli_usage(CMD, "--dir, --party and --identity are required");
    tkms_kdf_params params;
    int rc = cli_kdf_params(CMD, kdf, scrypt_n, &params);
    if (rc != 0)
        return rc;

    tkms_ceremony_spec *spec = NULL;
    char *password = NULL;
    tkms_identity identity;
    memset(&identity, 0, sizeof identity);
    tkms_share *old = NULL;
    size_t old_count = 0;
    tkms_rng_seeded rng;
    uint8_t rng_key[crypto_auth_hmacsha256_BYTES];
    memset(&rng, 0, sizeof rng);
    step s = {.dir = dir, .close_round = close_flag};
    char path[PATH_MAX], default_out[PATH_MAX];
    if ((rc = cli_path(CMD, path, "%s/" CEREMONY_SPEC_FILE, dir)) != 0 ||
        (rc = ceremony_load_spec(CMD, path, &spec)) != 0)
        goto done;
    s.spec = spec;
    if ((s.me = tkms_ceremony_party_number(spec, party_id)) == 0) {
        rc = cli_fail(CMD, "'%s' is not a party of this ceremony", party_id);
        goto done;
    }
    s.my_id = spec->parties[s.me - 1].id;
    if (out_dir == NULL) {
        if ((rc = cli_path(CMD, default_out, "%s/" CEREMONY_OUT_DIR, dir)) != 0)
            goto done;
        out_dir = default_out;
    }
    if (spec->kind == TKMS_CEREMONY_DKG && old_dir != NULL) {
        rc = cli_usage(CMD, "--old-shares is for a reshare; this ceremony is a dkg");
        goto done;
    }
    tkms_err err;
    if ((rc = cli_password(CMD, password_file, true, &password)) != 0 ||
        (rc = load_identity(identity_path, spec, s.me, password, &identity)) != 0)
        goto done;
    s.identity = &identity;
    if (spec->kind == TKMS_CEREMONY_RESHARE &&
        (rc = load_old_shares(old_dir, spec, s.my_id, password, &old, &old_count)) != 0)
        goto done;
    /* the same polynomials on every run, from a key only this party has */
    uint8_t label[sizeof RNG_LABEL - 1 + sizeof spec->hash];
    memcpy(label, RNG_LABEL, sizeof RNG_LABEL - 1);
    memcpy(label + sizeof RNG_LABEL - 1, spec->hash, sizeof spec->hash);
    crypto_auth_hmacsha256(rng_key, label, sizeof label, identity.seed);
    tkms_rng_derived_init(&rng, rng_key);
    if (tkms_party_new(&s.party, spec, s.my_id, &identity, old, old_count, &rng.base, &err) !=
        TKMS_OK) {
        rc = cli_fail(CMD, "%s", err.message);
        goto done;
    }
    bool finished;
    if ((rc = run_rounds(&s, &finished)) != 0 || !finished)
        goto done;
    if (!exists(out_dir) && mkdir(out_dir, 0777) != 0) {
        rc = cli_fail(CMD, "cannot create %s: %s", out_dir, strerror(errno));
        goto done;
    }
    if (!results_written(out_dir, spec, s.party, s.my_id) &&
        (rc = cli_ceremony_write_party(CMD, out_dir, spec, s.party, password, &params)) != 0)
        goto done;
    print_done(spec, s.party);
done:
    tkms_party_free(s.party);
    tkms_wipe(&rng, sizeof rng);
    tkms_wipe(rng_key, sizeof rng_key);
    if (old != NULL)
        tkms_wipe(old, old_count * sizeof *old);
    free(old);
    tkms_identity_wipe(&identity);
    cli_password_free(password);
    tkms_ceremony_spec_free(spec);
    return rc;
}
