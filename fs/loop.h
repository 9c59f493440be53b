/* loop.h — the request loop (see loop.c for why it is not libfuse's). */
#ifndef TOPICFS_LOOP_H
#define TOPICFS_LOOP_H

#include "tfs.h"

/* Handles requests with `workers` threads until the session exits (a signal
 * or the unmount). While requests come back to back, the reader polls up to
 * spin_us for the next one before it sleeps. Returns 0, or an errno if
 * reading a request failed or the workers could not start. */
int tfs_loop_run(struct fuse_session *se, unsigned workers, int64_t spin_us);

/* A handler is about to wait (the store's wait hook): let another worker read
 * requests meanwhile. Does nothing outside a worker or during a RELEASE. */
void tfs_loop_before_wait(void);

/* The unique id of the request this thread is handling (0 outside one);
 * TFS_UNIQUE_RESEND is set in a request the kernel resent (FUSE_UNIQUE_RESEND). */
#define TFS_UNIQUE_RESEND (1ULL << 63)
uint64_t tfs_loop_request_unique(void);
/* In a POLL: the kernel's handle for the file polled (fuse_poll_in.kh), which
 * a notification names; else 0. */
uint64_t tfs_loop_request_poll_kh(void);

#endif
