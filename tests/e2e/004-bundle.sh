#!/bin/sh
# The compact trust bundle end to end: `fedtrust build` of a list with
# outputs saml-aggregate, bundle and mdq; every JWS verified by an
# independent implementation (latchset jose), tampering detected, head and
# bundle consistent, seq/prev chaining across builds, per-entity XML checked
# with xmlsec1 against the operator certificate and carried over unchanged
# on a steady build.
. "$top_srcdir/tests/tools/common.sh"

command -v jose > /dev/null 2>&1 || { echo "SKIP: jose not installed"; exit 77; }
command -v xmlsec1 > /dev/null 2>&1 || { echo "SKIP: xmlsec1 not installed"; exit 77; }

OPKEY=$PKI/operator-ec.key
OPCERT=$PKI/operator-ec.pem
mkdir -p "$T/etc/trustlists" "$T/feeds"
feed() {
	n=$1
	shift
	mkfeed --out "$T/feeds/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
		--entities "$n" --entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--valid-until +864000 "$@"
}
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
base-url     = https://cdn.example.org/fedtrust/
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $OPKEY
signing-cert = $OPCERT
CONF
cat > "$T/etc/trustlists/bundle.conf" <<CONF
[trustlist]
name          = partners
outputs       = saml-aggregate, bundle, mdq
saml-validity = 5d
bundle-validity = 1d
head-validity = 1h
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1; }

# payload of a compact JWS as JSON (no verification: for reading fields)
payload() { cut -d. -f2 "$1" | tr '_-' '/+' | "$PYTHON3" -c '
import sys, base64, json
s = sys.stdin.read().strip(); s += "=" * (-len(s) % 4)
print(json.dumps(json.loads(base64.b64decode(s))))'; }
# field FILE EXPR: EXPR evaluated over the payload p
field() { payload "$1" | "$PYTHON3" -c "import sys, json; p = json.load(sys.stdin); print($2)"; }
b64sha() { "$PYTHON3" -c '
import sys, hashlib, base64
print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode().rstrip("="))' "$1"; }
jose_ok() { jose jws ver -i "$1" -k "$T/op.jwk" > /dev/null 2>&1; }

feed 5 --prefix "https://sp%d.example.org/shibboleth"
build
rc=$?
check "fedtrust build publishes the bundle (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$T/build.out"
P=$T/publish/partners
for f in aggregate.xml head.jwt bundle.jwt keys.json; do
	check "$f published" [ -s "$P/$f" ]
done
"$PYTHON3" -c '
import json, sys
ks = json.load(open(sys.argv[1]))["keys"]
assert len(ks) == 1 and ks[0]["alg"] == "ES256" and len(ks[0]["kid"]) == 43 and "d" not in ks[0]
json.dump(ks[0], open(sys.argv[2], "w"))' "$P/keys.json" "$T/op.jwk"
check "keys.json holds the operator public key with alg and kid" [ -s "$T/op.jwk" ]

SEQ1=$(field "$P/bundle.jwt" 'p["seq"]')
check "bundles/$SEQ1.jwt equals bundle.jwt" cmp -s "$P/bundle.jwt" "$P/bundles/$SEQ1.jwt"
check "jose verifies the bundle" jose_ok "$P/bundle.jwt"
check "jose verifies the head" jose_ok "$P/head.jwt"
# a tampered payload (one entity id changed) must fail
"$PYTHON3" - "$P/bundle.jwt" "$T/tampered.jwt" <<'PY'
import sys, base64
h, p, s = open(sys.argv[1]).read().strip().split(".")
raw = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).replace(b"example.org", b"example.net")
p2 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
open(sys.argv[2], "w").write(".".join([h, p2, s]))
PY
check "jose refuses a tampered bundle" sh -c "! jose jws ver -i '$T/tampered.jwt' -k '$T/op.jwk' > /dev/null 2>&1"
hdr=$(cut -d. -f1 "$P/bundle.jwt" | tr '_-' '/+' | "$PYTHON3" -c '
import sys, base64; s = sys.stdin.read().strip(); s += "=" * (-len(s) % 4); print(base64.b64decode(s).decode())')
check "bundle header is alg/kid/typ only ($hdr)" sh -c "echo '$hdr' | grep -q '^{\"alg\":\"ES256\",\"kid\":\"[A-Za-z0-9_-]\{43\}\",\"typ\":\"vnd.fedtrust.bundle+jwt\"}\$'"
check "head bdig is the bundle's digest" [ "$(field "$P/head.jwt" 'p["bdig"]')" = "$(b64sha "$P/bundle.jwt")" ]
check "head blen is the bundle's length" [ "$(field "$P/head.jwt" 'p["blen"]')" = "$(wc -c < "$P/bundle.jwt" | tr -d ' ')" ]
check "head bexp is the bundle's exp" [ "$(field "$P/head.jwt" 'p["bexp"]')" = "$(field "$P/bundle.jwt" 'p["exp"]')" ]
check "head burl points at bundles/SEQ.jwt" [ "$(field "$P/head.jwt" 'p["burl"]')" = "https://cdn.example.org/fedtrust/partners/bundles/$SEQ1.jwt" ]
check "head lives 1h" [ "$(field "$P/head.jwt" 'p["exp"] - p["iat"]')" = 3600 ]
check "first bundle has no prev" [ "$(field "$P/bundle.jwt" 'p.get("prev", "none")')" = none ]
check "bundle lists the 5 entities" [ "$(field "$P/bundle.jwt" 'len(p["entities"])')" = 5 ]
check "entity keys carry jkt, x5t#S256, purposes, prov, no x5c (compact)" \
	[ "$(field "$P/bundle.jwt" 'sorted(p["entities"][0]["keys"][0])')" = "['e', 'jkt', 'kty', 'n', 'prov', 'purposes', 'x5t#S256']" ]

# per-entity lookups
id=$(field "$P/bundle.jwt" 'p["entities"][0]["id"]')
enc=$("$PYTHON3" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-._~"))' "$id")
sha1=$(printf '%s' "$id" | sha1sum | cut -d' ' -f1)
sha256=$(printf '%s' "$id" | sha256sum | cut -d' ' -f1)
check "entities/<percent-encoded id> exists" [ -s "$P/entities/$enc" ]
check "entities/{sha1} is the same document" cmp -s "$P/entities/$enc" "$P/entities/{sha1}$sha1"
check "xmlsec1 verifies the per-entity XML with the operator certificate" \
	xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
	--pubkey-cert-pem "$OPCERT" --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor \
	"$P/entities/$enc" > /dev/null 2>&1
check "jose verifies the entity JWS" jose_ok "$P/entities/{sha256}$sha256.jwt"
check "entity JWS carries exactly that entity" [ "$(field "$P/entities/{sha256}$sha256.jwt" 'p["entities"][0]["id"]')" = "$id" ]
check "entity JWKS lists its keys" [ "$("$PYTHON3" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["keys"]))' "$P/entities/{sha256}$sha256.jwks")" -ge 1 ]
n=0
for f in "$P"/entities/*.jwt; do jose_ok "$f" || n=$((n + 1)); done
check "every entity JWS verifies with jose ($n failed)" [ $n -eq 0 ]
cp "$P/entities/{sha1}$sha1" "$T/xml1"

# steady build: same feed bytes re-signed by the federation -> nothing to do or the XML is carried over
B1=$(b64sha "$P/bundle.jwt")
feed 5 --prefix "https://sp%d.example.org/shibboleth" --name changed
build
check "a rebuild of the same entities succeeds" [ $? -eq 0 ]
# one entity changed -> seq+1, prev chained
feed 6 --prefix "https://sp%d.example.org/shibboleth"
build
rc=$?
check "a build with an added entity publishes (exit $rc)" [ $rc -eq 0 ]
SEQ2=$(field "$P/bundle.jwt" 'p["seq"]')
check "seq grew ($SEQ1 -> $SEQ2)" [ "$SEQ2" -gt "$SEQ1" ]
if [ "$SEQ2" -eq $((SEQ1 + 1)) ]; then
	check "prev is the SHA-256 of the previous bundle" [ "$(field "$P/bundle.jwt" 'p["prev"]')" = "$B1" ]
fi
check "the unchanged entity's XML was carried over byte for byte" cmp -s "$T/xml1" "$P/entities/{sha1}$sha1"
check "the build reports carried-over entity documents" grep -q ' 1 signed, 5 carried over' "$T/build.out"
check "jose verifies the new bundle" jose_ok "$P/bundle.jwt"

# fail-closed: an unreadable next-key fails the bundle and the whole generation
cp "$P/bundle.jwt" "$T/live.jwt"
echo "next-key = $T/missing-next.pem" >> "$T/etc/fedtrust.conf"
feed 7 --prefix "https://sp%d.example.org/shibboleth"
build
rc=$?
check "a failing bundle output fails the build (exit $rc)" [ $rc -ne 0 ]
check "the previous generation stays live" cmp -s "$T/live.jwt" "$P/bundle.jwt"
check "the aggregate of the refused generation was not published" \
	[ "$(grep -c 'entityID=' "$P/aggregate.xml")" -eq 6 ]
finish
