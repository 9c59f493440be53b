/* write_path_test.c — the pieces a write() goes through before the WAL: the
 * entries' checksum (crc32.c) and the topic records kept in memory
 * (topic_cache.c), which must never answer with a config that was changed. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "store_int.h"
#include "unit_tests.h"

static uint32_t crc_bytewise(const unsigned char *p, size_t len)
{
	uint32_t c = ~0u;
	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
	}
	return ~c;
}

void test_crc32_is_zlibs(void)
{
	CHECK(store_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value");
	CHECK(store_crc32(0, "", 0) == 0, "CRC-32 of nothing");
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len += 1 + len / 16)
		for (size_t off = 0; off < 8; off++) {
			if (off + len > sizeof(buf))
				break;
			uint32_t want = crc_bytewise(buf + off, len);
			CHECK(store_crc32(0, buf + off, len) == want, "slice-by-8 differs from bytewise");
			size_t half = len / 3;
			CHECK(store_crc32(store_crc32(0, buf + off, half), buf + off + half, len - half) == want,
			      "CRC fed in two parts differs");
		}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void test_topic_cache_follows_every_change(void)
{
	char dir[] = "/tmp/topicfs-unit-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
	struct store *s;
	struct store_options o = {.dir = dir};
	CHECK_OK(store_open(&s, &o));
	struct store_config cfg;
	store_config_defaults(&cfg);
	struct store_topic t;
	CHECK_OK(store_topic_create(s, "t", &cfg, &t));

	struct store_topic got;
	CHECK_OK(store_topic_by_id(s, t.id, &got));
	CHECK(got.config.max_message_bytes == cfg.max_message_bytes, "cached config is the topic's");
	CHECK_OK(store_topic_by_id(s, t.id, &got)); /* from the cache now */
	CHECK_OK(store_topic_configure(s, t.id, STORE_CFG_MAX_MESSAGE_BYTES, "5", 1));
	CHECK_OK(store_topic_by_id(s, t.id, &got));
	CHECK(got.config.max_message_bytes == 5, "a config write is seen at once");
	struct store_record_in r = {NULL, 0, "123456", 6};
	CHECK_RC(store_append(s, t.id, &r, 1), EMSGSIZE);
	CHECK_OK(store_topic_configure(s, t.id, STORE_CFG_PARTITIONS, "3", 1));
	r.value_len = 5;
	CHECK_OK(store_append_to(s, t.id, 2, &r, 1));

	CHECK_OK(store_topic_delete(s, "t"));
	CHECK_RC(store_topic_by_id(s, t.id, &got), ENOENT);
	CHECK_RC(store_append(s, t.id, &r, 1), ENOENT);
	store_close(s);
	CHECK(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove temp dir");
}
