/* Unit tests of policy.c: selection, filters, dedupe, expiry, mass-drop. */
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

#define NOW	1800000000

static struct entity
ent(const char *id, unsigned roles, const char *ra, const char *src, int prio)
{
	struct entity	 e;

	memset(&e, 0, sizeof(e));
	e.id = (char *)id;
	e.roles = roles;
	e.ra = (char *)ra;
	e.src = src;
	e.priority = prio;
	e.valid_until = NOW + 86400;
	e.xml = (char *)id;
	e.xmlsz = strlen(id);
	return e;
}

static void
source_init(struct source_conf *s, const char *name, int prio)
{
	memset(s, 0, sizeof(*s));
	s->name = (char *)name;
	s->roles = ROLE_ALL;
	s->priority = prio;
}

static void
list_init(struct list_conf *l)
{
	memset(l, 0, sizeof(*l));
	l->name = (char *)"research";
	l->roles = ROLE_ALL;
	l->max_drop = 0.10;
}

static const struct drop *
find_drop(const struct selection *sel, const char *id, enum reason r)
{
	size_t	 i;

	for (i = 0; i < sel->dropsz; i++)
		if (strcmp(sel->drops[i].id, id) == 0 && sel->drops[i].reason == r)
			return &sel->drops[i];
	return NULL;
}

static void
test_dedupe_and_order(void **state)
{
	struct list_conf	 l;
	struct source_conf	 sc[2];
	struct source_state	 st[2];
	struct entity		 a[3], b[2];
	struct selection	 sel;
	struct verdict		 v;
	const struct drop	*d;

	list_init(&l);
	source_init(&sc[0], "low", 1);
	source_init(&sc[1], "high", 10);
	a[0] = ent("https://c.example.org", ROLE_IDP, NULL, "low", 1);
	a[1] = ent("https://a.example.org", ROLE_SP, NULL, "low", 1);
	a[2] = ent("https://both.example.org", ROLE_IDP, NULL, "low", 1);
	b[0] = ent("https://both.example.org", ROLE_IDP, NULL, "high", 10);
	b[1] = ent("https://b.example.org", ROLE_SP, NULL, "high", 10);
	b[0].valid_until = NOW + 3600;
	memset(st, 0, sizeof(st));
	st[0].conf = &sc[0];
	st[0].set.entities = a;
	st[0].set.entitiesz = 3;
	st[1].conf = &sc[1];
	st[1].set.entities = b;
	st[1].set.entitiesz = 2;
	assert_int_equal(policy_select(&l, st, 2, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 4);
	/* sorted by id, the duplicate taken from the higher priority */
	assert_string_equal(sel.ents[0]->id, "https://a.example.org");
	assert_string_equal(sel.ents[1]->id, "https://b.example.org");
	assert_string_equal(sel.ents[2]->id, "https://both.example.org");
	assert_string_equal(sel.ents[2]->src, "high");
	assert_string_equal(sel.ents[3]->id, "https://c.example.org");
	d = find_drop(&sel, "https://both.example.org", R_ENTITY_DEDUPED);
	assert_non_null(d);
	assert_non_null(strstr(d->detail, "source low lost to source high"));
	assert_int_equal(sel.valid_until, NOW + 3600);
	selection_free(&sel);

	/* equal priority: the earlier source wins */
	sc[1].priority = 1;
	b[0].priority = 1;
	assert_int_equal(policy_select(&l, st, 2, NOW, &sel, &v), 0);
	assert_string_equal(sel.ents[2]->src, "low");
	selection_free(&sel);

	/* one URL as a SAML entity and as an OIDF entity: two entities, no dedupe */
	b[0].proto = PROTO_OIDF;
	b[0].roles = ROLE_OP;
	assert_int_equal(policy_select(&l, st, 2, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 5);
	assert_string_equal(sel.ents[2]->id, "https://both.example.org");
	assert_int_equal(sel.ents[2]->proto, PROTO_SAML2);
	assert_string_equal(sel.ents[3]->id, "https://both.example.org");
	assert_int_equal(sel.ents[3]->proto, PROTO_OIDF);
	assert_null(find_drop(&sel, "https://both.example.org", R_ENTITY_DEDUPED));
	selection_free(&sel);
}

static void
test_filters(void **state)
{
	struct list_conf	 l;
	struct source_conf	 sc;
	struct source_state	 st;
	struct entity		 e[6];
	struct selection	 sel;
	struct verdict		 v;
	char			*ldeny[] = { (char *)"https://evil.*" };
	char			*sallow[] = { (char *)"https://*.example.org/*", (char *)"https://evil.*" };
	char			*ras[] = { (char *)"https://ra.example.org" };

	list_init(&l);
	l.deny = ldeny;
	l.denysz = 1;
	source_init(&sc, "feed", 0);
	sc.roles = ROLE_IDP;
	sc.allow = sallow;
	sc.allowsz = 2;
	sc.ras = ras;
	sc.rasz = 1;
	e[0] = ent("https://ok.example.org/idp", ROLE_IDP | ROLE_SP, "https://ra.example.org", "feed", 0);
	e[1] = ent("https://sp.example.org/sp", ROLE_SP, "https://ra.example.org", "feed", 0);
	e[2] = ent("https://other.net/idp", ROLE_IDP, "https://ra.example.org", "feed", 0);
	e[3] = ent("https://evil.example.org/idp", ROLE_IDP, "https://ra.example.org", "feed", 0);
	e[4] = ent("https://nora.example.org/idp", ROLE_IDP, NULL, "feed", 0);
	e[5] = ent("https://old.example.org/idp", ROLE_IDP, "https://ra.example.org", "feed", 0);
	e[5].valid_until = NOW;
	memset(&st, 0, sizeof(st));
	st.conf = &sc;
	st.set.entities = e;
	st.set.entitiesz = 6;
	assert_int_equal(policy_select(&l, &st, 1, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 1);
	assert_string_equal(sel.ents[0]->id, "https://ok.example.org/idp");
	assert_non_null(find_drop(&sel, "https://sp.example.org/sp", R_ENTITY_FILTERED));
	assert_non_null(find_drop(&sel, "https://other.net/idp", R_ENTITY_FILTERED));
	assert_non_null(strstr(find_drop(&sel, "https://evil.example.org/idp", R_ENTITY_FILTERED)->detail,
	    "deny"));
	assert_non_null(strstr(find_drop(&sel, "https://nora.example.org/idp", R_ENTITY_FILTERED)->detail,
	    "registration authority"));
	assert_non_null(find_drop(&sel, "https://old.example.org/idp", R_ENTITY_EXPIRED));
	selection_free(&sel);

	/* the list-wide role filter applies too */
	sc.roles = ROLE_ALL;
	l.roles = ROLE_SP;
	assert_int_equal(policy_select(&l, &st, 1, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 2);
	assert_string_equal(sel.ents[0]->id, "https://ok.example.org/idp");
	assert_string_equal(sel.ents[1]->id, "https://sp.example.org/sp");
	assert_non_null(find_drop(&sel, "https://other.net/idp", R_ENTITY_FILTERED));
	selection_free(&sel);
}

static void
test_approval_and_failed(void **state)
{
	struct list_conf	 l;
	struct source_conf	 sc[2];
	struct source_state	 st[2];
	struct entity		 a, b;
	struct selection	 sel;
	struct verdict		 v;

	list_init(&l);
	source_init(&sc[0], "expired-approval", 0);
	sc[0].approved_until = NOW - 1;
	source_init(&sc[1], "failed", 0);
	a = ent("https://a.example.org", ROLE_IDP, NULL, "expired-approval", 0);
	b = ent("https://b.example.org", ROLE_IDP, NULL, "failed", 0);
	memset(st, 0, sizeof(st));
	st[0].conf = &sc[0];
	st[0].set.entities = &a;
	st[0].set.entitiesz = 1;
	st[1].conf = &sc[1];
	st[1].status = SRC_FAILED;
	st[1].set.entities = &b;
	st[1].set.entitiesz = 1;
	assert_int_equal(policy_select(&l, st, 2, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 0);
	assert_non_null(find_drop(&sel, "expired-approval", R_APPROVAL_EXPIRED));
	/* nothing left: never published */
	assert_int_equal(policy_check_drop(&l, NULL, 0, &sel, &v), -1);
	assert_int_equal(v.reason, R_FEED_EMPTY);
	selection_free(&sel);
	/* still approved one second later than now */
	sc[0].approved_until = NOW + 1;
	assert_int_equal(policy_select(&l, st, 2, NOW, &sel, &v), 0);
	assert_int_equal(sel.entsz, 1);
	selection_free(&sel);
}

static void
test_mass_drop(void **state)
{
	struct list_conf	 l;
	struct source_conf	 sc;
	struct source_state	 st;
	struct entity		 e[9];
	struct selection	 sel;
	struct verdict		 v;
	char			*prev[10], name[10][40];
	int			 i;

	list_init(&l);
	source_init(&sc, "feed", 0);
	for (i = 0; i < 10; i++) {
		snprintf(name[i], sizeof(name[i]), "https://e%d.example.org", i);
		prev[i] = name[i];
	}
	for (i = 0; i < 9; i++)
		e[i] = ent(name[i], ROLE_IDP, NULL, "feed", 0);
	memset(&st, 0, sizeof(st));
	st.conf = &sc;
	st.set.entities = e;
	st.set.entitiesz = 9;
	/* 1 of 10 vanishes: exactly the 10% allowed */
	assert_int_equal(policy_select(&l, &st, 1, NOW, &sel, &v), 0);
	assert_int_equal(policy_check_drop(&l, prev, 10, &sel, &v), 0);
	selection_free(&sel);
	/* 2 of 10 vanish: refused */
	st.set.entitiesz = 8;
	assert_int_equal(policy_select(&l, &st, 1, NOW, &sel, &v), 0);
	assert_int_equal(policy_check_drop(&l, prev, 10, &sel, &v), -1);
	assert_int_equal(v.reason, R_MASS_DROP);
	assert_non_null(strstr(v.detail, "2 of 10"));
	selection_free(&sel);
	/* a first publication has nothing to compare with */
	assert_int_equal(policy_select(&l, &st, 1, NOW, &sel, &v), 0);
	assert_int_equal(policy_check_drop(&l, NULL, 0, &sel, &v), 0);
	selection_free(&sel);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe_and_order),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_approval_and_failed),
		cmocka_unit_test(test_mass_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
