/* ops.c — the daemon's state and the table of FUSE operations, with what INIT asks of the kernel. */
#include "files.h"
#include "log_reply.h"
#include "open_file.h"
#include "pins.h"
#include "tfs.h"
#include "tree.h"
#include "xattr.h"

struct tfs tfs;

#define TFS_MAX_BACKGROUND 65535u

static void on_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Large writes make one transaction carry many records. */
	conn->max_write = TFS_STREAM_BLKSIZE;
	conn->max_readahead = 1024 * 1024;
	/* A listing of a million offsets must not cost a million lookups. */
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* RELEASE is a background request, and the kernel keeps all but
	 * max_background of those (12 by default) queued behind requests made
	 * later: the 13th close's held line would become a record after a read
	 * that came after it. With room for every close in flight, each RELEASE
	 * reaches us before anything asked after its close (see loop.c). The
	 * kernel caps it (65535; for mounts by users, fuse's max_user_bgreq). */
	conn->max_background = TFS_MAX_BACKGROUND;
	tfs_log_reply_init(conn);
}

const struct fuse_lowlevel_ops tfs_ops = {
	.init = on_init,
	.lookup = tfs_tree_lookup,
	.forget = tfs_forget,
	.forget_multi = tfs_forget_multi,
	.getattr = tfs_tree_getattr,
	.setattr = tfs_tree_setattr,
	.readdir = tfs_tree_readdir,
	.mkdir = tfs_tree_mkdir,
	.rmdir = tfs_tree_rmdir,
	.statfs = tfs_tree_statfs,
	.open = tfs_open,
	.create = tfs_create,
	.read = tfs_read,
	.write = tfs_write,
	.flush = tfs_flush,
	.release = tfs_release,
	.fsync = tfs_fsync,
	.fallocate = tfs_fallocate,
	.poll = tfs_poll,
	.getxattr = tfs_getxattr,
	.listxattr = tfs_listxattr,
	.setxattr = tfs_setxattr,
	.removexattr = tfs_removexattr,
};

