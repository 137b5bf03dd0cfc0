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

/* -n: check config, anchors and signing key; print every problem. */
static int
check_only(const struct config *c)
{
	struct anchor_set	 a;
	struct signer		 sg;
	struct verdict		 v;
	size_t			 i, j;
	int			 bad = 0;

	for (i = 0; i < c->listsz; i++) {
		for (j = 0; j < c->lists[i].sourcesz; j++) {
			const struct source_conf *s = &c->lists[i].sources[j];

			memset(&a, 0, sizeof(a));
			if (anchor_load_source(&a, s, &v) == -1) {
				fprintf(stderr, "%s/%s: anchor: %s: %s\n", c->lists[i].name, s->name,
				    reason_code(v.reason), v.detail);
				bad = 1;
			}
			anchor_set_free(&a);
		}
	}
	memset(&sg, 0, sizeof(sg));
	if (c->signing_key == NULL) {
		fprintf(stderr, "%s: no signing-key configured\n", c->file);
		bad = 1;
	} else if (signer_load(&sg, c->signing_key, c->signing_cert, &v) == -1) {
		fprintf(stderr, "%s: signing-key: %s\n", c->file, v.detail);
		bad = 1;
	}
	signer_free(&sg);
	if (!bad)
		printf("%s: configuration OK (%zu trust lists)\n", c->file, c->listsz);
	return bad ? EXIT_USAGE : EXIT_OK;
}

/* Seconds until the next cycle: the smallest refresh of any list. */
static long
interval(const struct config *c)
{
	long	 t = 86400;
	size_t	 i;

	for (i = 0; i < c->listsz; i++)
		if (c->lists[i].refresh < t)
			t = c->lists[i].refresh;
	return t < 60 ? 60 : t;
}

/* SIGHUP: parse the new config completely; swap only on success. */
static void
do_reload(struct config **conf)
{
	struct config	*n;
	char		 err[1024];

	if ((n = config_load((*conf)->file, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		return;
	}
	config_free(*conf);
	*conf = n;
	log_info("configuration reloaded (%zu trust lists)", n->listsz);
}

static int
run(struct config **conf, int have_at, time_t at)
{
	struct timespec	 start, t;
	struct build_opts bo;
	int		 first = 1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!quit) {
		memset(&bo, 0, sizeof(bo));
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* with -P, evaluation time advances from TIME at the real pace */
		bo.now = have_at ? at + (t.tv_sec - start.tv_sec) : time(NULL);
		(void)build_run(*conf, &bo);
		if (first) {
			sd_notify_state("READY=1");
			first = 0;
		}
		for (long left = interval(*conf); left > 0 && !quit && !reload; left--)
			sleep(1);
		if (reload) {
			reload = 0;
			sd_notify_state("RELOADING=1");
			do_reload(conf);
			sd_notify_state("READY=1");
		}
	}
	sd_notify_state("STOPPING=1");
	log_info("stopping");
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
	time_t			 at = 0;
	int			 ch, fg = 0, check = 0, verbose = 0, have_at = 0, rc;

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
			if (parse_time(optarg, &at) == -1) {
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
	rc = run(&conf, have_at, at);
out:
	config_free(conf);
	fetch_shutdown();
	xml_shutdown();
	return rc;
}
