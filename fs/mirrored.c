/* mirrored.c — runs the Kafka mirror (mirror/) for the mount and shows its state. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logging.h"
#include "mirror.h"
#include "mirrored.h"
#include "tfs.h"

#define XA_LOST "user.topicfs.mirror.lost"
#define XA_ERROR "user.topicfs.mirror.error"

static struct mirror *mirror;

int tfs_mirror_start(void)
{
	if (!tfs.opt.mirror)
		return 0;
	struct mirror_options o = {
		.brokers = tfs.opt.mirror,
		.topics = tfs.opt.mirror_topics,
		.prefix = tfs.opt.mirror_prefix,
		.host = tfs.opt.mirror_host,
		.props = (const char *const *)tfs.opt.mirror_props,
		.log = tfs_log,
	};
	return mirror_start(&mirror, tfs.store, &o);
}

void tfs_mirror_stop(void)
{
	mirror_stop(mirror);
	mirror = NULL;
}

bool tfs_mirror_is_on(void)
{
	return tfs.opt.mirror != NULL;
}

/* A partition the mirror has not learnt of yet (just made) ships from 0. */
static int status_of(uint32_t gpid, struct mirror_status *st)
{
	struct store_partition p;
	int err = mirror ? mirror_status(mirror, gpid, st) : ENOENT;
	if (err == ENOENT && (err = store_partition_get(tfs.store, gpid, &p)) == 0)
		*st = (struct mirror_status){0, 0, ""};
	return err;
}

int tfs_mirrored_text(uint32_t gpid, char *text, size_t cap, size_t *len)
{
	struct mirror_status st;
	int err = status_of(gpid, &st);
	if (err == ENODATA) { /* not a mirrored topic (mirror.topics) */
		int l = snprintf(text, cap, "-\n");
		*len = (size_t)l < cap ? (size_t)l : cap - 1;
		return 0;
	}
	if (err)
		return err;
	int l = snprintf(text, cap, "%" PRIu64 "\n", st.next);
	*len = l < 0 ? 0 : (size_t)l < cap ? (size_t)l : cap - 1;
	return 0;
}

int tfs_mirrored_xattr(uint32_t gpid, const char *name, char **buf, size_t *len)
{
	struct mirror_status st;
	int err = status_of(gpid, &st);
	char text[300];
	if (err == ENODATA)
		return name ? ENODATA : (*buf = NULL, *len = 0, 0);
	if (err)
		return err;
	if (!name) {
		static const char names[] = XA_LOST "\0" XA_ERROR "";
		size_t n = st.error[0] ? sizeof names : sizeof XA_LOST;
		if (!(*buf = malloc(n)))
			return ENOMEM;
		memcpy(*buf, names, n);
		*len = n;
		return 0;
	}
	if (strcmp(name, XA_LOST) == 0)
		snprintf(text, sizeof text, "%" PRIu64, st.lost);
	else if (strcmp(name, XA_ERROR) == 0 && st.error[0])
		snprintf(text, sizeof text, "%s", st.error);
	else
		return ENODATA;
	*len = strlen(text);
	if (!(*buf = malloc(*len + 1)))
		return ENOMEM;
	memcpy(*buf, text, *len);
	return 0;
}
