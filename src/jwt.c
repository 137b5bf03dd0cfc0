/*
 * Third-party JWS (docs/jws-sources.md): OpenID Federation statements, trust
 * marks and signed JWK Sets written by others.  Strict compact parsing over
 * the library's base64url and JSON, explicit typ, the algorithm decided by
 * the key's type, keys only from a set the caller trusts (never from the
 * header), JWK Sets of public keys only.  Nothing here fetches; only
 * jwkset_load_file reads a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "extern.h"
#include "lib/private.h"

/* The header algorithms a third-party JWS may use, and the library's alg for each. */
static const struct jws_alg {
	const char	*name;
	int		 alg;		/* enum fedtrustp_alg */
} jws_algs[] = {
	{ "RS256", FEDTRUSTP_ALG_RS256 },
	{ "PS256", FEDTRUSTP_ALG_PS256 },
	{ "ES256", FEDTRUSTP_ALG_ES256 },
	{ "ES384", FEDTRUSTP_ALG_ES384 },
	{ "ES512", FEDTRUSTP_ALG_ES512 },
	{ "Ed25519", FEDTRUSTP_ALG_ED25519 },
	{ "EdDSA", FEDTRUSTP_ALG_ED25519 },	/* RFC 8037; only Ed25519 keys exist here */
};

/* Members only a private or symmetric JWK has (RFC 7518 section 6). */
static const char *const jwk_private[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

/* The reason code of a library error (its text goes into the detail). */
static enum reason
lib_reason(const struct fedtrust_error *err)
{
	switch (err->code) {
	case FEDTRUST_E_JSON:
		return R_JSON_INVALID;
	case FEDTRUST_E_JWS_MALFORMED:
	case FEDTRUST_E_TOO_LARGE:
		return R_JWS_MALFORMED;
	case FEDTRUST_E_KEY:
		return R_JWS_KEY;
	case FEDTRUST_E_JWS_SIG:
		return R_JWS_SIG;
	default:
		return R_INTERNAL;
	}
}

/* Escaped copy of a JSON string member for a verdict line. */
static const char *
san(const char *s, char *buf, size_t bufsz)
{
	return log_sanitize(s, strlen(s), buf, bufsz);
}

/* ------------------------------------------------------------ JWK sets */

/* 1 when a JWK is of a type the library reads (EC P-256/384/521, RSA, OKP Ed25519). */
static int
jwk_supported(const json_t *jwk)
{
	const char	*kty, *crv;

	kty = json_string_value(json_object_get(jwk, "kty"));
	crv = json_string_value(json_object_get(jwk, "crv"));
	if (kty == NULL)
		return 0;
	if (strcmp(kty, "RSA") == 0)
		return 1;
	if (strcmp(kty, "EC") == 0)
		return crv != NULL && (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-384") == 0 ||
		    strcmp(crv, "P-521") == 0);
	if (strcmp(kty, "OKP") == 0)
		return crv != NULL && strcmp(crv, "Ed25519") == 0;
	return 0;
}

/*
 * Structure of one JWK before anything is decoded: an object, no private
 * member, kid/alg/use strings when present (kid non-empty), key_ops an
 * array of strings.  0 / -1 with v (R_JWS_KEY).
 */
static int
jwk_check_members(const json_t *jwk, size_t i, struct verdict *v)
{
	static const char *const strs[] = { "kid", "alg", "use" };
	json_t		*m, *op;
	size_t		 k, n;

	if (!json_is_object(jwk))
		return verdict_set(v, R_JWS_KEY, "JWK Set key %zu is not a JSON object", i);
	/* Checked on every key, also those skipped: a set that leaks one is never used. */
	for (k = 0; k < sizeof(jwk_private) / sizeof(jwk_private[0]); k++)
		if (json_object_get(jwk, jwk_private[k]) != NULL)
			return verdict_set(v, R_JWS_KEY,
			    "JWK Set key %zu has the private member \"%s\"", i, jwk_private[k]);
	for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		m = json_object_get(jwk, strs[k]);
		if (m != NULL && (!json_is_string(m) || json_string_length(m) == 0))
			return verdict_set(v, R_JWS_KEY,
			    "JWK Set key %zu: \"%s\" is not a non-empty string", i, strs[k]);
	}
	if ((m = json_object_get(jwk, "key_ops")) != NULL) {
		if (!json_is_array(m))
			return verdict_set(v, R_JWS_KEY, "JWK Set key %zu: key_ops is not an array", i);
		json_array_foreach(m, n, op)
			if (!json_is_string(op))
				return verdict_set(v, R_JWS_KEY,
				    "JWK Set key %zu: key_ops holds a non-string", i);
	}
	return 0;
}

/* 1 when the string array arr holds s. */
static int
json_strv_has(const json_t *arr, const char *s)
{
	const json_t	*m;
	size_t		 i;

	json_array_foreach(arr, i, m)
		if (json_is_string(m) && strcmp(json_string_value(m), s) == 0)
			return 1;
	return 0;
}

/* A copy of the string member name of jwk, or NULL when absent. Caller frees. */
static char *
member_dup(const json_t *jwk, const char *name)
{
	const char	*s = json_string_value(json_object_get(jwk, name));

	return s != NULL ? xstrdup(s) : NULL;
}

/* Fill e from a checked, supported JWK (i is its index, for messages). 0 / -1 with v. */
static int
jwk_entry_make(struct jwk_entry *e, json_t *jwk, size_t i, struct verdict *v)
{
	struct fedtrust_error	 err;
	const json_t		*ops;
	char			 kb[80];

	memset(e, 0, sizeof(*e));
	e->kid = member_dup(jwk, "kid");
	e->alg = member_dup(jwk, "alg");
	e->use = member_dup(jwk, "use");
	ops = json_object_get(jwk, "key_ops");
	e->verify_ok = (e->use == NULL || strcmp(e->use, "sig") == 0) &&
	    (ops == NULL || json_strv_has(ops, "verify"));
	if (fedtrustp_jwk_to_pkey(jwk, &e->pkey, &err) == -1 ||
	    fedtrustp_jwk_thumbprint(jwk, e->jkt, &err) == -1) {
		verdict_set(v, lib_reason(&err), "JWK Set key %zu%s%s%s: %s", i,
		    e->kid ? " \"" : "", e->kid ? san(e->kid, kb, sizeof(kb)) : "",
		    e->kid ? "\"" : "", err.text);
		return -1;
	}
	e->jwk = json_incref(jwk);
	return 0;
}

/* Free the members of one key, not the entry. */
static void
jwk_entry_free(struct jwk_entry *e)
{
	free(e->kid);
	free(e->alg);
	free(e->use);
	EVP_PKEY_free(e->pkey);
	json_decref(e->jwk);
	memset(e, 0, sizeof(*e));
}

void
jwkset_free(struct jwkset *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		jwk_entry_free(&set->keys[i]);
	free(set->keys);
	memset(set, 0, sizeof(*set));
}

/* 1 when key i of the array keys is an exact repeat of an earlier one. */
static int
repeated_jwk(const json_t *keys, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (json_equal(json_array_get(keys, j), json_array_get(keys, i)))
			return 1;
	return 0;
}

/*
 * Parse a JWK Set (see extern.h).  Every key is checked for private
 * members and duplicate kids, also the ones skipped as unsupported, so a
 * kid always names at most one key of the set as published.  A set whose
 * keys are all skipped comes back empty (0): the caller decides.
 */
int
jwkset_from_json(struct jwkset *set, const json_t *obj, unsigned flags, struct verdict *v)
{
	const json_t	*keys, *k, *k2;
	const char	*kid, *kty, *crv;
	size_t		 i, j, n;
	char		 kb[80], tb[40];

	memset(set, 0, sizeof(*set));
	if (!json_is_object(obj))
		return verdict_set(v, R_JWS_KEY, "JWK Set is not a JSON object");
	keys = json_object_get(obj, "keys");
	if (!json_is_array(keys))
		return verdict_set(v, R_JWS_KEY, "JWK Set has no \"keys\" array");
	if ((n = json_array_size(keys)) == 0)
		return verdict_set(v, R_JWS_KEY, "JWK Set has no keys");
	if (n > MAX_JWKS_KEYS)
		return verdict_set(v, R_JWS_KEY, "JWK Set has %zu keys (at most %d)", n,
		    MAX_JWKS_KEYS);
	json_array_foreach(keys, i, k) {
		if (jwk_check_members(k, i, v) == -1)
			return -1;
		if ((kid = json_string_value(json_object_get(k, "kid"))) == NULL)
			continue;
		for (j = 0; j < i; j++) {
			k2 = json_array_get(keys, j);
			/* the same JWK listed twice is one key; two keys under one kid are not */
			if (json_equal(json_object_get(k2, "kid"), json_object_get(k, "kid")) &&
			    !json_equal(k2, k))
				return verdict_set(v, R_JWS_KEY,
				    "JWK Set has the kid \"%s\" twice (keys %zu and %zu)",
				    san(kid, kb, sizeof(kb)), j, i);
		}
	}
	set->keys = xcalloc(n, sizeof(*set->keys));
	json_array_foreach(keys, i, k) {
		if (repeated_jwk(keys, i))
			continue;
		if (!jwk_supported(k)) {
			if (flags & JWKS_SKIP_UNSUPPORTED)
				continue;
			kty = json_string_value(json_object_get(k, "kty"));
			crv = json_string_value(json_object_get(k, "crv"));
			jwkset_free(set);
			return verdict_set(v, R_JWS_KEY, "JWK Set key %zu: kty %s (crv %s) is not "
			    "EC P-256/P-384/P-521, RSA or Ed25519", i,
			    kty != NULL ? san(kty, kb, sizeof(kb)) : "none",
			    crv != NULL ? san(crv, tb, sizeof(tb)) : "none");
		}
		if (jwk_entry_make(&set->keys[set->n], (json_t *)k, i, v) == -1) {
			jwk_entry_free(&set->keys[set->n]);
			jwkset_free(set);
			return -1;
		}
		set->n++;
	}
	return 0;
}

/*
 * Load an anchor file (a JWK Set or one JWK, strict JSON) and append its
 * keys to set, which is zeroed or holds the keys of earlier files.  A kid
 * already in set rejects the file and leaves set unchanged.  0 / -1 with v
 * (R_INTERNAL unreadable, R_JSON_INVALID, R_JWS_KEY).
 */
int
jwkset_load_file(struct jwkset *set, const char *file, struct verdict *v)
{
	struct fedtrust_error	 err;
	struct jwkset		 add;
	unsigned char		*buf = NULL;
	size_t			 len, i;
	json_t			*doc = NULL, *wrap = NULL;
	char			 fb[160], kb[80], d[sizeof(v->detail)];
	int			 rc = -1;

	memset(&add, 0, sizeof(add));
	log_sanitize(file, strlen(file), fb, sizeof(fb));
	if (read_file(file, FEDTRUSTP_MAX_KEYFILE, &buf, &len) == -1)
		return verdict_set(v, R_INTERNAL, "%s: %s", fb,
		    errno == EFBIG ? "anchor file too large" : strerror(errno));
	if ((doc = fedtrustp_json_parse(buf, len, FEDTRUSTP_MAX_KEYFILE, FEDTRUSTP_MAX_JSON_DEPTH,
	    &err)) == NULL) {
		verdict_set(v, R_JSON_INVALID, "%s: not a JWK or JWK Set: %s", fb, err.text);
		goto out;
	}
	if (json_object_get(doc, "keys") == NULL && json_is_object(doc))
		wrap = json_pack("{s:[O]}", "keys", doc);
	if (jwkset_from_json(&add, wrap != NULL ? wrap : doc, 0, v) == -1) {
		snprintf(d, sizeof(d), "%s", v->detail);
		verdict_set(v, v->reason, "%s: %.400s", fb, d);
		goto out;
	}
	for (i = 0; i < add.n; i++)
		if (add.keys[i].kid != NULL && jwkset_find_kid(set, add.keys[i].kid) != NULL) {
			verdict_set(v, R_JWS_KEY, "%s: kid \"%s\" is already in an earlier anchor file",
			    fb, san(add.keys[i].kid, kb, sizeof(kb)));
			goto out;
		}
	set->keys = xreallocarray(set->keys, set->n + add.n, sizeof(*set->keys));
	memcpy(set->keys + set->n, add.keys, add.n * sizeof(*add.keys));
	set->n += add.n;
	add.n = 0;
	rc = 0;
 out:
	jwkset_free(&add);
	json_decref(wrap);
	json_decref(doc);
	free(buf);
	return rc;
}

const struct jwk_entry *
jwkset_find_kid(const struct jwkset *set, const char *kid)
{
	size_t	 i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (set->keys[i].kid != NULL && strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}

/* 1 when every key of a has the thumbprint of a key of b. */
static int
jwkset_within(const struct jwkset *a, const struct jwkset *b)
{
	size_t	 i, j;

	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->keys[i].jkt, b->keys[j].jkt) == 0)
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}

int
jwkset_same(const struct jwkset *a, const struct jwkset *b)
{
	return jwkset_within(a, b) && jwkset_within(b, a);
}

/* ------------------------------------------------------------ compact JWS */

void
jws_free(struct jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->header);
	json_decref(j->payload);
	fedtrustp_free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* A media type without its optional "application/" prefix (RFC 7515 4.1.9). */
static const char *
typ_bare(const char *t)
{
	return strncasecmp(t, "application/", 12) == 0 ? t + 12 : t;
}

/*
 * Header rules (JWS-03..05, 11): members only alg, kid and typ; alg on the
 * allow-list; typ equal to want (media-type comparison) or absent when
 * flags allow; kid a non-empty string.  0 / -1 with v.
 */
static int
jws_header_check(struct jws *j, const char *want, unsigned flags, struct verdict *v)
{
	const char	*k, *s;
	json_t		*m;
	size_t		 i;
	char		 b[80];

	json_object_foreach(j->header, k, m)
		if (strcmp(k, "alg") != 0 && strcmp(k, "kid") != 0 && strcmp(k, "typ") != 0)
			return verdict_set(v, R_JWS_HEADER,
			    "JWS header member \"%s\" is not allowed (only alg, kid, typ)",
			    san(k, b, sizeof(b)));

	m = json_object_get(j->header, "alg");
	if (!json_is_string(m))
		return verdict_set(v, R_JWS_ALG, "JWS header alg is %s",
		    m == NULL ? "missing" : "not a string");
	s = json_string_value(m);
	for (i = 0; i < sizeof(jws_algs) / sizeof(jws_algs[0]); i++)
		if (strcmp(s, jws_algs[i].name) == 0)
			break;
	if (i == sizeof(jws_algs) / sizeof(jws_algs[0]))
		return verdict_set(v, R_JWS_ALG, "JWS alg \"%s\" is not allowed (RS256, PS256, "
		    "ES256, ES384, ES512, Ed25519, EdDSA)", san(s, b, sizeof(b)));
	j->alg = jws_algs[i].alg;

	m = json_object_get(j->header, "typ");
	if (m == NULL) {
		if (!(flags & JWS_UNTYPED_OK))
			return verdict_set(v, R_JWS_TYP, "JWS typ missing (expected %s)", want);
	} else if (!json_is_string(m))
		return verdict_set(v, R_JWS_TYP, "JWS typ is not a string (expected %s)", want);
	else if (strcasecmp(typ_bare(json_string_value(m)), typ_bare(want)) != 0)
		return verdict_set(v, R_JWS_TYP, "JWS typ \"%s\" is not \"%s\"",
		    san(json_string_value(m), b, sizeof(b)), want);
	else
		j->typ = json_string_value(m);

	m = json_object_get(j->header, "kid");
	if (!json_is_string(m) || json_string_length(m) == 0)
		return verdict_set(v, R_JWS_KID, "JWS kid is %s", m == NULL ? "missing" :
		    !json_is_string(m) ? "not a string" : "empty");
	j->kid = json_string_value(m);
	return 0;
}

/* Strictly decode one base64url segment and parse it as a JSON object. NULL with v. */
static json_t *
jws_segment_json(const char *s, size_t len, size_t max, const char *what, struct verdict *v)
{
	struct fedtrust_error	 err;
	unsigned char		*raw = NULL;
	size_t			 rawlen;
	json_t			*o = NULL;

	if (fedtrustp_b64url_decode(s, len, &raw, &rawlen, &err) == -1) {
		verdict_set(v, lib_reason(&err), "JWS %s: %s", what, err.text);
		return NULL;
	}
	if ((o = fedtrustp_json_parse(raw, rawlen, max, FEDTRUSTP_MAX_JSON_DEPTH, &err)) == NULL)
		verdict_set(v, err.code == FEDTRUST_E_JSON ? R_JSON_INVALID : lib_reason(&err),
		    "JWS %s: %s", what, err.text);
	else if (!json_is_object(o)) {
		verdict_set(v, R_JWS_MALFORMED, "JWS %s is not a JSON object", what);
		json_decref(o);
		o = NULL;
	}
	fedtrustp_free(raw);
	return o;
}

/*
 * Strict compact parse (see extern.h and docs/jws-sources.md for the order
 * of the checks).  The header is judged before the signature segment is
 * looked at, so an unsecured "alg":"none" JWS is named for its alg.
 */
int
jws_parse(const char *buf, size_t len, const char *typ, unsigned flags, struct jws *j,
    struct verdict *v)
{
	struct fedtrust_error	 err;
	const char		*d1, *d2;
	size_t			 i, dots = 0;
	int			 rc = -1;

	memset(j, 0, sizeof(*j));
	if (buf == NULL || typ == NULL)
		return verdict_set(v, R_INTERNAL, "jws_parse: no document or typ");
	if (len > MAX_JWS_SIZE)
		return verdict_set(v, R_JWS_MALFORMED, "JWS of %zu bytes is over the cap of %d",
		    len, MAX_JWS_SIZE);
	if (len > 0 && buf[0] == '{')
		return verdict_set(v, R_JWS_MALFORMED,
		    "a JWS JSON serialization: only the compact serialization is read");
	for (i = 0; i < len; i++)
		if (buf[i] == '.')
			dots++;
	if (dots != 2)
		return verdict_set(v, R_JWS_MALFORMED, "not a compact JWS: %zu segments, not 3",
		    dots + 1);
	d1 = memchr(buf, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - buf));
	if (d1 == buf)
		return verdict_set(v, R_JWS_MALFORMED, "compact JWS with an empty header segment");
	if (d2 == d1 + 1)
		return verdict_set(v, R_JWS_MALFORMED, "compact JWS with an empty payload segment");
	if ((size_t)(d1 - buf) > FEDTRUSTP_MAX_HEADER_B64)
		return verdict_set(v, R_JWS_MALFORMED, "JWS header segment over %d characters",
		    FEDTRUSTP_MAX_HEADER_B64);

	if ((j->header = jws_segment_json(buf, (size_t)(d1 - buf), FEDTRUSTP_MAX_HEADER_B64,
	    "header", v)) == NULL)
		goto out;
	if (jws_header_check(j, typ, flags, v) == -1)
		goto out;
	if ((j->payload = jws_segment_json(d1 + 1, (size_t)(d2 - d1 - 1), MAX_JWS_SIZE,
	    "payload", v)) == NULL)
		goto out;
	if (d2 + 1 == buf + len) {
		verdict_set(v, R_JWS_MALFORMED, "compact JWS with an empty signature segment");
		goto out;
	}
	if (fedtrustp_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - buf), &j->sig, &j->sigsz,
	    &err) == -1) {
		verdict_set(v, lib_reason(&err), "JWS signature: %s", err.text);
		goto out;
	}
	/* The signing input is the exact received ASCII, never a re-encoding. */
	j->input = buf;
	j->inputsz = (size_t)(d2 - buf);
	rc = 0;
 out:
	if (rc == -1)
		jws_free(j);
	return rc;
}

/* "RSA 2048", "EC P-256", "Ed25519" into buf. */
static const char *
key_desc(EVP_PKEY *k, char *buf, size_t bufsz)
{
	const char	*crv = fedtrustp_pkey_curve(k);

	if (EVP_PKEY_is_a(k, "RSA"))
		snprintf(buf, bufsz, "RSA %d", EVP_PKEY_get_bits(k));
	else if (crv != NULL)
		snprintf(buf, bufsz, "EC %s", crv);
	else
		snprintf(buf, bufsz, "%s", EVP_PKEY_get0_type_name(k));
	return buf;
}

/*
 * Verify j with the key of ks named by its kid (see extern.h).  A header
 * alg that does not fit the key's type (RS256 with an EC key, ES256 with a
 * P-384 key, EdDSA with anything but Ed25519) is jws-alg-forbidden.
 */
int
jws_verify(const struct jws *j, const struct jwkset *ks, const struct jwk_entry **used,
    struct verdict *v)
{
	struct fedtrust_error	 err;
	const struct jwk_entry	*e;
	const char		*alg;
	char			 kb[80], db[40];

	if (used != NULL)
		*used = NULL;
	if (j == NULL || j->header == NULL || j->kid == NULL)
		return verdict_set(v, R_INTERNAL, "jws_verify: no parsed JWS");
	alg = json_string_value(json_object_get(j->header, "alg"));
	/* kid is only a lookup key into a set held in memory (JWS-03). */
	if ((e = jwkset_find_kid(ks, j->kid)) == NULL)
		return verdict_set(v, R_JWS_KID, "JWS kid \"%s\" is none of the %zu trusted keys",
		    san(j->kid, kb, sizeof(kb)), ks != NULL ? ks->n : 0);
	san(j->kid, kb, sizeof(kb));
	if (!e->verify_ok)
		return verdict_set(v, R_JWS_KEY, "key \"%s\" is not a verification key (use %s, "
		    "key_ops without verify?)", kb, e->use != NULL ? e->use : "absent");
	if (fedtrustp_alg_fits_key(j->alg, e->pkey, &err) == -1)
		return verdict_set(v, R_JWS_ALG, "JWS alg %s does not fit key \"%s\" (%s): the "
		    "key's type decides the algorithm", alg, kb, key_desc(e->pkey, db, sizeof(db)));
	if (e->alg != NULL && strcmp(e->alg, alg) != 0)
		return verdict_set(v, R_JWS_ALG, "JWS alg %s is not the alg %s of key \"%s\"", alg,
		    e->alg, kb);
	if (fedtrustp_jws_verify_raw(j->input, j->inputsz, j->sig, j->sigsz, e->pkey, j->alg,
	    &err) == -1)
		return verdict_set(v, lib_reason(&err), "key \"%s\": %s", kb, err.text);
	if (used != NULL)
		*used = e;
	return 0;
}

/* ------------------------------------------------------------ claims */

int
jwt_time(const json_t *obj, const char *name, int required, time_t *out, struct verdict *v)
{
	const json_t	*m = json_object_get(obj, name);
	json_int_t	 n;

	*out = 0;
	if (m == NULL) {
		if (required)
			return verdict_set(v, R_JWT_CLAIM, "claim %s is missing", name);
		return 0;
	}
	/* Reals and integers beyond 2^53 - 1 never get here (strict JSON). */
	if (!json_is_integer(m))
		return verdict_set(v, R_JWT_CLAIM, "claim %s is not an integer NumericDate", name);
	n = json_integer_value(m);
	if (n < 0 || n > FEDTRUSTP_MAX_JSON_INT)
		return verdict_set(v, R_JWT_CLAIM, "claim %s = %lld is outside [0, 2^53 - 1]", name,
		    (long long)n);
	*out = (time_t)n;
	return 1;
}

/* The iat/nbf/exp window (see extern.h); nbf is checked like iat when present. */
int
jwt_window(const json_t *payload, int need_iat, int need_exp, time_t now, long skew,
    long max_validity, time_t *exp_out, struct verdict *v)
{
	time_t	 iat, exp, nbf;
	int	 hi, he, hn;
	char	 t1[32], t2[32];

	if (exp_out != NULL)
		*exp_out = 0;
	if ((hi = jwt_time(payload, "iat", need_iat, &iat, v)) == -1 ||
	    (he = jwt_time(payload, "exp", need_exp, &exp, v)) == -1 ||
	    (hn = jwt_time(payload, "nbf", 0, &nbf, v)) == -1)
		return -1;
	if (hi && iat > now + skew)
		return verdict_set(v, R_NOT_YET_VALID, "iat %s is in the future (now %s, skew %lds)",
		    format_time(iat, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)), skew);
	if (hn && nbf > now + skew)
		return verdict_set(v, R_NOT_YET_VALID, "nbf %s is in the future (now %s, skew %lds)",
		    format_time(nbf, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)), skew);
	if (he) {
		if (hi && exp <= iat)
			return verdict_set(v, R_JWT_CLAIM, "exp %s is not after iat %s",
			    format_time(exp, t1, sizeof(t1)), format_time(iat, t2, sizeof(t2)));
		if (exp <= now)
			return verdict_set(v, R_EXPIRED, "exp %s has passed (now %s)",
			    format_time(exp, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)));
		if (max_validity > 0 && exp - now > max_validity)
			return verdict_set(v, R_VALIDITY_TOO_LONG,
			    "exp %s is more than max-validity %lds away", format_time(exp, t1,
			    sizeof(t1)), max_validity);
		if (exp_out != NULL)
			*exp_out = exp;
	}
	return 0;
}

/* ------------------------------------------------------------ entity keys */

/*
 * Strict standard base64 (RFC 4648 section 4: padded, no whitespace), as
 * x5c uses: mapped onto the base64url alphabet and decoded by the
 * library's strict decoder, so both share one canonical-encoding check.
 * Caller frees *out with fedtrustp_free.  0 / -1.
 */
static int
b64std_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	char	*t;
	size_t	 i, pad = 0, n;
	int	 rc = -1;

	*out = NULL;
	if (len == 0 || len % 4 != 0)
		return -1;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if ((n % 4 == 0 && pad != 0) || (n % 4 == 2 && pad != 2) || (n % 4 == 3 && pad != 1))
		return -1;
	t = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == '_' || s[i] == '=')
			goto out;
		t[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	t[n] = '\0';
	rc = fedtrustp_b64url_decode(t, n, out, outlen, NULL);
 out:
	free(t);
	return rc;
}

/*
 * x5c[0] of jwk, when present, into k->cert and k->not_after, but only when
 * its public key is the JWK's key.  0 (also when absent) / -1 with why.
 */
static int
key_x5c(const struct jwk_entry *e, struct key *k, char *why, size_t whysz)
{
	const json_t		*x5c, *c0;
	const unsigned char	*spki, *p;
	unsigned char		*der = NULL;
	size_t			 dersz, spkisz;
	time_t			 na;
	EVP_PKEY		*ck = NULL;
	int			 rc = -1;

	if ((x5c = json_object_get(e->jwk, "x5c")) == NULL)
		return 0;
	c0 = json_array_get(x5c, 0);
	if (!json_is_array(x5c) || !json_is_string(c0)) {
		snprintf(why, whysz, "x5c is not an array of base64 certificates");
		return -1;
	}
	if (b64std_decode(json_string_value(c0), json_string_length(c0), &der, &dersz) == -1) {
		snprintf(why, whysz, "x5c[0] is not strict base64");
		return -1;
	}
	if (cert_peek(der, dersz, &spki, &spkisz, &na) == -1) {
		snprintf(why, whysz, "x5c[0] is not a DER certificate");
		goto out;
	}
	p = spki;
	if ((ck = d2i_PUBKEY(NULL, &p, (long)spkisz)) == NULL || p != spki + spkisz) {
		snprintf(why, whysz, "x5c[0] public key does not parse");
		goto out;
	}
	if (EVP_PKEY_eq(ck, e->pkey) != 1) {
		snprintf(why, whysz, "x5c[0] holds another public key than the JWK");
		goto out;
	}
	k->cert = xmalloc(dersz);
	memcpy(k->cert, der, dersz);
	k->certsz = dersz;
	k->not_after = na;
	rc = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_free(ck);
	fedtrustp_free(der);
	return rc;
}

/* PURP_* of a JWK: use sig jwt, enc jwe, none both; key_ops narrows. 0 when none is left. */
static unsigned
key_purposes(const struct jwk_entry *e)
{
	const json_t	*ops = json_object_get(e->jwk, "key_ops");
	unsigned	 p;

	if (e->use == NULL)
		p = PURP_JWT | PURP_JWE;
	else if (strcmp(e->use, "sig") == 0)
		p = PURP_JWT;
	else if (strcmp(e->use, "enc") == 0)
		p = PURP_JWE;
	else
		return 0;
	if (ops != NULL) {
		if (!json_strv_has(ops, "verify"))
			p &= ~PURP_JWT;
		if (!json_strv_has(ops, "encrypt") && !json_strv_has(ops, "wrapKey"))
			p &= ~PURP_JWE;
	}
	return p;
}

/* One protocol key as an entity key (see extern.h). */
int
key_from_jwk(const struct jwk_entry *e, enum key_prov prov, struct key *out, char *why,
    size_t whysz)
{
	unsigned char	*p;
	int		 len;

	memset(out, 0, sizeof(*out));
	if ((out->purposes = key_purposes(e)) == 0) {
		snprintf(why, whysz, "use/key_ops leave the key no purpose (use %s)",
		    e->use != NULL ? e->use : "absent");
		return -1;
	}
	if ((len = i2d_PUBKEY(e->pkey, NULL)) <= 0) {
		ERR_clear_error();
		snprintf(why, whysz, "public key cannot be encoded");
		return -1;
	}
	out->spki = p = xmalloc((size_t)len);
	out->spkisz = (size_t)i2d_PUBKEY(e->pkey, &p);
	if (key_x5c(e, out, why, whysz) == -1) {
		key_free(out);
		return -1;
	}
	out->prov = prov;
	out->kid = e->kid != NULL ? xstrdup(e->kid) : NULL;
	out->alg = e->alg != NULL ? xstrdup(e->alg) : NULL;
	out->juse = e->use != NULL ? xstrdup(e->use) : NULL;
	return 0;
}
