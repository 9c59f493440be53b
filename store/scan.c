/* scan.c — records of a partition one after another, in one read transaction.
 *
 * Batches big enough to lie in overflow pages of their own are read with
 * pread(2) into a buffer rather than through the map: a scan reads everything,
 * and the map pages it would touch (and the kernel's fault-around neighbours,
 * other partitions' batches) would stay in the daemon's RSS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "store_int.h"

/* Batches at least this big are read with pread(2) (see read.c's HEADER_PREAD_MIN). */
#define SCAN_PREAD_MIN 2048

struct scan_buf {
	void *p;
	size_t size;
};

/* The batch's bytes: in the map, or read into buf. NULL on failure. */
static const void *batch_bytes(struct store *s, const MDB_val *d, struct scan_buf *buf,
			       size_t *mapped)
{
	if (d->mv_size < SCAN_PREAD_MIN) {
		*mapped += d->mv_size;
		return d->mv_data;
	}
	if (buf->size < d->mv_size) {
		void *p = realloc(buf->p, d->mv_size);
		if (!p)
			return NULL;
		buf->p = p;
		buf->size = d->mv_size;
	}
	return store_map_copy(s, d->mv_data, buf->p, d->mv_size) ? NULL : buf->p;
}

static int scan_txn(struct store *s, MDB_txn *txn, uint32_t gpid, uint64_t from, size_t max,
		    store_record_fn fn, void *arg, int *fn_rc, size_t *mapped, struct scan_buf *buf)
{
	struct store_part_rec p;
	int rc = store_part_get_rec(s, txn, gpid, &p);
	if (rc)
		return rc;
	if (from < p.start_offset)
		return ERANGE;
	if (from >= p.end_offset || max == 0)
		return 0;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, s->batches, &c)))
		return rc;
	/* The batch holding `from` is the last one based at or before it. */
	unsigned char kb[12];
	store_be32(kb, gpid);
	store_be64(kb + 4, from);
	MDB_val k = {sizeof kb, kb}, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && (k.mv_size != sizeof kb || memcmp(k.mv_data, kb, sizeof kb) != 0))
		rc = mdb_cursor_get(c, &k, &d, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	uint64_t offset = from;
	size_t done = 0;
	while (rc == 0 && done < max && offset < p.end_offset) {
		struct store_batch b;
		const void *bytes = batch_bytes(s, &d, buf, mapped);
		if (!bytes) {
			rc = ENOMEM;
			break;
		}
		if (k.mv_size != sizeof kb || store_get_be32(k.mv_data) != gpid ||
		    store_batch_decode(&b, bytes, d.mv_size)) {
			rc = store_corrupt("scan", gpid);
			break;
		}
		uint64_t base = store_get_be64((unsigned char *)k.mv_data + 4);
		if (offset < base || offset - base >= b.count) {
			rc = store_corrupt("scan", gpid);
			break;
		}
		for (uint32_t i = (uint32_t)(offset - base); i < b.count && done < max; i++) {
			struct store_batch_rec br;
			if (store_batch_record(&b, i, &br)) {
				rc = store_corrupt("scan", gpid);
				break;
			}
			struct store_record r = {
				.gpid = gpid,
				.offset = offset,
				.timestamp_ms = b.timestamp_ms,
				.pos = b.base_pos + br.start,
				.key = br.key,
				.key_len = br.key_len,
				.value = br.value,
				.value_len = br.value_len,
			};
			if ((*fn_rc = fn(&r, arg)) != 0)
				goto out;
			offset++;
			done++;
		}
		if (rc == 0 && done < max && offset < p.end_offset)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
out:
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? store_corrupt("scan", gpid) : rc;
}

int store_record_scan(struct store *s, uint32_t gpid, uint64_t from, size_t max,
		      store_record_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	int fn_rc = 0;
	size_t mapped = 0;
	struct scan_buf buf = {NULL, 0};
	rc = scan_txn(s, txn, gpid, from, max, fn, arg, &fn_rc, &mapped, &buf);
	free(buf.p);
	/* Read through the map: unmapped again now and then (resident.c). */
	store_count_mapped(s, mapped);
	store_read_end(s, txn);
	if (fn_rc)
		return fn_rc;
	return store_errno(rc, "scan");
}
