/*
 * The control socket of fedtrustd: `fedtrust refresh` asks for an immediate
 * fetch.  A unix stream socket in state-dir (mode 0660: the service user and
 * its group); one request line, one reply line, then the server closes.
 * The listening socket is non-blocking and served from the daemon's loop,
 * so a slow or silent client cannot stall it for more than CTL_TIMEOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "extern.h"

#define CTL_TIMEOUT	1000	/* milliseconds a client may take to send its line */
#define CTL_WAIT	120000	/* milliseconds a client waits: the daemon answers between cycles */
#define CTL_BACKLOG	8

char *
ctl_path(const struct config *c)
{
	return path_join(c->state_dir, "control.sock");
}

static int
ctl_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int
ctl_listen(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	if (ctl_addr(path, &sun) == -1) {
		log_warn("control socket %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("control socket");
		return -1;
	}
	/* a socket left by a previous run (the state-dir lock says we are alone) */
	(void)unlink(path);
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, CTL_BACKLOG) == -1) {
		umask(old);
		log_warn("control socket %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

/* Read one line (without the newline) from fd within ms milliseconds. 0 / -1. */
static int
read_line(int fd, char *buf, size_t bufsz, int ms)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	size_t		 n = 0;
	ssize_t		 r;

	while (n + 1 < bufsz) {
		if (poll(&p, 1, ms) <= 0)
			return -1;
		if ((r = read(fd, buf + n, bufsz - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (memchr(buf, '\n', n) != NULL) {
			*strchr(buf, '\n') = '\0';
			return 0;
		}
	}
	return -1;
}

/* The reply to one request line; CTL_* flags for the daemon. */
static int
answer(char *line, struct schedule *s, const struct config *c, time_t now, char *out,
    size_t outsz)
{
	char	*words[4], *p = line, *w;
	size_t	 n = 0;
	int	 marked;

	while (n < 4 && (w = strsep(&p, " \t")) != NULL)
		if (*w != '\0')
			words[n++] = w;
	if (n == 1 && strcmp(words[0], "status") == 0) {
		snprintf(out, outsz, "ok\n");
		return 0;
	}
	if (n == 1 && strcmp(words[0], "reload") == 0) {
		snprintf(out, outsz, "ok\n");
		log_info("control: reload requested");
		return CTL_RELOAD;
	}
	if (n < 1 || n > 3 || strcmp(words[0], "refresh") != 0) {
		snprintf(out, outsz, "error unknown request (refresh [LIST [SOURCE]] | reload | "
		    "status)\n");
		return 0;
	}
	marked = schedule_force(s, c, n > 1 ? words[1] : NULL, n > 2 ? words[2] : NULL, now);
	if (marked == -1)
		snprintf(out, outsz, "error rate limited: at most one forced refresh per source "
		    "every %ld s\n", MIN_FORCED_REFRESH);
	else if (marked == 0)
		snprintf(out, outsz, "error no such list or source\n");
	else {
		snprintf(out, outsz, "ok %d\n", marked);
		log_info("control: refresh of %s%s%s requested (%d sources)", n > 1 ? words[1] : "all",
		    n > 2 ? "/" : "", n > 2 ? words[2] : "", marked);
	}
	return 0;
}

int
ctl_serve(int fd, struct schedule *s, const struct config *c, time_t now)
{
	char	 line[MAX_CTL_LINE], out[MAX_CTL_LINE];
	int	 cfd, fl, flags = 0;

	if (fd == -1)
		return 0;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		fl = fcntl(cfd, F_GETFL);
		(void)fcntl(cfd, F_SETFL, fl | O_NONBLOCK);
		if (read_line(cfd, line, sizeof(line), CTL_TIMEOUT) == 0)
			flags |= answer(line, s, c, now, out, sizeof(out));
		else
			snprintf(out, sizeof(out), "error request not read\n");
		(void)send(cfd, out, strlen(out), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(cfd);
	}
	return flags;
}

int
ctl_request(const char *path, const char *line, char *reply, size_t replysz)
{
	struct sockaddr_un	 sun;
	int			 fd, rc = -1;
	char			 req[MAX_CTL_LINE];

	snprintf(reply, replysz, "error");
	if (ctl_addr(path, &sun) == -1 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(reply, replysz, "error %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(req, sizeof(req), "%s\n", line);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		snprintf(reply, replysz, "error %s: %s (is fedtrustd running?)", path, strerror(errno));
		goto out;
	}
	if (read_line(fd, reply, replysz, CTL_WAIT) == -1) {
		snprintf(reply, replysz, "error no reply from %s", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
