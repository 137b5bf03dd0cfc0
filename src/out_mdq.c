/*
 * Per-entity lookups (MDQ, bundle-format 4.10) as files for a static web
 * server: under entities/ the signed EntityDescriptor at the percent-encoded
 * entityID and at {sha1}HEX, the entity JWS at {sha256}HEX.jwt and its JWK
 * Set at {sha256}HEX.jwks.  Signing 10,000 XML documents is the expensive
 * part, so an unchanged entity's signed XML is carried over from the live
 * generation while more than half of its validity remains; a small index in
 * state-dir (never the publish folder) says which bytes may be carried over.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "extern.h"
#include "lib/private.h"

#define TYP_ENTITY	"vnd.fedtrust.entity+jwt"
#define INDEX_NAME	"mdq-index"
#define MAX_INDEX_FILE	(64UL * 1024 * 1024)

/* One line of the reuse index. */
struct mdq_rec {
	char		 sha1[41];	/* of the entityID: the key */
	char		 in[65];	/* SHA-256 of operator kid, NUL and the entity's XML */
	long long	 signed_at;
	long long	 valid_until;	/* written into the signed XML */
	char		 out[65];	/* SHA-256 of the signed XML bytes */
};

struct mdq_state {
	struct mdq_rec	*recs;		/* the new index, written by mdq_commit */
	size_t		 n;
};

char *
mdq_encode_id(const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char		*out, *q;
	int		 dots;

	out = q = xmalloc(strlen(id) * 3 + 1);
	/* "." and ".." would be dot segments: encode them entirely */
	dots = strcmp(id, ".") == 0 || strcmp(id, "..") == 0;
	for (p = (const unsigned char *)id; *p != '\0'; p++) {
		if (!dots && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~'))
			*q++ = (char)*p;
		else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 15];
		}
	}
	*q = '\0';
	return out;
}

void
mdq_sha1_hex(const char *id, char out[41])
{
	unsigned char	 md[20];
	unsigned int	 mdlen = sizeof(md), i;

	if (EVP_Digest(id, strlen(id), md, &mdlen, EVP_sha1(), NULL) != 1)
		fatalx("sha1");
	for (i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *
index_path(const struct mdq_opts *o)
{
	char	*p;

	xasprintf(&p, "%s/lists/%s/" INDEX_NAME, o->state_dir, o->list);
	return p;
}

static int
cmp_rec(const void *a, const void *b)
{
	return strcmp(((const struct mdq_rec *)a)->sha1, ((const struct mdq_rec *)b)->sha1);
}

/* The previous index, sorted by sha1 (empty when none or unreadable). */
static void
index_load(const struct mdq_opts *o, struct mdq_state *st)
{
	char		*path = index_path(o), *s, *line;
	unsigned char	*buf;
	size_t		 len;
	struct mdq_rec	 r;

	memset(st, 0, sizeof(*st));
	if (read_file(path, MAX_INDEX_FILE, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		free(path);
		return;
	}
	buf = xreallocarray(buf, len + 1, 1);
	buf[len] = '\0';
	for (s = (char *)buf; (line = strsep(&s, "\n")) != NULL; ) {
		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%40s %64s %lld %lld %64s", r.sha1, r.in, &r.signed_at,
		    &r.valid_until, r.out) != 5 || strlen(r.sha1) != 40)
			continue;
		st->recs = xreallocarray(st->recs, st->n + 1, sizeof(*st->recs));
		st->recs[st->n++] = r;
	}
	qsort(st->recs, st->n, sizeof(*st->recs), cmp_rec);
	free(buf);
	free(path);
}

/* SHA-256 hex of the operator kid, a NUL and the entity's XML. */
static void
input_digest(const char *kid, const struct entity *e, char out[65])
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 md[32];

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, kid, strlen(kid) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, e->xml, e->xmlsz) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		fatalx("sha256");
	EVP_MD_CTX_free(ctx);
	sha256_hex(md, sizeof(md), out);
}

/*
 * The live signed XML of an entity when it may be carried over: same input,
 * never promising more than the entity does now, more than half of its
 * window left, and the bytes on disk are the ones we signed.  Caller frees.
 */
static unsigned char *
reuse(const struct mdq_state *prev, const struct mdq_rec *want, const struct entity *e,
    const struct mdq_opts *o, time_t now, size_t *len, struct mdq_rec *got)
{
	struct mdq_rec	*r;
	unsigned char	*buf;
	char		 path[64], d[65];

	if (prev->n == 0)
		return NULL;
	r = bsearch(want, prev->recs, prev->n, sizeof(*prev->recs), cmp_rec);
	if (r == NULL || strcmp(r->in, want->in) != 0)
		return NULL;
	if (e->valid_until != 0 && r->valid_until > (long long)e->valid_until)
		return NULL;
	if (r->valid_until - (long long)now <= (r->valid_until - r->signed_at) / 2)
		return NULL;
	snprintf(path, sizeof(path), "entities/{sha1}%s", r->sha1);
	if (publish_read_live(o->publish_dir, o->list, path, &buf, len) == -1)
		return NULL;
	sha256_hex(buf, *len, d);
	if (strcmp(d, r->out) != 0) {
		log_warnx("list=%s: live %s differs from what was signed; signing it again",
		    o->list, path);
		free(buf);
		return NULL;
	}
	*got = *r;
	return buf;
}

/* The signed XML of e (carried over or fresh) at both of its names. 0 / -1 with v. */
static int
entity_xml(const struct entity *e, const char *kid, const struct mdq_state *prev,
    const struct mdq_opts *o, const struct signer *s, time_t now, struct outfiles *out,
    struct mdq_rec *rec, size_t *nsigned, struct verdict *v)
{
	unsigned char	*doc;
	size_t		 len;
	char		*enc, path[80], id[48];
	time_t		 until;

	memset(rec, 0, sizeof(*rec));
	mdq_sha1_hex(e->id, rec->sha1);
	input_digest(kid, e, rec->in);
	if ((doc = reuse(prev, rec, e, o, now, &len, rec)) == NULL) {
		until = now + o->saml_validity;
		if (e->valid_until != 0 && e->valid_until < until)
			until = e->valid_until;
		snprintf(id, sizeof(id), "_%s", rec->sha1);
		if (out_saml_entity(e, id, until, s, now, &doc, &len, v) == -1)
			return -1;
		rec->signed_at = now;
		rec->valid_until = until;
		sha256_hex(doc, len, rec->out);
		(*nsigned)++;
	}
	snprintf(path, sizeof(path), "entities/{sha1}%s", rec->sha1);
	outfiles_add(out, path, doc, len);
	enc = mdq_encode_id(e->id);
	/* a name the file system cannot hold is served by its {sha1} form only */
	if (strlen(enc) <= MAX_FILE_NAME) {
		char	*p;

		xasprintf(&p, "entities/%s", enc);
		outfiles_add_ref(out, p, doc, len);
		free(p);
	}
	free(enc);
	return 0;
}

/*
 * A JWK Set of the keys of bundle entries [i, i + n) (one id, every proto):
 * JWK members only, kid = the partner's kid or else jkt, use when single.
 */
static json_t *
entity_jwks(const struct bundle *b, size_t i, size_t n)
{
	json_t		*set = json_object(), *keys = json_array(), *k, *c, *pur;
	const char	*p;
	size_t		 j, e;

	for (e = i; e < i + n; e++) {
		json_array_foreach(json_object_get(json_array_get(b->entities, e), "keys"), j, k) {
			c = json_deep_copy(k);
			pur = json_object_get(c, "purposes");
			p = json_string_value(json_array_get(pur, 0));
			if (json_array_size(pur) == 1 && json_object_get(c, "use") == NULL)
				json_object_set_new(c, "use", json_string(strcmp(p, "saml-enc") == 0 ||
				    strcmp(p, "jwe") == 0 ? "enc" : "sig"));
			if (json_object_get(c, "kid") == NULL)
				json_object_set(c, "kid", json_object_get(c, "jkt"));
			json_object_del(c, "jkt");
			json_object_del(c, "purposes");
			json_object_del(c, "prov");
			json_array_append_new(keys, c);
		}
	}
	json_object_set_new(set, "keys", keys);
	return set;
}

/* The entity JWS and JWKS of bundle entries [i, i + n), which share one id. 0 / -1 with v. */
static int
entity_jws(const struct bundle *b, size_t i, size_t n, const struct bundle_opts *bo,
    const struct signer *s, const struct fedtrustp_keyset *ks, struct outfiles *out,
    struct verdict *v)
{
	json_t		*p, *group, *set;
	char		*text = NULL, *jws = NULL, *jwks = NULL, hex[65], path[96];
	size_t		 len, jwssz, jlen, e;
	json_int_t	 exp = (json_int_t)b->exp, vu, last = 0;
	int		 rc = -1;

	/* exp = min(bundle exp, the latest valid_until of the entries) (4.10) */
	group = json_array();
	for (e = i; e < i + n; e++) {
		json_array_append(group, json_array_get(b->entities, e));
		vu = json_integer_value(json_object_get(json_array_get(b->entities, e),
		    "valid_until"));
		if (vu > last)
			last = vu;
	}
	if (last < exp)
		exp = last;
	p = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "iss", bo->issuer, "list", bo->list,
	    "iat", (json_int_t)b->iat, "exp", exp, "seq", (json_int_t)bo->seq, "entities", group);
	if (p == NULL) {
		verdict_set(v, R_INTERNAL, "entity JWS: cannot build the payload");
		goto out;
	}
	if ((text = fedtrustp_json_dump_canonical(p, NULL)) == NULL) {
		verdict_set(v, R_INTERNAL, "entity JWS: cannot serialise");
		goto out;
	}
	len = strlen(text);
	if (bundle_sign(text, len, s, b->alg, TYP_ENTITY, ks, &jws, &jwssz, v) == -1)
		goto out;
	sha256_hex(b->ents[i]->id, strlen(b->ents[i]->id), hex);
	snprintf(path, sizeof(path), "entities/{sha256}%s.jwt", hex);
	outfiles_add(out, path, (unsigned char *)jws, jwssz);
	set = entity_jwks(b, i, n);
	if ((jwks = fedtrustp_json_dump_canonical(set, NULL)) == NULL) {
		json_decref(set);
		verdict_set(v, R_INTERNAL, "entity JWKS: cannot serialise");
		goto out;
	}
	json_decref(set);
	jlen = strlen(jwks);
	snprintf(path, sizeof(path), "entities/{sha256}%s.jwks", hex);
	outfiles_add(out, path, (unsigned char *)xstrdup(jwks), jlen);
	rc = 0;
out:
	json_decref(p);
	fedtrustp_free(text);
	fedtrustp_free(jwks);
	return rc;
}

int
mdq_make(const struct entity *const *ents, size_t n, const struct bundle *b,
    const struct bundle_opts *bo, const struct mdq_opts *o, const struct signer *s,
    time_t now, struct outfiles *out, struct mdq_state **stp, time_t *renew, struct verdict *v)
{
	struct mdq_state	 prev, *st;
	struct fedtrustp_keyset	*ks = NULL;
	struct fedtrust_error	 err;
	char			 kid[FEDTRUSTP_JKT_LEN + 1];
	size_t			 i, k, nsigned = 0;
	time_t			 r;
	int			 rc = -1;

	*stp = NULL;
	st = xcalloc(1, sizeof(*st));
	index_load(o, &prev);
	if (s == NULL || s->key == NULL || fedtrustp_pkey_thumbprint(s->key, kid, &err) == -1) {
		verdict_set(v, R_SIGN_FAILED, "mdq: no usable signing key");
		goto out;
	}
	st->recs = xcalloc(n ? n : 1, sizeof(*st->recs));
	for (i = 0; i < n; i++) {
		if (entity_xml(ents[i], kid, &prev, o, s, now, out, &st->recs[i], &nsigned, v) == -1)
			goto out;
		st->n++;
		r = (time_t)(st->recs[i].signed_at +
		    (st->recs[i].valid_until - st->recs[i].signed_at) / 2);
		if (r < *renew)
			*renew = r;
	}
	if (b != NULL && b->entsz > 0) {
		if ((ks = bundle_self_keyset(s, b->alg, v)) == NULL)
			goto out;
		for (i = 0; i < b->entsz; i += k) {
			for (k = 1; i + k < b->entsz &&
			    strcmp(b->ents[i]->id, b->ents[i + k]->id) == 0; k++)
				;
			if (entity_jws(b, i, k, bo, s, ks, out, v) == -1)
				goto out;
		}
	}
	log_info("list=%s: mdq: %zu entity documents, %zu signed, %zu carried over", o->list, n,
	    nsigned, n - nsigned);
	qsort(st->recs, st->n, sizeof(*st->recs), cmp_rec);
	*stp = st;
	st = NULL;
	rc = 0;
out:
	fedtrustp_keyset_free(ks);
	mdq_state_free(st);
	free(prev.recs);
	return rc;
}

int
mdq_commit(struct mdq_state *st, const struct mdq_opts *o)
{
	char	*path = index_path(o), *txt, *dir;
	size_t	 i, len = 0;
	int	 rc;

	txt = xmalloc(st->n * 200 + 1);
	for (i = 0; i < st->n; i++)
		len += (size_t)snprintf(txt + len, 200, "%s %s %lld %lld %s\n", st->recs[i].sha1,
		    st->recs[i].in, st->recs[i].signed_at, st->recs[i].valid_until,
		    st->recs[i].out);
	dir = path_dirname(path);
	mkdir_p(dir, 0700);
	if ((rc = write_file_atomic(path, txt, len, 0600)) == -1)
		log_warn("%s", path);
	free(dir);
	free(txt);
	free(path);
	return rc;
}

void
mdq_state_free(struct mdq_state *st)
{
	if (st == NULL)
		return;
	free(st->recs);
	free(st);
}
