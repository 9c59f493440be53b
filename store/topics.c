/* topics.c — topics and their partitions: create, read, own, configure. */
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
	uint64_t unique; /* the mkdir's request, kept with the create (0: none) */
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
	if ((rc = mdb_put(txn, s->topic_names, &k, &d, 0)) || (rc = store_topic_put_rec(s, txn, rec)) ||
	    (rc = store_dir_request_put(s, txn, a->unique, STORE_DIR_TOPIC_CREATE, id)))
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
	return store_topic_create_req(s, name, cfg, uid, gid, mode, 0, out);
}

int store_topic_create_req(struct store *s, const char *name, const struct store_config *cfg,
			   uint32_t uid, uint32_t gid, uint32_t mode, uint64_t unique,
			   struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_is_valid(name, len) || store_config_check(cfg) || mode > 0177777)
		return EINVAL;
	struct topic_create_args a = {
		.name = name, .len = len, .cfg = cfg, .uid = uid, .gid = gid, .mode = mode,
		.unique = unique};
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

/* Topics are read as LMDB has them: appends the WAL still holds change no
 * field of struct store_topic (only the round-robin cursor). */
int store_topic_by_name(struct store *s, const char *name, struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_is_valid(name, len))
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

/* From the cache (topic_cache.c): each write() asks, and so does each stat. */
int store_topic_by_id(struct store *s, uint32_t id, struct store_topic *out)
{
	struct store_topic_rec rec;
	int rc = store_topic_rec_cached(s, id, &rec);
	if (rc == 0 && out)
		store_rec_to_topic(&rec, out);
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
