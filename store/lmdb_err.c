/* lmdb_err.c — the one place LMDB return codes become errnos. */
#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "store_int.h"

int store_errno(int rc, const char *what)
{
	if (rc >= 0)
		return rc; /* 0, or an errno (LMDB passes system errors through) */
	switch (rc) {
	case MDB_NOTFOUND:
		return ENOENT;
	case MDB_MAP_FULL:
		/* Normally absorbed by growing the map; here growing failed. */
		store_log(STORE_LOG_ERR, "%s: %s", what, mdb_strerror(rc));
		return ENOSPC;
	default:
		store_log(STORE_LOG_ERR, "%s: %s", what, mdb_strerror(rc));
		return EIO;
	}
}

int store_corrupt(const char *what, uint32_t gpid)
{
	store_log(STORE_LOG_ERR, "%s: partition gpid %u: stored data is inconsistent", what, gpid);
	return EIO;
}

/* Below this much free space an EIO from a commit is taken for a full disk. */
#define FULL_DISK_SLACK ((uint64_t)1 << 20)

int store_commit_errno(struct store *s, int rc, size_t need, const char *what)
{
	/* mdb_page_flush turns a short pwrite, which is how a filling disk
	 * answers, into EIO; only a write that got no byte at all keeps its
	 * ENOSPC. Judge by the room left where the data lives. */
	if (rc == EIO) {
		struct statvfs st;
		uint64_t want = need > FULL_DISK_SLACK ? need : FULL_DISK_SLACK;
		if (fstatvfs(s->lock_fd, &st) == 0 && (uint64_t)st.f_bavail * st.f_frsize < want)
			rc = ENOSPC;
	}
	if (rc == ENOSPC)
		store_log(STORE_LOG_ERR, "%s: the data directory's disk is full", what);
	return store_errno(rc, what);
}
