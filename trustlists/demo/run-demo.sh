#!/bin/sh
# Run fedtrustd on the bundled demo trust list:
#   run-demo.sh WORKDIR
# makes demo keys, signs a 20-entity demo SAML federation feed and a small
# OpenID Federation (served over HTTPS on 127.0.0.1), writes a config in
# WORKDIR and runs fedtrustd in the foreground, serving on 127.0.0.1:8080
# (DEMO_PORT) (Ctrl-C stops it).  With
# DEMO_ONCE=1 it stops after the first published generation (used by the tests).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
w=$1
mkdir -p "$w/pki" "$w/feeds" "$w/trustlists"
w=$(cd "$w" && pwd)
sh "$top/tests/tools/mkpki.sh" "$w/pki"
python3 "$top/tests/tools/mkfeed.py" --out "$w/feeds/demo-federation.xml" \
	--key "$w/pki/signer.key" --cert "$w/pki/signer.pem" --entities 20 --valid-until +864000 \
	--entity-cert "$w/pki/entity1.pem" --entity-cert "$w/pki/entity2.pem" \
	--prefix 'https://demo%d.example.org/saml' --name 'urn:demo:federation'
# a small OpenID Federation (trust anchor, intermediate, OP, RPs, trust-mark
# issuer), signed with python3 cryptography and served over HTTPS on loopback
# with the demo's own CA
rm -f "$w/oidf-port"
python3 "$top/tests/tools/httpsd.py" --cert "$w/pki/server.pem" --key "$w/pki/server.key" \
	--root "$w/feeds" --routes "$w/oidf/routes.json" --port-file "$w/oidf-port" \
	--lifetime 31536000 > "$w/httpsd.log" 2>&1 &
oidf_pid=$!
i=0
while [ ! -s "$w/oidf-port" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "run-demo: the demo federation's server did not start" >&2; exit 1; }
	sleep 0.1
done
oport=$(cat "$w/oidf-port")
python3 "$top/tests/tools/mkoidf.py" --port "$oport" --out "$w/oidf" > /dev/null
sed -e "s|@FEED_URL@|file://$w/feeds/demo-federation.xml|" -e "s|@ANCHOR@|$w/pki/signer.pem|" \
	-e "s|@TA@|https://127.0.0.1:$oport/ta|" -e "s|@TA_ANCHOR@|$w/oidf/anchor.jwks|" \
	-e "s|@CA@|$w/pki/ca.pem|" "$here/demo.conf.in" > "$w/trustlists/demo.conf"
port=${DEMO_PORT:-8080}
cat > "$w/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.demo.example.org
state-dir    = $w/state
publish-dir  = $w/publish
trustlists   = trustlists
signing-key  = $w/pki/operator.key
signing-cert = $w/pki/operator.pem
listen       = 127.0.0.1:$port
CONF
"$build/src/fedtrustd" -n -c "$w/fedtrust.conf"
"$build/src/fedtrustd" -f -c "$w/fedtrust.conf" &
pid=$!
trap 'kill $pid $oidf_pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
i=0
while [ ! -f "$w/publish/demo/aggregate.xml" ]; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "run-demo: fedtrustd published nothing" >&2
		exit 1
	fi
	sleep 0.1
done
cat <<MSG

fedtrustd is running on the demo trust list (pid $pid).
  published aggregate: $w/publish/demo/aggregate.xml
  check it yourself:   xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \\
                         --pubkey-cert-pem $w/pki/operator.pem \\
                         --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor \\
                         $w/publish/demo/aggregate.xml

  served over HTTP by fedtrustd itself:
    curl -s http://127.0.0.1:$port/demo/head.jwt
    curl -s http://127.0.0.1:$port/demo/bundle.jwt | $build/src/fedtrust bundle show /dev/stdin
    curl -s -H 'Accept: application/samlmetadata+xml' \\
         http://127.0.0.1:$port/demo/entities/https%3A%2F%2Fdemo1.example.org%2Fsaml
    curl -s http://127.0.0.1:$port/metrics; curl -s http://127.0.0.1:$port/healthz
  an OpenID Federation relying party of the demo, from the verified bundle:
    $build/src/fedtrust lookup --bundle $w/publish/demo/bundle.jwt \\
         --key $w/publish/demo/keys.json --issuer https://trust.demo.example.org --list demo \\
         --id https://127.0.0.1:$oport/rp --proto oidf
MSG
if [ -n "${DEMO_ONCE:-}" ]; then
	# the tests: what the server answers, saved for them to check
	mkdir -p "$w/served"
	curl -sf "http://127.0.0.1:$port/demo/head.jwt" > "$w/served/head.jwt" &&
	curl -sf "http://127.0.0.1:$port/demo/bundle.jwt" > "$w/served/bundle.jwt" &&
	curl -sf -H 'Accept: application/samlmetadata+xml' \
	    "http://127.0.0.1:$port/demo/entities/https%3A%2F%2Fdemo1.example.org%2Fsaml" \
	    > "$w/served/entity.xml" &&
	curl -sf "http://127.0.0.1:$port/healthz" > "$w/served/healthz"
	exit $?
fi
echo "Press Ctrl-C to stop."
wait $pid
