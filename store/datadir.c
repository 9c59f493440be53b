/* datadir.c — the data directory's files at open: private modes, and a data.mdb as long as LMDB says. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

/* The directory and its files hold every record of every topic: whoever can
 * read data.mdb reads topics the mount's permissions would refuse them. They
 * are created 0700/0600 whatever the umask; older or hand-made ones may be
 * looser, which is the admin's call (a backup group, say), so that is said,
 * not changed. */
void store_check_modes(struct store *s)
{
	struct stat st;
	if (stat(s->dir, &st) == 0 && (st.st_mode & 077))
		store_log(STORE_LOG_WARNING,
			  "%s is mode %04o: other users can read the records of every topic "
			  "in it whatever the topics' permissions (chmod 700 it)",
			  s->dir, (unsigned)(st.st_mode & 07777));
	DIR *d = opendir(s->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		if (e->d_name[0] == '.' ||
		    snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name) >= (int)sizeof path)
			continue;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
			store_log(STORE_LOG_WARNING,
				  "%s is mode %04o: other users can read or change it (chmod 600 it)",
				  path, (unsigned)(st.st_mode & 07777));
	}
	closedir(d);
}

/* LMDB maps data.mdb and reads its pages in place: a page past the end of a
 * shorter file (a partial copy, a truncated backup) is a SIGBUS on first use,
 * not an error. The newest meta page says how many pages the file has. */
int store_check_size(struct store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_filehandle_t fd;
	struct stat fst;
	int rc;
	if ((rc = mdb_env_info(s->env, &info)) || (rc = mdb_env_stat(s->env, &st)))
		return store_errno(rc, "read the store's meta page");
	if ((rc = mdb_env_get_fd(s->env, &fd)) || fstat(fd, &fst) != 0)
		return store_errno(rc ? rc : errno, "stat data.mdb");
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t)fst.st_size < need) {
		store_log(STORE_LOG_ERR,
			  "%s/data.mdb is %llu bytes but its pages reach to %llu bytes: the file is "
			  "truncated or damaged (a partial copy?); not opening it. Restore it from a "
			  "complete copy.",
			  s->dir, (unsigned long long)fst.st_size, (unsigned long long)need);
		return EIO;
	}
	return 0;
}
