/*
 * Fuzz target: configuration parsing (src/config.c over inih).  Every input
 * is loaded twice: as a trust list (DIR/a/lists/fuzz.conf beside a fixed
 * minimal main config) and as the main config (DIR/b/fedtrust.conf beside a
 * fixed minimal trust list in lists/ and trustlists/).  A load either
 * fails with "FILE:LINE: message" or gives a config that is walked and
 * freed.  The folder is made once in LLVMFuzzerInitialize and removed at
 * exit.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "fuzz.h"

static const char main_conf[] =
    "[fedtrust]\n"
    "issuer = https://trust.example.org\n"
    "state-dir = state\n"
    "publish-dir = publish\n"
    "trustlists = lists\n"
    "signing-key = keys/operator.pem\n";
static const char list_conf[] =
    "[trustlist]\n"
    "name = r\n";

static char	*dir, *list_file, *main_file, *b_main;

static void
cleanup(void)
{
	if (dir != NULL)
		rm_rf(dir);
}

/* Write a fixed file below dir (aborts on failure: the target cannot run). */
static char *
put(const char *rel, const char *text, size_t len)
{
	char	*p = path_join(dir, rel), *d = path_dirname(p);

	if (mkdir_p(d, 0700) == -1 || write_file_atomic(p, text, len, 0600) == -1) {
		fprintf(stderr, "fuzz_config: cannot write %s\n", p);
		abort();
	}
	free(d);
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 tmpl[4096];
	const char	*tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	log_init(1, 0, "fuzz_config");
	snprintf(tmpl, sizeof(tmpl), "%s/fuzz_config.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		perror("fuzz_config: mkdtemp");
		abort();
	}
	dir = xstrdup(tmpl);
	atexit(cleanup);
	free(put("a/fedtrust.conf", main_conf, sizeof(main_conf) - 1));
	list_file = put("a/lists/fuzz.conf", list_conf, sizeof(list_conf) - 1);
	main_file = path_join(dir, "a/fedtrust.conf");
	free(put("b/lists/r.conf", list_conf, sizeof(list_conf) - 1));
	free(put("b/trustlists/r.conf", list_conf, sizeof(list_conf) - 1));
	b_main = put("b/fedtrust.conf", main_conf, sizeof(main_conf) - 1);
	return 0;
}

/* Load file, check the outcome, walk and free what it gave. */
static void
load(const char *file)
{
	struct config		*c;
	const struct list_conf	*l;
	char			 err[1024] = "";
	size_t			 i, j;

	if ((c = config_load(file, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(c->listsz <= MAX_LISTS);
	for (i = 0; i < c->listsz; i++) {
		l = &c->lists[i];
		FUZZ_ASSERT(l->name != NULL && config_find_list(c, l->name) != NULL);
		FUZZ_ASSERT(l->sourcesz <= MAX_SOURCES);
		for (j = 0; j < l->sourcesz; j++) {
			FUZZ_ASSERT(l->sources[j].name != NULL);
			FUZZ_ASSERT(source_type_name(l->sources[j].type) != NULL);
		}
	}
	config_free(c);
}

/* Replace path's bytes (no fsync: write_file_atomic's would dominate the run time). */
static void
overwrite(const char *path, const uint8_t *data, size_t size)
{
	FILE	*f;

	if ((f = fopen(path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	overwrite(list_file, data, size);
	overwrite(b_main, data, size);
	load(main_file);
	load(b_main);
	return 0;
}
