/* daemon.c — going to the background: the parent returns once the mount is usable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "logging.h"

/* Background mode: the parent waits until the child has mounted (or failed),
 * so `topicfs DATA MNT` returns when the filesystem is usable, with an exit
 * status that says whether it is. Returns the fd to report readiness on. */
int tfs_daemon_start(void)
{
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		perror("topicfs: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("topicfs: fork");
		exit(1);
	}
	if (pid > 0) {
		char status = 1;
		close(pipefd[1]);
		if (read(pipefd[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(pipefd[0]);
	setsid();
	return pipefd[1];
}

void tfs_daemon_ready(int fd)
{
	char ok = 0;
	int null = open("/dev/null", O_RDWR);
	if (chdir("/") != 0)
		tfs_log(LOG_WARNING, "chdir /: %s", strerror(errno));
	tfs_log_to_syslog();
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(fd, &ok, 1) != 1)
		tfs_log(LOG_WARNING, "could not report readiness to the parent");
	close(fd);
}
