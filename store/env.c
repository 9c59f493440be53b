/* env.c — the LMDB environment of a data directory: open, lock, databases, close. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

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
	int rc = store_meta_get(s, txn, "format", &version);
	if (rc == MDB_NOTFOUND) {
		if ((rc = store_meta_put(s, txn, "format", STORE_FORMAT_VERSION)) ||
		    (rc = store_meta_put(s, txn, "next_topic", 1)) ||
		    (rc = store_meta_put(s, txn, "next_gpid", 1)))
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
	    (rc = mdb_env_open(s->env, o->dir, flags, 0600)) || (rc = store_map_refresh(s))) {
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
	store_reserve_measure(s);
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
