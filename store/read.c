/* read.c — reading records by offset and the log by byte position. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "batch.h"
#include "store_int.h"

/* Positions c on the entry with the largest (gpid, x) key <= (gpid, v); kb is
 * the caller's, so k stays valid whichever key LMDB hands back. MDB_NOTFOUND
 * when the partition has no such entry. */
int store_seek_floor(MDB_cursor *c, uint32_t gpid, uint64_t v, unsigned char kb[12], MDB_val *k,
		     MDB_val *d)
{
	store_be32(kb, gpid);
	store_be64(kb + 4, v);
	k->mv_size = 12;
	k->mv_data = kb;
	int rc = mdb_cursor_get(c, k, d, MDB_SET_RANGE);
	if (rc == 0 && k->mv_size == 12 && memcmp(k->mv_data, kb, 12) == 0)
		return 0;
	if (rc == 0)
		rc = mdb_cursor_get(c, k, d, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, k, d, MDB_LAST);
	if (rc)
		return rc;
	if (k->mv_size != 12 || store_get_be32(k->mv_data) != gpid)
		return MDB_NOTFOUND;
	return 0;
}

/* What a record read reads besides the head. */
enum { WITH_VALUE = 1, WITH_KEY = 2 };

static int record_view_txn(struct store *s, MDB_txn *txn, uint32_t gpid, uint64_t offset,
			   unsigned with, store_record_fn fn, void *arg, int *fn_called)
{
	struct store_part_rec p;
	int rc = store_part_get_rec(s, txn, gpid, &p);
	if (rc)
		return rc;
	if (offset < p.start_offset || offset >= p.end_offset)
		return ENOENT;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, s->batches, &c)))
		return rc;
	unsigned char kb[12];
	MDB_val k, d;
	rc = store_seek_floor(c, gpid, offset, kb, &k, &d);
	mdb_cursor_close(c);
	if (rc)
		return rc == MDB_NOTFOUND ? store_corrupt("read record", gpid) : rc;
	uint64_t base = store_get_be64((unsigned char *)k.mv_data + 4);
	struct store_batch b;
	struct store_batch_rec br;
	if (offset - base > UINT32_MAX ||
	    store_batch_locate(d.mv_data, d.mv_size, (uint32_t)(offset - base),
			       (with & WITH_KEY) != 0, store_map_copy, s, &b, &br))
		return store_corrupt("read record", gpid);
	struct store_record r = {
		.gpid = gpid,
		.offset = offset,
		.timestamp_ms = b.timestamp_ms,
		.pos = b.base_pos + br.start,
		.key_len = br.key_len,
		.value_len = br.value_len,
	};
	/* The value with its '\n' (checked), then the key. */
	char small[4096], *buf = small;
	size_t vlen = (with & WITH_VALUE) ? br.log_len : 0;
	size_t need = vlen + br.key_len;
	if (need > sizeof small && !(buf = malloc(need)))
		return ENOMEM;
	rc = vlen ? store_map_copy(s, br.value, buf, vlen) : 0;
	if (!rc && br.key)
		rc = store_map_copy(s, br.key, buf + vlen, br.key_len);
	if (!rc && vlen && buf[br.value_len] != '\n')
		rc = store_corrupt("read record", gpid);
	r.value = vlen ? buf : NULL;
	r.key = br.key ? buf + vlen : NULL;
	if (!rc) {
		*fn_called = 1;
		rc = fn(&r, arg);
	}
	if (buf != small)
		free(buf);
	return rc;
}

static int record_get(struct store *s, uint32_t gpid, uint64_t offset, unsigned with,
		      store_record_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	int fn_called = 0;
	rc = record_view_txn(s, txn, gpid, offset, with, fn, arg, &fn_called);
	store_read_end(s, txn);
	/* fn's result is the caller's business, never an LMDB code to translate. */
	return fn_called ? rc : store_errno(rc, "read record");
}

int store_record_view(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		      void *arg)
{
	return record_get(s, gpid, offset, WITH_VALUE | WITH_KEY, fn, arg);
}

int store_record_value(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		       void *arg)
{
	return record_get(s, gpid, offset, WITH_VALUE, fn, arg);
}

int store_record_head(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		      void *arg)
{
	return record_get(s, gpid, offset, 0, fn, arg);
}

/* A batch this big lies in LMDB overflow pages of its own (values over about
 * 2 KiB with 4 KiB pages), so its header is not on the B-tree leaf the cursor
 * just read: it is read with pread(2). Mapping its page would cost a fault (the
 * dearest thing on a VM: 8 KiB batches read 1.6x faster this way) and keep it
 * mapped, while big pieces of data are spliced from the file, never mapped. */
#define HEADER_PREAD_MIN 2048

/* Gathers the log bytes [pos, pos + size) into at most STORE_LOG_IOV_MAX
 * pieces that point into the map; stops early (a short read) past that. */
static int log_view_txn(struct store *s, MDB_txn *txn, uint32_t gpid, uint64_t pos, size_t size,
			struct iovec *iov, int *count)
{
	struct store_part_rec p;
	size_t got = 0;
	int rc = store_part_get_rec(s, txn, gpid, &p);
	*count = 0;
	if (rc)
		return rc;
	if (pos < p.start_pos)
		return ERANGE;
	if (pos >= p.end_pos || size == 0)
		return 0;
	if (size > p.end_pos - pos)
		size = (size_t)(p.end_pos - pos);

	MDB_cursor *c;
	unsigned char kb[12];
	MDB_val k, d;
	if ((rc = mdb_cursor_open(txn, s->positions, &c)))
		return rc;
	rc = store_seek_floor(c, gpid, pos, kb, &k, &d);
	mdb_cursor_close(c);
	if (rc)
		return rc == MDB_NOTFOUND ? store_corrupt("read log", gpid) : rc;
	uint64_t base_offset;
	if (d.mv_size != sizeof(base_offset))
		return store_corrupt("read log", gpid);
	memcpy(&base_offset, d.mv_data, sizeof(base_offset));

	if ((rc = mdb_cursor_open(txn, s->batches, &c)))
		return rc;
	store_be32(kb, gpid);
	store_be64(kb + 4, base_offset);
	k.mv_size = sizeof(kb);
	k.mv_data = kb;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
	while (rc == 0 && got < size && *count < STORE_LOG_IOV_MAX) {
		struct store_batch b;
		/* Batches tile the log up to end_pos: each starts where the
		 * previous one ended. */
		if (k.mv_size != sizeof(kb) || store_get_be32(k.mv_data) != gpid ||
		    (d.mv_size >= HEADER_PREAD_MIN
			     ? store_batch_head(&b, d.mv_data, d.mv_size, store_map_copy, s)
			     : store_batch_decode(&b, d.mv_data, d.mv_size)) ||
		    b.base_pos > pos ||
		    pos - b.base_pos >= b.data_len) {
			rc = store_corrupt("read log", gpid);
			break;
		}
		size_t from = (size_t)(pos - b.base_pos);
		size_t n = b.data_len - from;
		if (n > size - got)
			n = size - got;
		iov[*count].iov_base = (void *)(b.data + from);
		iov[*count].iov_len = n;
		(*count)++;
		got += n;
		pos += n;
		if (got < size)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = store_corrupt("read log", gpid);
	return rc;
}

size_t store_iov_bytes(const struct iovec *iov, int count)
{
	size_t bytes = 0;
	for (int i = 0; i < count; i++)
		bytes += iov[i].iov_len;
	return bytes;
}

static int log_view(struct store *s, uint32_t gpid, uint64_t pos, size_t size, store_log_fn fn,
		    void *arg, int counted)
{
	struct iovec iov[STORE_LOG_IOV_MAX];
	int count;
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = log_view_txn(s, txn, gpid, pos, size, iov, &count);
	if (rc == 0) {
		rc = fn(iov, count, arg);
		if (counted)
			store_count_mapped(s, store_iov_bytes(iov, count));
	} else {
		rc = store_errno(rc, "read log");
	}
	store_read_end(s, txn);
	return rc;
}

int store_log_view(struct store *s, uint32_t gpid, uint64_t pos, size_t size, store_log_fn fn,
		   void *arg)
{
	return log_view(s, gpid, pos, size, fn, arg, 1);
}

int store_log_view_uncounted(struct store *s, uint32_t gpid, uint64_t pos, size_t size,
			     store_log_fn fn, void *arg)
{
	return log_view(s, gpid, pos, size, fn, arg, 0);
}

struct log_copy {
	unsigned char *buf;
	size_t got;
};

static int log_copy_fn(const struct iovec *iov, int count, void *arg)
{
	struct log_copy *lc = arg;
	for (int i = 0; i < count; i++) {
		memcpy(lc->buf + lc->got, iov[i].iov_base, iov[i].iov_len);
		lc->got += iov[i].iov_len;
	}
	return 0;
}

int store_log_read(struct store *s, uint32_t gpid, uint64_t pos, void *buf, size_t size,
		   size_t *got)
{
	struct log_copy lc = {buf, 0};
	*got = 0;
	int rc;
	/* A view stops at STORE_LOG_IOV_MAX pieces: go on until size or the end. */
	do {
		size_t before = lc.got;
		rc = store_log_view(s, gpid, pos + lc.got, size - lc.got, log_copy_fn, &lc);
		if (rc || lc.got == before)
			break;
	} while (lc.got < size);
	*got = rc ? 0 : lc.got;
	return rc;
}
