/*
 * fedtrust build: one full cycle (fetch, verify, policy, sign, publish) and
 * exit; what cron runs, and what the daemon does on each tick.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

static int
usage(void)
{
	fprintf(stderr, "usage: fedtrust build [-c FILE] [--at TIME] [--list NAME] [--force] [-v]\n");
	return EXIT_USAGE;
}

int
cmd_build(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'P' },
		{ "list", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*file = SYSCONFDIR "/fedtrust/fedtrust.conf";
	struct build_opts	 bo;
	struct config		*conf;
	char			 err[1024];
	int			 ch, verbose = 0, rc;

	memset(&bo, 0, sizeof(bo));
	bo.now = time(NULL);
	while ((ch = getopt_long(argc, argv, "c:P:l:Fv", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'P':
			if (parse_time(optarg, &bo.now) == -1) {
				fprintf(stderr, "fedtrust build: --at: bad time \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			bo.only_list = optarg;
			break;
		case 'F':
			bo.force = 1;
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
	log_init(1, verbose, "fedtrust");
	if ((conf = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	if (bo.only_list != NULL && config_find_list(conf, bo.only_list) == NULL) {
		fprintf(stderr, "fedtrust build: no trust list named \"%s\" in %s\n", bo.only_list,
		    conf->trustlists_dir);
		config_free(conf);
		return EXIT_USAGE;
	}
	(void)audit_open(conf);
	rc = build_run(conf, &bo);
	audit_close();
	config_free(conf);
	return rc;
}

static int
refresh_usage(void)
{
	fprintf(stderr, "usage: fedtrust refresh [-c FILE] [--list NAME [--source NAME]]\n");
	return EXIT_USAGE;
}

/*
 * fedtrust refresh: ask the running fedtrustd (its control socket in
 * state-dir) to fetch now.  Prints the daemon's reply: "ok N" (N sources
 * made due) or "error ...".
 */
int
cmd_refresh(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "list", required_argument, NULL, 'l' },
		{ "source", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = SYSCONFDIR "/fedtrust/fedtrust.conf", *list = NULL, *src = NULL;
	struct config	*conf;
	char		 err[1024], line[MAX_CTL_LINE], reply[MAX_CTL_LINE], *path;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "c:l:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'l':
			list = optarg;
			break;
		case 's':
			src = optarg;
			break;
		default:
			return refresh_usage();
		}
	}
	if (optind != argc || (src != NULL && list == NULL) ||
	    (list != NULL && strpbrk(list, " \t\n") != NULL) ||
	    (src != NULL && strpbrk(src, " \t\n") != NULL))
		return refresh_usage();
	if ((conf = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	snprintf(line, sizeof(line), "refresh%s%s%s%s", list ? " " : "", list ? list : "",
	    src ? " " : "", src ? src : "");
	path = ctl_path(conf);
	rc = ctl_request(path, line, reply, sizeof(reply));
	printf("%s\n", reply);
	free(path);
	config_free(conf);
	return rc == 0 && strncmp(reply, "ok", 2) == 0 ? EXIT_OK : EXIT_REJECT;
}
