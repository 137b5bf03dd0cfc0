/*
 * The sources of one trust list in one cycle: fetch what each source type
 * needs, verify it against that source's anchors, and fall back to the last
 * good copy (re-verified at now, so it is used only until its own validity
 * ends) when a fetch or a document fails.
 *
 * saml and signed-jwks sources are one document; an x509 source is the
 * partner certificate plus, optionally, a CRL cached on its own; an oidf
 * source is many statements, kept as one snapshot {url: body} that can be
 * resolved again offline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"

#define CRL_SUFFIX	".crl"		/* cache name of an x509 source's CRL: SOURCE.crl */
#define MAX_OIDF_BODY	(16UL * 1024 * 1024)	/* one OIDF fetch (list responses are the largest) */
#define MAX_SNAPSHOT	(512UL * 1024 * 1024)	/* a stored OIDF snapshot */

/* Per-cycle context of one list's sources. */
struct gather {
	const struct config	*conf;
	const struct list_conf	*list;
	time_t			 now;
	struct source_state	*st;
	time_t			*fetched;	/* per source: last good fetch */
	struct cache_entry	*cache;		/* last good copy per source */
	int			*have_cache;
	struct cache_entry	*crl;		/* x509: last good CRL per source */
	int			*have_crl;
	struct anchor_set	 anchors;	/* saml: of the source being handled */
	struct jwkset		 jwks;		/* oidf, signed-jwks: of the source being handled */
	int			*due;		/* per source: fetch this cycle (else the last good copy) */
	int			 dry;		/* sources_probe: fetch fresh, write nothing, no fallback */
	char			 label[160];	/* "LIST/SOURCE" of the source being handled */
};

static const char *
label(struct gather *g, const struct source_conf *s)
{
	snprintf(g->label, sizeof(g->label), "%s/%s", g->list->name, s->name);
	return g->label;
}

/* The JWK Sets of every anchor file of s, as one set. 0 / -1 with v. */
static int
load_jwks_anchors(struct jwkset *out, const struct source_conf *s, struct verdict *v)
{
	size_t	 i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < s->anchorsz; i++)
		if (jwkset_load_file(out, s->anchors[i], v) == -1) {
			jwkset_free(out);
			return -1;
		}
	return 0;
}

/* Scopes of the local agreement: intersect each entity's scopes with s's. */
static void
apply_agreement(const struct source_conf *s, struct entity_set *set)
{
	size_t	 i, j, k, n;

	if (!s->scoped)
		return;
	for (i = 0; i < set->entitiesz; i++) {
		struct entity	*e = &set->entities[i];

		if (!e->scoped) {
			for (j = 0; j < s->scopesz; j++)
				strv_push(&e->scopes, &e->scopesz, s->scopes[j]);
			e->scoped = 1;
			continue;
		}
		for (j = 0, n = 0; j < e->scopesz; j++) {
			for (k = 0; k < s->scopesz; k++)
				if (strcmp(e->scopes[j], s->scopes[k]) == 0)
					break;
			if (k < s->scopesz)
				e->scopes[n++] = e->scopes[j];
			else
				free(e->scopes[j]);
		}
		e->scopesz = n;
	}
}

/* The CRL to check an x509 source with: NULL when none is configured. */
static const struct cache_entry *
best_crl(struct gather *g, size_t i)
{
	return g->have_crl[i] ? &g->crl[i] : NULL;
}

/* Verify doc of source i at now into st->set. 0 / -1 with st->v. */
static int
verify_doc(struct gather *g, size_t i, const unsigned char *doc, size_t docsz)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];
	const struct cache_entry *crl;
	struct saml_opts	 o;
	int			 rc;

	entity_set_free(&st->set);
	memset(&st->set, 0, sizeof(st->set));
	switch (s->type) {
	case SRC_SIGNED_JWKS:
		rc = jwks_src_verify(doc, docsz, &g->jwks, s, g->now, &st->set, &st->v);
		break;
	case SRC_X509:
		crl = best_crl(g, i);
		if (crl == NULL && s->crl_url != NULL)
			return verdict_set(&st->v, R_CHAIN_CRL, "no valid CRL from %s yet",
			    s->crl_url);
		rc = x509_src_verify(doc, docsz, crl ? crl->doc : NULL, crl ? crl->docsz : 0, s,
		    g->now, &st->set, &st->v);
		break;
	default:
		memset(&o, 0, sizeof(o));
		o.source = label(g, s);
		o.max_validity = s->max_validity;
		o.cert_validity = s->cert_validity;
		o.skew = s->skew;
		rc = saml_verify(doc, docsz, &g->anchors, &o, g->now, &st->set, &st->v);
		break;
	}
	if (rc == 0)
		apply_agreement(s, &st->set);
	return rc;
}

/* Remember doc as source i's last good copy (name: the source, or SOURCE.crl). */
static void
remember(struct gather *g, const char *name, const unsigned char *doc, size_t docsz,
    const struct fetch_res *r, time_t valid_until, time_t created)
{
	struct cache_entry	 ce;

	if (g->dry)
		return;
	memset(&ce, 0, sizeof(ce));
	ce.doc = (unsigned char *)doc;
	ce.docsz = docsz;
	ce.etag = r != NULL ? r->etag : NULL;
	ce.last_modified = r != NULL ? r->last_modified : NULL;
	ce.fetched = g->now;
	ce.valid_until = valid_until;
	ce.created = created;
	if (cache_store(g->conf->state_dir, g->list->name, name, &ce) == -1)
		log_warnx("source=%s/%s: could not store the last good copy", g->list->name, name);
}

/* Log why the last good copy cannot be used either (v is overwritten). */
static void
stale_reject(const char *source, struct verdict *v)
{
	struct verdict	 why = *v;

	verdict_set(v, R_STALE, "last good copy no longer usable: %s: %s",
	    reason_code(why.reason), why.detail);
	log_reject(source, v);
}

/* 1 (and v) when source i's last good copy was fetched longer than max-stale ago. */
static int
too_stale(struct gather *g, size_t i, struct verdict *v)
{
	const struct source_conf *s = &g->list->sources[i];

	if (s->max_stale <= 0 || g->now - g->cache[i].fetched <= s->max_stale)
		return 0;
	verdict_set(v, R_STALE, "last successful fetch %s is more than max-stale %lds ago",
	    format_time(g->cache[i].fetched, (char[32]){ 0 }, 32), s->max_stale);
	return 1;
}

/*
 * Not due this cycle (fedtrustd's schedule): the last good copy, verified
 * again at now, stands for the source as a 304 would.
 */
static void
use_cached(struct gather *g, size_t i)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];

	if (verify_doc(g, i, g->cache[i].doc, g->cache[i].docsz) == -1) {
		log_reject(label(g, s), &st->v);
		st->status = SRC_FAILED;
		return;
	}
	st->status = SRC_OK;
	log_debug("source=%s: not due, last good copy verified again", label(g, s));
}

/*
 * The fetch failed or its document was rejected: fall back to the last good
 * copy, re-verified at now so that it is used only until its own validity
 * ends (B2); it is never extended.
 */
static void
fall_back(struct gather *g, size_t i)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];
	struct verdict		 why = st->v;

	st->status = SRC_FAILED;
	/* a dry run reports the fresh document's verdict, not what would stand in for it */
	if (!g->have_cache[i] || g->dry)
		return;
	/* the source's state is now that its last good data ran out: stale-expired */
	if (too_stale(g, i, &st->v)) {
		stale_reject(label(g, s), &st->v);
		return;
	}
	if (verify_doc(g, i, g->cache[i].doc, g->cache[i].docsz) == 0) {
		st->status = SRC_STALE;
		st->v = why;
		log_warnx("source=%s: serving the last good copy until %s", label(g, s),
		    format_time(st->set.valid_until, (char[32]){ 0 }, 32));
		return;
	}
	stale_reject(label(g, s), &st->v);
}

/* Handle one document source's fetch result with its anchors loaded. */
static void
use_result(struct gather *g, size_t i, struct fetch_res *r)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];
	const unsigned char	*doc;
	size_t			 docsz;
	char			 sha[65];

	if (!r->ok) {
		st->v = r->v;
		log_reject(label(g, s), &st->v);
		fall_back(g, i);
		return;
	}
	if (r->not_modified && !g->have_cache[i]) {
		verdict_set(&st->v, R_FETCH_NO_CACHE, "304 Not Modified but no cached copy");
		log_reject(label(g, s), &st->v);
		st->status = SRC_FAILED;
		return;
	}
	doc = r->not_modified ? g->cache[i].doc : r->body;
	docsz = r->not_modified ? g->cache[i].docsz : r->bodysz;
	if (verify_doc(g, i, doc, docsz) == -1) {
		log_reject(label(g, s), &st->v);
		fall_back(g, i);
		return;
	}
	if (g->have_cache[i] && g->cache[i].created != 0 && st->set.created != 0 &&
	    st->set.created < g->cache[i].created) {
		verdict_set(&st->v, R_ROLLBACK, "creationInstant is older than the last good copy's");
		log_reject(label(g, s), &st->v);
		fall_back(g, i);
		return;
	}
	st->status = SRC_OK;
	/* a 304 or an identical body leaves the stored copy as it is */
	if (!r->not_modified) {
		sha256_hex(doc, docsz, sha);
		if (!g->have_cache[i] || strcmp(sha, g->cache[i].sha256) != 0)
			remember(g, s->name, doc, docsz, r, st->set.valid_until, st->set.created);
	}
	log_info("source=%s: accepted %zu entities (%zu dropped)", label(g, s),
	    st->set.entitiesz, st->set.dropsz);
}

/*
 * A fetched CRL of x509 source i: kept when it checks out and is not older
 * than the stored one (a replayed older CRL must not undo a revocation).
 */
static void
take_crl(struct gather *g, size_t i, struct fetch_res *r, const struct fetch_res *d)
{
	const struct source_conf *s = &g->list->sources[i];
	struct verdict		 v;
	time_t			 next;
	char			*name;
	const unsigned char	*doc = NULL;
	size_t			 docsz = 0;

	if (!r->ok || r->not_modified) {
		if (!r->ok)
			log_reject(label(g, s), &r->v);
		return;
	}
	memset(&v, 0, sizeof(v));
	/* intermediates that may sign the CRL: from the fresh document, else the stored one */
	if (d != NULL && d->ok && !d->not_modified) {
		doc = d->body;
		docsz = d->bodysz;
	} else if (g->have_cache[i]) {
		doc = g->cache[i].doc;
		docsz = g->cache[i].docsz;
	}
	if (x509_crl_check(r->body, r->bodysz, doc, docsz, s, g->now, &next, &v) == -1) {
		log_reject(label(g, s), &v);
		return;
	}
	if (g->have_crl[i] && next < g->crl[i].valid_until) {
		verdict_set(&v, R_ROLLBACK, "CRL from %s is older than the stored one", s->crl_url);
		log_reject(label(g, s), &v);
		return;
	}
	if (g->dry) {
		/* used from memory for this check only */
		cache_entry_free(&g->crl[i]);
		g->crl[i].doc = xmalloc(r->bodysz + 1);
		memcpy(g->crl[i].doc, r->body, r->bodysz);
		g->crl[i].docsz = r->bodysz;
		g->crl[i].valid_until = next;
		g->have_crl[i] = 1;
		return;
	}
	/* stored, then read back: the copy in use is the one on disk */
	xasprintf(&name, "%s%s", s->name, CRL_SUFFIX);
	remember(g, name, r->body, r->bodysz, r, next, 0);
	cache_entry_free(&g->crl[i]);
	g->have_crl[i] = cache_load(g->conf->state_dir, g->list->name, name, MAX_DOC_SIZE,
	    &g->crl[i]) == 0;
	free(name);
}

/* ------------------------------------------------------------ oidf */

/* The daemon's fetcher for the resolver: HTTPS in batches, failures remembered. */
struct net_fetcher {
	struct gather		*g;
	const struct source_conf *s;
	json_t			*failed;	/* array of URLs that could not be fetched */
};

static void
net_fetch(void *arg, const char *const *urls, size_t n, struct fetch_res *res)
{
	struct net_fetcher	*nf = arg;
	const struct source_conf *s = nf->s;
	struct fetch_req	*req = xcalloc(n ? n : 1, sizeof(*req));
	size_t			 i, off, chunk;
	long			 timeout = s->fetch_timeout ? s->fetch_timeout : MAX_OIDF_FETCH_TIME;
	size_t			 max = s->max_size ? s->max_size : nf->g->conf->max_size;

	if (timeout > MAX_OIDF_FETCH_TIME)
		timeout = MAX_OIDF_FETCH_TIME;
	if (max > MAX_OIDF_BODY)
		max = MAX_OIDF_BODY;
	for (i = 0; i < n; i++) {
		req[i].source = s->name;
		req[i].url = urls[i];
		req[i].ca_file = s->ca_file != NULL ? s->ca_file : nf->g->conf->ca_file;
		req[i].timeout = timeout;
		req[i].connect_timeout = MAX_CONNECT_TIMEOUT;
		req[i].max_size = max;
	}
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < MAX_OIDF_PARALLEL ? n - off : MAX_OIDF_PARALLEL;
		fetch_many(req + off, res + off, chunk);
	}
	for (i = 0; i < n; i++)
		if (!res[i].ok && (res[i].v.reason != R_FETCH_HTTP_STATUS ||
		    res[i].status >= 500 || res[i].status == 429))
			json_array_append_new(nf->failed, json_string(urls[i]));
	free(req);
}

/* The stored snapshot of an oidf source, or NULL. */
static json_t *
load_snapshot(struct gather *g, size_t i)
{
	struct fedtrust_error	 err;
	json_t			*snap;

	if (!g->have_cache[i])
		return NULL;
	snap = fedtrustp_json_parse(g->cache[i].doc, g->cache[i].docsz, MAX_SNAPSHOT, 4, &err);
	if (snap != NULL && !json_is_object(snap)) {
		json_decref(snap);
		snap = NULL;
	}
	if (snap == NULL)
		log_warnx("source=%s: the stored snapshot is unusable: %s",
		    label(g, &g->list->sources[i]), err.text);
	return snap;
}

static void
oidf_opts_of(struct gather *g, const struct source_conf *s, struct oidf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = label(g, s);
	o->ta = s->url;
	o->ta_keys = &g->jwks;
	o->entity_ids = s->entity_ids;
	o->entity_idsz = s->entity_idsz;
	o->discover = s->discover;
	o->roles = s->roles;
	o->tm_no_exp = s->tm_no_exp;
	o->jws_flags = s->untyped_ok ? JWS_UNTYPED_OK : 0;
	o->max_validity = s->max_validity;
	/* OIDF's own leeway unless clock-skew was set to something else */
	o->skew = s->skew == MAX_SKEW_DEFAULT ? OIDF_LEEWAY : s->skew;
	o->max_fetches = s->max_fetches;
}

/* Resolve source i offline from snap at now into st->set. 0 / -1 with st->v. */
static int
resolve_offline(struct gather *g, size_t i, json_t *snap)
{
	struct oidf_opts	 o;
	struct oidf_fetcher	 f = { oidf_snapshot_fetch, snap };
	struct source_state	*st = &g->st[i];

	oidf_opts_of(g, &g->list->sources[i], &o);
	entity_set_free(&st->set);
	memset(&st->set, 0, sizeof(st->set));
	return oidf_resolve(&o, &f, g->now, &st->set, &st->v);
}

/* Store snap as source i's last good copy. */
static void
store_snapshot(struct gather *g, size_t i, json_t *snap)
{
	char	*txt;

	if (g->dry)
		return;
	if ((txt = json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("json_dumps: out of memory");
	remember(g, g->list->sources[i].name, (unsigned char *)txt, strlen(txt), NULL,
	    g->st[i].set.valid_until, 0);
	free(txt);
}

/*
 * Statements that could not be fetched this time are taken from the last
 * good snapshot (each still checked at now), so one unreachable
 * intermediate does not drop its leaves before their chains expire.
 * Returns the number of statements taken.
 */
static size_t
merge_failed(json_t *snap, const json_t *old, const json_t *failed)
{
	const json_t	*u, *body;
	size_t		 k, n = 0;

	json_array_foreach(failed, k, u) {
		body = json_object_get(old, json_string_value(u));
		if (body != NULL && json_object_get(snap, json_string_value(u)) == NULL) {
			json_object_set(snap, json_string_value(u), (json_t *)body);
			n++;
		}
	}
	return n;
}

/* An OpenID Federation source: resolve live, fill gaps from the snapshot. */
static void
take_oidf(struct gather *g, size_t i)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];
	struct net_fetcher	 nf = { g, s, json_array() };
	struct oidf_fetcher	 f = { net_fetch, &nf };
	struct oidf_opts	 o;
	json_t			*snap = json_object(), *old = load_snapshot(g, i);
	size_t			 taken = 0;
	int			 rc;

	oidf_opts_of(g, s, &o);
	o.snapshot = snap;
	rc = oidf_resolve(&o, &f, g->now, &st->set, &st->v);
	if (old != NULL && json_array_size(nf.failed) > 0 &&
	    (taken = merge_failed(snap, old, nf.failed)) > 0) {
		log_warnx("source=%s: %zu statements could not be fetched; their last good copies "
		    "are used until they expire", label(g, s), taken);
		rc = resolve_offline(g, i, snap);
	}
	if (rc == 0) {
		st->status = SRC_OK;
		store_snapshot(g, i, snap);
		log_info("source=%s: accepted %zu entities (%zu dropped)", label(g, s),
		    st->set.entitiesz, st->set.dropsz);
	} else {
		log_reject(label(g, s), &st->v);
		st->status = SRC_FAILED;
		if (old != NULL && !g->dry) {
			struct verdict	 why = st->v;

			if (too_stale(g, i, &st->v))
				stale_reject(label(g, s), &st->v);
			else if (resolve_offline(g, i, old) == 0) {
				st->status = SRC_STALE;
				st->v = why;
				log_warnx("source=%s: serving the last good snapshot until %s",
				    label(g, s), format_time(st->set.valid_until, (char[32]){ 0 }, 32));
			} else
				stale_reject(label(g, s), &st->v);
		}
	}
	if (st->status != SRC_FAILED)
		apply_agreement(s, &st->set);
	json_decref(nf.failed);
	json_decref(snap);
	json_decref(old);
}

/* ------------------------------------------------------------ dispatch */

/* One source, its anchors read once for the fresh document and the last good copy. */
static void
take_source(struct gather *g, size_t i, struct fetch_res *r, struct fetch_res *crl)
{
	const struct source_conf *s = &g->list->sources[i];
	struct source_state	*st = &g->st[i];
	int			 rc = 0;

	memset(&g->anchors, 0, sizeof(g->anchors));
	memset(&g->jwks, 0, sizeof(g->jwks));
	if (s->type == SRC_SAML)
		rc = anchor_load_source(&g->anchors, s, &st->v);
	else if (s->type == SRC_OIDF || s->type == SRC_SIGNED_JWKS)
		rc = load_jwks_anchors(&g->jwks, s, &st->v);
	st->fetched = g->due[i];
	st->retry_after = r != NULL ? r->retry_after : -1;
	if (rc == -1) {
		log_reject(label(g, s), &st->v);
		st->status = SRC_FAILED;
	} else if (!g->due[i] && s->type == SRC_OIDF) {
		json_t	*snap = load_snapshot(g, i);

		st->status = resolve_offline(g, i, snap) == 0 ? SRC_OK : SRC_FAILED;
		if (st->status == SRC_OK)
			apply_agreement(s, &st->set);
		else
			log_reject(label(g, s), &st->v);
		json_decref(snap);
	} else if (!g->due[i])
		use_cached(g, i);
	else if (s->type == SRC_OIDF)
		take_oidf(g, i);
	else {
		if (crl != NULL)
			take_crl(g, i, crl, r);
		use_result(g, i, r);
	}
	anchor_set_free(&g->anchors);
	jwkset_free(&g->jwks);
}

/* One line per entity a source's own checks dropped (quarantine, failed chains). */
static void
report_set_drops(struct gather *g, const struct source_conf *s, const struct entity_set *set)
{
	size_t	 i;

	for (i = 0; i < set->dropsz; i++)
		log_info("list=%s entity=%s dropped reason=%s: %s (source %s)", g->list->name,
		    set->drops[i].id, reason_code(set->drops[i].reason), set->drops[i].detail,
		    s->name);
}

/* The fetch request of a document (url) of source s, with validators of ce. */
static void
doc_request(struct gather *g, const struct source_conf *s, const char *url,
    const struct cache_entry *ce, struct fetch_req *req)
{
	req->source = s->name;
	req->url = url;
	req->ca_file = s->ca_file != NULL ? s->ca_file : g->conf->ca_file;
	req->timeout = s->fetch_timeout ? s->fetch_timeout : g->conf->fetch_timeout;
	req->connect_timeout = MAX_CONNECT_TIMEOUT;
	req->max_size = s->max_size ? s->max_size : g->conf->max_size;
	if (ce != NULL) {
		req->etag = ce->etag;
		req->last_modified = ce->last_modified;
	}
}

/* Load the last good copy (and CRL) of source i. */
static void
load_cache(struct gather *g, size_t i)
{
	const struct list_conf	*l = g->list;
	const struct source_conf *s = &l->sources[i];
	char			*name;

	g->st[i].conf = s;
	/* the stored copy was at most the source's max-size when it was accepted */
	g->have_cache[i] = cache_load(g->conf->state_dir, l->name, s->name,
	    s->max_size ? s->max_size : g->conf->max_size, &g->cache[i]) == 0;
	if (s->type == SRC_X509 && s->crl_url != NULL) {
		xasprintf(&name, "%s%s", s->name, CRL_SUFFIX);
		g->have_crl[i] = cache_load(g->conf->state_dir, l->name, name, MAX_DOC_SIZE,
		    &g->crl[i]) == 0;
		free(name);
	}
}

/*
 * Fetch every document source (and x509 CRL) concurrently, then verify each
 * source; oidf sources fetch their statements while resolving.
 */
static void
fetch_and_verify(struct gather *g)
{
	const struct list_conf	*l = g->list;
	struct fetch_req	*req = xcalloc(2 * l->sourcesz + 1, sizeof(*req));
	struct fetch_res	*res = xcalloc(2 * l->sourcesz + 1, sizeof(*res));
	size_t			*doc = xcalloc(l->sourcesz + 1, sizeof(*doc));
	size_t			*crl = xcalloc(l->sourcesz + 1, sizeof(*crl));
	size_t			 i, j, n = 0;

	for (i = 0; i < l->sourcesz; i++) {
		const struct source_conf *s = &l->sources[i];

		doc[i] = crl[i] = SIZE_MAX;
		if (s->type == SRC_OIDF || !g->due[i])
			continue;
		/* a dry run fetches fresh: no validators, so never a 304 */
		doc_request(g, s, s->url, g->have_cache[i] && !g->dry ? &g->cache[i] : NULL, &req[n]);
		doc[i] = n++;
		if (s->type == SRC_X509 && s->crl_url != NULL) {
			doc_request(g, s, s->crl_url, g->have_crl[i] && !g->dry ? &g->crl[i] : NULL,
			    &req[n]);
			crl[i] = n++;
		}
	}
	fetch_many(req, res, n);
	for (i = 0; i < l->sourcesz; i++) {
		if (g->dry && !g->due[i])
			continue;
		take_source(g, i, doc[i] != SIZE_MAX ? &res[doc[i]] : NULL,
		    crl[i] != SIZE_MAX ? &res[crl[i]] : NULL);
		if (!g->dry)
			report_set_drops(g, &l->sources[i], &g->st[i].set);
		for (j = 0; j < g->st[i].set.entitiesz; j++) {
			g->st[i].set.entities[j].src = l->sources[i].name;
			g->st[i].set.entities[j].priority = l->sources[i].priority;
		}
	}
	for (i = 0; i < n; i++)
		fetch_res_free(&res[i]);
	free(req);
	free(res);
	free(doc);
	free(crl);
}

void
sources_gather(const struct config *conf, const struct list_conf *l, time_t now,
    struct source_state *st, time_t *fetched, struct schedule *sched)
{
	struct gather	 g;
	size_t		 i;

	memset(&g, 0, sizeof(g));
	g.conf = conf;
	g.list = l;
	g.now = now;
	g.st = st;
	g.fetched = fetched;
	g.cache = xcalloc(l->sourcesz + 1, sizeof(*g.cache));
	g.have_cache = xcalloc(l->sourcesz + 1, sizeof(*g.have_cache));
	g.crl = xcalloc(l->sourcesz + 1, sizeof(*g.crl));
	g.have_crl = xcalloc(l->sourcesz + 1, sizeof(*g.have_crl));
	g.due = xcalloc(l->sourcesz + 1, sizeof(*g.due));
	for (i = 0; i < l->sourcesz; i++)
		load_cache(&g, i);
	/* a source without a last good copy is always due */
	for (i = 0; i < l->sourcesz; i++)
		g.due[i] = sched == NULL || !g.have_cache[i] ||
		    schedule_due(sched, l->name, l->sources[i].name, now);
	fetch_and_verify(&g);
	for (i = 0; i < l->sourcesz; i++) {
		if (sched != NULL)
			schedule_done(sched, l, &st[i], now);
		fetched[i] = st[i].status == SRC_OK && g.due[i] ? now :
		    g.have_cache[i] ? g.cache[i].fetched : 0;
		cache_entry_free(&g.cache[i]);
		cache_entry_free(&g.crl[i]);
	}
	free(g.cache);
	free(g.have_cache);
	free(g.crl);
	free(g.have_crl);
	free(g.due);
}

/*
 * A dry run of source idx: the same fetch and verification as
 * sources_gather with the last good copy read only for the rollback check
 * (and an x509 source's CRL when a fresh one cannot be had), no validators
 * sent, no fallback, and nothing written.
 */
void
sources_probe(const struct config *conf, const struct list_conf *l, size_t idx, time_t now,
    struct source_state *st)
{
	struct gather	 g;
	size_t		 n = l->sourcesz + 1;

	memset(&g, 0, sizeof(g));
	g.conf = conf;
	g.list = l;
	g.now = now;
	g.dry = 1;
	g.st = xcalloc(n, sizeof(*g.st));
	g.cache = xcalloc(n, sizeof(*g.cache));
	g.have_cache = xcalloc(n, sizeof(*g.have_cache));
	g.crl = xcalloc(n, sizeof(*g.crl));
	g.have_crl = xcalloc(n, sizeof(*g.have_crl));
	g.due = xcalloc(n, sizeof(*g.due));
	load_cache(&g, idx);
	g.due[idx] = 1;
	fetch_and_verify(&g);
	/* the verified set moves to the caller */
	*st = g.st[idx];
	cache_entry_free(&g.cache[idx]);
	cache_entry_free(&g.crl[idx]);
	free(g.st);
	free(g.cache);
	free(g.have_cache);
	free(g.crl);
	free(g.have_crl);
	free(g.due);
}
