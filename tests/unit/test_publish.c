/*
 * Tests of publish.c: generations, the atomic symlink switch, retention,
 * sequence numbers, refusals that leave the live generation byte-identical,
 * planted symlinks, concurrent readers and the state-directory lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

static char	*tmp;

/* A fresh publish dir and state dir under tmp for one test. */
static void
dirs(const char *name, char **pub, char **state)
{
	char	*d = path_join(tmp, name);

	assert_int_equal(tu_sh("rm -rf '%s' && mkdir -p '%s/pub' '%s/state'", d, d, d), 0);
	*pub = path_join(d, "pub");
	*state = path_join(d, "state");
	free(d);
}

static char *
gen_path(const char *pub, const char *list, uint64_t seq)
{
	char	*p;

	xasprintf(&p, "%s/.gen/%s/%020" PRIu64, pub, list, seq);
	return p;
}

static int
exists(const char *p)
{
	struct stat	 st;

	return lstat(p, &st) == 0;
}

/* Publish one aggregate.xml saying text; asserts success. */
static void
publish_text(const char *pub, uint64_t seq, const char *text, int keep)
{
	struct gen_file	 f = { "aggregate.xml", (const unsigned char *)text, strlen(text) };
	struct verdict	 v;

	memset(&v, 0, sizeof(v));
	if (publish_generation(pub, "edu", seq, &f, 1, keep, &v) != 0)
		fail_msg("publish %" PRIu64 ": %s", seq, v.detail);
}

static void
assert_live(const char *pub, const char *path, const char *want)
{
	unsigned char	*buf;
	size_t		 len;

	assert_int_equal(publish_read_live(pub, "edu", path, &buf, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void
test_first_and_switch(void **state)
{
	struct gen_file	 f[3] = {
		{ "aggregate.xml", (const unsigned char *)"agg one", 7 },
		{ "entities/ab/cd.xml", (const unsigned char *)"entity one", 10 },
		{ "entities/ab/ef.xml", (const unsigned char *)"", 0 },
	};
	struct verdict	 v;
	struct stat	 st;
	char		*pub, *st_dir, *link, target[256], *g1;
	ssize_t		 n;

	(void)state;
	dirs("switch", &pub, &st_dir);
	link = path_join(pub, "edu");
	assert_int_equal(publish_generation(pub, "edu", 1, f, 3, 3, &v), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, ".gen/edu/00000000000000000001");
	assert_live(pub, "aggregate.xml", "agg one");
	assert_live(pub, "entities/ab/cd.xml", "entity one");
	assert_live(pub, "entities/ab/ef.xml", "");
	/* second generation switches; the first stays beside it */
	f[0].data = (const unsigned char *)"agg two";
	f[1].data = (const unsigned char *)"entity two";
	assert_int_equal(publish_generation(pub, "edu", 2, f, 2, 3, &v), 0);
	assert_live(pub, "aggregate.xml", "agg two");
	assert_live(pub, "entities/ab/cd.xml", "entity two");
	{
		unsigned char	*b;
		size_t		 l;

		/* not in the new generation */
		assert_int_equal(publish_read_live(pub, "edu", "entities/ab/ef.xml", &b, &l), -1);
		/* reading outside the list is refused */
		assert_int_equal(publish_read_live(pub, "edu", "../edu/aggregate.xml", &b, &l), -1);
		assert_int_equal(publish_read_live(pub, "edu", "/etc/passwd", &b, &l), -1);
	}
	g1 = gen_path(pub, "edu", 1);
	assert_true(exists(g1));
	free(g1);
	free(link);
	free(pub);
	free(st_dir);
}

static void
test_retention(void **state)
{
	char		*pub, *st_dir, *p, *stale, *leftover, *foreign;
	uint64_t	 s;

	(void)state;
	dirs("retention", &pub, &st_dir);
	for (s = 1; s <= 6; s++)
		publish_text(pub, s, "x", 2);
	for (s = 1; s <= 6; s++) {
		p = gen_path(pub, "edu", s);
		assert_int_equal(exists(p), s >= 4);
		free(p);
	}
	/* crash leftovers: a newer half-written generation, a temp link, an old folder */
	leftover = gen_path(pub, "edu", 99);
	assert_int_equal(mkdir(leftover, 0755), 0);
	p = gen_path(pub, "edu", 2);
	assert_int_equal(mkdir(p, 0755), 0);
	xasprintf(&stale, "%s/.tmp-edu.0123456789abcdef", pub);
	assert_int_equal(symlink(".gen/edu/00000000000000000003", stale), 0);
	/* something of the operator's that is not ours: left alone */
	xasprintf(&foreign, "%s/.gen/edu/README", pub);
	assert_int_equal(tu_sh("echo hello > '%s'", foreign), 0);
	/* keep = 0: only the live one is left */
	publish_text(pub, 7, "y", 0);
	assert_false(exists(leftover));
	assert_false(exists(p));
	assert_false(exists(stale));
	assert_true(exists(foreign));
	for (s = 1; s <= 6; s++) {
		char	*q = gen_path(pub, "edu", s);

		assert_false(exists(q));
		free(q);
	}
	assert_live(pub, "aggregate.xml", "y");
	free(p);
	free(leftover);
	free(stale);
	free(foreign);
	free(pub);
	free(st_dir);
}

static void
test_seq(void **state)
{
	char		*pub, *st_dir, *f;
	unsigned char	*buf;
	size_t		 len;
	uint64_t	 seq;

	(void)state;
	dirs("seq", &pub, &st_dir);
	assert_int_equal(publish_last_seq(st_dir, "edu"), 0);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(publish_next_seq(st_dir, "other", &seq), 0);
	assert_int_equal(seq, 1);
	/* "restart": what is on disk is what counts */
	assert_int_equal(publish_last_seq(st_dir, "edu"), 2);
	xasprintf(&f, "%s/seq/edu", st_dir);
	buf = tu_read(f, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(buf, "2\n", 2);
	free(buf);
	/* a number survives across a new allocation */
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), 0);
	assert_int_equal(seq, 3);
	/* a corrupt counter is an error, never a reset */
	assert_int_equal(tu_sh("printf 'x7\\n' > '%s'", f), 0);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), -1);
	assert_int_equal(publish_last_seq(st_dir, "edu"), 0);
	buf = tu_read(f, &len);
	assert_memory_equal(buf, "x7\n", 3);
	free(buf);
	assert_int_equal(tu_sh("printf '99999999999999999999999\\n' > '%s'", f), 0);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), -1);
	assert_int_equal(tu_sh("printf '18446744073709551615\\n' > '%s'", f), 0);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), -1);
	assert_int_equal(tu_sh("printf '41\\n' > '%s'", f), 0);
	assert_int_equal(publish_next_seq(st_dir, "edu", &seq), 0);
	assert_int_equal(seq, 42);
	assert_int_equal(publish_next_seq(st_dir, "../x", &seq), -1);
	free(f);
	free(pub);
	free(st_dir);
}

static void
test_seq_not_after_live(void **state)
{
	struct gen_file	 f = { "aggregate.xml", (const unsigned char *)"old", 3 };
	struct verdict	 v;
	char		*pub, *st_dir, *g;

	(void)state;
	dirs("seqlive", &pub, &st_dir);
	publish_text(pub, 5, "five", 3);
	memset(&v, 0, sizeof(v));
	assert_int_equal(publish_generation(pub, "edu", 5, &f, 1, 3, &v), -1);
	assert_int_equal(v.reason, R_PUBLISH_FAILED);
	memset(&v, 0, sizeof(v));
	assert_int_equal(publish_generation(pub, "edu", 4, &f, 1, 3, &v), -1);
	assert_int_equal(v.reason, R_PUBLISH_FAILED);
	g = gen_path(pub, "edu", 4);
	assert_false(exists(g));
	free(g);
	assert_live(pub, "aggregate.xml", "five");
	free(pub);
	free(st_dir);
}

/* Every refused publication leaves the live generation exactly as it was. */
static void
test_failure_keeps_live(void **state)
{
	static const char *bad[][2] = {
		{ "aggregate.xml", "../escape" },
		{ "aggregate.xml", "/abs/path" },
		{ "aggregate.xml", "a//b" },
		{ "aggregate.xml", "a/./b" },
		{ "aggregate.xml", "" },
		{ "entities", "entities/x" },		/* a file where a directory is needed */
		{ "aggregate.xml", "aggregate.xml" },	/* twice */
	};
	struct gen_file	 f[2];
	struct verdict	 v;
	char		*pub, *st_dir, *g, *esc;
	size_t		 i;

	(void)state;
	dirs("failure", &pub, &st_dir);
	publish_text(pub, 1, "the live one", 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f[0].path = bad[i][0];
		f[0].data = (const unsigned char *)"new";
		f[0].len = 3;
		f[1].path = bad[i][1];
		f[1].data = (const unsigned char *)"new";
		f[1].len = 3;
		memset(&v, 0, sizeof(v));
		assert_int_equal(publish_generation(pub, "edu", 2 + i, f, 2, 3, &v), -1);
		assert_int_equal(v.reason, R_PUBLISH_FAILED);
		assert_true(v.detail[0] != '\0');
		g = gen_path(pub, "edu", 2 + i);
		assert_false(exists(g));
		free(g);
		assert_live(pub, "aggregate.xml", "the live one");
	}
	esc = path_join(pub, ".gen/escape");
	assert_false(exists(esc));
	free(esc);
	/* a bad list name */
	f[0].path = "aggregate.xml";
	assert_int_equal(publish_generation(pub, "../edu", 50, f, 1, 3, &v), -1);
	assert_int_equal(publish_generation(pub, ".gen", 50, f, 1, 3, &v), -1);
	/* a read-only publish dir: the new folder cannot be made */
	if (geteuid() != 0) {
		char	*base = path_join(pub, ".gen/edu");

		assert_int_equal(chmod(base, 0555), 0);
		memset(&v, 0, sizeof(v));
		assert_int_equal(publish_generation(pub, "edu", 60, f, 1, 3, &v), -1);
		assert_int_equal(v.reason, R_PUBLISH_FAILED);
		assert_non_null(strstr(v.detail, "Permission denied"));
		assert_int_equal(chmod(base, 0755), 0);
		free(base);
	}
	assert_live(pub, "aggregate.xml", "the live one");
	/* and the next good one still works */
	publish_text(pub, 70, "next", 3);
	assert_live(pub, "aggregate.xml", "next");
	free(pub);
	free(st_dir);
}

static void
test_not_a_symlink(void **state)
{
	struct gen_file	 f = { "aggregate.xml", (const unsigned char *)"x", 1 };
	struct verdict	 v;
	char		*pub, *st_dir, *d;

	(void)state;
	dirs("notlink", &pub, &st_dir);
	d = path_join(pub, "edu");
	assert_int_equal(tu_sh("mkdir -p '%s' && echo precious > '%s/file'", d, d), 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(publish_generation(pub, "edu", 1, &f, 1, 3, &v), -1);
	assert_int_equal(v.reason, R_PUBLISH_FAILED);
	assert_int_equal(tu_sh("test -d '%s' && grep -q precious '%s/file'", d, d), 0);
	free(d);
	free(pub);
	free(st_dir);
}

/* Planted links in the generation area or at the list path are never followed. */
static void
test_planted_symlinks(void **state)
{
	char		*pub, *st_dir, *victim, *vdir, *g, *cmd_target, *link;
	unsigned char	*buf;
	size_t		 len;

	(void)state;
	dirs("planted", &pub, &st_dir);
	victim = path_join(tmp, "planted/victim");
	vdir = path_join(tmp, "planted/victimdir");
	assert_int_equal(tu_sh("echo untouched > '%s' && mkdir -p '%s' && echo keep > '%s/f'",
	    victim, vdir, vdir), 0);
	/* the list link points into the victim's directory */
	link = path_join(pub, "edu");
	assert_int_equal(symlink(vdir, link), 0);
	/* a predictable generation folder, pre-made with a link at the target path */
	assert_int_equal(tu_sh("mkdir -p '%s/.gen/edu/00000000000000000001' && "
	    "ln -s '%s' '%s/.gen/edu/00000000000000000001/aggregate.xml'", pub, victim, pub), 0);
	publish_text(pub, 1, "one", 3);
	assert_live(pub, "aggregate.xml", "one");
	/* the next generation folder is a link to a directory of the victim */
	g = gen_path(pub, "edu", 2);
	assert_int_equal(symlink(vdir, g), 0);
	publish_text(pub, 2, "two", 3);
	assert_live(pub, "aggregate.xml", "two");
	buf = tu_read(victim, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "untouched\n", 10);
	free(buf);
	xasprintf(&cmd_target, "test \"$(ls '%s')\" = f && grep -q keep '%s/f'", vdir, vdir);
	assert_int_equal(tu_sh("%s", cmd_target), 0);
	free(cmd_target);
	free(g);
	free(link);
	free(victim);
	free(vdir);
	free(pub);
	free(st_dir);
}

#define READER_BODY	(64 * 1024)
#define READER_GENS	300

/* "gen N" lines up to READER_BODY bytes, then "sum SHA256\n". Caller frees. */
static char *
reader_content(uint64_t n, size_t *len)
{
	char	 line[32], sum[65], *b;
	size_t	 ll, off = 0;

	ll = (size_t)snprintf(line, sizeof(line), "gen %08" PRIu64 "\n", n);
	b = xmalloc(READER_BODY + 80);
	while (off + ll <= READER_BODY) {
		memcpy(b + off, line, ll);
		off += ll;
	}
	memset(b + off, '.', READER_BODY - off);
	off = READER_BODY;
	sha256_hex(b, off, sum);
	off += (size_t)snprintf(b + off, 80, "sum %s\n", sum);
	*len = off;
	return b;
}

/* Check one read: complete, one generation only, matching checksum. Returns N or -1. */
static long
reader_check(const unsigned char *b, size_t len)
{
	char		 sum[65], first[16];
	size_t		 off;
	unsigned long	 n;

	if (len != READER_BODY + 69 || memcmp(b + READER_BODY, "sum ", 4) != 0)
		return -1;
	sha256_hex(b, READER_BODY, sum);
	if (memcmp(b + READER_BODY + 4, sum, 64) != 0)
		return -1;
	memcpy(first, b, 13);
	for (off = 13; off + 13 <= READER_BODY; off += 13)
		if (memcmp(b + off, first, 13) != 0)
			return -1;
	if (sscanf((const char *)b, "gen %lu", &n) != 1)
		return -1;
	return (long)n;
}

/* Child: read LIST/aggregate.xml and LIST/head.txt until stop closes. */
static int
reader(const char *pub, int stop)
{
	unsigned char	*b, *h;
	size_t		 len, hlen;
	long		 n, last = 0, reads = 0, retired = 0;
	char		 c, *dir = path_join(pub, "edu"), *agg = path_join(dir, "aggregate.xml");
	int		 dfd;

	fcntl(stop, F_SETFL, O_NONBLOCK);
	while (read(stop, &c, 1) == -1 && errno == EAGAIN) {
		/*
		 * The whole file through the public path.  ENOENT means the
		 * generation this read resolved to was retired meanwhile
		 * (retention keeps 3 while 300 are published back to back on a
		 * loaded machine): read again.  Partial or mixed data never is.
		 */
		if (read_file(agg, READER_BODY * 2, &b, &len) == -1) {
			if (errno == ENOENT) {
				retired++;
				continue;
			}
			return 10;
		}
		if ((n = reader_check(b, len)) < last)
			return 11;
		last = n;
		free(b);
		/* two files of one resolved generation never mix */
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
			return 12;
		{
			char	 p1[64], p2[64];

			snprintf(p1, sizeof(p1), "/proc/self/fd/%d/aggregate.xml", dfd);
			snprintf(p2, sizeof(p2), "/proc/self/fd/%d/head.txt", dfd);
			b = h = NULL;
			if (read_file(p1, READER_BODY * 2, &b, &len) == -1 ||
			    read_file(p2, 64, &h, &hlen) == -1) {
				int	 e = errno;

				free(b);
				close(dfd);
				if (e == ENOENT) {
					retired++;
					continue;
				}
				return 13;
			}
		}
		close(dfd);
		n = reader_check(b, len);
		if (n < 0 || (long)strtoul((char *)h, NULL, 10) != n)
			return 14;
		free(b);
		free(h);
		reads++;
	}
	free(dir);
	free(agg);
	/* retirements are rare; most reads must complete */
	return reads > 50 && retired < reads ? 0 : 15;
}

static void
test_concurrent_readers(void **state)
{
	struct gen_file	 f[2];
	struct verdict	 v;
	char		*pub, *st_dir, *body, head[32];
	size_t		 len;
	uint64_t	 s;
	pid_t		 pid;
	int		 p[2], status;

	(void)state;
	dirs("readers", &pub, &st_dir);
	f[0].path = "aggregate.xml";
	f[1].path = "head.txt";
	body = reader_content(1, &len);
	f[0].data = (unsigned char *)body;
	f[0].len = len;
	f[1].len = (size_t)snprintf(head, sizeof(head), "1\n");
	f[1].data = (unsigned char *)head;
	assert_int_equal(publish_generation(pub, "edu", 1, f, 2, 3, &v), 0);
	free(body);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[1]);
		_exit(reader(pub, p[0]));
	}
	assert_true(pid > 0);
	close(p[0]);
	for (s = 2; s <= READER_GENS; s++) {
		uint64_t	 seq;

		assert_int_equal(publish_next_seq(st_dir, "edu", &seq), 0);
		body = reader_content(s, &len);
		f[0].data = (unsigned char *)body;
		f[0].len = len;
		f[1].len = (size_t)snprintf(head, sizeof(head), "%" PRIu64 "\n", s);
		memset(&v, 0, sizeof(v));
		if (publish_generation(pub, "edu", s, f, 2, 3, &v) != 0) {
			kill(pid, SIGKILL);
			fail_msg("publish %" PRIu64 ": %s", s, v.detail);
		}
		free(body);
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("reader saw a bad read (code %d)", WEXITSTATUS(status));
	body = reader_content(READER_GENS, &len);
	{
		unsigned char	*b;
		size_t		 l;

		assert_int_equal(publish_read_live(pub, "edu", "aggregate.xml", &b, &l), 0);
		assert_int_equal(l, len);
		assert_memory_equal(b, body, len);
		free(b);
	}
	free(body);
	free(pub);
	free(st_dir);
}

static void
test_lock(void **state)
{
	char	*pub, *st_dir;
	pid_t	 pid;
	int	 fd, status;

	(void)state;
	dirs("lock", &pub, &st_dir);
	fd = publish_lock(st_dir);
	assert_true(fd >= 0);
	/* a second daemon on the same state dir */
	if ((pid = fork()) == 0)
		_exit(publish_lock(st_dir) == -1 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);
	/* released: now the other one gets it */
	if ((pid = fork()) == 0)
		_exit(publish_lock(st_dir) >= 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	free(pub);
	free(st_dir);
}

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0, "test_publish");
	tmp = tu_tmpdir("test_publish");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("chmod -R u+w '%s'; rm -rf '%s'", tmp, tmp);
	free(tmp);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_and_switch),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_seq_not_after_live),
		cmocka_unit_test(test_failure_keeps_live),
		cmocka_unit_test(test_not_a_symlink),
		cmocka_unit_test(test_planted_symlinks),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
