/*
 * fedtrust verify: verify one document exactly as the daemon verifies a
 * source, and print one verdict line (config-and-cli.md).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"

#define TYP_ENTITY_STATEMENT	"entity-statement+jwt"
#define TYP_JWK_SET		"jwk-set+jwt"

static int
verify_usage(void)
{
	fprintf(stderr, "usage: fedtrust verify [--anchor FILE]... [--ca FILE]... [--crl FILE]...\n"
	    "           [--signer-name GLOB]... [--allow-alg rsa-sha1|sha1|ecdsa-sha512]...\n"
	    "           [--at TIME] [--type saml|jws|auto] [--typ TYP] [--allow-untyped]\n"
	    "           [--legacy-drafts]\n"
	    "           [--max-validity DUR] [--cert-validity warn|reject|ignore] [--max-size SIZE]\n"
	    "           [-v] FILE|URL\n");
	return EXIT_USAGE;
}

/* "idp,sp" from ROLE_* bits into buf. */
static const char *
roles_str(unsigned roles, char *buf, size_t bufsz)
{
	return roles_join(roles, ",", buf, bufsz);
}

/*
 * --type auto: a document whose first byte after whitespace is '<' is SAML,
 * and so is anything that cannot begin a JWS (empty, a byte order mark,
 * UTF-16, control bytes): the SAML verifier gives those their verdict.  A
 * base64url character or '{' (a JSON serialization, refused) is a JWS.
 */
static int
looks_like_jws(const unsigned char *b, size_t len)
{
	size_t	 i = 0;
	int	 c;

	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i == len)
		return 0;
	c = b[i];
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '{';
}

/* Print the verdict line of a rejection; returns EXIT_REJECT. */
static int
reject(const struct verdict *v)
{
	printf("REJECT %s: %s\n", reason_code(v->reason), v->detail);
	return EXIT_REJECT;
}

/* Fetch the document from a path or an https:// / file:// URL. 0 / -1 with v. */
static int
load_input(const char *what, size_t max, unsigned char **buf, size_t *len, struct verdict *v)
{
	struct fetch_req	 req;
	struct fetch_res	 res;
	char			 san[256];

	if (strncmp(what, "https://", 8) == 0 || strncmp(what, "file://", 7) == 0) {
		memset(&req, 0, sizeof(req));
		memset(&res, 0, sizeof(res));
		req.source = what;
		req.url = what;
		req.timeout = MAX_FETCH_TIMEOUT;
		req.connect_timeout = MAX_CONNECT_TIMEOUT;
		req.max_size = max;
		fetch_many(&req, &res, 1);
		if (!res.ok || res.not_modified) {
			*v = res.v;
			if (res.ok)
				verdict_set(v, R_FETCH_FAILED, "unexpected 304 without a cached copy");
			fetch_res_free(&res);
			return -1;
		}
		*buf = res.body;
		*len = res.bodysz;
		res.body = NULL;
		fetch_res_free(&res);
		return 0;
	}
	if (read_file(what, max, buf, len) == -1) {
		log_sanitize(what, strlen(what), san, sizeof(san));
		if (errno == EFBIG)
			return verdict_set(v, R_FETCH_TOO_LARGE, "%s is larger than %zu bytes",
			    san, max);
		return verdict_set(v, R_FETCH_FAILED, "cannot read %s: %s", san, strerror(errno));
	}
	return 0;
}

/*
 * A local file that --type (or its first bytes) makes a SAML document:
 * opened for saml_verify_fd, which streams it instead of reading it whole.
 * Returns the descriptor, -1 with v (unreadable, too large), or -2 when the
 * file is to be loaded as before (a URL, or a JWS).
 */
static int
open_saml(const char *what, const char *type, size_t max, struct verdict *v)
{
	struct stat	 sb;
	unsigned char	 head[4096];
	ssize_t		 n;
	char		 san[256];
	int		 fd;

	if (strncmp(what, "https://", 8) == 0 || strncmp(what, "file://", 7) == 0 ||
	    strcmp(type, "jws") == 0)
		return -2;
	log_sanitize(what, strlen(what), san, sizeof(san));
	if ((fd = open(what, O_RDONLY | O_CLOEXEC)) == -1)
		return verdict_set(v, R_FETCH_FAILED, "cannot read %s: %s", san, strerror(errno));
	if (fstat(fd, &sb) == -1 || S_ISDIR(sb.st_mode) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -2;	/* read_file says what is wrong, or reads a pipe */
	}
	if ((size_t)sb.st_size > max) {
		close(fd);
		return verdict_set(v, R_FETCH_TOO_LARGE, "%s is larger than %zu bytes (--max-size)",
		    san, max);
	}
	if (strcmp(type, "auto") == 0) {
		n = pread(fd, head, sizeof(head), 0);
		if (n < 0 || looks_like_jws(head, (size_t)n)) {
			close(fd);
			return -2;
		}
	}
	return fd;
}

/* What the JWS side of verify needs besides the document. */
struct jws_opts {
	const char	*typ;		/* --typ, or NULL: decided by the header */
	unsigned	 flags;		/* JWS_UNTYPED_OK with --allow-untyped */
	long		 max_validity;
	int		 verbose;
};

/* Sanitised copy of untrusted text for an output line. */
static const char *
out_str(const char *s, char *buf, size_t bufsz)
{
	return s != NULL ? log_sanitize(s, strlen(s), buf, bufsz) : "-";
}

/* RFC 7638 thumbprint of a DER SubjectPublicKeyInfo into jkt ("-" when it cannot be made). */
static const char *
spki_jkt(const unsigned char *spki, size_t len, char jkt[FEDTRUSTP_JKT_LEN + 1])
{
	const unsigned char	*p = spki;
	EVP_PKEY		*k;

	snprintf(jkt, FEDTRUSTP_JKT_LEN + 1, "-");
	if ((k = d2i_PUBKEY(NULL, &p, (long)len)) != NULL &&
	    fedtrustp_pkey_thumbprint(k, jkt, NULL) == -1)
		snprintf(jkt, FEDTRUSTP_JKT_LEN + 1, "-");
	EVP_PKEY_free(k);
	return jkt;
}

/* An entity statement: parsed and checked, then verified with the anchors only. */
static int
verify_statement(const unsigned char *buf, size_t len, const struct jwkset *anchors,
    const struct jws_opts *o, time_t now, struct verdict *v)
{
	const struct jwk_entry	*used;
	struct oidf_stmt	 st;
	size_t			 i;
	char			 t1[32], t2[32], b1[256], b2[256], b3[80];

	if (oidf_stmt_parse((const char *)buf, len, o->flags, now, OIDF_LEEWAY, o->max_validity,
	    &st, v) == -1)
		return -1;
	/* Never the statement's own jwks: only what the operator gave as anchors. */
	if (jws_verify(&st.jws, anchors, &used, v) == -1) {
		oidf_stmt_free(&st);
		return -1;
	}
	printf("ACCEPT 1 entities\n");
	if (o->verbose) {
		printf("statement iss=%s sub=%s kind=%s iat=%s exp=%s signer=%s\n",
		    out_str(st.iss, b1, sizeof(b1)), out_str(st.sub, b2, sizeof(b2)),
		    st.is_ec ? "configuration" : "subordinate", format_time(st.iat, t1, sizeof(t1)),
		    format_time(st.exp, t2, sizeof(t2)), out_str(used->kid, b3, sizeof(b3)));
		for (i = 0; i < st.jwks.n; i++)
			printf("key kid=%s jkt=%s\n", out_str(st.jwks.keys[i].kid, b3, sizeof(b3)),
			    st.jwks.keys[i].jkt);
	}
	oidf_stmt_free(&st);
	return 0;
}

/* A signed JWK Set, verified as a signed-jwks source with default settings. */
static int
verify_signed_jwks(const unsigned char *buf, size_t len, const struct jwkset *anchors,
    const struct jws_opts *o, time_t now, struct verdict *v)
{
	struct source_conf	 sc;
	struct entity_set	 set;
	const struct entity	*e;
	size_t			 i, k;
	char			 t[32], rb[128], b1[256], b2[80], jkt[FEDTRUSTP_JKT_LEN + 1];

	memset(&sc, 0, sizeof(sc));
	sc.name = (char *)"verify";
	sc.type = SRC_SIGNED_JWKS;
	sc.max_validity = o->max_validity;
	sc.roles = ROLE_ALL;
	sc.skew = MAX_SKEW_DEFAULT;
	sc.untyped_ok = (o->flags & JWS_UNTYPED_OK) != 0;
	if (jwks_src_verify(buf, len, anchors, &sc, now, &set, v) == -1)
		return -1;
	printf("ACCEPT %zu entities\n", set.entitiesz);
	for (i = 0; o->verbose && i < set.entitiesz; i++) {
		e = &set.entities[i];
		printf("entity %s proto=%s roles=%s valid-until=%s signer=%s\n",
		    out_str(e->id, b1, sizeof(b1)), proto_name(e->proto),
		    roles_str(e->roles, rb, sizeof(rb)), format_time(e->valid_until, t, sizeof(t)),
		    out_str(set.signer, b2, sizeof(b2)));
		for (k = 0; k < e->keysz; k++)
			printf("key kid=%s jkt=%s use=%s alg=%s%s\n",
			    out_str(e->keys[k].kid, b2, sizeof(b2)),
			    spki_jkt(e->keys[k].spki, e->keys[k].spkisz, jkt),
			    e->keys[k].juse != NULL ? e->keys[k].juse : "-",
			    e->keys[k].alg != NULL ? e->keys[k].alg : "-",
			    e->keys[k].cert != NULL ? " x5c" : "");
	}
	entity_set_free(&set);
	return 0;
}

/* Any other JWT whose typ the operator names: signature, then iat/nbf/exp when present. */
static int
verify_other_jwt(const unsigned char *buf, size_t len, const struct jwkset *anchors,
    const struct jws_opts *o, time_t now, struct verdict *v)
{
	const struct jwk_entry	*used;
	struct jws		 j;
	time_t			 exp;
	char			 t[32], b1[256], b2[256], b3[80], b4[80];
	int			 rc = -1;

	if (jws_parse((const char *)buf, len, o->typ, o->flags, &j, v) == -1)
		return -1;
	if (jws_verify(&j, anchors, &used, v) == -1 ||
	    jwt_window(j.payload, 0, 0, now, MAX_SKEW_DEFAULT, o->max_validity, &exp, v) == -1)
		goto out;
	printf("ACCEPT 1 entities\n");
	if (o->verbose)
		printf("jwt typ=%s iss=%s sub=%s exp=%s signer=%s\n", out_str(j.typ, b4, sizeof(b4)),
		    out_str(json_string_value(json_object_get(j.payload, "iss")), b1, sizeof(b1)),
		    out_str(json_string_value(json_object_get(j.payload, "sub")), b2, sizeof(b2)),
		    exp != 0 ? format_time(exp, t, sizeof(t)) : "-", out_str(used->kid, b3,
		    sizeof(b3)));
	rc = 0;
 out:
	jws_free(&j);
	return rc;
}

/* 1 when the media types a and b are the same (case, "application/" prefix). */
static int
typ_is(const char *a, const char *b)
{
	if (strncasecmp(a, "application/", 12) == 0)
		a += 12;
	return strcasecmp(a, b) == 0;
}

/*
 * Verify a JWS.  With --typ the expected typ decides the checks; without it
 * the header does: entity-statement+jwt (also a missing typ under
 * --allow-untyped) or jwk-set+jwt.  0 printed ACCEPT, -1 with v.
 */
static int
verify_jws(const unsigned char *buf, size_t len, const struct jwkset *anchors,
    const struct jws_opts *o, time_t now, struct verdict *v)
{
	struct verdict	 v2;

	if (o->typ != NULL) {
		if (typ_is(o->typ, TYP_ENTITY_STATEMENT))
			return verify_statement(buf, len, anchors, o, now, v);
		if (typ_is(o->typ, TYP_JWK_SET))
			return verify_signed_jwks(buf, len, anchors, o, now, v);
		return verify_other_jwt(buf, len, anchors, o, now, v);
	}
	if (verify_statement(buf, len, anchors, o, now, v) == 0)
		return 0;
	if (v->reason != R_JWS_TYP)
		return -1;
	memset(&v2, 0, sizeof(v2));
	if (verify_signed_jwks(buf, len, anchors, o, now, &v2) == 0)
		return 0;
	if (v2.reason != R_JWS_TYP) {
		*v = v2;
		return -1;
	}
	snprintf(v->detail + strlen(v->detail), sizeof(v->detail) - strlen(v->detail),
	    " (nor %s; --typ names another JWT type)", TYP_JWK_SET);
	return -1;
}

int
cmd_verify(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "anchor", required_argument, NULL, 'a' },
		{ "ca", required_argument, NULL, 'C' },
		{ "crl", required_argument, NULL, 'R' },
		{ "signer-name", required_argument, NULL, 'n' },
		{ "at", required_argument, NULL, 't' },
		{ "type", required_argument, NULL, 'T' },
		{ "typ", required_argument, NULL, 'y' },
		{ "allow-untyped", no_argument, NULL, 'U' },
		{ "legacy-drafts", no_argument, NULL, 'L' },
		{ "max-validity", required_argument, NULL, 'm' },
		{ "max-size", required_argument, NULL, 'S' },
		{ "cert-validity", required_argument, NULL, 'c' },
		{ "allow-alg", required_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct anchor_set	 as;
	struct jwkset		 ks;
	struct entity_set	 set;
	struct saml_opts	 opts;
	struct jws_opts		 jo;
	struct verdict		 v;
	unsigned char		*buf = NULL;
	size_t			 len = 0, i, anchorsz = 0, casz = 0, crlsz = 0;
	size_t			 max = MAX_DOC_SIZE;
	time_t			 now = time(NULL);
	const char		*type = "auto";
	char			**anchors = NULL, **cas = NULL, **crls = NULL;
	char			 t[32], rb[64];
	int			 ch, verbose = 0, saml_only = 0, rc = EXIT_USAGE, fd = -2;

	memset(&as, 0, sizeof(as));
	memset(&ks, 0, sizeof(ks));
	memset(&set, 0, sizeof(set));
	memset(&opts, 0, sizeof(opts));
	memset(&jo, 0, sizeof(jo));
	memset(&v, 0, sizeof(v));
	opts.max_validity = MAX_VALIDITY_DEFAULT;
	opts.cert_validity = CERT_VALIDITY_WARN;
	opts.skew = MAX_SKEW_DEFAULT;

	optind = 0;	/* GNU: full re-initialisation, argv[0] is "verify" */
	while ((ch = getopt_long(argc, argv, "a:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			strv_push(&anchors, &anchorsz, optarg);
			break;
		case 'C':
			strv_push(&cas, &casz, optarg);
			break;
		case 'R':
			strv_push(&crls, &crlsz, optarg);
			break;
		case 'n':
			strv_push(&as.names, &as.namesz, optarg);
			saml_only = 1;
			break;
		case 'A':
			if (parse_extra_algs(optarg, &as.algs_extra) == -1) {
				fprintf(stderr, "fedtrust verify: --allow-alg takes rsa-sha1, sha1 or ecdsa-sha512\n");
				goto out;
			}
			saml_only = 1;
			break;
		case 't':
			if (parse_time(optarg, &now) == -1) {
				fprintf(stderr, "fedtrust verify: bad --at time \"%s\"\n", optarg);
				goto out;
			}
			break;
		case 'T':
			if (strcmp(optarg, "saml") != 0 && strcmp(optarg, "jws") != 0 &&
			    strcmp(optarg, "auto") != 0) {
				fprintf(stderr, "fedtrust verify: bad --type \"%s\"\n", optarg);
				goto out;
			}
			type = optarg;
			break;
		case 'y':
			if (optarg[0] == '\0') {
				fprintf(stderr, "fedtrust verify: empty --typ\n");
				goto out;
			}
			jo.typ = optarg;
			break;
		case 'U':
			jo.flags |= JWS_UNTYPED_OK;
			break;
		case 'L':
			jo.flags |= JWS_UNTYPED_OK | JWS_LEGACY_DRAFTS;
			break;
		case 'm':
			if (parse_duration(optarg, &opts.max_validity) == -1) {
				fprintf(stderr, "fedtrust verify: bad --max-validity \"%s\"\n", optarg);
				goto out;
			}
			break;
		case 'S':
			if (parse_size(optarg, &max) == -1 || max < 1024) {
				fprintf(stderr, "fedtrust verify: bad --max-size \"%s\"\n", optarg);
				goto out;
			}
			break;
		case 'c':
			if (strcmp(optarg, "warn") == 0)
				opts.cert_validity = CERT_VALIDITY_WARN;
			else if (strcmp(optarg, "reject") == 0)
				opts.cert_validity = CERT_VALIDITY_REJECT;
			else if (strcmp(optarg, "ignore") == 0)
				opts.cert_validity = CERT_VALIDITY_IGNORE;
			else {
				fprintf(stderr, "fedtrust verify: bad --cert-validity \"%s\"\n", optarg);
				goto out;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			rc = verify_usage();
			goto out;
		}
	}
	if (optind != argc - 1) {
		rc = verify_usage();
		goto out;
	}
	if (anchorsz == 0 && casz == 0) {
		fprintf(stderr, "fedtrust verify: at least one --anchor or --ca is required\n");
		goto out;
	}
	opts.source = argv[optind];
	/* the command needs no standalone entity XML: less memory on big feeds */
	opts.no_xml = 1;

	if ((fd = open_saml(argv[optind], type, max, &v)) == -1) {
		rc = reject(&v);
		goto out;
	}
	if (fd >= 0) {
		type = "saml";
		goto saml;
	}
	if (load_input(argv[optind], max, &buf, &len, &v) == -1) {
		rc = reject(&v);
		goto out;
	}
	if (strcmp(type, "auto") == 0)
		type = looks_like_jws(buf, len) ? "jws" : "saml";

	if (strcmp(type, "jws") == 0) {
		if (casz > 0 || crlsz > 0 || saml_only) {
			fprintf(stderr, "fedtrust verify: --ca, --crl, --signer-name and --allow-alg "
			    "apply to SAML documents only\n");
			goto out;
		}
		if (anchorsz == 0) {
			fprintf(stderr, "fedtrust verify: a JWS needs --anchor JWK Set files\n");
			goto out;
		}
		/* Anchors of a JWS are JWK or JWK Set files, merged (one kid, one key). */
		for (i = 0; i < anchorsz; i++)
			if (jwkset_load_file(&ks, anchors[i], &v) == -1)
				goto anchor_err;
		jo.max_validity = opts.max_validity;
		jo.verbose = verbose;
		rc = verify_jws(buf, len, &ks, &jo, now, &v) == 0 ? EXIT_OK : reject(&v);
		goto out;
	}

 saml:
	if (jo.typ != NULL || jo.flags != 0) {
		fprintf(stderr, "fedtrust verify: --typ, --allow-untyped and --legacy-drafts apply "
		    "to JWS documents only\n");
		goto out;
	}
	for (i = 0; i < anchorsz; i++)
		if (anchor_load_pins(&as, anchors[i], &v) == -1)
			goto anchor_err;
	for (i = 0; i < casz; i++)
		if (anchor_load_ca(&as, cas[i], &v) == -1)
			goto anchor_err;
	for (i = 0; i < crlsz; i++)
		if (anchor_load_crl(&as, crls[i], &v) == -1)
			goto anchor_err;
	if ((fd >= 0 ? saml_verify_fd(fd, &as, &opts, now, &set, &v) :
	    saml_verify(buf, len, &as, &opts, now, &set, &v)) == -1) {
		rc = reject(&v);
		goto out;
	}
	printf("ACCEPT %zu entities\n", set.entitiesz);
	if (verbose) {
		for (i = 0; i < set.entitiesz; i++)
			printf("entity %s roles=%s valid-until=%s\n", set.entities[i].id,
			    roles_str(set.entities[i].roles, rb, sizeof(rb)),
			    format_time(set.entities[i].valid_until, t, sizeof(t)));
		for (i = 0; i < set.dropsz; i++)
			printf("dropped %s %s: %s\n", set.drops[i].id,
			    reason_code(set.drops[i].reason), set.drops[i].detail);
	}
	rc = EXIT_OK;
	goto out;
 anchor_err:
	fprintf(stderr, "fedtrust verify: %s\n", v.detail);
	rc = EXIT_USAGE;
 out:
	if (fd >= 0)
		close(fd);
	free(buf);
	entity_set_free(&set);
	anchor_set_free(&as);
	jwkset_free(&ks);
	strv_free(anchors, anchorsz);
	strv_free(cas, casz);
	strv_free(crls, crlsz);
	return rc;
}
