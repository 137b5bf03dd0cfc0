/*
 * The bundle's "revoked" member (bundle-format.md 4.3): recent revocations
 * with the key and certificate thumbprints the revoked entity had.  A
 * revoked entity is already absent from "entities"; this list lets a
 * gateway drop what it cached from earlier bundles (sessions, keys,
 * certificates) at once.  Checked strictly: a malformed member rejects the
 * bundle like any other structure error.
 */
#include <string.h>

#include <jansson.h>

#include "fedtrust/fedtrust.h"
#include "lib/bundlep.h"

/* Every member of one thumbprint array is an encoded SHA-256. 0 / -1. */
static int
thumbs_check(const json_t *r, const char *name, size_t i, const json_t **out,
    struct fedtrust_error *err)
{
	const json_t	*a = json_object_get(r, name), *v;
	size_t		 j;

	*out = a;
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "revoked[%zu]: \"%s\" is not an array", i, name);
	json_array_foreach(a, j, v)
		if (!json_is_string(v) || !fedtrustp_is_b64u256(json_string_value(v)))
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "revoked[%zu]: \"%s\"[%zu] is not a SHA-256 thumbprint", i, name, j);
	return 0;
}

/* One record into out. 0 / -1. */
static int
record_check(const json_t *r, size_t i, struct fedtrust_revoked *out, struct fedtrust_error *err)
{
	int64_t	 at;
	char	 what[32];

	snprintf(what, sizeof(what), "revoked[%zu]", i);
	if (!json_is_object(r))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s is not an object", what);
	if (fedtrustp_get_str(r, what, "id", 1, &out->id, err) == -1 ||
	    fedtrustp_get_str(r, what, "proto", 1, &out->proto, err) == -1 ||
	    fedtrustp_get_str(r, what, "src", 1, &out->src, err) == -1 ||
	    fedtrustp_get_str(r, what, "reason", 1, &out->reason, err) == -1 ||
	    fedtrustp_get_int(r, what, "at", 1, 0, FEDTRUSTP_MAX_JSON_INT, &at, err) == -1) {
		err->code = FEDTRUST_E_BUNDLE;
		return -1;
	}
	out->at = (time_t)at;
	if (thumbs_check(r, "jkt", i, &out->jkt, err) == -1 ||
	    thumbs_check(r, "x5t#S256", i, &out->x5t, err) == -1)
		return -1;
	return 0;
}

int
fedtrustp_revoked_parse(struct fedtrust_bundle *b, struct fedtrust_error *err)
{
	const json_t	*a = json_object_get(b->payload, "revoked"), *r;
	size_t		 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "\"revoked\" is not an array");
	if (json_array_size(a) == 0)
		return 0;
	if ((b->revs = fedtrustp_calloc(json_array_size(a), sizeof(*b->revs))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "bundle: out of memory");
	json_array_foreach(a, i, r) {
		if (record_check(r, i, &b->revs[i], err) == -1)
			return -1;
		b->nrevs++;
	}
	return 0;
}

size_t
fedtrust_bundle_revoked_count(const struct fedtrust_bundle *b)
{
	return b != NULL ? b->nrevs : 0;
}

const struct fedtrust_revoked *
fedtrust_bundle_revoked_at(const struct fedtrust_bundle *b, size_t i)
{
	return b != NULL && i < b->nrevs ? &b->revs[i] : NULL;
}

const char *
fedtrust_revoked_id(const struct fedtrust_revoked *r)
{
	return r->id;
}

const char *
fedtrust_revoked_proto(const struct fedtrust_revoked *r)
{
	return r->proto;
}

const char *
fedtrust_revoked_reason(const struct fedtrust_revoked *r)
{
	return r->reason;
}

time_t
fedtrust_revoked_time(const struct fedtrust_revoked *r)
{
	return r->at;
}

size_t
fedtrust_revoked_key_count(const struct fedtrust_revoked *r)
{
	return r->jkt != NULL ? json_array_size(r->jkt) : 0;
}

const char *
fedtrust_revoked_key(const struct fedtrust_revoked *r, size_t i)
{
	return r->jkt != NULL ? json_string_value(json_array_get(r->jkt, i)) : NULL;
}

size_t
fedtrust_revoked_cert_count(const struct fedtrust_revoked *r)
{
	return r->x5t != NULL ? json_array_size(r->x5t) : 0;
}

const char *
fedtrust_revoked_cert(const struct fedtrust_revoked *r, size_t i)
{
	return r->x5t != NULL ? json_string_value(json_array_get(r->x5t, i)) : NULL;
}

/* 1 when thumb is in the string array a. */
static int
in_array(const json_t *a, const char *thumb)
{
	const json_t	*v;
	size_t		 i;

	if (a == NULL)
		return 0;
	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), thumb) == 0)
			return 1;
	return 0;
}

const struct fedtrust_revoked *
fedtrust_bundle_revoked_thumbprint(const struct fedtrust_bundle *b, const char *thumb)
{
	size_t	 i;

	if (b == NULL || thumb == NULL)
		return NULL;
	for (i = 0; i < b->nrevs; i++)
		if (in_array(b->revs[i].jkt, thumb) || in_array(b->revs[i].x5t, thumb))
			return &b->revs[i];
	return NULL;
}
