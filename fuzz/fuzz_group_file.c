/*
 * fuzz_group_file.c — libFuzzer target for the group file parser
 * (tkms_group_file_parse). Any input must be refused with a reason or
 * accepted as a group whose share keys match its commitments and whose
 * owners cover exactly its indices; an accepted file must format and
 * re-parse to the same group and owners.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/group_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TKMS_GROUP_FILE_MAX_SIZE)
        return 0;
    tkms_group_file file;
    tkms_err err;
    if (tkms_group_file_parse(&file, (const char *)data, size, &err) != TKMS_OK) {
        if (err.message[0] == '\0' || file.group != NULL || file.owners != NULL)
            abort();   /* every refusal says why and leaves nothing behind */
        return 0;
    }
    const tkms_group *g = file.group;
    if (file.owners != NULL) {
        if (file.owners->total != g->share_count)
            abort();
        for (uint32_t i = 1; i <= g->share_count; i++)
            if (tkms_owner_of(file.owners, i) == NULL)
                abort();
    }
    char *text = NULL;
    if (tkms_group_file_format(&text, g, file.owners) != TKMS_OK)
        abort();
    tkms_group_file again;
    if (tkms_group_file_parse(&again, text, strlen(text), &err) != TKMS_OK ||
        again.group->threshold != g->threshold || again.group->share_count != g->share_count ||
        !tkms_public_key_equal(&again.group->group_key, &g->group_key) ||
        (again.owners == NULL) != (file.owners == NULL) ||
        (file.owners != NULL && again.owners->count != file.owners->count))
        abort();
    free(text);
    tkms_group_file_clear(&again);
    tkms_group_file_clear(&file);
    return 0;
}
