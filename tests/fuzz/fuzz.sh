#!/bin/sh
# `make fuzz`: build every fuzz target with clang -fsanitize=fuzzer,address,undefined
# straight from the sources (never the gcc objects) and run each for FUZZ_SECONDS
# over its seed corpus plus a working corpus in the build tree, then print one
# summary line per target.  docs/fuzzing.md explains the targets and the corpus policy.
#
# Environment (set by the make rule): FUZZ_AVAILABLE (yes when configure found a
# libFuzzer-capable FUZZ_CC), FUZZ_CC, FUZZ_SECONDS, FUZZ_TARGETS, FUZZ_JOBS (targets
# run at the same time, default 1), FUZZ_DEPS_CFLAGS, FUZZ_LIBS, FUZZ_SRC_<target>
# (sources relative to srcdir), srcdir, top_srcdir (absolute), sysconfdir,
# localstatedir.  Optional: FUZZ_ARGS (extra libFuzzer flags).
# Exit 0 when no target found anything, 1 when one did, 77 without libFuzzer.
set -u

if [ "${FUZZ_AVAILABLE:-no}" != yes ]; then
	echo "make fuzz: configure found no C compiler accepting -fsanitize=fuzzer,address,undefined" >&2
	echo "  (FUZZ_CC=${FUZZ_CC:-clang}); install clang and libclang-rt-14-dev (Debian 12) and run configure again." >&2
	echo "  make check still replays every seed corpus without libFuzzer." >&2
	exit 77
fi
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_JOBS:=1}"
: "${FUZZ_ARGS:=}"
out=tests/fuzz/libfuzzer
mkdir -p "$out"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# max_len: the largest input libFuzzer makes for each kind (seeds may be larger)
max_len() {
	case $1 in
	saml | bundle) echo 131072 ;;
	jws | json) echo 65536 ;;
	config) echo 16384 ;;
	mdq) echo 4096 ;;
	*) echo 65536 ;;
	esac
}

# build NAME: compile the target and the sources it needs into $out/fuzz_NAME
build() {
	eval "srcs=\${FUZZ_SRC_$1:-}"
	[ -n "$srcs" ] || { echo "fuzz: no sources for target $1" >&2; return 1; }
	files=
	for f in $srcs; do
		case $f in *.c) files="$files $srcdir/$f" ;; esac
	done
	echo "fuzz: building $out/fuzz_$1"
	# shellcheck disable=SC2086
	$FUZZ_CC -g -O1 $san -std=c11 -D_GNU_SOURCE -DHAVE_CONFIG_H \
		-DSYSCONFDIR="\"$sysconfdir\"" -DLOCALSTATEDIR="\"$localstatedir\"" \
		-I. -I"$srcdir" -I"$srcdir/src" -I"$srcdir/include" -I"$srcdir/tests/fuzz" \
		$FUZZ_DEPS_CFLAGS $files -o "$out/fuzz_$1" $FUZZ_LIBS
}

# run NAME: fuzz for FUZZ_SECONDS; log in $out/NAME.log, findings in $out/NAME-artifacts/
run() {
	work=$out/$1-corpus
	art=$out/$1-artifacts
	mkdir -p "$work" "$art"
	# shellcheck disable=SC2086
	top_srcdir=$top_srcdir ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$out/fuzz_$1" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$1")" \
		-timeout=10 -rss_limit_mb=2560 -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$art/" $FUZZ_ARGS "$work" "$srcdir/tests/fuzz/corpus/$1" \
		> "$out/$1.log" 2>&1
	echo $? > "$out/$1.rc"
}

# summary NAME: one line from the log's final statistics
summary() {
	log=$out/$1.log
	rc=$(cat "$out/$1.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	corp=$(find "$out/$1-corpus" -type f | wc -l)
	found=$(find "$out/$1-artifacts" -type f | wc -l)
	if [ "$rc" = 0 ] && [ "$found" = 0 ]; then
		res=clean
	else
		res="FOUND $found (exit $rc; see $log and $out/$1-artifacts/)"
	fi
	printf '%-7s %5ss %10s execs %7s exec/s  %-22s corpus %5s  rss %5sMB  %s\n' "$1" \
		"$FUZZ_SECONDS" "${execs:-?}" "${eps:-?}" "${cov:-cov: ?}" "$corp" "${rss:-?}" "$res"
	[ "$res" = clean ]
}

for t in $FUZZ_TARGETS; do
	build "$t" || exit 1
done
echo "fuzz: running each of $FUZZ_TARGETS for $FUZZ_SECONDS s, $FUZZ_JOBS at a time"
set -- $FUZZ_TARGETS
while [ $# -gt 0 ]; do
	pids=
	i=0
	while [ $# -gt 0 ] && [ $i -lt "$FUZZ_JOBS" ]; do
		run "$1" &
		pids="$pids $!"
		shift
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p"
	done
done
status=0
echo "fuzz: summary (logs and working corpora in $out/)"
for t in $FUZZ_TARGETS; do
	summary "$t" || status=1
done
exit $status
