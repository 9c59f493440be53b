/* retention.c — deleting the oldest records by age (retention.ms) and size (retention.bytes). */
#include <errno.h>
#include <string.h>

#include "batch.h"
#include "store_int.h"

/* Batches deleted per write txn, so appends never wait long behind retention. */
#define RETAIN_BATCHES_PER_TXN 1024

struct retain_args {
	uint32_t gpid;
	int64_t now_ms;
	int purge;        /* delete every batch, whatever the config */
	int limit;        /* batches per txn */
	uint64_t deleted; /* out: records deleted by this txn */
	uint32_t topic_id; /* out: the partition's topic */
	uint64_t start;   /* out: the partition's start after this txn */
	int more;         /* out: stopped at the per-txn limit */
};

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

static int retain_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct retain_args *a = arg;
	a->deleted = 0;
	a->more = 0;
	struct store_part_rec p;
	struct store_topic_rec t;
	int rc = store_part_get_rec(s, txn, a->gpid, &p);
	if (rc == 0)
		rc = store_topic_get_rec(s, txn, p.topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc; /* deleted meanwhile: nothing to do */

	int by_time = t.retention_ms >= 0 && !a->purge;
	int64_t cutoff = INT64_MIN; /* records older than this go */
	if (by_time && a->now_ms >= INT64_MIN + t.retention_ms)
		cutoff = a->now_ms - t.retention_ms;
	int by_size = t.retention_bytes >= 0 || a->purge;
	uint64_t keep = a->purge ? 0 : (uint64_t)t.retention_bytes;
	uint64_t start_offset = p.start_offset;

	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, s->batches, &c)))
		return rc;
	for (int n = 0;; n++) {
		if (n == a->limit) {
			a->more = 1;
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
		    p.start_pos < b.base_pos || p.start_pos > b.base_pos + b.data_len) {
			rc = store_corrupt("retention", a->gpid);
			break;
		}
		/* Log bytes of this batch still retained. */
		uint64_t rest = b.base_pos + b.data_len - p.start_pos;
		uint64_t live = p.end_pos - p.start_pos;
		int whole = batch_end == start_offset || (by_time && b.timestamp_ms < cutoff) ||
			    (by_size && live >= keep && live - keep >= rest);
		if (whole) {
			if ((rc = delete_batch(s, txn, c, a->gpid, b.base_pos)))
				break;
			a->deleted += batch_end - start_offset;
			start_offset = batch_end;
			p.start_pos += rest;
			continue;
		}
		/* Only part of this batch is beyond retention.bytes: advance record by record. */
		while (by_size && p.end_pos - p.start_pos > keep) {
			struct store_batch_rec r;
			if ((rc = store_batch_record(&b, (uint32_t)(start_offset - base), &r)))
				break;
			p.start_pos += r.log_len;
			start_offset++;
			a->deleted++;
		}
		if (rc)
			rc = store_corrupt("retention", a->gpid);
		break;
	}
	mdb_cursor_close(c);
	a->topic_id = p.topic_id;
	a->start = start_offset;
	if (rc || start_offset == p.start_offset)
		return rc;
	p.start_offset = start_offset;
	return store_part_put_rec(s, txn, a->gpid, &p);
}

/* Runs retain_txn until it is done. Deleting must work on a full disk: on
 * ENOSPC the space reserve goes first, then the transactions get smaller
 * (fewer pages to copy), down to one batch. */
static int retain_partition(struct store *s, struct retain_args *a, uint64_t *deleted)
{
	a->limit = RETAIN_BATCHES_PER_TXN;
	for (;;) {
		int rc = store_write_freeing(s, retain_txn, a, 1 << 20,
					     a->purge ? "delete topic" : "retention");
		if (rc == ENOSPC && a->limit > 1) {
			a->limit /= 2;
			continue;
		}
		if (rc)
			return rc;
		*deleted += a->deleted;
		if (a->deleted && !a->purge) {
			struct store_event ev = {STORE_EVENT_RETAIN, a->topic_id, a->gpid, a->start};
			store_announce(s, &ev, 1);
		}
		if (!a->more)
			return 0;
	}
}

int store_purge_partition(struct store *s, uint32_t gpid)
{
	struct retain_args a = {.gpid = gpid, .purge = 1};
	uint64_t deleted = 0;
	return retain_partition(s, &a, &deleted);
}

int store_retention_run(struct store *s, int64_t now_ms, uint64_t *deleted)
{
	uint64_t total = 0;
	struct store_topic t;
	uint32_t after = 0;
	int rc;
	store_reserve_make(s); /* again, if a full disk took it and there is room now */
	while ((rc = store_topic_next(s, after, &t)) == 0) {
		after = t.id;
		if (t.config.retention_ms < 0 && t.config.retention_bytes < 0)
			continue;
		for (uint32_t i = 0; i < t.config.partitions && rc == 0; i++) {
			struct store_partition p;
			rc = store_partition_find(s, t.id, i, &p);
			struct retain_args a = {.gpid = p.gpid, .now_ms = now_ms};
			if (rc == 0)
				rc = retain_partition(s, &a, &total);
			else if (rc == ENOENT)
				rc = 0; /* topic deleted meanwhile */
		}
		if (rc)
			break;
	}
	if (deleted)
		*deleted = total;
	return rc == ENOENT ? 0 : rc;
}
