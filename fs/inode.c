/* inode.c — inode numbers are computed from what a node is, never stored.
 *
 * Layout of the 64-bit number:
 *   offset-<n> files: bit 63 = 1 | gpid (23 bits) | low 40 bits of n
 *   everything else:  bit 63 = 0 | kind (7 bits) | id (32 bits) | sub (24 bits)
 * where id is the topic id (topic-level nodes), the gpid (partition-level
 * nodes) or the group id (nodes in consumers/<group>/). The root is kind 0,
 * id 0, sub 1 = FUSE_ROOT_ID.
 *
 * Topic ids are never reused (32 bits: four billion topics made), so a
 * topic-level number always names the same node, across remounts too. Gpids
 * are reused: the 23 bits would otherwise run out after 2^23 partitions ever
 * made, which one user's mkdir/rmdir loop reaches in seconds. A reused gpid
 * makes the old partition's numbers name the new partition, so it is reused
 * only once the kernel holds none of them: every entry reply counts a lookup
 * of its gpid, every FORGET gives them back (pins.c), and the store skips
 * gpids still counted (store_set_gpid_busy_hook). An open file, a working
 * directory or a cached dentry in a deleted topic holds its inode, so its
 * number never reaches a new partition's records; the kernel forgets it
 * only once nothing uses it. After a remount the kernel holds nothing, so
 * every free gpid may be reused. Group ids, like topic ids, are never reused.
 * 40 bits of offset suffice: two offsets alias only if both are retained
 * while 2^40 records apart, and tfs_offset_widen() recovers the full offset
 * from the partition's retained window.
 */
#include <errno.h>

#include "inode.h"
#include "store.h"

#define OFFSET_FLAG (1ULL << 63)
#define OFFSET_MASK ((1ULL << TFS_OFFSET_BITS) - 1)

uint64_t tfs_ino_make(enum tfs_kind kind, uint32_t id, uint32_t sub)
{
	if (kind == TFS_ROOT)
		return 1;
	return ((uint64_t)kind << 56) | ((uint64_t)id << 24) | (sub & 0xffffffu);
}

uint64_t tfs_ino_offset(uint32_t gpid, uint64_t offset)
{
	return OFFSET_FLAG | ((uint64_t)gpid << TFS_OFFSET_BITS) | (offset & OFFSET_MASK);
}

int tfs_ino_parse(uint64_t ino, struct tfs_node *node)
{
	node->sub = 0;
	node->offset = 0;
	if (ino & OFFSET_FLAG) {
		node->kind = TFS_OFFSET;
		node->id = (uint32_t)((ino & ~OFFSET_FLAG) >> TFS_OFFSET_BITS);
		node->offset = ino & OFFSET_MASK;
		return node->id ? 0 : EINVAL;
	}
	if (ino == 1) {
		node->kind = TFS_ROOT;
		node->id = 0;
		return 0;
	}
	uint32_t kind = (uint32_t)(ino >> 56);
	if (kind == TFS_ROOT || kind >= TFS_KIND_COUNT || kind == TFS_OFFSET)
		return EINVAL;
	node->kind = (enum tfs_kind)kind;
	node->id = (uint32_t)(ino >> 24);
	node->sub = (uint32_t)(ino & 0xffffffu);
	return node->id ? 0 : EINVAL;
}

uint64_t tfs_offset_widen(uint64_t low, uint64_t end)
{
	if (end == 0)
		return low;
	uint64_t last = end - 1;
	uint64_t cand = (last & ~OFFSET_MASK) | low;
	if (cand > last && cand >= (1ULL << TFS_OFFSET_BITS))
		cand -= 1ULL << TFS_OFFSET_BITS;
	return cand;
}
