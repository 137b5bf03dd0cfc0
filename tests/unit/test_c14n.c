/*
 * c14n.c against libxml2's xmlC14NExecute (exclusive mode) as the oracle:
 * every document element of hand-made edge cases, the SAML seeds of the
 * fuzz corpus and the real SAML corpus, canonicalised with and without
 * comments and with InclusiveNamespaces prefix lists, must give the same
 * bytes.  The events are made by walking libxml2's tree of the document.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extern.h"
#include "testutil.h"

/* Output collected from the sink. */
struct out {
	unsigned char	*buf;
	size_t		 sz;
	size_t		 calls;
};

static void
sink(void *arg, const unsigned char *b, size_t len)
{
	struct out	*o = arg;

	o->buf = xreallocarray(o->buf, o->sz + len + 1, 1);
	memcpy(o->buf + o->sz, b, len);
	o->sz += len;
	o->calls++;
	assert_true(len <= 64 * 1024);
}

/* Report n and its subtree to c as parse events. */
static void
events(struct c14n *c, xmlNode *n)
{
	struct c14n_ns		*ns;
	struct c14n_attr	*at;
	xmlNs			*d;
	xmlAttr			*a;
	xmlNode			*k;
	xmlChar			*val;
	size_t			 nsn = 0, an = 0, i;

	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		c14n_text(c, (const char *)n->content, strlen((const char *)n->content));
		return;
	case XML_COMMENT_NODE:
		c14n_comment(c, (const char *)n->content);
		return;
	case XML_PI_NODE:
		c14n_pi(c, (const char *)n->name, (const char *)n->content);
		return;
	case XML_ELEMENT_NODE:
		break;
	default:
		fail_msg("unexpected node type %d", n->type);
	}
	for (d = n->nsDef; d != NULL; d = d->next)
		nsn++;
	for (a = n->properties; a != NULL; a = a->next)
		an++;
	ns = xcalloc(nsn + 1, sizeof(*ns));
	at = xcalloc(an + 1, sizeof(*at));
	for (d = n->nsDef, i = 0; d != NULL; d = d->next, i++) {
		ns[i].prefix = (const char *)d->prefix;
		ns[i].uri = d->href != NULL ? (const char *)d->href : "";
	}
	for (a = n->properties, i = 0; a != NULL; a = a->next, i++) {
		val = xmlNodeListGetString(n->doc, a->children, 1);
		at[i].value = val != NULL ? (const char *)val : xstrdup("");
		at[i].valuesz = strlen(at[i].value);
		at[i].local = (const char *)a->name;
		at[i].prefix = a->ns != NULL ? (const char *)a->ns->prefix : NULL;
		at[i].uri = a->ns != NULL ? (const char *)a->ns->href : NULL;
	}
	c14n_start(c, n->ns != NULL ? (const char *)n->ns->prefix : NULL, (const char *)n->name,
	    ns, nsn, at, an);
	for (i = 0; i < an; i++)
		free((void *)at[i].value);
	free(at);
	free(ns);
	for (k = n->children; k != NULL; k = k->next)
		events(c, k);
	c14n_end(c);
}

/* xmlC14NExecute visibility: the document element's subtree only. */
static int
in_root(void *arg, xmlNodePtr node, xmlNodePtr parent)
{
	xmlNode	*root = arg, *n;

	n = (node != NULL && node->type != XML_NAMESPACE_DECL) ? node : parent;
	for (; n != NULL; n = n->parent)
		if (n == root)
			return 1;
	return 0;
}

/* Compare ours with libxml2's for one document under one setting. 1 same. */
static int
same(xmlDocPtr doc, int comments, const char *list, const char *what)
{
	xmlNode			*root = xmlDocGetRootElement(doc);
	xmlOutputBufferPtr	 ob;
	struct c14n		*c;
	struct out		 o = { NULL, 0, 0 };
	xmlChar			*pfx[8] = { NULL }, *copy = NULL, *tok, *save;
	size_t			 n = 0, want;
	int			 ok;

	if (list != NULL) {
		copy = xmlStrdup((const xmlChar *)list);
		for (tok = (xmlChar *)strtok_r((char *)copy, " ", (char **)&save); tok != NULL && n < 7;
		    tok = (xmlChar *)strtok_r(NULL, " ", (char **)&save))
			pfx[n++] = tok;
	}
	ob = xmlAllocOutputBuffer(NULL);
	assert_non_null(ob);
	assert_true(xmlC14NExecute(doc, in_root, root, XML_C14N_EXCLUSIVE_1_0,
	    list != NULL ? pfx : NULL, comments, ob) >= 0);
	c = c14n_new(comments, list, sink, &o);
	events(c, root);
	c14n_flush(c);
	c14n_free(c);
	want = xmlBufUse(ob->buffer);
	ok = o.sz == want && memcmp(o.buf, xmlBufContent(ob->buffer), want) == 0;
	if (!ok) {
		size_t	 i;

		for (i = 0; i < o.sz && i < want && o.buf[i] == xmlBufContent(ob->buffer)[i]; i++)
			;
		fprintf(stderr, "c14n differs (%s, comments %d, list \"%s\") at byte %zu:\n"
		    "  libxml2: %.120s\n  ours:    %.120s\n", what, comments, list ? list : "",
		    i, xmlBufContent(ob->buffer) + (i > 40 ? i - 40 : 0),
		    o.buf != NULL ? (char *)o.buf + (i > 40 ? i - 40 : 0) : "");
	}
	xmlOutputBufferClose(ob);
	xmlFree(copy);
	free(o.buf);
	return ok;
}

/* Every setting for one document. */
static int
check_doc(const char *buf, size_t len, const char *what)
{
	static const char *const lists[] = { NULL, "#default", "ds xsi", "#default md saml xs" };
	xmlDocPtr	 doc;
	size_t		 i;
	int		 ok = 1;

	doc = xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL || doc->intSubset != NULL) {
		xmlFreeDoc(doc);
		return -1;	/* not a case: not well-formed, or has a DTD */
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		ok &= same(doc, 0, lists[i], what);
		ok &= same(doc, 1, lists[i], what);
	}
	xmlFreeDoc(doc);
	return ok;
}

static void
test_edge_cases(void **state)
{
	static const char *const docs[] = {
		"<a/>",
		"<a xmlns=\"urn:x\"><b xmlns=\"\"><c xmlns=\"urn:y\"/></b></a>",
		"<p:a xmlns:p=\"urn:p\" xmlns=\"urn:d\"><b><p:c/></b><e xmlns=\"\"/></p:a>",
		"<a xmlns:x=\"urn:x\" xmlns:y=\"urn:y\" x:k=\"1\" b=\"2\" y:a=\"3\" a=\"4\"><x:q/></a>",
		"<a xmlns:x=\"urn:x\"><b xmlns:x=\"urn:z\" x:a=\"1\"><x:c/></b><x:d/></a>",
		"<a t=\"&#9;tab&#10;nl&#13;cr &amp; &lt; &gt; &quot; '\">x &amp; &lt; &gt; &#13; \" '</a>",
		"<a>pre<![CDATA[<&>]]>post<!-- c1 --><?pi data?><?empty?></a>",
		"<a xml:lang=\"en\" xml:space=\"preserve\"><b xml:lang=\"de\">t</b></a>",
		"<a xmlns=\"urn:d\" xmlns:u=\"urn:u\"><b xmlns=\"urn:d\"><c xmlns=\"\" u:x=\"1\"/></b></a>",
		"<md:E xmlns:md=\"urn:md\" xmlns:ds=\"urn:ds\" xmlns:xsi=\"urn:xsi\" xmlns:xs=\"urn:xs\">"
		    "<md:V xsi:type=\"xs:string\">v</md:V><ds:S/></md:E>",
		"<a xmlns:ds=\"urn:ds\"><b xmlns:ds=\"urn:ds\"><ds:c/></b><ds:d/></a>",
		"<a>\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 unicode</a>",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_int_equal(check_doc(docs[i], strlen(docs[i]), docs[i]), 1);
}

/* Every file of dir (skip bytes removed from the front); count of documents checked. */
static size_t
check_dir(const char *dir, size_t skip)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[4096];
	unsigned char	*buf;
	size_t		 len, n = 0;
	int		 r;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strstr(de->d_name, ".md") != NULL || strstr(de->d_name, ".pem") != NULL ||
		    strstr(de->d_name, ".crt") != NULL)
			continue;
		if (tu_sh("test -f '%s'", path) != 0)
			continue;
		buf = tu_read(path, &len);
		if (len > skip) {
			r = check_doc((const char *)buf + skip, len - skip, path);
			if (r != -1) {
				assert_int_equal(r, 1);
				n++;
			}
		}
		free(buf);
	}
	closedir(d);
	return n;
}

static void
test_fuzz_seeds(void **state)
{
	char	*dir = tu_src("fuzz/corpus/saml");

	(void)state;
	assert_true(check_dir(dir, 1) > 20);
	free(dir);
}

static void
test_real_corpus(void **state)
{
	char	 dir[4096];

	(void)state;
	if (tu_corpus() == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/real/saml", tu_corpus());
	if (check_dir(dir, 0) == 0)
		skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_fuzz_seeds),
		cmocka_unit_test(test_real_corpus),
	};

	xmlInitParser();
	log_silence_xml();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
