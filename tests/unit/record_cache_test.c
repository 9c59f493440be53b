/* record_cache_test.c — the daemon's per-thread record kept from a lookup for
 * the open after it (fs/record_cache.c): it must answer only for that record. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "record_cache.h"
#include "unit_tests.h"

static struct store_record rec(uint32_t gpid, uint64_t offset, const char *value, size_t len)
{
	struct store_record r = {.gpid = gpid, .offset = offset, .value = value, .value_len = len};
	return r;
}

static void *other_thread(void *arg)
{
	(void)arg;
	size_t len;
	struct store_record r = rec(1, 5, "theirs", 6);
	CHECK(tfs_record_cache_get(1, 5, &len) == NULL, "a thread sees another's record");
	tfs_record_cache_put(&r);
	return NULL;
}

void test_record_cache_answers_only_for_its_record(void)
{
	size_t len = 0;
	struct store_record r = rec(1, 5, "abc", 3);
	tfs_record_cache_put(&r);
	const char *v = tfs_record_cache_get(1, 5, &len);
	CHECK(v && len == 3 && memcmp(v, "abc", 3) == 0, "the kept record");
	CHECK(tfs_record_cache_get(2, 5, &len) == NULL, "same offset, other partition");
	CHECK(tfs_record_cache_get(1, 6, &len) == NULL, "same partition, other offset");

	pthread_t t;
	CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0, "thread");
	pthread_join(t, NULL);
	v = tfs_record_cache_get(1, 5, &len);
	CHECK(v && len == 3 && memcmp(v, "abc", 3) == 0, "kept per thread");

	struct store_record empty = rec(3, 0, "", 0);
	tfs_record_cache_put(&empty);
	CHECK(tfs_record_cache_get(3, 0, &len) != NULL && len == 0, "an empty record");
	CHECK(tfs_record_cache_get(1, 5, &len) == NULL, "replaced by the next lookup");

	static char big[TFS_RECORD_CACHE_MAX + 1];
	struct store_record too_big = rec(4, 0, big, sizeof big);
	tfs_record_cache_put(&too_big);
	CHECK(tfs_record_cache_get(4, 0, &len) == NULL, "too long to keep");
	CHECK(tfs_record_cache_get(3, 0, &len) == NULL, "a record too long to keep drops the last");
}
