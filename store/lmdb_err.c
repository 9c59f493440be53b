/* lmdb_err.c — the one place LMDB return codes become errnos. */
#include <errno.h>
#include <stdio.h>

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
		fprintf(stderr, "store: %s: %s\n", what, mdb_strerror(rc));
		return ENOSPC;
	default:
		fprintf(stderr, "store: %s: %s\n", what, mdb_strerror(rc));
		return EIO;
	}
}

int store_corrupt(const char *what, uint32_t gpid)
{
	fprintf(stderr, "store: %s: partition gpid %u: stored data is inconsistent\n", what, gpid);
	return EIO;
}
