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

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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

/* ------------------------------------------------------------ streaming signer */

/*
 * Entities that make canonicalisation in the aggregate's context hard: %d
 * is replaced by a number to make many distinct ones.  Default namespace
 * with unused declarations and an xsi:type QName; prefixes the root also
 * declares, redeclared; xml:lang; attributes and text needing escaping
 * (& < > " TAB LF CR, literal and as character references); comments, a
 * processing instruction and CDATA; non-ASCII UTF-8; a leading XML
 * declaration and trailing whitespace.
 */
static const char *nasty_fmt[] = {
	"<EntityDescriptor xmlns=\"" NS_MD "\" xmlns:unused=\"urn:example:unused\""
	" xmlns:mdattr=\"urn:oasis:names:tc:SAML:metadata:attribute\""
	" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\""
	" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\""
	" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	" entityID=\"https://default%d.example.org/idp\">"
	"<Extensions><mdattr:EntityAttributes>"
	"<saml:Attribute NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\""
	" Name=\"http://macedir.org/entity-category\">"
	"<saml:AttributeValue xsi:type=\"xs:string\">http://refeds.org/category/"
	"research-and-scholarship</saml:AttributeValue></saml:Attribute>"
	"</mdattr:EntityAttributes></Extensions>"
	"<IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
	"<SingleSignOnService Location=\"https://default%d.example.org/sso\""
	" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"/>"
	"</IDPSSODescriptor></EntityDescriptor>",

	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" xmlns:mdrpi=\"" NS_RPI "\""
	" xmlns:ext=\"urn:example:ext\" xml:lang=\"de\""
	" entityID=\"https://escape%d.example.org/sp\">"
	"<md:Extensions><mdrpi:RegistrationInfo registrationAuthority=\"https://reg.example.org\""
	" registrationInstant=\"2020-01-01T00:00:00Z\"/></md:Extensions>"
	"<!-- a comment: not part of the canonical form -->"
	"<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
	"<md:AssertionConsumerService index=\"1\""
	" ext:note=\"a &amp; b &lt; c &gt; &quot;d&quot; &#9;tab&#10;lf&#13;cr\ttab\nlf\r\ncrlf 'q'\""
	" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\""
	" Location=\"https://escape%d.example.org/acs?a=1&amp;b=2\"/>"
	"</md:SPSSODescriptor>"
	"<?fedtrust-test a processing instruction?>"
	"<md:Organization>"
	"<md:OrganizationName xml:lang=\"de\">M\xc3\xbc" "ller &amp; S\xc3\xb6hne \xe2\x82\xac &#xE9;&#233; "
	"&lt;Labor&gt; \"x\" 'y' ]]&gt; &#13;\r\n</md:OrganizationName>"
	"<md:OrganizationDisplayName xml:lang=\"en\"><![CDATA[R&D <Lab> \"Q\" ]]> and more"
	"</md:OrganizationDisplayName>"
	"<md:OrganizationURL xml:lang=\"en\">https://escape%d.example.org/</md:OrganizationURL>"
	"</md:Organization></md:EntityDescriptor>\n\n",

	"<m:EntityDescriptor xmlns:m=\"" NS_MD "\" xmlns:md=\"" NS_MD "\""
	" xmlns:mdrpi=\"urn:example:not-rpi\" xmlns:ds=\"" NS_DS "\""
	" entityID=\"https://prefix%d.example.org/aa\">"
	"<m:Extensions><mdrpi:Other xmlns:mdrpi=\"urn:example:other-rpi\" mdrpi:x=\"1\"/>"
	"</m:Extensions>"
	"<md:AttributeAuthorityDescriptor"
	" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
	"<md:AttributeService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\""
	" Location=\"https://prefix%d.example.org/aa\"/>"
	"</md:AttributeAuthorityDescriptor></m:EntityDescriptor>",
};

#define NASTY_MAX	300

static struct entity	 nasty[NASTY_MAX];
static const struct entity *nptr[NASTY_MAX];

/* Fill nasty[0..n) with numbered copies of the templates. */
static void
nasty_make(size_t n)
{
	const char	*fmt;
	char		*xml, *id, *p;
	size_t		 i;
	int		 k;

	for (i = 0; i < n; i++) {
		fmt = nasty_fmt[i % (sizeof(nasty_fmt) / sizeof(nasty_fmt[0]))];
		k = (int)i;
		/* the templates have two or three %d */
		if (asprintf(&xml, fmt, k, k, k) == -1)
			fail();
		p = strstr(xml, "entityID=\"") + 10;
		id = xstrndup(p, strcspn(p, "\""));
		memset(&nasty[i], 0, sizeof(nasty[i]));
		nasty[i].id = id;
		nasty[i].xml = xml;
		nasty[i].xmlsz = strlen(xml);
		nptr[i] = &nasty[i];
	}
}

static void
nasty_free(size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(nasty[i].id);
		free(nasty[i].xml);
	}
}

/* Text between open and close in buf, whitespace removed (caller frees), or NULL. */
static char *
between(const char *buf, const char *open, const char *close)
{
	const char	*a, *b;
	char		*out, *q;

	if ((a = strstr(buf, open)) == NULL || (b = strstr(a, close)) == NULL)
		return NULL;
	a += strlen(open);
	out = xstrndup(a, (size_t)(b - a));
	for (a = q = out; *a != '\0'; a++)
		if (*a != ' ' && *a != '\n' && *a != '\r' && *a != '\t')
			*q++ = *a;
	*q = '\0';
	return out;
}

/* The first element {NS_DS}name below n, depth first, or NULL. */
static xmlNodePtr
find_ds(xmlNodePtr n, const char *name)
{
	xmlNodePtr	 c, r;

	for (c = n; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns != NULL && strcmp((char *)c->ns->href, NS_DS) == 0 &&
		    strcmp((char *)c->name, name) == 0)
			return c;
		if ((r = find_ds(c->children, name)) != NULL)
			return r;
	}
	return NULL;
}

/* c14n visibility: inside (want 1) or outside (want 0) the subtree of the element in arg. */
struct vis {
	xmlNodePtr	 top;
	int		 inside;
};

static int
visible(void *arg, xmlNodePtr node, xmlNodePtr parent)
{
	struct vis	*vi = arg;
	xmlNodePtr	 n;

	n = (node == NULL || node->type == XML_NAMESPACE_DECL ||
	    node->type == XML_ATTRIBUTE_NODE) ? parent : node;
	for (; n != NULL; n = n->parent)
		if (n == vi->top)
			return vi->inside;
	return !vi->inside;
}

static int
c14n_add(void *ctx, const char *buf, int len)
{
	if (EVP_DigestUpdate(ctx, buf, (size_t)len) != 1)
		return -1;
	return len;
}

/* Exclusive C14N of doc restricted by vi, into a SHA-256/384 ctx already started. */
static void
c14n_into(xmlDocPtr doc, struct vis *vi, EVP_MD_CTX *ctx)
{
	xmlOutputBufferPtr	 ob;

	ob = xmlOutputBufferCreateIO(c14n_add, NULL, ctx, NULL);
	assert_non_null(ob);
	assert_true(xmlC14NExecute(doc, visible, vi, XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob) >= 0);
	assert_true(xmlOutputBufferClose(ob) >= 0);
}

/*
 * Check the signature of buf with libxml2's own c14n of the whole tree:
 * the document minus ds:Signature hashes to DigestValue, and SignatureValue
 * verifies over the canonical ds:SignedInfo with the public key of keyfile
 * (so our canonical SignedInfo is byte for byte libxml2's).
 */
static void
check_dom_c14n(const unsigned char *buf, size_t len, const char *keyfile, int ec_len)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 sig, si;
	struct vis	 vi;
	EVP_MD_CTX	*ctx;
	EVP_PKEY	*key;
	FILE		*f;
	unsigned char	 md[32], *sv = NULL, der[128];
	size_t		 svsz, dersz;
	char		*b64, *want;
	xmlChar		*txt;

	doc = xmlReadMemory((const char *)buf, (int)len, NULL, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	sig = find_ds(xmlDocGetRootElement(doc), "Signature");
	si = find_ds(sig, "SignedInfo");
	assert_non_null(si);
	/* the reference: everything but the enveloped signature */
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	vi.top = sig;
	vi.inside = 0;
	c14n_into(doc, &vi, ctx);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, NULL), 1);
	b64 = b64_encode(md, sizeof(md));
	want = between((const char *)buf, "<ds:DigestValue>", "</ds:DigestValue>");
	assert_string_equal(b64, want);
	free(b64);
	free(want);
	/* the signature over libxml2's canonical SignedInfo */
	assert_non_null(f = fopen(keyfile, "r"));
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	txt = xmlNodeGetContent(find_ds(sig, "SignatureValue"));
	assert_int_equal(saml_b64_decode((char *)txt, &sv, &svsz), 0);
	xmlFree(txt);
	dersz = svsz;
	if (ec_len > 0) {
		/* raw r || s back to DER for OpenSSL */
		ECDSA_SIG	*es = ECDSA_SIG_new();
		unsigned char	*p = der;

		assert_int_equal(svsz, 2 * (size_t)ec_len);
		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sv, ec_len, NULL),
		    BN_bin2bn(sv + ec_len, ec_len, NULL)), 1);
		dersz = (size_t)i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
	} else
		assert_int_equal(svsz, (size_t)EVP_PKEY_get_size(key));
	EVP_MD_CTX_reset(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, ec_len == 48 ? EVP_sha384() :
	    EVP_sha256(), NULL, key), 1);
	vi.top = si;
	vi.inside = 1;
	c14n_into(doc, &vi, ctx);
	assert_int_equal(EVP_DigestVerifyFinal(ctx, ec_len > 0 ? der : sv, dersz), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	free(sv);
	xmlFreeDoc(doc);
}

/*
 * (c) xmlsec1 --sign of the same text: our output with DigestValue,
 * SignatureValue and the certificate emptied again is a template; xmlsec's
 * digest must be ours, and so must the signature when it is deterministic
 * (RSA PKCS#1 v1.5).
 */
static void
check_xmlsec_sign(const unsigned char *buf, const char *key, const char *cert, int rsa)
{
	char	*t, *p, *q, *f, *o, *ours, *theirs;
	size_t	 len;
	unsigned char *signed_;
	static const char *const empty[] = { "DigestValue", "SignatureValue", "X509Certificate" };
	size_t	 i;
	char	 open[64], close[64];

	t = xstrdup((const char *)buf);
	for (i = 0; i < 3; i++) {
		snprintf(open, sizeof(open), "<ds:%s>", empty[i]);
		snprintf(close, sizeof(close), "</ds:%s>", empty[i]);
		if ((p = strstr(t, open)) == NULL)
			continue;
		p += strlen(open);
		q = strstr(p, close);
		assert_non_null(q);
		memmove(p, q, strlen(q) + 1);
	}
	f = write_tmp("tmpl.xml", (unsigned char *)t, strlen(t));
	o = path_join(tmp, "xmlsec-signed.xml");
	assert_int_equal(tu_sh("xmlsec1 --sign --privkey-pem '%s,%s' --id-attr:ID "
	    NS_MD ":EntitiesDescriptor --output '%s' '%s' >/dev/null 2>&1", key, cert, o, f), 0);
	signed_ = tu_read(o, &len);
	assert_non_null(signed_);
	ours = between((const char *)buf, "<ds:DigestValue>", "</ds:DigestValue>");
	theirs = between((const char *)signed_, "<ds:DigestValue>", "</ds:DigestValue>");
	assert_non_null(theirs);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	if (rsa) {
		ours = between((const char *)buf, "<ds:SignatureValue>", "</ds:SignatureValue>");
		theirs = between((const char *)signed_, "<ds:SignatureValue>",
		    "</ds:SignatureValue>");
		assert_string_equal(ours, theirs);
		free(ours);
		free(theirs);
	}
	free(signed_);
	free(t);
	free(f);
	free(o);
}

/* (a) fedtrust's verifier pinned to the public key accepts buf with all n entities. */
static void
check_saml_verify(const unsigned char *buf, size_t len, const char *pin, size_t n)
{
	struct anchor_set	 as;
	struct saml_opts	 so;
	struct entity_set	 es;
	struct verdict		 v;
	size_t			 i;

	memset(&as, 0, sizeof(as));
	memset(&so, 0, sizeof(so));
	memset(&es, 0, sizeof(es));
	assert_int_equal(anchor_load_pins(&as, pin, &v), 0);
	so.source = "test";
	so.cert_validity = CERT_VALIDITY_IGNORE;
	if (saml_verify(buf, len, &as, &so, NOW, &es, &v) != 0)
		fail_msg("saml_verify: %s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(es.entitiesz, n);
	assert_int_equal(es.dropsz, 0);
	for (i = 0; i < n; i++)
		assert_string_equal(es.entities[i].id, nasty[i].id);
	entity_set_free(&es);
	anchor_set_free(&as);
}

/* The P-384 operator key pair in tmp, made once. */
static void
p384(char **key, char **cert)
{
	*key = path_join(tmp, "p384.key");
	*cert = path_join(tmp, "p384.pem");
	if (access(*cert, R_OK) == 0)
		return;
	assert_int_equal(tu_sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
	    "-out '%s' 2>/dev/null && openssl req -x509 -key '%s' -out '%s' -days 30 "
	    "-subj /CN=p384 2>/dev/null", *key, *key, *cert), 0);
}

/* Sign n nasty entities with key/cert and run every independent check. */
static void
stream_check(const char *key, const char *cert, int ec_len, size_t n)
{
	struct saml_out_opts	 o;
	struct signer		 s;
	struct verdict		 v;
	unsigned char		*out = NULL;
	size_t			 len = 0;
	char			*k = pki(key), *c = pki(cert), *f;

	opts_default(&o);
	assert_int_equal(signer_load(&s, k, c, &v), 0);
	if (out_saml_aggregate(nptr, n, &o, &s, NOW, &out, &len, &v) != 0)
		fail_msg("out_saml_aggregate: %s: %s", reason_code(v.reason), v.detail);
	signer_free(&s);
	assert_int_equal(strlen((char *)out), len);
	check_saml_verify(out, len, c, n);
	check_dom_c14n(out, len, k, ec_len);
	if (have_xmlsec1()) {
		f = write_tmp("stream.xml", out, len);
		assert_int_equal(xmlsec1_verify(f, c), 0);
		check_xmlsec_sign(out, k, c, ec_len == 0);
		free(f);
	}
	free(out);
	free(k);
	free(c);
}

/* A few entities, and many (every template a hundred times). */
static void
test_stream_rsa(void **state)
{
	(void)state;
	stream_check("operator.key", "operator.pem", 0, 3);
	stream_check("operator.key", "operator.pem", 0, NASTY_MAX);
}

static void
test_stream_ec(void **state)
{
	char	*k, *c;

	(void)state;
	stream_check("operator-ec.key", "operator-ec.pem", 32, 3);
	stream_check("operator-ec.key", "operator-ec.pem", 32, NASTY_MAX);
	p384(&k, &c);
	stream_check(k, c, 48, 5);
	stream_check(k, c, 48, NASTY_MAX);
	free(k);
	free(c);
}

/* Sign nptr[0..n) with entity i replaced by xml; the reason code (0 on success). */
static int
stream_refused(size_t n, size_t i, char *xml, struct verdict *v)
{
	struct saml_out_opts	 o;
	struct signer		 s;
	struct entity		 save = nasty[i];
	unsigned char		*out = NULL;
	size_t			 len = 0;
	char			*k = pki("operator-ec.key");
	int			 rc;

	opts_default(&o);
	assert_int_equal(signer_load(&s, k, NULL, v), 0);
	nasty[i].xml = xml;
	nasty[i].xmlsz = strlen(xml);
	memset(v, 0, sizeof(*v));
	rc = out_saml_aggregate(nptr, n, &o, &s, NOW, &out, &len, v);
	nasty[i] = save;
	signer_free(&s);
	free(k);
	if (rc == 0) {
		free(out);
		return 0;
	}
	assert_null(out);
	assert_int_equal(len, 0);
	return (int)v->reason;
}

/*
 * What would not mean what was digested never leaves: an entity that is
 * not exactly one md:EntityDescriptor in the root's context, among a few
 * entities and near the end of many.
 */
static void
test_stream_refused(void **state)
{
	static char *bad[] = {
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://a.example.org\">",
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://a.example.org\"/>"
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://b.example.org\"/>",
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://a.example.org\"/>"
		"</md:EntitiesDescriptor><md:EntitiesDescriptor xmlns:md=\"" NS_MD "\">",
		"<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://a.example.org\"/>"
		"<!-- trailing -->",
		"text<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"https://a.example.org\"/>",
		"<md:EntitiesDescriptor xmlns:md=\"" NS_MD "\"/>",
		"<!DOCTYPE x [<!ENTITY e \"x\">]><md:EntityDescriptor xmlns:md=\"" NS_MD "\""
		" entityID=\"https://a.example.org\"/>",
	};
	struct verdict	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(stream_refused(3, 1, bad[i], &v), R_INTERNAL);
		assert_non_null(strstr(v.detail, "https://escape1.example.org/sp"));
		/* the verdict names the entity */
		assert_int_equal(stream_refused(NASTY_MAX, NASTY_MAX - 2, bad[i], &v),
		    R_INTERNAL);
		assert_non_null(strstr(v.detail, nasty[NASTY_MAX - 2].id));
	}
	/* the same entities unchanged are fine */
	assert_int_equal(stream_refused(3, 1, nasty[1].xml, &v), 0);
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
	nasty_make(NASTY_MAX);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	nasty_free(NASTY_MAX);
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
		cmocka_unit_test(test_stream_rsa),
		cmocka_unit_test(test_stream_ec),
		cmocka_unit_test(test_stream_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
