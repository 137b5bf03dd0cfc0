/*
 * Trust marks of resolved leaves (openid-federation.md 1.4 E, first
 * release): static validation only.  The issuer must resolve to the same
 * trust anchor (or be it) and be authorised in the TA's trust_mark_issuers;
 * types with a trust_mark_owners entry are rejected (delegation is not
 * supported); a mark without exp only with trust-marks-without-exp = accept.
 * A failing mark is logged (trust-mark-invalid) and left out; the entity stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "oidf_int.h"

/*
 * Node ni as a trust mark issuer: its chain to the trust anchor passes the
 * same checks as a leaf's, short of the leaf's application checks.
 * Cached.  1 valid, 0 with v.
 */
int
otm_issuer_ok(struct ores *r, size_t ni, struct verdict *v)
{
	struct onode	*n = &r->nodes[ni];
	struct ochain	 c;
	json_t		*md = NULL;

	if (n->tmi_state == 0) {
		n->tmi_state = -1;
		if (!onode_ok(r, ni))
			oleaf_why(r, ni, &n->tmiv);
		else if (ochain_build(r, ni, (size_t)n->best, &c, &n->tmiv) == 0 &&
		    ochain_check(r, &c, &md, &n->tmiv) == 0)
			n->tmi_state = 1;
		json_decref(md);
	}
	if (n->tmi_state == -1)
		*v = n->tmiv;
	return n->tmi_state == 1;
}

/* The issuer of a trust mark JWT, unverified (only to know whom to resolve), or NULL. */
static const char *
mark_issuer(const struct ores *r, const json_t *entry, struct jws *j)
{
	const char	*m = json_string_value(json_object_get(entry, "trust_mark"));
	struct verdict	 v;

	memset(j, 0, sizeof(*j));
	if (m == NULL || jws_parse(m, strlen(m), "trust-mark+jwt", r->o->jws_flags, j, &v) == -1)
		return NULL;
	return json_string_value(json_object_get(j->payload, "iss"));
}

/* 1 when iss may issue marks of type under the TA's trust_mark_issuers ([] = anyone). */
static int
issuer_authorised(const struct ores *r, const char *type, const char *iss)
{
	const json_t	*a = json_object_get(r->tm_issuers, type), *e;
	size_t		 k;

	if (!json_is_array(a))
		return 0;
	if (json_array_size(a) == 0)
		return 1;
	json_array_foreach(a, k, e)
		if (json_is_string(e) && strcmp(json_string_value(e), iss) == 0)
			return 1;
	return 0;
}

/*
 * Before the marks are validated: the issuers of the marks the leaves
 * carry (authorised ones only, at most MAX_OIDF_TM_ISSUERS) explored
 * bottom-up and their links verified.
 */
void
otm_prepare(struct ores *r, const struct oleaf *ok, size_t nok)
{
	const json_t	*tms, *e;
	const char	*iss, *type;
	struct jws	 j;
	size_t		*start = NULL, n = 0, i, k, ni;

	for (i = 0; i < nok; i++) {
		tms = r->nodes[ok[i].node].ec.trust_marks;
		json_array_foreach(tms, k, e) {
			if (k >= MAX_OIDF_TRUST_MARKS)
				break;
			type = json_string_value(json_object_get(e, "trust_mark_type"));
			iss = mark_issuer(r, e, &j);
			if (type != NULL && iss != NULL && oidf_entity_id_ok(iss) &&
			    strcmp(iss, r->nodes[0].id) != 0 && issuer_authorised(r, type, iss) &&
			    (onode_find(r, iss) >= 0 || r->tmisz < MAX_OIDF_TM_ISSUERS)) {
				ni = onode_get(r, iss);
				if (!(r->nodes[ni].kind & ONODE_TMI)) {
					r->nodes[ni].kind |= ONODE_TMI;
					r->tmisz++;
					start = xreallocarray(start, n + 1, sizeof(*start));
					start[n++] = ni;
				}
			}
			jws_free(&j);
		}
	}
	oexplore_up(r, start, n);
	overify_down(r);
	free(start);
}

/* Checks of one mark's claims at now (no signature yet). 0 / -1 with v. */
static int
mark_claims(const struct ores *r, const struct onode *leaf, const char *type,
    const struct jws *j, time_t *exp, struct verdict *v)
{
	const json_t	*p = j->payload;
	const char	*iss = json_string_value(json_object_get(p, "iss"));
	const char	*sub = json_string_value(json_object_get(p, "sub"));
	const char	*t = json_string_value(json_object_get(p, "trust_mark_type"));

	if (iss == NULL || !oidf_entity_id_ok(iss))
		return verdict_set(v, R_JWT_CLAIM, "iss is not an entity identifier");
	if (sub == NULL || strcmp(sub, leaf->id) != 0)
		return verdict_set(v, R_JWT_CLAIM, "sub is not the entity carrying the mark");
	if (t == NULL || strcmp(t, type) != 0)
		return verdict_set(v, R_JWT_CLAIM, "trust_mark_type differs from the entry's");
	if (jwt_window(p, 1, !r->o->tm_no_exp, r->now, r->o->skew, 0, exp, v) == -1)
		return -1;
	if (json_object_get(r->tm_owners, type) != NULL)
		return verdict_set(v, R_TRUST_MARK, "the type has a trust_mark_owners entry at "
		    "the trust anchor: delegated marks are not supported");
	if (!issuer_authorised(r, type, iss))
		return verdict_set(v, R_TRUST_MARK, "the issuer is not authorised for the type "
		    "in the trust anchor's trust_mark_issuers");
	return 0;
}

/* The issuer's federation keys (it resolved to the same TA).  NULL with v. */
static const struct jwkset *
mark_keys(struct ores *r, const char *iss, struct verdict *v)
{
	long	 ni;

	if (strcmp(iss, r->nodes[0].id) == 0)
		return r->o->ta_keys;
	if ((ni = onode_find(r, iss)) < 0 || !(r->nodes[ni].kind & ONODE_TMI)) {
		verdict_set(v, R_CHAIN_LIMIT, "the issuer was not resolved (more than %d trust "
		    "mark issuers)", MAX_OIDF_TM_ISSUERS);
		return NULL;
	}
	if (!otm_issuer_ok(r, (size_t)ni, v)) {
		ovwrap(v, v, "the issuer has no valid chain to the trust anchor");
		return NULL;
	}
	return onode_keys(r, (size_t)ni);
}

/* Validate one trust_marks entry of leaf.  0 (*exp set) / -1 with v. */
static int
mark_check(struct ores *r, const struct onode *leaf, const json_t *entry, time_t *exp,
    struct verdict *v)
{
	const char		*type = json_string_value(json_object_get(entry, "trust_mark_type"));
	const char		*m = json_string_value(json_object_get(entry, "trust_mark"));
	const struct jwkset	*keys;
	struct jws		 j;
	char			 k[64];
	int			 rc = -1;

	memset(&j, 0, sizeof(j));
	if (type == NULL || m == NULL)
		return verdict_set(v, R_JWT_CLAIM, "entry without trust_mark_type or trust_mark");
	if (jws_parse(m, strlen(m), "trust-mark+jwt", r->o->jws_flags, &j, v) == -1)
		goto out;
	if (mark_claims(r, leaf, type, &j, exp, v) == -1)
		goto out;
	if ((keys = mark_keys(r, json_string_value(json_object_get(j.payload, "iss")), v)) == NULL)
		goto out;
	if (jwkset_find_kid(keys, j.kid) == NULL) {
		verdict_set(v, R_JWS_KID, "signed with kid %s, which is not a federation key of "
		    "the issuer", log_sanitize(j.kid, strlen(j.kid), k, sizeof(k)));
		goto out;
	}
	if (jws_verify(&j, keys, NULL, v) == -1)
		goto out;
	rc = 0;
 out:
	jws_free(&j);
	return rc;
}

/*
 * Validate the trust marks of leaf l's configuration (at most
 * MAX_OIDF_TRUST_MARKS) into e->tms, one per type; failures are logged.
 */
void
otm_validate(struct ores *r, const struct oleaf *l, struct entity *e)
{
	const struct onode	*leaf = &r->nodes[l->node];
	const json_t		*entry;
	const char		*type;
	struct verdict		 v, out;
	time_t			 exp;
	size_t			 k, m;
	char			 t[128];

	json_array_foreach(leaf->ec.trust_marks, k, entry) {
		if (k >= MAX_OIDF_TRUST_MARKS) {
			log_warnx("source=%s: %s carries more than %d trust marks; the rest are "
			    "not looked at", r->o->source, leaf->disp, MAX_OIDF_TRUST_MARKS);
			break;
		}
		memset(&v, 0, sizeof(v));
		type = json_string_value(json_object_get(entry, "trust_mark_type"));
		log_sanitize(type != NULL ? type : "(none)", 128, t, sizeof(t));
		if (mark_check(r, leaf, entry, &exp, &v) == -1) {
			verdict_set(&out, R_TRUST_MARK, "trust mark %s of %s left out: %s: %s", t,
			    leaf->disp, reason_code(v.reason), v.detail);
			log_reject(r->o->source, &out);
			continue;
		}
		for (m = 0; m < e->tmsz; m++)
			if (strcmp(e->tms[m].type, type) == 0)
				break;
		if (m < e->tmsz)
			continue;
		e->tms = xreallocarray(e->tms, e->tmsz + 1, sizeof(*e->tms));
		e->tms[e->tmsz].type = xstrdup(type);
		e->tms[e->tmsz++].exp = exp;
	}
}
