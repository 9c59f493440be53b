/* group_rec.h — what the consumer groups' files share: stored records, a partition's view. */
#ifndef TOPICFS_STORE_GROUP_REC_H
#define TOPICFS_STORE_GROUP_REC_H

#include <errno.h>

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

/* One partition of a group as seen inside a txn: the committed offset, raised
 * to the partition's start if retention passed it (*missed says by how much). */
struct store_group_view {
	uint32_t gpid;
	struct store_part_rec p;
	uint64_t committed;
	uint64_t missed;
	int stored; /* committed is what is stored (nothing to write back) */
};

/* Nothing to hand out nor to fix: the txn is aborted, not committed. */
#define STORE_GROUP_NOTHING EAGAIN

void store_group_rec_to_group(const struct group_rec *r, struct store_group *g);
/* Look-ups inside a transaction: 0, MDB_NOTFOUND, EIO or an LMDB code. */
int store_group_rec_get(struct store *s, MDB_txn *txn, uint32_t id, struct group_rec *r);
int store_group_rec_put(struct store *s, MDB_txn *txn, const struct group_rec *r);
/* (topic id, name) key for group_names into kb (4 + STORE_TOPIC_NAME_MAX bytes). */
MDB_val store_group_name_key(unsigned char *kb, uint32_t topic_id, const char *name, size_t len);
/* The stored committed offset of (group, index): 0 and *found = 0 if none. */
int store_group_offset_get(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index,
			   uint64_t *v, int *found);
int store_group_offset_put(struct store *s, MDB_txn *txn, uint32_t gid, uint32_t index,
			   uint64_t v);
/* Partition index of group g as seen in txn; EIO if the topic lacks it. */
int store_group_view_get(struct store *s, MDB_txn *txn, const struct group_rec *g, uint32_t index,
			 struct store_group_view *v);
/* The group of id, and its topic's partition count. ENOENT: group or topic gone. */
int store_group_and_topic(struct store *s, MDB_txn *txn, uint32_t gid, struct group_rec *g,
			  uint32_t *partitions);

#endif
