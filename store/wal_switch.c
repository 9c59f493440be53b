/* wal_switch.c — the WAL at a sync: held still while the snapshot is taken, then its files switch.
 *
 * A sync (snapshot.c) holds the gate exclusively and folds, so the snapshot
 * it makes durable has every entry appended so far; after it, appends go to
 * the other file, which is emptied first, once a durable snapshot holds all
 * that file had (see wal.c's top comment). */
#include <pthread.h>

#include "wal_int.h"

uint64_t store_wal_hold(struct store *s)
{
	pthread_rwlock_wrlock(&s->wal_gate);
	store_wal_fold(s);
	return atomic_load(&s->wal_folded);
}

void store_wal_release(struct store *s, int pinned)
{
	/* The other file may be reused once a durable snapshot holds all it has. */
	if (pinned && s->wal_fd[0] >= 0 && s->wal_durable_lsn >= s->wal_switch_lsn) {
		pthread_mutex_lock(&s->wal_lock);
		int other = s->wal_cur ^ 1;
		if (store_wal_file_reset(s, other) == 0) {
			s->wal_cur = other;
			s->wal_off = 0;
			s->wal_switch_lsn = s->wal_lsn;
		}
		pthread_mutex_unlock(&s->wal_lock);
	}
	pthread_rwlock_unlock(&s->wal_gate);
}

void store_wal_durable(struct store *s, uint64_t lsn)
{
	s->wal_durable_lsn = lsn;
}
