/* ship.c — records from the store to the producer, and progress back to the store. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "mirror_int.h"

struct ship_ctx {
	struct mirror *m;
	struct mtopic *t;
	struct mpart *p;
	/* The origin header: "HOST/TOPIC/PARTITION/" (the partition's, made once
	 * a scan), then each record's offset after it. */
	char origin[sizeof ((struct mirror *)0)->host + STORE_TOPIC_NAME_MAX + 48];
	size_t prefix_len;
};

/* Writes v in decimal at dst; returns its length (snprintf costs more than the
 * rest of the header). */
static size_t put_u64(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

static int produce_one(const struct store_record *r, void *arg)
{
	struct ship_ctx *c = arg;
	size_t len = c->prefix_len + put_u64(c->origin + c->prefix_len, r->offset);
	rd_kafka_resp_err_t e = rd_kafka_producev(
		c->m->rk, RD_KAFKA_V_RKT(c->t->rkt), RD_KAFKA_V_PARTITION((int32_t)c->p->index),
		RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(r->key, r->key ? r->key_len : 0),
		RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
		RD_KAFKA_V_TIMESTAMP(r->timestamp_ms),
		RD_KAFKA_V_HEADER(MIRROR_ORIGIN_HEADER, c->origin, (ssize_t)len),
		RD_KAFKA_V_OPAQUE((void *)(uintptr_t)r->offset), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return EAGAIN;
	if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
		c->p->oversize = r->offset + 1;
		return EMSGSIZE;
	}
	if (e) {
		LOG(c->m, LOG_ERR, "mirror: topic '%s' partition %u offset %" PRIu64 ": %s",
		    c->t->name, c->p->index, r->offset, rd_kafka_err2str(e));
		return EIO;
	}
	c->p->inflight++;
	c->p->next_send = r->offset + 1;
	return 0;
}

/* Retention deleted [next_send, start) before it was shipped: counted, logged,
 * and stepped over once everything before it is confirmed. */
static int step_over_lost(struct mirror *m, struct mtopic *t, struct mpart *p)
{
	struct store_partition sp;
	if (store_partition_get(m->s, p->gpid, &sp) || sp.start_offset <= p->next_send)
		return 0;
	if (p->inflight)
		return 0; /* their reports move acked; then the gap */
	uint64_t n = sp.start_offset - p->next_send;
	LOG(m, LOG_WARNING,
	    "mirror: topic '%s' partition %u: retention deleted offsets %" PRIu64 "..%" PRIu64
	    " before they were shipped to Kafka: %" PRIu64 " record(s) lost to the mirror",
	    t->name, p->index, p->next_send, sp.start_offset - 1, n);
	pthread_mutex_lock(&m->lock);
	p->lost += n;
	p->acked = sp.start_offset;
	pthread_mutex_unlock(&m->lock);
	p->next_send = sp.start_offset;
	p->dirty = 1;
	return 1;
}

/* A record Kafka cannot take stops its topic: shipping past it would lose it,
 * sending it again would fail for ever. */
static void stop_oversize(struct mirror *m, struct mtopic *t, struct mpart *p)
{
	pthread_mutex_lock(&m->lock);
	t->state = T_STOPPED;
	snprintf(t->error, sizeof t->error,
		 "the record at offset %" PRIu64 " of partition %u is larger than Kafka takes "
		 "(message.max.bytes): not mirrored",
		 p->oversize - 1, p->index);
	pthread_mutex_unlock(&m->lock);
	LOG(m, LOG_ERR, "mirror: topic '%s': %s (raise mirror.message.max.bytes and the "
	    "topic's max.message.bytes in Kafka, then remount)", t->name, t->error);
	p->oversize = 0;
	p->ready = 0;
	t->retry_at = mirror_mono_ms() + MISMATCH_RETRY_MS;
}

/* What a turn of partition p (up to max records) came to. */
enum ship_rc { SHIP_ON, SHIP_NEXT_TOPIC, SHIP_QUEUE_FULL };

static enum ship_rc ship_part(struct mirror *m, struct ship_ctx *c, struct mpart *p, size_t max,
			      int *busy)
{
	struct mtopic *t = c->t;
	if (p->oversize && p->inflight == 0) {
		p->resync = 0;
		stop_oversize(m, t, p);
		return SHIP_NEXT_TOPIC;
	}
	if (p->resync && p->inflight == 0) {
		/* Everything reported: read Kafka's tail again. */
		p->resync = p->ready = 0;
		pthread_mutex_lock(&m->lock);
		t->state = T_SETUP;
		pthread_mutex_unlock(&m->lock);
		t->retry_at = 0;
		*busy = 1;
	}
	if (!p->ready || p->resync)
		return SHIP_ON;
	pthread_mutex_lock(&m->lock);
	uint64_t end = p->end;
	pthread_mutex_unlock(&m->lock);
	if (p->next_send >= end)
		return SHIP_ON;
	c->p = p;
	/* Always fits: the host and name are bounded, and so are the numbers. */
	c->prefix_len = (size_t)snprintf(c->origin, sizeof c->origin, "%s/%s/%u/", m->host,
					 t->name, p->index);
	int rc = store_record_scan(m->s, p->gpid, p->next_send, max, produce_one, c);
	if (rc == EAGAIN)
		return SHIP_QUEUE_FULL;
	if (rc == EMSGSIZE) {
		if (p->inflight == 0)
			stop_oversize(m, t, p);
		return SHIP_NEXT_TOPIC; /* else once what is before it is reported */
	}
	if (rc == ERANGE)
		*busy |= step_over_lost(m, t, p);
	else if (rc == EIO)
		p->resync = 1;
	else if (rc == 0 && p->next_send < end)
		*busy = 1;
	return SHIP_ON;
}

/* A pass goes round every partition once, from where the last one stopped on
 * a full queue, each partition a turn of up to SCAN_CHUNK records: a backlog
 * in one partition does not hold the others back. */
int mirror_ship(struct mirror *m)
{
	int busy = 0;
	size_t nt = m->ntopics;
	if (nt == 0)
		return 0;
	if (m->next_topic >= nt)
		m->next_topic = m->next_part = 0;
	/* The cursor's topic comes twice: from its partition on, and at the end
	 * the partitions before it. */
	for (size_t n = 0; n <= nt; n++) {
		size_t i = (m->next_topic + n) % nt;
		uint32_t from = n == 0 ? m->next_part : 0;
		uint32_t to = n == nt ? m->next_part : UINT32_MAX;
		if (from >= to)
			break;
		struct mtopic *t = m->topics[i];
		pthread_mutex_lock(&m->lock);
		enum topic_state state = t->state;
		pthread_mutex_unlock(&m->lock);
		if (state != T_READY)
			continue;
		struct ship_ctx c = {.m = m, .t = t};
		for (uint32_t j = from; j < to && j < t->nparts; j++) {
			struct mpart *p = t->parts[j];
			/* The cursor's partition ends the turn a full queue cut short. */
			size_t max = n == 0 && j == from && m->turn_left ? m->turn_left : SCAN_CHUNK;
			uint64_t before = p->next_send;
			enum ship_rc rc = ship_part(m, &c, p, max, &busy);
			if (rc == SHIP_NEXT_TOPIC)
				break;
			if (rc == SHIP_QUEUE_FULL) {
				size_t sent = (size_t)(p->next_send - before);
				m->turn_left = sent < max ? max - sent : 0;
				m->next_topic = i;
				m->next_part = j;
				if (m->turn_left == 0 && ++m->next_part == t->nparts) {
					m->next_topic = (i + 1) % nt;
					m->next_part = 0;
				}
				return 0; /* delivery reports wake us */
			}
		}
	}
	m->turn_left = 0;
	return busy;
}

int64_t mirror_save(struct mirror *m, int force)
{
	int64_t now = mirror_mono_ms();
	size_t n = 0;
	for (size_t i = 0; i < m->nparts; i++)
		n += m->bygpid[i]->dirty;
	if (n == 0)
		return 0;
	if (!force && now - m->last_save < SAVE_MS)
		return m->last_save + SAVE_MS;
	uint32_t *gpids = malloc(n * sizeof *gpids);
	struct store_mirror_state *st = malloc(n * sizeof *st);
	if (!gpids || !st) {
		free(gpids);
		free(st);
		return now + SAVE_MS;
	}
	size_t k = 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nparts && k < n; i++) {
		struct mpart *p = m->bygpid[i];
		if (!p->dirty)
			continue;
		gpids[k] = p->gpid;
		st[k++] = (struct store_mirror_state){p->acked, p->lost, p->kafka_offset};
		p->dirty = 0;
	}
	pthread_mutex_unlock(&m->lock);
	int rc = store_mirror_set(m->s, gpids, st, k);
	if (rc)
		LOG(m, LOG_ERR, "mirror: cannot save the progress: %s", strerror(rc));
	m->last_save = now;
	free(gpids);
	free(st);
	return 0;
}
