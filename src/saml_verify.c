/*
 * XML signature rules (R3-R9) and the xmlsec call.  Everything that can be
 * decided by looking at the ds:Signature element is decided here before any
 * cryptography runs; xmlsec is then restricted to the same profile (defence
 * in depth) and only ever gets a key from the anchor set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysdata.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/symbols.h>

#include "extern.h"

#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define NS_EXC		"http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED	NS_DS "enveloped-signature"
#define ALG_EXC		NS_EXC
#define ALG_EXC_COM	NS_EXC "WithComments"
#define ALG_C14N	"http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define ALG_C14N_COM	ALG_C14N "#WithComments"

/* Signature methods of R6 and the key type each needs. */
static const struct {
	const char	*uri;
	const char	*name;
	int		 keytype;
	unsigned	 optin;		/* 0: R6 allows it; else the ALGX_* a source must set */
} sig_algs[] = {
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "rsa-sha256", EVP_PKEY_RSA, 0 },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "rsa-sha384", EVP_PKEY_RSA, 0 },
	{ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "rsa-sha512", EVP_PKEY_RSA, 0 },
	{ "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "ecdsa-sha256", EVP_PKEY_EC, 0 },
	{ "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "ecdsa-sha384", EVP_PKEY_EC, 0 },
	{ "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "rsa-sha1", EVP_PKEY_RSA, ALGX_RSA_SHA1 },
	{ "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "ecdsa-sha512", EVP_PKEY_EC,
	    ALGX_ECDSA_SHA512 },
};

static const struct {
	const char	*uri;
	unsigned	 optin;
} digest_algs[] = {
	{ "http://www.w3.org/2001/04/xmlenc#sha256", 0 },
	{ "http://www.w3.org/2001/04/xmldsig-more#sha384", 0 },
	{ "http://www.w3.org/2001/04/xmlenc#sha512", 0 },
	{ "http://www.w3.org/2000/09/xmldsig#sha1", ALGX_SHA1 },
};

/* 1 when n is the element {ns}name. */
int
saml_is(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    strcmp((const char *)n->name, name) == 0 &&
	    strcmp((const char *)n->ns->href, ns) == 0;
}

/* First element child of n, or NULL. */
xmlNode *
saml_first_elem(const xmlNode *n)
{
	xmlNode	*c;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	return NULL;
}

/* Next element sibling of n, or NULL. */
static xmlNode *
next_elem(const xmlNode *n)
{
	for (n = n->next; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (xmlNode *)n;
	return NULL;
}

/* Algorithm attribute of n (borrowed from n, "" when missing). */
static const char *
alg_of(const xmlNode *n)
{
	xmlAttr	*a;

	for (a = n->properties; a != NULL; a = a->next)
		if (a->ns == NULL && strcmp((const char *)a->name, "Algorithm") == 0 &&
		    a->children != NULL && a->children->type == XML_TEXT_NODE)
			return (const char *)a->children->content;
	return "";
}

/* Sanitised copy of untrusted text for a detail line. */
static const char *
san(const char *s, char *buf, size_t bufsz)
{
	return log_sanitize(s, strlen(s), buf, bufsz);
}

/* R5/R6: ds:Object, ds:Manifest or HMACOutputLength anywhere below n. */
static int
sig_scan_forbidden(const xmlNode *n, struct verdict *v)
{
	const xmlNode	*c;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (saml_is(c, NS_DS, "Object") || saml_is(c, NS_DS, "Manifest"))
			return verdict_set(v, R_SIG_OBJECT,
			    "ds:%s is not allowed in a metadata signature", c->name);
		if (saml_is(c, NS_DS, "HMACOutputLength"))
			return verdict_set(v, R_SIG_ALG,
			    "HMACOutputLength is not allowed (HMAC is never accepted)");
		if (sig_scan_forbidden(c, v) == -1)
			return -1;
	}
	return 0;
}

/*
 * R5: the Reference's transforms are enveloped-signature, then at most one
 * exclusive C14N (optionally with an InclusiveNamespaces child). 0 / -1 with v.
 */
static int
sig_check_transforms(const xmlNode *ref, struct verdict *v)
{
	xmlNode		*trs = NULL, *c, *t;
	char		 buf[256];
	int		 n = 0, enveloped = 0;

	for (c = saml_first_elem(ref); c != NULL; c = next_elem(c))
		if (saml_is(c, NS_DS, "Transforms")) {
			if (trs != NULL)
				return verdict_set(v, R_SIG_TRANSFORM, "several ds:Transforms elements");
			trs = c;
		}
	if (trs == NULL)
		return verdict_set(v, R_SIG_TRANSFORM,
		    "no enveloped-signature transform in the Reference");
	for (t = saml_first_elem(trs); t != NULL; t = next_elem(t)) {
		const char	*alg = alg_of(t);

		if (!saml_is(t, NS_DS, "Transform"))
			return verdict_set(v, R_SIG_TRANSFORM, "unexpected element %s in ds:Transforms",
			    san((const char *)t->name, buf, sizeof(buf)));
		n++;
		if (n == 1 && strcmp(alg, ALG_ENVELOPED) == 0) {
			enveloped = 1;
			if (saml_first_elem(t) != NULL)
				return verdict_set(v, R_SIG_TRANSFORM,
				    "enveloped-signature transform has child elements");
			continue;
		}
		if (n == 2 && (strcmp(alg, ALG_EXC) == 0 || strcmp(alg, ALG_EXC_COM) == 0)) {
			xmlNode	*in = saml_first_elem(t);

			if (in != NULL && (!saml_is(in, NS_EXC, "InclusiveNamespaces") ||
			    next_elem(in) != NULL))
				return verdict_set(v, R_SIG_TRANSFORM,
				    "exclusive C14N transform has an unexpected child");
			continue;
		}
		return verdict_set(v, R_SIG_TRANSFORM,
		    "transform %d \"%s\" is not allowed (only enveloped-signature then exclusive C14N)",
		    n, san(alg, buf, sizeof(buf)));
	}
	if (!enveloped)
		return verdict_set(v, R_SIG_TRANSFORM,
		    "no enveloped-signature transform in the Reference");
	return 0;
}

/*
 * R3-R6 on the signature element alone: shape, one Reference to the target,
 * allowed canonicalization, transforms, signature and digest algorithms.
 * Sets *keytype to the key type the signature method needs. 0 / -1 with v.
 */
static int
sig_check_structure(const xmlNode *sig, const xmlNode *target, const char *target_id,
    unsigned optin, int *keytype, struct verdict *v)
{
	xmlNode		*si, *sv, *c, *c14n = NULL, *sm = NULL, *ref = NULL, *dm = NULL;
	const char	*alg, *uri;
	char		 buf[256], buf2[256];
	size_t		 i, nref = 0;
	int		 ok;

	if (sig_scan_forbidden(sig, v) == -1)
		return -1;
	si = saml_first_elem(sig);
	if (!saml_is(si, NS_DS, "SignedInfo"))
		return verdict_set(v, R_SIG_INVALID, "ds:Signature does not start with ds:SignedInfo");
	sv = next_elem(si);
	if (!saml_is(sv, NS_DS, "SignatureValue"))
		return verdict_set(v, R_SIG_INVALID, "ds:SignedInfo is not followed by ds:SignatureValue");
	c = next_elem(sv);
	if (c != NULL && saml_is(c, NS_DS, "KeyInfo"))
		c = next_elem(c);
	if (c != NULL)
		return verdict_set(v, R_SIG_INVALID, "unexpected element %s in ds:Signature",
		    san((const char *)c->name, buf, sizeof(buf)));

	for (c = saml_first_elem(si); c != NULL; c = next_elem(c)) {
		if (saml_is(c, NS_DS, "CanonicalizationMethod") && c14n == NULL && sm == NULL && ref == NULL)
			c14n = c;
		else if (saml_is(c, NS_DS, "SignatureMethod") && c14n != NULL && sm == NULL && ref == NULL)
			sm = c;
		else if (saml_is(c, NS_DS, "Reference") && sm != NULL) {
			ref = ref == NULL ? c : ref;
			nref++;
		} else
			return verdict_set(v, R_SIG_INVALID, "unexpected element %s in ds:SignedInfo",
			    san((const char *)c->name, buf, sizeof(buf)));
	}
	if (c14n == NULL || sm == NULL)
		return verdict_set(v, R_SIG_INVALID,
		    "ds:SignedInfo lacks CanonicalizationMethod or SignatureMethod");
	if (nref != 1)
		return verdict_set(v, R_SIG_REFERENCE_COUNT,
		    "ds:SignedInfo has %zu References, exactly one is required", nref);

	/* R4: the reference names the target and nothing else */
	uri = (const char *)xmlGetNoNsProp(ref, (const xmlChar *)"URI");
	if (uri == NULL) {
		ok = 0;
		snprintf(buf2, sizeof(buf2), "(absent)");
	} else {
		if (uri[0] == '\0')
			ok = target == xmlDocGetRootElement(target->doc);
		else
			ok = uri[0] == '#' && target_id != NULL && strcmp(uri + 1, target_id) == 0;
		snprintf(buf2, sizeof(buf2), "\"%s\"", san(uri, buf, sizeof(buf)));
	}
	xmlFree((xmlChar *)uri);
	if (!ok)
		return verdict_set(v, R_SIG_REFERENCE,
		    "Reference URI %s does not resolve to the %s element", buf2,
		    target == xmlDocGetRootElement(target->doc) ? "document" : "signed");

	/* R5 */
	alg = alg_of(c14n);
	if (strcmp(alg, ALG_EXC) != 0 && strcmp(alg, ALG_EXC_COM) != 0 &&
	    strcmp(alg, ALG_C14N) != 0 && strcmp(alg, ALG_C14N_COM) != 0)
		return verdict_set(v, R_SIG_C14N, "SignedInfo canonicalization \"%s\" is not allowed",
		    san(alg, buf, sizeof(buf)));
	if (sig_check_transforms(ref, v) == -1)
		return -1;

	/* R6, before any crypto */
	alg = alg_of(sm);
	*keytype = 0;
	for (i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++)
		if (strcmp(alg, sig_algs[i].uri) == 0 && (sig_algs[i].optin & ~optin) == 0)
			*keytype = sig_algs[i].keytype;
	if (*keytype == 0)
		return verdict_set(v, R_SIG_ALG, "signature algorithm \"%s\" is not allowed",
		    san(alg, buf, sizeof(buf)));
	for (c = saml_first_elem(ref); c != NULL; c = next_elem(c))
		if (saml_is(c, NS_DS, "DigestMethod"))
			dm = c;
	alg = dm != NULL ? alg_of(dm) : "";
	ok = 0;
	for (i = 0; i < sizeof(digest_algs) / sizeof(digest_algs[0]); i++)
		if (strcmp(alg, digest_algs[i].uri) == 0 && (digest_algs[i].optin & ~optin) == 0)
			ok = 1;
	if (!ok)
		return verdict_set(v, R_SIG_DIGEST_WEAK, "digest algorithm \"%s\" is not allowed",
		    san(alg, buf, sizeof(buf)));
	return 0;
}

/* R6: RSA >= MIN_RSA_BITS, EC only on P-256/P-384. 1 strong, 0 weak (why in buf). */
static int
key_strong(EVP_PKEY *pkey, char *buf, size_t bufsz)
{
	char	 curve[64];
	size_t	 len;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) >= MIN_RSA_BITS)
			return 1;
		snprintf(buf, bufsz, "RSA key of %d bits (minimum %d)",
		    EVP_PKEY_get_bits(pkey), MIN_RSA_BITS);
		return 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, "group", curve, sizeof(curve), &len) == 1 &&
		    (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0 ||
		    strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0))
			return 1;
		snprintf(buf, bufsz, "EC key on a curve other than P-256/P-384");
		return 0;
	default:
		snprintf(buf, bufsz, "key type %d is not allowed", EVP_PKEY_get_base_id(pkey));
		return 0;
	}
}

/* Decode base64 text, ignoring whitespace. 0 and *out (caller frees), or -1. */
int
saml_b64_decode(const char *s, unsigned char **out, size_t *outsz)
{
	EVP_ENCODE_CTX	*ctx;
	unsigned char	*buf;
	char		*clean;
	size_t		 i, n = 0, len = strlen(s);
	int		 l1, l2 = 0, rc = -1;

	clean = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			clean[n++] = s[i];
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || n > INT32_MAX) {
		free(clean);
		return -1;
	}
	buf = xmalloc(n / 4 * 3 + 1);
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		fatalx("EVP_ENCODE_CTX_new");
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &l1, (unsigned char *)clean, (int)n) >= 0 &&
	    EVP_DecodeFinal(ctx, buf + l1, &l2) == 1) {
		*out = buf;
		*outsz = (size_t)(l1 + l2);
		buf = NULL;
		rc = 0;
	}
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	free(clean);
	return rc;
}

/* The certificates of ds:KeyInfo/ds:X509Data (hints only). Caller frees. */
static STACK_OF(X509) *
sig_keyinfo_certs(const xmlNode *sig)
{
	STACK_OF(X509)	*sk;
	xmlNode		*ki, *xd, *c;

	if ((sk = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null");
	for (ki = saml_first_elem(sig); ki != NULL; ki = next_elem(ki)) {
		if (!saml_is(ki, NS_DS, "KeyInfo"))
			continue;
		for (xd = saml_first_elem(ki); xd != NULL; xd = next_elem(xd)) {
			if (!saml_is(xd, NS_DS, "X509Data"))
				continue;
			for (c = saml_first_elem(xd); c != NULL; c = next_elem(c)) {
				xmlChar			*txt;
				unsigned char		*der;
				const unsigned char	*p;
				size_t			 dersz;
				X509			*x;

				if (!saml_is(c, NS_DS, "X509Certificate") || sk_X509_num(sk) >= 16)
					continue;
				txt = xmlNodeGetContent(c);
				if (txt != NULL && saml_b64_decode((char *)txt, &der, &dersz) == 0) {
					p = der;
					if ((x = d2i_X509(NULL, &p, (long)dersz)) != NULL)
						sk_X509_push(sk, x);
					free(der);
				}
				xmlFree(txt);
			}
		}
	}
	return sk;
}

/* One candidate key for the signature, and where it came from. */
struct cand {
	EVP_PKEY	*pkey;		/* borrowed */
	const char	*label;		/* borrowed */
};

/* 1 when the pin matches one of the KeyInfo certificates (hint only). */
static int
pin_hinted(const struct anchor *a, STACK_OF(X509) *hint)
{
	int	 i;

	for (i = 0; i < sk_X509_num(hint); i++) {
		X509		*x = sk_X509_value(hint, i);
		EVP_PKEY	*k = X509_get0_pubkey(x);

		if ((a->cert != NULL && X509_cmp(a->cert, x) == 0) ||
		    (k != NULL && EVP_PKEY_eq(a->pkey, k) == 1))
			return 1;
	}
	return 0;
}

/* xmlsec verification context restricted to the R5/R6 profile. */
static xmlSecDSigCtxPtr
sig_ctx_new(EVP_PKEY *pkey, unsigned optin)
{
	xmlSecDSigCtxPtr	 ctx;
	xmlSecKeyDataPtr	 data;
	xmlSecKeyPtr		 key;

	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL)
		fatalx("xmlSecDSigCtxCreate");
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
	ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
	if (xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NWithCommentsId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha256Id) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha384Id) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha512Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NWithCommentsId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NWithCommentsId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformRsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformRsaSha384Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformRsaSha512Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformEcdsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformEcdsaSha384Id) < 0)
		fatalx("xmlSecDSigCtxEnable*Transform");
	/* the operator's explicit opt-ins for this source, and nothing else */
	if (((optin & ALGX_SHA1) &&
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha1Id) < 0) ||
	    ((optin & ALGX_RSA_SHA1) &&
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformRsaSha1Id) < 0) ||
	    ((optin & ALGX_ECDSA_SHA512) &&
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformEcdsaSha512Id) < 0))
		fatalx("xmlSecDSigCtxEnable*Transform");
	/*
	 * KeyInfo is never a key source (R7): an empty list would mean "all",
	 * so only KeyName (which resolves nothing without a keys manager) is
	 * enabled, and the key is given directly.
	 */
	if (xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData,
	    (const xmlSecPtr)xmlSecKeyDataNameId) < 0)
		fatalx("xmlSecPtrListAdd");
	if (EVP_PKEY_up_ref(pkey) != 1)
		fatalx("EVP_PKEY_up_ref");
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL)
		fatalx("xmlSecOpenSSLEvpKeyAdopt");
	if ((key = xmlSecKeyCreate()) == NULL || xmlSecKeySetValue(key, data) < 0)
		fatalx("xmlSecKeyCreate");
	ctx->signKey = key;
	return ctx;
}

/*
 * R8: confirm after verification that the single reference resolved to the
 * target node itself.  xmlsec resolves "#id" through the document's ID
 * table (XPointer id()), which holds nothing but the target's ID (saml.c
 * unregisters every other ID before verifying), so looking the reference's
 * URI up in that same table must give the target's ID attribute.
 * (xmlsec 1.2 frees the resolved node set before returning, so it cannot
 * be inspected directly.)
 */
static int
sig_reference_is(xmlSecDSigCtxPtr ctx, const xmlNode *target)
{
	xmlSecDSigReferenceCtxPtr	 ref;
	xmlAttrPtr			 id;

	if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1)
		return 0;
	ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
	if (ref == NULL || ref->uri == NULL)
		return 0;
	if (ref->uri[0] == '\0')
		return target == xmlDocGetRootElement(target->doc);
	if (ref->uri[0] != '#' || (id = xmlGetID(target->doc, ref->uri + 1)) == NULL)
		return 0;
	return id->parent == target;
}

/*
 * Run xmlsec with one candidate key.  1 verified, 0 digest ok but the
 * signature value does not verify with this key, -1 with v otherwise.
 */
static int
sig_try_key(xmlNode *sig, const xmlNode *target, EVP_PKEY *pkey, unsigned optin,
    struct verdict *v)
{
	xmlSecDSigCtxPtr		 ctx;
	xmlSecDSigReferenceCtxPtr	 ref;
	int				 r, rc = -1;

	ctx = sig_ctx_new(pkey, optin);
	r = xmlSecDSigCtxVerify(ctx, sig);
	if (r == 0 && ctx->status == xmlSecDSigStatusSucceeded) {
		if (!sig_reference_is(ctx, target))
			verdict_set(v, R_SIG_REFERENCE,
			    "Reference does not resolve to the signed element itself");
		else
			rc = 1;
		goto out;
	}
	ref = xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1 ?
	    xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
	/*
	 * The digest is checked before the signature value: when it matched, a
	 * value that does not verify (or does not even decode for this key, like
	 * a 63-byte ECDSA value) means "not signed by this key", not tampering.
	 */
	if (ref != NULL && ref->status == xmlSecDSigStatusSucceeded)
		rc = 0;
	else if (r == 0 && ref != NULL)
		verdict_set(v, R_SIG_INVALID, "reference digest does not match: the signed content was modified");
	else
		verdict_set(v, R_SIG_INVALID, "signature could not be processed (malformed signature)");
 out:
	xmlSecDSigCtxDestroy(ctx);
	return rc;
}

/* Add a candidate key unless it is of the wrong type or weak (noted in weak). */
static void
cand_add(struct cand *c, size_t *n, EVP_PKEY *pkey, const char *label, int keytype,
    char *weak, size_t weaksz)
{
	char	 why[128];
	size_t	 i;

	if (EVP_PKEY_get_base_id(pkey) != keytype)
		return;
	for (i = 0; i < *n; i++)
		if (EVP_PKEY_eq(c[i].pkey, pkey) == 1)
			return;
	if (!key_strong(pkey, why, sizeof(why))) {
		snprintf(weak, weaksz, "anchor %s: %s", label, why);
		return;
	}
	c[*n].pkey = pkey;
	c[*n].label = label;
	(*n)++;
}

/* One way of trying a candidate key: 1 verified, 0 not signed by it, -1 with v. */
typedef int	(*sig_try_fn)(void *arg, EVP_PKEY *pkey, struct verdict *v);

/*
 * The candidate keys of a signature needing keytype, from as only, tried in
 * order with try(arg, key): pins named by KeyInfo first, then the other
 * pins, then KeyInfo certificates whose chain verifies (CA mode).  0 (and
 * *signer) when one verifies; -1 with v otherwise.
 */
static int
sig_verify_keys(const xmlNode *sig, int keytype, const struct anchor_set *as, time_t now,
    sig_try_fn try, void *arg, char **signer, struct verdict *v)
{
	STACK_OF(X509)	*hint = NULL;
	struct cand	*c = NULL;
	struct verdict	 chainv;
	char		 weak[256] = "", subj[256];
	size_t		 n = 0, i;
	int		 j, r, rc = -1, pass;

	hint = sig_keyinfo_certs(sig);
	c = xcalloc(as->pinsz + (size_t)sk_X509_num(hint) + 1, sizeof(*c));
	chainv.reason = R_NONE;

	/* pinned mode: the pin named by KeyInfo first, then the others */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < as->pinsz; i++)
			if (pin_hinted(&as->pins[i], hint) == (pass == 0))
				cand_add(c, &n, as->pins[i].pkey, as->pins[i].file, keytype,
				    weak, sizeof(weak));

	/* CA mode: a KeyInfo certificate becomes a key only after its chain verifies */
	for (j = 0; as->store != NULL && j < sk_X509_num(hint); j++) {
		X509	*x = sk_X509_value(hint, j);

		if (anchor_check_chain(as, x, hint, now, &chainv) == -1)
			continue;
		X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
		cand_add(c, &n, X509_get0_pubkey(x), subj, keytype, weak, sizeof(weak));
	}

	for (i = 0; i < n; i++) {
		if ((r = try(arg, c[i].pkey, v)) == -1)
			goto out;
		if (r == 1) {
			if (signer != NULL)
				*signer = xstrdup(c[i].label);
			rc = 0;
			goto out;
		}
	}
	if (weak[0] != '\0')
		verdict_set(v, R_SIG_KEY_WEAK, "no acceptable anchor verifies the signature; %s", weak);
	else if (chainv.reason != R_NONE && as->pinsz == 0)
		*v = chainv;
	else if (as->store != NULL && as->pinsz == 0 && sk_X509_num(hint) == 0)
		verdict_set(v, R_SIG_UNTRUSTED,
		    "CA mode needs the signer certificate in ds:KeyInfo/ds:X509Data");
	else if (n == 0)
		verdict_set(v, R_SIG_UNTRUSTED, "no configured anchor has a key of the type the %s signature needs",
		    keytype == EVP_PKEY_EC ? "ECDSA" : "RSA");
	else
		verdict_set(v, R_SIG_UNTRUSTED,
		    "signature does not verify with any configured anchor (%zu tried)", n);
 out:
	sk_X509_pop_free(hint, X509_free);
	free(c);
	return rc;
}

/* What the xmlsec way of trying a key needs. */
struct try_xmlsec {
	xmlNode		*sig;
	const xmlNode	*target;
	unsigned	 optin;
};

/* sig_try_fn: xmlsec on the whole tree (the tree verifier). */
static int
try_xmlsec(void *arg, EVP_PKEY *pkey, struct verdict *v)
{
	struct try_xmlsec	*t = arg;

	return sig_try_key(t->sig, t->target, pkey, t->optin, v);
}

/*
 * Verify one enveloped signature sig over target (the document element or a
 * nested EntityDescriptor/EntitiesDescriptor/role) with keys from as only.
 * The caller has registered target_id (and only it) as an ID and checked it
 * is unique.  On success 0 and, when signer is not NULL, *signer names the
 * anchor (caller frees); -1 with v otherwise.
 */
int
saml_sig_verify(xmlNode *sig, xmlNode *target, const char *target_id,
    const struct anchor_set *as, time_t now, char **signer, struct verdict *v)
{
	struct try_xmlsec	 t;
	int			 keytype = 0;

	if (sig_check_structure(sig, target, target_id, as->algs_extra, &keytype, v) == -1)
		return -1;
	t.sig = sig;
	t.target = target;
	t.optin = as->algs_extra;
	return sig_verify_keys(sig, keytype, as, now, try_xmlsec, &t, signer, v);
}

/* ------------------------------------------------------------ from a digest */

/* The digest algorithms by URI (opt-ins were checked by sig_check_structure). */
static const EVP_MD *
md_of(const char *uri)
{
	if (strcmp(uri, "http://www.w3.org/2001/04/xmlenc#sha256") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256") == 0)
		return EVP_sha256();
	if (strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#sha384") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384") == 0)
		return EVP_sha384();
	if (strcmp(uri, "http://www.w3.org/2001/04/xmlenc#sha512") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512") == 0 ||
	    strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512") == 0)
		return EVP_sha512();
	if (strcmp(uri, "http://www.w3.org/2000/09/xmldsig#sha1") == 0 ||
	    strcmp(uri, "http://www.w3.org/2000/09/xmldsig#rsa-sha1") == 0)
		return EVP_sha1();
	return NULL;
}

/* Child element {NS_DS}name of n, or NULL. */
static xmlNode *
ds_child(const xmlNode *n, const char *name)
{
	xmlNode	*c;

	for (c = n != NULL ? saml_first_elem(n) : NULL; c != NULL; c = next_elem(c))
		if (saml_is(c, NS_DS, name))
			return c;
	return NULL;
}

/* EVP digest of the Reference's DigestMethod when R6 (with optin) allows it, or NULL. */
const EVP_MD *
saml_sig_digest_md(const xmlNode *sig, unsigned optin)
{
	xmlNode	*dm;
	size_t	 i;

	dm = ds_child(ds_child(ds_child(sig, "SignedInfo"), "Reference"), "DigestMethod");
	if (dm == NULL)
		return NULL;
	for (i = 0; i < sizeof(digest_algs) / sizeof(digest_algs[0]); i++)
		if (strcmp(alg_of(dm), digest_algs[i].uri) == 0 &&
		    (digest_algs[i].optin & ~optin) == 0)
			return md_of(alg_of(dm));
	return NULL;
}

/* xmlC14NExecute visibility: the SignedInfo element and everything below it. */
static int
in_subtree(void *arg, xmlNodePtr node, xmlNodePtr parent)
{
	const xmlNode	*top = arg, *n;

	n = (node != NULL && node->type != XML_NAMESPACE_DECL) ? node : parent;
	for (; n != NULL; n = n->parent)
		if (n == top)
			return 1;
	return 0;
}

/*
 * The canonical form of SignedInfo under its CanonicalizationMethod (only
 * the shapes xmlsec accepts: exclusive with at most an InclusiveNamespaces
 * child with a space-separated PrefixList, inclusive without children).
 * Caller frees with xmlFree.  Length, or -1.
 */
static int
signedinfo_c14n(xmlNode *si, xmlChar **outp)
{
	xmlNode		*cm = ds_child(si, "CanonicalizationMethod"), *in;
	const char	*alg;
	xmlChar		*list = NULL, **prefixes = NULL;
	xmlOutputBufferPtr ob;
	int		 mode, comments, len = -1;
	size_t		 n = 0;
	char		*tok, *save, *copy = NULL;

	if (cm == NULL)
		return -1;
	alg = alg_of(cm);
	in = saml_first_elem(cm);
	if (strcmp(alg, ALG_EXC) == 0 || strcmp(alg, ALG_EXC_COM) == 0) {
		mode = XML_C14N_EXCLUSIVE_1_0;
		comments = strcmp(alg, ALG_EXC_COM) == 0;
		if (in != NULL) {
			if (!saml_is(in, NS_EXC, "InclusiveNamespaces") || next_elem(in) != NULL ||
			    (list = xmlGetNoNsProp(in, (const xmlChar *)"PrefixList")) == NULL ||
			    strpbrk((const char *)list, "\t\r\n") != NULL)
				goto out;
			copy = xstrdup((const char *)list);
			prefixes = xcalloc(strlen(copy) / 2 + 2, sizeof(*prefixes));
			for (tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
				prefixes[n++] = (xmlChar *)tok;
		}
	} else if (strcmp(alg, ALG_C14N) == 0 || strcmp(alg, ALG_C14N_COM) == 0) {
		mode = XML_C14N_1_0;
		comments = strcmp(alg, ALG_C14N_COM) == 0;
		if (in != NULL)
			goto out;
	} else
		goto out;
	if ((ob = xmlAllocOutputBuffer(NULL)) == NULL)
		fatalx("xmlAllocOutputBuffer");
	if (xmlC14NExecute(si->doc, in_subtree, si, mode, prefixes, comments, ob) >= 0 &&
	    ob->error == 0) {
		len = xmlBufUse(ob->buffer);
		*outp = xmlStrndup(xmlBufContent(ob->buffer), len);
	}
	xmlOutputBufferClose(ob);
 out:
	free(prefixes);
	free(copy);
	xmlFree(list);
	return len;
}

/* What the EVP way of trying a key needs. */
struct try_evp {
	const EVP_MD		*md;		/* of the SignatureMethod */
	const unsigned char	*tbs;		/* canonical SignedInfo */
	size_t			 tbssz;
	const unsigned char	*sigval;	/* decoded SignatureValue */
	size_t			 sigvalsz;
};

/* XMLDSig ECDSA r||s (each half the group order size) to DER, or -1. */
static int
ecdsa_raw_to_der(EVP_PKEY *pkey, const unsigned char *raw, size_t rawsz, unsigned char **der)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	size_t		 half = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	int		 len;

	if (rawsz != 2 * half)
		return -1;
	r = BN_bin2bn(raw, (int)half, NULL);
	s = BN_bin2bn(raw + half, (int)half, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL)
		fatalx("ECDSA_SIG_new");
	if (ECDSA_SIG_set0(es, r, s) != 1)
		fatalx("ECDSA_SIG_set0");
	*der = NULL;
	len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return len;
}

/*
 * sig_try_fn: EVP_DigestVerify of the decoded SignatureValue over the
 * canonical SignedInfo (the stream verifier).  1 verified, 0 not this key.
 */
static int
try_evp(void *arg, EVP_PKEY *pkey, struct verdict *v)
{
	struct try_evp		*t = arg;
	EVP_MD_CTX		*ctx;
	unsigned char		*der = NULL;
	const unsigned char	*sv = t->sigval;
	size_t			 svsz = t->sigvalsz;
	int			 len, ok;

	(void)v;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		if ((len = ecdsa_raw_to_der(pkey, sv, svsz, &der)) <= 0)
			return 0;
		sv = der;
		svsz = (size_t)len;
	} else if (svsz != (size_t)EVP_PKEY_get_size(pkey))
		return 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	ok = EVP_DigestVerifyInit(ctx, NULL, t->md, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sv, svsz, t->tbs, t->tbssz) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

/* Decoded base64 text of element n (caller frees), or -1. */
static int
b64_of(const xmlNode *n, unsigned char **out, size_t *outsz)
{
	xmlChar	*txt;
	int	 rc;

	if (n == NULL || (txt = xmlNodeGetContent(n)) == NULL)
		return -1;
	rc = saml_b64_decode((const char *)txt, out, outsz);
	xmlFree(txt);
	return rc;
}

/*
 * The root signature from a streamed digest: R3-R9 structure checks, then
 * DigestValue, then SignatureValue over SignedInfo with the candidate keys
 * of sig_verify_keys.  0 (and *signer) / -1 with v.
 */
int
saml_sig_verify_digest(xmlNode *sig, xmlNode *target, const char *target_id,
    const unsigned char *digest, size_t digestsz, const struct anchor_set *as, time_t now,
    char **signer, struct verdict *v)
{
	struct try_evp	 t;
	xmlNode		*si;
	xmlChar		*c14n = NULL;
	unsigned char	*dv = NULL, *sv = NULL;
	size_t		 dvsz = 0, svsz = 0;
	int		 keytype = 0, len, rc = -1;

	if (sig_check_structure(sig, target, target_id, as->algs_extra, &keytype, v) == -1)
		return -1;
	si = ds_child(sig, "SignedInfo");
	memset(&t, 0, sizeof(t));
	if (b64_of(ds_child(ds_child(si, "Reference"), "DigestValue"), &dv, &dvsz) == -1 ||
	    dvsz != digestsz || CRYPTO_memcmp(dv, digest, digestsz) != 0) {
		verdict_set(v, R_SIG_INVALID, "reference digest does not match: the signed content was modified");
		goto out;
	}
	if ((t.md = md_of(alg_of(ds_child(si, "SignatureMethod")))) == NULL ||
	    (len = signedinfo_c14n(si, &c14n)) < 0 ||
	    b64_of(ds_child(sig, "SignatureValue"), &sv, &svsz) == -1) {
		verdict_set(v, R_SIG_INVALID, "signature could not be processed (malformed signature)");
		goto out;
	}
	t.tbs = c14n;
	t.tbssz = (size_t)len;
	t.sigval = sv;
	t.sigvalsz = svsz;
	rc = sig_verify_keys(sig, keytype, as, now, try_evp, &t, signer, v);
 out:
	xmlFree(c14n);
	free(dv);
	free(sv);
	return rc;
}
