/* nodes.c — the table of node kinds: what lookup, stat, setattr, open and readdir know of each.
 *
 * One row per kind, indexed by the kind's value. The kinds' values are part of
 * inode numbers (inode.c), so rows are only added at the end; a fixed entry's
 * readdir cookie is derived from its kind (nodes.h), so a new row never moves
 * another entry's cookie. TTLs: what never changes (a record) is cached for an
 * hour; what grows or changes by itself (log, start, end, config values,
 * groups' offsets, the root's link count) never; the rest for a second, which
 * a topic's link count (more partitions) and a partition's mtime (its last
 * append) may lag by: lookup and getattr give the same TTL, and a kernel
 * checking permissions (default_permissions) does not ask for a topic's and
 * a partition's attributes at every path walk.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "mirrored.h"
#include "nodes.h"
#include "tfs.h"

#define TTL_NONE 0.0
#define TTL_STATIC 1.0
#define TTL_IMMUTABLE 3600.0

/* name, what, naming, type, bits, access, entry TTL, attr TTL, parent, is_present */
static const struct tfs_kind_info kinds[TFS_KIND_COUNT] = {
	[TFS_ROOT] = {NULL, "the mount's top", TFS_NAMED_STORE, S_IFDIR, 07777, TFS_ACCESS_DIR,
		      TTL_STATIC, TTL_NONE, TFS_ROOT, NULL},
	[TFS_TOPIC] = {NULL, "topic", TFS_NAMED_STORE, S_IFDIR, 07777, TFS_ACCESS_DIR, TTL_STATIC,
		       TTL_STATIC, TFS_ROOT, NULL},
	[TFS_PRODUCE] = {"produce", "produce", TFS_NAMED_FIXED, S_IFREG, 0222, TFS_ACCESS_WRITE,
			 TTL_STATIC, TTL_STATIC, TFS_TOPIC, NULL},
	[TFS_KEYS] = {"keys", "keys/", TFS_NAMED_FIXED, S_IFDIR, 0777, TFS_ACCESS_DIR, TTL_STATIC,
		      TTL_STATIC, TFS_TOPIC, NULL},
	/* Every key file of a topic shares one inode and its name is not cached:
	 * each open comes to create() with its key. */
	[TFS_KEY] = {NULL, "keys/<key>", TFS_NAMED_STORE, S_IFREG, 0222, TFS_ACCESS_WRITE, TTL_NONE,
		     TTL_STATIC, TFS_KEYS, NULL},
	[TFS_CONFIG_DIR] = {"config", "config/", TFS_NAMED_FIXED, S_IFDIR, 0555, TFS_ACCESS_DIR,
			    TTL_STATIC, TTL_STATIC, TFS_TOPIC, NULL},
	/* Readable by all who may read the topic, writable by its owner. */
	[TFS_CONFIG] = {NULL, "config/<name>", TFS_NAMED_STORE, S_IFREG, 0644,
			TFS_ACCESS_READ_WRITE, TTL_STATIC, TTL_NONE, TFS_CONFIG_DIR, NULL},
	[TFS_PARTITION] = {"partition-", "partition-<N>/", TFS_NAMED_NUMBER, S_IFDIR, 0555,
			   TFS_ACCESS_DIR, TTL_STATIC, TTL_STATIC, TFS_TOPIC, NULL},
	[TFS_LOG] = {"log", "log", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ, TTL_STATIC,
		     TTL_NONE, TFS_PARTITION, NULL},
	[TFS_START] = {"start", "start", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ,
		       TTL_STATIC, TTL_NONE, TFS_PARTITION, NULL},
	[TFS_END] = {"end", "end", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ, TTL_STATIC,
		     TTL_NONE, TFS_PARTITION, NULL},
	/* Retention may remove a record: its name is looked up every time. */
	[TFS_OFFSET] = {"offset-", "offset-<n>", TFS_NAMED_NUMBER, S_IFREG, 0444, TFS_ACCESS_READ,
			TTL_NONE, TTL_IMMUTABLE, TFS_PARTITION, NULL},
	[TFS_PART_PRODUCE] = {"produce", "partition-<N>/produce", TFS_NAMED_FIXED, S_IFREG, 0222,
			      TFS_ACCESS_WRITE, TTL_STATIC, TTL_STATIC, TFS_PARTITION, NULL},
	[TFS_MIRRORED] = {"mirrored", "mirrored", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ,
			  TTL_STATIC, TTL_NONE, TFS_PARTITION, tfs_mirror_is_on},
	/* Like the top of the mount: who may write the topic makes groups. */
	[TFS_CONSUMERS] = {"consumers", "consumers/", TFS_NAMED_FIXED, S_IFDIR, 07777,
			   TFS_ACCESS_DIR, TTL_STATIC, TTL_NONE, TFS_TOPIC, NULL},
	/* Groups come and go, offsets move: nothing of them is cached for long. */
	[TFS_GROUP] = {NULL, "consumers/<group>/", TFS_NAMED_STORE, S_IFDIR, 0555, TFS_ACCESS_DIR,
		       TTL_STATIC, TTL_NONE, TFS_CONSUMERS, NULL},
	/* Read for the committed offset, written to commit one. */
	[TFS_GROUP_PART] = {"partition-", "consumers/<group>/partition-<N>", TFS_NAMED_NUMBER,
			    S_IFREG, 0666, TFS_ACCESS_READ_OR_WRITE, TTL_STATIC, TTL_NONE,
			    TFS_GROUP, NULL},
	/* Reading commits: reading is what a consumer may do. */
	[TFS_CONSUME] = {"consume", "consume", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ,
			 TTL_STATIC, TTL_NONE, TFS_GROUP, NULL},
	[TFS_FOLLOW] = {"follow", "follow", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ,
			TTL_STATIC, TTL_NONE, TFS_GROUP, NULL},
	[TFS_LAG] = {"lag", "lag", TFS_NAMED_FIXED, S_IFREG, 0444, TFS_ACCESS_READ, TTL_STATIC,
		     TTL_NONE, TFS_GROUP, NULL},
};

const struct tfs_kind_info *tfs_kind_info(enum tfs_kind k)
{
	return &kinds[k];
}

bool tfs_kind_is_present(enum tfs_kind k)
{
	return !kinds[k].is_present || kinds[k].is_present();
}

bool tfs_kind_is_partition_level(enum tfs_kind k)
{
	return k == TFS_PARTITION || kinds[k].parent == TFS_PARTITION;
}

bool tfs_kind_is_group(enum tfs_kind k)
{
	return k == TFS_CONSUMERS || kinds[k].parent == TFS_CONSUMERS ||
	       kinds[k].parent == TFS_GROUP;
}

bool tfs_kind_is_dir(enum tfs_kind k)
{
	return kinds[k].type == S_IFDIR;
}

bool tfs_kind_is_writable(enum tfs_kind k)
{
	enum tfs_access a = kinds[k].access;
	return a == TFS_ACCESS_WRITE || a == TFS_ACCESS_READ_WRITE || a == TFS_ACCESS_READ_OR_WRITE;
}

bool tfs_kind_is_open_allowed(enum tfs_kind k, int acc)
{
	switch (kinds[k].access) {
	case TFS_ACCESS_READ:
		return acc == O_RDONLY;
	case TFS_ACCESS_WRITE:
		return acc == O_WRONLY;
	case TFS_ACCESS_READ_OR_WRITE:
		return acc == O_RDONLY || acc == O_WRONLY;
	default:
		return true;
	}
}

const char *tfs_kind_access_name(enum tfs_kind k)
{
	switch (kinds[k].access) {
	case TFS_ACCESS_READ:
		return "read-only";
	case TFS_ACCESS_WRITE:
		return "write-only";
	case TFS_ACCESS_DIR:
		return "a directory";
	default:
		return "read-write";
	}
}

unsigned tfs_kind_fixed_subdirs(enum tfs_kind dir)
{
	unsigned count = 0;
	for (int k = TFS_ROOT + 1; k < TFS_KIND_COUNT; k++)
		count += kinds[k].parent == dir && kinds[k].naming == TFS_NAMED_FIXED &&
			 kinds[k].type == S_IFDIR && tfs_kind_is_present((enum tfs_kind)k);
	return count;
}

bool tfs_kind_fixed_child(enum tfs_kind dir, const char *name, enum tfs_kind *child)
{
	for (int k = TFS_ROOT + 1; k < TFS_KIND_COUNT; k++) {
		if (kinds[k].parent == dir && kinds[k].naming == TFS_NAMED_FIXED &&
		    strcmp(kinds[k].name, name) == 0 && tfs_kind_is_present((enum tfs_kind)k)) {
			*child = (enum tfs_kind)k;
			return true;
		}
	}
	return false;
}

struct tfs_owner tfs_topic_owner(const struct store_topic *t)
{
	/* Topics from before owners were stored belong to the mounting user. */
	if (t->mode == 0)
		return (struct tfs_owner){tfs.uid, tfs.gid, 0755};
	/* Stored as a st_mode, so that a topic made with mode 0 is told apart. */
	return (struct tfs_owner){t->uid, t->gid, t->mode & 07777};
}
