/* groups_test.c — the store's consumer groups: consume, seek, delete, retention. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store.h"
#include "unit_tests.h"

struct gfx {
	char dir[64];
	struct store *s;
	uint32_t topic;
};

static void gfx_init(struct gfx *f, uint32_t partitions, int64_t retention_bytes)
{
	strcpy(f->dir, "/tmp/topicfs-groups-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL, "mkdtemp failed");
	struct store_options o = {f->dir, 0, 0};
	CHECK_OK(store_open(&f->s, &o));
	struct store_config cfg;
	struct store_topic t;
	store_config_defaults(&cfg);
	cfg.partitions = partitions;
	cfg.retention_bytes = retention_bytes;
	CHECK_OK(store_topic_create(f->s, "t", &cfg, &t));
	f->topic = t.id;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void gfx_done(struct gfx *f)
{
	store_close(f->s);
	CHECK(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove temp dir");
}

static void put(struct gfx *f, const char *value)
{
	struct store_record_in r = {NULL, 0, value, strlen(value)};
	CHECK_OK(store_append(f->s, f->topic, &r, 1));
}

struct taken {
	char buf[1 << 16];
	size_t len;
	size_t calls_len; /* bytes of this consume */
};

static void *take(size_t len, void *arg)
{
	struct taken *t = arg;
	if (len == 0) {
		t->len -= t->calls_len; /* a rerun starts over */
		t->calls_len = 0;
		return NULL;
	}
	CHECK(t->len + len <= sizeof t->buf, "test buffer");
	t->len += len;
	t->calls_len += len;
	return t->buf + t->len - len;
}

void test_group_consume_hands_each_record_once(void)
{
	struct gfx f;
	gfx_init(&f, 3, -1);
	struct store_group g;
	CHECK_OK(store_group_create(f.s, f.topic, "g", &g));
	size_t want_len = 0;
	for (int i = 0; i < 300; i++) {
		char v[64];
		snprintf(v, sizeof v, "%d:%.*s", i, i % 40, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		put(&f, v);
		want_len += strlen(v) + 1;
	}
	/* Two readers take turns with small reads: what they get is disjoint,
	 * made of whole records, and all of it. */
	struct taken *r[2] = {calloc(1, sizeof(struct taken)), calloc(1, sizeof(struct taken))};
	int seen[300] = {0};
	for (int turn = 0;; turn++) {
		struct store_consumed c;
		struct taken *t = r[turn % 2];
		size_t before = t->len;
		t->calls_len = 0;
		CHECK_OK(store_group_consume(f.s, g.id, 50, take, t, &c));
		if (c.records == 0) {
			CHECK(t->len == before, "nothing handed out when caught up");
			break;
		}
		CHECK(t->len - before == c.bytes && c.bytes <= 50, "whole records within the size");
		CHECK(t->buf[t->len - 1] == '\n', "ends on a record boundary");
	}
	size_t total = 0;
	for (int k = 0; k < 2; k++) {
		total += r[k]->len;
		char *p = r[k]->buf, *end = r[k]->buf + r[k]->len;
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			CHECK(nl != NULL, "whole record");
			int i = atoi(p);
			CHECK(i >= 0 && i < 300 && !seen[i], "each record once");
			seen[i] = 1;
			p = nl + 1;
		}
	}
	CHECK(total == want_len, "every record");
	struct store_group_offset o[3];
	uint32_t n;
	CHECK_OK(store_group_offsets(f.s, g.id, o, 3, &n));
	CHECK(n == 3 && o[0].committed == 100 && o[1].committed == 100 && o[2].committed == 100,
	      "all committed");
	/* A record longer than the size goes whole. */
	put(&f, "a-long-record-of-32-bytes-------"); /* + its newline: 33 */
	struct taken *t = r[0];
	t->len = t->calls_len = 0;
	struct store_consumed c;
	CHECK_OK(store_group_consume(f.s, g.id, 5, take, t, &c));
	CHECK(c.records == 1 && t->len == 33, "a long record is handed out whole, with its newline");
	CHECK_RC(store_group_consume(f.s, 9999, 5, take, t, &c), ENOENT);
	free(r[0]);
	free(r[1]);
	gfx_done(&f);
}


static int copy_ts(const struct store_record *r, void *arg)
{
	*(int64_t *)arg = r->timestamp_ms;
	return 0;
}

static int64_t ts_of(struct gfx *f, uint32_t gpid, uint64_t offset)
{
	int64_t ts = 0;
	CHECK_OK(store_record_head(f->s, gpid, offset, copy_ts, &ts));
	return ts;
}

void test_group_seek_forms_and_times(void)
{
	struct gfx f;
	gfx_init(&f, 1, -1);
	struct store_group g;
	struct store_partition p;
	CHECK_OK(store_group_create(f.s, f.topic, "g", &g));
	CHECK_OK(store_partition_find(f.s, f.topic, 0, &p));
	/* Batches of 1, 2, ... 6 records, a few ms apart. */
	uint64_t first[6], next = 0;
	for (int b = 0; b < 6; b++) {
		struct store_record_in r[6];
		for (int i = 0; i <= b; i++)
			r[i] = (struct store_record_in){NULL, 0, "v", 1};
		first[b] = next;
		CHECK_OK(store_append(f.s, f.topic, r, (size_t)b + 1));
		next += (uint64_t)b + 1;
		struct timespec d = {0, 3000000};
		nanosleep(&d, NULL);
	}
	uint64_t at;
	for (int b = 0; b < 6; b++) {
		int64_t ts = ts_of(&f, p.gpid, first[b]);
		CHECK(b == 0 || ts > ts_of(&f, p.gpid, first[b] - 1), "batches apart in time");
		CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_TIME, ts, &at));
		CHECK(at == first[b], "a batch's time finds its first record");
		CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_TIME, ts - 1, &at));
		CHECK(at == first[b], "a time before a batch finds it");
	}
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_TIME, INT64_MAX, &at));
	CHECK(at == next, "after every record: the end");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_TIME, 0, &at));
	CHECK(at == 0, "before every record: the first");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_OFFSET, 7, &at));
	CHECK(at == 7, "an offset");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_SHIFT, -3, &at));
	CHECK(at == 4, "back 3");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_SHIFT, INT64_MIN, &at));
	CHECK(at == 0, "back past the start: clamped");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_SHIFT, INT64_MAX, &at));
	CHECK(at == next, "ahead past the end: clamped");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_EARLIEST, 0, &at));
	CHECK(at == 0, "earliest");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_LATEST, 0, &at));
	CHECK(at == next, "latest");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_OFFSET, 1000, &at));
	CHECK(at == next, "an offset past the end: clamped");
	CHECK_RC(store_group_seek(f.s, g.id, 0, STORE_SEEK_OFFSET, -1, &at), EINVAL);
	CHECK_RC(store_group_seek(f.s, g.id, 1, STORE_SEEK_OFFSET, 0, &at), ENOENT);
	gfx_done(&f);
}

void test_group_ids_and_deletion(void)
{
	struct gfx f;
	gfx_init(&f, 2, -1);
	struct store_group a, b, a2, x;
	CHECK_RC(store_group_create(f.s, f.topic, "bad name", &a), EINVAL);
	CHECK_RC(store_group_create(f.s, 999, "g", &a), ENOENT);
	CHECK_OK(store_group_create(f.s, f.topic, "a", &a));
	CHECK_OK(store_group_create(f.s, f.topic, "b", &b));
	CHECK_RC(store_group_create(f.s, f.topic, "a", &x), EEXIST);
	CHECK(b.id > a.id, "ids grow");
	CHECK_OK(store_group_delete(f.s, f.topic, "a", NULL));
	CHECK_RC(store_group_delete(f.s, f.topic, "a", NULL), ENOENT);
	CHECK_OK(store_group_create(f.s, f.topic, "a", &a2));
	CHECK(a2.id > b.id, "ids are never reused");
	CHECK_OK(store_group_next(f.s, f.topic, 0, &x));
	CHECK(x.id == b.id, "listed in id order");
	CHECK_OK(store_group_next(f.s, f.topic, x.id, &x));
	CHECK(x.id == a2.id && strcmp(x.name, "a") == 0, "the new a");
	CHECK_RC(store_group_next(f.s, f.topic, x.id, &x), ENOENT);
	CHECK_OK(store_topic_delete(f.s, "t"));
	CHECK_RC(store_group_by_id(f.s, b.id, &x), ENOENT);
	CHECK_RC(store_group_next(f.s, 0, 0, &x), ENOENT);
	gfx_done(&f);
}

struct missed_seen {
	uint64_t count;
	uint32_t index;
	int calls;
};

static void on_missed(const struct store_group *g, uint32_t index, uint64_t missed, void *arg)
{
	(void)g;
	struct missed_seen *m = arg;
	m->count += missed;
	m->index = index;
	m->calls++;
}

void test_groups_catch_up_after_retention(void)
{
	struct gfx f;
	gfx_init(&f, 1, 4); /* keep 4 log bytes: the last two records of "a\n" */
	struct store_group g;
	CHECK_OK(store_group_create(f.s, f.topic, "g", &g));
	for (int i = 0; i < 5; i++)
		put(&f, "a");
	CHECK_OK(store_group_seek(f.s, g.id, 0, STORE_SEEK_OFFSET, 1, NULL));
	uint64_t deleted;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 3, "retention by bytes");
	struct missed_seen m = {0, 0, 0};
	CHECK_OK(store_groups_catch_up(f.s, on_missed, &m));
	CHECK(m.calls == 1 && m.count == 2 && m.index == 0, "offsets 1 and 2 never consumed");
	m = (struct missed_seen){0, 0, 0};
	CHECK_OK(store_groups_catch_up(f.s, on_missed, &m));
	CHECK(m.calls == 0, "told once");
	struct store_group_offset o;
	uint32_t n;
	CHECK_OK(store_group_offsets(f.s, g.id, &o, 1, &n));
	CHECK(o.committed == 3 && o.start == 3 && o.end == 5, "moved to start");
	gfx_done(&f);
}
