/* wal_fold.c — folding the WAL's queue into LMDB: the group commit, and the thread that runs it.
 *
 * See wal.c for the whole design. The fold thread commits what is queued,
 * then pauses WAL_FOLD_PAUSE_NS so that appends gather; any other use of the
 * store folds first (store_wal_fold), so the pause delays no reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wal_int.h"

/* Each commit costs the fold thread its B-tree pages and a meta page: at 1 ms
 * it took a fifth of the daemon's CPU under eight writers, at 5 ms far less;
 * readers fold for themselves, so no one waits for it. */
#define WAL_FOLD_PAUSE_NS (5 * 1000 * 1000)

int store_wal_meta_lsn(struct store *s, MDB_txn *txn, uint64_t *lsn)
{
	MDB_val k = {7, "wal_lsn"}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	*lsn = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && d.mv_size == sizeof(*lsn))
		memcpy(lsn, d.mv_data, sizeof(*lsn));
	return rc;
}

/* The records of a run of entries, gathered for one append. */
struct fold_recs {
	struct store_record_in *recs;
	size_t n, cap;
};

/* Adds entry e's records to r. EIO: a malformed entry (its checksum held: a
 * bug, not a torn write). */
static int entry_records(const struct wal_entry *e, struct fold_recs *r)
{
	struct wal_head h;
	memcpy(&h, e->disk, sizeof(h));
	if (r->n + h.n > r->cap) {
		size_t cap = r->cap ? r->cap : 64;
		while (cap < r->n + h.n)
			cap *= 2;
		struct store_record_in *p = realloc(r->recs, cap * sizeof(*p));
		if (!p)
			return ENOMEM;
		r->recs = p;
		r->cap = cap;
	}
	struct store_request req;
	const unsigned char *p = e->disk + sizeof(h), *end = p + h.len;
	if (entry_request(e, &req))
		p += WAL_REQUEST_BYTES;
	for (uint32_t i = 0; i < h.n; i++) {
		uint32_t kl, vl;
		if (end - p < 8)
			return EIO;
		memcpy(&kl, p, 4);
		memcpy(&vl, p + 4, 4);
		p += 8;
		size_t klen = kl == WAL_NO_KEY ? 0 : kl;
		if ((size_t)(end - p) < klen || (size_t)(end - p) - klen < vl)
			return EIO;
		r->recs[r->n++] = (struct store_record_in){kl == WAL_NO_KEY ? NULL : p, klen, p + klen, vl};
		p += klen + vl;
	}
	return 0;
}

/* Entries that go to the same place in the same millisecond fold as one
 * append: one batch instead of one per write() (a batch has one timestamp),
 * routed exactly as one after the other would be. */
static int same_append(const struct wal_head *a, const struct wal_head *b)
{
	return a->topic_id == b->topic_id && a->part == b->part && a->ts_ms == b->ts_ms;
}

/* Appends the run of entries from e up to (not including) *next inside txn,
 * its events added to out, the requests they carry kept. */
static int fold_run(struct store *s, MDB_txn *txn, const struct wal_entry *e,
		    const struct wal_entry **next, struct fold_recs *r, struct store_events *out)
{
	const struct wal_head *h = head_of(e);
	const struct wal_entry *x;
	int rc = 0;
	struct store_request req;
	r->n = 0;
	for (x = e; x && rc == 0 && same_append(h, head_of(x)); x = x->next)
		rc = entry_records(x, r);
	*next = x;
	if (rc == 0)
		rc = store_append_in_txn(s, txn, h->topic_id,
					 h->part == WAL_ROUTED ? -1 : (int64_t)h->part, r->recs, r->n,
					 h->ts_ms, out);
	if (rc == MDB_NOTFOUND || rc == EMSGSIZE) {
		/* Its topic was deleted after the writes were checked: the records
		 * went with it. */
		rc = 0;
	}
	for (x = e; x != *next && rc == 0; x = x->next)
		if (entry_request(x, &req))
			rc = store_request_put(s, txn, &req);
	return rc;
}

struct fold_args {
	struct wal_entry *list;
	struct store_events events; /* announced once committed */
};

static int fold_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct fold_args *a = arg;
	struct fold_recs r = {0};
	uint64_t last = 0;
	int rc = 0;
	a->events.n = 0; /* the txn may run again after the map grew */
	for (const struct wal_entry *e = a->list, *next; e && rc == 0; e = next) {
		rc = fold_run(s, txn, e, &next, &r, &a->events);
		for (; e != next; e = e->next)
			last = head_of(e)->lsn;
	}
	free(r.recs);
	if (rc)
		return rc;
	MDB_val k = {7, "wal_lsn"}, d = {sizeof(last), &last};
	return mdb_put(txn, s->meta, &k, &d, 0);
}

static size_t list_need(const struct wal_entry *e)
{
	size_t need = 1 << 20;
	for (; e; e = e->next)
		need += 2 * e->size + 64 * head_of(e)->n;
	return need;
}

void store_wal_list_free(struct wal_entry *e)
{
	while (e) {
		struct wal_entry *next = e->next;
		free(e);
		e = next;
	}
}

static void hand_over(struct store *s, struct store_events *l);

int store_wal_fold(struct store *s)
{
	if (atomic_load(&s->wal_folded) == atomic_load(&s->wal_appended))
		return 0;
	if (pthread_mutex_trylock(&s->fold_lock) != 0) {
		if (s->before_wait)
			s->before_wait(); /* the fold under way may take a while */
		pthread_mutex_lock(&s->fold_lock);
	}
	pthread_mutex_lock(&s->wal_lock);
	struct fold_args a = {.list = s->wal_head};
	struct wal_entry *tail = s->wal_tail;
	size_t bytes = s->wal_pending;
	s->wal_head = s->wal_tail = NULL;
	s->wal_pending = 0;
	pthread_mutex_unlock(&s->wal_lock);
	int rc = 0;
	if (a.list) {
		uint64_t last = head_of(tail)->lsn;
		rc = store_write_raw(s, fold_txn, &a, list_need(a.list), "commit the WAL's appends");
		if (rc == 0) {
			store_wal_list_free(a.list);
			atomic_store(&s->wal_folded, last);
			atomic_store(&s->wal_direct, 0);
		} else {
			/* Keep them, first in line; appends commit directly until a
			 * fold succeeds (a full disk then fails them with ENOSPC). */
			pthread_mutex_lock(&s->wal_lock);
			tail->next = s->wal_head;
			if (!s->wal_head)
				s->wal_tail = tail;
			s->wal_head = a.list;
			s->wal_pending += bytes;
			pthread_mutex_unlock(&s->wal_lock);
			if (!atomic_exchange(&s->wal_direct, 1))
				store_log(STORE_LOG_ERR, "%s: cannot commit appended records yet: %s; "
					  "they stay in the WAL", s->dir, strerror(rc));
		}
	}
	pthread_mutex_unlock(&s->fold_lock);
	if (rc == 0 && a.events.n)
		hand_over(s, &a.events);
	free(a.events.ev);
	return rc;
}

/* A fold runs wherever the store is used first, maybe on a thread that holds
 * a subscriber's own lock while it reads: its events go to the fold thread,
 * which announces them with no lock held. */
static void hand_over(struct store *s, struct store_events *l)
{
	if (s->wal_running && pthread_equal(pthread_self(), s->wal_thread)) {
		store_announce(s, l->ev, l->n);
		return;
	}
	pthread_mutex_lock(&s->wal_lock);
	if (store_events_add(&s->wal_events, l->ev, l->n) == 0 && s->wal_idle)
		pthread_cond_signal(&s->wal_cond);
	pthread_mutex_unlock(&s->wal_lock);
}

/* The fold thread announces what other threads' folds handed over. */
static void announce_handed_over(struct store *s)
{
	pthread_mutex_lock(&s->wal_lock);
	struct store_events l = s->wal_events;
	s->wal_events = (struct store_events){0};
	pthread_mutex_unlock(&s->wal_lock);
	store_announce(s, l.ev, l.n);
	free(l.ev);
}

/* Folds what is queued, then lets appends gather for WAL_FOLD_PAUSE_NS: a
 * wakeup per append would cost more than the fold saves. It sleeps on
 * wal_cond only while the queue is empty (wal_idle); then the next append
 * wakes it. */
void *store_wal_fold_loop(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->wal_lock);
	for (;;) {
		while (!s->wal_stop && !s->wal_head && !s->wal_events.n) {
			s->wal_idle = 1;
			pthread_cond_wait(&s->wal_cond, &s->wal_lock);
			s->wal_idle = 0;
		}
		if (s->wal_stop)
			break;
		pthread_mutex_unlock(&s->wal_lock);
		announce_handed_over(s);
		int rc = store_wal_fold(s);
		/* After a failure (a full disk), try again later. */
		struct timespec pause = {0, rc ? 100 * 1000000 : WAL_FOLD_PAUSE_NS};
		nanosleep(&pause, NULL);
		pthread_mutex_lock(&s->wal_lock);
	}
	pthread_mutex_unlock(&s->wal_lock);
	return NULL;
}

int store_wal_replay(struct store *s, struct wal_entry *list)
{
	struct fold_args a = {.list = list};
	int rc = store_write_raw(s, fold_txn, &a, list_need(list), "replay the WAL");
	free(a.events.ev); /* no one subscribes before the store is open */
	return rc;
}
