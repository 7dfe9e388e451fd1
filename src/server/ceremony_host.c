/*
 * ceremony_host.c — one server's side of network ceremonies
 * (ceremony_host.h): a table of live parties behind one mutex, the
 * one-word state files that outlive the process, the staging of a done
 * party's results and their commit into the key store (keyring.h).
 *
 * Locking: `lock` guards the table, every entry's fields and every write
 * of a state file, so the state on disk always follows the table. The
 * slow work (the party's cryptography, decrypting and encrypting
 * keystores, moving key directories) runs outside it, on an entry marked
 * `busy`: a busy entry is never freed, and only its worker touches its
 * party. An abort that arrives meanwhile is recorded at once and sets
 * `abort_requested`; the worker sees it when it comes back and discards
 * its work.
 */
#include "ceremony_host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keyring.h"
#include "tkms/ceremony_message.h"
#include "tkms/ceremony_output.h"
#include "tkms/dkg.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/owners.h"
#include "tkms/secmem.h"

#define STATE_FILE "state"
#define SPEC_FILE "spec.json"
#define OUT_DIR "out"
#define STATE_MAX_SIZE 32
#define ID_HEX_SIZE TKMS_HEX_SIZE(TKMS_CEREMONY_ID_SIZE)
#define KEY_HEX_SIZE TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)
/* Room the data directory leaves for the longest path below it. */
#define DATA_DIR_MAX (PATH_MAX - 512)
#define MESSAGE_MAX_SIZE \
    (TKMS_MESSAGE_HEADER_SIZE + (size_t)TKMS_MESSAGE_MAX_PAYLOAD + TKMS_IDENTITY_SIGNATURE_SIZE)

/* The four rounds, then "over" (tkms_party_round). */
#define LAST_ROUND 4u

typedef enum { LIVE_STARTING, LIVE_RUNNING, LIVE_DONE, LIVE_COMMITTING } live_state;

static const char *const live_names[] = {"starting", "running", "done", "committing"};

/* A ceremony with something in memory: a party, or a commit under way. */
typedef struct ceremony {
    struct ceremony *next;
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    char id_hex[ID_HEX_SIZE];
    live_state state;
    uint32_t round;                   /* the party's, for status            */
    bool busy;                        /* a request works on it, unlocked    */
    bool abort_requested;             /* aborted while busy                 */
    bool reshare;                     /* of old_key                         */
    uint8_t old_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_ceremony_spec *spec;         /* NULL for a commit after a restart  */
    tkms_party *party;                /* NULL before start and in a commit  */
} ceremony;

struct ceremony_host {
    pthread_mutex_t lock;
    char *data_dir;
    char owner[TKMS_OWNER_ID_MAX_SIZE + 1];
    tkms_identity identity;           /* secret                             */
    char *password;                   /* secret                             */
    tkms_kdf_params kdf;
    ceremony_host_commit_fn on_commit;
    void *on_commit_arg;
    ceremony *live;
    size_t live_count;
};

/* ---- replies ------------------------------------------------------------------ */

void ceremony_reply_clear(ceremony_reply *reply)
{
    if (reply == NULL)
        return;
    json_decref(reply->body);
    memset(reply, 0, sizeof *reply);
}

static int reply_error(ceremony_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reply_error(ceremony_reply *reply, int status, const char *fmt, ...)
{
    json_decref(reply->body);
    reply->body = NULL;
    reply->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->reason, sizeof reply->reason, fmt, ap);
    va_end(ap);
    return status;
}

/* An error reply from a library failure: 500 for memory and disk, else
 * `status`. */
static int reply_status(ceremony_reply *reply, int status, const tkms_err *err)
{
    if (err->status == TKMS_ERR_NO_MEMORY || err->status == TKMS_ERR_IO ||
        err->status == TKMS_ERR_RNG)
        status = 500;
    return reply_error(reply, status, "%s", err->message);
}

/* 200 with `body` (taken); 500 when it is NULL (out of memory). */
static int reply_ok(ceremony_reply *reply, json_t *body)
{
    if (body == NULL)
        return reply_error(reply, 500, "out of memory");
    reply->status = 200;
    reply->body = body;
    reply->reason[0] = '\0';
    return 200;
}

/* A JSON string "0x…" of len bytes (NULL on OOM). */
static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char *hex = malloc(TKMS_HEX_SIZE(len));
    if (hex == NULL)
        return NULL;
    tkms_hex_encode(hex, bytes, len);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

/* ---- paths and small files ------------------------------------------------------- */

/* out = printf(fmt, …); false when it does not fit PATH_MAX. */
static bool make_path(char out[PATH_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool make_path(char out[PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    return n >= 0 && n < PATH_MAX;
}

/* D/ceremonies/<id>[/<name>]. Paths fit: the data directory is bounded. */
static void ceremony_path(char out[PATH_MAX], const ceremony_host *h, const char *id_hex,
                          const char *name)
{
    if (name == NULL)
        make_path(out, "%s/" CEREMONY_HOST_DIR "/%s", h->data_dir, id_hex);
    else
        make_path(out, "%s/" CEREMONY_HOST_DIR "/%s/%s", h->data_dir, id_hex, name);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Creates directory `path` (0700) unless it is there, durably. */
static tkms_status make_dir(const char *path, tkms_err *err)
{
    if (mkdir(path, 0700) == 0) {
        tkms_file_sync_parent(path);
        return TKMS_OK;
    }
    if (errno == EEXIST && is_dir(path))
        return TKMS_OK;
    return tkms_fail(err, TKMS_ERR_IO, "cannot create directory %s: %s", path,
                     errno == EEXIST ? "a file of that name exists" : strerror(errno));
}

/* Deletes `path` and everything below it (absent is fine); false when
 * something could not be deleted. */
static bool remove_tree(const char *path)
{
    return tkms_file_remove_tree(path, NULL) == TKMS_OK;
}

/* Reads a ceremony's state word into `word` ("" when the directory has no
 * readable state). Returns false when this server never saw the id. */
static bool read_state(const ceremony_host *h, const char *id_hex, char word[STATE_MAX_SIZE])
{
    char path[PATH_MAX];
    word[0] = '\0';
    ceremony_path(path, h, id_hex, NULL);
    if (!exists(path))
        return false;
    ceremony_path(path, h, id_hex, STATE_FILE);
    char *text;
    size_t len;
    if (tkms_file_read(path, STATE_MAX_SIZE - 1, &text, &len, NULL) == TKMS_OK) {
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
            text[--len] = '\0';
        snprintf(word, STATE_MAX_SIZE, "%s", text);
        free(text);
    }
    return true;
}

/* Records `word` as the ceremony's state (creating its directory when
 * needed). Called with the lock held. */
static tkms_status write_state(const ceremony_host *h, const char *id_hex, const char *word,
                               tkms_err *err)
{
    char path[PATH_MAX], text[STATE_MAX_SIZE];
    ceremony_path(path, h, id_hex, NULL);
    tkms_status st = make_dir(path, err);
    if (st != TKMS_OK)
        return st;
    ceremony_path(path, h, id_hex, STATE_FILE);
    int n = snprintf(text, sizeof text, "%s\n", word);
    return tkms_file_write_atomic(path, text, (size_t)n, 0600, false, err);
}

/* The state a ceremony without a live entry is in, as reported. */
static const char *stored_state(const char *word)
{
    static const char *const final_states[] = {"committing", "committed", "aborted", "failed"};
    for (size_t i = 0; i < sizeof final_states / sizeof *final_states; i++)
        if (strcmp(word, final_states[i]) == 0)
            return final_states[i];
    return "interrupted";   /* running, done, or no state written */
}

/* ---- the table --------------------------------------------------------------------- */

/* Parses an id from a path ("0x…" or bare hex) into its canonical hex. */
static bool parse_id(const char *text, uint8_t id[TKMS_CEREMONY_ID_SIZE],
                     char id_hex[ID_HEX_SIZE])
{
    if (text == NULL || tkms_hex_decode(id, TKMS_CEREMONY_ID_SIZE, text, NULL) != TKMS_OK)
        return false;
    tkms_hex_encode(id_hex, id, TKMS_CEREMONY_ID_SIZE);
    return true;
}

static ceremony *find(const ceremony_host *h, const uint8_t id[TKMS_CEREMONY_ID_SIZE])
{
    for (ceremony *c = h->live; c != NULL; c = c->next)
        if (memcmp(c->id, id, TKMS_CEREMONY_ID_SIZE) == 0)
            return c;
    return NULL;
}

static ceremony *insert(ceremony_host *h, const uint8_t id[TKMS_CEREMONY_ID_SIZE],
                        live_state state)
{
    ceremony *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    memcpy(c->id, id, TKMS_CEREMONY_ID_SIZE);
    tkms_hex_encode(c->id_hex, id, TKMS_CEREMONY_ID_SIZE);
    c->state = state;
    c->busy = true;
    c->next = h->live;
    h->live = c;
    h->live_count++;
    return c;
}

/* Takes `c` out of the table (lock held); free it with drop() unlocked. */
static void unlink_entry(ceremony_host *h, ceremony *c)
{
    for (ceremony **at = &h->live; *at != NULL; at = &(*at)->next) {
        if (*at == c) {
            *at = c->next;
            h->live_count--;
            return;
        }
    }
}

/* Frees an entry taken out of the table, wiping its party. */
static void drop(ceremony *c)
{
    if (c == NULL)
        return;
    tkms_party_free(c->party);
    tkms_ceremony_spec_free(c->spec);
    free(c);
}

/* The reply for a request about `id_hex`, which has no live entry, that
 * needs a live one (round, commit): 404 or 409 with why (lock held). */
static int not_live(const ceremony_host *h, const char *id_hex, const char *what,
                    ceremony_reply *reply)
{
    char word[STATE_MAX_SIZE];
    if (!read_state(h, id_hex, word))
        return reply_error(reply, 404, "no ceremony %s here", id_hex);
    const char *state = stored_state(word);
    if (strcmp(state, "interrupted") == 0)
        return reply_error(reply, 409, "ceremony %s was interrupted by a restart: abort it and "
                           "run a new spec", id_hex);
    return reply_error(reply, 409, "ceremony %s is %s: nothing to %s", id_hex, state, what);
}

/* ---- the key store ----------------------------------------------------------------- */

/* True when both files exist and hold the same bytes. */
static bool same_bytes(const char *a, const char *b)
{
    char *ta = NULL, *tb = NULL;
    size_t la, lb;
    bool same = tkms_file_read(a, 2 * TKMS_GROUP_FILE_MAX_SIZE, &ta, &la, NULL) == TKMS_OK &&
                tkms_file_read(b, 2 * TKMS_GROUP_FILE_MAX_SIZE, &tb, &lb, NULL) == TKMS_OK &&
                la == lb && memcmp(ta, tb, la) == 0;
    free(ta);
    free(tb);
    return same;
}

/* Writes a copy of public file `from` as new file `to` (mode `mode`). */
static tkms_status copy_file(const char *from, const char *to, mode_t mode, tkms_err *err)
{
    char *text;
    size_t len;
    tkms_status st = tkms_file_read(from, 2 * TKMS_GROUP_FILE_MAX_SIZE, &text, &len, err);
    if (st == TKMS_OK)
        st = tkms_file_write_atomic(to, text, len, mode, true, err);
    free(text);
    return st;
}

/* Puts directory `from` in place of directory `to` in one step when the
 * file system can (the old one ends at `from`); else moves `to` to `aside`
 * first. */
static tkms_status swap_dirs(const char *from, const char *to, const char *aside, tkms_err *err)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0)
        return TKMS_OK;
    if (errno != EINVAL && errno != ENOSYS)
        return tkms_fail(err, TKMS_ERR_IO, "cannot swap %s into %s: %s", from, to,
                         strerror(errno));
    if (rename(to, aside) != 0 || rename(from, to) != 0)
        return tkms_fail(err, TKMS_ERR_IO, "cannot move %s into %s: %s", from, to,
                         strerror(errno));
    return TKMS_OK;
}

/*
 * Installs key m of ceremony `id_hex` (header: "Commit"). Every step can
 * be redone after a stop at any point: the key directory holds the new
 * group.json exactly when the new directory is in place, and before that
 * the staged directory is the new one.
 */
static tkms_status install_key(const ceremony_host *h, const char *id_hex, uint32_t m,
                               const uint8_t key[TKMS_PUBLIC_KEY_SIZE], bool reshare,
                               tkms_err *err)
{
    char cdir[PATH_MAX], ref[PATH_MAX], staged[PATH_MAX], staged_group[PATH_MAX],
        target[PATH_MAX], target_group[PATH_MAX], old[PATH_MAX], mark[PATH_MAX];
    ceremony_path(cdir, h, id_hex, NULL);
    keyring_key_dir(target, sizeof target, h->data_dir, key);
    if (!make_path(ref, "%s/" OUT_DIR "/keys/%u/group.json", cdir, m) ||
        !make_path(staged, "%s/" OUT_DIR "/keys/%u/%s", cdir, m, h->owner) ||
        !make_path(staged_group, "%s/group.json", staged) ||
        !make_path(target_group, "%s/group.json", target) ||
        !make_path(old, "%s/old-%u", cdir, m) ||
        !make_path(mark, "%s/" KEYRING_LOCKED_FILE, staged))
        return tkms_fail(err, TKMS_ERR_IO, "%s: path too long", cdir);
    if (!exists(ref))
        return tkms_fail(err, TKMS_ERR_IO, "%s is missing: the staged results are incomplete",
                         ref);
    tkms_status st = TKMS_OK;
    bool installed = is_dir(target) && same_bytes(target_group, ref);
    if (!installed && is_dir(staged)) {
        if (!exists(staged_group))
            st = copy_file(ref, staged_group, 0644, err);
        if (st == TKMS_OK && is_dir(target)) {
            char target_mark[PATH_MAX];
            if (!reshare)
                return tkms_fail(err, TKMS_ERR_IO, "%s exists already: a DKG never replaces a "
                                 "key", target);
            make_path(target_mark, "%s/" KEYRING_LOCKED_FILE, target);
            if (exists(target_mark) && !exists(mark))
                st = copy_file(target_mark, mark, 0600, err);
            if (st == TKMS_OK)
                st = swap_dirs(staged, target, old, err);
        } else if (st == TKMS_OK && rename(staged, target) != 0) {
            st = tkms_fail(err, TKMS_ERR_IO, "cannot move %s to %s: %s", staged, target,
                           strerror(errno));
        }
        tkms_file_sync_parent(target);
        tkms_file_sync_parent(staged);
    } else if (!installed && is_dir(target)) {
        /* this server holds no share of the key any more */
        if (rename(target, old) != 0)
            st = tkms_fail(err, TKMS_ERR_IO, "cannot remove %s: %s", target, strerror(errno));
        tkms_file_sync_parent(target);
    }
    if (st != TKMS_OK)
        return st;
    /* what is left at `staged` (after a swap) and `old` are old shares */
    if (!remove_tree(staged) || !remove_tree(old))
        return tkms_fail(err, TKMS_ERR_IO, "the old shares of key %u in %s could not all be "
                         "deleted", m, cdir);
    return TKMS_OK;
}

/* Reads D/ceremonies/<id>/out/transcript.json. */
static tkms_status read_transcript(const ceremony_host *h, const char *id_hex, json_t **out,
                                   tkms_err *err)
{
    char path[PATH_MAX];
    *out = NULL;
    ceremony_path(path, h, id_hex, OUT_DIR "/" TKMS_CEREMONY_TRANSCRIPT_FILE);
    char *text;
    size_t len;
    tkms_status st = tkms_file_read(path, TKMS_CEREMONY_TRANSCRIPT_MAX_SIZE, &text, &len, err);
    if (st != TKMS_OK)
        return st;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!json_is_object(*out) || !json_is_array(json_object_get(*out, "keys"))) {
        json_decref(*out);
        *out = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s is not a transcript", path);
    }
    return TKMS_OK;
}

/* The keys a staged transcript names (*count of them, malloc'ed). */
static tkms_status transcript_keys(const json_t *transcript, uint8_t (**keys)[TKMS_PUBLIC_KEY_SIZE],
                                   size_t *count, tkms_err *err)
{
    const json_t *list = json_object_get(transcript, "keys");
    *count = json_array_size(list);
    *keys = NULL;
    if (*count == 0 || *count > TKMS_CEREMONY_MAX_KEYS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "the staged transcript lists %zu keys", *count);
    *keys = malloc(*count * sizeof **keys);
    if (*keys == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    for (size_t m = 0; m < *count; m++) {
        const char *hex = json_string_value(json_array_get(list, m));
        if (hex == NULL || tkms_hex_decode((*keys)[m], TKMS_PUBLIC_KEY_SIZE, hex, NULL) != TKMS_OK) {
            free(*keys);
            *keys = NULL;
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "the staged transcript's key %zu is not "
                             "a public key", m);
        }
    }
    return TKMS_OK;
}

/* Whether the ceremony's recorded spec is a reshare. */
static tkms_status recorded_kind(const ceremony_host *h, const char *id_hex, bool *reshare,
                                 tkms_err *err)
{
    char path[PATH_MAX];
    ceremony_path(path, h, id_hex, SPEC_FILE);
    char *text;
    size_t len;
    tkms_status st = tkms_file_read(path, TKMS_CEREMONY_SPEC_MAX_SIZE, &text, &len, err);
    if (st != TKMS_OK)
        return st;
    tkms_ceremony_spec *spec;
    st = tkms_ceremony_spec_parse(&spec, text, len, err);
    free(text);
    if (st == TKMS_OK) {
        *reshare = spec->kind == TKMS_CEREMONY_RESHARE;
        tkms_ceremony_spec_free(spec);
    }
    return st;
}

/* Installs every key of a ceremony whose state is "committing"; the keys
 * (*count, malloc'ed) for on_commit and the reply. */
static tkms_status install_all(const ceremony_host *h, const char *id_hex,
                               uint8_t (**keys)[TKMS_PUBLIC_KEY_SIZE], size_t *count,
                               tkms_err *err)
{
    json_t *transcript;
    bool reshare = false;
    tkms_status st = read_transcript(h, id_hex, &transcript, err);
    if (st == TKMS_OK)
        st = transcript_keys(transcript, keys, count, err);
    json_decref(transcript);
    if (st == TKMS_OK)
        st = recorded_kind(h, id_hex, &reshare, err);
    for (size_t m = 0; st == TKMS_OK && m < *count; m++)
        st = install_key(h, id_hex, (uint32_t)m, (*keys)[m], reshare, err);
    if (st != TKMS_OK) {
        free(*keys);
        *keys = NULL;
        *count = 0;
    }
    return st;
}

/* A JSON array of the keys as "0x…" (NULL on OOM). */
static json_t *keys_json(const uint8_t (*keys)[TKMS_PUBLIC_KEY_SIZE], size_t count)
{
    json_t *list = json_array();
    for (size_t m = 0; list != NULL && m < count; m++)
        if (json_array_append_new(list, hex_json(keys[m], TKMS_PUBLIC_KEY_SIZE)) != 0) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

/* ---- creation -------------------------------------------------------------------- */

/* Finishes the commits a stop interrupted (best effort, see the header). */
static void finish_commits(ceremony_host *h)
{
    char dir[PATH_MAX];
    make_path(dir, "%s/" CEREMONY_HOST_DIR, h->data_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint8_t id[TKMS_CEREMONY_ID_SIZE];
        char id_hex[ID_HEX_SIZE], word[STATE_MAX_SIZE];
        if (!parse_id(e->d_name, id, id_hex) || strcmp(id_hex, e->d_name) != 0 ||
            !read_state(h, id_hex, word) || strcmp(word, "committing") != 0)
            continue;
        uint8_t(*keys)[TKMS_PUBLIC_KEY_SIZE];
        size_t count;
        tkms_err err;
        if (install_all(h, id_hex, &keys, &count, &err) == TKMS_OK) {
            write_state(h, id_hex, "committed", &err);
            free(keys);
        }
    }
    closedir(d);
}

tkms_status ceremony_host_new(ceremony_host **out, const ceremony_host_options *options,
                              tkms_err *err)
{
    *out = NULL;
    if (options == NULL || options->data_dir == NULL || options->owner == NULL ||
        options->identity == NULL || options->password == NULL || options->kdf == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "ceremony host: an option is missing");
    if (!tkms_owner_id_valid(options->owner))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "ceremony host: the owner id is not 1-64 characters of [A-Za-z0-9._-]");
    if (strlen(options->data_dir) > DATA_DIR_MAX)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "ceremony host: the data directory's path is too long");
    ceremony_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony host: out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->data_dir = strdup(options->data_dir);
    h->password = strdup(options->password);
    snprintf(h->owner, sizeof h->owner, "%s", options->owner);
    h->identity = *options->identity;
    h->kdf = *options->kdf;
    h->on_commit = options->on_commit;
    h->on_commit_arg = options->on_commit_arg;
    if (h->data_dir == NULL || h->password == NULL) {
        ceremony_host_free(h);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "ceremony host: out of memory");
    }
    char path[PATH_MAX];
    make_path(path, "%s/" CEREMONY_HOST_DIR, h->data_dir);
    tkms_status st = make_dir(path, err);
    make_path(path, "%s/" KEYRING_DIR, h->data_dir);
    if (st == TKMS_OK)
        st = make_dir(path, err);
    if (st != TKMS_OK) {
        ceremony_host_free(h);
        return st;
    }
    finish_commits(h);
    *out = h;
    return TKMS_OK;
}

void ceremony_host_free(ceremony_host *h)
{
    if (h == NULL)
        return;
    while (h->live != NULL) {
        ceremony *c = h->live;
        h->live = c->next;
        drop(c);
    }
    tkms_identity_wipe(&h->identity);
    if (h->password != NULL)
        tkms_wipe(h->password, strlen(h->password));
    free(h->password);
    free(h->data_dir);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- start ------------------------------------------------------------------------ */

/* Parses `len` bytes as a JSON object (duplicate keys refused). */
static json_t *parse_body(const char *body, size_t len, ceremony_reply *reply)
{
    json_error_t jerr;
    json_t *root = body != NULL ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (root == NULL)
        reply_error(reply, 400, "the body is not valid JSON (line %d, column %d)",
                    body != NULL ? jerr.line : 0, body != NULL ? jerr.column : 0);
    else if (!json_is_object(root)) {
        json_decref(root);
        root = NULL;
        reply_error(reply, 400, "the body must be a JSON object");
    }
    return root;
}

/* The spec of a start body. */
static int parse_start(const char *body, size_t len, tkms_ceremony_spec **spec,
                       ceremony_reply *reply)
{
    *spec = NULL;
    if (len > CEREMONY_HOST_MAX_START_BODY)
        return reply_error(reply, 400, "the body is larger than %u bytes",
                           CEREMONY_HOST_MAX_START_BODY);
    json_t *root = parse_body(body, len, reply);
    if (root == NULL)
        return reply->status;
    json_t *doc = json_object_get(root, "spec");
    bool is_object = json_is_object(doc);
    char *text = is_object ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!is_object)
        return reply_error(reply, 400, "\"spec\" must be the spec document (an object)");
    if (text == NULL)
        return reply_error(reply, 500, "out of memory");
    tkms_err err;
    tkms_status st = tkms_ceremony_spec_parse(spec, text, strlen(text), &err);
    free(text);
    if (st != TKMS_OK)
        return reply_status(reply, 400, &err);
    return 200;
}

/* This owner's shares of the key a reshare reshares, from the key store
 * (*count of them, NULL/0 when it holds none). */
static int load_old_shares(const ceremony_host *h, const tkms_ceremony_spec *spec,
                           tkms_share **out, size_t *count, ceremony_reply *reply)
{
    *out = NULL;
    *count = 0;
    const tkms_owner *owner = tkms_owner_find(spec->old_owners, h->owner);
    if (owner == NULL || owner->share_count == 0)
        return 200;
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    char dir[PATH_MAX], path[PATH_MAX], key_hex[KEY_HEX_SIZE];
    tkms_public_key_to_bytes(key, &spec->old_group->group_key);
    tkms_hex_encode(key_hex, key, sizeof key);
    keyring_key_dir(dir, sizeof dir, h->data_dir, key);
    tkms_share *shares = calloc(owner->share_count, sizeof *shares);
    if (shares == NULL)
        return reply_error(reply, 500, "out of memory");
    int status = 200;
    for (uint32_t i = 0; status == 200 && i < owner->share_count; i++) {
        uint32_t index = owner->first_index + i;
        char *text = NULL;
        size_t len;
        tkms_keystore *ks = NULL;
        tkms_err err;
        make_path(path, "%s/share-%u.json", dir, index);
        if (tkms_file_read(path, TKMS_KEYSTORE_MAX_SIZE, &text, &len, &err) != TKMS_OK) {
            status = reply_error(reply, err.status == TKMS_ERR_IO ? 409 : 500,
                                 "this server lacks share %u of the key being reshared: %s",
                                 index, err.message);
        } else if (tkms_keystore_parse(&ks, text, len, &err) != TKMS_OK) {
            status = reply_error(reply, 500, "keys/%.18s…/share-%u.json: %s", key_hex, index,
                                 err.message);
        } else if (tkms_keystore_share_info(ks) == NULL ||
                   tkms_keystore_share_info(ks)->index != index) {
            status = reply_error(reply, 500, "keys/%.18s…/share-%u.json is not share %u of the "
                                 "key", key_hex, index, index);
        } else if (tkms_keystore_decrypt(ks, h->password, &shares[i].key, &err) != TKMS_OK) {
            status = reply_error(reply, 500, "keys/%.18s…/share-%u.json: %s", key_hex, index,
                                 err.status == TKMS_ERR_BAD_PASSWORD
                                     ? "the data directory's password does not open it"
                                     : err.message);
        } else {
            shares[i].index = index;
            if (tkms_share_check(spec->old_group, &shares[i]) != TKMS_OK)
                status = reply_error(reply, 409, "share %u of key %.18s… in the key store does "
                                     "not match the spec's old group (another sharing of the "
                                     "key?)", index, key_hex);
        }
        free(text);
        tkms_keystore_free(ks);
    }
    if (status != 200) {
        for (uint32_t i = 0; i < owner->share_count; i++)
            tkms_share_wipe(&shares[i]);
        free(shares);
        return status;
    }
    *out = shares;
    *count = owner->share_count;
    return 200;
}

/* Records a new ceremony on disk: its directory, spec.json and "running"
 * (lock held). On failure nothing is left. */
static tkms_status record_start(const ceremony_host *h, const ceremony *c, tkms_err *err)
{
    char dir[PATH_MAX], path[PATH_MAX];
    ceremony_path(dir, h, c->id_hex, NULL);
    if (mkdir(dir, 0700) != 0)
        return tkms_fail(err, TKMS_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    tkms_file_sync_parent(dir);
    char *spec = tkms_ceremony_spec_format(c->spec);
    tkms_status st = spec != NULL ? TKMS_OK : tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    ceremony_path(path, h, c->id_hex, SPEC_FILE);
    if (st == TKMS_OK)
        st = tkms_file_write_atomic(path, spec, strlen(spec), 0600, true, err);
    free(spec);
    if (st == TKMS_OK)
        st = write_state(h, c->id_hex, "running", err);
    if (st != TKMS_OK)
        remove_tree(dir);
    return st;
}

/* The messages of an outbox as a JSON array of "0x…" (NULL on OOM). */
static json_t *messages_json(const tkms_outbox *box)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < box->count; i++)
        if (json_array_append_new(list, hex_json(box->data[i], box->len[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

/* Why start must refuse `spec` before anything is created (lock held):
 * 409 for an id seen before or a key being reshared, 503 when full. */
static int admit(const ceremony_host *h, const tkms_ceremony_spec *spec, const char *id_hex,
                 const uint8_t old_key[TKMS_PUBLIC_KEY_SIZE], ceremony_reply *reply)
{
    char word[STATE_MAX_SIZE];
    const ceremony *c = find(h, spec->ceremony_id);
    if (c != NULL || read_state(h, id_hex, word))
        return reply_error(reply, 409, "ceremony %s was started here before (it is %s): an id "
                           "is never used twice; make a new spec (tkms ceremony spec)", id_hex,
                           c != NULL ? live_names[c->state] : stored_state(word));
    if (h->live_count >= CEREMONY_HOST_MAX_LIVE)
        return reply_error(reply, 503, "%u ceremonies are in progress here already; finish or "
                           "abort one first", CEREMONY_HOST_MAX_LIVE);
    for (c = h->live; old_key != NULL && c != NULL; c = c->next)
        if (c->reshare && memcmp(c->old_key, old_key, TKMS_PUBLIC_KEY_SIZE) == 0)
            return reply_error(reply, 409, "ceremony %s is resharing the same key here already: "
                               "commit or abort it first", c->id_hex);
    return 200;
}

int ceremony_host_start(ceremony_host *h, const char *body, size_t len, ceremony_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    tkms_ceremony_spec *spec;
    if (parse_start(body, len, &spec, reply) != 200)
        return reply->status;
    char id_hex[ID_HEX_SIZE];
    tkms_hex_encode(id_hex, spec->ceremony_id, TKMS_CEREMONY_ID_SIZE);
    uint32_t me = tkms_ceremony_party_number(spec, h->owner);
    if (me == 0) {
        tkms_ceremony_spec_free(spec);
        return reply_error(reply, 403, "this server is owner '%s', which is not a party of "
                           "ceremony %s", h->owner, id_hex);
    }
    if (memcmp(spec->parties[me - 1].identity, h->identity.public_key,
               TKMS_IDENTITY_PUBLIC_SIZE) != 0) {
        tkms_ceremony_spec_free(spec);
        return reply_error(reply, 403, "the spec gives '%s' another identity key than this "
                           "server's: refusing", h->owner);
    }
    bool reshare = spec->kind == TKMS_CEREMONY_RESHARE;
    uint8_t old_key[TKMS_PUBLIC_KEY_SIZE];
    if (reshare)
        tkms_public_key_to_bytes(old_key, &spec->old_group->group_key);

    pthread_mutex_lock(&h->lock);
    ceremony *c = NULL;
    if (admit(h, spec, id_hex, reshare ? old_key : NULL, reply) == 200 &&
        (c = insert(h, spec->ceremony_id, LIVE_STARTING)) == NULL)
        reply_error(reply, 500, "out of memory");
    if (c != NULL) {
        c->spec = spec;
        c->reshare = reshare;
        memcpy(c->old_key, old_key, reshare ? sizeof old_key : 0);
    }
    pthread_mutex_unlock(&h->lock);
    if (c == NULL) {
        tkms_ceremony_spec_free(spec);
        return reply->status;
    }

    /* the party, outside the lock: decrypting and dealing take time */
    tkms_share *old = NULL;
    size_t old_count = 0;
    tkms_party *party = NULL;
    tkms_outbox box = {0};
    tkms_err err;
    if (reshare && load_old_shares(h, spec, &old, &old_count, reply) != 200) {
        /* reply is set */
    } else if (tkms_party_new(&party, spec, h->owner, &h->identity, old, old_count,
                              tkms_rng_system(), &err) != TKMS_OK ||
               tkms_party_start(party, &box, &err) != TKMS_OK) {
        reply_status(reply, 400, &err);
    }
    for (size_t i = 0; i < old_count; i++)
        tkms_share_wipe(&old[i]);
    free(old);
    json_t *messages = reply->status == 0 ? messages_json(&box) : NULL;
    tkms_outbox_clear(&box);
    if (reply->status == 0 && messages == NULL)
        reply_error(reply, 500, "out of memory");

    pthread_mutex_lock(&h->lock);
    if (reply->status == 0 && c->abort_requested)
        reply_error(reply, 409, "ceremony %s was aborted while it was being started", id_hex);
    if (reply->status == 0 && record_start(h, c, &err) != TKMS_OK)
        reply_status(reply, 500, &err);
    uint32_t round = party != NULL ? tkms_party_round(party) : 0;
    if (reply->status == 0) {
        c->party = party;
        c->state = LIVE_RUNNING;
        c->round = round;
        c->busy = false;
    } else {
        unlink_entry(h, c);
    }
    pthread_mutex_unlock(&h->lock);
    if (reply->status != 0) {
        json_decref(messages);
        tkms_party_free(party);
        drop(c);
        return reply->status;
    }
    return reply_ok(reply, json_pack("{s:s, s:s, s:s, s:i, s:o}", "ceremony_id", id_hex,
                                     "party", h->owner, "state", "running", "round",
                                     (int)round, "messages", messages));
}

/* ---- round ------------------------------------------------------------------------ */

/* The round number and messages of a round body. */
static int parse_round(const char *body, size_t len, uint32_t *round, json_t **root,
                       json_t **messages, ceremony_reply *reply)
{
    *root = parse_body(body, len, reply);
    if (*root == NULL)
        return reply->status;
    json_t *r = json_object_get(*root, "round");
    *messages = json_object_get(*root, "messages");
    if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > LAST_ROUND)
        return reply_error(reply, 400, "\"round\" must be an integer 1..%u", LAST_ROUND);
    if (!json_is_array(*messages))
        return reply_error(reply, 400, "\"messages\" must be an array of \"0x…\" strings");
    if (json_array_size(*messages) > CEREMONY_HOST_MAX_MESSAGES)
        return reply_error(reply, 400, "more than %u messages in one round",
                           CEREMONY_HOST_MAX_MESSAGES);
    *round = (uint32_t)json_integer_value(r);
    return 200;
}

/* Hands message i (a "0x…" string) to the party; a refusal goes to
 * `refused`. false only when out of memory. */
static bool feed(tkms_party *party, const json_t *value, size_t i, json_t *refused)
{
    const char *hex = json_string_value(value);
    size_t hex_len = hex != NULL ? json_string_length(value) : 0;
    char why[TKMS_ERR_MESSAGE_SIZE] = "";
    uint8_t *bytes = NULL;
    size_t len = 0;
    tkms_err err;
    if (hex == NULL || strlen(hex) != hex_len)
        snprintf(why, sizeof why, "not a string of hex");
    else if (hex_len > 2 + 2 * MESSAGE_MAX_SIZE)
        snprintf(why, sizeof why, "longer than the largest message");
    else if ((bytes = malloc(hex_len / 2 + 1)) == NULL)
        return false;
    else if (tkms_hex_decode_var(bytes, hex_len / 2 + 1, &len, hex, &err) != TKMS_OK)
        snprintf(why, sizeof why, "%s", err.message);
    else if (tkms_party_receive(party, bytes, len, &err) != TKMS_OK)
        snprintf(why, sizeof why, "%s", err.message);
    free(bytes);
    if (why[0] == '\0')
        return true;
    return json_array_append_new(refused, json_pack("{s:I, s:s}", "index", (json_int_t)i,
                                                    "reason", why)) == 0;
}

/* What a done party's answer adds: the keys, the transcript hash and the
 * disqualified parties, from the staged transcript. */
static tkms_status add_results(const ceremony_host *h, const char *id_hex, json_t *answer,
                               tkms_err *err)
{
    json_t *transcript;
    tkms_status st = read_transcript(h, id_hex, &transcript, err);
    if (st != TKMS_OK)
        return st;
    json_t *dqs = json_array(), *entry;
    size_t i;
    /* the evidence stays in the staged transcript */
    bool ok = json_object_set_new(answer, "disqualified", dqs) == 0 &&
              json_object_set(answer, "keys", json_object_get(transcript, "keys")) == 0 &&
              json_object_set(answer, "transcript", json_object_get(transcript, "transcript")) == 0;
    json_array_foreach(json_object_get(transcript, "disqualified"), i, entry) {
        ok = ok && json_array_append_new(dqs, json_pack("{s:O, s:O}", "party",
                                                        json_object_get(entry, "party"),
                                                        "reason",
                                                        json_object_get(entry, "reason"))) == 0;
    }
    json_decref(transcript);
    return ok ? TKMS_OK : tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
}

/* Stages a done party's results in <ceremony>/out (durably). */
static tkms_status stage(const ceremony_host *h, const ceremony *c, tkms_err *err)
{
    char out[PATH_MAX];
    ceremony_path(out, h, c->id_hex, OUT_DIR);
    remove_tree(out);   /* nothing can be there; never mix two attempts */
    tkms_err inner;
    tkms_status st = make_dir(out, err);
    if (st == TKMS_OK &&
        (st = tkms_ceremony_write_party(out, c->spec, c->party, h->password, &h->kdf,
                                        &inner)) != TKMS_OK)
        st = tkms_fail(err, st, "cannot stage the results: %s", inner.message);
    return st;
}

/* The work of a round on busy entry `c`, outside the lock: feeds the
 * messages, ends the round and stages a done party's results. Returns the
 * answer (NULL when *status is not 200); *pstate is the party's outcome
 * (FAILED also when this server cannot go on: out of memory, results that
 * cannot be staged), `failure` the reason when it failed. */
static json_t *work_round(const ceremony_host *h, ceremony *c, const json_t *messages,
                          tkms_party_state *pstate, char failure[TKMS_ERR_MESSAGE_SIZE],
                          int *status)
{
    json_t *refused = json_array(), *results = json_object(), *value;
    size_t i;
    bool ok = refused != NULL && results != NULL;
    json_array_foreach(messages, i, value) {
        if (ok)
            ok = feed(c->party, value, i, refused);
    }
    tkms_outbox box = {0};
    tkms_err err;
    tkms_err_clear(&err);
    if (ok)
        tkms_party_end_round(c->party, &box, &err);
    *pstate = tkms_party_state_of(c->party);
    *status = 200;
    failure[0] = '\0';
    if (!ok) {
        *pstate = TKMS_PARTY_FAILED;
        *status = 500;
        snprintf(failure, TKMS_ERR_MESSAGE_SIZE, "out of memory");
    } else if (*pstate == TKMS_PARTY_RUNNING && err.status != TKMS_OK) {
        *pstate = TKMS_PARTY_FAILED;   /* the party cannot go on */
        snprintf(failure, TKMS_ERR_MESSAGE_SIZE, "%s", err.message);
    } else if (*pstate == TKMS_PARTY_FAILED) {
        snprintf(failure, TKMS_ERR_MESSAGE_SIZE, "%s", tkms_party_failure(c->party));
    } else if (*pstate == TKMS_PARTY_DONE &&
               (stage(h, c, &err) != TKMS_OK ||
                add_results(h, c->id_hex, results, &err) != TKMS_OK)) {
        *pstate = TKMS_PARTY_FAILED;   /* this server cannot keep its results */
        *status = 500;
        snprintf(failure, TKMS_ERR_MESSAGE_SIZE, "%s", err.message);
    }
    const char *state = *pstate == TKMS_PARTY_DONE     ? "done"
                        : *pstate == TKMS_PARTY_FAILED ? "failed"
                                                       : "running";
    /* "o" takes the references, also when json_pack fails */
    json_t *answer = json_pack("{s:s, s:s, s:i, s:o, s:o}", "ceremony_id", c->id_hex, "state",
                               state, "round", (int)tkms_party_round(c->party), "messages",
                               messages_json(&box), "refused", refused);
    tkms_outbox_clear(&box);
    if (answer != NULL &&
        (json_object_update(answer, results) != 0 ||
         (*pstate == TKMS_PARTY_FAILED &&
          json_object_set_new(answer, "reason", json_string(failure)) != 0))) {
        json_decref(answer);
        answer = NULL;
    }
    json_decref(results);
    if (answer == NULL && *status == 200) {
        *status = 500;
        snprintf(failure, TKMS_ERR_MESSAGE_SIZE, "out of memory");
    }
    if (*status != 200) {
        json_decref(answer);
        answer = NULL;
    }
    return answer;
}

int ceremony_host_round(ceremony_host *h, const char *id_text, const char *body, size_t len,
                        ceremony_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    char id_hex[ID_HEX_SIZE];
    if (!parse_id(id_text, id, id_hex))
        return reply_error(reply, 400, "the ceremony id must be 32 bytes of hex");
    uint32_t round = 0;
    json_t *root = NULL, *messages = NULL;
    if (parse_round(body, len, &round, &root, &messages, reply) != 200) {
        json_decref(root);
        return reply->status;
    }

    pthread_mutex_lock(&h->lock);
    ceremony *c = find(h, id);
    if (c == NULL)
        not_live(h, id_hex, "close a round of", reply);
    else if (c->busy)
        reply_error(reply, 409, "another request for ceremony %s is in progress", id_hex);
    else if (c->state != LIVE_RUNNING)
        reply_error(reply, 409, "ceremony %s is %s: no round to close%s", id_hex,
                    live_names[c->state], c->state == LIVE_DONE ? "; commit or abort it" : "");
    else if (round != c->round)
        reply_error(reply, 409, "round %u is not the current round (%u) of ceremony %s: each "
                    "round is closed once, in order", round, c->round, id_hex);
    else
        c->busy = true;
    pthread_mutex_unlock(&h->lock);
    if (reply->status != 0) {
        json_decref(root);
        return reply->status;
    }

    int status;
    tkms_party_state pstate;
    char failure[TKMS_ERR_MESSAGE_SIZE];
    json_t *answer = work_round(h, c, messages, &pstate, failure, &status);
    json_decref(root);
    tkms_err err;

    pthread_mutex_lock(&h->lock);
    bool finished = true;
    if (c->abort_requested) {
        status = reply_error(reply, 409, "ceremony %s was aborted while this round was "
                             "processed", id_hex);
    } else if (pstate == TKMS_PARTY_RUNNING && status == 200) {
        c->round = tkms_party_round(c->party);
        c->busy = false;
        finished = false;
    } else if (pstate == TKMS_PARTY_DONE && status == 200) {
        if (write_state(h, id_hex, "done", &err) == TKMS_OK) {
            c->state = LIVE_DONE;
            c->round = tkms_party_round(c->party);
            c->busy = false;
            finished = false;
        } else {
            status = reply_status(reply, 500, &err);
        }
    } else {
        /* failed (also a failure to stage, or out of memory): recorded */
        write_state(h, id_hex, "failed", &err);
    }
    if (finished)
        unlink_entry(h, c);
    pthread_mutex_unlock(&h->lock);
    if (finished) {
        char out[PATH_MAX];
        ceremony_path(out, h, id_hex, OUT_DIR);
        remove_tree(out);
        drop(c);
    }
    if (status != 200) {
        json_decref(answer);
        if (reply->status == 0)
            reply_error(reply, 500, "%s", failure[0] != '\0' ? failure : "out of memory");
        return reply->status;
    }
    return reply_ok(reply, answer);
}

/* ---- commit, abort, status ------------------------------------------------------------ */

/* 200 for a ceremony committed before: its keys again. */
static int recommit(const ceremony_host *h, const char *id_hex, ceremony_reply *reply)
{
    json_t *transcript;
    tkms_err err;
    if (read_transcript(h, id_hex, &transcript, &err) != TKMS_OK)
        return reply_status(reply, 500, &err);
    json_t *answer = json_pack("{s:s, s:s, s:O}", "ceremony_id", id_hex, "state", "committed",
                               "keys", json_object_get(transcript, "keys"));
    json_decref(transcript);
    return reply_ok(reply, answer);
}

int ceremony_host_commit(ceremony_host *h, const char *id_text, ceremony_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    char id_hex[ID_HEX_SIZE], word[STATE_MAX_SIZE] = "";
    if (!parse_id(id_text, id, id_hex))
        return reply_error(reply, 400, "the ceremony id must be 32 bytes of hex");
    tkms_err err;
    bool again = false;
    pthread_mutex_lock(&h->lock);
    ceremony *c = find(h, id);
    if (c == NULL && read_state(h, id_hex, word) && strcmp(word, "committed") == 0) {
        again = true;
    } else if (c == NULL && strcmp(word, "committing") == 0) {
        /* a commit the last process (or a failed attempt) left unfinished */
        if (h->live_count >= CEREMONY_HOST_MAX_LIVE)
            reply_error(reply, 503, "%u ceremonies are in progress here already",
                        CEREMONY_HOST_MAX_LIVE);
        else if ((c = insert(h, id, LIVE_COMMITTING)) == NULL)
            reply_error(reply, 500, "out of memory");
    } else if (c == NULL) {
        not_live(h, id_hex, "commit", reply);
    } else if (c->busy) {
        reply_error(reply, 409, "another request for ceremony %s is in progress", id_hex);
    } else if (c->state == LIVE_RUNNING) {
        reply_error(reply, 409, "ceremony %s is still running (round %u): commit it once it is "
                    "done", id_hex, c->round);
    } else if (c->state == LIVE_DONE && write_state(h, id_hex, "committing", &err) != TKMS_OK) {
        reply_status(reply, 500, &err);
    } else {
        c->state = LIVE_COMMITTING;
        c->busy = true;
    }
    pthread_mutex_unlock(&h->lock);
    if (again)
        return recommit(h, id_hex, reply);
    if (reply->status != 0)
        return reply->status;

    uint8_t(*keys)[TKMS_PUBLIC_KEY_SIZE] = NULL;
    size_t count = 0;
    tkms_status st = install_all(h, id_hex, &keys, &count, &err);
    pthread_mutex_lock(&h->lock);
    if (st == TKMS_OK)
        st = write_state(h, id_hex, "committed", &err);
    if (st == TKMS_OK)
        unlink_entry(h, c);
    else
        c->busy = false;   /* stays committing: a commit request retries */
    pthread_mutex_unlock(&h->lock);
    if (st != TKMS_OK) {
        free(keys);
        return reply_error(reply, 500, "the commit did not finish (retry it): %s", err.message);
    }
    drop(c);
    for (size_t m = 0; h->on_commit != NULL && m < count; m++)
        h->on_commit(h->on_commit_arg, keys[m]);
    json_t *list = keys_json((const uint8_t(*)[TKMS_PUBLIC_KEY_SIZE])keys, count);
    free(keys);
    return reply_ok(reply, list == NULL ? NULL
                                        : json_pack("{s:s, s:s, s:o}", "ceremony_id", id_hex,
                                                    "state", "committed", "keys", list));
}

int ceremony_host_abort(ceremony_host *h, const char *id_text, ceremony_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    char id_hex[ID_HEX_SIZE], word[STATE_MAX_SIZE], out[PATH_MAX];
    if (!parse_id(id_text, id, id_hex))
        return reply_error(reply, 400, "the ceremony id must be 32 bytes of hex");
    ceremony_path(out, h, id_hex, OUT_DIR);
    tkms_err err;
    ceremony *dropped = NULL;
    bool clean = false;
    pthread_mutex_lock(&h->lock);
    ceremony *c = find(h, id);
    const char *state = c != NULL ? live_names[c->state]
                        : read_state(h, id_hex, word) ? stored_state(word) : NULL;
    if (c != NULL && c->state == LIVE_COMMITTING) {
        reply_error(reply, 409, "ceremony %s is being committed: it can no longer be aborted",
                    id_hex);
    } else if (c == NULL && state != NULL &&
               (strcmp(state, "committed") == 0 || strcmp(state, "committing") == 0)) {
        reply_error(reply, 409, "ceremony %s is %s: it can no longer be aborted", id_hex, state);
    } else if ((state == NULL || strcmp(state, "aborted") != 0) &&
               write_state(h, id_hex, "aborted", &err) != TKMS_OK) {
        reply_status(reply, 500, &err);
    } else if (c != NULL && c->busy) {
        c->abort_requested = true;   /* its request discards the work */
    } else {
        if (c != NULL)
            unlink_entry(h, c);
        dropped = c;
        clean = true;
    }
    pthread_mutex_unlock(&h->lock);
    if (reply->status != 0)
        return reply->status;
    drop(dropped);
    if (clean && !remove_tree(out))
        return reply_error(reply, 500, "ceremony %s is aborted, but %s could not all be "
                           "deleted: abort again", id_hex, out);
    return reply_ok(reply, json_pack("{s:s, s:s}", "ceremony_id", id_hex, "state", "aborted"));
}

int ceremony_host_status(ceremony_host *h, const char *id_text, ceremony_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    char id_hex[ID_HEX_SIZE], word[STATE_MAX_SIZE];
    if (!parse_id(id_text, id, id_hex))
        return reply_error(reply, 400, "the ceremony id must be 32 bytes of hex");
    pthread_mutex_lock(&h->lock);
    const ceremony *c = find(h, id);
    const char *state = c != NULL ? live_names[c->state]
                        : read_state(h, id_hex, word) ? stored_state(word) : NULL;
    uint32_t round = c != NULL ? c->round : 0;
    pthread_mutex_unlock(&h->lock);
    if (state == NULL)
        return reply_error(reply, 404, "no ceremony %s here", id_hex);
    return reply_ok(reply, json_pack("{s:s, s:s, s:i}", "ceremony_id", id_hex, "state", state,
                                     "round", (int)round));
}
