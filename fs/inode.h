/* inode.h — the mapping between FUSE inode numbers and the nodes of the tree. */
#ifndef TOPICFS_INODE_H
#define TOPICFS_INODE_H

#include <stdint.h>

/* A kind's value is part of its nodes' inode numbers, which must not change
 * across versions: new kinds go at the end. */
enum tfs_kind {
	TFS_ROOT,
	TFS_TOPIC,      /* <topic>/ */
	TFS_PRODUCE,    /* <topic>/produce */
	TFS_KEYS,       /* <topic>/keys/ */
	TFS_KEY,        /* <topic>/keys/<key>; the key travels in the open file */
	TFS_CONFIG_DIR, /* <topic>/config/ */
	TFS_CONFIG,     /* <topic>/config/<name> */
	TFS_PARTITION,  /* <topic>/partition-<N>/ */
	TFS_LOG,        /* partition-<N>/log */
	TFS_START,      /* partition-<N>/start */
	TFS_END,        /* partition-<N>/end */
	TFS_OFFSET,     /* partition-<N>/offset-<n> */
	TFS_PART_PRODUCE, /* partition-<N>/produce */
	TFS_MIRRORED,   /* partition-<N>/mirrored (with -o mirror=) */
	/* Consumer groups (fs/groups.c): id is the topic id for consumers/, the
	 * group id (global, never reused) for the rest; sub the partition. */
	TFS_CONSUMERS,  /* <topic>/consumers/ */
	TFS_GROUP,      /* consumers/<group>/ */
	TFS_GROUP_PART, /* consumers/<group>/partition-<N> */
	TFS_CONSUME,    /* consumers/<group>/consume */
	TFS_FOLLOW,     /* consumers/<group>/follow */
	TFS_LAG,        /* consumers/<group>/lag */
	TFS_KIND_COUNT
};

struct tfs_node {
	enum tfs_kind kind;
	uint32_t id;     /* topic id, or gpid for partition-level kinds */
	uint32_t sub;    /* config key for TFS_CONFIG, partition for TFS_GROUP_PART */
	uint64_t offset; /* TFS_OFFSET: the low TFS_OFFSET_BITS of the offset */
};

#define TFS_OFFSET_BITS 40

uint64_t tfs_ino_make(enum tfs_kind kind, uint32_t id, uint32_t sub);
uint64_t tfs_ino_offset(uint32_t gpid, uint64_t offset);
/* 0, or EINVAL for a number no node ever had. */
int tfs_ino_parse(uint64_t ino, struct tfs_node *node);
/* The largest offset below end whose low TFS_OFFSET_BITS bits are `low`. */
uint64_t tfs_offset_widen(uint64_t low, uint64_t end);

#endif
