/* groups.c — <topic>/consumers/: making and removing groups, their attributes
 * and the text files partition-<N> (the committed offset) and lag. Their
 * listings are fs/tree.c's, from the table of node kinds (fs/nodes.c). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirreq.h"
#include "fhtable.h"
#include "groups.h"
#include "logging.h"
#include "nodes.h"
#include "numbers.h"
#include "reset.h"

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
	struct store_topic t;
	if ((err = store_topic_by_id(tfs.store, topic_id, &t)) != 0)
		return err;
	/* Owner and bits come from the topic directory, as for all in it. */
	struct tfs_owner o = tfs_topic_owner(&t);
	mode_t mode = o.mode;
	int64_t ms = t.created_ms;
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = o.uid;
	st->st_gid = o.gid;
	/* What of the topic's bits each takes: nodes.c. */
	st->st_mode = tfs_kind_info(n->kind)->type | (mode & tfs_kind_info(n->kind)->bits);
	st->st_nlink = tfs_kind_is_dir(n->kind) ? 2 : 1;
	st->st_blksize = 4096;
	switch (n->kind) {
	case TFS_CONSUMERS:
		break;
	case TFS_GROUP:
		ms = g.created_ms;
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
		break;
	}
	case TFS_CONSUME:
	case TFS_FOLLOW:
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

int tfs_groups_lookup(const struct tfs_node *parent, const char *name, fuse_ino_t *ino)
{
	struct store_group g;
	struct store_topic t;
	uint64_t index;
	if (parent->kind == TFS_CONSUMERS) {
		if (store_group_by_name(tfs.store, parent->id, name, &g) == 0) {
			*ino = tfs_ino_make(TFS_GROUP, g.id, 0);
			return 0;
		}
	} else if (parent->kind == TFS_GROUP) {
		/* consume, follow and lag: fs/tree.c finds them in the table. */
		const char *prefix = tfs_kind_info(TFS_GROUP_PART)->name;
		if (strncmp(name, prefix, strlen(prefix)) == 0 &&
		    tfs_parse_u64(name + strlen(prefix), &index) == 0 &&
		    store_group_by_id(tfs.store, parent->id, &g) == 0 &&
		    store_topic_by_id(tfs.store, g.topic_id, &t) == 0 && index < t.config.partitions) {
			*ino = tfs_ino_make(TFS_GROUP_PART, parent->id, (uint32_t)index);
			return 0;
		}
	} else {
		return ENOTDIR;
	}
	return ENOENT;
}

int tfs_groups_mkdir(uint32_t topic_id, const char *name, fuse_ino_t *ino)
{
	struct store_group g;
	struct store_topic t;
	if (!store_name_is_valid(name, strlen(name))) {
		tfs_log(LOG_INFO,
			"mkdir consumers/'%.300s': not a group name (1-249 of [a-zA-Z0-9._-]) (EINVAL)",
			name);
		return EINVAL;
	}
	uint32_t done_id;
	if (tfs_dirreq_is_done(STORE_DIR_GROUP_CREATE, name, &done_id)) {
		*ino = tfs_ino_make(TFS_GROUP, done_id, 0);
		return 0;
	}
	int err = store_group_create_req(tfs.store, topic_id, name, tfs_dirreq_unique(), &g);
	if (err) {
		tfs_log(err == EEXIST || err == ENOENT ? LOG_INFO : LOG_ERR,
			"mkdir consumers/%s (topic id %u): %s", name, topic_id, strerror(err));
		return err;
	}
	if (store_topic_by_id(tfs.store, topic_id, &t) == 0)
		tfs_log(LOG_INFO, "topic '%s': consumer group '%s' created", t.name, name);
	tfs_dirreq_committed();
	*ino = tfs_ino_make(TFS_GROUP, g.id, 0);
	return 0;
}

void tfs_groups_rmdir(fuse_req_t req, uint32_t topic_id, const char *name)
{
	struct store_topic t;
	uint32_t gid = 0;
	if (tfs_dirreq_is_done(STORE_DIR_GROUP_DELETE, name, &gid)) {
		tfs_groups_wake_group(gid); /* a follower the dead daemon had waits here now */
		fuse_reply_err(req, 0);
		return;
	}
	int err = store_group_delete_req(tfs.store, topic_id, name, tfs_dirreq_unique(), &gid);
	if (err) {
		tfs_log(err == ENOENT ? LOG_DEBUG : LOG_ERR, "rmdir consumers/%.300s: %s", name,
			strerror(err));
	} else {
		if (store_topic_by_id(tfs.store, topic_id, &t) == 0)
			tfs_log(LOG_INFO, "topic '%s': consumer group '%s' deleted", t.name, name);
		tfs_groups_wake_group(gid); /* its followers read EOF now */
		tfs_dirreq_committed();
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
	if (slot && tfs_kind_is_group((enum tfs_kind)slot->kind) &&
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
	if (tfs_kind_is_dir(n->kind)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (!tfs_kind_is_open_allowed(n->kind, acc)) {
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

bool tfs_groups_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct fuse_pollhandle *ph)
{
	struct tfs_node n;
	if (tfs_ino_parse(ino, &n) != 0 || (n.kind != TFS_CONSUME && n.kind != TFS_FOLLOW))
		return false;
	struct tfs_group_file *f = tfs_group_file_get(fi);
	if (f) {
		tfs_consume_poll(req, f, ph);
		return true;
	}
	/* No open file (cannot be remade: out of memory): a read says EBADF. */
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLERR);
	return true;
}
