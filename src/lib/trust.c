/*
 * libfedtrust: what a consumer trusts (issuer, list, pinned operator keys)
 * and head verification (bundle-format.md 4.9 steps 6-9), plus the claim
 * helpers shared with bundle verification.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "lib/bundlep.h"

/* ------------------------------------------------------------ helpers */

int
fedtrustp_is_b64u256(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	/* 43 characters carry 258 bits: the last one must leave 2 zero bits. */
	return i == 43 && strchr("AEIMQUYcgkosw048", s[42]) != NULL;
}

int
fedtrustp_get_int(const json_t *obj, const char *what, const char *name, int required,
    int64_t min, int64_t max, int64_t *out, struct fedtrust_error *err)
{
	json_t		*v = json_object_get(obj, name);
	json_int_t	 n;

	if (v == NULL) {
		if (!required)
			return 0;
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "%s: \"%s\" is missing",
		    what, name);
	}
	if (!json_is_integer(v))
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "%s: \"%s\" is not an integer",
		    what, name);
	n = json_integer_value(v);
	if (n < min || n > max)
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "%s: \"%s\" = %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]",
		    what, name, (int64_t)n, min, max);
	*out = n;
	return 1;
}

int
fedtrustp_get_str(const json_t *obj, const char *what, const char *name, int required,
    const char **out, struct fedtrust_error *err)
{
	json_t	*v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "%s: \"%s\" is missing",
		    what, name);
	}
	if (!json_is_string(v))
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "%s: \"%s\" is not a string",
		    what, name);
	*out = json_string_value(v);
	return 1;
}

int
fedtrustp_check_times(const char *what, int64_t iat, int64_t exp, time_t now, long leeway,
    int64_t maxlife, struct fedtrust_error *err)
{
	if (iat > (int64_t)now + leeway)
		return fedtrustp_error_set(err, FEDTRUST_E_NOT_YET_VALID,
		    "%s iat %" PRId64 " is %" PRId64 " s in the future (leeway %ld s)", what,
		    iat, iat - (int64_t)now, leeway);
	if ((int64_t)now >= exp)
		return fedtrustp_error_set(err, FEDTRUST_E_EXPIRED,
		    "%s expired %" PRId64 " s ago (exp %" PRId64 ")", what,
		    (int64_t)now - exp, exp);
	if (exp <= iat)
		return fedtrustp_error_set(err, FEDTRUST_E_LIFETIME,
		    "%s exp %" PRId64 " is not after iat %" PRId64, what, exp, iat);
	if (exp - iat > maxlife)
		return fedtrustp_error_set(err, FEDTRUST_E_LIFETIME,
		    "%s lifetime exp - iat = %" PRId64 " s is over %" PRId64 " s", what,
		    exp - iat, maxlife);
	return 0;
}

int
fedtrustp_check_iss_list(const struct fedtrust_trust *t, const json_t *payload,
    const char *what, struct fedtrust_error *err)
{
	const char	*s;
	char		 buf[80];

	if (fedtrustp_get_str(payload, what, "iss", 1, &s, err) == -1)
		return -1;
	if (strcmp(s, t->iss) != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "%s iss \"%s\" is not the configured issuer", what,
		    fedtrustp_sanitize(s, strlen(s), buf, sizeof(buf)));
	if (fedtrustp_get_str(payload, what, "list", 1, &s, err) == -1)
		return -1;
	if (strcmp(s, t->list) != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "%s list \"%s\" is not the configured list \"%s\"", what,
		    fedtrustp_sanitize(s, strlen(s), buf, sizeof(buf)), t->list);
	return 0;
}

/* ------------------------------------------------------------ trust */

/* 1 when name is a list name [a-z0-9][a-z0-9-]{0,63}. */
static int
list_name_ok(const char *name)
{
	size_t	 i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    (name[i] == '-' && i > 0)))
			return 0;
	return i >= 1 && i <= 64;
}

/* New trust settings (see fedtrust.h); caller frees. */
struct fedtrust_trust *
fedtrust_trust_new(const char *iss, const char *list, struct fedtrust_error *err)
{
	struct fedtrust_trust	*t;

	fedtrustp_error_clear(err);
	if (iss == NULL || iss[0] == '\0' || list == NULL || !list_name_ok(list)) {
		fedtrustp_error_set(err, FEDTRUST_E_ARG,
		    "trust: issuer must be set and list match [a-z0-9][a-z0-9-]{0,63}");
		return NULL;
	}
	if ((t = fedtrustp_calloc(1, sizeof(*t))) == NULL)
		goto nomem;
	t->leeway = FEDTRUSTP_MAX_LEEWAY;
	t->max_bundle = FEDTRUSTP_DEFAULT_BUNDLE_BYTES;
	if ((t->iss = fedtrustp_strdup(iss)) == NULL ||
	    (t->list = fedtrustp_strdup(list)) == NULL)
		goto nomem;
	if ((t->keys = fedtrustp_keyset_new(err)) == NULL) {
		fedtrust_trust_free(t);
		return NULL;
	}
	return t;
 nomem:
	fedtrust_trust_free(t);
	fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "trust: out of memory");
	return NULL;
}

int
fedtrust_trust_add_key_file(struct fedtrust_trust *t, const char *path,
    struct fedtrust_error *err)
{
	fedtrustp_error_clear(err);
	if (t == NULL || path == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "trust: no trust or path");
	return fedtrustp_keyset_add_file(t->keys, path, err);
}

int
fedtrust_trust_add_key_json(struct fedtrust_trust *t, const char *json, size_t len,
    struct fedtrust_error *err)
{
	fedtrustp_error_clear(err);
	if (t == NULL || json == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "trust: no trust or JSON");
	return fedtrustp_keyset_add_json(t->keys, json, len, err);
}

/* Leeway is clamped to [0, 60] s (bundle-format.md 4.9 step 1). */
void
fedtrust_trust_set_leeway(struct fedtrust_trust *t, long seconds)
{
	if (t == NULL)
		return;
	if (seconds < 0)
		seconds = 0;
	if (seconds > FEDTRUSTP_MAX_LEEWAY)
		seconds = FEDTRUSTP_MAX_LEEWAY;
	t->leeway = seconds;
}

/* 0 restores the default of 64 MiB. */
void
fedtrust_trust_set_max_bundle_bytes(struct fedtrust_trust *t, size_t max)
{
	if (t != NULL)
		t->max_bundle = max == 0 ? FEDTRUSTP_DEFAULT_BUNDLE_BYTES : max;
}

size_t
fedtrust_trust_key_count(const struct fedtrust_trust *t)
{
	return t == NULL ? 0 : t->keys->n;
}

void
fedtrust_trust_free(struct fedtrust_trust *t)
{
	if (t == NULL)
		return;
	fedtrustp_keyset_free(t->keys);
	fedtrustp_free(t->iss);
	fedtrustp_free(t->list);
	fedtrustp_free(t);
}

/* ------------------------------------------------------------ head */

/* Members of a head payload into out (4.7). 0 / -1 (FEDTRUST_E_CLAIMS). */
static int
head_members(const json_t *p, struct fedtrust_head *out, struct fedtrust_error *err)
{
	const char	*s;
	int64_t		 n;

	memset(out, 0, sizeof(*out));
	if (fedtrustp_get_int(p, "head", "iat", 1, 0, FEDTRUSTP_MAX_JSON_INT, &out->iat,
	    err) == -1 ||
	    fedtrustp_get_int(p, "head", "exp", 1, 0, FEDTRUSTP_MAX_JSON_INT, &out->exp,
	    err) == -1 ||
	    fedtrustp_get_int(p, "head", "seq", 1, 1, FEDTRUSTP_MAX_JSON_INT, &n, err) == -1)
		return -1;
	out->seq = (uint64_t)n;
	if (fedtrustp_get_int(p, "head", "blen", 1, 1, FEDTRUSTP_MAX_JSON_INT, &n, err) == -1)
		return -1;
	out->blen = (uint64_t)n;
	if (fedtrustp_get_int(p, "head", "bexp", 1, 0, FEDTRUSTP_MAX_JSON_INT, &out->bexp,
	    err) == -1)
		return -1;
	if (fedtrustp_get_str(p, "head", "bdig", 1, &s, err) == -1)
		return -1;
	if (!fedtrustp_is_b64u256(s))
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "head: \"bdig\" is not a base64url SHA-256");
	memcpy(out->bdig, s, 44);
	if (fedtrustp_get_str(p, "head", "burl", 1, &s, err) == -1)
		return -1;
	if (s[0] == '\0' || strlen(s) >= sizeof(out->burl))
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "head: \"burl\" is empty or longer than %zu bytes", sizeof(out->burl) - 1);
	memcpy(out->burl, s, strlen(s) + 1);
	return 0;
}

/*
 * Verify a head (4.9 steps 6-9).  FEDTRUST_HEAD_CURRENT or _NEWER with out
 * filled, or -1 with err; out is only meaningful on success.
 */
int
fedtrust_head_verify(const struct fedtrust_trust *t, const char *jws, size_t len, time_t now,
    const struct fedtrust_state *st, struct fedtrust_head *out, struct fedtrust_error *err)
{
	unsigned char		*pl = NULL;
	size_t			 pllen;
	json_t			*p = NULL;
	struct fedtrust_head	 h;
	int			 rc = -1;

	fedtrustp_error_clear(err);
	if (t == NULL || jws == NULL || out == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "head: missing argument");
	/* Step 6-7: size, strict compact JWS, header, pinned key, signature. */
	if (len > FEDTRUSTP_MAX_HEAD_BYTES)
		return fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE,
		    "head of %zu bytes is over the cap of %d", len, FEDTRUSTP_MAX_HEAD_BYTES);
	if (fedtrustp_jws_verify(jws, len, t->keys, FEDTRUSTP_TYP_HEAD,
	    FEDTRUSTP_MAX_HEAD_BYTES, &pl, &pllen, err) == -1)
		goto out;
	/* Step 8: strict JSON, claims, times, the stored head iat floor. */
	if ((p = fedtrustp_json_parse(pl, pllen, pllen, FEDTRUSTP_MAX_JSON_DEPTH,
	    err)) == NULL)
		goto out;
	if (!json_is_object(p)) {
		fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "head payload is not a JSON object");
		goto out;
	}
	if (json_object_get(p, "crit") != NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "head has \"crit\": v1 understands no critical extension");
		goto out;
	}
	if (fedtrustp_check_iss_list(t, p, "head", err) == -1 ||
	    head_members(p, &h, err) == -1 ||
	    fedtrustp_check_times("head", h.iat, h.exp, now, t->leeway,
	    FEDTRUSTP_MAX_HEAD_LIFE, err) == -1)
		goto out;
	if (st != NULL && h.iat < st->head_iat) {
		fedtrustp_error_set(err, FEDTRUST_E_ROLLBACK,
		    "head iat %" PRId64 " is older than the stored head iat %" PRId64,
		    h.iat, st->head_iat);
		goto out;
	}
	/* Step 9: seq against the applied bundle. */
	if (st != NULL && h.seq < st->seq) {
		fedtrustp_error_set(err, FEDTRUST_E_ROLLBACK,
		    "head seq %" PRIu64 " is older than the applied seq %" PRIu64,
		    h.seq, st->seq);
		goto out;
	}
	if (st != NULL && h.seq == st->seq) {
		if (strncmp(h.bdig, st->bdig, sizeof(st->bdig)) != 0) {
			fedtrustp_error_set(err, FEDTRUST_E_EQUIVOCATION,
			    "head seq %" PRIu64 " names another bundle than the applied one",
			    h.seq);
			goto out;
		}
		rc = FEDTRUST_HEAD_CURRENT;
	} else
		rc = FEDTRUST_HEAD_NEWER;
	*out = h;
 out:
	json_decref(p);
	fedtrustp_free(pl);
	return rc;
}
