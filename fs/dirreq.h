/* dirreq.h — a mkdir or rmdir the kernel resends after the daemon died is answered, not done again (fs/dirreq.c). */
#ifndef TOPICFS_DIRREQ_H
#define TOPICFS_DIRREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* The id to keep with what this thread's MKDIR or RMDIR commits (the _req
 * calls of store.h): its unique id under --supervise, else 0 (none kept). */
uint64_t tfs_dirreq_unique(void);
/* Whether this thread's request is a MKDIR or RMDIR the kernel resent after
 * the daemon died whose op (on `name`) the dead daemon committed; then *id is
 * the topic or group it made or removed, and it is logged. */
bool tfs_dirreq_is_done(enum store_dir_op op, const char *name, uint32_t *id);
/* Called once a mkdir or rmdir is committed, before its reply: the test
 * hook TOPICFS_TEST_DIE_AFTER_MKDIRS (see fs/dirreq.c). */
void tfs_dirreq_committed(void);

#endif
