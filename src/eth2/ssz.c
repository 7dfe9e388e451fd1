/*
 * ssz.c — SSZ merkleization: merkleize with a chunk limit, mix_in_length,
 * and the roots of the basic and bit types the signable objects use.
 * Subtrees with no data are taken from a table of zero-subtree roots, so a
 * list of limit 2^k costs hashes only for its present elements plus k.
 */
#include <string.h>

#include <blst.h>

#include "ssz.h"

#define SSZ_MAX_DEPTH 64

void ssz_hash_pair(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    uint8_t buf[64];
    memcpy(buf, a, 32);
    memcpy(buf + 32, b, 32);
    blst_sha256(out, buf, sizeof buf);
}

/* Root of the subtree of height `depth` whose leaves are the chunks of
 * data[0..len); zero[d] is the root of an all-zero subtree of height d. */
static void subtree_root(uint8_t out[32], const uint8_t *data, size_t len,
                         unsigned depth, const uint8_t zero[][32])
{
    if (len == 0) {
        memcpy(out, zero[depth], 32);
        return;
    }
    if (depth == 0) {
        memset(out, 0, 32);
        memcpy(out, data, len < SSZ_CHUNK ? len : SSZ_CHUNK);
        return;
    }
    /* bytes under the left half; past 2^58 chunks it holds everything */
    size_t half = depth - 1 >= 58 ? SIZE_MAX : (size_t)SSZ_CHUNK << (depth - 1);
    size_t left_len = len < half ? len : half;
    uint8_t left[32], right[32];
    subtree_root(left, data, left_len, depth - 1, zero);
    subtree_root(right, data + left_len, len - left_len, depth - 1, zero);
    ssz_hash_pair(out, left, right);
}

void ssz_merkleize(uint8_t root[32], const uint8_t *data, size_t len,
                   uint64_t limit_chunks)
{
    unsigned depth = 0;
    while (depth < SSZ_MAX_DEPTH && ((uint64_t)1 << depth) < limit_chunks)
        depth++;
    uint8_t zero[SSZ_MAX_DEPTH + 1][32];
    memset(zero[0], 0, 32);
    for (unsigned d = 1; d <= depth; d++)
        ssz_hash_pair(zero[d], zero[d - 1], zero[d - 1]);
    subtree_root(root, data, len, depth, (const uint8_t(*)[32])zero);
}

void ssz_mix_in_length(uint8_t root[32], uint64_t length)
{
    uint8_t len_chunk[32];
    ssz_uint64_root(len_chunk, length);
    ssz_hash_pair(root, root, len_chunk);
}

void ssz_container_root(uint8_t root[32], const uint8_t (*fields)[32],
                        size_t count)
{
    ssz_merkleize(root, &fields[0][0], count * SSZ_CHUNK, count);
}

void ssz_list_root(uint8_t root[32], const uint8_t (*roots)[32], size_t count,
                   uint64_t limit)
{
    ssz_merkleize(root, count ? &roots[0][0] : NULL, count * SSZ_CHUNK, limit);
    ssz_mix_in_length(root, count);
}

void ssz_uint64_root(uint8_t root[32], uint64_t value)
{
    memset(root, 0, 32);
    for (int i = 0; i < 8; i++)
        root[i] = (uint8_t)(value >> (8 * i));
}

void ssz_bytes_root(uint8_t root[32], const uint8_t *bytes, size_t len)
{
    ssz_merkleize(root, bytes, len, (len + SSZ_CHUNK - 1) / SSZ_CHUNK);
}

tkms_status ssz_bitlist_root(uint8_t root[32], uint64_t *bit_count,
                             const uint8_t *bytes, size_t len,
                             uint64_t limit_bits, const char *name,
                             tkms_err *err)
{
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: empty bitlist (no delimiting bit)", name);
    uint8_t last = bytes[len - 1];
    if (last == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: bitlist without its end bit (last byte is zero)", name);
    unsigned top = 7;
    while (!(last & (1u << top)))
        top--;
    uint64_t bits = (uint64_t)(len - 1) * 8 + top;
    if (bits > limit_bits || limit_bits > SSZ_MAX_BITLIST_BITS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: %llu bits, at most %llu", name,
                         (unsigned long long)bits, (unsigned long long)limit_bits);
    /* the bits without the delimiter, zero-padded */
    uint8_t packed[SSZ_MAX_BITLIST_BITS / 8 + 1];
    size_t packed_len = (size_t)((bits + 7) / 8);
    memcpy(packed, bytes, packed_len);
    if (top != 0)
        packed[len - 1] = (uint8_t)(last & ~(1u << top));
    ssz_merkleize(root, packed, packed_len, (limit_bits + 255) / 256);
    ssz_mix_in_length(root, bits);
    if (bit_count != NULL)
        *bit_count = bits;
    return TKMS_OK;
}

tkms_status ssz_bitvector_root(uint8_t root[32], const uint8_t *bytes,
                               size_t len, uint64_t bits, const char *name,
                               tkms_err *err)
{
    if (bits == 0 || len != (bits + 7) / 8)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: bitvector of %zu bytes, expected %llu", name, len,
                         (unsigned long long)((bits + 7) / 8));
    if (bits % 8 != 0 && (bytes[len - 1] >> (bits % 8)) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: bits set beyond bit %llu", name,
                         (unsigned long long)bits);
    ssz_merkleize(root, bytes, len, (bits + 255) / 256);
    return TKMS_OK;
}
