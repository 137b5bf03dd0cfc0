/*
 * libfedtrust: bundle verification (bundle-format.md 4.9 steps 10-18) and
 * the index the lookups use.  Every check runs before anything is handed
 * out: a bundle is either returned whole and verified, or not at all.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "lib/bundlep.h"

#define MAX_KEYS_PER_ENTITY	1024	/* keeps one entity's cost bounded */

static const char *const protos[] = { "saml2", "oidf", "spiffe", "x509", "oauth", NULL };
static const char *const purposes[] = { "jwt", "jwe", "mtls", "ca", "saml-sig", "saml-enc",
	"x509-svid", "jwt-svid", NULL };
static const char *const provs[] = { "chain", "signed_jwks", "jwks_uri", "saml_md",
	"spiffe_tls", "local", NULL };
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k",
	"oth", NULL };
static const char *const names_members[] = { "subject_dn", "san_dns", "san_uri", "san_ip",
	"san_email", NULL };

/* 1 when s is one of the NULL-terminated words. */
static int
one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

/*
 * Optional (or required) member that must be an array of strings, at least
 * min long.  Returns the array (borrowed), NULL when absent, or sets err and
 * *bad.  Errors are FEDTRUST_E_BUNDLE.
 */
static const json_t *
str_array(const json_t *obj, const char *what, const char *name, int required, size_t min,
    int *bad, struct fedtrust_error *err)
{
	json_t	*a = json_object_get(obj, name), *v;
	size_t	 i;

	if (a == NULL) {
		if (required) {
			*bad = 1;
			fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: \"%s\" is missing",
			    what, name);
		}
		return NULL;
	}
	if (!json_is_array(a) || json_array_size(a) < min) {
		*bad = 1;
		fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"%s\" is not an array of at least %zu strings", what, name, min);
		return NULL;
	}
	json_array_foreach(a, i, v)
		if (!json_is_string(v)) {
			*bad = 1;
			fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s: \"%s\"[%zu] is not a string", what, name, i);
			return NULL;
		}
	return a;
}

/* Like fedtrustp_get_str/int but with FEDTRUST_E_BUNDLE (structure). 1 / 0 / -1. */
static int
bstr(const json_t *obj, const char *what, const char *name, int required, const char **out,
    struct fedtrust_error *err)
{
	int	 rc = fedtrustp_get_str(obj, what, name, required, out, err);

	if (rc == -1 && err != NULL)
		err->code = FEDTRUST_E_BUNDLE;
	return rc;
}

static int
bint(const json_t *obj, const char *what, const char *name, int required, int64_t *out,
    struct fedtrust_error *err)
{
	int	 rc = fedtrustp_get_int(obj, what, name, required, -FEDTRUSTP_MAX_JSON_INT,
	    FEDTRUSTP_MAX_JSON_INT, out, err);

	if (rc == -1 && err != NULL)
		err->code = FEDTRUST_E_BUNDLE;
	return rc;
}

/* ------------------------------------------------------------ certificates */

/* Standard base64 with padding (x5c, RFC 7517 4.7), canonical. Caller frees. 0 / -1. */
static int
b64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t		 len = strlen(s), i, o = 0, pad = 0;
	unsigned char	*b;
	uint32_t	 acc = 0;
	int		 v;

	*out = NULL;
	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	if ((b = fedtrustp_malloc(len / 4 * 3)) == NULL)
		return -2;
	for (i = 0; i < len - pad; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		if (i % 4 == 3) {
			b[o++] = (unsigned char)(acc >> 16);
			b[o++] = (unsigned char)(acc >> 8);
			b[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	/* The unused bits of the last group must be zero (one spelling only). */
	if (pad == 1) {
		if (acc & 0x3)
			goto bad;
		b[o++] = (unsigned char)(acc >> 10);
		b[o++] = (unsigned char)(acc >> 2);
	} else if (pad == 2) {
		if (acc & 0xf)
			goto bad;
		b[o++] = (unsigned char)(acc >> 4);
	}
	*out = b;
	*outlen = o;
	return 0;
 bad:
	fedtrustp_free(b);
	return -1;
}

/*
 * One DER TLV at *p (end e): tag, content and the byte after it.  Lengths
 * in at most 4 bytes.  0 / -1.
 */
static int
der_next(const unsigned char **p, const unsigned char *e, int *tag,
    const unsigned char **content, size_t *clen)
{
	const unsigned char	*q = *p;
	size_t			 len, n, i;

	if (e - q < 2)
		return -1;
	*tag = *q++;
	len = *q++;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(e - q) < n)
			return -1;
		for (len = 0, i = 0; i < n; i++)
			len = (len << 8) | *q++;
	}
	if ((size_t)(e - q) < len)
		return -1;
	*content = q;
	*clen = len;
	*p = q + len;
	return 0;
}

/*
 * The SubjectPublicKeyInfo TLV of a certificate by walking its DER
 * (RFC 5280 4.1), without a full decode.  0 / -1.
 */
static int
cert_spki(const unsigned char *der, size_t len, const unsigned char **spki, size_t *spkilen)
{
	const unsigned char	*p = der, *e = der + len, *c, *q, *qe, *start;
	size_t			 clen;
	int			 tag, i;

	if (der_next(&p, e, &tag, &c, &clen) == -1 || tag != 0x30 || p != e)
		return -1;
	q = c;
	qe = c + clen;
	if (der_next(&q, qe, &tag, &c, &clen) == -1 || tag != 0x30)	/* tbsCertificate */
		return -1;
	q = c;
	qe = c + clen;
	if (qe - q > 0 && *q == 0xa0 && der_next(&q, qe, &tag, &c, &clen) == -1)
		return -1;
	/* serial, signature, issuer, validity, subject */
	for (i = 0; i < 5; i++)
		if (der_next(&q, qe, &tag, &c, &clen) == -1)
			return -1;
	start = q;
	if (der_next(&q, qe, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	*spki = start;
	*spkilen = (size_t)(q - start);
	return 0;
}

/*
 * 1 when the certificate's public key is pkey.  The fast path compares the
 * certificate's SPKI bytes with the key's own encoding; only when they differ
 * (another but equivalent encoding) is the certificate fully decoded.
 */
static int
cert_matches_key(const unsigned char *der, size_t len, EVP_PKEY *pkey)
{
	const unsigned char	*spki, *p;
	unsigned char		*mine = NULL;
	size_t			 spkilen;
	int			 minelen, eq = 0;
	X509			*x;

	if (cert_spki(der, len, &spki, &spkilen) == 0 &&
	    (minelen = i2d_PUBKEY(pkey, &mine)) > 0) {
		eq = (size_t)minelen == spkilen && memcmp(mine, spki, spkilen) == 0;
		OPENSSL_free(mine);
		if (eq)
			return 1;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && p == der + len)
		eq = EVP_PKEY_eq(X509_get0_pubkey(x), pkey) == 1;
	X509_free(x);
	ERR_clear_error();
	return eq;
}

/* ------------------------------------------------------------ keys */

/*
 * Both numeric members of a key (RSA n and e, EC x and y), strictly decoded
 * by the JWK layer, with what put in front of an error.  0 / -1.
 */
static int
key_members(const json_t *k, const char *const names[2], unsigned char *b[2], size_t len[2],
    const char *what, struct fedtrust_error *err)
{
	char	 text[FEDTRUST_ERROR_TEXT_LENGTH];
	int	 i;

	for (i = 0; i < 2; i++) {
		if (fedtrustp_jwk_bytes(k, names[i], &b[i], &len[i], err) == -1) {
			if (err != NULL && err->code != FEDTRUST_E_NOMEM) {
				snprintf(text, sizeof(text), "%s", err->text);
				fedtrustp_error_set(err, err->code, "%s: %s", what, text);
			}
			return -1;
		}
	}
	return 0;
}

/*
 * An RSA partner key (4.6): n and e strict base64url, minimal octets, a
 * modulus of 2048 to 16384 bits, odd n, odd e >= 3 of at most 256 bits:
 * the rules of fedtrustp_jwk_to_pkey(), without building an OpenSSL key
 * object for each of the 8,000 RSA keys of a 10,000-entity bundle; a key
 * object is made only when a certificate must be compared with it.  0 / -1.
 */
static int
rsa_key_check(const json_t *k, int want_pkey, EVP_PKEY **out, const char *what,
    struct fedtrust_error *err)
{
	const char	*names[2] = { "n", "e" };
	unsigned char	*b[2] = { NULL, NULL };
	size_t		 len[2], bits;
	BIGNUM		*bn[2] = { NULL, NULL };
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	int		 i, rc = -1;

	*out = NULL;
	if (key_members(k, names, b, len, what, err) == -1)
		goto out;
	for (i = 0; i < 2; i++) {
		if (len[i] == 0 || b[i][0] == 0) {
			fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s: RSA \"%s\" is empty or has leading zero octets", what, names[i]);
			goto out;
		}
	}
	for (bits = len[0] * 8; !(b[0][0] & (0x80 >> (len[0] * 8 - bits))); bits--)
		;
	if (bits < FEDTRUSTP_RSA_MIN_BITS || bits > FEDTRUSTP_RSA_MAX_BITS ||
	    !(b[0][len[0] - 1] & 1) || !(b[1][len[1] - 1] & 1) || len[1] > 32 ||
	    (len[1] == 1 && b[1][0] < 3)) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "%s: RSA key of %zu bits, or its n or e is not sane", what, bits);
		goto out;
	}
	if (!want_pkey) {
		rc = 0;
		goto out;
	}
	if ((bn[0] = BN_bin2bn(b[0], (int)len[0], NULL)) == NULL ||
	    (bn[1] = BN_bin2bn(b[1], (int)len[1], NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[0]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "%s: OpenSSL refused the RSA key", what);
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn[0]);
	BN_free(bn[1]);
	fedtrustp_free(b[0]);
	fedtrustp_free(b[1]);
	return rc;
}

/* Curve groups made once per verification (EC_GROUP is not free to make). */
struct ec_groups {
	EC_GROUP	*g[3];		/* P-256, P-384, P-521 */
};

static void
ec_groups_free(struct ec_groups *gs)
{
	size_t	 i;

	for (i = 0; i < 3; i++)
		EC_GROUP_free(gs->g[i]);
}

/*
 * An EC partner key without a certificate: full-length x and y (strict
 * base64url) that decode to a point on the curve.  The curves of v1 have
 * prime order (cofactor 1), so on the curve and not at infinity is the
 * whole check, as in fedtrustp_jwk_to_pkey(), here without an OpenSSL key
 * object per key.  0 / -1.
 */
static int
ec_key_check(const json_t *k, struct ec_groups *gs, const char *what,
    struct fedtrust_error *err)
{
	static const struct { const char *crv; int nid; size_t flen; } curves[3] = {
		{ "P-256", NID_X9_62_prime256v1, 32 },
		{ "P-384", NID_secp384r1, 48 },
		{ "P-521", NID_secp521r1, 66 },
	};
	const char	*crv = json_string_value(json_object_get(k, "crv"));
	const char	*names[2] = { "x", "y" };
	unsigned char	*b[2] = { NULL, NULL }, pt[1 + 2 * 66];
	size_t		 len[2], i;
	EC_POINT	*point = NULL;
	int		 c, rc = -1;

	for (c = 0; c < 3 && strcmp(crv, curves[c].crv) != 0; c++)
		;
	if (key_members(k, names, b, len, what, err) == -1)
		goto out;
	for (i = 0; i < 2; i++) {
		if (len[i] != curves[c].flen) {
			fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s: EC \"%s\" is not %zu bytes", what, names[i], curves[c].flen);
			goto out;
		}
	}
	if (gs->g[c] == NULL && (gs->g[c] = EC_GROUP_new_by_curve_name(curves[c].nid)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "%s: out of memory in OpenSSL", what);
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, b[0], len[0]);
	memcpy(pt + 1 + len[0], b[1], len[1]);
	/* oct2point refuses a point that is not on the curve. */
	if ((point = EC_POINT_new(gs->g[c])) == NULL ||
	    EC_POINT_oct2point(gs->g[c], point, pt, 1 + len[0] + len[1], NULL) != 1 ||
	    EC_POINT_is_at_infinity(gs->g[c], point) ||
	    EC_POINT_is_on_curve(gs->g[c], point, NULL) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "%s: EC point is not on %s", what,
		    curves[c].crv);
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	EC_POINT_free(point);
	fedtrustp_free(b[0]);
	fedtrustp_free(b[1]);
	return rc;
}

/* 1 when the key is of a type v1 keeps (EC P-256/384/521, RSA, OKP Ed25519). */
static int
key_type_kept(const json_t *k, const char **kty)
{
	const char	*crv;

	*kty = json_string_value(json_object_get(k, "kty"));
	if (*kty == NULL)
		return -1;
	crv = json_string_value(json_object_get(k, "crv"));
	if (strcmp(*kty, "RSA") == 0)
		return 1;
	if (strcmp(*kty, "EC") == 0)
		return crv != NULL && (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-384") == 0 ||
		    strcmp(crv, "P-521") == 0);
	if (strcmp(*kty, "OKP") == 0)
		return crv != NULL && strcmp(crv, "Ed25519") == 0;
	return 0;
}

/*
 * Check one key of an entity (4.6, 4.9 step 18) and fill out.  *kept is 0
 * for a key of a type v1 ignores.  0 / -1.
 */
static int
key_check(const json_t *k, const json_t *ent, const char *what, struct fedtrust_key *out,
    int *kept, struct ec_groups *gs, struct fedtrust_error *err)
{
	const json_t	*x5c, *v;
	const char	*s, *kty;
	char		 jkt[FEDTRUSTP_JKT_LEN + 1], dig[44];
	EVP_PKEY	*pkey = NULL;
	size_t		 i;
	int64_t		 n;
	int		 bad = 0, rc = -1, t, dec;

	*kept = 0;
	if (!json_is_object(k))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s is not an object", what);
	for (i = 0; private_members[i] != NULL; i++)
		if (json_object_get(k, private_members[i]) != NULL)
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s has the private member \"%s\"", what, private_members[i]);
	if ((t = key_type_kept(k, &kty)) == -1)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: \"kty\" is missing",
		    what);
	if (t == 0)
		return 0;	/* "Keys of any other type are ignored" (4.6) */

	memset(out, 0, sizeof(*out));
	out->kty = kty;
	if (bstr(k, what, "jkt", 1, &out->jkt, err) == -1 ||
	    bstr(k, what, "prov", 1, &out->prov, err) == -1 ||
	    bstr(k, what, "kid", 0, &out->kid, err) == -1 ||
	    bstr(k, what, "alg", 0, &out->alg, err) == -1 ||
	    bstr(k, what, "use", 0, &s, err) == -1 ||
	    bstr(k, what, "x5t#S256", 0, &out->x5t, err) == -1 ||
	    bint(k, what, "nbf", 0, &n, err) == -1 ||
	    bint(k, what, "exp", 0, &n, err) == -1)
		return -1;
	if (!fedtrustp_is_b64u256(out->jkt))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"jkt\" is not a base64url SHA-256", what);
	if (!one_of(out->prov, provs))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: unknown \"prov\"", what);
	if (out->kid != NULL && out->kid[0] == '\0')
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: empty \"kid\"", what);
	if (s != NULL && strcmp(s, "sig") != 0 && strcmp(s, "enc") != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"use\" is not sig or enc", what);
	if (out->x5t != NULL && !fedtrustp_is_b64u256(out->x5t))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"x5t#S256\" is not a base64url SHA-256", what);
	if ((out->purposes = str_array(k, what, "purposes", 1, 1, &bad, err)) == NULL)
		return -1;
	json_array_foreach(out->purposes, i, v) {
		if (!one_of(json_string_value(v), purposes))
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s: unknown purpose in \"purposes\"", what);
		if (strcmp(json_string_value(v), "ca") == 0 &&
		    json_object_get(ent, "names") == NULL)
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s has purpose \"ca\" but the entity has no \"names\"", what);
	}
	x5c = str_array(k, what, "x5c", 0, 1, &bad, err);
	if (bad)
		return -1;

	/* The key itself: a valid public key, and the thumbprint recomputed. */
	if (strcmp(kty, "RSA") == 0) {
		if (rsa_key_check(k, x5c != NULL, &pkey, what, err) == -1)
			return -1;
	} else if (strcmp(kty, "EC") == 0 && x5c == NULL) {
		if (ec_key_check(k, gs, what, err) == -1)
			return -1;
	} else if (fedtrustp_jwk_to_pkey(k, &pkey, err) == -1) {
		if (err != NULL && err->code != FEDTRUST_E_NOMEM) {
			char	 tmp[FEDTRUST_ERROR_TEXT_LENGTH];

			snprintf(tmp, sizeof(tmp), "%s", err->text);
			fedtrustp_error_set(err, FEDTRUST_E_KEY, "%s: %s", what, tmp);
		}
		return -1;
	}
	if (fedtrustp_jwk_thumbprint(k, jkt, err) == -1)
		goto out;
	if (strcmp(jkt, out->jkt) != 0) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "%s: \"jkt\" is not the key's RFC 7638 thumbprint %s", what, jkt);
		goto out;
	}
	if (x5c != NULL) {
		dec = b64_decode(json_string_value(json_array_get(x5c, 0)), &out->der,
		    &out->derlen);
		if (dec == -2) {
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "%s: out of memory", what);
			goto out;
		}
		if (dec == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s: \"x5c\"[0] is not canonical base64", what);
			goto out;
		}
		if (!cert_matches_key(out->der, out->derlen, pkey)) {
			fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s: \"x5c\"[0] is not a certificate for this key", what);
			goto out;
		}
		if (out->x5t != NULL) {
			if (fedtrustp_sha256_b64url(out->der, out->derlen, dig, err) == -1)
				goto out;
			if (strcmp(dig, out->x5t) != 0) {
				fedtrustp_error_set(err, FEDTRUST_E_KEY,
				    "%s: \"x5t#S256\" is not the SHA-256 of \"x5c\"[0]", what);
				goto out;
			}
		}
	}
	if ((out->json = fedtrustp_json_dump_canonical(k, err)) == NULL)
		goto out;
	*kept = 1;
	rc = 0;
 out:
	EVP_PKEY_free(pkey);
	return rc;
}

/* ------------------------------------------------------------ entities */

/*
 * Trust marks ("tm", 4.4): an array of {type, exp?} with exp a positive
 * integer, parsed once into the slots at *tms (advanced), which the caller
 * sized from the same arrays.  0 / -1 (FEDTRUST_E_BUNDLE).
 */
static int
entity_tms(const json_t *e, const char *what, struct fedtrust_entity *out,
    struct fedtrustp_tm **tms, struct fedtrust_error *err)
{
	const json_t	*v, *m;
	const char	*type;
	size_t		 i;
	int64_t		 x;
	int		 rc;

	if ((v = json_object_get(e, "tm")) == NULL)
		return 0;
	if (!json_is_array(v))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: \"tm\" is not an array",
		    what);
	out->tms = *tms;
	json_array_foreach(v, i, m) {
		x = 0;
		rc = -1;
		/* exp 0 means "none" to the accessors: a real exp is positive. */
		if (!json_is_object(m) ||
		    (type = json_string_value(json_object_get(m, "type"))) == NULL ||
		    (rc = bint(m, what, "exp", 0, &x, err)) == -1 || (rc == 1 && x < 1))
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s: \"tm\"[%zu] is not {type, exp?} with a positive exp", what, i);
		(*tms)->type = type;
		(*tms)->exp = (time_t)x;
		(*tms)++;
		out->ntms++;
	}
	return 0;
}

/*
 * Expected certificate names ("names", 4.4): exactly one member, subject_dn
 * (a string) or san_* (an array of strings).  The kind points to the static
 * member name.  0 / -1 (FEDTRUST_E_BUNDLE).
 */
static int
entity_names(const json_t *e, const char *what, struct fedtrust_entity *out,
    struct fedtrust_error *err)
{
	const json_t	*v, *m;
	const char	*k;
	size_t		 i;
	int		 bad = 0;

	if ((v = json_object_get(e, "names")) == NULL)
		return 0;
	if (!json_is_object(v) || json_object_size(v) != 1)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"names\" is not an object with exactly one member", what);
	json_object_foreach((json_t *)v, k, m) {
		for (i = 0; names_members[i] != NULL && strcmp(k, names_members[i]) != 0; i++)
			;
		if (names_members[i] == NULL)
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s: unknown member in \"names\"", what);
		if (strcmp(k, "subject_dn") == 0 ? !json_is_string(m) :
		    str_array(v, what, k, 1, 0, &bad, err) == NULL)
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s: \"names\".\"%s\" has the wrong type", what, k);
		out->names_kind = names_members[i];
		out->names = m;
	}
	return 0;
}

/*
 * Optional members of an entity (4.4, 4.15), kept for the accessors; trust
 * marks go to the slots at *tms (advanced).  0 / -1 (FEDTRUST_E_BUNDLE).
 */
static int
entity_optional(const json_t *e, const char *what, struct fedtrust_entity *out,
    struct fedtrustp_tm **tms, struct fedtrust_error *err)
{
	const char	*s;
	int		 bad = 0;

	if (bstr(e, what, "ra", 0, &out->ra, err) == -1 ||
	    bstr(e, what, "org", 0, &out->org, err) == -1 ||
	    bstr(e, what, "ta", 0, &out->ta, err) == -1 ||
	    bstr(e, what, "mdig", 0, &s, err) == -1)
		return -1;
	if (s != NULL && !fedtrustp_is_b64u256(s))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"mdig\" is not a base64url SHA-256", what);
	out->path = str_array(e, what, "path", 0, 0, &bad, err);
	if (!bad)
		out->ec = str_array(e, what, "ec", 0, 0, &bad, err);
	if (!bad)
		out->scopes = str_array(e, what, "scopes", 0, 0, &bad, err);
	if (bad)
		return -1;
	if (entity_tms(e, what, out, tms, err) == -1 ||
	    entity_names(e, what, out, err) == -1)
		return -1;
	return 0;
}

/*
 * Check entity i (4.4) and fill ents[i], its keys going to *keys and its
 * trust marks to *tms (both advanced).  0 / -1.
 */
static int
entity_check(struct fedtrust_bundle *b, const json_t *e, size_t idx, const json_t *sources,
    struct fedtrust_key **keys, struct fedtrustp_tm **tms, struct ec_groups *gs,
    struct fedtrust_error *err)
{
	struct fedtrust_entity	*out = &b->ents[idx];
	const json_t		*ka, *k;
	char			 what[96], kwhat[128], buf[64];
	int64_t			 vu;
	size_t			 i;
	int			 bad = 0, kept;

	snprintf(what, sizeof(what), "entities[%zu]", idx);
	if (!json_is_object(e))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s is not an object", what);
	if (bstr(e, what, "id", 1, &out->id, err) == -1 ||
	    bstr(e, what, "proto", 1, &out->proto, err) == -1 ||
	    bstr(e, what, "src", 1, &out->src, err) == -1 ||
	    bint(e, what, "valid_until", 1, &vu, err) == -1)
		return -1;
	if (out->id[0] == '\0')
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: empty \"id\"", what);
	if (!one_of(out->proto, protos))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s: unknown \"proto\" \"%s\"",
		    what, fedtrustp_sanitize(out->proto, strlen(out->proto), buf, sizeof(buf)));
	/* Strictly ascending (id, proto) by bytes: order and uniqueness in one. */
	if (idx > 0) {
		int	 c = strcmp(b->ents[idx - 1].id, out->id);

		if (c == 0)
			c = strcmp(b->ents[idx - 1].proto, out->proto);
		if (c >= 0)
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
			    "%s (\"%s\", %s) is %s the entity before it", what,
			    fedtrustp_sanitize(out->id, strlen(out->id), buf, sizeof(buf)),
			    out->proto, c == 0 ? "a duplicate of" : "not sorted after");
	}
	if (json_object_get(sources, out->src) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"src\" \"%s\" is not in \"sources\"", what,
		    fedtrustp_sanitize(out->src, strlen(out->src), buf, sizeof(buf)));
	if ((out->roles = str_array(e, what, "roles", 1, 1, &bad, err)) == NULL)
		return -1;
	if (entity_optional(e, what, out, tms, err) == -1)
		return -1;
	out->valid_until = (time_t)(vu < b->exp ? vu : b->exp);

	ka = json_object_get(e, "keys");
	if (!json_is_array(ka) || json_array_size(ka) == 0 ||
	    json_array_size(ka) > MAX_KEYS_PER_ENTITY)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "%s: \"keys\" is not an array of 1 to %d keys", what, MAX_KEYS_PER_ENTITY);
	out->keys = *keys;
	json_array_foreach(ka, i, k) {
		snprintf(kwhat, sizeof(kwhat), "%s.keys[%zu]", what, i);
		if (key_check(k, e, kwhat, *keys, &kept, gs, err) == -1)
			return -1;
		if (kept) {
			(*keys)++;
			out->nkeys++;
			b->nkeys++;
		}
	}
	return 0;
}

/* Sources: an object of objects with type, fetched and status (4.5). 0 / -1. */
static int
sources_check(const json_t *src, struct fedtrust_error *err)
{
	const char	*k, *s;
	json_t		*v;
	int64_t		 n;
	char		 what[96], buf[48];

	if (!json_is_object(src))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "\"sources\" is not an object");
	json_object_foreach((json_t *)src, k, v) {
		snprintf(what, sizeof(what), "sources.%s",
		    fedtrustp_sanitize(k, strlen(k), buf, sizeof(buf)));
		if (!json_is_object(v))
			return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "%s is not an object",
			    what);
		if (bstr(v, what, "type", 1, &s, err) == -1 ||
		    bstr(v, what, "status", 1, &s, err) == -1 ||
		    bint(v, what, "fetched", 1, &n, err) == -1)
			return -1;
	}
	return 0;
}

/* Compare x5t index rows: by x5t, then by entity position. */
static int
x5t_cmp(const void *a, const void *b)
{
	const struct fedtrustp_x5t	*x = a, *y = b;
	int				 c = strcmp(x->x5t, y->x5t);

	if (c != 0)
		return c;
	return x->ent < y->ent ? -1 : x->ent > y->ent;
}

/* Build the sorted x5t#S256 index. 0 / -1 (nomem). */
static int
index_x5t(struct fedtrust_bundle *b, struct fedtrust_error *err)
{
	size_t	 i, j, n = 0;

	for (i = 0; i < b->nkeys; i++)
		if (b->keys[i].x5t != NULL)
			n++;
	if (n == 0)
		return 0;
	if ((b->x5t = fedtrustp_calloc(n, sizeof(*b->x5t))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "bundle index: out of memory");
	for (i = 0; i < b->nents; i++)
		for (j = 0; j < b->ents[i].nkeys; j++) {
			struct fedtrust_key	*k = &b->ents[i].keys[j];

			if (k->x5t == NULL)
				continue;
			b->x5t[b->nx5t].x5t = k->x5t;
			b->x5t[b->nx5t].ent = &b->ents[i];
			b->x5t[b->nx5t].key = k;
			b->nx5t++;
		}
	qsort(b->x5t, b->nx5t, sizeof(*b->x5t), x5t_cmp);
	return 0;
}

uint32_t
fedtrustp_entity_hash(const char *id, const char *proto)
{
	uint32_t	 h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	h = (h ^ 0xff) * 16777619u;	/* a byte no UTF-8 string holds */
	for (; *proto != '\0'; proto++)
		h = (h ^ (unsigned char)*proto) * 16777619u;
	return h;
}

/* The (id, proto) hash table: one or two probes per lookup. 0 / -1 (nomem). */
static int
index_entities(struct fedtrust_bundle *b, struct fedtrust_error *err)
{
	size_t	 size = 16, i, j;

	while (size < 2 * b->nents)
		size *= 2;
	if ((b->htab = fedtrustp_calloc(size, sizeof(*b->htab))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "bundle index: out of memory");
	b->hmask = size - 1;
	for (i = 0; i < b->nents; i++) {
		j = fedtrustp_entity_hash(b->ents[i].id, b->ents[i].proto) & b->hmask;
		while (b->htab[j] != 0)
			j = (j + 1) & b->hmask;
		b->htab[j] = (uint32_t)i + 1;
	}
	return 0;
}

/* Step 18 over the whole payload, building ents and keys. 0 / -1. */
static int
structure_check(struct fedtrust_bundle *b, struct fedtrust_error *err)
{
	const json_t		*ents, *e, *ka, *tm, *sources;
	struct fedtrust_key	*kp;
	struct fedtrustp_tm	*tp;
	struct ec_groups	 gs = { { NULL, NULL, NULL } };
	size_t			 i, nk = 0, nt = 0;

	sources = json_object_get(b->payload, "sources");
	if (sources == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE, "\"sources\" is missing");
	if (sources_check(sources, err) == -1)
		return -1;
	ents = json_object_get(b->payload, "entities");
	if (!json_is_array(ents))
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "\"entities\" is %s", ents == NULL ? "missing" : "not an array");
	/* Size the arrays first so that the index never reallocates. */
	json_array_foreach(ents, i, e) {
		if (json_is_array(ka = json_object_get(e, "keys")))
			nk += json_array_size(ka);
		if (json_is_array(tm = json_object_get(e, "tm")))
			nt += json_array_size(tm);
	}
	if ((b->ents = fedtrustp_calloc(json_array_size(ents) ? json_array_size(ents) : 1,
	    sizeof(*b->ents))) == NULL ||
	    (b->keys = fedtrustp_calloc(nk ? nk : 1, sizeof(*b->keys))) == NULL ||
	    (b->tms = fedtrustp_calloc(nt ? nt : 1, sizeof(*b->tms))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "bundle: out of memory");
	b->keycap = nk;
	b->ntms = nt;
	kp = b->keys;
	tp = b->tms;
	json_array_foreach(ents, i, e) {
		/* nents counts filled rows so that free releases partial work. */
		b->nents = i + 1;
		if (entity_check(b, e, i, sources, &kp, &tp, &gs, err) == -1) {
			ec_groups_free(&gs);
			return -1;
		}
	}
	ec_groups_free(&gs);
	b->nents = json_array_size(ents);
	if (b->nents > UINT32_MAX - 1)
		return fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE, "too many entities");
	if (index_entities(b, err) == -1)
		return -1;
	return index_x5t(b, err);
}

/* ------------------------------------------------------------ verify */

/* Steps 14-17 on the top-level members. 0 / -1. */
static int
claims_check(const struct fedtrust_trust *t, struct fedtrust_bundle *b, time_t now,
    const struct fedtrust_head *head, const struct fedtrust_state *st,
    struct fedtrust_error *err)
{
	const json_t	*p = b->payload;
	const char	*prev = NULL, *s;
	int64_t		 ver, n;

	/* 14: version and critical extensions. */
	if (fedtrustp_get_int(p, "bundle", "ver", 1, -FEDTRUSTP_MAX_JSON_INT,
	    FEDTRUSTP_MAX_JSON_INT, &ver, err) == -1)
		return -1;
	if (ver != 1)
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "bundle ver %" PRId64 " is not 1", ver);
	if (json_object_get(p, "crit") != NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "bundle has \"crit\": v1 understands no critical extension");
	/* 15: who and which list; the head's announcement. */
	if (fedtrustp_check_iss_list(t, p, "bundle", err) == -1)
		return -1;
	if (fedtrustp_get_int(p, "bundle", "iat", 1, 0, FEDTRUSTP_MAX_JSON_INT, &b->iat,
	    err) == -1 ||
	    fedtrustp_get_int(p, "bundle", "exp", 1, 0, FEDTRUSTP_MAX_JSON_INT, &b->exp,
	    err) == -1 ||
	    fedtrustp_get_int(p, "bundle", "seq", 1, 1, FEDTRUSTP_MAX_JSON_INT, &n, err) == -1 ||
	    fedtrustp_get_int(p, "bundle", "refresh", 1, 60, 86400, &ver, err) == -1 ||
	    fedtrustp_get_str(p, "bundle", "prev", 0, &prev, err) == -1 ||
	    fedtrustp_get_str(p, "bundle", "edig", 0, &s, err) == -1)
		return -1;
	b->seq = (uint64_t)n;
	if ((prev != NULL && !fedtrustp_is_b64u256(prev)) ||
	    (s != NULL && !fedtrustp_is_b64u256(s)))
		return fedtrustp_error_set(err, FEDTRUST_E_CLAIMS,
		    "bundle \"prev\" or \"edig\" is not a base64url SHA-256");
	if (head != NULL && head->seq != b->seq)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "bundle seq %" PRIu64 " is not the head's seq %" PRIu64, b->seq, head->seq);
	if (head != NULL && head->bexp != b->exp)
		return fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "bundle exp %" PRId64 " is not the head's bexp %" PRId64, b->exp, head->bexp);
	/* 16: time. */
	if (fedtrustp_check_times("bundle", b->iat, b->exp, now, t->leeway,
	    FEDTRUSTP_MAX_BUNDLE_LIFE, err) == -1)
		return -1;
	if (st != NULL && b->iat < st->iat)
		return fedtrustp_error_set(err, FEDTRUST_E_ROLLBACK,
		    "bundle iat %" PRId64 " is older than the stored iat %" PRId64, b->iat,
		    st->iat);
	/* 17: sequence.  Re-verifying the applied bundle itself is allowed. */
	if (st != NULL && st->seq != 0) {
		if (b->seq < st->seq)
			return fedtrustp_error_set(err, FEDTRUST_E_ROLLBACK,
			    "bundle seq %" PRIu64 " is older than the applied seq %" PRIu64,
			    b->seq, st->seq);
		if (b->seq == st->seq && strncmp(b->bdig, st->bdig, sizeof(st->bdig)) != 0)
			return fedtrustp_error_set(err, FEDTRUST_E_EQUIVOCATION,
			    "bundle seq %" PRIu64 " differs from the applied bundle of that seq",
			    b->seq);
		if (b->seq == st->seq + 1 && prev != NULL && st->bdig[0] != '\0' &&
		    strncmp(prev, st->bdig, sizeof(st->bdig)) != 0)
			return fedtrustp_error_set(err, FEDTRUST_E_FORK,
			    "bundle seq %" PRIu64 " does not chain to the applied bundle "
			    "(prev is not its digest)", b->seq);
	}
	return 0;
}

/* Verify and index a bundle (see fedtrust.h); caller frees. */
struct fedtrust_bundle *
fedtrust_bundle_verify(const struct fedtrust_trust *t, const char *jws, size_t len,
    time_t now, const struct fedtrust_head *head, const struct fedtrust_state *st,
    struct fedtrust_error *err)
{
	struct fedtrust_bundle	*b = NULL;
	unsigned char		*pl = NULL;
	size_t			 pllen;
	int			 ok = 0;

	fedtrustp_error_clear(err);
	if (t == NULL || jws == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_ARG, "bundle: missing argument");
		return NULL;
	}
	/* 10: size caps and the head's digest of the exact bytes. */
	if (len > t->max_bundle) {
		fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE,
		    "bundle of %zu bytes is over max_bundle_bytes %zu", len, t->max_bundle);
		return NULL;
	}
	if (head != NULL && len > head->blen) {
		fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE,
		    "bundle of %zu bytes is longer than the head's blen %" PRIu64, len,
		    head->blen);
		return NULL;
	}
	if ((b = fedtrustp_calloc(1, sizeof(*b))) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "bundle: out of memory");
		return NULL;
	}
	if (fedtrustp_sha256_b64url(jws, len, b->bdig, err) == -1)
		goto out;
	if (head != NULL && (strncmp(b->bdig, head->bdig, sizeof(head->bdig)) != 0 ||
	    len != head->blen)) {
		fedtrustp_error_set(err, FEDTRUST_E_BUNDLE,
		    "bundle %s is not the one the head announced (bdig/blen)",
		    len != head->blen ? "length" : "digest");
		goto out;
	}
	/* 11-12: strict compact JWS, header, pinned key, signature. */
	if (fedtrustp_jws_verify(jws, len, t->keys, FEDTRUSTP_TYP_BUNDLE, t->max_bundle,
	    &pl, &pllen, err) == -1)
		goto out;
	/* 13: strict JSON. */
	if ((b->payload = fedtrustp_json_parse(pl, pllen, pllen, FEDTRUSTP_MAX_JSON_DEPTH,
	    err)) == NULL)
		goto out;
	fedtrustp_free(pl);
	pl = NULL;
	if (!json_is_object(b->payload)) {
		fedtrustp_error_set(err, FEDTRUST_E_CLAIMS, "bundle payload is not a JSON object");
		goto out;
	}
	/* 14-17, then 18. */
	if (claims_check(t, b, now, head, st, err) == -1 ||
	    structure_check(b, err) == -1 || fedtrustp_revoked_parse(b, err) == -1)
		goto out;
	ok = 1;
 out:
	fedtrustp_free(pl);
	if (!ok) {
		fedtrust_bundle_free(b);
		b = NULL;
	}
	return b;
}

void
fedtrust_bundle_free(struct fedtrust_bundle *b)
{
	size_t	 i;

	if (b == NULL)
		return;
	/* Every key slot that a check touched may own a dump and a DER copy. */
	for (i = 0; i < b->keycap; i++) {
		fedtrustp_free(b->keys[i].json);
		fedtrustp_free(b->keys[i].der);
	}
	fedtrustp_free(b->x5t);
	fedtrustp_free(b->htab);
	fedtrustp_free(b->keys);
	fedtrustp_free(b->tms);
	fedtrustp_free(b->ents);
	fedtrustp_free(b->revs);
	json_decref(b->payload);
	fedtrustp_free(b);
}
