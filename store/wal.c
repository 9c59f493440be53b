/* wal.c — the write-ahead log: a write() is one copy into the page cache, LMDB folds them in groups.
 *
 * An LMDB commit writes every B-tree page it touched (six or more 4 KiB pages
 * for one 100-byte record) and a meta page. With sync=interval an append
 * instead goes, checked against its topic and with a checksum, to the end of
 * DIR/topicfs.wal.<0|1> — in the page cache, so it survives a kill of the
 * daemon at once — and into a queue that a fold thread commits to LMDB, all
 * that is queued in one transaction (a group commit). Every other use of the
 * store folds the queue first (store_wal_fold from store_write and
 * store_read_begin), so whoever looks after a write() returned sees its
 * records, in the order the writes were made.
 *
 * Each entry has a log sequence number (LSN); the fold transaction stores the
 * last LSN it took in the meta database ("wal_lsn"). At open, the entries
 * after it that are whole (checksum) and follow each other without a gap are
 * folded again: what was acknowledged before a crash of the daemon is kept,
 * once. Each sync (snapshot.c) folds the queue and pins that snapshot, then
 * switches appends to the other file, truncating it: what it held is in the
 * previous synced snapshot, which stays durable until this one is. After a
 * power loss, entries not synced may be torn or gone; replay stops at the
 * first one missing, so a partition keeps a prefix of what was written.
 *
 * With sync=always an append also waits for an fdatasync of the WAL, which
 * the writers waiting at the same time share (wal_sync_upto). An append of
 * more than WAL_DIRECT_BYTES commits in a transaction of its own (then a sync
 * with sync=always), and so does any append while the data directory's disk is short of WAL_ROOM_MIN or a fold
 * failed: then a full disk fails the write() with ENOSPC, as it should.
 *
 * An entry may carry the request its write() came in (store_append_req,
 * under --supervise): the fold keeps it in the requests database in the same
 * transaction as the records, so a daemon that took over after a crash can
 * tell a resent write whose records are in (requests.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
#include "wal_int.h"

#define WAL_ROOM_MIN ((uint64_t)64 << 20)        /* free disk the WAL path needs */
#define WAL_PENDING_MAX ((size_t)16 << 20)       /* queued bytes before appends fold */
#define WAL_ROOM_CHECK_MS 200
/* Appends this big gain nothing from the WAL (their commit is mostly their
 * own bytes) and would write them twice: they commit directly. */
#define WAL_DIRECT_BYTES ((size_t)64 << 10)

static uint32_t entry_crc(const unsigned char *disk, size_t size)
{
	struct wal_head h;
	memcpy(&h, disk, sizeof(h));
	h.crc = 0;
	return store_crc32(store_crc32(0, &h, sizeof(h)), disk + sizeof(h), size - sizeof(h));
}

/* --- appending --- */

/* sync=always: returns once an fdatasync that began after entry lsn was
 * written has ended. Writers waiting meanwhile share the next one (a group
 * commit). Both files: a switch may have moved appends to the other one. */
static int wal_sync_upto(struct store *s, uint64_t lsn)
{
	int rc = 0;
	pthread_mutex_lock(&s->wal_sync_lock);
	while (s->wal_synced < lsn && rc == 0) {
		if (s->wal_syncing) {
			pthread_cond_wait(&s->wal_sync_cond, &s->wal_sync_lock);
			continue;
		}
		s->wal_syncing = 1;
		pthread_mutex_unlock(&s->wal_sync_lock);
		pthread_mutex_lock(&s->wal_lock);
		uint64_t upto = s->wal_lsn;
		pthread_mutex_unlock(&s->wal_lock);
		if (s->before_wait)
			s->before_wait();
		for (int i = 0; i < 2 && rc == 0; i++)
			if (fdatasync(s->wal_fd[i]))
				rc = errno;
		pthread_mutex_lock(&s->wal_sync_lock);
		s->wal_syncing = 0;
		if (rc == 0 && upto > s->wal_synced)
			s->wal_synced = upto;
		pthread_cond_broadcast(&s->wal_sync_cond);
	}
	pthread_mutex_unlock(&s->wal_sync_lock);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether appends may go through the WAL now. */
static int wal_usable(struct store *s)
{
	if (atomic_load(&s->wal_direct))
		return 0;
	int64_t now = mono_ms();
	if (now - atomic_load(&s->wal_room_at) >= WAL_ROOM_CHECK_MS) {
		struct statvfs st;
		int room = fstatvfs(s->lock_fd, &st) == 0 &&
			   (uint64_t)st.f_bavail * st.f_frsize >= WAL_ROOM_MIN;
		atomic_store(&s->wal_room, room);
		atomic_store(&s->wal_room_at, now);
	}
	return atomic_load(&s->wal_room);
}

/* The topic must exist and take every value, as the fold will find it:
 * store_write holds wal_gate exclusively across fold and change. */
static int check_topic(struct store *s, uint32_t topic_id, int64_t fixed,
		       const struct store_record_in *recs, size_t n)
{
	struct store_topic_rec t;
	int rc = store_topic_rec_cached(s, topic_id, &t);
	if (rc)
		return store_errno(rc, "append");
	if (t.partitions < 1 || t.partitions > STORE_PARTITIONS_MAX)
		return EIO;
	if (fixed >= (int64_t)t.partitions)
		return ENOENT;
	for (size_t i = 0; i < n; i++)
		if (recs[i].value_len > (uint64_t)t.max_message_bytes)
			return EMSGSIZE;
	return 0;
}

static struct wal_entry *entry_make(uint32_t topic_id, int64_t fixed,
				    const struct store_record_in *recs, size_t n,
				    const struct store_request *req)
{
	size_t len = req ? WAL_REQUEST_BYTES : 0;
	for (size_t i = 0; i < n; i++)
		len += 8 + (recs[i].key ? recs[i].key_len : 0) + recs[i].value_len;
	if (len > UINT32_MAX - sizeof(struct wal_head))
		return NULL;
	struct wal_entry *e = malloc(sizeof(*e) + sizeof(struct wal_head) + len);
	if (!e)
		return NULL;
	e->next = NULL;
	e->size = sizeof(struct wal_head) + len;
	struct wal_head h = {.magic = WAL_MAGIC, .topic_id = topic_id, .n = (uint32_t)n,
			     .ts_ms = store_now_ms(), .len = (uint32_t)len,
			     .part = fixed < 0 ? WAL_ROUTED : (uint32_t)fixed,
			     .flags = req ? WAL_HAS_REQUEST : 0};
	memcpy(e->disk, &h, sizeof(h));
	unsigned char *p = e->disk + sizeof(h);
	if (req) {
		memcpy(p, &req->slot, 4);
		memcpy(p + 4, &req->unique, 8);
		p += WAL_REQUEST_BYTES;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t kl = recs[i].key ? (uint32_t)recs[i].key_len : WAL_NO_KEY;
		uint32_t vl = (uint32_t)recs[i].value_len;
		memcpy(p, &kl, 4);
		memcpy(p + 4, &vl, 4);
		p += 8;
		if (recs[i].key) {
			memcpy(p, recs[i].key, recs[i].key_len);
			p += recs[i].key_len;
		}
		if (vl)
			memcpy(p, recs[i].value, vl);
		p += vl;
	}
	return e;
}

struct direct {
	uint32_t topic_id;
	int64_t fixed;
	const struct store_record_in *recs;
	size_t n;
	int64_t now;
	const struct store_request *req;
	struct store_events ev; /* announced once committed */
};

static int direct_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct direct *d = arg;
	d->ev.n = 0; /* the txn may run again after the map grew */
	int rc = store_append_in_txn(s, txn, d->topic_id, d->fixed, d->recs, d->n, d->now, &d->ev);
	if (rc == 0 && d->req)
		rc = store_request_put(s, txn, d->req);
	return rc;
}

/* Appends in a transaction of its own, after what the WAL holds (store_write
 * folds first), with req (may be NULL) kept in it. */
static int append_direct(struct store *s, uint32_t topic_id, int64_t fixed,
			 const struct store_record_in *recs, size_t n,
			 const struct store_request *req, size_t need)
{
	struct direct d = {topic_id, fixed, recs, n, store_now_ms(), req, {0}};
	int rc = store_write(s, direct_txn, &d, need, "append");
	if (rc == 0)
		store_announce(s, d.ev.ev, d.ev.n);
	free(d.ev.ev);
	return rc;
}

static int append(struct store *s, uint32_t topic_id, int64_t fixed,
		  const struct store_record_in *recs, size_t n, const struct store_request *req)
{
	size_t need;
	int rc = store_append_check(recs, n, &need);
	if (rc || n == 0)
		return rc;
	if (need - (1 << 20) > 2 * WAL_DIRECT_BYTES || !wal_usable(s))
		return append_direct(s, topic_id, fixed, recs, n, req, need); /* store_write syncs */
	struct wal_entry *e = entry_make(topic_id, fixed, recs, n, req);
	if (!e)
		return ENOMEM;
	uint64_t lsn = 0;
	pthread_rwlock_rdlock(&s->wal_gate);
	rc = check_topic(s, topic_id, fixed, recs, n);
	if (rc == 0) {
		pthread_mutex_lock(&s->wal_lock);
		struct wal_head *h = (struct wal_head *)e->disk;
		h->lsn = s->wal_lsn + 1;
		h->crc = entry_crc(e->disk, e->size);
		rc = store_wal_put(s, e->disk, e->size, s->wal_off);
		if (rc == 0) {
			s->wal_off += e->size;
			s->wal_lsn = h->lsn;
			if (s->wal_tail)
				s->wal_tail->next = e;
			else
				s->wal_head = e;
			s->wal_tail = e;
			s->wal_pending += e->size;
			atomic_store(&s->wal_appended, h->lsn);
			lsn = h->lsn;
			if (s->wal_idle)
				pthread_cond_signal(&s->wal_cond);
			e = NULL;
		}
		pthread_mutex_unlock(&s->wal_lock);
	}
	pthread_rwlock_unlock(&s->wal_gate);
	free(e);
	if (rc == 0 && s->sync_always)
		rc = wal_sync_upto(s, lsn);
	if (rc == 0) {
		struct store_event ev = {STORE_EVENT_QUEUED, topic_id, 0, 0};
		store_announce(s, &ev, 1);
	}
	if (rc == 0 && s->wal_pending > WAL_PENDING_MAX)
		store_wal_fold(s); /* the fold thread fell behind: wait for it */
	return rc;
}

int store_wal_has_request(struct store *s, const struct store_request *req)
{
	int found = 0;
	pthread_mutex_lock(&s->wal_lock);
	for (struct wal_entry *e = s->wal_head; e && !found; e = e->next) {
		struct store_request r;
		found = entry_request(e, &r) && r.slot == req->slot && r.unique == req->unique;
	}
	pthread_mutex_unlock(&s->wal_lock);
	return found;
}

int store_append(struct store *s, uint32_t topic_id, const struct store_record_in *recs, size_t n)
{
	return append(s, topic_id, -1, recs, n, NULL);
}

int store_append_req(struct store *s, uint32_t topic_id, const struct store_record_in *recs,
		     size_t n, const struct store_request *req)
{
	return append(s, topic_id, -1, recs, n, req);
}

int store_append_to_req(struct store *s, uint32_t topic_id, uint32_t index,
			const struct store_record_in *recs, size_t n,
			const struct store_request *req)
{
	if (index >= STORE_PARTITIONS_MAX)
		return ENOENT;
	return append(s, topic_id, index, recs, n, req);
}

int store_append_to(struct store *s, uint32_t topic_id, uint32_t index,
		    const struct store_record_in *recs, size_t n)
{
	return store_append_to_req(s, topic_id, index, recs, n, NULL);
}

/* --- files, replay, sync --- */

static int wal_path(const char *dir, int i, char *path, size_t size)
{
	return snprintf(path, size, "%s/topicfs.wal.%d", dir, i) < (int)size ? 0 : ENAMETOOLONG;
}

/* Reads file fd's whole entries with lsn > after into *list, lsn order kept
 * per file; stops at the first damaged one. */
static void scan_file(int fd, uint64_t after, struct wal_entry **list)
{
	off_t at = 0;
	for (;;) {
		struct wal_head h;
		if (pread(fd, &h, sizeof(h), at) != (ssize_t)sizeof(h) || h.magic != WAL_MAGIC)
			return;
		struct wal_entry *e = malloc(sizeof(*e) + sizeof(h) + h.len);
		if (!e)
			return;
		e->size = sizeof(h) + h.len;
		e->next = NULL;
		if (pread(fd, e->disk, e->size, at) != (ssize_t)e->size ||
		    entry_crc(e->disk, e->size) != h.crc) {
			free(e);
			return;
		}
		at += (off_t)e->size;
		if (h.lsn <= after) {
			free(e);
			continue;
		}
		/* Insert in lsn order (both files' entries meet here). */
		struct wal_entry **p = list;
		while (*p && head_of(*p)->lsn < h.lsn)
			p = &(*p)->next;
		if (*p && head_of(*p)->lsn == h.lsn) {
			free(e);
			continue;
		}
		e->next = *p;
		*p = e;
	}
}

static int truncate_files(struct store *s)
{
	for (int i = 0; i < 2; i++) {
		int rc = store_wal_file_reset(s, i);
		if (rc)
			return rc;
		if (!s->wal_map[i])
			store_wal_map(s, i);
		if (fsync(s->wal_fd[i]))
			return errno;
	}
	s->wal_cur = 0;
	s->wal_off = 0;
	return 0;
}

int store_wal_open(struct store *s)
{
	char path[4096];
	for (int i = 0; i < 2; i++) {
		int rc = wal_path(s->dir, i, path, sizeof(path));
		if (rc)
			return rc;
		s->wal_fd[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->wal_fd[i] < 0) {
			rc = errno;
			store_log(STORE_LOG_ERR, "%s: %s", path, strerror(rc));
			return rc;
		}
	}
	MDB_txn *txn;
	uint64_t folded;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	rc = store_wal_meta_lsn(s, txn, &folded);
	store_read_end(s, txn);
	if (rc)
		return store_errno(rc, "read the WAL's position");

	struct wal_entry *list = NULL;
	for (int i = 0; i < 2; i++)
		scan_file(s->wal_fd[i], folded, &list);
	/* Only the run that follows the last folded entry without a gap. */
	uint64_t next = folded + 1, count = 0;
	struct wal_entry **p = &list;
	while (*p && head_of(*p)->lsn == next) {
		p = &(*p)->next;
		next++;
		count++;
	}
	store_wal_list_free(*p);
	*p = NULL;
	if (list) {
		rc = store_wal_replay(s, list);
		store_wal_list_free(list);
		if (rc) {
			store_log(STORE_LOG_ERR, "%s: cannot replay the WAL: %s", s->dir, strerror(rc));
			return rc;
		}
		store_log(STORE_LOG_INFO, "%s: %llu write(s) not yet in LMDB when the daemon stopped "
			  "were taken from the WAL", s->dir, (unsigned long long)count);
	}
	/* Truncated (and synced) before any new entry, so no old one can
	 * follow a new one. */
	if ((rc = truncate_files(s)) != 0)
		return rc;
	s->wal_lsn = next - 1;
	s->wal_switch_lsn = s->wal_durable_lsn = 0; /* both files are empty */
	s->wal_synced = s->wal_lsn;
	atomic_store(&s->wal_appended, s->wal_lsn);
	atomic_store(&s->wal_folded, s->wal_lsn);
	rc = pthread_create(&s->wal_thread, NULL, store_wal_fold_loop, s);
	if (rc == 0)
		s->wal_running = 1;
	return rc;
}

void store_wal_close(struct store *s)
{
	if (s->wal_running) {
		pthread_mutex_lock(&s->wal_lock);
		s->wal_stop = 1;
		pthread_cond_signal(&s->wal_cond);
		pthread_mutex_unlock(&s->wal_lock);
		pthread_join(s->wal_thread, NULL);
		s->wal_running = 0;
	}
	store_wal_fold(s);
	store_wal_list_free(s->wal_head);
	s->wal_head = s->wal_tail = NULL;
	store_wal_unmap(s);
	free(s->wal_events.ev); /* no one listens any more */
	s->wal_events = (struct store_events){0};
	for (int i = 0; i < 2; i++) {
		if (s->wal_fd[i] >= 0)
			close(s->wal_fd[i]);
		s->wal_fd[i] = -1;
	}
}
