/* numbers.c — canonical decimal numbers in names, so each record has one name. */
#include <errno.h>

#include "numbers.h"

int tfs_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int over = 0;
	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return EINVAL;
	/* Read to the end before judging the size: garbage after any number of
	 * digits is EINVAL, only a well-formed number too big is ERANGE. */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (over)
		return ERANGE;
	*out = v;
	return 0;
}
