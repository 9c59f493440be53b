/* wal_int.h — the WAL's entries, shared by appending (wal.c) and folding (wal_fold.c). */
#ifndef TOPICFS_WAL_INT_H
#define TOPICFS_WAL_INT_H

#include <string.h>

#include "store_int.h"

#define WAL_MAGIC 0x314c4157u                   /* "WAL1" */
#define WAL_NO_KEY UINT32_MAX
#define WAL_ROUTED UINT32_MAX

struct wal_head {
	uint32_t magic;
	uint32_t crc; /* over the head (crc 0) and the payload */
	uint64_t lsn;
	uint32_t topic_id;
	uint32_t n;   /* records */
	int64_t ts_ms;
	uint32_t len; /* payload bytes: [request], then per record key_len, value_len (u32), key, value */
	uint32_t part; /* WAL_ROUTED, or the partition index all records go to */
	uint32_t flags; /* WAL_HAS_REQUEST: the payload starts with the write's request */
	uint32_t spare; /* 0; keeps the head a multiple of 8 */
};
/* The payload opens with the request (slot u32, unique u64) the records
 * answer (store_append_req). */
#define WAL_HAS_REQUEST 1u
#define WAL_REQUEST_BYTES 12
_Static_assert(sizeof(struct wal_head) == 48, "WAL entry head has no padding");

struct wal_entry {
	struct wal_entry *next;
	size_t size; /* of disk[]: head + payload */
	unsigned char disk[];
};

static inline const struct wal_head *head_of(const struct wal_entry *e)
{
	return (const struct wal_head *)e->disk;
}

/* Whether entry e carries the request its write() came in; if so, *req. */
static inline int entry_request(const struct wal_entry *e, struct store_request *req)
{
	const struct wal_head *h = head_of(e);
	if (!(h->flags & WAL_HAS_REQUEST) || h->len < WAL_REQUEST_BYTES)
		return 0;
	memcpy(&req->slot, e->disk + sizeof(*h), 4);
	memcpy(&req->unique, e->disk + sizeof(*h) + 4, 8);
	return 1;
}

/* wal_fold.c. The position LMDB holds: the last LSN folded (0: none). */
int store_wal_meta_lsn(struct store *s, MDB_txn *txn, uint64_t *lsn);
/* Folds list, read back from the files at open, in one transaction. */
int store_wal_replay(struct store *s, struct wal_entry *list);
void store_wal_list_free(struct wal_entry *e);
/* The fold thread (arg: the store). */
void *store_wal_fold_loop(void *arg);

#endif
