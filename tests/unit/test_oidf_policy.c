/*
 * Unit tests of oidf_policy.c: metadata policy operators, their merge and
 * combination rules, metadata_policy_crit, scope handling, the first
 * release's fail-closed cases, the constraints claim, and the published
 * metadata policy test vectors (CORPUS/real/vectors/oidfed/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "extern.h"
#include "testutil.h"

#define RP	"openid_relying_party"
#define VECTORS	"real/vectors/oidfed/metadata-policy-test-vectors-2025-02-13.json"

enum { AT_NONE = 0, AT_MERGE = 1, AT_APPLY = 2 };

/* Parse test JSON (duplicates rejected), failing the test on a typo. */
static json_t *
J(const char *s)
{
	json_error_t	 err;
	json_t		*j;

	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (j == NULL)
		fail_msg("bad test JSON (%s): %s", err.text, s);
	return j;
}

/* {RP: inner} (inner's reference is stolen; NULL stays NULL). */
static json_t *
wrap(json_t *inner)
{
	json_t	*o;

	if (inner == NULL)
		return NULL;
	o = json_object();
	json_object_set_new(o, RP, inner);
	return o;
}

/*
 * Merge the parameter-level policies ta and in (JSON text or NULL) of the
 * RP entity type and apply the result to the RP metadata md.  Returns
 * AT_NONE with *res the resolved RP metadata (new reference), or the stage
 * that failed with v filled.
 */
static int
run(const char *ta, const char *in, const char *md, json_t **res, struct verdict *v)
{
	const json_t	*pol[2];
	json_t		*p0, *p1, *merged = NULL, *meta;
	int		 stage = AT_NONE;

	memset(v, 0, sizeof(*v));
	*res = NULL;
	p0 = ta != NULL ? wrap(J(ta)) : NULL;
	p1 = in != NULL ? wrap(J(in)) : NULL;
	pol[0] = p0;
	pol[1] = p1;
	meta = wrap(J(md));
	if (oidf_policy_merge(pol, NULL, 2, &merged, v) == -1) {
		assert_null(merged);
		stage = AT_MERGE;
	} else if (oidf_policy_apply(merged, meta, v) == -1)
		stage = AT_APPLY;
	else
		*res = json_incref(json_object_get(meta, RP));
	json_decref(p0);
	json_decref(p1);
	json_decref(merged);
	json_decref(meta);
	return stage;
}

static void
check_ok(const char *ta, const char *in, const char *md, const char *want, int line)
{
	struct verdict	 v;
	json_t		*res, *w;
	char		*got;

	if (run(ta, in, md, &res, &v) != AT_NONE)
		fail_msg("line %d: unexpected failure: %s", line, v.detail);
	w = J(want);
	if (!json_equal(res, w)) {
		got = json_dumps(res, JSON_COMPACT);
		fail_msg("line %d: got %s, want %s", line, got, want);
	}
	json_decref(w);
	json_decref(res);
}

static void
check_fail(const char *ta, const char *in, const char *md, int stage, int line)
{
	struct verdict	 v;
	json_t		*res;
	int		 got;

	got = run(ta, in, md, &res, &v);
	if (got != stage) {
		json_decref(res);
		fail_msg("line %d: stage %d, want %d (%s)", line, got, stage, v.detail);
	}
	if (v.reason != R_CHAIN_POLICY)
		fail_msg("line %d: reason %s, want chain-policy-invalid", line,
		    reason_code(v.reason));
}

#define OK(ta, in, md, want)	check_ok(ta, in, md, want, __LINE__)
#define FAILS(ta, in, md, st)	check_fail(ta, in, md, st, __LINE__)

static void
test_value(void **state)
{
	OK("{\"alg\":{\"value\":\"RS256\"}}", NULL, "{\"alg\":\"ES256\"}", "{\"alg\":\"RS256\"}");
	OK("{\"alg\":{\"value\":\"RS256\"}}", NULL, "{}", "{\"alg\":\"RS256\"}");
	OK("{\"logo_uri\":{\"value\":null}}", NULL, "{\"logo_uri\":\"https://x/l.png\",\"a\":1}",
	    "{\"a\":1}");
	OK("{\"logo_uri\":{\"value\":null}}", NULL, "{}", "{}");
	OK("{\"g\":{\"value\":[\"a\",\"b\"]}}", NULL, "{\"g\":[\"c\"]}", "{\"g\":[\"a\",\"b\"]}");
	OK("{\"n\":{\"value\":5}}", NULL, "{\"n\":1}", "{\"n\":5}");
	OK("{\"t\":{\"value\":true}}", NULL, "{\"t\":false}", "{\"t\":true}");
	/* merge: equal values only; arrays compare as sets; 1 == 1.0 */
	OK("{\"alg\":{\"value\":\"RS256\"}}", "{\"alg\":{\"value\":\"RS256\"}}", "{}",
	    "{\"alg\":\"RS256\"}");
	FAILS("{\"alg\":{\"value\":\"RS256\"}}", "{\"alg\":{\"value\":\"ES256\"}}", "{}", AT_MERGE);
	FAILS("{\"alg\":{\"value\":null}}", "{\"alg\":{\"value\":\"ES256\"}}", "{}", AT_MERGE);
	FAILS("{\"t\":{\"value\":true}}", "{\"t\":{\"value\":false}}", "{}", AT_MERGE);
	FAILS("{\"t\":{\"value\":\"1\"}}", "{\"t\":{\"value\":1}}", "{}", AT_MERGE);
	OK("{\"g\":{\"value\":[\"a\",\"b\"]}}", "{\"g\":{\"value\":[\"b\",\"a\"]}}", "{}",
	    "{\"g\":[\"a\",\"b\"]}");
	FAILS("{\"g\":{\"value\":[\"a\",\"b\"]}}", "{\"g\":{\"value\":[\"a\"]}}", "{}", AT_MERGE);
	OK("{\"n\":{\"value\":1}}", "{\"n\":{\"value\":1.0}}", "{}", "{\"n\":1}");
	OK("{\"x\":{\"value\":null}}", "{\"x\":{\"value\":null}}", "{\"x\":\"y\"}", "{}");
}

static void
test_add(void **state)
{
	OK("{\"c\":{\"add\":[\"b\",\"a\"]}}", NULL, "{\"c\":[\"a\"]}", "{\"c\":[\"a\",\"b\"]}");
	OK("{\"c\":{\"add\":[\"b\"]}}", NULL, "{}", "{\"c\":[\"b\"]}");
	OK("{\"c\":{\"add\":[]}}", NULL, "{}", "{\"c\":[]}");
	OK("{\"n\":{\"add\":[2]}}", NULL, "{\"n\":[1,2]}", "{\"n\":[1,2]}");
	/* merge is the union */
	OK("{\"c\":{\"add\":[\"x\"]}}", "{\"c\":{\"add\":[\"y\",\"x\"]}}", "{\"c\":[\"z\"]}",
	    "{\"c\":[\"z\",\"x\",\"y\"]}");
	FAILS("{\"c\":{\"add\":[\"x\"]}}", NULL, "{\"c\":\"z\"}", AT_APPLY);
	FAILS("{\"c\":{\"add\":\"x\"}}", NULL, "{}", AT_MERGE);
	FAILS("{\"c\":{\"add\":[null]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"c\":{\"add\":[[\"x\"]]}}", NULL, "{}", AT_MERGE);
}

static void
test_default(void **state)
{
	OK("{\"g\":{\"default\":[\"code\"]}}", NULL, "{}", "{\"g\":[\"code\"]}");
	OK("{\"g\":{\"default\":[\"code\"]}}", NULL, "{\"g\":[\"x\"]}", "{\"g\":[\"x\"]}");
	OK("{\"a\":{\"default\":\"x\"}}", "{\"a\":{\"default\":\"x\"}}", "{}", "{\"a\":\"x\"}");
	FAILS("{\"a\":{\"default\":\"x\"}}", "{\"a\":{\"default\":\"y\"}}", "{}", AT_MERGE);
	FAILS("{\"a\":{\"default\":null}}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":{\"default\":true}}", "{\"a\":{\"default\":false}}", "{}", AT_MERGE);
}

static void
test_one_of(void **state)
{
	const char	*ta = "{\"m\":{\"one_of\":[\"a\",\"b\",\"c\"]}}";
	const char	*in = "{\"m\":{\"one_of\":[\"b\",\"c\",\"d\"]}}";

	OK(ta, NULL, "{\"m\":\"a\"}", "{\"m\":\"a\"}");
	OK(ta, NULL, "{}", "{}");
	FAILS(ta, NULL, "{\"m\":\"x\"}", AT_APPLY);
	/* merge is the intersection */
	OK(ta, in, "{\"m\":\"b\"}", "{\"m\":\"b\"}");
	FAILS(ta, in, "{\"m\":\"a\"}", AT_APPLY);
	FAILS(ta, in, "{\"m\":\"d\"}", AT_APPLY);
	FAILS(ta, "{\"m\":{\"one_of\":[\"x\"]}}", "{}", AT_MERGE);
	FAILS("{\"m\":{\"one_of\":\"a\"}}", NULL, "{}", AT_MERGE);
	FAILS(ta, NULL, "{\"m\":[\"a\"]}", AT_APPLY);
	OK("{\"m\":{\"one_of\":[1,2]}}", NULL, "{\"m\":2}", "{\"m\":2}");
	FAILS("{\"m\":{\"one_of\":[1,2]}}", NULL, "{\"m\":\"2\"}", AT_APPLY);
}

static void
test_subset_of(void **state)
{
	const char	*ta = "{\"g\":{\"subset_of\":[\"a\",\"b\",\"c\"]}}";

	/* the spec's table of essential and subset_of */
	OK(ta, NULL, "{\"g\":[\"a\",\"e\"]}", "{\"g\":[\"a\"]}");
	OK(ta, NULL, "{\"g\":[\"d\",\"e\"]}", "{\"g\":[]}");
	OK(ta, NULL, "{}", "{}");
	OK(ta, "{\"g\":{\"essential\":true}}", "{\"g\":[\"d\",\"e\"]}", "{\"g\":[]}");
	FAILS(ta, "{\"g\":{\"essential\":true}}", "{}", AT_APPLY);
	OK(ta, "{\"g\":{\"essential\":false}}", "{}", "{}");
	/* merge is the intersection and may be empty */
	OK(ta, "{\"g\":{\"subset_of\":[\"c\",\"b\",\"x\"]}}", "{\"g\":[\"a\",\"b\",\"c\"]}",
	    "{\"g\":[\"b\",\"c\"]}");
	OK(ta, "{\"g\":{\"subset_of\":[\"x\"]}}", "{\"g\":[\"a\"]}", "{\"g\":[]}");
	FAILS(ta, NULL, "{\"g\":\"a\"}", AT_APPLY);
	FAILS("{\"g\":{\"subset_of\":\"a\"}}", NULL, "{}", AT_MERGE);
}

static void
test_superset_of(void **state)
{
	const char	*ta = "{\"g\":{\"superset_of\":[\"a\"]}}";

	OK(ta, NULL, "{\"g\":[\"a\",\"b\"]}", "{\"g\":[\"a\",\"b\"]}");
	OK(ta, NULL, "{\"g\":[\"a\"]}", "{\"g\":[\"a\"]}");
	OK(ta, NULL, "{}", "{}");
	FAILS(ta, NULL, "{\"g\":[\"b\"]}", AT_APPLY);
	FAILS(ta, NULL, "{\"g\":\"a\"}", AT_APPLY);
	/* merge is the union */
	OK(ta, "{\"g\":{\"superset_of\":[\"b\"]}}", "{\"g\":[\"b\",\"a\"]}", "{\"g\":[\"b\",\"a\"]}");
	FAILS(ta, "{\"g\":{\"superset_of\":[\"b\"]}}", "{\"g\":[\"a\"]}", AT_APPLY);
	FAILS("{\"g\":{\"superset_of\":{}}}", NULL, "{}", AT_MERGE);
}

static void
test_essential(void **state)
{
	OK("{\"e\":{\"essential\":true}}", NULL, "{\"e\":\"x\"}", "{\"e\":\"x\"}");
	FAILS("{\"e\":{\"essential\":true}}", NULL, "{}", AT_APPLY);
	OK("{\"e\":{\"essential\":false}}", NULL, "{}", "{}");
	/* merge is the logical OR */
	FAILS("{\"e\":{\"essential\":false}}", "{\"e\":{\"essential\":true}}", "{}", AT_APPLY);
	FAILS("{\"e\":{\"essential\":true}}", "{\"e\":{\"essential\":false}}", "{}", AT_APPLY);
	FAILS("{\"e\":{\"essential\":\"yes\"}}", NULL, "{\"e\":1}", AT_MERGE);
	/* essential works on objects (no comparison needed) */
	OK("{\"e\":{\"essential\":true}}", NULL, "{\"e\":{\"k\":1}}", "{\"e\":{\"k\":1}}");
}

/* Each allowed combination with its condition met and broken, and the forbidden ones. */
static void
test_combinations(void **state)
{
	/* value + add: add within value */
	OK("{\"g\":{\"value\":[\"a\",\"b\"],\"add\":[\"a\"]}}", NULL, "{}", "{\"g\":[\"a\",\"b\"]}");
	FAILS("{\"g\":{\"value\":[\"a\"],\"add\":[\"c\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"g\":{\"value\":\"a\",\"add\":[\"a\"]}}", NULL, "{}", AT_MERGE);
	/* value + default: value not null */
	OK("{\"a\":{\"value\":\"x\",\"default\":\"y\"}}", NULL, "{}", "{\"a\":\"x\"}");
	FAILS("{\"a\":{\"value\":null,\"default\":\"y\"}}", NULL, "{}", AT_MERGE);
	/* value + one_of: value among one_of */
	OK("{\"a\":{\"value\":\"x\",\"one_of\":[\"x\",\"y\"]}}", NULL, "{}", "{\"a\":\"x\"}");
	FAILS("{\"a\":{\"value\":\"z\",\"one_of\":[\"x\",\"y\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":{\"value\":null,\"one_of\":[\"x\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":{\"value\":[\"x\"],\"one_of\":[\"x\"]}}", NULL, "{}", AT_MERGE);
	/* value + subset_of / superset_of */
	OK("{\"g\":{\"value\":[\"a\"],\"subset_of\":[\"a\",\"b\"]}}", NULL, "{}", "{\"g\":[\"a\"]}");
	FAILS("{\"g\":{\"value\":[\"c\"],\"subset_of\":[\"a\",\"b\"]}}", NULL, "{}", AT_MERGE);
	OK("{\"g\":{\"value\":[\"a\",\"b\"],\"superset_of\":[\"a\"]}}", NULL, "{}",
	    "{\"g\":[\"a\",\"b\"]}");
	FAILS("{\"g\":{\"value\":[\"b\"],\"superset_of\":[\"a\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"g\":{\"value\":null,\"subset_of\":[\"a\"]}}", NULL, "{}", AT_MERGE);
	/* value + essential: not null with true */
	OK("{\"a\":{\"value\":\"x\",\"essential\":true}}", NULL, "{}", "{\"a\":\"x\"}");
	OK("{\"a\":{\"value\":null,\"essential\":false}}", NULL, "{\"a\":\"x\"}", "{}");
	FAILS("{\"a\":{\"value\":null,\"essential\":true}}", NULL, "{}", AT_MERGE);
	/* add + subset_of: add within subset_of; add with default, superset_of, essential */
	OK("{\"g\":{\"add\":[\"a\"],\"subset_of\":[\"a\",\"b\"]}}", NULL, "{\"g\":[\"b\",\"c\"]}",
	    "{\"g\":[\"b\",\"a\"]}");
	FAILS("{\"g\":{\"add\":[\"c\"],\"subset_of\":[\"a\",\"b\"]}}", NULL, "{}", AT_MERGE);
	OK("{\"g\":{\"add\":[\"a\"],\"default\":[\"z\"],\"superset_of\":[\"a\"],\"essential\":true}}",
	    NULL, "{}", "{\"g\":[\"a\"]}");
	/* subset_of + superset_of: subset_of contains superset_of */
	OK("{\"g\":{\"subset_of\":[\"a\",\"b\"],\"superset_of\":[\"a\"]}}", NULL,
	    "{\"g\":[\"a\",\"c\"]}", "{\"g\":[\"a\"]}");
	FAILS("{\"g\":{\"subset_of\":[\"a\"],\"superset_of\":[\"b\"]}}", NULL, "{}", AT_MERGE);
	/* one_of: only with value, default, essential */
	OK("{\"a\":{\"one_of\":[\"x\",\"y\"],\"default\":\"y\",\"essential\":true}}", NULL, "{}",
	    "{\"a\":\"y\"}");
	FAILS("{\"a\":{\"one_of\":[\"x\"],\"add\":[\"x\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":{\"one_of\":[\"x\"],\"subset_of\":[\"x\"]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":{\"one_of\":[\"x\"],\"superset_of\":[\"x\"]}}", NULL, "{}", AT_MERGE);
	/* combinations formed only by the merge are checked too */
	FAILS("{\"a\":{\"value\":\"x\"}}", "{\"a\":{\"one_of\":[\"y\"]}}", "{}", AT_MERGE);
	FAILS("{\"g\":{\"subset_of\":[\"a\"]}}", "{\"g\":{\"add\":[\"b\"]}}", "{}", AT_MERGE);
	FAILS("{\"g\":{\"superset_of\":[\"a\",\"b\"]}}", "{\"g\":{\"subset_of\":[\"a\"]}}", "{}",
	    AT_MERGE);
	FAILS("{\"g\":{\"subset_of\":[\"a\",\"b\"],\"superset_of\":[\"a\"]}}",
	    "{\"g\":{\"subset_of\":[\"b\"]}}", "{}", AT_MERGE);
	FAILS("{\"a\":{\"value\":null}}", "{\"a\":{\"essential\":true}}", "{}", AT_MERGE);
	OK("{\"a\":{\"value\":null}}", "{\"a\":{\"essential\":false}}", "{\"a\":\"x\"}", "{}");
	FAILS("{\"a\":{\"one_of\":[\"x\"]}}", "{\"a\":{\"add\":[\"x\"]}}", "{}", AT_MERGE);
}

/* The fixed order: value, add, default, one_of, subset_of, superset_of, essential. */
static void
test_order(void **state)
{
	/* add after value */
	OK("{\"g\":{\"value\":[\"a\",\"b\"],\"add\":[\"b\"]}}", NULL, "{\"g\":[\"x\"]}",
	    "{\"g\":[\"a\",\"b\"]}");
	/* default after add: add already created it */
	OK("{\"g\":{\"add\":[\"x\"],\"default\":[\"y\"]}}", NULL, "{}", "{\"g\":[\"x\"]}");
	/* one_of after default */
	OK("{\"a\":{\"default\":\"x\",\"one_of\":[\"x\"]}}", NULL, "{}", "{\"a\":\"x\"}");
	FAILS("{\"a\":{\"default\":\"z\",\"one_of\":[\"x\"]}}", NULL, "{}", AT_APPLY);
	/* subset_of after default, superset_of after subset_of */
	OK("{\"g\":{\"default\":[\"a\",\"z\"],\"subset_of\":[\"a\"]}}", NULL, "{}", "{\"g\":[\"a\"]}");
	FAILS("{\"g\":{\"subset_of\":[\"a\",\"b\"],\"superset_of\":[\"a\"]}}", NULL,
	    "{\"g\":[\"c\"]}", AT_APPLY);
	/* essential last: an emptied list is still present */
	OK("{\"g\":{\"subset_of\":[\"a\"],\"essential\":true}}", NULL, "{\"g\":[\"b\"]}",
	    "{\"g\":[]}");
}

/* First release: whatever needs an object comparison fails closed. */
static void
test_objects_fail_closed(void **state)
{
	FAILS("{\"o\":{\"value\":{\"k\":1}}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"default\":{\"k\":1}}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"value\":[{\"k\":1}]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"add\":[{\"k\":1}]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"one_of\":[{\"k\":1}]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"subset_of\":[{\"k\":1}]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"superset_of\":[{\"k\":1}]}}", NULL, "{}", AT_MERGE);
	FAILS("{\"o\":{\"one_of\":[\"x\"]}}", NULL, "{\"o\":{\"k\":1}}", AT_APPLY);
	FAILS("{\"o\":{\"subset_of\":[\"x\"]}}", NULL, "{\"o\":[{\"k\":1}]}", AT_APPLY);
	FAILS("{\"o\":{\"superset_of\":[\"x\"]}}", NULL, "{\"o\":[\"x\",{\"k\":1}]}", AT_APPLY);
	FAILS("{\"o\":{\"add\":[\"x\"]}}", NULL, "{\"o\":[{\"k\":1}]}", AT_APPLY);
	/* no comparison needed: supported */
	OK("{\"o\":{\"value\":\"s\"}}", NULL, "{\"o\":{\"k\":1}}", "{\"o\":\"s\"}");
	OK("{\"o\":{\"default\":\"s\"}}", NULL, "{\"o\":{\"k\":1}}", "{\"o\":{\"k\":1}}");
	OK("{\"o\":{\"value\":null}}", NULL, "{\"o\":{\"k\":1}}", "{}");
}

/* Merge statements i (policies as JSON text, NULL allowed) with crits; returns 0 / -1. */
static int
merge_crit(const char *p0, const char *c0, const char *p1, const char *c1, json_t **merged,
    struct verdict *v)
{
	json_t		*j[4];
	const json_t	*pol[2], *crit[2];
	int		 rc, i;

	j[0] = p0 ? J(p0) : NULL;
	j[1] = c0 ? J(c0) : NULL;
	j[2] = p1 ? J(p1) : NULL;
	j[3] = c1 ? J(c1) : NULL;
	pol[0] = j[0];
	crit[0] = j[1];
	pol[1] = j[2];
	crit[1] = j[3];
	memset(v, 0, sizeof(*v));
	rc = oidf_policy_merge(pol, crit, 2, merged, v);
	for (i = 0; i < 4; i++)
		json_decref(j[i]);
	return rc;
}

static void
test_crit(void **state)
{
	const char	*pre = "{\"" RP "\":{\"op_policy_uri\":{\"regexp\":\"^https://\"}}}";
	const char	*plain = "{\"" RP "\":{\"a\":{\"value\":\"x\"}}}";
	json_t		*m, *want;
	struct verdict	 v;

	/* critical extension operator in use: not understood, chain invalid */
	assert_int_equal(merge_crit(pre, "[\"regexp\"]", NULL, NULL, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	assert_null(m);
	/* named critical by a lower statement that has no policy itself */
	assert_int_equal(merge_crit(pre, NULL, NULL, "[\"regexp\"]", &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	/* named critical but unused: the statement is invalid all the same */
	assert_int_equal(merge_crit(plain, "[\"regexp\"]", NULL, NULL, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	/* standard operators do not belong in it; malformed lists */
	assert_int_equal(merge_crit(plain, "[\"value\"]", NULL, NULL, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	assert_int_equal(merge_crit(plain, "[]", NULL, NULL, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	assert_int_equal(merge_crit(plain, "\"regexp\"", NULL, NULL, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	assert_int_equal(merge_crit(plain, NULL, plain, "[1]", &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	/* not critical: an unknown operator is ignored */
	assert_int_equal(merge_crit(pre, NULL, plain, NULL, &m, &v), 0);
	want = J("{\"" RP "\":{\"a\":{\"value\":\"x\"}}}");
	assert_true(json_equal(m, want));
	json_decref(want);
	json_decref(m);
	assert_int_equal(merge_crit("{\"" RP "\":{\"a\":{\"value\":\"x\",\"regexp\":\"y\"}}}", NULL,
	    NULL, NULL, &m, &v), 0);
	want = J(plain);
	assert_true(json_equal(m, want));
	json_decref(want);
	json_decref(m);
}

static void
test_scope(void **state)
{
	OK("{\"scope\":{\"subset_of\":[\"openid\",\"email\"]}}", NULL,
	    "{\"scope\":\"openid email profile\"}", "{\"scope\":\"openid email\"}");
	OK("{\"scope\":{\"add\":[\"offline_access\",\"openid\"]}}", NULL, "{\"scope\":\"openid\"}",
	    "{\"scope\":\"openid offline_access\"}");
	OK("{\"scope\":{\"default\":\"openid email\"}}", NULL, "{}",
	    "{\"scope\":\"openid email\"}");
	OK("{\"scope\":{\"value\":[\"openid\",\"email\"]}}", NULL, "{\"scope\":\"x\"}",
	    "{\"scope\":\"openid email\"}");
	/* operands may be given as scope strings too */
	OK("{\"scope\":{\"subset_of\":\"openid email\"}}", NULL, "{\"scope\":\"email x\"}",
	    "{\"scope\":\"email\"}");
	OK("{\"scope\":{\"value\":\"openid email\"}}", "{\"scope\":{\"value\":[\"email\",\"openid\"]}}",
	    "{}", "{\"scope\":\"openid email\"}");
	OK("{\"scope\":{\"superset_of\":[\"openid\"]}}", NULL, "{\"scope\":\"email openid\"}",
	    "{\"scope\":\"email openid\"}");
	FAILS("{\"scope\":{\"superset_of\":[\"openid\"]}}", NULL, "{\"scope\":\"email\"}", AT_APPLY);
	FAILS("{\"scope\":{\"value\":\"openid\",\"subset_of\":\"email\"}}", NULL, "{}", AT_MERGE);
	/* an emptied scope stays, as an empty string */
	OK("{\"scope\":{\"subset_of\":[\"openid\"]}}", NULL, "{\"scope\":\"email\"}",
	    "{\"scope\":\"\"}");
	/* checks alone leave the string as it was */
	OK("{\"scope\":{\"essential\":true}}", NULL, "{\"scope\":\"openid  email\"}",
	    "{\"scope\":\"openid  email\"}");
	/* a scope already given as an array stays one */
	OK("{\"scope\":{\"subset_of\":[\"openid\"]}}", NULL, "{\"scope\":[\"openid\",\"x\"]}",
	    "{\"scope\":[\"openid\"]}");
	/* one_of on a scope list is not supported: fails closed */
	FAILS("{\"scope\":{\"one_of\":[\"openid\"]}}", NULL, "{\"scope\":\"openid\"}", AT_APPLY);
	/* other parameters are not split */
	FAILS("{\"scopes\":{\"subset_of\":\"a b\"}}", NULL, "{}", AT_MERGE);
}

static void
test_structure(void **state)
{
	const json_t	*pol[3];
	json_t		*p, *m, *md, *orig, *want;
	struct verdict	 v;

	FAILS("{\"a\":\"value\"}", NULL, "{}", AT_MERGE);
	FAILS("{\"a\":[{\"value\":1}]}", NULL, "{}", AT_MERGE);
	/* the entity type level must be an object */
	p = J("{\"" RP "\":[]}");
	pol[0] = p;
	assert_int_equal(oidf_policy_merge(pol, NULL, 1, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	json_decref(p);
	p = J("[]");
	pol[0] = p;
	assert_int_equal(oidf_policy_merge(pol, NULL, 1, &m, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	json_decref(p);

	/* NULL entries are skipped; no policy at all merges to {} */
	pol[0] = pol[1] = pol[2] = NULL;
	assert_int_equal(oidf_policy_merge(pol, NULL, 3, &m, &v), 0);
	assert_int_equal(json_object_size(m), 0);
	md = J("{\"" RP "\":{\"a\":1}}");
	orig = json_deep_copy(md);
	assert_int_equal(oidf_policy_apply(m, md, &v), 0);
	assert_true(json_equal(md, orig));
	assert_int_equal(oidf_policy_apply(NULL, md, &v), 0);
	json_decref(m);
	assert_int_equal(oidf_policy_merge(NULL, NULL, 0, &m, &v), 0);
	json_decref(m);

	/* types: each is policed separately; types missing on one side are left alone */
	p = J("{\"openid_provider\":{\"a\":{\"value\":2}},\"oauth_client\":{\"b\":{\"value\":3}}}");
	pol[0] = NULL;
	pol[1] = p;
	assert_int_equal(oidf_policy_merge(pol, NULL, 2, &m, &v), 0);
	json_decref(p);
	json_decref(md);
	json_decref(orig);
	md = J("{\"openid_provider\":{\"a\":1},\"" RP "\":{\"a\":1}}");
	assert_int_equal(oidf_policy_apply(m, md, &v), 0);
	want = J("{\"openid_provider\":{\"a\":2},\"" RP "\":{\"a\":1}}");
	assert_true(json_equal(md, want));
	json_decref(want);
	json_decref(m);
	json_decref(md);

	/* a failing policy leaves the metadata untouched */
	p = J("{\"" RP "\":{\"a\":{\"value\":\"new\"},\"b\":{\"essential\":true}},"
	    "\"openid_provider\":{\"c\":{\"value\":1}}}");
	pol[0] = p;
	assert_int_equal(oidf_policy_merge(pol, NULL, 1, &m, &v), 0);
	md = J("{\"openid_provider\":{},\"" RP "\":{\"a\":\"old\"}}");
	orig = json_deep_copy(md);
	assert_int_equal(oidf_policy_apply(m, md, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_POLICY);
	assert_true(json_equal(md, orig));
	json_decref(p);
	json_decref(m);
	json_decref(md);
	json_decref(orig);

	/* operand size cap */
	{
		json_t	*big = json_array(), *pp;
		int	 i;

		for (i = 0; i <= MAX_OIDF_POLICY_ARRAY; i++)
			json_array_append_new(big, json_integer(i));
		pp = json_pack("{s:{s:{s:o}}}", RP, "g", "subset_of", big);
		pol[0] = pp;
		assert_int_equal(oidf_policy_merge(pol, NULL, 1, &m, &v), -1);
		assert_int_equal(v.reason, R_CHAIN_POLICY);
		json_decref(pp);
	}
}

/* The spec's "Metadata Policy Example": TA and intermediate policies for an RP. */
static void
test_spec_example(void **state)
{
	const char *ta = "{\"grant_types\":{\"default\":[\"authorization_code\"],"
	    "\"subset_of\":[\"authorization_code\",\"refresh_token\"],"
	    "\"superset_of\":[\"authorization_code\"]},"
	    "\"token_endpoint_auth_method\":{\"one_of\":[\"private_key_jwt\","
	    "\"self_signed_tls_client_auth\"],\"essential\":true},"
	    "\"token_endpoint_auth_signing_alg\":{\"one_of\":[\"PS256\",\"ES256\"]},"
	    "\"subject_type\":{\"value\":\"pairwise\"},"
	    "\"contacts\":{\"add\":[\"helpdesk@federation.example.org\"]}}";
	const char *in = "{\"grant_types\":{\"subset_of\":[\"authorization_code\"]},"
	    "\"token_endpoint_auth_method\":{\"one_of\":[\"self_signed_tls_client_auth\"]},"
	    "\"contacts\":{\"add\":[\"helpdesk@org.example.org\"]}}";
	const char *md = "{\"redirect_uris\":[\"https://rp.example.org/callback\"],"
	    "\"response_types\":[\"code\"],"
	    "\"token_endpoint_auth_method\":\"self_signed_tls_client_auth\","
	    "\"contacts\":[\"rp_admins@rp.example.org\"]}";
	const char *want = "{\"redirect_uris\":[\"https://rp.example.org/callback\"],"
	    "\"response_types\":[\"code\"],"
	    "\"token_endpoint_auth_method\":\"self_signed_tls_client_auth\","
	    "\"contacts\":[\"rp_admins@rp.example.org\",\"helpdesk@federation.example.org\","
	    "\"helpdesk@org.example.org\"],"
	    "\"grant_types\":[\"authorization_code\"],\"subject_type\":\"pairwise\"}";

	OK(ta, in, md, want);
	FAILS(ta, in, "{\"token_endpoint_auth_method\":\"private_key_jwt\"}", AT_APPLY);
	FAILS(ta, in, "{}", AT_APPLY);
}

/* ------------------------------------------------------------ test vectors */

/* 1 when j is an object or an array holding one at any depth. */
static int
has_object(const json_t *j)
{
	size_t	 i;
	json_t	*m;

	if (json_is_object(j))
		return 1;
	json_array_foreach(j, i, m)
		if (has_object(m))
			return 1;
	return 0;
}

/* 1 when a parameter-level policy or metadata has an object value below its parameters. */
static int
needs_object(const json_t *params, int is_policy)
{
	const char	*k, *op;
	json_t		*pp, *val;

	json_object_foreach((json_t *)params, k, pp) {
		if (!is_policy) {
			if (has_object(pp))
				return 1;
			continue;
		}
		json_object_foreach(pp, op, val)
			if (has_object(val))
				return 1;
	}
	return 0;
}

/* JSON equality where arrays compare as multisets of equal size (merge order is undefined). */
static int
loose_eq(const json_t *a, const json_t *b)
{
	const char	*k;
	json_t		*x, *y;
	size_t		 i, j;
	int		 found;

	if (json_is_object(a) && json_is_object(b)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, x)
			if ((y = json_object_get(b, k)) == NULL || !loose_eq(x, y))
				return 0;
		return 1;
	}
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, x) {
			found = 0;
			json_array_foreach(b, j, y)
				if (loose_eq(x, y))
					found = 1;
			if (!found)
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

struct vstats {
	int	 total, merge_err, meta_err, resolved, exact, fail_closed, disagree;
};

/* Run one vector t; counts into s; prints a disagreement. */
static void
run_vector(const json_t *t, struct vstats *s)
{
	const json_t	*pol[2], *exp_m, *exp_r;
	json_t		*p0, *p1, *merged = NULL, *md;
	const char	*err;
	struct verdict	 v;
	int		 stage = AT_NONE, objects, ok;
	long long	 n;

	memset(&v, 0, sizeof(v));
	n = json_integer_value(json_object_get(t, "n"));
	err = json_string_value(json_object_get(t, "error"));
	exp_m = json_object_get(t, "merged");
	exp_r = json_object_get(t, "resolved");
	objects = needs_object(json_object_get(t, "TA"), 1) ||
	    needs_object(json_object_get(t, "INT"), 1) ||
	    needs_object(json_object_get(t, "metadata"), 0);
	p0 = wrap(json_deep_copy(json_object_get(t, "TA")));
	p1 = wrap(json_deep_copy(json_object_get(t, "INT")));
	md = wrap(json_deep_copy(json_object_get(t, "metadata")));
	pol[0] = p0;
	pol[1] = p1;
	s->total++;

	if (oidf_policy_merge(pol, NULL, 2, &merged, &v) == -1)
		stage = AT_MERGE;
	else if (oidf_policy_apply(merged, md, &v) == -1)
		stage = AT_APPLY;

	if (objects) {
		ok = stage != AT_NONE && v.reason == R_CHAIN_POLICY;
		if (ok)
			s->fail_closed++;
	} else if (err != NULL && strcmp(err, "invalid_policy") == 0 && exp_m == NULL) {
		ok = stage == AT_MERGE && v.reason == R_CHAIN_POLICY;
		s->merge_err += ok;
	} else {
		/* the merge must succeed and give the expected merged policy */
		ok = stage != AT_MERGE && exp_m != NULL && json_object_get(merged, RP) != NULL &&
		    loose_eq(json_object_get(merged, RP), exp_m);
		if (ok && err != NULL) {
			ok = stage == AT_APPLY && v.reason == R_CHAIN_POLICY;
			s->meta_err += ok;
		} else if (ok) {
			ok = stage == AT_NONE && exp_r != NULL &&
			    loose_eq(json_object_get(md, RP), exp_r);
			s->resolved += ok;
			s->exact += ok && json_equal(json_object_get(md, RP), exp_r);
		}
	}
	if (!ok) {
		s->disagree++;
		if (s->disagree <= 10)
			print_message("vector %lld disagrees: stage %d, %s\n", n, stage,
			    stage != AT_NONE ? v.detail : "no error");
	}
	json_decref(p0);
	json_decref(p1);
	json_decref(md);
	json_decref(merged);
}

static void
test_vectors(void **state)
{
	const char	*corpus = getenv("CORPUS");
	char		*path;
	json_t		*all, *t;
	json_error_t	 jerr;
	struct vstats	 s;
	size_t		 i;

	if (corpus == NULL || *corpus == '\0') {
		print_message("CORPUS is not set: skipping the metadata policy test vectors\n");
		skip();
	}
	if (xasprintf(&path, "%s/%s", corpus, VECTORS) == -1)
		fail();
	if (access(path, R_OK) != 0) {
		print_message("%s not found: skipping the metadata policy test vectors\n", path);
		free(path);
		skip();
	}
	all = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (all == NULL)
		fail_msg("%s: %s", path, jerr.text);
	free(path);
	assert_true(json_is_array(all));

	memset(&s, 0, sizeof(s));
	json_array_foreach(all, i, t)
		run_vector(t, &s);
	print_message("metadata policy vectors: %d total, %d agree (%d merge errors, "
	    "%d metadata errors, %d resolved of which %d in the same array order), "
	    "%d fail closed (object comparison), %d disagree\n", s.total,
	    s.merge_err + s.meta_err + s.resolved, s.merge_err, s.meta_err, s.resolved,
	    s.exact, s.fail_closed, s.disagree);
	json_decref(all);
	assert_int_equal(s.disagree, 0);
	assert_true(s.total > 0);
	assert_int_equal(s.total, s.merge_err + s.meta_err + s.resolved + s.fail_closed);
}

/* ------------------------------------------------------------ constraints */

static int
cons(const char *c, const char *const *ids, size_t n, size_t inter, struct verdict *v)
{
	json_t	*j = c != NULL ? J(c) : NULL;
	int	 rc;

	memset(v, 0, sizeof(*v));
	rc = oidf_constraints_check(j, ids, n, inter, v);
	json_decref(j);
	return rc;
}

static void
test_max_path_length(void **state)
{
	struct verdict	 v;

	assert_int_equal(cons(NULL, NULL, 0, 5, &v), 0);
	assert_int_equal(cons("{}", NULL, 0, 5, &v), 0);
	assert_int_equal(cons("{\"max_path_length\":0}", NULL, 0, 0, &v), 0);
	assert_int_equal(cons("{\"max_path_length\":0}", NULL, 0, 1, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CONSTRAINT);
	assert_int_equal(cons("{\"max_path_length\":1}", NULL, 0, 1, &v), 0);
	assert_int_equal(cons("{\"max_path_length\":1}", NULL, 0, 2, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CONSTRAINT);
	assert_int_equal(cons("{\"max_path_length\":2}", NULL, 0, 2, &v), 0);
	/* malformed */
	assert_int_equal(cons("{\"max_path_length\":-1}", NULL, 0, 0, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(cons("{\"max_path_length\":1.0}", NULL, 0, 0, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(cons("{\"max_path_length\":\"2\"}", NULL, 0, 0, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(cons("{\"max_path_length\":null}", NULL, 0, 0, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(cons("[]", NULL, 0, 0, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	/* unknown constraint parameters are ignored */
	assert_int_equal(cons("{\"max_path_length\":1,\"future\":{\"x\":[]}}", NULL, 0, 1, &v), 0);
}

/* One id against naming_constraints nc: 0 / -1 and v. */
static int
name1(const char *nc, const char *id, struct verdict *v)
{
	char		*c;
	const char	*ids[1] = { id };
	int		 rc;

	if (xasprintf(&c, "{\"naming_constraints\":%s}", nc) == -1)
		fail();
	rc = cons(c, ids, 1, 0, v);
	free(c);
	return rc;
}

#define NAME_OK(nc, id)		do { struct verdict v_; \
	if (name1(nc, id, &v_) != 0) fail_msg("%s should pass %s: %s", id, nc, v_.detail); \
	} while (0)
#define NAME_BAD(nc, id, r)	do { struct verdict v_; \
	if (name1(nc, id, &v_) != -1) fail_msg("%s should fail %s", id, nc); \
	assert_int_equal(v_.reason, r); } while (0)

static void
test_naming(void **state)
{
	const char	*dom = "{\"permitted\":[\".example.com\"]}";
	const char	*host = "{\"permitted\":[\"example.com\"]}";
	const char	*both = "{\"permitted\":[\".example.com\"],\"excluded\":[\"east.example.com\"]}";
	const char	*ids[3];
	struct verdict	 v;

	/* leading dot: subdomains only */
	NAME_OK(dom, "https://op.example.com");
	NAME_OK(dom, "https://a.b.example.com/path/x");
	NAME_OK(dom, "https://op.example.com:8443/fed");
	NAME_OK(dom, "https://OP.Example.COM");
	NAME_BAD(dom, "https://example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://badexample.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://op.example.com.evil.org", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://evil.org/op.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://evil.org?x=.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://op.example.com@evil.org", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://..example.com", R_CHAIN_CONSTRAINT);
	/* hosts URL parsers read differently are refused ("\\" ends the host for some) */
	NAME_BAD(dom, "https://evil.org\\.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://evil%2eorg.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD("{\"excluded\":[\"evil.org\"]}", "https://evil.org\\@x", R_CHAIN_CONSTRAINT);
	NAME_BAD("{\"excluded\":[\"evil.org\"]}", "https://ev\til.org", R_CHAIN_CONSTRAINT);
	/* no leading dot: that host only */
	NAME_OK(host, "https://example.com");
	NAME_OK(host, "https://example.com./");
	NAME_BAD(host, "https://www.example.com", R_CHAIN_CONSTRAINT);
	/* excluded wins over permitted */
	NAME_OK(both, "https://west.example.com");
	NAME_BAD(both, "https://east.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(both, "https://EAST.example.com.", R_CHAIN_CONSTRAINT);
	NAME_OK(both, "https://x.east.example.com");
	NAME_OK("{\"excluded\":[\".example.com\"]}", "https://example.com");
	NAME_BAD("{\"excluded\":[\".example.com\"]}", "https://a.example.com", R_CHAIN_CONSTRAINT);
	NAME_OK("{\"excluded\":[\"evil.org\"]}", "https://example.com");
	NAME_BAD("{\"excluded\":[\"evil.org.\"]}", "https://evil.org:443", R_CHAIN_CONSTRAINT);
	/* an empty permitted list permits nothing; no lists restrict nothing */
	NAME_BAD("{\"permitted\":[]}", "https://example.com", R_CHAIN_CONSTRAINT);
	NAME_OK("{}", "https://example.com");
	NAME_OK("{\"excluded\":[]}", "https://example.com");
	/* IP literals: only an exact constraint matches them */
	NAME_OK("{\"permitted\":[\"127.0.0.1\"]}", "https://127.0.0.1:8000/oidc/rp");
	NAME_BAD("{\"permitted\":[\".0.0.1\"]}", "https://127.0.0.1:8000", R_CHAIN_CONSTRAINT);
	NAME_BAD("{\"permitted\":[\".example.com\"]}", "https://[::1]:8000", R_CHAIN_CONSTRAINT);
	/* malformed constraints */
	NAME_BAD("[]", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"permitted\":\".example.com\"}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"permitted\":[1]}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"permitted\":[\"\"]}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"permitted\":[\".\"]}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"permitted\":[\"https://example.com\"]}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"excluded\":[\"a..b\"]}", "https://example.com", R_JWT_CLAIM);
	NAME_BAD("{\"excluded\":[\"..example.com\"]}", "https://example.com", R_JWT_CLAIM);
	/* ids without a usable host cannot be checked: fail closed */
	NAME_BAD(dom, "http://op.example.com", R_CHAIN_CONSTRAINT);
	NAME_BAD(dom, "https://", R_CHAIN_CONSTRAINT);
	NAME_BAD("{\"excluded\":[\"evil.org\"]}", "https://[::1", R_CHAIN_CONSTRAINT);

	/* every id is checked: the subject and the intermediates below the issuer */
	ids[0] = "https://rp.example.com";
	ids[1] = "https://org.example.com";
	ids[2] = "https://org.example.net";
	assert_int_equal(cons("{\"naming_constraints\":{\"permitted\":[\".example.com\"]}}", ids,
	    2, 1, &v), 0);
	assert_int_equal(cons("{\"naming_constraints\":{\"permitted\":[\".example.com\"]}}", ids,
	    3, 2, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CONSTRAINT);
	/* a malformed part is reported as malformed even when another part fails */
	assert_int_equal(cons("{\"max_path_length\":0,\"allowed_entity_types\":\"x\"}", NULL, 0, 3,
	    &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
}

static int
types1(const char *c, const char *md, const char *want, struct verdict *v)
{
	json_t	*jc = J(c), *jm = J(md), *jw;
	int	 rc;

	memset(v, 0, sizeof(*v));
	rc = oidf_constraints_types(jc, jm, v);
	if (rc == 0 && want != NULL) {
		jw = J(want);
		if (!json_equal(jm, jw))
			fail_msg("allowed_entity_types %s on %s gave %s", c, md,
			    json_dumps(jm, JSON_COMPACT));
		json_decref(jw);
	}
	json_decref(jc);
	json_decref(jm);
	return rc;
}

static void
test_allowed_types(void **state)
{
	const char	*md = "{\"federation_entity\":{\"a\":1},\"openid_provider\":{},"
	    "\"openid_relying_party\":{},\"oauth_client\":{}}";
	const char	*ids[1] = { "https://op.example.com" };
	struct verdict	 v;
	json_t		*j;

	assert_int_equal(types1("{\"allowed_entity_types\":[\"openid_provider\"]}", md,
	    "{\"federation_entity\":{\"a\":1},\"openid_provider\":{}}", &v), 0);
	assert_int_equal(types1("{\"allowed_entity_types\":[\"openid_provider\","
	    "\"oauth_client\",\"oauth_resource\"]}", md,
	    "{\"federation_entity\":{\"a\":1},\"openid_provider\":{},\"oauth_client\":{}}", &v), 0);
	/* [] allows only federation_entity */
	assert_int_equal(types1("{\"allowed_entity_types\":[]}", md,
	    "{\"federation_entity\":{\"a\":1}}", &v), 0);
	assert_int_equal(types1("{\"allowed_entity_types\":[]}", "{\"openid_provider\":{}}", "{}",
	    &v), 0);
	/* absent: any type */
	assert_int_equal(types1("{\"max_path_length\":0,\"other\":1}", md, md, &v), 0);
	/* federation_entity must not be listed; malformed lists */
	assert_int_equal(types1("{\"allowed_entity_types\":[\"federation_entity\"]}", md, NULL, &v),
	    -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(types1("{\"allowed_entity_types\":\"openid_provider\"}", md, NULL, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(types1("{\"allowed_entity_types\":[1]}", md, NULL, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(types1("[]", md, NULL, &v), -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	/* the check validates it too */
	assert_int_equal(cons("{\"allowed_entity_types\":[\"federation_entity\"]}", ids, 1, 0, &v),
	    -1);
	assert_int_equal(v.reason, R_JWT_CLAIM);
	assert_int_equal(cons("{\"allowed_entity_types\":[\"openid_provider\"]}", ids, 1, 0, &v), 0);
	/* NULL constraints or metadata: nothing to do */
	assert_int_equal(oidf_constraints_types(NULL, NULL, &v), 0);
	j = J("{\"allowed_entity_types\":[]}");
	assert_int_equal(oidf_constraints_types(j, NULL, &v), 0);
	json_decref(j);
	/* a type name with a NUL inside is never an allowed type */
	j = J("{\"allowed_entity_types\":[\"openid_provider\"]}");
	{
		json_t	*m = json_object();

		json_object_setn_new(m, "openid_provider\0x", 17, json_object());
		json_object_set_new(m, "openid_provider", json_object());
		assert_int_equal(oidf_constraints_types(j, m, &v), 0);
		assert_int_equal(json_object_size(m), 1);
		assert_non_null(json_object_get(m, "openid_provider"));
		json_decref(m);
	}
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_one_of),
		cmocka_unit_test(test_subset_of),
		cmocka_unit_test(test_superset_of),
		cmocka_unit_test(test_essential),
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_objects_fail_closed),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_max_path_length),
		cmocka_unit_test(test_naming),
		cmocka_unit_test(test_allowed_types),
	};

	log_init(1, 0, "test_oidf_policy");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
