/* groups.h — <topic>/consumers/ and the files of a consumer group, shared by
 * fs/groups.c (groups, their attributes, partition-<N>, lag) and
 * fs/consume.c (consume, follow, poll). */
#ifndef TOPICFS_GROUPS_H
#define TOPICFS_GROUPS_H

#include <pthread.h>

#include "fhtable.h"
#include "inode.h"
#include "tfs.h"

/* The tree (fs/groups.c). tfs_tree_* hand these kinds over. */
int tfs_groups_stat(const struct tfs_node *n, fuse_ino_t ino, struct stat *st);
/* The child name of consumers/ or of a group, in *ino: 0, ENOENT or ENOTDIR. */
int tfs_groups_lookup(const struct tfs_node *parent, const char *name, fuse_ino_t *ino);
/* Makes group name in topic_id's consumers/, its directory in *ino; 0 or an
 * errno (logged). */
int tfs_groups_mkdir(uint32_t topic_id, const char *name, fuse_ino_t *ino);
void tfs_groups_rmdir(fuse_req_t req, uint32_t topic_id, const char *name);

/* The files (fs/groups.c dispatches; consume and follow in fs/consume.c). */
void tfs_groups_open(fuse_req_t req, fuse_ino_t ino, const struct tfs_node *n,
		     struct fuse_file_info *fi);
void tfs_groups_read(fuse_req_t req, const struct tfs_node *n, size_t size, off_t off,
		     struct fuse_file_info *fi);
void tfs_groups_write(fuse_req_t req, const struct tfs_node *n, const char *buf, size_t size,
		      struct fuse_file_info *fi);
void tfs_groups_release(fuse_req_t req, struct fuse_file_info *fi);
/* poll(2): 1 if it answered (ino is consume or follow), else 0. */
int tfs_groups_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph);

/* Records were appended to the topic, or it was deleted: wake its followers
 * and pollers. A group was deleted or moved: wake its own. */
void tfs_groups_wake_topic(uint32_t topic_id);
void tfs_groups_wake_group(uint32_t group_id);

/* Start: the thread that answers blocked follow reads. Stop: answers them
 * with EOF and frees every open group file. */
int tfs_groups_start(void);
void tfs_groups_stop(void);

/* After a retention run: groups that retention passed move on to start,
 * and the log says how many records each never saw. */
void tfs_groups_catch_up(void);

/* --- shared by groups.c and consume.c --- */

/* What fi->fh names for every file of a group: a handle slot (fhtable.c),
 * as for the other files. A daemon that took over makes one again from its
 * slot when the kernel first uses its handle (tfs_group_file_get). */
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

/* The open group file fi names in this daemon, or NULL. */
struct tfs_group_file *tfs_group_file_of(const struct fuse_file_info *fi);
/* As tfs_group_file_of, but a handle a daemon that died gave out has its
 * file made again from its slot. NULL if fi names no open file. */
struct tfs_group_file *tfs_group_file_get(const struct fuse_file_info *fi);

/* consume.c */
void tfs_consume_read(fuse_req_t req, struct tfs_group_file *f, size_t size, int nonblock);
void tfs_consume_forget(struct tfs_group_file *f); /* before f is freed */
/* A consume or follow file made again after a takeover: its part-read
 * record, if its slot names one, is read again from the store. */
void tfs_consume_revive(struct tfs_group_file *f, struct tfs_fh_slot *slot);
int tfs_consume_start(void);
void tfs_consume_stop(void);

#endif
