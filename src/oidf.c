/*
 * OpenID Federation resolver (openid-federation.md 1.4, docs/oidf.md):
 * entry point, the fetch layer (each URL at most once per resolution,
 * batches of MAX_OIDF_PARALLEL, a fetch budget, the snapshot), the trust
 * anchor check and the snapshot fetcher.  The authority graph is in
 * oidf_graph.c, chains in oidf_chain.c, trust marks in oidf_tm.c, keys and
 * entities in oidf_leaf.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"
#include "oidf_int.h"

/*
 * Set v to in's reason with a printf-style prefix before in's detail (the
 * failing link named first).  v and in may be the same.  Returns -1.
 */
int
ovwrap(struct verdict *v, const struct verdict *in, const char *fmt, ...)
{
	char		 pre[384], det[sizeof(in->detail)];
	enum reason	 r = in->reason != R_NONE ? in->reason : R_INTERNAL;
	va_list		 ap;

	memcpy(det, in->detail, sizeof(det));
	det[sizeof(det) - 1] = '\0';
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	return verdict_set(v, r, "%s: %s", pre, det);
}

/* 1 when url is an https URL without a fragment (endpoints from statements). */
int
ourl_https(const char *url)
{
	return url != NULL && strncmp(url, "https://", 8) == 0 && url[8] != '\0' &&
	    strchr(url, '#') == NULL && strlen(url) <= MAX_ENTITY_ID;
}

/* endpoint with query appended after '?' or '&'.  Caller frees. */
char *
ourl_join(const char *endpoint, const char *query)
{
	char	*s;

	xasprintf(&s, "%s%c%s", endpoint, strchr(endpoint, '?') != NULL ? '&' : '?', query);
	return s;
}

/* Index of url in the fetch table, or -1. */
static long
ofetch_index(const struct ores *r, const char *url)
{
	json_t	*ix = json_object_get(r->fidx, url);

	return ix != NULL ? (long)json_integer_value(ix) : -1;
}

/*
 * Ask for url (fetched by the next ofetch_run; a URL already asked for is
 * not asked again).  max caps the body.  Returns its index.
 */
size_t
ofetch_want(struct ores *r, const char *url, size_t max)
{
	long		 i = ofetch_index(r, url);
	struct ofetch	*f;

	if (i >= 0)
		return (size_t)i;
	r->fs = xreallocarray(r->fs, r->fsz + 1, sizeof(*r->fs));
	f = &r->fs[r->fsz];
	memset(f, 0, sizeof(*f));
	f->url = xstrdup(url);
	f->max = max;
	if (json_object_set_new_nocheck(r->fidx, url, json_integer((json_int_t)r->fsz)) == -1)
		fatalx("json_object_set: out of memory");
	return r->fsz++;
}

/* The fetched entry of url, NULL when it was never asked for. Borrowed. */
const struct ofetch *
ofetch_get(const struct ores *r, const char *url)
{
	long	 i = ofetch_index(r, url);

	return i >= 0 && (size_t)i < r->fnext ? &r->fs[i] : NULL;
}

/* Record a usable body in the snapshot {url: body} (bodies with NUL bytes are not). */
static void
ofetch_record(struct ores *r, const struct ofetch *f)
{
	json_t	*s;

	if (r->o->snapshot == NULL || memchr(f->body, '\0', f->bodysz) != NULL)
		return;
	if ((s = json_stringn(f->body, f->bodysz)) == NULL)
		return;		/* not UTF-8: it fails parsing anyway */
	json_object_set_new(r->o->snapshot, f->url, s);
}

/* Take one fetcher result into f (res is emptied). */
static void
ofetch_take(struct ores *r, struct ofetch *f, struct fetch_res *res)
{
	char	 u[160];

	f->status = res->status;
	if (!res->ok || res->not_modified || res->body == NULL) {
		f->v = res->v;
		if (res->ok || f->v.reason == R_NONE)
			verdict_set(&f->v, R_FETCH_FAILED, "%s: no body",
			    log_sanitize(f->url, strlen(f->url), u, sizeof(u)));
	} else if (res->bodysz > f->max) {
		verdict_set(&f->v, R_FETCH_TOO_LARGE, "%s: %zu bytes, over the cap of %zu",
		    log_sanitize(f->url, strlen(f->url), u, sizeof(u)), res->bodysz, f->max);
	} else {
		f->ok = 1;
		f->body = xmalloc(res->bodysz + 1);
		memcpy(f->body, res->body, res->bodysz);
		f->body[res->bodysz] = '\0';
		f->bodysz = res->bodysz;
		ofetch_record(r, f);
	}
	free(res->body);
	free(res->etag);
	free(res->last_modified);
	memset(res, 0, sizeof(*res));
}

/*
 * Fetch every URL asked for and not fetched yet, at most MAX_OIDF_PARALLEL
 * per call of the fetcher.  Beyond the budget a URL fails with chain-limit.
 */
void
ofetch_run(struct ores *r)
{
	const char		*urls[MAX_OIDF_PARALLEL];
	struct fetch_res	 res[MAX_OIDF_PARALLEL];
	size_t			 i, n;

	while (r->fnext < r->fsz) {
		n = r->fsz - r->fnext;
		if (n > MAX_OIDF_PARALLEL)
			n = MAX_OIDF_PARALLEL;
		if (r->fetches >= r->budget) {
			for (; r->fnext < r->fsz; r->fnext++)
				verdict_set(&r->fs[r->fnext].v, R_CHAIN_LIMIT,
				    "fetch budget of %zu requests exhausted", r->budget);
			return;
		}
		if (n > r->budget - r->fetches)
			n = r->budget - r->fetches;
		memset(res, 0, sizeof(res));
		for (i = 0; i < n; i++)
			urls[i] = r->fs[r->fnext + i].url;
		r->f->fetch(r->f->arg, urls, n, res);
		r->fetches += n;
		for (i = 0; i < n; i++)
			ofetch_take(r, &r->fs[r->fnext + i], &res[i]);
		r->fnext += n;
	}
}

/*
 * The trust anchor's own keys against the configured set: equal, or a
 * pending rollover (every configured key still published, more added; the
 * configuration verified with a configured key).  0 / -1 with v.
 */
static int
ta_keys_check(struct ores *r, const struct oidf_stmt *ec, const struct jwk_entry *used,
    struct verdict *v)
{
	const struct jwkset	*cfg = r->o->ta_keys;
	size_t			 i, j;
	char			 k[64];

	if (jwkset_same(&ec->jwks, cfg))
		return 0;
	for (i = 0; i < cfg->n; i++) {
		for (j = 0; j < ec->jwks.n; j++)
			if (strcmp(cfg->keys[i].jkt, ec->jwks.keys[j].jkt) == 0)
				break;
		if (j == ec->jwks.n)
			return verdict_set(v, R_CHAIN_ANCHOR_KEY, "configuration of the trust "
			    "anchor %s: its jwks lacks the configured key %s", r->o->ta,
			    cfg->keys[i].jkt);
	}
	log_warnx("source=%s: trust anchor %s publishes %zu key(s) beyond the configured "
	    "anchor keys, signed with configured key %s: a pending key rollover; only the "
	    "configured keys are used (update the anchor file to follow it)", r->o->source,
	    r->o->ta, ec->jwks.n - cfg->n,
	    log_sanitize(used->kid ? used->kid : used->jkt, 64, k, sizeof(k)));
	return 0;
}

/* Fetch, parse and check the TA's configuration at node 0.  0 / -1 with v. */
static int
ta_check(struct ores *r, struct verdict *v)
{
	const struct oidf_opts	*o = r->o;
	struct onode		*ta;
	const struct ofetch	*f;
	const struct jwk_entry	*used = NULL;
	char			*url, k[64];
	const char		*ep;

	if (o->ta == NULL || !oidf_entity_id_ok(o->ta))
		return verdict_set(v, R_ENTITY_ID_INVALID, "trust anchor id is not a valid "
		    "entity identifier");
	if (o->ta_keys == NULL || o->ta_keys->n == 0)
		return verdict_set(v, R_CHAIN_ANCHOR_KEY, "no configured trust anchor keys");
	onode_get(r, o->ta);
	url = oec_url(o->ta);
	ofetch_want(r, url, MAX_JWS_SIZE);
	ofetch_run(r);
	f = ofetch_get(r, url);
	free(url);
	ta = &r->nodes[0];
	if (!f->ok)
		return ovwrap(v, &f->v, "configuration of the trust anchor %s", o->ta);
	if (oidf_stmt_parse(f->body, f->bodysz, o->jws_flags, r->now, o->skew, o->max_validity,
	    &ta->ec, v) == -1) {
		oidf_stmt_free(&ta->ec);
		return ovwrap(v, v, "configuration of the trust anchor %s", o->ta);
	}
	ta->ec_parsed = 1;
	ta->ec_state = -1;
	if (!ta->ec.is_ec || strcmp(ta->ec.sub, o->ta) != 0)
		return verdict_set(v, R_CHAIN_LINK, "configuration of the trust anchor %s: iss "
		    "and sub must both be the trust anchor", o->ta);
	if (jwkset_find_kid(o->ta_keys, ta->ec.jws.kid) == NULL)
		return verdict_set(v, R_CHAIN_ANCHOR_KEY, "configuration of the trust anchor %s: "
		    "signed with kid %s, which is not a configured anchor key", o->ta,
		    log_sanitize(ta->ec.jws.kid, strlen(ta->ec.jws.kid), k, sizeof(k)));
	if (jws_verify(&ta->ec.jws, o->ta_keys, &used, v) == -1)
		return ovwrap(v, v, "configuration of the trust anchor %s", o->ta);
	if (ta_keys_check(r, &ta->ec, used, v) == -1)
		return -1;
	if (!ourl_https(ep = oec_endpoint(&ta->ec, "federation_fetch_endpoint")))
		return verdict_set(v, R_METADATA_INVALID, "configuration of the trust anchor %s: "
		    "no https federation_fetch_endpoint", o->ta);
	if (o->discover && !ourl_https(oec_endpoint(&ta->ec, "federation_list_endpoint")))
		return verdict_set(v, R_METADATA_INVALID, "configuration of the trust anchor %s: "
		    "no https federation_list_endpoint to discover from", o->ta);
	ta->ec_state = 1;
	r->tm_issuers = json_object_get(ta->ec.jws.payload, "trust_mark_issuers");
	r->tm_owners = json_object_get(ta->ec.jws.payload, "trust_mark_owners");
	r->out->valid_until = ta->ec.exp;
	r->out->created = ta->ec.iat;
	r->out->signer = xstrdup(used->kid != NULL ? used->kid : used->jkt);
	return 0;
}

/* The configured leaves (entity = ID): nodes explored bottom-up. */
static void
static_leaves(struct ores *r)
{
	const struct oidf_opts	*o = r->o;
	size_t			*start = xcalloc(o->entity_idsz + 1, sizeof(*start));
	size_t			 i, n = 0, ni;

	for (i = 0; i < o->entity_idsz; i++) {
		if (!oidf_entity_id_ok(o->entity_ids[i])) {
			entity_set_drop(r->out, o->entity_ids[i], R_ENTITY_ID_INVALID,
			    "configured entity is not a valid entity identifier");
			continue;
		}
		if (strcmp(o->entity_ids[i], o->ta) == 0) {
			entity_set_drop(r->out, o->entity_ids[i], R_CHAIN_NO_ANCHOR,
			    "the trust anchor itself is not a leaf");
			continue;
		}
		ni = onode_get(r, o->entity_ids[i]);
		r->nodes[ni].kind |= ONODE_STATIC;
		oleaf_add(r, ni);
		if (!onode_ok(r, ni))
			start[n++] = ni;
	}
	oexplore_up(r, start, n);
	overify_down(r);
	free(start);
}

/* Validate every leaf's chain; the valid ones in ok[] (*nok), the rest dropped. */
static void
leaves_select(struct ores *r, struct oleaf *ok, size_t *nok)
{
	struct verdict	 v;
	size_t		 i;
	int		 rc;

	*nok = 0;
	for (i = 0; i < r->leafsz; i++) {
		memset(&v, 0, sizeof(v));
		rc = oleaf_select(r, r->leaves[i], &ok[*nok], &v);
		if (rc == 0)
			(*nok)++;
		else if (rc == -1)
			entity_set_drop(r->out, r->nodes[r->leaves[i]].id, v.reason, "%s",
			    v.detail);
	}
}

/* Trust marks, protocol keys, entities of the selected leaves. */
static void
leaves_finish(struct ores *r, struct oleaf *ok, size_t nok)
{
	struct entity	 e;
	struct verdict	 v;
	size_t		 i;

	otm_prepare(r, ok, nok);
	for (i = 0; i < nok; i++)
		okeys_want(r, &ok[i]);
	ofetch_run(r);
	for (i = 0; i < nok; i++) {
		memset(&e, 0, sizeof(e));
		memset(&v, 0, sizeof(v));
		otm_validate(r, &ok[i], &e);
		if (oleaf_entity(r, &ok[i], &e, &v) == -1) {
			entity_set_drop(r->out, r->nodes[ok[i].node].id, v.reason, "%s", v.detail);
			entity_free(&e);
			continue;
		}
		*entity_set_add(r->out) = e;
	}
}

/* Free everything of one resolution (the entity set is the caller's). */
static void
ores_free(struct ores *r)
{
	size_t	 i;

	ograph_free(r);
	for (i = 0; i < r->fsz; i++) {
		free(r->fs[i].url);
		free(r->fs[i].body);
	}
	free(r->fs);
	json_decref(r->fidx);
}

/*
 * Resolve the federation (see extern.h): the trust anchor, discovery,
 * configured leaves, chains, then marks, keys and entities.  0, or -1 with
 * v when the trust anchor cannot be used (out left empty).
 */
int
oidf_resolve(const struct oidf_opts *o, const struct oidf_fetcher *f, time_t now,
    struct entity_set *out, struct verdict *v)
{
	struct ores	 r;
	struct oleaf	*ok = NULL;
	size_t		 nok = 0, i;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	out->cache_duration = -1;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.f = f;
	r.now = now;
	r.out = out;
	r.roles = o->roles & OIDF_ROLES;
	if (r.roles == 0)
		r.roles = OIDF_ROLES;
	r.budget = o->max_fetches > 0 ? o->max_fetches : MAX_OIDF_FETCHES;
	if ((r.fidx = json_object()) == NULL || (r.nidx = json_object()) == NULL)
		fatalx("json_object: out of memory");

	if (ta_check(&r, v) == -1)
		goto out;
	if (o->discover && odiscover(&r, v) == -1)
		goto out;
	static_leaves(&r);
	ok = xcalloc(r.leafsz + 1, sizeof(*ok));
	leaves_select(&r, ok, &nok);
	leaves_finish(&r, ok, nok);
	log_debug("source=%s: %zu entities, %zu dropped, %zu fetches", o->source,
	    out->entitiesz, out->dropsz, r.fetches);
	rc = 0;
 out:
	for (i = 0; i < nok; i++)
		json_decref(ok[i].md);
	free(ok);
	ores_free(&r);
	if (rc == -1) {
		entity_set_free(out);
		memset(out, 0, sizeof(*out));
		out->cache_duration = -1;
	}
	return rc;
}

/* The snapshot fetcher (see extern.h): known URLs 200 with their body, others 404. */
void
oidf_snapshot_fetch(void *arg, const char *const *urls, size_t n, struct fetch_res *res)
{
	const json_t	*snap = arg, *b;
	size_t		 i, len;
	char		 u[160];

	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].retry_after = -1;
		b = json_is_object(snap) ? json_object_get(snap, urls[i]) : NULL;
		if (!json_is_string(b)) {
			res[i].status = 404;
			verdict_set(&res[i].v, R_FETCH_HTTP_STATUS, "%s: not in the snapshot (404)",
			    log_sanitize(urls[i], strlen(urls[i]), u, sizeof(u)));
			continue;
		}
		len = json_string_length(b);
		res[i].body = xmalloc(len + 1);
		memcpy(res[i].body, json_string_value(b), len);
		res[i].body[len] = '\0';
		res[i].bodysz = len;
		res[i].status = 200;
		res[i].ok = 1;
	}
}
