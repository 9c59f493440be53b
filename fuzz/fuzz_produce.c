/* fuzz_produce.c — libFuzzer target: record framing (fs/produce.c) against a
 * real store. The store lives in a temp dir opened once per process; each
 * input makes a topic with a config taken from its first bytes, writes the
 * rest in input-chosen splits through one producer, flushes it, and checks
 * the stored partitions: when no write failed, exactly the lines of the
 * concatenated writes, keys split off, routed like Kafka (round robin or
 * murmur2); always, `log` equals the records joined by '\n' and nothing over
 * max.message.bytes is stored. Then the topic is deleted.
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

struct rec {
	const char *key; /* NULL: none */
	size_t key_len;
	const char *value;
	size_t value_len;
};

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	/* Header: partitions, max.message.bytes, keyed file?, separator length + bytes. */
	uint32_t parts = 1 + data[0] % 4;
	int64_t max_msg = data[1] < 128 ? data[1] % 40 : 1 << 20;
	int keyfile = data[2] % 4 == 0;
	size_t seplen = data[3] % 4, i = 4;
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
	memcpy(cfg.key_separator, sep, seplen + 1);
	char name[32];
	snprintf(name, sizeof name, "f%lu", counter++);
	struct store_topic t;
	if (store_topic_create(st, name, &cfg, &t) != 0)
		abort();

	static const char filekey[] = "the-key";
	struct tfs_producer *p =
		tfs_producer_new(st, t.id, keyfile ? filekey : NULL, keyfile ? strlen(filekey) : 0);
	if (!p)
		abort();
	/* Body: [split length][bytes] ... each chunk one write(). */
	char *stream = malloc(size + 1);
	size_t slen = 0;
	int failed = 0;
	while (i < size) {
		size_t n = data[i++] % 24;
		if (n > size - i)
			n = size - i;
		char *chunk = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(chunk, data + i, n);
		int rc = tfs_producer_write(p, chunk, n);
		if (rc != 0 && rc != EMSGSIZE)
			abort(); /* ENOSPC/EIO/ENOMEM cannot happen here */
		failed |= rc != 0;
		free(chunk);
		memcpy(stream + slen, data + i, n);
		slen += n;
		i += n;
	}
	int rc = tfs_producer_flush(p);
	if (rc != 0 && rc != EMSGSIZE)
		abort();
	failed |= rc != 0;
	tfs_producer_free(p);

	/* The model: the stream's lines (a last unterminated one too), keys split off. */
	size_t nrec = 0;
	struct rec *want = calloc(slen + 1, sizeof *want);
	for (size_t a = 0; a < slen;) {
		const char *nl = memchr(stream + a, '\n', slen - a);
		size_t e = nl ? (size_t)(nl - stream) : slen;
		struct rec *r = &want[nrec++];
		r->value = stream + a;
		r->value_len = e - a;
		if (keyfile) {
			r->key = filekey;
			r->key_len = strlen(filekey);
		} else if (seplen) {
			const char *s = memmem(r->value, r->value_len, sep, seplen);
			if (s) {
				r->key = r->value;
				r->key_len = (size_t)(s - r->value);
				r->value = s + seplen;
				r->value_len -= r->key_len + seplen;
			}
		}
		a = e + 1;
	}
	/* Route them: round robin continues over unkeyed records only. */
	size_t *expect_n = calloc(parts, sizeof *expect_n);
	uint32_t *route = calloc(nrec + 1, sizeof *route);
	uint64_t rr = 0;
	for (size_t k = 0; k < nrec; k++) {
		route[k] = want[k].key ? store_partition_for_key(want[k].key, want[k].key_len, parts)
				       : (uint32_t)(rr++ % parts);
		expect_n[route[k]]++;
	}

	for (uint32_t pi = 0; pi < parts; pi++) {
		struct store_partition sp;
		if (store_partition_find(st, t.id, pi, &sp) != 0 || sp.start_offset != 0)
			abort();
		if (!failed && sp.end_offset != expect_n[pi])
			abort();
		size_t loglen = (size_t)(sp.end_pos - sp.start_pos), got = 0, at = 0;
		char *log = malloc(loglen + 1);
		if (store_log_read(st, sp.gpid, sp.start_pos, log, loglen, &got) != 0 || got != loglen)
			abort();
		size_t k = 0; /* next model record routed to pi */
		for (uint64_t off = 0; off < sp.end_offset; off++) {
			struct got g;
			if (store_record_view(st, sp.gpid, off, grab, &g) != 0)
				abort();
			if (g.value_len > (size_t)max_msg || g.pos != sp.start_pos + at ||
			    at + g.value_len + 1 > loglen || memcmp(log + at, g.value, g.value_len) ||
			    log[at + g.value_len] != '\n')
				abort();
			at += g.value_len + 1;
			if (!failed) {
				while (route[k] != pi)
					k++;
				const struct rec *w = &want[k++];
				if (w->value_len != g.value_len ||
				    memcmp(w->value, g.value, g.value_len) || !w->key != !g.key ||
				    w->key_len != g.key_len ||
				    (w->key && memcmp(w->key, g.key, g.key_len)))
					abort();
			}
			free(g.value);
			free(g.key);
		}
		if (at != loglen)
			abort();
		free(log);
	}
	if (store_topic_delete(st, name) != 0)
		abort();
	free(route);
	free(expect_n);
	free(want);
	free(stream);
	return 0;
}
