/*
 * A small libfedtrust consumer: pin the operator keys, verify a bundle
 * file, look one caller up and print what the gateway may trust.
 *
 *   cc lookup.c $(pkg-config --cflags --libs libfedtrust) -o lookup
 *   ./lookup ISS LIST KEYFILE BUNDLEFILE ID [PROTO]
 *
 * Uses include/fedtrust/fedtrust.h only.  Exit 0 found, 1 rejected or not
 * found, 2 usage or unreadable files.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fedtrust/fedtrust.h>

/* The whole file in memory (caller frees), or NULL. */
static char *
read_all(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

int
main(int argc, char *argv[])
{
	static const char *const purposes[] = { "jwt", "jwe", "mtls", "ca", "saml-sig",
	    "saml-enc", "x509-svid", "jwt-svid" };
	struct fedtrust_error		 err;	/* caller-owned, no allocation */
	struct fedtrust_trust		*trust = NULL;
	struct fedtrust_bundle		*bundle = NULL;
	const struct fedtrust_entity	*e;
	const struct fedtrust_key	*k;
	char				*jws = NULL;
	size_t				 len = 0, i, j;
	time_t				 now = time(NULL);	/* captured once */
	int				 rc = 1;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: lookup ISS LIST KEYFILE BUNDLEFILE ID [PROTO]\n");
		return 2;
	}
	/* 1. What we trust: issuer, list, pinned operator keys (current + next). */
	if ((trust = fedtrust_trust_new(argv[1], argv[2], &err)) == NULL ||
	    fedtrust_trust_add_key_file(trust, argv[3], &err) == -1) {
		fprintf(stderr, "lookup: %s: %s\n", fedtrust_error_code_name(err.code), err.text);
		rc = 2;
		goto out;
	}
	/* 2. Verify the bundle; NULL means nothing of it may be used. */
	if ((jws = read_all(argv[4], &len)) == NULL) {
		fprintf(stderr, "lookup: %s: cannot read\n", argv[4]);
		rc = 2;
		goto out;
	}
	bundle = fedtrust_bundle_verify(trust, jws, len, now, NULL, NULL, &err);
	if (bundle == NULL) {
		printf("REJECT %s: %s\n", fedtrust_error_code_name(err.code), err.text);
		goto out;
	}
	printf("bundle seq %" PRIu64 ", %zu entities\n", fedtrust_bundle_seq(bundle),
	    fedtrust_bundle_entity_count(bundle));
	/* 3. Request time: exact (id, proto), bounded by valid_until and bundle exp. */
	e = fedtrust_lookup(bundle, argv[5], argc == 7 ? argv[6] : "saml2", now, &err);
	if (e == NULL) {
		printf("%s: %s\n", fedtrust_error_code_name(err.code), err.text);
		goto out;
	}
	printf("id %s (%s), valid until %lld\nroles:", fedtrust_entity_id(e),
	    fedtrust_entity_proto(e), (long long)fedtrust_entity_valid_until(e));
	for (i = 0; i < fedtrust_entity_role_count(e); i++)
		printf(" %s", fedtrust_entity_role(e, i));
	printf("\nscopes:");
	if (fedtrust_entity_scope_count(e) < 0)
		printf(" (not restricted)");
	for (i = 0; fedtrust_entity_scope_count(e) > 0 &&
	    i < (size_t)fedtrust_entity_scope_count(e); i++)
		printf(" %s", fedtrust_entity_scope(e, i));
	printf("\n");
	/* OpenID Federation: the trust anchor, and the marks still valid now. */
	if (fedtrust_entity_ta(e) != NULL)
		printf("trust anchor: %s\n", fedtrust_entity_ta(e));
	for (i = 0; i < fedtrust_entity_trust_mark_count(e); i++)
		printf("trust mark: %s%s\n", fedtrust_entity_trust_mark_type(e, i),
		    fedtrust_entity_has_trust_mark(e, fedtrust_entity_trust_mark_type(e, i), now) ?
		    "" : " (expired)");
	/* X.509 / RFC 8705: which certificate names identify this partner. */
	if (fedtrust_entity_names_kind(e) != NULL) {
		printf("certificate %s:", fedtrust_entity_names_kind(e));
		for (i = 0; i < fedtrust_entity_name_count(e); i++)
			printf(" \"%s\"", fedtrust_entity_name(e, i));
		printf("\n");
	}
	for (i = 0; i < fedtrust_entity_key_count(e); i++) {
		k = fedtrust_entity_key(e, i);	/* borrowed: valid until the bundle is freed */
		printf("key %s kid=%s purposes:", fedtrust_key_jkt(k),
		    fedtrust_key_kid(k) ? fedtrust_key_kid(k) : "-");
		for (j = 0; j < sizeof(purposes) / sizeof(purposes[0]); j++)
			if (fedtrust_key_has_purpose(k, purposes[j]))
				printf(" %s", purposes[j]);
		printf("\n");
	}
	rc = 0;
 out:
	fedtrust_bundle_free(bundle);
	fedtrust_trust_free(trust);
	free(jws);
	return rc;
}
