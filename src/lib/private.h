/*
 * libfedtrust internals (prefix fedtrustp_): allocator hooks, the error
 * setter, strict base64url, strict JSON, JWK and compact JWS over OpenSSL 3
 * EVP and jansson.  Shared by the daemon (signing) and the library
 * (verification): one source of truth.  See docs/jws.md for the profile.
 *
 * Conventions: every function that can fail takes a caller-owned struct
 * fedtrust_error and returns -1 or NULL with it filled; nothing here logs,
 * exits or aborts.  Memory returned as "caller frees" is released with
 * fedtrustp_free() (strings, byte buffers) or the named _free function.
 */
#ifndef FEDTRUST_LIB_PRIVATE_H
#define FEDTRUST_LIB_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "fedtrust/fedtrust.h"

/* ------------------------------------------------------------ limits */

#define FEDTRUSTP_MAX_JSON_DEPTH	32	/* nesting of a header or payload (bundle-format 4.9 step 13) */
#define FEDTRUSTP_MAX_JSON_INT		9007199254740991LL	/* 2^53 - 1: the interoperable integer range */
#define FEDTRUSTP_MAX_HEADER_B64	16384	/* characters of the protected-header segment */
#define FEDTRUSTP_MAX_KEYFILE		(1024 * 1024)	/* bytes of a pinned-key file */
#define FEDTRUSTP_MAX_PINS		64	/* keys in one pinned set */
#define FEDTRUSTP_RSA_MIN_BITS		2048	/* weaker RSA keys are rejected */
#define FEDTRUSTP_RSA_MAX_BITS		16384	/* bounds the cost of one verification */
#define FEDTRUSTP_JKT_LEN		43	/* base64url of a SHA-256 digest */

/* ------------------------------------------------------------ error.c */

void	*fedtrustp_malloc(size_t);
void	*fedtrustp_calloc(size_t, size_t);	/* zeroed; NULL on overflow */
char	*fedtrustp_strdup(const char *);
char	*fedtrustp_strndup(const char *, size_t);
void	 fedtrustp_free(void *);		/* NULL-safe */
/* Free after wiping len bytes (key material, HMAC secrets). NULL-safe. */
void	 fedtrustp_free_clear(void *, size_t);

/*
 * Fill err (may be NULL) with code and a printf-style line; returns -1 so
 * callers can "return fedtrustp_error_set(...)".
 */
int	 fedtrustp_error_set(struct fedtrust_error *, int code, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 fedtrustp_error_clear(struct fedtrust_error *);
/* Printable, escaped and truncated copy of untrusted bytes into buf. Returns buf. */
const char *fedtrustp_sanitize(const void *, size_t, char *buf, size_t bufsz);

/* ------------------------------------------------------------ b64url.c */

/* base64url without padding (RFC 7515 section 2). Caller frees; NULL on nomem. */
char	*fedtrustp_b64url_encode(const void *, size_t, struct fedtrust_error *);
/*
 * Strict decode: alphabet A-Z a-z 0-9 - _ only, no padding or whitespace,
 * length mod 4 != 1 and zero unused trailing bits (the canonical encoding),
 * else FEDTRUST_E_JWS_MALFORMED.  *out is NUL-terminated for convenience
 * (the NUL is not counted in *outlen); caller frees.  0 / -1.
 */
int	 fedtrustp_b64url_decode(const char *, size_t, unsigned char **out,
	    size_t *outlen, struct fedtrust_error *);

/* ------------------------------------------------------------ json.c */

/*
 * Strict JSON (an object or array at top level): over max_len bytes is
 * FEDTRUST_E_TOO_LARGE before parsing; a BOM, NUL bytes, duplicate members,
 * \u0000, invalid UTF-8 or surrogates, reals, integers outside +-(2^53-1)
 * and nesting deeper than max_depth are FEDTRUST_E_JSON.  Caller
 * json_decref()s the result.
 */
json_t	*fedtrustp_json_parse(const void *, size_t len, size_t max_len,
	    size_t max_depth, struct fedtrust_error *);
/*
 * Compact, sorted-member, UTF-8 serialisation (as close to RFC 8785 as
 * jansson allows; see docs/jws.md).  Caller frees with fedtrustp_free().
 */
char	*fedtrustp_json_dump_canonical(const json_t *, struct fedtrust_error *);

/* ------------------------------------------------------------ algorithms (jws.c) */

enum fedtrustp_alg {
	FEDTRUSTP_ALG_UNKNOWN = 0,
	FEDTRUSTP_ALG_ES256,		/* allowed: ECDSA P-256 SHA-256, R||S 64 bytes */
	FEDTRUSTP_ALG_ES384,		/* allowed: ECDSA P-384 SHA-384, R||S 96 bytes */
	FEDTRUSTP_ALG_ED25519,		/* allowed: "Ed25519" (RFC 9864), never "EdDSA" */
	FEDTRUSTP_ALG_PS256,		/* allowed: RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32 */
	/* Below: never accepted by fedtrustp_jws_verify; raw verification of
	 * published test vectors and keygen only. */
	FEDTRUSTP_ALG_RS256,
	FEDTRUSTP_ALG_ES512,
	FEDTRUSTP_ALG_PS384,
	FEDTRUSTP_ALG_MAX
};

/* Header name of an alg ("ES256"), NULL if unknown. Static. */
const char *fedtrustp_alg_name(int alg);
/* Exact, case-sensitive lookup of a header name; FEDTRUSTP_ALG_UNKNOWN if none. */
int	 fedtrustp_alg_from_name(const char *);
/* 1 when alg is one of the four a pinned key may carry (ES256 ES384 Ed25519 PS256). */
int	 fedtrustp_alg_pinnable(int alg);
/* 0 when the key's type, curve and size fit alg, else -1 with FEDTRUST_E_KEY. */
int	 fedtrustp_alg_fits_key(int alg, EVP_PKEY *, struct fedtrust_error *);

/* ------------------------------------------------------------ jwk.c */

/*
 * Public JWK -> EVP_PKEY: EC P-256/P-384/P-521 (full-length coordinates,
 * point on the curve), RSA (2048..16384 bits, minimal encodings, odd e >= 3),
 * OKP Ed25519.  Private members, kty oct and anything else are
 * FEDTRUST_E_KEY.  The JWK's alg/use/kid are not looked at here.
 * *out is the caller's (EVP_PKEY_free).  0 / -1.
 */
int	 fedtrustp_jwk_to_pkey(const json_t *, EVP_PKEY **out, struct fedtrust_error *);
/* base64url SHA-256 of buf (43 characters + NUL): digests, thumbprints, x5t#S256. 0 / -1. */
int	 fedtrustp_sha256_b64url(const void *, size_t, char out[44], struct fedtrust_error *);
/* A base64url member of a JWK, strictly decoded (caller frees *out); FEDTRUST_E_KEY if bad. 0 / -1. */
int	 fedtrustp_jwk_bytes(const json_t *, const char *name, unsigned char **out, size_t *len,
	    struct fedtrust_error *);
/* The public members of a key as a JWK (kty and key parameters only). Caller decrefs. */
json_t	*fedtrustp_pkey_to_jwk(EVP_PKEY *, struct fedtrust_error *);
/* RFC 7638 SHA-256 thumbprint of a JWK's required members, base64url into out. 0 / -1. */
int	 fedtrustp_jwk_thumbprint(const json_t *, char out[FEDTRUSTP_JKT_LEN + 1],
	    struct fedtrust_error *);
/* The same thumbprint computed from a key (public part only). 0 / -1. */
int	 fedtrustp_pkey_thumbprint(EVP_PKEY *, char out[FEDTRUSTP_JKT_LEN + 1],
	    struct fedtrust_error *);
/* JWK curve name of an EC key ("P-256"), NULL if not EC or another curve. Static. */
const char *fedtrustp_pkey_curve(EVP_PKEY *);
/* One PEM "PUBLIC KEY" from memory. *out is the caller's. 0 / -1 (FEDTRUST_E_KEY). */
int	 fedtrustp_pkey_from_pem(const void *, size_t, EVP_PKEY **out, struct fedtrust_error *);

/* A set of pinned verification keys, each bound to exactly one alg. */
struct fedtrustp_pin {
	EVP_PKEY	*pkey;			/* own reference */
	char		 jkt[FEDTRUSTP_JKT_LEN + 1];	/* recomputed RFC 7638 thumbprint */
	int		 alg;			/* enum fedtrustp_alg, always pinnable */
};
struct fedtrustp_keyset {
	struct fedtrustp_pin	*pins;
	size_t			 n;
};

/* An empty set (caller frees with fedtrustp_keyset_free); NULL on nomem. */
struct fedtrustp_keyset *fedtrustp_keyset_new(struct fedtrust_error *);
void	 fedtrustp_keyset_free(struct fedtrustp_keyset *);	/* NULL-safe */
/*
 * Pin pkey for alg (which must be pinnable and fit the key).  The set takes
 * its own reference; the caller keeps its own.  A key already pinned (same
 * thumbprint) is FEDTRUST_E_KEY.  0 / -1.
 */
int	 fedtrustp_keyset_add_pkey(struct fedtrustp_keyset *, EVP_PKEY *, int alg,
	    struct fedtrust_error *);
/* Pin one public JWK; its "alg" member is required ("use" must be sig, "key_ops" include verify). */
int	 fedtrustp_keyset_add_jwk(struct fedtrustp_keyset *, const json_t *,
	    struct fedtrust_error *);
/*
 * Pin the keys of a file: a JWK, a JWK Set, or a PEM public key whose alg
 * is unambiguous (P-256 ES256, P-384 ES384, Ed25519); an RSA PEM key needs
 * an explicit alg: read it with fedtrustp_pkey_from_pem and use
 * fedtrustp_keyset_add_pkey.  All or nothing: on failure the set is unchanged.
 */
int	 fedtrustp_keyset_add_file(struct fedtrustp_keyset *, const char *path,
	    struct fedtrust_error *);
/* Pin a JWK or JWK Set held in memory (strict JSON), all or nothing. 0 / -1. */
int	 fedtrustp_keyset_add_json(struct fedtrustp_keyset *, const void *, size_t,
	    struct fedtrust_error *);
/* The pin whose thumbprint equals kid (kidlen bytes), NULL if none. Borrowed. */
const struct fedtrustp_pin *fedtrustp_keyset_find(const struct fedtrustp_keyset *,
	    const char *kid, size_t kidlen);

/* ------------------------------------------------------------ jws.c */

/*
 * Compact JWS over payload with header exactly {"alg","kid","typ"} (sorted),
 * kid = thumbprint of the public key.  priv may live in a provider (its
 * private parts are never read).  Caller frees; NULL on failure.
 */
char	*fedtrustp_jws_sign(const unsigned char *payload, size_t len, EVP_PKEY *priv,
	    int alg, const char *typ, struct fedtrust_error *);
/*
 * Verify sig over input with key and alg (any enum fedtrustp_alg value):
 * key/alg fit, JWS signature sizes, ECDSA r and s in [1, n-1] before OpenSSL
 * sees them.  0 valid; -1 with FEDTRUST_E_JWS_SIG (or E_KEY / E_NOMEM).
 */
int	 fedtrustp_jws_verify_raw(const void *input, size_t inlen,
	    const unsigned char *sig, size_t siglen, EVP_PKEY *key, int alg,
	    struct fedtrust_error *);
/*
 * The strict compact-JWS verifier (docs/jws.md): size cap, strict parse,
 * header exactly alg/kid/typ, alg allowed, typ, kid -> pinned key, pinned
 * alg == header alg, signature.  On success *payload (caller frees) holds
 * the decoded payload, NUL-terminated, *payloadsz its length.  0 / -1.
 */
int	 fedtrustp_jws_verify(const char *jws, size_t len, const struct fedtrustp_keyset *,
	    const char *typ, size_t max_len, unsigned char **payload, size_t *payloadsz,
	    struct fedtrust_error *);

#endif /* FEDTRUST_LIB_PRIVATE_H */
