/* trim.c — deleting a partition's oldest batches, what retention and topic deletion share. */
#include <errno.h>
#include <string.h>

#include "batch.h"
#include "store_int.h"

static int delete_batch(struct store *s, MDB_txn *txn, MDB_cursor *c, uint32_t gpid,
			uint64_t base_pos)
{
	int rc = mdb_cursor_del(c, 0);
	if (rc)
		return rc;
	unsigned char kb[12];
	store_be32(kb, gpid);
	store_be64(kb + 4, base_pos);
	MDB_val k = {sizeof(kb), kb};
	rc = mdb_del(txn, s->positions, &k, NULL);
	return rc == MDB_NOTFOUND ? store_corrupt("retention", gpid) : rc;
}

int store_trim_front(struct store *s, MDB_txn *txn, struct store_part_rec *p,
		     struct store_trim *a)
{
	a->deleted = 0;
	a->more = false;
	uint64_t start_offset = p->start_offset;
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, s->batches, &c);
	if (rc)
		return rc;
	for (int n = 0;; n++) {
		if (n == a->limit) {
			a->more = true;
			break;
		}
		/* The partition's first batch is always its oldest retained one. */
		unsigned char kb[12];
		store_be32(kb, a->gpid);
		store_be64(kb + 4, 0);
		MDB_val k = {sizeof(kb), kb}, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (k.mv_size != sizeof(kb) || store_get_be32(k.mv_data) != a->gpid)
			break; /* no batches left */
		struct store_batch b;
		if ((rc = store_batch_decode(&b, d.mv_data, d.mv_size))) {
			rc = store_corrupt("retention", a->gpid);
			break;
		}
		uint64_t base = store_get_be64((unsigned char *)k.mv_data + 4);
		uint64_t batch_end = base + b.count;
		if (start_offset < base || start_offset > batch_end ||
		    p->start_pos < b.base_pos || p->start_pos > b.base_pos + b.data_len) {
			rc = store_corrupt("retention", a->gpid);
			break;
		}
		/* Log bytes of this batch still retained. */
		uint64_t rest = b.base_pos + b.data_len - p->start_pos;
		uint64_t live = p->end_pos - p->start_pos;
		int whole = batch_end == start_offset || (a->by_time && b.timestamp_ms < a->cutoff) ||
			    (a->by_size && live >= a->keep && live - a->keep >= rest);
		if (whole) {
			if ((rc = delete_batch(s, txn, c, a->gpid, b.base_pos)))
				break;
			a->deleted += batch_end - start_offset;
			start_offset = batch_end;
			p->start_pos += rest;
			continue;
		}
		/* Only part of this batch is beyond the bytes to keep: advance record by record. */
		while (a->by_size && p->end_pos - p->start_pos > a->keep) {
			struct store_batch_rec r;
			if ((rc = store_batch_record(&b, (uint32_t)(start_offset - base), &r)))
				break;
			p->start_pos += r.log_len;
			start_offset++;
			a->deleted++;
		}
		if (rc)
			rc = store_corrupt("retention", a->gpid);
		break;
	}
	mdb_cursor_close(c);
	a->topic_id = p->topic_id;
	a->start = start_offset;
	if (rc || start_offset == p->start_offset)
		return rc;
	p->start_offset = start_offset;
	return store_part_put_rec(s, txn, a->gpid, p);
}

int store_trim_step(struct store *s, store_write_fn fn, struct store_trim *a, const char *what)
{
	/* Deleting must work on a full disk: on ENOSPC the space reserve goes
	 * first (store_write_freeing), then the transactions get smaller (fewer
	 * pages to copy), down to one batch. */
	for (;;) {
		int rc = store_write_freeing(s, fn, a, 1 << 20, what);
		if (rc != ENOSPC || a->limit <= 1)
			return rc;
		a->limit /= 2;
	}
}
