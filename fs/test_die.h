/* test_die.h — hooks for tests/test_supervise.py that kill a supervised daemon
 * between a commit and its reply: the cases the kept requests are for, which
 * a kill from outside hits only by luck. */
#ifndef TOPICFS_TEST_DIE_H
#define TOPICFS_TEST_DIE_H

#include <stdatomic.h>

/* One hook: env names N; the daemon kills itself (SIGKILL) at the Nth call of
 * tfs_test_die_after. Honoured only under --supervise. */
struct tfs_test_die {
	const char *env;
	atomic_long left; /* -1: env not read yet */
};
#define TFS_TEST_DIE(env) {env, -1}

void tfs_test_die_after(struct tfs_test_die *d);

#endif
