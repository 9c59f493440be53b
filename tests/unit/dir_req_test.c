/* dir_req_test.c — a mkdir or rmdir kept with its request: what a resent MKDIR or RMDIR is told. */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
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

/* Whether request unique committed op, and the id it names. */
static bool done(struct store *s, uint64_t unique, enum store_dir_op op, uint32_t *id)
{
	bool is_done = true;
	CHECK_OK(store_dir_request_get(s, unique, op, &is_done, id));
	return is_done;
}

void test_mkdir_and_rmdir_keep_their_request_with_what_they_did(void)
{
	char dir[64] = "/tmp/topicfs-dirreq-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
	struct store *s;
	struct store_options o = {dir, 0, 0};
	CHECK_OK(store_open(&s, &o));
	struct store_config cfg;
	struct store_topic t, u;
	struct store_group g;
	uint32_t id = 0, gid = 0;
	store_config_defaults(&cfg);
	cfg.partitions = 2;

	CHECK_OK(store_topic_create_req(s, "t", &cfg, 0, 0, 0, 10, &t));
	CHECK(done(s, 10, STORE_DIR_TOPIC_CREATE, &id) && id == t.id, "the mkdir names its topic");
	CHECK(!done(s, 10, STORE_DIR_GROUP_CREATE, &id), "another op under the id is not it");
	CHECK(!done(s, 11, STORE_DIR_TOPIC_CREATE, &id), "another id is not it");
	CHECK_RC(store_topic_create_req(s, "t", &cfg, 0, 0, 0, 11, NULL), EEXIST);
	CHECK(!done(s, 11, STORE_DIR_TOPIC_CREATE, &id), "a failed mkdir keeps nothing");
	CHECK_OK(store_topic_create(s, "plain", &cfg, &u));
	CHECK(!done(s, 0, STORE_DIR_TOPIC_CREATE, &id), "without a request nothing is kept");

	CHECK_OK(store_group_create_req(s, t.id, "g", 12, &g));
	CHECK(done(s, 12, STORE_DIR_GROUP_CREATE, &id) && id == g.id, "the mkdir names its group");
	CHECK_OK(store_group_delete_req(s, t.id, "g", 13, &gid));
	CHECK(done(s, 13, STORE_DIR_GROUP_DELETE, &id) && id == g.id, "the rmdir names its group");
	CHECK_RC(store_group_by_name(s, t.id, "g", NULL), ENOENT);

	/* A big topic goes in several transactions: the request with the last. */
	for (int i = 0; i < 1500; i++) {
		struct store_record_in r = {NULL, 0, "x", 1};
		CHECK_OK(store_append_to(s, t.id, 0, &r, 1));
	}
	CHECK_OK(store_topic_delete_req(s, "t", 14));
	CHECK(done(s, 14, STORE_DIR_TOPIC_DELETE, &id) && id == t.id, "the rmdir names its topic");
	CHECK_RC(store_topic_by_name(s, "t", NULL), ENOENT);

	for (uint64_t q = 100; q < 100 + STORE_DIR_REQUESTS_KEPT + 2; q++) {
		char name[16];
		snprintf(name, sizeof name, "n%llu", (unsigned long long)q);
		CHECK_OK(store_topic_create_req(s, name, &cfg, 0, 0, 0, q, NULL));
	}
	CHECK(!done(s, 10, STORE_DIR_TOPIC_CREATE, &id), "only the last few are kept");
	CHECK(!done(s, 100, STORE_DIR_TOPIC_CREATE, &id), "the oldest beyond them goes");
	uint64_t last = 100 + STORE_DIR_REQUESTS_KEPT + 1;
	CHECK(done(s, last - STORE_DIR_REQUESTS_KEPT + 1, STORE_DIR_TOPIC_CREATE, &id),
	      "the last STORE_DIR_REQUESTS_KEPT are kept");
	CHECK(done(s, last, STORE_DIR_TOPIC_CREATE, &id), "the last is kept");
	CHECK_OK(store_requests_clear(s));
	CHECK(!done(s, last, STORE_DIR_TOPIC_CREATE, &id), "a new connection forgets them");
	store_close(s);
	CHECK(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove temp dir");
}
