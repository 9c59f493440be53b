/* fhtable.h — file handles (fi->fh) that name the same open file to the next daemon. */
#ifndef TOPICFS_FHTABLE_H
#define TOPICFS_FHTABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "inode.h"

/* Open files the mount can have at once; one more open fails with ENFILE. */
#define TFS_FH_SLOTS (1u << 16)
#define TFS_FH_KEY_MAX 255 /* a key file's name: a file name */

/* What an open file is, kept where a daemon's death does not lose it. */
struct tfs_fh_slot {
	_Atomic uint32_t serial; /* 0: free; else the serial of the handle in it */
	uint32_t kind;           /* enum tfs_kind */
	uint32_t id;             /* topic id, or gpid for log */
	uint32_t key_len;        /* keys/<key> */
	uint32_t framing;        /* producers: the framing they were opened with */
	/* log: the view's decided shift and read position (logview.h), saved
	 * after each read; based is written last. */
	uint64_t shift;
	uint64_t next;
	_Atomic uint32_t based;
	/* log: the kernel's poll handle of a poll(2) waiting for records, so
	 * the next daemon can wake it (0: none). */
	_Atomic uint64_t poll_kh;
	/* consume, follow: the record a read took whole and handed out only in
	 * part (gpid, offset; its bytes are re-read from the store), how long it
	 * is with its '\n' and how much of it the reader got (rest_len 0:
	 * none). rest_unique is the read that last moved rest_off, from
	 * rest_prev, so that read resent gets the same bytes. rest_off is
	 * written last, rest_len after the others. */
	uint32_t rest_gpid;
	uint64_t rest_offset;
	uint64_t rest_prev;
	_Atomic uint64_t rest_unique;
	_Atomic uint64_t rest_len;
	_Atomic uint64_t rest_off;
	char key[TFS_FH_KEY_MAX];
};

/* Maps the table, shared with the daemons forked later (shared != 0: the
 * supervisor) or private; does nothing if mapped already. 0 or an errno. */
int tfs_fh_table_init(int shared);
/* A new handle for an open file of kind for id (key for keys/<key>): 0, or
 * ENFILE (the table is full), ENAMETOOLONG (key). */
int tfs_fh_alloc(enum tfs_kind kind, uint32_t id, const char *key, size_t key_len,
		 uint64_t *fh);
/* The slot fh was given out with, by this daemon or one before it; NULL if
 * fh is no handle in use. */
struct tfs_fh_slot *tfs_fh_slot(uint64_t fh);
/* Which slot fh is in (below TFS_FH_SLOTS for a valid fh). */
uint32_t tfs_fh_index(uint64_t fh);
void tfs_fh_free(uint64_t fh);
/* Calls fn for every slot in use. */
void tfs_fh_each(void (*fn)(struct tfs_fh_slot *slot, void *arg), void *arg);

#endif
