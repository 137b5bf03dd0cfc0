/*
 * Policy of one trust list: which verified entities of its sources are
 * published.  Runs after verification (R11: verify first, filter second) on
 * plain structs only.  Every entity left out is reported with its reason.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

const struct revocation *
revocation_find(const struct source_conf *s, const char *id)
{
	size_t	 i;

	for (i = 0; i < s->revsz; i++)
		if (s->revs[i].id == NULL)
			return &s->revs[i];
	if (id == NULL)
		return NULL;
	for (i = 0; i < s->revsz; i++)
		if (strcmp(s->revs[i].id, id) == 0)
			return &s->revs[i];
	return NULL;
}

/* A candidate entity with the index of its source, for dedupe ordering. */
struct cand {
	const struct entity	*e;
	size_t			 srcidx;
};

static void
add_drop(struct selection *sel, const char *id, enum reason r, const char *fmt, const char *a,
    const char *b)
{
	struct drop	*d;

	sel->drops = xreallocarray(sel->drops, sel->dropsz + 1, sizeof(*sel->drops));
	d = &sel->drops[sel->dropsz++];
	d->id = xstrdup(id);
	d->reason = r;
	xasprintf(&d->detail, fmt, a, b);
}

static int
match_any(char *const *globs, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (glob_match(globs[i], s))
			return 1;
	return 0;
}

/*
 * Why the list's rules leave e of source s out, or NULL when they keep it.
 * Roles select entities (an entity with any accepted role is kept whole).
 */
static const char *
filter_reason(const struct list_conf *l, const struct source_conf *s, const struct entity *e)
{
	if ((e->roles & s->roles & l->roles) == 0)
		return "no role accepted by the source or list";
	if (l->allowsz != 0 && !match_any(l->allow, l->allowsz, e->id))
		return "not on the list's allow list";
	if (s->allowsz != 0 && !match_any(s->allow, s->allowsz, e->id))
		return "not on the source's allow list";
	if (match_any(l->deny, l->denysz, e->id))
		return "on the list's deny list";
	if (match_any(s->deny, s->denysz, e->id))
		return "on the source's deny list";
	if (s->rasz != 0 && (e->ra == NULL || !match_any(s->ras, s->rasz, e->ra)))
		return "registration authority not accepted";
	return NULL;
}

/* 1 when a and b are the same entity: one id in one protocol. */
static int
same_entity(const struct entity *a, const struct entity *b)
{
	return a->proto == b->proto && strcmp(a->id, b->id) == 0;
}

/*
 * Sort by id, then protocol, then priority (higher first), then source
 * order (earlier first): one URL may be a SAML entity and an OIDF entity.
 */
static int
cand_cmp(const void *a, const void *b)
{
	const struct cand	*x = a, *y = b;
	int			 c = strcmp(x->e->id, y->e->id);

	if (c != 0)
		return c;
	if (x->e->proto != y->e->proto)
		return x->e->proto < y->e->proto ? -1 : 1;
	if (x->e->priority != y->e->priority)
		return x->e->priority > y->e->priority ? -1 : 1;
	return x->srcidx < y->srcidx ? -1 : x->srcidx > y->srcidx;
}

/* Collect the entities of usable sources that pass the filters and expiry. */
static void
collect(const struct list_conf *l, struct source_state *st, size_t n, time_t now,
    struct selection *sel, struct cand **cands, size_t *candsz)
{
	const struct revocation	*rv;
	size_t			 i, j;

	for (i = 0; i < n; i++) {
		const struct source_conf *s = st[i].conf;

		if (st[i].status == SRC_FAILED)
			continue;
		if (s->approved_until != 0 && s->approved_until <= now) {
			add_drop(sel, s->name, R_APPROVAL_EXPIRED,
			    "source %s: approval ended%s; renew approved-until", s->name, "");
			continue;
		}
		if ((rv = revocation_find(s, NULL)) != NULL) {
			add_drop(sel, s->name, R_REVOKED, "source %s revoked: %s", s->name, rv->reason);
			continue;
		}
		for (j = 0; j < st[i].set.entitiesz; j++) {
			const struct entity	*e = &st[i].set.entities[j];
			const char		*why;

			if ((rv = revocation_find(s, e->id)) != NULL) {
				add_drop(sel, e->id, R_REVOKED, "revoked: %s (source %s)", rv->reason,
				    s->name);
				continue;
			}
			if (e->valid_until <= now) {
				add_drop(sel, e->id, R_ENTITY_EXPIRED,
				    "validUntil passed (source %s)%s", s->name, "");
				continue;
			}
			if ((why = filter_reason(l, s, e)) != NULL) {
				add_drop(sel, e->id, R_ENTITY_FILTERED, "%s (source %s)", why, s->name);
				continue;
			}
			*cands = xreallocarray(*cands, *candsz + 1, sizeof(**cands));
			(*cands)[(*candsz)++] = (struct cand){ e, i };
		}
	}
}

int
policy_select(const struct list_conf *l, struct source_state *st, size_t n, time_t now,
    struct selection *sel, struct verdict *v)
{
	struct cand	*cands = NULL;
	size_t		 candsz = 0, i;

	memset(sel, 0, sizeof(*sel));
	collect(l, st, n, now, sel, &cands, &candsz);
	if (candsz > 0)		/* qsort(NULL, 0, ...) is undefined */
		qsort(cands, candsz, sizeof(*cands), cand_cmp);
	sel->ents = xcalloc(candsz, sizeof(*sel->ents));
	for (i = 0; i < candsz; i++) {
		const struct entity	*e = cands[i].e;

		if (sel->entsz > 0 && same_entity(sel->ents[sel->entsz - 1], e)) {
			add_drop(sel, e->id, R_ENTITY_DEDUPED, "source %s lost to source %s",
			    e->src, sel->ents[sel->entsz - 1]->src);
			continue;
		}
		sel->ents[sel->entsz++] = e;
		if (sel->valid_until == 0 || e->valid_until < sel->valid_until)
			sel->valid_until = e->valid_until;
	}
	free(cands);
	(void)v;
	return 0;
}

static int
id_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct entity *const *)elem)->id);
}

int
policy_check_drop(const struct list_conf *l, char *const *prev, size_t prevsz,
    const struct selection *sel, struct verdict *v)
{
	size_t	 i, gone = 0;

	if (sel->entsz == 0)
		return verdict_set(v, R_FEED_EMPTY, "list %s: no entity left to publish", l->name);
	for (i = 0; i < prevsz; i++)
		if (bsearch(prev[i], sel->ents, sel->entsz, sizeof(*sel->ents), id_cmp) == NULL)
			gone++;
	if (prevsz > 0 && (double)gone / (double)prevsz > l->max_drop)
		return verdict_set(v, R_MASS_DROP,
		    "list %s: %zu of %zu published entities would vanish at once (max-drop %.0f%%)",
		    l->name, gone, prevsz, l->max_drop * 100.0);
	return 0;
}

void
selection_free(struct selection *sel)
{
	size_t	 i;

	if (sel == NULL)
		return;
	for (i = 0; i < sel->dropsz; i++) {
		free(sel->drops[i].id);
		free(sel->drops[i].detail);
	}
	free(sel->drops);
	free(sel->ents);
	memset(sel, 0, sizeof(*sel));
}
