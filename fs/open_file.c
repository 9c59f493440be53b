/* open_file.c — the open files fi->fh names: made at open, again after a takeover, closed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhtable.h"
#include "handles.h"
#include "logging.h"
#include "logpoll.h"
#include "open_file.h"

/* The open files of this daemon, by handle slot (fhtable.c). */
static _Atomic(struct tfs_open_file *) live[TFS_FH_SLOTS];
static pthread_mutex_t revive_lock = PTHREAD_MUTEX_INITIALIZER;

/* p and v NULL: a text file (start, end, config/<name>); else either is
 * NULL only when making it failed. Owns p and v. */
static struct tfs_open_file *file_make(uint64_t fh, uint32_t topic_id, int text,
				       struct tfs_producer *p, struct tfs_logview *v)
{
	struct tfs_open_file *f = (text || p || v) ? calloc(1, sizeof *f) : NULL;
	if (!f) {
		tfs_producer_free(p);
		tfs_logview_free(v);
		return NULL;
	}
	pthread_mutex_init(&f->text_lock, NULL);
	f->fh = fh;
	f->topic_id = topic_id;
	f->producer = p;
	f->view = v;
	tfs_handles_add(&f->link);
	atomic_store(&live[tfs_fh_index(fh)], f);
	return f;
}

/* The open file of fi if this daemon made it (or revived it), else NULL. */
struct tfs_open_file *tfs_file_live(struct fuse_file_info *fi)
{
	if (!fi || !fi->fh || tfs_fh_index(fi->fh) >= TFS_FH_SLOTS)
		return NULL;
	struct tfs_open_file *f = atomic_load(&live[tfs_fh_index(fi->fh)]);
	return f && f->fh == fi->fh ? f : NULL;
}

/* With framing=writes, the longest write() taken as one record. The kernel
 * cuts a write() into requests of at most max_write bytes and 256 pages of
 * the caller's buffer, so one that starts inside a page carries up to a page
 * less: every write() up to this size arrives whole, and every longer one
 * has a first request over it, refused before anything of it is stored. */
size_t tfs_write_record_max(void)
{
	long page = sysconf(_SC_PAGESIZE);
	return TFS_STREAM_BLKSIZE - (size_t)(page > 0 && page < TFS_STREAM_BLKSIZE ? page : 4096);
}

/* The producer of produce (id: a topic), keys/<key> (a topic; key) or
 * partition-<N>/produce (id: its gpid); *topic_id is its topic. */
static int make_producer(enum tfs_kind kind, uint32_t id, const char *key, size_t key_len,
			 struct tfs_producer **p, uint32_t *topic_id)
{
	struct tfs_producer_args a = {.topic_id = id,
				      .partition = -1,
				      .key = key,
				      .key_len = key ? key_len : 0,
				      .write_max = tfs_write_record_max()};
	struct store_partition part;
	int err;
	if (kind == TFS_PART_PRODUCE) {
		if ((err = store_partition_get(tfs.store, id, &part)) != 0)
			return err;
		a.topic_id = part.topic_id;
		a.partition = part.index;
	}
	*topic_id = a.topic_id;
	return tfs_producer_open(p, tfs.store, &a);
}

/* A handle a daemon that died gave out (--supervise): its open file is made
 * again from its slot. What the slot does not keep is lost with the daemon:
 * a producer's held partial line, the rest of a record a log read stopped
 * in. NULL if fi names no open file, or without memory. */
static struct tfs_open_file *file_revive(struct fuse_file_info *fi)
{
	pthread_mutex_lock(&revive_lock);
	struct tfs_open_file *f = tfs_file_live(fi);
	struct tfs_fh_slot *slot = f ? NULL : tfs_fh_slot(fi->fh);
	if (slot) {
		struct tfs_producer *p = NULL;
		struct tfs_logview *v = NULL;
		uint32_t topic_id = slot->id;
		switch ((enum tfs_kind)slot->kind) {
		case TFS_PRODUCE:
		case TFS_KEY:
		case TFS_PART_PRODUCE:
			/* The framing the file was opened with, not the topic's now. */
			if (make_producer((enum tfs_kind)slot->kind, slot->id,
					  slot->kind == TFS_KEY ? slot->key : NULL, slot->key_len, &p,
					  &topic_id) == 0)
				p->framing = slot->framing;
			break;
		case TFS_LOG:
			if ((v = tfs_logview_new(slot->id)) && atomic_load(&slot->based)) {
				v->based = 1;
				v->shift = slot->shift;
				v->next = slot->next;
			}
			break;
		default:
			break;
		}
		int text = slot->kind != TFS_PRODUCE && slot->kind != TFS_KEY &&
			   slot->kind != TFS_PART_PRODUCE && slot->kind != TFS_LOG;
		f = file_make(fi->fh, slot->kind == TFS_LOG ? 0 : topic_id, text, p, v);
	}
	pthread_mutex_unlock(&revive_lock);
	return f;
}

struct tfs_open_file *tfs_file_of(struct fuse_file_info *fi)
{
	struct tfs_open_file *f = tfs_file_live(fi);
	return f || !fi || !fi->fh ? f : file_revive(fi);
}

/* Saves what of a log view must outlive the daemon in its slot. */
void tfs_file_save_view(struct tfs_open_file *f)
{
	struct tfs_fh_slot *slot = tfs_fh_slot(f->fh);
	if (!slot || !f->view)
		return;
	pthread_mutex_lock(&f->view->lock);
	int based = f->view->based;
	slot->shift = f->view->shift;
	slot->next = f->view->next;
	pthread_mutex_unlock(&f->view->lock);
	atomic_store(&slot->based, (uint32_t)based);
}

/* id: what the slot names (the node's id: a topic, or a partition's gpid);
 * topic_id: the open file's topic (0 for log). */
int tfs_file_open(struct fuse_file_info *fi, enum tfs_kind kind, uint32_t id,
		  uint32_t topic_id, int text, struct tfs_producer *p, struct tfs_logview *v,
		  const char *key, size_t key_len)
{
	uint64_t fh;
	int err = tfs_fh_alloc(kind, id, key, key_len, &fh);
	if (err) {
		if (err == ENFILE)
			tfs_log(LOG_ERR, "open: %u files are open on the mount already (ENFILE)",
				TFS_FH_SLOTS);
		tfs_producer_free(p);
		tfs_logview_free(v);
		return err;
	}
	struct tfs_fh_slot *slot = tfs_fh_slot(fh);
	if (p && slot)
		slot->framing = p->framing;
	if (!file_make(fh, topic_id, text, p, v)) {
		tfs_fh_free(fh);
		return ENOMEM;
	}
	fi->fh = fh;
	fi->direct_io = 1;
	return 0;
}

/* Opens produce, partition-<N>/produce or (key not NULL) keys/<key>. */
int tfs_open_producer(struct fuse_file_info *fi, const struct tfs_node *n, const char *key)
{
	struct tfs_producer *p;
	uint32_t topic_id;
	size_t key_len = key ? strlen(key) : 0;
	int err = make_producer(n->kind, n->id, key, key_len, &p, &topic_id);
	if (err)
		return err;
	return tfs_file_open(fi, n->kind, n->id, topic_id, 0, p, NULL, key, key_len);
}

/* The last close: a held partial line becomes a record. */
static void file_close(struct tfs_handle_link *l)
{
	struct tfs_open_file *f = (struct tfs_open_file *)l;
	if (f->producer) {
		int err = tfs_producer_flush(f->producer);
		if (err)
			tfs_log(LOG_ERR, "release: the partial last line for topic id %u was lost: %s",
				f->topic_id, strerror(err));
		tfs_producer_free(f->producer);
	}
	if (f->view) {
		tfs_poll_forget(f->view);
		tfs_logview_free(f->view);
	}
	pthread_mutex_destroy(&f->text_lock);
	struct tfs_open_file *self = f;
	atomic_compare_exchange_strong(&live[tfs_fh_index(f->fh)], &self, NULL);
	tfs_fh_free(f->fh);
	free(f);
}

void tfs_file_close(struct tfs_open_file *f)
{
	tfs_handles_remove(&f->link);
	file_close(&f->link);
}

void tfs_files_close_all(void)
{
	tfs_handles_drain(file_close);
}
