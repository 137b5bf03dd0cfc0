/*
 * Publishing: every output of a list is written as one complete generation
 * in publish-dir/.gen/LIST/SEQ/ and published by switching the symlink
 * publish-dir/LIST to it with one rename(), so readers see the old or the new
 * generation and never a mix.  Sequence numbers are persisted before use,
 * and a lock on the state directory keeps a second writer out (PUB-02..06).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extern.h"

#define GEN_DIR		".gen"		/* publish-dir/.gen/LIST/SEQ */
#define SEQ_DIGITS	20		/* UINT64_MAX has 20 decimal digits */
#define TMP_LINK_PREFIX	".tmp-"		/* publish-dir/.tmp-LIST.RANDOM during a switch */
#define MAX_SEQ_FILE	64		/* bytes of state-dir/seq/LIST */
#define MAX_LINK_TRIES	16		/* random temp link names tried */

/* A list name is one path component without dots at the start. */
static int
valid_list(const char *list)
{
	return list != NULL && list[0] != '\0' && list[0] != '.' &&
	    strchr(list, '/') == NULL && strlen(list) < NAME_MAX - 32;
}

/* A generation file path: relative, no empty, "." or ".." components. */
static int
valid_rel_path(const char *p)
{
	const char	*s, *e;
	size_t		 n;

	if (p == NULL || p[0] == '\0' || p[0] == '/' || strlen(p) >= PATH_MAX / 2)
		return 0;
	for (s = p; ; s = e + 1) {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
	}
}

/* Parse SEQ_DIGITS decimal digits exactly. 0 / -1. */
static int
parse_gen_name(const char *s, uint64_t *seq)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < SEQ_DIGITS; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[SEQ_DIGITS] != '\0')
		return -1;
	*seq = v;
	return 0;
}

int
publish_lock(const char *state_dir)
{
	char	*path;
	int	 fd;

	if (mkdir_p(state_dir, 0700) == -1) {
		log_warn("%s", state_dir);
		return -1;
	}
	path = path_join(state_dir, "lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("%s", path);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("%s: held by another process", path);
		else
			log_warn("%s", path);
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/*
 * Read state-dir/seq/LIST into *seq: 0 and *seq = 0 when the file does not
 * exist, -1 when it cannot be read or is not "DIGITS\n" (never a silent reset).
 */
static int
seq_read(const char *state_dir, const char *list, uint64_t *seq)
{
	unsigned char	*buf = NULL;
	char		*path, *dir;
	size_t		 len, i;
	uint64_t	 v = 0;
	int		 rc = -1;

	*seq = 0;
	dir = path_join(state_dir, "seq");
	path = path_join(dir, list);
	if (read_file(path, MAX_SEQ_FILE, &buf, &len) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_warn("%s", path);
		goto out;
	}
	if (len < 2 || buf[len - 1] != '\n') {
		log_warnx("%s: corrupt sequence file", path);
		goto out;
	}
	for (i = 0; i < len - 1; i++) {
		if (buf[i] < '0' || buf[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(buf[i] - '0')) / 10) {
			log_warnx("%s: corrupt sequence file", path);
			goto out;
		}
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	*seq = v;
	rc = 0;
out:
	free(buf);
	free(path);
	free(dir);
	return rc;
}

int
publish_next_seq(const char *state_dir, const char *list, uint64_t *seq)
{
	char		*dir = NULL, *path = NULL, num[32];
	uint64_t	 last;
	int		 n, rc = -1;

	if (!valid_list(list)) {
		log_warnx("invalid list name");
		return -1;
	}
	if (seq_read(state_dir, list, &last) == -1)
		return -1;
	if (last == UINT64_MAX) {
		log_warnx("list %s: sequence numbers exhausted", list);
		return -1;
	}
	dir = path_join(state_dir, "seq");
	path = path_join(dir, list);
	if (mkdir_p(dir, 0700) == -1) {
		log_warn("%s", dir);
		goto out;
	}
	n = snprintf(num, sizeof(num), "%" PRIu64 "\n", last + 1);
	/* persisted and fsynced before anyone can use the number */
	if (write_file_atomic(path, num, (size_t)n, 0600) == -1) {
		log_warn("%s", path);
		goto out;
	}
	*seq = last + 1;
	rc = 0;
out:
	free(dir);
	free(path);
	return rc;
}

uint64_t
publish_last_seq(const char *state_dir, const char *list)
{
	uint64_t	 seq;

	if (!valid_list(list) || seq_read(state_dir, list, &seq) == -1)
		return 0;
	return seq;
}

/*
 * Sequence number of the live generation of list: 0 and *seq = 0 when there
 * is none (or the link points somewhere we did not put it), -1 with v when
 * publish-dir/LIST is something other than a symlink.
 */
/* The seq of a link target GEN_DIR/LIST/SEQ of list. 0 / -1 when it is not one of ours. */
static int
gen_target_seq(const char *target, const char *list, uint64_t *seq)
{
	char	*prefix;
	size_t	 plen;
	int	 rc;

	xasprintf(&prefix, GEN_DIR "/%s/", list);
	plen = strlen(prefix);
	rc = strncmp(target, prefix, plen) != 0 ? -1 : parse_gen_name(target + plen, seq);
	free(prefix);
	return rc;
}

static int
live_seq(const char *link, const char *list, uint64_t *seq, struct verdict *v)
{
	struct stat	 st;
	char		 target[PATH_MAX];
	ssize_t		 n;

	*seq = 0;
	if (lstat(link, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return verdict_set(v, R_PUBLISH_FAILED, "%s: %s", link, strerror(errno));
	}
	if (!S_ISLNK(st.st_mode))
		return verdict_set(v, R_PUBLISH_FAILED, "%s exists and is not a symlink; "
		    "refusing to replace it", link);
	if ((n = readlink(link, target, sizeof(target) - 1)) == -1)
		return verdict_set(v, R_PUBLISH_FAILED, "%s: %s", link, strerror(errno));
	target[n] = '\0';
	if (gen_target_seq(target, list, seq) == -1) {
		log_warnx("%s -> %s: not a generation of ours, replacing it", link, target);
		*seq = 0;
	}
	return 0;
}

char *
publish_live_dir(const char *publish_dir, const char *list, uint64_t *seq)
{
	char	*link, target[PATH_MAX];
	ssize_t	 n;

	*seq = 0;
	if (!valid_list(list))
		return NULL;
	link = path_join(publish_dir, list);
	n = readlink(link, target, sizeof(target) - 1);
	free(link);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	if (gen_target_seq(target, list, seq) == -1) {
		*seq = 0;
		return NULL;
	}
	return path_join(publish_dir, target);
}

/* Write all of buf to fd, across short writes and EINTR. 0 / -1 (errno). */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		if ((w = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Create f->path below the directory dfd: sub-directories as needed (never
 * following a symlink), the file exclusively and fully written (made durable
 * for the whole generation at once by write_generation).
 * 0 / -1 with v naming gendir/path.
 */
static int
write_gen_file(int dfd, const char *gendir, const struct gen_file *f, struct verdict *v)
{
	char		*rel = xstrdup(f->path), *s, *slash;
	int		 cur = dfd, next, fd = -1, rc = -1, saved;

	for (s = rel; (slash = strchr(s, '/')) != NULL; s = slash + 1) {
		*slash = '\0';
		if (mkdirat(cur, s, 0755) == -1 && errno != EEXIST)
			goto fail;
		next = openat(cur, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1)
			goto fail;
		if (cur != dfd)
			close(cur);
		cur = next;
		*slash = '/';
	}
	fd = openat(cur, s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1 || write_all(fd, f->data, f->len) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	rc = 0;
	goto out;
fail:
	saved = errno;
	if (slash != NULL)
		*slash = '\0';
	verdict_set(v, R_PUBLISH_FAILED, "%s/%s: %s", gendir, rel, strerror(saved));
out:
	if (fd != -1)
		close(fd);
	if (cur != dfd)
		close(cur);
	free(rel);
	return rc;
}

/*
 * Write the files into the fresh directory gendir, make them durable and
 * fsync its parents up to publish_dir.  One syncfs() of the file system
 * replaces an fsync per file and per directory: a generation with per-entity
 * lookups has 40,000 files at federation scale, and everything must be on
 * disk before the switch either way.  0 / -1 with v.
 */
static int
write_generation(const char *publish_dir, const char *gendir, const struct gen_file *files,
    size_t n, struct verdict *v)
{
	char	*base, *gen;
	size_t	 i;
	int	 dfd, rc = -1;

	if (mkdir(gendir, 0755) == -1)
		return verdict_set(v, R_PUBLISH_FAILED, "%s: %s", gendir, strerror(errno));
	if ((dfd = open(gendir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return verdict_set(v, R_PUBLISH_FAILED, "%s: %s", gendir, strerror(errno));
	for (i = 0; i < n; i++)
		if (write_gen_file(dfd, gendir, &files[i], v) == -1)
			goto out;
	if (syncfs(dfd) == -1) {
		verdict_set(v, R_PUBLISH_FAILED, "%s: syncfs: %s", gendir, strerror(errno));
		goto out;
	}
	base = path_dirname(gendir);		/* .gen/LIST */
	gen = path_dirname(base);		/* .gen */
	if (fsync_dir(base) == -1 || fsync_dir(gen) == -1 || fsync_dir(publish_dir) == -1)
		verdict_set(v, R_PUBLISH_FAILED, "%s: fsync: %s", base, strerror(errno));
	else
		rc = 0;
	free(base);
	free(gen);
out:
	close(dfd);
	return rc;
}

/*
 * Point publish_dir/LIST at target with one rename() of a fresh temp symlink
 * (symlink() never reuses an existing name), then fsync publish_dir.
 * 0 / -1 with v.
 */
static int
switch_link(const char *publish_dir, const char *list, const char *target, struct verdict *v)
{
	unsigned char	 rnd[8];
	char		*tmp = NULL, *link;
	int		 i, rc = -1;

	link = path_join(publish_dir, list);
	for (i = 0; i < MAX_LINK_TRIES; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			verdict_set(v, R_PUBLISH_FAILED, "getrandom: %s", strerror(errno));
			goto out;
		}
		free(tmp);
		xasprintf(&tmp, "%s/" TMP_LINK_PREFIX "%s.%02x%02x%02x%02x%02x%02x%02x%02x",
		    publish_dir, list, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST) {
			verdict_set(v, R_PUBLISH_FAILED, "%s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	if (i == MAX_LINK_TRIES) {
		verdict_set(v, R_PUBLISH_FAILED, "%s: no free temporary name", publish_dir);
		goto out;
	}
	if (rename(tmp, link) == -1) {
		verdict_set(v, R_PUBLISH_FAILED, "rename %s to %s: %s", tmp, link, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* the switch has happened: a failed fsync only puts its durability in doubt */
	if (fsync_dir(publish_dir) == -1)
		log_warn("%s: fsync after switching %s", publish_dir, list);
	rc = 0;
out:
	free(tmp);
	free(link);
	return rc;
}

static int
cmp_seq_desc(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * After a switch to live: keep live and the `keep` newest older generations,
 * remove every other generation folder (older ones and crash leftovers) and
 * stale temp links of list.  Failures are logged only: the switch is done.
 */
static void
retain(const char *publish_dir, const char *list, const char *base, uint64_t live, int keep)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*old = NULL, s;
	size_t		 oldsz = 0, i;
	char		*p, *prefix, name[SEQ_DIGITS + 1];
	struct stat	 st;

	if ((d = opendir(base)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (parse_gen_name(de->d_name, &s) == -1 || s == live)
				continue;
			old = xreallocarray(old, oldsz + 1, sizeof(*old));
			old[oldsz++] = s;
		}
		closedir(d);
	} else
		log_warn("%s", base);
	if (oldsz > 1)
		qsort(old, oldsz, sizeof(*old), cmp_seq_desc);
	for (i = 0; i < oldsz; i++) {
		/* newer than live can only be the leftover of a refused or crashed publication */
		if (old[i] < live && keep > 0) {
			keep--;
			continue;
		}
		snprintf(name, sizeof(name), "%0*" PRIu64, SEQ_DIGITS, old[i]);
		p = path_join(base, name);
		if (rm_rf(p) == -1)
			log_warn("%s: cannot remove old generation", p);
		free(p);
	}
	free(old);
	xasprintf(&prefix, TMP_LINK_PREFIX "%s.", list);
	if ((d = opendir(publish_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			p = path_join(publish_dir, de->d_name);
			if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && unlink(p) == -1)
				log_warn("%s: cannot remove stale link", p);
			free(p);
		}
		closedir(d);
	}
	free(prefix);
}

/*
 * Before a new generation is written: remove every generation folder of
 * list numbered above the live one.  Such a folder is the leftover of a
 * refused or crashed publication (PUB-03): never live, never reachable, and
 * if kept it would later pass for one of the old generations retain() keeps.
 * Sequence numbers are never reused, and the state-dir lock keeps every
 * other writer out.  0 / -1 with v.
 */
static int
drop_leftovers(const char *base, uint64_t live, struct verdict *v)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	 s;
	char		*p;
	int		 rc = 0;

	if ((d = opendir(base)) == NULL)
		return verdict_set(v, R_PUBLISH_FAILED, "%s: %s", base, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (parse_gen_name(de->d_name, &s) == -1 || s <= live)
			continue;
		p = path_join(base, de->d_name);
		/* rm_rf never follows a symlink planted at a generation's name */
		if (rm_rf(p) == -1) {
			verdict_set(v, R_PUBLISH_FAILED, "%s: cannot remove leftover: %s", p,
			    strerror(errno));
			rc = -1;
		} else
			log_info("%s: removed the leftover of an unfinished publication", p);
		free(p);
		if (rc == -1)
			break;
	}
	closedir(d);
	return rc;
}

int
publish_generation(const char *publish_dir, const char *list, uint64_t seq,
    const struct gen_file *files, size_t n, int keep, struct verdict *v)
{
	char		*link = NULL, *gen = NULL, *base = NULL, *gendir = NULL;
	char		 name[SEQ_DIGITS + 1], target[PATH_MAX];
	uint64_t	 live;
	size_t		 i;
	int		 rc = -1, written = 0;

	if (!valid_list(list))
		return verdict_set(v, R_PUBLISH_FAILED, "invalid list name");
	for (i = 0; i < n; i++)
		if (!valid_rel_path(files[i].path))
			return verdict_set(v, R_PUBLISH_FAILED, "list %s: file path '%s' is not "
			    "a plain relative path", list, files[i].path ? files[i].path : "");
	if (keep < 0)
		keep = 0;
	link = path_join(publish_dir, list);
	if (live_seq(link, list, &live, v) == -1)
		goto out;
	if (seq <= live) {
		verdict_set(v, R_PUBLISH_FAILED, "list %s: sequence %" PRIu64 " is not after the "
		    "live generation %" PRIu64, list, seq, live);
		goto out;
	}
	gen = path_join(publish_dir, GEN_DIR);
	base = path_join(gen, list);
	if (mkdir_p(base, 0755) == -1) {
		verdict_set(v, R_PUBLISH_FAILED, "%s: %s", base, strerror(errno));
		goto out;
	}
	snprintf(name, sizeof(name), "%0*" PRIu64, SEQ_DIGITS, seq);
	gendir = path_join(base, name);
	/* a folder of this number or above is a leftover (numbers are never reused) */
	if (drop_leftovers(base, live, v) == -1)
		goto out;
	written = 1;
	if (write_generation(publish_dir, gendir, files, n, v) == -1)
		goto out;
	snprintf(target, sizeof(target), GEN_DIR "/%s/%s", list, name);
	if (switch_link(publish_dir, list, target, v) == -1)
		goto out;
	written = 0;
	retain(publish_dir, list, base, seq, keep);
	rc = 0;
out:
	if (written && gendir != NULL && rm_rf(gendir) == -1)
		log_warn("%s: cannot remove failed generation", gendir);
	free(link);
	free(gen);
	free(base);
	free(gendir);
	return rc;
}

int
publish_read_live(const char *publish_dir, const char *list, const char *path,
    unsigned char **buf, size_t *len)
{
	char	*dir, *p;
	int	 rc;

	*buf = NULL;
	*len = 0;
	if (!valid_list(list) || !valid_rel_path(path)) {
		errno = EINVAL;
		return -1;
	}
	dir = path_join(publish_dir, list);
	p = path_join(dir, path);
	rc = read_file(p, MAX_DOC_SIZE, buf, len);
	free(p);
	free(dir);
	return rc;
}
