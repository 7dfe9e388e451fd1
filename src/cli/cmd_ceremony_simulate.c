/*
 * cmd_ceremony_simulate.c — `tkms ceremony simulate`: a whole distributed
 * key generation in one process (tkms/simulation.h), for tests, demos and
 * benchmarks. Every party gets a fresh identity in memory; chosen parties
 * misbehave through the simulator's relay. The honest parties' results —
 * group files, share keystores, the transcript — are written with
 * cli_ceremony_write_party into a fresh temporary directory that is renamed
 * into place only when complete, so a failure leaves nothing half-written.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_ceremony.h"
#include "tkms/allocation.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/simulation.h"

#define CMD "ceremony simulate"

static const char *const help =
    "usage: tkms ceremony simulate (--parties N | --stakes FILE --shares N)\n"
    "                              --threshold K [--keys M] [--malicious ID:KIND,...]\n"
    "                              --out-dir D [--json] [--password-file F]\n"
    "                              [--kdf scrypt|pbkdf2] [--scrypt-n N]\n"
    "\n"
    "Runs a distributed key generation with every party in this process and\n"
    "writes what the honest parties end with. Each party gets a fresh identity\n"
    "key (kept in memory only) and deals one random polynomial per key.\n"
    "\n"
    "  --parties N        parties p1..pN (1..256), one share each, so K of N\n"
    "  --stakes FILE      owners and stakes as for `tkms allocate`: each owner\n"
    "  --shares N         is a party, named by the file, and holds the shares\n"
    "                     the allocation rule gives it out of N (--parties, if\n"
    "                     also given, must be the number of owners). K is the\n"
    "                     --threshold given here (1 <= K <= N), not derived from\n"
    "                     a fraction: use `tkms allocate` to choose one\n"
    "  --threshold K      shares needed to sign with each new key\n"
    "  --keys M           keys to generate in this one ceremony (default 1)\n"
    "  --malicious LIST   parties that misbehave, e.g. p2:bad-share,p4:missing;\n"
    "                     kinds: bad-share (a wrong share to one party, then a\n"
    "                     wrong justification), bad-commitment, missing (sends\n"
    "                     nothing), equivocate (two different deals), bad-signature,\n"
    "                     replay (its messages come from another ceremony)\n"
    "  --out-dir D        must not exist or be empty; receives\n"
    "                       D/keys/<m>/group.json             key m (0-based), owners\n"
    "                       D/keys/<m>/<owner>/share-<i>.json an honest owner's shares\n"
    "                       D/transcript.json                 transcript hash, keys,\n"
    "                                                         disqualified parties\n"
    "                     (a malicious party's shares are not written)\n"
    "  --json             print {\"keys\": [{\"pubkey\": \"0x…\", \"group\": FILE,\n"
    "                     \"shares\": {OWNER: [FILE, …]}}], \"disqualified\":\n"
    "                     [{\"party\": ID, \"reason\": \"…\"}]} (paths under D)\n"
    "  --password-file F  password of the share keystores (else $TKMS_PASSWORD)\n"
    "  --kdf, --scrypt-n  as for tkms keygen, for the share keystores\n"
    "\n"
    "Prints each new key's public key and the disqualified parties with the\n"
    "reason. Exit 0 when every honest party finished with the same keys (the\n"
    "misbehaving ones are caught and the others go on while K shares remain),\n"
    "1 otherwise, with the reason.\n";

/* The parties as the command line describes them, in the order given. */
typedef struct {
    size_t count;
    tkms_ceremony_party *parties;   /* id and shares; identity set later */
    tkms_fault *faults;             /* [count]                          */
    uint32_t total;                 /* N: shares of each new key        */
} party_list;

static void party_list_free(party_list *list)
{
    free(list->parties);
    free(list->faults);
    memset(list, 0, sizeof *list);
}

static bool party_list_alloc(party_list *list, size_t count)
{
    list->count = count;
    list->parties = calloc(count, sizeof *list->parties);
    list->faults = calloc(count, sizeof *list->faults);
    return list->parties != NULL && list->faults != NULL;
}

/* p1..pN, one share each. */
static int parties_numbered(party_list *list, uint32_t n)
{
    if (!party_list_alloc(list, n))
        return cli_fail(CMD, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        snprintf(list->parties[i].id, sizeof list->parties[i].id, "p%u", i + 1);
        list->parties[i].shares = 1;
    }
    list->total = n;
    return CLI_EXIT_OK;
}

/* The owners of a stakes file with the shares the allocation rule gives
 * them out of `total` (the rule's own K is not used). */
static int parties_from_stakes(party_list *list, const char *path, uint32_t total)
{
    char *text;
    size_t len;
    tkms_err err;
    tkms_stakes *stakes = NULL;
    tkms_allocation *allocation = NULL;
    if (tkms_file_read(path, TKMS_STAKES_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail(CMD, "cannot read stakes: %s", err.message);
    tkms_status st = tkms_stakes_parse(&stakes, text, len, &err);
    free(text);
    if (st == TKMS_OK)
        st = tkms_allocate(&allocation, stakes, total, "0", &err);
    tkms_stakes_free(stakes);
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s: %s", path, err.message);
    int rc = CLI_EXIT_OK;
    if (allocation->owner_count > TKMS_CEREMONY_MAX_PARTIES)
        rc = cli_fail(CMD, "%s: %zu owners, a ceremony takes at most %u", path,
                      allocation->owner_count, TKMS_CEREMONY_MAX_PARTIES);
    else if (!party_list_alloc(list, allocation->owner_count))
        rc = cli_fail(CMD, "out of memory");
    for (size_t i = 0; rc == 0 && i < allocation->owner_count; i++) {
        snprintf(list->parties[i].id, sizeof list->parties[i].id, "%s", allocation->owners[i].id);
        list->parties[i].shares = allocation->owners[i].shares;
    }
    list->total = total;
    tkms_allocation_free(allocation);
    return rc;
}

/* "p2:bad-share,p4:missing" → list->faults. */
static int parse_malicious(party_list *list, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    if (copy == NULL)
        return cli_fail(CMD, "out of memory");
    int rc = CLI_EXIT_OK;
    size_t items = 0;
    for (char *item = strtok_r(copy, ",", &save); rc == 0 && item != NULL;
         item = strtok_r(NULL, ",", &save), items++) {
        char *kind = strchr(item, ':');
        if (kind == NULL) {
            rc = cli_usage(CMD, "--malicious: '%s' is not ID:KIND", item);
            break;
        }
        *kind++ = '\0';
        size_t at = 0;
        while (at < list->count && strcmp(list->parties[at].id, item) != 0)
            at++;
        tkms_fault fault = tkms_fault_from_name(kind);
        if (at == list->count)
            rc = cli_usage(CMD, "--malicious: '%s' is not a party of this ceremony", item);
        else if (fault == TKMS_FAULT_NONE)
            rc = cli_usage(CMD, "--malicious: unknown misbehaviour '%s' (bad-share, bad-commitment, "
                           "missing, equivocate, bad-signature, replay)", kind);
        else if (list->faults[at] != TKMS_FAULT_NONE)
            rc = cli_usage(CMD, "--malicious: party '%s' is named twice", item);
        else
            list->faults[at] = fault;
    }
    free(copy);
    if (rc == 0 && items == 0)
        rc = cli_usage(CMD, "--malicious: no ID:KIND given");
    size_t honest = 0;
    for (size_t i = 0; i < list->count; i++)
        honest += list->faults[i] == TKMS_FAULT_NONE;
    if (rc == 0 && honest == 0)
        rc = cli_usage(CMD, "--malicious names every party; at least one must be honest");
    return rc;
}

/* The spec, with fresh identities (in spec order) and the faults moved to
 * spec order too. */
static int make_spec(party_list *list, uint32_t threshold, uint32_t keys,
                     tkms_ceremony_spec **spec, tkms_identity *identities, tkms_fault *faults)
{
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    tkms_identity *fresh = calloc(list->count, sizeof *fresh);
    if (fresh == NULL)
        return cli_fail(CMD, "out of memory");
    int rc = CLI_EXIT_OK;
    if (tkms_rng_fill(tkms_rng_system(), ceremony_id, sizeof ceremony_id) != TKMS_OK)
        rc = cli_fail(CMD, "the system RNG failed");
    for (size_t i = 0; rc == 0 && i < list->count; i++) {
        if (tkms_identity_generate(&fresh[i], tkms_rng_system()) != TKMS_OK)
            rc = cli_fail(CMD, "cannot make an identity key (RNG or libsodium)");
        else
            memcpy(list->parties[i].identity, fresh[i].public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    tkms_err err;
    if (rc == 0 && tkms_ceremony_spec_new(spec, TKMS_CEREMONY_DKG, ceremony_id, threshold, keys,
                                          list->parties, list->count, NULL, NULL, &err) != TKMS_OK)
        rc = cli_fail(CMD, "%s", err.message);
    for (size_t i = 0; rc == 0 && i < list->count; i++) {
        uint32_t at = tkms_ceremony_party_number(*spec, list->parties[i].id) - 1;
        identities[at] = fresh[i];
        faults[at] = list->faults[i];
    }
    for (size_t i = 0; i < list->count; i++)
        tkms_identity_wipe(&fresh[i]);
    free(fresh);
    return rc;
}

/* Every honest party is DONE with the same transcript — a hash over the
 * spec, the deals it took and the new group keys, so the same keys too;
 * *ref is the first of them. */
static int check_outcome(const tkms_ceremony_spec *spec, const tkms_simulation *sim,
                         const tkms_fault *faults, const tkms_party **ref)
{
    *ref = NULL;
    for (size_t q = 0; q < sim->party_count; q++) {
        const tkms_party *p = sim->parties[q];
        if (faults[q] != TKMS_FAULT_NONE)
            continue;
        if (tkms_party_state_of(p) != TKMS_PARTY_DONE)
            return cli_fail(CMD, "honest party %s failed: %s", spec->parties[q].id,
                            tkms_party_failure(p));
        if (*ref == NULL) {
            *ref = p;
            continue;
        }
        if (memcmp(tkms_party_transcript(p), tkms_party_transcript(*ref), 32) != 0)
            return cli_fail(CMD, "honest parties %s and %s ended with different keys",
                            spec->parties[tkms_party_number(*ref) - 1].id, spec->parties[q].id);
    }
    return CLI_EXIT_OK;
}

/* Writes every honest party's results into the staging directory. */
static int write_outputs(const char *dir, const tkms_ceremony_spec *spec,
                         const tkms_simulation *sim, const tkms_fault *faults,
                         const char *password, const tkms_kdf_params *params)
{
    int rc = CLI_EXIT_OK;
    for (size_t q = 0; rc == 0 && q < sim->party_count; q++)
        if (faults[q] == TKMS_FAULT_NONE)
            rc = cli_ceremony_write_party(CMD, dir, spec, sim->parties[q], password, params);
    return rc;
}

/* "0x…" of key m's public key (malloc'ed), NULL on OOM. */
static char *key_hex(const tkms_party *ref, uint32_t m)
{
    const tkms_group *group = tkms_party_group(ref, m);
    if (group == NULL)
        return NULL;
    uint8_t gk[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(gk, &group->group_key);
    char *hex = malloc(TKMS_HEX_SIZE(sizeof gk));
    if (hex != NULL)
        tkms_hex_encode(hex, gk, sizeof gk);
    return hex;
}

/* The --json document (see help); NULL on OOM. */
static char *format_result(const char *out_dir, const tkms_ceremony_spec *spec,
                           const tkms_simulation *sim, const tkms_fault *faults,
                           const tkms_party *ref)
{
    json_t *root = json_object(), *keys = json_array(), *dq_list = json_array();
    bool ok = root && keys && dq_list && json_object_set(root, "keys", keys) == 0 &&
              json_object_set(root, "disqualified", dq_list) == 0;
    char path[PATH_MAX];
    for (uint32_t m = 0; ok && m < spec->keys; m++) {
        char *hex = key_hex(ref, m);
        json_t *key = json_object(), *shares = json_object();
        snprintf(path, sizeof path, "%s/keys/%u/group.json", out_dir, m);
        ok = hex && key && shares && json_array_append(keys, key) == 0 &&
             json_object_set_new(key, "pubkey", json_string(hex)) == 0 &&
             json_object_set_new(key, "group", json_string(path)) == 0 &&
             json_object_set(key, "shares", shares) == 0;
        for (size_t q = 0; ok && q < sim->party_count; q++) {
            size_t count;
            const tkms_share *s = tkms_party_shares(sim->parties[q], m, &count);
            if (faults[q] != TKMS_FAULT_NONE || count == 0)
                continue;
            json_t *files = json_array();
            ok = files && json_object_set_new(shares, spec->parties[q].id, files) == 0;
            for (size_t i = 0; ok && i < count; i++) {
                snprintf(path, sizeof path, "%s/keys/%u/%s/share-%u.json", out_dir, m,
                         spec->parties[q].id, s[i].index);
                ok = json_array_append_new(files, json_string(path)) == 0;
            }
        }
        free(hex);
        json_decref(key);
        json_decref(shares);
    }
    size_t count;
    const tkms_disqualification *dq = tkms_party_disqualified(ref, &count);
    for (size_t i = 0; ok && i < count; i++)
        ok = json_array_append_new(dq_list, json_pack("{s:s, s:s}", "party",
                                                      spec->parties[dq[i].party - 1].id,
                                                      "reason", dq[i].reason)) == 0;
    char *text = ok ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(keys);
    json_decref(dq_list);
    json_decref(root);
    return text;
}

static int print_result(const char *out_dir, const tkms_ceremony_spec *spec,
                        const tkms_simulation *sim, const tkms_fault *faults,
                        const tkms_party *ref, bool json)
{
    if (json) {
        char *text = format_result(out_dir, spec, sim, faults, ref);
        if (text == NULL)
            return cli_fail(CMD, "out of memory");
        puts(text);
        free(text);
        return CLI_EXIT_OK;
    }
    for (uint32_t m = 0; m < spec->keys; m++) {
        char *hex = key_hex(ref, m);
        if (hex == NULL)
            return cli_fail(CMD, "out of memory");
        printf("key %u: %s\n", m, hex);
        free(hex);
    }
    size_t count;
    const tkms_disqualification *dq = tkms_party_disqualified(ref, &count);
    for (size_t i = 0; i < count; i++)
        printf("disqualified %s: %s\n", spec->parties[dq[i].party - 1].id, dq[i].reason);
    return CLI_EXIT_OK;
}

int cmd_ceremony_simulate(int argc, char **argv)
{
    static const struct option options[] = {
        {"parties", required_argument, NULL, 'P'},
        {"threshold", required_argument, NULL, 't'},
        {"stakes", required_argument, NULL, 's'},
        {"shares", required_argument, NULL, 'n'},
        {"keys", required_argument, NULL, 'm'},
        {"malicious", required_argument, NULL, 'x'},
        {"out-dir", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"password-file", required_argument, NULL, 'p'},
        {"kdf", required_argument, NULL, 'K'},
        {"scrypt-n", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *parties_text = NULL, *threshold_text = NULL, *stakes_path = NULL,
               *shares_text = NULL, *keys_text = NULL, *malicious = NULL, *out_dir = NULL,
               *password_file = NULL, *kdf = NULL, *scrypt_n = NULL;
    bool json = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'P': parties_text = optarg; break;
        case 't': threshold_text = optarg; break;
        case 's': stakes_path = optarg; break;
        case 'n': shares_text = optarg; break;
        case 'm': keys_text = optarg; break;
        case 'x': malicious = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'j': json = true; break;
        case 'p': password_file = optarg; break;
        case 'K': kdf = optarg; break;
        case 'N': scrypt_n = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!threshold_text || !out_dir)
        return cli_usage(CMD, "--threshold and --out-dir are required");
    if (!parties_text && !stakes_path)
        return cli_usage(CMD, "give --parties N, or --stakes FILE with --shares N");
    if ((stakes_path == NULL) != (shares_text == NULL))
        return cli_usage(CMD, "--stakes and --shares go together");

    uint32_t n_parties = 0, threshold, keys = 1, shares = 0;
    tkms_kdf_params params;
    int rc;
    if ((parties_text && (rc = cli_parse_u32(CMD, "--parties", parties_text, 1,
                                             TKMS_CEREMONY_MAX_PARTIES, &n_parties)) != 0) ||
        (shares_text && (rc = cli_parse_u32(CMD, "--shares", shares_text, 1, TKMS_MAX_SHARES,
                                            &shares)) != 0) ||
        (keys_text && (rc = cli_parse_u32(CMD, "--keys", keys_text, 1, TKMS_CEREMONY_MAX_KEYS,
                                          &keys)) != 0) ||
        (rc = cli_parse_u32(CMD, "--threshold", threshold_text, 1, TKMS_MAX_SHARES, &threshold)) != 0 ||
        (rc = cli_kdf_params(CMD, kdf, scrypt_n, &params)) != 0)
        return rc;
    party_list list = {0};
    cli_out_dir out = {0};
    tkms_ceremony_spec *spec = NULL;
    tkms_identity *identities = NULL;
    tkms_fault *faults = NULL;
    tkms_simulation sim = {0};
    char *password = NULL;
    rc = stakes_path ? parties_from_stakes(&list, stakes_path, shares)
                     : parties_numbered(&list, n_parties);
    if (rc != 0)
        goto done;
    if (parties_text && stakes_path && n_parties != list.count) {
        rc = cli_usage(CMD, "--parties %u, but %s names %zu owners", n_parties, stakes_path,
                       list.count);
        goto done;
    }
    if (threshold > list.total) {
        rc = cli_usage(CMD, "--threshold %u is larger than the %u shares", threshold, list.total);
        goto done;
    }
    if (malicious != NULL && (rc = parse_malicious(&list, malicious)) != 0)
        goto done;
    if ((rc = cli_out_dir_begin(&out, CMD, "--out-dir", out_dir)) != 0)
        goto done;
    if ((rc = cli_password(CMD, password_file, true, &password)) != 0)
        goto done;
    identities = calloc(list.count, sizeof *identities);
    faults = calloc(list.count, sizeof *faults);
    if (identities == NULL || faults == NULL) {
        rc = cli_fail(CMD, "out of memory");
        goto done;
    }
    if ((rc = make_spec(&list, threshold, keys, &spec, identities, faults)) != 0)
        goto done;
    tkms_simulation_config config = {.spec = spec, .identities = identities, .faults = faults,
                                     .rng = tkms_rng_system()};
    tkms_err err;
    if (tkms_simulate(&sim, &config, &err) != TKMS_OK) {
        rc = cli_fail(CMD, "%s", err.message);
        goto done;
    }
    const tkms_party *ref;
    if ((rc = check_outcome(spec, &sim, faults, &ref)) != 0 ||
        (rc = write_outputs(out.staging, spec, &sim, faults, password, &params)) != 0 ||
        (rc = cli_out_dir_commit(&out)) != 0)
        goto done;
    rc = print_result(out.target, spec, &sim, faults, ref, json);
done:
    cli_out_dir_abort(&out);
    tkms_simulation_free(&sim);
    for (size_t i = 0; identities != NULL && i < list.count; i++)
        tkms_identity_wipe(&identities[i]);
    free(identities);
    free(faults);
    tkms_ceremony_spec_free(spec);
    party_list_free(&list);
    cli_password_free(password);
    return rc;
}
