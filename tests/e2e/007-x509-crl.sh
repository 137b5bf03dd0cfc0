#!/bin/sh
# X.509 partners end to end: a partner registered by its client certificate
# and one registered by its issuing CA, both under a partner root whose CRL
# is served over HTTPS (crl-url) beside a SAML feed.  `fedtrust build`
# publishes them in the bundle and `fedtrust lookup --x5t` finds the client
# certificate; after the root revokes it and publishes a new CRL, the next
# build drops the partner (chain-revoked) while the others stay.  A CRL
# signed by another CA and an expired CRL are refused with chain-crl-invalid.
. "$top_srcdir/tests/tools/common.sh"

NOW=$(date +%s)
CA=$T/ca
mkdir -p "$T/www" "$T/etc/trustlists" "$CA/db"
o() {
	if ! openssl "$@" > "$T/openssl.log" 2>&1; then
		echo "openssl $* failed:"; cat "$T/openssl.log"; exit 1
	fi
}

# ---- the partner PKI: a root with an openssl ca database, so that it can revoke
: > "$CA/db/index.txt"
echo 1000 > "$CA/db/serial"
echo 1000 > "$CA/db/crlnumber"
cat > "$CA/ca.cnf" <<CNF
[ca]
default_ca = root
[root]
dir = $CA/db
database = $CA/db/index.txt
serial = $CA/db/serial
crlnumber = $CA/db/crlnumber
new_certs_dir = $CA/db
certificate = $CA/root.pem
private_key = $CA/root.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
[subca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
CNF
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CA/root.key"
o req -x509 -new -key "$CA/root.key" -out "$CA/root.pem" -days 3650 \
	-subj "/CN=Partner Root CA/O=Partner Network" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
# partner A: registered by its client certificate
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CA/a.key"
o req -new -key "$CA/a.key" -out "$CA/a.csr" -subj "/CN=client.partner-a.example/O=Partner A" \
	-addext "subjectAltName=DNS:client.partner-a.example"
o ca -batch -config "$CA/ca.cnf" -extensions client -in "$CA/a.csr" -out "$T/www/partner-a.pem" -notext
# partner B: registered by the CA that issues its client certificates
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CA/b.key"
o req -new -key "$CA/b.key" -out "$CA/b.csr" -subj "/CN=Partner B Issuing CA/O=Partner B"
o ca -batch -config "$CA/ca.cnf" -extensions subca -in "$CA/b.csr" -out "$T/www/partner-b.pem" -notext
o ca -config "$CA/ca.cnf" -gencrl -out "$T/www/root.crl"
# a CRL under the root's name from a look-alike key (a forgery)
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CA/fake.key"
o req -x509 -new -key "$CA/fake.key" -out "$CA/fake.pem" -days 30 \
	-subj "/CN=Partner Root CA/O=Partner Network"
sed -e "s|$CA/root.pem|$CA/fake.pem|" -e "s|$CA/root.key|$CA/fake.key|" "$CA/ca.cnf" > "$CA/fake.cnf"

# x5t#S256 of a PEM certificate: base64url SHA-256 of its DER
x5t() { openssl x509 -in "$1" -outform DER | "$PYTHON3" -c '
import sys, hashlib, base64
print(base64.urlsafe_b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode().rstrip("="))'; }
X5T_A=$(x5t "$T/www/partner-a.pem")
X5T_B=$(x5t "$T/www/partner-b.pem")

# ---- a SAML feed beside them, so that dropping one partner is not a mass drop
mkfeed --out "$T/www/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 3 \
	--entity-cert "$PKI/entity1.pem" --valid-until +1728000 --now "$NOW"
start_httpsd "$T/www"
URL=https://127.0.0.1:$PORT/files

cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
ca-file      = $PKI/ca.pem
fetch-timeout = 20s
CONF
# Five entities: dropping one is 20 %, inside max-drop.
cat > "$T/etc/trustlists/partners.conf" <<CONF
[trustlist]
name            = partners
outputs         = bundle
bundle-validity = 1d
head-validity   = 1h
max-drop        = 30%

[source feed]
type   = saml
url    = $URL/feed.xml
anchor = $PKI/signer.pem

[source partner-a]
type        = x509
url         = $URL/partner-a.pem
ca          = $CA/root.pem
crl-url     = $URL/root.crl
entity-id   = https://partner-a.example/client
roles       = tls_client
signer-name = client.partner-a.example

[source partner-b]
type      = x509
url       = $URL/partner-b.pem
ca        = $CA/root.pem
crl-url   = $URL/root.crl
roles     = tls_client, tls_server
tls-client-auth-san-dns = api.partner-b.example, batch.partner-b.example
CONF
P=$T/publish/partners
build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" "$@" > "$T/build.out" 2>&1; }
lookup() {
	"$FEDTRUST" lookup --bundle "$P/bundle.jwt" --key "$P/keys.json" \
		--issuer https://trust.example.org --list partners "$@" > "$T/lookup.out" 2>&1
}
# field EXPR: EXPR over the (unverified) bundle payload p; lookup verified it already
field() { cut -d. -f2 "$P/bundle.jwt" | "$PYTHON3" -c "
import sys, base64, json
s = sys.stdin.read().strip(); s += '=' * (-len(s) % 4)
p = json.loads(base64.urlsafe_b64decode(s))
ents = {(e['id'], e['proto']): e for e in p['entities']}
print($1)"; }

# 1. both partners verified and published
build; rc=$?
check "first build publishes (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$T/build.out"
lookup --x5t "$X5T_A"; rc=$?
check "lookup --x5t finds partner A (exit $rc)" [ $rc -eq 0 ]
check "partner A: its entity-id" grep -qx 'id: https://partner-a.example/client' "$T/lookup.out"
check "partner A: proto x509" grep -qx 'proto: x509' "$T/lookup.out"
check "partner A: role tls_client" grep -qx 'roles: tls_client' "$T/lookup.out"
check "partner A: an mtls key with the certificate's x5t#S256" \
	grep -q "purposes=mtls x5t#S256=$X5T_A\$" "$T/lookup.out"
# valid_until is bounded by the CRL's nextUpdate (7 days), not the certificate (1 year);
# lookup shows it capped by the bundle's exp (1 day), the payload has it as it is
NEXT=$(date -u -d "$(openssl crl -in "$T/www/root.crl" -noout -nextupdate | cut -d= -f2)" +%s)
check "partner A: valid_until in the bundle is the CRL's nextUpdate ($NEXT)" \
	[ "$(field "ents[('https://partner-a.example/client', 'x509')]['valid_until']")" = "$NEXT" ]
[ $NFAIL -eq 0 ] || cat "$T/lookup.out"
lookup --id partner-b --proto x509; rc=$?
check "lookup --id partner-b --proto x509 finds partner B (exit $rc)" [ $rc -eq 0 ]
check "partner B: a ca key with its x5t#S256" grep -q "purposes=ca x5t#S256=$X5T_B\$" "$T/lookup.out"
check "partner B: roles tls_client and tls_server" \
	grep -qx 'roles: tls_client tls_server' "$T/lookup.out"
check "partner B: names in the bundle" \
	[ "$(field "ents[('partner-b', 'x509')].get('names')")" = "{'san_dns': ['api.partner-b.example', 'batch.partner-b.example']}" ]
check "the SAML feed's entities are there too" [ "$(field "len(p['entities'])")" = 5 ]

# 2. the root revokes partner A's certificate and publishes a new CRL
sleep 1	# a strictly later lastUpdate/nextUpdate than the CRL stored by the first build
o ca -config "$CA/ca.cnf" -revoke "$T/www/partner-a.pem"
o ca -config "$CA/ca.cnf" -gencrl -out "$T/www/root.crl"
build; rc=$?
check "the build after the revocation ran (exit $rc)" [ $rc -le 1 ]
check "the log names partner A and chain-revoked" \
	grep -q 'source=partners/partner-a reason=chain-revoked' "$T/build.out"
lookup --x5t "$X5T_A"; rc=$?
check "partner A is gone from the bundle (exit $rc)" [ $rc -eq 1 ]
check "lookup says NOT FOUND" grep -q '^NOT FOUND' "$T/lookup.out"
lookup --x5t "$X5T_B"; rc=$?
check "partner B stays (exit $rc)" [ $rc -eq 0 ]
check "the bundle holds the 4 others" [ "$(field "len(p['entities'])")" = 4 ]

# 3. a CRL forged under the root's name is refused; the stored one stays in use
cp "$T/www/root.crl" "$T/root-good.crl"
o ca -config "$CA/fake.cnf" -gencrl -out "$T/www/root.crl"
build; rc=$?
check "forged CRL: refused with chain-crl-invalid" \
	grep -q 'source=partners/partner-b reason=chain-crl-invalid' "$T/build.out"
lookup --x5t "$X5T_B"; rc=$?
check "forged CRL: partner B still verified with the stored CRL (exit $rc)" [ $rc -eq 0 ]
cp "$T/root-good.crl" "$T/www/root.crl"

# 4. once the CRL is past its nextUpdate nothing vouches for partner B
build --at $((NOW + 8 * 86400)); rc=$?
check "expired CRL: chain-crl-invalid logged for partner B" \
	grep -q 'source=partners/partner-b reason=chain-crl-invalid' "$T/build.out"
lookup --x5t "$X5T_B" --at $((NOW + 8 * 86400)); rc=$?
check "expired CRL: partner B is not in the bundle (exit $rc)" [ $rc -eq 1 ]
finish
