/* reset.h — the text written to consumers/<group>/partition-<N>: Kafka's reset forms. */
#ifndef TOPICFS_RESET_H
#define TOPICFS_RESET_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Parses one reset form (one trailing '\n' and surrounding blanks ignored):
 *   <n>                    the offset n
 *   earliest | latest      the partition's start | end
 *   +<k> | -<k>            shift the committed offset by k
 *   @<ms>                  the first record stamped at or after ms since the epoch
 *   YYYY-MM-DDTHH:MM:SS[.mmm](Z|+HH:MM|-HH:MM)   the same, as an ISO 8601 time
 * into *how and *value (see store_group_seek). EINVAL for anything else
 * (*how and *value untouched). No FUSE here: fuzzed on its own. */
int tfs_reset_parse(const char *text, size_t len, enum store_seek *how, int64_t *value);

#endif
