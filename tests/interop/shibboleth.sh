#!/bin/sh
# Interop: the published aggregate loads in the Shibboleth SP metadata tooling
# (mdquery with a Signature filter and RequireValidUntil) and verifies with
# xmlsec1; a tampered copy is refused by both (tests/interop/check-aggregate.sh).
. "$top_srcdir/tests/tools/common.sh"
. "$top_srcdir/tests/tools/build-fixture.sh"
command -v mdquery > /dev/null || { echo "SKIP: mdquery (shibboleth-sp-utils) not installed"; exit 77; }

make_fixture "$PKI/operator.key" "$PKI/operator.pem" 4 || { fail "fedtrust build"; finish; exit 1; }
# e0 is an IdP, e1 an SP (mkfeed's role cycle)
check "IdP entity loads in mdquery, tampered copy refused" \
	sh "$top_srcdir/tests/interop/check-aggregate.sh" "$AGG" "$PKI/operator.pem" "https://e0.example.org/md" idp
check "SP entity loads in mdquery" \
	sh "$top_srcdir/tests/interop/check-aggregate.sh" "$AGG" "$PKI/operator.pem" "https://e1.example.org/md" sp
make_fixture "$PKI/operator-ec.key" "$PKI/operator-ec.pem" 4 || { fail "fedtrust build (EC)"; finish; exit 1; }
check "EC-signed aggregate loads in mdquery" \
	sh "$top_srcdir/tests/interop/check-aggregate.sh" "$AGG" "$PKI/operator-ec.pem" "https://e0.example.org/md" idp
finish
