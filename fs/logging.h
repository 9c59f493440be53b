/* logging.h — one line per event, to stderr in the foreground, syslog as a daemon. */
#ifndef TOPICFS_LOGGING_H
#define TOPICFS_LOGGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Lines a user's requests may cause: this many at once, then this many a second. */
#define TFS_LOG_BURST 50
#define TFS_LOG_RATE 5

void tfs_log_to_syslog(void);
void tfs_log_set_debug(bool on);
bool tfs_log_is_debug(void);
/* Lines this thread logs from now on are caused by uid's request (rate-limited
 * per uid); -1: by no request (never dropped). Set by the request loop. */
void tfs_log_request(int64_t uid);
/* Copies in to out (size bytes, NUL-terminated, cut if short) with control
 * bytes, bytes over 0x7e and backslashes as \xNN; returns the length. */
size_t tfs_log_escape(const char *in, char *out, size_t size);
/* One line; escaped (see tfs_log_escape) and rate-limited per user inside requests. */
void tfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
