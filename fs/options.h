/* options.h — the command line: DATA_DIR MOUNTPOINT [-o OPTIONS] [-f]. */
#ifndef TOPICFS_OPTIONS_H
#define TOPICFS_OPTIONS_H

#include "tfs.h"

/* Parses and removes topicfs's own arguments from args, leaving FUSE's.
 * 0, or an errno after printing why to stderr (EINVAL: a bad argument). */
int tfs_options_parse(struct fuse_args *args, struct tfs_options *o);
void tfs_options_usage(const char *prog);
/* Logs what the options leave in force that an admin must know: who may use
 * the mount, and whether permissions are checked. */
void tfs_options_log(const struct tfs_options *o);
void tfs_options_free(struct tfs_options *o);

#endif
