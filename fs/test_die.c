/* test_die.c — the test hooks that kill a supervised daemon between a commit and its reply. */
#include <signal.h>
#include <stdlib.h>

#include "test_die.h"
#include "tfs.h"

void tfs_test_die_after(struct tfs_test_die *d)
{
	long l = atomic_load(&d->left);
	if (l == -1) {
		const char *env = tfs.opt.supervise ? getenv(d->env) : NULL;
		long want = env ? strtol(env, NULL, 10) : 0;
		long none = -1;
		atomic_compare_exchange_strong(&d->left, &none, want > 0 ? want : 0);
		l = atomic_load(&d->left);
	}
	if (l > 0 && atomic_fetch_sub(&d->left, 1) == 1)
		raise(SIGKILL);
}
