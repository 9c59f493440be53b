/* consume.c — reading consumers/<group>/consume and follow, and poll(2) on them.
 *
 * A read takes the group's next records and commits them in one store
 * transaction (store_group_consume), so readers of one group share the
 * records, each record going to one of them. A record longer than the read
 * goes whole to that reader: the open file keeps its rest for the next reads.
 *
 * A follow read with nothing to read is not answered by the worker that got
 * it: the request is parked here and the worker goes back to the loop, so 64
 * blocked followers hold no worker. One thread of ours answers parked reads
 * when their topic gets records (tfs_groups_wake_topic, from the store's
 * change events: fs/groups.c) or their group goes away (EOF). A FUSE interrupt (the
 * reader got a signal) answers EINTR.
 *
 * Lost wakeups: `seq` counts wakes. A read notes it before trying the store
 * and parks only if no wake came since; a wake after the park finds it.
 * Wakers skip all this while `watched` is 0, so a read or a poll counts
 * itself there before it looks at the store. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fhtable.h"
#include "groups.h"
#include "logging.h"
#include "loop.h"

struct waiter {
	struct waiter *next;
	fuse_req_t req;
	struct tfs_group_file *f; /* valid until req is answered */
	uint32_t topic_id;        /* f's, for wakers: f may go once req is answered */
	uint32_t group_id;
	size_t size;
	int ready;       /* a wake came: try the store again */
	int busy;        /* being tried, or its interrupt callback being set up */
	int interrupted; /* the interrupt came while busy */
};

struct poller {
	struct poller *next;
	struct tfs_group_file *f;
	struct fuse_pollhandle *ph;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct waiter *waiters; /* lock */
static struct poller *pollers; /* lock */
static uint64_t seq;           /* lock: wakes so far */
static int stopping;           /* lock */
static atomic_int watched;     /* waiters, pollers and reads or polls looking; read
				* without the lock by wakers */
static pthread_t thread;
static int running;

/* --- taking records --- */

struct out {
	char *buf;
	size_t len;
	size_t cap;
};

static void *collect(size_t len, void *arg)
{
	struct out *o = arg;
	if (len == 0) {
		o->len = 0; /* the transaction starts (again) */
		return o->buf;
	}
	if (len > o->cap - o->len) {
		size_t cap = o->cap * 2 > o->len + len ? o->cap * 2 : o->len + len;
		char *b = realloc(o->buf, cap);
		if (!b)
			return NULL;
		o->buf = b;
		o->cap = cap;
	}
	o->len += len;
	return o->buf + o->len - len;
}

/* Answers req from f if there is something to read: 1 when it replied
 * (records, EOF because the group or topic is gone, or an error), 0 when
 * the group has nothing for it yet. f is not touched after the reply: the
 * reader may close it at once, and its release free it. */
static int try_answer(fuse_req_t req, struct tfs_group_file *f, size_t size, int follow)
{
	uint32_t gid = f->group_id;
	pthread_mutex_lock(&f->lock);
	if (f->rest) {
		/* Copied: a concurrent read of the same file may finish the rest. */
		size_t n = f->rest_len - f->rest_off < size ? f->rest_len - f->rest_off : size;
		char *part = malloc(n);
		if (part) {
			memcpy(part, f->rest + f->rest_off, n);
			f->rest_off += n;
			if (f->rest_off == f->rest_len) {
				free(f->rest);
				f->rest = NULL;
				f->rest_len = f->rest_off = 0;
			}
		}
		pthread_mutex_unlock(&f->lock);
		if (part)
			fuse_reply_buf(req, part, n);
		else
			fuse_reply_err(req, ENOMEM);
		free(part);
		return 1;
	}
	/* A follow reply a byte short of the read: a full one makes the kernel
	 * ask for the rest of a big read() in another request, which would wait
	 * for records while the reader could have had these. */
	size_t budget = follow && size > 1 ? size - 1 : size;
	struct out o = {malloc(budget), 0, budget};
	struct store_consumed c = {0};
	int err = o.buf ? store_group_consume(tfs.store, gid, budget, collect, &o, &c) : ENOMEM;
	if (!err && o.len > size) {
		/* A record longer than the read: it is this reader's (committed);
		 * the file keeps the rest for its next reads. */
		if ((f->rest = malloc(o.len - size)) != NULL) {
			memcpy(f->rest, o.buf + size, o.len - size);
			f->rest_len = o.len - size;
			f->rest_off = 0;
		} else {
			tfs_log(LOG_ERR, "group id %u: %zu byte(s) of a committed record lost: %s", gid,
				o.len - size, strerror(ENOMEM));
		}
		o.len = size;
	}
	pthread_mutex_unlock(&f->lock);
	int replied = 1;
	if (err == ENOENT) {
		fuse_reply_buf(req, NULL, 0); /* the group or its topic is gone: EOF */
	} else if (err) {
		tfs_log(LOG_ERR, "group id %u: consume failed: %s", gid, strerror(err));
		fuse_reply_err(req, err);
	} else if (o.len == 0) {
		replied = 0;
	} else {
		fuse_reply_buf(req, o.buf, o.len);
	}
	free(o.buf);
	if (c.missed)
		tfs_log(LOG_WARNING,
			"group id %u: retention removed %" PRIu64
			" record(s) the group never consumed; it moved on to the start",
			gid, c.missed);
	return replied;
}

/* --- parked follow reads --- */

static void unlink_waiter(struct waiter *w)
{
	for (struct waiter **p = &waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			atomic_fetch_sub(&watched, 1);
			return;
		}
	}
}

/* libfuse calls this when the reader of a parked request got a signal. */
static void on_interrupt(fuse_req_t req, void *data)
{
	(void)data; /* the waiter may be gone: look it up by its request */
	pthread_mutex_lock(&lock);
	for (struct waiter *w = waiters; w; w = w->next) {
		if (w->req != req)
			continue;
		if (w->busy) {
			w->interrupted = 1; /* whoever has it answers */
		} else {
			unlink_waiter(w);
			fuse_reply_err(req, EINTR);
			free(w);
		}
		break;
	}
	pthread_mutex_unlock(&lock);
}

void tfs_consume_read(fuse_req_t req, struct tfs_group_file *f, size_t size, int nonblock)
{
	if (f->kind == TFS_CONSUME) {
		if (!try_answer(req, f, size, 0))
			fuse_reply_buf(req, NULL, 0); /* caught up: EOF */
		return;
	}
	struct waiter *w = NULL;
	atomic_fetch_add(&watched, 1); /* from here on, appends wake (see the top) */
	for (;;) {
		pthread_mutex_lock(&lock);
		uint64_t before = seq;
		pthread_mutex_unlock(&lock);
		if (try_answer(req, f, size, 1)) {
			atomic_fetch_sub(&watched, 1);
			free(w);
			return;
		}
		if (nonblock || (!w && !(w = malloc(sizeof *w)))) {
			atomic_fetch_sub(&watched, 1);
			fuse_reply_err(req, nonblock ? EAGAIN : ENOMEM);
			free(w);
			return;
		}
		*w = (struct waiter){NULL, req, f, f->topic_id, f->group_id, size, 0, 1, 0};
		pthread_mutex_lock(&lock);
		if (seq == before) {
			w->next = waiters;
			waiters = w; /* counted in watched since the start */
			pthread_mutex_unlock(&lock);
			break;
		}
		pthread_mutex_unlock(&lock); /* records came meanwhile: try again */
	}
	/* Busy until the callback is set, so nobody answers (and frees) req
	 * before; an interrupt already there calls it at once. */
	fuse_req_interrupt_func(req, on_interrupt, NULL);
	pthread_mutex_lock(&lock);
	w->busy = 0;
	if (w->interrupted) {
		unlink_waiter(w);
		fuse_reply_err(req, EINTR);
		free(w);
	} else if (w->ready) {
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
}

/* The thread that answers parked follow reads. */
static void *answerer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct waiter *w = waiters;
		while (w && (!w->ready || w->busy))
			w = w->next;
		if (!w) {
			pthread_cond_wait(&wake, &lock);
			continue;
		}
		w->ready = 0;
		w->busy = 1;
		uint64_t before = seq;
		pthread_mutex_unlock(&lock);
		int done = try_answer(w->req, w->f, w->size, 1);
		pthread_mutex_lock(&lock);
		w->busy = 0;
		if (done || w->interrupted) {
			unlink_waiter(w);
			if (!done)
				fuse_reply_err(w->req, EINTR);
			free(w);
		} else if (seq != before) {
			w->ready = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* --- poll(2) --- */

static struct poller *take_poller(const struct tfs_group_file *f)
{
	for (struct poller **p = &pollers; *p; p = &(*p)->next) {
		if ((*p)->f == f) {
			struct poller *found = *p;
			*p = found->next;
			atomic_fetch_sub(&watched, 1);
			return found;
		}
	}
	return NULL;
}

int tfs_groups_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct tfs_node n;
	struct tfs_group_file *f = tfs_group_file_of(fi);
	if (tfs_ino_parse(ino, &n) != 0 || (n.kind != TFS_CONSUME && n.kind != TFS_FOLLOW))
		return 0;
	if (!f) {
		/* Opened by a daemon that died: a read says EBADF. */
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLERR);
		return 1;
	}
	/* Kept with the handle: a daemon taking over wakes it (takeover.c), and
	 * the poller's next look gets POLLERR from it. */
	struct tfs_fh_slot *slot = tfs_fh_slot(f->fh);
	if (slot)
		atomic_store(&slot->poll_kh, ph ? tfs_loop_request_poll_kh() : 0);
	/* Checked and registered under the lock, which wakers take after the
	 * append committed: an append after the check finds the registration.
	 * Counted first, so that no waker skips the lock meanwhile. */
	atomic_fetch_add(&watched, 1);
	pthread_mutex_lock(&lock);
	pthread_mutex_lock(&f->lock);
	int ready = f->rest != NULL;
	pthread_mutex_unlock(&f->lock);
	if (!ready)
		ready = store_group_is_ready(tfs.store, f->group_id); /* an error: read says */
	struct poller *old = take_poller(f), *p = NULL;
	if (!ready && ph && (p = malloc(sizeof *p))) {
		*p = (struct poller){pollers, f, ph};
		pollers = p;
		atomic_fetch_add(&watched, 1);
	}
	pthread_mutex_unlock(&lock);
	atomic_fetch_sub(&watched, 1);
	if (old)
		fuse_pollhandle_destroy(old->ph);
	free(old);
	if (!p && ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, ready ? POLLIN | POLLRDNORM : 0);
	return 1;
}

/* --- waking --- */

static void wake_matching(int by_topic, uint32_t id)
{
	struct poller *woken = NULL;
	if (atomic_load(&watched) == 0)
		return;
	pthread_mutex_lock(&lock);
	seq++;
	int any = 0;
	for (struct waiter *w = waiters; w; w = w->next) {
		if ((by_topic ? w->topic_id : w->group_id) == id) {
			w->ready = 1;
			any = 1;
		}
	}
	if (any)
		pthread_cond_signal(&wake);
	for (struct poller **p = &pollers; *p;) {
		if ((by_topic ? (*p)->f->topic_id : (*p)->f->group_id) == id) {
			struct poller *x = *p;
			*p = x->next;
			x->next = woken;
			woken = x;
			atomic_fetch_sub(&watched, 1);
		} else {
			p = &(*p)->next;
		}
	}
	pthread_mutex_unlock(&lock);
	while (woken) {
		struct poller *next = woken->next;
		fuse_lowlevel_notify_poll(woken->ph);
		fuse_pollhandle_destroy(woken->ph);
		free(woken);
		woken = next;
	}
}

void tfs_groups_wake_topic(uint32_t topic_id)
{
	wake_matching(1, topic_id);
}

void tfs_groups_wake_group(uint32_t group_id)
{
	wake_matching(0, group_id);
}

void tfs_consume_forget(struct tfs_group_file *f)
{
	if (atomic_load(&watched) == 0)
		return;
	pthread_mutex_lock(&lock);
	struct poller *p = take_poller(f);
	pthread_mutex_unlock(&lock);
	if (p) {
		fuse_pollhandle_destroy(p->ph);
		free(p);
	}
}

int tfs_consume_start(void)
{
	int err = pthread_create(&thread, NULL, answerer, NULL);
	running = err == 0;
	return err;
}

void tfs_consume_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	if (running)
		pthread_join(thread, NULL);
	running = 0;
	/* The session is over: the answers go nowhere, but free the requests. */
	pthread_mutex_lock(&lock);
	struct waiter *w = waiters;
	struct poller *p = pollers;
	waiters = NULL;
	pollers = NULL;
	atomic_store(&watched, 0);
	pthread_mutex_unlock(&lock);
	while (w) {
		struct waiter *next = w->next;
		fuse_reply_buf(w->req, NULL, 0);
		free(w);
		w = next;
	}
	while (p) {
		struct poller *next = p->next;
		fuse_pollhandle_destroy(p->ph);
		free(p);
		p = next;
	}
}
