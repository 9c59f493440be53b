/* supervise.h — `topicfs --supervise`: a supervisor holds the FUSE connection and restarts the daemon. */
#ifndef TOPICFS_SUPERVISE_H
#define TOPICFS_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include "tfs.h"

/* What a daemon started by the supervisor joins: the connection, and the
 * kernel's INIT request as the supervisor read it. */
struct tfs_takeover {
	int fd;            /* /dev/fuse, mounted and shared with the supervisor */
	const void *init;  /* the kernel's INIT request */
	size_t init_len;
	unsigned generation; /* 0: the first daemon, which answers INIT; then 1, 2, ... */
	int ready_fd;      /* one byte here, 0 once serving (1: failed); -1 when done */
	int background;    /* the supervisor runs as a daemon: log to syslog */
};

/* Runs the supervisor: mounts, reads INIT, then starts daemons and restarts
 * those that die. Returns only in a daemon it started, with *tk filled (0),
 * or an errno if the supervisor could not start (the reason printed). It never
 * returns in the supervisor, which exits with the status of the mount.
 * mount_args: FUSE's arguments (copied: the daemon parses them again). */
int tfs_supervise(const struct fuse_args *mount_args, struct tfs_takeover *tk);

/* In a daemon started by the supervisor: makes se serve the connection the
 * supervisor holds. The first daemon answers the kernel's INIT; a later one
 * feeds libfuse the same INIT with the reply thrown away (the kernel
 * negotiated with the first), so the session's state is what the kernel
 * expects, then asks the kernel to resend what the dead daemon had read but
 * not answered. 0 or an errno. */
int tfs_takeover_join(struct fuse_session *se, const struct tfs_takeover *tk);

/* Whether this daemon took over from one that died (then the kernel may hold
 * inode numbers and file handles it did not give out). */
int tfs_takeover_active(void);

#endif
