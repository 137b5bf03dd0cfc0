#!/bin/sh
# Interop: the aggregate that `fedtrust build` publishes verifies with xmlsec1
# pinned to the operator certificate, for an RSA and an EC operator key; a
# tampered copy is refused.
. "$top_srcdir/tests/tools/common.sh"
. "$top_srcdir/tests/tools/build-fixture.sh"
command -v xmlsec1 > /dev/null || { echo "SKIP: xmlsec1 not installed"; exit 77; }

for k in operator operator-ec; do
	make_fixture "$PKI/$k.key" "$PKI/$k.pem" 4 || { fail "$k: fedtrust build"; continue; }
	check "$k: aggregate verifies with xmlsec1" xmlsec1_ok "$AGG" "$PKI/$k.pem"
	check "$k: signature algorithm fits the key" \
		grep -q "SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#$([ $k = operator ] && echo rsa || echo ecdsa)-sha256\"" "$AGG"
	sed 's/e1\.example\.org/x1.example.org/' "$AGG" > "$T/tampered.xml"
	check "$k: tampered copy refused by xmlsec1" sh -c "! xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert --pubkey-cert-pem '$PKI/$k.pem' --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor '$T/tampered.xml' >/dev/null 2>&1"
	check "$k: another key does not verify it" sh -c "! xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert --pubkey-cert-pem '$PKI/other.pem' --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor '$AGG' >/dev/null 2>&1"
	# our own verifier agrees, pinned to the operator certificate
	out=$("$FEDTRUST" verify --anchor "$PKI/$k.pem" "$AGG")
	check "$k: fedtrust verify accepts its own output ($out)" [ "$out" = "ACCEPT 4 entities" ]
done
finish
