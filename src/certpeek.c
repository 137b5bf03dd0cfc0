/*
 * Read what metadata processing needs from a KeyDescriptor certificate, the
 * SubjectPublicKeyInfo bytes and notAfter, by walking the DER (RFC 5280
 * section 4.1) with ASN1_get_object.  OpenSSL 3's d2i_X509 decodes every
 * public key through its provider decoders, which costs about 100 us and a
 * dozen lock round trips per certificate: 0.5 s per 10,000 entities.  These
 * certificates are never trusted as certificates (they are bare keys), so the
 * structure is checked and nothing else is decoded.
 */
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "extern.h"

/* One DER element at *p within end: header read, *p moved past it. 0 / -1. */
static int
der_next(const unsigned char **p, const unsigned char *end, int *tag, int *xclass,
    const unsigned char **content, long *clen)
{
	const unsigned char	*s = *p;
	long			 len;
	int			 r;

	if (s >= end)
		return -1;
	r = ASN1_get_object(p, &len, tag, xclass, end - s);
	/* 0x80: error or length past the end; 0x01: indefinite length (not DER) */
	if ((r & 0x80) || (r & 0x01) || len < 0 || len > end - *p)
		return -1;
	*content = *p;
	*clen = len;
	*p += len;
	return 0;
}

/* UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ). 0 / -1. */
static int
der_time(int tag, const unsigned char *s, long len, time_t *t)
{
	struct tm	 tm;
	int		 v[7], i, n = tag == V_ASN1_UTCTIME ? 6 : 7, off = 0;

	if (!((tag == V_ASN1_UTCTIME && len == 13) || (tag == V_ASN1_GENERALIZEDTIME && len == 15)) ||
	    s[len - 1] != 'Z')
		return -1;
	for (i = 0; i < len - 1; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	for (i = 0; i < n; i++) {
		v[i] = (s[off] - '0') * 10 + (s[off + 1] - '0');
		off += 2;
	}
	memset(&tm, 0, sizeof(tm));
	if (tag == V_ASN1_UTCTIME) {
		tm.tm_year = v[0] < 50 ? v[0] + 100 : v[0];
		i = 1;
	} else {
		tm.tm_year = v[0] * 100 + v[1] - 1900;
		i = 2;
	}
	tm.tm_mon = v[i] - 1;
	tm.tm_mday = v[i + 1];
	tm.tm_hour = v[i + 2];
	tm.tm_min = v[i + 3];
	tm.tm_sec = v[i + 4];
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	*t = timegm(&tm);
	return 0;
}

int
cert_peek(const unsigned char *der, size_t len, const unsigned char **spki, size_t *spkisz,
    time_t *not_after)
{
	const unsigned char	*p = der, *end = der + len, *c, *tbs, *tend, *v, *vend, *start;
	long			 clen;
	int			 tag, xc;

	if (len < 16 || len > 1024 * 1024)
		return -1;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
	if (der_next(&p, end, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE || p != end)
		return -1;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &xc, &tbs, &clen) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	tend = tbs + clen;
	if (der_next(&p, end, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE ||
	    der_next(&p, end, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_BIT_STRING || p != end)
		return -1;
	/* TBSCertificate: [0] version OPTIONAL, serial, signature, issuer, validity, subject, spki */
	p = tbs;
	if (der_next(&p, tend, &tag, &xc, &c, &clen) == -1)
		return -1;
	if (xc == V_ASN1_CONTEXT_SPECIFIC && tag == 0 &&
	    der_next(&p, tend, &tag, &xc, &c, &clen) == -1)
		return -1;
	if (tag != V_ASN1_INTEGER ||
	    der_next(&p, tend, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE ||
	    der_next(&p, tend, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE ||
	    der_next(&p, tend, &tag, &xc, &v, &clen) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	vend = v + clen;
	if (der_next(&p, tend, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	start = p;
	if (der_next(&p, tend, &tag, &xc, &c, &clen) == -1 || tag != V_ASN1_SEQUENCE)
		return -1;
	*spki = start;
	*spkisz = (size_t)(p - start);
	/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
	p = v;
	if (der_next(&p, vend, &tag, &xc, &c, &clen) == -1 ||
	    der_next(&p, vend, &tag, &xc, &c, &clen) == -1 || p != vend)
		return -1;
	return der_time(tag, c, clen, not_after);
}
