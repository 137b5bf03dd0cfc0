/*
 * Trust anchors: pinned keys/certificates and CA mode (roots, CRLs, signer
 * name globs).  Nothing here ever looks at a document; the anchor set is
 * built from configuration only (R7).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

/* Largest anchor, CA or CRL file read. */
#define MAX_ANCHOR_FILE	(4UL * 1024 * 1024)

/* Read a whole configuration file into a memory BIO. NULL with v on error. */
static BIO *
anchor_read(const char *file, struct verdict *v)
{
	unsigned char	*buf = NULL;
	size_t		 len;
	BIO		*bio;

	if (read_file(file, MAX_ANCHOR_FILE, &buf, &len) == -1) {
		verdict_set(v, R_INTERNAL, "%s: %s", file, strerror(errno));
		return NULL;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || BIO_write(bio, buf, (int)len) != (int)len)
		fatalx("BIO_new");
	free(buf);
	return bio;
}

/* Append one pin; takes ownership of pkey and cert. */
static void
anchor_add(struct anchor_set *as, EVP_PKEY *pkey, X509 *cert, const char *file)
{
	struct anchor	*a;

	as->pins = xreallocarray(as->pins, as->pinsz + 1, sizeof(*as->pins));
	a = &as->pins[as->pinsz++];
	a->pkey = pkey;
	a->cert = cert;
	a->file = xstrdup(file);
}

/*
 * Load every CERTIFICATE, PUBLIC KEY and RSA PUBLIC KEY block of a PEM file
 * as pins (several per file for rollover), or one DER certificate.
 * 0, or -1 with v when the file is unreadable or holds no key.
 */
int
anchor_load_pins(struct anchor_set *as, const char *file, struct verdict *v)
{
	BIO		*bio;
	char		*name = NULL, *header = NULL;
	unsigned char	*data = NULL;
	long		 len;
	size_t		 before = as->pinsz;
	int		 rc = -1;

	if ((bio = anchor_read(file, v)) == NULL)
		return -1;
	while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
		const unsigned char	*p = data;
		EVP_PKEY		*pkey = NULL;
		X509			*cert = NULL;

		if (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "X509 CERTIFICATE") == 0) {
			if ((cert = d2i_X509(NULL, &p, len)) == NULL ||
			    (pkey = X509_get_pubkey(cert)) == NULL) {
				X509_free(cert);
				verdict_set(v, R_INTERNAL, "%s: certificate does not parse", file);
				goto out;
			}
		} else if (strcmp(name, "PUBLIC KEY") == 0) {
			if ((pkey = d2i_PUBKEY(NULL, &p, len)) == NULL) {
				verdict_set(v, R_INTERNAL, "%s: public key does not parse", file);
				goto out;
			}
		} else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
			if ((pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len)) == NULL) {
				verdict_set(v, R_INTERNAL, "%s: RSA public key does not parse", file);
				goto out;
			}
		}
		/* other blocks (e.g. a private key by mistake) are ignored */
		if (pkey != NULL) {
			if (as->pinsz >= MAX_ANCHORS) {
				EVP_PKEY_free(pkey);
				X509_free(cert);
				verdict_set(v, R_INTERNAL, "%s: more than %d anchors", file, MAX_ANCHORS);
				goto out;
			}
			anchor_add(as, pkey, cert, file);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	ERR_clear_error();
	if (as->pinsz == before) {
		/* not PEM: maybe one DER certificate */
		const unsigned char	*p;
		char			*mem;
		long			 memlen;
		X509			*cert;
		EVP_PKEY		*pkey;

		/* the PEM reader consumed the BIO: read the file afresh */
		BIO_free(bio);
		if ((bio = anchor_read(file, v)) == NULL)
			return -1;
		memlen = BIO_get_mem_data(bio, &mem);
		p = (const unsigned char *)mem;
		if (memlen > 0 && (cert = d2i_X509(NULL, &p, memlen)) != NULL) {
			if (p != (const unsigned char *)mem + memlen ||
			    (pkey = X509_get_pubkey(cert)) == NULL) {
				X509_free(cert);
			} else
				anchor_add(as, pkey, cert, file);
		}
		ERR_clear_error();
	}
	if (as->pinsz == before) {
		verdict_set(v, R_INTERNAL, "%s: no certificate or public key found", file);
		goto out;
	}
	rc = 0;
 out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/* The store of CA mode, created on first use with the flags we rely on. */
static X509_STORE *
anchor_store(struct anchor_set *as)
{
	if (as->store == NULL && (as->store = X509_STORE_new()) == NULL)
		fatalx("X509_STORE_new");
	return as->store;
}

/*
 * Read every certificate (PEM: all blocks; else one DER) or CRL of a file.
 * Calls add for each object; returns the count, or -1 on a parse error.
 */
static int
anchor_load_objects(struct anchor_set *as, const char *file, int crl, struct verdict *v)
{
	BIO	*bio;
	int	 n = 0;

	if ((bio = anchor_read(file, v)) == NULL)
		return -1;
	for (;;) {
		if (crl) {
			X509_CRL	*c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);

			if (c == NULL)
				break;
			X509_STORE_add_crl(anchor_store(as), c);
			X509_CRL_free(c);
		} else {
			X509	*c = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);

			if (c == NULL)
				break;
			X509_STORE_add_cert(anchor_store(as), c);
			X509_free(c);
		}
		n++;
	}
	ERR_clear_error();
	if (n == 0) {
		char			*mem;
		long			 memlen;
		const unsigned char	*p;

		/* not PEM: one DER object; the PEM reader consumed the BIO */
		BIO_free(bio);
		if ((bio = anchor_read(file, v)) == NULL)
			return -1;
		memlen = BIO_get_mem_data(bio, &mem);
		p = (const unsigned char *)mem;

		if (crl) {
			X509_CRL	*c = d2i_X509_CRL(NULL, &p, memlen);

			if (c != NULL) {
				X509_STORE_add_crl(anchor_store(as), c);
				X509_CRL_free(c);
				n++;
			}
		} else {
			X509	*c = d2i_X509(NULL, &p, memlen);

			if (c != NULL) {
				X509_STORE_add_cert(anchor_store(as), c);
				X509_free(c);
				n++;
			}
		}
		ERR_clear_error();
	}
	BIO_free(bio);
	if (n == 0)
		return verdict_set(v, R_INTERNAL, "%s: no %s found", file,
		    crl ? "CRL" : "certificate");
	return n;
}

/* Add the root certificates of file to the CA store. 0 / -1 with v. */
int
anchor_load_ca(struct anchor_set *as, const char *file, struct verdict *v)
{
	return anchor_load_objects(as, file, 0, v) == -1 ? -1 : 0;
}

/* Add the CRLs of file (PEM or DER); revocation is then checked. 0 / -1 with v. */
int
anchor_load_crl(struct anchor_set *as, const char *file, struct verdict *v)
{
	if (anchor_load_objects(as, file, 1, v) == -1)
		return -1;
	as->have_crl = 1;
	return 0;
}

/* Build the anchor set of one configured source. 0 / -1 with v. */
int
anchor_load_source(struct anchor_set *as, const struct source_conf *sc, struct verdict *v)
{
	size_t	 i;

	for (i = 0; i < sc->anchorsz; i++)
		if (anchor_load_pins(as, sc->anchors[i], v) == -1)
			return -1;
	for (i = 0; i < sc->casz; i++)
		if (anchor_load_ca(as, sc->cas[i], v) == -1)
			return -1;
	for (i = 0; i < sc->crlsz; i++)
		if (anchor_load_crl(as, sc->crls[i], v) == -1)
			return -1;
	for (i = 0; i < sc->signer_namesz; i++)
		strv_push(&as->names, &as->namesz, sc->signer_names[i]);
	as->algs_extra = sc->algs_extra;
	if (as->pinsz == 0 && as->store == NULL)
		return verdict_set(v, R_INTERNAL, "source %s: no anchor configured", sc->name);
	return 0;
}

void
anchor_set_free(struct anchor_set *as)
{
	size_t	 i;

	if (as == NULL)
		return;
	for (i = 0; i < as->pinsz; i++) {
		EVP_PKEY_free(as->pins[i].pkey);
		X509_free(as->pins[i].cert);
		free(as->pins[i].file);
	}
	free(as->pins);
	X509_STORE_free(as->store);
	strv_free(as->names, as->namesz);
	memset(as, 0, sizeof(*as));
}

/* Map an X509_V_ERR_* to our reason codes. */
static enum reason
anchor_chain_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		return R_CHAIN_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
		return R_CHAIN_CRL;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return R_CHAIN_EXPIRED;
	default:
		return R_CHAIN_UNTRUSTED;
	}
}

/* 1 when a signer name glob matches the RFC 2253 subject or a DNS/URI SAN. */
static int
anchor_name_match(const struct anchor_set *as, X509 *cert, char *subj, size_t subjsz)
{
	GENERAL_NAMES	*sans;
	BIO		*bio;
	char		*mem;
	long		 n;
	size_t		 i;
	int		 j, ok = 0;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("BIO_new");
	X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(bio, &mem);
	snprintf(subj, subjsz, "%.*s", (int)n, mem);
	BIO_free(bio);
	for (i = 0; i < as->namesz && !ok; i++)
		ok = glob_match(as->names[i], subj);
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (j = 0; sans != NULL && j < sk_GENERAL_NAME_num(sans) && !ok; j++) {
		GENERAL_NAME	*g = sk_GENERAL_NAME_value(sans, j);
		ASN1_IA5STRING	*s;
		char		*str;

		if (g->type == GEN_DNS)
			s = g->d.dNSName;
		else if (g->type == GEN_URI)
			s = g->d.uniformResourceIdentifier;
		else
			continue;
		/* an embedded NUL would let "a.org\0.evil" match "a.org" */
		if (memchr(s->data, '\0', (size_t)s->length) != NULL)
			continue;
		str = xstrndup((const char *)s->data, (size_t)s->length);
		for (i = 0; i < as->namesz && !ok; i++)
			ok = glob_match(as->names[i], str);
		free(str);
	}
	GENERAL_NAMES_free(sans);
	return ok;
}

/*
 * CA mode: validate cert (plus untrusted intermediates in chain) against the
 * configured roots at now, with revocation when CRLs are loaded, then the
 * signer name globs (none configured = any name; documented).
 * 0 / -1 with v (R_CHAIN_*).
 */
int
anchor_check_chain(const struct anchor_set *as, X509 *cert, STACK_OF(X509) *chain,
    time_t now, struct verdict *v)
{
	return anchor_verify_chain(as, cert, chain, now, "signer certificate", NULL, v);
}

/*
 * anchor_check_chain naming cert as what in messages ("partner certificate"),
 * that also hands back the validated chain (cert first, the root last) in
 * *verified when not NULL: the caller frees it with
 * sk_X509_pop_free(*verified, X509_free).  0 / -1 with v (R_CHAIN_*).
 */
int
anchor_verify_chain(const struct anchor_set *as, X509 *cert, STACK_OF(X509) *chain,
    time_t now, const char *what, STACK_OF(X509) **verified, struct verdict *v)
{
	X509_STORE_CTX		*ctx = NULL;
	X509_VERIFY_PARAM	*param;
	char			 subj[512], san[600];
	int			 rc = -1, err, depth;

	if (as->store == NULL)
		return verdict_set(v, R_CHAIN_UNTRUSTED, "no CA configured");
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, as->store, cert, chain) != 1)
		fatalx("X509_STORE_CTX_init");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	if (as->have_crl)
		X509_VERIFY_PARAM_set_flags(param,
		    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		depth = X509_STORE_CTX_get_error_depth(ctx);
		anchor_name_match(as, cert, subj, sizeof(subj));
		verdict_set(v, anchor_chain_reason(err),
		    "%s \"%s\": %s (at depth %d)", what,
		    log_sanitize(subj, strlen(subj), san, sizeof(san)),
		    X509_verify_cert_error_string(err), depth);
		ERR_clear_error();
		goto out;
	}
	if (!anchor_name_match(as, cert, subj, sizeof(subj)) && as->namesz > 0) {
		verdict_set(v, R_CHAIN_NAME,
		    "%s \"%s\" matches no configured signer name", what,
		    log_sanitize(subj, strlen(subj), san, sizeof(san)));
		goto out;
	}
	if (verified != NULL && (*verified = X509_STORE_CTX_get1_chain(ctx)) == NULL)
		fatalx("X509_STORE_CTX_get1_chain");
	rc = 0;
 out:
	X509_STORE_CTX_free(ctx);
	return rc;
}
