/* reserve.c — DIR/topicfs.reserve, disk space held back so deletes work when the disk is full. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_int.h"

/* The space reserve: room to delete in when the disk is full.
 *
 * LMDB never updates in place: even a delete writes new copies of the pages
 * it touches, so on a full disk nothing could be deleted, not even to make
 * room. DIR/topicfs.reserve holds a little disk space (1/32 of the disk,
 * 256 KiB .. 8 MiB) for that moment: a delete that fails with ENOSPC removes
 * it and tries again. Deletes also go in bounded transactions
 * (topic_delete.c, trim.c), so that room suffices for a topic of any size.
 * Retention runs make it again once the disk has room. Appends never use it. */

#define RESERVE_MIN ((size_t)256 << 10)
#define RESERVE_MAX ((size_t)8 << 20)

static int reserve_path(struct store *s, char *path, size_t size)
{
	return snprintf(path, size, "%s/topicfs.reserve", s->dir) < (int)size ? 0 : ENAMETOOLONG;
}

void store_reserve_measure(struct store *s)
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
int store_reserve_release(struct store *s)
{
	char path[PATH_MAX];
	if (reserve_path(s, path, sizeof(path)) || unlink(path) != 0)
		return ENOENT;
	store_log(STORE_LOG_WARNING, "the disk is full: released %s to delete in", path);
	return 0;
}
