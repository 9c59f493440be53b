/* fuzz_produce.c — libFuzzer target: record framing (fs/produce.c) against a
 * real store. The store lives in a temp dir opened once per process; each
 * input makes a topic with a config taken from its first bytes (framing lines
 * or writes, partitions, max.message.bytes, separator, key file, a named
 * partition), then writes "user writes" through one producer, cut into
 * requests of at most an input-chosen size as the kernel cuts a write() over
 * a FUSE request; after a refused request that follows acknowledged ones the
 * rest is written once more, as dd and Python do after a short write (the
 * path of issue 14's findings 1 and 2). Each request's result, and at the end
 * every stored record, key and partition, are checked against a small model
 * of the documented rules (README, "Oversized records"); when nothing was
 * refused the records must also be exactly the lines of the stream (or, with
 * writes, exactly the writes). Always: `log` equals the records joined by
 * '\n' and nothing over max.message.bytes is stored. Then the topic is deleted.
 * See fuzz_names.c for the list of targets and how they are run. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "produce.h"
#include "store.h"

static struct store *st;
static char dir[64];
static unsigned long counter;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (st)
		store_close(st);
	st = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/topicfs-fuzz-XXXXXX", base);
	if (!mkdtemp(dir))
		abort();
	struct store_options o = {.dir = dir, .map_size = 1 << 20};
	if (store_open(&st, &o) != 0)
		abort();
	atexit(cleanup);
	return 0;
}

/* A record the model expects, pointing into the model's own copies. */
struct rec {
	char *key; /* NULL: none */
	size_t key_len;
	char *value;
	size_t value_len;
	uint32_t partition;
};

/* The documented rules, written out plainly: whole byte strings, no reuse
 * of buffers, one state word. */
struct model {
	int writes;
	size_t max, write_max, limit;
	const char *sep; /* "" : none */
	const char *filekey;
	int64_t fixed;
	uint32_t parts;
	uint64_t rr;
	char *held;
	size_t held_len;
	enum tfs_line_state state;
	size_t retry_at;
	struct rec *recs;
	size_t n, cap;
};

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n ? n : 1);
	memcpy(d, p, n);
	return d;
}

/* The record a line (or a write) makes, not yet routed. */
static struct rec make(const struct model *m, const char *line, size_t len, int split)
{
	struct rec r = {NULL, 0, dup_bytes(line, len), len, 0};
	size_t seplen = strlen(m->sep);
	if (m->filekey) {
		r.key_len = strlen(m->filekey);
		r.key = dup_bytes(m->filekey, r.key_len);
	} else if (split && seplen) {
		const char *s = memmem(line, len, m->sep, seplen);
		if (s) {
			free(r.value);
			r.key_len = (size_t)(s - line);
			r.key = dup_bytes(line, r.key_len);
			r.value_len = len - r.key_len - seplen;
			r.value = dup_bytes(s + seplen, r.value_len);
		}
	}
	return r;
}

static void drop(struct rec *r)
{
	free(r->key);
	free(r->value);
}

static void add(struct model *m, struct rec *r)
{
	if (m->fixed >= 0)
		r->partition = (uint32_t)m->fixed;
	else if (r->key)
		r->partition = store_partition_for_key(r->key, r->key_len, m->parts);
	else
		r->partition = (uint32_t)(m->rr++ % m->parts);
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->recs = realloc(m->recs, m->cap * sizeof *m->recs);
	}
	m->recs[m->n++] = *r;
}

static int refuse_held(struct model *m, const char *nl, const char *buf)
{
	m->held_len = 0;
	m->state = nl ? TFS_RETRY : TFS_DISCARD;
	m->retry_at = nl ? (size_t)(nl - buf) : 0;
	return EMSGSIZE;
}

/* What one request returns, and the records it appends. */
static int model_write(struct model *m, const char *buf, size_t size)
{
	if (size == 0)
		return 0;
	if (m->writes) {
		if (size > m->max || size > m->write_max)
			return EMSGSIZE;
		struct rec r = make(m, buf, size, 0);
		add(m, &r);
		return 0;
	}
	const char *nl = memchr(buf, '\n', size);
	if (m->state == TFS_RETRY) {
		m->state = TFS_LINE;
		if (nl && (size_t)(nl - buf) == m->retry_at)
			return EMSGSIZE;
	}
	if (m->state == TFS_DISCARD)
		return nl ? refuse_held(m, nl, buf) : EMSGSIZE;
	size_t first = nl ? (size_t)(nl - buf) : size;
	if (m->held_len && m->held_len + first > m->limit)
		return refuse_held(m, nl, buf);
	/* The whole stream of this write: held + buf, cut into lines. */
	size_t all_len = m->held_len + size;
	char *all = malloc(all_len);
	if (m->held_len)
		memcpy(all, m->held, m->held_len);
	memcpy(all + m->held_len, buf, size);
	const char *last = memrchr(all, '\n', all_len);
	size_t rest = last ? all_len - (size_t)(last + 1 - all) : all_len;
	if (rest > m->limit) {
		free(all);
		return EMSGSIZE;
	}
	size_t n0 = m->n;
	uint64_t rr0 = m->rr;
	size_t a = 0;
	for (const char *e; last && (e = memchr(all + a, '\n', all_len - a)); a = (size_t)(e - all) + 1) {
		struct rec r = make(m, all + a, (size_t)(e - all) - a, 1);
		if (r.value_len > m->max) {
			int held_line = a == 0 && m->held_len;
			drop(&r);
			while (m->n > n0)
				drop(&m->recs[--m->n]);
			m->rr = rr0;
			free(all);
			return held_line ? refuse_held(m, nl, buf) : EMSGSIZE;
		}
		add(m, &r);
	}
	free(m->held);
	m->held = dup_bytes(all + all_len - rest, rest);
	m->held_len = rest;
	free(all);
	return 0;
}

static void model_flush(struct model *m)
{
	if (!m->writes && m->state == TFS_LINE && m->held_len) {
		struct rec r = make(m, m->held, m->held_len, 1);
		if (r.value_len > m->max)
			drop(&r);
		else
			add(m, &r);
	}
	m->held_len = 0;
}

struct got {
	char *key; /* NULL: none */
	size_t key_len;
	char *value;
	size_t value_len;
	uint64_t pos;
};

static int grab(const struct store_record *r, void *arg)
{
	struct got *g = arg;
	g->value = malloc(r->value_len + 1);
	memcpy(g->value, r->value, r->value_len);
	g->value_len = r->value_len;
	g->key = NULL;
	if (r->key) {
		g->key = malloc(r->key_len + 1);
		memcpy(g->key, r->key, r->key_len);
	}
	g->key_len = r->key_len;
	g->pos = r->pos;
	return 0;
}

/* Feeds one request to both, and checks they agree. */
static int feed(struct tfs_producer *p, struct model *m, const uint8_t *data, size_t n)
{
	char *chunk = malloc(n ? n : 1); /* exact size: ASan sees overreads */
	memcpy(chunk, data, n);
	int rc = tfs_producer_write(p, chunk, n);
	free(chunk);
	if (rc != 0 && rc != EMSGSIZE)
		abort(); /* ENOSPC/EIO/ENOMEM/ENOBUFS cannot happen here */
	if (rc != model_write(m, (const char *)data, n))
		abort();
	return rc;
}

/* One user write cut into requests of at most cap bytes; a refusal after
 * acknowledged requests is a short write, and the rest is written again
 * once. Returns 0 when all of it was acknowledged. */
static int user_write(struct tfs_producer *p, struct model *m, const uint8_t *data, size_t n,
		      size_t cap)
{
	size_t done = 0;
	int retried = 0;
	if (n == 0)
		return feed(p, m, data, 0);
	while (done < n) {
		size_t k = n - done < cap ? n - done : cap;
		if (feed(p, m, data + done, k) == 0) {
			done += k;
			continue;
		}
		if (done == 0 || retried)
			return EMSGSIZE;
		retried = 1;
		if (feed(p, m, data + done, k) != 0)
			return EMSGSIZE;
		done += k;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6)
		return 0;
	/* Header: partitions, max.message.bytes, key file?, framing + named
	 * partition, request size, separator length + bytes. */
	uint32_t parts = 1 + data[0] % 4;
	int64_t max_msg = data[1] < 128 ? data[1] % 40 : 1 << 20;
	int keyfile = data[2] % 4 == 0;
	int writes = data[3] & 1;
	int64_t fixed = data[3] & 2 ? (int64_t)((data[3] >> 2) % parts) : -1;
	size_t write_max = 8 + data[4] % 24;
	/* The kernel's first request of a write() it cuts is over write_max
	 * (fs/files.c); lines see any size. */
	size_t cap = writes ? write_max + 1 + data[4] / 24 % 8 : 1 + data[4] % 48;
	size_t seplen = data[5] % 4, i = 6;
	if (seplen > size - i)
		seplen = size - i;
	char sep[STORE_SEPARATOR_MAX + 1] = "";
	memcpy(sep, data + i, seplen);
	sep[seplen] = '\0';
	i += seplen;
	if (memchr(sep, '\n', seplen) || strlen(sep) != seplen)
		sep[0] = '\0', seplen = 0; /* not a valid separator: none */

	struct store_config cfg;
	store_config_defaults(&cfg);
	cfg.partitions = parts;
	cfg.max_message_bytes = max_msg;
	cfg.framing = writes ? STORE_FRAMING_WRITES : STORE_FRAMING_LINES;
	memcpy(cfg.key_separator, sep, seplen + 1);
	char name[32];
	snprintf(name, sizeof name, "f%lu", counter++);
	struct store_topic t;
	if (store_topic_create(st, name, &cfg, &t) != 0)
		abort();

	static const char filekey[] = "the-key";
	struct tfs_producer_args pa = {.topic_id = t.id,
				       .partition = fixed,
				       .key = keyfile ? filekey : NULL,
				       .key_len = keyfile ? strlen(filekey) : 0,
				       .write_max = write_max};
	struct tfs_producer *p;
	if (tfs_producer_open(&p, st, &pa) != 0)
		abort();
	struct model m = {.writes = writes,
			  .max = (size_t)max_msg,
			  .write_max = write_max,
			  .limit = (size_t)max_msg +
				   (!keyfile && seplen ? STORE_KEY_MAX + STORE_SEPARATOR_MAX : 0),
			  .sep = writes ? "" : sep,
			  .filekey = keyfile ? filekey : NULL,
			  .fixed = fixed,
			  .parts = parts};

	/* Body: [user write length][bytes] ... */
	char *stream = malloc(size + 1);
	size_t slen = 0, nwrites = 0;
	size_t *wlen = calloc(size + 1, sizeof *wlen);
	int failed = 0;
	while (i < size) {
		size_t n = data[i++] % 64;
		if (n > size - i)
			n = size - i;
		failed |= user_write(p, &m, data + i, n, cap) != 0;
		memcpy(stream + slen, data + i, n);
		slen += n;
		if (n)
			wlen[nwrites++] = n;
		i += n;
	}
	int rc = tfs_producer_flush(p);
	if (rc != 0 && rc != EMSGSIZE)
		abort();
	failed |= rc != 0;
	model_flush(&m);
	tfs_producer_free(p);

	/* With nothing refused: the stream's lines (or its writes), simply. */
	if (!failed) {
		size_t k = 0, a = 0;
		for (size_t w = 0; a < slen; w++) {
			size_t e;
			if (writes) {
				e = a + wlen[w];
			} else {
				const char *nl = memchr(stream + a, '\n', slen - a);
				e = nl ? (size_t)(nl - stream) : slen;
			}
			if (k == m.n)
				abort();
			const struct rec *r = &m.recs[k++];
			const char *s = stream + a;
			if (r->key && !keyfile) { /* key, separator, value: the line again */
				if (r->key_len + seplen + r->value_len != e - a ||
				    memcmp(s, r->key, r->key_len) ||
				    memcmp(s + r->key_len, sep, seplen))
					abort();
				s += r->key_len + seplen;
			} else if (r->value_len != e - a) {
				abort();
			}
			if (memcmp(s, r->value, r->value_len))
				abort();
			a = writes ? e : e + 1;
		}
		if (k != m.n)
			abort();
	}

	/* The store holds exactly the model's records, partition by partition. */
	for (uint32_t pi = 0; pi < parts; pi++) {
		struct store_partition sp;
		if (store_partition_find(st, t.id, pi, &sp) != 0 || sp.start_offset != 0)
			abort();
		size_t loglen = (size_t)(sp.end_pos - sp.start_pos), got = 0, at = 0, k = 0;
		char *log = malloc(loglen + 1);
		if (store_log_read(st, sp.gpid, sp.start_pos, log, loglen, &got) != 0 || got != loglen)
			abort();
		for (uint64_t off = 0; off < sp.end_offset; off++) {
			struct got g;
			if (store_record_view(st, sp.gpid, off, grab, &g) != 0)
				abort();
			if (g.value_len > (size_t)max_msg || g.pos != sp.start_pos + at ||
			    at + g.value_len + 1 > loglen || memcmp(log + at, g.value, g.value_len) ||
			    log[at + g.value_len] != '\n')
				abort();
			at += g.value_len + 1;
			while (k < m.n && m.recs[k].partition != pi)
				k++;
			if (k == m.n)
				abort(); /* stored, not in the model */
			const struct rec *w = &m.recs[k++];
			if (w->value_len != g.value_len || memcmp(w->value, g.value, g.value_len) ||
			    !w->key != !g.key || w->key_len != g.key_len ||
			    (w->key && memcmp(w->key, g.key, g.key_len)))
				abort();
			free(g.value);
			free(g.key);
		}
		while (k < m.n && m.recs[k].partition != pi)
			k++;
		if (k != m.n || at != loglen)
			abort(); /* in the model, not stored */
		free(log);
	}
	if (store_topic_delete(st, name) != 0)
		abort();
	for (size_t k = 0; k < m.n; k++)
		drop(&m.recs[k]);
	free(m.recs);
	free(m.held);
	free(wlen);
	free(stream);
	return 0;
}
