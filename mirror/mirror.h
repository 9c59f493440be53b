/* mirror.h — ships the store's topics to a Kafka cluster, exactly once. No FUSE.
 *
 * One thread per store. Each record of a mirrored topic goes to the Kafka
 * topic of the same name (or prefix + name), same partition number, key,
 * value and timestamp, with headers host, topic, partition and offset (text)
 * saying where it came from. The thread sleeps until the store announces an
 * append (store_subscribe) or Kafka reports deliveries. */
#ifndef TOPICFS_MIRROR_H
#define TOPICFS_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct mirror_options {
	const char *brokers;      /* bootstrap broker(s), HOST:PORT[,...] */
	const char *topics;       /* POSIX extended regex the whole name must match; NULL: all */
	const char *prefix;       /* put before the Kafka topic's name; NULL: none */
	const char *host;         /* the host header; NULL: the machine's hostname */
	const char *const *props; /* librdkafka properties: name, value, ..., NULL */
	/* Where messages go; level is syslog's. Called from any thread. */
	void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

struct mirror;

/* Starts the mirror thread on s (which must outlive it). EINVAL: a bad regex
 * or librdkafka property (logged with the reason); ENOMEM. The cluster need
 * not be up: shipping waits for it. */
int mirror_start(struct mirror **out, struct store *s, const struct mirror_options *o);
/* Stops the thread; what Kafka has not confirmed is shipped again next time. */
void mirror_stop(struct mirror *m);

struct mirror_status {
	uint64_t next;   /* the next offset to ship: all below are in Kafka or lost */
	uint64_t lost;   /* records retention deleted before they were shipped */
	char error[256]; /* why the partition is not shipping; "" when it is (or waits) */
};

/* The status of partition gpid. ENOENT: not a partition the mirror knows
 * (yet); ENODATA: its topic is not mirrored (mirror.topics). Any thread. */
int mirror_status(struct mirror *m, uint32_t gpid, struct mirror_status *out);

#endif
