#!/bin/sh
# The whole test suite, every test once: a warnings-as-errors build runs the
# tests that measure time or hand our output to other tools
# (SCRIPT_TESTS_PLAIN in Makefile.am), an AddressSanitizer/UBSan build runs
# the unit tests, fuzz replays and every other tier (SCRIPT_TESTS_SAN), then
# `make distcheck` builds, installs and runs the demo from the tarball.
# Prints each test's result and a final "N passed, M failed" line.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-2}
# as many test jobs as cores: the daemon tests measure timing and flake when oversubscribed
check_jobs=${CHECK_JOBS:-$jobs}
[ -f config.status ] && make distclean > /dev/null 2>&1
./autogen.sh > /dev/null 2>&1 || { echo "autogen.sh failed"; exit 1; }
status=0
t0=$(date +%s)
# elapsed: minutes and seconds since the start, for the phase lines
elapsed() { e=$(($(date +%s) - t0)); printf '%dm%02ds' $((e / 60)) $((e % 60)); }
# the real third-party corpus beside the project, also for distcheck's copy
FEDTRUST_CORPUS=${FEDTRUST_CORPUS:-$(cd "$top/.." && pwd)/shared/corpus}
export FEDTRUST_CORPUS

# run_suite NAME TESTS CONFIGURE-ARGS...: configure and make check TESTS in build/NAME
run_suite() {
	name=$1
	tests=$2
	shift 2
	b=$top/build/$name
	rm -rf "$b"
	mkdir -p "$b"
	echo "=== $name build: configure $* ($(elapsed))"
	(cd "$b" && "$top/configure" -q "$@" > configure.out 2>&1) || { cat "$b/configure.out"; return 1; }
	(cd "$b" && make -j"$jobs" > make.out 2>&1) || { tail -50 "$b/make.out"; return 1; }
	echo "=== $name: make check ($(elapsed))"
	(cd "$b" && make -j"$check_jobs" check TESTS="$tests" 2>&1 | grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR):|^# ')
	if grep -q '^# FAIL: *0$' "$b/test-suite.log" 2>/dev/null && grep -q '^# ERROR: *0$' "$b/test-suite.log"; then
		return 0
	fi
	# show what failed
	for f in $(grep -l '^:test-result: \(FAIL\|ERROR\)' $(find "$b/tests" -name '*.trs') 2>/dev/null); do
		log=${f%.trs}.log
		echo "----- ${log#$b/}"
		tail -40 "$log"
	done
	return 1
}

run_suite default '$(SCRIPT_TESTS_PLAIN)' --enable-werror || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite asan '$(SCRIPT_TESTS_SAN) $(check_PROGRAMS)' --enable-sanitizers || status=1
# distcheck proves the tarball builds, installs and tests from a read-only
# source tree; the docs check and the demo show that (every test ran above,
# so the test programs are not built a third time).
echo "=== make distcheck ($(elapsed))"
(cd "$top/build/default" && make -j"$jobs" distcheck \
    TESTS='tests/docs-check.sh tests/e2e/002-demo.sh' check_PROGRAMS= check_LTLIBRARIES= \
    > distcheck.out 2>&1) \
	&& echo "PASS: make distcheck" || { tail -40 "$top/build/default/distcheck.out"; echo "FAIL: make distcheck"; status=1; }

# One closing line over every suite.
p=0
f=0
for log in "$top/build/default/test-suite.log" "$top/build/asan/test-suite.log"; do
	[ -f "$log" ] || { f=$((f + 1)); continue; }
	p=$((p + $(sed -n 's/^# PASS: *//p' "$log")))
	f=$((f + $(sed -n 's/^# FAIL: *//p' "$log") + $(sed -n 's/^# ERROR: *//p' "$log")))
done
[ $status -ne 0 ] && [ $f -eq 0 ] && f=1
echo "=== done ($(elapsed))"
echo "$p passed, $f failed"
exit $status
