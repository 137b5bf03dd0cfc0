/*
 * Metrics and health: what fedtrustd knows about its sources and lists, for
 * /metrics (Prometheus text exposition 0.0.4) and /healthz.  The build cycle
 * writes, the HTTP server threads read; one mutex guards everything and the
 * text is built under it into a private buffer, so a reader never sees a
 * half-updated cycle of one call.
 *
 * Memory stays bounded: list and source entries exist only for names the
 * build cycle reports (which come from the config; metrics_prune drops the
 * rest after a reload), reason labels come from the fixed reason_code() set
 * (a fixed array per entry) and HTTP status codes from 100..599.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

#define MIN_HTTP_STATUS	100		/* lowest status code counted */
#define MAX_HTTP_STATUS	599		/* highest status code counted */

/* One source of one list. */
struct msource {
	char		*list;
	char		*name;
	time_t		 last_attempt;
	time_t		 last_success;	/* 0 = never */
	uint64_t	 failures;	/* consecutive cycles without SRC_OK */
	time_t		 good_until;	/* 0 = no usable data */
	size_t		 accepted;	/* entities of the last cycle */
	size_t		 dropped;	/* drops of the last cycle */
	int		 status;	/* SRC_OK, SRC_STALE, SRC_FAILED */
	time_t		 approved_until; /* 0 = no approval end configured */
	uint64_t	 rejected[R_MAX]; /* source failures and entity drops by reason */
};

/* One trust list. */
struct mlist {
	char		*name;
	int		 published;	/* 1 once metrics_published saw it */
	uint64_t	 seq;
	time_t		 published_at;
	size_t		 entities;
	size_t		 bundle_bytes;
	time_t		 valid_until;
	uint64_t	 kept[R_MAX];	/* cycles that kept the previous generation */
	int		 kept_pending;	/* kept since the last publication */
	struct hygiene	 hyg;		/* key hygiene of the last cycle */
	size_t		 revoked;	/* revocations listed in the last cycle */
	struct verdict	 kept_v;	/* why, when kept_pending */
};

struct metrics {
	pthread_mutex_t	 lock;
	struct mlist	*lists;		/* sorted by name */
	size_t		 listsz;
	struct msource	*sources;	/* sorted by list, then name */
	size_t		 sourcesz;
	uint64_t	 http[MAX_HTTP_STATUS + 1];
};

/* A growing text buffer; allocation failure is fatal (x* wrappers). */
struct text {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

static void	 text_printf(struct text *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Append printf-style text to t. */
static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p == NULL ? NULL : t->p + t->len,
		    t->p == NULL ? 0 : t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("metrics: vsnprintf failed");
		if (t->p != NULL && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap == 0 ? 4096 : t->cap;
		while (t->cap - t->len <= (size_t)n)
			t->cap *= 2;
		t->p = xreallocarray(t->p, t->cap, 1);
	}
	t->len += n;
}

/* Hand the text over as *buf / *len (never NULL: an empty text is ""). */
static void
text_take(struct text *t, char **buf, size_t *len)
{
	if (t->p == NULL)
		t->p = xstrdup("");
	*buf = t->p;
	*len = t->len;
	memset(t, 0, sizeof(*t));
}

/* A reason the arrays can count: out-of-range values become R_INTERNAL. */
static enum reason
countable(enum reason r)
{
	return (int)r > (int)R_NONE && r < R_MAX ? r : R_INTERNAL;
}

/* ------------------------------------------------------------ registry */

/*
 * Binary search over n sorted entries: cmp(ctx, i) compares entry i with
 * the key.  The index of the key, or where it belongs (*found 0).
 */
static size_t
lower_bound(size_t n, int (*cmp)(const void *, size_t), const void *ctx, int *found)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = cmp(ctx, mid)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The key of a search: the registry and a list name (and a source name). */
struct mkey {
	const struct metrics	*m;
	const char		*list;
	const char		*name;
};

static int
list_cmp(const void *ctx, size_t i)
{
	const struct mkey	*k = ctx;

	return strcmp(k->m->lists[i].name, k->list);
}

/* Order of sources: by list, then by name. */
static int
source_cmp(const void *ctx, size_t i)
{
	const struct mkey	*k = ctx;
	int			 c = strcmp(k->m->sources[i].list, k->list);

	return c != 0 ? c : strcmp(k->m->sources[i].name, k->name);
}

/* Index of list name, or where it belongs (*found 0). */
static size_t
list_pos(const struct metrics *m, const char *name, int *found)
{
	struct mkey	 k = { m, name, NULL };

	return lower_bound(m->listsz, list_cmp, &k, found);
}

/* Index of source list/name, or where it belongs (*found 0). */
static size_t
source_pos(const struct metrics *m, const char *list, const char *name, int *found)
{
	struct mkey	 k = { m, list, name };

	return lower_bound(m->sourcesz, source_cmp, &k, found);
}

/*
 * The entry of list name, created when new; NULL (logged) beyond MAX_LISTS,
 * which only a config far outside its own limits could reach.  Lock held.
 */
static struct mlist *
list_get(struct metrics *m, const char *name)
{
	size_t	 i;
	int	 found;

	i = list_pos(m, name, &found);
	if (found)
		return &m->lists[i];
	if (m->listsz >= MAX_LISTS) {
		log_warnx("metrics: more than %d lists, list not counted", MAX_LISTS);
		return NULL;
	}
	m->lists = xreallocarray(m->lists, m->listsz + 1, sizeof(*m->lists));
	memmove(&m->lists[i + 1], &m->lists[i], (m->listsz - i) * sizeof(*m->lists));
	m->listsz++;
	memset(&m->lists[i], 0, sizeof(m->lists[i]));
	m->lists[i].name = xstrdup(name);
	return &m->lists[i];
}

/* Sources of list in m (they are adjacent). Lock held. */
static size_t
sources_of(const struct metrics *m, const char *list)
{
	size_t	 i, n = 0;

	for (i = 0; i < m->sourcesz; i++)
		if (strcmp(m->sources[i].list, list) == 0)
			n++;
	return n;
}

/* The entry of source list/name, created when new; NULL (logged) beyond MAX_SOURCES. Lock held. */
static struct msource *
source_get(struct metrics *m, const char *list, const char *name)
{
	size_t	 i;
	int	 found;

	i = source_pos(m, list, name, &found);
	if (found)
		return &m->sources[i];
	if (sources_of(m, list) >= MAX_SOURCES) {
		log_warnx("metrics: more than %d sources in list %s, source not counted",
		    MAX_SOURCES, list);
		return NULL;
	}
	m->sources = xreallocarray(m->sources, m->sourcesz + 1, sizeof(*m->sources));
	memmove(&m->sources[i + 1], &m->sources[i], (m->sourcesz - i) * sizeof(*m->sources));
	m->sourcesz++;
	memset(&m->sources[i], 0, sizeof(m->sources[i]));
	m->sources[i].list = xstrdup(list);
	m->sources[i].name = xstrdup(name);
	return &m->sources[i];
}

/* A new, empty registry; free with metrics_free. */
struct metrics *
metrics_new(void)
{
	struct metrics	*m = xcalloc(1, sizeof(*m));

	if (pthread_mutex_init(&m->lock, NULL) != 0)
		fatalx("metrics: pthread_mutex_init failed");
	return m;
}

/* Free m and everything in it (NULL-safe); no other thread may still use it. */
void
metrics_free(struct metrics *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->listsz; i++)
		free(m->lists[i].name);
	for (i = 0; i < m->sourcesz; i++) {
		free(m->sources[i].list);
		free(m->sources[i].name);
	}
	free(m->lists);
	free(m->sources);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* 1 when conf has a list named list with a source named name (name NULL: the list alone). */
static int
in_config(const struct config *conf, const char *list, const char *name)
{
	const struct list_conf	*l;
	size_t			 i;

	if (conf == NULL || (l = config_find_list(conf, list)) == NULL)
		return 0;
	if (name == NULL)
		return 1;
	for (i = 0; i < l->sourcesz; i++)
		if (l->sources[i].name != NULL && strcmp(l->sources[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Forget lists and sources that conf no longer has, counters included: a
 * source removed and added again starts from zero.  conf NULL forgets all.
 */
void
metrics_prune(struct metrics *m, const struct config *conf)
{
	size_t	 i, o;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = o = 0; i < m->listsz; i++) {
		if (in_config(conf, m->lists[i].name, NULL))
			m->lists[o++] = m->lists[i];
		else
			free(m->lists[i].name);
	}
	m->listsz = o;
	for (i = o = 0; i < m->sourcesz; i++) {
		if (in_config(conf, m->sources[i].list, m->sources[i].name))
			m->sources[o++] = m->sources[i];
		else {
			free(m->sources[i].list);
			free(m->sources[i].name);
		}
	}
	m->sourcesz = o;
	pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------------ updates */

/*
 * Record one source's cycle: a failure (SRC_STALE or SRC_FAILED) counts
 * st->v.reason and one more consecutive failure; the drops of the data it
 * contributed (not SRC_FAILED) are counted by their own reasons, once per
 * cycle in which they happen.
 */
void
metrics_source(struct metrics *m, const char *list, const struct source_state *st,
    time_t now, time_t good_until)
{
	struct msource	*s;
	size_t		 i;

	if (m == NULL || list == NULL || st == NULL || st->conf == NULL ||
	    st->conf->name == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if ((s = source_get(m, list, st->conf->name)) == NULL)
		goto out;
	s->last_attempt = now;
	s->good_until = good_until;
	s->approved_until = st->conf->approved_until;
	s->status = st->status == SRC_OK || st->status == SRC_STALE ? st->status : SRC_FAILED;
	if (s->status == SRC_OK) {
		s->last_success = now;
		s->failures = 0;
	} else {
		s->failures++;
		/* a failure without a reason would be a bug: keep it visible as internal */
		s->rejected[countable(st->v.reason)]++;
	}
	if (s->status == SRC_FAILED) {
		s->accepted = 0;
		s->dropped = 0;
		goto out;
	}
	s->accepted = st->set.entitiesz;
	s->dropped = st->set.dropsz;
	for (i = 0; i < st->set.dropsz; i++)
		s->rejected[countable(st->set.drops[i].reason)]++;
 out:
	pthread_mutex_unlock(&m->lock);
}

void
metrics_hygiene(struct metrics *m, const char *list, const struct hygiene *h, size_t revoked)
{
	struct mlist	*l;

	if (m == NULL || list == NULL || h == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if ((l = list_get(m, list)) != NULL) {
		l->hyg = *h;
		l->revoked = revoked;
	}
	pthread_mutex_unlock(&m->lock);
}

void
metrics_http_get(struct metrics *m, uint64_t counts[METRICS_HTTP_CODES])
{
	pthread_mutex_lock(&m->lock);
	memcpy(counts, m->http, sizeof(m->http));
	pthread_mutex_unlock(&m->lock);
}

void
metrics_http_set(struct metrics *m, const uint64_t counts[METRICS_HTTP_CODES])
{
	pthread_mutex_lock(&m->lock);
	memcpy(m->http, counts, sizeof(m->http));
	pthread_mutex_unlock(&m->lock);
}

/* Record the publication of generation seq of list at now. */
void
metrics_published(struct metrics *m, const char *list, uint64_t seq, time_t now,
    size_t entities, size_t bundle_bytes, time_t valid_until)
{
	struct mlist	*l;

	if (m == NULL || list == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if ((l = list_get(m, list)) != NULL) {
		l->published = 1;
		l->seq = seq;
		l->published_at = now;
		l->entities = entities;
		l->bundle_bytes = bundle_bytes;
		l->valid_until = valid_until;
		l->kept_pending = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

/* Record that list kept its previous generation at now because of v (NULL: internal). */
void
metrics_kept(struct metrics *m, const char *list, time_t now, const struct verdict *v)
{
	struct mlist	*l;

	if (m == NULL || list == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if ((l = list_get(m, list)) != NULL) {
		if (v != NULL)
			l->kept_v = *v;
		else
			verdict_set(&l->kept_v, R_INTERNAL, "no reason given");
		l->kept_v.reason = countable(l->kept_v.reason);
		l->kept_v.detail[sizeof(l->kept_v.detail) - 1] = '\0';
		l->kept[l->kept_v.reason]++;
		l->kept_pending = 1;
	}
	pthread_mutex_unlock(&m->lock);
}

/* Count one HTTP response; codes outside 100..599 are not counted. */
void
metrics_http(struct metrics *m, int status)
{
	if (m == NULL || status < MIN_HTTP_STATUS || status > MAX_HTTP_STATUS)
		return;
	pthread_mutex_lock(&m->lock);
	m->http[status]++;
	pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------------ exposition */

/* Append s as a label value: backslash, double quote and newline escaped. */
static void
put_value(struct text *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			text_printf(t, "\\\\");
		else if (*s == '"')
			text_printf(t, "\\\"");
		else if (*s == '\n')
			text_printf(t, "\\n");
		else
			text_printf(t, "%c", *s);
	}
}

/* Append name{k1="v1",...}: labels are key/value pairs ending at a NULL key. */
static void
put_series(struct text *t, const char *name, const char *const *labels)
{
	size_t	 i;

	text_printf(t, "%s", name);
	if (labels == NULL || labels[0] == NULL)
		return;
	text_printf(t, "{");
	for (i = 0; labels[i] != NULL; i += 2) {
		text_printf(t, "%s%s=\"", i > 0 ? "," : "", labels[i]);
		put_value(t, labels[i + 1]);
		text_printf(t, "\"");
	}
	text_printf(t, "}");
}

/* Append the # HELP and # TYPE lines of a family. */
static void
put_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Per-source gauges, in exposition order. */
enum sgauge {
	SG_ATTEMPT, SG_SUCCESS, SG_FAILURES, SG_REMAINING, SG_ACCEPTED, SG_DROPPED, SG_STATUS,
	SG_APPROVAL
};
static const struct {
	enum sgauge	 what;
	const char	*name;
	const char	*help;
} sgauges[] = {
	{ SG_ATTEMPT, "fedtrust_source_last_attempt_timestamp_seconds",
	    "Time of the last cycle that tried the source." },
	{ SG_SUCCESS, "fedtrust_source_last_success_timestamp_seconds",
	    "Time of the last cycle in which the source was fetched and verified (0 = never)." },
	{ SG_FAILURES, "fedtrust_source_consecutive_failures",
	    "Cycles in a row in which the source failed (stale or failed)." },
	{ SG_REMAINING, "fedtrust_source_good_seconds_remaining",
	    "Seconds until the source's usable data ends (0 = none or passed)." },
	{ SG_ACCEPTED, "fedtrust_source_entities_accepted",
	    "Entities the source contributed in the last cycle." },
	{ SG_DROPPED, "fedtrust_source_entities_dropped",
	    "Entities of the source dropped by its own checks in the last cycle." },
	{ SG_STATUS, "fedtrust_source_status",
	    "Source state in the last cycle: 0 ok, 1 stale (last good copy), 2 failed." },
	{ SG_APPROVAL, "fedtrust_source_approval_seconds_remaining",
	    "Seconds until the source's approved-until (-1 = no end configured, 0 = ended)." },
};

/* The value of gauge what for s at now. */
static long long
sgauge_value(const struct msource *s, enum sgauge what, time_t now)
{
	switch (what) {
	case SG_ATTEMPT:
		return (long long)s->last_attempt;
	case SG_SUCCESS:
		return (long long)s->last_success;
	case SG_FAILURES:
		return (long long)s->failures;
	case SG_REMAINING:
		return s->good_until > now ? (long long)(s->good_until - now) : 0;
	case SG_ACCEPTED:
		return (long long)s->accepted;
	case SG_DROPPED:
		return (long long)s->dropped;
	case SG_STATUS:
		return s->status;
	case SG_APPROVAL:
		if (s->approved_until == 0)
			return -1;
		return s->approved_until > now ? (long long)(s->approved_until - now) : 0;
	}
	return 0;
}

/* Per-list gauges (published lists only), in exposition order. */
enum lgauge { LG_SEQ, LG_PUBLISHED, LG_ENTITIES, LG_BYTES, LG_VALID, LG_WEAK, LG_SHARED,
	LG_EXPIRING, LG_REVOKED };
static const struct {
	enum lgauge	 what;
	const char	*name;
	const char	*help;
} lgauges[] = {
	{ LG_SEQ, "fedtrust_list_seq",
	    "Sequence number of the live generation." },
	{ LG_PUBLISHED, "fedtrust_list_published_timestamp_seconds",
	    "Time the live generation was published." },
	{ LG_ENTITIES, "fedtrust_list_entities",
	    "Entities in the live generation." },
	{ LG_BYTES, "fedtrust_list_bundle_bytes",
	    "Size of the live generation's bundle.jwt in bytes (0 = no bundle output)." },
	{ LG_VALID, "fedtrust_list_valid_until_timestamp_seconds",
	    "End of the live generation's validity." },
	{ LG_WEAK, "fedtrust_list_keys_weak",
	    "Entities with a weak key in the last cycle (dropped unless weak-keys = warn)." },
	{ LG_SHARED, "fedtrust_list_keys_shared",
	    "Keys (SPKI) used by more than one entity in the last cycle." },
	{ LG_EXPIRING, "fedtrust_list_certs_expiring",
	    "Partner certificates ending within cert-expiry-warning in the last cycle." },
	{ LG_REVOKED, "fedtrust_list_revocations",
	    "Revocation records listed in the bundle in the last cycle." },
};

/* Append one per-list gauge sample. */
static void
put_lgauge(struct text *t, const struct mlist *l, enum lgauge what, const char *name)
{
	put_series(t, name, (const char *const[]){ "list", l->name, NULL });
	switch (what) {
	case LG_SEQ:
		text_printf(t, " %" PRIu64 "\n", l->seq);
		break;
	case LG_PUBLISHED:
		text_printf(t, " %lld\n", (long long)l->published_at);
		break;
	case LG_ENTITIES:
		text_printf(t, " %zu\n", l->entities);
		break;
	case LG_BYTES:
		text_printf(t, " %zu\n", l->bundle_bytes);
		break;
	case LG_VALID:
		text_printf(t, " %lld\n", (long long)l->valid_until);
		break;
	case LG_WEAK:
		text_printf(t, " %zu\n", l->hyg.weak);
		break;
	case LG_SHARED:
		text_printf(t, " %zu\n", l->hyg.shared);
		break;
	case LG_EXPIRING:
		text_printf(t, " %zu\n", l->hyg.expiring);
		break;
	case LG_REVOKED:
		text_printf(t, " %zu\n", l->revoked);
		break;
	}
}

/* Append every per-source family. Lock held. */
static void
render_sources(struct metrics *m, struct text *t, time_t now)
{
	const struct msource	*s;
	size_t			 f, i;
	int			 r;

	for (f = 0; f < sizeof(sgauges) / sizeof(sgauges[0]); f++) {
		put_family(t, sgauges[f].name, "gauge", sgauges[f].help);
		for (i = 0; i < m->sourcesz; i++) {
			s = &m->sources[i];
			put_series(t, sgauges[f].name,
			    (const char *const[]){ "list", s->list, "source", s->name, NULL });
			text_printf(t, " %lld\n", sgauge_value(s, sgauges[f].what, now));
		}
	}
	put_family(t, "fedtrust_rejections_total", "counter",
	    "Source failures by verdict reason and entity drops by drop reason.");
	for (i = 0; i < m->sourcesz; i++) {
		s = &m->sources[i];
		for (r = 0; r < R_MAX; r++) {
			if (s->rejected[r] == 0)
				continue;
			put_series(t, "fedtrust_rejections_total",
			    (const char *const[]){ "list", s->list, "source", s->name,
			    "reason", reason_code(r), NULL });
			text_printf(t, " %" PRIu64 "\n", s->rejected[r]);
		}
	}
}

/* Append every per-list family. Lock held. */
static void
render_lists(struct metrics *m, struct text *t)
{
	const struct mlist	*l;
	size_t			 f, i;
	int			 r;

	for (f = 0; f < sizeof(lgauges) / sizeof(lgauges[0]); f++) {
		put_family(t, lgauges[f].name, "gauge", lgauges[f].help);
		for (i = 0; i < m->listsz; i++)
			if (m->lists[i].published)
				put_lgauge(t, &m->lists[i], lgauges[f].what, lgauges[f].name);
	}
	put_family(t, "fedtrust_list_kept_total", "counter",
	    "Cycles that kept the previous generation, by reason.");
	for (i = 0; i < m->listsz; i++) {
		l = &m->lists[i];
		for (r = 0; r < R_MAX; r++) {
			if (l->kept[r] == 0)
				continue;
			put_series(t, "fedtrust_list_kept_total",
			    (const char *const[]){ "list", l->name, "reason", reason_code(r), NULL });
			text_printf(t, " %" PRIu64 "\n", l->kept[r]);
		}
	}
}

/*
 * The Prometheus text exposition of everything at now: families in a fixed
 * order, each with # HELP and # TYPE, samples sorted by list and source.
 * *buf is malloc'd (caller frees), *len its length.
 */
void
metrics_render(struct metrics *m, time_t now, char **buf, size_t *len)
{
	struct text	 t;
	char		 code[8];
	int		 c;

	memset(&t, 0, sizeof(t));
	put_family(&t, "fedtrust_up", "gauge", "1 while fedtrustd is running.");
	text_printf(&t, "fedtrust_up 1\n");
	put_family(&t, "fedtrust_build_info", "gauge", "Version of fedtrustd (value always 1).");
	put_series(&t, "fedtrust_build_info",
	    (const char *const[]){ "version", PACKAGE_VERSION, NULL });
	text_printf(&t, " 1\n");
	if (m != NULL) {
		pthread_mutex_lock(&m->lock);
		render_sources(m, &t, now);
		render_lists(m, &t);
		put_family(&t, "fedtrust_http_requests_total", "counter",
		    "HTTP responses by status code.");
		for (c = MIN_HTTP_STATUS; c <= MAX_HTTP_STATUS; c++) {
			if (m->http[c] == 0)
				continue;
			snprintf(code, sizeof(code), "%d", c);
			put_series(&t, "fedtrust_http_requests_total",
			    (const char *const[]){ "code", code, NULL });
			text_printf(&t, " %" PRIu64 "\n", m->http[c]);
		}
		pthread_mutex_unlock(&m->lock);
	}
	text_take(&t, buf, len);
}

/* ------------------------------------------------------------ health */

/*
 * Health at now: 1 when every list of conf has been published and now is
 * before its valid_until.  *buf (malloc'd) starts with "ok\n" when healthy,
 * else holds one line per problem.  A list that kept its previous
 * generation since its last publication adds an informational line in
 * both cases: while that generation is valid, serving it is the designed
 * behaviour (architecture.md), so it does not make the daemon unhealthy.
 */
int
metrics_health(struct metrics *m, const struct config *conf, time_t now, char **buf,
    size_t *len)
{
	struct text		 bad, info;
	const struct mlist	*l;
	const char		*name;
	char			 when[32], detail[1024];
	size_t			 i, pos;
	int			 found, rc = 0;

	memset(&bad, 0, sizeof(bad));
	memset(&info, 0, sizeof(info));
	if (m == NULL || conf == NULL) {
		text_printf(&bad, "no %s\n", m == NULL ? "metrics" : "configuration");
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < conf->listsz; i++) {
		if (conf->lists[i].disabled)
			continue;
		name = conf->lists[i].name;
		pos = list_pos(m, name, &found);
		l = found ? &m->lists[pos] : NULL;
		if (l == NULL || !l->published)
			text_printf(&bad, "list %s: never published\n", name);
		else if (now >= l->valid_until)
			text_printf(&bad, "list %s: expired at %s\n", name,
			    format_time(l->valid_until, when, sizeof(when)));
		if (l != NULL && l->kept_pending)
			text_printf(&info, "list %s: kept previous generation: %s: %s\n", name,
			    reason_code(l->kept_v.reason),
			    log_sanitize(l->kept_v.detail, sizeof(l->kept_v.detail), detail,
			    sizeof(detail)));
	}
	pthread_mutex_unlock(&m->lock);
	if (bad.len == 0) {
		rc = 1;
		text_printf(&bad, "ok\n");
	}
	if (info.len > 0)
		text_printf(&bad, "%s", info.p);
 out:
	free(info.p);
	text_take(&bad, buf, len);
	return rc;
}
