#!/bin/sh
# Run fedtrustd on the bundled demo trust list:
#   run-demo.sh WORKDIR
# makes demo keys, signs a 20-entity demo federation feed, writes a config in
# WORKDIR and runs fedtrustd in the foreground (Ctrl-C stops it).  With
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
sed -e "s|@FEED_URL@|file://$w/feeds/demo-federation.xml|" -e "s|@ANCHOR@|$w/pki/signer.pem|" \
	"$here/demo.conf.in" > "$w/trustlists/demo.conf"
cat > "$w/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.demo.example.org
state-dir    = $w/state
publish-dir  = $w/publish
trustlists   = trustlists
signing-key  = $w/pki/operator.key
signing-cert = $w/pki/operator.pem
CONF
"$build/src/fedtrustd" -n -c "$w/fedtrust.conf"
"$build/src/fedtrustd" -f -c "$w/fedtrust.conf" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
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
MSG
if [ -n "${DEMO_ONCE:-}" ]; then
	exit 0
fi
echo "Press Ctrl-C to stop."
wait $pid
