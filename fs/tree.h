/* tree.h — the shape of the mount (fs/tree.c): lookup, attributes, listings, mkdir and rmdir. */
#ifndef TOPICFS_TREE_H
#define TOPICFS_TREE_H

#include "tfs.h"

/* The FUSE handlers: each ends in one fuse_reply_*. */
void tfs_tree_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void tfs_tree_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_tree_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi);
void tfs_tree_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void tfs_tree_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void tfs_tree_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void tfs_tree_statfs(fuse_req_t req, fuse_ino_t ino);

/* Fills *st for a node; 0 or an errno (ENOENT when it no longer exists). */
int tfs_tree_stat(fuse_ino_t ino, struct stat *st);
/* Replies to a LOOKUP, MKDIR or the like with node ino, cached as long as
 * its kind allows (nodes.c), and counts the lookup (pins.c); ENOENT or the
 * stat's errno if it does not exist. */
void tfs_tree_reply_entry(fuse_req_t req, fuse_ino_t ino);

#endif
