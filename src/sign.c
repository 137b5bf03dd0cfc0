/*
 * The operator's signing key: loaded through OpenSSL's store API so that a
 * plain file today and a PKCS#11 URI (through a provider) later take the
 * same path, checked against its certificate and mapped to the XML
 * signature algorithm the aggregate is signed with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "extern.h"

/*
 * For a plain path or a "file:" URI, the file system path it names; NULL for
 * any other scheme (pkcs11: and friends are left to the store loaders).
 * Caller frees.
 */
static char *
key_file_path(const char *uri)
{
	const char	*p;

	if (strncmp(uri, "file://", 7) == 0)
		return xstrdup(uri + 7);
	if (strncmp(uri, "file:", 5) == 0)
		return xstrdup(uri + 5);
	for (p = uri; *p != '\0' && *p != '/'; p++)
		if (*p == ':')
			return NULL;
	return xstrdup(uri);
}

/*
 * Open the key file once ourselves so that a missing or unreadable file is
 * reported with the operating system's reason, which the store API hides
 * behind a generic "unsupported" error.  0 / -1 with v.
 */
static int
key_file_check(const char *uri, struct verdict *v)
{
	char	*path;
	int	 fd;

	if ((path = key_file_path(uri)) == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		verdict_set(v, R_SIGN_FAILED, "signing key %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	free(path);
	return 0;
}

/*
 * Load the first private key found at uri through OSSL_STORE.  Returns the
 * key (caller frees) or NULL with v.
 */
static EVP_PKEY *
key_load(const char *uri, struct verdict *v)
{
	OSSL_STORE_CTX	*ctx = NULL;
	OSSL_STORE_INFO	*info;
	EVP_PKEY	*key = NULL;
	char		 ebuf[256];

	if (key_file_check(uri, v) == -1)
		return NULL;
	ERR_clear_error();
	if ((ctx = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL)) == NULL) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing key %s: cannot open: %s", uri, ebuf);
		return NULL;
	}
	/* expect() may be refused by some loaders; the type check below is what counts */
	(void)OSSL_STORE_expect(ctx, OSSL_STORE_INFO_PKEY);
	while (key == NULL && !OSSL_STORE_eof(ctx)) {
		if ((info = OSSL_STORE_load(ctx)) == NULL) {
			if (OSSL_STORE_error(ctx))
				break;
			continue;
		}
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			key = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (key == NULL) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing key %s: no private key found%s%s",
		    uri, ebuf[0] ? ": " : "", ebuf);
	}
	OSSL_STORE_close(ctx);
	return key;
}

/* Read one PEM certificate. Returns it (caller frees) or NULL with v. */
static X509 *
cert_load(const char *file, struct verdict *v)
{
	FILE	*f;
	X509	*cert;
	char	 ebuf[256];

	if ((f = fopen(file, "r")) == NULL) {
		verdict_set(v, R_SIGN_FAILED, "signing certificate %s: %s", file, strerror(errno));
		return NULL;
	}
	ERR_clear_error();
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL) {
		log_openssl_errors(ebuf, sizeof(ebuf));
		verdict_set(v, R_SIGN_FAILED, "signing certificate %s: not a PEM certificate: %s",
		    file, ebuf);
	}
	return cert;
}

/*
 * Map the key to the XML signature algorithm: RSA of at least MIN_RSA_BITS,
 * EC on P-256 / P-384, or Ed25519 (bundles only).  0 / -1 with v.
 */
static int
key_xml_alg(EVP_PKEY *key, const char *uri, enum sig_alg *alg, struct verdict *v)
{
	char	 group[64];
	size_t	 glen = 0;
	int	 nid;

	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) < MIN_RSA_BITS)
			return verdict_set(v, R_SIGN_FAILED, "signing key %s: RSA key of %d bits, "
			    "at least %d required", uri, EVP_PKEY_get_bits(key), MIN_RSA_BITS);
		*alg = SIG_RSA_SHA256;
		return 0;
	}
	if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &glen))
			return verdict_set(v, R_SIGN_FAILED, "signing key %s: EC key without "
			    "a named curve", uri);
		nid = OBJ_txt2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid == NID_X9_62_prime256v1) {
			*alg = SIG_ECDSA_SHA256;
			return 0;
		}
		if (nid == NID_secp384r1) {
			*alg = SIG_ECDSA_SHA384;
			return 0;
		}
		return verdict_set(v, R_SIGN_FAILED, "signing key %s: curve %s not allowed "
		    "(P-256 or P-384)", uri, group);
	}
	/*
	 * Ed25519 signs the trust bundle (JWS) but has no XML-DSig profile here:
	 * loaded with SIG_ED25519 so a bundle-only list works, while the SAML
	 * outputs refuse it clearly when they try to sign (out_saml.c).
	 */
	if (EVP_PKEY_is_a(key, "ED25519")) {
		*alg = SIG_ED25519;
		return 0;
	}
	return verdict_set(v, R_SIGN_FAILED, "signing key %s: key type %s cannot sign "
	    "(RSA, EC P-256/P-384 or Ed25519)", uri, EVP_PKEY_get0_type_name(key) ?
	    EVP_PKEY_get0_type_name(key) : "unknown");
}

int
signer_load(struct signer *s, const char *keyuri, const char *certfile, struct verdict *v)
{
	char	 ebuf[256];
	int	 rc = -1;

	memset(s, 0, sizeof(*s));
	if (keyuri == NULL || *keyuri == '\0')
		return verdict_set(v, R_SIGN_FAILED, "no signing key configured");
	s->file = xstrdup(keyuri);
	if ((s->key = key_load(keyuri, v)) == NULL)
		goto out;
	if (key_xml_alg(s->key, keyuri, &s->xml_alg, v) == -1)
		goto out;
	if (certfile != NULL && *certfile != '\0') {
		if ((s->cert = cert_load(certfile, v)) == NULL)
			goto out;
		ERR_clear_error();
		if (X509_check_private_key(s->cert, s->key) != 1) {
			log_openssl_errors(ebuf, sizeof(ebuf));
			verdict_set(v, R_SIGN_FAILED, "signing certificate %s does not match "
			    "key %s", certfile, keyuri);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		signer_free(s);
	return rc;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	/* EVP_PKEY_free clears the private key material it owns */
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	free(s->file);
	memset(s, 0, sizeof(*s));
}
