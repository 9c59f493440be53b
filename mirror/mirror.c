/* mirror.c — the mirror thread: follows the store's appends and ships them.
 *
 * Each partition moves through: not ready (its Kafka topic is checked and its
 * tail read, kafka.c) -> shipping (records go from next_send on, in order) ->
 * back to not ready if a delivery failed or the producer had to start over.
 * `acked` is the saved progress: it moves only on Kafka's delivery reports,
 * by the source offset each message carries as its opaque, and over records
 * retention deleted before they were shipped (counted as lost, and logged).
 *
 * Nothing here polls the store: appends arrive as store events (a condition
 * variable wakes the thread), Kafka's reports as a callback on its queue. The
 * only timers are retries while the cluster is unreachable and the saving of
 * progress, at most every SAVE_MS. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "kafka.h"
#include "mirror_int.h"

int64_t mirror_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- lookup (lock held) --- */

int mirror_is_stopping(struct mirror *m)
{
	pthread_mutex_lock(&m->lock);
	int stopping = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stopping;
}

struct mpart *mirror_part(struct mirror *m, uint32_t gpid)
{
	size_t lo = 0, hi = m->nparts;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->bygpid[mid]->gpid < gpid)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* A removed topic's partition ids go to new partitions (store/gpids.c):
	 * of the parts with this id, the one of a live topic wins. */
	struct mpart *found = NULL;
	for (size_t i = lo; i < m->nparts && m->bygpid[i]->gpid == gpid; i++) {
		found = m->bygpid[i];
		if (!found->t->gone)
			break;
	}
	return found;
}

struct mtopic *mirror_topic(struct mirror *m, uint32_t id)
{
	for (size_t i = 0; i < m->ntopics; i++)
		if (m->topics[i]->id == id && !m->topics[i]->gone)
			return m->topics[i];
	return NULL;
}

struct mtopic *mirror_topic_shipping_to(struct mirror *m, const char *dest)
{
	for (size_t i = 0; i < m->ntopics; i++)
		if (m->topics[i]->state != T_GONE && strcmp(m->topics[i]->dest, dest) == 0)
			return m->topics[i];
	return NULL;
}

int mirror_index_part(struct mirror *m, struct mpart *p)
{
	if (m->nparts == m->cap_parts) {
		size_t cap = m->cap_parts ? 2 * m->cap_parts : 64;
		struct mpart **n = realloc(m->bygpid, cap * sizeof *n);
		if (!n)
			return ENOMEM;
		m->bygpid = n;
		m->cap_parts = cap;
	}
	size_t i = m->nparts;
	while (i > 0 && m->bygpid[i - 1]->gpid > p->gpid) {
		m->bygpid[i] = m->bygpid[i - 1];
		i--;
	}
	m->bygpid[i] = p;
	m->nparts++;
	return 0;
}

/* --- store events (any thread) --- */

static void on_store_event(const struct store_event *ev, void *arg)
{
	struct mirror *m = arg;
	pthread_mutex_lock(&m->lock);
	if (ev->kind == STORE_EVENT_APPEND) {
		struct mpart *p = mirror_part(m, ev->gpid);
		if (!p || p->t->id != ev->topic_id)
			m->rescan = 1; /* a new topic's partition, maybe on a reused id */
		else if (ev->offset > p->end)
			p->end = ev->offset;
		m->work = 1;
	} else if (ev->kind == STORE_EVENT_TOPIC_DELETED) {
		struct mtopic *t = mirror_topic(m, ev->topic_id);
		if (t) {
			t->gone = 1;
			m->work = 1;
		}
	}
	if (m->work)
		pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

/* --- Kafka callbacks (librdkafka's threads, or ours in rd_kafka_poll) --- */

/* Something is on the producer's queue: the thread serves it. */
static void on_kafka_queue(rd_kafka_t *rk, void *arg)
{
	(void)rk;
	struct mirror *m = arg;
	pthread_mutex_lock(&m->lock);
	m->work = 1;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *arg)
{
	(void)rk;
	struct mirror *m = arg;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		pthread_mutex_lock(&m->lock);
		m->fatal = 1;
		m->work = 1;
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->lock);
	}
	LOG(m, err == RD_KAFKA_RESP_ERR__FATAL ? LOG_ERR : LOG_WARNING, "mirror: kafka: %s", reason);
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)level;
	struct mirror *m = rd_kafka_opaque(rk);
	/* Errors also come through on_kafka_error, once; the log repeats them
	 * (connection refused, every retry) and stays at debug. */
	LOG(m, strcmp(fac, "CONFWARN") == 0 ? LOG_NOTICE : LOG_DEBUG, "mirror: kafka %s: %s", fac,
	    buf);
}

/* On the mirror thread, inside rd_kafka_poll. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *arg)
{
	(void)rk;
	struct mirror *m = arg;
	struct mtopic *t = rd_kafka_topic_opaque(msg->rkt);
	/* librdkafka keeps one topic object per name, with the opaque it was
	 * first made with: a topic deleted and made again under that name ships
	 * through the old object (only once the old one's reports are all in,
	 * see setup.c), so the report is the new topic's. */
	if (t && t->state == T_GONE)
		t = mirror_topic_shipping_to(m, t->dest);
	if (!t || msg->partition < 0 || (uint32_t)msg->partition >= t->nparts)
		return;
	struct mpart *p = t->parts[msg->partition];
	uint64_t offset = (uint64_t)(uintptr_t)msg->_private;
	p->inflight--;
	if (msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
	    msg->err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) {
		if (!p->oversize)
			p->oversize = offset + 1;
		p->resync = 1;
		return;
	}
	if (msg->err) {
		if (!p->resync && msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
		    msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
			LOG(m, LOG_WARNING,
			    "mirror: topic '%s' partition %u: offset %" PRIu64
			    " not delivered (%s); resuming from what Kafka has",
			    t->name, p->index, offset, rd_kafka_err2str(msg->err));
		p->resync = 1;
		return;
	}
	if (p->resync)
		return; /* the tail scan decides where to go on */
	/* A report comes per message, thousands per poll: acked moves once
	 * per poll (apply_reported), not under the lock for each. */
	if (offset + 1 > p->reported) {
		if (p->reported == 0) {
			p->next_reported = m->reported;
			m->reported = p;
		}
		p->reported = offset + 1;
		p->reported_kafka_offset = msg->offset;
	}
}

/* What on_delivery noted, to acked: all under one lock. Delivered is
 * delivered, so a failure later in the same poll does not undo it. */
static void apply_reported(struct mirror *m)
{
	if (!m->reported)
		return;
	pthread_mutex_lock(&m->lock);
	for (struct mpart *p = m->reported, *next; p; p = next) {
		next = p->next_reported;
		if (p->reported > p->acked) {
			p->acked = p->reported;
			p->kafka_offset = p->reported_kafka_offset;
			p->dirty = 1;
		}
		p->reported = 0;
		p->next_reported = NULL;
	}
	m->reported = NULL;
	pthread_mutex_unlock(&m->lock);
}

/* Serves the producer's queue (delivery reports, errors) for up to timeout_ms
 * and moves the progress reported. Mirror thread only. */
static void mirror_poll(struct mirror *m, int timeout_ms)
{
	rd_kafka_poll(m->rk, timeout_ms);
	apply_reported(m);
}

/* --- the producer and the tail reader --- */

static int set_prop(struct mirror *m, rd_kafka_conf_t *c, const char *name, const char *value)
{
	char es[256];
	if (rd_kafka_conf_set(c, name, value, es, sizeof es) != RD_KAFKA_CONF_OK) {
		LOG(m, LOG_ERR, "mirror: librdkafka property %s=%s: %s", name, value, es);
		return EINVAL;
	}
	return 0;
}

/* What exactly once stands on: the user may not change these. */
static const char *const fixed_props[] = {
	"enable.idempotence", "enable.gapless.guarantee", "message.timeout.ms",
	"delivery.timeout.ms", "allow.auto.create.topics", "transactional.id", NULL};

static int is_fixed(const char *name)
{
	for (const char *const *f = fixed_props; *f; f++)
		if (strcmp(*f, name) == 0)
			return 1;
	return 0;
}

/* Our defaults, then the user's mirror.<property>=<value> over them. */
static int make_conf(struct mirror *m, rd_kafka_conf_t **out, int producer)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	int rc = set_prop(m, c, "bootstrap.servers", m->o.brokers);
	if (producer && !rc) {
		/* In order, no doubles from retries, and never give up on a record:
		 * an outage only holds shipping back. */
		if ((rc = set_prop(m, c, "enable.idempotence", "true")) ||
		    (rc = set_prop(m, c, "enable.gapless.guarantee", "true")) ||
		    (rc = set_prop(m, c, "message.timeout.ms", "0")) ||
		    /* The mirror creates topics itself, with the local count. */
		    (rc = set_prop(m, c, "allow.auto.create.topics", "false")) ||
		    /* librdkafka's default, said here: at 20 ms a turn's last
		     * partial batch waited while the queue was full behind it
		     * (~10% fewer records/s, bench/PROFILE.md). */
		    (rc = set_prop(m, c, "linger.ms", "5")) ||
		    /* The records wait in the store, not in the producer: a short
		     * queue keeps the daemon small (100,000 100-byte records with
		     * their headers are ~60 MiB) at no cost in speed. */
		    (rc = set_prop(m, c, "queue.buffering.max.messages", "20000")))
			goto out;
	} else if (!rc) {
		if ((rc = set_prop(m, c, "group.id", "topicfs-mirror")) ||
		    (rc = set_prop(m, c, "enable.auto.commit", "false")) ||
		    /* A tail is read once: no need to fetch 64 MiB ahead. */
		    (rc = set_prop(m, c, "queued.max.messages.kbytes", "8192")) ||
		    (rc = set_prop(m, c, "enable.partition.eof", "true")))
			goto out;
	}
	for (const char *const *p = m->o.props; !rc && p && p[0] && p[1]; p += 2) {
		char es[256];
		if (is_fixed(p[0])) {
			if (producer)
				LOG(m, LOG_ERR,
				    "mirror: mirror.%s cannot be set: exactly once needs the mirror's "
				    "own value",
				    p[0]);
			rc = EINVAL;
			break;
		}
		/* A producer-only property set on the reader is no error. */
		if (rd_kafka_conf_set(c, p[0], p[1], es, sizeof es) != RD_KAFKA_CONF_OK && producer) {
			LOG(m, LOG_ERR, "mirror: librdkafka property %s=%s: %s", p[0], p[1], es);
			rc = EINVAL;
		}
	}
out:
	if (rc) {
		rd_kafka_conf_destroy(c);
		return rc;
	}
	rd_kafka_conf_set_opaque(c, m);
	rd_kafka_conf_set_log_cb(c, on_kafka_log);
	if (producer) {
		rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
		rd_kafka_conf_set_error_cb(c, on_kafka_error);
	}
	*out = c;
	return 0;
}

static int clients_new(struct mirror *m)
{
	char es[512];
	rd_kafka_conf_t *pc, *cc;
	int rc = make_conf(m, &pc, 1);
	if (rc)
		return rc;
	if ((rc = make_conf(m, &cc, 0))) {
		rd_kafka_conf_destroy(pc);
		return rc;
	}
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, pc, es, sizeof es);
	if (!m->rk) {
		LOG(m, LOG_ERR, "mirror: cannot make the producer: %s", es);
		rd_kafka_conf_destroy(pc);
		rd_kafka_conf_destroy(cc);
		return EINVAL;
	}
	m->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, es, sizeof es);
	if (!m->consumer) {
		LOG(m, LOG_ERR, "mirror: cannot make the tail reader: %s", es);
		rd_kafka_conf_destroy(cc);
		rd_kafka_destroy(m->rk);
		m->rk = NULL;
		return EINVAL;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_get_main(m->rk);
	rd_kafka_queue_cb_event_enable(q, on_kafka_queue, m);
	rd_kafka_queue_destroy(q);
	return 0;
}

/* Drops the producer and what it still holds (its reports count as failed),
 * so every partition resumes from Kafka's tail. */
void mirror_producer_reset(struct mirror *m)
{
	rd_kafka_purge(m->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	/* The purged records' reports (failed) come back: inflight drops to 0. */
	int64_t deadline = mirror_mono_ms() + 10000;
	while (rd_kafka_outq_len(m->rk) > 0 && mirror_mono_ms() < deadline)
		mirror_poll(m, 100);
	mirror_poll(m, 0);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->ntopics; i++) {
		struct mtopic *t = m->topics[i];
		if (t->rkt)
			rd_kafka_topic_destroy(t->rkt);
		t->rkt = NULL;
		if (t->state == T_READY)
			t->state = T_SETUP;
		t->retry_at = 0;
		for (uint32_t j = 0; j < t->nparts; j++) {
			struct mpart *p = t->parts[j];
			p->ready = p->resync = 0;
			p->inflight = 0; /* what the old producer held is gone with it */
		}
	}
	m->fatal = 0; /* the old producer's last words */
	pthread_mutex_unlock(&m->lock);
	rd_kafka_queue_t *q = rd_kafka_queue_get_main(m->rk);
	rd_kafka_queue_cb_event_enable(q, NULL, NULL);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(m->rk);
	rd_kafka_consumer_close(m->consumer);
	rd_kafka_destroy(m->consumer);
	m->rk = m->consumer = NULL;
	while (clients_new(m) != 0)
		sleep(1); /* only ENOMEM: the configuration was good before */
}

static void *run(void *arg)
{
	struct mirror *m = arg;
	pthread_mutex_lock(&m->lock);
	m->rescan = 1;
	while (!m->stopping) {
		int rescan = m->rescan, fatal = m->fatal;
		m->rescan = m->work = m->fatal = 0;
		pthread_mutex_unlock(&m->lock);

		char es[256];
		if (fatal && rd_kafka_fatal_error(m->rk, es, sizeof es)) {
			LOG(m, LOG_ERR, "mirror: the producer stopped (%s); starting a new one", es);
			mirror_producer_reset(m);
		}
		mirror_poll(m, 0);
		if (rescan)
			mirror_rescan(m);
		int64_t next_retry = mirror_setup(m);
		int busy = mirror_ship(m);
		mirror_poll(m, 0);
		int64_t next_save = mirror_save(m, 0);

		pthread_mutex_lock(&m->lock);
		if (m->work || m->rescan || m->fatal || m->stopping || busy)
			continue;
		int64_t until = next_retry;
		if (next_save && (!until || next_save < until))
			until = next_save;
		if (!until) {
			pthread_cond_wait(&m->wake, &m->lock);
			continue;
		}
		int64_t wait = until - mirror_mono_ms();
		if (wait <= 0)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->wake, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	mirror_save(m, 1);
	return NULL;
}

int mirror_start(struct mirror **out, struct store *s, const struct mirror_options *o)
{
	struct mirror *m = calloc(1, sizeof *m);
	if (!m)
		return ENOMEM;
	m->s = s;
	m->o = *o;
	if (o->host)
		snprintf(m->host, sizeof m->host, "%s", o->host);
	else if (gethostname(m->host, sizeof m->host - 1) != 0)
		snprintf(m->host, sizeof m->host, "localhost");
	int rc = 0;
	if (o->topics) {
		char why[256];
		if ((rc = regcomp(&m->re, o->topics, REG_EXTENDED)) != 0) {
			regerror(rc, &m->re, why, sizeof why);
			LOG(m, LOG_ERR, "mirror: mirror.topics '%s' is not a regular expression: %s",
			    o->topics, why);
			free(m);
			return EINVAL;
		}
		m->has_re = 1;
	}
	/* librdkafka allocates each message and its header in the mirror thread
	 * and frees them in their delivery reports, thousands at a time; glibc
	 * keeps such small blocks in its fastbins, and the next store scan's read
	 * transaction (a ~1 KiB calloc) then makes it merge every one of them
	 * (malloc_consolidate: a quarter of the mirror thread's time). Without
	 * fastbins the blocks merge as they are freed: 7-18% less CPU per record
	 * shipped (bench/PROFILE.md). The setting is the process's, made only when
	 * the mirror runs; elsewhere the daemon allocates too little per request
	 * to notice. A thread that frees meanwhile (only the store's run yet) puts
	 * its block in a fastbin or not, and either is sound: what is left in one
	 * is merged by the next large request. */
	mallopt(M_MXFAST, 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&m->lock, NULL);
	if ((rc = clients_new(m)) || (rc = store_subscribe(s, on_store_event, m)))
		goto fail;
	if ((rc = pthread_create(&m->thread, NULL, run, m))) {
		store_unsubscribe(s, on_store_event, m);
		goto fail;
	}
	LOG(m, LOG_INFO, "mirror: shipping %s to %s as host '%s'",
	    o->topics ? o->topics : "all topics", o->brokers, m->host);
	*out = m;
	return 0;
fail:
	if (m->consumer)
		rd_kafka_destroy(m->consumer);
	if (m->rk)
		rd_kafka_destroy(m->rk);
	if (m->has_re)
		regfree(&m->re);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	free(m);
	return rc;
}

void mirror_stop(struct mirror *m)
{
	if (!m)
		return;
	store_unsubscribe(m->s, on_store_event, m);
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	/* What is queued and not confirmed is shipped again on the next start
	 * (after the tail scan): no need to wait for the cluster here. */
	rd_kafka_flush(m->rk, 1000);
	mirror_poll(m, 0);
	mirror_save(m, 1);
	rd_kafka_purge(m->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	mirror_poll(m, 0);
	rd_kafka_queue_t *q = rd_kafka_queue_get_main(m->rk);
	rd_kafka_queue_cb_event_enable(q, NULL, NULL);
	rd_kafka_queue_destroy(q);
	for (size_t i = 0; i < m->ntopics; i++) {
		struct mtopic *t = m->topics[i];
		if (t->rkt)
			rd_kafka_topic_destroy(t->rkt);
	}
	rd_kafka_destroy(m->rk);
	rd_kafka_consumer_close(m->consumer);
	rd_kafka_destroy(m->consumer);
	for (size_t i = 0; i < m->ntopics; i++) {
		struct mtopic *t = m->topics[i];
		for (uint32_t j = 0; j < t->nparts; j++)
			free(t->parts[j]);
		free(t->parts);
		free(t->dest);
		free(t);
	}
	free(m->topics);
	free(m->bygpid);
	if (m->has_re)
		regfree(&m->re);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	free(m);
}

int mirror_status(struct mirror *m, uint32_t gpid, struct mirror_status *out)
{
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	struct mpart *p = mirror_part(m, gpid);
	if (!p)
		rc = ENOENT;
	else if (p->t->state == T_EXCLUDED)
		rc = ENODATA;
	else {
		out->next = p->acked;
		out->lost = p->lost;
		snprintf(out->error, sizeof out->error, "%s", p->t->error);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
