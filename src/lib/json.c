/*
 * libfedtrust: strict JSON over jansson (RFC 8259 I-JSON subset) and the
 * canonical serialisation used for headers and thumbprints.
 */
#include <string.h>

#include "lib/private.h"

/*
 * Depth and number rules on a parsed value: containers nest at most
 * max_depth deep (the top level is depth 1), no reals, integers within
 * +-(2^53 - 1).  Recursion is bounded by jansson's own parser depth limit
 * (2048) and, before that, by max_depth.  0 / -1.
 */
static int
json_check(const json_t *v, size_t depth, size_t max_depth, struct fedtrust_error *err)
{
	const char	*k;
	json_t		*m;
	size_t		 i;
	json_int_t	 n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth > max_depth)
			return fedtrustp_error_set(err, FEDTRUST_E_JSON,
			    "JSON nested deeper than %zu", max_depth);
		if (json_is_object(v)) {
			json_object_foreach((json_t *)v, k, m)
				if (json_check(m, depth + 1, max_depth, err) == -1)
					return -1;
		} else {
			json_array_foreach(v, i, m)
				if (json_check(m, depth + 1, max_depth, err) == -1)
					return -1;
		}
		return 0;
	case JSON_REAL:
		return fedtrustp_error_set(err, FEDTRUST_E_JSON,
		    "JSON number with a fraction or exponent (only integers are allowed)");
	case JSON_INTEGER:
		n = json_integer_value(v);
		if (n > FEDTRUSTP_MAX_JSON_INT || n < -FEDTRUSTP_MAX_JSON_INT)
			return fedtrustp_error_set(err, FEDTRUST_E_JSON,
			    "JSON integer outside +-(2^53-1)");
		return 0;
	default:
		return 0;
	}
}

/* Strict parse (see private.h). */
json_t *
fedtrustp_json_parse(const void *buf, size_t len, size_t max_len, size_t max_depth,
    struct fedtrust_error *err)
{
	const unsigned char	*p = buf;
	json_error_t		 jerr;
	json_t			*v;
	char			 what[80];

	if (len > max_len) {
		fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE,
		    "JSON of %zu bytes is over the cap of %zu", len, max_len);
		return NULL;
	}
	/* jansson skips neither, but say so plainly rather than "invalid token". */
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		fedtrustp_error_set(err, FEDTRUST_E_JSON, "JSON starts with a byte order mark");
		return NULL;
	}
	if (memchr(p, '\0', len) != NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_JSON, "JSON contains a NUL byte");
		return NULL;
	}
	/* No JSON_ALLOW_NUL: "\u0000" in a string is an error too. */
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JSON: out of memory");
		else
			fedtrustp_error_set(err, FEDTRUST_E_JSON, "JSON invalid at byte %d: %s",
			    jerr.position, fedtrustp_sanitize(jerr.text, strlen(jerr.text),
			    what, sizeof(what)));
		return NULL;
	}
	if (json_check(v, 1, max_depth, err) == -1) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/*
 * Compact, members sorted by their UTF-8 bytes, non-ASCII left as UTF-8.
 * The result is allocated by jansson, whose allocator is ours
 * (fedtrust_set_alloc_funcs), so fedtrustp_free() releases it.
 */
char *
fedtrustp_json_dump_canonical(const json_t *v, struct fedtrust_error *err)
{
	char	*s;

	if ((s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JSON serialisation failed");
	return s;
}
