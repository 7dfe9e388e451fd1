/*
 * tkms/keyderive.h — EIP-2333 key derivation.
 *
 * derive_master_SK turns input key material (at least 32 bytes, e.g. a
 * BIP-39 seed) into a secret key; derive_child_SK walks one step of the
 * tree. Both are blst's implementations; this module adds the input checks.
 */
#ifndef TKMS_KEYDERIVE_H
#define TKMS_KEYDERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/status.h"

#define TKMS_IKM_MIN_SIZE 32

/*
 * derive_master_SK(ikm). Returns TKMS_ERR_INVALID_ARGUMENT when
 * ikm_len < TKMS_IKM_MIN_SIZE (EIP-2333 requires 32 bytes), and
 * TKMS_ERR_BAD_SCALAR in the (negligible) case the result is zero.
 */
tkms_status tkms_derive_master_key(tkms_secret_key *out, const uint8_t *ikm,
                                   size_t ikm_len);

/* derive_child_SK(parent, index). */
tkms_status tkms_derive_child_key(tkms_secret_key *out,
                                  const tkms_secret_key *parent,
                                  uint32_t index);

#endif /* TKMS_KEYDERIVE_H */
