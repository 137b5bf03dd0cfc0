#!/bin/sh
# The ready trust lists under trustlists/examples parse and their anchors load
# (fedtrustd -n checks config, anchors and signing key, and exits).
. "$top_srcdir/tests/tools/common.sh"

cat > "$T/fedtrust.conf" <<CONF
[fedtrust]
issuer      = https://trust.example.org
state-dir   = $T/state
publish-dir = $T/publish
trustlists  = $top_srcdir/trustlists/examples
signing-key = $PKI/operator.key
signing-cert = $PKI/operator.pem
CONF
"$FEDTRUSTD" -n -c "$T/fedtrust.conf" > "$T/out" 2>&1
rc=$?
check "fedtrustd -n accepts the ready trust lists (exit $rc)" [ $rc -eq 0 ]
check "all three lists were read" grep -q 'configuration OK (3 trust lists)' "$T/out"
# a broken anchor is reported with its list and source
mkdir -p "$T/lists"
cp "$top_srcdir/trustlists/examples/incommon.conf" "$T/lists/"
sed -i "s|anchors/incommon-md-signing-2013.pem|$T/garbage.pem|" "$T/lists/incommon.conf"
echo "not a certificate" > "$T/garbage.pem"
sed -i "s|trustlists  = .*|trustlists  = $T/lists|" "$T/fedtrust.conf"
"$FEDTRUSTD" -n -c "$T/fedtrust.conf" > "$T/out" 2>&1
rc=$?
check "a garbage anchor fails the check (exit $rc)" [ $rc -eq 2 ]
check "the failing source is named" grep -q '^incommon/incommon: anchor' "$T/out"
finish
