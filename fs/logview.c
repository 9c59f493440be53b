/* logview.c — the `log` file: records joined by '\n' at byte positions that are
 * fixed for the life of the partition, so `tail -f` never sees it shrink.
 *
 * The file's size is the absolute end position. Retention removes a prefix;
 * to let `cat log` still print exactly the retained records, each open handle
 * gets a shift, decided at its first read (or any read at position 0):
 *   - a read at 0 starts at the first retained byte (cat, grep, wc -l, head);
 *   - a first read at p below the retained start maps p to that start;
 *   - otherwise positions are absolute (tail -f resuming, tail -c, seeks).
 * A reader reading on from where it stopped, whose next records retention has
 * removed (a follower that fell behind), skips ahead to the retained start, as
 * a Kafka consumer resets to the earliest offset. Any other read below the
 * retained start reads NUL bytes, like a punched hole: they hold no newline,
 * so `tail -n` reading backwards runs on to position 0, where the handle
 * rebases and prints the retained records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logview.h"

struct tfs_logview *tfs_logview_new(uint32_t gpid)
{
	struct tfs_logview *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	pthread_mutex_init(&v->lock, NULL);
	v->gpid = gpid;
	return v;
}

void tfs_logview_free(struct tfs_logview *v)
{
	if (!v)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

int tfs_logview_read(struct store *s, struct tfs_logview *v, uint64_t pos, char *buf,
		     size_t size, size_t *got)
{
	struct store_partition p;
	*got = 0;
	/* Retention may advance the start between our look and our read: retry. */
	for (int attempt = 0; attempt < 8; attempt++) {
		int err = store_partition_get(s, v->gpid, &p);
		if (err)
			return err;
		pthread_mutex_lock(&v->lock);
		int onward = v->based && pos == v->next;
		if (pos == 0 || !v->based || (onward && pos + v->shift < p.start_pos)) {
			v->shift = pos < p.start_pos ? p.start_pos - pos : 0;
			v->based = 1;
		}
		uint64_t abs = pos + v->shift;
		pthread_mutex_unlock(&v->lock);

		if (abs >= p.end_pos || size == 0)
			return 0;
		if (size > p.end_pos - abs)
			size = (size_t)(p.end_pos - abs);
		size_t hole = 0;
		if (abs < p.start_pos) {
			hole = p.start_pos - abs < size ? (size_t)(p.start_pos - abs) : size;
			memset(buf, 0, hole);
		}
		size_t n = 0;
		err = hole < size ? store_log_read(s, v->gpid, abs + hole, buf + hole, size - hole, &n)
				  : 0;
		if (err == ERANGE)
			continue;
		if (err)
			return err;
		*got = hole + n;
		pthread_mutex_lock(&v->lock);
		v->next = pos + *got;
		pthread_mutex_unlock(&v->lock);
		return 0;
	}
	return EAGAIN;
}
