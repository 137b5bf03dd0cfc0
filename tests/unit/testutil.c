/*
 * Test helpers: temp directories, the test PKI and running the tools under
 * tests/tools.  Paths come from the environment that `make check` sets
 * (top_srcdir, top_builddir, PYTHON3, CORPUS), with fallbacks for running a
 * test binary by hand from the build tree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static const char *
env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

char *
tu_tmpdir(const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/tests/tmp/%s.%ld", env_or("top_builddir", "."), name, (long)getpid()) < 0)
		abort();
	if (tu_sh("rm -rf '%s' && mkdir -p '%s'", p, p) != 0)
		abort();
	return p;
}

const char *
tu_pki(void)
{
	static char	*p;

	if (p != NULL)
		return p;
	if (asprintf(&p, "%s/tests/tmp/pki", env_or("top_builddir", ".")) < 0)
		abort();
	/* mkpki.sh is idempotent and leaves .done; a lock keeps parallel tests apart */
	if (tu_sh("mkdir -p '%s' && flock '%s.lock' sh '%s/tests/tools/mkpki.sh' '%s'",
	    p, p, env_or("top_srcdir", ".."), p) != 0)
		abort();
	return p;
}

int
tu_sh(const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;
	int	 st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	st = system(cmd);
	free(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

unsigned char *
tu_read(const char *path, size_t *len)
{
	FILE		*f = fopen(path, "rb");
	unsigned char	*b;
	long		 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
		abort();
	rewind(f);
	b = malloc((size_t)n + 1);
	if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n)
		abort();
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

char *
tu_src(const char *rel)
{
	char	*p;

	if (asprintf(&p, "%s/tests/%s", env_or("top_srcdir", ".."), rel) < 0)
		abort();
	return p;
}

const char *
tu_python(void)
{
	return env_or("PYTHON3", "python3");
}

const char *
tu_corpus(void)
{
	return env_or("CORPUS", "../shared/corpus");
}
