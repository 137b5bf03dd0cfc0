/*
 * Fuzz target: third-party JWS (src/jwt.c, src/oidf_stmt.c, src/jwks_src.c):
 * the strict compact parser, the verifier, OpenID Federation entity
 * statements, trust marks, signed JWK Set sources and JWK Sets.  The first
 * input byte chooses the mode:
 *
 *   bits 0-2  0: the rest is an entity statement (oidf_stmt_parse, then
 *                jws_verify with its own jwks and with the pinned set)
 *             1: the rest is a signed JWK Set (jwks_src_verify)
 *             2: the rest is a trust mark (jws_parse, jws_verify, jwt_window)
 *             3, 4, 5: as 0, 1, 2, but the rest is the payload, signed here
 *                with the pinned key first (reaches the claim checks after
 *                the signature)
 *             6, 7: the rest is JSON: jwkset_from_json (7: skipping
 *                unsupported keys), jwt_time and jwt_window on it
 *   bit 3     JWS_UNTYPED_OK (legacy-untyped = yes)
 *   bit 4     JWS_LEGACY_DRAFTS (statements only)
 *
 * The pinned key is an EC P-256 key made once in LLVMFuzzerInitialize whose
 * kid is its RFC 7638 thumbprint (the kid fedtrustp_jws_sign writes).
 */
#include <string.h>

#include "extern.h"
#include "lib/private.h"
#include "fuzz.h"

#define TYP_STATEMENT	"entity-statement+jwt"
#define TYP_JWK_SET	"jwk-set+jwt"
#define TYP_TRUST_MARK	"trust-mark+jwt"
#define SKEW		60

static EVP_PKEY		*key;
static struct jwkset	 pinned;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fedtrust_error	 err;
	struct verdict		 v;
	json_t			*jwk, *set;
	char			 kid[FEDTRUSTP_JKT_LEN + 1];

	(void)argc;
	(void)argv;
	log_init(1, 0, "fuzz_jws");
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (jwk = fedtrustp_pkey_to_jwk(key, &err)) == NULL ||
	    fedtrustp_pkey_thumbprint(key, kid, &err) == -1)
		abort();
	json_object_set_new(jwk, "kid", json_string(kid));
	set = json_pack("{s:[o]}", "keys", jwk);
	if (set == NULL || jwkset_from_json(&pinned, set, 0, &v) == -1 || pinned.n != 1) {
		fprintf(stderr, "fuzz_jws: setup failed\n");
		abort();
	}
	json_decref(set);
	return 0;
}

/* A rejection always says why. */
static void
rejected(const struct verdict *v)
{
	FUZZ_SAY("rejected: %s: %s\n", reason_code(v->reason), v->detail);
	FUZZ_ASSERT(v->reason != R_NONE && v->detail[0] != '\0');
}

static void
statement(const char *buf, size_t len, unsigned flags)
{
	struct oidf_stmt	 st;
	struct verdict		 v;
	const struct jwk_entry	*used;

	memset(&v, 0, sizeof(v));
	if (oidf_stmt_parse(buf, len, flags, FUZZ_NOW, SKEW, 0, &st, &v) == -1) {
		rejected(&v);
		return;
	}
	FUZZ_ASSERT(st.iss != NULL && st.sub != NULL);
	FUZZ_ASSERT(oidf_entity_id_ok(st.iss) || (flags & JWS_LEGACY_DRAFTS));
	if (st.is_ec && jws_verify(&st.jws, &st.jwks, &used, &v) == 0)
		FUZZ_ASSERT(used != NULL);
	if (jws_verify(&st.jws, &pinned, &used, &v) == 0)
		FUZZ_ASSERT(used == &pinned.keys[0]);
	oidf_stmt_free(&st);
}

static void
signed_jwks(const char *buf, size_t len, unsigned flags)
{
	struct source_conf	 sc;
	struct entity_set	 set;
	struct verdict		 v;
	size_t			 i;

	memset(&sc, 0, sizeof(sc));
	sc.name = "fuzz";
	sc.type = SRC_SIGNED_JWKS;
	sc.roles = ROLE_ALL;
	sc.skew = SKEW;
	sc.max_validity = 30L * 86400;
	sc.untyped_ok = (flags & JWS_UNTYPED_OK) != 0;
	memset(&v, 0, sizeof(v));
	if (jwks_src_verify((const unsigned char *)buf, len, &pinned, &sc, FUZZ_NOW, &set,
	    &v) == -1) {
		rejected(&v);
		return;
	}
	FUZZ_ASSERT(set.entitiesz == 1 && set.entities[0].keysz > 0);
	for (i = 0; i < set.entities[0].keysz; i++)
		FUZZ_ASSERT(set.entities[0].keys[i].spki != NULL);
	entity_set_free(&set);
}

static void
trust_mark(const char *buf, size_t len, unsigned flags)
{
	struct jws	 j;
	struct verdict	 v;
	time_t		 exp, iat;

	memset(&v, 0, sizeof(v));
	if (jws_parse(buf, len, TYP_TRUST_MARK, flags, &j, &v) == -1) {
		rejected(&v);
		return;
	}
	FUZZ_ASSERT(json_is_object(j.payload));
	if (jws_verify(&j, &pinned, NULL, &v) == 0 &&
	    jwt_time(j.payload, "iat", 1, &iat, &v) == 1)
		(void)jwt_window(j.payload, 1, 0, FUZZ_NOW, SKEW, 0, &exp, &v);
	jws_free(&j);
}

/* The input as a JWK Set and as JWT claims. */
static void
key_set(const uint8_t *data, size_t size, unsigned jflags)
{
	struct fedtrust_error	 err;
	struct jwkset		 ks;
	struct verdict		 v;
	json_t			*j;
	time_t			 t;
	size_t			 i;

	if ((j = fedtrustp_json_parse(data, size, MAX_JWS_SIZE, FEDTRUSTP_MAX_JSON_DEPTH,
	    &err)) == NULL)
		return;
	memset(&ks, 0, sizeof(ks));
	memset(&v, 0, sizeof(v));
	if (jwkset_from_json(&ks, j, jflags, &v) == 0) {
		FUZZ_ASSERT(ks.n <= MAX_JWKS_KEYS);
		for (i = 0; i < ks.n; i++) {
			FUZZ_ASSERT(ks.keys[i].pkey != NULL && strlen(ks.keys[i].jkt) == 43);
			if (ks.keys[i].kid != NULL)
				FUZZ_ASSERT(jwkset_find_kid(&ks, ks.keys[i].kid) == &ks.keys[i]);
		}
		FUZZ_ASSERT(jwkset_same(&ks, &ks) == 1);
	} else
		rejected(&v);
	jwkset_free(&ks);
	(void)jwt_time(j, "iat", 0, &t, &v);
	(void)jwt_window(j, 0, 1, FUZZ_NOW, SKEW, 86400, &t, &v);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const typ[] = { TYP_STATEMENT, TYP_JWK_SET, TYP_TRUST_MARK };
	struct fedtrust_error	 err;
	const char		*in;
	char			*jws = NULL;
	size_t			 len;
	unsigned		 mode, flags = 0;

	if (size < 1)
		return 0;
	mode = data[0] & 7;
	if (data[0] & 8)
		flags |= JWS_UNTYPED_OK;
	if (data[0] & 16)
		flags |= JWS_LEGACY_DRAFTS;
	if (mode >= 6) {
		key_set(data + 1, size - 1, mode == 7 ? JWKS_SKIP_UNSUPPORTED : 0);
		return 0;
	}
	in = (const char *)data + 1;
	len = size - 1;
	if (mode >= 3) {
		mode -= 3;
		jws = fedtrustp_jws_sign((const unsigned char *)in, len, key, FEDTRUSTP_ALG_ES256,
		    typ[mode], &err);
		FUZZ_ASSERT(jws != NULL);
		in = jws;
		len = strlen(jws);
	}
	if (mode == 0)
		statement(in, len, flags);
	else if (mode == 1)
		signed_jwks(in, len, flags & JWS_UNTYPED_OK);
	else
		trust_mark(in, len, flags & JWS_UNTYPED_OK);
	fedtrustp_free(jws);
	return 0;
}
