/*
 * fuzz_group_file.c — libFuzzer target for the group file parser
 * (tkms_group_file_parse). Any input must be refused with an error or
 * accepted as a group whose share keys match its commitments; an accepted
 * group must format and re-parse to the same group.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/group_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TKMS_GROUP_FILE_MAX_SIZE)
        return 0;
    tkms_group *group = NULL;
    tkms_err err;
    if (tkms_group_file_parse(&group, (const char *)data, size, &err) != TKMS_OK) {
        if (err.message[0] == '\0')
            abort();   /* every refusal must say why */
        return 0;
    }
    char *text = NULL;
    if (tkms_group_file_format(&text, group) != TKMS_OK)
        abort();
    tkms_group *again = NULL;
    if (tkms_group_file_parse(&again, text, strlen(text), &err) != TKMS_OK ||
        again->threshold != group->threshold || again->share_count != group->share_count ||
        !tkms_public_key_equal(&again->group_key, &group->group_key))
        abort();
    free(text);
    tkms_group_free(again);
    tkms_group_free(group);
    return 0;
}
