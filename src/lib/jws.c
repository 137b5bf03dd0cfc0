/*
 * libfedtrust: compact JWS (RFC 7515) with the fedtrust profile: header
 * exactly {"alg","kid","typ"}, algorithms bound to pinned keys, strict
 * base64url and JSON, ECDSA in fixed-length R||S (docs/jws.md).
 */
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "lib/private.h"

enum alg_kind { KIND_EC, KIND_ED25519, KIND_PSS, KIND_PKCS1 };

static const struct alg_info {
	const char	*name;		/* JWS "alg" */
	enum alg_kind	 kind;
	const char	*md;		/* digest; NULL for Ed25519 */
	const char	*crv;		/* EC curve (JWK name) */
	size_t		 flen;		/* EC: bytes of r and of s; PSS: salt length */
} alg_infos[FEDTRUSTP_ALG_MAX] = {
	[FEDTRUSTP_ALG_ES256] = { "ES256", KIND_EC, "SHA256", "P-256", 32 },
	[FEDTRUSTP_ALG_ES384] = { "ES384", KIND_EC, "SHA384", "P-384", 48 },
	[FEDTRUSTP_ALG_ED25519] = { "Ed25519", KIND_ED25519, NULL, NULL, 0 },
	[FEDTRUSTP_ALG_PS256] = { "PS256", KIND_PSS, "SHA256", NULL, 32 },
	[FEDTRUSTP_ALG_RS256] = { "RS256", KIND_PKCS1, "SHA256", NULL, 0 },
	[FEDTRUSTP_ALG_ES512] = { "ES512", KIND_EC, "SHA512", "P-521", 66 },
	[FEDTRUSTP_ALG_PS384] = { "PS384", KIND_PSS, "SHA384", NULL, 48 },
};

static const struct alg_info *
alg_info(int alg)
{
	if (alg <= FEDTRUSTP_ALG_UNKNOWN || alg >= FEDTRUSTP_ALG_MAX)
		return NULL;
	return &alg_infos[alg];
}

const char *
fedtrustp_alg_name(int alg)
{
	const struct alg_info	*ai = alg_info(alg);

	return ai == NULL ? NULL : ai->name;
}

/* Exact, case-sensitive: "none", "NONE", "EdDSA" and "es256" are all unknown. */
int
fedtrustp_alg_from_name(const char *name)
{
	int	 i;

	for (i = FEDTRUSTP_ALG_UNKNOWN + 1; i < FEDTRUSTP_ALG_MAX; i++)
		if (strcmp(name, alg_infos[i].name) == 0)
			return i;
	return FEDTRUSTP_ALG_UNKNOWN;
}

int
fedtrustp_alg_pinnable(int alg)
{
	return alg == FEDTRUSTP_ALG_ES256 || alg == FEDTRUSTP_ALG_ES384 ||
	    alg == FEDTRUSTP_ALG_ED25519 || alg == FEDTRUSTP_ALG_PS256;
}

/* The key's type decides the algorithm; never the header (see private.h). */
int
fedtrustp_alg_fits_key(int alg, EVP_PKEY *pkey, struct fedtrust_error *err)
{
	const struct alg_info	*ai = alg_info(alg);
	const char		*crv;
	int			 bits;

	if (ai == NULL || pkey == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "no alg or no key");
	switch (ai->kind) {
	case KIND_EC:
		crv = fedtrustp_pkey_curve(pkey);
		if (crv == NULL || strcmp(crv, ai->crv) != 0)
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s needs an EC %s key, not %s", ai->name, ai->crv,
			    crv != NULL ? crv : EVP_PKEY_get0_type_name(pkey));
		return 0;
	case KIND_ED25519:
		if (!EVP_PKEY_is_a(pkey, "ED25519"))
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "Ed25519 needs an Ed25519 key");
		return 0;
	case KIND_PSS:
	case KIND_PKCS1:
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "%s needs an RSA key", ai->name);
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < FEDTRUSTP_RSA_MIN_BITS || bits > FEDTRUSTP_RSA_MAX_BITS)
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "RSA key of %d bits (allowed %d to %d)", bits,
			    FEDTRUSTP_RSA_MIN_BITS, FEDTRUSTP_RSA_MAX_BITS);
		return 0;
	}
	return fedtrustp_error_set(err, FEDTRUST_E_ARG, "unknown alg kind");
}

/* A digest context set up for alg with key (PSS parameters included). */
static EVP_MD_CTX *
md_ctx_new(const struct alg_info *ai, EVP_PKEY *key, int sign, struct fedtrust_error *err)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "out of memory in OpenSSL");
		return NULL;
	}
	if (sign)
		ok = EVP_DigestSignInit_ex(ctx, &pctx, ai->md, NULL, NULL, key, NULL);
	else
		ok = EVP_DigestVerifyInit_ex(ctx, &pctx, ai->md, NULL, NULL, key, NULL);
	if (ok == 1 && ai->kind == KIND_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, ai->md, NULL) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)ai->flen) == 1;
	else if (ok == 1 && ai->kind == KIND_PKCS1)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	if (ok != 1) {
		ERR_clear_error();
		EVP_MD_CTX_free(ctx);
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "%s: cannot set up the key for %s",
		    ai->name, sign ? "signing" : "verification");
		return NULL;
	}
	return ctx;
}

/* Order n of an EC curve, big-endian, left-padded to flen bytes. 0 / -1. */
static int
ec_order(const struct alg_info *ai, unsigned char *out, struct fedtrust_error *err)
{
	EC_GROUP	*g;
	int		 nid, rc = -1;

	nid = strcmp(ai->crv, "P-256") == 0 ? NID_X9_62_prime256v1 :
	    strcmp(ai->crv, "P-384") == 0 ? NID_secp384r1 : NID_secp521r1;
	if ((g = EC_GROUP_new_by_curve_name(nid)) == NULL) {
		ERR_clear_error();
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "cannot load curve %s", ai->crv);
	}
	if (BN_bn2binpad(EC_GROUP_get0_order(g), out, (int)ai->flen) == (int)ai->flen)
		rc = 0;
	else
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "curve %s order too large", ai->crv);
	EC_GROUP_free(g);
	return rc;
}

/* 1 when the big-endian flen-byte integer v is in [1, n-1]. */
static int
ec_scalar_ok(const unsigned char *v, const unsigned char *n, size_t flen)
{
	size_t	 i;

	for (i = 0; i < flen && v[i] == 0; i++)
		;
	if (i == flen)
		return 0;
	return memcmp(v, n, flen) < 0;
}

/* DER INTEGER of a positive big-endian value at der[*o]. */
static void
der_integer(const unsigned char *v, size_t len, unsigned char *der, size_t *o)
{
	while (len > 1 && v[0] == 0) {
		v++;
		len--;
	}
	der[(*o)++] = 0x02;
	der[(*o)++] = (unsigned char)(len + (v[0] & 0x80 ? 1 : 0));
	if (v[0] & 0x80)
		der[(*o)++] = 0x00;
	memcpy(der + *o, v, len);
	*o += len;
}

/*
 * R||S (each flen bytes, already range-checked) -> DER Ecdsa-Sig-Value,
 * written here so that OpenSSL never parses a DER signature from the wire.
 * der must hold 2 * (flen + 3) + 3 bytes.  Returns the length.
 */
static size_t
ec_sig_to_der(const unsigned char *sig, size_t flen, unsigned char *der)
{
	unsigned char	 body[2 * (66 + 3)];
	size_t		 blen = 0, o = 0;

	der_integer(sig, flen, body, &blen);
	der_integer(sig + flen, flen, body, &blen);
	der[o++] = 0x30;
	if (blen >= 0x80)
		der[o++] = 0x81;
	der[o++] = (unsigned char)blen;
	memcpy(der + o, body, blen);
	return o + blen;
}

/* Verify one signature over input (see private.h). */
int
fedtrustp_jws_verify_raw(const void *input, size_t inlen, const unsigned char *sig,
    size_t siglen, EVP_PKEY *key, int alg, struct fedtrust_error *err)
{
	const struct alg_info	*ai = alg_info(alg);
	EVP_MD_CTX		*ctx = NULL;
	unsigned char		 n[66], der[2 * (66 + 3) + 3];
	const unsigned char	*s = sig;
	size_t			 slen = siglen, keylen;
	int			 rc = -1;

	if (ai == NULL || sig == NULL || (input == NULL && inlen > 0))
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "verify: bad arguments");
	if (fedtrustp_alg_fits_key(alg, key, err) == -1)
		return -1;
	switch (ai->kind) {
	case KIND_EC:
		/* RFC 7518 3.4: exactly R||S; DER and short forms are not JWS. */
		if (siglen != 2 * ai->flen)
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_SIG,
			    "%s signature is %zu bytes, not %zu (R||S)", ai->name, siglen,
			    2 * ai->flen);
		if (ec_order(ai, n, err) == -1)
			return -1;
		/* CVE-2022-21449: r = s = 0 must never reach a verifier. */
		if (!ec_scalar_ok(sig, n, ai->flen) || !ec_scalar_ok(sig + ai->flen, n, ai->flen))
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_SIG,
			    "%s signature: r or s outside [1, n-1]", ai->name);
		slen = ec_sig_to_der(sig, ai->flen, der);
		s = der;
		break;
	case KIND_ED25519:
		if (siglen != 64)
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_SIG,
			    "Ed25519 signature is %zu bytes, not 64", siglen);
		break;
	case KIND_PSS:
	case KIND_PKCS1:
		keylen = (size_t)EVP_PKEY_get_size(key);
		if (siglen != keylen)
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_SIG,
			    "%s signature is %zu bytes, not the modulus length %zu",
			    ai->name, siglen, keylen);
		break;
	}
	if ((ctx = md_ctx_new(ai, key, 0, err)) == NULL)
		return -1;
	/* Only 1 is valid: 0 is a bad signature, negative an error. */
	if (EVP_DigestVerify(ctx, s, slen, input, inlen) == 1)
		rc = 0;
	else
		fedtrustp_error_set(err, FEDTRUST_E_JWS_SIG, "%s signature does not verify",
		    ai->name);
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* DER Ecdsa-Sig-Value from OpenSSL -> R||S of 2 * flen bytes into out. 0 / -1. */
static int
ec_der_to_sig(const unsigned char *der, size_t len, size_t flen, unsigned char *out,
    struct fedtrust_error *err)
{
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	int		 rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &der, (long)len)) == NULL) {
		ERR_clear_error();
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "signer returned a bad ECDSA signature");
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)flen) == (int)flen &&
	    BN_bn2binpad(s, out + flen, (int)flen) == (int)flen)
		rc = 0;
	else
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "signer returned an oversized ECDSA signature");
	ECDSA_SIG_free(es);
	return rc;
}

/* 1 when typ is a plausible media type token we can put in a header as is. */
static int
typ_ok(const char *typ)
{
	size_t	 i;

	if (typ == NULL || typ[0] == '\0' || strlen(typ) > 255)
		return 0;
	for (i = 0; typ[i] != '\0'; i++)
		if (typ[i] <= 0x20 || typ[i] >= 0x7f || typ[i] == '"' || typ[i] == '\\')
			return 0;
	return 1;
}

/* Compact JWS (see private.h). */
char *
fedtrustp_jws_sign(const unsigned char *payload, size_t len, EVP_PKEY *priv, int alg,
    const char *typ, struct fedtrust_error *err)
{
	const struct alg_info	*ai = alg_info(alg);
	char			 kid[FEDTRUSTP_JKT_LEN + 1];
	json_t			*hdr = NULL;
	char			*hjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
	char			*input = NULL, *out = NULL;
	unsigned char		*sig = NULL, rs[2 * 66];
	size_t			 inlen, siglen = 0, rslen, outlen;
	EVP_MD_CTX		*ctx = NULL;

	if (!fedtrustp_alg_pinnable(alg) || !typ_ok(typ) || priv == NULL ||
	    (payload == NULL && len > 0)) {
		fedtrustp_error_set(err, FEDTRUST_E_ARG,
		    "sign: alg must be ES256, ES384, Ed25519 or PS256, typ a media type token");
		return NULL;
	}
	if (fedtrustp_alg_fits_key(alg, priv, err) == -1 ||
	    fedtrustp_pkey_thumbprint(priv, kid, err) == -1)
		return NULL;
	if ((hdr = json_pack("{s:s,s:s,s:s}", "alg", ai->name, "kid", kid, "typ", typ)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "sign: out of memory");
		goto out;
	}
	if ((hjson = fedtrustp_json_dump_canonical(hdr, err)) == NULL ||
	    (h64 = fedtrustp_b64url_encode(hjson, strlen(hjson), err)) == NULL ||
	    (p64 = fedtrustp_b64url_encode(payload, len, err)) == NULL)
		goto out;
	inlen = strlen(h64) + 1 + strlen(p64);
	if ((input = fedtrustp_malloc(inlen + 1)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "sign: out of memory");
		goto out;
	}
	memcpy(input, h64, strlen(h64));
	input[strlen(h64)] = '.';
	memcpy(input + strlen(h64) + 1, p64, strlen(p64) + 1);

	if ((ctx = md_ctx_new(ai, priv, 1, err)) == NULL)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)input, inlen) != 1 ||
	    siglen == 0) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "sign: %s signing failed", ai->name);
		goto out;
	}
	if ((sig = fedtrustp_malloc(siglen)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "sign: out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, inlen) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "sign: %s signing failed", ai->name);
		goto out;
	}
	if (ai->kind == KIND_EC) {
		rslen = 2 * ai->flen;
		if (ec_der_to_sig(sig, siglen, ai->flen, rs, err) == -1)
			goto out;
		s64 = fedtrustp_b64url_encode(rs, rslen, err);
	} else
		s64 = fedtrustp_b64url_encode(sig, siglen, err);
	if (s64 == NULL)
		goto out;
	outlen = inlen + 1 + strlen(s64);
	if ((out = fedtrustp_malloc(outlen + 1)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "sign: out of memory");
		goto out;
	}
	memcpy(out, input, inlen);
	out[inlen] = '.';
	memcpy(out + inlen + 1, s64, strlen(s64) + 1);
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	fedtrustp_free(sig);
	fedtrustp_free(s64);
	fedtrustp_free(input);
	fedtrustp_free(p64);
	fedtrustp_free(h64);
	fedtrustp_free(hjson);
	json_decref(hdr);
	return out;
}

/*
 * Header rules after strict JSON (docs/jws.md): members only alg/kid/typ
 * (JWS_HEADER), alg one of the four (JWS_ALG), typ as expected (JWS_TYP),
 * kid a pinned thumbprint (JWS_KID), the pin's alg equal to alg (JWS_ALG).
 * *pin is borrowed from pins.  0 / -1.
 */
static int
jws_header_check(const json_t *hdr, const struct fedtrustp_keyset *pins,
    const char *typ, const struct fedtrustp_pin **pin, int *algp,
    struct fedtrust_error *err)
{
	const char	*k, *s;
	json_t		*v;
	char		 buf[64];
	int		 alg;

	if (!json_is_object(hdr))
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_HEADER,
		    "JWS header is not a JSON object");
	json_object_foreach((json_t *)hdr, k, v) {
		if (strcmp(k, "alg") != 0 && strcmp(k, "kid") != 0 && strcmp(k, "typ") != 0)
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_HEADER,
			    "JWS header member \"%s\" is not allowed (only alg, kid, typ)",
			    fedtrustp_sanitize(k, strlen(k), buf, sizeof(buf)));
	}

	v = json_object_get(hdr, "alg");
	if (!json_is_string(v))
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_ALG, "JWS header alg is %s",
		    v == NULL ? "missing" : "not a string");
	s = json_string_value(v);
	alg = fedtrustp_alg_from_name(s);
	if (!fedtrustp_alg_pinnable(alg))
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_ALG,
		    "JWS alg \"%s\" is not ES256, ES384, Ed25519 or PS256",
		    fedtrustp_sanitize(s, json_string_length(v), buf, sizeof(buf)));

	v = json_object_get(hdr, "typ");
	if (!json_is_string(v))
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_TYP, "JWS header typ is %s",
		    v == NULL ? "missing" : "not a string");
	/* Media types compare case-insensitively; no "application/" prefix. */
	if (json_string_length(v) != strlen(typ) || strcasecmp(json_string_value(v), typ) != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_TYP,
		    "JWS typ \"%s\" is not \"%s\"", fedtrustp_sanitize(json_string_value(v),
		    json_string_length(v), buf, sizeof(buf)), typ);

	v = json_object_get(hdr, "kid");
	if (!json_is_string(v))
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_KID, "JWS header kid is %s",
		    v == NULL ? "missing" : "not a string");
	/* An in-memory lookup by recomputed thumbprint; nothing else. */
	if ((*pin = fedtrustp_keyset_find(pins, json_string_value(v),
	    json_string_length(v))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_KID,
		    "JWS kid \"%s\" is not the thumbprint of a pinned key",
		    fedtrustp_sanitize(json_string_value(v), json_string_length(v), buf,
		    sizeof(buf)));
	if ((*pin)->alg != alg)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_ALG,
		    "JWS alg %s is not the pinned key's alg %s", fedtrustp_alg_name(alg),
		    fedtrustp_alg_name((*pin)->alg));
	*algp = alg;
	return 0;
}

/* The strict verifier (see private.h and docs/jws.md for the order of checks). */
int
fedtrustp_jws_verify(const char *jws, size_t len, const struct fedtrustp_keyset *pins,
    const char *typ, size_t max_len, unsigned char **payload, size_t *payloadsz,
    struct fedtrust_error *err)
{
	const struct fedtrustp_pin	*pin = NULL;
	const char			*d1, *d2;
	unsigned char			*hbuf = NULL, *pbuf = NULL, *sbuf = NULL;
	size_t				 hlen, plen, slen, i, dots = 0;
	json_t				*hdr = NULL;
	int				 alg = 0, rc = -1;

	if (payload != NULL)
		*payload = NULL;
	if (payloadsz != NULL)
		*payloadsz = 0;
	if (jws == NULL || pins == NULL || typ == NULL || payload == NULL || payloadsz == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "verify: missing argument");
	if (len > max_len)
		return fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE,
		    "JWS of %zu bytes is over the cap of %zu", len, max_len);

	/* Exactly three segments; the header and signature are never empty. */
	for (i = 0; i < len; i++)
		if (jws[i] == '.')
			dots++;
	if (dots != 2)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "not a compact JWS: %zu segments, not 3", dots + 1);
	d1 = memchr(jws, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws));
	if (d1 == jws || d2 + 1 == jws + len)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "compact JWS with an empty %s segment", d1 == jws ? "header" : "signature");
	if ((size_t)(d1 - jws) > FEDTRUSTP_MAX_HEADER_B64)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "JWS header segment over %d characters", FEDTRUSTP_MAX_HEADER_B64);
	if (fedtrustp_b64url_decode(jws, (size_t)(d1 - jws), &hbuf, &hlen, err) == -1 ||
	    fedtrustp_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pbuf, &plen, err) == -1 ||
	    fedtrustp_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jws), &sbuf, &slen,
	    err) == -1)
		goto out;

	if ((hdr = fedtrustp_json_parse(hbuf, hlen, FEDTRUSTP_MAX_HEADER_B64,
	    FEDTRUSTP_MAX_JSON_DEPTH, err)) == NULL)
		goto out;
	if (jws_header_check(hdr, pins, typ, &pin, &alg, err) == -1)
		goto out;

	/* The signing input is the exact received ASCII, never a re-encoding. */
	if (fedtrustp_jws_verify_raw(jws, (size_t)(d2 - jws), sbuf, slen, pin->pkey, alg,
	    err) == -1)
		goto out;
	*payload = pbuf;
	*payloadsz = plen;
	pbuf = NULL;
	rc = 0;
 out:
	json_decref(hdr);
	fedtrustp_free(hbuf);
	fedtrustp_free(pbuf);
	fedtrustp_free(sbuf);
	return rc;
}
