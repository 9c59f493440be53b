/* store.h — the LMDB log store: topics, partitions and records. No FUSE here.
 *
 * Data model (one LMDB environment per data directory):
 *  - a topic has a name, a numeric id (never reused), a config and N partitions;
 *  - a partition has a global partition id "gpid" (< 2^23, so the FUSE layer
 *    can pack it into inode numbers; the ids of deleted partitions are given to
 *    new ones, see store_set_gpid_busy_hook), offsets [start, end) and log
 *    byte positions [start_pos, end_pos);
 *  - records are stored in batches (the records of one append that land in
 *    one partition, split at about STORE_BATCH_TARGET, 1 MiB, see batch.h),
 *    like Kafka's record batches. A batch's data region is exactly its
 *    records' `log` bytes (value + '\n' each), so reading the log is a memcpy
 *    and a record's log position never changes.
 *
 * Conventions, for every function below unless it says otherwise:
 *  - Returns: 0 on success or a positive errno; LMDB codes become errnos in one
 *    place (store/lmdb_err.c), MDB_NOTFOUND as ENOENT. Any function that reads
 *    or writes may also return EIO: the stored data contradicts itself or LMDB
 *    failed (logged, with the partition or the operation); and ENOMEM. A
 *    function that writes may return ENOSPC: the disk (or the map) is full.
 *    Nothing is changed by a call that fails.
 *  - Threads: any thread may call any function, concurrently, from the return
 *    of store_open until store_close is called. The setters of hooks are to
 *    be called once, before other threads use the store.
 *  - Ownership: the caller owns what it passes in (the store reads it during
 *    the call and keeps nothing of it) and the out-parameters it passes (the
 *    store fills them on success only; an `out` that may be NULL says so).
 *    Pointers the store hands to a callback point into the store's map and are
 *    valid only during that call; a callback must not call back into the store
 *    (it runs inside a read transaction, whose lock the map's growth waits for).
 *  - Reads see every change whose call returned, appends included (the WAL is
 *    folded first), unless said otherwise.
 *
 * Messages go to the log hook (store_set_log_hook). Page-residency plumbing,
 * which only the daemon's log readers need, is in store/resident.h.
 */
#ifndef TOPICFS_STORE_H
#define TOPICFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define STORE_GPID_LIMIT (1u << 23) /* gpids are 1 .. STORE_GPID_LIMIT-1 */
#define STORE_KEY_MAX 65536         /* longest record key, bytes */

struct store;

/* --- messages (store/log.c) --- */

/* Levels of the store's messages; the same numbers as syslog(3)'s. */
enum { STORE_LOG_ERR = 3, STORE_LOG_WARNING = 4, STORE_LOG_INFO = 6 };
/* Receives one message: a line without "store:" or a newline, valid only
 * during the call. Called on whichever thread the message arises, maybe
 * several at once; it must not call into the store. */
typedef void (*store_log_hook_fn)(int level, const char *msg);
/* Sends every message of the store, of every handle, to fn; NULL: to stderr
 * (the default), as "store: LEVEL: message". A process-wide setting: set it
 * before store_open (messages of an open may come from any thread). */
void store_set_log_hook(store_log_hook_fn fn);

/* --- opening and closing (store/env.c, store/write.c) --- */

struct store_options {
	const char *dir;   /* data directory; created if missing */
	size_t map_size;   /* initial LMDB map size; 0 = default. Grows by itself. */
	int sync_always;   /* 1: every change is durable when its call returns */
};

/* Opens (creating if needed) the store in o->dir, takes an exclusive lock on
 * it, folds what a crash left in the WAL and starts the WAL's fold thread.
 * *out is the caller's, to give to store_close. EINVAL: o or o->dir NULL;
 * EBUSY: another process holds the data directory (its pid is in
 * DIR/topicfs.lock; nothing is logged, the caller reports it); EPROTO: the
 * data is of a format this build does not read (logged); ENAMETOOLONG, or
 * the errno of creating or locking the directory (logged); EIO: LMDB cannot
 * open it, or data.mdb is shorter than it says (logged). */
int store_open(struct store **out, const struct store_options *o);
/* Folds the WAL, syncs everything (whatever the sync mode), closes and frees
 * s. NULL is a no-op. No other thread may be using s, nor call it after. */
void store_close(struct store *s);

/* Makes everything committed durable (fsync) and lets the WAL reuse a file:
 * call it about once a second whatever the sync mode. Calls the wait hook
 * first. On failure (the errno of the failed write or fsync, EIO mostly)
 * what was committed stays and the next sync tries again. */
int store_sync(struct store *s);

/* fn is called on the calling thread just before the store may wait: for
 * another write transaction to end, or for the disk (a sync). topicfs lets
 * another thread take requests meanwhile. fn must not call into the store.
 * Set once, before other threads use s. */
void store_set_wait_hook(struct store *s, void (*fn)(void));

/* New partitions take the ids of deleted ones (lowest first) before new ids,
 * so ids run out only when STORE_GPID_LIMIT - 1 partitions exist at once;
 * but never an id for which is_busy(gpid) is true (topicfs: the kernel still
 * holds an inode number made from it). Called inside the store's write
 * transaction: is_busy must not call back into the store. NULL: none is busy.
 * Set once, before other threads use s. */
void store_set_gpid_busy_hook(struct store *s, bool (*is_busy)(uint32_t gpid));

/* --- topics and partitions (store/topics.c, store/topic_delete.c) ---
 *
 * Topics are read as LMDB has them: appends the WAL still holds change no
 * field of struct store_topic. */

struct store_topic {
	uint32_t id;
	char name[STORE_TOPIC_NAME_MAX + 1];
	struct store_config config;
	int64_t created_ms;
	uint32_t uid;  /* owner of the topic directory */
	uint32_t gid;
	uint32_t mode; /* st_mode of the directory; 0 = never set (the mount's default applies) */
};

/* Creates topic `name` (a C string) with cfg's config and its partitions,
 * owned by nobody in particular (uid, gid, mode 0); *out (may be NULL) is the
 * new topic. EINVAL: bad name (store_name_is_valid) or config
 * (store_config_check); EEXIST: name taken; ENOSPC: disk, topic ids or
 * partition ids full. */
int store_topic_create(struct store *s, const char *name, const struct store_config *cfg,
		       struct store_topic *out);
/* store_topic_create, owned by uid:gid with mode (a st_mode, <= 0177777,
 * else EINVAL). */
int store_topic_create_as(struct store *s, const char *name, const struct store_config *cfg,
			  uint32_t uid, uint32_t gid, uint32_t mode, struct store_topic *out);
/* Sets the topic directory's owner and permission bits. EINVAL: mode >
 * 0177777; ENOENT: topic gone. */
int store_topic_set_owner(struct store *s, uint32_t topic_id, uint32_t uid, uint32_t gid,
			  uint32_t mode);
/* Deletes topic `name`, its partitions, records, consumer groups and mirror
 * state, then announces STORE_EVENT_TOPIC_DELETED. Works on a full disk (see
 * store/reserve.c): big partitions are emptied first, a bounded transaction
 * at a time, so a failure part way (ENOSPC, EIO) may leave the topic with
 * fewer records but whole. ENOENT: no such topic (also a bad name). */
int store_topic_delete(struct store *s, const char *name);
/* store_topic_create_as and store_topic_delete that keep request `unique`
 * (0: none) with the create or delete (store_dir_request_get). */
int store_topic_create_req(struct store *s, const char *name, const struct store_config *cfg,
			   uint32_t uid, uint32_t gid, uint32_t mode, uint64_t unique,
			   struct store_topic *out);
int store_topic_delete_req(struct store *s, const char *name, uint64_t unique);
/* The topic named `name` into *out (may be NULL: only whether it exists).
 * ENOENT: no such topic (also a bad name). */
int store_topic_by_name(struct store *s, const char *name, struct store_topic *out);
/* The topic of id into *out (may be NULL), from memory while nothing was
 * committed since it was last read. ENOENT: no such topic. */
int store_topic_by_id(struct store *s, uint32_t id, struct store_topic *out);
/* The topic with the smallest id > after_id into *out (may be NULL): to
 * iterate, start with 0 and pass the last id seen. ENOENT at the end. */
int store_topic_next(struct store *s, uint32_t after_id, struct store_topic *out);
/* How many topics exist, into *count. */
int store_topic_count(struct store *s, uint64_t *count);
/* Sets one config value from its text form (text, len bytes; see config.h),
 * atomically. Growing partitions creates the new (empty) partitions. EINVAL:
 * unknown key, bad value, or partitions would shrink; ENOENT: topic gone;
 * ENOSPC: partition ids full. */
int store_topic_configure(struct store *s, uint32_t topic_id, enum store_config_key key,
			  const char *text, size_t len);

struct store_partition {
	uint32_t gpid;
	uint32_t topic_id;
	uint32_t index;          /* 0 .. partitions-1 */
	uint64_t start_offset;   /* first retained offset */
	uint64_t end_offset;     /* next offset to be written */
	uint64_t start_pos;      /* log byte position of the first retained record */
	uint64_t end_pos;        /* log byte position after the last record */
	int64_t last_append_ms;  /* time of the newest record; created time if none */
};

/* Partition gpid into *out (may be NULL). ENOENT: no such partition (or its
 * topic was deleted). */
int store_partition_get(struct store *s, uint32_t gpid, struct store_partition *out);
/* Partition `index` (0-based) of the topic into *out (may be NULL). ENOENT:
 * no such topic or partition. */
int store_partition_find(struct store *s, uint32_t topic_id, uint32_t index,
			 struct store_partition *out);

/* --- appending (store/append.c, store/wal.c) --- */

struct store_record_in {
	const void *key;   /* NULL: no key (round robin); else key_len bytes */
	size_t key_len;
	const void *value; /* may be NULL only if value_len is 0 */
	size_t value_len;
};

/* Appends the n records recs[] (n 0: nothing, 0) to the topic, all or
 * nothing, in order, and announces STORE_EVENT_APPEND once LMDB has them
 * (STORE_EVENT_QUEUED before, when they went through the WAL). Routing: keyed records go to
 * toPositive(murmur2(key)) % partitions (Kafka's default partitioner);
 * unkeyed ones round-robin over the partitions, the cursor persisted with the
 * topic. Each record gets the commit's timestamp, never below the partition's
 * last one. On return the records are read by every reader; they are durable
 * at the next store_sync, or already with sync_always. EMSGSIZE: a value
 * exceeds max.message.bytes; EINVAL: a key longer than STORE_KEY_MAX, or a
 * NULL value with a length; ENOENT: topic gone; ENOSPC: disk full. */
int store_append(struct store *s, uint32_t topic_id, const struct store_record_in *recs, size_t n);
/* As store_append, but every record goes to partition `index` (0-based), in
 * order, like a Kafka producer that names the partition: keys are stored
 * with the records but do not route them, and the round-robin cursor stays.
 * ENOENT: no such topic or partition. */
int store_append_to(struct store *s, uint32_t topic_id, uint32_t index,
		    const struct store_record_in *recs, size_t n);

/* What names a write() to the kernel: the file handle's slot and the FUSE
 * request's unique id, unique on the connection. Under --supervise a WRITE
 * the kernel resends after the daemon died may have been committed already:
 * the request is kept with the records, in the same WAL entry or transaction,
 * and the next daemon asks store_request_done before appending again. */
struct store_request {
	uint32_t slot;
	uint64_t unique;
};
/* store_append that also keeps req (NULL: none) with the records. */
int store_append_req(struct store *s, uint32_t topic_id, const struct store_record_in *recs,
		     size_t n, const struct store_request *req);
/* store_append_to that also keeps req (NULL: none) with the records. */
int store_append_to_req(struct store *s, uint32_t topic_id, uint32_t index,
			const struct store_record_in *recs, size_t n,
			const struct store_request *req);
/* Whether req's records were committed, into *done. Only the last
 * STORE_REQUESTS_KEPT requests of each slot are kept. 0, or an errno (EIO). */
#define STORE_REQUESTS_KEPT 8
int store_request_done(struct store *s, const struct store_request *req, bool *done);
/* Forgets every kept request (a new connection starts its ids again). */
int store_requests_clear(struct store *s);

/* What a mkdir or rmdir did. Under --supervise the FUSE request's unique id
 * (without FUSE_UNIQUE_RESEND) is kept with it, in the transaction that adds
 * or removes the name (the _req calls below; 0: keep nothing), so a MKDIR or
 * RMDIR the kernel resends after the daemon died is answered, not done again
 * (then it would fail with EEXIST or ENOENT although it took effect). */
enum store_dir_op {
	STORE_DIR_TOPIC_CREATE = 'T',
	STORE_DIR_TOPIC_DELETE = 't',
	STORE_DIR_GROUP_CREATE = 'G',
	STORE_DIR_GROUP_DELETE = 'g',
};
/* Only the last STORE_DIR_REQUESTS_KEPT are kept (one per request worker
 * in flight at a crash is all a resend needs). */
#define STORE_DIR_REQUESTS_KEPT 64
/* *is_done: whether request `unique` committed op; then *id is the topic or
 * group it made or removed. store_requests_clear forgets them too. */
int store_dir_request_get(struct store *s, uint64_t unique, enum store_dir_op op, bool *is_done,
			  uint32_t *id);

/* --- reading (store/read.c, store/scan.c) --- */

struct store_record {
	uint32_t gpid;
	uint64_t offset;
	int64_t timestamp_ms;
	uint64_t pos;            /* log byte position of the value's first byte */
	const void *key;         /* NULL: no key */
	size_t key_len;
	const void *value;
	size_t value_len;
};

/* Called with one record, inside a read transaction (see the conventions:
 * r and what it points to are valid only during the call). Returns 0 to go
 * on, anything else to stop; what it returns is returned as is. */
typedef int (*store_record_fn)(const struct store_record *r, void *arg);
/* Calls fn with the record at offset of partition gpid. Returns fn's result,
 * or ENOENT when the offset is not retained (below start or at/after end) or
 * there is no such partition (fn not called then). */
int store_record_view(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		      void *arg);
/* As store_record_view, without the key (NULL, key_len 0): reads less. */
int store_record_value(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		       void *arg);
/* As store_record_value, without the value either (NULL; value_len is set):
 * the record's stat. */
int store_record_head(struct store *s, uint32_t gpid, uint64_t offset, store_record_fn fn,
		      void *arg);

/* Calls fn with up to max records of partition gpid from offset `from` on,
 * in offset order, in one read transaction. A nonzero result of fn stops the
 * scan and is returned. From the end on, fn is not called and it is 0.
 * ERANGE: from is below the partition's start (retention removed it; fn not
 * called); ENOENT: no such partition. */
int store_record_scan(struct store *s, uint32_t gpid, uint64_t from, size_t max,
		      store_record_fn fn, void *arg);

/* Copies up to size bytes of the partition's log starting at byte position pos
 * into buf (the caller's, size bytes); *got is how many (0 at or past
 * end_pos, and on error). ERANGE: pos < start_pos (retention removed it;
 * nothing copied). ENOENT: no such partition. */
int store_log_read(struct store *s, uint32_t gpid, uint64_t pos, void *buf, size_t size,
		   size_t *got);

/* A piece per batch: records appended one at a time are a batch each, and a
 * view of them is as long as this many records (the daemon copies several
 * views into one read of such a log, fs/logview.c). With a hole in front and a
 * reply header, still within a writev(2)'s IOV_MAX (1024). */
#define STORE_LOG_IOV_MAX 1000
struct iovec;
/* Called with count pieces of a log, inside a read transaction (valid only
 * during the call). Its result is returned as is. */
typedef int (*store_log_fn)(const struct iovec *iov, int count, void *arg);
/* The bytes in count pieces. Any thread, no store needed. */
size_t store_iov_bytes(const struct iovec *iov, int count);
/* Hands fn the log bytes from position pos (at most size of them) as up to
 * STORE_LOG_IOV_MAX pieces pointing into the store. Fewer bytes than asked is
 * not the end (a short read); count 0 is. Returns fn's result, or ERANGE /
 * ENOENT as store_log_read (fn not called then). */
int store_log_view(struct store *s, uint32_t gpid, uint64_t pos, size_t size, store_log_fn fn,
		   void *arg);

/* --- retention (store/retention.c) --- */

/* Deletes, oldest first, records older than retention.ms (relative to now_ms) or
 * beyond retention.bytes (counted as log bytes) in every partition, in bounded
 * transactions, and announces STORE_EVENT_RETAIN after each that deleted some.
 * start_offset and start_pos advance; end never moves. *deleted (may be NULL)
 * counts records, also those deleted before an error. Works on a full disk
 * (see store/reserve.c) and makes the space reserve again once there is room.
 * Topics deleted meanwhile are skipped. */
int store_retention_run(struct store *s, int64_t now_ms, uint64_t *deleted);

/* --- the Kafka mirror's progress (store/mirror_state.c) --- */
struct store_mirror_state {
	uint64_t next;        /* every offset below was delivered to Kafka or lost */
	uint64_t lost;        /* offsets retention removed before they were shipped */
	int64_t kafka_offset; /* Kafka's offset of the record below next; -1 unknown */
};
/* The saved state of partition gpid into *out. ENOENT: the partition has no
 * saved state (or is gone). */
int store_mirror_get(struct store *s, uint32_t gpid, struct store_mirror_state *out);
/* Saves n states (states[i] of gpids[i]) in one transaction; partitions gone
 * meanwhile are skipped. Deleting a topic deletes its partitions' states. */
int store_mirror_set(struct store *s, const uint32_t *gpids,
		     const struct store_mirror_state *states, size_t n);

/* --- change events (store/events.c) ---
 *
 * After each committed change the store calls every subscriber, on the thread
 * that made the change, after the commit and outside any transaction. */
enum store_event_kind {
	STORE_EVENT_APPEND,        /* records appended: offset is the partition's new end */
	STORE_EVENT_QUEUED,        /* a write to the topic returned and its records are read
				      from now on, before the WAL's fold announces them as
				      APPEND (gpid and offset 0): for quick wakeups */
	STORE_EVENT_RETAIN,        /* retention deleted records: offset is the new start */
	STORE_EVENT_TOPIC_DELETED, /* the topic and its partitions are gone: gpid, offset 0 */
};

struct store_event {
	enum store_event_kind kind;
	uint32_t topic_id;
	uint32_t gpid;
	uint64_t offset;
};

/* Called with one event (ev valid only during the call). fn may read the
 * store but not write to it (the writer that announces may hold the caller's
 * locks), and should return soon: the committer waits. */
typedef void (*store_event_fn)(const struct store_event *ev, void *arg);
#define STORE_SUBSCRIBERS_MAX 8
/* Calls fn(ev, arg) from now on; arg is the caller's, kept until
 * store_unsubscribe. EINVAL: fn NULL; ENOSPC: STORE_SUBSCRIBERS_MAX
 * subscribers already. */
int store_subscribe(struct store *s, store_event_fn fn, void *arg);
/* Stops calling fn with arg (nothing if it was not subscribed); when it
 * returns, no call is running any more. Not from inside fn itself. */
void store_unsubscribe(struct store *s, store_event_fn fn, void *arg);

/* Milliseconds since the epoch (the clock records are stamped with). Any
 * thread, no store needed. */
int64_t store_now_ms(void);

/* --- consumer groups (store/groups.c, group_offsets.c, group_consume.c) ---
 *
 * A group belongs to a topic and has a name (Kafka's rule) unique in it, and
 * a numeric id, global and never reused (the FUSE layer packs it into inode
 * numbers). It keeps a committed offset per partition: the next record to
 * consume. A new group starts at each partition's start; a committed offset
 * that retention passed reads as the partition's start. Deleting a topic
 * deletes its groups. */
struct store_group {
	uint32_t id;
	uint32_t topic_id;
	char name[STORE_TOPIC_NAME_MAX + 1];
	int64_t created_ms;
};

/* Creates group `name` (a C string) of the topic; *out (may be NULL) is the
 * new group. EINVAL: bad name; EEXIST: the topic has a group of that name;
 * ENOENT: no such topic; ENOSPC: disk or ids full. */
int store_group_create(struct store *s, uint32_t topic_id, const char *name,
		       struct store_group *out);
/* Deletes the group and its offsets (also on a full disk); *id (may be
 * NULL) is the id it had. ENOENT: no such group (also a bad name). */
int store_group_delete(struct store *s, uint32_t topic_id, const char *name, uint32_t *id);
/* store_group_create and store_group_delete that keep request `unique` (0:
 * none) with the create or delete (store_dir_request_get). */
int store_group_create_req(struct store *s, uint32_t topic_id, const char *name, uint64_t unique,
			   struct store_group *out);
int store_group_delete_req(struct store *s, uint32_t topic_id, const char *name, uint64_t unique,
			   uint32_t *id);
/* The topic's group named `name` into *out (may be NULL). ENOENT: no such
 * group (or topic, or a bad name). */
int store_group_by_name(struct store *s, uint32_t topic_id, const char *name,
			struct store_group *out);
/* The group of id into *out (may be NULL). ENOENT: no such group. */
int store_group_by_id(struct store *s, uint32_t id, struct store_group *out);
/* The topic's group with the smallest id > after_id into *out (may be NULL):
 * to iterate, start with 0; topic_id 0: of any topic. ENOENT at the end. */
int store_group_next(struct store *s, uint32_t topic_id, uint32_t after_id,
		     struct store_group *out);

struct store_group_offset {
	uint32_t index;     /* partition */
	uint64_t committed; /* next to consume, in [start, end] */
	uint64_t start;
	uint64_t end;
};
/* The committed offsets of every partition of the group's topic, in one read
 * transaction: the first cap of them into out[] (the caller's, cap entries);
 * *count is the partition count. ENOENT: group or topic gone. */
int store_group_offsets(struct store *s, uint32_t group_id, struct store_group_offset *out,
			uint32_t cap, uint32_t *count);

/* How store_group_seek moves a committed offset (Kafka's --reset-offsets). */
enum store_seek {
	STORE_SEEK_OFFSET,   /* to value (>= 0) */
	STORE_SEEK_EARLIEST, /* to start */
	STORE_SEEK_LATEST,   /* to end */
	STORE_SEEK_SHIFT,    /* by value (+/-) from the committed offset */
	STORE_SEEK_TIME,     /* to the first record stamped at or after value (ms) */
};
/* Commits a new offset for partition index, clamped to [start, end]; *committed
 * (may be NULL) is where it went. Finding a time takes O(log n) batch lookups.
 * EINVAL: a negative STORE_SEEK_OFFSET, or an unknown how; ENOENT: group,
 * topic or partition gone. */
int store_group_seek(struct store *s, uint32_t group_id, uint32_t index, enum store_seek how,
		     int64_t value, uint64_t *committed);

/* Where a consume puts what it hands out, inside its write transaction:
 * returns room for the next len bytes (whole records, each value + '\n',
 * following the bytes before), into which the store copies them; NULL
 * aborts the consume (ENOMEM): nothing is committed. Called first with len 0
 * (the result ignored): start over, the transaction is being run (again).
 * It must not call into the store. */
typedef void *(*store_consume_fn)(size_t len, void *arg);
struct store_consumed {
	uint64_t records;
	uint64_t bytes;
	uint64_t missed; /* records retention removed before the group read them */
};
/* Hands the group's next records to fn and commits them, in one transaction:
 * whole records of up to size bytes in all (but at least one record, however
 * long), from the partitions in turn, starting each call at another partition
 * so that none starves. *out (may be NULL) says how many (all 0 on error).
 * Nothing to consume: 0 with out->records 0. Concurrent calls never hand out
 * the same record. EINVAL: fn NULL or size 0; ENOENT: group or topic gone;
 * ENOMEM: fn returned NULL. */
int store_group_consume(struct store *s, uint32_t group_id, size_t size, store_consume_fn fn,
			void *arg, struct store_consumed *out);
/* Whether store_group_consume would return without waiting for an append:
 * true if the group has records to consume, or if the store cannot tell
 * (the group or topic is gone, or an error: logged, and the consume reports
 * it). */
bool store_group_is_ready(struct store *s, uint32_t group_id);
/* What a consume under --supervise handed out, kept with its commit (as a
 * write's request): the records [from, to) of partition gpid, one range per
 * partition served, in the order their bytes were handed out. A READ the
 * kernel resends after the daemon died gets the same records again. */
struct store_consume_range {
	uint32_t gpid;
	uint64_t from;
	uint64_t to;
};
/* store_group_consume that keeps req (NULL: none) with what it commits; only
 * the last STORE_REQUESTS_KEPT consumes of each slot are kept. With req,
 * *first (may be NULL) is the first range handed out (gpid 0: none). */
int store_group_consume_req(struct store *s, uint32_t group_id, size_t size,
			    store_consume_fn fn, void *arg, struct store_consumed *out,
			    const struct store_request *req, struct store_consume_range *first);
/* When req's consume was committed: its ranges (the first cap of them) in
 * out[] and *n their number; *n 0 if not (nothing committed, or forgotten).
 * 0, or an errno (EIO). */
int store_consume_request_get(struct store *s, const struct store_request *req,
			      struct store_consume_range *out, uint32_t cap, uint32_t *n);

/* Called for each group partition whose committed offset retention passed,
 * after the commit (g valid only during the call); it may call the store. */
typedef void (*store_missed_fn)(const struct store_group *g, uint32_t index, uint64_t missed,
				void *arg);
/* Moves every committed offset retention passed on to its partition's start
 * (Kafka's auto.offset.reset=earliest), in one transaction (also on a full
 * disk), then tells fn (may be NULL) of each, with how many records the
 * group never saw. */
int store_groups_catch_up(struct store *s, store_missed_fn fn, void *arg);

#endif
