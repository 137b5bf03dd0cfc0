/*
 * The authority graph of one resolution (openid-federation.md 1.4 B):
 * nodes are entities with their configurations, edges the subordinate
 * statements their superiors issue.  Discovery walks list endpoints from
 * the trust anchor; exploration follows authority_hints up from a leaf;
 * links are verified from the trust anchor down, so every node's first
 * verified link is part of its shortest chain and loops never verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"
#include "oidf_int.h"

/* Index of the node of id, or -1. */
long
onode_find(const struct ores *r, const char *id)
{
	json_t	*ix = json_object_get(r->nidx, id);

	return ix != NULL ? (long)json_integer_value(ix) : -1;
}

/* The node of id, added when new (pointers into nodes become stale). */
size_t
onode_get(struct ores *r, const char *id)
{
	struct onode	*n;
	long		 i = onode_find(r, id);
	char		 buf[256];

	if (i >= 0)
		return (size_t)i;
	r->nodes = xreallocarray(r->nodes, r->nodesz + 1, sizeof(*r->nodes));
	n = &r->nodes[r->nodesz];
	memset(n, 0, sizeof(*n));
	n->id = xstrdup(id);
	n->disp = xstrdup(log_sanitize(id, strlen(id), buf, sizeof(buf)));
	n->best = -1;
	if (json_object_set_new_nocheck(r->nidx, id, json_integer((json_int_t)r->nodesz)) == -1)
		fatalx("json_object_set: out of memory");
	return r->nodesz++;
}

/* 1 when the node has a verified path to the trust anchor (or is it). */
int
onode_ok(const struct ores *r, size_t i)
{
	return i == 0 ? r->nodes[0].ec_state == 1 : r->nodes[i].best >= 0;
}

/*
 * The federation keys of a verified node as its superior attests them (the
 * configured keys for the trust anchor).  Borrowed.
 */
const struct jwkset *
onode_keys(const struct ores *r, size_t i)
{
	const struct onode	*n = &r->nodes[i];

	if (i == 0)
		return r->o->ta_keys;
	return &n->ups[n->best].ss.jwks;
}

/* metadata.federation_entity.NAME of a statement when a string, else NULL. Borrowed. */
const char *
oec_endpoint(const struct oidf_stmt *st, const char *name)
{
	const json_t	*fe = json_object_get(st->metadata, "federation_entity");

	return json_string_value(json_object_get(fe, name));
}

/* <id without one trailing '/'>/.well-known/openid-federation.  Caller frees. */
char *
oec_url(const char *id)
{
	size_t	 len = strlen(id);
	char	*s;

	if (len > 0 && id[len - 1] == '/')
		len--;
	xasprintf(&s, "%.*s/.well-known/openid-federation", (int)len, id);
	return s;
}

/* Percent-encoding of s (RFC 3986 unreserved characters kept).  Caller frees. */
static char *
pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		 i, o = 0, len = strlen(s);
	char		*out = xmalloc(3 * len + 1);
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Load node i's configuration once its URL was fetched: a valid statement,
 * self-issued (iss == sub == the id asked for), verified with its own keys.
 */
void
oec_load(struct ores *r, size_t i)
{
	struct onode		*n = &r->nodes[i];
	const struct oidf_opts	*o = r->o;
	const struct ofetch	*f;
	char			*url, b[256];

	if (n->ec_state != 0)
		return;
	url = oec_url(n->id);
	f = ofetch_get(r, url);
	free(url);
	if (f == NULL)
		return;
	n->ec_state = -1;
	if (!f->ok) {
		ovwrap(&n->ecv, &f->v, "configuration of %s", n->disp);
		return;
	}
	if (oidf_stmt_parse(f->body, f->bodysz, o->jws_flags, r->now, o->skew, o->max_validity,
	    &n->ec, &n->ecv) == -1) {
		oidf_stmt_free(&n->ec);
		memset(&n->ec, 0, sizeof(n->ec));
		ovwrap(&n->ecv, &n->ecv, "configuration of %s", n->disp);
		return;
	}
	n->ec_parsed = 1;
	if (!n->ec.is_ec) {
		verdict_set(&n->ecv, R_CHAIN_LINK, "configuration of %s: iss %s differs from sub",
		    n->disp, log_sanitize(n->ec.iss, strlen(n->ec.iss), b, sizeof(b)));
		return;
	}
	if (strcmp(n->ec.sub, n->id) != 0) {
		verdict_set(&n->ecv, R_CHAIN_LINK, "configuration of %s: sub is %s", n->disp,
		    log_sanitize(n->ec.sub, strlen(n->ec.sub), b, sizeof(b)));
		return;
	}
	if (jws_verify(&n->ec.jws, &n->ec.jwks, NULL, &n->ecv) == -1) {
		ovwrap(&n->ecv, &n->ecv, "configuration of %s, with its own keys", n->disp);
		return;
	}
	n->ec_state = 1;
}

/* Make node i a leaf to resolve (at most MAX_OIDF_ENTITIES; beyond: dropped). */
void
oleaf_add(struct ores *r, size_t i)
{
	struct onode	*n = &r->nodes[i];

	if (n->kind & ONODE_LEAF)
		return;
	n->kind |= ONODE_LEAF;
	if (r->leafsz >= MAX_OIDF_ENTITIES) {
		entity_set_drop(r->out, n->id, R_CHAIN_LIMIT, "more than %d leaves in the "
		    "federation", MAX_OIDF_ENTITIES);
		return;
	}
	r->leaves = xreallocarray(r->leaves, r->leafsz + 1, sizeof(*r->leaves));
	r->leaves[r->leafsz++] = i;
}

/*
 * The link from node i up to sup: its index in ups, added when new; -1
 * when the node already has MAX_OIDF_HINTS superiors (it is marked truncated).
 */
static long
link_add(struct ores *r, size_t i, size_t sup)
{
	struct onode	*n = &r->nodes[i];
	size_t		 k;

	for (k = 0; k < n->upsz; k++)
		if (n->ups[k].sup == sup)
			return (long)k;
	if (n->upsz >= MAX_OIDF_HINTS) {
		n->truncated = 1;
		return -1;
	}
	n->ups = xreallocarray(n->ups, n->upsz + 1, sizeof(*n->ups));
	memset(&n->ups[n->upsz], 0, sizeof(n->ups[n->upsz]));
	n->ups[n->upsz].sup = sup;
	return (long)n->upsz++;
}

/* 1 when id is one of the authority_hints of n's configuration. */
static int
hint_listed(const struct onode *n, const char *id)
{
	const json_t	*h;
	size_t		 k;

	json_array_foreach(n->ec.authority_hints, k, h)
		if (json_is_string(h) && strcmp(json_string_value(h), id) == 0)
			return 1;
	return 0;
}

/* The fetch URL of sup's statement about sub, NULL when sup has no usable endpoint. */
static char *
ss_url(const struct ores *r, size_t sup, size_t sub)
{
	const char	*ep;
	char		*q, *u, *enc;

	if (r->nodes[sup].ec_state != 1)
		return NULL;
	ep = oec_endpoint(&r->nodes[sup].ec, "federation_fetch_endpoint");
	if (!ourl_https(ep))
		return NULL;
	enc = pct_encode(r->nodes[sub].id);
	xasprintf(&q, "sub=%s", enc);
	u = ourl_join(ep, q);
	free(enc);
	free(q);
	return u;
}

/* The signature of st with a key of keys (by kid, owned by whom); binding failures are chain-link. */
static int
bound_verify(const struct oidf_stmt *st, const struct jwkset *keys, const char *what,
    const char *whom, struct verdict *v)
{
	char	 k[64];

	if (jwkset_find_kid(keys, st->jws.kid) == NULL)
		return verdict_set(v, R_CHAIN_LINK, "%s: signed with kid %s, which is not a key "
		    "of %s", what, log_sanitize(st->jws.kid, strlen(st->jws.kid), k, sizeof(k)),
		    whom);
	if (jws_verify(&st->jws, keys, NULL, v) == -1)
		return ovwrap(v, v, "%s", what);
	return 0;
}

/*
 * Verify the link from node i to its superior ups[li] (a verified node):
 * i's configuration loaded and naming the superior in authority_hints; the
 * superior's statement about i fetched, iss == superior, sub == i, signed
 * with a key the superior's own superior attests (the configured keys for
 * the TA); i's configuration signed with a key that statement lists.
 * 0 / -1 with v.
 */
static int
link_verify(struct ores *r, size_t i, size_t li, struct verdict *v)
{
	struct onode		*n = &r->nodes[i], *h;
	struct olink		*l = &n->ups[li];
	const struct oidf_opts	*o = r->o;
	const struct ofetch	*f;
	const struct jwk_entry	*mine, *att;
	char			*url, what[700], b[256];

	h = &r->nodes[l->sup];
	snprintf(what, sizeof(what), "statement by %s about %s", h->disp, n->disp);
	if (n->ec_state != 1) {
		*v = n->ecv;
		if (n->ec_state == 0)
			verdict_set(v, R_CHAIN_LIMIT, "configuration of %s was not fetched", n->disp);
		return -1;
	}
	if (!hint_listed(n, h->id))
		return verdict_set(v, R_CHAIN_LINK, "%s: %s is not among the authority_hints of %s",
		    what, h->disp, n->disp);
	if ((url = ss_url(r, l->sup, i)) == NULL)
		return verdict_set(v, R_METADATA_INVALID, "%s: %s publishes no https "
		    "federation_fetch_endpoint", what, h->disp);
	f = ofetch_get(r, url);
	free(url);
	if (f == NULL)
		return verdict_set(v, R_INTERNAL, "%s: not fetched", what);
	if (!f->ok)
		return ovwrap(v, &f->v, "%s", what);
	if (oidf_stmt_parse(f->body, f->bodysz, o->jws_flags, r->now, o->skew, o->max_validity,
	    &l->ss, v) == -1) {
		oidf_stmt_free(&l->ss);
		memset(&l->ss, 0, sizeof(l->ss));
		return ovwrap(v, v, "%s", what);
	}
	l->parsed = 1;
	if (strcmp(l->ss.iss, h->id) != 0)
		return verdict_set(v, R_CHAIN_LINK, "%s: iss is %s, not the superior", what,
		    log_sanitize(l->ss.iss, strlen(l->ss.iss), b, sizeof(b)));
	if (strcmp(l->ss.sub, n->id) != 0)
		return verdict_set(v, R_CHAIN_LINK, "%s: sub is %s, not the subject", what,
		    log_sanitize(l->ss.sub, strlen(l->ss.sub), b, sizeof(b)));
	if (bound_verify(&l->ss, onode_keys(r, l->sup), what, h->disp, v) == -1)
		return -1;
	snprintf(what, sizeof(what), "configuration of %s", n->disp);
	snprintf(b, sizeof(b), "the statement by %s about it", h->disp);
	if ((mine = jwkset_find_kid(&n->ec.jwks, n->ec.jws.kid)) != NULL &&
	    (att = jwkset_find_kid(&l->ss.jwks, n->ec.jws.kid)) != NULL &&
	    strcmp(mine->jkt, att->jkt) == 0 && mine->verify_ok == att->verify_ok &&
	    strcmp(mine->alg ? mine->alg : "", att->alg ? att->alg : "") == 0)
		return 0;	/* the very key that verified it in oec_load */
	return bound_verify(&n->ec, &l->ss.jwks, what, b, v);
}

/*
 * Verify candidate links c[0..n) in one batch (configurations and
 * statements fetched together).  A node's first verified link becomes its
 * path to the trust anchor.
 */
static void
links_verify(struct ores *r, const struct olref *c, size_t n)
{
	struct onode	*x;
	struct olink	*l;
	size_t		 k;
	char		*url;

	for (k = 0; k < n; k++) {
		if (r->nodes[c[k].node].ec_state == 0) {
			url = oec_url(r->nodes[c[k].node].id);
			ofetch_want(r, url, MAX_JWS_SIZE);
			free(url);
		}
		if ((url = ss_url(r, r->nodes[c[k].node].ups[c[k].link].sup, c[k].node)) != NULL)
			ofetch_want(r, url, MAX_JWS_SIZE);
		free(url);
	}
	ofetch_run(r);
	for (k = 0; k < n; k++) {
		oec_load(r, c[k].node);
		x = &r->nodes[c[k].node];
		l = &x->ups[c[k].link];
		if (l->state != 0)
			continue;
		if (link_verify(r, c[k].node, c[k].link, &l->v) == -1) {
			l->state = -1;
			continue;
		}
		l->state = 1;
		if (x->best < 0) {
			x->best = (long)c[k].link;
			x->plen = (l->sup == 0 ? 0 : r->nodes[l->sup].plen) + 1;
		}
	}
}

/* ------------------------------------------------------------ discovery */

/* The list request(s) of superior i: filtered by the wanted types when roles restrict. */
static size_t
list_urls(const struct ores *r, size_t i, char *urls[2])
{
	const char	*ep = oec_endpoint(&r->nodes[i].ec, "federation_list_endpoint");
	char		*q = NULL, *t;
	unsigned	 role;

	if (r->roles == OIDF_ROLES) {
		urls[0] = xstrdup(ep);
		return 1;
	}
	for (role = 1; role <= ROLE_ALL; role <<= 1) {
		if (!(r->roles & role))
			continue;
		xasprintf(&t, "%s%sentity_type=%s", q ? q : "", q ? "&" : "", otype_name(role));
		free(q);
		q = t;
	}
	urls[0] = ourl_join(ep, q);
	urls[1] = ourl_join(ep, "intermediate=true");
	free(q);
	return 2;
}

/*
 * A list response: a strict JSON array of strings, at most MAX_OIDF_LIST
 * of them taken.  Appends them to ids.  0 / -1 with v.
 */
static int
list_parse(const struct ores *r, const struct ofetch *f, json_t *ids, struct verdict *v)
{
	struct fedtrust_error	 err;
	json_t			*a, *e;
	size_t			 k;

	a = fedtrustp_json_parse(f->body, f->bodysz, MAX_OIDF_LIST_SIZE,
	    FEDTRUSTP_MAX_JSON_DEPTH, &err);
	if (a == NULL)
		return verdict_set(v, R_JSON_INVALID, "%s", err.text);
	if (!json_is_array(a)) {
		json_decref(a);
		return verdict_set(v, R_JSON_INVALID, "not a JSON array of entity identifiers");
	}
	json_array_foreach(a, k, e) {
		if (!json_is_string(e)) {
			json_decref(a);
			return verdict_set(v, R_JSON_INVALID, "member %zu is not a string", k);
		}
	}
	if (json_array_size(a) > MAX_OIDF_LIST)
		log_warnx("source=%s: a list response holds %zu entity ids; only the first %d "
		    "are taken", r->o->source, json_array_size(a), MAX_OIDF_LIST);
	json_array_foreach(a, k, e) {
		if (k >= MAX_OIDF_LIST)
			break;
		json_array_append(ids, e);
	}
	json_decref(a);
	return 0;
}

/*
 * The subordinates listed by each superior of front[0..n): ids[k] a new
 * array, or NULL with vs[k] set.  A filtered request answered with a 4xx
 * status (400 unsupported_parameter; 404 when replayed from a snapshot
 * that never held it) is retried once without parameters.
 */
static void
lists_fetch(struct ores *r, const size_t *front, size_t n, json_t **ids, struct verdict *vs)
{
	char			*(*urls)[2] = xcalloc(n, sizeof(*urls));
	size_t			*nu = xcalloc(n, sizeof(*nu)), k, j;
	const struct ofetch	*f;
	const char		*ep;

	for (k = 0; k < n; k++) {
		nu[k] = list_urls(r, front[k], urls[k]);
		for (j = 0; j < nu[k]; j++)
			ofetch_want(r, urls[k][j], MAX_OIDF_LIST_SIZE);
	}
	ofetch_run(r);
	for (k = 0; k < n; k++)
		for (j = 0; j < nu[k] && nu[k] == 2; j++) {
			f = ofetch_get(r, urls[k][j]);
			if (!f->ok && f->status >= 400 && f->status < 500)
				ofetch_want(r, oec_endpoint(&r->nodes[front[k]].ec,
				    "federation_list_endpoint"), MAX_OIDF_LIST_SIZE);
		}
	ofetch_run(r);
	for (k = 0; k < n; k++) {
		ep = oec_endpoint(&r->nodes[front[k]].ec, "federation_list_endpoint");
		ids[k] = json_array();
		for (j = 0; j < nu[k] && ids[k] != NULL; j++) {
			f = ofetch_get(r, urls[k][j]);
			if (!f->ok && nu[k] == 2 && f->status >= 400 && f->status < 500)
				f = ofetch_get(r, ep);
			if (!f->ok)
				vs[k] = f->v;
			if (!f->ok || list_parse(r, f, ids[k], &vs[k]) == -1) {
				json_decref(ids[k]);
				ids[k] = NULL;
			}
		}
		for (j = 0; j < nu[k]; j++)
			free(urls[k][j]);
	}
	free(urls);
	free(nu);
}

/* Links of the subordinates listed by front[k] (ids[k]) into *c (*cn). */
static void
level_links(struct ores *r, size_t sup, const json_t *ids, struct olref **c, size_t *cn)
{
	const json_t	*e;
	const char	*s;
	size_t		 k, i;
	long		 li;

	json_array_foreach(ids, k, e) {
		s = json_string_value(e);
		if (!oidf_entity_id_ok(s)) {
			entity_set_drop(r->out, s, R_ENTITY_ID_INVALID, "listed by %s: not a valid "
			    "entity identifier", r->nodes[sup].disp);
			continue;
		}
		if (strcmp(s, r->nodes[0].id) == 0 || strcmp(s, r->nodes[sup].id) == 0)
			continue;
		i = onode_get(r, s);
		if ((li = link_add(r, i, sup)) < 0 || r->nodes[i].ups[li].state != 0)
			continue;
		*c = xreallocarray(*c, *cn + 1, sizeof(**c));
		(*c)[*cn].node = i;
		(*c)[(*cn)++].link = (size_t)li;
	}
}

/*
 * Classify the subordinates of one level by their configuration: an
 * intermediate (it publishes a list endpoint) is walked next when its
 * link verified and the limits allow; anything else is a leaf.
 */
static void
level_classify(struct ores *r, const struct olref *c, size_t cn, size_t depth, size_t **next,
    size_t *nextn)
{
	struct onode	*x;
	size_t		 k;

	for (k = 0; k < cn; k++) {
		x = &r->nodes[c[k].node];
		if (x->kind & (ONODE_LEAF | ONODE_INTER))
			continue;
		if (x->ec_state != 1 || oec_endpoint(&x->ec, "federation_list_endpoint") == NULL) {
			oleaf_add(r, c[k].node);
			continue;
		}
		x->kind |= ONODE_INTER;
		if (!onode_ok(r, c[k].node) || x->listed)
			continue;
		if (depth + 1 > MAX_OIDF_LIST_DEPTH || x->plen > MAX_OIDF_PATH - 2) {
			x->truncated = 1;
			log_warnx("source=%s: intermediate %s is not walked: more than %d levels "
			    "of intermediates", r->o->source, x->disp, MAX_OIDF_LIST_DEPTH);
			continue;
		}
		if (!ourl_https(oec_endpoint(&x->ec, "federation_list_endpoint"))) {
			entity_set_drop(r->out, x->id, R_METADATA_INVALID, "intermediate %s: "
			    "federation_list_endpoint is not an https URL", x->disp);
			continue;
		}
		x->listed = 1;
		*next = xreallocarray(*next, *nextn + 1, sizeof(**next));
		(*next)[(*nextn)++] = c[k].node;
	}
}

/* One level of discovery under front[0..n); the intermediates to walk next in *next. */
static int
discover_level(struct ores *r, const size_t *front, size_t n, size_t depth, size_t **next,
    size_t *nextn, struct verdict *v)
{
	json_t		**ids = xcalloc(n, sizeof(*ids));
	struct verdict	*vs = xcalloc(n, sizeof(*vs));
	struct olref	*c = NULL;
	size_t		 k, cn = 0;
	int		 rc = -1;

	lists_fetch(r, front, n, ids, vs);
	for (k = 0; k < n; k++) {
		if (ids[k] != NULL) {
			level_links(r, front[k], ids[k], &c, &cn);
			continue;
		}
		if (front[k] == 0) {
			ovwrap(v, &vs[k], "list of the trust anchor %s", r->nodes[0].disp);
			goto out;
		}
		entity_set_drop(r->out, r->nodes[front[k]].id, vs[k].reason, "intermediate: "
		    "list of %s: %s", r->nodes[front[k]].disp, vs[k].detail);
	}
	links_verify(r, c, cn);
	level_classify(r, c, cn, depth, next, nextn);
	rc = 0;
 out:
	for (k = 0; k < n; k++)
		json_decref(ids[k]);
	free(ids);
	free(vs);
	free(c);
	return rc;
}

/*
 * Top-down discovery from the trust anchor (1.4 B): list endpoints walked
 * recursively into verified intermediates, at most MAX_OIDF_LIST_DEPTH
 * levels.  -1 with v only when the trust anchor's own list fails.
 */
int
odiscover(struct ores *r, struct verdict *v)
{
	size_t		*front = xcalloc(1, sizeof(*front)), *next, frontn = 1, nextn, depth, i;
	struct verdict	 why;

	r->nodes[0].listed = 1;
	for (depth = 0; frontn > 0; depth++) {
		next = NULL;
		nextn = 0;
		if (discover_level(r, front, frontn, depth, &next, &nextn, v) == -1) {
			free(next);
			free(front);
			return -1;
		}
		free(front);
		front = next;
		frontn = nextn;
	}
	free(front);
	for (i = 1; i < r->nodesz; i++)
		if ((r->nodes[i].kind & ONODE_INTER) && !onode_ok(r, i)) {
			oleaf_why(r, i, &why);
			entity_set_drop(r->out, r->nodes[i].id, why.reason, "intermediate: %s",
			    why.detail);
		}
	return 0;
}

/* ------------------------------------------------------------ bottom-up */

/* Follow the authority_hints of node x (loaded): at most MAX_OIDF_HINTS, new ones queued. */
static void
follow_hints(struct ores *r, size_t x, size_t **next, size_t *nextn)
{
	const json_t	*hints = r->nodes[x].ec.authority_hints, *e;
	size_t		 k, cnt = json_array_size(hints), h;
	const char	*s;

	r->nodes[x].explored = 1;
	if (cnt > MAX_OIDF_HINTS) {
		r->nodes[x].truncated = 1;
		cnt = MAX_OIDF_HINTS;
	}
	for (k = 0; k < cnt; k++) {
		e = json_array_get(hints, k);
		s = json_string_value(e);
		if (s == NULL || !oidf_entity_id_ok(s) || strcmp(s, r->nodes[x].id) == 0)
			continue;
		h = onode_get(r, s);
		if (link_add(r, x, h) < 0)
			continue;
		if (onode_ok(r, h) || r->nodes[h].explored || r->nodes[h].mark == r->gen)
			continue;	/* verified, or visited: a loop is not followed again */
		r->nodes[h].mark = r->gen;
		*next = xreallocarray(*next, *nextn + 1, sizeof(**next));
		(*next)[(*nextn)++] = h;
	}
}

/*
 * Bottom-up exploration (1.4 B) from start[0..n): configurations fetched
 * level by level, authority_hints followed, visited entities skipped,
 * at most MAX_OIDF_PATH - 1 levels (a longer chain could not be used).
 */
void
oexplore_up(struct ores *r, const size_t *start, size_t n)
{
	size_t	*front, *next, frontn = 0, nextn, level, k;
	char	*url;

	front = xcalloc(n + 1, sizeof(*front));
	for (k = 0; k < n; k++)
		if (!r->nodes[start[k]].explored)
			front[frontn++] = start[k];
	for (level = 0; frontn > 0; level++) {
		if (level >= MAX_OIDF_PATH - 1) {
			for (k = 0; k < frontn; k++)
				r->nodes[front[k]].truncated = 1;
			break;
		}
		for (k = 0; k < frontn; k++)
			if (r->nodes[front[k]].ec_state == 0) {
				url = oec_url(r->nodes[front[k]].id);
				ofetch_want(r, url, MAX_JWS_SIZE);
				free(url);
			}
		ofetch_run(r);
		r->gen++;
		next = NULL;
		nextn = 0;
		for (k = 0; k < frontn; k++) {
			oec_load(r, front[k]);
			if (r->nodes[front[k]].ec_state == 1 && !r->nodes[front[k]].explored)
				follow_hints(r, front[k], &next, &nextn);
		}
		free(front);
		front = next;
		frontn = nextn;
	}
	free(front);
}

/*
 * Verify untried links from the trust anchor down, shortest paths first:
 * round k tries links to superiors whose path has k - 1 statements.
 * Leaves try every superior (alternative chains); other nodes stop at
 * their first verified link.
 */
void
overify_down(struct ores *r)
{
	struct olref	*c = NULL;
	struct onode	*x;
	size_t		 round, i, li, cn, sup;

	for (round = 1; round < MAX_OIDF_PATH; round++) {
		cn = 0;
		for (i = 1; i < r->nodesz; i++) {
			x = &r->nodes[i];
			if (x->best >= 0 && !(x->kind & ONODE_LEAF))
				continue;
			for (li = 0; li < x->upsz; li++) {
				sup = x->ups[li].sup;
				if (x->ups[li].state != 0 || !onode_ok(r, sup) ||
				    (sup == 0 ? 0 : r->nodes[sup].plen) != round - 1)
					continue;
				c = xreallocarray(c, cn + 1, sizeof(*c));
				c[cn].node = i;
				c[cn++].link = li;
			}
		}
		if (cn > 0)
			links_verify(r, c, cn);
	}
	free(c);
}

/*
 * Why node i has no usable chain: its own configuration, then its own
 * links, then a limit met anywhere above it (chain-limit), then the
 * nearest failure above it, else no chain reaches the trust anchor.
 */
void
oleaf_why(const struct ores *r, size_t i, struct verdict *v)
{
	const struct onode	*n = &r->nodes[i], *x;
	const struct verdict	*first = NULL;
	size_t			*q, qn = 0, qi, k;
	unsigned char		*seen;
	int			 limit = 0;

	if (n->ec_state != 1) {
		if (n->ec_state == -1)
			*v = n->ecv;
		else
			verdict_set(v, R_CHAIN_LIMIT, "configuration of %s was not fetched "
			    "(limits)", n->disp);
		return;
	}
	for (k = 0; k < n->upsz; k++)
		if (n->ups[k].state == -1) {
			*v = n->ups[k].v;
			return;
		}
	q = xcalloc(r->nodesz, sizeof(*q));
	seen = xcalloc(r->nodesz, 1);
	q[qn++] = i;
	seen[i] = 1;
	for (qi = 0; qi < qn; qi++) {
		x = &r->nodes[q[qi]];
		if (x->truncated || (q[qi] != 0 && x->ec_state == 0))
			limit = 1;
		if (x->ec_state == -1 && first == NULL)
			first = &x->ecv;
		for (k = 0; k < x->upsz; k++) {
			if (x->ups[k].state == -1 && first == NULL)
				first = &x->ups[k].v;
			if (!seen[x->ups[k].sup]) {
				seen[x->ups[k].sup] = 1;
				q[qn++] = x->ups[k].sup;
			}
		}
	}
	if (limit)
		verdict_set(v, R_CHAIN_LIMIT, "no chain from %s reaches the trust anchor %s "
		    "within the limits (%d authority_hints or superiors per entity, %d "
		    "statements per chain)", n->disp, r->nodes[0].disp, MAX_OIDF_HINTS,
		    MAX_OIDF_PATH);
	else if (first != NULL)
		ovwrap(v, first, "no valid chain from %s", n->disp);
	else
		verdict_set(v, R_CHAIN_NO_ANCHOR, "no chain from %s reaches the trust anchor %s "
		    "(its authority_hints lead elsewhere or in a loop)", n->disp,
		    r->nodes[0].disp);
	free(q);
	free(seen);
}

/* Free the nodes, their statements and the leaf list of one resolution. */
void
ograph_free(struct ores *r)
{
	struct onode	*n;
	size_t		 i, k;

	for (i = 0; i < r->nodesz; i++) {
		n = &r->nodes[i];
		free(n->id);
		free(n->disp);
		if (n->ec_parsed)
			oidf_stmt_free(&n->ec);
		for (k = 0; k < n->upsz; k++)
			if (n->ups[k].parsed)
				oidf_stmt_free(&n->ups[k].ss);
		free(n->ups);
	}
	free(r->nodes);
	free(r->leaves);
	json_decref(r->nidx);
}
