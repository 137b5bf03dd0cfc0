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

/* Library version string, e.g. "0.1.0" (borrowed, static). */
const char	*fedtrust_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FEDTRUST_FEDTRUST_H */
