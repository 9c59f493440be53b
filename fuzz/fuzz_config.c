/* fuzz_config.c — libFuzzer target: config values (store_config_parse and
 * store_config_format), checked against a model and for a lossless round trip.
 * See fuzz_names.c for the list of targets and how they are run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The documented grammar: one trailing '\n' dropped, blanks (space, tab)
 * around an optional '-' and decimal digits, value in [min, max]. */
static int model_int(const char *p, size_t len, int64_t min, int64_t max, int64_t *out)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	int neg = len && *p == '-';
	if (neg)
		p++, len--;
	if (len == 0)
		return 0;
	__int128 v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (p[i] - '0');
		if (v > ((__int128)1 << 64))
			return 0;
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return 0;
	*out = (int64_t)v;
	return 1;
}

/* framing: "lines" or "writes", blanks around it allowed. */
static int model_framing(const char *p, size_t len, int64_t *out)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 5 && memcmp(p, "lines", 5) == 0)
		*out = STORE_FRAMING_LINES;
	else if (len == 6 && memcmp(p, "writes", 6) == 0)
		*out = STORE_FRAMING_WRITES;
	else
		return 0;
	return 1;
}

static int64_t field(const struct store_config *c, int key)
{
	switch (key) {
	case STORE_CFG_FRAMING: return c->framing;
	case STORE_CFG_PARTITIONS: return c->partitions;
	case STORE_CFG_RETENTION_MS: return c->retention_ms;
	case STORE_CFG_RETENTION_BYTES: return c->retention_bytes;
	default: return c->max_message_bytes;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int key = data[0] % (STORE_CFG_COUNT + 1); /* includes one unknown key */
	size_t len = size - 1;
	char *text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, len);

	struct store_config cfg, before;
	store_config_defaults(&cfg);
	before = cfg;
	int rc = store_config_parse(&cfg, (enum store_config_key)key, text, len);
	size_t tl = len && text[len - 1] == '\n' ? len - 1 : len;
	int64_t want = 0;
	int ok;
	switch (key) {
	case STORE_CFG_PARTITIONS: ok = model_int(text, tl, 1, STORE_PARTITIONS_MAX, &want); break;
	case STORE_CFG_RETENTION_MS:
	case STORE_CFG_RETENTION_BYTES: ok = model_int(text, tl, -1, INT64_MAX, &want); break;
	case STORE_CFG_MAX_MESSAGE_BYTES: ok = model_int(text, tl, 0, STORE_MESSAGE_MAX, &want); break;
	case STORE_CFG_KEY_SEPARATOR:
		ok = tl <= STORE_SEPARATOR_MAX && !memchr(text, '\n', tl) && !memchr(text, 0, tl);
		break;
	case STORE_CFG_FRAMING: ok = model_framing(text, tl, &want); break;
	default: ok = 0; break;
	}
	if (!ok) {
		/* Rejected, and cfg unchanged. */
		if (rc == 0 || memcmp(&cfg, &before, sizeof cfg) != 0)
			abort();
		free(text);
		return 0;
	}
	if (rc != 0 || store_config_check(&cfg) != 0)
		abort();
	if (key == STORE_CFG_KEY_SEPARATOR) {
		if (strlen(cfg.key_separator) != tl || memcmp(cfg.key_separator, text, tl) != 0)
			abort();
	} else if (field(&cfg, key) != want) {
		abort();
	}

	/* Round trip: format, parse back, same value; a too-small buffer truncates
	 * like snprintf and reports the full length. */
	char buf[64];
	size_t n = store_config_format(&cfg, (enum store_config_key)key, buf, sizeof buf);
	if (n == 0 || n >= sizeof buf || buf[n - 1] != '\n' || strlen(buf) != n)
		abort();
	for (size_t small = 0; small <= n; small++) {
		char tiny[64];
		memset(tiny, 'Z', sizeof tiny);
		if (store_config_format(&cfg, (enum store_config_key)key, tiny, small) != n)
			abort();
		if (small && (tiny[small - 1] != '\0' || memcmp(tiny, buf, small - 1) != 0))
			abort();
		if (tiny[small] != 'Z' && small < sizeof tiny)
			abort();
	}
	struct store_config back;
	store_config_defaults(&back);
	if (store_config_parse(&back, (enum store_config_key)key, buf, n) != 0)
		abort();
	if (memcmp(&back, &cfg, sizeof cfg) != 0)
		abort();
	free(text);
	return 0;
}
