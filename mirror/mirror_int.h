/* mirror_int.h — what the mirror's files share: its state and their entry points. */
#ifndef TOPICFS_MIRROR_INT_H
#define TOPICFS_MIRROR_INT_H

#include <pthread.h>
#include <regex.h>
#include <syslog.h>

#include <librdkafka/rdkafka.h>

#include "mirror.h"

#define SAVE_MS 200         /* progress is saved at most this often */
#define RETRY_MS 2000       /* a topic the cluster did not answer for is tried again */
#define MISMATCH_RETRY_MS 30000
/* Records read from the store per partition and turn. With the producer's
 * queue of 20,000, turns of 2048 keep ~10 partitions in flight across the
 * brokers at once; turns of 8192 kept two or three, whose last partial batch
 * then waited for linger.ms with the queue full behind it. Three A/B runs at
 * linger.ms 5: 0.97-1.06 M vs 0.76-1.00 M records/s, and less CPU per record
 * (bench/PROFILE.md). A partition ships one turn per pass: a backlog in one
 * does not hold the others back. */
#define SCAN_CHUNK 2048

enum topic_state { T_SETUP, T_READY, T_STOPPED, T_EXCLUDED, T_GONE };

struct mtopic;

struct mpart {
	uint32_t gpid, index;
	struct mtopic *t;
	int ready;             /* thread: resumed, may ship */
	int resync;            /* thread: a delivery failed; resume again once drained */
	uint64_t oversize;     /* thread: 1 + the offset of a record Kafka refused as too big */
	uint64_t next_send;    /* thread: the next offset to produce */
	uint64_t inflight;     /* thread: produced, not reported */
	int64_t created_ms;    /* the topic's, for the tail scan */
	int dirty;             /* thread: acked moved since the last save */
	/* Thread: the highest delivery reported in the current poll (0: none),
	 * applied to acked once per poll (mirror.c), not under the lock per
	 * message; the partition is then on m->reported. */
	uint64_t reported;
	int64_t reported_kafka_offset;
	struct mpart *next_reported;
	/* Under m->lock: */
	uint64_t acked;        /* all below are delivered or lost */
	uint64_t lost;
	int64_t kafka_offset;  /* where the record below acked lies in Kafka; -1 unknown */
	uint64_t end;          /* the store's end, from events */
};

struct mtopic {
	uint32_t id;
	char name[STORE_TOPIC_NAME_MAX + 1];
	char *dest;               /* the Kafka topic's name */
	uint32_t nparts;
	struct mpart **parts;     /* [nparts]; never freed while the mirror runs */
	enum topic_state state;   /* m->lock */
	int64_t retry_at;         /* thread: next setup attempt (monotonic ms) */
	rd_kafka_topic_t *rkt;    /* thread */
	char error[256];          /* m->lock */
	int gone;                 /* m->lock: the store deleted it */
	int waiting;              /* thread: "waits for Kafka" was logged */
};

struct mirror {
	struct store *s;
	struct mirror_options o;
	char host[256];
	regex_t re;
	int has_re;
	rd_kafka_t *rk;           /* the producer */
	rd_kafka_t *consumer;     /* reads tails */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;             /* lock */
	int work;                 /* lock: an event came */
	int rescan;               /* lock: an append to a partition not known yet */
	int fatal;                /* lock: the producer hit a fatal error */
	/* The known topics and, sorted by gpid, their partitions (lock). */
	struct mtopic **topics;
	size_t ntopics;
	struct mpart **bygpid;
	size_t nparts, cap_parts;
	int64_t last_save;
	/* Shipping (thread only): */
	size_t next_topic;        /* where the next pass begins: m->topics[next_topic] */
	uint32_t next_part;       /* ... its partition next_part */
	size_t turn_left;         /* records left of that partition's turn; 0: a whole one */
	struct mpart *reported;   /* partitions with deliveries not applied yet */
};

#define LOG(m, level, ...) ((m)->o.log(level, __VA_ARGS__))

/* --- mirror.c --- */

int64_t mirror_mono_ms(void);
/* Whether mirror_stop is waiting for the thread (then it skips slow steps). */
int mirror_is_stopping(struct mirror *m);
/* Lookups, m->lock held. */
struct mpart *mirror_part(struct mirror *m, uint32_t gpid);
struct mtopic *mirror_topic(struct mirror *m, uint32_t id);
/* The topic not deleted that ships to Kafka topic dest; mirror thread only. */
struct mtopic *mirror_topic_shipping_to(struct mirror *m, const char *dest);
/* Adds p to the gpid index; m->lock held. ENOMEM. */
int mirror_index_part(struct mirror *m, struct mpart *p);
/* After a fatal producer error: a new producer, every partition resumes. */
void mirror_producer_reset(struct mirror *m);

/* --- setup.c: topics known, checked against Kafka, partitions resumed --- */

/* Learns the store's topics and partitions not known yet. */
void mirror_rescan(struct mirror *m);
/* Sets up the topics that wait for it; returns when to try again (monotonic
 * ms), 0 if nothing waits. */
int64_t mirror_setup(struct mirror *m);

/* --- ship.c --- */

/* Produces what the ready partitions have; 1 if there is more to do now. */
int mirror_ship(struct mirror *m);
/* Saves the progress that moved, if SAVE_MS passed since the last save (or
 * force); returns when a save is due next, 0 if none. */
int64_t mirror_save(struct mirror *m, int force);

#endif
