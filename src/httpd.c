/*
 * The built-in HTTP server (bundle-format 4.10, 4.11): publish-dir/LIST/...
 * as URL /LIST/..., per-entity lookups with content negotiation, /metrics
 * and /healthz.  libmicrohttpd runs the sockets in a small thread pool.
 *
 * Every request opens publish-dir/LIST (the symlink publish.c switches) once
 * and opens everything else relative to that folder without following
 * symlinks, so one request sees one generation and nothing outside it.
 * Published files never change, so what is derived from their bytes (the
 * strong ETag, the document's expiry, the gzip'd body) is computed once and
 * cached by (device, inode, size, mtime).  The server never fetches, parses
 * untrusted documents or resolves anything because a request arrived.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "extern.h"

#define MAX_LIST_NAME	64		/* [a-z0-9][a-z0-9-]{0,63} */
#define GZIP_MIN	1024		/* bytes: smaller bodies are sent as they are */
#define TAG_BYTES	16		/* bytes of SHA-256 in an ETag (22 base64url characters) */
#define TAG_LEN		22
#define READ_CHUNK	(64 * 1024)	/* bytes read at a time when a file is first seen */
#define XML_HEAD_SCAN	READ_CHUNK	/* bytes searched for the document element's validUntil */
#define SMALL_FILE	(64 * 1024)	/* bytes: larger files are sent from their fd */
#define GZ_BLOCK	(8 * 1024)	/* bytes handed to libmicrohttpd per read of a gzip'd body */
#define DEFAULT_REFRESH	300		/* max-age of bundle.jwt without a readable refresh */
#define ENTITY_MAX_AGE	300		/* max-age cap of per-entity documents and the aggregate */
#define NEGATIVE_AGE	60		/* max-age of 404 and 406 (4.10) */
#define IMMUTABLE_AGE	31536000	/* max-age of bundles/SEQ.jwt */

#define CT_TEXT		"text/plain; charset=utf-8"
#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define CT_XML		"application/samlmetadata+xml"
#define CT_HEAD		"application/vnd.fedtrust.bundle-head+jwt"
#define CT_BUNDLE	"application/vnd.fedtrust.bundle+jwt"
#define CT_ENTITY	"application/vnd.fedtrust.entity+jwt"
#define CT_JWKS		"application/jwk-set+json"

/* What a published file is; decides Content-Type, Cache-Control and what is read from it. */
enum kind {
	K_HEAD, K_BUNDLE, K_BUNDLE_SEQ, K_KEYS, K_AGGREGATE,
	K_ENTITY_XML, K_ENTITY_JWT, K_ENTITY_JWKS
};

static const char *const kind_type[] = {
	[K_HEAD] = CT_HEAD,
	[K_BUNDLE] = CT_BUNDLE,
	[K_BUNDLE_SEQ] = CT_BUNDLE,
	[K_KEYS] = CT_JWKS,
	[K_AGGREGATE] = CT_XML,
	[K_ENTITY_XML] = CT_XML,
	[K_ENTITY_JWT] = CT_ENTITY,
	[K_ENTITY_JWKS] = CT_JWKS,
};

/* A gzip'd body, shared by the cache and the responses sending it. */
struct blob {
	struct fcache	*fc;
	size_t		 refs;		/* under fc->lock */
	size_t		 len;
	unsigned char	 data[];
};

#define GZ_UNKNOWN	0		/* not compressed yet (or evicted) */
#define GZ_NO		1		/* gzip does not make it smaller */
#define GZ_YES		2		/* blob holds it */

/* What is known about one published file, keyed by its identity. */
struct fent {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	char		 tag[TAG_LEN + 1];	/* base64url of the first TAG_BYTES of SHA-256 */
	time_t		 expires;	/* exp or validUntil of the document, 0 = unknown */
	long		 refresh;	/* refresh of a bundle, 0 = unknown */
	int		 gz;		/* GZ_* */
	struct blob	*blob;
	size_t		 bucket;
	struct fent	*hnext;		/* hash chain */
	struct fent	*prev, *next;	/* LRU list, most recent first */
};

struct fcache {
	pthread_mutex_t	 lock;
	struct fent	**bucket;
	size_t		 nbucket;
	struct fent	*first, *last;
	size_t		 n;
	size_t		 gzbytes;	/* bytes of blobs the cache holds */
};

/* A copy of what a request needs from the cache. */
struct finfo {
	char		 tag[TAG_LEN + 1];
	time_t		 expires;
	long		 refresh;
	struct blob	*gz;		/* a reference, or NULL: send the file as it is */
};

struct httpd {
	struct MHD_Daemon *mhd;
	int		 lfd;		/* listening socket */
	int		 port;
	char		*publish_dir;
	struct metrics	*metrics;
	int		(*report)(void *, int, time_t, char **, size_t *);
	const struct config *(*config)(void *);
	void		*arg;
	time_t		(*now)(void *);
	atomic_int	 active;	/* requests between the handler's first call and completion */
	struct fcache	 cache;
};

/* One representation a request may get: a file of the generation and its media type. */
struct form {
	const char	*type;
	char		 path[96];	/* relative to the generation; "" = not available */
	enum kind	 kind;
	int		 q;		/* quality the request's Accept gives type, 0..1000 */
	int		 tried;
};

/* ------------------------------------------------------------ file cache */

/* An empty cache with its lock and buckets. */
static void
fcache_init(struct fcache *fc)
{
	memset(fc, 0, sizeof(*fc));
	if (pthread_mutex_init(&fc->lock, NULL) != 0)
		fatalx("pthread_mutex_init");
	fc->nbucket = MAX_HTTP_FILE_CACHE / 4;
	fc->bucket = xcalloc(fc->nbucket, sizeof(*fc->bucket));
}

/* Bucket of the file st. */
static size_t
fcache_hash(const struct fcache *fc, const struct stat *st)
{
	uint64_t	 h = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)st->st_dev + (uint64_t)st->st_size * 31 + (uint64_t)st->st_mtim.tv_nsec;
	return (size_t)(h % fc->nbucket);
}

/* The entry of the file st, or NULL (lock held). */
static struct fent *
fcache_find(struct fcache *fc, const struct stat *st)
{
	struct fent	*e;

	for (e = fc->bucket[fcache_hash(fc, st)]; e != NULL; e = e->hnext)
		if (e->ino == st->st_ino && e->dev == st->st_dev && e->size == st->st_size &&
		    e->mtime.tv_sec == st->st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return e;
	return NULL;
}

/* Take e out of the LRU list (lock held). */
static void
lru_unlink(struct fcache *fc, struct fent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		fc->first = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		fc->last = e->prev;
	e->prev = e->next = NULL;
}

/* Put e at the front of the LRU list (lock held). */
static void
lru_push(struct fcache *fc, struct fent *e)
{
	e->prev = NULL;
	e->next = fc->first;
	if (fc->first != NULL)
		fc->first->prev = e;
	fc->first = e;
	if (fc->last == NULL)
		fc->last = e;
}

/* Drop one reference to b (lock held); frees it with the last one. */
static void
blob_drop_locked(struct blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

/* Drop one reference to b; NULL-safe. */
static void
blob_unref(struct blob *b)
{
	struct fcache	*fc;

	if (b == NULL)
		return;
	fc = b->fc;
	pthread_mutex_lock(&fc->lock);
	blob_drop_locked(b);
	pthread_mutex_unlock(&fc->lock);
}

/* Let go of e's gzip'd body (lock held); it is made again when asked for. */
static void
fent_drop_gz(struct fcache *fc, struct fent *e)
{
	if (e->blob == NULL)
		return;
	fc->gzbytes -= e->blob->len;
	blob_drop_locked(e->blob);
	e->blob = NULL;
	e->gz = GZ_UNKNOWN;
}

/* Remove and free the least recently used entry (lock held). */
static void
fcache_evict(struct fcache *fc)
{
	struct fent	*e = fc->last, **pp;

	if (e == NULL)
		return;
	lru_unlink(fc, e);
	for (pp = &fc->bucket[e->bucket]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	fent_drop_gz(fc, e);
	free(e);
	fc->n--;
}

/* Add a copy of fresh for the file st (lock held). Returns the entry. */
static struct fent *
fcache_insert(struct fcache *fc, const struct stat *st, const struct fent *fresh)
{
	struct fent	*e;
	size_t		 b = fcache_hash(fc, st);

	while (fc->n >= MAX_HTTP_FILE_CACHE)
		fcache_evict(fc);
	e = xmalloc(sizeof(*e));
	*e = *fresh;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->gz = GZ_UNKNOWN;
	e->blob = NULL;
	e->bucket = b;
	e->hnext = fc->bucket[b];
	fc->bucket[b] = e;
	lru_push(fc, e);
	fc->n++;
	return e;
}

/* Make room for need more bytes of gzip'd bodies, oldest first (lock held). */
static void
fcache_room(struct fcache *fc, size_t need)
{
	struct fent	*e;

	for (e = fc->last; e != NULL && fc->gzbytes + need > MAX_HTTP_GZIP_CACHE; e = e->prev)
		fent_drop_gz(fc, e);
}

/* Free every entry; no response may still hold a blob (the server is stopped). */
static void
fcache_free(struct fcache *fc)
{
	while (fc->n > 0)
		fcache_evict(fc);
	free(fc->bucket);
	pthread_mutex_destroy(&fc->lock);
}

/* ------------------------------------------------------------ reading a file once */

/*
 * Top-level integer member of the payload of a compact JWS, found while the
 * file streams by: the payload segment is base64url-decoded on the fly and
 * fed through a small JSON scanner that only tracks strings and nesting.
 * Our own files, never untrusted input; a document it does not understand
 * just yields no value.
 */
struct jscan {
	const char	*key;
	size_t		 keylen;
	int		 seg;		/* JWS segment: 0 header, 1 payload, 2 signature */
	unsigned	 acc;		/* base64url bits not yet used */
	int		 bits;
	int		 depth;
	int		 in_str, esc;
	int		 expect_key;	/* the next string at depth 1 is a member name */
	int		 is_key, kmatch;
	size_t		 kpos;
	int		 state;		/* 0 looking, 1 name matched, 2 ':' seen, 3 in the number */
	long long	 val;
	int		 done;		/* 1 found, -1 given up */
};

/* A scanner for the top-level integer member key. */
static void
jscan_init(struct jscan *j, const char *key)
{
	memset(j, 0, sizeof(*j));
	j->key = key;
	j->keylen = strlen(key);
}

/* One byte of the decoded JSON payload. */
static void
jscan_json(struct jscan *j, int c)
{
	if (j->in_str) {
		if (j->esc || c == '\\') {
			j->esc = !j->esc;
			j->kmatch = 0;
		} else if (c == '"') {
			j->in_str = 0;
			if (j->is_key && j->kmatch && j->kpos == j->keylen)
				j->state = 1;
		} else if (j->kmatch && (j->kpos >= j->keylen || j->key[j->kpos++] != c))
			j->kmatch = 0;
		return;
	}
	if (j->state == 3) {
		if (c >= '0' && c <= '9') {
			if (j->val > (LLONG_MAX - (c - '0')) / 10) {
				j->done = -1;
				return;
			}
			j->val = j->val * 10 + (c - '0');
		} else
			j->done = 1;
		return;
	}
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		return;
	if (j->state == 1) {
		j->state = c == ':' ? 2 : 0;
		if (c == ':')
			return;
	} else if (j->state == 2) {
		if (c >= '0' && c <= '9') {
			j->state = 3;
			j->val = c - '0';
		} else
			j->done = -1;
		return;
	}
	switch (c) {
	case '"':
		j->in_str = 1;
		j->is_key = j->kmatch = j->depth == 1 && j->expect_key;
		j->kpos = 0;
		j->expect_key = 0;
		break;
	case '{':
	case '[':
		j->depth++;
		j->expect_key = c == '{' && j->depth == 1;
		break;
	case '}':
	case ']':
		if (--j->depth <= 0)
			j->done = -1;
		break;
	case ',':
		j->expect_key = j->depth == 1;
		break;
	}
}

/* Value of a base64url character, -1 for any other byte. */
static int
b64url_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* n more bytes of the JWS file. */
static void
jscan_feed(struct jscan *j, const unsigned char *p, size_t n)
{
	size_t	 i;
	int	 v;

	for (i = 0; i < n && j->done == 0; i++) {
		if (p[i] == '.') {
			if (++j->seg > 1)
				j->done = -1;
			continue;
		}
		if (j->seg != 1)
			continue;
		if ((v = b64url_value(p[i])) == -1) {
			j->done = -1;
			break;
		}
		j->acc = (j->acc << 6) | (unsigned)v;
		j->bits += 6;
		if (j->bits >= 8) {
			j->bits -= 8;
			jscan_json(j, (int)((j->acc >> j->bits) & 0xff));
			j->acc &= (1U << j->bits) - 1;
		}
	}
}

/*
 * validUntil of the document element of an XML document whose first n bytes
 * are p (our own signed output: declaration, then the root start tag), or 0.
 */
static time_t
xml_valid_until(const unsigned char *p, size_t n)
{
	const unsigned char	*s = p, *end = p + n, *tag_end, *a, *v, *q;
	char			 buf[64];
	time_t			 t;

	for (;;) {
		if ((s = memchr(s, '<', (size_t)(end - s))) == NULL || s + 1 >= end)
			return 0;
		if (s[1] != '?' && s[1] != '!')
			break;
		if ((s = memchr(s, '>', (size_t)(end - s))) == NULL)
			return 0;
	}
	if ((tag_end = memchr(s, '>', (size_t)(end - s))) == NULL)
		return 0;
	for (a = s; a + 12 < tag_end; a++) {
		if (memcmp(a, "validUntil=", 11) != 0 || !isspace(a[-1]))
			continue;
		v = a + 12;
		if ((a[11] != '"' && a[11] != '\'') ||
		    (q = memchr(v, a[11], (size_t)(tag_end - v))) == NULL ||
		    (size_t)(q - v) >= sizeof(buf))
			return 0;
		memcpy(buf, v, (size_t)(q - v));
		buf[q - v] = '\0';
		return parse_xsd_datetime(buf, &t) == 0 ? t : 0;
	}
	return 0;
}

/*
 * Read the file fd (stat st, requested as kind k) once: its tag, the
 * expiry or refresh its kind carries, and with want_gz its gzip'd body into
 * *gz (NULL when gzip does not make it smaller).  0 / -1 (read error).
 */
static int
file_scan(struct fcache *fc, int fd, const struct stat *st, enum kind k, int want_gz,
    struct fent *out, struct blob **gz)
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	*buf = NULL, digest[EVP_MAX_MD_SIZE];
	struct blob	*b = NULL;
	struct jscan	 js;
	z_stream	 z;
	size_t		 size = (size_t)st->st_size, off, want, bound;
	ssize_t		 r;
	char		*tag;
	int		 zinit = 0, rc = -1, zr = Z_OK;

	memset(out, 0, sizeof(*out));
	*gz = NULL;
	jscan_init(&js, k == K_BUNDLE ? "refresh" : "exp");
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("sha256");
	if (want_gz) {
		memset(&z, 0, sizeof(z));
		/* windowBits 15 + 16: a gzip wrapper, with mtime 0, so equal bytes give equal output */
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			fatalx("deflateInit2");
		zinit = 1;
		bound = deflateBound(&z, (uLong)size);
		b = xmalloc(sizeof(*b) + bound);
		b->fc = fc;
		b->refs = 0;
		z.next_out = b->data;
		z.avail_out = (uInt)bound;
	}
	buf = xmalloc(READ_CHUNK);
	for (off = 0; off < size || (off == 0 && size == 0); off += (size_t)r) {
		want = size - off < READ_CHUNK ? size - off : READ_CHUNK;
		r = 0;
		if (want > 0 && (r = pread(fd, buf, want, (off_t)off)) <= 0) {
			if (r == 0)
				errno = EIO;	/* shorter than fstat said */
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
			fatalx("sha256");
		if (off == 0 && (k == K_AGGREGATE || k == K_ENTITY_XML))
			out->expires = xml_valid_until(buf, (size_t)r < XML_HEAD_SCAN ?
			    (size_t)r : XML_HEAD_SCAN);
		if (k == K_BUNDLE || k == K_ENTITY_JWT)
			jscan_feed(&js, buf, (size_t)r);
		if (want_gz) {
			z.next_in = buf;
			z.avail_in = (uInt)r;
			zr = deflate(&z, off + (size_t)r >= size ? Z_FINISH : Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END)
				fatalx("deflate: %d", zr);
		}
		if (r == 0)
			break;
	}
	if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
		fatalx("sha256");
	tag = b64url_encode(digest, TAG_BYTES);
	memcpy(out->tag, tag, TAG_LEN);
	out->tag[TAG_LEN] = '\0';
	free(tag);
	if (js.done == 1 && k == K_BUNDLE)
		out->refresh = js.val > MAX_REFRESH ? MAX_REFRESH :
		    js.val < MIN_REFRESH ? MIN_REFRESH : (long)js.val;
	else if (js.done == 1 && k == K_ENTITY_JWT)
		out->expires = (time_t)js.val;
	if (want_gz && zr != Z_STREAM_END)
		fatalx("deflate: output bound too small");
	if (want_gz && z.total_out < size) {
		b->len = z.total_out;
		*gz = xreallocarray(b, 1, sizeof(*b) + b->len);
		b = NULL;
	}
	rc = 0;
out:
	if (zinit)
		deflateEnd(&z);
	free(b);
	free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

/*
 * What a request needs about the open file fd (stat st) served as kind k:
 * from the cache, or read once and cached.  With want_gz, fi->gz is a
 * reference to the gzip'd body when it is smaller (blob_unref).  0 / -1.
 */
static int
fcache_get(struct fcache *fc, int fd, const struct stat *st, enum kind k, int want_gz,
    struct finfo *fi)
{
	struct fent	*e, fresh;
	struct blob	*gz = NULL;

	memset(fi, 0, sizeof(*fi));
	pthread_mutex_lock(&fc->lock);
	if ((e = fcache_find(fc, st)) != NULL) {
		lru_unlink(fc, e);
		lru_push(fc, e);
		if (!want_gz || e->gz != GZ_UNKNOWN)
			goto found;
	}
	pthread_mutex_unlock(&fc->lock);

	/* reading and compressing happen outside the lock; a concurrent twin is discarded */
	if (file_scan(fc, fd, st, k, want_gz, &fresh, &gz) == -1)
		return -1;
	pthread_mutex_lock(&fc->lock);
	if ((e = fcache_find(fc, st)) == NULL)
		e = fcache_insert(fc, st, &fresh);
	if (want_gz && e->gz == GZ_UNKNOWN) {
		e->gz = gz != NULL ? GZ_YES : GZ_NO;
		if (gz != NULL) {
			fcache_room(fc, gz->len);
			e->blob = gz;
			gz->refs++;
			fc->gzbytes += gz->len;
			gz = NULL;
		}
	}
found:
	memcpy(fi->tag, e->tag, sizeof(fi->tag));
	fi->expires = e->expires;
	fi->refresh = e->refresh;
	if (want_gz && e->gz == GZ_YES) {
		fi->gz = e->blob;
		fi->gz->refs++;
	}
	pthread_mutex_unlock(&fc->lock);
	free(gz);
	return 0;
}

/* ------------------------------------------------------------ request headers */

/* Quality value of one list item's parameters (";q=0.5"), 0..1000; 1000 without q. */
static int
item_q(const char *p, const char *end)
{
	int	 q, i;

	while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (end - p < 2 || (*p != 'q' && *p != 'Q') || p[1] != '=')
			continue;
		p += 2;
		if (p < end && *p == '1')
			return 1000;
		if (p >= end || *p != '0')
			return 0;
		q = 0;
		for (p++, p += p < end && *p == '.', i = 0; i < 3; i++, p++)
			q = q * 10 + (p < end && *p >= '0' && *p <= '9' ? *p - '0' : 0);
		return q;
	}
	return 1000;
}

/*
 * The quality a comma-separated header value (Accept, Accept-Encoding) gives
 * to what match() recognises: the q of the most specific item that matches
 * (match returns its specificity, 0 for no match), 0 when none does.
 */
static int
header_q(const char *hdr, int (*match)(const char *, size_t, const void *), const void *arg)
{
	const char	*p = hdr, *end, *s, *e;
	int		 spec, best = 0, q = 0;

	while (*p != '\0') {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		for (s = p; s < end && (*s == ' ' || *s == '\t'); s++)
			;
		for (e = s; e < end && *e != ';' && *e != ' ' && *e != '\t'; e++)
			;
		if (e > s && (spec = match(s, (size_t)(e - s), arg)) > best) {
			best = spec;
			q = item_q(e, end);
		}
		p = *end != '\0' ? end + 1 : end;
	}
	return q;
}

/*
 * Media range s (n bytes) against type: 3 the type itself, 2 its major type
 * with any subtype, 1 any type, 0 no match.
 */
static int
media_match(const char *s, size_t n, const void *arg)
{
	const char	*type = arg, *slash = strchr(type, '/');
	size_t		 major = (size_t)(slash - type);

	if (n == strlen(type) && strncasecmp(s, type, n) == 0)
		return 3;
	if (n == major + 2 && strncasecmp(s, type, major + 1) == 0 && s[major + 1] == '*')
		return 2;
	return n == 3 && memcmp(s, "*/*", 3) == 0;
}

/* Content coding s (n bytes) against gzip: 2 gzip or x-gzip, 1 "*". */
static int
gzip_match(const char *s, size_t n, const void *arg)
{
	if ((n == 4 && strncasecmp(s, "gzip", 4) == 0) || (n == 6 && strncasecmp(s, "x-gzip", 6) == 0))
		return 2;
	return n == 1 && *s == '*';
}

/* A request header's value, or NULL. */
static const char *
header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Quality of type under the request's Accept (absent or empty: everything at 1). */
static int
accept_q(struct MHD_Connection *c, const char *type)
{
	const char	*a = header(c, MHD_HTTP_HEADER_ACCEPT);

	if (a == NULL || a[strspn(a, " \t")] == '\0')
		return 1000;
	return header_q(a, media_match, type);
}

/* 1 when the request's Accept-Encoding allows gzip. */
static int
gzip_ok(struct MHD_Connection *c)
{
	const char	*a = header(c, MHD_HTTP_HEADER_ACCEPT_ENCODING);

	return a != NULL && header_q(a, gzip_match, NULL) > 0;
}

/* 1 when an If-None-Match value lists tag (quoted; weak comparison) or is "*". */
static int
inm_match(const char *inm, const char *tag)
{
	const char	*p = inm, *e;
	size_t		 n = strlen(tag);

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"') {
			p += strcspn(p, ",");
			continue;
		}
		if ((e = strchr(p + 1, '"')) == NULL)
			return 0;
		if ((size_t)(e + 1 - p) == n && memcmp(p, tag, n) == 0)
			return 1;
		p = e + 1;
	}
	return 0;
}

/* IMF-fixdate of t into buf. */
static void
http_date(time_t t, char *buf, size_t bufsz)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, bufsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* An IMF-fixdate into *t. 0 / -1. */
static int
parse_http_date(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*e;

	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL || *e != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

/* ------------------------------------------------------------ responses */

/* The evaluation time of this server (fedtrustd -P) or the clock. */
static time_t
httpd_now(const struct httpd *h)
{
	return h->now != NULL ? h->now(h->arg) : time(NULL);
}

/* Add a response header (only fails on allocation or a forbidden header: logged). */
static void
add(struct MHD_Response *r, const char *name, const char *value)
{
	if (MHD_add_response_header(r, name, value) != MHD_YES)
		log_warnx("httpd: cannot add header %s", name);
}

/* Queue r with status, count it, release our reference. */
static enum MHD_Result
reply(struct httpd *h, struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result	 ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES && h->metrics != NULL)
		metrics_http(h->metrics, (int)status);
	return ret;
}

/* A short text/plain answer; cache is its Cache-Control or NULL. */
static enum MHD_Result
reply_text(struct httpd *h, struct MHD_Connection *c, unsigned int status, const char *text,
    const char *cache)
{
	struct MHD_Response	*r;

	r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	add(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
	if (cache != NULL)
		add(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		add(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_NOT_ACCEPTABLE)
		add(r, MHD_HTTP_HEADER_VARY, "Accept");
	return reply(h, c, status, r);
}

/* 404, cached for NEGATIVE_AGE seconds (4.10). */
static enum MHD_Result
not_found(struct httpd *h, struct MHD_Connection *c)
{
	char	 cc[32];

	snprintf(cc, sizeof(cc), "public, max-age=%d", NEGATIVE_AGE);
	return reply_text(h, c, MHD_HTTP_NOT_FOUND, "not found\n", cc);
}

/* 500 for I/O errors that are not "no such file". */
static enum MHD_Result
internal_error(struct httpd *h, struct MHD_Connection *c)
{
	return reply_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", "no-store");
}

/* Cache-Control of a file of kind k (4.11) at now. */
static void
cache_control(enum kind k, const struct finfo *fi, time_t now, char *buf, size_t bufsz)
{
	long long	 age;

	switch (k) {
	case K_HEAD:
		snprintf(buf, bufsz, "public, max-age=30, stale-if-error=3600, no-transform");
		break;
	case K_BUNDLE:
		snprintf(buf, bufsz, "public, max-age=%ld, stale-if-error=86400, no-transform",
		    fi->refresh > 0 ? fi->refresh : DEFAULT_REFRESH);
		break;
	case K_BUNDLE_SEQ:
		snprintf(buf, bufsz, "public, max-age=%d, immutable, no-transform", IMMUTABLE_AGE);
		break;
	case K_KEYS:
		snprintf(buf, bufsz, "public, max-age=3600");
		break;
	default:
		/* min(refresh, valid_until - now): never cached past the document's own end */
		age = ENTITY_MAX_AGE;
		if (fi->expires != 0 && (long long)fi->expires - (long long)now < age)
			age = (long long)fi->expires - (long long)now;
		snprintf(buf, bufsz, "public, max-age=%lld, no-transform", age > 0 ? age : 0);
		break;
	}
}

/* Reader and release of a response body that is a shared gzip'd blob. */
static ssize_t
blob_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct blob	*b = cls;
	size_t			 n;

	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
	memcpy(buf, b->data + pos, n);
	return (ssize_t)n;
}

static void
blob_release(void *cls)
{
	blob_unref(cls);
}

/* A response holding the size bytes of the small file fd; NULL on a read error. */
static struct MHD_Response *
small_body(int fd, size_t size)
{
	struct MHD_Response	*r;
	char			*buf = xmalloc(size + 1);
	ssize_t			 n;

	if ((n = pread(fd, buf, size, 0)) != (ssize_t)size) {
		if (n >= 0)
			errno = EIO;
		free(buf);
		return NULL;
	}
	if ((r = MHD_create_response_from_buffer(size, buf, MHD_RESPMEM_MUST_FREE)) == NULL)
		free(buf);
	return r;
}

/*
 * Answer with the open file fd (stat st) as kind k: 304 when the request's
 * validators match, else 200 with the file (read into the response when
 * small, else sent from fd) or its gzip'd body.  negotiated adds Accept to
 * Vary.  Takes ownership of fd.
 */
static enum MHD_Result
send_file(struct httpd *h, struct MHD_Connection *c, int fd, const struct stat *st, enum kind k,
    int negotiated)
{
	struct MHD_Response	*r;
	struct finfo		 fi;
	const char		*inm, *ims;
	char			 etag[TAG_LEN + 8], cc[96], lm[40];
	time_t			 t;
	int			 want_gz, fresh;

	want_gz = st->st_size > GZIP_MIN && (uint64_t)st->st_size <= MAX_HTTP_GZIP_CACHE &&
	    gzip_ok(c);
	if (fcache_get(&h->cache, fd, st, k, want_gz, &fi) == -1) {
		log_warn("httpd: reading a published file");
		close(fd);
		return internal_error(h, c);
	}
	/* a strong validator differs per content coding */
	snprintf(etag, sizeof(etag), "\"%s%s\"", fi.tag, fi.gz != NULL ? "-gz" : "");
	cache_control(k, &fi, httpd_now(h), cc, sizeof(cc));
	http_date(st->st_mtim.tv_sec, lm, sizeof(lm));
	inm = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
	ims = header(c, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	fresh = inm != NULL ? inm_match(inm, etag) :
	    ims != NULL && parse_http_date(ims, &t) == 0 && st->st_mtim.tv_sec <= t;
	if (fresh) {
		close(fd);
		blob_unref(fi.gz);
		r = MHD_create_response_from_buffer(0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
	} else if (fi.gz != NULL) {
		close(fd);
		r = MHD_create_response_from_callback(fi.gz->len, GZ_BLOCK, blob_read, fi.gz,
		    blob_release);
		if (r == NULL)
			blob_unref(fi.gz);
		else
			add(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	} else if (st->st_size <= SMALL_FILE) {
		/* one read here lets libmicrohttpd send header and body in one write */
		r = small_body(fd, (size_t)st->st_size);
		close(fd);
		if (r == NULL) {
			log_warn("httpd: reading a published file");
			return internal_error(h, c);
		}
	} else if ((r = MHD_create_response_from_fd64((uint64_t)st->st_size, fd)) == NULL)
		close(fd);
	if (r == NULL)
		return MHD_NO;
	if (!fresh)
		add(r, MHD_HTTP_HEADER_CONTENT_TYPE, kind_type[k]);
	add(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	add(r, MHD_HTTP_HEADER_ETAG, etag);
	add(r, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
	add(r, MHD_HTTP_HEADER_VARY, negotiated ? "Accept, Accept-Encoding" : "Accept-Encoding");
	return reply(h, c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
}

/* ------------------------------------------------------------ the publish folder */

/* 1 when s (n bytes) is a list name: [a-z0-9][a-z0-9-]{0,63}. */
static int
list_name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > MAX_LIST_NAME || *s == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/*
 * 1 when the path as received (undecoded) is one a client may send: absolute,
 * no empty (but the last), "." or ".." segment, no control bytes.
 */
static int
path_ok(const char *url)
{
	const char	*s, *e;
	size_t		 n;

	if (url[0] != '/')
		return 0;
	for (s = url + 1; ; s = e + 1) {
		e = s + strcspn(s, "/");
		n = (size_t)(e - s);
		if ((n == 0 && *e != '\0') || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (*e == '\0')
			break;
	}
	for (s = url; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Open publish_dir/LIST, following its symlink once: this request's generation. -1 errno. */
static int
open_list(const struct httpd *h, const char *list)
{
	char	 path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", h->publish_dir, list) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Open the regular file rel (at most one sub-folder) below dfd, following no
 * symlink.  The fd, or -1 with errno (ENOENT for anything that is not a
 * regular file of ours).
 */
static int
open_rel(int dfd, const char *rel, struct stat *st)
{
	char		 dir[32];
	const char	*slash = strchr(rel, '/');
	int		 sub = dfd, fd, saved;

	if (slash != NULL) {
		if ((size_t)(slash - rel) >= sizeof(dir)) {
			errno = ENOENT;
			return -1;
		}
		memcpy(dir, rel, (size_t)(slash - rel));
		dir[slash - rel] = '\0';
		sub = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub == -1)
			return -1;
		rel = slash + 1;
	}
	/* O_NONBLOCK: a FIFO planted here must not hang the thread; cleared below */
	fd = openat(sub, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	saved = errno;
	if (sub != dfd)
		close(sub);
	if (fd == -1) {
		errno = saved;
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

/* errno values that mean "no such published file". */
static int
missing(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG || e == EINVAL;
}

/* Serve publish_dir/LIST/rel as kind k. */
static enum MHD_Result
serve_file(struct httpd *h, struct MHD_Connection *c, const char *list, const char *rel,
    enum kind k)
{
	struct stat	 st;
	int		 dfd, fd, saved;

	if ((dfd = open_list(h, list)) == -1)
		return missing(errno) ? not_found(h, c) : internal_error(h, c);
	fd = open_rel(dfd, rel, &st);
	saved = errno;
	close(dfd);
	if (fd == -1)
		return missing(saved) ? not_found(h, c) : internal_error(h, c);
	return send_file(h, c, fd, &st, k, 0);
}

/*
 * Content negotiation among the n forms of one resource of LIST: the
 * acceptable forms that exist, best quality first (ties in table order), else
 * 406 when another form exists, else 404.
 */
static enum MHD_Result
negotiate(struct httpd *h, struct MHD_Connection *c, const char *list, struct form *f, size_t n)
{
	struct stat	 st;
	size_t		 i, best;
	int		 dfd, fd, other = 0;

	for (i = 0; i < n; i++)
		f[i].q = f[i].path[0] != '\0' ? accept_q(c, f[i].type) : 0;
	if ((dfd = open_list(h, list)) == -1)
		return missing(errno) ? not_found(h, c) : internal_error(h, c);
	for (;;) {
		for (best = n, i = 0; i < n; i++)
			if (f[i].q > 0 && !f[i].tried && (best == n || f[i].q > f[best].q))
				best = i;
		if (best == n)
			break;
		f[best].tried = 1;
		if ((fd = open_rel(dfd, f[best].path, &st)) != -1) {
			close(dfd);
			return send_file(h, c, fd, &st, f[best].kind, 1);
		}
		if (!missing(errno)) {
			close(dfd);
			return internal_error(h, c);
		}
	}
	for (i = 0; i < n && !other; i++)
		if (f[i].path[0] != '\0' && !f[i].tried && (fd = open_rel(dfd, f[i].path, &st)) != -1) {
			close(fd);
			other = 1;
		}
	close(dfd);
	if (other) {
		char	 cc[32];

		snprintf(cc, sizeof(cc), "public, max-age=%d", NEGATIVE_AGE);
		return reply_text(h, c, MHD_HTTP_NOT_ACCEPTABLE, "not acceptable\n", cc);
	}
	return not_found(h, c);
}

/* Fill f with type, kind and the printf-formatted path ("" = not available). */
static void
form_set(struct form *f, const char *type, enum kind k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
form_set(struct form *f, const char *type, enum kind k, const char *fmt, ...)
{
	va_list	 ap;

	memset(f, 0, sizeof(*f));
	f->type = type;
	f->kind = k;
	va_start(ap, fmt);
	vsnprintf(f->path, sizeof(f->path), fmt, ap);
	va_end(ap);
}

/* Decode the %HH escapes of s into out (outsz bytes). -1 on a bad escape, a NUL or overflow. */
static int
pct_decode(const char *s, char *out, size_t outsz)
{
	size_t	 n = 0;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (n + 1 >= outsz)
			return -1;
		if (*s != '%') {
			out[n++] = *s;
			continue;
		}
		if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
			return -1;
		hi = isdigit((unsigned char)s[1]) ? s[1] - '0' : (tolower((unsigned char)s[1]) - 'a' + 10);
		lo = isdigit((unsigned char)s[2]) ? s[2] - '0' : (tolower((unsigned char)s[2]) - 'a' + 10);
		if ((out[n++] = (char)(hi << 4 | lo)) == '\0')
			return -1;
		s += 2;
	}
	out[n] = '\0';
	return 0;
}

/* 1 when s is exactly n hex digits; copies them in lower case to out (n + 1 bytes). */
static int
hex_id(const char *s, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return s[n] == '\0';
}

/* Lower-case hex digest md of the string id into out (2 * digest size + 1 bytes). */
static void
digest_hex(const EVP_MD *md, const char *id, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 n, i;

	if (EVP_Digest(id, strlen(id), d, &n, md, NULL) != 1)
		fatalx("digest");
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * entities/<id> (4.10).  The id arrives percent-encoded (libmicrohttpd is
 * told not to decode, so %2F stays inside the segment); it is decoded once
 * and mapped to the names out_mdq.c writes: the XML by {sha1} (the same bytes
 * as the percent-encoded name, and the only name of a long id), the entity
 * JWS and JWKS by {sha256}.  "{sha1}HEX" and "{sha256}HEX" ids name those
 * files directly.  No decoded byte ever becomes part of a path.  0 with the
 * three forms in f, or the status (404, 400 with *why).
 */
static int
entity_forms(const char *raw, struct form *f, const char **why)
{
	char	 id[MAX_ENTITY_ID + 1], sha1[41], sha256[65];

	if (strchr(raw, '/') != NULL)
		return MHD_HTTP_NOT_FOUND;
	if (pct_decode(raw, id, sizeof(id)) == -1) {
		if (strlen(raw) > MAX_ENTITY_ID)
			return MHD_HTTP_NOT_FOUND;
		*why = "bad percent-encoding\n";
		return MHD_HTTP_BAD_REQUEST;
	}
	sha1[0] = sha256[0] = '\0';
	if (strncmp(id, "{sha1}", 6) == 0 && hex_id(id + 6, 40, sha1))
		;
	else if (strncmp(id, "{sha256}", 8) == 0 && hex_id(id + 8, 64, sha256))
		;
	else {
		digest_hex(EVP_sha1(), id, sha1);
		digest_hex(EVP_sha256(), id, sha256);
	}
	form_set(&f[0], CT_XML, K_ENTITY_XML, "%s%s", sha1[0] ? "entities/{sha1}" : "", sha1);
	form_set(&f[1], CT_ENTITY, K_ENTITY_JWT, "%s%s%s", sha256[0] ? "entities/{sha256}" : "",
	    sha256, sha256[0] ? ".jwt" : "");
	form_set(&f[2], CT_JWKS, K_ENTITY_JWKS, "%s%s%s", sha256[0] ? "entities/{sha256}" : "",
	    sha256, sha256[0] ? ".jwks" : "");
	return 0;
}

/* 1 when s is "DIGITS.jwt" (a bundles/ name). */
static int
seq_name_ok(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	return n > 0 && n <= 20 && strcmp(s + n, ".jwt") == 0;
}

/*
 * Where /LIST/... leads, decided without touching the disk: 0 with the list
 * name and the forms of the resource in f (*n of them: one is a fixed file,
 * several are negotiated), or the status (404, 400 with *why).
 */
static int
map_path(const char *url, char list[MAX_LIST_NAME + 1], struct form f[3], size_t *n,
    const char **why)
{
	static const struct {
		const char	*name;
		enum kind	 kind;
	} fixed[] = {
		{ "head.jwt", K_HEAD },
		{ "bundle.jwt", K_BUNDLE },
		{ "keys.json", K_KEYS },
		{ "aggregate.xml", K_AGGREGATE },
	};
	const char	*slash, *rest;
	size_t		 i, len;

	if (strcmp(url, "/") == 0)
		return MHD_HTTP_NOT_FOUND;
	if (!path_ok(url)) {
		*why = "bad request path\n";
		return MHD_HTTP_BAD_REQUEST;
	}
	if ((slash = strchr(url + 1, '/')) == NULL)
		return MHD_HTTP_NOT_FOUND;
	len = (size_t)(slash - (url + 1));
	if (!list_name_ok(url + 1, len))
		return MHD_HTTP_NOT_FOUND;
	memcpy(list, url + 1, len);
	list[len] = '\0';
	rest = slash + 1;
	*n = 1;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(rest, fixed[i].name) == 0) {
			form_set(&f[0], kind_type[fixed[i].kind], fixed[i].kind, "%s", rest);
			return 0;
		}
	if (strncmp(rest, "bundles/", 8) == 0 && seq_name_ok(rest + 8)) {
		form_set(&f[0], CT_BUNDLE, K_BUNDLE_SEQ, "%s", rest);
		return 0;
	}
	if (strcmp(rest, "entities") == 0) {
		/* `entities`: the signed aggregate or the bundle (4.10) */
		form_set(&f[0], CT_XML, K_AGGREGATE, "aggregate.xml");
		form_set(&f[1], CT_BUNDLE, K_BUNDLE, "bundle.jwt");
		*n = 2;
		return 0;
	}
	if (strncmp(rest, "entities/", 9) == 0) {
		*n = 3;
		return entity_forms(rest + 9, f, why);
	}
	return MHD_HTTP_NOT_FOUND;
}

/* Route /LIST/... to a file of the list's live generation. */
static enum MHD_Result
serve_path(struct httpd *h, struct MHD_Connection *c, const char *url)
{
	struct form	 f[3];
	char		 list[MAX_LIST_NAME + 1];
	const char	*why = NULL;
	size_t		 n = 0;
	int		 status;

	if ((status = map_path(url, list, f, &n, &why)) == MHD_HTTP_BAD_REQUEST)
		return reply_text(h, c, MHD_HTTP_BAD_REQUEST, why, NULL);
	if (status != 0)
		return not_found(h, c);
	if (n == 1)
		return serve_file(h, c, list, f[0].path, f[0].kind);
	return negotiate(h, c, list, f, n);
}

/* The files url is answered from, without the server (see extern.h). */
int
httpd_map_path(const char *url, char list[MAX_LIST_NAME + 1], char paths[3][96], size_t *n)
{
	struct form	 f[3];
	const char	*why = NULL;
	size_t		 i, nf = 0;
	int		 status;

	*n = 0;
	if ((status = map_path(url, list, f, &nf, &why)) != 0)
		return status;
	for (i = 0; i < nf; i++)
		if (f[i].path[0] != '\0')
			memcpy(paths[(*n)++], f[i].path, sizeof(f[i].path));
	return 0;
}

/* /metrics: the Prometheus text of the registry (404 without one). */
static enum MHD_Result
serve_metrics(struct httpd *h, struct MHD_Connection *c)
{
	struct MHD_Response	*r;
	char			*buf;
	size_t			 len;

	if (h->report != NULL) {
		if (h->report(h->arg, HTTPD_REPORT_METRICS, httpd_now(h), &buf, &len) == -1)
			return reply_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "fedtrustd's main process does not answer\n", "no-store");
	} else if (h->metrics == NULL)
		return not_found(h, c);
	else
		metrics_render(h->metrics, httpd_now(h), &buf, &len);
	if ((r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(buf);
		return MHD_NO;
	}
	add(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_METRICS);
	add(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return reply(h, c, MHD_HTTP_OK, r);
}

/* /healthz: 200 "ok" or 503 with one line per problem (metrics_health). */
static enum MHD_Result
serve_health(struct httpd *h, struct MHD_Connection *c)
{
	struct MHD_Response	*r;
	const struct config	*cf = NULL;
	char			*buf;
	size_t			 len;
	int			 ok;

	if (h->report != NULL) {
		if ((ok = h->report(h->arg, HTTPD_REPORT_HEALTH, httpd_now(h), &buf, &len)) == -1)
			return reply_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "fedtrustd's main process does not answer\n", "no-store");
	} else if (h->metrics == NULL)
		return reply_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "no metrics\n", "no-store");
	else {
		if (h->config != NULL)
			cf = h->config(h->arg);
		ok = metrics_health(h->metrics, cf, httpd_now(h), &buf, &len);
	}
	if ((r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(buf);
		return MHD_NO;
	}
	add(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
	add(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return reply(h, c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, r);
}

/* 1 when the request announces a body (never expected: GET and HEAD only). */
static int
has_body(struct MHD_Connection *c)
{
	const char	*cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (cl != NULL && strspn(cl, "0 \t") != strlen(cl)) ||
	    header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Route one complete request. */
static enum MHD_Result
route(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", NULL);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(h, c);
	if (strcmp(url, "/healthz") == 0)
		return serve_health(h, c);
	return serve_path(h, c, url);
}

/*
 * libmicrohttpd's access handler, called once the headers are in and again
 * when the request is complete.  A request without a body is answered on the
 * second call, so the connection stays open for the next one; a request with
 * a body (or another method) is answered at once: libmicrohttpd then
 * discards the body unread and closes the connection after the answer.
 */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *uploadsz, void **ctx)
{
	struct httpd	*h = cls;

	if (*ctx == NULL) {
		*ctx = h;
		atomic_fetch_add(&h->active, 1);
		if (has_body(c) || (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0))
			return route(h, c, url, method);
		return MHD_YES;
	}
	if (*uploadsz != 0) {
		*uploadsz = 0;
		return MHD_YES;
	}
	return route(h, c, url, method);
}

/* A request ended (sent, failed or timed out). */
static void
completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
	struct httpd	*h = cls;

	if (*ctx != NULL) {
		atomic_fetch_sub(&h->active, 1);
		*ctx = NULL;
	}
}

/* Keep the path as received: %2F must stay inside an entity id (4.10). */
static size_t
keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

/* libmicrohttpd's messages are about misbehaving clients: debug only. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	 buf[256];
	size_t	 n;

	if (!log_verbose)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("httpd: %s", buf);
}

/* ------------------------------------------------------------ start and stop */

/*
 * A listening socket for "ADDR:PORT", "[V6]:PORT" or "*:PORT" (any IPv4
 * address).  The fd and the bound port in *port, or -1 with v.
 */
static int
listen_socket(const char *spec, int *port, int *v6, struct verdict *v)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[256];
	const char		*p, *colon;
	int			 fd = -1, one = 1, e;
	size_t			 n;

	if (spec == NULL || spec[0] == '\0')
		return verdict_set(v, R_INTERNAL, "listen: empty address");
	if (spec[0] == '[') {
		if ((p = strchr(spec, ']')) == NULL || p[1] != ':')
			return verdict_set(v, R_INTERNAL, "listen %s: expected [ADDR]:PORT", spec);
		n = (size_t)(p - spec - 1);
		spec++;
		colon = p + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL || memchr(spec, ':', (size_t)(colon - spec)))
			return verdict_set(v, R_INTERNAL, "listen %s: expected ADDR:PORT or "
			    "[ADDR]:PORT", spec);
		n = (size_t)(colon - spec);
	}
	if (n >= sizeof(host) || colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
		return verdict_set(v, R_INTERNAL, "listen %s: bad address or port", spec);
	memcpy(host, spec, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(strcmp(host, "*") == 0 || host[0] == '\0' ? "0.0.0.0" : host,
	    colon + 1, &hints, &res)) != 0)
		return verdict_set(v, R_INTERNAL, "listen %s: %s", host, gai_strerror(e));
	*v6 = res->ai_family == AF_INET6;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (*v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		verdict_set(v, R_INTERNAL, "listen %s:%s: %s", host, colon + 1, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

struct httpd *
httpd_start(const struct httpd_opts *o, struct verdict *v)
{
	struct httpd	*h;
	long		 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int	 threads, flags;
	int		 v6 = 0;

	h = xcalloc(1, sizeof(*h));
	if ((h->lfd = listen_socket(o->listen, &h->port, &v6, v)) == -1) {
		free(h);
		return NULL;
	}
	h->publish_dir = xstrdup(o->publish_dir);
	h->metrics = o->metrics;
	h->config = o->config;
	h->report = o->report;
	h->arg = o->arg;
	h->now = o->now;
	atomic_init(&h->active, 0);
	fcache_init(&h->cache);
	threads = ncpu < 1 ? 1 : ncpu > MAX_HTTP_THREADS ? MAX_HTTP_THREADS : (unsigned int)ncpu;
	flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	    (v6 ? MHD_USE_IPv6 : 0);
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_HTTP_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)MAX_HTTP_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MAX_HTTP_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_HTTP_HEADER,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		verdict_set(v, R_INTERNAL, "listen %s: libmicrohttpd did not start", o->listen);
		close(h->lfd);
		fcache_free(&h->cache);
		free(h->publish_dir);
		free(h);
		return NULL;
	}
	log_info("httpd: serving %s on %s (port %d)", h->publish_dir, o->listen, h->port);
	return h;
}

void
httpd_stop(struct httpd *h)
{
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	MHD_socket	 l;
	int		 i;

	if (h == NULL)
		return;
	/* stop accepting, give running requests a bounded time, then close everything */
	l = MHD_quiesce_daemon(h->mhd);
	for (i = 0; i < MAX_HTTP_STOP_WAIT * 20 && atomic_load(&h->active) > 0; i++)
		nanosleep(&ts, NULL);
	MHD_stop_daemon(h->mhd);
	if (l != MHD_INVALID_SOCKET)
		close(l);
	fcache_free(&h->cache);
	free(h->publish_dir);
	free(h);
}

int
httpd_port(const struct httpd *h)
{
	return h->port;
}
