/* supervise.c — the supervisor of `topicfs --supervise`: it holds the FUSE connection, the daemon dies and comes back.
 *
 * While any process holds the /dev/fuse descriptor of a mount, the kernel
 * keeps the mount and queues the requests made to it; a daemon's death only
 * ends the connection when the last holder closes it. So the supervisor mounts
 * and keeps the descriptor, and the daemon runs as its child (forked, not
 * exec'd: the supervisor is single-threaded and never opens the store, so the
 * child starts as a fresh daemon would). When the child dies without the
 * mount having ended, the supervisor starts another one on the same
 * descriptor, after a pause that grows while children keep dying quickly.
 *
 * The kernel's INIT request comes once per connection. The supervisor reads
 * it right after mounting and hands it to every child: the first answers it,
 * each later one only feeds it to its libfuse session (takeover.c). Whether
 * the kernel can resend the requests a dead daemon had read (FUSE_HAS_RESEND
 * in INIT, Linux 6.9) is decided there too: without it a request in flight at
 * the crash would wait forever, so the supervisor then restarts nothing and
 * exits with the daemon, which is what an unsupervised mount does. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "fhtable.h"
#include "logging.h"
#include "supervise.h"

/* INIT's flags2 bit for FUSE_NOTIFY_RESEND (linux/fuse.h 7.40: FUSE_HAS_RESEND,
 * bit 39 of the 64 flags); older headers lack it. */
#define TFS_HAS_RESEND_FLAGS2 (1u << (39 - 32))
#ifndef FUSE_INIT_EXT
#define FUSE_INIT_EXT (1 << 30)
#endif

/* Enough for any first request: the kernel refuses reads of less than
 * 8 KiB, or than a write request once INIT has raised max_write. */
#define INIT_BUF_SIZE ((size_t)(2 << 20) + 8192)

/* Children that die sooner than this after starting, twice or more in a
 * row, are a crash loop: the next one waits, from RESTART_PAUSE_MIN_MS on,
 * twice as long each time up to ..._MAX_MS. Otherwise it starts at once. */
#define QUICK_DEATH_MS 1000
#define RESTART_PAUSE_MIN_MS 50
#define RESTART_PAUSE_MAX_MS 5000

static volatile sig_atomic_t stop_signal; /* the supervisor was told to stop */
/* The supervisor's mount session and the INIT it read, which a daemon
 * inherits and keeps to its end: held here, they are reachable, not leaks
 * (volatile: stores the compiler would otherwise drop, as nothing reads them). */
static struct fuse_session *volatile mount_se;
static void *volatile mount_init;
static volatile pid_t child_pid;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	if (child_pid > 0)
		kill(child_pid, SIGTERM); /* the daemon stops cleanly, then we unmount */
}

static void set_signals(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pause_ms(int64_t ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	while (!stop_signal && nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* Whether the connection still stands: the kernel reports POLLERR on the
 * descriptor once the mount is gone (unmounted, or aborted). */
static bool is_connected(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return !(poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)));
}

/* The kernel's INIT request, the first thing on a new connection. */
static int read_init(int fd, void *buf, size_t *len, int *resend)
{
	ssize_t n;
	do
		n = read(fd, buf, INIT_BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;
		fprintf(stderr, "topicfs: reading the kernel's INIT request failed: %s\n",
			strerror(err));
		return err;
	}
	const struct fuse_in_header *h = buf;
	const struct fuse_init_in *in = (const void *)(h + 1);
	if ((size_t)n < sizeof *h + 8 || h->opcode != FUSE_INIT) {
		fprintf(stderr, "topicfs: the first request of the connection is not INIT\n");
		return EPROTO;
	}
	/* flags2 exists from protocol 7.36 on, and counts only with FUSE_INIT_EXT. */
	*resend = (size_t)n >= sizeof *h + 24 && in->major == 7 && in->minor >= 36 &&
		  (in->flags & FUSE_INIT_EXT) && (((const uint32_t *)in)[4] & TFS_HAS_RESEND_FLAGS2);
	*len = (size_t)n;
	return 0;
}

/* DATA/topicfs.supervisor.pid: the process a service manager must watch and
 * stop (the daemon's pid, in topicfs.lock, changes with each restart). */
static void pid_file(int make)
{
	static int written; /* only ours is removed, never a running one's */
	char path[4200];
	snprintf(path, sizeof path, "%s/topicfs.supervisor.pid", tfs.opt.data_dir);
	if (!make) {
		if (written)
			unlink(path);
		return;
	}
	FILE *f = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (f = fdopen(fd, "w")) != NULL) {
		fprintf(f, "%d\n", (int)getpid());
		written = fclose(f) == 0;
	} else {
		tfs_log(LOG_WARNING, "supervisor: cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static const char *describe(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

/* Waits for the child, forwarding stop signals (on_stop_signal). */
static int wait_child(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	child_pid = 0;
	return status;
}

int tfs_supervise(const struct fuse_args *mount_args, struct tfs_takeover *tk)
{
	struct fuse_args a = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	int parent_fd = -1, rc = 1, resend = 0;
	void *init = NULL;
	size_t init_len = 0;

	for (int i = 0; i < mount_args->argc; i++)
		if (fuse_opt_add_arg(&a, mount_args->argv[i]) != 0)
			goto fail;
	if ((mount_init = init = malloc(INIT_BUF_SIZE)) == NULL)
		goto fail;
	/* The handles every daemon of this mount shares (fhtable.c). */
	if (tfs_fh_table_init(1) != 0) {
		fprintf(stderr, "topicfs: cannot map the table of open files\n");
		goto fail;
	}
	if (!tfs.opt.foreground)
		parent_fd = tfs_daemon_start();
	mount_se = se = fuse_session_new(&a, &tfs_ops, sizeof tfs_ops, NULL);
	if (!se)
		goto out;
	if (fuse_session_mount(se, tfs.opt.mountpoint) != 0) {
		fprintf(stderr, "topicfs: cannot mount on %s\n", tfs.opt.mountpoint);
		fuse_session_destroy(se);
		mount_se = se = NULL;
		goto out;
	}
	int fd = fuse_session_fd(se);
	if (read_init(fd, init, &init_len, &resend) != 0)
		goto out_unmount;
	/* For tests/test_supervise.py: act as on a kernel without resend. */
	const char *no_resend = getenv("TOPICFS_TEST_NO_RESEND");
	if (no_resend && strcmp(no_resend, "1") == 0)
		resend = 0;
	signal(SIGPIPE, SIG_IGN);
	set_signals(on_stop_signal);

	int64_t pause = 0;
	unsigned quick = 0; /* children in a row that died within QUICK_DEATH_MS */
	for (unsigned gen = 0;; gen++) {
		int ready[2];
		if (pipe2(ready, O_CLOEXEC) != 0) {
			tfs_log(LOG_ERR, "supervisor: pipe: %s", strerror(errno));
			goto out_unmount;
		}
		int64_t started = mono_ms();
		pid_t supervisor = getpid(), pid = fork();
		if (pid < 0) {
			tfs_log(LOG_ERR, "supervisor: cannot start a daemon: %s", strerror(errno));
			close(ready[0]);
			close(ready[1]);
			goto out_unmount;
		}
		if (pid == 0) {
			set_signals(SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			/* A supervisor killed outright takes its daemon along, cleanly:
			 * unsupervised it would hold the mount with no one to restart
			 * it, and a service manager would find the mount taken. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != supervisor)
				raise(SIGTERM);
			close(ready[0]);
			if (parent_fd >= 0)
				close(parent_fd);
			*tk = (struct tfs_takeover){.fd = fd, .init = init, .init_len = init_len,
						    .generation = gen, .ready_fd = ready[1],
						    .background = !tfs.opt.foreground};
			fuse_opt_free_args(&a);
			return 0; /* the daemon goes on in main() */
		}
		child_pid = pid;
		close(ready[1]);
		char ok = 1;
		ssize_t got;
		do
			got = read(ready[0], &ok, 1);
		while (got < 0 && errno == EINTR);
		close(ready[0]);
		if (got != 1)
			ok = 1;
		if (gen == 0) {
			if (ok != 0) { /* it said why; nothing was served */
				wait_child(pid);
				goto out_unmount;
			}
			/* Before the parent returns: a service manager reads it then. */
			pid_file(1);
			if (parent_fd >= 0) {
				tfs_daemon_ready(parent_fd);
				parent_fd = -1;
			}
			if (resend)
				tfs_log(LOG_INFO, "supervisor (pid %d): the daemon (pid %d) serves %s; "
					"one that dies is replaced", (int)getpid(), (int)pid,
					tfs.opt.mountpoint);
			else
				tfs_log(LOG_WARNING,
					"supervisor: this kernel cannot resend the requests of a daemon "
					"that died (FUSE_NOTIFY_RESEND, Linux 6.9): --supervise restarts "
					"nothing; a daemon that dies ends the mount as without it");
		} else if (ok == 0) {
			tfs_log(LOG_INFO, "supervisor: daemon pid %d took over %s (restart %u)",
				(int)pid, tfs.opt.mountpoint, gen);
		}

		int status = wait_child(pid);
		char why[96];
		if (stop_signal) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			break;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			rc = 0; /* unmounted, or the daemon was told to stop */
			break;
		}
		if (!is_connected(fd)) {
			tfs_log(LOG_ERR, "supervisor: the daemon (pid %d) %s as the mount ended", (int)pid,
				describe(status, why, sizeof why));
			break;
		}
		if (!resend) {
			tfs_log(LOG_ERR, "supervisor: the daemon (pid %d) %s; not restarted (no resend "
				"in this kernel)", (int)pid, describe(status, why, sizeof why));
			break;
		}
		/* One quick death may be bad luck; a second in a row is a loop. */
		quick = mono_ms() - started < QUICK_DEATH_MS ? quick + 1 : 0;
		if (quick < 2)
			pause = 0;
		else
			pause = pause ? (2 * pause < RESTART_PAUSE_MAX_MS ? 2 * pause : RESTART_PAUSE_MAX_MS)
				      : RESTART_PAUSE_MIN_MS;
		tfs_log(LOG_ERR, "supervisor: the daemon (pid %d) %s; starting another in %lld ms",
			(int)pid, describe(status, why, sizeof why), (long long)pause);
		pause_ms(pause);
		if (stop_signal)
			break;
	}
out_unmount:
	tfs_log(LOG_INFO, "supervisor: unmounting %s", tfs.opt.mountpoint);
	fuse_session_unmount(se);
	pid_file(0);
	fuse_session_destroy(se);
	mount_se = NULL;
out:
	if (parent_fd >= 0) {
		char status = 1;
		if (write(parent_fd, &status, 1) != 1)
			rc = 1;
	}
	free(init);
	fuse_opt_free_args(&a);
	exit(rc);
fail:
	free(init);
	fuse_opt_free_args(&a);
	return ENOMEM;
}
