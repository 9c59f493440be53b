/* store.c — the LMDB environment (open, lock, sync, map growth), topics and partitions. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

_Static_assert(sizeof(struct store_topic_rec) == 352, "topic record has implicit padding");
_Static_assert(offsetof(struct store_topic_rec, uid) == 328, "version 1 topic records are 328 bytes");
_Static_assert(sizeof(struct store_part_rec) == 56, "partition record has implicit padding");

#define TOPIC_REC_VERSION 1u
#define PART_REC_VERSION 1u
/* The oldest record sizes we can read; later versions only append fields. */
#define TOPIC_REC_MIN offsetof(struct store_topic_rec, uid) /* the first layout */
#define PART_REC_MIN sizeof(struct store_part_rec)

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- big-endian keys, so LMDB's memcmp order is numeric order --- */

void store_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

void store_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint32_t store_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t store_get_be64(const unsigned char *p)
{
	return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

/* --- transactions and map growth --- */

static int map_refresh(struct store *s)
{
	MDB_envinfo info;
	int rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		s->map_size = info.me_mapsize;
	store_map_locate(s);
	return rc;
}

/* Called with no transaction of ours open. `seen` is the size the failed txn
 * ran with: if another thread grew the map meanwhile, just retry. */
static int map_grow(struct store *s, size_t seen, size_t need)
{
	int rc = 0;
	pthread_rwlock_wrlock(&s->map_lock);
	if (s->map_size == seen) {
		size_t add = seen > need ? seen : need;
		if (add > SIZE_MAX / 2 - seen) {
			rc = ENOSPC;
		} else {
			size_t size = seen + add;
			size = (size + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
			rc = mdb_env_set_mapsize(s->env, size);
			if (rc == 0)
				rc = map_refresh(s);
		}
	}
	pthread_rwlock_unlock(&s->map_lock);
	return rc;
}

/* Begins a txn holding map_lock shared; on failure the lock is not held. */
static int txn_begin(struct store *s, unsigned flags, MDB_txn **txn, size_t *map_size)
{
	for (;;) {
		pthread_rwlock_rdlock(&s->map_lock);
		int rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0) {
			if (map_size)
				*map_size = s->map_size;
			return 0;
		}
		pthread_rwlock_unlock(&s->map_lock);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map (cannot happen while we hold the
		 * directory lock, but LMDB asks us to adopt its size). */
		pthread_rwlock_wrlock(&s->map_lock);
		rc = mdb_env_set_mapsize(s->env, 0);
		if (rc == 0)
			rc = map_refresh(s);
		pthread_rwlock_unlock(&s->map_lock);
		if (rc)
			return rc;
	}
}

int store_read_begin_raw(struct store *s, MDB_txn **txn)
{
	return store_errno(txn_begin(s, MDB_RDONLY, txn, NULL), "begin read txn");
}

int store_read_begin(struct store *s, MDB_txn **txn)
{
	/* A fold that fails (a full disk) must not stop reads of what is stored. */
	store_wal_fold(s);
	return store_read_begin_raw(s, txn);
}

void store_read_end(struct store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->map_lock);
}

static int write_txn(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	for (;;) {
		MDB_txn *txn;
		size_t seen;
		int rc = txn_begin(s, 0, &txn, &seen);
		if (rc)
			return store_errno(rc, what);
		rc = fn(s, txn, arg);
		int committing = rc == 0;
		if (committing)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&s->map_lock);
		if (committing)
			store_topics_changed(s); /* topic_cache.c */
		if (committing && rc != MDB_MAP_FULL)
			return store_commit_errno(s, rc, need, what);
		if (rc != MDB_MAP_FULL)
			return store_errno(rc, what);
		rc = map_grow(s, seen, need);
		if (rc)
			return store_errno(rc, "grow map");
	}
}

/* sync=always: every change is durable before the call that made it returns. */
static int sync_if_always(struct store *s)
{
	return s->sync_always && s->snap_fd >= 0 ? store_sync(s) : 0;
}

int store_write_raw(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	/* LMDB has one writer at a time: with another one in, this one waits. */
	if (atomic_fetch_add(&s->writers, 1) > 0 && s->before_wait)
		s->before_wait();
	int rc = write_txn(s, fn, arg, need, what);
	atomic_fetch_sub(&s->writers, 1);
	/* A commit copies the B-tree pages it changes into new ones (the synced
	 * snapshot's stay pinned, snapshot.c) and the next one reads those
	 * through the map, each fault mapping 64 KiB around it (fresh records,
	 * mostly): unmap them now and then, as log reads do. */
	if (rc == 0 && atomic_fetch_add(&s->commits, 1) % STORE_UNMAP_COMMITS == 0)
		store_unmap_pages(s);
	return rc;
}

int store_write(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what)
{
	if (pthread_rwlock_trywrlock(&s->wal_gate) != 0) {
		if (s->before_wait)
			s->before_wait();
		pthread_rwlock_wrlock(&s->wal_gate);
	}
	int rc = store_wal_fold(s);
	if (rc == 0)
		rc = store_write_raw(s, fn, arg, need, what);
	pthread_rwlock_unlock(&s->wal_gate);
	return rc == 0 ? sync_if_always(s) : rc;
}

/* --- the space reserve: room to delete in when the disk is full ---
 *
 * LMDB never updates in place: even a delete writes new copies of the pages
 * it touches, so on a full disk nothing could be deleted, not even to make
 * room. DIR/topicfs.reserve holds a little disk space (1/32 of the disk,
 * 256 KiB .. 8 MiB) for that moment: a delete that fails with ENOSPC removes
 * it and tries again. Deletes also go in bounded transactions
 * (store_purge_partition), so that room suffices for a topic of any size.
 * Retention runs make it again once the disk has room. Appends never use it. */

#define RESERVE_MIN ((size_t)256 << 10)
#define RESERVE_MAX ((size_t)8 << 20)

static int reserve_path(struct store *s, char *path, size_t size)
{
	return snprintf(path, size, "%s/topicfs.reserve", s->dir) < (int)size ? 0 : ENAMETOOLONG;
}

static void reserve_size(struct store *s)
{
	struct statvfs st;
	if (fstatvfs(s->lock_fd, &st) != 0)
		return;
	uint64_t size = (uint64_t)st.f_blocks * st.f_frsize / 32;
	if (size < RESERVE_MIN)
		size = RESERVE_MIN;
	if (size > RESERVE_MAX)
		size = RESERVE_MAX;
	s->reserve_size = (size_t)size & ~(size_t)0xffff;
}

void store_reserve_make(struct store *s)
{
	char path[PATH_MAX];
	struct stat st;
	struct statvfs vfs;
	if (!s->reserve_size || reserve_path(s, path, sizeof(path)))
		return;
	if (stat(path, &st) == 0 && (uint64_t)st.st_blocks * 512 >= s->reserve_size)
		return;
	/* Only with room to spare: taking the last free bytes would fail the
	 * very writes the reserve is there to let through afterwards. */
	if (fstatvfs(s->lock_fd, &vfs) != 0 ||
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < 2 * (uint64_t)s->reserve_size)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int err = posix_fallocate(fd, 0, (off_t)s->reserve_size);
	close(fd);
	if (err) {
		store_log(STORE_LOG_WARNING, "%s: cannot reserve %zu bytes: %s", path, s->reserve_size,
			  strerror(err));
		unlink(path);
	}
}

/* 0 when the reserve was there and is now given back to the disk. */
static int reserve_release(struct store *s)
{
	char path[PATH_MAX];
	if (reserve_path(s, path, sizeof(path)) || unlink(path) != 0)
		return ENOENT;
	store_log(STORE_LOG_WARNING, "the disk is full: released %s to delete in", path);
	return 0;
}

int store_write_freeing(struct store *s, store_write_fn fn, void *arg, size_t need,
			const char *what)
{
	/* Deletes need not wait for appends a full disk holds back in the WAL:
	 * they come first, and appends to a deleted topic go with it. */
	store_wal_fold(s);
	int rc = store_write_raw(s, fn, arg, need, what);
	if (rc == ENOSPC && reserve_release(s) == 0)
		rc = store_write_raw(s, fn, arg, need, what);
	return rc == 0 ? sync_if_always(s) : rc;
}

void store_set_wait_hook(struct store *s, void (*fn)(void))
{
	s->before_wait = fn;
}

/* --- meta counters --- */

static int meta_get(struct store *s, MDB_txn *txn, const char *name, uint32_t *v)
{
	MDB_val k = {strlen(name), (void *)name}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(*v))
		return EIO;
	memcpy(v, d.mv_data, sizeof(*v));
	return 0;
}

static int meta_put(struct store *s, MDB_txn *txn, const char *name, uint32_t v)
{
	MDB_val k = {strlen(name), (void *)name}, d = {sizeof(v), &v};
	return mdb_put(txn, s->meta, &k, &d, 0);
}

/* --- stored records --- */

void store_rec_to_config(const struct store_topic_rec *rec, struct store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->partitions = rec->partitions;
	cfg->retention_ms = rec->retention_ms;
	cfg->retention_bytes = rec->retention_bytes;
	cfg->max_message_bytes = rec->max_message_bytes;
	memcpy(cfg->key_separator, rec->key_separator, sizeof(cfg->key_separator));
	cfg->key_separator[STORE_SEPARATOR_MAX] = '\0';
	cfg->framing = rec->framing;
}

static void config_to_rec(const struct store_config *cfg, struct store_topic_rec *rec)
{
	rec->partitions = cfg->partitions;
	rec->retention_ms = cfg->retention_ms;
	rec->retention_bytes = cfg->retention_bytes;
	rec->max_message_bytes = cfg->max_message_bytes;
	memcpy(rec->key_separator, cfg->key_separator, sizeof(rec->key_separator));
	rec->framing = cfg->framing;
}

static void rec_to_topic(const struct store_topic_rec *rec, struct store_topic *t)
{
	memset(t, 0, sizeof(*t));
	t->id = rec->id;
	memcpy(t->name, rec->name, sizeof(t->name));
	t->name[STORE_TOPIC_NAME_MAX] = '\0';
	store_rec_to_config(rec, &t->config);
	t->created_ms = rec->created_ms;
	t->uid = rec->uid;
	t->gid = rec->gid;
	t->mode = rec->mode;
}

/* Copies a stored versioned record: a longer (newer) one is cut, a shorter
 * one than we can read is corrupt. */
static int rec_copy(void *dst, size_t dst_size, size_t min, const MDB_val *d)
{
	if (d->mv_size < min)
		return EIO;
	memset(dst, 0, dst_size);
	memcpy(dst, d->mv_data, d->mv_size < dst_size ? d->mv_size : dst_size);
	return 0;
}

int store_topic_get_rec(struct store *s, MDB_txn *txn, uint32_t id, struct store_topic_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, id);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->topics, &k, &d);
	if (rc)
		return rc;
	return rec_copy(rec, sizeof(*rec), TOPIC_REC_MIN, &d);
}

int store_topic_put_rec(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, rec->id);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*rec), (void *)rec};
	return mdb_put(txn, s->topics, &k, &d, 0);
}

int store_part_get_rec(struct store *s, MDB_txn *txn, uint32_t gpid, struct store_part_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->partitions, &k, &d);
	if (rc)
		return rc;
	return rec_copy(rec, sizeof(*rec), PART_REC_MIN, &d);
}

int store_part_put_rec(struct store *s, MDB_txn *txn, uint32_t gpid,
		       const struct store_part_rec *rec)
{
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(*rec), (void *)rec};
	return mdb_put(txn, s->partitions, &k, &d, 0);
}

int store_part_gpid(struct store *s, MDB_txn *txn, uint32_t topic_id, uint32_t index,
		    uint32_t *gpid)
{
	unsigned char kb[8];
	store_be32(kb, topic_id);
	store_be32(kb + 4, index);
	MDB_val k = {sizeof(kb), kb}, d;
	int rc = mdb_get(txn, s->topic_parts, &k, &d);
	if (rc)
		return rc;
	if (d.mv_size != sizeof(*gpid))
		return EIO;
	memcpy(gpid, d.mv_data, sizeof(*gpid));
	return 0;
}

static void part_to_public(uint32_t gpid, const struct store_part_rec *rec,
			   struct store_partition *p)
{
	p->gpid = gpid;
	p->topic_id = rec->topic_id;
	p->index = rec->index;
	p->start_offset = rec->start_offset;
	p->end_offset = rec->end_offset;
	p->start_pos = rec->start_pos;
	p->end_pos = rec->end_pos;
	p->last_append_ms = rec->last_append_ms;
}

/* Creates partition i of topic rec under gpid. */
static int part_create(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec,
		       uint32_t i, uint32_t gpid, int64_t now)
{
	unsigned char kb[8];
	store_be32(kb, rec->id);
	store_be32(kb + 4, i);
	MDB_val k = {sizeof(kb), kb}, d = {sizeof(gpid), &gpid};
	int rc = mdb_put(txn, s->topic_parts, &k, &d, MDB_NOOVERWRITE);
	if (rc)
		return rc == MDB_KEYEXIST ? EIO : rc;
	struct store_part_rec p = {
		.version = PART_REC_VERSION,
		.size = sizeof(p),
		.topic_id = rec->id,
		.index = i,
		.last_append_ms = now,
	};
	return store_part_put_rec(s, txn, gpid, &p);
}

/* Creates partitions [from, to) of topic rec, with free gpids (gpids.c). */
static int parts_create(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec,
			uint32_t from, uint32_t to, int64_t now)
{
	if (to <= from)
		return 0;
	uint32_t *gpids = malloc(sizeof *gpids * (to - from));
	if (!gpids)
		return ENOMEM;
	int rc = store_gpids_take(s, txn, to - from, gpids);
	for (uint32_t i = from; rc == 0 && i < to; i++)
		rc = part_create(s, txn, rec, i, gpids[i - from], now);
	free(gpids);
	return rc;
}

/* --- open / close --- */

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof(path))
		return EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return errno;
		*p = '/';
	}
	/* Private: it holds every topic's records (see store_check_modes). */
	if (mkdir(path, 0700) && errno != EEXIST)
		return errno;
	return 0;
}

/* Takes DIR/topicfs.lock so a second daemon on the same data is refused
 * before it touches LMDB (whose own locks are per-process). */
static int dir_lock(const char *dir, int *fd_out)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/topicfs.lock", dir) >= (int)sizeof(path))
		return ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = errno;
		store_log(STORE_LOG_ERR, "%s: %s", path, strerror(err));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno;
		if (err == EWOULDBLOCK) {
			err = EBUSY; /* the caller says so, with the holder's pid */
		} else {
			store_log(STORE_LOG_ERR, "lock %s: %s", path, strerror(err));
		}
		close(fd);
		return err;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
		store_log(STORE_LOG_WARNING, "%s: cannot record pid: %s", path, strerror(errno));
	*fd_out = fd;
	return 0;
}

static int open_dbs(struct store *s, MDB_txn *txn, void *arg)
{
	(void)arg;
	static const struct {
		const char *name;
		size_t off;
	} dbs[] = {
		{"meta", offsetof(struct store, meta)},
		{"topic_names", offsetof(struct store, topic_names)},
		{"topics", offsetof(struct store, topics)},
		{"topic_parts", offsetof(struct store, topic_parts)},
		{"partitions", offsetof(struct store, partitions)},
		{"batches", offsetof(struct store, batches)},
		{"positions", offsetof(struct store, positions)},
		{"requests", offsetof(struct store, requests)},
		{"mirror", offsetof(struct store, mirror)},
		{"groups", offsetof(struct store, groups)},
		{"group_names", offsetof(struct store, group_names)},
		{"group_offsets", offsetof(struct store, group_offsets)},
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)s + dbs[i].off);
		int rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbi);
		if (rc)
			return rc;
	}
	uint32_t version;
	int rc = meta_get(s, txn, "format", &version);
	if (rc == MDB_NOTFOUND) {
		if ((rc = meta_put(s, txn, "format", STORE_FORMAT_VERSION)) ||
		    (rc = meta_put(s, txn, "next_topic", 1)) || (rc = meta_put(s, txn, "next_gpid", 1)))
			return rc;
		return 0;
	}
	if (rc)
		return rc;
	if (version != STORE_FORMAT_VERSION) {
		store_log(STORE_LOG_ERR, "data format %u is not supported (this build reads %u)",
			  version, STORE_FORMAT_VERSION);
		return EPROTO;
	}
	return 0;
}

int store_open(struct store **out, const struct store_options *o)
{
	if (!o || !o->dir)
		return EINVAL;
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->lock_fd = -1;
	s->snap_fd = -1;
	s->wal_fd[0] = s->wal_fd[1] = -1;
	pthread_mutex_init(&s->wal_lock, NULL);
	pthread_mutex_init(&s->fold_lock, NULL);
	pthread_cond_init(&s->wal_cond, NULL);
	pthread_mutex_init(&s->wal_sync_lock, NULL);
	pthread_cond_init(&s->wal_sync_cond, NULL);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Growth, and a sync or a config change waiting on the WAL's gate, must
	 * not starve behind a stream of readers or appends. No caller re-enters
	 * either lock (see store_record_view), which this kind requires. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	int rc = pthread_rwlock_init(&s->map_lock, &attr);
	if (rc == 0)
		rc = pthread_rwlock_init(&s->wal_gate, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc) {
		free(s);
		return rc;
	}
	if ((rc = store_events_init(s))) {
		pthread_rwlock_destroy(&s->map_lock);
		free(s);
		return rc;
	}

	rc = mkdir_p(o->dir);
	if (rc) {
		store_log(STORE_LOG_ERR, "cannot create %s: %s", o->dir, strerror(rc));
		goto fail;
	}
	rc = dir_lock(o->dir, &s->lock_fd);
	if (rc)
		goto fail;
	s->dir = strdup(o->dir);
	if (!s->dir) {
		rc = ENOMEM;
		goto fail;
	}

	s->map_size = o->map_size ? o->map_size : STORE_DEFAULT_MAP_SIZE;
	if (s->map_size < STORE_MIN_MAP_SIZE)
		s->map_size = STORE_MIN_MAP_SIZE;
	s->sync_always = o->sync_always;
	if ((rc = store_snapshot_recover(o->dir)) != 0)
		goto fail;
	/* Durability comes from the WAL and the synced snapshots (snapshot.c),
	 * in both sync modes. */
	unsigned flags = MDB_NOTLS | MDB_NOSYNC;
	if ((rc = mdb_env_create(&s->env)) || (rc = mdb_env_set_maxdbs(s->env, 16)) ||
	    (rc = mdb_env_set_maxreaders(s->env, 512)) ||
	    (rc = mdb_env_set_mapsize(s->env, s->map_size)) ||
	    (rc = mdb_env_open(s->env, o->dir, flags, 0600)) || (rc = map_refresh(s))) {
		store_log(STORE_LOG_ERR, "cannot open LMDB in %s: %s", o->dir, mdb_strerror(rc));
		rc = store_errno(rc, "open");
		goto fail;
	}
	if ((rc = store_check_size(s)))
		goto fail;
	rc = store_write(s, open_dbs, NULL, 0, "open databases");
	if (rc == 0)
		rc = store_wal_open(s);
	if (rc == 0)
		rc = store_snapshot_open(s);
	if (rc)
		goto fail;
	reserve_size(s);
	store_reserve_make(s);
	store_check_modes(s);
	*out = s;
	return 0;

fail:
	store_wal_close(s);
	store_snapshot_close(s);
	if (s->env)
		mdb_env_close(s->env);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_rwlock_destroy(&s->map_lock);
	pthread_rwlock_destroy(&s->wal_gate);
	store_events_destroy(s);
	free(s->dir);
	free(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	/* A clean stop leaves everything on disk, whatever the sync mode. */
	store_wal_close(s);
	int rc = store_snapshot_sync(s, 1);
	if (rc)
		store_log(STORE_LOG_ERR, "sync on close: %s", strerror(rc));
	store_snapshot_close(s);
	mdb_env_close(s->env);
	close(s->lock_fd);
	pthread_rwlock_destroy(&s->map_lock);
	pthread_rwlock_destroy(&s->wal_gate);
	store_events_destroy(s);
	free(s->dir);
	free(s);
}

int store_sync(struct store *s)
{
	if (s->before_wait)
		s->before_wait();
	return store_snapshot_sync(s, 0);
}

/* --- topics --- */

struct topic_create_args {
	const char *name;
	size_t len;
	const struct store_config *cfg;
	uint32_t uid, gid, mode;
	struct store_topic_rec rec; /* out */
};

static int topic_create_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_create_args *a = arg;
	MDB_val k = {a->len, (void *)a->name}, d;
	int rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc == 0)
		return EEXIST;
	if (rc != MDB_NOTFOUND)
		return rc;
	uint32_t id;
	if ((rc = meta_get(s, txn, "next_topic", &id)))
		return rc;
	if (id == 0 || id == UINT32_MAX)
		return ENOSPC;
	if ((rc = meta_put(s, txn, "next_topic", id + 1)))
		return rc;

	struct store_topic_rec *rec = &a->rec;
	memset(rec, 0, sizeof(*rec));
	rec->version = TOPIC_REC_VERSION;
	rec->size = sizeof(*rec);
	rec->id = id;
	config_to_rec(a->cfg, rec);
	rec->created_ms = store_now_ms();
	memcpy(rec->name, a->name, a->len);
	rec->uid = a->uid;
	rec->gid = a->gid;
	rec->mode = a->mode;

	d.mv_size = sizeof(id);
	d.mv_data = &id;
	if ((rc = mdb_put(txn, s->topic_names, &k, &d, 0)) || (rc = store_topic_put_rec(s, txn, rec)))
		return rc;
	return parts_create(s, txn, rec, 0, rec->partitions, rec->created_ms);
}

int store_topic_create(struct store *s, const char *name, const struct store_config *cfg,
		       struct store_topic *out)
{
	return store_topic_create_as(s, name, cfg, 0, 0, 0, out);
}

int store_topic_create_as(struct store *s, const char *name, const struct store_config *cfg,
			  uint32_t uid, uint32_t gid, uint32_t mode, struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len) || store_config_check(cfg) || mode > 0177777)
		return EINVAL;
	struct topic_create_args a = {
		.name = name, .len = len, .cfg = cfg, .uid = uid, .gid = gid, .mode = mode};
	int rc = store_write(s, topic_create_txn, &a, 64 * 1024 + 256 * (size_t)cfg->partitions,
			     "create topic");
	if (rc == 0 && out)
		rec_to_topic(&a.rec, out);
	return rc;
}

struct topic_owner_args {
	uint32_t id, uid, gid, mode;
};

static int topic_owner_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_owner_args *a = arg;
	struct store_topic_rec rec;
	int rc = store_topic_get_rec(s, txn, a->id, &rec);
	if (rc)
		return rc;
	rec.uid = a->uid;
	rec.gid = a->gid;
	rec.mode = a->mode;
	rec.size = sizeof(rec);
	return store_topic_put_rec(s, txn, &rec);
}

int store_topic_set_owner(struct store *s, uint32_t topic_id, uint32_t uid, uint32_t gid,
			  uint32_t mode)
{
	if (mode > 0177777)
		return EINVAL;
	struct topic_owner_args a = {topic_id, uid, gid, mode};
	return store_write(s, topic_owner_txn, &a, 4096, "set topic owner");
}

/* A partition holding more than this is emptied before its topic is deleted. */
#define PURGE_RECORDS 1024
#define PURGE_BYTES ((uint64_t)1 << 20)

/* Deletes every key of db that starts with the 4-byte big-endian gpid. */
static int delete_gpid_range(MDB_txn *txn, MDB_dbi dbi, uint32_t gpid)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof(kb), kb}, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, kb, 4) == 0) {
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		/* After a delete, MDB_NEXT yields the key that followed it. */
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct topic_delete_args {
	const char *name;
	uint32_t id; /* the topic the name had when the delete began */
};

static int topic_delete_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_delete_args *a = arg;
	MDB_val k = {strlen(a->name), (void *)a->name}, d;
	int rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc)
		return rc;
	uint32_t id;
	if (d.mv_size != sizeof(id))
		return EIO;
	memcpy(&id, d.mv_data, sizeof(id));
	if (id != a->id)
		return ENOENT; /* deleted and made again meanwhile: not ours to delete */
	struct store_topic_rec rec;
	if ((rc = store_topic_get_rec(s, txn, id, &rec)))
		return rc == MDB_NOTFOUND ? EIO : rc;
	for (uint32_t i = 0; i < rec.partitions; i++) {
		uint32_t gpid;
		if ((rc = store_part_gpid(s, txn, id, i, &gpid)))
			return rc == MDB_NOTFOUND ? EIO : rc;
		if ((rc = delete_gpid_range(txn, s->batches, gpid)) ||
		    (rc = delete_gpid_range(txn, s->positions, gpid)) ||
		    (rc = delete_gpid_range(txn, s->mirror, gpid)))
			return rc;
		unsigned char pk[4];
		store_be32(pk, gpid);
		MDB_val pkv = {sizeof(pk), pk};
		if ((rc = mdb_del(txn, s->partitions, &pkv, NULL)) ||
		    (rc = store_gpids_freed(s, txn, gpid)))
			return rc;
	}
	if ((rc = store_groups_drop_topic(s, txn, id)))
		return rc;
	/* The topic's (id, index) entries are contiguous under the id prefix. */
	if ((rc = delete_gpid_range(txn, s->topic_parts, id)))
		return rc;
	unsigned char tk[4];
	store_be32(tk, id);
	MDB_val tkv = {sizeof(tk), tk};
	if ((rc = mdb_del(txn, s->topics, &tkv, NULL)))
		return rc;
	return mdb_del(txn, s->topic_names, &k, NULL);
}

int store_topic_delete(struct store *s, const char *name)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return ENOENT;
	struct store_topic t;
	int rc = store_topic_by_name(s, name, &t);
	if (rc)
		return rc;
	/* The records of big partitions go first, a bounded transaction at a
	 * time (see the space reserve); the rest, and the topic, in one. */
	for (uint32_t i = 0; i < t.config.partitions; i++) {
		struct store_partition p;
		rc = store_partition_find(s, t.id, i, &p);
		if (rc)
			return rc;
		if (p.end_offset - p.start_offset > PURGE_RECORDS ||
		    p.end_pos - p.start_pos > PURGE_BYTES) {
			if ((rc = store_purge_partition(s, p.gpid)))
				return rc;
		}
	}
	struct topic_delete_args a = {name, t.id};
	rc = store_write_freeing(s, topic_delete_txn, &a, 1 << 20, "delete topic");
	if (rc == 0) {
		struct store_event ev = {STORE_EVENT_TOPIC_DELETED, t.id, 0, 0};
		store_announce(s, &ev, 1);
	}
	return rc;
}

/* Topics are read as LMDB has them: appends the WAL still holds change no
 * field of struct store_topic (only the round-robin cursor). */
int store_topic_by_name(struct store *s, const char *name, struct store_topic *out)
{
	size_t len = strnlen(name, STORE_TOPIC_NAME_MAX + 1);
	if (!store_name_valid(name, len))
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_val k = {len, (void *)name}, d;
	rc = mdb_get(txn, s->topic_names, &k, &d);
	if (rc == 0) {
		uint32_t id;
		struct store_topic_rec rec;
		if (d.mv_size != sizeof(id)) {
			rc = EIO;
		} else {
			memcpy(&id, d.mv_data, sizeof(id));
			rc = store_topic_get_rec(s, txn, id, &rec);
			if (rc == 0 && out)
				rec_to_topic(&rec, out);
		}
	}
	store_read_end(s, txn);
	return store_errno(rc, "topic by name");
}

int store_topic_by_id(struct store *s, uint32_t id, struct store_topic *out)
{
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	struct store_topic_rec rec;
	rc = store_topic_get_rec(s, txn, id, &rec);
	if (rc == 0 && out)
		rec_to_topic(&rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "topic by id");
}

int store_topic_next(struct store *s, uint32_t after_id, struct store_topic *out)
{
	if (after_id == UINT32_MAX)
		return ENOENT;
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_cursor *c;
	rc = mdb_cursor_open(txn, s->topics, &c);
	if (rc == 0) {
		unsigned char kb[4];
		store_be32(kb, after_id + 1);
		MDB_val k = {sizeof(kb), kb}, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == 0) {
			struct store_topic_rec rec;
			rc = rec_copy(&rec, sizeof(rec), TOPIC_REC_MIN, &d);
			if (rc == 0 && out)
				rec_to_topic(&rec, out);
		}
		mdb_cursor_close(c);
	}
	store_read_end(s, txn);
	return store_errno(rc, "next topic");
}

int store_topic_count(struct store *s, uint64_t *count)
{
	MDB_txn *txn;
	int rc = store_read_begin_raw(s, &txn);
	if (rc)
		return rc;
	MDB_stat st;
	rc = mdb_stat(txn, s->topics, &st);
	if (rc == 0)
		*count = st.ms_entries;
	store_read_end(s, txn);
	return store_errno(rc, "count topics");
}

struct topic_configure_args {
	uint32_t id;
	enum store_config_key key;
	const char *text;
	size_t len;
};

static int topic_configure_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct topic_configure_args *a = arg;
	struct store_topic_rec rec;
	int rc = store_topic_get_rec(s, txn, a->id, &rec);
	if (rc)
		return rc;
	struct store_config cfg;
	store_rec_to_config(&rec, &cfg);
	uint32_t old = cfg.partitions;
	if ((rc = store_config_parse(&cfg, a->key, a->text, a->len)))
		return rc;
	if (cfg.partitions < old)
		return EINVAL;
	if (cfg.partitions > old &&
	    (rc = parts_create(s, txn, &rec, old, cfg.partitions, store_now_ms())))
		return rc;
	config_to_rec(&cfg, &rec);
	rec.size = sizeof(rec);
	return store_topic_put_rec(s, txn, &rec);
}

int store_topic_configure(struct store *s, uint32_t topic_id, enum store_config_key key,
			  const char *text, size_t len)
{
	if ((unsigned)key >= STORE_CFG_COUNT)
		return EINVAL;
	struct topic_configure_args a = {topic_id, key, text, len};
	return store_write(s, topic_configure_txn, &a, 1 << 20, "configure topic");
}

/* --- partitions --- */

int store_partition_get(struct store *s, uint32_t gpid, struct store_partition *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	struct store_part_rec rec;
	rc = store_part_get_rec(s, txn, gpid, &rec);
	if (rc == 0 && out)
		part_to_public(gpid, &rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "get partition");
}

int store_partition_find(struct store *s, uint32_t topic_id, uint32_t index,
			 struct store_partition *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	uint32_t gpid;
	struct store_part_rec rec;
	rc = store_part_gpid(s, txn, topic_id, index, &gpid);
	if (rc == 0)
		rc = store_part_get_rec(s, txn, gpid, &rec);
	if (rc == 0 && out)
		part_to_public(gpid, &rec, out);
	store_read_end(s, txn);
	return store_errno(rc, "find partition");
}
