/*
 * One build cycle: gather every source of a list (source.c: fetched and
 * verified, or the last good copy), apply the list's policy, sign and
 * publish one generation.
 * Nothing flows backwards: verification never reads the publish folder, and
 * publishing never parses untrusted bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"

#define MAX_AUDIT_DROPS		100	/* entity rejections audited per source and cycle */

/* Per-cycle context of one list. */
struct cycle {
	const struct config	*conf;
	const struct list_conf	*list;
	time_t			 now;
	struct source_state	*st;
	time_t			*fetched;	/* per source: last good fetch (bundle sources) */
	struct revoked_set	 revoked;	/* recent revocations listed in the bundle */
	struct hygiene		 hyg;		/* key hygiene findings of this cycle */
	struct live		 prev;		/* the live file before this publication (seq 0: none) */
};

/* State of a list's last publication: state-dir/lists/LIST/{entities,digest}. */
static char *
list_state(const struct cycle *c, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/lists/%s/%s", c->conf->state_dir, c->list->name, name);
	return p;
}

/* A small state file as NUL-terminated text (caller frees), NULL when unreadable. */
static char *
state_text(const char *path)
{
	unsigned char	*buf;
	size_t		 len;

	if (read_file(path, 4096, &buf, &len) == -1)
		return NULL;
	buf = xreallocarray(buf, len + 1, 1);
	buf[len] = '\0';
	return (char *)buf;
}

/* state-dir/lists/LIST/live of conf (caller frees). */
static char *
live_path(const struct config *conf, const char *list)
{
	char	*p;

	xasprintf(&p, "%s/lists/%s/live", conf->state_dir, list);
	return p;
}

/* Remember what generation is live: "SEQ PUBLISHED VALID_UNTIL ENTITIES BYTES". */
static void
live_save(const struct config *conf, const char *list, const struct live *lv)
{
	char	*p = live_path(conf, list), *txt;

	xasprintf(&txt, "%llu %lld %lld %zu %zu\n", (unsigned long long)lv->seq,
	    (long long)lv->published, (long long)lv->valid_until, lv->entities, lv->bytes);
	if (write_file_atomic(p, txt, strlen(txt), 0600) == -1)
		log_warn("%s", p);
	free(txt);
	free(p);
}

/* The live file as written, whatever seq it names. 0 / -1. */
static int
live_read(const struct config *conf, const char *list, struct live *lv)
{
	char			*p = live_path(conf, list), *txt;
	unsigned long long	 seq;
	long long		 pub, until;
	int			 rc = -1;

	memset(lv, 0, sizeof(*lv));
	if ((txt = state_text(p)) != NULL && sscanf(txt, "%llu %lld %lld %zu %zu", &seq, &pub,
	    &until, &lv->entities, &lv->bytes) == 5) {
		lv->seq = seq;
		lv->published = (time_t)pub;
		lv->valid_until = (time_t)until;
		rc = 0;
	}
	free(txt);
	free(p);
	return rc;
}

int
live_load(const struct config *conf, const char *list, struct live *lv)
{
	/* only when it describes the last sequence number handed out */
	if (live_read(conf, list, lv) == -1 || lv->seq != publish_last_seq(conf->state_dir, list)) {
		memset(lv, 0, sizeof(*lv));
		return -1;
	}
	return 0;
}

/* The list's digest state "DIGEST RENEW" into d and *renew. 0 / -1 when none. */
static int
digest_state(const struct config *conf, const char *list, char d[65], time_t *renew)
{
	char		*path, *txt;
	long long	 r;
	int		 rc = -1;

	xasprintf(&path, "%s/lists/%s/digest", conf->state_dir, list);
	if ((txt = state_text(path)) != NULL && sscanf(txt, "%64s %lld", d, &r) == 2) {
		*renew = (time_t)r;
		rc = 0;
	}
	free(txt);
	free(path);
	return rc;
}

/*
 * 1 when an admin decided that id of source src leaves the list: the
 * source was removed from the configuration, revoked, or its approval
 * ended, or the entity was revoked.  Such removals are not a feed
 * collapse, so the mass-drop guard does not count them.
 */
static int
deliberate(const struct cycle *c, const char *id, const char *src)
{
	size_t	 i;

	for (i = 0; i < c->list->sourcesz; i++) {
		const struct source_conf *s = &c->list->sources[i];

		if (strcmp(s->name, src) == 0)
			return revocation_find(s, id) != NULL ||
			    (s->approved_until != 0 && s->approved_until <= c->now);
	}
	return 1;
}

/*
 * The entity IDs of the last publication ("ID TAB SOURCE" per line) that
 * the mass-drop guard counts: those not removed deliberately.
 */
static void
load_prev_ids(const struct cycle *c, char ***ids, size_t *n)
{
	char		*path = list_state(c, "entities");
	unsigned char	*buf;
	size_t		 len;
	char		*s, *line, *tab;

	*ids = NULL;
	*n = 0;
	if (read_file(path, MAX_DOC_SIZE, &buf, &len) == 0) {
		buf = xreallocarray(buf, len + 1, 1);
		buf[len] = '\0';
		for (s = (char *)buf; (line = strsep(&s, "\n")) != NULL; ) {
			if (*line == '\0')
				continue;
			if ((tab = strchr(line, '\t')) != NULL) {
				*tab = '\0';
				if (deliberate(c, line, tab + 1))
					continue;
			}
			strv_push(ids, n, line);
		}
		free(buf);
	}
	free(path);
}

/* Feed a string and its NUL into the digest (NULL as an empty string). */
static void
digest_str(EVP_MD_CTX *ctx, const char *s)
{
	EVP_DigestUpdate(ctx, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

/*
 * Everything the outputs take from a non-SAML entity (a SAML entity is
 * its verified XML): changes to any of it make the selection change.
 */
static void
digest_entity(EVP_MD_CTX *ctx, const struct entity *e)
{
	char	 num[64];
	size_t	 i;

	snprintf(num, sizeof(num), "%d %u %lld %d", (int)e->proto, e->roles,
	    (long long)e->valid_until, e->scoped);
	digest_str(ctx, num);
	digest_str(ctx, e->id);
	digest_str(ctx, e->ta);
	digest_str(ctx, e->org);
	digest_str(ctx, e->names_kind);
	for (i = 0; i < e->pathsz; i++)
		digest_str(ctx, e->path[i]);
	for (i = 0; i < e->scopesz; i++)
		digest_str(ctx, e->scopes[i]);
	for (i = 0; i < e->namesz; i++)
		digest_str(ctx, e->names[i]);
	for (i = 0; i < e->tmsz; i++) {
		snprintf(num, sizeof(num), "tm %lld", (long long)e->tms[i].exp);
		digest_str(ctx, num);
		digest_str(ctx, e->tms[i].type);
	}
	for (i = 0; i < e->keysz; i++) {
		const struct key *k = &e->keys[i];

		snprintf(num, sizeof(num), "key %u %u %d", k->use, k->purposes, (int)k->prov);
		digest_str(ctx, num);
		EVP_DigestUpdate(ctx, k->spki, k->spkisz);
		if (k->cert != NULL)
			EVP_DigestUpdate(ctx, k->cert, k->certsz);
		digest_str(ctx, k->kid);
		digest_str(ctx, k->alg);
		digest_str(ctx, k->juse);
	}
	if (e->meta != NULL)
		EVP_DigestUpdate(ctx, e->meta, e->metasz);
}

/* What else shapes the outputs: the list's and the operator's settings. */
static void
digest_settings(EVP_MD_CTX *ctx, const struct config *conf, const struct list_conf *l)
{
	char	 num[160];

	snprintf(num, sizeof(num), "%u %d %ld %ld %ld %ld %ld", l->outputs, l->bundle_variant,
	    l->bundle_validity, l->saml_validity, l->head_validity, l->refresh, l->cache_duration);
	digest_str(ctx, num);
	digest_str(ctx, l->aggregate_name);
	digest_str(ctx, conf->issuer);
	digest_str(ctx, conf->base_url);
	digest_str(ctx, conf->signing_key);
	digest_str(ctx, conf->signing_cert);
	digest_str(ctx, conf->next_key);
}

/*
 * Digest over the selected entities' content and the settings that shape
 * the outputs: equal digests mean equal outputs.
 */
static void
selection_digest(const struct cycle *c, const struct selection *sel, char out[65])
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 md[32];
	size_t		 i;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("sha256 init");
	digest_settings(ctx, c->conf, c->list);
	for (i = 0; i < c->revoked.n; i++) {
		const struct revoked *r = &c->revoked.r[i];
		char	 num[64];
		size_t	 k;

		snprintf(num, sizeof(num), "revoked %d %lld", (int)r->proto, (long long)r->at);
		digest_str(ctx, num);
		digest_str(ctx, r->id);
		digest_str(ctx, r->src);
		digest_str(ctx, r->reason);
		for (k = 0; k < r->jktsz; k++)
			digest_str(ctx, r->jkts[k]);
		for (k = 0; k < r->x5tsz; k++)
			digest_str(ctx, r->x5ts[k]);
	}
	for (i = 0; i < sel->entsz; i++) {
		if (sel->ents[i]->xml != NULL)
			EVP_DigestUpdate(ctx, sel->ents[i]->xml, sel->ents[i]->xmlsz + 1);
		else
			digest_entity(ctx, sel->ents[i]);
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	sha256_hex(md, sizeof(md), out);
}

/* The SAML entities of a selection (borrowed), for the XML outputs. Caller frees the array. */
static const struct entity **
saml_only(const struct selection *sel, size_t *n)
{
	const struct entity	**v = xcalloc(sel->entsz + 1, sizeof(*v));
	size_t			 i;

	for (*n = 0, i = 0; i < sel->entsz; i++)
		if (sel->ents[i]->proto == PROTO_SAML2)
			v[(*n)++] = sel->ents[i];
	return v;
}

/*
 * An unchanged selection need not be re-signed before its renewal time: the
 * moment the earliest output of the live generation (aggregate, bundle,
 * head, per-entity XML) has used half of its validity (the steady, cheap
 * cycle).  The state file is "DIGEST RENEW".
 */
static int
unchanged(const struct cycle *c, const char *digest)
{
	char	 d[65];
	time_t	 renew;

	return digest_state(c->conf, c->list->name, d, &renew) == 0 && strcmp(d, digest) == 0 &&
	    c->now < renew && publish_last_seq(c->conf->state_dir, c->list->name) > 0;
}

static void
save_list_state(const struct cycle *c, const struct selection *sel, const char *digest,
    time_t renew)
{
	char	*dir = list_state(c, ""), *p, *txt;
	size_t	 i, len = 0;

	mkdir_p(dir, 0700);
	for (i = 0; i < sel->entsz; i++)
		len += strlen(sel->ents[i]->id) + strlen(sel->ents[i]->src) + 2;
	txt = xmalloc(len + 1);
	txt[0] = '\0';
	for (len = 0, i = 0; i < sel->entsz; i++)
		len += (size_t)sprintf(txt + len, "%s\t%s\n", sel->ents[i]->id, sel->ents[i]->src);
	p = list_state(c, "entities");
	if (write_file_atomic(p, txt, len, 0600) == -1)
		log_warn("%s", p);
	free(p);
	free(txt);
	xasprintf(&txt, "%s %lld\n", digest, (long long)renew);
	p = list_state(c, "digest");
	if (write_file_atomic(p, txt, strlen(txt), 0600) == -1)
		log_warn("%s", p);
	free(p);
	free(txt);
	free(dir);
}

/*
 * prev of the bundle seq: the digest of bundle seq-1 when that was the last
 * bundle published (state "SEQ BDIG"); NULL after a gap or on the first one,
 * as bundle-format 4.3 asks.  Caller frees.
 */
static char *
bundle_prev(const struct cycle *c, uint64_t seq)
{
	char			*path = list_state(c, "bundle-prev"), *prev = NULL, *txt;
	unsigned long long	 sq;
	char			 d[64];

	if ((txt = state_text(path)) != NULL && sscanf(txt, "%llu %63s", &sq, d) == 2 &&
	    sq + 1 == seq && strlen(d) == 43)
		prev = xstrdup(d);
	free(txt);
	free(path);
	return prev;
}

static void
save_bundle_prev(const struct cycle *c, uint64_t seq, const char *bdig)
{
	char	*path = list_state(c, "bundle-prev"), *txt;

	xasprintf(&txt, "%llu %s\n", (unsigned long long)seq, bdig);
	if (write_file_atomic(path, txt, strlen(txt), 0600) == -1)
		log_warn("%s", path);
	free(txt);
	free(path);
}

static void
report_drops(const char *list, const struct drop *d, size_t n)
{
	size_t	 i;
	char	 id[256];

	for (i = 0; i < n; i++)
		log_info("list=%s entity=%s dropped reason=%s: %s", list,
		    log_sanitize(d[i].id, strlen(d[i].id), id, sizeof(id)),
		    reason_code(d[i].reason), d[i].detail);
}

/*
 * The live bundle stays reachable under bundles/SEQ.jwt in the next
 * generation: a consumer that read the previous head a moment ago fetches
 * the bundle its burl names, and must not get a 404 because of the switch.
 */
static void
carry_previous_bundle(struct cycle *c, uint64_t seq, struct outfiles *files)
{
	unsigned char	*buf;
	size_t		 len;
	char		 path[64];

	if (c->prev.seq == 0 || c->prev.seq >= seq)
		return;
	snprintf(path, sizeof(path), "bundles/%llu.jwt", (unsigned long long)c->prev.seq);
	if (publish_read_live(c->conf->publish_dir, c->list->name, path, &buf, &len) == 0)
		outfiles_add(files, path, buf, len);
}

/* The signed aggregate into files; *renew when half of its validity is used. 0 / -1 with v. */
static int
make_aggregate(struct cycle *c, const struct signer *sg, const struct selection *sel,
    uint64_t seq, struct outfiles *files, time_t *renew, time_t *until, struct verdict *v)
{
	const struct list_conf	*l = c->list;
	const struct entity	**saml;
	struct saml_out_opts	 o;
	unsigned char		*agg = NULL;
	size_t			 aggsz = 0, nsaml, i;
	char			*name = NULL;
	int			 rc = 0;

	saml = saml_only(sel, &nsaml);
	if (nsaml == 0) {
		log_info("list=%s: no SAML entity, no aggregate", l->name);
		goto out;
	}
	if (l->aggregate_name == NULL)
		xasprintf(&name, "%s/%s", c->conf->issuer, l->name);
	memset(&o, 0, sizeof(o));
	o.name = l->aggregate_name != NULL ? l->aggregate_name : name;
	o.publisher = c->conf->issuer;
	/* never promise more than the inputs do */
	o.valid_until = c->now + l->saml_validity;
	for (i = 0; i < nsaml; i++)
		if (saml[i]->valid_until < o.valid_until)
			o.valid_until = saml[i]->valid_until;
	o.cache_duration = l->cache_duration;
	o.seq = seq;
	rc = out_saml_aggregate(saml, nsaml, &o, sg, c->now, &agg, &aggsz, v);
	if (rc == 0) {
		outfiles_add(files, "aggregate.xml", agg, aggsz);
		if (c->now + (o.valid_until - c->now) / 2 < *renew)
			*renew = c->now + (o.valid_until - c->now) / 2;
		if (o.valid_until < *until)
			*until = o.valid_until;
	}
out:
	free(saml);
	free(name);
	return rc;
}

/*
 * The iat of the bundle, head and entity JWS: now, but never before the
 * last publication.  Consumers keep iat floors (bundle-format 4.9): after
 * a clock stepped back, a lower iat would be refused as a rollback, so the
 * publication keeps the floor instead of going dark until the clock
 * catches up.
 */
static time_t
signing_time(const struct cycle *c)
{
	if (c->prev.published > c->now) {
		log_warnx("list=%s: the clock (%lld) is behind the last publication (%lld); "
		    "signing with the last publication's time", c->list->name, (long long)c->now,
		    (long long)c->prev.published);
		return c->prev.published;
	}
	return c->now;
}

/* Audit: the operator key signed generation seq (which key, which artifacts). */
static void
audit_signed(const struct cycle *c, const struct signer *sg, uint64_t seq,
    const struct bundle *b, size_t files)
{
	json_t	*art = json_array();

	if (c->list->outputs & OUT_SAML)
		json_array_append_new(art, json_string("aggregate.xml"));
	if (b != NULL && (c->list->outputs & OUT_BUNDLE)) {
		json_array_append_new(art, json_string("bundle.jwt"));
		json_array_append_new(art, json_string("head.jwt"));
	}
	if (c->list->outputs & OUT_MDQ)
		json_array_append_new(art, json_string("entities/"));
	audit_emit(c->now, "operator-key-used", "info", json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:I}",
	    "list", c->list->name, "seq", (json_int_t)seq, "kid", b != NULL ? b->kid : "",
	    "alg", b != NULL ? fedtrustp_alg_name(b->alg) : "", "key",
	    sg->file != NULL ? sg->file : "", "artifacts", art, "files", (json_int_t)files));
}

/*
 * Sign every output of the list (aggregate, bundle with head and keys.json,
 * per-entity lookups) and publish them as one generation: any failure
 * leaves the previous generation live (fail-closed).  0 / -1.
 */
static int
publish_selection(struct cycle *c, const struct signer *sg, const struct selection *sel,
    const char *digest, struct live *lv, struct verdict *why)
{
	const struct list_conf	*l = c->list;
	struct outfiles		 files;
	struct bundle		 b;
	struct bundle_opts	 bo;
	struct mdq_opts		 mo;
	struct mdq_state	*mst = NULL;
	struct verdict		 v;
	struct change_input	 ci;
	const struct entity	**saml;
	size_t			 nsaml, chgsz = 0;
	char			*prev = NULL, *chg = NULL, chgpath[64];
	uint64_t		 seq;
	time_t			 renew = c->now + l->saml_validity / 2, half, iat;
	int			 rc = -1, have_bundle = 0;

	memset(&v, 0, sizeof(v));
	memset(&files, 0, sizeof(files));
	/* read once: the carried bundle and the iat floor both come from it */
	(void)live_read(c->conf, l->name, &c->prev);
	iat = signing_time(c);
	memset(&b, 0, sizeof(b));
	memset(lv, 0, sizeof(*lv));
	lv->valid_until = c->now + MAX_BUNDLE_VALIDITY + l->saml_validity;
	if (publish_next_seq(c->conf->state_dir, l->name, &seq) == -1) {
		verdict_set(&v, R_PUBLISH_FAILED, "cannot allocate a sequence number in %s",
		    c->conf->state_dir);
		goto out;
	}
	if ((l->outputs & OUT_SAML) &&
	    make_aggregate(c, sg, sel, seq, &files, &renew, &lv->valid_until, &v) == -1)
		goto out;
	memset(&bo, 0, sizeof(bo));
	bo.issuer = c->conf->issuer;
	bo.list = l->name;
	bo.base_url = c->conf->base_url;
	bo.seq = seq;
	bo.bundle_validity = l->bundle_validity;
	bo.head_validity = l->head_validity;
	bo.refresh = l->refresh;
	bo.variant = l->bundle_variant;
	bo.next_key = c->conf->next_key;
	bo.sources = c->st;
	bo.sourcesz = l->sourcesz;
	bo.fetched = c->fetched;
	bo.revoked = &c->revoked;
	if (l->outputs & (OUT_BUNDLE | OUT_MDQ)) {
		bo.prev = prev = bundle_prev(c, seq);
		if (bundle_make(sel->ents, sel->entsz, &bo, sg, iat, &b, &v) == -1)
			goto out;
		have_bundle = 1;
		if (b.exp < lv->valid_until)
			lv->valid_until = b.exp;
		if (b.head_exp < lv->valid_until)
			lv->valid_until = b.head_exp;
		half = b.iat + (b.exp - b.iat) / 2;
		if (half < renew)
			renew = half;
		half = b.iat + (b.head_exp - b.iat) / 2;
		if (half < renew)
			renew = half;
		if (l->outputs & OUT_BUNDLE) {
			bundle_files(&b, seq, &files);
			carry_previous_bundle(c, seq, &files);
		}
	}
	if (l->outputs & OUT_MDQ) {
		memset(&mo, 0, sizeof(mo));
		mo.state_dir = c->conf->state_dir;
		mo.publish_dir = c->conf->publish_dir;
		mo.list = l->name;
		mo.saml_validity = l->saml_validity;
		saml = saml_only(sel, &nsaml);
		rc = mdq_make(saml, nsaml, &b, &bo, &mo, sg, iat, &files, &mst, &renew, &v);
		free(saml);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.conf = c->conf;
	ci.list = l;
	ci.seq = seq;
	ci.now = c->now;
	ci.ents = sel->ents;
	ci.entsz = sel->entsz;
	ci.drops = sel->drops;
	ci.dropsz = sel->dropsz;
	ci.bdig = have_bundle ? b.bdig : NULL;
	if (changes_make(&ci, &chg, &chgsz, &v) == -1)
		goto out;
	snprintf(chgpath, sizeof(chgpath), "changes/%llu.json", (unsigned long long)seq);
	outfiles_add_ref(&files, chgpath, (const unsigned char *)chg, chgsz);
	changes_carry(c->conf, l->name, seq, &files);
	if (publish_generation(c->conf->publish_dir, l->name, seq, files.f, files.n,
	    c->conf->keep_generations, &v) == -1)
		goto out;
	changes_commit(&ci, chg, chgsz);
	audit_signed(c, sg, seq, have_bundle ? &b : NULL, files.n);
	save_list_state(c, sel, digest, renew);
	lv->seq = seq;
	lv->published = iat;
	lv->entities = sel->entsz;
	lv->bytes = have_bundle ? b.jwssz : 0;
	live_save(c->conf, l->name, lv);
	if (have_bundle && (l->outputs & OUT_BUNDLE))
		save_bundle_prev(c, seq, b.bdig);
	if (mst != NULL)
		mdq_commit(mst, &mo);
	log_info("list=%s: published generation %llu with %zu entities (%zu files), "
	    "renewal due %s", l->name, (unsigned long long)seq, sel->entsz, files.n,
	    format_time(renew, (char[32]){ 0 }, 32));
	rc = 0;
out:
	if (rc == -1)
		log_warnx("list=%s reason=%s: %s; the previous generation stays live", l->name,
		    reason_code(v.reason), v.detail);
	*why = v;
	mdq_state_free(mst);
	bundle_free(&b);
	outfiles_free(&files);
	free(prev);
	free(chg);
	return rc;
}

/*
 * Select, guard and publish.  Returns 0 published (or unchanged; lv the
 * live generation), -1 kept the last output (why).
 */
static int
publish_list(struct cycle *c, const struct signer *sg, int force, struct live *lv,
    struct verdict *why)
{
	const struct list_conf	*l = c->list;
	struct selection	 sel;
	char			**prev;
	size_t			 prevsz;
	char			 digest[65];
	int			 rc = -1;

	memset(why, 0, sizeof(*why));
	policy_select(l, c->st, l->sourcesz, c->now, &sel, why);
	hygiene_check(c->conf, l, &sel, c->now, &c->hyg);
	report_drops(l->name, sel.drops, sel.dropsz);
	revoked_collect(c->conf, l, c->st, l->sourcesz, c->now, &c->revoked);
	load_prev_ids(c, &prev, &prevsz);
	if (policy_check_drop(l, prev, prevsz, &sel, why) == -1 &&
	    !(force && why->reason == R_MASS_DROP)) {
		log_warnx("list=%s reason=%s: %s; the previous generation stays live%s", l->name,
		    reason_code(why->reason), why->detail,
		    why->reason == R_MASS_DROP ? " (use --force once to accept)" : "");
		goto out;
	}
	memset(why, 0, sizeof(*why));
	selection_digest(c, &sel, digest);
	if (unchanged(c, digest) && live_load(c->conf, l->name, lv) == 0) {
		log_info("list=%s: unchanged, generation %llu stays live", l->name,
		    (unsigned long long)lv->seq);
		rc = 0;
		goto out;
	}
	rc = publish_selection(c, sg, &sel, digest, lv, why);
out:
	strv_free(prev, prevsz);
	selection_free(&sel);
	return rc;
}

/* Tell the daemon's metrics how each source and the list fared. */
static void
record(const struct build_opts *bo, struct cycle *c, int published, const struct live *lv,
    const struct verdict *why)
{
	size_t	 i;

	if (bo->metrics == NULL)
		return;
	for (i = 0; i < c->list->sourcesz; i++)
		metrics_source(bo->metrics, c->list->name, &c->st[i], c->now,
		    c->st[i].status != SRC_FAILED ? c->st[i].set.valid_until : 0);
	metrics_hygiene(bo->metrics, c->list->name, &c->hyg, c->revoked.n);
	if (published)
		metrics_published(bo->metrics, c->list->name, lv->seq, lv->published, lv->entities,
		    lv->bytes, lv->valid_until);
	else
		metrics_kept(bo->metrics, c->list->name, c->now, why);
}

time_t
build_next(const struct config *conf, const struct list_conf *l, struct schedule *sched,
    time_t now)
{
	time_t	 t, retry = schedule_list_retry(sched, l->name), n;
	char	 d[65];
	size_t	 i;

	/* renewal due (or never published): at once, or after the last failed try's pause */
	if (digest_state(conf, l->name, d, &t) == -1 || t <= now)
		t = retry > now ? retry : now;
	for (i = 0; i < l->sourcesz && t > now; i++)
		if ((n = schedule_source_next(sched, l->name, l->sources[i].name)) < t)
			t = n;
	return t < now ? now : t;
}

/*
 * Audit what a source's fetch this cycle rejected: the document (its
 * reason code), or single entities of an accepted document (at most
 * MAX_AUDIT_DROPS, then one summary).  Sources served from their last good
 * copy without a fetch report nothing new.
 */
static void
audit_source(const struct cycle *c, const struct source_state *st)
{
	const char	*name = st->conf->name;
	size_t		 i;

	if (!st->fetched)
		return;
	if (st->status != SRC_OK)
		audit_emit(c->now, "rejection", "warning", json_pack("{s:s,s:s,s:s,s:s,s:s}",
		    "list", c->list->name, "source", name, "reason", reason_code(st->v.reason),
		    "detail", st->v.detail, "status", st->status == SRC_STALE ? "stale" : "failed"));
	if (st->status == SRC_FAILED)
		return;
	for (i = 0; i < st->set.dropsz && i < MAX_AUDIT_DROPS; i++)
		audit_emit(c->now, "rejection", "warning", json_pack("{s:s,s:s,s:s,s:s,s:s}",
		    "list", c->list->name, "source", name, "id", st->set.drops[i].id,
		    "reason", reason_code(st->set.drops[i].reason),
		    "detail", st->set.drops[i].detail));
	if (st->set.dropsz > MAX_AUDIT_DROPS)
		audit_emit(c->now, "rejection", "warning", json_pack("{s:s,s:s,s:s,s:I}",
		    "list", c->list->name, "source", name, "reason", "more",
		    "count", (json_int_t)(st->set.dropsz - MAX_AUDIT_DROPS)));
}

/*
 * Approval of source s: ended (its entities drop out in policy.c) or ending
 * within the list's approval-warning.  Logged every cycle, audited once a
 * day (audit_throttle).
 */
static void
approval_check(const struct cycle *c, const struct source_conf *s)
{
	const struct list_conf	*l = c->list;
	time_t			 until = s->approved_until;
	char			 when[32], key[160];
	long long		 days;

	if (until == 0 || until - c->now > l->approval_warning)
		return;
	format_time(until, when, sizeof(when));
	days = until > c->now ? (long long)((until - c->now + 86399) / 86400) : 0;
	snprintf(key, sizeof(key), "approval %s %lld", s->name, (long long)until);
	if (until <= c->now) {
		log_warnx("list=%s source=%s reason=%s: approval ended %s (owner %s); its entities "
		    "are left out until approved-until is renewed", l->name, s->name,
		    reason_code(R_APPROVAL_EXPIRED), when, s->owner != NULL ? s->owner : "unknown");
		if (audit_throttle(c->conf, l->name, key, c->now, AUDIT_REPEAT))
			audit_emit(c->now, "approval-expired", "alert", json_pack("{s:s,s:s,s:s,s:s}",
			    "list", l->name, "source", s->name, "owner",
			    s->owner != NULL ? s->owner : "", "approved_until", when));
		return;
	}
	log_warnx("list=%s source=%s: approval ends %s (in %lld days, owner %s); renew "
	    "approved-until or the source drops out", l->name, s->name, when, days,
	    s->owner != NULL ? s->owner : "unknown");
	if (audit_throttle(c->conf, l->name, key, c->now, AUDIT_REPEAT))
		audit_emit(c->now, "approval-expiring", "warning", json_pack("{s:s,s:s,s:s,s:s,s:I}",
		    "list", l->name, "source", s->name, "owner", s->owner != NULL ? s->owner : "",
		    "approved_until", when, "days_left", (json_int_t)days));
}

/*
 * Audit a list that kept its previous generation (mass-drop, no entity,
 * signing or publishing failure): an alert, once a day per list and reason.
 */
static void
audit_held(const struct cycle *c, const struct verdict *why)
{
	char	 key[96];

	snprintf(key, sizeof(key), "held:%s", reason_code(why->reason));
	if (audit_throttle(c->conf, c->list->name, key, c->now, AUDIT_REPEAT))
		audit_emit(c->now, "publication-held", "alert", json_pack("{s:s,s:s,s:s}",
		    "list", c->list->name, "reason", reason_code(why->reason), "detail",
		    why->detail));
}

/*
 * The operator key, loaded only after the list's fetch and verify children
 * were forked (and freed, zeroised, before the next list's): a child that
 * parses partner bytes never has the key in its memory.  NULL (logged) when
 * it cannot be used.
 */
static struct signer *
signer_open(const struct config *conf, struct signer *sg, struct verdict *why)
{
	memset(sg, 0, sizeof(*sg));
	if (conf->signing_key == NULL) {
		verdict_set(why, R_SIGN_FAILED, "no signing-key configured");
		return NULL;
	}
	if (signer_load(sg, conf->signing_key, conf->signing_cert, why) == -1) {
		why->reason = R_SIGN_FAILED;
		return NULL;
	}
	return sg;
}

/* One list: 0 all sources fine and published, 1 otherwise. */
static int
build_list(const struct config *conf, const struct list_conf *l, const struct build_opts *bo)
{
	struct cycle	 c;
	struct live	 lv;
	struct verdict	 why;
	struct signer	 key, *sg;
	size_t		 i;
	int		 rc = 0, published;

	memset(&c, 0, sizeof(c));
	memset(&lv, 0, sizeof(lv));
	c.conf = conf;
	c.list = l;
	c.now = bo->now;
	c.st = xcalloc(l->sourcesz + 1, sizeof(*c.st));
	c.fetched = xcalloc(l->sourcesz + 1, sizeof(*c.fetched));
	sources_gather_isolated(conf, l, c.now, c.st, c.fetched, bo->sched);
	for (i = 0; i < l->sourcesz; i++) {
		if (c.st[i].status != SRC_OK)
			rc = 1;
		audit_source(&c, &c.st[i]);
		approval_check(&c, c.st[i].conf);
	}
	memset(&why, 0, sizeof(why));
	if ((sg = signer_open(conf, &key, &why)) == NULL)
		log_warnx("list=%s reason=%s: %s; nothing will be published", l->name,
		    reason_code(R_SIGN_FAILED), why.detail);
	published = sg != NULL && publish_list(&c, sg, bo->force, &lv, &why) == 0;
	if (sg != NULL)
		signer_free(sg);
	if (!published) {
		rc = 1;
		audit_held(&c, &why);
	}
	record(bo, &c, published, &lv, &why);
	for (i = 0; i < l->sourcesz; i++)
		entity_set_free(&c.st[i].set);
	revoked_set_free(&c.revoked);
	free(c.st);
	free(c.fetched);
	return rc;
}

int
build_run(const struct config *conf, const struct build_opts *bo)
{
	size_t		 i;
	int		 lock, rc = EXIT_OK;

	if (mkdir_p(conf->state_dir, 0700) == -1 || mkdir_p(conf->publish_dir, 0755) == -1) {
		log_warn("cannot create %s or %s", conf->state_dir, conf->publish_dir);
		return EXIT_INTERNAL;
	}
	if ((lock = publish_lock(conf->state_dir)) == -1) {
		log_warnx("%s: another fedtrust process holds the state-dir lock", conf->state_dir);
		return EXIT_REJECT;
	}
	for (i = 0; i < conf->listsz; i++) {
		if (bo->only_list != NULL && strcmp(bo->only_list, conf->lists[i].name) != 0)
			continue;
		/* the daemon: nothing due and nothing to renew in this list yet */
		if (conf->lists[i].disabled)
			continue;
		if (bo->sched != NULL && !bo->every_list &&
		    build_next(conf, &conf->lists[i], bo->sched, bo->now) > bo->now)
			continue;
		if (build_list(conf, &conf->lists[i], bo) != 0)
			rc = EXIT_REJECT;
		if (bo->sched != NULL)
			schedule_list_ran(bo->sched, conf->lists[i].name, bo->now);
	}
	close(lock);
	return rc;
}
