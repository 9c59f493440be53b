/* append.c — appending records: routing, batching, all records of a call in one transaction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "store_int.h"

struct append_args {
	uint32_t topic_id;
	const struct store_record_in *recs;
	size_t n;
	int64_t fixed;  /* -1: route each record; else the partition all go to */
	uint32_t *part; /* [n] partition of each record */
	size_t *order;  /* [n] record indexes grouped by partition, in input order */
	size_t *first;  /* [STORE_PARTITIONS_MAX + 1] start of each group in order */
	int64_t now;    /* the records' timestamp */
	struct store_event *ev; /* out: one per partition appended to, announced after commit */
	size_t nev;
};

/* Writes the records recs[idx[0..n-1]] as one batch at the partition's end. */
static int put_batch(struct store *s, MDB_txn *txn, uint32_t gpid, struct store_part_rec *p,
		     const struct store_record_in *recs, const size_t *idx, size_t n, int64_t now)
{
	unsigned char kb[12];
	store_be32(kb, gpid);
	store_be64(kb + 4, p->end_offset);
	MDB_val k = {sizeof(kb), kb}, d = {store_batch_size(recs, idx, n), NULL};
	int rc = mdb_put(txn, s->batches, &k, &d, MDB_RESERVE | MDB_NOOVERWRITE);
	if (rc)
		return rc == MDB_KEYEXIST ? EIO : rc;
	uint64_t log_bytes = store_batch_encode(d.mv_data, recs, idx, n, now, p->end_pos);

	store_be64(kb + 4, p->end_pos);
	uint64_t base = p->end_offset;
	MDB_val pd = {sizeof(base), &base};
	rc = mdb_put(txn, s->positions, &k, &pd, MDB_NOOVERWRITE);
	if (rc)
		return rc == MDB_KEYEXIST ? EIO : rc;
	p->end_offset += n;
	p->end_pos += log_bytes;
	return 0;
}

/* Appends one partition's group, cut into batches of about STORE_BATCH_TARGET. */
static int append_group(struct store *s, MDB_txn *txn, uint32_t topic_id, uint32_t index,
			const struct store_record_in *recs, const size_t *idx, size_t n, int64_t now,
			struct store_event *ev)
{
	uint32_t gpid;
	struct store_part_rec p;
	int rc = store_part_gpid(s, txn, topic_id, index, &gpid);
	if (rc == 0)
		rc = store_part_get_rec(s, txn, gpid, &p);
	if (rc)
		return rc == MDB_NOTFOUND ? EIO : rc;
	/* A partition's timestamps never decrease, even if the clock steps back:
	 * retention by time and seeking to a time rely on that order. */
	if (now < p.last_append_ms)
		now = p.last_append_ms;
	size_t j = 0;
	while (j < n) {
		size_t k = j, bytes = 0;
		while (k < n) {
			const struct store_record_in *r = &recs[idx[k]];
			size_t sz = STORE_BATCH_REC_OVERHEAD + r->value_len + (r->key ? r->key_len : 0);
			if (k > j && bytes + sz > STORE_BATCH_TARGET)
				break;
			bytes += sz;
			k++;
		}
		if ((rc = put_batch(s, txn, gpid, &p, recs, idx + j, k - j, now)))
			return rc;
		j = k;
	}
	p.last_append_ms = now;
	*ev = (struct store_event){STORE_EVENT_APPEND, topic_id, gpid, p.end_offset};
	return store_part_put_rec(s, txn, gpid, &p);
}

static int append_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct append_args *a = arg;
	struct store_topic_rec t;
	a->nev = 0; /* the txn may run again after the map grew */
	int rc = store_topic_get_rec(s, txn, a->topic_id, &t);
	if (rc)
		return rc;
	if (t.partitions < 1 || t.partitions > STORE_PARTITIONS_MAX)
		return EIO;
	for (size_t i = 0; i < a->n; i++)
		if (a->recs[i].value_len > (uint64_t)t.max_message_bytes)
			return EMSGSIZE;

	/* Route, then group by partition keeping input order (a counting sort). */
	uint64_t cursor = t.rr_cursor;
	memset(a->first, 0, (t.partitions + 1) * sizeof(*a->first));
	if (a->fixed >= (int64_t)t.partitions)
		return ENOENT;
	for (size_t i = 0; i < a->n; i++) {
		const struct store_record_in *r = &a->recs[i];
		if (a->fixed >= 0)
			a->part[i] = (uint32_t)a->fixed; /* named by the producer: keys do not route */
		else if (r->key)
			a->part[i] = store_partition_for_key(r->key, r->key_len, t.partitions);
		else if (t.partitions > 1)
			a->part[i] = (uint32_t)(cursor++ % t.partitions);
		else
			a->part[i] = 0; /* the cursor stays: no topic record to rewrite */
		a->first[a->part[i] + 1]++;
	}
	for (uint32_t p = 0; p < t.partitions; p++)
		a->first[p + 1] += a->first[p];
	for (size_t i = 0; i < a->n; i++)
		a->order[a->first[a->part[i]]++] = i;
	/* first[p] is now the end of group p, i.e. the start of group p + 1. */

	int64_t now = a->now;
	size_t begin = 0;
	for (uint32_t p = 0; p < t.partitions; p++) {
		size_t end = a->first[p];
		if (end > begin &&
		    (rc = append_group(s, txn, t.id, p, a->recs, a->order + begin, end - begin, now,
				       &a->ev[a->nev++])))
			return rc;
		begin = end;
	}
	if (cursor != t.rr_cursor) {
		t.rr_cursor = cursor;
		rc = store_topic_put_rec(s, txn, &t);
	}
	return rc;
}

int store_append_check(const struct store_record_in *recs, size_t n, size_t *need)
{
	*need = 1 << 20;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].key && recs[i].key_len > STORE_KEY_MAX)
			return EINVAL;
		if (!recs[i].value && recs[i].value_len)
			return EINVAL;
		/* Values beyond the configured limit fail against the topic's
		 * config; this only keeps the size arithmetic from overflowing. */
		if (recs[i].value_len > STORE_MESSAGE_MAX)
			return EMSGSIZE;
		*need += 2 * (STORE_BATCH_REC_OVERHEAD + recs[i].value_len +
			      (recs[i].key ? recs[i].key_len : 0));
	}
	return 0;
}

/* Runs the append in txn (no commit); fn is append_txn or a caller's wrapper. */
static int with_args(uint32_t topic_id, int64_t fixed, const struct store_record_in *recs,
		     size_t n, int64_t now, int (*fn)(struct append_args *a, void *ctx), void *ctx)
{
	struct append_args a = {.topic_id = topic_id, .recs = recs, .n = n, .fixed = fixed,
				.now = now};
	a.part = malloc(n * sizeof(*a.part));
	a.order = malloc(n * sizeof(*a.order));
	a.first = malloc((STORE_PARTITIONS_MAX + 1) * sizeof(*a.first));
	a.ev = malloc((n < STORE_PARTITIONS_MAX ? n : STORE_PARTITIONS_MAX) * sizeof(*a.ev));
	int rc = ENOMEM;
	if (a.part && a.order && a.first && a.ev)
		rc = fn(&a, ctx);
	free(a.ev);
	free(a.part);
	free(a.order);
	free(a.first);
	return rc;
}

int store_events_add(struct store_events *l, const struct store_event *ev, size_t n)
{
	if (l->n + n > l->cap) {
		size_t cap = l->cap ? l->cap : 16;
		while (cap < l->n + n)
			cap *= 2;
		struct store_event *p = realloc(l->ev, cap * sizeof(*p));
		if (!p)
			return ENOMEM;
		l->ev = p;
		l->cap = cap;
	}
	memcpy(l->ev + l->n, ev, n * sizeof(*ev));
	l->n += n;
	return 0;
}

struct in_txn {
	struct store *s;
	MDB_txn *txn;
	struct store_events *out;
};

static int run_in_txn(struct append_args *a, void *ctx)
{
	struct in_txn *t = ctx;
	int rc = append_txn(t->s, t->txn, a);
	return rc ? rc : store_events_add(t->out, a->ev, a->nev);
}

int store_append_in_txn(struct store *s, MDB_txn *txn, uint32_t topic_id, int64_t fixed,
			const struct store_record_in *recs, size_t n, int64_t now,
			struct store_events *out)
{
	if (n == 0)
		return 0;
	struct in_txn t = {s, txn, out};
	return with_args(topic_id, fixed, recs, n, now, run_in_txn, &t);
}
