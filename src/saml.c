/*
 * SAML metadata: hardened parse (R10), tree checks (R2-R4), validity (R11)
 * and extraction of entities from the one verified tree (R1).  The
 * signature rules themselves live in saml_verify.c.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/x509.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>

#include "extern.h"

#define NS_MD		"urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define NS_MDRPI	"urn:oasis:names:tc:SAML:metadata:rpi"
#define NS_MDATTR	"urn:oasis:names:tc:SAML:metadata:attribute"
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_XML		"http://www.w3.org/XML/1998/namespace"

/* ------------------------------------------------------------ init */

int
xml_init(void)
{
	xmlInitParser();
	log_silence_xml();
	if (xmlSecInit() < 0)
		return -1;
	if (xmlSecCheckVersion() != 1)
		return -1;
	/* the OpenSSL crypto is linked in: no dynamic loading of engines */
	if (xmlSecOpenSSLAppInit(NULL) < 0 || xmlSecOpenSSLInit() < 0)
		return -1;
	log_silence_xml();
	return 0;
}

void
xml_shutdown(void)
{
	xmlSecOpenSSLShutdown();
	xmlSecOpenSSLAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
}

/* ------------------------------------------------------------ parse (R10) */

struct parse_state {
	int	 doctype;	/* a DOCTYPE was seen: parse stopped */
	int	 limit;		/* depth over MAX_XML_DEPTH: parse stopped */
};

static void
sax_subset(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	xmlParserCtxtPtr	 c = ctx;

	((struct parse_state *)c->_private)->doctype = 1;
	xmlStopParser(c);
}

static void
sax_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
    const xmlChar *sid, xmlChar *content)
{
	xmlParserCtxtPtr	 c = ctx;

	((struct parse_state *)c->_private)->doctype = 1;
	xmlStopParser(c);
}

static void
sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
	xmlParserCtxtPtr	 c = ctx;

	if (c->nodeNr >= MAX_XML_DEPTH) {
		((struct parse_state *)c->_private)->limit = 1;
		xmlStopParser(c);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_ns, ns, nb_attr, nb_def, attrs);
}

/* 1 when buf holds nothing but whitespace (and a UTF-8 BOM). */
static int
is_blank(const unsigned char *buf, size_t len)
{
	size_t	 i = 0;

	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf)
		i = 3;
	for (; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
			return 0;
	return 1;
}

/*
 * Parse buf into a tree: no network, no entities, no DTD, no XInclude, no
 * "huge"; a DOCTYPE stops the parser at once (billion laughs never expand).
 * Returns the document (caller frees) or NULL with v.
 */
static xmlDocPtr
saml_parse(const unsigned char *buf, size_t len, struct verdict *v)
{
	xmlParserCtxtPtr	 ctxt;
	struct parse_state	 st = { 0, 0 };
	xmlDocPtr		 doc = NULL;
	const xmlError		*err;
	char			 msg[256];

	if (len == 0 || is_blank(buf, len)) {
		verdict_set(v, R_XML_EMPTY, "the document is empty");
		return NULL;
	}
	if (len > INT_MAX) {
		verdict_set(v, R_XML_LIMIT, "document of %zu bytes is too large to parse", len);
		return NULL;
	}
	/* UTF-16/32 (BOM or NUL bytes at the start): only UTF-8 is accepted */
	if ((len >= 2 && ((buf[0] == 0xfe && buf[1] == 0xff) || (buf[0] == 0xff && buf[1] == 0xfe))) ||
	    buf[0] == 0 || (len >= 2 && buf[1] == 0)) {
		verdict_set(v, R_XML_MALFORMED, "document is not UTF-8 encoded");
		return NULL;
	}
	if ((ctxt = xmlCreateMemoryParserCtxt((const char *)buf, (int)len)) == NULL)
		fatalx("xmlCreateMemoryParserCtxt");
	/* COMPACT keeps short texts inside their nodes: fewer allocations, same tree */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_COMPACT);
	ctxt->_private = &st;
	ctxt->sax->internalSubset = sax_subset;
	ctxt->sax->externalSubset = sax_subset;
	ctxt->sax->entityDecl = sax_entity_decl;
	ctxt->sax->startElementNs = sax_start;
	ctxt->sax->resolveEntity = NULL;
	ctxt->sax->warning = NULL;
	ctxt->sax->error = NULL;
	ctxt->sax->fatalError = NULL;
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;

	if (st.doctype) {
		verdict_set(v, R_XML_DOCTYPE, "a DOCTYPE (DTD) is not allowed in metadata");
		goto fail;
	}
	if (st.limit) {
		verdict_set(v, R_XML_LIMIT, "element nesting deeper than %d", MAX_XML_DEPTH);
		goto fail;
	}
	/*
	 * libxml2 2.9 stops at its own size limits (huge text node, attribute
	 * value too long) without always clearing wellFormed: any recorded
	 * error rejects the document, and size errors are limits.
	 */
	err = xmlCtxtGetLastError(ctxt);
	if (ctxt->errNo != 0 && err != NULL && err->message != NULL &&
	    (ctxt->errNo == XML_ERR_NO_MEMORY || strstr(err->message, "huge") != NULL ||
	    strstr(err->message, "too long") != NULL || strstr(err->message, "too large") != NULL)) {
		log_sanitize(err->message, strlen(err->message), msg, sizeof(msg));
		verdict_set(v, R_XML_LIMIT, "parser limit reached: line %d: %s", err->line, msg);
		goto fail;
	}
	if (!ctxt->wellFormed || ctxt->errNo != 0 || doc == NULL) {
		if (err != NULL && err->message != NULL) {
			log_sanitize(err->message, strlen(err->message), msg, sizeof(msg));
			/* drop the trailing "\x0a" of libxml2 messages */
			if (strlen(msg) >= 4 && strcmp(msg + strlen(msg) - 4, "\\x0a") == 0)
				msg[strlen(msg) - 4] = '\0';
			verdict_set(v, R_XML_MALFORMED, "not well-formed XML: line %d: %s",
			    err->line, msg);
		} else
			verdict_set(v, R_XML_MALFORMED, "not well-formed XML");
		goto fail;
	}
	if (doc->version == NULL || strcmp((const char *)doc->version, "1.0") != 0) {
		verdict_set(v, R_XML_MALFORMED, "only XML 1.0 is accepted");
		goto fail;
	}
	if (doc->encoding != NULL && strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
		log_sanitize((const char *)doc->encoding, strlen((const char *)doc->encoding),
		    msg, sizeof(msg));
		verdict_set(v, R_XML_MALFORMED, "declared encoding \"%s\" is not UTF-8", msg);
		goto fail;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		verdict_set(v, R_XML_DOCTYPE, "a DOCTYPE (DTD) is not allowed in metadata");
		goto fail;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
 fail:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return NULL;
}

/* ------------------------------------------------------------ tree scan */

/* One ID-typed attribute value ("ID" or xml:id) and its element. */
struct idref {
	const char	*val;	/* borrowed from the tree */
};

/* What one walk over the whole tree collects. */
struct scan {
	struct idref	*ids;
	size_t		 idsz, idcap;
	xmlNode		**sigs;
	size_t		 sigsz, sigcap;
	size_t		 longest_text;	/* longest text or CDATA node seen */
};

static int
idref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idref *)a)->val, ((const struct idref *)b)->val);
}

/* Attribute value text (borrowed) of a simple attribute, or NULL. */
static const char *
attr_text(const xmlAttr *a)
{
	if (a->children == NULL)
		return "";
	if (a->children->type != XML_TEXT_NODE || a->children->next != NULL)
		return NULL;
	return (const char *)a->children->content;
}

/* Value (borrowed) of the unqualified attribute name of n, or NULL. */
static const char *
attr_get(const xmlNode *n, const char *name)
{
	const xmlAttr	*a;

	for (a = n->properties; a != NULL; a = a->next)
		if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
			return attr_text(a);
	return NULL;
}

/*
 * Collect every ID/xml:id value and every ds:Signature, and unregister any
 * ID libxml2 registered on its own (xml:id), so that only IDs we add later
 * can be the target of a "#id" reference.
 */
static void
scan_tree(xmlDocPtr doc, xmlNode *n, struct scan *s)
{
	xmlNode	*c;
	xmlAttr	*a;

	for (; n != NULL; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			size_t	 len = n->content ? strlen((const char *)n->content) : 0;

			if (len > s->longest_text)
				s->longest_text = len;
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (a = n->properties; a != NULL; a = a->next) {
			const char	*val;

			if (a->atype == XML_ATTRIBUTE_ID)
				xmlRemoveID(doc, a);
			if (!((a->ns == NULL && strcmp((const char *)a->name, "ID") == 0) ||
			    (a->ns != NULL && strcmp((const char *)a->ns->href, NS_XML) == 0 &&
			    strcmp((const char *)a->name, "id") == 0)))
				continue;
			if ((val = attr_text(a)) == NULL)
				continue;
			if (s->idsz == s->idcap) {
				s->idcap = s->idcap ? s->idcap * 2 : 64;
				s->ids = xreallocarray(s->ids, s->idcap, sizeof(*s->ids));
			}
			s->ids[s->idsz++].val = val;
		}
		if (saml_is(n, NS_DS, "Signature")) {
			if (s->sigsz == s->sigcap) {
				s->sigcap = s->sigcap ? s->sigcap * 2 : 16;
				s->sigs = xreallocarray(s->sigs, s->sigcap, sizeof(*s->sigs));
			}
			s->sigs[s->sigsz++] = n;
		}
		if ((c = n->children) != NULL)
			scan_tree(doc, c, s);
	}
}

/* How often val occurs as an ID in the sorted scan. */
static size_t
id_count(const struct scan *s, const char *val)
{
	struct idref	 key = { val }, *p;
	size_t		 lo, hi;

	if (s->idsz == 0)
		return 0;
	p = bsearch(&key, s->ids, s->idsz, sizeof(*s->ids), idref_cmp);
	if (p == NULL)
		return 0;
	lo = hi = (size_t)(p - s->ids);
	while (lo > 0 && strcmp(s->ids[lo - 1].val, val) == 0)
		lo--;
	while (hi + 1 < s->idsz && strcmp(s->ids[hi + 1].val, val) == 0)
		hi++;
	return hi - lo + 1;
}

/* 1 for the md elements whose schema allows a ds:Signature first child. */
static int
signable(const xmlNode *n)
{
	static const char *const names[] = { "EntitiesDescriptor", "EntityDescriptor",
	    "RoleDescriptor", "IDPSSODescriptor", "SPSSODescriptor",
	    "AuthnAuthorityDescriptor", "AttributeAuthorityDescriptor", "PDPDescriptor",
	    "AffiliationDescriptor" };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (saml_is(n, NS_MD, names[i]))
			return 1;
	return 0;
}

/* 1 when a ds:Signature sits at an embedded position (first child of a signable element). */
static int
embedded_sig(const xmlNode *sig)
{
	const xmlNode	*p;

	if (!signable(sig->parent) || saml_first_elem(sig->parent) != sig)
		return 0;
	/* never inside another signature (KeyInfo, Object, ...) */
	for (p = sig->parent; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
		if (p->ns != NULL && strcmp((const char *)p->ns->href, NS_DS) == 0)
			return 0;
	return 1;
}

/* Readable name of an element for messages ("md:Extensions"). */
static const char *
elem_name(const xmlNode *n, char *buf, size_t bufsz)
{
	char	 tmp[128];

	snprintf(tmp, sizeof(tmp), "%s%s%s", n->ns && n->ns->prefix ? (const char *)n->ns->prefix : "",
	    n->ns && n->ns->prefix ? ":" : "", (const char *)n->name);
	return log_sanitize(tmp, strlen(tmp), buf, bufsz);
}

/*
 * R3: exactly one ds:Signature, first element child of the root; other
 * signatures only at embedded positions.  Sets *rootsig. 0 / -1 with v.
 */
static int
check_signatures(xmlNode *root, const struct scan *s, xmlNode **rootsig, struct verdict *v)
{
	xmlNode	*sig = NULL;
	char	 buf[160];
	size_t	 i, nroot = 0;

	for (i = 0; i < s->sigsz; i++)
		if (s->sigs[i]->parent == root) {
			nroot++;
			if (sig == NULL)
				sig = s->sigs[i];
		}
	if (nroot == 0)
		return verdict_set(v, R_SIG_MISSING,
		    "the document element has no ds:Signature child%s",
		    s->sigsz > 0 ? " (a signature elsewhere does not sign the document)" : "");
	if (nroot > 1)
		return verdict_set(v, R_SIG_MULTIPLE,
		    "the document element has %zu ds:Signature children", nroot);
	if (saml_first_elem(root) != sig)
		return verdict_set(v, R_SIG_POSITION,
		    "ds:Signature is not the first element child of the document element");
	for (i = 0; i < s->sigsz; i++) {
		if (s->sigs[i] == sig || embedded_sig(s->sigs[i]))
			continue;
		return verdict_set(v, R_SIG_MULTIPLE,
		    "stray ds:Signature inside %s (only the root and embedded entity/group signatures are allowed)",
		    elem_name(s->sigs[i]->parent, buf, sizeof(buf)));
	}
	*rootsig = sig;
	return 0;
}

/* ------------------------------------------------------------ entities */

static void
drop_add(struct saml_walk *w, const char *id, enum reason r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a dropped entity (id may be NULL). */
static void
drop_add(struct saml_walk *w, const char *id, enum reason r, const char *fmt, ...)
{
	va_list		 ap;
	char		 buf[512];
	struct drop	*d;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	entity_set_drop(w->out, id, r, "%s", buf);
	d = &w->out->drops[w->out->dropsz - 1];
	log_debug("%s: dropped entity %s: %s: %s", w->opts->source ? w->opts->source : "-",
	    d->id, reason_code(r), d->detail);
}

/* Element text content (caller frees with free), never NULL. */
static char *
node_text(const xmlNode *n)
{
	xmlChar	*t = xmlNodeGetContent(n);
	char	*s = xstrdup(t != NULL ? (const char *)t : "");

	xmlFree(t);
	return s;
}

/* Strip leading/trailing whitespace in place. */
static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		memmove(s, s + 1, strlen(s));
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * One KeyDescriptor's certificates into e->keys.  0 ok, -1 when a
 * certificate does not parse or an expired one is refused (drop set).
 */
static int
entity_keys(struct saml_walk *w, struct entity *e, const xmlNode *kd, enum reason *r,
    char *why, size_t whysz)
{
	const xmlNode	*ki, *xd, *c;
	const char	*use = attr_get(kd, "use");
	unsigned	 u = KEY_USE_SIGNING | KEY_USE_ENCRYPTION;

	if (use != NULL && strcmp(use, "signing") == 0)
		u = KEY_USE_SIGNING;
	else if (use != NULL && strcmp(use, "encryption") == 0)
		u = KEY_USE_ENCRYPTION;
	for (ki = saml_first_elem(kd); ki != NULL; ki = ki->next) {
		if (!saml_is(ki, NS_DS, "KeyInfo"))
			continue;
		for (xd = ki->children; xd != NULL; xd = xd->next) {
			if (!saml_is(xd, NS_DS, "X509Data"))
				continue;
			for (c = xd->children; c != NULL; c = c->next) {
				const unsigned char	*spki = NULL;
				unsigned char		*der = NULL;
				size_t			 dersz, spkisz = 0;
				time_t			 not_after = 0;
				char			*txt;
				struct key		*k;
				int			 ok;

				if (!saml_is(c, NS_DS, "X509Certificate"))
					continue;
				txt = node_text(c);
				ok = saml_b64_decode(txt, &der, &dersz) == 0 &&
				    cert_peek(der, dersz, &spki, &spkisz, &not_after) == 0;
				free(txt);
				if (!ok) {
					free(der);
					*r = R_ENTITY_KEY_INVALID;
					snprintf(why, whysz, "a KeyDescriptor certificate does not parse");
					return -1;
				}
				if (e->keysz >= MAX_KEYS) {
					log_debug("entity has more than %d keys; extra ignored", MAX_KEYS);
					free(der);
					continue;
				}
				e->keys = xreallocarray(e->keys, e->keysz + 1, sizeof(*e->keys));
				k = &e->keys[e->keysz++];
				memset(k, 0, sizeof(*k));
				k->use = u;
				k->spki = xmalloc(spkisz);
				memcpy(k->spki, spki, spkisz);
				k->spkisz = spkisz;
				k->not_after = not_after;
				/* spki pointed into der: copied above */
				if (w->opts->no_xml)
					free(der);
				else {
					k->cert = der;
					k->certsz = dersz;
				}
				if (k->not_after != 0 && k->not_after <= w->now) {
					char	 t[32];

					format_time(k->not_after, t, sizeof(t));
					if (w->opts->cert_validity == CERT_VALIDITY_REJECT) {
						*r = R_ENTITY_CERT_EXPIRED;
						snprintf(why, whysz,
						    "KeyDescriptor certificate expired at %s", t);
						return -1;
					}
					if (w->opts->cert_validity == CERT_VALIDITY_WARN)
						log_debug("%s: KeyDescriptor certificate expired at %s (kept)",
						    e->id, t);
				}
			}
		}
	}
	return 0;
}

/* md:Extensions of an entity: registration authority and entity attributes. */
static void
entity_extensions(struct entity *e, const xmlNode *ext)
{
	const xmlNode	*c, *a, *val;

	for (c = ext->children; c != NULL; c = c->next) {
		if (saml_is(c, NS_MDRPI, "RegistrationInfo") && e->ra == NULL) {
			const char	*ra = attr_get(c, "registrationAuthority");

			if (ra != NULL)
				e->ra = xstrdup(ra);
		} else if (saml_is(c, NS_MDATTR, "EntityAttributes")) {
			for (a = c->children; a != NULL; a = a->next) {
				const char	*name;

				if (!saml_is(a, NS_SAML, "Attribute") ||
				    (name = attr_get(a, "Name")) == NULL)
					continue;
				for (val = a->children; val != NULL; val = val->next) {
					char	*t, *s;

					if (!saml_is(val, NS_SAML, "AttributeValue"))
						continue;
					if (e->categoriesz >= MAX_CATEGORIES)
						return;
					t = node_text(val);
					xasprintf(&s, "%s|%s", name, trim(t));
					free(t);
					e->categories = xreallocarray(e->categories,
					    e->categoriesz + 1, sizeof(char *));
					e->categories[e->categoriesz++] = s;
				}
			}
		}
	}
}

/* ROLE_* of an element child of EntityDescriptor, 0 for non-roles. */
static unsigned
role_of(const xmlNode *n)
{
	if (saml_is(n, NS_MD, "IDPSSODescriptor"))
		return ROLE_IDP;
	if (saml_is(n, NS_MD, "SPSSODescriptor"))
		return ROLE_SP;
	if (saml_is(n, NS_MD, "AttributeAuthorityDescriptor"))
		return ROLE_AA;
	if (saml_is(n, NS_MD, "AuthnAuthorityDescriptor"))
		return ROLE_AUTHN;
	if (saml_is(n, NS_MD, "PDPDescriptor"))
		return ROLE_PDP;
	if (saml_is(n, NS_MD, "RoleDescriptor"))
		return ROLE_OTHER;
	return 0;
}

/*
 * Standalone serialisation of an EntityDescriptor, made in place from the
 * verified tree (no copy): every namespace in scope is declared on the
 * element itself (QName values such as xsi:type keep resolving) and embedded
 * ds:Signature elements are unlinked.  Both edits happen after verification
 * and change no binding, so the tree still means what was verified.
 */
static void
entity_serialise(struct entity *e, xmlNode *ed)
{
	struct {
		xmlNode	*node, *parent, *next;
	}		 sig[MAX_EMBEDDED_SIGS];
	xmlNode		*c, *next, *r;
	xmlNsPtr	*nsl, ns;
	xmlBufferPtr	 b;
	size_t		 i, nsig = 0;

	if ((nsl = xmlGetNsList(ed->doc, ed)) != NULL) {
		for (i = 0; nsl[i] != NULL; i++) {
			for (ns = ed->nsDef; ns != NULL; ns = ns->next)
				if ((ns->prefix == NULL && nsl[i]->prefix == NULL) ||
				    (ns->prefix != NULL && nsl[i]->prefix != NULL &&
				    strcmp((const char *)ns->prefix, (const char *)nsl[i]->prefix) == 0))
					break;
			if (ns == NULL)
				xmlNewNs(ed, nsl[i]->href, nsl[i]->prefix);
		}
		xmlFree(nsl);
	}
	/*
	 * Embedded signatures of the entity and its roles are not part of the
	 * data: unlink them for the dump only and put them back, because the
	 * verifier still refers to them (a single-entity root's own signature).
	 */
	for (r = ed; r != NULL; r = (r == ed) ? ed->children : r->next) {
		if (r != ed && !role_of(r) && !saml_is(r, NS_MD, "AffiliationDescriptor"))
			continue;
		for (c = r->children; c != NULL; c = next) {
			next = c->next;
			if (saml_is(c, NS_DS, "Signature") && nsig < MAX_EMBEDDED_SIGS) {
				sig[nsig].node = c;
				sig[nsig].parent = r;
				sig[nsig++].next = next;
				xmlUnlinkNode(c);
			} else if (c->type == XML_ELEMENT_NODE)
				break;
		}
	}
	/* libxml2 2.9 grows buffers exactly by default: quadratic copying */
	if ((b = xmlBufferCreateSize(16384)) == NULL)
		fatalx("xmlBufferCreate");
	xmlBufferSetAllocationScheme(b, XML_BUFFER_ALLOC_DOUBLEIT);
	if (xmlNodeDump(b, ed->doc, ed, 0, 0) < 0)
		fatalx("xmlNodeDump");
	while (nsig > 0) {
		nsig--;
		if (sig[nsig].next != NULL)
			xmlAddPrevSibling(sig[nsig].next, sig[nsig].node);
		else
			xmlAddChild(sig[nsig].parent, sig[nsig].node);
	}
	e->xmlsz = (size_t)xmlBufferLength(b);
	e->xml = xmalloc(e->xmlsz + 1);
	memcpy(e->xml, xmlBufferContent(b), e->xmlsz);
	e->xml[e->xmlsz] = '\0';
	xmlBufferFree(b);
}

/* 1 when an entityID is acceptable: 1..MAX_ENTITY_ID bytes, no space or control. */
static int
entity_id_ok(const char *id)
{
	size_t	 i, n = strlen(id);

	if (n == 0 || n > MAX_ENTITY_ID)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)id[i];

		if (c <= 0x20 || c == 0x7f)
			return 0;
		/* C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8 */
		if (c == 0xc2 && i + 1 < n && (unsigned char)id[i + 1] >= 0x80 &&
		    (unsigned char)id[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/* The verdict attached to a node whose embedded signature failed, or NULL. */
static const struct verdict *
node_bad(const xmlNode *n)
{
	return n->_private;
}

/*
 * Extract one EntityDescriptor (ed) with inherited validity vu (0 = none)
 * into w->out, or record why it is dropped (forced: drop with that verdict).
 * Works on a whole tree or on one EntityDescriptor subtree whose ancestors'
 * start tags are in the tree (the streaming verifier).
 */
void
saml_walk_entity(struct saml_walk *w, xmlNode *ed, time_t vu, const struct verdict *forced)
{
	struct entity	 e;
	const char	*id = attr_get(ed, "entityID"), *s;
	const xmlNode	*c;
	enum reason	 r;
	char		 why[256], t[32];
	time_t		 own;

	if (forced != NULL) {
		drop_add(w, id, forced->reason, "%s", forced->detail);
		return;
	}
	if (id == NULL || !entity_id_ok(id)) {
		drop_add(w, id, R_ENTITY_ID_INVALID, "entityID is %s",
		    id == NULL ? "missing" : "empty, too long or contains whitespace/control characters");
		return;
	}
	if (node_bad(ed) != NULL) {
		drop_add(w, id, R_ENTITY_SIG_INVALID, "embedded signature: %.400s", node_bad(ed)->detail);
		return;
	}
	if ((s = attr_get(ed, "validUntil")) != NULL && ed != xmlDocGetRootElement(w->doc)) {
		if (parse_xsd_datetime(s, &own) == -1) {
			drop_add(w, id, R_TIME_MALFORMED, "validUntil does not parse");
			return;
		}
		if (own <= w->now) {
			drop_add(w, id, R_ENTITY_EXPIRED, "validUntil %s has passed",
			    format_time(own, t, sizeof(t)));
			return;
		}
		if (vu == 0 || own < vu)
			vu = own;
	}
	memset(&e, 0, sizeof(e));
	e.id = xstrdup(id);
	e.valid_until = vu;
	for (c = ed->children; c != NULL; c = c->next) {
		const xmlNode	*kd;
		unsigned	 role;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (saml_is(c, NS_MD, "Extensions"))
			entity_extensions(&e, c);
		else if (saml_is(c, NS_MD, "Organization")) {
			for (kd = c->children; kd != NULL && e.org == NULL; kd = kd->next)
				if (saml_is(kd, NS_MD, "OrganizationDisplayName"))
					e.org = trim(node_text(kd));
		} else if ((role = role_of(c)) != 0) {
			if (node_bad(c) != NULL) {
				drop_add(w, id, R_ENTITY_SIG_INVALID, "embedded role signature: %.400s",
				    node_bad(c)->detail);
				goto fail;
			}
			e.roles |= role;
			for (kd = c->children; kd != NULL; kd = kd->next)
				if (saml_is(kd, NS_MD, "KeyDescriptor") &&
				    entity_keys(w, &e, kd, &r, why, sizeof(why)) == -1) {
					drop_add(w, id, r, "%s", why);
					goto fail;
				}
		} else if (saml_is(c, NS_MD, "AffiliationDescriptor") && node_bad(c) != NULL) {
			drop_add(w, id, R_ENTITY_SIG_INVALID, "embedded signature: %.400s",
			    node_bad(c)->detail);
			goto fail;
		}
	}
	if (!w->opts->no_xml)
		entity_serialise(&e, ed);
	if (w->out->entitiesz == w->entcap) {
		w->entcap = w->entcap ? w->entcap * 2 : 64;
		w->out->entities = xreallocarray(w->out->entities, w->entcap, sizeof(e));
	}
	w->out->entities[w->out->entitiesz++] = e;
	return;
 fail:
	entity_free(&e);
}

/*
 * Enter group g reached with (*vu, forced): its validUntil narrows *vu; a
 * bad or expired group returns a verdict (in fv) that drops all below it.
 */
const struct verdict *
saml_walk_group_scope(struct saml_walk *w, xmlNode *g, time_t *vu, const struct verdict *forced,
    struct verdict *fv)
{
	const char	*s;
	char		 t[32];
	time_t		 own;

	if (forced == NULL && node_bad(g) != NULL) {
		fv->reason = R_ENTITY_SIG_INVALID;
		snprintf(fv->detail, sizeof(fv->detail), "embedded group signature: %.400s",
		    node_bad(g)->detail);
		return fv;
	}
	if (forced == NULL && g != xmlDocGetRootElement(w->doc) &&
	    (s = attr_get(g, "validUntil")) != NULL) {
		if (parse_xsd_datetime(s, &own) == -1) {
			fv->reason = R_TIME_MALFORMED;
			snprintf(fv->detail, sizeof(fv->detail), "enclosing group validUntil does not parse");
			return fv;
		} else if (own <= w->now) {
			fv->reason = R_ENTITY_EXPIRED;
			snprintf(fv->detail, sizeof(fv->detail), "enclosing group validUntil %s has passed",
			    format_time(own, t, sizeof(t)));
			return fv;
		} else if (*vu == 0 || own < *vu)
			*vu = own;
	}
	return forced;
}

/*
 * Walk a group (or the root) for EntityDescriptors.  vu is the earliest
 * enclosing validUntil; forced, when set, drops everything below with it.
 * -1 with v when the entity cap is exceeded.
 */
static int
walk_group(struct saml_walk *w, xmlNode *g, time_t vu, const struct verdict *forced,
    struct verdict *v)
{
	struct verdict	 fv;
	xmlNode		*c;

	forced = saml_walk_group_scope(w, g, &vu, forced, &fv);
	for (c = g->children; c != NULL; c = c->next) {
		if (saml_is(c, NS_MD, "EntityDescriptor")) {
			if (++w->count > w->max)
				return verdict_set(v, R_XML_LIMIT, "more than %zu entities", w->max);
			saml_walk_entity(w, c, vu, forced);
		} else if (saml_is(c, NS_MD, "EntitiesDescriptor")) {
			if (walk_group(w, c, vu, forced, v) == -1)
				return -1;
		}
	}
	return 0;
}

static int
entity_ptr_cmp(const void *a, const void *b)
{
	const struct entity	*x = *(struct entity *const *)a, *y = *(struct entity *const *)b;
	int			 c = strcmp(x->id, y->id);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* Drop every copy of an entityID that occurs more than once (sort, not quadratic). */
static void
drop_duplicates(struct saml_walk *w)
{
	struct entity_set	*o = w->out;
	struct entity		**p;
	size_t			 i, j, k, n = o->entitiesz;
	char			*dup;

	if (n < 2)
		return;
	p = xcalloc(n, sizeof(*p));
	dup = xcalloc(n, 1);
	for (i = 0; i < n; i++)
		p[i] = &o->entities[i];
	qsort(p, n, sizeof(*p), entity_ptr_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(p[i]->id, p[j]->id) == 0; j++)
			;
		if (j - i > 1)
			for (k = i; k < j; k++)
				dup[p[k] - o->entities] = 1;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (dup[i]) {
			drop_add(w, o->entities[i].id, R_ENTITY_DUPLICATE,
			    "entityID occurs more than once in the document");
			entity_free(&o->entities[i]);
		} else
			o->entities[k++] = o->entities[i];
	}
	o->entitiesz = k;
	free(dup);
	free(p);
}

/* Drop duplicate entityIDs; feed-empty (-1 with v) when nothing is left. */
int
saml_walk_finish(struct saml_walk *w, struct verdict *v)
{
	struct entity_set	*out = w->out;

	drop_duplicates(w);
	if (out->entitiesz > 0)
		return 0;
	if (out->dropsz > 0)
		return verdict_set(v, R_FEED_EMPTY, "no entity left (%zu dropped; first: %s: %s)",
		    out->dropsz, reason_code(out->drops[0].reason), out->drops[0].detail);
	return verdict_set(v, R_FEED_EMPTY, "no entity left");
}

/* ------------------------------------------------------------ validity */

/* mdrpi:PublicationInfo of the root's md:Extensions, or NULL. */
static xmlNode *
publication_info(const xmlNode *root)
{
	xmlNode	*c, *p;

	for (c = root->children; c != NULL; c = c->next)
		if (saml_is(c, NS_MD, "Extensions"))
			for (p = c->children; p != NULL; p = p->next)
				if (saml_is(p, NS_MDRPI, "PublicationInfo"))
					return p;
	return NULL;
}

/* R11: root validUntil, creationInstant and cacheDuration. 0 / -1 with v. */
int
saml_check_validity(const xmlNode *root, const struct saml_opts *o, time_t now,
    struct entity_set *out, struct verdict *v)
{
	const char	*s;
	char		 t1[32], t2[32], buf[128];
	xmlNode		*pi;

	if ((s = attr_get(root, "validUntil")) == NULL)
		return verdict_set(v, R_VALID_UNTIL_MISSING, "the document element has no validUntil");
	if (parse_xsd_datetime(s, &out->valid_until) == -1)
		return verdict_set(v, R_TIME_MALFORMED, "validUntil \"%s\" does not parse",
		    log_sanitize(s, strlen(s), buf, sizeof(buf)));
	if (out->valid_until <= now)
		return verdict_set(v, R_EXPIRED, "validUntil %s is not after %s",
		    format_time(out->valid_until, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)));
	if (o->max_validity > 0 && out->valid_until - now > o->max_validity)
		return verdict_set(v, R_VALIDITY_TOO_LONG,
		    "validUntil %s is more than %ld seconds after %s",
		    format_time(out->valid_until, t1, sizeof(t1)), o->max_validity,
		    format_time(now, t2, sizeof(t2)));
	if ((pi = publication_info(root)) != NULL &&
	    (s = attr_get(pi, "creationInstant")) != NULL) {
		if (parse_xsd_datetime(s, &out->created) == -1)
			return verdict_set(v, R_TIME_MALFORMED, "creationInstant \"%s\" does not parse",
			    log_sanitize(s, strlen(s), buf, sizeof(buf)));
		if (out->created > now + (o->skew > 0 ? o->skew : 0))
			return verdict_set(v, R_NOT_YET_VALID,
			    "creationInstant %s is in the future (now %s)",
			    format_time(out->created, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)));
	}
	out->cache_duration = -1;
	if ((s = attr_get(root, "cacheDuration")) != NULL &&
	    parse_xsd_duration(s, &out->cache_duration) == -1)
		return verdict_set(v, R_TIME_MALFORMED, "cacheDuration \"%s\" does not parse",
		    log_sanitize(s, strlen(s), buf, sizeof(buf)));
	return 0;
}

/* ------------------------------------------------------------ saml_verify */

/*
 * Verify the embedded signatures (nested entities, groups, roles).  A failure
 * marks the signed element (node->_private = verdict) so the extraction walk
 * drops what it covers.  The verdicts are kept in *bad (caller frees).
 */
static void
verify_embedded(xmlDocPtr doc, const struct scan *s, xmlNode *rootsig,
    const struct anchor_set *as, time_t now, struct verdict **bad, size_t *badsz)
{
	size_t	 i;

	*bad = xcalloc(s->sigsz + 1, sizeof(**bad));
	*badsz = 0;
	for (i = 0; i < s->sigsz; i++) {
		xmlNode		*sig = s->sigs[i], *target = sig->parent;
		struct verdict	*v = &(*bad)[*badsz];
		xmlAttr		*idattr;
		const char	*id;

		if (sig == rootsig)
			continue;
		idattr = xmlHasNsProp(target, (const xmlChar *)"ID", NULL);
		id = idattr != NULL ? attr_text(idattr) : NULL;
		if (id == NULL || id[0] == '\0')
			verdict_set(v, R_SIG_REFERENCE, "signed element has no ID");
		else if (id_count(s, id) != 1)
			verdict_set(v, R_SIG_ID_DUPLICATE, "the referenced ID occurs more than once");
		else {
			xmlAddID(NULL, doc, (const xmlChar *)id, idattr);
			if (saml_sig_verify(sig, target, id, as, now, NULL, v) == 0) {
				xmlRemoveID(doc, idattr);
				continue;
			}
			xmlRemoveID(doc, idattr);
		}
		target->_private = v;
		(*badsz)++;
	}
}

/* Clear the marks of verify_embedded before the tree goes away. */
static void
clear_marks(const struct scan *s)
{
	size_t	 i;

	for (i = 0; i < s->sigsz; i++)
		s->sigs[i]->parent->_private = NULL;
}

/* The tree verifier (SAML_ENGINE_DOM); saml_verify in saml_stream.c tries streaming first. */
int
saml_verify_dom(const unsigned char *buf, size_t len, const struct anchor_set *as,
    const struct saml_opts *opts, time_t now, struct entity_set *out, struct verdict *v)
{
	xmlDocPtr	 doc;
	xmlNode		*root, *rootsig = NULL;
	xmlAttr		*idattr;
	struct scan	 s;
	struct saml_walk w;
	struct verdict	*bad = NULL;
	size_t		 badsz = 0;
	const char	*rootid = NULL, *name;
	char		 sbuf[160];
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	out->cache_duration = -1;
	if ((doc = saml_parse(buf, len, v)) == NULL)
		return -1;

	/* R2: root by namespace URI and local name */
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !(saml_is(root, NS_MD, "EntitiesDescriptor") ||
	    saml_is(root, NS_MD, "EntityDescriptor"))) {
		verdict_set(v, R_XML_ROOT, "document element %s is not md:EntitiesDescriptor or md:EntityDescriptor in %s",
		    root ? elem_name(root, sbuf, sizeof(sbuf)) : "(none)", NS_MD);
		goto out;
	}
	scan_tree(doc, root, &s);
	/* libxml2 2.9 does not always enforce its own text limit: we do */
	if (s.longest_text > MAX_XML_TEXT) {
		verdict_set(v, R_XML_LIMIT, "a text node of %zu bytes exceeds %d", s.longest_text,
		    MAX_XML_TEXT);
		goto out;
	}
	if (s.idsz > 1)
		qsort(s.ids, s.idsz, sizeof(*s.ids), idref_cmp);

	/* R3, R4 */
	if (check_signatures(root, &s, &rootsig, v) == -1)
		goto out;
	idattr = xmlHasNsProp(root, (const xmlChar *)"ID", NULL);
	if (idattr != NULL && (rootid = attr_text(idattr)) != NULL && rootid[0] != '\0') {
		if (id_count(&s, rootid) != 1) {
			verdict_set(v, R_SIG_ID_DUPLICATE, "ID \"%s\" of the document element occurs %zu times",
			    log_sanitize(rootid, strlen(rootid), sbuf, sizeof(sbuf)), id_count(&s, rootid));
			goto out;
		}
		/* the only registered ID: "#x" can resolve to nothing else */
		xmlAddID(NULL, doc, (const xmlChar *)rootid, idattr);
	} else
		rootid = NULL;

	/* R3-R9: the root signature, before anything is read from the tree */
	if (saml_sig_verify(rootsig, root, rootid, as, now, &out->signer, v) == -1)
		goto out;
	if (idattr != NULL && rootid != NULL)
		xmlRemoveID(doc, idattr);

	/* R11: validity after the signature */
	if (saml_check_validity(root, opts, now, out, v) == -1)
		goto out;
	if ((name = attr_get(root, "Name")) != NULL)
		out->name = xstrdup(name);

	verify_embedded(doc, &s, rootsig, as, now, &bad, &badsz);

	memset(&w, 0, sizeof(w));
	w.doc = doc;
	w.opts = opts;
	w.now = now;
	w.max = opts->max_entities ? opts->max_entities : MAX_ENTITIES;
	w.out = out;
	if (saml_is(root, NS_MD, "EntityDescriptor")) {
		w.count = 1;
		saml_walk_entity(&w, root, out->valid_until, NULL);
	} else if (walk_group(&w, root, out->valid_until, NULL, v) == -1)
		goto out;
	if (saml_walk_finish(&w, v) == -1)
		goto out;
	rc = 0;
 out:
	clear_marks(&s);
	free(bad);
	free(s.ids);
	free(s.sigs);
	xmlFreeDoc(doc);
	if (rc == -1)
		entity_set_free(out);
	return rc;
}
