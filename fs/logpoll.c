/* logpoll.c — poll(2) on log. A handle with nothing new to read registers the
 * kernel's poll handle here; the next append to its topic notifies it. One
 * pending poll per handle (a later poll replaces it). Appends come from the
 * store's events, whoever made them. */
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "logpoll.h"

struct waiter {
	struct waiter *next;
	const struct tfs_logview *view;
	uint32_t topic_id;
	struct fuse_pollhandle *ph;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct waiter *waiters; /* lock */
static atomic_int count;       /* waiters, read without the lock by wakers */

/* Unlinks and returns the waiter of view, or NULL (lock held). */
static struct waiter *take(const struct tfs_logview *view)
{
	for (struct waiter **w = &waiters; *w; w = &(*w)->next) {
		if ((*w)->view == view) {
			struct waiter *found = *w;
			*w = found->next;
			atomic_fetch_sub(&count, 1);
			return found;
		}
	}
	return NULL;
}

static void drop(struct waiter *w, int notify)
{
	if (!w)
		return;
	if (notify)
		fuse_lowlevel_notify_poll(w->ph);
	fuse_pollhandle_destroy(w->ph);
	free(w);
}

void tfs_poll_view(fuse_req_t req, struct tfs_logview *v, uint32_t topic_id,
		   struct fuse_pollhandle *ph)
{
	/* Checked and registered under the lock: an append that commits after
	 * the check wakes only after the registration, so it is not missed. */
	pthread_mutex_lock(&lock);
	bool ready = false;
	/* A gone partition is readable: the read then reports the error. */
	if (tfs_logview_ready(tfs.store, v, &ready) != 0)
		ready = true;
	struct waiter *old = take(v), *w = NULL;
	if (!ready && ph && (w = malloc(sizeof *w))) {
		*w = (struct waiter){waiters, v, topic_id, ph};
		waiters = w;
		atomic_fetch_add(&count, 1);
	}
	pthread_mutex_unlock(&lock);
	drop(old, 0);
	if (!w && ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, ready ? POLLIN | POLLRDNORM : 0);
}

static void wake_topic(uint32_t topic_id)
{
	struct waiter *woken = NULL;
	if (atomic_load(&count) == 0)
		return;
	pthread_mutex_lock(&lock);
	for (struct waiter **w = &waiters; *w;) {
		if ((*w)->topic_id == topic_id) {
			struct waiter *x = *w;
			*w = x->next;
			x->next = woken;
			woken = x;
			atomic_fetch_sub(&count, 1);
		} else {
			w = &(*w)->next;
		}
	}
	pthread_mutex_unlock(&lock);
	while (woken) {
		struct waiter *next = woken->next;
		drop(woken, 1);
		woken = next;
	}
}

/* The store committed a change: records to read, or a topic gone (its
 * followers read ENOENT now). Retention does not make a follower readable. */
static void on_event(const struct store_event *ev, void *arg)
{
	(void)arg;
	if (ev->kind == STORE_EVENT_APPEND || ev->kind == STORE_EVENT_QUEUED ||
	    ev->kind == STORE_EVENT_TOPIC_DELETED)
		wake_topic(ev->topic_id);
}

int tfs_poll_subscribe(struct store *s)
{
	return store_subscribe(s, on_event, NULL);
}

void tfs_poll_unsubscribe(struct store *s)
{
	store_unsubscribe(s, on_event, NULL);
}

void tfs_poll_forget(const struct tfs_logview *v)
{
	if (atomic_load(&count) == 0)
		return;
	pthread_mutex_lock(&lock);
	struct waiter *w = take(v);
	pthread_mutex_unlock(&lock);
	drop(w, 0);
}

void tfs_poll_forget_all(void)
{
	pthread_mutex_lock(&lock);
	struct waiter *w = waiters;
	waiters = NULL;
	atomic_store(&count, 0);
	pthread_mutex_unlock(&lock);
	while (w) {
		struct waiter *next = w->next;
		drop(w, 0);
		w = next;
	}
}
