/*
 * oidf_policy.c: OpenID Federation metadata policy (merge along a chain,
 * apply to the subject's metadata) and the constraints claim
 * (openid-federation.md 1.4 D; spec sections "Metadata Policy" and
 * "Constraints").  Pure functions on jansson values: no I/O, no clock.
 *
 * First release (openid-federation.md 1.5): the seven standard operators on
 * strings, numbers, booleans and arrays of them.  Whatever would need a
 * comparison of JSON objects, and any operator named in
 * metadata_policy_crit, fails closed with R_CHAIN_POLICY: the chain is
 * rejected with a reason rather than half-checked.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "extern.h"

/* The standard operators, in their fixed order of application. */
enum pop {
	OP_VALUE,
	OP_ADD,
	OP_DEFAULT,
	OP_ONE_OF,
	OP_SUBSET_OF,
	OP_SUPERSET_OF,
	OP_ESSENTIAL,
	OP_MAX
};

static const char *const op_names[OP_MAX] = {
	"value", "add", "default", "one_of", "subset_of", "superset_of", "essential"
};

/* Where in a policy we are, sanitized for verdicts ("stmt 1: type.param"). */
struct where {
	char	 s[240];
};

static int	perr(struct verdict *, const struct where *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* jansson returns NULL here only when memory runs out: fatal like x*. */
static json_t *
jnew(json_t *j)
{
	if (j == NULL)
		fatalx("metadata policy: out of memory");
	return j;
}

/* json_object_set_new that cannot fail on our own (valid) keys except for memory. */
static void
jset(json_t *o, const char *k, json_t *val)
{
	if (json_object_set_new(o, k, val) == -1)
		fatalx("metadata policy: out of memory");
}

/* json_array_append_new, fatal when memory runs out. */
static void
jpush(json_t *a, json_t *val)
{
	if (json_array_append_new(a, val) == -1)
		fatalx("metadata policy: out of memory");
}

/* Index of a standard operator name, or -1. */
static int
op_find(const char *name)
{
	int	 i;

	for (i = 0; i < OP_MAX; i++)
		if (strcmp(op_names[i], name) == 0)
			return i;
	return -1;
}

/* Fill w with "stmt N: type.param" (idx < 0: no statement; param may be NULL). */
static void
where_set(struct where *w, long idx, const char *type, const char *param)
{
	char	 a[96], b[96], st[32] = "";

	log_sanitize(type, strlen(type), a, sizeof(a));
	if (idx >= 0)
		snprintf(st, sizeof(st), "statement %ld: ", idx);
	if (param == NULL)
		snprintf(w->s, sizeof(w->s), "%s%s", st, a);
	else {
		log_sanitize(param, strlen(param), b, sizeof(b));
		snprintf(w->s, sizeof(w->s), "%s%s.%s", st, a, b);
	}
}

/* R_CHAIN_POLICY naming the place and the cause; returns -1. */
static int
perr(struct verdict *v, const struct where *w, const char *fmt, ...)
{
	char	 msg[320];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return verdict_set(v, R_CHAIN_POLICY, "metadata policy %s: %s", w->s, msg);
}

/* 1 when a member name holds no NUL (jansson keeps them; strcmp would not see them). */
static int
key_clean(const char *k, size_t klen)
{
	return strlen(k) == klen;
}

/* The values the first release compares: strings, numbers, booleans. */
static int
is_scalar(const json_t *j)
{
	return json_is_string(j) || json_is_number(j) || json_is_boolean(j);
}

/* Scalar equality: strings by code units (no normalisation), numbers by value. */
static int
scalar_eq(const json_t *a, const json_t *b)
{
	if (json_is_string(a) && json_is_string(b))
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_is_boolean(a) && json_is_boolean(b))
		return json_typeof(a) == json_typeof(b);
	return json_is_null(a) && json_is_null(b);
}

/* 1 when array arr has a member equal to scalar x. */
static int
arr_has(const json_t *arr, const json_t *x)
{
	size_t	 i;
	json_t	*m;

	json_array_foreach(arr, i, m)
		if (scalar_eq(m, x))
			return 1;
	return 0;
}

/* 1 when every member of array a is in array b. */
static int
arr_subset(const json_t *a, const json_t *b)
{
	size_t	 i;
	json_t	*m;

	json_array_foreach(a, i, m)
		if (!arr_has(b, m))
			return 0;
	return 1;
}

/*
 * Equality of value/default operands: arrays as sets (metadata arrays are
 * sets of values, and the spec leaves merge order undefined), else scalars.
 */
static int
val_eq(const json_t *a, const json_t *b)
{
	if (json_is_array(a) && json_is_array(b))
		return arr_subset(a, b) && arr_subset(b, a);
	if (json_is_array(a) || json_is_array(b))
		return 0;
	return scalar_eq(a, b);
}

/* Append to r the members of a not yet in r. */
static void
arr_add_new(json_t *r, const json_t *a)
{
	size_t	 i;
	json_t	*m;

	json_array_foreach(a, i, m)
		if (!arr_has(r, m))
			jpush(r, jnew(json_deep_copy(m)));
}

/* New array: the union of a and b (a's order first, each value once). */
static json_t *
arr_union(const json_t *a, const json_t *b)
{
	json_t	*r = jnew(json_array());

	arr_add_new(r, a);
	arr_add_new(r, b);
	return r;
}

/* New array: the members of a that are in b, in a's order, each once. */
static json_t *
arr_inter(const json_t *a, const json_t *b)
{
	json_t	*r = jnew(json_array());
	size_t	 i;
	json_t	*m;

	json_array_foreach(a, i, m)
		if (arr_has(b, m) && !arr_has(r, m))
			jpush(r, jnew(json_deep_copy(m)));
	return r;
}

/*
 * Check that arr (an operand or a metadata parameter, named what) holds only
 * scalars and at most MAX_OIDF_POLICY_ARRAY of them.  Object members need
 * object comparison: fail closed.  0 / -1 with v.
 */
static int
check_members(const char *what, const json_t *arr, const struct where *w, struct verdict *v)
{
	size_t	 i;
	json_t	*m;

	if (json_array_size(arr) > MAX_OIDF_POLICY_ARRAY)
		return perr(v, w, "%s has more than %d members", what, MAX_OIDF_POLICY_ARRAY);
	json_array_foreach(arr, i, m) {
		if (json_is_object(m))
			return perr(v, w, "%s has an object member: comparing objects is not "
			    "supported (fails closed)", what);
		if (!is_scalar(m))
			return perr(v, w, "%s has a member that is not a string, number or boolean",
			    what);
	}
	return 0;
}

/* Check one operator's operand type (after scope splitting).  0 / -1 with v. */
static int
check_operand(int op, const json_t *val, const struct where *w, struct verdict *v)
{
	switch (op) {
	case OP_ESSENTIAL:
		if (!json_is_boolean(val))
			return perr(v, w, "essential must be true or false");
		return 0;
	case OP_VALUE:
	case OP_DEFAULT:
		if (json_is_null(val)) {
			if (op == OP_VALUE)
				return 0;
			return perr(v, w, "default must not be null");
		}
		if (json_is_object(val))
			return perr(v, w, "%s with an object operand: comparing objects is not "
			    "supported (fails closed)", op_names[op]);
		if (is_scalar(val))
			return 0;
		return check_members(op_names[op], val, w, v);
	default:
		if (!json_is_array(val))
			return perr(v, w, "%s must be an array", op_names[op]);
		return check_members(op_names[op], val, w, v);
	}
}

/*
 * Check the operator combinations of one parameter policy (one statement's
 * or a merged one), with their conditions.  0 / -1 with v.
 */
static int
check_combo(const json_t *pp, const struct where *w, struct verdict *v)
{
	const json_t	*val, *add, *def, *one, *sub, *sup, *ess;

	val = json_object_get(pp, "value");
	add = json_object_get(pp, "add");
	def = json_object_get(pp, "default");
	one = json_object_get(pp, "one_of");
	sub = json_object_get(pp, "subset_of");
	sup = json_object_get(pp, "superset_of");
	ess = json_object_get(pp, "essential");

	if (val != NULL && json_is_null(val)) {
		/* value null removes the parameter: only essential false agrees */
		if (ess != NULL && json_is_true(ess))
			return perr(v, w, "value null cannot be combined with essential true");
		if (def != NULL)
			return perr(v, w, "value null cannot be combined with default");
		if (one != NULL)
			return perr(v, w, "value null is not among the one_of values");
		if (add != NULL || sub != NULL || sup != NULL)
			return perr(v, w, "value null cannot be combined with %s",
			    add != NULL ? "add" : sub != NULL ? "subset_of" : "superset_of");
	} else if (val != NULL) {
		if ((add != NULL || sub != NULL || sup != NULL) && !json_is_array(val))
			return perr(v, w, "value must be an array to combine with %s",
			    add != NULL ? "add" : sub != NULL ? "subset_of" : "superset_of");
		if (add != NULL && !arr_subset(add, val))
			return perr(v, w, "the add values must be a subset of value");
		if (one != NULL && (json_is_array(val) || !arr_has(one, val)))
			return perr(v, w, "value must be among the one_of values");
		if (sub != NULL && !arr_subset(val, sub))
			return perr(v, w, "value must be a subset of subset_of");
		if (sup != NULL && !arr_subset(sup, val))
			return perr(v, w, "value must be a superset of superset_of");
	}
	if (one != NULL && (add != NULL || sub != NULL || sup != NULL))
		return perr(v, w, "one_of cannot be combined with %s",
		    add != NULL ? "add" : sub != NULL ? "subset_of" : "superset_of");
	if (add != NULL && sub != NULL && !arr_subset(add, sub))
		return perr(v, w, "the add values must be a subset of subset_of");
	if (sub != NULL && sup != NULL && !arr_subset(sup, sub))
		return perr(v, w, "subset_of must be a superset of superset_of");
	return 0;
}

/* New array of the non-empty space-separated tokens of a scope string. */
static json_t *
scope_split(const json_t *s)
{
	const char	*p = json_string_value(s), *end = p + json_string_length(s), *t;
	json_t		*a = jnew(json_array());

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		t = p;
		while (p < end && *p != ' ')
			p++;
		if (p > t)
			jpush(a, jnew(json_stringn(t, (size_t)(p - t))));
	}
	return a;
}

/* New space-separated scope string from an array; NULL when a member is not a string. */
static json_t *
scope_join(const json_t *a)
{
	size_t	 i, len = 0, o = 0;
	json_t	*m, *r;
	char	*buf;

	json_array_foreach(a, i, m) {
		if (!json_is_string(m))
			return NULL;
		len += json_string_length(m) + 1;
	}
	buf = xmalloc(len + 1);
	json_array_foreach(a, i, m) {
		if (o > 0)
			buf[o++] = ' ';
		memcpy(buf + o, json_string_value(m), json_string_length(m));
		o += json_string_length(m);
	}
	r = jnew(json_stringn(buf, o));
	free(buf);
	return r;
}

/*
 * Validate one statement's parameter policy pp and return a normalized copy
 * (new reference) holding only the standard operators; for "scope", string
 * operands become arrays.  Other operators are not understood and, not
 * being critical (crit fails earlier), ignored.  NULL with v on error.
 */
static json_t *
param_norm(const json_t *pp, int scope, const struct where *w, struct verdict *v)
{
	json_t		*out, *val, *nv;
	const char	*k;
	size_t		 klen;
	int		 op;

	if (!json_is_object(pp)) {
		perr(v, w, "parameter policy is not an object");
		return NULL;
	}
	out = jnew(json_object());
	json_object_keylen_foreach((json_t *)pp, k, klen, val) {
		if (!key_clean(k, klen)) {
			perr(v, w, "operator name contains NUL");
			goto fail;
		}
		if ((op = op_find(k)) == -1)
			continue;
		if (scope && json_is_string(val) && op != OP_ONE_OF)
			nv = scope_split(val);
		else
			nv = jnew(json_deep_copy(val));
		jset(out, k, nv);
		if (check_operand(op, nv, w, v) == -1)
			goto fail;
	}
	if (check_combo(out, w, v) == -1)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

/*
 * Merge the normalized parameter policy sub into cur, operator by operator,
 * then check the result's combinations.  0 / -1 with v.
 */
static int
merge_param(json_t *cur, const json_t *sub, const struct where *w, struct verdict *v)
{
	const char	*k;
	json_t		*sv, *cv, *nv;

	json_object_foreach((json_t *)sub, k, sv) {
		if ((cv = json_object_get(cur, k)) == NULL) {
			jset(cur, k, json_incref(sv));
			continue;
		}
		switch (op_find(k)) {
		case OP_VALUE:
		case OP_DEFAULT:
			if (!val_eq(cv, sv))
				return perr(v, w, "%s differs from the superior's %s", k, k);
			break;
		case OP_ADD:
		case OP_SUPERSET_OF:
			jset(cur, k, arr_union(cv, sv));
			break;
		case OP_ONE_OF:
			nv = arr_inter(cv, sv);
			if (json_array_size(nv) == 0) {
				json_decref(nv);
				return perr(v, w, "one_of has no value in common with the superior's");
			}
			jset(cur, k, nv);
			break;
		case OP_SUBSET_OF:
			/* may become [], which the spec allows */
			jset(cur, k, arr_inter(cv, sv));
			break;
		case OP_ESSENTIAL:
			jset(cur, k, json_boolean(json_is_true(cv) || json_is_true(sv)));
			break;
		default:
			return perr(v, w, "internal: unknown operator in a normalized policy");
		}
	}
	return check_combo(cur, w, v);
}

/* Validate statement idx's metadata_policy pol and merge it into cur.  0 / -1 with v. */
static int
merge_policy(json_t *cur, const json_t *pol, size_t idx, struct verdict *v)
{
	struct where	 w;
	const char	*type, *param;
	size_t		 tlen, plen;
	json_t		*tp, *pp, *ct, *cp, *np;
	int		 r;

	if (!json_is_object(pol))
		return verdict_set(v, R_CHAIN_POLICY,
		    "metadata policy of statement %zu is not an object", idx);
	json_object_keylen_foreach((json_t *)pol, type, tlen, tp) {
		where_set(&w, (long)idx, type, NULL);
		if (!key_clean(type, tlen))
			return perr(v, &w, "entity type name contains NUL");
		if (!json_is_object(tp))
			return perr(v, &w, "entity type policy is not an object");
		if ((ct = json_object_get(cur, type)) == NULL) {
			ct = jnew(json_object());
			jset(cur, type, ct);
		}
		json_object_keylen_foreach(tp, param, plen, pp) {
			where_set(&w, (long)idx, type, param);
			if (!key_clean(param, plen))
				return perr(v, &w, "parameter name contains NUL");
			np = param_norm(pp, strcmp(param, "scope") == 0, &w, v);
			if (np == NULL)
				return -1;
			if ((cp = json_object_get(ct, param)) == NULL) {
				if (json_object_size(np) == 0)
					json_decref(np);	/* only unknown operators */
				else
					jset(ct, param, np);
				continue;
			}
			r = merge_param(cp, np, &w, v);
			json_decref(np);
			if (r == -1)
				return -1;
		}
		if (json_object_size(ct) == 0)
			json_object_del(cur, type);
	}
	return 0;
}

/*
 * Statement idx's metadata_policy_crit.  Every listed name must be an
 * extension operator we understand; the first release understands none,
 * so any well-formed list fails closed too.  Returns -1 with v.
 */
static int
check_crit(const json_t *crit, size_t idx, struct verdict *v)
{
	size_t		 i;
	json_t		*m;
	char		 name[96];

	if (!json_is_array(crit) || json_array_size(crit) == 0)
		return verdict_set(v, R_CHAIN_POLICY,
		    "metadata_policy_crit of statement %zu is not a non-empty array", idx);
	json_array_foreach(crit, i, m)
		if (!json_is_string(m) || json_string_length(m) == 0)
			return verdict_set(v, R_CHAIN_POLICY, "metadata_policy_crit of "
			    "statement %zu has a member that is not a non-empty string", idx);
	m = json_array_get(crit, 0);
	log_sanitize(json_string_value(m), json_string_length(m), name, sizeof(name));
	if (op_find(json_string_value(m)) != -1)
		return verdict_set(v, R_CHAIN_POLICY, "metadata_policy_crit of statement %zu "
		    "lists the standard operator \"%s\" (only extension operators belong there)",
		    idx, name);
	return verdict_set(v, R_CHAIN_POLICY, "metadata_policy_crit of statement %zu names "
	    "operator \"%s\", which is not supported (critical operators fail closed)",
	    idx, name);
}

/*
 * Gather the chain's metadata_policy_crit (any name fails closed), then
 * validate and merge the policies from the TA's statement down.  *merged is
 * a new object (caller decrefs).  0 / -1 with v (R_CHAIN_POLICY).
 */
int
oidf_policy_merge(const json_t *const *policies, const json_t *const *crits, size_t n,
    json_t **merged, struct verdict *v)
{
	json_t	*cur;
	size_t	 i;
	int	 rc = -1;

	*merged = NULL;
	cur = jnew(json_object());
	/* the crit names of the whole chain are gathered before any merge */
	for (i = 0; crits != NULL && i < n; i++)
		if (crits[i] != NULL && check_crit(crits[i], i, v) == -1)
			goto out;
	for (i = 0; policies != NULL && i < n; i++)
		if (policies[i] != NULL && merge_policy(cur, policies[i], i, v) == -1)
			goto out;
	*merged = cur;
	cur = NULL;
	rc = 0;
out:
	json_decref(cur);
	return rc;
}

/*
 * Check that the current parameter value p is an array the set operators
 * can work on (scalars only; objects fail closed).  0 / -1 with v.
 */
static int
param_array(const char *opname, const json_t *p, const struct where *w, struct verdict *v)
{
	char	 what[64];

	if (!json_is_array(p))
		return perr(v, w, "%s needs an array, the parameter is not one", opname);
	snprintf(what, sizeof(what), "the parameter (under %s)", opname);
	return check_members(what, p, w, v);
}

/*
 * Apply one merged parameter policy pp to parameter name of md (one entity
 * type's metadata), operators in their fixed order.  "scope" strings are
 * worked on as arrays and written back as strings.  md is left as it was
 * when nothing modifies it.  0 / -1 with v.
 */
static int
apply_param(json_t *md, const char *name, const json_t *pp, const struct where *w,
    struct verdict *v)
{
	const json_t	*op[OP_MAX];
	json_t		*cur = NULL, *orig, *nv;
	size_t		 i;
	json_t		*m;
	int		 as_string = 0, changed = 0, rc = -1, scope;

	for (i = 0; i < OP_MAX; i++)
		op[i] = json_object_get(pp, op_names[i]);
	scope = strcmp(name, "scope") == 0;
	if ((orig = json_object_get(md, name)) != NULL) {
		if (scope && json_is_string(orig)) {
			cur = scope_split(orig);
			as_string = 1;
		} else
			cur = json_incref(orig);	/* never modified in place */
	} else if (scope)
		as_string = 1;

	if (op[OP_VALUE] != NULL) {
		json_decref(cur);
		cur = json_is_null(op[OP_VALUE]) ? NULL : jnew(json_deep_copy(op[OP_VALUE]));
		changed = 1;
	}
	if (op[OP_ADD] != NULL) {
		if (!json_is_array(op[OP_ADD])) {
			perr(v, w, "add must be an array");
			goto out;
		}
		if (cur != NULL) {
			if (param_array("add", cur, w, v) == -1)
				goto out;
			nv = jnew(json_deep_copy(cur));
			arr_add_new(nv, op[OP_ADD]);
		} else
			nv = jnew(json_deep_copy(op[OP_ADD]));
		json_decref(cur);
		cur = nv;
		changed = 1;
	}
	if (op[OP_DEFAULT] != NULL && cur == NULL) {
		cur = jnew(json_deep_copy(op[OP_DEFAULT]));
		changed = 1;
	}
	if (op[OP_ONE_OF] != NULL && cur != NULL) {
		if (json_is_object(cur)) {
			perr(v, w, "one_of on an object parameter: comparing objects is not "
			    "supported (fails closed)");
			goto out;
		}
		if (!is_scalar(cur)) {
			perr(v, w, "one_of needs a single value, the parameter is %s",
			    scope ? "a scope list (one_of on scope is not supported)" : "not one");
			goto out;
		}
		if (!json_is_array(op[OP_ONE_OF]) || !arr_has(op[OP_ONE_OF], cur)) {
			perr(v, w, "the value is not one of the one_of values");
			goto out;
		}
	}
	if (op[OP_SUBSET_OF] != NULL && cur != NULL) {
		if (param_array("subset_of", cur, w, v) == -1)
			goto out;
		/* the intersection, in the parameter's order; [] stays (spec) */
		nv = jnew(json_array());
		json_array_foreach(cur, i, m)
			if (arr_has(op[OP_SUBSET_OF], m))
				jpush(nv, jnew(json_deep_copy(m)));
		json_decref(cur);
		cur = nv;
		changed = 1;
	}
	if (op[OP_SUPERSET_OF] != NULL && cur != NULL) {
		if (param_array("superset_of", cur, w, v) == -1)
			goto out;
		if (!arr_subset(op[OP_SUPERSET_OF], cur)) {
			perr(v, w, "the value does not contain every superset_of value");
			goto out;
		}
	}
	if (op[OP_ESSENTIAL] != NULL && json_is_true(op[OP_ESSENTIAL]) && cur == NULL) {
		perr(v, w, "essential parameter is absent");
		goto out;
	}
	if (changed) {
		if (cur == NULL)
			json_object_del(md, name);
		else {
			if (as_string && json_is_array(cur)) {
				if ((nv = scope_join(cur)) == NULL) {
					perr(v, w, "scope values must be strings");
					goto out;
				}
				json_decref(cur);
				cur = nv;
			}
			jset(md, name, cur);
			cur = NULL;
		}
	}
	rc = 0;
out:
	json_decref(cur);
	return rc;
}

/*
 * Apply merged to metadata (entity_type -> parameters) in place.  Works on a
 * copy, so a failing policy leaves metadata as it was (the caller must not
 * use it then anyway).  0 / -1 with v (R_CHAIN_POLICY).
 */
int
oidf_policy_apply(const json_t *merged, json_t *metadata, struct verdict *v)
{
	struct where	 w;
	json_t		*work = NULL, *tp, *pp, *md;
	const char	*type, *param;
	int		 rc = -1;

	if (merged == NULL)
		return 0;
	if (!json_is_object(merged) || !json_is_object(metadata))
		return verdict_set(v, R_CHAIN_POLICY,
		    "metadata policy: policy or metadata is not an object");
	/* work on a copy: metadata stays untouched when the policy fails */
	work = jnew(json_deep_copy(metadata));
	json_object_foreach((json_t *)merged, type, tp) {
		if ((md = json_object_get(work, type)) == NULL)
			continue;
		where_set(&w, -1, type, NULL);
		if (!json_is_object(md) || !json_is_object(tp)) {
			perr(v, &w, "metadata or policy of the entity type is not an object");
			goto out;
		}
		json_object_foreach(tp, param, pp) {
			where_set(&w, -1, type, param);
			if (!json_is_object(pp)) {
				perr(v, &w, "parameter policy is not an object");
				goto out;
			}
			if (apply_param(md, param, pp, &w, v) == -1)
				goto out;
		}
	}
	json_object_foreach((json_t *)merged, type, tp)
		if ((md = json_object_get(work, type)) != NULL)
			jset(metadata, type, json_incref(md));
	rc = 0;
out:
	json_decref(work);
	return rc;
}

/* ------------------------------------------------------------ constraints */

/*
 * Host part of https entity id into buf: lower-cased, without port or IPv6
 * brackets, one trailing dot dropped (a DNS name with and without it is the
 * same host).  *ip tells an IP literal.  0 / -1 when there is no usable
 * host.  Only LDH characters (and '_') are accepted: URL parsers differ on
 * backslash, '%' and the like, and a host that two parsers read differently
 * must not pass a name check.
 */
static int
id_host(const char *id, char *buf, size_t bufsz, int *ip)
{
	const char	*p, *end, *h, *he;
	size_t		 len, i;

	if (strncasecmp(id, "https://", 8) != 0)
		return -1;
	p = id + 8;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return -1;
	if (*p == '[') {
		if ((he = memchr(p, ']', (size_t)(end - p))) == NULL)
			return -1;
		if (he + 1 != end && he[1] != ':')
			return -1;
		h = p + 1;
		*ip = 1;
	} else {
		h = p;
		if ((he = memchr(p, ':', (size_t)(end - p))) == NULL)
			he = end;
		*ip = 0;
	}
	len = (size_t)(he - h);
	if (!*ip && len > 1 && h[len - 1] == '.')
		len--;
	if (len == 0 || len >= bufsz)
		return -1;
	for (i = 0; i < len; i++) {
		buf[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] - 'A' + 'a') : h[i];
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= '0' && buf[i] <= '9') ||
		    buf[i] == '-' || buf[i] == '.' || buf[i] == '_' || (*ip && buf[i] == ':')))
			return -1;
	}
	buf[len] = '\0';
	if (*ip)
		return 0;
	/* no empty labels: "..example.com" must not pass as a subdomain */
	if (buf[0] == '.' || strstr(buf, "..") != NULL || buf[len - 1] == '.')
		return -1;
	*ip = strspn(buf, "0123456789.") == len;
	return 0;
}

/*
 * One naming constraint into a new lower-cased string: a host
 * ("op.example.com") or, with a leading dot, a domain (".example.com").
 * One trailing dot is dropped.  NULL when malformed.
 */
static char *
nc_parse(const json_t *j)
{
	const char	*s;
	char		*c;
	size_t		 len, i, start;

	if (!json_is_string(j))
		return NULL;
	s = json_string_value(j);
	len = json_string_length(j);
	if (len == 0 || len > MAX_ENTITY_ID || strlen(s) != len)
		return NULL;
	c = xstrdup(s);
	for (i = 0; i < len; i++) {
		if (c[i] >= 'A' && c[i] <= 'Z')
			c[i] = (char)(c[i] - 'A' + 'a');
		else if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') ||
		    c[i] == '-' || c[i] == '.' || c[i] == '_'))
			goto bad;
	}
	if (len > 1 && c[len - 1] == '.')
		c[--len] = '\0';
	start = c[0] == '.' ? 1 : 0;
	if (len == start || c[start] == '.' || c[len - 1] == '.' || strstr(c, "..") != NULL)
		goto bad;
	return c;
bad:
	free(c);
	return NULL;
}

/* 1 when host matches constraint c (a leading dot: one or more labels more). */
static int
nc_match(const char *c, const char *host, int ip)
{
	size_t	 cl = strlen(c), hl = strlen(host);

	if (c[0] != '.')
		return strcmp(c, host) == 0;
	if (ip)
		return 0;	/* a domain never covers an IP address */
	return hl > cl && strcmp(host + hl - cl, c) == 0;
}

/* Parse the names of list name of naming_constraints nc into *out (NULL when absent).  0 / -1. */
static int
nc_list(const json_t *nc, const char *name, char ***out, size_t *outsz, struct verdict *v)
{
	const json_t	*a = json_object_get(nc, name);
	json_t		*m;
	size_t		 i;

	*out = NULL;
	*outsz = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return verdict_set(v, R_JWT_CLAIM, "naming_constraints.%s is not an array", name);
	json_array_foreach(a, i, m) {
		*out = xreallocarray(*out, *outsz + 1, sizeof(**out));
		if (((*out)[*outsz] = nc_parse(m)) == NULL)
			return verdict_set(v, R_JWT_CLAIM, "naming_constraints.%s member %zu is "
			    "not a host or .domain name", name, i);
		(*outsz)++;
	}
	return 0;
}

/* Free a list from nc_list (NULL-safe). */
static void
nc_free(char **l, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/*
 * naming_constraints: each of ids[0..n) must not match an excluded name
 * and, when permitted is present (even empty), must match a permitted one.
 * 0 / -1 with v (R_JWT_CLAIM malformed, R_CHAIN_CONSTRAINT violated).
 */
static int
naming_check(const json_t *nc, const char *const *ids, size_t n, struct verdict *v)
{
	char	**perm = NULL, **excl = NULL, host[MAX_ENTITY_ID + 1], sid[128];
	size_t	 permsz = 0, exclsz = 0, i, j;
	int	 rc = -1, ip, ok;

	if (!json_is_object(nc)) {
		verdict_set(v, R_JWT_CLAIM, "naming_constraints is not an object");
		goto out;
	}
	if (nc_list(nc, "permitted", &perm, &permsz, v) == -1 ||
	    nc_list(nc, "excluded", &excl, &exclsz, v) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (ids[i] == NULL) {
			verdict_set(v, R_CHAIN_CONSTRAINT, "naming_constraints: no entity id");
			goto out;
		}
		log_sanitize(ids[i], strlen(ids[i]), sid, sizeof(sid));
		if (id_host(ids[i], host, sizeof(host), &ip) == -1) {
			verdict_set(v, R_CHAIN_CONSTRAINT, "naming_constraints: entity id %s has "
			    "no usable host", sid);
			goto out;
		}
		for (j = 0; j < exclsz; j++)
			if (nc_match(excl[j], host, ip)) {
				verdict_set(v, R_CHAIN_CONSTRAINT, "naming_constraints: %s is "
				    "excluded by \"%s\"", sid, excl[j]);
				goto out;
			}
		if (json_object_get(nc, "permitted") == NULL)
			continue;
		for (ok = 0, j = 0; j < permsz && !ok; j++)
			ok = nc_match(perm[j], host, ip);
		if (!ok) {
			verdict_set(v, R_CHAIN_CONSTRAINT, "naming_constraints: %s is not within "
			    "the permitted names", sid);
			goto out;
		}
	}
	rc = 0;
out:
	nc_free(perm, permsz);
	nc_free(excl, exclsz);
	return rc;
}

/*
 * allowed_entity_types of constraints c into *out (borrowed; NULL when
 * absent).  0 / -1 with v (R_JWT_CLAIM).
 */
static int
types_parse(const json_t *c, const json_t **out, struct verdict *v)
{
	const json_t	*a = json_object_get(c, "allowed_entity_types");
	json_t		*m;
	size_t		 i;

	*out = NULL;
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return verdict_set(v, R_JWT_CLAIM, "allowed_entity_types is not an array");
	json_array_foreach(a, i, m) {
		if (!json_is_string(m) || json_string_length(m) == 0 ||
		    strlen(json_string_value(m)) != json_string_length(m))
			return verdict_set(v, R_JWT_CLAIM,
			    "allowed_entity_types member %zu is not an entity type name", i);
		if (strcmp(json_string_value(m), "federation_entity") == 0)
			return verdict_set(v, R_JWT_CLAIM, "allowed_entity_types must not list "
			    "federation_entity (it is always allowed)");
	}
	*out = a;
	return 0;
}

/*
 * One statement's constraints: syntax of the parameters we know first
 * (R_JWT_CLAIM), then max_path_length and naming_constraints
 * (R_CHAIN_CONSTRAINT).  Unknown parameters are ignored.  0 / -1 with v.
 */
int
oidf_constraints_check(const json_t *c, const char *const *ids, size_t n, size_t intermediates,
    struct verdict *v)
{
	const json_t	*mpl, *nc, *types;

	if (c == NULL)
		return 0;
	if (!json_is_object(c))
		return verdict_set(v, R_JWT_CLAIM, "constraints is not an object");
	/* every parameter we know is checked for syntax before any is applied */
	mpl = json_object_get(c, "max_path_length");
	if (mpl != NULL && (!json_is_integer(mpl) || json_integer_value(mpl) < 0))
		return verdict_set(v, R_JWT_CLAIM, "max_path_length is not an integer >= 0");
	if (types_parse(c, &types, v) == -1)
		return -1;
	if (mpl != NULL && (uintmax_t)intermediates > (uintmax_t)json_integer_value(mpl))
		return verdict_set(v, R_CHAIN_CONSTRAINT, "max_path_length %lld exceeded: %zu "
		    "intermediates between the constraining issuer and the subject",
		    (long long)json_integer_value(mpl), intermediates);
	if ((nc = json_object_get(c, "naming_constraints")) != NULL)
		return naming_check(nc, ids, n, v);
	return 0;
}

/*
 * Remove from metadata every entity type that allowed_entity_types does not
 * list; federation_entity always stays.  0 / -1 with v (R_JWT_CLAIM).
 */
int
oidf_constraints_types(const json_t *c, json_t *metadata, struct verdict *v)
{
	const json_t	*types;
	const char	*k;
	json_t		*val, *m;
	void		*tmp;
	size_t		 i, klen;
	int		 keep;

	if (c == NULL)
		return 0;
	if (!json_is_object(c))
		return verdict_set(v, R_JWT_CLAIM, "constraints is not an object");
	if (types_parse(c, &types, v) == -1)
		return -1;
	if (types == NULL || metadata == NULL)
		return 0;
	if (!json_is_object(metadata))
		return verdict_set(v, R_JWT_CLAIM, "metadata is not an object");
	/* by key length too: a name with a NUL in it is never an allowed type */
	json_object_keylen_foreach_safe(metadata, tmp, k, klen, val) {
		keep = klen == strlen("federation_entity") && strcmp(k, "federation_entity") == 0;
		json_array_foreach(types, i, m)
			if (!keep && json_string_length(m) == klen &&
			    memcmp(json_string_value(m), k, klen) == 0)
				keep = 1;
		if (!keep)
			json_object_deln(metadata, k, klen);
	}
	return 0;
}
