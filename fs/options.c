/* options.c — mount options named like Kafka's topic settings, plus sync=. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging.h"
#include "options.h"

#define TFS_CHECK_INTERVAL_MAX 86400000LL /* a day */
#define TFS_MAP_SIZE_MIN (1LL << 20)
#define TFS_MAP_SIZE_MAX (1LL << 46) /* far below the address space, above any disk here */

/* Raw strings from -o; validated by the same parser as config/<name> files. */
struct raw_options {
	char *cfg[STORE_CFG_COUNT];
	char *sync;
	char *check_interval;
	char *map_size;
	char *spin;
	char *mirror, *mirror_topics, *mirror_prefix, *mirror_host;
};

enum {
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_HELP,
	KEY_VERSION,
	KEY_ALLOW_OTHER,
	KEY_DEFAULT_PERMISSIONS,
	KEY_NO_DEFAULT_PERMISSIONS,
	KEY_SUPERVISE,
};

#define OPT(t, field) {t, offsetof(struct raw_options, field), 0}
static const struct fuse_opt spec[] = {
	OPT("partitions=%s", cfg[STORE_CFG_PARTITIONS]),
	OPT("retention.ms=%s", cfg[STORE_CFG_RETENTION_MS]),
	OPT("retention.bytes=%s", cfg[STORE_CFG_RETENTION_BYTES]),
	OPT("max.message.bytes=%s", cfg[STORE_CFG_MAX_MESSAGE_BYTES]),
	OPT("key.separator=%s", cfg[STORE_CFG_KEY_SEPARATOR]),
	OPT("framing=%s", cfg[STORE_CFG_FRAMING]),
	OPT("sync=%s", sync),
	OPT("retention.check.interval.ms=%s", check_interval),
	OPT("map.size=%s", map_size),
	OPT("spin=%s", spin),
	OPT("mirror=%s", mirror),
	OPT("mirror.topics=%s", mirror_topics),
	OPT("mirror.prefix=%s", mirror_prefix),
	OPT("mirror.host=%s", mirror_host),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("no_default_permissions", KEY_NO_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("--supervise", KEY_SUPERVISE),
	FUSE_OPT_KEY("supervise", KEY_SUPERVISE),
	FUSE_OPT_END};

/* raw comes first: the option table's offsets are relative to it. */
struct parse_state {
	struct raw_options raw;
	struct tfs_options *o;
	int positional;
};

/* mirror.<name>=<value>: handed to librdkafka as is (it checks them).
 * 0, EINVAL (said on stderr) or ENOMEM. */
static int mirror_property(struct tfs_options *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		fprintf(stderr, "topicfs: option mirror.%s needs a value (mirror.<property>=<value>)\n",
			arg);
		return EINVAL;
	}
	char **p = realloc(o->mirror_props, (o->mirror_nprops + 3) * sizeof *p);
	if (!p)
		return ENOMEM;
	o->mirror_props = p;
	p[o->mirror_nprops] = strndup(arg, (size_t)(eq - arg));
	p[o->mirror_nprops + 1] = strdup(eq + 1);
	p[o->mirror_nprops + 2] = NULL;
	if (!p[o->mirror_nprops] || !p[o->mirror_nprops + 1])
		return ENOMEM;
	o->mirror_nprops += 2;
	return 0;
}

/* fuse_opt_parse's callback: -1 (an error), 0 (ours: drop it) or 1 (FUSE's: keep it). */
static int on_arg(void *data, const char *arg, int key, struct fuse_args *out)
{
	(void)out;
	struct parse_state *st = data;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (st->positional == 0)
			st->o->data_dir = strdup(arg);
		else if (st->positional == 1)
			st->o->mountpoint = strdup(arg);
		else {
			fprintf(stderr, "topicfs: unexpected argument '%s'\n", arg);
			return -1;
		}
		st->positional++;
		return 0;
	case KEY_FOREGROUND:
		st->o->foreground = 1;
		return 0;
	case KEY_DEBUG:
		st->o->debug = 1;
		st->o->foreground = 1;
		return 1; /* libfuse traces requests too */
	case KEY_HELP:
		st->o->show_help = 1;
		return 0;
	case KEY_VERSION:
		st->o->show_version = 1;
		return 0;
	case KEY_ALLOW_OTHER:
		st->o->allow_other = 1;
		return 1; /* FUSE's */
	case KEY_DEFAULT_PERMISSIONS:
		st->o->default_permissions = 1;
		return 1;
	case KEY_NO_DEFAULT_PERMISSIONS:
		st->o->no_default_permissions = 1;
		return 0; /* ours: FUSE has no such option */
	case KEY_SUPERVISE:
		st->o->supervise = 1;
		return 0;
	case FUSE_OPT_KEY_OPT:
		if (strncmp(arg, "mirror.", 7) == 0)
			return mirror_property(st->o, arg + 7) ? -1 : 0;
		return 1;
	default:
		return 1;
	}
}

/* A decimal integer in [min, max] into *out; 0, or EINVAL for anything else. */
static int parse_int(const char *s, long long min, long long max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

/* Whether the absolute path dir is mnt, or under it, once mnt is resolved. */
static bool is_inside(const char *dir, const char *mnt)
{
	char *m = realpath(mnt, NULL);
	if (!m)
		return false; /* the mount itself fails then, and says why */
	size_t n = strlen(m);
	bool inside = strcmp(m, "/") == 0 ||
		     (strncmp(dir, m, n) == 0 && (dir[n] == '\0' || dir[n] == '/'));
	free(m);
	return inside;
}

int tfs_options_parse(struct fuse_args *args, struct tfs_options *o)
{
	struct parse_state st;
	struct raw_options *raw = &st.raw;
	int rc = EINVAL; /* what the user gave, unless said otherwise below */

	memset(&st, 0, sizeof st);
	st.o = o;
	memset(o, 0, sizeof *o);
	store_config_defaults(&o->defaults);
	o->sync = TFS_SYNC_INTERVAL;
	o->retention_check_ms = 5000;
	o->spin_us = TFS_SPIN_US_DEFAULT;

	if (fuse_opt_parse(args, &st, spec, on_arg) != 0)
		goto out;
	if (o->show_help || o->show_version) {
		rc = 0;
		goto out;
	}
	for (int k = 0; k < STORE_CFG_COUNT; k++) {
		if (raw->cfg[k] && store_config_parse(&o->defaults, k, raw->cfg[k], strlen(raw->cfg[k]))) {
			fprintf(stderr, "topicfs: invalid value for option %s: '%s'\n",
				store_config_name(k), raw->cfg[k]);
			goto out;
		}
	}
	if (raw->sync) {
		if (strcmp(raw->sync, "always") == 0)
			o->sync = TFS_SYNC_ALWAYS;
		else if (strcmp(raw->sync, "interval") != 0) {
			fprintf(stderr, "topicfs: sync must be 'always' or 'interval', not '%s'\n",
				raw->sync);
			goto out;
		}
	}
	if (raw->check_interval &&
	    parse_int(raw->check_interval, 1, TFS_CHECK_INTERVAL_MAX, &o->retention_check_ms)) {
		fprintf(stderr,
			"topicfs: retention.check.interval.ms must be a number of milliseconds "
			"from 1 to %lld (a day), not '%s'\n",
			(long long)TFS_CHECK_INTERVAL_MAX, raw->check_interval);
		goto out;
	}
	if (raw->map_size &&
	    parse_int(raw->map_size, TFS_MAP_SIZE_MIN, TFS_MAP_SIZE_MAX, &o->map_size)) {
		fprintf(stderr,
			"topicfs: map.size must be a number of bytes from %lld (1 MiB) to %lld "
			"(64 TiB), not '%s'\n",
			(long long)TFS_MAP_SIZE_MIN, (long long)TFS_MAP_SIZE_MAX, raw->map_size);
		goto out;
	}
	if (raw->spin && parse_int(raw->spin, 0, TFS_SPIN_US_MAX, &o->spin_us)) {
		fprintf(stderr, "topicfs: spin must be a number of microseconds from 0 to %d, not '%s'\n",
			TFS_SPIN_US_MAX, raw->spin);
		goto out;
	}
	/* Kept as given: the mirror checks them when it starts. */
	o->mirror = raw->mirror, raw->mirror = NULL;
	o->mirror_topics = raw->mirror_topics, raw->mirror_topics = NULL;
	o->mirror_prefix = raw->mirror_prefix, raw->mirror_prefix = NULL;
	o->mirror_host = raw->mirror_host, raw->mirror_host = NULL;
	if (!o->mirror && (o->mirror_topics || o->mirror_prefix || o->mirror_host || o->mirror_props)) {
		fprintf(stderr, "topicfs: mirror.* options need -o mirror=HOST:PORT\n");
		goto out;
	}
	if (!o->data_dir || !o->mountpoint) {
		fprintf(stderr, "topicfs: need DATA_DIR and MOUNTPOINT (see topicfs --help)\n");
		goto out;
	}
	if (o->default_permissions && o->no_default_permissions) {
		fprintf(stderr, "topicfs: default_permissions and no_default_permissions contradict "
				"each other\n");
		goto out;
	}
	/* A mount other users may enter checks their permissions, unless the
	 * admin says otherwise in so many words (see tfs_options_log). */
	if (o->allow_other && !o->default_permissions && !o->no_default_permissions) {
		if (fuse_opt_add_arg(args, "-odefault_permissions") != 0) {
			rc = ENOMEM;
			goto out;
		}
		o->default_permissions = 1;
	}
	struct stat mst;
	if (stat(o->mountpoint, &mst) != 0) {
		rc = errno;
		fprintf(stderr, "topicfs: mount point %s: %s\n", o->mountpoint, strerror(rc));
		goto out;
	}
	if (!S_ISDIR(mst.st_mode)) {
		fprintf(stderr, "topicfs: mount point %s is not a directory\n", o->mountpoint);
		goto out;
	}
	/* The daemon changes directory to /: keep the data directory absolute. */
	int made = mkdir(o->data_dir, 0700) == 0;
	if (!made && errno != EEXIST) {
		rc = errno;
		fprintf(stderr, "topicfs: cannot create data directory %s: %s\n", o->data_dir,
			strerror(rc));
		goto out;
	}
	char *abs = realpath(o->data_dir, NULL);
	if (!abs) {
		rc = errno;
		fprintf(stderr, "topicfs: data directory %s: %s\n", o->data_dir, strerror(rc));
		goto out;
	}
	free(o->data_dir);
	o->data_dir = abs;
	if (is_inside(o->data_dir, o->mountpoint)) {
		fprintf(stderr,
			"topicfs: data directory %s is inside the mount point %s: the daemon would "
			"wait on its own mount; keep the data elsewhere\n",
			o->data_dir, o->mountpoint);
		if (made)
			rmdir(o->data_dir);
		goto out;
	}
	rc = 0;
out:
	for (int k = 0; k < STORE_CFG_COUNT; k++)
		free(raw->cfg[k]);
	free(raw->sync);
	free(raw->check_interval);
	free(raw->map_size);
	free(raw->spin);
	free(raw->mirror);
	free(raw->mirror_topics);
	free(raw->mirror_prefix);
	free(raw->mirror_host);
	return rc;
}

void tfs_options_usage(const char *prog)
{
	printf("usage: %s DATA_DIR MOUNTPOINT [-o OPTIONS] [-f] [--supervise]\n"
	       "\n"
	       "Mounts a Kafka-style log kept in DATA_DIR (LMDB) on MOUNTPOINT.\n"
	       "\n"
	       "options:\n"
	       "  -f                               stay in the foreground, log to stderr\n"
	       "  --supervise, -o supervise        a supervisor holds the mount and restarts a\n"
	       "                                   daemon that dies; open files keep working\n"
	       "  -d, -o debug                     foreground, and trace every request\n"
	       "  -h, --help                       this text\n"
	       "  -V, --version                    print the version\n"
	       "  -o partitions=N                  partitions of new topics (1)\n"
	       "  -o retention.ms=MS               keep records this long, -1 forever (604800000)\n"
	       "  -o retention.bytes=N             keep this many log bytes per partition, -1 all (-1)\n"
	       "  -o max.message.bytes=N           largest record value (1048576)\n"
	       "  -o key.separator=S               split each line into key S value (none)\n"
	       "  -o framing=lines|writes          a record per line, or per write() (lines)\n"
	       "  -o retention.check.interval.ms=MS  how often retention runs (5000)\n"
	       "  -o sync=interval|always          fsync once a second, or every commit (interval)\n"
	       "  -o spin=US                       poll up to US microseconds for the next request\n"
	       "                                   while requests come back to back; 0: never (%d)\n"
	       "  -o mirror=HOST:PORT              ship every record to this Kafka cluster, exactly once\n"
	       "  -o mirror.topics=REGEX           only the topics whose whole name matches (all)\n"
	       "  -o mirror.prefix=P               Kafka topic names are P + the topic's name ()\n"
	       "  -o mirror.host=NAME              the host header of shipped records (hostname)\n"
	       "  -o mirror.<property>=<value>     any librdkafka property (security, linger.ms...)\n"
	       "  -o allow_other                   let other users in; implies default_permissions:\n"
	       "                                   topics' owners and modes are enforced\n"
	       "  -o no_default_permissions        with allow_other: let every user do anything\n"
	       "  -o ro and other FUSE options\n",
	       prog, TFS_SPIN_US_DEFAULT);
}

void tfs_options_log(const struct tfs_options *o)
{
	if (!o->allow_other)
		tfs_log(LOG_INFO, "only uid %u may use the mount (no allow_other)", (unsigned)getuid());
	else if (o->default_permissions)
		tfs_log(LOG_INFO, "allow_other: every user may enter; topics' owners and modes are "
				  "enforced (default_permissions)");
	else
		tfs_log(LOG_WARNING, "allow_other,no_default_permissions: every user may read, write, "
				     "configure and remove every topic");
}

void tfs_options_free(struct tfs_options *o)
{
	free(o->data_dir);
	free(o->mountpoint);
	free(o->mirror);
	free(o->mirror_topics);
	free(o->mirror_prefix);
	free(o->mirror_host);
	for (size_t i = 0; i < o->mirror_nprops; i++)
		free(o->mirror_props[i]);
	free(o->mirror_props);
}
