/* numbers.h — parsing the numbers users write in names and files. */
#ifndef TOPICFS_NUMBERS_H
#define TOPICFS_NUMBERS_H

#include <stdint.h>

/* Canonical decimal ("0", "17"; no sign, no leading zero, no blanks) to *out.
 * EINVAL for anything else, whatever its length; ERANGE for a canonical
 * number past UINT64_MAX. *out is set only on success. */
int tfs_parse_u64(const char *s, uint64_t *out);

#endif
