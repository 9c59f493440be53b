/* log_reply.c — a read of `log` is answered by splicing its big pieces (big
 * batches: a `cat` into produce makes 1 MiB ones) from the store's file: they
 * go from the page cache to the reader with one copy and are never mapped into
 * the daemon. Mapping them (the store's map, then a writev of it) cost a fault
 * per 4 KiB page and an unmap every 32 MiB to keep the resident size bounded:
 * a third of the time of a `cat log` (bench/PROFILE.md). The pipe holds
 * references to page-cache pages, not copies: the reply is sent whole inside
 * the store's read transaction, so no writer reuses those pages meanwhile.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log_reply.h"
#include "logging.h"
#include "resident.h"

/* Splicing costs a system call per piece: a reply of only smaller pieces
 * (small batches, records appended a few at a time) goes out from the map in
 * one writev(2), their pages shared with the B-tree leaves just read. A reply
 * with a bigger piece is spliced whole: the small pieces around it are the
 * ends of big batches, and mapping them would map their neighbours too (the
 * kernel faults pages around the one touched), which nothing else reads
 * through the map. */
#define SPLICE_PIECE_MIN (64 * 1024)
/* A reply of more pieces is sent from the map: libfuse sizes its pipe by the
 * count of pieces, and one failure to grow it ends splicing for good. */
#define SPLICE_PIECES_MAX 16

static size_t read_max = TFS_STREAM_BLKSIZE;
static int splicing; /* the kernel takes spliced replies */

/* The most an unprivileged process may grow a pipe to; 0 if unknown. */
static long pipe_max_size(void)
{
	long max = 0;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 0;
		fclose(f);
	}
	return max;
}

/* libfuse splices a reply only through a pipe that holds it with a page to
 * spare per piece (fuse_send_data_iov), and copies it through memory
 * otherwise: twice, slower than the map ever was. A daemon without
 * CAP_SYS_RESOURCE cannot grow a pipe past fs/pipe-max-size (1 MiB by
 * default), so its log reads are cut to fit: short reads, which readers of a
 * FUSE file take as they come. */
void tfs_log_reply_init(struct fuse_conn_info *conn)
{
	if (!(conn->capable & FUSE_CAP_SPLICE_WRITE)) {
		tfs_log(LOG_INFO, "the kernel takes no spliced replies: log reads go out from the map");
		return;
	}
	conn->want |= FUSE_CAP_SPLICE_WRITE;
	splicing = 1;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* The reply's header, a hole and the pieces, a page each. */
	size_t spare = page * (SPLICE_PIECES_MAX + 3);
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return;
	int got = fcntl(p[0], F_SETPIPE_SZ, (int)(TFS_STREAM_BLKSIZE + spare));
	if (got < 0 && pipe_max_size() > 0)
		got = fcntl(p[0], F_SETPIPE_SZ, (int)pipe_max_size());
	if (got < 0)
		got = fcntl(p[0], F_GETPIPE_SZ);
	close(p[0]);
	close(p[1]);
	if (got > 0 && (size_t)got < TFS_STREAM_BLKSIZE + spare && (size_t)got > spare + page) {
		read_max = (size_t)got - spare;
		tfs_log(LOG_INFO, "pipes grow to %d bytes here: log reads return up to %zu bytes",
			got, read_max);
	}
}

size_t tfs_log_reply_max(void)
{
	return read_max;
}

/* One writev(2) from the map. */
static void reply_from_map(fuse_req_t req, const struct iovec *iov, int count)
{
	/* A failed send is the kernel's business (the request is gone). */
	fuse_reply_iov(req, iov, count);
	store_count_mapped(tfs.store, store_iov_bytes(iov, count));
}

int tfs_log_reply(const struct iovec *iov, int count, void *arg)
{
	fuse_req_t req = arg;
	int big = 0;
	for (int i = 0; i < count; i++)
		big += iov[i].iov_len >= SPLICE_PIECE_MIN;
	struct fuse_bufvec *bv = NULL;
	if (splicing && big && count <= SPLICE_PIECES_MAX)
		bv = malloc(sizeof *bv + (size_t)count * sizeof bv->buf[0]);
	if (!bv) {
		reply_from_map(req, iov, count);
		return 0;
	}
	*bv = (struct fuse_bufvec){.count = (size_t)count};
	for (int i = 0; i < count; i++) {
		struct fuse_buf *b = &bv->buf[i];
		int fd;
		off_t off;
		*b = (struct fuse_buf){.size = iov[i].iov_len, .mem = iov[i].iov_base};
		if (store_map_file(tfs.store, iov[i].iov_base, iov[i].iov_len, &fd, &off) != 0)
			continue; /* a hole's zeros or a carried record's rest */
		b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		b->fd = fd;
		b->pos = off;
	}
	/* A failed send is the kernel's business (the request is gone). */
	fuse_reply_data(req, bv, 0);
	free(bv);
	return 0;
}
