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

static int mark_get(struct store *s, MDB_txn *txn, uint32_t *v)
{
	MDB_val k = {sizeof MARK - 1, (void *)MARK}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof *v)
		return EIO;
	memcpy(v, d.mv_data, sizeof *v);
	return 0;
}

static int mark_put(struct store *s, MDB_txn *txn, uint32_t v)
{
	MDB_val k = {sizeof MARK - 1, (void *)MARK}, d = {sizeof v, &v};
	return mdb_put(txn, s->meta, &k, &d, 0);
}

static int is_free(struct store *s, uint32_t gpid)
{
	return !s->gpid_is_busy || !s->gpid_is_busy(gpid);
}

/* Adds the free ids of [from, to) to out until it holds n; returns how many it holds. */
static uint32_t take_range(struct store *s, uint32_t from, uint32_t to, uint32_t *out,
			   uint32_t have, uint32_t n)
{
	for (uint32_t g = from; g < to && have < n; g++)
		if (is_free(s, g))
			out[have++] = g;
	return have;
}

int store_gpids_take(struct store *s, MDB_txn *txn, uint32_t n, uint32_t *out)
{
	uint32_t mark, have = 0;
	int rc = mark_get(s, txn, &mark);
	if (rc)
		return rc;
	if (mark == 0 || mark > STORE_GPID_LIMIT)
		return EIO;
	MDB_stat st;
	if ((rc = mdb_stat(txn, s->partitions, &st)))
		return rc;
	/* Holes below the mark only after deletes; without any, no scan. */
	if (st.ms_entries < (size_t)mark - 1 && n > 0) {
		MDB_cursor *c;
		if ((rc = mdb_cursor_open(txn, s->partitions, &c)))
			return rc;
		uint32_t after = 0; /* the last id in use seen */
		MDB_val k, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		while (rc == 0 && have < n) {
			if (k.mv_size != 4) {
				rc = EIO;
				break;
			}
			uint32_t g = store_get_be32(k.mv_data);
			have = take_range(s, after + 1, g < mark ? g : mark, out, have, n);
			after = g;
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
		}
		mdb_cursor_close(c);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		if (rc == MDB_NOTFOUND) /* all in use seen: the rest up to the mark is free */
			have = take_range(s, after + 1, mark, out, have, n);
	}
	if (n - have > STORE_GPID_LIMIT - mark)
		return ENOSPC; /* this many partitions exist, or are still named */
	while (have < n)
		out[have++] = mark++;
	return mark_put(s, txn, mark);
}

void store_set_gpid_busy_hook(struct store *s, bool (*is_busy)(uint32_t gpid))
{
	s->gpid_is_busy = is_busy;
}
