/*
 * keyderive.c — EIP-2333 derive_master_SK and derive_child_SK
 * (tkms/keyderive.h), as blst implements them, with input checks.
 */
#include "tkms/keyderive.h"

tkms_status tkms_derive_master_key(tkms_secret_key *out, const uint8_t *ikm,
                                   size_t ikm_len)
{
    if (ikm_len < TKMS_IKM_MIN_SIZE)
        return TKMS_ERR_INVALID_ARGUMENT;
    blst_derive_master_eip2333(&out->value, ikm, ikm_len);
    if (!blst_sk_check(&out->value)) {
        tkms_secret_key_wipe(out);
        return TKMS_ERR_BAD_SCALAR;
    }
    return TKMS_OK;
}

tkms_status tkms_derive_child_key(tkms_secret_key *out,
                                  const tkms_secret_key *parent, uint32_t index)
{
    blst_derive_child_eip2333(&out->value, &parent->value, index);
    if (!blst_sk_check(&out->value)) {
        tkms_secret_key_wipe(out);
        return TKMS_ERR_BAD_SCALAR;
    }
    return TKMS_OK;
}
