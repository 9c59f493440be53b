/* fuzz_names.c — libFuzzer target: topic/group names (store_name_is_valid).
 *
 * The fuzz/ directory holds one libFuzzer target per parser of user input:
 *   fuzz_names    store_name_is_valid            Kafka's topic-name rule
 *   fuzz_config   store_config_parse/_format  config/<name> values, round trip
 *   fuzz_numbers  tfs_parse_u64               offset-<n> / partition-<N> names
 *   fuzz_batch    store_batch_decode/_record  the stored batch encoding
 *   fuzz_produce  tfs_producer_write/_flush   lines and writes framing into a real store
 *   fuzz_log_escape tfs_log_escape            user text in log lines
 *   fuzz_reset    tfs_reset_parse             a group's partition-<N> reset forms
 * Each target checks its parser against a small independent model, so it
 * finds wrong answers as well as crashes. Built with clang
 * -fsanitize=fuzzer,address,undefined into build/fuzz/; `make fuzz-smoke` runs
 * each for FUZZ_SMOKE_SECONDS (part of `make test`), `make fuzz` for
 * FUZZ_SECONDS; the corpora grow in build/fuzz/corpus/<target>/. A crash
 * leaves build/fuzz/crash-* to replay with `build/fuzz/<target> FILE`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* The rule, written out independently: 1..249 of [a-zA-Z0-9._-], not . or .. */
static int model(const uint8_t *s, size_t n)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	if (n == 0 || n > 249)
		return 0;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == 0 || !strchr(ok, s[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: ASan catches any read past the name. */
	char *name = malloc(size ? size : 1);
	if (!name)
		return 0;
	memcpy(name, data, size);
	int got = store_name_is_valid(name, size);
	if (got != model(data, size))
		abort();
	free(name);
	return 0;
}
