/*
 * Exclusive XML canonicalization (W3C xml-exc-c14n, on top of Canonical
 * XML 1.0) written from parse events instead of a tree: the caller reports
 * element starts and ends, text, comments and PIs in document order and
 * gets the canonical bytes through a sink, 64 KB at a time.  Used by the
 * streaming SAML verifier (saml_stream.c) to digest a document without
 * building it; libxml2's xmlC14NExecute is the oracle in the unit tests.
 *
 * What the caller must give: attribute values and text as the XML
 * processor reports them (references resolved, attribute values
 * normalised, line ends already LF), UTF-8.  Only element content is
 * canonicalised: nothing outside the document element is ever written.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define C14N_BUFSZ	(64 * 1024)

/* One namespace binding with the element depth that made it. */
struct c14n_bind {
	char	*prefix;	/* "" for the default namespace */
	char	*uri;		/* "" for xmlns="" */
	size_t	 depth;
};

/* A growable stack of bindings. */
struct c14n_stack {
	struct c14n_bind	*v;
	size_t			 sz, cap;
};

struct c14n {
	c14n_sink		 sink;
	void			*arg;
	int			 comments;
	char			**incl;		/* InclusiveNamespaces prefixes ("" = #default) */
	size_t			 inclsz;
	struct c14n_stack	 scope;		/* declared bindings in scope */
	struct c14n_stack	 rendered;	/* bindings written by output ancestors */
	size_t			 depth;
	char			*names;		/* open element QNames, NUL separated */
	size_t			 namesz, namecap;
	unsigned char		*buf;		/* output not yet given to the sink */
	size_t			 bufsz;
};

/* Hand the buffered output to the sink. */
void
c14n_flush(struct c14n *c)
{
	if (c->bufsz > 0)
		c->sink(c->arg, c->buf, c->bufsz);
	c->bufsz = 0;
}

/* Append len bytes to the output. */
static void
put(struct c14n *c, const char *s, size_t len)
{
	size_t	 n;

	while (len > 0) {
		if (c->bufsz == C14N_BUFSZ)
			c14n_flush(c);
		n = C14N_BUFSZ - c->bufsz;
		if (n > len)
			n = len;
		memcpy(c->buf + c->bufsz, s, n);
		c->bufsz += n;
		s += n;
		len -= n;
	}
}

/* Append a NUL-terminated string. */
static void
puts_(struct c14n *c, const char *s)
{
	put(c, s, strlen(s));
}

/* Bytes to escape: bit 0 in text, bit 1 in attribute values (C14N 1.0 section 2.3). */
static const unsigned char esc[256] = {
	['&'] = 3, ['<'] = 3, ['>'] = 1, ['"'] = 2, ['\t'] = 2, ['\n'] = 2, ['\r'] = 3,
};

/* Append s escaped for text (attr 0) or for an attribute value (attr 1). */
static void
put_escaped(struct c14n *c, const char *s, size_t len, int attr)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned char		 bit = attr ? 2 : 1;
	size_t			 i, start = 0;
	const char		*rep;

	for (i = 0; i < len; i++) {
		if ((esc[u[i]] & bit) == 0)
			continue;
		switch (u[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\t':
			rep = "&#x9;";
			break;
		case '\n':
			rep = "&#xA;";
			break;
		default:
			rep = "&#xD;";
			break;
		}
		put(c, s + start, i - start);
		puts_(c, rep);
		start = i + 1;
	}
	put(c, s + start, len - start);
}

/* Push a copy of the binding prefix -> uri made at depth. */
static void
stack_push(struct c14n_stack *s, const char *prefix, const char *uri, size_t depth)
{
	if (s->sz == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->sz].prefix = xstrdup(prefix);
	s->v[s->sz].uri = xstrdup(uri);
	s->v[s->sz].depth = depth;
	s->sz++;
}

/* Drop the bindings made at depth or deeper. */
static void
stack_pop(struct c14n_stack *s, size_t depth)
{
	while (s->sz > 0 && s->v[s->sz - 1].depth >= depth) {
		s->sz--;
		free(s->v[s->sz].prefix);
		free(s->v[s->sz].uri);
	}
}

/* URI bound to prefix ("" = default) in s (borrowed), or NULL. */
static const char *
stack_find(const struct c14n_stack *s, const char *prefix)
{
	size_t	 i;

	for (i = s->sz; i > 0; i--)
		if (strcmp(s->v[i - 1].prefix, prefix) == 0)
			return s->v[i - 1].uri;
	return NULL;
}

/*
 * New canonicaliser.  comments: 1 for the WithComments variant.
 * prefixlist: the InclusiveNamespaces PrefixList (whitespace separated,
 * "#default" for the default namespace) or NULL.  Output goes to
 * sink(arg, bytes, len).  Free with c14n_free.
 */
struct c14n *
c14n_new(int comments, const char *prefixlist, c14n_sink sink, void *arg)
{
	struct c14n	*c = xcalloc(1, sizeof(*c));
	const char	*p = prefixlist, *e;
	char		*tok;

	c->sink = sink;
	c->arg = arg;
	c->comments = comments;
	c->buf = xmalloc(C14N_BUFSZ);
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n'; e++)
			;
		if (e == p)
			break;
		tok = xstrndup(p, (size_t)(e - p));
		if (strcmp(tok, "#default") == 0)
			tok[0] = '\0';
		c->incl = xreallocarray(c->incl, c->inclsz + 1, sizeof(*c->incl));
		c->incl[c->inclsz++] = tok;
		p = e;
	}
	return c;
}

/* Free a canonicaliser (NULL-safe); unflushed output is dropped. */
void
c14n_free(struct c14n *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	stack_pop(&c->scope, 0);
	stack_pop(&c->rendered, 0);
	free(c->scope.v);
	free(c->rendered.v);
	for (i = 0; i < c->inclsz; i++)
		free(c->incl[i]);
	free(c->incl);
	free(c->names);
	free(c->buf);
	free(c);
}

/* Namespace declarations sort by prefix (the default, "", first). */
static int
bind_cmp(const void *a, const void *b)
{
	return strcmp(((const struct c14n_bind *)a)->prefix, ((const struct c14n_bind *)b)->prefix);
}

/* Attributes sort by namespace URI (none first), then local name. */
static int
attr_cmp(const void *a, const void *b)
{
	const struct c14n_attr	*x = *(const struct c14n_attr *const *)a;
	const struct c14n_attr	*y = *(const struct c14n_attr *const *)b;
	int			 r;

	r = strcmp(x->uri != NULL ? x->uri : "", y->uri != NULL ? y->uri : "");
	return r != 0 ? r : strcmp(x->local, y->local);
}

/*
 * Decide whether the binding of prefix ("" = default) must be written on
 * the current element, and add it to out (size *n) if so.
 */
static void
consider(struct c14n *c, const char *prefix, struct c14n_bind *out, size_t *n)
{
	const char	*uri = stack_find(&c->scope, prefix);
	const char	*done = stack_find(&c->rendered, prefix);
	size_t		 i;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i].prefix, prefix) == 0)
			return;
	if (uri == NULL)
		uri = "";
	if (done == NULL)
		done = "";
	/* an unbound prefix other than the default cannot be used (the parser checked) */
	if (prefix[0] != '\0' && uri[0] == '\0')
		return;
	/* xmlns="" only to undo a default written by an output ancestor */
	if (strcmp(uri, done) == 0)
		return;
	out[*n].prefix = (char *)prefix;
	out[*n].uri = (char *)uri;
	(*n)++;
}

/*
 * Start of an element: prefix (NULL = none) and local name, the namespace
 * declarations it carries (prefix NULL = default, uri "" = xmlns="") and
 * its attributes.  Nothing is kept from the arguments.
 */
void
c14n_start(struct c14n *c, const char *prefix, const char *local, const struct c14n_ns *ns,
    size_t nsn, const struct c14n_attr *attrs, size_t an)
{
	struct c14n_bind	 outbuf[16], *out = outbuf;
	const struct c14n_attr	*sortbuf[16], **sorted = sortbuf;
	size_t			 i, n = 0, qlen;

	c->depth++;
	for (i = 0; i < nsn; i++) {
		const char	*p = ns[i].prefix != NULL ? ns[i].prefix : "";

		/* the xml prefix is bound by definition and never declared in output */
		if (strcmp(p, "xml") == 0)
			continue;
		stack_push(&c->scope, p, ns[i].uri != NULL ? ns[i].uri : "", c->depth);
	}
	if (an + 1 + c->inclsz > 16)
		out = xcalloc(an + 1 + c->inclsz, sizeof(*out));
	/* visibly utilised: the element's prefix (or the default) and attribute prefixes */
	consider(c, prefix != NULL ? prefix : "", out, &n);
	for (i = 0; i < an; i++)
		if (attrs[i].prefix != NULL && strcmp(attrs[i].prefix, "xml") != 0)
			consider(c, attrs[i].prefix, out, &n);
	/* InclusiveNamespaces: rendered as inclusive C14N would, used or not */
	for (i = 0; i < c->inclsz; i++)
		if (strcmp(c->incl[i], "xml") != 0)
			consider(c, c->incl[i], out, &n);
	if (n > 1)
		qsort(out, n, sizeof(*out), bind_cmp);

	put(c, "<", 1);
	if (prefix != NULL) {
		puts_(c, prefix);
		put(c, ":", 1);
	}
	puts_(c, local);
	for (i = 0; i < n; i++) {
		if (out[i].prefix[0] == '\0')
			puts_(c, " xmlns=\"");
		else {
			puts_(c, " xmlns:");
			puts_(c, out[i].prefix);
			puts_(c, "=\"");
		}
		put_escaped(c, out[i].uri, strlen(out[i].uri), 1);
		put(c, "\"", 1);
	}
	for (i = 0; i < n; i++)
		stack_push(&c->rendered, out[i].prefix, out[i].uri, c->depth);
	if (out != outbuf)
		free(out);

	if (an > 16)
		sorted = xcalloc(an, sizeof(*sorted));
	for (i = 0; i < an; i++)
		sorted[i] = &attrs[i];
	if (an > 1)
		qsort(sorted, an, sizeof(*sorted), attr_cmp);
	for (i = 0; i < an; i++) {
		put(c, " ", 1);
		if (sorted[i]->prefix != NULL) {
			puts_(c, sorted[i]->prefix);
			put(c, ":", 1);
		}
		puts_(c, sorted[i]->local);
		put(c, "=\"", 2);
		put_escaped(c, sorted[i]->value, sorted[i]->valuesz, 1);
		put(c, "\"", 1);
	}
	if (sorted != sortbuf)
		free(sorted);
	put(c, ">", 1);

	/* remember "prefix:local" for the end tag */
	qlen = (prefix != NULL ? strlen(prefix) + 1 : 0) + strlen(local) + 1;
	if (c->namesz + qlen > c->namecap) {
		c->namecap = (c->namesz + qlen) * 2;
		c->names = xreallocarray(c->names, c->namecap, 1);
	}
	if (prefix != NULL) {
		memcpy(c->names + c->namesz, prefix, strlen(prefix));
		c->namesz += strlen(prefix);
		c->names[c->namesz++] = ':';
	}
	memcpy(c->names + c->namesz, local, strlen(local) + 1);
	c->namesz += strlen(local) + 1;
}

/* End of the innermost open element. */
void
c14n_end(struct c14n *c)
{
	size_t	 start;

	if (c->depth == 0)
		return;
	/* the innermost name is the last NUL-terminated string in names */
	start = c->namesz - 1;
	while (start > 0 && c->names[start - 1] != '\0')
		start--;
	put(c, "</", 2);
	put(c, c->names + start, c->namesz - 1 - start);
	put(c, ">", 1);
	c->namesz = start;
	stack_pop(&c->scope, c->depth);
	stack_pop(&c->rendered, c->depth);
	c->depth--;
}

/* Character data (text or CDATA, both written as escaped text). */
void
c14n_text(struct c14n *c, const char *s, size_t len)
{
	if (c->depth > 0)
		put_escaped(c, s, len, 0);
}

/* A comment: written only by the WithComments variant. */
void
c14n_comment(struct c14n *c, const char *s)
{
	if (!c->comments || c->depth == 0)
		return;
	puts_(c, "<!--");
	puts_(c, s);
	puts_(c, "-->");
}

/* A processing instruction inside the document element. */
void
c14n_pi(struct c14n *c, const char *target, const char *data)
{
	if (c->depth == 0)
		return;
	puts_(c, "<?");
	puts_(c, target);
	if (data != NULL && data[0] != '\0') {
		put(c, " ", 1);
		puts_(c, data);
	}
	puts_(c, "?>");
}
