/*
 * The compact trust bundle of a trust list (docs/bundle-format.md): one JWS
 * holding every selected entity with its keys as JWKs, a short-lived head
 * pointing at it, and keys.json with the operator keys.  Deterministic
 * canonical JSON; every JWS is verified again with the operator's public
 * key before it can be published (PUB-05).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "lib/private.h"

#define TYP_BUNDLE	"vnd.fedtrust.bundle+jwt"
#define TYP_HEAD	"vnd.fedtrust.bundle-head+jwt"
#define NAME_EC		"http://macedir.org/entity-category"
#define NAME_ECS	"http://macedir.org/entity-category-support"
#define NAME_AC		"urn:oasis:names:tc:SAML:attribute:assurance-certification"

/* One key of an entity while keys sharing a key and certificate are merged. */
struct bkey {
	json_t		*jwk;
	char		 jkt[FEDTRUSTP_JKT_LEN + 1];
	char		 x5t[44];	/* empty when no certificate */
	unsigned	 purposes;	/* PURP_* */
};

/* The purposes of k: its own, or for SAML keys those of its use. */
static unsigned
key_purposes(const struct key *k)
{
	unsigned	 use = k->use ? k->use : KEY_USE_SIGNING | KEY_USE_ENCRYPTION;

	if (k->purposes != 0)
		return k->purposes;
	return ((use & KEY_USE_SIGNING) ? PURP_SAML_SIG : 0) |
	    ((use & KEY_USE_ENCRYPTION) ? PURP_SAML_ENC : 0);
}

/* The purposes array of bits, in the order of bundle-format 4.6. */
static json_t *
purposes_json(unsigned bits)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ PURP_JWT, "jwt" }, { PURP_JWE, "jwe" }, { PURP_MTLS, "mtls" }, { PURP_CA, "ca" },
		{ PURP_SAML_SIG, "saml-sig" }, { PURP_SAML_ENC, "saml-enc" },
	};
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & names[i].bit)
			json_array_append_new(a, json_string(names[i].name));
	return a;
}

void
outfiles_add(struct outfiles *o, const char *path, unsigned char *data, size_t len)
{
	o->f = xreallocarray(o->f, o->n + 1, sizeof(*o->f));
	o->owned = xreallocarray(o->owned, o->n + 1, 1);
	o->f[o->n].path = xstrdup(path);
	o->f[o->n].data = data;
	o->f[o->n].len = len;
	o->owned[o->n++] = 1;
}

void
outfiles_add_ref(struct outfiles *o, const char *path, const unsigned char *data, size_t len)
{
	outfiles_add(o, path, (unsigned char *)data, len);
	o->owned[o->n - 1] = 0;
}

void
outfiles_free(struct outfiles *o)
{
	size_t	 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++) {
		free((char *)o->f[i].path);
		if (o->owned[i])
			free((unsigned char *)o->f[i].data);
	}
	free(o->f);
	free(o->owned);
	memset(o, 0, sizeof(*o));
}

/* base64url SHA-256 of buf into out (44 bytes). */
static void
b64u_sha256(const void *buf, size_t len, char out[44])
{
	struct fedtrust_error	 err;

	if (fedtrustp_sha256_b64url(buf, len, out, &err) == -1)
		fatalx("sha256: %s", err.text);
}

/* Canonical JSON of v (malloc'd, caller frees) or NULL with v set. */
static char *
canonical(const json_t *j, size_t *len, struct verdict *v)
{
	struct fedtrust_error	 err;
	char			*s, *copy;

	if ((s = fedtrustp_json_dump_canonical(j, &err)) == NULL) {
		verdict_set(v, R_INTERNAL, "bundle: %s", err.text);
		return NULL;
	}
	copy = xstrdup(s);
	fedtrustp_free(s);
	*len = strlen(copy);
	return copy;
}

int
bundle_key_alg(EVP_PKEY *key, struct verdict *v)
{
	const char	*crv;

	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) < MIN_RSA_BITS)
			return verdict_set(v, R_SIGN_FAILED, "bundle: RSA operator key under %d bits",
			    MIN_RSA_BITS);
		return FEDTRUSTP_ALG_PS256;
	}
	if (EVP_PKEY_is_a(key, "ED25519"))
		return FEDTRUSTP_ALG_ED25519;
	if ((crv = fedtrustp_pkey_curve(key)) != NULL) {
		if (strcmp(crv, "P-256") == 0)
			return FEDTRUSTP_ALG_ES256;
		if (strcmp(crv, "P-384") == 0)
			return FEDTRUSTP_ALG_ES384;
	}
	return verdict_set(v, R_SIGN_FAILED, "bundle: the operator key must be EC P-256/P-384, "
	    "Ed25519 or RSA >= %d bits (bundle-format 4.2)", MIN_RSA_BITS);
}

/* The public half of key as a new EVP_PKEY (caller frees), or NULL. */
static EVP_PKEY *
public_of(EVP_PKEY *key)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	EVP_PKEY		*pub;
	int			 len;

	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return pub;
}

struct fedtrustp_keyset *
bundle_self_keyset(const struct signer *s, int alg, struct verdict *v)
{
	struct fedtrustp_keyset	*ks;
	struct fedtrust_error	 err;
	EVP_PKEY		*pub;

	if ((pub = public_of(s->key)) == NULL) {
		verdict_set(v, R_SELF_CHECK, "self-check: cannot export the operator public key");
		return NULL;
	}
	if ((ks = fedtrustp_keyset_new(&err)) == NULL ||
	    fedtrustp_keyset_add_pkey(ks, pub, alg, &err) == -1) {
		verdict_set(v, R_SELF_CHECK, "self-check: cannot pin the operator key: %s", err.text);
		fedtrustp_keyset_free(ks);
		ks = NULL;
	}
	EVP_PKEY_free(pub);
	return ks;
}

int
bundle_sign(const char *payload, size_t len, const struct signer *s, int alg, const char *typ,
    const struct fedtrustp_keyset *ks, char **jws, size_t *jwssz, struct verdict *v)
{
	struct fedtrust_error	 err;
	unsigned char		*back = NULL;
	size_t			 backsz = 0;
	char			*sig;

	*jws = NULL;
	*jwssz = 0;
	if ((sig = fedtrustp_jws_sign((const unsigned char *)payload, len, s->key, alg, typ,
	    &err)) == NULL)
		return verdict_set(v, R_SIGN_FAILED, "%s: signing with %s failed: %s", typ,
		    s->file, err.text);
	*jws = xstrdup(sig);
	*jwssz = strlen(sig);
	fedtrustp_free(sig);
	if (fedtrustp_jws_verify(*jws, *jwssz, ks, typ, *jwssz, &back, &backsz, &err) == -1) {
		verdict_set(v, R_SELF_CHECK, "self-check: %s does not verify: %s", typ, err.text);
		goto fail;
	}
	if (backsz != len || memcmp(back, payload, len) != 0) {
		verdict_set(v, R_SELF_CHECK, "self-check: %s payload differs after verification", typ);
		goto fail;
	}
	fedtrustp_free(back);
	return 0;
fail:
	fedtrustp_free(back);
	free(*jws);
	*jws = NULL;
	*jwssz = 0;
	return -1;
}

static int key_jwk(const struct key *, int, struct bkey *, char *, size_t);

/* 1 when the bundle allows this key type (4.6), else 0 with why. */
static int
key_allowed(EVP_PKEY *pk, char *why, size_t whysz)
{
	int	 bits;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS)
			return 1;
		snprintf(why, whysz, "RSA key of %d bits", bits);
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "ED25519") || fedtrustp_pkey_curve(pk) != NULL)
		return 1;
	snprintf(why, whysz, "%s key", EVP_PKEY_get0_type_name(pk) ?
	    EVP_PKEY_get0_type_name(pk) : "unknown");
	return 0;
}

int
entity_key_strong(const struct key *k, char *why, size_t whysz)
{
	const unsigned char	*p = k->spki;
	EVP_PKEY		*pk;
	int			 ok;

	if ((pk = d2i_PUBKEY(NULL, &p, (long)k->spkisz)) == NULL) {
		snprintf(why, whysz, "key does not parse");
		return 0;
	}
	ok = key_allowed(pk, why, whysz);
	EVP_PKEY_free(pk);
	return ok;
}

int
key_thumbprints(const struct key *k, char jkt[44], char x5t[44])
{
	struct bkey	 bk;
	char		 why[128];

	jkt[0] = x5t[0] = '\0';
	if (key_jwk(k, BUNDLE_COMPACT, &bk, why, sizeof(why)) == -1)
		return -1;
	memcpy(jkt, bk.jkt, 44);
	memcpy(x5t, bk.x5t, 44);
	json_decref(bk.jwk);
	return 0;
}

/* The JWK of k with jkt (and x5t#S256 / x5c) into bk; 0, or -1 with why when left out. */
static int
key_jwk(const struct key *k, int variant, struct bkey *bk, char *why, size_t whysz)
{
	struct fedtrust_error	 err;
	const unsigned char	*p = k->spki;
	EVP_PKEY		*pk;
	char			*b;
	json_t			*x5c;
	int			 rc = -1;

	memset(bk, 0, sizeof(*bk));
	if ((pk = d2i_PUBKEY(NULL, &p, (long)k->spkisz)) == NULL) {
		snprintf(why, whysz, "key does not parse");
		return -1;
	}
	if (!key_allowed(pk, why, whysz))
		goto out;
	if ((bk->jwk = fedtrustp_pkey_to_jwk(pk, &err)) == NULL ||
	    fedtrustp_jwk_thumbprint(bk->jwk, bk->jkt, &err) == -1) {
		snprintf(why, whysz, "%s", err.text);
		goto out;
	}
	json_object_set_new(bk->jwk, "jkt", json_string(bk->jkt));
	json_object_set_new(bk->jwk, "prov", json_string(prov_name(k->prov)));
	if (k->kid != NULL)
		json_object_set_new(bk->jwk, "kid", json_string(k->kid));
	if (k->alg != NULL)
		json_object_set_new(bk->jwk, "alg", json_string(k->alg));
	if (k->juse != NULL)
		json_object_set_new(bk->jwk, "use", json_string(k->juse));
	if (k->cert != NULL) {
		b64u_sha256(k->cert, k->certsz, bk->x5t);
		json_object_set_new(bk->jwk, "x5t#S256", json_string(bk->x5t));
		if (variant == BUNDLE_FULL) {
			b = b64_encode(k->cert, k->certsz);
			x5c = json_array();
			json_array_append_new(x5c, json_string(b));
			json_object_set_new(bk->jwk, "x5c", x5c);
			free(b);
		}
	}
	bk->purposes = key_purposes(k);
	rc = 0;
out:
	if (rc == -1) {
		json_decref(bk->jwk);
		bk->jwk = NULL;
	}
	EVP_PKEY_free(pk);
	return rc;
}

/*
 * The keys array of e: one JWK per distinct (key, certificate), purposes
 * merged from every KeyDescriptor that carries it.  NULL when no key is of
 * an allowed type (why says which were left out).
 */
static json_t *
entity_keys(const struct entity *e, int variant, char *why, size_t whysz)
{
	struct bkey	*bk = xcalloc(e->keysz ? e->keysz : 1, sizeof(*bk));
	json_t		*keys = json_array();
	size_t		 i, j, n = 0;

	snprintf(why, whysz, "no key");
	for (i = 0; i < e->keysz; i++) {
		struct bkey	 k;

		if (key_jwk(&e->keys[i], variant, &k, why, whysz) == -1)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(bk[j].jkt, k.jkt) == 0 && strcmp(bk[j].x5t, k.x5t) == 0)
				break;
		if (j < n) {
			bk[j].purposes |= k.purposes;
			json_decref(k.jwk);
		} else
			bk[n++] = k;
	}
	for (i = 0; i < n; i++) {
		json_object_set_new(bk[i].jwk, "purposes", purposes_json(bk[i].purposes));
		json_array_append_new(keys, bk[i].jwk);
	}
	free(bk);
	if (n == 0) {
		json_decref(keys);
		return NULL;
	}
	return keys;
}

/* roles of e as bundle role names; "other" when it has none we name. */
static json_t *
entity_roles(unsigned roles)
{
	json_t		*a = json_array();
	const char	*name;
	unsigned	 bit;
	size_t		 i;

	for (i = 0; (name = role_name_at(i, &bit)) != NULL; i++)
		if (roles & bit)
			json_array_append_new(a, json_string(name));
	if (json_array_size(a) == 0)
		json_array_append_new(a, json_string("other"));
	return a;
}

/*
 * ec: the values of the entity-category, entity-category-support and
 * assurance-certification attributes ("NAME|VALUE"), in document order,
 * without repeats.  NULL when none.
 */
static json_t *
entity_ec(const struct entity *e)
{
	json_t		*a = NULL, *it;
	const char	*bar, *val;
	size_t		 i, j, nl;
	int		 dup;

	for (i = 0; i < e->categoriesz; i++) {
		if ((bar = strchr(e->categories[i], '|')) == NULL)
			continue;
		nl = (size_t)(bar - e->categories[i]);
		val = bar + 1;
		if (!((nl == strlen(NAME_EC) && memcmp(e->categories[i], NAME_EC, nl) == 0) ||
		    (nl == strlen(NAME_ECS) && memcmp(e->categories[i], NAME_ECS, nl) == 0) ||
		    (nl == strlen(NAME_AC) && memcmp(e->categories[i], NAME_AC, nl) == 0)))
			continue;
		if (a == NULL)
			a = json_array();
		dup = 0;
		json_array_foreach(a, j, it)
			if (strcmp(json_string_value(it), val) == 0)
				dup = 1;
		if (!dup)
			json_array_append_new(a, json_string(val));
	}
	return a;
}

/* A JSON array of n strings. */
static json_t *
strings_json(char *const *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The members only non-SAML entities carry: ta, path, tm, scopes, names, mdig (4.4). */
static void
entity_json_more(const struct entity *e, json_t *o)
{
	json_t	*tm, *m, *names;
	char	 mdig[44];
	size_t	 i;

	if (e->ta != NULL)
		json_object_set_new(o, "ta", json_string(e->ta));
	if (e->pathsz > 0)
		json_object_set_new(o, "path", strings_json(e->path, e->pathsz));
	if (e->tmsz > 0) {
		tm = json_array();
		for (i = 0; i < e->tmsz; i++) {
			m = json_pack("{s:s}", "type", e->tms[i].type);
			if (e->tms[i].exp != 0)
				json_object_set_new(m, "exp", json_integer((json_int_t)e->tms[i].exp));
			json_array_append_new(tm, m);
		}
		json_object_set_new(o, "tm", tm);
	}
	if (e->scoped)
		json_object_set_new(o, "scopes", strings_json(e->scopes, e->scopesz));
	if (e->names_kind != NULL && e->namesz > 0) {
		names = json_object();
		if (strcmp(e->names_kind, "subject_dn") == 0)
			json_object_set_new(names, e->names_kind, json_string(e->names[0]));
		else
			json_object_set_new(names, e->names_kind, strings_json(e->names, e->namesz));
		json_object_set_new(o, "names", names);
	}
	if (e->meta != NULL) {
		b64u_sha256(e->meta, e->metasz, mdig);
		json_object_set_new(o, "mdig", json_string(mdig));
	}
}

/* The Entity object (4.4) of e, or NULL with why when it has no usable key. */
static json_t *
entity_json(const struct entity *e, time_t fallback_until, int variant, char *why, size_t whysz)
{
	json_t	*o, *keys, *ec;

	if ((keys = entity_keys(e, variant, why, whysz)) == NULL)
		return NULL;
	o = json_object();
	json_object_set_new(o, "id", json_string(e->id));
	json_object_set_new(o, "proto", json_string(proto_name(e->proto)));
	json_object_set_new(o, "roles", entity_roles(e->roles));
	json_object_set_new(o, "src", json_string(e->src != NULL ? e->src : ""));
	json_object_set_new(o, "valid_until", json_integer(e->valid_until != 0 ?
	    (json_int_t)e->valid_until : (json_int_t)fallback_until));
	if (e->ra != NULL)
		json_object_set_new(o, "ra", json_string(e->ra));
	if ((ec = entity_ec(e)) != NULL)
		json_object_set_new(o, "ec", ec);
	if (e->org != NULL)
		json_object_set_new(o, "org", json_string(e->org));
	entity_json_more(e, o);
	json_object_set_new(o, "keys", keys);
	return o;
}

/* Order of the bundle's entities: (id, proto) by bytes, as consumers check it. */
static int
cmp_ent(const void *a, const void *b)
{
	const struct entity	*x = *(const struct entity *const *)a;
	const struct entity	*y = *(const struct entity *const *)b;
	int			 c = strcmp(x->id, y->id);

	return c != 0 ? c : strcmp(proto_name(x->proto), proto_name(y->proto));
}

/* The type member of a source (4.5). */
static const char *
source_type(enum source_type t)
{
	switch (t) {
	case SRC_OIDF:
		return "oidf";
	case SRC_SIGNED_JWKS:
		return "signed-jwks";
	case SRC_X509:
		return "x509";
	default:
		return "saml2";
	}
}

/* The sources object (4.5): every configured source with its status. */
static json_t *
sources_json(const struct bundle_opts *o)
{
	static const char *const status[] = { "ok", "stale", "failed" };
	json_t	*all = json_object(), *s;
	size_t	 i;
	int	 st;

	for (i = 0; i < o->sourcesz; i++) {
		const struct source_state *ss = &o->sources[i];

		st = ss->status >= SRC_OK && ss->status <= SRC_FAILED ? ss->status : SRC_FAILED;
		s = json_object();
		json_object_set_new(s, "type", json_string(source_type(ss->conf->type)));
		json_object_set_new(s, "url", json_string(ss->conf->url));
		if (ss->conf->type == SRC_OIDF)
			json_object_set_new(s, "ta", json_string(ss->conf->url));
		json_object_set_new(s, "fetched", json_integer(o->fetched != NULL ?
		    (json_int_t)o->fetched[i] : 0));
		if (ss->status != SRC_FAILED && ss->set.valid_until != 0)
			json_object_set_new(s, "valid_until",
			    json_integer((json_int_t)ss->set.valid_until));
		json_object_set_new(s, "status", json_string(status[st]));
		json_object_set_new(all, ss->conf->name, s);
	}
	return all;
}

/*
 * The public key of the standby key file: a PEM public key, private key or
 * certificate.  NULL with v.
 */
static EVP_PKEY *
next_key_load(const char *file, struct verdict *v)
{
	unsigned char	*buf = NULL;
	size_t		 len;
	BIO		*bio;
	EVP_PKEY	*pk = NULL, *pub = NULL;
	X509		*x;

	if (read_file(file, 1024 * 1024, &buf, &len) == -1) {
		verdict_set(v, R_SIGN_FAILED, "next-key %s: cannot read", file);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL &&
	    (pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL &&
		    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) != NULL) {
			pub = public_of(pk);
			EVP_PKEY_free(pk);
		} else {
			BIO_free(bio);
			if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL &&
			    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
				pub = X509_get_pubkey(x);
				X509_free(x);
			}
		}
	}
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pub == NULL)
		verdict_set(v, R_SIGN_FAILED, "next-key %s: no PEM public key, private key or "
		    "certificate", file);
	return pub;
}

/* One keys.json member: the public JWK with alg, kid = thumbprint and use sig. */
static json_t *
operator_jwk(EVP_PKEY *pk, int alg, char kid[FEDTRUSTP_JKT_LEN + 1], struct verdict *v)
{
	struct fedtrust_error	 err;
	json_t			*j;

	if ((j = fedtrustp_pkey_to_jwk(pk, &err)) == NULL ||
	    fedtrustp_jwk_thumbprint(j, kid, &err) == -1) {
		json_decref(j);
		verdict_set(v, R_SIGN_FAILED, "operator key: %s", err.text);
		return NULL;
	}
	json_object_set_new(j, "alg", json_string(fedtrustp_alg_name(alg)));
	json_object_set_new(j, "kid", json_string(kid));
	json_object_set_new(j, "use", json_string("sig"));
	return j;
}

/* A string array of v[0..n). */
static json_t *
str_array_json(char *const *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/*
 * The "revoked" member: recent revocations in (id, proto) order with the
 * key thumbprints the entity had, so a gateway can drop cached sessions
 * and keys before its cached bundle expires.
 */
static json_t *
revoked_json(const struct revoked_set *rs)
{
	json_t	*a = json_array(), *r;
	size_t	 i;

	for (i = 0; i < rs->n; i++) {
		r = json_pack("{s:s,s:s,s:s,s:I,s:s,s:o}", "id", rs->r[i].id,
		    "proto", proto_name(rs->r[i].proto), "src", rs->r[i].src,
		    "at", (json_int_t)rs->r[i].at, "reason", rs->r[i].reason,
		    "jkt", str_array_json(rs->r[i].jkts, rs->r[i].jktsz));
		if (r == NULL)
			continue;
		if (rs->r[i].x5tsz > 0)
			json_object_set_new(r, "x5t#S256",
			    str_array_json(rs->r[i].x5ts, rs->r[i].x5tsz));
		json_array_append_new(a, r);
	}
	return a;
}

/* keys.json and op_keys from the signer and the standby key. 0 / -1 with v. */
static int
operator_keys(const struct bundle_opts *o, const struct signer *s, int alg, struct bundle *b,
    json_t **op_keys, struct verdict *v)
{
	char		 kid[FEDTRUSTP_JKT_LEN + 1], nkid[FEDTRUSTP_JKT_LEN + 1];
	json_t		*set = json_object(), *keys = json_array(), *next = json_array(), *j;
	EVP_PKEY	*nk = NULL;
	size_t		 len;
	int		 nalg, rc = -1;

	*op_keys = NULL;
	json_object_set_new(set, "keys", keys);
	if ((j = operator_jwk(s->key, alg, kid, v)) == NULL)
		goto out;
	json_array_append_new(keys, j);
	if (o->next_key != NULL) {
		if ((nk = next_key_load(o->next_key, v)) == NULL ||
		    (nalg = bundle_key_alg(nk, v)) == -1 ||
		    (j = operator_jwk(nk, nalg, nkid, v)) == NULL)
			goto out;
		json_array_append_new(keys, j);
		json_array_append_new(next, json_string(nkid));
	}
	if ((b->keys = canonical(set, &len, v)) == NULL)
		goto out;
	b->keyssz = len;
	*op_keys = json_pack("{s:s,s:O}", "current", kid, "next", next);
	memcpy(b->kid, kid, sizeof(b->kid));
	rc = 0;
out:
	EVP_PKEY_free(nk);
	json_decref(next);
	json_decref(set);
	return rc;
}

/* The head (4.7) for the signed bundle b. 0 / -1 with v. */
static int
make_head(const struct bundle_opts *o, const struct signer *s,
    const struct fedtrustp_keyset *ks, time_t now, struct bundle *b, struct verdict *v)
{
	json_t	*h;
	char	*text, *burl, *base;
	size_t	 len, bl;
	int	 rc;

	base = xstrdup(o->base_url != NULL ? o->base_url : o->issuer);
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		base[--bl] = '\0';
	xasprintf(&burl, "%s/%s/bundles/%" PRIu64 ".jwt", base, o->list, o->seq);
	b->head_exp = now + (o->head_validity > 0 ? o->head_validity : 3600);
	if (b->head_exp - now > MAX_HEAD_VALIDITY)
		b->head_exp = now + MAX_HEAD_VALIDITY;
	h = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:I,s:s}", "iss", o->issuer, "list", o->list,
	    "iat", (json_int_t)now, "exp", (json_int_t)b->head_exp, "seq", (json_int_t)o->seq,
	    "bdig", b->bdig, "blen", (json_int_t)b->jwssz, "bexp", (json_int_t)b->exp,
	    "burl", burl);
	rc = -1;
	if (h != NULL && (text = canonical(h, &len, v)) != NULL) {
		rc = bundle_sign(text, len, s, b->alg, TYP_HEAD, ks, &b->head, &b->headsz, v);
		free(text);
	} else if (h == NULL)
		verdict_set(v, R_INTERNAL, "head: cannot build the payload");
	json_decref(h);
	free(burl);
	free(base);
	return rc;
}

/*
 * The decoded payload of our own bundle must carry the iss, list, seq and
 * exp we meant (PUB-05).  0 / -1 with v.
 */
static int
check_payload(const char *text, size_t len, const struct bundle_opts *o, const struct bundle *b,
    struct verdict *v)
{
	struct fedtrust_error	 err;
	json_t			*p;
	int			 ok;

	if ((p = fedtrustp_json_parse(text, len, len, FEDTRUSTP_MAX_JSON_DEPTH, &err)) == NULL)
		return verdict_set(v, R_SELF_CHECK, "self-check: bundle payload: %s", err.text);
	ok = json_is_string(json_object_get(p, "iss")) &&
	    strcmp(json_string_value(json_object_get(p, "iss")), o->issuer) == 0 &&
	    json_is_string(json_object_get(p, "list")) &&
	    strcmp(json_string_value(json_object_get(p, "list")), o->list) == 0 &&
	    json_integer_value(json_object_get(p, "seq")) == (json_int_t)o->seq &&
	    json_integer_value(json_object_get(p, "exp")) == (json_int_t)b->exp &&
	    b->exp > b->iat && b->exp - b->iat <= MAX_BUNDLE_VALIDITY &&
	    json_array_size(json_object_get(p, "entities")) == b->entsz;
	json_decref(p);
	if (!ok)
		return verdict_set(v, R_SELF_CHECK, "self-check: the signed bundle does not carry "
		    "iss %s, list %s, seq %" PRIu64 " and exp %lld", o->issuer, o->list, o->seq,
		    (long long)b->exp);
	return 0;
}

int
bundle_make(const struct entity *const *ents, size_t n, const struct bundle_opts *o,
    const struct signer *s, time_t now, struct bundle *b, struct verdict *v)
{
	const struct entity	**sorted = NULL;
	struct fedtrustp_keyset	*ks = NULL;
	json_t			*payload = NULL, *op_keys = NULL, *ej;
	char			*text = NULL, *etext = NULL, edig[44], why[256], idb[160];
	size_t			 i, len, elen;
	long			 refresh;
	time_t			 exp;
	int			 rc = -1;

	memset(b, 0, sizeof(*b));
	if (s == NULL || s->key == NULL)
		return verdict_set(v, R_SIGN_FAILED, "bundle: no signing key");
	if ((b->alg = bundle_key_alg(s->key, v)) == -1)
		return -1;
	b->iat = now;
	exp = now + (o->bundle_validity > 0 ? o->bundle_validity : 86400);
	if (exp - now > MAX_BUNDLE_VALIDITY)
		exp = now + MAX_BUNDLE_VALIDITY;
	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	memcpy(sorted, ents, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_ent);
	b->entities = json_array();
	b->ents = xcalloc(n ? n : 1, sizeof(*b->ents));
	for (i = 0; i < n; i++) {
		if (i > 0 && cmp_ent(&sorted[i - 1], &sorted[i]) == 0) {
			verdict_set(v, R_ENTITY_DUPLICATE, "bundle: entity %s occurs twice",
			    log_sanitize(sorted[i]->id, strlen(sorted[i]->id), idb, sizeof(idb)));
			goto out;
		}
		if ((ej = entity_json(sorted[i], exp, o->variant, why, sizeof(why))) == NULL) {
			log_info("list=%s entity=%s: left out of the bundle: no key of an allowed "
			    "type (%s)%s", o->list,
			    log_sanitize(sorted[i]->id, strlen(sorted[i]->id), idb, sizeof(idb)), why,
			    sorted[i]->proto == PROTO_SAML2 ? "; it stays in the SAML outputs" : "");
			continue;
		}
		if (sorted[i]->valid_until != 0 && sorted[i]->valid_until < exp)
			exp = sorted[i]->valid_until;
		json_array_append_new(b->entities, ej);
		b->ents[b->entsz++] = sorted[i];
	}
	if (b->entsz == 0) {
		verdict_set(v, R_FEED_EMPTY, "bundle %s: no entity with a usable key, refusing to "
		    "publish an empty bundle", o->list);
		goto out;
	}
	if (exp <= now) {
		verdict_set(v, R_EXPIRED, "bundle %s: an entity expires now", o->list);
		goto out;
	}
	b->exp = exp;
	if ((etext = canonical(b->entities, &elen, v)) == NULL)
		goto out;
	b64u_sha256(etext, elen, edig);
	if (operator_keys(o, s, b->alg, b, &op_keys, v) == -1)
		goto out;
	refresh = o->refresh < MIN_REFRESH ? MIN_REFRESH :
	    o->refresh > MAX_REFRESH ? MAX_REFRESH : o->refresh;
	payload = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:s,s:O,s:o,s:O}", "iss", o->issuer,
	    "ver", 1, "list", o->list, "iat", (json_int_t)now, "exp", (json_int_t)exp,
	    "seq", (json_int_t)o->seq, "refresh", (json_int_t)refresh, "edig", edig,
	    "op_keys", op_keys, "sources", sources_json(o), "entities", b->entities);
	if (payload == NULL) {
		verdict_set(v, R_INTERNAL, "bundle: cannot build the payload");
		goto out;
	}
	if (o->prev != NULL)
		json_object_set_new(payload, "prev", json_string(o->prev));
	if (o->revoked != NULL && o->revoked->n > 0)
		json_object_set_new(payload, "revoked", revoked_json(o->revoked));
	if ((text = canonical(payload, &len, v)) == NULL)
		goto out;
	if ((ks = bundle_self_keyset(s, b->alg, v)) == NULL)
		goto out;
	if (bundle_sign(text, len, s, b->alg, TYP_BUNDLE, ks, &b->jws, &b->jwssz, v) == -1 ||
	    check_payload(text, len, o, b, v) == -1)
		goto out;
	b64u_sha256(b->jws, b->jwssz, b->bdig);
	if (make_head(o, s, ks, now, b, v) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		bundle_free(b);
	fedtrustp_keyset_free(ks);
	json_decref(payload);
	json_decref(op_keys);
	free(sorted);
	free(text);
	free(etext);
	return rc;
}

void
bundle_free(struct bundle *b)
{
	if (b == NULL)
		return;
	free(b->jws);
	free(b->head);
	free(b->keys);
	json_decref(b->entities);
	free(b->ents);
	memset(b, 0, sizeof(*b));
}

void
bundle_files(const struct bundle *b, uint64_t seq, struct outfiles *out)
{
	char	 path[64];

	snprintf(path, sizeof(path), "bundles/%" PRIu64 ".jwt", seq);
	outfiles_add_ref(out, "head.jwt", (const unsigned char *)b->head, b->headsz);
	outfiles_add_ref(out, "bundle.jwt", (const unsigned char *)b->jws, b->jwssz);
	outfiles_add_ref(out, path, (const unsigned char *)b->jws, b->jwssz);
	outfiles_add_ref(out, "keys.json", (const unsigned char *)b->keys, b->keyssz);
}
