/* xattr.c — a record's key, timestamp and offset as user.topicfs.* attributes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "logging.h"
#include "mirrored.h"
#include "tfs.h"
#include "tree.h"
#include "xattr.h"

#define XA_KEY "user.topicfs.key"
#define XA_TIMESTAMP "user.topicfs.timestamp"
#define XA_OFFSET "user.topicfs.offset"

struct xattr_value {
	const char *name; /* NULL: list all names */
	char *buf;        /* malloc'd result */
	size_t len;
};

static int collect(const struct store_record *r, void *arg)
{
	struct xattr_value *x = arg;
	char num[32];
	const void *src = num;
	size_t len;

	if (!x->name) {
		/* The key attribute exists only for records that have a key. */
		static const char keyed[] = XA_KEY "\0" XA_TIMESTAMP "\0" XA_OFFSET "";
		static const char plain[] = XA_TIMESTAMP "\0" XA_OFFSET "";
		src = r->key ? keyed : plain;
		len = r->key ? sizeof keyed : sizeof plain;
	} else if (strcmp(x->name, XA_KEY) == 0) {
		if (!r->key)
			return ENODATA;
		src = r->key;
		len = r->key_len;
	} else if (strcmp(x->name, XA_TIMESTAMP) == 0) {
		len = (size_t)snprintf(num, sizeof num, "%" PRId64, r->timestamp_ms);
	} else if (strcmp(x->name, XA_OFFSET) == 0) {
		len = (size_t)snprintf(num, sizeof num, "%" PRIu64, r->offset);
	} else {
		return ENODATA;
	}
	x->buf = malloc(len ? len : 1);
	if (!x->buf)
		return ENOMEM;
	memcpy(x->buf, src, len);
	x->len = len;
	return 0;
}

/* Runs collect on the record behind ino; ENODATA for nodes that are not records. */
static int record_xattr(fuse_ino_t ino, struct xattr_value *x)
{
	struct tfs_node n;
	struct store_partition p;
	if (tfs_ino_parse(ino, &n))
		return ENOENT;
	if (n.kind == TFS_MIRRORED)
		return tfs_mirrored_xattr(n.id, x->name, &x->buf, &x->len);
	if (n.kind != TFS_OFFSET) {
		struct stat st;
		int err = tfs_tree_stat(ino, &st);
		return err ? err : x->name ? ENODATA : 0;
	}
	int err = store_partition_get(tfs.store, n.id, &p);
	if (err)
		return err;
	return store_record_view(tfs.store, n.id, tfs_offset_widen(n.offset, p.end_offset), collect,
				 x);
}

static void reply_value(fuse_req_t req, int err, const struct xattr_value *x, size_t size)
{
	if (err)
		fuse_reply_err(req, err);
	else if (size == 0)
		fuse_reply_xattr(req, x->len);
	else if (size < x->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, x->buf, x->len);
}

void tfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct xattr_value x = {name, NULL, 0};
	int err = record_xattr(ino, &x);
	reply_value(req, err, &x, size);
	free(x.buf);
}

void tfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xattr_value x = {NULL, NULL, 0};
	int err = record_xattr(ino, &x);
	reply_value(req, err, &x, size);
	free(x.buf);
}

void tfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		  size_t size, int flags)
{
	(void)value;
	(void)size;
	(void)flags;
	tfs_log(LOG_INFO, "setxattr %s on inode %#" PRIx64 " refused: records are immutable (EACCES)",
		name, (uint64_t)ino);
	fuse_reply_err(req, EACCES);
}

void tfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	tfs_log(LOG_INFO, "removexattr %s on inode %#" PRIx64 " refused (EACCES)", name,
		(uint64_t)ino);
	fuse_reply_err(req, EACCES);
}
