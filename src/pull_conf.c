/*
 * The consumer agent's configuration (fedtrust pull -c FILE): one [pull]
 * section, read with inih.  Unknown keys and bad values are errors naming
 * file and line; relative paths are relative to the file's directory.
 * docs/man/fedtrust-pull.5 is the reference.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "extern.h"

#define PULL_DEFAULT_BUNDLE	(64UL * 1024 * 1024)	/* max-bundle-size default (4.9 step 1) */
#define PULL_MAX_KEYS		16	/* pinned operator keys in one config */
#define PULL_MAX_HOOK_ARGS	32	/* words of reload-hook */

/* State threaded through inih's handler. */
struct pparse {
	struct pull_conf *c;
	char		*dir;		/* directory of the file */
	char		 err[512];	/* first error; inih gives the line */
	int		 seen;		/* [pull] seen */
};

/* Record the first error; returns 0 so that inih reports this line. */
static int
perr(struct pparse *p, const char *fmt, const char *a)
{
	if (p->err[0] == '\0')
		snprintf(p->err, sizeof(p->err), fmt, a);
	return 0;
}

static int
valid_list(const char *s)
{
	size_t	 i;

	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i >= 64 || (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-'))
			return 0;
	return 1;
}

/* "10%" -> 0.10, at most 50 %. 0 / -1. */
static int
parse_jitter(const char *s, double *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || strcmp(end, "%") != 0 || v < 0 || v > 50)
		return -1;
	*out = (double)v / 100.0;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* "pem, nginx-map" -> PULL_OUT_* bits. 0 / -1. */
static int
parse_outputs(const char *value, unsigned *out)
{
	char	*copy = xstrdup(value), *s = copy, *item, *end;
	int	 rc = 0;

	*out = 0;
	while (rc == 0 && (item = strsep(&s, ",")) != NULL) {
		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*item == '\0')
			continue;
		if (strcmp(item, "pem") == 0)
			*out |= PULL_OUT_PEM;
		else if (strcmp(item, "nginx-map") == 0)
			*out |= PULL_OUT_NGINX;
		else if (strcmp(item, "jwks") == 0)
			*out |= PULL_OUT_JWKS;
		else if (strcmp(item, "spiffe") == 0)
			*out |= PULL_OUT_SPIFFE;
		else if (strcmp(item, "none") == 0)
			;
		else
			rc = -1;
	}
	free(copy);
	return rc;
}

/*
 * Split a hook command into words: blanks separate, '...' and "..." group
 * (no escapes, no shell).  A relative program is taken from dir.  0 / -1.
 */
static int
parse_hook(const char *value, const char *dir, char ***argv, size_t *argc)
{
	const char	*s = value;
	char		*w, *o;
	char		 q;

	strv_free(*argv, *argc);
	*argv = NULL;
	*argc = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (*argc >= PULL_MAX_HOOK_ARGS)
			return -1;
		o = w = xmalloc(strlen(s) + 1);
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s == '\'' || *s == '"') {
				q = *s++;
				while (*s != '\0' && *s != q)
					*o++ = *s++;
				if (*s != q) {
					free(w);
					return -1;
				}
				s++;
			} else
				*o++ = *s++;
		}
		*o = '\0';
		strv_push(argv, argc, w);
		free(w);
	}
	if (*argc == 0)
		return 0;
	if ((*argv)[0][0] != '/') {
		w = path_join(dir, (*argv)[0]);
		free((*argv)[0]);
		(*argv)[0] = w;
	}
	/* NULL-terminate for execv; the terminator is not counted. */
	*argv = xreallocarray(*argv, *argc + 1, sizeof(char *));
	(*argv)[*argc] = NULL;
	return 0;
}

static void
set_path(struct pparse *p, char **dst, const char *v)
{
	free(*dst);
	*dst = path_join(p->dir, v);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct pparse	*p = user;
	struct pull_conf *c = p->c;
	size_t		 sz;

	if (strcmp(section, "pull") != 0)
		return perr(p, "unknown section [%s] (expected [pull])", section);
	p->seen = 1;
	if (name == NULL)
		return 1;
	if (strcmp(name, "url") == 0) {
		if ((strncmp(value, "https://", 8) != 0 && strncmp(value, "file:///", 8) != 0) ||
		    strpbrk(value, "?#") != NULL || strstr(value, "/../") != NULL)
			return perr(p, "url must be an https:// or absolute file:/// URL without query, "
			    "fragment or \"..\", not \"%s\"", value);
		free(c->url);
		if (value[strlen(value) - 1] == '/')
			c->url = xstrdup(value);
		else
			xasprintf(&c->url, "%s/", value);
	} else if (strcmp(name, "issuer") == 0) {
		if (*value == '\0')
			return perr(p, "issuer must not be empty%s", "");
		free(c->issuer);
		c->issuer = xstrdup(value);
	} else if (strcmp(name, "list") == 0) {
		if (!valid_list(value))
			return perr(p, "list \"%s\" must match [a-z0-9][a-z0-9-]{0,63}", value);
		free(c->list);
		c->list = xstrdup(value);
	} else if (strcmp(name, "key") == 0) {
		char	*k;

		if (*value == '\0' || c->keysz >= PULL_MAX_KEYS)
			return perr(p, "key: empty or more than 16 keys%s", "");
		k = path_join(p->dir, value);
		strv_push(&c->keys, &c->keysz, k);
		free(k);
	} else if (strcmp(name, "state-dir") == 0)
		set_path(p, &c->state_dir, value);
	else if (strcmp(name, "output-dir") == 0)
		set_path(p, &c->output_dir, value);
	else if (strcmp(name, "ca-file") == 0)
		set_path(p, &c->ca_file, value);
	else if (strcmp(name, "interval") == 0) {
		if (parse_duration(value, &c->interval) == -1 || c->interval < 1 ||
		    c->interval > 86400)
			return perr(p, "interval: expected a duration from 1s to 24h, not \"%s\"",
			    value);
	} else if (strcmp(name, "jitter") == 0) {
		if (parse_jitter(value, &c->jitter) == -1)
			return perr(p, "jitter: expected a percentage from 0%% to 50%%, not \"%s\"",
			    value);
	} else if (strcmp(name, "require-head") == 0) {
		if (parse_bool(value, &c->require_head) == -1)
			return perr(p, "require-head: expected yes or no, not \"%s\"", value);
	} else if (strcmp(name, "grace") == 0) {
		if (parse_duration(value, &c->grace) == -1 || c->grace < 0 ||
		    c->grace > 7 * 86400)
			return perr(p, "grace: expected a duration up to 7d, not \"%s\"", value);
	} else if (strcmp(name, "outputs") == 0) {
		if (parse_outputs(value, &c->outputs) == -1)
			return perr(p, "outputs: expected pem, nginx-map, jwks, spiffe or none, "
			    "not \"%s\"", value);
	} else if (strcmp(name, "reload-hook") == 0) {
		if (parse_hook(value, p->dir, &c->hook, &c->hooksz) == -1)
			return perr(p, "reload-hook: unbalanced quote or too many words in \"%s\"",
			    value);
	} else if (strcmp(name, "max-bundle-size") == 0) {
		if (parse_size(value, &sz) == -1 || sz < 1024)
			return perr(p, "max-bundle-size: bad size \"%s\"", value);
		c->max_bundle = sz;
	} else if (strcmp(name, "fetch-timeout") == 0) {
		if (parse_duration(value, &c->fetch_timeout) == -1 || c->fetch_timeout < 1 ||
		    c->fetch_timeout > 3600)
			return perr(p, "fetch-timeout: expected a duration from 1s to 1h, not \"%s\"",
			    value);
	} else
		return perr(p, "unknown key \"%s\" in section [pull]", name);
	return 1;
}

/* Parse file into a new pull_conf (see extern.h). */
struct pull_conf *
pull_conf_load(const char *file, char *err, size_t errsz)
{
	struct pparse	 p;
	struct pull_conf *c;
	const char	*missing = NULL;
	int		 line;

	memset(&p, 0, sizeof(p));
	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	c->require_head = 1;
	c->jitter = 0.10;
	c->max_bundle = PULL_DEFAULT_BUNDLE;
	c->fetch_timeout = MAX_FETCH_TIMEOUT;
	c->outputs = PULL_OUT_PEM | PULL_OUT_NGINX | PULL_OUT_JWKS | PULL_OUT_SPIFFE;
	p.c = c;
	p.dir = path_dirname(file);
	line = ini_parse(file, handler, &p);
	if (line == -1) {
		snprintf(err, errsz, "%s: cannot open: %s", file, strerror(errno));
		goto fail;
	}
	if (line == -2) {
		snprintf(err, errsz, "%s: out of memory", file);
		goto fail;
	}
	if (line > 0) {
		snprintf(err, errsz, "%s:%d: %s", file, line,
		    p.err[0] ? p.err : "syntax error (or a line longer than inih's 200 bytes)");
		goto fail;
	}
	if (!p.seen)
		missing = "the [pull] section";
	else if (c->url == NULL)
		missing = "url";
	else if (c->issuer == NULL)
		missing = "issuer";
	else if (c->list == NULL)
		missing = "list";
	else if (c->keysz == 0)
		missing = "key (at least one pinned operator key)";
	else if (c->state_dir == NULL)
		missing = "state-dir";
	else if (c->output_dir == NULL && c->outputs != 0)
		missing = "output-dir";
	if (missing != NULL) {
		snprintf(err, errsz, "%s: missing %s", file, missing);
		goto fail;
	}
	free(p.dir);
	return c;
 fail:
	free(p.dir);
	pull_conf_free(c);
	return NULL;
}

void
pull_conf_free(struct pull_conf *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->url);
	free(c->issuer);
	free(c->list);
	strv_free(c->keys, c->keysz);
	free(c->state_dir);
	free(c->output_dir);
	free(c->ca_file);
	strv_free(c->hook, c->hooksz);
	free(c);
}
