/*
 * The OpenID Federation resolver (oidf*.c) against an in-memory federation
 * signed at test time: a trust anchor, an intermediate, an OP, an RP (RSA,
 * RS256) and a trust mark issuer, served from a url -> body table through
 * oidf_snapshot_fetch.  Positive discovery and bottom-up resolution, then
 * every JWS-13 and JWS-14 case of security-rules.md as a failing variant
 * asserting the leaf's drop reason, trust marks, protocol keys, the fetch
 * budget and the snapshot round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "extern.h"
#include "lib/private.h"
#include "testutil.h"

#define NOW	1772431200
#define DAY	86400

#define TA	"https://ta.example"
#define IA	"https://ia.example"
#define OP	"https://op.example"
#define RP	"https://rp.example"
#define TMI	"https://tmi.example"
#define OTHER	"https://other.example"
#define TM_TYPE	"https://ta.example/tm/certified"
#define TM_TA	"https://ta.example/tm/member"
#define RP_SJWKS "https://rp.example/jwks.jwt"

/* Keys made once: federation keys, protocol keys, strangers. */
static EVP_PKEY	*k_ta, *k_ta2, *k_ia, *k_op, *k_rp, *k_tmi, *k_rogue, *k_opp, *k_opp2, *k_rpp,
		*k_other;

/* ------------------------------------------------------------ signing */

/* JWK of the public key with kid = its RFC 7638 thumbprint (new reference). */
static json_t *
jwk_of(EVP_PKEY *k)
{
	struct fedtrust_error	 err;
	char			 kid[FEDTRUSTP_JKT_LEN + 1];
	json_t			*j;

	assert_non_null(j = fedtrustp_pkey_to_jwk(k, &err));
	assert_int_equal(fedtrustp_pkey_thumbprint(k, kid, &err), 0);
	json_object_set_new(j, "kid", json_string(kid));
	return j;
}

static json_t *
jwks_of(EVP_PKEY *a, EVP_PKEY *b)
{
	json_t	*keys = json_array();

	json_array_append_new(keys, jwk_of(a));
	if (b != NULL)
		json_array_append_new(keys, jwk_of(b));
	return json_pack("{s:o}", "keys", keys);
}

static char *
kid_of(EVP_PKEY *k)
{
	struct fedtrust_error	 err;
	char			 kid[FEDTRUSTP_JKT_LEN + 1];

	assert_int_equal(fedtrustp_pkey_thumbprint(k, kid, &err), 0);
	return xstrdup(kid);
}

static char *
b64u(const void *p, size_t n)
{
	struct fedtrust_error	 err;
	char			*s, *r;

	assert_non_null(s = fedtrustp_b64url_encode(p, n, &err));
	r = xstrdup(s);
	fedtrustp_free(s);
	return r;
}

/* RS256 by hand (fedtrustp_jws_sign signs only pinnable algorithms). */
static char *
sign_rs256(EVP_PKEY *k, const char *typ, const char *payload)
{
	struct fedtrust_error	 err;
	EVP_MD_CTX		*ctx = EVP_MD_CTX_new();
	json_t			*h;
	char			*hs, *h64, *p64, *in, *s64, *out, *kid = kid_of(k);
	unsigned char		 sig[1024];
	size_t			 siglen = sizeof(sig);

	h = json_pack("{s:s,s:s,s:s}", "alg", "RS256", "kid", kid, "typ", typ);
	assert_non_null(hs = fedtrustp_json_dump_canonical(h, &err));
	h64 = b64u(hs, strlen(hs));
	p64 = b64u(payload, strlen(payload));
	xasprintf(&in, "%s.%s", h64, p64);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)in, strlen(in)), 1);
	s64 = b64u(sig, siglen);
	xasprintf(&out, "%s.%s", in, s64);
	EVP_MD_CTX_free(ctx);
	json_decref(h);
	fedtrustp_free(hs);
	free(h64);
	free(p64);
	free(in);
	free(s64);
	free(kid);
	return out;
}

/* A compact JWS of payload by k: RS256 for RSA keys, ES256 for P-256.  Caller frees. */
static char *
sign(EVP_PKEY *k, const char *typ, const json_t *payload)
{
	struct fedtrust_error	 err;
	char			*p, *s, *r;

	assert_non_null(p = fedtrustp_json_dump_canonical(payload, &err));
	if (EVP_PKEY_is_a(k, "RSA"))
		r = sign_rs256(k, typ, p);
	else {
		s = fedtrustp_jws_sign((unsigned char *)p, strlen(p), k, FEDTRUSTP_ALG_ES256, typ,
		    &err);
		assert_non_null(s);
		r = xstrdup(s);
		fedtrustp_free(s);
	}
	fedtrustp_free(p);
	return r;
}

/*
 * A forgery: the header (kid) and payload signed by k, the signature by
 * forger (both P-256, so the signature has the right size).  Caller frees.
 */
static char *
forge(EVP_PKEY *k, EVP_PKEY *forger, const char *typ, const json_t *payload)
{
	char	*a = sign(k, typ, payload), *b = sign(forger, typ, payload), *r;

	xasprintf(&r, "%.*s%s", (int)(strrchr(a, '.') - a), a, strrchr(b, '.'));
	free(a);
	free(b);
	return r;
}

/* ------------------------------------------------------------ the federation */

struct tst {
	char		*url;
	json_t		*p;		/* payload */
	EVP_PKEY	*k;		/* signer */
	EVP_PKEY	*forger;	/* when set: k's header and payload, forger's signature */
	const char	*typ;
};

struct fed {
	struct tst	 s[128];
	size_t		 n;
	json_t		*raw;		/* url -> body served as is (lists, JWK Sets) */
};

static char *
ec_url(const char *id)
{
	char	*s;

	xasprintf(&s, "%s/.well-known/openid-federation", id);
	return s;
}

/* sup's fetch URL of its statement about sub (sub percent-encoded). */
static char *
ss_url(const char *sup, const char *sub)
{
	char	*s, enc[512];
	size_t	 i, o = 0;

	for (i = 0; sub[i] != '\0'; i++) {
		if (sub[i] == ':' || sub[i] == '/')
			o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%%02X",
			    (unsigned char)sub[i]);
		else
			enc[o++] = sub[i];
	}
	enc[o] = '\0';
	xasprintf(&s, "%s/fetch?sub=%s", sup, enc);
	return s;
}

static void
fed_add(struct fed *f, char *url, json_t *p, EVP_PKEY *k, const char *typ)
{
	assert_true(f->n < sizeof(f->s) / sizeof(f->s[0]));
	f->s[f->n].url = url;
	f->s[f->n].p = p;
	f->s[f->n].k = k;
	f->s[f->n++].typ = typ;
}

static struct tst *
fed_find(struct fed *f, const char *url)
{
	size_t	 i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->s[i].url, url) == 0)
			return &f->s[i];
	fail_msg("no statement %s", url);
	return NULL;
}

/* The payload of the configuration of id (borrowed, to mutate). */
static json_t *
EC(struct fed *f, const char *id)
{
	char		*u = ec_url(id);
	struct tst	*t = fed_find(f, u);

	free(u);
	return t->p;
}

/* The payload of sup's statement about sub (borrowed, to mutate). */
static json_t *
SS(struct fed *f, const char *sup, const char *sub)
{
	char		*u = ss_url(sup, sub);
	struct tst	*t = fed_find(f, u);

	free(u);
	return t->p;
}

static void
set_signer(struct fed *f, char *url, EVP_PKEY *k)
{
	fed_find(f, url)->k = k;
	free(url);
}

static json_t *
fed_endpoints(const char *id, const char *org)
{
	char	 fe[256], le[256];

	snprintf(fe, sizeof(fe), "%s/fetch", id);
	snprintf(le, sizeof(le), "%s/list", id);
	return json_pack("{s:s,s:s,s:s}", "federation_fetch_endpoint", fe,
	    "federation_list_endpoint", le, "organization_name", org);
}

static json_t *
ec_payload(const char *id, EVP_PKEY *k, const char *hint, json_t *md)
{
	json_t	*p = json_pack("{s:s,s:s,s:I,s:I,s:o,s:o}", "iss", id, "sub", id,
	    "iat", (json_int_t)(NOW - 60), "exp", (json_int_t)(NOW + DAY), "jwks", jwks_of(k, NULL),
	    "metadata", md);

	if (hint != NULL)
		json_object_set_new(p, "authority_hints", json_pack("[s]", hint));
	return p;
}

static json_t *
ss_payload(const char *iss, const char *sub, EVP_PKEY *subkey)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:o}", "iss", iss, "sub", sub,
	    "iat", (json_int_t)(NOW - 60), "exp", (json_int_t)(NOW + DAY), "jwks",
	    jwks_of(subkey, NULL));
}

/* A trust mark by k for sub (exp 0: none). Caller frees. */
static char *
mark(EVP_PKEY *k, const char *iss, const char *sub, const char *type, long exp)
{
	json_t	*p = json_pack("{s:s,s:s,s:s,s:I}", "iss", iss, "sub", sub,
	    "trust_mark_type", type, "iat", (json_int_t)(NOW - 60));
	char	*s;

	if (exp != 0)
		json_object_set_new(p, "exp", json_integer(exp));
	s = sign(k, "trust-mark+jwt", p);
	json_decref(p);
	return s;
}

/* Replace the OP's trust marks with one entry {type, mark} (mark taken). */
static void
op_mark(struct fed *f, const char *type, char *m)
{
	json_object_set_new(EC(f, OP), "trust_marks",
	    json_pack("[{s:s,s:s}]", "trust_mark_type", type, "trust_mark", m));
	free(m);
}

static void
raw_set(struct fed *f, const char *url, json_t *body)
{
	char	*s = json_dumps(body, JSON_COMPACT);

	json_object_set_new(f->raw, url, json_string(s));
	free(s);
	json_decref(body);
}

static void
rp_signed_jwks(struct fed *f, EVP_PKEY *signer, long exp)
{
	json_t	*w = jwks_of(k_rpp, NULL);
	json_t	*p = json_pack("{s:s,s:s,s:I,s:O}", "iss", RP, "sub", RP, "iat",
	    (json_int_t)(NOW - 60), "keys", json_object_get(w, "keys"));
	char	*s;

	if (exp != 0)
		json_object_set_new(p, "exp", json_integer(exp));
	s = sign(signer, "jwk-set+jwt", p);
	json_object_set_new(f->raw, RP_SJWKS, json_string(s));
	free(s);
	json_decref(p);
	json_decref(w);
}

/* The default federation (see the file comment). */
static void
fed_init(struct fed *f)
{
	json_t	*md, *p;

	memset(f, 0, sizeof(*f));
	f->raw = json_object();
	/* trust anchor */
	p = ec_payload(TA, k_ta, NULL, json_pack("{s:o}", "federation_entity",
	    fed_endpoints(TA, "Trust Anchor")));
	json_object_set_new(p, "trust_mark_issuers", json_pack("{s:[s],s:[]}", TM_TYPE, TMI,
	    TM_TA));
	fed_add(f, ec_url(TA), p, k_ta, "entity-statement+jwt");
	/* intermediate */
	fed_add(f, ec_url(IA), ec_payload(IA, k_ia, TA, json_pack("{s:o}", "federation_entity",
	    fed_endpoints(IA, "Intermediate"))), k_ia, "entity-statement+jwt");
	p = ss_payload(TA, IA, k_ia);
	json_object_set_new(p, "metadata_policy", json_pack("{s:{s:{s:[s,s]}}}",
	    "openid_relying_party", "scope", "subset_of", "openid", "email"));
	fed_add(f, ss_url(TA, IA), p, k_ta, "entity-statement+jwt");
	/* trust mark issuer, a direct subordinate of the TA */
	fed_add(f, ec_url(TMI), ec_payload(TMI, k_tmi, TA, json_pack("{s:{s:s}}",
	    "federation_entity", "organization_name", "Marks")), k_tmi, "entity-statement+jwt");
	fed_add(f, ss_url(TA, TMI), ss_payload(TA, TMI, k_tmi), k_ta, "entity-statement+jwt");
	/* OP */
	md = json_pack("{s:{s:s,s:o},s:{s:s}}", "openid_provider", "issuer", OP, "jwks",
	    jwks_of(k_opp, NULL), "federation_entity", "organization_name", "OP Org");
	fed_add(f, ec_url(OP), ec_payload(OP, k_op, IA, md), k_op, "entity-statement+jwt");
	op_mark(f, TM_TYPE, mark(k_tmi, TMI, OP, TM_TYPE, NOW + DAY / 3));
	fed_add(f, ss_url(IA, OP), ss_payload(IA, OP, k_op), k_ia, "entity-statement+jwt");
	/* RP (RSA federation key, RS256) */
	md = json_pack("{s:{s:s,s:s,s:s,s:s}}", "openid_relying_party", "scope",
	    "openid email profile", "signed_jwks_uri", RP_SJWKS, "client_name", "RP",
	    "tls_client_auth_subject_dn", "CN=rp");
	fed_add(f, ec_url(RP), ec_payload(RP, k_rp, IA, md), k_rp, "entity-statement+jwt");
	fed_add(f, ss_url(IA, RP), ss_payload(IA, RP, k_rp), k_ia, "entity-statement+jwt");
	rp_signed_jwks(f, k_rp, NOW + DAY / 2);
	/* lists */
	raw_set(f, TA "/list", json_pack("[s,s]", IA, TMI));
	raw_set(f, IA "/list", json_pack("[s,s]", OP, RP));
}

/* Sign every statement into a new url -> body table. */
static json_t *
fed_table(struct fed *f)
{
	json_t	*t = json_deep_copy(f->raw);
	size_t	 i;
	char	*s;

	for (i = 0; i < f->n; i++) {
		if (f->s[i].forger != NULL)
			s = forge(f->s[i].k, f->s[i].forger, f->s[i].typ, f->s[i].p);
		else
			s = sign(f->s[i].k, f->s[i].typ, f->s[i].p);
		json_object_set_new(t, f->s[i].url, json_string(s));
		free(s);
	}
	return t;
}

static void
fed_free(struct fed *f)
{
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		free(f->s[i].url);
		json_decref(f->s[i].p);
	}
	json_decref(f->raw);
}

/* ------------------------------------------------------------ fetcher and runs */

/* A fetcher over a table that counts, refuses a second fetch of a URL, and can answer 400. */
struct tfetch {
	json_t		*tab;
	json_t		*seen;		/* url -> true */
	size_t		 calls;		/* URLs asked for */
	size_t		 batches;
	int		 filter400;	/* 400 for list requests with parameters */
};

static void
tfetch(void *arg, const char *const *urls, size_t n, struct fetch_res *res)
{
	struct tfetch	*t = arg;
	size_t		 i;

	assert_true(n > 0 && n <= MAX_OIDF_PARALLEL);
	t->batches++;
	for (i = 0; i < n; i++) {
		if (json_object_get(t->seen, urls[i]) != NULL)
			fail_msg("fetched twice: %s", urls[i]);
		json_object_set_new(t->seen, urls[i], json_true());
		t->calls++;
		if (t->filter400 && strstr(urls[i], "/list?") != NULL) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].status = 400;
			verdict_set(&res[i].v, R_FETCH_HTTP_STATUS, "400 unsupported_parameter");
			continue;
		}
		oidf_snapshot_fetch(t->tab, &urls[i], 1, &res[i]);
	}
}

static struct jwkset	 ta_keys;

static void
opts_init(struct oidf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = "test/oidf";
	o->ta = TA;
	o->ta_keys = &ta_keys;
	o->discover = 1;
	o->roles = ROLE_ALL;
	o->skew = OIDF_LEEWAY;
	o->max_validity = 28L * DAY;
}

/* Resolve f with o through a counting fetcher; the fetcher's state in *t (seen: caller decrefs). */
static int
run(struct fed *f, const struct oidf_opts *o, struct tfetch *t, struct entity_set *out,
    struct verdict *v)
{
	struct oidf_fetcher	 fe;
	int			 rc;

	t->tab = fed_table(f);
	t->seen = json_object();
	fe.fetch = tfetch;
	fe.arg = t;
	memset(v, 0, sizeof(*v));
	rc = oidf_resolve(o, &fe, NOW, out, v);
	json_decref(t->tab);
	t->tab = NULL;
	return rc;
}

/* Resolve with default options; returns the set (rc must be 0). */
static void
run_ok(struct fed *f, const struct oidf_opts *o, struct entity_set *out)
{
	struct tfetch	 t;
	struct verdict	 v;

	memset(&t, 0, sizeof(t));
	if (run(f, o, &t, out, &v) != 0)
		fail_msg("resolve failed: %s: %s", reason_code(v.reason), v.detail);
	json_decref(t.seen);
}

static const struct entity *
find_entity(const struct entity_set *s, const char *id)
{
	size_t	 i;

	for (i = 0; i < s->entitiesz; i++)
		if (strcmp(s->entities[i].id, id) == 0)
			return &s->entities[i];
	return NULL;
}

static const struct drop *
find_drop(const struct entity_set *s, const char *id)
{
	size_t	 i;

	for (i = 0; i < s->dropsz; i++)
		if (strcmp(s->drops[i].id, id) == 0)
			return &s->drops[i];
	return NULL;
}

/* Assert id was dropped with reason r (and is not an entity). */
static void
assert_dropped(const struct entity_set *s, const char *id, enum reason r)
{
	const struct drop	*d = find_drop(s, id);

	if (d == NULL)
		fail_msg("%s was not dropped", id);
	if (d->reason != r)
		fail_msg("%s dropped with %s (%s), expected %s", id, reason_code(d->reason),
		    d->detail, reason_code(r));
	assert_null(find_entity(s, id));
}

/* 1 when e has a key with kid = k's thumbprint and provenance prov. */
static int
has_key(const struct entity *e, EVP_PKEY *k, enum key_prov prov)
{
	char	*kid = kid_of(k);
	size_t	 i;
	int	 found = 0;

	for (i = 0; i < e->keysz; i++)
		if (e->keys[i].kid != NULL && strcmp(e->keys[i].kid, kid) == 0 &&
		    e->keys[i].prov == prov)
			found = 1;
	free(kid);
	return found;
}

/* Resolve the default federation with one change applied by fn; the set in out. */
static void
run_variant(void (*fn)(struct fed *), struct oidf_opts *o, struct entity_set *out)
{
	struct fed		 f;
	struct oidf_opts	 def;

	fed_init(&f);
	fn(&f);
	if (o == NULL) {
		opts_init(&def);
		o = &def;
	}
	run_ok(&f, o, out);
	fed_free(&f);
}

/* ------------------------------------------------------------ positive */

static void
check_op(const struct entity *op)
{
	char	*kid = kid_of(k_op);
	size_t	 i;

	assert_non_null(op);
	assert_int_equal(op->proto, PROTO_OIDF);
	assert_int_equal(op->roles, ROLE_OP);
	assert_string_equal(op->ta, TA);
	assert_int_equal(op->pathsz, 2);
	assert_string_equal(op->path[0], IA);
	assert_string_equal(op->path[1], TA);
	assert_int_equal(op->keysz, 1);
	assert_true(has_key(op, k_opp, PROV_CHAIN));
	for (i = 0; i < op->keysz; i++)	/* federation keys are not protocol keys */
		assert_string_not_equal(op->keys[i].kid, kid);
	assert_int_equal(op->tmsz, 1);
	assert_string_equal(op->tms[0].type, TM_TYPE);
	assert_int_equal(op->tms[0].exp, NOW + DAY / 3);
	assert_int_equal(op->valid_until, NOW + DAY / 3);	/* the mark's exp is the min */
	assert_string_equal(op->org, "OP Org");
	assert_non_null(op->meta);
	assert_non_null(strstr(op->meta, "\"issuer\":\"https://op.example\""));
	assert_int_equal(op->scoped, 0);
	free(kid);
}

static void
check_rp(const struct entity *rp)
{
	assert_non_null(rp);
	assert_int_equal(rp->roles, ROLE_RP);
	assert_int_equal(rp->pathsz, 2);
	assert_int_equal(rp->keysz, 1);
	assert_true(has_key(rp, k_rpp, PROV_SIGNED_JWKS));
	assert_int_equal(rp->scoped, 1);	/* scope subset_of [openid, email] applied */
	assert_int_equal(rp->scopesz, 2);
	assert_string_equal(rp->scopes[0], "openid");
	assert_string_equal(rp->scopes[1], "email");
	assert_string_equal(rp->names_kind, "subject_dn");
	assert_int_equal(rp->namesz, 1);
	assert_string_equal(rp->names[0], "CN=rp");
	assert_int_equal(rp->valid_until, NOW + DAY / 2);	/* the signed JWK Set's exp */
	assert_int_equal(rp->tmsz, 0);
	assert_non_null(strstr(rp->meta, "\"scope\":\"openid email\""));
}

static void
test_discovery(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;
	char			*kid = kid_of(k_ta);

	(void)state;
	fed_init(&f);
	opts_init(&o);
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 2);
	assert_int_equal(s.dropsz, 0);		/* the mark issuer has no protocol type: skipped */
	check_op(find_entity(&s, OP));
	check_rp(find_entity(&s, RP));
	assert_int_equal(s.valid_until, NOW + DAY);
	assert_string_equal(s.signer, kid);
	/* TA, its list, IA/TMI ECs+SSs, IA list, OP/RP ECs+SSs, the RP's signed JWKS */
	assert_int_equal(t.calls, 12);
	assert_non_null(json_object_get(t.seen, RP_SJWKS));
	json_decref(t.seen);
	entity_set_free(&s);
	fed_free(&f);
	free(kid);
}

static void
test_static_bottom_up(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;
	char			*ids[] = { RP, OP };

	(void)state;
	fed_init(&f);
	opts_init(&o);
	o.discover = 0;
	o.entity_ids = ids;
	o.entity_idsz = 2;
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 2);
	assert_string_equal(s.entities[0].id, RP);
	check_op(find_entity(&s, OP));
	check_rp(find_entity(&s, RP));
	assert_null(json_object_get(t.seen, TA "/list"));
	json_decref(t.seen);
	entity_set_free(&s);
	fed_free(&f);
}

/* roles restrict: the filtered lists are asked for, a 400 retried once without parameters. */
static void
test_roles_filter(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;

	(void)state;
	fed_init(&f);
	opts_init(&o);
	o.roles = ROLE_OP;
	memset(&t, 0, sizeof(t));
	t.filter400 = 1;
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 1);
	check_op(find_entity(&s, OP));
	assert_int_equal(s.dropsz, 0);		/* the RP is not wanted: no drop */
	assert_non_null(json_object_get(t.seen, TA "/list?entity_type=openid_provider"));
	assert_non_null(json_object_get(t.seen, TA "/list?intermediate=true"));
	assert_non_null(json_object_get(t.seen, TA "/list"));
	json_decref(t.seen);
	entity_set_free(&s);

	/* a server that honours the filters: the RP is never fetched */
	raw_set(&f, TA "/list?entity_type=openid_provider", json_array());
	raw_set(&f, TA "/list?intermediate=true", json_pack("[s]", IA));
	raw_set(&f, IA "/list?entity_type=openid_provider", json_pack("[s]", OP));
	raw_set(&f, IA "/list?intermediate=true", json_array());
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 1);
	check_op(find_entity(&s, OP));
	assert_null(json_object_get(t.seen, TA "/list"));
	assert_null(json_object_get(t.seen, RP "/.well-known/openid-federation"));
	json_decref(t.seen);
	entity_set_free(&s);
	fed_free(&f);
}

/* ------------------------------------------------------------ JWS-13 */

static void
v_ss_iss(struct fed *f)
{
	json_object_set_new(SS(f, IA, RP), "iss", json_string(TA));
}

static void
v_ss_sub(struct fed *f)
{
	json_object_set_new(SS(f, IA, RP), "sub", json_string(OTHER));
}

static void
v_ec_iss(struct fed *f)
{
	json_t	*p = EC(f, RP);

	json_object_set_new(p, "iss", json_string(IA));
	json_object_del(p, "authority_hints");	/* else it is a malformed subordinate statement */
}

static void
v_ss_rogue_key(struct fed *f)
{
	set_signer(f, ss_url(IA, RP), k_rogue);
}

static void
v_ec_rogue(struct fed *f)
{
	json_object_set_new(EC(f, RP), "jwks", jwks_of(k_rogue, NULL));
	set_signer(f, ec_url(RP), k_rogue);
}

static void
v_ss_forged(struct fed *f)
{
	char	*u = ss_url(IA, RP);

	fed_find(f, u)->forger = k_rogue;
	free(u);
}

static void
v_ec_own_keys(struct fed *f)
{
	json_object_set_new(EC(f, RP), "jwks", jwks_of(k_rogue, NULL));
}

/* The superior attests another key under the kid the RP signs with. */
static void
v_ss_same_kid(struct fed *f)
{
	json_t	*jw = jwks_of(k_rpp, NULL);
	char	*kid = kid_of(k_rp);

	json_object_set_new(json_array_get(json_object_get(jw, "keys"), 0), "kid",
	    json_string(kid));
	json_object_set_new(SS(f, IA, RP), "jwks", jw);
	free(kid);
}

static void
v_hint_other(struct fed *f)
{
	json_object_set_new(EC(f, RP), "authority_hints", json_pack("[s]", OTHER));
}

static void
test_jws13_links(void **state)
{
#define LINK_SS	"statement by https://ia.example about https://rp.example: "
#define LINK_EC	"configuration of https://rp.example: "
	static const struct {
		void		(*fn)(struct fed *);
		const char	*what;
		enum reason	 r;
		const char	*link;		/* the failing link, named in the detail */
	} cases[] = {
		{ v_ss_iss, "subordinate statement iss is not the superior", R_CHAIN_LINK,
		    LINK_SS "iss" },
		{ v_ss_sub, "subordinate statement sub is not the subject", R_CHAIN_LINK,
		    LINK_SS "sub" },
		{ v_ec_iss, "entity configuration iss != sub", R_CHAIN_LINK, LINK_EC "iss" },
		{ v_ss_rogue_key, "statement signed by a key not in the issuer's jwks",
		    R_CHAIN_LINK, LINK_SS "signed with kid" },
		{ v_ss_forged, "statement with the issuer's kid, signed by another key",
		    R_JWS_SIG, LINK_SS },
		{ v_ec_rogue, "configuration signed by a key its superior does not attest",
		    R_CHAIN_LINK, LINK_EC "signed with kid" },
		{ v_ss_same_kid, "superior attests another key under the configuration's kid",
		    R_JWS_SIG, LINK_EC },
		{ v_ec_own_keys, "configuration not signed by a key of its own jwks",
		    R_JWS_KID, "configuration of https://rp.example, with its own keys" },
		{ v_hint_other, "superior not among the authority_hints", R_CHAIN_LINK,
		    LINK_SS "https://ia.example is not among the authority_hints" },
	};
	struct entity_set	 s;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("JWS-13: %s\n", cases[i].what);
		run_variant(cases[i].fn, NULL, &s);
		assert_dropped(&s, RP, cases[i].r);
		if (strstr(find_drop(&s, RP)->detail, cases[i].link) == NULL)
			fail_msg("detail \"%s\" does not name \"%s\"", find_drop(&s, RP)->detail,
			    cases[i].link);
		check_op(find_entity(&s, OP));
		entity_set_free(&s);
	}
}

/* Bottom-up, a hint naming an entity that is not the leaf's superior: no chain. */
static void
v_other_entity(struct fed *f)
{
	v_hint_other(f);
	fed_add(f, ec_url(OTHER), ec_payload(OTHER, k_other, TA, json_pack("{s:o}",
	    "federation_entity", fed_endpoints(OTHER, "Other"))), k_other, "entity-statement+jwt");
}

static void
test_jws13_hint_bottom_up(void **state)
{
	struct oidf_opts	 o;
	struct entity_set	 s;
	char			*ids[] = { RP };

	(void)state;
	opts_init(&o);
	o.discover = 0;
	o.entity_ids = ids;
	o.entity_idsz = 1;
	run_variant(v_other_entity, &o, &s);
	/* the TA never issued a statement about OTHER: the nearest failure is named */
	assert_dropped(&s, RP, R_FETCH_HTTP_STATUS);
	assert_non_null(strstr(find_drop(&s, RP)->detail, OTHER));
	assert_int_equal(s.entitiesz, 0);
	entity_set_free(&s);
}

static void
v_ta_other_keys(struct fed *f)
{
	json_object_set_new(EC(f, TA), "jwks", jwks_of(k_ta2, NULL));
}

static void
v_ta_signed_other(struct fed *f)
{
	json_object_set_new(EC(f, TA), "jwks", jwks_of(k_ta2, NULL));
	set_signer(f, ec_url(TA), k_ta2);
}

static void
v_ta_not_ec(struct fed *f)
{
	json_object_set_new(EC(f, TA), "sub", json_string(OTHER));
	json_object_del(EC(f, TA), "trust_mark_issuers");
}

static void
v_ta_rollover(struct fed *f)
{
	json_object_set_new(EC(f, TA), "jwks", jwks_of(k_ta, k_ta2));
}

static void
test_jws13_anchor_keys(void **state)
{
	void			(*bad[])(struct fed *) = { v_ta_other_keys, v_ta_signed_other,
	    v_ta_not_ec };
	enum reason		 want[] = { R_CHAIN_ANCHOR_KEY, R_CHAIN_ANCHOR_KEY, R_CHAIN_LINK };
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;
	size_t			 i;

	(void)state;
	opts_init(&o);
	for (i = 0; i < 3; i++) {
		fed_init(&f);
		bad[i](&f);
		memset(&t, 0, sizeof(t));
		assert_int_equal(run(&f, &o, &t, &s, &v), -1);
		assert_int_equal(v.reason, want[i]);
		assert_int_equal(s.entitiesz, 0);
		assert_int_equal(t.calls, 1);		/* nothing else fetched */
		json_decref(t.seen);
		fed_free(&f);
	}
	/* a pending rollover signed by the configured key: accepted, logged */
	run_variant(v_ta_rollover, NULL, &s);
	assert_int_equal(s.entitiesz, 2);
	entity_set_free(&s);
}

/* ------------------------------------------------------------ JWS-14 */

static void
v_loop(struct fed *f)
{
	const char	*a = "https://a.example", *b = "https://b.example";
	const char	*l = "https://leaf.example";

	fed_add(f, ec_url(l), ec_payload(l, k_other, a, json_pack("{s:{s:s}}",
	    "openid_provider", "issuer", l)), k_other, "entity-statement+jwt");
	fed_add(f, ec_url(a), ec_payload(a, k_rogue, b, json_pack("{s:o}", "federation_entity",
	    fed_endpoints(a, "A"))), k_rogue, "entity-statement+jwt");
	fed_add(f, ec_url(b), ec_payload(b, k_ta2, a, json_pack("{s:o}", "federation_entity",
	    fed_endpoints(b, "B"))), k_ta2, "entity-statement+jwt");
	fed_add(f, ss_url(a, l), ss_payload(a, l, k_other), k_rogue, "entity-statement+jwt");
	fed_add(f, ss_url(b, a), ss_payload(b, a, k_rogue), k_ta2, "entity-statement+jwt");
	fed_add(f, ss_url(a, b), ss_payload(a, b, k_ta2), k_rogue, "entity-statement+jwt");
}

/* Resolve the static leaf id of a variant; the fetch count in *calls. */
static void
run_static(void (*fn)(struct fed *), const char *id, struct entity_set *s, size_t *calls)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct tfetch		 t;
	struct verdict		 v;
	char			*ids[1];

	ids[0] = (char *)id;
	fed_init(&f);
	fn(&f);
	opts_init(&o);
	o.discover = 0;
	o.entity_ids = ids;
	o.entity_idsz = 1;
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, s, &v), 0);
	*calls = t.calls;
	json_decref(t.seen);
	fed_free(&f);
}

static void
test_jws14_loop(void **state)
{
	struct entity_set	 s;
	size_t			 calls;

	(void)state;
	run_static(v_loop, "https://leaf.example", &s, &calls);
	assert_dropped(&s, "https://leaf.example", R_CHAIN_NO_ANCHOR);
	assert_true(calls <= 4);		/* TA, leaf, A, B: each once */
	entity_set_free(&s);
}

#define DEEP	50
static size_t	 deep = DEEP;	/* intermediates of v_deep */

/* TA <- I1 <- ... <- I<deep> <- leaf, each linked both ways (lists and hints). */
static void
v_deep(struct fed *f)
{
	char		 id[DEEP + 1][64], *l = "https://deep-leaf.example";
	const char	*up;
	size_t		 i;

	for (i = 1; i <= deep; i++) {
		snprintf(id[i], sizeof(id[i]), "https://i%zu.example", i);
		up = i == 1 ? TA : id[i - 1];
		fed_add(f, ec_url(id[i]), ec_payload(id[i], k_other, up, json_pack("{s:o}",
		    "federation_entity", fed_endpoints(id[i], "I"))), k_other,
		    "entity-statement+jwt");
		fed_add(f, ss_url(up, id[i]), ss_payload(up, id[i], k_other),
		    i == 1 ? k_ta : k_other, "entity-statement+jwt");
		if (i > 1) {
			char	 lu[96];

			snprintf(lu, sizeof(lu), "%s/list", up);
			raw_set(f, lu, json_pack("[s]", id[i]));
		}
	}
	raw_set(f, TA "/list", json_pack("[s]", id[1]));
	fed_add(f, ec_url(l), ec_payload(l, k_rogue, id[deep], json_pack("{s:{s:s,s:o}}",
	    "openid_provider", "issuer", l, "jwks", jwks_of(k_opp, NULL))), k_rogue,
	    "entity-statement+jwt");
	fed_add(f, ss_url(id[deep], l), ss_payload(id[deep], l, k_rogue), k_other,
	    "entity-statement+jwt");
	{
		char	 lu[96];

		snprintf(lu, sizeof(lu), "%s/list", id[deep]);
		raw_set(f, lu, json_pack("[s]", l));
	}
}

static void
test_jws14_depth(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;
	size_t			 calls;

	(void)state;
	run_static(v_deep, "https://deep-leaf.example", &s, &calls);
	assert_dropped(&s, "https://deep-leaf.example", R_CHAIN_LIMIT);
	assert_true(calls <= MAX_OIDF_PATH);	/* TA + the leaf + 4 levels of hints */
	entity_set_free(&s);

	/* top-down: discovery stops after MAX_OIDF_LIST_DEPTH levels */
	fed_init(&f);
	v_deep(&f);
	opts_init(&o);
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 0);
	assert_true(t.calls <= 2 + 3 * (MAX_OIDF_LIST_DEPTH + 1));
	json_decref(t.seen);
	entity_set_free(&s);
	fed_free(&f);

	/* at the limits: MAX_OIDF_LIST_DEPTH intermediates, a chain of MAX_OIDF_PATH statements */
	deep = MAX_OIDF_LIST_DEPTH;
	assert_int_equal(MAX_OIDF_LIST_DEPTH + 2, MAX_OIDF_PATH);
	run_static(v_deep, "https://deep-leaf.example", &s, &calls);
	assert_int_equal(s.entitiesz, 1);
	assert_int_equal(s.entities[0].pathsz, MAX_OIDF_PATH - 1);
	entity_set_free(&s);
	fed_init(&f);
	v_deep(&f);
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(s.entitiesz, 1);
	assert_int_equal(s.dropsz, 0);
	json_decref(t.seen);
	entity_set_free(&s);
	fed_free(&f);
	/* one more intermediate: too long bottom-up, not discovered top-down */
	deep = MAX_OIDF_LIST_DEPTH + 1;
	run_static(v_deep, "https://deep-leaf.example", &s, &calls);
	assert_dropped(&s, "https://deep-leaf.example", R_CHAIN_LIMIT);
	entity_set_free(&s);
	deep = DEEP;
}

static void
v_fanout(struct fed *f)
{
	json_t	*hints = json_array();
	char	 id[64];
	size_t	 i;

	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "https://h%zu.example", i);
		json_array_append_new(hints, json_string(id));
	}
	json_array_append_new(hints, json_string(IA));	/* the real superior, too far down */
	json_object_set_new(EC(f, RP), "authority_hints", hints);
}

static void
test_jws14_fanout(void **state)
{
	struct entity_set	 s;
	size_t			 calls;

	(void)state;
	run_static(v_fanout, RP, &s, &calls);
	assert_dropped(&s, RP, R_CHAIN_LIMIT);
	assert_true(calls <= 2 + MAX_OIDF_HINTS);	/* TA, RP, 8 hints */
	entity_set_free(&s);
}

static void
v_max_path_0(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "constraints", json_pack("{s:i}", "max_path_length", 0));
}

static void
v_max_path_1(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "constraints", json_pack("{s:i}", "max_path_length", 1));
}

static void
v_naming(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "constraints", json_pack("{s:{s:[s]}}",
	    "naming_constraints", "excluded", "rp.example"));
}

static void
v_types_op(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "constraints", json_pack("{s:[s]}",
	    "allowed_entity_types", "openid_provider"));
}

static void
v_types_none(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "constraints", json_pack("{s:[]}",
	    "allowed_entity_types"));
}

static void
v_crit_unknown(struct fed *f)
{
	json_t	*p = SS(f, TA, IA);

	json_object_set_new(json_object_get(json_object_get(p, "metadata_policy"),
	    "openid_relying_party"), "client_name", json_pack("{s:s}", "regexp", "^R"));
	json_object_set_new(p, "metadata_policy_crit", json_pack("[s]", "regexp"));
}

static void
v_noncrit_unknown(struct fed *f)
{
	json_object_set_new(json_object_get(json_object_get(SS(f, TA, IA), "metadata_policy"),
	    "openid_relying_party"), "client_name", json_pack("{s:s}", "regexp", "^R"));
}

static void
test_jws14_constraints(void **state)
{
	struct entity_set	 s;

	(void)state;
	run_variant(v_max_path_0, NULL, &s);
	assert_dropped(&s, OP, R_CHAIN_CONSTRAINT);
	assert_dropped(&s, RP, R_CHAIN_CONSTRAINT);
	entity_set_free(&s);
	run_variant(v_max_path_1, NULL, &s);	/* one intermediate is allowed */
	assert_int_equal(s.entitiesz, 2);
	entity_set_free(&s);
	run_variant(v_naming, NULL, &s);
	assert_dropped(&s, RP, R_CHAIN_CONSTRAINT);
	check_op(find_entity(&s, OP));
	entity_set_free(&s);
	run_variant(v_types_op, NULL, &s);
	assert_dropped(&s, RP, R_ENTITY_FILTERED);
	check_op(find_entity(&s, OP));
	entity_set_free(&s);
	run_variant(v_types_none, NULL, &s);
	assert_dropped(&s, OP, R_ENTITY_FILTERED);
	assert_dropped(&s, RP, R_ENTITY_FILTERED);
	entity_set_free(&s);
	run_variant(v_crit_unknown, NULL, &s);
	assert_dropped(&s, OP, R_CHAIN_POLICY);
	assert_dropped(&s, RP, R_CHAIN_POLICY);
	entity_set_free(&s);
	run_variant(v_noncrit_unknown, NULL, &s);	/* not critical: ignored */
	assert_int_equal(s.entitiesz, 2);
	entity_set_free(&s);
}

/* ------------------------------------------------------------ time */

static void
v_ss_expired(struct fed *f)
{
	json_object_set_new(SS(f, IA, RP), "exp", json_integer(NOW - 10));
}

static void
v_ec_expired(struct fed *f)
{
	json_object_set_new(EC(f, OP), "exp", json_integer(NOW - 10));
}

static void
v_ia_expired(struct fed *f)
{
	json_object_set_new(EC(f, IA), "exp", json_integer(NOW - 10));
}

static void
v_ss_short(struct fed *f)
{
	json_object_set_new(SS(f, TA, IA), "exp", json_integer(NOW + 3600));
}

static void
test_expired(void **state)
{
	struct entity_set	 s;

	(void)state;
	run_variant(v_ss_expired, NULL, &s);
	assert_dropped(&s, RP, R_EXPIRED);
	check_op(find_entity(&s, OP));
	entity_set_free(&s);
	run_variant(v_ec_expired, NULL, &s);
	assert_dropped(&s, OP, R_EXPIRED);
	assert_non_null(find_entity(&s, RP));
	entity_set_free(&s);
	run_variant(v_ia_expired, NULL, &s);
	assert_dropped(&s, IA, R_EXPIRED);
	assert_int_equal(s.entitiesz, 0);
	entity_set_free(&s);
	/* the chain's earliest exp bounds every entity under it */
	run_variant(v_ss_short, NULL, &s);
	assert_int_equal(find_entity(&s, OP)->valid_until, NOW + 3600);
	assert_int_equal(find_entity(&s, RP)->valid_until, NOW + 3600);
	entity_set_free(&s);
}

/* ------------------------------------------------------------ trust marks */

static void
v_tm_rogue(struct fed *f)
{
	op_mark(f, TM_TYPE, mark(k_rogue, TMI, OP, TM_TYPE, NOW + DAY));
}

static void
v_tm_forged(struct fed *f)
{
	json_t	*p = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", TMI, "sub", OP,
	    "trust_mark_type", TM_TYPE, "iat", (json_int_t)(NOW - 60), "exp",
	    (json_int_t)(NOW + DAY));

	op_mark(f, TM_TYPE, forge(k_tmi, k_rogue, "trust-mark+jwt", p));
	json_decref(p);
}

static void
v_tm_unauthorised(struct fed *f)
{
	op_mark(f, TM_TYPE, mark(k_ia, IA, OP, TM_TYPE, NOW + DAY));
}

static void
v_tm_expired(struct fed *f)
{
	op_mark(f, TM_TYPE, mark(k_tmi, TMI, OP, TM_TYPE, NOW - 10));
}

static void
v_tm_owner(struct fed *f)
{
	json_object_set_new(EC(f, TA), "trust_mark_owners", json_pack("{s:{s:s,s:o}}", TM_TYPE,
	    "sub", "https://owner.example", "jwks", jwks_of(k_other, NULL)));
}

static void
v_tm_no_exp(struct fed *f)
{
	op_mark(f, TM_TYPE, mark(k_tmi, TMI, OP, TM_TYPE, 0));
}

static void
v_tm_other_sub(struct fed *f)
{
	op_mark(f, TM_TYPE, mark(k_tmi, TMI, RP, TM_TYPE, NOW + DAY));
}

static void
v_tm_issuer_unchained(struct fed *f)
{
	json_object_set_new(SS(f, TA, TMI), "sub", json_string(OTHER));
}

static void
v_tm_by_ta(struct fed *f)
{
	op_mark(f, TM_TA, mark(k_ta, TA, OP, TM_TA, NOW + DAY / 4));
}

static void
test_trust_marks(void **state)
{
	void			(*bad[])(struct fed *) = { v_tm_rogue, v_tm_forged, v_tm_unauthorised,
	    v_tm_expired, v_tm_owner, v_tm_no_exp, v_tm_other_sub, v_tm_issuer_unchained };
	struct oidf_opts	 o;
	struct entity_set	 s;
	const struct entity	*op;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("trust mark variant %zu\n", i);
		run_variant(bad[i], NULL, &s);
		assert_non_null(op = find_entity(&s, OP));
		assert_int_equal(op->tmsz, 0);
		assert_int_equal(op->valid_until, NOW + DAY);
		assert_int_equal(op->keysz, 1);
		entity_set_free(&s);
	}
	/* without exp: accepted when the source says so; exp 0 does not lower valid_until */
	opts_init(&o);
	o.tm_no_exp = 1;
	run_variant(v_tm_no_exp, &o, &s);
	assert_int_equal((op = find_entity(&s, OP))->tmsz, 1);
	assert_int_equal(op->tms[0].exp, 0);
	assert_int_equal(op->valid_until, NOW + DAY);
	entity_set_free(&s);
	/* the trust anchor itself as issuer of a type anyone may issue ([]) */
	run_variant(v_tm_by_ta, NULL, &s);
	assert_int_equal((op = find_entity(&s, OP))->tmsz, 1);
	assert_string_equal(op->tms[0].type, TM_TA);
	assert_int_equal(op->valid_until, NOW + DAY / 4);
	entity_set_free(&s);
}

/* ------------------------------------------------------------ keys and metadata */

static void
v_jwks_uri(struct fed *f)
{
	json_object_set_new(json_object_get(json_object_get(EC(f, OP), "metadata"),
	    "openid_provider"), "jwks_uri", json_string("https://op.example/jwks.json"));
	raw_set(f, "https://op.example/jwks.json", jwks_of(k_opp, k_opp2));
}

static void
v_jwks_uri_http(struct fed *f)
{
	json_object_set_new(json_object_get(json_object_get(EC(f, OP), "metadata"),
	    "openid_provider"), "jwks_uri", json_string("http://op.example/jwks.json"));
	raw_set(f, "http://op.example/jwks.json", jwks_of(k_opp2, NULL));
}

static void
v_sjwks_rogue(struct fed *f)
{
	rp_signed_jwks(f, k_rogue, NOW + DAY);
}

static void
v_sjwks_no_exp(struct fed *f)
{
	rp_signed_jwks(f, k_rp, 0);
}

static void
v_sjwks_typ(struct fed *f)
{
	json_t	*p = json_pack("{s:s,s:s,s:I,s:I}", "iss", RP, "sub", RP, "iat",
	    (json_int_t)(NOW - 60), "exp", (json_int_t)(NOW + DAY));
	json_t	*w = jwks_of(k_rpp, NULL);
	char	*s;

	json_object_set(p, "keys", json_object_get(w, "keys"));
	json_decref(w);
	s = sign(k_rp, "entity-statement+jwt", p);
	json_object_set_new(f->raw, RP_SJWKS, json_string(s));
	free(s);
	json_decref(p);
}

static void
test_protocol_keys(void **state)
{
	void			(*rp_bad[])(struct fed *) = { v_sjwks_rogue, v_sjwks_no_exp,
	    v_sjwks_typ };
	struct entity_set	 s;
	const struct entity	*op;
	size_t			 i;

	(void)state;
	run_variant(v_jwks_uri, NULL, &s);
	op = find_entity(&s, OP);
	assert_int_equal(op->keysz, 2);
	assert_true(has_key(op, k_opp, PROV_CHAIN));	/* once, with the strongest provenance */
	assert_true(has_key(op, k_opp2, PROV_JWKS_URI));
	entity_set_free(&s);
	run_variant(v_jwks_uri_http, NULL, &s);
	op = find_entity(&s, OP);
	assert_int_equal(op->keysz, 1);
	assert_true(has_key(op, k_opp, PROV_CHAIN));
	entity_set_free(&s);
	/* the RP's only keys fail: no usable protocol key */
	for (i = 0; i < sizeof(rp_bad) / sizeof(rp_bad[0]); i++) {
		run_variant(rp_bad[i], NULL, &s);
		assert_dropped(&s, RP, R_METADATA_INVALID);
		check_op(find_entity(&s, OP));
		entity_set_free(&s);
	}
}

static void
v_leaf_endpoints(struct fed *f)
{
	json_object_set_new(json_object_get(EC(f, OP), "metadata"), "federation_entity",
	    json_pack("{s:s}", "federation_fetch_endpoint", "https://op.example/fetch"));
}

static void
v_op_issuer(struct fed *f)
{
	json_object_set_new(json_object_get(json_object_get(EC(f, OP), "metadata"),
	    "openid_provider"), "issuer", json_string("https://evil.example"));
}

static void
v_op_no_keys(struct fed *f)
{
	json_object_del(json_object_get(json_object_get(EC(f, OP), "metadata"),
	    "openid_provider"), "jwks");
}

static void
v_op_private_key(struct fed *f)
{
	json_t	*jw = json_object_get(json_object_get(json_object_get(EC(f, OP), "metadata"),
	    "openid_provider"), "jwks");

	json_object_set_new(json_array_get(json_object_get(jw, "keys"), 0), "d",
	    json_string("AAAA"));
}

static void
v_rp_two_names(struct fed *f)
{
	json_object_set_new(json_object_get(json_object_get(EC(f, RP), "metadata"),
	    "openid_relying_party"), "tls_client_auth_san_dns", json_string("rp.example"));
}

static void
v_ss_metadata(struct fed *f)
{
	json_object_set_new(SS(f, IA, OP), "metadata", json_pack("{s:{s:s},s:{s:s}}",
	    "openid_provider", "op_policy_uri", "https://ia.example/policy",
	    "openid_relying_party", "client_name", "not for an OP"));
}

static void
test_metadata(void **state)
{
	struct entity_set	 s;
	const struct entity	*op;

	(void)state;
	run_variant(v_leaf_endpoints, NULL, &s);
	assert_dropped(&s, OP, R_METADATA_INVALID);
	entity_set_free(&s);
	run_variant(v_op_issuer, NULL, &s);
	assert_dropped(&s, OP, R_METADATA_INVALID);
	entity_set_free(&s);
	run_variant(v_op_no_keys, NULL, &s);
	assert_dropped(&s, OP, R_METADATA_INVALID);
	entity_set_free(&s);
	run_variant(v_op_private_key, NULL, &s);
	assert_dropped(&s, OP, R_METADATA_INVALID);
	entity_set_free(&s);
	run_variant(v_rp_two_names, NULL, &s);
	assert_dropped(&s, RP, R_METADATA_INVALID);
	entity_set_free(&s);
	/* the superior's metadata overrides, only for types the subject has */
	run_variant(v_ss_metadata, NULL, &s);
	op = find_entity(&s, OP);
	assert_non_null(strstr(op->meta, "\"op_policy_uri\":\"https://ia.example/policy\""));
	assert_null(strstr(op->meta, "openid_relying_party"));
	entity_set_free(&s);
}

static void
v_bad_list(struct fed *f)
{
	raw_set(f, IA "/list", json_pack("[s,s,s]", OP, RP, "http://plain.example"));
}

static void
test_list_entries(void **state)
{
	struct entity_set	 s;

	(void)state;
	run_variant(v_bad_list, NULL, &s);
	assert_dropped(&s, "http://plain.example", R_ENTITY_ID_INVALID);
	assert_int_equal(s.entitiesz, 2);
	entity_set_free(&s);
}

/* ------------------------------------------------------------ budget, snapshot */

static void
test_budget(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 s;
	struct tfetch		 t;
	struct verdict		 v;

	(void)state;
	fed_init(&f);
	opts_init(&o);
	/* TA EC, TA list, IA/TMI ECs and SSs, IA list, the OP's EC: the rest is over */
	o.max_fetches = 8;
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(t.calls, 8);
	assert_int_equal(s.entitiesz, 0);
	assert_dropped(&s, OP, R_CHAIN_LIMIT);
	assert_dropped(&s, RP, R_CHAIN_LIMIT);
	json_decref(t.seen);
	entity_set_free(&s);
	/* two more: the OP's statement and the RP's EC; the RP's statement is over */
	o.max_fetches = 10;
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), 0);
	assert_int_equal(t.calls, 10);
	check_op(find_entity(&s, OP));
	assert_dropped(&s, RP, R_CHAIN_LIMIT);
	json_decref(t.seen);
	entity_set_free(&s);
	/* the trust anchor's configuration alone exhausts a budget of 1 */
	o.max_fetches = 1;
	memset(&t, 0, sizeof(t));
	assert_int_equal(run(&f, &o, &t, &s, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_LIMIT);
	json_decref(t.seen);
	fed_free(&f);
}

static void
same_sets(const struct entity_set *a, const struct entity_set *b)
{
	size_t	 i, k;

	assert_int_equal(a->entitiesz, b->entitiesz);
	assert_int_equal(a->dropsz, b->dropsz);
	assert_int_equal(a->valid_until, b->valid_until);
	for (i = 0; i < a->entitiesz; i++) {
		const struct entity	*x = &a->entities[i], *y = &b->entities[i];

		assert_string_equal(x->id, y->id);
		assert_int_equal(x->roles, y->roles);
		assert_int_equal(x->valid_until, y->valid_until);
		assert_int_equal(x->keysz, y->keysz);
		for (k = 0; k < x->keysz; k++) {
			assert_int_equal(x->keys[k].prov, y->keys[k].prov);
			assert_int_equal(x->keys[k].spkisz, y->keys[k].spkisz);
			assert_memory_equal(x->keys[k].spki, y->keys[k].spki, x->keys[k].spkisz);
		}
		assert_int_equal(x->tmsz, y->tmsz);
		assert_int_equal(x->pathsz, y->pathsz);
		assert_string_equal(x->meta, y->meta);
	}
}

static void
test_snapshot(void **state)
{
	struct fed		 f;
	struct oidf_opts	 o;
	struct entity_set	 live, replay;
	struct tfetch		 t;
	struct oidf_fetcher	 sf;
	struct fedtrust_error	 err;
	struct verdict		 v;
	json_t			*snap, *back;
	char			*txt;
	int			 pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		fed_init(&f);
		opts_init(&o);
		snap = json_object();
		o.snapshot = snap;
		memset(&t, 0, sizeof(t));
		if (pass == 1) {	/* filtered lists answered 400 live: the replay retries too */
			o.roles = ROLE_OP | ROLE_RP;
			t.filter400 = 1;
		}
		assert_int_equal(run(&f, &o, &t, &live, &v), 0);
		assert_int_equal(live.entitiesz, 2);
		json_decref(t.seen);
		/* stored as the daemon stores it, read back strictly */
		assert_non_null(txt = json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS));
		assert_non_null(back = fedtrustp_json_parse(txt, strlen(txt), strlen(txt), 4, &err));
		free(txt);
		o.snapshot = NULL;
		sf.fetch = oidf_snapshot_fetch;
		sf.arg = back;
		assert_int_equal(oidf_resolve(&o, &sf, NOW, &replay, &v), 0);
		same_sets(&live, &replay);
		entity_set_free(&live);
		entity_set_free(&replay);
		/* later, when the statements have expired, the snapshot no longer yields them */
		assert_int_equal(oidf_resolve(&o, &sf, NOW + 2 * DAY, &replay, &v), -1);
		assert_int_equal(v.reason, R_EXPIRED);
		json_decref(back);
		json_decref(snap);
		fed_free(&f);
	}
}

/* ------------------------------------------------------------ setup */

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static int
setup(void **state)
{
	json_t		*set;
	struct verdict	 v;

	(void)state;
	k_ta = ec_key();
	k_ta2 = ec_key();
	k_ia = ec_key();
	k_op = ec_key();
	k_tmi = ec_key();
	k_rogue = ec_key();
	k_opp = ec_key();
	k_opp2 = ec_key();
	k_other = ec_key();
	k_rp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_rpp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k_rp);
	assert_non_null(k_rpp);
	set = jwks_of(k_ta, NULL);
	assert_int_equal(jwkset_from_json(&ta_keys, set, 0, &v), 0);
	json_decref(set);
	return 0;
}

static int
teardown(void **state)
{
	EVP_PKEY	*all[] = { k_ta, k_ta2, k_ia, k_op, k_rp, k_tmi, k_rogue, k_opp, k_opp2,
	    k_rpp, k_other };
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		EVP_PKEY_free(all[i]);
	jwkset_free(&ta_keys);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_static_bottom_up),
		cmocka_unit_test(test_roles_filter),
		cmocka_unit_test(test_jws13_links),
		cmocka_unit_test(test_jws13_hint_bottom_up),
		cmocka_unit_test(test_jws13_anchor_keys),
		cmocka_unit_test(test_jws14_loop),
		cmocka_unit_test(test_jws14_depth),
		cmocka_unit_test(test_jws14_fanout),
		cmocka_unit_test(test_jws14_constraints),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_trust_marks),
		cmocka_unit_test(test_protocol_keys),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_list_entries),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_snapshot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
