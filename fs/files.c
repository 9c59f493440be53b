/* files.c — open, read, write and close for every file of the tree. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhtable.h"
#include "files.h"
#include "groups.h"
#include "inode.h"
#include "log_reply.h"
#include "logging.h"
#include "logpoll.h"
#include "loop.h"
#include "logview.h"
#include "mirrored.h"
#include "nodes.h"
#include "open_file.h"
#include "produce.h"
#include "record_cache.h"
#include "supervise.h"
#include "test_die.h"
#include "tfs.h"
#include "tree.h"

/* The files a producer writes: produce, keys/<key>, partition-<N>/produce. */
static bool is_produce_file(enum tfs_kind k)
{
	return tfs_kind_info(k)->access == TFS_ACCESS_WRITE;
}

void tfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct fuse_pollhandle *ph)
{
	struct tfs_node n;
	struct store_partition p;
	if (tfs_groups_poll(req, ino, fi, ph))
		return; /* consume, follow */
	struct tfs_open_file *f = NULL;
	if (tfs_ino_parse(ino, &n) == 0 && n.kind == TFS_LOG && (f = tfs_file_of(fi)) && f->view &&
	    store_partition_get(tfs.store, n.id, &p) == 0) {
		/* Kept with the handle: a daemon taking over wakes it (takeover.c).
		 * A handle the kernel will not wait on, or one this poll answers
		 * at once, woken by mistake, costs the poller one more POLL. */
		struct tfs_fh_slot *slot = tfs_fh_slot(fi->fh);
		if (slot)
			atomic_store(&slot->poll_kh, ph ? tfs_loop_request_poll_kh() : 0);
		tfs_poll_view(req, f->view, p.topic_id, ph);
		return;
	}
	/* Everything else is a regular file: always ready. */
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

struct slice {
	char *buf;
	size_t off;
	size_t size;
	size_t got;
};

/* Copies a record's value, or the part of it a read of [off, off+size) gets. */
static int copy_value(const struct store_record *r, void *arg)
{
	struct slice *sl = arg;
	if (sl->off < r->value_len) {
		sl->got = r->value_len - sl->off < sl->size ? r->value_len - sl->off : sl->size;
		memcpy(sl->buf, (const char *)r->value + sl->off, sl->got);
	}
	return 0;
}

/* offset-<n> files open now. While none is, no READ of one can be pending in
 * the kernel, so pushing a record into the page cache cannot wait on a page
 * lock that only a request queued behind this OPEN would release. */
static atomic_uint offsets_open;

/* Puts the record into the kernel's page cache for the inode being opened,
 * so the read that follows is served there: one round trip less per random
 * read. The lookup just before usually read the value (record_cache.c).
 * Best effort: if it fails, the read comes to tfs_read as usual. */
static void push_record(fuse_ino_t ino, const struct tfs_node *n)
{
	struct store_partition p;
	if (store_partition_get(tfs.store, n->id, &p) != 0)
		return;
	uint64_t offset = tfs_offset_widen(n->offset, p.end_offset);
	if (offset < p.start_offset)
		return; /* retention took it since the lookup: the read says so */
	size_t len = 0;
	const char *value = tfs_record_cache_get(n->id, offset, &len);
	char *buf = NULL;
	if (!value) {
		struct slice sl = {malloc(TFS_RECORD_CACHE_MAX), 0, TFS_RECORD_CACHE_MAX, 0};
		buf = sl.buf;
		if (!buf || store_record_value(tfs.store, n->id, offset, copy_value, &sl) != 0) {
			free(buf);
			return;
		}
		value = buf;
		len = sl.got;
	}
	if (len > 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);
		bv.buf[0].mem = (void *)value;
		fuse_lowlevel_notify_store(tfs.se, ino, 0, &bv, 0);
	}
	free(buf);
}

void tfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tfs_node n;
	struct stat st;
	int acc = fi->flags & O_ACCMODE;
	int err = tfs_ino_parse(ino, &n) ? ENOENT : 0;
	/* An offset-<n> was just looked up, and the push below or its read
	 * checks it again: no need to look the record up here too. */
	if (!err && n.kind != TFS_OFFSET)
		err = tfs_tree_stat(ino, &st);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (tfs_kind_is_group(n.kind)) {
		tfs_groups_open(req, ino, &n, fi);
		return;
	}
	if (!tfs_kind_is_open_allowed(n.kind, acc)) {
		tfs_log(LOG_INFO, "open of %s (inode %#" PRIx64 ") for %s refused: it is %s (EACCES)",
			tfs_kind_info(n.kind)->what, (uint64_t)ino,
			acc == O_RDONLY ? "reading" : "writing", tfs_kind_access_name(n.kind));
		fuse_reply_err(req, EACCES);
		return;
	}
	switch (n.kind) {
	case TFS_PRODUCE:
	case TFS_PART_PRODUCE:
		if ((err = tfs_open_producer(fi, &n, NULL))) {
			fuse_reply_err(req, err);
			return;
		}
		break;
	case TFS_KEY:
		/* The key name is only known to create(); see tfs_create. */
		fuse_reply_err(req, ENOENT);
		return;
	case TFS_LOG:
		if ((err = tfs_file_open(fi, n.kind, n.id, 0, 0, NULL, tfs_logview_new(n.id), NULL, 0))) {
			fuse_reply_err(req, err);
			return;
		}
		break;
	case TFS_OFFSET:
		fi->keep_cache = 1; /* a record never changes */
		/* After a takeover, offset files the daemon that died opened may
		 * still be read: no push (see offsets_open). */
		if (atomic_fetch_add(&offsets_open, 1) == 0 && !tfs_takeover_active())
			push_record(ino, &n);
		break;
	default: /* start, end, config/<name>: direct_io, their sizes change */
		if ((err = tfs_file_open(fi, n.kind, n.id, n.id, 1, NULL, NULL, NULL, 0))) {
			fuse_reply_err(req, err);
			return;
		}
		break;
	}
	/* A close has nothing to wait for: a writer's held partial line is
	 * committed on RELEASE, which the loop handles before any later request
	 * (see loop.c). That saves a FLUSH round trip per close. */
	fi->noflush = 1;
	/* No RELEASE follows an open the kernel never got. */
	if (fuse_reply_open(req, fi) != 0 && n.kind == TFS_OFFSET)
		atomic_fetch_sub(&offsets_open, 1);
}

void tfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		struct fuse_file_info *fi)
{
	(void)mode;
	struct tfs_node n;
	struct fuse_entry_param e;
	if (tfs_ino_parse(parent, &n) || n.kind != TFS_KEYS) {
		/* The kernel asks to create a name it found missing: in a directory
		 * of a topic removed meanwhile, that is because the directory is gone. */
		struct stat st;
		int err = tfs_tree_stat(parent, &st) == ENOENT ? ENOENT : EACCES;
		tfs_log(LOG_INFO, "create '%s': %s (%s)", name,
			err == ENOENT ? "its directory no longer exists" : "files cannot be created here",
			err == ENOENT ? "ENOENT" : "EACCES");
		fuse_reply_err(req, err);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_WRONLY) {
		tfs_log(LOG_INFO, "open of keys/%s for reading refused: it is write-only (EACCES)",
			name);
		fuse_reply_err(req, EACCES);
		return;
	}
	/* Every key file of a topic shares one inode; the open file carries the key.
	 * The entry is not cached, so each open comes back here with its name. */
	memset(&e, 0, sizeof e);
	e.ino = tfs_ino_make(TFS_KEY, n.id, 0);
	e.generation = 1;
	e.entry_timeout = tfs_kind_info(TFS_KEY)->entry_ttl;
	e.attr_timeout = tfs_kind_info(TFS_KEY)->attr_ttl;
	int err = tfs_tree_stat(e.ino, &e.attr);
	if (!err)
		err = tfs_open_producer(fi, &(struct tfs_node){.kind = TFS_KEY, .id = n.id}, name);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->noflush = 1; /* as in tfs_open */
	if (fuse_reply_create(req, &e, fi) != 0) {
		struct tfs_open_file *f = tfs_file_live(fi);
		tfs_file_close(f);
	}
}

/* Replies with the [off, off+size) slice of a small text. */
static void reply_text(fuse_req_t req, const char *text, size_t len, size_t size, off_t off)
{
	if ((size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, text + off, len - (size_t)off < size ? len - (size_t)off : size);
}

/* The current text of start, end or config/<name>. */
static int text_of(const struct tfs_node *n, char *text, size_t cap, size_t *len)
{
	struct store_partition p;
	struct store_topic t;
	int err;
	if (n->kind == TFS_CONFIG) {
		if ((err = store_topic_by_id(tfs.store, n->id, &t)) == 0)
			*len = store_config_format(&t.config, n->sub, text, cap);
		return err;
	}
	if (n->kind == TFS_MIRRORED)
		return tfs_mirrored_text(n->id, text, cap, len);
	if ((err = store_partition_get(tfs.store, n->id, &p)) == 0) {
		int l = snprintf(text, cap, "%" PRIu64 "\n",
				 n->kind == TFS_START ? p.start_offset : p.end_offset);
		*len = l < 0 ? 0 : (size_t)l < cap ? (size_t)l : cap - 1;
	}
	return err;
}

struct log_read {
	fuse_req_t req;
	struct tfs_open_file *f;
};

/* The view's state is saved before the reply: once the reader has it, it
 * may close the file, and another worker free f. */
static int log_reply(const struct iovec *iov, int count, void *arg)
{
	struct log_read *lr = arg;
	tfs_file_save_view(lr->f);
	return tfs_log_reply(iov, count, lr->req);
}

void tfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct tfs_node n;
	struct store_partition p;
	char text[64];
	char *buf = NULL;
	size_t got = 0;
	int err = tfs_ino_parse(ino, &n) ? ENOENT : 0;

	if (!err && tfs_kind_is_group(n.kind)) {
		tfs_groups_read(req, &n, size, off, fi);
		return;
	}
	if (!err && n.kind == TFS_LOG) {
		/* The reply is sent from the store's file, inside its read. */
		struct log_read lr = {req, tfs_file_of(fi)};
		if (size > tfs_log_reply_max())
			size = tfs_log_reply_max();
		err = lr.f && lr.f->view ? tfs_logview_read(tfs.store, lr.f->view, (uint64_t)off, size,
							    log_reply, &lr)
					 : EBADF;
		if (err)
			fuse_reply_err(req, err);
		return;
	}
	if (!err && n.kind == TFS_OFFSET && !(buf = malloc(size)))
		err = ENOMEM;
	if (err)
		goto out;

	switch (n.kind) {
	case TFS_OFFSET: {
		struct slice sl = {buf, (size_t)off, size, 0};
		err = store_partition_get(tfs.store, n.id, &p);
		if (!err)
			err = store_record_value(tfs.store, n.id,
						 tfs_offset_widen(n.offset, p.end_offset), copy_value, &sl);
		got = sl.got;
		break;
	}
	case TFS_START:
	case TFS_END:
	case TFS_MIRRORED:
	case TFS_CONFIG: {
		struct tfs_open_file *f = tfs_file_of(fi);
		size_t len = 0;
		if (!f) {
			err = EBADF;
			break;
		}
		pthread_mutex_lock(&f->text_lock);
		if (off == 0 || !f->has_text) {
			err = text_of(&n, f->text, sizeof f->text, &f->text_len);
			f->has_text = !err;
		}
		if (!err)
			memcpy(text, f->text, len = f->text_len);
		pthread_mutex_unlock(&f->text_lock);
		if (!err) {
			reply_text(req, text, len, size, off);
			return;
		}
		break;
	}
	default:
		err = EBADF;
		break;
	}
out:
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, got);
	free(buf);
}

/* For tests/test_supervise.py (test_die.h). */
static struct tfs_test_die die_after_write = TFS_TEST_DIE("TOPICFS_TEST_DIE_AFTER_WRITES");

void tfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	(void)off; /* a log only appends: the position written at does not matter */
	struct tfs_node n;
	struct store_topic t;
	int err = tfs_ino_parse(ino, &n) ? ENOENT : 0;
	if (!err && tfs_kind_is_group(n.kind)) {
		tfs_groups_write(req, &n, buf, size, fi);
		return;
	}
	if (!err && is_produce_file(n.kind)) {
		struct tfs_open_file *f = tfs_file_of(fi);
		if (!f || !f->producer) {
			tfs_log(LOG_ERR, "write to %s (inode %#" PRIx64 "): no such open file (EBADF)",
				tfs_kind_info(n.kind)->what, (uint64_t)ino);
			fuse_reply_err(req, EBADF);
			return;
		}
		/* Supervised, the request is kept with the records, and one the
		 * kernel resent after a takeover is answered from it if its
		 * records are in already (store.h). */
		uint64_t unique = tfs_loop_request_unique();
		struct store_request r = {tfs_fh_index(fi->fh), unique & ~TFS_UNIQUE_RESEND};
		int tagged = tfs.opt.supervise && unique;
		bool done = false;
		if (tagged && (unique & TFS_UNIQUE_RESEND) &&
		    (err = store_request_done(tfs.store, &r, &done)) != 0)
			tfs_log(LOG_ERR, "write to topic id %u resent after the daemon died: cannot tell "
				"whether it was stored: %s; storing it", n.id, strerror(err));
		if (done) {
			tfs_log(LOG_INFO, "write to topic id %u resent after the daemon died: its records "
				"were stored before, not stored again", n.id);
			fuse_reply_write(req, size);
			return;
		}
		err = tfs_producer_write_req(f->producer, buf, size, tagged ? &r : NULL);
		if (!err)
			tfs_test_die_after(&die_after_write);
		if (err == EMSGSIZE && f->producer->framing == STORE_FRAMING_WRITES)
			tfs_log(LOG_INFO,
				"write of %zu bytes to topic id %u refused: with framing=writes a "
				"write is one record, at most max.message.bytes and %zu bytes "
				"(EMSGSIZE); nothing of it was stored",
				size, f->topic_id, tfs_write_record_max());
		else if (err == EMSGSIZE)
			tfs_log(LOG_INFO,
				"write to topic id %u refused: a record exceeds max.message.bytes "
				"(EMSGSIZE); nothing of the write was stored",
				f->topic_id);
		else if (err == ENOBUFS)
			tfs_log(LOG_WARNING,
				"write to topic id %u refused: partial lines held for open files "
				"would exceed %zu MiB in all (%zu MiB held now) (ENOBUFS); nothing "
				"of the write was stored",
				f->topic_id, TFS_HELD_TOTAL_MAX >> 20, tfs_producer_held_total() >> 20);
		else if (err == ENOENT || err == EINVAL) /* the topic went, a key too long: the user's */
			tfs_log(LOG_INFO, "write to topic id %u refused: %s", f->topic_id, strerror(err));
		else if (err)
			tfs_log(LOG_ERR, "write to topic id %u failed: %s", f->topic_id,
				strerror(err));
	} else if (!err && n.kind == TFS_CONFIG) {
		/* sysfs-style: each write() carries the whole new value. */
		err = store_topic_configure(tfs.store, n.id, n.sub, buf, size);
		if (err == EINVAL) {
			int shown = size > 64 ? 64 : (int)size;
			if (shown > 0 && buf[shown - 1] == '\n')
				shown--;
			tfs_log(LOG_INFO, "config/%s: value '%.*s' rejected (EINVAL)",
				store_config_name(n.sub), shown, buf);
		} else if (!err && store_topic_by_id(tfs.store, n.id, &t) == 0)
			tfs_log(LOG_INFO, "topic '%s': %s set", t.name, store_config_name(n.sub));
	} else if (!err) {
		err = EBADF;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

/* Only sent by kernels without FOPEN_NOFLUSH: then close() commits. */
void tfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tfs_node n;
	int err = 0;
	struct tfs_open_file *f = tfs_file_live(fi);
	if (tfs_ino_parse(ino, &n) == 0 && is_produce_file(n.kind) && f && f->producer) {
		/* close() ends the partial line: it becomes a record now. */
		err = tfs_producer_flush(f->producer);
		if (err)
			tfs_log(LOG_ERR, "close: the partial last line of topic id %u was not stored: %s",
				f->topic_id, strerror(err));
	}
	fuse_reply_err(req, err);
}

void tfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tfs_node n;
	if (tfs_ino_parse(ino, &n) == 0 && tfs_kind_is_group(n.kind)) {
		tfs_groups_release(req, fi);
		return;
	}
	/* A handle of a daemon that died, never used since, has nothing to
	 * commit: only its slot goes. */
	struct tfs_open_file *f = tfs_file_live(fi);
	if (tfs_ino_parse(ino, &n) == 0 && n.kind == TFS_OFFSET)
		atomic_fetch_sub(&offsets_open, 1);
	if (f) {
		tfs_file_close(f);
	} else if (fi->fh) {
		tfs_fh_free(fi->fh);
	}
	fuse_reply_err(req, 0);
}

void tfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	/* Whatever was committed becomes durable; that covers this file's records. */
	fuse_reply_err(req, store_sync(tfs.store));
}

/* fallocate(2) has nothing to reserve in a log, and on produce glibc's
 * posix_fallocate() would turn EOPNOTSUPP (or ENOSYS, which the kernel makes
 * it) into writing a NUL every 4 KiB: records. ENODEV, posix_fallocate's
 * "not a regular file", is passed on by glibc as it is. */
void tfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		   struct fuse_file_info *fi)
{
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	tfs_log(LOG_INFO, "fallocate on inode %#" PRIx64 " refused: nothing to allocate (ENODEV)",
		(uint64_t)ino);
	fuse_reply_err(req, ENODEV);
}
