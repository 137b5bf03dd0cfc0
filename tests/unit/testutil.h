/* Helpers shared by the cmocka unit tests. */
#ifndef TESTUTIL_H
#define TESTUTIL_H
#include <stddef.h>

/* Path of a fresh private temp directory for this test program (caller frees). */
char	*tu_tmpdir(const char *name);
/* The test PKI made by tests/tools/mkpki.sh (made once per build tree). Borrowed. */
const char *tu_pki(void);
/* Run a shell command built printf-style; returns its exit status (or -1). */
int	 tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a whole file (caller frees), aborting the test on failure. */
unsigned char *tu_read(const char *path, size_t *len);
/* Path of a file under tests/ in the source tree (caller frees). */
char	*tu_src(const char *rel);
/* Path of python3 and of the shared corpus (may not exist). Borrowed. */
const char *tu_python(void);
const char *tu_corpus(void);
#endif
