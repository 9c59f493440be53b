/* resident.c — keeps the daemon's resident size from growing with the data.
 *
 * Every page of LMDB's map the daemon touches stays mapped in this process and
 * counts in its RSS, and mapping a page in is dear (about 1 µs on a VM). So
 * the bulk of what the daemon reads never goes through the map: big batches of
 * a log are spliced from the store's file to the reader (store_map_file),
 * single records are read with pread(2) (store_map_copy). What is read through
 * the map (LMDB's own B-tree walks, small batches, views copied with memcpy) is
 * unmapped now and then (MADV_DONTNEED on the shared, read-only map), which
 * loses nothing: the pages stay in the kernel's page cache. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "store_int.h"

/* LMDB does not say where it mapped the file (mdb_env_info's me_mapaddr is
 * only the MDB_FIXEDMAP address): find the mapping of data.mdb's inode. */
void store_map_locate(struct store *s)
{
	struct stat st;
	mdb_filehandle_t fd;
	s->map_addr = NULL;
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
		return;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		uintptr_t start;
		unsigned long long off, ino;
		unsigned maj, min;
		int n = sscanf(line, "%lx-%*x %*s %llx %x:%x %llu", &start, &off, &maj, &min, &ino);
		if (n == 5 && ino == (unsigned long long)st.st_ino && off == 0 &&
		    makedev(maj, min) == st.st_dev) {
			s->map_addr = (void *)start; /* map_size bytes long */
			break;
		}
	}
	fclose(f);
}

static void unmap_locked(struct store *s)
{
	if (s->map_addr)
		madvise(s->map_addr, s->map_size, MADV_DONTNEED);
	atomic_store(&s->mapped_reads, 0);
}

void store_unmap_pages(struct store *s)
{
	pthread_rwlock_rdlock(&s->map_lock);
	unmap_locked(s);
	pthread_rwlock_unlock(&s->map_lock);
}

void store_count_mapped(struct store *s, size_t bytes)
{
	/* Called inside a read txn: map_lock is held shared, the map stays put. */
	if (atomic_fetch_add(&s->mapped_reads, bytes) + bytes >= STORE_MAPPED_READS_MAX)
		unmap_locked(s);
}

int store_map_file(struct store *s, const void *p, size_t len, int *fd, off_t *off)
{
	/* Inside a read txn: map_lock is held shared, the map stays put. */
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)s->map_addr;
	mdb_filehandle_t f;
	if (!s->map_addr || a < base || a - base >= s->map_size ||
	    len > s->map_size - (a - base) || mdb_env_get_fd(s->env, &f) != 0)
		return ENOENT;
	*fd = f;
	*off = (off_t)(a - base);
	return 0;
}

int store_map_copy(void *ctx, const void *src, void *dst, size_t len)
{
	struct store *s = ctx;
	int fd;
	off_t off;
	if (store_map_file(s, src, len, &fd, &off) != 0) {
		memcpy(dst, src, len);
		return 0;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)dst + got, len - got, off + (off_t)got);
		if (n <= 0)
			return n < 0 ? errno : EIO;
		got += (size_t)n;
	}
	return 0;
}
