/* snapshot.c — a power loss never corrupts the store, whatever the sync mode.
 *
 * LMDB runs with MDB_NOSYNC: commits reach the page cache at
 * once (a crash of the daemon loses nothing) and the disk only at the next
 * mdb_env_sync(). Alone that is not power-safe: the kernel writes pages back in
 * any order, both meta pages are rewritten by the next two commits, and the
 * pages a commit frees are reused by the commits after it, so after a power
 * loss neither meta page need point at a tree that is whole on disk.
 *
 * So each sync keeps the snapshot it made durable recoverable until the next
 * sync is durable too:
 *  1. under LMDB's write lock (no commit in between), a read transaction pins
 *     the newest snapshot, txn Y, and we copy Y's meta page;
 *  2. fdatasync(data.mdb): every page of Y is on disk, and while the pin
 *     lives, LMDB reuses none of them (it only reuses pages freed before the
 *     oldest reader's snapshot);
 *  3. Y's meta page goes into DIR/topicfs.snapshot, in the older of two
 *     checksummed slots, and is fdatasynced; only then is the previous pin
 *     released.
 * At every moment one slot holds a meta page whose whole tree is on disk.
 *
 * At open, if the newest valid slot was written in another boot of the machine
 * (/proc/sys/kernel/random/boot_id) and not by a clean close or a sync=always
 * mount, the machine went down while the store was open: the page cache, and
 * with it anything after Y, is gone or torn, so Y's meta page is written back
 * into both of data.mdb's meta pages before LMDB opens the file. In the same
 * boot (the daemon was killed) the page cache is whole and nothing is undone.
 * LMDB runs with MDB_NOSYNC in both sync modes: with sync=always a write() is
 * durable once its WAL entry is (wal.c), and other changes run a sync here
 * before their call returns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

#define SNAP_MAGIC 0x54465331534e4150ull /* "TFS1SNAP" */
#define SNAP_HEAD 128                    /* slot header bytes, before the page */
#define SNAP_PAGE_MAX 65536
#define SNAP_CLEAN 1u /* written by a clean close: nothing to undo */

/* LMDB's on-disk meta page (lmdb.h does not export it): a 16-byte page header,
 * then MDB_meta, whose magic is at 16 and whose txnid ends it at 144. */
#define LMDB_META_MAGIC_AT 16
#define LMDB_META_TXNID_AT 144
#define LMDB_MAGIC 0xBEEFC0DEu

struct snap_head {
	uint64_t magic;
	uint64_t seq;    /* newer slots have larger seq */
	uint64_t txnid;  /* the snapshot the page belongs to */
	uint32_t flags;  /* SNAP_* */
	uint32_t psize;  /* bytes of meta page following the header; 0 = none */
	char boot_id[40];
	uint32_t crc;    /* over the header (crc 0) and the page */
	char pad[SNAP_HEAD - 76];
};
_Static_assert(sizeof(struct snap_head) == SNAP_HEAD, "snapshot slot header size");

static uint32_t slot_crc(const struct snap_head *h, const void *page)
{
	struct snap_head c = *h;
	c.crc = 0;
	return store_crc32(store_crc32(0, &c, sizeof(c)), page, h->psize);
}

/* The id of this boot of the machine. TOPICFS_BOOT_ID stands in for it in the
 * power-loss tests, which mount disk images as if after a reboot. */
static void boot_id(char out[40])
{
	memset(out, 0, 40);
	const char *fake = getenv("TOPICFS_BOOT_ID");
	if (fake) {
		snprintf(out, 40, "%s", fake);
		return;
	}
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, 39);
	close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = '\0';
}

static int snap_path(const char *dir, const char *name, char *path, size_t size)
{
	return snprintf(path, size, "%s/%s", dir, name) < (int)size ? 0 : ENAMETOOLONG;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static int is_meta_page(const unsigned char *page, uint32_t psize, uint64_t txnid)
{
	return psize > LMDB_META_TXNID_AT + 8 && get_u32(page + LMDB_META_MAGIC_AT) == LMDB_MAGIC &&
	       get_u64(page + LMDB_META_TXNID_AT) == txnid;
}

/* Reads slot i into h and page (SNAP_PAGE_MAX bytes). 0 if it is whole. */
static int slot_read(int fd, int i, struct snap_head *h, unsigned char *page)
{
	off_t at = (off_t)i * (SNAP_HEAD + SNAP_PAGE_MAX);
	if (pread(fd, h, sizeof(*h), at) != (ssize_t)sizeof(*h) || h->magic != SNAP_MAGIC ||
	    h->psize > SNAP_PAGE_MAX)
		return EINVAL;
	if (h->psize && pread(fd, page, h->psize, at + SNAP_HEAD) != (ssize_t)h->psize)
		return EINVAL;
	return slot_crc(h, page) == h->crc ? 0 : EINVAL;
}

/* The newest whole slot of DIR/topicfs.snapshot into h and page: 0, or ENOENT. */
static int slot_newest(int fd, struct snap_head *h, unsigned char *page)
{
	struct snap_head other;
	unsigned char *page2 = malloc(SNAP_PAGE_MAX);
	if (!page2)
		return ENOMEM;
	int ok0 = slot_read(fd, 0, h, page) == 0;
	int ok1 = slot_read(fd, 1, &other, page2) == 0;
	if (ok1 && (!ok0 || other.seq > h->seq)) {
		*h = other;
		memcpy(page, page2, other.psize);
	}
	free(page2);
	return ok0 || ok1 ? 0 : ENOENT;
}

/* Writes Y's meta page over both of data.mdb's meta pages (each keeps its own
 * page number), so LMDB opens Y whichever it picks. */
static int restore_meta(const char *dir, const unsigned char *page, uint32_t psize)
{
	char path[4096];
	int rc = snap_path(dir, "data.mdb", path, sizeof(path));
	if (rc)
		return rc;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	unsigned char *copy = malloc(psize);
	if (!copy) {
		close(fd);
		return ENOMEM;
	}
	for (uint64_t pgno = 0; pgno < 2 && rc == 0; pgno++) {
		memcpy(copy, page, psize);
		memcpy(copy, &pgno, sizeof(pgno)); /* mp_pgno opens the page header */
		if (pwrite(fd, copy, psize, (off_t)(pgno * psize)) != (ssize_t)psize)
			rc = errno ? errno : EIO;
	}
	if (rc == 0 && fdatasync(fd))
		rc = errno;
	free(copy);
	close(fd);
	return rc;
}

int store_snapshot_recover(const char *dir)
{
	char path[4096];
	int rc = snap_path(dir, "topicfs.snapshot", path, sizeof(path));
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : errno;
	struct snap_head h;
	unsigned char *page = malloc(SNAP_PAGE_MAX);
	if (!page) {
		close(fd);
		return ENOMEM;
	}
	char boot[40];
	boot_id(boot);
	rc = slot_newest(fd, &h, page);
	close(fd);
	if (rc == ENOENT) {
		rc = 0; /* never synced: LMDB's own first commit was durable */
	} else if (rc == 0 && !(h.flags & SNAP_CLEAN) &&
		   strncmp(h.boot_id, boot, sizeof(boot)) != 0) {
		if (!is_meta_page(page, h.psize, h.txnid)) {
			store_log(STORE_LOG_ERR, "%s: the saved snapshot is not an LMDB meta page", path);
			rc = EIO;
		} else {
			rc = restore_meta(dir, page, h.psize);
			if (rc)
				store_log(STORE_LOG_ERR, "%s: cannot restore the last synced snapshot: %s",
					dir, strerror(rc));
			else
				store_log(STORE_LOG_WARNING,
					  "%s: the machine went down while the store was open: "
					  "back to the last synced snapshot (transaction %llu); "
					  "what was written after that sync is gone",
					dir, (unsigned long long)h.txnid);
		}
	}
	free(page);
	return rc;
}

int store_snapshot_open(struct store *s)
{
	char path[4096];
	int rc = snap_path(s->dir, "topicfs.snapshot", path, sizeof(path));
	if (rc)
		return rc;
	s->snap_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->snap_fd < 0) {
		rc = errno;
		store_log(STORE_LOG_ERR, "%s: %s", path, strerror(rc));
		return rc;
	}
	struct snap_head h;
	unsigned char *page = malloc(SNAP_PAGE_MAX);
	if (!page)
		return ENOMEM;
	if (slot_newest(s->snap_fd, &h, page) == 0)
		s->snap_seq = h.seq;
	s->snap_flags = UINT32_MAX; /* none written by this mount yet */
	free(page);
	pthread_mutex_init(&s->snap_lock, NULL);
	MDB_stat st;
	if ((rc = mdb_env_stat(s->env, &st)) != 0)
		return store_errno(rc, "stat");
	s->snap_psize = st.ms_psize;
	if (s->snap_psize > SNAP_PAGE_MAX)
		return EINVAL;
	/* The first checkpoint also records this boot and mode. */
	return store_snapshot_sync(s, 0);
}

/* Writes the older slot and makes it durable. */
static int slot_write(struct store *s, uint64_t txnid, uint32_t flags, const void *page,
		      uint32_t psize)
{
	unsigned char *buf = calloc(1, SNAP_HEAD + psize);
	if (!buf)
		return ENOMEM;
	struct snap_head h = {.magic = SNAP_MAGIC, .seq = s->snap_seq + 1, .txnid = txnid,
			      .flags = flags, .psize = psize};
	boot_id(h.boot_id);
	h.crc = slot_crc(&h, page);
	memcpy(buf, &h, sizeof(h));
	if (psize)
		memcpy(buf + SNAP_HEAD, page, psize);
	off_t at = (off_t)(h.seq & 1) * (SNAP_HEAD + SNAP_PAGE_MAX);
	int rc = 0;
	if (pwrite(s->snap_fd, buf, SNAP_HEAD + psize, at) != (ssize_t)(SNAP_HEAD + psize))
		rc = errno ? errno : EIO;
	else if (fdatasync(s->snap_fd))
		rc = errno;
	free(buf);
	if (rc == 0)
		s->snap_seq = h.seq;
	return rc;
}

/* Pins the newest snapshot with a read transaction and copies its meta page.
 * LMDB's write lock, taken by a write transaction we abort, keeps a commit
 * from rewriting that meta page while we read it. */
static int pin_newest(struct store *s, MDB_txn **pin, unsigned char *page)
{
	MDB_txn *w;
	mdb_filehandle_t fd;
	pthread_rwlock_rdlock(&s->map_lock);
	int rc = mdb_txn_begin(s->env, NULL, 0, &w);
	if (rc == 0) {
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, pin);
		if (rc == 0) {
			uint64_t y = mdb_txn_id(*pin);
			off_t at = (off_t)(y & 1) * s->snap_psize;
			if ((rc = mdb_env_get_fd(s->env, &fd)) == 0 &&
			    pread(fd, page, s->snap_psize, at) != (ssize_t)s->snap_psize)
				rc = errno ? errno : EIO;
			if (rc == 0 && !is_meta_page(page, s->snap_psize, y))
				rc = EIO;
			if (rc) {
				mdb_txn_abort(*pin);
				*pin = NULL;
			}
		}
		mdb_txn_abort(w);
	}
	pthread_rwlock_unlock(&s->map_lock);
	return store_errno(rc, "pin the synced snapshot");
}

static void unpin(struct store *s, MDB_txn *pin)
{
	if (!pin)
		return;
	pthread_rwlock_rdlock(&s->map_lock);
	mdb_txn_abort(pin);
	pthread_rwlock_unlock(&s->map_lock);
}

int store_snapshot_sync(struct store *s, int closing)
{
	mdb_filehandle_t fd;
	int rc = 0;
	pthread_mutex_lock(&s->snap_lock);
	if (closing) {
		/* Everything committed is durable once LMDB's file is synced. */
		rc = store_errno(mdb_env_sync(s->env, 1), "sync");
		if (rc == 0 && s->snap_flags != SNAP_CLEAN) {
			rc = slot_write(s, 0, SNAP_CLEAN, NULL, 0);
			if (rc == 0) {
				s->snap_flags = SNAP_CLEAN;
				unpin(s, s->snap_pin);
				s->snap_pin = NULL;
			}
		}
		goto out;
	}
	unsigned char *page = malloc(s->snap_psize);
	if (!page) {
		rc = ENOMEM;
		goto out;
	}
	MDB_txn *pin = NULL;
	/* The appends the WAL holds go in first, and the snapshot pinned holds
	 * all of them (wal.c). */
	uint64_t lsn = store_wal_hold(s);
	rc = pin_newest(s, &pin, page);
	int same = rc == 0 && s->snap_pin && mdb_txn_id(pin) == mdb_txn_id(s->snap_pin);
	store_wal_release(s, rc == 0 && !same);
	if (same) {
		unpin(s, pin); /* nothing committed since the last sync */
	} else if (rc == 0) {
		if ((rc = mdb_env_get_fd(s->env, &fd)) == 0 && fdatasync(fd))
			rc = errno;
		if (rc == 0)
			rc = slot_write(s, mdb_txn_id(pin), 0, page, s->snap_psize);
		if (rc == 0) {
			unpin(s, s->snap_pin);
			s->snap_pin = pin;
			s->snap_flags = 0;
			store_wal_durable(s, lsn);
		} else {
			unpin(s, pin);
		}
	}
	free(page);
out:
	pthread_mutex_unlock(&s->snap_lock);
	return rc;
}

void store_snapshot_close(struct store *s)
{
	if (s->snap_fd < 0)
		return;
	unpin(s, s->snap_pin);
	s->snap_pin = NULL;
	close(s->snap_fd);
	s->snap_fd = -1;
	pthread_mutex_destroy(&s->snap_lock);
}
