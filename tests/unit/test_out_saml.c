/*
 * Tests of sign.c and out_saml.c: the operator key is loaded and checked,
 * the aggregate is signed as documented, verifies with the independent
 * xmlsec1 command pinned to the operator certificate, fails once tampered,
 * and the self-check refuses what a consumer would refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extern.h"
#include "testutil.h"

#define NS_MD	"urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_DS	"http://www.w3.org/2000/09/xmldsig#"
#define NS_RPI	"urn:oasis:names:tc:SAML:metadata:rpi"
#define NOW	((time_t)1780000000)	/* 2026-05-28T20:26:40Z */

static char	*tmp;

static const char *idp_xml =
    "<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://idp.example.edu/idp\">"
    "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
    "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\""
    " Location=\"https://idp.example.edu/sso\"/>"
    "</md:IDPSSODescriptor></md:EntityDescriptor>";

/* A QName inside an attribute value: xs must stay declared for schema validation. */
static const char *attr_xml =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<md:EntityDescriptor xmlns:md=\"" NS_MD "\""
    " xmlns:mdattr=\"urn:oasis:names:tc:SAML:metadata:attribute\""
    " xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\""
    " xmlns:xs=\"http://www.w3.org/2001/XMLSchema\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
    " entityID=\"https://idp2.example.org/idp\">"
    "<md:Extensions><mdattr:EntityAttributes>"
    "<saml:Attribute Name=\"http://macedir.org/entity-category\""
    " NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\">"
    "<saml:AttributeValue xsi:type=\"xs:string\">http://refeds.org/category/research-and-scholarship"
    "</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes></md:Extensions>"
    "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
    "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\""
    " Location=\"https://idp2.example.org/sso\"/>"
    "</md:IDPSSODescriptor></md:EntityDescriptor>";

static const char *sp_xml =
    "<EntityDescriptor xmlns=\"" NS_MD "\" entityID=\"https://sp.example.com/shibboleth\">"
    "<SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
    "<AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\""
    " Location=\"https://sp.example.com/Shibboleth.sso/SAML2/POST\" index=\"1\"/>"
    "</SPSSODescriptor></EntityDescriptor>";

/* An entity whose own validUntil has passed at NOW: the verifier drops it. */
static const char *expired_xml =
    "<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://old.example.net/idp\""
    " validUntil=\"2020-01-01T00:00:00Z\">"
    "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
    "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\""
    " Location=\"https://old.example.net/sso\"/>"
    "</md:IDPSSODescriptor></md:EntityDescriptor>";

static struct entity	 ents[4];
static const struct entity *eptr[4];

static void
mkent(struct entity *e, const char *id, const char *xml)
{
	memset(e, 0, sizeof(*e));
	e->id = (char *)id;
	e->xml = (char *)xml;
	e->xmlsz = strlen(xml);
}

static char *
pki(const char *name)
{
	return path_join(tu_pki(), name);
}

static void
opts_default(struct saml_out_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->name = "https://fed.example.org/lists/test&co";
	o->publisher = "https://fed.example.org";
	o->valid_until = NOW + 7 * 86400;
	o->cache_duration = 21600;
	o->seq = 42;
}

/* Sign ents with key/cert; returns the document (caller frees). Fails the test on error. */
static unsigned char *
sign_at(const char *key, const char *cert, size_t n, const struct saml_out_opts *o, time_t now,
    size_t *len)
{
	struct signer	 s;
	struct verdict	 v;
	unsigned char	*out = NULL;
	char		*k = pki(key), *c = pki(cert);

	memset(&v, 0, sizeof(v));
	if (signer_load(&s, k, c, &v) != 0)
		fail_msg("signer_load %s: %s", key, v.detail);
	if (out_saml_aggregate(eptr, n, o, &s, now, &out, len, &v) != 0)
		fail_msg("out_saml_aggregate: %s: %s", reason_code(v.reason), v.detail);
	signer_free(&s);
	free(k);
	free(c);
	return out;
}

static unsigned char *
sign_with(const char *key, const char *cert, size_t n, const struct saml_out_opts *o, size_t *len)
{
	return sign_at(key, cert, n, o, NOW, len);
}

static char *
write_tmp(const char *name, const unsigned char *buf, size_t len)
{
	char	*p = path_join(tmp, name);

	assert_int_equal(write_file_atomic(p, buf, len, 0644), 0);
	return p;
}

/* The xmlsec1 command of interop-recipes.md, pinned to cert. Returns its exit status. */
static int
xmlsec1_verify(const char *file, const char *certpath)
{
	return tu_sh("xmlsec1 --verify --enabled-reference-uris same-doc "
	    "--enabled-key-data raw-x509-cert --pubkey-cert-pem '%s' "
	    "--id-attr:ID " NS_MD ":EntitiesDescriptor '%s' >/dev/null 2>&1", certpath, file);
}

static int
have_xmlsec1(void)
{
	return tu_sh("command -v xmlsec1 >/dev/null 2>&1") == 0;
}

static xmlNodePtr
first_elem(xmlNodePtr n)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static void
assert_prop(xmlNodePtr n, const char *name, const char *want)
{
	xmlChar	*p = xmlGetProp(n, BAD_CAST name);

	if (p == NULL)
		fail_msg("no attribute %s", name);
	if (strcmp((char *)p, want) != 0)
		fail_msg("attribute %s is '%s', want '%s'", name, p, want);
	xmlFree(p);
}

/* Check the structure of a signed aggregate; returns the SignatureMethod algorithm (caller frees). */
static char *
check_structure(const unsigned char *buf, size_t len, size_t n, const char *want_name)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root, sig, ext, pi, c, si, sm;
	size_t		 count = 0;
	char		*alg;

	doc = xmlReadMemory((const char *)buf, (int)len, NULL, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((char *)root->name, "EntitiesDescriptor");
	assert_string_equal((char *)root->ns->href, NS_MD);
	assert_prop(root, "Name", want_name);
	assert_prop(root, "ID", "_fedtrust-42");
	assert_prop(root, "validUntil", "2026-06-04T20:26:40Z");
	assert_prop(root, "cacheDuration", "PT21600S");
	sig = first_elem(root->children);
	assert_non_null(sig);
	assert_string_equal((char *)sig->name, "Signature");
	assert_string_equal((char *)sig->ns->href, NS_DS);
	si = first_elem(sig->children);
	assert_string_equal((char *)si->name, "SignedInfo");
	c = first_elem(si->children);
	assert_prop(c, "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#");
	sm = first_elem(c->next);
	assert_string_equal((char *)sm->name, "SignatureMethod");
	alg = (char *)xmlGetProp(sm, BAD_CAST "Algorithm");
	c = first_elem(sm->next);
	assert_string_equal((char *)c->name, "Reference");
	assert_prop(c, "URI", "#_fedtrust-42");
	ext = first_elem(sig->next);
	assert_string_equal((char *)ext->name, "Extensions");
	pi = first_elem(ext->children);
	assert_string_equal((char *)pi->name, "PublicationInfo");
	assert_string_equal((char *)pi->ns->href, NS_RPI);
	assert_prop(pi, "publisher", "https://fed.example.org");
	assert_prop(pi, "creationInstant", "2026-05-28T20:26:40Z");
	assert_prop(pi, "publicationId", "fedtrust-42");
	for (c = first_elem(ext->next); c != NULL; c = first_elem(c->next)) {
		assert_string_equal((char *)c->name, "EntityDescriptor");
		assert_prop(c, "entityID", eptr[count]->id);
		count++;
	}
	assert_int_equal(count, n);
	xmlFreeDoc(doc);
	{
		char	*a = xstrdup(alg);

		xmlFree(alg);
		return a;
	}
}

/* Sign, check structure, verify with xmlsec1 and refuse a tampered copy. */
static void
sign_and_check(const char *key, const char *cert, const char *want_alg)
{
	struct saml_out_opts	 o;
	unsigned char		*out;
	size_t			 len;
	char			*f, *bad, *c = pki(cert), *alg, *p;

	opts_default(&o);
	out = sign_with(key, cert, 3, &o, &len);
	alg = check_structure(out, len, 3, "https://fed.example.org/lists/test&co");
	assert_string_equal(alg, want_alg);
	free(alg);
	/* the xs declaration survives for the xsi:type QName */
	assert_non_null(strstr((char *)out, "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\""));
	assert_non_null(strstr((char *)out, "<ds:X509Certificate>"));
	f = write_tmp("agg.xml", out, len);
	if (have_xmlsec1()) {
		assert_int_equal(xmlsec1_verify(f, c), 0);
		/* another key does not verify it */
		{
			char	*other = pki("other.pem");

			assert_int_not_equal(xmlsec1_verify(f, other), 0);
			free(other);
		}
		/* one character of an entityID changed */
		p = strstr((char *)out, "https://idp2.example.org");
		assert_non_null(p);
		p[8] = 'X';
		bad = write_tmp("agg-bad.xml", out, len);
		assert_int_not_equal(xmlsec1_verify(bad, c), 0);
		free(bad);
	}
	free(f);
	free(c);
	free(out);
}

static void
test_sign_rsa(void **state)
{
	(void)state;
	sign_and_check("operator.key", "operator.pem",
	    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
}

static void
test_sign_ec(void **state)
{
	(void)state;
	sign_and_check("operator-ec.key", "operator-ec.pem",
	    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256");
}

static void
test_sign_ec384(void **state)
{
	struct signer	 s;
	struct verdict	 v;
	char		*k = path_join(tmp, "p384.key"), *c = path_join(tmp, "p384.pem");

	(void)state;
	assert_int_equal(tu_sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
	    "-out '%s' 2>/dev/null && openssl req -x509 -key '%s' -out '%s' -days 30 "
	    "-subj /CN=p384 2>/dev/null", k, k, c), 0);
	assert_int_equal(signer_load(&s, k, c, &v), 0);
	assert_int_equal(s.xml_alg, SIG_ECDSA_SHA384);
	signer_free(&s);
	/* absolute paths: pki() leaves them alone */
	sign_and_check(k, c, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384");
	free(k);
	free(c);
}

static void
test_file_uri(void **state)
{
	struct signer	 s;
	struct verdict	 v;
	char		*k = pki("operator.key"), *uri;

	(void)state;
	xasprintf(&uri, "file:%s", k);
	assert_int_equal(signer_load(&s, uri, NULL, &v), 0);
	assert_int_equal(s.xml_alg, SIG_RSA_SHA256);
	assert_null(s.cert);
	signer_free(&s);
	assert_null(s.key);
	free(uri);
	free(k);
}

static void
test_signer_refused(void **state)
{
	struct signer	 s;
	struct verdict	 v;
	char		*k = pki("operator.key"), *wrong = pki("other.pem");
	char		*weak = pki("weak.key"), *weakc = pki("weak.pem");
	char		*missing = path_join(tmp, "nope.key"), *ed = path_join(tmp, "ed.key");
	char		*garbage = path_join(tmp, "garbage.key");

	(void)state;
	/* key and certificate do not match */
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, k, wrong, &v), -1);
	assert_int_equal(v.reason, R_SIGN_FAILED);
	assert_null(s.key);
	/* RSA-1024 */
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, weak, weakc, &v), -1);
	assert_int_equal(v.reason, R_SIGN_FAILED);
	assert_non_null(strstr(v.detail, "1024"));
	/* missing file: path and OS reason */
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, missing, NULL, &v), -1);
	assert_int_equal(v.reason, R_SIGN_FAILED);
	assert_non_null(strstr(v.detail, missing));
	assert_non_null(strstr(v.detail, "No such file"));
	/* not a key */
	assert_int_equal(tu_sh("echo 'not a key' > '%s'", garbage), 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, garbage, NULL, &v), -1);
	assert_int_equal(v.reason, R_SIGN_FAILED);
	/* Ed25519 loads (it signs bundles) but cannot sign XML: a clear refusal */
	assert_int_equal(tu_sh("openssl genpkey -algorithm ED25519 -out '%s' 2>/dev/null", ed), 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, ed, NULL, &v), 0);
	assert_int_equal(s.xml_alg, SIG_ED25519);
	{
		static char	 xml[] = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:"
		    "SAML:2.0:metadata\" entityID=\"https://e.example.org\"/>";
		struct entity	 e;
		unsigned char	*doc = NULL;
		size_t		 docsz = 0;

		memset(&e, 0, sizeof(e));
		e.id = "https://e.example.org";
		e.xml = xml;
		e.xmlsz = strlen(xml);
		memset(&v, 0, sizeof(v));
		assert_int_equal(out_saml_entity(&e, "_x", time(NULL) + 3600, &s, time(NULL),
		    &doc, &docsz, &v), -1);
		assert_int_equal(v.reason, R_SIGN_FAILED);
		assert_non_null(strstr(v.detail, "Ed25519"));
		assert_null(doc);
	}
	signer_free(&s);
	/* missing certificate file */
	memset(&v, 0, sizeof(v));
	assert_int_equal(signer_load(&s, k, missing, &v), -1);
	assert_int_equal(v.reason, R_SIGN_FAILED);
	signer_free(NULL);
	free(k);
	free(wrong);
	free(weak);
	free(weakc);
	free(missing);
	free(ed);
	free(garbage);
}

static void
test_empty_refused(void **state)
{
	struct signer		 s;
	struct verdict		 v;
	struct saml_out_opts	 o;
	unsigned char		*out = (unsigned char *)"x";
	size_t			 len = 1;
	char			*k = pki("operator.key");

	(void)state;
	opts_default(&o);
	assert_int_equal(signer_load(&s, k, NULL, &v), 0);
	assert_int_equal(out_saml_aggregate(eptr, 0, &o, &s, NOW, &out, &len, &v), -1);
	assert_int_equal(v.reason, R_FEED_EMPTY);
	assert_null(out);
	assert_int_equal(len, 0);
	signer_free(&s);
	free(k);
}

/* Without a certificate the aggregate still verifies (key pinned) and has no KeyInfo. */
static void
test_no_cert(void **state)
{
	struct signer		 s;
	struct verdict		 v;
	struct saml_out_opts	 o;
	unsigned char		*out = NULL;
	size_t			 len;
	char			*k = pki("operator.key"), *c = pki("operator.pem"), *f;

	(void)state;
	opts_default(&o);
	o.name = NULL;
	assert_int_equal(signer_load(&s, k, NULL, &v), 0);
	assert_int_equal(out_saml_aggregate(eptr, 1, &o, &s, NOW, &out, &len, &v), 0);
	assert_null(strstr((char *)out, "KeyInfo"));
	assert_null(strstr((char *)out, " Name="));
	f = write_tmp("nocert.xml", out, len);
	if (have_xmlsec1())
		assert_int_equal(xmlsec1_verify(f, c), 0);
	signer_free(&s);
	free(out);
	free(f);
	free(k);
	free(c);
}

/* PUB-05: what a consumer would refuse never leaves out_saml_aggregate. */
static void
test_self_check(void **state)
{
	struct signer		 s;
	struct verdict		 v;
	struct saml_out_opts	 o;
	const struct entity	*bad[2];
	unsigned char		*out = NULL;
	size_t			 len = 0;
	char			*k = pki("operator.key"), *c = pki("operator.pem");

	(void)state;
	assert_int_equal(signer_load(&s, k, c, &v), 0);
	/* validUntil already passed */
	opts_default(&o);
	o.valid_until = NOW - 60;
	memset(&v, 0, sizeof(v));
	assert_int_equal(out_saml_aggregate(eptr, 3, &o, &s, NOW, &out, &len, &v), -1);
	assert_int_equal(v.reason, R_SELF_CHECK);
	assert_non_null(strstr(v.detail, reason_code(R_EXPIRED)));
	assert_null(out);
	/* validUntil exactly now is expired too */
	o.valid_until = NOW;
	assert_int_equal(out_saml_aggregate(eptr, 3, &o, &s, NOW, &out, &len, &v), -1);
	assert_int_equal(v.reason, R_SELF_CHECK);
	/* an entity the verifier drops: the signed set and the verified set differ */
	opts_default(&o);
	bad[0] = eptr[0];
	bad[1] = &ents[3];
	memset(&v, 0, sizeof(v));
	assert_int_equal(out_saml_aggregate(bad, 2, &o, &s, NOW, &out, &len, &v), -1);
	assert_int_equal(v.reason, R_SELF_CHECK);
	assert_null(out);
	signer_free(&s);
	free(k);
	free(c);
}

/*
 * tests/interop/check-aggregate.sh (xmlsec1 + Shibboleth SP mdquery, tamper
 * refused by both) on aggregates signed at the real time, since the SP
 * checks validUntil against its own clock.  Returns the script's status.
 */
static int
check_aggregate(const char *key, const char *cert, const char *pin, long validity,
    const char *eid, const char *role)
{
	struct saml_out_opts	 o;
	unsigned char		*out;
	size_t			 len;
	time_t			 now = time(NULL);
	char			*f, *c = pki(pin), *script = tu_src("interop/check-aggregate.sh");
	int			 st;

	opts_default(&o);
	o.valid_until = now + validity;
	out = sign_at(key, cert, 3, &o, now, &len);
	f = write_tmp("interop.xml", out, len);
	st = tu_sh("sh '%s' '%s' '%s' '%s' %s >/dev/null 2>&1", script, f, c, eid, role);
	free(out);
	free(f);
	free(c);
	free(script);
	return st;
}

static void
test_interop(void **state)
{
	const long	 week = 7 * 86400;
	int		 st;

	(void)state;
	st = check_aggregate("operator.key", "operator.pem", "operator.pem", week,
	    "https://idp2.example.org/idp", "idp");
	if (st == 77)
		skip();
	assert_int_equal(st, 0);
	assert_int_equal(check_aggregate("operator.key", "operator.pem", "operator.pem", week,
	    "https://sp.example.com/shibboleth", "sp"), 0);
	assert_int_equal(check_aggregate("operator-ec.key", "operator-ec.pem", "operator-ec.pem",
	    week, "https://idp.example.edu/idp", "idp"), 0);
	/* the SP part is a real check: xmlsec1 accepts this, the SP's 28-day cap does not */
	assert_int_equal(check_aggregate("operator.key", "operator.pem", "operator.pem",
	    40 * 86400, "https://idp2.example.org/idp", "idp"), 1);
	/* pinned to the wrong certificate */
	assert_int_equal(check_aggregate("operator.key", "operator.pem", "other.pem", week,
	    "https://idp2.example.org/idp", "idp"), 1);
	/* the wrong role */
	assert_int_equal(check_aggregate("operator.key", "operator.pem", "operator.pem", week,
	    "https://sp.example.com/shibboleth", "idp"), 1);
}

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0, "test_out_saml");
	if (xml_init() != 0)
		return -1;
	log_silence_xml();
	tmp = tu_tmpdir("test_out_saml");
	tu_pki();
	mkent(&ents[0], "https://idp.example.edu/idp", idp_xml);
	mkent(&ents[1], "https://idp2.example.org/idp", attr_xml);
	mkent(&ents[2], "https://sp.example.com/shibboleth", sp_xml);
	mkent(&ents[3], "https://old.example.net/idp", expired_xml);
	eptr[0] = &ents[0];
	eptr[1] = &ents[1];
	eptr[2] = &ents[2];
	eptr[3] = &ents[3];
	return 0;
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
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_sign_ec),
		cmocka_unit_test(test_sign_ec384),
		cmocka_unit_test(test_file_uri),
		cmocka_unit_test(test_signer_refused),
		cmocka_unit_test(test_empty_refused),
		cmocka_unit_test(test_no_cert),
		cmocka_unit_test(test_self_check),
		cmocka_unit_test(test_interop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
