/* kafka_mock.c — a 3-broker Kafka mock cluster (librdkafka's) for the tests.
 *
 * Prints its bootstrap address on the first line of stdout, then reads one
 * command a line on stdin and answers "ok" (or "error: ...") to each:
 *   down N | up N     broker N (1..3) stops or starts answering
 *   all down | all up every broker
 *   topic NAME N      creates topic NAME with N partitions
 *   rtt N MS          broker N answers MS milliseconds late (0: at once)
 *   errors API E...   the next requests of Kafka API key API fail with the
 *                     error codes E, one each (e.g. "errors 0 6 6": two
 *                     Produce requests answered NOT_LEADER_FOR_PARTITION)
 *   quit              (or end of input) stops the cluster */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BROKERS 3

static int set_state(rd_kafka_mock_cluster_t *mc, int broker, int up)
{
	rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(mc, broker)
				     : rd_kafka_mock_broker_set_down(mc, broker);
	return err ? -1 : 0;
}

int main(void)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The cluster lives in a client handle of its own; it never connects. */
	if (rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, BROKERS);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
		return 1;
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	char line[512];
	while (fgets(line, sizeof line, stdin)) {
		char a[256] = "", b[256] = "";
		int n = sscanf(line, "%255s %255s", a, b), rc = -1;
		if (n >= 1 && strcmp(a, "quit") == 0)
			break;
		if (n == 2 && strcmp(a, "all") == 0 && (!strcmp(b, "down") || !strcmp(b, "up"))) {
			rc = 0;
			for (int i = 1; i <= BROKERS; i++)
				rc |= set_state(mc, i, strcmp(b, "up") == 0);
		} else if (n == 2 && (!strcmp(a, "down") || !strcmp(a, "up"))) {
			rc = set_state(mc, atoi(b), strcmp(a, "up") == 0);
		} else if (n == 2 && strcmp(a, "rtt") == 0) {
			int broker = 0, ms = -1;
			if (sscanf(line, "%*s %d %d", &broker, &ms) == 2 && ms >= 0)
				rc = rd_kafka_mock_broker_set_rtt(mc, broker, ms) ? -1 : 0;
		} else if (n == 2 && strcmp(a, "errors") == 0) {
			rd_kafka_resp_err_t errs[64];
			size_t cnt = 0;
			int api = atoi(b), used = 0;
			char *p = line;
			/* Skip the command and the API key, then read the codes. */
			for (int skip = 0; skip < 2 && sscanf(p, "%*s%n", &used) >= 0; skip++)
				p += used;
			int code;
			while (cnt < 64 && sscanf(p, "%d%n", &code, &used) == 1) {
				errs[cnt++] = (rd_kafka_resp_err_t)code;
				p += used;
			}
			if (cnt) {
				rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, cnt, errs);
				rc = 0;
			}
		} else if (n == 2 && strcmp(a, "topic") == 0) {
			int parts = 0;
			char name[256];
			if (sscanf(line, "%*s %255s %d", name, &parts) == 2 && parts > 0)
				rc = rd_kafka_mock_topic_create(mc, name, parts, 1) ? -1 : 0;
		}
		printf(rc == 0 ? "ok\n" : "error: %s", rc == 0 ? "" : line);
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
