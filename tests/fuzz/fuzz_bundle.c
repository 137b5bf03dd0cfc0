/*
 * Fuzz target: bundle and head decoding in libfedtrust (the consumer
 * library a gateway links).  The first input byte chooses the mode:
 *
 *   bits 0-1  0: the rest is a bundle JWS   (fedtrust_bundle_verify)
 *             1: the rest is a head JWS     (fedtrust_head_verify)
 *             2: the rest is a bundle payload, signed here with the pinned
 *                key, then verified (reaches the payload decoder: structure,
 *                entities, keys, revoked records, the index)
 *             3: the rest is a head payload, signed here, then verified
 *   bit 2     verify against a stored consumer state (rollback, fork rules)
 *
 * The operator key is an EC P-256 key made once in LLVMFuzzerInitialize and
 * pinned for ES256; iss, list and now are the constants below, which the
 * payload seeds use.  An accepted bundle is walked through every accessor
 * and lookup, as a gateway would.
 */
#include <string.h>

#include <openssl/evp.h>

#include "lib/private.h"
#include "fuzz.h"

#define ISS		"https://trust.example.net"
#define LIST		"partners-prod"
#define TYP_BUNDLE	"vnd.fedtrust.bundle+jwt"
#define TYP_HEAD	"vnd.fedtrust.bundle-head+jwt"

static EVP_PKEY			*key;
static struct fedtrust_trust	*trust;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fedtrust_error	 err;
	json_t			*jwk;
	char			*s;

	(void)argc;
	(void)argv;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (jwk = fedtrustp_pkey_to_jwk(key, &err)) == NULL)
		abort();
	json_object_set_new(jwk, "alg", json_string("ES256"));
	if ((s = json_dumps(jwk, JSON_COMPACT)) == NULL ||
	    (trust = fedtrust_trust_new(ISS, LIST, &err)) == NULL ||
	    fedtrust_trust_add_key_json(trust, s, strlen(s), &err) == -1) {
		fprintf(stderr, "fuzz_bundle: setup: %s\n", err.text);
		abort();
	}
	free(s);
	json_decref(jwk);
	return 0;
}

/* Every accessor of one key. */
static void
walk_key(const struct fedtrust_key *k)
{
	size_t	 len;

	FUZZ_ASSERT(fedtrust_key_jkt(k) != NULL && strlen(fedtrust_key_jkt(k)) == 43);
	(void)fedtrust_key_kid(k);
	(void)fedtrust_key_alg(k);
	FUZZ_ASSERT(fedtrust_key_kty(k) != NULL);
	(void)fedtrust_key_x5t_s256(k);
	FUZZ_ASSERT(fedtrust_key_prov(k) != NULL);
	(void)fedtrust_key_has_purpose(k, "jwt");
	(void)fedtrust_key_has_purpose(k, "mtls");
	FUZZ_ASSERT(fedtrust_key_json(k) != NULL);
	(void)fedtrust_key_cert_der(k, &len);
}

/* Every accessor of one entity, and the lookups that must find it again. */
static void
walk_entity(const struct fedtrust_bundle *b, const struct fedtrust_entity *e)
{
	struct fedtrust_error		 err;
	const struct fedtrust_entity	*f;
	const struct fedtrust_key	*k;
	const char			*x5t;
	size_t				 i, n;
	long				 sc;

	FUZZ_ASSERT(fedtrust_entity_id(e) != NULL && fedtrust_entity_proto(e) != NULL);
	(void)fedtrust_entity_src(e);
	(void)fedtrust_entity_ra(e);
	(void)fedtrust_entity_org(e);
	n = fedtrust_entity_role_count(e);
	for (i = 0; i <= n; i++)
		(void)fedtrust_entity_role(e, i);
	(void)fedtrust_entity_has_role(e, "idp");
	if ((sc = fedtrust_entity_scope_count(e)) > 0)
		for (i = 0; i <= (size_t)sc; i++)
			(void)fedtrust_entity_scope(e, i);
	(void)fedtrust_entity_allows_scopes(e, "openid profile");
	(void)fedtrust_entity_allows_scopes(e, "");
	n = fedtrust_entity_category_count(e);
	for (i = 0; i <= n; i++)
		(void)fedtrust_entity_category(e, i);
	(void)fedtrust_entity_ta(e);
	n = fedtrust_entity_path_count(e);
	for (i = 0; i <= n; i++)
		(void)fedtrust_entity_path(e, i);
	n = fedtrust_entity_trust_mark_count(e);
	for (i = 0; i <= n; i++) {
		const char	*t = fedtrust_entity_trust_mark_type(e, i);

		(void)fedtrust_entity_trust_mark_exp(e, i);
		if (t != NULL)
			(void)fedtrust_entity_has_trust_mark(e, t, FUZZ_NOW);
	}
	(void)fedtrust_entity_names_kind(e);
	n = fedtrust_entity_name_count(e);
	for (i = 0; i <= n; i++) {
		const char	*nm = fedtrust_entity_name(e, i);

		if (nm != NULL && fedtrust_entity_names_kind(e) != NULL)
			FUZZ_ASSERT(fedtrust_entity_matches_cert_name(e,
			    fedtrust_entity_names_kind(e), nm) == 1);
	}
	(void)fedtrust_entity_matches_cert_name(e, "san_dns", "");
	n = fedtrust_entity_key_count(e);
	for (i = 0; i < n; i++) {
		walk_key(k = fedtrust_entity_key(e, i));
		if ((x5t = fedtrust_key_x5t_s256(k)) != NULL)
			(void)fedtrust_lookup_x5t(b, x5t, FUZZ_NOW, &k, &err);
	}
	FUZZ_ASSERT(fedtrust_entity_key(e, n) == NULL);
	(void)fedtrust_entity_valid_until(e);
	/* the index finds what the bundle holds (unless it expired by now) */
	f = fedtrust_lookup(b, fedtrust_entity_id(e), fedtrust_entity_proto(e), FUZZ_NOW, &err);
	FUZZ_ASSERT(f != NULL || err.code != 0);
}

/* Walk an accepted bundle like a gateway: entities, lookups, revocations, state. */
static void
walk_bundle(const struct fedtrust_bundle *b)
{
	struct fedtrust_error		 err;
	struct fedtrust_state		 st;
	const struct fedtrust_revoked	*r;
	size_t				 i, j, n;

	(void)fedtrust_bundle_seq(b);
	FUZZ_ASSERT(fedtrust_bundle_iat(b) <= fedtrust_bundle_exp(b));
	n = fedtrust_bundle_entity_count(b);
	for (i = 0; i < n; i++)
		walk_entity(b, fedtrust_bundle_entity_at(b, i));
	FUZZ_ASSERT(fedtrust_bundle_entity_at(b, n) == NULL);
	(void)fedtrust_lookup(b, "https://absent.example.org", "saml2", FUZZ_NOW, &err);
	(void)fedtrust_lookup_x5t(b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", FUZZ_NOW, NULL,
	    &err);
	n = fedtrust_bundle_revoked_count(b);
	for (i = 0; i < n; i++) {
		r = fedtrust_bundle_revoked_at(b, i);
		FUZZ_ASSERT(r != NULL && fedtrust_revoked_id(r) != NULL);
		(void)fedtrust_revoked_proto(r);
		(void)fedtrust_revoked_reason(r);
		(void)fedtrust_revoked_time(r);
		for (j = 0; j < fedtrust_revoked_key_count(r); j++)
			FUZZ_ASSERT(fedtrust_bundle_revoked_thumbprint(b,
			    fedtrust_revoked_key(r, j)) != NULL);
		for (j = 0; j < fedtrust_revoked_cert_count(r); j++)
			FUZZ_ASSERT(fedtrust_bundle_revoked_thumbprint(b,
			    fedtrust_revoked_cert(r, j)) != NULL);
		(void)fedtrust_revoked_key(r, fedtrust_revoked_key_count(r));
	}
	FUZZ_ASSERT(fedtrust_bundle_revoked_at(b, n) == NULL);
	fedtrust_bundle_state(b, NULL, &st);
	FUZZ_ASSERT(st.seq == fedtrust_bundle_seq(b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fedtrust_error	 err;
	struct fedtrust_state	 state, *st = NULL;
	struct fedtrust_head	 head;
	struct fedtrust_bundle	*b;
	char			*jws = NULL;
	const char		*in;
	size_t			 len;
	int			 mode;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	if (data[0] & 4) {
		/* a consumer that applied seq 100 an hour ago */
		memset(&state, 0, sizeof(state));
		state.seq = 100;
		state.iat = FUZZ_NOW - 3600;
		state.exp = FUZZ_NOW + 86400;
		memcpy(state.bdig, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", 44);
		state.head_iat = FUZZ_NOW - 600;
		state.head_exp = FUZZ_NOW + 3000;
		st = &state;
	}
	in = (const char *)data + 1;
	len = size - 1;
	if (mode >= 2) {
		jws = fedtrustp_jws_sign((const unsigned char *)in, len, key, FEDTRUSTP_ALG_ES256,
		    mode == 2 ? TYP_BUNDLE : TYP_HEAD, &err);
		FUZZ_ASSERT(jws != NULL);
		in = jws;
		len = strlen(jws);
	}
	memset(&err, 0, sizeof(err));
	if (mode == 0 || mode == 2) {
		if ((b = fedtrust_bundle_verify(trust, in, len, FUZZ_NOW, NULL, st, &err)) != NULL) {
			FUZZ_SAY("bundle accepted: %zu entities\n", fedtrust_bundle_entity_count(b));
			walk_bundle(b);
			fedtrust_bundle_free(b);
		} else {
			FUZZ_SAY("bundle rejected: %s: %s\n", fedtrust_error_code_name(err.code), err.text);
			FUZZ_ASSERT(err.code != 0 && err.text[0] != '\0');
		}
	} else {
		if (fedtrust_head_verify(trust, in, len, FUZZ_NOW, st, &head, &err) == -1) {
			FUZZ_SAY("head rejected: %s: %s\n", fedtrust_error_code_name(err.code), err.text);
			FUZZ_ASSERT(err.code != 0 && err.text[0] != '\0');
		} else {
			FUZZ_SAY("head accepted: seq %llu\n", (unsigned long long)head.seq);
			FUZZ_ASSERT(head.iat <= head.exp);
		}
	}
	fedtrustp_free(jws);
	return 0;
}
