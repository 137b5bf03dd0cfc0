/*
 * jws_tool: a test helper (built by make check, never run as a test) that
 * drives the libfedtrust JWS layer from shell scripts such as
 * tests/lib/jose-interop.sh:
 *   jws_tool keygen [--alg ALG] --out FILE        (fedtrust keygen)
 *   jws_tool sign KEY.pem ALG TYP PAYLOAD OUT     compact JWS into OUT
 *   jws_tool verify PINS TYP TOKEN                payload on stdout, exit 0;
 *                                                 "REJECT code: text", exit 1
 * PINS is a JWK, JWK Set or PEM public key (fedtrustp_keyset_add_file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "lib/private.h"

int	 cmd_keygen(int argc, char *argv[]);

/* Whole file into *buf (malloc), at most 64 MiB. 0 / -1. */
static int
slurp(const char *path, char **buf, size_t *len)
{
	FILE	*f;
	size_t	 n = 0, cap = 1 << 16;
	char	*b;

	if ((f = fopen(path, "rb")) == NULL || (b = malloc(cap + 1)) == NULL)
		return -1;
	while (!feof(f) && n <= 64 * 1024 * 1024) {
		if (n == cap && (b = realloc(b, (cap *= 2) + 1)) == NULL)
			return -1;
		n += fread(b + n, 1, cap - n, f);
		if (ferror(f))
			return -1;
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int
tool_sign(char *argv[])
{
	struct fedtrust_error	 err;
	EVP_PKEY		*k;
	FILE			*f;
	char			*pl, *tok;
	size_t			 len;
	int			 alg;

	if ((f = fopen(argv[0], "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "jws_tool: cannot read private key %s\n", argv[0]);
		return 2;
	}
	fclose(f);
	if ((alg = fedtrustp_alg_from_name(argv[1])) == FEDTRUSTP_ALG_UNKNOWN) {
		fprintf(stderr, "jws_tool: unknown alg %s\n", argv[1]);
		return 2;
	}
	if (slurp(argv[3], &pl, &len) == -1) {
		fprintf(stderr, "jws_tool: cannot read %s\n", argv[3]);
		return 2;
	}
	if ((tok = fedtrustp_jws_sign((unsigned char *)pl, len, k, alg, argv[2], &err)) == NULL) {
		fprintf(stderr, "jws_tool: sign: %s: %s\n", fedtrust_error_code_name(err.code),
		    err.text);
		return 1;
	}
	if ((f = fopen(argv[4], "w")) == NULL || fputs(tok, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "jws_tool: cannot write %s\n", argv[4]);
		return 2;
	}
	fedtrustp_free(tok);
	free(pl);
	EVP_PKEY_free(k);
	return 0;
}

static int
tool_verify(char *argv[])
{
	struct fedtrust_error	 err;
	struct fedtrustp_keyset	*set;
	unsigned char		*pl;
	char			*tok;
	size_t			 len, plsz;
	int			 rc = 1;

	if ((set = fedtrustp_keyset_new(&err)) == NULL ||
	    fedtrustp_keyset_add_file(set, argv[0], &err) == -1) {
		fprintf(stderr, "jws_tool: pins: %s: %s\n", fedtrust_error_code_name(err.code),
		    err.text);
		return 2;
	}
	if (slurp(argv[2], &tok, &len) == -1) {
		fprintf(stderr, "jws_tool: cannot read %s\n", argv[2]);
		return 2;
	}
	if (fedtrustp_jws_verify(tok, len, set, argv[1], 64 * 1024 * 1024, &pl, &plsz,
	    &err) == -1) {
		printf("REJECT %s: %s\n", fedtrust_error_code_name(err.code), err.text);
	} else {
		fwrite(pl, 1, plsz, stdout);
		fedtrustp_free(pl);
		rc = 0;
	}
	free(tok);
	fedtrustp_keyset_free(set);
	return rc;
}

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (argc == 7 && strcmp(argv[1], "sign") == 0)
		return tool_sign(argv + 2);
	if (argc == 5 && strcmp(argv[1], "verify") == 0)
		return tool_verify(argv + 2);
	fprintf(stderr, "usage: jws_tool keygen [--alg ALG] --out FILE\n"
	    "       jws_tool sign KEY.pem ALG TYP PAYLOAD OUT\n"
	    "       jws_tool verify PINS TYP TOKEN\n");
	return 2;
}
