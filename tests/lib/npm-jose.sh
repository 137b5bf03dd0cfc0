#!/bin/sh
# Interop: every bundle, head and entity JWS that `fedtrust build` publishes
# verifies with the npm `jose` package (Ed25519 included, which Debian's jose
# command lacks), and a tampered copy does not.  The package is installed
# into the build tree from the npm registry at test time.
. "$top_srcdir/tests/tools/common.sh"

command -v node > /dev/null 2>&1 && command -v npm > /dev/null 2>&1 ||
	{ echo "SKIP: node/npm not installed"; exit 77; }
NPM=$top_builddir/tests/tmp/npm-jose
if [ ! -f "$NPM/node_modules/jose/package.json" ]; then
	mkdir -p "$NPM"
	(cd "$NPM" && npm init -y > /dev/null 2>&1 &&
	    timeout 300 npm install --no-audit --no-fund --silent jose@6 > npm.log 2>&1) ||
		{ echo "SKIP: npm install jose failed"; cat "$NPM/npm.log"; exit 77; }
fi
cp "$top_srcdir/tests/lib/npm-verify.mjs" "$NPM/verify.mjs"
verify() { node "$NPM/verify.mjs" "$@"; }

mkdir -p "$T/etc/trustlists" "$T/feeds"
mkfeed --out "$T/feeds/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 4 \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" --valid-until +864000
# build KEY OUTPUTS: one list "npm" signed with KEY
build() {
	cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state-$1
publish-dir  = $T/publish-$1
trustlists   = trustlists
signing-key  = $T/$1.key
CONF
	[ -f "$T/$1.crt" ] && echo "signing-cert = $T/$1.crt" >> "$T/etc/fedtrust.conf"
	cat > "$T/etc/trustlists/npm.conf" <<CONF
[trustlist]
name    = npm
outputs = $2
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
	"$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build-$1.out" 2>&1
}

# ES256 with every output: bundle, head and the entity JWS of each entity
cp "$PKI/operator-ec.key" "$T/es256.key"
cp "$PKI/operator-ec.pem" "$T/es256.crt"
build es256 "saml-aggregate, bundle, mdq"
check "ES256 build publishes" [ $? -eq 0 ]
P=$T/publish-es256/npm
set -- "$P/keys.json" vnd.fedtrust.bundle+jwt "$P/bundle.jwt" vnd.fedtrust.bundle-head+jwt "$P/head.jwt"
for e in "$P"/entities/*.jwt; do set -- "$@" vnd.fedtrust.entity+jwt "$e"; done
check "ES256: npm jose verifies bundle, head and $(($# / 2 - 2)) entity JWS" verify "$@"
# Ed25519 (RFC 9864 name "Ed25519"): the bundle alone, SAML outputs need RSA or EC
"$FEDTRUST" keygen --alg Ed25519 --out "$T/ed25519.key" > /dev/null
build ed25519 "bundle"
check "Ed25519 build publishes" [ $? -eq 0 ]
P=$T/publish-ed25519/npm
check "Ed25519 header alg is Ed25519" sh -c "cut -d. -f1 '$P/bundle.jwt' | tr '_-' '/+' | base64 -d 2>/dev/null | grep -q '\"alg\":\"Ed25519\"'"
check "Ed25519: npm jose verifies bundle and head" \
	verify "$P/keys.json" vnd.fedtrust.bundle+jwt "$P/bundle.jwt" vnd.fedtrust.bundle-head+jwt "$P/head.jwt"
# tampering: one payload character changed
awk -F. '{ p = $2; c = substr(p, 10, 1); r = (c == "A") ? "B" : "A"; print $1 "." substr(p, 1, 9) r substr(p, 11) "." $3 }' \
	"$P/bundle.jwt" > "$T/tampered.jwt"
node "$NPM/verify.mjs" "$P/keys.json" vnd.fedtrust.bundle+jwt "$T/tampered.jwt" > "$T/tampered.out" 2>&1
rc=$?
check "tampered bundle refused by npm jose (exit $rc)" [ $rc -eq 1 ]
check "refused for its signature" grep -q 'FAIL .*signature verification failed' "$T/tampered.out"
finish
