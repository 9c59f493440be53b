/* tfs.h — what is global to the daemon: its state (struct tfs), its options, shared limits. */
#ifndef TOPICFS_TFS_H
#define TOPICFS_TFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define TFS_VERSION "0.1.0"
/* st_blksize of log, produce and keys/<key>: cat, dd and cp size their reads
 * and writes by it, and each read or write is one FUSE round trip (and each
 * write one commit). Equal to max_write. */
#define TFS_STREAM_BLKSIZE (1024 * 1024)

enum tfs_sync { TFS_SYNC_INTERVAL, TFS_SYNC_ALWAYS };

/* Request workers: one handles requests while the others wait; they take
 * over while it waits for the disk or the write lock (see loop.c). */
#define TFS_WORKERS 4

/* spin= (see loop.c): the default, and the most it may be. */
#define TFS_SPIN_US_DEFAULT 50
#define TFS_SPIN_US_MAX 10000

/* Everything parsed from the command line and -o. */
struct tfs_options {
	char *data_dir;               /* absolute */
	char *mountpoint;
	int foreground;
	int supervise;                /* --supervise: run under a supervisor (supervise.c) */
	int debug;
	int show_help;
	int show_version;
	int allow_other;              /* allow_other (or allow_root): other users may enter */
	int default_permissions;      /* the kernel checks modes (given, or implied by allow_other) */
	int no_default_permissions;   /* the admin's explicit opt-out of that */
	enum tfs_sync sync;
	int64_t retention_check_ms;   /* retention.check.interval.ms */
	int64_t spin_us;              /* spin=: how long to poll for the next request */
	int64_t map_size;             /* initial LMDB map size; 0 = the store's default */
	struct store_config defaults; /* for new topics */
	/* The Kafka mirror (fs/mirrored.c): -o mirror=HOST:PORT, mirror.topics=,
	 * mirror.prefix=, mirror.host=, and librdkafka's as mirror.<name>=<value>
	 * (name, value, ..., NULL). mirror NULL: no mirror. */
	char *mirror, *mirror_topics, *mirror_prefix, *mirror_host;
	char **mirror_props;
	size_t mirror_nprops;
};

struct tfs {
	struct store *store;
	struct fuse_session *se; /* for notifications sent outside a reply */
	struct tfs_options opt;
	uid_t uid;
	gid_t gid;
	int64_t mounted_ms;
};

extern struct tfs tfs;

/* The low-level operations (main.c); their handlers are declared in tree.h,
 * files.h, xattr.h and pins.h. */
extern const struct fuse_lowlevel_ops tfs_ops;

#endif
