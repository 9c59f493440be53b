/* logview.h — reading partition-<N>/log with byte positions that never move. */
#ifndef TOPICFS_LOGVIEW_H
#define TOPICFS_LOGVIEW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "store.h"

struct tfs_logview_carry;

struct tfs_logview {
	pthread_mutex_t lock; /* guards based, shift, next and carry */
	uint32_t gpid;
	int based;            /* shift is decided */
	uint64_t shift;       /* added to every read position of this handle */
	uint64_t next;        /* the position after this handle's last read */
	struct tfs_logview_carry *carry; /* the rest of the record a read stopped in */
};

struct tfs_logview *tfs_logview_new(uint32_t gpid);
void tfs_logview_free(struct tfs_logview *v);

/* Reads up to size bytes at the handle's position pos, handing them to emit
 * as pieces (count 0 at the end) that are valid only during the call; emit is
 * called at most once. Returns emit's result, or ENOENT when the partition is
 * gone (emit not called then). */
typedef int (*tfs_logview_emit)(const struct iovec *iov, int count, void *arg);
int tfs_logview_read(struct store *s, struct tfs_logview *v, uint64_t pos, size_t size,
		     tfs_logview_emit emit, void *arg);

/* *ready: whether the partition has bytes past where this handle last read
 * (or any retained byte before its first read). 0, or the store's errno
 * (ENOENT: the partition is gone). */
int tfs_logview_ready(struct store *s, struct tfs_logview *v, bool *ready);

#endif
