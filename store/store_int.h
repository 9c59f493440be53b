/* store_int.h — what the store's files share: the handle, txn helpers, records. */
#ifndef TOPICFS_STORE_INT_H
#define TOPICFS_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "resident.h"
#include "store.h"

#define STORE_FORMAT_VERSION 1u
#define STORE_DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define STORE_MIN_MAP_SIZE ((size_t)1 << 20) /* smaller requests are raised to this */

struct wal_entry;

/* Events gathered in a transaction, announced after its commit. */
struct store_events {
	struct store_event *ev;
	size_t n, cap;
};

/* Stored topic record. `size` is the number of bytes written, so later
 * versions can append fields (groups, owner, mirror state) and still read old
 * records; missing fields read as zero. Native-endian, copied with memcpy. */
struct store_topic_rec {
	uint32_t version;
	uint32_t size;
	uint32_t id;
	uint32_t partitions;
	int64_t retention_ms;
	int64_t retention_bytes;
	int64_t max_message_bytes;
	int64_t created_ms;
	uint64_t rr_cursor; /* next round-robin slot for unkeyed records */
	char key_separator[STORE_SEPARATOR_MAX + 1];
	char name[STORE_TOPIC_NAME_MAX + 1];
	char pad[5]; /* no implicit padding: 328 bytes in version 1 */
	/* Since the owner fields: who owns the topic directory. mode 0 = never set. */
	uint32_t uid;
	uint32_t gid;
	uint32_t mode;
	uint32_t pad2;
	/* Since config/framing: enum store_framing (0, lines, in older records). */
	uint32_t framing;
	uint32_t pad3;
};

/* A cached topic record (topic_cache.c). The lock is a spin flag: what it
 * guards is a copy of a few hundred bytes, and a zeroed store is ready. */
#define STORE_TOPIC_CACHE 64
struct store_topic_slot {
	atomic_flag busy;
	int full;
	uint32_t id;
	uint64_t gen;
	struct store_topic_rec rec;
};

struct store {
	MDB_env *env;
	MDB_dbi meta;        /* "next_topic", "next_gpid", "format" -> u32 */
	MDB_dbi topic_names; /* name bytes -> topic id (u32) */
	MDB_dbi topics;      /* topic id (u32 BE) -> struct store_topic_rec */
	MDB_dbi topic_parts; /* (topic id BE, index BE) -> gpid (u32) */
	MDB_dbi partitions;  /* gpid (u32 BE) -> struct store_part_rec */
	MDB_dbi batches;     /* (gpid BE, base offset u64 BE) -> batch (batch.c) */
	MDB_dbi positions;   /* (gpid BE, base_pos u64 BE) -> base offset (u64) */
	MDB_dbi requests;    /* handle slot (u32 BE) -> the last unique ids committed (u64[]) */
	MDB_dbi mirror;      /* gpid (u32 BE) -> struct store_mirror_state (mirror_state.c) */
	MDB_dbi groups;        /* consumer groups, see groups.c */
	MDB_dbi group_names;
	MDB_dbi group_offsets;
	/* Held shared by every transaction, exclusive while the map is resized:
	 * mdb_env_set_mapsize() needs no transaction alive in the process. */
	pthread_rwlock_t map_lock;
	size_t map_size; /* map_lock: written only while held exclusive */
	int lock_fd;     /* flock(LOCK_EX) on DIR/topicfs.lock, held while open */
	int sync_always;
	char *dir;                   /* the data directory */
	size_t reserve_size;         /* of DIR/topicfs.reserve, from the disk's size */
	atomic_int writers;          /* in store_write now, running or waiting */
	atomic_uint commits;         /* write transactions committed (resident.c) */
	void *map_addr;              /* the map, map_size bytes (resident.c; map_lock) */
	atomic_size_t mapped_reads;  /* log bytes read from the map since it was unmapped */
	void (*before_wait)(void);   /* see store_set_wait_hook */
	bool (*gpid_is_busy)(uint32_t gpid); /* see store_set_gpid_busy_hook */
	/* snapshot.c: the last synced snapshot, kept recoverable (snap_lock). */
	pthread_mutex_t snap_lock;
	int snap_fd;                 /* DIR/topicfs.snapshot */
	uint64_t snap_seq;           /* of its newest slot */
	uint32_t snap_flags;         /* of the slot this mount wrote last */
	unsigned snap_psize;         /* LMDB's page size */
	MDB_txn *snap_pin;           /* read txn on the synced snapshot, or NULL */
	/* wal.c: appends waiting for LMDB (see the comment there). */
	pthread_rwlock_t wal_gate;   /* shared: an append's check and queueing;
					exclusive: a change folded first (store_write) */
	pthread_mutex_t wal_lock;    /* the fields down to wal_pending */
	pthread_mutex_t fold_lock;   /* one fold at a time */
	pthread_cond_t wal_cond;     /* wakes the fold thread */
	int wal_fd[2];               /* DIR/topicfs.wal.0 and .1 */
	unsigned char *wal_map[2];   /* their shared mappings, or NULL (wal_map.c) */
	int wal_cur;                 /* the one appended to */
	uint64_t wal_off;            /* its end */
	uint64_t wal_lsn;            /* the last entry's */
	struct wal_entry *wal_head, *wal_tail; /* the queue, oldest first */
	size_t wal_pending;          /* bytes queued */
	int wal_stop;
	int wal_idle;                /* the fold thread waits for an append */
	struct store_events wal_events; /* wal_lock: folds' events for the fold thread */
	uint64_t wal_switch_lsn;     /* the newest entry in the other file */
	uint64_t wal_durable_lsn;    /* folded into the last durable snapshot (snap_lock) */
	atomic_uint_fast64_t wal_appended; /* last lsn queued */
	atomic_uint_fast64_t wal_folded;   /* last lsn committed to LMDB */
	atomic_int wal_direct;       /* a fold failed: appends commit directly */
	atomic_int wal_room;         /* the disk had WAL_ROOM_MIN free ... */
	atomic_llong wal_room_at;    /* ... when last looked (monotonic ms) */
	pthread_mutex_t wal_sync_lock; /* sync=always: the two fields below */
	pthread_cond_t wal_sync_cond;
	uint64_t wal_synced;         /* entries up to this lsn are on disk */
	int wal_syncing;             /* an fdatasync of the WAL is under way */
	int wal_running;
	pthread_t wal_thread;
	/* events.c: the subscribers, and how many there are (read without the lock). */
	pthread_rwlock_t subs_lock;
	struct {
		store_event_fn fn;
		void *arg;
	} subs[STORE_SUBSCRIBERS_MAX]; /* subs_lock */
	atomic_int subscribers;
	/* topic_cache.c: topic records by id, each good for one generation. */
	atomic_uint_fast64_t topic_gen;
	struct store_topic_slot topic_cache[STORE_TOPIC_CACHE];
};

#define TOPIC_REC_VERSION 1u
#define PART_REC_VERSION 1u

/* Stored partition meta, same conventions as store_topic_rec. */
struct store_part_rec {
	uint32_t version;
	uint32_t size;
	uint32_t topic_id;
	uint32_t index;
	uint64_t start_offset;
	uint64_t end_offset;
	uint64_t start_pos;
	uint64_t end_pos;
	int64_t last_append_ms;
};

/* --- resident.c --- */

/* Log reads unmap the map's pages after this many bytes (see resident.c). */
#define STORE_MAPPED_READS_MAX ((size_t)32 << 20)
/* ... and writers after this many commits (see store_write_raw). */
#define STORE_UNMAP_COMMITS 16u
/* Finds the map's address; after the map is (re)made, map_lock held exclusive. */
void store_map_locate(struct store *s);

/* --- datadir.c --- */

/* Logs a warning for the data directory and each file in it that other users
 * may read or write. */
void store_check_modes(struct store *s);
/* EIO (logged) when data.mdb is shorter than its newest meta page says: LMDB
 * would die of SIGBUS reading it. Call after mdb_env_open, before any txn. */
int store_check_size(struct store *s);

/* --- gpids.c --- */

/* Puts n ids for new partitions into out, inside txn: free ones of deleted
 * partitions first (lowest first, skipping busy ones), then new ones. ENOSPC:
 * STORE_GPID_LIMIT - 1 partitions exist (or are still named by the front end). */
int store_gpids_take(struct store *s, MDB_txn *txn, uint32_t n, uint32_t *out);
/* The partition of gpid was deleted in txn: the id may be taken again. */
int store_gpids_freed(struct store *s, MDB_txn *txn, uint32_t gpid);

/* --- log.c --- */

/* One message to the log hook (see store_set_log_hook): a level, printf-style. */
void store_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --- events.c --- */

int store_events_init(struct store *s);
void store_events_destroy(struct store *s);
/* Calls the subscribers with the n events, in order. After the commit only. */
void store_announce(struct store *s, const struct store_event *ev, size_t n);

/* --- lmdb_err.c --- */

/* The one place an LMDB code becomes an errno: 0 and positive errnos pass
 * through, MDB_NOTFOUND is ENOENT, MDB_MAP_FULL (only seen when growing
 * failed) is ENOSPC, anything else is logged with `what` and becomes EIO. */
int store_errno(int rc, const char *what);
/* store_errno for a failed mdb_txn_commit: EIO while the data directory's
 * filesystem has less than `need` bytes (at least 1 MiB) free is ENOSPC. */
int store_commit_errno(struct store *s, int rc, size_t need, const char *what);
/* Logs that partition gpid's stored data contradicts itself; returns EIO. */
int store_corrupt(const char *what, uint32_t gpid);

/* --- append.c --- */

/* Checks what needs no transaction; *need is the map room an append wants. */
int store_append_check(const struct store_record_in *recs, size_t n, size_t *need);
/* Adds n events to l. 0 or ENOMEM. */
int store_events_add(struct store_events *l, const struct store_event *ev, size_t n);
/* Appends inside txn, stamped now_ms: all records or an error; the events
 * (one per partition) are added to out. fixed: -1 to route each record, else
 * the partition index they all go to (ENOENT if the topic has no such one). */
int store_append_in_txn(struct store *s, MDB_txn *txn, uint32_t topic_id, int64_t fixed,
			const struct store_record_in *recs, size_t n, int64_t now_ms,
			struct store_events *out);

/* --- requests.c --- */

/* Whether an entry still queued (not folded: a fold failed) carries req. */
int store_wal_has_request(struct store *s, const struct store_request *req);

/* Keeps req in txn as committed with the records appended in it. */
int store_request_put(struct store *s, MDB_txn *txn, const struct store_request *req);

/* Keeps req in txn as the consume that handed out the n ranges r[]. */
int store_consume_request_put(struct store *s, MDB_txn *txn, const struct store_request *req,
			      const struct store_consume_range *r, uint32_t n);

/* Keeps request unique (0: does nothing) in txn as the mkdir or rmdir that
 * did op to topic or group id. */
int store_dir_request_put(struct store *s, MDB_txn *txn, uint64_t unique, enum store_dir_op op,
			  uint32_t id);

/* --- wal.c --- */

/* Opens DIR/topicfs.wal.*, folds what a crash left there, starts the fold
 * thread. */
int store_wal_open(struct store *s);
/* Commits every queued append to LMDB. 0 or an errno (they stay queued). */
int store_wal_fold(struct store *s);
/* For a sync: stops appends and folds; returns the last LSN in LMDB. */
uint64_t store_wal_hold(struct store *s);
/* Lets appends go on; after pinning a new snapshot, switches WAL files when
 * the other one's entries are all in a durable snapshot. */
void store_wal_release(struct store *s, int pinned);
/* The snapshot holding everything up to lsn is durable. */
void store_wal_durable(struct store *s, uint64_t lsn);
void store_wal_close(struct store *s);

/* --- txn.c --- */

/* A write operation. Returns 0, a positive errno, or an LMDB code; it may be
 * run again from the start after the map grew, so it must not keep state
 * across calls other than through arg's inputs. */
typedef int (*store_write_fn)(struct store *s, MDB_txn *txn, void *arg);

/* Runs fn in a write transaction and commits it. On MDB_MAP_FULL, grows the
 * map (at least doubling it, by at least `need` bytes) and runs fn again.
 * 0 or an errno. Without the WAL: what the WAL's fold and replay use. */
int store_write_raw(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what);
/* A read transaction holding map_lock shared, of the state LMDB has (the
 * WAL not folded); end it with store_read_end. */
int store_read_begin_raw(struct store *s, MDB_txn **txn);
void store_read_end(struct store *s, MDB_txn *txn);
/* Reads the map's size from LMDB (and finds the map again); after the map is
 * (re)made, map_lock held exclusive. 0 or an LMDB code. */
int store_map_refresh(struct store *s);

/* --- write.c: what every other change and read goes through --- */

/* store_write_raw after the appends the WAL holds (none may slip in between),
 * synced before it returns with sync=always. */
int store_write(struct store *s, store_write_fn fn, void *arg, size_t need, const char *what);
/* store_write for deletes, which must work on a full disk: on ENOSPC it
 * gives up the space reserve (see store_reserve_make) and tries once more. */
int store_write_freeing(struct store *s, store_write_fn fn, void *arg, size_t need,
			const char *what);
/* store_read_begin_raw that sees every append whose call returned (the WAL is
 * folded first). */
int store_read_begin(struct store *s, MDB_txn **txn);

/* --- reserve.c --- */

/* Sets reserve_size from the size of the disk holding the data directory. */
void store_reserve_measure(struct store *s);
/* Creates DIR/topicfs.reserve, reserve_size bytes allocated on disk, if it is
 * missing and the disk has room for it twice over. Quiet on failure. */
void store_reserve_make(struct store *s);
/* Gives the reserve back to the disk (logged): 0, or ENOENT when it was not there. */
int store_reserve_release(struct store *s);

/* --- read.c --- */

/* Positions c on the entry with the largest (gpid, x) key <= (gpid, v) of a
 * database keyed (gpid BE, u64 BE), batches or positions; kb is the caller's,
 * so k stays valid whichever key LMDB hands back. MDB_NOTFOUND when the
 * partition has no such entry. */
int store_seek_floor(MDB_cursor *c, uint32_t gpid, uint64_t v, unsigned char kb[12], MDB_val *k,
		     MDB_val *d);

/* --- records.c --- */

void store_be32(unsigned char *p, uint32_t v);
void store_be64(unsigned char *p, uint64_t v);
uint32_t store_get_be32(const unsigned char *p);
uint64_t store_get_be64(const unsigned char *p);

/* Look-ups inside a transaction; return 0, MDB_NOTFOUND or an LMDB/errno code. */
/* wal_map.c, under wal_lock. Empties WAL file i (to its mapped length if mapped). */
int store_wal_file_reset(struct store *s, int i);
/* Maps WAL file i if it can (else appends to it use pwrite). */
void store_wal_map(struct store *s, int i);
void store_wal_unmap(struct store *s);
/* Writes an entry at off of the current WAL file: 0, ENOSPC or an errno. */
int store_wal_put(struct store *s, const void *buf, size_t len, uint64_t off);
/* requests.c: a consume's ('C') or a mkdir's or rmdir's ('D', slot
 * STORE_DIR_SLOT) key in the requests database (slot BE32, tag, unique BE64)
 * into kb[STORE_CONSUME_KEY]. A consume's data: STORE_CONSUME_RANGE bytes a
 * range (gpid BE32, from BE64, to BE64); a mkdir's: STORE_DIR_DATA bytes, the
 * op and the id (BE32). */
#define STORE_CONSUME_KEY 13
#define STORE_CONSUME_RANGE 20
#define STORE_DIR_SLOT UINT32_MAX
#define STORE_DIR_DATA 5
MDB_val store_request_key(unsigned char *kb, uint32_t slot, char tag, uint64_t unique);

/* crc32.c: CRC-32 as zlib's crc32(): start with 0, feed on the result. */
uint32_t store_crc32(uint32_t crc, const void *data, size_t len);
/* topic_cache.c. After any commit: cached topic records are stale. */
static inline void store_topics_changed(struct store *s)
{
	atomic_fetch_add(&s->topic_gen, 1);
}
/* Topic id's record, as store_topic_get_rec, from the cache while no commit
 * came since it was read: 0, an MDB code or an errno. Any thread. */
int store_topic_rec_cached(struct store *s, uint32_t id, struct store_topic_rec *out);
int store_topic_get_rec(struct store *s, MDB_txn *txn, uint32_t id, struct store_topic_rec *rec);
int store_topic_put_rec(struct store *s, MDB_txn *txn, const struct store_topic_rec *rec);
int store_part_get_rec(struct store *s, MDB_txn *txn, uint32_t gpid, struct store_part_rec *rec);
int store_part_put_rec(struct store *s, MDB_txn *txn, uint32_t gpid,
		       const struct store_part_rec *rec);
int store_part_gpid(struct store *s, MDB_txn *txn, uint32_t topic_id, uint32_t index,
		    uint32_t *gpid);

/* Reads a counter of the meta database: 0, MDB_NOTFOUND or an LMDB/errno code. */
int store_meta_get(struct store *s, MDB_txn *txn, const char *name, uint32_t *v);
int store_meta_put(struct store *s, MDB_txn *txn, const char *name, uint32_t v);
/* Deletes, inside txn, every key of dbi that starts with prefix (4 bytes, big-endian):
 * a partition's entries under its gpid, a topic's or a group's under its id. 0 or an
 * LMDB code. */
int store_delete_prefix(MDB_txn *txn, MDB_dbi dbi, uint32_t prefix);
/* Copies a stored topic record (a cursor's) into rec: 0, or EIO when it is too short. */
int store_topic_rec_decode(const MDB_val *d, struct store_topic_rec *rec);

void store_rec_to_config(const struct store_topic_rec *rec, struct store_config *cfg);
void store_config_to_rec(const struct store_config *cfg, struct store_topic_rec *rec);
void store_rec_to_topic(const struct store_topic_rec *rec, struct store_topic *t);
void store_rec_to_partition(uint32_t gpid, const struct store_part_rec *rec,
			    struct store_partition *p);

/* --- trim.c: deleting a partition's oldest batches (retention, topic deletion) --- */

/* Batches deleted per write txn, so appends never wait long behind a delete. */
#define STORE_TRIM_BATCHES 1024

struct store_trim {
	uint32_t gpid;
	int limit;          /* batches per txn; store_trim_step halves it on ENOSPC */
	/* What goes (whole batches, but bytes beyond `keep` record by record): */
	bool by_time;       /* batches stamped before cutoff */
	int64_t cutoff;
	bool by_size;       /* the oldest log bytes beyond keep */
	uint64_t keep;
	/* Out, of the last txn: */
	uint64_t deleted;   /* records deleted */
	uint32_t topic_id;  /* the partition's topic */
	uint64_t start;     /* the partition's start after it */
	bool more;          /* stopped at limit: run again */
};

/* Inside txn: deletes the oldest batches of a->gpid, whose record p is, as
 * a says, and saves p with its new start. 0, EIO (logged) if the stored
 * partition contradicts itself, or an LMDB code. */
int store_trim_front(struct store *s, MDB_txn *txn, struct store_part_rec *p,
		     struct store_trim *a);
/* Runs fn (which calls store_trim_front, a its arg) in one committed delete
 * transaction, smaller and smaller while the disk is full. 0 or an errno. */
int store_trim_step(struct store *s, store_write_fn fn, struct store_trim *a, const char *what);

/* --- snapshot.c: power-safe syncs (see the comment there) --- */

/* Before LMDB opens DIR: if the machine went down while the store was open
 * with sync=interval, puts the last synced snapshot back. 0 or an errno. */
int store_snapshot_recover(const char *dir);
/* After LMDB opened: opens DIR/topicfs.snapshot and takes a first checkpoint. */
int store_snapshot_open(struct store *s);
/* Makes every committed transaction durable and recoverable; closing marks
 * the store cleanly closed. Serialized; any thread. */
int store_snapshot_sync(struct store *s, int closing);
void store_snapshot_close(struct store *s);

/* --- groups.c --- */

/* Deletes the topic's consumer groups, inside the topic's delete txn. */
int store_groups_drop_topic(struct store *s, MDB_txn *txn, uint32_t topic_id);

/* --- config.c --- */

/* 0 if every field of cfg is in range, else EINVAL. */
int store_config_check(const struct store_config *cfg);

#endif
