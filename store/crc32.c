/* crc32.c — CRC-32 (zlib's polynomial) for the WAL's entries and the snapshot's slots.
 *
 * A write() checksums its WAL entry on the daemon's request path, so this is
 * slice-by-8 (eight bytes a step from eight tables), about four times the
 * speed of the byte-at-a-time loop; the result is the same CRC. */
#include <pthread.h>
#include <string.h>

#include "store_int.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slice-by-8 as written reads little-endian words");

static uint32_t tables[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_make(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
		tables[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][tables[t - 1][i] & 0xff];
}

uint32_t store_crc32(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&tables_once, tables_make);
	const unsigned char *p = data;
	uint32_t c = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
		    tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
		    tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
	}
	while (len--)
		c = tables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}
