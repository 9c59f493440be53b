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

/* A hole is served from this many zero bytes at most per read: a short read. */
#define HOLE_MAX 65536
static const char zeros[HOLE_MAX];

struct emit_state {
	tfs_logview_emit emit;
	void *arg;
	struct tfs_logview *v;
	uint64_t pos; /* the handle's position read at */
	size_t hole;  /* zero bytes to put first */
};

/* Records where this read ended, then replies. Once the reply is out the
 * reader may close the file, and the handle may be freed: touch it before. */
static int emit_now(struct emit_state *e, const struct iovec *iov, int count)
{
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	pthread_mutex_lock(&e->v->lock);
	e->v->next = e->pos + total;
	pthread_mutex_unlock(&e->v->lock);
	return e->emit(iov, count, e->arg);
}

static int emit_with_hole(const struct iovec *iov, int count, void *arg)
{
	struct emit_state *e = arg;
	struct iovec all[STORE_LOG_IOV_MAX + 1];
	int n = 0;
	if (e->hole) {
		all[n].iov_base = (void *)zeros;
		all[n++].iov_len = e->hole;
	}
	for (int i = 0; i < count; i++)
		all[n++] = iov[i];
	return emit_now(e, all, n);
}

int tfs_logview_read(struct store *s, struct tfs_logview *v, uint64_t pos, size_t size,
		     tfs_logview_emit emit, void *arg)
{
	struct store_partition p;
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

		struct emit_state e = {emit, arg, v, pos, 0};
		if (abs >= p.end_pos || size == 0)
			return emit_now(&e, NULL, 0);
		if (size > p.end_pos - abs)
			size = (size_t)(p.end_pos - abs);
		if (abs < p.start_pos) {
			uint64_t gap = p.start_pos - abs;
			e.hole = gap < size ? (size_t)gap : size;
			if (e.hole > HOLE_MAX)
				e.hole = HOLE_MAX;
		}
		if (e.hole == size || e.hole == HOLE_MAX)
			return emit_with_hole(NULL, 0, &e);
		err = store_log_view(s, v->gpid, abs + e.hole, size - e.hole, emit_with_hole, &e);
		if (err != ERANGE)
			return err;
	}
	return EAGAIN;
}
