/* nodes.h — what each kind of node is, in one table: name, type, mode, access, TTLs, parent. */
#ifndef TOPICFS_NODES_H
#define TOPICFS_NODES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inode.h"

struct store_topic;

/* How a kind's nodes are named in their directory. */
enum tfs_naming {
	/* First, so that a kind the table forgot is no fixed entry of any
	 * directory (its name would be NULL). */
	TFS_NAMED_STORE,  /* by a name the store keeps: topics, groups, config names, keys */
	TFS_NAMED_FIXED,  /* one node per directory, named `name` */
	TFS_NAMED_NUMBER, /* `name` followed by a canonical decimal: partition-<N>, offset-<n> */
};

enum tfs_access {
	TFS_ACCESS_DIR,        /* a directory */
	TFS_ACCESS_READ,       /* a file opened for reading only */
	TFS_ACCESS_WRITE,      /* a file opened for writing only */
	TFS_ACCESS_READ_WRITE, /* a file opened any way (config/<name>) */
	TFS_ACCESS_READ_OR_WRITE, /* for reading or for writing, not both (a group's partition-<N>) */
};

struct tfs_kind_info {
	const char *name;      /* the fixed name, the number's prefix, or NULL (store-named) */
	const char *what;      /* how log lines call it: "produce", "keys/<key>" */
	enum tfs_naming naming;
	mode_t type;           /* S_IFDIR or S_IFREG */
	/* Which of the topic directory's permission bits it takes (the root's
	 * are 01777): a chmod or chown of the topic governs all in it. */
	mode_t bits;
	enum tfs_access access;
	/* What the kernel may cache: the name (entry) and the attributes. */
	double entry_ttl, attr_ttl;
	enum tfs_kind parent;  /* TFS_ROOT for the root itself */
	/* NULL: always there; else whether the mount has such nodes now
	 * (partition-<N>/mirrored only with -o mirror=). */
	bool (*is_present)(void);
};

/* The kind's row; k must be a valid kind. */
const struct tfs_kind_info *tfs_kind_info(enum tfs_kind k);
/* Whether nodes of kind k exist on this mount (its is_present, if any). */
bool tfs_kind_is_present(enum tfs_kind k);
/* Whether a node's id is a partition's gpid (the partition and the nodes in
 * it), rather than a topic or group id. */
bool tfs_kind_is_partition_level(enum tfs_kind k);
/* Whether it is consumers/ or in it: fs/groups.c and fs/consume.c serve it. */
bool tfs_kind_is_group(enum tfs_kind k);
bool tfs_kind_is_dir(enum tfs_kind k);
/* Whether setattr may truncate it: the files written to. */
bool tfs_kind_is_writable(enum tfs_kind k);
/* Whether a file of kind k may be opened with access mode acc (O_RDONLY,
 * O_WRONLY or O_RDWR). */
bool tfs_kind_is_open_allowed(enum tfs_kind k, int acc);
/* "read-only", "write-only", "read-write" or "a directory": for log lines. */
const char *tfs_kind_access_name(enum tfs_kind k);
/* How many of the fixed children of directory kind dir are directories:
 * each has a ".." that counts in dir's link count. */
unsigned tfs_kind_fixed_subdirs(enum tfs_kind dir);
/* The fixed child of directory kind dir named name, present on this mount:
 * true and *child set, or false. */
bool tfs_kind_fixed_child(enum tfs_kind dir, const char *name, enum tfs_kind *child);

/* Who owns a node of topic t and the topic directory's permission bits.
 * Everything in a topic takes its owner from the topic directory, and its
 * bits from the topic's (as the kind's `bits` say), so a chmod or chown of
 * the topic governs all of it. */
struct tfs_owner {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* the topic directory's permission bits */
};
struct tfs_owner tfs_topic_owner(const struct store_topic *t);

/* Readdir cookies. Every directory lists ".", "..", then its fixed children
 * in table order, then its numbered or store-named children. A fixed child's
 * cookie is TFS_COOKIE_FIXED + its kind: kinds are only ever added at the end
 * (their values are in inode numbers), so a new fixed entry takes a cookie no
 * other entry had. The other children's cookies are TFS_COOKIE_NUMBERED + the
 * number that orders them (partition index, offset, topic/group id, config
 * key), past every fixed cookie whatever kinds are added. A readdir resumed
 * at cookie c lists the entries whose cookies are above c. */
#define TFS_COOKIE_DOT 1
#define TFS_COOKIE_DOTDOT 2
#define TFS_COOKIE_FIXED 3
#define TFS_COOKIE_NUMBERED 64
_Static_assert(TFS_COOKIE_FIXED + TFS_KIND_COUNT <= TFS_COOKIE_NUMBERED,
	       "fixed cookies must stay below the numbered ones");

static inline off_t tfs_cookie_fixed(enum tfs_kind k)
{
	return TFS_COOKIE_FIXED + (off_t)k;
}

static inline off_t tfs_cookie_numbered(uint64_t number)
{
	return TFS_COOKIE_NUMBERED + (off_t)number;
}

/* The first number to list when resuming at cookie off. */
static inline uint64_t tfs_cookie_next_number(off_t off)
{
	return off < TFS_COOKIE_NUMBERED ? 0 : (uint64_t)(off - TFS_COOKIE_NUMBERED) + 1;
}

#endif
