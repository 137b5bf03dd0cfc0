/*
 * Fuzz target: the strict JSON parser of libfedtrust (fedtrustp_json_parse,
 * src/lib/json.c) and its canonical serialisation.  Every accepted input
 * must dump canonically, the dump must parse again under the same rules to
 * an equal value, and dumping that must give the same bytes (a fixed
 * point).  Accepted objects are also tried as a pinned JWK or JWK Set
 * (fedtrustp_keyset_add_json, what fedtrust_trust_add_key_json runs).
 */
#include <string.h>

#include "lib/private.h"
#include "fuzz.h"

#define FUZZ_MAX_JSON	(1024 * 1024)	/* larger inputs are rejected unparsed */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Canonical round trip of an accepted value (aborts when an invariant breaks). */
static void
round_trip(const json_t *v)
{
	struct fedtrust_error	 err;
	json_t			*w;
	char			*s, *t;

	s = fedtrustp_json_dump_canonical(v, &err);
	FUZZ_ASSERT(s != NULL);
	w = fedtrustp_json_parse(s, strlen(s), strlen(s), FEDTRUSTP_MAX_JSON_DEPTH, &err);
	if (w == NULL)
		fprintf(stderr, "canonical dump rejected: %s\n", err.text);
	FUZZ_ASSERT(w != NULL);
	FUZZ_ASSERT(json_equal(v, w));
	t = fedtrustp_json_dump_canonical(w, &err);
	FUZZ_ASSERT(t != NULL);
	FUZZ_ASSERT(strcmp(s, t) == 0);
	fedtrustp_free(t);
	fedtrustp_free(s);
	json_decref(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*ks;
	json_t			*v;

	memset(&err, 0, sizeof(err));
	v = fedtrustp_json_parse(data, size, FUZZ_MAX_JSON, FEDTRUSTP_MAX_JSON_DEPTH, &err);
	if (v == NULL) {
		/* every rejection names its cause */
		FUZZ_ASSERT(err.code != 0 && err.text[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(json_is_object(v) || json_is_array(v));
	round_trip(v);
	json_decref(v);

	/* the same bytes as an operator key pin (JWK or JWK Set): all or nothing */
	if ((ks = fedtrustp_keyset_new(&err)) != NULL) {
		if (fedtrustp_keyset_add_json(ks, data, size, &err) == -1)
			FUZZ_ASSERT(ks->n == 0 && err.text[0] != '\0');
		fedtrustp_keyset_free(ks);
	}
	return 0;
}
