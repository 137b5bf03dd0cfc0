/*
 * The signed SAML aggregate of a trust list: an md:EntitiesDescriptor with
 * Name, ID, validUntil and cacheDuration, an enveloped ds:Signature as its
 * first element child (exclusive C14N, Reference URI="#ID"), PublicationInfo,
 * then the selected EntityDescriptors.  The aggregate is digested entity by
 * entity and its SignedInfo signed with EVP, without a tree of the whole
 * document (docs/publishing.md); the small per-entity MDQ documents are
 * signed through xmlsec on a tree.  Every output is verified again with the
 * operator's public key before it is handed back (PUB-05).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
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

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "extern.h"

#define NS_MD		"urn:oasis:names:tc:SAML:2.0:metadata"
#define NS_MDRPI	"urn:oasis:names:tc:SAML:metadata:rpi"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED	"http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_SHA256	"http://www.w3.org/2001/04/xmlenc#sha256"
#define ROOT_END	"</md:EntitiesDescriptor>"

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
 * The entity's element as it goes into the aggregate: e's XML without the
 * XML declaration a serialiser may have put in front of it and without
 * surrounding whitespace.  Points into e->xml.
 */
static void
entity_body(const struct entity *e, const char **body, size_t *len)
{
	const char	*p = e->xml, *end = e->xml + e->xmlsz, *q;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (end - p > 5 && memcmp(p, "<?xml", 5) == 0 &&
	    (q = memmem(p, (size_t)(end - p), "?>", 2)) != NULL)
		p = q + 2;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
	    end[-1] == '\n'))
		end--;
	*body = p;
	*len = (size_t)(end - p);
}

/* The root start tag of the aggregate (no XML declaration). */
static void
agg_root(struct obuf *o, const struct saml_out_opts *opts, const char *id)
{
	char	 t[32], d[64];

	obuf_str(o, "<md:EntitiesDescriptor xmlns:md=\"" NS_MD "\" xmlns:mdrpi=\"" NS_MDRPI "\"");
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
	obuf_str(o, "\">");
}

/* md:Extensions with the PublicationInfo of this publication. */
static void
agg_extensions(struct obuf *o, const struct saml_out_opts *opts, time_t now)
{
	char	 t[32], seq[32];

	snprintf(seq, sizeof(seq), "%" PRIu64, opts->seq);
	obuf_str(o, "<md:Extensions><mdrpi:PublicationInfo publisher=\"");
	obuf_attr(o, opts->publisher != NULL ? opts->publisher : "");
	obuf_str(o, "\" creationInstant=\"");
	obuf_str(o, format_time(now, t, sizeof(t)));
	obuf_str(o, "\" publicationId=\"fedtrust-");
	obuf_str(o, seq);
	obuf_str(o, "\"/></md:Extensions>");
}

/* ------------------------------------------------------------ streaming digest */

/*
 * The aggregate is digested without a tree of the whole document.  Its
 * exclusive C14N (signature removed) is C(root start tag), C(Extensions),
 * then for each entity "\n" C(entity), then "\n" C(root end tag): the "\n"
 * are the text nodes we write between the children.  The canonical form of
 * one child depends only on the namespaces its ancestors render, so it is
 * taken from a small document made of our root start tag, that child and
 * the root end tag, with the root's own canonical tags cut off again.
 */
struct frame {
	const char	*root;		/* our root start tag, as written */
	size_t		 rootsz;
	struct obuf	 croot;		/* its canonical form */
	struct obuf	 text;		/* scratch: root + one child + end tag */
	struct obuf	 canon;		/* scratch: canonical form of text */
};

/* xmlOutputBuffer write callback: append to the obuf in ctx. */
static int
canon_write(void *ctx, const char *buf, int len)
{
	obuf_add(ctx, buf, (size_t)len);
	return len;
}

/*
 * Parse text (our own bytes: no network, no DTD) and write its exclusive
 * C14N without comments into out (reset first).  Returns the document
 * (caller frees) or NULL.
 */
static xmlDocPtr
canon_text(const char *text, size_t len, struct obuf *out)
{
	xmlDocPtr		 doc;
	xmlOutputBufferPtr	 ob;
	int			 rc;

	out->len = 0;
	if (len > INT32_MAX)
		return NULL;
	doc = xmlReadMemory(text, (int)len, NULL, "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
	if (doc == NULL)
		return NULL;
	if (doc->intSubset != NULL || doc->extSubset != NULL ||
	    xmlDocGetRootElement(doc) == NULL)
		goto fail;
	if ((ob = xmlOutputBufferCreateIO(canon_write, NULL, out, NULL)) == NULL)
		goto fail;
	rc = xmlC14NExecute(doc, NULL, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob);
	if (xmlOutputBufferClose(ob) < 0 || rc < 0)
		goto fail;
	return doc;
fail:
	xmlFreeDoc(doc);
	return NULL;
}

/* Set up f for the root start tag root: its canonical form.  0 / -1 with v. */
static int
frame_init(struct frame *f, const char *root, size_t rootsz, struct verdict *v)
{
	const size_t	 endsz = sizeof(ROOT_END) - 1;
	xmlDocPtr	 doc;

	memset(f, 0, sizeof(*f));
	f->root = root;
	f->rootsz = rootsz;
	obuf_add(&f->text, root, rootsz);
	obuf_str(&f->text, ROOT_END);
	if ((doc = canon_text(f->text.b, f->text.len, &f->canon)) == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: the root element does not parse");
	xmlFreeDoc(doc);
	if (f->canon.len < endsz ||
	    memcmp(f->canon.b + f->canon.len - endsz, ROOT_END, endsz) != 0)
		return verdict_set(v, R_INTERNAL, "aggregate: unexpected canonical root");
	obuf_add(&f->croot, f->canon.b, f->canon.len - endsz);
	return 0;
}

static void
frame_free(struct frame *f)
{
	free(f->croot.b);
	free(f->text.b);
	free(f->canon.b);
}

/*
 * The canonical form of child (one md:Extensions or md:EntityDescriptor
 * element, what) in the context of the root: appended to dst.  The child
 * must parse as exactly one such element and nothing else, so that the
 * bytes written into the aggregate mean what was digested.  0 / -1 with v.
 */
static int
frame_canon(struct frame *f, const char *child, size_t childsz, const char *what,
    const char *label, struct obuf *dst, struct verdict *v)
{
	const size_t	 endsz = sizeof(ROOT_END) - 1;
	xmlDocPtr	 doc;
	xmlNodePtr	 root, c;
	char		 b[128];
	int		 ok;

	f->text.len = 0;
	obuf_add(&f->text, f->root, f->rootsz);
	obuf_add(&f->text, child, childsz);
	obuf_str(&f->text, ROOT_END);
	if ((doc = canon_text(f->text.b, f->text.len, &f->canon)) == NULL)
		return verdict_set(v, R_INTERNAL, "aggregate: %s %s does not parse inside "
		    "the aggregate", what, log_sanitize(label, strlen(label), b, sizeof(b)));
	root = xmlDocGetRootElement(doc);
	c = root->children;
	ok = c != NULL && c == root->last && saml_is(c, NS_MD, what);
	xmlFreeDoc(doc);
	if (!ok)
		return verdict_set(v, R_INTERNAL, "aggregate: %s %s is not exactly one "
		    "md:%s element", what, log_sanitize(label, strlen(label), b, sizeof(b)), what);
	/* the root's canonical tags around the child are exactly the frame's */
	if (f->canon.len < f->croot.len + endsz ||
	    memcmp(f->canon.b, f->croot.b, f->croot.len) != 0 ||
	    memcmp(f->canon.b + f->canon.len - endsz, ROOT_END, endsz) != 0)
		return verdict_set(v, R_INTERNAL, "aggregate: %s %s changes the canonical "
		    "root", what, log_sanitize(label, strlen(label), b, sizeof(b)));
	obuf_add(dst, f->canon.b + f->croot.len, f->canon.len - f->croot.len - endsz);
	return 0;
}

/*
 * SHA-256 of the aggregate's canonical form (root, extensions ext, the
 * entities, "\n" between the children) into md.  One thread: canonicalising
 * the second half in a worker thread was measured slower on the 2-core
 * target (docs/performance.md).  0 / -1 with v.
 */
static int
agg_digest(const char *root, size_t rootsz, const char *ext, size_t extsz,
    const struct entity *const *ents, size_t n, unsigned char md[32], struct verdict *v)
{
	struct frame	 f;
	struct obuf	 c;
	EVP_MD_CTX	*ctx;
	const char	*body;
	size_t		 i, bodysz;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	if (frame_init(&f, root, rootsz, v) == -1)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		verdict_set(v, R_INTERNAL, "aggregate: cannot start SHA-256");
		goto out;
	}
	EVP_DigestUpdate(ctx, f.croot.b, f.croot.len);
	if (frame_canon(&f, ext, extsz, "Extensions", "PublicationInfo", &c, v) == -1)
		goto out;
	EVP_DigestUpdate(ctx, c.b, c.len);
	for (i = 0; i < n; i++) {
		entity_body(ents[i], &body, &bodysz);
		c.len = 0;
		if (frame_canon(&f, body, bodysz, "EntityDescriptor", ents[i]->id, &c, v) == -1)
			goto out;
		EVP_DigestUpdate(ctx, "\n", 1);
		EVP_DigestUpdate(ctx, c.b, c.len);
	}
	EVP_DigestUpdate(ctx, "\n" ROOT_END, sizeof(ROOT_END));
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		verdict_set(v, R_INTERNAL, "aggregate: cannot finish SHA-256");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	frame_free(&f);
	free(c.b);
	return rc;
}

/* ------------------------------------------------------------ signature */

/* The SignatureMethod URI of the signer's algorithm, or NULL. */
static const char *
sig_method(enum sig_alg alg)
{
	switch (alg) {
	case SIG_RSA_SHA256:
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
	case SIG_ECDSA_SHA256:
		return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
	case SIG_ECDSA_SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
	default:
		return NULL;
	}
}

/* An empty ds: element with one Algorithm attribute; expanded in canonical form. */
static void
si_empty(struct obuf *o, const char *name, const char *alg, int canon)
{
	obuf_str(o, "<ds:");
	obuf_str(o, name);
	obuf_str(o, " Algorithm=\"");
	obuf_str(o, alg);
	if (canon) {
		obuf_str(o, "\"></ds:");
		obuf_str(o, name);
		obuf_str(o, ">");
	} else
		obuf_str(o, "\"/>");
}

/*
 * ds:SignedInfo for the reference #id with the base64 digest: as written
 * into the document (inside ds:Signature, which declares ds), or in its
 * exclusive canonical form (canon: ds declared here, empty elements
 * expanded).  Only our own URIs and id go in: nothing needs escaping.
 */
static void
signed_info(struct obuf *o, const char *method, const char *id, const char *digest, int canon)
{
	obuf_str(o, canon ? "<ds:SignedInfo xmlns:ds=\"" NS_DS "\">" : "<ds:SignedInfo>");
	si_empty(o, "CanonicalizationMethod", ALG_EXC_C14N, canon);
	si_empty(o, "SignatureMethod", method, canon);
	obuf_str(o, "<ds:Reference URI=\"#");
	obuf_str(o, id);
	obuf_str(o, "\"><ds:Transforms>");
	si_empty(o, "Transform", ALG_ENVELOPED, canon);
	si_empty(o, "Transform", ALG_EXC_C14N, canon);
	obuf_str(o, "</ds:Transforms>");
	si_empty(o, "DigestMethod", ALG_SHA256, canon);
	obuf_str(o, "<ds:DigestValue>");
	obuf_str(o, digest);
	obuf_str(o, "</ds:DigestValue></ds:Reference></ds:SignedInfo>");
}

/* DER ECDSA-Sig-Value -> r || s of flen bytes each into out. 0 / -1. */
static int
ecdsa_raw(const unsigned char *der, size_t len, size_t flen, unsigned char *out)
{
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	int		 rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &der, (long)len)) == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)flen) == (int)flen &&
	    BN_bn2binpad(s, out + flen, (int)flen) == (int)flen)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

/*
 * Sign the canonical SignedInfo si with s: RSA PKCS#1 v1.5 / SHA-256, or
 * ECDSA (SHA-256 on P-256, SHA-384 on P-384) as raw r || s.  Returns the
 * base64 SignatureValue (caller frees) or NULL with v.
 */
static char *
sign_signed_info(const struct signer *s, const struct obuf *si, struct verdict *v)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*sig = NULL, raw[2 * 48];
	size_t		 siglen = 0, flen;
	char		*b64 = NULL, ebuf[256];
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	ERR_clear_error();
	ok = EVP_DigestSignInit(ctx, &pctx, s->xml_alg == SIG_ECDSA_SHA384 ? EVP_sha384() :
	    EVP_sha256(), NULL, s->key) == 1;
	if (ok && s->xml_alg == SIG_RSA_SHA256)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	ok = ok && EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)si->b, si->len) == 1;
	if (ok) {
		sig = xmalloc(siglen);
		ok = EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)si->b, si->len) == 1;
	}
	if (!ok) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing with %s failed%s%s", s->file,
		    ebuf[0] ? ": " : "", ebuf);
		goto out;
	}
	if (s->xml_alg == SIG_RSA_SHA256) {
		b64 = b64_encode(sig, siglen);
		goto out;
	}
	/* XML DSig wants r || s, each the size of the curve's order */
	flen = s->xml_alg == SIG_ECDSA_SHA384 ? 48 : 32;
	if (ecdsa_raw(sig, siglen, flen, raw) == -1) {
		verdict_set(v, R_SIGN_FAILED, "signing with %s: malformed ECDSA signature",
		    s->file);
		goto out;
	}
	b64 = b64_encode(raw, 2 * flen);
out:
	EVP_MD_CTX_free(ctx);	/* frees pctx too */
	free(sig);
	return b64;
}

/*
 * The ds:Signature element over the digest md of the aggregate #id: the
 * canonical SignedInfo is signed, its document form written.  Appended to
 * o; 0 / -1 with v.
 */
static int
agg_signature(struct obuf *o, const unsigned char md[32], const char *id,
    const struct signer *s, struct verdict *v)
{
	struct obuf	 si;
	const char	*method;
	unsigned char	*der = NULL;
	char		*digest = NULL, *sv = NULL, *cert = NULL;
	int		 dersz = 0, rc = -1;

	memset(&si, 0, sizeof(si));
	if ((method = sig_method(s->xml_alg)) == NULL)
		return verdict_set(v, R_SIGN_FAILED, "signing key %s: %s", s->file,
		    s->xml_alg == SIG_ED25519 ? "an Ed25519 key cannot sign SAML metadata "
		    "(RSA or EC P-256/P-384 needed for saml-aggregate and mdq)" :
		    "no XML signature algorithm");
	digest = b64_encode(md, 32);
	signed_info(&si, method, id, digest, 1);
	if ((sv = sign_signed_info(s, &si, v)) == NULL)
		goto out;
	if (s->cert != NULL && (dersz = i2d_X509(s->cert, &der)) <= 0) {
		verdict_set(v, R_INTERNAL, "aggregate: cannot encode the signing certificate");
		goto out;
	}
	obuf_str(o, "<ds:Signature xmlns:ds=\"" NS_DS "\">");
	signed_info(o, method, id, digest, 0);
	obuf_str(o, "<ds:SignatureValue>");
	obuf_str(o, sv);
	obuf_str(o, "</ds:SignatureValue>");
	if (der != NULL) {
		/* informational only: consumers pin the operator key out of band */
		cert = b64_encode(der, (size_t)dersz);
		obuf_str(o, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
		obuf_str(o, cert);
		obuf_str(o, "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>");
	}
	obuf_str(o, "</ds:Signature>");
	rc = 0;
out:
	OPENSSL_free(der);
	free(si.b);
	free(digest);
	free(sv);
	free(cert);
	return rc;
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

/*
 * Write the signed aggregate: XML declaration, root, ds:Signature over the
 * digest md, Extensions ext, the entities with "\n" between the children
 * (as digested), end tag.  The buffer is sized once: it is the output.
 */
static void
agg_write(struct obuf *o, const char *root, size_t rootsz, const struct obuf *sig,
    const char *ext, size_t extsz, const struct entity *const *ents, size_t n)
{
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	const char	*body;
	size_t		 i, bodysz, total;

	total = sizeof(decl) + rootsz + sig->len + extsz + sizeof(ROOT_END) + 2;
	for (i = 0; i < n; i++)
		total += ents[i]->xmlsz + 1;
	o->cap = total + 1;
	o->b = xmalloc(o->cap);
	o->len = 0;
	obuf_add(o, decl, sizeof(decl) - 1);
	obuf_add(o, root, rootsz);
	obuf_add(o, sig->b, sig->len);
	obuf_add(o, ext, extsz);
	for (i = 0; i < n; i++) {
		entity_body(ents[i], &body, &bodysz);
		obuf_str(o, "\n");
		obuf_add(o, body, bodysz);
	}
	obuf_str(o, "\n" ROOT_END "\n");
}

int
out_saml_aggregate(const struct entity *const *ents, size_t n, const struct saml_out_opts *opts,
    const struct signer *s, time_t now, unsigned char **out, size_t *outsz, struct verdict *v)
{
	struct obuf	 root, ext, sig, doc;
	unsigned char	 md[32];
	char		 id[64];
	size_t		 i;
	int		 rc = -1;

	memset(&root, 0, sizeof(root));
	memset(&ext, 0, sizeof(ext));
	memset(&sig, 0, sizeof(sig));
	memset(&doc, 0, sizeof(doc));
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
	agg_root(&root, opts, id);
	agg_extensions(&ext, opts, now);
	if (agg_digest(root.b, root.len, ext.b, ext.len, ents, n, md, v) == -1)
		goto out;
	if (agg_signature(&sig, md, id, s, v) == -1)
		goto out;
	agg_write(&doc, root.b, root.len, &sig, ext.b, ext.len, ents, n);
	if (self_check((unsigned char *)doc.b, doc.len, ents, n, opts, s, now, v) == -1)
		goto out;
	/* NUL-terminated for callers that treat it as text; not counted in outsz */
	*out = (unsigned char *)doc.b;
	*outsz = doc.len;
	doc.b = NULL;
	rc = 0;
out:
	free(root.b);
	free(ext.b);
	free(sig.b);
	free(doc.b);
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
