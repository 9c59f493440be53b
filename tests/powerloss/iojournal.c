/* iojournal.c — an LD_PRELOAD shim that journals every write and sync of the store's files.
 *
 * The power-loss test (tests/test_power_loss.py) runs the daemon under it and then
 * rebuilds, from the journal, the disk images a power loss could have left. It
 * journals data.mdb, topicfs.snapshot and topicfs.wal.* in IOJ_DIR into the file IOJ_OUT:
 * each write with its offset and bytes, and each fsync/fdatasync twice, when it
 * begins and when it ends. A write is journaled after it completes, holding a
 * lock that a sync's "begin" also takes, so every write journaled before a sync
 * began had completed before it: that sync made it durable.
 *
 * The WAL files are written through a shared mapping (store/wal_map.c), which
 * no call shows. The shim knows the mapping from mmap(2) and keeps a copy of
 * what it last journaled of it; before it journals any event it compares the
 * mapping's pages from the last one that changed on (the WAL only grows) and
 * journals each page that differs as a write. So a sync's "begin" comes after
 * every page written before it, and between syncs the mapping is journaled as
 * often as the store writes or syncs any file (each fold's commit). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { J_WRITE = 1, J_SYNC_BEGIN = 2, J_SYNC_END = 3, J_TRUNCATE = 4 };

struct jhead {
	uint32_t magic; /* 0x4a4f5552 */
	uint8_t type;
	uint8_t file; /* 0 data.mdb, 1 topicfs.snapshot, 2 and 3 topicfs.wal.0 and .1 */
	uint16_t dsync; /* J_WRITE through an O_DSYNC descriptor: durable when done */
	uint32_t len;
	uint64_t off;
	uint64_t t_ns; /* CLOCK_MONOTONIC */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int out_fd = -1;
static char dir[PATH_MAX];
static size_t dir_len;

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);

#define PAGE 4096

/* A journaled file mapped shared and writable (lock). */
static struct mapped {
	unsigned char *addr;
	size_t len;
	uint64_t size;          /* the file's, as its last ftruncate left it */
	size_t from;            /* first page that may have changed */
	unsigned char *shadow;  /* the mapping as journaled */
} maps[4];

__attribute__((constructor)) static void init(void)
{
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	real_write = dlsym(RTLD_NEXT, "write");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
	const char *d = getenv("IOJ_DIR"), *o = getenv("IOJ_OUT");
	if (!d || !o || !realpath(d, dir))
		return;
	dir_len = strlen(dir);
	out_fd = open(o, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* The journal's number for a journaled file, else -1. */
static int file_of(int fd)
{
	if (out_fd < 0 || fd == out_fd)
		return -1;
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= (ssize_t)dir_len || memcmp(path, dir, dir_len) != 0 || path[dir_len] != '/')
		return -1;
	path[n] = '\0';
	const char *name = path + dir_len + 1;
	if (strcmp(name, "data.mdb") == 0)
		return 0;
	if (strcmp(name, "topicfs.snapshot") == 0)
		return 1;
	if (strcmp(name, "topicfs.wal.0") == 0)
		return 2;
	if (strcmp(name, "topicfs.wal.1") == 0)
		return 3;
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Called with lock held. */
static void record_raw(int type, int file, uint64_t off, const struct iovec *iov, int n,
		       size_t len, int dsync)
{
	struct jhead h = {0x4a4f5552, (uint8_t)type, (uint8_t)file, (uint16_t)dsync, (uint32_t)len,
			  off, now_ns()};
	real_write(out_fd, &h, sizeof(h));
	for (int i = 0; i < n && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
		real_write(out_fd, iov[i].iov_base, k);
		len -= k;
	}
}

/* Journals the pages of file f's mapping that changed since last time. Lock held. */
static void capture(int f)
{
	struct mapped *m = &maps[f];
	size_t end = m->size < m->len ? (size_t)m->size : m->len;
	size_t p = m->from;
	for (; p * PAGE < end; p++) {
		size_t off = p * PAGE, len = end - off < PAGE ? end - off : PAGE;
		if (memcmp(m->addr + off, m->shadow + off, len) == 0) {
			if (p > m->from)
				break;
			continue; /* full last time: the next entry may begin the next page */
		}
		memcpy(m->shadow + off, m->addr + off, len);
		struct iovec v = {m->shadow + off, len};
		record_raw(J_WRITE, f, off, &v, 1, len, 0);
		m->from = p;
	}
}

static void capture_all(void)
{
	for (int f = 0; f < 4; f++)
		if (maps[f].addr)
			capture(f);
}

/* Called with lock held: what the mappings hold first, then the event. */
static void record(int type, int file, uint64_t off, const struct iovec *iov, int n, size_t len,
		   int dsync)
{
	capture_all();
	record_raw(type, file, off, iov, n, len, dsync);
}

static ssize_t journaled_pwritev(int fd, const struct iovec *iov, int n, off_t off, int file,
				 int positioned)
{
	pthread_mutex_lock(&lock);
	if (!positioned)
		off = lseek(fd, 0, SEEK_CUR);
	ssize_t r;
	if (positioned)
		r = real_pwritev(fd, iov, n, off);
	else
		r = real_writev(fd, iov, n);
	if (r > 0)
		record(J_WRITE, file, (uint64_t)off, iov, n, (size_t)r,
		       (fcntl(fd, F_GETFL) & O_DSYNC) == O_DSYNC);
	pthread_mutex_unlock(&lock);
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	int f = file_of(fd);
	if (f < 0)
		return real_pwrite(fd, buf, len, off);
	struct iovec v = {(void *)buf, len};
	return journaled_pwritev(fd, &v, 1, off, f, 1);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	int f = file_of(fd);
	if (f < 0)
		return real_pwrite64(fd, buf, len, off);
	struct iovec v = {(void *)buf, len};
	return journaled_pwritev(fd, &v, 1, off, f, 1);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	int f = file_of(fd);
	if (f < 0)
		return real_write(fd, buf, len);
	struct iovec v = {(void *)buf, len};
	return journaled_pwritev(fd, &v, 1, 0, f, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	int f = file_of(fd);
	if (f < 0)
		return real_writev(fd, iov, n);
	return journaled_pwritev(fd, iov, n, 0, f, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	int f = file_of(fd);
	if (f < 0)
		return real_pwritev(fd, iov, n, off);
	return journaled_pwritev(fd, iov, n, off, f, 1);
}

static int journaled_sync(int fd, int (*fn)(int))
{
	int f = file_of(fd);
	if (f < 0)
		return fn(fd);
	pthread_mutex_lock(&lock);
	record(J_SYNC_BEGIN, f, 0, NULL, 0, 0, 0);
	pthread_mutex_unlock(&lock);
	int r = fn(fd);
	if (r == 0) {
		pthread_mutex_lock(&lock);
		record(J_SYNC_END, f, 0, NULL, 0, 0, 0);
		pthread_mutex_unlock(&lock);
	}
	return r;
}

int fsync(int fd)
{
	return journaled_sync(fd, real_fsync);
}

int fdatasync(int fd)
{
	return journaled_sync(fd, real_fdatasync);
}

int ftruncate(int fd, off_t len)
{
	int f = file_of(fd);
	if (f < 0)
		return real_ftruncate(fd, len);
	pthread_mutex_lock(&lock);
	capture_all();
	int r = real_ftruncate(fd, len);
	if (r == 0) {
		record_raw(J_TRUNCATE, f, (uint64_t)len, NULL, 0, 0, 0);
		struct mapped *m = &maps[f];
		if (m->addr && (uint64_t)len < m->size) {
			/* Cut pages read back as zeros, as the journal's images have them. */
			if ((size_t)len < m->len)
				memset(m->shadow + len, 0, m->len - (size_t)len);
			if (m->from > (size_t)len / PAGE)
				m->from = (size_t)len / PAGE;
		}
		m->size = (uint64_t)len;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/* mmap and munmap are the system calls themselves: a sanitizer's runtime maps
 * memory before this shim's constructor could have looked up the next ones. */
static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return r == -1 ? MAP_FAILED : (void *)r; /* errno set by syscall() */
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *a = real_mmap(addr, len, prot, flags, fd, off);
	int f = a == MAP_FAILED || off != 0 || !(flags & MAP_SHARED) || !(prot & PROT_WRITE) ? -1
										       : file_of(fd);
	if (f < 0)
		return a;
	struct stat st;
	unsigned char *shadow = calloc(1, len);
	pthread_mutex_lock(&lock);
	if (shadow && fstat(fd, &st) == 0 && !maps[f].addr) {
		maps[f] = (struct mapped){a, len, (uint64_t)st.st_size, 0, shadow};
		size_t end = (uint64_t)st.st_size < len ? (size_t)st.st_size : len;
		memcpy(shadow, a, end); /* what is there now was journaled as written */
		shadow = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(shadow);
	return a;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	pthread_mutex_lock(&lock);
	for (int f = 0; f < 4; f++) {
		if (maps[f].addr != addr)
			continue;
		capture(f);
		free(maps[f].shadow);
		maps[f] = (struct mapped){0};
	}
	pthread_mutex_unlock(&lock);
	return (int)syscall(SYS_munmap, addr, len);
}
