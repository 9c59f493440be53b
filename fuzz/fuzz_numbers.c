/* fuzz_numbers.c — libFuzzer target: canonical offset numbers (tfs_parse_u64).
 * See fuzz_names.c for the list of targets and how they are run. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numbers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t len = strlen(s);

	/* Model: canonical = "0" or [1-9][0-9]*, value by strtoull, ERANGE past 2^64-1. */
	int canonical = len > 0 && (len == 1 || s[0] != '0');
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			canonical = 0;
	uint64_t v = 12345, want = 0;
	int rc = tfs_parse_u64(s, &v);
	if (!canonical) {
		/* Refused as EINVAL, however many digits come first; *out untouched. */
		if (rc != EINVAL || v != 12345)
			abort();
	} else {
		errno = 0;
		unsigned long long m = strtoull(s, NULL, 10);
		want = m;
		if (errno == ERANGE) {
			if (rc != ERANGE || v != 12345)
				abort();
		} else if (rc != 0 || v != want) {
			abort();
		}
	}
	free(s);
	return 0;
}
