/*
 * text.c — outside text made printable and short for messages
 * (contract in tkms/text.h).
 */
#include "tkms/text.h"

#include <string.h>

const char *tkms_text_printable(char *out, size_t size, const char *text, size_t max)
{
    size_t j = 0;
    if (max + 4 > size)
        max = size - 4;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (j == max) {
            memcpy(out + j, "...", 3);
            j += 3;
            break;
        }
        unsigned char c = (unsigned char)text[i];
        out[j++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
    }
    out[j] = '\0';
    return out;
}
