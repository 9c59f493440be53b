/* xattr.h — the user.topicfs.* extended attributes (fs/xattr.c). */
#ifndef TOPICFS_XATTR_H
#define TOPICFS_XATTR_H

#include "tfs.h"

/* The FUSE handlers: each ends in one fuse_reply_*. */
void tfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void tfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void tfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		  size_t size, int flags);
void tfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
