/*
 * fedtrust verify: verify one document exactly as the daemon verifies a
 * source, and print one verdict line (config-and-cli.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

static int
verify_usage(void)
{
	fprintf(stderr, "usage: fedtrust verify [--anchor FILE]... [--ca FILE]... [--crl FILE]...\n"
	    "           [--signer-name GLOB]... [--allow-alg rsa-sha1|sha1|ecdsa-sha512]...\n"
	    "           [--at TIME] [--type saml|jws|auto]\n"
	    "           [--max-validity DUR] [--cert-validity warn|reject|ignore] [-v] FILE|URL\n");
	return EXIT_USAGE;
}

/* "idp,sp" from ROLE_* bits into buf. */
static const char *
roles_str(unsigned roles, char *buf, size_t bufsz)
{
	static const struct { unsigned bit; const char *name; } r[] = {
		{ ROLE_IDP, "idp" }, { ROLE_SP, "sp" }, { ROLE_AA, "aa" },
		{ ROLE_AUTHN, "authn" }, { ROLE_PDP, "pdp" }, { ROLE_OTHER, "other" },
	};
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (roles & r[i].bit)
			snprintf(buf + strlen(buf), bufsz - strlen(buf), "%s%s",
			    buf[0] ? "," : "", r[i].name);
	if (buf[0] == '\0')
		snprintf(buf, bufsz, "none");
	return buf;
}

/*
 * --type auto: a compact JWS starts with "eyJ" (base64url of '{"'); anything
 * else, even a UTF-16 document, goes to the SAML verifier and gets its verdict.
 */
static int
looks_like_jws(const unsigned char *b, size_t len)
{
	size_t	 i = 0;

	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	return len - i >= 3 && memcmp(b + i, "eyJ", 3) == 0;
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
load_input(const char *what, unsigned char **buf, size_t *len, struct verdict *v)
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
		req.max_size = MAX_DOC_SIZE;
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
	if (read_file(what, MAX_DOC_SIZE, buf, len) == -1) {
		log_sanitize(what, strlen(what), san, sizeof(san));
		if (errno == EFBIG)
			return verdict_set(v, R_FETCH_TOO_LARGE, "%s is larger than %lu bytes",
			    san, (unsigned long)MAX_DOC_SIZE);
		return verdict_set(v, R_FETCH_FAILED, "cannot read %s: %s", san, strerror(errno));
	}
	return 0;
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
		{ "max-validity", required_argument, NULL, 'm' },
		{ "cert-validity", required_argument, NULL, 'c' },
		{ "allow-alg", required_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct anchor_set	 as;
	struct entity_set	 set;
	struct saml_opts	 opts;
	struct verdict		 v;
	unsigned char		*buf = NULL;
	size_t			 len = 0, i;
	time_t			 now = time(NULL);
	const char		*type = "auto";
	char			 t[32], rb[64];
	int			 ch, verbose = 0, rc = EXIT_USAGE;

	memset(&as, 0, sizeof(as));
	memset(&set, 0, sizeof(set));
	memset(&opts, 0, sizeof(opts));
	memset(&v, 0, sizeof(v));
	opts.max_validity = MAX_VALIDITY_DEFAULT;
	opts.cert_validity = CERT_VALIDITY_WARN;
	opts.skew = MAX_SKEW_DEFAULT;

	optind = 0;	/* GNU: full re-initialisation, argv[0] is "verify" */
	while ((ch = getopt_long(argc, argv, "a:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (anchor_load_pins(&as, optarg, &v) == -1)
				goto anchor_err;
			break;
		case 'C':
			if (anchor_load_ca(&as, optarg, &v) == -1)
				goto anchor_err;
			break;
		case 'R':
			if (anchor_load_crl(&as, optarg, &v) == -1)
				goto anchor_err;
			break;
		case 'n':
			strv_push(&as.names, &as.namesz, optarg);
			break;
		case 'A':
			if (parse_extra_algs(optarg, &as.algs_extra) == -1) {
				fprintf(stderr, "fedtrust verify: --allow-alg takes rsa-sha1, sha1 or ecdsa-sha512\n");
				goto out;
			}
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
		case 'm':
			if (parse_duration(optarg, &opts.max_validity) == -1) {
				fprintf(stderr, "fedtrust verify: bad --max-validity \"%s\"\n", optarg);
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
	if (strcmp(type, "jws") == 0) {
		fprintf(stderr, "fedtrust verify: --type jws is not supported yet\n");
		goto out;
	}
	if (as.pinsz == 0 && as.store == NULL) {
		fprintf(stderr, "fedtrust verify: at least one --anchor or --ca is required\n");
		goto out;
	}
	opts.source = argv[optind];

	if (load_input(argv[optind], &buf, &len, &v) == -1) {
		rc = reject(&v);
		goto out;
	}
	if (strcmp(type, "auto") == 0 && looks_like_jws(buf, len)) {
		fprintf(stderr, "fedtrust verify: --type jws is not supported yet\n");
		goto out;
	}
	if (saml_verify(buf, len, &as, &opts, now, &set, &v) == -1) {
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
	free(buf);
	entity_set_free(&set);
	anchor_set_free(&as);
	return rc;
}
