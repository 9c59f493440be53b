/* gpids.c — partition ids: those of deleted partitions are given out again, so the id space never runs out.
 *
 * A gpid is in use while its partition record exists. Ids below the
 * "next_gpid" mark with no record are free (their topic was deleted); they
 * are handed out again, lowest first, before the mark moves, so the ids in
 * use never exceed the partitions that exist, however many topics came and
 * went. An id the front end still has a name for (the kernel holds an inode
 * number made from it, see fs/inode.c) is skipped until it lets go: the
 * busy hook says which. A store from before reuse (holes left by deleted
 * topics) needs nothing: the holes are found the same way. */
#include <errno.h>
#include <string.h>

#include "store_int.h"

static const char MARK[] = "next_gpid";
/* Every gpid below the hint is in use: scans for free ones start there. Kept
 * in the store (a missing one is 1), so it moves with the transactions that
 * take and free ids, and is never ahead of an id an aborted one took. */
static const char HINT[] = "gpid_hint";

static int counter_get(struct store *s, MDB_txn *txn, const char *name, size_t len,
		       uint32_t *v)
{
	MDB_val k = {len, (void *)name}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof *v)
		return EIO;
	memcpy(v, d.mv_data, sizeof *v);
	return 0;
}

static int counter_put(struct store *s, MDB_txn *txn, const char *name, size_t len, uint32_t v)
{
	MDB_val k = {len, (void *)name}, d = {sizeof v, &v};
	return mdb_put(txn, s->meta, &k, &d, 0);
}

static int hint_get(struct store *s, MDB_txn *txn, uint32_t *v)
{
	int rc = counter_get(s, txn, HINT, sizeof HINT - 1, v);
	if (rc == MDB_NOTFOUND || (rc == 0 && *v == 0)) {
		*v = 1; /* a store from before the hint: scan from the start once */
		return 0;
	}
	return rc;
}

static bool is_busy(struct store *s, uint32_t gpid)
{
	return s->gpid_is_busy && s->gpid_is_busy(gpid);
}

struct taking {
	uint32_t *out;
	uint32_t have, want;
	uint32_t first_busy; /* the lowest free id skipped as busy, 0 if none */
};

/* Takes the free ids of [from, to) until t holds what it wants. */
static void take_range(struct store *s, uint32_t from, uint32_t to, struct taking *t)
{
	for (uint32_t g = from; g < to && t->have < t->want; g++) {
		if (!is_busy(s, g))
			t->out[t->have++] = g;
		else if (!t->first_busy)
			t->first_busy = g;
	}
}

int store_gpids_take(struct store *s, MDB_txn *txn, uint32_t n, uint32_t *out)
{
	uint32_t mark, hint;
	struct taking t = {out, 0, n, 0};
	int rc;
	if ((rc = counter_get(s, txn, MARK, sizeof MARK - 1, &mark)) || (rc = hint_get(s, txn, &hint)))
		return rc;
	if (mark == 0 || mark > STORE_GPID_LIMIT)
		return EIO;
	if (n == 0)
		return 0;
	MDB_stat st;
	if ((rc = mdb_stat(txn, s->partitions, &st)))
		return rc;
	/* Holes below the mark only after deletes; without any, no scan. */
	if (st.ms_entries < (size_t)mark - 1 && hint < mark) {
		MDB_cursor *c;
		if ((rc = mdb_cursor_open(txn, s->partitions, &c)))
			return rc;
		unsigned char kb[4];
		store_be32(kb, hint);
		MDB_val k = {sizeof kb, kb}, d;
		uint32_t from = hint; /* ids from here up to the next one in use are free */
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		while (rc == 0 && t.have < n && from < mark) {
			if (k.mv_size != 4) {
				rc = EIO;
				break;
			}
			uint32_t g = store_get_be32(k.mv_data);
			take_range(s, from, g < mark ? g : mark, &t);
			from = g + 1;
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
		}
		mdb_cursor_close(c);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		if (rc == MDB_NOTFOUND) /* no more in use: the rest up to the mark is free */
			take_range(s, from, mark, &t);
	}
	if (n - t.have > STORE_GPID_LIMIT - mark)
		return ENOSPC; /* this many partitions exist, or are still named */
	while (t.have < n)
		out[t.have++] = mark++;
	/* Below the highest id taken, all are in use now but skipped busy ones. */
	hint = t.first_busy ? t.first_busy : out[n - 1] + 1;
	if ((rc = counter_put(s, txn, MARK, sizeof MARK - 1, mark)))
		return rc;
	return counter_put(s, txn, HINT, sizeof HINT - 1, hint);
}

int store_gpids_freed(struct store *s, MDB_txn *txn, uint32_t gpid)
{
	uint32_t hint;
	int rc = hint_get(s, txn, &hint);
	if (rc || gpid >= hint)
		return rc;
	return counter_put(s, txn, HINT, sizeof HINT - 1, gpid);
}

void store_set_gpid_busy_hook(struct store *s, bool (*is_busy)(uint32_t gpid))
{
	s->gpid_is_busy = is_busy;
}
