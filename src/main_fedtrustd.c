/*
 * fedtrustd: runs the build cycle on a schedule.  Signals only set flags;
 * the loop acts on them between cycles, so a cycle is never cut in half and
 * no partial generation is ever left behind.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "extern.h"

static volatile sig_atomic_t	quit, reload;

/* What the HTTP server's thread reads: the config in force and the clock. */
static struct config	*volatile current;
static int		 have_at;
static time_t		 at_start;
static struct timespec	 mono_start;

/* Evaluation time: the wall clock, or with -P TIME advancing from TIME at the real pace. */
static time_t
eval_now(void)
{
	struct timespec	 t;

	if (!have_at)
		return time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t);
	return at_start + (t.tv_sec - mono_start.tv_sec);
}

static time_t
httpd_now(void *arg)
{
	(void)arg;
	return eval_now();
}

static const struct config *
httpd_config(void *arg)
{
	(void)arg;
	return current;
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		quit = 1;
}

/* Tell systemd (Type=notify) a state, without libsystemd. */
static void
sd_notify_state(const char *state)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sun, len);
	close(fd);
}

/* The anchors of s load: PEM pins or CA files, or JWK Sets for oidf and signed-jwks. 0 / -1 with v. */
static int
check_anchors(const struct source_conf *s, struct verdict *v)
{
	struct anchor_set	 a;
	struct jwkset		 ks;
	size_t			 i;
	int			 rc = 0;

	memset(&a, 0, sizeof(a));
	memset(&ks, 0, sizeof(ks));
	if (s->type == SRC_OIDF || s->type == SRC_SIGNED_JWKS) {
		for (i = 0; i < s->anchorsz && rc == 0; i++)
			rc = jwkset_load_file(&ks, s->anchors[i], v);
	} else
		rc = anchor_load_source(&a, s, v);
	jwkset_free(&ks);
	anchor_set_free(&a);
	return rc;
}

/* -n: check config, anchors and signing key; print every problem. */
static int
check_only(const struct config *c)
{
	struct signer		 sg;
	struct verdict		 v;
	size_t			 i, j;
	int			 bad = 0;

	for (i = 0; i < c->listsz; i++) {
		for (j = 0; j < c->lists[i].sourcesz; j++) {
			const struct source_conf *s = &c->lists[i].sources[j];

			if (check_anchors(s, &v) == -1) {
				fprintf(stderr, "%s/%s: anchor: %s: %s\n", c->lists[i].name, s->name,
				    reason_code(v.reason), v.detail);
				bad = 1;
			}
		}
	}
	memset(&sg, 0, sizeof(sg));
	if (c->signing_key == NULL) {
		fprintf(stderr, "%s: no signing-key configured\n", c->file);
		bad = 1;
	} else if (signer_load(&sg, c->signing_key, c->signing_cert, &v) == -1) {
		fprintf(stderr, "%s: signing-key: %s\n", c->file, v.detail);
		bad = 1;
	} else {
		/* PUB-01: refused here, not at the first cycle (out_saml.c refuses it too) */
		for (i = 0; i < c->listsz; i++) {
			if (sg.xml_alg != SIG_ED25519 ||
			    !(c->lists[i].outputs & (OUT_SAML | OUT_MDQ)))
				continue;
			fprintf(stderr, "%s: signing-key: %s is an Ed25519 key, which cannot sign "
			    "the SAML outputs of trust list %s (saml-aggregate, mdq need RSA or "
			    "EC P-256/P-384)\n", c->file, c->signing_key, c->lists[i].name);
			bad = 1;
		}
	}
	signer_free(&sg);
	if (!bad)
		printf("%s: configuration OK (%zu trust lists)\n", c->file, c->listsz);
	return bad ? EXIT_USAGE : EXIT_OK;
}

/* The earliest time any list needs a cycle. */
static time_t
next_wake(const struct config *c, struct schedule *sched, time_t now)
{
	time_t	 t = now + MAX_SCHEDULE, n;
	size_t	 i;

	for (i = 0; i < c->listsz; i++)
		if (!c->lists[i].disabled && (n = build_next(c, &c->lists[i], sched, now)) < t)
			t = n;
	return t;
}

/*
 * SIGHUP: parse the new config completely; swap only on success.  The
 * previous config stays allocated until the next reload: the HTTP thread
 * may still be reading it.
 */
static void
do_reload(struct config **conf, struct config **retired, struct metrics *m)
{
	struct config	*n;
	char		 err[1024];

	if ((n = config_load((*conf)->file, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if ((n->listen == NULL) != ((*conf)->listen == NULL) ||
	    (n->listen != NULL && strcmp(n->listen, (*conf)->listen) != 0))
		log_warnx("reload: listen changed; it takes effect at the next restart");
	config_free(*retired);
	*retired = *conf;
	*conf = n;
	current = n;
	metrics_prune(m, n);
	/* a new audit-log path, or the old file rotated away */
	(void)audit_open(n);
	log_info("configuration reloaded (%zu trust lists)", n->listsz);
}

/* The live generations on disk count as published until a cycle says otherwise. */
static void
register_live(const struct config *c, struct metrics *m)
{
	struct live	 lv;
	size_t		 i;

	for (i = 0; i < c->listsz; i++)
		if (live_load(c, c->lists[i].name, &lv) == 0)
			metrics_published(m, c->lists[i].name, lv.seq, lv.published, lv.entities,
			    lv.bytes, lv.valid_until);
}

/* Half the systemd watchdog interval in seconds, 0 when there is none. */
static long
watchdog_interval(void)
{
	const char	*u = getenv("WATCHDOG_USEC");
	long long	 us;

	if (u == NULL || (us = atoll(u)) <= 0)
		return 0;
	return us / 2000000 > 0 ? (long)(us / 2000000) : 1;
}

/* Sleep in one-second steps until wake, answering control requests. */
static void
idle(struct config *conf, struct schedule *sched, int ctl, time_t wake, long wd)
{
	time_t	 now;
	long	 n = 0;

	while (!quit && !reload && (now = eval_now()) < wake) {
		if (ctl_serve(ctl, sched, conf, now) & CTL_RELOAD)
			reload = 1;
		if (wd > 0 && ++n % wd == 0)
			sd_notify_state("WATCHDOG=1");
		/* a forced refresh makes a source due now */
		if (next_wake(conf, sched, now) <= now)
			break;
		sleep(1);
	}
}

static int
run(struct config **conf)
{
	struct config	*retired = NULL;
	struct schedule	*sched = schedule_new();
	struct metrics	*m = metrics_new();
	struct serve	*h;
	struct build_opts bo;
	char		*cpath;
	int		 first = 1, ctl, every = 0;
	long		 wd = watchdog_interval();

	current = *conf;
	(void)audit_open(*conf);
	register_live(*conf, m);
	/* the last published generation is served at once, before any cycle */
	h = serve_start(*conf, m, httpd_config, httpd_now);
	if (mkdir_p((*conf)->state_dir, 0700) == -1)
		log_warn("%s", (*conf)->state_dir);
	cpath = ctl_path(*conf);
	ctl = ctl_listen(cpath);
	while (!quit) {
		memset(&bo, 0, sizeof(bo));
		bo.now = eval_now();
		bo.sched = sched;
		bo.metrics = m;
		bo.every_list = every;
		every = 0;
		(void)build_run(*conf, &bo);
		if (first) {
			/* ready once every last good source has been verified again */
			sd_notify_state("READY=1");
			log_info("fedtrustd: ready");
			first = 0;
		}
		if (wd > 0)
			sd_notify_state("WATCHDOG=1");
		idle(*conf, sched, ctl, next_wake(*conf, sched, eval_now()), wd);
		if (reload) {
			reload = 0;
			sd_notify_state("RELOADING=1");
			do_reload(conf, &retired, m);
			/* a revocation or an added source applies now, not at the next fetch */
			every = 1;
			sd_notify_state("READY=1");
		}
	}
	sd_notify_state("STOPPING=1");
	log_info("stopping");
	serve_stop(h);
	if (ctl != -1) {
		close(ctl);
		unlink(cpath);
	}
	free(cpath);
	schedule_free(sched);
	metrics_free(m);
	audit_close();
	config_free(retired);
	return EXIT_OK;
}

static int
usage(void)
{
	fprintf(stderr, "usage: fedtrustd [-c FILE] [-f] [-n] [-P TIME] [-v]...\n");
	return EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	const char		*file = SYSCONFDIR "/fedtrust/fedtrust.conf";
	struct config		*conf;
	struct sigaction	 sa;
	char			 err[1024];
	int			 ch, fg = 0, check = 0, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:fnP:v")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'P':
			if (parse_time(optarg, &at_start) == -1) {
				fprintf(stderr, "fedtrustd: -P: bad time \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			have_at = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if ((conf = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	if (xml_init() == -1 || fetch_init() == -1) {
		fprintf(stderr, "fedtrustd: cannot initialise libxml2/xmlsec/libcurl\n");
		return EXIT_INTERNAL;
	}
	/* FEDTRUST_SAML_ENGINE=dom|stream (tests, benchmarks) */
	saml_set_default_engine(getenv("FEDTRUST_SAML_ENGINE"));
	if (check) {
		rc = check_only(conf);
		goto out;
	}
	log_init(fg || check, verbose, "fedtrustd");
	if (!fg && daemon(0, 0) == -1)
		fatal("daemon");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("fedtrustd %s starting with %s (%zu trust lists)", PACKAGE_VERSION, conf->file,
	    conf->listsz);
	clock_gettime(CLOCK_MONOTONIC, &mono_start);
	rc = run(&conf);
out:
	config_free(conf);
	fetch_shutdown();
	xml_shutdown();
	return rc;
}
