/*
 * Tests of audit.c: every line parses and carries the documented common
 * fields, lines are compact with sorted keys, reopening after a rotation,
 * long fields cut (never a split line), two processes appending at once
 * (whole lines only), an unusable path, and the warning throttle.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "extern.h"
#include "testutil.h"

#define NOW	1772431200		/* 2026-03-02T06:00:00Z */

static char	*tmp;

/* A config whose state and audit log live under tmp/name (fresh). */
static void
mkconf(struct config *c, const char *name)
{
	char	*d = path_join(tmp, name);

	assert_int_equal(tu_sh("rm -rf '%s' && mkdir -p '%s'", d, d), 0);
	memset(c, 0, sizeof(*c));
	c->state_dir = path_join(d, "state");
	xasprintf(&c->audit_log, "%s/log/sub/audit.log", d);
	c->audit_syslog = 0;
	free(d);
}

static void
freeconf(struct config *c)
{
	free(c->state_dir);
	free(c->audit_log);
}

/* Lines of a file (each without its newline) as a JSON array of strings; checks the framing. */
static json_t *
lines_of(const char *path)
{
	unsigned char	*buf;
	size_t		 len, i, start = 0;
	json_t		*arr = json_array();

	assert_int_equal(read_file(path, 1UL << 30, &buf, &len), 0);
	assert_true(len == 0 || buf[len - 1] == '\n');
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		json_array_append_new(arr, json_stringn((char *)buf + start, i - start));
		start = i + 1;
	}
	free(buf);
	return arr;
}

/* Parse one audit line, checking it is compact with sorted keys (re-dumped identically). */
static json_t *
parse_line(const char *line)
{
	json_error_t	 err;
	json_t		*o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	char		*again;

	if (o == NULL)
		fail_msg("audit line does not parse: %s: %.200s", err.text, line);
	assert_true(json_is_object(o));
	again = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(again, line);
	free(again);
	assert_true(strlen(line) + 1 <= MAX_AUDIT_LINE);
	return o;
}

/* The common fields every line has. */
static void
assert_common(const json_t *o, const char *event, const char *severity, time_t now)
{
	char	 ts[32], host[256] = "";

	assert_string_equal(json_string_value(json_object_get(o, "ts")),
	    format_time(now, ts, sizeof(ts)));
	assert_string_equal(json_string_value(json_object_get(o, "event")), event);
	assert_string_equal(json_string_value(json_object_get(o, "severity")), severity);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(json_string_value(json_object_get(o, "host")), host);
	assert_true(json_is_integer(json_object_get(o, "pid")));
}

static void
test_fields(void **state)
{
	struct config	 c;
	struct stat	 st;
	json_t		*lines, *o;
	char		*dir;

	(void)state;
	mkconf(&c, "fields");
	assert_int_equal(audit_open(&c), 0);
	audit_emit(NOW, "entity-added", "info", json_pack("{s:s, s:i, s:s, s:s, s:s}",
	    "list", "research", "seq", 12, "id", "https://sp.example.org/sp", "proto", "saml2",
	    "source", "edugain"));
	audit_emit(NOW + 1, "revocation", "alert", json_pack("{s:s, s:s}", "list", "research",
	    "reason", "key compromise\nsecond line \"quoted\" \x01"));
	audit_emit(NOW + 2, "publication", NULL, NULL);
	audit_close();
	/* mode 0600, created with its folder 0700 */
	assert_int_equal(stat(c.audit_log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	dir = path_dirname(c.audit_log);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(dir);

	lines = lines_of(c.audit_log);
	assert_int_equal(json_array_size(lines), 3);
	o = parse_line(json_string_value(json_array_get(lines, 0)));
	assert_common(o, "entity-added", "info", NOW);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(o, "id")), "https://sp.example.org/sp");
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 12);
	assert_null(json_object_get(o, "truncated"));
	json_decref(o);
	/* a newline inside a field stays inside the JSON string */
	o = parse_line(json_string_value(json_array_get(lines, 1)));
	assert_common(o, "revocation", "alert", NOW + 1);
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "key compromise\nsecond line \"quoted\" \x01");
	json_decref(o);
	o = parse_line(json_string_value(json_array_get(lines, 2)));
	assert_common(o, "publication", "info", NOW + 2);
	assert_int_equal(json_object_size(o), 5);
	json_decref(o);
	json_decref(lines);

	/* a looser existing file is tightened when opened */
	assert_int_equal(chmod(c.audit_log, 0644), 0);
	assert_int_equal(audit_open(&c), 0);
	audit_close();
	assert_int_equal(stat(c.audit_log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	freeconf(&c);
}

static void
test_reopen(void **state)
{
	struct config	 c;
	json_t		*lines, *o;
	char		*old;

	(void)state;
	mkconf(&c, "reopen");
	assert_int_equal(audit_open(&c), 0);
	audit_emit(NOW, "publication", "info", json_pack("{s:i}", "seq", 1));
	/* logrotate moves the file away, then the daemon is told to reopen */
	xasprintf(&old, "%s.1", c.audit_log);
	assert_int_equal(rename(c.audit_log, old), 0);
	audit_emit(NOW, "publication", "info", json_pack("{s:i}", "seq", 2));
	assert_int_equal(audit_open(&c), 0);
	audit_emit(NOW, "publication", "info", json_pack("{s:i}", "seq", 3));
	audit_close();

	lines = lines_of(old);
	assert_int_equal(json_array_size(lines), 2);
	o = parse_line(json_string_value(json_array_get(lines, 1)));
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 2);
	json_decref(o);
	json_decref(lines);
	lines = lines_of(c.audit_log);
	assert_int_equal(json_array_size(lines), 1);
	o = parse_line(json_string_value(json_array_get(lines, 0)));
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 3);
	json_decref(o);
	json_decref(lines);
	free(old);
	freeconf(&c);
}

static void
test_long_fields(void **state)
{
	struct config	 c;
	json_t		*lines, *o, *ids, *f;
	char		*big, *utf, *ctl;
	const char	*s;
	size_t		 i;

	(void)state;
	mkconf(&c, "long");
	assert_int_equal(audit_open(&c), 0);
	/* one huge ASCII field beside short ones */
	big = xmalloc(200001);
	for (i = 0; i < 200000; i++)
		big[i] = (char)('a' + i % 26);
	big[200000] = '\0';
	audit_emit(NOW, "rejection", "warning", json_pack("{s:s, s:s, s:s, s:s}", "list",
	    "research", "source", "edugain", "reason", "xml-malformed", "detail", big));
	/* multi-byte UTF-8 must be cut on a character boundary */
	utf = xmalloc(3 * 40000 + 1);
	for (i = 0; i < 40000; i++)
		memcpy(utf + 3 * i, "\xe2\x82\xac", 3);	/* U+20AC */
	utf[3 * 40000] = '\0';
	/* control characters grow six-fold when escaped */
	ctl = xmalloc(30001);
	memset(ctl, 0x01, 30000);
	ctl[30000] = '\0';
	audit_emit(NOW, "rejection", "warning", json_pack("{s:s, s:s, s:s}", "list", "research",
	    "detail", utf, "note", ctl));
	/* a huge array of short strings */
	ids = json_array();
	for (i = 0; i < 20000; i++)
		json_array_append_new(ids, json_sprintf("https://idp%zu.example.org/idp", i));
	audit_emit(NOW, "key-shared", "warning", json_pack("{s:s, s:o, s:s}", "list", "research",
	    "ids", ids, "policy", "warn"));
	/* and a line that fits is left alone */
	audit_emit(NOW, "key-shared", "warning", json_pack("{s:s, s:s}", "list", "research",
	    "detail", "short"));
	audit_close();

	lines = lines_of(c.audit_log);
	assert_int_equal(json_array_size(lines), 4);
	o = parse_line(json_string_value(json_array_get(lines, 0)));
	assert_common(o, "rejection", "warning", NOW);
	assert_true(json_is_true(json_object_get(o, "truncated")));
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "xml-malformed");
	assert_string_equal(json_string_value(json_object_get(o, "source")), "edugain");
	s = json_string_value(json_object_get(o, "detail"));
	assert_true(strlen(s) > 30000);		/* cut to fit, not emptied */
	assert_true(strlen(s) < 200000);
	assert_memory_equal(s, big, strlen(s) - 3);
	assert_string_equal(s + strlen(s) - 3, "...");
	json_decref(o);

	o = parse_line(json_string_value(json_array_get(lines, 1)));	/* jansson checks UTF-8 */
	assert_true(json_is_true(json_object_get(o, "truncated")));
	s = json_string_value(json_object_get(o, "detail"));
	assert_int_equal((strlen(s) - 3) % 3, 0);
	assert_memory_equal(s, utf, strlen(s) - 3);
	json_decref(o);

	o = parse_line(json_string_value(json_array_get(lines, 2)));
	assert_common(o, "key-shared", "warning", NOW);
	assert_true(json_is_true(json_object_get(o, "truncated")));
	assert_string_equal(json_string_value(json_object_get(o, "policy")), "warn");
	f = json_object_get(o, "ids");
	assert_true(json_array_size(f) > 100 && json_array_size(f) < 20000);
	assert_string_equal(json_string_value(json_array_get(f, 0)), "https://idp0.example.org/idp");
	json_decref(o);

	o = parse_line(json_string_value(json_array_get(lines, 3)));
	assert_null(json_object_get(o, "truncated"));
	json_decref(o);
	json_decref(lines);
	free(big);
	free(utf);
	free(ctl);
	freeconf(&c);
}

#define WRITERS		4
#define PER_WRITER	200

static void
test_concurrent(void **state)
{
	struct config	 c;
	json_t		*lines, *o;
	pid_t		 pids[WRITERS];
	size_t		 counts[WRITERS] = { 0 }, i;
	char		*pad;
	int		 w, k, st;

	(void)state;
	mkconf(&c, "concurrent");
	/* lines far larger than PIPE_BUF or a stdio buffer */
	pad = xmalloc(20001);
	memset(pad, 'x', 20000);
	pad[20000] = '\0';
	for (w = 0; w < WRITERS; w++) {
		if ((pids[w] = fork()) == 0) {
			/* each its own open file, like the daemon and `fedtrust build` */
			if (audit_open(&c) == -1)
				_exit(2);
			for (k = 0; k < PER_WRITER; k++)
				audit_emit(NOW, "publication", "info", json_pack("{s:i, s:i, s:s}",
				    "writer", w, "n", k, "pad", pad));
			audit_close();
			_exit(0);
		}
		assert_true(pids[w] > 0);
	}
	for (w = 0; w < WRITERS; w++) {
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	lines = lines_of(c.audit_log);
	assert_int_equal(json_array_size(lines), WRITERS * PER_WRITER);
	for (i = 0; i < json_array_size(lines); i++) {
		o = parse_line(json_string_value(json_array_get(lines, i)));
		w = (int)json_integer_value(json_object_get(o, "writer"));
		assert_true(w >= 0 && w < WRITERS);
		/* each writer's lines arrive whole and in its own order */
		assert_int_equal(json_integer_value(json_object_get(o, "n")), counts[w]);
		counts[w]++;
		assert_int_equal(json_string_length(json_object_get(o, "pad")), 20000);
		json_decref(o);
	}
	json_decref(lines);
	free(pad);
	freeconf(&c);
}

/* Run emit with stderr captured into a file; returns what was written (caller frees). */
static char *
captured(void (*fn)(struct config *), struct config *c)
{
	char		*path, *text;
	unsigned char	*buf;
	size_t		 len;
	int		 fd, saved;

	xasprintf(&path, "%s/stderr.txt", tmp);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	fn(c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(read_file(path, 1 << 20, &buf, &len), 0);
	text = xstrndup((char *)buf, len);
	free(buf);
	free(path);
	return text;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static char	*good_log;	/* a usable audit log path */

static void
unusable_run(struct config *c)
{
	struct config	 good = *c;

	/* a successful open in between: the next failure is warned about again */
	good.audit_log = good_log;
	assert_int_equal(audit_open(&good), 0);
	assert_int_equal(audit_open(c), -1);
	audit_emit(NOW, "publication", "info", json_pack("{s:s}", "list", "research"));
	/* a reopen that fails again does not repeat the warning */
	assert_int_equal(audit_open(c), -1);
	audit_emit(NOW, "publication", "info", json_pack("{s:s}", "list", "second"));
	audit_close();
}

static void
test_unusable(void **state)
{
	struct config	 c;
	char		*text, *file, *link, *target;

	(void)state;
	mkconf(&c, "unusable");
	good_log = path_join(tmp, "unusable/good.log");
	/* its folder cannot be made: a regular file is in the way */
	file = path_join(tmp, "unusable/plainfile");
	assert_int_equal(write_file_atomic(file, "x", 1, 0600), 0);
	free(c.audit_log);
	c.audit_log = path_join(file, "audit.log");
	text = captured(unusable_run, &c);
	assert_int_equal(count(text, "cannot open"), 1);
	assert_int_equal(count(text, "audit: {"), 2);
	assert_non_null(strstr(text, "\"list\":\"second\""));
	free(text);

	/* a symlink planted at the path is never followed */
	target = path_join(tmp, "unusable/target");
	link = path_join(tmp, "unusable/audit.log");
	assert_int_equal(symlink(target, link), 0);
	free(c.audit_log);
	c.audit_log = xstrdup(link);
	text = captured(unusable_run, &c);
	assert_int_equal(count(text, "cannot open"), 1);
	assert_int_equal(access(target, F_OK), -1);
	free(text);

	/* a directory is not a log file */
	free(c.audit_log);
	c.audit_log = path_join(tmp, "unusable");
	text = captured(unusable_run, &c);
	assert_int_equal(count(text, "cannot open"), 1);
	free(text);
	free(target);
	free(link);
	free(file);
	free(good_log);
	freeconf(&c);
}

/* The throttle state of list research as text (caller frees). */
static char *
warned_text(const struct config *c)
{
	char		*p, *t;
	unsigned char	*buf;
	size_t		 len;

	xasprintf(&p, "%s/lists/research/warned", c->state_dir);
	if (read_file(p, 1 << 24, &buf, &len) == -1) {
		free(p);
		return xstrdup("");
	}
	t = xstrndup((char *)buf, len);
	free(buf);
	free(p);
	return t;
}

static void
test_throttle(void **state)
{
	struct config	 c;
	struct stat	 st;
	char		*t, *p, *txt, line[128];
	size_t		 i, len = 0;

	(void)state;
	mkconf(&c, "throttle");
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW, AUDIT_REPEAT), 1);
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW + 10, AUDIT_REPEAT), 0);
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW + AUDIT_REPEAT - 1,
	    AUDIT_REPEAT), 0);
	/* another key, and the same key in another list, are separate */
	assert_int_equal(audit_throttle(&c, "research", "cert:https://idp.example.org x5t",
	    NOW + 20, AUDIT_REPEAT), 1);
	assert_int_equal(audit_throttle(&c, "other", "approval:edugain", NOW + 20, AUDIT_REPEAT), 1);
	/* a day later it is due again */
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW + AUDIT_REPEAT,
	    AUDIT_REPEAT), 1);
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW + AUDIT_REPEAT + 5,
	    AUDIT_REPEAT), 0);
	/* a record from the future (the clock went back) does not silence it */
	assert_int_equal(audit_throttle(&c, "research", "approval:edugain", NOW, AUDIT_REPEAT), 1);
	/* a key with a newline cannot forge a line */
	assert_int_equal(audit_throttle(&c, "research", "evil\nforged 0", NOW, AUDIT_REPEAT), 1);
	assert_int_equal(audit_throttle(&c, "research", "evil\nforged 0", NOW + 1, AUDIT_REPEAT), 0);

	t = warned_text(&c);
	xasprintf(&p, "approval:edugain %lld\ncert:https://idp.example.org x5t %lld\n"
	    "evil?forged 0 %lld\n", (long long)NOW, (long long)NOW + 20, (long long)NOW);
	assert_string_equal(t, p);
	free(t);
	free(p);
	xasprintf(&p, "%s/lists/research/warned", c.state_dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* old keys are forgotten when the file is next written */
	assert_int_equal(audit_throttle(&c, "research", "late", NOW + 8 * 86400, AUDIT_REPEAT), 1);
	t = warned_text(&c);
	xasprintf(&txt, "late %lld\n", (long long)NOW + 8 * 86400);
	assert_string_equal(t, txt);
	free(t);
	free(txt);

	/* bounded: at most MAX_AUDIT_WARNED keys, the oldest go first */
	txt = xmalloc((MAX_AUDIT_WARNED + 50) * 40);
	for (i = 0; i < MAX_AUDIT_WARNED + 50; i++)
		len += (size_t)sprintf(txt + len, "k%05zu %lld\n", i, (long long)NOW + (long long)i);
	assert_int_equal(write_file_atomic(p, txt, len, 0600), 0);
	free(txt);
	assert_int_equal(audit_throttle(&c, "research", "k00100", NOW + 10100, AUDIT_REPEAT), 0);
	assert_int_equal(audit_throttle(&c, "research", "newest", NOW + 10100, AUDIT_REPEAT), 1);
	t = warned_text(&c);
	assert_int_equal(count(t, "\n"), MAX_AUDIT_WARNED);
	assert_non_null(strstr(t, "newest "));
	assert_null(strstr(t, "k00050 "));	/* among the 51 oldest */
	assert_non_null(strstr(t, "k00051 "));
	snprintf(line, sizeof(line), "k%05d ", MAX_AUDIT_WARNED + 49);
	assert_non_null(strstr(t, line));
	free(t);
	free(p);
	freeconf(&c);
}

static int
setup(void **state)
{
	(void)state;
	tmp = tu_tmpdir("test_audit");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	audit_close();
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_long_fields),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_throttle),
	};

	log_init(1, 0, "test_audit");
	return cmocka_run_group_tests(tests, setup, teardown);
}
