/*
 * test_hex.c — the hex codec: round trips, prefixes, case, and every kind
 * of malformed input.
 */
#include <string.h>

#include "test.h"
#include "tkms/hex.h"

int main(void)
{
    uint8_t all[256], back[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    char text[TKMS_HEX_SIZE(256)];
    tkms_hex_encode(text, all, sizeof all);
    CHECK(strncmp(text, "0x000102", 8) == 0, "encode starts 0x000102: %.10s", text);
    CHECK(strcmp(text + strlen(text) - 6, "fdfeff") == 0, "encode is lower-case");
    CHECK(tkms_hex_decode(back, sizeof back, text, NULL) == TKMS_OK, "decode own output");
    CHECK(memcmp(all, back, sizeof all) == 0, "round trip of 0..255");
    CHECK(tkms_hex_decode(back, sizeof back, text + 2, NULL) == TKMS_OK, "decode without 0x");

    uint8_t two[2];
    CHECK(tkms_hex_decode(two, 2, "0XAbCd", NULL) == TKMS_OK && two[0] == 0xab && two[1] == 0xcd,
          "mixed case and 0X prefix");
    tkms_err err;
    CHECK(tkms_hex_decode(two, 2, "0xabc", &err) == TKMS_ERR_BAD_ENCODING, "odd digits refused");
    CHECK(strstr(err.message, "odd") != NULL, "odd digits named: %s", err.message);
    CHECK(tkms_hex_decode(two, 2, "0xabcdef", &err) == TKMS_ERR_BAD_ENCODING, "too long refused");
    CHECK(strstr(err.message, "expected 2") != NULL, "length named: %s", err.message);
    CHECK(tkms_hex_decode(two, 2, "0xab", NULL) == TKMS_ERR_BAD_ENCODING, "too short refused");
    const char *bad[] = {"0xag12", "0x12g0", "0x 123", "0x12:4", "0x@@12", "0x`f12", "0x/f12", "0xG012", "0x0x12"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(tkms_hex_decode(two, 2, bad[i], NULL) == TKMS_ERR_BAD_ENCODING, "'%s' refused", bad[i]);
    CHECK(tkms_hex_decode(two, 2, NULL, NULL) == TKMS_ERR_BAD_ENCODING, "NULL refused");

    size_t n;
    uint8_t var[4];
    CHECK(tkms_hex_decode_var(var, 4, &n, "0x", NULL) == TKMS_OK && n == 0, "empty var decode");
    CHECK(tkms_hex_decode_var(var, 4, &n, "0x0102", NULL) == TKMS_OK && n == 2, "var decode 2");
    CHECK(tkms_hex_decode_var(var, 4, &n, "0x0102030405", NULL) == TKMS_ERR_BAD_ENCODING, "var too long");
    /* every single byte value decodes from both cases */
    for (int v = 0; v < 256; v++) {
        char s[8];
        uint8_t b;
        snprintf(s, sizeof s, "%02X", v);
        CHECK(tkms_hex_decode(&b, 1, s, NULL) == TKMS_OK && b == v, "upper %s", s);
    }
    return test_report();
}
