/* tree.c — the shape of the mount: lookup, attributes, listings, topic mkdir/rmdir. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "dirreq.h"
#include "groups.h"
#include "inode.h"
#include "logging.h"
#include "mirrored.h"
#include "nodes.h"
#include "numbers.h"
#include "pins.h"
#include "record_cache.h"
#include "tfs.h"
#include "tree.h"

static void set_time(struct stat *st, int64_t ms)
{
	st->st_mtim.tv_sec = ms / 1000;
	st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
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

static void own(struct stat *st, const struct tfs_owner *o)
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
	struct tfs_owner o;
	char text[64];
	int err = tfs_ino_parse(ino, &n);
	if (err)
		return ENOENT;

	if (!tfs_kind_is_present(n.kind))
		return ENOENT;
	if (tfs_kind_is_group(n.kind))
		return tfs_groups_stat(&n, ino, st);
	const struct tfs_kind_info *ki = tfs_kind_info(n.kind);
	/* Directories: ., and the .. of each subdirectory. */
	nlink_t nlink = ki->type == S_IFDIR ? 2 + tfs_kind_fixed_subdirs(n.kind) : 1;
	if (n.kind == TFS_ROOT) {
		uint64_t count = 0;
		err = store_topic_count(tfs.store, &count);
		/* Like /tmp: anyone may make a topic, only its owner may remove it. */
		fill(st, ino, S_IFDIR | (01777 & ki->bits), nlink + (nlink_t)count, 0,
		     tfs.mounted_ms);
		return err;
	}
	int partition_level = tfs_kind_is_partition_level(n.kind);
	if (partition_level && (err = store_partition_get(tfs.store, n.id, &p)) != 0)
		return err;
	if ((err = store_topic_by_id(tfs.store, partition_level ? p.topic_id : n.id, &t)) != 0)
		return err;
	o = tfs_topic_owner(&t);
	mode_t mode = ki->type | (o.mode & ki->bits);

	switch (n.kind) {
	case TFS_TOPIC:
		fill(st, ino, mode, nlink + t.config.partitions, 0, t.created_ms);
		break;
	case TFS_KEYS:
	case TFS_CONFIG_DIR:
		fill(st, ino, mode, nlink, 0, t.created_ms);
		break;
	case TFS_CONFIG: {
		if (n.sub >= STORE_CFG_COUNT)
			return ENOENT;
		size_t len = store_config_format(&t.config, n.sub, text, sizeof text);
		fill(st, ino, mode, nlink, (off_t)len, t.created_ms);
		break;
	}
	case TFS_PRODUCE:
	case TFS_KEY:
	case TFS_PART_PRODUCE:
		fill(st, ino, mode, nlink, 0, t.created_ms);
		st->st_blksize = TFS_STREAM_BLKSIZE;
		break;
	case TFS_PARTITION:
		fill(st, ino, mode, nlink, 0, p.last_append_ms);
		break;
	case TFS_LOG:
		fill(st, ino, mode, nlink, (off_t)p.end_pos, p.last_append_ms);
		st->st_blksize = TFS_STREAM_BLKSIZE;
		break;
	case TFS_START:
	case TFS_END: {
		uint64_t v = n.kind == TFS_START ? p.start_offset : p.end_offset;
		int len = snprintf(text, sizeof text, "%" PRIu64 "\n", v);
		fill(st, ino, mode, nlink, len, p.last_append_ms);
		break;
	}
	case TFS_MIRRORED: {
		size_t len;
		if ((err = tfs_mirrored_text(n.id, text, sizeof text, &len)) != 0)
			return err;
		fill(st, ino, mode, nlink, (off_t)len, p.last_append_ms);
		break;
	}
	case TFS_OFFSET: {
		struct store_record r;
		err = store_record_head(tfs.store, n.id, tfs_offset_widen(n.offset, p.end_offset),
					copy_head, &r);
		if (err)
			return err;
		fill(st, ino, mode, nlink, (off_t)r.value_len, r.timestamp_ms);
		break;
	}
	default:
		return ENOENT;
	}
	own(st, &o);
	return 0;
}

void tfs_tree_reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	struct tfs_node n;
	memset(&e, 0, sizeof e);
	if (tfs_ino_parse(ino, &n) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
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
	e.entry_timeout = tfs_kind_info(n.kind)->entry_ttl;
	e.attr_timeout = tfs_kind_info(n.kind)->attr_ttl;
	if (fuse_reply_entry(req, &e) != 0)
		tfs_pins_release(ino, 1); /* interrupted: the kernel did not take it */
}

/* "partition-3" -> true, *v = 3; false when name is not that shape
 * (canonical decimal only). */
static bool has_suffix_number(const char *name, const char *prefix, uint64_t *v)
{
	size_t plen = strlen(prefix);
	return strncmp(name, prefix, plen) == 0 && tfs_parse_u64(name + plen, v) == 0;
}

void tfs_tree_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tfs_node n;
	struct store_topic t;
	struct store_partition p;
	enum tfs_kind child;
	uint64_t num;
	enum store_config_key cfg;

	if (tfs_ino_parse(parent, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!tfs_kind_is_dir(n.kind)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	/* A fixed child shares its directory's id (a topic, a gpid, a group). */
	if (tfs_kind_fixed_child(n.kind, name, &child)) {
		tfs_tree_reply_entry(req, tfs_ino_make(child, n.id, 0));
		return;
	}
	switch (n.kind) {
	case TFS_ROOT:
		if (!store_name_is_valid(name, strlen(name)) ||
		    store_topic_by_name(tfs.store, name, &t) != 0)
			break;
		tfs_tree_reply_entry(req, tfs_ino_make(TFS_TOPIC, t.id, 0));
		return;
	case TFS_TOPIC:
		if (!has_suffix_number(name, tfs_kind_info(TFS_PARTITION)->name, &num) ||
		    num >= STORE_PARTITIONS_MAX ||
		    store_partition_find(tfs.store, n.id, (uint32_t)num, &p) != 0)
			break;
		tfs_tree_reply_entry(req, tfs_ino_make(TFS_PARTITION, p.gpid, 0));
		return;
	case TFS_CONFIG_DIR:
		if (store_config_lookup(name, &cfg) != 0)
			break;
		tfs_tree_reply_entry(req, tfs_ino_make(TFS_CONFIG, n.id, (uint32_t)cfg));
		return;
	case TFS_PARTITION:
		if (!has_suffix_number(name, tfs_kind_info(TFS_OFFSET)->name, &num))
			break;
		if (store_partition_get(tfs.store, n.id, &p) != 0 || num < p.start_offset ||
		    num >= p.end_offset)
			break;
		tfs_tree_reply_entry(req, tfs_ino_offset(n.id, num));
		/* A lookup is mostly before a read: while the caller wakes up and
		 * sends the OPEN, keep the value the open pushes (files.c). */
		store_record_value(tfs.store, n.id, num, keep_record, NULL);
		return;
	case TFS_KEYS:
		/* Key files do not exist until written: create() opens them. */
		break;
	case TFS_CONSUMERS:
	case TFS_GROUP: {
		fuse_ino_t ino;
		int err = tfs_groups_lookup(&n, name, &ino);
		if (err)
			fuse_reply_err(req, err);
		else
			tfs_tree_reply_entry(req, ino);
		return;
	}
	default:
		break;
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
	fuse_reply_attr(req, &st, tfs_kind_info(n.kind)->attr_ttl);
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
	struct tfs_owner o = tfs_topic_owner(&t);
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
	if ((to_set & FUSE_SET_ATTR_SIZE) && !tfs_kind_is_writable(n.kind)) {
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
	off_t off; /* the cookie the listing resumes after */
};

/* Adds one entry if its cookie is past the one the listing resumes after;
 * 0, or ENOBUFS when the buffer is full (the entry was not added: the
 * reply ends before it, and the next READDIR resumes there). */
static int dir_add(struct dirbuf *d, const char *name, fuse_ino_t ino, mode_t mode, off_t cookie)
{
	struct stat st;
	if (cookie <= d->off)
		return 0;
	memset(&st, 0, sizeof st);
	st.st_ino = ino;
	st.st_mode = mode;
	size_t need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
	if (d->used + need > d->size)
		return ENOBUFS;
	fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &st, cookie);
	d->used += need;
	return 0;
}

/* ".", ".." and the fixed children of directory n, in table order; 0 or
 * ENOBUFS (dir_add). */
static int dir_add_fixed(struct dirbuf *d, const struct tfs_node *n, fuse_ino_t self,
			 fuse_ino_t parent)
{
	int err;
	if ((err = dir_add(d, ".", self, S_IFDIR, TFS_COOKIE_DOT)) != 0 ||
	    (err = dir_add(d, "..", parent, S_IFDIR, TFS_COOKIE_DOTDOT)) != 0)
		return err;
	for (int k = TFS_ROOT + 1; k < TFS_KIND_COUNT; k++) {
		const struct tfs_kind_info *ki = tfs_kind_info((enum tfs_kind)k);
		if (ki->parent == n->kind && ki->naming == TFS_NAMED_FIXED &&
		    tfs_kind_is_present((enum tfs_kind)k) &&
		    (err = dir_add(d, ki->name, tfs_ino_make((enum tfs_kind)k, n->id, 0), ki->type,
				   tfs_cookie_fixed((enum tfs_kind)k))) != 0)
			return err;
	}
	return 0;
}

/* The number the listing resumes at, as a 32-bit id or index: 0, or
 * ENOBUFS when no 32-bit number is that far (the listing is over). */
static int next_number32(off_t off, uint32_t *next)
{
	uint64_t v = tfs_cookie_next_number(off);
	*next = (uint32_t)v;
	return v <= UINT32_MAX ? 0 : ENOBUFS;
}

/* Lists directory ino from cookie d->off on; 0, ENOBUFS when the buffer
 * filled up (the listing goes on in the next READDIR), or an errno. */
static int readdir_fill(struct dirbuf *d, fuse_ino_t ino)
{
	struct tfs_node n;
	struct store_topic t;
	struct store_partition p;
	struct store_group g;
	char name[64];
	uint32_t next;
	int err = tfs_ino_parse(ino, &n);
	if (err)
		return ENOENT;
	if (!tfs_kind_is_dir(n.kind))
		return ENOTDIR;
	const char *prefix = NULL;

	switch (n.kind) {
	case TFS_ROOT:
		if ((err = dir_add_fixed(d, &n, ino, 1)) != 0 ||
		    (err = next_number32(d->off, &next)) != 0)
			return err;
		/* Topics in id order: ids start at 1, after = next - 1 lists from next. */
		for (uint32_t after = next ? next - 1 : 0;
		     (err = store_topic_next(tfs.store, after, &t)) == 0; after = t.id)
			if ((err = dir_add(d, t.name, tfs_ino_make(TFS_TOPIC, t.id, 0), S_IFDIR,
					   tfs_cookie_numbered(t.id))) != 0)
				return err;
		return err == ENOENT ? 0 : err;
	case TFS_TOPIC:
		if ((err = store_topic_by_id(tfs.store, n.id, &t)) != 0)
			return err;
		if ((err = dir_add_fixed(d, &n, ino, 1)) != 0 ||
		    (err = next_number32(d->off, &next)) != 0)
			return err;
		prefix = tfs_kind_info(TFS_PARTITION)->name;
		for (uint32_t i = next; i < t.config.partitions; i++) {
			if (store_partition_find(tfs.store, n.id, i, &p) != 0)
				continue;
			snprintf(name, sizeof name, "%s%" PRIu32, prefix, i);
			if ((err = dir_add(d, name, tfs_ino_make(TFS_PARTITION, p.gpid, 0), S_IFDIR,
					   tfs_cookie_numbered(i))) != 0)
				return err;
		}
		return 0;
	case TFS_KEYS:
		return dir_add_fixed(d, &n, ino, tfs_ino_make(TFS_TOPIC, n.id, 0));
	case TFS_CONFIG_DIR:
		if ((err = dir_add_fixed(d, &n, ino, tfs_ino_make(TFS_TOPIC, n.id, 0))) != 0 ||
		    (err = next_number32(d->off, &next)) != 0)
			return err;
		for (uint32_t k = next; k < STORE_CFG_COUNT; k++)
			if ((err = dir_add(d, store_config_name((int)k),
					   tfs_ino_make(TFS_CONFIG, n.id, k), S_IFREG,
					   tfs_cookie_numbered(k))) != 0)
				return err;
		return 0;
	case TFS_PARTITION: {
		/* Offsets are contiguous in [start, end): listing them needs no
		 * record, so a listing streams in O(1) memory. */
		if ((err = store_partition_get(tfs.store, n.id, &p)) != 0)
			return err;
		if ((err = dir_add_fixed(d, &n, ino, tfs_ino_make(TFS_TOPIC, p.topic_id, 0))) != 0)
			return err;
		uint64_t o = tfs_cookie_next_number(d->off);
		prefix = tfs_kind_info(TFS_OFFSET)->name;
		for (o = o < p.start_offset ? p.start_offset : o; o < p.end_offset; o++) {
			snprintf(name, sizeof name, "%s%" PRIu64, prefix, o);
			if ((err = dir_add(d, name, tfs_ino_offset(n.id, o), S_IFREG,
					   tfs_cookie_numbered(o))) != 0)
				return err;
		}
		return 0;
	}
	case TFS_CONSUMERS:
		if ((err = store_topic_by_id(tfs.store, n.id, &t)) != 0)
			return err;
		if ((err = dir_add_fixed(d, &n, ino, tfs_ino_make(TFS_TOPIC, n.id, 0))) != 0 ||
		    (err = next_number32(d->off, &next)) != 0)
			return err;
		/* Groups in id order; ids start at 1. */
		for (uint32_t after = next ? next - 1 : 0;
		     (err = store_group_next(tfs.store, n.id, after, &g)) == 0; after = g.id)
			if ((err = dir_add(d, g.name, tfs_ino_make(TFS_GROUP, g.id, 0), S_IFDIR,
					   tfs_cookie_numbered(g.id))) != 0)
				return err;
		return err == ENOENT ? 0 : err;
	case TFS_GROUP:
		if ((err = store_group_by_id(tfs.store, n.id, &g)) != 0 ||
		    (err = store_topic_by_id(tfs.store, g.topic_id, &t)) != 0)
			return err;
		fuse_ino_t consumers = tfs_ino_make(TFS_CONSUMERS, g.topic_id, 0);
		if ((err = dir_add_fixed(d, &n, ino, consumers)) != 0 ||
		    (err = next_number32(d->off, &next)) != 0)
			return err;
		prefix = tfs_kind_info(TFS_GROUP_PART)->name;
		for (uint32_t i = next; i < t.config.partitions; i++) {
			snprintf(name, sizeof name, "%s%" PRIu32, prefix, i);
			if ((err = dir_add(d, name, tfs_ino_make(TFS_GROUP_PART, n.id, i), S_IFREG,
					   tfs_cookie_numbered(i))) != 0)
				return err;
		}
		return 0;
	default:
		return ENOTDIR;
	}
}

void tfs_tree_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)fi;
	struct dirbuf d = {req, malloc(size), size, 0, off};
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = readdir_fill(&d, ino);
	if (err && err != ENOBUFS) /* a full buffer: what fits is the reply */
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
		fuse_ino_t ino;
		int err = tfs_groups_mkdir(n.id, name, &ino);
		if (err)
			fuse_reply_err(req, err);
		else
			tfs_tree_reply_entry(req, ino);
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
	uint32_t done_id;
	if (tfs_dirreq_is_done(STORE_DIR_TOPIC_CREATE, name, &done_id)) {
		tfs_tree_reply_entry(req, tfs_ino_make(TFS_TOPIC, done_id, 0));
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int err = store_topic_create_req(tfs.store, name, &tfs.opt.defaults, ctx->uid, ctx->gid,
					 S_IFDIR | (mode & 07777), tfs_dirreq_unique(), &t);
	if (err) {
		tfs_log(err == EEXIST ? LOG_INFO : LOG_ERR, "mkdir '%s': %s", name, strerror(err));
		fuse_reply_err(req, err);
		return;
	}
	tfs_log(LOG_INFO, "topic '%s' created with %u partition(s)", name, t.config.partitions);
	tfs_dirreq_committed();
	tfs_tree_reply_entry(req, tfs_ino_make(TFS_TOPIC, t.id, 0));
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
	bool is_name = store_name_is_valid(name, strlen(name));
	uint32_t done_id;
	if (is_name && tfs_dirreq_is_done(STORE_DIR_TOPIC_DELETE, name, &done_id)) {
		fuse_reply_err(req, 0);
		return;
	}
	int err = is_name ? store_topic_delete_req(tfs.store, name, tfs_dirreq_unique()) : ENOENT;
	if (err) {
		tfs_log(err == ENOENT ? LOG_DEBUG : LOG_ERR, "rmdir '%s': %s", name, strerror(err));
	} else {
		tfs_log(LOG_INFO, "topic '%s' deleted with all its records", name);
		tfs_dirreq_committed();
	}
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
