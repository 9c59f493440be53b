/* topic_delete.c — deleting a topic: big partitions emptied in bounded txns, then the rest. */
#include <errno.h>
#include <string.h>

#include "store_int.h"

/* A partition holding more than this is emptied before its topic is deleted. */
#define PURGE_RECORDS 1024
#define PURGE_BYTES ((uint64_t)1 << 20)

/* Empties partition gpid, oldest batch first, in bounded transactions (start
 * advances as retention would): deleting a big topic on a full disk then
 * needs only a few free pages at a time. */
static int purge_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct store_trim *a = arg;
	a->deleted = 0;
	a->more = false;
	struct store_part_rec p;
	struct store_topic_rec t;
	int rc = store_part_get_rec(s, txn, a->gpid, &p);
	if (rc == 0)
		rc = store_topic_get_rec(s, txn, p.topic_id, &t);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : rc; /* deleted meanwhile: nothing to do */
	return store_trim_front(s, txn, &p, a);
}

static int purge_partition(struct store *s, uint32_t gpid)
{
	/* Keep no bytes: every batch goes, whatever the topic's config. */
	struct store_trim a = {.gpid = gpid, .limit = STORE_TRIM_BATCHES, .by_size = true, .keep = 0};
	do {
		int rc = store_trim_step(s, purge_txn, &a, "delete topic");
		if (rc)
			return rc;
	} while (a.more);
	return 0;
}

struct topic_delete_args {
	const char *name;
	uint32_t id; /* the topic the name had when the delete began */
	uint64_t unique; /* the rmdir's request (0: none) */
};

static int topic_delete_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_delete_args *a = arg;
	MDB_val k = {strlen(a->name), (void *)a->name}, d;
	int rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc)
		return rc;
	uint32_t id;
	if (d.mv_size != sizeof(id))
		return EIO;
	memcpy(&id, d.mv_data, sizeof(id));
	if (id != a->id)
		return ENOENT; /* deleted and made again meanwhile: not ours to delete */
	struct store_topic_rec rec;
	if ((rc = store_topic_get_rec(s, txn, id, &rec)))
		return rc == MDB_NOTFOUND ? EIO : rc;
	for (uint32_t i = 0; i < rec.partitions; i++) {
		uint32_t gpid;
		if ((rc = store_part_gpid(s, txn, id, i, &gpid)))
			return rc == MDB_NOTFOUND ? EIO : rc;
		if ((rc = store_delete_prefix(txn, s->batches, gpid)) ||
		    (rc = store_delete_prefix(txn, s->positions, gpid)) ||
		    (rc = store_delete_prefix(txn, s->mirror, gpid)))
			return rc;
		unsigned char pk[4];
		store_be32(pk, gpid);
		MDB_val pkv = {sizeof(pk), pk};
		if ((rc = mdb_del(txn, s->partitions, &pkv, NULL)) ||
		    (rc = store_gpids_freed(s, txn, gpid)))
			return rc;
	}
	if ((rc = store_groups_drop_topic(s, txn, id)))
		return rc;
	/* The topic's (id, index) entries are contiguous under the id prefix. */
	if ((rc = store_delete_prefix(txn, s->topic_parts, id)))
		return rc;
	unsigned char tk[4];
	store_be32(tk, id);
	MDB_val tkv = {sizeof(tk), tk};
	if ((rc = mdb_del(txn, s->topics, &tkv, NULL)))
		return rc;
	/* With the name's removal: the purges before it may be done again. */
	if ((rc = store_dir_request_put(s, txn, a->unique, STORE_DIR_TOPIC_DELETE, id)))
		return rc;
	return mdb_del(txn, s->topic_names, &k, NULL);
}

int store_topic_delete(struct store *s, const char *name)
{
	return store_topic_delete_req(s, name, 0);
}

int store_topic_delete_req(struct store *s, const char *name, uint64_t unique)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_is_valid(name, len))
		return ENOENT;
	struct store_topic t;
	int rc = store_topic_by_name(s, name, &t);
	if (rc)
		return rc;
	/* The records of big partitions go first, a bounded transaction at a
	 * time (see the space reserve); the rest, and the topic, in one. */
	for (uint32_t i = 0; i < t.config.partitions; i++) {
		struct store_partition p;
		rc = store_partition_find(s, t.id, i, &p);
		if (rc)
			return rc;
		if (p.end_offset - p.start_offset > PURGE_RECORDS ||
		    p.end_pos - p.start_pos > PURGE_BYTES) {
			if ((rc = purge_partition(s, p.gpid)))
				return rc;
		}
	}
	struct topic_delete_args a = {name, t.id, unique};
	rc = store_write_freeing(s, topic_delete_txn, &a, 1 << 20, "delete topic");
	if (rc == 0) {
		struct store_event ev = {STORE_EVENT_TOPIC_DELETED, t.id, 0, 0};
		store_announce(s, &ev, 1);
	}
	return rc;
}
