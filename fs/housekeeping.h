/* housekeeping.h — the background thread: periodic sync and retention. */
#ifndef TOPICFS_HOUSEKEEPING_H
#define TOPICFS_HOUSEKEEPING_H

int tfs_housekeeping_start(void);
void tfs_housekeeping_stop(void);

#endif
