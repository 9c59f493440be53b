/* crc32_test.c — the WAL's and the snapshot's checksum (store/crc32.c): zlib's CRC-32. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "store_int.h"
#include "unit_tests.h"

static uint32_t crc_bytewise(const unsigned char *p, size_t len)
{
	uint32_t c = ~0u;
	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
	}
	return ~c;
}

void test_crc32_is_zlibs(void)
{
	CHECK(store_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value");
	CHECK(store_crc32(0, "", 0) == 0, "CRC-32 of nothing");
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len += 1 + len / 16)
		for (size_t off = 0; off < 8; off++) {
			if (off + len > sizeof(buf))
				break;
			uint32_t want = crc_bytewise(buf + off, len);
			CHECK(store_crc32(0, buf + off, len) == want, "slice-by-8 differs from bytewise");
			size_t half = len / 3;
			CHECK(store_crc32(store_crc32(0, buf + off, half), buf + off + half, len - half) == want,
			      "CRC fed in two parts differs");
		}
}
