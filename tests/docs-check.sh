#!/bin/sh
# The docs stay true: every reason code, every config key and every command
# the code knows is documented.
. "$top_srcdir/tests/tools/common.sh"

for code in $(sed -n 's/.*\] = "\([a-z0-9-]*\)",$/\1/p' "$top_srcdir/src/reason.c"); do
	[ "$code" = ok ] && continue
	check "reason code $code documented in docs/reason-codes.md" grep -q "\`$code\`" "$top_srcdir/docs/reason-codes.md"
done
keys=$(grep -o 'strcmp(name, "[a-z-]*")' "$top_srcdir/src/config.c" | cut -d'"' -f2 | sort -u)
for k in $keys; do
	check "config key $k documented in fedtrust.conf(5)" grep -q "^\.It Cm $k" "$top_srcdir/docs/man/fedtrust.conf.5"
	check "config key $k documented in docs/configuration.md" grep -q "\`$k\`" "$top_srcdir/docs/configuration.md"
done
for c in verify build; do
	check "command $c in fedtrust(1)" grep -q "^\.Cm $c" "$top_srcdir/docs/man/fedtrust.1"
done
for f in "$top_srcdir"/docs/*.md; do
	check "$(basename "$f") is distributed (DOC_FILES in Makefile.am)" \
		grep -q "docs/$(basename "$f")" "$top_srcdir/Makefile.am"
done
finish
