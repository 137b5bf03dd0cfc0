/*
 * Entities as plain data: what every source type yields (SAML entities,
 * OpenID Federation leaves, signed JWK Set and X.509 partners) and what
 * policy, the aggregate, the bundle and the per-entity lookups consume.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

const char *
proto_name(enum proto p)
{
	switch (p) {
	case PROTO_OIDF:
		return "oidf";
	case PROTO_OAUTH:
		return "oauth";
	case PROTO_X509:
		return "x509";
	default:
		return "saml2";
	}
}

const char *
prov_name(enum key_prov p)
{
	switch (p) {
	case PROV_CHAIN:
		return "chain";
	case PROV_SIGNED_JWKS:
		return "signed_jwks";
	case PROV_JWKS_URI:
		return "jwks_uri";
	case PROV_LOCAL:
		return "local";
	default:
		return "saml_md";
	}
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	free(k->cert);
	free(k->spki);
	free(k->kid);
	free(k->alg);
	free(k->juse);
	memset(k, 0, sizeof(*k));
}

void
entity_free(struct entity *e)
{
	size_t	 i;

	if (e == NULL)
		return;
	free(e->id);
	for (i = 0; i < e->keysz; i++)
		key_free(&e->keys[i]);
	free(e->keys);
	free(e->ra);
	strv_free(e->categories, e->categoriesz);
	free(e->org);
	free(e->xml);
	free(e->ta);
	strv_free(e->path, e->pathsz);
	for (i = 0; i < e->tmsz; i++)
		free(e->tms[i].type);
	free(e->tms);
	strv_free(e->scopes, e->scopesz);
	free(e->names_kind);
	strv_free(e->names, e->namesz);
	free(e->meta);
	memset(e, 0, sizeof(*e));
}

void
entity_set_free(struct entity_set *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->entitiesz; i++)
		entity_free(&s->entities[i]);
	free(s->entities);
	for (i = 0; i < s->dropsz; i++) {
		free(s->drops[i].id);
		free(s->drops[i].detail);
	}
	free(s->drops);
	free(s->name);
	free(s->signer);
	memset(s, 0, sizeof(*s));
	s->cache_duration = -1;
}

/* Copy n bytes into fresh memory, NUL-terminated (NULL stays NULL). */
static void *
memdup(const void *p, size_t n)
{
	void	*r;

	if (p == NULL)
		return NULL;
	r = xmalloc(n + 1);
	memcpy(r, p, n);
	((char *)r)[n] = '\0';
	return r;
}

static char *
strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A fresh copy of the string array src (n entries) into *dst. */
static void
strv_copy(char ***dst, size_t *dstsz, char *const *src, size_t n)
{
	size_t	 i;

	*dst = NULL;
	*dstsz = 0;
	for (i = 0; i < n; i++)
		strv_push(dst, dstsz, src[i]);
}

void
key_copy(struct key *dst, const struct key *k)
{
	*dst = *k;
	dst->cert = memdup(k->cert, k->certsz);
	dst->spki = memdup(k->spki, k->spkisz);
	dst->kid = strdup_or_null(k->kid);
	dst->alg = strdup_or_null(k->alg);
	dst->juse = strdup_or_null(k->juse);
}

void
entity_copy(struct entity *dst, const struct entity *e)
{
	size_t	 i;

	*dst = *e;
	dst->id = strdup_or_null(e->id);
	dst->ra = strdup_or_null(e->ra);
	dst->org = strdup_or_null(e->org);
	dst->xml = memdup(e->xml, e->xmlsz);
	dst->keys = e->keysz ? xcalloc(e->keysz, sizeof(*dst->keys)) : NULL;
	for (i = 0; i < e->keysz; i++)
		key_copy(&dst->keys[i], &e->keys[i]);
	strv_copy(&dst->categories, &dst->categoriesz, e->categories, e->categoriesz);
	dst->ta = strdup_or_null(e->ta);
	strv_copy(&dst->path, &dst->pathsz, e->path, e->pathsz);
	dst->tms = e->tmsz ? xcalloc(e->tmsz, sizeof(*dst->tms)) : NULL;
	for (i = 0; i < e->tmsz; i++) {
		dst->tms[i].type = xstrdup(e->tms[i].type);
		dst->tms[i].exp = e->tms[i].exp;
	}
	strv_copy(&dst->scopes, &dst->scopesz, e->scopes, e->scopesz);
	dst->names_kind = strdup_or_null(e->names_kind);
	strv_copy(&dst->names, &dst->namesz, e->names, e->namesz);
	dst->meta = memdup(e->meta, e->metasz);
}

/* Append a fresh zeroed entity to s and return it (owned by s). */
struct entity *
entity_set_add(struct entity_set *s)
{
	struct entity	*e;

	s->entities = xreallocarray(s->entities, s->entitiesz + 1, sizeof(*s->entities));
	e = &s->entities[s->entitiesz++];
	memset(e, 0, sizeof(*e));
	return e;
}

void
entity_set_drop(struct entity_set *s, const char *id, enum reason r, const char *fmt, ...)
{
	struct drop	*d;
	va_list		 ap;
	char		 buf[512], idbuf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->drops = xreallocarray(s->drops, s->dropsz + 1, sizeof(*s->drops));
	d = &s->drops[s->dropsz++];
	d->id = xstrdup(id != NULL ? log_sanitize(id, strlen(id), idbuf, sizeof(idbuf)) :
	    "(unknown)");
	d->reason = r;
	d->detail = xstrdup(buf);
}

/* Append key k (ownership of its members taken, *k zeroed) to e. */
void
entity_add_key(struct entity *e, struct key *k)
{
	if (e->keysz >= MAX_KEYS) {
		key_free(k);
		return;
	}
	e->keys = xreallocarray(e->keys, e->keysz + 1, sizeof(*e->keys));
	e->keys[e->keysz++] = *k;
	memset(k, 0, sizeof(*k));
}

/* Every ROLE_* bit with its name, in the bundle's order (config, bundle, listings). */
static const struct { unsigned bit; const char *name; } role_table[] = {
	{ ROLE_IDP, "idp" }, { ROLE_SP, "sp" }, { ROLE_AA, "aa" },
	{ ROLE_AUTHN, "authn" }, { ROLE_PDP, "pdp" }, { ROLE_OTHER, "other" },
	{ ROLE_OP, "openid_provider" }, { ROLE_RP, "openid_relying_party" },
	{ ROLE_OAUTH_AS, "oauth_authorization_server" }, { ROLE_OAUTH_CLIENT, "oauth_client" },
	{ ROLE_OAUTH_RS, "oauth_resource" }, { ROLE_TLS_CLIENT, "tls_client" },
	{ ROLE_TLS_SERVER, "tls_server" },
};

const char *
role_name_at(size_t i, unsigned *bit)
{
	if (i >= sizeof(role_table) / sizeof(role_table[0]))
		return NULL;
	*bit = role_table[i].bit;
	return role_table[i].name;
}

const char *
roles_join(unsigned roles, const char *sep, char *buf, size_t bufsz)
{
	const char	*name;
	unsigned	 bit;
	size_t		 i;

	buf[0] = '\0';
	for (i = 0; (name = role_name_at(i, &bit)) != NULL; i++)
		if (roles & bit)
			snprintf(buf + strlen(buf), bufsz - strlen(buf), "%s%s", buf[0] ? sep : "",
			    name);
	if (buf[0] == '\0')
		snprintf(buf, bufsz, "none");
	return buf;
}
