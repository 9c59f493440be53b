/* takeover.c — a daemon started by the supervisor joins a connection that is already initialized.
 *
 * libfuse 3.14 answers nothing but INIT until its session has seen one
 * (se->got_init), and derives what it sends from what INIT said (protocol
 * minor, buffer size, the capabilities wanted). The kernel sends INIT once per
 * connection, so a daemon replacing a dead one feeds its session the INIT the
 * supervisor kept, through the public fuse_session_process_buf, while the
 * session's descriptor is /dev/null: the reply, the same one the first daemon
 * sent, goes nowhere. Then the descriptor number is pointed at /dev/fuse.
 * libfuse and on_init() decide from INIT alone, so the state matches what the
 * kernel negotiated with the first daemon.
 *
 * Requests the dead daemon had read and not answered sit in the kernel's
 * processing list; FUSE_NOTIFY_RESEND (Linux 6.9) puts them back in the
 * queue, with FUSE_UNIQUE_RESEND set in their unique id. libfuse 3.14 has no
 * call for it: the notification is a bare fuse_out_header written to the
 * device (error = the code, unique = 0). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhtable.h"
#include "logging.h"
#include "supervise.h"

#define TFS_NOTIFY_RESEND 7 /* FUSE_NOTIFY_RESEND, linux/fuse.h 7.40 */

/* A poll(2) on log that was waiting when the daemon died waits on a handle
 * only the dead daemon would have notified: each is woken (a spurious
 * wakeup, after which the kernel polls this daemon again). */
static void wake_poll(struct tfs_fh_slot *slot, void *arg)
{
	int fd = *(int *)arg;
	uint64_t kh = atomic_exchange(&slot->poll_kh, 0);
	struct {
		struct fuse_out_header oh;
		struct fuse_notify_poll_wakeup_out out;
	} msg = {{sizeof msg, FUSE_NOTIFY_POLL, 0}, {kh}};
	if (kh && write(fd, &msg, sizeof msg) != (ssize_t)sizeof msg)
		tfs_log(LOG_WARNING, "takeover: cannot wake a poll on log: %s", strerror(errno));
}

static int took_over;

int tfs_takeover_active(void)
{
	return took_over;
}

static int resend(int fd)
{
	struct fuse_out_header oh = {.len = sizeof oh, .error = TFS_NOTIFY_RESEND, .unique = 0};
	if (write(fd, &oh, sizeof oh) != (ssize_t)sizeof oh)
		return errno;
	return 0;
}

int tfs_takeover_join(struct fuse_session *se, const struct tfs_takeover *tk)
{
	char path[32];
	int err = 0, sfd = tk->fd;
	if (tk->generation > 0 && (sfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return errno;
	snprintf(path, sizeof path, "/dev/fd/%d", sfd);
	/* A /dev/fd/N mount point makes libfuse take the descriptor as it is
	 * (and never unmount: the supervisor does). */
	if (fuse_session_mount(se, path) != 0) {
		err = EIO;
		goto fail;
	}
	/* The loop's buffer may be grown or freed by libfuse: give it a copy. */
	struct fuse_buf b = {.size = tk->init_len, .mem = malloc(tk->init_len)};
	if (!b.mem) {
		err = ENOMEM;
		goto fail;
	}
	memcpy(b.mem, tk->init, tk->init_len);
	fuse_session_process_buf(se, &b);
	free(b.mem);
	if (fuse_session_exited(se)) {
		tfs_log(LOG_ERR, "takeover: libfuse refused the connection's INIT");
		err = EPROTO;
		goto fail;
	}
	if (tk->generation == 0)
		return 0;
	/* Same number, now the connection: the session never sees the switch. */
	if (dup2(tk->fd, sfd) < 0) {
		err = errno;
		goto fail;
	}
	close(tk->fd);
	took_over = 1;
	if ((err = resend(sfd)) != 0) {
		tfs_log(LOG_ERR, "takeover: the kernel refused FUSE_NOTIFY_RESEND: %s; requests "
			"the daemon that died had read stay unanswered", strerror(err));
		err = 0;
	}
	tfs_fh_each(wake_poll, &sfd);
	return 0;
fail:
	if (sfd != tk->fd)
		close(sfd);
	return err;
}
