/*
 * Benchmark helper for tests/bench/bundle-bench.sh: verify + index a bundle
 * with libfedtrust RUNS times (median wall time), then time lookups by
 * (id, proto) and by x5t#S256 over every entity in a shuffled order, in
 * batches, and print the median per-lookup time.  Uses the public API only.
 *   bundle_bench KEYS.json ISSUER LIST BUNDLE.jwt RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fedtrust/fedtrust.h>

#define BATCH	1000

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*b;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
		exit(3);
	rewind(f);
	if ((b = malloc((size_t)n + 1)) == NULL || fread(b, 1, (size_t)n, f) != (size_t)n)
		exit(3);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Median of the per-lookup time of batches of BATCH lookups of ids[order]. */
static double
time_lookups(const struct fedtrust_bundle *b, const struct fedtrust_entity **ents, size_t n,
    int by_x5t, time_t at)
{
	struct fedtrust_error	 err;
	const struct fedtrust_key *k;
	size_t			 nb = n / BATCH, i, j, found = 0;
	double			*t = calloc(nb ? nb : 1, sizeof(*t)), med;

	for (i = 0; i < nb; i++) {
		double	 t0 = now_s();

		for (j = i * BATCH; j < (i + 1) * BATCH; j++) {
			const struct fedtrust_entity *e = ents[j];

			if (by_x5t) {
				const char *x = fedtrust_key_x5t_s256(fedtrust_entity_key(e, 0));

				found += x != NULL && fedtrust_lookup_x5t(b, x, at, &k, &err) != NULL;
			} else
				found += fedtrust_lookup(b, fedtrust_entity_id(e),
				    fedtrust_entity_proto(e), at, &err) != NULL;
		}
		t[i] = (now_s() - t0) / BATCH;
	}
	if (found == 0) {
		fprintf(stderr, "no lookup succeeded\n");
		exit(1);
	}
	qsort(t, nb, sizeof(*t), cmp_double);
	med = t[nb / 2];
	free(t);
	return med;
}

int
main(int argc, char *argv[])
{
	struct fedtrust_error	 err;
	struct fedtrust_trust	*tr;
	struct fedtrust_bundle	*b = NULL;
	const struct fedtrust_entity **ents;
	double			*vt, t0;
	char			*jws;
	size_t			 len, n, i;
	int			 runs, r;
	time_t			 at = time(NULL);

	if (argc != 6 || (runs = atoi(argv[5])) < 1)
		return 2;
	if ((tr = fedtrust_trust_new(argv[2], argv[3], &err)) == NULL ||
	    fedtrust_trust_add_key_file(tr, argv[1], &err) == -1) {
		fprintf(stderr, "%s: %s\n", fedtrust_error_code_name(err.code), err.text);
		return 1;
	}
	jws = slurp(argv[4], &len);
	vt = calloc((size_t)runs, sizeof(*vt));
	for (r = 0; r < runs; r++) {
		fedtrust_bundle_free(b);
		t0 = now_s();
		if ((b = fedtrust_bundle_verify(tr, jws, len, at, NULL, NULL, &err)) == NULL) {
			fprintf(stderr, "%s: %s\n", fedtrust_error_code_name(err.code), err.text);
			return 1;
		}
		vt[r] = now_s() - t0;
	}
	qsort(vt, (size_t)runs, sizeof(*vt), cmp_double);
	n = fedtrust_bundle_entity_count(b);
	ents = calloc(n, sizeof(*ents));
	for (i = 0; i < n; i++)
		ents[i] = fedtrust_bundle_entity_at(b, i);
	/* a shuffled order, so that lookups are not served from a warm neighbourhood */
	srand(7);
	for (i = n - 1; i > 0; i--) {
		size_t	 j = (size_t)rand() % (i + 1);
		const struct fedtrust_entity *x = ents[i];

		ents[i] = ents[j];
		ents[j] = x;
	}
	printf("entities %zu bytes %zu\n", n, len);
	printf("verify+index median %.3f s\n", vt[runs / 2]);
	printf("lookup id median %.3f us\n", time_lookups(b, ents, n, 0, at) * 1e6);
	printf("lookup x5t median %.3f us\n", time_lookups(b, ents, n, 1, at) * 1e6);
	free(ents);
	free(vt);
	free(jws);
	fedtrust_bundle_free(b);
	fedtrust_trust_free(tr);
	return 0;
}
