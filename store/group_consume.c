/* group_consume.c — consuming: a group's next records handed out and committed in one txn. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "group_rec.h"

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

struct consume_args {
	uint32_t gid;
	size_t size;
	store_consume_fn fn;
	void *arg;
	struct store_consumed out;
	/* Under --supervise: the request, kept with what it hands out. */
	const struct store_request *req;
	struct store_consume_range *ranges; /* STORE_PARTITIONS_MAX of them */
	uint32_t nranges;
};

/* A batch this big lies in LMDB overflow pages of its own: its header, ends
 * and data are read with pread(2) rather than mapped in (a page fault per
 * 4 KiB costs more than the copy; see read.c). Smaller ones sit on the
 * B-tree leaf the cursor just read. */
#define BATCH_PREAD_MIN 2048

/* ends[] of a big batch, read a slice at a time. */
struct ends {
	uint32_t v[1024];
	uint32_t from, count; /* v holds ends[from .. from + count) */
};

static int end_of(struct store *s, const struct store_batch *b, int direct, struct ends *e,
		  uint32_t j, uint32_t *out)
{
	if (direct) {
		*out = get32(b->ends + 4 * (size_t)j);
		return 0;
	}
	if (j < e->from || j >= e->from + e->count) {
		uint32_t n = b->count - j < 1024 ? b->count - j : 1024;
		if (store_map_copy(s, b->ends + 4 * (size_t)j, e->v, 4 * (size_t)n))
			return EIO;
		e->from = j;
		e->count = n;
	}
	*out = e->v[j - e->from];
	return 0;
}

/* Hands out the records of one partition from v->committed, whole, while
 * they fit in the `left` bytes (the very first record of a consume always,
 * however long); advances v->committed. */
static int take_partition(struct store *s, MDB_txn *txn, struct consume_args *a,
			  struct store_group_view *v, size_t *left)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, s->batches, &c);
	if (rc)
		return rc;
	unsigned char kb[12];
	MDB_val k, d;
	rc = store_seek_floor(c, v->gpid, v->committed, kb, &k, &d);
	size_t mapped = 0;
	struct ends *e = NULL;
	while (rc == 0 && v->committed < v->p.end_offset && *left > 0) {
		struct store_batch b;
		int direct = d.mv_size < BATCH_PREAD_MIN;
		uint64_t base = store_get_be64((unsigned char *)k.mv_data + 4);
		if (!direct && !e && !(e = malloc(sizeof(*e)))) {
			rc = ENOMEM;
			break;
		}
		if (e)
			e->count = 0;
		if (k.mv_size != 12 || store_get_be32(k.mv_data) != v->gpid ||
		    (direct ? store_batch_decode(&b, d.mv_data, d.mv_size)
			    : store_batch_head(&b, d.mv_data, d.mv_size, store_map_copy, s)) ||
		    v->committed < base || v->committed - base >= b.count) {
			rc = store_corrupt("consume", v->gpid);
			break;
		}
		uint32_t i = (uint32_t)(v->committed - base), j = i, from = 0, to;
		if (i && end_of(s, &b, direct, e, i - 1, &from)) {
			rc = store_corrupt("consume", v->gpid);
			break;
		}
		to = from;
		/* Whole records while they fit; ends[] increase strictly. */
		while (j < b.count) {
			uint32_t end;
			if (end_of(s, &b, direct, e, j, &end) || end <= to || end > b.data_len) {
				rc = store_corrupt("consume", v->gpid);
				break;
			}
			if (end - from > *left && !(a->out.records == 0 && j == i))
				break;
			to = end;
			j++;
		}
		if (rc || j == i)
			break;
		void *dst = a->fn(to - from, a->arg);
		if (!dst) {
			rc = ENOMEM;
			break;
		}
		if (direct) {
			memcpy(dst, b.data + from, to - from);
			mapped += to - from;
		} else if (store_map_copy(s, b.data + from, dst, to - from)) {
			rc = EIO;
			break;
		}
		*left = to - from >= *left ? 0 : *left - (to - from);
		a->out.records += j - i;
		a->out.bytes += to - from;
		v->committed += j - i;
		if (j < b.count)
			break; /* the next record does not fit */
		if (v->committed < v->p.end_offset)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	free(e);
	store_count_mapped(s, mapped);
	if (rc == MDB_NOTFOUND)
		rc = store_corrupt("consume", v->gpid);
	return rc;
}

static int consume_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct consume_args *a = arg;
	struct group_rec g;
	uint32_t parts;
	memset(&a->out, 0, sizeof(a->out));
	a->nranges = 0;
	a->fn(0, a->arg); /* start over: this txn may be a rerun */
	int rc = store_group_and_topic(s, txn, a->gid, &g, &parts);
	if (rc)
		return rc;
	size_t left = a->size;
	int changed = 0;
	uint32_t first = g.rr_cursor % parts;
	int64_t first_served = -1;
	/* Each consume serves the partitions in turn from a different one
	 * (the one after the last consume's first), so none starves. */
	for (uint32_t k = 0; k < parts && left > 0; k++) {
		uint32_t idx = (first + k) % parts;
		struct store_group_view v;
		if ((rc = store_group_view_get(s, txn, &g, idx, &v)))
			return rc;
		uint64_t before = v.committed;
		a->out.missed += v.missed;
		if (v.committed < v.p.end_offset && (rc = take_partition(s, txn, a, &v, &left)))
			return rc;
		if (v.committed != before && first_served < 0)
			first_served = idx;
		if (v.committed != before && a->req)
			a->ranges[a->nranges++] =
				(struct store_consume_range){v.gpid, before, v.committed};
		if (v.committed != before || !v.stored) {
			if ((rc = store_group_offset_put(s, txn, g.id, idx, v.committed)))
				return rc;
			changed = 1;
		}
	}
	if (first_served >= 0 && parts > 1) {
		g.rr_cursor = ((uint32_t)first_served + 1) % parts;
		if ((rc = store_group_rec_put(s, txn, &g)))
			return rc;
	}
	if (a->nranges &&
	    (rc = store_consume_request_put(s, txn, a->req, a->ranges, a->nranges)))
		return rc;
	return changed ? 0 : STORE_GROUP_NOTHING;
}

int store_group_consume(struct store *s, uint32_t group_id, size_t size, store_consume_fn fn,
			void *arg, struct store_consumed *out)
{
	return store_group_consume_req(s, group_id, size, fn, arg, out, NULL, NULL);
}

int store_group_consume_req(struct store *s, uint32_t group_id, size_t size,
			    store_consume_fn fn, void *arg, struct store_consumed *out,
			    const struct store_request *req, struct store_consume_range *first)
{
	if (!fn || size == 0)
		return EINVAL;
	struct consume_args a = {group_id, size, fn, arg, {0}, req, NULL, 0};
	if (req && !(a.ranges = malloc(STORE_PARTITIONS_MAX * sizeof(*a.ranges))))
		return ENOMEM;
	int rc = store_write(s, consume_txn, &a, 64 * 1024, "consume");
	if (first)
		*first = rc == 0 && a.nranges ? a.ranges[0] : (struct store_consume_range){0, 0, 0};
	free(a.ranges);
	if (rc == STORE_GROUP_NOTHING)
		rc = 0;
	if (out)
		*out = rc == 0 ? a.out : (struct store_consumed){0};
	return rc;
}

bool store_group_is_ready(struct store *s, uint32_t group_id)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return true; /* a consume would report it at once */
	struct group_rec g;
	uint32_t parts;
	bool ready = false;
	rc = store_group_and_topic(s, txn, group_id, &g, &parts);
	for (uint32_t i = 0; rc == 0 && i < parts && !ready; i++) {
		struct store_group_view v;
		if ((rc = store_group_view_get(s, txn, &g, i, &v)) == 0)
			ready = v.committed < v.p.end_offset;
	}
	store_read_end(s, txn);
	/* An error is ready too: a consume reports it, without waiting. */
	return store_errno(rc, "group ready") != 0 || ready;
}
