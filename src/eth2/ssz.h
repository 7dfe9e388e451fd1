/*
 * ssz.h — SSZ merkleization (hash_tree_root building blocks) for the eth2
 * layer. Internal to libtkms.
 *
 * Everything hashes with SHA-256 (blst_sha256) over 32-byte chunks, exactly
 * as the SSZ spec's merkleize / mix_in_length define it. Containers are
 * built by their callers as an array of field roots passed to
 * ssz_merkleize; no function here allocates.
 */
#ifndef TKMS_ETH2_SSZ_H
#define TKMS_ETH2_SSZ_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

#define SSZ_CHUNK 32

/* Largest bitlist this layer hashes, in bits (Electra aggregation bits:
 * MAX_VALIDATORS_PER_COMMITTEE * MAX_COMMITTEES_PER_SLOT on mainnet). */
#define SSZ_MAX_BITLIST_BITS (2048u * 64u)

/* hash(a || b). */
void ssz_hash_pair(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]);

/*
 * merkleize(chunks, limit): `data` holds `len` bytes packed into chunks of
 * 32 (the last one zero-padded); the tree has the next power of two >=
 * `limit_chunks` leaves (one leaf when limit_chunks <= 1), missing leaves
 * are zero. Requires ceil(len / 32) <= limit_chunks (or <= 1 when
 * limit_chunks is 0) — callers check list lengths before hashing.
 */
void ssz_merkleize(uint8_t root[32], const uint8_t *data, size_t len,
                   uint64_t limit_chunks);

/* root = hash(root || uint256(length)). */
void ssz_mix_in_length(uint8_t root[32], uint64_t length);

/* hash_tree_root of a container whose `count` field roots are fields[]. */
void ssz_container_root(uint8_t root[32], const uint8_t (*fields)[32],
                        size_t count);

/* hash_tree_root(List[T, limit]) of composite elements given by their
 * roots (count <= limit, checked by the caller). */
void ssz_list_root(uint8_t root[32], const uint8_t (*roots)[32], size_t count,
                   uint64_t limit);

/* hash_tree_root(uint64): the value little-endian, zero-padded to a chunk. */
void ssz_uint64_root(uint8_t root[32], uint64_t value);

/* hash_tree_root(ByteVector[len]) for any fixed len (Bytes4 .. Bytes96). */
void ssz_bytes_root(uint8_t root[32], const uint8_t *bytes, size_t len);

/*
 * hash_tree_root(Bitlist[limit_bits]) of an SSZ-serialized bitlist (`len`
 * bytes ending in the delimiting 1 bit). Refuses (TKMS_ERR_BAD_FORMAT,
 * message "<name>: ...") an empty encoding, a last byte without the
 * delimiter, or more than limit_bits bits. limit_bits <= SSZ_MAX_BITLIST_BITS.
 * *bit_count (may be NULL) gets the number of bits.
 */
tkms_status ssz_bitlist_root(uint8_t root[32], uint64_t *bit_count,
                             const uint8_t *bytes, size_t len,
                             uint64_t limit_bits, const char *name,
                             tkms_err *err);

/*
 * hash_tree_root(Bitvector[bits]) of `len` serialized bytes. Refuses a
 * length other than ceil(bits / 8) or a set bit beyond `bits`.
 */
tkms_status ssz_bitvector_root(uint8_t root[32], const uint8_t *bytes,
                               size_t len, uint64_t bits, const char *name,
                               tkms_err *err);

#endif /* TKMS_ETH2_SSZ_H */
