/*
 * libfedtrust: allocator hooks, error codes and the error setter.
 *
 * Every allocation of the library goes through fedtrustp_malloc/free, so a
 * test can fail the Nth one.  fedtrust_set_alloc_funcs() also hands the
 * hooks to jansson (json_set_alloc_funcs), which is process-global: it
 * changes the allocator of every jansson user in the process, including the
 * daemon's own JSON code.  Set the hooks once, before any JSON value exists.
 * OpenSSL's internal allocations do not go through the hooks (OpenSSL only
 * takes its hooks before its first allocation); failures there surface as
 * the error of the step that failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "config.h"
#include "lib/private.h"

static fedtrust_malloc_t	 hook_malloc = malloc;
static fedtrust_free_t		 hook_free = free;

static const char *const code_names[FEDTRUST_E_MAX] = {
	[FEDTRUST_OK] = "ok",
	[FEDTRUST_E_NOMEM] = "nomem",
	[FEDTRUST_E_ARG] = "invalid-argument",
	[FEDTRUST_E_IO] = "io",
	[FEDTRUST_E_TOO_LARGE] = "too-large",
	[FEDTRUST_E_JSON] = "json-invalid",
	[FEDTRUST_E_JWS_MALFORMED] = "jws-malformed",
	[FEDTRUST_E_JWS_HEADER] = "jws-header-forbidden",
	[FEDTRUST_E_JWS_ALG] = "jws-alg-forbidden",
	[FEDTRUST_E_JWS_TYP] = "jws-typ-invalid",
	[FEDTRUST_E_JWS_KID] = "jws-kid-unknown",
	[FEDTRUST_E_JWS_SIG] = "jws-sig-invalid",
	[FEDTRUST_E_KEY] = "key-invalid",
	[FEDTRUST_E_CLAIMS] = "claims-invalid",
	[FEDTRUST_E_EXPIRED] = "expired",
	[FEDTRUST_E_NOT_YET_VALID] = "not-yet-valid",
	[FEDTRUST_E_LIFETIME] = "lifetime-too-long",
	[FEDTRUST_E_ROLLBACK] = "rollback",
	[FEDTRUST_E_EQUIVOCATION] = "equivocation",
	[FEDTRUST_E_FORK] = "fork",
	[FEDTRUST_E_BUNDLE] = "bundle-invalid",
	[FEDTRUST_E_NOT_FOUND] = "not-found",
};

/* Stable name of an error code; "unknown" outside the enum (static). */
const char *
fedtrust_error_code_name(int code)
{
	if (code < 0 || code >= FEDTRUST_E_MAX || code_names[code] == NULL)
		return "unknown";
	return code_names[code];
}

/*
 * Replace malloc/free for the library and for jansson (process-global, see
 * above).  NULL for either restores malloc and free.
 */
void
fedtrust_set_alloc_funcs(fedtrust_malloc_t m, fedtrust_free_t f)
{
	if (m == NULL || f == NULL) {
		m = malloc;
		f = free;
	}
	hook_malloc = m;
	hook_free = f;
	json_set_alloc_funcs(m, f);
}

/* "0.1.0" (static). */
const char *
fedtrust_version(void)
{
	return PACKAGE_VERSION;
}

void *
fedtrustp_malloc(size_t sz)
{
	return hook_malloc(sz == 0 ? 1 : sz);
}

/* Zeroed array of n * sz bytes; NULL on overflow or nomem. */
void *
fedtrustp_calloc(size_t n, size_t sz)
{
	void	*p;

	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	if ((p = fedtrustp_malloc(n * sz)) != NULL)
		memset(p, 0, n * sz);
	return p;
}

/* Copy of the first len bytes of s, NUL-terminated; caller frees. */
char *
fedtrustp_strndup(const char *s, size_t len)
{
	char	*p;

	if (len == SIZE_MAX || (p = fedtrustp_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
fedtrustp_strdup(const char *s)
{
	return fedtrustp_strndup(s, strlen(s));
}

void
fedtrustp_free(void *p)
{
	if (p != NULL)
		hook_free(p);
}

void
fedtrustp_free_clear(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	hook_free(p);
}

int
fedtrustp_error_set(struct fedtrust_error *err, int code, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

void
fedtrustp_error_clear(struct fedtrust_error *err)
{
	if (err == NULL)
		return;
	err->code = FEDTRUST_OK;
	err->text[0] = '\0';
}

/*
 * Untrusted bytes for an error line: printable ASCII kept, the rest as
 * \xNN, cut at bufsz with "..." so the line stays one short line.
 */
const char *
fedtrustp_sanitize(const void *in, size_t len, char *buf, size_t bufsz)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;

	if (bufsz < 8) {
		if (bufsz > 0)
			buf[0] = '\0';
		return buf;
	}
	for (i = 0; i < len; i++) {
		/* Room for one escape, then "..." and the NUL. */
		if (o + 8 > bufsz) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			buf[o++] = p[i];
		else
			o += snprintf(buf + o, bufsz - o, "\\x%02x", p[i]);
	}
	buf[o] = '\0';
	return buf;
}
