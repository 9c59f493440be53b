/* fuzz_reset.c — libFuzzer target: the reset forms written to a group's
 * partition-<N> (tfs_reset_parse). See fuzz_names.c for how targets are run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum store_seek how = (enum store_seek)99;
	int64_t value = 12345;
	int rc = tfs_reset_parse((const char *)data, size, &how, &value);
	if (rc != 0) {
		/* Refused: nothing set. */
		if (how != (enum store_seek)99 || value != 12345)
			abort();
		return 0;
	}
	switch (how) {
	case STORE_SEEK_OFFSET:
		if (value < 0)
			abort();
		break;
	case STORE_SEEK_EARLIEST:
	case STORE_SEEK_LATEST:
		if (value != 0)
			abort();
		break;
	case STORE_SEEK_SHIFT:
		break;
	case STORE_SEEK_TIME: {
		/* A Z time reads back the same through gmtime. */
		const char *p = memchr(data, 'T', size);
		if (p && size >= 20 && memchr(data, 'Z', size) && value >= 0) {
			time_t s = (time_t)(value / 1000);
			struct tm tm;
			char buf[32];
			if (!gmtime_r(&s, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm) == 0)
				abort();
			const char *q = (const char *)data;
			while (*q == ' ' || *q == '\t')
				q++;
			if (memcmp(q, buf, 16) != 0)
				abort(); /* to the minute: a leap second reads as :59 */
		}
		break;
	}
	default:
		abort();
	}
	/* Deterministic. */
	enum store_seek how2;
	int64_t value2;
	if (tfs_reset_parse((const char *)data, size, &how2, &value2) != 0 || how2 != how ||
	    value2 != value)
		abort();
	return 0;
}
