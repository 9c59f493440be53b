/* log.c — where the store's messages go: a hook the daemon sets, stderr until then. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "store_int.h"

static _Atomic(store_log_hook_fn) hook;

void store_set_log_hook(store_log_hook_fn fn)
{
	atomic_store(&hook, fn);
}

static const char *level_name(int level)
{
	switch (level) {
	case STORE_LOG_ERR: return "error";
	case STORE_LOG_WARNING: return "warning";
	default: return "info";
	}
}

void store_log(int level, const char *fmt, ...)
{
	/* One line, formatted whole, so a hook or stderr never gets pieces. */
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	store_log_hook_fn fn = atomic_load(&hook);
	if (fn)
		fn(level, msg);
	else /* one write(2) a line: lines of different threads never mix */
		dprintf(STDERR_FILENO, "store: %s: %s\n", level_name(level), msg);
}
