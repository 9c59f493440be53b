/* loop.c — the request loop.
 *
 * One worker at a time reads /dev/fuse (it holds `rx`) and handles what it
 * read itself, then reads the next request: no thread hand-off, no wakeup
 * per request, which on a small VM costs as much as the request. A handler
 * about to wait — for LMDB's write lock or for the disk, as the store tells
 * us through its wait hook — gives up `rx` first, and another worker goes on
 * reading while it waits.
 *
 * Between requests the reader sleeps in poll(2), except while they come back
 * to back (a caller's loop: each came within spin= of the last one handled):
 * then it first polls /dev/fuse for up to spin= microseconds. On a VM, waking
 * a sleeping thread's CPU costs a third of a round trip. After a miss it
 * sleeps, so an idle or lightly used mount spends no CPU on this; while misses
 * go on (the caller could not run: a busy machine) it polls less and less.
 *
 * Order: closing produce costs no FLUSH round trip (every open sets
 * noflush), so a writer's held partial line is committed on RELEASE, which the
 * kernel queues before close() returns (as a background request: on_init in
 * main.c makes room for all of them, or the kernel would hold back all but 12
 * behind later requests). A RELEASE never gives up `rx`, so whatever is read
 * after it — a reader's lookup, the next writer's write — sees that record. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "logging.h"
#include "loop.h"

struct loop {
	struct fuse_session *se;
	int fd;             /* /dev/fuse, non-blocking */
	int stop_fd;        /* an eventfd, readable once the loop must stop */
	int64_t spin_ns;    /* how long the reader polls for the next request */
	int hot;            /* the last requests came within spin_ns of each other */
	unsigned cold;      /* requests to read without polling, after a miss */
	unsigned backoff;   /* what cold is set to after the next miss */
	int64_t done_ns;    /* when the last request was handled (rx held) */
	pthread_mutex_t rx; /* the right to read the next request */
	sem_t finished;     /* posted by each worker that stops */
	int error;          /* the first failed read (an errno) */
};

/* The loop whose rx this thread holds while handling a request, if it may
 * give it up (not during a RELEASE). */
static _Thread_local struct loop *holding;

void tfs_loop_before_wait(void)
{
	struct loop *l = holding;
	if (l) {
		holding = NULL;
		pthread_mutex_unlock(&l->rx);
	}
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Sleeps until a request is there to read, or the loop stops; rx held. */
static void wait_readable(struct loop *l)
{
	struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN}, {.fd = l->stop_fd, .events = POLLIN}};
	poll(p, 2, -1);
}

/* Reads the next request, rx held; polls first while hot (see the top). */
static int receive(struct loop *l, struct fuse_buf *buf)
{
	int64_t until = l->hot && !l->cold ? now_ns() + l->spin_ns : 0;
	int slept = 0;
	if (l->cold)
		l->cold--;
	for (;;) {
		int res = fuse_session_receive_buf(l->se, buf);
		if (res != -EAGAIN) {
			int64_t gap = res > 0 && slept ? now_ns() - l->done_ns : 0;
			if (gap) {
				l->hot = gap < l->spin_ns;
				/* A pause, not a busy machine: forget the misses. */
				if (gap > 20 * l->spin_ns)
					l->backoff = l->cold = 0;
			}
			if (res > 0 && !slept && until)
				l->backoff = 0; /* the poll paid off */
			return res;
		}
		if (until && now_ns() < until)
			continue;
		if (until) {
			/* A miss: the caller stopped (then the next request comes
			 * after a pause, see above), or could not run (both CPUs
			 * busy, maybe with this poll). Poll less for a while, less
			 * and less while misses go on. */
			l->backoff = l->backoff ? (l->backoff < 4096 ? 2 * l->backoff : 4096) : 16;
			l->cold = l->backoff;
			until = 0;
		}
		wait_readable(l);
		slept = 1;
	}
}

static bool is_release(const struct fuse_buf *buf, int size)
{
	const struct fuse_in_header *h = buf->mem;
	return !(buf->flags & FUSE_BUF_IS_FD) && (size_t)size >= sizeof *h &&
	       h->opcode == FUSE_RELEASE;
}

static _Thread_local uint64_t current_unique, current_poll_kh;

uint64_t tfs_loop_request_unique(void)
{
	return current_unique;
}

uint64_t tfs_loop_request_poll_kh(void)
{
	return current_poll_kh;
}

static uint64_t request_poll_kh(const struct fuse_buf *buf, int size)
{
	const struct fuse_in_header *h = buf->mem;
	const struct fuse_poll_in *in = (const void *)(h + 1);
	if ((buf->flags & FUSE_BUF_IS_FD) || (size_t)size < sizeof *h + sizeof *in ||
	    h->opcode != FUSE_POLL)
		return 0;
	return in->kh;
}

static uint64_t request_unique(const struct fuse_buf *buf, int size)
{
	const struct fuse_in_header *h = buf->mem;
	if ((buf->flags & FUSE_BUF_IS_FD) || (size_t)size < sizeof *h)
		return 0;
	return h->unique;
}

/* Who sent the request, for the per-user limit on log lines; -1 if unknown. */
static int64_t request_uid(const struct fuse_buf *buf, int size)
{
	const struct fuse_in_header *h = buf->mem;
	if ((buf->flags & FUSE_BUF_IS_FD) || (size_t)size < sizeof *h)
		return -1;
	return h->uid;
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	struct fuse_buf buf;
	int locked = 0;
	memset(&buf, 0, sizeof buf);
	while (!fuse_session_exited(l->se)) {
		if (!locked)
			pthread_mutex_lock(&l->rx);
		locked = 1;
		int res = receive(l, &buf);
		if (res == -EINTR)
			continue;
		if (res <= 0) {
			if (res < 0 && !fuse_session_exited(l->se)) {
				l->error = -res; /* libfuse's -errno */
				fuse_session_exit(l->se);
			}
			break;
		}
		int ordered = is_release(&buf, res);
		holding = ordered ? NULL : l;
		tfs_log_request(request_uid(&buf, res));
		current_unique = request_unique(&buf, res);
		current_poll_kh = request_poll_kh(&buf, res);
		fuse_session_process_buf(l->se, &buf);
		current_unique = current_poll_kh = 0;
		tfs_log_request(-1);
		/* Still ours unless the handler waited (see tfs_loop_before_wait). */
		locked = ordered || holding == l;
		holding = NULL;
		if (locked)
			l->done_ns = now_ns();
	}
	if (locked)
		pthread_mutex_unlock(&l->rx);
	free(buf.mem);
	sem_post(&l->finished);
	return NULL;
}

int tfs_loop_run(struct fuse_session *se, unsigned workers, int64_t spin_us)
{
	struct loop l = {
		.se = se, .fd = fuse_session_fd(se), .stop_fd = -1, .spin_ns = spin_us * 1000};
	pthread_t *t = calloc(workers, sizeof *t);
	unsigned started = 0;
	int err = t ? 0 : ENOMEM;
	if (!err && (l.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		err = errno;
	/* Reads never block: receive() polls, and sleeps in poll(2). */
	int flags = fcntl(l.fd, F_GETFL);
	if (flags < 0 || fcntl(l.fd, F_SETFL, flags | O_NONBLOCK) < 0)
		err = errno;

	pthread_mutex_init(&l.rx, NULL);
	sem_init(&l.finished, 0, 0);
	for (; !err && started < workers; started++) {
		int rc = pthread_create(&t[started], NULL, worker, &l);
		if (rc) {
			tfs_log(LOG_ERR, "cannot start a request worker: %s", strerror(rc));
			err = rc;
			fuse_session_exit(se);
			break;
		}
	}
	/* Until a signal or the unmount stops the session (sem_wait is interruptible). */
	if (started > 0)
		while (!fuse_session_exited(se))
			sem_wait(&l.finished);
	/* Wakes the worker waiting for a request; each then sees the session has
	 * exited and stops, handing rx to the next. */
	uint64_t one = 1;
	if (started > 0 && write(l.stop_fd, &one, sizeof one) != sizeof one)
		tfs_log(LOG_ERR, "cannot wake the request workers: %s", strerror(errno));
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (l.stop_fd >= 0)
		close(l.stop_fd);
	if (!err)
		err = l.error;
	sem_destroy(&l.finished);
	pthread_mutex_destroy(&l.rx);
	free(t);
	return err;
}
