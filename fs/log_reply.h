/* log_reply.h — sending what a read of partition-<N>/log returns. */
#ifndef TOPICFS_LOG_REPLY_H
#define TOPICFS_LOG_REPLY_H

#include <stddef.h>
#include <sys/uio.h>

#include "tfs.h"

/* At INIT: asks for splicing replies and sizes log reads to what a pipe of
 * this process can hold (see log_reply.c). */
void tfs_log_reply_init(struct fuse_conn_info *conn);
/* The most bytes one log read returns. */
size_t tfs_log_reply_max(void);
/* A tfs_logview_emit: replies to the fuse_req_t arg with the pieces, those
 * that lie in the store's file spliced from it. Call inside the store's view. */
int tfs_log_reply(const struct iovec *iov, int count, void *arg);

#endif
