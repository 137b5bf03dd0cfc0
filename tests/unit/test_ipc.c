/*
 * ipc.c: frames between fedtrustd's processes.  Round trips of every field
 * kind; hostile frames (wrong type, oversized length, truncated, counts and
 * lengths beyond the buffer, embedded NUL) are refused or flagged bad; a
 * signal arriving while main waits for a child does not lose the frame.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "extern.h"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
test_round_trip(void **state)
{
	char		*v[] = { "a", "", "ccc" }, **w, *s;
	struct ibuf	 b, r;
	unsigned char	*m;
	size_t		 n, wn;
	int		 sv[2];

	(void)state;
	memset(&b, 0, sizeof(b));
	ibuf_put_u64(&b, 42);
	ibuf_put_str(&b, "hello");
	ibuf_put_str(&b, NULL);
	ibuf_put_bytes(&b, "\0\1\2", 3);
	ibuf_put_strv(&b, v, 3);
	pair(sv);
	assert_int_equal(ipc_frame_write(sv[0], 7, &b), 0);
	assert_int_equal(ipc_frame_read(sv[1], 7, &r, 1000), 0);
	assert_int_equal(ibuf_get_u64(&r), 42);
	s = ibuf_get_str(&r);
	assert_string_equal(s, "hello");
	free(s);
	assert_null(ibuf_get_str(&r));
	m = ibuf_get_bytes(&r, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(m, "\0\1\2", 3);
	free(m);
	ibuf_get_strv(&r, &w, &wn);
	assert_int_equal(wn, 3);
	assert_string_equal(w[2], "ccc");
	strv_free(w, wn);
	assert_false(r.bad);
	assert_int_equal(r.off, r.len);
	/* reading past the end flags the buffer, never reads beyond it */
	assert_int_equal(ibuf_get_u64(&r), 0);
	assert_true(r.bad);
	free(r.p);
	free(b.p);
	close(sv[0]);
	close(sv[1]);
}

/* A frame header as a hostile child would write it. */
static void
raw_header(int fd, uint64_t type, uint64_t len)
{
	uint64_t	 h[2] = { type, len };

	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
}

static void
test_hostile_frames(void **state)
{
	struct ibuf	 b;
	int		 sv[2];

	(void)state;
	pair(sv);
	raw_header(sv[0], 8, 0);			/* another type */
	assert_int_equal(ipc_frame_read(sv[1], 7, &b, 1000), -1);
	close(sv[0]);
	close(sv[1]);
	pair(sv);
	raw_header(sv[0], 7, (uint64_t)MAX_IPC_FRAME + 1);	/* over the cap: never allocated */
	assert_int_equal(ipc_frame_read(sv[1], 7, &b, 1000), -1);
	close(sv[0]);
	close(sv[1]);
	pair(sv);
	raw_header(sv[0], 7, 100);			/* truncated, then EOF */
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(ipc_frame_read(sv[1], 7, &b, 1000), -1);
	close(sv[1]);
	pair(sv);
	raw_header(sv[0], 7, 10);			/* a child that stops talking */
	assert_int_equal(ipc_frame_read(sv[1], 7, &b, 200), -1);
	close(sv[0]);
	close(sv[1]);
}

static void
test_hostile_fields(void **state)
{
	struct ibuf	 b;
	size_t		 n;
	char		*s;

	(void)state;
	memset(&b, 0, sizeof(b));
	ibuf_put_u64(&b, 1000000);			/* a count no buffer this size can hold */
	assert_int_equal(ibuf_get_count(&b, 8), 0);
	assert_true(b.bad);
	free(b.p);
	memset(&b, 0, sizeof(b));
	ibuf_put_u64(&b, 50);				/* a length beyond the buffer */
	ibuf_put_mem(&b, "xy", 2);
	assert_null(ibuf_get_bytes(&b, &n));
	assert_true(b.bad);
	free(b.p);
	memset(&b, 0, sizeof(b));
	ibuf_put_bytes(&b, "a\0b", 3);			/* a string with a NUL inside */
	s = ibuf_get_str(&b);
	assert_null(s);
	assert_true(b.bad);
	free(b.p);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A signal while main waits (SIGHUP for a reload) must not lose the child's frame. */
static void
test_signal_while_waiting(void **state)
{
	struct sigaction	 sa;
	struct itimerval	 it;
	struct ibuf		 b;
	int			 sv[2], status;
	pid_t			 pid;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;		/* no SA_RESTART: poll returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	pair(sv);
	if ((pid = fork()) == 0) {
		memset(&b, 0, sizeof(b));
		usleep(300 * 1000);
		ibuf_put_str(&b, "late");
		_exit(ipc_frame_write(sv[0], 7, &b) == 0 ? 0 : 1);
	}
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50 * 1000;
	it.it_interval.tv_usec = 50 * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(ipc_frame_read(sv[1], 7, &b, 5000), 0);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(b.p);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_signal_while_waiting),
	};

	log_init(1, 0, "test_ipc");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
