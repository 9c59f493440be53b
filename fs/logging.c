/* logging.c — leveled log lines; the user-facing reason for every refused request.
 *
 * Users choose the names and values that end up in log lines (topic names,
 * keys, config values), so a line is escaped before it leaves: a control byte,
 * a byte over 0x7e or a backslash is written as \xNN, and no one can forge a
 * second line or a terminal sequence in syslog. And users choose how many
 * requests they send: the lines a user's requests cause are rate-limited per
 * uid (a burst, then a few a second); what was dropped is counted and said
 * in that user's next line. Lines outside requests (mount, retention, the
 * store's own) are never dropped. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logging.h"

static int use_syslog;
static bool debug_on;

/* The uid whose request this thread handles, or -1 (see tfs_log_request). */
static _Thread_local int64_t request_uid = -1;

/* Per-uid budget: TFS_LOG_BURST lines at once, TFS_LOG_RATE more a second. */
#define BUCKETS 64
struct bucket {
	int64_t uid; /* -1: unused */
	double tokens;
	int64_t refilled_ns;
	uint64_t dropped;
};
static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[BUCKETS]; /* buckets_lock */
static int buckets_ready;              /* buckets_lock */

void tfs_log_to_syslog(void)
{
	openlog("topicfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void tfs_log_set_debug(bool on)
{
	debug_on = on;
}

bool tfs_log_is_debug(void)
{
	return debug_on;
}

void tfs_log_request(int64_t uid)
{
	request_uid = uid;
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

size_t tfs_log_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (size == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= size)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 4 >= size)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The bucket of uid, taking over the least recently refilled one if all are
 * in use (an attacker cycling uids only gets fresh bursts of uids they own). */
static struct bucket *bucket_of(int64_t uid, int64_t now)
{
	if (!buckets_ready) {
		for (int i = 0; i < BUCKETS; i++)
			buckets[i].uid = -1;
		buckets_ready = 1;
	}
	struct bucket *oldest = &buckets[0];
	for (int i = 0; i < BUCKETS; i++) {
		struct bucket *b = &buckets[i];
		if (b->uid == uid)
			return b;
		if (b->uid == -1 || (oldest->uid != -1 && b->refilled_ns < oldest->refilled_ns))
			oldest = b;
	}
	oldest->uid = uid;
	oldest->tokens = TFS_LOG_BURST;
	oldest->refilled_ns = now;
	oldest->dropped = 0;
	return oldest;
}

/* Whether uid may log a line now (it then takes one of its tokens);
 * *dropped_before is how many it lost since its last line (to be said first). */
static bool is_log_allowed(int64_t uid, uint64_t *dropped_before)
{
	int64_t now = now_ns();
	bool ok = false;
	pthread_mutex_lock(&buckets_lock);
	struct bucket *b = bucket_of(uid, now);
	b->tokens += (double)(now - b->refilled_ns) * TFS_LOG_RATE / 1e9;
	if (b->tokens > TFS_LOG_BURST)
		b->tokens = TFS_LOG_BURST;
	b->refilled_ns = now;
	*dropped_before = 0;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		*dropped_before = b->dropped;
		b->dropped = 0;
		ok = true;
	} else {
		b->dropped++;
	}
	pthread_mutex_unlock(&buckets_lock);
	return ok;
}

static void emit(int level, const char *line)
{
	if (use_syslog)
		syslog(level, "%s", line);
	else /* one fprintf per line so lines from different threads never mix */
		fprintf(stderr, "topicfs: %s: %s\n", level_name(level), line);
}

void tfs_log(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug_on)
		return;
	int64_t uid = request_uid;
	uint64_t dropped = 0;
	if (uid >= 0 && level != LOG_DEBUG && !is_log_allowed(uid, &dropped))
		return;
	if (dropped) {
		char note[128];
		snprintf(note, sizeof note,
			 "%llu more lines caused by uid %lld were not logged (over %d a second)",
			 (unsigned long long)dropped, (long long)uid, TFS_LOG_RATE);
		emit(LOG_WARNING, note);
	}
	char raw[1024], line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	tfs_log_escape(raw, line, sizeof line);
	emit(level, line);
}
