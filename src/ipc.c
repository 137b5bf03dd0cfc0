/*
 * Framing between fedtrustd's processes (privsep.c, serve.c): typed,
 * length-prefixed frames with a size cap, and a byte buffer with typed
 * put/get helpers.  Readers bounds-check every field: a frame from a child
 * that parsed hostile input is never trusted (ibuf.bad).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

void
ibuf_put_mem(struct ibuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
ibuf_put_u64(struct ibuf *b, uint64_t v)
{
	ibuf_put_mem(b, &v, sizeof(v));
}

/* Bytes with their length; NULL as length UINT64_MAX. */
void
ibuf_put_bytes(struct ibuf *b, const void *p, size_t n)
{
	ibuf_put_u64(b, p == NULL ? UINT64_MAX : (uint64_t)n);
	if (p != NULL)
		ibuf_put_mem(b, p, n);
}

void
ibuf_put_str(struct ibuf *b, const char *s)
{
	ibuf_put_bytes(b, s, s != NULL ? strlen(s) : 0);
}

void
ibuf_put_strv(struct ibuf *b, char *const *v, size_t n)
{
	size_t	 i;

	ibuf_put_u64(b, n);
	for (i = 0; i < n; i++)
		ibuf_put_str(b, v[i]);
}

uint64_t
ibuf_get_u64(struct ibuf *b)
{
	uint64_t	 v = 0;

	if (b->bad || b->len - b->off < sizeof(v)) {
		b->bad = 1;
		return 0;
	}
	memcpy(&v, b->p + b->off, sizeof(v));
	b->off += sizeof(v);
	return v;
}

/* A count of items at least min bytes each, checked against what is left. */
size_t
ibuf_get_count(struct ibuf *b, size_t min)
{
	uint64_t	 n = ibuf_get_u64(b);

	if (n > (b->len - b->off) / (min > 0 ? min : 1)) {
		b->bad = 1;
		return 0;
	}
	return (size_t)n;
}

/* Bytes (NUL-terminated copy, caller frees) or NULL; *n their length. */
unsigned char *
ibuf_get_bytes(struct ibuf *b, size_t *n)
{
	uint64_t	 len = ibuf_get_u64(b);
	unsigned char	*p;

	*n = 0;
	if (b->bad || len == UINT64_MAX)
		return NULL;
	if (len > b->len - b->off) {
		b->bad = 1;
		return NULL;
	}
	p = xmalloc((size_t)len + 1);
	memcpy(p, b->p + b->off, (size_t)len);
	p[len] = '\0';
	b->off += (size_t)len;
	*n = (size_t)len;
	return p;
}

/* A string without NUL bytes, or NULL. */
char *
ibuf_get_str(struct ibuf *b)
{
	size_t	 n;
	char	*s = (char *)ibuf_get_bytes(b, &n);

	if (s != NULL && strlen(s) != n) {
		b->bad = 1;
		free(s);
		return NULL;
	}
	return s;
}

void
ibuf_get_strv(struct ibuf *b, char ***v, size_t *n)
{
	size_t	 i, cnt = ibuf_get_count(b, sizeof(uint64_t));
	char	*s;

	*v = NULL;
	*n = 0;
	for (i = 0; i < cnt && !b->bad; i++) {
		s = ibuf_get_str(b);
		strv_push(v, n, s != NULL ? s : "");
		free(s);
	}
}

/* ------------------------------------------------------------ frames */

static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char	*c = p;
	ssize_t			 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes, waiting at most ms for each chunk (-1: forever). 0 / -1. */
static int
read_all(int fd, void *p, size_t n, int ms)
{
	unsigned char	*c = p;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	ssize_t		 r;

	while (n > 0) {
		/* a signal to main (SIGHUP, SIGTERM) must not fail a child's result */
		if ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if ((r = read(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int
ipc_frame_write(int fd, uint32_t type, const struct ibuf *b)
{
	uint64_t	 hdr[2] = { type, b->len };

	return write_all(fd, hdr, sizeof(hdr)) == -1 || write_all(fd, b->p, b->len) == -1 ?
	    -1 : 0;
}

/* One frame of type want into b (malloc'd), at most MAX_IPC_FRAME bytes. 0 / -1. */
int
ipc_frame_read(int fd, uint32_t want, struct ibuf *b, int ms)
{
	uint64_t	 hdr[2];

	memset(b, 0, sizeof(*b));
	if (read_all(fd, hdr, sizeof(hdr), ms) == -1 || hdr[0] != want ||
	    hdr[1] > MAX_IPC_FRAME)
		return -1;
	b->len = b->cap = (size_t)hdr[1];
	b->p = xmalloc(b->len + 1);
	if (read_all(fd, b->p, b->len, ms) == -1) {
		free(b->p);
		memset(b, 0, sizeof(*b));
		return -1;
	}
	return 0;
}


void
close_fds_except(int a, int b)
{
	int	 fd, max = (int)sysconf(_SC_OPEN_MAX);

	for (fd = 3; fd < max && fd < 65536; fd++)
		if (fd != a && fd != b)
			(void)close(fd);
}
