/*
 * sandbox.c: each role, entered in a forked child, is checked from the
 * inside: what it may read and write, what it may not (a "signing key" and
 * a "publish folder" beside the allowed trees), TCP to a listener on
 * 127.0.0.1, new sockets and exec.  The child reports one byte per check
 * through a pipe; the parent asserts them.  On a kernel without Landlock
 * the file-system checks are skipped (the seccomp ones still run).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

/* What the child found, one byte per check ('y' allowed, 'n' refused). */
enum check { C_READ_RO, C_WRITE_RO, C_WRITE_RW, C_READ_KEY, C_READ_PUB, C_TCP, C_INET, C_UNIX,
	C_MAX };

static char	*dir, *ro, *rw, *key, *pub;
static int	 lfd = -1, lport;

static int
landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

static int
can_open(const char *path, int flags)
{
	int	 fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

static int
can_tcp(void)
{
	struct sockaddr_in	 sin;
	int			 s, ok;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)lport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(s);
	return ok;
}

static int
can_socket(int domain)
{
	int	 s = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s == -1)
		return 0;
	close(s);
	return 1;
}

/* Enter role in a child, run every check, return the answers in out. */
static void
probe(enum sandbox_role role, char out[C_MAX])
{
	const char		*ros[] = { ro }, *rws[] = { rw };
	struct sandbox_paths	 sp = { ros, 1, rws, 1 };
	char			*w, *rwf;
	int			 p[2], status;
	pid_t			 pid;

	if (role == SANDBOX_FETCH)
		sp.nrw = 0;
	assert_int_equal(pipe(p), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		char	 r[C_MAX];

		close(p[0]);
		if (sandbox_enter(role, &sp) == -1)
			_exit(2);
		xasprintf(&w, "%s/new", ro);
		xasprintf(&rwf, "%s/new", rw);
		r[C_READ_RO] = can_open(w, O_RDONLY) || can_open(ro, O_RDONLY) ? 'y' : 'n';
		r[C_WRITE_RO] = can_open(w, O_WRONLY | O_CREAT) ? 'y' : 'n';
		r[C_WRITE_RW] = can_open(rwf, O_WRONLY | O_CREAT) ? 'y' : 'n';
		r[C_READ_KEY] = can_open(key, O_RDONLY) ? 'y' : 'n';
		r[C_READ_PUB] = can_open(pub, O_RDONLY) ? 'y' : 'n';
		r[C_TCP] = can_tcp() ? 'y' : 'n';
		r[C_INET] = can_socket(AF_INET6) ? 'y' : 'n';
		r[C_UNIX] = can_socket(AF_UNIX) ? 'y' : 'n';
		_exit(write(p[1], r, C_MAX) == C_MAX ? 0 : 3);
	}
	close(p[1]);
	assert_int_equal(read(p[0], out, C_MAX), C_MAX);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* exec in a separate child: 0 when refused with EPERM, 1 when it ran. */
static int
exec_runs(enum sandbox_role role)
{
	struct sandbox_paths	 sp;
	int			 status;
	pid_t			 pid;

	memset(&sp, 0, sizeof(sp));
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if (sandbox_enter(role, &sp) == -1)
			_exit(2);
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(errno == EPERM ? 5 : 6);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 7;
}

static int
setup(void **state)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	(void)state;
	dir = tu_tmpdir("sandbox");
	xasprintf(&ro, "%s/anchors", dir);
	xasprintf(&rw, "%s/cache", dir);
	xasprintf(&key, "%s/signing.key", dir);
	xasprintf(&pub, "%s/publish", dir);
	assert_int_equal(mkdir_p(ro, 0700), 0);
	assert_int_equal(mkdir_p(rw, 0700), 0);
	assert_int_equal(mkdir_p(pub, 0700), 0);
	assert_int_equal(write_file_atomic(key, "secret\n", 7, 0600), 0);
	free(pub);
	xasprintf(&pub, "%s/publish/head.jwt", dir);
	assert_int_equal(write_file_atomic(pub, "x\n", 2, 0644), 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	lport = ntohs(sin.sin_port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(lfd);
	rm_rf(dir);
	free(dir);
	free(ro);
	free(rw);
	free(key);
	free(pub);
	return 0;
}

/* verify: reads anchors, writes its cache, nothing else; no TCP, no new inet sockets. */
static void
test_verify(void **state)
{
	char	 r[C_MAX];

	(void)state;
	probe(SANDBOX_VERIFY, r);
	assert_int_equal(r[C_INET], 'n');
	assert_int_equal(r[C_TCP], 'n');
	assert_int_equal(r[C_UNIX], 'y');		/* syslog */
	if (landlock_abi() < 1) {
		print_message("no Landlock on this kernel: file-system checks skipped\n");
		return;
	}
	assert_int_equal(r[C_READ_RO], 'y');
	assert_int_equal(r[C_WRITE_RO], 'n');
	assert_int_equal(r[C_WRITE_RW], 'y');
	assert_int_equal(r[C_READ_KEY], 'n');		/* the signing key */
	assert_int_equal(r[C_READ_PUB], 'n');		/* the publish folder */
}

/* fetch: the network, read-only paths; writes nothing, never the key. */
static void
test_fetch(void **state)
{
	char	 r[C_MAX];

	(void)state;
	probe(SANDBOX_FETCH, r);
	assert_int_equal(r[C_TCP], 'y');
	assert_int_equal(r[C_INET], 'y');
	if (landlock_abi() < 1)
		return;
	assert_int_equal(r[C_READ_RO], 'y');
	assert_int_equal(r[C_WRITE_RO], 'n');
	assert_int_equal(r[C_WRITE_RW], 'n');
	assert_int_equal(r[C_READ_KEY], 'n');
	assert_int_equal(r[C_READ_PUB], 'n');
}

/* No role may run another program. */
static void
test_no_exec(void **state)
{
	(void)state;
	assert_int_equal(exec_runs(SANDBOX_VERIFY), 0);
	assert_int_equal(exec_runs(SANDBOX_FETCH), 0);
	assert_int_equal(exec_runs(SANDBOX_SERVE), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_no_exec),
	};

	log_init(1, 0, "test_sandbox");
	return cmocka_run_group_tests(tests, setup, teardown);
}
