/*
 * A resolved leaf as an entity (bundle-format 4.4): protocol keys from the
 * resolved metadata (openid-federation.md 1.4 F: jwks by value, a verified
 * signed_jwks_uri, jwks_uri over https), scopes, certificate names,
 * organisation, path, the resolved metadata as canonical JSON.  Federation
 * entity keys (the jwks claim) are never protocol keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"
#include "oidf_int.h"

/* The kept entity types of l, in a fixed order. */
static const unsigned	 leaf_roles[] = {
	ROLE_OP, ROLE_RP, ROLE_OAUTH_AS, ROLE_OAUTH_CLIENT, ROLE_OAUTH_RS
};
#define NROLES	(sizeof(leaf_roles) / sizeof(leaf_roles[0]))

/* md.<type>.<name> as a string, or NULL. Borrowed. */
static const char *
md_string(const json_t *md, unsigned role, const char *name)
{
	return json_string_value(json_object_get(json_object_get(md, otype_name(role)), name));
}

/* Ask for the signed_jwks_uri and jwks_uri documents of l's kept types (https only). */
void
okeys_want(struct ores *r, const struct oleaf *l)
{
	const char	*u;
	size_t		 i;

	for (i = 0; i < NROLES; i++) {
		if (!(l->roles & leaf_roles[i]))
			continue;
		if (ourl_https(u = md_string(l->md, leaf_roles[i], "signed_jwks_uri")))
			ofetch_want(r, u, MAX_JWS_SIZE);
		if (ourl_https(u = md_string(l->md, leaf_roles[i], "jwks_uri")))
			ofetch_want(r, u, MAX_JWS_SIZE);
	}
}

/* A JWK Set {"keys": keys} of protocol keys (other key types skipped). 0 / -1 with v. */
static int
keys_of(const json_t *keys, struct jwkset *set, struct verdict *v)
{
	json_t	*o = json_object();
	int	 rc;

	if (o == NULL)
		fatalx("json_object: out of memory");
	if (keys != NULL)
		json_object_set(o, "keys", (json_t *)keys);
	rc = jwkset_from_json(set, o, JWKS_SKIP_UNSUPPORTED, v);
	json_decref(o);
	return rc;
}

/*
 * The signed JWK Set at url (1.4 F 2): typ jwk-set+jwt, signed with a
 * federation key of the leaf from the validated chain (the superior's
 * statement about it), iss == sub == the entity id, exp required and in
 * the future.  0 (*exp set) / -1 with v.
 */
static int
signed_jwks(struct ores *r, const struct oleaf *l, const char *url, struct jwkset *set,
    time_t *exp, struct verdict *v)
{
	const struct onode	*n = &r->nodes[l->node];
	const struct ofetch	*f = ofetch_get(r, url);
	const struct jwkset	*fed = &ochain_st(r, &l->chain, 1)->jwks;
	const char		*iss, *sub;
	struct jws		 j;
	char			 k[64];
	int			 rc = -1;

	memset(&j, 0, sizeof(j));
	if (f == NULL || !f->ok) {
		if (f == NULL)
			return verdict_set(v, R_INTERNAL, "not fetched");
		*v = f->v;
		return -1;
	}
	if (jws_parse(f->body, f->bodysz, "jwk-set+jwt", r->o->jws_flags, &j, v) == -1)
		goto out;
	if (jwkset_find_kid(fed, j.kid) == NULL) {
		verdict_set(v, R_JWS_KID, "signed with kid %s, which is not a federation key of "
		    "%s", log_sanitize(j.kid, strlen(j.kid), k, sizeof(k)), n->disp);
		goto out;
	}
	if (jws_verify(&j, fed, NULL, v) == -1)
		goto out;
	iss = json_string_value(json_object_get(j.payload, "iss"));
	sub = json_string_value(json_object_get(j.payload, "sub"));
	if (iss == NULL || sub == NULL || strcmp(iss, n->id) != 0 || strcmp(sub, n->id) != 0) {
		verdict_set(v, R_JWT_CLAIM, "iss and sub must both be the entity id");
		goto out;
	}
	if (jwt_window(j.payload, 0, 1, r->now, r->o->skew, r->o->max_validity, exp, v) == -1)
		goto out;
	rc = keys_of(json_object_get(j.payload, "keys"), set, v);
 out:
	jws_free(&j);
	return rc;
}

/* The JWK Set document at url (1.4 F 3), strict JSON.  0 / -1 with v. */
static int
jwks_uri(const struct ores *r, const char *url, struct jwkset *set, struct verdict *v)
{
	const struct ofetch	*f = ofetch_get(r, url);
	struct fedtrust_error	 err;
	json_t			*doc;
	int			 rc;

	if (f == NULL)
		return verdict_set(v, R_INTERNAL, "not fetched");
	if (!f->ok) {
		*v = f->v;
		return -1;
	}
	doc = fedtrustp_json_parse(f->body, f->bodysz, MAX_JWS_SIZE, FEDTRUSTP_MAX_JSON_DEPTH,
	    &err);
	if (doc == NULL)
		return verdict_set(v, R_JSON_INVALID, "%s", err.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return verdict_set(v, R_JSON_INVALID, "not a JWK Set object");
	}
	rc = keys_of(json_object_get(doc, "keys"), set, v);
	json_decref(doc);
	return rc;
}

/* Keys seen so far by thumbprint, to take each key once (the first provenance wins). */
struct seen {
	char	 (*jkt)[44];
	size_t	 n;
};

/* Add the keys of set to e with provenance prov, each thumbprint once. */
static void
keys_add(const struct ores *r, const struct jwkset *set, enum key_prov prov, struct entity *e,
    struct seen *s)
{
	struct key	 k;
	char		 why[256];
	size_t		 i, m;

	for (i = 0; i < set->n; i++) {
		for (m = 0; m < s->n; m++)
			if (strcmp(s->jkt[m], set->keys[i].jkt) == 0)
				break;
		if (m < s->n)
			continue;
		memset(&k, 0, sizeof(k));
		if (key_from_jwk(&set->keys[i], prov, &k, why, sizeof(why)) == -1) {
			log_warnx("source=%s: %s: a %s key is left out: %s", r->o->source, e->id,
			    prov_name(prov), why);
			continue;
		}
		s->jkt = xreallocarray(s->jkt, s->n + 1, sizeof(*s->jkt));
		memcpy(s->jkt[s->n++], set->keys[i].jkt, 44);
		entity_add_key(e, &k);
	}
}

/* Log that two representations of one entity type's keys disagree (rollover or error). */
static void
keys_compare(const struct ores *r, const struct entity *e, unsigned role,
    const struct jwkset *a, const char *an, const struct jwkset *b, const char *bn)
{
	if (a->n > 0 && b->n > 0 && !jwkset_same(a, b))
		log_warnx("source=%s: %s: %s keys from %s and %s differ; the union is used",
		    r->o->source, e->id, otype_name(role), an, bn);
}

/*
 * The protocol keys of one kept entity type into e.  A broken jwks value
 * rejects the entity; a signed_jwks_uri or jwks_uri that fails only loses
 * its keys (logged).  *vu lowered to the signed JWK Set's exp.  0 / -1 with v.
 */
static int
keys_type(struct ores *r, const struct oleaf *l, unsigned role, struct entity *e,
    struct seen *s, time_t *vu, struct verdict *v)
{
	const json_t	*tm = json_object_get(l->md, otype_name(role)), *jw;
	struct jwkset	 byval, sig, uri;
	struct verdict	 w;
	const char	*u;
	time_t		 exp;
	int		 rc = -1;

	memset(&byval, 0, sizeof(byval));
	memset(&sig, 0, sizeof(sig));
	memset(&uri, 0, sizeof(uri));
	if ((jw = json_object_get(tm, "jwks")) != NULL) {
		if (!json_is_object(jw) || keys_of(json_object_get(jw, "keys"), &byval, v) == -1) {
			if (json_is_object(jw))
				ovwrap(v, v, "%s jwks of %s", otype_name(role), e->id);
			else
				verdict_set(v, R_METADATA_INVALID, "%s jwks of %s is not an object",
				    otype_name(role), e->id);
			v->reason = R_METADATA_INVALID;
			goto out;
		}
		keys_add(r, &byval, PROV_CHAIN, e, s);
	}
	if ((u = json_string_value(json_object_get(tm, "signed_jwks_uri"))) != NULL) {
		memset(&w, 0, sizeof(w));
		if (!ourl_https(u))
			verdict_set(&w, R_FETCH_SCHEME, "not an https URL");
		else if (signed_jwks(r, l, u, &sig, &exp, &w) == 0) {
			keys_add(r, &sig, PROV_SIGNED_JWKS, e, s);
			if (exp < *vu)
				*vu = exp;
		}
		if (w.reason != R_NONE)
			log_warnx("source=%s: %s: signed_jwks_uri of %s not used: %s: %s",
			    r->o->source, e->id, otype_name(role), reason_code(w.reason), w.detail);
	}
	if ((u = json_string_value(json_object_get(tm, "jwks_uri"))) != NULL) {
		memset(&w, 0, sizeof(w));
		if (!ourl_https(u))
			verdict_set(&w, R_FETCH_SCHEME, "not an https URL");
		else if (jwks_uri(r, u, &uri, &w) == 0)
			keys_add(r, &uri, PROV_JWKS_URI, e, s);
		if (w.reason != R_NONE)
			log_warnx("source=%s: %s: jwks_uri of %s not used: %s: %s", r->o->source,
			    e->id, otype_name(role), reason_code(w.reason), w.detail);
	}
	keys_compare(r, e, role, &byval, "jwks", &sig, "signed_jwks_uri");
	keys_compare(r, e, role, &byval, "jwks", &uri, "jwks_uri");
	keys_compare(r, e, role, &sig, "signed_jwks_uri", &uri, "jwks_uri");
	rc = 0;
 out:
	jwkset_free(&byval);
	jwkset_free(&sig);
	jwkset_free(&uri);
	return rc;
}

/* Every kept type's protocol keys; at least one is required.  0 / -1 with v. */
static int
leaf_keys(struct ores *r, const struct oleaf *l, struct entity *e, time_t *vu,
    struct verdict *v)
{
	struct seen	 s = { NULL, 0 };
	size_t		 i;
	int		 rc = -1;

	for (i = 0; i < NROLES; i++)
		if ((l->roles & leaf_roles[i]) &&
		    keys_type(r, l, leaf_roles[i], e, &s, vu, v) == -1)
			goto out;
	if (e->keysz == 0) {
		verdict_set(v, R_METADATA_INVALID, "%s has no usable protocol key (jwks, "
		    "signed_jwks_uri or jwks_uri)", r->nodes[l->node].disp);
		goto out;
	}
	rc = 0;
 out:
	free(s.jkt);
	return rc;
}

/* Add the space-separated scope value (or an array of them) to e. 0 / -1. */
static int
scope_add(struct entity *e, const json_t *sc)
{
	const json_t	*x;
	const char	*p, *q;
	char		*tok;
	size_t		 k, m;

	if (json_is_array(sc)) {
		json_array_foreach(sc, k, x)
			if (!json_is_string(x) || scope_add(e, x) == -1)
				return -1;
		return 0;
	}
	if (!json_is_string(sc))
		return -1;
	for (p = json_string_value(sc); *p != '\0'; p = q) {
		while (*p == ' ')
			p++;
		for (q = p; *q != '\0' && *q != ' '; q++)
			;
		if (q == p)
			break;
		tok = xstrndup(p, (size_t)(q - p));
		for (m = 0; m < e->scopesz && strcmp(e->scopes[m], tok) != 0; m++)
			;
		if (m == e->scopesz && e->scopesz < MAX_SCOPES)
			strv_push(&e->scopes, &e->scopesz, tok);
		free(tok);
	}
	return 0;
}

/* Scopes from the resolved scope of the client types (RP, oauth_client). 0 / -1 with v. */
static int
leaf_scopes(const struct oleaf *l, struct entity *e, struct verdict *v)
{
	static const unsigned	 roles[] = { ROLE_RP, ROLE_OAUTH_CLIENT };
	const json_t		*sc;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		if (!(l->roles & roles[i]))
			continue;
		sc = json_object_get(json_object_get(l->md, otype_name(roles[i])), "scope");
		if (sc == NULL)
			continue;
		e->scoped = 1;
		if (scope_add(e, sc) == -1)
			return verdict_set(v, R_METADATA_INVALID, "resolved %s scope of %s is not "
			    "a string", otype_name(roles[i]), e->id);
	}
	return 0;
}

/* The tls_client_auth_* name of the kept types: exactly one kind and value. 0 / -1 with v. */
static int
leaf_names(const struct oleaf *l, struct entity *e, struct verdict *v)
{
	static const char *const	 kinds[][2] = {
		{ "tls_client_auth_subject_dn", "subject_dn" },
		{ "tls_client_auth_san_dns", "san_dns" },
		{ "tls_client_auth_san_uri", "san_uri" },
		{ "tls_client_auth_san_ip", "san_ip" },
		{ "tls_client_auth_san_email", "san_email" },
	};
	const json_t	*x;
	size_t		 i, k;

	for (i = 0; i < NROLES; i++) {
		if (!(l->roles & leaf_roles[i]))
			continue;
		for (k = 0; k < 5; k++) {
			x = json_object_get(json_object_get(l->md, otype_name(leaf_roles[i])),
			    kinds[k][0]);
			if (x == NULL)
				continue;
			if (!json_is_string(x) || json_string_length(x) == 0)
				return verdict_set(v, R_METADATA_INVALID, "%s of %s is not a "
				    "non-empty string", kinds[k][0], e->id);
			if (e->names_kind == NULL) {
				e->names_kind = xstrdup(kinds[k][1]);
				strv_push(&e->names, &e->namesz, json_string_value(x));
			} else if (strcmp(e->names_kind, kinds[k][1]) != 0 ||
			    strcmp(e->names[0], json_string_value(x)) != 0)
				return verdict_set(v, R_METADATA_INVALID, "%s has more than one "
				    "tls_client_auth_* name", e->id);
		}
	}
	return 0;
}

/*
 * Fill e (trust marks already in e->tms) from the selected leaf l: id,
 * roles, trust anchor, path, keys, scopes, names, organisation, resolved
 * metadata, valid_until = min(chain exp, marks' exp, signed JWK Sets' exp).
 * 0 / -1 with v (e is the caller's to free).
 */
int
oleaf_entity(struct ores *r, const struct oleaf *l, struct entity *e, struct verdict *v)
{
	const struct onode	*n = &r->nodes[l->node];
	const json_t		*fe = json_object_get(l->md, "federation_entity");
	const char		*org;
	struct fedtrust_error	 err;
	char			*meta;
	size_t			 j;
	time_t			 vu = l->chain.exp;

	e->id = xstrdup(n->id);
	e->proto = PROTO_OIDF;
	e->roles = l->roles;
	e->ta = xstrdup(r->nodes[0].id);
	for (j = 1; j < l->chain.n; j++)
		strv_push(&e->path, &e->pathsz, r->nodes[l->chain.node[j]].id);
	for (j = 0; j < e->tmsz; j++)
		if (e->tms[j].exp != 0 && e->tms[j].exp < vu)
			vu = e->tms[j].exp;
	if (leaf_keys(r, l, e, &vu, v) == -1 || leaf_scopes(l, e, v) == -1 ||
	    leaf_names(l, e, v) == -1)
		return -1;
	if ((org = json_string_value(json_object_get(fe, "organization_name"))) == NULL)
		org = json_string_value(json_object_get(fe, "display_name"));
	if (org != NULL)
		e->org = xstrdup(org);
	if ((meta = fedtrustp_json_dump_canonical(l->md, &err)) == NULL)
		fatalx("json dump: %s", err.text);
	e->meta = xstrdup(meta);
	e->metasz = strlen(meta);
	fedtrustp_free(meta);
	e->valid_until = vu;
	return 0;
}
