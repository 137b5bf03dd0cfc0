/*
 * The libFuzzer entry points every tests/fuzz target defines, and what the
 * targets share.  docs/fuzzing.md describes the targets and how they run:
 * under libFuzzer (make fuzz, clang) or replayed over the seed corpus by
 * tests/fuzz/replay.c (make check, any compiler).
 */
#ifndef FEDTRUST_FUZZ_H
#define FEDTRUST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * The evaluation time of every target: 2026-03-02T06:00:00Z.  Seeds that
 * carry times (validUntil, iat, exp) were made relative to it, so they stay
 * valid whenever the fuzzer runs.
 */
#define FUZZ_NOW	1772431200LL

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test failed: report it as a crash. */
#define FUZZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/* With FUZZ_VERBOSE set, say what became of an input (checks that seeds reach deep). */
#define FUZZ_SAY(...) do {						\
	if (getenv("FUZZ_VERBOSE") != NULL)				\
		fprintf(stderr, __VA_ARGS__);				\
} while (0)

#endif /* FEDTRUST_FUZZ_H */
