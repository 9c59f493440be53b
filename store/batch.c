/* batch.c — the byte layout of a batch of records, and access to record i.
 *
 * A batch is the value stored under (gpid, base offset) in the "batches" DB.
 * All fields are fixed-width and native-endian; LMDB values are not aligned,
 * so every field is read and written with memcpy.
 *
 *   offset        size        field
 *   0             4           magic 0x31424654 ("TFB1" on little-endian): layout version
 *   4             4           count: records in the batch, >= 1
 *   8             8           timestamp_ms (int64): the commit time, shared by all records
 *   16            8           base_pos: log byte position of the first record
 *   24            4           data_len: bytes in the data region
 *   28            4           keys_len: bytes in the key region
 *   32            4 * count   end[i]: end of record i's log bytes (after its '\n'),
 *                             relative to the data region; strictly increasing
 *   32 + 4c       4 * count   key_off[i]: start of key i in the key region
 *   32 + 8c       4 * count   key_len[i]: key length, or 0xffffffff for "no key"
 *                             (distinct from an empty key, length 0)
 *   32 + 12c      data_len    data: value_0 '\n' value_1 '\n' ... exactly the log bytes
 *   ... + data_len keys_len   keys: the keys' bytes, concatenated
 *
 * Record i (offset base + i) therefore occupies data[end[i-1] .. end[i]) (end[-1]
 * = 0) and sits at log position base_pos + end[i-1]; reading the log is a memcpy
 * of the data region.
 */
#include <errno.h>
#include <string.h>

#include "batch.h"

#define BATCH_MAGIC 0x31424654u
#define BATCH_HEADER 32
#define BATCH_NO_KEY 0xffffffffu

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

size_t store_batch_size(const struct store_record_in *recs, const size_t *idx, size_t n)
{
	size_t size = BATCH_HEADER;
	for (size_t j = 0; j < n; j++) {
		const struct store_record_in *r = &recs[idx[j]];
		size += STORE_BATCH_REC_OVERHEAD + r->value_len + (r->key ? r->key_len : 0);
	}
	return size;
}

uint64_t store_batch_encode(void *dst, const struct store_record_in *recs, const size_t *idx,
			    size_t n, int64_t timestamp_ms, uint64_t base_pos)
{
	unsigned char *p = dst;
	uint32_t data_len = 0, keys_len = 0;
	for (size_t j = 0; j < n; j++) {
		const struct store_record_in *r = &recs[idx[j]];
		data_len += (uint32_t)r->value_len + 1;
		keys_len += r->key ? (uint32_t)r->key_len : 0;
	}
	put32(p, BATCH_MAGIC);
	put32(p + 4, (uint32_t)n);
	memcpy(p + 8, &timestamp_ms, 8);
	memcpy(p + 16, &base_pos, 8);
	put32(p + 24, data_len);
	put32(p + 28, keys_len);

	unsigned char *ends = p + BATCH_HEADER, *koffs = ends + 4 * n, *klens = koffs + 4 * n;
	unsigned char *data = klens + 4 * n, *keys = data + data_len;
	uint32_t end = 0, koff = 0;
	for (size_t j = 0; j < n; j++) {
		const struct store_record_in *r = &recs[idx[j]];
		if (r->value_len)
			memcpy(data + end, r->value, r->value_len);
		end += (uint32_t)r->value_len;
		data[end++] = '\n';
		put32(ends + 4 * j, end);
		put32(koffs + 4 * j, koff);
		if (r->key) {
			if (r->key_len)
				memcpy(keys + koff, r->key, r->key_len);
			put32(klens + 4 * j, (uint32_t)r->key_len);
			koff += (uint32_t)r->key_len;
		} else {
			put32(klens + 4 * j, BATCH_NO_KEY);
		}
	}
	return data_len;
}

/* Reads the header h of the batch at val (len bytes): its fields, and where
 * its regions lie in val (nothing in them is read). */
static int header(struct store_batch *b, const unsigned char *h, const void *val, size_t len)
{
	if (len < BATCH_HEADER || get32(h) != BATCH_MAGIC)
		return EIO;
	b->count = get32(h + 4);
	memcpy(&b->timestamp_ms, h + 8, 8);
	memcpy(&b->base_pos, h + 16, 8);
	b->data_len = get32(h + 24);
	b->keys_len = get32(h + 28);
	/* 64-bit sums of 32-bit fields cannot overflow. */
	uint64_t want = BATCH_HEADER + 12 * (uint64_t)b->count + b->data_len + b->keys_len;
	if (b->count == 0 || want != len)
		return EIO;
	b->ends = (const unsigned char *)val + BATCH_HEADER;
	b->key_offs = b->ends + 4 * (size_t)b->count;
	b->key_lens = b->key_offs + 4 * (size_t)b->count;
	b->data = b->key_lens + 4 * (size_t)b->count;
	b->keys = b->data + b->data_len;
	return 0;
}

int store_batch_decode(struct store_batch *b, const void *val, size_t len)
{
	return header(b, val, val, len);
}

/* Record i from its entries: end[i-1] (start), end[i], key_off[i], key_len[i]
 * (key_off is ignored without a key). Checks the bounds, not the '\n'. */
static int record(const struct store_batch *b, uint32_t start, uint32_t end, uint32_t koff,
		  uint32_t klen, struct store_batch_rec *r)
{
	if (end <= start || end > b->data_len)
		return EIO;
	r->start = start;
	r->log_len = end - start;
	r->value = b->data + start;
	r->value_len = end - start - 1;
	if (klen == BATCH_NO_KEY) {
		r->key = NULL;
		r->key_len = 0;
	} else {
		if (koff > b->keys_len || klen > b->keys_len - koff)
			return EIO;
		r->key = b->keys + koff;
		r->key_len = klen;
	}
	return 0;
}

int store_batch_record(const struct store_batch *b, uint32_t i, struct store_batch_rec *r)
{
	if (i >= b->count)
		return EIO;
	uint32_t start = i ? get32(b->ends + 4 * (size_t)(i - 1)) : 0;
	int rc = record(b, start, get32(b->ends + 4 * (size_t)i),
			get32(b->key_offs + 4 * (size_t)i), get32(b->key_lens + 4 * (size_t)i), r);
	if (rc == 0 && ((const unsigned char *)r->value)[r->value_len] != '\n')
		rc = EIO;
	return rc;
}

int store_batch_head(struct store_batch *b, const void *val, size_t len, store_batch_copy_fn copy,
		     void *ctx)
{
	unsigned char h[BATCH_HEADER];
	if (len < BATCH_HEADER || copy(ctx, val, h, sizeof h))
		return EIO;
	return header(b, h, val, len);
}

int store_batch_locate(const void *val, size_t len, uint32_t i, int with_key,
		       store_batch_copy_fn copy, void *ctx, struct store_batch *b,
		       struct store_batch_rec *r)
{
	unsigned char e[8], k[4];
	uint32_t koff = 0, klen = BATCH_NO_KEY;
	if (store_batch_head(b, val, len, copy, ctx) || i >= b->count)
		return EIO;
	if (i > 0 ? copy(ctx, b->ends + 4 * (size_t)(i - 1), e, 8) : copy(ctx, b->ends, e + 4, 4))
		return EIO;
	if (with_key) {
		if (copy(ctx, b->key_lens + 4 * (size_t)i, k, 4))
			return EIO;
		klen = get32(k);
	}
	if (klen != BATCH_NO_KEY) {
		if (copy(ctx, b->key_offs + 4 * (size_t)i, k, 4))
			return EIO;
		koff = get32(k);
	}
	return record(b, i ? get32(e) : 0, get32(e + 4), koff, klen, r);
}
