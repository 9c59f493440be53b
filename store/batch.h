/* batch.h — encoding of a batch of records (the value in the "batches" DB). */
#ifndef TOPICFS_BATCH_H
#define TOPICFS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A batch gets records while data + keys + per-record arrays fit in this many
 * bytes; a single larger record gets a batch of its own. */
#define STORE_BATCH_TARGET (1024 * 1024)

struct store_batch {
	uint32_t count;
	int64_t timestamp_ms;
	uint64_t base_pos;
	uint32_t data_len;
	uint32_t keys_len;
	const unsigned char *ends;     /* u32[count] */
	const unsigned char *key_offs; /* u32[count] */
	const unsigned char *key_lens; /* u32[count] */
	const unsigned char *data;
	const unsigned char *keys;
};

/* Bytes needed by a record in a batch besides its value and key. */
#define STORE_BATCH_REC_OVERHEAD 13 /* three u32 + the '\n' */

/* Encoded size of the records recs[idx[0..n-1]]. */
size_t store_batch_size(const struct store_record_in *recs, const size_t *idx, size_t n);
/* Writes them into dst (store_batch_size bytes); returns their log bytes. */
uint64_t store_batch_encode(void *dst, const struct store_record_in *recs, const size_t *idx,
			    size_t n, int64_t timestamp_ms, uint64_t base_pos);
/* Checks the header and sizes of an encoded batch. EIO: not a valid batch. */
int store_batch_decode(struct store_batch *b, const void *val, size_t len);

struct store_batch_rec {
	uint32_t start;     /* offset of the value in the data region */
	uint32_t log_len;   /* value_len + 1 */
	const void *value;
	size_t value_len;
	const void *key;    /* NULL: no key */
	size_t key_len;
};
/* Record i of a decoded batch. EIO: i out of range or the batch is corrupt. */
int store_batch_record(const struct store_batch *b, uint32_t i, struct store_batch_rec *r);

/* Reads len bytes at src (inside a batch value) into dst: 0 or an errno. */
typedef int (*store_batch_copy_fn)(void *ctx, const void *src, void *dst, size_t len);

/* store_batch_decode reading only the header, through copy(). */
int store_batch_head(struct store_batch *b, const void *val, size_t len, store_batch_copy_fn copy,
		     void *ctx);

/* store_batch_decode and store_batch_record in one, reading through copy()
 * only the header and record i's entries: b's regions and r's value and key
 * are where they lie in val, not read (nor is the value's '\n' checked).
 * Without with_key, r's key is left NULL and its entries are not read. */
int store_batch_locate(const void *val, size_t len, uint32_t i, int with_key,
		       store_batch_copy_fn copy, void *ctx, struct store_batch *b,
		       struct store_batch_rec *r);

#endif
