/*
 * Differential test of the streaming SAML verifier (saml_stream.c) against
 * the tree verifier (SAML_ENGINE_DOM): for every document of the test
 * corpus (feeds made and signed at test time by tests/tools/mkfeed.py, the
 * SAML seeds of the fuzz corpus, which are the hostile corpus's small
 * cases, and the real corpus), both engines must give the same verdict
 * reason and the same entity set, field by field.  Normal signed feeds
 * must really be accepted by the stream path (SAML_ENGINE_STREAM), and
 * tampering with any signed byte must be rejected by both alike.
 * SAML_DIFF_HOSTILE=DIR adds the cases of tests/hostile/gen.py in DIR.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

#define FUZZ_NOW	1772431200	/* tests/fuzz/fuzz.h: 2026-03-02T06:00:00Z */

static char	*tmp;
static time_t	 gen_now;

/*
 * Cases made at test time: one line per case in manifest
 * "name|file|anchor|flags" (flags: S = the stream path must accept,
 * T = tamper test, A = sha1 opt-ins).
 */
static const char helper_py[] =
"import sys, time\n"
"sys.path.insert(0, sys.argv[3])\n"
"import mkfeed as m\n"
"out, pki = sys.argv[1:3]\n"
"now = int(sys.argv[4])\n"
"P = lambda n: pki + '/' + n\n"
"certs = [P('entity1.pem'), P('entity2.pem'), P('entity3.pem')]\n"
"vu = m.iso(now + 86400)\n"
"man = open(out + '/manifest', 'w')\n"
"def emit(name, doc, flags='S', anchor='signer.pem', key='signer', root='EntitiesDescriptor', extra_ids=()):\n"
"    b = m.sign(doc, P(key + '.key'), P(key + '.pem'), root=root, extra_ids=extra_ids)\n"
"    open(out + '/' + name + '.xml', 'wb').write(b)\n"
"    man.write('%s|%s|%s|%s\\n' % (name, out + '/' + name + '.xml', P(anchor), flags))\n"
"def sig(**kw):\n"
"    return m.signature_template(**kw)\n"
"def feed(**kw):\n"
"    kw.setdefault('n', 3)\n"
"    return m.template(valid_until=vu, certs=certs, **kw)\n"
"EXC = m.EXC\n"
"emit('rsa', feed(), 'ST')\n"
"emit('rsa384', feed(sig=sig(alg='rsa-sha384', digest='sha384')))\n"
"emit('rsa512', feed(sig=sig(alg='rsa-sha512', digest='sha512')))\n"
"emit('ec256', feed(sig=sig(alg='ecdsa-sha256')), 'ST', anchor='signer-ec.pem', key='signer-ec')\n"
"emit('ec384', feed(sig=sig(alg='ecdsa-sha384', digest='sha384')), 'S', anchor='signer-ec.pem', key='signer-ec')\n"
"emit('rsa-sha1', feed(sig=sig(alg='rsa-sha1', digest='sha1')), 'SA')\n"
"emit('uri-empty', feed(sig=sig(ref='')))\n"
"emit('c14n-inclusive', feed(sig=sig(c14n='http://www.w3.org/TR/2001/REC-xml-c14n-20010315')))\n"
"emit('with-comments', feed(sig=sig(transforms=[m.ENV, EXC + 'WithComments'])).replace('<md:Organization>', '<!-- c --><md:Organization>'), 'ST')\n"
"incl = ('<ds:Transform Algorithm=\"%s\"><ec:InclusiveNamespaces xmlns:ec=\"%s\" PrefixList=\"md xsi #default\"/></ds:Transform>' % (EXC, EXC))\n"
"s = sig().replace('<ds:Transform Algorithm=\"%s\"/>' % EXC, incl)\n"
"s = s.replace('<ds:CanonicalizationMethod Algorithm=\"%s\"/>' % EXC, '<ds:CanonicalizationMethod Algorithm=\"%s\"><ec:InclusiveNamespaces xmlns:ec=\"%s\" PrefixList=\"ds\"/></ds:CanonicalizationMethod>' % (EXC, EXC))\n"
"emit('inclusive-ns', feed(sig=s), 'ST')\n"
"d = feed().replace('<md:', '<').replace('</md:', '</').replace('xmlns:md=', 'xmlns=')\n"
"emit('default-ns', d, 'ST')\n"
"g1 = '<md:EntitiesDescriptor validUntil=\"%s\" Name=\"g1\">%s%s</md:EntitiesDescriptor>' % (m.iso(now + 3600), m.entity_xml('https://g1a.example.org', 0, certs), m.entity_xml('https://g1b.example.org', 1, certs, valid_until=m.iso(now + 600)))\n"
"g2 = '<md:EntitiesDescriptor validUntil=\"%s\">%s</md:EntitiesDescriptor>' % (m.iso(now - 60), m.entity_xml('https://g2.example.org', 2, certs))\n"
"g3 = '<md:EntitiesDescriptor validUntil=\"soon\"><md:EntitiesDescriptor>%s</md:EntitiesDescriptor></md:EntitiesDescriptor>' % m.entity_xml('https://g3.example.org', 0, certs)\n"
"ents = g1 + m.entity_xml('https://top.example.org', 1, certs) + g2 + g3\n"
"emit('nested', feed(entities=ents), 'ST')\n"
"e = m.entity_xml('https://rich.example.org/md?a=1&amp;b=2', 0, certs)\n"
"e = e.replace('>Organisation 0<', '>Org &amp; &lt;Co&gt; &#xD;&#9;tab<![CDATA[x<y&z]]><!-- in --><?keep me?>end<')\n"
"e = e.replace('Location=\"https://', 'Location=\"&#9;https://', 1).replace('/sso\"', '/sso&#xD;&#10;&quot;&amp;&lt;\"', 1)\n"
"e = e.replace('<md:ContactPerson', '<md:ContactPerson xml:lang=\"fr\" xmlns:x=\"urn:x\" x:b=\"2\" x:a=\"1\"', 1)\n"
"ents = m.entity_xml('https://plain.example.org', 1, certs) + '\\n<!-- between -->\\n' + e + '\\r\\n'\n"
"emit('rich', feed(entities=ents), 'ST')\n"
"emit('single', feed(single=True), 'ST', root='EntityDescriptor')\n"
"dup = m.entity_xml('https://dup.example.org', 0, certs)\n"
"emit('duplicates', feed(entities=dup + m.entity_xml('https://ok.example.org', 1, certs) + dup))\n"
"emit('wrong-anchor', feed(), '', anchor='other.pem')\n"
"emb = m.signature_template(ref='#E1')\n"
"e1 = m.entity_xml('https://emb.example.org', 1, certs).replace('<md:EntityDescriptor entityID', '<md:EntityDescriptor ID=\"E1\" entityID', 1)\n"
"e1 = e1.replace('>', '>' + emb, 1)\n"
"emit('embedded', feed(entities=m.entity_xml('https://a.example.org', 0, certs) + e1), '', extra_ids=(m.MD + ':EntityDescriptor',))\n"
"x = feed(entities=m.entity_xml('https://x1.example.org', 0, certs).replace('<md:Organization>', '<md:Organization xml:id=\"same\">') + m.entity_xml('https://x2.example.org', 1, certs).replace('<md:Organization>', '<md:Organization xml:id=\"same\">'))\n"
"emit('xmlid-dup', x, '')\n"
"x = feed(entities=m.entity_xml('https://x1.example.org', 0, certs).replace('<md:Organization>', '<md:Organization ID=\"ROOT\">'))\n"
"emit('rootid-dup', x, '')\n"
"x = feed().replace('<md:EntitiesDescriptor ', '<?pi before?><md:EntitiesDescriptor ', 1)\n"
"emit('prolog-pi', x, '')\n"
"man.close()\n";

/* One verification setting. */
struct dcase {
	char		 name[512];
	char		*file;
	char		*anchors[4];
	char		*cas[2];
	char		*crls[2];
	char		*names[2];
	unsigned	 algs;
	long		 max_validity;
	int		 cert_validity;
	size_t		 max_entities;
	time_t		 now;
	int		 must_stream;
	int		 tamper;
};

static int
setup(void **state)
{
	char	*tools = tu_src("tools");
	char	 py[4096];
	FILE	*f;

	(void)state;
	tmp = tu_tmpdir("saml_diff");
	gen_now = time(NULL);
	snprintf(py, sizeof(py), "%s/helper.py", tmp);
	if ((f = fopen(py, "w")) == NULL)
		return -1;
	fputs(helper_py, f);
	fclose(f);
	if (tu_sh("'%s' '%s' '%s' '%s' '%s' %lld", tu_python(), py, tmp, tu_pki(), tools,
	    (long long)gen_now) != 0)
		return -1;
	free(tools);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return 0;
}

/* Compare two optional strings. */
static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
mem_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* First difference between two entity sets (static text), or NULL. */
static const char *
set_diff(const struct entity_set *a, const struct entity_set *b)
{
	static char	 why[512];
	size_t		 i, k;

	if (a->entitiesz != b->entitiesz)
		return "entity count";
	if (a->dropsz != b->dropsz)
		return "drop count";
	if (a->valid_until != b->valid_until || a->cache_duration != b->cache_duration ||
	    a->created != b->created || !str_eq(a->name, b->name) || !str_eq(a->signer, b->signer))
		return "set fields (valid_until, cache_duration, created, name, signer)";
	for (i = 0; i < a->dropsz; i++)
		if (!str_eq(a->drops[i].id, b->drops[i].id) || a->drops[i].reason != b->drops[i].reason ||
		    !str_eq(a->drops[i].detail, b->drops[i].detail))
			return "a drop";
	for (i = 0; i < a->entitiesz; i++) {
		const struct entity	*x = &a->entities[i], *y = &b->entities[i];

		snprintf(why, sizeof(why), "entity %zu (%s): ", i, x->id);
		if (!str_eq(x->id, y->id))
			return strcat(why, "id");
		if (x->roles != y->roles || x->valid_until != y->valid_until)
			return strcat(why, "roles or valid_until");
		if (!str_eq(x->ra, y->ra) || !str_eq(x->org, y->org))
			return strcat(why, "ra or org");
		if (x->categoriesz != y->categoriesz)
			return strcat(why, "categories");
		for (k = 0; k < x->categoriesz; k++)
			if (!str_eq(x->categories[k], y->categories[k]))
				return strcat(why, "category");
		if (x->keysz != y->keysz)
			return strcat(why, "key count");
		for (k = 0; k < x->keysz; k++)
			if (x->keys[k].use != y->keys[k].use || x->keys[k].not_after != y->keys[k].not_after ||
			    !mem_eq(x->keys[k].cert, x->keys[k].certsz, y->keys[k].cert, y->keys[k].certsz) ||
			    !mem_eq(x->keys[k].spki, x->keys[k].spkisz, y->keys[k].spki, y->keys[k].spkisz))
				return strcat(why, "key");
		if (!mem_eq(x->xml, x->xmlsz, y->xml, y->xmlsz)) {
			fprintf(stderr, "dom xml:    %.*s\nstream xml: %.*s\n", (int)x->xmlsz, x->xml,
			    (int)y->xmlsz, y->xml);
			return strcat(why, "xml");
		}
	}
	return NULL;
}

/* Load the anchors of c into as. */
static void
load_anchors(const struct dcase *c, struct anchor_set *as)
{
	struct verdict	 v;
	size_t		 i;

	memset(as, 0, sizeof(*as));
	for (i = 0; i < 4 && c->anchors[i] != NULL; i++)
		assert_int_equal(anchor_load_pins(as, c->anchors[i], &v), 0);
	for (i = 0; i < 2 && c->cas[i] != NULL; i++)
		assert_int_equal(anchor_load_ca(as, c->cas[i], &v), 0);
	for (i = 0; i < 2 && c->crls[i] != NULL; i++)
		assert_int_equal(anchor_load_crl(as, c->crls[i], &v), 0);
	for (i = 0; i < 2 && c->names[i] != NULL; i++)
		strv_push(&as->names, &as->namesz, c->names[i]);
	as->algs_extra = c->algs;
}

/*
 * Run buf through the tree engine, the automatic engine and, when
 * must_stream, the stream engine alone; fail the test on any difference.
 * Returns the tree engine's result.
 */
static int
diff_one(const struct dcase *c, const struct anchor_set *as, const unsigned char *buf,
    size_t len, int must_stream, const char *what)
{
	struct saml_opts	 o;
	struct entity_set	 s1, s2;
	struct verdict		 v1, v2;
	const char		*d;
	int			 r1, r2;

	memset(&o, 0, sizeof(o));
	o.source = c->name;
	o.max_validity = c->max_validity;
	o.cert_validity = c->cert_validity;
	o.skew = MAX_SKEW_DEFAULT;
	o.max_entities = c->max_entities;
	memset(&v1, 0, sizeof(v1));
	memset(&v2, 0, sizeof(v2));
	o.engine = SAML_ENGINE_DOM;
	r1 = saml_verify(buf, len, as, &o, c->now, &s1, &v1);
	o.engine = must_stream ? SAML_ENGINE_STREAM : SAML_ENGINE_AUTO;
	r2 = saml_verify(buf, len, as, &o, c->now, &s2, &v2);
	if (must_stream && r2 != 0)
		fail_msg("%s %s: the stream engine did not accept: %s: %s", c->name, what,
		    reason_code(v2.reason), v2.detail);
	if (r1 != r2 || (r1 == -1 && v1.reason != v2.reason))
		fail_msg("%s %s: tree %d %s (%s), stream/auto %d %s (%s)", c->name, what, r1,
		    r1 ? reason_code(v1.reason) : "-", r1 ? v1.detail : "", r2,
		    r2 ? reason_code(v2.reason) : "-", r2 ? v2.detail : "");
	if (r1 == 0 && (d = set_diff(&s1, &s2)) != NULL)
		fail_msg("%s %s: entity sets differ: %s", c->name, what, d);
	entity_set_free(&s1);
	entity_set_free(&s2);
	return r1;
}

/* 1 when [pos] lies inside the first ds:KeyInfo (not signed: changes there may verify). */
static int
in_keyinfo(const unsigned char *buf, size_t len, size_t pos)
{
	const char	*s = memmem(buf, len, "<ds:KeyInfo", 11), *e;

	if (s == NULL || (e = memmem(s, len - (size_t)(s - (const char *)buf), "</ds:KeyInfo>", 13)) == NULL)
		return 0;
	return pos >= (size_t)(s - (const char *)buf) && pos < (size_t)(e - (const char *)buf) + 13;
}

/*
 * 1 when [pos] is inside a namespace declaration: exclusive C14N leaves out
 * declarations nothing visibly uses, so changes there may verify.
 */
static int
in_ns_decl(const unsigned char *buf, size_t pos)
{
	size_t	 q, e;

	for (q = pos; q > 0 && buf[q] != '"' && buf[q] != '<' && buf[q] != '>'; q--)
		;
	if (q == 0 || buf[q] != '"' || q < 2 || buf[q - 1] != '=')
		return 0;
	for (e = q - 1; e > 0 && buf[e - 1] != ' ' && buf[e - 1] != '\n' && buf[e - 1] != '<'; e--)
		;
	return strncmp((const char *)buf + e, "xmlns", 5) == 0;
}

/* Change one letter or digit at about every len/n-th byte; each must be rejected alike. */
static void
tamper(const struct dcase *c, const struct anchor_set *as, const unsigned char *buf, size_t len)
{
	unsigned char	*t = xmalloc(len);
	size_t		 k, p, n = 48, done = 0;
	char		 what[64];

	for (k = 1; k < n; k++) {
		for (p = k * len / n; p < len; p++)
			if ((buf[p] >= 'a' && buf[p] <= 'y') || (buf[p] >= 'A' && buf[p] <= 'Y') ||
			    (buf[p] >= '0' && buf[p] <= '8'))
				break;
		if (p == len)
			continue;
		memcpy(t, buf, len);
		t[p]++;
		snprintf(what, sizeof(what), "(byte %zu tampered)", p);
		if (diff_one(c, as, t, len, 0, what) == 0 && !in_keyinfo(buf, len, p) &&
		    !in_ns_decl(buf, p))
			fail_msg("%s %s: accepted", c->name, what);
		done++;
	}
	free(t);
	assert_true(done > n / 2);
}

/* Run one case: file through both engines (and the fd entry point). */
static void
run_case(const struct dcase *c)
{
	struct anchor_set	 as;
	struct saml_opts	 o;
	struct entity_set	 s;
	struct verdict		 v;
	unsigned char		*buf;
	size_t			 len, skip = 0;
	int			 fd, r;

	buf = tu_read(c->file, &len);
	load_anchors(c, &as);
	if (strstr(c->file, "fuzz/corpus/saml") != NULL)
		skip = 1;
	diff_one(c, &as, buf + skip, len - skip, c->must_stream, "");
	if (c->must_stream) {
		/* the file descriptor entry point, without e->xml */
		memset(&o, 0, sizeof(o));
		o.max_validity = c->max_validity;
		o.cert_validity = c->cert_validity;
		o.skew = MAX_SKEW_DEFAULT;
		o.no_xml = 1;
		o.engine = SAML_ENGINE_STREAM;
		assert_true((fd = open(c->file, O_RDONLY)) != -1);
		r = saml_verify_fd(fd, &as, &o, c->now, &s, &v);
		close(fd);
		if (r != 0)
			fail_msg("%s: fd entry: %s: %s", c->name, reason_code(v.reason), v.detail);
		assert_true(s.entitiesz > 0);
		assert_null(s.entities[0].xml);
		/* only the SPKI of a KeyDescriptor certificate is kept */
		if (s.entities[0].keysz > 0) {
			assert_null(s.entities[0].keys[0].cert);
			assert_true(s.entities[0].keys[0].spkisz > 0);
		}
		entity_set_free(&s);
	}
	if (c->tamper)
		tamper(c, &as, buf, len);
	anchor_set_free(&as);
	free(buf);
}

static void
test_generated(void **state)
{
	struct dcase	 c;
	char		 line[8192], path[4096], *name, *file, *anchor, *flags;
	FILE		*f;
	size_t		 n = 0, streamed = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/manifest", tmp);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		name = strtok(line, "|");
		file = strtok(NULL, "|");
		anchor = strtok(NULL, "|");
		flags = strtok(NULL, "|");
		if (flags == NULL)
			flags = "";
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", name);
		c.file = file;
		c.anchors[0] = anchor;
		c.now = gen_now;
		c.max_validity = MAX_VALIDITY_DEFAULT;
		c.cert_validity = CERT_VALIDITY_WARN;
		c.must_stream = strchr(flags, 'S') != NULL;
		c.tamper = strchr(flags, 'T') != NULL;
		if (strchr(flags, 'A') != NULL)
			c.algs = ALGX_RSA_SHA1 | ALGX_SHA1;
		run_case(&c);
		n++;
		streamed += c.must_stream;
	}
	fclose(f);
	assert_true(n >= 20);
	assert_true(streamed >= 14);
}

/* The fuzz seeds: mode byte first (bit 0: signed by the fuzzer: not a document as is). */
static void
test_fuzz_seeds(void **state)
{
	char		*dir = tu_src("fuzz/corpus/saml"), *anchors = tu_src("fuzz/saml-anchors.pem");
	char		 path[4096];
	DIR		*d;
	struct dirent	*de;
	struct dcase	 c;
	unsigned char	*buf;
	size_t		 len, n = 0;

	(void)state;
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = tu_read(path, &len);
		if (len < 1 || (buf[0] & 1) != 0) {
			free(buf);
			continue;
		}
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "fuzz/%s", de->d_name);
		c.file = path;
		c.anchors[0] = anchors;
		c.now = FUZZ_NOW;
		c.max_validity = MAX_VALIDITY_DEFAULT;
		c.cert_validity = (buf[0] & 2) ? CERT_VALIDITY_REJECT : CERT_VALIDITY_WARN;
		c.max_entities = (buf[0] & 4) ? 3 : 0;
		free(buf);
		run_case(&c);
		n++;
	}
	closedir(d);
	free(dir);
	free(anchors);
	assert_true(n > 20);
}

/* The real corpus: the settings of tests/corpus/real-corpus.sh. */
static void
test_real(void **state)
{
	static const struct {
		const char	*file, *anchor, *at;
		int		 ca, sha1, ec512, lng, accept;
	} r[] = {
		{ "wayf-edugain-metadata-2019.xml", "anchors/wayf-metadata-2016-signing.embedded.crt",
		    "2019-07-23T08:10:04Z", 0, 0, 0, 0, 1 },
		{ "wayf-edugain-metadata-2019.xml", "anchors/ukf-meta_uk_ukfederation-2014.pem",
		    "2019-07-23T08:10:04Z", 0, 0, 0, 0, 0 },
		{ "rctsaai-edugain-export-2017-04-15.xml", "anchors/rctsaai-ptmetadatasigner.embedded.crt",
		    "2017-04-21T12:17:22Z", 0, 0, 0, 1, 1 },
		{ "pyxmlsecurity/verify-no-connector-in.xml", "pyxmlsecurity/verify-no-connector-signer.crt",
		    "2018-09-12T07:50:33Z", 0, 0, 0, 1, 1 },
		{ "pyxmlsecurity/verify-it-connector-in.xml", "pyxmlsecurity/verify-it-connector-signer.crt",
		    "2021-06-13T12:45:10Z", 0, 0, 1, 1, 1 },
		{ "pyxmlsecurity/verify-fr-connector-in.xml", "pyxmlsecurity/verify-fr-connector-signer.crt",
		    "2018-03-16T10:21:09Z", 0, 1, 0, 1, 1 },
		{ "pyxmlsecurity/verify-fr-proxy-in.xml", "pyxmlsecurity/verify-fr-proxy-signer.crt",
		    "2018-03-16T10:02:12Z", 0, 1, 0, 1, 0 },
		{ "adfs-bead-loc-federationmetadata-2015.xml", "anchors/adfs-bead-loc-signing.embedded.crt",
		    "2016-01-01T00:00:00Z", 0, 0, 0, 0, 0 },
		{ "surfconext-engine-idp-metadata-2016.xml", "anchors/surfconext-engine-2016.embedded.crt",
		    "2016-01-27T14:26:41Z", 0, 1, 0, 0, 1 },
		{ "swamid-kalmar-1.0-metadata-2010.xml", "anchors/kalmar2-signer.pem",
		    "2010-04-02T11:30:05Z", 0, 1, 0, 1, 0 },
		{ "switch-aaitest-metadata-2009.xml", "anchors/switchaai-metadata-signer-2008.embedded.crt",
		    "2009-10-18T13:00:17Z", 0, 1, 0, 1, 1 },
		{ "switch-aaitest-metadata-2014-02-05.xml", "anchors/SWITCHaaiRootCA.crt.pem",
		    "2014-02-09T09:59:21Z", 1, 1, 0, 1, 1 },
	};
	struct dcase	 c;
	char		 file[4096], anchor[4096];
	size_t		 i, n = 0;

	(void)state;
	if (tu_corpus() == NULL)
		skip();
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		snprintf(file, sizeof(file), "%s/real/saml/%s", tu_corpus(), r[i].file);
		snprintf(anchor, sizeof(anchor), "%s/real/saml/%s", tu_corpus(), r[i].anchor);
		if (access(file, R_OK) == -1 || access(anchor, R_OK) == -1)
			continue;
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "real/%s", r[i].file);
		c.file = file;
		if (r[i].ca)
			c.cas[0] = anchor;
		else
			c.anchors[0] = anchor;
		assert_int_equal(parse_time(r[i].at, &c.now), 0);
		c.max_validity = r[i].lng ? 3650L * 86400 : MAX_VALIDITY_DEFAULT;
		c.cert_validity = CERT_VALIDITY_WARN;
		c.algs = (r[i].sha1 ? ALGX_RSA_SHA1 | ALGX_SHA1 : 0) | (r[i].ec512 ? ALGX_ECDSA_SHA512 : 0);
		run_case(&c);
		n++;
	}
	if (n == 0)
		skip();
}

/* Optional: the full hostile corpus (SAML_DIFF_HOSTILE=DIR of gen.py cases). */
static void
test_hostile(void **state)
{
	const char	*dir = getenv("SAML_DIFF_HOSTILE");
	char		 path[4096], line[4096];
	DIR		*d;
	struct dirent	*de;
	struct dcase	 c;
	FILE		*f;
	size_t		 na, nc;
	char		*prev;

	(void)state;
	if (dir == NULL || (d = opendir(dir)) == NULL)
		skip();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_name[0] == '_')
			continue;
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "hostile/%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s/args", dir, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		c.max_validity = MAX_VALIDITY_DEFAULT;
		c.cert_validity = CERT_VALIDITY_WARN;
		na = nc = 0;
		prev = NULL;
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (prev == NULL) {
				prev = xstrdup(line);
				continue;
			}
			if (strcmp(prev, "--at") == 0 && parse_time(line, &c.now) == -1)
				c.now = (time_t)strtoll(line, NULL, 10);
			else if (strcmp(prev, "--anchor") == 0 && na < 4)
				c.anchors[na++] = xstrdup(line);
			else if (strcmp(prev, "--ca") == 0 && nc < 2)
				c.cas[nc++] = xstrdup(line);
			else if (strcmp(prev, "--crl") == 0)
				c.crls[0] = xstrdup(line);
			else if (strcmp(prev, "--signer-name") == 0)
				c.names[0] = xstrdup(line);
			else if (strcmp(prev, "--max-validity") == 0)
				parse_duration(line, &c.max_validity);
			else if (strcmp(prev, "--cert-validity") == 0)
				c.cert_validity = strcmp(line, "reject") == 0 ? CERT_VALIDITY_REJECT :
				    strcmp(line, "ignore") == 0 ? CERT_VALIDITY_IGNORE : CERT_VALIDITY_WARN;
			else if (strcmp(prev, "--allow-alg") == 0)
				c.algs |= strcmp(line, "rsa-sha1") == 0 ? ALGX_RSA_SHA1 :
				    strcmp(line, "sha1") == 0 ? ALGX_SHA1 :
				    strcmp(line, "ecdsa-sha512") == 0 ? ALGX_ECDSA_SHA512 : 0;
			else {
				/* a flag without value: keep the line as the next option */
				free(prev);
				prev = xstrdup(line);
				continue;
			}
			free(prev);
			prev = NULL;
		}
		free(prev);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s/doc.xml", dir, de->d_name);
		c.file = path;
		run_case(&c);
		for (na = 0; na < 4; na++)
			free(c.anchors[na]);
		free(c.cas[0]);
		free(c.cas[1]);
		free(c.crls[0]);
		free(c.names[0]);
	}
	closedir(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_fuzz_seeds),
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_hostile),
	};

	if (xml_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
