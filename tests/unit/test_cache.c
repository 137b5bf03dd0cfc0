/*
 * cache.c: round trip, missing and corrupted copies, name validation, and
 * that a failed or interrupted replacement keeps the previous copy.  Write
 * failures are provoked with RLIMIT_FSIZE, which also binds root (the tests
 * run as root here, where a read-only directory would not stop a write).
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

static char	*sd;	/* the state directory of one test */

static int
setup(void **state)
{
	(void)state;
	sd = tu_tmpdir("test_cache");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("rm -rf '%s'", sd);
	free(sd);
	return 0;
}

/* An entry over static data (borrowed, never freed). */
static struct cache_entry
entry(const char *doc, const char *etag, const char *lm, time_t fetched)
{
	struct cache_entry	 e;

	memset(&e, 0, sizeof(e));
	e.doc = (unsigned char *)doc;
	e.docsz = strlen(doc);
	e.etag = (char *)etag;
	e.last_modified = (char *)lm;
	e.fetched = fetched;
	e.valid_until = fetched + 86400;
	e.created = fetched > 60 ? fetched - 60 : 0;
	return e;
}

static char *
spath(const char *list, const char *source, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/sources/%s/%s/%s", sd, list, source, name) < 0)
		abort();
	return p;
}

static void
put(const char *list, const char *source, const char *name, const char *data)
{
	char	*p = spath(list, source, name);

	assert_int_equal(write_file_atomic(p, data, strlen(data), 0600), 0);
	free(p);
}

/* Assert that load gives back doc (and fetched time t). */
static void
expect_doc(const char *list, const char *source, const char *doc, time_t t)
{
	struct cache_entry	 got;
	char			 sha[65];

	assert_int_equal(cache_load(sd, list, source, MAX_DOC_SIZE, &got), 0);
	assert_int_equal(got.docsz, strlen(doc));
	assert_memory_equal(got.doc, doc, strlen(doc));
	sha256_hex(doc, strlen(doc), sha);
	assert_string_equal(got.sha256, sha);
	assert_int_equal(got.fetched, t);
	cache_entry_free(&got);
}

static void
test_round_trip(void **state)
{
	struct cache_entry	 e = entry("<md:EntitiesDescriptor/>\n", "\"abc\"",
	    "Mon, 23 Nov 2026 16:30:34 GMT", 1790000000);
	struct cache_entry	 got;
	struct stat		 st;
	char			*p;

	(void)state;
	assert_int_equal(cache_store(sd, "research", "edugain", &e), 0);
	/* the cap is the source's max-size: a copy over it is not read */
	assert_int_not_equal(cache_load(sd, "research", "edugain", e.docsz - 1, &got), 0);
	cache_entry_free(&got);
	assert_int_equal(cache_load(sd, "research", "edugain", e.docsz, &got), 0);
	cache_entry_free(&got);
	assert_int_equal(cache_load(sd, "research", "edugain", MAX_DOC_SIZE, &got), 0);
	assert_int_equal(got.docsz, e.docsz);
	assert_memory_equal(got.doc, e.doc, e.docsz);
	assert_string_equal(got.etag, "\"abc\"");
	assert_string_equal(got.last_modified, "Mon, 23 Nov 2026 16:30:34 GMT");
	assert_int_equal(got.fetched, 1790000000);
	assert_int_equal(got.valid_until, 1790000000 + 86400);
	assert_int_equal(got.created, 1790000000 - 60);
	assert_int_equal(strlen(got.sha256), 64);
	cache_entry_free(&got);
	cache_entry_free(&got);
	cache_entry_free(NULL);

	/* private modes */
	p = spath("research", "edugain", "doc");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	p = spath("research", "edugain", "meta.json");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	p[strlen(p) - strlen("/meta.json")] = '\0';
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);

	/* replace, without validators */
	e = entry("second", NULL, NULL, 1790003600);
	assert_int_equal(cache_store(sd, "research", "edugain", &e), 0);
	assert_int_equal(cache_load(sd, "research", "edugain", MAX_DOC_SIZE, &got), 0);
	assert_null(got.etag);
	assert_null(got.last_modified);
	assert_memory_equal(got.doc, "second", 6);
	cache_entry_free(&got);

	/* an empty document is stored as such */
	e = entry("", NULL, NULL, 5);
	assert_int_equal(cache_store(sd, "research", "empty", &e), 0);
	expect_doc("research", "empty", "", 5);
}

static void
test_missing(void **state)
{
	struct cache_entry	 e = entry("x", NULL, NULL, 1), got;

	(void)state;
	assert_int_equal(cache_load(sd, "nolist", "nosource", MAX_DOC_SIZE, &got), 1);
	assert_null(got.doc);
	assert_int_equal(cache_store(sd, "list", "one", &e), 0);
	assert_int_equal(cache_load(sd, "list", "two", MAX_DOC_SIZE, &got), 1);
	assert_int_equal(cache_load(sd, "list", "one", MAX_DOC_SIZE, &got), 0);
	cache_entry_free(&got);
}

static void
test_corrupt(void **state)
{
	struct cache_entry	 e = entry("original document", NULL, NULL, 1), got;

	(void)state;
	assert_int_equal(cache_store(sd, "l", "s", &e), 0);
	put("l", "s", "doc", "tampered document");
	assert_int_equal(cache_load(sd, "l", "s", MAX_DOC_SIZE, &got), 1);
	assert_null(got.doc);

	/* doc.prev (an older copy) never stands in for a different digest */
	e = entry("one", NULL, NULL, 1);
	assert_int_equal(cache_store(sd, "l", "t", &e), 0);
	e = entry("two", NULL, NULL, 2);
	assert_int_equal(cache_store(sd, "l", "t", &e), 0);
	put("l", "t", "doc", "three");
	assert_int_equal(cache_load(sd, "l", "t", MAX_DOC_SIZE, &got), 1);

	/* malformed meta.json */
	e = entry("doc", NULL, NULL, 1);
	assert_int_equal(cache_store(sd, "l", "u", &e), 0);
	put("l", "u", "meta.json", "{\"sha256\": 5}");
	assert_int_equal(cache_load(sd, "l", "u", MAX_DOC_SIZE, &got), 1);
	put("l", "u", "meta.json", "not json");
	assert_int_equal(cache_load(sd, "l", "u", MAX_DOC_SIZE, &got), 1);
	/* meta without its doc */
	assert_int_equal(cache_store(sd, "l", "v", &e), 0);
	{
		char	*p = spath("l", "v", "doc");

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	assert_int_equal(cache_load(sd, "l", "v", MAX_DOC_SIZE, &got), 1);
}

static void
test_names(void **state)
{
	static const char *const bad[] = { "", "..", "../x", "a/b", "/abs", "A", "Upper",
	    ".hidden", "-x", "_x", "a..b", "x..", "a b", "a\n", "caf\xc3\xa9",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */ };
	static const char *const good[] = { "a", "0", "edugain", "edugain.v2", "x_y-z",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 64 */ };
	struct cache_entry	 e = entry("doc", NULL, NULL, 1), got;
	size_t			 i;
	char			*p;
	struct stat		 st;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cache_store(sd, bad[i], "ok", &e), -1);
		assert_int_equal(cache_store(sd, "ok", bad[i], &e), -1);
		assert_int_equal(cache_load(sd, bad[i], "ok", MAX_DOC_SIZE, &got), -1);
		assert_int_equal(cache_load(sd, "ok", bad[i], MAX_DOC_SIZE, &got), -1);
	}
	assert_int_equal(cache_store(sd, NULL, "ok", &e), -1);
	assert_int_equal(cache_load(sd, "ok", NULL, MAX_DOC_SIZE, &got), -1);
	/* nothing was created for the refused names, inside or outside state_dir */
	if (asprintf(&p, "%s/sources", sd) < 0)
		abort();
	assert_int_equal(stat(p, &st), -1);
	free(p);
	if (asprintf(&p, "%s/x", sd) < 0)
		abort();
	assert_int_equal(stat(p, &st), -1);
	free(p);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cache_store(sd, good[i], good[i], &e), 0);
		expect_doc(good[i], good[i], "doc", 1);
	}
}

/* The process died after doc was replaced and before meta.json was. */
static void
test_interrupted(void **state)
{
	struct cache_entry	 e = entry("old good copy", "\"old\"", NULL, 100);
	char			*doc = spath("l", "s", "doc"), *prev = spath("l", "s", "doc.prev");

	(void)state;
	assert_int_equal(cache_store(sd, "l", "s", &e), 0);
	/* what cache_store does before the doc rename, then the doc rename only */
	unlink(prev);
	assert_int_equal(link(doc, prev), 0);
	put("l", "s", "doc", "new copy whose meta never got written");
	expect_doc("l", "s", "old good copy", 100);
	free(doc);
	free(prev);
}

/* Directory entries of the source folder other than doc, doc.prev, meta.json. */
static int
stray_files(const char *list, const char *source)
{
	char		*p = spath(list, source, "");
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "doc") && strcmp(de->d_name, "doc.prev") &&
		    strcmp(de->d_name, "meta.json")) {
			print_message("stray file %s\n", de->d_name);
			n++;
		}
	closedir(d);
	free(p);
	return n;
}

static void
set_fsize(rlim_t n)
{
	struct rlimit	 rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = n;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void
test_failed_write_keeps_old(void **state)
{
	struct cache_entry	 e = entry("old good copy", "\"old\"", NULL, 100);
	struct rlimit		 saved;
	char			 big[4001], etag[1201];

	(void)state;
	assert_int_equal(cache_store(sd, "l", "s", &e), 0);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(etag, 'e', sizeof(etag) - 1);
	etag[0] = etag[sizeof(etag) - 2] = '"';
	etag[sizeof(etag) - 1] = '\0';

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	set_fsize(1000);
	/* the new doc cannot be written */
	e = entry(big, NULL, NULL, 200);
	assert_int_equal(cache_store(sd, "l", "s", &e), -1);
	/* the new doc is written, its meta.json (with a long ETag) is not */
	e = entry("small new copy", etag, NULL, 300);
	assert_int_equal(cache_store(sd, "l", "s", &e), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_DFL);

	expect_doc("l", "s", "old good copy", 100);
	assert_int_equal(stray_files("l", "s"), 0);
	/* doc itself was put back, not only found through doc.prev */
	{
		char		*p = spath("l", "s", "doc");
		unsigned char	*b;
		size_t		 n;

		b = tu_read(p, &n);
		assert_int_equal(n, strlen("old good copy"));
		assert_memory_equal(b, "old good copy", n);
		free(b);
		free(p);
	}

	/* without the limit the same store works */
	assert_int_equal(cache_store(sd, "l", "s", &e), 0);
	expect_doc("l", "s", "small new copy", 300);

	if (geteuid() != 0) {
		char	*dir = spath("l", "s", "");

		/* a read-only folder: refused, old copy kept */
		assert_int_equal(chmod(dir, 0500), 0);
		e = entry("third", NULL, NULL, 400);
		assert_int_equal(cache_store(sd, "l", "s", &e), -1);
		assert_int_equal(chmod(dir, 0700), 0);
		expect_doc("l", "s", "small new copy", 300);
		free(dir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_keeps_old, setup, teardown),
	};

	log_init(1, 0, "test_cache");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
