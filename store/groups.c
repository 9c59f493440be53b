/* groups.c — consumer groups: their names, ids and committed offsets, consuming, seeking.
 *
 * Three databases:
 *   groups        group id (u32 BE) -> struct group_rec
 *   group_names   (topic id u32 BE, name bytes) -> group id (u32)
 *   group_offsets (group id u32 BE, partition index u32 BE) -> committed offset (u64)
 * plus "next_group" in meta. Group ids are global and never reused, so the
 * FUSE layer packs them into inode numbers, as it does topic ids and gpids.
 * A partition with no committed entry (a group made before the partition
 * existed) reads as the partition's start: Kafka's auto.offset.reset=earliest.
 *
 * Consuming hands out records and commits the new offsets in one write
 * transaction, which LMDB serialises: readers of one group never get the same
 * record, and a record handed out is never handed out again (at most once).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "store_int.h"

#define GROUP_REC_VERSION 1u

/* Stored group record; `size` as in store_topic_rec, so fields can be added. */
struct group_rec {
	uint32_t version;
	uint32_t size;
	uint32_t id;
	uint32_t topic_id;
	int64_t created_ms;
	uint32_t rr_cursor; /* the partition the next consume serves first */
	char name[STORE_TOPIC_NAME_MAX + 1];
	char pad[2];
};
_Static_assert(sizeof(struct group_rec) == 280, "group record has implicit padding");

#define GROUP_REC_MIN sizeof(struct group_rec)

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void rec_to_group(const struct group_rec *r, struct store_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = r->id;
	g->topic_id = r->topic_id;
	g->created_ms = r->created_ms;
	memcpy(g->name, r->name, sizeof(g->name));
	g->name[STORE_TOPIC_NAME_MAX] = '\0';
}

static int group_get(struct store *s, MDB_txn *txn, uint32_t id, struct group_rec *r)
{
	unsigned char kb[4];
	store_be32(kb, id);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->groups, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size < GROUP_REC_MIN)
		return EIO;
	memcpy(r, d.mv_data, sizeof(*r));
	return 0;
}

static int group_put(struct store *s, MDB_txn *txn, const struct group_rec *r)
{
	unsigned char kb[4];
	store_be32(kb, r->id);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*r), (void *)r};
	return mdb_put(txn, s->groups, &k, &d, 0);
}

/* (topic id, name) key for group_names into kb (4 + STORE_TOPIC_NAME_MAX bytes). */
static MDB_val name_key(unsigned char *kb, uint32_t topic_id, const char *name, size_t len)
{
	store_be32(kb, topic_id);
	memcpy(kb + 4, name, len);
	return (MDB_val){4 + len, kb};
}

/* The stored committed offset of (group, index): 0 and *found = 0 if none. */
static int offset_get(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index, uint64_t *v,
		      int *found)
{
	unsigned char kb[8];
	store_be32(kb, gid);
	store_be32(kb + 4, index);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->group_offsets, &k, &d);
	*found = 0;
	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (d.mv_size != sizeof(*v))
		return EIO;
	memcpy(v, d.mv_data, sizeof(*v));
	*found = 1;
	return 0;
}

static int offset_put(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index, uint64_t v)
{
	unsigned char kb[8];
	store_be32(kb, gid);
	store_be32(kb + 4, index);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(v), &v};
	return mdb_put(txn, s->group_offsets, &k, &d, 0);
}

/* Deletes every key of dbi that starts with the 4 bytes of prefix. */
static int delete_prefix(MDB_txn *txn, MDB_dbi dbi, uint32_t prefix)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	unsigned char kb[4];
	store_be32(kb, prefix);
	MDB_val k = {sizeof(kb), kb}, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, kb, 4) == 0) {
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		/* After a delete, MDB_NEXT yields the key that followed it. */
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* One partition of a group as seen inside a txn: the committed offset, raised
 * to the partition's start if retention passed it (*missed says by how much). */
struct view {
	uint32_t gpid;
	struct store_part_rec p;
	uint64_t committed;
	uint64_t missed;
	int stored; /* committed is what is stored (nothing to write back) */
};

static int view_get(struct store *s, MDB_txn *txn, const struct group_rec *g, uint32_t index,
		    struct view *v)
{
	int found, rc = store_part_gpid(s, txn, g->topic_id, index, &v->gpid);
	if (rc == 0)
		rc = store_part_get_rec(s, txn, v->gpid, &v->p);
	if (rc == 0)
		rc = offset_get(s, txn, g->id, index, &v->committed, &found);
	if (rc)
		return rc == MDB_NOTFOUND ? EIO : rc;
	v->missed = 0;
	v->stored = found;
	if (!found) {
		v->committed = v->p.start_offset; /* never committed: earliest */
	} else if (v->committed < v->p.start_offset) {
		v->missed = v->p.start_offset - v->committed;
		v->committed = v->p.start_offset;
		v->stored = 0;
	} else if (v->committed > v->p.end_offset) {
		v->committed = v->p.end_offset; /* cannot happen; never hand out the future */
		v->stored = 0;
	}
	return 0;
}

/* The group of id, and its topic's partition count. ENOENT: group or topic gone. */
static int group_and_topic(struct store *s, MDB_txn *txn, uint32_t gid, struct group_rec *g,
			   uint32_t *partitions)
{
	struct store_topic_rec t;
	int rc = group_get(s, txn, gid, g);
	if (rc == 0)
		rc = store_topic_get_rec(s, txn, g->topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? ENOENT : rc;
	if (t.partitions < 1 || t.partitions > STORE_PARTITIONS_MAX)
		return EIO;
	*partitions = t.partitions;
	return 0;
}

/* --- create, delete, look up --- */

struct create_args {
	uint32_t topic_id;
	const char *name;
	size_t len;
	struct group_rec rec; /* out */
};

static int create_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct create_args *a = arg;
	struct store_topic_rec t;
	int rc = store_topic_get_rec(s, txn, a->topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? ENOENT : rc;
	unsigned char kb[4 + STORE_TOPIC_NAME_MAX];
	MDB_val k = name_key(kb, a->topic_id, a->name, a->len), d;
	if ((rc = mdb_get(txn, s->group_names, &k, &d)) == 0)
		return EEXIST;
	if (rc != MDB_NOTFOUND)
		return rc;

	/* Stores from before groups have no counter yet: ids start at 1. */
	uint32_t id = 1;
	MDB_val mk = {strlen("next_group"), "next_group"}, md;
	rc = mdb_get(txn, s->meta, &mk, &md);
	if (rc == 0 && md.mv_size == sizeof(id))
		memcpy(&id, md.mv_data, sizeof(id));
	else if (rc != MDB_NOTFOUND)
		return rc ? rc : EIO;
	if (id == 0 || id == UINT32_MAX)
		return ENOSPC;
	uint32_t next = id + 1;
	md = (MDB_val){sizeof(next), &next};
	if ((rc = mdb_put(txn, s->meta, &mk, &md, 0)))
		return rc;

	struct group_rec *r = &a->rec;
	memset(r, 0, sizeof(*r));
	r->version = GROUP_REC_VERSION;
	r->size = sizeof(*r);
	r->id = id;
	r->topic_id = a->topic_id;
	r->created_ms = store_now_ms();
	memcpy(r->name, a->name, a->len);
	d = (MDB_val){sizeof(id), &id};
	if ((rc = mdb_put(txn, s->group_names, &k, &d, 0)) || (rc = group_put(s, txn, r)))
		return rc;
	/* A new group starts at each partition's start as it is now, so what
	 * retention removes from here on counts as missed. */
	for (uint32_t i = 0; i < t.partitions; i++) {
		uint32_t gpid;
		struct store_part_rec p;
		if ((rc = store_part_gpid(s, txn, a->topic_id, i, &gpid)) ||
		    (rc = store_part_get_rec(s, txn, gpid, &p)) ||
		    (rc = offset_put(s, txn, id, i, p.start_offset)))
			return rc == MDB_NOTFOUND ? EIO : rc;
	}
	return 0;
}

int store_group_create(struct store *s, uint32_t topic_id, const char *name,
		       struct store_group *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return EINVAL;
	struct create_args a = {topic_id, name, len, {0}};
	int rc = store_write(s, create_txn, &a, 64 * 1024, "create group");
	if (rc == 0 && out)
		rec_to_group(&a.rec, out);
	return rc;
}

/* Deletes group gid's record and offsets (its name entry is the caller's). */
static int drop_group(struct store *s, MDB_txn *txn, uint32_t gid)
{
	unsigned char kb[4];
	store_be32(kb, gid);
	MDB_val k = {sizeof(kb), kb};
	int rc = mdb_del(txn, s->groups, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	return delete_prefix(txn, s->group_offsets, gid);
}

struct delete_args {
	uint32_t topic_id;
	const char *name;
	size_t len;
	uint32_t id; /* out */
};

static int delete_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct delete_args *a = arg;
	unsigned char kb[4 + STORE_TOPIC_NAME_MAX];
	MDB_val k = name_key(kb, a->topic_id, a->name, a->len), d;
	int rc = mdb_get(txn, s->group_names, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(a->id))
		return EIO;
	memcpy(&a->id, d.mv_data, sizeof(a->id));
	if ((rc = drop_group(s, txn, a->id)))
		return rc;
	return mdb_del(txn, s->group_names, &k, NULL);
}

int store_group_delete(struct store *s, uint32_t topic_id, const char *name, uint32_t *id)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return ENOENT;
	struct delete_args a = {topic_id, name, len, 0};
	int rc = store_write_freeing(s, delete_txn, &a, 64 * 1024, "delete group");
	if (rc == 0 && id)
		*id = a.id;
	return rc;
}

int store_groups_drop_topic(struct store *s, MDB_txn *txn, uint32_t topic_id)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, s->group_names, &c);
	if (rc)
		return rc;
	unsigned char kb[4];
	store_be32(kb, topic_id);
	MDB_val k = {sizeof(kb), kb}, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, kb, 4) == 0) {
		uint32_t gid;
		if (d.mv_size != sizeof(gid)) {
			rc = EIO;
			break;
		}
		memcpy(&gid, d.mv_data, sizeof(gid));
		if ((rc = drop_group(s, txn, gid)) || (rc = mdb_cursor_del(c, 0)))
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_group_by_name(struct store *s, uint32_t topic_id, const char *name,
			struct store_group *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	unsigned char kb[4 + STORE_TOPIC_NAME_MAX];
	MDB_val k = name_key(kb, topic_id, name, len), d;
	rc = mdb_get(txn, s->group_names, &k, &d);
	if (rc == 0) {
		uint32_t id;
		struct group_rec r;
		if (d.mv_size != sizeof(id)) {
			rc = EIO;
		} else {
			memcpy(&id, d.mv_data, sizeof(id));
			if ((rc = group_get(s, txn, id, &r)) == 0 && out)
				rec_to_group(&r, out);
		}
	}
	store_read_end(s, txn);
	return store_errno(rc, "group by name");
}

int store_group_by_id(struct store *s, uint32_t id, struct store_group *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	struct group_rec r;
	rc = group_get(s, txn, id, &r);
	if (rc == 0 && out)
		rec_to_group(&r, out);
	store_read_end(s, txn);
	return store_errno(rc, "group by id");
}

int store_group_next(struct store *s, uint32_t topic_id, uint32_t after_id,
		     struct store_group *out)
{
	MDB_txn *txn;
	MDB_cursor *c;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	/* Groups are keyed by id, not by topic: a topic's groups are found by
	 * scanning from after_id. Topics have few groups; listing all of them is
	 * a walk over every group, which stays small. */
	rc = mdb_cursor_open(txn, s->groups, &c);
	if (rc == 0) {
		unsigned char kb[4];
		MDB_val k = {sizeof(kb), kb}, d;
		if (after_id == UINT32_MAX) {
			rc = MDB_NOTFOUND;
		} else {
			store_be32(kb, after_id + 1);
			rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		}
		for (; rc == 0; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			struct group_rec r;
			if (d.mv_size < GROUP_REC_MIN) {
				rc = EIO;
				break;
			}
			memcpy(&r, d.mv_data, sizeof(r));
			if (r.topic_id == topic_id || topic_id == 0) {
				if (out)
					rec_to_group(&r, out);
				break;
			}
		}
		mdb_cursor_close(c);
	}
	store_read_end(s, txn);
	return store_errno(rc, "next group");
}

/* --- committed offsets --- */

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
	rc = group_and_topic(s, txn, group_id, &g, &parts);
	for (uint32_t i = 0; rc == 0 && i < parts; i++) {
		struct view v;
		if ((rc = view_get(s, txn, &g, i, &v)))
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
	struct view v;
	int rc = group_and_topic(s, txn, a->gid, &g, &parts);
	if (rc)
		return rc;
	if (a->index >= parts)
		return ENOENT;
	if ((rc = view_get(s, txn, &g, a->index, &v)))
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
	return offset_put(s, txn, a->gid, a->index, to);
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

/* --- consuming --- */

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
			  struct view *v, size_t *left)
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

/* Nothing to hand out nor to fix: the txn is aborted, not committed. */
#define NOTHING EAGAIN

static int consume_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct consume_args *a = arg;
	struct group_rec g;
	uint32_t parts;
	memset(&a->out, 0, sizeof(a->out));
	a->nranges = 0;
	a->fn(0, a->arg); /* start over: this txn may be a rerun */
	int rc = group_and_topic(s, txn, a->gid, &g, &parts);
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
		struct view v;
		if ((rc = view_get(s, txn, &g, idx, &v)))
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
			if ((rc = offset_put(s, txn, g.id, idx, v.committed)))
				return rc;
			changed = 1;
		}
	}
	if (first_served >= 0 && parts > 1) {
		g.rr_cursor = ((uint32_t)first_served + 1) % parts;
		if ((rc = group_put(s, txn, &g)))
			return rc;
	}
	if (a->nranges &&
	    (rc = store_consume_request_put(s, txn, a->req, a->ranges, a->nranges)))
		return rc;
	return changed ? 0 : NOTHING;
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
	if (rc == NOTHING)
		rc = 0;
	if (out)
		*out = rc == 0 ? a.out : (struct store_consumed){0};
	return rc;
}

int store_group_ready(struct store *s, uint32_t group_id)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return -rc;
	struct group_rec g;
	uint32_t parts;
	int ready = 0;
	rc = group_and_topic(s, txn, group_id, &g, &parts);
	for (uint32_t i = 0; rc == 0 && i < parts && !ready; i++) {
		struct view v;
		if ((rc = view_get(s, txn, &g, i, &v)) == 0)
			ready = v.committed < v.p.end_offset;
	}
	store_read_end(s, txn);
	rc = store_errno(rc, "group ready");
	return rc ? -rc : ready;
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
		int err = group_and_topic(s, txn, g.id, &g, &parts);
		if (err == ENOENT)
			continue;
		if (err) {
			rc = err;
			break;
		}
		for (uint32_t i = 0; i < parts && rc == 0; i++) {
			struct view v;
			if ((rc = view_get(s, txn, &g, i, &v)) || !v.missed)
				continue;
			if ((rc = offset_put(s, txn, g.id, i, v.committed)))
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
			rec_to_group(&g, &a->m[a->n].g);
			a->m[a->n].index = i;
			a->m[a->n++].count = v.missed;
		}
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return rc ? rc : a->n ? 0 : NOTHING;
}

int store_groups_catch_up(struct store *s, store_missed_fn fn, void *arg)
{
	struct catch_up_args a = {NULL, 0, 0};
	int rc = store_write_freeing(s, catch_up_txn, &a, 1 << 20, "groups catch up");
	if (rc == NOTHING)
		rc = 0;
	for (size_t i = 0; rc == 0 && fn && i < a.n; i++)
		fn(&a.m[i].g, a.m[i].index, a.m[i].count, arg);
	free(a.m);
	return rc;
}
