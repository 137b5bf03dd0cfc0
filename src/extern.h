/*
 * fedtrust: private declarations shared by fedtrustd, fedtrust and the tests.
 *
 * One header, grouped per source file (rpki-client's layout).  Every limit is
 * a MAX_* constant at the bottom with a one-line comment.  Ownership words:
 * a function that returns a pointer says who frees it; "borrowed" pointers
 * stay valid as long as the container they came from.
 */
#ifndef FEDTRUST_EXTERN_H
#define FEDTRUST_EXTERN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------ reason.c */

/*
 * Stable reason codes.  The strings (reason_code()) appear in logs, in the
 * verdict line of `fedtrust verify` and in metric labels; docs/reason-codes.md
 * lists them.  Never renumber the strings, only add.
 */
enum reason {
	R_NONE = 0,		/* no rejection (R_OK would clash with unistd.h) */
	/* parsing */
	R_XML_MALFORMED,	/* xml-malformed: not well-formed, bad encoding, trailing content */
	R_XML_DOCTYPE,		/* xml-doctype-forbidden: any DTD, internal or external */
	R_XML_LIMIT,		/* xml-limit: depth, node count, attribute or text size cap */
	R_XML_ROOT,		/* xml-root-invalid: document element is not md:EntitiesDescriptor/EntityDescriptor */
	R_XML_EMPTY,		/* xml-empty: empty body */
	/* signature structure (R3-R6, R8) */
	R_SIG_MISSING,		/* sig-missing: no ds:Signature child of the root */
	R_SIG_MULTIPLE,		/* sig-multiple: more than one root signature, or stray signatures */
	R_SIG_POSITION,		/* sig-position: signature not the first element child of the root */
	R_SIG_REFERENCE,	/* sig-reference-not-root: reference does not resolve to the document element */
	R_SIG_REFERENCE_COUNT,	/* sig-reference-count: SignedInfo has zero or several References */
	R_SIG_ID_DUPLICATE,	/* sig-id-duplicate: the referenced ID occurs more than once */
	R_SIG_TRANSFORM,	/* sig-transform-forbidden: anything but enveloped + exc-c14n */
	R_SIG_C14N,		/* sig-c14n-forbidden: SignedInfo canonicalization not C14N 1.0/exc-C14N */
	R_SIG_OBJECT,		/* sig-object-forbidden: ds:Object or ds:Manifest present */
	R_SIG_ALG,		/* sig-alg-forbidden: signature algorithm not on the allow-list (sha1, md5, DSA, HMAC, unknown) */
	R_SIG_DIGEST_WEAK,	/* sig-digest-weak: digest algorithm not sha256/384/512 */
	R_SIG_KEY_WEAK,		/* sig-key-weak: RSA under 2048 bits, or a curve not allowed */
	R_SIG_INVALID,		/* sig-invalid: digest or signature value does not verify */
	R_SIG_UNTRUSTED,	/* sig-untrusted-key: no configured anchor verifies the signature */
	/* CA mode (chain to a configured root) */
	R_CHAIN_UNTRUSTED,	/* chain-untrusted: signer certificate does not chain to a configured root */
	R_CHAIN_REVOKED,	/* chain-revoked: a certificate in the chain is revoked */
	R_CHAIN_CRL,		/* chain-crl-invalid: CRL missing, expired or not signed by the CA */
	R_CHAIN_NAME,		/* chain-name-mismatch: signer subject/SAN does not match the configured names */
	R_CHAIN_EXPIRED,	/* chain-expired: a certificate in the chain is outside its validity at now */
	/* validity */
	R_VALID_UNTIL_MISSING,	/* valid-until-missing: root has no validUntil */
	R_EXPIRED,		/* expired: validUntil (or exp) is not after now */
	R_VALIDITY_TOO_LONG,	/* validity-too-long: validUntil further away than max-validity */
	R_NOT_YET_VALID,	/* not-yet-valid: creationInstant / iat beyond the allowed skew */
	R_TIME_MALFORMED,	/* time-malformed: a dateTime or duration that does not parse */
	R_ROLLBACK,		/* rollback: older than the last good document of this source */
	/* content */
	R_FEED_EMPTY,		/* feed-empty: no entity left */
	R_ENTITY_ID_INVALID,	/* entity-id-invalid: missing, too long, control characters */
	R_ENTITY_DUPLICATE,	/* entity-duplicate: an entityID occurs twice in one feed */
	R_ENTITY_EXPIRED,	/* entity-expired: a nested validUntil has passed */
	R_ENTITY_SIG_INVALID,	/* entity-sig-invalid: an embedded signature in a group or entity fails */
	R_ENTITY_CERT_EXPIRED,	/* entity-cert-expired: KeyDescriptor certificate expired (policy reject) */
	R_ENTITY_KEY_INVALID,	/* entity-key-invalid: KeyDescriptor certificate does not parse */
	R_ENTITY_FILTERED,	/* entity-filtered: dropped by a list's role/allow/deny/RA policy */
	R_ENTITY_DEDUPED,	/* entity-deduped: lost to the same entityID from a source of higher priority */
	R_MASS_DROP,		/* mass-drop: too many entities vanished at once */
	R_APPROVAL_EXPIRED,	/* approval-expired: the source's approved-until has passed */
	R_REVOKED,		/* revoked: an admin revoked the source or entity (fedtrust source revoke) */
	R_KEY_WEAK,		/* key-weak: an entity key is RSA under 2048 bits, a curve not allowed, DSA ... */
	R_KEY_SHARED,		/* key-shared: one key (SPKI) used by several entities (shared-keys = reject) */
	/* JSON, JWS and JWT (third-party statements and key sets; JWS-01..12) */
	R_JSON_INVALID,		/* json-invalid: not strict JSON (duplicates, depth, numbers, UTF-8, size) */
	R_JWS_MALFORMED,	/* jws-malformed: not a strict compact JWS (segments, base64url) */
	R_JWS_HEADER,		/* jws-header-forbidden: crit, jwk, jku, x5u, x5c, x5t, b64, trust_chain ... */
	R_JWS_ALG,		/* jws-alg-forbidden: none, HS*, unknown, or not the key's algorithm */
	R_JWS_TYP,		/* jws-typ-invalid: typ missing or not the one expected */
	R_JWS_KID,		/* jws-kid-unknown: kid missing, or matching no key of the issuer */
	R_JWS_KEY,		/* jws-key-invalid: weak or private key, duplicate kid, use/key_ops not verify */
	R_JWS_SIG,		/* jws-sig-invalid: the signature does not verify */
	R_JWT_CLAIM,		/* jwt-claim-invalid: a required claim missing or malformed, unknown crit, claim in the wrong statement */
	/* OpenID Federation trust chains (JWS-13, JWS-14) */
	R_CHAIN_LINK,		/* chain-link-invalid: iss/sub linkage, authority_hints, or the superior's key binding fails */
	R_CHAIN_NO_ANCHOR,	/* chain-no-anchor: no chain reaches the configured trust anchor (loops included) */
	R_CHAIN_LIMIT,		/* chain-limit: depth, fan-out, statement count or fetch budget exceeded */
	R_CHAIN_ANCHOR_KEY,	/* chain-anchor-key-mismatch: the trust anchor's keys differ from the configured anchor JWKS */
	R_CHAIN_CONSTRAINT,	/* chain-constraint-violated: max_path_length or naming_constraints */
	R_CHAIN_POLICY,		/* chain-policy-invalid: metadata policy merge or application failed, unknown critical operator */
	R_METADATA_INVALID,	/* metadata-invalid: resolved metadata unusable (issuer, keys, required members) */
	R_TRUST_MARK,		/* trust-mark-invalid: a trust mark failed validation (the mark is dropped) */
	R_CERT_INVALID,		/* cert-invalid: a partner certificate does not parse or is not usable */
	/* fetching */
	R_FETCH_TIMEOUT,	/* fetch-timeout */
	R_FETCH_TOO_LARGE,	/* fetch-too-large: body or decompressed body over max-size */
	R_FETCH_TLS,		/* fetch-tls: certificate, hostname or handshake failure */
	R_FETCH_HTTP_STATUS,	/* fetch-http-status: status other than 200/304 */
	R_FETCH_REDIRECT,	/* fetch-redirect: too many redirects or a redirect to another scheme */
	R_FETCH_SCHEME,		/* fetch-scheme: URL scheme other than https or file */
	R_FETCH_FAILED,		/* fetch-failed: DNS, connect, truncated transfer, I/O */
	R_FETCH_NO_CACHE,	/* fetch-no-cache: 304 without a cached copy */
	/* operator side */
	R_SIGN_FAILED,		/* sign-failed: operator key missing, unreadable or signing error */
	R_SELF_CHECK,		/* self-check-failed: output did not verify before publication */
	R_PUBLISH_FAILED,	/* publish-failed: I/O error writing or switching a generation */
	R_STALE,		/* stale-expired: last good data has passed its own validity */
	R_INTERNAL,		/* internal: allocation or library failure */
	R_MAX
};

/*
 * A verdict: the reason code plus one human line.  Filled by every function
 * that can reject input; the caller prefixes the source name when logging.
 */
struct verdict {
	enum reason	 reason;
	char		 detail[512];
};

const char	*reason_code(enum reason);
int		 reason_from_code(const char *, enum reason *);
/* Set v->reason and a printf-style detail; returns -1 so callers can "return verdict_set(...)". */
int		 verdict_set(struct verdict *, enum reason, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ log.c */

void	 log_init(int foreground, int verbose, const char *ident);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));	/* adds strerror(errno) */
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));	/* only with -v */
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* One line per rejection: "source=LIST/SOURCE reason=CODE: detail" (B1, B6). */
void	 log_reject(const char *source, const struct verdict *);
/* Copy untrusted text into buf (escaped, truncated, always NUL-terminated). Returns buf. */
char	*log_sanitize(const char *, size_t, char *buf, size_t bufsz);
/* Drain OpenSSL's error queue into one string (for verdict details). */
void	 log_openssl_errors(char *buf, size_t bufsz);
/* Route libxml2 and xmlsec error callbacks into a quiet collector (never stderr). */
void	 log_silence_xml(void);
extern int	log_verbose;

/* ------------------------------------------------------------ util.c */

/* Allocation failure is fatal (daemon and command only; never in src/lib). */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
/* Append a copy of s to the array *arr of *n strings. */
void	 strv_push(char ***arr, size_t *n, const char *s);
void	 strv_free(char **, size_t);

/* "90", "30s", "5m", "24h", "28d" -> seconds.  0 ok, -1 bad. */
int	 parse_duration(const char *, long *);
/* "1024", "64K", "256M", "2G" -> bytes.  0 ok, -1 bad. */
int	 parse_size(const char *, size_t *);
/* RFC 3339 / xs:dateTime with zone (Z or +hh:mm) or seconds since epoch. 0 ok, -1 bad. */
int	 parse_time(const char *, time_t *);
/* xs:dateTime only (SAML validUntil, creationInstant). 0 ok, -1 bad. */
int	 parse_xsd_datetime(const char *, time_t *);
/* xs:duration "PnYnMnDTnHnMnS" (cacheDuration); months = 30 days, years = 365 days. 0 ok, -1 bad. */
int	 parse_xsd_duration(const char *, long *);
/* Date "YYYY-MM-DD" (end of that day UTC) or any parse_time form. 0 ok, -1 bad. */
int	 parse_date_or_time(const char *, time_t *);
/* "2026-11-23T16:17:59Z" into buf (at least 21 bytes). Returns buf. */
char	*format_time(time_t, char *buf, size_t bufsz);
/* xs:duration "PT3600S" style into buf. Returns buf. */
char	*format_xsd_duration(long, char *buf, size_t bufsz);

/* Read a whole file, at most max bytes (else -1 with errno EFBIG). Caller frees *buf. */
int	 read_file(const char *path, size_t max, unsigned char **buf, size_t *len);
/*
 * Write a file atomically: temp file created O_EXCL|O_NOFOLLOW in the same
 * directory, written, fsynced, renamed over path, directory fsynced.
 * On any failure the temp file is removed and path is untouched. 0 / -1 (errno).
 */
int	 write_file_atomic(const char *path, const void *, size_t, int mode);
int	 fsync_dir(const char *dir);
/* mkdir -p with mode. 0 / -1. */
int	 mkdir_p(const char *, int mode);
/* Remove a directory tree (no symlink following). 0 / -1. */
int	 rm_rf(const char *);
/* Join dir and a relative name; an absolute name is returned as a copy. Caller frees. */
char	*path_join(const char *dir, const char *name);
/* Directory part of a path (caller frees). */
char	*path_dirname(const char *);

/* Lower-case hex SHA-256 of buf into out (65 bytes). */
void	 sha256_hex(const void *, size_t, char out[65]);
/* base64url (no padding) of buf; caller frees. */
char	*b64url_encode(const void *, size_t);
/* Standard base64 with no newlines; caller frees. */
char	*b64_encode(const void *, size_t);
struct json_t;
/* o serialised with flags and sorted keys, plus a newline (caller frees); NULL when jansson fails. */
char	*json_line(const struct json_t *o, size_t flags, size_t *len);
/* Match s against a shell glob (fnmatch, no special treatment of '/'). 1 / 0. */
int	 glob_match(const char *pattern, const char *s);

/* ------------------------------------------------------------ config.c */

enum source_type { SRC_SAML = 1, SRC_OIDF, SRC_SIGNED_JWKS, SRC_X509 };

/* Role bits of an entity (SAML role descriptors; OIDF entity types later). */
#define ROLE_IDP	0x01	/* IDPSSODescriptor */
#define ROLE_SP		0x02	/* SPSSODescriptor */
#define ROLE_AA		0x04	/* AttributeAuthorityDescriptor */
#define ROLE_AUTHN	0x08	/* AuthnAuthorityDescriptor */
#define ROLE_PDP	0x10	/* PDPDescriptor */
#define ROLE_OTHER	0x20	/* RoleDescriptor and anything else */
#define ROLE_OP		0x40	/* OIDF openid_provider */
#define ROLE_RP		0x80	/* OIDF openid_relying_party */
#define ROLE_OAUTH_AS	0x100	/* OIDF oauth_authorization_server */
#define ROLE_OAUTH_CLIENT 0x200	/* OIDF oauth_client (also signed-jwks partners by default) */
#define ROLE_OAUTH_RS	0x400	/* OIDF oauth_resource */
#define ROLE_TLS_CLIENT	0x800	/* x509 tls_client */
#define ROLE_TLS_SERVER	0x1000	/* x509 tls_server */
#define ROLE_ALL	0x1fff

/* Protocol family of an entity (bundle-format 4.4 "proto"). */
enum proto { PROTO_SAML2 = 0, PROTO_OIDF, PROTO_OAUTH, PROTO_X509 };
/* "saml2", "oidf", "oauth", "x509" (static). */
const char	*proto_name(enum proto);

/* What to do with an expired certificate inside a KeyDescriptor. */
enum cert_validity { CERT_VALIDITY_WARN = 0, CERT_VALIDITY_REJECT, CERT_VALIDITY_IGNORE };

#define OUT_SAML	0x01	/* saml-aggregate */
#define OUT_BUNDLE	0x02	/* bundle (issue: compact trust bundle) */
#define OUT_MDQ		0x04	/* mdq per-entity lookups */

#define BUNDLE_COMPACT	0	/* bundle-variant = compact: x5t#S256 only */
#define BUNDLE_FULL	1	/* bundle-variant = full: x5c as well */

/*
 * A revocation written by `fedtrust source revoke` into the trust list:
 * "revoked = TIME REASON" (the whole source, id NULL) or
 * "revoke-entity = ID TIME REASON" (one entity id, every protocol).
 */
struct revocation {
	char		*id;		/* entity id, or NULL for the whole source */
	time_t		 at;		/* when it was revoked */
	char		*reason;	/* free text, no control characters */
};

struct source_conf {
	char		*name;		/* [source NAME] */
	enum source_type type;
	char		*url;		/* https:// or file:// */
	char		**anchors;	/* pinned certificate or public key files (absolute) */
	size_t		 anchorsz;
	char		**cas;		/* CA mode: root certificate files */
	size_t		 casz;
	char		**crls;		/* CA mode: CRL files (PEM or DER) */
	size_t		 crlsz;
	char		**signer_names;	/* CA mode: glob over signer subject DN (RFC 2253) or DNS/URI SAN */
	size_t		 signer_namesz;
	long		 max_validity;	/* seconds; reject validUntil further away */
	unsigned	 roles;		/* ROLE_* accepted from this source */
	int		 priority;	/* higher wins on duplicate entityIDs */
	char		*owner;
	time_t		 approved_until; /* 0 = no expiry */
	char		**allow;	/* entityID globs; empty = all */
	size_t		 allowsz;
	char		**deny;		/* entityID globs, applied after allow */
	size_t		 denysz;
	char		**ras;		/* accepted registrationAuthority values; empty = all */
	size_t		 rasz;
	char		*ca_file;	/* CAs for https fetches; NULL = main config's */
	long		 fetch_timeout;	/* seconds */
	size_t		 max_size;	/* bytes, also after decompression */
	enum cert_validity cert_validity;
	long		 skew;		/* allowed clock skew for creationInstant, seconds */
	unsigned	 algs_extra;	/* ALGX_*: algorithms beyond R6, explicitly allowed */
	int		 line;		/* line of the [source] header, for messages */
	/* every type */
	long		 max_stale;	/* max-stale: seconds the last good copy may be used after its last fetch, 0 = until it expires */
	char		**scopes;	/* scopes = ...: allowed scopes of the local agreement */
	size_t		 scopesz;
	int		 scoped;	/* 1 when scopes was set (even empty: "none") */
	char		*entity_id;	/* entity-id: id of the entity (signed-jwks: default iss; x509: default the source name) */
	int		 untyped_ok;	/* legacy-untyped = yes: accept JWS without typ (never a wrong typ) */
	/* oidf (url = the trust anchor's entity id, anchor = its JWK Set) */
	char		**entity_ids;	/* entity = ID: leaves resolved bottom-up besides discovery */
	size_t		 entity_idsz;
	int		 discover;	/* discover = yes|no: walk the list endpoints (default yes) */
	int		 tm_no_exp;	/* trust-marks-without-exp = accept|drop (default drop: 0) */
	size_t		 max_fetches;	/* max-fetches: fetch budget of one resolution */
	/* x509 (url = the partner certificate, PEM; ca = its root) */
	char		*crl_url;	/* crl-url: CRL fetched each cycle (https or file) */
	char		*names_kind;	/* "subject_dn", "san_dns", "san_uri", "san_ip", "san_email" or NULL */
	char		**names;	/* tls-client-auth-*: expected names (bundle "names") */
	size_t		 namesz;
	/* registration and lifecycle (every type) */
	char		*note;		/* note = free text from the registration */
	struct revocation *revs;	/* revoked = / revoke-entity = (file order) */
	size_t		 revsz;
};

struct list_conf {
	char		*name;		/* [a-z0-9][a-z0-9-]{0,63} */
	char		*file;		/* the trustlists/NAME.conf it came from */
	long		 bundle_validity; /* seconds */
	long		 saml_validity;	/* seconds: validUntil of the aggregate = now + this */
	long		 cache_duration; /* seconds: cacheDuration written into the aggregate */
	long		 refresh;	/* seconds */
	double		 max_drop;	/* fraction 0..1 of entities that may vanish per publication */
	unsigned	 outputs;	/* OUT_* */
	int		 bundle_variant; /* BUNDLE_COMPACT or BUNDLE_FULL (x5c added) */
	long		 head_validity;	/* seconds: head exp = now + this (<= MAX_HEAD_VALIDITY) */
	char		*aggregate_name; /* Name attribute of the aggregate; default ISSUER/LIST */
	char		**allow;	/* list-wide entityID globs */
	size_t		 allowsz;
	char		**deny;
	size_t		 denysz;
	unsigned	 roles;		/* list-wide role filter, default ROLE_ALL */
	int		 disabled;	/* enabled = no: parsed and checked, never built or counted by /healthz */
	long		 approval_warning; /* approval-warning: warn this long before approved-until (14d) */
	long		 cert_warning;	/* cert-expiry-warning: warn when a partner certificate ends within (30d) */
	int		 shared_keys;	/* shared-keys = warn (0, default) | reject (1) */
	int		 weak_keys;	/* weak-keys = reject (0, default) | warn (1) */
	long		 revocation_retention; /* revocation-retention: revocations listed in the bundle this long (30d) */
	struct source_conf *sources;
	size_t		 sourcesz;
};

struct config {
	char		*file;
	char		*issuer;
	char		*state_dir;
	char		*publish_dir;
	char		*trustlists_dir;
	char		*signing_key;
	char		*signing_cert;	/* certificate of signing-key, put in the aggregate's KeyInfo */
	char		*next_key;
	char		*base_url;	/* URL prefix of the published lists (burl); default = issuer */
	char		*listen;
	char		*ca_file;
	long		 fetch_timeout;
	size_t		 max_size;
	int		 keep_generations; /* generations kept besides the live one */
	char		*audit_log;	/* audit-log: JSON-lines file; default state-dir/audit.log */
	int		 audit_syslog;	/* audit-syslog = yes (default) | no: copy each audit line to syslog */
	struct list_conf *lists;
	size_t		 listsz;
};

/*
 * Parse the main config file and every trustlists/NAME.conf.  On error returns
 * NULL and writes "FILE:LINE: message" into err.  Caller frees with config_free.
 */
struct config	*config_load(const char *file, char *err, size_t errsz);
void		 config_free(struct config *);
const struct list_conf *config_find_list(const struct config *, const char *);
const char	*source_type_name(enum source_type);
/* 1 when s matches [a-z0-9][a-z0-9EXTRA]{0,63} (list names: extra "-"). */
int		 config_name_ok(const char *s, const char *extra);
/*
 * Algorithms outside R6's allow-list that an operator may allow for one
 * source (legacy feeds), never by default.
 */
#define ALGX_RSA_SHA1		0x01	/* signature method rsa-sha1 */
#define ALGX_SHA1		0x02	/* digest method sha1 */
#define ALGX_ECDSA_SHA512	0x04	/* signature method ecdsa-sha512 */
/* "rsa-sha1, sha1" -> ALGX_* bits. 0 / -1. */
int		 parse_extra_algs(const char *, unsigned *);

/* "idp, sp" -> ROLE_* bits. 0 / -1. */
int		 parse_roles(const char *, unsigned *);
/* The i-th role name and its ROLE_* bit, in the bundle's order; NULL past the end (entity.c). */
const char	*role_name_at(size_t i, unsigned *bit);
/* The names of the bits of roles joined by sep into buf ("none" when there are none). */
const char	*roles_join(unsigned roles, const char *sep, char *buf, size_t bufsz);

/* ------------------------------------------------------------ anchor.c */

/* One pinned anchor: a public key, and the certificate it came from if any. */
struct anchor {
	EVP_PKEY	*pkey;
	X509		*cert;		/* NULL when the file held a bare public key */
	char		*file;
};

struct anchor_set {
	struct anchor	*pins;		/* pinned mode: any of these may sign */
	size_t		 pinsz;
	X509_STORE	*store;		/* CA mode: roots (+ CRLs); NULL in pinned mode */
	int		 have_crl;	/* CA mode: CRLs loaded, revocation checked */
	char		**names;	/* CA mode: signer name globs */
	size_t		 namesz;
	unsigned	 algs_extra;	/* ALGX_* this source may also use (operator opt-in) */
};

/*
 * Load a PEM file of certificates and/or public keys as pins (several per
 * file allowed, for rollover).  0, or -1 with v set (unreadable, no key).
 */
int	 anchor_load_pins(struct anchor_set *, const char *file, struct verdict *);
int	 anchor_load_ca(struct anchor_set *, const char *file, struct verdict *);
int	 anchor_load_crl(struct anchor_set *, const char *file, struct verdict *);
/* Build the anchor set for a configured source. 0 / -1 with v. */
int	 anchor_load_source(struct anchor_set *, const struct source_conf *, struct verdict *);
void	 anchor_set_free(struct anchor_set *);	/* frees members, not the struct */
/*
 * CA mode: check cert (with untrusted intermediates chain) against the store at
 * now: chain, revocation when CRLs are loaded, and the name globs.
 * 0 / -1 with v (R_CHAIN_*).
 */
int	 anchor_check_chain(const struct anchor_set *, X509 *cert, STACK_OF(X509) *chain,
	    time_t now, struct verdict *);
/*
 * anchor_check_chain naming cert as what in messages ("partner certificate"),
 * that also returns the validated chain (cert first, the root last) in
 * *verified when not NULL; the caller frees it with
 * sk_X509_pop_free(*verified, X509_free).  0 / -1 with v (R_CHAIN_*).
 */
int	 anchor_verify_chain(const struct anchor_set *, X509 *cert, STACK_OF(X509) *chain,
	    time_t now, const char *what, STACK_OF(X509) **verified, struct verdict *);

/* ------------------------------------------------------------ saml.c, saml_verify.c */

#define KEY_USE_SIGNING		0x01
#define KEY_USE_ENCRYPTION	0x02

/* Purposes of a key in the bundle (bundle-format 4.6). */
#define PURP_JWT	0x01	/* verify JWS/JWT from the entity */
#define PURP_JWE	0x02	/* encrypt to the entity */
#define PURP_MTLS	0x04	/* the presented leaf must be this certificate (x5t#S256) */
#define PURP_CA		0x08	/* X.509 anchor for this entity's certificates only (needs names) */
#define PURP_SAML_SIG	0x10
#define PURP_SAML_ENC	0x20

/* Provenance of a key (bundle-format 4.6 "prov"). */
enum key_prov { PROV_SAML_MD = 0, PROV_CHAIN, PROV_SIGNED_JWKS, PROV_JWKS_URI, PROV_LOCAL };
/* "saml_md", "chain", "signed_jwks", "jwks_uri", "local" (static). */
const char	*prov_name(enum key_prov);

/* A key from a verified KeyDescriptor, JWK or partner certificate. */
struct key {
	unsigned	 use;		/* SAML: KEY_USE_* (no use attribute = both) */
	unsigned char	*cert;		/* certificate DER, NULL if only a key was given */
	size_t		 certsz;
	unsigned char	*spki;		/* SubjectPublicKeyInfo DER (always set) */
	size_t		 spkisz;
	time_t		 not_after;	/* certificate notAfter, 0 when no certificate */
	unsigned	 purposes;	/* PURP_*; 0 = from use (SAML: saml-sig / saml-enc) */
	enum key_prov	 prov;
	char		*kid;		/* the partner's kid, copied verbatim, or NULL */
	char		*alg;		/* the JWK's alg when the source fixes it, or NULL */
	char		*juse;		/* the JWK's use ("sig" / "enc"), or NULL */
};

/* A trust mark verified by the aggregator (bundle "tm"). */
struct tmark {
	char		*type;		/* trust_mark_type */
	time_t		 exp;		/* 0 when the mark has no exp */
};

/* One entity as plain data, extracted from a verified tree. */
struct entity {
	char		*id;		/* entityID */
	unsigned	 roles;		/* ROLE_* */
	struct key	*keys;
	size_t		 keysz;
	char		*ra;		/* mdrpi:RegistrationInfo/@registrationAuthority or NULL */
	char		**categories;	/* mdattr:EntityAttributes attribute values, "NAME|VALUE" */
	size_t		 categoriesz;
	char		*org;		/* OrganizationDisplayName (first), or NULL */
	time_t		 valid_until;	/* earliest validUntil of the entity and its enclosing groups */
	char		*xml;		/* standalone serialisation of the verified EntityDescriptor, */
	size_t		 xmlsz;		/*   in-scope namespaces declared, embedded ds:Signature removed */
	const char	*src;		/* borrowed: source name (set by the caller) */
	int		 priority;	/* copied from the source (set by the caller) */
	/* non-SAML entities (xml == NULL) */
	enum proto	 proto;		/* PROTO_SAML2 for SAML */
	char		*ta;		/* OIDF: trust anchor of the selected chain */
	char		**path;		/* OIDF: intermediates then the TA, from the subject up */
	size_t		 pathsz;
	struct tmark	*tms;		/* OIDF: verified trust marks */
	size_t		 tmsz;
	char		**scopes;	/* allowed scopes (resolved scope, intersected with the agreement) */
	size_t		 scopesz;
	int		 scoped;	/* 1 when scopes restricts (scopesz 0 = no scope allowed) */
	char		*names_kind;	/* "subject_dn", "san_dns", ... (bundle "names"), or NULL */
	char		**names;
	size_t		 namesz;
	char		*meta;		/* OIDF: resolved metadata, canonical JSON (per-entity lookups), or NULL */
	size_t		 metasz;
};

/* An entity that was dropped from an otherwise accepted feed (quarantine). */
struct drop {
	char		*id;		/* entityID, or "(unknown)" */
	enum reason	 reason;
	char		*detail;
};

/* What a verified SAML document yields. */
struct entity_set {
	struct entity	*entities;
	size_t		 entitiesz;
	struct drop	*drops;
	size_t		 dropsz;
	time_t		 valid_until;	/* root validUntil */
	long		 cache_duration; /* root cacheDuration in seconds, -1 when absent */
	time_t		 created;	/* PublicationInfo creationInstant, 0 when absent */
	char		*name;		/* root Name attribute, or NULL */
	char		*signer;	/* which anchor verified it: file name or subject, for logs */
};

/* Options of one SAML verification (one source). */
struct saml_opts {
	const char	*source;	/* for messages only */
	long		 max_validity;	/* seconds; 0 = no upper bound */
	enum cert_validity cert_validity;
	long		 skew;		/* seconds for creationInstant in the future */
	size_t		 max_entities;	/* 0 = MAX_ENTITIES */
	int		 engine;	/* SAML_ENGINE_*: AUTO streams and falls back to the tree */
	int		 no_xml;	/* 1: keep neither e->xml nor certificate DER, only SPKI (fedtrust verify) */
};
#define SAML_ENGINE_AUTO	0
#define SAML_ENGINE_DOM		1
#define SAML_ENGINE_STREAM	2	/* stream only: a fallback is R_INTERNAL "stream engine: ..." */

/*
 * Verify one SAML metadata document held in buf against anchors at now,
 * under rules R1-R11 of docs/security-rules.md, and extract its entities.
 * Returns 0 and fills out (caller frees with entity_set_free), or -1 with v.
 * Never reads files or the network; never uses a key carried by the document.
 */
int	 saml_verify(const unsigned char *buf, size_t len, const struct anchor_set *,
	    const struct saml_opts *, time_t now, struct entity_set *out, struct verdict *);
/*
 * The same from a file descriptor read in chunks (never the whole document
 * in memory unless the tree verifier has to decide; then fd must be
 * seekable, or it is read whole).  fd is not closed.
 */
int	 saml_verify_fd(int fd, const struct anchor_set *, const struct saml_opts *, time_t now,
	    struct entity_set *out, struct verdict *);
/* entity.c: entities of every source type. */
void	 entity_set_free(struct entity_set *);	/* frees members, not the struct */
void	 entity_free(struct entity *);		/* frees members, not the struct */
void	 key_free(struct key *);		/* frees members, not the struct */
/* Deep copy of e into dst (every member). */
void	 entity_copy(struct entity *dst, const struct entity *e);
void	 key_copy(struct key *dst, const struct key *k);
/* Append a zeroed entity to s; the pointer is valid until the next append. */
struct entity *entity_set_add(struct entity_set *);
/* Record a dropped entity (id may be NULL: "(unknown)") with its reason. */
void	 entity_set_drop(struct entity_set *, const char *id, enum reason, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Append *k to e (members moved, *k zeroed); beyond MAX_KEYS it is freed. */
void	 entity_add_key(struct entity *e, struct key *k);

/*
 * certpeek.c: the SubjectPublicKeyInfo (pointer into der) and notAfter of a
 * DER certificate, structure checked, nothing decoded. 0 / -1.
 */
int	 cert_peek(const unsigned char *der, size_t len, const unsigned char **spki,
	    size_t *spkisz, time_t *not_after);

/* One-time init/shutdown of libxml2 + xmlsec for the process. 0 / -1. */
int	 xml_init(void);
void	 xml_shutdown(void);

/* Internal to saml.c and saml_verify.c (libxml2 types kept opaque here). */
struct _xmlNode;
struct _xmlDoc;
/* 1 when the node is the element {ns}name. */
int	 saml_is(const struct _xmlNode *, const char *ns, const char *name);
/* First element child, or NULL. */
struct _xmlNode *saml_first_elem(const struct _xmlNode *);
/* base64 (whitespace ignored) -> malloc'd bytes. 0 / -1. */
int	 saml_b64_decode(const char *, unsigned char **, size_t *);
/*
 * Verify the enveloped signature sig over target (R3-R9) with keys from the
 * anchor set only; target_id must already be the only registered ID.
 * 0 (and *signer, caller frees, when signer != NULL) / -1 with v.
 */
int	 saml_sig_verify(struct _xmlNode *sig, struct _xmlNode *target, const char *target_id,
	    const struct anchor_set *, time_t now, char **signer, struct verdict *);

/*
 * Verify the root signature sig over the document element target (R3-R9)
 * like saml_sig_verify, but from a digest computed elsewhere: digest (of
 * digestsz bytes) is the streamed, transformed Reference content and is
 * compared with DigestValue; SignatureValue is checked over SignedInfo
 * canonicalised from the (partial) tree holding sig.  The candidate keys
 * are chosen exactly as saml_sig_verify chooses them.
 * 0 (and *signer as above) / -1 with v.
 */
int	 saml_sig_verify_digest(struct _xmlNode *sig, struct _xmlNode *target,
	    const char *target_id, const unsigned char *digest, size_t digestsz,
	    const struct anchor_set *, time_t now, char **signer, struct verdict *);
/* EVP digest named by the Reference's DigestMethod of sig (allowed ones only), or NULL. */
const EVP_MD *saml_sig_digest_md(const struct _xmlNode *sig, unsigned optin);

/*
 * Extraction shared by the tree verifier (saml.c) and the streaming one
 * (saml_stream.c): one EntityDescriptor at a time from a verified (sub)tree.
 */
struct saml_walk {
	struct _xmlDoc		*doc;
	const struct saml_opts	*opts;
	time_t			 now;
	size_t			 max;		/* entity cap */
	size_t			 count;		/* EntityDescriptors seen */
	struct entity_set	*out;
	size_t			 entcap;
};
/* Extract the EntityDescriptor ed (inherited validity vu, 0 = none) or drop it (forced). */
void	 saml_walk_entity(struct saml_walk *, struct _xmlNode *ed, time_t vu,
	    const struct verdict *forced);
/*
 * Enter the group g (an EntitiesDescriptor) reached with (*vu, forced):
 * updates *vu with its validUntil and returns what drops everything below
 * it (forced, or fv filled in), or NULL.
 */
const struct verdict *saml_walk_group_scope(struct saml_walk *, struct _xmlNode *g, time_t *vu,
	    const struct verdict *forced, struct verdict *fv);
/* Drop duplicate entityIDs, then feed-empty when nothing is left. 0 / -1 with v. */
int	 saml_walk_finish(struct saml_walk *, struct verdict *);
/* R11 on the document element (validUntil, creationInstant, cacheDuration). 0 / -1 with v. */
int	 saml_check_validity(const struct _xmlNode *root, const struct saml_opts *, time_t now,
	    struct entity_set *, struct verdict *);
/* The tree verifier: saml_verify with SAML_ENGINE_DOM. */
int	 saml_verify_dom(const unsigned char *buf, size_t len, const struct anchor_set *,
	    const struct saml_opts *, time_t now, struct entity_set *out, struct verdict *);

/*
 * saml_stream.c: the streaming verifier.  Returns 0 (accepted, out
 * filled), -1 with v (rejected: only for errors of the input itself, such
 * as a read error), or SAML_STREAM_FALLBACK when the document is not of
 * the shape it handles exactly or does not verify: then the tree verifier
 * must decide (v->detail says why, for debugging).
 */
#define SAML_STREAM_FALLBACK	1
/*
 * Process-wide engine for saml_opts.engine == SAML_ENGINE_AUTO, by name:
 * "dom" or "stream"; NULL or anything else keeps AUTO (tests and benchmarks:
 * the mains pass FEDTRUST_SAML_ENGINE).
 */
void	 saml_set_default_engine(const char *);
struct saml_stream;
/* Start a streaming verification (caller frees with saml_stream_free). */
struct saml_stream *saml_stream_new(const struct anchor_set *, const struct saml_opts *,
	    time_t now);
/* Feed the next len bytes. 0, or SAML_STREAM_FALLBACK once it has given up. */
int	 saml_stream_push(struct saml_stream *, const unsigned char *buf, size_t len);
/* End of input: 0 with out (caller frees) or SAML_STREAM_FALLBACK with v. */
int	 saml_stream_finish(struct saml_stream *, struct entity_set *out, struct verdict *);
void	 saml_stream_free(struct saml_stream *);

/* ------------------------------------------------------------ c14n.c */

/*
 * Exclusive XML canonicalization from parse events (xml-exc-c14n).  The
 * caller reports element starts/ends, text, comments and PIs of the
 * document element in order; canonical bytes reach the sink in chunks of
 * up to 64 KB (and at c14n_flush).  Values are as an XML processor
 * reports them (references resolved, attribute values normalised).
 */
struct c14n;
typedef void	(*c14n_sink)(void *arg, const unsigned char *buf, size_t len);
/* A namespace declaration: prefix NULL for the default, uri "" for xmlns="". */
struct c14n_ns {
	const char	*prefix;
	const char	*uri;
};
/* An attribute: prefix/uri NULL when unqualified; value need not be NUL-terminated. */
struct c14n_attr {
	const char	*prefix;
	const char	*local;
	const char	*uri;
	const char	*value;
	size_t		 valuesz;
};
/*
 * comments: 1 for #WithComments; prefixlist: InclusiveNamespaces PrefixList
 * ("#default" for the default namespace) or NULL.  Free with c14n_free.
 */
struct c14n	*c14n_new(int comments, const char *prefixlist, c14n_sink, void *arg);
void	 c14n_start(struct c14n *, const char *prefix, const char *local,
	    const struct c14n_ns *, size_t nsn, const struct c14n_attr *, size_t an);
void	 c14n_end(struct c14n *);
void	 c14n_text(struct c14n *, const char *, size_t);
void	 c14n_comment(struct c14n *, const char *);
void	 c14n_pi(struct c14n *, const char *target, const char *data);
void	 c14n_flush(struct c14n *);
void	 c14n_free(struct c14n *);

/* ------------------------------------------------------------ fetch.c */

struct fetch_req {
	const char	*source;	/* LIST/SOURCE, for messages */
	const char	*url;		/* https:// or file:// only */
	const char	*ca_file;	/* CA bundle for TLS verification; NULL = system default */
	long		 timeout;	/* whole transfer, seconds */
	long		 connect_timeout; /* seconds */
	size_t		 max_size;	/* cap on the body, also after decompression */
	const char	*etag;		/* validators of the cached copy, or NULL */
	const char	*last_modified;
};

struct fetch_res {
	int		 ok;		/* 1 when body or not_modified is usable */
	int		 not_modified;	/* 304: use the cached copy */
	long		 status;	/* HTTP status, 0 for file:// */
	unsigned char	*body;		/* caller frees (fetch_res_free) */
	size_t		 bodysz;
	char		*etag;
	char		*last_modified;
	long		 retry_after;	/* seconds from Retry-After, -1 when absent */
	struct verdict	 v;		/* why, when !ok */
};

/* Fetch n requests concurrently (one curl multi handle). Always fills res[0..n). */
void	 fetch_many(const struct fetch_req *, struct fetch_res *, size_t n);
/* Send every later fetch_many through fn (the verify child's proxy to the fetch child). */
typedef void	 fetch_proxy_fn(const struct fetch_req *, struct fetch_res *, size_t n, void *arg);
void	 fetch_set_proxy(fetch_proxy_fn *fn, void *arg);
void	 fetch_res_free(struct fetch_res *);	/* frees members, not the struct */
int	 fetch_init(void);			/* curl_global_init; 0 / -1 */
void	 fetch_shutdown(void);

#define MAX_HEADER_BYTES	(256 * 1024)	/* response header bytes of one fetch, redirects included */
#define MAX_HEADER_VALUE	1024		/* longer ETag/Last-Modified/Retry-After values are ignored */
#define MAX_RETRY_AFTER		86400L		/* Retry-After is capped to one day */
#define FETCH_LOW_SPEED_LIMIT	1		/* bytes/s: slower than this ... */
#define FETCH_LOW_SPEED_TIME	30		/* ... for this many seconds aborts (clamped to the timeout) */

/* ------------------------------------------------------------ cache.c */

/* Last good copy of a source, kept in state-dir/sources/LIST/SOURCE/. */
struct cache_entry {
	unsigned char	*doc;		/* raw bytes as fetched (verified when stored) */
	size_t		 docsz;
	char		*etag;
	char		*last_modified;
	char		 sha256[65];
	time_t		 fetched;	/* when these bytes were last fetched or confirmed by 304 */
	time_t		 valid_until;	/* of the document */
	time_t		 created;	/* creationInstant, 0 if none (rollback check) */
};

/*
 * 0 found, 1 none, -1 error (logged); a stored copy over max bytes (the
 * source's max-size) is not read.  Caller frees with cache_entry_free.
 */
int	 cache_load(const char *state_dir, const char *list, const char *source, size_t max,
	    struct cache_entry *);
/* Atomically replace the stored copy. 0 / -1. */
int	 cache_store(const char *state_dir, const char *list, const char *source, const struct cache_entry *);
void	 cache_entry_free(struct cache_entry *);

/* ------------------------------------------------------------ jwt.c */

/*
 * Third-party JWS: OpenID Federation statements, trust marks and signed JWK
 * Sets (docs/jws-sources.md).  Strict compact parsing, explicit typ, the
 * algorithm pinned by the key's type, keys only from a set the caller
 * trusts, never from the header.  Nothing here fetches or reads files except
 * jwkset_load_file.
 */
struct json_t;

/* One public key of a JWK Set. */
struct jwk_entry {
	char		*kid;		/* the JWK's kid, or NULL */
	EVP_PKEY	*pkey;
	char		*alg;		/* the JWK's alg member, or NULL */
	char		*use;		/* the JWK's use ("sig", "enc"), or NULL */
	int		 verify_ok;	/* 0 when use is not sig or key_ops lacks verify */
	char		 jkt[44];	/* RFC 7638 thumbprint, base64url */
	struct json_t	*jwk;		/* the JWK as received (own reference); never private */
};

struct jwkset {
	struct jwk_entry *keys;
	size_t		 n;
};

#define JWKS_SKIP_UNSUPPORTED	0x01	/* skip keys of another kty/curve (protocol keys) */

/*
 * Parse a JWK Set object {"keys": [...]}: public keys only (a private member
 * rejects the whole set), EC P-256/384/521, RSA 2048..16384, OKP Ed25519;
 * duplicate kid values reject the set; at most MAX_JWKS_KEYS.  Keys of
 * another type reject the set unless JWKS_SKIP_UNSUPPORTED (a set whose
 * keys are all skipped comes back with n == 0).  0 / -1 with v
 * (R_JWS_KEY).  Free with jwkset_free.
 */
int	 jwkset_from_json(struct jwkset *, const struct json_t *set, unsigned flags,
	    struct verdict *);
/*
 * An anchor file: a JWK Set or one JWK (strict JSON), appended to set (zeroed
 * or filled by earlier calls: several files merge); a kid already in set
 * rejects the file and leaves set unchanged.  0 / -1 with v (R_INTERNAL
 * unreadable, R_JSON_INVALID, R_JWS_KEY).
 */
int	 jwkset_load_file(struct jwkset *, const char *file, struct verdict *);
void	 jwkset_free(struct jwkset *);		/* frees members, not the struct */
/* The key whose kid equals kid exactly, NULL when none (borrowed). */
const struct jwk_entry *jwkset_find_kid(const struct jwkset *, const char *kid);
/* 1 when both sets hold exactly the same keys (by thumbprint), else 0. */
int	 jwkset_same(const struct jwkset *, const struct jwkset *);

/* A compact JWS parsed but not yet verified. */
struct jws {
	struct json_t	*header;	/* own reference */
	struct json_t	*payload;	/* own reference; always a JSON object */
	const char	*kid;		/* borrowed from header */
	const char	*typ;		/* borrowed from header, or NULL (legacy untyped) */
	int		 alg;		/* enum fedtrustp_alg of the header */
	const char	*input;		/* signing input: the received ASCII (borrowed from the caller) */
	size_t		 inputsz;
	unsigned char	*sig;
	size_t		 sigsz;
};

#define JWS_UNTYPED_OK	0x01	/* legacy opt-in: a missing typ is accepted (a wrong one never) */
/*
 * fedtrust verify --legacy-drafts only (never the daemon): statements of
 * early OpenID Federation drafts: no typ, claims of the other statement
 * kind ignored, http:// entity identifiers.  Signatures, keys and times are
 * checked as always.
 */
#define JWS_LEGACY_DRAFTS 0x02

/*
 * Strictly parse buf (len bytes, at most MAX_JWS_SIZE) as a compact JWS whose
 * typ must be typ: canonical base64url segments, header and payload strict
 * JSON objects; header members other than alg, kid and typ are
 * R_JWS_HEADER (crit, jwk, jku, x5u, x5c, x5t, b64, trust_chain ...); alg
 * none/HS* /unknown is R_JWS_ALG; kid must be a non-empty string (R_JWS_KID).
 * buf stays borrowed by j.  0 / -1 with v.  Free with jws_free.
 */
int	 jws_parse(const char *buf, size_t len, const char *typ, unsigned flags, struct jws *j,
	    struct verdict *);
/*
 * Verify j with the one key of ks whose kid equals j->kid (R_JWS_KID): the
 * key's type decides the algorithm (RSA: RS256/PS256, P-256: ES256, P-384:
 * ES384, P-521: ES512, Ed25519: Ed25519/EdDSA; else R_JWS_ALG), a JWK alg
 * must equal the header's (R_JWS_ALG), use must be sig and key_ops include
 * verify when present (R_JWS_KEY).  *used (may be NULL) is the key
 * (borrowed from ks).  0 / -1 with v.
 */
int	 jws_verify(const struct jws *, const struct jwkset *ks, const struct jwk_entry **used,
	    struct verdict *);
void	 jws_free(struct jws *);		/* frees members, not the struct */
/*
 * NumericDate claim name of obj: an integer in [0, 2^53 - 1] (JWS-09).
 * 1 found, 0 absent and optional, -1 with v (R_JWT_CLAIM).
 */
int	 jwt_time(const struct json_t *obj, const char *name, int required, time_t *out,
	    struct verdict *);
/*
 * iat/exp window of a verified payload at now: iat (if required or present)
 * not after now + skew, exp after now (R_EXPIRED), exp - now <= max_validity
 * when max_validity > 0 (R_VALIDITY_TOO_LONG).  *exp_out 0 when absent.
 * 0 / -1 with v.
 */
int	 jwt_window(const struct json_t *payload, int need_iat, int need_exp, time_t now,
	    long skew, long max_validity, time_t *exp_out, struct verdict *);
/*
 * One protocol key of a partner as an entity key: SPKI from the JWK, kid,
 * alg and use copied, purposes from use (sig: jwt, enc: jwe, absent: both),
 * x5c[0] kept as the certificate when it holds the same key.  0, or -1 with
 * why (the key is left out).  Free with key_free.
 */
int	 key_from_jwk(const struct jwk_entry *, enum key_prov, struct key *out, char *why,
	    size_t whysz);

/* ------------------------------------------------------------ oidf_stmt.c */

/* One entity statement, claims checked, signature not yet (openid-federation.md 1.4 A). */
struct oidf_stmt {
	struct jws	 jws;		/* header, payload, signing input */
	const char	*iss;		/* borrowed from jws.payload */
	const char	*sub;
	time_t		 iat, exp;
	struct jwkset	 jwks;		/* the statement's jwks claim (the subject's federation keys) */
	int		 is_ec;		/* iss == sub: an entity configuration */
	const struct json_t *metadata;	/* borrowed: "metadata" object or NULL */
	const struct json_t *authority_hints;	/* EC only: array of strings or NULL */
	const struct json_t *trust_marks;	/* EC only: array or NULL */
	const struct json_t *constraints;	/* SS only, or NULL */
	const struct json_t *metadata_policy;	/* SS only, or NULL */
	const struct json_t *metadata_policy_crit; /* SS only, or NULL */
	unsigned	 flags;		/* JWS_* of the parse */
};

/*
 * Parse buf as an entity statement (typ entity-statement+jwt; JWS_UNTYPED_OK
 * in flags for the legacy opt-in) and check its claims at now: iss and sub
 * valid entity ids (https URL, host, no query or fragment), iat not after
 * now + skew, exp after now - 0 and exp - now <= max_validity when > 0, jwks
 * a valid JWK Set, crit names understood (none are), claims only in their
 * statement kind, no null metadata values, trust_marks syntax,
 * authority_hints non-empty strings.  The signature is not checked here:
 * the key comes from the superior (jws_verify(&st->jws, keys, ...)).
 * buf stays borrowed.  0 / -1 with v.  Free with oidf_stmt_free.
 */
int	 oidf_stmt_parse(const char *buf, size_t len, unsigned flags, time_t now, long skew,
	    long max_validity, struct oidf_stmt *, struct verdict *);
void	 oidf_stmt_free(struct oidf_stmt *);	/* frees members, not the struct */
/* 1 when s is a valid entity identifier (https, host, no query/fragment, <= MAX_ENTITY_ID). */
int	 oidf_entity_id_ok(const char *s);

/* ------------------------------------------------------------ jwks_src.c */

/*
 * A signed JWK Set source (typ jwk-set+jwt) verified against the source's
 * anchor keys at now: iss, sub (== iss), keys, exp required within
 * max-validity, iat not in the future beyond the skew.  Yields one entity:
 * id = s->entity_id or iss, proto oauth, roles from s->roles (default
 * oauth_client), keys with prov signed_jwks.  0 / -1 with v.
 */
int	 jwks_src_verify(const unsigned char *, size_t, const struct jwkset *anchors,
	    const struct source_conf *, time_t now, struct entity_set *, struct verdict *);

/* ------------------------------------------------------------ x509_src.c */

/*
 * An X.509 partner (type x509): doc is PEM, the partner's certificate first
 * (a leaf client certificate, or the issuing CA the partner is registered
 * by), then any intermediates.  It must chain to the source's ca roots at
 * now, pass revocation against the CRL files and crl (DER or PEM, may be
 * NULL) when given, and match signer-name globs.  Yields one entity: id =
 * s->entity_id or the source name, proto x509, roles from s->roles (default
 * tls_client); a CA certificate becomes a key with purpose ca (names
 * required), a leaf one purpose mtls; valid_until = min(notAfter of the
 * chain, CRL nextUpdate).  0 / -1 with v (R_CHAIN_*, R_CERT_INVALID).
 */
int	 x509_src_verify(const unsigned char *doc, size_t len, const unsigned char *crl,
	    size_t crlsz, const struct source_conf *, time_t now, struct entity_set *,
	    struct verdict *);
/*
 * Check a fetched CRL against the source's ca roots at now: signed by one of
 * them (or an intermediate of doc), lastUpdate not in the future, nextUpdate
 * after now.  *next_update set.  0 / -1 with v (R_CHAIN_CRL).
 */
int	 x509_crl_check(const unsigned char *crl, size_t crlsz, const unsigned char *doc,
	    size_t docsz, const struct source_conf *, time_t now, time_t *next_update,
	    struct verdict *);

#define MAX_X509_CERTS		8		/* certificates in one x509 partner document */
#define MAX_X509_DOC		(1024 * 1024)	/* bytes of an x509 partner document */
#define MAX_X509_CRL		(64UL * 1024 * 1024) /* bytes of a fetched CRL (large CAs publish many MB) */

/* ------------------------------------------------------------ oidf_policy.c */

/*
 * OpenID Federation constraints and metadata policy (openid-federation.md
 * 1.4 D), on jansson values.  First release: the seven standard operators
 * on strings, numbers, booleans and arrays of them; object-valued
 * comparisons and any operator named in metadata_policy_crit fail closed.
 */

/*
 * Merge the metadata_policy claims of a chain's subordinate statements,
 * policies[0] from the TA's statement down to policies[n-1] from the
 * immediate superior's (NULL entries allowed), each checked first
 * (structure, operator combinations); crits[i] is statement i's
 * metadata_policy_crit or NULL.  *merged (caller decrefs) is an object
 * entity_type -> parameter -> operator -> value.  0 / -1 with v
 * (R_CHAIN_POLICY).
 */
int	 oidf_policy_merge(const struct json_t *const *policies, const struct json_t *const *crits,
	    size_t n, struct json_t **merged, struct verdict *);
/*
 * Apply a merged policy to metadata (entity_type -> parameters) in place,
 * operators in their fixed order (value, add, default, one_of, subset_of,
 * superset_of, essential); "scope" strings are treated as arrays.  0 / -1
 * with v (R_CHAIN_POLICY).
 */
int	 oidf_policy_apply(const struct json_t *merged, struct json_t *metadata, struct verdict *);
/*
 * Check one subordinate statement's constraints claim: max_path_length
 * against intermediates (the number of intermediates between the
 * statement's issuer and the chain's subject) and naming_constraints
 * against each of ids[0..n) (the subject and the intermediates below the
 * issuer).  0 / -1 with v (R_CHAIN_CONSTRAINT, R_JWT_CLAIM when malformed).
 */
int	 oidf_constraints_check(const struct json_t *constraints, const char *const *ids, size_t n,
	    size_t intermediates, struct verdict *);
/* allowed_entity_types of constraints: remove other types from metadata (federation_entity stays). 0 / -1. */
int	 oidf_constraints_types(const struct json_t *constraints, struct json_t *metadata,
	    struct verdict *);
/* members of one policy operand or policed metadata array (set operations are quadratic) */
#define MAX_OIDF_POLICY_ARRAY	1000

/* ------------------------------------------------------------ oidf.c */

/*
 * The resolver asks for statements in batches through a fetcher: the daemon's
 * fetches over HTTPS, the last good snapshot, or a test's table.  fetch
 * must fill res[0..n) (fetch_res: ok, status, body).
 */
struct oidf_fetcher {
	void	(*fetch)(void *arg, const char *const *urls, size_t n, struct fetch_res *res);
	void	*arg;
};

/* Options of one OpenID Federation source. */
struct oidf_opts {
	const char	*source;	/* LIST/SOURCE, for messages */
	const char	*ta;		/* configured trust anchor entity id */
	const struct jwkset *ta_keys;	/* its configured JWK Set (authoritative) */
	char *const	*entity_ids;	/* static leaves, resolved bottom-up */
	size_t		 entity_idsz;
	int		 discover;	/* walk list endpoints from the TA */
	unsigned	 roles;		/* ROLE_* entity types wanted */
	int		 tm_no_exp;	/* accept trust marks without exp */
	unsigned	 jws_flags;	/* JWS_UNTYPED_OK (legacy opt-in) */
	long		 max_validity;	/* seconds: statements' exp - now bound, 0 = none */
	long		 skew;		/* leeway on iat / exp, seconds */
	size_t		 max_fetches;	/* fetch budget, 0 = MAX_OIDF_FETCHES */
	struct json_t	*snapshot;	/* when not NULL: every body used is recorded {url: body} */
};

/*
 * Resolve the federation of o->ta at now (openid-federation.md 1.4 A-G):
 * discover leaves, validate statements, build and validate chains, apply
 * constraints and metadata policy, validate trust marks, collect protocol
 * keys (jwks, signed_jwks_uri verified, jwks_uri marked).  One entity per
 * leaf (proto oidf, valid_until = the chain's earliest exp); a leaf that
 * fails is a drop with its reason.  -1 with v only when the trust anchor
 * itself cannot be used.  Fill out (entity_set_free).
 */
int	 oidf_resolve(const struct oidf_opts *, const struct oidf_fetcher *, time_t now,
	    struct entity_set *out, struct verdict *);
/*
 * A fetcher answering from a snapshot object {url: body} (arg is the json_t
 * object): the last good copy, and tests.  Unknown URLs are status 404.
 */
void	 oidf_snapshot_fetch(void *arg, const char *const *urls, size_t n, struct fetch_res *);

/* ------------------------------------------------------------ sign.c */

enum sig_alg { SIG_RSA_SHA256 = 1, SIG_ECDSA_SHA256, SIG_ECDSA_SHA384, SIG_ED25519, SIG_RSA_PSS_SHA256 };

/* The operator's signing key. */
struct signer {
	EVP_PKEY	*key;		/* private key */
	X509		*cert;		/* matching certificate, NULL if none configured */
	enum sig_alg	 xml_alg;	/* rsa-sha256 for RSA, ecdsa-sha256 for P-256, ecdsa-sha384 for P-384 */
	char		*file;
};

/*
 * Load the operator key through OpenSSL's store API (a file path or, later,
 * a PKCS#11 URI) and its certificate; check that they match.  0 / -1 with v
 * (R_SIGN_FAILED).  Caller frees with signer_free.
 */
int	 signer_load(struct signer *, const char *keyuri, const char *certfile, struct verdict *);
void	 signer_free(struct signer *);		/* frees members, zeroises, not the struct */

/* ------------------------------------------------------------ out_saml.c */

struct saml_out_opts {
	const char	*name;		/* EntitiesDescriptor Name */
	const char	*publisher;	/* PublicationInfo publisher (the issuer) */
	time_t		 valid_until;	/* now + saml-validity, clamped by the caller */
	long		 cache_duration; /* seconds, written as xs:duration */
	uint64_t	 seq;		/* publication sequence, used in ID and publicationId */
};

/*
 * Build the signed aggregate of ents (already sorted and filtered by policy)
 * at now with signer s.  Exclusive C14N, enveloped signature first child of
 * the root, Reference URI="#ID".  Returns 0 and a malloc'd document in
 * out and outsz (NUL-terminated, the NUL not counted), or -1 with v.
 */
int	 out_saml_aggregate(const struct entity *const *ents, size_t n, const struct saml_out_opts *,
	    const struct signer *, time_t now, unsigned char **out, size_t *outsz, struct verdict *);
/*
 * One EntityDescriptor signed for MDQ (per-entity lookups): e's XML with ID
 * set to id and validUntil to valid_until, enveloped signature, exclusive
 * C14N, verified again like the aggregate.  0 and a malloc'd document in
 * out (NUL-terminated, not counted), or -1 with v.
 */
int	 out_saml_entity(const struct entity *e, const char *id, time_t valid_until,
	    const struct signer *, time_t now, unsigned char **out, size_t *outsz, struct verdict *);

/* ------------------------------------------------------------ publish.c */

/* One file of a generation, path relative to the list folder ("aggregate.xml"). */
struct gen_file {
	const char	*path;
	const unsigned char *data;
	size_t		 len;
};

/*
 * Take the state-dir lock (flock on state-dir/lock, non-blocking). Returns an
 * fd to keep open while publishing, or -1 when another process holds it.
 */
int	 publish_lock(const char *state_dir);
/* Allocate the next sequence number of list, persisted and fsynced first. 0 / -1. */
int	 publish_next_seq(const char *state_dir, const char *list, uint64_t *seq);
/* Last sequence number published for list (0 when none). */
uint64_t publish_last_seq(const char *state_dir, const char *list);
/*
 * Write files into a new generation folder beside the live one, fsync, and
 * switch publish_dir/LIST to it atomically (symlink rename); keep `keep` old
 * generations.  On failure the live generation is untouched. 0 / -1 with v.
 */
int	 publish_generation(const char *publish_dir, const char *list, uint64_t seq,
	    const struct gen_file *, size_t n, int keep, struct verdict *);
/* Read a file of the live generation (for the previous entity count etc.). 0 / -1. */
/*
 * The folder of list's live generation (publish_dir/.gen/LIST/SEQ, the link
 * read once so every later read sees one generation) and its *seq; NULL
 * when the list has none of ours or the name is not one path component.
 * Caller frees.
 */
char	*publish_live_dir(const char *publish_dir, const char *list, uint64_t *seq);
int	 publish_read_live(const char *publish_dir, const char *list, const char *path,
	    unsigned char **buf, size_t *len);

/* ------------------------------------------------------------ out_bundle.c, out_mdq.c */

/* Files of one generation being assembled; owns paths and data. */
struct outfiles {
	struct gen_file	*f;
	char		*owned;		/* owned[i]: f[i].data is ours to free */
	size_t		 n;
};
/* Append path (copied) with data (ownership taken; freed with the set). */
void	 outfiles_add(struct outfiles *, const char *path, unsigned char *data, size_t len);
/* Append path (copied) with data borrowed from an earlier entry of the set. */
void	 outfiles_add_ref(struct outfiles *, const char *path, const unsigned char *data,
	    size_t len);
void	 outfiles_free(struct outfiles *);	/* frees members, not the struct */

struct json_t;

/* What the bundle of one generation needs to know. */
struct revoked_set;
struct bundle_opts {
	const char	*issuer;
	const char	*list;
	const char	*base_url;	/* burl prefix (no trailing slash needed) */
	uint64_t	 seq;
	long		 bundle_validity; /* seconds */
	long		 head_validity;	/* seconds, <= MAX_HEAD_VALIDITY */
	long		 refresh;	/* seconds, clamped to 60..86400 */
	int		 variant;	/* BUNDLE_COMPACT or BUNDLE_FULL */
	const char	*prev;		/* base64url SHA-256 of the bundle seq-1, or NULL */
	const char	*next_key;	/* file of the standby key (PEM public/private key or cert), or NULL */
	const struct source_state *sources;
	size_t		 sourcesz;
	const time_t	*fetched;	/* per source: last successful fetch, 0 = never */
	const struct revoked_set *revoked; /* recent revocations (member "revoked"), or NULL */
};

/* A produced bundle: the JWS, its head, keys.json and the entity objects. */
struct bundle {
	char		*jws;		/* bundle compact JWS (malloc'd) */
	size_t		 jwssz;
	char		*head;		/* head compact JWS */
	size_t		 headsz;
	char		*keys;		/* keys.json */
	size_t		 keyssz;
	char		 bdig[44];	/* base64url SHA-256 of jws */
	time_t		 iat, exp, head_exp;
	int		 alg;		/* JWS alg (enum fedtrustp_alg) of the operator key */
	char		 kid[44];	/* thumbprint of the operator key that signed it */
	struct json_t	*entities;	/* the payload's entities array (own reference) */
	const struct entity **ents;	/* ents[i] made entities[i] (borrowed) */
	size_t		 entsz;
};

/*
 * Build, sign and self-check (PUB-05) the bundle of ents (n entities of the
 * selection) with signer s at now.  Entities without a key of an allowed
 * type are left out with a logged reason.  0 and *b (bundle_free), or -1
 * with v (R_SIGN_FAILED, R_SELF_CHECK, R_FEED_EMPTY, R_INTERNAL).
 */
int	 bundle_make(const struct entity *const *ents, size_t n, const struct bundle_opts *,
	    const struct signer *, time_t now, struct bundle *b, struct verdict *v);
void	 bundle_free(struct bundle *);		/* frees members, not the struct */
/* Add head.jwt, bundle.jwt, bundles/SEQ.jwt and keys.json to files. */
void	 bundle_files(const struct bundle *, uint64_t seq, struct outfiles *);
/*
 * The JWS alg the bundle is signed with for key (P-256 ES256, P-384 ES384,
 * Ed25519, RSA >= 2048 PS256); -1 with v when the key cannot sign a bundle.
 */
int	 bundle_key_alg(EVP_PKEY *, struct verdict *);
struct fedtrustp_keyset;
/* A keyset pinning only the public half of the signer's key for alg (self-checks). NULL with v. */
struct fedtrustp_keyset *bundle_self_keyset(const struct signer *, int alg, struct verdict *);
/*
 * Sign payload as a compact JWS of typ and verify the result at once with ks
 * (PUB-05): the signature and the payload bytes must come back.  0 and a
 * malloc'd *jws, or -1 with v (R_SIGN_FAILED or R_SELF_CHECK).
 */
int	 bundle_sign(const char *payload, size_t len, const struct signer *, int alg,
	    const char *typ, const struct fedtrustp_keyset *ks, char **jws, size_t *jwssz,
	    struct verdict *v);

/* Percent-encode id for a file name: everything but ALPHA DIGIT - . _ ~ ("." and ".." fully). Caller frees. */
char	*mdq_encode_id(const char *id);
/* Lower-case hex SHA-1 (41 bytes) and SHA-256 (65 bytes) of an entityID. */
void	 mdq_sha1_hex(const char *id, char out[41]);

/* What the per-entity lookups of one generation need to know. */
struct mdq_opts {
	const char	*state_dir;	/* reuse index: state_dir/lists/LIST/mdq-index */
	const char	*publish_dir;	/* reused XML is read back from the live generation */
	const char	*list;
	long		 saml_validity;	/* seconds */
};

/*
 * Per-entity lookups under entities/ for every entity of ents (signed XML,
 * reused while unchanged and more than half valid) and for every entity of
 * the bundle b (entity JWS and JWKS).  Adds the files to out; *renew is the
 * earliest time an XML must be re-signed.  The reuse index is written only
 * by mdq_commit after publication.  0 / -1 with v.
 */
struct mdq_state;
int	 mdq_make(const struct entity *const *ents, size_t n, const struct bundle *b,
	    const struct bundle_opts *, const struct mdq_opts *, const struct signer *,
	    time_t now, struct outfiles *out, struct mdq_state **st, time_t *renew,
	    struct verdict *v);
/* Persist the reuse index of a published generation. 0 / -1 (logged). */
int	 mdq_commit(struct mdq_state *, const struct mdq_opts *);
void	 mdq_state_free(struct mdq_state *);

/* ------------------------------------------------------------ policy.c */

/* What one source contributed to a cycle. */
struct source_state {
	const struct source_conf *conf;	/* borrowed */
	int		 status;	/* SRC_OK, SRC_STALE, SRC_FAILED */
	struct entity_set set;		/* verified entities (fresh or last good) */
	struct verdict	 v;		/* why, when not SRC_OK */
	int		 fetched;	/* 1 when fetched this cycle (0: not due, cached copy used) */
	long		 retry_after;	/* seconds from the server's Retry-After, -1 none */
};
#define SRC_OK		0
#define SRC_STALE	1
#define SRC_FAILED	2

/* The result of applying a list's policy. */
struct selection {
	const struct entity **ents;	/* borrowed from the source states, sorted by id */
	size_t		 entsz;
	struct drop	*drops;		/* filtered, deduped, expired: with reasons */
	size_t		 dropsz;
	time_t		 valid_until;	/* earliest valid_until of the selected entities */
};

/*
 * Select a list's entities from the source states at now: approval expiry,
 * role filter, allow/deny, registration authority, expiry, dedupe by
 * priority (loser reported).  0 / -1 with v.  Free with selection_free.
 */
int	 policy_select(const struct list_conf *, struct source_state *, size_t n, time_t now,
	    struct selection *, struct verdict *);
/*
 * Mass-drop guard: refuse when more than max_drop of prev_ids vanished.
 * Returns 0 ok, -1 with v (R_MASS_DROP).
 */
int	 policy_check_drop(const struct list_conf *, char *const *prev_ids, size_t prevsz,
	    const struct selection *, struct verdict *);
void	 selection_free(struct selection *);

/* ------------------------------------------------------------ source.c */

struct schedule;

/*
 * Fetch and verify every source of list l at now (each type its own way,
 * falling back to the last good copy) into st[0..l->sourcesz) (the caller
 * frees each st[i].set) and fetched[i] (last good fetch, 0 = never).
 */
void	 sources_gather(const struct config *, const struct list_conf *l, time_t now,
	    struct source_state *st, time_t *fetched, struct schedule *sched);
/*
 * `fedtrust source test`: fetch and verify source idx of l at now exactly as
 * sources_gather would, but unconditionally (no If-None-Match) and without
 * writing any state (cache, CRL, snapshot).  Fills *st (caller frees st->set).
 */
void	 sources_probe(const struct config *, const struct list_conf *l, size_t idx, time_t now,
	    struct source_state *st);

/* ------------------------------------------------------------ schedule.c */

/*
 * When each source is fetched next (fedtrustd): from the list's refresh,
 * the document's cacheDuration and validity, clamped to
 * MIN_SCHEDULE..MAX_SCHEDULE with jitter; failures back off exponentially
 * and honour Retry-After.  A source that is not due is served from its last
 * good copy, verified again at now.
 */
struct schedule;
struct schedule *schedule_new(void);
void	 schedule_free(struct schedule *);
/* 1 when source of list is due at now (unknown sources are due). */
int	 schedule_due(struct schedule *, const char *list, const char *source, time_t now);
/* Record the outcome of a fetched source at now and compute its next time. */
void	 schedule_done(struct schedule *, const struct list_conf *, const struct source_state *,
	    time_t now);
/*
 * Make sources due now: every source (list NULL), a list's, or one.
 * Returns how many were marked, 0 when none matched, -1 when rate-limited
 * (a source forced less than MIN_FORCED_REFRESH seconds ago).
 */
int	 schedule_force(struct schedule *, const struct config *, const char *list,
	    const char *source, time_t now);
/* In a child's copy of the schedule: schedule_done records and logs nothing (main does). */
void	 schedule_passive(struct schedule *);
/* A cycle of list ran at now: a renewal that failed is retried MIN_SCHEDULE later, not at once. */
void	 schedule_list_ran(struct schedule *, const char *list, time_t now);
/* The earliest time a renewal of list may be tried again (0: at once). */
time_t	 schedule_list_retry(struct schedule *, const char *list);
/* When source of list is next due (0: now; unknown sources are due). */
time_t	 schedule_source_next(struct schedule *, const char *list, const char *source);
/* The earliest next fetch time of any source of conf (now when one is due). */
time_t	 schedule_wake(struct schedule *, const struct config *, time_t now);
/* The next fetch time after one outcome (pure; exposed for tests). */
time_t	 schedule_next(time_t now, long refresh, long cache_duration, time_t valid_until, int ok,
	    unsigned failures, long retry_after, unsigned rnd);

#define MIN_SCHEDULE		60L		/* seconds: no source is fetched more often */
#define MAX_SCHEDULE		86400L		/* seconds: every source is fetched at least daily */
#define SCHEDULE_JITTER		10		/* percent of the interval, either way */
#define MAX_BACKOFF		21600L		/* seconds: failure back-off cap */
#define MIN_FORCED_REFRESH	10L		/* seconds between forced refreshes of one source */

/* ------------------------------------------------------------ ctl.c */

/*
 * The control socket (state-dir/control.sock, AF_UNIX stream, mode 0660):
 * one line per request, one line back.  "refresh [LIST [SOURCE]]" ->
 * "ok N" | "error TEXT"; "reload" -> "ok" (the daemon re-reads its config as
 * on SIGHUP, then cycles every list); "status" -> "ok".
 */
int	 ctl_listen(const char *path);		/* listening fd, or -1 (logged) */
/* Answer every pending request on the listening fd (non-blocking). Returns CTL_* flags. */
int	 ctl_serve(int fd, struct schedule *, const struct config *, time_t now);
#define CTL_RELOAD		0x01		/* a "reload" request arrived */
/* Client: send line, read the reply into reply. 0 / -1 (errno, message in reply). */
int	 ctl_request(const char *path, const char *line, char *reply, size_t replysz);
/* state-dir/control.sock of conf (caller frees). */
char	*ctl_path(const struct config *);
#define MAX_CTL_LINE		512		/* bytes of one control request or reply */

/* ------------------------------------------------------------ audit.c */

/*
 * The audit log (docs/audit.md): one JSON object per line for every security
 * event, appended to audit-log (mode 0600, flushed per line) and, with
 * audit-syslog, copied to syslog (ident fedtrust-audit, LOG_AUTHPRIV|LOG_NOTICE).
 * Process-wide like log.c.  Every line has "ts" (RFC 3339 of now), "event"
 * and "severity" ("info", "warning" or "alert"), then the event's fields.
 */
struct json_t;
/* Open (or reopen after a reload) the audit log of conf. 0, or -1 (logged; events are then only logged). */
int	 audit_open(const struct config *);
void	 audit_close(void);
/* Record event at now with fields (a JSON object, stolen; NULL = none). */
void	 audit_emit(time_t now, const char *event, const char *severity, struct json_t *fields);
/*
 * 1 when the warning named key of list was not recorded within period
 * seconds before now (and records it now), 0 otherwise: repeated warnings
 * (approval expiring, certificate expiring, shared key) reach the audit log
 * once a day, not once a cycle.  State: state-dir/lists/LIST/warned.
 */
int	 audit_throttle(const struct config *, const char *list, const char *key, time_t now,
	    long period);
#define AUDIT_REPEAT		86400L		/* seconds between repeats of one warning */
#define MAX_AUDIT_LINE		(64 * 1024)	/* bytes of one audit line (longer fields are cut) */
#define MAX_AUDIT_WARNED	10000		/* warning keys remembered per list by audit_throttle */
#define AUDIT_WARNED_KEEP	(7L * 86400)	/* seconds a throttled warning key is remembered (at least) */

/* ------------------------------------------------------------ hygiene.c */

/* What key hygiene found in one selection. */
struct hygiene {
	size_t		 weak;		/* entities with a weak key (dropped unless weak-keys = warn) */
	size_t		 shared;	/* keys (SPKI) used by more than one entity id */
	size_t		 expiring;	/* partner certificates ending within cert-expiry-warning */
};

/*
 * Key hygiene of a list's selection at now (before it is signed): entities
 * with a weak key (RSA under 2048 bits, EC curves other than P-256/384/521,
 * DSA, anything but Ed25519 among the rest) are dropped with R_KEY_WEAK
 * unless weak-keys = warn; one SPKI used by more than one entity id (any
 * source) is flagged, and with shared-keys = reject every entity using it is
 * dropped with R_KEY_SHARED; certificates whose notAfter falls within
 * cert-expiry-warning are warned.  Dropped entities leave sel->ents and are
 * appended to sel->drops.  Warnings are logged and audited (throttled with
 * audit_throttle).  Fills h.
 */
struct selection;
void	 hygiene_check(const struct config *, const struct list_conf *, struct selection *,
	    time_t now, struct hygiene *h);
/* 1 when k is a key fedtrust accepts for partners (the bundle's key profile), else 0 and why. */
int	 entity_key_strong(const struct key *k, char *why, size_t whysz);

/* ------------------------------------------------------------ changes.c */

/*
 * Change reports (docs/changes.md).  Each list keeps the (id, proto, source,
 * key thumbprints) of its last publication in state-dir/lists/LIST/published.json;
 * each new generation carries changes/SEQ.json (what changed since the last
 * publication, with the reason of each removal when policy knows it) and the
 * reports of up to MAX_CHANGES_KEPT earlier generations.
 */
struct change_input {
	const struct config	*conf;
	const struct list_conf	*list;
	uint64_t		 seq;		/* the generation being published */
	time_t			 now;
	const struct entity *const *ents;	/* what is published, sorted by (id, proto) */
	size_t			 entsz;
	const struct drop	*drops;		/* why entities were left out (by id) */
	size_t			 dropsz;
	const char		*bdig;		/* bundle digest (base64url SHA-256 of the JWS), or NULL */
};
/* The report for in as JSON text (caller frees). 0 / -1 with v. Reads state, writes nothing. */
int	 changes_make(const struct change_input *in, char **json, size_t *len, struct verdict *v);
/*
 * After the generation switched: audit what the report says (entity-added,
 * entity-removed, key-added, key-removed, key-rotated, publication) and save
 * in's entities as the last published state.
 */
void	 changes_commit(const struct change_input *in, const char *json, size_t len);
/* Copy the live generation's recent change reports of list into files (older than seq). */
struct outfiles;
void	 changes_carry(const struct config *, const char *list, uint64_t seq, struct outfiles *);
#define MAX_CHANGES_KEPT	200		/* change reports kept in the published folder */
#define MAX_CHANGE_ITEMS	20000		/* entries in each array of one change report ("truncated" beyond) */
#define MAX_CHANGES_CARRY	(64UL * 1024 * 1024) /* bytes of earlier reports carried into a generation */

/*
 * RFC 7638 thumbprint (base64url, 43 characters) of k's public key into jkt,
 * and x5t#S256 of its certificate into x5t ("" without one). 0, or -1 when
 * the key is not one the bundle can carry (out_bundle.c).
 */
int	 key_thumbprints(const struct key *k, char jkt[44], char x5t[44]);

/* ------------------------------------------------------------ revoke.c */

/*
 * Revocations of a list, listed in the bundle (member "revoked",
 * docs/bundle-format.md) while younger than revocation-retention: one record
 * per revoked (id, proto) with the key thumbprints it had when it was last
 * seen (state-dir/lists/LIST/revoked.json keeps them when the source is gone).
 */
struct revoked {
	char		*id;
	enum proto	 proto;
	char		*src;		/* source name */
	time_t		 at;
	char		*reason;
	char		**jkts;		/* RFC 7638 thumbprints */
	size_t		 jktsz;
	char		**x5ts;		/* x5t#S256 of certificates */
	size_t		 x5tsz;
};
struct revoked_set {
	struct revoked	*r;
	size_t		 n;
};
/* The revocation (source or entity) that applies to e of source s, or NULL (policy.c). */
const struct revocation *revocation_find(const struct source_conf *s, const char *id);
/* The records to list for list l at now, from st and the saved state (which it updates). */
void	 revoked_collect(const struct config *, const struct list_conf *l,
	    const struct source_state *st, size_t n, time_t now, struct revoked_set *out);
void	 revoked_set_free(struct revoked_set *);	/* frees members, not the struct */
#define MAX_REVOKED_LISTED	10000		/* revocation records in one bundle */

/* ------------------------------------------------------------ sandbox.c */

enum sandbox_role {
	SANDBOX_VERIFY = 1,	/* parses untrusted bytes: no network, no signing key, no publish folder */
	SANDBOX_SERVE,		/* answers HTTP: reads the publish folder only */
	SANDBOX_FETCH		/* libcurl: the network, CA files and file:// sources, nothing writable */
};
/* The paths a role may use: read-only and read-write trees or files. */
struct sandbox_paths {
	const char	*const *ro;
	size_t		 nro;
	const char	*const *rw;
	size_t		 nrw;
};
/*
 * Lock the calling child down for role (docs/security.md): no_new_privs,
 * no core dumps, Landlock limited to sp (and no TCP for SANDBOX_VERIFY),
 * a seccomp denylist.  0, or -1 (logged) when a step the kernel supports
 * failed: the caller must then exit, never run unconfined.
 */
int	 sandbox_enter(enum sandbox_role, const struct sandbox_paths *sp);
#define MAX_SANDBOX_FILES	256		/* open descriptors of the verify child */

/* ------------------------------------------------------------ ipc.c */

/* A growing buffer with a read offset; bad is set by any out-of-bounds or malformed read. */
struct ibuf {
	unsigned char	*p;
	size_t		 len, cap, off;
	int		 bad;
};
void	 ibuf_put_mem(struct ibuf *, const void *, size_t);
void	 ibuf_put_u64(struct ibuf *, uint64_t);
void	 ibuf_put_bytes(struct ibuf *, const void *, size_t);	/* NULL kept as NULL */
void	 ibuf_put_str(struct ibuf *, const char *);		/* NULL kept as NULL */
void	 ibuf_put_strv(struct ibuf *, char *const *, size_t);
uint64_t ibuf_get_u64(struct ibuf *);
/* A count of items of at least min bytes each that fits in what is left (else bad, 0). */
size_t	 ibuf_get_count(struct ibuf *, size_t min);
unsigned char *ibuf_get_bytes(struct ibuf *, size_t *n);	/* NUL-terminated copy or NULL; caller frees */
char	*ibuf_get_str(struct ibuf *);			/* no embedded NUL; caller frees */
void	 ibuf_get_strv(struct ibuf *, char ***, size_t *);
/* Write one frame (type, length, bytes). 0 / -1 (errno). */
int	 ipc_frame_write(int fd, uint32_t type, const struct ibuf *);
/*
 * Read one frame of type want (at most MAX_IPC_FRAME bytes) into a fresh
 * buffer (caller frees b->p), waiting at most ms for each chunk (-1:
 * forever). 0 / -1 (other type, too large, EOF, timeout).
 */
int	 ipc_frame_read(int fd, uint32_t want, struct ibuf *b, int ms);
/* In a fresh child: close every descriptor but 0-2, a and b (no listening socket, lock or log file kept). */
void	 close_fds_except(int a, int b);

/* ------------------------------------------------------------ privsep.c */

/*
 * sources_gather in two sandboxed children per list and cycle: fetch
 * (network) and verify (parses untrusted bytes; no network, no signing
 * key, no publish folder).  Same contract as sources_gather; a child that
 * dies or sends a malformed result fails every source of the list (R_INTERNAL).
 */
void	 sources_gather_isolated(const struct config *, const struct list_conf *l, time_t now,
	    struct source_state *st, time_t *fetched, struct schedule *sched);
#define MAX_IPC_FRAME		(1024UL * 1024 * 1024)	/* bytes of one frame between processes */
#define MAX_VERIFY_WAIT		3600		/* seconds main waits for a verify child's next bytes */

/* ------------------------------------------------------------ serve.c */

/*
 * The serve child (docs/security.md): libmicrohttpd over publish-dir in a
 * process of its own, sandboxed to read the publish folder only; /metrics
 * and /healthz are answered by main through a socketpair (a thread in main
 * renders them from m and the config in force).  NULL (logged) when it
 * could not start.
 */
struct serve;
struct metrics;
struct serve *serve_start(const struct config *, struct metrics *m,
	    const struct config *(*config)(void *), time_t (*now)(void *));
/* Stop the child (SIGTERM, then wait) and the answering thread. NULL-safe. */
void	 serve_stop(struct serve *);

/* ------------------------------------------------------------ conf_edit.c */

/*
 * Line-based edits of an INI trust-list file that keep every comment, blank
 * line and the order of what they do not touch (fedtrust source add|remove|revoke).
 * Text in, text out; the caller validates the result with config_load and
 * writes it with write_file_atomic.
 */
struct ini_text;
struct ini_text *ini_parse_text(const char *buf, size_t len);
void	 ini_text_free(struct ini_text *);
/* 1 when [section] exists. */
int	 ini_has_section(const struct ini_text *, const char *section);
/* Append "[section]" and its "key = value" lines (NULL-terminated pairs) at the end. */
void	 ini_add_section(struct ini_text *, const char *section, const char *const *kv);
/* Remove [section] and its lines (comments right before the next section stay). 0 / -1 none. */
int	 ini_remove_section(struct ini_text *, const char *section);
/* Replace the first "key = ..." of section, or add it after the section's last key. 0 / -1 no section. */
int	 ini_set_key(struct ini_text *, const char *section, const char *key, const char *value);
/* Add one more "key = value" line to section (repeatable keys). 0 / -1 no section. */
int	 ini_append_key(struct ini_text *, const char *section, const char *key, const char *value);
/* The text (caller frees). */
char	*ini_render(const struct ini_text *, size_t *len);
#define MAX_CONF_LINE		189		/* bytes of a line fedtrust source writes (inih reads ~195) */
#define MAX_CONF_FILE		(4UL * 1024 * 1024)	/* bytes of a config file fedtrust source edits */

/* ------------------------------------------------------------ build.c */

struct schedule;
struct build_opts {
	time_t		 now;
	const char	*only_list;	/* NULL = all lists */
	int		 force;		/* override the mass-drop guard once */
	struct schedule	*sched;		/* daemon: fetch only due sources; NULL = all */
	struct metrics	*metrics;	/* daemon: record outcomes; NULL = none */
	int		 every_list;	/* daemon: cycle every list now (after a reload), sources not due from their last good copy */
};

/* The live generation of a list, as the last publication recorded it. */
struct live {
	uint64_t	 seq;
	time_t		 published;
	time_t		 valid_until;	/* earliest expiry of its signed outputs (head included) */
	size_t		 entities;
	size_t		 bytes;		/* bundle JWS bytes, 0 without a bundle */
};
/* The live generation of list (state-dir/lists/LIST/live). 0, or -1 when none is recorded. */
int	 live_load(const struct config *, const char *list, struct live *);
/* When list l next needs a cycle: a source due, or its outputs' renewal (now when overdue). */
time_t	 build_next(const struct config *, const struct list_conf *l, struct schedule *,
	    time_t now);

/* One full cycle for every list. Returns 0 all published, 1 some list kept its last good output, 2 config, 3 internal. */
int	 build_run(const struct config *, const struct build_opts *);

/* ------------------------------------------------------------ metrics.c */

/*
 * What the daemon knows about its sources and lists, for /metrics and
 * /healthz.  Written by the build cycle, read by the HTTP server thread:
 * every function takes the lock.
 */
struct metrics;

/* A new, empty registry (metrics_free). */
struct metrics *metrics_new(void);
void	 metrics_free(struct metrics *);
/* Forget sources and lists that are not in conf any more (after a reload). */
void	 metrics_prune(struct metrics *, const struct config *);
/*
 * The outcome of one source in a cycle at now: attempt time, success or
 * failure (consecutive failures, rejection counted by reason code), the
 * time its data stops being usable (good_until, 0 = none), entities
 * accepted and dropped (drops counted by reason code).
 */
void	 metrics_source(struct metrics *, const char *list, const struct source_state *,
	    time_t now, time_t good_until);
/* A list published generation seq at now (entities, bundle bytes, valid until). */
void	 metrics_published(struct metrics *, const char *list, uint64_t seq, time_t now,
	    size_t entities, size_t bundle_bytes, time_t valid_until);
/* A list kept its previous generation at now, with the reason. */
void	 metrics_kept(struct metrics *, const char *list, time_t now, const struct verdict *);
/* Key hygiene findings and listed revocations of list's last cycle. */
struct hygiene;
void	 metrics_hygiene(struct metrics *, const char *list, const struct hygiene *,
	    size_t revoked);
/* The HTTP response counters (index: status code), to copy between processes. */
#define METRICS_HTTP_CODES	600
void	 metrics_http_get(struct metrics *, uint64_t counts[METRICS_HTTP_CODES]);
void	 metrics_http_set(struct metrics *, const uint64_t counts[METRICS_HTTP_CODES]);
/* One HTTP response with status code. */
void	 metrics_http(struct metrics *, int status);
/* Prometheus text exposition of everything at now; *buf malloc'd. */
void	 metrics_render(struct metrics *, time_t now, char **buf, size_t *len);
/*
 * Health at now: 1 when every configured list has a published generation
 * within its validity, else 0; *buf (malloc'd) holds "ok\n" or one line
 * per problem.
 */
int	 metrics_health(struct metrics *, const struct config *, time_t now, char **buf,
	    size_t *len);

/* ------------------------------------------------------------ httpd.c */

/*
 * The built-in HTTP server (libmicrohttpd, its own threads): publish-dir as
 * bundle-format 4.10/4.11 describe it, /metrics and /healthz.  It only reads
 * finished generations (each request resolves the list's symlink once).
 */
struct httpd;
struct httpd_opts {
	const char	*listen;	/* "ADDR:PORT" or "[V6]:PORT" */
	const char	*publish_dir;
	struct metrics	*metrics;	/* may be NULL: no /metrics, /healthz answers 503 */
	const struct config *(*config)(void *arg);	/* the config in force (for /healthz) */
	void		*arg;
	time_t		(*now)(void *arg);	/* evaluation time (fedtrustd -P), NULL = time() */
	/*
	 * When set, /metrics (what HTTPD_REPORT_METRICS) and /healthz
	 * (HTTPD_REPORT_HEALTH) are answered by report: *buf malloc'd text;
	 * returns 1 (healthy / ok), 0 (unhealthy), -1 (no answer: 503).
	 */
	int		(*report)(void *arg, int what, time_t now, char **buf, size_t *len);
};
#define HTTPD_REPORT_METRICS	0
#define HTTPD_REPORT_HEALTH	1
/* Start serving; NULL with v (R_INTERNAL: address in use, bad listen). */
struct httpd *httpd_start(const struct httpd_opts *, struct verdict *v);
/* Stop accepting, finish running requests, free. NULL-safe. */
void	 httpd_stop(struct httpd *);
/* The port actually bound (listen with port 0 picks one). */
int	 httpd_port(const struct httpd *);
/*
 * The published files a GET of url is answered from, decided exactly as the
 * server does but without touching the disk (tests/fuzz/fuzz_mdq.c): 0 with
 * the list name in list and *n paths relative to its generation in paths
 * (negotiation order), or the status the request gets (400, 404).
 */
int	 httpd_map_path(const char *url, char list[65], char paths[3][96], size_t *n);

#define MAX_HTTP_CONNECTIONS	256		/* concurrent connections */
#define MAX_HTTP_PER_IP		32		/* concurrent connections from one address */
#define MAX_HTTP_TIMEOUT	30		/* seconds of idle connection */
#define MAX_HTTP_HEADER		(16 * 1024)	/* bytes of request headers (MHD connection memory) */
#define MAX_HTTP_GZIP_CACHE	(64UL * 1024 * 1024)	/* bytes of gzip'd bodies kept in memory */
#define MAX_HTTP_FILE_CACHE	16384		/* published files whose ETag, expiry and gzip'd body are remembered */
#define MAX_HTTP_THREADS	4		/* libmicrohttpd worker threads (at most one per CPU) */
#define MAX_HTTP_STOP_WAIT	5		/* seconds httpd_stop waits for running requests */

/* ------------------------------------------------------------ pull_conf.c, pull_out.c (fedtrust pull) */

#define PULL_OUT_PEM		0x01	/* pem/<id>.pem + pem/index.json */
#define PULL_OUT_NGINX		0x02	/* nginx-map.conf keyed by $ssl_client_fingerprint */
#define PULL_OUT_JWKS		0x04	/* jwks/<id>.json (jwt/jwe keys) */
#define PULL_OUT_SPIFFE		0x08	/* spiffe-bundle-map.json */

/* The consumer agent's configuration (docs/man/fedtrust-pull.5). */
struct pull_conf {
	char		*file;
	char		*url;		/* base URL of the list, ends in '/' (https:// or file://) */
	char		*issuer;	/* compared exactly with iss */
	char		*list;
	char		**keys;		/* pinned operator key files (absolute) */
	size_t		 keysz;
	char		*state_dir;
	char		*output_dir;
	char		*ca_file;	/* NULL = system CAs */
	long		 interval;	/* seconds; 0 = the bundle's refresh hint */
	double		 jitter;	/* fraction 0..0.5 */
	int		 require_head;	/* 1 = poll head.jwt (default), 0 = bundle.jwt only */
	long		 grace;		/* seconds after the effective expiry (default 0) */
	unsigned	 outputs;	/* PULL_OUT_* */
	char		**hook;		/* reload-hook argv (NULL-terminated), or NULL */
	size_t		 hooksz;
	size_t		 max_bundle;	/* bytes */
	long		 fetch_timeout;	/* seconds for one transfer */
};

/* Parse a consumer config; NULL with "FILE:LINE: message" in err. Caller frees. */
struct pull_conf *pull_conf_load(const char *file, char *err, size_t errsz);
void	 pull_conf_free(struct pull_conf *);

struct fedtrust_bundle;
/*
 * Write the derived outputs of b at now into dir (bundle-format 4.12), each
 * file atomically and only when its bytes change; stale files of ours are
 * removed.  b == NULL writes the fail-closed set (empty map, index, bundle
 * map).  *changed is set to 1 when any file was written or removed. 0 / -1.
 */
int	 pull_out_write(const char *dir, unsigned outputs, const struct fedtrust_bundle *b,
	    time_t now, int *changed);
/* File-name form of an entity id: percent-encoded like mdq_encode_id, or "sha256-<hex>" when long. Caller frees. */
char	*pull_out_name(const char *id);

/* ------------------------------------------------------------ cmd_*.c (the fedtrust command) */

int	 cmd_verify(int argc, char *argv[]);
int	 cmd_build(int argc, char *argv[]);
int	 cmd_keygen(int argc, char *argv[]);
/* fedtrust bundle verify|show ... (argv[0] "bundle") and fedtrust lookup ... (argv[0] "lookup"). */
int	 cmd_bundle(int argc, char *argv[]);
int	 cmd_lookup(int argc, char *argv[]);
int	 cmd_pull(int argc, char *argv[]);
int	 cmd_refresh(int argc, char *argv[]);
int	 cmd_source(int argc, char *argv[]);	/* cmd_source.c: fedtrust source add|test|list|show|remove|revoke */
int	 cmd_diff(int argc, char *argv[]);	/* changes.c: fedtrust diff */

/* Exit codes of every command (config-and-cli.md). */
#define EXIT_OK		0
#define EXIT_REJECT	1
#define EXIT_USAGE	2
#define EXIT_INTERNAL	3

/* ------------------------------------------------------------ limits */

#define MAX_DOC_SIZE		(256UL * 1024 * 1024)	/* default body cap of one fetch */
#define MAX_REDIRECTS		5		/* redirects followed by one fetch */
#define MAX_CONNECT_TIMEOUT	15		/* seconds to connect */
#define MAX_FETCH_TIMEOUT	60		/* default seconds for a whole transfer */
#define MAX_XML_DEPTH		64		/* element nesting in metadata (real feeds use < 20) */
#define MAX_XML_TEXT		(10 * 1024 * 1024) /* bytes of one text node (libxml2's own default) */
#define MAX_ENTITIES		200000		/* entities in one document */
#define MAX_KEYS		64		/* KeyDescriptors kept per entity */
#define MAX_EMBEDDED_SIGS	16		/* signatures on one entity and its role descriptors */
#define MAX_CATEGORIES		256		/* entity attribute values kept per entity */
#define MAX_ENTITY_ID		1024		/* bytes of an entityID */
#define MAX_ANCHORS		32		/* pinned keys per source */
#define MAX_SOURCES		256		/* sources per trust list */
#define MAX_LISTS		256		/* trust lists per config */
#define MAX_VALIDITY_DEFAULT	(28L * 86400)	/* default max-validity of a source */
#define MAX_SKEW_DEFAULT	300		/* default clock skew allowed, seconds */
#define MAX_GENERATIONS_KEPT	3		/* old generations kept beside the live one */
#define MIN_RSA_BITS		2048		/* smallest RSA key accepted anywhere */
#define MAX_RSA_BITS		16384		/* largest RSA key put in a bundle (consumers' cap) */
#define MAX_BUNDLE_VALIDITY	604800L		/* bundle exp - iat (bundle-format 4.3) */
#define MAX_HEAD_VALIDITY	7200L		/* head exp - iat (bundle-format 4.7) */
#define MIN_REFRESH		60L		/* bundle refresh hint bounds (4.3) */
#define MAX_REFRESH		86400L
#define MAX_FILE_NAME		255		/* longer percent-encoded ids use {sha1} only */
#define MAX_JWS_SIZE		(256 * 1024)	/* bytes of one entity statement, trust mark or signed JWK Set */
#define MAX_JWKS_KEYS		32		/* keys in one JWK Set */
#define MAX_OIDF_HINTS		8		/* authority_hints followed per entity configuration */
#define MAX_OIDF_PATH		6		/* statements in one trust chain */
#define MAX_OIDF_LIST		50000		/* entity ids taken from one list response */
#define MAX_OIDF_LIST_DEPTH	4		/* levels of intermediates walked by discovery */
#define MAX_OIDF_ENTITIES	50000		/* leaves resolved per source */
#define MAX_OIDF_FETCHES	200000		/* default fetch budget of one resolution */
#define MAX_OIDF_FETCH_TIME	10		/* seconds per statement fetch */
#define MAX_OIDF_PARALLEL	16		/* concurrent fetches of one resolution */
#define MAX_OIDF_TRUST_MARKS	16		/* trust marks looked at per entity */
#define OIDF_LEEWAY		60		/* seconds of leeway on iat and exp */
#define MAX_SCOPES		256		/* scopes kept per entity */
#define MAX_OIDF_LIST_SIZE	(16UL * 1024 * 1024) /* bytes of one list response (a JSON array of ids) */
#define MAX_OIDF_TM_ISSUERS	64		/* distinct trust mark issuers resolved per source */

#endif /* FEDTRUST_EXTERN_H */
