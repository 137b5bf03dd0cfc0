/*
 * The last good copy of each source: state-dir/sources/LIST/SOURCE/ holds
 * "doc" (the raw bytes as fetched) and "meta.json" (validators, digest and
 * times).  Both are replaced with write_file_atomic, doc first, so meta.json
 * never names a doc that was not fully written.  Before doc is replaced the
 * previous one is kept as "doc.prev" (a hard link): if meta.json cannot be
 * written, or the process dies between the two renames, the old meta.json
 * still matches doc.prev and the old copy survives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"

#define CACHE_DIR_MODE	0700
#define CACHE_FILE_MODE	0600
#define MAX_CACHE_META	(64 * 1024)	/* bytes of meta.json */

/*
 * A LIST or SOURCE name usable as one path component:
 * [a-z0-9][a-z0-9._-]{0,63} and no "..".  1 / 0.
 */
static int
valid_name(const char *s)
{
	size_t	 i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return strstr(s, "..") == NULL;
}

/* state_dir/sources/LIST/SOURCE, or NULL (logged) for a bad name. Caller frees. */
static char *
source_dir(const char *state_dir, const char *list, const char *source)
{
	char	*p;

	if (state_dir == NULL || state_dir[0] == '\0' || !valid_name(list) ||
	    !valid_name(source)) {
		log_warnx("cache: invalid list or source name");
		return NULL;
	}
	xasprintf(&p, "%s/sources/%s/%s", state_dir, list, source);
	return p;
}

/* Free the members of e and zero it (NULL-safe); not the struct. */
void
cache_entry_free(struct cache_entry *e)
{
	if (e == NULL)
		return;
	free(e->doc);
	free(e->etag);
	free(e->last_modified);
	memset(e, 0, sizeof(*e));
}

/* Optional string member of o: a copy, or NULL when absent or null. -1 wrong type. */
static int
meta_str(json_t *o, const char *key, char **out)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Integer member of o as time_t (0 when absent). -1 wrong type or negative. */
static int
meta_time(json_t *o, const char *key, time_t *out)
{
	json_t	*v = json_object_get(o, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (time_t)json_integer_value(v);
	return 0;
}

/*
 * Read dir/name (at most max bytes) if its SHA-256 is sha.  0 match (buffer
 * in *doc), 1 missing or different, -1 I/O error (logged).
 */
static int
load_doc(const char *dir, const char *name, const char *sha, size_t max, unsigned char **doc,
    size_t *docsz)
{
	char		*path = path_join(dir, name);
	char		 got[65];
	int		 rc = -1;

	*doc = NULL;
	*docsz = 0;
	if (read_file(path, max, doc, docsz) == -1) {
		if (errno == ENOENT)
			rc = 1;
		else
			log_warn("cache: %s", path);
		goto out;
	}
	sha256_hex(*doc, *docsz, got);
	if (strcmp(got, sha) != 0) {
		free(*doc);
		*doc = NULL;
		*docsz = 0;
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/*
 * Load the last good copy of LIST/SOURCE into e, checked against its digest
 * (falling back to doc.prev after an interrupted store).  0 found, 1 none or
 * unusable (logged), -1 bad name or I/O error.  Caller frees e.
 */
int
cache_load(const char *state_dir, const char *list, const char *source, size_t max,
    struct cache_entry *e)
{
	char		*dir = NULL, *mpath = NULL;
	unsigned char	*mbuf = NULL;
	size_t		 mlen;
	json_t		*o = NULL, *sha;
	json_error_t	 jerr;
	int		 rc = -1, r;

	memset(e, 0, sizeof(*e));
	if ((dir = source_dir(state_dir, list, source)) == NULL)
		goto out;
	mpath = path_join(dir, "meta.json");
	if (read_file(mpath, MAX_CACHE_META, &mbuf, &mlen) == -1) {
		if (errno == ENOENT)
			rc = 1;
		else
			log_warn("cache: %s", mpath);
		goto out;
	}
	if ((o = json_loadb((const char *)mbuf, mlen, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o) || (sha = json_object_get(o, "sha256")) == NULL ||
	    !json_is_string(sha) || strlen(json_string_value(sha)) != 64 ||
	    meta_str(o, "etag", &e->etag) == -1 ||
	    meta_str(o, "last_modified", &e->last_modified) == -1 ||
	    meta_time(o, "fetched", &e->fetched) == -1 ||
	    meta_time(o, "valid_until", &e->valid_until) == -1 ||
	    meta_time(o, "created", &e->created) == -1) {
		log_warnx("cache: %s: malformed, ignoring the cached copy", mpath);
		rc = 1;
		goto out;
	}
	memcpy(e->sha256, json_string_value(sha), 65);
	if ((r = load_doc(dir, "doc", e->sha256, max, &e->doc, &e->docsz)) == 1)
		/* interrupted replacement: the previous doc still matches meta */
		r = load_doc(dir, "doc.prev", e->sha256, max, &e->doc, &e->docsz);
	if (r == 1)
		log_warnx("cache: %s/%s: stored document does not match its digest, "
		    "ignoring the cached copy", list, source);
	rc = r;
out:
	if (rc != 0)
		cache_entry_free(e);
	json_decref(o);
	free(mbuf);
	free(mpath);
	free(dir);
	return rc;
}

/* meta.json text for e with digest sha (caller frees). */
static char *
meta_dump(const struct cache_entry *e, const char *sha)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s?, s:s?, s:s, s:I, s:I, s:I, s:I}",
	    "etag", e->etag, "last_modified", e->last_modified, "sha256", sha,
	    "size", (json_int_t)e->docsz, "fetched", (json_int_t)e->fetched,
	    "valid_until", (json_int_t)e->valid_until, "created", (json_int_t)e->created);
	if (o == NULL)
		fatalx("cache: json_pack");
	if ((s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		fatalx("cache: json_dumps");
	json_decref(o);
	return s;
}

/*
 * Keep the current doc as doc.prev: a hard link made under a temporary
 * name and renamed, so doc.prev is always whole.  0, or -1 (logged).
 */
static int
keep_prev(const char *dir)
{
	char	*doc = path_join(dir, "doc"), *prev = path_join(dir, "doc.prev");
	char	*tmp;
	int	 rc = -1;

	xasprintf(&tmp, "%s/doc.prev.tmp.%ld", dir, (long)getpid());
	unlink(tmp);
	if (link(doc, tmp) == -1) {
		if (errno == ENOENT)
			rc = 0;		/* nothing stored yet */
		else
			log_warn("cache: link %s", doc);
		goto out;
	}
	if (rename(tmp, prev) == -1) {
		log_warn("cache: rename %s", prev);
		unlink(tmp);
		goto out;
	}
	/* rename() does nothing when doc.prev already is a link to the same file */
	unlink(tmp);
	rc = 0;
out:
	free(tmp);
	free(prev);
	free(doc);
	return rc;
}

/*
 * Replace the stored copy of LIST/SOURCE with e (digest recomputed here).
 * 0, or -1 (logged) with the previous copy still loadable.
 */
int
cache_store(const char *state_dir, const char *list, const char *source,
    const struct cache_entry *e)
{
	char	*dir = NULL, *dpath = NULL, *mpath = NULL, *ppath = NULL, *meta = NULL;
	char	 sha[65];
	int	 rc = -1;

	if ((dir = source_dir(state_dir, list, source)) == NULL)
		goto out;
	if (e->doc == NULL && e->docsz != 0) {
		log_warnx("cache: %s/%s: no document to store", list, source);
		goto out;
	}
	if (mkdir_p(dir, CACHE_DIR_MODE) == -1) {
		log_warn("cache: mkdir %s", dir);
		goto out;
	}
	dpath = path_join(dir, "doc");
	mpath = path_join(dir, "meta.json");
	ppath = path_join(dir, "doc.prev");
	/* the digest is always of the bytes written, never taken on trust */
	sha256_hex(e->doc != NULL ? e->doc : (const unsigned char *)"", e->docsz, sha);
	meta = meta_dump(e, sha);
	if (keep_prev(dir) == -1)
		goto out;
	if (write_file_atomic(dpath, e->doc != NULL ? (const void *)e->doc : "", e->docsz,
	    CACHE_FILE_MODE) == -1) {
		log_warn("cache: write %s", dpath);
		goto out;
	}
	if (write_file_atomic(mpath, meta, strlen(meta), CACHE_FILE_MODE) == -1) {
		log_warn("cache: write %s", mpath);
		/* put the previous doc back so it matches the old meta.json again */
		if (rename(ppath, dpath) == -1 && errno != ENOENT)
			log_warn("cache: restore %s", dpath);
		goto out;
	}
	rc = 0;
out:
	free(meta);
	free(ppath);
	free(mpath);
	free(dpath);
	free(dir);
	return rc;
}
