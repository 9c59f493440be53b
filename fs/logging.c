/* logging.c — leveled log lines; the user-facing reason for every refused request. */
#include <stdarg.h>
#include <stdio.h>

#include "logging.h"

static int use_syslog;
static int debug_on;

void tfs_log_to_syslog(void)
{
	openlog("topicfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void tfs_log_set_debug(int on)
{
	debug_on = on;
}

int tfs_log_debug_enabled(void)
{
	return debug_on;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_INFO: return "info";
	case LOG_DEBUG: return "debug";
	default: return "notice";
	}
}

void tfs_log(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		/* One fprintf per line so lines from different threads never mix. */
		char line[1024];
		vsnprintf(line, sizeof line, fmt, ap);
		fprintf(stderr, "topicfs: %s: %s\n", level_name(level), line);
	}
	va_end(ap);
}
