/*
 * Per-source fetch schedule of fedtrustd.  A source is fetched again after
 * its list's refresh, sooner when the document asks for it (cacheDuration)
 * or expires (validity), never more often than MIN_SCHEDULE and at least
 * every MAX_SCHEDULE; failures back off exponentially and honour
 * Retry-After.  Jitter spreads the fetches of many sources over time, the
 * retries after a shared outage too (only ever later than the back-off or
 * the Retry-After asked for, never sooner).
 * The schedule lives in memory: after a restart every source is due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

struct sched {
	char		*list;
	char		*source;
	time_t		 next;		/* 0 = due */
	unsigned	 failures;	/* consecutive */
	time_t		 forced;	/* last forced refresh, 0 = never */
};

struct schedule {
	struct sched	*v;
	size_t		 n;
	unsigned	 seed;		/* jitter state */
	int		 passive;	/* a child's copy: schedule_done records nothing */
};

struct schedule *
schedule_new(void)
{
	struct schedule	*s = xcalloc(1, sizeof(*s));

	s->seed = (unsigned)time(NULL) ^ 0x5bd1e995u;
	return s;
}

void
schedule_free(struct schedule *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].list);
		free(s->v[i].source);
	}
	free(s->v);
	free(s);
}

/* The entry of list/source, created due when new. */
static struct sched *
entry(struct schedule *s, const char *list, const char *source)
{
	struct sched	*e;
	size_t		 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].list, list) == 0 && strcmp(s->v[i].source, source) == 0)
			return &s->v[i];
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->list = xstrdup(list);
	e->source = xstrdup(source);
	return e;
}

int
schedule_due(struct schedule *s, const char *list, const char *source, time_t now)
{
	return entry(s, list, source)->next <= now;
}

static long
clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

time_t
schedule_next(time_t now, long refresh, long cache_duration, time_t valid_until, int ok,
    unsigned failures, long retry_after, unsigned rnd)
{
	long	 t, span, j;

	if (!ok) {
		/* 1, 2, 4 ... minutes, capped; a server's Retry-After wins when longer */
		t = MIN_SCHEDULE;
		while (failures-- > 1 && t < MAX_BACKOFF)
			t *= 2;
		t = clamp(t, MIN_SCHEDULE, MAX_BACKOFF);
		span = MAX_BACKOFF;
		if (retry_after > t) {
			t = clamp(retry_after, MIN_SCHEDULE, MAX_RETRY_AFTER);
			span = MAX_RETRY_AFTER;
		}
		/*
		 * up to SCHEDULE_JITTER % later; at the back-off cap up to as much
		 * earlier instead, but never earlier than a Retry-After asked
		 */
		j = (long)(rnd % (unsigned long)(t * SCHEDULE_JITTER / 100 + 1));
		if (t + j <= span)
			t += j;
		else if (span == MAX_BACKOFF)
			t -= j;
		return now + clamp(t, MIN_SCHEDULE, span);
	}
	t = refresh > 0 ? refresh : MAX_SCHEDULE;
	if (cache_duration > 0 && cache_duration < t)
		t = cache_duration;
	/* fetch again well before the document expires */
	if (valid_until > now && (valid_until - now) / 4 < t)
		t = (valid_until - now) / 4;
	t = clamp(t, MIN_SCHEDULE, MAX_SCHEDULE);
	span = t * SCHEDULE_JITTER / 100;
	if (span > 0)
		t += (long)(rnd % (unsigned long)(2 * span + 1)) - span;
	return now + clamp(t, MIN_SCHEDULE, MAX_SCHEDULE);
}

void
schedule_done(struct schedule *s, const struct list_conf *l, const struct source_state *st,
    time_t now)
{
	struct sched	*e = entry(s, l->name, st->conf->name);
	int		 ok = st->status == SRC_OK;

	if (!st->fetched || s->passive)
		return;
	e->failures = ok ? 0 : e->failures + 1;
	s->seed = s->seed * 1103515245u + 12345u;
	e->next = schedule_next(now, l->refresh, ok ? st->set.cache_duration : -1,
	    ok ? st->set.valid_until : 0, ok, e->failures, st->retry_after, s->seed >> 8);
	if (!ok)
		log_info("source=%s/%s: %u failed fetch%s in a row, next attempt in %llds at %s%s",
		    l->name, st->conf->name, e->failures, e->failures == 1 ? "" : "es",
		    (long long)(e->next - now), format_time(e->next, (char[32]){ 0 }, 32),
		    st->retry_after > 0 ? " (Retry-After)" : "");
}

void
schedule_passive(struct schedule *s)
{
	if (s != NULL)
		s->passive = 1;
}

int
schedule_force(struct schedule *s, const struct config *c, const char *list, const char *source,
    time_t now)
{
	struct sched	*e;
	size_t		 i, j;
	int		 n = 0, limited = 0;

	for (i = 0; i < c->listsz; i++) {
		if (list != NULL && strcmp(list, c->lists[i].name) != 0)
			continue;
		for (j = 0; j < c->lists[i].sourcesz; j++) {
			if (source != NULL && strcmp(source, c->lists[i].sources[j].name) != 0)
				continue;
			e = entry(s, c->lists[i].name, c->lists[i].sources[j].name);
			if (e->forced != 0 && now - e->forced < MIN_FORCED_REFRESH) {
				limited = 1;
				continue;
			}
			e->forced = now;
			e->next = 0;
			n++;
		}
	}
	return n == 0 && limited ? -1 : n;
}

time_t
schedule_source_next(struct schedule *s, const char *list, const char *source)
{
	return entry(s, list, source)->next;
}

time_t
schedule_wake(struct schedule *s, const struct config *c, time_t now)
{
	time_t	 t = now + MAX_SCHEDULE, n;
	size_t	 i, j;

	for (i = 0; i < c->listsz; i++)
		for (j = 0; j < c->lists[i].sourcesz; j++)
			if ((n = schedule_source_next(s, c->lists[i].name,
			    c->lists[i].sources[j].name)) < t)
				t = n;
	return t < now ? now : t;
}

void
schedule_list_ran(struct schedule *s, const char *list, time_t now)
{
	/* the list's own entry (source ""): no renewal retry before MIN_SCHEDULE */
	entry(s, list, "")->next = now + MIN_SCHEDULE;
}

time_t
schedule_list_retry(struct schedule *s, const char *list)
{
	return entry(s, list, "")->next;
}
