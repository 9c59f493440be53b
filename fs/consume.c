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
 * itself there before it looks at the store.
 *
 * Under --supervise a read survives the daemon's death: the consume keeps
 * its request (slot, unique id) with what it committed (store.h), so a READ
 * the kernel resends is answered with the same records, read again; the
 * record a read handed out in part is named in the handle's slot (not its
 * bytes), with the read that last moved it, and read again by the next
 * daemon (tfs_consume_revive). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "consume.h"
#include "fhtable.h"
#include "logging.h"
#include "loop.h"
#include "test_die.h"

struct waiter {
	struct waiter *next;
	fuse_req_t req;
	struct tfs_group_file *f; /* valid until req is answered */
	uint32_t topic_id;        /* f's, for wakers: f may go once req is answered */
	uint32_t group_id;
	size_t size;
	uint64_t unique; /* the request's id, if it is kept (--supervise) */
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

/* A record's value and its '\n', appended to an out (store_record_scan). */
static int append_record(const struct store_record *r, void *arg)
{
	char *dst = collect(r->value_len + 1, arg);
	if (!dst)
		return ENOMEM;
	memcpy(dst, r->value, r->value_len);
	dst[r->value_len] = '\n';
	return 0;
}

/* Names f's rest in its slot: the record (gpid, offset), len bytes with its
 * '\n', off of them handed out. rest_len last: the others are valid then. */
static void slot_set_rest(struct tfs_fh_slot *slot, uint32_t gpid, uint64_t offset, size_t len,
			  size_t off)
{
	atomic_store(&slot->rest_len, 0);
	slot->rest_gpid = gpid;
	slot->rest_offset = offset;
	atomic_store(&slot->rest_unique, 0);
	atomic_store(&slot->rest_off, off);
	atomic_store(&slot->rest_len, len);
}

/* Keeps o's bytes past size as f's rest (o holds one record then: a consume
 * hands out more than the read only with its first record); f->lock held.
 * The rest is kept with the record's start, so that rest_off counts in the
 * record as the slot's does. */
static void keep_rest(struct tfs_group_file *f, struct tfs_fh_slot *slot, struct out *o,
		      size_t size, uint32_t gpid, uint64_t offset)
{
	if ((f->rest = malloc(o->len)) != NULL) {
		memcpy(f->rest, o->buf, o->len);
		f->rest_len = o->len;
		f->rest_off = size;
		f->rest_gpid = gpid;
		f->rest_offset = offset;
		if (slot)
			slot_set_rest(slot, gpid, offset, o->len, size);
	} else {
		tfs_log(LOG_ERR, "group id %u: %zu byte(s) of a committed record lost: %s",
			f->group_id, o->len - size, strerror(ENOMEM));
	}
	o->len = size;
}

/* A READ the kernel resent after the daemon died, whose consume was
 * committed: the same records are read again into o (trimmed to size, the
 * rest kept). True if so, false if req's consume was not committed (or is
 * forgotten); f->lock held. */
static bool took_resent(struct tfs_group_file *f, struct tfs_fh_slot *slot,
			const struct store_request *sr, size_t size, struct out *o)
{
	uint32_t n = 0;
	struct store_consume_range *r = malloc(STORE_PARTITIONS_MAX * sizeof(*r));
	int err = r ? store_consume_request_get(tfs.store, sr, r, STORE_PARTITIONS_MAX, &n) : ENOMEM;
	if (err)
		tfs_log(LOG_ERR, "group id %u: looking up a resent read failed: %s", f->group_id,
			strerror(err));
	if (err || n == 0) {
		free(r);
		return false;
	}
	o->len = 0;
	uint64_t records = 0, lost = 0;
	for (uint32_t i = 0; i < n && i < STORE_PARTITIONS_MAX; i++) {
		size_t before = o->len;
		int err = store_record_scan(tfs.store, r[i].gpid, r[i].from,
					    (size_t)(r[i].to - r[i].from), append_record, o);
		if (err) {
			/* Retention took them since (ERANGE), or the topic went. */
			o->len = before;
			lost += r[i].to - r[i].from;
		} else {
			records += r[i].to - r[i].from;
		}
	}
	if (lost)
		tfs_log(LOG_WARNING,
			"group id %u: a read resent after the daemon died lost %" PRIu64
			" committed record(s) removed since", f->group_id, lost);
	if (records == 0) {
		free(r);
		return false; /* nothing of it left: this read takes the next records */
	}
	tfs_log(LOG_INFO,
		"group id %u: a read resent after the daemon died gets the %" PRIu64
		" record(s) it had committed, read again", f->group_id, records);
	free(f->rest);
	f->rest = NULL;
	f->rest_len = f->rest_off = 0;
	atomic_store(&slot->rest_len, 0);
	if (o->len > size)
		keep_rest(f, slot, o, size, r[0].gpid, r[0].from);
	free(r);
	return true;
}

/* For tests/test_supervise.py (test_die.h). */
static struct tfs_test_die die_after_consume = TFS_TEST_DIE("TOPICFS_TEST_DIE_AFTER_CONSUMES");

/* Answers req from f if there is something to read: true when it replied
 * (records, EOF because the group or topic is gone, or an error), false when
 * the group has nothing for it yet. f is not touched after the reply: the
 * reader may close it at once, and its release free it. unique: the
 * request's id when it is kept (--supervise), else 0. */
static bool answered(fuse_req_t req, struct tfs_group_file *f, size_t size, int follow,
		     uint64_t unique)
{
	uint32_t gid = f->group_id;
	struct tfs_fh_slot *slot = unique ? tfs_fh_slot(f->fh) : NULL;
	struct store_request sr = {tfs_fh_index(f->fh), unique & ~TFS_UNIQUE_RESEND};
	/* A follow reply a byte short of the read: a full one makes the kernel
	 * ask for the rest of a big read() in another request, which would wait
	 * for records while the reader could have had these. */
	size_t budget = follow && size > 1 ? size - 1 : size;
	struct out o = {malloc(size), 0, size}; /* a part of a rest may take all of size */
	struct store_consumed c = {0};
	int err = o.buf ? 0 : ENOMEM;
	pthread_mutex_lock(&f->lock);
	if (!err && slot && (unique & TFS_UNIQUE_RESEND)) {
		if (took_resent(f, slot, &sr, size, &o)) {
			pthread_mutex_unlock(&f->lock);
			fuse_reply_buf(req, o.buf, o.len);
			free(o.buf);
			return true;
		}
		/* A read of the rest, resent: the same part again. */
		if (f->rest && atomic_load(&slot->rest_unique) == sr.unique)
			f->rest_off = slot->rest_prev;
	}
	if (f->rest && f->rest_off >= f->rest_len) {
		/* Kept only for a resend of the read that finished it. */
		free(f->rest);
		f->rest = NULL;
		f->rest_len = f->rest_off = 0;
	}
	if (!err && f->rest) {
		size_t n = f->rest_len - f->rest_off < size ? f->rest_len - f->rest_off : size;
		memcpy(o.buf, f->rest + f->rest_off, n);
		o.len = n;
		if (slot) {
			/* Before the reply: the next daemon finds where it was. */
			slot->rest_prev = f->rest_off;
			atomic_store(&slot->rest_unique, sr.unique);
			atomic_store(&slot->rest_off, f->rest_off + n);
		}
		f->rest_off += n;
		if (f->rest_off == f->rest_len) {
			free(f->rest);
			f->rest = NULL;
			f->rest_len = f->rest_off = 0;
		}
		pthread_mutex_unlock(&f->lock);
		if (slot)
			tfs_test_die_after(&die_after_consume);
		fuse_reply_buf(req, o.buf, o.len);
		free(o.buf);
		return true;
	}
	struct store_consume_range first = {0, 0, 0};
	if (!err)
		err = store_group_consume_req(tfs.store, gid, budget, collect, &o, &c,
					      slot ? &sr : NULL, &first);
	if (!err && o.len > size)
		keep_rest(f, slot, &o, size, first.gpid, first.from);
	else if (!err && o.len > 0 && slot)
		atomic_store(&slot->rest_len, 0); /* the rest before was all read */
	pthread_mutex_unlock(&f->lock);
	if (!err && o.len > 0 && slot)
		tfs_test_die_after(&die_after_consume);
	bool replied = true;
	if (err == ENOENT) {
		fuse_reply_buf(req, NULL, 0); /* the group or its topic is gone: EOF */
	} else if (err) {
		tfs_log(LOG_ERR, "group id %u: consume failed: %s", gid, strerror(err));
		fuse_reply_err(req, err);
	} else if (o.len == 0) {
		replied = false;
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

struct revived {
	struct out o;
	uint64_t len;
};

static int copy_record(const struct store_record *r, void *arg)
{
	struct revived *rv = arg;
	return r->value_len + 1 == rv->len ? append_record(r, &rv->o) : ESTALE;
}

void tfs_consume_revive(struct tfs_group_file *f, struct tfs_fh_slot *slot)
{
	uint64_t len = atomic_load(&slot->rest_len), off = atomic_load(&slot->rest_off);
	if (len == 0)
		return;
	struct revived rv = {{malloc(len), 0, len}, len};
	int err = rv.o.buf ? store_record_value(tfs.store, slot->rest_gpid, slot->rest_offset,
						copy_record, &rv)
			   : ENOMEM;
	if (err) {
		tfs_log(LOG_WARNING,
			"group id %u: the rest of a record a reader had in part (partition id %u "
			"offset %" PRIu64 ") is lost: %s",
			f->group_id, slot->rest_gpid, slot->rest_offset,
			err == ENOENT ? "retention removed it" : strerror(err));
		atomic_store(&slot->rest_len, 0);
		free(rv.o.buf);
		return;
	}
	f->rest = rv.o.buf;
	f->rest_len = (size_t)len;
	f->rest_off = (size_t)(off < len ? off : len);
	f->rest_gpid = slot->rest_gpid;
	f->rest_offset = slot->rest_offset;
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
	uint64_t unique = tfs.opt.supervise ? tfs_loop_request_unique() : 0;
	if (f->kind == TFS_CONSUME) {
		if (!answered(req, f, size, 0, unique))
			fuse_reply_buf(req, NULL, 0); /* caught up: EOF */
		return;
	}
	struct waiter *w = NULL;
	atomic_fetch_add(&watched, 1); /* from here on, appends wake (see the top) */
	for (;;) {
		pthread_mutex_lock(&lock);
		uint64_t before = seq;
		pthread_mutex_unlock(&lock);
		if (answered(req, f, size, 1, unique)) {
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
		*w = (struct waiter){NULL, req, f, f->topic_id, f->group_id, size, unique, 0, 1, 0};
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
		bool done = answered(w->req, w->f, w->size, 1, w->unique);
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

void tfs_consume_poll(fuse_req_t req, struct tfs_group_file *f, struct fuse_pollhandle *ph)
{
	/* Kept with the handle: a daemon taking over wakes it (takeover.c), and
	 * the poller's next look goes to that daemon. */
	struct tfs_fh_slot *slot = tfs_fh_slot(f->fh);
	if (slot)
		atomic_store(&slot->poll_kh, ph ? tfs_loop_request_poll_kh() : 0);
	/* Checked and registered under the lock, which wakers take after the
	 * append committed: an append after the check finds the registration.
	 * Counted first, so that no waker skips the lock meanwhile. */
	atomic_fetch_add(&watched, 1);
	pthread_mutex_lock(&lock);
	pthread_mutex_lock(&f->lock);
	int ready = f->rest && f->rest_off < f->rest_len;
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
