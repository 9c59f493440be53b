/* consume.h — the consume and follow files of a consumer group (fs/consume.c),
 * and the open group file that groups.c hands them. */
#ifndef TOPICFS_CONSUME_H
#define TOPICFS_CONSUME_H

#include <pthread.h>

#include "fhtable.h"
#include "inode.h"
#include "tfs.h"

/* What fi->fh names for every file of a group: a handle slot (fhtable.c),
 * as for the other files. A daemon that took over makes one again from its
 * slot when the kernel first uses its handle (groups.c's tfs_group_file_get). */
struct tfs_group_file {
	struct tfs_group_file *prev, *next; /* all open group files (groups.c) */
	uint64_t fh;
	enum tfs_kind kind;
	uint32_t group_id;
	uint32_t topic_id;
	pthread_mutex_t lock;
	/* partition-<N>, lag: the text a read at offset 0 made (lock). */
	char *text;
	size_t text_len;
	/* consume, follow: a record longer than the read that got it, whole,
	 * and how much of it was read, for this open file's next reads (lock). */
	char *rest;
	size_t rest_len;
	size_t rest_off;
	uint32_t rest_gpid; /* the record the rest is of */
	uint64_t rest_offset;
};

void tfs_consume_read(fuse_req_t req, struct tfs_group_file *f, size_t size, int nonblock);
void tfs_consume_forget(struct tfs_group_file *f); /* before f is freed */
/* A consume or follow file made again after a takeover: its part-read
 * record, if its slot names one, is read again from the store. */
void tfs_consume_revive(struct tfs_group_file *f, struct tfs_fh_slot *slot);
/* poll(2) of consume or follow: answers req. */
void tfs_consume_poll(fuse_req_t req, struct tfs_group_file *f, struct fuse_pollhandle *ph);
/* Records were appended to the topic, or it was deleted: wake its followers
 * and pollers. A group was deleted or moved: wake its own. */
void tfs_groups_wake_topic(uint32_t topic_id);
void tfs_groups_wake_group(uint32_t group_id);
int tfs_consume_start(void);
void tfs_consume_stop(void);

#endif
