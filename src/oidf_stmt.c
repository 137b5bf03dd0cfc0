/*
 * OpenID Federation entity statements (openid-federation.md 1.4 A): the
 * strict JWS parse with typ entity-statement+jwt, then every check that
 * needs no other statement: entity identifiers, iat/exp, the jwks claim,
 * crit, claims only in their statement kind and their syntax, trust_marks
 * syntax.  The signature is the caller's: its key comes from the superior.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"

#define TYP_ENTITY_STATEMENT	"entity-statement+jwt"

/* Claims of one statement kind only (1.4 A step 8). */
static const char *const ec_only[] = {
	"authority_hints", "trust_anchor_hints", "trust_marks", "trust_mark_issuers",
	"trust_mark_owners",
};
static const char *const ss_only[] = {
	"metadata_policy", "metadata_policy_crit", "constraints", "source_endpoint",
};

static int	entity_id_ok(const char *, unsigned);

/* 1 when c may appear in a host name (LDH plus '.'; IDNs come as A-labels). */
static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.';
}

/*
 * An Entity Identifier: "https://", a host (name or [IPv6]), an optional
 * port, an optional path; printable ASCII, no userinfo, query or fragment,
 * at most MAX_ENTITY_ID bytes.  Compared elsewhere as exact strings.
 */
int
oidf_entity_id_ok(const char *s)
{
	return entity_id_ok(s, 0);
}

/* An entity identifier, http:// too with JWS_LEGACY_DRAFTS (see oidf_entity_id_ok). */
static int
entity_id_ok(const char *s, unsigned flags)
{
	const char	*h, *e;
	size_t		 i, len, skip = 8;
	long		 port;

	if (s == NULL || (len = strlen(s)) == 0 || len > MAX_ENTITY_ID)
		return 0;
	if ((flags & JWS_LEGACY_DRAFTS) && strncmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(s, "https://", 8) != 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '?' ||
		    s[i] == '#' || s[i] == '\\')
			return 0;
	h = s + skip;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL || e == h + 1)
			return 0;
		for (h++; h < e; h++)
			if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f') ||
			    (*h >= 'A' && *h <= 'F') || *h == ':' || *h == '.'))
				return 0;
		h = e + 1;
	} else {
		for (e = h; host_char(*e); e++)
			;
		if (e == h || *h == '.' || *h == '-')
			return 0;
		h = e;
	}
	if (*h == ':') {
		port = 0;
		for (h++, i = 0; *h >= '0' && *h <= '9' && i < 6; h++, i++)
			port = port * 10 + (*h - '0');
		if (i == 0 || port < 1 || port > 65535)
			return 0;
	}
	/* Anything else in the authority ('@' userinfo among it) is refused. */
	return *h == '\0' || *h == '/';
}

void
oidf_stmt_free(struct oidf_stmt *st)
{
	if (st == NULL)
		return;
	jws_free(&st->jws);
	jwkset_free(&st->jwks);
	memset(st, 0, sizeof(*st));
}

/* Borrowed string claim name of p that must be an entity identifier. NULL with v. */
static const char *
stmt_id(const json_t *p, const char *name, unsigned flags, struct verdict *v)
{
	const json_t	*m = json_object_get(p, name);
	char		 b[160];

	if (m == NULL) {
		verdict_set(v, R_JWT_CLAIM, "entity statement without %s", name);
		return NULL;
	}
	if (!json_is_string(m) || !entity_id_ok(json_string_value(m), flags)) {
		verdict_set(v, R_JWT_CLAIM, "%s %s is not an entity identifier (https URL with a "
		    "host, no query or fragment)", name, json_is_string(m) ?
		    log_sanitize(json_string_value(m), json_string_length(m), b, sizeof(b)) :
		    "(not a string)");
		return NULL;
	}
	return json_string_value(m);
}

/* 1 when arr is a JSON array of entity identifiers (nonempty: at least one). */
static int
id_array_ok(const json_t *arr, int nonempty, unsigned flags)
{
	const json_t	*m;
	size_t		 i;

	if (!json_is_array(arr) || (nonempty && json_array_size(arr) == 0))
		return 0;
	json_array_foreach(arr, i, m)
		if (!json_is_string(m) || !entity_id_ok(json_string_value(m), flags))
			return 0;
	return 1;
}

/* 1 when obj is an object whose every member value is an object. */
static int
object_of_objects(const json_t *obj)
{
	const char	*k;
	json_t		*m;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach((json_t *)obj, k, m)
		if (!json_is_object(m))
			return 0;
	return 1;
}

/*
 * The jwks claim: present, a JWK Set of public keys with a kid on every
 * key (spec: unique kids), keys of types we cannot use skipped but at
 * least one usable.  0 / -1 with v.
 */
static int
stmt_jwks(struct oidf_stmt *st, struct verdict *v)
{
	const json_t	*jwks = json_object_get(st->jws.payload, "jwks"), *k;
	size_t		 i;

	if (jwks == NULL)
		return verdict_set(v, R_JWT_CLAIM, "entity statement without jwks");
	if (jwkset_from_json(&st->jwks, jwks, JWKS_SKIP_UNSUPPORTED, v) == -1)
		return -1;
	json_array_foreach(json_object_get(jwks, "keys"), i, k)
		if (json_object_get(k, "kid") == NULL)
			return verdict_set(v, R_JWS_KEY, "jwks key %zu has no kid", i);
	if (st->jwks.n == 0)
		return verdict_set(v, R_JWS_KEY, "jwks holds no key of a supported type");
	return 0;
}

/* metadata: an object of entity types, each an object, no parameter null. 0 / -1. */
static int
stmt_metadata(struct oidf_stmt *st, struct verdict *v)
{
	const char	*t, *k;
	json_t		*md, *m, *val;
	char		 b1[64], b2[64];

	if ((md = json_object_get(st->jws.payload, "metadata")) == NULL)
		return 0;
	if (!object_of_objects(md))
		return verdict_set(v, R_JWT_CLAIM,
		    "metadata is not an object of entity-type objects");
	json_object_foreach(md, t, m) {
		json_object_foreach(m, k, val)
			if (json_is_null(val))
				return verdict_set(v, R_JWT_CLAIM, "metadata %s.%s is null",
				    log_sanitize(t, strlen(t), b1, sizeof(b1)),
				    log_sanitize(k, strlen(k), b2, sizeof(b2)));
	}
	st->metadata = md;
	return 0;
}

/*
 * The payload segment of a compact JWS as a JSON object, not verified:
 * only for the trust_marks syntax check (step 9).  NULL when it is not one.
 */
static json_t *
peek_payload(const char *s, size_t len)
{
	const char	*d1, *d2;
	unsigned char	*raw = NULL;
	size_t		 rawlen;
	json_t		*o = NULL;

	if ((d1 = memchr(s, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)) != NULL)
		return NULL;
	if (fedtrustp_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &rawlen, NULL) == -1)
		return NULL;
	o = fedtrustp_json_parse(raw, rawlen, MAX_JWS_SIZE, FEDTRUSTP_MAX_JSON_DEPTH, NULL);
	fedtrustp_free(raw);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* trust_marks: [{trust_mark_type, trust_mark}], the type equal to the mark's own claim. */
static int
stmt_trust_marks(const json_t *tms, struct verdict *v)
{
	const json_t	*tm, *type, *jwt;
	json_t		*inner;
	size_t		 i;
	int		 same;

	if (!json_is_array(tms))
		return verdict_set(v, R_JWT_CLAIM, "trust_marks is not an array");
	json_array_foreach(tms, i, tm) {
		type = json_object_get(tm, "trust_mark_type");
		jwt = json_object_get(tm, "trust_mark");
		if (!json_is_object(tm) || !json_is_string(type) || json_string_length(type) == 0 ||
		    !json_is_string(jwt))
			return verdict_set(v, R_JWT_CLAIM, "trust_marks[%zu] is not "
			    "{\"trust_mark_type\": string, \"trust_mark\": JWT}", i);
		if ((inner = peek_payload(json_string_value(jwt), json_string_length(jwt))) == NULL)
			return verdict_set(v, R_JWT_CLAIM, "trust_marks[%zu].trust_mark is not a "
			    "compact JWT with a JSON payload", i);
		same = json_equal(json_object_get(inner, "trust_mark_type"), type);
		json_decref(inner);
		if (!same)
			return verdict_set(v, R_JWT_CLAIM, "trust_marks[%zu]: trust_mark_type differs "
			    "from the mark's own trust_mark_type", i);
	}
	return 0;
}

/* trust_mark_issuers {type: [ids]} and trust_mark_owners {type: {sub, jwks}}. */
static int
stmt_tm_authorities(const json_t *p, unsigned flags, struct verdict *v)
{
	const char	*k;
	json_t		*m, *o;

	if ((o = json_object_get(p, "trust_mark_issuers")) != NULL) {
		if (!json_is_object(o))
			return verdict_set(v, R_JWT_CLAIM, "trust_mark_issuers is not an object");
		json_object_foreach(o, k, m)
			if (!id_array_ok(m, 0, flags))
				return verdict_set(v, R_JWT_CLAIM, "trust_mark_issuers: a value is "
				    "not an array of entity identifiers");
	}
	if ((o = json_object_get(p, "trust_mark_owners")) != NULL) {
		if (!object_of_objects(o))
			return verdict_set(v, R_JWT_CLAIM, "trust_mark_owners is not an object of "
			    "objects");
		json_object_foreach(o, k, m)
			if (!json_is_string(json_object_get(m, "sub")) ||
			    !json_is_object(json_object_get(m, "jwks")))
				return verdict_set(v, R_JWT_CLAIM, "trust_mark_owners: an owner "
				    "lacks sub or jwks");
	}
	return 0;
}

/* Claims of an entity configuration (iss == sub). 0 / -1 with v. */
static int
stmt_ec_claims(struct oidf_stmt *st, struct verdict *v)
{
	const json_t	*p = st->jws.payload, *m;

	if ((m = json_object_get(p, "authority_hints")) != NULL && !id_array_ok(m, 1, st->flags))
		return verdict_set(v, R_JWT_CLAIM,
		    "authority_hints is not a non-empty array of entity identifiers");
	st->authority_hints = m;
	if ((m = json_object_get(p, "trust_anchor_hints")) != NULL && !id_array_ok(m, 0, st->flags))
		return verdict_set(v, R_JWT_CLAIM,
		    "trust_anchor_hints is not an array of entity identifiers");
	if ((m = json_object_get(p, "trust_marks")) != NULL && stmt_trust_marks(m, v) == -1)
		return -1;
	st->trust_marks = m;
	return stmt_tm_authorities(p, st->flags, v);
}

/* Claims of a subordinate statement (iss != sub). 0 / -1 with v. */
static int
stmt_ss_claims(struct oidf_stmt *st, struct verdict *v)
{
	const json_t	*p = st->jws.payload, *m, *n;
	const char	*s;
	size_t		 i;

	if ((m = json_object_get(p, "constraints")) != NULL && !json_is_object(m))
		return verdict_set(v, R_JWT_CLAIM, "constraints is not an object");
	st->constraints = m;
	if ((m = json_object_get(p, "metadata_policy")) != NULL && !object_of_objects(m))
		return verdict_set(v, R_JWT_CLAIM,
		    "metadata_policy is not an object of entity-type objects");
	st->metadata_policy = m;
	if ((m = json_object_get(p, "metadata_policy_crit")) != NULL) {
		if (!json_is_array(m) || json_array_size(m) == 0)
			return verdict_set(v, R_JWT_CLAIM,
			    "metadata_policy_crit is not a non-empty array");
		json_array_foreach(m, i, n)
			if (!json_is_string(n) || json_string_length(n) == 0)
				return verdict_set(v, R_JWT_CLAIM,
				    "metadata_policy_crit holds a non-string");
	}
	st->metadata_policy_crit = m;
	if ((m = json_object_get(p, "source_endpoint")) != NULL) {
		s = json_string_value(m);
		if (s == NULL || strncmp(s, "https://", 8) != 0 || strchr(s, '#') != NULL)
			return verdict_set(v, R_JWT_CLAIM,
			    "source_endpoint is not an https URL without fragment");
	}
	return 0;
}

/*
 * Parse and check one entity statement (see extern.h).  Order: JWS header
 * (typ, alg, kid, no trust_chain/peer_trust_chain or other member), iss and
 * sub, iat/exp window, jwks, crit, claims of the other statement kind,
 * metadata, then the kind's own claims.
 */
int
oidf_stmt_parse(const char *buf, size_t len, unsigned flags, time_t now, long skew,
    long max_validity, struct oidf_stmt *st, struct verdict *v)
{
	const json_t		*p;
	const char *const	*other;
	size_t			 i, n;
	int			 rc = -1;

	memset(st, 0, sizeof(*st));
	if (jws_parse(buf, len, TYP_ENTITY_STATEMENT, (flags & JWS_LEGACY_DRAFTS) ?
	    flags | JWS_UNTYPED_OK : flags, &st->jws, v) == -1)
		return -1;
	p = st->jws.payload;
	st->flags = flags;
	if ((st->iss = stmt_id(p, "iss", flags, v)) == NULL ||
	    (st->sub = stmt_id(p, "sub", flags, v)) == NULL)
		goto out;
	st->is_ec = strcmp(st->iss, st->sub) == 0;
	if (jwt_time(p, "iat", 1, &st->iat, v) == -1 ||
	    jwt_window(p, 1, 1, now, skew, max_validity, &st->exp, v) == -1)
		goto out;
	if (stmt_jwks(st, v) == -1)
		goto out;
	/* No non-spec claim is understood, so any crit names one we do not know. */
	if (json_object_get(p, "crit") != NULL) {
		verdict_set(v, R_JWT_CLAIM, "crit is present: no extension claim is understood");
		goto out;
	}
	other = st->is_ec ? ss_only : ec_only;
	n = st->is_ec ? sizeof(ss_only) / sizeof(ss_only[0]) : sizeof(ec_only) / sizeof(ec_only[0]);
	for (i = 0; i < n && !(flags & JWS_LEGACY_DRAFTS); i++)
		if (json_object_get(p, other[i]) != NULL) {
			verdict_set(v, R_JWT_CLAIM, "%s is not allowed in %s", other[i],
			    st->is_ec ? "an entity configuration" : "a subordinate statement");
			goto out;
		}
	if (stmt_metadata(st, v) == -1)
		goto out;
	if ((st->is_ec ? stmt_ec_claims(st, v) : stmt_ss_claims(st, v)) == -1)
		goto out;
	rc = 0;
 out:
	if (rc == -1)
		oidf_stmt_free(st);
	return rc;
}
