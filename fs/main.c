/* main.c — starts topicfs: options, the store, the mount, the request loop. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "fhtable.h"
#include "files.h"
#include "groups.h"
#include "housekeeping.h"
#include "log_reply.h"
#include "logging.h"
#include "logpoll.h"
#include "loop.h"
#include "mirrored.h"
#include "open_file.h"
#include "options.h"
#include "pins.h"
#include "supervise.h"
#include "tfs.h"
#include "tree.h"
#include "xattr.h"

/* The store's messages join the daemon's own (stderr with -f, syslog otherwise). */
static void store_message(int level, const char *msg)
{
	tfs_log(level, "store: %s", msg);
}

static void busy_message(const char *dir)
{
	char path[4096], pid[32] = "";
	snprintf(path, sizeof path, "%s/topicfs.lock", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(pid, sizeof pid, f))
			pid[0] = '\0';
		fclose(f);
	}
	pid[strcspn(pid, "\n")] = '\0';
	fprintf(stderr, "topicfs: %s is already in use by another topicfs%s%s%s; not mounting\n",
		dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
}

/* A user other than root mounts FUSE through /dev/fuse, which libfuse 3.14
 * opens itself before it would try fusermount3, and fusermount3 3.14 opens
 * as the calling user too: where the device is root's only (mode 0600, as
 * on some hosts) no unprivileged mount can work, supervised or not. Said
 * plainly, rather than libfuse's "failed to open /dev/fuse". 0 or EACCES. */
static int check_dev_fuse(void)
{
	struct stat st;
	int fd;
	if (getuid() == 0 || geteuid() == 0)
		return 0;
	if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EACCES && errno != EPERM)
		return 0; /* missing, say: libfuse's own message says so */
	int known = stat("/dev/fuse", &st) == 0;
	fprintf(stderr,
		"topicfs: /dev/fuse is not open to uid %u here (mode %04o, owner uid %u): a user "
		"other than root cannot mount FUSE on this host, with or without --supervise "
		"(fusermount3 opens it as the user too); make it 0666, as most distributions do, "
		"or mount as root\n",
		(unsigned)getuid(), known ? (unsigned)(st.st_mode & 07777) : 0u,
		known ? (unsigned)st.st_uid : 0u);
	return EACCES;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_session *se = NULL;
	int ready_fd = -1, rc = 1, err;
	struct tfs_takeover tk, *takeover = NULL;

	/* Each write and read handles up to a MiB (LMDB's dirty overflow pages,
	 * request buffers). glibc's defaults would give that memory back to the
	 * kernel after every request and fault it in again on the next one: keep
	 * it. Freed memory is still reused, so the heap stays a few MiB. */
	mallopt(M_MMAP_THRESHOLD, 4 * TFS_STREAM_BLKSIZE);
	mallopt(M_TRIM_THRESHOLD, 64 * TFS_STREAM_BLKSIZE);

	if (tfs_options_parse(&args, &tfs.opt) != 0)
		goto out;
	if (tfs.opt.show_help) {
		tfs_options_usage(argv[0]);
		rc = 0;
		goto out;
	}
	if (tfs.opt.show_version) {
		printf("topicfs %s (libfuse %s)\n", TFS_VERSION, fuse_pkgversion());
		rc = 0;
		goto out;
	}
	tfs_log_set_debug(tfs.opt.debug);
	store_set_log_hook(store_message);
	tfs.uid = getuid();
	tfs.gid = getgid();
	tfs.mounted_ms = store_now_ms();

	char fsname[4200];
	snprintf(fsname, sizeof fsname, "-ofsname=%s,subtype=topicfs", tfs.opt.data_dir);
	fuse_opt_add_arg(&args, fsname);

	if (check_dev_fuse() != 0)
		goto out;
	/* Supervised, this goes on only in the daemons the supervisor starts. */
	if (tfs.opt.supervise) {
		if (tfs_supervise(&args, &tk) != 0)
			goto out;
		takeover = &tk;
		ready_fd = tk.ready_fd;
	} else if (!tfs.opt.foreground) {
		ready_fd = tfs_daemon_start();
	}

	/* Supervised, the supervisor mapped it, shared. */
	if ((err = tfs_fh_table_init(0)) != 0) {
		fprintf(stderr, "topicfs: cannot map the table of open files: %s\n", strerror(err));
		goto out;
	}
	struct store_options so = {
		.dir = tfs.opt.data_dir,
		.map_size = (size_t)tfs.opt.map_size,
		.sync_always = tfs.opt.sync == TFS_SYNC_ALWAYS,
	};
	err = store_open(&tfs.store, &so);
	if (err == EBUSY) {
		busy_message(tfs.opt.data_dir);
		goto out;
	}
	if (err) {
		fprintf(stderr, "topicfs: cannot open the store in %s: %s\n", tfs.opt.data_dir,
			strerror(err));
		goto out;
	}
	/* Request ids start again on a new connection (see store_request_done). */
	if (takeover && takeover->generation == 0 && (err = store_requests_clear(tfs.store)) != 0) {
		fprintf(stderr, "topicfs: cannot reset the store's write requests: %s\n", strerror(err));
		goto out;
	}
	store_set_wait_hook(tfs.store, tfs_loop_before_wait);
	store_set_gpid_busy_hook(tfs.store, tfs_pins_is_busy);
	if ((err = tfs_poll_subscribe(tfs.store)) != 0) {
		fprintf(stderr, "topicfs: cannot watch the store: %s\n", strerror(err));
		goto out;
	}
	se = fuse_session_new(&args, &tfs_ops, sizeof tfs_ops, NULL);
	tfs.se = se;
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	/* INIT's messages go where the daemon's will: the mount is up already. */
	if (takeover && takeover->background)
		tfs_log_to_syslog();
	if (takeover && (err = tfs_takeover_join(se, takeover)) != 0) {
		fprintf(stderr, "topicfs: cannot serve the supervisor's connection: %s\n",
			strerror(err));
		goto out_signals;
	}
	if (!takeover && fuse_session_mount(se, tfs.opt.mountpoint) != 0) {
		fprintf(stderr, "topicfs: cannot mount on %s\n", tfs.opt.mountpoint);
		goto out_signals;
	}
	if ((err = tfs_mirror_start()) != 0) {
		fprintf(stderr, "topicfs: cannot start the Kafka mirror: %s\n", strerror(err));
		goto out_unmount;
	}
	if ((err = tfs_housekeeping_start()) != 0) {
		fprintf(stderr, "topicfs: cannot start the housekeeping thread: %s\n", strerror(err));
		goto out_unmount;
	}
	if ((err = tfs_groups_start()) != 0) {
		fprintf(stderr, "topicfs: cannot start the follow thread: %s\n", strerror(err));
		tfs_housekeeping_stop();
		goto out_unmount;
	}
	if (ready_fd >= 0) {
		if (!takeover || takeover->background) {
			tfs_daemon_ready(ready_fd);
		} else {
			char ok = 0;
			if (write(ready_fd, &ok, 1) != 1)
				tfs_log(LOG_WARNING, "could not report readiness to the supervisor");
			close(ready_fd);
		}
		ready_fd = -1;
	}
	/* After daemon_ready: in the background this goes to syslog with the rest. */
	if (takeover && takeover->generation > 0)
		tfs_log(LOG_INFO, "%s: a new daemon (pid %d) serves %s", tfs.opt.data_dir,
			(int)getpid(), tfs.opt.mountpoint);
	else
		tfs_log(LOG_INFO, "%s mounted on %s", tfs.opt.data_dir, tfs.opt.mountpoint);
	tfs_options_log(&tfs.opt);

	err = tfs_loop_run(se, TFS_WORKERS, tfs.opt.spin_us);
	/* A signal or an unmount is a clean stop; a failed read is not. */
	rc = err ? 1 : 0;
	if (rc)
		tfs_log(LOG_ERR, "request loop failed: %s", strerror(err));

	tfs_housekeeping_stop();
	tfs_files_close_all();
	tfs_mirror_stop();
	tfs_poll_unsubscribe(tfs.store);
	tfs_poll_forget_all();
	tfs_groups_stop();
	if (!takeover)
		tfs_log(LOG_INFO, "unmounting %s", tfs.opt.mountpoint);
out_unmount:
	fuse_session_unmount(se); /* supervised: the supervisor's to do */
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	if (tfs.store) {
		if ((err = store_sync(tfs.store)) != 0)
			tfs_log(LOG_ERR, "final sync failed: %s", strerror(err));
		store_close(tfs.store);
	}
	if (ready_fd >= 0) {
		char status = 1;
		if (write(ready_fd, &status, 1) != 1)
			rc = 1;
	}
	tfs_options_free(&tfs.opt);
	fuse_opt_free_args(&args);
	return rc;
}
