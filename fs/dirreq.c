/* dirreq.c — a mkdir or rmdir the kernel resends after the daemon died is answered, not done again.
 *
 * Under --supervise a daemon may die after committing a mkdir or rmdir and
 * before replying; the kernel resends the request to the next daemon, which
 * would find the name taken (EEXIST) or gone (ENOENT) and report a failure
 * for what took effect. So the request's unique id is kept with the create or
 * delete, in its transaction (store/requests.c), and a resent one that finds
 * it there answers success: a mkdir with the entry it made. */
#include <string.h>

#include "dirreq.h"
#include "logging.h"
#include "loop.h"
#include "test_die.h"
#include "tfs.h"

uint64_t tfs_dirreq_unique(void)
{
	return tfs.opt.supervise ? tfs_loop_request_unique() & ~TFS_UNIQUE_RESEND : 0;
}

static const char *describe(enum store_dir_op op)
{
	switch (op) {
	case STORE_DIR_TOPIC_CREATE:
		return "mkdir ";
	case STORE_DIR_TOPIC_DELETE:
		return "rmdir ";
	case STORE_DIR_GROUP_CREATE:
		return "mkdir consumers/";
	case STORE_DIR_GROUP_DELETE:
		return "rmdir consumers/";
	}
	return "?";
}

bool tfs_dirreq_is_done(enum store_dir_op op, const char *name, uint32_t *id)
{
	uint64_t unique = tfs_loop_request_unique();
	bool is_done = false;
	if (!tfs.opt.supervise || !(unique & TFS_UNIQUE_RESEND))
		return false;
	int err = store_dir_request_get(tfs.store, unique & ~TFS_UNIQUE_RESEND, op, &is_done, id);
	if (err) {
		/* Done again: at worst EEXIST or ENOENT, as without the kept id. */
		tfs_log(LOG_WARNING, "%s'%.300s' resent after the daemon died: cannot tell whether it "
			"was done: %s; doing it", describe(op), name, strerror(err));
		return false;
	}
	if (is_done)
		tfs_log(LOG_INFO, "%s'%.300s' resent after the daemon died: it was done before, "
			"not done again", describe(op), name);
	return is_done;
}

/* For tests/test_supervise.py (test_die.h): the daemon dies after its Nth
 * committed mkdir or rmdir, before the reply. */
static struct tfs_test_die die_after_mkdir = TFS_TEST_DIE("TOPICFS_TEST_DIE_AFTER_MKDIRS");

void tfs_dirreq_committed(void)
{
	tfs_test_die_after(&die_after_mkdir);
}
