/* fuzz_batch.c — libFuzzer target: the stored batch encoding (store/batch.h).
 * Mode 0 decodes arbitrary bytes, as if read from a damaged data.mdb: decoding
 * and every record access must stay inside the value. Mode 1 encodes records
 * cut from the input and checks that decoding gives them back exactly.
 * See fuzz_names.c for the list of targets and how they are run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

static int inside(const void *p, size_t n, const unsigned char *base, size_t len)
{
	const unsigned char *q = p;
	return q >= base && q <= base + len && n <= (size_t)(base + len - q);
}

struct bounds {
	const unsigned char *base;
	size_t len;
};

/* store_batch_locate reads through this: every read must stay inside the value. */
static int checked_copy(void *ctx, const void *src, void *dst, size_t n)
{
	const struct bounds *b = ctx;
	if (!inside(src, n, b->base, b->len))
		abort();
	memcpy(dst, src, n);
	return 0;
}

/* Locating record i (the pread path of single-record reads) stays inside the
 * value, and agrees with the decoder wherever both accept the record. */
static void locate_any(const unsigned char *val, size_t size, uint32_t i,
		       const struct store_batch *b)
{
	struct bounds bd = {val, size};
	struct store_batch lb;
	struct store_batch_rec loc, r, nokey;
	int nokey_rc = store_batch_locate(val, size, i, 0, checked_copy, &bd, &lb, &nokey);
	if (nokey_rc == 0 &&
	    (nokey.key || nokey.key_len || !inside(nokey.value, nokey.log_len, val, size)))
		abort();
	if (store_batch_locate(val, size, i, 1, checked_copy, &bd, &lb, &loc) != 0)
		return;
	/* Without the key, the same record, or none where only the key is bad. */
	if (nokey_rc == 0 && (nokey.value != loc.value || nokey.value_len != loc.value_len ||
			      nokey.start != loc.start))
		abort();
	if (!inside(loc.value, loc.log_len, val, size) ||
	    (loc.key && !inside(loc.key, loc.key_len, val, size)))
		abort();
	if (b && store_batch_record(b, i, &r) == 0 &&
	    (r.value != loc.value || r.value_len != loc.value_len || r.start != loc.start ||
	     r.log_len != loc.log_len || r.key != loc.key || r.key_len != loc.key_len ||
	     b->timestamp_ms != lb.timestamp_ms || b->base_pos != lb.base_pos))
		abort();
}

static void decode_any(const uint8_t *data, size_t size)
{
	unsigned char *val = malloc(size ? size : 1);
	if (!val)
		return;
	memcpy(val, data, size);
	struct store_batch b, h;
	struct bounds bd = {val, size};
	int decoded = store_batch_decode(&b, val, size) == 0;
	/* The header read through copy() (log reads of big batches) is the same. */
	if ((store_batch_head(&h, val, size, checked_copy, &bd) == 0) != decoded ||
	    (decoded && (h.count != b.count || h.timestamp_ms != b.timestamp_ms ||
			 h.base_pos != b.base_pos || h.data_len != b.data_len ||
			 h.keys_len != b.keys_len || h.ends != b.ends || h.data != b.data ||
			 h.keys != b.keys)))
		abort();
	for (uint32_t i = 0; i < 4; i++)
		locate_any(val, size, i, decoded ? &b : NULL);
	if (decoded) {
		/* count is bounded by the size check, so walking it all is cheap */
		for (uint32_t i = 0; i <= b.count; i++) {
			struct store_batch_rec r;
			locate_any(val, size, i, &b);
			if (store_batch_record(&b, i, &r) != 0)
				continue;
			if (i == b.count || !inside(r.value, r.value_len + 1, val, size) ||
			    ((const unsigned char *)r.value)[r.value_len] != '\n' ||
			    r.log_len != r.value_len + 1 ||
			    (r.key && !inside(r.key, r.key_len, val, size)))
				abort();
		}
	}
	free(val);
}

static void round_trip(const uint8_t *data, size_t size)
{
	/* Records: [flags][len] then len bytes of value, key taken from the
	 * value's tail when flags says so. */
	struct store_record_in recs[64];
	size_t idx[64], n = 0, i = 0;
	while (i + 2 <= size && n < 64) {
		uint8_t flags = data[i], len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = (uint8_t)(size - i);
		struct store_record_in *r = &recs[n];
		size_t klen = (flags & 1) ? (flags >> 1) % (len + 1u) : 0;
		r->value = data + i;
		r->value_len = len - klen;
		r->key = (flags & 1) ? data + i + r->value_len : NULL;
		r->key_len = klen;
		idx[n] = n;
		n++;
		i += len;
	}
	if (n == 0)
		return;
	size_t bs = store_batch_size(recs, idx, n);
	unsigned char *buf = malloc(bs);
	if (!buf)
		return;
	uint64_t log = store_batch_encode(buf, recs, idx, n, 1234567, 42);
	struct store_batch b;
	if (store_batch_decode(&b, buf, bs) != 0 || b.count != n || b.timestamp_ms != 1234567 ||
	    b.base_pos != 42 || b.data_len != log)
		abort();
	uint64_t pos = 0;
	for (size_t j = 0; j < n; j++) {
		struct store_batch_rec r, loc;
		struct store_batch lb;
		struct bounds bd = {buf, bs};
		if (store_batch_locate(buf, bs, (uint32_t)j, 1, checked_copy, &bd, &lb, &loc) != 0)
			abort();
		locate_any(buf, bs, (uint32_t)j, &b);
		if (store_batch_record(&b, (uint32_t)j, &r) != 0 || r.start != pos ||
		    r.value_len != recs[j].value_len ||
		    memcmp(r.value, recs[j].value, r.value_len) != 0 || !r.key != !recs[j].key ||
		    r.key_len != recs[j].key_len ||
		    (r.key_len && memcmp(r.key, recs[j].key, r.key_len) != 0))
			abort();
		pos += r.log_len;
	}
	if (pos != log)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		decode_any(data + 1, size - 1);
	return 0;
}
