/*
 * libfedtrust: request-time lookups over a verified bundle (bundle-format.md
 * 4.9 steps 22-23) and the entity and key accessors.  Everything here only
 * reads the immutable bundle: safe from many threads at once, no allocation.
 */
#include <string.h>

#include "lib/bundlep.h"

/* e when it is still trusted at now, else NULL with FEDTRUST_E_EXPIRED. */
static const struct fedtrust_entity *
entity_alive(const struct fedtrust_entity *e, time_t now, struct fedtrust_error *err)
{
	char	 buf[64];

	if (now >= e->valid_until) {
		fedtrustp_error_set(err, FEDTRUST_E_EXPIRED,
		    "entity \"%s\" (%s) is no longer trusted (valid until %lld)",
		    fedtrustp_sanitize(e->id, strlen(e->id), buf, sizeof(buf)), e->proto,
		    (long long)e->valid_until);
		return NULL;
	}
	return e;
}

/* Hash table over (id, proto); exact bytes, no normalisation. */
const struct fedtrust_entity *
fedtrust_lookup(const struct fedtrust_bundle *b, const char *id, const char *proto,
    time_t now, struct fedtrust_error *err)
{
	const struct fedtrust_entity	*e;
	size_t				 i;
	char				 ibuf[64], pbuf[24];

	if (b == NULL || id == NULL || proto == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_ARG, "lookup: missing argument");
		return NULL;
	}
	for (i = fedtrustp_entity_hash(id, proto) & b->hmask; b->htab[i] != 0;
	    i = (i + 1) & b->hmask) {
		e = &b->ents[b->htab[i] - 1];
		if (strcmp(id, e->id) == 0 && strcmp(proto, e->proto) == 0)
			return entity_alive(e, now, err);
	}
	fedtrustp_error_set(err, FEDTRUST_E_NOT_FOUND, "no entity \"%s\" (%s) in the bundle",
	    fedtrustp_sanitize(id, strlen(id), ibuf, sizeof(ibuf)),
	    fedtrustp_sanitize(proto, strlen(proto), pbuf, sizeof(pbuf)));
	return NULL;
}

/*
 * By certificate thumbprint.  The same certificate may serve several
 * entities: the first one in (id, proto) order that is still trusted wins.
 */
const struct fedtrust_entity *
fedtrust_lookup_x5t(const struct fedtrust_bundle *b, const char *x5t, time_t now,
    const struct fedtrust_key **key, struct fedtrust_error *err)
{
	size_t	 lo = 0, hi, mid;
	char	 buf[64];

	if (key != NULL)
		*key = NULL;
	if (b == NULL || x5t == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_ARG, "lookup: missing argument");
		return NULL;
	}
	hi = b->nx5t;
	while (lo < hi) {		/* the first row >= x5t */
		mid = lo + (hi - lo) / 2;
		if (strcmp(b->x5t[mid].x5t, x5t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == b->nx5t || strcmp(b->x5t[lo].x5t, x5t) != 0) {
		fedtrustp_error_set(err, FEDTRUST_E_NOT_FOUND,
		    "no key with x5t#S256 \"%s\" in the bundle",
		    fedtrustp_sanitize(x5t, strlen(x5t), buf, sizeof(buf)));
		return NULL;
	}
	for (mid = lo; mid < b->nx5t && strcmp(b->x5t[mid].x5t, x5t) == 0; mid++)
		if (now < b->x5t[mid].ent->valid_until) {
			if (key != NULL)
				*key = b->x5t[mid].key;
			return b->x5t[mid].ent;
		}
	return entity_alive(b->x5t[lo].ent, now, err);
}

/* ------------------------------------------------------------ bundle */

uint64_t
fedtrust_bundle_seq(const struct fedtrust_bundle *b)
{
	return b->seq;
}

time_t
fedtrust_bundle_iat(const struct fedtrust_bundle *b)
{
	return (time_t)b->iat;
}

time_t
fedtrust_bundle_exp(const struct fedtrust_bundle *b)
{
	return (time_t)b->exp;
}

void
fedtrust_bundle_state(const struct fedtrust_bundle *b, const struct fedtrust_head *h,
    struct fedtrust_state *out)
{
	memset(out, 0, sizeof(*out));
	out->seq = b->seq;
	out->iat = b->iat;
	out->exp = b->exp;
	memcpy(out->bdig, b->bdig, sizeof(out->bdig));
	if (h != NULL) {
		out->head_iat = h->iat;
		out->head_exp = h->exp;
	}
}

size_t
fedtrust_bundle_entity_count(const struct fedtrust_bundle *b)
{
	return b->nents;
}

const struct fedtrust_entity *
fedtrust_bundle_entity_at(const struct fedtrust_bundle *b, size_t i)
{
	return i < b->nents ? &b->ents[i] : NULL;
}

/* ------------------------------------------------------------ entity */

const char *
fedtrust_entity_id(const struct fedtrust_entity *e)
{
	return e->id;
}

const char *
fedtrust_entity_proto(const struct fedtrust_entity *e)
{
	return e->proto;
}

const char *
fedtrust_entity_src(const struct fedtrust_entity *e)
{
	return e->src;
}

const char *
fedtrust_entity_ra(const struct fedtrust_entity *e)
{
	return e->ra;
}

const char *
fedtrust_entity_org(const struct fedtrust_entity *e)
{
	return e->org;
}

time_t
fedtrust_entity_valid_until(const struct fedtrust_entity *e)
{
	return e->valid_until;
}

size_t
fedtrust_entity_role_count(const struct fedtrust_entity *e)
{
	return json_array_size(e->roles);
}

const char *
fedtrust_entity_role(const struct fedtrust_entity *e, size_t i)
{
	return json_string_value(json_array_get(e->roles, i));
}

/* 1 when role is among the entity's roles (exact bytes). */
int
fedtrust_entity_has_role(const struct fedtrust_entity *e, const char *role)
{
	size_t	 i;

	for (i = 0; role != NULL && i < json_array_size(e->roles); i++)
		if (strcmp(json_string_value(json_array_get(e->roles, i)), role) == 0)
			return 1;
	return 0;
}

long
fedtrust_entity_scope_count(const struct fedtrust_entity *e)
{
	return e->scopes == NULL ? -1 : (long)json_array_size(e->scopes);
}

const char *
fedtrust_entity_scope(const struct fedtrust_entity *e, size_t i)
{
	return e->scopes == NULL ? NULL : json_string_value(json_array_get(e->scopes, i));
}

/* 1 when the scope of len bytes is in the entity's scopes. */
static int
scope_allowed(const struct fedtrust_entity *e, const char *s, size_t len)
{
	size_t		 i;
	const json_t	*v;

	json_array_foreach(e->scopes, i, v)
		if (json_string_length(v) == len && memcmp(json_string_value(v), s, len) == 0)
			return 1;
	return 0;
}

/*
 * 1 when every scope of the space-separated list (RFC 6749 3.3) is allowed;
 * an entity without "scopes" allows all of them.
 */
int
fedtrust_entity_allows_scopes(const struct fedtrust_entity *e, const char *scopes)
{
	const char	*p, *q;

	if (e->scopes == NULL)
		return 1;
	if (scopes == NULL)
		return 1;
	for (p = scopes; *p != '\0'; p = q) {
		while (*p == ' ')
			p++;
		for (q = p; *q != '\0' && *q != ' '; q++)
			;
		if (q > p && !scope_allowed(e, p, (size_t)(q - p)))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ entity: OIDF, SAML, X.509 */

const char *
fedtrust_entity_ta(const struct fedtrust_entity *e)
{
	return e->ta;
}

/* json_array_size() and json_array_get() answer 0 and NULL for an absent array. */
size_t
fedtrust_entity_path_count(const struct fedtrust_entity *e)
{
	return json_array_size(e->path);
}

const char *
fedtrust_entity_path(const struct fedtrust_entity *e, size_t i)
{
	return json_string_value(json_array_get(e->path, i));
}

size_t
fedtrust_entity_category_count(const struct fedtrust_entity *e)
{
	return json_array_size(e->ec);
}

const char *
fedtrust_entity_category(const struct fedtrust_entity *e, size_t i)
{
	return json_string_value(json_array_get(e->ec, i));
}

size_t
fedtrust_entity_trust_mark_count(const struct fedtrust_entity *e)
{
	return e->ntms;
}

const char *
fedtrust_entity_trust_mark_type(const struct fedtrust_entity *e, size_t i)
{
	return i < e->ntms ? e->tms[i].type : NULL;
}

/* The mark's exp, or 0 when it has none (or i is past the end). */
time_t
fedtrust_entity_trust_mark_exp(const struct fedtrust_entity *e, size_t i)
{
	return i < e->ntms ? e->tms[i].exp : 0;
}

/*
 * 1 when a mark of exactly this type is present and not expired at now
 * (now < exp; a mark without exp does not expire here).  The same type may
 * appear more than once (several issuers): any live one counts.
 */
int
fedtrust_entity_has_trust_mark(const struct fedtrust_entity *e, const char *type, time_t now)
{
	size_t	 i;

	for (i = 0; type != NULL && i < e->ntms; i++)
		if (strcmp(e->tms[i].type, type) == 0 &&
		    (e->tms[i].exp == 0 || now < e->tms[i].exp))
			return 1;
	return 0;
}

const char *
fedtrust_entity_names_kind(const struct fedtrust_entity *e)
{
	return e->names_kind;
}

/* subject_dn is one string; the san_* kinds are arrays. */
size_t
fedtrust_entity_name_count(const struct fedtrust_entity *e)
{
	if (e->names == NULL)
		return 0;
	return json_is_string(e->names) ? 1 : json_array_size(e->names);
}

const char *
fedtrust_entity_name(const struct fedtrust_entity *e, size_t i)
{
	if (json_is_string(e->names))
		return i == 0 ? json_string_value(e->names) : NULL;
	return json_string_value(json_array_get(e->names, i));
}

/*
 * RFC 8705 2.1.2 name check: 1 when the entity's names are of this kind and
 * value is one of them, byte for byte.  No DN, case or IP normalisation; an
 * empty value never matches (a certificate with an empty subject).
 */
int
fedtrust_entity_matches_cert_name(const struct fedtrust_entity *e, const char *kind,
    const char *value)
{
	size_t	 i, n;

	if (e->names_kind == NULL || kind == NULL || value == NULL || value[0] == '\0' ||
	    strcmp(kind, e->names_kind) != 0)
		return 0;
	n = fedtrust_entity_name_count(e);
	for (i = 0; i < n; i++)
		if (strcmp(fedtrust_entity_name(e, i), value) == 0)
			return 1;
	return 0;
}

size_t
fedtrust_entity_key_count(const struct fedtrust_entity *e)
{
	return e->nkeys;
}

const struct fedtrust_key *
fedtrust_entity_key(const struct fedtrust_entity *e, size_t i)
{
	return i < e->nkeys ? &e->keys[i] : NULL;
}

/* ------------------------------------------------------------ key */

const char *
fedtrust_key_jkt(const struct fedtrust_key *k)
{
	return k->jkt;
}

const char *
fedtrust_key_kid(const struct fedtrust_key *k)
{
	return k->kid;
}

const char *
fedtrust_key_alg(const struct fedtrust_key *k)
{
	return k->alg;
}

const char *
fedtrust_key_kty(const struct fedtrust_key *k)
{
	return k->kty;
}

const char *
fedtrust_key_x5t_s256(const struct fedtrust_key *k)
{
	return k->x5t;
}

const char *
fedtrust_key_prov(const struct fedtrust_key *k)
{
	return k->prov;
}

int
fedtrust_key_has_purpose(const struct fedtrust_key *k, const char *purpose)
{
	size_t		 i;
	const json_t	*v;

	if (purpose == NULL)
		return 0;
	json_array_foreach(k->purposes, i, v)
		if (strcmp(json_string_value(v), purpose) == 0)
			return 1;
	return 0;
}

const char *
fedtrust_key_json(const struct fedtrust_key *k)
{
	return k->json;
}

const unsigned char *
fedtrust_key_cert_der(const struct fedtrust_key *k, size_t *len)
{
	if (len != NULL)
		*len = k->der == NULL ? 0 : k->derlen;
	return k->der;
}
