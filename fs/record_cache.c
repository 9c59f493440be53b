/* record_cache.c — see record_cache.h. A random read is LOOKUP then OPEN; the
 * open pushes the record into the page cache (files.c). The lookup replies
 * with the record's head, then reads the value into here while the caller
 * wakes up and sends the OPEN (tree.c): the open's reply waits for no read. */
#include <string.h>

#include "record_cache.h"

struct kept {
	uint32_t gpid;
	uint64_t offset;
	size_t len;
	int valid;
	char value[TFS_RECORD_CACHE_MAX];
};

/* One per thread; only the pages a thread writes become resident. */
static _Thread_local struct kept kept_here;
#define kept (&kept_here)

void tfs_record_cache_put(const struct store_record *r)
{
	kept->valid = r->value_len <= TFS_RECORD_CACHE_MAX;
	if (!kept->valid)
		return;
	kept->gpid = r->gpid;
	kept->offset = r->offset;
	kept->len = r->value_len;
	memcpy(kept->value, r->value, r->value_len);
}

const char *tfs_record_cache_get(uint32_t gpid, uint64_t offset, size_t *len)
{
	if (!kept->valid || kept->gpid != gpid || kept->offset != offset)
		return NULL;
	*len = kept->len;
	return kept->value;
}
