/*
 * Tests of httpd.c against a real server on 127.0.0.1 and libcurl: small
 * generations are published with publish_generation into a temp
 * publish-dir, then every route, header (4.11), conditional GET, gzip,
 * content negotiation and error of bundle-format 4.10 is checked, with
 * traversal attempts, planted symlinks and FIFOs, hostile requests on raw
 * sockets, the per-address connection limit, /metrics and /healthz, and a
 * generation switch while a slow client still reads the old bundle.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "extern.h"
#include "testutil.h"

#define ID_SAML		"https://sp.example.org/shibboleth"
#define ID_SAML_ENC	"https%3A%2F%2Fsp.example.org%2Fshibboleth"
#define ID_OIDF		"https://op.example.org"
#define ID_XMLONLY	"urn:mace:example.org:idp"
#define BIG_BUNDLE	(16 * 1024 * 1024)

static char		*tmp, *pub;
static time_t		 test_now;
static struct httpd	*srv;
static struct metrics	*mx;
static struct config	 conf;
static struct list_conf	 conf_list;
static int		 port;

/* Published bytes, kept for comparisons. */
static char	*head_jwt, *bundle_jwt, *keys_json, *aggregate_xml;
static char	*saml_xml, *saml_jwt, *saml_jwks, *oidf_jwt, *oidf_jwks, *xmlonly_xml;

/* One HTTP exchange. */
struct resp {
	long		 status;
	char		*body;
	size_t		 len;
	char		*hdrs;
	size_t		 hlen;
};

static time_t
fixed_now(void *arg)
{
	return test_now;
}

static const struct config *
get_config(void *arg)
{
	return &conf;
}

static char *
hex_of(const EVP_MD *md, const char *s)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 n, i;
	char		*out;

	assert_int_equal(EVP_Digest(s, strlen(s), d, &n, md, NULL), 1);
	out = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return out;
}

/* The server's documented ETag: base64url of the first 16 bytes of SHA-256, quoted. */
static char *
tag_of(const char *bytes, size_t len, const char *suffix)
{
	unsigned char	 d[32];
	char		*b, *t;

	assert_int_equal(EVP_Digest(bytes, len, d, NULL, EVP_sha256(), NULL), 1);
	b = b64url_encode(d, 16);
	xasprintf(&t, "\"%s%s\"", b, suffix);
	free(b);
	return t;
}

/* A compact JWS-shaped string with this payload (the server never verifies it). */
static char *
fake_jws(const char *payload)
{
	char	*h = b64url_encode("{\"alg\":\"ES256\"}", 15), *p, *s;

	p = b64url_encode(payload, strlen(payload));
	xasprintf(&s, "%s.%s.c2lnbmF0dXJl", h, p);
	free(h);
	free(p);
	return s;
}

/* An XML document whose root carries validUntil = test_now + in, padded to about pad bytes. */
static char *
fake_xml(const char *root, const char *what, long in, size_t pad)
{
	char	 when[32], *fill, *s;

	fill = xmalloc(pad + 1);
	memset(fill, 'x', pad);
	fill[pad] = '\0';
	xasprintf(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:%s "
	    "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ID=\"_1\"\n    validUntil=\"%s\" "
	    "entityID=\"%s\"><!-- %s --></md:%s>\n", root,
	    format_time(test_now + in, when, sizeof(when)), what, fill, root);
	free(fill);
	return s;
}

static void
file_add(struct gen_file *f, size_t *n, const char *path, const char *data)
{
	f[*n].path = path;
	f[*n].data = (const unsigned char *)data;
	f[*n].len = strlen(data);
	(*n)++;
}

static void
publish(const char *list, uint64_t seq, struct gen_file *f, size_t n, int keep)
{
	struct verdict	 v;

	memset(&v, 0, sizeof(v));
	if (publish_generation(pub, list, seq, f, n, keep, &v) != 0)
		fail_msg("publish %s %" PRIu64 ": %s", list, seq, v.detail);
}

/* list demo: every kind of file; list other: a head only. */
static void
publish_demo(void)
{
	struct gen_file	 f[16];
	char		*ents = xstrdup(""), *t, *payload, *p[8];
	size_t		 n = 0, i;

	head_jwt = fake_jws("{\"bdig\":\"x\",\"iat\":1,\"seq\":1}");
	/* nested "refresh" members and a string holding one must not be taken for the top-level one */
	for (i = 0; i < 60; i++) {
		xasprintf(&t, "%s%s{\"id\":\"https://e%zu.example.org/\\\"refresh\\\":1,\","
		    "\"meta\":{\"refresh\":7},\"roles\":[\"sp\"]}", ents, i ? "," : "", i);
		free(ents);
		ents = t;
	}
	xasprintf(&payload, "{\"entities\":[%s],\"exp\":%lld,\"iat\":%lld,\"refresh\":120,"
	    "\"seq\":1,\"sources\":{\"feed\":{\"refresh\":9}}}", ents, (long long)test_now + 3600,
	    (long long)test_now);
	bundle_jwt = fake_jws(payload);
	free(payload);
	free(ents);
	keys_json = xstrdup("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\"}]}");
	aggregate_xml = fake_xml("EntitiesDescriptor", "", 250, 3000);
	saml_xml = fake_xml("EntityDescriptor", ID_SAML, 100, 2000);
	xasprintf(&payload, "{\"entities\":[{\"id\":\"%s\"}],\"exp\":%lld,\"seq\":1}", ID_SAML,
	    (long long)test_now + 200);
	saml_jwt = fake_jws(payload);
	free(payload);
	saml_jwks = xstrdup("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"saml\"}]}");
	xasprintf(&payload, "{\"entities\":[{\"id\":\"%s\"}],\"exp\":%lld,\"seq\":1}", ID_OIDF,
	    (long long)test_now + 5000);
	oidf_jwt = fake_jws(payload);
	free(payload);
	oidf_jwks = xstrdup("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"oidf\"}]}");
	xmlonly_xml = fake_xml("EntityDescriptor", ID_XMLONLY, 100000, 10);

	file_add(f, &n, "head.jwt", head_jwt);
	file_add(f, &n, "bundle.jwt", bundle_jwt);
	file_add(f, &n, "bundles/1.jwt", bundle_jwt);
	file_add(f, &n, "keys.json", keys_json);
	file_add(f, &n, "aggregate.xml", aggregate_xml);
	/* the names out_mdq.c writes: {sha1} and the percent-encoded id for XML, {sha256} for JWS/JWKS */
	t = hex_of(EVP_sha1(), ID_SAML);
	xasprintf(&p[0], "entities/{sha1}%s", t);
	free(t);
	xasprintf(&p[1], "entities/%s", ID_SAML_ENC);
	t = hex_of(EVP_sha256(), ID_SAML);
	xasprintf(&p[2], "entities/{sha256}%s.jwt", t);
	xasprintf(&p[3], "entities/{sha256}%s.jwks", t);
	free(t);
	t = hex_of(EVP_sha256(), ID_OIDF);
	xasprintf(&p[4], "entities/{sha256}%s.jwt", t);
	xasprintf(&p[5], "entities/{sha256}%s.jwks", t);
	free(t);
	t = hex_of(EVP_sha1(), ID_XMLONLY);
	xasprintf(&p[6], "entities/{sha1}%s", t);
	free(t);
	file_add(f, &n, p[0], saml_xml);
	file_add(f, &n, p[1], saml_xml);
	file_add(f, &n, p[2], saml_jwt);
	file_add(f, &n, p[3], saml_jwks);
	file_add(f, &n, p[4], oidf_jwt);
	file_add(f, &n, p[5], oidf_jwks);
	file_add(f, &n, p[6], xmlonly_xml);
	publish("demo", 1, f, n, 2);
	for (i = 0; i < 7; i++)
		free(p[i]);

	n = 0;
	file_add(f, &n, "head.jwt", "OTHER-HEAD");
	publish("other", 1, f, n, 2);
}

static int
group_setup(void **state)
{
	struct httpd_opts	 o;
	struct verdict		 v;

	signal(SIGPIPE, SIG_IGN);
	log_init(1, 0, "test_httpd");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tmp = tu_tmpdir("httpd");
	pub = path_join(tmp, "pub");
	assert_int_equal(mkdir_p(pub, 0755), 0);
	test_now = time(NULL);
	publish_demo();
	mx = metrics_new();
	conf_list.name = "demo";
	conf.lists = &conf_list;
	conf.listsz = 1;
	memset(&o, 0, sizeof(o));
	o.listen = "127.0.0.1:0";
	o.publish_dir = pub;
	o.metrics = mx;
	o.config = get_config;
	o.now = fixed_now;
	memset(&v, 0, sizeof(v));
	if ((srv = httpd_start(&o, &v)) == NULL)
		fail_msg("httpd_start: %s", v.detail);
	port = httpd_port(srv);
	assert_true(port > 0);
	return 0;
}

static int
group_teardown(void **state)
{
	httpd_stop(srv);
	metrics_free(mx);
	tu_sh("rm -rf '%s'", tmp);
	free(pub);
	free(tmp);
	free(head_jwt);
	free(bundle_jwt);
	free(keys_json);
	free(aggregate_xml);
	free(saml_xml);
	free(saml_jwt);
	free(saml_jwks);
	free(oidf_jwt);
	free(oidf_jwks);
	free(xmlonly_xml);
	curl_global_cleanup();
	return 0;
}

/* ------------------------------------------------------------ the client */

/* Bytes libcurl hands over (body or headers), NUL-terminated. */
struct acc {
	char	*buf;
	size_t	 len;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct acc	*a = arg;

	a->buf = xreallocarray(a->buf, a->len + size * n + 1, 1);
	memcpy(a->buf + a->len, p, size * n);
	a->len += size * n;
	a->buf[a->len] = '\0';
	return size * n;
}

/*
 * method (NULL = GET, "HEAD") path with extra request headers (NULL-terminated)
 * on the test server; gzip asks for and decodes gzip.  Fills r (resp_free).
 */
static void
http(struct resp *r, const char *method, const char *path, int gzip, ...)
{
	struct curl_slist	*hl = NULL;
	va_list			 ap;
	const char		*h;
	char			*url;
	struct acc		 body = { NULL, 0 }, hdrs = { NULL, 0 };
	CURL			*c = curl_easy_init();

	assert_non_null(c);
	va_start(ap, gzip);
	while ((h = va_arg(ap, const char *)) != NULL)
		hl = curl_slist_append(hl, h);
	va_end(ap);
	xasprintf(&url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (gzip)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (method != NULL && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (method != NULL && strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1&b=2");
	else if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("curl %s failed", url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = body.buf != NULL ? body.buf : xstrdup("");
	r->len = body.len;
	r->hdrs = hdrs.buf != NULL ? hdrs.buf : xstrdup("");
	r->hlen = hdrs.len;
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(url);
}

static void
resp_free(struct resp *r)
{
	free(r->body);
	free(r->hdrs);
	memset(r, 0, sizeof(*r));
}

/* Value of response header name (static buffer), or NULL. */
static const char *
hdr(const struct resp *r, const char *name)
{
	static char	 val[1024];
	const char	*p = r->hdrs, *e;
	size_t		 n = strlen(name), vl;

	while (p != NULL && *p != '\0') {
		e = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			vl = e != NULL ? (size_t)(e - p) : strlen(p);
			if (vl >= sizeof(val))
				vl = sizeof(val) - 1;
			memcpy(val, p, vl);
			val[vl] = '\0';
			return val;
		}
		p = e != NULL ? e + 2 : NULL;
	}
	return NULL;
}

static void
assert_hdr(const struct resp *r, const char *name, const char *want)
{
	const char	*v = hdr(r, name);

	if (v == NULL)
		fail_msg("no %s header in:\n%s", name, r->hdrs);
	if (strcmp(v, want) != 0)
		fail_msg("%s: '%s', expected '%s'", name, v, want);
}

static void
assert_body(const struct resp *r, const char *want)
{
	if (r->len != strlen(want) || memcmp(r->body, want, r->len) != 0)
		fail_msg("body of %zu bytes differs from the expected %zu", r->len, strlen(want));
}

/* GET path, expecting status (and no body check). */
static long
status_of(const char *path)
{
	struct resp	 r;
	long		 s;

	http(&r, NULL, path, 0, NULL);
	s = r.status;
	resp_free(&r);
	return s;
}

static void
assert_status(const char *path, long want)
{
	long	 got = status_of(path);

	if (got != want)
		fail_msg("%s: %ld, expected %ld", path, got, want);
}

/* Last-Modified the server must send for a file of the live generation of list. */
static char *
last_modified(const char *list, const char *rel)
{
	struct stat	 st;
	struct tm	 tm;
	char		*p, buf[64];

	xasprintf(&p, "%s/%s/%s", pub, list, rel);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	gmtime_r(&st.st_mtime, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return xstrdup(buf);
}

/* A TCP connection to the server (rcvbuf > 0: that receive buffer), 10 s timeouts. */
static int
raw_connect(int rcvbuf)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 10, 0 };
	int			 fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd != -1);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;		/* the server may close early: that is allowed */
		p += w;
		n -= (size_t)w;
	}
}

/* Read until EOF (or the timeout); *eof says whether the server closed. Caller frees. */
static char *
read_all(int fd, size_t *len, int *eof)
{
	char	*buf = NULL, chunk[65536];
	size_t	 cap = 0;
	ssize_t	 r;

	*len = 0;
	*eof = 0;
	for (;;) {
		r = recv(fd, chunk, sizeof(chunk), 0);
		if (r == 0)
			*eof = 1;
		if (r <= 0)
			break;
		/* doubling: a small receive buffer gives 4 KB reads of a 16 MiB body */
		while (*len + (size_t)r + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + *len, chunk, (size_t)r);
		*len += (size_t)r;
		buf[*len] = '\0';
	}
	return buf != NULL ? buf : xstrdup("");
}

/* Send req on a fresh connection and return everything the server answers. */
static char *
raw(const char *req, size_t reqlen, size_t *len, int *eof)
{
	int	 fd = raw_connect(0);
	char	*out;

	send_all(fd, req, reqlen);
	out = read_all(fd, len, eof);
	close(fd);
	return out;
}

/* ------------------------------------------------------------ tests */

static void
test_head(void **state)
{
	struct resp	 r;
	char		*tag = tag_of(head_jwt, strlen(head_jwt), ""), *lm = last_modified("demo", "head.jwt");

	http(&r, NULL, "/demo/head.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, head_jwt);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.bundle-head+jwt");
	assert_hdr(&r, "Cache-Control", "public, max-age=30, stale-if-error=3600, no-transform");
	assert_hdr(&r, "ETag", tag);
	assert_hdr(&r, "Last-Modified", lm);
	assert_hdr(&r, "Vary", "Accept-Encoding");
	resp_free(&r);

	/* a head is under GZIP_MIN bytes: never compressed, same tag */
	http(&r, NULL, "/demo/head.jwt", 1, NULL);
	assert_int_equal(r.status, 200);
	assert_null(hdr(&r, "Content-Encoding"));
	assert_hdr(&r, "ETag", tag);
	resp_free(&r);

	/* HEAD: the same headers and length, no body */
	http(&r, "HEAD", "/demo/head.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_hdr(&r, "ETag", tag);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.bundle-head+jwt");
	{
		char	 cl[32];

		snprintf(cl, sizeof(cl), "%zu", strlen(head_jwt));
		assert_hdr(&r, "Content-Length", cl);
	}
	resp_free(&r);

	/* the other list is its own generation */
	http(&r, NULL, "/other/head.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, "OTHER-HEAD");
	resp_free(&r);
	free(tag);
	free(lm);
}

static void
test_conditional(void **state)
{
	struct resp	 r;
	char		*tag = tag_of(head_jwt, strlen(head_jwt), ""), *h, *lm;

	xasprintf(&h, "If-None-Match: %s", tag);
	http(&r, NULL, "/demo/head.jwt", 0, h, NULL);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.len, 0);
	assert_hdr(&r, "ETag", tag);
	assert_hdr(&r, "Cache-Control", "public, max-age=30, stale-if-error=3600, no-transform");
	assert_hdr(&r, "Vary", "Accept-Encoding");
	resp_free(&r);
	free(h);

	/* a list of tags, a weak form of ours, and "*" */
	xasprintf(&h, "If-None-Match: \"nope\", W/\"x\" , %s", tag);
	http(&r, NULL, "/demo/head.jwt", 0, h, NULL);
	assert_int_equal(r.status, 304);
	resp_free(&r);
	free(h);
	xasprintf(&h, "If-None-Match: W/%s", tag);
	http(&r, NULL, "/demo/head.jwt", 0, h, NULL);
	assert_int_equal(r.status, 304);
	resp_free(&r);
	free(h);
	http(&r, "HEAD", "/demo/head.jwt", 0, "If-None-Match: *", NULL);
	assert_int_equal(r.status, 304);
	resp_free(&r);

	/* other tags, a truncated tag and junk: the full answer */
	http(&r, NULL, "/demo/head.jwt", 0, "If-None-Match: \"AAAAAAAAAAAAAAAAAAAAAA\"", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, head_jwt);
	resp_free(&r);
	xasprintf(&h, "If-None-Match: %.10s", tag);
	http(&r, NULL, "/demo/head.jwt", 0, h, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	free(h);
	http(&r, NULL, "/demo/head.jwt", 0, "If-None-Match: ,,,W/", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	/* If-Modified-Since: the file's own time -> 304, a second earlier -> 200 */
	lm = last_modified("demo", "head.jwt");
	xasprintf(&h, "If-Modified-Since: %s", lm);
	http(&r, NULL, "/demo/head.jwt", 0, h, NULL);
	assert_int_equal(r.status, 304);
	resp_free(&r);
	free(h);
	{
		struct tm	 tm;
		time_t		 t;
		char		 buf[64];

		memset(&tm, 0, sizeof(tm));
		assert_non_null(strptime(lm, "%a, %d %b %Y %H:%M:%S GMT", &tm));
		t = timegm(&tm) - 1;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "If-Modified-Since: %a, %d %b %Y %H:%M:%S GMT", &tm);
		http(&r, NULL, "/demo/head.jwt", 0, buf, NULL);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	/* If-None-Match wins over If-Modified-Since */
	xasprintf(&h, "If-Modified-Since: %s", lm);
	http(&r, NULL, "/demo/head.jwt", 0, h, "If-None-Match: \"other\"", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	free(h);
	free(lm);
	free(tag);
}

static void
test_bundle_files(void **state)
{
	struct resp	 r;
	char		*tag = tag_of(bundle_jwt, strlen(bundle_jwt), "");

	http(&r, NULL, "/demo/bundle.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, bundle_jwt);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.bundle+jwt");
	/* max-age is the payload's top-level refresh (120), not a nested one */
	assert_hdr(&r, "Cache-Control", "public, max-age=120, stale-if-error=86400, no-transform");
	assert_hdr(&r, "ETag", tag);
	assert_null(hdr(&r, "Content-Encoding"));
	resp_free(&r);

	http(&r, NULL, "/demo/bundles/1.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, bundle_jwt);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.bundle+jwt");
	assert_hdr(&r, "Cache-Control", "public, max-age=31536000, immutable, no-transform");
	resp_free(&r);
	assert_status("/demo/bundles/2.jwt", 404);
	assert_status("/demo/bundles/x.jwt", 404);
	assert_status("/demo/bundles/1.json", 404);

	http(&r, NULL, "/demo/keys.json", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, keys_json);
	assert_hdr(&r, "Content-Type", "application/jwk-set+json");
	assert_hdr(&r, "Cache-Control", "public, max-age=3600");
	resp_free(&r);

	/* the aggregate: max-age = min(300, validUntil - now) = 250 */
	http(&r, NULL, "/demo/aggregate.xml", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, aggregate_xml);
	assert_hdr(&r, "Content-Type", "application/samlmetadata+xml");
	assert_hdr(&r, "Cache-Control", "public, max-age=250, no-transform");
	resp_free(&r);
	free(tag);
}

static void
test_gzip(void **state)
{
	struct resp	 r;
	char		*tag = tag_of(bundle_jwt, strlen(bundle_jwt), ""), *gztag, *h, cl[32];

	gztag = tag_of(bundle_jwt, strlen(bundle_jwt), "-gz");
	/* libcurl asks for gzip and decodes: the round trip gives the file's bytes */
	http(&r, NULL, "/demo/bundle.jwt", 1, NULL);
	assert_int_equal(r.status, 200);
	assert_hdr(&r, "Content-Encoding", "gzip");
	assert_hdr(&r, "ETag", gztag);
	assert_hdr(&r, "Vary", "Accept-Encoding");
	assert_true(atol(hdr(&r, "Content-Length")) < (long)strlen(bundle_jwt));
	assert_body(&r, bundle_jwt);
	resp_free(&r);
	/* again, from the cache */
	http(&r, NULL, "/demo/bundle.jwt", 1, NULL);
	assert_hdr(&r, "Content-Encoding", "gzip");
	assert_body(&r, bundle_jwt);
	resp_free(&r);

	/* validators are per representation */
	xasprintf(&h, "If-None-Match: %s", gztag);
	http(&r, NULL, "/demo/bundle.jwt", 1, h, NULL);
	assert_int_equal(r.status, 304);
	assert_hdr(&r, "ETag", gztag);
	resp_free(&r);
	http(&r, NULL, "/demo/bundle.jwt", 0, h, NULL);
	assert_int_equal(r.status, 200);
	assert_hdr(&r, "ETag", tag);
	resp_free(&r);
	free(h);

	/* q=0 and identity refuse gzip; "*" accepts it */
	http(&r, NULL, "/demo/bundle.jwt", 0, "Accept-Encoding: gzip;q=0, identity", NULL);
	assert_null(hdr(&r, "Content-Encoding"));
	snprintf(cl, sizeof(cl), "%zu", strlen(bundle_jwt));
	assert_hdr(&r, "Content-Length", cl);
	assert_body(&r, bundle_jwt);
	resp_free(&r);
	http(&r, "HEAD", "/demo/bundle.jwt", 0, "Accept-Encoding: br, *;q=0.5", NULL);
	assert_int_equal(r.status, 200);
	assert_hdr(&r, "Content-Encoding", "gzip");
	resp_free(&r);

	/* entity documents are compressed too (2 KiB XML) */
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 1, NULL);
	assert_int_equal(r.status, 200);
	assert_hdr(&r, "Content-Encoding", "gzip");
	assert_body(&r, saml_xml);
	resp_free(&r);
	free(gztag);
	free(tag);
}

static void
test_entities(void **state)
{
	struct resp	 r;
	char		*sha1 = hex_of(EVP_sha1(), ID_SAML), *sha256 = hex_of(EVP_sha256(), ID_SAML);
	char		*p, *up, *h, *tag;
	size_t		 i;

	/* no Accept: the signed XML, %2F kept inside the id */
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0, "Accept:", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_xml);
	assert_hdr(&r, "Content-Type", "application/samlmetadata+xml");
	assert_hdr(&r, "Cache-Control", "public, max-age=100, no-transform");
	assert_hdr(&r, "Vary", "Accept, Accept-Encoding");
	tag = tag_of(saml_xml, strlen(saml_xml), "");
	assert_hdr(&r, "ETag", tag);
	resp_free(&r);
	/* lower-case hex, and Accept: any type */
	http(&r, NULL, "/demo/entities/https%3a%2f%2fsp.example.org%2fshibboleth", 0,
	    "Accept: */*", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_xml);
	resp_free(&r);
	/* conditional GET on a negotiated resource */
	xasprintf(&h, "If-None-Match: %s", tag);
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0, h, NULL);
	assert_int_equal(r.status, 304);
	assert_hdr(&r, "Vary", "Accept, Accept-Encoding");
	resp_free(&r);
	free(h);

	/* {sha1}: lower, upper case and with encoded braces */
	xasprintf(&p, "/demo/entities/{sha1}%s", sha1);
	http(&r, NULL, p, 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_xml);
	resp_free(&r);
	free(p);
	up = xstrdup(sha1);
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	xasprintf(&p, "/demo/entities/%%7Bsha1%%7D%s", up);
	http(&r, NULL, p, 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_xml);
	resp_free(&r);
	/* a {sha1} id exists only as XML */
	http(&r, NULL, p, 0, "Accept: application/vnd.fedtrust.entity+jwt", NULL);
	assert_int_equal(r.status, 406);
	assert_hdr(&r, "Vary", "Accept");
	resp_free(&r);
	free(p);
	free(up);

	/* the entity JWS: max-age = min(300, exp - now) = 200 */
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0,
	    "Accept: application/vnd.fedtrust.entity+jwt", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_jwt);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.entity+jwt");
	assert_hdr(&r, "Cache-Control", "public, max-age=200, no-transform");
	assert_hdr(&r, "Vary", "Accept, Accept-Encoding");
	resp_free(&r);
	xasprintf(&p, "/demo/entities/{sha256}%s", sha256);
	http(&r, NULL, p, 0, "Accept: application/vnd.fedtrust.entity+jwt", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_jwt);
	resp_free(&r);
	http(&r, NULL, p, 0, "Accept: application/jwk-set+json", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, saml_jwks);
	assert_hdr(&r, "Content-Type", "application/jwk-set+json");
	assert_hdr(&r, "Cache-Control", "public, max-age=300, no-transform");
	resp_free(&r);
	/* a {sha256} id has no XML */
	http(&r, NULL, p, 0, "Accept: application/samlmetadata+xml", NULL);
	assert_int_equal(r.status, 406);
	resp_free(&r);
	free(p);

	/* q-values decide; the most specific range wins */
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0, "Accept: application/samlmetadata+xml;q=0.2, "
	    "application/vnd.fedtrust.entity+jwt;q=0.9", NULL);
	assert_body(&r, saml_jwt);
	resp_free(&r);
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0,
	    "Accept: application/*;q=0.1, application/jwk-set+json", NULL);
	assert_body(&r, saml_jwks);
	resp_free(&r);
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0,
	    "Accept: */*, application/samlmetadata+xml;q=0", NULL);
	assert_body(&r, saml_jwt);
	resp_free(&r);
	http(&r, NULL, "/demo/entities/" ID_SAML_ENC, 0, "Accept: text/html", NULL);
	assert_int_equal(r.status, 406);
	resp_free(&r);

	/* an OIDF-only id: no XML (406), the JWS by default */
	http(&r, NULL, "/demo/entities/https%3A%2F%2Fop.example.org", 0,
	    "Accept: application/samlmetadata+xml", NULL);
	assert_int_equal(r.status, 406);
	assert_hdr(&r, "Cache-Control", "public, max-age=60");
	resp_free(&r);
	http(&r, NULL, "/demo/entities/https%3A%2F%2Fop.example.org", 0, "Accept:", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, oidf_jwt);
	assert_hdr(&r, "Cache-Control", "public, max-age=300, no-transform");
	resp_free(&r);
	/* an XML-only id: no JWS (406); a wildcard falls back to the XML */
	http(&r, NULL, "/demo/entities/urn%3Amace%3Aexample.org%3Aidp", 0,
	    "Accept: application/vnd.fedtrust.entity+jwt", NULL);
	assert_int_equal(r.status, 406);
	resp_free(&r);
	http(&r, NULL, "/demo/entities/urn%3Amace%3Aexample.org%3Aidp", 0,
	    "Accept: application/jwk-set+json, */*;q=0.1", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, xmlonly_xml);
	resp_free(&r);
	/* unknown ids: 404, cached for a minute */
	http(&r, NULL, "/demo/entities/https%3A%2F%2Fnobody.example.org", 0, NULL);
	assert_int_equal(r.status, 404);
	assert_hdr(&r, "Cache-Control", "public, max-age=60");
	resp_free(&r);
	assert_status("/demo/entities/{sha1}0000000000000000000000000000000000000000", 404);
	assert_status("/demo/entities/{sha1}zz", 404);
	assert_status("/demo/entities/", 404);

	/* entities alone: the aggregate or the bundle */
	http(&r, NULL, "/demo/entities", 0, "Accept:", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, aggregate_xml);
	assert_hdr(&r, "Vary", "Accept, Accept-Encoding");
	resp_free(&r);
	http(&r, NULL, "/demo/entities", 0, "Accept: application/vnd.fedtrust.bundle+jwt", NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, bundle_jwt);
	assert_hdr(&r, "Content-Type", "application/vnd.fedtrust.bundle+jwt");
	assert_hdr(&r, "Cache-Control", "public, max-age=120, stale-if-error=86400, no-transform");
	resp_free(&r);
	http(&r, NULL, "/demo/entities", 0, "Accept: application/vnd.fedtrust.entity+jwt", NULL);
	assert_int_equal(r.status, 406);
	resp_free(&r);
	assert_status("/other/entities", 404);
	free(tag);
	free(sha1);
	free(sha256);
}

static void
test_errors(void **state)
{
	struct resp	 r;
	const char	*const methods[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };
	size_t		 i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		http(&r, methods[i], "/demo/head.jwt", 0, NULL);
		if (r.status != 405)
			fail_msg("%s: %ld", methods[i], r.status);
		assert_hdr(&r, "Allow", "GET, HEAD");
		resp_free(&r);
	}
	http(&r, NULL, "/demo/nothing.txt", 0, NULL);
	assert_int_equal(r.status, 404);
	assert_hdr(&r, "Cache-Control", "public, max-age=60");
	resp_free(&r);
	assert_status("/", 404);
	assert_status("/demo", 404);
	assert_status("/demo/", 404);
	assert_status("/nolist/head.jwt", 404);
	assert_status("/Demo/head.jwt", 404);
	assert_status("/demo/head.jwt/", 404);
	assert_status("/demo/head.jwt?x=1", 200);
	assert_status("/demo/bundles/", 404);
}

static void
test_traversal(void **state)
{
	char	*t, *p, *link;

	assert_status("/demo/../other/head.jwt", 400);
	assert_status("/demo/./head.jwt", 400);
	assert_status("/demo//head.jwt", 400);
	assert_status("/demo/bundles/../head.jwt", 400);
	assert_status("/../etc/passwd", 400);
	/* encoded dots and slashes never leave the entities folder or the list */
	assert_status("/demo/entities/..%2F..%2Fother%2Fhead.jwt", 404);
	assert_status("/demo/entities/%2e%2e%2f%2e%2e%2fother%2fhead.jwt", 404);
	assert_status("/demo/entities/%2e%2e", 404);
	assert_status("/demo/entities/%2E", 404);
	assert_status("/%2e%2e/demo/head.jwt", 404);
	assert_status("/demo%2F..%2Fother/head.jwt", 404);
	assert_status("/demo%2fhead.jwt", 404);
	assert_status("/.gen/demo/00000000000000000001/head.jwt", 404);
	assert_status("/demo/%2e%2e/other/head.jwt", 404);
	assert_status("/demo/entities/a/b", 404);
	/* bad escapes and NUL */
	assert_status("/demo/entities/%zz", 400);
	assert_status("/demo/entities/abc%2", 400);
	assert_status("/demo/entities/%00", 400);

	/* a symlink and a FIFO planted in the live generation are not served */
	t = hex_of(EVP_sha1(), "evil");
	xasprintf(&link, "%s/demo/entities/{sha1}%s", pub, t);
	assert_int_equal(symlink("../head.jwt", link), 0);
	assert_status("/demo/entities/evil", 404);
	free(link);
	free(t);
	t = hex_of(EVP_sha1(), "fifo");
	xasprintf(&p, "%s/demo/entities/{sha1}%s", pub, t);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_status("/demo/entities/fifo", 404);
	free(p);
	free(t);
	/* a list whose link leads to a plain file */
	xasprintf(&p, "%s/plain", pub);
	assert_int_equal(tu_sh("echo x > '%s'", p), 0);
	assert_status("/plain/head.jwt", 404);
	free(p);
}

/* Requests no client should send: the server answers and stays up. */
static void
test_hostile(void **state)
{
	char	*out, *req, *path;
	size_t	 len;
	int	 eof;

	/* a 40 KiB path: refused by libmicrohttpd's header memory cap */
	path = xmalloc(40 * 1024 + 1);
	memset(path, 'a', 40 * 1024);
	path[0] = '/';
	path[40 * 1024] = '\0';
	xasprintf(&req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	out = raw(req, strlen(req), &len, &eof);
	assert_true(strncmp(out, "HTTP/1.1 4", 10) == 0);
	free(out);
	free(req);
	free(path);

	/* an unknown method */
	req = "BREW /demo/head.jwt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	out = raw(req, strlen(req), &len, &eof);
	assert_true(strncmp(out, "HTTP/1.1 405", 12) == 0);
	assert_non_null(strstr(out, "Allow: GET, HEAD"));
	free(out);

	/* a GET with a body that never arrives: answered, then the connection is closed */
	req = "GET /demo/head.jwt HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc";
	out = raw(req, strlen(req), &len, &eof);
	assert_true(strncmp(out, "HTTP/1.1 200", 12) == 0);
	assert_non_null(strstr(out, head_jwt));
	assert_true(eof);
	free(out);

	/* broken header values */
	req = "GET /demo/entities HTTP/1.1\r\nHost: x\r\nAccept: ;;;,,q=,*/*;q=zz\r\n"
	    "Accept-Encoding: ;q=\r\nIf-None-Match: \"\r\nIf-Modified-Since: yesterday\r\n"
	    "Connection: close\r\n\r\n";
	out = raw(req, strlen(req), &len, &eof);
	assert_true(strncmp(out, "HTTP/1.1 ", 9) == 0);
	free(out);
	/* garbage instead of HTTP */
	req = "\x01\x02\x03 / HTTP/9\r\n\r\n";
	out = raw(req, strlen(req), &len, &eof);
	free(out);
	assert_status("/demo/head.jwt", 200);
}

/* One client thread of test_concurrent: gzip'd, plain and conditional GETs. */
static void *
client(void *arg)
{
	struct resp	 r;
	long		 bad = 0;
	int		 i;

	for (i = 0; i < 30; i++) {
		http(&r, NULL, (i & 1) ? "/demo/bundle.jwt" : "/demo/entities/" ID_SAML_ENC,
		    i % 3 == 0, NULL);
		if (r.status != 200 || strcmp(r.body, (i & 1) ? bundle_jwt : saml_xml) != 0)
			bad++;
		resp_free(&r);
	}
	return (void *)bad;
}

/* Threads hitting the same cached files at once (races show under the sanitizers). */
static void
test_concurrent(void **state)
{
	pthread_t	 t[8];
	void		*bad;
	size_t		 i;

	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, client, NULL), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

/* Requests without a body keep the connection open for the next one. */
static void
test_keepalive(void **state)
{
	const char	*req = "GET /demo/head.jwt HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /demo/keys.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n"
	    "GET /demo/keys.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char		*out, *p;
	size_t		 len;
	int		 eof, n = 0;

	out = raw(req, strlen(req), &len, &eof);
	for (p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
		n++;
	assert_int_equal(n, 3);
	assert_true(strncmp(out, "HTTP/1.1 200", 12) == 0);
	assert_non_null(strstr(out, "HTTP/1.1 304"));
	assert_non_null(strstr(out, keys_json));
	assert_true(eof);
	free(out);
}

/* 1 when a plain GET of the head on a fresh connection gets 200 (no test failure otherwise). */
static int
raw_ok(void)
{
	const char	*req = "GET /demo/head.jwt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char		*out;
	size_t		 len;
	int		 eof, ok;

	out = raw(req, strlen(req), &len, &eof);
	ok = strncmp(out, "HTTP/1.1 200", 12) == 0;
	free(out);
	return ok;
}

/* More connections from one address than MAX_HTTP_PER_IP: the extra ones are closed. */
static void
test_connection_limit(void **state)
{
	struct pollfd	 pfd[MAX_HTTP_PER_IP + 8];
	int		 fd[MAX_HTTP_PER_IP + 8], i, n = MAX_HTTP_PER_IP + 8, closed = 0, rounds;
	char		 c;

	for (i = 0; i < n; i++) {
		pfd[i].fd = fd[i] = raw_connect(0);
		pfd[i].events = POLLIN;
	}
	/* up to 10 s for the server to close the 8 it must refuse (closed ones leave the poll set) */
	for (rounds = 0; closed < 8 && rounds < 100; rounds++) {
		if (poll(pfd, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pfd[i].fd != -1 && pfd[i].revents != 0 &&
			    recv(pfd[i].fd, &c, 1, MSG_DONTWAIT) == 0) {
				pfd[i].fd = -1;
				closed++;
			}
	}
	assert_true(closed >= 8);
	assert_true(closed < n);
	for (i = 0; i < n; i++)
		close(fd[i]);
	/* the server notices the closed connections and serves again */
	for (i = 0; i < 50 && !raw_ok(); i++)
		usleep(100 * 1000);
	assert_status("/demo/head.jwt", 200);
}

static void
test_metrics_health(void **state)
{
	struct resp	 r;

	http(&r, NULL, "/healthz", 0, NULL);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "list demo: never published"));
	resp_free(&r);
	metrics_published(mx, "demo", 1, test_now, 4, strlen(bundle_jwt), test_now + 3600);
	http(&r, NULL, "/healthz", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.body, "ok\n", 3) == 0);
	assert_hdr(&r, "Cache-Control", "no-store");
	resp_free(&r);

	assert_status("/demo/nothing", 404);
	http(&r, NULL, "/metrics", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_hdr(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "fedtrust_http_requests_total{code=\"404\"}"));
	assert_non_null(strstr(r.body, "fedtrust_http_requests_total{code=\"200\"}"));
	assert_non_null(strstr(r.body, "fedtrust_http_requests_total{code=\"304\"}"));
	assert_non_null(strstr(r.body, "fedtrust_http_requests_total{code=\"406\"}"));
	resp_free(&r);
	http(&r, "POST", "/metrics", 0, NULL);
	assert_int_equal(r.status, 405);
	resp_free(&r);
}

/*
 * A slow client holds the response of a 16 MiB bundle.jwt of generation 1
 * while generation 2 is published and generation 1's folder removed: a new
 * request gets the new bytes, the old response still completes with the old.
 */
static void
test_generation_switch(void **state)
{
	struct gen_file	 f[2];
	struct resp	 r;
	char		*big, *req, *got, *body, head[4096], *he;
	size_t		 n = 0, len, i, hl = 0;
	ssize_t		 k;
	int		 fd, eof;

	big = xmalloc(BIG_BUNDLE + 1);
	for (i = 0; i < BIG_BUNDLE; i++)
		big[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		    [(i * 2654435761u >> 7) & 63];
	big[BIG_BUNDLE] = '\0';
	file_add(f, &n, "bundle.jwt", big);
	publish("swap", 1, f, n, 0);

	fd = raw_connect(4096);
	/* the rest comes after a publication: under a sanitizer on a loaded machine
	 * that can take longer than the usual 10 s between two chunks */
	{
		struct timeval	 tv = { 60, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	req = "GET /swap/bundle.jwt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	send_all(fd, req, strlen(req));
	/* read the header and a little of the body, then stall */
	while ((he = memmem(head, hl, "\r\n\r\n", 4)) == NULL && hl < sizeof(head) - 1) {
		k = recv(fd, head + hl, sizeof(head) - 1 - hl, 0);
		assert_true(k > 0);
		hl += (size_t)k;
	}
	assert_non_null(he);
	assert_true(strncmp(head, "HTTP/1.1 200", 12) == 0);

	n = 0;
	file_add(f, &n, "bundle.jwt", "NEW-BUNDLE");
	publish("swap", 2, f, n, 0);
	assert_int_equal(tu_sh("test ! -e '%s/.gen/swap/00000000000000000001'", pub), 0);
	http(&r, NULL, "/swap/bundle.jwt", 0, NULL);
	assert_int_equal(r.status, 200);
	assert_body(&r, "NEW-BUNDLE");
	resp_free(&r);

	got = read_all(fd, &len, &eof);
	close(fd);
	assert_true(eof);
	body = xmalloc(hl + len + 1);
	memcpy(body, head, hl);
	memcpy(body + hl, got, len);
	he = (char *)memmem(body, hl + len, "\r\n\r\n", 4) + 4;
	assert_int_equal((size_t)(body + hl + len - he), (size_t)BIG_BUNDLE);
	assert_memory_equal(he, big, BIG_BUNDLE);
	free(body);
	free(got);
	free(big);
}

static void
test_start_errors(void **state)
{
	struct httpd_opts	 o;
	struct verdict		 v;
	char			 addr[64];
	const char		*bad[] = { "nonsense", "127.0.0.1", "127.0.0.1:99999", "::1:80",
	    "[::1:80", "127.0.0.1:", "", "256.1.1.1:80" };
	size_t			 i;

	memset(&o, 0, sizeof(o));
	o.publish_dir = pub;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&v, 0, sizeof(v));
		o.listen = bad[i];
		assert_null(httpd_start(&o, &v));
		assert_int_equal(v.reason, R_INTERNAL);
	}
	/* the running server's port is taken */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	o.listen = addr;
	memset(&v, 0, sizeof(v));
	assert_null(httpd_start(&o, &v));
	assert_int_equal(v.reason, R_INTERNAL);
	assert_non_null(strstr(v.detail, "in use"));
	/* no metrics: /healthz answers 503, /metrics 404; then a clean stop */
	{
		struct httpd	*h2;
		int		 saved = port;

		o.listen = "127.0.0.1:0";
		assert_non_null(h2 = httpd_start(&o, &v));
		port = httpd_port(h2);
		assert_status("/healthz", 503);
		assert_status("/metrics", 404);
		assert_status("/demo/head.jwt", 200);
		httpd_stop(h2);
		port = saved;
	}
	httpd_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_bundle_files),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_traversal),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_metrics_health),
		cmocka_unit_test(test_generation_switch),
		cmocka_unit_test(test_start_errors),
		/* last: the server may take a moment to notice the closed connections */
		cmocka_unit_test(test_connection_limit),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
