/* check.h — a tiny test harness: stop at the first failure, say where and why. */
#ifndef TOPICFS_CHECK_H
#define TOPICFS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails the run unless cond holds; msg says what the user would have seen. */
#define CHECK(cond, msg)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, msg, #cond); \
			exit(1);                                                            \
		}                                                                           \
	} while (0)

/* Fails unless expr returns want (0 or an errno), printing both as text. */
#define CHECK_RC(expr, want)                                                                \
	do {                                                                                \
		int check_rc_ = (expr), check_want_ = (want);                               \
		if (check_rc_ != check_want_) {                                             \
			fprintf(stderr, "%s:%d: %s: got %d (%s), want %d (%s)\n", __FILE__,  \
				__LINE__, #expr, check_rc_, strerror(check_rc_), check_want_, \
				strerror(check_want_));                                     \
			exit(1);                                                            \
		}                                                                           \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

#endif
