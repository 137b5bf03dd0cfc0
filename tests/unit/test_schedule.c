/* Unit tests of schedule.c and ctl.c: fetch times, back-off, forced refreshes, the control socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

#define NOW	1800000000

/* After a success: refresh, shortened by cacheDuration and validity, clamped, jittered. */
static void
test_next_ok(void **state)
{
	unsigned	 r;
	time_t		 t;

	(void)state;
	/* no jitter at rnd = span: exactly the interval */
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 1, 0, -1, 360), NOW + 3600);
	assert_int_equal(schedule_next(NOW, 3600, 600, 0, 1, 0, -1, 60), NOW + 600);
	/* a quarter of the time left before validUntil */
	assert_int_equal(schedule_next(NOW, 3600, -1, NOW + 2000, 1, 0, -1, 50), NOW + 500);
	/* clamped to MIN_SCHEDULE and MAX_SCHEDULE */
	assert_int_equal(schedule_next(NOW, 5, 1, NOW + 10, 1, 0, -1, 6), NOW + MIN_SCHEDULE);
	assert_int_equal(schedule_next(NOW, 10 * 86400, -1, 0, 1, 0, -1, 8640),
	    NOW + MAX_SCHEDULE);
	/* jitter stays within +-10 % and the bounds */
	for (r = 0; r < 2000; r += 7) {
		t = schedule_next(NOW, 3600, -1, 0, 1, 0, -1, r);
		assert_true(t >= NOW + 3240 && t <= NOW + 3960);
	}
}

/* After failures: 1, 2, 4 ... minutes up to MAX_BACKOFF; a longer Retry-After wins. */
static void
test_next_failure(void **state)
{
	(void)state;
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 1, -1, 0), NOW + 60);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 2, -1, 0), NOW + 120);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 4, -1, 0), NOW + 480);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 40, -1, 0), NOW + MAX_BACKOFF);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 1, 900, 0), NOW + 900);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 4, 100, 0), NOW + 480);
	assert_int_equal(schedule_next(NOW, 3600, -1, 0, 0, 1, 10 * 86400, 0),
	    NOW + MAX_RETRY_AFTER);
}

/*
 * NET-10: retries after failures are jittered so that sources failing
 * together do not retry together, but only ever later: never before the
 * back-off step or the Retry-After, never past the cap that applied.
 */
static void
test_next_fail_jitter(void **state)
{
	unsigned	 r;
	time_t		 t, lo = NOW + 86400, hi = NOW, clo = NOW + 86400;

	(void)state;
	for (r = 0; r < 5000; r += 3) {
		t = schedule_next(NOW, 3600, -1, 0, 0, 3, -1, r);
		assert_true(t >= NOW + 240 && t <= NOW + 264);
		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
		t = schedule_next(NOW, 3600, -1, 0, 0, 1, 900, r);
		assert_true(t >= NOW + 900 && t <= NOW + 990);
		t = schedule_next(NOW, 3600, -1, 0, 0, 40, -1, r);
		assert_true(t >= NOW + MAX_BACKOFF - MAX_BACKOFF / 10 && t <= NOW + MAX_BACKOFF);
		clo = t < clo ? t : clo;
		/* Retry-After: 999999 arrives capped; the cap holds with jitter too */
		t = schedule_next(NOW, 3600, -1, 0, 0, 1, MAX_RETRY_AFTER, r);
		assert_int_equal(t, NOW + MAX_RETRY_AFTER);
	}
	/* spread: not all the same */
	assert_true(hi - lo >= 20);
	/* at the back-off cap too */
	assert_true(clo < NOW + MAX_BACKOFF - 600);
}

/* A two-source config for the schedule. */
static void
conf_init(struct config *c, struct list_conf *l, struct source_conf *s)
{
	memset(c, 0, sizeof(*c));
	memset(l, 0, sizeof(*l));
	memset(s, 0, 2 * sizeof(*s));
	s[0].name = (char *)"a";
	s[1].name = (char *)"b";
	l->name = (char *)"research";
	l->refresh = 3600;
	l->sources = s;
	l->sourcesz = 2;
	c->lists = l;
	c->listsz = 1;
}

/* Due, done, wake, and forced refreshes with their rate limit. */
static void
test_due_and_force(void **state)
{
	struct config		 c;
	struct list_conf	 l;
	struct source_conf	 s[2];
	struct source_state	 st;
	struct schedule		*sc = schedule_new();

	(void)state;
	conf_init(&c, &l, s);
	assert_true(schedule_due(sc, "research", "a", NOW));
	memset(&st, 0, sizeof(st));
	st.conf = &s[0];
	st.status = SRC_OK;
	st.fetched = 1;
	st.retry_after = -1;
	st.set.cache_duration = -1;
	schedule_done(sc, &l, &st, NOW);
	assert_false(schedule_due(sc, "research", "a", NOW + 10));
	assert_true(schedule_due(sc, "research", "a", NOW + 4000));
	/* b never ran: the wake-up time is now */
	assert_int_equal(schedule_wake(sc, &c, NOW), NOW);
	st.conf = &s[1];
	schedule_done(sc, &l, &st, NOW);
	assert_true(schedule_wake(sc, &c, NOW) >= NOW + 3240);
	/* a source not fetched this cycle keeps its time */
	st.fetched = 0;
	st.status = SRC_FAILED;
	schedule_done(sc, &l, &st, NOW + 5);
	assert_false(schedule_due(sc, "research", "b", NOW + 10));
	/* forced: due at once; again within MIN_FORCED_REFRESH is refused */
	assert_int_equal(schedule_force(sc, &c, "research", "a", NOW + 20), 1);
	assert_true(schedule_due(sc, "research", "a", NOW + 20));
	assert_int_equal(schedule_force(sc, &c, "research", "a", NOW + 25), -1);
	assert_int_equal(schedule_force(sc, &c, "research", "a", NOW + 20 + MIN_FORCED_REFRESH), 1);
	/* the whole list: b is marked, a (just forced) is limited but b counts */
	assert_int_equal(schedule_force(sc, &c, "research", NULL, NOW + 31), 1);
	assert_int_equal(schedule_force(sc, &c, "nope", NULL, NOW + 100), 0);
	assert_int_equal(schedule_force(sc, &c, NULL, NULL, NOW + 100), 2);
	schedule_free(sc);
}

/* The control socket: a refresh request marks the source due and answers "ok 1". */
static void
test_control_socket(void **state)
{
	struct config		 c;
	struct list_conf	 l;
	struct source_conf	 s[2];
	struct schedule		*sc = schedule_new();
	char			*dir = tu_tmpdir("schedule"), *path, reply[MAX_CTL_LINE];
	int			 fd, i, status = -1, done = 0;
	pid_t			 pid;

	(void)state;
	conf_init(&c, &l, s);
	path = path_join(dir, "control.sock");
	assert_int_not_equal(fd = ctl_listen(path), -1);
	/* the client in a child process, the server here */
	if ((pid = fork()) == 0) {
		int	 ok = ctl_request(path, "refresh research b", reply, sizeof(reply)) == 0 &&
		    strcmp(reply, "ok 1") == 0;

		ok = ok && ctl_request(path, "refresh research b", reply, sizeof(reply)) == 0 &&
		    strncmp(reply, "error rate limited", 18) == 0;
		ok = ok && ctl_request(path, "refresh nope", reply, sizeof(reply)) == 0 &&
		    strncmp(reply, "error no such", 13) == 0;
		ok = ok && ctl_request(path, "format disk", reply, sizeof(reply)) == 0 &&
		    strncmp(reply, "error unknown", 13) == 0;
		_exit(ok ? 0 : 1);
	}
	for (i = 0; i < 100 && !done; i++) {
		ctl_serve(fd, sc, &c, NOW);
		usleep(50000);
		done = waitpid(pid, &status, WNOHANG) == pid;
	}
	assert_true(done);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(schedule_due(sc, "research", "b", NOW));
	close(fd);
	/* no daemon: the client says so */
	unlink(path);
	assert_int_equal(ctl_request(path, "status", reply, sizeof(reply)), -1);
	assert_non_null(strstr(reply, "is fedtrustd running?"));
	schedule_free(sc);
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_ok),
		cmocka_unit_test(test_next_failure),
		cmocka_unit_test(test_next_fail_jitter),
		cmocka_unit_test(test_due_and_force),
		cmocka_unit_test(test_control_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
