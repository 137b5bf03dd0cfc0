/*
 * Replay driver: runs a fuzz target without libFuzzer, so that every
 * target builds with the project's compiler and its seed corpus (crash
 * reproducers included) runs in make check, under ASan/UBSan in the
 * sanitizer build.
 *
 *   fuzz_X-replay [FILE-OR-FOLDER ...]
 *
 * Without arguments it replays $top_srcdir/tests/fuzz/corpus/X/ (X is
 * FUZZ_NAME, set when it is compiled).  Each input is copied into a
 * buffer of exactly its size, as libFuzzer does, so reading past the end
 * is caught by ASan.  Exit 0 when every input ran, 99 when none was found.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the corpus folder of the target"
#endif

#define MAX_REPLAY_INPUT	(64 * 1024 * 1024)	/* bytes of one replayed input */

/* Read path whole into a malloc'd buffer of exactly its size. 0 / -1. */
static int
slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE		*f;
	struct stat	 st;
	int		 rc = -1;

	*buf = NULL;
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) == -1 || st.st_size > MAX_REPLAY_INPUT)
		goto out;
	*len = (size_t)st.st_size;
	/* malloc(0) may return NULL: keep one byte, pass size 0 */
	if ((*buf = malloc(*len > 0 ? *len : 1)) == NULL)
		goto out;
	if (*len > 0 && fread(*buf, 1, *len, f) != *len)
		goto out;
	rc = 0;
 out:
	if (rc == -1) {
		free(*buf);
		*buf = NULL;
	}
	fclose(f);
	return rc;
}

/* Run the target on one file. 1 ran, 0 skipped (not a regular file), -1 unreadable. */
static int
run_file(const char *path)
{
	uint8_t		*buf;
	size_t		 len;
	struct stat	 st;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if (slurp(path, &buf, &len) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of folder (sorted, README.md skipped); count into *n. 0 / -1. */
static int
run_dir(const char *dir, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, *p;
	size_t		 nn = 0, i;
	int		 rc = 0, r;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
			continue;
		if ((names = realloc(names, (nn + 1) * sizeof(*names))) == NULL ||
		    (names[nn] = malloc(strlen(dir) + strlen(de->d_name) + 2)) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			exit(99);
		}
		sprintf(names[nn++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (nn > 1)
		qsort(names, nn, sizeof(*names), name_cmp);
	for (i = 0; i < nn; i++) {
		p = names[i];
		if ((r = run_file(p)) == -1)
			rc = -1;
		else
			*n += (size_t)r;
		free(p);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	const char	*top;
	char		*def = NULL;
	size_t		 n = 0;
	int		 i, rc = 0, r;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		if ((top = getenv("top_srcdir")) == NULL)
			top = ".";
		if ((def = malloc(strlen(top) + sizeof("/tests/fuzz/corpus/") +
		    sizeof(FUZZ_NAME))) == NULL)
			return 99;
		sprintf(def, "%s/tests/fuzz/corpus/%s", top, FUZZ_NAME);
		if (run_dir(def, &n) == -1)
			rc = 99;
		free(def);
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = run_dir(argv[i], &n);
		else if ((r = run_file(argv[i])) == 1) {
			n++;
			r = 0;
		} else if (r == 0) {
			fprintf(stderr, "replay: %s: not a file or folder\n", argv[i]);
			r = -1;
		}
		if (r == -1)
			rc = 99;
	}
	if (n == 0) {
		fprintf(stderr, "replay %s: no input found\n", FUZZ_NAME);
		return 99;
	}
	printf("replay %s: %zu inputs ran without a crash\n", FUZZ_NAME, n);
	return rc;
}
