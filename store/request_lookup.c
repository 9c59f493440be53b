/* request_lookup.c — whether a resent write(), consume, mkdir or rmdir was committed before the daemon died. */
#include <errno.h>
#include <string.h>

#include "store_int.h"

int store_request_done(struct store *s, const struct store_request *req, bool *done)
{
	MDB_txn *txn;
	unsigned char kb[4];
	store_be32(kb, req->slot);
	MDB_val k = {sizeof(kb), kb}, d;
	*done = false;
	int rc = store_read_begin(s, &txn); /* folds the WAL first */
	if (rc)
		return rc;
	rc = mdb_get(txn, s->requests, &k, &d);
	if (rc == 0) {
		for (size_t i = 0; i + 8 <= d.mv_size && !*done; i += 8) {
			uint64_t id;
			memcpy(&id, (const char *)d.mv_data + i, 8);
			*done = id == req->unique;
		}
	}
	store_read_end(s, txn);
	/* A fold that failed (a full disk) left it in the WAL's queue. */
	if (!*done && store_wal_has_request(s, req)) {
		*done = true;
		return 0;
	}
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc, "look up a write request");
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

int store_consume_request_get(struct store *s, const struct store_request *req,
			      struct store_consume_range *out, uint32_t cap, uint32_t *n)
{
	MDB_txn *txn;
	unsigned char kb[STORE_CONSUME_KEY];
	MDB_val k = store_request_key(kb, req->slot, 'C', req->unique), d;
	*n = 0;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->requests, &k, &d);
	if (rc == 0) {
		const unsigned char *p = d.mv_data;
		*n = (uint32_t)(d.mv_size / STORE_CONSUME_RANGE);
		for (uint32_t i = 0; i < *n && i < cap; i++)
			out[i] = (struct store_consume_range){store_get_be32(p + i * STORE_CONSUME_RANGE),
							      store_get_be64(p + i * STORE_CONSUME_RANGE + 4),
							      store_get_be64(p + i * STORE_CONSUME_RANGE + 12)};
	}
	store_read_end(s, txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return store_errno(rc, "look up a consume request");
}

int store_dir_request_get(struct store *s, uint64_t unique, enum store_dir_op op, bool *is_done,
			  uint32_t *id)
{
	MDB_txn *txn;
	unsigned char kb[STORE_CONSUME_KEY];
	MDB_val k = store_request_key(kb, STORE_DIR_SLOT, 'D', unique), d;
	*is_done = false;
	*id = 0;
	/* Raw: a mkdir or rmdir commits in a transaction of its own, never in the WAL. */
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, s->requests, &k, &d);
	/* Another op under the id cannot be this request: do it. */
	if (rc == 0 && d.mv_size == STORE_DIR_DATA && ((const unsigned char *)d.mv_data)[0] == op) {
		*is_done = true;
		*id = store_get_be32((const unsigned char *)d.mv_data + 1);
	}
	store_read_end(s, txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return store_errno(rc, "look up a mkdir or rmdir request");
}
