/*
 * Configuration: fedtrust.conf plus one trustlists/NAME.conf per published
 * trust list, INI files read with inih (config-and-cli.md is the contract).
 * Unknown keys and bad values are errors naming file and line.  A new config
 * is parsed completely into fresh structs; callers swap only on success.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "extern.h"

/* State threaded through inih's handler. */
struct parse {
	struct config	*conf;
	struct list_conf *list;		/* the trust list file being read, or NULL */
	const char	*file;
	char		*dir;		/* directory of file: relative paths start here */
	char		 err[512];	/* first error (inih gives us its line) */
	int		 seen_main;	/* [fedtrust] section seen */
	int		 seen_list;	/* [trustlist] section seen */
};

/* Record the first error; returns 0 so inih notes the line and goes on. */
static int
perr(struct parse *p, const char *fmt, const char *a, const char *b)
{
	if (p->err[0] == '\0')
		snprintf(p->err, sizeof(p->err), fmt, a, b);
	return 0;
}

static int parse_bool(const char *, int *);

int
config_name_ok(const char *s, const char *extra)
{
	size_t	 i;

	if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return 0;
	}
	return 1;
}

const char *
source_type_name(enum source_type t)
{
	switch (t) {
	case SRC_SAML:
		return "saml";
	case SRC_OIDF:
		return "oidf";
	case SRC_SIGNED_JWKS:
		return "signed-jwks";
	case SRC_X509:
		return "x509";
	}
	return "unknown";
}

/* Split a comma-separated value, calling fn on each trimmed, non-empty item. */
static int
for_each_item(const char *value, int (*fn)(const char *, void *), void *arg)
{
	char	*copy = xstrdup(value), *s = copy, *item;
	int	 rc = 0;

	while (rc == 0 && (item = strsep(&s, ",")) != NULL) {
		char	*end;

		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*item != '\0')
			rc = fn(item, arg);
	}
	free(copy);
	return rc;
}

static int
role_bit(const char *s, void *arg)
{
	const char	*name;
	unsigned	*bits = arg, bit;
	size_t		 i;

	if (strcmp(s, "all") == 0) {
		*bits |= ROLE_ALL;
		return 0;
	}
	for (i = 0; (name = role_name_at(i, &bit)) != NULL; i++) {
		if (strcmp(s, name) == 0) {
			*bits |= bit;
			return 0;
		}
	}
	return -1;
}

static int
extra_alg_bit(const char *s, void *arg)
{
	unsigned	*bits = arg;

	if (strcmp(s, "rsa-sha1") == 0)
		*bits |= ALGX_RSA_SHA1;
	else if (strcmp(s, "sha1") == 0)
		*bits |= ALGX_SHA1;
	else if (strcmp(s, "ecdsa-sha512") == 0)
		*bits |= ALGX_ECDSA_SHA512;
	else
		return -1;
	return 0;
}

int
parse_extra_algs(const char *value, unsigned *out)
{
	unsigned	 bits = 0;

	if (for_each_item(value, extra_alg_bit, &bits) == -1 || bits == 0)
		return -1;
	*out |= bits;
	return 0;
}

int
parse_roles(const char *value, unsigned *out)
{
	unsigned	 bits = 0;

	if (for_each_item(value, role_bit, &bits) == -1 || bits == 0)
		return -1;
	*out = bits;
	return 0;
}

static int
output_bit(const char *s, void *arg)
{
	unsigned	*bits = arg;

	if (strcmp(s, "saml-aggregate") == 0)
		*bits |= OUT_SAML;
	else if (strcmp(s, "bundle") == 0)
		*bits |= OUT_BUNDLE;
	else if (strcmp(s, "mdq") == 0)
		*bits |= OUT_MDQ;
	else
		return -1;
	return 0;
}

/* "10%" -> 0.10 */
static int
parse_percent(const char *s, double *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || strcmp(end, "%") != 0 || v < 0 || v > 100)
		return -1;
	*out = (double)v / 100.0;
	return 0;
}

static int
parse_int(const char *s, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < -1000000 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void
set_path(struct parse *p, char **dst, const char *v)
{
	free(*dst);
	*dst = path_join(p->dir, v);
}

static int
main_key(struct parse *p, const char *name, const char *value)
{
	struct config	*c = p->conf;
	long		 d;

	if (strcmp(name, "issuer") == 0) {
		if (strncmp(value, "https://", 8) != 0)
			return perr(p, "issuer must be an https URL, not \"%s\"%s", value, "");
		set_str(&c->issuer, value);
	} else if (strcmp(name, "state-dir") == 0)
		set_path(p, &c->state_dir, value);
	else if (strcmp(name, "publish-dir") == 0)
		set_path(p, &c->publish_dir, value);
	else if (strcmp(name, "trustlists") == 0)
		set_path(p, &c->trustlists_dir, value);
	else if (strcmp(name, "signing-key") == 0)
		set_path(p, &c->signing_key, value);
	else if (strcmp(name, "signing-cert") == 0)
		set_path(p, &c->signing_cert, value);
	else if (strcmp(name, "next-key") == 0)
		set_path(p, &c->next_key, value);
	else if (strcmp(name, "base-url") == 0) {
		if (strncmp(value, "https://", 8) != 0 || strchr(value, '?') != NULL ||
		    strchr(value, '#') != NULL)
			return perr(p, "base-url must be an https URL without query or fragment, "
			    "not \"%s\"%s", value, "");
		set_str(&c->base_url, value);
	} else if (strcmp(name, "listen") == 0)
		set_str(&c->listen, value);
	else if (strcmp(name, "ca-file") == 0)
		set_path(p, &c->ca_file, value);
	else if (strcmp(name, "fetch-timeout") == 0) {
		if (parse_duration(value, &d) == -1 || d < 1)
			return perr(p, "fetch-timeout: bad duration \"%s\"%s", value, "");
		c->fetch_timeout = d;
	} else if (strcmp(name, "max-size") == 0) {
		if (parse_size(value, &c->max_size) == -1 || c->max_size < 1024)
			return perr(p, "max-size: bad size \"%s\"%s", value, "");
	} else if (strcmp(name, "keep-generations") == 0) {
		if (parse_int(value, &c->keep_generations) == -1 || c->keep_generations < 0 ||
		    c->keep_generations > 100)
			return perr(p, "keep-generations: bad number \"%s\"%s", value, "");
	} else if (strcmp(name, "audit-log") == 0)
		set_path(p, &c->audit_log, value);
	else if (strcmp(name, "audit-syslog") == 0) {
		if (parse_bool(value, &c->audit_syslog) == -1)
			return perr(p, "audit-syslog: expected yes or no, not \"%s\"%s", value, "");
	} else
		return perr(p, "unknown key \"%s\" in section [%s]", name, "fedtrust");
	return 1;
}

static int
duration_key(struct parse *p, const char *name, const char *value, long min, long *out)
{
	if (parse_duration(value, out) == -1 || *out < min)
		return perr(p, "%s: bad duration \"%s\"", name, value);
	return 1;
}

/* Lifecycle and hygiene keys of [trustlist]. */
static int
list_key_more(struct parse *p, const char *name, const char *value)
{
	struct list_conf	*l = p->list;

	if (strcmp(name, "enabled") == 0) {
		int	 on;

		if (parse_bool(value, &on) == -1)
			return perr(p, "enabled: expected yes or no, not \"%s\"%s", value, "");
		l->disabled = !on;
	} else if (strcmp(name, "approval-warning") == 0)
		return duration_key(p, name, value, 0, &l->approval_warning);
	else if (strcmp(name, "cert-expiry-warning") == 0)
		return duration_key(p, name, value, 0, &l->cert_warning);
	else if (strcmp(name, "revocation-retention") == 0)
		return duration_key(p, name, value, 0, &l->revocation_retention);
	else if (strcmp(name, "shared-keys") == 0) {
		if (strcmp(value, "warn") != 0 && strcmp(value, "reject") != 0)
			return perr(p, "shared-keys: expected warn or reject, not \"%s\"%s", value, "");
		l->shared_keys = value[0] == 'r';
	} else if (strcmp(name, "weak-keys") == 0) {
		if (strcmp(value, "warn") != 0 && strcmp(value, "reject") != 0)
			return perr(p, "weak-keys: expected reject or warn, not \"%s\"%s", value, "");
		l->weak_keys = value[0] == 'w';
	} else
		return perr(p, "unknown key \"%s\" in section [%s]", name, "trustlist");
	return 1;
}

static int
list_key(struct parse *p, const char *name, const char *value)
{
	struct list_conf	*l = p->list;

	if (strcmp(name, "name") == 0) {
		if (!config_name_ok(value, "-"))
			return perr(p, "name \"%s\" must match [a-z0-9][a-z0-9-]{0,63}%s", value, "");
		set_str(&l->name, value);
	} else if (strcmp(name, "bundle-validity") == 0) {
		if (duration_key(p, name, value, 60, &l->bundle_validity) == 0)
			return 0;
		if (l->bundle_validity > MAX_BUNDLE_VALIDITY)
			return perr(p, "bundle-validity: \"%s\" is longer than 7d (bundle-format "
			    "4.3)%s", value, "");
	} else if (strcmp(name, "head-validity") == 0) {
		if (duration_key(p, name, value, 60, &l->head_validity) == 0)
			return 0;
		if (l->head_validity > MAX_HEAD_VALIDITY)
			return perr(p, "head-validity: \"%s\" is longer than 2h (bundle-format "
			    "4.7)%s", value, "");
	} else if (strcmp(name, "bundle-variant") == 0) {
		if (strcmp(value, "compact") == 0)
			l->bundle_variant = BUNDLE_COMPACT;
		else if (strcmp(value, "full") == 0)
			l->bundle_variant = BUNDLE_FULL;
		else
			return perr(p, "bundle-variant: expected compact or full, not \"%s\"%s",
			    value, "");
	}
	else if (strcmp(name, "saml-validity") == 0)
		return duration_key(p, name, value, 60, &l->saml_validity);
	else if (strcmp(name, "cache-duration") == 0)
		return duration_key(p, name, value, 0, &l->cache_duration);
	else if (strcmp(name, "refresh") == 0)
		return duration_key(p, name, value, 60, &l->refresh);
	else if (strcmp(name, "max-drop") == 0) {
		if (parse_percent(value, &l->max_drop) == -1)
			return perr(p, "max-drop: expected a percentage like 10%%, not \"%s\"%s", value, "");
	} else if (strcmp(name, "outputs") == 0) {
		l->outputs = 0;
		if (for_each_item(value, output_bit, &l->outputs) == -1 || l->outputs == 0)
			return perr(p, "outputs: expected saml-aggregate, bundle, mdq, not \"%s\"%s", value, "");
	} else if (strcmp(name, "aggregate-name") == 0)
		set_str(&l->aggregate_name, value);
	else if (strcmp(name, "allow") == 0)
		strv_push(&l->allow, &l->allowsz, value);
	else if (strcmp(name, "deny") == 0)
		strv_push(&l->deny, &l->denysz, value);
	else if (strcmp(name, "roles") == 0) {
		if (parse_roles(value, &l->roles) == -1)
			return perr(p, "roles: expected idp, sp, aa, authn, pdp, other, an OpenID "
			    "Federation entity type, tls_client, tls_server or all, not \"%s\"%s", value, "");
	} else
		return list_key_more(p, name, value);
	return 1;
}

static int
source_type(struct parse *p, struct source_conf *s, const char *value)
{
	if (strcmp(value, "saml") == 0)
		s->type = SRC_SAML;
	else if (strcmp(value, "oidf") == 0)
		s->type = SRC_OIDF;
	else if (strcmp(value, "signed-jwks") == 0)
		s->type = SRC_SIGNED_JWKS;
	else if (strcmp(value, "x509") == 0)
		s->type = SRC_X509;
	else
		return perr(p, "type: expected saml, oidf, signed-jwks or x509, not \"%s\"%s", value, "");
	return 1;
}

/* yes / no. 0 / -1. */
static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
push_item(const char *item, void *arg)
{
	struct { char ***v; size_t *n; } *a = arg;

	if (*a->n >= MAX_SCOPES)
		return -1;
	strv_push(a->v, a->n, item);
	return 0;
}

/* A comma-separated list into *v (appended); "none" is the empty list. 0 / -1. */
static int
parse_list(const char *value, char ***v, size_t *n)
{
	struct { char ***v; size_t *n; } a = { v, n };

	if (strcmp(value, "none") == 0)
		return 0;
	return for_each_item(value, push_item, &a);
}

/* tls-client-auth-subject-dn / -san-dns / -san-uri / -san-ip / -san-email (RFC 8705). */
static int
names_key(struct parse *p, struct source_conf *s, const char *name, const char *value)
{
	static const char *const kinds[] = { "subject-dn", "san-dns", "san-uri", "san-ip",
	    "san-email" };
	const char	*kind = name + strlen("tls-client-auth-");
	size_t		 i;
	char		*k, *c;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return perr(p, "unknown key \"%s\" in [source %s]", name, s->name);
	k = xstrdup(kind);
	for (c = k; *c != '\0'; c++)
		if (*c == '-')
			*c = '_';
	if (s->names_kind != NULL && strcmp(s->names_kind, k) != 0) {
		free(k);
		return perr(p, "%s: only one tls-client-auth-* key per source (RFC 8705)%s", name, "");
	}
	free(s->names_kind);
	s->names_kind = k;
	if (i == 0)
		strv_push(&s->names, &s->namesz, value);
	else if (parse_list(value, &s->names, &s->namesz) == -1)
		return perr(p, "%s: bad list \"%s\"", name, value);
	return 1;
}

/*
 * "revoked = TIME REASON" or "revoke-entity = ID TIME REASON": the reason is
 * required (an audit needs it); one revoked = per source.
 */
static int
revocation_key(struct parse *p, struct source_conf *s, const char *name, const char *value)
{
	struct revocation	 r;
	const char		*v = value, *sp;
	char			*t;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	if (name[6] == '-') {		/* revoke-entity */
		if ((sp = strchr(v, ' ')) == NULL || sp == v || sp - v > MAX_ENTITY_ID)
			return perr(p, "%s: expected ID TIME REASON, not \"%s\"", name, value);
		r.id = xstrndup(v, (size_t)(sp - v));
		v = sp + 1;
	}
	while (*v == ' ')
		v++;
	if ((sp = strchr(v, ' ')) == NULL) {
		free(r.id);
		return perr(p, "%s: expected %sTIME REASON (the reason is required)", name,
		    r.id != NULL ? "ID " : "");
	}
	t = xstrndup(v, (size_t)(sp - v));
	if (parse_time(t, &r.at) == -1) {
		free(t);
		free(r.id);
		return perr(p, "%s: \"%s\" is not an RFC 3339 time", name, value);
	}
	free(t);
	for (i = 0; i < s->revsz; i++)
		if (s->revs[i].id == NULL && r.id == NULL) {
			free(r.id);
			return perr(p, "%s: [source %s] is revoked twice", name, s->name);
		}
	while (*sp == ' ')
		sp++;
	r.reason = xstrdup(sp);
	s->revs = xreallocarray(s->revs, s->revsz + 1, sizeof(*s->revs));
	s->revs[s->revsz++] = r;
	return 1;
}

/* Keys of the oidf, signed-jwks and x509 source types, and scopes. */
static int
source_key_more(struct parse *p, struct source_conf *s, const char *name, const char *value)
{
	long	 n;

	if (strcmp(name, "max-stale") == 0)
		return duration_key(p, name, value, 60, &s->max_stale);
	if (strcmp(name, "scopes") == 0) {
		s->scoped = 1;
		if (parse_list(value, &s->scopes, &s->scopesz) == -1)
			return perr(p, "scopes: bad list \"%s\"%s", value, "");
	} else if (strcmp(name, "entity-id") == 0)
		set_str(&s->entity_id, value);
	else if (strcmp(name, "entity") == 0) {
		if (strncmp(value, "https://", 8) != 0 || strlen(value) <= 8 ||
		    strpbrk(value, "?# ") != NULL || strlen(value) > MAX_ENTITY_ID)
			return perr(p, "entity: \"%s\" is not an https entity identifier%s", value, "");
		strv_push(&s->entity_ids, &s->entity_idsz, value);
	} else if (strcmp(name, "discover") == 0) {
		if (parse_bool(value, &s->discover) == -1)
			return perr(p, "discover: expected yes or no, not \"%s\"%s", value, "");
	} else if (strcmp(name, "legacy-untyped") == 0) {
		if (parse_bool(value, &s->untyped_ok) == -1)
			return perr(p, "legacy-untyped: expected yes or no, not \"%s\"%s", value, "");
	} else if (strcmp(name, "trust-marks-without-exp") == 0) {
		if (strcmp(value, "accept") != 0 && strcmp(value, "drop") != 0)
			return perr(p, "trust-marks-without-exp: expected accept or drop, not \"%s\"%s",
			    value, "");
		s->tm_no_exp = value[0] == 'a';
	} else if (strcmp(name, "max-fetches") == 0) {
		char	*end;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || *end != '\0' || n < 1 || n > MAX_OIDF_FETCHES)
			return perr(p, "max-fetches: expected 1..%s, not \"%s\"", "200000", value);
		s->max_fetches = (size_t)n;
	} else if (strcmp(name, "crl-url") == 0) {
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "file://", 7) != 0)
			return perr(p, "crl-url must be https:// or file://, not \"%s\"%s", value, "");
		set_str(&s->crl_url, value);
	} else if (strncmp(name, "tls-client-auth-", 16) == 0)
		return names_key(p, s, name, value);
	else if (strcmp(name, "note") == 0)
		set_str(&s->note, value);
	else if (strcmp(name, "revoked") == 0 || strcmp(name, "revoke-entity") == 0)
		return revocation_key(p, s, name, value);
	else
		return perr(p, "unknown key \"%s\" in [source %s]", name, s->name);
	return 1;
}

static int
source_key(struct parse *p, struct source_conf *s, const char *name, const char *value)
{
	char	*path;

	if (strcmp(name, "type") == 0)
		return source_type(p, s, value);
	if (strcmp(name, "url") == 0) {
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "file://", 7) != 0)
			return perr(p, "url must be https:// or file://, not \"%s\"%s", value, "");
		set_str(&s->url, value);
	} else if (strcmp(name, "anchor") == 0 || strcmp(name, "ca") == 0 ||
	    strcmp(name, "crl") == 0) {
		path = path_join(p->dir, value);
		if (name[0] == 'a')
			strv_push(&s->anchors, &s->anchorsz, path);
		else if (name[1] == 'a')
			strv_push(&s->cas, &s->casz, path);
		else
			strv_push(&s->crls, &s->crlsz, path);
		free(path);
		if (s->anchorsz > MAX_ANCHORS)
			return perr(p, "too many anchors in [source %s]%s", s->name, "");
	} else if (strcmp(name, "signer-name") == 0)
		strv_push(&s->signer_names, &s->signer_namesz, value);
	else if (strcmp(name, "max-validity") == 0)
		return duration_key(p, name, value, 60, &s->max_validity);
	else if (strcmp(name, "roles") == 0) {
		if (parse_roles(value, &s->roles) == -1)
			return perr(p, "roles: expected idp, sp, aa, authn, pdp, other, an OpenID "
			    "Federation entity type, tls_client, tls_server or all, not \"%s\"%s", value, "");
	} else if (strcmp(name, "priority") == 0) {
		if (parse_int(value, &s->priority) == -1)
			return perr(p, "priority: expected an integer, not \"%s\"%s", value, "");
	} else if (strcmp(name, "owner") == 0)
		set_str(&s->owner, value);
	else if (strcmp(name, "approved-until") == 0) {
		if (parse_date_or_time(value, &s->approved_until) == -1)
			return perr(p, "approved-until: expected YYYY-MM-DD or RFC 3339, not \"%s\"%s", value, "");
	} else if (strcmp(name, "allow") == 0)
		strv_push(&s->allow, &s->allowsz, value);
	else if (strcmp(name, "deny") == 0)
		strv_push(&s->deny, &s->denysz, value);
	else if (strcmp(name, "registration-authority") == 0)
		strv_push(&s->ras, &s->rasz, value);
	else if (strcmp(name, "ca-file") == 0)
		set_path(p, &s->ca_file, value);
	else if (strcmp(name, "fetch-timeout") == 0)
		return duration_key(p, name, value, 1, &s->fetch_timeout);
	else if (strcmp(name, "max-size") == 0) {
		if (parse_size(value, &s->max_size) == -1 || s->max_size < 1024)
			return perr(p, "max-size: bad size \"%s\"%s", value, "");
	} else if (strcmp(name, "cert-validity") == 0) {
		if (strcmp(value, "warn") == 0)
			s->cert_validity = CERT_VALIDITY_WARN;
		else if (strcmp(value, "reject") == 0)
			s->cert_validity = CERT_VALIDITY_REJECT;
		else if (strcmp(value, "ignore") == 0)
			s->cert_validity = CERT_VALIDITY_IGNORE;
		else
			return perr(p, "cert-validity: expected warn, reject or ignore, not \"%s\"%s", value, "");
	} else if (strcmp(name, "extra-algorithms") == 0) {
		if (parse_extra_algs(value, &s->algs_extra) == -1)
			return perr(p, "extra-algorithms: expected rsa-sha1, sha1 or ecdsa-sha512, not \"%s\"%s", value, "");
	} else if (strcmp(name, "clock-skew") == 0)
		return duration_key(p, name, value, 0, &s->skew);
	else
		return source_key_more(p, s, name, value);
	return 1;
}

/* The [source NAME] section being read, creating it on first sight. */
static struct source_conf *
source_for(struct parse *p, const char *name)
{
	struct list_conf	*l = p->list;
	struct source_conf	*s;
	size_t			 i;

	for (i = 0; i < l->sourcesz; i++)
		if (strcmp(l->sources[i].name, name) == 0)
			return &l->sources[i];
	if (l->sourcesz >= MAX_SOURCES)
		return NULL;
	l->sources = xreallocarray(l->sources, l->sourcesz + 1, sizeof(*l->sources));
	s = &l->sources[l->sourcesz++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->max_validity = MAX_VALIDITY_DEFAULT;
	s->roles = ROLE_ALL;
	s->skew = MAX_SKEW_DEFAULT;
	s->cert_validity = CERT_VALIDITY_WARN;
	s->discover = 1;
	return s;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse		*p = user;
	struct source_conf	*s;

	if (p->list == NULL) {
		if (strcmp(section, "fedtrust") != 0)
			return perr(p, "unknown section [%s]%s (expected [fedtrust])", section, "");
		p->seen_main = 1;
		return main_key(p, name, value);
	}
	if (strcmp(section, "trustlist") == 0) {
		p->seen_list = 1;
		return list_key(p, name, value);
	}
	if (strncmp(section, "source ", 7) == 0) {
		const char	*sname = section + 7;

		while (*sname == ' ')
			sname++;
		if (!config_name_ok(sname, "._-"))
			return perr(p, "source name \"%s\" must match [a-z0-9][a-z0-9._-]{0,63}%s", sname, "");
		if ((s = source_for(p, sname)) == NULL)
			return perr(p, "too many sources (more than %s)%s", "MAX_SOURCES", "");
		return source_key(p, s, name, value);
	}
	return perr(p, "unknown section [%s]%s (expected [trustlist] or [source NAME])", section, "");
}

/* Line of "[section]" in file (1-based), for errors found after parsing. */
static int
section_line(const char *file, const char *section)
{
	FILE	*f = fopen(file, "r");
	char	 line[1024], want[300];
	int	 n = 0, found = 0;

	if (f == NULL)
		return 0;
	snprintf(want, sizeof(want), "[%s]", section);
	while (fgets(line, sizeof(line), f) != NULL) {
		char	*s = line;

		n++;
		while (isspace((unsigned char)*s))
			s++;
		if (strncmp(s, want, strlen(want)) == 0) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Run inih over file; on error fill err with "file:line: message". 0 / -1. */
static int
parse_file(struct parse *p, const char *file, char *err, size_t errsz)
{
	int	 line;

	p->file = file;
	p->dir = path_dirname(file);
	p->err[0] = '\0';
	line = ini_parse(file, handler, p);
	free(p->dir);
	p->dir = NULL;
	if (line == -1) {
		snprintf(err, errsz, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	if (line == -2) {
		snprintf(err, errsz, "%s: out of memory", file);
		return -1;
	}
	if (line > 0) {
		snprintf(err, errsz, "%s:%d: %s", file, line,
		    p->err[0] ? p->err : "syntax error (or a line longer than inih's 200 bytes)");
		return -1;
	}
	return 0;
}

/* What is wrong with the keys of s for its type, or NULL. */
static const char *
check_source_type(const struct source_conf *s)
{
	int	 oidf = s->type == SRC_OIDF, x509 = s->type == SRC_X509;

	if ((s->type == SRC_OIDF || s->type == SRC_SIGNED_JWKS) && s->casz != 0)
		return "oidf and signed-jwks sources take anchor = JWK Set file, not ca";
	if (oidf && strncmp(s->url, "https://", 8) != 0)
		return "an oidf source's url is the trust anchor's https entity identifier";
	if (x509 && s->anchorsz != 0)
		return "an x509 source takes ca = ROOT (and crl, crl-url), not anchor";
	if (!oidf && (s->entity_idsz != 0 || !s->discover || s->tm_no_exp || s->max_fetches))
		return "entity, discover, trust-marks-without-exp and max-fetches are for oidf sources";
	if (!x509 && (s->crl_url != NULL || s->names_kind != NULL))
		return "crl-url and tls-client-auth-* are for x509 sources";
	if (s->entity_id != NULL && s->type != SRC_SIGNED_JWKS && !x509)
		return "entity-id is for signed-jwks and x509 sources";
	if (s->untyped_ok && !oidf && s->type != SRC_SIGNED_JWKS)
		return "legacy-untyped is for oidf and signed-jwks sources";
	if (oidf && !s->discover && s->entity_idsz == 0)
		return "discover = no needs at least one entity = ID";
	return NULL;
}

static int
check_source(const struct list_conf *l, const struct source_conf *s, char *err, size_t errsz)
{
	char		 sec[128];
	const char	*what = NULL;

	if (s->type == 0)
		what = "missing type";
	else if (s->url == NULL)
		what = "missing url";
	else if (s->anchorsz == 0 && s->casz == 0)
		what = "no anchor: set anchor = FILE (pinned) or ca = FILE (CA mode)";
	else if (s->anchorsz != 0 && s->casz != 0)
		what = "anchor and ca are exclusive: a source is pinned or CA-verified";
	else if ((s->crlsz != 0 || s->signer_namesz != 0 || s->crl_url != NULL) && s->casz == 0)
		what = "crl, crl-url and signer-name need ca";
	else
		what = check_source_type(s);
	if (what == NULL)
		return 0;
	snprintf(sec, sizeof(sec), "source %s", s->name);
	snprintf(err, errsz, "%s:%d: [source %s]: %s", l->file, section_line(l->file, sec), s->name, what);
	return -1;
}

static void
list_defaults(struct list_conf *l, const char *file)
{
	memset(l, 0, sizeof(*l));
	l->file = xstrdup(file);
	l->bundle_validity = 86400;
	l->saml_validity = 5 * 86400;
	l->cache_duration = 3600;
	l->refresh = 300;
	l->head_validity = 3600;
	l->bundle_variant = BUNDLE_COMPACT;
	l->max_drop = 0.10;
	l->outputs = OUT_SAML;
	l->roles = ROLE_ALL;
	l->approval_warning = 14 * 86400;
	l->cert_warning = 30 * 86400;
	l->revocation_retention = 30 * 86400;
}

static int
check_list(const struct config *c, const struct list_conf *l, char *err, size_t errsz)
{
	size_t	 i;

	if (l->name == NULL) {
		snprintf(err, errsz, "%s:%d: [trustlist]: missing name", l->file,
		    section_line(l->file, "trustlist"));
		return -1;
	}
	for (i = 0; i < c->listsz; i++) {
		if (&c->lists[i] != l && c->lists[i].name != NULL &&
		    strcmp(c->lists[i].name, l->name) == 0) {
			snprintf(err, errsz, "%s: trust list name \"%s\" is used by %s too",
			    l->file, l->name, c->lists[i].file);
			return -1;
		}
	}
	for (i = 0; i < l->sourcesz; i++)
		if (check_source(l, &l->sources[i], err, errsz) == -1)
			return -1;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every *.conf of the trustlists folder, in name order. */
static int
load_lists(struct parse *p, char *err, size_t errsz)
{
	struct config	*c = p->conf;
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 namesz = 0, i;
	int		 rc = -1;

	if ((d = opendir(c->trustlists_dir)) == NULL) {
		snprintf(err, errsz, "%s: trustlists folder %s: %s", c->file, c->trustlists_dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t	 n = strlen(de->d_name);

		if (n > 5 && de->d_name[0] != '.' && strcmp(de->d_name + n - 5, ".conf") == 0)
			strv_push(&names, &namesz, de->d_name);
	}
	closedir(d);
	if (namesz > 0)
		qsort(names, namesz, sizeof(*names), cmp_str);
	if (namesz > MAX_LISTS) {
		snprintf(err, errsz, "%s: more than %d trust lists", c->trustlists_dir, MAX_LISTS);
		goto out;
	}
	for (i = 0; i < namesz; i++) {
		char	*file = path_join(c->trustlists_dir, names[i]);
		int	 bad;

		c->lists = xreallocarray(c->lists, c->listsz + 1, sizeof(*c->lists));
		p->list = &c->lists[c->listsz++];
		list_defaults(p->list, file);
		p->seen_list = 0;
		bad = parse_file(p, file, err, errsz);
		if (!bad && !p->seen_list) {
			snprintf(err, errsz, "%s: no [trustlist] section", file);
			bad = 1;
		}
		free(file);
		if (bad || check_list(c, p->list, err, errsz) == -1)
			goto out;
	}
	rc = 0;
out:
	p->list = NULL;
	strv_free(names, namesz);
	return rc;
}

static void
config_defaults(struct config *c, const char *file)
{
	char	*dir = path_dirname(file);

	c->file = xstrdup(file);
	c->state_dir = xstrdup(LOCALSTATEDIR "/lib/fedtrust");
	c->publish_dir = xstrdup(LOCALSTATEDIR "/lib/fedtrust/publish");
	c->trustlists_dir = path_join(dir, "trustlists");
	c->listen = xstrdup("127.0.0.1:8080");
	c->fetch_timeout = MAX_FETCH_TIMEOUT;
	c->max_size = MAX_DOC_SIZE;
	c->keep_generations = MAX_GENERATIONS_KEPT;
	c->audit_syslog = 1;
	free(dir);
}

struct config *
config_load(const char *file, char *err, size_t errsz)
{
	struct config	*c = xcalloc(1, sizeof(*c));
	struct parse	 p;

	memset(&p, 0, sizeof(p));
	p.conf = c;
	config_defaults(c, file);
	if (parse_file(&p, file, err, errsz) == -1)
		goto fail;
	if (!p.seen_main) {
		snprintf(err, errsz, "%s: no [fedtrust] section", file);
		goto fail;
	}
	if (c->issuer == NULL) {
		snprintf(err, errsz, "%s:%d: [fedtrust]: missing issuer", file,
		    section_line(file, "fedtrust"));
		goto fail;
	}
	if (load_lists(&p, err, errsz) == -1)
		goto fail;
	if (c->audit_log == NULL)
		c->audit_log = path_join(c->state_dir, "audit.log");
	return c;
fail:
	config_free(c);
	return NULL;
}

static void
source_conf_free(struct source_conf *s)
{
	free(s->name);
	free(s->url);
	strv_free(s->anchors, s->anchorsz);
	strv_free(s->cas, s->casz);
	strv_free(s->crls, s->crlsz);
	strv_free(s->signer_names, s->signer_namesz);
	free(s->owner);
	strv_free(s->allow, s->allowsz);
	strv_free(s->deny, s->denysz);
	strv_free(s->ras, s->rasz);
	free(s->ca_file);
	strv_free(s->scopes, s->scopesz);
	free(s->entity_id);
	strv_free(s->entity_ids, s->entity_idsz);
	free(s->crl_url);
	free(s->names_kind);
	strv_free(s->names, s->namesz);
	free(s->note);
	for (size_t i = 0; i < s->revsz; i++) {
		free(s->revs[i].id);
		free(s->revs[i].reason);
	}
	free(s->revs);
}

void
config_free(struct config *c)
{
	size_t	 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->listsz; i++) {
		struct list_conf	*l = &c->lists[i];

		for (j = 0; j < l->sourcesz; j++)
			source_conf_free(&l->sources[j]);
		free(l->sources);
		free(l->name);
		free(l->file);
		free(l->aggregate_name);
		strv_free(l->allow, l->allowsz);
		strv_free(l->deny, l->denysz);
	}
	free(c->lists);
	free(c->file);
	free(c->issuer);
	free(c->state_dir);
	free(c->publish_dir);
	free(c->trustlists_dir);
	free(c->signing_key);
	free(c->signing_cert);
	free(c->next_key);
	free(c->base_url);
	free(c->listen);
	free(c->ca_file);
	free(c->audit_log);
	free(c);
}

const struct list_conf *
config_find_list(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->listsz; i++)
		if (strcmp(c->lists[i].name, name) == 0)
			return &c->lists[i];
	return NULL;
}
