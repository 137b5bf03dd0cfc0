/*
 * anchor.c: pins (certificate, public key, several per file, DER, garbage)
 * and CA mode (chain, revocation, names, expiry) with the test PKI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "extern.h"
#include "testutil.h"

static char	*tmp;

/* Path of a PKI file (static buffer, one at a time per call site). */
static const char *
pki(const char *name)
{
	static char	 buf[64][1024];
	static int	 i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_pki(), name);
	return buf[i];
}

static X509 *
load_cert(const char *name)
{
	FILE	*f = fopen(pki(name), "r");
	X509	*x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void
test_pin_cert(void **state)
{
	struct anchor_set	 as = { 0 };
	struct verdict		 v;

	assert_int_equal(anchor_load_pins(&as, pki("signer.pem"), &v), 0);
	assert_int_equal(as.pinsz, 1);
	assert_non_null(as.pins[0].cert);
	assert_non_null(as.pins[0].pkey);
	assert_null(as.store);
	anchor_set_free(&as);
}

static void
test_pin_pubkey(void **state)
{
	struct anchor_set	 as = { 0 };
	struct verdict		 v;

	assert_int_equal(anchor_load_pins(&as, pki("signer.pub.pem"), &v), 0);
	assert_int_equal(as.pinsz, 1);
	assert_null(as.pins[0].cert);
	assert_int_equal(EVP_PKEY_get_base_id(as.pins[0].pkey), EVP_PKEY_RSA);
	anchor_set_free(&as);
}

static void
test_pin_two_in_one_file(void **state)
{
	struct anchor_set	 as = { 0 };
	struct verdict		 v;
	char			 path[1024];

	snprintf(path, sizeof(path), "%s/two.pem", tmp);
	assert_int_equal(tu_sh("cat '%s' '%s' > '%s'", pki("signer.pem"), pki("signer2.pem"), path), 0);
	assert_int_equal(anchor_load_pins(&as, path, &v), 0);
	assert_int_equal(as.pinsz, 2);
	assert_int_not_equal(EVP_PKEY_eq(as.pins[0].pkey, as.pins[1].pkey), 1);
	anchor_set_free(&as);
}

static void
test_pin_der(void **state)
{
	struct anchor_set	 as = { 0 };
	struct verdict		 v;
	char			 path[1024];

	snprintf(path, sizeof(path), "%s/signer.der", tmp);
	assert_int_equal(tu_sh("openssl x509 -in '%s' -outform DER -out '%s'", pki("signer.pem"), path), 0);
	assert_int_equal(anchor_load_pins(&as, path, &v), 0);
	assert_int_equal(as.pinsz, 1);
	assert_non_null(as.pins[0].cert);
	anchor_set_free(&as);
}

static void
test_pin_garbage(void **state)
{
	struct anchor_set	 as = { 0 };
	struct verdict		 v;
	char			 path[1024];

	snprintf(path, sizeof(path), "%s/garbage.pem", tmp);
	assert_int_equal(tu_sh("printf 'not a key\\n' > '%s'", path), 0);
	assert_int_equal(anchor_load_pins(&as, path, &v), -1);
	assert_int_equal(as.pinsz, 0);
	snprintf(path, sizeof(path), "%s/missing.pem", tmp);
	assert_int_equal(anchor_load_pins(&as, path, &v), -1);
	/* a private key alone is not an anchor */
	assert_int_equal(anchor_load_pins(&as, pki("signer.key"), &v), -1);
	anchor_set_free(&as);
}

/* CA mode set: fedca root, optionally its CRL and name globs. */
static void
ca_set(struct anchor_set *as, int crl, const char *name)
{
	struct verdict	 v;

	memset(as, 0, sizeof(*as));
	assert_int_equal(anchor_load_ca(as, pki("fedca.pem"), &v), 0);
	if (crl)
		assert_int_equal(anchor_load_crl(as, pki("fedca.crl"), &v), 0);
	if (name != NULL)
		strv_push(&as->names, &as->namesz, name);
}

static void
test_chain_ok(void **state)
{
	struct anchor_set	 as;
	struct verdict		 v;
	X509			*x = load_cert("fedsigner.pem");

	ca_set(&as, 1, NULL);
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), 0);
	anchor_set_free(&as);
	/* name by RFC 2253 subject and by DNS subjectAltName */
	ca_set(&as, 1, "*CN=metadata-signer.example.org");
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), 0);
	anchor_set_free(&as);
	ca_set(&as, 0, "metadata-signer.example.*");
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), 0);
	anchor_set_free(&as);
	X509_free(x);
}

static void
test_chain_revoked(void **state)
{
	struct anchor_set	 as;
	struct verdict		 v;
	X509			*x = load_cert("fedsigner-revoked.pem");

	ca_set(&as, 1, NULL);
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), -1);
	assert_int_equal(v.reason, R_CHAIN_REVOKED);
	anchor_set_free(&as);
	/* without the CRL revocation is not checked (documented) */
	ca_set(&as, 0, NULL);
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), 0);
	anchor_set_free(&as);
	X509_free(x);
}

static void
test_chain_name_mismatch(void **state)
{
	struct anchor_set	 as;
	struct verdict		 v;
	X509			*x = load_cert("fedsigner.pem");

	ca_set(&as, 1, "other-signer.example.org");
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), -1);
	assert_int_equal(v.reason, R_CHAIN_NAME);
	anchor_set_free(&as);
	X509_free(x);
}

static void
test_chain_untrusted(void **state)
{
	struct anchor_set	 as;
	struct verdict		 v;
	X509			*x = load_cert("other.pem");

	ca_set(&as, 1, NULL);
	assert_int_equal(anchor_check_chain(&as, x, NULL, time(NULL), &v), -1);
	assert_int_equal(v.reason, R_CHAIN_UNTRUSTED);
	anchor_set_free(&as);
	X509_free(x);
}

static void
test_chain_expired(void **state)
{
	struct anchor_set	 as;
	struct verdict		 v;
	X509			*x = load_cert("fedsigner.pem");
	time_t			 later = time(NULL) + 20L * 365 * 86400;

	ca_set(&as, 0, NULL);
	assert_int_equal(anchor_check_chain(&as, x, NULL, later, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_EXPIRED);
	anchor_set_free(&as);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_cert),
		cmocka_unit_test(test_pin_pubkey),
		cmocka_unit_test(test_pin_two_in_one_file),
		cmocka_unit_test(test_pin_der),
		cmocka_unit_test(test_pin_garbage),
		cmocka_unit_test(test_chain_ok),
		cmocka_unit_test(test_chain_revoked),
		cmocka_unit_test(test_chain_name_mismatch),
		cmocka_unit_test(test_chain_untrusted),
		cmocka_unit_test(test_chain_expired),
	};
	int	 rc;

	tmp = tu_tmpdir("test_anchor");
	tu_pki();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return rc;
}
