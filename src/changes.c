/*
 * Change reports (docs/changes.md): what changed in a trust list from one
 * publication to the next, for operators (the audit log, `fedtrust diff`)
 * and for gateways (publish/LIST/changes/SEQ.json).
 *
 * Each list keeps the entities of its last publication, with their key
 * thumbprints, in state-dir/lists/LIST/published.json.  A report compares
 * the entities about to be published with that state; it is audited and
 * the state replaced only once the generation is live (changes_commit).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "extern.h"

#define STATE_FILE	"published.json"	/* state-dir/lists/LIST/STATE_FILE */
#define THUMB_SHOWN	12			/* characters of a thumbprint shown by fedtrust diff */

/* ------------------------------------------------------------ key thumbprints */

/*
 * The thumbprint object of k: {"jkt", "x5t" (with a certificate)}, or
 * {"spki": base64url SHA-256 of the SPKI} for a key the bundle cannot carry.
 */
static json_t *
key_thumb(const struct key *k)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	char		 jkt[44], x5t[44], *h;
	json_t		*t = json_object();

	if (key_thumbprints(k, jkt, x5t) == 0) {
		json_object_set_new(t, "jkt", json_string(jkt));
		if (x5t[0] != '\0')
			json_object_set_new(t, "x5t", json_string(x5t));
	} else {
		SHA256(k->spki, k->spkisz, md);
		h = b64url_encode(md, sizeof(md));
		json_object_set_new(t, "spki", json_string(h));
		free(h);
	}
	return t;
}

/* Member name of obj as a string, or "" (never NULL). */
static const char *
str_of(const json_t *obj, const char *name)
{
	const char	*s = json_string_value(json_object_get(obj, name));

	return s != NULL ? s : "";
}

/* Identity of a thumbprint object, for sorting and set operations (caller frees). */
static char *
thumb_ident(const json_t *t)
{
	char	*s;

	if (json_object_get(t, "jkt") != NULL)
		xasprintf(&s, "jkt:%s x5t:%s", str_of(t, "jkt"), str_of(t, "x5t"));
	else
		xasprintf(&s, "spki:%s", str_of(t, "spki"));
	return s;
}

/* A thumbprint with its identity, for sorting. */
struct thumb {
	char	*ident;
	json_t	*t;
};

/* qsort order of thumbprints: by identity. */
static int
thumb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct thumb *)a)->ident, ((const struct thumb *)b)->ident);
}

/*
 * The array of thumbprint objects of keys (keys may be a JSON array of
 * thumbprint objects, each referenced), sorted by identity and without
 * duplicates: a SAML certificate listed for signing and for encryption is
 * one key.  Returns a new array.
 */
static json_t *
thumbs_sorted(struct thumb *v, size_t n)
{
	json_t	*arr = json_array();
	size_t	 i;

	qsort(v, n, sizeof(*v), thumb_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i].ident, v[i - 1].ident) != 0)
			json_array_append(arr, v[i].t);
	for (i = 0; i < n; i++) {
		json_decref(v[i].t);
		free(v[i].ident);
	}
	return arr;
}

/* The sorted, unique thumbprints of an entity's keys (new array). */
static json_t *
entity_thumbs(const struct entity *e)
{
	struct thumb	*v = xcalloc(e->keysz + 1, sizeof(*v));
	json_t		*arr;
	size_t		 i;

	for (i = 0; i < e->keysz; i++) {
		v[i].t = key_thumb(&e->keys[i]);
		v[i].ident = thumb_ident(v[i].t);
	}
	arr = thumbs_sorted(v, e->keysz);
	free(v);
	return arr;
}

/* The sorted, unique thumbprint objects of a JSON array (new array; bad members skipped). */
static json_t *
array_thumbs(const json_t *keys)
{
	struct thumb	*v = xcalloc(json_array_size(keys) + 1, sizeof(*v));
	json_t		*m, *arr;
	size_t		 i, n = 0;

	json_array_foreach(keys, i, m) {
		if (!json_is_object(m) || (!json_is_string(json_object_get(m, "jkt")) &&
		    !json_is_string(json_object_get(m, "spki"))))
			continue;
		v[n].t = json_incref(m);
		v[n++].ident = thumb_ident(m);
	}
	arr = thumbs_sorted(v, n);
	free(v);
	return arr;
}

/* ------------------------------------------------------------ publication state */

/* Order of two entity objects: id, then proto. */
static int
ent_cmp(const json_t *a, const json_t *b)
{
	int	 c = strcmp(str_of(a, "id"), str_of(b, "id"));

	return c != 0 ? c : strcmp(str_of(a, "proto"), str_of(b, "proto"));
}

/* qsort form of ent_cmp. */
static int
ent_qcmp(const void *a, const void *b)
{
	return ent_cmp(*(json_t *const *)a, *(json_t *const *)b);
}

/*
 * Sort an array of entity objects by (id, proto) and merge duplicates
 * (their keys united).  Returns a new array.
 */
static json_t *
ents_sorted(json_t **v, size_t n)
{
	json_t	*arr = json_array(), *last = NULL, *keys, *all, *m;
	size_t	 i, j;

	qsort(v, n, sizeof(*v), ent_qcmp);
	for (i = 0; i < n; i++) {
		if (last != NULL && ent_cmp(last, v[i]) == 0) {
			all = json_copy(json_object_get(last, "keys"));
			json_array_foreach(json_object_get(v[i], "keys"), j, m)
				json_array_append(all, m);
			keys = array_thumbs(all);
			json_decref(all);
			json_object_set_new(last, "keys", keys);
			json_decref(v[i]);
			continue;
		}
		json_array_append_new(arr, v[i]);
		last = v[i];
	}
	return arr;
}

/* The entities of in as state objects {id, proto, src, keys}, sorted (new array). */
static json_t *
state_of(const struct change_input *in)
{
	const struct entity	*e;
	json_t			**v = xcalloc(in->entsz + 1, sizeof(*v));
	json_t			*arr;
	size_t			 i;

	for (i = 0; i < in->entsz; i++) {
		e = in->ents[i];
		v[i] = json_object();
		json_object_set_new(v[i], "id", json_string(e->id));
		json_object_set_new(v[i], "proto", json_string(proto_name(e->proto)));
		json_object_set_new(v[i], "src", json_string(e->src != NULL ? e->src : ""));
		json_object_set_new(v[i], "keys", entity_thumbs(e));
	}
	arr = ents_sorted(v, in->entsz);
	free(v);
	return arr;
}

/* state-dir/lists/LIST/name (caller frees). */
static char *
state_path(const struct config *conf, const char *list, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/lists/%s/%s", conf->state_dir, list, name);
	return p;
}

/*
 * The last published state of list: the entities (sorted, new array) and
 * *seq.  NULL with *seq 0 when there is none; a state that does not parse
 * is logged and counts as none (the next report is an initial one).
 */
static json_t *
state_load(const struct config *conf, const char *list, uint64_t *seq)
{
	json_error_t	 err;
	json_t		*root, *ents, *m, **v, *arr = NULL;
	char		*path = state_path(conf, list, STATE_FILE);
	unsigned char	*buf;
	size_t		 len, i, n = 0;

	*seq = 0;
	if (read_file(path, MAX_DOC_SIZE, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		free(path);
		return NULL;
	}
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	ents = json_is_object(root) ? json_object_get(root, "entities") : root;
	if (!json_is_array(ents)) {
		log_warnx("%s: not a publication state (%s); the next change report is an "
		    "initial one", path, root == NULL ? err.text : "no entities array");
		goto out;
	}
	if (json_is_integer(json_object_get(root, "seq")) &&
	    json_integer_value(json_object_get(root, "seq")) > 0)
		*seq = (uint64_t)json_integer_value(json_object_get(root, "seq"));
	v = xcalloc(json_array_size(ents) + 1, sizeof(*v));
	json_array_foreach(ents, i, m) {
		if (!json_is_object(m) || !json_is_string(json_object_get(m, "id")) ||
		    !json_is_string(json_object_get(m, "proto")))
			continue;
		v[n] = json_object();
		json_object_set(v[n], "id", json_object_get(m, "id"));
		json_object_set(v[n], "proto", json_object_get(m, "proto"));
		json_object_set_new(v[n], "src", json_string(str_of(m, "src")));
		json_object_set_new(v[n++], "keys", array_thumbs(json_object_get(m, "keys")));
	}
	arr = ents_sorted(v, n);
	free(v);
out:
	json_decref(root);
	free(path);
	return arr;
}

/* ------------------------------------------------------------ changes_make */

/* qsort order of drops: by entity id. */
static int
drop_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct drop *const *)a)->id, (*(const struct drop *const *)b)->id);
}

/*
 * Why id was left out, from the sorted drops: the first drop of that id
 * that is not a dedupe (a deduped id is published from another source),
 * else NULL.
 */
static const struct drop *
drop_find(const struct drop **d, size_t n, const char *id)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(d[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strcmp(d[lo]->id, id) == 0; lo++)
		if (d[lo]->reason != R_ENTITY_DEDUPED)
			return d[lo];
	return NULL;
}

/* Thumbprints of a (sorted) that are not in b (sorted): new array. */
static json_t *
thumbs_minus(const json_t *a, const json_t *b)
{
	json_t	*out = json_array(), *m;
	char	*ia, *ib = NULL;
	size_t	 i, j = 0;
	int	 c;

	json_array_foreach(a, i, m) {
		ia = thumb_ident(m);
		c = 1;
		while (j < json_array_size(b)) {
			free(ib);
			ib = thumb_ident(json_array_get(b, j));
			if ((c = strcmp(ib, ia)) >= 0)
				break;
			j++;
		}
		if (c != 0)
			json_array_append(out, m);
		free(ia);
	}
	free(ib);
	return out;
}

/* What the report counts, besides its arrays. */
struct tally {
	size_t	 added, removed, keys_added, keys_removed, rotated;
	int	 truncated;
};

/* Append item to arr unless arr is full (then flag the report truncated). */
static void
capped_append(json_t *arr, json_t *item, struct tally *t)
{
	if (json_array_size(arr) < MAX_CHANGE_ITEMS)
		json_array_append_new(arr, item);
	else {
		json_decref(item);
		t->truncated = 1;
	}
}

/* A removed entity: the previous entry with why it went. */
static json_t *
removed_item(const json_t *p, const struct drop **drops, size_t dropsz)
{
	const struct drop	*d = drop_find(drops, dropsz, str_of(p, "id"));
	json_t			*r = json_object();

	json_object_set(r, "id", json_object_get(p, "id"));
	json_object_set(r, "proto", json_object_get(p, "proto"));
	json_object_set(r, "src", json_object_get(p, "src"));
	json_object_set(r, "keys", json_object_get(p, "keys"));
	if (d != NULL) {
		json_object_set_new(r, "reason", json_string(reason_code(d->reason)));
		json_object_set_new(r, "detail", json_string(d->detail != NULL ? d->detail : ""));
	} else {
		json_object_set_new(r, "reason", json_string("absent"));
		json_object_set_new(r, "detail", json_string("no source lists it any more"));
	}
	return r;
}

/* The key changes of an entity published before and now, or NULL when none. */
static json_t *
keys_item(const json_t *p, const json_t *c, struct tally *t)
{
	json_t	*add, *del, *k;

	add = thumbs_minus(json_object_get(c, "keys"), json_object_get(p, "keys"));
	del = thumbs_minus(json_object_get(p, "keys"), json_object_get(c, "keys"));
	if (json_array_size(add) == 0 && json_array_size(del) == 0) {
		json_decref(add);
		json_decref(del);
		return NULL;
	}
	t->keys_added += json_array_size(add);
	t->keys_removed += json_array_size(del);
	k = json_object();
	json_object_set(k, "id", json_object_get(c, "id"));
	json_object_set(k, "proto", json_object_get(c, "proto"));
	json_object_set_new(k, "rotated", json_boolean(json_array_size(add) > 0 &&
	    json_array_size(del) > 0));
	if (json_array_size(add) > 0 && json_array_size(del) > 0)
		t->rotated++;
	json_object_set_new(k, "added", add);
	json_object_set_new(k, "removed", del);
	return k;
}

/* Walk the sorted previous and current entities into the report's arrays. */
static void
compare(const json_t *prev, const json_t *cur, const struct change_input *in, json_t *added,
    json_t *removed, json_t *keys, struct tally *t)
{
	const struct drop	**drops;
	json_t			*p, *c, *k;
	size_t			 i = 0, j = 0, n;
	int			 cmp;

	drops = xcalloc(in->dropsz + 1, sizeof(*drops));
	for (n = 0; n < in->dropsz; n++)
		drops[n] = &in->drops[n];
	qsort(drops, in->dropsz, sizeof(*drops), drop_cmp);
	while (i < json_array_size(prev) || j < json_array_size(cur)) {
		p = json_array_get(prev, i);
		c = json_array_get(cur, j);
		if (p == NULL)
			cmp = 1;
		else if (c == NULL)
			cmp = -1;
		else
			cmp = ent_cmp(p, c);
		if (cmp > 0) {
			t->added++;
			capped_append(added, json_incref(c), t);
			j++;
		} else if (cmp < 0) {
			t->removed++;
			capped_append(removed, removed_item(p, drops, in->dropsz), t);
			i++;
		} else {
			if ((k = keys_item(p, c, t)) != NULL)
				capped_append(keys, k, t);
			i++;
			j++;
		}
	}
	free(drops);
}

int
changes_make(const struct change_input *in, char **json, size_t *len, struct verdict *v)
{
	struct tally	 t;
	json_t		*prev, *cur, *r, *sum, *added, *removed, *keys;
	uint64_t	 prev_seq;
	char		 ts[32];
	int		 rc = -1;

	*json = NULL;
	*len = 0;
	memset(&t, 0, sizeof(t));
	prev = state_load(in->conf, in->list->name, &prev_seq);
	cur = state_of(in);
	added = json_array();
	removed = json_array();
	keys = json_array();
	compare(prev, cur, in, added, removed, keys, &t);
	r = json_object();
	json_object_set_new(r, "list", json_string(in->list->name));
	json_object_set_new(r, "seq", json_integer((json_int_t)in->seq));
	json_object_set_new(r, "prev_seq", json_integer(prev != NULL ? (json_int_t)prev_seq : 0));
	json_object_set_new(r, "time", json_string(format_time(in->now, ts, sizeof(ts))));
	if (in->bdig != NULL)
		json_object_set_new(r, "bdig", json_string(in->bdig));
	if (prev == NULL)
		json_object_set_new(r, "initial", json_true());
	if (t.truncated)
		json_object_set_new(r, "truncated", json_true());
	sum = json_object();
	json_object_set_new(sum, "added", json_integer((json_int_t)t.added));
	json_object_set_new(sum, "removed", json_integer((json_int_t)t.removed));
	json_object_set_new(sum, "keys_added", json_integer((json_int_t)t.keys_added));
	json_object_set_new(sum, "keys_removed", json_integer((json_int_t)t.keys_removed));
	json_object_set_new(sum, "keys_rotated", json_integer((json_int_t)t.rotated));
	json_object_set_new(sum, "entities", json_integer((json_int_t)json_array_size(cur)));
	json_object_set_new(r, "summary", sum);
	json_object_set_new(r, "added", added);
	json_object_set_new(r, "removed", removed);
	json_object_set_new(r, "keys", keys);
	if ((*json = json_line(r, JSON_COMPACT, len)) == NULL) {
		verdict_set(v, R_INTERNAL, "list %s: cannot serialise the change report",
		    in->list->name);
		goto out;
	}
	rc = 0;
out:
	json_decref(r);
	json_decref(prev);
	json_decref(cur);
	return rc;
}

/* ------------------------------------------------------------ changes_commit */

/* A new audit field set {list, seq, id, proto} of item. */
static json_t *
audit_base(const struct change_input *in, const json_t *item)
{
	json_t	*f = json_object();

	json_object_set_new(f, "list", json_string(in->list->name));
	json_object_set_new(f, "seq", json_integer((json_int_t)in->seq));
	if (item != NULL) {
		json_object_set(f, "id", json_object_get(item, "id"));
		json_object_set(f, "proto", json_object_get(item, "proto"));
	}
	return f;
}

/* Severity of an entity-removed event: routine departures are info, the rest warnings. */
static const char *
removed_severity(const char *reason)
{
	if (strcmp(reason, "absent") == 0 || strcmp(reason, reason_code(R_ENTITY_FILTERED)) == 0)
		return "info";
	return "warning";
}

/* One key-added or key-removed event per thumbprint of arr. */
static void
audit_keys(const struct change_input *in, const json_t *item, const char *event,
    const json_t *arr)
{
	json_t	*f, *t;
	size_t	 i;

	json_array_foreach(arr, i, t) {
		f = audit_base(in, item);
		if (json_object_get(t, "jkt") != NULL)
			json_object_set(f, "jkt", json_object_get(t, "jkt"));
		else
			json_object_set(f, "spki", json_object_get(t, "spki"));
		if (json_object_get(t, "x5t") != NULL)
			json_object_set(f, "x5t", json_object_get(t, "x5t"));
		audit_emit(in->now, event, "info", f);
	}
}

/* Audit every change of report r (not for an initial one) and the publication. */
static void
audit_report(const struct change_input *in, const json_t *r)
{
	json_t		*f, *m, *sum = json_object_get(r, "summary");
	size_t		 i;
	int		 initial = json_is_true(json_object_get(r, "initial"));

	if (!initial) {
		json_array_foreach(json_object_get(r, "added"), i, m) {
			f = audit_base(in, m);
			json_object_set(f, "source", json_object_get(m, "src"));
			audit_emit(in->now, "entity-added", "info", f);
		}
		json_array_foreach(json_object_get(r, "removed"), i, m) {
			f = audit_base(in, m);
			json_object_set(f, "source", json_object_get(m, "src"));
			json_object_set(f, "reason", json_object_get(m, "reason"));
			json_object_set(f, "detail", json_object_get(m, "detail"));
			audit_emit(in->now, "entity-removed", removed_severity(str_of(m, "reason")), f);
		}
		json_array_foreach(json_object_get(r, "keys"), i, m) {
			if (json_is_true(json_object_get(m, "rotated"))) {
				f = audit_base(in, m);
				json_object_set(f, "added", json_object_get(m, "added"));
				json_object_set(f, "removed", json_object_get(m, "removed"));
				audit_emit(in->now, "key-rotated", "info", f);
				continue;
			}
			audit_keys(in, m, "key-added", json_object_get(m, "added"));
			audit_keys(in, m, "key-removed", json_object_get(m, "removed"));
		}
	}
	f = audit_base(in, NULL);
	json_object_set(f, "prev_seq", json_object_get(r, "prev_seq"));
	json_object_set_new(f, "bdig", in->bdig != NULL ? json_string(in->bdig) : json_null());
	json_object_set(f, "entities", json_object_get(sum, "entities"));
	json_object_set(f, "added", json_object_get(sum, "added"));
	json_object_set(f, "removed", json_object_get(sum, "removed"));
	json_object_set(f, "keys_rotated", json_object_get(sum, "keys_rotated"));
	if (initial)
		json_object_set_new(f, "initial", json_true());
	if (json_is_true(json_object_get(r, "truncated")))
		json_object_set_new(f, "truncated", json_true());
	audit_emit(in->now, "publication", "info", f);
}

void
changes_commit(const struct change_input *in, const char *json, size_t len)
{
	json_error_t	 err;
	json_t		*r, *st;
	char		*dir, *path, *txt, ts[32];
	size_t		 txtsz;

	if ((r = json_loadb(json, len, 0, &err)) != NULL)
		audit_report(in, r);
	else
		log_warnx("list=%s: change report of %llu does not parse (%s); not audited",
		    in->list->name, (unsigned long long)in->seq, err.text);
	json_decref(r);
	st = json_object();
	json_object_set_new(st, "seq", json_integer((json_int_t)in->seq));
	json_object_set_new(st, "time", json_string(format_time(in->now, ts, sizeof(ts))));
	json_object_set_new(st, "entities", state_of(in));
	dir = state_path(in->conf, in->list->name, "");
	path = state_path(in->conf, in->list->name, STATE_FILE);
	if ((txt = json_line(st, JSON_COMPACT, &txtsz)) == NULL)
		log_warnx("%s: cannot serialise the publication state", path);
	else if (mkdir_p(dir, 0700) == -1 || write_file_atomic(path, txt, txtsz, 0600) == -1)
		log_warn("%s", path);
	free(txt);
	free(path);
	free(dir);
	json_decref(st);
}

/* ------------------------------------------------------------ the live generation */

/* "N.json" with N canonical decimal (no sign, no leading zero, > 0) into *seq. 0 / -1. */
static int
report_name(const char *name, uint64_t *seq)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + i, ".json") != 0)
		return -1;
	*seq = v;
	return 0;
}

/* qsort order of sequence numbers: newest first. */
static int
seq_desc(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

void
changes_carry(const struct config *conf, const char *list, uint64_t seq, struct outfiles *files)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*seqs = NULL, live, s;
	size_t		 n = 0, i, kept = 0, bytes = 0, len;
	unsigned char	*buf;
	char		*gen, *dir, *p, rel[64];

	if ((gen = publish_live_dir(conf->publish_dir, list, &live)) == NULL)
		return;
	dir = path_join(gen, "changes");
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s", dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (report_name(de->d_name, &s) == -1 || s >= seq)
			continue;
		seqs = xreallocarray(seqs, n + 1, sizeof(*seqs));
		seqs[n++] = s;
	}
	closedir(d);
	qsort(seqs, n, sizeof(*seqs), seq_desc);
	for (i = 0; i < n && kept < MAX_CHANGES_KEPT - 1; i++) {
		snprintf(rel, sizeof(rel), "%llu.json", (unsigned long long)seqs[i]);
		p = path_join(dir, rel);
		if (read_file(p, MAX_DOC_SIZE, &buf, &len) == -1) {
			log_warn("%s", p);
			free(p);
			continue;
		}
		free(p);
		/* a run of whole-federation reports must not make every generation huge */
		if (bytes + len > MAX_CHANGES_CARRY) {
			free(buf);
			break;
		}
		bytes += len;
		snprintf(rel, sizeof(rel), "changes/%llu.json", (unsigned long long)seqs[i]);
		outfiles_add(files, rel, buf, len);
		kept++;
	}
out:
	free(seqs);
	free(dir);
	free(gen);
}

/* ------------------------------------------------------------ fedtrust diff */

/*
 * The composition of several reports: per (id, proto) whether it was
 * published before the range and after it, and the net key changes
 * (A added, R removed, disjoint), keyed by "ID\nPROTO" (ids hold no
 * control characters, so the key order is the (id, proto) order).
 */
static json_t *
comp_entry(json_t *comp, const json_t *item, int before)
{
	json_t	*e;
	char	*key;

	xasprintf(&key, "%s\n%s", str_of(item, "id"), str_of(item, "proto"));
	if ((e = json_object_get(comp, key)) == NULL) {
		e = json_object();
		json_object_set(e, "id", json_object_get(item, "id"));
		json_object_set(e, "proto", json_object_get(item, "proto"));
		json_object_set_new(e, "before", json_boolean(before));
		json_object_set_new(e, "after", json_boolean(before));
		json_object_set_new(e, "A", json_object());
		json_object_set_new(e, "R", json_object());
		json_object_set_new(comp, key, e);
	}
	free(key);
	return e;
}

/* A key appears (add 1) or goes (add 0) in the composition of entry e. */
static void
comp_key(json_t *e, const json_t *t, int add)
{
	json_t	*mine = json_object_get(e, add ? "A" : "R");
	json_t	*other = json_object_get(e, add ? "R" : "A");
	char	*id = thumb_ident(t);

	if (json_object_get(other, id) != NULL)
		json_object_del(other, id);
	else
		json_object_set(mine, id, (json_t *)t);
	free(id);
}

/* Apply one report to the composition. */
static void
comp_apply(json_t *comp, const json_t *r)
{
	json_t	*m, *e, *t;
	size_t	 i, j;

	json_array_foreach(json_object_get(r, "added"), i, m) {
		e = comp_entry(comp, m, 0);
		json_object_set_new(e, "after", json_true());
		json_object_set(e, "src", json_object_get(m, "src"));
		json_array_foreach(json_object_get(m, "keys"), j, t)
			comp_key(e, t, 1);
	}
	json_array_foreach(json_object_get(r, "removed"), i, m) {
		e = comp_entry(comp, m, 1);
		json_object_set_new(e, "after", json_false());
		json_object_set(e, "src", json_object_get(m, "src"));
		json_object_set(e, "reason", json_object_get(m, "reason"));
		json_object_set(e, "detail", json_object_get(m, "detail"));
		json_array_foreach(json_object_get(m, "keys"), j, t)
			comp_key(e, t, 0);
	}
	json_array_foreach(json_object_get(r, "keys"), i, m) {
		e = comp_entry(comp, m, 1);
		json_array_foreach(json_object_get(m, "added"), j, t)
			comp_key(e, t, 1);
		json_array_foreach(json_object_get(m, "removed"), j, t)
			comp_key(e, t, 0);
	}
}

/* qsort order of C strings. */
static int
str_qcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The values of a JSON object in key order (new array). */
static json_t *
values_sorted(const json_t *o)
{
	const char	**k = xcalloc(json_object_size(o) + 1, sizeof(*k));
	const char	*key;
	json_t		*v, *arr = json_array();
	size_t		 n = 0, i;

	json_object_foreach((json_t *)o, key, v)
		k[n++] = key;
	qsort(k, n, sizeof(*k), str_qcmp);
	for (i = 0; i < n; i++)
		json_array_append(arr, json_object_get(o, k[i]));
	free(k);
	return arr;
}

/* The composition as a report-shaped result {summary, added, removed, keys} (new object). */
static json_t *
comp_result(const json_t *comp)
{
	json_t	*ents = values_sorted(comp), *e, *o, *added, *removed, *keys, *sum, *a, *r;
	size_t	 i, na = 0, nr = 0, ka = 0, kr = 0, rot = 0;
	int	 before, after;

	added = json_array();
	removed = json_array();
	keys = json_array();
	json_array_foreach(ents, i, e) {
		before = json_is_true(json_object_get(e, "before"));
		after = json_is_true(json_object_get(e, "after"));
		a = values_sorted(json_object_get(e, "A"));
		r = values_sorted(json_object_get(e, "R"));
		o = json_object();
		json_object_set(o, "id", json_object_get(e, "id"));
		json_object_set(o, "proto", json_object_get(e, "proto"));
		if (!before && after) {
			json_object_set(o, "src", json_object_get(e, "src"));
			json_object_set(o, "keys", a);
			json_array_append(added, o);
			na++;
		} else if (before && !after) {
			json_object_set(o, "src", json_object_get(e, "src"));
			json_object_set(o, "reason", json_object_get(e, "reason"));
			json_object_set(o, "detail", json_object_get(e, "detail"));
			json_object_set(o, "keys", r);
			json_array_append(removed, o);
			nr++;
		} else if (before && after && (json_array_size(a) > 0 || json_array_size(r) > 0)) {
			json_object_set(o, "added", a);
			json_object_set(o, "removed", r);
			json_object_set_new(o, "rotated", json_boolean(json_array_size(a) > 0 &&
			    json_array_size(r) > 0));
			json_array_append(keys, o);
			ka += json_array_size(a);
			kr += json_array_size(r);
			rot += json_array_size(a) > 0 && json_array_size(r) > 0;
		}
		json_decref(o);
		json_decref(a);
		json_decref(r);
	}
	json_decref(ents);
	o = json_object();
	sum = json_object();
	json_object_set_new(sum, "added", json_integer((json_int_t)na));
	json_object_set_new(sum, "removed", json_integer((json_int_t)nr));
	json_object_set_new(sum, "keys_added", json_integer((json_int_t)ka));
	json_object_set_new(sum, "keys_removed", json_integer((json_int_t)kr));
	json_object_set_new(sum, "keys_rotated", json_integer((json_int_t)rot));
	json_object_set_new(o, "summary", sum);
	json_object_set_new(o, "added", added);
	json_object_set_new(o, "removed", removed);
	json_object_set_new(o, "keys", keys);
	return o;
}

/* Printable form of untrusted text s into buf. */
static const char *
safe(const char *s, char *buf, size_t bufsz)
{
	return log_sanitize(s, strlen(s), buf, bufsz);
}

/*
 * Thumbprints of arr in words into buf: "jkt AbCdEf012345..., XyZ..." (the
 * kind is named when it changes; *kind carries it from one list to the
 * next, so "A -> B" reads naturally).  x5t: name certificates, not keys.
 */
static void
thumbs_words(const json_t *arr, int x5t, const char **kind, char *buf, size_t bufsz)
{
	const json_t	*t;
	const char	*k, *v;
	size_t		 i, o = 0;
	char		 one[THUMB_SHOWN + 1];

	buf[0] = '\0';
	json_array_foreach(arr, i, t) {
		if (x5t && json_object_get(t, "x5t") != NULL)
			k = "x5t";
		else
			k = json_object_get(t, "jkt") != NULL ? "jkt" : "spki";
		v = str_of(t, k);
		snprintf(one, sizeof(one), "%s", v);
		if (o + 2 * THUMB_SHOWN + 16 >= bufsz) {
			snprintf(buf + o, bufsz - o, "%s...", i ? ", " : "");
			return;
		}
		o += (size_t)snprintf(buf + o, bufsz - o, "%s%s%s%s%s", i ? ", " : "",
		    *kind == NULL || strcmp(*kind, k) != 0 ? k : "",
		    *kind == NULL || strcmp(*kind, k) != 0 ? " " : "", one,
		    strlen(v) > THUMB_SHOWN ? "..." : "");
		*kind = k;
	}
}

/* The sorted jkt values of arr joined (caller frees); NULL when one has none. */
static char *
jkt_set(const json_t *arr)
{
	const json_t	*t;
	char		**v = xcalloc(json_array_size(arr) + 1, sizeof(*v)), *s = NULL, *n;
	size_t		 i, k;

	json_array_foreach(arr, i, t) {
		if (json_object_get(t, "jkt") == NULL) {
			for (k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return NULL;
		}
		v[i] = xstrdup(str_of(t, "jkt"));
	}
	qsort(v, json_array_size(arr), sizeof(*v), str_qcmp);
	s = xstrdup("");
	for (i = 0; i < json_array_size(arr); i++) {
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0) {
			xasprintf(&n, "%s %s", s, v[i]);
			free(s);
			s = n;
		}
		free(v[i]);
	}
	free(v);
	return s;
}

/* One "~" line: how the keys of an entity changed, in words. */
static void
print_keys(const json_t *k)
{
	const json_t	*a = json_object_get(k, "added"), *r = json_object_get(k, "removed");
	const char	*kind = NULL;
	char		 id[4200], wa[512], wr[512], *ja, *jr;
	size_t		 na = json_array_size(a), nr = json_array_size(r);

	printf("~ %s (%s): ", safe(str_of(k, "id"), id, sizeof(id)), str_of(k, "proto"));
	if (na > 0 && nr > 0) {
		ja = jkt_set(a);
		jr = jkt_set(r);
		if (ja != NULL && jr != NULL && strcmp(ja, jr) == 0) {
			/* same keys, new certificates: what mTLS pinning (x5t) sees */
			thumbs_words(r, 1, &kind, wr, sizeof(wr));
			thumbs_words(a, 1, &kind, wa, sizeof(wa));
			printf("certificate renewed (same key): %s -> %s\n", wr, wa);
		} else {
			thumbs_words(r, 0, &kind, wr, sizeof(wr));
			thumbs_words(a, 0, &kind, wa, sizeof(wa));
			printf("key rotated: %s -> %s\n", wr, wa);
		}
		free(ja);
		free(jr);
	} else if (na > 0) {
		thumbs_words(a, 0, &kind, wa, sizeof(wa));
		printf("%s added: %s\n", na == 1 ? "key" : "keys", wa);
	} else {
		thumbs_words(r, 0, &kind, wr, sizeof(wr));
		printf("%s removed: %s\n", nr == 1 ? "key" : "keys", wr);
	}
}

/* The composed result in words. */
static void
print_words(const char *list, uint64_t from, uint64_t to, size_t npub, const json_t *res)
{
	const json_t	*m, *sum = json_object_get(res, "summary");
	char		 id[4200], src[512], det[1024];
	size_t		 i, nrot, nother = 0;

	printf("list %s: seq %llu -> %llu (%zu publication%s)\n", list, (unsigned long long)from,
	    (unsigned long long)to, npub, npub == 1 ? "" : "s");
	json_array_foreach(json_object_get(res, "added"), i, m) {
		size_t	 nk = json_array_size(json_object_get(m, "keys"));

		printf("+ added %s (%s, source %s) with %zu key%s\n",
		    safe(str_of(m, "id"), id, sizeof(id)), str_of(m, "proto"),
		    safe(str_of(m, "src"), src, sizeof(src)), nk, nk == 1 ? "" : "s");
	}
	json_array_foreach(json_object_get(res, "removed"), i, m) {
		printf("- removed %s (%s, source %s): %s%s%s\n",
		    safe(str_of(m, "id"), id, sizeof(id)), str_of(m, "proto"),
		    safe(str_of(m, "src"), src, sizeof(src)), str_of(m, "reason"),
		    str_of(m, "detail")[0] != '\0' ? ": " : "",
		    safe(str_of(m, "detail"), det, sizeof(det)));
	}
	json_array_foreach(json_object_get(res, "keys"), i, m) {
		print_keys(m);
		if (!json_is_true(json_object_get(m, "rotated")))
			nother++;
	}
	nrot = (size_t)json_integer_value(json_object_get(sum, "keys_rotated"));
	printf("%lld added, %lld removed, %zu key rotation%s",
	    json_integer_value(json_object_get(sum, "added")),
	    json_integer_value(json_object_get(sum, "removed")), nrot, nrot == 1 ? "" : "s");
	if (nother > 0)
		printf(", %zu other key change%s", nother, nother == 1 ? "" : "s");
	printf("\n");
}

/*
 * Report seq of list from the live generation folder gen, checked to be
 * that report.  Returns it (caller decrefs) or NULL with a message printed.
 */
static json_t *
report_load(const char *gen, const char *list, uint64_t seq)
{
	json_error_t	 err;
	json_t		*r;
	unsigned char	*buf;
	size_t		 len;
	char		*p;

	xasprintf(&p, "%s/changes/%llu.json", gen, (unsigned long long)seq);
	if (read_file(p, MAX_DOC_SIZE, &buf, &len) == -1) {
		if (errno == ENOENT)
			fprintf(stderr, "fedtrust diff: list %s: the change report of seq %llu is "
			    "missing (only the last %d are kept)\n", list, (unsigned long long)seq,
			    MAX_CHANGES_KEPT);
		else
			fprintf(stderr, "fedtrust diff: %s: %s\n", p, strerror(errno));
		free(p);
		return NULL;
	}
	r = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (r == NULL || !json_is_object(r) || strcmp(str_of(r, "list"), list) != 0 ||
	    !json_is_integer(json_object_get(r, "seq")) ||
	    (uint64_t)json_integer_value(json_object_get(r, "seq")) != seq ||
	    !json_is_integer(json_object_get(r, "prev_seq")) ||
	    json_integer_value(json_object_get(r, "prev_seq")) < 0 ||
	    (uint64_t)json_integer_value(json_object_get(r, "prev_seq")) >= seq) {
		fprintf(stderr, "fedtrust diff: %s: not the change report of list %s seq %llu\n",
		    p, list, (unsigned long long)seq);
		json_decref(r);
		r = NULL;
	}
	free(p);
	return r;
}

/* A decimal sequence number. 0 / -1. */
static int
parse_seq(const char *s, uint64_t *seq)
{
	char			*end;
	unsigned long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*seq = v;
	return 0;
}

/* The usage line of fedtrust diff; returns EXIT_USAGE. */
static int
diff_usage(void)
{
	fprintf(stderr, "usage: fedtrust diff [-c FILE] --list NAME [--json] FROM [TO]\n");
	return EXIT_USAGE;
}

/*
 * The reports making up FROM..TO: walk prev_seq back from the live seq
 * (publications skip sequence numbers a failed attempt used up), keeping
 * those after from and up to to, oldest first, into *out.  EXIT_OK or
 * EXIT_REJECT (message printed).
 */
static int
diff_chain(const char *gen, const char *list, uint64_t live, uint64_t from, uint64_t to,
    json_t *out, int *first_initial)
{
	json_t		*r;
	uint64_t	 cur = live;

	*first_initial = 0;
	while (cur > from) {
		if ((r = report_load(gen, list, cur)) == NULL)
			return EXIT_REJECT;
		if (cur <= to) {
			json_array_insert(out, 0, r);
			*first_initial = json_is_true(json_object_get(r, "initial"));
		}
		cur = (uint64_t)json_integer_value(json_object_get(r, "prev_seq"));
		json_decref(r);
	}
	return EXIT_OK;
}

int
cmd_diff(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "list", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = SYSCONFDIR "/fedtrust/fedtrust.conf", *list = NULL;
	struct config	*conf = NULL;
	json_t		*reports = NULL, *comp = NULL, *res = NULL, *m, *seqs;
	uint64_t	 from, to = 0, live;
	char		 err[1024], *gen = NULL, *txt;
	size_t		 i, len;
	int		 ch, as_json = 0, have_to = 0, rc = EXIT_USAGE, initial, trunc = 0;

	while ((ch = getopt_long(argc, argv, "c:l:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'l':
			list = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			return diff_usage();
		}
	}
	if (list == NULL || argc - optind < 1 || argc - optind > 2 ||
	    parse_seq(argv[optind], &from) == -1 ||
	    (argc - optind == 2 && parse_seq(argv[optind + 1], &to) == -1))
		return diff_usage();
	have_to = argc - optind == 2;
	if (have_to && from > to) {
		fprintf(stderr, "fedtrust diff: FROM (%llu) is after TO (%llu)\n",
		    (unsigned long long)from, (unsigned long long)to);
		return EXIT_USAGE;
	}
	if (!config_name_ok(list, "-")) {
		fprintf(stderr, "fedtrust diff: \"%s\" is not a list name\n", list);
		return EXIT_USAGE;
	}
	if ((conf = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	rc = EXIT_REJECT;
	if ((gen = publish_live_dir(conf->publish_dir, list, &live)) == NULL) {
		fprintf(stderr, "fedtrust diff: list %s has no published generation in %s\n",
		    list, conf->publish_dir);
		goto out;
	}
	if (!have_to)
		to = live;
	if (to > live) {
		fprintf(stderr, "fedtrust diff: list %s: seq %llu is not published (the live "
		    "generation is %llu)\n", list, (unsigned long long)to,
		    (unsigned long long)live);
		goto out;
	}
	if (from > to) {
		fprintf(stderr, "fedtrust diff: FROM (%llu) is after the live generation %llu\n",
		    (unsigned long long)from, (unsigned long long)to);
		rc = EXIT_USAGE;
		goto out;
	}
	reports = json_array();
	if ((rc = diff_chain(gen, list, live, from, to, reports, &initial)) != EXIT_OK)
		goto out;
	comp = json_object();
	seqs = json_array();
	json_array_foreach(reports, i, m) {
		comp_apply(comp, m);
		json_array_append(seqs, json_object_get(m, "seq"));
		trunc |= json_is_true(json_object_get(m, "truncated"));
	}
	res = comp_result(comp);
	json_object_set_new(res, "list", json_string(list));
	json_object_set_new(res, "from", json_integer((json_int_t)from));
	json_object_set_new(res, "to", json_integer((json_int_t)to));
	json_object_set_new(res, "publications", json_integer((json_int_t)json_array_size(seqs)));
	json_object_set_new(res, "seqs", seqs);
	if (trunc)
		json_object_set_new(res, "truncated", json_true());
	if (initial && from > 0)
		json_object_set_new(res, "initial", json_true());
	if (as_json) {
		if ((txt = json_line(res, JSON_INDENT(2), &len)) == NULL) {
			rc = EXIT_INTERNAL;
			goto out;
		}
		fwrite(txt, 1, len, stdout);
		free(txt);
	} else {
		print_words(list, from, to, json_array_size(seqs), res);
		if (trunc)
			printf("note: a report in the range was truncated (more than %d items); "
			    "this list is incomplete\n", MAX_CHANGE_ITEMS);
		if (initial && from > 0)
			printf("note: the first report of the range has no earlier state; it lists "
			    "every entity of that publication as added\n");
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
out:
	json_decref(res);
	json_decref(comp);
	json_decref(reports);
	free(gen);
	config_free(conf);
	return rc;
}
