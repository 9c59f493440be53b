/* produce.c — turns the bytes written to a produce file or keys/<key> into records.
 *
 * framing=writes is simple: each write is one record. framing=lines is a
 * state machine over the byte stream of one open file, shaped by what the
 * caller sees of a refusal. A write() over 1 MiB reaches us as several
 * requests; when one of them fails the kernel returns a short count for
 * those before it, and the caller (dd, Python, stdio) writes the rest again,
 * starting with the refused request. So:
 *  - A refused write changes nothing, as POSIX has it: the held partial line
 *    stays, and the write may be retried (or another written instead).
 *  - Except when the refused record is the line the held part began: that
 *    part was acknowledged but can never be stored, so it is dropped. If
 *    the refused write carried the line's newline, the next write whose first
 *    newline is at the same place is its retry, and is refused too (RETRY);
 *    if it did not, the line's rest is dropped up to its newline, and the
 *    writes that carry it are refused (DISCARD). Either way nothing of an
 *    oversized line is ever stored, nor its rest made a record of its own.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "produce.h"

/* Partial-line bytes allocated by all producers (see TFS_HELD_TOTAL_MAX). */
static atomic_size_t held_total;

/* Shrink a partial buffer this big once it holds little. */
#define PARTIAL_KEEP (64 * 1024)
/* A records array this long is freed after its write. */
#define RECS_KEEP 4096

size_t tfs_producer_held_total(void)
{
	return atomic_load(&held_total);
}

int tfs_producer_open(struct tfs_producer **out, struct store *s,
		      const struct tfs_producer_args *a)
{
	struct store_topic t;
	int err = store_topic_by_id(s, a->topic_id, &t);
	if (err)
		return err;
	struct tfs_producer *p = calloc(1, sizeof *p);
	if (!p)
		return ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->store = s;
	p->topic_id = a->topic_id;
	p->partition = a->partition;
	p->framing = t.config.framing;
	p->write_max = a->write_max;
	if (a->key) {
		p->key = malloc(a->key_len + 1);
		if (!p->key) {
			tfs_producer_free(p);
			return ENOMEM;
		}
		memcpy(p->key, a->key, a->key_len);
		p->key_len = a->key_len;
	}
	*out = p;
	return 0;
}

/* Gives the partial buffer's memory back (all of it when cap is 0). */
static void partial_shrink(struct tfs_producer *p, size_t cap)
{
	if (cap >= p->partial_cap)
		return;
	char *b = cap ? realloc(p->partial, cap) : NULL;
	if (cap && !b)
		return; /* keeps the bigger buffer, still counted */
	if (!cap)
		free(p->partial);
	atomic_fetch_sub(&held_total, p->partial_cap - cap);
	p->partial = b;
	p->partial_cap = cap;
}

void tfs_producer_free(struct tfs_producer *p)
{
	if (!p)
		return;
	partial_shrink(p, 0);
	pthread_mutex_destroy(&p->lock);
	free(p->key);
	free(p->recs);
	free(p);
}

/* Room for need bytes in the partial buffer, at most limit (the per-file
 * bound), within TFS_HELD_TOTAL_MAX for all. ENOBUFS or ENOMEM: unchanged. */
static int partial_grow(struct tfs_producer *p, size_t need, size_t limit)
{
	if (need <= p->partial_cap)
		return 0;
	size_t n = p->partial_cap ? 2 * p->partial_cap : 4096;
	if (n > limit)
		n = limit;
	if (n < need)
		n = need;
	size_t more = n - p->partial_cap;
	if (atomic_fetch_add(&held_total, more) + more > TFS_HELD_TOTAL_MAX) {
		atomic_fetch_sub(&held_total, more);
		return ENOBUFS;
	}
	char *b = realloc(p->partial, n);
	if (!b) {
		atomic_fetch_sub(&held_total, more);
		return ENOMEM;
	}
	p->partial = b;
	p->partial_cap = n;
	return 0;
}

static int recs_reserve(struct tfs_producer *p, size_t need)
{
	if (need <= p->recs_cap)
		return 0;
	size_t n = p->recs_cap ? p->recs_cap : 16;
	while (n < need)
		n *= 2;
	void *b = realloc(p->recs, n * sizeof *p->recs);
	if (!b)
		return ENOMEM;
	p->recs = b;
	p->recs_cap = n;
	return 0;
}

/* After a write: memory a big write needed is not kept for the next one. */
static void trim(struct tfs_producer *p)
{
	if (p->recs_cap > RECS_KEEP) {
		free(p->recs);
		p->recs = NULL;
		p->recs_cap = 0;
	}
	if (p->partial_cap > PARTIAL_KEEP && p->partial_len <= p->partial_cap / 4)
		partial_shrink(p, p->partial_len > PARTIAL_KEEP ? p->partial_len : PARTIAL_KEEP);
	if (p->partial_len == 0 && p->partial_cap > PARTIAL_KEEP)
		partial_shrink(p, 0);
}

/* req (may be NULL) is kept with the records (store_append_req). */
static int append(struct tfs_producer *p, const struct store_record_in *recs, size_t n,
		  const struct store_request *req)
{
	if (p->partition < 0)
		return store_append_req(p->store, p->topic_id, recs, n, req);
	return store_append_to_req(p->store, p->topic_id, (uint32_t)p->partition, recs, n, req);
}

/* One line becomes one record: the key comes from keys/<key>, else from the
 * text before the first key.separator (which is then not part of the value). */
static void make_record(const struct tfs_producer *p, const struct store_config *cfg,
			const char *line, size_t len, struct store_record_in *r)
{
	size_t seplen = strlen(cfg->key_separator);
	r->key = NULL;
	r->key_len = 0;
	r->value = line;
	r->value_len = len;
	if (p->key) {
		r->key = p->key;
		r->key_len = p->key_len;
	} else if (seplen) {
		const char *sep = memmem(line, len, cfg->key_separator, seplen);
		if (sep) {
			r->key = line;
			r->key_len = (size_t)(sep - line);
			r->value = sep + seplen;
			r->value_len = len - r->key_len - seplen;
		}
	}
}

/* Why the store would refuse r: EMSGSIZE, EINVAL (key too long), or 0. */
static int refusal(const struct store_record_in *r, const struct store_config *cfg)
{
	if (r->value_len > (size_t)cfg->max_message_bytes)
		return EMSGSIZE;
	if (r->key && r->key_len > STORE_KEY_MAX)
		return EINVAL;
	return 0;
}

/* The longest line a record can be made of: a value, and a key with its
 * separator. Also the most one open file holds. */
static size_t line_limit(const struct tfs_producer *p, const struct store_config *cfg)
{
	size_t limit = (size_t)cfg->max_message_bytes;
	if (!p->key && cfg->key_separator[0])
		limit += STORE_KEY_MAX + STORE_SEPARATOR_MAX;
	return limit;
}

/* The held part began the refused line: it is dropped, and the writes that
 * carry the line's rest are refused as well (see the top of the file). */
static int refuse_held_line(struct tfs_producer *p, const char *buf, const char *nl, int err)
{
	p->partial_len = 0;
	p->state = nl ? TFS_RETRY : TFS_DISCARD;
	p->retry_at = nl ? (size_t)(nl - buf) : 0;
	return err;
}

static int write_lines(struct tfs_producer *p, const struct store_config *cfg, const char *buf,
		       size_t size, const struct store_request *req)
{
	const char *end = buf + size;
	const char *nl = memchr(buf, '\n', size);
	size_t first = nl ? (size_t)(nl - buf) : size; /* bytes before the first newline */

	if (p->state == TFS_RETRY) {
		p->state = TFS_LINE;
		if (nl && first == p->retry_at) {
			p->partial_len = 0;
			return EMSGSIZE;
		}
	}
	if (p->state == TFS_DISCARD)
		return nl ? refuse_held_line(p, buf, nl, EMSGSIZE) : EMSGSIZE;

	size_t held = p->partial_len, limit = line_limit(p, cfg);
	if (held && held + first > limit) /* over the limit whatever the key */
		return refuse_held_line(p, buf, nl, EMSGSIZE);
	if (!nl) {
		int err = held + size > limit ? EMSGSIZE : partial_grow(p, held + size, limit);
		if (err)
			return err; /* the line starts in this write: nothing to drop */
		memcpy(p->partial + held, buf, size);
		p->partial_len += size;
		return 0;
	}

	size_t lines = 0;
	for (const char *q = nl; q; q = memchr(q + 1, '\n', (size_t)(end - q - 1)))
		lines++;
	const char *last_nl = memrchr(buf, '\n', size);
	size_t rest = (size_t)(end - (last_nl + 1)); /* after the last newline */
	if (rest > limit)
		return EMSGSIZE;
	/* All memory first: the partial buffer must not move once records point into it. */
	size_t need = held && held + first > rest ? held + first : rest;
	int err = held || rest ? partial_grow(p, need, limit) : 0;
	if (!err)
		err = recs_reserve(p, lines);
	if (err)
		return err;

	/* The first line continues the held partial line: join them in place. */
	const char *q = buf;
	size_t n = 0;
	if (held) {
		memcpy(p->partial + held, buf, first);
		make_record(p, cfg, p->partial, held + first, &p->recs[n++]);
		q = nl + 1;
	}
	for (const char *e; (e = memchr(q, '\n', (size_t)(end - q))); q = e + 1)
		make_record(p, cfg, q, (size_t)(e - q), &p->recs[n++]);
	for (size_t i = 0; i < n; i++) {
		if ((err = refusal(&p->recs[i], cfg)) != 0)
			return i == 0 && held ? refuse_held_line(p, buf, nl, err) : err;
	}
	if ((err = append(p, p->recs, n, req)) != 0)
		return err; /* partial_len untouched: as before the write, which may be retried */

	/* Hold what follows the last newline. */
	if (rest)
		memmove(p->partial, q, rest);
	p->partial_len = rest;
	return 0;
}

/* framing=writes: the write is the record, whatever bytes it holds. */
static int write_whole(struct tfs_producer *p, const struct store_config *cfg, const char *buf,
		       size_t size, const struct store_request *req)
{
	if (size > (size_t)cfg->max_message_bytes || size > p->write_max)
		return EMSGSIZE;
	struct store_record_in r = {p->key, p->key_len, buf, size};
	return append(p, &r, 1, req);
}

int tfs_producer_write(struct tfs_producer *p, const char *buf, size_t size)
{
	return tfs_producer_write_req(p, buf, size, NULL);
}

int tfs_producer_write_req(struct tfs_producer *p, const char *buf, size_t size,
			   const struct store_request *req)
{
	struct store_topic t;
	if (size == 0)
		return 0;
	int err = store_topic_by_id(p->store, p->topic_id, &t);
	if (err)
		return err;
	pthread_mutex_lock(&p->lock);
	if (p->framing == STORE_FRAMING_WRITES)
		err = write_whole(p, &t.config, buf, size, req);
	else
		err = write_lines(p, &t.config, buf, size, req);
	trim(p);
	pthread_mutex_unlock(&p->lock);
	return err;
}

int tfs_producer_flush(struct tfs_producer *p)
{
	struct store_topic t;
	struct store_record_in r;
	int err = 0;
	pthread_mutex_lock(&p->lock);
	if (p->partial_len > 0 && p->state == TFS_LINE) {
		err = store_topic_by_id(p->store, p->topic_id, &t);
		if (!err) {
			make_record(p, &t.config, p->partial, p->partial_len, &r);
			err = refusal(&r, &t.config);
			if (!err)
				err = append(p, &r, 1, NULL);
		}
		if (err != ENOSPC && err != EIO)
			p->partial_len = 0;
	}
	trim(p);
	pthread_mutex_unlock(&p->lock);
	return err;
}
