/* groups.c — <topic>/consumers/: making and removing groups, their listings,
 * and the text files partition-<N> (the committed offset) and lag. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhtable.h"
#include "groups.h"
#include "logging.h"
#include "numbers.h"
#include "reset.h"

int tfs_groups_kind(enum tfs_kind k)
{
	return k == TFS_CONSUMERS || k == TFS_GROUP || k == TFS_GROUP_PART || k == TFS_CONSUME ||
	       k == TFS_FOLLOW || k == TFS_LAG;
}

/* --- the texts --- */

/* The group's offsets, every partition: a malloc'd array of *count. */
static int offsets_of(uint32_t gid, struct store_group_offset **out, uint32_t *count)
{
	struct store_group_offset *o = malloc(STORE_PARTITIONS_MAX * sizeof(*o));
	if (!o)
		return ENOMEM;
	int err = store_group_offsets(tfs.store, gid, o, STORE_PARTITIONS_MAX, count);
	if (err) {
		free(o);
		return err;
	}
	*out = o;
	return 0;
}

/* partition-<N>: the committed offset; lag: one line per partition, the
 * columns of kafka-consumer-groups --describe that apply. Malloc'd. */
static int text_of(enum tfs_kind kind, uint32_t gid, uint32_t index, char **text, size_t *len)
{
	struct store_group_offset *o;
	uint32_t count;
	int err = offsets_of(gid, &o, &count);
	if (err)
		return err;
	size_t cap = kind == TFS_LAG ? (size_t)count * 80 + 1 : 32;
	char *t = malloc(cap);
	size_t used = 0;
	if (!t) {
		err = ENOMEM;
	} else if (kind == TFS_GROUP_PART) {
		if (index >= count)
			err = ENOENT;
		else
			used = (size_t)snprintf(t, cap, "%" PRIu64 "\n", o[index].committed);
	} else {
		for (uint32_t i = 0; i < count; i++)
			used += (size_t)snprintf(t + used, cap - used,
						 "%" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
						 i, o[i].committed, o[i].end, o[i].end - o[i].committed);
	}
	free(o);
	if (err) {
		free(t);
		return err;
	}
	*text = t;
	*len = used;
	return 0;
}

/* --- attributes, lookup, listings --- */

int tfs_groups_stat(const struct tfs_node *n, fuse_ino_t ino, struct stat *st)
{
	struct store_group g;
	uint32_t topic_id = n->id;
	int err = 0;
	if (n->kind != TFS_CONSUMERS) {
		if ((err = store_group_by_id(tfs.store, n->id, &g)) != 0)
			return err;
		topic_id = g.topic_id;
	}
	/* Owner and bits come from the topic directory, as for all in it. */
	if ((err = tfs_tree_stat(tfs_ino_make(TFS_TOPIC, topic_id, 0), st)) != 0)
		return err;
	mode_t mode = st->st_mode & 07777;
	int64_t ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	struct store_topic t;
	if ((err = store_topic_by_id(tfs.store, topic_id, &t)) != 0)
		return err;
	uid_t uid = st->st_uid;
	gid_t gid = st->st_gid;
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	switch (n->kind) {
	case TFS_CONSUMERS:
		/* Like the top of the mount: who may write the topic makes groups. */
		st->st_mode = S_IFDIR | mode;
		st->st_nlink = 2;
		break;
	case TFS_GROUP:
		ms = g.created_ms;
		st->st_mode = S_IFDIR | (mode & 0555);
		st->st_nlink = 2;
		break;
	case TFS_GROUP_PART:
	case TFS_LAG: {
		char *text;
		size_t len;
		if (n->kind == TFS_GROUP_PART && n->sub >= t.config.partitions)
			return ENOENT;
		if ((err = text_of(n->kind, n->id, n->sub, &text, &len)) != 0)
			return err;
		free(text);
		st->st_size = (off_t)len;
		/* partition-<N> is written to commit; lag only read. */
		st->st_mode = S_IFREG | (mode & 0444) | (n->kind == TFS_GROUP_PART ? mode & 0222 : 0);
		break;
	}
	case TFS_CONSUME:
	case TFS_FOLLOW:
		/* Reading commits: reading is what a consumer may do. */
		st->st_mode = S_IFREG | (mode & 0444);
		st->st_blksize = TFS_STREAM_BLKSIZE;
		break;
	default:
		return ENOENT;
	}
	st->st_mtim.tv_sec = ms / 1000;
	st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
	return 0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	int err = tfs_tree_stat(ino, &e.attr);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	/* Groups come and go, offsets move: nothing is cached for long. */
	e.entry_timeout = 1.0;
	e.attr_timeout = 0;
	fuse_reply_entry(req, &e);
}

void tfs_groups_lookup(fuse_req_t req, const struct tfs_node *parent, const char *name)
{
	struct store_group g;
	struct store_topic t;
	uint64_t index;
	if (parent->kind == TFS_CONSUMERS) {
		if (store_group_by_name(tfs.store, parent->id, name, &g) == 0) {
			reply_entry(req, tfs_ino_make(TFS_GROUP, g.id, 0));
			return;
		}
	} else if (parent->kind == TFS_GROUP) {
		static const struct {
			const char *name;
			enum tfs_kind kind;
		} files[] = {{"consume", TFS_CONSUME}, {"follow", TFS_FOLLOW}, {"lag", TFS_LAG}};
		for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
			if (strcmp(name, files[i].name) == 0) {
				reply_entry(req, tfs_ino_make(files[i].kind, parent->id, 0));
				return;
			}
		}
		if (strncmp(name, "partition-", 10) == 0 && tfs_parse_u64(name + 10, &index) == 0 &&
		    store_group_by_id(tfs.store, parent->id, &g) == 0 &&
		    store_topic_by_id(tfs.store, g.topic_id, &t) == 0 && index < t.config.partitions) {
			reply_entry(req, tfs_ino_make(TFS_GROUP_PART, parent->id, (uint32_t)index));
			return;
		}
	} else {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

/* Adds one entry; 0 when the buffer is full (the entry was not added). */
static int dir_add(fuse_req_t req, char *buf, size_t size, size_t *used, const char *name,
		   fuse_ino_t ino, mode_t mode, off_t next)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_ino = ino;
	st.st_mode = mode;
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	if (*used + need > size)
		return 0;
	fuse_add_direntry(req, buf + *used, size - *used, name, &st, next);
	*used += need;
	return 1;
}

/* consumers/: ".", "..", then the groups in id order, cookie id + 2.
 * consumers/<group>/: ".", "..", consume, follow, lag (cookies 1..5), then
 * partition-<i> with cookie i + 6. */
static int fill(fuse_req_t req, const struct tfs_node *n, fuse_ino_t ino, char *buf, size_t size,
		off_t off, size_t *used)
{
	struct store_group g;
	struct store_topic t;
	char name[32];
	int err;
	if (n->kind == TFS_CONSUMERS) {
		if ((err = store_topic_by_id(tfs.store, n->id, &t)) != 0)
			return err;
		if ((off < 1 && !dir_add(req, buf, size, used, ".", ino, S_IFDIR, 1)) ||
		    (off < 2 && !dir_add(req, buf, size, used, "..",
					 tfs_ino_make(TFS_TOPIC, n->id, 0), S_IFDIR, 2)))
			return 0;
		uint32_t after = off > 2 ? (uint32_t)(off - 2) : 0;
		while ((err = store_group_next(tfs.store, n->id, after, &g)) == 0) {
			if (!dir_add(req, buf, size, used, g.name, tfs_ino_make(TFS_GROUP, g.id, 0),
				     S_IFDIR, (off_t)g.id + 2))
				return 0;
			after = g.id;
		}
		return err == ENOENT ? 0 : err;
	}
	if (n->kind != TFS_GROUP)
		return ENOTDIR;
	if ((err = store_group_by_id(tfs.store, n->id, &g)) != 0 ||
	    (err = store_topic_by_id(tfs.store, g.topic_id, &t)) != 0)
		return err;
	const struct {
		const char *name;
		fuse_ino_t ino;
		mode_t mode;
	} fixed[] = {
		{".", ino, S_IFDIR},
		{"..", tfs_ino_make(TFS_CONSUMERS, g.topic_id, 0), S_IFDIR},
		{"consume", tfs_ino_make(TFS_CONSUME, n->id, 0), S_IFREG},
		{"follow", tfs_ino_make(TFS_FOLLOW, n->id, 0), S_IFREG},
		{"lag", tfs_ino_make(TFS_LAG, n->id, 0), S_IFREG},
	};
	for (off_t i = off; i < 5; i++)
		if (!dir_add(req, buf, size, used, fixed[i].name, fixed[i].ino, fixed[i].mode, i + 1))
			return 0;
	for (uint32_t i = off > 5 ? (uint32_t)(off - 5) : 0; i < t.config.partitions; i++) {
		snprintf(name, sizeof name, "partition-%" PRIu32, i);
		if (!dir_add(req, buf, size, used, name, tfs_ino_make(TFS_GROUP_PART, n->id, i),
			     S_IFREG, (off_t)i + 6))
			return 0;
	}
	return 0;
}

void tfs_groups_readdir(fuse_req_t req, const struct tfs_node *n, fuse_ino_t ino, size_t size,
			off_t off)
{
	char *buf = malloc(size);
	size_t used = 0;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = fill(req, n, ino, buf, size, off < 0 ? 0 : off, &used);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void tfs_groups_mkdir(fuse_req_t req, uint32_t topic_id, const char *name)
{
	struct store_group g;
	struct store_topic t;
	if (!store_name_valid(name, strlen(name))) {
		tfs_log(LOG_INFO,
			"mkdir consumers/'%.300s': not a group name (1-249 of [a-zA-Z0-9._-]) (EINVAL)",
			name);
		fuse_reply_err(req, EINVAL);
		return;
	}
	int err = store_group_create(tfs.store, topic_id, name, &g);
	if (err) {
		tfs_log(err == EEXIST || err == ENOENT ? LOG_INFO : LOG_ERR,
			"mkdir consumers/%s (topic id %u): %s", name, topic_id, strerror(err));
		fuse_reply_err(req, err);
		return;
	}
	if (store_topic_by_id(tfs.store, topic_id, &t) == 0)
		tfs_log(LOG_INFO, "topic '%s': consumer group '%s' created", t.name, name);
	reply_entry(req, tfs_ino_make(TFS_GROUP, g.id, 0));
}

void tfs_groups_rmdir(fuse_req_t req, uint32_t topic_id, const char *name)
{
	struct store_topic t;
	uint32_t gid = 0;
	int err = store_group_delete(tfs.store, topic_id, name, &gid);
	if (err) {
		tfs_log(err == ENOENT ? LOG_DEBUG : LOG_ERR, "rmdir consumers/%.300s: %s", name,
			strerror(err));
	} else {
		if (store_topic_by_id(tfs.store, topic_id, &t) == 0)
			tfs_log(LOG_INFO, "topic '%s': consumer group '%s' deleted", t.name, name);
		tfs_groups_wake_group(gid); /* its followers read EOF now */
	}
	fuse_reply_err(req, err);
}

/* --- open files --- */

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tfs_group_file files = {.prev = &files, .next = &files}; /* files_lock */

/* This daemon's open group files by handle slot. */
static _Atomic(struct tfs_group_file *) live[TFS_FH_SLOTS];

struct tfs_group_file *tfs_group_file_of(const struct fuse_file_info *fi)
{
	if (!fi || !fi->fh || tfs_fh_index(fi->fh) >= TFS_FH_SLOTS)
		return NULL;
	struct tfs_group_file *f = atomic_load(&live[tfs_fh_index(fi->fh)]);
	return f && f->fh == fi->fh ? f : NULL;
}

/* Makes f this daemon's open file of its handle. */
static void file_register(struct tfs_group_file *f)
{
	atomic_store(&live[tfs_fh_index(f->fh)], f);
	pthread_mutex_lock(&files_lock);
	f->prev = files.prev;
	f->next = &files;
	files.prev->next = f;
	files.prev = f;
	pthread_mutex_unlock(&files_lock);
}

static pthread_mutex_t revive_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot keeps what the file is (kind, group id) and, for consume and
 * follow, the record a read handed out in part; partition-<N> and lag make
 * their text again at the next read, as at offset 0. A group deleted since
 * reads as in the daemon that opened it: EOF, ENOENT. */
struct tfs_group_file *tfs_group_file_get(const struct fuse_file_info *fi)
{
	struct tfs_group_file *f = tfs_group_file_of(fi);
	if (f || !fi || !fi->fh)
		return f;
	pthread_mutex_lock(&revive_lock);
	f = tfs_group_file_of(fi);
	struct tfs_fh_slot *slot = f ? NULL : tfs_fh_slot(fi->fh);
	if (slot && tfs_groups_kind((enum tfs_kind)slot->kind) &&
	    (f = calloc(1, sizeof *f)) != NULL) {
		struct store_group g;
		f->fh = fi->fh;
		f->kind = (enum tfs_kind)slot->kind;
		f->group_id = slot->id;
		f->topic_id = store_group_by_id(tfs.store, slot->id, &g) == 0 ? g.topic_id : 0;
		pthread_mutex_init(&f->lock, NULL);
		if (f->kind == TFS_CONSUME || f->kind == TFS_FOLLOW)
			tfs_consume_revive(f, slot);
		file_register(f);
	}
	pthread_mutex_unlock(&revive_lock);
	return f;
}

static void file_free(struct tfs_group_file *f)
{
	if (f->fh) {
		struct tfs_group_file *self = f;
		atomic_compare_exchange_strong(&live[tfs_fh_index(f->fh)], &self, NULL);
		tfs_fh_free(f->fh);
	}
	tfs_consume_forget(f);
	pthread_mutex_destroy(&f->lock);
	free(f->text);
	free(f->rest);
	free(f);
}

void tfs_groups_open(fuse_req_t req, fuse_ino_t ino, const struct tfs_node *n,
		     struct fuse_file_info *fi)
{
	struct store_group g;
	int acc = fi->flags & O_ACCMODE;
	int writable = n->kind == TFS_GROUP_PART;
	if (n->kind == TFS_CONSUMERS || n->kind == TFS_GROUP) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (acc != O_RDONLY && !(writable && acc == O_WRONLY)) {
		tfs_log(LOG_INFO, "open of a group's file (inode %#" PRIx64 ") for %s refused (EACCES)",
			(uint64_t)ino, acc == O_RDWR ? "reading and writing" : "writing");
		fuse_reply_err(req, EACCES);
		return;
	}
	int err = store_group_by_id(tfs.store, n->id, &g);
	struct tfs_group_file *f = err ? NULL : calloc(1, sizeof *f);
	if (!f) {
		fuse_reply_err(req, err ? err : ENOMEM);
		return;
	}
	if ((err = tfs_fh_alloc(n->kind, g.id, NULL, 0, &f->fh)) != 0) {
		if (err == ENFILE)
			tfs_log(LOG_ERR, "open: %u files are open on the mount already (ENFILE)",
				TFS_FH_SLOTS);
		free(f);
		fuse_reply_err(req, err);
		return;
	}
	f->kind = n->kind;
	f->group_id = g.id;
	f->topic_id = g.topic_id;
	pthread_mutex_init(&f->lock, NULL);
	file_register(f);
	fi->fh = f->fh;
	fi->direct_io = 1; /* sizes change, and consume has none */
	/* consume and follow are streams, like a pipe: a reader that seeks back
	 * (bash's `read` does on seekable files) would lose what it skipped. */
	if (n->kind == TFS_CONSUME || n->kind == TFS_FOLLOW)
		fi->nonseekable = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0) {
		pthread_mutex_lock(&files_lock);
		f->prev->next = f->next;
		f->next->prev = f->prev;
		pthread_mutex_unlock(&files_lock);
		file_free(f);
	}
}

void tfs_groups_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct tfs_group_file *f = tfs_group_file_of(fi);
	if (!f && fi->fh)
		tfs_fh_free(fi->fh); /* a daemon that died opened it */
	if (f) {
		pthread_mutex_lock(&files_lock);
		f->prev->next = f->next;
		f->next->prev = f->prev;
		pthread_mutex_unlock(&files_lock);
		if (f->rest_len > f->rest_off)
			tfs_log(LOG_INFO,
				"group id %u: a reader closed with %zu byte(s) of a record unread "
				"(already committed)",
				f->group_id, f->rest_len - f->rest_off);
		file_free(f);
	}
	fuse_reply_err(req, 0);
}

void tfs_groups_read(fuse_req_t req, const struct tfs_node *n, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct tfs_group_file *f = tfs_group_file_get(fi);
	if (!f) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (n->kind == TFS_CONSUME || n->kind == TFS_FOLLOW) {
		tfs_consume_read(req, f, size, (fi->flags & O_NONBLOCK) != 0);
		return;
	}
	/* sysfs-style, as start and end: a read at offset 0 takes the current
	 * text, reads further on continue it. */
	int err = 0;
	pthread_mutex_lock(&f->lock);
	if (off == 0 || !f->text) {
		free(f->text);
		f->text = NULL;
		err = text_of(n->kind, n->id, n->sub, &f->text, &f->text_len);
	}
	if (err)
		fuse_reply_err(req, err);
	else if ((size_t)off >= f->text_len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, f->text + off,
			       f->text_len - (size_t)off < size ? f->text_len - (size_t)off : size);
	pthread_mutex_unlock(&f->lock);
}

void tfs_groups_write(fuse_req_t req, const struct tfs_node *n, const char *buf, size_t size,
		      struct fuse_file_info *fi)
{
	(void)fi;
	enum store_seek how;
	int64_t value;
	uint64_t committed;
	struct store_group g;
	int shown = size > 64 ? 64 : (int)size;
	if (shown > 0 && buf[shown - 1] == '\n')
		shown--;
	if (n->kind != TFS_GROUP_PART) {
		fuse_reply_err(req, EBADF);
		return;
	}
	int err = tfs_reset_parse(buf, size, &how, &value);
	if (err) {
		tfs_log(LOG_INFO,
			"consumers/<group id %u>/partition-%u: '%.*s' is not an offset, earliest, "
			"latest, +K, -K, @<ms> or an ISO 8601 time (EINVAL)",
			n->id, n->sub, shown, buf);
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = store_group_seek(tfs.store, n->id, n->sub, how, value, &committed);
	if (err) {
		tfs_log(err == ENOENT ? LOG_INFO : LOG_ERR, "group id %u partition %u: seek: %s",
			n->id, n->sub, strerror(err));
		fuse_reply_err(req, err);
		return;
	}
	if (store_group_by_id(tfs.store, n->id, &g) == 0)
		tfs_log(LOG_DEBUG, "group '%s' partition %u: '%.*s' committed %" PRIu64, g.name,
			n->sub, shown, buf, committed);
	tfs_groups_wake_group(n->id); /* a rewind gives its followers records */
	fuse_reply_write(req, size);
}

/* Followers and pollers of a topic's groups wake when the store says it got
 * records (QUEUED as a write returns, APPEND from the WAL's fold or a direct
 * commit) or went away. */
static void on_event(const struct store_event *ev, void *arg)
{
	(void)arg;
	if (ev->kind == STORE_EVENT_APPEND || ev->kind == STORE_EVENT_QUEUED ||
	    ev->kind == STORE_EVENT_TOPIC_DELETED)
		tfs_groups_wake_topic(ev->topic_id);
}

int tfs_groups_start(void)
{
	int err = tfs_consume_start();
	if (err == 0 && (err = store_subscribe(tfs.store, on_event, NULL)) != 0)
		tfs_consume_stop();
	return err;
}

void tfs_groups_stop(void)
{
	store_unsubscribe(tfs.store, on_event, NULL);
	tfs_consume_stop();
	for (;;) {
		pthread_mutex_lock(&files_lock);
		struct tfs_group_file *f = files.next;
		if (f == &files) {
			pthread_mutex_unlock(&files_lock);
			return;
		}
		f->prev->next = f->next;
		f->next->prev = f->prev;
		pthread_mutex_unlock(&files_lock);
		file_free(f);
	}
}

/* --- retention --- */

static void missed(const struct store_group *g, uint32_t index, uint64_t count, void *arg)
{
	(void)arg;
	struct store_topic t;
	int known = store_topic_by_id(tfs.store, g->topic_id, &t) == 0;
	tfs_log(LOG_WARNING,
		"topic '%s' group '%s' partition %u: retention removed %" PRIu64
		" record(s) the group never consumed; it moves on to the partition's start",
		known ? t.name : "?", g->name, index, count);
}

void tfs_groups_catch_up(void)
{
	int err = store_groups_catch_up(tfs.store, missed, NULL);
	if (err)
		tfs_log(LOG_ERR, "moving consumer groups past retention failed: %s", strerror(err));
}
