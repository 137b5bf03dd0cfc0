/*
 * The aggregate signer on its own, for sign-bench.sh (not part of make
 * check).  Two steps, so that the signing run's peak RSS is not that of
 * verifying the input feed:
 *   sign_bench dump FEED ANCHOR ENTS   verify FEED, write its entities' XML
 *   sign_bench sign ENTS KEY CERT OUT  sign the aggregate of ENTS (with the
 *                                      PUB-05 self-check), write it to OUT
 * ENTS holds, per entity, "ENTITYID\nLENGTH\n" then LENGTH bytes of XML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

/* Seconds since an arbitrary start, for durations. */
static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verify feed against the pins in anchor and write its entities. 0 / 1. */
static int
dump(const char *feed, const char *anchor, const char *ents)
{
	struct anchor_set	 as;
	struct saml_opts	 so;
	struct entity_set	 es;
	struct verdict		 v;
	unsigned char		*buf;
	size_t			 len, i;
	FILE			*f;

	memset(&as, 0, sizeof(as));
	memset(&so, 0, sizeof(so));
	memset(&es, 0, sizeof(es));
	if (read_file(feed, 1UL << 31, &buf, &len) == -1 ||
	    anchor_load_pins(&as, anchor, &v) == -1)
		fatalx("cannot read %s or %s", feed, anchor);
	so.source = "bench";
	so.cert_validity = CERT_VALIDITY_IGNORE;
	so.max_entities = 1000000;
	if (saml_verify(buf, len, &as, &so, time(NULL), &es, &v) == -1)
		fatalx("%s: %s: %s", feed, reason_code(v.reason), v.detail);
	if ((f = fopen(ents, "w")) == NULL)
		fatal("%s", ents);
	for (i = 0; i < es.entitiesz; i++) {
		fprintf(f, "%s\n%zu\n", es.entities[i].id, es.entities[i].xmlsz);
		fwrite(es.entities[i].xml, 1, es.entities[i].xmlsz, f);
	}
	if (fclose(f) != 0)
		fatal("%s", ents);
	entity_set_free(&es);
	anchor_set_free(&as);
	free(buf);
	return 0;
}

/* Read the entities written by dump into *ents (caller frees). Returns the count. */
static size_t
load(const char *file, struct entity **ents)
{
	unsigned char	*buf;
	char		*p, *end, *nl;
	size_t		 len, n = 0, cap = 0, sz;

	if (read_file(file, 1UL << 31, &buf, &len) == -1)
		fatalx("cannot read %s", file);
	p = (char *)buf;
	end = p + len;
	*ents = NULL;
	while (p < end) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			*ents = xreallocarray(*ents, cap, sizeof(**ents));
		}
		memset(&(*ents)[n], 0, sizeof(**ents));
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			fatalx("%s: truncated", file);
		(*ents)[n].id = xstrndup(p, (size_t)(nl - p));
		sz = strtoul(nl + 1, &p, 10);
		if (*p++ != '\n' || sz > (size_t)(end - p))
			fatalx("%s: bad length", file);
		(*ents)[n].xml = xstrndup(p, sz);
		(*ents)[n].xmlsz = sz;
		p += sz;
		n++;
	}
	free(buf);
	return n;
}

/* Sign the entities of file with key/cert and write the aggregate to out. 0 / 1. */
static int
sign(const char *file, const char *key, const char *cert, const char *out)
{
	struct saml_out_opts	 o;
	struct signer		 s;
	struct verdict		 v;
	struct entity		*ents;
	const struct entity	**ptr;
	unsigned char		*doc;
	size_t			 n, i, docsz;
	time_t			 now = time(NULL);
	double			 t0;

	n = load(file, &ents);
	ptr = xcalloc(n, sizeof(*ptr));
	for (i = 0; i < n; i++)
		ptr[i] = &ents[i];
	if (signer_load(&s, key, cert, &v) == -1)
		fatalx("%s", v.detail);
	memset(&o, 0, sizeof(o));
	o.name = "https://trust.example.org/bench";
	o.publisher = "https://trust.example.org";
	o.valid_until = now + 86400;
	o.cache_duration = 3600;
	o.seq = 1;
	t0 = mono();
	if (out_saml_aggregate(ptr, n, &o, &s, now, &doc, &docsz, &v) == -1)
		fatalx("%s: %s", reason_code(v.reason), v.detail);
	printf("entities %zu bytes %zu sign %.3f s\n", n, docsz, mono() - t0);
	if (write_file_atomic(out, doc, docsz, 0644) == -1)
		fatalx("cannot write %s", out);
	free(doc);
	for (i = 0; i < n; i++) {
		free(ents[i].id);
		free(ents[i].xml);
	}
	free(ents);
	free(ptr);
	signer_free(&s);
	return 0;
}

int
main(int argc, char *argv[])
{
	int	 rc;

	log_init(1, 0, "sign_bench");
	if (xml_init() != 0)
		fatalx("xml_init");
	log_silence_xml();
	if (argc == 5 && strcmp(argv[1], "dump") == 0)
		rc = dump(argv[2], argv[3], argv[4]);
	else if (argc == 6 && strcmp(argv[1], "sign") == 0)
		rc = sign(argv[2], argv[3], argv[4], argv[5]);
	else {
		fprintf(stderr, "usage: sign_bench dump FEED ANCHOR ENTS | "
		    "sign ENTS KEY CERT OUT\n");
		return 2;
	}
	xml_shutdown();
	return rc;
}
