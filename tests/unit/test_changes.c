/*
 * Tests of changes.c: change reports between publications with real keys
 * (added, removed with the reason policy gave, key added, removed, rotated,
 * a renewed certificate), the first publication, deterministic output, the
 * caps, the audit events of a committed report, carrying earlier reports
 * into a generation, and `fedtrust diff` composing several reports read
 * from a real publish folder (cancelled changes, a burned sequence number,
 * a missing report, usage errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "extern.h"
#include "testutil.h"

#define NOW	1772431200		/* 2026-03-02T06:00:00Z */
#define BDIG	"n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"

static char		*tmp;
static struct key	 rsa[4];	/* entity1..4.pem: RSA-2048 certificates */
static struct key	 ec[4];		/* bare P-256 keys made here */
static struct key	 ec0_cert[2];	/* ec[0]'s key in two certificates made here */
static struct key	 weak;		/* weak.pem: RSA-1024, refused by the bundle */
static EVP_PKEY		*ec_pk[4];

/* ------------------------------------------------------------ keys */

static void
der_copy(unsigned char **dst, size_t *dstsz, unsigned char *p, int n)
{
	assert_true(n > 0);
	*dst = xmalloc((size_t)n);
	memcpy(*dst, p, (size_t)n);
	*dstsz = (size_t)n;
	OPENSSL_free(p);
}

/* k from certificate x: certificate and SPKI DER. */
static void
key_from_x509(X509 *x, struct key *k)
{
	unsigned char	*p = NULL;
	int		 n;

	memset(k, 0, sizeof(*k));
	n = i2d_X509(x, &p);
	der_copy(&k->cert, &k->certsz, p, n);
	p = NULL;
	n = i2d_PUBKEY(X509_get0_pubkey(x), &p);
	der_copy(&k->spki, &k->spkisz, p, n);
}

static void
key_from_pem(const char *name, struct key *k)
{
	char	 path[512];
	FILE	*f;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", tu_pki(), name);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	key_from_x509(x, k);
	X509_free(x);
}

/* A bare key: SPKI only. */
static void
key_from_pkey(EVP_PKEY *pk, struct key *k)
{
	unsigned char	*p = NULL;

	memset(k, 0, sizeof(*k));
	der_copy(&k->spki, &k->spkisz, p, i2d_PUBKEY(pk, &p));
}

/* A self-signed certificate for pk with serial (a renewal keeps the key). */
static void
key_cert_for(EVP_PKEY *pk, long serial, struct key *k)
{
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"b.example.org",
	    -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, pk);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	key_from_x509(x, k);
	X509_NAME_free(name);
	X509_free(x);
}

static void
key_clear(struct key *k)
{
	free(k->cert);
	free(k->spki);
	memset(k, 0, sizeof(*k));
}

/* base64url SHA-256 of buf (caller frees). */
static char *
b64u_sha256(const unsigned char *buf, size_t len)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	return b64url_encode(md, sizeof(md));
}

/* The RFC 7638 thumbprint of k, as the bundle has it. */
static const char *
jkt_of(const struct key *k)
{
	static char	 jkt[8][44];
	static int	 next;
	char		 x5t[44], *j = jkt[next++ % 8];

	assert_int_equal(key_thumbprints(k, j, x5t), 0);
	return j;
}

/* ------------------------------------------------------------ fixtures */

static struct config	 conf;
static struct list_conf	 list = { .name = "research" };

/* Fresh state, publish and audit folders under tmp/name. */
static void
fresh(const char *name)
{
	char	*d = path_join(tmp, name);

	assert_int_equal(tu_sh("rm -rf '%s' && mkdir -p '%s/pub' '%s/lists'", d, d, d), 0);
	free(conf.state_dir);
	free(conf.publish_dir);
	free(conf.audit_log);
	free(conf.file);
	conf.state_dir = path_join(d, "state");
	conf.publish_dir = path_join(d, "pub");
	conf.audit_log = path_join(d, "audit.log");
	conf.file = path_join(d, "fedtrust.conf");
	conf.audit_syslog = 0;
	assert_int_equal(audit_open(&conf), 0);
	free(d);
}

/* An entity of source "feed" (keys borrowed, copied by value). */
static struct entity *
ent(const char *id, enum proto proto, struct key *k1, struct key *k2)
{
	struct entity	*e = xcalloc(1, sizeof(*e));

	e->id = (char *)id;
	e->proto = proto;
	e->src = "feed";
	e->keys = xcalloc(2, sizeof(*e->keys));
	if (k1 != NULL)
		e->keys[e->keysz++] = *k1;
	if (k2 != NULL)
		e->keys[e->keysz++] = *k2;
	return e;
}

static void
ents_free(struct entity **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i]->keys);
		free(v[i]);
	}
}

static void
input(struct change_input *in, uint64_t seq, struct entity **v, size_t n,
    const struct drop *drops, size_t dropsz)
{
	memset(in, 0, sizeof(*in));
	in->conf = &conf;
	in->list = &list;
	in->seq = seq;
	in->now = NOW + (time_t)seq * 3600;
	in->ents = (const struct entity *const *)v;
	in->entsz = n;
	in->drops = drops;
	in->dropsz = dropsz;
	in->bdig = BDIG;
}

/* changes_make of in, checked to be one compact line; the text into *txt when wanted. */
static json_t *
make(const struct change_input *in, char **txt, size_t *txtsz)
{
	struct verdict	 v;
	json_error_t	 err;
	json_t		*r;
	char		*json;
	size_t		 len;

	memset(&v, 0, sizeof(v));
	assert_int_equal(changes_make(in, &json, &len, &v), 0);
	assert_true(len > 0 && json[len - 1] == '\n');
	assert_ptr_equal(memchr(json, '\n', len), json + len - 1);
	if ((r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		fail_msg("report does not parse: %s", err.text);
	if (txt != NULL) {
		*txt = json;
		*txtsz = len;
	} else
		free(json);
	return r;
}

/* Make and commit in's report; returns the report. */
static json_t *
publish(const struct change_input *in)
{
	char	*txt;
	size_t	 len;
	json_t	*r = make(in, &txt, &len);

	changes_commit(in, txt, len);
	free(txt);
	return r;
}

/* Every line of the audit log, parsed. */
static json_t *
audit_lines(void)
{
	unsigned char	*buf;
	size_t		 len, i, start = 0;
	json_t		*arr = json_array(), *o;

	if (read_file(conf.audit_log, 1UL << 30, &buf, &len) == -1)
		return arr;
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		assert_non_null(o = json_loadb((char *)buf + start, i - start, 0, NULL));
		json_array_append_new(arr, o);
		start = i + 1;
	}
	free(buf);
	return arr;
}

static const char *
s_of(const json_t *o, const char *name)
{
	const char	*s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "(none)";
}

static long long
i_of(const json_t *o, const char *name)
{
	assert_true(json_is_integer(json_object_get(o, name)));
	return json_integer_value(json_object_get(o, name));
}

static long long
sum_of(const json_t *r, const char *name)
{
	return i_of(json_object_get(r, "summary"), name);
}

/* ------------------------------------------------------------ tests */

static void
test_first_publication(void **state)
{
	struct change_input	 in;
	struct entity		*v[2];
	struct stat		 st;
	json_t			*r, *a, *k, *lines, *ev, *saved;
	char			*x5t, *p;

	(void)state;
	fresh("first");
	v[0] = ent("https://b.example.org/idp", PROTO_SAML2, &ec[0], NULL);
	v[1] = ent("https://a.example.org/sp", PROTO_SAML2, &rsa[0], NULL);
	input(&in, 1, v, 2, NULL, 0);
	r = publish(&in);
	assert_true(json_is_true(json_object_get(r, "initial")));
	assert_string_equal(s_of(r, "list"), "research");
	assert_int_equal(i_of(r, "seq"), 1);
	assert_int_equal(i_of(r, "prev_seq"), 0);
	assert_string_equal(s_of(r, "time"), "2026-03-02T07:00:00Z");
	assert_string_equal(s_of(r, "bdig"), BDIG);
	assert_int_equal(sum_of(r, "added"), 2);
	assert_int_equal(sum_of(r, "removed"), 0);
	assert_int_equal(sum_of(r, "entities"), 2);
	assert_null(json_object_get(r, "truncated"));
	a = json_object_get(r, "added");
	assert_int_equal(json_array_size(a), 2);
	/* sorted by id; the RSA certificate carries x5t, the bare EC key only jkt */
	assert_string_equal(s_of(json_array_get(a, 0), "id"), "https://a.example.org/sp");
	assert_string_equal(s_of(json_array_get(a, 0), "proto"), "saml2");
	assert_string_equal(s_of(json_array_get(a, 0), "src"), "feed");
	k = json_array_get(json_object_get(json_array_get(a, 0), "keys"), 0);
	assert_string_equal(s_of(k, "jkt"), jkt_of(&rsa[0]));
	x5t = b64u_sha256(rsa[0].cert, rsa[0].certsz);
	assert_string_equal(s_of(k, "x5t"), x5t);
	free(x5t);
	k = json_array_get(json_object_get(json_array_get(a, 1), "keys"), 0);
	assert_string_equal(s_of(k, "jkt"), jkt_of(&ec[0]));
	assert_null(json_object_get(k, "x5t"));
	assert_int_equal(json_array_size(json_object_get(r, "removed")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "keys")), 0);
	json_decref(r);

	/* no flood of entity-added: one publication event marked initial */
	lines = audit_lines();
	assert_int_equal(json_array_size(lines), 1);
	ev = json_array_get(lines, 0);
	assert_string_equal(s_of(ev, "event"), "publication");
	assert_string_equal(s_of(ev, "severity"), "info");
	assert_true(json_is_true(json_object_get(ev, "initial")));
	assert_int_equal(i_of(ev, "seq"), 1);
	assert_int_equal(i_of(ev, "entities"), 2);
	assert_int_equal(i_of(ev, "added"), 2);
	assert_string_equal(s_of(ev, "bdig"), BDIG);
	assert_string_equal(s_of(ev, "list"), "research");
	assert_string_equal(s_of(ev, "ts"), "2026-03-02T07:00:00Z");
	json_decref(lines);

	/* the state of the publication, private to the operator */
	xasprintf(&p, "%s/lists/research/published.json", conf.state_dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(saved = json_load_file(p, 0, NULL));
	assert_int_equal(i_of(saved, "seq"), 1);
	assert_int_equal(json_array_size(json_object_get(saved, "entities")), 2);
	assert_string_equal(s_of(json_array_get(json_object_get(saved, "entities"), 0), "id"),
	    "https://a.example.org/sp");
	json_decref(saved);
	free(p);
	ents_free(v, 2);
}

/* The n-th audit line after skip with event name, checked. */
static const json_t *
event_at(const json_t *lines, size_t i, const char *event, const char *severity)
{
	const json_t	*ev = json_array_get(lines, i);

	assert_non_null(ev);
	assert_string_equal(s_of(ev, "event"), event);
	assert_string_equal(s_of(ev, "severity"), severity);
	assert_string_equal(s_of(ev, "list"), "research");
	return ev;
}

static void
test_changes_detected(void **state)
{
	struct change_input	 in;
	struct entity		*v1[6], *v2[5];
	struct drop		 drops[3] = {
		{ "https://c.example.org", R_ENTITY_DEDUPED, "lost to another source" },
		{ "https://c.example.org", R_REVOKED, "key compromise" },
		{ "https://zz.example.org", R_ENTITY_FILTERED, "denied" },
	};
	json_t			*r, *m, *k, *lines;
	const json_t		*ev;
	char			*spki, *x5t;

	(void)state;
	fresh("detected");
	v1[0] = ent("https://a.example.org", PROTO_SAML2, &rsa[0], NULL);
	v1[1] = ent("https://b.example.org", PROTO_SAML2, &rsa[1], NULL);
	v1[2] = ent("https://c.example.org", PROTO_SAML2, &rsa[2], NULL);
	v1[3] = ent("https://d.example.org", PROTO_SAML2, &weak, NULL);
	v1[4] = ent("https://f.example.org", PROTO_SAML2, &rsa[3], &ec[1]);
	v1[5] = ent("https://g.example.org", PROTO_SAML2, &ec[2], NULL);
	input(&in, 3, v1, 6, NULL, 0);
	json_decref(publish(&in));

	/* seq 4 was used up by a failed attempt: the next report goes back to 3 */
	v2[0] = ent("https://a.example.org", PROTO_SAML2, &rsa[0], NULL);
	v2[1] = ent("https://b.example.org", PROTO_SAML2, &ec[3], NULL);
	v2[2] = ent("https://e.example.org", PROTO_SAML2, &ec[0], NULL);
	v2[3] = ent("https://f.example.org", PROTO_SAML2, &rsa[3], NULL);
	v2[4] = ent("https://g.example.org", PROTO_SAML2, &ec[2], &rsa[2]);
	input(&in, 5, v2, 5, drops, 3);
	r = publish(&in);
	assert_null(json_object_get(r, "initial"));
	assert_int_equal(i_of(r, "prev_seq"), 3);
	assert_int_equal(sum_of(r, "added"), 1);
	assert_int_equal(sum_of(r, "removed"), 2);
	assert_int_equal(sum_of(r, "keys_added"), 2);
	assert_int_equal(sum_of(r, "keys_removed"), 2);
	assert_int_equal(sum_of(r, "keys_rotated"), 1);
	assert_int_equal(sum_of(r, "entities"), 5);
	m = json_object_get(r, "added");
	assert_int_equal(json_array_size(m), 1);
	assert_string_equal(s_of(json_array_get(m, 0), "id"), "https://e.example.org");

	/* removals carry the policy's reason (not the dedupe), or "absent" */
	m = json_object_get(r, "removed");
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(s_of(json_array_get(m, 0), "id"), "https://c.example.org");
	assert_string_equal(s_of(json_array_get(m, 0), "reason"), "revoked");
	assert_string_equal(s_of(json_array_get(m, 0), "detail"), "key compromise");
	assert_string_equal(s_of(json_array_get(m, 0), "src"), "feed");
	k = json_array_get(json_object_get(json_array_get(m, 0), "keys"), 0);
	assert_string_equal(s_of(k, "jkt"), jkt_of(&rsa[2]));
	assert_string_equal(s_of(json_array_get(m, 1), "id"), "https://d.example.org");
	assert_string_equal(s_of(json_array_get(m, 1), "reason"), "absent");
	/* a key the bundle refuses (RSA-1024) is named by its SPKI hash */
	k = json_array_get(json_object_get(json_array_get(m, 1), "keys"), 0);
	spki = b64u_sha256(weak.spki, weak.spkisz);
	assert_string_equal(s_of(k, "spki"), spki);
	assert_null(json_object_get(k, "jkt"));

	/* key changes, by id: b rotated, f lost one, g gained one */
	m = json_object_get(r, "keys");
	assert_int_equal(json_array_size(m), 3);
	k = json_array_get(m, 0);
	assert_string_equal(s_of(k, "id"), "https://b.example.org");
	assert_true(json_is_true(json_object_get(k, "rotated")));
	assert_string_equal(s_of(json_array_get(json_object_get(k, "added"), 0), "jkt"),
	    jkt_of(&ec[3]));
	assert_string_equal(s_of(json_array_get(json_object_get(k, "removed"), 0), "jkt"),
	    jkt_of(&rsa[1]));
	k = json_array_get(m, 1);
	assert_string_equal(s_of(k, "id"), "https://f.example.org");
	assert_true(json_is_false(json_object_get(k, "rotated")));
	assert_int_equal(json_array_size(json_object_get(k, "added")), 0);
	assert_string_equal(s_of(json_array_get(json_object_get(k, "removed"), 0), "jkt"),
	    jkt_of(&ec[1]));
	k = json_array_get(m, 2);
	assert_string_equal(s_of(k, "id"), "https://g.example.org");
	assert_string_equal(s_of(json_array_get(json_object_get(k, "added"), 0), "jkt"),
	    jkt_of(&rsa[2]));
	json_decref(r);

	/* the audit events of the second publication, in report order */
	lines = audit_lines();
	assert_int_equal(json_array_size(lines), 1 + 7);
	ev = event_at(lines, 1, "entity-added", "info");
	assert_string_equal(s_of(ev, "id"), "https://e.example.org");
	assert_string_equal(s_of(ev, "proto"), "saml2");
	assert_string_equal(s_of(ev, "source"), "feed");
	assert_int_equal(i_of(ev, "seq"), 5);
	ev = event_at(lines, 2, "entity-removed", "warning");
	assert_string_equal(s_of(ev, "id"), "https://c.example.org");
	assert_string_equal(s_of(ev, "reason"), "revoked");
	assert_string_equal(s_of(ev, "source"), "feed");
	ev = event_at(lines, 3, "entity-removed", "info");
	assert_string_equal(s_of(ev, "reason"), "absent");
	ev = event_at(lines, 4, "key-rotated", "info");
	assert_string_equal(s_of(ev, "id"), "https://b.example.org");
	assert_string_equal(s_of(json_array_get(json_object_get(ev, "added"), 0), "jkt"),
	    jkt_of(&ec[3]));
	x5t = b64u_sha256(rsa[1].cert, rsa[1].certsz);
	assert_string_equal(s_of(json_array_get(json_object_get(ev, "removed"), 0), "x5t"), x5t);
	free(x5t);
	ev = event_at(lines, 5, "key-removed", "info");
	assert_string_equal(s_of(ev, "id"), "https://f.example.org");
	assert_string_equal(s_of(ev, "jkt"), jkt_of(&ec[1]));
	assert_null(json_object_get(ev, "x5t"));
	ev = event_at(lines, 6, "key-added", "info");
	assert_string_equal(s_of(ev, "id"), "https://g.example.org");
	assert_string_equal(s_of(ev, "jkt"), jkt_of(&rsa[2]));
	x5t = b64u_sha256(rsa[2].cert, rsa[2].certsz);
	assert_string_equal(s_of(ev, "x5t"), x5t);
	free(x5t);
	ev = event_at(lines, 7, "publication", "info");
	assert_int_equal(i_of(ev, "seq"), 5);
	assert_int_equal(i_of(ev, "prev_seq"), 3);
	assert_int_equal(i_of(ev, "added"), 1);
	assert_int_equal(i_of(ev, "removed"), 2);
	assert_int_equal(i_of(ev, "entities"), 5);
	assert_int_equal(i_of(ev, "keys_rotated"), 1);
	assert_string_equal(s_of(ev, "bdig"), BDIG);
	assert_null(json_object_get(ev, "initial"));
	json_decref(lines);

	/* the same entities again: an empty report, only the publication audited */
	input(&in, 6, v2, 5, NULL, 0);
	r = publish(&in);
	assert_int_equal(i_of(r, "prev_seq"), 5);
	assert_int_equal(sum_of(r, "added") + sum_of(r, "removed") + sum_of(r, "keys_added") +
	    sum_of(r, "keys_removed"), 0);
	json_decref(r);
	lines = audit_lines();
	assert_int_equal(json_array_size(lines), 9);
	event_at(lines, 8, "publication", "info");
	json_decref(lines);

	free(spki);
	ents_free(v1, 6);
	ents_free(v2, 5);
}

static void
test_deterministic(void **state)
{
	struct change_input	 in;
	struct entity		*v[4], *w[4];
	struct key		 enc;
	json_t			*r, *a;
	char			*t1, *t2;
	size_t			 l1, l2;

	(void)state;
	fresh("deterministic");
	/* a SAML certificate listed for signing and for encryption is one key */
	enc = rsa[0];
	enc.use = KEY_USE_ENCRYPTION;
	v[0] = ent("https://z.example.org", PROTO_SAML2, &rsa[0], &enc);
	v[1] = ent("https://a.example.org", PROTO_OIDF, &ec[0], NULL);
	v[2] = ent("https://a.example.org", PROTO_SAML2, &rsa[1], &ec[1]);
	/* the same (id, proto) twice: one entry, keys united */
	v[3] = ent("https://z.example.org", PROTO_SAML2, &ec[2], NULL);
	w[0] = v[3];
	w[1] = v[2];
	w[2] = v[0];
	w[3] = v[1];
	input(&in, 1, v, 4, NULL, 0);
	r = make(&in, &t1, &l1);
	input(&in, 1, w, 4, NULL, 0);
	json_decref(make(&in, &t2, &l2));
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, l1);
	a = json_object_get(r, "added");
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(s_of(json_array_get(a, 0), "proto"), "oidf");
	assert_string_equal(s_of(json_array_get(a, 1), "proto"), "saml2");
	assert_string_equal(s_of(json_array_get(a, 1), "id"), "https://a.example.org");
	assert_int_equal(json_array_size(json_object_get(json_array_get(a, 1), "keys")), 2);
	assert_string_equal(s_of(json_array_get(a, 2), "id"), "https://z.example.org");
	assert_int_equal(json_array_size(json_object_get(json_array_get(a, 2), "keys")), 2);
	assert_int_equal(sum_of(r, "entities"), 3);
	/* the report is compact, with sorted keys */
	{
		char	*again = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);

		assert_int_equal(strlen(again) + 1, l1);
		assert_memory_equal(again, t1, l1 - 1);
		free(again);
	}
	json_decref(r);
	free(t1);
	free(t2);
	ents_free(v, 4);
}

static void
test_caps(void **state)
{
	struct change_input	 in;
	struct entity		**v;
	char			**ids;
	json_t			*r, *lines;
	size_t			 i, n = MAX_CHANGE_ITEMS + 5;

	(void)state;
	fresh("caps");
	v = xcalloc(n, sizeof(*v));
	ids = xcalloc(n, sizeof(*ids));
	for (i = 0; i < n; i++) {
		xasprintf(&ids[i], "https://e%06zu.example.org", i);
		v[i] = ent(ids[i], PROTO_SAML2, NULL, NULL);
	}
	input(&in, 1, v, n, NULL, 0);
	r = publish(&in);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_int_equal(json_array_size(json_object_get(r, "added")), MAX_CHANGE_ITEMS);
	assert_int_equal(sum_of(r, "added"), n);
	assert_int_equal(sum_of(r, "entities"), n);
	assert_string_equal(s_of(json_array_get(json_object_get(r, "added"), MAX_CHANGE_ITEMS - 1),
	    "id"), ids[MAX_CHANGE_ITEMS - 1]);
	json_decref(r);
	lines = audit_lines();
	assert_int_equal(json_array_size(lines), 1);
	assert_true(json_is_true(json_object_get(json_array_get(lines, 0), "truncated")));
	json_decref(lines);
	/* everything goes: the removals are capped too */
	input(&in, 2, v, 0, NULL, 0);
	r = make(&in, NULL, NULL);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_int_equal(json_array_size(json_object_get(r, "removed")), MAX_CHANGE_ITEMS);
	assert_int_equal(sum_of(r, "removed"), n);
	json_decref(r);
	ents_free(v, n);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(v);
}

static void
test_carry(void **state)
{
	struct outfiles	 files;
	struct gen_file	*f;
	struct verdict	 v;
	char		 name[64], *text[MAX_CHANGES_KEPT + 10];
	size_t		 i, n = 0;

	(void)state;
	fresh("carry");
	memset(&files, 0, sizeof(files));
	/* no live generation: nothing to carry */
	changes_carry(&conf, "research", 10, &files);
	assert_int_equal(files.n, 0);

	f = xcalloc(MAX_CHANGES_KEPT + 10, sizeof(*f));
	for (i = 1; i <= MAX_CHANGES_KEPT + 5; i++) {
		snprintf(name, sizeof(name), "changes/%zu.json", i);
		xasprintf(&text[n], "report %zu\n", i);
		f[n].path = xstrdup(name);
		f[n].data = (unsigned char *)text[n];
		f[n].len = strlen(text[n]);
		n++;
	}
	/* not reports of ours, and one not older than the new generation */
	f[n].path = xstrdup("changes/0007.json");
	f[n++].data = (const unsigned char *)"x";
	f[n].path = xstrdup("changes/x.json");
	f[n++].data = (const unsigned char *)"x";
	f[n].path = xstrdup("changes/400.json");
	f[n++].data = (const unsigned char *)"x";
	for (i = n - 3; i < n; i++)
		f[i].len = 1;
	assert_int_equal(publish_generation(conf.publish_dir, "research", 300, f, n, 3, &v), 0);
	changes_carry(&conf, "research", 301, &files);
	assert_int_equal(files.n, MAX_CHANGES_KEPT - 1);
	for (i = 0; i < files.n; i++) {
		/* the newest first, 205 down to 7 */
		snprintf(name, sizeof(name), "changes/%zu.json", MAX_CHANGES_KEPT + 5 - i);
		assert_string_equal(files.f[i].path, name);
		snprintf(name, sizeof(name), "report %zu\n", MAX_CHANGES_KEPT + 5 - i);
		assert_int_equal(files.f[i].len, strlen(name));
		assert_memory_equal(files.f[i].data, name, strlen(name));
	}
	outfiles_free(&files);
	for (i = 0; i < n; i++)
		free((char *)f[i].path);
	for (i = 0; i < MAX_CHANGES_KEPT + 5; i++)
		free(text[i]);
	free(f);
}

/* ------------------------------------------------------------ fedtrust diff */

/*
 * One publication as build.c does it: the report, earlier reports carried,
 * the generation switched, then the commit.
 */
static void
cycle(uint64_t seq, struct entity **v, size_t n, const struct drop *d, size_t dn)
{
	struct change_input	 in;
	struct outfiles		 files;
	struct verdict		 vd;
	char			*txt, path[64];
	size_t			 len;

	input(&in, seq, v, n, d, dn);
	json_decref(make(&in, &txt, &len));
	memset(&files, 0, sizeof(files));
	outfiles_add_ref(&files, "aggregate.xml", (const unsigned char *)"<x/>", 4);
	snprintf(path, sizeof(path), "changes/%llu.json", (unsigned long long)seq);
	outfiles_add(&files, path, (unsigned char *)xstrdup(txt), len);
	changes_carry(&conf, "research", seq, &files);
	memset(&vd, 0, sizeof(vd));
	if (publish_generation(conf.publish_dir, "research", seq, files.f, files.n, 3, &vd) != 0)
		fail_msg("publish %llu: %s", (unsigned long long)seq, vd.detail);
	changes_commit(&in, txt, len);
	outfiles_free(&files);
	free(txt);
}

/*
 * Run fedtrust diff with args (NULL-terminated) and the test's config;
 * stdout and stderr into *out and *err (caller frees).  Returns its exit code.
 */
static int
run_diff(char **out, char **err, ...)
{
	va_list		 ap;
	char		*argv[16], *path[2], *fn;
	const char	*a;
	unsigned char	*buf;
	size_t		 len;
	int		 argc = 0, rc, saved[2], fd, i;

	argv[argc++] = xstrdup("diff");
	argv[argc++] = xstrdup("-c");
	argv[argc++] = xstrdup(conf.file);
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL)
		argv[argc++] = xstrdup(a);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		xasprintf(&path[i], "%s/diff.%d", tmp, i + 1);
		saved[i] = dup(i + 1);
		fd = open(path[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd != -1 && saved[i] != -1);
		dup2(fd, i + 1);
		close(fd);
	}
	optind = 0;	/* a fresh getopt scan */
	rc = cmd_diff(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(saved[i], i + 1);
		close(saved[i]);
		assert_int_equal(read_file(path[i], 1 << 24, &buf, &len), 0);
		fn = xstrndup((char *)buf, len);
		if (i == 0)
			*out = fn;
		else
			*err = fn;
		free(buf);
		free(path[i]);
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

/* The first len characters of k's jkt (what diff shows). */
static char *
short_jkt(const struct key *k)
{
	return xstrndup(jkt_of(k), 12);
}

static void
test_diff(void **state)
{
	struct entity	*s1[3], *s2[4], *s4[3], *s5[3], *s6[3];
	struct drop	 revoked = { "https://c.example.org", R_REVOKED, "key compromise" };
	json_t		*j, *m;
	char		*out, *err, *want, *ja, *jb, *je, *jr, *p, *x1, *x2;
	FILE		*f;

	(void)state;
	fresh("diff");
	assert_non_null(f = fopen(conf.file, "w"));
	fprintf(f, "[fedtrust]\nissuer = https://trust.example.org\nstate-dir = state\n"
	    "publish-dir = pub\ntrustlists = lists\n");
	fclose(f);

	s1[0] = ent("https://a.example.org", PROTO_SAML2, &rsa[0], NULL);
	s1[1] = ent("https://b.example.org", PROTO_SAML2, &rsa[1], NULL);
	s1[2] = ent("https://c.example.org", PROTO_SAML2, &rsa[2], NULL);
	cycle(1, s1, 3, NULL, 0);
	/* 2: b rotates, d arrives */
	s2[0] = s1[0];
	s2[1] = ent("https://b.example.org", PROTO_SAML2, &ec[0], NULL);
	s2[2] = s1[2];
	s2[3] = ent("https://d.example.org", PROTO_SAML2, &ec[1], NULL);
	cycle(2, s2, 4, NULL, 0);
	/* 3 was used up by a failed attempt; 4: c revoked, d gone again, e arrives */
	s4[0] = s1[0];
	s4[1] = s2[1];
	s4[2] = ent("https://e.example.org", PROTO_SAML2, &ec[2], NULL);
	cycle(4, s4, 3, &revoked, 1);
	/* 5: a gains a key */
	s5[0] = ent("https://a.example.org", PROTO_SAML2, &rsa[0], &ec[3]);
	s5[1] = s2[1];
	s5[2] = s4[2];
	cycle(5, s5, 3, NULL, 0);
	/* 6: b's key gets a certificate, 7: and a renewed one */
	s6[0] = s5[0];
	s6[1] = ent("https://b.example.org", PROTO_SAML2, &ec0_cert[0], NULL);
	s6[2] = s4[2];
	cycle(6, s6, 3, NULL, 0);
	s6[1]->keys[0] = ec0_cert[1];
	cycle(7, s6, 3, NULL, 0);

	ja = short_jkt(&ec[3]);
	jb = short_jkt(&ec[0]);
	jr = short_jkt(&rsa[1]);
	je = short_jkt(&ec[2]);
	(void)je;

	/* 1 -> 5: d came and went (cancels out), 3 is no gap */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "1", "5", NULL), EXIT_OK);
	xasprintf(&want,
	    "list research: seq 1 -> 5 (3 publications)\n"
	    "+ added https://e.example.org (saml2, source feed) with 1 key\n"
	    "- removed https://c.example.org (saml2, source feed): revoked: key compromise\n"
	    "~ https://a.example.org (saml2): key added: jkt %s...\n"
	    "~ https://b.example.org (saml2): key rotated: jkt %s... -> %s...\n"
	    "1 added, 1 removed, 1 key rotation, 1 other key change\n", ja, jr, jb);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(want);
	free(out);
	free(err);

	/* one publication */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "1", "2", NULL), EXIT_OK);
	xasprintf(&want,
	    "list research: seq 1 -> 2 (1 publication)\n"
	    "+ added https://d.example.org (saml2, source feed) with 1 key\n"
	    "~ https://b.example.org (saml2): key rotated: jkt %s... -> %s...\n"
	    "1 added, 0 removed, 1 key rotation\n", jr, jb);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);

	/* the same key in a renewed certificate */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "6", "7", NULL), EXIT_OK);
	x1 = b64u_sha256(ec0_cert[0].cert, ec0_cert[0].certsz);
	x2 = b64u_sha256(ec0_cert[1].cert, ec0_cert[1].certsz);
	x1[12] = x2[12] = '\0';
	xasprintf(&want,
	    "list research: seq 6 -> 7 (1 publication)\n"
	    "~ https://b.example.org (saml2): certificate renewed (same key): x5t %s... -> %s...\n"
	    "0 added, 0 removed, 1 key rotation\n", x1, x2);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);
	free(x1);
	free(x2);

	/* TO defaults to the live generation; nothing between a seq and itself */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "7", NULL), EXIT_OK);
	assert_string_equal(out, "list research: seq 7 -> 7 (0 publications)\n"
	    "0 added, 0 removed, 0 key rotations\n");
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "2", "3", NULL), EXIT_OK);
	assert_non_null(strstr(out, "(0 publications)"));
	free(out);
	free(err);

	/* --json: the composition from the very first publication */
	assert_int_equal(run_diff(&out, &err, "--json", "--list", "research", "0", NULL), EXIT_OK);
	assert_non_null(j = json_loads(out, 0, NULL));
	assert_int_equal(i_of(j, "from"), 0);
	assert_int_equal(i_of(j, "to"), 7);
	assert_int_equal(i_of(j, "publications"), 6);
	assert_int_equal(json_array_size(json_object_get(j, "seqs")), 6);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "seqs"), 2)), 4);
	assert_int_equal(sum_of(j, "added"), 3);	/* a, b, e; c and d cancel out */
	assert_int_equal(sum_of(j, "removed"), 0);
	assert_int_equal(sum_of(j, "keys_rotated"), 0);
	m = json_object_get(j, "added");
	assert_string_equal(s_of(json_array_get(m, 0), "id"), "https://a.example.org");
	assert_int_equal(json_array_size(json_object_get(json_array_get(m, 0), "keys")), 2);
	assert_string_equal(s_of(json_array_get(json_object_get(json_array_get(m, 1), "keys"), 0),
	    "jkt"), jkt_of(&ec[0]));
	assert_null(json_object_get(j, "initial"));
	json_decref(j);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "--json", "1", "5", NULL),
	    EXIT_OK);
	assert_non_null(j = json_loads(out, 0, NULL));
	assert_int_equal(sum_of(j, "keys_added"), 2);
	assert_int_equal(sum_of(j, "keys_removed"), 1);
	m = json_array_get(json_object_get(j, "removed"), 0);
	assert_string_equal(s_of(m, "reason"), "revoked");
	assert_string_equal(s_of(m, "detail"), "key compromise");
	json_decref(j);
	free(out);
	free(err);

	/* usage errors */
	assert_int_equal(run_diff(&out, &err, "1", NULL), EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "x1", NULL), EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "5", "2", NULL), EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "1", "2", "3", NULL),
	    EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "../research", "1", NULL), EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--bogus", "--list", "research", "1", NULL),
	    EXIT_USAGE);
	free(out);
	free(err);
	/* beyond what is published, and a list never published */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "1", "9", NULL), EXIT_REJECT);
	assert_non_null(strstr(err, "not published"));
	free(out);
	free(err);
	assert_int_equal(run_diff(&out, &err, "--list", "other", "1", NULL), EXIT_REJECT);
	free(out);
	free(err);

	/* a missing report is named, never skipped */
	xasprintf(&p, "%s/research/changes/4.json", conf.publish_dir);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(run_diff(&out, &err, "--list", "research", "1", NULL), EXIT_REJECT);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "seq 4 is missing"));
	free(out);
	free(err);
	/* a range after it still works */
	assert_int_equal(run_diff(&out, &err, "--list", "research", "4", "5", NULL), EXIT_OK);
	assert_non_null(strstr(out, "(1 publication)"));
	free(out);
	free(err);

	free(ja);
	free(jb);
	free(jr);
	free(je);
	ents_free(s1, 3);
	ents_free(s2 + 1, 1);
	ents_free(s2 + 3, 1);
	ents_free(s4 + 2, 1);
	ents_free(s5, 1);
	ents_free(s6 + 1, 1);
}

static int
setup(void **state)
{
	int	 i;

	(void)state;
	tmp = tu_tmpdir("test_changes");
	for (i = 0; i < 4; i++) {
		char	 name[32];

		snprintf(name, sizeof(name), "entity%d.pem", i + 1);
		key_from_pem(name, &rsa[i]);
		rsa[i].use = KEY_USE_SIGNING;
		assert_non_null(ec_pk[i] = EVP_EC_gen("P-256"));
		key_from_pkey(ec_pk[i], &ec[i]);
	}
	key_cert_for(ec_pk[0], 1, &ec0_cert[0]);
	key_cert_for(ec_pk[0], 2, &ec0_cert[1]);
	key_from_pem("weak.pem", &weak);
	return 0;
}

static int
teardown(void **state)
{
	int	 i;

	(void)state;
	audit_close();
	for (i = 0; i < 4; i++) {
		key_clear(&rsa[i]);
		key_clear(&ec[i]);
		EVP_PKEY_free(ec_pk[i]);
	}
	key_clear(&ec0_cert[0]);
	key_clear(&ec0_cert[1]);
	key_clear(&weak);
	free(conf.state_dir);
	free(conf.publish_dir);
	free(conf.audit_log);
	free(conf.file);
	tu_sh("rm -rf '%s'", tmp);
	free(tmp);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_publication),
		cmocka_unit_test(test_changes_detected),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_carry),
		cmocka_unit_test(test_diff),
	};

	log_init(1, 0, "test_changes");
	return cmocka_run_group_tests(tests, setup, teardown);
}
