/* consume_req_test.c — a consume kept with its request: what a resent READ gets again. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store.h"
#include "unit_tests.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

struct got {
	char buf[256];
	size_t len;
};

static void *take(size_t len, void *arg)
{
	struct got *g = arg;
	if (len == 0) {
		g->len = 0;
		return g->buf;
	}
	CHECK(g->len + len <= sizeof g->buf, "test buffer");
	g->len += len;
	return g->buf + g->len - len;
}

void test_group_consume_keeps_its_request_and_ranges(void)
{
	char dir[64] = "/tmp/topicfs-consreq-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
	struct store *s;
	struct store_options o = {dir, 0, 0};
	CHECK_OK(store_open(&s, &o));
	struct store_config cfg;
	struct store_topic t;
	struct store_group g;
	store_config_defaults(&cfg);
	cfg.partitions = 2;
	CHECK_OK(store_topic_create(s, "t", &cfg, &t));
	CHECK_OK(store_group_create(s, t.id, "g", &g));
	for (int i = 0; i < 6; i++) {
		char v[8];
		snprintf(v, sizeof v, "r%d", i);
		struct store_record_in r = {NULL, 0, v, strlen(v)};
		CHECK_OK(store_append_to(s, t.id, (uint32_t)(i % 2), &r, 1));
	}
	struct got got;
	struct store_consumed c;
	struct store_request req = {7, 100};
	CHECK_OK(store_group_consume_req(s, g.id, 12, take, &got, &c, &req, NULL));
	CHECK(c.records == 4 && got.len == 12, "four records of 3 bytes");
	struct store_consume_range r[4];
	uint32_t n = 0;
	CHECK_OK(store_consume_request_get(s, &req, r, 4, &n));
	CHECK(n > 0, "the consume is kept");
	uint64_t records = 0;
	for (uint32_t i = 0; i < n && i < 4; i++) {
		CHECK(r[i].to > r[i].from, "a range hands out records");
		records += r[i].to - r[i].from;
	}
	CHECK(n == 2 && records == 4, "one range per partition served, every record in one");
	struct store_request other = {7, 101}, slot = {8, 100};
	CHECK_OK(store_consume_request_get(s, &other, r, 4, &n));
	CHECK(n == 0, "another id is not it");
	CHECK_OK(store_consume_request_get(s, &slot, r, 4, &n));
	CHECK(n == 0, "another slot is not it");
	/* Caught up: nothing handed out, nothing kept. */
	CHECK_OK(store_group_consume_req(s, g.id, 100, take, &got, &c, &other, NULL));
	CHECK_OK(store_group_consume_req(s, g.id, 100, take, &got, &c, &other, NULL));
	for (uint64_t id = 200; id < 200 + STORE_REQUESTS_KEPT + 2; id++) {
		struct store_record_in in = {NULL, 0, "x", 1};
		struct store_request q = {7, id};
		CHECK_OK(store_append(s, t.id, &in, 1));
		CHECK_OK(store_group_consume_req(s, g.id, 100, take, &got, &c, &q, NULL));
		CHECK(c.records == 1, "one record each");
	}
	CHECK(store_consume_request_get(s, &req, r, 4, &n) == 0 && n == 0, "only the last few are kept");
	struct store_request last = {7, 200 + STORE_REQUESTS_KEPT + 1};
	CHECK(store_consume_request_get(s, &last, r, 4, &n) == 0 && n == 1, "the last is kept");
	CHECK_OK(store_requests_clear(s));
	CHECK(store_consume_request_get(s, &last, r, 4, &n) == 0 && n == 0, "a new connection forgets them");
	store_close(s);
	CHECK(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove temp dir");
}
