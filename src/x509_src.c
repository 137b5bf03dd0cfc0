/*
 * X.509 partners (type = x509): a partner registered by its TLS client
 * certificate, or by the CA that issues its client certificates.  The
 * partner document is PEM, the partner's certificate first, then any
 * intermediates.  It must chain to the source's configured roots at now
 * (anchor.c CA mode), pass revocation against the configured CRL files and
 * the fetched CRL, and match the signer-name globs.  Nothing here reads the
 * network; `now` is always passed in.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

/* The RFC 2253 subject of x, sanitised for messages, into buf. Returns buf. */
static char *
x509_subject(X509 *x, char *buf, size_t bufsz)
{
	BIO	*bio;
	char	*mem;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("BIO_new");
	X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(bio, &mem);
	log_sanitize(n > 0 ? mem : "", n > 0 ? (size_t)n : 0, buf, bufsz);
	BIO_free(bio);
	return buf;
}

/* The same for an issuer name (of a CRL). Returns buf. */
static char *
x509_name(const X509_NAME *nm, char *buf, size_t bufsz)
{
	BIO	*bio;
	char	*mem;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("BIO_new");
	X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(bio, &mem);
	log_sanitize(n > 0 ? mem : "", n > 0 ? (size_t)n : 0, buf, bufsz);
	BIO_free(bio);
	return buf;
}

/* An ASN1_TIME as seconds since the epoch. 0 / -1 (absent or malformed). */
static int
x509_time(const ASN1_TIME *t, time_t *out)
{
	struct tm	 tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* 1 when buf holds a PEM begin line (else it is taken as DER). */
static int
x509_is_pem(const unsigned char *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

/*
 * Decode one DER certificate that must fill exactly len bytes, with
 * extensions that decode.  NULL when it does not.
 */
static X509 *
x509_decode(const unsigned char *der, long len)
{
	const unsigned char	*p = der;
	X509			*x;

	if ((x = d2i_X509(NULL, &p, len)) == NULL)
		return NULL;
	/* trailing bytes, or extensions OpenSSL could not decode */
	if (p != der + len || (X509_get_extension_flags(x) & EXFLAG_INVALID)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * Parse a partner document: PEM CERTIFICATE blocks (the partner's
 * certificate first), or one DER certificate.  Any other block (a private
 * key by mistake), a malformed block, a certificate that does not decode or
 * more than MAX_X509_CERTS reject the document.  *certs (caller frees with
 * sk_X509_pop_free) holds at least one.  0 / -1 with v (R_CERT_INVALID).
 */
static int
x509_parse_doc(const unsigned char *doc, size_t len, STACK_OF(X509) **certs,
    struct verdict *v)
{
	STACK_OF(X509)	*sk;
	BIO		*bio = NULL;
	X509		*x;
	char		*name = NULL, *header = NULL, buf[128];
	unsigned char	*data = NULL;
	unsigned long	 err;
	long		 dlen;
	int		 rc = -1;

	if ((sk = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null");
	if (doc == NULL || len == 0) {
		verdict_set(v, R_CERT_INVALID, "partner document is empty");
		goto out;
	}
	if (len > MAX_X509_DOC) {
		verdict_set(v, R_CERT_INVALID, "partner document of %zu bytes (at most %d)",
		    len, MAX_X509_DOC);
		goto out;
	}
	if (!x509_is_pem(doc, len)) {
		if ((x = x509_decode(doc, (long)len)) == NULL) {
			verdict_set(v, R_CERT_INVALID,
			    "partner document is neither PEM nor one DER certificate");
			goto out;
		}
		if (sk_X509_push(sk, x) == 0)
			fatalx("sk_X509_push");
		rc = 0;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(doc, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
	ERR_clear_error();
	while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		if (strcmp(name, "CERTIFICATE") != 0) {
			verdict_set(v, R_CERT_INVALID, "partner document holds a \"%s\" block: "
			    "only CERTIFICATE blocks are accepted",
			    log_sanitize(name, strlen(name), buf, sizeof(buf)));
			goto out;
		}
		if (sk_X509_num(sk) >= MAX_X509_CERTS) {
			verdict_set(v, R_CERT_INVALID,
			    "partner document holds more than %d certificates", MAX_X509_CERTS);
			goto out;
		}
		if ((x = x509_decode(data, dlen)) == NULL) {
			verdict_set(v, R_CERT_INVALID,
			    "certificate %d of the partner document does not parse",
			    sk_X509_num(sk) + 1);
			goto out;
		}
		if (sk_X509_push(sk, x) == 0)
			fatalx("sk_X509_push");
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	/* the reader ends with "no start line" at the end of the input; anything else is a bad block */
	err = ERR_peek_last_error();
	if (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM &&
	    ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
		verdict_set(v, R_CERT_INVALID,
		    "PEM block %d of the partner document is malformed", sk_X509_num(sk) + 1);
		goto out;
	}
	if (sk_X509_num(sk) == 0) {
		verdict_set(v, R_CERT_INVALID, "partner document holds no certificate");
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	if (rc == 0)
		*certs = sk;
	else
		sk_X509_pop_free(sk, X509_free);
	return rc;
}

/*
 * The key of certificate x (what) must be usable: RSA of MIN_RSA_BITS to
 * MAX_RSA_BITS, EC P-256/384/521 or Ed25519 when it is the partner's key
 * (it goes into the bundle), RSA of at least MIN_RSA_BITS for any other.
 * 0 / -1 with v (R_SIG_KEY_WEAK, R_CERT_INVALID).
 */
static int
x509_check_key(X509 *x, const char *what, int partner, struct verdict *v)
{
	EVP_PKEY	*pk;
	char		 subj[256], curve[64];
	int		 bits;

	if ((pk = X509_get0_pubkey(x)) == NULL) {
		ERR_clear_error();
		return verdict_set(v, R_CERT_INVALID, "%s \"%s\": public key does not decode",
		    what, x509_subject(x, subj, sizeof(subj)));
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < MIN_RSA_BITS)
			return verdict_set(v, R_SIG_KEY_WEAK,
			    "%s \"%s\": RSA key of %d bits (at least %d required)", what,
			    x509_subject(x, subj, sizeof(subj)), bits, MIN_RSA_BITS);
		if (partner && bits > MAX_RSA_BITS)
			return verdict_set(v, R_CERT_INVALID,
			    "%s \"%s\": RSA key of %d bits (at most %d)", what,
			    x509_subject(x, subj, sizeof(subj)), bits, MAX_RSA_BITS);
		return 0;
	}
	if (!partner || EVP_PKEY_is_a(pk, "ED25519"))
		return 0;
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_group_name(pk, curve, sizeof(curve), NULL) == 1 &&
		    (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp384r1") == 0 ||
		    strcmp(curve, "secp521r1") == 0))
			return 0;
		ERR_clear_error();
		return verdict_set(v, R_SIG_KEY_WEAK, "%s \"%s\": EC curve not allowed "
		    "(P-256, P-384 or P-521)", what, x509_subject(x, subj, sizeof(subj)));
	}
	return verdict_set(v, R_SIG_KEY_WEAK, "%s \"%s\": %s key not allowed "
	    "(RSA, EC P-256/384/521 or Ed25519)", what, x509_subject(x, subj, sizeof(subj)),
	    EVP_PKEY_get0_type_name(pk) != NULL ? EVP_PKEY_get0_type_name(pk) : "unknown");
}

/*
 * Parse a CRL, PEM (the first X509 CRL block) or DER (exactly one).
 * NULL with v (R_CHAIN_CRL).
 */
static X509_CRL *
x509_parse_crl(const unsigned char *buf, size_t len, struct verdict *v)
{
	const unsigned char	*p = buf;
	X509_CRL		*crl = NULL;
	BIO			*bio;

	if (buf == NULL || len == 0) {
		verdict_set(v, R_CHAIN_CRL, "CRL is empty");
		return NULL;
	}
	if (len > MAX_X509_CRL) {
		verdict_set(v, R_CHAIN_CRL, "CRL of %zu bytes (at most %lu)", len, MAX_X509_CRL);
		return NULL;
	}
	if (x509_is_pem(buf, len)) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
			fatalx("BIO_new_mem_buf");
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL && p != buf + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	ERR_clear_error();
	if (crl == NULL)
		verdict_set(v, R_CHAIN_CRL, "CRL does not parse (PEM or DER X.509 CRL expected)");
	return crl;
}

/*
 * Load the source's roots (and, when crls, its CRL files and signer-name
 * globs) into as.  0 / -1 with v.
 */
static int
x509_anchors(struct anchor_set *as, const struct source_conf *s, int crls, struct verdict *v)
{
	size_t	 i;

	memset(as, 0, sizeof(*as));
	if (s->casz == 0)
		return verdict_set(v, R_CHAIN_UNTRUSTED, "source %s: no ca configured", s->name);
	for (i = 0; i < s->casz; i++)
		if (anchor_load_ca(as, s->cas[i], v) == -1)
			return -1;
	if (!crls)
		return 0;
	for (i = 0; i < s->crlsz; i++)
		if (anchor_load_crl(as, s->crls[i], v) == -1)
			return -1;
	for (i = 0; i < s->signer_namesz; i++)
		strv_push(&as->names, &as->namesz, s->signer_names[i]);
	return 0;
}

/*
 * Whether cand may have signed crl: same name as the CRL's issuer, the
 * signature verifies with its key, keyUsage (when present) allows cRLSign.
 * 1 yes, 0 another name, -1 same name but it did not sign it (why set).
 */
static int
x509_crl_signed_by(X509_CRL *crl, X509 *cand, char *why, size_t whysz)
{
	EVP_PKEY	*pk;
	char		 subj[256];

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cand)) != 0)
		return 0;
	if ((pk = X509_get0_pubkey(cand)) == NULL || X509_CRL_verify(crl, pk) != 1) {
		ERR_clear_error();
		snprintf(why, whysz, "CRL signature does not verify with the key of \"%s\"",
		    x509_subject(cand, subj, sizeof(subj)));
		return -1;
	}
	if ((X509_get_extension_flags(cand) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(cand) & KU_CRL_SIGN)) {
		snprintf(why, whysz, "\"%s\" signed the CRL but its keyUsage lacks cRLSign",
		    x509_subject(cand, subj, sizeof(subj)));
		return -1;
	}
	return 1;
}

/*
 * Find who signed crl: a configured root of as, or an intermediate of doc
 * (certs[1..]) that itself chains to a root at now.  0 / -1 with v
 * (R_CHAIN_CRL).
 */
static int
x509_crl_signer(X509_CRL *crl, const struct anchor_set *as, STACK_OF(X509) *certs,
    time_t now, struct verdict *v)
{
	STACK_OF(X509_OBJECT)	*objs = X509_STORE_get0_objects(as->store);
	struct verdict		 cv;
	char			 why[512] = "", iss[256];
	int			 i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT	*o = sk_X509_OBJECT_value(objs, i);

		if (X509_OBJECT_get_type(o) != X509_LU_X509)
			continue;
		if (x509_crl_signed_by(crl, X509_OBJECT_get0_X509(o), why, sizeof(why)) == 1)
			return 0;
	}
	/* certs[0] is the partner: its own CRL says nothing about the partner itself */
	for (i = 1; certs != NULL && i < sk_X509_num(certs); i++) {
		X509	*x = sk_X509_value(certs, i);

		if (x509_crl_signed_by(crl, x, why, sizeof(why)) != 1)
			continue;
		if (!(X509_get_extension_flags(x) & EXFLAG_CA)) {
			snprintf(why, sizeof(why), "CRL issuer \"%s\" is not a CA",
			    x509_subject(x, iss, sizeof(iss)));
			continue;
		}
		if (anchor_verify_chain(as, x, certs, now, "CRL issuer", NULL, &cv) == 0)
			return 0;
		snprintf(why, sizeof(why), "%s", cv.detail);
	}
	if (why[0] != '\0')
		return verdict_set(v, R_CHAIN_CRL, "%s", why);
	return verdict_set(v, R_CHAIN_CRL, "CRL issuer \"%s\" is neither a configured root nor "
	    "an intermediate of the partner document",
	    x509_name(X509_CRL_get_issuer(crl), iss, sizeof(iss)));
}

/*
 * The checks of a CRL on its own at now: signer (x509_crl_signer),
 * lastUpdate not after now + skew, nextUpdate present and after now.
 * 0 and *next_update / -1 with v (R_CHAIN_CRL).
 */
static int
x509_crl_valid(X509_CRL *crl, const struct anchor_set *as, STACK_OF(X509) *certs,
    time_t now, long skew, time_t *next_update, struct verdict *v)
{
	time_t	 last, next;
	char	 t1[32], t2[32];

	if (x509_time(X509_CRL_get0_lastUpdate(crl), &last) == -1)
		return verdict_set(v, R_CHAIN_CRL, "CRL lastUpdate is malformed");
	if (X509_CRL_get0_nextUpdate(crl) == NULL)
		return verdict_set(v, R_CHAIN_CRL, "CRL has no nextUpdate");
	if (x509_time(X509_CRL_get0_nextUpdate(crl), &next) == -1)
		return verdict_set(v, R_CHAIN_CRL, "CRL nextUpdate is malformed");
	if (x509_crl_signer(crl, as, certs, now, v) == -1)
		return -1;
	if (last > now + (skew > 0 ? skew : 0))
		return verdict_set(v, R_CHAIN_CRL, "CRL lastUpdate %s is in the future (now %s)",
		    format_time(last, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)));
	if (next <= now)
		return verdict_set(v, R_CHAIN_CRL, "CRL expired: nextUpdate %s (now %s)",
		    format_time(next, t1, sizeof(t1)), format_time(now, t2, sizeof(t2)));
	*next_update = next;
	return 0;
}

/*
 * Validate a fetched CRL before the caller caches it (see extern.h):
 * signed by a configured root or an intermediate of doc, lastUpdate not
 * after now + skew, nextUpdate after now.  0 / -1 with v (R_CHAIN_CRL).
 */
int
x509_crl_check(const unsigned char *crl, size_t crlsz, const unsigned char *doc,
    size_t docsz, const struct source_conf *s, time_t now, time_t *next_update,
    struct verdict *v)
{
	struct anchor_set	 as;
	struct verdict		 dv;
	STACK_OF(X509)		*certs = NULL;
	X509_CRL		*c = NULL;
	int			 rc = -1;

	memset(&as, 0, sizeof(as));
	if ((c = x509_parse_crl(crl, crlsz, v)) == NULL)
		goto out;
	if (x509_anchors(&as, s, 0, v) == -1)
		goto out;
	/* a partner document that does not parse offers no intermediates */
	if (doc != NULL && docsz > 0 && x509_parse_doc(doc, docsz, &certs, &dv) == -1)
		certs = NULL;
	rc = x509_crl_valid(c, &as, certs, now, s->skew, next_update, v);
 out:
	sk_X509_pop_free(certs, X509_free);
	X509_CRL_free(c);
	anchor_set_free(&as);
	return rc;
}

/*
 * The nextUpdate revocation checking relied on: for the issuer of every
 * certificate of the verified chain, the newest CRL in force at now that
 * this issuer signed (the one OpenSSL picks among several); the earliest of
 * their nextUpdate values.  0 when none bounds it.
 */
static time_t
x509_crl_horizon(const struct anchor_set *as, STACK_OF(X509) *chain, time_t now)
{
	STACK_OF(X509_OBJECT)	*objs = X509_STORE_get0_objects(as->store);
	time_t			 horizon = 0, last, next, best_last, best_next;
	int			 i, j, n = sk_X509_num(chain);

	for (i = 0; i < n; i++) {
		X509	*issuer = sk_X509_value(chain, i + 1 < n ? i + 1 : i);

		best_last = -1;
		best_next = 0;
		for (j = 0; j < sk_X509_OBJECT_num(objs); j++) {
			X509_OBJECT	*o = sk_X509_OBJECT_value(objs, j);
			X509_CRL	*crl;

			if (X509_OBJECT_get_type(o) != X509_LU_CRL)
				continue;
			crl = X509_OBJECT_get0_X509_CRL(o);
			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			    X509_get_subject_name(issuer)) != 0 ||
			    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1 ||
			    x509_time(X509_CRL_get0_lastUpdate(crl), &last) == -1 || last > now) {
				ERR_clear_error();
				continue;
			}
			next = 0;
			if (X509_CRL_get0_nextUpdate(crl) != NULL &&
			    (x509_time(X509_CRL_get0_nextUpdate(crl), &next) == -1 || next <= now))
				continue;
			if (last > best_last) {
				best_last = last;
				best_next = next;
			}
		}
		if (best_next != 0 && (horizon == 0 || best_next < horizon))
			horizon = best_next;
	}
	return horizon;
}

/* Fresh malloc'd DER of x (cert) or of its SubjectPublicKeyInfo. */
static unsigned char *
x509_der(X509 *x, int spki, size_t *len)
{
	unsigned char	*der, *p;
	int		 n;

	n = spki ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), NULL) : i2d_X509(x, NULL);
	if (n <= 0)
		fatalx("i2d_X509");
	der = p = xmalloc((size_t)n);
	if ((spki ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p) : i2d_X509(x, &p)) != n)
		fatalx("i2d_X509");
	*len = (size_t)n;
	return der;
}

/* ROLE_* of an x509 entity: the source's tls_client/tls_server bits, default tls_client. */
static unsigned
x509_roles(unsigned roles)
{
	if (roles == ROLE_ALL || (roles & (ROLE_TLS_CLIENT | ROLE_TLS_SERVER)) == 0)
		return ROLE_TLS_CLIENT;
	return roles & (ROLE_TLS_CLIENT | ROLE_TLS_SERVER);
}

/* Append the one entity of a verified partner to out. */
static void
x509_entity(const struct source_conf *s, X509 *partner, int is_ca, time_t valid_until,
    struct entity_set *out)
{
	struct entity	*e;
	struct key	 k;
	size_t		 i;

	memset(&k, 0, sizeof(k));
	k.cert = x509_der(partner, 0, &k.certsz);
	k.spki = x509_der(partner, 1, &k.spkisz);
	if (x509_time(X509_get0_notAfter(partner), &k.not_after) == -1)
		k.not_after = 0;
	k.purposes = is_ca ? PURP_CA : PURP_MTLS;
	k.prov = PROV_LOCAL;

	e = entity_set_add(out);
	e->id = xstrdup(s->entity_id != NULL ? s->entity_id : s->name);
	e->proto = PROTO_X509;
	e->roles = x509_roles(s->roles);
	e->valid_until = valid_until;
	entity_add_key(e, &k);
	if (s->names_kind != NULL && s->namesz > 0) {
		e->names_kind = xstrdup(s->names_kind);
		for (i = 0; i < s->namesz; i++)
			strv_push(&e->names, &e->namesz, s->names[i]);
	}
	if (s->scoped) {
		e->scoped = 1;
		for (i = 0; i < s->scopesz && i < MAX_SCOPES; i++)
			strv_push(&e->scopes, &e->scopesz, s->scopes[i]);
	}
}

/*
 * Verify an X.509 partner document (see extern.h) at now and append its
 * one entity to out; out is untouched on failure.  The fetched crl, when
 * given, must pass x509_crl_check first.  0 / -1 with v.
 */
int
x509_src_verify(const unsigned char *doc, size_t len, const unsigned char *crl,
    size_t crlsz, const struct source_conf *s, time_t now, struct entity_set *out,
    struct verdict *v)
{
	struct anchor_set	 as;
	STACK_OF(X509)		*certs = NULL, *chain = NULL;
	X509_CRL		*c = NULL;
	X509			*partner;
	time_t			 valid_until = 0, t, crl_next;
	char			 subj[256], what[64];
	int			 i, is_ca, rc = -1;

	memset(&as, 0, sizeof(as));
	if (x509_parse_doc(doc, len, &certs, v) == -1)
		goto out;
	partner = sk_X509_value(certs, 0);
	for (i = 0; i < sk_X509_num(certs); i++) {
		snprintf(what, sizeof(what), i == 0 ? "partner certificate" :
		    "intermediate %d", i);
		if (x509_check_key(sk_X509_value(certs, i), what, i == 0, v) == -1)
			goto out;
	}
	is_ca = (X509_get_extension_flags(partner) & EXFLAG_CA) != 0;
	if (is_ca && (s->names_kind == NULL || s->namesz == 0)) {
		verdict_set(v, R_CERT_INVALID, "partner certificate \"%s\" is a CA "
		    "(basicConstraints CA:TRUE): registering a partner by its CA needs the names "
		    "its certificates must carry (tls-client-auth-subject-dn or "
		    "tls-client-auth-san-dns/-san-uri/-san-ip/-san-email)",
		    x509_subject(partner, subj, sizeof(subj)));
		goto out;
	}
	if (x509_anchors(&as, s, 1, v) == -1)
		goto out;
	/* fail closed: a configured crl-url without a CRL would silently skip revocation */
	if (s->crl_url != NULL && (crl == NULL || crlsz == 0)) {
		verdict_set(v, R_CHAIN_CRL, "crl-url is configured but no CRL is available");
		goto out;
	}
	if (crl != NULL && crlsz > 0) {
		if (x509_crl_check(crl, crlsz, doc, len, s, now, &crl_next, v) == -1 ||
		    (c = x509_parse_crl(crl, crlsz, v)) == NULL)
			goto out;
		if (X509_STORE_add_crl(as.store, c) != 1)
			ERR_clear_error();	/* the same CRL is already among the files */
		as.have_crl = 1;
	}
	if (anchor_verify_chain(&as, partner, certs, now, "partner certificate", &chain, v) == -1)
		goto out;
	/* the roots are configuration, but a weak one still makes the chain weak */
	for (i = 1; i < sk_X509_num(chain); i++) {
		snprintf(what, sizeof(what), "chain certificate %d", i);
		if (x509_check_key(sk_X509_value(chain, i), what, 0, v) == -1)
			goto out;
	}
	for (i = 0; i < sk_X509_num(chain); i++)
		if (x509_time(X509_get0_notAfter(sk_X509_value(chain, i)), &t) == 0 &&
		    (valid_until == 0 || t < valid_until))
			valid_until = t;
	if (as.have_crl && (t = x509_crl_horizon(&as, chain, now)) != 0 &&
	    (valid_until == 0 || t < valid_until))
		valid_until = t;
	x509_entity(s, partner, is_ca, valid_until, out);
	out->valid_until = valid_until;
	out->cache_duration = -1;
	free(out->signer);
	out->signer = xstrdup(x509_subject(sk_X509_value(chain, sk_X509_num(chain) - 1),
	    subj, sizeof(subj)));
	rc = 0;
 out:
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(certs, X509_free);
	X509_CRL_free(c);
	anchor_set_free(&as);
	return rc;
}
