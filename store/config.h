/* config.h — per-topic settings, named and parsed as Kafka names them. */
#ifndef TOPICFS_CONFIG_H
#define TOPICFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_TOPIC_NAME_MAX 249
#define STORE_PARTITIONS_MAX 4096
#define STORE_SEPARATOR_MAX 16
#define STORE_MESSAGE_MAX (64 * 1024 * 1024) /* upper bound for max.message.bytes */

enum store_config_key {
	STORE_CFG_PARTITIONS,
	STORE_CFG_RETENTION_MS,
	STORE_CFG_RETENTION_BYTES,
	STORE_CFG_MAX_MESSAGE_BYTES,
	STORE_CFG_KEY_SEPARATOR,
	STORE_CFG_FRAMING,
	STORE_CFG_COUNT
};

/* How the bytes written to produce become records (config/framing). */
enum store_framing {
	STORE_FRAMING_LINES,  /* "lines": each '\n'-terminated line is a record */
	STORE_FRAMING_WRITES, /* "writes": each write() is a record, byte for byte */
};

struct store_config {
	uint32_t partitions;       /* 1 .. STORE_PARTITIONS_MAX */
	int64_t retention_ms;      /* -1: forever, else >= 0 */
	int64_t retention_bytes;   /* -1: unlimited, else >= 0; per partition */
	int64_t max_message_bytes; /* 0 .. STORE_MESSAGE_MAX */
	char key_separator[STORE_SEPARATOR_MAX + 1]; /* "" = lines carry no key */
	uint32_t framing;          /* enum store_framing */
};

/* Kafka's defaults: 1 partition, 7 days, unlimited bytes, 1 MiB records, no separator. */
void store_config_defaults(struct store_config *cfg);

/* The setting's name ("retention.ms", ...), or NULL for an unknown key. */
const char *store_config_name(enum store_config_key key);
/* The key for a name into *key: 0, or ENOENT if no setting has that name. */
int store_config_lookup(const char *name, enum store_config_key *key);

/* Parses text (len bytes; one trailing "\n" is ignored; numbers may have
 * surrounding blanks) into cfg's field. EINVAL: not a valid value (cfg unchanged).
 * Numbers are decimal integers in the field's range; key.separator is 0..16
 * bytes without '\n' or NUL (empty disables key parsing); framing is "lines" or
 * "writes" (blanks around it allowed). */
int store_config_parse(struct store_config *cfg, enum store_config_key key, const char *text,
		       size_t len);

/* Writes the value as text plus "\n" into buf (NUL-terminated); returns its length.
 * Like snprintf, a too-small buf gets a truncated text and the full length. */
size_t store_config_format(const struct store_config *cfg, enum store_config_key key, char *buf,
			   size_t size);

/* Kafka's topic-name rule: 1..249 of [a-zA-Z0-9._-], not "." or "..".
 * Whether name[0..len) keeps it (also for consumer group names). */
bool store_name_is_valid(const char *name, size_t len);

/* Kafka's murmur2 (as in org.apache.kafka.common.utils.Utils.murmur2). */
int32_t store_murmur2(const void *data, size_t len);
/* toPositive(murmur2(key)) % partitions. */
uint32_t store_partition_for_key(const void *key, size_t len, uint32_t partitions);

#endif
