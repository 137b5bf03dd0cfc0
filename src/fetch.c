/*
 * Fetching partner documents with libcurl's multi interface.
 *
 * Only https:// (and file:// for local sources) is ever spoken; a redirect
 * is followed only to the same origin (https, same host and port), so a
 * partner's server can never point the fetcher at another service (SSRF,
 * NET-02).  A body must be framed (Content-Length or chunked, or HTTP/2):
 * the end of a close-delimited body is only vouched for by TLS close_notify,
 * which libcurl does not require (NET-07).  Every transfer is bounded in time
 * (connect, total, low speed), in redirects, in header bytes and in body
 * bytes, the last one counted after decompression in the write callback
 * because CURLOPT_MAXFILESIZE alone does not stop undeclared lengths or
 * decompressed growth on the libcurl versions we build against.  All
 * requests of one call run concurrently, so one slow source only ever costs
 * its own time limit.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "extern.h"

#define FETCH_USER_AGENT	"fedtrust/" PACKAGE_VERSION

/* Why a callback stopped a transfer (curl itself only sees a write error). */
enum fetch_abort {
	ABORT_NONE = 0,
	ABORT_BODY_SIZE,	/* body over max_size (after decompression) */
	ABORT_HEADER_SIZE,	/* response headers over MAX_HEADER_BYTES */
	ABORT_STATUS,		/* body of a response we will not use */
	ABORT_REDIRECT,		/* a redirect to another origin or scheme */
};

/* One transfer in flight. */
struct xfer {
	const struct fetch_req	*req;		/* borrowed */
	struct fetch_res	*res;		/* borrowed, filled at the end */
	CURL			*h;
	struct curl_slist	*hdrs;		/* conditional GET headers */
	unsigned char		*buf;		/* body so far, NUL-terminated */
	size_t			 len;
	size_t			 cap;
	size_t			 max;		/* body cap in bytes */
	size_t			 hdrbytes;	/* header bytes of every response seen */
	long			 laststatus;	/* status line of the last response */
	int			 redirected;	/* a 3xx response was seen */
	int			 http1;		/* the last response is HTTP/1.x */
	int			 framed;	/* ... and has Content-Length or chunked */
	int			 is_file;
	int			 done;
	enum fetch_abort	 abort;
	char			*etag;
	char			*last_modified;
	long			 retry_after;
	char			 url[256];	/* sanitised URL for messages */
	char			 location[256];	/* sanitised refused redirect target */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* Process-wide libcurl set-up, once before any fetch. 0 / -1 (logged). */
int
fetch_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	return 0;
}

/* Undo fetch_init at exit. */
void
fetch_shutdown(void)
{
	curl_global_cleanup();
}

/* Free the members of a result (NULL-safe, idempotent); not the struct. */
void
fetch_res_free(struct fetch_res *res)
{
	if (res == NULL)
		return;
	free(res->body);
	free(res->etag);
	free(res->last_modified);
	res->body = NULL;
	res->bodysz = 0;
	res->etag = NULL;
	res->last_modified = NULL;
}

/*
 * Copy url into buf for messages: userinfo ("user:pass@") dropped, the rest
 * escaped and truncated by log_sanitize.
 */
static void
url_for_log(const char *url, char *buf, size_t bufsz)
{
	const char	*auth, *end, *at;
	char		*tmp;

	if ((auth = strstr(url, "://")) == NULL) {
		log_sanitize(url, strlen(url), buf, bufsz);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		log_sanitize(url, strlen(url), buf, bufsz);
		return;
	}
	xasprintf(&tmp, "%.*s%s", (int)(auth - url), url, at + 1);
	log_sanitize(tmp, strlen(tmp), buf, bufsz);
	free(tmp);
}

/* Case-insensitive prefix test. */
static int
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * A header value fit to send back to the server: printable ASCII only, so a
 * stored validator can never inject a header line.  1 / 0.
 */
static int
header_value_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return n > 0 && n <= MAX_HEADER_VALUE;
}

/*
 * Retry-After: delta-seconds or an HTTP-date, relative to the wall clock
 * (a scheduling hint, not a verification input).  Seconds capped to
 * MAX_RETRY_AFTER, or -1 when it does not parse.
 */
static long
parse_retry_after(const char *s)
{
	unsigned long long	 v = 0;
	const char		*p;
	time_t			 t, now;

	if (isdigit((unsigned char)*s)) {
		for (p = s; isdigit((unsigned char)*p); p++) {
			if (v < MAX_RETRY_AFTER)
				v = v * 10 + (unsigned)(*p - '0');
		}
		if (*p != '\0')
			return -1;
		return v > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : (long)v;
	}
	if ((t = curl_getdate(s, NULL)) == -1)
		return -1;
	now = time(NULL);
	if (t <= now)
		return 0;
	if (t - now > MAX_RETRY_AFTER)
		return MAX_RETRY_AFTER;
	return (long)(t - now);
}

/*
 * 1 when location (absolute or relative to the URL being fetched) has the
 * same origin as the request URL: https, same host, same port.  A Location
 * that does not parse is not the same origin.
 */
static int
same_origin(struct xfer *x, const char *location)
{
	CURLU		*base = NULL, *to = NULL;
	char		*cur = NULL, *s1 = NULL, *s2 = NULL, *h1 = NULL, *h2 = NULL;
	char		*p1 = NULL, *p2 = NULL;
	int		 ok = 0;
	const unsigned	 fl = CURLU_NON_SUPPORT_SCHEME;

	if (curl_easy_getinfo(x->h, CURLINFO_EFFECTIVE_URL, &cur) != CURLE_OK || cur == NULL)
		return 0;
	if ((base = curl_url()) == NULL || (to = curl_url()) == NULL)
		goto out;
	/* the origin of the request, and the target resolved against the current URL */
	if (curl_url_set(base, CURLUPART_URL, x->req->url, fl) != CURLUE_OK ||
	    curl_url_set(to, CURLUPART_URL, cur, fl) != CURLUE_OK ||
	    curl_url_set(to, CURLUPART_URL, location, fl) != CURLUE_OK)
		goto out;
	if (curl_url_get(base, CURLUPART_SCHEME, &s1, 0) != CURLUE_OK ||
	    curl_url_get(to, CURLUPART_SCHEME, &s2, 0) != CURLUE_OK ||
	    curl_url_get(base, CURLUPART_HOST, &h1, 0) != CURLUE_OK ||
	    curl_url_get(to, CURLUPART_HOST, &h2, 0) != CURLUE_OK ||
	    curl_url_get(base, CURLUPART_PORT, &p1, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(to, CURLUPART_PORT, &p2, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	ok = strcasecmp(s1, "https") == 0 && strcasecmp(s2, "https") == 0 &&
	    strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
out:
	curl_free(s1);
	curl_free(s2);
	curl_free(h1);
	curl_free(h2);
	curl_free(p1);
	curl_free(p2);
	curl_url_cleanup(base);
	curl_url_cleanup(to);
	return ok;
}

/* 1 when a Transfer-Encoding value ends in chunked (the body is framed). */
static int
te_chunked(const char *v, size_t len)
{
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len >= 7 && strncasecmp(v + len - 7, "chunked", 7) == 0;
}

/*
 * Header callback: counts header bytes against MAX_HEADER_BYTES and keeps
 * ETag, Last-Modified and Retry-After of the final response (a new status
 * line forgets what an earlier redirect response said).  A redirect to
 * another origin is stopped here, before libcurl follows it, and whether
 * the body is framed is noted.
 */
static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, namelen, vlen;
	const char	*colon, *v, *end;
	char		*val;

	if (n > MAX_HEADER_BYTES - x->hdrbytes) {
		x->abort = ABORT_HEADER_SIZE;
		return 0;
	}
	x->hdrbytes += n;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		const char	*sp = memchr(data, ' ', n);

		free(x->etag);
		free(x->last_modified);
		x->etag = x->last_modified = NULL;
		x->retry_after = -1;
		x->laststatus = 0;
		x->http1 = n >= 7 && memcmp(data, "HTTP/1.", 7) == 0;
		x->framed = 0;
		if (sp != NULL && (size_t)(sp - data) + 4 <= n &&
		    isdigit((unsigned char)sp[1]) && isdigit((unsigned char)sp[2]) &&
		    isdigit((unsigned char)sp[3]))
			x->laststatus = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
		if (x->laststatus >= 300 && x->laststatus < 400 && x->laststatus != 304)
			x->redirected = 1;
		return n;
	}
	if ((colon = memchr(data, ':', n)) == NULL)
		return n;
	namelen = (size_t)(colon - data);
	v = colon + 1;
	end = data + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
	    end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	if ((namelen == 14 && strncasecmp(data, "Content-Length", 14) == 0) ||
	    (namelen == 17 && strncasecmp(data, "Transfer-Encoding", 17) == 0 &&
	    te_chunked(v, vlen)))
		x->framed = 1;
	if (namelen == 8 && strncasecmp(data, "Location", 8) == 0 && x->redirected &&
	    x->laststatus >= 300 && x->laststatus < 400 && x->laststatus != 304) {
		char	*loc = xstrndup(v, vlen);
		int	 same = memchr(v, '\0', vlen) == NULL && same_origin(x, loc);

		if (!same) {
			url_for_log(loc, x->location, sizeof(x->location));
			free(loc);
			x->abort = ABORT_REDIRECT;
			return 0;
		}
		free(loc);
	}
	/* an absurdly long or empty value is ignored, never truncated */
	if (vlen == 0 || vlen > MAX_HEADER_VALUE)
		return n;
	val = xstrndup(v, vlen);
	if (memchr(v, '\0', vlen) != NULL || !header_value_ok(val)) {
		free(val);
		return n;
	}
	if (namelen == 4 && strncasecmp(data, "ETag", 4) == 0) {
		free(x->etag);
		x->etag = val;
	} else if (namelen == 13 && strncasecmp(data, "Last-Modified", 13) == 0) {
		free(x->last_modified);
		x->last_modified = val;
	} else if (namelen == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		x->retry_after = parse_retry_after(val);
		free(val);
	} else
		free(val);
	return n;
}

/*
 * Write callback: append to the body, growing geometrically up to the cap.
 * Bytes here are already decompressed, so the same counter bounds a
 * compression bomb.  Returning short makes curl fail with CURLE_WRITE_ERROR.
 */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, need, ncap;

	/* an error page is never used: stop instead of downloading it */
	if (!x->is_file && x->laststatus != 200) {
		x->abort = ABORT_STATUS;
		return 0;
	}
	if (n > x->max - x->len) {
		x->abort = ABORT_BODY_SIZE;
		return 0;
	}
	need = x->len + n + 1;	/* +1 keeps the body NUL-terminated */
	if (need > x->cap) {
		ncap = x->cap != 0 ? x->cap : 16384;
		while (ncap < need) {
			if (ncap > SIZE_MAX / 2) {
				ncap = need;
				break;
			}
			ncap *= 2;
		}
		/* never reserve much more than the cap allows */
		if (ncap > x->max + 1 && need <= x->max + 1)
			ncap = x->max + 1;
		x->buf = xreallocarray(x->buf, ncap, 1);
		x->cap = ncap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/*
 * file:// must name a regular file: curl reads a directory or a device as an
 * empty or endless body.  0, or -1 with v set.
 */
static int
file_check(const char *url, const char *logurl, struct verdict *v)
{
	CURLU		*u;
	char		*path = NULL;
	struct stat	 st;
	int		 rc = -1;

	if ((u = curl_url()) == NULL)
		return verdict_set(v, R_INTERNAL, "%s: curl_url failed", logurl);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK) {
		verdict_set(v, R_FETCH_FAILED, "%s: file: malformed file URL", logurl);
		goto out;
	}
	if (stat(path, &st) == -1) {
		verdict_set(v, R_FETCH_FAILED, "%s: file: %s", logurl, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		verdict_set(v, R_FETCH_FAILED, "%s: file: not a regular file", logurl);
		goto out;
	}
	rc = 0;
out:
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/*
 * Set every option of one transfer.  0, or -1 with x->res->v set.
 */
static int
xfer_setup(struct xfer *x)
{
	const struct fetch_req	*req = x->req;
	long			 timeout, ctimeout, lowtime;
	char			*h;
	CURLcode		 c = CURLE_OK;

	timeout = req->timeout > 0 ? req->timeout : MAX_FETCH_TIMEOUT;
	ctimeout = req->connect_timeout > 0 ? req->connect_timeout : MAX_CONNECT_TIMEOUT;
	if (ctimeout > timeout)
		ctimeout = timeout;
	lowtime = FETCH_LOW_SPEED_TIME < timeout ? FETCH_LOW_SPEED_TIME : timeout;

	if ((x->h = curl_easy_init()) == NULL)
		return verdict_set(&x->res->v, R_INTERNAL, "%s: curl_easy_init failed", x->url);

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(x->h, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_NOPROGRESS, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https,file");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT, ctimeout);
	SET(CURLOPT_TIMEOUT, timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, (long)FETCH_LOW_SPEED_LIMIT);
	SET(CURLOPT_LOW_SPEED_TIME, lowtime);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(x->max > INT64_MAX ? INT64_MAX : x->max));
	SET(CURLOPT_ACCEPT_ENCODING, "gzip");
	/* an empty proxy disables http_proxy/https_proxy from the environment */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_USERAGENT, FETCH_USER_AGENT);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	if (!x->is_file) {
		if (req->etag != NULL && header_value_ok(req->etag)) {
			xasprintf(&h, "If-None-Match: %s", req->etag);
			x->hdrs = curl_slist_append(x->hdrs, h);
			free(h);
		}
		if (req->last_modified != NULL && header_value_ok(req->last_modified)) {
			xasprintf(&h, "If-Modified-Since: %s", req->last_modified);
			x->hdrs = curl_slist_append(x->hdrs, h);
			free(h);
		}
		if (x->hdrs != NULL)
			SET(CURLOPT_HTTPHEADER, x->hdrs);
	}
#undef SET
	if (c != CURLE_OK)
		return verdict_set(&x->res->v, R_INTERNAL, "%s: curl setup: %s", x->url,
		    curl_easy_strerror(c));
	return 0;
}

/* The curl errors that mean the TLS layer refused the peer or the handshake. */
static int
is_tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/*
 * Turn a failed transfer into a verdict: reason code plus "URL: STAGE: what".
 */
static void
xfer_fail(struct xfer *x, CURLcode c)
{
	struct verdict	*v = &x->res->v;
	const char	*msg = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(c);
	char		 m[CURL_ERROR_SIZE + 8];

	log_sanitize(msg, strlen(msg), m, sizeof(m));
	if (x->abort == ABORT_REDIRECT)
		verdict_set(v, R_FETCH_REDIRECT, "%s: redirect: to %s refused: only https "
		    "redirects to the same host and port are followed", x->url, x->location);
	else if (x->abort == ABORT_BODY_SIZE || c == CURLE_FILESIZE_EXCEEDED)
		verdict_set(v, R_FETCH_TOO_LARGE, "%s: size: body over %zu bytes%s", x->url,
		    x->max, c == CURLE_FILESIZE_EXCEEDED ? " (declared length)" : "");
	else if (x->abort == ABORT_HEADER_SIZE)
		verdict_set(v, R_FETCH_TOO_LARGE, "%s: size: response headers over %d bytes",
		    x->url, MAX_HEADER_BYTES);
	else if (c == CURLE_OUT_OF_MEMORY)
		/* libcurl's answer to one header line over its own 100 KiB limit */
		verdict_set(v, R_FETCH_TOO_LARGE, "%s: size: response too large for libcurl: %s",
		    x->url, m);
	else if (c == CURLE_OPERATION_TIMEDOUT)
		verdict_set(v, R_FETCH_TIMEOUT, "%s: timeout: %s", x->url, m);
	else if (is_tls_error(c))
		verdict_set(v, R_FETCH_TLS, "%s: TLS: %s", x->url, m);
	else if (c == CURLE_TOO_MANY_REDIRECTS)
		verdict_set(v, R_FETCH_REDIRECT, "%s: redirect: more than %d redirects (loop?)",
		    x->url, MAX_REDIRECTS);
	else if (c == CURLE_UNSUPPORTED_PROTOCOL && x->redirected)
		verdict_set(v, R_FETCH_REDIRECT, "%s: redirect: to a scheme other than https: %s",
		    x->url, m);
	else if (c == CURLE_COULDNT_RESOLVE_HOST)
		verdict_set(v, R_FETCH_FAILED, "%s: DNS: %s", x->url, m);
	else if (c == CURLE_COULDNT_CONNECT)
		verdict_set(v, R_FETCH_FAILED, "%s: connect: %s", x->url, m);
	else if (x->is_file)
		verdict_set(v, R_FETCH_FAILED, "%s: file: %s", x->url, m);
	else
		verdict_set(v, R_FETCH_FAILED, "%s: transfer: %s", x->url, m);
}

/*
 * A finished transfer: judge status and result code, hand the body and the
 * validators over to the result.
 */
static void
xfer_finish(struct xfer *x, CURLcode c)
{
	struct fetch_res	*res = x->res;
	long			 status = 0;

	x->done = 1;
	if (!x->is_file)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	res->status = status;
	res->retry_after = x->retry_after;
	if (c == CURLE_WRITE_ERROR && x->abort == ABORT_STATUS)
		c = CURLE_OK;	/* judged by its status below */
	if (c != CURLE_OK) {
		xfer_fail(x, c);
		return;
	}
	if (!x->is_file && status == 200 && x->http1 && !x->framed) {
		verdict_set(&res->v, R_FETCH_FAILED, "%s: transfer: body without Content-Length "
		    "or chunked framing (its end is not authenticated)", x->url);
		return;
	}
	if (x->is_file || status == 200) {
		if (x->buf == NULL)
			x->buf = xcalloc(1, 1);	/* empty body: still a buffer */
		res->body = x->buf;
		res->bodysz = x->len;
		x->buf = NULL;
	} else if (status == 304) {
		if (x->req->etag == NULL && x->req->last_modified == NULL) {
			verdict_set(&res->v, R_FETCH_NO_CACHE,
			    "%s: HTTP: 304 Not Modified to an unconditional request", x->url);
			return;
		}
		res->not_modified = 1;
	} else {
		verdict_set(&res->v, R_FETCH_HTTP_STATUS, "%s: HTTP: status %ld", x->url, status);
		return;
	}
	res->etag = x->etag;
	res->last_modified = x->last_modified;
	x->etag = x->last_modified = NULL;
	res->ok = 1;
	res->v.reason = R_NONE;
	res->v.detail[0] = '\0';
}

/* Free what one transfer holds; the results own what was handed over. */
static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->h != NULL)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->buf);
	free(x->etag);
	free(x->last_modified);
}

/*
 * Run every prepared transfer of m to completion.  Each easy handle carries
 * its own time limits, so this loop ends once the slowest one has hit its
 * own.  0, or -1 when the multi handle itself failed.
 */
static int
multi_run(CURLM *m)
{
	CURLMsg		*msg;
	CURLMcode	 mc;
	int		 running = 1, left;

	while (running > 0) {
		if ((mc = curl_multi_perform(m, &running)) != CURLM_OK) {
			log_warnx("curl_multi_perform: %s", curl_multi_strerror(mc));
			return -1;
		}
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct xfer	*x;

			if (msg->msg != CURLMSG_DONE)
				continue;
			if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x) ==
			    CURLE_OK && x != NULL && !x->done)
				xfer_finish(x, msg->data.result);
		}
		if (running == 0)
			break;
		if ((mc = curl_multi_poll(m, NULL, 0, 1000, NULL)) != CURLM_OK) {
			log_warnx("curl_multi_poll: %s", curl_multi_strerror(mc));
			return -1;
		}
	}
	return 0;
}

/*
 * Fetch reqs[0..n) concurrently into res[0..n).  Every result is filled:
 * ok with a body or not_modified, else a verdict.  Caller frees each result
 * with fetch_res_free.
 */
static fetch_proxy_fn	*proxy;
static void		*proxy_arg;

void
fetch_set_proxy(fetch_proxy_fn *fn, void *arg)
{
	proxy = fn;
	proxy_arg = arg;
}

void
fetch_many(const struct fetch_req *reqs, struct fetch_res *res, size_t n)
{
	struct xfer	*xs = NULL;
	CURLM		*m = NULL;
	size_t		 i, active = 0;

	if (proxy != NULL) {
		proxy(reqs, res, n, proxy_arg);
		return;
	}

	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].retry_after = -1;
		res[i].v.reason = R_INTERNAL;
	}
	if (n == 0)
		return;
	xs = xcalloc(n, sizeof(*xs));
	if ((m = curl_multi_init()) == NULL) {
		for (i = 0; i < n; i++)
			verdict_set(&res[i].v, R_INTERNAL, "curl_multi_init failed");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct xfer	*x = &xs[i];
		const char	*url = reqs[i].url != NULL ? reqs[i].url : "";

		x->req = &reqs[i];
		x->res = &res[i];
		x->retry_after = -1;
		x->max = reqs[i].max_size > 0 ? reqs[i].max_size : MAX_DOC_SIZE;
		url_for_log(url, x->url, sizeof(x->url));
		if (has_prefix(url, "file://")) {
			x->is_file = 1;
			if (file_check(url, x->url, &res[i].v) == -1) {
				x->done = 1;
				continue;
			}
		} else if (!has_prefix(url, "https://")) {
			verdict_set(&res[i].v, R_FETCH_SCHEME,
			    "%s: scheme: only https:// and file:// are fetched", x->url);
			x->done = 1;
			continue;
		}
		if (xfer_setup(x) == -1) {
			x->done = 1;
			continue;
		}
		if (curl_multi_add_handle(m, x->h) != CURLM_OK) {
			verdict_set(&res[i].v, R_INTERNAL, "%s: curl_multi_add_handle failed",
			    x->url);
			x->done = 1;
			continue;
		}
		active++;
	}
	if (active > 0 && multi_run(m) == -1) {
		for (i = 0; i < n; i++)
			if (!xs[i].done)
				verdict_set(&res[i].v, R_INTERNAL, "%s: curl multi handle failed",
				    xs[i].url);
	}
out:
	for (i = 0; i < n && xs != NULL; i++) {
		if (m != NULL && xs[i].h != NULL)
			curl_multi_remove_handle(m, xs[i].h);
		xfer_free(&xs[i]);
	}
	if (m != NULL)
		curl_multi_cleanup(m);
	free(xs);
}
