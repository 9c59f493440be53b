/* produce.h — producing: framing (lines or writes), keys, one atomic append per write(). */
#ifndef TOPICFS_PRODUCE_H
#define TOPICFS_PRODUCE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The most all producers together hold for partial lines (bytes allocated).
 * One open file holds at most a record's worth (max.message.bytes, plus a
 * key and its separator when key.separator is set). */
#define TFS_HELD_TOTAL_MAX ((size_t)128 << 20)

/* Where a lines producer is in the byte stream (see produce.c). */
enum tfs_line_state {
	TFS_LINE,    /* partial holds the start of the current line */
	TFS_DISCARD, /* the current line is over the limit: dropped up to its newline */
	TFS_RETRY,   /* the last write was refused for a line that began before it and
		      * ended retry_at bytes into it: its retry is refused as well */
};

struct tfs_producer_args {
	uint32_t topic_id;
	int64_t partition; /* -1: routed by key or round robin; else this partition index */
	const char *key;   /* from keys/<key>; NULL: none */
	size_t key_len;
	size_t write_max;  /* framing=writes: the longest write() taken as one record */
};

struct tfs_producer {
	pthread_mutex_t lock; /* guards everything below */
	struct store *store;
	uint32_t topic_id;
	int64_t partition;
	uint32_t framing;     /* the topic's config/framing when the file was opened */
	size_t write_max;
	char *key;            /* NULL: none */
	size_t key_len;
	char *partial;        /* lines: the unterminated tail of the last write */
	size_t partial_len;
	size_t partial_cap;   /* counted in tfs_producer_held_total() */
	enum tfs_line_state state;
	size_t retry_at;
	struct store_record_in *recs;
	size_t recs_cap;
};

/* A producer for one open file of topic a->topic_id. Its framing is the
 * topic's config/framing now: a file keeps the framing it was opened with.
 * 0, ENOENT (topic gone) or ENOMEM. */
int tfs_producer_open(struct tfs_producer **out, struct store *s,
		      const struct tfs_producer_args *a);
/* framing=lines: appends every complete line of buf (the held partial line
 * first) as one transaction and holds the rest. framing=writes: appends buf
 * as one record. 0, or: EMSGSIZE (a record over max.message.bytes, or a
 * write over write_max with framing=writes), EINVAL (a key over
 * STORE_KEY_MAX) — nothing of the write stored, and the held partial line
 * kept unless the refused record is the one it began; ENOBUFS (partial lines
 * would exceed TFS_HELD_TOTAL_MAX in all), ENOENT (topic gone), ENOSPC, EIO,
 * ENOMEM — state unchanged, the write may be retried. */
int tfs_producer_write(struct tfs_producer *p, const char *buf, size_t size);
/* tfs_producer_write that keeps req (may be NULL) with the records (store.h). */
int tfs_producer_write_req(struct tfs_producer *p, const char *buf, size_t size,
			   const struct store_request *req);
/* Appends the held partial line, if any, as a record. */
int tfs_producer_flush(struct tfs_producer *p);
void tfs_producer_free(struct tfs_producer *p);
/* Bytes all producers hold for partial lines now. */
size_t tfs_producer_held_total(void);

#endif
