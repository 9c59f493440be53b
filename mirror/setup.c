/* setup.c — which topics are mirrored, their Kafka topics checked or created,
 * and where each partition resumes (the saved progress, or what Kafka has). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "mirror_int.h"

/* The whole name must match, as Kafka's topics.regex: POSIX finds the
 * leftmost-longest match, which spans the name if any match does. */
static int is_mirrored(struct mirror *m, const char *name)
{
	regmatch_t at;
	return !m->has_re || (regexec(&m->re, name, 1, &at, 0) == 0 && at.rm_so == 0 &&
			      (size_t)at.rm_eo == strlen(name));
}

/* Adds partitions [t->nparts, count) of t; m->lock held. */
static int add_parts(struct mirror *m, struct mtopic *t, uint32_t count, int64_t created_ms)
{
	struct mpart **parts = realloc(t->parts, count * sizeof *parts);
	if (!parts)
		return ENOMEM;
	t->parts = parts;
	while (t->nparts < count) {
		struct store_partition sp;
		int rc = store_partition_find(m->s, t->id, t->nparts, &sp);
		struct mpart *p = rc ? NULL : calloc(1, sizeof *p);
		if (!p)
			return rc ? rc : ENOMEM;
		*p = (struct mpart){.gpid = sp.gpid, .index = sp.index, .t = t,
				    .created_ms = created_ms, .kafka_offset = -1,
				    .end = sp.end_offset};
		/* Shown until the partition resumes (the cluster may be down). */
		struct store_mirror_state saved;
		if (store_mirror_get(m->s, sp.gpid, &saved) == 0) {
			p->acked = p->next_send = saved.next;
			p->lost = saved.lost;
			p->kafka_offset = saved.kafka_offset;
		}
		if ((rc = mirror_index_part(m, p))) {
			free(p);
			return rc;
		}
		t->parts[t->nparts++] = p;
	}
	return 0;
}

static struct mtopic *topic_new(struct mirror *m, const struct store_topic *st)
{
	struct mtopic *t = calloc(1, sizeof *t);
	const char *prefix = m->o.prefix ? m->o.prefix : "";
	struct mtopic **topics = realloc(m->topics, (m->ntopics + 1) * sizeof *topics);
	if (!t || !topics || asprintf(&t->dest, "%s%s", prefix, st->name) < 0) {
		free(t);
		if (topics)
			m->topics = topics;
		return NULL;
	}
	m->topics = topics;
	t->id = st->id;
	snprintf(t->name, sizeof t->name, "%s", st->name);
	t->state = is_mirrored(m, st->name) ? T_SETUP : T_EXCLUDED;
	m->topics[m->ntopics++] = t;
	return t;
}

void mirror_rescan(struct mirror *m)
{
	struct store_topic st;
	uint32_t after = 0;
	while (store_topic_next(m->s, after, &st) == 0) {
		after = st.id;
		pthread_mutex_lock(&m->lock);
		struct mtopic *t = mirror_topic(m, st.id);
		if (!t && !(t = topic_new(m, &st))) {
			pthread_mutex_unlock(&m->lock);
			LOG(m, LOG_ERR, "mirror: topic '%s': out of memory", st.name);
			continue;
		}
		if (st.config.partitions > t->nparts) {
			int rc = add_parts(m, t, st.config.partitions, st.created_ms);
			if (rc && rc != ENOENT)
				LOG(m, LOG_ERR, "mirror: topic '%s': %s", st.name, strerror(rc));
			/* New partitions: the Kafka topic is checked again. */
			if (t->state != T_EXCLUDED) {
				t->state = T_SETUP;
				t->retry_at = 0;
			}
		}
		pthread_mutex_unlock(&m->lock);
	}
}

/* Where partition p goes on: its saved progress, or past the last record of
 * ours Kafka has, whichever is further. */
static int resume(struct mirror *m, struct mtopic *t, struct mpart *p, int64_t lo, int64_t hi,
		  char *err, size_t size)
{
	struct store_mirror_state saved = {0, 0, -1};
	struct store_partition sp;
	int rc = store_mirror_get(m->s, p->gpid, &saved);
	if (rc && rc != ENOENT)
		return rc;
	if ((rc = store_partition_get(m->s, p->gpid, &sp)))
		return rc;
	struct mirror_origin o = {m->host, t->name, p->index, p->created_ms};
	uint64_t found;
	int64_t koff;
	rc = mirror_kafka_tail(m->consumer, t->dest, (int32_t)p->index, lo, hi, saved.kafka_offset,
			       &o, &found, &koff, err, size);
	if (rc)
		return rc;
	uint64_t next = saved.next;
	int64_t kafka_offset = saved.kafka_offset;
	if (found > sp.end_offset)
		LOG(m, LOG_WARNING,
		    "mirror: topic '%s' partition %u: Kafka has offsets up to %" PRIu64
		    " from host '%s', but this store ends at %" PRIu64
		    "; another store mirrors as the same host? (set mirror.host=)",
		    t->name, p->index, found - 1, m->host, sp.end_offset);
	else if (found > next) {
		LOG(m, LOG_INFO,
		    "mirror: topic '%s' partition %u: Kafka already has up to offset %" PRIu64
		    ", resuming after it",
		    t->name, p->index, found - 1);
		next = found;
		kafka_offset = koff;
	}
	pthread_mutex_lock(&m->lock);
	p->acked = next;
	p->lost = saved.lost;
	p->kafka_offset = kafka_offset;
	if (sp.end_offset > p->end)
		p->end = sp.end_offset;
	pthread_mutex_unlock(&m->lock);
	p->next_send = next;
	p->dirty = next != saved.next;
	p->ready = 1;
	return 0;
}

/* Whether a deleted topic that shipped to dest still waits for reports. */
static int has_gone_inflight(struct mirror *m, const char *dest)
{
	for (size_t i = 0; i < m->ntopics; i++) {
		struct mtopic *g = m->topics[i];
		if (g->state != T_GONE || strcmp(g->dest, dest) != 0)
			continue;
		for (uint32_t j = 0; j < g->nparts; j++)
			if (g->parts[j]->inflight)
				return 1;
	}
	return 0;
}

/* One attempt at topic t; m->lock not held. */
static void setup_one(struct mirror *m, struct mtopic *t, int64_t now)
{
	char err[256] = "";
	int count = 0, rc = 0;
	if (has_gone_inflight(m, t->dest)) {
		t->retry_at = now + 100; /* the reports of the old records come first */
		return;
	}
	if (!t->rkt) {
		/* First, so that the delivery reports find t as its opaque. */
		rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
		rd_kafka_topic_conf_set_opaque(tc, t);
		if (!(t->rkt = rd_kafka_topic_new(m->rk, t->dest, tc))) {
			snprintf(err, sizeof err, "%s", rd_kafka_err2str(rd_kafka_last_error()));
			rc = EIO;
		}
	}
	if (rc == 0)
		rc = mirror_kafka_topic(m->rk, t->rkt, (int)t->nparts, &count, err, sizeof err);
	if (rc == 0 && count != (int)t->nparts) {
		pthread_mutex_lock(&m->lock);
		int again = t->state == T_STOPPED;
		t->state = T_STOPPED;
		snprintf(t->error, sizeof t->error,
			 "Kafka topic '%s' has %d partitions, the local topic %u: not mirrored",
			 t->dest, count, t->nparts);
		pthread_mutex_unlock(&m->lock);
		if (!again)
			LOG(m, LOG_ERR, "mirror: topic '%s': %s (make the counts equal)", t->name,
			    t->error);
		t->retry_at = now + MISMATCH_RETRY_MS;
		return;
	}
	int64_t *lo = NULL, *hi = NULL;
	for (uint32_t i = 0; rc == 0 && i < t->nparts; i++) {
		struct mpart *p = t->parts[i];
		if (mirror_is_stopping(m)) {
			rc = EAGAIN;
			break;
		}
		if (!p->ready && p->inflight == 0 && !lo) {
			/* Every partition's, at once, the first time one is needed. */
			lo = malloc(t->nparts * sizeof *lo);
			hi = malloc(t->nparts * sizeof *hi);
			rc = lo && hi ? mirror_kafka_watermarks(m->consumer, t->dest, t->nparts, lo,
								 hi, err, sizeof err)
				      : ENOMEM;
			if (rc == ENOMEM)
				snprintf(err, sizeof err, "out of memory");
		}
		if (rc == 0 && !p->ready) /* else still draining after a failed delivery */
			rc = p->inflight == 0 ? resume(m, t, p, lo[i], hi[i], err, sizeof err) : EAGAIN;
	}
	free(lo);
	free(hi);
	if (rc == ENOENT) { /* deleted meanwhile: its event follows */
		t->retry_at = now + RETRY_MS;
		return;
	}
	pthread_mutex_lock(&m->lock);
	int was_stopped = t->state == T_STOPPED;
	if (rc == 0) {
		t->state = T_READY;
		t->error[0] = '\0';
	} else {
		t->state = T_SETUP;
		t->retry_at = now + RETRY_MS;
	}
	pthread_mutex_unlock(&m->lock);
	/* Said once when it starts waiting and once when it ships again: an
	 * outage of hours would otherwise log every RETRY_MS. */
	if (rc == 0) {
		LOG(m, was_stopped || t->waiting ? LOG_NOTICE : LOG_DEBUG,
		    "mirror: topic '%s' ships to '%s'", t->name, t->dest);
		t->waiting = 0;
	} else if (rc != EAGAIN && !t->waiting) {
		LOG(m, LOG_WARNING, "mirror: topic '%s' waits for Kafka: %s", t->name, err);
		t->waiting = 1;
	}
}

int64_t mirror_setup(struct mirror *m)
{
	int64_t now = mirror_mono_ms(), next = 0;
	for (size_t i = 0; i < m->ntopics; i++) {
		struct mtopic *t = m->topics[i];
		pthread_mutex_lock(&m->lock);
		if (t->gone && t->state != T_GONE)
			t->state = T_GONE;
		enum topic_state state = t->state;
		pthread_mutex_unlock(&m->lock);
		if (state != T_SETUP && state != T_STOPPED)
			continue;
		if (mirror_is_stopping(m))
			break;
		if (t->retry_at <= now)
			setup_one(m, t, now);
		if (t->state == T_SETUP || t->state == T_STOPPED)
			if (!next || t->retry_at < next)
				next = t->retry_at;
	}
	return next;
}
