/* fuzz_log_escape.c — libFuzzer target: escaping user text for log lines (tfs_log_escape).
 * See fuzz_names.c for the list of targets and how they are run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logging.h"

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the output buffer's size: cuts must stay inside it. */
	if (size == 0)
		return 0;
	size_t cap = data[0];
	char *in = malloc(size);
	char *out = malloc(cap ? cap : 1);
	if (!in || !out)
		abort();
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	size_t len = tfs_log_escape(in, out, cap);
	if (cap == 0) {
		if (len != 0)
			abort();
		goto done;
	}
	/* Model: a NUL-terminated line of printable ASCII, no byte of it a line
	 * break or a control, that unescapes to a prefix of the input. */
	if (len >= cap || out[len] != '\0' || strlen(out) != len)
		abort();
	size_t i = 0;
	for (size_t o = 0; o < len; i++) {
		unsigned char c = (unsigned char)out[o];
		if (i >= size - 1 || c < 0x20 || c > 0x7e)
			abort();
		int byte;
		if (c == '\\') {
			if (o + 3 >= len)
				abort(); /* a cut never splits an escape */
			if (out[o + 1] != 'x' || hex(out[o + 2]) < 0 || hex(out[o + 3]) < 0)
				abort();
			byte = hex(out[o + 2]) * 16 + hex(out[o + 3]);
			o += 4;
		} else {
			byte = c;
			o++;
		}
		if ((unsigned char)in[i] != byte)
			abort();
	}
done:
	free(in);
	free(out);
	return 0;
}
