/* produce.c — turns the bytes written to produce or keys/<key> into records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "produce.h"

struct tfs_producer *tfs_producer_new(struct store *s, uint32_t topic_id, const char *key,
				      size_t key_len)
{
	struct tfs_producer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->store = s;
	p->topic_id = topic_id;
	if (key) {
		p->key = malloc(key_len + 1);
		if (!p->key) {
			free(p);
			return NULL;
		}
		memcpy(p->key, key, key_len);
		p->key_len = key_len;
	}
	return p;
}

void tfs_producer_free(struct tfs_producer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->key);
	free(p->partial);
	free(p->recs);
	free(p);
}

static int reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *b = realloc(*buf, n * elem);
	if (!b)
		return ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
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

/* The most a partial line may hold: a value, and a key with its separator. */
static size_t partial_limit(const struct tfs_producer *p, const struct store_config *cfg)
{
	size_t limit = (size_t)cfg->max_message_bytes;
	if (!p->key && cfg->key_separator[0])
		limit += STORE_KEY_MAX + STORE_SEPARATOR_MAX;
	return limit;
}

static int write_locked(struct tfs_producer *p, const struct store_config *cfg, const char *buf,
			size_t size, const struct store_request *req)
{
	const char *end = buf + size;
	const char *nl;

	if (p->discarding) {
		/* The rest of an oversized line: dropped up to its newline, and the
		 * write that carries it fails too, as it did for its start. */
		if (memchr(buf, '\n', size))
			p->discarding = 0;
		return EMSGSIZE;
	}

	size_t lines = 0;
	for (const char *q = buf; (nl = memchr(q, '\n', (size_t)(end - q))); q = nl + 1)
		lines++;
	const char *last_nl = lines ? memrchr(buf, '\n', size) : NULL;
	size_t rest = last_nl ? (size_t)(end - (last_nl + 1)) : size; /* after the last newline */
	size_t held = p->partial_len;
	size_t first = lines ? (size_t)((const char *)memchr(buf, '\n', size) - buf) : 0;
	size_t base = lines ? 0 : held; /* where rest goes in the partial buffer */

	if (base + rest > partial_limit(p, cfg)) {
		p->partial_len = 0;
		p->discarding = 1;
		return EMSGSIZE;
	}
	/* All memory first: the partial buffer must not move once records point into it. */
	size_t need = held + first > base + rest ? held + first : base + rest;
	int err = reserve((void **)&p->recs, &p->recs_cap, lines, sizeof *p->recs);
	if (!err)
		err = reserve((void **)&p->partial, &p->partial_cap, need, 1);
	if (err)
		return err;

	/* The first line continues the held partial line: join them in place. */
	const char *q = buf;
	size_t n = 0;
	if (lines > 0 && held > 0) {
		memcpy(p->partial + held, buf, first);
		make_record(p, cfg, p->partial, held + first, &p->recs[n++]);
		q = buf + first + 1;
	}
	for (; (nl = memchr(q, '\n', (size_t)(end - q))); q = nl + 1)
		make_record(p, cfg, q, (size_t)(nl - q), &p->recs[n++]);
	for (size_t i = 0; i < n; i++) {
		if (p->recs[i].value_len > (size_t)cfg->max_message_bytes) {
			p->partial_len = 0;
			return EMSGSIZE;
		}
	}

	if (n > 0 && (err = store_append_req(p->store, p->topic_id, p->recs, n, req)) != 0)
		return err; /* partial_len untouched: as before the write, which may be retried */

	/* Hold what follows the last newline. */
	if (rest) /* the buffer is still NULL before any partial line */
		memmove(p->partial + base, q, rest);
	p->partial_len = base + rest;
	return 0;
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
	err = write_locked(p, &t.config, buf, size, req);
	pthread_mutex_unlock(&p->lock);
	return err;
}

int tfs_producer_flush(struct tfs_producer *p)
{
	struct store_topic t;
	struct store_record_in r;
	int err = 0;
	pthread_mutex_lock(&p->lock);
	if (p->partial_len > 0 && !p->discarding) {
		err = store_topic_by_id(p->store, p->topic_id, &t);
		if (!err) {
			make_record(p, &t.config, p->partial, p->partial_len, &r);
			err = r.value_len > (size_t)t.config.max_message_bytes
				      ? EMSGSIZE
				      : store_append(p->store, p->topic_id, &r, 1);
		}
		if (err != ENOSPC && err != EIO)
			p->partial_len = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}
