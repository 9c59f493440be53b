/* logging.h — one line per event, to stderr in the foreground, syslog as a daemon. */
#ifndef TOPICFS_LOGGING_H
#define TOPICFS_LOGGING_H

#include <syslog.h>

void tfs_log_to_syslog(void);
void tfs_log_set_debug(int on);
int tfs_log_debug_enabled(void);
void tfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
