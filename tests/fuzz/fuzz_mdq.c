/*
 * Fuzz target: request-path decoding of the built-in HTTP server
 * (httpd_map_path: path checks, list names, bundles/SEQ.jwt and the MDQ
 * entities/<id> decoding of src/httpd.c) and the file names out_mdq.c
 * writes (mdq_encode_id).  Every input is used twice:
 *
 *   - as a request path: the answer is 400, 404 or files whose relative
 *     paths hold no decoded byte (only fixed names and hex digests), never
 *     a dot segment, never leave the generation;
 *   - as an entityID: /fuzz/entities/ + mdq_encode_id(id) must map to the
 *     {sha1} file of exactly id (decode(encode(id)) == id), and the encoded
 *     name must be a single safe path segment.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "extern.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* 1 when s is exactly n lower-case hex digits followed by suffix. */
static int
hex_then(const char *s, size_t n, const char *suffix)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	return strcmp(s + n, suffix) == 0;
}

/* 1 when p is a path the server may open below a generation. */
static int
path_safe(const char *p)
{
	static const char *const fixed[] = {
		"head.jwt", "bundle.jwt", "keys.json", "aggregate.xml"
	};
	size_t	 i, n;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(p, fixed[i]) == 0)
			return 1;
	if (strncmp(p, "bundles/", 8) == 0) {
		n = strspn(p + 8, "0123456789");
		return n > 0 && n <= 20 && strcmp(p + 8 + n, ".jwt") == 0;
	}
	if (strncmp(p, "entities/{sha1}", 15) == 0)
		return hex_then(p + 15, 40, "");
	if (strncmp(p, "entities/{sha256}", 17) == 0)
		return hex_then(p + 17, 64, ".jwt") || hex_then(p + 17, 64, ".jwks");
	return 0;
}

static void
as_path(const char *url)
{
	char	 list[65], paths[3][96];
	size_t	 i, n;
	int	 status;

	status = httpd_map_path(url, list, paths, &n);
	FUZZ_ASSERT(status == 0 || status == 400 || status == 404);
	if (status != 0)
		return;
	FUZZ_ASSERT(list[0] != '\0' && strlen(list) <= 64);
	FUZZ_ASSERT(strspn(list, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(list));
	FUZZ_ASSERT(n >= 1 && n <= 3);
	for (i = 0; i < n; i++) {
		if (!path_safe(paths[i]))
			fprintf(stderr, "unsafe mapped path \"%s\"\n", paths[i]);
		FUZZ_ASSERT(path_safe(paths[i]));
	}
}

/* Lower-case hex SHA-1 of s. */
static void
sha1_hex(const char *s, char out[41])
{
	unsigned char	 md[20];
	unsigned int	 len = sizeof(md), i;

	FUZZ_ASSERT(EVP_Digest(s, strlen(s), md, &len, EVP_sha1(), NULL) == 1);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
as_id(const char *id)
{
	char	 list[65], paths[3][96], want[200], sha1[41], *enc, *url;
	size_t	 n, i;

	if (strlen(id) > MAX_ENTITY_ID)
		return;
	enc = mdq_encode_id(id);
	/* one segment of unreserved characters and %XX, never "." or ".." */
	FUZZ_ASSERT(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~%") == strlen(enc));
	FUZZ_ASSERT(strcmp(enc, ".") != 0 && strcmp(enc, "..") != 0);
	xasprintf(&url, "/fuzz/entities/%s", enc);
	FUZZ_ASSERT(httpd_map_path(url, list, paths, &n) == 0);
	FUZZ_ASSERT(strcmp(list, "fuzz") == 0 && n >= 1);
	/* a "{sha1}HEX" or "{sha256}HEX" id names its file directly (4.10) */
	if (strncmp(id, "{sha1}", 6) == 0 && strlen(id) == 46 &&
	    strspn(id + 6, "0123456789abcdefABCDEF") == 40) {
		snprintf(want, sizeof(want), "entities/%s", id);
		for (i = 15; want[i] != '\0'; i++)
			want[i] = (char)tolower((unsigned char)want[i]);
	} else if (strncmp(id, "{sha256}", 8) == 0 && strlen(id) == 72 &&
	    strspn(id + 8, "0123456789abcdefABCDEF") == 64) {
		snprintf(want, sizeof(want), "entities/%s.jwt", id);
		for (i = 17; want[i] != '\0'; i++)
			want[i] = (char)tolower((unsigned char)want[i]);
	} else {
		sha1_hex(id, sha1);
		snprintf(want, sizeof(want), "entities/{sha1}%s", sha1);
	}
	if (strcmp(paths[0], want) != 0)
		fprintf(stderr, "id of %zu bytes: mapped to %s, want %s\n", strlen(id), paths[0],
		    want);
	FUZZ_ASSERT(strcmp(paths[0], want) == 0);
	free(url);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	/* libmicrohttpd hands the handler a C string: no NUL inside */
	if (memchr(data, '\0', size) != NULL)
		return 0;
	s = xstrndup((const char *)data, size);
	as_path(s);
	as_id(s);
	free(s);
	return 0;
}
