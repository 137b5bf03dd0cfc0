/*
 * fedtrust keygen: make a signing key for bundles (config-and-cli.md).
 * The private key goes to a new file (PKCS#8 PEM, mode 0600, never over an
 * existing file); the public JWK, with "alg" and "kid" = its RFC 7638
 * thumbprint, goes to stdout as canonical JSON, then "thumbprint: ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "extern.h"
#include "lib/private.h"

static int
keygen_usage(void)
{
	fprintf(stderr, "usage: fedtrust keygen [--alg ES256|ES384|Ed25519|PS256|RS256] "
	    "--out FILE\n");
	return EXIT_USAGE;
}

/* A fresh key for alg (RSA 3072 for PS256 and RS256); NULL on failure. */
static EVP_PKEY *
keygen_make(int alg)
{
	switch (alg) {
	case FEDTRUSTP_ALG_ES256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case FEDTRUSTP_ALG_ES384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case FEDTRUSTP_ALG_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case FEDTRUSTP_ALG_PS256:
	case FEDTRUSTP_ALG_RS256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	default:
		return NULL;
	}
}

/*
 * Write the private key as PKCS#8 PEM into a new file (O_EXCL, 0600).
 * Returns 0, EXIT_USAGE when the file exists, EXIT_INTERNAL otherwise
 * (the partial file is removed).
 */
static int
keygen_write(const char *path, EVP_PKEY *pkey)
{
	BIO	*bio = NULL;
	char	*pem;
	long	 len;
	ssize_t	 w;
	size_t	 off = 0;
	int	 fd, rc = EXIT_INTERNAL;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		fprintf(stderr, "fedtrust keygen: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return errno == EEXIST ? EXIT_USAGE : EXIT_INTERNAL;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		fprintf(stderr, "fedtrust keygen: cannot encode the private key\n");
		goto out;
	}
	len = BIO_get_mem_data(bio, &pem);
	while (off < (size_t)len) {
		w = write(fd, pem + off, (size_t)len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			fprintf(stderr, "fedtrust keygen: %s: %s\n", path, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1) {
		fprintf(stderr, "fedtrust keygen: %s: fsync: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	if (close(fd) == -1 && rc == 0) {
		fprintf(stderr, "fedtrust keygen: %s: %s\n", path, strerror(errno));
		rc = EXIT_INTERNAL;
	}
	if (rc != 0)
		unlink(path);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* fedtrust keygen (argv[0] = "keygen"). Exit 0, 2 usage or existing file, 3 internal. */
int
cmd_keygen(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fedtrust_error	 err;
	const char		*out = NULL, *algname = "ES256";
	char			 jkt[FEDTRUSTP_JKT_LEN + 1], *s = NULL;
	EVP_PKEY		*pkey = NULL;
	json_t			*jwk = NULL;
	int			 c, alg, rc = EXIT_INTERNAL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			algname = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return keygen_usage();
		}
	}
	if (optind != argc || out == NULL)
		return keygen_usage();
	alg = fedtrustp_alg_from_name(algname);
	if (!fedtrustp_alg_pinnable(alg) && alg != FEDTRUSTP_ALG_RS256) {
		fprintf(stderr, "fedtrust keygen: unsupported alg \"%s\"\n", algname);
		return keygen_usage();
	}

	if ((pkey = keygen_make(alg)) == NULL) {
		fprintf(stderr, "fedtrust keygen: key generation failed\n");
		goto out;
	}
	if ((jwk = fedtrustp_pkey_to_jwk(pkey, &err)) == NULL ||
	    fedtrustp_jwk_thumbprint(jwk, jkt, &err) == -1) {
		fprintf(stderr, "fedtrust keygen: %s\n", err.text);
		goto out;
	}
	if (json_object_set_new(jwk, "alg", json_string(fedtrustp_alg_name(alg))) == -1 ||
	    json_object_set_new(jwk, "kid", json_string(jkt)) == -1 ||
	    (s = fedtrustp_json_dump_canonical(jwk, &err)) == NULL) {
		fprintf(stderr, "fedtrust keygen: out of memory\n");
		goto out;
	}
	if ((rc = keygen_write(out, pkey)) != 0)
		goto out;
	printf("%s\nthumbprint: %s\n", s, jkt);
	if (fflush(stdout) != 0)
		rc = EXIT_INTERNAL;
 out:
	ERR_clear_error();
	fedtrustp_free(s);
	json_decref(jwk);
	EVP_PKEY_free(pkey);
	return rc;
}
