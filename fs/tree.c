/* tree.c — the shape of the mount: lookup, attributes, listings, topic mkdir/rmdir. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "groups.h"
#include "inode.h"
#include "logging.h"
#include "mirrored.h"
#include "numbers.h"
#include "pins.h"
#include "record_cache.h"
#include "tfs.h"

/* Records are immutable: their attributes may be cached for long. Their names
 * are revalidated on every lookup, since retention may remove them. Everything
 * that grows (log, start, end) is never cached. */
#define TTL_STATIC 1.0
#define TTL_IMMUTABLE 3600.0

static void set_time(struct stat *st, int64_t ms)
{
	st->st_mtim.tv_sec = ms / 1000;
	st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* Who owns a node and which permission bits the topic grants. Everything in a
 * topic takes its owner from the topic directory, and its bits from the topic's
 * bits: produce and keys/<key> its write bits, the readable files its read
 * bits, so a chmod or chown of the topic governs all of it. */
struct owner {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* the topic directory's permission bits */
};

static struct owner owner_of(const struct store_topic *t)
{
	/* Topics from before owners were stored belong to the mounting user. */
	if (t->mode == 0)
		return (struct owner){tfs.uid, tfs.gid, 0755};
	/* Stored as a st_mode, so that a topic made with mode 0 is told apart. */
	return (struct owner){t->uid, t->gid, t->mode & 07777};
}

static void fill(struct stat *st, fuse_ino_t ino, mode_t mode, nlink_t nlink, off_t size,
		 int64_t mtime_ms)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = nlink;
	st->st_size = size;
	st->st_uid = tfs.uid;
	st->st_gid = tfs.gid;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	set_time(st, mtime_ms);
}

static void own(struct stat *st, const struct owner *o)
{
	st->st_uid = o->uid;
	st->st_gid = o->gid;
}

static int copy_head(const struct store_record *r, void *arg)
{
	*(struct store_record *)arg = *r;
	return 0;
}

static int keep_record(const struct store_record *r, void *arg)
{
	(void)arg;
	tfs_record_cache_put(r);
	return 0;
}

int tfs_tree_stat(fuse_ino_t ino, struct stat *st)
{
	struct tfs_node n;
	struct store_topic t;
	struct store_partition p;
	struct owner o;
	char text[64];
	int err = tfs_ino_parse(ino, &n);
	if (err)
		return ENOENT;

	if (tfs_groups_kind(n.kind))
		return tfs_groups_stat(&n, ino, st);
	if (n.kind == TFS_ROOT) {
		uint64_t count = 0;
		err = store_topic_count(tfs.store, &count);
		/* Like /tmp: anyone may make a topic, only its owner may remove it. */
		fill(st, ino, S_IFDIR | 01777, 2 + (nlink_t)count, 0, tfs.mounted_ms);
		return err;
	}
	int partition_level = n.kind == TFS_PARTITION || n.kind == TFS_LOG || n.kind == TFS_START ||
			      n.kind == TFS_END || n.kind == TFS_OFFSET || n.kind == TFS_PART_PRODUCE ||
			      n.kind == TFS_MIRRORED;
	if (partition_level && (err = store_partition_get(tfs.store, n.id, &p)) != 0)
		return err;
	if ((err = store_topic_by_id(tfs.store, partition_level ? p.topic_id : n.id, &t)) != 0)
		return err;
	o = owner_of(&t);
	mode_t rd = o.mode & 0555, wr = o.mode & 0222, ro = o.mode & 0444;

	switch (n.kind) {
	case TFS_TOPIC:
		/* ., and the .. of keys, config, consumers and each partition */
		fill(st, ino, S_IFDIR | o.mode, 5 + t.config.partitions, 0, t.created_ms);
		break;
	case TFS_KEYS:
		fill(st, ino, S_IFDIR | (o.mode & 0777), 2, 0, t.created_ms);
		break;
	case TFS_CONFIG_DIR:
		fill(st, ino, S_IFDIR | rd, 2, 0, t.created_ms);
		break;
	case TFS_CONFIG: {
		if (n.sub >= STORE_CFG_COUNT)
			return ENOENT;
		size_t len = store_config_format(&t.config, n.sub, text, sizeof text);
		fill(st, ino, S_IFREG | ro | (o.mode & 0200), 1, (off_t)len, t.created_ms);
		break;
	}
	case TFS_PRODUCE:
	case TFS_KEY:
	case TFS_PART_PRODUCE:
		fill(st, ino, S_IFREG | wr, 1, 0, t.created_ms);
		st->st_blksize = TFS_STREAM_BLKSIZE;
		break;
	case TFS_PARTITION:
		fill(st, ino, S_IFDIR | rd, 2, 0, p.last_append_ms);
		break;
	case TFS_LOG:
		fill(st, ino, S_IFREG | ro, 1, (off_t)p.end_pos, p.last_append_ms);
		st->st_blksize = TFS_STREAM_BLKSIZE;
		break;
	case TFS_START:
	case TFS_END: {
		uint64_t v = n.kind == TFS_START ? p.start_offset : p.end_offset;
		int len = snprintf(text, sizeof text, "%" PRIu64 "\n", v);
		fill(st, ino, S_IFREG | ro, 1, len, p.last_append_ms);
		break;
	}
	case TFS_MIRRORED: {
		size_t len;
		if (!tfs_mirror_is_on() || (err = tfs_mirrored_text(n.id, text, sizeof text, &len)))
			return err ? err : ENOENT;
		fill(st, ino, S_IFREG | ro, 1, (off_t)len, p.last_append_ms);
		break;
	}
	case TFS_OFFSET: {
		struct store_record r;
		err = store_record_head(tfs.store, n.id, tfs_offset_widen(n.offset, p.end_offset),
					copy_head, &r);
		if (err)
			return err;
		fill(st, ino, S_IFREG | ro, 1, (off_t)r.value_len, r.timestamp_ms);
		break;
	}
	default:
		return ENOENT;
	}
	own(st, &o);
	return 0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino, double entry_ttl, double attr_ttl)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	/* Pinned before the stat that finds the node: from then on its gpid is
	 * not given to a new partition until the kernel forgets it (pins.c). */
	tfs_pins_hold(ino);
	int err = tfs_tree_stat(ino, &e.attr);
	if (err) {
		tfs_pins_release(ino, 1);
		fuse_reply_err(req, err);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	e.entry_timeout = entry_ttl;
	e.attr_timeout = attr_ttl;
	if (fuse_reply_entry(req, &e) != 0)
		tfs_pins_release(ino, 1); /* interrupted: the kernel did not take it */
}

/* "partition-3" -> 3; -1 when name is not that shape (canonical decimal only). */
static int64_t suffix_number(const char *name, const char *prefix)
{
	size_t plen = strlen(prefix);
	uint64_t v;
	if (strncmp(name, prefix, plen) != 0 || tfs_parse_u64(name + plen, &v) != 0 ||
	    v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

void tfs_tree_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tfs_node n;
	struct store_topic t;
	struct store_partition p;
	int64_t num;

	if (tfs_ino_parse(parent, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	switch (n.kind) {
	case TFS_ROOT:
		if (!store_name_is_valid(name, strlen(name)) ||
		    store_topic_by_name(tfs.store, name, &t) != 0)
			break;
		reply_entry(req, tfs_ino_make(TFS_TOPIC, t.id, 0), TTL_STATIC, TTL_STATIC);
		return;
	case TFS_TOPIC:
		if (strcmp(name, "produce") == 0) {
			reply_entry(req, tfs_ino_make(TFS_PRODUCE, n.id, 0), TTL_STATIC, TTL_STATIC);
			return;
		}
		if (strcmp(name, "keys") == 0) {
			reply_entry(req, tfs_ino_make(TFS_KEYS, n.id, 0), TTL_STATIC, TTL_STATIC);
			return;
		}
		if (strcmp(name, "config") == 0) {
			reply_entry(req, tfs_ino_make(TFS_CONFIG_DIR, n.id, 0), TTL_STATIC,
				    TTL_STATIC);
			return;
		}
		if (strcmp(name, "consumers") == 0) {
			reply_entry(req, tfs_ino_make(TFS_CONSUMERS, n.id, 0), TTL_STATIC, 0);
			return;
		}
		num = suffix_number(name, "partition-");
		if (num < 0 || num >= STORE_PARTITIONS_MAX ||
		    store_partition_find(tfs.store, n.id, (uint32_t)num, &p) != 0)
			break;
		reply_entry(req, tfs_ino_make(TFS_PARTITION, p.gpid, 0), TTL_STATIC, TTL_STATIC);
		return;
	case TFS_CONFIG_DIR:
		num = store_config_lookup(name);
		if (num < 0)
			break;
		/* Config values change: attributes are not cached. */
		reply_entry(req, tfs_ino_make(TFS_CONFIG, n.id, (uint32_t)num), TTL_STATIC, 0);
		return;
	case TFS_PARTITION:
		if (strcmp(name, "log") == 0) {
			reply_entry(req, tfs_ino_make(TFS_LOG, n.id, 0), TTL_STATIC, 0);
			return;
		}
		if (strcmp(name, "produce") == 0) {
			reply_entry(req, tfs_ino_make(TFS_PART_PRODUCE, n.id, 0), TTL_STATIC,
				    TTL_STATIC);
			return;
		}
		if (strcmp(name, "mirrored") == 0 && tfs_mirror_is_on()) {
			reply_entry(req, tfs_ino_make(TFS_MIRRORED, n.id, 0), TTL_STATIC, 0);
			return;
		}
		if (strcmp(name, "start") == 0 || strcmp(name, "end") == 0) {
			enum tfs_kind k = name[0] == 's' ? TFS_START : TFS_END;
			reply_entry(req, tfs_ino_make(k, n.id, 0), TTL_STATIC, 0);
			return;
		}
		num = suffix_number(name, "offset-");
		if (num < 0)
			break;
		if (store_partition_get(tfs.store, n.id, &p) != 0 || (uint64_t)num < p.start_offset ||
		    (uint64_t)num >= p.end_offset)
			break;
		reply_entry(req, tfs_ino_offset(n.id, (uint64_t)num), 0, TTL_IMMUTABLE);
		/* A lookup is mostly before a read: while the caller wakes up and
		 * sends the OPEN, keep the value the open pushes (files.c). */
		store_record_value(tfs.store, n.id, (uint64_t)num, keep_record, NULL);
		return;
	case TFS_KEYS:
		/* Key files do not exist until written: create() opens them. */
		break;
	case TFS_CONSUMERS:
	case TFS_GROUP:
		tfs_groups_lookup(req, &n, name);
		return;
	default:
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

void tfs_tree_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	struct tfs_node n;
	int err = tfs_tree_stat(ino, &st);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	tfs_ino_parse(ino, &n);
	double ttl = n.kind == TFS_OFFSET ? TTL_IMMUTABLE
		   : (n.kind == TFS_LOG || n.kind == TFS_START || n.kind == TFS_END ||
		      n.kind == TFS_MIRRORED ||
		      n.kind == TFS_CONFIG || n.kind == TFS_PARTITION || n.kind == TFS_ROOT ||
		      n.kind == TFS_TOPIC || tfs_groups_kind(n.kind))
			   ? 0
			   : TTL_STATIC;
	fuse_reply_attr(req, &st, ttl);
}

/* chmod and chown of a topic directory, with the kernel's rules: only root
 * gives a topic away or changes its group; its owner may change its mode. */
static int set_topic_owner(fuse_req_t req, uint32_t id, const struct stat *attr, int to_set)
{
	struct store_topic t;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int err = store_topic_by_id(tfs.store, id, &t);
	if (err)
		return err;
	struct owner o = owner_of(&t);
	uid_t uid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : o.uid;
	gid_t gid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : o.gid;
	mode_t mode = to_set & FUSE_SET_ATTR_MODE ? attr->st_mode & 07777 : o.mode;
	if (ctx->uid != 0 && (ctx->uid != o.uid || uid != o.uid || gid != o.gid)) {
		tfs_log(LOG_INFO, "chmod/chown of topic '%s' by uid %u refused (EPERM)", t.name,
			(unsigned)ctx->uid);
		return EPERM;
	}
	err = store_topic_set_owner(tfs.store, id, uid, gid, S_IFDIR | mode);
	if (!err)
		tfs_log(LOG_INFO, "topic '%s' now owned by %u:%u mode %04o", t.name, (unsigned)uid,
			(unsigned)gid, (unsigned)mode);
	return err;
}

void tfs_tree_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct tfs_node n;
	if (tfs_ino_parse(ino, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int writable = n.kind == TFS_PRODUCE || n.kind == TFS_KEY || n.kind == TFS_CONFIG ||
		       n.kind == TFS_PART_PRODUCE || n.kind == TFS_GROUP_PART;
	int owner_change = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
	if (owner_change && n.kind == TFS_TOPIC) {
		int err = set_topic_owner(req, n.id, attr, to_set);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
	} else if (owner_change) {
		tfs_log(LOG_INFO, "setattr on inode %#" PRIx64 ": owner and mode are fixed (EPERM)",
			(uint64_t)ino);
		fuse_reply_err(req, EPERM);
		return;
	}
	/* Truncating is how `echo x > produce` opens: appending is all a log does,
	 * so `>` behaves like `>>`. Read-only files cannot be truncated. */
	if ((to_set & FUSE_SET_ATTR_SIZE) && !writable) {
		tfs_log(LOG_INFO, "truncate of a read-only file (inode %#" PRIx64 ") refused (EACCES)",
			(uint64_t)ino);
		fuse_reply_err(req, EACCES);
		return;
	}
	tfs_tree_getattr(req, ino, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size;
	size_t used;
};

/* Adds one entry; 0 when the buffer is full (the entry was not added). */
static int dir_add(struct dirbuf *d, const char *name, fuse_ino_t ino, mode_t mode, off_t next)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_ino = ino;
	st.st_mode = mode;
	size_t need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
	if (d->used + need > d->size)
		return 0;
	fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &st, next);
	d->used += need;
	return 1;
}

struct fixed_entry {
	const char *name;
	enum tfs_kind kind;
	mode_t mode;
};

/* Lists entries[off..count) whose ids are `id`; returns 0 when the buffer filled up. */
static int dir_add_fixed(struct dirbuf *d, const struct fixed_entry *e, size_t count, off_t off,
			 uint32_t id, fuse_ino_t self, fuse_ino_t parent)
{
	for (size_t i = (size_t)off; i < count; i++) {
		fuse_ino_t ino = strcmp(e[i].name, ".") == 0    ? self
				 : strcmp(e[i].name, "..") == 0 ? parent
							       : tfs_ino_make(e[i].kind, id, 0);
		if (!dir_add(d, e[i].name, ino, e[i].mode, (off_t)i + 1))
			return 0;
	}
	return 1;
}

static const struct fixed_entry root_entries[] = {
	{".", TFS_ROOT, S_IFDIR}, {"..", TFS_ROOT, S_IFDIR}};
static const struct fixed_entry topic_entries[] = {
	{".", TFS_TOPIC, S_IFDIR},         {"..", TFS_ROOT, S_IFDIR},
	{"produce", TFS_PRODUCE, S_IFREG}, {"keys", TFS_KEYS, S_IFDIR},
	{"config", TFS_CONFIG_DIR, S_IFDIR}};
static const struct fixed_entry plain_dir_entries[] = {
	{".", TFS_KEYS, S_IFDIR}, {"..", TFS_TOPIC, S_IFDIR}};
static const struct fixed_entry partition_entries[] = {
	{".", TFS_PARTITION, S_IFDIR}, {"..", TFS_TOPIC, S_IFDIR}, {"log", TFS_LOG, S_IFREG},
	{"start", TFS_START, S_IFREG}, {"end", TFS_END, S_IFREG}, {"produce", TFS_PART_PRODUCE, S_IFREG}};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PARTITION_FIXED ((off_t)COUNT(partition_entries))

static int readdir_fill(struct dirbuf *d, fuse_ino_t ino, off_t off)
{
	struct tfs_node n;
	struct store_topic t;
	struct store_partition p;
	char name[64];
	int err = tfs_ino_parse(ino, &n);
	if (err)
		return ENOENT;

	switch (n.kind) {
	case TFS_ROOT: {
		/* Topics follow in id order; an entry's cookie is its topic id + 2. */
		if (!dir_add_fixed(d, root_entries, 2, off, 0, ino, 1))
			return 0;
		uint32_t after = off > 2 ? (uint32_t)(off - 2) : 0;
		while ((err = store_topic_next(tfs.store, after, &t)) == 0) {
			if (!dir_add(d, t.name, tfs_ino_make(TFS_TOPIC, t.id, 0), S_IFDIR,
				     (off_t)t.id + 2))
				return 0;
			after = t.id;
		}
		return err == ENOENT ? 0 : err;
	}
	case TFS_TOPIC:
		if ((err = store_topic_by_id(tfs.store, n.id, &t)) != 0)
			return err;
		if (!dir_add_fixed(d, topic_entries, COUNT(topic_entries), off, n.id, ino, 1))
			return 0;
		for (uint32_t i = off > 5 ? (uint32_t)(off - 5) : 0; i < t.config.partitions; i++) {
			if (store_partition_find(tfs.store, n.id, i, &p) != 0)
				continue;
			snprintf(name, sizeof name, "partition-%u", i);
			if (!dir_add(d, name, tfs_ino_make(TFS_PARTITION, p.gpid, 0), S_IFDIR,
				     (off_t)i + 6))
				return 0;
		}
		/* After the partitions, with a cookie past any of theirs. */
		if (off < TFS_CONSUMERS_COOKIE)
			dir_add(d, "consumers", tfs_ino_make(TFS_CONSUMERS, n.id, 0), S_IFDIR,
				TFS_CONSUMERS_COOKIE);
		return 0;
	case TFS_KEYS:
		dir_add_fixed(d, plain_dir_entries, 2, off, n.id, ino,
			      tfs_ino_make(TFS_TOPIC, n.id, 0));
		return 0;
	case TFS_CONFIG_DIR:
		if (!dir_add_fixed(d, plain_dir_entries, 2, off, n.id, ino,
				   tfs_ino_make(TFS_TOPIC, n.id, 0)))
			return 0;
		for (int k = off > 2 ? (int)off - 2 : 0; k < STORE_CFG_COUNT; k++)
			if (!dir_add(d, store_config_name(k), tfs_ino_make(TFS_CONFIG, n.id, k),
				     S_IFREG, k + 3))
				return 0;
		return 0;
	case TFS_PARTITION: {
		/* Offsets are contiguous in [start, end): listing them needs no record,
		 * and offset n's cookie is n + PARTITION_FIXED + 1 (+ 1 with the
		 * mirror), so a listing streams in O(1) memory. */
		if ((err = store_partition_get(tfs.store, n.id, &p)) != 0)
			return err;
		if (!dir_add_fixed(d, partition_entries, COUNT(partition_entries), off, n.id, ino,
				   tfs_ino_make(TFS_TOPIC, p.topic_id, 0)))
			return 0;
		/* With the mirror, its file comes after the fixed entries and the
		 * offsets one later. */
		off_t first = PARTITION_FIXED + 1;
		if (tfs_mirror_is_on()) {
			if (off < first &&
			    !dir_add(d, "mirrored", tfs_ino_make(TFS_MIRRORED, n.id, 0), S_IFREG, first))
				return 0;
			first++;
		}
		uint64_t o = off >= first ? (uint64_t)(off - first) + 1 : 0;
		if (o < p.start_offset)
			o = p.start_offset;
		for (; o < p.end_offset; o++) {
			snprintf(name, sizeof name, "offset-%" PRIu64, o);
			if (!dir_add(d, name, tfs_ino_offset(n.id, o), S_IFREG, (off_t)o + first))
				return 0;
		}
		return 0;
	}
	default:
		return ENOTDIR;
	}
}

void tfs_tree_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)fi;
	struct tfs_node n;
	if (tfs_ino_parse(ino, &n) == 0 && (n.kind == TFS_CONSUMERS || n.kind == TFS_GROUP)) {
		tfs_groups_readdir(req, &n, ino, size, off);
		return;
	}
	struct dirbuf d = {req, malloc(size), size, 0};
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = readdir_fill(&d, ino, off);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

void tfs_tree_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct store_topic t;
	struct tfs_node n;
	if (tfs_ino_parse(parent, &n) == 0 && n.kind == TFS_CONSUMERS) {
		tfs_groups_mkdir(req, n.id, name);
		return;
	}
	if (parent != 1) {
		tfs_log(LOG_INFO, "mkdir '%s': topics are made at the top of the mount only (EPERM)",
			name);
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!store_name_is_valid(name, strlen(name))) {
		tfs_log(LOG_INFO,
			"mkdir '%.300s': not a topic name (1-249 of [a-zA-Z0-9._-]) (EINVAL)", name);
		fuse_reply_err(req, EINVAL);
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int err = store_topic_create_as(tfs.store, name, &tfs.opt.defaults, ctx->uid, ctx->gid,
					S_IFDIR | (mode & 07777), &t);
	if (err) {
		tfs_log(err == EEXIST ? LOG_INFO : LOG_ERR, "mkdir '%s': %s", name, strerror(err));
		fuse_reply_err(req, err);
		return;
	}
	tfs_log(LOG_INFO, "topic '%s' created with %u partition(s)", name, t.config.partitions);
	reply_entry(req, tfs_ino_make(TFS_TOPIC, t.id, 0), TTL_STATIC, TTL_STATIC);
}

void tfs_tree_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tfs_node n;
	if (tfs_ino_parse(parent, &n) == 0 && n.kind == TFS_CONSUMERS) {
		tfs_groups_rmdir(req, n.id, name);
		return;
	}
	if (parent != 1) {
		tfs_log(LOG_INFO, "rmdir '%s': only topics can be removed (EPERM)", name);
		fuse_reply_err(req, EPERM);
		return;
	}
	int err = store_name_is_valid(name, strlen(name)) ? store_topic_delete(tfs.store, name) : ENOENT;
	if (err)
		tfs_log(err == ENOENT ? LOG_DEBUG : LOG_ERR, "rmdir '%s': %s", name, strerror(err));
	else
		tfs_log(LOG_INFO, "topic '%s' deleted with all its records", name);
	fuse_reply_err(req, err);
}

void tfs_tree_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs sv;
	if (statvfs(tfs.opt.data_dir, &sv) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}
