/*
 * The serve role (docs/security.md): gateways' GETs are answered by a child
 * process that can read the publish folder and nothing else of fedtrust's
 * (no signing key, no state, no trust lists), forked before main ever
 * loads the signing key.  /metrics and /healthz live in main's memory: the
 * child asks over a socketpair (one request at a time), sending its HTTP
 * response counters along, and a thread in main answers from the metrics
 * registry and the configuration in force.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extern.h"

#define FR_REPORT_REQ	10	/* serve -> main: what, now, HTTP counters */
#define FR_REPORT_RES	11	/* main -> serve: status, text */
#define FR_READY	12	/* serve -> main: 1 serving, or 0 and why */
#define REPORT_WAIT	10000	/* ms the child waits for main's answer */

struct serve {
	pid_t			 pid;
	int			 fd;
	pthread_t		 thr;
	int			 have_thr;
	struct metrics		*m;
	const struct config	*(*config)(void *);
	time_t			 (*now)(void *);
};

/* The child's side of a report: one exchange at a time over fd. */
struct child_link {
	int		 fd;
	pthread_mutex_t	 lock;
	struct metrics	*m;		/* the child's own HTTP counters */
};

static int
child_report(void *arg, int what, time_t now, char **buf, size_t *len)
{
	struct child_link	*cl = arg;
	struct ibuf		 b;
	uint64_t		 counts[METRICS_HTTP_CODES];
	size_t			 i;
	int			 rc = -1;

	memset(&b, 0, sizeof(b));
	metrics_http_get(cl->m, counts);
	ibuf_put_u64(&b, (uint64_t)what);
	ibuf_put_u64(&b, (uint64_t)now);
	for (i = 0; i < METRICS_HTTP_CODES; i++)
		ibuf_put_u64(&b, counts[i]);
	pthread_mutex_lock(&cl->lock);
	if (ipc_frame_write(cl->fd, FR_REPORT_REQ, &b) == 0) {
		free(b.p);
		if (ipc_frame_read(cl->fd, FR_REPORT_RES, &b, REPORT_WAIT) == 0) {
			rc = (int)ibuf_get_u64(&b);
			*buf = (char *)ibuf_get_bytes(&b, len);
			if (b.bad || *buf == NULL || rc < 0 || rc > 1) {
				free(*buf);
				*buf = NULL;
				rc = -1;
			}
		}
	}
	pthread_mutex_unlock(&cl->lock);
	free(b.p);
	return rc;
}

/* Tell main whether the child serves (1) or not (0, why). */
static void
child_ready(int fd, int ok, const char *why)
{
	struct ibuf	 b;

	memset(&b, 0, sizeof(b));
	ibuf_put_u64(&b, (uint64_t)ok);
	ibuf_put_str(&b, why);
	(void)ipc_frame_write(fd, FR_READY, &b);
	free(b.p);
}

/* The child: sandbox, serve until SIGTERM or main's end, then stop cleanly. */
static void
serve_child(const struct config *c, int fd, time_t (*now)(void *))
{
	static const char	*ro[] = { NULL, "/usr", "/lib", "/lib64", "/proc/self",
	    "/dev/null", "/dev/urandom" };
	struct sandbox_paths	 sp;
	struct child_link	 cl;
	struct httpd_opts	 o;
	struct httpd		*h;
	struct verdict		 v;
	sigset_t		 set;
	int			 sig;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* blocked before any thread exists, so sigwait alone receives them */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ro[0] = c->publish_dir;
	memset(&sp, 0, sizeof(sp));
	sp.ro = ro;
	sp.nro = sizeof(ro) / sizeof(ro[0]);
	if (sandbox_enter(SANDBOX_SERVE, &sp) == -1) {
		child_ready(fd, 0, "the sandbox could not be entered");
		_exit(1);
	}
	memset(&cl, 0, sizeof(cl));
	cl.fd = fd;
	cl.m = metrics_new();
	pthread_mutex_init(&cl.lock, NULL);
	memset(&o, 0, sizeof(o));
	o.listen = c->listen;
	o.publish_dir = c->publish_dir;
	o.metrics = cl.m;
	o.arg = &cl;
	o.now = now;
	o.report = child_report;
	if ((h = httpd_start(&o, &v)) == NULL) {
		child_ready(fd, 0, v.detail);
		_exit(1);
	}
	child_ready(fd, 1, NULL);
	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
	} while (sig == SIGHUP);
	httpd_stop(h);
	_exit(0);
}

/* main's thread: answer the child's reports until it hangs up. */
static void *
answer_reports(void *arg)
{
	struct serve	*s = arg;
	struct ibuf	 b, out;
	uint64_t	 counts[METRICS_HTTP_CODES];
	time_t		 now;
	char		*buf = NULL;
	size_t		 len = 0, i;
	int		 what, rc;

	while (ipc_frame_read(s->fd, FR_REPORT_REQ, &b, -1) == 0) {
		what = (int)ibuf_get_u64(&b);
		now = (time_t)ibuf_get_u64(&b);
		for (i = 0; i < METRICS_HTTP_CODES; i++)
			counts[i] = ibuf_get_u64(&b);
		free(b.p);
		if (b.bad)
			break;
		metrics_http_set(s->m, counts);
		if (what == HTTPD_REPORT_HEALTH)
			rc = metrics_health(s->m, s->config(NULL), now, &buf, &len);
		else {
			metrics_render(s->m, now, &buf, &len);
			rc = 1;
		}
		memset(&out, 0, sizeof(out));
		ibuf_put_u64(&out, (uint64_t)rc);
		ibuf_put_bytes(&out, buf, len);
		free(buf);
		rc = ipc_frame_write(s->fd, FR_REPORT_RES, &out);
		free(out.p);
		if (rc == -1)
			break;
	}
	return NULL;
}

struct serve *
serve_start(const struct config *c, struct metrics *m, const struct config *(*config)(void *),
    time_t (*now)(void *))
{
	struct serve	*s;
	struct ibuf	 b;
	char		*why = NULL;
	int		 sv[2], ok;

	if (c->listen == NULL || c->listen[0] == '\0')
		return NULL;
	/* Landlock grants the folder as it exists now: it must exist before the fork */
	if (mkdir_p(c->publish_dir, 0755) == -1) {
		log_warn("http: %s", c->publish_dir);
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("http: socketpair");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->m = m;
	s->config = config;
	s->now = now;
	if ((s->pid = fork()) == -1) {
		log_warn("http: fork");
		close(sv[0]);
		close(sv[1]);
		free(s);
		return NULL;
	}
	if (s->pid == 0) {
		close_fds_except(sv[1], -1);
		serve_child(c, sv[1], now);
	}
	close(sv[1]);
	s->fd = sv[0];
	ok = ipc_frame_read(s->fd, FR_READY, &b, REPORT_WAIT) == 0 && ibuf_get_u64(&b) == 1;
	if (!ok && b.p != NULL)
		why = ibuf_get_str(&b);
	free(b.p);
	if (!ok) {
		log_warnx("http: %s: %s", c->listen, why != NULL ? why : "the serve process died");
		free(why);
		serve_stop(s);
		return NULL;
	}
	if (pthread_create(&s->thr, NULL, answer_reports, s) == 0)
		s->have_thr = 1;
	log_info("http: serving %s on %s (process %ld)", c->publish_dir, c->listen, (long)s->pid);
	return s;
}

void
serve_stop(struct serve *s)
{
	int	 status;

	if (s == NULL)
		return;
	(void)kill(s->pid, SIGTERM);
	while (waitpid(s->pid, &status, 0) == -1 && errno == EINTR)
		;
	/* the child's end is closed: the thread's read returns and it ends */
	if (s->have_thr)
		pthread_join(s->thr, NULL);
	close(s->fd);
	free(s);
}
