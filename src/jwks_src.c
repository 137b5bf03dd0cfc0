/*
 * A signed JWK Set partner (type = signed-jwks, docs/jws-sources.md): one
 * JWS of typ jwk-set+jwt whose payload is the partner's JWK Set plus iss,
 * sub and exp, signed by a key of the source's anchor set.  It yields one
 * entity (proto oauth) with the partner's public keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"

#define TYP_JWK_SET	"jwk-set+jwt"
#define ROLES_OAUTH	(ROLE_OP | ROLE_RP | ROLE_OAUTH_AS | ROLE_OAUTH_CLIENT | ROLE_OAUTH_RS)

/* 1 when s can be an entity id: non-empty, at most MAX_ENTITY_ID, no control characters. */
static int
issuer_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > MAX_ENTITY_ID)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* iss (an id) and sub (equal to iss). Borrowed iss, or NULL with v. */
static const char *
jwks_issuer(const json_t *p, struct verdict *v)
{
	const json_t	*iss = json_object_get(p, "iss"), *sub = json_object_get(p, "sub");
	char		 b1[160], b2[160];

	if (!json_is_string(iss) || !issuer_ok(json_string_value(iss), json_string_length(iss))) {
		verdict_set(v, R_JWT_CLAIM, "signed JWK Set: iss is %s", iss == NULL ? "missing" :
		    "not a usable identifier");
		return NULL;
	}
	if (!json_is_string(sub)) {
		verdict_set(v, R_JWT_CLAIM, "signed JWK Set: sub is %s", sub == NULL ? "missing" :
		    "not a string");
		return NULL;
	}
	if (!json_equal(iss, sub)) {
		verdict_set(v, R_JWT_CLAIM, "signed JWK Set: sub %s is not iss %s",
		    log_sanitize(json_string_value(sub), json_string_length(sub), b1, sizeof(b1)),
		    log_sanitize(json_string_value(iss), json_string_length(iss), b2, sizeof(b2)));
		return NULL;
	}
	return json_string_value(iss);
}

/*
 * Verify a signed JWK Set (see extern.h).  The signature is checked first,
 * then the claims: exp is required (fail closed: a key set that never
 * expires could never be withdrawn), iat optional.  Keys the partner may
 * publish for other algorithms (X25519, secp256k1, ...) are skipped; a key
 * with a private member, a duplicate kid or a weak RSA key rejects the set.
 */
int
jwks_src_verify(const unsigned char *buf, size_t len, const struct jwkset *anchors,
    const struct source_conf *s, time_t now, struct entity_set *out, struct verdict *v)
{
	const struct jwk_entry	*used;
	struct jws		 j;
	struct jwkset		 keys;
	struct entity		*e;
	struct key		 k;
	const char		*iss;
	time_t			 exp, iat;
	size_t			 i;
	char			 why[256], kb[80];
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	out->cache_duration = -1;
	memset(&keys, 0, sizeof(keys));
	if (jws_parse((const char *)buf, len, TYP_JWK_SET, s->untyped_ok ? JWS_UNTYPED_OK : 0,
	    &j, v) == -1)
		return -1;
	if (jws_verify(&j, anchors, &used, v) == -1)
		goto out;
	if ((iss = jwks_issuer(j.payload, v)) == NULL)
		goto out;
	if (jwt_time(j.payload, "iat", 0, &iat, v) == -1 ||
	    jwt_window(j.payload, 0, 1, now, s->skew, s->max_validity, &exp, v) == -1)
		goto out;
	if (jwkset_from_json(&keys, j.payload, JWKS_SKIP_UNSUPPORTED, v) == -1)
		goto out;

	e = entity_set_add(out);
	e->id = xstrdup(s->entity_id != NULL ? s->entity_id : iss);
	e->proto = PROTO_OAUTH;
	e->roles = s->roles == ROLE_ALL || (s->roles & ROLES_OAUTH) == 0 ? ROLE_OAUTH_CLIENT :
	    s->roles & ROLES_OAUTH;
	e->valid_until = exp;
	for (i = 0; i < keys.n; i++) {
		if (key_from_jwk(&keys.keys[i], PROV_SIGNED_JWKS, &k, why, sizeof(why)) == -1) {
			log_warnx("source %s: key %s of %s left out: %s", s->name != NULL ? s->name :
			    "(verify)", keys.keys[i].kid != NULL ? log_sanitize(keys.keys[i].kid,
			    strlen(keys.keys[i].kid), kb, sizeof(kb)) : keys.keys[i].jkt, e->id, why);
			continue;
		}
		entity_add_key(e, &k);
	}
	if (e->keysz == 0) {
		verdict_set(v, R_JWS_KEY, "signed JWK Set of %s has no usable public key", e->id);
		goto out;
	}
	if (s->scoped) {
		e->scoped = 1;
		for (i = 0; i < s->scopesz && i < MAX_SCOPES; i++)
			strv_push(&e->scopes, &e->scopesz, s->scopes[i]);
	}
	out->valid_until = exp;
	out->created = iat;
	out->signer = xstrdup(used->kid);
	rc = 0;
 out:
	if (rc == -1)
		entity_set_free(out);
	jwkset_free(&keys);
	jws_free(&j);
	return rc;
}
