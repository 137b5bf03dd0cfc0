#!/bin/sh
# The README's demo: fedtrustd starts on the bundled demo trust list, publishes
# a signed aggregate of the 20 demo entities, and stops cleanly.
. "$top_srcdir/tests/tools/common.sh"

# a free port for the demo's HTTP server
port=$("$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEMO_PORT=$port DEMO_ONCE=1 top_builddir=$top_builddir sh "$top_srcdir/trustlists/demo/run-demo.sh" "$T/demo" > "$T/out" 2>&1
rc=$?
check "demo runs and publishes (exit $rc)" [ $rc -eq 0 ]
AGG=$T/demo/publish/demo/aggregate.xml
check "demo aggregate verifies with xmlsec1" xmlsec1_ok "$AGG" "$T/demo/pki/operator.pem"
n=$(grep -o 'entityID="[^"]*"' "$AGG" | sort -u | wc -l)
check "demo aggregate holds 20 entities (got $n)" [ "$n" -eq 20 ]
check "fedtrustd -n accepted the demo config" grep -q 'configuration OK' "$T/out"
check "fedtrustd logged the publication" grep -q 'list=demo: published generation 1 with 23 entities' "$T/out"
check "the demo OpenID Federation gave 3 entities" grep -q 'source=demo/demo-oidf: accepted 3 entities' "$T/out"
OPORT=$(cat "$T/demo/oidf-port")
check "the demo RP is in the bundle, with its trust anchor and trust mark" sh -c "
    '$FEDTRUST' lookup --bundle '$T/demo/served/bundle.jwt' --key '$T/demo/publish/demo/keys.json' \
        --issuer https://trust.demo.example.org --list demo --id https://127.0.0.1:$OPORT/rp \
        --proto oidf > '$T/rp.out' &&
    grep -q '^ta: https://127.0.0.1:$OPORT/ta' '$T/rp.out' && grep -q '^tm: ' '$T/rp.out'"
S=$T/demo/served
check "fedtrustd served /healthz ok" grep -q '^ok' "$S/healthz"
check "the served bundle verifies and matches the served head" \
    "$FEDTRUST" bundle verify --key "$T/demo/publish/demo/keys.json" \
    --issuer https://trust.demo.example.org --list demo "$S/bundle.jwt"
check "the served entity is demo1's signed EntityDescriptor" \
    grep -q 'entityID="https://demo1.example.org/saml"' "$S/entity.xml"
check "the served entity verifies with xmlsec1" \
    xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
    --pubkey-cert-pem "$T/demo/pki/operator.pem" \
    --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor "$S/entity.xml"
finish
