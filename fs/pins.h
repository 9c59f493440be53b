/* pins.h — the gpids the kernel still knows inode numbers of; the store does not reuse them. */
#ifndef TOPICFS_PINS_H
#define TOPICFS_PINS_H

#include <stdbool.h>
#include <stdint.h>

#include "tfs.h"

/* The kernel is told about ino (an entry reply, counted once more per reply,
 * as the kernel counts lookups); a no-op but for partition-level nodes. */
void tfs_pins_hold(fuse_ino_t ino);
/* The kernel forgot ino n times (FORGET), or an entry reply did not reach it. */
void tfs_pins_release(fuse_ino_t ino, uint64_t n);
/* Whether the kernel may still hold an inode number made from gpid: the
 * store's busy hook (store_set_gpid_busy_hook). */
bool tfs_pins_is_busy(uint32_t gpid);

/* FORGET and BATCH_FORGET. */
void tfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void tfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);

#endif
