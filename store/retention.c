/* retention.c — deleting the oldest records by age (retention.ms) and size (retention.bytes). */
#include <errno.h>

#include "store_int.h"

struct retain_args {
	struct store_trim trim;
	int64_t now_ms;
};

static int retain_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct retain_args *a = arg;
	struct store_trim *tr = &a->trim;
	tr->deleted = 0;
	tr->more = false;
	struct store_part_rec p;
	struct store_topic_rec t;
	int rc = store_part_get_rec(s, txn, tr->gpid, &p);
	if (rc == 0)
		rc = store_topic_get_rec(s, txn, p.topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc; /* deleted meanwhile: nothing to do */
	/* The topic's config is read in the transaction: a change takes effect at once. */
	tr->by_time = t.retention_ms >= 0;
	tr->cutoff = INT64_MIN; /* records older than this go */
	if (tr->by_time && a->now_ms >= INT64_MIN + t.retention_ms)
		tr->cutoff = a->now_ms - t.retention_ms;
	tr->by_size = t.retention_bytes >= 0;
	tr->keep = (uint64_t)t.retention_bytes;
	return store_trim_front(s, txn, &p, tr);
}

/* Retains partition gpid to its topic's config, announcing each step. */
static int retain_partition(struct store *s, uint32_t gpid, int64_t now_ms, uint64_t *deleted)
{
	struct retain_args a = {.trim = {.gpid = gpid, .limit = STORE_TRIM_BATCHES}, .now_ms = now_ms};
	do {
		int rc = store_trim_step(s, retain_txn, &a.trim, "retention");
		if (rc)
			return rc;
		*deleted += a.trim.deleted;
		if (a.trim.deleted) {
			struct store_event ev = {STORE_EVENT_RETAIN, a.trim.topic_id, gpid,
						 a.trim.start};
			store_announce(s, &ev, 1);
		}
	} while (a.trim.more);
	return 0;
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
			if (rc == 0)
				rc = retain_partition(s, p.gpid, now_ms, &total);
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
