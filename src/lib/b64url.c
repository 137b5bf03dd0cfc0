/*
 * libfedtrust: base64url without padding (RFC 7515 section 2, RFC 4648
 * section 5), with a strict decoder: one accepted spelling per byte string.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "lib/private.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, -1 for anything else. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* base64url of len bytes, no padding, NUL-terminated; caller frees. */
char *
fedtrustp_b64url_encode(const void *in, size_t len, struct fedtrust_error *err)
{
	const unsigned char	*p = in;
	char			*out;
	size_t			 i, o = 0;
	uint32_t		 v;

	if (len > (SIZE_MAX - 4) / 4 * 3) {
		fedtrustp_error_set(err, FEDTRUST_E_TOO_LARGE, "base64url: input too large");
		return NULL;
	}
	if ((out = fedtrustp_malloc((len + 2) / 3 * 4 + 1)) == NULL) {
		fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "base64url: out of memory");
		return NULL;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/*
 * Strict decode (see private.h).  The unused low bits of the last character
 * must be zero: "QR" and "QQ" would otherwise both decode to "A", and the
 * signing input of a JWS would have two spellings.
 */
int
fedtrustp_b64url_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen, struct fedtrust_error *err)
{
	unsigned char	*buf;
	size_t		 i, o = 0, rem = len % 4;
	uint32_t	 v = 0;
	int		 d;

	*out = NULL;
	*outlen = 0;
	if (rem == 1)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "base64url: impossible length %zu", len);
	for (i = 0; i < len; i++)
		if (b64url_value((unsigned char)in[i]) < 0)
			return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
			    "base64url: character 0x%02x at offset %zu is not in the "
			    "base64url alphabet (no padding, no whitespace)",
			    (unsigned char)in[i], i);
	if (rem == 2 && (b64url_value((unsigned char)in[len - 1]) & 0x0f) != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "base64url: non-zero trailing bits (not the canonical encoding)");
	if (rem == 3 && (b64url_value((unsigned char)in[len - 1]) & 0x03) != 0)
		return fedtrustp_error_set(err, FEDTRUST_E_JWS_MALFORMED,
		    "base64url: non-zero trailing bits (not the canonical encoding)");

	if ((buf = fedtrustp_malloc(len / 4 * 3 + 3)) == NULL)
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "base64url: out of memory");
	for (i = 0; i < len; i++) {
		d = b64url_value((unsigned char)in[i]);
		v = v << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			buf[o++] = v >> 16 & 0xff;
			buf[o++] = v >> 8 & 0xff;
			buf[o++] = v & 0xff;
			v = 0;
		}
	}
	if (rem == 2) {
		buf[o++] = v >> 4 & 0xff;
	} else if (rem == 3) {
		buf[o++] = v >> 10 & 0xff;
		buf[o++] = v >> 2 & 0xff;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

/* base64url (43 characters + NUL) of the SHA-256 of buf into out. 0 / -1 with err. */
int
fedtrustp_sha256_b64url(const void *buf, size_t len, char out[44], struct fedtrust_error *err)
{
	unsigned char	 md[32];
	unsigned int	 mdlen = sizeof(md);
	char		*b;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		return fedtrustp_error_set(err, FEDTRUST_E_NOMEM, "SHA-256 failed");
	}
	if ((b = fedtrustp_b64url_encode(md, mdlen, err)) == NULL)
		return -1;
	memcpy(out, b, 44);
	fedtrustp_free(b);
	return 0;
}
