/*
 * x509_src.c: X.509 partners registered by leaf certificate or by CA, with a
 * private PKI made at test time by openssl (two roots, a root's look-alike,
 * a partner issuing CA, leaves that are revoked, short-lived, not yet valid,
 * weak) and CRLs that are fresh, expired, from the future, or signed by
 * another CA.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

#define DAY	86400L

static char	*tmp;
static time_t	 t0;	/* when the PKI was made: every validity is relative to it */

/*
 * The PKI, run once with the folder as $1.  All certificates come from
 * `openssl ca` so that they can be revoked and CRLs issued.
 */
static const char pki_script[] =
"set -eu\n"
"cd \"$1\"\n"
"now=$2\n"
"ts() { date -u -d \"@$((now + $1))\" +%y%m%d%H%M%SZ; }\n"
"o() { if ! openssl \"$@\" > openssl.log 2>&1; then echo \"openssl $*\" >&2; cat openssl.log >&2; exit 1; fi; }\n"
"cacnf() {\n"
"	mkdir -p $1.db; : > $1.db/index.txt; echo 1000 > $1.db/serial; echo 1000 > $1.db/crlnumber\n"
"	cat > $1.cnf <<EOF\n"
"[ca]\n"
"default_ca = this\n"
"[this]\n"
"dir = $1.db\n"
"database = $1.db/index.txt\n"
"serial = $1.db/serial\n"
"crlnumber = $1.db/crlnumber\n"
"new_certs_dir = $1.db\n"
"certificate = $1.pem\n"
"private_key = $1.key\n"
"default_md = sha256\n"
"default_days = 365\n"
"default_crl_days = 30\n"
"policy = anything\n"
"unique_subject = no\n"
"copy_extensions = copy\n"
"[anything]\n"
"commonName = supplied\n"
"organizationName = optional\n"
"[leaf]\n"
"basicConstraints = critical,CA:FALSE\n"
"keyUsage = critical,digitalSignature\n"
"extendedKeyUsage = clientAuth\n"
"[subca]\n"
"basicConstraints = critical,CA:TRUE\n"
"keyUsage = critical,keyCertSign,cRLSign\n"
"EOF\n"
"}\n"
"key() {\n"
"	case $2 in\n"
"	ec) o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key ;;\n"
"	rsa1024) o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out $1.key ;;\n"
"	*) o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $1.key ;;\n"
"	esac\n"
"}\n"
"root() { # name alg subject\n"
"	key $1 $2\n"
"	o req -x509 -new -key $1.key -out $1.pem -days 3650 -subj \"$3\" \\\n"
"		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n"
"	cacnf $1\n"
"}\n"
"issue() { # name ca ext alg subject san [openssl ca options]\n"
"	n=$1 ca=$2 ext=$3 alg=$4 subj=$5 san=$6; shift 6\n"
"	key $n $alg\n"
"	if [ -n \"$san\" ]; then o req -new -key $n.key -out $n.csr -subj \"$subj\" -addext \"subjectAltName=$san\"\n"
"	else o req -new -key $n.key -out $n.csr -subj \"$subj\"; fi\n"
"	o ca -batch -config $ca.cnf -extensions $ext -in $n.csr -out $n.pem -notext \"$@\"\n"
"}\n"
"enddate() { date -u -d \"$(openssl $1 -in $2 -noout -$3 | cut -d= -f2)\" +%s > $4; }\n"
"root rootA rsa '/CN=Partner Root A/O=Test'\n"
"root rootB ec '/CN=Partner Root B/O=Test'\n"
"root fakeA rsa '/CN=Partner Root A/O=Test'\n"
"issue leaf rootA leaf ec '/CN=client.partner.example/O=Partner' \\\n"
"	'DNS:client.partner.example,URI:https://partner.example/client'\n"
"issue revoked rootA leaf ec '/CN=old.partner.example/O=Partner' 'DNS:old.partner.example'\n"
"issue weak rootA leaf rsa1024 '/CN=weak.partner.example/O=Partner' ''\n"
"issue short rootA leaf ec '/CN=short.partner.example/O=Partner' '' -days 1\n"
"issue future rootA leaf ec '/CN=future.partner.example/O=Partner' '' \\\n"
"	-startdate $(ts $((2 * 86400))) -enddate $(ts $((30 * 86400)))\n"
"issue pca rootA subca rsa '/CN=Partner Issuing CA/O=Partner' ''\n"
"cacnf pca\n"
"issue sub pca leaf ec '/CN=sub.partner.example/O=Partner' 'DNS:sub.partner.example'\n"
"issue other rootB leaf ec '/CN=other.partner.example/O=Partner' ''\n"
"key self ec\n"
"o req -x509 -new -key self.key -out self.pem -days 30 -subj /CN=self.partner.example \\\n"
"	-addext basicConstraints=critical,CA:FALSE\n"
"o ca -config rootA.cnf -revoke revoked.pem\n"
"o ca -config rootA.cnf -gencrl -crldays 30 -out rootA.crl\n"
"o crl -in rootA.crl -outform DER -out rootA.crl.der\n"
"o ca -config rootA.cnf -gencrl -crl_lastupdate $(ts -172800) -crl_nextupdate $(ts -86400) -out rootA-expired.crl\n"
"o ca -config rootA.cnf -gencrl -crl_lastupdate $(ts 86400) -crl_nextupdate $(ts 2592000) -out rootA-future.crl\n"
"o ca -config rootB.cnf -gencrl -out rootB.crl\n"
"o ca -config fakeA.cnf -gencrl -out fakeA.crl\n"
"o ca -config pca.cnf -gencrl -crldays 7 -out pca.crl\n"
"cat sub.pem pca.pem > sub-chain.pem\n"
"cat leaf.pem leaf.key > leaf-with-key.pem\n"
"o x509 -in leaf.pem -outform DER -out leaf.der\n"
"openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER -out leaf.spki\n"
"enddate x509 leaf.pem enddate leaf.end\n"
"enddate x509 short.pem enddate short.end\n"
"enddate x509 pca.pem enddate pca.end\n"
"enddate x509 sub.pem enddate sub.end\n"
"enddate crl rootA.crl nextupdate rootA.crl.next\n"
"enddate crl pca.crl nextupdate pca.crl.next\n";

/* Path of a PKI file (static ring of buffers, many per test). */
static const char *
f(const char *name)
{
	static char	 buf[64][1024];
	static int	 i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

/* A number written by the PKI script (seconds since the epoch). */
static time_t
num(const char *name)
{
	unsigned char	*b;
	size_t		 len;
	time_t		 t;

	b = tu_read(f(name), &len);
	t = (time_t)strtoll((char *)b, NULL, 10);
	free(b);
	assert_true(t > 0);
	return t;
}

/* Arrays behind a source_conf (source_conf holds char **). */
struct tconf {
	struct source_conf	 s;
	char			*cas[2];
	char			*crls[3];
	char			*signer[2];
	char			*names[2];
	char			*scopes[2];
};

/* An x509 source with root ca (a file name of the PKI) and defaults. */
static struct source_conf *
conf(struct tconf *c, const char *ca)
{
	memset(c, 0, sizeof(*c));
	c->s.name = "partner-a";
	c->s.type = SRC_X509;
	c->s.roles = ROLE_ALL;
	c->s.skew = MAX_SKEW_DEFAULT;
	c->cas[0] = (char *)f(ca);
	c->s.cas = c->cas;
	c->s.casz = 1;
	c->s.crls = c->crls;
	c->s.signer_names = c->signer;
	c->s.names = c->names;
	c->s.scopes = c->scopes;
	return &c->s;
}

/* Add a CRL file to the source. */
static void
conf_crl(struct tconf *c, const char *crl)
{
	c->crls[c->s.crlsz++] = (char *)f(crl);
}

/*
 * x509_src_verify on the PKI file doc with the PKI CRL file crl as the
 * fetched CRL (NULL: none) at now.  set is fresh; the caller frees it.
 */
static int
run(const char *doc, const char *crl, const struct source_conf *s, time_t now,
    struct entity_set *set, struct verdict *v)
{
	unsigned char	*d, *c = NULL;
	size_t		 dlen, clen = 0;
	int		 rc;

	d = tu_read(f(doc), &dlen);
	if (crl != NULL)
		c = tu_read(f(crl), &clen);
	memset(set, 0, sizeof(*set));
	set->cache_duration = -1;
	memset(v, 0, sizeof(*v));
	rc = x509_src_verify(d, dlen, c, clen, s, now, set, v);
	if (rc == -1)
		assert_int_equal(set->entitiesz, 0);
	free(d);
	free(c);
	return rc;
}

/* The reason of a rejected run (asserts it was rejected). */
static enum reason
reject(const char *doc, const char *crl, const struct source_conf *s, time_t now)
{
	struct entity_set	 set;
	struct verdict		 v;

	assert_int_equal(run(doc, crl, s, now, &set, &v), -1);
	assert_int_not_equal(v.reason, R_NONE);
	assert_true(v.detail[0] != '\0');
	entity_set_free(&set);
	return v.reason;
}

/* 0 when accepted (the set is freed). */
static int
verify_ok(const char *doc, const char *crl, const struct source_conf *s, time_t now)
{
	struct entity_set	 set;
	struct verdict		 v;
	int			 rc;

	rc = run(doc, crl, s, now, &set, &v);
	if (rc == -1)
		print_message("rejected: %s: %s\n", reason_code(v.reason), v.detail);
	entity_set_free(&set);
	return rc;
}

/* A leaf partner: one mtls key with the certificate's DER and SPKI, defaults. */
static void
test_leaf_ok(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;
	struct entity		*e;
	struct key		*k;
	unsigned char		*der, *spki;
	size_t			 dersz, spkisz;
	char			 h1[65], h2[65];

	(void)state;
	der = tu_read(f("leaf.der"), &dersz);
	spki = tu_read(f("leaf.spki"), &spkisz);
	assert_int_equal(run("leaf.pem", NULL, conf(&c, "rootA.pem"), t0, &set, &v), 0);
	assert_int_equal(set.entitiesz, 1);
	e = &set.entities[0];
	assert_string_equal(e->id, "partner-a");
	assert_int_equal(e->proto, PROTO_X509);
	assert_int_equal(e->roles, ROLE_TLS_CLIENT);
	assert_null(e->xml);
	assert_null(e->names_kind);
	assert_int_equal(e->scoped, 0);
	assert_int_equal(e->keysz, 1);
	k = &e->keys[0];
	assert_int_equal(k->purposes, PURP_MTLS);
	assert_int_equal(k->prov, PROV_LOCAL);
	/* x5t#S256 is the SHA-256 of exactly this DER */
	assert_int_equal(k->certsz, dersz);
	assert_memory_equal(k->cert, der, dersz);
	sha256_hex(k->cert, k->certsz, h1);
	sha256_hex(der, dersz, h2);
	assert_string_equal(h1, h2);
	assert_int_equal(k->spkisz, spkisz);
	assert_memory_equal(k->spki, spki, spkisz);
	assert_int_equal(k->not_after, num("leaf.end"));
	/* the leaf (1 year) expires before its root (10 years) */
	assert_int_equal(e->valid_until, num("leaf.end"));
	assert_int_equal(set.valid_until, num("leaf.end"));
	assert_non_null(set.signer);
	assert_non_null(strstr(set.signer, "CN=Partner Root A"));
	entity_set_free(&set);

	/* entity-id, roles, scopes and names (optional on a leaf) are copied */
	conf(&c, "rootA.pem");
	c.s.entity_id = "https://partner.example/client";
	c.s.roles = ROLE_TLS_SERVER;
	c.s.scoped = 1;
	c.scopes[0] = "payments";
	c.s.scopesz = 1;
	c.s.names_kind = "san_dns";
	c.names[0] = "client.partner.example";
	c.s.namesz = 1;
	assert_int_equal(run("leaf.pem", NULL, &c.s, t0, &set, &v), 0);
	e = &set.entities[0];
	assert_string_equal(e->id, "https://partner.example/client");
	assert_int_equal(e->roles, ROLE_TLS_SERVER);
	assert_int_equal(e->scoped, 1);
	assert_int_equal(e->scopesz, 1);
	assert_string_equal(e->scopes[0], "payments");
	assert_string_equal(e->names_kind, "san_dns");
	assert_int_equal(e->namesz, 1);
	assert_string_equal(e->names[0], "client.partner.example");
	assert_int_equal(e->keys[0].purposes, PURP_MTLS);
	entity_set_free(&set);

	/* both roles; a role of another type falls back to the default */
	c.s.roles = ROLE_TLS_CLIENT | ROLE_TLS_SERVER;
	assert_int_equal(run("leaf.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].roles, ROLE_TLS_CLIENT | ROLE_TLS_SERVER);
	entity_set_free(&set);
	c.s.roles = ROLE_IDP;
	assert_int_equal(run("leaf.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].roles, ROLE_TLS_CLIENT);
	entity_set_free(&set);
	/* scopes = none: restricted to nothing */
	c.s.scopesz = 0;
	assert_int_equal(run("leaf.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].scoped, 1);
	assert_int_equal(set.entities[0].scopesz, 0);
	entity_set_free(&set);
	free(der);
	free(spki);
}

/* A partner registered by its issuing CA: purpose ca, names required. */
static void
test_ca_registration(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(run("pca.pem", NULL, &c.s, t0, &set, &v), -1);
	assert_int_equal(v.reason, R_CERT_INVALID);
	assert_non_null(strstr(v.detail, "tls-client-auth"));
	/* a kind without names is no better */
	c.s.names_kind = "san_dns";
	assert_int_equal(reject("pca.pem", NULL, &c.s, t0), R_CERT_INVALID);

	c.names[0] = "*.partner.example";
	c.s.namesz = 1;
	assert_int_equal(run("pca.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entitiesz, 1);
	assert_int_equal(set.entities[0].keysz, 1);
	assert_int_equal(set.entities[0].keys[0].purposes, PURP_CA);
	assert_int_equal(set.entities[0].keys[0].prov, PROV_LOCAL);
	assert_string_equal(set.entities[0].names_kind, "san_dns");
	assert_string_equal(set.entities[0].names[0], "*.partner.example");
	assert_int_equal(set.entities[0].valid_until, num("pca.end"));
	entity_set_free(&set);

	/* subject DN form (RFC 2253: the last RDN first) */
	c.s.names_kind = "subject_dn";
	c.names[0] = "O=Partner,CN=client.partner.example";
	assert_int_equal(verify_ok("pca.pem", NULL, &c.s, t0), 0);
	/* a CA still has to chain to the configured root */
	conf(&c, "rootB.pem");
	c.s.names_kind = "san_dns";
	c.names[0] = "*.partner.example";
	c.s.namesz = 1;
	assert_int_equal(reject("pca.pem", NULL, &c.s, t0), R_CHAIN_UNTRUSTED);
}

/* A root the partner does not chain to; a self-signed leaf pinned as its own root. */
static void
test_wrong_root(void **state)
{
	struct tconf	 c;

	(void)state;
	assert_int_equal(reject("other.pem", NULL, conf(&c, "rootA.pem"), t0), R_CHAIN_UNTRUSTED);
	assert_int_equal(reject("leaf.pem", NULL, conf(&c, "rootB.pem"), t0), R_CHAIN_UNTRUSTED);
	/* a look-alike root (same name, another key) */
	assert_int_equal(reject("leaf.pem", NULL, conf(&c, "fakeA.pem"), t0), R_CHAIN_UNTRUSTED);
	assert_int_equal(verify_ok("other.pem", NULL, conf(&c, "rootB.pem"), t0), 0);
	assert_int_equal(verify_ok("self.pem", NULL, conf(&c, "self.pem"), t0), 0);
	assert_int_equal(reject("self.pem", NULL, conf(&c, "rootA.pem"), t0), R_CHAIN_UNTRUSTED);
}

/* Validity at the `now` passed in (fedtrust build --at). */
static void
test_expired(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(run("short.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].valid_until, num("short.end"));
	entity_set_free(&set);
	assert_int_equal(reject("short.pem", NULL, &c.s, t0 + 2 * DAY), R_CHAIN_EXPIRED);
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0 + 400 * DAY), R_CHAIN_EXPIRED);
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0 + 300 * DAY), 0);
}

static void
test_not_yet_valid(void **state)
{
	struct tconf	 c;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(reject("future.pem", NULL, &c.s, t0), R_CHAIN_EXPIRED);
	assert_int_equal(verify_ok("future.pem", NULL, &c.s, t0 + 3 * DAY), 0);
	/* before the root itself */
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0 - 2 * DAY), R_CHAIN_EXPIRED);
}

/* Revocation with the source's CRL files (PEM and DER). */
static void
test_revoked_crl_file(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;

	(void)state;
	conf(&c, "rootA.pem");
	/* without a CRL revocation is not known */
	assert_int_equal(verify_ok("revoked.pem", NULL, &c.s, t0), 0);
	conf_crl(&c, "rootA.crl");
	assert_int_equal(reject("revoked.pem", NULL, &c.s, t0), R_CHAIN_REVOKED);
	/* the good leaf stays, now bounded by the CRL's nextUpdate (30 days) */
	assert_int_equal(run("leaf.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].valid_until, num("rootA.crl.next"));
	assert_int_equal(set.valid_until, num("rootA.crl.next"));
	assert_true(num("rootA.crl.next") < num("leaf.end"));
	entity_set_free(&set);

	conf(&c, "rootA.pem");
	conf_crl(&c, "rootA.crl.der");
	assert_int_equal(reject("revoked.pem", NULL, &c.s, t0), R_CHAIN_REVOKED);
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0), 0);
}

/* Revocation with the CRL fetched from crl-url (bytes, PEM or DER). */
static void
test_revoked_fetched(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;

	(void)state;
	conf(&c, "rootA.pem");
	c.s.crl_url = "https://ca.partner.example/root.crl";
	assert_int_equal(reject("revoked.pem", "rootA.crl", &c.s, t0), R_CHAIN_REVOKED);
	assert_int_equal(reject("revoked.pem", "rootA.crl.der", &c.s, t0), R_CHAIN_REVOKED);
	assert_int_equal(run("leaf.pem", "rootA.crl.der", &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].valid_until, num("rootA.crl.next"));
	entity_set_free(&set);
	/* crl-url configured but no CRL at hand: fail closed */
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_CRL);
	/* a CRL file that expired, with a fresh fetched one: the fresh one is used */
	conf_crl(&c, "rootA-expired.crl");
	assert_int_equal(reject("revoked.pem", "rootA.crl", &c.s, t0), R_CHAIN_REVOKED);
	assert_int_equal(verify_ok("leaf.pem", "rootA.crl", &c.s, t0), 0);
}

/* A CRL past its nextUpdate, as a file or fetched. */
static void
test_crl_expired(void **state)
{
	struct tconf	 c;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(reject("leaf.pem", "rootA-expired.crl", &c.s, t0), R_CHAIN_CRL);
	conf_crl(&c, "rootA-expired.crl");
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_CRL);
	/* the fresh CRL itself expires after 30 days */
	conf(&c, "rootA.pem");
	conf_crl(&c, "rootA.crl");
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0 + 31 * DAY), R_CHAIN_CRL);
	assert_int_equal(reject("leaf.pem", "rootA.crl", conf(&c, "rootA.pem"), t0 + 31 * DAY),
	    R_CHAIN_CRL);
}

/* A CRL from another CA, or from a look-alike with the root's name. */
static void
test_crl_other_ca(void **state)
{
	struct tconf	 c;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(reject("leaf.pem", "rootB.crl", &c.s, t0), R_CHAIN_CRL);
	assert_int_equal(reject("leaf.pem", "fakeA.crl", &c.s, t0), R_CHAIN_CRL);
	conf_crl(&c, "fakeA.crl");
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_CRL);
	conf(&c, "rootA.pem");
	conf_crl(&c, "rootB.crl");
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_CRL);
}

/* x509_crl_check on its own: what build.c runs before caching a fetched CRL. */
static void
test_crl_check(void **state)
{
	struct tconf	 c;
	struct verdict	 v;
	unsigned char	*crl, *der, *pcrl, *doc, *pca;
	size_t		 crlsz, dersz, pcrlsz, docsz, pcasz;
	time_t		 next = 0;

	(void)state;
	conf(&c, "rootA.pem");
	crl = tu_read(f("rootA.crl"), &crlsz);
	der = tu_read(f("rootA.crl.der"), &dersz);
	pcrl = tu_read(f("pca.crl"), &pcrlsz);
	doc = tu_read(f("sub-chain.pem"), &docsz);
	pca = tu_read(f("pca.pem"), &pcasz);

	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0, &next, &v), 0);
	assert_int_equal(next, num("rootA.crl.next"));
	next = 0;
	assert_int_equal(x509_crl_check(der, dersz, doc, docsz, &c.s, t0, &next, &v), 0);
	assert_int_equal(next, num("rootA.crl.next"));
	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0 + 31 * DAY, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	/* DER with a trailing byte, truncated, garbage */
	assert_int_equal(x509_crl_check(der, dersz - 1, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	assert_int_equal(x509_crl_check((const unsigned char *)"garbage", 7, NULL, 0, &c.s, t0,
	    &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	assert_int_equal(x509_crl_check(NULL, 0, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	/* the partner CA's CRL: signed by an intermediate of the document */
	next = 0;
	assert_int_equal(x509_crl_check(pcrl, pcrlsz, doc, docsz, &c.s, t0, &next, &v), 0);
	assert_int_equal(next, num("pca.crl.next"));
	/* not without that intermediate, and never by the partner certificate itself */
	assert_int_equal(x509_crl_check(pcrl, pcrlsz, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	assert_int_equal(x509_crl_check(pcrl, pcrlsz, pca, pcasz, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	/* an intermediate that does not chain to the configured root does not count */
	conf(&c, "rootB.pem");
	assert_int_equal(x509_crl_check(pcrl, pcrlsz, doc, docsz, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	free(crl);
	free(der);
	free(pcrl);
	free(doc);
	free(pca);

	/* lastUpdate a day ahead: refused with the default skew, taken with a 2-day skew */
	conf(&c, "rootA.pem");
	crl = tu_read(f("rootA-future.crl"), &crlsz);
	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	c.s.skew = 2 * DAY;
	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0, &next, &v), 0);
	free(crl);
	/* other signers */
	c.s.skew = MAX_SKEW_DEFAULT;
	crl = tu_read(f("rootB.crl"), &crlsz);
	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	free(crl);
	crl = tu_read(f("fakeA.crl"), &crlsz);
	assert_int_equal(x509_crl_check(crl, crlsz, NULL, 0, &c.s, t0, &next, &v), -1);
	assert_int_equal(v.reason, R_CHAIN_CRL);
	assert_non_null(strstr(v.detail, "does not verify"));
	free(crl);
}

/* signer-name globs over the RFC 2253 subject, DNS and URI SANs. */
static void
test_signer_names(void **state)
{
	struct tconf	 c;

	(void)state;
	conf(&c, "rootA.pem");
	c.s.signer_namesz = 1;
	c.signer[0] = "O=Partner,CN=client.partner.example";
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0), 0);
	c.signer[0] = "*.partner.example";
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0), 0);
	c.signer[0] = "https://partner.example/*";
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0), 0);
	c.signer[0] = "*.other.example";
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_NAME);
	c.signer[0] = "O=Partner";	/* a glob over the whole DN, not a prefix */
	assert_int_equal(reject("leaf.pem", NULL, &c.s, t0), R_CHAIN_NAME);
	/* any of several */
	c.signer[1] = "client.partner.*";
	c.s.signer_namesz = 2;
	assert_int_equal(verify_ok("leaf.pem", NULL, &c.s, t0), 0);
	/* on the partner certificate, not on its chain */
	c.signer[0] = "O=Partner,CN=Partner Issuing CA";
	c.s.signer_namesz = 1;
	assert_int_equal(reject("sub-chain.pem", NULL, &c.s, t0), R_CHAIN_NAME);
}

/* Documents that are not a usable certificate. */
static void
test_garbage(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;
	unsigned char		*der;
	size_t			 dersz;
	static const char	*bad[] = {
		"not a certificate\n",
		"",
		"-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n",
	};
	size_t			 i;

	(void)state;
	conf(&c, "rootA.pem");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&set, 0, sizeof(set));
		assert_int_equal(x509_src_verify((const unsigned char *)bad[i], strlen(bad[i]),
		    NULL, 0, &c.s, t0, &set, &v), -1);
		assert_int_equal(v.reason, R_CERT_INVALID);
		assert_int_equal(set.entitiesz, 0);
	}
	/* a private key block travelling with the certificate */
	assert_int_equal(run("leaf-with-key.pem", NULL, &c.s, t0, &set, &v), -1);
	assert_int_equal(v.reason, R_CERT_INVALID);
	assert_non_null(strstr(v.detail, "\"PRIVATE KEY\" block"));
	/* a good block followed by a broken one */
	assert_int_equal(tu_sh("cat '%s' > '%s' && printf -- '-----BEGIN CERTIFICATE-----\\n"
	    "aGVsbG8=\\n-----END CERTIFICATE-----\\n' >> '%s'", f("leaf.pem"), f("bad2.pem"),
	    f("bad2.pem")), 0);
	assert_int_equal(reject("bad2.pem", NULL, &c.s, t0), R_CERT_INVALID);
	/* more than MAX_X509_CERTS (the same good leaf, padded) */
	assert_int_equal(tu_sh("for i in 1 2 3 4 5 6 7 8; do cat '%s'; done > '%s'",
	    f("leaf.pem"), f("eight.pem")), 0);
	assert_int_equal(verify_ok("eight.pem", NULL, &c.s, t0), 0);
	assert_int_equal(tu_sh("cat '%s' '%s' > '%s'", f("eight.pem"), f("leaf.pem"),
	    f("many.pem")), 0);
	assert_int_equal(reject("many.pem", NULL, &c.s, t0), R_CERT_INVALID);
	/* one DER certificate is accepted; truncated or with a trailing byte it is not */
	der = tu_read(f("leaf.der"), &dersz);
	memset(&set, 0, sizeof(set));
	assert_int_equal(x509_src_verify(der, dersz, NULL, 0, &c.s, t0, &set, &v), 0);
	entity_set_free(&set);
	assert_int_equal(x509_src_verify(der, dersz - 1, NULL, 0, &c.s, t0, &set, &v), -1);
	assert_int_equal(v.reason, R_CERT_INVALID);
	free(der);
	assert_int_equal(tu_sh("cat '%s' > '%s' && printf x >> '%s'", f("leaf.der"),
	    f("leaf.der1"), f("leaf.der1")), 0);
	assert_int_equal(reject("leaf.der1", NULL, &c.s, t0), R_CERT_INVALID);
}

/* An RSA key under 2048 bits. */
static void
test_weak_key(void **state)
{
	struct tconf	 c;

	(void)state;
	assert_int_equal(reject("weak.pem", NULL, conf(&c, "rootA.pem"), t0), R_SIG_KEY_WEAK);
}

/* A leaf issued by the partner's CA under the root: the intermediate travels along. */
static void
test_intermediate_chain(void **state)
{
	struct tconf		 c;
	struct entity_set	 set;
	struct verdict		 v;
	time_t			 min;

	(void)state;
	conf(&c, "rootA.pem");
	assert_int_equal(run("sub-chain.pem", NULL, &c.s, t0, &set, &v), 0);
	assert_int_equal(set.entities[0].keys[0].purposes, PURP_MTLS);
	/* the partner key is the leaf, not the intermediate; valid_until covers both */
	assert_int_equal(set.entities[0].keys[0].not_after, num("sub.end"));
	min = num("sub.end") < num("pca.end") ? num("sub.end") : num("pca.end");
	assert_int_equal(set.entities[0].valid_until, min);
	entity_set_free(&set);
	/* without the intermediate it does not chain */
	assert_int_equal(reject("sub.pem", NULL, &c.s, t0), R_CHAIN_UNTRUSTED);
	/* with CRLs every level needs one: the root's alone is not enough */
	conf_crl(&c, "rootA.crl");
	assert_int_equal(reject("sub-chain.pem", NULL, &c.s, t0), R_CHAIN_CRL);
	/* the partner CA's CRL, fetched, completes it; it bounds valid_until (7 days) */
	assert_int_equal(run("sub-chain.pem", "pca.crl", &c.s, t0, &set, &v), 0);
	min = num("pca.crl.next");
	assert_int_equal(set.entities[0].valid_until, min);
	entity_set_free(&set);
}

static int
setup(void **state)
{
	char	*script;
	FILE	*fp;

	(void)state;
	log_init(1, 0, "test_x509_src");
	tmp = tu_tmpdir("test_x509_src");
	if (asprintf(&script, "%s/mkx509.sh", tmp) < 0 || (fp = fopen(script, "w")) == NULL)
		return -1;
	fputs(pki_script, fp);
	fclose(fp);
	if (tu_sh("sh '%s' '%s' %lld", script, tmp, (long long)time(NULL)) != 0) {
		free(script);
		return -1;
	}
	free(script);
	/* every certificate's notBefore is when openssl issued it: now is later */
	t0 = time(NULL) + 1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_ok),
		cmocka_unit_test(test_ca_registration),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_revoked_crl_file),
		cmocka_unit_test(test_revoked_fetched),
		cmocka_unit_test(test_crl_expired),
		cmocka_unit_test(test_crl_other_ca),
		cmocka_unit_test(test_crl_check),
		cmocka_unit_test(test_signer_names),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_weak_key),
		cmocka_unit_test(test_intermediate_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
