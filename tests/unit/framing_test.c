/* framing_test.c — config/framing in the store (parsed, formatted, kept across
 * a reopen) and store_append_to (one named partition, keys kept). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store.h"
#include "unit_tests.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static struct store *open_in(const char *dir)
{
	struct store *s;
	struct store_options o = {.dir = dir, .map_size = 1 << 20};
	CHECK_OK(store_open(&s, &o));
	return s;
}

void test_framing_is_parsed_formatted_and_kept(void)
{
	struct store_config c;
	char buf[32];
	store_config_defaults(&c);
	CHECK(c.framing == STORE_FRAMING_LINES, "lines by default");
	CHECK(strcmp(store_config_name(STORE_CFG_FRAMING), "framing") == 0, "its name");
	enum store_config_key key;
	CHECK(store_config_lookup("framing", &key) == 0 && key == STORE_CFG_FRAMING,
	      "looked up by name");
	CHECK_OK(store_config_parse(&c, STORE_CFG_FRAMING, "writes\n", 7));
	CHECK(c.framing == STORE_FRAMING_WRITES, "writes");
	CHECK_OK(store_config_parse(&c, STORE_CFG_FRAMING, " lines ", 7));
	CHECK(c.framing == STORE_FRAMING_LINES, "blanks around it");
	static const char *const bad[] = {"", "line", "Writes", "writes\n\n", "lines writes",
					  "writesx", "w"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_RC(store_config_parse(&c, STORE_CFG_FRAMING, bad[i], strlen(bad[i])), EINVAL);
		CHECK(c.framing == STORE_FRAMING_LINES, "a bad value changes nothing");
	}
	CHECK_RC(store_config_parse(&c, STORE_CFG_FRAMING, "lines\0", 6), EINVAL);
	c.framing = STORE_FRAMING_WRITES;
	CHECK(store_config_format(&c, STORE_CFG_FRAMING, buf, sizeof buf) == 7 &&
		      strcmp(buf, "writes\n") == 0,
	      "formatted");

	char dir[] = "/tmp/topicfs-framing-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	struct store *s = open_in(dir);
	struct store_topic t;
	store_config_defaults(&c);
	CHECK_OK(store_topic_create(s, "w", &c, &t));
	CHECK_OK(store_topic_configure(s, t.id, STORE_CFG_FRAMING, "writes", 6));
	CHECK_RC(store_topic_configure(s, t.id, STORE_CFG_FRAMING, "bytes", 5), EINVAL);
	c.framing = 7;
	CHECK_RC(store_topic_create(s, "bad", &c, NULL), EINVAL);
	store_close(s);
	s = open_in(dir);
	CHECK_OK(store_topic_by_name(s, "w", &t));
	CHECK(t.config.framing == STORE_FRAMING_WRITES, "kept across a reopen");
	store_close(s);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct value {
	char buf[16];
	size_t len;
	int has_key;
};

static int copy_value(const struct store_record *r, void *arg)
{
	struct value *v = arg;
	v->len = r->value_len < sizeof v->buf ? r->value_len : sizeof v->buf;
	memcpy(v->buf, r->value, v->len);
	v->has_key = r->key != NULL;
	return 0;
}

void test_append_to_fills_one_partition_in_order(void)
{
	char dir[] = "/tmp/topicfs-append-to-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	struct store *s = open_in(dir);
	struct store_config c;
	struct store_topic t;
	store_config_defaults(&c);
	c.partitions = 3;
	CHECK_OK(store_topic_create(s, "p", &c, &t));
	struct store_record_in r[4] = {{"k1", 2, "a", 1}, {NULL, 0, "b", 1}, {"k2", 2, "c", 1},
				       {"zz", 2, "d", 1}};
	CHECK_OK(store_append_to(s, t.id, 1, r, 4));
	struct store_partition p;
	for (uint32_t i = 0; i < 3; i++) {
		CHECK_OK(store_partition_find(s, t.id, i, &p));
		CHECK(p.end_offset == (i == 1 ? 4u : 0u), "only partition 1 got records");
	}
	CHECK_OK(store_partition_find(s, t.id, 1, &p));
	for (uint64_t o = 0; o < 4; o++) {
		struct value v;
		CHECK_OK(store_record_view(s, p.gpid, o, copy_value, &v));
		CHECK(v.len == 1 && v.buf[0] == "abcd"[o], "in order");
		CHECK(v.has_key == (r[o].key != NULL), "keys kept");
	}
	/* The round robin did not move: the next unkeyed record goes to 0. */
	CHECK_OK(store_append(s, t.id, &r[1], 1));
	CHECK_OK(store_partition_find(s, t.id, 0, &p));
	CHECK(p.end_offset == 1, "round robin where it was");
	CHECK_RC(store_append_to(s, t.id, 3, r, 1), ENOENT);
	CHECK_RC(store_append_to(s, t.id, 4096, r, 1), ENOENT);
	CHECK_RC(store_append_to(s, 999, 0, r, 1), ENOENT);
	CHECK_OK(store_topic_configure(s, t.id, STORE_CFG_MAX_MESSAGE_BYTES, "0", 1));
	CHECK_RC(store_append_to(s, t.id, 2, r, 1), EMSGSIZE);
	CHECK_OK(store_partition_find(s, t.id, 2, &p));
	CHECK(p.end_offset == 0, "nothing stored");
	store_close(s);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
