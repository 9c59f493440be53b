/* open_file.h — what fi->fh names for the tree's files (fs/open_file.c), shared by fs/files.c. */
#ifndef TOPICFS_OPEN_FILE_H
#define TOPICFS_OPEN_FILE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "handles.h"
#include "inode.h"
#include "logview.h"
#include "produce.h"
#include "tfs.h"

/* What fi->fh names for produce, keys/<key>, log, start, end and config/<name>. */
struct tfs_open_file {
	struct tfs_handle_link link; /* first: the registry hands links back */
	uint64_t fh;                 /* its handle (fhtable.c) */
	uint32_t topic_id;
	struct tfs_producer *producer; /* produce, keys/<key>, partition-<N>/produce */
	struct tfs_logview *view;      /* log */
	/* start, end, config/<name>: the text a read at offset 0 made. Reads
	 * further on are served from it, as sysfs does, so a value that changes
	 * between the two read()s of a `cat` never reaches it torn. */
	pthread_mutex_t text_lock;
	int has_text;
	size_t text_len;
	char text[64];
};

/* The open file of fi if this daemon made it (or revived it), else NULL. */
struct tfs_open_file *tfs_file_live(struct fuse_file_info *fi);
/* The open file of fi: this daemon's, or one a daemon that died gave out
 * (--supervise), made again from its handle slot. NULL if fi names none,
 * or without memory. */
struct tfs_open_file *tfs_file_of(struct fuse_file_info *fi);
/* Saves what of f's log view must outlive the daemon in its handle slot. */
void tfs_file_save_view(struct tfs_open_file *f);
/* Makes the open file of fi (its handle in fi->fh, direct_io) for a node
 * of kind with id (a topic, or a partition's gpid); topic_id: its topic, 0
 * for log. text: start, end, config/<name>, mirrored; else p or v is the
 * producer or log view, owned from here on. 0 or an errno (ENFILE: every
 * handle slot is taken; logged). */
int tfs_file_open(struct fuse_file_info *fi, enum tfs_kind kind, uint32_t id,
		  uint32_t topic_id, int text, struct tfs_producer *p, struct tfs_logview *v,
		  const char *key, size_t key_len);
/* Opens produce, partition-<N>/produce or (key not NULL) keys/<key> for fi.
 * 0 or an errno. */
int tfs_open_producer(struct fuse_file_info *fi, const struct tfs_node *n, const char *key);
/* With framing=writes, the longest write() taken as one record. */
size_t tfs_write_record_max(void);
/* The last close of f: a held partial line becomes a record (a failure is
 * logged), and f and its handle are freed. */
void tfs_file_close(struct tfs_open_file *f);
/* Closes every file still open, committing held partial lines (at stop). */
void tfs_files_close_all(void);

#endif
