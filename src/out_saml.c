/*
 * The signed SAML aggregate of a trust list: an md:EntitiesDescriptor with
 * Name, ID, validUntil and cacheDuration, an enveloped ds:Signature as its
 * first element child (exclusive C14N, Reference URI="#ID"), PublicationInfo,
 * then the selected EntityDescriptors.  Every output is verified again with
 * the operator's public key before it is handed back (PUB-05).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlsave.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "extern.h"

#define NS_MD		"urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_MDRPI	"urn:oasis:names:tc:SAML:metadata:rpi"

/* A growing text buffer. */
struct obuf {
	char	*b;
	size_t	 len;
	size_t	 cap;
};

static void
obuf_add(struct obuf *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->b = xreallocarray(o->b, o->cap, 1);
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = '\0';
}

static void
obuf_str(struct obuf *o, const char *s)
{
	obuf_add(o, s, strlen(s));
}

/* Append s escaped for a double-quoted attribute value. */
static void
obuf_attr(struct obuf *o, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			obuf_str(o, "&amp;");
			break;
		case '<':
			obuf_str(o, "&lt;");
			break;
		case '>':
			obuf_str(o, "&gt;");
			break;
		case '"':
			obuf_str(o, "&quot;");
			break;
		case '\t':
			obuf_str(o, "&#9;");
			break;
		case '\n':
			obuf_str(o, "&#10;");
			break;
		case '\r':
			obuf_str(o, "&#13;");
			break;
		default:
			obuf_add(o, s, 1);
		}
	}
}

/*
 * Append one entity's standalone serialisation, without the XML declaration
 * a serialiser may have put in front of it.
 */
static void
obuf_entity(struct obuf *o, const struct entity *e)
{
	const char	*p = e->xml, *end = e->xml + e->xmlsz, *q;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (end - p > 5 && memcmp(p, "<?xml", 5) == 0 &&
	    (q = memmem(p, (size_t)(end - p), "?>", 2)) != NULL)
		p = q + 2;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	obuf_add(o, p, (size_t)(end - p));
	obuf_str(o, "\n");
}

/* The unsigned document text: root, Extensions and the entities. Caller frees o. */
static void
aggregate_text(struct obuf *o, const struct entity *const *ents, size_t n,
    const struct saml_out_opts *opts, const char *id, time_t now)
{
	char	 t[32], d[64], seq[32];
	size_t	 i;

	snprintf(seq, sizeof(seq), "%" PRIu64, opts->seq);
	obuf_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<md:EntitiesDescriptor xmlns:md=\"" NS_MD "\" xmlns:mdrpi=\"" NS_MDRPI "\"");
	if (opts->name != NULL) {
		obuf_str(o, " Name=\"");
		obuf_attr(o, opts->name);
		obuf_str(o, "\"");
	}
	obuf_str(o, " ID=\"");
	obuf_str(o, id);
	obuf_str(o, "\" validUntil=\"");
	obuf_str(o, format_time(opts->valid_until, t, sizeof(t)));
	obuf_str(o, "\" cacheDuration=\"");
	obuf_str(o, format_xsd_duration(opts->cache_duration, d, sizeof(d)));
	obuf_str(o, "\"><md:Extensions><mdrpi:PublicationInfo publisher=\"");
	obuf_attr(o, opts->publisher != NULL ? opts->publisher : "");
	obuf_str(o, "\" creationInstant=\"");
	obuf_str(o, format_time(now, t, sizeof(t)));
	obuf_str(o, "\" publicationId=\"fedtrust-");
	obuf_str(o, seq);
	obuf_str(o, "\"/></md:Extensions>\n");
	for (i = 0; i < n; i++)
		obuf_entity(o, ents[i]);
	obuf_str(o, "</md:EntitiesDescriptor>\n");
}

/* The xmlsec transform of the signer's algorithm. */
static xmlSecTransformId
sign_transform(enum sig_alg alg)
{
	switch (alg) {
	case SIG_RSA_SHA256:
		return xmlSecTransformRsaSha256Id;
	case SIG_ECDSA_SHA256:
		return xmlSecTransformEcdsaSha256Id;
	case SIG_ECDSA_SHA384:
		return xmlSecTransformEcdsaSha384Id;
	default:
		return NULL;
	}
}

/*
 * An xmlsec key holding a reference to the signer's key and a copy of its
 * certificate (written into X509Data).  NULL on failure.
 */
static xmlSecKeyPtr
xmlsec_key(const struct signer *s)
{
	xmlSecKeyPtr	 key = NULL;
	xmlSecKeyDataPtr data = NULL, x509;
	X509		*cert;

	if (!EVP_PKEY_up_ref(s->key))
		return NULL;
	/* xmlsec owns what it adopts: it gets its own reference */
	if ((data = xmlSecOpenSSLEvpKeyAdopt(s->key)) == NULL) {
		EVP_PKEY_free(s->key);
		return NULL;
	}
	if ((key = xmlSecKeyCreate()) == NULL)
		goto fail;
	if (xmlSecKeySetValue(key, data) < 0)
		goto fail;
	data = NULL;
	if (s->cert != NULL) {
		if ((x509 = xmlSecKeyEnsureData(key, xmlSecOpenSSLKeyDataX509Id)) == NULL)
			goto fail;
		if ((cert = X509_dup(s->cert)) == NULL)
			goto fail;
		if (xmlSecOpenSSLKeyDataX509AdoptCert(x509, cert) < 0) {
			X509_free(cert);
			goto fail;
		}
	}
	return key;
fail:
	if (data != NULL)
		xmlSecKeyDataDestroy(data);
	if (key != NULL)
		xmlSecKeyDestroy(key);
	return NULL;
}

/*
 * Add the signature template as the first child of the root and sign it.
 * 0 / -1 with v.
 */
static int
sign_doc(xmlDocPtr doc, const char *id, const struct signer *s, struct verdict *v)
{
	xmlNodePtr	 root = xmlDocGetRootElement(doc), sig, ref, ki;
	xmlAttrPtr	 attr;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlSecTransformId alg;
	char		 uri[80], ebuf[256];
	int		 rc = -1;

	if ((alg = sign_transform(s->xml_alg)) == NULL)
		return verdict_set(v, R_SIGN_FAILED, "signing key %s: %s", s->file,
		    s->xml_alg == SIG_ED25519 ? "an Ed25519 key cannot sign SAML metadata "
		    "(RSA or EC P-256/P-384 needed for saml-aggregate and mdq)" :
		    "no XML signature algorithm");
	if ((attr = xmlHasProp(root, BAD_CAST "ID")) == NULL ||
	    xmlAddID(NULL, doc, BAD_CAST id, attr) == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: cannot register ID %s", id);
	snprintf(uri, sizeof(uri), "#%s", id);
	sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, alg, NULL,
	    BAD_CAST "ds");
	if (sig == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: cannot create signature template");
	if (root->children != NULL)
		xmlAddPrevSibling(root->children, sig);
	else
		xmlAddChild(root, sig);
	if ((ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
	    BAD_CAST uri, NULL)) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: cannot build signature reference");
	if (s->cert != NULL) {
		if ((ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL ||
		    xmlSecTmplKeyInfoAddX509Data(ki) == NULL)
			return verdict_set(v, R_INTERNAL, "aggregate: cannot build KeyInfo");
	}
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: cannot create signature context");
	ERR_clear_error();
	if ((ctx->signKey = xmlsec_key(s)) == NULL) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing key %s: cannot hand the key to xmlsec%s%s",
		    s->file, ebuf[0] ? ": " : "", ebuf);
		goto out;
	}
	if (xmlSecDSigCtxSign(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing with %s failed%s%s", s->file,
		    ebuf[0] ? ": " : "", ebuf);
		goto out;
	}
	rc = 0;
out:
	xmlSecDSigCtxDestroy(ctx);	/* destroys signKey too */
	return rc;
}

/*
 * An anchor set pinning only the public half of the signer's key: what a
 * consumer of the aggregate pins.  0 / -1 with v.
 */
static int
self_anchor(const struct signer *s, struct anchor_set *as, struct verdict *v)
{
	unsigned char	*der = NULL;
	const unsigned char *p;
	EVP_PKEY	*pub;
	int		 len;

	memset(as, 0, sizeof(*as));
	if ((len = i2d_PUBKEY(s->key, &der)) <= 0)
		return verdict_set(v, R_SELF_CHECK, "self-check: cannot export the public key");
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	if (pub == NULL)
		return verdict_set(v, R_SELF_CHECK, "self-check: cannot import the public key");
	as->pins = xcalloc(1, sizeof(*as->pins));
	as->pinsz = 1;
	as->pins[0].pkey = pub;
	as->pins[0].file = xstrdup(s->file != NULL ? s->file : "operator key");
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * PUB-05: verify the bytes about to leave with the operator's public key,
 * the validity window and the entity set.  0 / -1 with v (R_SELF_CHECK).
 */
static int
self_check(const unsigned char *doc, size_t len, const struct entity *const *ents, size_t n,
    const struct saml_out_opts *opts, const struct signer *s, time_t now, struct verdict *v)
{
	struct anchor_set	 as;
	struct saml_opts	 so;
	struct entity_set	 es;
	struct verdict		 sv;
	const char		**want = NULL, **got = NULL;
	size_t			 i;
	int			 rc = -1;

	memset(&es, 0, sizeof(es));
	memset(&sv, 0, sizeof(sv));
	if (self_anchor(s, &as, v) == -1)
		return -1;
	memset(&so, 0, sizeof(so));
	so.source = "self-check";
	/* exactly the window we were asked for; 0 would mean "unbounded" */
	so.max_validity = opts->valid_until - now + 1 > 0 ? (long)(opts->valid_until - now + 1) : 1;
	/* certificate age is policy's business, already applied to ents */
	so.cert_validity = CERT_VALIDITY_IGNORE;
	so.skew = 0;
	so.max_entities = n > MAX_ENTITIES ? n : 0;
	if (saml_verify(doc, len, &as, &so, now, &es, &sv) == -1) {
		verdict_set(v, R_SELF_CHECK, "self-check: aggregate refused by the verifier: %s: %s",
		    reason_code(sv.reason), sv.detail);
		goto out;
	}
	if (es.entitiesz != n || es.dropsz != 0) {
		verdict_set(v, R_SELF_CHECK, "self-check: %zu entities signed, %zu verified, "
		    "%zu dropped", n, es.entitiesz, es.dropsz);
		goto out;
	}
	want = xcalloc(n, sizeof(*want));
	got = xcalloc(n, sizeof(*got));
	for (i = 0; i < n; i++) {
		want[i] = ents[i]->id;
		got[i] = es.entities[i].id;
	}
	qsort(want, n, sizeof(*want), cmp_str);
	qsort(got, n, sizeof(*got), cmp_str);
	for (i = 0; i < n; i++) {
		if (strcmp(want[i], got[i]) != 0) {
			char	 b[128];

			verdict_set(v, R_SELF_CHECK, "self-check: entity %s not in the verified "
			    "aggregate", log_sanitize(want[i], strlen(want[i]), b, sizeof(b)));
			goto out;
		}
	}
	rc = 0;
out:
	free(want);
	free(got);
	entity_set_free(&es);
	anchor_set_free(&as);
	return rc;
}

/*
 * Parse our own assembled text (from verified trees; still: no network, no
 * entity expansion, no DTD).  Returns the document or NULL with v.
 */
static xmlDocPtr
parse_own(const char *text, size_t len, const char *what, struct verdict *v)
{
	xmlDocPtr	 doc;

	if (len > INT32_MAX) {
		verdict_set(v, R_INTERNAL, "%s: %zu bytes is too large", what, len);
		return NULL;
	}
	doc = xmlReadMemory(text, (int)len, NULL, "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		verdict_set(v, R_INTERNAL, "%s: the assembled document does not parse", what);
		xmlFreeDoc(doc);
		return NULL;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		verdict_set(v, R_INTERNAL, "%s: an entity carried a DTD", what);
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/*
 * Sign doc (root ID id), serialise it and self-check the bytes (PUB-05).
 * 0 and a malloc'd NUL-terminated copy in out, or -1 with v.
 */
static int
sign_and_check(xmlDocPtr doc, const char *id, const struct entity *const *ents, size_t n,
    const struct saml_out_opts *opts, const struct signer *s, time_t now,
    unsigned char **out, size_t *outsz, struct verdict *v)
{
	xmlChar		*mem = NULL;
	int		 memlen = 0, rc = -1;

	if (sign_doc(doc, id, s, v) == -1)
		goto out;
	xmlDocDumpMemoryEnc(doc, &mem, &memlen, "UTF-8");
	if (mem == NULL || memlen <= 0) {
		verdict_set(v, R_INTERNAL, "%s: cannot serialise", id);
		goto out;
	}
	if (self_check(mem, (size_t)memlen, ents, n, opts, s, now, v) == -1)
		goto out;
	/* NUL-terminated for callers that treat it as text; not counted in outsz */
	*out = xmalloc((size_t)memlen + 1);
	memcpy(*out, mem, (size_t)memlen);
	(*out)[memlen] = '\0';
	*outsz = (size_t)memlen;
	rc = 0;
out:
	if (mem != NULL)
		xmlFree(mem);
	return rc;
}

int
out_saml_aggregate(const struct entity *const *ents, size_t n, const struct saml_out_opts *opts,
    const struct signer *s, time_t now, unsigned char **out, size_t *outsz, struct verdict *v)
{
	struct obuf	 text;
	xmlDocPtr	 doc = NULL;
	char		 id[64];
	size_t		 i;
	int		 rc = -1;

	memset(&text, 0, sizeof(text));
	*out = NULL;
	*outsz = 0;
	if (n == 0)
		return verdict_set(v, R_FEED_EMPTY, "aggregate %s: no entities, refusing to "
		    "publish an empty aggregate", opts->name ? opts->name : "");
	if (s == NULL || s->key == NULL)
		return verdict_set(v, R_SIGN_FAILED, "aggregate: no signing key");
	for (i = 0; i < n; i++)
		if (ents[i]->xml == NULL || ents[i]->xmlsz == 0)
			return verdict_set(v, R_INTERNAL, "aggregate: entity without XML");
	snprintf(id, sizeof(id), "_fedtrust-%" PRIu64, opts->seq);
	aggregate_text(&text, ents, n, opts, id, now);
	if ((doc = parse_own(text.b, text.len, "aggregate", v)) == NULL)
		goto out;
	rc = sign_and_check(doc, id, ents, n, opts, s, now, out, outsz, v);
out:
	xmlFreeDoc(doc);
	free(text.b);
	return rc;
}

int
out_saml_entity(const struct entity *e, const char *id, time_t valid_until,
    const struct signer *s, time_t now, unsigned char **out, size_t *outsz, struct verdict *v)
{
	struct saml_out_opts	 opts;
	xmlDocPtr		 doc = NULL;
	xmlNodePtr		 root;
	char			 t[32];
	int			 rc = -1;

	*out = NULL;
	*outsz = 0;
	if (s == NULL || s->key == NULL)
		return verdict_set(v, R_SIGN_FAILED, "entity: no signing key");
	if (e->xml == NULL || e->xmlsz == 0)
		return verdict_set(v, R_INTERNAL, "entity: no XML");
	if ((doc = parse_own(e->xml, e->xmlsz, "entity", v)) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!saml_is(root, NS_MD, "EntityDescriptor")) {
		verdict_set(v, R_INTERNAL, "entity: root is not md:EntityDescriptor");
		goto out;
	}
	/* our ID and validUntil replace whatever the partner wrote (MDQ profile) */
	if (xmlSetProp(root, BAD_CAST "ID", BAD_CAST id) == NULL ||
	    xmlSetProp(root, BAD_CAST "validUntil",
	    BAD_CAST format_time(valid_until, t, sizeof(t))) == NULL) {
		verdict_set(v, R_INTERNAL, "entity: cannot set ID and validUntil");
		goto out;
	}
	memset(&opts, 0, sizeof(opts));
	opts.valid_until = valid_until;
	rc = sign_and_check(doc, id, &e, 1, &opts, s, now, out, outsz, v);
out:
	xmlFreeDoc(doc);
	return rc;
}
