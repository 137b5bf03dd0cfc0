/*
 * Line-based edits of an INI trust-list file for `fedtrust source add |
 * remove | revoke`.  The file is kept as its lines, each with its own line
 * ending, so that everything an edit does not touch comes back byte for
 * byte: comments, blank lines, odd spacing, CRLF endings, the order of
 * sections and keys.  Lines are classified the way inih reads them: an
 * indented line after a key is a continuation of that key's value.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum ini_kind {
	LINE_BLANK,		/* only whitespace */
	LINE_COMMENT,		/* ; or # first */
	LINE_HEADER,		/* [section] */
	LINE_KEY,		/* key = value (or key: value) */
	LINE_CONT,		/* indented continuation of the key above */
	LINE_OTHER		/* anything inih would reject */
};

struct ini_line {
	char		*text;		/* the line without its ending */
	char		*eol;		/* "\n", "\r\n" or "" (last line without one) */
	enum ini_kind	 kind;
	char		*name;		/* LINE_HEADER: normalised section; LINE_KEY: key */
};

struct ini_text {
	struct ini_line	*l;
	size_t		 n;
	const char	*eol;		/* line ending for new lines: the file's first one */
};

/* A copy of s[0..len) without leading and trailing whitespace. Caller frees. */
static char *
trimmed(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/*
 * A section name as config.c reads it, whitespace-tolerant: trimmed, and
 * the run of blanks after the first word ("source   a") folded to one
 * space.  Caller frees.
 */
static char *
section_norm(const char *s, size_t len)
{
	char	*t = trimmed(s, len), *sp, *rest;

	if ((sp = strpbrk(t, " \t")) != NULL) {
		rest = sp;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		*sp++ = ' ';
		memmove(sp, rest, strlen(rest) + 1);
	}
	return t;
}

/* Classify line ln; key_above says whether a key line precedes it in its section. */
static void
classify(struct ini_line *ln, int key_above)
{
	const char	*s = ln->text, *end, *eq;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		ln->kind = LINE_BLANK;
	else if (*s == ';' || *s == '#')
		ln->kind = LINE_COMMENT;
	else if (s > ln->text && key_above)
		ln->kind = LINE_CONT;
	else if (*s == '[' && (end = strchr(s, ']')) != NULL) {
		ln->kind = LINE_HEADER;
		ln->name = section_norm(s + 1, (size_t)(end - s - 1));
	} else if ((eq = strpbrk(s, "=:")) != NULL && eq > s) {
		ln->kind = LINE_KEY;
		ln->name = trimmed(s, (size_t)(eq - s));
	} else
		ln->kind = LINE_OTHER;
}

/* Classify every line again (after an edit moved or added some). */
static void
classify_all(struct ini_text *t)
{
	size_t	 i;
	int	 key_above = 0;

	for (i = 0; i < t->n; i++) {
		free(t->l[i].name);
		t->l[i].name = NULL;
		classify(&t->l[i], key_above);
		if (t->l[i].kind == LINE_HEADER)
			key_above = 0;
		else if (t->l[i].kind == LINE_KEY)
			key_above = 1;
	}
}

/*
 * Split buf into lines, each keeping its own ending.  Never fails: any
 * bytes are text (NUL bytes end a line's text as inih would see it).
 * Caller frees with ini_text_free.
 */
struct ini_text *
ini_parse_text(const char *buf, size_t len)
{
	struct ini_text	*t = xcalloc(1, sizeof(*t));
	size_t		 off = 0, nl, tl;

	t->eol = "\n";
	while (off < len) {
		const char	*p = memchr(buf + off, '\n', len - off);
		struct ini_line	*ln;

		nl = p != NULL ? (size_t)(p - buf) : len;
		tl = nl - off;
		t->l = xreallocarray(t->l, t->n + 1, sizeof(*t->l));
		ln = &t->l[t->n++];
		memset(ln, 0, sizeof(*ln));
		if (p != NULL && tl > 0 && buf[nl - 1] == '\r') {
			tl--;
			ln->eol = xstrdup("\r\n");
		} else
			ln->eol = xstrdup(p != NULL ? "\n" : "");
		ln->text = xstrndup(buf + off, tl);
		if (t->n == 1 && strcmp(ln->eol, "\r\n") == 0)
			t->eol = "\r\n";
		off = p != NULL ? nl + 1 : len;
	}
	classify_all(t);
	return t;
}

void
ini_text_free(struct ini_text *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->l[i].text);
		free(t->l[i].eol);
		free(t->l[i].name);
	}
	free(t->l);
	free(t);
}

/* Index of the first header of section at or after from, or t->n. */
static size_t
find_section(const struct ini_text *t, const char *section, size_t from)
{
	char	*want = section_norm(section, strlen(section));
	size_t	 i;

	for (i = from; i < t->n; i++)
		if (t->l[i].kind == LINE_HEADER && strcmp(t->l[i].name, want) == 0)
			break;
	free(want);
	return i;
}

/* Index of the next header after h, or t->n: the end of h's section. */
static size_t
section_end(const struct ini_text *t, size_t h)
{
	size_t	 i;

	for (i = h + 1; i < t->n; i++)
		if (t->l[i].kind == LINE_HEADER)
			break;
	return i;
}

int
ini_has_section(const struct ini_text *t, const char *section)
{
	return find_section(t, section, 0) < t->n;
}

/* Insert a new line of text at index at (the file's line ending). */
static void
insert_line(struct ini_text *t, size_t at, const char *text)
{
	struct ini_line	*ln;

	t->l = xreallocarray(t->l, t->n + 1, sizeof(*t->l));
	memmove(&t->l[at + 1], &t->l[at], (t->n - at) * sizeof(*t->l));
	t->n++;
	ln = &t->l[at];
	memset(ln, 0, sizeof(*ln));
	ln->text = xstrdup(text);
	if (at + 1 == t->n && at > 0 && t->l[at - 1].eol[0] == '\0') {
		/* after a last line without an ending: it gets one, the new line keeps none */
		free(t->l[at - 1].eol);
		t->l[at - 1].eol = xstrdup(t->eol);
		ln->eol = xstrdup("");
	} else
		ln->eol = xstrdup(t->eol);
}

/* Remove lines [from, to). */
static void
delete_lines(struct ini_text *t, size_t from, size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++) {
		free(t->l[i].text);
		free(t->l[i].eol);
		free(t->l[i].name);
	}
	memmove(&t->l[from], &t->l[to], (t->n - to) * sizeof(*t->l));
	t->n -= to - from;
}

/* "key = value" with key padded to width. Caller frees. */
static char *
key_line(const char *key, const char *value, size_t width)
{
	char	*s;
	int	 w = width > strlen(key) ? (int)width : (int)strlen(key);

	xasprintf(&s, "%-*s = %s", w, key, value);
	return s;
}

void
ini_add_section(struct ini_text *t, const char *section, const char *const *kv)
{
	char	*s;
	size_t	 i, width = 0;

	for (i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		if (strlen(kv[i]) > width)
			width = strlen(kv[i]);
	/* a blank line between the last section and the new one */
	if (t->n > 0 && t->l[t->n - 1].kind != LINE_BLANK)
		insert_line(t, t->n, "");
	xasprintf(&s, "[%s]", section);
	insert_line(t, t->n, s);
	free(s);
	for (i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
		s = key_line(kv[i], kv[i + 1], width);
		insert_line(t, t->n, s);
		free(s);
	}
	classify_all(t);
}

/*
 * Remove one occurrence of the section starting at header h.  The run of
 * comments and blank lines at its end stays when it is followed by another
 * section (they describe what follows); blank lines are folded so that no
 * double blank line and no trailing blank line is left behind.
 */
static void
remove_one(struct ini_text *t, size_t h)
{
	size_t	 n = section_end(t, h), k = n, from = h;
	int	 no_final_eol, blank_before = h == 0 || t->l[h - 1].kind == LINE_BLANK;

	while (k > h + 1 && (t->l[k - 1].kind == LINE_BLANK || t->l[k - 1].kind == LINE_COMMENT))
		k--;
	/* the kept run: only comments directly before the next header, or before the end */
	if (blank_before)
		while (k < n && t->l[k].kind == LINE_BLANK)
			k++;
	if (k == t->n)
		/* the last section: the blank lines that separated it go with it */
		while (from > 0 && t->l[from - 1].kind == LINE_BLANK)
			from--;
	no_final_eol = k == t->n && t->l[t->n - 1].eol[0] == '\0';
	delete_lines(t, from, k);
	/* a file that ended without a line ending still does */
	if (no_final_eol && t->n > 0) {
		free(t->l[t->n - 1].eol);
		t->l[t->n - 1].eol = xstrdup("");
	}
}

int
ini_remove_section(struct ini_text *t, const char *section)
{
	size_t	 h;
	int	 rc = -1;

	while ((h = find_section(t, section, 0)) < t->n) {
		remove_one(t, h);
		classify_all(t);
		rc = 0;
	}
	return rc;
}

/* Index after the last key (or continuation) line of the section at h. */
static size_t
after_last_key(const struct ini_text *t, size_t h)
{
	size_t	 i, end = section_end(t, h), at = h + 1;

	for (i = h + 1; i < end; i++)
		if (t->l[i].kind == LINE_KEY || t->l[i].kind == LINE_CONT)
			at = i + 1;
	return at;
}

/* Width the key of the line at i is padded to ("type   = saml": 6), or 0. */
static size_t
key_width(const struct ini_text *t, size_t i)
{
	const char	*s = t->l[i].text, *eq;

	if (t->l[i].kind != LINE_KEY || (eq = strpbrk(s, "=:")) == NULL || *eq != '=' ||
	    strchr(s, '\t') != NULL)
		return 0;
	while (eq > s && eq[-1] == ' ')
		eq--;
	return (size_t)(eq - s);
}

/* Add "key = value" after the last key of the (last) section. 0 / -1 no section. */
static int
append_key(struct ini_text *t, const char *section, const char *key, const char *value)
{
	size_t	 h, next, at;
	char	*s;

	if ((h = find_section(t, section, 0)) == t->n)
		return -1;
	while ((next = find_section(t, section, h + 1)) < t->n)
		h = next;
	at = after_last_key(t, h);
	s = key_line(key, value, at > h + 1 ? key_width(t, at - 1) : 0);
	insert_line(t, at, s);
	free(s);
	classify_all(t);
	return 0;
}

int
ini_set_key(struct ini_text *t, const char *section, const char *key, const char *value)
{
	size_t	 h, i, end;
	char	*s, *eq;

	for (h = find_section(t, section, 0); h < t->n; h = find_section(t, section, h + 1)) {
		end = section_end(t, h);
		for (i = h + 1; i < end; i++) {
			if (t->l[i].kind != LINE_KEY || strcmp(t->l[i].name, key) != 0)
				continue;
			/* keep the key and its spacing up to the value */
			eq = strpbrk(t->l[i].text, "=:") + 1;
			while (*eq == ' ' || *eq == '\t')
				eq++;
			xasprintf(&s, "%.*s%s", (int)(eq - t->l[i].text), t->l[i].text, value);
			free(t->l[i].text);
			t->l[i].text = s;
			/* continuation lines belonged to the old value */
			end = i + 1;
			while (end < t->n && t->l[end].kind == LINE_CONT)
				end++;
			delete_lines(t, i + 1, end);
			classify_all(t);
			return 0;
		}
	}
	return append_key(t, section, key, value);
}

int
ini_append_key(struct ini_text *t, const char *section, const char *key, const char *value)
{
	return append_key(t, section, key, value);
}

char *
ini_render(const struct ini_text *t, size_t *len)
{
	size_t	 i, n = 0;
	char	*buf, *p;

	for (i = 0; i < t->n; i++)
		n += strlen(t->l[i].text) + strlen(t->l[i].eol);
	p = buf = xmalloc(n + 1);
	for (i = 0; i < t->n; i++) {
		p = stpcpy(p, t->l[i].text);
		p = stpcpy(p, t->l[i].eol);
	}
	*p = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}
