/* mirrored.h — the Kafka mirror as the daemon runs it (-o mirror=) and shows
 * it: partition-<N>/mirrored and its user.topicfs.mirror.* attributes. */
#ifndef TOPICFS_MIRRORED_H
#define TOPICFS_MIRRORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts the mirror if -o mirror= was given; 0 or an errno (logged). */
int tfs_mirror_start(void);
void tfs_mirror_stop(void);
/* Whether the mount mirrors: only then do partitions have a mirrored file. */
bool tfs_mirror_is_on(void);
/* The text of partition gpid's mirrored file: the next offset to ship. */
int tfs_mirrored_text(uint32_t gpid, char *text, size_t cap, size_t *len);
/* The attribute `name` of mirrored into buf (malloc'd), or with name NULL the
 * list of names. ENODATA: no such attribute. */
int tfs_mirrored_xattr(uint32_t gpid, const char *name, char **buf, size_t *len);

#endif
