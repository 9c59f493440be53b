/* handles.h — the open files the daemon holds, so a stop can close them all. */
#ifndef TOPICFS_HANDLES_H
#define TOPICFS_HANDLES_H

struct tfs_handle_link {
	struct tfs_handle_link *prev;
	struct tfs_handle_link *next;
};

/* Registers and unregisters an open file. */
void tfs_handles_add(struct tfs_handle_link *l);
void tfs_handles_remove(struct tfs_handle_link *l);
/* Unregisters every open file, oldest first, handing each to fn. */
void tfs_handles_drain(void (*fn)(struct tfs_handle_link *l));

#endif
