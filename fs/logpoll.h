/* logpoll.h — poll(2) on partition-<N>/log: a follower at the end sleeps until
 * its topic gets records, instead of being told "readable" in a busy loop. */
#ifndef TOPICFS_LOGPOLL_H
#define TOPICFS_LOGPOLL_H

#include "logview.h"
#include "tfs.h"

/* Wakes pollers on the store's events (appends, topic deletion) from now on. */
int tfs_poll_subscribe(struct store *s);
void tfs_poll_unsubscribe(struct store *s);
/* Answers a poll of v, a log view of topic_id: ready now, or registers ph
 * to be notified on the topic's next append. ph may be NULL. */
void tfs_poll_view(fuse_req_t req, struct tfs_logview *v, uint32_t topic_id,
		   struct fuse_pollhandle *ph);
/* The handle is closing: drop its pending poll. */
void tfs_poll_forget(const struct tfs_logview *v);
/* At unmount: drop every pending poll. */
void tfs_poll_forget_all(void);

#endif
