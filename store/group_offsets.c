/* group_offsets.c — a group's committed offsets: listed, sought, caught up with retention. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "group_rec.h"

int store_group_offsets(struct store *s, uint32_t group_id, struct store_group_offset *out,
			uint32_t cap, uint32_t *count)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	struct group_rec g;
	uint32_t parts;
	*count = 0;
	rc = store_group_and_topic(s, txn, group_id, &g, &parts);
	for (uint32_t i = 0; rc == 0 && i < parts; i++) {
		struct store_group_view v;
		if ((rc = store_group_view_get(s, txn, &g, i, &v)))
			break;
		if (i < cap)
			out[i] = (struct store_group_offset){i, v.committed, v.p.start_offset,
							     v.p.end_offset};
	}
	if (rc == 0)
		*count = parts;
	store_read_end(s, txn);
	return store_errno(rc, "group offsets");
}

/* The first offset in [start, end) whose record's timestamp is >= ms; end if
 * none. A binary search over offsets, each probe one B-tree lookup of the
 * batch holding it (all records of a batch share its timestamp): O(log n)
 * probes. Exact because a partition's timestamps never decrease (appends
 * stamp at least the partition's last time, see append.c). */
static int offset_for_time(struct store *s, MDB_txn *txn, uint32_t gpid,
			   const struct store_part_rec *p, int64_t ms, uint64_t *out)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, s->batches, &c);
	if (rc)
		return rc;
	uint64_t lo = p->start_offset, hi = p->end_offset;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		unsigned char kb[12];
		MDB_val k, d;
		struct store_batch b;
		if ((rc = store_seek_floor(c, gpid, mid, kb, &k, &d)) ||
		    (rc = store_batch_head(&b, d.mv_data, d.mv_size, store_map_copy, s))) {
			rc = rc == MDB_NOTFOUND || rc == EIO ? store_corrupt("seek to time", gpid) : rc;
			break;
		}
		uint64_t base = store_get_be64((unsigned char *)k.mv_data + 4);
		if (b.timestamp_ms >= ms)
			hi = base; /* the answer is this batch's first record, or earlier */
		else
			lo = base + b.count;
	}
	mdb_cursor_close(c);
	*out = lo < p->start_offset ? p->start_offset : lo > p->end_offset ? p->end_offset : lo;
	return rc;
}

struct seek_args {
	uint32_t gid;
	uint32_t index;
	enum store_seek how;
	int64_t value;
	uint64_t committed; /* out */
	uint64_t missed;    /* out */
};

static int seek_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct seek_args *a = arg;
	struct group_rec g;
	uint32_t parts;
	struct store_group_view v;
	int rc = store_group_and_topic(s, txn, a->gid, &g, &parts);
	if (rc)
		return rc;
	if (a->index >= parts)
		return ENOENT;
	if ((rc = store_group_view_get(s, txn, &g, a->index, &v)))
		return rc;
	uint64_t start = v.p.start_offset, end = v.p.end_offset, to = v.committed;
	switch (a->how) {
	case STORE_SEEK_OFFSET:
		to = (uint64_t)a->value;
		break;
	case STORE_SEEK_EARLIEST:
		to = start;
		break;
	case STORE_SEEK_LATEST:
		to = end;
		break;
	case STORE_SEEK_SHIFT: {
		/* |value| without overflow, even for INT64_MIN. */
		uint64_t by = a->value < 0 ? (uint64_t)-(a->value + 1) + 1 : (uint64_t)a->value;
		if (a->value < 0)
			to = by > to ? 0 : to - by;
		else
			to = by > UINT64_MAX - to ? UINT64_MAX : to + by;
		break;
	}
	case STORE_SEEK_TIME:
		if ((rc = offset_for_time(s, txn, v.gpid, &v.p, a->value, &to)))
			return rc;
		break;
	default:
		return EINVAL;
	}
	/* Kafka clamps resets to the log's range. */
	to = to < start ? start : to > end ? end : to;
	a->committed = to;
	a->missed = v.missed;
	return store_group_offset_put(s, txn, a->gid, a->index, to);
}

int store_group_seek(struct store *s, uint32_t group_id, uint32_t index, enum store_seek how,
		     int64_t value, uint64_t *committed)
{
	if (how == STORE_SEEK_OFFSET && value < 0)
		return EINVAL;
	struct seek_args a = {group_id, index, how, value, 0, 0};
	int rc = store_write(s, seek_txn, &a, 64 * 1024, "group seek");
	if (rc == 0 && committed)
		*committed = a.committed;
	return rc;
}

/* --- retention passing groups --- */

struct missed {
	struct store_group g;
	uint32_t index;
	uint64_t count;
};

struct catch_up_args {
	struct missed *m;
	size_t n, cap;
};

static int catch_up_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct catch_up_args *a = arg;
	MDB_cursor *c;
	a->n = 0;
	int rc = mdb_cursor_open(txn, s->groups, &c);
	if (rc)
		return rc;
	/* Collect first: writing offsets while a cursor walks groups is fine in
	 * LMDB (another DB), but the partition count needs the topic. */
	MDB_val k, d;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		struct group_rec g;
		uint32_t parts;
		if (d.mv_size < GROUP_REC_MIN) {
			rc = EIO;
			break;
		}
		memcpy(&g, d.mv_data, sizeof(g));
		int err = store_group_and_topic(s, txn, g.id, &g, &parts);
		if (err == ENOENT)
			continue;
		if (err) {
			rc = err;
			break;
		}
		for (uint32_t i = 0; i < parts && rc == 0; i++) {
			struct store_group_view v;
			if ((rc = store_group_view_get(s, txn, &g, i, &v)) || !v.missed)
				continue;
			if ((rc = store_group_offset_put(s, txn, g.id, i, v.committed)))
				break;
			if (a->n == a->cap) {
				size_t cap = a->cap ? 2 * a->cap : 16;
				struct missed *m = realloc(a->m, cap * sizeof(*m));
				if (!m) {
					rc = ENOMEM;
					break;
				}
				a->m = m;
				a->cap = cap;
			}
			store_group_rec_to_group(&g, &a->m[a->n].g);
			a->m[a->n].index = i;
			a->m[a->n++].count = v.missed;
		}
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return rc ? rc : a->n ? 0 : STORE_GROUP_NOTHING;
}

int store_groups_catch_up(struct store *s, store_missed_fn fn, void *arg)
{
	struct catch_up_args a = {NULL, 0, 0};
	int rc = store_write_freeing(s, catch_up_txn, &a, 1 << 20, "groups catch up");
	if (rc == STORE_GROUP_NOTHING)
		rc = 0;
	for (size_t i = 0; rc == 0 && fn && i < a.n; i++)
		fn(&a.m[i].g, a.m[i].index, a.m[i].count, arg);
	free(a.m);
	return rc;
}
