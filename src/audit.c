/*
 * The audit log (docs/audit.md): one JSON object per line for every
 * security event, appended to audit-log and copied to syslog.
 *
 * The daemon and a `fedtrust build` may append to the same file at once:
 * the file is opened with O_APPEND and every line goes out in one write(),
 * so lines never interleave.  A line never exceeds MAX_AUDIT_LINE: long
 * string fields are cut (and "truncated" set) rather than a line split.
 * Process-wide state like log.c; called from the build thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"

#define AUDIT_IDENT		"fedtrust-audit"	/* syslog ident of the copies */
#define AUDIT_SYSLOG_PATH	"/dev/log"		/* local syslog socket */
#define AUDIT_MIN_FIELD		256	/* string fields are never cut below this many bytes */
#define MAX_AUDIT_CUTS		256	/* cuts tried before a line is reduced to its header */
#define MAX_WARNED_FILE		(16UL * 1024 * 1024)	/* bytes of a throttle state file */
#define MAX_WARNED_KEY		1100	/* longer keys are replaced by their SHA-256 */

static int	 audit_fd = -1;		/* the audit-log file, -1 when not open */
static int	 audit_to_syslog;	/* audit-syslog = yes */
static int	 audit_open_warned;	/* an open failure was logged (once per failure streak) */
static int	 syslog_fd = -1;	/* datagram socket connected to AUDIT_SYSLOG_PATH */
static char	 audit_host[256];	/* gethostname, once */

/* Fill audit_host once (empty name: "unknown"). */
static void
audit_hostname(void)
{
	if (audit_host[0] != '\0')
		return;
	if (gethostname(audit_host, sizeof(audit_host) - 1) == -1 || audit_host[0] == '\0')
		snprintf(audit_host, sizeof(audit_host), "unknown");
	audit_host[sizeof(audit_host) - 1] = '\0';
}

/*
 * Open path for appending (mode 0600, folder 0700 made as needed): a
 * regular file only, never through a symlink.  Returns the fd or -1 (errno).
 */
static int
audit_open_file(const char *path)
{
	struct stat	 st;
	char		*dir;
	int		 fd, saved;

	dir = path_dirname(path);
	if (mkdir_p(dir, 0700) == -1) {
		saved = errno;
		free(dir);
		errno = saved;
		return -1;
	}
	free(dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		saved = errno;
		if (fstat(fd, &st) == 0)
			saved = EINVAL;		/* not a regular file */
		close(fd);
		errno = saved;
		return -1;
	}
	/* an audit trail is for the operator only; tighten a looser existing file */
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) == -1)
		log_warn("audit log %s: cannot set mode 0600", path);
	return fd;
}

int
audit_open(const struct config *conf)
{
	char	*path;
	int	 fd;

	audit_close();
	audit_hostname();
	audit_to_syslog = conf->audit_syslog;
	path = conf->audit_log != NULL ? xstrdup(conf->audit_log) :
	    path_join(conf->state_dir, "audit.log");
	if ((fd = audit_open_file(path)) == -1) {
		if (!audit_open_warned)
			log_warn("audit log %s: cannot open; audit events go to the log only",
			    path);
		audit_open_warned = 1;
		free(path);
		return -1;
	}
	audit_open_warned = 0;
	audit_fd = fd;
	free(path);
	return 0;
}

void
audit_close(void)
{
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
	if (syslog_fd != -1)
		close(syslog_fd);
	syslog_fd = -1;
}

/* (Re)connect the syslog socket. 0 / -1. */
static int
syslog_connect(void)
{
	struct sockaddr_un	 sun;

	if (syslog_fd != -1)
		close(syslog_fd);
	if ((syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", AUDIT_SYSLOG_PATH);
	if (connect(syslog_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(syslog_fd);
		syslog_fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Copy line (without its newline) to syslog as AUDIT_IDENT at facility
 * LOG_AUTHPRIV.  Sent over our own socket rather than openlog(): the
 * process's own syslog ident and facility (log.c) must stay untouched.
 * Never blocks: a full syslog queue loses the copy, not the file's line.
 */
static void
syslog_copy(int pri, time_t now, const char *line, size_t len)
{
	struct tm	 tm;
	char		 stamp[32], *msg;
	int		 n, tries;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = xasprintf(&msg, "<%d>%s %s[%ld]: %.*s", LOG_AUTHPRIV | pri, stamp, AUDIT_IDENT,
	    (long)getpid(), (int)len, line);
	for (tries = 0; tries < 2; tries++) {
		if (syslog_fd == -1 && syslog_connect() == -1)
			break;
		if (send(syslog_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EMSGSIZE)
			break;
		/* syslogd restarted: reconnect once */
		close(syslog_fd);
		syslog_fd = -1;
	}
	free(msg);
}

/*
 * The longest string value anywhere in v (objects and arrays walked), as its
 * container and key or index.  *best is its length so far.
 */
static void
longest_string(json_t *v, json_t **parent, const char **key, size_t *idx, size_t *best)
{
	const char	*k;
	json_t		*m;
	size_t		 i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, m) {
			if (json_is_string(m) && json_string_length(m) > *best) {
				*best = json_string_length(m);
				*parent = v;
				*key = k;
			} else
				longest_string(m, parent, key, idx, best);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (json_is_string(m) && json_string_length(m) > *best) {
				*best = json_string_length(m);
				*parent = v;
				*key = NULL;
				*idx = i;
			} else
				longest_string(m, parent, key, idx, best);
		}
	}
}

/* The largest array anywhere in v (by members) into *arr. */
static void
largest_array(json_t *v, json_t **arr, size_t *best)
{
	const char	*k;
	json_t		*m;
	size_t		 i;

	if (json_is_array(v) && json_array_size(v) > *best) {
		*best = json_array_size(v);
		*arr = v;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			largest_array(m, arr, best);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			largest_array(m, arr, best);
	}
}

/*
 * Make o smaller by about excess bytes: cut the longest string field (not
 * below AUDIT_MIN_FIELD, at a UTF-8 boundary, "..." appended), else halve
 * the largest array.  0 when something was cut, -1 when nothing can be.
 */
static int
audit_cut(json_t *o, size_t excess)
{
	json_t		*parent = NULL, *arr = NULL, *s;
	const char	*key = NULL, *str;
	char		*buf;
	size_t		 idx = 0, best = AUDIT_MIN_FIELD + 8, n;

	longest_string(o, &parent, &key, &idx, &best);
	if (parent != NULL) {
		str = key != NULL ? json_string_value(json_object_get(parent, key)) :
		    json_string_value(json_array_get(parent, idx));
		n = best > excess + 3 + AUDIT_MIN_FIELD ? best - excess - 3 : AUDIT_MIN_FIELD;
		while (n > 0 && ((unsigned char)str[n] & 0xc0) == 0x80)
			n--;
		buf = xmalloc(n + 4);
		memcpy(buf, str, n);
		memcpy(buf + n, "...", 4);
		s = json_stringn(buf, n + 3);
		free(buf);
		if (key != NULL) {
			/* key belongs to the member being replaced: copy it first */
			buf = xstrdup(key);
			json_object_set_new(parent, buf, s);
			free(buf);
		} else
			json_array_set_new(parent, idx, s);
		return 0;
	}
	best = 1;
	largest_array(o, &arr, &best);
	if (arr == NULL)
		return -1;
	for (n = json_array_size(arr); n > best / 2; n--)
		json_array_remove(arr, n - 1);
	return 0;
}

/* The header fields of o alone, with "truncated" (the last resort). */
static json_t *
audit_header(json_t *o)
{
	static const char *const keep[] = { "ts", "event", "severity", "host", "pid", "list",
	    "seq" };
	json_t	*h = json_object(), *m;
	size_t	 i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((m = json_object_get(o, keep[i])) != NULL &&
		    (!json_is_string(m) || json_string_length(m) < AUDIT_MIN_FIELD))
			json_object_set(h, keep[i], m);
	json_object_set_new(h, "truncated", json_true());
	return h;
}

/*
 * o as one compact, key-sorted line with its newline, at most
 * MAX_AUDIT_LINE bytes (o is cut to fit).  Caller frees; NULL when jansson
 * cannot serialise it.
 */
static char *
audit_render(json_t *o, size_t *len)
{
	json_t	*h;
	char	*s;
	int	 i;

	for (i = 0; i < MAX_AUDIT_CUTS; i++) {
		if ((s = json_line(o, JSON_COMPACT, len)) == NULL)
			return NULL;
		if (*len <= MAX_AUDIT_LINE)
			return s;
		free(s);
		json_object_set_new(o, "truncated", json_true());
		if (audit_cut(o, *len - MAX_AUDIT_LINE) == -1)
			break;
	}
	h = audit_header(o);
	s = json_line(h, JSON_COMPACT, len);
	json_decref(h);
	return s;
}

/* Syslog priority of a severity word. */
static int
audit_priority(const char *severity)
{
	if (strcmp(severity, "alert") == 0)
		return LOG_ALERT;
	if (strcmp(severity, "warning") == 0)
		return LOG_WARNING;
	return LOG_NOTICE;
}

void
audit_emit(time_t now, const char *event, const char *severity, json_t *fields)
{
	json_t		*o = fields;
	char		 ts[32], *line;
	size_t		 len;
	ssize_t		 w;

	if (severity == NULL)
		severity = "info";
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	audit_hostname();
	json_object_set_new(o, "ts", json_string(format_time(now, ts, sizeof(ts))));
	json_object_set_new(o, "event", json_string(event != NULL ? event : "unknown"));
	json_object_set_new(o, "severity", json_string(severity));
	json_object_set_new(o, "host", json_string(audit_host));
	json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
	if ((line = audit_render(o, &len)) == NULL) {
		log_warnx("audit: cannot serialise event %s", event != NULL ? event : "?");
		json_decref(o);
		return;
	}
	if (audit_fd != -1) {
		/* one write() per line: O_APPEND keeps concurrent writers' lines whole */
		do
			w = write(audit_fd, line, len);
		while (w == -1 && errno == EINTR);
		if (w != (ssize_t)len) {
			if (w == -1)
				log_warn("audit log: write");
			else
				log_warnx("audit log: short write (%zd of %zu bytes)", w, len);
			log_info("audit: %.*s", (int)(len - 1), line);
		}
	} else
		log_info("audit: %.*s", (int)(len - 1), line);
	if (audit_to_syslog)
		syslog_copy(audit_priority(severity), now, line, len - 1);
	free(line);
	json_decref(o);
}

/* One remembered warning: key and when it was last emitted. */
struct warned {
	char	*key;
	time_t	 t;
};

/* qsort order of warnings: the most recent first (then by key). */
static int
warned_by_time_desc(const void *a, const void *b)
{
	const struct warned	*x = a, *y = b;

	return x->t < y->t ? 1 : x->t > y->t ? -1 : strcmp(x->key, y->key);
}

/* qsort order of warnings: by key (the file order). */
static int
warned_by_key(const void *a, const void *b)
{
	return strcmp(((const struct warned *)a)->key, ((const struct warned *)b)->key);
}

/* The throttle state file "KEY TIME" lines into *w (malformed lines skipped). */
static void
warned_load(const char *path, struct warned **w, size_t *n)
{
	unsigned char	*buf;
	size_t		 len, cap = 0;
	char		*s, *line, *sp, *end;
	long long	 t;

	*w = NULL;
	*n = 0;
	if (read_file(path, MAX_WARNED_FILE, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		return;
	}
	buf = xreallocarray(buf, len + 1, 1);
	buf[len] = '\0';
	for (s = (char *)buf; (line = strsep(&s, "\n")) != NULL; ) {
		if ((sp = strrchr(line, ' ')) == NULL || sp == line)
			continue;
		errno = 0;
		t = strtoll(sp + 1, &end, 10);
		if (errno != 0 || end == sp + 1 || *end != '\0')
			continue;
		*sp = '\0';
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			*w = xreallocarray(*w, cap, sizeof(**w));
		}
		(*w)[*n].key = xstrdup(line);
		(*w)[(*n)++].t = (time_t)t;
	}
	free(buf);
}

/* A key safe for one line of the state file: no control characters, bounded. */
static char *
warned_key(const char *key)
{
	char	*k, *p, hex[65];

	if (strlen(key) > MAX_WARNED_KEY) {
		sha256_hex(key, strlen(key), hex);
		xasprintf(&k, "sha256:%s", hex);
		return k;
	}
	k = xstrdup(key[0] != '\0' ? key : "-");
	for (p = k; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return k;
}

int
audit_throttle(const struct config *conf, const char *list, const char *key, time_t now,
    long period)
{
	struct warned	*w;
	char		*path, *dir, *k, *txt = NULL;
	size_t		 n, i, o, len = 0;
	long		 keep = period > AUDIT_WARNED_KEEP ? period : AUDIT_WARNED_KEEP;
	int		 rc = 1;

	xasprintf(&dir, "%s/lists/%s", conf->state_dir, list);
	path = path_join(dir, "warned");
	k = warned_key(key);
	warned_load(path, &w, &n);
	for (i = 0; i < n; i++)
		if (strcmp(w[i].key, k) == 0)
			break;
	if (i < n && period > 0 && w[i].t <= now && now - w[i].t < period) {
		rc = 0;
		goto out;
	}
	if (i < n)
		w[i].t = now;
	else {
		w = xreallocarray(w, n + 1, sizeof(*w));
		w[n].key = k;
		w[n++].t = now;
		k = NULL;
	}
	/* bounded: forget what is older than keep, then all but the newest MAX_AUDIT_WARNED */
	for (i = o = 0; i < n; i++) {
		if (w[i].t < now - keep)
			free(w[i].key);
		else
			w[o++] = w[i];
	}
	n = o;
	if (n > MAX_AUDIT_WARNED) {
		qsort(w, n, sizeof(*w), warned_by_time_desc);
		for (i = MAX_AUDIT_WARNED; i < n; i++)
			free(w[i].key);
		n = MAX_AUDIT_WARNED;
	}
	qsort(w, n, sizeof(*w), warned_by_key);
	for (i = 0; i < n; i++)
		len += strlen(w[i].key) + 24;	/* " " + a 64-bit number + "\n" */
	txt = xmalloc(len + 1);
	for (len = 0, i = 0; i < n; i++)
		len += (size_t)sprintf(txt + len, "%s %lld\n", w[i].key, (long long)w[i].t);
	if (mkdir_p(dir, 0700) == -1 || write_file_atomic(path, txt, len, 0600) == -1)
		log_warn("%s", path);
out:
	for (i = 0; i < n; i++)
		free(w[i].key);
	free(w);
	free(k);
	free(txt);
	free(path);
	free(dir);
	return rc;
}
