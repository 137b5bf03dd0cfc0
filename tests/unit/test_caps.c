/*
 * Resource caps per source (docs/limits.md): for each cap, a document
 * exactly at the limit is accepted (or gets past that check) and one step
 * over is rejected with the cap's reason code.  Unsigned documents where the
 * cap is checked before the signature; feeds signed at test time with
 * mkfeed.py (xmlsec1, the test PKI) where it is checked after.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "extern.h"
#include "lib/private.h"
#include "testutil.h"

#define NS_MD_DECL	"xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\""

static char	*tmp;

/* Path in the temp dir (rotating static buffers). */
static const char *
tpath(const char *name)
{
	static char	 buf[16][1024];
	static int	 i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

/* saml_verify of buf against the pinned feed signer; the verdict's reason in *reason. */
static int
verify(const char *buf, size_t len, size_t max_entities, struct entity_set *es,
    struct verdict *v)
{
	struct anchor_set	 as;
	struct saml_opts	 so;
	char			*pin;
	int			 rc;

	memset(&as, 0, sizeof(as));
	memset(&so, 0, sizeof(so));
	memset(v, 0, sizeof(*v));
	if (asprintf(&pin, "%s/signer.pem", tu_pki()) < 0)
		abort();
	assert_int_equal(anchor_load_pins(&as, pin, v), 0);
	so.source = "caps";
	so.cert_validity = CERT_VALIDITY_IGNORE;
	so.skew = 300;
	so.max_entities = max_entities;
	rc = saml_verify((const unsigned char *)buf, len, &as, &so, time(NULL), es, v);
	anchor_set_free(&as);
	free(pin);
	return rc;
}

/* A signed feed made by mkfeed.py with extra arguments, read into memory. */
static char *
feed(const char *name, const char *args, size_t *len)
{
	char	*tool = tu_src("tools/mkfeed.py");
	char	*buf;

	assert_int_equal(tu_sh("'%s' '%s' --out '%s' --key '%s/signer.key' --cert '%s/signer.pem' %s",
	    tu_python(), tool, tpath(name), tu_pki(), tu_pki(), args), 0);
	free(tool);
	buf = (char *)tu_read(tpath(name), len);
	return buf;
}

/* An unsigned EntitiesDescriptor whose elements nest depth levels (root = 1). */
static char *
nested(int depth, size_t *len)
{
	char	*buf, *p;
	size_t	 sz = 256 + (size_t)depth * 16;
	int	 i;

	p = buf = malloc(sz);
	assert_non_null(buf);
	p += sprintf(p, "<md:EntitiesDescriptor " NS_MD_DECL " ID=\"R\">");
	for (i = 1; i < depth; i++)
		p += sprintf(p, "<x>");
	for (i = 1; i < depth; i++)
		p += sprintf(p, "</x>");
	p += sprintf(p, "</md:EntitiesDescriptor>");
	*len = (size_t)(p - buf);
	return buf;
}

/* MAX_XML_DEPTH: 64 levels parse (then fail for the missing signature), 65 do not. */
static void
test_xml_depth(void **state)
{
	struct entity_set	 es;
	struct verdict		 v;
	char			*doc;
	size_t			 len;

	(void)state;
	doc = nested(MAX_XML_DEPTH, &len);
	assert_int_equal(verify(doc, len, 0, &es, &v), -1);
	assert_int_not_equal(v.reason, R_XML_LIMIT);
	assert_int_not_equal(v.reason, R_XML_MALFORMED);
	free(doc);
	doc = nested(MAX_XML_DEPTH + 1, &len);
	assert_int_equal(verify(doc, len, 0, &es, &v), -1);
	assert_int_equal(v.reason, R_XML_LIMIT);
	assert_non_null(strstr(v.detail, "nesting deeper than 64"));
	free(doc);
}

/* An unsigned document with one text node of n bytes. */
static char *
text_doc(size_t n, size_t *len)
{
	static const char head[] = "<md:EntitiesDescriptor " NS_MD_DECL " ID=\"R\"><x>";
	static const char tail[] = "</x></md:EntitiesDescriptor>";
	char	*buf;

	buf = malloc(sizeof(head) + n + sizeof(tail));
	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'A', n);
	memcpy(buf + sizeof(head) - 1 + n, tail, sizeof(tail));
	*len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	return buf;
}

/*
 * MAX_XML_TEXT: one text node of 10 MiB gets past the check (then fails for
 * the missing signature), one byte more is xml-limit.  libxml2 (without
 * XML_PARSE_HUGE) has its own limits as well; the check is ours so that the
 * cap holds whatever the library version does.
 */
static void
test_xml_text(void **state)
{
	struct entity_set	 es;
	struct verdict		 v;
	char			*doc;
	size_t			 len;

	(void)state;
	doc = text_doc(MAX_XML_TEXT, &len);
	assert_int_equal(verify(doc, len, 0, &es, &v), -1);
	assert_int_not_equal(v.reason, R_XML_LIMIT);
	assert_int_not_equal(v.reason, R_XML_MALFORMED);
	free(doc);
	doc = text_doc(MAX_XML_TEXT + 1, &len);
	assert_int_equal(verify(doc, len, 0, &es, &v), -1);
	assert_int_equal(v.reason, R_XML_LIMIT);
	free(doc);
}

/*
 * Entities per document: the per-source cap saml_opts.max_entities (what the
 * self-check and the tests set; MAX_ENTITIES = 200,000 when 0) on a signed
 * feed of 5: a cap of 5 accepts, 4 rejects the document.
 */
static void
test_entities(void **state)
{
	struct entity_set	 es;
	struct verdict		 v;
	char			*doc;
	size_t			 len;

	(void)state;
	doc = feed("five.xml", "--entities 5", &len);
	assert_int_equal(verify(doc, len, 5, &es, &v), 0);
	assert_int_equal(es.entitiesz, 5);
	entity_set_free(&es);
	assert_int_equal(verify(doc, len, 4, &es, &v), -1);
	assert_int_equal(v.reason, R_XML_LIMIT);
	assert_non_null(strstr(v.detail, "more than 4 entities"));
	free(doc);
}

/* One entity with n KeyDescriptors (mkfeed.py's two, and copies of the first). */
static const char keys_py[] =
"import sys, time\n"
"sys.path.insert(0, sys.argv[4])\n"
"import mkfeed as m\n"
"n, out, pki = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
"certs = [pki + '/entity1.pem', pki + '/entity2.pem']\n"
"e = m.entity_xml('https://keys.example.org/md', 0, certs)\n"
"a = e.index('<md:KeyDescriptor use=\"signing\">')\n"
"b = e.index('</md:KeyDescriptor>', a) + len('</md:KeyDescriptor>')\n"
"e = e[:a] + e[a:b] * (n - 2) + e[a:]\n"
"doc = m.template(n=1, valid_until=m.iso(int(time.time()) + 86400), certs=certs, entities=e)\n"
"open(out, 'wb').write(m.sign(doc, pki + '/signer.key', pki + '/signer.pem'))\n";

/* MAX_KEYS KeyDescriptors per entity are kept; the 65th is ignored (not a rejection). */
static void
test_keys(void **state)
{
	struct entity_set	 es;
	struct verdict		 v;
	FILE			*f;
	char			*doc, *tools;
	size_t			 len;
	int			 n;

	(void)state;
	assert_non_null(f = fopen(tpath("keys.py"), "w"));
	fputs(keys_py, f);
	fclose(f);
	tools = tu_src("tools");
	for (n = MAX_KEYS; n <= MAX_KEYS + 1; n++) {
		assert_int_equal(tu_sh("'%s' '%s' %d '%s' '%s' '%s'", tu_python(), tpath("keys.py"),
		    n, tpath("keys.xml"), tu_pki(), tools), 0);
		doc = (char *)tu_read(tpath("keys.xml"), &len);
		assert_int_equal(verify(doc, len, 0, &es, &v), 0);
		assert_int_equal(es.entitiesz, 1);
		assert_int_equal(es.entities[0].keysz, MAX_KEYS);
		entity_set_free(&es);
		free(doc);
	}
	free(tools);
}

/* entityID of MAX_ENTITY_ID bytes accepted; MAX_ENTITY_ID + 1 dropped (entity-id-invalid). */
static void
test_entity_id(void **state)
{
	struct entity_set	 es;
	struct verdict		 v;
	char			 args[2048], pad[MAX_ENTITY_ID];
	char			*doc;
	size_t			 len, i, plen;

	(void)state;
	/* "https://e%d.example.org/" + pad: e0..e9 are MAX_ENTITY_ID bytes, e10 one more */
	plen = MAX_ENTITY_ID - strlen("https://e0.example.org/");
	memset(pad, 'a', plen);
	pad[plen] = '\0';
	snprintf(args, sizeof(args), "--entities 11 --prefix 'https://e%%d.example.org/%s' "
	    "--entity-cert '%s/entity1.pem'", pad, tu_pki());
	doc = feed("ids.xml", args, &len);
	assert_int_equal(verify(doc, len, 0, &es, &v), 0);
	assert_int_equal(es.entitiesz, 10);
	for (i = 0; i < es.entitiesz; i++)
		assert_int_equal(strlen(es.entities[i].id), MAX_ENTITY_ID);
	assert_int_equal(es.dropsz, 1);
	assert_int_equal(es.drops[0].reason, R_ENTITY_ID_INVALID);
	/* the drop record keeps a shortened id for the logs */
	assert_non_null(es.drops[0].id);
	assert_int_equal(strncmp(es.drops[0].id, "https://e10.example.org/aaa", 27), 0);
	entity_set_free(&es);
	free(doc);
}

/* base64url of len bytes (malloc'd, NUL-terminated). */
static char *
b64u(const void *p, size_t len)
{
	return b64url_encode(p, len);
}

/*
 * A compact JWS of exactly total bytes whose payload is {"p":"AAA..."}
 * (the signature segment is filler: jws_parse does not verify).
 */
static char *
jws_of_size(size_t total)
{
	static const char hdr[] = "{\"alg\":\"ES256\",\"kid\":\"k\",\"typ\":\"entity-statement+jwt\"}";
	char		*h, *pl, *pj, *sig, *out;
	unsigned char	 sb[66];
	size_t		 hl, n, pl_len, sl;

	h = b64u(hdr, strlen(hdr));
	hl = strlen(h);
	memset(sb, 7, sizeof(sb));
	/* a payload whose segment leaves 86..88 characters (64..66 bytes) of signature */
	for (n = (total - hl) * 3 / 4; ; n--) {
		pj = malloc(n + 1);
		assert_non_null(pj);
		memcpy(pj, "{\"p\":\"", 6);
		memset(pj + 6, 'A', n - 8);
		memcpy(pj + n - 2, "\"}", 2);
		pj[n] = '\0';
		pl = b64u(pj, n);
		free(pj);
		pl_len = strlen(pl);
		if (hl + 1 + pl_len + 1 < total) {
			sl = total - hl - pl_len - 2;
			if (sl == 86 || sl == 87 || sl == 88)
				break;
		}
		free(pl);
	}
	sig = b64u(sb, sl == 86 ? 64 : sl == 87 ? 65 : 66);
	assert_int_equal(strlen(sig), sl);
	out = malloc(total + 1);
	assert_non_null(out);
	snprintf(out, total + 1, "%s.%s.%s", h, pl, sig);
	assert_int_equal(strlen(out), total);
	free(h);
	free(pl);
	free(sig);
	return out;
}

/* MAX_JWS_SIZE: a JWS of exactly 256 KiB parses, one byte more is jws-malformed. */
static void
test_jws_size(void **state)
{
	struct jws	 j;
	struct verdict	 v;
	char		*s;

	(void)state;
	s = jws_of_size(MAX_JWS_SIZE);
	memset(&v, 0, sizeof(v));
	assert_int_equal(jws_parse(s, MAX_JWS_SIZE, "entity-statement+jwt", 0, &j, &v), 0);
	jws_free(&j);
	free(s);
	s = jws_of_size(MAX_JWS_SIZE + 1);
	assert_int_equal(jws_parse(s, MAX_JWS_SIZE + 1, "entity-statement+jwt", 0, &j, &v), -1);
	assert_int_equal(v.reason, R_JWS_MALFORMED);
	assert_non_null(strstr(v.detail, "over the cap"));
	free(s);
}

/* A JWS whose payload nests depth containers (the payload object = 1). */
static int
jws_depth(int depth, struct verdict *v)
{
	static const char hdr[] = "{\"alg\":\"ES256\",\"kid\":\"k\",\"typ\":\"entity-statement+jwt\"}";
	unsigned char	 sb[64];
	char		 pj[1024], *p = pj, *h, *pl, *sig, *s;
	struct jws	 j;
	int		 i, rc;

	p += sprintf(p, "{\"a\":");
	for (i = 1; i < depth; i++)
		*p++ = '[';
	*p++ = '1';
	for (i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	memset(sb, 7, sizeof(sb));
	h = b64u(hdr, strlen(hdr));
	pl = b64u(pj, strlen(pj));
	sig = b64u(sb, sizeof(sb));
	if (asprintf(&s, "%s.%s.%s", h, pl, sig) < 0)
		abort();
	memset(v, 0, sizeof(*v));
	rc = jws_parse(s, strlen(s), "entity-statement+jwt", 0, &j, v);
	if (rc == 0)
		jws_free(&j);
	free(h);
	free(pl);
	free(sig);
	free(s);
	return rc;
}

/* FEDTRUSTP_MAX_JSON_DEPTH: 32 nested containers in a statement parse, 33 are json-invalid. */
static void
test_json_depth(void **state)
{
	struct verdict	 v;

	(void)state;
	assert_int_equal(jws_depth(FEDTRUSTP_MAX_JSON_DEPTH, &v), 0);
	assert_int_equal(jws_depth(FEDTRUSTP_MAX_JSON_DEPTH + 1, &v), -1);
	assert_int_equal(v.reason, R_JSON_INVALID);
}

/* A JWK Set of n distinct P-256 public keys (kid k0, k1, ...). */
static json_t *
jwks_of(size_t n)
{
	json_t		*keys = json_array();
	EVP_PKEY	*k;
	unsigned char	 x[32], y[32];
	BIGNUM		*bx = NULL, *by = NULL;
	char		 kid[16], *xs, *ys;
	size_t		 i;

	for (i = 0; i < n; i++) {
		assert_non_null(k = EVP_EC_gen("P-256"));
		assert_int_equal(EVP_PKEY_get_bn_param(k, "qx", &bx), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(k, "qy", &by), 1);
		assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
		assert_int_equal(BN_bn2binpad(by, y, 32), 32);
		xs = b64u(x, 32);
		ys = b64u(y, 32);
		snprintf(kid, sizeof(kid), "k%zu", i);
		json_array_append_new(keys, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC",
		    "crv", "P-256", "x", xs, "y", ys, "kid", kid));
		free(xs);
		free(ys);
		BN_free(bx);
		BN_free(by);
		bx = by = NULL;
		EVP_PKEY_free(k);
	}
	return json_pack("{s:o}", "keys", keys);
}

/* MAX_JWKS_KEYS: 32 keys in a JWK Set accepted, 33 reject the set (jws-key). */
static void
test_jwks_keys(void **state)
{
	struct jwkset	 ks;
	struct verdict	 v;
	json_t		*set;

	(void)state;
	set = jwks_of(MAX_JWKS_KEYS + 1);
	memset(&ks, 0, sizeof(ks));
	memset(&v, 0, sizeof(v));
	assert_int_equal(jwkset_from_json(&ks, set, 0, &v), -1);
	assert_int_equal(v.reason, R_JWS_KEY);
	assert_non_null(strstr(v.detail, "at most 32"));
	jwkset_free(&ks);
	json_array_remove(json_object_get(set, "keys"), 0);
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(jwkset_from_json(&ks, set, 0, &v), 0);
	assert_int_equal(ks.n, MAX_JWKS_KEYS);
	jwkset_free(&ks);
	json_decref(set);
}

static int
setup(void **state)
{
	(void)state;
	tmp = tu_tmpdir("test_caps");
	tu_pki();
	return xml_init() == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	xml_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_depth),
		cmocka_unit_test(test_xml_text),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_entity_id),
		cmocka_unit_test(test_jws_size),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_jwks_keys),
	};

	log_init(1, 0, "test_caps");
	return cmocka_run_group_tests(tests, setup, teardown);
}
