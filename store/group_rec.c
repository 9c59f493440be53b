/* group_rec.c — a consumer group's stored records: the group, its name, its offsets. */
#include <errno.h>
#include <string.h>

#include "group_rec.h"

void store_group_rec_to_group(const struct group_rec *r, struct store_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = r->id;
	g->topic_id = r->topic_id;
	g->created_ms = r->created_ms;
	memcpy(g->name, r->name, sizeof(g->name));
	g->name[STORE_TOPIC_NAME_MAX] = '\0';
}

int store_group_rec_get(struct store *s, MDB_txn *txn, uint32_t id, struct group_rec *r)
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

int store_group_rec_put(struct store *s, MDB_txn *txn, const struct group_rec *r)
{
	unsigned char kb[4];
	store_be32(kb, r->id);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*r), (void *)r};
	return mdb_put(txn, s->groups, &k, &d, 0);
}

MDB_val store_group_name_key(unsigned char *kb, uint32_t topic_id, const char *name, size_t len)
{
	store_be32(kb, topic_id);
	memcpy(kb + 4, name, len);
	return (MDB_val){4 + len, kb};
}

int store_group_offset_get(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index, uint64_t *v,
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

int store_group_offset_put(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index, uint64_t v)
{
	unsigned char kb[8];
	store_be32(kb, gid);
	store_be32(kb + 4, index);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(v), &v};
	return mdb_put(txn, s->group_offsets, &k, &d, 0);
}

int store_group_view_get(struct store *s, MDB_txn *txn, const struct group_rec *g, uint32_t index,
		    struct store_group_view *v)
{
	int found, rc = store_part_gpid(s, txn, g->topic_id, index, &v->gpid);
	if (rc == 0)
		rc = store_part_get_rec(s, txn, v->gpid, &v->p);
	if (rc == 0)
		rc = store_group_offset_get(s, txn, g->id, index, &v->committed, &found);
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

int store_group_and_topic(struct store *s, MDB_txn *txn, uint32_t gid, struct group_rec *g,
			   uint32_t *partitions)
{
	struct store_topic_rec t;
	int rc = store_group_rec_get(s, txn, gid, g);
	if (rc == 0)
		rc = store_topic_get_rec(s, txn, g->topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? ENOENT : rc;
	if (t.partitions < 1 || t.partitions > STORE_PARTITIONS_MAX)
		return EIO;
	*partitions = t.partitions;
	return 0;
}
