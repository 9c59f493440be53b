/* write.c — the store's changes in order: after what the WAL holds, durable as sync= says. */
#include <errno.h>

#include "store_int.h"

int store_read_begin(struct store *s, MDB_txn **txn)
{
	/* A fold that fails (a full disk) must not stop reads of what is stored. */
	store_wal_fold(s);
	return store_read_begin_raw(s, txn);
}

/* sync=always: every change is durable before the call that made it returns. */
static int sync_if_always(struct store *s)
{
	return s->sync_always && s->snap_fd >= 0 ? store_sync(s) : 0;
}

int store_write(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	if (pthread_rwlock_trywrlock(&s->wal_gate) != 0) {
		if (s->before_wait)
			s->before_wait();
		pthread_rwlock_wrlock(&s->wal_gate);
	}
	int rc = store_wal_fold(s);
	if (rc == 0)
		rc = store_write_raw(s, fn, arg, need, what);
	pthread_rwlock_unlock(&s->wal_gate);
	return rc == 0 ? sync_if_always(s) : rc;
}

int store_write_freeing(struct store *s, store_write_fn fn, void *arg, size_t need,
			const char *what)
{
	/* Deletes need not wait for appends a full disk holds back in the WAL:
	 * they come first, and appends to a deleted topic go with it. */
	store_wal_fold(s);
	int rc = store_write_raw(s, fn, arg, need, what);
	if (rc == ENOSPC && store_reserve_release(s) == 0)
		rc = store_write_raw(s, fn, arg, need, what);
	return rc == 0 ? sync_if_always(s) : rc;
}

int store_sync(struct store *s)
{
	if (s->before_wait)
		s->before_wait();
	return store_snapshot_sync(s, 0);
}
