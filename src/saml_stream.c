/*
 * The streaming SAML verifier: one libxml2 SAX2 push parse that digests the
 * exclusive C14N of the document element (minus the root ds:Signature: the
 * enveloped-signature transform) while it reads, and builds a tree only of
 * what the checks and the extraction read: the root start tag, nested
 * EntitiesDescriptor start tags, the root ds:Signature and md:Extensions,
 * and one EntityDescriptor at a time (extracted by saml.c's walk, then
 * freed).  libxml2's own SAX2 tree builders are called for those parts
 * only, so the small tree has the real namespace context.
 *
 * It is a fast path for documents of the common shape.  Anything it does
 * not handle exactly (an embedded signature, another transform list, a
 * parse or limit problem, a verification failure...) makes it give up
 * (SAML_STREAM_FALLBACK), and the tree verifier decides and explains.  So
 * it never accepts what the tree verifier rejects, and what it accepts
 * yields the same entities (the same extraction code on the same subtrees).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "extern.h"

#define NS_MD		"urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define NS_EXC		"http://www.w3.org/2001/10/xml-exc-c14n#"
#define NS_XML		"http://www.w3.org/XML/1998/namespace"
#define ALG_ENVELOPED	NS_DS "enveloped-signature"

#define STREAM_CHUNK		(64 * 1024)	/* bytes given to the parser at once */
#define MAX_STREAM_PENDING	(1024 * 1024)	/* root text before the signature */

/* SAML_ENGINE_* used for SAML_ENGINE_AUTO (saml_set_default_engine). */
static int	default_engine = SAML_ENGINE_AUTO;

/* Scope of one open EntitiesDescriptor (by depth). */
struct group {
	time_t			 vu;		/* earliest enclosing validUntil */
	const struct verdict	*forced;	/* drops everything below, or NULL */
	struct verdict		 fv;		/* storage for forced */
};

struct saml_stream {
	xmlParserCtxtPtr	 ctxt;
	const struct anchor_set	*as;
	const struct saml_opts	*opts;
	time_t			 now;
	struct entity_set	 set;		/* extracted, committed at the end */
	struct saml_walk	 w;
	int			 fallback;	/* gave up: the tree verifier decides */
	char			 why[256];
	size_t			 total;		/* bytes pushed */
	int			 doctype, limit;
	size_t			 depth;		/* open elements (1 = the root) */
	size_t			 skip;		/* depth of a subtree left out of the tree, or 0 */
	size_t			 fulldepth;	/* depth of the whole subtree being built, or 0 */
	xmlNode			*full;
	xmlNode			*root, *rootsig;
	int			 root_entity;	/* the root is an EntityDescriptor */
	int			 elem_child;	/* the root has had an element child */
	int			 in_sig;	/* inside the root signature */
	int			 root_done;	/* the root element ended */
	time_t			 root_vu;
	struct group		 grp[MAX_XML_DEPTH + 2];
	struct c14n		*c14n;		/* from the end of the root signature */
	EVP_MD_CTX		*md;
	unsigned char		 digest[EVP_MAX_MD_SIZE];
	unsigned		 digestsz;
	char			*pending;	/* root text before the signature */
	size_t			 pendingsz;
	xmlHashTablePtr		 ids;		/* ID and xml:id values -> count */
	char			*rootid;
	size_t			 textrun;	/* bytes of the current text (or CDATA) node */
	int			 textkind;	/* 1 text, 2 CDATA, 0 none */
};

static void
give_up(struct saml_stream *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stop the parse: the tree verifier will decide (why kept for debugging). */
static void
give_up(struct saml_stream *st, const char *fmt, ...)
{
	va_list	 ap;

	if (st->fallback)
		return;
	st->fallback = 1;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
	if (st->ctxt != NULL)
		xmlStopParser(st->ctxt);
}

/* Our state from the parser context. */
static struct saml_stream *
state(void *ctx)
{
	return ((xmlParserCtxtPtr)ctx)->_private;
}

/* 1 when (uri, local) names {ns}name. */
static int
is(const xmlChar *uri, const xmlChar *local, const char *ns, const char *name)
{
	return uri != NULL && strcmp((const char *)uri, ns) == 0 &&
	    strcmp((const char *)local, name) == 0;
}

/* The digest sink of the canonicaliser. */
static void
digest_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct saml_stream	*st = arg;

	if (EVP_DigestUpdate(st->md, buf, len) != 1)
		fatalx("EVP_DigestUpdate");
}

/*
 * An attribute value as SAX2 reports it without entity substitution: every
 * '&' of the value arrives as "&#38;" (libxml2 keeps it for the tree
 * builder); everything else is already resolved and normalised.  Returns
 * the real value (*tofree set when it had to be copied) and its length.
 */
static const char *
attr_value(const xmlChar *v, const xmlChar *end, char **tofree, size_t *len)
{
	size_t	 n = (size_t)(end - v), i, o = 0;
	char	*d;

	*tofree = NULL;
	if (memchr(v, '&', n) == NULL) {
		*len = n;
		return (const char *)v;
	}
	d = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (v[i] == '&' && n - i >= 5 && memcmp(v + i, "&#38;", 5) == 0) {
			d[o++] = '&';
			i += 4;
		} else
			d[o++] = (char)v[i];
	}
	d[o] = '\0';
	*tofree = d;
	*len = o;
	return d;
}

/* Record one ID / xml:id value; every value must be kept to find duplicates. */
static void
id_seen(struct saml_stream *st, const char *val, int xmlid)
{
	uintptr_t	 n;

	/* libxml2 registers and checks xml:id itself: leave odd ones to the tree */
	if (xmlid && xmlValidateNCName((const xmlChar *)val, 0) != 0) {
		give_up(st, "xml:id value is not an NCName");
		return;
	}
	n = (uintptr_t)xmlHashLookup(st->ids, (const xmlChar *)val);
	if (n > 0 && xmlid) {
		give_up(st, "duplicate xml:id value");
		return;
	}
	if (xmlHashUpdateEntry(st->ids, (const xmlChar *)val, (void *)(n + 1), NULL) != 0)
		fatalx("xmlHashUpdateEntry");
}

/* Text-node size limit (MAX_XML_TEXT), counted as the tree would merge nodes. */
static void
text_run(struct saml_stream *st, int kind, size_t len)
{
	if (st->textkind != kind) {
		st->textkind = kind;
		st->textrun = 0;
	}
	st->textrun += len;
	if (st->textrun > MAX_XML_TEXT)
		give_up(st, "a text node exceeds %d bytes", MAX_XML_TEXT);
}

/* Attribute text of a simple tree attribute, or NULL. */
static const char *
tree_attr_text(const xmlAttr *a)
{
	if (a->children == NULL)
		return "";
	if (a->children->type != XML_TEXT_NODE || a->children->next != NULL)
		return NULL;
	return (const char *)a->children->content;
}

/*
 * The root signature is complete: set up the digest of the Reference
 * (exactly enveloped-signature + exclusive C14N, URI "" or "#id"), then
 * canonicalise the root start tag and the text before the signature.
 */
static void
sig_done(struct saml_stream *st)
{
	xmlNode		*si, *ref = NULL, *trs = NULL, *t1, *t2, *in, *c;
	const EVP_MD	*md;
	xmlChar		*uri = NULL, *alg1 = NULL, *alg2 = NULL, *list = NULL;
	struct c14n_ns	*ns = NULL;
	struct c14n_attr *at = NULL;
	size_t		 nsn = 0, an = 0;
	xmlNs		*d;
	xmlAttr		*a;
	int		 comments;

	si = saml_first_elem(st->rootsig);
	for (c = si != NULL ? saml_first_elem(si) : NULL; c != NULL; c = c->next)
		if (saml_is(c, NS_DS, "Reference")) {
			if (ref != NULL) {
				give_up(st, "several References");
				return;
			}
			ref = c;
		}
	for (c = ref != NULL ? saml_first_elem(ref) : NULL; c != NULL; c = c->next)
		if (saml_is(c, NS_DS, "Transforms"))
			trs = c;
	t1 = trs != NULL ? saml_first_elem(trs) : NULL;
	for (t2 = t1 != NULL ? t1->next : NULL; t2 != NULL && t2->type != XML_ELEMENT_NODE;
	    t2 = t2->next)
		;
	for (c = t2 != NULL ? t2->next : NULL; c != NULL && c->type != XML_ELEMENT_NODE; c = c->next)
		;
	if (!saml_is(t1, NS_DS, "Transform") || !saml_is(t2, NS_DS, "Transform") || c != NULL) {
		give_up(st, "Reference transforms are not enveloped-signature + exclusive C14N");
		return;
	}
	uri = xmlGetNoNsProp(ref, (const xmlChar *)"URI");
	alg1 = xmlGetNoNsProp(t1, (const xmlChar *)"Algorithm");
	alg2 = xmlGetNoNsProp(t2, (const xmlChar *)"Algorithm");
	in = saml_first_elem(t2);
	if (uri == NULL || (uri[0] != '\0' && uri[0] != '#') ||
	    strchr((const char *)uri, '(') != NULL || alg1 == NULL || alg2 == NULL ||
	    strcmp((const char *)alg1, ALG_ENVELOPED) != 0 || saml_first_elem(t1) != NULL ||
	    (strcmp((const char *)alg2, NS_EXC) != 0 &&
	    strcmp((const char *)alg2, NS_EXC "WithComments") != 0)) {
		give_up(st, "Reference URI or transforms not handled by the stream path");
		goto out;
	}
	if (in != NULL && (!saml_is(in, NS_EXC, "InclusiveNamespaces") ||
	    (list = xmlGetNoNsProp(in, (const xmlChar *)"PrefixList")) == NULL ||
	    strpbrk((const char *)list, "\t\r\n") != NULL)) {
		give_up(st, "unexpected InclusiveNamespaces");
		goto out;
	}
	for (c = in != NULL ? in->next : NULL; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			give_up(st, "unexpected transform child");
			goto out;
		}
	if ((md = saml_sig_digest_md(st->rootsig, st->as->algs_extra)) == NULL) {
		give_up(st, "digest method not handled");
		goto out;
	}
	if ((st->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(st->md, md, NULL) != 1)
		fatalx("EVP_DigestInit_ex");
	/* a same-document reference never includes comments (XMLDSig 4.3.3.3) */
	comments = 0;
	st->c14n = c14n_new(comments, (const char *)list, digest_sink, st);

	for (d = st->root->nsDef; d != NULL; d = d->next)
		nsn++;
	for (a = st->root->properties; a != NULL; a = a->next)
		an++;
	ns = xcalloc(nsn + 1, sizeof(*ns));
	at = xcalloc(an + 1, sizeof(*at));
	nsn = an = 0;
	for (d = st->root->nsDef; d != NULL; d = d->next) {
		ns[nsn].prefix = (const char *)d->prefix;
		ns[nsn++].uri = d->href != NULL ? (const char *)d->href : "";
	}
	for (a = st->root->properties; a != NULL; a = a->next) {
		if ((at[an].value = tree_attr_text(a)) == NULL) {
			give_up(st, "root attribute with entity references");
			goto out;
		}
		at[an].valuesz = strlen(at[an].value);
		at[an].local = (const char *)a->name;
		at[an].prefix = a->ns != NULL ? (const char *)a->ns->prefix : NULL;
		at[an++].uri = a->ns != NULL ? (const char *)a->ns->href : NULL;
	}
	c14n_start(st->c14n, st->root->ns != NULL ? (const char *)st->root->ns->prefix : NULL,
	    (const char *)st->root->name, ns, nsn, at, an);
	c14n_text(st->c14n, st->pending != NULL ? st->pending : "", st->pendingsz);
	free(st->pending);
	st->pending = NULL;
	st->pendingsz = 0;
 out:
	free(ns);
	free(at);
	xmlFree(uri);
	xmlFree(alg1);
	xmlFree(alg2);
	xmlFree(list);
}

/* Where a new element at st->depth goes: 1 built, 0 left out (skip set). */
static int
place(struct saml_stream *st, const xmlChar *local, const xmlChar *uri, int *full, int *group)
{
	size_t	 d = st->depth;

	*full = *group = 0;
	if (st->skip != 0)
		return 0;
	if (st->full != NULL)
		return 1;
	if (d == 1) {
		if (is(uri, local, NS_MD, "EntityDescriptor")) {
			st->root_entity = 1;
			*full = 1;
		} else if (is(uri, local, NS_MD, "EntitiesDescriptor"))
			*group = 1;
		else
			give_up(st, "document element is not md:EntitiesDescriptor/EntityDescriptor");
		return 1;
	}
	/* a child of the root or of a nested group */
	if (is(uri, local, NS_MD, "EntityDescriptor")) {
		*full = 1;
		return 1;
	}
	if (is(uri, local, NS_MD, "EntitiesDescriptor")) {
		*group = 1;
		return 1;
	}
	if (d == 2 && (is(uri, local, NS_DS, "Signature") || is(uri, local, NS_MD, "Extensions"))) {
		*full = 1;
		return 1;
	}
	st->skip = d;
	return 0;
}

/* SAX2 element start: IDs, signature placement, digest, and the small tree. */
static void
on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
    int nb_ns, const xmlChar **nsv, int nb_attr, int nb_def, const xmlChar **attrs)
{
	struct saml_stream	*st = state(ctx);
	xmlParserCtxtPtr	 ctxt = ctx;
	struct c14n_ns		 nsbuf[16], *ns = nsbuf;
	struct c14n_attr	 atbuf[16], *at = atbuf;
	char			*freebuf[16], **tofree = freebuf;
	int			 i, build, full, group;

	if (st->fallback)
		return;
	st->textkind = 0;
	if (st->depth + 1 > MAX_XML_DEPTH) {
		st->limit = 1;
		give_up(st, "element nesting deeper than %d", MAX_XML_DEPTH);
		return;
	}
	st->depth++;
	if (nb_def != 0) {
		give_up(st, "defaulted attributes");
		return;
	}
	/* R3: the only signature the stream path handles is the root's, first child */
	if (is(uri, local, NS_DS, "Signature")) {
		if (st->depth != 2 || st->rootsig != NULL || st->elem_child) {
			give_up(st, "a ds:Signature other than the root signature");
			return;
		}
	} else if (st->depth == 2 && st->rootsig == NULL) {
		give_up(st, "the first element child of the root is not ds:Signature");
		return;
	}
	if (st->depth == 2)
		st->elem_child = 1;

	/* the usual element fits the stack buffers */
	if (nb_attr > 16) {
		at = xcalloc((size_t)nb_attr, sizeof(*at));
		tofree = xcalloc((size_t)nb_attr, sizeof(*tofree));
	}
	for (i = 0; i < nb_attr; i++) {
		const xmlChar	**a = &attrs[i * 5];

		at[i].local = (const char *)a[0];
		at[i].prefix = (const char *)a[1];
		at[i].uri = (const char *)a[2];
		at[i].value = attr_value(a[3], a[4], &tofree[i], &at[i].valuesz);
		if ((a[2] == NULL && strcmp((const char *)a[0], "ID") == 0) ||
		    (a[2] != NULL && strcmp((const char *)a[2], NS_XML) == 0 &&
		    strcmp((const char *)a[0], "id") == 0)) {
			char	*val = xstrndup(at[i].value, at[i].valuesz);

			if (strlen(val) == at[i].valuesz)
				id_seen(st, val, a[2] != NULL);
			else
				give_up(st, "NUL in an ID");
			if (st->depth == 1 && a[2] == NULL && val[0] != '\0' && st->rootid == NULL)
				st->rootid = xstrdup(val);
			free(val);
		}
	}
	if (st->fallback)
		goto out;

	if (!st->in_sig && st->c14n != NULL) {
		if (nb_ns > 16)
			ns = xcalloc((size_t)nb_ns, sizeof(*ns));
		for (i = 0; i < nb_ns; i++) {
			ns[i].prefix = (const char *)nsv[2 * i];
			ns[i].uri = nsv[2 * i + 1] != NULL ? (const char *)nsv[2 * i + 1] : "";
		}
		c14n_start(st->c14n, (const char *)prefix, (const char *)local, ns, (size_t)nb_ns,
		    at, (size_t)nb_attr);
	} else if (st->depth > 2 && !st->in_sig) {
		give_up(st, "content before the root signature");
		goto out;
	}

	build = place(st, local, uri, &full, &group);
	if (st->fallback || !build)
		goto out;
	xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, nsv, nb_attr, nb_def, attrs);
	if (ctxt->node == NULL || ctxt->node->type != XML_ELEMENT_NODE) {
		give_up(st, "tree builder failed");
		goto out;
	}
	if (st->depth == 1) {
		st->root = ctxt->node;
		st->w.doc = ctxt->myDoc;
	}
	if (full) {
		st->full = ctxt->node;
		st->fulldepth = st->depth;
	}
	if (is(uri, local, NS_DS, "Signature")) {
		st->rootsig = ctxt->node;
		st->in_sig = 1;
	}
	if (group) {
		struct group	*g = &st->grp[st->depth];

		if (st->depth == 1) {
			xmlAttr		*va = xmlHasNsProp(st->root, (const xmlChar *)"validUntil", NULL);
			const char	*vs = va != NULL ? tree_attr_text(va) : NULL;

			/* R11 decides at the end; here only the inherited bound is needed */
			if (vs == NULL || parse_xsd_datetime(vs, &st->root_vu) == -1) {
				give_up(st, "root validUntil missing or malformed");
				goto out;
			}
			g->vu = st->root_vu;
			g->forced = NULL;
		} else {
			g->vu = st->grp[st->depth - 1].vu;
			g->forced = st->grp[st->depth - 1].forced;
		}
		g->forced = saml_walk_group_scope(&st->w, ctxt->node, &g->vu, g->forced, &g->fv);
	}
 out:
	for (i = 0; i < nb_attr; i++)
		free(tofree[i]);
	if (tofree != freebuf)
		free(tofree);
	if (at != atbuf)
		free(at);
	if (ns != nsbuf)
		free(ns);
}

/* SAX2 element end: digest, tree; an EntityDescriptor is extracted and freed. */
static void
on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct saml_stream	*st = state(ctx);
	xmlNode			*n;
	struct group		*g;

	if (st->fallback)
		return;
	st->textkind = 0;
	if (!st->in_sig && st->c14n != NULL)
		c14n_end(st->c14n);
	if (st->skip == 0)
		xmlSAX2EndElementNs(ctx, local, prefix, uri);
	if (st->skip == st->depth)
		st->skip = 0;
	if (st->full != NULL && st->fulldepth == st->depth) {
		n = st->full;
		st->full = NULL;
		st->fulldepth = 0;
		if (st->depth > 1 && saml_is(n, NS_MD, "EntityDescriptor")) {
			g = &st->grp[st->depth - 1];
			if (++st->w.count > st->w.max) {
				give_up(st, "more than %zu entities", st->w.max);
				return;
			}
			saml_walk_entity(&st->w, n, g->vu, g->forced);
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	if (st->in_sig && st->depth == 2) {
		st->in_sig = 0;
		sig_done(st);
	}
	if (st->depth == 1 && !st->fallback) {
		st->root_done = 1;
		if (st->c14n == NULL) {
			give_up(st, "no root signature");
			return;
		}
		c14n_flush(st->c14n);
		if (EVP_DigestFinal_ex(st->md, st->digest, &st->digestsz) != 1)
			fatalx("EVP_DigestFinal_ex");
	}
	st->depth--;
}

/* Text or CDATA (kind 1 / 2) of the document. */
static void
on_chars(struct saml_stream *st, const xmlChar *ch, int len, int kind)
{
	xmlParserCtxtPtr	 ctxt = st->ctxt;

	if (st->fallback || st->depth == 0)
		return;
	text_run(st, kind, (size_t)len);
	if (st->in_sig)
		;
	else if (st->c14n != NULL)
		c14n_text(st->c14n, (const char *)ch, (size_t)len);
	else if (st->depth == 1) {
		if (st->pendingsz + (size_t)len > MAX_STREAM_PENDING) {
			give_up(st, "too much text before the root signature");
			return;
		}
		st->pending = xreallocarray(st->pending, st->pendingsz + (size_t)len + 1, 1);
		memcpy(st->pending + st->pendingsz, ch, (size_t)len);
		st->pendingsz += (size_t)len;
	}
	/* text directly inside group start tags is never read: keep it out of the tree */
	if (st->full != NULL && st->skip == 0) {
		if (kind == 1)
			xmlSAX2Characters(ctxt, ch, len);
		else
			xmlSAX2CDataBlock(ctxt, ch, len);
	}
}

/* SAX2 character data. */
static void
on_text(void *ctx, const xmlChar *ch, int len)
{
	on_chars(state(ctx), ch, len, 1);
}

/* SAX2 CDATA section (canonical form: escaped text). */
static void
on_cdata(void *ctx, const xmlChar *ch, int len)
{
	on_chars(state(ctx), ch, len, 2);
}

/* SAX2 comment: only kept in built subtrees. */
static void
on_comment(void *ctx, const xmlChar *value)
{
	struct saml_stream	*st = state(ctx);

	if (st->fallback)
		return;
	st->textkind = 0;
	/* comments are never part of a same-document reference's digest */
	if (st->full != NULL && st->skip == 0)
		xmlSAX2Comment(ctx, value);
}

/* SAX2 processing instruction: in the digest inside the root only. */
static void
on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	struct saml_stream	*st = state(ctx);

	if (st->fallback)
		return;
	st->textkind = 0;
	if (st->depth == 0 || (st->c14n == NULL && !st->in_sig)) {
		/* outside the root a PI is in the digest of URI="": leave it to the tree */
		give_up(st, "processing instruction outside the signed content");
		return;
	}
	if (!st->in_sig)
		c14n_pi(st->c14n, (const char *)target, (const char *)data);
	if (st->full != NULL && st->skip == 0)
		xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* An entity reference node: never expected without a DTD. */
static void
on_reference(void *ctx, const xmlChar *name)
{
	(void)name;
	give_up(state(ctx), "entity reference");
}

/* Any DOCTYPE: stop at once (the tree verifier gives xml-doctype-forbidden). */
static void
on_subset(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	struct saml_stream	*st = state(ctx);

	(void)name;
	(void)eid;
	(void)sid;
	st->doctype = 1;
	give_up(st, "DOCTYPE");
}

/* An entity declaration: stop at once. */
static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
    const xmlChar *sid, xmlChar *content)
{
	struct saml_stream	*st = state(ctx);

	(void)name;
	(void)type;
	(void)pid;
	(void)sid;
	(void)content;
	st->doctype = 1;
	give_up(st, "entity declaration");
}

/*
 * A streaming verification of one document against as at now (opts and
 * as are borrowed and must outlive it).  Free with saml_stream_free.
 */
struct saml_stream *
saml_stream_new(const struct anchor_set *as, const struct saml_opts *opts, time_t now)
{
	struct saml_stream	*st = xcalloc(1, sizeof(*st));
	xmlSAXHandler		 sax;

	st->as = as;
	st->opts = opts;
	st->now = now;
	st->set.cache_duration = -1;
	st->w.opts = opts;
	st->w.now = now;
	st->w.max = opts->max_entities ? opts->max_entities : MAX_ENTITIES;
	st->w.out = &st->set;
	if ((st->ids = xmlHashCreate(64)) == NULL)
		fatalx("xmlHashCreate");

	memset(&sax, 0, sizeof(sax));
	xmlSAXVersion(&sax, 2);
	sax.internalSubset = on_subset;
	sax.externalSubset = on_subset;
	sax.entityDecl = on_entity_decl;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.ignorableWhitespace = on_text;
	sax.cdataBlock = on_cdata;
	sax.comment = on_comment;
	sax.processingInstruction = on_pi;
	sax.reference = on_reference;
	sax.resolveEntity = NULL;
	sax.warning = NULL;
	sax.error = NULL;
	sax.fatalError = NULL;
	sax.serror = NULL;
	if ((st->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL)) == NULL)
		fatalx("xmlCreatePushParserCtxt");
	xmlCtxtUseOptions(st->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_COMPACT);
	st->ctxt->_private = st;
	st->ctxt->replaceEntities = 0;
	st->ctxt->loadsubset = 0;
	st->ctxt->validate = 0;
	return st;
}

/* Free a streaming verification (NULL-safe); entities not taken are freed. */
void
saml_stream_free(struct saml_stream *st)
{
	if (st == NULL)
		return;
	if (st->ctxt != NULL) {
		xmlFreeDoc(st->ctxt->myDoc);
		st->ctxt->myDoc = NULL;
		xmlFreeParserCtxt(st->ctxt);
	}
	entity_set_free(&st->set);
	c14n_free(st->c14n);
	EVP_MD_CTX_free(st->md);
	xmlHashFree(st->ids, NULL);
	free(st->pending);
	free(st->rootid);
	free(st);
}

/* Feed len more bytes. 0, or SAML_STREAM_FALLBACK once given up. */
int
saml_stream_push(struct saml_stream *st, const unsigned char *buf, size_t len)
{
	if (st->fallback)
		return SAML_STREAM_FALLBACK;
	if (len == 0)
		return 0;
	/* UTF-16/32 (BOM or NUL bytes at the start): the tree verifier refuses it */
	if (st->total == 0 && (buf[0] == 0 || (len >= 2 && (buf[1] == 0 ||
	    (buf[0] == 0xfe && buf[1] == 0xff) || (buf[0] == 0xff && buf[1] == 0xfe))))) {
		give_up(st, "not UTF-8");
		return SAML_STREAM_FALLBACK;
	}
	if (st->total == 0 && len < 2) {
		give_up(st, "first chunk too short");
		return SAML_STREAM_FALLBACK;
	}
	if (len > INT_MAX || st->total + len > INT_MAX) {
		give_up(st, "document too large");
		return SAML_STREAM_FALLBACK;
	}
	st->total += len;
	xmlParseChunk(st->ctxt, (const char *)buf, (int)len, 0);
	return st->fallback ? SAML_STREAM_FALLBACK : 0;
}

/* The R10 checks saml_parse makes after its parse, as "give up" decisions. */
static int
parse_ok(struct saml_stream *st)
{
	xmlParserCtxtPtr	 ctxt = st->ctxt;
	xmlDocPtr		 doc = ctxt->myDoc;

	if (st->doctype || st->limit || ctxt->errNo != 0 || !ctxt->wellFormed || doc == NULL)
		return 0;
	if (doc->version == NULL || strcmp((const char *)doc->version, "1.0") != 0)
		return 0;
	if (doc->encoding != NULL && strcasecmp((const char *)doc->encoding, "UTF-8") != 0)
		return 0;
	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return 0;
	return 1;
}

/*
 * End of input: the checks after the parse (R10, R3-R9 from the streamed
 * digest, R11, duplicates).  0 and out (caller frees), or SAML_STREAM_FALLBACK.
 */
int
saml_stream_finish(struct saml_stream *st, struct entity_set *out, struct verdict *v)
{
	xmlNode		*root = st->root;
	xmlAttr		*na;
	const char	*name;

	memset(out, 0, sizeof(*out));
	out->cache_duration = -1;
	if (!st->fallback)
		xmlParseChunk(st->ctxt, NULL, 0, 1);
	if (!st->fallback && !parse_ok(st))
		give_up(st, "parse error or R10 limit");
	if (!st->fallback && (root == NULL || !st->root_done || st->rootsig == NULL ||
	    st->c14n == NULL))
		give_up(st, "no complete root element with a signature");
	if (!st->fallback && st->rootid != NULL &&
	    (uintptr_t)xmlHashLookup(st->ids, (const xmlChar *)st->rootid) != 1)
		give_up(st, "root ID is not unique");
	if (!st->fallback && saml_sig_verify_digest(st->rootsig, root, st->rootid, st->digest,
	    st->digestsz, st->as, st->now, &st->set.signer, v) == -1)
		give_up(st, "root signature: %s: %s", reason_code(v->reason), v->detail);
	if (!st->fallback && saml_check_validity(root, st->opts, st->now, &st->set, v) == -1)
		give_up(st, "validity: %s", reason_code(v->reason));
	if (!st->fallback && st->set.valid_until != st->root_vu && !st->root_entity)
		give_up(st, "root validUntil changed");
	if (!st->fallback && (na = xmlHasNsProp(root, (const xmlChar *)"Name", NULL)) != NULL) {
		if ((name = tree_attr_text(na)) == NULL)
			give_up(st, "root Name with entity references");
		else
			st->set.name = xstrdup(name);
	}
	if (!st->fallback && st->root_entity) {
		st->w.count = 1;
		saml_walk_entity(&st->w, root, st->set.valid_until, NULL);
	}
	if (!st->fallback && saml_walk_finish(&st->w, v) == -1)
		give_up(st, "%s", reason_code(v->reason));
	if (st->fallback) {
		verdict_set(v, R_INTERNAL, "stream engine: %s", st->why);
		return SAML_STREAM_FALLBACK;
	}
	*out = st->set;
	memset(&st->set, 0, sizeof(st->set));
	return 0;
}

/* Why the last saml_stream run gave up (for the SAML_ENGINE_STREAM verdict). */
static int
stream_result(struct saml_stream *st, int r, const struct saml_opts *opts,
    struct entity_set *out, struct verdict *v)
{
	if (r == 0)
		r = saml_stream_finish(st, out, v);
	else
		memset(out, 0, sizeof(*out));
	if (r == SAML_STREAM_FALLBACK && opts->engine == SAML_ENGINE_STREAM)
		verdict_set(v, R_INTERNAL, "stream engine: %s", st->why);
	return r;
}

/*
 * Finish and free st: 0 accepted (out filled), -1 with v when the stream
 * engine alone was asked for and gave up, SAML_STREAM_FALLBACK when the tree
 * verifier has to decide.
 */
static int
stream_done(struct saml_stream *st, int r, const struct saml_opts *opts,
    struct entity_set *out, struct verdict *v)
{
	r = stream_result(st, r, opts, out, v);
	saml_stream_free(st);
	if (r == 0)
		return 0;
	return opts->engine == SAML_ENGINE_STREAM ? -1 : SAML_STREAM_FALLBACK;
}

/* The engine used for SAML_ENGINE_AUTO in this process, by name (set once by main). */
void
saml_set_default_engine(const char *name)
{
	if (name != NULL && strcmp(name, "dom") == 0)
		default_engine = SAML_ENGINE_DOM;
	else if (name != NULL && strcmp(name, "stream") == 0)
		default_engine = SAML_ENGINE_STREAM;
	else
		default_engine = SAML_ENGINE_AUTO;
}

/* The options with the process default engine filled in (into *tmp). */
static const struct saml_opts *
engine_opts(const struct saml_opts *opts, struct saml_opts *tmp)
{
	if (opts->engine != SAML_ENGINE_AUTO || default_engine == SAML_ENGINE_AUTO)
		return opts;
	*tmp = *opts;
	tmp->engine = default_engine;
	return tmp;
}

/*
 * Verify buf: the stream path first, the tree verifier when it gives up
 * (or only one of them, per opts->engine).  0 with out, -1 with v.
 */
int
saml_verify(const unsigned char *buf, size_t len, const struct anchor_set *as,
    const struct saml_opts *opts, time_t now, struct entity_set *out, struct verdict *v)
{
	struct saml_stream	*st;
	struct saml_opts	 tmp;
	size_t			 off, n;
	int			 r = 0;

	opts = engine_opts(opts, &tmp);
	if (opts->engine == SAML_ENGINE_DOM)
		return saml_verify_dom(buf, len, as, opts, now, out, v);
	st = saml_stream_new(as, opts, now);
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < STREAM_CHUNK ? len - off : STREAM_CHUNK;
		r = saml_stream_push(st, buf + off, n);
	}
	if ((r = stream_done(st, r, opts, out, v)) != SAML_STREAM_FALLBACK)
		return r;
	return saml_verify_dom(buf, len, as, opts, now, out, v);
}

/* Read the rest of fd into memory (at most about max bytes). 0 / -1 with v. */
static int
read_all(int fd, size_t max, unsigned char **buf, size_t *len, struct verdict *v)
{
	unsigned char	*b = NULL;
	size_t		 n = 0, cap = 0;
	ssize_t		 r;

	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(b);
				return verdict_set(v, R_FETCH_TOO_LARGE,
				    "document larger than %zu bytes", max);
			}
			cap = cap ? cap * 2 : STREAM_CHUNK;
			b = xreallocarray(b, cap, 1);
		}
		if ((r = read(fd, b + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			free(b);
			return verdict_set(v, R_FETCH_FAILED, "read: %s", strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * Verify the document read from fd: streamed when fd is a regular file at
 * offset 0 (re-read whole only when the tree verifier has to decide), else
 * read whole first.  0 with out, -1 with v.
 */
int
saml_verify_fd(int fd, const struct anchor_set *as, const struct saml_opts *opts, time_t now,
    struct entity_set *out, struct verdict *v)
{
	struct saml_stream	*st;
	struct saml_opts	 tmp;
	struct stat		 sb;
	unsigned char		*buf = NULL, *chunk;
	size_t			 len = 0;
	ssize_t			 n;
	int			 r = 0, rc;

	memset(out, 0, sizeof(*out));
	opts = engine_opts(opts, &tmp);
	/* the tree verifier may have to re-read: only a regular file is streamed */
	if (opts->engine == SAML_ENGINE_DOM || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    lseek(fd, 0, SEEK_CUR) != 0)
		goto whole;
	st = saml_stream_new(as, opts, now);
	chunk = xmalloc(STREAM_CHUNK);
	while (r == 0) {
		if ((n = read(fd, chunk, STREAM_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			verdict_set(v, R_FETCH_FAILED, "read: %s", strerror(errno));
			free(chunk);
			saml_stream_free(st);
			return -1;
		}
		if (n == 0)
			break;
		r = saml_stream_push(st, chunk, (size_t)n);
	}
	free(chunk);
	if ((r = stream_done(st, r, opts, out, v)) != SAML_STREAM_FALLBACK)
		return r;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return verdict_set(v, R_FETCH_FAILED, "lseek: %s", strerror(errno));
	/* the caller chose to open a file of this size (fedtrust verify --max-size) */
	if (read_all(fd, (size_t)sb.st_size > MAX_DOC_SIZE ? (size_t)sb.st_size : MAX_DOC_SIZE,
	    &buf, &len, v) == -1)
		return -1;
	rc = saml_verify_dom(buf, len, as, opts, now, out, v);
	free(buf);
	return rc;
 whole:
	if (read_all(fd, MAX_DOC_SIZE, &buf, &len, v) == -1)
		return -1;
	rc = saml_verify(buf, len, as, opts, now, out, v);
	free(buf);
	return rc;
}
