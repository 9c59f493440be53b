/* fhtable.c — file handles (fi->fh) that name the same open file to the next daemon.
 *
 * A handle was a pointer to the daemon's open file. The kernel keeps handles
 * for as long as the file stays open, and under --supervise it hands them to
 * the daemon that replaced a dead one, so a handle must mean something
 * without the process that made it: it is a slot number (low 32 bits, plus
 * one) and the serial the slot was taken with (high 32 bits). The slot says
 * what the file is (kind, topic or partition, a key file's key) and what of
 * its state must outlive the daemon (a log reader's shift and position, a
 * group reader's part-read record). The
 * table is shared memory the supervisor maps before it forks the daemons, so
 * each one finds the slots of the ones before it; unsupervised it is private.
 * The serial makes a stale handle (its slot freed and taken again) name
 * nothing rather than another file. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "fhtable.h"

struct table {
	_Atomic uint32_t serial; /* the last serial given out */
	_Atomic uint32_t hint;   /* the search for a free slot starts here: every
				    slot below it was taken when it was set */
	_Atomic uint32_t used;   /* slots below this were ever taken: tfs_fh_each
				  * touches no page of the rest (20 MiB) */
	struct tfs_fh_slot slots[TFS_FH_SLOTS];
};

static struct table *table;

int tfs_fh_table_init(int shared)
{
	if (table)
		return 0;
	void *p = mmap(NULL, sizeof *table, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	table = p;
	return 0;
}

uint32_t tfs_fh_index(uint64_t fh)
{
	return (uint32_t)fh - 1;
}

int tfs_fh_alloc(enum tfs_kind kind, uint32_t id, const char *key, size_t key_len,
		 uint64_t *fh)
{
	if (key_len > TFS_FH_KEY_MAX)
		return ENAMETOOLONG;
	uint32_t serial;
	do
		serial = atomic_fetch_add(&table->serial, 1) + 1;
	while (serial == 0);
	uint32_t start = atomic_load(&table->hint) % TFS_FH_SLOTS;
	for (uint32_t n = 0; n < TFS_FH_SLOTS; n++) {
		uint32_t i = (start + n) % TFS_FH_SLOTS;
		struct tfs_fh_slot *s = &table->slots[i];
		uint32_t free_serial = 0;
		if (atomic_load(&s->serial) != 0 ||
		    !atomic_compare_exchange_strong(&s->serial, &free_serial, serial))
			continue;
		s->kind = kind;
		s->id = id;
		s->key_len = (uint32_t)key_len;
		s->framing = 0;
		if (key_len)
			memcpy(s->key, key, key_len);
		s->shift = s->next = 0;
		atomic_store(&s->based, 0);
		atomic_store(&s->poll_kh, 0);
		atomic_store(&s->rest_len, 0);
		atomic_store(&s->rest_off, 0);
		atomic_store(&s->rest_unique, 0);
		/* Slots start..i were taken; a free meanwhile lowered the hint: keep it. */
		uint32_t h = start;
		atomic_compare_exchange_strong(&table->hint, &h, i + 1);
		uint32_t used = atomic_load(&table->used);
		while (used < i + 1 && !atomic_compare_exchange_weak(&table->used, &used, i + 1))
			;
		*fh = ((uint64_t)serial << 32) | (i + 1);
		return 0;
	}
	return ENFILE;
}

struct tfs_fh_slot *tfs_fh_slot(uint64_t fh)
{
	uint32_t i = tfs_fh_index(fh);
	if (!table || i >= TFS_FH_SLOTS)
		return NULL;
	struct tfs_fh_slot *s = &table->slots[i];
	return atomic_load(&s->serial) == (uint32_t)(fh >> 32) ? s : NULL;
}

void tfs_fh_each(void (*fn)(struct tfs_fh_slot *slot, void *arg), void *arg)
{
	uint32_t used = table ? atomic_load(&table->used) : 0;
	for (uint32_t i = 0; i < used; i++)
		if (atomic_load(&table->slots[i].serial) != 0)
			fn(&table->slots[i], arg);
}

void tfs_fh_free(uint64_t fh)
{
	struct tfs_fh_slot *s = tfs_fh_slot(fh);
	uint32_t serial = (uint32_t)(fh >> 32);
	if (s && atomic_compare_exchange_strong(&s->serial, &serial, 0)) {
		/* The lowest free slot is taken next, so the table's pages touched
		 * (its resident size) follow the files open at once, not all the
		 * files ever opened. */
		uint32_t i = (uint32_t)(s - table->slots), hint = atomic_load(&table->hint);
		while (i < hint && !atomic_compare_exchange_weak(&table->hint, &hint, i))
			;
	}
}
