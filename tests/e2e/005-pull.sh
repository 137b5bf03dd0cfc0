#!/bin/sh
# The consumer agent end to end: `fedtrust build` publishes a full-variant
# bundle, a test HTTPS server serves it, `fedtrust pull --once` verifies it
# against the pinned operator key and writes the derived outputs.  Then:
# an unchanged poll (304) changes nothing; a new build is applied and runs
# the hook once; rollback, equivocation and fork raise their alarms and keep
# state and outputs; a tampered bundle and one signed by an unpinned key are
# refused; a sequence gap is accepted; past the expiry the outputs are
# emptied (fail closed) and a fresh poll restores them.  Attack documents
# are signed at test time with tests/unit/jws_tool.
. "$top_srcdir/tests/tools/common.sh"

JWS_TOOL=$top_builddir/tests/unit/jws_tool
[ -x "$JWS_TOOL" ] || { echo "SKIP: $JWS_TOOL not built"; exit 77; }

OPKEY=$PKI/operator-ec.key
LIST=research
mkdir -p "$T/etc/trustlists" "$T/feeds" "$T/www/$LIST" "$T/consumer"
openssl pkey -in "$OPKEY" -pubout -out "$T/consumer/operator.pub.pem" 2>/dev/null
feed() {
	mkfeed --out "$T/feeds/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
		--entities "$1" --entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--entity-cert "$PKI/entity3.pem" --valid-until +864000 --prefix 'https://sp%d.example.org/shibboleth'
}
start_httpsd "$T/www"
URL=https://127.0.0.1:$PORT/files/$LIST/
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
base-url     = https://127.0.0.1:$PORT/files/
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $OPKEY
CONF
cat > "$T/etc/trustlists/$LIST.conf" <<CONF
[trustlist]
name            = $LIST
outputs         = saml-aggregate, bundle
bundle-variant  = full
bundle-validity = 1d
head-validity   = 1h
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
cat > "$T/hook.sh" <<'HOOK'
#!/bin/sh
echo "$@" >> "$(dirname "$0")/hook.log"
HOOK
chmod +x "$T/hook.sh"
cat > "$T/consumer/pull.conf" <<CONF
[pull]
url         = $URL
issuer      = https://trust.example.org
list        = $LIST
key         = operator.pub.pem
state-dir   = state
output-dir  = out
ca-file     = $PKI/ca.pem
interval    = 5m
outputs     = pem, nginx-map, jwks, spiffe
reload-hook = $T/hook.sh reload
CONF
C=$T/consumer
OUT=$C/out
W=$T/www/$LIST

build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1; }
# copy the live generation to the served folder
serve() { rm -rf "$W" && cp -rL "$T/publish/$LIST" "$W"; }
pull() { "$FEDTRUST" pull -c "$C/pull.conf" --once "$@" > "$T/pull.out" 2>&1; }
hooks() { [ -f "$T/hook.log" ] && wc -l < "$T/hook.log" | tr -d ' ' || echo 0; }
state() { "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$C/state/state.json" "$1"; }
sums() { (cd "$OUT" && find . -type f | sort | xargs sha256sum) 2>/dev/null; }
payload() { cut -d. -f2 "$1" | "$PYTHON3" -c '
import sys, base64, json
s = sys.stdin.read().strip(); s += "=" * (-len(s) % 4)
print(json.dumps(json.loads(base64.urlsafe_b64decode(s))))'; }
b64sha() { "$PYTHON3" -c '
import sys, hashlib, base64
print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode().rstrip("="))' "$1"; }
sha1fp() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
x5t() { openssl x509 -in "$1" -outform DER | "$PYTHON3" -c '
import sys, hashlib, base64
print(base64.urlsafe_b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode().rstrip("="))'; }
# craft KEY NAME EXPR: re-sign the served bundle's payload changed by the
# Python statement EXPR (over p; seq, now available) as bundles/NAME.jwt,
# and a matching head, both with KEY; the served head points at it.
craft() {
	payload "$W/bundle.jwt" > "$T/p.json"
	"$PYTHON3" - "$T/p.json" "$3" <<'PY'
import json, sys, time
p = json.load(open(sys.argv[1]))
now = int(time.time())
exec(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(p, separators=(",", ":"), sort_keys=True))
PY
	"$JWS_TOOL" sign "$1" ES256 vnd.fedtrust.bundle+jwt "$T/p.json" "$W/bundles/$2.jwt" || return 1
	"$PYTHON3" - "$T/p.json" "$W/bundles/$2.jwt" "$URL" "$2" "$T/h.json" <<'PY'
import json, sys, time, hashlib, base64
p = json.load(open(sys.argv[1]))
b = open(sys.argv[2], "rb").read()
now = int(time.time())
h = {"iss": p["iss"], "list": p["list"], "iat": now, "exp": now + 3600, "seq": p["seq"],
     "bdig": base64.urlsafe_b64encode(hashlib.sha256(b).digest()).decode().rstrip("="),
     "blen": len(b), "bexp": p["exp"], "burl": sys.argv[3] + "bundles/" + sys.argv[4] + ".jwt"}
open(sys.argv[5], "w").write(json.dumps(h, separators=(",", ":"), sort_keys=True))
PY
	"$JWS_TOOL" sign "$1" ES256 vnd.fedtrust.bundle-head+jwt "$T/h.json" "$W/head.jwt"
}

# ---- first publication and first poll
feed 3
build
rc=$?
check "fedtrust build publishes the full-variant bundle (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { cat "$T/build.out"; finish; exit 1; }
serve
SEQ1=$(payload "$W/bundle.jwt" | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
payload "$W/bundle.jwt" | grep -q '"x5c"' && pass "x5c present in the payload" || fail "x5c present in the payload"

pull
rc=$?
check "first pull applies the bundle (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$T/pull.out"
check "state seq is the published seq ($SEQ1)" [ "$(state seq)" = "$SEQ1" ]
check "state bdig is the bundle's digest" [ "$(state bdig)" = "$(b64sha "$W/bundle.jwt")" ]
check "the raw bundle is kept in state-dir" cmp -s "$C/state/bundle.jwt" "$W/bundle.jwt"
check "the raw head is kept in state-dir" cmp -s "$C/state/head.jwt" "$W/head.jwt"
check "the hook ran once" [ "$(hooks)" = 1 ]
check "the hook got its argument (no shell)" grep -qx reload "$T/hook.log"
for i in 1 2 3; do
	fp=$(sha1fp "$PKI/entity$i.pem")
	check "nginx map holds entity$i's SHA-1 fingerprint" grep -q "^	$fp \"https://sp[0-9].example.org/shibboleth\";\$" "$OUT/nginx-map.conf"
	check "pem/index.json holds entity$i's x5t#S256" grep -q "\"$(x5t "$PKI/entity$i.pem")\"" "$OUT/pem/index.json"
done
check "nginx map has a default that admits nobody" grep -q 'default "";' "$OUT/nginx-map.conf"
check "nginx map lists 3 certificates" [ "$(grep -c '^	[0-9a-f]\{40\} ' "$OUT/nginx-map.conf")" = 3 ]
check "one PEM per entity, percent-encoded names" [ -s "$OUT/pem/https%3A%2F%2Fsp0.example.org%2Fshibboleth.pem" ] 
check "three PEM files" [ "$(ls "$OUT/pem" | grep -c '\.pem$')" = 3 ]
openssl x509 -in "$PKI/entity1.pem" -outform DER > "$T/e1.der"
openssl x509 -in "$OUT/pem/https%3A%2F%2Fsp0.example.org%2Fshibboleth.pem" -outform DER > "$T/p0.der" 2>/dev/null
check "the PEM of sp0 starts with its signing certificate (entity1)" cmp -s "$T/e1.der" "$T/p0.der"
check "index entries name id, proto and purposes" "$PYTHON3" -c '
import json, sys
ix = json.load(open(sys.argv[1]))
v = ix[sys.argv[2]]
assert any(e["id"].startswith("https://sp") and e["proto"] == "saml2" and "saml-sig" in e["purposes"] for e in v), v' \
	"$OUT/pem/index.json" "$(x5t "$PKI/entity1.pem")"
check "SAML-only bundle: no JWKS files" [ -z "$(ls "$OUT/jwks" 2>/dev/null)" ]
check "SAML-only bundle: empty SPIFFE bundle map" grep -qx '{"trust_domains":{}}' "$OUT/spiffe-bundle-map.json"
S1=$(sums)

# ---- unchanged poll
pull
rc=$?
check "an unchanged poll succeeds (exit $rc)" [ $rc -eq 0 ]
check "the head came back 304" grep -q "head.jwt HTTP/1.1 -> 304" "$T/httpsd.log"
check "an unchanged poll does not run the hook" [ "$(hooks)" = 1 ]
check "an unchanged poll leaves the outputs byte for byte" [ "$(sums)" = "$S1" ]

# ---- the network is down: the stored bundle still serves
mv "$W/head.jwt" "$W/head.away"
pull
rc=$?
mv "$W/head.away" "$W/head.jwt"
check "a failed fetch exits 1 ($rc)" [ $rc -eq 1 ]
check "a failed fetch keeps the outputs" [ "$(sums)" = "$S1" ]
check "a failed fetch does not run the hook" [ "$(hooks)" = 1 ]

# ---- a new build: seq + 1, outputs updated, hook once
cp "$W/head.jwt" "$T/old-head.jwt"
cp "$W/bundle.jwt" "$T/old-bundle.jwt"
feed 4
build
serve
SEQ2=$(state seq)
pull
rc=$?
check "the next bundle is applied (exit $rc)" [ $rc -eq 0 ]
check "state seq grew to $((SEQ1 + 1))" [ "$(state seq)" = "$((SEQ1 + 1))" ]
SEQ2=$(state seq)
check "the hook ran once more" [ "$(hooks)" = 2 ]
check "four PEM files" [ "$(ls "$OUT/pem" | grep -c '\.pem$')" = 4 ]
# 4 entities share the 3 certificates: nginx refuses duplicate keys, so one line each
check "nginx map lists each certificate once" [ "$(grep -c '^	[0-9a-f]\{40\} ' "$OUT/nginx-map.conf")" = 3 ]
S2=$(sums)
keep() { [ "$(state seq)" = "$SEQ2" ] && [ "$(sums)" = "$S2" ] && [ "$(hooks)" = 2 ]; }

# ---- rollback: the previous head/bundle pair served again
cp "$W/head.jwt" "$T/cur-head.jwt"
cp "$T/old-head.jwt" "$W/head.jwt"
cp "$T/old-bundle.jwt" "$W/bundle.jwt"
pull
rc=$?
check "rollback is refused (exit $rc)" [ $rc -eq 1 ]
check "rollback raises ALARM rollback" grep -q "ALARM rollback" "$T/pull.out"
check "rollback keeps state, outputs and skips the hook" keep
serve

# ---- equivocation: same seq, another bundle
craft "$OPKEY" eq 'p["iat"] = p["iat"] + 1; p["entities"] = p["entities"][:3]'
pull
rc=$?
check "equivocation is refused (exit $rc)" [ $rc -eq 1 ]
check "equivocation raises ALARM equivocation" grep -q "ALARM equivocation" "$T/pull.out"
check "equivocation keeps state, outputs and skips the hook" keep
serve

# ---- fork: seq + 1 whose prev is not the applied bundle
craft "$OPKEY" fork 'p["seq"] += 1; p["iat"] = now; p["prev"] = "A" * 43'
pull
rc=$?
check "a fork is refused (exit $rc)" [ $rc -eq 1 ]
check "a fork raises ALARM fork" grep -q "ALARM fork" "$T/pull.out"
check "a fork keeps state, outputs and skips the hook" keep
serve

# ---- tampered bundle: correctly announced by a signed head, payload changed after signing
craft "$OPKEY" tamper "p['seq'] += 1; p['iat'] = now; p['prev'] = '$(state bdig)'"
"$PYTHON3" - "$W/bundles/tamper.jwt" <<'PY'
import sys, base64
h, p, s = open(sys.argv[1]).read().strip().split(".")
raw = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).replace(b"sp1.example.org", b"sp1.example.net")
open(sys.argv[1], "w").write(".".join([h, base64.urlsafe_b64encode(raw).decode().rstrip("="), s]))
PY
"$PYTHON3" - "$T/h.json" "$W/bundles/tamper.jwt" <<'PY'
import json, sys, hashlib, base64
h = json.load(open(sys.argv[1])); b = open(sys.argv[2], "rb").read()
h["bdig"] = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).decode().rstrip("=")
h["blen"] = len(b)
open(sys.argv[1], "w").write(json.dumps(h))
PY
"$JWS_TOOL" sign "$OPKEY" ES256 vnd.fedtrust.bundle-head+jwt "$T/h.json" "$W/head.jwt"
pull
rc=$?
check "a tampered bundle is refused (exit $rc)" [ $rc -eq 1 ]
check "a tampered bundle fails its signature" grep -q "reason=jws-sig-invalid" "$T/pull.out"
check "a tampered bundle keeps state, outputs and skips the hook" keep
serve

# ---- a head and bundle signed by a key that is not pinned
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue.key" 2>/dev/null
craft "$T/rogue.key" rogue "p['seq'] += 1; p['iat'] = now; p['prev'] = '$(state bdig)'"
pull
rc=$?
check "an unpinned signer is refused (exit $rc)" [ $rc -eq 1 ]
check "an unpinned signer: unknown kid" grep -q "reason=jws-kid-unknown" "$T/pull.out"
check "an unpinned signer keeps state, outputs and skips the hook" keep
serve

# ---- a gap (seq + 3) is accepted
craft "$OPKEY" gap 'p["seq"] += 3; p["iat"] = now; p["prev"] = "A" * 43'
pull
rc=$?
check "a sequence gap is accepted (exit $rc)" [ $rc -eq 0 ]
check "state seq jumped to $((SEQ2 + 3))" [ "$(state seq)" = "$((SEQ2 + 3))" ]
check "same entities: outputs unchanged, no hook" sh -c "[ '$(sums)' = '$S2' ] && [ $(hooks) = 2 ]"

# ---- restart without network, then expiry: fail closed
NOW=$(date +%s)
pull --at $((NOW + 2 * 86400))
rc=$?
check "past the expiry the agent exits 1 ($rc)" [ $rc -eq 1 ]
check "expiry raises ALARM expired" grep -q "ALARM expired" "$T/pull.out"
check "expired: the nginx map admits nobody" [ "$(grep -c '^	[0-9a-f]\{40\} ' "$OUT/nginx-map.conf")" = 0 ]
check "expired: the map still parses (default present)" grep -q 'default "";' "$OUT/nginx-map.conf"
check "expired: no PEM left" [ "$(ls "$OUT/pem" | grep -c '\.pem$')" = 0 ]
check "expired: empty index" grep -qx '{}' "$OUT/pem/index.json"
check "expired: the hook ran" [ "$(hooks)" = 3 ]
check "expired: the state is kept" [ "$(state seq)" = "$((SEQ2 + 3))" ]
pull
rc=$?
check "back at the real time the stored bundle serves again (exit $rc)" [ $rc -eq 0 ]
check "outputs restored" [ "$(sums)" = "$S2" ]
check "restored: the hook ran" [ "$(hooks)" = 4 ]

# ---- configuration errors name file and line, exit 2
cp "$C/pull.conf" "$C/bad.conf"
echo "colour = blue" >> "$C/bad.conf"
"$FEDTRUST" pull -c "$C/bad.conf" --once > "$T/bad.out" 2>&1
rc=$?
check "an unknown key is a configuration error (exit $rc)" [ $rc -eq 2 ]
check "the error names file and line" grep -q "bad.conf:$(wc -l < "$C/bad.conf" | tr -d ' '): unknown key \"colour\"" "$T/bad.out"
finish
