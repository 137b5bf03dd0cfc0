/*
 * Privilege separation of one list's gather step (docs/security.md).  The
 * process that holds the signing key and the publish folder never parses a
 * partner's bytes, and the process that parses them cannot reach the
 * network, the signing key or the publish folder:
 *
 *   main (key, state, publish) --result-- verify (libxml2, xmlsec, jansson)
 *                                             |  fetch requests / bodies
 *                                           fetch (libcurl, network)
 *
 * Both children are forked per list and cycle and call sandbox_enter
 * first.  verify runs sources_gather exactly as main would (fetch_many is
 * proxied to the fetch child over a socketpair) and sends back plain data:
 * the source states with their verified entities.  Frames are typed and
 * size-capped; everything read from a child is bounds-checked and a bad
 * frame fails the list closed (every source failed, the last generation
 * stays live): a child that parsed hostile input is not trusted either.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extern.h"

#define FR_FETCH_REQ	1	/* verify -> fetch: requests */
#define FR_FETCH_RES	2	/* fetch -> verify: results */
#define FR_RESULT	3	/* verify -> main: source states */

/* ------------------------------------------------------------ fetch proxy */

static void
put_req(struct ibuf *b, const struct fetch_req *r)
{
	ibuf_put_str(b, r->source);
	ibuf_put_str(b, r->url);
	ibuf_put_str(b, r->ca_file);
	ibuf_put_u64(b, (uint64_t)r->timeout);
	ibuf_put_u64(b, (uint64_t)r->connect_timeout);
	ibuf_put_u64(b, r->max_size);
	ibuf_put_str(b, r->etag);
	ibuf_put_str(b, r->last_modified);
}

/* The strings of a request read in the fetch child (they own what req borrows). */
struct req_strings {
	char	*s[5];
};

static void
get_req(struct ibuf *b, struct fetch_req *r, struct req_strings *own)
{
	memset(r, 0, sizeof(*r));
	r->source = own->s[0] = ibuf_get_str(b);
	r->url = own->s[1] = ibuf_get_str(b);
	r->ca_file = own->s[2] = ibuf_get_str(b);
	r->timeout = (long)ibuf_get_u64(b);
	r->connect_timeout = (long)ibuf_get_u64(b);
	r->max_size = (size_t)ibuf_get_u64(b);
	r->etag = own->s[3] = ibuf_get_str(b);
	r->last_modified = own->s[4] = ibuf_get_str(b);
}

static void
put_res(struct ibuf *b, const struct fetch_res *r)
{
	ibuf_put_u64(b, (uint64_t)r->ok);
	ibuf_put_u64(b, (uint64_t)r->not_modified);
	ibuf_put_u64(b, (uint64_t)r->status);
	ibuf_put_bytes(b, r->body, r->bodysz);
	ibuf_put_str(b, r->etag);
	ibuf_put_str(b, r->last_modified);
	ibuf_put_u64(b, (uint64_t)r->retry_after);
	ibuf_put_u64(b, (uint64_t)r->v.reason);
	ibuf_put_str(b, r->v.detail);
}

static void
get_res(struct ibuf *b, struct fetch_res *r)
{
	char	*d;

	memset(r, 0, sizeof(*r));
	r->ok = ibuf_get_u64(b) != 0;
	r->not_modified = ibuf_get_u64(b) != 0;
	r->status = (long)ibuf_get_u64(b);
	r->body = ibuf_get_bytes(b, &r->bodysz);
	r->etag = ibuf_get_str(b);
	r->last_modified = ibuf_get_str(b);
	r->retry_after = (long)ibuf_get_u64(b);
	r->v.reason = (enum reason)ibuf_get_u64(b);
	if ((unsigned)r->v.reason >= R_MAX)
		b->bad = 1;
	if ((d = ibuf_get_str(b)) != NULL)
		snprintf(r->v.detail, sizeof(r->v.detail), "%s", d);
	free(d);
}

/* In the verify child: fetch_many through the fetch child on fd (arg). */
static void
proxy_fetch(const struct fetch_req *reqs, struct fetch_res *res, size_t n, void *arg)
{
	int		 fd = *(int *)arg;
	struct ibuf	 b;
	size_t		 i;

	memset(&b, 0, sizeof(b));
	ibuf_put_u64(&b, n);
	for (i = 0; i < n; i++)
		put_req(&b, &reqs[i]);
	if (ipc_frame_write(fd, FR_FETCH_REQ, &b) == -1)
		fatal("privsep: write to the fetch process");
	free(b.p);
	if (ipc_frame_read(fd, FR_FETCH_RES, &b, -1) == -1 || ibuf_get_u64(&b) != n)
		fatalx("privsep: no answer from the fetch process");
	for (i = 0; i < n; i++)
		get_res(&b, &res[i]);
	if (b.bad)
		fatalx("privsep: malformed answer from the fetch process");
	free(b.p);
}

/* The fetch child: answer request frames until the verify child hangs up. */
static void
fetch_serve(int fd)
{
	struct ibuf		 in, out;
	struct fetch_req	*req;
	struct fetch_res	*res;
	struct req_strings	*own;
	size_t			 n, i, j;

	while (ipc_frame_read(fd, FR_FETCH_REQ, &in, -1) == 0) {
		n = ibuf_get_count(&in, 6 * sizeof(uint64_t));
		req = xcalloc(n + 1, sizeof(*req));
		res = xcalloc(n + 1, sizeof(*res));
		own = xcalloc(n + 1, sizeof(*own));
		for (i = 0; i < n; i++)
			get_req(&in, &req[i], &own[i]);
		if (in.bad)
			fatalx("privsep: malformed fetch request");
		fetch_many(req, res, n);
		memset(&out, 0, sizeof(out));
		ibuf_put_u64(&out, n);
		for (i = 0; i < n; i++) {
			put_res(&out, &res[i]);
			fetch_res_free(&res[i]);
			for (j = 0; j < 5; j++)
				free(own[i].s[j]);
		}
		if (ipc_frame_write(fd, FR_FETCH_RES, &out) == -1)
			fatal("privsep: write to the verify process");
		free(out.p);
		free(in.p);
		free(req);
		free(res);
		free(own);
	}
}

/* ------------------------------------------------------------ source states */

static void
put_key(struct ibuf *b, const struct key *k)
{
	ibuf_put_u64(b, k->use);
	ibuf_put_bytes(b, k->cert, k->certsz);
	ibuf_put_bytes(b, k->spki, k->spkisz);
	ibuf_put_u64(b, (uint64_t)k->not_after);
	ibuf_put_u64(b, k->purposes);
	ibuf_put_u64(b, (uint64_t)k->prov);
	ibuf_put_str(b, k->kid);
	ibuf_put_str(b, k->alg);
	ibuf_put_str(b, k->juse);
}

static void
get_key(struct ibuf *b, struct key *k)
{
	memset(k, 0, sizeof(*k));
	k->use = (unsigned)ibuf_get_u64(b);
	k->cert = ibuf_get_bytes(b, &k->certsz);
	k->spki = ibuf_get_bytes(b, &k->spkisz);
	k->not_after = (time_t)ibuf_get_u64(b);
	k->purposes = (unsigned)ibuf_get_u64(b);
	k->prov = (enum key_prov)ibuf_get_u64(b);
	k->kid = ibuf_get_str(b);
	k->alg = ibuf_get_str(b);
	k->juse = ibuf_get_str(b);
	if (k->spki == NULL || k->prov > PROV_LOCAL)
		b->bad = 1;
}

static void
put_entity(struct ibuf *b, const struct entity *e)
{
	size_t	 i;

	ibuf_put_str(b, e->id);
	ibuf_put_u64(b, e->roles);
	ibuf_put_u64(b, e->keysz);
	for (i = 0; i < e->keysz; i++)
		put_key(b, &e->keys[i]);
	ibuf_put_str(b, e->ra);
	ibuf_put_strv(b, e->categories, e->categoriesz);
	ibuf_put_str(b, e->org);
	ibuf_put_u64(b, (uint64_t)e->valid_until);
	ibuf_put_bytes(b, e->xml, e->xmlsz);
	ibuf_put_u64(b, (uint64_t)e->proto);
	ibuf_put_str(b, e->ta);
	ibuf_put_strv(b, e->path, e->pathsz);
	ibuf_put_u64(b, e->tmsz);
	for (i = 0; i < e->tmsz; i++) {
		ibuf_put_str(b, e->tms[i].type);
		ibuf_put_u64(b, (uint64_t)e->tms[i].exp);
	}
	ibuf_put_strv(b, e->scopes, e->scopesz);
	ibuf_put_u64(b, (uint64_t)e->scoped);
	ibuf_put_str(b, e->names_kind);
	ibuf_put_strv(b, e->names, e->namesz);
	ibuf_put_bytes(b, e->meta, e->metasz);
}

/* names_kind is one of the static strings the verifiers use. */
static char *
names_kind_of(struct ibuf *b)
{
	static const char *const kinds[] = { "subject_dn", "san_dns", "san_uri", "san_ip",
	    "san_email" };
	char	*s = ibuf_get_str(b);
	size_t	 i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(s, kinds[i]) == 0)
			return s;
	b->bad = 1;
	free(s);
	return NULL;
}

static void
get_entity(struct ibuf *b, struct entity *e)
{
	size_t	 i;

	memset(e, 0, sizeof(*e));
	e->id = ibuf_get_str(b);
	e->roles = (unsigned)ibuf_get_u64(b);
	e->keysz = ibuf_get_count(b, 9 * sizeof(uint64_t));
	if (e->keysz > MAX_KEYS)
		b->bad = 1;
	e->keys = xcalloc(e->keysz + 1, sizeof(*e->keys));
	for (i = 0; i < e->keysz && !b->bad; i++)
		get_key(b, &e->keys[i]);
	e->ra = ibuf_get_str(b);
	ibuf_get_strv(b, &e->categories, &e->categoriesz);
	e->org = ibuf_get_str(b);
	e->valid_until = (time_t)ibuf_get_u64(b);
	e->xml = (char *)ibuf_get_bytes(b, &e->xmlsz);
	e->proto = (enum proto)ibuf_get_u64(b);
	e->ta = ibuf_get_str(b);
	ibuf_get_strv(b, &e->path, &e->pathsz);
	e->tmsz = ibuf_get_count(b, 2 * sizeof(uint64_t));
	e->tms = xcalloc(e->tmsz + 1, sizeof(*e->tms));
	for (i = 0; i < e->tmsz && !b->bad; i++) {
		e->tms[i].type = ibuf_get_str(b);
		e->tms[i].exp = (time_t)ibuf_get_u64(b);
		if (e->tms[i].type == NULL)
			b->bad = 1;
	}
	ibuf_get_strv(b, &e->scopes, &e->scopesz);
	e->scoped = ibuf_get_u64(b) != 0;
	e->names_kind = names_kind_of(b);
	ibuf_get_strv(b, &e->names, &e->namesz);
	e->meta = (char *)ibuf_get_bytes(b, &e->metasz);
	if (e->id == NULL || e->proto > PROTO_X509 || (e->roles & ~(unsigned)ROLE_ALL) != 0)
		b->bad = 1;
}

static void
put_state(struct ibuf *b, const struct source_state *st, time_t fetched)
{
	const struct entity_set	*s = &st->set;
	size_t			 i;

	ibuf_put_u64(b, (uint64_t)st->status);
	ibuf_put_u64(b, (uint64_t)st->v.reason);
	ibuf_put_str(b, st->v.detail);
	ibuf_put_u64(b, (uint64_t)st->fetched);
	ibuf_put_u64(b, (uint64_t)st->retry_after);
	ibuf_put_u64(b, (uint64_t)fetched);
	ibuf_put_u64(b, s->entitiesz);
	for (i = 0; i < s->entitiesz; i++)
		put_entity(b, &s->entities[i]);
	ibuf_put_u64(b, s->dropsz);
	for (i = 0; i < s->dropsz; i++) {
		ibuf_put_str(b, s->drops[i].id);
		ibuf_put_u64(b, (uint64_t)s->drops[i].reason);
		ibuf_put_str(b, s->drops[i].detail);
	}
	ibuf_put_u64(b, (uint64_t)s->valid_until);
	ibuf_put_u64(b, (uint64_t)s->cache_duration);
	ibuf_put_u64(b, (uint64_t)s->created);
	ibuf_put_str(b, s->name);
	ibuf_put_str(b, s->signer);
}

static void
get_state(struct ibuf *b, struct source_state *st, time_t *fetched)
{
	struct entity_set	*s = &st->set;
	char			*d;
	size_t			 i;

	st->status = (int)ibuf_get_u64(b);
	st->v.reason = (enum reason)ibuf_get_u64(b);
	if ((d = ibuf_get_str(b)) != NULL)
		snprintf(st->v.detail, sizeof(st->v.detail), "%s", d);
	free(d);
	st->fetched = ibuf_get_u64(b) != 0;
	st->retry_after = (long)ibuf_get_u64(b);
	*fetched = (time_t)ibuf_get_u64(b);
	s->entitiesz = ibuf_get_count(b, 20 * sizeof(uint64_t));
	s->entities = xcalloc(s->entitiesz + 1, sizeof(*s->entities));
	for (i = 0; i < s->entitiesz && !b->bad; i++)
		get_entity(b, &s->entities[i]);
	s->dropsz = ibuf_get_count(b, 3 * sizeof(uint64_t));
	s->drops = xcalloc(s->dropsz + 1, sizeof(*s->drops));
	for (i = 0; i < s->dropsz && !b->bad; i++) {
		s->drops[i].id = ibuf_get_str(b);
		s->drops[i].reason = (enum reason)ibuf_get_u64(b);
		s->drops[i].detail = ibuf_get_str(b);
		if (s->drops[i].id == NULL || (unsigned)s->drops[i].reason >= R_MAX ||
		    s->drops[i].detail == NULL)
			b->bad = 1;
	}
	s->valid_until = (time_t)ibuf_get_u64(b);
	s->cache_duration = (long)ibuf_get_u64(b);
	s->created = (time_t)ibuf_get_u64(b);
	s->name = ibuf_get_str(b);
	s->signer = ibuf_get_str(b);
	if (st->status < SRC_OK || st->status > SRC_FAILED || (unsigned)st->v.reason >= R_MAX)
		b->bad = 1;
}

/* ------------------------------------------------------------ children */

/* The local path of a file:// URL (borrowed), or NULL. */
static const char *
file_path(const char *url)
{
	return url != NULL && strncmp(url, "file://", 7) == 0 ? url + 7 : NULL;
}

static void
push_path(const char ***v, size_t *n, const char *p)
{
	if (p == NULL)
		return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = p;
}

/* The system trees every child may read: libraries, locales, gconv. */
static void
push_system(const char ***v, size_t *n)
{
	push_path(v, n, "/usr");
	push_path(v, n, "/lib");
	push_path(v, n, "/lib64");
	push_path(v, n, "/proc/self");
	push_path(v, n, "/dev/null");
	push_path(v, n, "/dev/urandom");
}

/* fetch: the network, CA files, name service files, file:// sources; nothing writable. */
static void
fetch_child(const struct config *conf, const struct list_conf *l, int fd)
{
	struct sandbox_paths	 sp;
	const char		**ro = NULL;
	size_t			 nro = 0, i;

	push_system(&ro, &nro);
	push_path(&ro, &nro, "/etc/ssl");
	push_path(&ro, &nro, "/etc/resolv.conf");
	push_path(&ro, &nro, "/etc/hosts");
	push_path(&ro, &nro, "/etc/nsswitch.conf");
	push_path(&ro, &nro, "/etc/host.conf");
	push_path(&ro, &nro, "/etc/gai.conf");
	push_path(&ro, &nro, conf->ca_file);
	for (i = 0; i < l->sourcesz; i++) {
		push_path(&ro, &nro, l->sources[i].ca_file);
		push_path(&ro, &nro, file_path(l->sources[i].url));
		push_path(&ro, &nro, file_path(l->sources[i].crl_url));
	}
	memset(&sp, 0, sizeof(sp));
	sp.ro = ro;
	sp.nro = nro;
	if (sandbox_enter(SANDBOX_FETCH, &sp) == -1)
		_exit(1);
	fetch_serve(fd);
	_exit(0);
}

/* verify: anchors and the list's caches only; no network. */
static void
verify_child(const struct config *conf, const struct list_conf *l, time_t now,
    struct schedule *sched, int ffd, int rfd)
{
	struct sandbox_paths	 sp;
	struct source_state	*st;
	struct ibuf		 b;
	time_t			*fetched;
	const char		**ro = NULL, *rw[1];
	char			*cache;
	size_t			 nro = 0, i, j;

	xasprintf(&cache, "%s/sources/%s", conf->state_dir, l->name);
	(void)mkdir_p(cache, 0700);
	push_system(&ro, &nro);
	for (i = 0; i < l->sourcesz; i++) {
		const struct source_conf *s = &l->sources[i];

		for (j = 0; j < s->anchorsz; j++)
			push_path(&ro, &nro, s->anchors[j]);
		for (j = 0; j < s->casz; j++)
			push_path(&ro, &nro, s->cas[j]);
		for (j = 0; j < s->crlsz; j++)
			push_path(&ro, &nro, s->crls[j]);
	}
	rw[0] = cache;
	memset(&sp, 0, sizeof(sp));
	sp.ro = ro;
	sp.nro = nro;
	sp.rw = rw;
	sp.nrw = 1;
	if (sandbox_enter(SANDBOX_VERIFY, &sp) == -1)
		_exit(1);
	fetch_set_proxy(proxy_fetch, &ffd);
	schedule_passive(sched);
	st = xcalloc(l->sourcesz + 1, sizeof(*st));
	fetched = xcalloc(l->sourcesz + 1, sizeof(*fetched));
	sources_gather(conf, l, now, st, fetched, sched);
	memset(&b, 0, sizeof(b));
	for (i = 0; i < l->sourcesz; i++)
		put_state(&b, &st[i], fetched[i]);
	if (ipc_frame_write(rfd, FR_RESULT, &b) == -1)
		_exit(1);
	_exit(0);
}

/* Every source failed with why (the list keeps its last generation). */
static void
all_failed(const struct list_conf *l, struct source_state *st, time_t *fetched,
    const char *why)
{
	size_t	 i;

	for (i = 0; i < l->sourcesz; i++) {
		entity_set_free(&st[i].set);
		memset(&st[i], 0, sizeof(st[i]));
		st[i].conf = &l->sources[i];
		st[i].status = SRC_FAILED;
		st[i].retry_after = -1;
		fetched[i] = 0;
		verdict_set(&st[i].v, R_INTERNAL, "%s", why);
	}
	log_warnx("list=%s reason=%s: %s", l->name, reason_code(R_INTERNAL), why);
}

/* The verify child's result into st and fetched. 0 / -1 (malformed). */
static int
read_result(const struct list_conf *l, int fd, struct source_state *st, time_t *fetched)
{
	struct ibuf	 b;
	size_t		 i, j;

	if (ipc_frame_read(fd, FR_RESULT, &b, MAX_VERIFY_WAIT * 1000) == -1)
		return -1;
	for (i = 0; i < l->sourcesz && !b.bad; i++) {
		st[i].conf = &l->sources[i];
		get_state(&b, &st[i], &fetched[i]);
		for (j = 0; j < st[i].set.entitiesz; j++) {
			st[i].set.entities[j].src = l->sources[i].name;
			st[i].set.entities[j].priority = l->sources[i].priority;
		}
	}
	free(b.p);
	return b.bad || b.off != b.len ? -1 : 0;
}

/* Wait for pid; 0 when it exited with status 0. */
static int
reap(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void
sources_gather_isolated(const struct config *conf, const struct list_conf *l, time_t now,
    struct source_state *st, time_t *fetched, struct schedule *sched)
{
	int	 fsv[2], rsv[2], ok;
	pid_t	 fpid, vpid;
	size_t	 i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fsv) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rsv) == -1)
		fatal("socketpair");
	if ((fpid = fork()) == -1)
		fatal("fork");
	if (fpid == 0) {
		close_fds_except(fsv[0], -1);
		fetch_child(conf, l, fsv[0]);
	}
	if ((vpid = fork()) == -1)
		fatal("fork");
	if (vpid == 0) {
		close_fds_except(fsv[1], rsv[1]);
		verify_child(conf, l, now, sched, fsv[1], rsv[1]);
	}
	close(fsv[0]);
	close(fsv[1]);
	close(rsv[1]);
	ok = read_result(l, rsv[0], st, fetched) == 0;
	close(rsv[0]);
	if (!ok)
		(void)kill(vpid, SIGKILL);
	if (reap(vpid) == -1)
		ok = 0;
	(void)kill(fpid, SIGKILL);
	(void)reap(fpid);
	if (!ok)
		all_failed(l, st, fetched, "the verify process failed or sent a malformed result; "
		    "nothing of this cycle is used");
	/* the children's schedule was a copy: record the outcomes here */
	for (i = 0; sched != NULL && i < l->sourcesz; i++)
		schedule_done(sched, l, &st[i], now);
}
