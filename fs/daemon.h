/* daemon.h — the background start (fs/daemon.c), for main.c and supervise.c. */
#ifndef TOPICFS_DAEMON_H
#define TOPICFS_DAEMON_H

/* Forks: the parent waits for the status byte on the returned fd and exits
 * with it; tfs_daemon_ready detaches (stdio, syslog) and sends 0. */
int tfs_daemon_start(void);
void tfs_daemon_ready(int fd);

#endif
