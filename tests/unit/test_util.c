/* Unit tests of util.c and reason.c: parsing, atomic writes, encodings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "extern.h"
#include "testutil.h"

static void
test_duration(void **state)
{
	long	 s;

	assert_int_equal(parse_duration("90", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(parse_duration("30s", &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(parse_duration("5m", &s), 0);
	assert_int_equal(s, 300);
	assert_int_equal(parse_duration("24h", &s), 0);
	assert_int_equal(s, 86400);
	assert_int_equal(parse_duration("28d", &s), 0);
	assert_int_equal(s, 28 * 86400);
	assert_int_equal(parse_duration("", &s), -1);
	assert_int_equal(parse_duration("5x", &s), -1);
	assert_int_equal(parse_duration("5mm", &s), -1);
	assert_int_equal(parse_duration("-5m", &s), -1);
	assert_int_equal(parse_duration("99999999999999999999d", &s), -1);
}

static void
test_size(void **state)
{
	size_t	 n;

	assert_int_equal(parse_size("1024", &n), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(parse_size("256M", &n), 0);
	assert_int_equal(n, 256UL * 1024 * 1024);
	assert_int_equal(parse_size("2G", &n), 0);
	assert_int_equal(parse_size("1T", &n), -1);
	assert_int_equal(parse_size("M", &n), -1);
}

static void
test_times(void **state)
{
	time_t	 t;
	long	 d;
	char	 buf[32];

	assert_int_equal(parse_xsd_datetime("2026-11-23T16:17:59Z", &t), 0);
	assert_int_equal(t, 1795450679);
	assert_string_equal(format_time(t, buf, sizeof(buf)), "2026-11-23T16:17:59Z");
	assert_int_equal(parse_xsd_datetime("2026-11-23T17:17:59+01:00", &t), 0);
	assert_int_equal(t, 1795450679);
	assert_int_equal(parse_xsd_datetime("2026-11-23T16:17:59.123Z", &t), 0);
	assert_int_equal(t, 1795450679);
	assert_int_equal(parse_xsd_datetime("2026-11-23T16:17:59", &t), 0);
	assert_int_equal(parse_xsd_datetime("2026-02-30T00:00:00Z", &t), -1);
	assert_int_equal(parse_xsd_datetime("2026-11-23 16:17:59Z", &t), -1);
	assert_int_equal(parse_xsd_datetime("2026-11-23T16:17:59Zjunk", &t), -1);
	assert_int_equal(parse_xsd_datetime("26-11-23T16:17:59Z", &t), -1);
	assert_int_equal(parse_xsd_datetime("", &t), -1);
	assert_int_equal(parse_time("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(parse_time("99999999999999999999", &t), -1);
	assert_int_equal(parse_date_or_time("2027-06-30", &t), 0);
	assert_string_equal(format_time(t, buf, sizeof(buf)), "2027-06-30T23:59:59Z");

	assert_int_equal(parse_xsd_duration("PT6H", &d), 0);
	assert_int_equal(d, 21600);
	assert_int_equal(parse_xsd_duration("P1DT30M", &d), 0);
	assert_int_equal(d, 86400 + 1800);
	assert_int_equal(parse_xsd_duration("PT1.5S", &d), 0);
	assert_int_equal(d, 1);
	assert_int_equal(parse_xsd_duration("P", &d), -1);
	assert_int_equal(parse_xsd_duration("PT", &d), -1);
	assert_int_equal(parse_xsd_duration("PTXS", &d), -1);
	assert_int_equal(parse_xsd_duration("-PT5M", &d), -1);
	assert_int_equal(parse_xsd_duration("P99999999999999Y", &d), -1);
}

static void
test_atomic_write(void **state)
{
	char		*dir = tu_tmpdir("util"), *path = path_join(dir, "f");
	unsigned char	*buf;
	size_t		 len;
	struct stat	 st;

	assert_int_equal(write_file_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(write_file_atomic(path, "second", 6, 0640), 0);
	assert_int_equal(read_file(path, 100, &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "second", 6);
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* the size cap holds */
	assert_int_equal(read_file(path, 3, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	/* a missing folder fails and leaves nothing behind */
	free(path);
	path = path_join(dir, "nope/f");
	assert_int_equal(write_file_atomic(path, "x", 1, 0600), -1);
	assert_int_equal(tu_sh("test $(ls -A '%s' | wc -l) = 1", dir), 0);
	free(path);
	assert_int_equal(rm_rf(dir), 0);
	free(dir);
}

static void
test_encodings(void **state)
{
	char	 hex[65], *s;

	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	s = b64url_encode("\xfb\xff", 2);
	assert_string_equal(s, "-_8");
	free(s);
	s = b64_encode("\xfb\xff", 2);
	assert_string_equal(s, "+/8=");
	free(s);
	assert_true(glob_match("https://*.example.org/*", "https://a.example.org/md"));
	assert_false(glob_match("https://*.example.org/*", "https://example.com/md"));
}

static void
test_reasons(void **state)
{
	enum reason	 r;
	struct verdict	 v;
	int		 i;

	/* every code has a distinct string that maps back */
	for (i = 1; i < R_MAX; i++) {
		assert_int_equal(reason_from_code(reason_code((enum reason)i), &r), 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(reason_from_code("no-such-code", &r), -1);
	assert_int_equal(verdict_set(&v, R_EXPIRED, "until %d", 5), -1);
	assert_int_equal(v.reason, R_EXPIRED);
	assert_string_equal(v.detail, "until 5");
}

static void
test_sanitize(void **state)
{
	char	 buf[16];

	assert_string_equal(log_sanitize("a\nb", 3, buf, sizeof(buf)), "a\\x0ab");
	log_sanitize("0123456789abcdefghij", 20, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 15);
	assert_string_equal(buf + 12, "...");
	assert_memory_equal(buf, "0123456789ab", 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
