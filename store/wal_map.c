/* wal_map.c — the WAL files written through a shared mapping: an append is a memcpy.
 *
 * A pwrite(2) of a small entry costs ext4 about 1.5 µs here, a memcpy into a
 * MAP_SHARED mapping of the file 0.2 µs, and it is as safe from a kill of the
 * daemon: the bytes are in the page cache either way, and fdatasync(2)
 * writes back the mapping's dirty pages as it does written ones. Each file is
 * kept WAL_MAP_BYTES long (sparse: zeros, which end a scan, store_wal_open)
 * and mapped once; past that, and if mapping fails, appends use pwrite.
 *
 * A sparse page gets its disk block when first written; on a full disk that
 * write raises SIGBUS instead of failing with ENOSPC. Appends take the WAL
 * only while the disk has WAL_ROOM_MIN free, so this is the rare race with
 * another writer filling it: the handler turns it into ENOSPC for that
 * append (the bytes copied so far are overwritten by the next) and the file
 * is written with pwrite from then on. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store_int.h"

#define WAL_MAP_BYTES ((size_t)32 << 20)
#define WAL_DROP_BYTES ((size_t)1 << 20) /* unmapped once written, see store_wal_put */

/* Set while this thread copies into a map; volatile, or the compiler may drop
 * the stores around a memcpy that does not read it. */
static _Thread_local sigjmp_buf *volatile copy_jmp;
static struct sigaction old_bus;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
	if (copy_jmp)
		siglongjmp(*copy_jmp, 1);
	/* Not ours: as the handler before us would have. */
	if (old_bus.sa_flags & SA_SIGINFO) {
		old_bus.sa_sigaction(sig, si, ctx);
	} else if (old_bus.sa_handler != SIG_IGN && old_bus.sa_handler != SIG_DFL) {
		old_bus.sa_handler(sig);
	} else {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static void bus_install(void)
{
	/* SA_NODEFER: siglongjmp leaves the handler without restoring the mask. */
	struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
}

int store_wal_file_reset(struct store *s, int i)
{
	if (ftruncate(s->wal_fd[i], 0))
		return errno;
	if (s->wal_map[i] && ftruncate(s->wal_fd[i], (off_t)WAL_MAP_BYTES)) {
		int rc = errno;
		munmap(s->wal_map[i], WAL_MAP_BYTES);
		s->wal_map[i] = NULL;
		ftruncate(s->wal_fd[i], 0);
		return rc;
	}
	return 0;
}

void store_wal_map(struct store *s, int i)
{
	pthread_once(&bus_once, bus_install);
	if (ftruncate(s->wal_fd[i], (off_t)WAL_MAP_BYTES))
		return;
	void *m = mmap(NULL, WAL_MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, s->wal_fd[i], 0);
	if (m == MAP_FAILED) {
		ftruncate(s->wal_fd[i], 0);
		return;
	}
	s->wal_map[i] = m;
}

void store_wal_unmap(struct store *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->wal_map[i])
			munmap(s->wal_map[i], WAL_MAP_BYTES);
		s->wal_map[i] = NULL;
	}
}

/* Copies into the map; ENOSPC if the page could not get its block. */
static int copy_in(unsigned char *dst, const void *src, size_t len)
{
	static _Thread_local int unblocked;
	if (!unblocked) {
		/* The daemon's threads block signals; a fault's SIGBUS that is
		 * blocked kills the process whatever its handler. */
		sigset_t bus;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		unblocked = 1;
	}
	sigjmp_buf jmp;
	if (sigsetjmp(jmp, 0)) {
		copy_jmp = NULL;
		return ENOSPC;
	}
	copy_jmp = &jmp;
	memcpy(dst, src, len);
	copy_jmp = NULL;
	return 0;
}

int store_wal_put(struct store *s, const void *buf, size_t len, uint64_t off)
{
	int i = s->wal_cur;
	if (s->wal_map[i] && off + len <= WAL_MAP_BYTES) {
		int rc = copy_in(s->wal_map[i] + off, buf, len);
		if (rc == 0 && off / WAL_DROP_BYTES != (off + len) / WAL_DROP_BYTES) {
			/* A stretch is full: its pages leave the daemon's resident
			 * size (they stay in the page cache, dirty until written). */
			size_t done = off / WAL_DROP_BYTES * WAL_DROP_BYTES;
			madvise(s->wal_map[i] + done, WAL_DROP_BYTES, MADV_DONTNEED);
		}
		if (rc == 0)
			return 0;
		store_log(STORE_LOG_WARNING, "%s: the disk is full under the WAL's mapping: "
			  "writing it with pwrite from now on", s->dir);
		munmap(s->wal_map[i], WAL_MAP_BYTES);
		s->wal_map[i] = NULL;
		return rc;
	}
	ssize_t w = pwrite(s->wal_fd[i], buf, len, (off_t)off);
	return w == (ssize_t)len ? 0 : w < 0 ? errno : ENOSPC;
}
