/* kafka.h — what the mirror asks the cluster: topics, partition counts, tails. */
#ifndef TOPICFS_MIRROR_KAFKA_H
#define TOPICFS_MIRROR_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* Milliseconds each question to the cluster may take before it counts as an
 * outage (and the mirror asks again later). */
#define MIRROR_KAFKA_TIMEOUT_MS 5000

/* Creates topic rkt with `partitions` partitions if it does not exist, then
 * reads how many partitions it has into *count. 0, or ETIMEDOUT (no answer:
 * the cluster is down) or EIO, with the reason in err. (librdkafka keeps one
 * topic object per name, with the opaque of the first: rkt is the caller's.) */
int mirror_kafka_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int partitions, int *count,
		       char *err, size_t err_size);

/* Where a shipped record came from, in one header (one is much cheaper to
 * produce than four: each costs the producer allocations per record):
 * HOST/TOPIC/PARTITION/OFFSET, the last three never holding a '/', so a host
 * name may. The whole value names a record uniquely among all mirrors. */
#define MIRROR_ORIGIN_HEADER "topicfs.origin"

/* Who wrote a record: its origin header but for the offset. */
struct mirror_origin {
	const char *host;
	const char *topic;
	uint32_t partition;
	int64_t not_before_ms; /* records older than this are of an earlier topic of that name */
};

/* The earliest offset kept (lo[i]) and the next to be written (hi[i]) of each
 * partition [0, n) of topic `name`, asked of all the leaders at once: a resume
 * of each partition in turn waited for a round trip each, and for a new
 * connection at each broker's first (~45 ms each on the mock). 0, or ETIMEDOUT
 * / EIO as mirror_kafka_topic. */
int mirror_kafka_watermarks(rd_kafka_t *rk, const char *name, uint32_t n, int64_t *lo,
			    int64_t *hi, char *err, size_t err_size);

/* Reads partition `partition` of topic `name`, whose watermarks are lo and hi,
 * from Kafka offset `from` (or lo, if that is later; from < 0: lo) up to hi,
 * and finds the highest source offset among the records of `o`: *next is that
 * + 1, 0 if none; *kafka_offset is where that record lies (-1 if none). 0, or
 * ETIMEDOUT / EIO as mirror_kafka_topic. */
int mirror_kafka_tail(rd_kafka_t *consumer, const char *name, int32_t partition, int64_t lo,
		      int64_t hi, int64_t from, const struct mirror_origin *o, uint64_t *next,
		      int64_t *kafka_offset, char *err, size_t err_size);

#endif
