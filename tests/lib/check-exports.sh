#!/bin/sh
# libfedtrust exports exactly the fedtrust_* symbols of src/lib/fedtrust.sym:
# nothing private (fedtrustp_*), nothing from the daemon, nothing missing.
: "${top_srcdir:?}" "${top_builddir:?}"
so="$top_builddir/src/lib/.libs/libfedtrust.so"
if [ ! -f "$so" ]; then
	echo "check-exports: $so not built" >&2
	exit 1
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "check-exports: no nm; skipped"
	exit 77
fi
tmp="${TMPDIR:-/tmp}/check-exports.$$"
trap 'rm -f "$tmp".want "$tmp".have' EXIT
grep -v '^#' "$top_srcdir/src/lib/fedtrust.sym" | grep -v '^$' | LC_ALL=C sort > "$tmp.want"
# Defined dynamic symbols: code (T), data (D, B, R), weak (W, V), indirect (i).
nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
    LC_ALL=C sort -u > "$tmp.have"
if ! diff -u "$tmp.want" "$tmp.have"; then
	echo "check-exports: the exported symbols differ from src/lib/fedtrust.sym (- missing, + extra)" >&2
	exit 1
fi
echo "check-exports: $(wc -l < "$tmp.want") symbols, exactly the list"
