/*
 * libfedtrust: verify a fedtrust trust bundle and answer, at request time,
 * "is this caller approved, with which keys, roles and scopes, until when".
 *
 * Conventions (jansson's): the library never logs, exits or aborts.  A
 * function that can fail returns NULL or -1 and fills a caller-owned
 * struct fedtrust_error (which needs no allocation).  "Caller frees" and
 * "borrowed" are stated for every pointer returned.  Every allocation goes
 * through the functions set with fedtrust_set_alloc_funcs().
 */
#ifndef FEDTRUST_FEDTRUST_H
#define FEDTRUST_FEDTRUST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FEDTRUST_VERSION_MAJOR	0
#define FEDTRUST_VERSION_MINOR	1
#define FEDTRUST_VERSION_MICRO	0
#define FEDTRUST_VERSION_HEX	0x000100

#if defined(__GNUC__)
#define FEDTRUST_WARN_UNUSED	__attribute__((warn_unused_result))
#else
#define FEDTRUST_WARN_UNUSED
#endif

/* Error codes; fedtrust_error_code_name() gives the stable string. */
enum fedtrust_error_code {
	FEDTRUST_OK = 0,
	FEDTRUST_E_NOMEM,		/* "nomem": an allocation failed */
	FEDTRUST_E_ARG,			/* "invalid-argument": a caller error */
	FEDTRUST_E_IO,			/* "io": a file could not be read or written */
	FEDTRUST_E_TOO_LARGE,		/* "too-large": input over a size cap */
	FEDTRUST_E_JSON,		/* "json-invalid": not strict JSON (duplicates, depth, numbers, UTF-8) */
	FEDTRUST_E_JWS_MALFORMED,	/* "jws-malformed": not a strict compact JWS */
	FEDTRUST_E_JWS_HEADER,		/* "jws-header-forbidden": header members other than alg/kid/typ, crit, ... */
	FEDTRUST_E_JWS_ALG,		/* "jws-alg-forbidden": none, HS*, RS256, or not the pinned key's alg */
	FEDTRUST_E_JWS_TYP,		/* "jws-typ-invalid": typ is not the one expected */
	FEDTRUST_E_JWS_KID,		/* "jws-kid-unknown": kid matches no pinned key */
	FEDTRUST_E_JWS_SIG,		/* "jws-sig-invalid": the signature does not verify */
	FEDTRUST_E_KEY,			/* "key-invalid": weak, private members, bad curve, no alg, thumbprint mismatch */
	FEDTRUST_E_CLAIMS,		/* "claims-invalid": iss, list, ver, crit or required members wrong */
	FEDTRUST_E_EXPIRED,		/* "expired": exp has passed */
	FEDTRUST_E_NOT_YET_VALID,	/* "not-yet-valid": iat in the future beyond leeway */
	FEDTRUST_E_LIFETIME,		/* "lifetime-too-long": exp - iat over the limit */
	FEDTRUST_E_ROLLBACK,		/* "rollback": seq or iat older than what was stored */
	FEDTRUST_E_EQUIVOCATION,	/* "equivocation": same seq, different bundle */
	FEDTRUST_E_FORK,		/* "fork": prev does not chain to the stored bundle */
	FEDTRUST_E_BUNDLE,		/* "bundle-invalid": structure (order, keys, sources, digests) */
	FEDTRUST_E_NOT_FOUND,		/* "not-found": lookup found nothing */
	FEDTRUST_E_MAX
};

#define FEDTRUST_ERROR_TEXT_LENGTH	200

/* Filled by failing calls; owned by the caller, typically on its stack. */
struct fedtrust_error {
	int	 code;				/* enum fedtrust_error_code */
	char	 text[FEDTRUST_ERROR_TEXT_LENGTH];	/* one human line */
};

/* Stable lower-case name of a code (borrowed, static). */
const char	*fedtrust_error_code_name(int code);

/* Replace malloc/free for every allocation of the library (e.g. for tests). */
typedef void	*(*fedtrust_malloc_t)(size_t);
typedef void	 (*fedtrust_free_t)(void *);
void		 fedtrust_set_alloc_funcs(fedtrust_malloc_t, fedtrust_free_t);

/* ------------------------------------------------------------------ trust */

/*
 * What a consumer trusts: the operator's issuer and list name, and the pinned
 * operator public keys (current and next), each with its algorithm.  Built
 * once at start and whenever configuration changes; immutable afterwards and
 * safe to share between threads.
 */
struct fedtrust_trust;

/* New trust settings for (iss, list). Caller frees with fedtrust_trust_free. */
struct fedtrust_trust *fedtrust_trust_new(const char *iss, const char *list,
		    struct fedtrust_error *) FEDTRUST_WARN_UNUSED;
/*
 * Pin the operator keys in path: a PEM public key (P-256 -> ES256, P-384 ->
 * ES384, Ed25519 -> Ed25519; an RSA PEM key needs a JWK with "alg"), a JWK
 * or a JWK Set.  Keys are validated (curve point, RSA >= 2048 bits, no
 * private members) and indexed by their RFC 7638 thumbprint. 0 / -1.
 */
int		 fedtrust_trust_add_key_file(struct fedtrust_trust *, const char *path,
		    struct fedtrust_error *);
/* Same for a JWK or JWK Set held in memory. 0 / -1. */
int		 fedtrust_trust_add_key_json(struct fedtrust_trust *, const char *json, size_t len,
		    struct fedtrust_error *);
/* Clock leeway for iat (default 60 s, at most 60 s). */
void		 fedtrust_trust_set_leeway(struct fedtrust_trust *, long seconds);
/* Largest bundle accepted, bytes (default 64 MiB). */
void		 fedtrust_trust_set_max_bundle_bytes(struct fedtrust_trust *, size_t);
/* Number of pinned keys. */
size_t		 fedtrust_trust_key_count(const struct fedtrust_trust *);
void		 fedtrust_trust_free(struct fedtrust_trust *);

/* ------------------------------------------------------------------ state */

/*
 * What a consumer persists between runs (rollback, equivocation and fork
 * protection, bundle-format.md 4.9).  All zero for a fresh consumer.
 */
struct fedtrust_state {
	uint64_t	 seq;		/* seq of the applied bundle */
	int64_t		 iat;		/* iat floor of bundles */
	int64_t		 exp;		/* exp of the applied bundle */
	char		 bdig[44];	/* base64url SHA-256 of the applied bundle's JWS bytes */
	int64_t		 head_iat;	/* iat floor of heads */
	int64_t		 head_exp;	/* exp of the last accepted head */
};

/* ------------------------------------------------------------------ head */

/* A verified head (bundle-format.md 4.7). */
struct fedtrust_head {
	uint64_t	 seq;
	int64_t		 iat;
	int64_t		 exp;
	int64_t		 bexp;		/* the bundle's exp */
	uint64_t	 blen;		/* the bundle's JWS length in bytes */
	char		 bdig[44];	/* base64url SHA-256 of the bundle's JWS bytes */
	char		 burl[2048];	/* immutable URL of the bundle */
};

/* What a verified head means for the consumer. */
enum fedtrust_head_status {
	FEDTRUST_HEAD_CURRENT = 0,	/* same seq and bdig as the state: only freshness moves */
	FEDTRUST_HEAD_NEWER,		/* a newer bundle must be fetched */
};

/*
 * Verify a head JWS (steps 6-9 of 4.9) at now against trust and the stored
 * state (NULL = fresh consumer).  Returns a fedtrust_head_status and fills
 * out, or -1 with err (FEDTRUST_E_ROLLBACK for an older seq or iat,
 * FEDTRUST_E_EQUIVOCATION for the same seq with another bdig, ...).
 */
int		 fedtrust_head_verify(const struct fedtrust_trust *, const char *jws, size_t len,
		    time_t now, const struct fedtrust_state *, struct fedtrust_head *out,
		    struct fedtrust_error *);

/* ------------------------------------------------------------------ bundle */

/* A verified, indexed, immutable bundle; safe to share between threads. */
struct fedtrust_bundle;
struct fedtrust_entity;		/* borrowed from its bundle */
struct fedtrust_key;		/* borrowed from its entity */

/*
 * Verify a bundle JWS (steps 10-18 of 4.9) at now and build its index.
 * head, when not NULL, is the verified head that announced it (bdig, blen,
 * seq and bexp must match).  state, when not NULL, is the stored state
 * (rollback, fork).  Nothing is partially applied: any failure returns NULL
 * with err.  Caller frees with fedtrust_bundle_free.
 */
struct fedtrust_bundle *fedtrust_bundle_verify(const struct fedtrust_trust *, const char *jws,
		    size_t len, time_t now, const struct fedtrust_head *,
		    const struct fedtrust_state *, struct fedtrust_error *) FEDTRUST_WARN_UNUSED;
void		 fedtrust_bundle_free(struct fedtrust_bundle *);
uint64_t	 fedtrust_bundle_seq(const struct fedtrust_bundle *);
time_t		 fedtrust_bundle_iat(const struct fedtrust_bundle *);
time_t		 fedtrust_bundle_exp(const struct fedtrust_bundle *);
/* The state to persist after applying this bundle (head fields from head, or zero). */
void		 fedtrust_bundle_state(const struct fedtrust_bundle *, const struct fedtrust_head *,
		    struct fedtrust_state *out);
size_t		 fedtrust_bundle_entity_count(const struct fedtrust_bundle *);
/* The i-th entity in (id, proto) order (borrowed), or NULL past the end. */
const struct fedtrust_entity *fedtrust_bundle_entity_at(const struct fedtrust_bundle *, size_t i);

/*
 * Request-time lookups (4.9 steps 22-23), exact byte comparison, no
 * normalisation.  Return the entity (borrowed, valid until the bundle is
 * freed) only when now < min(valid_until, bundle exp); otherwise NULL with
 * err FEDTRUST_E_NOT_FOUND or FEDTRUST_E_EXPIRED.
 */
const struct fedtrust_entity *fedtrust_lookup(const struct fedtrust_bundle *, const char *id,
		    const char *proto, time_t now, struct fedtrust_error *);
/* By the SHA-256 thumbprint (base64url) of a presented certificate; *key gets the matching key. */
const struct fedtrust_entity *fedtrust_lookup_x5t(const struct fedtrust_bundle *,
		    const char *x5t_s256, time_t now, const struct fedtrust_key **key,
		    struct fedtrust_error *);

/* ------------------------------------------------------------------ entity, key */

const char	*fedtrust_entity_id(const struct fedtrust_entity *);
const char	*fedtrust_entity_proto(const struct fedtrust_entity *);
const char	*fedtrust_entity_src(const struct fedtrust_entity *);
const char	*fedtrust_entity_ra(const struct fedtrust_entity *);		/* or NULL */
const char	*fedtrust_entity_org(const struct fedtrust_entity *);		/* or NULL */
/* min(valid_until, bundle exp) */
time_t		 fedtrust_entity_valid_until(const struct fedtrust_entity *);
size_t		 fedtrust_entity_role_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_role(const struct fedtrust_entity *, size_t i);
int		 fedtrust_entity_has_role(const struct fedtrust_entity *, const char *role);
/* -1 when the bundle does not restrict scopes, else the count (0 = none allowed). */
long		 fedtrust_entity_scope_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_scope(const struct fedtrust_entity *, size_t i);
/* 1 when every scope of the space-separated list is allowed, else 0. */
int		 fedtrust_entity_allows_scopes(const struct fedtrust_entity *, const char *scopes);
/*
 * SAML entity attributes ("ec": entity categories, assurance
 * certifications), in bundle order; the count is 0 when absent.
 */
size_t		 fedtrust_entity_category_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_category(const struct fedtrust_entity *, size_t i);	/* or NULL */

/*
 * OpenID Federation: the Trust Anchor of the selected chain (or NULL) and
 * the path from the subject upwards, intermediates then the TA ("path";
 * the count is 0 when absent).
 */
const char	*fedtrust_entity_ta(const struct fedtrust_entity *);		/* or NULL */
size_t		 fedtrust_entity_path_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_path(const struct fedtrust_entity *, size_t i);	/* or NULL */

/*
 * Trust marks verified by the operator ("tm").  The type is the mark's
 * trust_mark_type (or NULL past the end); exp is the mark's exp, 0 when it
 * has none.  has_trust_mark is 1 when a mark of exactly that type is
 * present and not expired at now (now < exp; a mark without exp does not
 * expire on its own: the entity's valid_until still bounds it), else 0.
 */
size_t		 fedtrust_entity_trust_mark_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_trust_mark_type(const struct fedtrust_entity *, size_t i);
time_t		 fedtrust_entity_trust_mark_exp(const struct fedtrust_entity *, size_t i);
int		 fedtrust_entity_has_trust_mark(const struct fedtrust_entity *, const char *type,
		    time_t now);

/*
 * Expected client-certificate names for the RFC 8705 PKI method ("names"):
 * the kind is "subject_dn", "san_dns", "san_uri", "san_ip" or "san_email"
 * (static), or NULL when the entity has none (count 0).  subject_dn has
 * exactly one name.
 */
const char	*fedtrust_entity_names_kind(const struct fedtrust_entity *);	/* or NULL */
size_t		 fedtrust_entity_name_count(const struct fedtrust_entity *);
const char	*fedtrust_entity_name(const struct fedtrust_entity *, size_t i);	/* or NULL */
/*
 * 1 when kind is the entity's names kind and value equals one of its names,
 * byte for byte, else 0.  The caller passes the presented certificate's
 * subject DN (kind "subject_dn") or each of its SANs of the kind asked for,
 * after validating the chain to the entity's "ca" keys.  Exact comparison
 * only: no DN re-encoding, no case folding of DNS names or e-mail
 * addresses, no IP address parsing, so both sides must use the textual form
 * of the partner's registration (RFC 4514 DN string, dotted or RFC 5952 IP).
 * An empty value never matches.
 */
int		 fedtrust_entity_matches_cert_name(const struct fedtrust_entity *,
		    const char *kind, const char *value);

size_t		 fedtrust_entity_key_count(const struct fedtrust_entity *);
const struct fedtrust_key *fedtrust_entity_key(const struct fedtrust_entity *, size_t i);

const char	*fedtrust_key_jkt(const struct fedtrust_key *);		/* RFC 7638 thumbprint */
const char	*fedtrust_key_kid(const struct fedtrust_key *);		/* partner's kid, or NULL */
const char	*fedtrust_key_alg(const struct fedtrust_key *);		/* or NULL */
const char	*fedtrust_key_kty(const struct fedtrust_key *);
const char	*fedtrust_key_x5t_s256(const struct fedtrust_key *);	/* or NULL */
const char	*fedtrust_key_prov(const struct fedtrust_key *);
int		 fedtrust_key_has_purpose(const struct fedtrust_key *, const char *purpose);
/* The key as public JWK JSON text (borrowed). */
const char	*fedtrust_key_json(const struct fedtrust_key *);
/* DER of x5c[0] when the bundle is the full variant (borrowed), else NULL. */
const unsigned char *fedtrust_key_cert_der(const struct fedtrust_key *, size_t *len);

/* ------------------------------------------------------------------ revocations */

/*
 * Recent revocations listed by the operator ("revoked", bundle-format.md
 * 4.3): entities an admin revoked, with the key thumbprints (jkt) and
 * certificate thumbprints (x5t#S256) they had.  A revoked entity is never
 * in the bundle's entities; the list tells a gateway to drop what it cached
 * from older bundles (sessions, tokens, keys) now.  Borrowed from the bundle.
 */
struct fedtrust_revoked;
size_t		 fedtrust_bundle_revoked_count(const struct fedtrust_bundle *);
const struct fedtrust_revoked *fedtrust_bundle_revoked_at(const struct fedtrust_bundle *, size_t i);
const char	*fedtrust_revoked_id(const struct fedtrust_revoked *);
const char	*fedtrust_revoked_proto(const struct fedtrust_revoked *);
const char	*fedtrust_revoked_reason(const struct fedtrust_revoked *);
time_t		 fedtrust_revoked_time(const struct fedtrust_revoked *);
size_t		 fedtrust_revoked_key_count(const struct fedtrust_revoked *);
const char	*fedtrust_revoked_key(const struct fedtrust_revoked *, size_t i);	/* jkt */
size_t		 fedtrust_revoked_cert_count(const struct fedtrust_revoked *);
const char	*fedtrust_revoked_cert(const struct fedtrust_revoked *, size_t i);	/* x5t#S256 */
/* The record listing a key (jkt) or certificate (x5t#S256) thumbprint, or NULL. */
const struct fedtrust_revoked *fedtrust_bundle_revoked_thumbprint(const struct fedtrust_bundle *,
		    const char *thumb);

/* Library version string, e.g. "0.1.0" (borrowed, static). */
const char	*fedtrust_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FEDTRUST_FEDTRUST_H */
