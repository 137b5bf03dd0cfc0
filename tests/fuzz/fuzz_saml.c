/*
 * Fuzz target: SAML metadata parsing and verification (saml_verify: R1-R11
 * of security-rules.md and the entity extraction).  The first input byte
 * chooses the mode, the rest is the document:
 *
 *   bit 0   0: verify the document as it is, against real anchors: the test
 *              signers the seeds were signed with (tests/fuzz/saml-anchors.pem,
 *              found through $top_srcdir) and the key below;
 *           1: parse the document with libxml2 here, give its root an ID
 *              when it has none, sign it (enveloped, exclusive C14N,
 *              ECDSA-SHA256) with an EC P-256 key made in LLVMFuzzerInitialize
 *              and pinned, then verify: a well-formed unsigned document walks
 *              every check after the signature (validity, embedded
 *              signatures, groups, entities, keys, extensions)
 *   bit 1   cert-validity = reject (else warn)
 *   bit 2   at most 3 entities
 *
 * Every rejection must carry a reason and a detail; an accepted set is
 * walked and freed.  Evaluation time is FUZZ_NOW.
 */
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/pem.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>

#include "extern.h"
#include "fuzz.h"

#define ANCHORS_FILE	"tests/fuzz/saml-anchors.pem"	/* below $top_srcdir */
#define FUZZ_ID		"_fuzz"

static EVP_PKEY			*key;
static struct anchor_set	 anchors;

/* Pin the public half of key, through a temporary PEM file as a config would. */
static void
pin_key(void)
{
	struct verdict	 v;
	const char	*tmp = getenv("TMPDIR");
	char		 path[4096];
	FILE		*f;
	int		 fd;

	snprintf(path, sizeof(path), "%s/fuzz_saml.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL ||
	    PEM_write_PUBKEY(f, key) != 1 || fclose(f) != 0 ||
	    anchor_load_pins(&anchors, path, &v) == -1) {
		fprintf(stderr, "fuzz_saml: cannot pin the signing key\n");
		abort();
	}
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct verdict	 v;
	const char	*top = getenv("top_srcdir");
	char		*file;

	(void)argc;
	(void)argv;
	log_init(1, 0, "fuzz_saml");
	if (xml_init() == -1 || (key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	pin_key();
	if (top != NULL) {
		file = path_join(top, ANCHORS_FILE);
		if (anchor_load_pins(&anchors, file, &v) == -1) {
			fprintf(stderr, "fuzz_saml: %s\n", v.detail);
			abort();
		}
		free(file);
	} else
		fprintf(stderr, "fuzz_saml: top_srcdir not set: the signed seeds will not verify\n");
	return 0;
}

/*
 * Sign the document in buf with key: the root gets ID FUZZ_ID unless it has
 * one, the signature becomes its first child.  The serialised document
 * (xmlFree) or NULL when libxml2 or xmlsec refuse it (not a finding: the
 * raw mode covers such input).
 */
static xmlChar *
sign_input(const uint8_t *buf, size_t len, int *outsz)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root, sig, ref;
	xmlAttrPtr	 attr;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlSecKeyDataPtr data;
	xmlChar		*id = NULL, *out = NULL;
	char		 uri[256];

	if (len > MAX_XML_TEXT || len > INT32_MAX)
		return NULL;
	/* no DTD, no entity substitution, no network: the harness stays inert */
	doc = xmlReadMemory((const char *)buf, (int)len, "fuzz.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return NULL;
	if (doc->intSubset != NULL || (root = xmlDocGetRootElement(doc)) == NULL)
		goto out;
	if ((attr = xmlHasProp(root, BAD_CAST "ID")) == NULL)
		attr = xmlSetProp(root, BAD_CAST "ID", BAD_CAST FUZZ_ID);
	if (attr == NULL || (id = xmlNodeGetContent((xmlNodePtr)attr)) == NULL ||
	    id[0] == '\0' || strlen((char *)id) > 200 ||
	    xmlAddID(NULL, doc, id, attr) == NULL)
		goto out;
	snprintf(uri, sizeof(uri), "#%s", (char *)id);
	sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
	    xmlSecTransformEcdsaSha256Id, NULL, BAD_CAST "ds");
	if (sig == NULL)
		goto out;
	if (root->children != NULL)
		xmlAddPrevSibling(root->children, sig);
	else
		xmlAddChild(root, sig);
	if ((ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
	    BAD_CAST uri, NULL)) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
		goto out;
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL || (ctx->signKey = xmlSecKeyCreate()) == NULL)
		goto out;
	if (!EVP_PKEY_up_ref(key))
		goto out;
	if ((data = xmlSecOpenSSLEvpKeyAdopt(key)) == NULL) {
		EVP_PKEY_free(key);
		goto out;
	}
	if (xmlSecKeySetValue(ctx->signKey, data) < 0) {
		xmlSecKeyDataDestroy(data);
		goto out;
	}
	if (xmlSecDSigCtxSign(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded)
		goto out;
	xmlDocDumpMemory(doc, &out, outsz);
 out:
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx);
	xmlFree(id);
	xmlFreeDoc(doc);
	return out;
}

/* Invariants of an accepted document. */
static void
check_set(const struct entity_set *set, const struct saml_opts *o)
{
	size_t	 i, j;

	FUZZ_ASSERT(set->entitiesz > 0 && set->signer != NULL);
	FUZZ_ASSERT(set->entitiesz <= (o->max_entities ? o->max_entities : MAX_ENTITIES));
	FUZZ_ASSERT(set->valid_until > FUZZ_NOW);
	for (i = 0; i < set->entitiesz; i++) {
		const struct entity	*e = &set->entities[i];

		FUZZ_ASSERT(e->id != NULL && e->id[0] != '\0' && strlen(e->id) <= MAX_ENTITY_ID);
		FUZZ_ASSERT(e->xml != NULL && e->xmlsz == strlen(e->xml));
		FUZZ_ASSERT(e->keysz <= MAX_KEYS && e->categoriesz <= MAX_CATEGORIES);
		for (j = 0; j < e->keysz; j++)
			FUZZ_ASSERT(e->keys[j].spki != NULL && e->keys[j].spkisz > 0);
		/* entities are unique by id within one document */
		if (i > 0)
			FUZZ_ASSERT(strcmp(set->entities[i - 1].id, e->id) != 0);
	}
	for (i = 0; i < set->dropsz; i++)
		FUZZ_ASSERT(set->drops[i].id != NULL && set->drops[i].reason != R_NONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct saml_opts	 o;
	struct entity_set	 set;
	struct verdict		 v;
	const unsigned char	*doc;
	xmlChar			*signed_doc = NULL;
	size_t			 len;
	int			 n;

	if (size < 1)
		return 0;
	memset(&o, 0, sizeof(o));
	o.source = "fuzz";
	o.max_validity = MAX_VALIDITY_DEFAULT;
	o.skew = MAX_SKEW_DEFAULT;
	o.cert_validity = (data[0] & 2) ? CERT_VALIDITY_REJECT : CERT_VALIDITY_WARN;
	o.max_entities = (data[0] & 4) ? 3 : 0;
	doc = data + 1;
	len = size - 1;
	if (data[0] & 1) {
		if ((signed_doc = sign_input(doc, len, &n)) == NULL) {
			FUZZ_SAY("not signed: libxml2 or xmlsec refused it\n");
			return 0;
		}
		doc = signed_doc;
		len = (size_t)n;
	}
	memset(&v, 0, sizeof(v));
	if (saml_verify(doc, len, &anchors, &o, FUZZ_NOW, &set, &v) == 0) {
		FUZZ_SAY("accepted: %zu entities, %zu dropped\n", set.entitiesz, set.dropsz);
		check_set(&set, &o);
		entity_set_free(&set);
	} else {
		FUZZ_SAY("rejected: %s: %s\n", reason_code(v.reason), v.detail);
		FUZZ_ASSERT(v.reason != R_NONE && v.detail[0] != '\0');
	}
	xmlFree(signed_doc);
	return 0;
}
