/*
 * Derived outputs of the consumer agent (bundle-format.md 4.12, docs/pull.md):
 * per-entity PEM plus a thumbprint index, an nginx map keyed by
 * $ssl_client_fingerprint, per-entity JWKS and a SPIFFE bundle map.  Made
 * only from a verified bundle, deterministic (entity order, sorted JSON),
 * each file written atomically and only when its bytes change, so that an
 * unchanged bundle never triggers the reload hook.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "extern.h"
#include "fedtrust/fedtrust.h"

#define MAX_OUT_FILE	(256UL * 1024 * 1024)	/* largest output read back for comparison */

/* One output file being assembled; path relative to the output dir. */
struct ofile {
	char		*path;
	char		*data;
	size_t		 len;
};

struct oset {
	struct ofile	*f;
	size_t		 n;
};

/* A growing text buffer. */
struct buf {
	char		*p;
	size_t		 len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Add path with data (ownership of data taken). */
static void
oset_add(struct oset *o, const char *path, char *data, size_t len)
{
	o->f = xreallocarray(o->f, o->n + 1, sizeof(*o->f));
	o->f[o->n].path = xstrdup(path);
	o->f[o->n].data = data;
	o->f[o->n].len = len;
	o->n++;
}

static void
oset_free(struct oset *o)
{
	size_t	 i;

	for (i = 0; i < o->n; i++) {
		free(o->f[i].path);
		free(o->f[i].data);
	}
	free(o->f);
}

static int
unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * File-name form of an id: RFC 3986 percent-encoding of everything but
 * unreserved characters ("." and ".." fully encoded), the same rule as the
 * producer's entities/ names; "sha256-<hex>" when that is too long for a
 * file name.  Never contains '/', so it cannot leave its folder.
 */
char *
pull_out_name(const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s;
	char		*out, *o, h[65];
	int		 dots = strcmp(id, ".") == 0 || strcmp(id, "..") == 0;

	o = out = xmalloc(strlen(id) * 3 + 1);
	for (s = (const unsigned char *)id; *s != '\0'; s++) {
		if (unreserved(*s) && !(dots && *s == '.'))
			*o++ = (char)*s;
		else {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	if (out[0] == '\0' || strlen(out) > MAX_FILE_NAME - 8) {
		free(out);
		sha256_hex(id, strlen(id), h);
		xasprintf(&out, "sha256-%s", h);
	}
	return out;
}

/*
 * An id as an nginx string value: bytes outside 0x21..0x7e and the ones
 * nginx or a reader would treat specially ("'\$;{}%) percent-encoded.
 */
static void
nginx_value(struct buf *b, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s;
	char		 e[3];

	for (s = (const unsigned char *)id; *s != '\0'; s++) {
		if (*s > 0x20 && *s < 0x7f && strchr("\"'\\$;{}%#", *s) == NULL)
			buf_add(b, (const char *)s, 1);
		else {
			e[0] = '%';
			e[1] = hex[*s >> 4];
			e[2] = hex[*s & 15];
			buf_add(b, e, 3);
		}
	}
}

/* PEM CERTIFICATE block of der, 64 columns. */
static void
pem_cert(struct buf *b, const unsigned char *der, size_t len)
{
	char	*s = b64_encode(der, len);
	size_t	 i, n = strlen(s);

	buf_str(b, "-----BEGIN CERTIFICATE-----\n");
	for (i = 0; i < n; i += 64) {
		buf_add(b, s + i, n - i < 64 ? n - i : 64);
		buf_str(b, "\n");
	}
	buf_str(b, "-----END CERTIFICATE-----\n");
	free(s);
}

/* Lower-case hex SHA-1 of der, as nginx's $ssl_client_fingerprint. 0 / -1. */
static int
sha1_hex(const unsigned char *der, size_t len, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	if (!EVP_Digest(der, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -1;
	for (i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
	return 0;
}

/* The key's JWK as a jansson object (new reference), or NULL. */
static json_t *
key_obj(const struct fedtrust_key *k)
{
	const char	*s = fedtrust_key_json(k);

	return s == NULL ? NULL : json_loads(s, JSON_REJECT_DUPLICATES, NULL);
}

static char *
dump(json_t *j, size_t *len)
{
	/* a trailing newline keeps the files friendly to diff and cat */
	char	*s = json_line(j, JSON_COMPACT | JSON_ENSURE_ASCII, len);

	if (s == NULL)
		fatalx("json_dumps: out of memory");
	return s;
}

/* 1 when e is still trusted at now. */
static int
alive(const struct fedtrust_entity *e, time_t now)
{
	return now < fedtrust_entity_valid_until(e);
}

/* pem/<name>.pem per id with certificates, and pem/index.json. */
static void
make_pem(const struct fedtrust_bundle *b, time_t now, struct oset *o)
{
	json_t		*index = json_object(), *arr, *obj, *k;
	struct buf	 pem = { NULL, 0, 0 };
	const struct fedtrust_entity *e;
	const struct fedtrust_key *key;
	const unsigned char *der;
	const char	*x5t, *id;
	char		*name, *path;
	size_t		 i, j, n = b == NULL ? 0 : fedtrust_bundle_entity_count(b), len;

	for (i = 0; i < n; i++) {
		e = fedtrust_bundle_entity_at(b, i);
		id = fedtrust_entity_id(e);
		for (j = 0; alive(e, now) && j < fedtrust_entity_key_count(e); j++) {
			key = fedtrust_entity_key(e, j);
			if ((der = fedtrust_key_cert_der(key, &len)) != NULL)
				pem_cert(&pem, der, len);
			if ((x5t = fedtrust_key_x5t_s256(key)) == NULL)
				continue;
			obj = json_object();
			json_object_set_new(obj, "id", json_string(id));
			json_object_set_new(obj, "proto", json_string(fedtrust_entity_proto(e)));
			if ((k = key_obj(key)) != NULL && json_is_array(json_object_get(k,
			    "purposes")))
				json_object_set(obj, "purposes", json_object_get(k, "purposes"));
			else
				json_object_set_new(obj, "purposes", json_array());
			json_decref(k);
			if ((arr = json_object_get(index, x5t)) == NULL) {
				arr = json_array();
				json_object_set_new(index, x5t, arr);
			}
			json_array_append_new(arr, obj);
		}
		/* Entries of the same id (other protos) share one file. */
		if (i + 1 < n && strcmp(fedtrust_entity_id(fedtrust_bundle_entity_at(b, i + 1)),
		    id) == 0)
			continue;
		if (pem.len > 0) {
			name = pull_out_name(id);
			xasprintf(&path, "pem/%s.pem", name);
			oset_add(o, path, pem.p, pem.len);
			free(path);
			free(name);
			memset(&pem, 0, sizeof(pem));
		}
	}
	free(pem.p);
	path = dump(index, &len);
	oset_add(o, "pem/index.json", path, len);
	json_decref(index);
}

/* nginx-map.conf: SHA-1 of every certificate -> entity id (first in order wins). */
static void
make_nginx(const struct fedtrust_bundle *b, time_t now, struct oset *o)
{
	struct buf	 m = { NULL, 0, 0 };
	char		**seen = NULL, fp[41];
	size_t		 seensz = 0, i, j, k, n = b == NULL ? 0 : fedtrust_bundle_entity_count(b);
	size_t		 len, certs = 0;
	const struct fedtrust_entity *e;
	const unsigned char *der;

	buf_str(&m, "# fedtrust pull: client certificate SHA-1 -> partner id (generated; do not edit)\n");
	if (b != NULL)
		for (i = 0; i < n; i++) {
			e = fedtrust_bundle_entity_at(b, i);
			for (j = 0; j < fedtrust_entity_key_count(e); j++)
				if (fedtrust_key_cert_der(fedtrust_entity_key(e, j), &len) != NULL)
					certs++;
		}
	if (b == NULL)
		buf_str(&m, "# no valid bundle: nobody is admitted\n");
	else if (certs == 0)
		buf_str(&m, "# the bundle carries no certificates (compact variant?): "
		    "the map needs bundle-variant = full\n");
	buf_str(&m, "map $ssl_client_fingerprint $fedtrust_partner {\n\tdefault \"\";\n");
	for (i = 0; i < n; i++) {
		e = fedtrust_bundle_entity_at(b, i);
		if (!alive(e, now))
			continue;
		for (j = 0; j < fedtrust_entity_key_count(e); j++) {
			der = fedtrust_key_cert_der(fedtrust_entity_key(e, j), &len);
			if (der == NULL || sha1_hex(der, len, fp) == -1)
				continue;
			/* nginx refuses duplicate map keys: the first entity keeps it. */
			for (k = 0; k < seensz; k++)
				if (strcmp(seen[k], fp) == 0)
					break;
			if (k < seensz) {
				log_debug("nginx-map: certificate %s also in %s, kept for the first "
				    "entity", fp, fedtrust_entity_id(e));
				continue;
			}
			strv_push(&seen, &seensz, fp);
			buf_str(&m, "\t");
			buf_str(&m, fp);
			buf_str(&m, " \"");
			nginx_value(&m, fedtrust_entity_id(e));
			buf_str(&m, "\";\n");
		}
	}
	buf_str(&m, "}\n");
	strv_free(seen, seensz);
	oset_add(o, "nginx-map.conf", m.p, m.len);
}

/* A public JWK for a JWKS file: the fedtrust members removed. */
static json_t *
plain_jwk(json_t *k)
{
	json_t	*c = json_deep_copy(k);

	json_object_del(c, "jkt");
	json_object_del(c, "purposes");
	json_object_del(c, "prov");
	return c;
}

/* jwks/<name>.json per id with jwt or jwe keys. */
static void
make_jwks(const struct fedtrust_bundle *b, time_t now, struct oset *o)
{
	json_t		*keys = NULL, *set, *k;
	const struct fedtrust_entity *e;
	const struct fedtrust_key *key;
	const char	*id;
	char		*name, *path, *data;
	size_t		 i, j, len, n = b == NULL ? 0 : fedtrust_bundle_entity_count(b);

	for (i = 0; i < n; i++) {
		e = fedtrust_bundle_entity_at(b, i);
		id = fedtrust_entity_id(e);
		if (alive(e, now))
			for (j = 0; j < fedtrust_entity_key_count(e); j++) {
				key = fedtrust_entity_key(e, j);
				if (!fedtrust_key_has_purpose(key, "jwt") &&
				    !fedtrust_key_has_purpose(key, "jwe"))
					continue;
				if ((k = key_obj(key)) == NULL)
					continue;
				if (keys == NULL)
					keys = json_array();
				json_array_append_new(keys, plain_jwk(k));
				json_decref(k);
			}
		if (i + 1 < n && strcmp(fedtrust_entity_id(fedtrust_bundle_entity_at(b, i + 1)),
		    id) == 0)
			continue;
		if (keys != NULL) {
			set = json_object();
			json_object_set_new(set, "keys", keys);
			keys = NULL;
			data = dump(set, &len);
			json_decref(set);
			name = pull_out_name(id);
			xasprintf(&path, "jwks/%s.json", name);
			oset_add(o, path, data, len);
			free(path);
			free(name);
		}
	}
	json_decref(keys);
}

/* spiffe-bundle-map.json (4.12 item 2). */
static void
make_spiffe(const struct fedtrust_bundle *b, time_t now, struct oset *o)
{
	json_t		*map = json_object(), *tds = json_object(), *keys, *td, *k, *c, *x5c;
	const struct fedtrust_entity *e;
	const struct fedtrust_key *key;
	const char	*id;
	char		*data;
	size_t		 i, j, len, n = b == NULL ? 0 : fedtrust_bundle_entity_count(b);

	for (i = 0; i < n; i++) {
		e = fedtrust_bundle_entity_at(b, i);
		id = fedtrust_entity_id(e);
		if (strcmp(fedtrust_entity_proto(e), "spiffe") != 0 || !alive(e, now) ||
		    strncmp(id, "spiffe://", 9) != 0 || id[9] == '\0')
			continue;
		keys = json_array();
		for (j = 0; j < fedtrust_entity_key_count(e); j++) {
			key = fedtrust_entity_key(e, j);
			if ((k = key_obj(key)) == NULL)
				continue;
			c = plain_jwk(k);
			if (fedtrust_key_has_purpose(key, "x509-svid")) {
				/* Exactly one certificate and no kid (SPIFFE bundle format). */
				x5c = json_object_get(k, "x5c");
				json_object_del(c, "kid");
				json_object_del(c, "x5t#S256");
				json_object_del(c, "x5c");
				if (json_is_array(x5c) && json_array_size(x5c) > 0) {
					json_object_set_new(c, "x5c", json_pack("[O]",
					    json_array_get(x5c, 0)));
					json_object_set_new(c, "use", json_string("x509-svid"));
					json_array_append(keys, c);
				}
			} else if (fedtrust_key_has_purpose(key, "jwt-svid") &&
			    json_object_get(c, "kid") != NULL) {
				json_object_set_new(c, "use", json_string("jwt-svid"));
				json_array_append(keys, c);
			}
			json_decref(c);
			json_decref(k);
		}
		td = json_object();
		json_object_set_new(td, "spiffe_sequence",
		    json_integer((json_int_t)fedtrust_bundle_seq(b)));
		json_object_set_new(td, "keys", keys);
		json_object_set_new(tds, id + 9, td);
	}
	json_object_set_new(map, "trust_domains", tds);
	data = dump(map, &len);
	json_decref(map);
	oset_add(o, "spiffe-bundle-map.json", data, len);
}

/* Write f into dir unless the file already holds these bytes. 1 written, 0 same, -1. */
static int
sync_file(const char *dir, const struct ofile *f)
{
	unsigned char	*old = NULL;
	size_t		 oldsz = 0;
	char		*path = path_join(dir, f->path), *d;
	int		 rc = -1;

	if (read_file(path, MAX_OUT_FILE, &old, &oldsz) == 0 && oldsz == f->len &&
	    memcmp(old, f->data, f->len) == 0) {
		rc = 0;
		goto out;
	}
	d = path_dirname(path);
	if (mkdir_p(d, 0755) == -1) {
		log_warn("%s", d);
		free(d);
		goto out;
	}
	free(d);
	if (write_file_atomic(path, f->data, f->len, 0644) == -1) {
		log_warn("%s", path);
		goto out;
	}
	log_debug("wrote %s", path);
	rc = 1;
 out:
	free(old);
	free(path);
	return rc;
}

/*
 * Remove files ending in suffix from dir/sub that o does not hold (entities
 * that left the bundle).  Returns the number removed, or -1.
 */
static int
prune(const char *dir, const char *sub, const char *suffix, const struct oset *o)
{
	DIR		*dp;
	struct dirent	*de;
	char		*d = path_join(dir, sub), *rel, *path;
	size_t		 i, sl = strlen(suffix), nl;
	int		 n = 0, keep;

	if ((dp = opendir(d)) == NULL) {
		free(d);
		return errno == ENOENT ? 0 : -1;
	}
	while ((de = readdir(dp)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' || nl <= sl || strcmp(de->d_name + nl - sl, suffix) != 0)
			continue;
		xasprintf(&rel, "%s/%s", sub, de->d_name);
		for (keep = 0, i = 0; i < o->n && !keep; i++)
			keep = strcmp(o->f[i].path, rel) == 0;
		if (!keep) {
			path = path_join(dir, rel);
			if (unlink(path) == -1) {
				log_warn("%s", path);
				n = -1;
			} else if (n >= 0)
				n++;
			free(path);
		}
		free(rel);
	}
	closedir(dp);
	if (n > 0)
		fsync_dir(d);
	free(d);
	return n;
}

/* A string array of the thumbprints get(r, i) for i < n. */
static json_t *
thumbs(const struct fedtrust_revoked *r, size_t n,
    const char *(*get)(const struct fedtrust_revoked *, size_t))
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(get(r, i)));
	return a;
}

/*
 * revoked.json: the bundle's recent revocations, always written (an empty
 * array when there are none), so a gateway's reload hook can drop cached
 * sessions and keys of revoked partners before anything else.
 */
static void
make_revoked(const struct fedtrust_bundle *b, struct oset *o)
{
	json_t				*a = json_array();
	const struct fedtrust_revoked	*r;
	size_t				 i, len;
	char				*s;

	for (i = 0; (r = fedtrust_bundle_revoked_at(b, i)) != NULL; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}",
		    "id", fedtrust_revoked_id(r), "proto", fedtrust_revoked_proto(r),
		    "at", (json_int_t)fedtrust_revoked_time(r), "reason", fedtrust_revoked_reason(r),
		    "jkt", thumbs(r, fedtrust_revoked_key_count(r), fedtrust_revoked_key),
		    "x5t#S256", thumbs(r, fedtrust_revoked_cert_count(r), fedtrust_revoked_cert)));
	s = dump(a, &len);
	oset_add(o, "revoked.json", s, len);
	json_decref(a);
}

/* See extern.h. */
int
pull_out_write(const char *dir, unsigned outputs, const struct fedtrust_bundle *b, time_t now,
    int *changed)
{
	struct oset	 o = { NULL, 0 };
	size_t		 i;
	int		 r, rc = -1;

	*changed = 0;
	if (outputs == 0)
		return 0;
	if (mkdir_p(dir, 0755) == -1) {
		log_warn("%s", dir);
		return -1;
	}
	if (outputs & PULL_OUT_PEM)
		make_pem(b, now, &o);
	if (outputs & PULL_OUT_NGINX)
		make_nginx(b, now, &o);
	if (outputs & PULL_OUT_JWKS)
		make_jwks(b, now, &o);
	if (outputs & PULL_OUT_SPIFFE)
		make_spiffe(b, now, &o);
	make_revoked(b, &o);
	/* New and changed files first, indexes and maps included; then removals. */
	for (i = 0; i < o.n; i++) {
		if ((r = sync_file(dir, &o.f[i])) == -1)
			goto out;
		if (r == 1)
			*changed = 1;
	}
	if (outputs & PULL_OUT_PEM) {
		if ((r = prune(dir, "pem", ".pem", &o)) == -1)
			goto out;
		if (r > 0)
			*changed = 1;
	}
	if (outputs & PULL_OUT_JWKS) {
		if ((r = prune(dir, "jwks", ".json", &o)) == -1)
			goto out;
		if (r > 0)
			*changed = 1;
	}
	rc = 0;
 out:
	oset_free(&o);
	return rc;
}
