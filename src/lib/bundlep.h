/*
 * libfedtrust consumer side internals: the trust settings, the verified
 * bundle and its index (trust.c, bundle.c, lookup.c).  Not installed.
 */
#ifndef FEDTRUST_LIB_BUNDLEP_H
#define FEDTRUST_LIB_BUNDLEP_H

#include <stdint.h>
#include <time.h>

#include "lib/private.h"

#define FEDTRUSTP_MAX_HEAD_BYTES	8192	/* a head JWS (bundle-format 4.9 step 6) */
#define FEDTRUSTP_DEFAULT_BUNDLE_BYTES	(64UL * 1024 * 1024)	/* max_bundle_bytes default */
#define FEDTRUSTP_MAX_LEEWAY		60	/* seconds of clock leeway, at most */
#define FEDTRUSTP_MAX_BUNDLE_LIFE	604800	/* exp - iat of a bundle */
#define FEDTRUSTP_MAX_HEAD_LIFE		7200	/* exp - iat of a head */
#define FEDTRUSTP_TYP_BUNDLE		"vnd.fedtrust.bundle+jwt"
#define FEDTRUSTP_TYP_HEAD		"vnd.fedtrust.bundle-head+jwt"

struct fedtrust_trust {
	char			*iss;
	char			*list;
	struct fedtrustp_keyset	*keys;
	long			 leeway;
	size_t			 max_bundle;
};

/* Strings and JSON values are borrowed from the bundle's payload. */
struct fedtrust_key {
	const char	*jkt;
	const char	*kid;		/* or NULL */
	const char	*alg;		/* or NULL */
	const char	*kty;
	const char	*x5t;		/* x5t#S256 or NULL */
	const char	*prov;
	const json_t	*purposes;	/* array of strings */
	char		*json;		/* canonical dump of the key object, owned */
	unsigned char	*der;		/* DER of x5c[0], owned, or NULL */
	size_t		 derlen;
};

/* One verified trust mark of an entity ("tm", 4.4). */
struct fedtrustp_tm {
	const char	*type;		/* trust_mark_type, borrowed from the payload */
	time_t		 exp;		/* 0 when the mark has no exp */
};

struct fedtrust_entity {
	const char		*id;
	const char		*proto;
	const char		*src;
	const char		*ra;		/* or NULL */
	const char		*org;		/* or NULL */
	const char		*ta;		/* OIDF trust anchor, or NULL */
	time_t			 valid_until;	/* already min(valid_until, bundle exp) */
	const json_t		*roles;		/* array of strings */
	const json_t		*scopes;	/* array of strings, NULL = unrestricted */
	const json_t		*path;		/* array of strings, or NULL */
	const json_t		*ec;		/* array of strings, or NULL */
	const char		*names_kind;	/* static "subject_dn", "san_dns", ... or NULL */
	const json_t		*names;		/* a string (subject_dn) or an array, or NULL */
	struct fedtrustp_tm	*tms;		/* slice of the bundle's trust mark array */
	size_t			 ntms;
	struct fedtrust_key	*keys;		/* slice of the bundle's key array */
	size_t			 nkeys;
};

/* One x5t#S256 index row; rows are sorted by (x5t, entity position). */
struct fedtrustp_x5t {
	const char		*x5t;
	struct fedtrust_entity	*ent;
	struct fedtrust_key	*key;
};

/* One record of "revoked"; strings and arrays borrowed from the payload. */
struct fedtrust_revoked {
	const char		*id;
	const char		*proto;
	const char		*src;
	const char		*reason;
	time_t			 at;
	const json_t		*jkt;		/* array of thumbprints, or NULL */
	const json_t		*x5t;		/* array of x5t#S256, or NULL */
};

struct fedtrust_bundle {
	json_t			*payload;	/* owns every borrowed string */
	struct fedtrust_revoked	*revs;		/* "revoked", in bundle order */
	size_t			 nrevs;
	uint64_t		 seq;
	int64_t			 iat;
	int64_t			 exp;
	char			 bdig[44];
	struct fedtrust_entity	*ents;		/* in (id, proto) order */
	size_t			 nents;
	struct fedtrust_key	*keys;		/* every kept key, entity after entity */
	size_t			 nkeys;
	size_t			 keycap;	/* slots allocated (each may own memory) */
	struct fedtrustp_tm	*tms;		/* every trust mark, entity after entity */
	size_t			 ntms;
	struct fedtrustp_x5t	*x5t;
	size_t			 nx5t;
	/* Open addressing: entity index + 1 (0 = empty) by hash of (id, proto). */
	uint32_t		*htab;
	size_t			 hmask;
};

/* Check and index the optional "revoked" member (revoked.c). 0 / -1. */
int	 fedtrustp_revoked_parse(struct fedtrust_bundle *, struct fedtrust_error *);
/* FNV-1a of id, a NUL and proto: the hash of the entity table. */
uint32_t fedtrustp_entity_hash(const char *id, const char *proto);

/* ------------------------------------------------------------ trust.c */

/* base64url SHA-256 of buf into out (44 bytes with the NUL). 0 / -1. */
/* 1 when s is 43 base64url characters (an encoded SHA-256). */
int	 fedtrustp_is_b64u256(const char *);
/*
 * Integer member name of obj within [min, max]: absent (when required) or
 * not an integer or out of range is FEDTRUST_E_CLAIMS naming what.
 * 1 found, 0 absent and optional, -1 error.
 */
int	 fedtrustp_get_int(const json_t *obj, const char *what, const char *name, int required,
	    int64_t min, int64_t max, int64_t *out, struct fedtrust_error *);
/* String member, same rules; *out borrowed from obj. 1 / 0 / -1. */
int	 fedtrustp_get_str(const json_t *obj, const char *what, const char *name, int required,
	    const char **out, struct fedtrust_error *);
/*
 * Steps 8 and 16 of 4.9: iat <= now + leeway, now < exp, iat < exp,
 * exp - iat <= maxlife.  0 / -1.
 */
int	 fedtrustp_check_times(const char *what, int64_t iat, int64_t exp, time_t now,
	    long leeway, int64_t maxlife, struct fedtrust_error *);
/* iss and list equal the trust's; no crit member (v1 understands none). 0 / -1. */
int	 fedtrustp_check_iss_list(const struct fedtrust_trust *, const json_t *payload,
	    const char *what, struct fedtrust_error *);

#endif /* FEDTRUST_LIB_BUNDLEP_H */
