/*
 * Key hygiene (hygiene.c) with real keys made here with OpenSSL: weak keys
 * dropped or kept under weak-keys = warn, one key shared by two partners
 * flagged or both dropped, the same id in two protocols not flagged,
 * certificates about to end counted and audited once a day, the selection
 * kept sorted with its valid_until recomputed, and 20,000 entities checked
 * without quadratic work.  audit_emit / audit_throttle are faked here to
 * record what would reach the audit log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "extern.h"
#include "testutil.h"

#define NOW	1772431200		/* 2026-03-02T06:00:00Z */
#define DAY	86400

/* ---------------------------------------------------------------- audit fakes */

static json_t	*events;		/* every audit_emit: {"event", "severity", fields...} */

struct warned {
	char	*list, *key;
	time_t	 at;
};
static struct warned	*warned;
static size_t		 warnedsz;

void
audit_emit(time_t now, const char *event, const char *severity, struct json_t *fields)
{
	json_t	*o = fields != NULL ? fields : json_object();

	(void)now;
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "severity", json_string(severity));
	json_array_append_new(events, o);
}

int
audit_throttle(const struct config *conf, const char *list, const char *key, time_t now,
    long period)
{
	size_t	 i;

	(void)conf;
	assert_int_equal(period, AUDIT_REPEAT);
	assert_null(strpbrk(key, " \t\r\n"));	/* one token: fits any state file */
	for (i = 0; i < warnedsz; i++) {
		if (strcmp(warned[i].list, list) != 0 || strcmp(warned[i].key, key) != 0)
			continue;
		if (now - warned[i].at < period)
			return 0;
		warned[i].at = now;
		return 1;
	}
	warned = xreallocarray(warned, warnedsz + 1, sizeof(*warned));
	warned[warnedsz].list = xstrdup(list);
	warned[warnedsz].key = xstrdup(key);
	warned[warnedsz++].at = now;
	return 1;
}

static void
audit_reset(void)
{
	size_t	 i;

	for (i = 0; i < warnedsz; i++) {
		free(warned[i].list);
		free(warned[i].key);
	}
	free(warned);
	warned = NULL;
	warnedsz = 0;
	json_decref(events);
	events = json_array();
}

/* The n-th recorded event named name, or NULL. */
static json_t *
event_get(const char *name, size_t n)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(events, i, o)
		if (strcmp(json_string_value(json_object_get(o, "event")), name) == 0 && n-- == 0)
			return o;
	return NULL;
}

static size_t
event_count(const char *name)
{
	size_t	 n = 0;

	while (event_get(name, n) != NULL)
		n++;
	return n;
}

static const char *
field(json_t *o, const char *name)
{
	json_t	*v = json_object_get(o, name);

	assert_non_null(v);
	return json_string_value(v);
}

/* ---------------------------------------------------------------- keys */

static EVP_PKEY	*rsa1024, *rsa2048, *p256, *k256, *ed;

static EVP_PKEY *
gen(const char *type, const char *param, size_t bits)
{
	EVP_PKEY	*pk;

	if (bits != 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type, bits);
	else if (param != NULL)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type, param);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(pk);
	return pk;
}

/* A self-signed certificate of pk ending at not_after, as DER (caller frees). */
static unsigned char *
selfsigned(EVP_PKEY *pk, const char *cn, time_t not_after, size_t *len)
{
	X509		*x = X509_new();
	X509_NAME	*nm = X509_NAME_new();
	unsigned char	*der = NULL, *out;
	int		 n;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)not_after);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NOW - 400 * DAY));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_true(X509_sign(x, pk, EVP_PKEY_is_a(pk, "ED25519") ? NULL : EVP_sha256()) > 0);
	assert_true((n = i2d_X509(x, &der)) > 0);
	out = xmalloc((size_t)n);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	X509_NAME_free(nm);
	X509_free(x);
	return out;
}

/* k = pk's SPKI, with a self-signed certificate ending at not_after unless 0. */
static void
mkkey(struct key *k, EVP_PKEY *pk, time_t not_after)
{
	unsigned char	*der = NULL;
	int		 n;

	memset(k, 0, sizeof(*k));
	assert_true((n = i2d_PUBKEY(pk, &der)) > 0);
	k->spki = xmalloc((size_t)n);
	memcpy(k->spki, der, (size_t)n);
	k->spkisz = (size_t)n;
	OPENSSL_free(der);
	if (not_after != 0) {
		k->cert = selfsigned(pk, "partner", not_after, &k->certsz);
		k->not_after = not_after;
	}
}

/* base64url SHA-256 of buf, computed here independently of hygiene.c. */
static void
b64sha(const unsigned char *buf, size_t len, char out[44])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	unsigned char	 b[48];
	int		 n, i, j;

	SHA256(buf, len, md);
	n = EVP_EncodeBlock(b, md, sizeof(md));
	for (i = j = 0; i < n && b[i] != '='; i++)
		out[j++] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : (char)b[i];
	out[j] = '\0';
}

/* ---------------------------------------------------------------- entities */

#define MAXE	8
static struct entity	 ents[MAXE];
static struct key	 keys[MAXE][3];
static size_t		 nents;
static struct list_conf	 lc;
static struct config	 conf;

static struct entity *
ent(const char *id, enum proto proto, const char *src, time_t until)
{
	struct entity	*e = &ents[nents];

	assert_true(nents < MAXE);
	memset(e, 0, sizeof(*e));
	e->id = (char *)id;
	e->proto = proto;
	e->src = src;
	e->roles = ROLE_ALL;
	e->valid_until = until;
	e->keys = keys[nents++];
	return e;
}

static struct key *
addkey(struct entity *e, EVP_PKEY *pk, time_t not_after)
{
	mkkey(&e->keys[e->keysz], pk, not_after);
	return &e->keys[e->keysz++];
}

/* The selection of every entity made so far, in the order made (sorted by the caller). */
static void
select_all(struct selection *sel)
{
	size_t	 i;

	memset(sel, 0, sizeof(*sel));
	sel->ents = xcalloc(nents, sizeof(*sel->ents));
	for (i = 0; i < nents; i++) {
		sel->ents[sel->entsz++] = &ents[i];
		if (sel->valid_until == 0 || ents[i].valid_until < sel->valid_until)
			sel->valid_until = ents[i].valid_until;
	}
}

static void
sel_free(struct selection *sel)
{
	size_t	 i;

	for (i = 0; i < sel->dropsz; i++) {
		free(sel->drops[i].id);
		free(sel->drops[i].detail);
	}
	free(sel->drops);
	free(sel->ents);
}

static const struct drop *
drop_of(const struct selection *sel, const char *id)
{
	size_t	 i;

	for (i = 0; i < sel->dropsz; i++)
		if (strcmp(sel->drops[i].id, id) == 0)
			return &sel->drops[i];
	return NULL;
}

static int
setup_each(void **state)
{
	(void)state;
	memset(ents, 0, sizeof(ents));
	memset(keys, 0, sizeof(keys));
	nents = 0;
	memset(&lc, 0, sizeof(lc));
	lc.name = "fed";
	lc.cert_warning = 30 * DAY;
	audit_reset();
	return 0;
}

static int
teardown_each(void **state)
{
	size_t	 i, j;

	(void)state;
	for (i = 0; i < MAXE; i++)
		for (j = 0; j < 3; j++) {
			free(keys[i][j].spki);
			free(keys[i][j].cert);
		}
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	rsa1024 = gen("RSA", NULL, 1024);
	rsa2048 = gen("RSA", NULL, 2048);
	p256 = gen("EC", "P-256", 0);
	k256 = gen("EC", "secp256k1", 0);
	ed = gen("ED25519", NULL, 0);
	events = json_array();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(ed);
	audit_reset();
	json_decref(events);
	events = NULL;
	return 0;
}

/* ---------------------------------------------------------------- tests */

/* The five entities of the weak-key tests, sorted by id; b and c are weak. */
static void
weak_set(struct key **b_weak)
{
	struct entity	*e;

	e = ent("https://a.example.org", PROTO_SAML2, "src1", NOW + 20 * DAY);
	addkey(e, rsa2048, NOW + 300 * DAY);
	e = ent("https://b.example.org", PROTO_SAML2, "src1", NOW + 5 * DAY);
	addkey(e, p256, 0);
	*b_weak = addkey(e, rsa1024, NOW + 300 * DAY);
	e = ent("https://c.example.org", PROTO_OIDF, "src2", NOW + 6 * DAY);
	addkey(e, k256, 0);
	e = ent("https://d.example.org", PROTO_OIDF, "src2", NOW + 10 * DAY);
	addkey(e, ed, 0);
	e = ent("https://e.example.org", PROTO_SAML2, "src1", NOW + 9 * DAY);
	addkey(e, p256, NOW + 300 * DAY);
}

static void
test_weak_reject(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	struct key		*bk;
	const struct drop	*d;
	char			 x5t[44], spki[44], want[160];
	json_t			*o;

	(void)state;
	weak_set(&bk);
	/* e shares p256 with b; b is dropped first, so e's key is no longer shared */
	select_all(&sel);
	assert_int_equal(sel.valid_until, NOW + 5 * DAY);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.weak, 2);
	assert_int_equal(h.shared, 0);
	assert_int_equal(h.expiring, 0);

	assert_int_equal(sel.entsz, 3);
	assert_string_equal(sel.ents[0]->id, "https://a.example.org");
	assert_string_equal(sel.ents[1]->id, "https://d.example.org");
	assert_string_equal(sel.ents[2]->id, "https://e.example.org");
	/* b (5 days) and c (6 days) are gone: e's 9 days is now the earliest */
	assert_int_equal(sel.valid_until, NOW + 9 * DAY);

	assert_int_equal(sel.dropsz, 2);
	assert_non_null(d = drop_of(&sel, "https://b.example.org"));
	assert_int_equal(d->reason, R_KEY_WEAK);
	b64sha(bk->cert, bk->certsz, x5t);
	snprintf(want, sizeof(want), "RSA key of 1024 bits (certificate x5t#S256 %s)", x5t);
	assert_string_equal(d->detail, want);
	assert_non_null(d = drop_of(&sel, "https://c.example.org"));
	assert_int_equal(d->reason, R_KEY_WEAK);
	b64sha(ents[2].keys[0].spki, ents[2].keys[0].spkisz, spki);
	assert_non_null(strstr(d->detail, spki));	/* a bare key: named by its SPKI hash */
	assert_string_equal(reason_code(d->reason), "key-weak");

	assert_int_equal(event_count("key-weak"), 2);
	assert_int_equal(json_array_size(events), 2);
	o = event_get("key-weak", 0);
	assert_string_equal(field(o, "list"), "fed");
	assert_string_equal(field(o, "id"), "https://b.example.org");
	assert_string_equal(field(o, "proto"), proto_name(PROTO_SAML2));
	assert_string_equal(field(o, "source"), "src1");
	assert_string_equal(field(o, "detail"), want);
	assert_string_equal(field(o, "policy"), "reject");
	assert_string_equal(field(o, "severity"), "warning");
	o = event_get("key-weak", 1);
	assert_string_equal(field(o, "id"), "https://c.example.org");
	assert_string_equal(field(o, "proto"), proto_name(PROTO_OIDF));
	assert_string_equal(field(o, "source"), "src2");
	sel_free(&sel);
}

static void
test_weak_warn(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	struct key		*bk;

	(void)state;
	weak_set(&bk);
	lc.weak_keys = 1;
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.weak, 2);
	assert_int_equal(sel.entsz, 5);
	assert_int_equal(sel.dropsz, 0);
	assert_int_equal(sel.valid_until, NOW + 5 * DAY);
	assert_int_equal(event_count("key-weak"), 2);
	assert_string_equal(field(event_get("key-weak", 0), "policy"), "warn");
	/* b and e both hold p256 and both stay: the key is shared */
	assert_int_equal(h.shared, 1);
	assert_int_equal(event_count("key-shared"), 1);
	/* a second publication an hour later: counted and logged again, not audited */
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + 3600, &h);
	assert_int_equal(h.weak, 2);
	assert_int_equal(h.shared, 1);
	assert_int_equal(json_array_size(events), 3);
	sel_free(&sel);
}

/* x (two sources) and y share one EC key; w has its own key. */
static void
shared_set(void)
{
	struct entity	*e;

	e = ent("https://w.example.org", PROTO_SAML2, "src1", NOW + 3 * DAY);
	addkey(e, rsa2048, 0);
	e = ent("https://x.example.org", PROTO_SAML2, "src1", NOW + 10 * DAY);
	addkey(e, p256, 0)->use = KEY_USE_SIGNING;
	addkey(e, p256, 0)->use = KEY_USE_ENCRYPTION;	/* one entity listing it twice */
	e = ent("https://y.example.org", PROTO_OIDF, "src2", NOW + 1 * DAY);
	addkey(e, ed, 0);
	addkey(e, p256, 0);
}

static void
test_shared_warn(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	char			 spki[44];
	json_t			*o, *a;

	(void)state;
	shared_set();
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.shared, 1);
	assert_int_equal(h.weak, 0);
	assert_int_equal(sel.entsz, 3);
	assert_int_equal(sel.dropsz, 0);
	assert_int_equal(event_count("key-shared"), 1);
	o = event_get("key-shared", 0);
	b64sha(ents[1].keys[0].spki, ents[1].keys[0].spkisz, spki);
	assert_string_equal(field(o, "spki"), spki);
	assert_string_equal(field(o, "list"), "fed");
	assert_string_equal(field(o, "policy"), "warn");
	a = json_object_get(o, "ids");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "https://x.example.org");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "https://y.example.org");
	a = json_object_get(o, "sources");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "src1");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "src2");
	/* throttled: the same finding a few hours later is not audited again */
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + 5 * 3600, &h);
	assert_int_equal(h.shared, 1);
	assert_int_equal(event_count("key-shared"), 1);
	/* ... but a day later it is */
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + DAY, &h);
	assert_int_equal(event_count("key-shared"), 2);
	sel_free(&sel);
}

static void
test_shared_reject(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	const struct drop	*d;
	char			 spki[44];

	(void)state;
	shared_set();
	lc.shared_keys = 1;
	select_all(&sel);
	assert_int_equal(sel.valid_until, NOW + 1 * DAY);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.shared, 1);
	assert_int_equal(sel.entsz, 1);
	assert_string_equal(sel.ents[0]->id, "https://w.example.org");
	assert_int_equal(sel.valid_until, NOW + 3 * DAY);
	assert_int_equal(sel.dropsz, 2);	/* x once, although it lists the key twice */
	b64sha(ents[1].keys[0].spki, ents[1].keys[0].spkisz, spki);
	assert_non_null(d = drop_of(&sel, "https://x.example.org"));
	assert_int_equal(d->reason, R_KEY_SHARED);
	assert_non_null(strstr(d->detail, spki));
	assert_non_null(strstr(d->detail, "https://y.example.org"));
	assert_non_null(d = drop_of(&sel, "https://y.example.org"));
	assert_int_equal(d->reason, R_KEY_SHARED);
	assert_non_null(strstr(d->detail, "https://x.example.org"));
	assert_string_equal(field(event_get("key-shared", 0), "policy"), "reject");
	sel_free(&sel);
}

static void
test_same_id_two_protos(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	struct entity		*e;

	(void)state;
	lc.shared_keys = 1;
	e = ent("https://p.example.org", PROTO_SAML2, "saml", NOW + DAY);
	addkey(e, p256, 0);
	addkey(e, p256, 0);
	e = ent("https://p.example.org", PROTO_OIDF, "oidf", NOW + DAY);
	addkey(e, p256, 0);
	e = ent("https://q.example.org", PROTO_SAML2, "saml", NOW + DAY);
	addkey(e, ed, 0);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.shared, 0);
	assert_int_equal(sel.entsz, 3);
	assert_int_equal(sel.dropsz, 0);
	assert_int_equal(json_array_size(events), 0);
	sel_free(&sel);
}

static void
test_expiring(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;
	struct entity		*e;
	struct key		*k1, *k2;
	char			 x5t[44];
	json_t			*o;

	(void)state;
	e = ent("https://m.example.org", PROTO_SAML2, "src1", NOW + 5 * DAY);
	k1 = addkey(e, rsa2048, NOW + 10 * DAY + 3600);
	addkey(e, rsa2048, 0);
	/* the same certificate listed again (signing and encryption) counts once */
	mkkey(&e->keys[e->keysz], rsa2048, 0);
	e->keys[e->keysz].cert = xmalloc(k1->certsz);
	memcpy(e->keys[e->keysz].cert, k1->cert, k1->certsz);
	e->keys[e->keysz].certsz = k1->certsz;
	e->keys[e->keysz++].not_after = k1->not_after;
	e = ent("https://n.example.org", PROTO_SAML2, "src2", NOW + 5 * DAY);
	k2 = addkey(e, p256, NOW - 2 * DAY);		/* already ended: still only warned */
	e = ent("https://o.example.org", PROTO_SAML2, "src2", NOW + 5 * DAY);
	addkey(e, ed, NOW + 100 * DAY);			/* outside the 30 day window */

	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.expiring, 2);
	assert_int_equal(h.weak + h.shared, 0);
	assert_int_equal(sel.entsz, 3);			/* never dropped for this */
	assert_int_equal(sel.dropsz, 0);
	assert_int_equal(event_count("cert-expiring"), 2);
	o = event_get("cert-expiring", 0);
	b64sha(k1->cert, k1->certsz, x5t);
	assert_string_equal(field(o, "list"), "fed");
	assert_string_equal(field(o, "id"), "https://m.example.org");
	assert_string_equal(field(o, "proto"), proto_name(PROTO_SAML2));
	assert_string_equal(field(o, "source"), "src1");
	assert_string_equal(field(o, "x5t"), x5t);
	assert_string_equal(field(o, "not_after"), "2026-03-12T07:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(o, "days_left")), 10);
	o = event_get("cert-expiring", 1);
	b64sha(k2->cert, k2->certsz, x5t);
	assert_string_equal(field(o, "id"), "https://n.example.org");
	assert_string_equal(field(o, "x5t"), x5t);
	assert_int_equal(json_integer_value(json_object_get(o, "days_left")), -2);

	/* the next cycles of the day: counted, not audited again */
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + 6 * 3600, &h);
	assert_int_equal(h.expiring, 2);
	assert_int_equal(event_count("cert-expiring"), 2);
	/* a day later: audited again, one day less left */
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + DAY, &h);
	assert_int_equal(event_count("cert-expiring"), 4);
	assert_int_equal(json_integer_value(json_object_get(event_get("cert-expiring", 2),
	    "days_left")), 9);
	/* a shorter window leaves only the ended certificate */
	lc.cert_warning = 7 * DAY;
	sel_free(&sel);
	select_all(&sel);
	hygiene_check(&conf, &lc, &sel, NOW + DAY, &h);
	assert_int_equal(h.expiring, 1);
	sel_free(&sel);
}

static void
test_empty(void **state)
{
	struct selection	 sel;
	struct hygiene		 h;

	(void)state;
	memset(&sel, 0, sizeof(sel));
	memset(&h, 0xff, sizeof(h));
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.weak + h.shared + h.expiring, 0);
	assert_int_equal(sel.entsz, 0);
}

/*
 * 20,000 entities with an Ed25519 key listed twice each (any 32 bytes are a
 * key OpenSSL parses): every 1000th entity's key is also the second key of
 * the next one, and 50 entities share one more key; under reject exactly
 * those go.  The hashes are sorted, never compared pairwise.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BIGN	2000	/* ASan intercepts OpenSSL's many allocations per key parse */
#else
#define BIGN	20000
#endif
static void
test_scale(void **state)
{
	static const unsigned char hdr[12] = {
		0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
	};
	struct entity		*big;
	struct key		*bk;
	struct selection	 sel;
	struct hygiene		 h;
	char			 (*ids)[40];
	size_t			 i, j;

	(void)state;
	big = xcalloc(BIGN, sizeof(*big));
	bk = xcalloc(2 * BIGN, sizeof(*bk));
	ids = xcalloc(BIGN, sizeof(*ids));
	memset(&sel, 0, sizeof(sel));
	sel.ents = xcalloc(BIGN, sizeof(*sel.ents));
	for (i = 0; i < BIGN; i++) {
		snprintf(ids[i], sizeof(ids[i]), "https://e%05zu.example.org", i);
		big[i].id = ids[i];
		big[i].src = "edugain";
		big[i].valid_until = NOW + DAY + (time_t)i;
		big[i].keys = &bk[2 * i];
		big[i].keysz = 2;
		for (j = 0; j < 2; j++) {
			bk[2 * i + j].spki = xmalloc(sizeof(hdr) + 32);
			bk[2 * i + j].spkisz = sizeof(hdr) + 32;
			bk[2 * i + j].use = j == 0 ? KEY_USE_SIGNING : KEY_USE_ENCRYPTION;
		}
		/* one key listed for signing and encryption, as most SAML entities do */
		memcpy(bk[2 * i].spki, hdr, sizeof(hdr));
		assert_int_equal(RAND_bytes(bk[2 * i].spki + sizeof(hdr), 32), 1);
		memcpy(bk[2 * i + 1].spki, bk[2 * i].spki, sizeof(hdr) + 32);
		if (i % 1000 == 1)	/* the second key of the entity before */
			memcpy(bk[2 * i + 1].spki, bk[2 * i - 1].spki, sizeof(hdr) + 32);
		if (i >= 600 && i < 650)	/* entity 600 lists it twice */
			memcpy(bk[2 * i + 1].spki, bk[2 * 600].spki, sizeof(hdr) + 32);
		sel.ents[sel.entsz++] = &big[i];
	}
	sel.valid_until = NOW + DAY;
	lc.shared_keys = 1;
	hygiene_check(&conf, &lc, &sel, NOW, &h);
	assert_int_equal(h.shared, BIGN / 1000 + 1);
	assert_int_equal(h.weak, 0);
	assert_int_equal(event_count("key-shared"), BIGN / 1000 + 1);
	for (i = 0, j = 0; i < BIGN / 1000 + 1; i++)
		j += json_array_size(json_object_get(event_get("key-shared", i), "ids"));
	assert_int_equal(j, BIGN / 1000 * 2 + 50);
	assert_int_equal(sel.dropsz, BIGN / 1000 * 2 + 50);
	assert_int_equal(sel.entsz, BIGN - BIGN / 1000 * 2 - 50);
	for (i = 1; i < sel.entsz; i++)
		assert_true(strcmp(sel.ents[i - 1]->id, sel.ents[i]->id) < 0);
	assert_string_equal(sel.ents[0]->id, "https://e00002.example.org");	/* 0, 1 shared */
	assert_int_equal(sel.valid_until, NOW + DAY + 2);
	for (i = 0; i < sel.dropsz; i++)
		assert_int_equal(sel.drops[i].reason, R_KEY_SHARED);

	sel_free(&sel);
	for (i = 0; i < 2 * BIGN; i++)
		free(bk[i].spki);
	free(bk);
	free(big);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_weak_reject, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_weak_warn, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_shared_warn, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_shared_reject, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_same_id_two_protos, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_expiring, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_empty, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_scale, setup_each, teardown_each),
	};

	log_init(1, 0, "test_hygiene");
	return cmocka_run_group_tests(tests, setup, teardown);
}
