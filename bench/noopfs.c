/* noopfs.c — a FUSE filesystem that does nothing, the benchmark's floor: "f"
 * takes writes and drops them (small appends); the name "rt" is never cached,
 * so each stat(2) of it is one round trip (a LOOKUP). It uses libfuse's own
 * multithreaded loop, as a FUSE filesystem does by default.
 * Usage: noopfs [-s] [-f] MOUNTPOINT (libfuse's options). */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <string.h>

#define ROOT 1
#define FILE_INO 2
#define RT_INO 3

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = ino == ROOT ? S_IFDIR | 0755 : S_IFREG | 0666;
	st->st_nlink = ino == ROOT ? 2 : 1;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rt = parent == ROOT && strcmp(name, "rt") == 0;
	if (!rt && (parent != ROOT || strcmp(name, "f") != 0)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof e);
	e.ino = rt ? RT_INO : FILE_INO;
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

/* As topicfs opens produce: no page cache, no FLUSH round trip at close. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->direct_io = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
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
	.write = op_write,
	.release = op_release,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o;
	struct fuse_session *se;
	int rc = 1;
	if (fuse_parse_cmdline(&args, &o) != 0 || !o.mountpoint)
		return 1;
	se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (se && fuse_session_mount(se, o.mountpoint) == 0) {
		fuse_daemonize(o.foreground);
		rc = o.singlethread ? fuse_session_loop(se) : fuse_session_loop_mt(se, NULL);
		fuse_session_unmount(se);
	}
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc != 0;
}
