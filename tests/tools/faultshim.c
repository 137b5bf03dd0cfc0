/*
 * Fault-injection shim for the publishing tests (tests/e2e/016-pub-faults.sh),
 * loaded with LD_PRELOAD.  It makes file system calls on paths under one
 * prefix fail the way a full, broken or read-only disk does, and passes
 * everything else through.  Controlled by the environment:
 *
 *   FAULT_PATH_PREFIX	absolute path: only files (and directories) under it
 *			are touched; unset or empty: the shim does nothing
 *   FAULT_OP		comma-separated: write, fsync (fsync, fdatasync,
 *			syncfs), rename (rename, renameat, renameat2),
 *			create (open/openat with O_CREAT, mkdir, mkdirat,
 *			symlink, symlinkat), short (every write() under the
 *			prefix writes at most half of what it is asked: a legal
 *			short write, not a failure), kill-write and kill-rename
 *			(the process kills itself with SIGKILL at that call
 *			instead of failing: a crash at an exact point),
 *			corrupt-sign (the last byte of every signature OpenSSL
 *			returns from EVP_DigestSign, EVP_PKEY_sign or
 *			EVP_SignFinal_ex is flipped: a post-sign mutation for
 *			the self-check; FAULT_PATH_PREFIX is not needed)
 *   FAULT_ERRNO	ENOSPC (default), EIO, EROFS, EDQUOT or a number
 *   FAULT_AFTER_BYTES	for write: bytes written under the prefix before the
 *			first failure (default 0); the write that crosses the
 *			limit is cut short there, the next one fails
 *   FAULT_LOG		a file: one line per injected fault (for assertions)
 *
 * A test tool, not part of fedtrust: no state beyond a byte counter.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Declarations for the wrappers (they replace libc's symbols). */
ssize_t	write(int, const void *, size_t);
int	fsync(int);
int	fdatasync(int);
int	syncfs(int);
int	rename(const char *, const char *);
int	renameat(int, const char *, int, const char *);
int	renameat2(int, const char *, int, const char *, unsigned int);
int	open(const char *, int, ...);
int	open64(const char *, int, ...);
int	openat(int, const char *, int, ...);
int	openat64(int, const char *, int, ...);
int	mkdir(const char *, mode_t);
int	mkdirat(int, const char *, mode_t);
int	symlink(const char *, const char *);
int	symlinkat(const char *, int, const char *);
int	EVP_DigestSign(void *, unsigned char *, size_t *, const unsigned char *, size_t);
int	EVP_PKEY_sign(void *, unsigned char *, size_t *, const unsigned char *, size_t);
int	EVP_SignFinal_ex(void *, unsigned char *, unsigned int *, void *, void *, const char *);

static unsigned long long written;	/* bytes written under the prefix so far */

/* libc's own implementation of name (fatal when missing). */
static void *
real(const char *name)
{
	void	*f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		static const char msg[] = "faultshim: symbol not found\n";
		ssize_t (*w)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");

		if (w != NULL)
			(void)w(2, msg, sizeof(msg) - 1);
		abort();
	}
	return f;
}

/* 1 when FAULT_OP names op (a whole comma-separated word). */
static int
op_on(const char *op)
{
	const char	*s = getenv("FAULT_OP"), *p;
	size_t		 n = strlen(op);

	if (s == NULL)
		return 0;
	for (p = s; (p = strstr(p, op)) != NULL; p += n)
		if ((p == s || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

static int
fault_errno(void)
{
	const char	*s = getenv("FAULT_ERRNO");

	if (s == NULL || *s == '\0' || strcmp(s, "ENOSPC") == 0)
		return ENOSPC;
	if (strcmp(s, "EIO") == 0)
		return EIO;
	if (strcmp(s, "EROFS") == 0)
		return EROFS;
	if (strcmp(s, "EDQUOT") == 0)
		return EDQUOT;
	return atoi(s) > 0 ? atoi(s) : ENOSPC;
}

/* 1 when path (absolute) lies under FAULT_PATH_PREFIX. */
static int
under(const char *path)
{
	const char	*pre = getenv("FAULT_PATH_PREFIX");
	size_t		 n;

	if (pre == NULL || *pre == '\0' || path == NULL)
		return 0;
	n = strlen(pre);
	while (n > 1 && pre[n - 1] == '/')
		n--;
	return strncmp(path, pre, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The path of what fd names, through /proc; "" when unknown. */
static void
fd_path(int fd, char *buf, size_t sz)
{
	char		 l[64];
	ssize_t		 n;

	snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
	if ((n = readlink(l, buf, sz - 1)) < 0)
		n = 0;
	buf[n] = '\0';
}

/* buf = dir "/" name, or "" when it does not fit. */
static void
join(char *buf, size_t sz, const char *dir, const char *name)
{
	size_t	 a = strlen(dir), b = strlen(name);

	if (a + 1 + b >= sz) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, dir, a);
	buf[a] = '/';
	memcpy(buf + a + 1, name, b + 1);
}

/* The absolute form of dirfd + name. */
static void
at_path(int dirfd, const char *name, char *buf, size_t sz)
{
	char	 d[PATH_MAX];

	if (name == NULL) {
		buf[0] = '\0';
		return;
	}
	if (name[0] == '/' || dirfd == AT_FDCWD) {
		if (name[0] == '/' || getcwd(d, sizeof(d)) == NULL)
			snprintf(buf, sz, "%s", name);
		else
			join(buf, sz, d, name);
		return;
	}
	fd_path(dirfd, d, sizeof(d));
	join(buf, sz, d, name);
}

/* Append "what path detail" to FAULT_LOG (when set). */
static void
note(const char *what, const char *path, const char *detail)
{
	const char	*log = getenv("FAULT_LOG");
	char		 line[PATH_MAX + 128];
	int		 (*ro)(const char *, int, ...) = real("open");
	ssize_t		 (*rw)(int, const void *, size_t) = real("write");
	int		 fd, n;

	if (log == NULL || *log == '\0' ||
	    (fd = ro(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%s %s %s\n", what, path, detail);
	if (n > 0)
		(void)rw(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	close(fd);
}

/* Record an injected failure in FAULT_LOG and set errno. Returns -1. */
static int
inject(const char *what, const char *path)
{
	int	 e = fault_errno();

	note(what, path, strerror(e));
	errno = e;
	return -1;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t			 (*w)(int, const void *, size_t) = real("write");
	const char		*lim;
	unsigned long long	 max;
	char			 p[PATH_MAX];
	ssize_t			 n;

	if (fd <= 2 || (!op_on("write") && !op_on("short") && !op_on("kill-write")))
		return w(fd, buf, len);
	fd_path(fd, p, sizeof(p));
	if (!under(p))
		return w(fd, buf, len);
	if (op_on("kill-write"))
		kill(getpid(), SIGKILL);
	if (op_on("short") && len > 1)
		len /= 2;
	if (op_on("write")) {
		lim = getenv("FAULT_AFTER_BYTES");
		max = lim != NULL ? strtoull(lim, NULL, 10) : 0;
		if (written >= max)
			return inject("write", p);
		if (len > max - written)
			len = (size_t)(max - written);
	}
	if ((n = w(fd, buf, len)) > 0)
		written += (unsigned long long)n;
	return n;
}

/* fsync, fdatasync and syncfs under FAULT_OP=fsync. */
static int
sync_call(const char *name, int fd)
{
	int	(*f)(int) = real(name);
	char	 p[PATH_MAX];

	if (!op_on("fsync"))
		return f(fd);
	fd_path(fd, p, sizeof(p));
	return under(p) ? inject(name, p) : f(fd);
}

int
fsync(int fd)
{
	return sync_call("fsync", fd);
}

int
fdatasync(int fd)
{
	return sync_call("fdatasync", fd);
}

int
syncfs(int fd)
{
	return sync_call("syncfs", fd);
}

int
rename(const char *from, const char *to)
{
	int	(*f)(const char *, const char *) = real("rename");
	char	 a[PATH_MAX], b[PATH_MAX];

	if (!op_on("rename") && !op_on("create") && !op_on("kill-rename"))
		return f(from, to);
	at_path(AT_FDCWD, from, a, sizeof(a));
	at_path(AT_FDCWD, to, b, sizeof(b));
	if (op_on("kill-rename") && (under(a) || under(b)))
		kill(getpid(), SIGKILL);
	return under(a) || under(b) ? inject("rename", b) : f(from, to);
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	int	(*f)(int, const char *, int, const char *) = real("renameat");
	char	 a[PATH_MAX], b[PATH_MAX];

	if (!op_on("rename") && !op_on("create") && !op_on("kill-rename"))
		return f(fd1, from, fd2, to);
	at_path(fd1, from, a, sizeof(a));
	at_path(fd2, to, b, sizeof(b));
	if (op_on("kill-rename") && (under(a) || under(b)))
		kill(getpid(), SIGKILL);
	return under(a) || under(b) ? inject("renameat", b) : f(fd1, from, fd2, to);
}

int
renameat2(int fd1, const char *from, int fd2, const char *to, unsigned int flags)
{
	int	(*f)(int, const char *, int, const char *, unsigned int) = real("renameat2");
	char	 a[PATH_MAX], b[PATH_MAX];

	if (!op_on("rename") && !op_on("create") && !op_on("kill-rename"))
		return f(fd1, from, fd2, to, flags);
	at_path(fd1, from, a, sizeof(a));
	at_path(fd2, to, b, sizeof(b));
	if (op_on("kill-rename") && (under(a) || under(b)))
		kill(getpid(), SIGKILL);
	return under(a) || under(b) ? inject("renameat2", b) : f(fd1, from, fd2, to, flags);
}

/* The open family: only O_CREAT under FAULT_OP=create is refused. */
static int
open_common(const char *name, int dirfd, const char *path, int flags, mode_t mode)
{
	char	 p[PATH_MAX];

	if (op_on("create") && (flags & O_CREAT)) {
		at_path(dirfd, path, p, sizeof(p));
		if (under(p))
			return inject(name, p);
	}
	if (dirfd == AT_FDCWD && strncmp(name, "openat", 6) != 0) {
		int (*f)(const char *, int, ...) = real(name);

		return f(path, flags, mode);
	} else {
		int (*f)(int, const char *, int, ...) = real(name);

		return f(dirfd, path, flags, mode);
	}
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, mode) do {					\
	va_list ap;							\
	mode = 0;							\
	if ((flags) & (O_CREAT | O_TMPFILE)) {				\
		va_start(ap, flags);					\
		mode = (mode_t)va_arg(ap, int);				\
		va_end(ap);						\
	}								\
} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t	 mode;

	OPEN_MODE(flags, mode);
	return open_common("open", AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t	 mode;

	OPEN_MODE(flags, mode);
	return open_common("open64", AT_FDCWD, path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t	 mode;

	OPEN_MODE(flags, mode);
	return open_common("openat", dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t	 mode;

	OPEN_MODE(flags, mode);
	return open_common("openat64", dirfd, path, flags, mode);
}

int
mkdir(const char *path, mode_t mode)
{
	int	(*f)(const char *, mode_t) = real("mkdir");
	char	 p[PATH_MAX];

	/* an existing directory stays EEXIST, as on a read-only file system */
	if (op_on("create") && access(path, F_OK) == -1) {
		at_path(AT_FDCWD, path, p, sizeof(p));
		if (under(p))
			return inject("mkdir", p);
	}
	return f(path, mode);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	int	(*f)(int, const char *, mode_t) = real("mkdirat");
	char	 p[PATH_MAX];

	if (op_on("create") && faccessat(dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == -1) {
		at_path(dirfd, path, p, sizeof(p));
		if (under(p))
			return inject("mkdirat", p);
	}
	return f(dirfd, path, mode);
}

int
symlink(const char *target, const char *path)
{
	int	(*f)(const char *, const char *) = real("symlink");
	char	 p[PATH_MAX];

	if (op_on("create")) {
		at_path(AT_FDCWD, path, p, sizeof(p));
		if (under(p))
			return inject("symlink", p);
	}
	return f(target, path);
}

int
symlinkat(const char *target, int dirfd, const char *path)
{
	int	(*f)(const char *, int, const char *) = real("symlinkat");
	char	 p[PATH_MAX];

	if (op_on("create")) {
		at_path(dirfd, path, p, sizeof(p));
		if (under(p))
			return inject("symlinkat", p);
	}
	return f(target, dirfd, path);
}

/*
 * corrupt-sign: flip the lowest bit of the last signature byte.  For RSA
 * that is an invalid signature; for a DER ECDSA signature the encoding stays
 * valid and s changes, so the signer succeeds and only a verification of
 * the output can notice.  The OpenSSL types are opaque here (void *).
 */
static void
corrupt(unsigned char *sig, size_t len, const char *what)
{
	if (sig == NULL || len == 0 || !op_on("corrupt-sign"))
		return;
	sig[len - 1] ^= 1;
	note(what, "(signature)", "corrupted");
}

int
EVP_DigestSign(void *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
    size_t tbslen)
{
	int	(*f)(void *, unsigned char *, size_t *, const unsigned char *, size_t) =
		    real("EVP_DigestSign");
	int	 rc = f(ctx, sig, siglen, tbs, tbslen);

	if (rc == 1 && sig != NULL)
		corrupt(sig, *siglen, "EVP_DigestSign");
	return rc;
}

int
EVP_PKEY_sign(void *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
    size_t tbslen)
{
	int	(*f)(void *, unsigned char *, size_t *, const unsigned char *, size_t) =
		    real("EVP_PKEY_sign");
	int	 rc = f(ctx, sig, siglen, tbs, tbslen);

	if (rc == 1 && sig != NULL)
		corrupt(sig, *siglen, "EVP_PKEY_sign");
	return rc;
}

int
EVP_SignFinal_ex(void *ctx, unsigned char *sig, unsigned int *siglen, void *pkey, void *libctx,
    const char *propq)
{
	int	(*f)(void *, unsigned char *, unsigned int *, void *, void *, const char *) =
		    real("EVP_SignFinal_ex");
	int	 rc = f(ctx, sig, siglen, pkey, libctx, propq);

	if (rc == 1 && sig != NULL)
		corrupt(sig, *siglen, "EVP_SignFinal_ex");
	return rc;
}
