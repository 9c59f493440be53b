/* groups.c — consumer groups: created, deleted, looked up.
 *
 * Their committed offsets are in group_offsets.c, consuming in
 * group_consume.c, the records all three share in group_rec.c.
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

#include "group_rec.h"

/* --- create, delete, look up --- */

struct create_args {
	uint32_t topic_id;
	const char *name;
	size_t len;
	uint64_t unique; /* the mkdir's request (0: none) */
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
	MDB_val k = store_group_name_key(kb, a->topic_id, a->name, a->len), d;
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
	if ((rc = mdb_put(txn, s->group_names, &k, &d, 0)) || (rc = store_group_rec_put(s, txn, r)) ||
	    (rc = store_dir_request_put(s, txn, a->unique, STORE_DIR_GROUP_CREATE, id)))
		return rc;
	/* A new group starts at each partition's start as it is now, so what
	 * retention removes from here on counts as missed. */
	for (uint32_t i = 0; i < t.partitions; i++) {
		uint32_t gpid;
		struct store_part_rec p;
		if ((rc = store_part_gpid(s, txn, a->topic_id, i, &gpid)) ||
		    (rc = store_part_get_rec(s, txn, gpid, &p)) ||
		    (rc = store_group_offset_put(s, txn, id, i, p.start_offset)))
			return rc == MDB_NOTFOUND ? EIO : rc;
	}
	return 0;
}

int store_group_create(struct store *s, uint32_t topic_id, const char *name,
		       struct store_group *out)
{
	return store_group_create_req(s, topic_id, name, 0, out);
}

int store_group_create_req(struct store *s, uint32_t topic_id, const char *name, uint64_t unique,
			   struct store_group *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_is_valid(name, len))
		return EINVAL;
	struct create_args a = {topic_id, name, len, unique, {0}};
	int rc = store_write(s, create_txn, &a, 64 * 1024, "create group");
	if (rc == 0 && out)
		store_group_rec_to_group(&a.rec, out);
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
	return store_delete_prefix(txn, s->group_offsets, gid);
}

struct delete_args {
	uint32_t topic_id;
	const char *name;
	size_t len;
	uint64_t unique; /* the rmdir's request (0: none) */
	uint32_t id; /* out */
};

static int delete_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct delete_args *a = arg;
	unsigned char kb[4 + STORE_TOPIC_NAME_MAX];
	MDB_val k = store_group_name_key(kb, a->topic_id, a->name, a->len), d;
	int rc = mdb_get(txn, s->group_names, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(a->id))
		return EIO;
	memcpy(&a->id, d.mv_data, sizeof(a->id));
	if ((rc = drop_group(s, txn, a->id)) ||
	    (rc = store_dir_request_put(s, txn, a->unique, STORE_DIR_GROUP_DELETE, a->id)))
		return rc;
	return mdb_del(txn, s->group_names, &k, NULL);
}

int store_group_delete(struct store *s, uint32_t topic_id, const char *name, uint32_t *id)
{
	return store_group_delete_req(s, topic_id, name, 0, id);
}

int store_group_delete_req(struct store *s, uint32_t topic_id, const char *name, uint64_t unique,
			   uint32_t *id)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_is_valid(name, len))
		return ENOENT;
	struct delete_args a = {topic_id, name, len, unique, 0};
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
	if (!store_name_is_valid(name, len))
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	unsigned char kb[4 + STORE_TOPIC_NAME_MAX];
	MDB_val k = store_group_name_key(kb, topic_id, name, len), d;
	rc = mdb_get(txn, s->group_names, &k, &d);
	if (rc == 0) {
		uint32_t id;
		struct group_rec r;
		if (d.mv_size != sizeof(id)) {
			rc = EIO;
		} else {
			memcpy(&id, d.mv_data, sizeof(id));
			if ((rc = store_group_rec_get(s, txn, id, &r)) == 0 && out)
				store_group_rec_to_group(&r, out);
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
	rc = store_group_rec_get(s, txn, id, &r);
	if (rc == 0 && out)
		store_group_rec_to_group(&r, out);
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
					store_group_rec_to_group(&r, out);
				break;
			}
		}
		mdb_cursor_close(c);
	}
	store_read_end(s, txn);
	return store_errno(rc, "next group");
}
