/*
 * Small helpers: fatal allocation wrappers, parsing of durations, sizes and
 * times, whole-file I/O with atomic replacement, digests and encodings.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "extern.h"

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t sz)
{
	void	*q;

	if (sz != 0 && n > SIZE_MAX / sz) {
		errno = ENOMEM;
		fatal("reallocarray");
	}
	q = realloc(p, (n * sz) != 0 ? n * sz : 1);
	if (q == NULL)
		fatal("reallocarray");
	return q;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("asprintf");
	return n;
}

void
strv_push(char ***arr, size_t *n, const char *s)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = xstrdup(s);
}

void
strv_free(char **arr, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

/* Parse an unsigned decimal prefix; *end points after it. -1 on overflow or no digits. */
static int
parse_ulong(const char *s, const char **end, unsigned long long *out)
{
	unsigned long long	 v = 0;
	const char		*p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*end = p;
	*out = v;
	return 0;
}

/* A number with an optional one-letter unit from units (NUL-terminated by c == 0). */
struct unit {
	char			 c;
	unsigned long long	 mult;
};

/* Parse "N" or "N<unit>" into *out, at most max. 0 / -1. */
static int
parse_scaled(const char *s, const struct unit *units, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	 v, mult = 1;
	const char		*end;

	if (parse_ulong(s, &end, &v) == -1)
		return -1;
	if (*end != '\0') {
		for (; units->c != 0 && units->c != *end; units++)
			;
		if (units->c == 0 || end[1] != '\0')
			return -1;
		mult = units->mult;
	}
	if (v > max / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int
parse_duration(const char *s, long *secs)
{
	static const struct unit units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 0, 0 }
	};
	unsigned long long	 v;

	if (parse_scaled(s, units, LONG_MAX, &v) == -1)
		return -1;
	*secs = (long)v;
	return 0;
}

int
parse_size(const char *s, size_t *out)
{
	static const struct unit units[] = {
		{ 'K', 1ULL << 10 }, { 'k', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 },
		{ 0, 0 }
	};
	unsigned long long	 v;

	if (parse_scaled(s, units, SIZE_MAX, &v) == -1)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Exactly n digits at *p, advancing it. */
static int
digits(const char **p, int n, int *out)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/*
 * xs:dateTime: YYYY-MM-DDThh:mm:ss[.frac][Z|(+|-)hh:mm].  A missing zone is
 * read as UTC, which is what SAML requires times to be.
 */
int
parse_xsd_datetime(const char *s, time_t *t)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, zh = 0, zm = 0, sign = 0;
	const char	*p = s;
	time_t		 r;

	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &d) == -1 || *p++ != 'T' ||
	    digits(&p, 2, &h) == -1 || *p++ != ':' ||
	    digits(&p, 2, &mi) == -1 || *p++ != ':' ||
	    digits(&p, 2, &sec) == -1)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &zh) == -1 || *p++ != ':' || digits(&p, 2, &zm) == -1)
			return -1;
		if (zh > 14 || zm > 59)
			return -1;
	}
	if (*p != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec)))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec > 59 ? 59 : sec;
	r = timegm(&tm);
	if (r == (time_t)-1)
		return -1;
	*t = r - sign * (zh * 3600 + zm * 60);
	return 0;
}

int
parse_time(const char *s, time_t *t)
{
	unsigned long long	 v;
	const char		*end;

	if (isdigit((unsigned char)s[0]) && parse_ulong(s, &end, &v) == 0 && *end == '\0') {
		if (v > (unsigned long long)INT64_MAX / 2)
			return -1;
		*t = (time_t)v;
		return 0;
	}
	return parse_xsd_datetime(s, t);
}

int
parse_date_or_time(const char *s, time_t *t)
{
	char	 buf[32];

	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		snprintf(buf, sizeof(buf), "%sT23:59:59Z", s);
		return parse_xsd_datetime(buf, t);
	}
	return parse_time(s, t);
}

/* One "nX" component of an xs:duration; returns seconds added or -1. */
static int
duration_part(const char **p, char unit, unsigned long long mult, unsigned long long *acc, int *seen)
{
	unsigned long long	 v;
	const char		*end;

	if (parse_ulong(*p, &end, &v) == -1)
		return 0;	/* no number here: not this part */
	if (*end == '.' && unit == 'S') {
		end++;
		while (isdigit((unsigned char)*end))
			end++;
	}
	if (*end != unit)
		return 0;
	if (v > (unsigned long long)LONG_MAX / mult || *acc > (unsigned long long)LONG_MAX - v * mult)
		return -1;
	*acc += v * mult;
	*p = end + 1;
	*seen = 1;
	return 0;
}

int
parse_xsd_duration(const char *s, long *out)
{
	unsigned long long	 acc = 0;
	const char		*p = s;
	int			 seen = 0, tseen = 0;

	if (*p++ != 'P')
		return -1;
	if (duration_part(&p, 'Y', 365ULL * 86400, &acc, &seen) == -1 ||
	    duration_part(&p, 'M', 30ULL * 86400, &acc, &seen) == -1 ||
	    duration_part(&p, 'D', 86400, &acc, &seen) == -1)
		return -1;
	if (*p == 'T') {
		p++;
		if (duration_part(&p, 'H', 3600, &acc, &tseen) == -1 ||
		    duration_part(&p, 'M', 60, &acc, &tseen) == -1 ||
		    duration_part(&p, 'S', 1, &acc, &tseen) == -1)
			return -1;
		if (!tseen)
			return -1;
	}
	if (*p != '\0' || (!seen && !tseen))
		return -1;
	*out = (long)acc;
	return 0;
}

char *
format_time(time_t t, char *buf, size_t bufsz)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

char *
format_xsd_duration(long secs, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "PT%ldS", secs < 0 ? 0 : secs);
	return buf;
}

int
read_file(const char *path, size_t max, unsigned char **buf, size_t *len)
{
	struct stat	 st;
	unsigned char	*b = NULL;
	size_t		 n = 0, cap = 0;
	ssize_t		 r;
	int		 fd, rc = -1, saved;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	b = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				errno = EFBIG;
				goto out;
			}
			cap *= 2;
			b = xreallocarray(b, cap, 1);
		}
		r = read(fd, b + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			goto out;
		}
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	saved = errno;
	free(b);
	close(fd);
	errno = saved;
	return rc;
}

int
fsync_dir(const char *dir)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char		*dir = NULL, *tmp = NULL;
	const char	*p = data;
	int		 fd = -1, rc = -1, saved;
	size_t		 off = 0;

	dir = path_dirname(path);
	xasprintf(&tmp, "%s.tmp.XXXXXX", path);
	/* mkstemp opens with O_EXCL: a planted file or link at tmp is never followed */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) == -1)
		goto out;
	while (off < len) {
		ssize_t	 w = write(fd, p + off, len - off);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	free(tmp);
	tmp = NULL;
	if (fsync_dir(dir) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	errno = saved;
	return rc;
}

int
mkdir_p(const char *path, int mode)
{
	char	*p = xstrdup(path), *s;
	int	 rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char	 c = *s;

			*s = '\0';
			if (mkdir(p, (mode_t)mode) == -1 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

int
rm_rf(const char *path)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	int		 rc = 0;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char	*child;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = path_join(path, de->d_name);
		if (rm_rf(child) == -1)
			rc = -1;
		free(child);
	}
	closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}

char *
path_join(const char *dir, const char *name)
{
	char	*p;

	if (name[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(name);
	xasprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return p;
}

char *
path_dirname(const char *path)
{
	const char	*s = strrchr(path, '/');

	if (s == NULL)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(s - path));
}

void
sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	size_t		 i;

	SHA256(buf, len, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

char *
b64_encode(const void *buf, size_t len)
{
	char	*out;
	int	 n;

	if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT_MAX)
		fatalx("b64_encode: input too large");
	out = xmalloc(4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	out[n] = '\0';
	return out;
}

char *
b64url_encode(const void *buf, size_t len)
{
	char	*s = b64_encode(buf, len), *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return s;
}

int
glob_match(const char *pattern, const char *s)
{
	return fnmatch(pattern, s, 0) == 0;
}

char *
json_line(const json_t *o, size_t flags, size_t *len)
{
	char	*s;
	size_t	 n;

	if ((s = json_dumps(o, flags | JSON_SORT_KEYS)) == NULL)
		return NULL;
	n = strlen(s);
	s = xreallocarray(s, n + 2, 1);
	s[n] = '\n';
	s[n + 1] = '\0';
	*len = n + 1;
	return s;
}
