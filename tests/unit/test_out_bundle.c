/*
 * The bundle producer (out_bundle.c, out_mdq.c): payload shape against
 * bundle-format 4.3-4.7, sorting, canonical JSON and digests recomputed
 * independently, the JWS verified with the operator key, prev chaining and
 * percent-encoding of hostile entityIDs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "lib/private.h"
#include "testutil.h"

#define NOW	1772431200

static struct signer	 sg;
static struct key	 rsa_key, ec_key;	/* entity keys: RSA certificate, bare EC key */

/* SPKI and certificate DER of a PEM certificate into k. */
static void
key_from_cert(const char *pem, struct key *k, unsigned use)
{
	FILE		*f = fopen(pem, "r");
	X509		*x;
	unsigned char	*p;
	int		 n;

	assert_non_null(f);
	assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	memset(k, 0, sizeof(*k));
	k->use = use;
	p = NULL;
	assert_true((n = i2d_X509(x, &p)) > 0);
	k->cert = xmalloc((size_t)n);
	memcpy(k->cert, p, (size_t)n);
	k->certsz = (size_t)n;
	OPENSSL_free(p);
	p = NULL;
	assert_true((n = i2d_PUBKEY(X509_get0_pubkey(x), &p)) > 0);
	k->spki = xmalloc((size_t)n);
	memcpy(k->spki, p, (size_t)n);
	k->spkisz = (size_t)n;
	OPENSSL_free(p);
	X509_free(x);
}

static int
setup(void **state)
{
	char		 k[512], c[512];
	struct verdict	 v;
	const char	*pki = tu_pki();

	(void)state;
	snprintf(k, sizeof(k), "%s/operator-ec.key", pki);
	snprintf(c, sizeof(c), "%s/operator-ec.pem", pki);
	assert_int_equal(signer_load(&sg, k, c, &v), 0);
	snprintf(c, sizeof(c), "%s/entity1.pem", pki);
	key_from_cert(c, &rsa_key, KEY_USE_SIGNING);
	snprintf(c, sizeof(c), "%s/signer-ec.pem", pki);
	key_from_cert(c, &ec_key, 0);
	/* a bare EC key: no certificate */
	free(ec_key.cert);
	ec_key.cert = NULL;
	ec_key.certsz = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	signer_free(&sg);
	free(rsa_key.cert);
	free(rsa_key.spki);
	free(ec_key.spki);
	return 0;
}

static char	 xml_buf[8][700];	/* rotating: the XML of the entities of one test */
static int	 xml_next;

static void
mkent(struct entity *e, const char *id, time_t until, struct key *keys, size_t nkeys)
{
	memset(e, 0, sizeof(*e));
	e->id = (char *)id;
	e->roles = ROLE_SP;
	e->keys = keys;
	e->keysz = nkeys;
	e->valid_until = until;
	e->src = "feed";
	e->xml = xml_buf[xml_next++ % 8];
	snprintf(e->xml, sizeof(xml_buf[0]), "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:"
	    "tc:SAML:2.0:metadata\" entityID=\"%s\"/>", id);
	e->xmlsz = strlen(e->xml);
}

static struct source_conf	 sconf = { .name = "feed", .url = "https://md.example.org/feed.xml" };

static void
opts(struct bundle_opts *o, struct source_state *ss, time_t *fetched, uint64_t seq)
{
	memset(ss, 0, sizeof(*ss));
	ss->conf = &sconf;
	ss->status = SRC_OK;
	ss->set.valid_until = NOW + 10 * 86400;
	*fetched = NOW;
	memset(o, 0, sizeof(*o));
	o->issuer = "https://trust.example.org";
	o->list = "partners";
	o->seq = seq;
	o->bundle_validity = 86400;
	o->head_validity = 3600;
	o->refresh = 30;	/* clamped to 60 */
	o->sources = ss;
	o->sourcesz = 1;
	o->fetched = fetched;
}

/* Verify jws with the operator key and return the payload as JSON. */
static json_t *
verified(const char *jws, size_t len, const char *typ)
{
	struct verdict		 v;
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*ks;
	unsigned char		*p = NULL;
	size_t			 plen;
	json_t			*j;

	assert_non_null(ks = bundle_self_keyset(&sg, FEDTRUSTP_ALG_ES256, &v));
	assert_int_equal(fedtrustp_jws_verify(jws, len, ks, typ, len, &p, &plen, &err), 0);
	assert_non_null(j = fedtrustp_json_parse(p, plen, plen, 32, &err));
	fedtrustp_free(p);
	fedtrustp_keyset_free(ks);
	return j;
}

static void
b64sha(const void *buf, size_t len, char out[44])
{
	unsigned char	 md[32];
	char		*b;

	SHA256(buf, len, md);
	b = b64url_encode(md, 32);
	snprintf(out, 44, "%s", b);
	free(b);
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

/* Payload members, sorting, canonical form, digests, keys, head. */
static void
test_payload(void **state)
{
	struct entity		 e[4];
	const struct entity	*ents[4];
	struct key		 both[2];
	struct bundle		 b;
	struct bundle_opts	 o;
	struct source_state	 ss;
	struct verdict		 v;
	time_t			 fetched;
	json_t			*p, *h, *ent, *k, *jwk;
	char			*canon, d[44], jkt[FEDTRUSTP_JKT_LEN + 1];
	size_t			 i, idx;
	static char		*cats[] = { "http://macedir.org/entity-category|https://refeds.org/category/research-and-scholarship",
	    "urn:oasis:names:tc:SAML:attribute:assurance-certification|https://refeds.org/sirtfi",
	    "urn:example:other|ignored" };

	(void)state;
	/* the same key under two KeyDescriptors (signing, encryption) merges into one JWK */
	both[0] = rsa_key;
	both[1] = rsa_key;
	both[1].use = KEY_USE_ENCRYPTION;
	/* "https://\xc3\xa9" > "https://z" as UTF-8 bytes, < as a naive signed char compare */
	mkent(&e[0], "https://z.example.org", NOW + 7200, both, 2);
	mkent(&e[1], "https://\xc3\xa9.example.org", NOW + 86400 * 3, &ec_key, 1);
	mkent(&e[2], "https://a.example.org", NOW + 86400 * 3, &rsa_key, 1);
	mkent(&e[3], "https://nokeys.example.org", NOW + 86400 * 3, NULL, 0);
	e[2].categories = cats;
	e[2].categoriesz = 3;
	e[2].ra = "https://federation.example.org";
	e[2].org = "Example Org";
	for (i = 0; i < 4; i++)
		ents[i] = &e[i];
	opts(&o, &ss, &fetched, 7);
	assert_int_equal(bundle_make(ents, 4, &o, &sg, NOW, &b, &v), 0);
	p = verified(b.jws, b.jwssz, "vnd.fedtrust.bundle+jwt");
	assert_string_equal(jstr(p, "iss"), "https://trust.example.org");
	assert_int_equal(json_integer_value(json_object_get(p, "ver")), 1);
	assert_string_equal(jstr(p, "list"), "partners");
	assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
	/* exp = min(now + bundle-validity, earliest entity valid_until) */
	assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 7200);
	assert_int_equal(json_integer_value(json_object_get(p, "seq")), 7);
	assert_int_equal(json_integer_value(json_object_get(p, "refresh")), 60);
	assert_null(json_object_get(p, "prev"));
	assert_null(json_object_get(p, "crit"));
	assert_int_equal(strlen(jstr(json_object_get(p, "op_keys"), "current")), 43);
	assert_string_equal(jstr(json_object_get(json_object_get(p, "sources"), "feed"), "status"), "ok");
	assert_string_equal(jstr(json_object_get(json_object_get(p, "sources"), "feed"), "type"), "saml2");
	/* the entity without keys is left out; the rest sorted by UTF-8 bytes */
	assert_int_equal(json_array_size(json_object_get(p, "entities")), 3);
	assert_string_equal(jstr(json_array_get(json_object_get(p, "entities"), 0), "id"), "https://a.example.org");
	assert_string_equal(jstr(json_array_get(json_object_get(p, "entities"), 1), "id"), "https://z.example.org");
	assert_string_equal(jstr(json_array_get(json_object_get(p, "entities"), 2), "id"), "https://\xc3\xa9.example.org");
	/* the payload is canonical: re-serialising gives the same bytes */
	canon = fedtrustp_json_dump_canonical(p, NULL);
	{
		json_t	*again = verified(b.jws, b.jwssz, "vnd.fedtrust.bundle+jwt");
		char	*c2 = fedtrustp_json_dump_canonical(again, NULL);

		assert_string_equal(canon, c2);
		fedtrustp_free(c2);
		json_decref(again);
	}
	fedtrustp_free(canon);
	/* edig recomputes */
	canon = fedtrustp_json_dump_canonical(json_object_get(p, "entities"), NULL);
	b64sha(canon, strlen(canon), d);
	assert_string_equal(jstr(p, "edig"), d);
	fedtrustp_free(canon);
	json_array_foreach(json_object_get(p, "entities"), idx, ent) {
		assert_string_equal(jstr(ent, "proto"), "saml2");
		assert_string_equal(jstr(ent, "src"), "feed");
		assert_non_null(json_object_get(ent, "roles"));
		assert_true(json_is_integer(json_object_get(ent, "valid_until")));
		json_array_foreach(json_object_get(ent, "keys"), i, k) {
			static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
			size_t	 j;

			for (j = 0; j < 7; j++)
				assert_null(json_object_get(k, priv[j]));
			assert_null(json_object_get(k, "x5c"));		/* compact */
			assert_string_equal(jstr(k, "prov"), "saml_md");
			/* jkt recomputes from the JWK members */
			jwk = json_deep_copy(k);
			assert_int_equal(fedtrustp_jwk_thumbprint(jwk, jkt, NULL), 0);
			assert_string_equal(jstr(k, "jkt"), jkt);
			json_decref(jwk);
		}
	}
	ent = json_array_get(json_object_get(p, "entities"), 0);
	k = json_array_get(json_object_get(ent, "keys"), 0);
	b64sha(rsa_key.cert, rsa_key.certsz, d);
	assert_string_equal(jstr(k, "x5t#S256"), d);
	assert_string_equal(jstr(ent, "ra"), "https://federation.example.org");
	assert_string_equal(jstr(ent, "org"), "Example Org");
	assert_int_equal(json_array_size(json_object_get(ent, "ec")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(ent, "ec"), 1)),
	    "https://refeds.org/sirtfi");
	/* merged purposes */
	ent = json_array_get(json_object_get(p, "entities"), 1);
	assert_int_equal(json_array_size(json_object_get(ent, "keys")), 1);
	k = json_array_get(json_object_get(ent, "keys"), 0);
	assert_int_equal(json_array_size(json_object_get(k, "purposes")), 2);
	/* the bare EC key: no certificate, no x5t#S256, both purposes */
	ent = json_array_get(json_object_get(p, "entities"), 2);
	k = json_array_get(json_object_get(ent, "keys"), 0);
	assert_null(json_object_get(k, "x5t#S256"));
	assert_string_equal(jstr(k, "kty"), "EC");
	/* head */
	h = verified(b.head, b.headsz, "vnd.fedtrust.bundle-head+jwt");
	b64sha(b.jws, b.jwssz, d);
	assert_string_equal(jstr(h, "bdig"), d);
	assert_int_equal(json_integer_value(json_object_get(h, "blen")), b.jwssz);
	assert_int_equal(json_integer_value(json_object_get(h, "bexp")), NOW + 7200);
	assert_int_equal(json_integer_value(json_object_get(h, "seq")), 7);
	assert_int_equal(json_integer_value(json_object_get(h, "exp")), NOW + 3600);
	assert_string_equal(jstr(h, "burl"), "https://trust.example.org/partners/bundles/7.jwt");
	/* a bundle is not a head: typ is enforced */
	{
		struct fedtrustp_keyset	*ks = bundle_self_keyset(&sg, FEDTRUSTP_ALG_ES256, &v);
		unsigned char		*x = NULL;
		size_t			 xl;

		assert_int_equal(fedtrustp_jws_verify(b.jws, b.jwssz, ks,
		    "vnd.fedtrust.bundle-head+jwt", b.jwssz, &x, &xl, NULL), -1);
		fedtrustp_keyset_free(ks);
	}
	json_decref(h);
	json_decref(p);
	bundle_free(&b);
}

/* Full variant: x5c[0] is the certificate of the key. */
static void
test_full_variant(void **state)
{
	struct entity		 e;
	const struct entity	*ents[1] = { &e };
	struct bundle		 b;
	struct bundle_opts	 o;
	struct source_state	 ss;
	struct verdict		 v;
	time_t			 fetched;
	json_t			*p, *k, *jwk;
	char			*x5c;
	char			 a[FEDTRUSTP_JKT_LEN + 1], c[FEDTRUSTP_JKT_LEN + 1];
	struct fedtrust_error	 err;
	EVP_PKEY		*pk;
	const unsigned char	*der;

	(void)state;
	mkent(&e, "https://full.example.org", NOW + 86400 * 3, &rsa_key, 1);
	opts(&o, &ss, &fetched, 1);
	o.variant = BUNDLE_FULL;
	assert_int_equal(bundle_make(ents, 1, &o, &sg, NOW, &b, &v), 0);
	p = verified(b.jws, b.jwssz, "vnd.fedtrust.bundle+jwt");
	k = json_array_get(json_object_get(json_array_get(json_object_get(p, "entities"), 0), "keys"), 0);
	x5c = b64_encode(rsa_key.cert, rsa_key.certsz);
	assert_string_equal(json_string_value(json_array_get(json_object_get(k, "x5c"), 0)), x5c);
	free(x5c);
	/* x5c[0]'s key is the JWK */
	der = rsa_key.spki;
	assert_non_null(pk = d2i_PUBKEY(NULL, &der, (long)rsa_key.spkisz));
	assert_int_equal(fedtrustp_pkey_thumbprint(pk, a, &err), 0);
	jwk = json_deep_copy(k);
	assert_int_equal(fedtrustp_jwk_thumbprint(jwk, c, &err), 0);
	assert_string_equal(a, c);
	EVP_PKEY_free(pk);
	json_decref(jwk);
	json_decref(p);
	bundle_free(&b);
}

/* prev chains the second bundle to the first's JWS bytes; no keys means no bundle. */
static void
test_prev_and_empty(void **state)
{
	struct entity		 e;
	const struct entity	*ents[1] = { &e };
	struct bundle		 b1, b2;
	struct bundle_opts	 o;
	struct source_state	 ss;
	struct verdict		 v;
	time_t			 fetched;
	json_t			*p;

	(void)state;
	mkent(&e, "https://one.example.org", NOW + 86400 * 3, &rsa_key, 1);
	opts(&o, &ss, &fetched, 1);
	assert_int_equal(bundle_make(ents, 1, &o, &sg, NOW, &b1, &v), 0);
	o.seq = 2;
	o.prev = b1.bdig;
	assert_int_equal(bundle_make(ents, 1, &o, &sg, NOW + 60, &b2, &v), 0);
	p = verified(b2.jws, b2.jwssz, "vnd.fedtrust.bundle+jwt");
	{
		char	 d[44];

		b64sha(b1.jws, b1.jwssz, d);
		assert_string_equal(jstr(p, "prev"), d);
	}
	json_decref(p);
	bundle_free(&b1);
	bundle_free(&b2);
	/* an entity without usable keys only: refused, not an empty bundle */
	mkent(&e, "https://none.example.org", NOW + 86400, NULL, 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(bundle_make(ents, 1, &o, &sg, NOW, &b1, &v), -1);
	assert_int_equal(v.reason, R_FEED_EMPTY);
	/* an operator key that cannot sign a bundle */
	{
		struct signer	 bad = sg;
		EVP_PKEY	*dsa = NULL;
		EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);

		assert_non_null(ctx);
		assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
		assert_int_equal(EVP_PKEY_keygen(ctx, &dsa), 1);
		EVP_PKEY_CTX_free(ctx);
		bad.key = dsa;
		mkent(&e, "https://one.example.org", NOW + 86400 * 3, &rsa_key, 1);
		memset(&v, 0, sizeof(v));
		assert_int_equal(bundle_make(ents, 1, &o, &bad, NOW, &b1, &v), -1);
		assert_int_equal(v.reason, R_SIGN_FAILED);
		EVP_PKEY_free(dsa);
	}
}

/* Hostile entityIDs never leave entities/ and stay one path component. */
static void
test_encode(void **state)
{
	static const char *const ids[] = { "../../etc/passwd", "/", "%2F..%2F", ".", "..",
	    "a b\tc", "https://\xc3\xa9t\xc3\xa9.example/\xe2\x98\x83?x=1#y", "~-._AZaz09" };
	char	*s;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		s = mdq_encode_id(ids[i]);
		assert_null(strchr(s, '/'));
		assert_string_not_equal(s, ".");
		assert_string_not_equal(s, "..");
		assert_null(strchr(s, ' '));
		assert_null(strchr(s, '\\'));
		free(s);
	}
	s = mdq_encode_id("https://idp.example.org/idp/shibboleth");
	assert_string_equal(s, "https%3A%2F%2Fidp.example.org%2Fidp%2Fshibboleth");
	free(s);
	s = mdq_encode_id("..");
	assert_string_equal(s, "%2E%2E");
	free(s);
	s = mdq_encode_id("../x");
	assert_string_equal(s, "..%2Fx");
	free(s);
	s = mdq_encode_id("a b%\xc3\xa9");
	assert_string_equal(s, "a%20b%25%C3%A9");
	free(s);
	s = mdq_encode_id("~-._AZaz09");
	assert_string_equal(s, "~-._AZaz09");
	free(s);
}

/*
 * Per-entity files: names inside entities/, the hostile id published through
 * publish_generation, the entity JWS verifies, and the XML is carried over
 * on the second run.
 */
static void
test_mdq_files(void **state)
{
	struct entity		 e[3];
	const struct entity	*ents[3];
	struct bundle		 b;
	struct bundle_opts	 o;
	struct mdq_opts		 mo;
	struct mdq_state	*st = NULL;
	struct source_state	 ss;
	struct outfiles		 files;
	struct verdict		 v;
	time_t			 fetched, renew;
	char			*dir = tu_tmpdir("mdq"), *pub, *state_dir, big[400], sha1[41];
	size_t			 i, nxml;
	const unsigned char	*first = NULL;
	size_t			 firstsz = 0;
	unsigned char		*copy = NULL;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mkent(&e[0], "../../escape%me/\xc3\xa9", NOW + 86400 * 3, &rsa_key, 1);
	mkent(&e[1], big, NOW + 86400 * 3, &rsa_key, 1);
	mkent(&e[2], "https://sp.example.org/sp", NOW + 86400 * 3, &rsa_key, 1);
	for (i = 0; i < 3; i++)
		ents[i] = &e[i];
	xasprintf(&pub, "%s/publish", dir);
	xasprintf(&state_dir, "%s/state", dir);
	memset(&mo, 0, sizeof(mo));
	mo.state_dir = state_dir;
	mo.publish_dir = pub;
	mo.list = "partners";
	mo.saml_validity = 5 * 86400;
	for (int run = 0; run < 2; run++) {
		time_t	 now = time(NULL);

		/* real time here: the signed XML is checked by the SAML verifier at now */
		for (i = 0; i < 3; i++)
			e[i].valid_until = now + 86400 * 3;
		opts(&o, &ss, &fetched, (uint64_t)run + 1);
		memset(&files, 0, sizeof(files));
		assert_int_equal(bundle_make(ents, 3, &o, &sg, now, &b, &v), 0);
		renew = now + 86400 * 10;
		if (mdq_make(ents, 3, &b, &o, &mo, &sg, now, &files, &st, &renew, &v) != 0)
			fail_msg("mdq_make: %s", v.detail);
		assert_true(renew > now && renew <= now + 86400 * 3);
		nxml = 0;
		for (i = 0; i < files.n; i++) {
			assert_int_equal(strncmp(files.f[i].path, "entities/", 9), 0);
			assert_null(strchr(files.f[i].path + 9, '/'));
			assert_true(strlen(files.f[i].path + 9) <= MAX_FILE_NAME);
			if (strstr(files.f[i].path, ".jw") == NULL)
				nxml++;
		}
		/* 2 names for two entities, {sha1} only for the over-long id; 2 JWS files each */
		assert_int_equal(nxml, 5);
		assert_int_equal(files.n, 5 + 3 * 2);
		mdq_sha1_hex(e[2].id, sha1);
		for (i = 0; i < files.n; i++) {
			if (strcmp(files.f[i].path + 9, "https%3A%2F%2Fsp.example.org%2Fsp") != 0)
				continue;
			if (run == 0) {
				copy = xmalloc(files.f[i].len);
				memcpy(copy, files.f[i].data, files.f[i].len);
				firstsz = files.f[i].len;
				first = copy;
			} else {
				/* carried over byte for byte */
				assert_int_equal(files.f[i].len, firstsz);
				assert_memory_equal(files.f[i].data, first, firstsz);
			}
		}
		assert_non_null(first);
		assert_int_equal(publish_generation(pub, "partners", (uint64_t)run + 1, files.f,
		    files.n, 1, &v), 0);
		assert_int_equal(mdq_commit(st, &mo), 0);
		mdq_state_free(st);
		outfiles_free(&files);
		bundle_free(&b);
	}
	assert_int_equal(tu_sh("test -f '%s/partners/entities/..%%2F..%%2Fescape%%25me%%2F%%C3%%A9'", pub), 0);
	assert_int_equal(tu_sh("test $(find '%s' -name passwd -o -name 'escape*' -not -path '*/entities/*' "
	    "| wc -l) -eq 0", dir), 0);
	free(copy);
	free(pub);
	free(state_dir);
	tu_sh("rm -rf '%s'", dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload),
		cmocka_unit_test(test_full_variant),
		cmocka_unit_test(test_prev_and_empty),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_mdq_files),
	};

	log_init(1, 0, "test_out_bundle");
	if (xml_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
