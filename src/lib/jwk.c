/*
 * libfedtrust: public JWKs (RFC 7517/7518/8037) to and from OpenSSL 3 keys,
 * RFC 7638 thumbprints, and the pinned key set of a consumer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "lib/private.h"

/* The EC curves a JWK may name, with OpenSSL's name and the field length. */
static const struct jwk_curve {
	const char	*jwk;		/* "crv" */
	const char	*ossl;		/* OpenSSL group name */
	size_t		 flen;		/* bytes of one coordinate */
} jwk_curves[] = {
	{ "P-256", "prime256v1", 32 },
	{ "P-384", "secp384r1", 48 },
	{ "P-521", "secp521r1", 66 },
};

/* Members that only a private (or symmetric) key has (RFC 7518 section 6). */
static const char *const jwk_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

static const struct jwk_curve *
curve_by_jwk(const char *crv)
{
	size_t	 i;

	for (i = 0; i < sizeof(jwk_curves) / sizeof(jwk_curves[0]); i++)
		if (strcmp(crv, jwk_curves[i].jwk) == 0)
			return &jwk_curves[i];
	return NULL;
}

/* The JWK curve of an EC key, NULL if none we know (or not EC). */
static const struct jwk_curve *
curve_of_pkey(EVP_PKEY *pkey)
{
	char	 name[64];
	size_t	 i, len;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1)
		return NULL;
	for (i = 0; i < sizeof(jwk_curves) / sizeof(jwk_curves[0]); i++)
		if (strcmp(name, jwk_curves[i].ossl) == 0 ||
		    strcmp(name, jwk_curves[i].jwk) == 0)
			return &jwk_curves[i];
	return NULL;
}

/* JWK curve name of an EC key ("P-256"), NULL if none. Static. */
const char *
fedtrustp_pkey_curve(EVP_PKEY *pkey)
{
	const struct jwk_curve	*c = curve_of_pkey(pkey);

	return c == NULL ? NULL : c->jwk;
}

/* Borrowed string member name of jwk, or NULL with FEDTRUST_E_KEY. */
static const char *
jwk_string(const json_t *jwk, const char *name, struct fedtrust_error *err)
{
	json_t	*v = json_object_get(jwk, name);

	if (!json_is_string(v)) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK member \"%s\" is %s",
		    name, v == NULL ? "missing" : "not a string");
		return NULL;
	}
	return json_string_value(v);
}

/*
 * Decode a base64url key parameter.  A bad encoding is a bad key
 * (FEDTRUST_E_KEY).  Caller frees *out.  0 / -1.
 */
int
fedtrustp_jwk_bytes(const json_t *jwk, const char *name, unsigned char **out, size_t *len,
    struct fedtrust_error *err)
{
	const char	*s;
	json_t		*v;

	if ((s = jwk_string(jwk, name, err)) == NULL)
		return -1;
	v = json_object_get(jwk, name);
	if (fedtrustp_b64url_decode(s, json_string_length(v), out, len, err) == -1) {
		if (err != NULL && err->code == FEDTRUST_E_NOMEM)
			return -1;
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "JWK member \"%s\" is not strict base64url", name);
	}
	return 0;
}

/* Make a public key of type from params; FEDTRUST_E_KEY if OpenSSL refuses. */
static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, struct fedtrust_error *err)
{
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL, *cctx = NULL;
	EVP_PKEY	*pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory in OpenSSL");
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK: not a valid %s public key", type);
		goto out;
	}
	/*
	 * EC and OKP: on the curve and not the point at infinity; the allowed
	 * curves have cofactor 1, so that is subgroup membership too, and the
	 * quick check skips the multiplication by the order (about 100 us).
	 * RSA: the size and parity rules above are the check; OpenSSL's full
	 * public check is the SP 800-56B composite test of n (about 6 ms per
	 * key), which protects nobody here.
	 */
	if (strcmp(type, "RSA") != 0 &&
	    ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(cctx) != 1)) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "JWK: %s public key fails validation (point not on the curve?)", type);
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
 out:
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return pkey;
}

static EVP_PKEY *
jwk_ec(const json_t *jwk, struct fedtrust_error *err)
{
	const struct jwk_curve	*c;
	const char		*crv;
	unsigned char		*x = NULL, *y = NULL, pt[1 + 2 * 66];
	size_t			 xlen, ylen;
	OSSL_PARAM_BLD		*bld = NULL;
	EVP_PKEY		*pkey = NULL;
	char			 buf[40];

	if ((crv = jwk_string(jwk, "crv", err)) == NULL)
		return NULL;
	if ((c = curve_by_jwk(crv)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "EC JWK: unsupported curve \"%s\"",
		    fedtrustp_sanitize(crv, strlen(crv), buf, sizeof(buf)));
		return NULL;
	}
	if (fedtrustp_jwk_bytes(jwk, "x", &x, &xlen, err) == -1 ||
	    fedtrustp_jwk_bytes(jwk, "y", &y, &ylen, err) == -1)
		goto out;
	/* RFC 7518 6.2.1.2: full-length coordinates, so one spelling per key. */
	if (xlen != c->flen || ylen != c->flen) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "EC JWK: %s coordinates must be %zu bytes (x %zu, y %zu)",
		    c->jwk, c->flen, xlen, ylen);
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, x, xlen);
	memcpy(pt + 1 + xlen, y, ylen);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + 2 * c->flen) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "EC JWK: out of memory in OpenSSL");
		goto out;
	}
	pkey = pkey_fromdata("EC", bld, err);
 out:
	OSSL_PARAM_BLD_free(bld);
	fedtrustp_free(x);
	fedtrustp_free(y);
	return pkey;
}

static EVP_PKEY *
jwk_rsa(const json_t *jwk, struct fedtrust_error *err)
{
	unsigned char	*n = NULL, *e = NULL;
	size_t		 nlen, elen, bits;
	BIGNUM		*bn = NULL, *be = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pkey = NULL;

	if (fedtrustp_jwk_bytes(jwk, "n", &n, &nlen, err) == -1 ||
	    fedtrustp_jwk_bytes(jwk, "e", &e, &elen, err) == -1)
		goto out;
	/* RFC 7518 6.3.1: minimal octets; a leading zero would change the thumbprint. */
	if (nlen == 0 || elen == 0 || n[0] == 0 || e[0] == 0) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "RSA JWK: n and e must be non-empty without leading zero octets");
		goto out;
	}
	bits = nlen * 8;
	while (!(n[0] & (0x80 >> (nlen * 8 - bits))))
		bits--;
	if (bits < FEDTRUSTP_RSA_MIN_BITS || bits > FEDTRUSTP_RSA_MAX_BITS) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "RSA JWK: modulus of %zu bits (allowed %d to %d)", bits,
		    FEDTRUSTP_RSA_MIN_BITS, FEDTRUSTP_RSA_MAX_BITS);
		goto out;
	}
	if (!(n[nlen - 1] & 1) || !(e[elen - 1] & 1) || elen > 32 ||
	    (elen == 1 && e[0] < 3)) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "RSA JWK: modulus or exponent not sane (even, e < 3 or e over 256 bits)");
		goto out;
	}
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "RSA JWK: out of memory in OpenSSL");
		goto out;
	}
	pkey = pkey_fromdata("RSA", bld, err);
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	fedtrustp_free(n);
	fedtrustp_free(e);
	return pkey;
}

static EVP_PKEY *
jwk_okp(const json_t *jwk, struct fedtrust_error *err)
{
	const char	*crv;
	unsigned char	*x = NULL;
	size_t		 xlen;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pkey = NULL;
	char		 buf[40];

	if ((crv = jwk_string(jwk, "crv", err)) == NULL)
		return NULL;
	if (strcmp(crv, "Ed25519") != 0) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "OKP JWK: unsupported curve \"%s\"",
		    fedtrustp_sanitize(crv, strlen(crv), buf, sizeof(buf)));
		return NULL;
	}
	if (fedtrustp_jwk_bytes(jwk, "x", &x, &xlen, err) == -1)
		return NULL;
	if (xlen != 32) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "OKP JWK: Ed25519 x is %zu bytes, not 32",
		    xlen);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x, xlen) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "OKP JWK: out of memory in OpenSSL");
		goto out;
	}
	pkey = pkey_fromdata("ED25519", bld, err);
 out:
	OSSL_PARAM_BLD_free(bld);
	fedtrustp_free(x);
	return pkey;
}

/* Public JWK -> key (see private.h). */
int
fedtrustp_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct fedtrust_error *err)
{
	const char	*kty;
	size_t		 i;
	char		 buf[40];

	*out = NULL;
	if (!json_is_object(jwk))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK is not a JSON object");
	for (i = 0; i < sizeof(jwk_private_members) / sizeof(jwk_private_members[0]); i++)
		if (json_object_get(jwk, jwk_private_members[i]) != NULL)
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "JWK has the private member \"%s\"", jwk_private_members[i]);
	if ((kty = jwk_string(jwk, "kty", err)) == NULL)
		return -1;
	if (strcmp(kty, "EC") == 0)
		*out = jwk_ec(jwk, err);
	else if (strcmp(kty, "RSA") == 0)
		*out = jwk_rsa(jwk, err);
	else if (strcmp(kty, "OKP") == 0)
		*out = jwk_okp(jwk, err);
	else
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK kty \"%s\" is not supported",
		    fedtrustp_sanitize(kty, strlen(kty), buf, sizeof(buf)));
	return *out == NULL ? -1 : 0;
}

/* Add member name = base64url(buf) to obj. 0 / -1 (nomem). */
static int
jwk_set_b64(json_t *obj, const char *name, const unsigned char *buf, size_t len,
    struct fedtrust_error *err)
{
	char	*s;
	int	 rc;

	if ((s = fedtrustp_b64url_encode(buf, len, err)) == NULL)
		return -1;
	rc = json_object_set_new(obj, name, json_string(s));
	fedtrustp_free(s);
	if (rc == -1)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory");
	return 0;
}

/* Add name = the key's BIGNUM parameter, minimal (flen 0) or left-padded to flen. */
static int
jwk_set_bn(json_t *obj, const char *name, EVP_PKEY *pkey, const char *param,
    size_t flen, struct fedtrust_error *err)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[FEDTRUSTP_RSA_MAX_BITS / 8];
	int		 len, rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "key: cannot read %s", param);
		goto out;
	}
	if (flen == 0) {
		if (BN_num_bytes(bn) > (int)sizeof(buf)) {
			fedtrustp_error_set(err, FEDTRUST_E_KEY, "key: %s too large", param);
			goto out;
		}
		len = BN_bn2bin(bn, buf);
	} else
		len = BN_bn2binpad(bn, buf, (int)flen);
	if (len <= 0) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "key: bad %s", param);
		goto out;
	}
	rc = jwk_set_b64(obj, name, buf, (size_t)len, err);
 out:
	BN_free(bn);
	ERR_clear_error();
	return rc;
}

/* Public JWK of a key (see private.h). */
json_t *
fedtrustp_pkey_to_jwk(EVP_PKEY *pkey, struct fedtrust_error *err)
{
	const struct jwk_curve	*c;
	json_t			*jwk;
	unsigned char		 raw[64];
	size_t			 rawlen = sizeof(raw);
	int			 rc = -1;

	if ((jwk = json_object()) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory");
		return NULL;
	}
	if ((c = curve_of_pkey(pkey)) != NULL) {
		if (json_object_set_new(jwk, "kty", json_string("EC")) == -1 ||
		    json_object_set_new(jwk, "crv", json_string(c->jwk)) == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory");
			goto out;
		}
		if (jwk_set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, c->flen, err) == -1 ||
		    jwk_set_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, c->flen, err) == -1)
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (json_object_set_new(jwk, "kty", json_string("RSA")) == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory");
			goto out;
		}
		if (jwk_set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0, err) == -1 ||
		    jwk_set_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0, err) == -1)
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != 32) {
			ERR_clear_error();
			fedtrustp_error_set(err, FEDTRUST_E_KEY, "key: cannot read the Ed25519 public key");
			goto out;
		}
		if (json_object_set_new(jwk, "kty", json_string("OKP")) == -1 ||
		    json_object_set_new(jwk, "crv", json_string("Ed25519")) == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "JWK: out of memory");
			goto out;
		}
		if (jwk_set_b64(jwk, "x", raw, rawlen, err) == -1)
			goto out;
	} else {
		fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "key type is not EC P-256/P-384/P-521, RSA or Ed25519");
		goto out;
	}
	rc = 0;
 out:
	if (rc == -1) {
		json_decref(jwk);
		jwk = NULL;
	}
	return jwk;
}

/* RFC 7638 thumbprint (see private.h). */
int
fedtrustp_jwk_thumbprint(const json_t *jwk, char out[FEDTRUSTP_JKT_LEN + 1],
    struct fedtrust_error *err)
{
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const okp[] = { "crv", "kty", "x", NULL };
	const char *const	*req;
	const char		*kty;
	json_t			*t = NULL, *v;
	char			*s = NULL;
	size_t			 i;
	int			 rc = -1;

	if (!json_is_object(jwk))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK is not a JSON object");
	if ((kty = jwk_string(jwk, "kty", err)) == NULL)
		return -1;
	if (strcmp(kty, "EC") == 0)
		req = ec;
	else if (strcmp(kty, "RSA") == 0)
		req = rsa;
	else if (strcmp(kty, "OKP") == 0)
		req = okp;
	else
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "thumbprint: kty is not EC, RSA or OKP");
	if ((t = json_object()) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "thumbprint: out of memory");
		goto out;
	}
	/* Exactly the required members (RFC 7638 section 3.2), copied as they are. */
	for (i = 0; req[i] != NULL; i++) {
		if (jwk_string(jwk, req[i], err) == NULL)
			goto out;
		v = json_object_get(jwk, req[i]);
		if (json_object_set(t, req[i], v) == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "thumbprint: out of memory");
			goto out;
		}
	}
	if ((s = fedtrustp_json_dump_canonical(t, err)) == NULL)
		goto out;
	if (fedtrustp_sha256_b64url(s, strlen(s), out, err) == -1)
		goto out;
	rc = 0;
 out:
	fedtrustp_free(s);
	json_decref(t);
	return rc;
}

int
fedtrustp_pkey_thumbprint(EVP_PKEY *pkey, char out[FEDTRUSTP_JKT_LEN + 1],
    struct fedtrust_error *err)
{
	json_t	*jwk;
	int	 rc;

	if ((jwk = fedtrustp_pkey_to_jwk(pkey, err)) == NULL)
		return -1;
	rc = fedtrustp_jwk_thumbprint(jwk, out, err);
	json_decref(jwk);
	return rc;
}

/* One PEM public key from memory (see private.h). */
int
fedtrustp_pkey_from_pem(const void *buf, size_t len, EVP_PKEY **out,
    struct fedtrust_error *err)
{
	BIO	*bio;

	*out = NULL;
	if (len > FEDTRUSTP_MAX_KEYFILE)
		return fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE, "PEM key file too large");
	/* A pin is public: never accept (or keep in memory) a private key file. */
	if (memmem(buf, len, "PRIVATE KEY", 11) != NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "PEM file holds a private key; pin the public key only");
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "PEM: out of memory");
	*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (*out == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "no PEM \"PUBLIC KEY\" block could be read");
	return 0;
}

/* ------------------------------------------------------------ key set */

struct fedtrustp_keyset *
fedtrustp_keyset_new(struct fedtrust_error *err)
{
	struct fedtrustp_keyset	*set;

	if ((set = fedtrustp_calloc(1, sizeof(*set))) == NULL)
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "key set: out of memory");
	return set;
}

/* Drop the pins from index n on (undoes a failed multi-key add). */
static void
keyset_truncate(struct fedtrustp_keyset *set, size_t n)
{
	while (set->n > n)
		EVP_PKEY_free(set->pins[--set->n].pkey);
}

void
fedtrustp_keyset_free(struct fedtrustp_keyset *set)
{
	if (set == NULL)
		return;
	keyset_truncate(set, 0);
	fedtrustp_free(set->pins);
	fedtrustp_free(set);
}

const struct fedtrustp_pin *
fedtrustp_keyset_find(const struct fedtrustp_keyset *set, const char *kid, size_t kidlen)
{
	size_t	 i;

	if (set == NULL || kidlen != FEDTRUSTP_JKT_LEN)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (memcmp(set->pins[i].jkt, kid, FEDTRUSTP_JKT_LEN) == 0)
			return &set->pins[i];
	return NULL;
}

/* Pin a key for alg (see private.h). */
int
fedtrustp_keyset_add_pkey(struct fedtrustp_keyset *set, EVP_PKEY *pkey, int alg,
    struct fedtrust_error *err)
{
	struct fedtrustp_pin	*pins;
	char			 jkt[FEDTRUSTP_JKT_LEN + 1];

	if (set == NULL || pkey == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "key set: no set or key");
	if (!fedtrustp_alg_pinnable(alg))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "a pinned key's alg must be ES256, ES384, Ed25519 or PS256");
	if (fedtrustp_alg_fits_key(alg, pkey, err) == -1)
		return -1;
	if (fedtrustp_pkey_thumbprint(pkey, jkt, err) == -1)
		return -1;
	if (fedtrustp_keyset_find(set, jkt, FEDTRUSTP_JKT_LEN) != NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "key %s is pinned twice", jkt);
	if (set->n >= FEDTRUSTP_MAX_PINS)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "more than %d pinned keys", FEDTRUSTP_MAX_PINS);
	/* Grow by copying: the allocator hooks have no realloc. */
	if ((pins = fedtrustp_calloc(set->n + 1, sizeof(*pins))) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "key set: out of memory");
	if (set->n > 0)
		memcpy(pins, set->pins, set->n * sizeof(*pins));
	if (EVP_PKEY_up_ref(pkey) != 1) {
		fedtrustp_free(pins);
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "key set: cannot reference key");
	}
	pins[set->n].pkey = pkey;
	memcpy(pins[set->n].jkt, jkt, sizeof(jkt));
	pins[set->n].alg = alg;
	fedtrustp_free(set->pins);
	set->pins = pins;
	set->n++;
	return 0;
}

/* Pin one JWK that carries its alg (see private.h). */
int
fedtrustp_keyset_add_jwk(struct fedtrustp_keyset *set, const json_t *jwk,
    struct fedtrust_error *err)
{
	const char	*s;
	json_t		*v, *op;
	EVP_PKEY	*pkey = NULL;
	size_t		 i;
	int		 alg, ok, rc;
	char		 buf[40];

	if (!json_is_object(jwk))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "JWK is not a JSON object");
	v = json_object_get(jwk, "alg");
	if (v == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "pinned JWK has no \"alg\": the alg is bound to the key, never taken from a header");
	if (!json_is_string(v))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "pinned JWK \"alg\" is not a string");
	s = json_string_value(v);
	alg = fedtrustp_alg_from_name(s);
	if (!fedtrustp_alg_pinnable(alg))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "pinned JWK alg \"%s\" is not ES256, ES384, Ed25519 or PS256",
		    fedtrustp_sanitize(s, json_string_length(v), buf, sizeof(buf)));
	if ((v = json_object_get(jwk, "use")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		return fedtrustp_error_set(err, FEDTRUST_E_KEY, "pinned JWK \"use\" is not \"sig\"");
	if ((v = json_object_get(jwk, "key_ops")) != NULL) {
		ok = 0;
		if (json_is_array(v))
			json_array_foreach(v, i, op)
				if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
					ok = 1;
		if (!ok)
			return fedtrustp_error_set(err, FEDTRUST_E_KEY,
			    "pinned JWK \"key_ops\" does not include \"verify\"");
	}
	if (fedtrustp_jwk_to_pkey(jwk, &pkey, err) == -1)
		return -1;
	rc = fedtrustp_keyset_add_pkey(set, pkey, alg, err);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Read a whole key file, at most FEDTRUSTP_MAX_KEYFILE bytes. Caller frees. */
static int
keyfile_read(const char *path, unsigned char **buf, size_t *len, struct fedtrust_error *err)
{
	unsigned char	*b;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return fedtrustp_error_set(err, FEDTRUST_E_IO, "%s: %s", path, strerror(errno));
	if ((b = fedtrustp_malloc(FEDTRUSTP_MAX_KEYFILE + 1)) == NULL) {
		close(fd);
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "%s: out of memory", path);
	}
	while (n <= FEDTRUSTP_MAX_KEYFILE) {
		r = read(fd, b + n, FEDTRUSTP_MAX_KEYFILE + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fedtrustp_error_set(err, FEDTRUST_E_IO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > FEDTRUSTP_MAX_KEYFILE) {
		fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE, "%s: over %d bytes", path,
		    FEDTRUSTP_MAX_KEYFILE);
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
 fail:
	close(fd);
	fedtrustp_free(b);
	return -1;
}

/* The alg of a PEM key when it is unambiguous; FEDTRUSTP_ALG_UNKNOWN else. */
static int
pem_alg(EVP_PKEY *pkey)
{
	const char	*crv = fedtrustp_pkey_curve(pkey);

	if (crv != NULL && strcmp(crv, "P-256") == 0)
		return FEDTRUSTP_ALG_ES256;
	if (crv != NULL && strcmp(crv, "P-384") == 0)
		return FEDTRUSTP_ALG_ES384;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return FEDTRUSTP_ALG_ED25519;
	return FEDTRUSTP_ALG_UNKNOWN;
}

/* Pin a JWK or JWK Set parsed from doc; on failure pins past n0 are dropped by the caller. */
static int
keyset_add_doc(struct fedtrustp_keyset *set, const json_t *doc, struct fedtrust_error *err)
{
	json_t	*keys, *k;
	size_t	 i;

	if ((keys = json_object_get(doc, "keys")) == NULL)
		return fedtrustp_keyset_add_jwk(set, doc, err);
	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return fedtrustp_error_set(err, FEDTRUST_E_KEY,
		    "JWK Set \"keys\" is not a non-empty array");
	json_array_foreach(keys, i, k)
		if (fedtrustp_keyset_add_jwk(set, k, err) == -1)
			return -1;
	return 0;
}

/* Pin a JWK or JWK Set held in memory (see private.h). */
int
fedtrustp_keyset_add_json(struct fedtrustp_keyset *set, const void *buf, size_t len,
    struct fedtrust_error *err)
{
	json_t	*doc;
	size_t	 n0;
	int	 rc;

	if (set == NULL || buf == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "key set: no set or JSON");
	n0 = set->n;
	if ((doc = fedtrustp_json_parse(buf, len, FEDTRUSTP_MAX_KEYFILE,
	    FEDTRUSTP_MAX_JSON_DEPTH, err)) == NULL)
		return -1;
	if ((rc = keyset_add_doc(set, doc, err)) == -1)
		keyset_truncate(set, n0);
	json_decref(doc);
	return rc;
}

/* Pin the keys of one file (see private.h). */
int
fedtrustp_keyset_add_file(struct fedtrustp_keyset *set, const char *path,
    struct fedtrust_error *err)
{
	unsigned char	*buf = NULL;
	size_t		 len, i;
	EVP_PKEY	*pkey = NULL;
	int		 alg, rc = -1;

	if (set == NULL || path == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_ARG, "key set: no set or path");
	if (keyfile_read(path, &buf, &len, err) == -1)
		return -1;
	for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
	    buf[i] == '\n'); i++)
		;
	if (i < len && buf[i] == '{') {
		rc = fedtrustp_keyset_add_json(set, buf, len, err);
		goto out;
	}
	if (fedtrustp_pkey_from_pem(buf, len, &pkey, err) == -1)
		goto out;
	if ((alg = pem_alg(pkey)) == FEDTRUSTP_ALG_UNKNOWN) {
		fedtrustp_error_set(err, FEDTRUST_E_KEY, "%s: %s", path,
		    EVP_PKEY_is_a(pkey, "RSA") ? "RSA PEM key needs an explicit alg" :
		    "PEM key is not P-256, P-384, Ed25519 or RSA");
		goto out;
	}
	rc = fedtrustp_keyset_add_pkey(set, pkey, alg, err);
 out:
	EVP_PKEY_free(pkey);
	fedtrustp_free(buf);
	return rc;
}
