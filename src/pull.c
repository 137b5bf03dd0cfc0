/*
 * fedtrust pull: the consumer agent on a gateway host (bundle-format.md 4.9
 * and 4.12, docs/pull.md).  Polls head.jwt with If-None-Match, verifies head
 * and bundle with libfedtrust against the stored state, persists the raw
 * JWSs and the state atomically, writes the derived outputs and runs the
 * reload hook when an output changed.  Rollback, equivocation and fork are
 * alarms that keep the current state; past the effective expiry it fails
 * closed (outputs that admit nobody).  Signals only set flags; the loop acts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"
#include "lib/private.h"

#define PULL_MAX_HEAD		8192		/* bytes of head.jwt (4.9 step 6) */
#define PULL_MAX_STATE		65536		/* bytes of state.json */
#define PULL_MIN_INTERVAL	60L		/* the refresh hint is clamped to ... */
#define PULL_MAX_INTERVAL	3600L		/* ... this range */
#define PULL_DEFAULT_REFRESH	300L		/* before any bundle is known */

/* What one poll came to. */
enum poll_result { POLL_UNCHANGED = 0, POLL_APPLIED, POLL_FAILED };

/* The running agent: configuration, pins, stored state, applied bundle. */
struct agent {
	struct pull_conf	*conf;
	struct fedtrust_trust	*trust;
	struct fedtrustp_keyset	*pins;		/* the same keys, for kid checks (op_keys) */
	struct fedtrust_state	 st;		/* as persisted */
	char			*etag;		/* of head.jwt (bundle.jwt without a head) */
	struct fedtrust_bundle	*b;		/* applied bundle, or NULL */
	long			 refresh;	/* the applied bundle's refresh hint */
	int			 lockfd;
	char			 where[96];	/* "pull LIST" for messages */
};

static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static char *
state_path(const struct agent *a, const char *name)
{
	return path_join(a->conf->state_dir, name);
}

/* Atomically write state-dir/name. 0 / -1 (logged). */
static int
state_write(const struct agent *a, const char *name, const void *data, size_t len)
{
	char	*path = state_path(a, name);
	int	 rc;

	if ((rc = write_file_atomic(path, data, len, 0644)) == -1)
		log_warn("%s: %s", a->where, path);
	free(path);
	return rc;
}

/* Read state-dir/name (at most max bytes). 0 / -1 (ENOENT quiet). Caller frees. */
static int
state_read(const struct agent *a, const char *name, size_t max, unsigned char **buf,
    size_t *len)
{
	char	*path = state_path(a, name);
	int	 rc;

	if ((rc = read_file(path, max, buf, len)) == -1 && errno != ENOENT)
		log_warn("%s: %s", a->where, path);
	free(path);
	return rc;
}

/* state.json: the fedtrust_state, the ETag and the pinned kids. 0 / -1. */
static int
state_save(const struct agent *a)
{
	json_t	*j, *kids = json_array();
	char	*s;
	size_t	 i;
	int	 rc;

	for (i = 0; i < a->pins->n; i++)
		json_array_append_new(kids, json_string(a->pins->pins[i].jkt));
	j = json_pack("{s:I, s:I, s:I, s:s, s:I, s:I, s:o}",
	    "seq", (json_int_t)a->st.seq, "iat", (json_int_t)a->st.iat,
	    "exp", (json_int_t)a->st.exp, "bdig", a->st.bdig,
	    "head_iat", (json_int_t)a->st.head_iat, "head_exp", (json_int_t)a->st.head_exp,
	    "pins", kids);
	if (j == NULL)
		fatalx("state: out of memory");
	if (a->etag != NULL)
		json_object_set_new(j, "etag", json_string(a->etag));
	s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(j);
	if (s == NULL)
		fatalx("state: out of memory");
	rc = state_write(a, "state.json", s, strlen(s));
	free(s);
	return rc;
}

/* Integer member or 0. */
static int64_t
jint(const json_t *j, const char *k)
{
	const json_t	*v = json_object_get(j, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : 0;
}

/*
 * Load state.json.  A pinned kid that is gone from the configuration resets
 * seq, bdig and the head state but keeps the iat floor (4.8 emergency,
 * 4.9 step 3).  0 (also when there is none yet) / -1 (unreadable, corrupt).
 */
static int
state_load(struct agent *a)
{
	unsigned char	*buf = NULL;
	size_t		 len, i;
	json_t		*j = NULL, *kids, *v;
	const char	*s;
	int		 rc = -1, removed = 0;

	if (state_read(a, "state.json", PULL_MAX_STATE, &buf, &len) == -1) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if ((j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		log_warnx("%s: state.json is not valid JSON", a->where);
		goto out;
	}
	a->st.seq = (uint64_t)jint(j, "seq");
	a->st.iat = jint(j, "iat");
	a->st.exp = jint(j, "exp");
	a->st.head_iat = jint(j, "head_iat");
	a->st.head_exp = jint(j, "head_exp");
	if ((s = json_string_value(json_object_get(j, "bdig"))) != NULL && strlen(s) < 44)
		memcpy(a->st.bdig, s, strlen(s) + 1);
	if ((s = json_string_value(json_object_get(j, "etag"))) != NULL)
		a->etag = xstrdup(s);
	kids = json_object_get(j, "pins");
	json_array_foreach(kids, i, v) {
		s = json_string_value(v);
		if (s != NULL && fedtrustp_keyset_find(a->pins, s, strlen(s)) == NULL)
			removed = 1;
	}
	if (removed) {
		log_warnx("%s: a pinned operator key was removed: seq, prev and head state "
		    "reset, iat floor %" PRId64 " kept", a->where, a->st.iat);
		a->st.seq = 0;
		a->st.bdig[0] = '\0';
		a->st.head_iat = a->st.head_exp = 0;
		a->st.exp = 0;
		free(a->etag);
		a->etag = NULL;
	}
	rc = 0;
 out:
	json_decref(j);
	free(buf);
	return rc;
}

/*
 * The refresh hint and the op_keys announcement of the applied bundle, read
 * from its already verified payload.  Alarms for a next kid we do not pin.
 */
static void
payload_info(struct agent *a, const char *jws, size_t len)
{
	const char	*p1, *p2;
	unsigned char	*pl = NULL;
	size_t		 pllen, i;
	json_t		*j = NULL, *next, *v;
	struct fedtrust_error err;
	const char	*kid;
	int64_t		 r;

	a->refresh = PULL_DEFAULT_REFRESH;
	if ((p1 = memchr(jws, '.', len)) == NULL ||
	    (p2 = memchr(p1 + 1, '.', len - (size_t)(p1 + 1 - jws))) == NULL ||
	    fedtrustp_b64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), &pl, &pllen, &err) == -1 ||
	    (j = json_loadb((const char *)pl, pllen, 0, NULL)) == NULL)
		goto out;
	if ((r = jint(j, "refresh")) > 0)
		a->refresh = (long)r;
	next = json_object_get(json_object_get(j, "op_keys"), "next");
	json_array_foreach(next, i, v) {
		if ((kid = json_string_value(v)) != NULL &&
		    fedtrustp_keyset_find(a->pins, kid, strlen(kid)) == NULL) {
			char	 buf[64];

			log_warnx("ALARM next-key-unpinned %s: the operator announces next key %s, "
			    "which is not pinned here: this consumer will break at rollover",
			    a->where, log_sanitize(kid, strlen(kid), buf, sizeof(buf)));
		}
	}
 out:
	json_decref(j);
	fedtrustp_free(pl);
}

/*
 * Load the last good bundle and re-verify it at now without a state (it was
 * accepted before; only time rules apply), so that a restart needs no
 * network.  Dropped when it is not the one the state names.
 */
static void
load_stored_bundle(struct agent *a, time_t now)
{
	unsigned char		*buf = NULL;
	size_t			 len;
	struct fedtrust_error	 err;
	struct fedtrust_bundle	*b;
	struct fedtrust_state	 ns;

	if (a->st.seq == 0 ||
	    state_read(a, "bundle.jwt", a->conf->max_bundle, &buf, &len) == -1)
		goto out;
	if ((b = fedtrust_bundle_verify(a->trust, (const char *)buf, len, now, NULL, NULL,
	    &err)) == NULL) {
		log_warnx("%s: stored bundle no longer verifies: %s: %s", a->where,
		    fedtrust_error_code_name(err.code), err.text);
		goto out;
	}
	fedtrust_bundle_state(b, NULL, &ns);
	if (ns.seq != a->st.seq || strcmp(ns.bdig, a->st.bdig) != 0) {
		log_warnx("%s: stored bundle (seq %" PRIu64 ") is not the applied one "
		    "(seq %" PRIu64 "): ignored", a->where, ns.seq, a->st.seq);
		fedtrust_bundle_free(b);
		goto out;
	}
	a->b = b;
	payload_info(a, (const char *)buf, len);
	log_debug("%s: stored bundle seq %" PRIu64 " re-verified", a->where, ns.seq);
 out:
	free(buf);
}

static void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	if (a->lockfd != -1)
		close(a->lockfd);
	fedtrust_bundle_free(a->b);
	fedtrust_trust_free(a->trust);
	fedtrustp_keyset_free(a->pins);
	pull_conf_free(a->conf);
	free(a->etag);
	free(a);
}

/*
 * A new agent for conf (taken over, freed with the agent): pinned keys,
 * state-dir lock, stored state and bundle.  NULL on a configuration error
 * (logged).
 */
static struct agent *
agent_new(struct pull_conf *conf, time_t now)
{
	struct agent		*a = xcalloc(1, sizeof(*a));
	struct fedtrust_error	 err;
	char			*path;
	size_t			 i;

	a->conf = conf;
	a->lockfd = -1;
	a->refresh = PULL_DEFAULT_REFRESH;
	snprintf(a->where, sizeof(a->where), "pull %s", conf->list);
	if ((a->trust = fedtrust_trust_new(conf->issuer, conf->list, &err)) == NULL ||
	    (a->pins = fedtrustp_keyset_new(&err)) == NULL) {
		log_warnx("%s: %s", a->where, err.text);
		goto fail;
	}
	fedtrust_trust_set_max_bundle_bytes(a->trust, conf->max_bundle);
	for (i = 0; i < conf->keysz; i++)
		if (fedtrust_trust_add_key_file(a->trust, conf->keys[i], &err) == -1 ||
		    fedtrustp_keyset_add_file(a->pins, conf->keys[i], &err) == -1) {
			log_warnx("%s: key %s: %s: %s", a->where, conf->keys[i],
			    fedtrust_error_code_name(err.code), err.text);
			goto fail;
		}
	if (mkdir_p(conf->state_dir, 0755) == -1) {
		log_warn("%s: %s", a->where, conf->state_dir);
		goto fail;
	}
	/* One agent per state folder: two would race on the floors. */
	path = path_join(conf->state_dir, "lock");
	a->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (a->lockfd == -1 || flock(a->lockfd, LOCK_EX | LOCK_NB) == -1) {
		log_warn("%s: %s/lock (another fedtrust pull on this state-dir?)", a->where,
		    conf->state_dir);
		goto fail;
	}
	if (state_load(a) == -1)
		goto fail;
	load_stored_bundle(a, now);
	return a;
 fail:
	agent_free(a);
	return NULL;
}

/* Log a libfedtrust rejection; rollback, equivocation and fork are alarms. */
static void
report(const struct agent *a, const char *what, const struct fedtrust_error *err)
{
	const char	*alarm = NULL;

	switch (err->code) {
	case FEDTRUST_E_ROLLBACK:
		alarm = "rollback";
		break;
	case FEDTRUST_E_EQUIVOCATION:
		alarm = "equivocation";
		break;
	case FEDTRUST_E_FORK:
		alarm = "fork";
		break;
	default:
		break;
	}
	if (alarm != NULL)
		log_warnx("ALARM %s %s: %s rejected, state kept: %s", alarm, a->where, what,
		    err->text);
	else
		log_warnx("%s: %s rejected: reason=%s: %s", a->where, what,
		    fedtrust_error_code_name(err->code), err->text);
}

/* Fetch one URL (ETag optional). 0 and res filled / -1 (logged, res freed). */
static int
get(const struct agent *a, const char *url, const char *etag, size_t max,
    struct fetch_res *res)
{
	struct fetch_req	 req;

	memset(&req, 0, sizeof(req));
	memset(res, 0, sizeof(*res));
	req.source = a->where;
	req.url = url;
	req.ca_file = a->conf->ca_file;
	req.timeout = a->conf->fetch_timeout;
	req.connect_timeout = MAX_CONNECT_TIMEOUT;
	req.max_size = max;
	req.etag = etag;
	fetch_many(&req, res, 1);
	if (!res->ok) {
		log_warnx("%s: %s: reason=%s: %s", a->where, url, reason_code(res->v.reason),
		    res->v.detail);
		fetch_res_free(res);
		return -1;
	}
	return 0;
}

/*
 * Where to get the bundle a head announces: its burl when that lies under
 * the configured url (no "..", query or fragment), else url + bundle.jwt.
 * The bytes are bound by bdig either way; this only keeps requests on the
 * operator's site.  Caller frees.
 */
static char *
bundle_url(const struct agent *a, const struct fedtrust_head *h)
{
	const char	*u = a->conf->url;
	char		*s;

	if (h != NULL && strncmp(h->burl, u, strlen(u)) == 0 &&
	    strstr(h->burl, "/../") == NULL && strpbrk(h->burl, "?#") == NULL)
		return xstrdup(h->burl);
	if (h != NULL)
		log_info("%s: burl %s is not under %s: using bundle.jwt", a->where, h->burl, u);
	xasprintf(&s, "%sbundle.jwt", u);
	return s;
}

/* 1 when old lists the revocation r (same id, proto and time). */
static int
revocation_known(const struct fedtrust_bundle *old, const struct fedtrust_revoked *r)
{
	const struct fedtrust_revoked	*o;
	size_t				 i;

	for (i = 0; (o = fedtrust_bundle_revoked_at(old, i)) != NULL; i++)
		if (strcmp(fedtrust_revoked_id(o), fedtrust_revoked_id(r)) == 0 &&
		    strcmp(fedtrust_revoked_proto(o), fedtrust_revoked_proto(r)) == 0 &&
		    fedtrust_revoked_time(o) == fedtrust_revoked_time(r))
			return 1;
	return 0;
}

/* Each revocation b lists that old did not, one line each: what a gateway must drop now. */
static void
log_revocations(const struct agent *a, const struct fedtrust_bundle *old,
    const struct fedtrust_bundle *b)
{
	const struct fedtrust_revoked	*r;
	char				 id[256], why[256];
	size_t				 i;

	for (i = 0; (r = fedtrust_bundle_revoked_at(b, i)) != NULL; i++)
		if (!revocation_known(old, r))
			log_warnx("%s: revoked %s (%s) at %lld: %s; %zu keys, %zu certificates", a->where,
		    log_sanitize(fedtrust_revoked_id(r), strlen(fedtrust_revoked_id(r)), id,
		    sizeof(id)), fedtrust_revoked_proto(r), (long long)fedtrust_revoked_time(r),
		    log_sanitize(fedtrust_revoked_reason(r), strlen(fedtrust_revoked_reason(r)), why,
		    sizeof(why)), fedtrust_revoked_key_count(r), fedtrust_revoked_cert_count(r));
}

/*
 * Persist and apply a verified bundle: raw bundle, raw head, then the state
 * (the commit point), each written atomically; then swap it in.  0 / -1.
 */
static int
apply(struct agent *a, struct fedtrust_bundle *nb, const char *jws, size_t len,
    const struct fedtrust_head *h, const char *head, size_t headsz)
{
	struct fedtrust_state	 old = a->st;

	fedtrust_bundle_state(nb, h, &a->st);
	if (h == NULL) {
		/* Without a head the head floors stay as they were. */
		a->st.head_iat = old.head_iat;
		a->st.head_exp = old.head_exp;
	}
	if (state_write(a, "bundle.jwt", jws, len) == -1 ||
	    (head != NULL && state_write(a, "head.jwt", head, headsz) == -1) ||
	    state_save(a) == -1) {
		a->st = old;
		fedtrust_bundle_free(nb);
		return -1;
	}
	if (old.seq != 0 && fedtrust_bundle_seq(nb) > old.seq + 1)
		log_info("%s: gap: seq %" PRIu64 " follows %" PRIu64, a->where,
		    fedtrust_bundle_seq(nb), old.seq);
	log_revocations(a, a->b, nb);
	fedtrust_bundle_free(a->b);
	a->b = nb;
	payload_info(a, jws, len);
	log_info("%s: applied seq %" PRIu64 " (%zu entities, exp %lld)", a->where,
	    fedtrust_bundle_seq(nb), fedtrust_bundle_entity_count(nb),
	    (long long)fedtrust_bundle_exp(nb));
	return 0;
}

/* Fetch and verify the bundle h announces (h NULL: poll bundle.jwt itself). */
static enum poll_result
poll_bundle(struct agent *a, time_t now, const struct fedtrust_head *h, const char *head,
    size_t headsz)
{
	struct fetch_res	 res;
	struct fedtrust_error	 err;
	struct fedtrust_bundle	*nb;
	struct fedtrust_state	 ns;
	char			*url = bundle_url(a, h);
	size_t			 max = a->conf->max_bundle;
	const char		*etag = NULL;
	enum poll_result	 rc = POLL_FAILED;

	if (h != NULL && h->blen < max)
		max = (size_t)h->blen;
	if (h == NULL && a->b != NULL)
		etag = a->etag;
	if (get(a, url, etag, max, &res) == -1)
		goto out;
	if (res.not_modified) {
		rc = POLL_UNCHANGED;
		goto done;
	}
	if ((nb = fedtrust_bundle_verify(a->trust, (const char *)res.body, res.bodysz, now, h,
	    &a->st, &err)) == NULL) {
		report(a, "bundle", &err);
		goto done;
	}
	fedtrust_bundle_state(nb, NULL, &ns);
	if (h == NULL) {
		free(a->etag);
		a->etag = res.etag != NULL ? xstrdup(res.etag) : NULL;
	}
	if (a->b != NULL && ns.seq == a->st.seq && strcmp(ns.bdig, a->st.bdig) == 0) {
		/* bundle.jwt polled without a head: still the applied bundle. */
		fedtrust_bundle_free(nb);
		rc = state_save(a) == 0 ? POLL_UNCHANGED : POLL_FAILED;
		goto done;
	}
	if (apply(a, nb, (const char *)res.body, res.bodysz, h, head, headsz) == 0)
		rc = POLL_APPLIED;
 done:
	fetch_res_free(&res);
 out:
	free(url);
	return rc;
}

/* One poll (4.9 steps 4-20) at now. */
static enum poll_result
poll_once(struct agent *a, time_t now)
{
	struct fetch_res	 res;
	struct fedtrust_error	 err;
	struct fedtrust_head	 h;
	unsigned char		*stored = NULL, *body;
	size_t			 storedsz = 0, bodysz;
	char			*url;
	int			 st, have_stored;
	enum poll_result	 rc = POLL_FAILED;

	if (!a->conf->require_head)
		return poll_bundle(a, now, NULL, NULL, 0);
	have_stored = a->st.seq != 0 && a->b != NULL &&
	    state_read(a, "head.jwt", PULL_MAX_HEAD, &stored, &storedsz) == 0;
	xasprintf(&url, "%shead.jwt", a->conf->url);
	if (get(a, url, have_stored ? a->etag : NULL, PULL_MAX_HEAD, &res) == -1) {
		free(url);
		free(stored);
		return POLL_FAILED;
	}
	free(url);
	/* 304: the stored head again; freshness comes from its own exp. */
	body = res.not_modified ? stored : res.body;
	bodysz = res.not_modified ? storedsz : res.bodysz;
	if (body == NULL) {
		log_warnx("%s: 304 without a stored head", a->where);
		goto out;
	}
	if ((st = fedtrust_head_verify(a->trust, (const char *)body, bodysz, now, &a->st, &h,
	    &err)) == -1) {
		report(a, "head", &err);
		goto out;
	}
	if (st == FEDTRUST_HEAD_CURRENT && a->b != NULL) {
		if (h.iat != a->st.head_iat || h.exp != a->st.head_exp ||
		    (res.etag != NULL && (a->etag == NULL || strcmp(res.etag, a->etag) != 0))) {
			a->st.head_iat = h.iat;
			a->st.head_exp = h.exp;
			if (!res.not_modified) {
				free(a->etag);
				a->etag = res.etag != NULL ? xstrdup(res.etag) : NULL;
			}
			if ((!res.not_modified &&
			    state_write(a, "head.jwt", body, bodysz) == -1) ||
			    state_save(a) == -1)
				goto out;
		}
		log_debug("%s: head current (seq %" PRIu64 ", exp %lld)%s", a->where, h.seq,
		    (long long)h.exp, res.not_modified ? " [304]" : "");
		rc = POLL_UNCHANGED;
		goto out;
	}
	/* NEWER, or CURRENT while the applied bundle is missing here. */
	rc = poll_bundle(a, now, &h, (const char *)body, bodysz);
	if (rc == POLL_APPLIED && !res.not_modified) {
		free(a->etag);
		a->etag = res.etag != NULL ? xstrdup(res.etag) : NULL;
		if (state_save(a) == -1)
			rc = POLL_FAILED;
	}
 out:
	fetch_res_free(&res);
	free(stored);
	return rc;
}

/* Run the reload hook (no shell) and wait for it. 0 / -1 (logged). */
static int
run_hook(const struct agent *a)
{
	pid_t	 pid;
	int	 status;

	if (a->conf->hook == NULL || a->conf->hooksz == 0)
		return 0;
	if ((pid = fork()) == -1) {
		log_warn("%s: reload-hook: fork", a->where);
		return -1;
	}
	if (pid == 0) {
		execv(a->conf->hook[0], a->conf->hook);
		fprintf(stderr, "%s: reload-hook: %s: %s\n", a->where, a->conf->hook[0],
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("%s: reload-hook: waitpid", a->where);
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("%s: reload-hook %s failed (status %d)", a->where, a->conf->hook[0],
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	log_info("%s: reload-hook %s ran", a->where, a->conf->hook[0]);
	return 0;
}

/* Effective expiry (4.9 step 21), 0 when nothing is applied. */
static time_t
effective_exp(const struct agent *a)
{
	time_t	 e;

	if (a->b == NULL)
		return 0;
	e = fedtrust_bundle_exp(a->b);
	if (a->conf->require_head && a->st.head_exp < e)
		e = a->st.head_exp;
	return e;
}

/*
 * Bring the outputs in line with the applied bundle at now, or fail closed
 * past the effective expiry (plus grace).  Runs the hook when a file
 * changed.  Returns 1 when expired, 0 when fresh, -1 on an output error.
 */
static int
outputs(struct agent *a, time_t now)
{
	time_t	 eff = effective_exp(a);
	int	 changed = 0, expired = 0, rc;

	if (a->b != NULL && now >= eff && now < eff + a->conf->grace) {
		log_warnx("ALARM expired %s: effective expiry %lld passed; grace leaves %lld s, "
		    "outputs kept unchanged", a->where, (long long)eff,
		    (long long)(eff + a->conf->grace - now));
		return 1;
	}
	if (a->b == NULL || now >= eff) {
		expired = 1;
		if (a->st.seq != 0)
			log_warnx("ALARM expired %s: no valid bundle since %lld (seq %" PRIu64
			    "): failing closed, outputs emptied", a->where, (long long)eff,
			    a->st.seq);
		else
			log_warnx("%s: no bundle applied yet: outputs admit nobody", a->where);
	}
	if (a->conf->output_dir == NULL)
		return expired;
	if (pull_out_write(a->conf->output_dir, a->conf->outputs, expired ? NULL : a->b, now,
	    &changed) == -1)
		return -1;
	rc = expired;
	if (changed) {
		log_info("%s: outputs in %s changed", a->where, a->conf->output_dir);
		if (run_hook(a) == -1)
			rc = -1;
	}
	return rc;
}

/* Seconds until the next poll: interval (or hint, clamped) with jitter, never past expiry. */
static long
next_wait(const struct agent *a, time_t now)
{
	long	 iv = a->conf->interval, j;
	time_t	 eff = effective_exp(a);

	if (iv == 0) {
		iv = a->refresh;
		if (iv < PULL_MIN_INTERVAL)
			iv = PULL_MIN_INTERVAL;
		if (iv > PULL_MAX_INTERVAL)
			iv = PULL_MAX_INTERVAL;
	}
	j = (long)((double)iv * a->conf->jitter);
	if (j > 0)
		iv += (random() % (2 * j + 1)) - j;
	if (eff != 0 && eff + a->conf->grace > now && eff + a->conf->grace - now + 1 < iv)
		iv = (long)(eff + a->conf->grace - now + 1);
	return iv < 1 ? 1 : iv;
}

/* Sleep up to secs, returning early when a signal set a flag. */
static void
nap(long secs)
{
	struct timespec	 ts;

	ts.tv_sec = secs;
	ts.tv_nsec = 0;
	while (!got_term && !got_hup && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fedtrust pull -c CONSUMER.conf [--once] [--at TIME] [-v]\n");
}

/*
 * fedtrust pull -c FILE [--once] [--at TIME] [-v].  With --once: 0 applied
 * or unchanged, 1 rejected/alarm/expired/fetch failure, 2 configuration.
 */
int
cmd_pull(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "at", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction	 sa;
	struct agent		*a = NULL, *na;
	struct pull_conf	*conf;
	const char		*file = NULL;
	char			 err[600];
	time_t			 at = 0, now;
	int			 ch, once = 0, verbose = 0, r, o, rc = EXIT_REJECT;
	enum poll_result	 pr;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:P:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 'P':
			if (parse_time(optarg, &at) == -1) {
				fprintf(stderr, "fedtrust pull: --at: bad time \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (file == NULL || optind != argc || (at != 0 && !once)) {
		usage();
		if (at != 0 && !once)
			fprintf(stderr, "fedtrust pull: --at needs --once\n");
		return EXIT_USAGE;
	}
	log_init(1, verbose, "fedtrust pull");
	if ((conf = pull_conf_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	now = at != 0 ? at : time(NULL);
	if ((a = agent_new(conf, now)) == NULL)
		return EXIT_USAGE;
	if (once) {
		pr = poll_once(a, now);
		o = outputs(a, now);
		rc = (pr != POLL_FAILED && o == 0) ? EXIT_OK : EXIT_REJECT;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	srandom((unsigned)(time(NULL) ^ getpid()));
	log_info("%s: polling %s", a->where, a->conf->url);
	while (!got_term) {
		now = time(NULL);
		poll_once(a, now);
		if ((r = outputs(a, now)) == -1)
			log_warnx("%s: writing the outputs failed; retried next poll", a->where);
		nap(next_wait(a, now));
		if (got_hup) {
			got_hup = 0;
			if ((conf = pull_conf_load(file, err, sizeof(err))) == NULL) {
				log_warnx("%s: reload refused, old configuration kept: %s", a->where,
				    err);
				continue;
			}
			/* The new agent needs the state-dir lock the old one holds. */
			close(a->lockfd);
			a->lockfd = -1;
			if ((na = agent_new(conf, time(NULL))) == NULL) {
				log_warnx("%s: reload refused, old configuration kept", a->where);
				if (a->conf->state_dir != NULL) {
					char	*p = path_join(a->conf->state_dir, "lock");

					a->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
					if (a->lockfd != -1)
						(void)flock(a->lockfd, LOCK_EX | LOCK_NB);
					free(p);
				}
				continue;
			}
			agent_free(a);
			a = na;
			log_info("%s: configuration reloaded", a->where);
		}
	}
	log_info("%s: stopping", a->where);
	rc = EXIT_OK;
 out:
	agent_free(a);
	return rc;
}
