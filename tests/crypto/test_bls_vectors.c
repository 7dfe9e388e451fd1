/*
 * test_bls_vectors.c — every case of the official Ethereum BLS vectors
 * (ethereum/bls12-381-tests v0.1.2, plus the six unreleased-master
 * mask-bit deserialization cases) run through the public API of tkms/bls.h.
 *
 * One runner per vector kind; the table in main() pairs each runner with its
 * directory and the case count the vectors README states, and the count seen
 * is checked so that a vanished file is a failure, not a silent pass. A
 * public key or signature that fails to decode means the expected result
 * must be false (or null). Vectors are read in place, never copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/bls.h"
#include "tkms/hex.h"

/* hash_to_G2 cases are RFC 9380 J.10.1 and use its test DST, not the POP one. */
static const char quux_ro_dst[] = "QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";

/* ---- decoding helpers --------------------------------------------------- */

/* Decodes a JSON hex string that is part of the vector's own data (a message,
 * an expected output); a failure here is a broken vector, reported by name. */
static bool vector_hex(const char *name, const char *what, json_t *j,
                       uint8_t **out, size_t *len)
{
    const char *s = json_string_value(j);
    bool ok = s != NULL && test_hex(s, out, len);
    CHECK(ok, "%s: %s is not a hex string", name, what);
    return ok;
}

/* As vector_hex, into a buffer of exactly `len` bytes. */
static bool vector_hex_exact(const char *name, const char *what, json_t *j,
                             uint8_t *out, size_t len)
{
    bool ok = tkms_hex_decode(out, len, json_string_value(j), NULL) == TKMS_OK;
    CHECK(ok, "%s: %s is not %zu bytes of hex", name, what, len);
    return ok;
}

/* Pubkey and signature decoders share one shape so decode_list can take
 * either. They return false for anything the typed decoders refuse: bad hex,
 * wrong length, or a point that is invalid as a key / signature. */
typedef bool (*decoder)(json_t *j, void *out);

static bool decode_pubkey(json_t *j, void *out)
{
    uint8_t b[TKMS_PUBLIC_KEY_SIZE];
    return tkms_hex_decode(b, sizeof b, json_string_value(j), NULL) == TKMS_OK &&
           tkms_public_key_from_bytes(out, b) == TKMS_OK;
}

static bool decode_signature(json_t *j, void *out)
{
    uint8_t b[TKMS_SIGNATURE_SIZE];
    return tkms_hex_decode(b, sizeof b, json_string_value(j), NULL) == TKMS_OK &&
           tkms_signature_from_bytes(out, b) == TKMS_OK;
}

/* Decodes every element of the JSON array `arr` into a malloc'ed array of
 * `size`-byte elements. Returns false (and *out = NULL) if `arr` is not an
 * array or any element fails to decode. An empty array gives true, n = 0. */
static bool decode_list(json_t *arr, size_t size, decoder decode, void **out,
                        size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(arr))
        return false;
    size_t count = json_array_size(arr);
    unsigned char *items = malloc(size * (count ? count : 1));
    if (items == NULL)
        test_fatal("out of memory");
    for (size_t i = 0; i < count; i++) {
        if (!decode(json_array_get(arr, i), items + i * size)) {
            free(items);
            return false;
        }
    }
    *out = items;
    *n = count;
    return true;
}

/* A list of messages, in the (pointers, lengths) shape tkms_aggregate_verify
 * takes. */
typedef struct {
    const uint8_t **data;
    size_t *len;
    size_t n;
} message_list;

static void free_messages(message_list *m)
{
    for (size_t i = 0; i < m->n; i++)
        free((void *)m->data[i]);
    free(m->data);
    free(m->len);
    memset(m, 0, sizeof *m);
}

static bool load_messages(const char *name, json_t *arr, message_list *m)
{
    memset(m, 0, sizeof *m);
    CHECK(json_is_array(arr), "%s: messages is not a list", name);
    if (!json_is_array(arr))
        return false;
    size_t count = json_array_size(arr);
    m->data = calloc(count ? count : 1, sizeof *m->data);
    m->len = calloc(count ? count : 1, sizeof *m->len);
    if (m->data == NULL || m->len == NULL)
        test_fatal("out of memory");
    for (size_t i = 0; i < count; i++) {
        uint8_t *buf;
        if (!vector_hex(name, "a message", json_array_get(arr, i), &buf, &m->len[i])) {
            free_messages(m);
            return false;
        }
        m->data[i] = buf;
        m->n = i + 1;
    }
    return true;
}

/* ---- result checks ------------------------------------------------------ */

static void check_bool(const char *name, json_t *expected, bool got)
{
    if (!json_is_boolean(expected)) {
        CHECK(false, "%s: output is not true/false", name);
        return;
    }
    bool want = json_is_true(expected);
    CHECK(got == want, "%s: got %s, expected %s", name, got ? "true" : "false",
          want ? "true" : "false");
}

/* `got` (or NULL when the operation was refused) against an expected
 * signature hex string, or JSON null meaning "must be refused". */
static void check_signature(const char *name, json_t *expected,
                            const tkms_signature *got)
{
    if (json_is_null(expected)) {
        CHECK(got == NULL, "%s: expected a refusal (null), got a signature", name);
        return;
    }
    uint8_t want[TKMS_SIGNATURE_SIZE], have[TKMS_SIGNATURE_SIZE];
    if (!vector_hex_exact(name, "output", expected, want, sizeof want))
        return;
    CHECK(got != NULL, "%s: refused, expected %s", name, json_string_value(expected));
    if (got == NULL)
        return;
    tkms_signature_to_bytes(have, got);
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_hex_encode(hex, have, sizeof have);
    CHECK(memcmp(have, want, sizeof want) == 0, "%s: got %s, expected %s", name,
          hex, json_string_value(expected));
}

/* ---- runners, one per kind ---------------------------------------------- */

typedef void (*runner)(const char *name, json_t *input, json_t *output);

static void run_sign(const char *name, json_t *in, json_t *out)
{
    uint8_t skb[TKMS_SECRET_KEY_SIZE], *msg;
    size_t len;
    if (!vector_hex_exact(name, "privkey", json_object_get(in, "privkey"), skb, sizeof skb) ||
        !vector_hex(name, "message", json_object_get(in, "message"), &msg, &len))
        return;
    tkms_secret_key sk;
    if (tkms_secret_key_from_bytes(&sk, skb) != TKMS_OK) {
        check_signature(name, out, NULL);
        free(msg);
        return;
    }
    tkms_signature sig;
    tkms_public_key pk;
    tkms_sign(&sig, &sk, msg, len);
    check_signature(name, out, &sig);
    tkms_public_key_from_secret(&pk, &sk);
    CHECK(tkms_verify(&pk, msg, len, &sig), "%s: own signature does not verify", name);
    tkms_secret_key_wipe(&sk);
    free(msg);
}

static void run_verify(const char *name, json_t *in, json_t *out)
{
    uint8_t *msg;
    size_t len;
    if (!vector_hex(name, "message", json_object_get(in, "message"), &msg, &len))
        return;
    tkms_public_key pk;
    tkms_signature sig;
    bool got = decode_pubkey(json_object_get(in, "pubkey"), &pk) &&
               decode_signature(json_object_get(in, "signature"), &sig) &&
               tkms_verify(&pk, msg, len, &sig);
    check_bool(name, out, got);
    free(msg);
}

static void run_aggregate(const char *name, json_t *in, json_t *out)
{
    void *sigs;
    size_t n;
    tkms_signature agg;
    bool ok = decode_list(in, sizeof(tkms_signature), decode_signature, &sigs, &n) &&
              tkms_aggregate(&agg, sigs, n) == TKMS_OK;
    check_signature(name, out, ok ? &agg : NULL);
    free(sigs);
}

static void run_fast_aggregate_verify(const char *name, json_t *in, json_t *out)
{
    uint8_t *msg;
    size_t len;
    if (!vector_hex(name, "message", json_object_get(in, "message"), &msg, &len))
        return;
    void *pks;
    size_t n;
    tkms_signature sig;
    bool got = decode_list(json_object_get(in, "pubkeys"), sizeof(tkms_public_key),
                           decode_pubkey, &pks, &n) &&
               decode_signature(json_object_get(in, "signature"), &sig) &&
               tkms_fast_aggregate_verify(pks, n, msg, len, &sig);
    check_bool(name, out, got);
    free(pks);
    free(msg);
}

static void run_aggregate_verify(const char *name, json_t *in, json_t *out)
{
    message_list m;
    if (!load_messages(name, json_object_get(in, "messages"), &m))
        return;
    void *pks;
    size_t n;
    tkms_signature sig;
    bool got = decode_list(json_object_get(in, "pubkeys"), sizeof(tkms_public_key),
                           decode_pubkey, &pks, &n) &&
               n == m.n &&
               decode_signature(json_object_get(in, "signature"), &sig) &&
               tkms_aggregate_verify(pks, m.data, m.len, n, &sig);
    check_bool(name, out, got);
    free(pks);
    free_messages(&m);
}

/* No batch API for distinct messages: the batch holds iff every
 * (pubkey, message, signature) triple verifies on its own. */
static void run_batch_verify(const char *name, json_t *in, json_t *out)
{
    message_list m;
    if (!load_messages(name, json_object_get(in, "messages"), &m))
        return;
    void *pks = NULL, *sigs = NULL;
    size_t npk = 0, nsig = 0;
    bool got = decode_list(json_object_get(in, "pubkeys"), sizeof(tkms_public_key),
                           decode_pubkey, &pks, &npk) &&
               decode_list(json_object_get(in, "signatures"), sizeof(tkms_signature),
                           decode_signature, &sigs, &nsig) &&
               npk == m.n && nsig == m.n;
    for (size_t i = 0; got && i < m.n; i++)
        got = tkms_verify((const tkms_public_key *)pks + i, m.data[i], m.len[i],
                          (const tkms_signature *)sigs + i);
    check_bool(name, out, got);
    free(pks);
    free(sigs);
    free_messages(&m);
}

/* Text of an Fp2 element as the vectors write it, "0x<c0>,0x<c1>", from
 * blst's serialization order c1 || c0 (big-endian, 48 bytes each). */
#define FP2_TEXT_SIZE (2 * TKMS_HEX_SIZE(48))

static void format_fp2(char out[FP2_TEXT_SIZE], const uint8_t c1_c0[96])
{
    tkms_hex_encode(out, c1_c0 + 48, 48);
    out[TKMS_HEX_SIZE(48) - 1] = ',';
    tkms_hex_encode(out + TKMS_HEX_SIZE(48), c1_c0, 48);
}

static void run_hash_to_g2(const char *name, json_t *in, json_t *out)
{
    json_t *msg = json_object_get(in, "msg"); /* raw text, not hex */
    const char *want_x = json_string_value(json_object_get(out, "x"));
    const char *want_y = json_string_value(json_object_get(out, "y"));
    CHECK(json_is_string(msg) && want_x != NULL && want_y != NULL,
          "%s: malformed input or output", name);
    if (!json_is_string(msg) || want_x == NULL || want_y == NULL)
        return;
    blst_p2 p;
    blst_p2_affine a;
    uint8_t xy[192]; /* x.c1 || x.c0 || y.c1 || y.c0 */
    char x[FP2_TEXT_SIZE], y[FP2_TEXT_SIZE];
    tkms_hash_to_g2_dst(&p, (const uint8_t *)json_string_value(msg), json_string_length(msg),
                        (const uint8_t *)quux_ro_dst, strlen(quux_ro_dst));
    blst_p2_to_affine(&a, &p);
    blst_p2_affine_serialize(xy, &a);
    format_fp2(x, xy);
    format_fp2(y, xy + 96);
    CHECK(strcmp(x, want_x) == 0, "%s: x is %s, expected %s", name, x, want_x);
    CHECK(strcmp(y, want_y) == 0, "%s: y is %s, expected %s", name, y, want_y);
}

/* Deserialization: the input must be valid hex (with or without 0x: the
 * release omits it, unreleased-master has it); a wrong byte length means the
 * point does not decode. Each raw decoder is cross-checked against the typed
 * one, which must agree except that a public key may not be the identity. */
typedef bool (*point_check)(const char *name, const uint8_t *bytes);

static bool g1_decodes(const char *name, const uint8_t *b)
{
    blst_p1_affine p;
    tkms_public_key pk;
    tkms_status st = tkms_g1_decode(&p, b);
    tkms_status want = st == TKMS_OK && blst_p1_affine_is_inf(&p) ? TKMS_ERR_INFINITY : st;
    tkms_status got = tkms_public_key_from_bytes(&pk, b);
    CHECK(got == want, "%s: tkms_public_key_from_bytes says '%s', tkms_g1_decode '%s'",
          name, tkms_status_string(got), tkms_status_string(st));
    return st == TKMS_OK;
}

static bool g2_decodes(const char *name, const uint8_t *b)
{
    blst_p2_affine p;
    tkms_signature sig;
    tkms_status st = tkms_g2_decode(&p, b);
    tkms_status got = tkms_signature_from_bytes(&sig, b);
    CHECK(got == st, "%s: tkms_signature_from_bytes says '%s', tkms_g2_decode '%s'",
          name, tkms_status_string(got), tkms_status_string(st));
    return st == TKMS_OK;
}

static void run_deserialization(const char *name, json_t *in, json_t *out,
                                const char *field, size_t size, point_check decodes)
{
    uint8_t *bytes;
    size_t len;
    if (!vector_hex(name, field, json_object_get(in, field), &bytes, &len))
        return;
    check_bool(name, out, len == size && decodes(name, bytes));
    free(bytes);
}

static void run_deserialization_g1(const char *name, json_t *in, json_t *out)
{
    run_deserialization(name, in, out, "pubkey", 48, g1_decodes);
}

static void run_deserialization_g2(const char *name, json_t *in, json_t *out)
{
    run_deserialization(name, in, out, "signature", 96, g2_decodes);
}

/* ---- driver ------------------------------------------------------------- */

/* Runs every case file in `dir` and returns how many there were. */
static size_t run_kind(const char *dir, runner run)
{
    char **files = test_vector_files(dir);
    size_t n = 0;
    for (; files[n] != NULL; n++) {
        char name[512];
        snprintf(name, sizeof name, "%s/%s", dir, test_basename(files[n]));
        json_t *doc = test_load_json(files[n]);
        json_t *input = json_object_get(doc, "input");
        json_t *output = json_object_get(doc, "output");
        CHECK(input != NULL && output != NULL, "%s: no input/output", name);
        if (input != NULL && output != NULL)
            run(name, input, output);
        json_decref(doc);
    }
    test_free_list(files);
    return n;
}

int main(void)
{
    static const struct {
        const char *dir;
        size_t count; /* as stated in the vectors README */
        runner run;
    } kinds[] = {
        {"bls12-381-tests/sign", 10, run_sign},
        {"bls12-381-tests/verify", 29, run_verify},
        {"bls12-381-tests/aggregate", 6, run_aggregate},
        {"bls12-381-tests/fast_aggregate_verify", 12, run_fast_aggregate_verify},
        {"bls12-381-tests/aggregate_verify", 5, run_aggregate_verify},
        {"bls12-381-tests/batch_verify", 4, run_batch_verify},
        {"bls12-381-tests/hash_to_G2", 4, run_hash_to_g2},
        {"bls12-381-tests/deserialization_G1", 13, run_deserialization_g1},
        {"bls12-381-tests/deserialization_G2", 15, run_deserialization_g2},
        {"bls12-381-tests/unreleased-master/deserialization_G1", 3, run_deserialization_g1},
        {"bls12-381-tests/unreleased-master/deserialization_G2", 3, run_deserialization_g2},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        unsigned long failed_before = test_failed;
        size_t seen = run_kind(kinds[k].dir, kinds[k].run);
        CHECK(seen == kinds[k].count, "%s: %zu case files, the README states %zu",
              kinds[k].dir, seen, kinds[k].count);
        printf("%-52s %2zu cases, %s\n", kinds[k].dir, seen,
               test_failed == failed_before ? "all pass" : "FAILURES");
    }
    return test_report();
}
