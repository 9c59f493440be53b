/* open_writer.c — long-lived writers: each keeps one descriptor open and makes
 * one write() per 100-byte record, as nginx's access_log or a logging library
 * does. Usage: open_writer PATH RECORDS_PER_WRITER WRITERS; prints the records
 * per second of all writers together. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_records(const char *path, long n, int id)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	char rec[100];
	for (long i = 0; i < n; i++) {
		int k = snprintf(rec, sizeof rec, "w%d-%ld ", id, i);
		memset(rec + k, 'x', sizeof rec - 1 - k);
		rec[sizeof rec - 1] = '\n';
		if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec) {
			perror("write");
			return 1;
		}
	}
	return close(fd) != 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s PATH RECORDS_PER_WRITER WRITERS\n", argv[0]);
		return 2;
	}
	long n = atol(argv[2]);
	int writers = atoi(argv[3]);
	double t0 = now();
	for (int w = 0; w < writers; w++)
		if (fork() == 0)
			_exit(write_records(argv[1], n, w));
	int failed = 0, st;
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	double t = now() - t0;
	printf("%.0f\n", n * writers / t);
	return failed;
}
