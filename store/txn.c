/* txn.c — LMDB transactions: read and write ones, the map grown when it is full. */
#include <errno.h>
#include <stdint.h>

#include "store_int.h"

/* --- transactions and map growth --- */

int store_map_refresh(struct store *s)
{
	MDB_envinfo info;
	int rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		s->map_size = info.me_mapsize;
	store_map_locate(s);
	return rc;
}

/* Called with no transaction of ours open. `seen` is the size the failed txn
 * ran with: if another thread grew the map meanwhile, just retry. */
static int map_grow(struct store *s, size_t seen, size_t need)
{
	int rc = 0;
	pthread_rwlock_wrlock(&s->map_lock);
	if (s->map_size == seen) {
		size_t add = seen > need ? seen : need;
		if (add > SIZE_MAX / 2 - seen) {
			rc = ENOSPC;
		} else {
			size_t size = seen + add;
			size = (size + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
			rc = mdb_env_set_mapsize(s->env, size);
			if (rc == 0)
				rc = store_map_refresh(s);
		}
	}
	pthread_rwlock_unlock(&s->map_lock);
	return rc;
}

/* Begins a txn holding map_lock shared; on failure the lock is not held. */
static int txn_begin(struct store *s, unsigned flags, MDB_txn **txn, size_t *map_size)
{
	for (;;) {
		pthread_rwlock_rdlock(&s->map_lock);
		int rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0) {
			if (map_size)
				*map_size = s->map_size;
			return 0;
		}
		pthread_rwlock_unlock(&s->map_lock);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map (cannot happen while we hold the
		 * directory lock, but LMDB asks us to adopt its size). */
		pthread_rwlock_wrlock(&s->map_lock);
		rc = mdb_env_set_mapsize(s->env, 0);
		if (rc == 0)
			rc = store_map_refresh(s);
		pthread_rwlock_unlock(&s->map_lock);
		if (rc)
			return rc;
	}
}

int store_read_begin_raw(struct store *s, MDB_txn **txn)
{
	return store_errno(txn_begin(s, MDB_RDONLY, txn, NULL), "begin read txn");
}

void store_read_end(struct store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->map_lock);
}

static int write_txn(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	for (;;) {
		MDB_txn *txn;
		size_t seen;
		int rc = txn_begin(s, 0, &txn, &seen);
		if (rc)
			return store_errno(rc, what);
		rc = fn(s, txn, arg);
		int committing = rc == 0;
		if (committing)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&s->map_lock);
		if (committing)
			store_topics_changed(s); /* the topic cache's records are stale */
		if (committing && rc != MDB_MAP_FULL)
			return store_commit_errno(s, rc, need, what);
		if (rc != MDB_MAP_FULL)
			return store_errno(rc, what);
		rc = map_grow(s, seen, need);
		if (rc)
			return store_errno(rc, "grow map");
	}
}

int store_write_raw(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	/* LMDB has one writer at a time: with another one in, this one waits. */
	if (atomic_fetch_add(&s->writers, 1) > 0 && s->before_wait)
		s->before_wait();
	int rc = write_txn(s, fn, arg, need, what);
	atomic_fetch_sub(&s->writers, 1);
	/* A commit copies the B-tree pages it changes into new ones (the synced
	 * snapshot's stay pinned, snapshot.c) and the next one reads those
	 * through the map, each fault mapping 64 KiB around it (fresh records,
	 * mostly): unmap them now and then, as log reads do. */
	if (rc == 0 && atomic_fetch_add(&s->commits, 1) % STORE_UNMAP_COMMITS == 0)
		store_unmap_pages(s);
	return rc;
}

void store_set_wait_hook(struct store *s, void (*fn)(void))
{
	s->before_wait = fn;
}
