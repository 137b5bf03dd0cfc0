/*
 * Revocations: `fedtrust source revoke` writes "revoked =" or
 * "revoke-entity =" into the trust list; policy.c leaves the entities out,
 * and this file makes the records the bundle lists ("revoked") so gateways
 * can drop cached sessions and keys at once.  A record keeps the key
 * thumbprints the entity had when it was last seen, in
 * state-dir/lists/LIST/revoked.json, so the record stays complete when the
 * revoked source is no longer fetched or no longer carries the entity.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"

/* The protocol a source type publishes (for a revoked id never seen). */
static enum proto
type_proto(enum source_type t)
{
	switch (t) {
	case SRC_OIDF:
		return PROTO_OIDF;
	case SRC_SIGNED_JWKS:
		return PROTO_OAUTH;
	case SRC_X509:
		return PROTO_X509;
	default:
		return PROTO_SAML2;
	}
}

static char *
state_path(const struct config *conf, const char *list)
{
	char	*p;

	xasprintf(&p, "%s/lists/%s/revoked.json", conf->state_dir, list);
	return p;
}

/* The saved records: an array (new reference), empty when none or unreadable. */
static json_t *
state_load(const struct config *conf, const char *list)
{
	char		*p = state_path(conf, list);
	json_t		*a;
	json_error_t	 je;

	a = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
	free(p);
	if (a == NULL || !json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static void
state_save(const struct config *conf, const char *list, const json_t *a)
{
	char	*p = state_path(conf, list), *txt, *dir;

	dir = path_dirname(p);
	(void)mkdir_p(dir, 0700);
	txt = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	if (txt == NULL || write_file_atomic(p, txt, strlen(txt), 0600) == -1)
		log_warn("%s", p);
	free(txt);
	free(dir);
	free(p);
}

/* String member name of r, "" when absent or not a string (borrowed). */
static const char *
jstr(const json_t *r, const char *name)
{
	const char	*s = json_string_value(json_object_get(r, name));

	return s != NULL ? s : "";
}

/* The saved record of (src, id, proto, at), or NULL. */
static json_t *
state_find(json_t *a, const char *src, const char *id, const char *proto, time_t at)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(a, i, r)
		if (strcmp(jstr(r, "src"), src) == 0 && strcmp(jstr(r, "id"), id) == 0 &&
		    strcmp(jstr(r, "proto"), proto) == 0 &&
		    json_integer_value(json_object_get(r, "at")) == (json_int_t)at)
			return r;
	return NULL;
}

/* Add s to the string array member name of r unless present. */
static void
add_unique(json_t *r, const char *name, const char *s)
{
	json_t	*a = json_object_get(r, name), *v;
	size_t	 i;

	if (s == NULL || *s == '\0')
		return;
	if (a == NULL) {
		a = json_array();
		json_object_set_new(r, name, a);
	}
	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v) != NULL ? json_string_value(v) : "", s) == 0)
			return;
	if (json_array_size(a) < MAX_KEYS)
		json_array_append_new(a, json_string(s));
}

/* The record of (s, rv, id, proto) in the new state, created or carried from old. */
static json_t *
record_of(json_t *old, json_t *out, const struct source_conf *s, const struct revocation *rv,
    const char *id, enum proto p)
{
	json_t	*r;

	if ((r = state_find(out, s->name, id, proto_name(p), rv->at)) != NULL)
		return r;
	if ((r = state_find(old, s->name, id, proto_name(p), rv->at)) != NULL)
		r = json_deep_copy(r);
	else
		r = json_pack("{s:s, s:s, s:s, s:I}", "src", s->name, "id", id,
		    "proto", proto_name(p), "at", (json_int_t)rv->at);
	json_object_set_new(r, "reason", json_string(rv->reason));
	json_array_append_new(out, r);
	return r;
}

/* Record every entity of st that rv revokes, with its keys. 1 when one was seen. */
static int
record_seen(json_t *old, json_t *out, const struct source_state *st,
    const struct revocation *rv)
{
	const struct source_conf	*s = st->conf;
	char				 jkt[44], x5t[44];
	size_t				 j, k;
	int				 seen = 0;

	if (st->status == SRC_FAILED)
		return 0;
	for (j = 0; j < st->set.entitiesz; j++) {
		const struct entity	*e = &st->set.entities[j];
		json_t			*r;

		if (rv->id != NULL && strcmp(rv->id, e->id) != 0)
			continue;
		seen = 1;
		r = record_of(old, out, s, rv, e->id, e->proto);
		for (k = 0; k < e->keysz; k++)
			if (key_thumbprints(&e->keys[k], jkt, x5t) == 0) {
				add_unique(r, "jkt", jkt);
				add_unique(r, "x5t", x5t);
			}
	}
	return seen;
}

/* Carry the saved records of a revocation whose entities are not in the data now. */
static void
record_unseen(json_t *old, json_t *out, const struct source_conf *s,
    const struct revocation *rv)
{
	json_t	*r;
	size_t	 i;
	int	 any = 0;

	json_array_foreach(old, i, r) {
		const char *id = jstr(r, "id");

		if (strcmp(jstr(r, "src"), s->name) != 0 ||
		    json_integer_value(json_object_get(r, "at")) != (json_int_t)rv->at ||
		    (rv->id != NULL && strcmp(rv->id, id) != 0))
			continue;
		if (state_find(out, s->name, id, jstr(r, "proto"), rv->at) == NULL)
			json_array_append_new(out, json_deep_copy(r));
		any = 1;
	}
	/* an entity revoked before it was ever seen: listed under the source's protocol */
	if (!any && rv->id != NULL)
		(void)record_of(old, out, s, rv, rv->id, type_proto(s->type));
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct revoked	*x = a, *y = b;
	int			 c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return strcmp(x->src, y->src);
}

static void
strings_of(const json_t *a, char ***v, size_t *n)
{
	json_t	*s;
	size_t	 i;

	json_array_foreach(a, i, s)
		if (json_is_string(s))
			strv_push(v, n, json_string_value(s));
}

/* The state records as structs, one per (id, proto): the latest revocation wins. */
static void
to_set(const json_t *a, struct revoked_set *out)
{
	json_t		*r;
	size_t		 i, w;
	enum proto	 p;

	json_array_foreach(a, i, r) {
		struct revoked	*x;
		const char	*ps = jstr(r, "proto");

		for (p = PROTO_SAML2; p <= PROTO_X509; p++)
			if (strcmp(ps, proto_name(p)) == 0)
				break;
		if (p > PROTO_X509 || out->n >= MAX_REVOKED_LISTED)
			continue;
		out->r = xreallocarray(out->r, out->n + 1, sizeof(*out->r));
		x = &out->r[out->n++];
		memset(x, 0, sizeof(*x));
		x->id = xstrdup(jstr(r, "id"));
		x->src = xstrdup(jstr(r, "src"));
		x->reason = xstrdup(jstr(r, "reason"));
		x->proto = p;
		x->at = (time_t)json_integer_value(json_object_get(r, "at"));
		strings_of(json_object_get(r, "jkt"), &x->jkts, &x->jktsz);
		strings_of(json_object_get(r, "x5t"), &x->x5ts, &x->x5tsz);
	}
	if (out->n > 1)
		qsort(out->r, out->n, sizeof(*out->r), rec_cmp);
	/* two sources revoking one (id, proto): one record, the later one */
	for (w = 0, i = 0; i < out->n; i++) {
		if (w > 0 && strcmp(out->r[w - 1].id, out->r[i].id) == 0 &&
		    out->r[w - 1].proto == out->r[i].proto) {
			struct revoked	 t;

			if (out->r[i].at > out->r[w - 1].at) {
				t = out->r[w - 1];
				out->r[w - 1] = out->r[i];
				out->r[i] = t;
			}
			free(out->r[i].id);
			free(out->r[i].src);
			free(out->r[i].reason);
			strv_free(out->r[i].jkts, out->r[i].jktsz);
			strv_free(out->r[i].x5ts, out->r[i].x5tsz);
			continue;
		}
		out->r[w++] = out->r[i];
	}
	out->n = w;
}

/* 1 when old has a record of revocation rv of source s (it was seen before). */
static int
known(const json_t *old, const struct source_conf *s, const struct revocation *rv)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(old, i, r)
		if (strcmp(jstr(r, "src"), s->name) == 0 &&
		    json_integer_value(json_object_get(r, "at")) == (json_int_t)rv->at &&
		    (rv->id == NULL || strcmp(jstr(r, "id"), rv->id) == 0))
			return 1;
	return 0;
}

/* Audit a revocation the first time a cycle applies it. */
static void
audit_revocation(const struct list_conf *l, const struct source_conf *s,
    const struct revocation *rv, time_t now)
{
	char	 when[32];
	json_t	*f;

	f = json_pack("{s:s,s:s,s:s,s:s}", "list", l->name, "source", s->name,
	    "reason", rv->reason, "revoked_at", format_time(rv->at, when, sizeof(when)));
	if (rv->id != NULL)
		json_object_set_new(f, "id", json_string(rv->id));
	log_warnx("list=%s source=%s%s%s reason=%s: revoked at %s: %s", l->name, s->name,
	    rv->id != NULL ? " entity=" : "", rv->id != NULL ? rv->id : "",
	    reason_code(R_REVOKED), when, rv->reason);
	audit_emit(now, "revocation", "alert", f);
}

void
revoked_collect(const struct config *conf, const struct list_conf *l,
    const struct source_state *st, size_t n, time_t now, struct revoked_set *out)
{
	json_t	*old = state_load(conf, l->name), *cur = json_array();
	size_t	 i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct source_conf *s = st[i].conf;

		for (j = 0; j < s->revsz; j++) {
			const struct revocation *rv = &s->revs[j];

			/* listed while recent; enforced (policy.c) for as long as it is configured */
			if (now - rv->at > l->revocation_retention)
				continue;
			if (!known(old, s, rv))
				audit_revocation(l, s, rv, now);
			if (!record_seen(old, cur, &st[i], rv))
				record_unseen(old, cur, s, rv);
		}
	}
	if (!json_equal(old, cur))
		state_save(conf, l->name, cur);
	to_set(cur, out);
	json_decref(old);
	json_decref(cur);
}

void
revoked_set_free(struct revoked_set *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->r[i].id);
		free(s->r[i].src);
		free(s->r[i].reason);
		strv_free(s->r[i].jkts, s->r[i].jktsz);
		strv_free(s->r[i].x5ts, s->r[i].x5tsz);
	}
	free(s->r);
	memset(s, 0, sizeof(*s));
}
