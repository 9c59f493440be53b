/* produce.h — producing: newline framing, keys, one atomic append per write(). */
#ifndef TOPICFS_PRODUCE_H
#define TOPICFS_PRODUCE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct tfs_producer {
	pthread_mutex_t lock; /* guards everything below */
	struct store *store;
	uint32_t topic_id;
	char *key;            /* from keys/<key>; NULL: none */
	size_t key_len;
	char *partial;        /* the unterminated tail of the last write */
	size_t partial_len;
	size_t partial_cap;
	int discarding;       /* dropping the rest of an oversized line */
	struct store_record_in *recs;
	size_t recs_cap;
};

/* NULL on ENOMEM. key may be NULL. */
struct tfs_producer *tfs_producer_new(struct store *s, uint32_t topic_id, const char *key,
				      size_t key_len);
/* Appends every complete line of buf (after the held partial line) as one
 * transaction. 0, or EMSGSIZE (a record over max.message.bytes: the write
 * and the partial line are dropped), ENOENT (topic gone), ENOSPC, EIO, ENOMEM
 * (state unchanged, the write may be retried). */
int tfs_producer_write(struct tfs_producer *p, const char *buf, size_t size);
/* tfs_producer_write that keeps req (may be NULL) with the records (store.h). */
int tfs_producer_write_req(struct tfs_producer *p, const char *buf, size_t size,
			   const struct store_request *req);
/* Appends the held partial line, if any, as a record. */
int tfs_producer_flush(struct tfs_producer *p);
void tfs_producer_free(struct tfs_producer *p);

#endif
