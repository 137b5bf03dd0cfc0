/*
 * Trust chains of the resolver (openid-federation.md 1.4 C and D): a chain
 * from a node's verified links, every subordinate statement's constraints,
 * the subject's metadata with the immediate superior's overrides,
 * allowed_entity_types and the merged metadata policy, then the leaf's
 * application checks.  Signatures and iss/sub/key binding were checked
 * link by link (oidf_graph.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "oidf_int.h"

static const struct {
	const char	*name;
	unsigned	 role;
} otypes[] = {
	{ "openid_provider", ROLE_OP },
	{ "openid_relying_party", ROLE_RP },
	{ "oauth_authorization_server", ROLE_OAUTH_AS },
	{ "oauth_client", ROLE_OAUTH_CLIENT },
	{ "oauth_resource", ROLE_OAUTH_RS },
};

/* The entity type name of one ROLE_* bit of OIDF_ROLES, NULL otherwise. Static. */
const char *
otype_name(unsigned role)
{
	size_t	 i;

	for (i = 0; i < sizeof(otypes) / sizeof(otypes[0]); i++)
		if (otypes[i].role == role)
			return otypes[i].name;
	return NULL;
}

/* Statement j of c (borrowed from the graph; valid until the graph grows). */
const struct oidf_stmt *
ochain_st(const struct ores *r, const struct ochain *c, size_t j)
{
	if (j == 0)
		return &r->nodes[c->node[0]].ec;
	return &r->nodes[c->node[j - 1]].ups[c->link[j]].ss;
}

/*
 * The chain of node i through its verified link li, then each superior's
 * first verified link up to the trust anchor.  0 / -1 with v (chain-limit
 * when longer than MAX_OIDF_PATH statements).
 */
int
ochain_build(const struct ores *r, size_t i, size_t li, struct ochain *c, struct verdict *v)
{
	const struct olink	*l;
	size_t			 cur = i;

	memset(c, 0, sizeof(*c));
	c->node[0] = i;
	c->n = 1;
	c->exp = r->nodes[i].ec.exp;
	while (cur != 0) {
		if (c->n >= MAX_OIDF_PATH)
			return verdict_set(v, R_CHAIN_LIMIT, "the chain from %s has more than %d "
			    "statements", r->nodes[i].disp, MAX_OIDF_PATH);
		l = &r->nodes[cur].ups[li];
		c->node[c->n] = l->sup;
		c->link[c->n] = li;
		c->n++;
		if (l->ss.exp < c->exp)
			c->exp = l->ss.exp;
		cur = l->sup;
		if (cur != 0 && (li = (size_t)r->nodes[cur].best) >= r->nodes[cur].upsz)
			return verdict_set(v, R_INTERNAL, "no verified path above %s",
			    r->nodes[cur].disp);
	}
	return 0;
}

/*
 * constraints of every subordinate statement (1.4 D): statement j limits
 * the j - 1 intermediates between its issuer and the subject, and names
 * the subject and those intermediates.  0 / -1 with v.
 */
static int
chain_constraints(const struct ores *r, const struct ochain *c, struct verdict *v)
{
	const char		*ids[MAX_OIDF_PATH];
	const struct oidf_stmt	*st;
	size_t			 j;

	for (j = 0; j < c->n; j++)
		ids[j] = r->nodes[c->node[j]].id;
	for (j = 1; j < c->n; j++) {
		st = ochain_st(r, c, j);
		if (st->constraints == NULL)
			continue;
		if (oidf_constraints_check(st->constraints, ids, j, j - 1, v) == -1)
			return ovwrap(v, v, "constraints of the statement by %s about %s",
			    r->nodes[c->node[j]].disp, r->nodes[c->node[j - 1]].disp);
	}
	return 0;
}

/*
 * The immediate superior's metadata over the subject's: parameter by
 * parameter, only for entity types the subject's configuration has.
 */
static void
metadata_override(json_t *md, const json_t *sup)
{
	const char	*type, *param;
	json_t		*val, *mine, *pv;

	json_object_foreach((json_t *)sup, type, val) {
		mine = json_object_get(md, type);
		if (!json_is_object(mine) || !json_is_object(val))
			continue;
		json_object_foreach(val, param, pv)
			json_object_set_new(mine, param, json_deep_copy(pv));
	}
}

/* Merge and apply the chain's metadata policies (TA's first) to md. 0 / -1 with v. */
static int
chain_policy(const struct ores *r, const struct ochain *c, json_t *md, struct verdict *v)
{
	const json_t		*pol[MAX_OIDF_PATH], *crit[MAX_OIDF_PATH];
	const struct oidf_stmt	*st;
	json_t			*merged = NULL;
	size_t			 j, k = 0;
	int			 rc;

	for (j = c->n - 1; j >= 1; j--) {
		st = ochain_st(r, c, j);
		pol[k] = st->metadata_policy;
		crit[k++] = st->metadata_policy_crit;
	}
	if (oidf_policy_merge(pol, crit, k, &merged, v) == -1)
		return ovwrap(v, v, "metadata policy of the chain from %s",
		    r->nodes[c->node[0]].disp);
	rc = oidf_policy_apply(merged, md, v);
	json_decref(merged);
	if (rc == -1)
		return ovwrap(v, v, "metadata policy applied to %s", r->nodes[c->node[0]].disp);
	return 0;
}

/*
 * Constraints, then the subject's resolved metadata (1.4 D steps 1-5):
 * *md a new object (caller decrefs).  0 / -1 with v.
 */
int
ochain_check(const struct ores *r, const struct ochain *c, json_t **md, struct verdict *v)
{
	const struct oidf_stmt	*ec = ochain_st(r, c, 0), *st;
	json_t			*m;
	size_t			 j;

	*md = NULL;
	if (chain_constraints(r, c, v) == -1)
		return -1;
	m = ec->metadata != NULL ? json_deep_copy(ec->metadata) : json_object();
	if (m == NULL)
		fatalx("json_deep_copy: out of memory");
	if (c->n > 1 && (st = ochain_st(r, c, 1))->metadata != NULL)
		metadata_override(m, st->metadata);
	for (j = 1; j < c->n; j++) {
		st = ochain_st(r, c, j);
		if (st->constraints != NULL && oidf_constraints_types(st->constraints, m, v) == -1) {
			json_decref(m);
			return ovwrap(v, v, "allowed_entity_types of the statement by %s about %s",
			    r->nodes[c->node[j]].disp, r->nodes[c->node[j - 1]].disp);
		}
	}
	if (chain_policy(r, c, m, v) == -1) {
		json_decref(m);
		return -1;
	}
	*md = m;
	return 0;
}

/* 1 when a leaf's metadata (configuration or resolved) publishes a fetch or list endpoint. */
static int
leaf_endpoints(const json_t *md)
{
	const json_t	*fe = json_object_get(md, "federation_entity");

	return json_object_get(fe, "federation_fetch_endpoint") != NULL ||
	    json_object_get(fe, "federation_list_endpoint") != NULL;
}

/* 1 when metadata names any protocol entity type. */
static int
has_types(const json_t *md)
{
	size_t	 i;

	for (i = 0; i < sizeof(otypes) / sizeof(otypes[0]); i++)
		if (json_object_get(md, otypes[i].name) != NULL)
			return 1;
	return 0;
}

/*
 * The leaf's entity types (ROLE_*) in md: each must be an object.  Types
 * outside the wanted ones are removed, with anything else but
 * federation_entity, so that md is what the entity is published with.
 * 0 / -1 with v.
 */
static int
leaf_types(const struct ores *r, const struct onode *n, json_t *md, unsigned *all,
    unsigned *kept, struct verdict *v)
{
	const char	*type;
	json_t		*val, *tmp;
	size_t		 i;

	*all = *kept = 0;
	for (i = 0; i < sizeof(otypes) / sizeof(otypes[0]); i++) {
		if ((val = json_object_get(md, otypes[i].name)) == NULL)
			continue;
		if (!json_is_object(val))
			return verdict_set(v, R_METADATA_INVALID, "resolved metadata of %s: %s is "
			    "not an object", n->disp, otypes[i].name);
		*all |= otypes[i].role;
	}
	*kept = *all & r->roles;
	json_object_foreach_safe(md, tmp, type, val) {
		for (i = 0; i < sizeof(otypes) / sizeof(otypes[0]); i++)
			if (strcmp(type, otypes[i].name) == 0)
				break;
		if (strcmp(type, "federation_entity") != 0 &&
		    (i == sizeof(otypes) / sizeof(otypes[0]) || !(*kept & otypes[i].role)))
			json_object_del(md, type);
	}
	return 0;
}

/*
 * Application checks of a leaf's resolved metadata (1.4 D step 6).
 * 0 kept (*roles set), 1 not wanted (no wanted entity type: skipped, or a
 * drop for a configured leaf), -1 with v.
 */
static int
leaf_check(const struct ores *r, size_t i, json_t *md, unsigned *roles, struct verdict *v)
{
	const struct onode	*n = &r->nodes[i];
	const json_t		*iss;
	unsigned		 all, kept;

	if (leaf_types(r, n, md, &all, &kept, v) == -1)
		return -1;
	if (all == 0) {
		if (has_types(n->ec.metadata))
			return verdict_set(v, R_ENTITY_FILTERED, "allowed_entity_types of the "
			    "chain from %s removed every protocol entity type it has", n->disp);
		if (!(n->kind & ONODE_STATIC))
			return 1;
		return verdict_set(v, R_METADATA_INVALID, "resolved metadata of %s has no "
		    "protocol entity type", n->disp);
	}
	if (leaf_endpoints(n->ec.metadata) || leaf_endpoints(md))
		return verdict_set(v, R_METADATA_INVALID, "%s is a leaf but publishes "
		    "federation_fetch_endpoint or federation_list_endpoint", n->disp);
	if (kept == 0) {
		if (!(n->kind & ONODE_STATIC))
			return 1;
		return verdict_set(v, R_ENTITY_FILTERED, "%s has none of the wanted entity "
		    "types", n->disp);
	}
	if (kept & ROLE_OP) {
		iss = json_object_get(json_object_get(md, "openid_provider"), "issuer");
		if (!json_is_string(iss) || strcmp(json_string_value(iss), n->id) != 0)
			return verdict_set(v, R_METADATA_INVALID, "resolved openid_provider "
			    "metadata of %s: issuer is not the entity id", n->disp);
	}
	if (kept & ROLE_OAUTH_AS) {
		iss = json_object_get(json_object_get(md, "oauth_authorization_server"), "issuer");
		if (!json_is_string(iss) || strcmp(json_string_value(iss), n->id) != 0)
			return verdict_set(v, R_METADATA_INVALID, "resolved oauth_authorization_server "
			    "metadata of %s: issuer is not the entity id", n->disp);
	}
	*roles = kept;
	return 0;
}

/* The verified links of node i, shortest path above first, into idx (count returned). */
static size_t
leaf_candidates(const struct ores *r, size_t i, size_t *idx)
{
	const struct onode	*n = &r->nodes[i];
	size_t			 k, m, cnt = 0, t;

	for (k = 0; k < n->upsz; k++)
		if (n->ups[k].state == 1)
			idx[cnt++] = k;
	for (k = 1; k < cnt; k++)	/* insertion sort, stable, at most MAX_OIDF_HINTS */
		for (m = k; m > 0 && r->nodes[n->ups[idx[m]].sup].plen <
		    r->nodes[n->ups[idx[m - 1]].sup].plen; m--) {
			t = idx[m];
			idx[m] = idx[m - 1];
			idx[m - 1] = t;
		}
	return cnt;
}

/*
 * Choose leaf i's chain (1.4 C): the shortest of its verified chains that
 * passes constraints, metadata policy and the application checks.
 * 0 (l filled; l->md the caller's), 1 skipped (no wanted entity type),
 * -1 with v (the shortest chain's failure, or why there is none).
 */
int
oleaf_select(struct ores *r, size_t i, struct oleaf *l, struct verdict *v)
{
	size_t		 idx[MAX_OIDF_HINTS], cnt, k;
	struct verdict	 first, cur;
	int		 rc;

	memset(l, 0, sizeof(*l));
	if ((cnt = leaf_candidates(r, i, idx)) == 0) {
		oleaf_why(r, i, v);
		return -1;
	}
	memset(&first, 0, sizeof(first));
	for (k = 0; k < cnt; k++) {
		memset(&cur, 0, sizeof(cur));
		if (ochain_build(r, i, idx[k], &l->chain, &cur) == 0 &&
		    ochain_check(r, &l->chain, &l->md, &cur) == 0) {
			if ((rc = leaf_check(r, i, l->md, &l->roles, &cur)) == 0) {
				l->node = i;
				return 0;
			}
			json_decref(l->md);
			l->md = NULL;
			if (rc == 1)
				return 1;
		}
		if (first.reason == R_NONE)
			first = cur;
	}
	*v = first;
	return -1;
}
