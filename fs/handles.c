/* handles.c — files still open when the daemon stops (SIGTERM, unmount) get
 * their release here: a producer's held partial line becomes a record. */
#include <pthread.h>
#include <stddef.h>

#include "handles.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tfs_handle_link head = {&head, &head}; /* guarded by lock */

void tfs_handles_add(struct tfs_handle_link *l)
{
	pthread_mutex_lock(&lock);
	l->prev = head.prev;
	l->next = &head;
	head.prev->next = l;
	head.prev = l;
	pthread_mutex_unlock(&lock);
}

void tfs_handles_remove(struct tfs_handle_link *l)
{
	pthread_mutex_lock(&lock);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
	pthread_mutex_unlock(&lock);
}

void tfs_handles_drain(void (*fn)(struct tfs_handle_link *l))
{
	for (;;) {
		pthread_mutex_lock(&lock);
		struct tfs_handle_link *l = head.next;
		if (l == &head) {
			pthread_mutex_unlock(&lock);
			return;
		}
		l->prev->next = l->next;
		l->next->prev = l->prev;
		l->prev = l->next = l;
		pthread_mutex_unlock(&lock);
		fn(l);
	}
}
