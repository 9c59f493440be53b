/* kafka_bare.c — the ceiling for the mirror's benchmark: a bare librdkafka
 * producer of the records the mirror would ship (same values, origin header, config).
 *
 * usage: kafka_bare BOOTSTRAP TOPIC PARTITIONS RECORDS [plain]
 * Prints "records seconds" once every record is confirmed. With "plain": no
 * headers and librdkafka's default settings (the ceiling of the client alone). */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *arg)
{
	(void)rk, (void)arg;
	if (m->err)
		failed++;
	else
		delivered++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5 && !(argc == 6 && strcmp(argv[5], "plain") == 0)) {
		fprintf(stderr, "usage: kafka_bare BOOTSTRAP TOPIC PARTITIONS RECORDS [plain]\n");
		return 2;
	}
	int plain = argc == 6;
	const char *topic = argv[2];
	int parts = atoi(argv[3]);
	long n = atol(argv[4]);
	char es[512];
	/* As the mirror does (mirror/mirror.c, mirror_start): with the header's
	 * blocks glibc's fastbins double this producer's CPU. The header-less
	 * producer stays on glibc's defaults (they make no difference to it). */
	if (!plain)
		mallopt(M_MXFAST, 0);
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	/* The mirror's own settings (mirror/mirror.c make_conf). */
	const char *kv[][2] = {{"bootstrap.servers", argv[1]},  {"enable.idempotence", "true"},
			       {"enable.gapless.guarantee", "true"}, {"message.timeout.ms", "0"},
			       {"linger.ms", "5"},                  {"allow.auto.create.topics", "false"},
			       {"queue.buffering.max.messages", "20000"}, {"log_level", "3"}};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if ((!plain || i == 0) && rd_kafka_conf_set(c, kv[i][0], kv[i][1], es, sizeof es) != RD_KAFKA_CONF_OK) {
			fprintf(stderr, "kafka_bare: %s\n", es);
			return 1;
		}
	rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es);
	if (!rk) {
		fprintf(stderr, "kafka_bare: %s\n", es);
		return 1;
	}
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	char value[99];
	memset(value, 'x', sizeof value);
	uint64_t *next = calloc((size_t)parts, sizeof *next);
	double t0 = now();
	for (long i = 0; i < n;) {
		/* Turns of 2048 records per partition, as the mirror ships them
		 * (SCAN_CHUNK). The ceiling keeps the turns of 8192 of earlier
		 * rounds: with librdkafka's 100,000-message queue it ships faster
		 * so (bench/PROFILE.md), and the ceiling is the best of the two. */
		int p = (int)((i / (plain ? 8192 : 2048)) % parts);
		/* The mirror's topicfs.origin header, HOST/TOPIC/PARTITION/OFFSET. */
		char origin[320];
		int len = snprintf(origin, sizeof origin, "bench/%s/%d/%" PRIu64, topic, p, next[p]);
		rd_kafka_resp_err_t e = plain ? rd_kafka_producev(
			rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(p),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, sizeof value),
			RD_KAFKA_V_END) : rd_kafka_producev(
			rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(p),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, sizeof value),
			RD_KAFKA_V_TIMESTAMP(0), RD_KAFKA_V_HEADER("topicfs.origin", origin, len),
			RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			/* Returns as soon as reports free the queue. */
			rd_kafka_poll(rk, 100);
			continue;
		}
		if (e) {
			fprintf(stderr, "kafka_bare: %s\n", rd_kafka_err2str(e));
			return 1;
		}
		next[p]++;
		if (++i % 1024 == 0)
			rd_kafka_poll(rk, 0);
	}
	while (delivered + failed < n)
		rd_kafka_poll(rk, 50);
	double t = now() - t0;
	printf("%ld %.3f\n", delivered, t);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	free(next);
	return failed ? 1 : 0;
}
