/*
 * tkms/text.h — showing outside text (a client's field, a file's value)
 * inside an error message or a log line safely: printable ASCII only, and
 * short.
 */
#ifndef TKMS_TEXT_H
#define TKMS_TEXT_H

#include <stddef.h>

/*
 * Copies `text` into `out` (`size` bytes, at least 4) with every byte
 * outside 0x20..0x7e replaced by '?', cut after `max` bytes (and at most
 * size - 4) with "..." appended when it was longer. Returns out.
 */
const char *tkms_text_printable(char *out, size_t size, const char *text, size_t max);

#endif /* TKMS_TEXT_H */
