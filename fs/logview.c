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
 *
 * A read that stops in the middle of a record keeps a copy of the rest of that
 * record with the handle (the carry). If retention removes the record before
 * the reader reads on, the reader gets the rest from the copy and then skips
 * ahead as above: it never sees a record's head glued to another record.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "logview.h"
#include "resident.h"

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
	free(v->carry);
	free(v);
}

/* Records whose rest is longer than this are not carried: a reader stopped
 * in one can still lose its rest to retention (default max.message.bytes). */
#define CARRY_MAX ((size_t)1 << 20)

/* How far past a read's end to look first for the end of the record it stops in. */
#define CARRY_LOOK_FIRST 512

struct tfs_logview_carry {
	uint64_t pos; /* absolute log position of data[0] */
	size_t len;   /* up to and including the record's '\n' */
	char data[];
};

/* Whether c holds the log byte at absolute position at (v->lock held). */
static bool is_in_carry(const struct tfs_logview_carry *c, uint64_t at)
{
	return c && c->pos <= at && at - c->pos < c->len;
}

struct carry_find {
	struct store *s;
	int boundary;                   /* out: the byte before the position is '\n' */
	struct tfs_logview_carry *carry; /* out: the record's rest, if it was in view */
};

/* Gets the view from one byte before the position: that byte says whether
 * the position starts a record; if not, the record's rest runs to the next
 * '\n', which a record never puts past its own batch: the same piece. The
 * piece is copied with pread, not read through the map: the read it is for
 * sends its data without mapping it (log_reply.c). */
static int carry_find_fn(const struct iovec *iov, int count, void *arg)
{
	struct carry_find *cf = arg;
	if (count == 0 || iov[0].iov_len == 0)
		return 0;
	size_t n = iov[0].iov_len;
	char small[CARRY_LOOK_FIRST + 1], *b = n <= sizeof small ? small : malloc(n);
	if (!b || store_map_copy(cf->s, iov[0].iov_base, b, n) != 0) {
		if (b != small)
			free(b);
		return 0;
	}
	const char *nl = b[0] == '\n' ? NULL : memchr(b + 1, '\n', n - 1);
	cf->boundary = b[0] == '\n';
	if (nl) {
		size_t len = (size_t)(nl - b); /* from b + 1, the '\n' included */
		cf->carry = malloc(sizeof(*cf->carry) + len);
		if (cf->carry) {
			cf->carry->len = len;
			memcpy(cf->carry->data, b + 1, len);
		}
	}
	if (b != small)
		free(b);
	return 0;
}

/* What a read ending at absolute position `at` should leave as v's carry. */
struct carry_next {
	int replace;                     /* else keep v's carry as it is */
	uint64_t at;
	struct tfs_logview_carry *carry; /* the record's rest; NULL: at starts a record */
};

/* Finds the rest of the record a read ending at absolute position at stops in,
 * or that at starts a record. Looks a little ahead first, more only for long
 * records, to keep reads of small records cheap. The read installs it when it
 * replies (emit_now). */
static struct carry_next carry_take(struct store *s, struct tfs_logview *v, uint64_t at)
{
	static const size_t look[] = {CARRY_LOOK_FIRST, 64 << 10, CARRY_MAX};
	struct carry_next next = {0, at, NULL};
	pthread_mutex_lock(&v->lock);
	int known = is_in_carry(v->carry, at) || (v->carry && v->carry->pos + v->carry->len == at);
	pthread_mutex_unlock(&v->lock);
	if (known || at == 0)
		return next;
	struct carry_find cf = {s, 0, NULL};
	for (size_t i = 0; i < sizeof(look) / sizeof(look[0]); i++) {
		if (store_log_view_uncounted(s, v->gpid, at - 1, look[i] + 1, carry_find_fn, &cf) != 0 ||
		    cf.boundary || cf.carry)
			break;
	}
	if (cf.carry)
		cf.carry->pos = at;
	else if (!cf.boundary)
		return next; /* removed already, or too long to carry: keep what we have */
	next.replace = 1;
	next.carry = cf.carry;
	return next;
}

/* A hole is served from this many zero bytes at most per read: a short read. */
#define HOLE_MAX 65536
static const char zeros[HOLE_MAX];

struct emit_state {
	struct store *s;
	tfs_logview_emit emit;
	void *arg;
	struct tfs_logview *v;
	uint64_t pos;            /* the handle's position read at */
	uint64_t abs;            /* the same, as an absolute log position */
	size_t hole;             /* zero bytes to put first */
	size_t want;             /* log bytes asked of the view, after the hole */
	struct carry_next carry; /* for where the read was asked to end */
	char *gathered;          /* see gather_small */
	size_t gathered_len;
};

/* Records where this read ended, then replies. Once the reply is out the
 * reader may close the file, and the handle may be freed: touch it before.
 * The carry found before the read replaces v's only now that the read has
 * ended where it was taken: a read that retention makes retry (or that stops
 * short) may still need the carry it would replace, for where it starts. */
static int emit_now(struct emit_state *e, const struct iovec *iov, int count)
{
	size_t total = store_iov_bytes(iov, count);
	struct tfs_logview_carry *old = NULL;
	pthread_mutex_lock(&e->v->lock);
	e->v->next = e->pos + total;
	if (e->carry.replace && e->abs + total == e->carry.at) {
		old = e->v->carry;
		e->v->carry = e->carry.carry;
		e->carry.carry = NULL;
	}
	pthread_mutex_unlock(&e->v->lock);
	free(old);
	return e->emit(iov, count, e->arg);
}

/* A view stops at STORE_LOG_IOV_MAX pieces, a piece per batch: a log of
 * small batches (records written one at a time, a few to a batch) would come
 * back a few hundred bytes per piece and some 100 KB per read. A view the
 * piece limit cut short of what was asked is copied into one buffer instead,
 * which the read fills on (store_log_read) up to what was asked. The copy
 * reads the pieces through the map: counted, as the view asks. */
static bool gathered_small(struct emit_state *e, const struct iovec *iov, int count)
{
	if (count < STORE_LOG_IOV_MAX || store_iov_bytes(iov, count) >= e->want ||
	    !(e->gathered = malloc(e->want)))
		return false;
	for (int i = 0; i < count; i++) {
		memcpy(e->gathered + e->gathered_len, iov[i].iov_base, iov[i].iov_len);
		e->gathered_len += iov[i].iov_len;
	}
	store_count_mapped(e->s, e->gathered_len);
	return true;
}

static int emit_with_hole(const struct iovec *iov, int count, void *arg)
{
	struct emit_state *e = arg;
	if (!e->gathered && gathered_small(e, iov, count))
		return 0;
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
		uint64_t at = pos + v->shift;
		if (onward && at < p.start_pos && size && is_in_carry(v->carry, at)) {
			/* Retention removed the record this reader is in the middle
			 * of: finish it from the copy; the next read skips ahead. */
			struct tfs_logview_carry *c = v->carry;
			size_t n = c->len - (size_t)(at - c->pos);
			if (n > size)
				n = size;
			struct iovec one = {malloc(n), n};
			if (one.iov_base)
				memcpy(one.iov_base, c->data + (at - c->pos), n);
			pthread_mutex_unlock(&v->lock);
			if (!one.iov_base)
				return ENOMEM;
			struct emit_state e = {.s = s, .emit = emit, .arg = arg, .v = v, .pos = pos};
			err = emit_now(&e, &one, 1);
			free(one.iov_base);
			return err;
		}
		if (pos == 0 || !v->based || (onward && at < p.start_pos)) {
			v->shift = pos < p.start_pos ? p.start_pos - pos : 0;
			v->based = 1;
		}
		uint64_t abs = pos + v->shift;
		pthread_mutex_unlock(&v->lock);

		struct emit_state e = {
			.s = s, .emit = emit, .arg = arg, .v = v, .pos = pos, .abs = abs};
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
		/* Before the reply, which may end the handle's life. */
		if (abs + size < p.end_pos)
			e.carry = carry_take(s, v, abs + size);
		e.want = size - e.hole;
		err = store_log_view_uncounted(s, v->gpid, abs + e.hole, e.want, emit_with_hole, &e);
		if (!err && e.gathered) {
			/* Read through the map (counted): small batches share pages. */
			size_t more = 0;
			uint64_t at = abs + e.hole + e.gathered_len;
			if (store_log_read(s, v->gpid, at, e.gathered + e.gathered_len,
					   e.want - e.gathered_len, &more) != 0)
				more = 0; /* a short read; what was gathered stands */
			struct iovec one = {e.gathered, e.gathered_len + more};
			err = emit_with_hole(&one, 1, &e);
		}
		free(e.gathered);
		free(e.carry.carry); /* not installed */
		if (err != ERANGE)
			return err;
	}
	return EAGAIN;
}

int tfs_logview_ready(struct store *s, struct tfs_logview *v, bool *ready)
{
	struct store_partition p;
	int err = store_partition_get(s, v->gpid, &p);
	if (err)
		return err;
	pthread_mutex_lock(&v->lock);
	*ready = v->based ? v->next + v->shift < p.end_pos : p.start_pos < p.end_pos;
	pthread_mutex_unlock(&v->lock);
	return 0;
}
