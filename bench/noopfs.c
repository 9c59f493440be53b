/* noopfs.c — a FUSE filesystem that does nothing, the benchmark's floor: "f"
 * takes writes and drops them (small appends); the name "rt" is never cached,
 * so each stat(2) of it is one round trip (a LOOKUP); each "r<n>" is a file
 * of its own (a new inode, as offset-<n> is) holding RECORD_LEN bytes, pushed
 * into the page cache at open as topicfs pushes a record: opening, reading and
 * closing one costs what a random read costs before topicfs does any work.
 * It uses libfuse's own multithreaded loop, as a FUSE filesystem does by
 * default, or with --topicfs-loop first, topicfs's (fs/loop.c, as topicfs
 * runs it by default).
 * Usage: noopfs [--topicfs-loop] [-s] [-f] MOUNTPOINT (libfuse's options). */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

#define ROOT 1
#define FILE_INO 2
#define RT_INO 3
#define FIRST_R_INO 16 /* "r<n>" is inode FIRST_R_INO + n */
#define RECORD_LEN 99  /* the benchmark's records: 100-byte lines */

static struct fuse_session *session;
static char record[RECORD_LEN];

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = ino == ROOT ? S_IFDIR | 0755 : S_IFREG | 0666;
	st->st_nlink = ino == ROOT ? 2 : 1;
	st->st_size = ino >= FIRST_R_INO ? RECORD_LEN : 0;
}

/* "r<n>" -> its inode, 0 for any other name. */
static fuse_ino_t r_ino(const char *name)
{
	char *end;
	if (name[0] != 'r' || name[1] < '0' || name[1] > '9')
		return 0;
	unsigned long long n = strtoull(name + 1, &end, 10);
	return *end || n > (1ULL << 40) ? 0 : FIRST_R_INO + n;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rt = parent == ROOT && strcmp(name, "rt") == 0;
	fuse_ino_t r = parent == ROOT ? r_ino(name) : 0;
	if (!rt && !r && (parent != ROOT || strcmp(name, "f") != 0)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof e);
	e.ino = r ? r : rt ? RT_INO : FILE_INO;
	e.attr_timeout = 1e6;
	e.entry_timeout = rt ? 0 : 1e6;
	stat_of(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, 1e6);
}

/* `>>` opens with O_APPEND and no O_TRUNC; a truncating open ends here too. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)attr;
	(void)to_set;
	op_getattr(req, ino, fi);
}

/* As topicfs opens produce: no page cache, no FLUSH round trip at close; and
 * as it opens offset-<n>: the record pushed into the page cache. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino >= FIRST_R_INO) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(RECORD_LEN);
		bv.buf[0].mem = record;
		fuse_lowlevel_notify_store(session, ino, 0, &bv, 0);
		fi->keep_cache = 1;
	} else {
		fi->direct_io = 1;
	}
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

/* Only when a push did not land. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)fi;
	size_t len = ino >= FIRST_R_INO ? RECORD_LEN : 0;
	size_t at = off < (off_t)len ? (size_t)off : len;
	fuse_reply_buf(req, record + at, len - at < size ? len - at : size);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)off;
	(void)fi;
	fuse_reply_write(req, size);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
};

int main(int argc, char *argv[])
{
	int topicfs_loop = argc > 1 && strcmp(argv[1], "--topicfs-loop") == 0;
	if (topicfs_loop) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o;
	struct fuse_session *se;
	int rc = 1;
	memset(record, 'x', sizeof record);
	if (fuse_parse_cmdline(&args, &o) != 0 || !o.mountpoint)
		return 1;
	se = session = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (se && fuse_session_mount(se, o.mountpoint) == 0) {
		fuse_daemonize(o.foreground);
		if (topicfs_loop)
			rc = tfs_loop_run(se, TFS_WORKERS, TFS_SPIN_US_DEFAULT);
		else
			rc = o.singlethread ? fuse_session_loop(se) : fuse_session_loop_mt(se, NULL);
		fuse_session_unmount(se);
	}
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc != 0;
}
