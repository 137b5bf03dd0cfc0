/*
 * Unit tests of metrics.c: every family with HELP/TYPE, values after a
 * sequence of cycles, label escaping, prune after a config change, health
 * transitions, a reader thread racing the writer, and a line-format check
 * of the Prometheus text exposition on every rendered output.
 */
#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "extern.h"
#include "testutil.h"

#define NOW	1800000000

/* ------------------------------------------------------------ exposition checks */

/* Length of a metric name at p ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 when none. */
static size_t
metric_name(const char *p)
{
	size_t	 n = 0;

	if (!(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
		n++;
	return n;
}

/* Length of a label name at p ([a-zA-Z_][a-zA-Z0-9_]*), 0 when none. */
static size_t
label_name(const char *p)
{
	size_t	 n = 0;

	if (!(isalpha((unsigned char)p[0]) || p[0] == '_'))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

/*
 * Parse {k="v",...} at p (an escaped value allows only \\ \" \n); returns
 * the length consumed, 0 on a syntax error.
 */
static size_t
label_set(const char *p)
{
	const char	*q = p + 1;
	size_t		 n;

	if (*p != '{')
		return 0;
	if (*q == '}')
		return 0;	/* we never write an empty label set */
	for (;;) {
		if ((n = label_name(q)) == 0)
			return 0;
		q += n;
		if (q[0] != '=' || q[1] != '"')
			return 0;
		for (q += 2; *q != '"'; q++) {
			if (*q == '\0' || *q == '\n')
				return 0;
			if (*q == '\\') {
				q++;
				if (*q != '\\' && *q != '"' && *q != 'n')
					return 0;
			}
		}
		q++;
		if (*q == '}')
			return q + 1 - p;
		if (*q != ',')
			return 0;
		q++;
	}
}

/*
 * The line-format check: the text ends in a newline; a comment line is
 * "# HELP name text" followed by "# TYPE name gauge|counter" (each family
 * once); every other line is `name{labels} value` of the family just
 * declared, with a value strtod reads in full and no series twice.
 * Returns the number of samples; fails the test on the first bad line.
 */
static size_t
prom_check(const char *text, size_t len)
{
	char		**fams = NULL, **series = NULL, *line, *save, *copy, *end;
	size_t		  famsz = 0, seriesz = 0, samples = 0, i, n, m;
	const char	 *fam = NULL;
	char		  help[256] = "";

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	assert_null(strstr(text, "\n\n"));
	copy = strdup(text);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = metric_name(line + 7);
			if (n == 0 || line[7 + n] != ' ' || line[8 + n] == '\0')
				fail_msg("bad HELP line: %s", line);
			snprintf(help, sizeof(help), "%.*s", (int)n, line + 7);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			n = metric_name(line + 7);
			if (n == 0 || strncmp(help, line + 7, n) != 0 || help[n] != '\0')
				fail_msg("TYPE without its HELP line: %s", line);
			if (strcmp(line + 7 + n, " gauge") != 0 && strcmp(line + 7 + n, " counter") != 0)
				fail_msg("bad TYPE line: %s", line);
			for (i = 0; i < famsz; i++)
				if (strcmp(fams[i], help) == 0)
					fail_msg("family declared twice: %s", help);
			strv_push(&fams, &famsz, help);
			fam = fams[famsz - 1];
			help[0] = '\0';
			continue;
		}
		if (line[0] == '#')
			fail_msg("unexpected comment: %s", line);
		if ((n = metric_name(line)) == 0)
			fail_msg("no metric name: %s", line);
		if (fam == NULL || strlen(fam) != n || strncmp(fam, line, n) != 0)
			fail_msg("sample outside its family: %s", line);
		if (line[n] == '{' && (m = label_set(line + n)) == 0)
			fail_msg("bad label set: %s", line);
		else if (line[n] != '{')
			m = 0;
		n += m;
		if (line[n] != ' ' || line[n + 1] == ' ' || line[n + 1] == '\0')
			fail_msg("no single space before the value: %s", line);
		line[n] = '\0';
		for (i = 0; i < seriesz; i++)
			if (strcmp(series[i], line) == 0)
				fail_msg("series twice: %s", line);
		strv_push(&series, &seriesz, line);
		(void)strtod(line + n + 1, &end);
		if (end == line + n + 1 || *end != '\0')
			fail_msg("bad value: %s %s", line, line + n + 1);
		samples++;
	}
	strv_free(fams, famsz);
	strv_free(series, seriesz);
	free(copy);
	return samples;
}

/*
 * The value of series (name plus labels exactly as written) in text: 1 and
 * *val when there is exactly one such line, 0 when none.
 */
static int
sample(const char *text, const char *series, double *val)
{
	const char	*p = text;
	size_t		 n = strlen(series);
	int		 found = 0;

	for (; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			assert_int_equal(found, 0);
			*val = strtod(p + n + 1, NULL);
			found = 1;
		}
		if (strchr(p, '\n') == NULL)
			break;
	}
	return found;
}

/* Assert series has value want in text. */
#define assert_sample(text, series, want) do {					\
	double	 v_ = -1;							\
	if (!sample((text), (series), &v_))					\
		fail_msg("missing sample %s", (series));			\
	if (v_ != (double)(want))						\
		fail_msg("%s = %.0f, want %.0f", (series), v_, (double)(want));	\
} while (0)

/* Assert no sample of series (exact name and labels) in text. */
#define assert_no_sample(text, series) do {					\
	double	 v_;								\
	if (sample((text), (series), &v_))					\
		fail_msg("unexpected sample %s", (series));			\
} while (0)

/* Render m at now, check the line format, return the text (caller frees). */
static char *
render(struct metrics *m, time_t now)
{
	struct {
		char	*buf;
		size_t	 len;
	} r = { NULL, 0 };

	metrics_render(m, now, &r.buf, &r.len);
	prom_check(r.buf, r.len);
	return r.buf;
}

/* ------------------------------------------------------------ source states */

/* A source state with its conf and drops, all in one place. */
struct fake {
	struct source_conf	 conf;
	struct source_state	 st;
	struct drop		 drops[8];
};

/* Fill f: source name, status, verdict reason r, accepted entities and the drops given. */
static void
fake(struct fake *f, const char *name, int status, enum reason r, size_t accepted,
    const enum reason *drops, size_t dropsz)
{
	size_t	 i;

	memset(f, 0, sizeof(*f));
	f->conf.name = (char *)name;
	f->st.conf = &f->conf;
	f->st.status = status;
	f->st.v.reason = r;
	f->st.set.entitiesz = accepted;	/* metrics reads the counts only */
	assert_true(dropsz <= 8);
	for (i = 0; i < dropsz; i++) {
		f->drops[i].id = (char *)"https://dropped.example.org";
		f->drops[i].reason = drops[i];
		f->drops[i].detail = (char *)"test";
	}
	f->st.set.drops = dropsz > 0 ? f->drops : NULL;
	f->st.set.dropsz = dropsz;
}

/* Record a cycle of source name in list. */
static void
cycle(struct metrics *m, const char *list, const char *name, int status, enum reason r,
    size_t accepted, const enum reason *drops, size_t dropsz, time_t now, time_t good_until)
{
	struct fake	 f;

	fake(&f, name, status, r, accepted, drops, dropsz);
	metrics_source(m, list, &f.st, now, good_until);
}

/* ------------------------------------------------------------ tests */

static const struct {
	const char	*name;
	const char	*type;
} families[] = {
	{ "fedtrust_up", "gauge" },
	{ "fedtrust_build_info", "gauge" },
	{ "fedtrust_source_last_attempt_timestamp_seconds", "gauge" },
	{ "fedtrust_source_last_success_timestamp_seconds", "gauge" },
	{ "fedtrust_source_consecutive_failures", "gauge" },
	{ "fedtrust_source_good_seconds_remaining", "gauge" },
	{ "fedtrust_source_entities_accepted", "gauge" },
	{ "fedtrust_source_entities_dropped", "gauge" },
	{ "fedtrust_source_status", "gauge" },
	{ "fedtrust_source_approval_seconds_remaining", "gauge" },
	{ "fedtrust_rejections_total", "counter" },
	{ "fedtrust_list_seq", "gauge" },
	{ "fedtrust_list_published_timestamp_seconds", "gauge" },
	{ "fedtrust_list_entities", "gauge" },
	{ "fedtrust_list_bundle_bytes", "gauge" },
	{ "fedtrust_list_valid_until_timestamp_seconds", "gauge" },
	{ "fedtrust_list_keys_weak", "gauge" },
	{ "fedtrust_list_keys_shared", "gauge" },
	{ "fedtrust_list_certs_expiring", "gauge" },
	{ "fedtrust_list_revocations", "gauge" },
	{ "fedtrust_list_kept_total", "counter" },
	{ "fedtrust_http_requests_total", "counter" },
};

/* Every family, in this order, with HELP and TYPE, empty or not. */
static void
assert_families(const char *text)
{
	const char	*at, *prev = text;
	char		 want[256];
	size_t		 i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(want, sizeof(want), "# HELP %s ", families[i].name);
		at = strstr(text, want);
		if (at == NULL || at < prev)
			fail_msg("HELP of %s missing or out of order", families[i].name);
		snprintf(want, sizeof(want), "# TYPE %s %s\n", families[i].name, families[i].type);
		if ((at = strstr(text, want)) == NULL || at < prev)
			fail_msg("TYPE of %s missing or out of order", families[i].name);
		prev = at;
	}
}

static void
test_families(void **state)
{
	struct metrics	*m = metrics_new();
	const enum reason drops[] = { R_ENTITY_EXPIRED };
	struct verdict	 v;
	char		*text, want[128];

	/* an empty registry already declares every family */
	text = render(m, NOW);
	assert_families(text);
	assert_sample(text, "fedtrust_up", 1);
	snprintf(want, sizeof(want), "fedtrust_build_info{version=\"%s\"}", PACKAGE_VERSION);
	assert_sample(text, want, 1);
	assert_int_equal(prom_check(text, strlen(text)), 2);
	free(text);

	/* one sample in every family */
	cycle(m, "research", "edugain", SRC_STALE, R_FETCH_TIMEOUT, 3, drops, 1, NOW, NOW + 60);
	metrics_published(m, "research", 1, NOW, 3, 1000, NOW + 3600);
	verdict_set(&v, R_MASS_DROP, "too many");
	metrics_kept(m, "research", NOW, &v);
	metrics_http(m, 200);
	text = render(m, NOW);
	assert_families(text);
	/* 2 + 8 source gauges + 2 rejections + 9 list gauges + 1 kept + 1 http */
	assert_int_equal(prom_check(text, strlen(text)), 23);
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}

static void
test_source_sequence(void **state)
{
	struct metrics	*m = metrics_new();
	const enum reason ok_drops[] = { R_ENTITY_EXPIRED, R_ENTITY_SIG_INVALID, R_ENTITY_EXPIRED };
	const enum reason stale_drops[] = { R_ENTITY_EXPIRED };
	const enum reason odd_drops[] = { (enum reason)R_MAX + 7 };
	const char	*L = "{list=\"research\",source=\"edugain\"}";
	char		*text, s[256];

#define S(name)	(snprintf(s, sizeof(s), "%s%s", (name), L), s)
#define R(code)	(snprintf(s, sizeof(s), \
	"fedtrust_rejections_total{list=\"research\",source=\"edugain\",reason=\"%s\"}", (code)), s)

	/* a good cycle with three drops */
	cycle(m, "research", "edugain", SRC_OK, R_NONE, 10, ok_drops, 3, NOW, NOW + 86400);
	text = render(m, NOW + 100);
	assert_sample(text, S("fedtrust_source_last_attempt_timestamp_seconds"), NOW);
	assert_sample(text, S("fedtrust_source_last_success_timestamp_seconds"), NOW);
	assert_sample(text, S("fedtrust_source_consecutive_failures"), 0);
	assert_sample(text, S("fedtrust_source_good_seconds_remaining"), 86300);
	assert_sample(text, S("fedtrust_source_entities_accepted"), 10);
	assert_sample(text, S("fedtrust_source_entities_dropped"), 3);
	assert_sample(text, S("fedtrust_source_status"), 0);
	assert_sample(text, R("entity-expired"), 2);
	assert_sample(text, R("entity-sig-invalid"), 1);
	assert_no_sample(text, R("ok"));
	free(text);

	/* a failure: whatever is left in its set is not used, so not counted */
	cycle(m, "research", "edugain", SRC_FAILED, R_FETCH_TIMEOUT, 4, stale_drops, 1, NOW + 600, 0);
	text = render(m, NOW + 600);
	assert_sample(text, S("fedtrust_source_last_attempt_timestamp_seconds"), NOW + 600);
	assert_sample(text, S("fedtrust_source_last_success_timestamp_seconds"), NOW);
	assert_sample(text, S("fedtrust_source_consecutive_failures"), 1);
	assert_sample(text, S("fedtrust_source_good_seconds_remaining"), 0);
	assert_sample(text, S("fedtrust_source_entities_accepted"), 0);
	assert_sample(text, S("fedtrust_source_entities_dropped"), 0);
	assert_sample(text, S("fedtrust_source_status"), 2);
	assert_sample(text, R("fetch-timeout"), 1);
	assert_sample(text, R("entity-expired"), 2);
	free(text);

	/* stale: the last good copy is used, its drops are counted again */
	cycle(m, "research", "edugain", SRC_STALE, R_SIG_INVALID, 8, stale_drops, 1, NOW + 1200,
	    NOW + 3600);
	text = render(m, NOW + 1200);
	assert_sample(text, S("fedtrust_source_consecutive_failures"), 2);
	assert_sample(text, S("fedtrust_source_status"), 1);
	assert_sample(text, S("fedtrust_source_good_seconds_remaining"), 2400);
	assert_sample(text, S("fedtrust_source_entities_accepted"), 8);
	assert_sample(text, S("fedtrust_source_entities_dropped"), 1);
	assert_sample(text, S("fedtrust_source_last_success_timestamp_seconds"), NOW);
	assert_sample(text, R("sig-invalid"), 1);
	assert_sample(text, R("entity-expired"), 3);
	assert_sample(text, R("fetch-timeout"), 1);
	free(text);
	/* the remaining time is computed at render time and never negative */
	text = render(m, NOW + 4000);
	assert_sample(text, S("fedtrust_source_good_seconds_remaining"), 0);
	free(text);

	/* a failure without a reason and an out-of-range drop reason count as internal */
	cycle(m, "research", "edugain", SRC_FAILED, R_NONE, 0, NULL, 0, NOW + 1800, 0);
	cycle(m, "research", "edugain", SRC_OK, R_NONE, 9, odd_drops, 1, NOW + 2400, NOW + 86400);
	text = render(m, NOW + 2400);
	assert_sample(text, R("internal"), 2);
	assert_sample(text, S("fedtrust_source_consecutive_failures"), 0);
	assert_sample(text, S("fedtrust_source_last_success_timestamp_seconds"), NOW + 2400);
	assert_sample(text, S("fedtrust_source_status"), 0);
	assert_sample(text, S("fedtrust_source_entities_accepted"), 9);
	free(text);

	/* an unknown status is reported as failed */
	cycle(m, "research", "edugain", 42, R_FETCH_FAILED, 0, NULL, 0, NOW + 3000, 0);
	text = render(m, NOW + 3000);
	assert_sample(text, S("fedtrust_source_status"), 2);
	assert_sample(text, R("fetch-failed"), 1);
	free(text);
#undef S
#undef R
	metrics_free(m);
}

/* Samples are sorted by list, then source, whatever the order of the calls. */
static void
test_order(void **state)
{
	struct metrics	*m = metrics_new();
	const char	*order[] = {
		"fedtrust_source_status{list=\"alpha\",source=\"b\"}",
		"fedtrust_source_status{list=\"alpha\",source=\"c\"}",
		"fedtrust_source_status{list=\"beta\",source=\"a\"}",
		"fedtrust_source_status{list=\"beta\",source=\"z\"}",
		"fedtrust_rejections_total{list=\"alpha\",source=\"c\",reason=\"fetch-tls\"}",
		"fedtrust_rejections_total{list=\"beta\",source=\"a\",reason=\"fetch-tls\"}",
		"fedtrust_list_seq{list=\"alpha\"}",
		"fedtrust_list_seq{list=\"beta\"}",
	};
	char		*text, *again;
	const char	*prev, *at;
	size_t		 i;

	cycle(m, "beta", "z", SRC_OK, R_NONE, 1, NULL, 0, NOW, NOW + 60);
	cycle(m, "alpha", "c", SRC_FAILED, R_FETCH_TLS, 0, NULL, 0, NOW, 0);
	cycle(m, "beta", "a", SRC_FAILED, R_FETCH_TLS, 0, NULL, 0, NOW, 0);
	cycle(m, "alpha", "b", SRC_OK, R_NONE, 1, NULL, 0, NOW, NOW + 60);
	metrics_published(m, "beta", 2, NOW, 2, 0, NOW + 60);
	metrics_published(m, "alpha", 1, NOW, 1, 0, NOW + 60);
	text = render(m, NOW);
	for (i = 0, prev = text; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((at = strstr(text, order[i])) == NULL || at <= prev)
			fail_msg("%s missing or out of order", order[i]);
		prev = at;
	}
	/* the same state renders the same bytes */
	again = render(m, NOW);
	assert_string_equal(text, again);
	free(again);
	free(text);
	metrics_free(m);
}

static void
test_lists_and_http(void **state)
{
	struct metrics	*m = metrics_new();
	struct verdict	 v;
	char		*text;
	const char	*a, *b, *c;

	metrics_published(m, "research", 7, NOW, 1234, 56789, NOW + 86400);
	verdict_set(&v, R_MASS_DROP, "12 of 40 entities would vanish");
	metrics_kept(m, "research", NOW + 600, &v);
	metrics_kept(m, "research", NOW + 1200, &v);
	verdict_set(&v, R_SIGN_FAILED, "key unreadable");
	metrics_kept(m, "research", NOW + 1800, &v);
	metrics_kept(m, "research", NOW + 1900, NULL);
	/* a list that never published: only its kept counter appears */
	verdict_set(&v, R_FEED_EMPTY, "no entity left");
	metrics_kept(m, "empty", NOW, &v);
	metrics_http(m, 404);
	metrics_http(m, 200);
	metrics_http(m, 200);
	metrics_http(m, 304);
	metrics_http(m, 200);
	metrics_http(m, 404);
	metrics_http(m, 0);
	metrics_http(m, 99);
	metrics_http(m, 600);
	metrics_http(m, -1);
	text = render(m, NOW + 2000);
	assert_sample(text, "fedtrust_list_seq{list=\"research\"}", 7);
	assert_sample(text, "fedtrust_list_published_timestamp_seconds{list=\"research\"}", NOW);
	assert_sample(text, "fedtrust_list_entities{list=\"research\"}", 1234);
	assert_sample(text, "fedtrust_list_bundle_bytes{list=\"research\"}", 56789);
	assert_sample(text, "fedtrust_list_valid_until_timestamp_seconds{list=\"research\"}",
	    NOW + 86400);
	assert_sample(text, "fedtrust_list_kept_total{list=\"research\",reason=\"mass-drop\"}", 2);
	assert_sample(text, "fedtrust_list_kept_total{list=\"research\",reason=\"sign-failed\"}", 1);
	assert_sample(text, "fedtrust_list_kept_total{list=\"research\",reason=\"internal\"}", 1);
	assert_sample(text, "fedtrust_list_kept_total{list=\"empty\",reason=\"feed-empty\"}", 1);
	assert_no_sample(text, "fedtrust_list_seq{list=\"empty\"}");
	assert_no_sample(text, "fedtrust_list_valid_until_timestamp_seconds{list=\"empty\"}");
	assert_sample(text, "fedtrust_http_requests_total{code=\"200\"}", 3);
	assert_sample(text, "fedtrust_http_requests_total{code=\"304\"}", 1);
	assert_sample(text, "fedtrust_http_requests_total{code=\"404\"}", 2);
	assert_null(strstr(text, "code=\"0\""));
	assert_null(strstr(text, "code=\"600\""));
	a = strstr(text, "code=\"200\"");
	b = strstr(text, "code=\"304\"");
	c = strstr(text, "code=\"404\"");
	assert_true(a < b && b < c);
	free(text);

	/* a new generation replaces the gauges; the counters keep counting */
	metrics_published(m, "research", 8, NOW + 3600, 1300, 60000, NOW + 90000);
	text = render(m, NOW + 3600);
	assert_sample(text, "fedtrust_list_seq{list=\"research\"}", 8);
	assert_sample(text, "fedtrust_list_entities{list=\"research\"}", 1300);
	assert_sample(text, "fedtrust_list_valid_until_timestamp_seconds{list=\"research\"}",
	    NOW + 90000);
	assert_sample(text, "fedtrust_list_kept_total{list=\"research\",reason=\"mass-drop\"}", 2);
	free(text);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics	*m = metrics_new();
	struct verdict	 v;
	char		*text;

	cycle(m, "li\"st", "a\\b\"c\nd", SRC_FAILED, R_FETCH_FAILED, 0, NULL, 0, NOW, 0);
	cycle(m, "li\"st", "x,y}=z {q}", SRC_OK, R_NONE, 1, NULL, 0, NOW, NOW + 10);
	cycle(m, "li\"st", "\\\\\n\n\"", SRC_OK, R_NONE, 1, NULL, 0, NOW, NOW + 10);
	verdict_set(&v, R_PUBLISH_FAILED, "disk\nfull");
	metrics_kept(m, "new\nline", NOW, &v);
	text = render(m, NOW);
	assert_sample(text, "fedtrust_source_status{list=\"li\\\"st\",source=\"a\\\\b\\\"c\\nd\"}", 2);
	assert_sample(text,
	    "fedtrust_rejections_total{list=\"li\\\"st\",source=\"a\\\\b\\\"c\\nd\","
	    "reason=\"fetch-failed\"}", 1);
	assert_sample(text, "fedtrust_source_status{list=\"li\\\"st\",source=\"x,y}=z {q}\"}", 0);
	assert_sample(text, "fedtrust_source_status{list=\"li\\\"st\",source=\"\\\\\\\\\\n\\n\\\"\"}",
	    0);
	assert_sample(text, "fedtrust_list_kept_total{list=\"new\\nline\",reason=\"publish-failed\"}",
	    1);
	free(text);
	metrics_free(m);
}

/* ------------------------------------------------------------ config-driven tests */

static char	*dir;

static void
put(const char *name, const char *text)
{
	char	*p = path_join(dir, name);

	assert_int_equal(write_file_atomic(p, text, strlen(text), 0600), 0);
	free(p);
}

static const char *main_conf =
    "[fedtrust]\n"
    "issuer      = https://trust.example.org\n"
    "state-dir   = state\n"
    "publish-dir = publish\n"
    "trustlists  = lists\n"
    "signing-key = keys/current.pem\n";

static const char *research_two =
    "[trustlist]\nname = research\n\n"
    "[source edugain]\ntype = saml\nurl = https://mds.example.org/feed.xml\n"
    "anchor = anchors/edugain.pem\n\n"
    "[source local]\ntype = saml\nurl = file:///srv/local.xml\nanchor = anchors/local.pem\n";

static const char *research_one =
    "[trustlist]\nname = research\n\n"
    "[source edugain]\ntype = saml\nurl = https://mds.example.org/feed.xml\n"
    "anchor = anchors/edugain.pem\n";

static const char *partners =
    "[trustlist]\nname = partners\n\n"
    "[source alpha]\ntype = saml\nurl = https://alpha.example.org/md.xml\n"
    "anchor = anchors/alpha.pem\n";

/* Load the config in dir (fails the test on error). */
static struct config *
load(void)
{
	char		 err[1024] = "";
	char		*p = path_join(dir, "fedtrust.conf");
	struct config	*c = config_load(p, err, sizeof(err));

	free(p);
	if (c == NULL)
		fail_msg("config: %s", err);
	return c;
}

static int
setup(void **state)
{
	dir = tu_tmpdir("metrics");
	assert_int_equal(tu_sh("mkdir -p '%s/lists'", dir), 0);
	put("fedtrust.conf", main_conf);
	put("lists/research.conf", research_two);
	put("lists/partners.conf", partners);
	return 0;
}

static int
teardown(void **state)
{
	rm_rf(dir);
	free(dir);
	return 0;
}

static void
test_prune(void **state)
{
	struct metrics	*m = metrics_new();
	struct config	*c;
	struct verdict	 v;
	char		*text, *gone;

	c = load();
	assert_int_equal(c->listsz, 2);
	verdict_set(&v, R_MASS_DROP, "x");
	cycle(m, "research", "edugain", SRC_OK, R_NONE, 5, NULL, 0, NOW, NOW + 60);
	cycle(m, "research", "local", SRC_FAILED, R_SIG_INVALID, 0, NULL, 0, NOW, 0);
	cycle(m, "partners", "alpha", SRC_FAILED, R_FETCH_TLS, 0, NULL, 0, NOW, 0);
	cycle(m, "ghost", "edugain", SRC_FAILED, R_FETCH_TLS, 0, NULL, 0, NOW, 0);
	cycle(m, "research", "ghost", SRC_FAILED, R_FETCH_TLS, 0, NULL, 0, NOW, 0);
	metrics_published(m, "research", 1, NOW, 5, 0, NOW + 60);
	metrics_published(m, "partners", 1, NOW, 1, 0, NOW + 60);
	metrics_kept(m, "partners", NOW, &v);
	metrics_published(m, "ghost", 1, NOW, 1, 0, NOW + 60);
	metrics_http(m, 200);

	/* what the config does not have goes */
	metrics_prune(m, c);
	text = render(m, NOW);
	assert_sample(text, "fedtrust_source_status{list=\"research\",source=\"edugain\"}", 0);
	assert_sample(text, "fedtrust_source_status{list=\"research\",source=\"local\"}", 2);
	assert_sample(text, "fedtrust_source_status{list=\"partners\",source=\"alpha\"}", 2);
	assert_null(strstr(text, "ghost"));
	assert_sample(text, "fedtrust_list_seq{list=\"partners\"}", 1);
	free(text);
	config_free(c);

	/* a reload drops a list and a source: their counters go with them */
	gone = path_join(dir, "lists/partners.conf");
	assert_int_equal(unlink(gone), 0);
	free(gone);
	put("lists/research.conf", research_one);
	c = load();
	assert_int_equal(c->listsz, 1);
	metrics_prune(m, c);
	text = render(m, NOW);
	assert_sample(text, "fedtrust_source_status{list=\"research\",source=\"edugain\"}", 0);
	assert_sample(text, "fedtrust_list_seq{list=\"research\"}", 1);
	assert_null(strstr(text, "local"));
	assert_null(strstr(text, "partners"));
	assert_null(strstr(text, "sig-invalid"));
	assert_null(strstr(text, "fetch-tls"));
	assert_null(strstr(text, "mass-drop"));
	/* requests are not per list: they stay */
	assert_sample(text, "fedtrust_http_requests_total{code=\"200\"}", 1);
	free(text);

	/* a source added back starts from zero */
	cycle(m, "research", "local", SRC_FAILED, R_SIG_INVALID, 0, NULL, 0, NOW + 60, 0);
	text = render(m, NOW + 60);
	assert_sample(text, "fedtrust_rejections_total{list=\"research\",source=\"local\","
	    "reason=\"sig-invalid\"}", 1);
	assert_sample(text, "fedtrust_source_consecutive_failures{list=\"research\","
	    "source=\"local\"}", 1);
	free(text);

	/* no config: everything goes */
	metrics_prune(m, NULL);
	text = render(m, NOW);
	assert_null(strstr(text, "research"));
	assert_int_equal(prom_check(text, strlen(text)), 3);	/* up, build_info, http 200 */
	free(text);
	config_free(c);
	metrics_free(m);
	metrics_prune(NULL, NULL);
}

/* Health at now: rc, and the body into *body (caller frees). */
static int
health(struct metrics *m, const struct config *c, time_t now, char **body)
{
	size_t	 len = 0;
	int	 rc;

	*body = NULL;
	rc = metrics_health(m, c, now, body, &len);
	assert_non_null(*body);
	assert_int_equal(strlen(*body), len);
	return rc;
}

static void
test_health(void **state)
{
	struct metrics	*m = metrics_new();
	struct config	*c = load();
	struct verdict	 v;
	char		*body, want[256], when[32];

	/* nothing published yet: 503 */
	assert_int_equal(health(m, c, NOW, &body), 0);
	assert_non_null(strstr(body, "list research: never published\n"));
	assert_non_null(strstr(body, "list partners: never published\n"));
	assert_null(strstr(body, "ok"));
	free(body);

	/* source metrics alone do not make a list healthy */
	cycle(m, "research", "edugain", SRC_OK, R_NONE, 5, NULL, 0, NOW, NOW + 60);
	metrics_published(m, "research", 1, NOW, 5, 100, NOW + 3600);
	assert_int_equal(health(m, c, NOW, &body), 0);
	assert_string_equal(body, "list partners: never published\n");
	free(body);

	/* every list published and valid: 200 */
	metrics_published(m, "partners", 1, NOW, 1, 100, NOW + 7200);
	assert_int_equal(health(m, c, NOW, &body), 1);
	assert_string_equal(body, "ok\n");
	free(body);
	/* a list outside the config does not matter */
	metrics_kept(m, "ghost", NOW, NULL);
	assert_int_equal(health(m, c, NOW + 1, &body), 1);
	assert_string_equal(body, "ok\n");
	free(body);

	/* kept while still valid: healthy, with the reason as information */
	verdict_set(&v, R_MASS_DROP, "12 of 40 entities would vanish\nsecond line");
	metrics_kept(m, "research", NOW + 60, &v);
	assert_int_equal(health(m, c, NOW + 60, &body), 1);
	assert_string_equal(body, "ok\nlist research: kept previous generation: mass-drop: "
	    "12 of 40 entities would vanish\\x0asecond line\n");
	free(body);

	/* time passes beyond research's validity: 503 */
	assert_int_equal(health(m, c, NOW + 3599, &body), 1);
	free(body);
	assert_int_equal(health(m, c, NOW + 3600, &body), 0);
	snprintf(want, sizeof(want), "list research: expired at %s\n"
	    "list research: kept previous generation: mass-drop: ",
	    format_time(NOW + 3600, when, sizeof(when)));
	assert_true(strncmp(body, want, strlen(want)) == 0);
	assert_null(strstr(body, "partners"));
	free(body);
	assert_int_equal(health(m, c, NOW + 7200, &body), 0);
	assert_non_null(strstr(body, "list partners: expired at "));
	free(body);

	/* a new generation clears the kept note and heals the list */
	metrics_published(m, "research", 2, NOW + 3600, 5, 100, NOW + 10000);
	assert_int_equal(health(m, c, NOW + 3601, &body), 1);
	assert_string_equal(body, "ok\n");
	free(body);

	/* no config, or no registry: unhealthy */
	assert_int_equal(health(m, NULL, NOW, &body), 0);
	free(body);
	assert_int_equal(health(NULL, c, NOW, &body), 0);
	free(body);
	config_free(c);
	metrics_free(m);
}

/* ------------------------------------------------------------ concurrency */

struct race {
	struct metrics	*m;
	const struct config *c;
	atomic_int	 stop;
	atomic_int	 renders;
};

/* Render and ask for health until told to stop; every output must parse. */
static void *
reader(void *arg)
{
	struct race	*r = arg;
	char		*buf;
	size_t		 len;

	while (!atomic_load(&r->stop) || atomic_load(&r->renders) == 0) {
		metrics_render(r->m, NOW, &buf, &len);
		prom_check(buf, len);
		free(buf);
		(void)metrics_health(r->m, r->c, NOW, &buf, &len);
		free(buf);
		atomic_fetch_add(&r->renders, 1);
	}
	return NULL;
}

static void
test_concurrency(void **state)
{
	const enum reason drops[] = { R_ENTITY_EXPIRED, R_ENTITY_FILTERED };
	struct race	 r;
	struct config	*c = load();
	struct verdict	 v;
	pthread_t	 t[2];
	char		 name[32];
	size_t		 i;

	memset(&r, 0, sizeof(r));
	r.m = metrics_new();
	r.c = c;
	verdict_set(&v, R_MASS_DROP, "race");
	assert_int_equal(pthread_create(&t[0], NULL, reader, &r), 0);
	assert_int_equal(pthread_create(&t[1], NULL, reader, &r), 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "s%zu", i % 17);
		cycle(r.m, i % 2 ? "research" : "partners", name, (int)(i % 3),
		    R_FETCH_TIMEOUT, i, drops, 2, NOW + i, NOW + 2 * i);
		cycle(r.m, "research", "edugain", SRC_OK, R_NONE, i, NULL, 0, NOW + i, NOW + i);
		metrics_published(r.m, i % 2 ? "research" : "partners", i, NOW + i, i, i, NOW + i);
		metrics_kept(r.m, "research", NOW + i, &v);
		metrics_http(r.m, 200 + (int)(i % 5));
		/* entries come and go while the readers walk them */
		if (i % 97 == 0)
			metrics_prune(r.m, c);
	}
	atomic_store(&r.stop, 1);
	assert_int_equal(pthread_join(t[0], NULL), 0);
	assert_int_equal(pthread_join(t[1], NULL), 0);
	assert_true(atomic_load(&r.renders) > 0);
	metrics_free(r.m);
	config_free(c);
}

/* ------------------------------------------------------------ bounds */

static void
test_bounds(void **state)
{
	struct metrics	*m = metrics_new();
	struct fake	 f;
	char		*text, name[32];
	const char	*p;
	size_t		 i, n;

	/* entries beyond MAX_LISTS lists and MAX_SOURCES sources per list are not kept */
	for (i = 0; i < MAX_LISTS + 10; i++) {
		snprintf(name, sizeof(name), "l%04zu", i);
		metrics_published(m, name, 1, NOW, 1, 0, NOW + 60);
	}
	for (i = 0; i < MAX_SOURCES + 10; i++) {
		snprintf(name, sizeof(name), "s%04zu", i);
		cycle(m, "l0000", name, SRC_OK, R_NONE, 1, NULL, 0, NOW, NOW + 60);
	}
	text = render(m, NOW);
	for (n = 0, p = text; (p = strstr(p, "\nfedtrust_list_seq{")) != NULL; p++)
		n++;
	assert_int_equal(n, MAX_LISTS);
	for (n = 0, p = text; (p = strstr(p, "\nfedtrust_source_status{")) != NULL; p++)
		n++;
	assert_int_equal(n, MAX_SOURCES);
	free(text);

	/* calls without what they need are ignored */
	fake(&f, "x", SRC_OK, R_NONE, 1, NULL, 0);
	f.st.conf = NULL;
	metrics_source(m, "l0000", &f.st, NOW, 0);
	metrics_source(m, "l0000", NULL, NOW, 0);
	metrics_source(m, NULL, &f.st, NOW, 0);
	metrics_source(NULL, "l0000", &f.st, NOW, 0);
	metrics_published(NULL, "x", 1, NOW, 0, 0, 0);
	metrics_kept(NULL, "x", NOW, NULL);
	metrics_http(NULL, 200);
	text = render(NULL, NOW);
	assert_int_equal(prom_check(text, strlen(text)), 2);
	free(text);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_source_sequence),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_lists_and_http),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
		cmocka_unit_test(test_bounds),
	};

	log_init(1, 0, "test_metrics");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
