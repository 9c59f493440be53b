/* files.h — the FUSE handlers of the tree's files (fs/files.c): open, read, write, close. */
#ifndef TOPICFS_FILES_H
#define TOPICFS_FILES_H

#include "tfs.h"

/* Each ends in one fuse_reply_*. The files of consumer groups are handed
 * to groups.h. */
void tfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		struct fuse_file_info *fi);
void tfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void tfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi);
void tfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* poll(2): a log handle at its end waits for its topic's next append. */
void tfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct fuse_pollhandle *ph);
void tfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void tfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		   struct fuse_file_info *fi);

#endif
