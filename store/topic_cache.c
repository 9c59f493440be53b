/* topic_cache.c — topic records kept in memory for the write path.
 *
 * Each write() checks its topic's config (fs/produce.c through
 * store_topic_by_id, then wal.c's check_topic): two LMDB read transactions for a few hundred bytes that
 * change only with a mkdir, a config write or a delete, about a tenth of
 * what a small write costs the daemon. Every commit bumps topic_gen
 * (store_topics_changed in store_int.h, after mdb_txn_commit and before the call that made
 * it returns); a slot is good only for the generation it was read in, and a
 * filler reads the generation before it begins its transaction, so a slot
 * never holds a record older than its tag. Folds commit too (the round-robin
 * cursor): that costs one miss per fold, not a stale record. */
#include <string.h>

#include "store_int.h"

static void slot_lock(struct store_topic_slot *t)
{
	while (atomic_flag_test_and_set_explicit(&t->busy, memory_order_acquire))
		;
}

static void slot_unlock(struct store_topic_slot *t)
{
	atomic_flag_clear_explicit(&t->busy, memory_order_release);
}

int store_topic_rec_cached(struct store *s, uint32_t id, struct store_topic_rec *out)
{
	struct store_topic_slot *t = &s->topic_cache[id % STORE_TOPIC_CACHE];
	uint64_t gen = atomic_load(&s->topic_gen);
	slot_lock(t);
	int hit = t->full && t->id == id && t->gen == gen;
	if (hit)
		*out = t->rec;
	slot_unlock(t);
	if (hit)
		return 0;

	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	rc = store_topic_get_rec(s, txn, id, out);
	store_read_end(s, txn);
	if (rc)
		return rc; /* an MDB code, as store_topic_get_rec's */
	slot_lock(t);
	t->rec = *out;
	t->id = id;
	t->gen = gen;
	t->full = 1;
	slot_unlock(t);
	return 0;
}
