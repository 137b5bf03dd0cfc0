/*
 * Benchmark helper for tests/bench/head-bench.sh: serve a publish folder
 * with the built-in server (metrics on, as in fedtrustd) until SIGTERM or
 * SIGINT.  The bound port is written to PORT_FILE once it serves.
 *   httpd_bench PUBLISH_DIR PORT_FILE [LISTEN]     (LISTEN default 127.0.0.1:0)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

int
main(int argc, char *argv[])
{
	struct httpd_opts	 o;
	struct verdict		 v;
	struct httpd		*h;
	struct metrics		*m;
	sigset_t		 set;
	char			 num[16];
	int			 sig, n;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: httpd_bench PUBLISH_DIR PORT_FILE [LISTEN]\n");
		return 2;
	}
	log_init(1, 0, "httpd_bench");
	signal(SIGPIPE, SIG_IGN);
	/* blocked before the server's threads start, so that only sigwait sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	m = metrics_new();
	memset(&o, 0, sizeof(o));
	o.listen = argc == 4 ? argv[3] : "127.0.0.1:0";
	o.publish_dir = argv[1];
	o.metrics = m;
	memset(&v, 0, sizeof(v));
	if ((h = httpd_start(&o, &v)) == NULL) {
		fprintf(stderr, "httpd_bench: %s: %s\n", reason_code(v.reason), v.detail);
		return 1;
	}
	n = snprintf(num, sizeof(num), "%d\n", httpd_port(h));
	if (write_file_atomic(argv[2], num, (size_t)n, 0644) == -1) {
		log_warn("%s", argv[2]);
		httpd_stop(h);
		return 1;
	}
	sigwait(&set, &sig);
	httpd_stop(h);
	metrics_free(m);
	return 0;
}
