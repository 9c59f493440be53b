/* requests.c — which write() requests are committed, so a resent one is not stored twice. */
#include <errno.h>
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
