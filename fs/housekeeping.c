/* housekeeping.c — syncs once a second (sync=interval) and runs retention every
 * retention.check.interval.ms, on a thread of its own so no request waits. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "groups.h"
#include "housekeeping.h"
#include "logging.h"
#include "resident.h"
#include "tfs.h"

/* Above this many bytes of the store's file mapped, unmap them (store_unmap_pages). */
#define RESIDENT_FILE_MAX ((uint64_t)32 << 20)

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stopping; /* guarded by lock */
static int running;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* File-backed pages resident in this process, from /proc/self/statm
 * ("shared"): the store's map and a few MiB of libraries; 0 if unknown. */
static uint64_t file_pages(void)
{
	unsigned long long size, resident, shared = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu %llu", &size, &resident, &shared) != 3)
		shared = 0;
	fclose(f);
	return shared;
}

static void *loop(void *arg)
{
	(void)arg;
	int64_t interval = tfs.opt.retention_check_ms;
	int64_t tick = interval < 1000 ? interval : 1000;
	int64_t next_retention = mono_ms() + interval;

	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += tick / 1000;
		until.tv_nsec += (tick % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&wake, &lock, &until);
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);

		int err;
		if ((err = store_sync(tfs.store)) != 0)
			tfs_log(LOG_ERR, "periodic sync failed: %s", strerror(err));
		/* Offset reads, listings and retention touch map pages too; log
		 * reads unmap theirs by themselves. */
		if (file_pages() * (uint64_t)sysconf(_SC_PAGESIZE) > RESIDENT_FILE_MAX)
			store_unmap_pages(tfs.store);
		if (mono_ms() >= next_retention) {
			uint64_t deleted = 0;
			err = store_retention_run(tfs.store, store_now_ms(), &deleted);
			if (err)
				tfs_log(LOG_ERR, "retention failed: %s", strerror(err));
			else if (deleted)
				tfs_log(LOG_DEBUG, "retention deleted %llu record(s)",
					(unsigned long long)deleted);
			if (!err && deleted)
				tfs_groups_catch_up();
			next_retention = mono_ms() + interval;
		}
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int tfs_housekeeping_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	int err = pthread_create(&thread, NULL, loop, NULL);
	running = err == 0;
	return err;
}

void tfs_housekeeping_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = 0;
}
