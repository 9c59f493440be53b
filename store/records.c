/* records.c — the store's keys and records: big-endian keys, meta counters, topic and partition records. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

_Static_assert(sizeof(struct store_topic_rec) == 352, "topic record has implicit padding");
_Static_assert(offsetof(struct store_topic_rec, uid) == 328,
	       "version 1 topic records are 328 bytes");
_Static_assert(sizeof(struct store_part_rec) == 56, "partition record has implicit padding");

/* The oldest record sizes we can read; later versions only append fields. */
#define TOPIC_REC_MIN offsetof(struct store_topic_rec, uid) /* the first layout */
#define PART_REC_MIN sizeof(struct store_part_rec)

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- big-endian keys, so LMDB's memcmp order is numeric order --- */

void store_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

void store_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint32_t store_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t store_get_be64(const unsigned char *p)
{
	return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

/* --- meta counters: "format", "next_topic" (gpids.c keeps "next_gpid") --- */

int store_meta_get(struct store *s, MDB_txn *txn, const char *name, uint32_t *v)
{
	MDB_val k = {strlen(name), (void *)name}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(*v))
		return EIO;
	memcpy(v, d.mv_data, sizeof(*v));
	return 0;
}

int store_meta_put(struct store *s, MDB_txn *txn, const char *name, uint32_t v)
{
	MDB_val k = {strlen(name), (void *)name}, d = {sizeof(v), &v};
	return mdb_put(txn, s->meta, &k, &d, 0);
}

/* --- stored records --- */

void store_rec_to_config(const struct store_topic_rec *rec, struct store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->partitions = rec->partitions;
	cfg->retention_ms = rec->retention_ms;
	cfg->retention_bytes = rec->retention_bytes;
	cfg->max_message_bytes = rec->max_message_bytes;
	memcpy(cfg->key_separator, rec->key_separator, sizeof(cfg->key_separator));
	cfg->key_separator[STORE_SEPARATOR_MAX] = '\0';
	cfg->framing = rec->framing;
}

void store_config_to_rec(const struct store_config *cfg, struct store_topic_rec *rec)
{
	rec->partitions = cfg->partitions;
	rec->retention_ms = cfg->retention_ms;
	rec->retention_bytes = cfg->retention_bytes;
	rec->max_message_bytes = cfg->max_message_bytes;
	memcpy(rec->key_separator, cfg->key_separator, sizeof(rec->key_separator));
	rec->framing = cfg->framing;
}

void store_rec_to_topic(const struct store_topic_rec *rec, struct store_topic *t)
{
	memset(t, 0, sizeof(*t));
	t->id = rec->id;
	memcpy(t->name, rec->name, sizeof(t->name));
	t->name[STORE_TOPIC_NAME_MAX] = '\0';
	store_rec_to_config(rec, &t->config);
	t->created_ms = rec->created_ms;
	t->uid = rec->uid;
	t->gid = rec->gid;
	t->mode = rec->mode;
}

/* Copies a stored versioned record: a longer (newer) one is cut, a shorter
 * one than we can read is corrupt. */
static int rec_copy(void *dst, size_t dst_size, size_t min, const MDB_val *d)
{
	if (d->mv_size < min)
		return EIO;
	memset(dst, 0, dst_size);
	memcpy(dst, d->mv_data, d->mv_size < dst_size ? d->mv_size : dst_size);
	return 0;
}

int store_topic_rec_decode(const MDB_val *d, struct store_topic_rec *rec)
{
	return rec_copy(rec, sizeof(*rec), TOPIC_REC_MIN, d);
}

int store_topic_get_rec(struct store *s, MDB_txn *txn, uint32_t id, struct store_topic_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, id);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->topics, &k, &d);
	if (rc)
		return rc;
	return rec_copy(rec, sizeof(*rec), TOPIC_REC_MIN, &d);
}

int store_topic_put_rec(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, rec->id);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*rec), (void *)rec};
	return mdb_put(txn, s->topics, &k, &d, 0);
}

int store_part_get_rec(struct store *s, MDB_txn *txn, uint32_t gpid, struct store_part_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->partitions, &k, &d);
	if (rc)
		return rc;
	return rec_copy(rec, sizeof(*rec), PART_REC_MIN, &d);
}

int store_part_put_rec(struct store *s, MDB_txn *txn, uint32_t gpid,
		       const struct store_part_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*rec), (void *)rec};
	return mdb_put(txn, s->partitions, &k, &d, 0);
}

int store_part_gpid(struct store *s, MDB_txn *txn, uint32_t topic_id, uint32_t index,
		    uint32_t *gpid)
{
	unsigned char kb[8];
	store_be32(kb, topic_id);
	store_be32(kb + 4, index);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->topic_parts, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(*gpid))
		return EIO;
	memcpy(gpid, d.mv_data, sizeof(*gpid));
	return 0;
}

void store_rec_to_partition(uint32_t gpid, const struct store_part_rec *rec,
			    struct store_partition *p)
{
	p->gpid = gpid;
	p->topic_id = rec->topic_id;
	p->index = rec->index;
	p->start_offset = rec->start_offset;
	p->end_offset = rec->end_offset;
	p->start_pos = rec->start_pos;
	p->end_pos = rec->end_pos;
	p->last_append_ms = rec->last_append_ms;
}

int store_delete_prefix(MDB_txn *txn, MDB_dbi dbi, uint32_t prefix)
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
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		/* After a delete, MDB_NEXT yields the key that followed it. */
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
