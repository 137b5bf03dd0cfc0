/*
 * Key hygiene of a list at each publication (docs/key-hygiene.md): weak
 * partner keys, one key (SPKI) used by several partners, and partner
 * certificates about to end.  Runs on the selection policy made, before
 * anything is signed; entities it drops leave the selection with a reason,
 * like policy's own drops.  Every finding is logged (one line each, a summary
 * beyond MAX_FINDINGS_LOGGED of a kind) and audited at most once a day.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "extern.h"

#define MAX_FINDINGS_LOGGED	20	/* log lines per kind of finding per check */
#define MAX_SHARED_LISTED	100	/* ids (and sources) named in one key-shared event */
#define MAX_SHARED_LOG_IDS	5	/* ids named in one key-shared log line */

enum finding { F_WEAK, F_SHARED, F_EXPIRING, F_NKIND };
static const char *const finding_name[F_NKIND] = { "weak-key", "shared-key", "expiring-certificate" };

/* Why one entity of the selection is dropped (detail NULL: kept). */
struct mark {
	enum reason	 reason;
	char		*detail;
};

/* The SHA-256 of one key's SPKI and the entity holding it. */
struct spkiref {
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	const char	*id;		/* the entity's id (borrowed) */
	size_t		 ent;		/* index into sel->ents */
	size_t		 key;		/* index into that entity's keys */
};

struct hctx {
	const struct config	*conf;
	const struct list_conf	*l;
	struct selection	*sel;
	time_t			 now;
	struct mark		*marks;		/* one per sel->ents */
	size_t			*weakkey;	/* one per sel->ents: first weak key, or NONE */
	struct spkiref		*refs;		/* every key of the selection, sorted */
	size_t			 refsz;
	size_t			 found[F_NKIND];
};
#define NONE	((size_t)-1)

/* The source name of e for messages. */
static const char *
src_name(const struct entity *e)
{
	return e->src != NULL ? e->src : "?";
}

/* Count a finding of kind; 1 when it may still have its own log line. */
static int
log_finding(struct hctx *c, enum finding kind)
{
	return ++c->found[kind] <= MAX_FINDINGS_LOGGED;
}

/*
 * The audit_throttle key of a finding about (id, proto): kind, a hash of
 * the entity (ids are long and may hold any character) and the key's
 * thumbprint.  Caller frees.
 */
static char *
throttle_key(const char *kind, const struct entity *e, const char *tp)
{
	char	*s, hex[65], *k;

	xasprintf(&s, "%s\n%d", e->id, (int)e->proto);
	sha256_hex(s, strlen(s), hex);
	hex[32] = '\0';
	xasprintf(&k, "%s:%s:%s", kind, hex, tp);
	free(s);
	return k;
}

/* Emit event with fields (stolen) unless key was audited within AUDIT_REPEAT. */
static void
audit_throttled(struct hctx *c, const char *key, const char *event, json_t *fields)
{
	if (audit_throttle(c->conf, c->l->name, key, c->now, AUDIT_REPEAT))
		audit_emit(c->now, event, "warning", fields);
	else
		json_decref(fields);
}

/* base64url SHA-256 of buf (caller frees). */
static char *
thumb(const unsigned char *buf, size_t len)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	return b64url_encode(md, sizeof(md));
}

/* The weak keys of entity i: logged, audited, and the entity marked unless weak-keys = warn. */
static void
check_weak(struct hctx *c, size_t i)
{
	const struct entity	*e = c->sel->ents[i];
	char			 why[128], sid[256], *detail, *t, *key;
	size_t			 j;
	json_t			*o;

	if ((j = c->weakkey[i]) == NONE)
		return;
	if (entity_key_strong(&e->keys[j], why, sizeof(why)))
		snprintf(why, sizeof(why), "weak key");		/* not reached */
	if (e->keys[j].cert != NULL) {
		t = thumb(e->keys[j].cert, e->keys[j].certsz);
		xasprintf(&detail, "%s (certificate x5t#S256 %s)", why, t);
	} else {
		t = thumb(e->keys[j].spki, e->keys[j].spkisz);
		xasprintf(&detail, "%s (key SPKI sha256 %s)", why, t);
	}
	if (log_finding(c, F_WEAK))
		log_warnx("list %s: entity %s (%s, source %s): %s%s", c->l->name,
		    log_sanitize(e->id, strlen(e->id), sid, sizeof(sid)), proto_name(e->proto),
		    src_name(e), detail, c->l->weak_keys ? "; kept (weak-keys = warn)" : "; dropped");
	key = throttle_key("key-weak", e, t);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "list", c->l->name, "id", e->id,
	    "proto", proto_name(e->proto), "source", src_name(e), "detail", detail,
	    "policy", c->l->weak_keys ? "warn" : "reject");
	audit_throttled(c, key, "key-weak", o);
	free(key);
	free(t);
	if (c->l->weak_keys)
		free(detail);
	else {
		c->marks[i].reason = R_KEY_WEAK;
		c->marks[i].detail = detail;
	}
}

/* Order SPKI hashes, then entity ids, so one key's holders are adjacent and ids grouped. */
static int
spkiref_cmp(const void *a, const void *b)
{
	const struct spkiref	*x = a, *y = b;
	int			 d;

	if ((d = memcmp(x->md, y->md, sizeof(x->md))) != 0)
		return d;
	if ((d = strcmp(x->id, y->id)) != 0)
		return d;
	return x->ent < y->ent ? -1 : x->ent > y->ent;
}

/* 1 when s is among v[0..n). */
static int
strv_has(char **v, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/*
 * "a, b, c and N more" of the first MAX_SHARED_LOG_IDS of v[0..n) out of
 * total, sanitized for a log line.  Caller frees.
 */
static char *
join_names(char **v, size_t n, size_t total)
{
	char	*line = xstrdup(""), *p, buf[256];
	size_t	 i;

	for (i = 0; i < n && i < MAX_SHARED_LOG_IDS; i++) {
		xasprintf(&p, "%s%s%s", line, i ? ", " : "",
		    log_sanitize(v[i], strlen(v[i]), buf, sizeof(buf)));
		free(line);
		line = p;
	}
	if (total > i) {
		xasprintf(&p, "%s and %zu more", line, total - i);
		free(line);
		line = p;
	}
	return line;
}

/*
 * One SPKI held by refs[0..n) (sorted by id) of ndist distinct ids: log,
 * audit, and with shared-keys = reject mark every holder.
 */
static void
shared_found(struct hctx *c, const struct spkiref *refs, size_t n, size_t ndist)
{
	const struct entity	**ents = c->sel->ents;
	char			**ids = NULL, **srcs = NULL, *spki, *key, *line, *srcline;
	size_t			 idsz = 0, srcsz = 0, i;
	json_t			*o, *a;

	spki = b64url_encode(refs[0].md, sizeof(refs[0].md));
	for (i = 0; i < n; i++) {
		const struct entity *e = ents[refs[i].ent];

		if ((idsz == 0 || strcmp(ids[idsz - 1], e->id) != 0) && idsz < MAX_SHARED_LISTED)
			strv_push(&ids, &idsz, e->id);
		if (e->src != NULL && !strv_has(srcs, srcsz, e->src) && srcsz < MAX_SHARED_LISTED)
			strv_push(&srcs, &srcsz, e->src);
	}
	if (log_finding(c, F_SHARED)) {
		line = join_names(ids, idsz, ndist);
		srcline = join_names(srcs, srcsz, srcsz);
		log_warnx("list %s: key SPKI sha256 %s is used by %zu entity ids: %s "
		    "(sources: %s)%s", c->l->name, spki, ndist, line, srcline,
		    c->l->shared_keys ? "; all dropped (shared-keys = reject)" : "");
		free(line);
		free(srcline);
	}
	o = json_pack("{s:s, s:s, s:I, s:s}", "list", c->l->name, "spki", spki,
	    "count", (json_int_t)ndist, "policy", c->l->shared_keys ? "reject" : "warn");
	a = json_array();
	for (i = 0; i < idsz; i++)
		json_array_append_new(a, json_string(ids[i]));
	json_object_set_new(o, "ids", a);
	a = json_array();
	for (i = 0; i < srcsz; i++)
		json_array_append_new(a, json_string(srcs[i]));
	json_object_set_new(o, "sources", a);
	xasprintf(&key, "key-shared:%s", spki);
	audit_throttled(c, key, "key-shared", o);
	free(key);
	for (i = 0; c->l->shared_keys && i < n; i++) {
		struct mark	*m = &c->marks[refs[i].ent];
		const char	*other = strcmp(ids[0], ents[refs[i].ent]->id) != 0 ? ids[0] : ids[1];

		if (m->detail != NULL)
			continue;
		m->reason = R_KEY_SHARED;
		xasprintf(&m->detail, "key SPKI sha256 %s is also used by %s%s (%zu entity ids)",
		    spki, other, ndist > 2 ? " and others" : "", ndist);
	}
	strv_free(ids, idsz);
	strv_free(srcs, srcsz);
	free(spki);
}

/*
 * Hash every key of the selection and sort the hashes (O(k log k)), so that
 * one key's holders are adjacent; judge each distinct SPKI once (parsing a
 * key is the expensive part) and note each entity's first weak key.
 */
static void
index_keys(struct hctx *c)
{
	const struct entity	**ents = c->sel->ents;
	char			 why[128];
	size_t			 i, j, k;

	for (i = 0; i < c->sel->entsz; i++) {
		c->weakkey[i] = NONE;
		c->refs = xreallocarray(c->refs, c->refsz + ents[i]->keysz, sizeof(*c->refs));
		for (j = 0; j < ents[i]->keysz; j++) {
			struct spkiref *r = &c->refs[c->refsz++];

			SHA256(ents[i]->keys[j].spki, ents[i]->keys[j].spkisz, r->md);
			r->id = ents[i]->id;
			r->ent = i;
			r->key = j;
		}
	}
	if (c->refsz > 0)
		qsort(c->refs, c->refsz, sizeof(*c->refs), spkiref_cmp);
	for (i = 0; i < c->refsz; i = j) {
		for (j = i + 1; j < c->refsz && memcmp(c->refs[j].md, c->refs[i].md,
		    sizeof(c->refs[i].md)) == 0; j++)
			continue;
		if (entity_key_strong(&ents[c->refs[i].ent]->keys[c->refs[i].key], why,
		    sizeof(why)))
			continue;
		for (k = i; k < j; k++)
			if (c->refs[k].key < c->weakkey[c->refs[k].ent])
				c->weakkey[c->refs[k].ent] = c->refs[k].key;
	}
}

/*
 * Keys used by more than one entity id among the entities still kept: runs
 * of equal hashes in the sorted index.  The same id in several protocols is
 * one partner and does not count.
 */
static void
check_shared(struct hctx *c, struct hygiene *h)
{
	struct spkiref	*run;
	size_t		 i, j, n, ndist;

	run = xcalloc(c->refsz > 0 ? c->refsz : 1, sizeof(*run));
	for (i = 0; i < c->refsz; i = j) {
		n = ndist = 0;
		for (j = i; j < c->refsz && memcmp(c->refs[j].md, c->refs[i].md,
		    sizeof(c->refs[i].md)) == 0; j++) {
			if (c->marks[c->refs[j].ent].detail != NULL)
				continue;	/* already dropped (weak key) */
			if (n == 0 || strcmp(c->refs[j].id, run[n - 1].id) != 0)
				ndist++;
			run[n++] = c->refs[j];
		}
		if (ndist < 2)
			continue;
		h->shared++;
		shared_found(c, run, n, ndist);
	}
	free(run);
}

/* Certificates of entity i ending within cert-expiry-warning (or already ended). */
static void
check_expiring(struct hctx *c, size_t i, struct hygiene *h)
{
	const struct entity	*e = c->sel->ents[i];
	const struct key	*k;
	char			 sid[256], when[32], *t, *key;
	long			 left, days;
	size_t			 j, m;

	for (j = 0; j < e->keysz; j++) {
		k = &e->keys[j];
		if (k->cert == NULL || k->not_after == 0 ||
		    k->not_after > c->now + c->l->cert_warning)
			continue;
		for (m = 0; m < j; m++)		/* one certificate listed twice counts once */
			if (e->keys[m].certsz == k->certsz &&
			    memcmp(e->keys[m].cert, k->cert, k->certsz) == 0)
				break;
		if (m < j)
			continue;
		h->expiring++;
		left = (long)(k->not_after - c->now);
		days = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
		t = thumb(k->cert, k->certsz);
		format_time(k->not_after, when, sizeof(when));
		if (log_finding(c, F_EXPIRING))
			log_warnx("list %s: entity %s (%s, source %s): certificate x5t#S256 %s "
			    "%s %s (%ld days)", c->l->name,
			    log_sanitize(e->id, strlen(e->id), sid, sizeof(sid)),
			    proto_name(e->proto), src_name(e), t, left > 0 ? "ends" : "ended", when,
			    days);
		key = throttle_key("cert-expiring", e, t);
		audit_throttled(c, key, "cert-expiring", json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "list", c->l->name, "id", e->id,
		    "proto", proto_name(e->proto), "source", src_name(e), "x5t", t,
		    "not_after", when, "days_left", (json_int_t)days));
		free(key);
		free(t);
	}
}

/* Move marked entities from sel->ents to sel->drops, keeping order; recompute valid_until. */
static void
apply_marks(struct hctx *c)
{
	struct selection	*sel = c->sel;
	struct drop		*d;
	size_t			 i, n = 0;

	sel->valid_until = 0;
	for (i = 0; i < sel->entsz; i++) {
		const struct entity *e = sel->ents[i];

		if (c->marks[i].detail != NULL) {
			sel->drops = xreallocarray(sel->drops, sel->dropsz + 1,
			    sizeof(*sel->drops));
			d = &sel->drops[sel->dropsz++];
			d->id = xstrdup(e->id);
			d->reason = c->marks[i].reason;
			d->detail = c->marks[i].detail;	/* moved */
			c->marks[i].detail = NULL;
			continue;
		}
		sel->ents[n++] = e;
		if (sel->valid_until == 0 || e->valid_until < sel->valid_until)
			sel->valid_until = e->valid_until;
	}
	sel->entsz = n;
}

void
hygiene_check(const struct config *conf, const struct list_conf *l, struct selection *sel,
    time_t now, struct hygiene *h)
{
	struct hctx	 c;
	size_t		 i, k;

	memset(h, 0, sizeof(*h));
	if (sel->entsz == 0)
		return;
	memset(&c, 0, sizeof(c));
	c.conf = conf;
	c.l = l;
	c.sel = sel;
	c.now = now;
	c.marks = xcalloc(sel->entsz, sizeof(*c.marks));
	c.weakkey = xcalloc(sel->entsz, sizeof(*c.weakkey));

	index_keys(&c);
	for (i = 0; i < sel->entsz; i++)
		check_weak(&c, i);
	h->weak = c.found[F_WEAK];
	check_shared(&c, h);
	for (i = 0; i < sel->entsz; i++)
		if (c.marks[i].detail == NULL)
			check_expiring(&c, i, h);
	for (k = 0; k < F_NKIND; k++)
		if (c.found[k] > MAX_FINDINGS_LOGGED)
			log_warnx("list %s: %zu more %s findings not logged one by one "
			    "(%zu in all)", l->name, c.found[k] - MAX_FINDINGS_LOGGED,
			    finding_name[k], c.found[k]);
	apply_marks(&c);
	free(c.marks);
	free(c.weakkey);
	free(c.refs);
}
