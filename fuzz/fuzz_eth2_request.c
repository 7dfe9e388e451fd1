/*
 * fuzz_eth2_request.c — libFuzzer target for the Web3Signer sign-request
 * parser (tkms_eth2_parse_sign_request), under both presets. Any input
 * must be refused with a reason and a zeroed request (a signing-root
 * mismatch keeps the computed root), or accepted with a signing root that
 * is the SigningData root of the object root and domain it reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/eth2.h"

static void check(const uint8_t *data, size_t size, const tkms_eth2_chain *chain)
{
    static const tkms_eth2_request zero;
    tkms_eth2_request req;
    tkms_err err;
    tkms_status st = tkms_eth2_parse_sign_request(&req, (const char *)data, size, chain, &err);
    if (st != TKMS_OK && err.message[0] == '\0')
        abort();                        /* every refusal says why */
    if (st != TKMS_OK && st != TKMS_ERR_VERIFY_FAILED) {
        if (memcmp(&req, &zero, sizeof req) != 0)
            abort();                    /* and leaves nothing behind */
        return;
    }
    uint8_t root[32];
    tkms_eth2_signing_root(root, req.object_root, req.domain);
    if (memcmp(root, req.signing_root, 32) != 0)
        abort();
    if (st == TKMS_ERR_VERIFY_FAILED && !req.has_body_signing_root)
        abort();
    if (strcmp(tkms_eth2_type_name(req.type), "UNKNOWN") == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TKMS_ETH2_MAX_REQUEST_SIZE)
        return 0;
    static const tkms_eth2_chain minimal = {
        .preset = TKMS_ETH2_PRESET_MINIMAL, .genesis_fork_version = {0, 0, 0, 1},
    };
    check(data, size, &TKMS_ETH2_MAINNET);
    check(data, size, &minimal);
    return 0;
}
