/* config.c — per-topic settings: defaults, names, strict text parsing and formatting. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char *const names[STORE_CFG_COUNT] = {
	[STORE_CFG_PARTITIONS] = "partitions",
	[STORE_CFG_RETENTION_MS] = "retention.ms",
	[STORE_CFG_RETENTION_BYTES] = "retention.bytes",
	[STORE_CFG_MAX_MESSAGE_BYTES] = "max.message.bytes",
	[STORE_CFG_KEY_SEPARATOR] = "key.separator",
	[STORE_CFG_FRAMING] = "framing",
};

static const char *const framings[] = {
	[STORE_FRAMING_LINES] = "lines",
	[STORE_FRAMING_WRITES] = "writes",
};
#define FRAMING_COUNT (sizeof(framings) / sizeof(framings[0]))

void store_config_defaults(struct store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->partitions = 1;
	cfg->retention_ms = 7LL * 24 * 60 * 60 * 1000;
	cfg->retention_bytes = -1;
	cfg->max_message_bytes = 1024 * 1024;
}

const char *store_config_name(enum store_config_key key)
{
	if ((unsigned)key >= STORE_CFG_COUNT)
		return NULL;
	return names[key];
}

int store_config_lookup(const char *name, enum store_config_key *key)
{
	for (int k = 0; k < STORE_CFG_COUNT; k++)
		if (strcmp(name, names[k]) == 0) {
			*key = (enum store_config_key)k;
			return 0;
		}
	return ENOENT;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A decimal integer in [min, max], blanks around it allowed; the caller has
 * already dropped the one trailing "\n". */
static int parse_int(const char *p, size_t len, int64_t min, int64_t max, int64_t *out)
{
	while (len && is_blank(*p))
		p++, len--;
	while (len && is_blank(p[len - 1]))
		len--;
	int neg = 0;
	if (len && *p == '-')
		neg = 1, p++, len--;
	if (len == 0)
		return EINVAL;
	/* Magnitude up to 2^63 so that INT64_MIN itself parses before the range check. */
	const uint64_t limit = (uint64_t)INT64_MAX + 1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return EINVAL;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (limit - d) / 10)
			return EINVAL;
		v = v * 10 + d;
	}
	int64_t x;
	if (neg)
		x = v == limit ? INT64_MIN : -(int64_t)v;
	else if (v == limit)
		return EINVAL;
	else
		x = (int64_t)v;
	if (x < min || x > max)
		return EINVAL;
	*out = x;
	return 0;
}

/* One of the words of framings[], blanks around it allowed. */
static int parse_framing(const char *p, size_t len, uint32_t *out)
{
	while (len && is_blank(*p))
		p++, len--;
	while (len && is_blank(p[len - 1]))
		len--;
	for (uint32_t f = 0; f < FRAMING_COUNT; f++) {
		if (len == strlen(framings[f]) && memcmp(p, framings[f], len) == 0) {
			*out = f;
			return 0;
		}
	}
	return EINVAL;
}

static int separator_valid(const char *p, size_t len)
{
	return len <= STORE_SEPARATOR_MAX && !memchr(p, '\n', len) && !memchr(p, '\0', len);
}

int store_config_parse(struct store_config *cfg, enum store_config_key key, const char *text,
		       size_t len)
{
	if (len && text[len - 1] == '\n')
		len--;
	int64_t v;
	int rc;
	switch (key) {
	case STORE_CFG_PARTITIONS:
		rc = parse_int(text, len, 1, STORE_PARTITIONS_MAX, &v);
		if (rc == 0)
			cfg->partitions = (uint32_t)v;
		return rc;
	case STORE_CFG_RETENTION_MS:
		return parse_int(text, len, -1, INT64_MAX, &cfg->retention_ms);
	case STORE_CFG_RETENTION_BYTES:
		return parse_int(text, len, -1, INT64_MAX, &cfg->retention_bytes);
	case STORE_CFG_MAX_MESSAGE_BYTES:
		return parse_int(text, len, 0, STORE_MESSAGE_MAX, &cfg->max_message_bytes);
	case STORE_CFG_KEY_SEPARATOR:
		/* Kept byte for byte: a tab or a space is a fine separator. */
		if (!separator_valid(text, len))
			return EINVAL;
		memcpy(cfg->key_separator, text, len);
		cfg->key_separator[len] = '\0';
		return 0;
	case STORE_CFG_FRAMING:
		return parse_framing(text, len, &cfg->framing);
	default:
		return EINVAL;
	}
}

size_t store_config_format(const struct store_config *cfg, enum store_config_key key, char *buf,
			   size_t size)
{
	int n;
	switch (key) {
	case STORE_CFG_PARTITIONS:
		n = snprintf(buf, size, "%" PRIu32 "\n", cfg->partitions);
		break;
	case STORE_CFG_RETENTION_MS:
		n = snprintf(buf, size, "%" PRId64 "\n", cfg->retention_ms);
		break;
	case STORE_CFG_RETENTION_BYTES:
		n = snprintf(buf, size, "%" PRId64 "\n", cfg->retention_bytes);
		break;
	case STORE_CFG_MAX_MESSAGE_BYTES:
		n = snprintf(buf, size, "%" PRId64 "\n", cfg->max_message_bytes);
		break;
	case STORE_CFG_KEY_SEPARATOR:
		n = snprintf(buf, size, "%.*s\n", STORE_SEPARATOR_MAX, cfg->key_separator);
		break;
	case STORE_CFG_FRAMING:
		n = snprintf(buf, size, "%s\n",
			     cfg->framing < FRAMING_COUNT ? framings[cfg->framing] : "?");
		break;
	default:
		n = snprintf(buf, size, "%s", "");
		break;
	}
	return n < 0 ? 0 : (size_t)n;
}

int store_config_check(const struct store_config *cfg)
{
	if (cfg->partitions < 1 || cfg->partitions > STORE_PARTITIONS_MAX)
		return EINVAL;
	if (cfg->retention_ms < -1 || cfg->retention_bytes < -1)
		return EINVAL;
	if (cfg->max_message_bytes < 0 || cfg->max_message_bytes > STORE_MESSAGE_MAX)
		return EINVAL;
	if (cfg->framing >= FRAMING_COUNT)
		return EINVAL;
	const char *end = memchr(cfg->key_separator, '\0', sizeof(cfg->key_separator));
	if (!end || !separator_valid(cfg->key_separator, (size_t)(end - cfg->key_separator)))
		return EINVAL;
	return 0;
}
