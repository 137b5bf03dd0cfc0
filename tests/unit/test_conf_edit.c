/*
 * conf_edit.c: every ini_* edit against exact expected texts, so that
 * comments, blank lines, spacing, CRLF endings and order outside the edit
 * are checked byte for byte; sections with odd spacing, the first, last,
 * only and a missing section; and that the edited text is what config.c
 * reads (config_load of the result).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

static const char LIST[] =
    "# research federation\n"
    "[trustlist]\n"
    "name    = research   ; the list\n"
    "outputs = bundle\n"
    "\n"
    "; partner A, ticket 12\n"
    "[source a]\n"
    "type   = saml\n"
    "url    = https://a.example.org/md.xml\n"
    "anchor = anchors/a.pem\n"
    "\n"
    "# partner B\n"
    "# approved by ops\n"
    "[source b]\n"
    "type = saml\n"
    "\turl = https://b.example.org/md.xml\n"
    "anchor = anchors/b.pem\n"
    "\n"
    "# end of the list\n";

/* ini_parse_text of a C string. */
static struct ini_text *
parse(const char *s)
{
	return ini_parse_text(s, strlen(s));
}

/* Apply nothing: parse and render. */
static char *
roundtrip(const char *in, size_t len, size_t *outlen)
{
	struct ini_text	*t = ini_parse_text(in, len);
	char		*out = ini_render(t, outlen);

	ini_text_free(t);
	return out;
}

static void
assert_text(struct ini_text *t, const char *want)
{
	size_t	 len;
	char	*got = ini_render(t, &len);

	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void
test_roundtrip(void **state)
{
	static const char *const in[] = {
		"", "\n", "\n\n", "[a]", "[a]\n", "x", "a = b\r\nc = d\r\n", "a = b\r\nc", LIST,
		"  [ source   odd ]  ; comment\n key = v\n   cont\n", "\r\n\r", "no newline at end",
		"[source a]\r\ntype = saml\n\n# mixed endings\r\n",
	};
	size_t	 i, len;
	char	*out;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		out = roundtrip(in[i], strlen(in[i]), &len);
		assert_int_equal(len, strlen(in[i]));
		assert_memory_equal(out, in[i], len);
		free(out);
	}
}

static void
test_has_section(void **state)
{
	struct ini_text	*t;

	(void)state;
	t = parse(LIST);
	assert_true(ini_has_section(t, "trustlist"));
	assert_true(ini_has_section(t, "source a"));
	assert_true(ini_has_section(t, "source b"));
	assert_false(ini_has_section(t, "source c"));
	assert_false(ini_has_section(t, "source"));
	assert_false(ini_has_section(t, "source ab"));
	ini_text_free(t);

	/* odd spacing when reading: indentation, blanks inside, a comment after */
	t = parse("  [source   x]  ; x\n[ source\ty ]\n[source z]x\n");
	assert_true(ini_has_section(t, "source x"));
	assert_true(ini_has_section(t, "source  x"));
	assert_true(ini_has_section(t, "source y"));
	assert_true(ini_has_section(t, "source z"));
	ini_text_free(t);

	/* an indented "[...]" after a key is a continuation of its value (inih) */
	t = parse("[source a]\nk = v\n  [source c]\n");
	assert_false(ini_has_section(t, "source c"));
	ini_text_free(t);
	t = parse("");
	assert_false(ini_has_section(t, "trustlist"));
	ini_text_free(t);
}

static void
test_add_section(void **state)
{
	static const char *const kv[] = { "type", "saml", "url", "https://c.example.org/",
	    "anchor", "/etc/c.pem", NULL };
	struct ini_text	*t;
	char		*want;

	(void)state;
	t = parse(LIST);
	ini_add_section(t, "source c", kv);
	xasprintf(&want, "%s\n[source c]\ntype   = saml\nurl    = https://c.example.org/\n"
	    "anchor = /etc/c.pem\n", LIST);
	assert_text(t, want);
	free(want);
	assert_true(ini_has_section(t, "source c"));
	ini_text_free(t);

	/* an empty file: no leading blank line */
	t = parse("");
	ini_add_section(t, "trustlist", (const char *const[]){ "name", "x", NULL });
	assert_text(t, "[trustlist]\nname = x\n");
	ini_text_free(t);

	/* a file ending in a blank line gets no second one */
	t = parse("[trustlist]\nname = x\n\n");
	ini_add_section(t, "source a", (const char *const[]){ "type", "saml", NULL });
	assert_text(t, "[trustlist]\nname = x\n\n[source a]\ntype = saml\n");
	ini_text_free(t);

	/* no final newline: still none after the edit */
	t = parse("[trustlist]\nname = x");
	ini_add_section(t, "source a", (const char *const[]){ "type", "saml", NULL });
	assert_text(t, "[trustlist]\nname = x\n\n[source a]\ntype = saml");
	ini_text_free(t);

	/* CRLF file: new lines in CRLF too */
	t = parse("; c\r\n[trustlist]\r\nname = x\r\n");
	ini_add_section(t, "source a", (const char *const[]){ "type", "saml", "note", "n", NULL });
	assert_text(t, "; c\r\n[trustlist]\r\nname = x\r\n\r\n[source a]\r\ntype = saml\r\n"
	    "note = n\r\n");
	ini_text_free(t);

	/* no keys at all */
	t = parse("[trustlist]\n");
	ini_add_section(t, "source e", NULL);
	assert_text(t, "[trustlist]\n\n[source e]\n");
	ini_text_free(t);
}

static void
remove_expect(const char *in, const char *section, int rc, const char *want)
{
	struct ini_text	*t = parse(in);

	assert_int_equal(ini_remove_section(t, section), rc);
	assert_text(t, want);
	ini_text_free(t);
}

static void
test_remove_section(void **state)
{
	(void)state;
	/* a middle section: the comments above the next header stay, one blank line between */
	remove_expect(LIST, "source a", 0,
	    "# research federation\n"
	    "[trustlist]\n"
	    "name    = research   ; the list\n"
	    "outputs = bundle\n"
	    "\n"
	    "; partner A, ticket 12\n"
	    "\n"
	    "# partner B\n"
	    "# approved by ops\n"
	    "[source b]\n"
	    "type = saml\n"
	    "\turl = https://b.example.org/md.xml\n"
	    "anchor = anchors/b.pem\n"
	    "\n"
	    "# end of the list\n");
	/* the last section: its continuation line goes with it; the comment at the end stays */
	remove_expect(LIST, "source b", 0,
	    "# research federation\n"
	    "[trustlist]\n"
	    "name    = research   ; the list\n"
	    "outputs = bundle\n"
	    "\n"
	    "; partner A, ticket 12\n"
	    "[source a]\n"
	    "type   = saml\n"
	    "url    = https://a.example.org/md.xml\n"
	    "anchor = anchors/a.pem\n"
	    "\n"
	    "# partner B\n"
	    "# approved by ops\n"
	    "\n"
	    "# end of the list\n");
	/* the first section (the leading comment belongs to the file) */
	remove_expect(LIST, "trustlist", 0,
	    "# research federation\n"
	    "\n"
	    "; partner A, ticket 12\n"
	    "[source a]\n"
	    "type   = saml\n"
	    "url    = https://a.example.org/md.xml\n"
	    "anchor = anchors/a.pem\n"
	    "\n"
	    "# partner B\n"
	    "# approved by ops\n"
	    "[source b]\n"
	    "type = saml\n"
	    "\turl = https://b.example.org/md.xml\n"
	    "anchor = anchors/b.pem\n"
	    "\n"
	    "# end of the list\n");
	/* the only section */
	remove_expect("[source a]\ntype = saml\n", "source a", 0, "");
	remove_expect("[source a]", "source a", 0, "");
	/* the last section at the end of the file: its separating blank line goes too */
	remove_expect("[trustlist]\nname = x\n\n[source a]\ntype = saml\n", "source a", 0,
	    "[trustlist]\nname = x\n");
	/* ... and a file without a final newline keeps none */
	remove_expect("[trustlist]\nname = x\n\n[source a]\ntype = saml", "source a", 0,
	    "[trustlist]\nname = x");
	/* CRLF, odd spacing in the header */
	remove_expect("[trustlist]\r\nname = x\r\n\r\n[source   a] ; x\r\ntype = saml\r\n\r\n"
	    "[source b]\r\ntype = saml\r\n", "source a", 0,
	    "[trustlist]\r\nname = x\r\n\r\n[source b]\r\ntype = saml\r\n");
	/* a section given twice is removed twice (config.c merges them) */
	remove_expect("[source a]\nx = 1\n\n[source b]\ny = 2\n\n[source a]\nz = 3\n", "source a", 0,
	    "[source b]\ny = 2\n");
	/* missing: -1 and nothing changes */
	remove_expect(LIST, "source c", -1, LIST);
	remove_expect("", "source c", -1, "");
}

/* add then remove gives the original bytes back */
static void
test_add_remove_identity(void **state)
{
	static const char *const in[] = {
		LIST, "[trustlist]\nname = x\n", "[trustlist]\r\nname = x\r\n",
		"[trustlist]\nname = x", "[trustlist]\nname = x\n\n",
	};
	struct ini_text	*t;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		t = parse(in[i]);
		ini_add_section(t, "source new", (const char *const[]){ "type", "saml", NULL });
		assert_int_equal(ini_remove_section(t, "source new"), 0);
		/* a file that ended in a blank line loses it: the section took it along */
		assert_text(t, i == 4 ? "[trustlist]\nname = x\n" : in[i]);
		ini_text_free(t);
	}
}

static void
set_expect(const char *in, const char *section, const char *key, const char *value, int rc,
    const char *want)
{
	struct ini_text	*t = parse(in);

	assert_int_equal(ini_set_key(t, section, key, value), rc);
	assert_text(t, want);
	ini_text_free(t);
}

static void
test_set_key(void **state)
{
	(void)state;
	/* replace: the key's spacing stays, the inline comment goes with the old value */
	set_expect("[trustlist]\nname    = research   ; the list\nx = 1\n", "trustlist", "name",
	    "other", 0, "[trustlist]\nname    = other\nx = 1\n");
	/* replace in CRLF, only the first of a repeated key */
	set_expect("[s]\r\nk=1\r\nk = 2\r\n", "s", "k", "9", 0, "[s]\r\nk=9\r\nk = 2\r\n");
	/* continuation lines of the old value are removed */
	set_expect("[s]\nk = 1\n  more\n\tmore\nj = 2\n", "s", "k", "3", 0, "[s]\nk = 3\nj = 2\n");
	/* add after the last key, aligned like it, before the comments that follow */
	set_expect(LIST, "source a", "owner", "ops@example.org", 0,
	    "# research federation\n"
	    "[trustlist]\n"
	    "name    = research   ; the list\n"
	    "outputs = bundle\n"
	    "\n"
	    "; partner A, ticket 12\n"
	    "[source a]\n"
	    "type   = saml\n"
	    "url    = https://a.example.org/md.xml\n"
	    "anchor = anchors/a.pem\n"
	    "owner  = ops@example.org\n"
	    "\n"
	    "# partner B\n"
	    "# approved by ops\n"
	    "[source b]\n"
	    "type = saml\n"
	    "\turl = https://b.example.org/md.xml\n"
	    "anchor = anchors/b.pem\n"
	    "\n"
	    "# end of the list\n");
	/* after a continuation line; a key longer than the alignment is not padded */
	set_expect("[s]\nk = 1\n  more\n# c\n", "s", "longer", "v", 0,
	    "[s]\nk = 1\n  more\nlonger = v\n# c\n");
	/* a section without keys: right after the header */
	set_expect("[s]\n# c\n\n[t]\n", "s", "k", "v", 0, "[s]\nk = v\n# c\n\n[t]\n");
	/* the last line of the file has no ending */
	set_expect("[s]\nk = 1", "s", "j", "2", 0, "[s]\nk = 1\nj = 2");
	/* odd spacing of the header */
	set_expect(" [source    a]\ntype = saml\n", "source a", "type", "oidf", 0,
	    " [source    a]\ntype = oidf\n");
	/* missing section: -1, unchanged */
	set_expect(LIST, "source c", "k", "v", -1, LIST);
	/* a key of the same name in another section is not touched */
	set_expect("[a]\nk = 1\n[b]\nj = 1\n", "b", "k", "2", 0, "[a]\nk = 1\n[b]\nj = 1\nk = 2\n");
}

static void
test_append_key(void **state)
{
	struct ini_text	*t;

	(void)state;
	t = parse(LIST);
	assert_int_equal(ini_append_key(t, "source b", "revoke-entity",
	    "https://x.example.org 2026-11-23T22:10:00Z compromised"), 0);
	assert_int_equal(ini_append_key(t, "source b", "revoke-entity",
	    "https://y.example.org 2026-11-24T08:00:00Z left the federation"), 0);
	assert_int_equal(ini_append_key(t, "source c", "revoked", "x"), -1);
	assert_text(t,
	    "# research federation\n"
	    "[trustlist]\n"
	    "name    = research   ; the list\n"
	    "outputs = bundle\n"
	    "\n"
	    "; partner A, ticket 12\n"
	    "[source a]\n"
	    "type   = saml\n"
	    "url    = https://a.example.org/md.xml\n"
	    "anchor = anchors/a.pem\n"
	    "\n"
	    "# partner B\n"
	    "# approved by ops\n"
	    "[source b]\n"
	    "type = saml\n"
	    "\turl = https://b.example.org/md.xml\n"
	    "anchor = anchors/b.pem\n"
	    "revoke-entity = https://x.example.org 2026-11-23T22:10:00Z compromised\n"
	    "revoke-entity = https://y.example.org 2026-11-24T08:00:00Z left the federation\n"
	    "\n"
	    "# end of the list\n");
	ini_text_free(t);

	/* CRLF, the last occurrence of a section given twice, no keys in it */
	t = parse("[s]\r\na = 1\r\n[t]\r\n[s]\r\n; c\r\n");
	assert_int_equal(ini_append_key(t, "s", "b", "2"), 0);
	assert_text(t, "[s]\r\na = 1\r\n[t]\r\n[s]\r\nb = 2\r\n; c\r\n");
	ini_text_free(t);
}

/* The edits give text config.c reads as meant. */
static void
test_config_reads_edits(void **state)
{
	static const char *const kv[] = { "type", "saml", "url", "file:///dev/null",
	    "anchor", "/nonexistent/c.pem", "owner", "ops@example.org",
	    "approved-until", "2027-06-30", "note", "ticket 42, signed", NULL };
	char		*dir = tu_tmpdir("test_conf_edit"), *main_conf, *list, *txt, err[512];
	struct ini_text	*t;
	struct config	*c;
	const struct list_conf *l;
	const struct source_conf *s;
	size_t		 len;
	FILE		*f;

	(void)state;
	assert_int_equal(tu_sh("mkdir -p '%s/trustlists'", dir), 0);
	xasprintf(&main_conf, "%s/fedtrust.conf", dir);
	xasprintf(&list, "%s/trustlists/research.conf", dir);
	f = fopen(main_conf, "w");
	assert_non_null(f);
	fprintf(f, "[fedtrust]\nissuer = https://trust.example.org\nstate-dir = %s/state\n", dir);
	fclose(f);

	t = parse(LIST);
	ini_add_section(t, "source c", kv);
	assert_int_equal(ini_append_key(t, "source c", "revoke-entity",
	    "https://x.example.org 2026-11-23T22:10:00Z key compromised"), 0);
	assert_int_equal(ini_append_key(t, "source a", "revoked",
	    "2026-11-24T08:00:00Z contract ended"), 0);
	assert_int_equal(ini_set_key(t, "trustlist", "max-drop", "100%"), 0);
	assert_int_equal(ini_remove_section(t, "source b"), 0);
	txt = ini_render(t, &len);
	assert_int_equal(write_file_atomic(list, txt, len, 0644), 0);
	free(txt);
	ini_text_free(t);

	c = config_load(main_conf, err, sizeof(err));
	if (c == NULL)
		fail_msg("config_load: %s", err);
	assert_non_null(l = config_find_list(c, "research"));
	assert_true(l->max_drop > 0.99);
	assert_int_equal(l->sourcesz, 2);
	s = &l->sources[0];
	assert_string_equal(s->name, "a");
	assert_int_equal(s->revsz, 1);
	assert_null(s->revs[0].id);
	assert_string_equal(s->revs[0].reason, "contract ended");
	s = &l->sources[1];
	assert_string_equal(s->name, "c");
	assert_string_equal(s->owner, "ops@example.org");
	assert_string_equal(s->note, "ticket 42, signed");
	assert_int_equal(s->anchorsz, 1);
	assert_string_equal(s->anchors[0], "/nonexistent/c.pem");
	assert_int_equal(s->revsz, 1);
	assert_string_equal(s->revs[0].id, "https://x.example.org");
	assert_string_equal(s->revs[0].reason, "key compromised");
	config_free(c);

	tu_sh("rm -rf '%s'", dir);
	free(main_conf);
	free(list);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_has_section),
		cmocka_unit_test(test_add_section),
		cmocka_unit_test(test_remove_section),
		cmocka_unit_test(test_add_remove_identity),
		cmocka_unit_test(test_set_key),
		cmocka_unit_test(test_append_key),
		cmocka_unit_test(test_config_reads_edits),
	};

	log_init(1, 0, "test_conf_edit");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
