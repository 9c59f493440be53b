/* numbers.c — canonical decimal numbers in names, so each record has one name. */
#include <errno.h>

#include "numbers.h"

int tfs_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
