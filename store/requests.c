/* requests.c — which write(), consume, mkdir and rmdir requests are committed, so a resent one is not done twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The slot's list: its last STORE_REQUESTS_KEPT unique ids, newest first.
 * Ids are unique on a connection, so a slot taken again by another handle
 * cannot match the old handle's; each write() of a handle ends before its
 * writer can make the next one, so the one in flight at a crash is among
 * the last few (the loop handles a handful of requests at a time). */
int store_request_put(struct store *s, MDB_txn *txn, const struct store_request *req)
{
	unsigned char kb[4];
	uint64_t ids[STORE_REQUESTS_KEPT];
	size_t n = 0;
	store_be32(kb, req->slot);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->requests, &k, &d);
	if (rc == 0) {
		n = d.mv_size / sizeof(ids[0]);
		if (n > STORE_REQUESTS_KEPT - 1)
			n = STORE_REQUESTS_KEPT - 1;
		memcpy(ids + 1, d.mv_data, n * sizeof(ids[0]));
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	ids[0] = req->unique;
	d = (MDB_val){(n + 1) * sizeof(ids[0]), ids};
	return mdb_put(txn, s->requests, &k, &d, 0);
}

int store_request_done(struct store *s, const struct store_request *req)
{
	MDB_txn *txn;
	unsigned char kb[4];
	store_be32(kb, req->slot);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = store_read_begin(s, &txn); /* folds the WAL first */
	if (rc)
		return -rc;
	int done = 0;
	rc = mdb_get(txn, s->requests, &k, &d);
	if (rc == 0) {
		for (size_t i = 0; i + 8 <= d.mv_size && !done; i += 8) {
			uint64_t id;
			memcpy(&id, (const char *)d.mv_data + i, 8);
			done = id == req->unique;
		}
	}
	store_read_end(s, txn);
	/* A fold that failed (a full disk) left it in the WAL's queue. */
	if (!done && store_wal_has_request(s, req))
		return 1;
	if (rc && rc != MDB_NOTFOUND)
		return -store_errno(rc, "look up a write request");
	return done;
}

static int clear_txn(struct store *s, MDB_txn *txn, void *arg)
{
	(void)arg;
	return mdb_drop(txn, s->requests, 0);
}

int store_requests_clear(struct store *s)
{
	return store_write(s, clear_txn, NULL, 1 << 20, "forget the write requests");
}

/* --- consumes ---
 *
 * A consume's request is a key of its own: the slot (BE32), 'C', the unique
 * id (BE64), so a slot's come in the order of their ids, which grow on a
 * connection: the first is the oldest. Its data: the ranges, 20 bytes each
 * (gpid BE32, from BE64, to BE64). */
#define CONSUME_KEY 13
#define RANGE_SIZE 20

/* A consume's key, or (tag 'D') a mkdir's or rmdir's, under DIR_SLOT. */
static MDB_val tagged_key(unsigned char *kb, uint32_t slot, char tag, uint64_t unique)
{
	store_be32(kb, slot);
	kb[4] = (unsigned char)tag;
	store_be64(kb + 5, unique);
	return (MDB_val){CONSUME_KEY, kb};
}

static MDB_val consume_key(unsigned char *kb, uint32_t slot, uint64_t unique)
{
	return tagged_key(kb, slot, 'C', unique);
}

/* Deletes the oldest keys of (slot, tag) beyond the last `kept`. */
static int tagged_prune(struct store *s, MDB_txn *txn, uint32_t slot, char tag, size_t kept)
{
	MDB_cursor *c;
	unsigned char kb[CONSUME_KEY];
	MDB_val k = tagged_key(kb, slot, tag, 0), d;
	int rc = mdb_cursor_open(txn, s->requests, &c);
	if (rc)
		return rc;
	size_t count = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == CONSUME_KEY && memcmp(k.mv_data, kb, 5) == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		count++;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	for (; rc == 0 && count > kept; count--) {
		k = tagged_key(kb, slot, tag, 0);
		if ((rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE)) == 0)
			rc = mdb_cursor_del(c, 0);
	}
	mdb_cursor_close(c);
	return rc;
}

/* Deletes the slot's oldest consumes beyond the last STORE_REQUESTS_KEPT. */
static int consume_prune(struct store *s, MDB_txn *txn, uint32_t slot)
{
	return tagged_prune(s, txn, slot, 'C', STORE_REQUESTS_KEPT);
}

int store_consume_request_put(struct store *s, MDB_txn *txn, const struct store_request *req,
			      const struct store_consume_range *r, uint32_t n)
{
	unsigned char kb[CONSUME_KEY];
	unsigned char *buf = malloc((size_t)n * RANGE_SIZE);
	if (!buf)
		return ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		store_be32(buf + i * RANGE_SIZE, r[i].gpid);
		store_be64(buf + i * RANGE_SIZE + 4, r[i].from);
		store_be64(buf + i * RANGE_SIZE + 12, r[i].to);
	}
	MDB_val k = consume_key(kb, req->slot, req->unique), d = {(size_t)n * RANGE_SIZE, buf};
	int rc = mdb_put(txn, s->requests, &k, &d, 0);
	free(buf);
	return rc ? rc : consume_prune(s, txn, req->slot);
}

int store_consume_request_get(struct store *s, const struct store_request *req,
			      struct store_consume_range *out, uint32_t cap, uint32_t *n)
{
	MDB_txn *txn;
	unsigned char kb[CONSUME_KEY];
	MDB_val k = consume_key(kb, req->slot, req->unique), d;
	*n = 0;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->requests, &k, &d);
	if (rc == 0) {
		const unsigned char *p = d.mv_data;
		*n = (uint32_t)(d.mv_size / RANGE_SIZE);
		for (uint32_t i = 0; i < *n && i < cap; i++)
			out[i] = (struct store_consume_range){store_get_be32(p + i * RANGE_SIZE),
							      store_get_be64(p + i * RANGE_SIZE + 4),
							      store_get_be64(p + i * RANGE_SIZE + 12)};
	}
	store_read_end(s, txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return store_errno(rc, "look up a consume request");
}

/* --- mkdir and rmdir ---
 *
 * They have no file handle: their keys are those of a consume of slot
 * DIR_SLOT (no handle has it: slots are below 2^16) tagged 'D', oldest id
 * first. Data: the op (one byte) and the topic or group id (BE32). */
#define DIR_SLOT UINT32_MAX
#define DIR_DATA 5

int store_dir_request_put(struct store *s, MDB_txn *txn, uint64_t unique, enum store_dir_op op,
			  uint32_t id)
{
	if (!unique)
		return 0;
	unsigned char kb[CONSUME_KEY], db[DIR_DATA];
	db[0] = (unsigned char)op;
	store_be32(db + 1, id);
	MDB_val k = tagged_key(kb, DIR_SLOT, 'D', unique), d = {sizeof(db), db};
	int rc = mdb_put(txn, s->requests, &k, &d, 0);
	return rc ? rc : tagged_prune(s, txn, DIR_SLOT, 'D', STORE_DIR_REQUESTS_KEPT);
}

int store_dir_request_get(struct store *s, uint64_t unique, enum store_dir_op op, bool *is_done,
			  uint32_t *id)
{
	MDB_txn *txn;
	unsigned char kb[CONSUME_KEY];
	MDB_val k = tagged_key(kb, DIR_SLOT, 'D', unique), d;
	*is_done = false;
	*id = 0;
	/* Raw: a mkdir or rmdir commits in a transaction of its own, never in the WAL. */
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->requests, &k, &d);
	/* Another op under the id cannot be this request: do it. */
	if (rc == 0 && d.mv_size == DIR_DATA && ((const unsigned char *)d.mv_data)[0] == op) {
		*is_done = true;
		*id = store_get_be32((const unsigned char *)d.mv_data + 1);
	}
	store_read_end(s, txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return store_errno(rc, "look up a mkdir or rmdir request");
}
