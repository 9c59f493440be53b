/* partitioner.c — Kafka's default partitioner, so keys land where Kafka puts them. */
#include "config.h"

/* org.apache.kafka.common.utils.Utils.murmur2, in unsigned arithmetic (Java's
 * int wraps; C's signed int must not). */
int32_t store_murmur2(const void *data, size_t len)
{
	const unsigned char *p = data;
	const uint32_t seed = 0x9747b28cu, m = 0x5bd1e995u;
	const int r = 24;
	uint32_t h = seed ^ (uint32_t)len;
	size_t len4 = len / 4;
	for (size_t i = 0; i < len4; i++) {
		const unsigned char *q = p + 4 * i;
		uint32_t k = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
			     (uint32_t)q[3] << 24;
		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
	}
	const unsigned char *tail = p + (len & ~(size_t)3);
	switch (len % 4) {
	case 3:
		h ^= (uint32_t)tail[2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)tail[1] << 8;
		/* fall through */
	case 1:
		h ^= tail[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	/* Two's complement reinterpretation without implementation-defined casts. */
	return h <= INT32_MAX ? (int32_t)h : -(int32_t)(~h) - 1;
}

uint32_t store_partition_for_key(const void *key, size_t len, uint32_t partitions)
{
	if (partitions == 0)
		return 0;
	uint32_t positive = (uint32_t)store_murmur2(key, len) & 0x7fffffffu;
	return positive % partitions;
}
