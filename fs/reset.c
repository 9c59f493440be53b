/* reset.c — parsing Kafka's reset forms (kafka-consumer-groups --reset-offsets). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "reset.h"

/* Decimal digits [p, end) to *v, at most INT64_MAX; 0 or EINVAL. */
static int digits(const char *p, const char *end, int64_t *v)
{
	uint64_t x = 0;
	if (p == end)
		return EINVAL;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (x > ((uint64_t)INT64_MAX - d) / 10)
			return EINVAL;
		x = x * 10 + d;
	}
	*v = (int64_t)x;
	return 0;
}

/* Exactly n digits at p to *v. */
static int fixed(const char *p, const char *end, size_t n, int *v)
{
	int64_t x;
	if ((size_t)(end - p) < n || digits(p, p + n, &x))
		return EINVAL;
	*v = (int)x;
	return 0;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; y >= 1). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM) to ms since the epoch. */
static int iso8601(const char *p, const char *end, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, frac = 0;
	if (fixed(p, end, 4, &y) || end - p < 19 || p[4] != '-' || fixed(p + 5, end, 2, &mo) ||
	    p[7] != '-' || fixed(p + 8, end, 2, &d) || (p[10] != 'T' && p[10] != 't') ||
	    fixed(p + 11, end, 2, &h) || p[13] != ':' || fixed(p + 14, end, 2, &mi) ||
	    p[16] != ':' || fixed(p + 17, end, 2, &sec))
		return EINVAL;
	p += 19;
	if (p < end && *p == '.') {
		/* Milliseconds: 1 to 3 digits, as Kafka's tool writes them. */
		const char *q = ++p;
		while (q < end && *q >= '0' && *q <= '9' && q - p < 4)
			q++;
		if (q == p || q - p > 3)
			return EINVAL;
		for (const char *r = p; r < q; r++)
			frac = frac * 10 + (*r - '0');
		for (ptrdiff_t n = q - p; n < 3; n++)
			frac *= 10;
		p = q;
	}
	int64_t zone = 0;
	if (p < end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		int zh, zm, sign = *p == '-' ? -1 : 1;
		if (fixed(p + 1, end, 2, &zh) || end - p < 6 || p[3] != ':' ||
		    fixed(p + 4, end, 2, &zm) || zh > 23 || zm > 59)
			return EINVAL;
		zone = sign * (zh * 60 + zm);
		p += 6;
	} else {
		return EINVAL; /* no zone: the daemon's and the writer's may differ */
	}
	if (p != end || y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 || sec > 60)
		return EINVAL;
	if (sec == 60)
		sec = 59; /* a leap second: the epoch has none */
	int64_t s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zone * 60;
	*ms = s * 1000 + frac;
	return 0;
}

int tfs_reset_parse(const char *text, size_t len, enum store_seek *how, int64_t *value)
{
	const char *p = text, *end = text + len;
	if (end > p && end[-1] == '\n')
		end--;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - p);
	int64_t v = 0;
	enum store_seek h;
	if (n == 8 && memcmp(p, "earliest", 8) == 0) {
		h = STORE_SEEK_EARLIEST;
	} else if (n == 6 && memcmp(p, "latest", 6) == 0) {
		h = STORE_SEEK_LATEST;
	} else if (n > 1 && (*p == '+' || *p == '-')) {
		if (digits(p + 1, end, &v))
			return EINVAL;
		h = STORE_SEEK_SHIFT;
		if (*p == '-')
			v = -v;
	} else if (n > 1 && *p == '@') {
		if (digits(p + 1, end, &v))
			return EINVAL;
		h = STORE_SEEK_TIME;
	} else if (n >= 19 && p[4] == '-') {
		if (iso8601(p, end, &v))
			return EINVAL;
		h = STORE_SEEK_TIME;
	} else {
		if (digits(p, end, &v))
			return EINVAL;
		h = STORE_SEEK_OFFSET;
	}
	*how = h;
	*value = v;
	return 0;
}
