/*
 * saml.c / saml_verify.c: feeds generated and signed at test time
 * (tests/tools/mkfeed.py, xmlsec1) with the test PKI; one accept per
 * supported shape and at least one exact reason code per rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extern.h"
#include "testutil.h"

static char	*tmp;

/* Python helper for the shapes mkfeed.py's command line does not make. */
static const char helper_py[] =
"import re, sys, time\n"
"sys.path.insert(0, sys.argv[4])\n"
"import mkfeed as m\n"
"case, out, pki = sys.argv[1:4]\n"
"now = int(time.time())\n"
"P = lambda n: pki + '/' + n\n"
"certs = [P('entity1.pem'), P('entity2.pem')]\n"
"ents = None\n"
"sig = None\n"
"if case == 'nested-expired':\n"
"    ents = (m.entity_xml('https://ok.example.org', 0, certs)\n"
"            + m.entity_xml('https://old.example.org', 1, certs, valid_until=m.iso(now - 60))\n"
"            + m.entity_xml('https://later.example.org', 2, certs, valid_until=m.iso(now + 10 * 86400)))\n"
"elif case == 'dup':\n"
"    ents = (m.entity_xml('https://a.example.org', 0, certs)\n"
"            + m.entity_xml('https://dup.example.org', 1, certs)\n"
"            + m.entity_xml('https://dup.example.org', 2, certs))\n"
"elif case == 'nokeyinfo':\n"
"    sig = m.signature_template(keyinfo=False)\n"
"elif case == 'embedded-bad':\n"
"    bad = (m.signature_template(ref='#E1').replace('<ds:DigestValue/>', '<ds:DigestValue>AAAA</ds:DigestValue>')\n"
"           .replace('<ds:SignatureValue/>', '<ds:SignatureValue>AAAA</ds:SignatureValue>'))\n"
"    e1 = m.entity_xml('https://bad.example.org', 1, certs)\n"
"    e1 = e1.replace('<md:EntityDescriptor entityID', '<md:EntityDescriptor ID=\"E1\" entityID', 1)\n"
"    e1 = e1.replace('>', '>' + bad, 1)\n"
"    ents = m.entity_xml('https://good.example.org', 0, certs) + e1\n"
"elif case == 'stray':\n"
"    stray = m.signature_template(ref='#ROOT').replace('<ds:DigestValue/>', '<ds:DigestValue>AAAA</ds:DigestValue>')\n"
"    ents = m.entity_xml('https://a.example.org', 0, certs, extra='')\n"
"    ents = ents.replace('<md:Extensions>', '<md:Extensions>' + stray, 1)\n"
"doc = m.template(n=3, valid_until=m.iso(now + 86400), certs=certs, entities=ents, sig=sig)\n"
"b = m.sign(doc, P('signer.key'), P('signer.pem'))\n"
"if case == 'foreign':\n"
"    other = m.cert_b64(P('other.pem')).encode()\n"
"    b = re.sub(rb'(<ds:KeyInfo>.*?<ds:X509Certificate>)[^<]*', lambda x: x.group(1) + other, b, count=1, flags=re.S)\n"
"open(out, 'wb').write(b)\n";

/* Path in the temp dir (rotating static buffers). */
static const char *
tpath(const char *name)
{
	static char	 buf[64][1024];
	static int	 i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static const char *
pki(const char *name)
{
	static char	 buf[64][1024];
	static int	 i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_pki(), name);
	return buf[i];
}

/* mkfeed.py --out TMP/name with extra arguments. */
static void
mkfeed(const char *name, const char *args)
{
	char	*tool = tu_src("tools/mkfeed.py");

	assert_int_equal(tu_sh("'%s' '%s' --out '%s' --entity-cert '%s' --entity-cert '%s' %s",
	    tu_python(), tool, tpath(name), pki("entity1.pem"), pki("entity2.pem"), args), 0);
	free(tool);
}

/* The helper above for a special shape. */
static void
mkcase(const char *name, const char *kase)
{
	char	*tools = tu_src("tools");

	assert_int_equal(tu_sh("'%s' '%s' '%s' '%s' '%s' '%s'", tu_python(), tpath("helper.py"),
	    kase, tpath(name), tu_pki(), tools), 0);
	free(tools);
}

/* Verify file with the pins in anchors (NULL-terminated); returns saml_verify's result. */
static int
verify_opts(const char *name, const char *const *anchors, const struct saml_opts *o,
    time_t now, struct entity_set *set, struct verdict *v)
{
	struct anchor_set	 as;
	unsigned char		*buf;
	size_t			 len;
	int			 rc;

	memset(&as, 0, sizeof(as));
	for (; *anchors != NULL; anchors++)
		assert_int_equal(anchor_load_pins(&as, *anchors, v), 0);
	buf = tu_read(tpath(name), &len);
	memset(v, 0, sizeof(*v));
	rc = saml_verify(buf, len, &as, o, now, set, v);
	free(buf);
	anchor_set_free(&as);
	return rc;
}

static struct saml_opts
defopts(void)
{
	struct saml_opts	 o;

	memset(&o, 0, sizeof(o));
	o.source = "test";
	o.max_validity = MAX_VALIDITY_DEFAULT;
	o.skew = MAX_SKEW_DEFAULT;
	o.cert_validity = CERT_VALIDITY_WARN;
	return o;
}

/* Default feed signed by signer. */
static void
mkdefault(const char *name, const char *extra)
{
	char	 args[2048];

	snprintf(args, sizeof(args), "--key '%s' --cert '%s' %s", pki("signer.key"),
	    pki("signer.pem"), extra);
	mkfeed(name, args);
}

/* Expect ACCEPT with n entities under one pin. */
static void
expect_accept(const char *name, const char *anchor, size_t n)
{
	const char		*a[] = { anchor, NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;

	if (verify_opts(name, a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s: %s", name, reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, n);
	entity_set_free(&set);
}

/* Expect REJECT with reason r under one pin. */
static void
expect_reject(const char *name, const char *anchor, enum reason r)
{
	const char		*a[] = { anchor, NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;

	assert_int_equal(verify_opts(name, a, &o, time(NULL), &set, &v), -1);
	if (v.reason != r)
		fail_msg("%s: expected %s, got %s: %s", name, reason_code(r),
		    reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 0);
}

static void
test_accept_aggregate(void **state)
{
	mkdefault("agg.xml", "--entities 4");
	expect_accept("agg.xml", pki("signer.pem"), 4);
	/* a bare public key pins as well as the certificate */
	expect_accept("agg.xml", pki("signer.pub.pem"), 4);
}

static void
test_entity_values(void **state)
{
	const char		*a[] = { pki("signer.pem"), NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;
	const struct entity	*e;
	xmlDocPtr		 d;
	xmlNodePtr		 n;
	time_t			 now = time(NULL);
	char			*s;

	mkdefault("agg.xml", "--entities 4 --cache-duration PT6H");
	if (verify_opts("agg.xml", a, &o, now, &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 4);
	assert_int_equal(set.cache_duration, 6 * 3600);
	assert_string_equal(set.name, "urn:test:feed");
	assert_true(set.valid_until > now + 86000 && set.valid_until <= now + 86400 + 5);
	assert_true(set.created > 0);
	e = &set.entities[0];
	assert_string_equal(e->id, "https://e0.example.org/md");
	assert_int_equal(e->roles, ROLE_IDP);
	assert_int_equal(set.entities[1].roles, ROLE_SP);
	assert_int_equal(set.entities[2].roles, ROLE_IDP | ROLE_AA);
	assert_int_equal(e->keysz, 2);
	assert_int_equal(e->keys[0].use, KEY_USE_SIGNING);
	assert_int_equal(e->keys[1].use, KEY_USE_ENCRYPTION);
	assert_non_null(e->keys[0].cert);
	assert_true(e->keys[0].spkisz > 200);
	assert_true(e->keys[0].not_after > now);
	assert_int_equal(set.entities[2].keysz, 4);
	assert_string_equal(e->ra, "https://registrar.example.org");
	assert_int_equal(e->categoriesz, 1);
	assert_string_equal(e->categories[0],
	    "http://macedir.org/entity-category|http://refeds.org/category/research-and-scholarship");
	assert_string_equal(e->org, "Organisation 0");
	assert_int_equal(e->valid_until, set.valid_until);
	/* the xml reparses standalone and xsi:type="xs:string" still resolves */
	d = xmlReadMemory(e->xml, (int)e->xmlsz, "e.xml", NULL, XML_PARSE_NONET);
	assert_non_null(d);
	n = xmlDocGetRootElement(d);
	assert_string_equal((const char *)n->name, "EntityDescriptor");
	assert_non_null(xmlSearchNs(d, n, (const xmlChar *)"xs"));
	assert_string_equal((const char *)xmlSearchNs(d, n, (const xmlChar *)"xs")->href,
	    "http://www.w3.org/2001/XMLSchema");
	s = (char *)xmlGetProp(n, (const xmlChar *)"entityID");
	assert_string_equal(s, e->id);
	xmlFree(s);
	xmlFreeDoc(d);
	assert_null(strstr(e->xml, "Signature"));
	entity_set_free(&set);
}

static void
test_accept_single(void **state)
{
	const char		*a[] = { pki("signer.pem"), NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;

	mkdefault("single.xml", "--single");
	if (verify_opts("single.xml", a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 1);
	assert_string_equal(set.entities[0].id, "https://e0.example.org/md");
	/* the root signature is not part of the entity's data */
	assert_null(strstr(set.entities[0].xml, "Signature"));
	entity_set_free(&set);
}

static void
test_accept_algs(void **state)
{
	char	 args[2048];

	snprintf(args, sizeof(args), "--alg ecdsa-sha256 --key '%s' --cert '%s'",
	    pki("signer-ec.key"), pki("signer-ec.pem"));
	mkfeed("ec.xml", args);
	expect_accept("ec.xml", pki("signer-ec.pem"), 3);
	/* an RSA anchor cannot verify an ECDSA signature */
	expect_reject("ec.xml", pki("signer.pem"), R_SIG_UNTRUSTED);

	snprintf(args, sizeof(args), "--alg rsa-sha512 --digest sha512 --key '%s' --cert '%s'",
	    pki("signer.key"), pki("signer.pem"));
	mkfeed("sha512.xml", args);
	expect_accept("sha512.xml", pki("signer.pem"), 3);
}

static void
test_accept_keyinfo(void **state)
{
	mkcase("noki.xml", "nokeyinfo");
	expect_accept("noki.xml", pki("signer.pem"), 3);
	mkcase("foreign.xml", "foreign");
	expect_accept("foreign.xml", pki("signer.pem"), 3);
	/* the foreign certificate never becomes a key */
	expect_reject("foreign.xml", pki("other.pem"), R_SIG_UNTRUSTED);
}

static void
test_accept_rollover(void **state)
{
	char	 args[2048];

	assert_int_equal(tu_sh("cat '%s' '%s' > '%s'", pki("signer.pem"), pki("signer2.pem"),
	    tpath("pins.pem")), 0);
	snprintf(args, sizeof(args), "--key '%s' --cert '%s'", pki("signer2.key"), pki("signer2.pem"));
	mkfeed("s2.xml", args);
	expect_accept("s2.xml", tpath("pins.pem"), 3);
	expect_reject("s2.xml", pki("signer.pem"), R_SIG_UNTRUSTED);
}

static void
test_reject_signature(void **state)
{
	char	 args[2048];

	mkdefault("agg.xml", "");
	/* tampered entityID */
	assert_int_equal(tu_sh("sed 's/e1.example.org/e9.example.org/' '%s' > '%s'",
	    tpath("agg.xml"), tpath("tampered.xml")), 0);
	expect_reject("tampered.xml", pki("signer.pem"), R_SIG_INVALID);
	expect_reject("agg.xml", pki("other.pem"), R_SIG_UNTRUSTED);

	snprintf(args, sizeof(args), "--key '%s' --cert '%s'", pki("weak.key"), pki("weak.pem"));
	mkfeed("weak.xml", args);
	expect_reject("weak.xml", pki("weak.pem"), R_SIG_KEY_WEAK);

	mkdefault("sha1.xml", "--alg rsa-sha1");
	expect_reject("sha1.xml", pki("signer.pem"), R_SIG_ALG);
	mkdefault("dsha1.xml", "--digest sha1");
	expect_reject("dsha1.xml", pki("signer.pem"), R_SIG_DIGEST_WEAK);

	mkdefault("unsigned.xml", "--unsigned");
	expect_reject("unsigned.xml", pki("signer.pem"), R_SIG_MISSING);

	mkcase("stray.xml", "stray");
	expect_reject("stray.xml", pki("signer.pem"), R_SIG_MULTIPLE);
}

static void
test_reject_parse(void **state)
{
	mkdefault("agg.xml", "");
	/* a DOCTYPE in an otherwise valid signed feed */
	assert_int_equal(tu_sh("sed '1a <!DOCTYPE md:EntitiesDescriptor [<!ENTITY a \"b\">]>' '%s' > '%s'",
	    tpath("agg.xml"), tpath("doctype.xml")), 0);
	expect_reject("doctype.xml", pki("signer.pem"), R_XML_DOCTYPE);
	assert_int_equal(tu_sh("printf '' > '%s'", tpath("empty.xml")), 0);
	expect_reject("empty.xml", pki("signer.pem"), R_XML_EMPTY);
	assert_int_equal(tu_sh("head -c 500 '%s' > '%s'", tpath("agg.xml"), tpath("trunc.xml")), 0);
	expect_reject("trunc.xml", pki("signer.pem"), R_XML_MALFORMED);
	/* comments and PIs after the root are fine */
	assert_int_equal(tu_sh("cp '%s' '%s' && printf '<!-- c --><?pi x?>\\n' >> '%s'",
	    tpath("agg.xml"), tpath("trail.xml"), tpath("trail.xml")), 0);
	expect_accept("trail.xml", pki("signer.pem"), 3);
}

static void
test_reject_validity(void **state)
{
	const char		*a[] = { pki("signer.pem"), NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;

	mkdefault("expired.xml", "--valid-until -60");
	expect_reject("expired.xml", pki("signer.pem"), R_EXPIRED);
	mkdefault("long.xml", "--valid-until +5000000");
	expect_reject("long.xml", pki("signer.pem"), R_VALIDITY_TOO_LONG);
	/* max-validity 0 = no upper bound */
	o.max_validity = 0;
	if (verify_opts("long.xml", a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	entity_set_free(&set);
	mkdefault("novu.xml", "--valid-until none");
	expect_reject("novu.xml", pki("signer.pem"), R_VALID_UNTIL_MISSING);
	mkdefault("future.xml", "--creation +3600");
	expect_reject("future.xml", pki("signer.pem"), R_NOT_YET_VALID);
	/* the signature is checked first: a tampered expired feed is sig-invalid */
	assert_int_equal(tu_sh("sed 's/e1.example.org/e9.example.org/' '%s' > '%s'",
	    tpath("expired.xml"), tpath("expired-t.xml")), 0);
	expect_reject("expired-t.xml", pki("signer.pem"), R_SIG_INVALID);
}

/* Index of the drop for id in set, or -1. */
static int
find_drop(const struct entity_set *set, const char *id)
{
	size_t	 i;

	for (i = 0; i < set->dropsz; i++)
		if (strcmp(set->drops[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void
test_quarantine(void **state)
{
	const char		*a[] = { pki("signer.pem"), NULL };
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;
	int			 d;

	mkcase("nested.xml", "nested-expired");
	if (verify_opts("nested.xml", a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 2);
	assert_string_equal(set.entities[0].id, "https://ok.example.org");
	assert_string_equal(set.entities[1].id, "https://later.example.org");
	/* a nested validUntil later than the root is clamped to the root's */
	assert_int_equal(set.entities[1].valid_until, set.valid_until);
	assert_int_equal(set.dropsz, 1);
	assert_true((d = find_drop(&set, "https://old.example.org")) >= 0);
	assert_int_equal(set.drops[d].reason, R_ENTITY_EXPIRED);
	entity_set_free(&set);

	mkcase("dup.xml", "dup");
	if (verify_opts("dup.xml", a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 1);
	assert_string_equal(set.entities[0].id, "https://a.example.org");
	assert_int_equal(set.dropsz, 2);
	assert_int_equal(set.drops[0].reason, R_ENTITY_DUPLICATE);
	assert_int_equal(set.drops[1].reason, R_ENTITY_DUPLICATE);
	entity_set_free(&set);

	mkcase("embedded.xml", "embedded-bad");
	if (verify_opts("embedded.xml", a, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 1);
	assert_string_equal(set.entities[0].id, "https://good.example.org");
	assert_true((d = find_drop(&set, "https://bad.example.org")) >= 0);
	assert_int_equal(set.drops[d].reason, R_ENTITY_SIG_INVALID);
	entity_set_free(&set);
}

static void
test_ca_mode(void **state)
{
	struct anchor_set	 as;
	struct saml_opts	 o = defopts();
	struct entity_set	 set;
	struct verdict		 v;
	unsigned char		*buf;
	size_t			 len;
	char			 args[2048];

	snprintf(args, sizeof(args), "--key '%s' --cert '%s'", pki("fedsigner.key"), pki("fedsigner.pem"));
	mkfeed("fed.xml", args);
	snprintf(args, sizeof(args), "--key '%s' --cert '%s'", pki("fedsigner-revoked.key"),
	    pki("fedsigner-revoked.pem"));
	mkfeed("fedrev.xml", args);

	memset(&as, 0, sizeof(as));
	assert_int_equal(anchor_load_ca(&as, pki("fedca.pem"), &v), 0);
	assert_int_equal(anchor_load_crl(&as, pki("fedca.crl"), &v), 0);
	strv_push(&as.names, &as.namesz, "metadata-signer.example.org");
	buf = tu_read(tpath("fed.xml"), &len);
	if (saml_verify(buf, len, &as, &o, time(NULL), &set, &v) != 0)
		fail_msg("%s: %s", reason_code(v.reason), v.detail);
	assert_int_equal(set.entitiesz, 3);
	entity_set_free(&set);
	free(buf);

	buf = tu_read(tpath("fedrev.xml"), &len);
	assert_int_equal(saml_verify(buf, len, &as, &o, time(NULL), &set, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_REVOKED);
	free(buf);
	/* a signer certificate outside the CA is untrusted: signer.pem in KeyInfo */
	mkdefault("agg.xml", "");
	buf = tu_read(tpath("agg.xml"), &len);
	assert_int_equal(saml_verify(buf, len, &as, &o, time(NULL), &set, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_UNTRUSTED);
	free(buf);
	anchor_set_free(&as);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_aggregate),
		cmocka_unit_test(test_entity_values),
		cmocka_unit_test(test_accept_single),
		cmocka_unit_test(test_accept_algs),
		cmocka_unit_test(test_accept_keyinfo),
		cmocka_unit_test(test_accept_rollover),
		cmocka_unit_test(test_reject_signature),
		cmocka_unit_test(test_reject_parse),
		cmocka_unit_test(test_reject_validity),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_ca_mode),
	};
	FILE	*f;
	int	 rc;

	tmp = tu_tmpdir("test_saml");
	tu_pki();
	if ((f = fopen(tpath("helper.py"), "w")) == NULL)
		return 1;
	fputs(helper_py, f);
	fclose(f);
	if (xml_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xml_shutdown();
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return rc;
}
