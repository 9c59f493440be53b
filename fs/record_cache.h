/* record_cache.h — the value of the record a lookup of offset-<n> was for,
 * read after its reply and kept for the open that usually follows on the same
 * worker. */
#ifndef TOPICFS_RECORD_CACHE_H
#define TOPICFS_RECORD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Values longer than this are not kept (nor pushed at open, see files.c). */
#define TFS_RECORD_CACHE_MAX (64 * 1024)

/* Keeps r's value as the calling thread's last record read for a lookup. */
void tfs_record_cache_put(const struct store_record *r);
/* The value of (gpid, offset) if it is the calling thread's last one kept,
 * else NULL; *len gets its length. Records never change, so it is still right
 * while the record is retained. */
const char *tfs_record_cache_get(uint32_t gpid, uint64_t offset, size_t *len);

#endif
