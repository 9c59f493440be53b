/* topics.c — topics and their partitions: create, read, own, configure, delete. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Creates partition i of topic rec under gpid. */
static int part_create(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec,
		       uint32_t i, uint32_t gpid, int64_t now)
{
	unsigned char kb[8];
	store_be32(kb, rec->id);
	store_be32(kb + 4, i);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(gpid), &gpid};
	int rc = mdb_put(txn, s->topic_parts, &k, &d, MDB_NOOVERWRITE);
	if (rc)
		return rc == MDB_KEYEXIST ? EIO : rc;
	struct store_part_rec p = {
		.version = PART_REC_VERSION,
		.size = sizeof(p),
		.topic_id = rec->id,
		.index = i,
		.last_append_ms = now,
	};
	return store_part_put_rec(s, txn, gpid, &p);
}

/* Creates partitions [from, to) of topic rec, with free gpids (gpids.c). */
static int parts_create(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec,
			uint32_t from, uint32_t to, int64_t now)
{
	if (to <= from)
		return 0;
	uint32_t *gpids = malloc(sizeof *gpids * (to - from));
	if (!gpids)
		return ENOMEM;
	int rc = store_gpids_take(s, txn, to - from, gpids);
	for (uint32_t i = from; rc == 0 && i < to; i++)
		rc = part_create(s, txn, rec, i, gpids[i - from], now);
	free(gpids);
	return rc;
}

struct topic_create_args {
	const char *name;
	size_t len;
	const struct store_config *cfg;
	uint32_t uid, gid, mode;
	struct store_topic_rec rec; /* out */
};

static int topic_create_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_create_args *a = arg;
	MDB_val k = {a->len, (void *)a->name}, d;
	int rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc == 0)
		return EEXIST;
	if (rc != MDB_NOTFOUND)
		return rc;
	uint32_t id;
	if ((rc = store_meta_get(s, txn, "next_topic", &id)))
		return rc;
	if (id == 0 || id == UINT32_MAX)
		return ENOSPC;
	if ((rc = store_meta_put(s, txn, "next_topic", id + 1)))
		return rc;

	struct store_topic_rec *rec = &a->rec;
	memset(rec, 0, sizeof(*rec));
	rec->version = TOPIC_REC_VERSION;
	rec->size = sizeof(*rec);
	rec->id = id;
	store_config_to_rec(a->cfg, rec);
	rec->created_ms = store_now_ms();
	memcpy(rec->name, a->name, a->len);
	rec->uid = a->uid;
	rec->gid = a->gid;
	rec->mode = a->mode;

	d.mv_size = sizeof(id);
	d.mv_data = &id;
	if ((rc = mdb_put(txn, s->topic_names, &k, &d, 0)) || (rc = store_topic_put_rec(s, txn, rec)))
		return rc;
	return parts_create(s, txn, rec, 0, rec->partitions, rec->created_ms);
}

int store_topic_create(struct store *s, const char *name, const struct store_config *cfg,
		       struct store_topic *out)
{
	return store_topic_create_as(s, name, cfg, 0, 0, 0, out);
}

int store_topic_create_as(struct store *s, const char *name, const struct store_config *cfg,
			  uint32_t uid, uint32_t gid, uint32_t mode, struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len) || store_config_check(cfg) || mode > 0177777)
		return EINVAL;
	struct topic_create_args a = {
		.name = name, .len = len, .cfg = cfg, .uid = uid, .gid = gid, .mode = mode};
	int rc = store_write(s, topic_create_txn, &a, 64 * 1024 + 256 * (size_t)cfg->partitions,
			     "create topic");
	if (rc == 0 && out)
		store_rec_to_topic(&a.rec, out);
	return rc;
}

struct topic_owner_args {
	uint32_t id, uid, gid, mode;
};

static int topic_owner_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_owner_args *a = arg;
	struct store_topic_rec rec;
	int rc = store_topic_get_rec(s, txn, a->id, &rec);
	if (rc)
		return rc;
	rec.uid = a->uid;
	rec.gid = a->gid;
	rec.mode = a->mode;
	rec.size = sizeof(rec);
	return store_topic_put_rec(s, txn, &rec);
}

int store_topic_set_owner(struct store *s, uint32_t topic_id, uint32_t uid, uint32_t gid,
			  uint32_t mode)
{
	if (mode > 0177777)
		return EINVAL;
	struct topic_owner_args a = {topic_id, uid, gid, mode};
	return store_write(s, topic_owner_txn, &a, 4096, "set topic owner");
}

/* A partition holding more than this is emptied before its topic is deleted. */
#define PURGE_RECORDS 1024
#define PURGE_BYTES ((uint64_t)1 << 20)

/* Deletes every key of db that starts with the 4-byte big-endian gpid. */
static int delete_gpid_range(MDB_txn *txn, MDB_dbi dbi, uint32_t gpid)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, kb, 4) == 0) {
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		/* After a delete, MDB_NEXT yields the key that followed it. */
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct topic_delete_args {
	const char *name;
	uint32_t id; /* the topic the name had when the delete began */
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
		if ((rc = delete_gpid_range(txn, s->batches, gpid)) ||
		    (rc = delete_gpid_range(txn, s->positions, gpid)) ||
		    (rc = delete_gpid_range(txn, s->mirror, gpid)))
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
	if ((rc = delete_gpid_range(txn, s->topic_parts, id)))
		return rc;
	unsigned char tk[4];
	store_be32(tk, id);
	MDB_val tkv = {sizeof(tk), tk};
	if ((rc = mdb_del(txn, s->topics, &tkv, NULL)))
		return rc;
	return mdb_del(txn, s->topic_names, &k, NULL);
}

int store_topic_delete(struct store *s, const char *name)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
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
			if ((rc = store_purge_partition(s, p.gpid)))
				return rc;
		}
	}
	struct topic_delete_args a = {name, t.id};
	rc = store_write_freeing(s, topic_delete_txn, &a, 1 << 20, "delete topic");
	if (rc == 0) {
		struct store_event ev = {STORE_EVENT_TOPIC_DELETED, t.id, 0, 0};
		store_announce(s, &ev, 1);
	}
	return rc;
}

/* Topics are read as LMDB has them: appends the WAL still holds change no
 * field of struct store_topic (only the round-robin cursor). */
int store_topic_by_name(struct store *s, const char *name, struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_val k = {len, (void *)name}, d;
	rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc == 0) {
		uint32_t id;
		struct store_topic_rec rec;
		if (d.mv_size != sizeof(id)) {
			rc = EIO;
		} else {
			memcpy(&id, d.mv_data, sizeof(id));
			rc = store_topic_get_rec(s, txn, id, &rec);
			if (rc == 0 && out)
				store_rec_to_topic(&rec, out);
		}
	}
	store_read_end(s, txn);
	return store_errno(rc, "topic by name");
}

int store_topic_by_id(struct store *s, uint32_t id, struct store_topic *out)
{
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	struct store_topic_rec rec;
	rc = store_topic_get_rec(s, txn, id, &rec);
	if (rc == 0 && out)
		store_rec_to_topic(&rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "topic by id");
}

int store_topic_next(struct store *s, uint32_t after_id, struct store_topic *out)
{
	if (after_id == UINT32_MAX)
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_cursor *c;
	rc = mdb_cursor_open(txn, s->topics, &c);
	if (rc == 0) {
		unsigned char kb[4];
		store_be32(kb, after_id + 1);
		MDB_val k = {sizeof(kb), kb}, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == 0) {
			struct store_topic_rec rec;
			rc = store_topic_rec_decode(&d, &rec);
			if (rc == 0 && out)
				store_rec_to_topic(&rec, out);
		}
		mdb_cursor_close(c);
	}
	store_read_end(s, txn);
	return store_errno(rc, "next topic");
}

int store_topic_count(struct store *s, uint64_t *count)
{
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_stat st;
	rc = mdb_stat(txn, s->topics, &st);
	if (rc == 0)
		*count = st.ms_entries;
	store_read_end(s, txn);
	return store_errno(rc, "count topics");
}

struct topic_configure_args {
	uint32_t id;
	enum store_config_key key;
	const char *text;
	size_t len;
};

static int topic_configure_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_configure_args *a = arg;
	struct store_topic_rec rec;
	int rc = store_topic_get_rec(s, txn, a->id, &rec);
	if (rc)
		return rc;
	struct store_config cfg;
	store_rec_to_config(&rec, &cfg);
	uint32_t old = cfg.partitions;
	if ((rc = store_config_parse(&cfg, a->key, a->text, a->len)))
		return rc;
	if (cfg.partitions < old)
		return EINVAL;
	if (cfg.partitions > old &&
	    (rc = parts_create(s, txn, &rec, old, cfg.partitions, store_now_ms())))
		return rc;
	store_config_to_rec(&cfg, &rec);
	rec.size = sizeof(rec);
	return store_topic_put_rec(s, txn, &rec);
}

int store_topic_configure(struct store *s, uint32_t topic_id, enum store_config_key key,
			  const char *text, size_t len)
{
	if ((unsigned)key >= STORE_CFG_COUNT)
		return EINVAL;
	struct topic_configure_args a = {topic_id, key, text, len};
	return store_write(s, topic_configure_txn, &a, 1 << 20, "configure topic");
}

/* --- partitions --- */

int store_partition_get(struct store *s, uint32_t gpid, struct store_partition *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	struct store_part_rec rec;
	rc = store_part_get_rec(s, txn, gpid, &rec);
	if (rc == 0 && out)
		store_rec_to_partition(gpid, &rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "get partition");
}

int store_partition_find(struct store *s, uint32_t topic_id, uint32_t index,
			 struct store_partition *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	uint32_t gpid;
	struct store_part_rec rec;
	rc = store_part_gpid(s, txn, topic_id, index, &gpid);
	if (rc == 0)
		rc = store_part_get_rec(s, txn, gpid, &rec);
	if (rc == 0 && out)
		store_rec_to_partition(gpid, &rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "find partition");
}
