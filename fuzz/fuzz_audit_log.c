/*
 * fuzz_audit_log.c — libFuzzer target for the audit log verifier
 * (tkms_audit_verify_buffer, the same line checker that tkms_audit_open and
 * tkms_audit_verify_file run over a file). The input is a log. Invariants:
 * no crash or leak; a failure has a message naming a line; an accepted log
 * is empty or ends in a newline, has one record per line, and its last
 * hash is the SHA-256 of its last line; and an accepted log minus its last
 * byte is reported as torn.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tkms/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t lines = 0;
    uint8_t hash[TKMS_AUDIT_HASH_SIZE];
    tkms_err err;
    tkms_status st = tkms_audit_verify_buffer(data, size, &lines, hash, &err);
    if (st != TKMS_OK) {
        if (st != TKMS_ERR_BAD_FORMAT || strstr(err.message, "line ") == NULL)
            abort();
        return 0;
    }
    if (size == 0) {
        if (lines != 0)
            abort();
        return 0;
    }
    if (data[size - 1] != '\n')
        abort();
    uint64_t newlines = 0;
    size_t last_start = 0;
    for (size_t i = 0; i < size; i++)
        if (data[i] == '\n') {
            newlines++;
            if (i + 1 < size)
                last_start = i + 1;
        }
    if (newlines != lines)
        abort();
    uint8_t want[TKMS_AUDIT_HASH_SIZE];
    if (EVP_Digest(data + last_start, size - 1 - last_start, want, NULL, EVP_sha256(), NULL) != 1 ||
        memcmp(want, hash, sizeof want) != 0)
        abort();
    st = tkms_audit_verify_buffer(data, size - 1, NULL, NULL, &err);
    if (st != TKMS_ERR_BAD_FORMAT || strstr(err.message, "torn write") == NULL)
        abort();
    return 0;
}
