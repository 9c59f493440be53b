/* resident.h — the store's page-residency plumbing, for the daemon's log readers (see resident.c).
 *
 * Not part of the data API of store.h: only the code that sends log bytes to
 * the kernel (fs/logview.c, fs/log_reply.c) and the daemon's housekeeping
 * need it, to keep the resident size from growing with the data read.
 * Every function may be called from any thread. */
#ifndef TOPICFS_STORE_RESIDENT_H
#define TOPICFS_STORE_RESIDENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

/* Unmaps the pages of LMDB's map this process touched (log views read
 * through the map, LMDB's own lookups), so the resident size does not grow
 * with the data read; they stay in the page cache. Views unmap by themselves
 * every few tens of MiB they read through the map; call it now and then for
 * the rest. Call it outside any view or record callback. */
void store_unmap_pages(struct store *s);

/* store_log_view for an fn that may send the pieces from the store's file
 * (store_map_file, splice(2)) instead of reading them through the map: it
 * counts what it does read through the map itself (store_count_mapped).
 * Returns as store_log_view. */
int store_log_view_uncounted(struct store *s, uint32_t gpid, uint64_t pos, size_t size,
			     store_log_fn fn, void *arg);

/* Where len bytes at p, a piece of a view, lie in the store's file. 0 with
 * *fd and *off set (the fd is the store's: valid as long as the view, never
 * to be closed); ENOENT if p is not in the map (a copy, a hole), *fd and
 * *off untouched. Only inside a view's fn. */
int store_map_file(struct store *s, const void *p, size_t len, int *fd, off_t *off);

/* Copies len bytes at src, in a view's piece or a batch, into dst with
 * pread(2) from the store's file, so that their pages are not mapped in
 * (memcpy if src is not in the map); ctx is the store. 0, or the errno of
 * the read (EIO if the file ends first). Only inside a read transaction of
 * the store (a view's fn); also how single records are read (a
 * store_batch_copy_fn). */
int store_map_copy(void *ctx, const void *src, void *dst, size_t len);

/* Inside a view's fn: fn read this many bytes through the map. Past a few
 * tens of MiB the map's pages are unmapped (as store_unmap_pages). */
void store_count_mapped(struct store *s, size_t bytes);

#endif
