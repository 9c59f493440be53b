/* groups.h — <topic>/consumers/ and the files of a consumer group (fs/groups.c:
 * groups, their attributes, partition-<N>, lag; consume and follow go on in
 * fs/consume.c, consume.h). */
#ifndef TOPICFS_GROUPS_H
#define TOPICFS_GROUPS_H

#include <pthread.h>

#include <stdbool.h>

#include "consume.h"
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
/* poll(2): true if it answered (ino is consume or follow). */
bool tfs_groups_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct fuse_pollhandle *ph);

/* Start: the thread that answers blocked follow reads. Stop: answers them
 * with EOF and frees every open group file. */
int tfs_groups_start(void);
void tfs_groups_stop(void);

/* After a retention run: groups that retention passed move on to start,
 * and the log says how many records each never saw. */
void tfs_groups_catch_up(void);

/* The open files of groups.c (struct tfs_group_file in consume.h). */
/* The open group file fi names in this daemon, or NULL. */
struct tfs_group_file *tfs_group_file_of(const struct fuse_file_info *fi);
/* As tfs_group_file_of, but a handle a daemon that died gave out has its
 * file made again from its slot. NULL if fi names no open file. */
struct tfs_group_file *tfs_group_file_get(const struct fuse_file_info *fi);

#endif
