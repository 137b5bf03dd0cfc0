/*
 * libfedtrust consumer side: heads and bundles built here, at test time,
 * with real keys (EVP_PKEY_Q_keygen), real certificates and the library's
 * own signer over payloads made with jansson, so nothing depends on the
 * producer.  Covers acceptance and indexing, lookups, every bundle/JWS case
 * of security-rules.md section 6 that applies to bundles (each with its
 * error code), the OIDF, SAML and X.509 entity members (ta, path, tm, ec,
 * names) and their accessors, the stored-state rules of bundle-format.md 4.9, failing
 * every allocation in turn, and (as information) timing of a
 * 10,000-entity bundle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "lib/private.h"
#include "testutil.h"

#define NOW	1772431200LL		/* 2026-03-02T06:00:00Z */
#define ISS	"https://trust.example.net"
#define LIST	"partners-prod"
#define TYP_B	"vnd.fedtrust.bundle+jwt"
#define TYP_H	"vnd.fedtrust.bundle-head+jwt"
#define TYP_E	"vnd.fedtrust.entity+jwt"
#define SEQ	100

static EVP_PKEY	*k_cur, *k_next, *k_other;	/* operator keys; other is not pinned */
static EVP_PKEY	*ek_idp, *ek_rp, *ek_ca, *ek_ed;	/* entity keys */
static unsigned char *cert_idp, *cert_ca;		/* DER of self-signed certificates */
static size_t	 cert_idp_len, cert_ca_len;
static struct fedtrust_trust *trust;

/* ------------------------------------------------------------ helpers */

static char *
b64url(const void *buf, size_t len)
{
	char	*s = fedtrustp_b64url_encode(buf, len, NULL);

	assert_non_null(s);
	return s;
}

static char *
sha256_b64url(const void *buf, size_t len)
{
	unsigned char	 md[32];
	unsigned int	 mdlen = sizeof(md);

	assert_int_equal(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL), 1);
	return b64url(md, mdlen);
}

/* A self-signed certificate for k (DER, caller frees). */
static unsigned char *
mkcert(EVP_PKEY *k, const char *cn, size_t *len)
{
	X509		*x = X509_new();
	X509_NAME	*n;
	unsigned char	*der = NULL;
	int		 l;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	l = i2d_X509(x, &der);
	assert_true(l > 0);
	X509_free(x);
	*len = (size_t)l;
	return der;
}

/* Standard base64 of a DER certificate (x5c). Caller frees. */
static char *
b64std(const unsigned char *buf, size_t len)
{
	char	*s = malloc(4 * ((len + 2) / 3) + 1);

	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, buf, (int)len);
	return s;
}

/* Public JWK of k with its jkt, one purpose and prov (caller decrefs). */
static json_t *
key_jwk(EVP_PKEY *k, const char *purpose, const char *prov)
{
	json_t	*j = fedtrustp_pkey_to_jwk(k, NULL);
	char	 jkt[FEDTRUSTP_JKT_LEN + 1];

	assert_non_null(j);
	assert_int_equal(fedtrustp_jwk_thumbprint(j, jkt, NULL), 0);
	json_object_set_new(j, "jkt", json_string(jkt));
	json_object_set_new(j, "purposes", json_pack("[s]", purpose));
	json_object_set_new(j, "prov", json_string(prov));
	return j;
}

/* x5c and x5t#S256 of a certificate onto a key. */
static void
key_add_cert(json_t *j, const unsigned char *der, size_t len)
{
	char	*s = b64std(der, len), *t = sha256_b64url(der, len);

	json_object_set_new(j, "x5c", json_pack("[s]", s));
	json_object_set_new(j, "x5t#S256", json_string(t));
	free(s);
	fedtrustp_free(t);
}

/*
 * The valid bundle payload: four entities in (id, proto) order, the same
 * id under two protocols, a certificate key, an Ed25519 jwt key with a
 * kid, scopes, and a ca key with names.  Caller decrefs.
 */
static json_t *
base_payload(void)
{
	json_t	*p, *k1, *k2, *k3, *k4, *ents;

	k1 = key_jwk(ek_idp, "saml-sig", "saml_md");
	key_add_cert(k1, cert_idp, cert_idp_len);
	k2 = key_jwk(ek_rp, "jwt", "signed_jwks");
	json_object_set_new(k2, "kid", json_string("rp-sig-1"));
	json_object_set_new(k2, "alg", json_string("ES256"));
	k3 = key_jwk(ek_ca, "ca", "local");
	key_add_cert(k3, cert_ca, cert_ca_len);
	k4 = key_jwk(ek_ed, "jwt", "chain");
	json_object_set_new(k4, "kid", json_string("ed-1"));

	ents = json_pack("[{s:s,s:s,s:[s],s:s,s:I,s:s,s:s,s:[o]},"
	    "{s:s,s:s,s:[s],s:s,s:I,s:[s],s:[o]},"
	    "{s:s,s:s,s:[s,s],s:s,s:I,s:[s,s],s:[o]},"
	    "{s:s,s:s,s:[s],s:s,s:I,s:{s:[s]},s:[o]}]",
	    "id", "https://idp.example.org/idp", "proto", "saml2", "roles", "idp",
	    "src", "edugain", "valid_until", (json_int_t)(NOW + 3600), "ra",
	    "https://fed.example.org", "org", "Example IdP", "keys", k1,
	    "id", "https://rp.example.com", "proto", "oauth", "roles", "oauth_client",
	    "src", "fedx", "valid_until", (json_int_t)(NOW + 200000), "scopes", "read",
	    "keys", json_deep_copy(k2),
	    "id", "https://rp.example.com", "proto", "oidf", "roles",
	    "openid_relying_party", "oauth_client", "src", "fedx",
	    "valid_until", (json_int_t)(NOW + 7200), "scopes", "accounts:read",
	    "payments:initiate", "keys", k2,
	    "id", "spiffe://partner.example", "proto", "x509", "roles", "tls_client",
	    "src", "static", "valid_until", (json_int_t)(NOW + 7200),
	    "names", "san_dns", "client.partner.example", "keys", k3);
	assert_non_null(ents);
	/* A second, Ed25519 key on the oidf RP. */
	json_array_append_new(json_object_get(json_array_get(ents, 2), "keys"), k4);
	p = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:i,s:{s:{s:s,s:I,s:s},s:{s:s,s:I,s:s},"
	    "s:{s:s,s:I,s:s}},s:o,s:s}",
	    "iss", ISS, "ver", 1, "list", LIST, "iat", (json_int_t)(NOW - 60),
	    "exp", (json_int_t)(NOW + 86400 - 60), "seq", (json_int_t)SEQ, "refresh", 300,
	    "sources", "edugain", "type", "saml2", "fetched", (json_int_t)(NOW - 100),
	    "status", "ok", "fedx", "type", "oidf", "fetched", (json_int_t)(NOW - 100),
	    "status", "ok", "static", "type", "static", "fetched", (json_int_t)(NOW - 100),
	    "status", "ok", "entities", ents, "future_member", "ignored");
	assert_non_null(p);
	return p;
}

/* Entity i of a payload (borrowed) and its key j. */
static json_t *
ent(json_t *p, size_t i)
{
	return json_array_get(json_object_get(p, "entities"), i);
}

static json_t *
ekey(json_t *p, size_t i, size_t j)
{
	return json_array_get(json_object_get(ent(p, i), "keys"), j);
}

/* Compact JWS over text with the library's signer. Caller frees. */
static char *
sign_text(const char *text, EVP_PKEY *k, const char *typ)
{
	struct fedtrust_error	 err;
	char			*s;

	s = fedtrustp_jws_sign((const unsigned char *)text, strlen(text), k,
	    FEDTRUSTP_ALG_ES256, typ, &err);
	if (s == NULL)
		fail_msg("sign: %s", err.text);
	return s;
}

/* Canonical dump of p, signed; p is consumed. Caller frees. */
static char *
sign_json(json_t *p, EVP_PKEY *k, const char *typ)
{
	char	*text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *s;

	assert_non_null(text);
	json_decref(p);
	s = sign_text(text, k, typ);
	free(text);
	return s;
}

/*
 * Compact JWS with an arbitrary header text, signed for real with the
 * ES256 key k (DER signature converted to R||S here).  Caller frees.
 */
static char *
sign_hdr(const char *hdr, const char *payload, EVP_PKEY *k)
{
	char		*h64 = b64url(hdr, strlen(hdr)), *p64 = b64url(payload, strlen(payload));
	char		*input, *s64, *out;
	unsigned char	 der[80], rs[64];
	const unsigned char *dp = der;
	size_t		 dlen = sizeof(der);
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	ECDSA_SIG	*es;

	assert_true(asprintf(&input, "%s.%s", h64, p64) > 0);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &dlen, (unsigned char *)input,
	    strlen(input)), 1);
	es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen);
	assert_non_null(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
	s64 = b64url(rs, sizeof(rs));
	assert_true(asprintf(&out, "%s.%s", input, s64) > 0);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(input);
	fedtrustp_free(s64);
	fedtrustp_free(h64);
	fedtrustp_free(p64);
	return out;
}

/* The kid (thumbprint) of k; static buffer. */
static const char *
kid_of(EVP_PKEY *k)
{
	static char	 kid[FEDTRUSTP_JKT_LEN + 1];

	assert_int_equal(fedtrustp_pkey_thumbprint(k, kid, NULL), 0);
	return kid;
}

/* The valid payload as canonical text with extra inserted before the final '}'. */
static char *
payload_text_with(const char *extra)
{
	json_t	*p = base_payload();
	char	*t = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *out;

	json_decref(p);
	t[strlen(t) - 1] = '\0';
	assert_true(asprintf(&out, "%s%s}", t, extra) > 0);
	free(t);
	return out;
}

/* A head payload for the bundle jws (caller decrefs). */
static json_t *
head_payload(const char *jws, uint64_t seq, int64_t bexp)
{
	char	*dig = sha256_b64url(jws, strlen(jws));
	json_t	*h;

	h = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:I,s:s}", "iss", ISS, "list", LIST,
	    "iat", (json_int_t)(NOW - 30), "exp", (json_int_t)(NOW + 3570),
	    "seq", (json_int_t)seq, "bdig", dig, "blen", (json_int_t)strlen(jws),
	    "bexp", (json_int_t)bexp, "burl", "https://trust.example.net/b/100.jwt");
	fedtrustp_free(dig);
	assert_non_null(h);
	return h;
}

/* Verify jws at NOW and expect failure with code. */
static void
expect_reject_at(const char *jws, time_t now, const struct fedtrust_head *h,
    const struct fedtrust_state *st, int code, const char *label)
{
	struct fedtrust_error	 err;
	struct fedtrust_bundle	*b;

	b = fedtrust_bundle_verify(trust, jws, strlen(jws), now, h, st, &err);
	if (b != NULL) {
		fedtrust_bundle_free(b);
		fail_msg("%s: accepted, expected %s", label, fedtrust_error_code_name(code));
	}
	if (err.code != code)
		fail_msg("%s: got %s (%s), expected %s", label,
		    fedtrust_error_code_name(err.code), err.text,
		    fedtrust_error_code_name(code));
	assert_true(strlen(err.text) > 0);
}

static void
expect_reject(const char *jws, const struct fedtrust_head *h,
    const struct fedtrust_state *st, int code, const char *label)
{
	expect_reject_at(jws, NOW, h, st, code, label);
}

/* Verify and expect success; caller frees the bundle. */
static struct fedtrust_bundle *
expect_accept(const char *jws, const struct fedtrust_head *h,
    const struct fedtrust_state *st, const char *label)
{
	struct fedtrust_error	 err;
	struct fedtrust_bundle	*b;

	b = fedtrust_bundle_verify(trust, jws, strlen(jws), NOW, h, st, &err);
	if (b == NULL)
		fail_msg("%s: rejected: %s: %s", label, fedtrust_error_code_name(err.code),
		    err.text);
	return b;
}

/* Sign a modified base payload: fn edits it. Caller frees. */
static char *
bundle_with(void (*fn)(json_t *), EVP_PKEY *k)
{
	json_t	*p = base_payload();

	if (fn != NULL)
		fn(p);
	return sign_json(p, k, TYP_B);
}

/* Pinned public JWK of k for alg ES256 (text, caller frees). */
static char *
pin_json(EVP_PKEY *k)
{
	json_t	*j = fedtrustp_pkey_to_jwk(k, NULL);
	char	*s;

	json_object_set_new(j, "alg", json_string("ES256"));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int
setup(void **state)
{
	struct fedtrust_error	 err;
	char			*s;

	k_cur = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_next = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ek_idp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ek_rp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ek_ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ek_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k_cur || !k_next || !k_other || !ek_idp || !ek_rp || !ek_ca || !ek_ed)
		return -1;
	cert_idp = mkcert(ek_idp, "idp.example.org", &cert_idp_len);
	cert_ca = mkcert(ek_ca, "partner CA", &cert_ca_len);
	if ((trust = fedtrust_trust_new(ISS, LIST, &err)) == NULL)
		return -1;
	s = pin_json(k_cur);
	if (fedtrust_trust_add_key_json(trust, s, strlen(s), &err) == -1)
		return -1;
	free(s);
	s = pin_json(k_next);
	if (fedtrust_trust_add_key_json(trust, s, strlen(s), &err) == -1)
		return -1;
	free(s);
	(void)state;
	return 0;
}

static int
teardown(void **state)
{
	fedtrust_trust_free(trust);
	EVP_PKEY_free(k_cur);
	EVP_PKEY_free(k_next);
	EVP_PKEY_free(k_other);
	EVP_PKEY_free(ek_idp);
	EVP_PKEY_free(ek_rp);
	EVP_PKEY_free(ek_ca);
	EVP_PKEY_free(ek_ed);
	OPENSSL_free(cert_idp);
	OPENSSL_free(cert_ca);
	(void)state;
	return 0;
}

/* ------------------------------------------------------------ acceptance */

static void
test_trust(void **state)
{
	struct fedtrust_error	 err;
	struct fedtrust_trust	*t;
	char			*s;

	(void)state;
	assert_int_equal(fedtrust_trust_key_count(trust), 2);
	assert_null(fedtrust_trust_new(ISS, "Bad_List", &err));
	assert_int_equal(err.code, FEDTRUST_E_ARG);
	assert_null(fedtrust_trust_new("", LIST, &err));
	t = fedtrust_trust_new(ISS, LIST, &err);
	assert_non_null(t);
	/* A pinned key needs its alg; the same key twice is refused. */
	s = pin_json(k_cur);
	assert_int_equal(fedtrust_trust_add_key_json(t, s, strlen(s), &err), 0);
	assert_int_equal(fedtrust_trust_add_key_json(t, s, strlen(s), &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	free(s);
	assert_int_equal(fedtrust_trust_add_key_file(t, "/nonexistent/key.pem", &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_IO);
	assert_int_equal(fedtrust_trust_key_count(t), 1);
	fedtrust_trust_free(t);
	fedtrust_trust_free(NULL);
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_FORK), "fork");
	assert_string_equal(fedtrust_version(), "0.1.0");
}

static void
test_valid(void **state)
{
	struct fedtrust_error		 err;
	struct fedtrust_head		 h;
	struct fedtrust_state		 st;
	struct fedtrust_bundle		*b;
	const struct fedtrust_entity	*e;
	const struct fedtrust_key	*k;
	char				*jws, *hjws, *x5t;
	const unsigned char		*der;
	size_t				 derlen;
	json_t				*kj;

	(void)state;
	jws = bundle_with(NULL, k_cur);
	hjws = sign_json(head_payload(jws, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hjws, strlen(hjws), NOW, NULL, &h, &err),
	    FEDTRUST_HEAD_NEWER);
	assert_int_equal(h.seq, SEQ);
	assert_int_equal(h.blen, strlen(jws));
	assert_string_equal(h.burl, "https://trust.example.net/b/100.jwt");
	b = expect_accept(jws, &h, NULL, "valid bundle with head");
	assert_int_equal(fedtrust_bundle_seq(b), SEQ);
	assert_int_equal(fedtrust_bundle_iat(b), NOW - 60);
	assert_int_equal(fedtrust_bundle_exp(b), NOW + 86400 - 60);
	assert_int_equal(fedtrust_bundle_entity_count(b), 4);
	assert_string_equal(fedtrust_entity_proto(fedtrust_bundle_entity_at(b, 1)), "oauth");
	assert_null(fedtrust_bundle_entity_at(b, 4));

	/* The state to persist, and the same head again is "current". */
	fedtrust_bundle_state(b, &h, &st);
	assert_int_equal(st.seq, SEQ);
	assert_int_equal(st.iat, NOW - 60);
	assert_int_equal(st.head_iat, NOW - 30);
	assert_string_equal(st.bdig, h.bdig);
	assert_int_equal(fedtrust_head_verify(trust, hjws, strlen(hjws), NOW + 10, &st, &h,
	    &err), FEDTRUST_HEAD_CURRENT);

	/* By (id, proto): exact bytes, the proto matters. */
	e = fedtrust_lookup(b, "https://idp.example.org/idp", "saml2", NOW, &err);
	assert_non_null(e);
	assert_string_equal(fedtrust_entity_id(e), "https://idp.example.org/idp");
	assert_string_equal(fedtrust_entity_src(e), "edugain");
	assert_string_equal(fedtrust_entity_ra(e), "https://fed.example.org");
	assert_string_equal(fedtrust_entity_org(e), "Example IdP");
	assert_int_equal(fedtrust_entity_valid_until(e), NOW + 3600);
	assert_int_equal(fedtrust_entity_role_count(e), 1);
	assert_string_equal(fedtrust_entity_role(e, 0), "idp");
	assert_true(fedtrust_entity_has_role(e, "idp"));
	assert_false(fedtrust_entity_has_role(e, "sp"));
	assert_int_equal(fedtrust_entity_scope_count(e), -1);
	assert_true(fedtrust_entity_allows_scopes(e, "anything at all"));
	assert_int_equal(fedtrust_entity_key_count(e), 1);
	k = fedtrust_entity_key(e, 0);
	assert_true(fedtrust_key_has_purpose(k, "saml-sig"));
	assert_false(fedtrust_key_has_purpose(k, "jwt"));
	assert_string_equal(fedtrust_key_kty(k), "EC");
	assert_string_equal(fedtrust_key_prov(k), "saml_md");
	assert_null(fedtrust_key_kid(k));
	assert_string_equal(fedtrust_key_jkt(k), kid_of(ek_idp));
	der = fedtrust_key_cert_der(k, &derlen);
	assert_int_equal(derlen, cert_idp_len);
	assert_memory_equal(der, cert_idp, derlen);
	x5t = sha256_b64url(cert_idp, cert_idp_len);
	assert_string_equal(fedtrust_key_x5t_s256(k), x5t);
	kj = json_loads(fedtrust_key_json(k), 0, NULL);
	assert_non_null(kj);
	assert_string_equal(json_string_value(json_object_get(kj, "jkt")), kid_of(ek_idp));
	json_decref(kj);
	assert_null(fedtrust_lookup(b, "https://idp.example.org/idp", "oidf", NOW, &err));
	assert_int_equal(err.code, FEDTRUST_E_NOT_FOUND);
	assert_null(fedtrust_lookup(b, "https://IDP.example.org/idp", "saml2", NOW, &err));
	assert_int_equal(err.code, FEDTRUST_E_NOT_FOUND);
	assert_null(fedtrust_lookup(b, "https://idp.example.org/idp/", "saml2", NOW, &err));
	assert_int_equal(err.code, FEDTRUST_E_NOT_FOUND);
	/* Expiry: min(valid_until, bundle exp). */
	assert_null(fedtrust_lookup(b, "https://idp.example.org/idp", "saml2", NOW + 3600,
	    &err));
	assert_int_equal(err.code, FEDTRUST_E_EXPIRED);
	e = fedtrust_lookup(b, "https://rp.example.com", "oauth", NOW, &err);
	assert_non_null(e);
	assert_int_equal(fedtrust_entity_valid_until(e), NOW + 86400 - 60);
	assert_null(fedtrust_lookup(b, "https://rp.example.com", "oauth", NOW + 86400 - 60,
	    &err));
	assert_int_equal(err.code, FEDTRUST_E_EXPIRED);

	/* Scopes, roles and two keys of the oidf RP. */
	e = fedtrust_lookup(b, "https://rp.example.com", "oidf", NOW, &err);
	assert_non_null(e);
	assert_int_equal(fedtrust_entity_scope_count(e), 2);
	assert_string_equal(fedtrust_entity_scope(e, 1), "payments:initiate");
	assert_true(fedtrust_entity_allows_scopes(e, "accounts:read  payments:initiate"));
	assert_true(fedtrust_entity_allows_scopes(e, ""));
	assert_false(fedtrust_entity_allows_scopes(e, "accounts:read admin"));
	assert_false(fedtrust_entity_allows_scopes(e, "accounts:rea"));
	assert_true(fedtrust_entity_has_role(e, "oauth_client"));
	assert_int_equal(fedtrust_entity_key_count(e), 2);
	assert_string_equal(fedtrust_key_kid(fedtrust_entity_key(e, 0)), "rp-sig-1");
	assert_string_equal(fedtrust_key_alg(fedtrust_entity_key(e, 0)), "ES256");
	assert_string_equal(fedtrust_key_kty(fedtrust_entity_key(e, 1)), "OKP");
	assert_null(fedtrust_key_cert_der(fedtrust_entity_key(e, 1), &derlen));
	assert_int_equal(derlen, 0);
	assert_null(fedtrust_entity_key(e, 2));

	/* By certificate thumbprint. */
	e = fedtrust_lookup_x5t(b, x5t, NOW, &k, &err);
	assert_non_null(e);
	assert_string_equal(fedtrust_entity_id(e), "https://idp.example.org/idp");
	assert_ptr_equal(k, fedtrust_entity_key(e, 0));
	assert_null(fedtrust_lookup_x5t(b, x5t, NOW + 4000, &k, &err));
	assert_int_equal(err.code, FEDTRUST_E_EXPIRED);
	assert_null(k);
	assert_null(fedtrust_lookup_x5t(b, kid_of(ek_idp), NOW, &k, &err));
	assert_int_equal(err.code, FEDTRUST_E_NOT_FOUND);
	fedtrustp_free(x5t);
	x5t = sha256_b64url(cert_ca, cert_ca_len);
	e = fedtrust_lookup_x5t(b, x5t, NOW, NULL, &err);
	assert_non_null(e);
	assert_string_equal(fedtrust_entity_proto(e), "x509");
	fedtrustp_free(x5t);

	fedtrust_bundle_free(b);
	fedtrust_bundle_free(NULL);
	free(jws);
	free(hjws);
}

/* ------------------------------------------------------------ JWS cases */

static void
test_jws_header(void **state)
{
	const char	*pl;
	char		*full, *jws, hdr[512], *tmp;
	const char	*kid = kid_of(k_cur);
	static const char *const forbidden[] = { "jwk", "jku", "x5u", "x5c", "crit", "x5t",
	    "b64", "cty" };
	size_t		 i;

	(void)state;
	full = payload_text_with("");
	pl = full;
	/* The control: a hand-made header that is exactly right is accepted. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}", kid,
	    TYP_B);
	jws = sign_hdr(hdr, pl, k_cur);
	fedtrust_bundle_free(expect_accept(jws, NULL, NULL, "hand-made header"));
	free(jws);

	/* JWS-01/02: none, HS256, RS256 (also in other spellings). */
	{
		static const char *const algs[] = { "none", "None", "NONE", "HS256", "RS256",
		    "EdDSA", "ES512" };

		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			snprintf(hdr, sizeof(hdr),
			    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}", algs[i], kid, TYP_B);
			jws = sign_hdr(hdr, pl, k_cur);
			expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_ALG, algs[i]);
			/* "none" with an empty signature segment. */
			*strrchr(jws, '.') = '\0';
			assert_true(asprintf(&tmp, "%s.", jws) > 0);
			expect_reject(tmp, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "empty sig");
			free(tmp);
			free(jws);
		}
	}
	/* JWS-04/05: keys, URLs and crit in the header. */
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"%s\":%s,\"kid\":\"%s\","
		    "\"typ\":\"%s\"}", forbidden[i],
		    strcmp(forbidden[i], "crit") == 0 ? "[\"exp\"]" :
		    strcmp(forbidden[i], "b64") == 0 ? "false" :
		    strcmp(forbidden[i], "x5c") == 0 ? "[\"MIIB\"]" :
		    strcmp(forbidden[i], "jwk") == 0 ? "{\"kty\":\"EC\"}" :
		    "\"https://127.0.0.1:1/canary\"", kid, TYP_B);
		jws = sign_hdr(hdr, pl, k_cur);
		expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_HEADER, forbidden[i]);
		free(jws);
	}
	/* JWS-08: duplicate members in the header. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"%s\","
	    "\"typ\":\"%s\"}", kid, TYP_B);
	jws = sign_hdr(hdr, pl, k_cur);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JSON, "duplicate alg");
	free(jws);
	/* JWS-11: typ of a head, of an entity, missing, JWT; case does not matter. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	jws = sign_hdr(hdr, pl, k_cur);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_TYP, "typ JWT");
	free(jws);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	jws = sign_hdr(hdr, pl, k_cur);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_TYP, "typ missing");
	free(jws);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\","
	    "\"typ\":\"VND.fedtrust.Bundle+JWT\"}", kid);
	jws = sign_hdr(hdr, pl, k_cur);
	fedtrust_bundle_free(expect_accept(jws, NULL, NULL, "typ in upper case"));
	free(jws);
	jws = sign_text(pl, k_cur, TYP_H);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_TYP, "head typ as bundle");
	free(jws);
	jws = sign_text(pl, k_cur, TYP_E);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_TYP, "entity typ as bundle");
	free(jws);
	/* JWS-03: kid unknown, missing, not a string. */
	jws = sign_text(pl, k_other, TYP_B);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_KID, "unpinned key");
	free(jws);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"%s\"}", TYP_B);
	jws = sign_hdr(hdr, pl, k_cur);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_KID, "kid missing");
	free(jws);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"../../etc/passwd\","
	    "\"typ\":\"%s\"}", TYP_B);
	jws = sign_hdr(hdr, pl, k_cur);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_KID, "kid path");
	free(jws);
	/* A valid signature by another key under the pinned kid. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}", kid,
	    TYP_B);
	jws = sign_hdr(hdr, pl, k_other);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_JWS_SIG, "other key, pinned kid");
	free(jws);
	free(full);
}

static void
test_jws_encoding(void **state)
{
	char	*jws, *bad;
	size_t	 len, p1;

	(void)state;
	jws = bundle_with(NULL, k_cur);
	len = strlen(jws);
	p1 = (size_t)(strchr(jws, '.') - jws);
	bad = malloc(len + 3);
	/* Padding, '+', whitespace, a fourth segment, leading dot. */
	snprintf(bad, len + 3, "%s=", jws);
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "padding");
	memcpy(bad, jws, len + 1);
	bad[p1 + 5] = '+';
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "plus");
	memcpy(bad, jws, len + 1);
	bad[p1 + 5] = '\n';
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "newline");
	snprintf(bad, len + 3, "%s.", jws);
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "four segments");
	snprintf(bad, len + 3, ".%s", jws);
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_MALFORMED, "leading dot");
	/* A changed payload byte: the signature no longer verifies. */
	memcpy(bad, jws, len + 1);
	bad[p1 + 10] = bad[p1 + 10] == 'A' ? 'B' : 'A';
	expect_reject(bad, NULL, NULL, FEDTRUST_E_JWS_SIG, "payload changed");
	free(bad);
	/* Size cap. */
	fedtrust_trust_set_max_bundle_bytes(trust, len - 1);
	expect_reject(jws, NULL, NULL, FEDTRUST_E_TOO_LARGE, "over max_bundle_bytes");
	fedtrust_trust_set_max_bundle_bytes(trust, 0);
	fedtrust_bundle_free(expect_accept(jws, NULL, NULL, "default cap again"));
	free(jws);
}

/* Payload text with extra members signed properly: JSON strictness and numbers. */
static void
expect_payload(const char *extra, int code, const char *label)
{
	char	*t = payload_text_with(extra), *jws = sign_text(t, k_cur, TYP_B);

	if (code == FEDTRUST_OK)
		fedtrust_bundle_free(expect_accept(jws, NULL, NULL, label));
	else
		expect_reject(jws, NULL, NULL, code, label);
	free(jws);
	free(t);
}

static void
test_json_numbers(void **state)
{
	char	 deep[200];
	size_t	 i;

	(void)state;
	expect_payload("", FEDTRUST_OK, "control");
	expect_payload(",\"x-unknown\":{\"a\":[1,2]}", FEDTRUST_OK, "unknown member");
	expect_payload(",\"exp\":1772517540", FEDTRUST_E_JSON, "duplicate exp");
	expect_payload(",\"iss\":\"https://evil.example\"", FEDTRUST_E_JSON, "duplicate iss");
	expect_payload(",\"z\":1e309", FEDTRUST_E_JSON, "1e309");
	expect_payload(",\"z\":1.5", FEDTRUST_E_JSON, "1.5");
	expect_payload(",\"z\":9223372036854775808", FEDTRUST_E_JSON, "2^63");
	expect_payload(",\"z\":9007199254740992", FEDTRUST_E_JSON, "2^53");
	expect_payload(",\"z\":\"\\u0000\"", FEDTRUST_E_JSON, "escaped NUL");
	expect_payload(",\"z\":\"\\ud800\"", FEDTRUST_E_JSON, "lone surrogate");
	/* Depth: 32 levels in all is fine, 33 is not. */
	deep[0] = '\0';
	strcat(deep, ",\"z\":");
	for (i = 0; i < 31; i++)
		strcat(deep, "[");
	for (i = 0; i < 31; i++)
		strcat(deep, "]");
	expect_payload(deep, FEDTRUST_OK, "depth 32");
	strcpy(deep, ",\"z\":");
	for (i = 0; i < 32; i++)
		strcat(deep, "[");
	for (i = 0; i < 32; i++)
		strcat(deep, "]");
	expect_payload(deep, FEDTRUST_E_JSON, "depth 33");
}

/* Edits of the base payload for claim and structure cases. */
static void e_exp_string(json_t *p) { json_object_set_new(p, "exp", json_string("1772517540")); }
static void e_exp_true(json_t *p) { json_object_set_new(p, "exp", json_true()); }
static void e_exp_null(json_t *p) { json_object_set_new(p, "exp", json_null()); }
static void e_exp_neg(json_t *p) { json_object_set_new(p, "exp", json_integer(-1)); }
static void e_no_exp(json_t *p) { json_object_del(p, "exp"); }
static void e_iss(json_t *p) { json_object_set_new(p, "iss", json_string("https://trust.example.ne")); }
static void e_list(json_t *p) { json_object_set_new(p, "list", json_string("partners-test")); }
static void e_ver2(json_t *p) { json_object_set_new(p, "ver", json_integer(2)); }
static void e_crit(json_t *p) { json_object_set_new(p, "crit", json_pack("[s]", "x-new")); }
static void e_refresh(json_t *p) { json_object_set_new(p, "refresh", json_integer(59)); }
static void e_seq0(json_t *p) { json_object_set_new(p, "seq", json_integer(0)); }
static void e_prev_bad(json_t *p) { json_object_set_new(p, "prev", json_string("abc")); }
static void
e_expired(json_t *p)
{
	json_object_set_new(p, "iat", json_integer(NOW - 86400));
	json_object_set_new(p, "exp", json_integer(NOW));
}
static void
e_future(json_t *p)
{
	json_object_set_new(p, "iat", json_integer(NOW + 61));
	json_object_set_new(p, "exp", json_integer(NOW + 86400));
}
static void
e_future_ok(json_t *p)
{
	json_object_set_new(p, "iat", json_integer(NOW + 60));
	json_object_set_new(p, "exp", json_integer(NOW + 86400));
}
static void
e_life(json_t *p)
{
	json_object_set_new(p, "iat", json_integer(NOW - 10));
	json_object_set_new(p, "exp", json_integer(NOW - 10 + 604801));
}
static void
e_life_ok(json_t *p)
{
	json_object_set_new(p, "iat", json_integer(NOW - 10));
	json_object_set_new(p, "exp", json_integer(NOW - 10 + 604800));
}
static void
e_unsorted(json_t *p)
{
	json_t	*ents = json_object_get(p, "entities"), *e0 = json_incref(ent(p, 0));

	json_array_remove(ents, 0);
	json_array_append_new(ents, e0);
}
static void
e_proto_order(json_t *p)
{
	json_t	*ents = json_object_get(p, "entities"), *e1 = json_incref(ent(p, 1));

	json_array_remove(ents, 1);
	json_array_insert_new(ents, 2, e1);	/* oidf before oauth */
}
static void
e_duplicate(json_t *p)
{
	json_array_insert_new(json_object_get(p, "entities"), 1, json_deep_copy(ent(p, 0)));
}
static void e_private_d(json_t *p) { json_object_set_new(ekey(p, 0, 0), "d", json_string("AAAA")); }
static void e_private_k(json_t *p) { json_object_set_new(ekey(p, 2, 0), "k", json_string("AAAA")); }
static void
e_jkt(json_t *p)
{
	json_object_set(ekey(p, 0, 0), "jkt", json_object_get(ekey(p, 2, 0), "jkt"));
}
static void
e_x5t(json_t *p)
{
	json_object_set(ekey(p, 0, 0), "x5t#S256", json_object_get(ekey(p, 3, 0), "x5t#S256"));
}
static void
e_x5c(json_t *p)
{
	/* The CA's certificate (and its correct x5t) on the IdP's key. */
	json_object_set(ekey(p, 0, 0), "x5c", json_object_get(ekey(p, 3, 0), "x5c"));
	json_object_set(ekey(p, 0, 0), "x5t#S256", json_object_get(ekey(p, 3, 0), "x5t#S256"));
}
static void
e_x5c_b64(json_t *p)
{
	char	*s = strdup(json_string_value(json_array_get(json_object_get(ekey(p, 0, 0),
	    "x5c"), 0)));

	s[3] = '_';
	json_object_set_new(ekey(p, 0, 0), "x5c", json_pack("[s]", s));
	free(s);
}
static void e_ca_no_names(json_t *p) { json_object_del(ent(p, 3), "names"); }
static void e_src(json_t *p) { json_object_set_new(ent(p, 1), "src", json_string("nowhere")); }
static void e_no_roles(json_t *p) { json_object_del(ent(p, 1), "roles"); }
static void e_no_keys(json_t *p) { json_object_set_new(ent(p, 1), "keys", json_array()); }
static void e_proto(json_t *p) { json_object_set_new(ent(p, 0), "proto", json_string("SAML2")); }
static void e_purpose(json_t *p) { json_object_set_new(ekey(p, 1, 0), "purposes", json_pack("[s]", "everything")); }
static void e_no_jkt(json_t *p) { json_object_del(ekey(p, 1, 0), "jkt"); }
static void e_vu_string(json_t *p) { json_object_set_new(ent(p, 1), "valid_until", json_string("soon")); }
static void
e_bad_point(json_t *p)
{
	/* The x of another key: not a point on the curve (with overwhelming odds). */
	json_object_set(ekey(p, 1, 0), "x", json_object_get(ekey(p, 0, 0), "x"));
}
static void
e_names_two(json_t *p)
{
	json_object_set_new(json_object_get(ent(p, 3), "names"), "subject_dn",
	    json_string("CN=x"));
}
static void
e_ignored_key(json_t *p)
{
	json_array_append_new(json_object_get(ent(p, 1), "keys"),
	    json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "X25519", "x",
	    "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"));
}
static void e_no_sources(json_t *p) { json_object_del(p, "sources"); }
/* The new members of 4.4 on the oidf RP (entity 2) and the x509 partner (3). */
static void e_ta_number(json_t *p) { json_object_set_new(ent(p, 2), "ta", json_integer(1)); }
static void e_path_number(json_t *p) { json_object_set_new(ent(p, 2), "path", json_pack("[s,i]", "https://ta.example", 1)); }
static void e_path_string(json_t *p) { json_object_set_new(ent(p, 2), "path", json_string("https://ta.example")); }
static void e_ec_object(json_t *p) { json_object_set_new(ent(p, 0), "ec", json_pack("[{}]")); }
static void e_tm_object(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("{s:s}", "type", "https://tm.example/a")); }
static void e_tm_no_type(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("[{s:I}]", "exp", (json_int_t)(NOW + 60))); }
static void e_tm_type_number(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("[{s:i}]", "type", 5)); }
static void e_tm_exp_string(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("[{s:s,s:s}]", "type", "https://tm.example/a", "exp", "soon")); }
static void e_tm_exp_zero(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("[{s:s,s:i}]", "type", "https://tm.example/a", "exp", 0)); }
static void e_tm_exp_neg(json_t *p) { json_object_set_new(ent(p, 2), "tm", json_pack("[{s:s,s:i}]", "type", "https://tm.example/a", "exp", -5)); }
static void
e_tm_ok(json_t *p)
{
	/* A mark already expired at verify time is structure, not an error. */
	json_object_set_new(ent(p, 2), "tm", json_pack("[{s:s,s:I},{s:s}]", "type",
	    "https://tm.example/a", "exp", (json_int_t)(NOW - 10), "type", "https://tm.example/b"));
}
static void e_names_unknown(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("{s:[s]}", "san_rid", "x")); }
static void e_names_dns_string(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("{s:s}", "san_dns", "client.partner.example")); }
static void e_names_dn_array(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("{s:[s]}", "subject_dn", "CN=x")); }
static void e_names_dns_number(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("{s:[i]}", "san_dns", 1)); }
static void e_names_array(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("[s]", "CN=x")); }

static void
test_claims_structure(void **state)
{
	static const struct {
		void		(*fn)(json_t *);
		int		 code;
		const char	*label;
	} cases[] = {
		{ e_exp_string, FEDTRUST_E_CLAIMS, "exp \"string\"" },
		{ e_exp_true, FEDTRUST_E_CLAIMS, "exp true" },
		{ e_exp_null, FEDTRUST_E_CLAIMS, "exp null" },
		{ e_exp_neg, FEDTRUST_E_CLAIMS, "exp -1" },
		{ e_no_exp, FEDTRUST_E_CLAIMS, "exp missing" },
		{ e_iss, FEDTRUST_E_CLAIMS, "iss mismatch" },
		{ e_list, FEDTRUST_E_CLAIMS, "list mismatch" },
		{ e_ver2, FEDTRUST_E_CLAIMS, "ver 2" },
		{ e_crit, FEDTRUST_E_CLAIMS, "crit present" },
		{ e_refresh, FEDTRUST_E_CLAIMS, "refresh 59" },
		{ e_seq0, FEDTRUST_E_CLAIMS, "seq 0" },
		{ e_prev_bad, FEDTRUST_E_CLAIMS, "prev not a digest" },
		{ e_expired, FEDTRUST_E_EXPIRED, "expired" },
		{ e_future, FEDTRUST_E_NOT_YET_VALID, "iat beyond leeway" },
		{ e_future_ok, FEDTRUST_OK, "iat within leeway" },
		{ e_life, FEDTRUST_E_LIFETIME, "exp - iat = 604801" },
		{ e_life_ok, FEDTRUST_OK, "exp - iat = 604800" },
		{ e_unsorted, FEDTRUST_E_BUNDLE, "unsorted entities" },
		{ e_proto_order, FEDTRUST_E_BUNDLE, "same id, protos out of order" },
		{ e_duplicate, FEDTRUST_E_BUNDLE, "duplicate (id, proto)" },
		{ e_private_d, FEDTRUST_E_KEY, "private member d" },
		{ e_private_k, FEDTRUST_E_KEY, "private member k" },
		{ e_jkt, FEDTRUST_E_KEY, "jkt mismatch" },
		{ e_no_jkt, FEDTRUST_E_BUNDLE, "jkt missing" },
		{ e_bad_point, FEDTRUST_E_KEY, "point not on the curve" },
		{ e_x5t, FEDTRUST_E_KEY, "x5t#S256 of another certificate" },
		{ e_x5c, FEDTRUST_E_KEY, "x5c of another key" },
		{ e_x5c_b64, FEDTRUST_E_KEY, "x5c not base64" },
		{ e_ca_no_names, FEDTRUST_E_BUNDLE, "ca purpose without names" },
		{ e_names_two, FEDTRUST_E_BUNDLE, "names with two members" },
		{ e_src, FEDTRUST_E_BUNDLE, "src not in sources" },
		{ e_no_sources, FEDTRUST_E_BUNDLE, "sources missing" },
		{ e_no_roles, FEDTRUST_E_BUNDLE, "roles missing" },
		{ e_no_keys, FEDTRUST_E_BUNDLE, "no keys" },
		{ e_proto, FEDTRUST_E_BUNDLE, "proto SAML2" },
		{ e_purpose, FEDTRUST_E_BUNDLE, "unknown purpose" },
		{ e_vu_string, FEDTRUST_E_BUNDLE, "valid_until a string" },
		{ e_ignored_key, FEDTRUST_OK, "X25519 key ignored" },
		{ e_ta_number, FEDTRUST_E_BUNDLE, "ta a number" },
		{ e_path_number, FEDTRUST_E_BUNDLE, "path with a number" },
		{ e_path_string, FEDTRUST_E_BUNDLE, "path a string" },
		{ e_ec_object, FEDTRUST_E_BUNDLE, "ec with an object" },
		{ e_tm_object, FEDTRUST_E_BUNDLE, "tm an object" },
		{ e_tm_no_type, FEDTRUST_E_BUNDLE, "tm without type" },
		{ e_tm_type_number, FEDTRUST_E_BUNDLE, "tm type a number" },
		{ e_tm_exp_string, FEDTRUST_E_BUNDLE, "tm exp a string" },
		{ e_tm_exp_zero, FEDTRUST_E_BUNDLE, "tm exp 0" },
		{ e_tm_exp_neg, FEDTRUST_E_BUNDLE, "tm exp negative" },
		{ e_tm_ok, FEDTRUST_OK, "tm expired and without exp" },
		{ e_names_unknown, FEDTRUST_E_BUNDLE, "names with an unknown kind" },
		{ e_names_dns_string, FEDTRUST_E_BUNDLE, "names san_dns a string" },
		{ e_names_dn_array, FEDTRUST_E_BUNDLE, "names subject_dn an array" },
		{ e_names_dns_number, FEDTRUST_E_BUNDLE, "names san_dns with a number" },
		{ e_names_array, FEDTRUST_E_BUNDLE, "names an array" },
	};
	char	*jws;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jws = bundle_with(cases[i].fn, k_cur);
		if (cases[i].code == FEDTRUST_OK)
			fedtrust_bundle_free(expect_accept(jws, NULL, NULL, cases[i].label));
		else
			expect_reject(jws, NULL, NULL, cases[i].code, cases[i].label);
		free(jws);
	}
	/* The ignored key is not among the entity's keys. */
	{
		struct fedtrust_error	 err;
		struct fedtrust_bundle	*b;

		jws = bundle_with(e_ignored_key, k_cur);
		b = expect_accept(jws, NULL, NULL, "ignored key");
		assert_int_equal(fedtrust_entity_key_count(fedtrust_lookup(b,
		    "https://rp.example.com", "oauth", NOW, &err)), 1);
		fedtrust_bundle_free(b);
		free(jws);
	}
}

/* ------------------------------------------------------------ OIDF, SAML, X.509 members */

#define TA	"https://ta.example.org"
#define INT	"https://int.example.org"
#define TM_A	"https://tm.example.org/certified"
#define TM_OLD	"https://tm.example.org/expired"
#define TM_NOEXP "https://tm.example.org/no-exp"
#define TM_TWO	"https://tm.example.org/two-issuers"
#define DN	"CN=Partner Client,O=Partner Ltd,C=DE"

static json_t	*x_cakey;	/* the x509 partner's ca key, for e_gateway */

/*
 * Adds an OIDF provider (ta, path, four trust marks, scopes), an X.509
 * partner with a ca key and a subject DN, and entity categories on the
 * SAML IdP, keeping (id, proto) order.
 */
static void
e_gateway(json_t *p)
{
	json_t	*ents = json_object_get(p, "entities"), *op, *x;

	op = json_pack("{s:s,s:s,s:[s],s:s,s:I,s:s,s:[s,s],s:[s],"
	    "s:[{s:s,s:I},{s:s,s:I},{s:s},{s:s,s:I},{s:s,s:I}],s:[o]}",
	    "id", "https://op.example.org", "proto", "oidf", "roles", "openid_provider",
	    "src", "fedx", "valid_until", (json_int_t)(NOW + 7200), "ta", TA,
	    "path", INT, TA, "scopes", "openid",
	    "tm", "type", TM_A, "exp", (json_int_t)(NOW + 3600),
	    "type", TM_OLD, "exp", (json_int_t)(NOW - 10),
	    "type", TM_NOEXP,
	    "type", TM_TWO, "exp", (json_int_t)(NOW - 100),
	    "type", TM_TWO, "exp", (json_int_t)(NOW + 100),
	    "keys", key_jwk(ek_ed, "jwt", "chain"));
	x = json_pack("{s:s,s:s,s:[s],s:s,s:I,s:{s:s},s:[O]}",
	    "id", "partner-x.example", "proto", "x509", "roles", "tls_client",
	    "src", "static", "valid_until", (json_int_t)(NOW + 7200),
	    "names", "subject_dn", DN, "keys", x_cakey);
	assert_non_null(op);
	assert_non_null(x);
	json_array_insert_new(ents, 1, op);
	json_array_insert_new(ents, 4, x);
	json_object_set_new(ent(p, 0), "ec", json_pack("[s,s]",
	    "http://refeds.org/category/research-and-scholarship",
	    "https://refeds.org/sirtfi"));
}

static void e_names_empty(json_t *p) { json_object_set_new(ent(p, 3), "names", json_pack("{s:s}", "subject_dn", "")); }

static void
test_entity_members(void **state)
{
	struct fedtrust_error		 err;
	struct fedtrust_bundle		*b;
	const struct fedtrust_entity	*e;
	EVP_PKEY			*xk;
	unsigned char			*xcert;
	size_t				 xcertlen, i;
	char				*jws;

	(void)state;
	xk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(xk);
	xcert = mkcert(xk, "Partner Issuing CA", &xcertlen);
	x_cakey = key_jwk(xk, "ca", "local");
	key_add_cert(x_cakey, xcert, xcertlen);
	jws = bundle_with(e_gateway, k_cur);
	json_decref(x_cakey);
	b = expect_accept(jws, NULL, NULL, "gateway members");
	assert_int_equal(fedtrust_bundle_entity_count(b), 6);

	/* OIDF: trust anchor, path from the subject upwards, marks. */
	e = fedtrust_lookup(b, "https://op.example.org", "oidf", NOW, &err);
	assert_non_null(e);
	assert_string_equal(fedtrust_entity_ta(e), TA);
	assert_int_equal(fedtrust_entity_path_count(e), 2);
	assert_string_equal(fedtrust_entity_path(e, 0), INT);
	assert_string_equal(fedtrust_entity_path(e, 1), TA);
	assert_null(fedtrust_entity_path(e, 2));
	assert_int_equal(fedtrust_entity_scope_count(e), 1);
	assert_int_equal(fedtrust_entity_trust_mark_count(e), 5);
	assert_string_equal(fedtrust_entity_trust_mark_type(e, 0), TM_A);
	assert_int_equal(fedtrust_entity_trust_mark_exp(e, 0), NOW + 3600);
	assert_string_equal(fedtrust_entity_trust_mark_type(e, 1), TM_OLD);
	assert_int_equal(fedtrust_entity_trust_mark_exp(e, 1), NOW - 10);
	assert_string_equal(fedtrust_entity_trust_mark_type(e, 2), TM_NOEXP);
	assert_int_equal(fedtrust_entity_trust_mark_exp(e, 2), 0);
	assert_null(fedtrust_entity_trust_mark_type(e, 5));
	assert_int_equal(fedtrust_entity_trust_mark_exp(e, 5), 0);
	/* has_trust_mark: live until exp (exclusive); an expired mark does not count. */
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_A, NOW), 1);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_A, NOW + 3599), 1);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_A, NOW + 3600), 0);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_OLD, NOW), 0);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_OLD, NOW - 11), 1);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_NOEXP, NOW + 10000000), 1);
	/* The same type twice: the live one counts, until it too expires. */
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_TWO, NOW), 1);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_TWO, NOW + 100), 0);
	/* Exact bytes only. */
	assert_int_equal(fedtrust_entity_has_trust_mark(e, "https://tm.example.org/", NOW), 0);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_A "/", NOW), 0);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, "HTTPS://tm.example.org/certified",
	    NOW), 0);
	assert_int_equal(fedtrust_entity_has_trust_mark(e, NULL, NOW), 0);
	/* No names, no categories. */
	assert_null(fedtrust_entity_names_kind(e));
	assert_int_equal(fedtrust_entity_name_count(e), 0);
	assert_null(fedtrust_entity_name(e, 0));
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", DN), 0);
	assert_int_equal(fedtrust_entity_category_count(e), 0);
	assert_null(fedtrust_entity_category(e, 0));

	/* X.509 partner: a ca key and the expected subject DN. */
	e = fedtrust_lookup(b, "partner-x.example", "x509", NOW, &err);
	assert_non_null(e);
	assert_true(fedtrust_key_has_purpose(fedtrust_entity_key(e, 0), "ca"));
	assert_string_equal(fedtrust_entity_names_kind(e), "subject_dn");
	assert_int_equal(fedtrust_entity_name_count(e), 1);
	assert_string_equal(fedtrust_entity_name(e, 0), DN);
	assert_null(fedtrust_entity_name(e, 1));
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", DN), 1);
	/* No DN normalisation: order, spacing and case matter. */
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn",
	    "CN=Partner Client, O=Partner Ltd, C=DE"), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn",
	    "C=DE,O=Partner Ltd,CN=Partner Client"), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn",
	    "cn=Partner Client,O=Partner Ltd,C=DE"), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", "CN=Partner Client"),
	    0);
	/* The kind must be the registered one. */
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "san_dns", DN), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, NULL, DN), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", NULL), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", ""), 0);
	assert_null(fedtrust_entity_ta(e));
	assert_int_equal(fedtrust_entity_path_count(e), 0);
	assert_null(fedtrust_entity_path(e, 0));
	assert_int_equal(fedtrust_entity_trust_mark_count(e), 0);
	assert_null(fedtrust_entity_trust_mark_type(e, 0));
	assert_int_equal(fedtrust_entity_has_trust_mark(e, TM_A, NOW), 0);

	/* The base x509 entity: a san_dns list. */
	e = fedtrust_lookup(b, "spiffe://partner.example", "x509", NOW, &err);
	assert_non_null(e);
	assert_string_equal(fedtrust_entity_names_kind(e), "san_dns");
	assert_int_equal(fedtrust_entity_name_count(e), 1);
	assert_string_equal(fedtrust_entity_name(e, 0), "client.partner.example");
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "san_dns",
	    "client.partner.example"), 1);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "san_dns",
	    "CLIENT.partner.example"), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "san_dns",
	    "client.partner.example."), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "san_uri",
	    "client.partner.example"), 0);
	assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn",
	    "client.partner.example"), 0);

	/* An empty expected name never matches (a certificate with an empty subject). */
	{
		struct fedtrust_bundle	*b2;
		char			*jws2 = bundle_with(e_names_empty, k_cur);

		b2 = expect_accept(jws2, NULL, NULL, "empty subject_dn");
		e = fedtrust_lookup(b2, "spiffe://partner.example", "x509", NOW, &err);
		assert_non_null(e);
		assert_int_equal(fedtrust_entity_name_count(e), 1);
		assert_string_equal(fedtrust_entity_name(e, 0), "");
		assert_int_equal(fedtrust_entity_matches_cert_name(e, "subject_dn", ""), 0);
		fedtrust_bundle_free(b2);
		free(jws2);
	}

	/* SAML entity categories, in bundle order. */
	e = fedtrust_lookup(b, "https://idp.example.org/idp", "saml2", NOW, &err);
	assert_non_null(e);
	assert_int_equal(fedtrust_entity_category_count(e), 2);
	assert_string_equal(fedtrust_entity_category(e, 0),
	    "http://refeds.org/category/research-and-scholarship");
	assert_string_equal(fedtrust_entity_category(e, 1), "https://refeds.org/sirtfi");
	assert_null(fedtrust_entity_category(e, 2));
	assert_null(fedtrust_entity_ta(e));
	assert_null(fedtrust_entity_names_kind(e));

	/* The oidf RP of the base bundle has none of the new members. */
	e = fedtrust_lookup(b, "https://rp.example.com", "oidf", NOW, &err);
	assert_non_null(e);
	assert_null(fedtrust_entity_ta(e));
	assert_int_equal(fedtrust_entity_path_count(e), 0);
	assert_int_equal(fedtrust_entity_trust_mark_count(e), 0);
	assert_int_equal(fedtrust_entity_category_count(e), 0);

	/* Every entity's marks are its own slice (no overlap between entities). */
	for (i = 0; i < fedtrust_bundle_entity_count(b); i++) {
		e = fedtrust_bundle_entity_at(b, i);
		if (strcmp(fedtrust_entity_id(e), "https://op.example.org") != 0)
			assert_int_equal(fedtrust_entity_trust_mark_count(e), 0);
	}
	fedtrust_bundle_free(b);
	free(jws);
	EVP_PKEY_free(xk);
	OPENSSL_free(xcert);
}

/* ------------------------------------------------------------ head, state */

static void
test_head(void **state)
{
	struct fedtrust_error	 err;
	struct fedtrust_head	 h, h2;
	struct fedtrust_state	 st;
	struct fedtrust_bundle	*b;
	char			*jws, *other, *hj;
	json_t			*hp;

	(void)state;
	jws = bundle_with(NULL, k_cur);
	other = bundle_with(e_ignored_key, k_cur);	/* same seq, other bytes */

	/* A bundle that is not the announced one. */
	hj = sign_json(head_payload(other, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err),
	    FEDTRUST_HEAD_NEWER);
	free(hj);
	h.blen = strlen(jws);
	expect_reject(jws, &h, NULL, FEDTRUST_E_BUNDLE, "bdig mismatch");
	/* seq, bexp and blen mismatches on a head with the right digest. */
	hj = sign_json(head_payload(jws, SEQ + 1, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err),
	    FEDTRUST_HEAD_NEWER);
	free(hj);
	expect_reject(jws, &h, NULL, FEDTRUST_E_BUNDLE, "head seq mismatch");
	hj = sign_json(head_payload(jws, SEQ, NOW + 86400), k_cur, TYP_H);
	assert_true(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err) >= 0);
	free(hj);
	expect_reject(jws, &h, NULL, FEDTRUST_E_BUNDLE, "head bexp mismatch");
	hp = head_payload(jws, SEQ, NOW + 86400 - 60);
	json_object_set_new(hp, "blen", json_integer((json_int_t)strlen(jws) - 1));
	hj = sign_json(hp, k_cur, TYP_H);
	assert_true(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err) >= 0);
	free(hj);
	expect_reject(jws, &h, NULL, FEDTRUST_E_TOO_LARGE, "longer than blen");
	h.blen = strlen(jws) + 1;
	expect_reject(jws, &h, NULL, FEDTRUST_E_BUNDLE, "shorter than blen");

	/* Head rules: lifetime, typ, iss, size, and the stored state. */
	hp = head_payload(jws, SEQ, NOW + 86400 - 60);
	json_object_set_new(hp, "exp", json_integer(NOW - 30 + 7201));
	hj = sign_json(hp, k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_LIFETIME);
	free(hj);
	hj = sign_json(head_payload(jws, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW + 3570, NULL, &h,
	    &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_EXPIRED);
	expect_reject(hj, NULL, NULL, FEDTRUST_E_JWS_TYP, "head as bundle");
	free(hj);
	{
		char	 big[9000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		hp = head_payload(jws, SEQ, NOW + 86400 - 60);
		json_object_set_new(hp, "pad", json_string(big));
		hj = sign_json(hp, k_cur, TYP_H);
		assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h,
		    &err), -1);
		assert_int_equal(err.code, FEDTRUST_E_TOO_LARGE);
		free(hj);
	}
	hp = head_payload(jws, SEQ, NOW + 86400 - 60);
	json_object_set_new(hp, "list", json_string("other"));
	hj = sign_json(hp, k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_CLAIMS);
	free(hj);

	hj = sign_json(head_payload(jws, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, NULL, &h, &err),
	    FEDTRUST_HEAD_NEWER);
	b = expect_accept(jws, &h, NULL, "announced bundle");
	fedtrust_bundle_state(b, &h, &st);
	fedtrust_bundle_free(b);
	free(hj);
	/* Equivocation: same seq, another bundle. */
	hj = sign_json(head_payload(other, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, &st, &h2, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_EQUIVOCATION);
	free(hj);
	/* Rollback: an older seq. */
	hj = sign_json(head_payload(jws, SEQ - 1, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, &st, &h2, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_ROLLBACK);
	free(hj);
	/* Rollback: a head older than the stored one. */
	st.head_iat = NOW;
	hj = sign_json(head_payload(jws, SEQ + 1, NOW + 86400 - 60), k_cur, TYP_H);
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, &st, &h2, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_ROLLBACK);
	st.head_iat = NOW - 30;
	assert_int_equal(fedtrust_head_verify(trust, hj, strlen(hj), NOW, &st, &h2, &err),
	    FEDTRUST_HEAD_NEWER);
	free(hj);
	free(jws);
	free(other);
}

static json_t *seq_prev;	/* prev and seq for e_seq */
static void
e_seq(json_t *p)
{
	json_object_update(p, seq_prev);
}

/* A bundle with seq and prev (NULL = none), iat shifted by diat. */
static char *
bundle_seq(uint64_t seq, const char *prev, int diat, EVP_PKEY *k)
{
	char	*s;

	seq_prev = json_pack("{s:I,s:I}", "seq", (json_int_t)seq, "iat",
	    (json_int_t)(NOW - 60 + diat));
	if (prev != NULL)
		json_object_set_new(seq_prev, "prev", json_string(prev));
	s = bundle_with(e_seq, k);
	json_decref(seq_prev);
	return s;
}

static void
test_state(void **state)
{
	struct fedtrust_state	 st;
	struct fedtrust_bundle	*b;
	char			*b1, *b2, *x, *dig1;

	(void)state;
	b1 = bundle_seq(SEQ, NULL, 0, k_cur);
	b = expect_accept(b1, NULL, NULL, "first bundle");
	fedtrust_bundle_state(b, NULL, &st);
	fedtrust_bundle_free(b);
	dig1 = sha256_b64url(b1, strlen(b1));
	assert_string_equal(st.bdig, dig1);
	assert_int_equal(st.head_iat, 0);

	/* The applied bundle itself again: nothing moves, accepted. */
	fedtrust_bundle_free(expect_accept(b1, NULL, &st, "same bundle again"));
	/* Rollback and equivocation. */
	x = bundle_seq(SEQ - 1, NULL, 0, k_cur);
	expect_reject(x, NULL, &st, FEDTRUST_E_ROLLBACK, "seq lower than stored");
	free(x);
	x = bundle_seq(SEQ, NULL, 1, k_cur);
	expect_reject(x, NULL, &st, FEDTRUST_E_EQUIVOCATION, "same seq, other bundle");
	free(x);
	/* iat floor. */
	x = bundle_seq(SEQ + 1, dig1, -1, k_cur);
	expect_reject(x, NULL, &st, FEDTRUST_E_ROLLBACK, "iat below the floor");
	free(x);
	/* Fork: seq + 1 whose prev is not the stored digest. */
	x = bundle_seq(SEQ + 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, k_cur);
	expect_reject(x, NULL, &st, FEDTRUST_E_FORK, "prev mismatch at seq + 1");
	free(x);
	/* Chained, without prev (after a reset), and a gap with any prev. */
	b2 = bundle_seq(SEQ + 1, dig1, 0, k_cur);
	fedtrust_bundle_free(expect_accept(b2, NULL, &st, "prev chains"));
	free(b2);
	x = bundle_seq(SEQ + 1, NULL, 0, k_cur);
	fedtrust_bundle_free(expect_accept(x, NULL, &st, "seq + 1 without prev"));
	free(x);
	x = bundle_seq(SEQ + 5, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, k_cur);
	fedtrust_bundle_free(expect_accept(x, NULL, &st, "gap of 5"));
	free(x);
	/* After a key reset: seq forgotten, the iat floor kept. */
	st.seq = 0;
	st.bdig[0] = '\0';
	x = bundle_seq(3, NULL, 0, k_cur);
	fedtrust_bundle_free(expect_accept(x, NULL, &st, "reset: lower seq, same iat"));
	free(x);
	x = bundle_seq(3, NULL, -1, k_cur);
	expect_reject(x, NULL, &st, FEDTRUST_E_ROLLBACK, "reset keeps the iat floor");
	free(x);

	/* Rollover: the pinned next key signs; an unpinned key does not. */
	x = bundle_seq(SEQ + 1, dig1, 0, k_next);
	fedtrust_bundle_free(expect_accept(x, NULL, NULL, "signed by the next key"));
	free(x);
	x = bundle_seq(SEQ + 1, dig1, 0, k_other);
	expect_reject(x, NULL, NULL, FEDTRUST_E_JWS_KID, "signed by an unpinned key");
	free(x);
	free(b1);
	fedtrustp_free(dig1);
}

/* ------------------------------------------------------------ allocation failure */

static long	 fail_at, alloc_count;

static void *
failing_malloc(size_t sz)
{
	if (++alloc_count == fail_at)
		return NULL;
	return malloc(sz);
}

static void
test_alloc_failure(void **state)
{
	struct fedtrust_error	 err;
	struct fedtrust_head	 h;
	struct fedtrust_trust	*t;
	struct fedtrust_bundle	*b = NULL;
	char			*jws, *hj, *pin;
	long			 n, survived = 0;
	int			 hrc;

	(void)state;
	jws = bundle_with(NULL, k_cur);
	hj = sign_json(head_payload(jws, SEQ, NOW + 86400 - 60), k_cur, TYP_H);
	pin = pin_json(k_cur);
	fedtrust_set_alloc_funcs(failing_malloc, free);
	for (n = 1; n < 100000; n++) {
		fail_at = n;
		alloc_count = 0;
		t = fedtrust_trust_new(ISS, LIST, &err);
		if (t == NULL) {
			assert_int_equal(err.code, FEDTRUST_E_NOMEM);
			continue;
		}
		if (fedtrust_trust_add_key_json(t, pin, strlen(pin), &err) == -1) {
			fedtrust_trust_free(t);
			continue;
		}
		hrc = fedtrust_head_verify(t, hj, strlen(hj), NOW, NULL, &h, &err);
		if (hrc == -1) {
			fedtrust_trust_free(t);
			continue;
		}
		b = fedtrust_bundle_verify(t, jws, strlen(jws), NOW, &h, NULL, &err);
		fedtrust_trust_free(t);
		if (b != NULL && alloc_count < fail_at)
			break;		/* no failure left to inject */
		if (b != NULL) {
			/* jansson's parser survives some failed allocations; fine. */
			survived++;
			assert_int_equal(fedtrust_bundle_entity_count(b), 4);
			fedtrust_bundle_free(b);
			b = NULL;
			continue;
		}
		assert_int_not_equal(err.code, FEDTRUST_OK);
	}
	fedtrust_set_alloc_funcs(NULL, NULL);
	assert_non_null(b);
	if (survived > 0)
		print_message("%ld failed allocations inside jansson were survived\n", survived);
	assert_int_equal(fedtrust_bundle_entity_count(b), 4);
	print_message("allocation failure: every one of %ld allocations failed in turn\n",
	    n - 1);
	fedtrust_bundle_free(b);
	free(pin);
	free(jws);
	free(hj);
}

/* ------------------------------------------------------------ timing (information) */

static int
dcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
seconds(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BIG_N		10000
#define BIG_KEYS	64

/*
 * A 10,000-entity compact bundle (no x5c, x5t#S256 kept) with a mix of
 * RSA-2048 and P-256 keys, like bundle-format.md 4.13.  Times verify+index
 * and lookups; also times `jose jws ver` on the same file when jose exists.
 */
static void
test_timing(void **state)
{
	struct fedtrust_error		 err;
	struct fedtrust_bundle		*b;
	EVP_PKEY			*keys[BIG_KEYS];
	json_t				*jwks[BIG_KEYS], *ents, *p, *e, *k, *ka;
	char				 id[64], *jws, *dir, *path, *kpath, *pin;
	char				**x5ts, **ids;
	unsigned char			 rnd[32];
	size_t				 i, j, nk = 0, nx = 0;
	double				 t0, t1, tv, tl[5], tj = -1;
	FILE				*f;
	int				 r;

	(void)state;
	for (i = 0; i < BIG_KEYS; i++) {
		keys[i] = i % 8 == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
		    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_non_null(keys[i]);
		jwks[i] = key_jwk(keys[i], "saml-sig", "saml_md");
	}
	x5ts = calloc(BIG_N * 3, sizeof(*x5ts));
	ents = json_array();
	for (i = 0; i < BIG_N; i++) {
		snprintf(id, sizeof(id), "https://sp%06zu.example.org/shibboleth", i);
		ka = json_array();
		for (j = 0; j < 1 + (size_t)(i % 4 == 0) + (size_t)(i % 20 == 0); j++) {
			/* 60 % RSA like SAML, the rest EC. */
			k = json_deep_copy(jwks[(i * 3 + j) % 10 < 6 ? ((i + j) % 8) * 8 :
			    1 + (i + j) % 7 + ((i + j) % 8) * 8]);
			if (i % 10 < 7) {
				RAND_bytes(rnd, sizeof(rnd));
				x5ts[nx] = b64url(rnd, sizeof(rnd));
				json_object_set_new(k, "x5t#S256", json_string(x5ts[nx]));
				nx++;
			}
			json_array_append_new(ka, k);
			nk++;
		}
		e = json_pack("{s:s,s:s,s:[s],s:s,s:I,s:o}", "id", id, "proto", "saml2",
		    "roles", "sp", "src", "edugain", "valid_until", (json_int_t)(NOW + 7 * 86400),
		    "keys", ka);
		json_array_append_new(ents, e);
	}
	p = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:i,s:{s:{s:s,s:I,s:s}},s:o}",
	    "iss", ISS, "ver", 1, "list", LIST, "iat", (json_int_t)(NOW - 60),
	    "exp", (json_int_t)(NOW + 86400 - 60), "seq", (json_int_t)SEQ, "refresh", 300,
	    "sources", "edugain", "type", "saml2", "fetched", (json_int_t)(NOW - 100),
	    "status", "ok", "entities", ents);
	jws = sign_json(p, k_cur, TYP_B);

	t0 = seconds();
	b = fedtrust_bundle_verify(trust, jws, strlen(jws), NOW, NULL, NULL, &err);
	tv = seconds() - t0;
	if (b == NULL)
		fail_msg("big bundle: %s", err.text);
	assert_int_equal(fedtrust_bundle_entity_count(b), BIG_N);

	/* Median of 5 rounds of 100,000 lookups each, by id and by x5t. */
	ids = calloc(BIG_N, sizeof(*ids));
	for (i = 0; i < BIG_N; i++)
		assert_true(asprintf(&ids[i], "https://sp%06zu.example.org/shibboleth",
		    i) > 0);
	for (r = 0; r < 5; r++) {
		t0 = seconds();
		for (i = 0; i < 100000; i++)
			if (fedtrust_lookup(b, ids[(i * 7919) % BIG_N], "saml2", NOW, &err) == NULL)
				fail_msg("lookup: %s", err.text);
		tl[r] = (seconds() - t0) / 100000;
	}
	for (i = 0; i < BIG_N; i++)
		free(ids[i]);
	free(ids);
	qsort(tl, 5, sizeof(double), dcmp);
	t1 = tl[2];
	for (r = 0; r < 5; r++) {
		t0 = seconds();
		for (i = 0; i < 100000; i++)
			if (fedtrust_lookup_x5t(b, x5ts[(i * 7919) % nx], NOW, NULL, &err) == NULL)
				fail_msg("x5t lookup: %s", err.text);
		tl[r] = (seconds() - t0) / 100000;
	}
	qsort(tl, 5, sizeof(double), dcmp);

	/* The same file through jose, for comparison. */
	dir = tu_tmpdir("bundle-timing");
	assert_true(asprintf(&path, "%s/bundle.jwt", dir) > 0);
	assert_true(asprintf(&kpath, "%s/key.jwk", dir) > 0);
	f = fopen(path, "w");
	fputs(jws, f);
	fclose(f);
	f = fopen(kpath, "w");
	pin = pin_json(k_cur);
	fputs(pin, f);
	fclose(f);
	if (tu_sh("command -v jose >/dev/null 2>&1") == 0) {
		t0 = seconds();
		if (tu_sh("jose jws ver -i '%s' -k '%s' >/dev/null", path, kpath) == 0)
			tj = seconds() - t0;
	}
	print_message("timing: %d entities, %zu keys, %zu bytes JWS: verify+index %.3f s; "
	    "jose jws ver %.3f s%s; lookup by id median %.0f ns, by x5t median %.0f ns\n",
	    BIG_N, nk, strlen(jws), tv, tj, tj < 0 ? " (jose not available)" : "",
	    t1 * 1e9, tl[2] * 1e9);
	/* FEDTRUST_BENCH_KEEP=1 keeps bundle.jwt and key.jwk for profiling. */
	if (getenv("FEDTRUST_BENCH_KEEP") != NULL)
		print_message("kept %s\n", dir);
	else
		tu_sh("rm -rf '%s'", dir);
	free(dir);
	free(path);
	free(kpath);
	free(pin);
	fedtrust_bundle_free(b);
	free(jws);
	for (i = 0; i < nx; i++)
		fedtrustp_free(x5ts[i]);
	free(x5ts);
	for (i = 0; i < BIG_KEYS; i++) {
		EVP_PKEY_free(keys[i]);
		json_decref(jwks[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_jws_header),
		cmocka_unit_test(test_jws_encoding),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_claims_structure),
		cmocka_unit_test(test_entity_members),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_timing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
