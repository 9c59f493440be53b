/* mirror_state.c — the Kafka mirror's progress per partition, kept in the store. */
#include <errno.h>
#include <string.h>

#include "store_int.h"

/* Stored value: the struct as is (native-endian), like the partition records. */

int store_mirror_get(struct store *s, uint32_t gpid, struct store_mirror_state *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	unsigned char kb[4];
	store_be32(kb, gpid);
	MDB_val k = {sizeof kb, kb}, d;
	rc = mdb_get(txn, s->mirror, &k, &d);
	if (rc == 0) {
		memset(out, 0, sizeof *out);
		memcpy(out, d.mv_data, d.mv_size < sizeof *out ? d.mv_size : sizeof *out);
	}
	store_read_end(s, txn);
	return store_errno(rc, "read mirror state");
}

struct set_args {
	const uint32_t *gpids;
	const struct store_mirror_state *states;
	size_t n;
};

static int set_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct set_args *a = arg;
	for (size_t i = 0; i < a->n; i++) {
		unsigned char kb[4];
		store_be32(kb, a->gpids[i]);
		MDB_val k = {sizeof kb, kb}, d = {sizeof a->states[i], (void *)&a->states[i]};
		/* A partition deleted meanwhile keeps no state. */
		struct store_part_rec p;
		int rc = store_part_get_rec(s, txn, a->gpids[i], &p);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc || (rc = mdb_put(txn, s->mirror, &k, &d, 0)))
			return rc;
	}
	return 0;
}

int store_mirror_set(struct store *s, const uint32_t *gpids,
		     const struct store_mirror_state *states, size_t n)
{
	if (n == 0)
		return 0;
	struct set_args a = {gpids, states, n};
	return store_write(s, set_txn, &a, 64 * 1024 + 64 * n, "save mirror state");
}
