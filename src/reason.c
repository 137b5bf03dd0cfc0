/*
 * Reason codes: the stable strings behind enum reason (docs/reason-codes.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "extern.h"

static const char *const codes[R_MAX] = {
	[R_NONE] = "ok",
	[R_XML_MALFORMED] = "xml-malformed",
	[R_XML_DOCTYPE] = "xml-doctype-forbidden",
	[R_XML_LIMIT] = "xml-limit",
	[R_XML_ROOT] = "xml-root-invalid",
	[R_XML_EMPTY] = "xml-empty",
	[R_SIG_MISSING] = "sig-missing",
	[R_SIG_MULTIPLE] = "sig-multiple",
	[R_SIG_POSITION] = "sig-position",
	[R_SIG_REFERENCE] = "sig-reference-not-root",
	[R_SIG_REFERENCE_COUNT] = "sig-reference-count",
	[R_SIG_ID_DUPLICATE] = "sig-id-duplicate",
	[R_SIG_TRANSFORM] = "sig-transform-forbidden",
	[R_SIG_C14N] = "sig-c14n-forbidden",
	[R_SIG_OBJECT] = "sig-object-forbidden",
	[R_SIG_ALG] = "sig-alg-forbidden",
	[R_SIG_DIGEST_WEAK] = "sig-digest-weak",
	[R_SIG_KEY_WEAK] = "sig-key-weak",
	[R_SIG_INVALID] = "sig-invalid",
	[R_SIG_UNTRUSTED] = "sig-untrusted-key",
	[R_CHAIN_UNTRUSTED] = "chain-untrusted",
	[R_CHAIN_REVOKED] = "chain-revoked",
	[R_CHAIN_CRL] = "chain-crl-invalid",
	[R_CHAIN_NAME] = "chain-name-mismatch",
	[R_CHAIN_EXPIRED] = "chain-expired",
	[R_VALID_UNTIL_MISSING] = "valid-until-missing",
	[R_EXPIRED] = "expired",
	[R_VALIDITY_TOO_LONG] = "validity-too-long",
	[R_NOT_YET_VALID] = "not-yet-valid",
	[R_TIME_MALFORMED] = "time-malformed",
	[R_ROLLBACK] = "rollback",
	[R_FEED_EMPTY] = "feed-empty",
	[R_ENTITY_ID_INVALID] = "entity-id-invalid",
	[R_ENTITY_DUPLICATE] = "entity-duplicate",
	[R_ENTITY_EXPIRED] = "entity-expired",
	[R_ENTITY_SIG_INVALID] = "entity-sig-invalid",
	[R_ENTITY_CERT_EXPIRED] = "entity-cert-expired",
	[R_ENTITY_KEY_INVALID] = "entity-key-invalid",
	[R_ENTITY_FILTERED] = "entity-filtered",
	[R_ENTITY_DEDUPED] = "entity-deduped",
	[R_MASS_DROP] = "mass-drop",
	[R_APPROVAL_EXPIRED] = "approval-expired",
	[R_REVOKED] = "revoked",
	[R_KEY_WEAK] = "key-weak",
	[R_KEY_SHARED] = "key-shared",
	[R_JSON_INVALID] = "json-invalid",
	[R_JWS_MALFORMED] = "jws-malformed",
	[R_JWS_HEADER] = "jws-header-forbidden",
	[R_JWS_ALG] = "jws-alg-forbidden",
	[R_JWS_TYP] = "jws-typ-invalid",
	[R_JWS_KID] = "jws-kid-unknown",
	[R_JWS_KEY] = "jws-key-invalid",
	[R_JWS_SIG] = "jws-sig-invalid",
	[R_JWT_CLAIM] = "jwt-claim-invalid",
	[R_CHAIN_LINK] = "chain-link-invalid",
	[R_CHAIN_NO_ANCHOR] = "chain-no-anchor",
	[R_CHAIN_LIMIT] = "chain-limit",
	[R_CHAIN_ANCHOR_KEY] = "chain-anchor-key-mismatch",
	[R_CHAIN_CONSTRAINT] = "chain-constraint-violated",
	[R_CHAIN_POLICY] = "chain-policy-invalid",
	[R_METADATA_INVALID] = "metadata-invalid",
	[R_TRUST_MARK] = "trust-mark-invalid",
	[R_CERT_INVALID] = "cert-invalid",
	[R_FETCH_TIMEOUT] = "fetch-timeout",
	[R_FETCH_TOO_LARGE] = "fetch-too-large",
	[R_FETCH_TLS] = "fetch-tls",
	[R_FETCH_HTTP_STATUS] = "fetch-http-status",
	[R_FETCH_REDIRECT] = "fetch-redirect",
	[R_FETCH_SCHEME] = "fetch-scheme",
	[R_FETCH_FAILED] = "fetch-failed",
	[R_FETCH_NO_CACHE] = "fetch-no-cache",
	[R_SIGN_FAILED] = "sign-failed",
	[R_SELF_CHECK] = "self-check-failed",
	[R_PUBLISH_FAILED] = "publish-failed",
	[R_STALE] = "stale-expired",
	[R_INTERNAL] = "internal",
};

const char *
reason_code(enum reason r)
{
	if ((unsigned)r >= R_MAX || codes[r] == NULL)
		return "internal";
	return codes[r];
}

/* Map a code string back to its enum value. 0 found, -1 unknown. */
int
reason_from_code(const char *s, enum reason *r)
{
	int	 i;

	for (i = 0; i < R_MAX; i++) {
		if (codes[i] != NULL && strcmp(codes[i], s) == 0) {
			*r = (enum reason)i;
			return 0;
		}
	}
	return -1;
}

int
verdict_set(struct verdict *v, enum reason r, const char *fmt, ...)
{
	va_list	 ap;

	if (v == NULL)
		return -1;
	v->reason = r;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	return -1;
}
