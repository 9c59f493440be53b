/* kafka.c — topic creation, partition counts and the tail scan that makes
 * restarts exactly once.
 *
 * The producer's delivery reports move the mirror's saved progress, but a
 * crash loses the reports of records already in Kafka. So before shipping a
 * partition, the mirror reads what Kafka holds from its last known delivery
 * on, and resumes after the highest source offset it finds under its own
 * headers. The idempotent producer keeps each partition's records in order
 * and without gaps (enable.gapless.guarantee), so nothing below that offset
 * is missing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int kafka_errno(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
		return ETIMEDOUT;
	default:
		return EIO;
	}
}

/* CreateTopics; an existing topic is no error. */
static int create(rd_kafka_t *rk, const char *name, int partitions, char *err, size_t err_size)
{
	char es[256];
	int rc = 0;
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions, -1, es, sizeof es);
	if (!nt) {
		snprintf(err, err_size, "cannot describe topic '%s': %s", name, es);
		return EIO;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opt, MIRROR_KAFKA_TIMEOUT_MS, es, sizeof es);
	rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, MIRROR_KAFKA_TIMEOUT_MS + 1000);
	const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
	if (!ev) {
		snprintf(err, err_size, "creating topic '%s': no answer", name);
		rc = ETIMEDOUT;
	} else if (rd_kafka_event_error(ev)) {
		snprintf(err, err_size, "creating topic '%s': %s", name, rd_kafka_event_error_string(ev));
		rc = kafka_errno(rd_kafka_event_error(ev));
	} else if (res) {
		size_t n;
		const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
		rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(tr[0]) : 0;
		if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			const char *why = rd_kafka_topic_result_error_string(tr[0]);
			snprintf(err, err_size, "creating topic '%s': %s", name,
				 why ? why : rd_kafka_err2str(e));
			rc = kafka_errno(e);
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opt);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

/* The partition count of topic `name` into *count. ENOENT: no such topic. */
static int partitions_of(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int *count, char *err,
			 size_t err_size)
{
	const char *name = rd_kafka_topic_name(rkt);
	/* An application's metadata request never creates the topic
	 * (allow.auto.create.topics is false). */
	const struct rd_kafka_metadata *md = NULL;
	int rc = 0;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, MIRROR_KAFKA_TIMEOUT_MS);
	if (!e && md->topic_cnt != 1)
		e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
	else if (!e)
		e = md->topics[0].err;
	if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		rc = ENOENT;
	} else if (e) {
		snprintf(err, err_size, "metadata of topic '%s': %s", name, rd_kafka_err2str(e));
		rc = kafka_errno(e);
	} else {
		*count = md->topics[0].partition_cnt;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	return rc;
}

int mirror_kafka_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int partitions, int *count,
		       char *err, size_t err_size)
{
	const char *name = rd_kafka_topic_name(rkt);
	int rc = partitions_of(rk, rkt, count, err, err_size);
	if (rc != ENOENT)
		return rc;
	if ((rc = create(rk, name, partitions, err, err_size)))
		return rc;
	rc = partitions_of(rk, rkt, count, err, err_size);
	if (rc == ENOENT) {
		snprintf(err, err_size, "topic '%s' was created but is not known yet", name);
		rc = ETIMEDOUT;
	}
	return rc;
}

/* The digits of s[0..len) as a number into *v; 0 if not all digits (or none). */
static int digits(const char *s, size_t len, uint64_t *v)
{
	*v = 0;
	if (len == 0 || len > 20)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 1;
}

/* The last '/' in s[0..len), or NULL. */
static const char *last_slash(const char *s, size_t len)
{
	while (len > 0)
		if (s[--len] == '/')
			return s + len;
	return NULL;
}

/* Whether m was written by o; if so, its source offset in *offset. The origin
 * header is read from its end: offset, partition and topic hold no '/'. */
static int is_ours(const rd_kafka_message_t *m, const struct mirror_origin *o, uint64_t *offset)
{
	rd_kafka_headers_t *h;
	const void *v;
	size_t len;
	rd_kafka_timestamp_type_t tt;
	if (rd_kafka_message_headers(m, &h) ||
	    rd_kafka_header_get_last(h, MIRROR_ORIGIN_HEADER, &v, &len) || !v)
		return 0;
	const char *s = v;
	const char *off = last_slash(s, len);
	const char *part = off ? last_slash(s, (size_t)(off - s)) : NULL;
	const char *topic = part ? last_slash(s, (size_t)(part - s)) : NULL;
	uint64_t partition;
	if (!topic || !digits(off + 1, len - (size_t)(off + 1 - s), offset) ||
	    !digits(part + 1, (size_t)(off - part - 1), &partition) || partition != o->partition)
		return 0;
	size_t host_len = (size_t)(topic - s), topic_len = (size_t)(part - topic - 1);
	if (host_len != strlen(o->host) || memcmp(s, o->host, host_len) ||
	    topic_len != strlen(o->topic) || memcmp(topic + 1, o->topic, topic_len))
		return 0;
	return rd_kafka_message_timestamp(m, &tt) >= o->not_before_ms;
}

/* One of the watermarks (which: RD_KAFKA_OFFSET_BEGINNING or _END) of
 * partitions [0, n) into out[]. */
static int watermark(rd_kafka_t *rk, const char *name, uint32_t n, int64_t which, int64_t *out,
		     char *err, size_t err_size)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
	for (uint32_t i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, name, (int32_t)i)->offset = which;
	/* A ListOffsets request to each leader at once, as query_watermark_offsets
	 * asks for one partition. */
	rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, MIRROR_KAFKA_TIMEOUT_MS);
	if (!e && (uint32_t)l->cnt != n)
		e = RD_KAFKA_RESP_ERR__BAD_MSG;
	for (int i = 0; !e && i < l->cnt; i++) {
		int32_t p = l->elems[i].partition;
		if (!(e = l->elems[i].err) && (p < 0 || (uint32_t)p >= n))
			e = RD_KAFKA_RESP_ERR__BAD_MSG;
		else if (!e)
			out[p] = l->elems[i].offset;
	}
	if (e)
		snprintf(err, err_size, "offsets of '%s': %s", name, rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
	return e ? kafka_errno(e) : 0;
}

int mirror_kafka_watermarks(rd_kafka_t *rk, const char *name, uint32_t n, int64_t *lo,
			    int64_t *hi, char *err, size_t err_size)
{
	int rc = watermark(rk, name, n, RD_KAFKA_OFFSET_BEGINNING, lo, err, err_size);
	return rc ? rc : watermark(rk, name, n, RD_KAFKA_OFFSET_END, hi, err, err_size);
}

int mirror_kafka_tail(rd_kafka_t *consumer, const char *name, int32_t partition, int64_t lo,
		      int64_t hi, int64_t from, const struct mirror_origin *o, uint64_t *next,
		      int64_t *kafka_offset, char *err, size_t err_size)
{
	rd_kafka_resp_err_t e;
	*next = 0;
	*kafka_offset = -1;
	if (from < lo)
		from = lo;
	if (from >= hi)
		return 0;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, name, partition)->offset = from;
	if ((e = rd_kafka_assign(consumer, l))) {
		rd_kafka_topic_partition_list_destroy(l);
		snprintf(err, err_size, "reading '%s' [%d]: %s", name, partition, rd_kafka_err2str(e));
		return EIO;
	}
	rd_kafka_topic_partition_list_destroy(l);
	/* Records come on; the scan fails if none came for a while. */
	int rc = 0;
	int64_t deadline = mono_ms() + MIRROR_KAFKA_TIMEOUT_MS;
	for (int64_t at = from; at < hi;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
		if (!m) {
			if (mono_ms() > deadline) {
				snprintf(err, err_size, "reading '%s' [%d] at %lld: no answer", name,
					 partition, (long long)at);
				rc = ETIMEDOUT;
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err) {
			snprintf(err, err_size, "reading '%s' [%d]: %s", name, partition,
				 rd_kafka_message_errstr(m));
			rc = kafka_errno(m->err);
			rd_kafka_message_destroy(m);
			if (rc == EIO)
				break;
			rc = 0;
			continue;
		}
		uint64_t off;
		if (m->partition == partition && is_ours(m, o, &off) && off + 1 > *next) {
			*next = off + 1;
			*kafka_offset = m->offset;
		}
		at = m->offset + 1;
		deadline = mono_ms() + MIRROR_KAFKA_TIMEOUT_MS;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(consumer, NULL);
	return rc;
}
