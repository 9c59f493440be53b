/* pins.c — which gpids the kernel still holds inode numbers of (lookups not yet forgotten).
 *
 * Inode numbers are made from gpids (inode.c), and the store gives the gpids
 * of deleted partitions to new ones. A number the kernel still holds — an
 * open file, a process's working directory, a cached dentry in a deleted
 * topic — must not start naming a new partition's records, so a gpid is
 * reused only once the kernel has forgotten every inode number made from it.
 * The kernel counts lookups per inode and gives them back with FORGET; this
 * keeps the same count, summed per gpid. */
#include <pthread.h>
#include <stdlib.h>

#include "inode.h"
#include "nodes.h"
#include "pins.h"
#include "supervise.h"

#define BUCKETS 4096

struct pin {
	struct pin *next;
	uint32_t gpid;
	uint64_t count; /* lookups of this gpid's inodes not yet forgotten */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pin *buckets[BUCKETS]; /* lock */

/* The gpid behind ino, or 0 for a node that is not partition-level. */
static uint32_t gpid_of(fuse_ino_t ino)
{
	struct tfs_node n;
	if (tfs_ino_parse(ino, &n) != 0)
		return 0;
	/* partition-<N>/produce and mirrored too: their numbers hold the gpid. */
	return tfs_kind_is_partition_level(n.kind) ? n.id : 0;
}

void tfs_pins_hold(fuse_ino_t ino)
{
	uint32_t gpid = gpid_of(ino);
	if (!gpid)
		return;
	pthread_mutex_lock(&lock);
	struct pin **b = &buckets[gpid % BUCKETS], *p = *b;
	while (p && p->gpid != gpid)
		p = p->next;
	if (!p && (p = calloc(1, sizeof *p))) {
		/* Without memory the gpid goes unpinned: its reuse would then be
		 * the old behaviour's risk, not a crash. */
		p->gpid = gpid;
		p->next = *b;
		*b = p;
	}
	if (p)
		p->count++;
	pthread_mutex_unlock(&lock);
}

void tfs_pins_release(fuse_ino_t ino, uint64_t n)
{
	uint32_t gpid = gpid_of(ino);
	if (!gpid)
		return;
	pthread_mutex_lock(&lock);
	struct pin **pp = &buckets[gpid % BUCKETS];
	while (*pp && (*pp)->gpid != gpid)
		pp = &(*pp)->next;
	struct pin *p = *pp;
	if (p && (p->count <= n || (p->count -= n) == 0)) {
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&lock);
}

bool tfs_pins_is_busy(uint32_t gpid)
{
	/* A daemon that took over does not know which inode numbers the kernel
	 * got from the one that died: it reuses no gpid (see inode.c). */
	if (tfs_takeover_active())
		return true;
	pthread_mutex_lock(&lock);
	struct pin *p = buckets[gpid % BUCKETS];
	while (p && p->gpid != gpid)
		p = p->next;
	pthread_mutex_unlock(&lock);
	return p != NULL;
}

void tfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	tfs_pins_release(ino, nlookup);
	fuse_reply_none(req);
}

void tfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		tfs_pins_release(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}
