# Sourced after common.sh: a one-list config with a file:// SAML source signed
# at test time, built with `fedtrust build`.
#   make_fixture OPKEY OPCERT N   -> $AGG is the published aggregate
make_fixture() {
	opkey=$1 opcert=$2 n=$3
	mkdir -p "$T/etc/trustlists" "$T/feeds"
	mkfeed --out "$T/feeds/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$n" \
		--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" --valid-until +864000
	cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $opkey
signing-cert = $opcert
CONF
	cat > "$T/etc/trustlists/interop.conf" <<CONF
[trustlist]
name          = interop
saml-validity = 5d
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
	rm -rf "$T/state" "$T/publish"
	"$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1 || { cat "$T/build.out"; return 1; }
	AGG=$T/publish/interop/aggregate.xml
}
