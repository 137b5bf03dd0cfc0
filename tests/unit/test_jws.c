/*
 * libfedtrust JWS/JWK layer: round trips for the four algorithms, every
 * JWS case of security-rules.md section 6 that applies to a compact JWS
 * with pinned keys (each with its exact error code), strict base64url and
 * JSON, RFC 7638 thumbprints, the published RFC vectors of the shared
 * corpus, and failing every allocation in turn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/private.h"
#include "testutil.h"

#define TYP	"vnd.fedtrust.bundle+jwt"
#define CAP	(64 * 1024)
#define PAYLOAD	"{\"iss\":\"https://trust.example.net\",\"seq\":7}"

static const int all_algs[] = {
	FEDTRUSTP_ALG_ES256, FEDTRUSTP_ALG_ES384, FEDTRUSTP_ALG_ED25519, FEDTRUSTP_ALG_PS256,
};

/* ------------------------------------------------------------ helpers */

/* A fresh key for alg (RS256 and PS256: RSA 2048 to keep the suite fast). */
static EVP_PKEY *
gen(int alg)
{
	EVP_PKEY	*k = NULL;

	switch (alg) {
	case FEDTRUSTP_ALG_ES256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case FEDTRUSTP_ALG_ES384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case FEDTRUSTP_ALG_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	}
	assert_non_null(k);
	return k;
}

/* The RSA 2048 key is made once: keygen is the slow part of this suite. */
static EVP_PKEY *
rsa_key(void)
{
	static EVP_PKEY	*k;

	if (k == NULL)
		k = gen(FEDTRUSTP_ALG_PS256);
	EVP_PKEY_up_ref(k);
	return k;
}

static struct fedtrustp_keyset *
pinset(EVP_PKEY *k, int alg)
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*set;

	assert_non_null(set = fedtrustp_keyset_new(&err));
	if (k != NULL)
		assert_int_equal(fedtrustp_keyset_add_pkey(set, k, alg, &err), 0);
	return set;
}

static char *
b64(const void *p, size_t len)
{
	char	*s = fedtrustp_b64url_encode(p, len, NULL);

	assert_non_null(s);
	return s;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	char	*s;

	assert_true(asprintf(&s, "%s.%s.%s", a, b, c) > 0);
	return s;
}

static char *
jkt_of(EVP_PKEY *k)
{
	static char		 jkt[FEDTRUSTP_JKT_LEN + 1];
	struct fedtrust_error	 err;

	assert_int_equal(fedtrustp_pkey_thumbprint(k, jkt, &err), 0);
	return jkt;
}

/*
 * Sign input with OpenSSL directly (not through fedtrustp_jws_sign), in
 * JWS form: R||S for ECDSA, PSS salt 32 for PS256, PKCS#1 v1.5 for RS256.
 * der = 1 keeps OpenSSL's DER ECDSA signature.  Caller frees.
 */
static unsigned char *
raw_sign(EVP_PKEY *k, int alg, const char *input, size_t *siglen, int der)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	unsigned char	*sig, *rs;
	const unsigned char *p;
	const char	*md = alg == FEDTRUSTP_ALG_ES384 ? "SHA384" :
	    alg == FEDTRUSTP_ALG_ED25519 ? NULL : "SHA256";
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	size_t		 flen;

	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, k, NULL), 1);
	if (alg == FEDTRUSTP_ALG_PS256) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
	}
	assert_int_equal(EVP_DigestSign(ctx, NULL, siglen, (const unsigned char *)input,
	    strlen(input)), 1);
	assert_non_null(sig = malloc(*siglen));
	assert_int_equal(EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (der || (alg != FEDTRUSTP_ALG_ES256 && alg != FEDTRUSTP_ALG_ES384))
		return sig;
	flen = alg == FEDTRUSTP_ALG_ES256 ? 32 : 48;
	p = sig;
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)*siglen));
	ECDSA_SIG_get0(es, &r, &s);
	assert_non_null(rs = malloc(2 * flen));
	assert_int_equal(BN_bn2binpad(r, rs, (int)flen), (int)flen);
	assert_int_equal(BN_bn2binpad(s, rs + flen, (int)flen), (int)flen);
	ECDSA_SIG_free(es);
	free(sig);
	*siglen = 2 * flen;
	return rs;
}

/* A compact JWS with the given header JSON, signed by k for alg (caller frees). */
static char *
forge(EVP_PKEY *k, int alg, const char *hdr, const char *payload)
{
	char		*h, *p, *in, *s, *tok;
	unsigned char	*sig;
	size_t		 siglen;

	h = b64(hdr, strlen(hdr));
	p = b64(payload, strlen(payload));
	assert_true(asprintf(&in, "%s.%s", h, p) > 0);
	sig = raw_sign(k, alg, in, &siglen, 0);
	s = b64(sig, siglen);
	tok = cat3(h, p, s);
	free(sig);
	free(in);
	fedtrustp_free(h);
	fedtrustp_free(p);
	fedtrustp_free(s);
	return tok;
}

/* A header {"alg":A,"kid":K,"typ":T} with extra members appended (caller frees). */
static char *
hdr3(const char *alg, const char *kid, const char *typ, const char *extra)
{
	char	*h;

	assert_true(asprintf(&h, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"%s%s}", alg,
	    kid, typ, extra != NULL ? "," : "", extra != NULL ? extra : "") > 0);
	return h;
}

/* Text of the last failure seen by vcode_len (which check fired). */
static char	last_err[FEDTRUST_ERROR_TEXT_LENGTH];

/* Verify tok against set; the error code (FEDTRUST_OK when valid). */
static int
vcode_len(const char *tok, size_t len, const struct fedtrustp_keyset *set, const char *typ,
    size_t cap)
{
	struct fedtrust_error	 err;
	unsigned char		*pl = (unsigned char *)"x";
	size_t			 plsz = 1;

	memset(&err, 0, sizeof(err));
	if (fedtrustp_jws_verify(tok, len, set, typ, cap, &pl, &plsz, &err) == 0) {
		assert_non_null(pl);
		fedtrustp_free(pl);
		return FEDTRUST_OK;
	}
	assert_null(pl);
	assert_int_equal(plsz, 0);
	assert_int_not_equal(err.code, FEDTRUST_OK);
	assert_true(strlen(err.text) > 0);
	memcpy(last_err, err.text, sizeof(last_err));
	return err.code;
}

static int
vcode(const char *tok, const struct fedtrustp_keyset *set)
{
	return vcode_len(tok, strlen(tok), set, TYP, CAP);
}

/* forge + verify with the given header, freeing everything; the error code. */
static int
forged_code(EVP_PKEY *k, int alg, const char *hdr, const struct fedtrustp_keyset *set)
{
	char	*tok = forge(k, alg, hdr, PAYLOAD);
	int	 code = vcode(tok, set);

	free(tok);
	return code;
}

/* Write s to dir/name; returns the path (caller frees). */
static char *
write_tmp(const char *dir, const char *name, const char *s)
{
	char	*path;
	FILE	*f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Order n of P-256, big-endian 32 bytes. */
static void
p256_order(unsigned char n[32])
{
	EC_GROUP	*g;

	assert_non_null(g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
	assert_int_equal(BN_bn2binpad(EC_GROUP_get0_order(g), n, 32), 32);
	EC_GROUP_free(g);
}

/* ------------------------------------------------------------ round trips */

static void
test_error_names(void **state)
{
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_OK), "ok");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_NOMEM), "nomem");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_ARG), "invalid-argument");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_JSON), "json-invalid");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_JWS_HEADER), "jws-header-forbidden");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_JWS_ALG), "jws-alg-forbidden");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_LIFETIME), "lifetime-too-long");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_NOT_FOUND), "not-found");
	assert_string_equal(fedtrust_error_code_name(FEDTRUST_E_MAX), "unknown");
	assert_string_equal(fedtrust_error_code_name(-1), "unknown");
	assert_string_equal(fedtrust_version(), "0.1.0");
}

/* Sign and verify with each of the four algs; kid = thumbprint; header exact. */
static void
test_roundtrip(void **state)
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*set, *other;
	EVP_PKEY		*k, *k2;
	unsigned char		*pl, *hdr;
	size_t			 i, plsz, hlen;
	char			*tok, *want;
	const char		*dot;

	for (i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++) {
		int alg = all_algs[i];

		k = alg == FEDTRUSTP_ALG_PS256 ? rsa_key() : gen(alg);
		set = pinset(k, alg);
		tok = fedtrustp_jws_sign((const unsigned char *)PAYLOAD, strlen(PAYLOAD), k, alg,
		    TYP, &err);
		assert_non_null(tok);
		assert_int_equal(fedtrustp_jws_verify(tok, strlen(tok), set, TYP, CAP, &pl,
		    &plsz, &err), 0);
		assert_int_equal(plsz, strlen(PAYLOAD));
		assert_memory_equal(pl, PAYLOAD, plsz);
		fedtrustp_free(pl);

		/* The header is exactly alg, kid (the thumbprint), typ, sorted. */
		dot = strchr(tok, '.');
		assert_int_equal(fedtrustp_b64url_decode(tok, (size_t)(dot - tok), &hdr, &hlen,
		    &err), 0);
		want = hdr3(fedtrustp_alg_name(alg), jkt_of(k), TYP, NULL);
		assert_string_equal((char *)hdr, want);
		assert_string_equal(set->pins[0].jkt, jkt_of(k));
		free(want);
		fedtrustp_free(hdr);

		/* The right alg, another key: kid unknown. */
		k2 = gen(alg);
		other = pinset(k2, alg);
		assert_int_equal(vcode(tok, other), FEDTRUST_E_JWS_KID);

		/* The right key, pinned for another alg (forced: no key fits two). */
		set->pins[0].alg = alg == FEDTRUSTP_ALG_ES256 ? FEDTRUSTP_ALG_ES384 :
		    FEDTRUSTP_ALG_ES256;
		assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_ALG);
		set->pins[0].alg = alg;
		assert_int_equal(vcode(tok, set), FEDTRUST_OK);

		/* A flipped payload byte breaks the signature. */
		tok[strlen(strchr(tok, '.')) > 3 ? (size_t)(dot - tok) + 2 : 0] ^= 1;
		assert_int_not_equal(vcode(tok, set), FEDTRUST_OK);

		free(tok);
		fedtrustp_keyset_free(other);
		fedtrustp_keyset_free(set);
		EVP_PKEY_free(k2);
		EVP_PKEY_free(k);
	}
	/* Signing refuses RS256, none and a key that does not fit. */
	k = gen(FEDTRUSTP_ALG_ES256);
	assert_null(fedtrustp_jws_sign((const unsigned char *)"{}", 2, k, FEDTRUSTP_ALG_RS256,
	    TYP, &err));
	assert_int_equal(err.code, FEDTRUST_E_ARG);
	assert_null(fedtrustp_jws_sign((const unsigned char *)"{}", 2, k, FEDTRUSTP_ALG_ES384,
	    TYP, &err));
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_null(fedtrustp_jws_sign((const unsigned char *)"{}", 2, k, FEDTRUSTP_ALG_ES256,
	    "a\"b", &err));
	assert_int_equal(err.code, FEDTRUST_E_ARG);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ thumbprints and keys */

static void
test_thumbprints(void **state)
{
	/* RFC 7638 section 3.1 (the key of RFC 7517 A.1) and RFC 8037 A.3. */
	static const char *rfc7638 = "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	static const char *rfc8037 = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
	/* bundle-format.md 4.14: real P-256 keys with their real jkt. */
	static const char *const ex[][3] = {
		{ "lj7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA", "B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU", "BvK5h6ZoueEqFMqEdaegjto0LLazj4yswp6bouCPDF8" },
		{ "gWY4UNd0eOmtuSERIb9r2unM0s22mWT485iCTvH1i5E", "RhCmKU_AMLjQEHcus22cIqOeWokX7fV5Od-l7BOdag0", "jGcC0tFo4W_yr45TapAgjJPsfq7ZLkTGg9Wcn3WrlfI" },
		{ "RJE_EZLwvML5642UVIUzqhazShtClOc931TPBJn-7PU", "SJgybeXpMO_jMVthNSZCyTWUqRzSaCZVMXtxa5n6cUA", "wd0POkhmppeT_VZY39l-CjlohlZph5D0NGqlx7zRx5s" },
		{ "Bmmy8S7nx6a23PVaVNBnivtX7xQJY7RRyN237CvCzeo", "PUc3kgLTqV5kUZ_e0fMloSfseHIeZIRTd4Q0RGTNK9Q", "MdL5pWe1Jd2xfcKUCD5ueDjEu-zwBv6Z3B9J8bGz7PU" },
		{ "A8DugthvKMHfuJ6xb5ASgWGJgq0ZHk4tJpmgoSCQXys", "X1rkwljUJaBe1TsgYnCuXqe3CtOFLavDi_u_isIZOdM", "vatAcxtSnAnSrs7EN67LbpwJ0LQ8pgmhFhAriWSIkiM" },
	};
	struct fedtrust_error	 err;
	char			 jkt[FEDTRUSTP_JKT_LEN + 1];
	EVP_PKEY		*k;
	json_t			*j;
	size_t			 i;

	assert_non_null(j = json_loads(rfc7638, 0, NULL));
	assert_int_equal(fedtrustp_jwk_thumbprint(j, jkt, &err), 0);
	assert_string_equal(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_int_equal(fedtrustp_jwk_to_pkey(j, &k, &err), 0);
	assert_int_equal(fedtrustp_pkey_thumbprint(k, jkt, &err), 0);
	assert_string_equal(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY_free(k);
	json_decref(j);

	assert_non_null(j = json_loads(rfc8037, 0, NULL));
	assert_int_equal(fedtrustp_jwk_thumbprint(j, jkt, &err), 0);
	assert_string_equal(jkt, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_int_equal(fedtrustp_jwk_to_pkey(j, &k, &err), 0);
	assert_int_equal(fedtrustp_pkey_thumbprint(k, jkt, &err), 0);
	assert_string_equal(jkt, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	EVP_PKEY_free(k);
	json_decref(j);

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		/* Extra members (as in a bundle key) do not enter the thumbprint. */
		assert_non_null(j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s]}", "kty", "EC",
		    "crv", "P-256", "x", ex[i][0], "y", ex[i][1], "prov", "chain",
		    "purposes", "jwt"));
		assert_int_equal(fedtrustp_jwk_thumbprint(j, jkt, &err), 0);
		assert_string_equal(jkt, ex[i][2]);
		assert_int_equal(fedtrustp_jwk_to_pkey(j, &k, &err), 0);
		assert_int_equal(fedtrustp_pkey_thumbprint(k, jkt, &err), 0);
		assert_string_equal(jkt, ex[i][2]);
		EVP_PKEY_free(k);
		json_decref(j);
	}
}

/* JWK import rules: private members, kty oct, curves, sizes, point on curve. */
static void
test_jwk_rules(void **state)
{
	static const char *const bad[] = {
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lj7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA\",\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU\",\"d\":\"AAAA\"}",
		"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"p\":\"AQAB\"}",
		"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
		"{\"kty\":\"oct\"}",
		"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
		"{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"lj7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA\",\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU\"}",
		/* y off by one: not on the curve */
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lj7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA\",\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWY\"}",
		/* short coordinate */
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA\",\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU\"}",
		/* padded base64 */
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lj7VyH_2Qu4UTuCSZsH4PSv2GUUiRuqIyrt6LYc-7QA=\",\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU\"}",
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1,\"y\":\"B4C941dM3HpUCQfD0_w6TemWIz-46uthkqxh9liZVWU\"}",
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}",
		"{\"crv\":\"P-256\"}",
		"[]",
	};
	struct fedtrust_error	 err;
	EVP_PKEY		*k, *k2;
	json_t			*j;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(j = json_loads(bad[i], 0, NULL));
		k = (EVP_PKEY *)1;
		if (fedtrustp_jwk_to_pkey(j, &k, &err) != -1)
			fail_msg("accepted JWK %zu: %s", i, bad[i]);
		assert_int_equal(err.code, FEDTRUST_E_KEY);
		assert_null(k);
		json_decref(j);
	}
	/* pkey -> JWK -> pkey for every type, fixed-length EC coordinates. */
	for (i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++) {
		k = all_algs[i] == FEDTRUSTP_ALG_PS256 ? rsa_key() : gen(all_algs[i]);
		assert_non_null(j = fedtrustp_pkey_to_jwk(k, &err));
		assert_null(json_object_get(j, "d"));
		if (all_algs[i] == FEDTRUSTP_ALG_ES384)
			assert_int_equal(strlen(json_string_value(json_object_get(j, "x"))), 64);
		assert_int_equal(fedtrustp_jwk_to_pkey(j, &k2, &err), 0);
		assert_int_equal(EVP_PKEY_eq(k, k2), 1);
		EVP_PKEY_free(k2);
		json_decref(j);
		EVP_PKEY_free(k);
	}
}

/* ------------------------------------------------------------ JWS-01, 02 */

static void
test_jws01_none(void **state)
{
	static const char *const names[] = { "none", "None", "NONE", "nOnE" };
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	char			*h, *hb, *pb, *tok, *valid;
	size_t			 i;

	pb = b64(PAYLOAD, strlen(PAYLOAD));
	for (i = 0; i < 4; i++) {
		/* alg alone, and alg with a valid kid and typ */
		assert_true(asprintf(&h, "{\"alg\":\"%s\"}", names[i]) > 0);
		hb = b64(h, strlen(h));
		tok = cat3(hb, pb, "");
		assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_MALFORMED);	/* empty sig segment */
		free(tok);
		tok = cat3(hb, pb, "AAAA");
		assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_ALG);
		free(tok);
		fedtrustp_free(hb);
		free(h);

		h = hdr3(names[i], jkt_of(k), TYP, NULL);
		hb = b64(h, strlen(h));
		tok = cat3(hb, pb, "");
		assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_MALFORMED);
		free(tok);
		/* non-empty third segment: a real ES256 signature over the input */
		free(h);
		h = hdr3(names[i], jkt_of(k), TYP, NULL);
		assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_ALG);
		fedtrustp_free(hb);
		free(h);
	}
	/* Control: the same construction with ES256 verifies. */
	h = hdr3("ES256", jkt_of(k), TYP, NULL);
	valid = forge(k, FEDTRUSTP_ALG_ES256, h, PAYLOAD);
	assert_int_equal(vcode(valid, set), FEDTRUST_OK);
	free(valid);
	free(h);
	fedtrustp_free(pb);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* HS256 with the pinned RSA public key as the secret, in four spellings. */
static void
test_jws02_hmac_confusion(void **state)
{
	EVP_PKEY		*k = rsa_key();
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_PS256);
	struct fedtrust_error	 err;
	unsigned char		*secret[4], mac[32], *der = NULL;
	size_t			 seclen[4], maclen, i;
	BIO			*bio;
	BIGNUM			*n = NULL;
	char			*pem, *h, *hb, *pb, *in, *mb, *tok, *jwks;
	json_t			*jwk;
	long			 len;

	/* PEM text, DER, JWK JSON, raw modulus */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
	len = BIO_get_mem_data(bio, &pem);
	secret[0] = (unsigned char *)pem;
	seclen[0] = (size_t)len;
	assert_true((len = i2d_PUBKEY(k, &der)) > 0);
	secret[1] = der;
	seclen[1] = (size_t)len;
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(k, &err));
	assert_non_null(jwks = fedtrustp_json_dump_canonical(jwk, &err));
	secret[2] = (unsigned char *)jwks;
	seclen[2] = strlen(jwks);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_non_null(secret[3] = malloc((size_t)BN_num_bytes(n)));
	seclen[3] = (size_t)BN_bn2bin(n, secret[3]);

	h = hdr3("HS256", jkt_of(k), TYP, NULL);
	hb = b64(h, strlen(h));
	pb = b64(PAYLOAD, strlen(PAYLOAD));
	assert_true(asprintf(&in, "%s.%s", hb, pb) > 0);
	for (i = 0; i < 4; i++) {
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret[i],
		    seclen[i], (unsigned char *)in, strlen(in), mac, sizeof(mac), &maclen));
		mb = b64(mac, maclen);
		tok = cat3(hb, pb, mb);
		assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_ALG);
		free(tok);
		fedtrustp_free(mb);
	}
	/* A pinned RSA JWK without alg is refused at load time. */
	assert_int_equal(fedtrustp_keyset_add_jwk(set, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_non_null(strstr(err.text, "alg"));
	/* HS256 cannot be pinned at all. */
	json_object_set_new(jwk, "alg", json_string("HS256"));
	assert_int_equal(fedtrustp_keyset_add_jwk(set, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);

	free(in);
	fedtrustp_free(pb);
	fedtrustp_free(hb);
	free(h);
	free(secret[3]);
	BN_free(n);
	fedtrustp_free(jwks);
	json_decref(jwk);
	OPENSSL_free(der);
	BIO_free(bio);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ JWS-03, 04, 05 */

static void
test_jws03_kid(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256), *k2 = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	struct fedtrust_error	 err;
	char			*h, *big;

	assert_int_equal(fedtrustp_keyset_add_pkey(set, k2, FEDTRUSTP_ALG_ES256, &err), 0);
	/* unknown (the thumbprint of an unpinned key), missing with two pins */
	h = hdr3("ES256", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", TYP, NULL);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"typ\":\"%s\"}", TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	/* path traversal */
	h = hdr3("ES256", "../../../../etc/passwd", TYP, NULL);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	/* a valid kid with a NUL appended: jansson refuses \u0000 -> JSON error */
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\\u0000\",\"typ\":\"%s\"}",
	    jkt_of(k), TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	/* 10 kB */
	assert_non_null(big = malloc(10241));
	memset(big, 'A', 10240);
	big[10240] = '\0';
	h = hdr3("ES256", big, TYP, NULL);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	free(big);
	/* not a string */
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":42,\"typ\":\"%s\"}", TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":[\"%s\"],\"typ\":\"%s\"}",
	    jkt_of(k), TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_KID);
	free(h);
	/* the second pin's kid but the first pin's signature */
	h = hdr3("ES256", jkt_of(k2), TYP, NULL);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_SIG);
	assert_int_equal(forged_code(k2, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_OK);
	free(h);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

static void
test_jws04_header_keys(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256), *atk = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	struct fedtrust_error	 err;
	json_t			*jwk;
	char			*js, *extra, *h;
	size_t			 i;
	static const char *const extras[] = {
		"\"jku\":\"http://127.0.0.1:9/canary.jwks\"",
		"\"x5u\":\"http://127.0.0.1:9/canary.pem\"",
		"\"x5c\":[\"MIIBMDCB16ADAgECAgkA3aFJTHPPJW0wCgYIKoZIzj0EAwIw\"]",
		"\"x5t\":\"7J57qice0mbFdfm0lUM2n86E6IQ\"",
		"\"x5t#S256\":\"7J57qice0mbFdfm0lUM2n86E6IQHi9kRldd4mo4Zoco\"",
		"\"cty\":\"JWT\"",
		"\"zip\":\"DEF\"",
	};

	/* a valid signature by the attacker key carried in "jwk", kid of the attacker */
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(atk, &err));
	assert_non_null(js = fedtrustp_json_dump_canonical(jwk, &err));
	assert_true(asprintf(&extra, "\"jwk\":%s", js) > 0);
	h = hdr3("ES256", jkt_of(atk), TYP, extra);
	assert_int_equal(forged_code(atk, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_HEADER);
	free(h);
	/* ... and with the pinned kid (signature by the attacker) */
	h = hdr3("ES256", jkt_of(k), TYP, extra);
	assert_int_equal(forged_code(atk, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_HEADER);
	free(h);
	free(extra);
	fedtrustp_free(js);
	json_decref(jwk);
	/* URLs, chains and thumbprints, all signed by the pinned key itself */
	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		h = hdr3("ES256", jkt_of(k), TYP, extras[i]);
		assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set),
		    FEDTRUST_E_JWS_HEADER);
		free(h);
	}
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(atk);
	EVP_PKEY_free(k);
}

static void
test_jws05_crit(void **state)
{
	static const char *const extras[] = {
		"\"crit\":[\"x-unknown\"],\"x-unknown\":1",
		"\"crit\":[]",
		"\"crit\":[\"alg\"]",
		"\"crit\":[\"exp\"]",
		"\"b64\":false,\"crit\":[\"b64\"]",
		"\"b64\":false",
	};
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	char			*h;
	size_t			 i;

	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		h = hdr3("ES256", jkt_of(k), TYP, extras[i]);
		assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set),
		    FEDTRUST_E_JWS_HEADER);
		free(h);
	}
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ JWS-06 */

/* Token h.p with the given raw signature bytes. */
static int
sig_code(const char *hp, const unsigned char *sig, size_t siglen,
    const struct fedtrustp_keyset *set)
{
	char	*s, *tok;
	int	 code;

	s = b64(sig, siglen);
	assert_true(asprintf(&tok, "%s.%s", hp, s) > 0);
	code = vcode(tok, set);
	free(tok);
	fedtrustp_free(s);
	return code;
}

static void
test_jws06_ecdsa(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	unsigned char		 n[32], sig[65], hs[64], *rs, *der;
	char			*h, *hb, *pb, *hp;
	size_t			 siglen, derlen, i;
	int			 borrow, d;

	p256_order(n);
	h = hdr3("ES256", jkt_of(k), TYP, NULL);
	hb = b64(h, strlen(h));
	pb = b64(PAYLOAD, strlen(PAYLOAD));
	assert_true(asprintf(&hp, "%s.%s", hb, pb) > 0);
	rs = raw_sign(k, FEDTRUSTP_ALG_ES256, hp, &siglen, 0);
	assert_int_equal(siglen, 64);
	assert_int_equal(sig_code(hp, rs, 64, set), FEDTRUST_OK);

	/* r = s = 0 */
	memset(sig, 0, sizeof(sig));
	assert_int_equal(sig_code(hp, sig, 64, set), FEDTRUST_E_JWS_SIG);
	assert_non_null(strstr(last_err, "outside [1, n-1]"));	/* refused before OpenSSL */
	/* r = n, s valid; r valid, s = n; r = 0 */
	memcpy(sig, n, 32);
	memcpy(sig + 32, rs + 32, 32);
	assert_int_equal(sig_code(hp, sig, 64, set), FEDTRUST_E_JWS_SIG);
	assert_non_null(strstr(last_err, "outside [1, n-1]"));
	memcpy(sig, rs, 32);
	memcpy(sig + 32, n, 32);
	assert_int_equal(sig_code(hp, sig, 64, set), FEDTRUST_E_JWS_SIG);
	assert_non_null(strstr(last_err, "outside [1, n-1]"));
	memset(sig, 0, 32);
	memcpy(sig + 32, rs + 32, 32);
	assert_int_equal(sig_code(hp, sig, 64, set), FEDTRUST_E_JWS_SIG);
	/* 63 and 65 bytes */
	assert_int_equal(sig_code(hp, rs, 63, set), FEDTRUST_E_JWS_SIG);
	assert_non_null(strstr(last_err, "not 64"));
	memcpy(sig, rs, 64);
	sig[64] = 0;
	assert_int_equal(sig_code(hp, sig, 65, set), FEDTRUST_E_JWS_SIG);
	/* DER-encoded signature of the same input */
	der = raw_sign(k, FEDTRUSTP_ALG_ES256, hp, &derlen, 1);
	assert_int_equal(sig_code(hp, der, derlen, set), FEDTRUST_E_JWS_SIG);
	assert_non_null(strstr(last_err, "not 64"));
	free(der);

	/* High-S: s' = n - s is equally valid and must verify unchanged. */
	memcpy(hs, rs, 32);
	borrow = 0;
	for (i = 32; i-- > 0;) {
		d = (int)n[i] - (int)rs[32 + i] - borrow;
		borrow = d < 0;
		hs[32 + i] = (unsigned char)(d + (borrow ? 256 : 0));
	}
	assert_memory_not_equal(hs + 32, rs + 32, 32);
	assert_int_equal(sig_code(hp, hs, 64, set), FEDTRUST_OK);
	/* and a flipped bit in s does not */
	hs[63] ^= 1;
	assert_int_equal(sig_code(hp, hs, 64, set), FEDTRUST_E_JWS_SIG);

	free(rs);
	free(hp);
	fedtrustp_free(pb);
	fedtrustp_free(hb);
	free(h);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ JWS-07 */

static void
test_b64url(void **state)
{
	static const char *const bad[] = { "Q", "QR", "QUJ", "QQ==", "QQ=", "Q+Q", "Q/Q",
	    "Q Q", "QQ\n", "QU I", "\xc3\xa9", "QUJD\r" };
	struct fedtrust_error	 err;
	unsigned char		*out, all[256];
	size_t			 len, i;
	char			*s;

	assert_int_equal(fedtrustp_b64url_decode("QQ", 2, &out, &len, &err), 0);
	assert_int_equal(len, 1);
	assert_int_equal(out[0], 'A');
	fedtrustp_free(out);
	assert_int_equal(fedtrustp_b64url_decode("QUI", 3, &out, &len, &err), 0);
	assert_string_equal((char *)out, "AB");
	fedtrustp_free(out);
	assert_int_equal(fedtrustp_b64url_decode("", 0, &out, &len, &err), 0);
	assert_int_equal(len, 0);
	fedtrustp_free(out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fedtrustp_b64url_decode(bad[i], strlen(bad[i]), &out, &len, &err) != -1)
			fail_msg("accepted base64url %zu", i);
		assert_int_equal(err.code, FEDTRUST_E_JWS_MALFORMED);
		assert_null(out);
	}
	/* Round trip of every length 0..255 with every byte value. */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(255 - i);
	for (i = 0; i <= sizeof(all); i++) {
		s = b64(all, i);
		assert_null(strpbrk(s, "+/="));
		assert_int_equal(fedtrustp_b64url_decode(s, strlen(s), &out, &len, &err), 0);
		assert_int_equal(len, i);
		if (i > 0)
			assert_memory_equal(out, all, i);
		fedtrustp_free(out);
		fedtrustp_free(s);
	}
}

/* Replace the first occurrence of c in segment seg (0..2) of tok; returns a copy. */
static char *
mutate(const char *tok, const char *insert_at_end_of_seg, int seg)
{
	const char	*p = tok;
	char		*out;
	int		 i;
	size_t		 off;

	for (i = 0; i <= seg; i++) {
		p = strchr(p, '.');
		if (p == NULL) {
			p = tok + strlen(tok);
			break;
		}
		if (i < seg)
			p++;
	}
	off = (size_t)(p - tok);
	assert_true(asprintf(&out, "%.*s%s%s", (int)off, tok, insert_at_end_of_seg, p) > 0);
	return out;
}

static void
test_jws07_encoding(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	struct fedtrust_error	 err;
	char			*tok, *t, *last;
	static const char *const inserts[] = { "=", "==", "+", "/", " ", "\n", "\t", "%3D" };
	size_t			 i;
	int			 seg;

	assert_non_null(tok = fedtrustp_jws_sign((const unsigned char *)PAYLOAD,
	    strlen(PAYLOAD), k, FEDTRUSTP_ALG_ES256, TYP, &err));
	assert_int_equal(vcode(tok, set), FEDTRUST_OK);
	for (seg = 0; seg < 3; seg++)
		for (i = 0; i < sizeof(inserts) / sizeof(inserts[0]); i++) {
			t = mutate(tok, inserts[i], seg);
			if (vcode(t, set) != FEDTRUST_E_JWS_MALFORMED)
				fail_msg("segment %d insert %zu accepted or misreported", seg, i);
			free(t);
		}
	/* A trailing newline on the whole token. */
	assert_true(asprintf(&t, "%s\n", tok) > 0);
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	/* Non-zero unused bits: 64-byte signature = 86 chars, 4 spare bits in the last. */
	assert_non_null(t = strdup(tok));
	last = t + strlen(t) - 1;
	*last = *last == 'A' ? 'B' : *last == 'Q' ? 'R' : *last == 'g' ? 'h' : 'x';
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	/* empty header segment, four segments, leading and trailing dots */
	t = strdup(strchr(tok, '.'));
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%s.%s", tok, "AAAA") > 0);
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	assert_true(asprintf(&t, ".%s", tok) > 0);
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%s.", tok) > 0);
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%.*s", (int)(strrchr(tok, '.') - tok + 1), tok) > 0);
	assert_int_equal(vcode(t, set), FEDTRUST_E_JWS_MALFORMED);	/* empty signature */
	free(t);
	assert_int_equal(vcode("..", set), FEDTRUST_E_JWS_MALFORMED);
	assert_int_equal(vcode("", set), FEDTRUST_E_JWS_MALFORMED);
	/* a NUL inside the given length */
	assert_non_null(t = strdup(tok));
	t[5] = '\0';
	assert_int_equal(vcode_len(t, strlen(tok), set, TYP, CAP), FEDTRUST_E_JWS_MALFORMED);
	free(t);
	free(tok);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ JWS-08, strict JSON */

static int
json_code(const char *s, size_t len, size_t cap, size_t depth)
{
	struct fedtrust_error	 err;
	json_t			*v;

	memset(&err, 0, sizeof(err));
	if ((v = fedtrustp_json_parse(s, len, cap, depth, &err)) != NULL) {
		json_decref(v);
		return FEDTRUST_OK;
	}
	return err.code;
}

#define JC(s)	json_code((s), strlen(s), CAP, FEDTRUSTP_MAX_JSON_DEPTH)

static void
test_strict_json(void **state)
{
	struct fedtrust_error	 err;
	char			*deep;
	size_t			 i, n;
	json_t			*v;
	char			*s;

	assert_int_equal(JC("{\"a\":1}"), FEDTRUST_OK);
	assert_int_equal(JC("{\"alg\":\"RS256\",\"alg\":\"none\"}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"exp\":1,\"exp\":2}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":{\"kid\":\"x\",\"kid\":\"x\"}}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("\xef\xbb\xbf{\"a\":1}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1 /* c */}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1 // c\n}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1,}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("[1,2,]"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":NaN}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":Infinity}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":\"x\\u0000y\"}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":\"\\ud800\"}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":\"\\udc00x\"}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":\"\xc3\x28\"}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":\"\xed\xa0\x80\"}"), FEDTRUST_E_JSON);	/* UTF-8 surrogate */
	assert_int_equal(JC("{\"a\":\"\xc0\xaf\"}"), FEDTRUST_E_JSON);		/* overlong */
	assert_int_equal(json_code("{\"a\":\"x\0\"}", 9, CAP, 32), FEDTRUST_E_JSON);
	assert_int_equal(JC("{'a':1}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1}x"), FEDTRUST_E_JSON);
	/* integers: +-(2^53-1) pass, 2^53 and beyond, reals, overflow do not */
	assert_int_equal(JC("{\"a\":9007199254740991}"), FEDTRUST_OK);
	assert_int_equal(JC("{\"a\":-9007199254740991}"), FEDTRUST_OK);
	assert_int_equal(JC("{\"a\":9007199254740992}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":-9007199254740992}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":9223372036854775808}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1.5}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1.0}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1e3}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("{\"a\":1e309}"), FEDTRUST_E_JSON);
	assert_int_equal(JC("[[1.5]]"), FEDTRUST_E_JSON);
	/* depth: 32 levels pass, 33 do not; 100000 levels stop in jansson */
	for (n = 32; n <= 33; n++) {
		assert_non_null(deep = malloc(2 * n + 1));
		for (i = 0; i < n; i++) {
			deep[i] = '[';
			deep[n + i] = ']';
		}
		deep[2 * n] = '\0';
		assert_int_equal(JC(deep), n == 32 ? FEDTRUST_OK : FEDTRUST_E_JSON);
		free(deep);
	}
	n = 100000;
	assert_non_null(deep = malloc(2 * n + 1));
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[n + i] = ']';
	}
	deep[2 * n] = '\0';
	assert_int_equal(json_code(deep, 2 * n, 4 * n, FEDTRUSTP_MAX_JSON_DEPTH), FEDTRUST_E_JSON);
	assert_int_equal(json_code(deep, 2 * n, 4 * n, SIZE_MAX), FEDTRUST_E_JSON);
	/* size cap before parsing */
	assert_int_equal(json_code(deep, 2 * n, 1000, 32), FEDTRUST_E_TOO_LARGE);
	free(deep);

	/* canonical: compact, sorted, UTF-8 kept */
	assert_non_null(v = fedtrustp_json_parse("{\"b\":[1,{\"z\":1,\"a\":2}],\"a\":\"\xc3\xa9/\"}",
	    33, CAP, 32, &err));
	assert_non_null(s = fedtrustp_json_dump_canonical(v, &err));
	assert_string_equal(s, "{\"a\":\"\xc3\xa9/\",\"b\":[1,{\"a\":2,\"z\":1}]}");
	fedtrustp_free(s);
	json_decref(v);
}

/* JWS-08 through the verifier: header differentials and a 50 MB token. */
static void
test_jws08_json(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	char			*h, *tok, *big;
	unsigned char		*pl;
	size_t			 plsz, bigsz = 50 * 1024 * 1024;
	struct fedtrust_error	 err;
	const char		*kid = jkt_of(k);

	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"%s\"}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}",
	    kid, kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "\xef\xbb\xbf{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",/*c*/\"kid\":\"%s\",\"typ\":\"%s\"}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\",}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\",\"x\":NaN}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"\\ud800%s\"}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"\xff%s\"}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	/* a real number in the header */
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\",\"x\":1.5}",
	    kid, TYP) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);
	/* A header that is not an object. */
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, "[\"ES256\"]", set),
	    FEDTRUST_E_JWS_HEADER);
	/* Deep nesting inside the header: over the header cap, then over depth. */
	assert_non_null(h = malloc(200001 + 200));
	memset(h, '[', 100000);
	memset(h + 100000, ']', 100000);
	h[200000] = '\0';
	tok = forge(k, FEDTRUSTP_ALG_ES256, h, PAYLOAD);
	assert_int_equal(vcode(tok, set), FEDTRUST_E_TOO_LARGE);	/* over the 64 KiB token cap */
	assert_int_equal(vcode_len(tok, strlen(tok), set, TYP, 1024 * 1024),
	    FEDTRUST_E_JWS_MALFORMED);				/* over the header cap */
	free(tok);
	snprintf(h, 200, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\",\"x\":"
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", kid, TYP);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JSON);
	free(h);

	/* 50 MB against a 64 KiB cap: refused before any parsing. */
	assert_non_null(tok = fedtrustp_jws_sign((const unsigned char *)PAYLOAD,
	    strlen(PAYLOAD), k, FEDTRUSTP_ALG_ES256, TYP, &err));
	assert_non_null(big = malloc(bigsz + 1));
	memset(big, 'A', bigsz);
	memcpy(big, tok, strlen(tok));
	big[bigsz] = '\0';
	pl = (unsigned char *)"x";
	assert_int_equal(fedtrustp_jws_verify(big, bigsz, set, TYP, CAP, &pl, &plsz, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_TOO_LARGE);
	assert_null(pl);
	free(big);
	free(tok);
	/* A payload that is not strict JSON is the caller's check, not the verifier's. */
	tok = forge(k, FEDTRUSTP_ALG_ES256, h = hdr3("ES256", kid, TYP, NULL),
	    "{\"exp\":1,\"exp\":2}");
	assert_int_equal(vcode(tok, set), FEDTRUST_OK);
	free(tok);
	free(h);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ JWS-11, 12 */

static void
test_jws11_typ(void **state)
{
	EVP_PKEY		*k = gen(FEDTRUSTP_ALG_ES256);
	struct fedtrustp_keyset	*set = pinset(k, FEDTRUSTP_ALG_ES256);
	struct fedtrust_error	 err;
	char			*h, *tok, *js;
	const char		*kid = jkt_of(k);
	static const char *const wrong[] = { "JWT", "jwk-set+jwt", "trust-mark+jwt",
	    "application/vnd.fedtrust.bundle+jwt", "vnd.fedtrust.bundle-head+jwt",
	    "vnd.fedtrust.bundle+jwt ", "" };
	size_t			 i;

	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_TYP);
	free(h);
	assert_true(asprintf(&h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":7}", kid) > 0);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_TYP);
	free(h);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		h = hdr3("ES256", kid, wrong[i], NULL);
		assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_E_JWS_TYP);
		free(h);
	}
	/* Media types compare case-insensitively. */
	h = hdr3("ES256", kid, "VND.Fedtrust.Bundle+JWT", NULL);
	assert_int_equal(forged_code(k, FEDTRUSTP_ALG_ES256, h, set), FEDTRUST_OK);
	free(h);
	/* A head token is not a bundle, and the other way round. */
	assert_non_null(tok = fedtrustp_jws_sign((const unsigned char *)"{}", 2, k,
	    FEDTRUSTP_ALG_ES256, "vnd.fedtrust.bundle-head+jwt", &err));
	assert_int_equal(vcode(tok, set), FEDTRUST_E_JWS_TYP);
	assert_int_equal(vcode_len(tok, strlen(tok), set, "vnd.fedtrust.bundle-head+jwt", CAP),
	    FEDTRUST_OK);
	/* JSON serializations (general with two signatures, flattened with an unprotected alg). */
	h = strchr(tok, '.');
	assert_true(asprintf(&js, "{\"payload\":\"e30\",\"signatures\":[{\"protected\":\"%.*s\","
	    "\"signature\":\"%s\"},{\"protected\":\"%.*s\",\"signature\":\"%s\"}]}",
	    (int)(h - tok), tok, strrchr(tok, '.') + 1, (int)(h - tok), tok,
	    strrchr(tok, '.') + 1) > 0);
	assert_int_equal(vcode(js, set), FEDTRUST_E_JWS_MALFORMED);
	free(js);
	assert_true(asprintf(&js, "{\"payload\":\"e30\",\"protected\":\"%.*s\",\"header\":"
	    "{\"alg\":\"ES256\"},\"signature\":\"%s\"}", (int)(h - tok), tok,
	    strrchr(tok, '.') + 1) > 0);
	assert_int_equal(vcode(js, set), FEDTRUST_E_JWS_MALFORMED);
	free(js);
	free(tok);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(k);
}

static void
test_jws12_binding(void **state)
{
	EVP_PKEY		*k256 = gen(FEDTRUSTP_ALG_ES256), *k384 = gen(FEDTRUSTP_ALG_ES384);
	EVP_PKEY		*rsa = rsa_key(), *ed = gen(FEDTRUSTP_ALG_ED25519), *weak, *k;
	struct fedtrustp_keyset	*set = pinset(k384, FEDTRUSTP_ALG_ES384), *rset, *fset;
	struct fedtrust_error	 err;
	char			*h, *dir, *path, *js, *tok;
	json_t			*jwk, *jwk2, *set2;
	unsigned char		*sig;
	size_t			 siglen, i;
	BIO			*bio;
	char			*pem;
	long			 pemlen;

	/* ES256 header naming a P-384 pin (signed by the P-384 key as ES384). */
	h = hdr3("ES256", jkt_of(k384), TYP, NULL);
	assert_int_equal(forged_code(k384, FEDTRUSTP_ALG_ES384, h, set), FEDTRUST_E_JWS_ALG);
	free(h);
	/* RS256 with an EC kid; RS256 and PS256 with an RSA pin for PS256. */
	h = hdr3("RS256", jkt_of(k384), TYP, NULL);
	assert_int_equal(forged_code(k384, FEDTRUSTP_ALG_ES384, h, set), FEDTRUST_E_JWS_ALG);
	free(h);
	rset = pinset(rsa, FEDTRUSTP_ALG_PS256);
	h = hdr3("RS256", jkt_of(rsa), TYP, NULL);
	assert_int_equal(forged_code(rsa, FEDTRUSTP_ALG_RS256, h, rset), FEDTRUST_E_JWS_ALG);
	free(h);
	/* PS256 header over a PKCS#1 v1.5 signature: the signature fails. */
	h = hdr3("PS256", jkt_of(rsa), TYP, NULL);
	assert_int_equal(forged_code(rsa, FEDTRUSTP_ALG_RS256, h, rset), FEDTRUST_E_JWS_SIG);
	assert_int_equal(forged_code(rsa, FEDTRUSTP_ALG_PS256, h, rset), FEDTRUST_OK);
	free(h);
	/* "EdDSA" is not "Ed25519". */
	fedtrustp_keyset_free(set);
	set = pinset(ed, FEDTRUSTP_ALG_ED25519);
	h = hdr3("EdDSA", jkt_of(ed), TYP, NULL);
	assert_int_equal(forged_code(ed, FEDTRUSTP_ALG_ED25519, h, set), FEDTRUST_E_JWS_ALG);
	free(h);
	h = hdr3("Ed25519", jkt_of(ed), TYP, NULL);
	assert_int_equal(forged_code(ed, FEDTRUSTP_ALG_ED25519, h, set), FEDTRUST_OK);
	free(h);

	/* Pins that must not load: wrong alg for the key, RSA 1024, duplicates. */
	assert_int_equal(fedtrustp_keyset_add_pkey(set, k256, FEDTRUSTP_ALG_ES384, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fedtrustp_keyset_add_pkey(set, rsa, FEDTRUSTP_ALG_RS256, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fedtrustp_keyset_add_pkey(set, ed, FEDTRUSTP_ALG_ED25519, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_non_null(weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	assert_int_equal(fedtrustp_keyset_add_pkey(set, weak, FEDTRUSTP_ALG_PS256, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(weak, &err));
	assert_int_equal(fedtrustp_jwk_to_pkey(jwk, &k, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_null(k);
	json_decref(jwk);

	/* Key set files. */
	dir = tu_tmpdir("test_jws");
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(k256, &err));
	json_object_set_new(jwk, "alg", json_string("ES256"));
	json_object_set_new(jwk, "use", json_string("sig"));
	json_object_set_new(jwk, "kid", json_string("anything: a config kid is never trusted"));
	assert_non_null(js = fedtrustp_json_dump_canonical(jwk, &err));
	path = write_tmp(dir, "one.jwk", js);
	assert_non_null(fset = fedtrustp_keyset_new(&err));
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), 0);
	assert_int_equal(fset->n, 1);
	assert_string_equal(fset->pins[0].jkt, jkt_of(k256));
	/* the same key again (duplicate) */
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fset->n, 1);
	free(path);
	fedtrustp_free(js);
	/* a JWK Set with a private member: all or nothing */
	jwk2 = json_deep_copy(jwk);
	json_object_set_new(jwk2, "d", json_string("AAAA"));
	assert_non_null(set2 = json_pack("{s:[O,O]}", "keys", jwk, jwk2));
	assert_non_null(js = json_dumps(set2, 0));
	json_decref(set2);
	fedtrustp_keyset_free(fset);
	assert_non_null(fset = fedtrustp_keyset_new(&err));
	path = write_tmp(dir, "priv.jwks", js);
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_non_null(strstr(err.text, "private"));
	assert_int_equal(fset->n, 0);
	free(path);
	free(js);
	json_decref(jwk2);
	/* duplicate keys inside one JWK Set */
	assert_non_null(set2 = json_pack("{s:[O,O]}", "keys", jwk, jwk));
	assert_non_null(js = json_dumps(set2, 0));
	json_decref(set2);
	path = write_tmp(dir, "dup.jwks", js);
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fset->n, 0);
	free(path);
	free(js);
	/* use enc, key_ops without verify, no alg, EdDSA, RS256 */
	json_object_set_new(jwk, "use", json_string("enc"));
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	json_object_del(jwk, "use");
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "encrypt"));
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "verify"));
	json_object_del(jwk, "alg");
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	json_object_set_new(jwk, "alg", json_string("ES384"));
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	json_object_set_new(jwk, "alg", json_string("ES256"));
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), 0);
	json_decref(jwk);
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(ed, &err));
	json_object_set_new(jwk, "alg", json_string("EdDSA"));
	assert_int_equal(fedtrustp_keyset_add_jwk(fset, jwk, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	json_decref(jwk);
	/* PEM: P-384 gets ES384, RSA needs an explicit alg, private keys refused */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(bio, k384), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	assert_non_null(js = strndup(pem, (size_t)pemlen));
	path = write_tmp(dir, "p384.pem", js);
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), 0);
	assert_int_equal(fset->pins[fset->n - 1].alg, FEDTRUSTP_ALG_ES384);
	free(path);
	free(js);
	BIO_free(bio);
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	assert_non_null(js = strndup(pem, (size_t)pemlen));
	path = write_tmp(dir, "rsa.pem", js);
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_non_null(strstr(err.text, "RSA PEM key needs an explicit alg"));
	free(path);
	free(js);
	BIO_free(bio);
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(bio, ed, NULL, NULL, 0, NULL, NULL), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	assert_non_null(js = strndup(pem, (size_t)pemlen));
	path = write_tmp(dir, "ed.key", js);
	assert_int_equal(fedtrustp_keyset_add_file(fset, path, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	free(path);
	free(js);
	BIO_free(bio);
	assert_int_equal(fedtrustp_keyset_add_file(fset, "/nonexistent/key.pem", &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_IO);
	/* The same from memory: a JWK Set whose second key is a duplicate changes nothing. */
	i = fset->n;
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(ed, &err));
	json_object_set_new(jwk, "alg", json_string("Ed25519"));
	assert_non_null(set2 = json_pack("{s:[O,O]}", "keys", jwk, jwk));
	assert_non_null(js = json_dumps(set2, 0));
	assert_int_equal(fedtrustp_keyset_add_json(fset, js, strlen(js), &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fset->n, i);
	free(js);
	json_decref(set2);
	assert_int_equal(fedtrustp_keyset_add_json(fset, "{\"keys\":[]}", 11, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	assert_int_equal(fedtrustp_keyset_add_json(fset, "{\"kty\":\"EC\",", 12, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_JSON);
	assert_non_null(set2 = json_pack("{s:[O]}", "keys", jwk));
	assert_non_null(js = json_dumps(set2, 0));
	assert_int_equal(fedtrustp_keyset_add_json(fset, js, strlen(js), &err), 0);
	assert_int_equal(fset->n, i + 1);
	free(js);
	json_decref(set2);
	json_decref(jwk);

	/* The file-loaded pins verify real tokens. */
	assert_non_null(tok = fedtrustp_jws_sign((const unsigned char *)"{}", 2, k384,
	    FEDTRUSTP_ALG_ES384, TYP, &err));
	assert_int_equal(vcode(tok, fset), FEDTRUST_OK);
	free(tok);
	/* raw verification needs the key to fit the alg too */
	sig = raw_sign(k384, FEDTRUSTP_ALG_ES384, "a.b", &siglen, 0);
	assert_int_equal(fedtrustp_jws_verify_raw("a.b", 3, sig, siglen, k384,
	    FEDTRUSTP_ALG_ES384, &err), 0);
	assert_int_equal(fedtrustp_jws_verify_raw("a.b", 3, sig, siglen, k384,
	    FEDTRUSTP_ALG_ES256, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_KEY);
	free(sig);

	tu_sh("rm -rf '%s'", dir);
	free(dir);
	fedtrustp_keyset_free(fset);
	fedtrustp_keyset_free(rset);
	fedtrustp_keyset_free(set);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(k256);
}

/* ------------------------------------------------------------ real vectors */

/* The shared corpus file rel, parsed (NULL and skip if the corpus is absent). */
static json_t *
corpus_json(const char *rel)
{
	char	*path;
	json_t	*v;

	assert_true(asprintf(&path, "%s/real/vectors/jose/%s", tu_corpus(), rel) > 0);
	if (access(path, R_OK) != 0) {
		free(path);
		return NULL;
	}
	v = json_load_file(path, 0, NULL);
	assert_non_null(v);
	free(path);
	return v;
}

/*
 * Verify a published compact JWS with verify_raw and a key from its JWK
 * (private members stripped); then a tampered copy must fail, and the
 * strict verifier must reject the original with code strict.
 */
static void
vector_check(const char *compact, json_t *jwk, int alg, int pinalg, int strict)
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*set;
	EVP_PKEY		*k;
	const char		*d2 = strrchr(compact, '.');
	unsigned char		*sig, *pl;
	size_t			 siglen, plsz;
	char			*copy;

	json_object_del(jwk, "d");
	json_object_del(jwk, "p");
	json_object_del(jwk, "q");
	json_object_del(jwk, "dp");
	json_object_del(jwk, "dq");
	json_object_del(jwk, "qi");
	assert_int_equal(fedtrustp_jwk_to_pkey(jwk, &k, &err), 0);
	assert_int_equal(fedtrustp_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &siglen, &err), 0);
	if (fedtrustp_jws_verify_raw(compact, (size_t)(d2 - compact), sig, siglen, k, alg,
	    &err) != 0)
		fail_msg("vector %s: %s", fedtrustp_alg_name(alg), err.text);
	assert_non_null(copy = strdup(compact));
	copy[5] ^= 0x01;
	assert_int_equal(fedtrustp_jws_verify_raw(copy, (size_t)(d2 - compact), sig, siglen,
	    k, alg, &err), -1);
	assert_int_equal(err.code, FEDTRUST_E_JWS_SIG);
	free(copy);

	/* The strict verifier, even with the right key pinned, says no. */
	assert_non_null(set = fedtrustp_keyset_new(&err));
	if (fedtrustp_alg_pinnable(pinalg))
		assert_int_equal(fedtrustp_keyset_add_pkey(set, k, pinalg, &err), 0);
	else {
		assert_int_equal(fedtrustp_keyset_add_pkey(set, k, pinalg, &err), -1);
		assert_int_equal(err.code, FEDTRUST_E_KEY);
	}
	assert_int_equal(fedtrustp_jws_verify(compact, strlen(compact), set, TYP, CAP, &pl,
	    &plsz, &err), -1);
	assert_int_equal(err.code, strict);
	fedtrustp_keyset_free(set);
	fedtrustp_free(sig);
	EVP_PKEY_free(k);
}

static void
test_real_vectors(void **state)
{
	struct fedtrust_error	 err;
	json_t			*doc, *v, *key, *pub;
	EVP_PKEY		*k;
	size_t			 i;
	const char		*name;
	int			 n = 0;

	/* RFC 7515 A.2 (RS256), A.3 (ES256), A.4 (ES512) */
	if ((doc = corpus_json("rfc7515-appendix-A.derived.json")) != NULL) {
		json_array_foreach(json_object_get(doc, "vectors"), i, v) {
			name = json_string_value(json_object_get(v, "name"));
			pub = json_object_get(v, "public_jwk");
			if (strcmp(name, "RFC7515-A.3") == 0)
				/* {"alg":"ES256"}: no typ */
				vector_check(json_string_value(json_object_get(v, "compact")), pub,
				    FEDTRUSTP_ALG_ES256, FEDTRUSTP_ALG_ES256, FEDTRUST_E_JWS_TYP);
			else if (strcmp(name, "RFC7515-A.2") == 0)
				vector_check(json_string_value(json_object_get(v, "compact")), pub,
				    FEDTRUSTP_ALG_RS256, FEDTRUSTP_ALG_PS256, FEDTRUST_E_JWS_ALG);
			else if (strcmp(name, "RFC7515-A.4") == 0)
				vector_check(json_string_value(json_object_get(v, "compact")), pub,
				    FEDTRUSTP_ALG_ES512, FEDTRUSTP_ALG_ES512, FEDTRUST_E_JWS_ALG);
			else
				continue;
			n++;
		}
		json_decref(doc);
	}
	/* RFC 8037 A.4 Ed25519: the published JWK has "d", which must be refused first. */
	if ((doc = corpus_json("rfc8037-A4-ed25519-cookbook_curve25519_jws.json")) != NULL) {
		key = json_object_get(json_object_get(doc, "input"), "key");
		assert_int_equal(fedtrustp_jwk_to_pkey(key, &k, &err), -1);
		assert_int_equal(err.code, FEDTRUST_E_KEY);
		/* {"alg":"EdDSA"}: the old name is not accepted */
		vector_check(json_string_value(json_object_get(json_object_get(doc, "output"),
		    "compact")), key, FEDTRUSTP_ALG_ED25519, FEDTRUSTP_ALG_ED25519,
		    FEDTRUST_E_JWS_ALG);
		json_decref(doc);
		n++;
	}
	/* RFC 7520 cookbook 4.1 RS256, 4.2 PS384, 4.3 ES512 (alg + kid, no typ) */
	if ((doc = corpus_json("rfc7520-cookbook/jws_4_3.ecdsa_signature.json")) != NULL) {
		vector_check(json_string_value(json_object_get(json_object_get(doc, "output"),
		    "compact")), json_object_get(json_object_get(doc, "input"), "key"),
		    FEDTRUSTP_ALG_ES512, FEDTRUSTP_ALG_ES512, FEDTRUST_E_JWS_ALG);
		json_decref(doc);
		n++;
	}
	if ((doc = corpus_json("rfc7520-cookbook/jws_4_2.rsa-pss_signature.json")) != NULL) {
		vector_check(json_string_value(json_object_get(json_object_get(doc, "output"),
		    "compact")), json_object_get(json_object_get(doc, "input"), "key"),
		    FEDTRUSTP_ALG_PS384, FEDTRUSTP_ALG_PS256, FEDTRUST_E_JWS_ALG);
		json_decref(doc);
		n++;
	}
	if ((doc = corpus_json("rfc7520-cookbook/jws_4_1.rsa_v15_signature.json")) != NULL) {
		vector_check(json_string_value(json_object_get(json_object_get(doc, "output"),
		    "compact")), json_object_get(json_object_get(doc, "input"), "key"),
		    FEDTRUSTP_ALG_RS256, FEDTRUSTP_ALG_PS256, FEDTRUST_E_JWS_ALG);
		json_decref(doc);
		n++;
	}
	if (n == 0)
		skip();
	assert_int_equal(n, 7);
}

/* ------------------------------------------------------------ allocation failures */

static long	chaos_count, chaos_fail_at;
static long	chaos_live;

static void *
chaos_malloc(size_t sz)
{
	size_t	*p;

	if (chaos_fail_at > 0 && ++chaos_count == chaos_fail_at)
		return NULL;
	if ((p = malloc(sz + sizeof(size_t) * 2)) == NULL)
		return NULL;
	chaos_live++;
	return p + 2;
}

static void
chaos_free(void *p)
{
	if (p == NULL)
		return;
	chaos_live--;
	free((size_t *)p - 2);
}

/*
 * Fail the Nth allocation, N = 1, 2, ... until a load + sign + verify
 * round trip succeeds; every failure must be a clean error and every
 * hooked allocation must be freed (the count, and LSan, check it).
 */
static void
test_chaos(void **state)
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*set;
	EVP_PKEY		*k[2];
	char			*tok, *dir, *path, *js;
	json_t			*jwk;
	unsigned char		*pl;
	size_t			 plsz, i;
	long			 n;
	int			 ok, nomem = 0;

	k[0] = gen(FEDTRUSTP_ALG_ES256);
	k[1] = gen(FEDTRUSTP_ALG_ED25519);
	dir = tu_tmpdir("test_jws_chaos");
	assert_non_null(jwk = fedtrustp_pkey_to_jwk(k[1], &err));
	json_object_set_new(jwk, "alg", json_string("Ed25519"));
	assert_non_null(js = json_dumps(jwk, 0));
	path = write_tmp(dir, "ed.jwk", js);
	free(js);
	json_decref(jwk);

	fedtrust_set_alloc_funcs(chaos_malloc, chaos_free);
	for (i = 0; i < 2; i++) {
		for (n = 1; n < 100000; n++) {
			chaos_count = 0;
			chaos_fail_at = n;
			chaos_live = 0;
			ok = 0;
			tok = NULL;
			pl = NULL;
			memset(&err, 0, sizeof(err));
			if ((set = fedtrustp_keyset_new(&err)) == NULL)
				goto check;
			if (i == 0 ? fedtrustp_keyset_add_pkey(set, k[0], FEDTRUSTP_ALG_ES256,
			    &err) == -1 : fedtrustp_keyset_add_file(set, path, &err) == -1)
				goto check;
			if ((tok = fedtrustp_jws_sign((const unsigned char *)PAYLOAD,
			    strlen(PAYLOAD), k[i], i == 0 ? FEDTRUSTP_ALG_ES256 :
			    FEDTRUSTP_ALG_ED25519, TYP, &err)) == NULL)
				goto check;
			if (fedtrustp_jws_verify(tok, strlen(tok), set, TYP, CAP, &pl, &plsz,
			    &err) == -1)
				goto check;
			assert_memory_equal(pl, PAYLOAD, plsz);
			ok = 1;
 check:
			if (!ok) {
				/* A clean error, named; out of memory in our hooks is E_NOMEM. */
				assert_int_not_equal(err.code, FEDTRUST_OK);
				assert_true(strlen(err.text) > 0);
				if (err.code == FEDTRUST_E_NOMEM)
					nomem++;
			}
			fedtrustp_free(pl);
			fedtrustp_free(tok);
			fedtrustp_keyset_free(set);
			assert_int_equal(chaos_live, 0);
			if (ok)
				break;
		}
		assert_true(ok);
		assert_true(n > 5);	/* the hooks did see the allocations */
	}
	chaos_fail_at = 0;
	fedtrust_set_alloc_funcs(NULL, NULL);
	assert_true(nomem > 0);
	tu_sh("rm -rf '%s'", dir);
	free(path);
	free(dir);
	EVP_PKEY_free(k[1]);
	EVP_PKEY_free(k[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_thumbprints),
		cmocka_unit_test(test_jwk_rules),
		cmocka_unit_test(test_jws01_none),
		cmocka_unit_test(test_jws02_hmac_confusion),
		cmocka_unit_test(test_jws03_kid),
		cmocka_unit_test(test_jws04_header_keys),
		cmocka_unit_test(test_jws05_crit),
		cmocka_unit_test(test_jws06_ecdsa),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jws07_encoding),
		cmocka_unit_test(test_strict_json),
		cmocka_unit_test(test_jws08_json),
		cmocka_unit_test(test_jws11_typ),
		cmocka_unit_test(test_jws12_binding),
		cmocka_unit_test(test_real_vectors),
		cmocka_unit_test(test_chaos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
