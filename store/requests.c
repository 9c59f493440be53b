/* requests.c — keeping the write() and consume requests a transaction commits (request_lookup.c asks). */
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

/* --- consumes, mkdirs and rmdirs ---
 *
 * A consume's request is a key of its own: the slot (BE32), 'C', the unique
 * id (BE64), so a slot's come in the order of their ids, which grow on a
 * connection: the first is the oldest. Its data: the ranges, 20 bytes each
 * (gpid BE32, from BE64, to BE64). A mkdir or rmdir has no file handle: its
 * key is that of slot STORE_DIR_SLOT (no handle has it: slots are below
 * 2^16) tagged 'D'; its data the op (one byte) and the topic or group id
 * (BE32). */
MDB_val store_request_key(unsigned char *kb, uint32_t slot, char tag, uint64_t unique)
{
	store_be32(kb, slot);
	kb[4] = (unsigned char)tag;
	store_be64(kb + 5, unique);
	return (MDB_val){STORE_CONSUME_KEY, kb};
}

/* Deletes the oldest keys of (slot, tag) beyond the last `kept`. */
static int tagged_prune(struct store *s, MDB_txn *txn, uint32_t slot, char tag, size_t kept)
{
	MDB_cursor *c;
	unsigned char kb[STORE_CONSUME_KEY];
	MDB_val k = store_request_key(kb, slot, tag, 0), d;
	int rc = mdb_cursor_open(txn, s->requests, &c);
	if (rc)
		return rc;
	size_t count = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == STORE_CONSUME_KEY && memcmp(k.mv_data, kb, 5) == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		count++;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	for (; rc == 0 && count > kept; count--) {
		k = store_request_key(kb, slot, tag, 0);
		if ((rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE)) == 0)
			rc = mdb_cursor_del(c, 0);
	}
	mdb_cursor_close(c);
	return rc;
}

int store_consume_request_put(struct store *s, MDB_txn *txn, const struct store_request *req,
			      const struct store_consume_range *r, uint32_t n)
{
	unsigned char kb[STORE_CONSUME_KEY];
	unsigned char *buf = malloc((size_t)n * STORE_CONSUME_RANGE);
	if (!buf)
		return ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		store_be32(buf + i * STORE_CONSUME_RANGE, r[i].gpid);
		store_be64(buf + i * STORE_CONSUME_RANGE + 4, r[i].from);
		store_be64(buf + i * STORE_CONSUME_RANGE + 12, r[i].to);
	}
	MDB_val k = store_request_key(kb, req->slot, 'C', req->unique),
		d = {(size_t)n * STORE_CONSUME_RANGE, buf};
	int rc = mdb_put(txn, s->requests, &k, &d, 0);
	free(buf);
	return rc ? rc : tagged_prune(s, txn, req->slot, 'C', STORE_REQUESTS_KEPT);
}

int store_dir_request_put(struct store *s, MDB_txn *txn, uint64_t unique, enum store_dir_op op,
			  uint32_t id)
{
	if (!unique)
		return 0;
	unsigned char kb[STORE_CONSUME_KEY], db[STORE_DIR_DATA];
	db[0] = (unsigned char)op;
	store_be32(db + 1, id);
	MDB_val k = store_request_key(kb, STORE_DIR_SLOT, 'D', unique), d = {sizeof(db), db};
	int rc = mdb_put(txn, s->requests, &k, &d, 0);
	return rc ? rc : tagged_prune(s, txn, STORE_DIR_SLOT, 'D', STORE_DIR_REQUESTS_KEPT);
}
