/* logview.h — reading partition-<N>/log with byte positions that never move. */
#ifndef TOPICFS_LOGVIEW_H
#define TOPICFS_LOGVIEW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct tfs_logview {
	pthread_mutex_t lock; /* guards based and shift */
	uint32_t gpid;
	int based;            /* shift is decided */
	uint64_t shift;       /* added to every read position of this handle */
	uint64_t next;        /* the position after this handle's last read */
};

struct tfs_logview *tfs_logview_new(uint32_t gpid);
void tfs_logview_free(struct tfs_logview *v);

/* Reads up to size bytes at the handle's position pos into buf; *got is how
 * many (0 at end). 0, or ENOENT when the partition is gone. */
int tfs_logview_read(struct store *s, struct tfs_logview *v, uint64_t pos, char *buf,
		     size_t size, size_t *got);

#endif
