/* Unit tests of config.c: the INI contract, defaults, errors with file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

static char	*dir;

static void
put(const char *name, const char *text)
{
	char	*p = path_join(dir, name);

	assert_int_equal(write_file_atomic(p, text, strlen(text), 0600), 0);
	free(p);
}

static const char *main_conf =
    "; comment\n"
    "[fedtrust]\n"
    "issuer       = https://trust.example.org     ; iss of every bundle\n"
    "state-dir    = state\n"
    "publish-dir  = /srv/publish\n"
    "trustlists   = lists\n"
    "signing-key  = keys/current.pem\n"
    "signing-cert = keys/current.crt\n"
    "fetch-timeout = 30s\n"
    "max-size     = 64M\n";

static const char *list_conf =
    "[trustlist]\n"
    "name             = research\n"
    "saml-validity    = 4d\n"
    "refresh          = 10m\n"
    "max-drop         = 25%\n"
    "outputs          = saml-aggregate\n"
    "\n"
    "[source edugain]\n"
    "type          = saml\n"
    "url           = https://mds.example.org/feed.xml\n"
    "anchor        = anchors/edugain.pem\n"
    "anchor        = anchors/edugain-next.pem\n"
    "max-validity  = 14d\n"
    "roles         = idp, sp\n"
    "priority      = 10\n"
    "owner         = federation-ops@example.org\n"
    "approved-until = 2027-06-30\n"
    "deny          = https://bad.example.org/*\n"
    "registration-authority = https://www.edugain.org\n"
    "\n"
    "[source local]\n"
    "type = saml\n"
    "url = file:///srv/local.xml\n"
    "ca = anchors/root.pem\n"
    "crl = anchors/root.crl\n"
    "signer-name = *.example.org\n"
    "cert-validity = reject\n"
    "extra-algorithms = rsa-sha1, sha1\n";

static int
setup(void **state)
{
	dir = tu_tmpdir("config");
	assert_int_equal(tu_sh("mkdir -p '%s/lists'", dir), 0);
	put("fedtrust.conf", main_conf);
	put("lists/research.conf", list_conf);
	return 0;
}

static int
teardown(void **state)
{
	rm_rf(dir);
	free(dir);
	return 0;
}

static struct config *
load(char *err, size_t errsz)
{
	char		*p = path_join(dir, "fedtrust.conf");
	struct config	*c = config_load(p, err, errsz);

	free(p);
	return c;
}

static void
test_full(void **state)
{
	char			 err[1024] = "";
	struct config		*c = load(err, sizeof(err));
	const struct list_conf	*l;
	const struct source_conf *s;
	char			 buf[32];

	assert_non_null(c);
	assert_string_equal(c->issuer, "https://trust.example.org");
	/* relative paths are relative to the file naming them */
	assert_non_null(strstr(c->state_dir, "/config."));
	assert_string_equal(c->state_dir + strlen(c->state_dir) - 6, "/state");
	assert_string_equal(c->publish_dir, "/srv/publish");
	assert_int_equal(c->fetch_timeout, 30);
	assert_int_equal(c->max_size, 64UL << 20);
	assert_int_equal(c->keep_generations, MAX_GENERATIONS_KEPT);
	assert_int_equal(c->listsz, 1);
	l = config_find_list(c, "research");
	assert_non_null(l);
	assert_null(config_find_list(c, "other"));
	assert_int_equal(l->saml_validity, 4 * 86400);
	assert_int_equal(l->refresh, 600);
	assert_true(l->max_drop > 0.249 && l->max_drop < 0.251);
	assert_int_equal(l->outputs, OUT_SAML);
	/* bundle defaults: compact, 1h heads, base-url unset (the issuer is used) */
	assert_int_equal(l->bundle_variant, BUNDLE_COMPACT);
	assert_int_equal(l->head_validity, 3600);
	assert_int_equal(l->bundle_validity, 86400);
	assert_null(c->base_url);
	assert_int_equal(l->sourcesz, 2);
	s = &l->sources[0];
	assert_string_equal(s->name, "edugain");
	assert_int_equal(s->type, SRC_SAML);
	assert_int_equal(s->anchorsz, 2);
	assert_non_null(strstr(s->anchors[1], "/lists/anchors/edugain-next.pem"));
	assert_int_equal(s->max_validity, 14 * 86400);
	assert_int_equal(s->roles, ROLE_IDP | ROLE_SP);
	assert_int_equal(s->priority, 10);
	assert_string_equal(format_time(s->approved_until, buf, sizeof(buf)), "2027-06-30T23:59:59Z");
	assert_int_equal(s->denysz, 1);
	assert_int_equal(s->rasz, 1);
	assert_int_equal(s->cert_validity, CERT_VALIDITY_WARN);
	s = &l->sources[1];
	assert_int_equal(s->casz, 1);
	assert_int_equal(s->crlsz, 1);
	assert_int_equal(s->signer_namesz, 1);
	assert_int_equal(s->roles, ROLE_ALL);
	assert_int_equal(s->max_validity, MAX_VALIDITY_DEFAULT);
	assert_int_equal(s->cert_validity, CERT_VALIDITY_REJECT);
	assert_int_equal(s->algs_extra, ALGX_RSA_SHA1 | ALGX_SHA1);
	assert_int_equal(l->sources[0].algs_extra, 0);
	config_free(c);
}

/* Replace the list file with text and expect an error containing want. */
static void
expect_list_error(const char *text, const char *want)
{
	char		 err[1024] = "";
	struct config	*c;

	put("lists/research.conf", text);
	c = load(err, sizeof(err));
	if (c != NULL || strstr(err, want) == NULL)
		fail_msg("expected error containing \"%s\", got \"%s\"", want, err);
	put("lists/research.conf", list_conf);
}

static void
test_errors_name_file_and_line(void **state)
{
	expect_list_error("[trustlist]\nname = research\nbogus = 1\n", "research.conf:3: unknown key \"bogus\"");
	expect_list_error("[trustlist]\nname = Research\n", "research.conf:2: name \"Research\"");
	expect_list_error("[trustlist]\nname = r\nmax-drop = 10\n", "research.conf:3: max-drop");
	expect_list_error("[trustlist]\nname = r\nrefresh = 5x\n", "research.conf:3: refresh: bad duration");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = saml\nurl = http://x/\n",
	    "research.conf:5: url must be https:// or file://");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = ldap\n", "research.conf:4: type");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = spiffe\n",
	    "research.conf:4: type: expected saml, oidf");
	/* keys of one source type are refused on another, naming the source */
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = saml\n"
	    "url = https://a.example/md.xml\nanchor = a.pem\nentity = https://rp.example\n",
	    "[source a]: entity, discover");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = oidf\n"
	    "url = https://ta.example\nca = root.pem\n", "take anchor = JWK Set file");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = x509\n"
	    "url = file:///p.pem\nanchor = root.pem\n", "ca = ROOT");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = x509\n"
	    "url = file:///p.pem\nca = root.pem\ntls-client-auth-san-dns = a.example\n"
	    "tls-client-auth-subject-dn = CN=a\n", "research.conf:8: tls-client-auth-subject-dn: only one");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = oidf\n"
	    "url = https://ta.example\nanchor = ta.json\nentity = http://rp.example\n",
	    "research.conf:7: entity:");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = oidf\n"
	    "url = https://ta.example\nanchor = ta.json\ndiscover = no\n",
	    "discover = no needs");
	expect_list_error("[trustlist]\nname = r\n\n[source a]\ntype = saml\nurl = file:///x\n",
	    "research.conf:4: [source a]: no anchor");
	expect_list_error("[trustlist]\nname = r\n[source a]\ntype = saml\nurl = file:///x\nanchor = a\nca = b\n",
	    "anchor and ca are exclusive");
	expect_list_error("[trustlist]\nname = r\n[source a]\nroles = idp, wizard\n", "research.conf:4: roles");
	expect_list_error("[trustlist]\nname = r\n[source a]\napproved-until = soon\n",
	    "research.conf:4: approved-until");
	expect_list_error("[trustlist]\nname = r\n[source a]\ncert-validity = maybe\n", "cert-validity");
	expect_list_error("[trustlist]\nname = r\n[source a]\nextra-algorithms = md5\n",
	    "research.conf:4: extra-algorithms");
	expect_list_error("[trustlist]\nname = r\n[elsewhere]\nx = 1\n", "research.conf:4: unknown section [elsewhere]");
	expect_list_error("[trustlist]\nname = r\noutputs = bundle, json\n", "research.conf:3: outputs");
	expect_list_error("[trustlist]\nname = r\nhead-validity = 3h\n", "research.conf:3: head-validity");
	expect_list_error("[trustlist]\nname = r\nbundle-validity = 8d\n", "research.conf:3: bundle-validity");
	expect_list_error("[trustlist]\nname = r\nbundle-variant = huge\n", "research.conf:3: bundle-variant");
	expect_list_error("[trustlist]\nrefresh = 5m\n", "missing name");
	expect_list_error("not an ini line\n", "research.conf:1:");
	expect_list_error("; nothing\n", "no [trustlist] section");
}

/* The bundle keys: outputs bundle and mdq, variant, head validity, base-url. */
static void
test_bundle_keys(void **state)
{
	char			 err[1024] = "";
	struct config		*c;
	const struct list_conf	*l;

	(void)state;
	put("fedtrust.conf", "[fedtrust]\nissuer = https://trust.example.org\n"
	    "base-url = https://cdn.example.org/fedtrust\ntrustlists = lists\n");
	put("lists/research.conf", "[trustlist]\nname = research\n"
	    "outputs = saml-aggregate, bundle, mdq\nbundle-variant = full\n"
	    "head-validity = 2h\nbundle-validity = 7d\n");
	assert_non_null(c = load(err, sizeof(err)));
	assert_string_equal(c->base_url, "https://cdn.example.org/fedtrust");
	l = config_find_list(c, "research");
	assert_int_equal(l->outputs, OUT_SAML | OUT_BUNDLE | OUT_MDQ);
	assert_int_equal(l->bundle_variant, BUNDLE_FULL);
	assert_int_equal(l->head_validity, 7200);
	assert_int_equal(l->bundle_validity, 7 * 86400);
	config_free(c);
	put("fedtrust.conf", "[fedtrust]\nissuer = https://trust.example.org\n"
	    "base-url = http://cdn.example.org/\ntrustlists = lists\n");
	assert_null(c = load(err, sizeof(err)));
	assert_non_null(strstr(err, "fedtrust.conf:3: base-url"));
}

static void
test_main_errors(void **state)
{
	char		 err[1024] = "";
	struct config	*c;

	put("fedtrust.conf", "[fedtrust]\nissuer = http://insecure.example.org\n");
	assert_null(c = load(err, sizeof(err)));
	assert_non_null(strstr(err, "fedtrust.conf:2: issuer must be an https URL"));
	put("fedtrust.conf", "[fedtrust]\nstate-dir = /x\n");
	assert_null(c = load(err, sizeof(err)));
	assert_non_null(strstr(err, "fedtrust.conf:1: [fedtrust]: missing issuer"));
	put("fedtrust.conf", "[fedtrust]\nissuer = https://a.example\ntrustlists = nowhere\n");
	assert_null(c = load(err, sizeof(err)));
	assert_non_null(strstr(err, "trustlists folder"));
	put("fedtrust.conf", main_conf);
	/* two list files with one name */
	put("lists/again.conf", "[trustlist]\nname = research\n");
	assert_null(c = load(err, sizeof(err)));
	assert_non_null(strstr(err, "is used by"));
	assert_int_equal(tu_sh("rm '%s/lists/again.conf'", dir), 0);
	c = load(err, sizeof(err));
	assert_non_null(c);
	config_free(c);
}

/* The oidf, signed-jwks and x509 keys land in their members. */
static void
test_new_types(void **state)
{
	char			 err[1024] = "";
	struct config		*c;
	const struct list_conf	*l;
	const struct source_conf *s;

	(void)state;
	put("fedtrust.conf", main_conf);
	put("lists/research.conf", "[trustlist]\nname = research\n"
	    "[source fed]\ntype = oidf\nurl = https://ta.example\nanchor = ta.json\n"
	    "entity = https://rp.example/x\nentity = https://op.example\ndiscover = no\n"
	    "roles = openid_relying_party, oauth_client\ntrust-marks-without-exp = accept\n"
	    "max-fetches = 500\nlegacy-untyped = yes\nscopes = openid, profile\n"
	    "[source keys]\ntype = signed-jwks\nurl = https://p.example/jwks.jwt\n"
	    "anchor = p.json\nentity-id = https://p.example\nscopes = none\n"
	    "[source tls]\ntype = x509\nurl = file:///p.pem\nca = root.pem\n"
	    "crl-url = https://ca.example/crl\ntls-client-auth-san-dns = a.example, b.example\n"
	    "roles = tls_client, tls_server\n");
	if ((c = load(err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	l = config_find_list(c, "research");
	s = &l->sources[0];
	assert_int_equal(s->type, SRC_OIDF);
	assert_int_equal(s->entity_idsz, 2);
	assert_string_equal(s->entity_ids[1], "https://op.example");
	assert_int_equal(s->discover, 0);
	assert_int_equal(s->roles, ROLE_RP | ROLE_OAUTH_CLIENT);
	assert_int_equal(s->tm_no_exp, 1);
	assert_int_equal(s->max_fetches, 500);
	assert_int_equal(s->untyped_ok, 1);
	assert_int_equal(s->scoped, 1);
	assert_int_equal(s->scopesz, 2);
	s = &l->sources[1];
	assert_int_equal(s->type, SRC_SIGNED_JWKS);
	assert_string_equal(s->entity_id, "https://p.example");
	assert_int_equal(s->scoped, 1);
	assert_int_equal(s->scopesz, 0);
	assert_int_equal(s->discover, 1);
	s = &l->sources[2];
	assert_int_equal(s->type, SRC_X509);
	assert_string_equal(s->crl_url, "https://ca.example/crl");
	assert_string_equal(s->names_kind, "san_dns");
	assert_int_equal(s->namesz, 2);
	assert_int_equal(s->roles, ROLE_TLS_CLIENT | ROLE_TLS_SERVER);
	config_free(c);
	put("lists/research.conf", list_conf);
}

static void
test_roles(void **state)
{
	unsigned	 r;

	assert_int_equal(parse_roles("idp", &r), 0);
	assert_int_equal(r, ROLE_IDP);
	assert_int_equal(parse_roles(" sp ,aa,", &r), 0);
	assert_int_equal(r, ROLE_SP | ROLE_AA);
	assert_int_equal(parse_roles("all", &r), 0);
	assert_int_equal(r, ROLE_ALL);
	assert_int_equal(parse_roles("", &r), -1);
	assert_int_equal(parse_roles("idp,x", &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_main_errors),
		cmocka_unit_test(test_bundle_keys),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_new_types),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
