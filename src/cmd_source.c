/*
 * fedtrust source add | test | list | show | remove | revoke: admin changes
 * to the trust lists without hand-editing INI files (config-and-cli.md).
 *
 * An edit is made on the trust-list file's lines (conf_edit.c, comments and
 * order kept), validated by loading the whole configuration with the
 * edited file in place of the original (in a private temporary copy of the
 * trust-list folder), written atomically over the original with its mode,
 * and announced to fedtrustd with "reload" on its control socket.  test
 * fetches and verifies one source as the daemon would and writes nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"

/* Options given on the command line (bits of sopts.given). */
#define O_LIST		0x0001
#define O_NAME		0x0002
#define O_TYPE		0x0004
#define O_URL		0x0008
#define O_ANCHOR	0x0010
#define O_OWNER		0x0020
#define O_APPROVED	0x0040
#define O_ROLES		0x0080
#define O_SCOPES	0x0100
#define O_MAXVAL	0x0200
#define O_NOTE		0x0400
#define O_ENTITY	0x0800
#define O_REASON	0x1000
#define O_AT		0x2000
#define O_JSON		0x4000
#define O_NEW		(O_TYPE | O_URL | O_ANCHOR | O_OWNER | O_APPROVED | O_ROLES | O_SCOPES | \
			    O_MAXVAL | O_NOTE)

#define UNSAVED_NAME	"unsaved"	/* source name of `source test --type/--url/--anchor` */

struct sopts {
	const char	*cmd;		/* the sub-command */
	const char	*file;		/* -c */
	const char	*list, *name, *type, *url, *owner, *approved, *roles, *scopes;
	const char	*maxval, *note, *entity, *reason;
	char		**anchors;
	size_t		 anchorsz;
	time_t		 now;
	unsigned	 given;		/* O_* */
	int		 verbose;
};

/* "fedtrust source CMD: message" on stderr; returns EXIT_USAGE. */
static int
fail(const struct sopts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(const struct sopts *o, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "fedtrust source %s: ", o->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* "idp, sp" from ROLE_* bits into buf. */
static const char *
roles_text(unsigned roles, const char *sep, char *buf, size_t bufsz)
{
	if ((roles & ROLE_ALL) == ROLE_ALL) {
		snprintf(buf, bufsz, "all");
		return buf;
	}
	return roles_join(roles, sep, buf, bufsz);
}

/* A duration in the largest unit that divides it ("28d", "90s"). */
static const char *
duration_text(long d, char *buf, size_t bufsz)
{
	if (d != 0 && d % 86400 == 0)
		snprintf(buf, bufsz, "%ldd", d / 86400);
	else if (d != 0 && d % 3600 == 0)
		snprintf(buf, bufsz, "%ldh", d / 3600);
	else if (d != 0 && d % 60 == 0)
		snprintf(buf, bufsz, "%ldm", d / 60);
	else
		snprintf(buf, bufsz, "%lds", d);
	return buf;
}

/*
 * Text written into the INI file: not empty, no control characters, no ';'
 * or '#' (inih would read a comment), no leading or trailing blank (inih
 * strips them), no blank at all when spaces is 0, at most max bytes.
 * NULL when fine, else why.
 */
static const char *
text_problem(const char *s, int spaces, size_t max)
{
	size_t	 i, n = strlen(s);

	if (n == 0)
		return "is empty";
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return "contains a control character or a line break";
		if (c == ';' || c == '#')
			return "contains ';' or '#', which the trust-list file would read as a comment";
		if (c == ' ' && !spaces)
			return "contains a space";
	}
	if (s[0] == ' ' || s[n - 1] == ' ')
		return "starts or ends with a space";
	if (n > max)
		return "is too long for one line of the trust-list file";
	return NULL;
}

/* Check one option's text; prints the usage error. 0 / -1. */
static int
check_text(const struct sopts *o, const char *flag, const char *s, int spaces, size_t max)
{
	const char	*why;
	char		 buf[128];

	if ((why = text_problem(s, spaces, max)) == NULL)
		return 0;
	fail(o, "%s \"%s\" %s", flag, log_sanitize(s, strlen(s), buf, sizeof(buf)), why);
	return -1;
}

/* A path as the trust list must hold it: absolute (relative ones are taken from the cwd). */
static char *
absolute_path(const char *p)
{
	char	 cwd[PATH_MAX], *s;

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(p);
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	s = path_join(cwd, p);
	return s;
}

/* The index of source name in l, or -1. */
static long
find_source(const struct list_conf *l, const char *name)
{
	size_t	 i;

	for (i = 0; i < l->sourcesz; i++)
		if (strcmp(l->sources[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Load the configuration, and the list o->list when given. NULL on error (printed). */
static struct config *
load(const struct sopts *o, const struct list_conf **l)
{
	struct config	*conf;
	char		 err[1024];

	if ((conf = config_load(o->file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	if (l != NULL && o->list != NULL && (*l = config_find_list(conf, o->list)) == NULL) {
		fail(o, "no trust list named \"%s\" in %s", o->list, conf->trustlists_dir);
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* ------------------------------------------------------------ validating an edit */

/* Write len bytes to a new file path (mode 0600). 0 / -1. */
static int
write_plain(const char *path, const void *data, size_t len)
{
	FILE	*f = fopen(path, "wx");
	int	 rc = 0;

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Replace every occurrence of from in s (bufsz bytes) by to. */
static void
replace_all(char *s, size_t bufsz, const char *from, const char *to)
{
	char	*p = s, *tail;
	size_t	 fl = strlen(from), tl = strlen(to);

	if (fl == 0)
		return;
	while ((p = strstr(p, from)) != NULL) {
		if (strlen(s) - fl + tl + 1 > bufsz)
			return;
		tail = xstrdup(p + fl);
		memcpy(p, to, tl);
		strcpy(p + tl, tail);
		free(tail);
		p += tl;
	}
}

/*
 * The configuration as it would be with text in place of l's file: the main
 * config and every trust list are copied into a private temporary folder
 * (the main config pointed at the copied trustlists with one more
 * "trustlists =" line) and loaded with config_load.  Nothing of the live
 * configuration is touched.  Returns the loaded copy (config_free), or NULL
 * with err naming the real file and line.
 */
static struct config *
config_with(const struct config *conf, const struct list_conf *l, const char *text, size_t len,
    char *err, size_t errsz)
{
	const char	*tmp = getenv("TMPDIR"), *base;
	char		*dir, *lists = NULL, *mainf = NULL, *p, *extra = NULL, *from;
	unsigned char	*buf = NULL;
	size_t		 bufsz, i;
	struct config	*nc = NULL;

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	xasprintf(&dir, "%s/fedtrust-source.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	lists = path_join(dir, "trustlists");
	mainf = path_join(dir, "fedtrust.conf");
	if (mkdir(lists, 0700) == -1)
		goto io;
	for (i = 0; i < conf->listsz; i++) {
		const struct list_conf	*li = &conf->lists[i];
		int			 rc;

		base = strrchr(li->file, '/') != NULL ? strrchr(li->file, '/') + 1 : li->file;
		p = path_join(lists, base);
		if (li == l)
			rc = write_plain(p, text, len);
		else if ((rc = read_file(li->file, MAX_CONF_FILE, &buf, &bufsz)) == 0)
			rc = write_plain(p, buf, bufsz);
		free(buf);
		buf = NULL;
		free(p);
		if (rc == -1)
			goto io;
	}
	if (read_file(conf->file, MAX_CONF_FILE, &buf, &bufsz) == -1)
		goto io;
	xasprintf(&extra, "%.*s\n[fedtrust]\ntrustlists = %s\n", (int)bufsz, (char *)buf, lists);
	if (write_plain(mainf, extra, strlen(extra)) == -1)
		goto io;
	if ((nc = config_load(mainf, err, errsz)) == NULL) {
		/* name the real files, not the copies */
		xasprintf(&from, "%s/", lists);
		xasprintf(&p, "%s/", conf->trustlists_dir);
		replace_all(err, errsz, from, p);
		free(from);
		free(p);
		replace_all(err, errsz, mainf, conf->file);
	}
	goto out;
io:
	snprintf(err, errsz, "checking the edit in %s: %s", dir, strerror(errno));
out:
	(void)rm_rf(dir);
	free(dir);
	free(buf);
	free(extra);
	free(lists);
	free(mainf);
	return nc;
}

/* Every line of text fits inih's line buffer. 0, or -1 (printed). */
static int
check_lines(const struct sopts *o, const char *text)
{
	const char	*s = text, *nl;
	size_t		 n;
	char		 buf[64];

	for (; *s != '\0'; s = nl + 1) {
		nl = strchr(s, '\n');
		n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > MAX_CONF_LINE) {
			fail(o, "the line \"%s\" would be %zu bytes, over the limit of %d: shorten it",
			    log_sanitize(s, n < 40 ? n : 40, buf, sizeof(buf)), n, MAX_CONF_LINE);
			return -1;
		}
		if (nl == NULL)
			break;
	}
	return 0;
}

/*
 * Hold an exclusive lock on the trust-list file for the whole edit (two
 * admins never lose each other's change): flock on the file, retried when
 * the name was renamed over while waiting.  The fd, or -1 (printed).
 */
static int
lock_file(const struct sopts *o, const char *path)
{
	struct stat	 a, b;
	int		 fd, tries;

	for (tries = 0; tries < 10; tries++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			break;
		if (flock(fd, LOCK_EX) == -1) {
			close(fd);
			break;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	fail(o, "%s: cannot lock: %s", path, strerror(errno));
	return -1;
}

/* Ask the running fedtrustd to reload. */
static void
ask_reload(const struct config *conf)
{
	char	 reply[MAX_CTL_LINE], *path = ctl_path(conf);

	if (ctl_request(path, "reload", reply, sizeof(reply)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			printf("fedtrustd is not running: the change applies when it starts\n");
		else
			fprintf(stderr, "fedtrust source: the change is saved but fedtrustd was not "
			    "told to reload (%s): run systemctl reload fedtrustd\n", reply);
	} else if (strncmp(reply, "ok", 2) == 0)
		printf("fedtrustd: reloading\n");
	else
		fprintf(stderr, "fedtrust source: the change is saved but fedtrustd answered "
		    "\"%s\" to reload\n", reply);
	free(path);
}

/*
 * Validate the edited text of l's file (the caller holds its lock), write it over
 * the original atomically with the original's mode and ask fedtrustd to
 * reload.  Returns the exit code.
 */
static int
commit(const struct sopts *o, const struct config *conf, const struct list_conf *l,
    struct ini_text *t, const char *done)
{
	struct config	*nc;
	struct stat	 st;
	char		 err[1024], *text;
	size_t		 len;
	int		 rc = EXIT_USAGE;

	text = ini_render(t, &len);
	if (check_lines(o, text) == -1)
		goto out;
	if ((nc = config_with(conf, l, text, len, err, sizeof(err))) == NULL) {
		fail(o, "the edited trust list does not load: %s", err);
		goto out;
	}
	config_free(nc);
	if (stat(l->file, &st) == -1 ||
	    write_file_atomic(l->file, text, len, (int)(st.st_mode & 07777)) == -1) {
		fprintf(stderr, "fedtrust source %s: %s: %s\n", o->cmd, l->file, strerror(errno));
		rc = EXIT_INTERNAL;
		goto out;
	}
	printf("%s\n", done);
	ask_reload(conf);
	rc = EXIT_OK;
out:
	free(text);
	return rc;
}

/* Lock, load and parse l's file: *fd, *conf, *l, *t set. Exit code (EXIT_OK to go on). */
static int
open_edit(const struct sopts *o, int *fd, struct config **conf, const struct list_conf **l,
    struct ini_text **t)
{
	unsigned char	*buf;
	size_t		 len;

	*fd = -1;
	*t = NULL;
	/* load once to find the file, lock it, load again under the lock */
	if ((*conf = load(o, l)) == NULL)
		return EXIT_USAGE;
	if ((*fd = lock_file(o, (*l)->file)) == -1)
		return EXIT_USAGE;
	config_free(*conf);
	if ((*conf = load(o, l)) == NULL)
		return EXIT_USAGE;
	if (read_file((*l)->file, MAX_CONF_FILE, &buf, &len) == -1)
		return fail(o, "%s: %s", (*l)->file, strerror(errno));
	*t = ini_parse_text((const char *)buf, len);
	free(buf);
	return EXIT_OK;
}

/* ------------------------------------------------------------ add */

/* Check the anchors of a new source by loading them as the daemon will. 0 / -1 (printed). */
static int
check_anchors(const struct sopts *o, enum source_type type, char **files, size_t n)
{
	struct anchor_set	 as;
	struct jwkset		 ks;
	struct source_conf	 sc;
	struct verdict		 v;
	size_t			 i;
	int			 rc = 0;

	memset(&v, 0, sizeof(v));
	for (i = 0; i < n && rc == 0; i++) {
		memset(&as, 0, sizeof(as));
		memset(&ks, 0, sizeof(ks));
		memset(&sc, 0, sizeof(sc));
		sc.name = (char *)o->name;
		sc.type = type;
		if (type == SRC_X509)
			rc = anchor_load_ca(&as, files[i], &v);
		else if (type == SRC_SAML) {
			sc.anchors = &files[i];
			sc.anchorsz = 1;
			rc = anchor_load_source(&as, &sc, &v);
		} else
			rc = jwkset_load_file(&ks, files[i], &v);
		if (rc == 0 && type != SRC_SAML && type != SRC_X509 && ks.n == 0)
			rc = verdict_set(&v, R_JWS_KEY, "no usable key");
		if (rc == -1)
			fail(o, "--anchor %s: %s: %s", files[i], reason_code(v.reason), v.detail);
		anchor_set_free(&as);
		jwkset_free(&ks);
	}
	return rc;
}

/* "saml" -> SRC_SAML. 0 / -1. */
static int
type_of(const char *s, enum source_type *t)
{
	static const enum source_type all[] = { SRC_SAML, SRC_OIDF, SRC_SIGNED_JWKS, SRC_X509 };
	size_t	 i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, source_type_name(all[i])) == 0) {
			*t = all[i];
			return 0;
		}
	return -1;
}

/*
 * Check the options of a new source and collect its "key = value" pairs
 * into kv (NULL-terminated; values owned by *own).  0 / -1 (printed).
 */
static int
new_source_kv(const struct sopts *o, const char ***kv, char ***own, size_t *ownsz)
{
	enum source_type type;
	size_t		 i, n = 0;
	unsigned	 roles;
	long		 d;
	time_t		 t;
	const size_t	 max = MAX_CONF_LINE - 20;	/* a key, " = " and the alignment */

	*kv = xcalloc(2 * (o->anchorsz + 16), sizeof(**kv));
	if (!config_name_ok(o->name, "-"))
		return fail(o, "--name \"%s\" must match [a-z0-9][a-z0-9-]{0,63}", o->name), -1;
	if (type_of(o->type, &type) == -1)
		return fail(o, "--type must be saml, oidf, signed-jwks or x509"), -1;
	if (strncmp(o->url, "https://", 8) != 0 && strncmp(o->url, "file://", 7) != 0)
		return fail(o, "--url must be https:// or file://"), -1;
	if (check_text(o, "--url", o->url, 0, max) == -1)
		return -1;
	if (o->owner != NULL && check_text(o, "--owner", o->owner, 1, max) == -1)
		return -1;
	if (o->note != NULL && check_text(o, "--note", o->note, 1, max) == -1)
		return -1;
	if (o->scopes != NULL && check_text(o, "--scopes", o->scopes, 1, max) == -1)
		return -1;
	if (o->roles != NULL && check_text(o, "--roles", o->roles, 1, max) == -1)
		return -1;
	if (o->roles != NULL && parse_roles(o->roles, &roles) == -1)
		return fail(o, "--roles \"%s\": expected idp, sp, aa, authn, pdp, other, an OpenID "
		    "Federation entity type, tls_client, tls_server or all", o->roles), -1;
	if (o->approved != NULL && parse_date_or_time(o->approved, &t) == -1)
		return fail(o, "--approved-until: expected YYYY-MM-DD or RFC 3339"), -1;
	if (o->maxval != NULL && (parse_duration(o->maxval, &d) == -1 || d < 60))
		return fail(o, "--max-validity: expected a duration of at least 60s like 28d"), -1;
	for (i = 0; i < o->anchorsz; i++) {
		*own = xreallocarray(*own, *ownsz + 1, sizeof(**own));
		(*own)[(*ownsz)++] = absolute_path(o->anchors[i]);
		if (check_text(o, "--anchor", (*own)[*ownsz - 1], 0, max) == -1)
			return -1;
	}
	if (check_anchors(o, type, *own, *ownsz) == -1)
		return -1;
	(*kv)[n++] = "type";
	(*kv)[n++] = o->type;
	(*kv)[n++] = "url";
	(*kv)[n++] = o->url;
	for (i = 0; i < *ownsz; i++) {
		(*kv)[n++] = type == SRC_X509 ? "ca" : "anchor";
		(*kv)[n++] = (*own)[i];
	}
#define KV(key, val) do { if ((val) != NULL) { (*kv)[n++] = (key); (*kv)[n++] = (val); } } while (0)
	KV("max-validity", o->maxval);
	KV("roles", o->roles);
	KV("scopes", o->scopes);
	KV("owner", o->owner);
	KV("approved-until", o->approved);
	KV("note", o->note);
#undef KV
	return 0;
}

static int
source_add(struct sopts *o)
{
	struct config		*conf = NULL;
	const struct list_conf	*l = NULL;
	struct ini_text		*t = NULL;
	const char		**kv = NULL;
	char			**own = NULL, sec[128], done[256];
	size_t			 ownsz = 0;
	int			 fd = -1, rc;

	if ((rc = open_edit(o, &fd, &conf, &l, &t)) != EXIT_OK)
		goto out;
	rc = EXIT_USAGE;
	if (new_source_kv(o, &kv, &own, &ownsz) == -1)
		goto out;
	snprintf(sec, sizeof(sec), "source %s", o->name);
	if (find_source(l, o->name) != -1 || ini_has_section(t, sec)) {
		fail(o, "list %s already has a source named \"%s\" (%s)", l->name, o->name, l->file);
		goto out;
	}
	ini_add_section(t, sec, kv);
	snprintf(done, sizeof(done), "added source %s to list %s (%s)", o->name, l->name, l->file);
	rc = commit(o, conf, l, t, done);
out:
	if (fd != -1)
		close(fd);
	free(kv);
	strv_free(own, ownsz);
	ini_text_free(t);
	config_free(conf);
	return rc;
}

/* ------------------------------------------------------------ remove, revoke */

static int
source_remove(struct sopts *o)
{
	struct config		*conf = NULL;
	const struct list_conf	*l = NULL;
	struct ini_text		*t = NULL;
	char			 sec[128], done[256];
	int			 fd = -1, rc;

	if ((rc = open_edit(o, &fd, &conf, &l, &t)) != EXIT_OK)
		goto out;
	rc = EXIT_USAGE;
	snprintf(sec, sizeof(sec), "source %s", o->name);
	if (find_source(l, o->name) == -1 || ini_remove_section(t, sec) == -1) {
		fail(o, "list %s has no source named \"%s\"", l->name, o->name);
		goto out;
	}
	snprintf(done, sizeof(done), "removed source %s from list %s (%s)", o->name, l->name,
	    l->file);
	rc = commit(o, conf, l, t, done);
out:
	if (fd != -1)
		close(fd);
	ini_text_free(t);
	config_free(conf);
	return rc;
}

static int
source_revoke(struct sopts *o)
{
	struct config		*conf = NULL;
	const struct list_conf	*l = NULL;
	const struct source_conf *s;
	struct ini_text		*t = NULL;
	char			 sec[128], done[256], when[32], *val = NULL;
	size_t			 i;
	long			 idx;
	int			 fd = -1, rc;

	if ((rc = open_edit(o, &fd, &conf, &l, &t)) != EXIT_OK)
		goto out;
	rc = EXIT_USAGE;
	if ((idx = find_source(l, o->name)) == -1) {
		fail(o, "list %s has no source named \"%s\"", l->name, o->name);
		goto out;
	}
	s = &l->sources[idx];
	if (check_text(o, "--reason", o->reason, 1, MAX_CONF_LINE) == -1 ||
	    (o->entity != NULL && check_text(o, "--entity", o->entity, 0, MAX_ENTITY_ID) == -1))
		goto out;
	for (i = 0; i < s->revsz; i++) {
		if ((s->revs[i].id == NULL) != (o->entity == NULL) ||
		    (o->entity != NULL && strcmp(s->revs[i].id, o->entity) != 0))
			continue;
		fail(o, "%s/%s%s%s is already revoked (at %s: %s)", l->name, s->name,
		    o->entity ? " entity " : "", o->entity ? o->entity : "",
		    format_time(s->revs[i].at, when, sizeof(when)), s->revs[i].reason);
		goto out;
	}
	format_time(o->now, when, sizeof(when));
	snprintf(sec, sizeof(sec), "source %s", o->name);
	if (o->entity != NULL) {
		xasprintf(&val, "%s %s %s", o->entity, when, o->reason);
		rc = ini_append_key(t, sec, "revoke-entity", val);
		snprintf(done, sizeof(done), "revoked entity %s of source %s in list %s",
		    o->entity, s->name, l->name);
	} else {
		xasprintf(&val, "%s %s", when, o->reason);
		rc = ini_append_key(t, sec, "revoked", val);
		snprintf(done, sizeof(done), "revoked source %s of list %s", s->name, l->name);
	}
	if (rc == -1) {
		rc = fail(o, "%s: no [%s] section", l->file, sec);
		goto out;
	}
	rc = commit(o, conf, l, t, done);
out:
	if (fd != -1)
		close(fd);
	free(val);
	ini_text_free(t);
	config_free(conf);
	return rc;
}

/* ------------------------------------------------------------ list, show */

/* Approval of s at now: "ok", "expires in N days" or "EXPIRED"; *days left (-1 none). */
static const char *
approval_text(const struct list_conf *l, const struct source_conf *s, time_t now, long *days,
    char *buf, size_t bufsz)
{
	*days = -1;
	if (s->approved_until == 0)
		return "ok";
	*days = s->approved_until > now ? (long)((s->approved_until - now + 86399) / 86400) : 0;
	if (s->approved_until <= now)
		return "EXPIRED";
	if (s->approved_until - now > l->approval_warning)
		return "ok";
	snprintf(buf, bufsz, "expires in %ld day%s", *days, *days == 1 ? "" : "s");
	return buf;
}

/* Revocations of s: whole source (1/0) and the number of revoked entities. */
static size_t
revoked_entities(const struct source_conf *s, int *whole)
{
	size_t	 i, n = 0;

	*whole = 0;
	for (i = 0; i < s->revsz; i++) {
		if (s->revs[i].id == NULL)
			*whole = 1;
		else
			n++;
	}
	return n;
}

static int
source_list(struct sopts *o)
{
	struct config		*conf;
	const struct list_conf	*only = NULL;
	json_t			*arr = json_array(), *e;
	char			 ab[64], tb[32], status[256], *js;
	size_t			 i, j, nent;
	long			 days;
	int			 whole;

	if ((conf = load(o, &only)) == NULL) {
		json_decref(arr);
		return EXIT_USAGE;
	}
	if (!(o->given & O_JSON))
		printf("LIST\tSOURCE\tTYPE\tURL\tOWNER\tAPPROVED-UNTIL\tSTATUS\n");
	for (i = 0; i < conf->listsz; i++) {
		const struct list_conf	*l = &conf->lists[i];

		if (only != NULL && l != only)
			continue;
		for (j = 0; j < l->sourcesz; j++) {
			const struct source_conf *s = &l->sources[j];
			const char		*ap = approval_text(l, s, o->now, &days, ab, sizeof(ab));

			nent = revoked_entities(s, &whole);
			if (o->given & O_JSON) {
				e = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:b, s:I, s:b, s:o}",
				    "list", l->name, "source", s->name, "type", source_type_name(s->type),
				    "url", s->url,
				    "owner", s->owner ? json_string(s->owner) : json_null(),
				    "approved_until", s->approved_until ?
				    json_string(format_time(s->approved_until, tb, sizeof(tb))) : json_null(),
				    "approval", days == 0 ? "expired" : strcmp(ap, "ok") == 0 ? "ok" :
				    "expiring",
				    "days_left", days >= 0 ? json_integer(days) : json_null(),
				    "revoked", whole, "revoked_entities", (json_int_t)nent,
				    "list_enabled", !l->disabled,
				    "note", s->note ? json_string(s->note) : json_null());
				json_array_append_new(arr, e);
				continue;
			}
			snprintf(status, sizeof(status), "%s%s", ap, whole ? ", REVOKED" : "");
			if (nent > 0)
				snprintf(status + strlen(status), sizeof(status) - strlen(status),
				    ", %zu entit%s revoked", nent, nent == 1 ? "y" : "ies");
			if (l->disabled)
				snprintf(status + strlen(status), sizeof(status) - strlen(status),
				    ", list disabled");
			printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l->name, s->name,
			    source_type_name(s->type), s->url, s->owner ? s->owner : "-",
			    s->approved_until ? format_time(s->approved_until, tb, sizeof(tb)) : "-",
			    status);
		}
	}
	if (o->given & O_JSON) {
		if ((js = json_dumps(arr, JSON_INDENT(2))) == NULL)
			fatalx("json_dumps: out of memory");
		printf("%s\n", js);
		free(js);
	}
	json_decref(arr);
	config_free(conf);
	return EXIT_OK;
}

/* "key: v1" lines for each of n strings. */
static void
show_strv(const char *key, char *const *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		printf("%s: %s\n", key, v[i]);
}

static void
show_str(const char *key, const char *v)
{
	if (v != NULL)
		printf("%s: %s\n", key, v);
}

/* The keys every source type has. */
static void
show_common(const struct list_conf *l, const struct source_conf *s, time_t now)
{
	static const char *const cv[] = { "warn", "reject", "ignore" };
	char		 b[512], tb[32];
	long		 days;
	size_t		 i;

	printf("list: %s%s\nfile: %s\nname: %s\ntype: %s\nurl: %s\n", l->name,
	    !l->disabled ? "" : " (disabled)", l->file, s->name, source_type_name(s->type), s->url);
	show_strv("anchor", s->anchors, s->anchorsz);
	show_strv("ca", s->cas, s->casz);
	show_strv("crl", s->crls, s->crlsz);
	show_strv("signer-name", s->signer_names, s->signer_namesz);
	printf("max-validity: %s\n", duration_text(s->max_validity, b, sizeof(b)));
	printf("roles: %s\n", roles_text(s->roles, ", ", b, sizeof(b)));
	printf("priority: %d\n", s->priority);
	show_str("owner", s->owner);
	if (s->approved_until != 0)
		printf("approved-until: %s (%s)\n", format_time(s->approved_until, tb, sizeof(tb)),
		    approval_text(l, s, now, &days, b, sizeof(b)));
	show_str("note", s->note);
	show_strv("allow", s->allow, s->allowsz);
	show_strv("deny", s->deny, s->denysz);
	show_strv("registration-authority", s->ras, s->rasz);
	show_str("ca-file", s->ca_file);
	if (s->fetch_timeout)
		printf("fetch-timeout: %s\n", duration_text(s->fetch_timeout, b, sizeof(b)));
	if (s->max_size)
		printf("max-size: %zu\n", s->max_size);
	printf("cert-validity: %s\n", cv[s->cert_validity]);
	if (s->algs_extra)
		printf("extra-algorithms: %s%s%s\n", s->algs_extra & ALGX_RSA_SHA1 ? "rsa-sha1 " : "",
		    s->algs_extra & ALGX_SHA1 ? "sha1 " : "",
		    s->algs_extra & ALGX_ECDSA_SHA512 ? "ecdsa-sha512" : "");
	printf("clock-skew: %s\n", duration_text(s->skew, b, sizeof(b)));
	if (s->max_stale)
		printf("max-stale: %s\n", duration_text(s->max_stale, b, sizeof(b)));
	if (s->scoped) {
		b[0] = '\0';
		for (i = 0; i < s->scopesz; i++)
			snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s%s", i ? ", " : "",
			    s->scopes[i]);
		printf("scopes: %s\n", s->scopesz ? b : "none");
	}
}

/* Keys of one source type, revocations and the stored state. */
static void
show_rest(const struct config *conf, const struct list_conf *l, const struct source_conf *s)
{
	struct cache_entry	 ce;
	char			 tb[32], *crl;
	size_t			 i;

	show_str("entity-id", s->entity_id);
	if (s->type == SRC_OIDF || s->type == SRC_SIGNED_JWKS)
		printf("legacy-untyped: %s\n", s->untyped_ok ? "yes" : "no");
	if (s->type == SRC_OIDF) {
		show_strv("entity", s->entity_ids, s->entity_idsz);
		printf("discover: %s\ntrust-marks-without-exp: %s\n", s->discover ? "yes" : "no",
		    s->tm_no_exp ? "accept" : "drop");
		if (s->max_fetches)
			printf("max-fetches: %zu\n", s->max_fetches);
	}
	show_str("crl-url", s->crl_url);
	if (s->names_kind != NULL)
		for (i = 0; i < s->namesz; i++)
			printf("tls-client-auth-%s: %s\n", s->names_kind, s->names[i]);
	for (i = 0; i < s->revsz; i++) {
		if (s->revs[i].id == NULL)
			printf("revoked: %s %s\n", format_time(s->revs[i].at, tb, sizeof(tb)),
			    s->revs[i].reason);
		else
			printf("revoke-entity: %s %s %s\n", s->revs[i].id,
			    format_time(s->revs[i].at, tb, sizeof(tb)), s->revs[i].reason);
	}
	if (cache_load(conf->state_dir, l->name, s->name,
	    s->max_size ? s->max_size : conf->max_size, &ce) == 0) {
		printf("state: last good copy, %zu bytes, sha256 %s\n", ce.docsz, ce.sha256);
		printf("state-fetched: %s\n", format_time(ce.fetched, tb, sizeof(tb)));
		if (ce.valid_until != 0)
			printf("state-valid-until: %s\n", format_time(ce.valid_until, tb, sizeof(tb)));
		show_str("state-etag", ce.etag);
		show_str("state-last-modified", ce.last_modified);
		cache_entry_free(&ce);
	} else
		printf("state: no last good copy\n");
	if (s->crl_url != NULL) {
		xasprintf(&crl, "%s.crl", s->name);
		if (cache_load(conf->state_dir, l->name, crl, MAX_DOC_SIZE, &ce) == 0) {
			printf("state-crl-next-update: %s\n", format_time(ce.valid_until, tb,
			    sizeof(tb)));
			cache_entry_free(&ce);
		}
		free(crl);
	}
}

static int
source_show(struct sopts *o)
{
	struct config		*conf;
	const struct list_conf	*l = NULL;
	long			 idx;

	if ((conf = load(o, &l)) == NULL)
		return EXIT_USAGE;
	if ((idx = find_source(l, o->name)) == -1) {
		fail(o, "list %s has no source named \"%s\"", l->name, o->name);
		config_free(conf);
		return EXIT_USAGE;
	}
	show_common(l, &l->sources[idx], o->now);
	show_rest(conf, l, &l->sources[idx]);
	config_free(conf);
	return EXIT_OK;
}

/* ------------------------------------------------------------ test */

/* One "drop ID code: detail" line (the id is partner data: sanitized). */
static void
print_drop(const struct drop *d)
{
	char	 ib[MAX_ENTITY_ID * 4 + 8];

	printf("drop %s %s: %s\n", log_sanitize(d->id, strlen(d->id), ib, sizeof(ib)),
	    reason_code(d->reason), d->detail);
}

/*
 * Print what list l's policy makes of the probed source st at now: the
 * verdict line, then accept and drop lines.  Returns the exit code.
 */
static int
report_probe(const struct sopts *o, const struct list_conf *l, struct source_state *st)
{
	const struct source_conf *s = st->conf;
	struct selection	 sel;
	struct verdict		 v;
	char			 ib[MAX_ENTITY_ID * 4 + 8], rb[256], tb[32];
	size_t			 i;
	long			 days;

	if (st->status == SRC_FAILED) {
		printf("REJECT %s: %s\n", reason_code(st->v.reason), st->v.detail);
		return EXIT_REJECT;
	}
	memset(&v, 0, sizeof(v));
	if (policy_select(l, st, 1, o->now, &sel, &v) == -1) {
		printf("REJECT %s: %s\n", reason_code(v.reason), v.detail);
		return EXIT_REJECT;
	}
	/* the whole source left out by its approval or a revocation */
	if (sel.entsz == 0 && sel.dropsz == 1 && strcmp(sel.drops[0].id, s->name) == 0 &&
	    (sel.drops[0].reason == R_APPROVAL_EXPIRED || sel.drops[0].reason == R_REVOKED)) {
		printf("REJECT %s: %s\n", reason_code(sel.drops[0].reason), sel.drops[0].detail);
		selection_free(&sel);
		return EXIT_REJECT;
	}
	if (s->approved_until != 0 && strcmp(approval_text(l, s, o->now, &days, rb, sizeof(rb)),
	    "ok") != 0)
		fprintf(stderr, "fedtrust source test: %s/%s: approval ends %s (%s)\n", l->name,
		    s->name, format_time(s->approved_until, tb, sizeof(tb)), rb);
	printf("ACCEPT %zu entities\n", sel.entsz);
	for (i = 0; i < sel.entsz; i++)
		printf("accept %s %s %s\n", log_sanitize(sel.ents[i]->id, strlen(sel.ents[i]->id),
		    ib, sizeof(ib)), proto_name(sel.ents[i]->proto),
		    roles_text(sel.ents[i]->roles, ",", rb, sizeof(rb)));
	for (i = 0; i < st->set.dropsz; i++)
		print_drop(&st->set.drops[i]);
	for (i = 0; i < sel.dropsz; i++)
		print_drop(&sel.drops[i]);
	selection_free(&sel);
	return EXIT_OK;
}

/*
 * The unsaved form: the source as `add` would write it, checked the same
 * way, in a one-source copy of list l.  *nc keeps it alive (config_free).
 */
static int
unsaved_source(struct sopts *o, const struct config *conf, const struct list_conf *l,
    struct config **nc, struct list_conf *hl)
{
	struct ini_text		*t = NULL;
	const struct list_conf	*nl;
	const char		**kv = NULL;
	char			**own = NULL, sec[128], err[1024], *text = NULL;
	unsigned char		*buf = NULL;
	size_t			 ownsz = 0, len;
	long			 idx;
	int			 rc = -1;

	if (o->name == NULL)
		o->name = UNSAVED_NAME;
	if (new_source_kv(o, &kv, &own, &ownsz) == -1)
		goto out;
	if (find_source(l, o->name) != -1) {
		fail(o, "list %s already has a source named \"%s\": give another --name",
		    l->name, o->name);
		goto out;
	}
	if (read_file(l->file, MAX_CONF_FILE, &buf, &len) == -1) {
		fail(o, "%s: %s", l->file, strerror(errno));
		goto out;
	}
	t = ini_parse_text((const char *)buf, len);
	snprintf(sec, sizeof(sec), "source %s", o->name);
	ini_add_section(t, sec, kv);
	text = ini_render(t, &len);
	if (check_lines(o, text) == -1)
		goto out;
	if ((*nc = config_with(conf, l, text, len, err, sizeof(err))) == NULL) {
		fail(o, "the source does not load: %s", err);
		goto out;
	}
	nl = config_find_list(*nc, l->name);
	if (nl == NULL || (idx = find_source(nl, o->name)) == -1) {
		fail(o, "the source was not found after loading");
		goto out;
	}
	/* the list's own rules with only this source */
	*hl = *l;
	hl->sources = &nl->sources[idx];
	hl->sourcesz = 1;
	rc = 0;
out:
	free(kv);
	strv_free(own, ownsz);
	free(buf);
	free(text);
	ini_text_free(t);
	return rc;
}

static int
source_test(struct sopts *o)
{
	struct config		*conf, *nc = NULL;
	const struct list_conf	*l = NULL;
	struct list_conf	 hl;
	struct source_state	 st;
	long			 idx = 0;
	int			 rc;

	if ((o->given & O_NEW) == 0 && o->name == NULL)
		return fail(o, "give --name S, or --type, --url and --anchor for an unsaved source");
	if ((o->given & O_NEW) != 0 && (o->type == NULL || o->url == NULL || o->anchorsz == 0))
		return fail(o, "an unsaved source needs --type, --url and --anchor");
	if ((conf = load(o, &l)) == NULL)
		return EXIT_USAGE;
	if ((o->given & O_NEW) != 0) {
		if (unsaved_source(o, conf, l, &nc, &hl) == -1) {
			config_free(conf);
			return EXIT_USAGE;
		}
		l = &hl;
	} else if ((idx = find_source(l, o->name)) == -1) {
		fail(o, "list %s has no source named \"%s\"", l->name, o->name);
		config_free(conf);
		return EXIT_USAGE;
	}
	memset(&st, 0, sizeof(st));
	sources_probe(conf, l, (size_t)idx, o->now, &st);
	st.conf = &l->sources[idx];
	rc = report_probe(o, l, &st);
	entity_set_free(&st.set);
	config_free(nc);
	config_free(conf);
	return rc;
}

/* ------------------------------------------------------------ dispatch */

static const struct subcmd {
	const char	*name;
	int		(*fn)(struct sopts *);
	unsigned	 allowed;
	unsigned	 required;
	const char	*usage;
} subcmds[] = {
	{ "add", source_add, O_LIST | O_NAME | O_NEW, O_LIST | O_NAME | O_TYPE | O_URL | O_ANCHOR,
	    "add    [-c FILE] --list L --name S --type T --url URL --anchor FILE... [--owner WHO]\n"
	    "                      [--approved-until DATE] [--roles R,...] [--scopes S,...]\n"
	    "                      [--max-validity DUR] [--note TEXT]" },
	{ "test", source_test, O_LIST | O_NAME | O_NEW | O_AT, O_LIST,
	    "test   [-c FILE] --list L (--name S | --type T --url URL --anchor FILE...) [--at TIME]" },
	{ "list", source_list, O_LIST | O_JSON | O_AT, 0,
	    "list   [-c FILE] [--list L] [--json] [--at TIME]" },
	{ "show", source_show, O_LIST | O_NAME | O_AT, O_LIST | O_NAME,
	    "show   [-c FILE] --list L --name S [--at TIME]" },
	{ "remove", source_remove, O_LIST | O_NAME, O_LIST | O_NAME,
	    "remove [-c FILE] --list L --name S" },
	{ "revoke", source_revoke, O_LIST | O_NAME | O_ENTITY | O_REASON | O_AT,
	    O_LIST | O_NAME | O_REASON,
	    "revoke [-c FILE] --list L --name S [--entity ID] --reason TEXT [--at TIME]" },
};

static int
usage(const struct subcmd *c)
{
	size_t	 i;

	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (c == NULL || c == &subcmds[i])
			fprintf(stderr, "%s fedtrust source %s\n", i == 0 || c != NULL ? "usage:" :
			    "      ", subcmds[i].usage);
	return EXIT_USAGE;
}

/* Parse the options of sub-command c into o. 0 / -1. */
static int
parse_opts(const struct subcmd *c, int argc, char *argv[], struct sopts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "list", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "type", required_argument, NULL, 't' },
		{ "url", required_argument, NULL, 'u' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "owner", required_argument, NULL, 'o' },
		{ "approved-until", required_argument, NULL, 'A' },
		{ "roles", required_argument, NULL, 'r' },
		{ "scopes", required_argument, NULL, 's' },
		{ "max-validity", required_argument, NULL, 'm' },
		{ "note", required_argument, NULL, 'N' },
		{ "entity", required_argument, NULL, 'e' },
		{ "reason", required_argument, NULL, 'R' },
		{ "at", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch, li;
	unsigned bit;

	while ((ch = getopt_long(argc, argv, "c:v", opts, &li)) != -1) {
		bit = 0;
		switch (ch) {
		case 'c': o->file = optarg; break;
		case 'v': o->verbose++; break;
		case 'l': o->list = optarg; bit = O_LIST; break;
		case 'n': o->name = optarg; bit = O_NAME; break;
		case 't': o->type = optarg; bit = O_TYPE; break;
		case 'u': o->url = optarg; bit = O_URL; break;
		case 'a': strv_push(&o->anchors, &o->anchorsz, optarg); bit = O_ANCHOR; break;
		case 'o': o->owner = optarg; bit = O_OWNER; break;
		case 'A': o->approved = optarg; bit = O_APPROVED; break;
		case 'r': o->roles = optarg; bit = O_ROLES; break;
		case 's': o->scopes = optarg; bit = O_SCOPES; break;
		case 'm': o->maxval = optarg; bit = O_MAXVAL; break;
		case 'N': o->note = optarg; bit = O_NOTE; break;
		case 'e': o->entity = optarg; bit = O_ENTITY; break;
		case 'R': o->reason = optarg; bit = O_REASON; break;
		case 'j': bit = O_JSON; break;
		case 'P':
			if (parse_time(optarg, &o->now) == -1)
				return fail(o, "--at: bad time \"%s\" (RFC 3339 or seconds)", optarg), -1;
			bit = O_AT;
			break;
		default:
			return -1;
		}
		/* short options (-c, -v) belong to every sub-command: bit 0 */
		if ((bit & c->allowed) != bit)
			return fail(o, "--%s is not an option of this sub-command",
			    opts[li].name), -1;
		o->given |= bit;
	}
	if (optind != argc)
		return fail(o, "unexpected argument \"%s\"", argv[optind]), -1;
	if ((bit = c->required & ~o->given) != 0) {
		static const struct { unsigned bit; const char *flag; } req[] = {
			{ O_LIST, "--list" }, { O_NAME, "--name" }, { O_TYPE, "--type" },
			{ O_URL, "--url" }, { O_ANCHOR, "--anchor" }, { O_REASON, "--reason" },
		};
		size_t	 i;

		for (i = 0; i < sizeof(req) / sizeof(req[0]) && !(bit & req[i].bit); i++)
			;
		return fail(o, "missing a required option: %s",
		    i < sizeof(req) / sizeof(req[0]) ? req[i].flag : "?"), -1;
	}
	return 0;
}

int
cmd_source(int argc, char *argv[])
{
	const struct subcmd	*c = NULL;
	struct sopts		 o;
	size_t			 i;
	int			 rc;

	if (argc < 2)
		return usage(NULL);
	for (i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (strcmp(argv[1], subcmds[i].name) == 0)
			c = &subcmds[i];
	if (c == NULL) {
		fprintf(stderr, "fedtrust source: unknown sub-command \"%s\"\n", argv[1]);
		return usage(NULL);
	}
	memset(&o, 0, sizeof(o));
	o.cmd = c->name;
	o.file = SYSCONFDIR "/fedtrust/fedtrust.conf";
	o.now = time(NULL);
	if (parse_opts(c, argc - 1, argv + 1, &o) == -1) {
		strv_free(o.anchors, o.anchorsz);
		return usage(c);
	}
	log_init(1, o.verbose, "fedtrust");
	rc = c->fn(&o);
	strv_free(o.anchors, o.anchorsz);
	return rc;
}
