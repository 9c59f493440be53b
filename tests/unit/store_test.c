/* store_test.c — unit tests of the LMDB log store, one test per behaviour. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "check.h"
#include "store.h"
#include "unit_tests.h"

/* --- fixture: a store in a fresh temp dir --- */

struct fx {
	char dir[64];
	struct store *s;
};

static void fx_open_with(struct fx *f, size_t map_size, int sync_always)
{
	struct store_options o = {.dir = f->dir, .map_size = map_size, .sync_always = sync_always};
	CHECK_OK(store_open(&f->s, &o));
}

static void fx_init(struct fx *f, size_t map_size)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/topicfs-unit-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL, "mkdtemp failed");
	fx_open_with(f, map_size, 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void fx_done(struct fx *f)
{
	if (f->s)
		store_close(f->s);
	f->s = NULL;
	CHECK(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove temp dir");
}

static void fx_reopen(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
	fx_open_with(f, 0, 0);
}

static uint32_t new_topic(struct fx *f, const char *name, uint32_t partitions)
{
	struct store_config cfg;
	store_config_defaults(&cfg);
	cfg.partitions = partitions;
	struct store_topic t;
	CHECK_OK(store_topic_create(f->s, name, &cfg, &t));
	return t.id;
}

static uint32_t gpid_of(struct fx *f, uint32_t topic, uint32_t index)
{
	struct store_partition p;
	CHECK_OK(store_partition_find(f->s, topic, index, &p));
	return p.gpid;
}

static struct store_partition part_of(struct fx *f, uint32_t topic, uint32_t index)
{
	struct store_partition p;
	CHECK_OK(store_partition_find(f->s, topic, index, &p));
	return p;
}

static void configure(struct fx *f, uint32_t topic, enum store_config_key key, const char *text)
{
	CHECK_OK(store_topic_configure(f->s, topic, key, text, strlen(text)));
}

static int append_text(struct fx *f, uint32_t topic, const char *key, const char *value)
{
	struct store_record_in r = {key, key ? strlen(key) : 0, value, strlen(value)};
	return store_append(f->s, topic, &r, 1);
}

/* Appends one record as a batch of its own: the WAL's fold would put the
 * appends of one millisecond in one batch. */
static void append_own_batch(struct fx *f, uint32_t topic, const char *value)
{
	CHECK_OK(append_text(f, topic, NULL, value));
	struct store_partition p;
	CHECK_OK(store_partition_find(f->s, topic, 0, &p)); /* a read folds what is queued */
}

/* A copy of one record, taken inside store_record_view's callback. */
struct got {
	char value[256];
	size_t value_len;
	char key[256];
	size_t key_len;
	int has_key;
	int64_t ts;
	uint64_t pos, offset;
};

static int copy_record(const struct store_record *r, void *arg)
{
	struct got *g = arg;
	CHECK(r->value_len <= sizeof(g->value) && r->key_len <= sizeof(g->key), "record too big");
	memcpy(g->value, r->value, r->value_len);
	g->value_len = r->value_len;
	g->has_key = r->key != NULL;
	if (r->key)
		memcpy(g->key, r->key, r->key_len);
	g->key_len = r->key_len;
	g->ts = r->timestamp_ms;
	g->pos = r->pos;
	g->offset = r->offset;
	return 0;
}

static struct got view(struct fx *f, uint32_t gpid, uint64_t offset)
{
	struct got g;
	memset(&g, 0, sizeof(g));
	CHECK_OK(store_record_view(f->s, gpid, offset, copy_record, &g));
	return g;
}

static struct got value_only(struct fx *f, uint32_t gpid, uint64_t offset)
{
	struct got g;
	memset(&g, 0, sizeof(g));
	CHECK_OK(store_record_value(f->s, gpid, offset, copy_record, &g));
	return g;
}

/* store_record_head's callback: the head, and whether value and key were left out. */
static int copy_head(const struct store_record *r, void *arg)
{
	struct got *g = arg;
	g->value_len = r->value_len;
	g->has_key = r->value != NULL || r->key != NULL; /* neither should be read */
	g->ts = r->timestamp_ms;
	g->pos = r->pos;
	g->offset = r->offset;
	return 0;
}

static int value_is(const struct got *g, const char *s)
{
	return g->value_len == strlen(s) && memcmp(g->value, s, g->value_len) == 0;
}

/* --- partitioner, names, config --- */

static void test_murmur2_matches_kafka(void)
{
	static const struct {
		const char *in;
		int32_t want;
	} v[] = {
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK(store_murmur2(v[i].in, strlen(v[i].in)) == v[i].want, v[i].in);
}

static void test_partition_for_key_is_to_positive_mod(void)
{
	/* toPositive(-790332482) = 1357151166; 1357151166 % 3 = 0, % 7 = 1. */
	CHECK(store_partition_for_key("foobar", 6, 3) == 0, "foobar over 3");
	CHECK(store_partition_for_key("foobar", 6, 7) == 1357151166u % 7, "foobar over 7");
	CHECK(store_partition_for_key("abc", 3, 10) == 479470107u % 10, "abc over 10");
	CHECK(store_partition_for_key("x", 1, 1) == 0, "one partition");
	for (uint32_t n = 1; n < 100; n++) {
		char key[16];
		int len = snprintf(key, sizeof(key), "key-%u", n);
		uint32_t want = ((uint32_t)store_murmur2(key, (size_t)len) & 0x7fffffffu) % n;
		CHECK(store_partition_for_key(key, (size_t)len, n) == want, key);
	}
}

static void test_names_follow_kafka_rule(void)
{
	char name[300];
	memset(name, 'a', sizeof(name));
	CHECK(store_name_is_valid(name, 249), "249 chars are fine");
	CHECK(!store_name_is_valid(name, 250), "250 chars are too many");
	CHECK(store_name_is_valid("a", 1), "one char");
	CHECK(store_name_is_valid("My_topic-1.x", 12), "all allowed chars");
	CHECK(store_name_is_valid("...", 3), "three dots is a name");
	CHECK(store_name_is_valid(".a", 2), "leading dot");
	CHECK(!store_name_is_valid(".", 1), "dot");
	CHECK(!store_name_is_valid("..", 2), "dot dot");
	CHECK(!store_name_is_valid("", 0), "empty");
	CHECK(!store_name_is_valid("a/b", 3), "slash");
	CHECK(!store_name_is_valid("a b", 3), "space");
	CHECK(!store_name_is_valid("caf\xc3\xa9", 5), "non-ASCII");
	CHECK(!store_name_is_valid("a\0b", 3), "NUL inside");
	CHECK(!store_name_is_valid("a:b", 3), "colon");
}

static void test_config_defaults_and_names(void)
{
	struct store_config c;
	enum store_config_key key;
	store_config_defaults(&c);
	CHECK(c.partitions == 1 && c.retention_ms == 604800000 && c.retention_bytes == -1 &&
		      c.max_message_bytes == 1048576 && c.key_separator[0] == '\0',
	      "Kafka's defaults");
	for (int k = 0; k < STORE_CFG_COUNT; k++)
		CHECK(store_config_lookup(store_config_name((enum store_config_key)k), &key) == 0 &&
			      key == (enum store_config_key)k,
		      "name round trip");
	CHECK(store_config_lookup("retention.ms", &key) == 0 && key == STORE_CFG_RETENTION_MS,
	      "lookup");
	CHECK(store_config_lookup("nope", &key) == ENOENT, "unknown name");
	CHECK(store_config_name(STORE_CFG_COUNT) == NULL, "unknown key");
}

static int config_equal(const struct store_config *a, const struct store_config *b)
{
	return a->partitions == b->partitions && a->retention_ms == b->retention_ms &&
	       a->retention_bytes == b->retention_bytes &&
	       a->max_message_bytes == b->max_message_bytes &&
	       strcmp(a->key_separator, b->key_separator) == 0 && a->framing == b->framing;
}

static int parse(struct store_config *c, enum store_config_key k, const char *text)
{
	return store_config_parse(c, k, text, strlen(text));
}

static void test_config_parse_accepts_valid_values(void)
{
	struct store_config c;
	store_config_defaults(&c);
	CHECK_OK(parse(&c, STORE_CFG_PARTITIONS, "12\n"));
	CHECK(c.partitions == 12, "partitions");
	CHECK_OK(parse(&c, STORE_CFG_PARTITIONS, " \t7 \n"));
	CHECK(c.partitions == 7, "blanks around");
	CHECK_OK(parse(&c, STORE_CFG_PARTITIONS, "4096"));
	CHECK(c.partitions == 4096, "max partitions");
	CHECK_OK(parse(&c, STORE_CFG_RETENTION_MS, "-1\n"));
	CHECK(c.retention_ms == -1, "forever");
	CHECK_OK(parse(&c, STORE_CFG_RETENTION_MS, "9223372036854775807"));
	CHECK(c.retention_ms == INT64_MAX, "int64 max");
	CHECK_OK(parse(&c, STORE_CFG_RETENTION_BYTES, "0"));
	CHECK(c.retention_bytes == 0, "zero bytes");
	CHECK_OK(parse(&c, STORE_CFG_MAX_MESSAGE_BYTES, "67108864"));
	CHECK(c.max_message_bytes == STORE_MESSAGE_MAX, "max message");
	CHECK_OK(parse(&c, STORE_CFG_KEY_SEPARATOR, "\t\n"));
	CHECK(strcmp(c.key_separator, "\t") == 0, "tab separator kept");
	CHECK_OK(parse(&c, STORE_CFG_KEY_SEPARATOR, " : \n"));
	CHECK(strcmp(c.key_separator, " : ") == 0, "spaces kept exactly");
	CHECK_OK(parse(&c, STORE_CFG_KEY_SEPARATOR, "0123456789abcdef"));
	CHECK(strcmp(c.key_separator, "0123456789abcdef") == 0, "16 bytes");
	CHECK_OK(parse(&c, STORE_CFG_KEY_SEPARATOR, "\n"));
	CHECK(c.key_separator[0] == '\0', "empty disables");
}

static void test_config_parse_rejects_bad_values(void)
{
	static const struct {
		enum store_config_key k;
		const char *text;
	} bad[] = {
		{STORE_CFG_PARTITIONS, "0"},
		{STORE_CFG_PARTITIONS, "4097"},
		{STORE_CFG_PARTITIONS, "-1"},
		{STORE_CFG_PARTITIONS, ""},
		{STORE_CFG_PARTITIONS, "\n"},
		{STORE_CFG_PARTITIONS, " "},
		{STORE_CFG_PARTITIONS, "3x"},
		{STORE_CFG_PARTITIONS, "3 4"},
		{STORE_CFG_PARTITIONS, "0x10"},
		{STORE_CFG_PARTITIONS, "+3"},
		{STORE_CFG_PARTITIONS, "3\n\n"},
		{STORE_CFG_PARTITIONS, "3.0"},
		{STORE_CFG_PARTITIONS, "99999999999999999999"},
		{STORE_CFG_RETENTION_MS, "-2"},
		{STORE_CFG_RETENTION_MS, "9223372036854775808"},
		{STORE_CFG_RETENTION_MS, "-9223372036854775808"},
		{STORE_CFG_RETENTION_MS, "-"},
		{STORE_CFG_RETENTION_MS, "1e3"},
		{STORE_CFG_RETENTION_BYTES, "-2"},
		{STORE_CFG_RETENTION_BYTES, "abc"},
		{STORE_CFG_MAX_MESSAGE_BYTES, "-1"},
		{STORE_CFG_MAX_MESSAGE_BYTES, "67108865"},
		{STORE_CFG_KEY_SEPARATOR, "0123456789abcdefg"},
		{STORE_CFG_KEY_SEPARATOR, "a\nb"},
		{STORE_CFG_KEY_SEPARATOR, "\n\n"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_config c, before;
		store_config_defaults(&c);
		before = c;
		CHECK_RC(parse(&c, bad[i].k, bad[i].text), EINVAL);
		CHECK(config_equal(&c, &before), "config unchanged on error");
	}
	struct store_config c;
	store_config_defaults(&c);
	CHECK_RC(store_config_parse(&c, STORE_CFG_KEY_SEPARATOR, "a\0b", 3), EINVAL);
	CHECK_RC(store_config_parse(&c, STORE_CFG_PARTITIONS, "1\0", 2), EINVAL);
	CHECK_RC(store_config_parse(&c, STORE_CFG_COUNT, "1", 1), EINVAL);
}

static void test_config_format_round_trips(void)
{
	struct store_config c, d;
	store_config_defaults(&c);
	c.partitions = 3;
	c.retention_ms = -1;
	c.retention_bytes = 1234567890123;
	strcpy(c.key_separator, "\t");
	store_config_defaults(&d);
	char buf[64];
	for (int k = 0; k < STORE_CFG_COUNT; k++) {
		size_t n = store_config_format(&c, (enum store_config_key)k, buf, sizeof(buf));
		CHECK(n == strlen(buf) && n > 0 && buf[n - 1] == '\n', "text plus newline");
		CHECK_OK(store_config_parse(&d, (enum store_config_key)k, buf, n));
	}
	CHECK(config_equal(&c, &d), "format then parse gives the same config");
	CHECK(store_config_format(&c, STORE_CFG_RETENTION_MS, buf, sizeof(buf)) == 3 &&
		      strcmp(buf, "-1\n") == 0,
	      "retention.ms text");
	CHECK(store_config_format(&c, STORE_CFG_PARTITIONS, buf, 2) == 2 && strcmp(buf, "3") == 0,
	      "truncated like snprintf");
}

/* --- topics --- */

static void test_topic_create_lookup_delete(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct store_config cfg;
	store_config_defaults(&cfg);
	cfg.partitions = 3;
	struct store_topic t, u;
	CHECK_OK(store_topic_create(f.s, "orders", &cfg, &t));
	CHECK(t.id == 1 && strcmp(t.name, "orders") == 0 && t.config.partitions == 3, "created");
	CHECK(t.created_ms > 0 && t.created_ms <= store_now_ms(), "created_ms");
	CHECK_OK(store_topic_by_name(f.s, "orders", &u));
	CHECK(u.id == t.id && u.config.partitions == 3 && u.created_ms == t.created_ms, "by name");
	CHECK_OK(store_topic_by_id(f.s, t.id, &u));
	CHECK(strcmp(u.name, "orders") == 0, "by id");
	uint32_t gpids[3];
	for (uint32_t i = 0; i < 3; i++) {
		struct store_partition p = part_of(&f, t.id, i);
		CHECK(p.index == i && p.topic_id == t.id && p.start_offset == 0 && p.end_offset == 0 &&
			      p.start_pos == 0 && p.end_pos == 0,
		      "empty partition");
		CHECK(p.gpid >= 1 && p.gpid < STORE_GPID_LIMIT, "gpid range");
		gpids[i] = p.gpid;
		struct store_partition q;
		CHECK_OK(store_partition_get(f.s, p.gpid, &q));
		CHECK(q.index == i && q.topic_id == t.id, "partition by gpid");
	}
	CHECK_RC(store_partition_find(f.s, t.id, 3, NULL), ENOENT);
	CHECK_OK(append_text(&f, t.id, NULL, "hello"));

	CHECK_OK(store_topic_delete(f.s, "orders"));
	CHECK_RC(store_topic_by_name(f.s, "orders", &u), ENOENT);
	CHECK_RC(store_topic_by_id(f.s, t.id, &u), ENOENT);
	CHECK_RC(store_topic_delete(f.s, "orders"), ENOENT);
	for (int i = 0; i < 3; i++)
		CHECK_RC(store_partition_get(f.s, gpids[i], NULL), ENOENT);
	char buf[16];
	size_t got;
	CHECK_RC(store_log_read(f.s, gpids[0], 0, buf, sizeof(buf), &got), ENOENT);
	CHECK_RC(store_record_view(f.s, gpids[0], 0, copy_record, NULL), ENOENT);
	CHECK_RC(append_text(&f, t.id, NULL, "x"), ENOENT);

	/* A new topic of the same name is a new topic: new id, no records; its
	 * partitions take the deleted ones' gpids, lowest first. */
	CHECK_OK(store_topic_create(f.s, "orders", &cfg, &u));
	CHECK(u.id == 2, "topic ids are not reused");
	for (uint32_t i = 0; i < 3; i++) {
		struct store_partition p = part_of(&f, u.id, i);
		CHECK(p.gpid == gpids[i] && p.end_offset == 0 && p.end_pos == 0,
		      "the deleted partitions' gpids are reused, empty");
	}
	CHECK_RC(store_log_read(f.s, gpids[0], 0, buf, sizeof(buf), &got), 0);
	CHECK(got == 0, "a reused gpid holds none of the old records");
	fx_done(&f);
}

/* The gpids of topic t's partitions, in index order. */
static void gpids_of(struct fx *f, uint32_t t, uint32_t n, uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = part_of(f, t, i).gpid;
}

static void test_gpids_freed_anywhere_are_taken_lowest_first(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t a[2], b[2], d[3], e[1];
	uint32_t ta = new_topic(&f, "a", 2), tb = new_topic(&f, "b", 2);
	gpids_of(&f, ta, 2, a);
	gpids_of(&f, tb, 2, b);
	uint32_t tc = new_topic(&f, "c", 2);
	(void)tc;
	CHECK_OK(store_topic_delete(f.s, "b"));
	uint32_t td = new_topic(&f, "d", 3);
	gpids_of(&f, td, 3, d);
	CHECK(d[0] == b[0] && d[1] == b[1] && d[2] == 7, "the middle hole first, then a new id");
	CHECK_OK(store_topic_delete(f.s, "a"));
	uint32_t te = new_topic(&f, "e", 1);
	gpids_of(&f, te, 1, e);
	CHECK(e[0] == a[0], "a hole below the others is found");
	fx_reopen(&f);
	CHECK_OK(store_topic_configure(f.s, te, STORE_CFG_PARTITIONS, "3", 1));
	uint32_t grown[3];
	gpids_of(&f, te, 3, grown);
	CHECK(grown[1] == a[1] && grown[2] == 8, "growing a topic takes free ids too, after a reopen");
	fx_done(&f);
}

static uint32_t busy_gpid;
static bool is_busy(uint32_t gpid)
{
	return gpid == busy_gpid;
}

static void test_busy_gpids_are_not_reused(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct store_config cfg;
	store_config_defaults(&cfg);
	cfg.partitions = 2;
	struct store_topic t, u, v;
	CHECK_OK(store_topic_create(f.s, "a", &cfg, &t));
	uint32_t g0 = part_of(&f, t.id, 0).gpid, g1 = part_of(&f, t.id, 1).gpid;
	CHECK_OK(store_topic_delete(f.s, "a"));
	busy_gpid = g0;
	store_set_gpid_busy_hook(f.s, is_busy);
	CHECK_OK(store_topic_create(f.s, "b", &cfg, &u));
	CHECK(part_of(&f, u.id, 0).gpid == g1, "the free gpid that is not busy is taken");
	CHECK(part_of(&f, u.id, 1).gpid != g0, "a busy gpid is skipped");
	busy_gpid = 0;
	cfg.partitions = 1;
	CHECK_OK(store_topic_create(f.s, "c", &cfg, &v));
	CHECK(part_of(&f, v.id, 0).gpid == g0, "once let go it is taken again");
	fx_done(&f);
}

/* Sets the store's next new gpid, with the store closed (as LMDB's mdb_load would). */
static void set_next_gpid(struct fx *f, uint32_t next)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	store_close(f->s);
	f->s = NULL;
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 16));
	CHECK_OK(mdb_env_open(env, f->dir, 0, 0600));
	CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
	CHECK_OK(mdb_dbi_open(txn, "meta", 0, &dbi));
	MDB_val k = {9, "next_gpid"}, d = {sizeof next, &next};
	CHECK_OK(mdb_put(txn, dbi, &k, &d, 0));
	CHECK_OK(mdb_txn_commit(txn));
	mdb_env_close(env);
	fx_open_with(f, 0, 0);
}

/* Issue 14, finding 3: `mkdir x; echo 4096 > x/config/partitions; rmdir x`
 * 2048 times made 2^23 partitions, every later mkdir ENOSPC. The store is put
 * where those rounds leave it (the next new gpid near the limit, none below
 * in use), then the loop goes on. */
static void test_gpids_never_run_out_however_many_topics_come_and_go(void)
{
	struct fx f;
	fx_init(&f, 0);
	set_next_gpid(&f, STORE_GPID_LIMIT - STORE_PARTITIONS_MAX);
	struct store_config cfg;
	store_config_defaults(&cfg);
	cfg.partitions = STORE_PARTITIONS_MAX;
	struct store_topic t;
	for (int r = 0; r < 4; r++) {
		CHECK_OK(store_topic_create(f.s, "x", &cfg, &t));
		CHECK_OK(store_topic_delete(f.s, "x"));
	}
	CHECK_OK(store_topic_create(f.s, "new", &cfg, &t));
	CHECK(part_of(&f, t.id, STORE_PARTITIONS_MAX - 1).gpid == STORE_PARTITIONS_MAX,
	      "the lowest free gpids are taken");
	fx_done(&f);
}

static int hook_level;
static char hook_msg[1024];
static void hook(int level, const char *msg)
{
	hook_level = level;
	snprintf(hook_msg, sizeof hook_msg, "%s", msg);
}

/* Issue 14, finding 8: a truncated data.mdb (a partial copy) is refused at
 * open with EIO and a message through the log hook, instead of a SIGBUS. */
static void test_truncated_data_file_is_refused_through_the_log_hook(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t t = new_topic(&f, "t", 1);
	char value[1000];
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	for (int i = 0; i < 500; i++)
		CHECK_OK(append_text(&f, t, NULL, value));
	store_close(f.s);
	f.s = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/data.mdb", f.dir);
	CHECK(truncate(path, 65536) == 0, "truncate");
	store_set_log_hook(hook);
	struct store_options o = {.dir = f.dir};
	CHECK_RC(store_open(&f.s, &o), EIO);
	store_set_log_hook(NULL);
	CHECK(hook_level == STORE_LOG_ERR && strstr(hook_msg, "truncated or damaged") &&
		      strstr(hook_msg, "data.mdb is 65536 bytes"),
	      "the store says why, through the hook");
	f.s = NULL;
	fx_done(&f);
}

static void test_topic_create_refuses_bad_input(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct store_config cfg;
	store_config_defaults(&cfg);
	struct store_topic t;
	CHECK_OK(store_topic_create(f.s, "a", &cfg, &t));
	CHECK_RC(store_topic_create(f.s, "a", &cfg, &t), EEXIST);
	CHECK_RC(store_topic_create(f.s, "a/b", &cfg, &t), EINVAL);
	CHECK_RC(store_topic_create(f.s, "..", &cfg, &t), EINVAL);
	CHECK_RC(store_topic_create(f.s, "", &cfg, &t), EINVAL);
	char longname[300];
	memset(longname, 'x', 250);
	longname[250] = '\0';
	CHECK_RC(store_topic_create(f.s, longname, &cfg, &t), EINVAL);
	longname[249] = '\0';
	CHECK_OK(store_topic_create(f.s, longname, &cfg, &t));
	CHECK(strcmp(t.name, longname) == 0, "249-char name kept");
	cfg.partitions = 0;
	CHECK_RC(store_topic_create(f.s, "b", &cfg, &t), EINVAL);
	cfg.partitions = STORE_PARTITIONS_MAX + 1;
	CHECK_RC(store_topic_create(f.s, "b", &cfg, &t), EINVAL);
	store_config_defaults(&cfg);
	cfg.retention_ms = -2;
	CHECK_RC(store_topic_create(f.s, "b", &cfg, &t), EINVAL);
	store_config_defaults(&cfg);
	strcpy(cfg.key_separator, "\n");
	CHECK_RC(store_topic_create(f.s, "b", &cfg, &t), EINVAL);
	CHECK_RC(store_topic_by_name(f.s, "b", &t), ENOENT);
	uint64_t n;
	CHECK_OK(store_topic_count(f.s, &n));
	CHECK(n == 2, "only the valid topics exist");
	fx_done(&f);
}

static void test_topic_iteration_in_id_order(void)
{
	struct fx f;
	fx_init(&f, 0);
	new_topic(&f, "t1", 1);
	new_topic(&f, "t2", 2);
	new_topic(&f, "t3", 1);
	CHECK_OK(store_topic_delete(f.s, "t2"));
	struct store_topic t;
	CHECK_OK(store_topic_next(f.s, 0, &t));
	CHECK(t.id == 1 && strcmp(t.name, "t1") == 0, "first");
	CHECK_OK(store_topic_next(f.s, t.id, &t));
	CHECK(t.id == 3 && strcmp(t.name, "t3") == 0, "skips the deleted one");
	CHECK_RC(store_topic_next(f.s, t.id, &t), ENOENT);
	CHECK_RC(store_topic_next(f.s, UINT32_MAX, &t), ENOENT);
	uint64_t n;
	CHECK_OK(store_topic_count(f.s, &n));
	CHECK(n == 2, "count");
	fx_done(&f);
}

static void test_partitions_only_grow(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "g", 2);
	CHECK_RC(store_topic_configure(f.s, id, STORE_CFG_PARTITIONS, "1\n", 2), EINVAL);
	CHECK_RC(store_topic_configure(f.s, id, STORE_CFG_PARTITIONS, "junk", 4), EINVAL);
	configure(&f, id, STORE_CFG_PARTITIONS, "2\n");
	configure(&f, id, STORE_CFG_PARTITIONS, "5\n");
	struct store_topic t;
	CHECK_OK(store_topic_by_id(f.s, id, &t));
	CHECK(t.config.partitions == 5, "grown");
	uint32_t seen[5];
	for (uint32_t i = 0; i < 5; i++) {
		struct store_partition p = part_of(&f, id, i);
		CHECK(p.end_offset == 0 && p.index == i, "new partitions are empty");
		seen[i] = p.gpid;
		for (uint32_t j = 0; j < i; j++)
			CHECK(seen[j] != p.gpid, "distinct gpids");
	}
	CHECK_RC(store_partition_find(f.s, id, 5, NULL), ENOENT);
	configure(&f, id, STORE_CFG_RETENTION_MS, "1000");
	configure(&f, id, STORE_CFG_KEY_SEPARATOR, "\t\n");
	CHECK_OK(store_topic_by_id(f.s, id, &t));
	CHECK(t.config.retention_ms == 1000 && strcmp(t.config.key_separator, "\t") == 0 &&
		      t.config.partitions == 5,
	      "other settings");
	CHECK_RC(store_topic_configure(f.s, 999, STORE_CFG_RETENTION_MS, "1", 1), ENOENT);
	fx_done(&f);
}

/* --- appending and reading --- */

static void test_round_robin_over_partitions(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "rr", 3);
	struct store_record_in r[4] = {
		{NULL, 0, "r0", 2}, {NULL, 0, "r1", 2}, {NULL, 0, "r2", 2}, {NULL, 0, "r3", 2}};
	CHECK_OK(store_append(f.s, id, r, 4));
	CHECK(part_of(&f, id, 0).end_offset == 2, "partition 0 got records 0 and 3");
	CHECK(part_of(&f, id, 1).end_offset == 1, "partition 1 got record 1");
	CHECK(part_of(&f, id, 2).end_offset == 1, "partition 2 got record 2");
	struct got g = view(&f, gpid_of(&f, id, 0), 0);
	CHECK(value_is(&g, "r0"), "p0 offset 0");
	g = view(&f, gpid_of(&f, id, 0), 1);
	CHECK(value_is(&g, "r3"), "p0 offset 1");
	g = view(&f, gpid_of(&f, id, 2), 0);
	CHECK(value_is(&g, "r2"), "p2 offset 0");
	/* The cursor persists across appends: the next record goes to partition 1. */
	CHECK_OK(append_text(&f, id, NULL, "r4"));
	CHECK(part_of(&f, id, 1).end_offset == 2, "cursor continues");
	fx_reopen(&f);
	CHECK_OK(append_text(&f, id, NULL, "r5"));
	CHECK(part_of(&f, id, 2).end_offset == 2, "cursor survives reopen");
	fx_done(&f);
}

static void test_keyed_records_use_kafka_partitioner(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "k", 7);
	uint64_t want[7] = {0};
	for (int i = 0; i < 200; i++) {
		char key[16];
		snprintf(key, sizeof(key), "user-%d", i % 37);
		CHECK_OK(append_text(&f, id, key, "v"));
		uint32_t p = store_partition_for_key(key, strlen(key), 7);
		want[p]++;
		struct got g = view(&f, gpid_of(&f, id, p), want[p] - 1);
		CHECK(g.has_key && g.key_len == strlen(key) && memcmp(g.key, key, g.key_len) == 0,
		      "record in the key's partition");
	}
	for (uint32_t p = 0; p < 7; p++)
		CHECK(part_of(&f, id, p).end_offset == want[p], "counts per partition");
	fx_done(&f);
}

static void test_append_then_view_round_trip(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "rt", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	const char bin[] = {'a', '\0', 'b', '\n', '\0'};
	struct store_record_in r[3] = {
		{NULL, 0, "hello", 5},
		{NULL, 0, NULL, 0},
		{NULL, 0, bin, sizeof(bin)},
	};
	int64_t before = store_now_ms();
	CHECK_OK(store_append(f.s, id, r, 3));
	int64_t after = store_now_ms();
	struct got g = view(&f, gpid, 0);
	CHECK(value_is(&g, "hello") && g.pos == 0 && g.offset == 0 && !g.has_key, "record 0");
	CHECK(g.ts >= before && g.ts <= after, "timestamp is the commit time");
	g = view(&f, gpid, 1);
	CHECK(g.value_len == 0 && g.pos == 6, "empty record");
	g = view(&f, gpid, 2);
	CHECK(g.value_len == sizeof(bin) && memcmp(g.value, bin, sizeof(bin)) == 0 && g.pos == 7,
	      "NUL bytes and newlines survive");
	struct store_partition p = part_of(&f, id, 0);
	CHECK(p.end_offset == 3 && p.end_pos == 6 + 1 + sizeof(bin) + 1, "end");
	CHECK(p.last_append_ms == g.ts, "last_append_ms");
	CHECK_RC(store_record_view(f.s, gpid, 3, copy_record, &g), ENOENT);
	CHECK_RC(store_record_view(f.s, gpid + 100, 0, copy_record, &g), ENOENT);

	char buf[64];
	size_t got;
	CHECK_OK(store_log_read(f.s, gpid, 0, buf, sizeof(buf), &got));
	CHECK(got == p.end_pos && memcmp(buf, "hello\n\na\0b\n\0\n", got) == 0, "log bytes");
	CHECK_OK(store_log_read(f.s, gpid, p.end_pos, buf, sizeof(buf), &got));
	CHECK(got == 0, "EOF at end_pos");
	CHECK_OK(store_log_read(f.s, gpid, p.end_pos + 10, buf, sizeof(buf), &got));
	CHECK(got == 0, "EOF past end_pos");
	CHECK_OK(store_append(f.s, id, r, 0));
	fx_done(&f);
}

static int return_42(const struct store_record *r, void *arg)
{
	(void)r, (void)arg;
	return 42;
}

static void test_view_returns_callback_result(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "cb", 1);
	CHECK_OK(append_text(&f, id, NULL, "x"));
	CHECK_RC(store_record_view(f.s, gpid_of(&f, id, 0), 0, return_42, NULL), 42);
	fx_done(&f);
}

static void test_keys_none_empty_binary(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "keys", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	const char kbin[] = {'\0', '\xff', '\n', 'k'};
	static char big[STORE_KEY_MAX + 1];
	struct store_record_in r[4] = {
		{NULL, 0, "none", 4},
		{"", 0, "empty", 5},
		{kbin, sizeof(kbin), "bin", 3},
		{big, STORE_KEY_MAX, "max", 3},
	};
	CHECK_OK(store_append(f.s, id, r, 4));
	struct got g = view(&f, gpid, 0);
	CHECK(!g.has_key && g.key_len == 0, "no key");
	g = view(&f, gpid, 1);
	CHECK(g.has_key && g.key_len == 0, "empty key is a key");
	g = view(&f, gpid, 2);
	CHECK(g.has_key && g.key_len == sizeof(kbin) && memcmp(g.key, kbin, sizeof(kbin)) == 0,
	      "binary key");
	g = view(&f, gpid, 1);
	CHECK(value_is(&g, "empty"), "value next to an empty key");

	struct store_record_in toolong = {big, STORE_KEY_MAX + 1, "v", 1};
	CHECK_RC(store_append(f.s, id, &toolong, 1), EINVAL);
	CHECK(part_of(&f, id, 0).end_offset == 4, "nothing stored");
	fx_done(&f);
}

static void test_oversized_record_stores_nothing(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "big", 2);
	configure(&f, id, STORE_CFG_MAX_MESSAGE_BYTES, "10");
	struct store_record_in r[3] = {
		{NULL, 0, "ok", 2}, {NULL, 0, "0123456789", 10}, {NULL, 0, "0123456789a", 11}};
	CHECK_RC(store_append(f.s, id, r, 3), EMSGSIZE);
	for (uint32_t p = 0; p < 2; p++) {
		struct store_partition q = part_of(&f, id, p);
		CHECK(q.end_offset == 0 && q.end_pos == 0, "nothing stored");
	}
	CHECK_OK(store_append(f.s, id, r, 2));
	CHECK(part_of(&f, id, 0).end_offset == 1, "round robin did not advance on failure");
	CHECK(part_of(&f, id, 1).end_offset == 1, "both stored");
	configure(&f, id, STORE_CFG_MAX_MESSAGE_BYTES, "0");
	CHECK_OK(append_text(&f, id, NULL, ""));
	CHECK_RC(append_text(&f, id, NULL, "x"), EMSGSIZE);
	fx_done(&f);
}

/* A deterministic pseudo-random sequence (xorshift), so failures reproduce. */
static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_log_read_across_many_batches(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "log", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	enum { N = 200000, PER_APPEND = 5000 };
	size_t cap = (size_t)N * 41, len = 0;
	char *want = malloc(cap);
	uint64_t *pos = malloc(N * sizeof(*pos));
	char *vals = malloc((size_t)PER_APPEND * 40);
	struct store_record_in *r = malloc(PER_APPEND * sizeof(*r));
	CHECK(want && pos && vals && r, "malloc");
	for (int i = 0; i < N; i += PER_APPEND) {
		for (int j = 0; j < PER_APPEND; j++) {
			char *v = vals + (size_t)j * 40;
			size_t vl = (size_t)snprintf(v, 40, "record %d", i + j);
			vl += rnd() % 20; /* some filler, sometimes zero */
			memset(v + strlen(v), 'x', vl - strlen(v));
			r[j] = (struct store_record_in){NULL, 0, v, vl};
			pos[i + j] = len;
			memcpy(want + len, v, vl);
			len += vl;
			want[len++] = '\n';
		}
		CHECK_OK(store_append(f.s, id, r, PER_APPEND));
	}
	struct store_partition p = part_of(&f, id, 0);
	CHECK(p.end_offset == N && p.end_pos == len, "end offset and position");

	char *buf = malloc(300000);
	CHECK(buf != NULL, "malloc");
	size_t got;
	CHECK_OK(store_log_read(f.s, gpid, 0, buf, 300000, &got));
	CHECK(got == 300000 && memcmp(buf, want, got) == 0, "a long read from 0");
	for (int i = 0; i < 2000; i++) {
		uint64_t at = rnd() % (len + 10);
		size_t size = (size_t)(rnd() % (i % 10 == 0 ? 300000 : 5000));
		CHECK_OK(store_log_read(f.s, gpid, at, buf, size, &got));
		size_t expect = at >= len ? 0 : (size_t)(len - at < size ? len - at : size);
		CHECK(got == expect, "length of a random read");
		CHECK(memcmp(buf, want + (at < len ? at : 0), got) == 0, "bytes of a random read");
	}
	for (int i = 0; i < 2000; i++) {
		uint64_t off = rnd() % N;
		struct got g = view(&f, gpid, off);
		CHECK(g.pos == pos[off], "record position matches the log");
		CHECK(g.value_len + 1 == (off + 1 < N ? pos[off + 1] : len) - pos[off] &&
			      memcmp(g.value, want + pos[off], g.value_len) == 0,
		      "record bytes match the log");
	}
	/* The whole log, read in odd-sized chunks, is exactly the expected buffer. */
	size_t at = 0;
	while (at < len) {
		CHECK_OK(store_log_read(f.s, gpid, at, buf, 65537, &got));
		CHECK(got > 0 && memcmp(buf, want + at, got) == 0, "sequential read");
		at += got;
	}
	free(buf);
	free(r);
	free(vals);
	free(pos);
	free(want);
	fx_done(&f);
}

static void test_big_record_gets_its_own_batch(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "huge", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	size_t big = 300000;
	char *v = malloc(big);
	char *buf = malloc(big + 16);
	CHECK(v && buf, "malloc");
	for (size_t i = 0; i < big; i++)
		v[i] = (char)('a' + i % 26);
	struct store_record_in r[3] = {{NULL, 0, "a", 1}, {"k", 1, v, big}, {NULL, 0, "b", 1}};
	CHECK_OK(store_append(f.s, id, r, 3));
	size_t got;
	CHECK_OK(store_log_read(f.s, gpid, 0, buf, big + 16, &got));
	CHECK(got == big + 5 && memcmp(buf, "a\n", 2) == 0 && memcmp(buf + 2, v, big) == 0 &&
		      memcmp(buf + 2 + big, "\nb\n", 3) == 0,
	      "log around a big record");
	struct got g = view(&f, gpid, 2);
	CHECK(value_is(&g, "b") && g.pos == big + 3, "record after the big one");
	free(v);
	free(buf);
	fx_done(&f);
}

static void test_offsets_and_positions_survive_reopen(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "persist", 2);
	for (int i = 0; i < 10; i++)
		CHECK_OK(append_text(&f, id, NULL, "0123456789"));
	struct store_partition p0 = part_of(&f, id, 0);
	store_close(f.s);
	f.s = NULL;
	fx_open_with(&f, 0, 1);
	struct store_partition q0 = part_of(&f, id, 0);
	CHECK(p0.gpid == q0.gpid && p0.start_offset == q0.start_offset &&
		      p0.end_offset == q0.end_offset && p0.start_pos == q0.start_pos &&
		      p0.end_pos == q0.end_pos && p0.last_append_ms == q0.last_append_ms,
	      "partition meta unchanged");
	CHECK(q0.end_offset == 5 && q0.end_pos == 55, "5 records of 11 log bytes");
	struct store_topic t;
	CHECK_OK(store_topic_by_name(f.s, "persist", &t));
	CHECK(t.id == id && t.config.partitions == 2, "topic survives");
	CHECK_OK(append_text(&f, id, NULL, "after"));
	struct got g = view(&f, q0.gpid, 5);
	CHECK(value_is(&g, "after") && g.pos == 55, "appends continue at the end");
	CHECK_OK(store_sync(f.s));
	uint32_t id2 = new_topic(&f, "second", 1);
	CHECK(id2 == id + 1, "id counter survives");
	CHECK(gpid_of(&f, id2, 0) > part_of(&f, id, 1).gpid, "gpid counter survives");
	fx_done(&f);
}

/* --- retention --- */

static void append_n(struct fx *f, uint32_t id, int from, int n)
{
	struct store_record_in *r = malloc((size_t)n * sizeof(*r));
	char *vals = malloc((size_t)n * 16);
	CHECK(r && vals, "malloc");
	for (int i = 0; i < n; i++) {
		char *v = vals + (size_t)i * 16;
		snprintf(v, 16, "rec-%05d", from + i); /* 9 bytes, 10 in the log */
		r[i] = (struct store_record_in){NULL, 0, v, 9};
	}
	CHECK_OK(store_append(f->s, id, r, (size_t)n));
	free(vals);
	free(r);
}

static void test_retention_by_bytes_advances_start(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "rb", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	configure(&f, id, STORE_CFG_RETENTION_MS, "-1");
	append_n(&f, id, 0, 20000); /* 200000 log bytes, several batches */
	uint64_t deleted;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 0, "unlimited bytes keeps everything");

	configure(&f, id, STORE_CFG_RETENTION_BYTES, "100005"); /* 10000 records and a half */
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	struct store_partition p = part_of(&f, id, 0);
	CHECK(deleted == 10000, "deleted the oldest records");
	CHECK(p.start_offset == 10000 && p.start_pos == 100000, "start advanced");
	CHECK(p.end_offset == 20000 && p.end_pos == 200000, "end unchanged");
	struct got g;
	CHECK_RC(store_record_view(f.s, gpid, 9999, copy_record, &g), ENOENT);
	g = view(&f, gpid, 10000);
	CHECK(value_is(&g, "rec-10000") && g.pos == 100000, "first retained record");
	char buf[32];
	size_t got = 99;
	CHECK_RC(store_log_read(f.s, gpid, 99999, buf, sizeof(buf), &got), ERANGE);
	CHECK(got == 0, "nothing copied below start");
	CHECK_OK(store_log_read(f.s, gpid, 100000, buf, 20, &got));
	CHECK(got == 20 && memcmp(buf, "rec-10000\nrec-10001\n", 20) == 0, "log from start");

	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 0, "idempotent");

	/* Offsets are never reused: new records continue at the end. */
	append_n(&f, id, 20000, 5);
	CHECK(part_of(&f, id, 0).end_offset == 20005, "offsets continue");
	configure(&f, id, STORE_CFG_RETENTION_BYTES, "25");
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	p = part_of(&f, id, 0);
	CHECK(deleted == 10003 && p.start_offset == 20003 && p.start_pos == 200030,
	      "keeps the last whole records within 25 bytes");
	CHECK(p.end_pos - p.start_pos == 20, "two records left");
	g = view(&f, gpid, 20003);
	CHECK(value_is(&g, "rec-20003"), "kept record");

	configure(&f, id, STORE_CFG_RETENTION_BYTES, "0");
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	p = part_of(&f, id, 0);
	CHECK(deleted == 2 && p.start_offset == 20005 && p.start_pos == p.end_pos, "empty log");
	CHECK_OK(store_log_read(f.s, gpid, p.end_pos, buf, sizeof(buf), &got));
	CHECK(got == 0, "EOF on an empty log");
	append_n(&f, id, 20005, 1);
	g = view(&f, gpid, 20005);
	CHECK(value_is(&g, "rec-20005") && g.pos == 200050, "appends after emptying");
	fx_reopen(&f);
	p = part_of(&f, id, 0);
	CHECK(p.start_offset == 20005 && p.end_offset == 20006, "survives reopen");
	fx_done(&f);
}

/* What a subscriber saw: the events, and whether the store could be read then. */
struct seen {
	struct store *s;
	struct store_event ev[16];
	_Atomic int n;
	uint64_t end_read; /* the partition's end as read inside the last append event */
	int queued;        /* STORE_EVENT_QUEUED seen */
};

static void on_event(const struct store_event *ev, void *arg)
{
	struct seen *w = arg;
	struct store_partition p;
	if (ev->kind == STORE_EVENT_QUEUED) {
		w->queued++; /* the write returned; the WAL's fold announces the rest */
		return;
	}
	if (ev->kind == STORE_EVENT_APPEND && store_partition_get(w->s, ev->gpid, &p) == 0)
		w->end_read = p.end_offset; /* committed already: visible to a reader */
	if (w->n < 16)
		w->ev[w->n++] = *ev;
}

static void test_events_announce_appends_retention_and_deletion(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct seen w = {.s = f.s}, other = {.s = f.s};
	CHECK_OK(store_subscribe(f.s, on_event, &w));
	CHECK_OK(store_subscribe(f.s, on_event, &other));
	uint32_t id = new_topic(&f, "ev", 2);
	CHECK(w.n == 0, "creating a topic appends nothing");
	struct store_record_in r[3] = {
		{NULL, 0, "a", 1}, {NULL, 0, "b", 1}, {NULL, 0, "c", 1}}; /* round robin: 0 1 0 */
	CHECK_OK(store_append(f.s, id, r, 3));
	CHECK(w.queued == 1 && other.queued == 1, "the write is announced as it returns");
	struct store_partition p0;
	CHECK_OK(store_partition_find(f.s, id, 0, &p0)); /* a read: what the WAL holds is committed */
	/* The fold that committed it may be the fold thread's, announcing on its own. */
	for (int i = 0; i < 1000 && (atomic_load(&w.n) < 2 || atomic_load(&other.n) < 2); i++)
		usleep(1000);
	CHECK(w.n == 2 && other.n == 2, "one event per partition appended to, to each subscriber");
	CHECK(w.ev[0].kind == STORE_EVENT_APPEND && w.ev[0].topic_id == id &&
		      w.ev[0].gpid == gpid_of(&f, id, 0) && w.ev[0].offset == 2,
	      "partition 0's new end");
	CHECK(w.ev[1].gpid == gpid_of(&f, id, 1) && w.ev[1].offset == 1, "partition 1's new end");
	CHECK(w.end_read == 1, "announced after the commit");

	struct store_record_in big = {NULL, 0, "x", 2 << 20};
	char *v = calloc(1, 2 << 20);
	big.value = v;
	int n = w.n;
	CHECK_RC(store_append(f.s, id, &big, 1), EMSGSIZE);
	free(v);
	CHECK(w.n == n, "a refused append announces nothing");

	configure(&f, id, STORE_CFG_RETENTION_BYTES, "0");
	uint64_t deleted;
	n = w.n;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 3 && w.n == n + 2, "retention: one event per partition");
	CHECK(w.ev[n].kind == STORE_EVENT_RETAIN && w.ev[n].offset == 2 &&
		      w.ev[n + 1].kind == STORE_EVENT_RETAIN && w.ev[n + 1].offset == 1,
	      "the new starts");

	store_unsubscribe(f.s, on_event, &other);
	n = w.n;
	CHECK_OK(store_topic_delete(f.s, "ev"));
	CHECK(w.n == n + 1 && w.ev[n].kind == STORE_EVENT_TOPIC_DELETED && w.ev[n].topic_id == id,
	      "topic deletion");
	CHECK(other.n == 4, "no events after unsubscribing");
	store_unsubscribe(f.s, on_event, &w);
	fx_done(&f);
}

struct scanned {
	uint64_t first, next;
	size_t n;
	int bad;
};

static int scan_one(const struct store_record *r, void *arg)
{
	struct scanned *sc = arg;
	char want[16];
	snprintf(want, sizeof want, "rec-%05d", (int)r->offset);
	if (sc->n == 0)
		sc->first = r->offset;
	else if (r->offset != sc->next)
		sc->bad = 1;
	if (r->value_len != 9 || memcmp(r->value, want, 9) != 0 || r->key)
		sc->bad = 1;
	sc->next = r->offset + 1;
	return ++sc->n == 7000 ? EAGAIN : 0;
}

static void test_scan_reads_records_in_order_across_batches(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "sc", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	for (int i = 0; i < 4; i++)
		append_n(&f, id, i * 2500, 2500); /* four appends: four batches at least */
	struct scanned sc = {0};
	CHECK_OK(store_record_scan(f.s, gpid, 1234, 3000, scan_one, &sc));
	CHECK(sc.n == 3000 && sc.first == 1234 && sc.next == 4234 && !sc.bad, "3000 from 1234");
	sc = (struct scanned){0};
	CHECK_RC(store_record_scan(f.s, gpid, 0, 100000, scan_one, &sc), EAGAIN);
	CHECK(sc.n == 7000 && !sc.bad, "fn's result stops the scan");
	sc = (struct scanned){0};
	CHECK_OK(store_record_scan(f.s, gpid, 10000, 10, scan_one, &sc));
	CHECK(sc.n == 0, "nothing from the end on");
	for (int i = 0; i < 5; i++)
		append_n(&f, id, 10000 + i, 1); /* small batches: read through the map */
	sc = (struct scanned){0};
	CHECK_OK(store_record_scan(f.s, gpid, 9998, 100, scan_one, &sc));
	CHECK(sc.n == 7 && sc.first == 9998 && sc.next == 10005 && !sc.bad,
	      "from a big batch into small ones");
	configure(&f, id, STORE_CFG_RETENTION_BYTES, "10000");
	uint64_t deleted;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK_RC(store_record_scan(f.s, gpid, 0, 10, scan_one, &sc), ERANGE);

	struct store_mirror_state ms = {0}, in = {9000, 12, 77};
	CHECK_RC(store_mirror_get(f.s, gpid, &ms), ENOENT);
	CHECK_OK(store_mirror_set(f.s, &gpid, &in, 1));
	fx_reopen(&f);
	CHECK_OK(store_mirror_get(f.s, gpid, &ms));
	CHECK(ms.next == 9000 && ms.lost == 12 && ms.kafka_offset == 77, "mirror state survives");
	CHECK_OK(store_topic_delete(f.s, "sc"));
	CHECK_RC(store_mirror_get(f.s, gpid, &ms), ENOENT);
	fx_done(&f);
}

static void test_retention_by_time_deletes_old_batches(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "rt", 2);
	configure(&f, id, STORE_CFG_RETENTION_MS, "60000");
	append_n(&f, id, 0, 30000);
	uint64_t deleted;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 0, "nothing is a minute old yet");
	CHECK_OK(store_retention_run(f.s, store_now_ms() + 61000, &deleted));
	CHECK(deleted == 30000, "everything expired");
	for (uint32_t i = 0; i < 2; i++) {
		struct store_partition p = part_of(&f, id, i);
		CHECK(p.start_offset == 15000 && p.end_offset == 15000, "start caught up with end");
		CHECK(p.start_pos == 150000 && p.end_pos == 150000, "positions too");
		CHECK_RC(store_record_view(f.s, p.gpid, 0, copy_record, NULL), ENOENT);
	}
	append_n(&f, id, 30000, 2);
	CHECK_OK(store_retention_run(f.s, store_now_ms() + 1000, &deleted));
	CHECK(deleted == 0, "new records stay");
	struct got g = view(&f, gpid_of(&f, id, 0), 15000);
	CHECK(value_is(&g, "rec-30000"), "offsets are not reused");
	configure(&f, id, STORE_CFG_RETENTION_MS, "-1");
	CHECK_OK(store_retention_run(f.s, INT64_MAX, &deleted));
	CHECK(deleted == 0, "retention.ms=-1 keeps forever");
	configure(&f, id, STORE_CFG_RETENTION_MS, "0");
	CHECK_OK(store_retention_run(f.s, INT64_MIN, NULL));
	fx_done(&f);
}

/* --- the environment --- */

static void test_second_open_is_refused(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct store *other;
	struct store_options o = {.dir = f.dir};
	CHECK_RC(store_open(&other, &o), EBUSY);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(store_open(&other, &o) == EBUSY ? 0 : 1);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process gets EBUSY");
	store_close(f.s);
	f.s = NULL;
	CHECK_OK(store_open(&f.s, &o)); /* the lock goes with the store */
	fx_done(&f);
}

static void test_open_creates_missing_dirs(void)
{
	struct fx f;
	snprintf(f.dir, sizeof(f.dir), "/tmp/topicfs-unit-XXXXXX");
	CHECK(mkdtemp(f.dir) != NULL, "mkdtemp");
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/a/b/c", f.dir);
	struct store *s;
	struct store_options o = {.dir = sub};
	CHECK_OK(store_open(&s, &o));
	store_close(s);
	f.s = NULL;
	fx_done(&f);
}

struct expect_fill {
	char c;
	size_t len;
};

static int check_fill(const struct store_record *r, void *arg)
{
	const struct expect_fill *e = arg;
	const char *v = r->value;
	if (r->value_len != e->len)
		return EBADMSG;
	for (size_t i = 0; i < e->len; i++)
		if (v[i] != e->c)
			return EBADMSG;
	return 0;
}

static void test_map_grows_by_itself(void)
{
	struct fx f;
	fx_init(&f, 1 << 20);
	uint32_t id = new_topic(&f, "grow", 2);
	enum { VAL = 1000, N = 20000, PER = 100 }; /* ~20 MiB through a 1 MiB map */
	char *v = malloc(VAL);
	CHECK(v != NULL, "malloc");
	struct store_record_in r[PER];
	for (int i = 0; i < N; i += PER) {
		memset(v, 'a' + (i / PER) % 26, VAL);
		for (int j = 0; j < PER; j++)
			r[j] = (struct store_record_in){NULL, 0, v, VAL};
		CHECK_OK(store_append(f.s, id, r, PER));
	}
	/* One append bigger than the whole initial map, in one transaction. */
	size_t big_len = 4 << 20;
	char *big = malloc(big_len);
	CHECK(big != NULL, "malloc");
	memset(big, 'z', big_len);
	configure(&f, id, STORE_CFG_MAX_MESSAGE_BYTES, "4194304");
	struct store_record_in b = {NULL, 0, big, big_len};
	CHECK_OK(store_append(f.s, id, &b, 1));

	for (uint32_t p = 0; p < 2; p++) {
		struct store_partition q = part_of(&f, id, p);
		CHECK(q.end_offset == N / 2 + (p == 0), "all records stored");
		for (uint64_t off = 0; off < N / 2; off++) {
			uint64_t i = off * 2 + p; /* round robin over 2 partitions */
			struct expect_fill e = {(char)('a' + (i / PER) % 26), VAL};
			CHECK_OK(store_record_view(f.s, q.gpid, off, check_fill, &e));
		}
	}
	struct expect_fill e = {'z', big_len};
	CHECK_OK(store_record_view(f.s, gpid_of(&f, id, 0), N / 2, check_fill, &e));
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/data.mdb", f.dir);
	CHECK(stat(path, &st) == 0 && st.st_size > 24 << 20, "the data file outgrew the 1 MiB map");
	free(big);
	free(v);
	fx_reopen(&f);
	CHECK_OK(store_record_view(f.s, gpid_of(&f, id, 0), N / 2, check_fill, &e));
	fx_done(&f);
}

struct worker {
	struct store *s;
	uint32_t topic;
	int id;
	int rc;
};

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	char v[600];
	for (int i = 0; i < 300 && !w->rc; i++) {
		int n = snprintf(v, sizeof(v), "w%d-%d ", w->id, i);
		memset(v + n, 'p', sizeof(v) - (size_t)n);
		struct store_record_in r[8];
		for (int j = 0; j < 8; j++)
			r[j] = (struct store_record_in){"key", 3, v, sizeof(v)};
		w->rc = store_append(w->s, w->topic, r, 8);
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	static char buf[8192];
	struct store_partition p;
	uint32_t index = store_partition_for_key("key", 3, 2);
	for (int i = 0; i < 3000 && !w->rc; i++) {
		w->rc = store_partition_find(w->s, w->topic, index, &p);
		size_t got;
		if (!w->rc && p.end_pos > 0)
			w->rc = store_log_read(w->s, p.gpid, (uint64_t)i * 601 % p.end_pos, buf,
					       sizeof(buf), &got);
	}
	return NULL;
}

static void test_concurrent_appends_and_reads_while_map_grows(void)
{
	struct fx f;
	fx_init(&f, 1 << 20);
	uint32_t id = new_topic(&f, "conc", 2);
	struct worker w[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){f.s, id, i, 0};
		CHECK(pthread_create(&th[i], NULL, i < 4 ? writer_main : reader_main, &w[i]) == 0,
		      "pthread_create");
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		CHECK_OK(w[i].rc);
	}
	struct store_partition p = part_of(&f, id, store_partition_for_key("key", 3, 2));
	CHECK(p.end_offset == 4 * 300 * 8 && p.end_pos == p.end_offset * 601, "every record once");
	/* Each writer's records keep their order within the partition. */
	int next[4] = {0};
	char rec[601];
	for (uint64_t off = 0; off < p.end_offset; off++) {
		int wid, seq;
		size_t got;
		CHECK_OK(store_log_read(f.s, p.gpid, off * 601, rec, 600, &got));
		rec[got] = '\0';
		CHECK(sscanf(rec, "w%d-%d ", &wid, &seq) == 2 && wid >= 0 && wid < 4, "a whole record");
		CHECK(seq >= next[wid], "writer order kept");
		next[wid] = seq;
	}
	fx_done(&f);
}

/* --- main --- */

struct test {
	const char *name;
	void (*fn)(void);
};

#define T(name) {#name, test_##name}
static void test_topic_owner_is_stored_and_survives_reopen(void)
{
	struct fx f;
	struct store_config cfg;
	struct store_topic t;
	fx_init(&f, 0);
	store_config_defaults(&cfg);
	CHECK_OK(store_topic_create_as(f.s, "owned", &cfg, 1000, 100, 040750, &t));
	CHECK(t.uid == 1000 && t.gid == 100 && t.mode == 040750, "owner not returned");
	CHECK_OK(store_topic_create(f.s, "plain", &cfg, &t));
	CHECK(t.mode == 0, "a topic made without owner must read as never set");
	CHECK_RC(store_topic_create_as(f.s, "bad", &cfg, 0, 0, 0200000, &t), EINVAL);
	CHECK_OK(store_topic_by_name(f.s, "owned", &t));
	CHECK_OK(store_topic_set_owner(f.s, t.id, 7, 8, 040700));
	CHECK_RC(store_topic_set_owner(f.s, 999, 7, 8, 040700), ENOENT);
	fx_reopen(&f);
	CHECK_OK(store_topic_by_name(f.s, "owned", &t));
	CHECK(t.uid == 7 && t.gid == 8 && t.mode == 040700, "owner lost on reopen");
	CHECK(t.config.partitions == cfg.partitions, "config changed by set_owner");
	fx_done(&f);
}

/* Entries of one of the store's LMDB databases, read with the store closed. */
static size_t db_entries(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	CHECK_OK(mdb_env_create(&env));
	CHECK_OK(mdb_env_set_maxdbs(env, 16));
	CHECK_OK(mdb_env_open(env, dir, MDB_RDONLY, 0644));
	CHECK_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
	CHECK_OK(mdb_dbi_open(txn, db, 0, &dbi));
	CHECK_OK(mdb_stat(txn, dbi, &st));
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

static void test_big_topic_delete_leaves_no_batches(void)
{
	struct fx f;
	fx_init(&f, 0);
	struct stat st;
	char path[128];
	snprintf(path, sizeof(path), "%s/topicfs.reserve", f.dir);
	CHECK(stat(path, &st) == 0 && st.st_blocks * 512 >= 256 << 10,
	      "open keeps a space reserve for deleting on a full disk");

	uint32_t big = new_topic(&f, "big", 2);
	uint32_t other = new_topic(&f, "other", 1);
	CHECK_OK(append_text(&f, other, NULL, "stays"));
	/* One batch per append: over a thousand per partition, deleted in steps. */
	for (int i = 0; i < 3000; i++)
		CHECK_OK(append_text(&f, big, NULL, "some record"));
	CHECK(part_of(&f, big, 1).end_offset == 1500, "appended");
	CHECK_OK(store_topic_delete(f.s, "big"));
	CHECK_RC(store_topic_by_name(f.s, "big", NULL), ENOENT);
	CHECK(part_of(&f, other, 0).end_offset == 1, "the other topic is kept");
	struct got g = view(&f, gpid_of(&f, other, 0), 0);
	CHECK(value_is(&g, "stays"), "other topic's record");
	store_close(f.s);
	f.s = NULL;
	CHECK(db_entries(f.dir, "batches") == 1 && db_entries(f.dir, "positions") == 1,
	      "the deleted topic's batches are all gone");
	fx_done(&f);
}

/* Deletions announced, for the tests of topic deletion and retention. */
struct deletions {
	struct store_event retain[8];
	_Atomic int n_retain;
	_Atomic int n_deleted;
};

static void on_deletion(const struct store_event *ev, void *arg)
{
	struct deletions *d = arg;
	if (ev->kind == STORE_EVENT_RETAIN) {
		int i = atomic_fetch_add(&d->n_retain, 1);
		if (i < 8)
			d->retain[i] = *ev;
	} else if (ev->kind == STORE_EVENT_TOPIC_DELETED) {
		atomic_fetch_add(&d->n_deleted, 1);
	}
}

/* Emptying a big partition first is part of deleting its topic, not retention. */
static void test_big_topic_delete_is_announced_once_and_not_as_retention(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t big = new_topic(&f, "big", 1);
	for (int i = 0; i < 2000; i++) /* a batch each: emptied in two transactions */
		append_own_batch(&f, big, "some record");
	CHECK(part_of(&f, big, 0).end_offset == 2000, "appended");
	struct deletions d = {0};
	CHECK_OK(store_subscribe(f.s, on_deletion, &d));
	CHECK_OK(store_topic_delete(f.s, "big"));
	CHECK(d.n_deleted == 1, "the topic's deletion is announced once");
	CHECK(d.n_retain == 0, "emptying its partition first is not announced as retention");
	store_unsubscribe(f.s, on_deletion, &d);
	fx_done(&f);
}

/* Retention of a partition of thousands of batches goes a bounded transaction
 * at a time, each announced with the new start, and stops at what the
 * config keeps. */
static void test_retention_goes_in_steps_and_keeps_what_the_config_keeps(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "steps", 1);
	for (int i = 0; i < 2500; i++) /* "some record\n": 12 log bytes, a batch each */
		append_own_batch(&f, id, "some record");
	configure(&f, id, STORE_CFG_RETENTION_BYTES, "1200"); /* the last 100 records */
	struct deletions d = {0};
	CHECK_OK(store_subscribe(f.s, on_deletion, &d));
	uint64_t deleted = 0;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	store_unsubscribe(f.s, on_deletion, &d);
	struct store_partition p = part_of(&f, id, 0);
	CHECK(deleted == 2400 && p.start_offset == 2400 && p.end_offset == 2500,
	      "all but the last 1200 bytes deleted");
	CHECK(p.end_pos - p.start_pos == 1200, "1200 log bytes kept");
	CHECK(d.n_retain == 3, "three transactions of at most 1024 batches, each announced");
	CHECK(d.retain[0].offset == 1024 && d.retain[1].offset == 2048 &&
		      d.retain[2].offset == 2400,
	      "each with the partition's new start");
	CHECK(d.retain[2].topic_id == id && d.retain[2].gpid == p.gpid, "of this partition");
	deleted = 1;
	CHECK_OK(store_retention_run(f.s, store_now_ms(), &deleted));
	CHECK(deleted == 0 && part_of(&f, id, 0).start_offset == 2400, "a second run deletes nothing");
	fx_done(&f);
}

/* store_record_value gives a record without its key, store_record_head without
 * value or key; views of records deep in a big batch (read with pread at
 * computed positions) are exact. */
static void test_record_value_and_deep_records(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "deep", 1);
	uint32_t gpid = gpid_of(&f, id, 0);
	enum { N = 5000 };
	static char vals[N][16], keys[N][8];
	static struct store_record_in r[N];
	for (int i = 0; i < N; i++) {
		snprintf(vals[i], sizeof vals[i], "value-%d", i);
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		r[i] = (struct store_record_in){i % 3 ? keys[i] : NULL, i % 3 ? strlen(keys[i]) : 0,
						vals[i], strlen(vals[i])};
	}
	CHECK_OK(store_append(f.s, id, r, N));
	uint64_t pos = 0;
	for (int i = 0; i < N; i += 499) {
		struct got h = value_only(&f, gpid, (uint64_t)i);
		CHECK(value_is(&h, vals[i]) && !h.has_key && h.key_len == 0, "value without key");
		struct got g = view(&f, gpid, (uint64_t)i);
		CHECK(value_is(&g, vals[i]), "deep value");
		CHECK(g.has_key == (i % 3 != 0), "deep key presence");
		CHECK(!g.has_key || (g.key_len == strlen(keys[i]) && !memcmp(g.key, keys[i], g.key_len)),
		      "deep key");
		CHECK(g.pos == h.pos && g.ts == h.ts, "value agrees with view");
		struct got hd;
		memset(&hd, 0, sizeof(hd));
		CHECK_OK(store_record_head(f.s, gpid, (uint64_t)i, copy_head, &hd));
		CHECK(!hd.has_key && hd.value_len == strlen(vals[i]) && hd.pos == g.pos &&
		      hd.ts == g.ts && hd.offset == (uint64_t)i, "head without value or key");
		CHECK(i == 0 || g.pos > pos, "positions grow");
		pos = g.pos;
	}
	struct got none;
	CHECK_RC(store_record_value(f.s, gpid, N, copy_record, &none), ENOENT);
	CHECK_RC(store_record_head(f.s, gpid, N, copy_head, &none), ENOENT);
	fx_done(&f);
}


static int append_req(struct fx *f, uint32_t topic, const char *value, uint32_t slot,
		      uint64_t unique)
{
	struct store_record_in r = {NULL, 0, value, strlen(value)};
	struct store_request q = {slot, unique};
	return store_append_req(f->s, topic, &r, 1, &q);
}

static int request_done(struct fx *f, uint32_t slot, uint64_t unique)
{
	struct store_request q = {slot, unique};
	bool done = false;
	CHECK_OK(store_request_done(f->s, &q, &done));
	return done;
}

static void test_kept_requests_name_their_writes_across_a_crash(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "t", 1);
	CHECK_OK(append_req(&f, id, "a", 3, 10));
	CHECK(request_done(&f, 3, 10) == 1, "a committed request is known");
	CHECK(request_done(&f, 3, 12) == 0, "another id of the slot is not");
	CHECK(request_done(&f, 4, 10) == 0, "the same id of another slot is not");
	for (uint64_t u = 12; u < 12 + 2 * STORE_REQUESTS_KEPT; u += 2)
		CHECK_OK(append_req(&f, id, "b", 3, u));
	CHECK(request_done(&f, 3, 10) == 0, "only the last requests of a slot are kept");
	CHECK(request_done(&f, 3, 10 + 2 * STORE_REQUESTS_KEPT) == 1, "the last one is kept");

	/* A daemon killed right after its append: the WAL brings the request back. */
	store_close(f.s);
	f.s = NULL;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		fx_open_with(&f, 0, 0);
		_exit(append_req(&f, id, "c", 5, 100) == 0 ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child appended");
	fx_open_with(&f, 0, 0);
	CHECK(request_done(&f, 5, 100) == 1, "a request survives a crash with its records");
	CHECK(part_of(&f, id, 0).end_offset == 2 + STORE_REQUESTS_KEPT,
	      "its records too, once");
	CHECK_OK(store_requests_clear(f.s));
	CHECK(request_done(&f, 5, 100) == 0, "cleared requests are gone");
	fx_done(&f);
}

/* One WAL entry carries both the partition a write names and its request. */
static void test_a_named_partitions_request_survives_a_crash(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "t", 3);
	store_close(f.s);
	f.s = NULL;
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		fx_open_with(&f, 0, 0);
		struct store_record_in r = {"k", 1, "v", 1};
		struct store_request q = {7, 42};
		_exit(store_append_to_req(f.s, id, 2, &r, 1, &q) == 0 ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child appended");
	fx_open_with(&f, 0, 0);
	CHECK(request_done(&f, 7, 42) == 1, "the request is kept");
	CHECK(part_of(&f, id, 2).end_offset == 1, "the record is in the partition it named");
	CHECK(part_of(&f, id, 0).end_offset == 0 && part_of(&f, id, 1).end_offset == 0,
	      "and in no other");
	fx_done(&f);
}

/* The topic records kept in memory (topic_cache.c) never answer with a config
 * that was changed: every commit makes them stale. */
static void test_topic_cache_follows_every_change(void)
{
	struct fx f;
	fx_init(&f, 0);
	uint32_t id = new_topic(&f, "t", 1);
	struct store_topic got;
	CHECK_OK(store_topic_by_id(f.s, id, &got));
	CHECK(got.config.max_message_bytes == 1048576, "cached config is the topic's");
	CHECK_OK(store_topic_by_id(f.s, id, &got)); /* from the cache now */
	configure(&f, id, STORE_CFG_MAX_MESSAGE_BYTES, "5");
	CHECK_OK(store_topic_by_id(f.s, id, &got));
	CHECK(got.config.max_message_bytes == 5, "a config write is seen at once");
	struct store_record_in r = {NULL, 0, "123456", 6};
	CHECK_RC(store_append(f.s, id, &r, 1), EMSGSIZE);
	configure(&f, id, STORE_CFG_PARTITIONS, "3");
	r.value_len = 5;
	CHECK_OK(store_append_to(f.s, id, 2, &r, 1));

	CHECK_OK(store_topic_delete(f.s, "t"));
	CHECK_RC(store_topic_by_id(f.s, id, &got), ENOENT);
	CHECK_RC(store_append(f.s, id, &r, 1), ENOENT);
	fx_done(&f);
}

static const struct test tests[] = {
	T(murmur2_matches_kafka),
	T(partition_for_key_is_to_positive_mod),
	T(names_follow_kafka_rule),
	T(config_defaults_and_names),
	T(config_parse_accepts_valid_values),
	T(config_parse_rejects_bad_values),
	T(config_format_round_trips),
	T(topic_create_lookup_delete),
	T(topic_create_refuses_bad_input),
	T(busy_gpids_are_not_reused),
	T(gpids_freed_anywhere_are_taken_lowest_first),
	T(truncated_data_file_is_refused_through_the_log_hook),
	T(gpids_never_run_out_however_many_topics_come_and_go),
	T(topic_iteration_in_id_order),
	T(partitions_only_grow),
	T(round_robin_over_partitions),
	T(keyed_records_use_kafka_partitioner),
	T(append_then_view_round_trip),
	T(view_returns_callback_result),
	T(keys_none_empty_binary),
	T(oversized_record_stores_nothing),
	T(log_read_across_many_batches),
	T(big_record_gets_its_own_batch),
	T(offsets_and_positions_survive_reopen),
	T(retention_by_bytes_advances_start),
	T(retention_by_time_deletes_old_batches),
	T(events_announce_appends_retention_and_deletion),
	T(scan_reads_records_in_order_across_batches),
	T(second_open_is_refused),
	T(open_creates_missing_dirs),
	T(map_grows_by_itself),
	T(concurrent_appends_and_reads_while_map_grows),
	T(topic_owner_is_stored_and_survives_reopen),
	T(big_topic_delete_leaves_no_batches),
	T(big_topic_delete_is_announced_once_and_not_as_retention),
	T(retention_goes_in_steps_and_keeps_what_the_config_keeps),
	T(record_value_and_deep_records),
	T(record_cache_answers_only_for_its_record),
	T(kept_requests_name_their_writes_across_a_crash),
	T(a_named_partitions_request_survives_a_crash),
	T(framing_is_parsed_formatted_and_kept),
	T(append_to_fills_one_partition_in_order),
	T(group_consume_hands_each_record_once),
	T(group_consume_keeps_its_request_and_ranges),
	T(mkdir_and_rmdir_keep_their_request_with_what_they_did),
	T(group_seek_forms_and_times),
	T(group_ids_and_deletion),
	T(groups_catch_up_after_retention),
	T(crc32_is_zlibs),
	T(topic_cache_follows_every_change),
};

/* Runs every test, or only those named on the command line; a name that is
 * no test is an error, so a misspelled name cannot pass as "0 passed". */
int main(int argc, char **argv)
{
	size_t count = sizeof(tests) / sizeof(tests[0]);
	for (int a = 1; a < argc; a++) {
		size_t i = 0;
		while (i < count && strcmp(argv[a], tests[i].name) != 0)
			i++;
		if (i == count) {
			fprintf(stderr, "%s: no test named '%s'\n", argv[0], argv[a]);
			return 2;
		}
	}
	int passed = 0;
	for (size_t i = 0; i < count; i++) {
		int wanted = argc == 1;
		for (int a = 1; a < argc && !wanted; a++)
			wanted = strcmp(argv[a], tests[i].name) == 0;
		if (!wanted)
			continue;
		tests[i].fn();
		passed++;
	}
	printf("%d passed, 0 failed\n", passed);
	return 0;
}
