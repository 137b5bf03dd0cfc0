/*
 * fedtrust bundle verify|show and fedtrust lookup: the consumer side on the
 * command line, through the public libfedtrust API (bundle-format.md 4.9,
 * config-and-cli.md).  "show" decodes without verifying, for debugging.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "lib/private.h"

#define MAX_HEAD_FILE	(64 * 1024)

static const char *const all_purposes[] = { "jwt", "jwe", "mtls", "ca", "saml-sig",
	"saml-enc", "x509-svid", "jwt-svid" };

/* Options shared by bundle verify and lookup. */
struct consumer_opts {
	char		**keys;
	size_t		 nkeys;
	const char	*issuer;
	const char	*list;
	const char	*head;
	const char	*bundle;
	const char	*id;
	const char	*proto;
	const char	*x5t;
	time_t		 now;
};

static int
bundle_usage(void)
{
	fprintf(stderr, "usage: fedtrust bundle verify --key FILE... --issuer ISS --list NAME "
	    "[--at TIME] [--head HEADFILE] BUNDLE\n"
	    "       fedtrust bundle show BUNDLE\n");
	return EXIT_USAGE;
}

static int
lookup_usage(void)
{
	fprintf(stderr, "usage: fedtrust lookup --bundle BUNDLE --key FILE... --issuer ISS "
	    "--list NAME [--at TIME]\n"
	    "           (--id ID [--proto P] | --x5t S256)\n");
	return EXIT_USAGE;
}

/* Parse the shared options; 0, or -1 after a usage line on stderr. */
static int
parse_opts(int argc, char *argv[], int lookup, struct consumer_opts *o)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "list", required_argument, NULL, 'l' },
		{ "at", required_argument, NULL, 't' },
		{ "head", required_argument, NULL, 'H' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "id", required_argument, NULL, 'I' },
		{ "proto", required_argument, NULL, 'p' },
		{ "x5t", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->now = time(NULL);
	o->proto = "saml2";
	optind = 0;	/* GNU: full re-initialisation */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			strv_push(&o->keys, &o->nkeys, optarg);
			break;
		case 'i':
			o->issuer = optarg;
			break;
		case 'l':
			o->list = optarg;
			break;
		case 't':
			if (parse_time(optarg, &o->now) == -1) {
				fprintf(stderr, "fedtrust: --at %s: not RFC 3339 or seconds\n", optarg);
				return -1;
			}
			break;
		case 'H':
			o->head = optarg;
			break;
		case 'b':
			o->bundle = optarg;
			break;
		case 'I':
			o->id = optarg;
			break;
		case 'p':
			o->proto = optarg;
			break;
		case 'x':
			o->x5t = optarg;
			break;
		default:
			return -1;
		}
	}
	if (!lookup && o->bundle == NULL && optind == argc - 1)
		o->bundle = argv[optind++];
	if (optind != argc || o->bundle == NULL || o->nkeys == 0 || o->issuer == NULL ||
	    o->list == NULL)
		return -1;
	if (lookup && (o->id == NULL) == (o->x5t == NULL))
		return -1;
	if (!lookup && (o->id != NULL || o->x5t != NULL))
		return -1;
	return 0;
}

/* Read a file for the library; -1 after one line on stderr. */
static int
load(const char *path, size_t max, unsigned char **buf, size_t *len)
{
	if (read_file(path, max, buf, len) == -1) {
		fprintf(stderr, "fedtrust: %s: cannot read%s\n", path,
		    errno == EFBIG ? " (too large)" : "");
		return -1;
	}
	return 0;
}

/* Print the verdict line of a rejection; EXIT_REJECT. */
static int
reject(const struct fedtrust_error *err)
{
	printf("REJECT %s: %s\n", fedtrust_error_code_name(err->code), err->text);
	return EXIT_REJECT;
}

/*
 * Trust from the options, then (head and) bundle verified at o->now.
 * *b is the verified bundle; returns EXIT_OK, or the exit code to use.
 */
static int
verify(const struct consumer_opts *o, struct fedtrust_bundle **b)
{
	struct fedtrust_error	 err;
	struct fedtrust_trust	*t;
	struct fedtrust_head	 h;
	unsigned char		*buf = NULL, *hbuf = NULL;
	size_t			 len, hlen, i;
	int			 rc = EXIT_USAGE;

	*b = NULL;
	if ((t = fedtrust_trust_new(o->issuer, o->list, &err)) == NULL) {
		fprintf(stderr, "fedtrust: %s\n", err.text);
		return err.code == FEDTRUST_E_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
	}
	for (i = 0; i < o->nkeys; i++)
		if (fedtrust_trust_add_key_file(t, o->keys[i], &err) == -1) {
			fprintf(stderr, "fedtrust: --key %s: %s\n", o->keys[i], err.text);
			goto out;
		}
	/* One byte over the cap so that the library names the size problem. */
	if (load(o->bundle, 64UL * 1024 * 1024 + 1, &buf, &len) == -1)
		goto out;
	if (o->head != NULL) {
		if (load(o->head, MAX_HEAD_FILE, &hbuf, &hlen) == -1)
			goto out;
		if (fedtrust_head_verify(t, (char *)hbuf, hlen, o->now, NULL, &h, &err) == -1) {
			printf("REJECT %s: head: %s\n", fedtrust_error_code_name(err.code),
			    err.text);
			rc = EXIT_REJECT;
			goto out;
		}
	}
	*b = fedtrust_bundle_verify(t, (char *)buf, len, o->now, o->head ? &h : NULL, NULL,
	    &err);
	if (*b == NULL)
		rc = err.code == FEDTRUST_E_NOMEM ? EXIT_INTERNAL : reject(&err);
	else
		rc = EXIT_OK;
 out:
	free(buf);
	free(hbuf);
	fedtrust_trust_free(t);
	return rc;
}

static int
bundle_verify(int argc, char *argv[])
{
	struct consumer_opts	 o;
	struct fedtrust_bundle	*b;
	char			 ts[32];
	int			 rc;

	if (parse_opts(argc, argv, 0, &o) == -1) {
		strv_free(o.keys, o.nkeys);
		return bundle_usage();
	}
	if ((rc = verify(&o, &b)) == EXIT_OK)
		printf("OK seq=%" PRIu64 " entities=%zu exp=%s\n", fedtrust_bundle_seq(b),
		    fedtrust_bundle_entity_count(b),
		    format_time(fedtrust_bundle_exp(b), ts, sizeof(ts)));
	fedtrust_bundle_free(b);
	strv_free(o.keys, o.nkeys);
	return rc;
}

/* Integer member as RFC 3339 plus the number, or "-". */
static void
show_time(const char *label, json_t *v)
{
	char	 ts[32];

	if (json_is_integer(v))
		printf("%-10s %s (%" JSON_INTEGER_FORMAT ")\n", label,
		    format_time((time_t)json_integer_value(v), ts, sizeof(ts)),
		    json_integer_value(v));
	else
		printf("%-10s -\n", label);
}

/* A string array as "a,b,c" on stdout. */
static void
show_strings(json_t *a)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(a, i, v)
		printf("%s%s", i ? "," : "", json_is_string(v) ? json_string_value(v) : "?");
}

/* Decode and print a bundle (or head) without verifying anything. */
static int
bundle_show(int argc, char *argv[])
{
	struct fedtrust_error	 err;
	unsigned char		*buf = NULL, *hdr = NULL, *pl = NULL;
	size_t			 len, hlen, plen, i;
	const char		*d1, *d2, *k;
	json_t			*p = NULL, *v, *e;
	int			 rc = EXIT_REJECT;

	if (argc != 2 || argv[1][0] == '-')
		return bundle_usage();
	if (load(argv[1], 64UL * 1024 * 1024, &buf, &len) == -1)
		return EXIT_USAGE;
	printf("NOT VERIFIED: decoded only; nothing here is checked or trusted\n");
	if ((d1 = memchr(buf, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - (char *)buf))) == NULL) {
		printf("not a compact JWS (fewer than 3 segments)\n");
		goto out;
	}
	if (fedtrustp_b64url_decode((char *)buf, (size_t)(d1 - (char *)buf), &hdr, &hlen,
	    &err) == -1 ||
	    fedtrustp_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pl, &plen, &err) == -1) {
		printf("%s: %s\n", fedtrust_error_code_name(err.code), err.text);
		goto out;
	}
	printf("header     %s\n", (char *)hdr);
	printf("size       %zu bytes, payload %zu bytes\n", len, plen);
	if ((p = fedtrustp_json_parse(pl, plen, plen, FEDTRUSTP_MAX_JSON_DEPTH,
	    &err)) == NULL || !json_is_object(p)) {
		printf("payload: %s\n", p == NULL ? err.text : "not a JSON object");
		goto out;
	}
	json_object_foreach(p, k, v) {
		if (json_is_string(v))
			printf("%-10s %s\n", k, json_string_value(v));
		else if (json_is_integer(v) && strcmp(k, "iat") != 0 && strcmp(k, "exp") != 0 &&
		    strcmp(k, "bexp") != 0)
			printf("%-10s %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
	}
	show_time("iat", json_object_get(p, "iat"));
	show_time("exp", json_object_get(p, "exp"));
	if (json_object_get(p, "bexp") != NULL)
		show_time("bexp", json_object_get(p, "bexp"));
	if (json_is_object(v = json_object_get(p, "sources"))) {
		printf("sources    %zu\n", json_object_size(v));
		json_object_foreach(v, k, e)
			printf("  %s type=%s status=%s\n", k,
			    json_string_value(json_object_get(e, "type")) ?: "?",
			    json_string_value(json_object_get(e, "status")) ?: "?");
	}
	if (json_is_array(v = json_object_get(p, "entities"))) {
		printf("entities   %zu\n", json_array_size(v));
		json_array_foreach(v, i, e) {
			printf("  %s %s roles=",
			    json_string_value(json_object_get(e, "id")) ?: "?",
			    json_string_value(json_object_get(e, "proto")) ?: "?");
			show_strings(json_object_get(e, "roles"));
			printf(" keys=%zu\n", json_array_size(json_object_get(e, "keys")));
		}
	}
	rc = EXIT_OK;
 out:
	json_decref(p);
	fedtrustp_free(hdr);
	fedtrustp_free(pl);
	free(buf);
	return rc;
}

/* fedtrust bundle verify|show ... */
int
cmd_bundle(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return bundle_verify(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return bundle_show(argc - 1, argv + 1);
	return bundle_usage();
}

/*
 * A string from the bundle, with control bytes as \xNN so that a partner's
 * name or mark type stays on its own output line.
 */
static void
print_text(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
	}
}

/*
 * The OIDF, SAML and X.509 members of an entity, one line each and only
 * when present: ta, path, ec, one tm line per trust mark (marked "expired"
 * when its exp has passed at now), names.
 */
static void
print_entity_extra(const struct fedtrust_entity *e, time_t now)
{
	char		 ts[32];
	const char	*kind;
	size_t		 i;
	time_t		 exp;

	if (fedtrust_entity_ta(e) != NULL) {
		printf("ta: ");
		print_text(fedtrust_entity_ta(e));
		printf("\n");
	}
	if (fedtrust_entity_path_count(e) > 0) {
		printf("path:");
		for (i = 0; i < fedtrust_entity_path_count(e); i++) {
			printf(" ");
			print_text(fedtrust_entity_path(e, i));
		}
		printf("\n");
	}
	if (fedtrust_entity_category_count(e) > 0) {
		printf("ec:");
		for (i = 0; i < fedtrust_entity_category_count(e); i++) {
			printf(" ");
			print_text(fedtrust_entity_category(e, i));
		}
		printf("\n");
	}
	for (i = 0; i < fedtrust_entity_trust_mark_count(e); i++) {
		printf("tm: ");
		print_text(fedtrust_entity_trust_mark_type(e, i));
		exp = fedtrust_entity_trust_mark_exp(e, i);
		printf(" exp=%s%s\n", exp == 0 ? "-" : format_time(exp, ts, sizeof(ts)),
		    exp != 0 && now >= exp ? " expired" : "");
	}
	/* A subject DN holds spaces: it is the rest of the line. */
	if ((kind = fedtrust_entity_names_kind(e)) != NULL) {
		printf("names: %s", kind);
		for (i = 0; i < fedtrust_entity_name_count(e); i++) {
			printf(" ");
			print_text(fedtrust_entity_name(e, i));
		}
		printf("\n");
	}
}

/* Print one verified entity as trusted at now. */
static void
print_entity(const struct fedtrust_entity *e, time_t now)
{
	const struct fedtrust_key	*k;
	char				 ts[32];
	size_t				 i, j, n;
	long				 ns;

	printf("id: %s\nproto: %s\nroles:", fedtrust_entity_id(e), fedtrust_entity_proto(e));
	for (i = 0; i < fedtrust_entity_role_count(e); i++)
		printf(" %s", fedtrust_entity_role(e, i));
	printf("\nvalid_until: %s\nscopes:",
	    format_time(fedtrust_entity_valid_until(e), ts, sizeof(ts)));
	if ((ns = fedtrust_entity_scope_count(e)) < 0)
		printf(" (not restricted)");
	else if (ns == 0)
		printf(" (none allowed)");
	for (i = 0; ns > 0 && i < (size_t)ns; i++)
		printf(" %s", fedtrust_entity_scope(e, i));
	printf("\n");
	print_entity_extra(e, now);
	n = fedtrust_entity_key_count(e);
	for (i = 0; i < n; i++) {
		k = fedtrust_entity_key(e, i);
		printf("key: jkt=%s kid=%s alg=%s purposes=", fedtrust_key_jkt(k),
		    fedtrust_key_kid(k) ?: "-", fedtrust_key_alg(k) ?: "-");
		for (j = 0, ns = 0; j < sizeof(all_purposes) / sizeof(all_purposes[0]); j++)
			if (fedtrust_key_has_purpose(k, all_purposes[j]))
				printf("%s%s", ns++ ? "," : "", all_purposes[j]);
		printf(" x5t#S256=%s\n", fedtrust_key_x5t_s256(k) ?: "-");
	}
}

/* After NOT FOUND: say so when the bundle lists id (or certificate x5t) as revoked. */
static void
print_revoked(const struct fedtrust_bundle *b, const char *id, const char *x5t)
{
	const struct fedtrust_revoked	*r;
	char				 ts[32];
	size_t				 i;

	for (i = 0; (r = fedtrust_bundle_revoked_at(b, i)) != NULL; i++)
		if (id != NULL && strcmp(fedtrust_revoked_id(r), id) == 0)
			printf("REVOKED %s (%s) at %s: %s\n", fedtrust_revoked_id(r),
			    fedtrust_revoked_proto(r),
			    format_time(fedtrust_revoked_time(r), ts, sizeof(ts)),
			    fedtrust_revoked_reason(r));
	if (x5t != NULL && (r = fedtrust_bundle_revoked_thumbprint(b, x5t)) != NULL)
		printf("REVOKED %s (%s) at %s: %s\n", fedtrust_revoked_id(r),
		    fedtrust_revoked_proto(r), format_time(fedtrust_revoked_time(r), ts, sizeof(ts)),
		    fedtrust_revoked_reason(r));
}

/* fedtrust lookup ... */
int
cmd_lookup(int argc, char *argv[])
{
	struct consumer_opts		 o;
	struct fedtrust_bundle		*b = NULL;
	struct fedtrust_error		 err;
	const struct fedtrust_entity	*e;
	int				 rc;

	if (parse_opts(argc, argv, 1, &o) == -1) {
		strv_free(o.keys, o.nkeys);
		return lookup_usage();
	}
	if ((rc = verify(&o, &b)) != EXIT_OK)
		goto out;
	if (o.id != NULL)
		e = fedtrust_lookup(b, o.id, o.proto, o.now, &err);
	else
		e = fedtrust_lookup_x5t(b, o.x5t, o.now, NULL, &err);
	if (e == NULL) {
		printf("%s: %s\n", err.code == FEDTRUST_E_EXPIRED ? "EXPIRED" : "NOT FOUND",
		    err.text);
		print_revoked(b, o.id, o.x5t);
		rc = EXIT_REJECT;
		goto out;
	}
	print_entity(e, o.now);
 out:
	fedtrust_bundle_free(b);
	strv_free(o.keys, o.nkeys);
	return rc;
}
