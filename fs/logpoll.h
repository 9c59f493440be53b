/* logpoll.h — poll(2) on partition-<N>/log: a follower at the end sleeps until
 * its topic gets records, instead of being told "readable" in a busy loop. */
#ifndef TOPICFS_LOGPOLL_H
#define TOPICFS_LOGPOLL_H

#include "logview.h"
#include "tfs.h"

void tfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct fuse_pollhandle *ph);
/* Records were appended to (or the topic was deleted): wake its pollers. */
void tfs_poll_wake_topic(uint32_t topic_id);
/* The handle is closing: drop its pending poll. */
void tfs_poll_forget(const struct tfs_logview *v);
/* At unmount: drop every pending poll. */
void tfs_poll_forget_all(void);

#endif
