/* events.c — the store announces committed changes to its subscribers. */
#include <errno.h>

#include "store_int.h"

/* Subscribers are few and come at start: a fixed table, read under a shared
 * lock by every committer, so announcing costs one uncontended rwlock. */

int store_events_init(struct store *s)
{
	atomic_init(&s->subscribers, 0);
	return pthread_rwlock_init(&s->subs_lock, NULL);
}

void store_events_destroy(struct store *s)
{
	pthread_rwlock_destroy(&s->subs_lock);
}

int store_subscribe(struct store *s, store_event_fn fn, void *arg)
{
	if (!fn)
		return EINVAL;
	int rc = ENOSPC;
	pthread_rwlock_wrlock(&s->subs_lock);
	for (int i = 0; i < STORE_SUBSCRIBERS_MAX; i++) {
		if (!s->subs[i].fn) {
			s->subs[i].fn = fn;
			s->subs[i].arg = arg;
			atomic_fetch_add(&s->subscribers, 1);
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&s->subs_lock);
	return rc;
}

void store_unsubscribe(struct store *s, store_event_fn fn, void *arg)
{
	/* Taken exclusive: once this returns, no call of fn is running. */
	pthread_rwlock_wrlock(&s->subs_lock);
	for (int i = 0; i < STORE_SUBSCRIBERS_MAX; i++) {
		if (s->subs[i].fn == fn && s->subs[i].arg == arg) {
			s->subs[i].fn = NULL;
			s->subs[i].arg = NULL;
			atomic_fetch_sub(&s->subscribers, 1);
			break;
		}
	}
	pthread_rwlock_unlock(&s->subs_lock);
}

void store_announce(struct store *s, const struct store_event *ev, size_t n)
{
	if (n == 0 || atomic_load(&s->subscribers) == 0)
		return;
	pthread_rwlock_rdlock(&s->subs_lock);
	for (int i = 0; i < STORE_SUBSCRIBERS_MAX; i++)
		if (s->subs[i].fn)
			for (size_t j = 0; j < n; j++)
				s->subs[i].fn(&ev[j], s->subs[i].arg);
	pthread_rwlock_unlock(&s->subs_lock);
}
