#!/bin/sh
# The README's demo: fedtrustd starts on the bundled demo trust list, publishes
# a signed aggregate of the 20 demo entities, and stops cleanly.
. "$top_srcdir/tests/tools/common.sh"

DEMO_ONCE=1 top_builddir=$top_builddir sh "$top_srcdir/trustlists/demo/run-demo.sh" "$T/demo" > "$T/out" 2>&1
rc=$?
check "demo runs and publishes (exit $rc)" [ $rc -eq 0 ]
AGG=$T/demo/publish/demo/aggregate.xml
check "demo aggregate verifies with xmlsec1" xmlsec1_ok "$AGG" "$T/demo/pki/operator.pem"
n=$(grep -o 'entityID="[^"]*"' "$AGG" | sort -u | wc -l)
check "demo aggregate holds 20 entities (got $n)" [ "$n" -eq 20 ]
check "fedtrustd -n accepted the demo config" grep -q 'configuration OK' "$T/out"
check "fedtrustd logged the publication" grep -q 'list=demo: published generation 1 with 20 entities' "$T/out"
finish
