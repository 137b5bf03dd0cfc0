#!/bin/sh
# Issue 4 "done": ONE trust list mixing a SAML feed (mkfeed.py), a mock
# OpenID Federation (mkoidf.py), a signed-jwks partner (a jwk-set+jwt made by
# mkoidf.py, anchored by its JWK Set) and an x509 partner (a client
# certificate issued at test time by the test CA) publishes one bundle, all
# over HTTPS on 127.0.0.1.  `fedtrust lookup` must answer for each kind
# (--id ID --proto saml2|oidf|oauth|x509, and --x5t for the x509 partner),
# and the SAML aggregate must hold the SAML entities only.
. "$top_srcdir/tests/tools/common.sh"

"$PYTHON3" -c 'import cryptography' 2> /dev/null || { echo "SKIP: python3 cryptography not installed"; exit 77; }
command -v xmlsec1 > /dev/null 2>&1 || { echo "SKIP: xmlsec1 not installed"; exit 77; }

LIST=mixed
mkdir -p "$T/www" "$T/etc/trustlists"
# the x509 partner: a TLS client certificate issued by the test CA (before
# NOW is taken: its notBefore is the time of issue)
openssl req -newkey rsa:2048 -nodes -keyout "$T/client.key" -out "$T/client.csr" \
	-subj "/CN=client.partner.example/O=Partner" > /dev/null 2>&1
printf 'subjectAltName=DNS:client.partner.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > "$T/client.ext"
openssl x509 -req -in "$T/client.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
	-CAserial "$T/ca.srl" -out "$T/www/client.pem" -days 30 -extfile "$T/client.ext" > /dev/null 2>&1 ||
	{ echo "cannot issue the client certificate"; exit 1; }

NOW=$(date +%s)

start_httpsd "$T/www" "$T/fed/routes.json"
BASE=https://127.0.0.1:$PORT

# the OpenID Federation and the signed-jwks partner (routes served from $T/fed)
"$PYTHON3" "$TOOLS/mkoidf.py" --port "$PORT" --now "$NOW" --out "$T/fed" ||
	{ echo "mkoidf.py failed"; exit 1; }
# the SAML feed: e0 idp, e1 sp, e2 idp+aa
mkfeed --out "$T/www/saml.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 3 \
	--prefix 'https://e%d.example.org/md' --entity-cert "$PKI/entity1.pem" \
	--entity-cert "$PKI/entity2.pem" --valid-until +864000 --now "$NOW"
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
ca-file      = $PKI/ca.pem
fetch-timeout = 10s
CONF
cat > "$T/etc/trustlists/$LIST.conf" <<CONF
[trustlist]
name    = $LIST
outputs = saml-aggregate, bundle

[source saml]
type   = saml
url    = $BASE/files/saml.xml
anchor = $PKI/signer.pem

[source fed]
type   = oidf
url    = $BASE/ta
anchor = $T/fed/anchor.jwks

[source jwkspartner]
type   = signed-jwks
url    = $BASE/partner/jwks.jwt
anchor = $T/fed/partner-anchor.jwks

[source tlspartner]
type = x509
url  = $BASE/files/client.pem
ca   = $PKI/ca.pem
CONF

"$FEDTRUST" build -c "$T/etc/fedtrust.conf" --at "$NOW" > "$T/out" 2>&1
rc=$?
check "mixed build exits 0 (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$T/out"
P=$T/publish/$LIST
check "one bundle published" [ -s "$P/bundle.jwt" ]
check "no source failed" sh -c "! grep -q 'source=$LIST/[a-z]* reason=' '$T/out'"
check "no entity dropped" sh -c "! grep -q 'dropped reason=' '$T/out'"
"$FEDTRUST" bundle verify --key "$P/keys.json" --issuer https://trust.example.org --list "$LIST" \
	--at "$NOW" "$P/bundle.jwt" > "$T/verify.out" 2>&1
check "fedtrust bundle verify: OK, 8 entities (3 saml2, 3 oidf, 1 oauth, 1 x509)" \
	grep -q '^OK seq=[0-9]* entities=8 ' "$T/verify.out"
"$FEDTRUST" bundle show "$P/bundle.jwt" > "$T/show" 2>&1
for s in "saml type=saml2" "fed type=oidf" "jwkspartner type=signed-jwks" "tlspartner type=x509"; do
	check "bundle show: source ${s% *} ${s#* } status=ok" grep -q "^  $s status=ok\$" "$T/show"
done

# lookup ARGS...: `fedtrust lookup` of the published bundle into $T/l, exit in $lrc
lookup() {
	"$FEDTRUST" lookup --bundle "$P/bundle.jwt" --key "$P/keys.json" \
		--issuer https://trust.example.org --list "$LIST" --at "$NOW" "$@" > "$T/l" 2>&1
	lrc=$?
}
has() { grep -q -- "$1" "$T/l"; }
sum() { "$PYTHON3" -c "import json, sys; s = json.load(open(sys.argv[1])); print($1)" "$T/fed/summary.json"; }
x5t() { openssl x509 -in "$1" -outform DER | "$PYTHON3" -c '
import sys, hashlib, base64
print(base64.urlsafe_b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode().rstrip("="))'; }

# SAML
lookup --id https://e0.example.org/md --proto saml2
check "saml2: e0 found (exit $lrc)" [ $lrc -eq 0 ]
check "saml2: e0 is an idp" has '^roles: idp$'
check "saml2: e0 signing key is entity1 (x5t#S256)" has "purposes=saml-sig x5t#S256=$(x5t "$PKI/entity1.pem")\$"
check "saml2: e0 encryption key is entity2 (x5t#S256)" has "purposes=saml-enc x5t#S256=$(x5t "$PKI/entity2.pem")\$"
lookup --id https://e1.example.org/md --proto saml2
check "saml2: e1 is an sp" has '^roles: sp$'
lookup --id https://e2.example.org/md --proto saml2
check "saml2: e2 is an idp and aa" sh -c "grep '^roles:' '$T/l' | tr ' ' '\n' | sort | tr '\n' ' ' | grep -q '^aa idp roles: \$'"

# OpenID Federation
OP=$(sum 's["ids"]["op"]')
RP=$(sum 's["ids"]["rp"]')
RP2=$(sum 's["ids"]["rp2"]')
lookup --id "$OP" --proto oidf
check "oidf: OP found (exit $lrc)" [ $lrc -eq 0 ]
check "oidf: OP is an openid_provider" has '^roles: openid_provider$'
check "oidf: OP scopes not restricted" has '^scopes: (not restricted)$'
for k in $(sum '" ".join(k["jkt"] + "," + k["kid"] for k in s["present"]["'"$OP"'"]["keys"])'); do
	check "oidf: OP key ${k#*,} (jkt ${k%,*})" has "^key: jkt=${k%,*} kid=${k#*,} "
done
check "oidf: OP has exactly 2 keys" [ "$(grep -c '^key: ' "$T/l")" -eq 2 ]
check "oidf: OP trust anchor" has "^ta: $BASE/ta\$"
check "oidf: OP path is the intermediate, then the TA" has "^path: $BASE/ia $BASE/ta\$"
lookup --id "$RP" --proto oidf
check "oidf: RP found (exit $lrc)" [ $lrc -eq 0 ]
check "oidf: RP is an openid_relying_party" has '^roles: openid_relying_party$'
check "oidf: RP scopes after policy" sh -c "grep '^scopes:' '$T/l' | tr ' ' '\n' | sort | tr '\n' ' ' | grep -q '^email openid profile scopes: \$'"
k=$(sum 's["present"]["'"$RP"'"]["keys"][0]["jkt"]')
check "oidf: RP key rp-sig-1 from its signed JWK Set" has "^key: jkt=$k kid=rp-sig-1 alg=ES256 purposes=jwt "
check "oidf: RP carries its verified trust mark" has "^tm: $(sum 's["tm_type"]') exp=[0-9TZ:-]*\$"
lookup --id "$RP2" --proto oidf
check "oidf: RP 2 found (exit $lrc)" [ $lrc -eq 0 ]
lookup --id "$(sum 's["ids"]["ia"]')" --proto oidf
check "oidf: the intermediate is not an entity (exit $lrc)" [ $lrc -eq 1 ]
lookup --id "$OP" --proto saml2
check "oidf: the OP is not a saml2 entity (exit $lrc)" [ $lrc -eq 1 ]

# signed-jwks partner
PARTNER=$(sum 's["partner"]["iss"]')
lookup --id "$PARTNER" --proto oauth
check "oauth: signed-jwks partner found (exit $lrc)" [ $lrc -eq 0 ]
check "oauth: partner is an oauth_client" has '^roles: oauth_client$'
for k in $(sum '" ".join(k["jkt"] + "," + k["kid"] + "," + k["purposes"][0] for k in s["partner"]["keys"])'); do
	kid=${k#*,}
	check "oauth: partner key ${kid%,*} (${k##*,})" has "^key: jkt=${k%%,*} kid=${kid%,*} .*purposes=${k##*,} "
done
check "oauth: partner has exactly 2 keys" [ "$(grep -c '^key: ' "$T/l")" -eq 2 ]

# x509 partner
CX5T=$(x5t "$T/www/client.pem")
lookup --id tlspartner --proto x509
check "x509: partner found by its source name (exit $lrc)" [ $lrc -eq 0 ]
check "x509: partner is a tls_client" has '^roles: tls_client$'
check "x509: its key is the client certificate, purpose mtls" has "purposes=mtls x5t#S256=$CX5T\$"
lookup --x5t "$CX5T"
check "x509: --x5t finds the partner (exit $lrc)" has '^id: tlspartner$'
lookup --x5t "$(x5t "$PKI/server.pem")"
check "x509: --x5t of another certificate of the same CA finds nothing (exit $lrc)" [ $lrc -eq 1 ]

# the SAML aggregate holds the SAML entities only
AGG=$P/aggregate.xml
check "aggregate verifies with xmlsec1 pinned to the operator certificate" xmlsec1_ok "$AGG" "$PKI/operator-ec.pem"
check "aggregate holds exactly e0, e1, e2" \
	[ "$(grep -o 'entityID="[^"]*"' "$AGG" | sort | tr '\n' ' ')" = 'entityID="https://e0.example.org/md" entityID="https://e1.example.org/md" entityID="https://e2.example.org/md" ' ]
check "aggregate names no OIDF, oauth or x509 entity" sh -c "! grep -q -e '127.0.0.1' -e tlspartner '$AGG'"
finish
