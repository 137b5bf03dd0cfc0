#!/bin/sh
# Partner lifecycle through `fedtrust build`, the published bundle, `fedtrust
# pull` and the audit log: key hygiene (a weak key dropped, one key shared by
# two partners of two sources flagged, then rejected by policy), a rejected
# feed, an entity revocation that reaches `fedtrust pull` (revoked.json with
# the key thumbprint computed here independently), change reports and
# `fedtrust diff`, an approval that warns ahead and lapses at a set --at
# time, and audit lines that parse and carry the documented fields.
# (The admin commands against a running daemon: 013-source-commands.sh.)
. "$top_srcdir/tests/tools/common.sh"

LIST=partners
ISS=https://trust.example.org
mkdir -p "$T/etc/trustlists" "$T/feeds" "$T/www" "$T/consumer"
NOW=$(date -u +%s)
APPROVED=$(date -u -d "@$((NOW + 20 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
REVOKED_AT=$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ)

# Partner certificates (EC P-256) made here: k1..k9, each entity its own pair.
for i in 1 2 3 4 5 6 7 8 9; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 \
		-subj "/CN=partner-key-$i" -keyout "$T/k$i.key" -out "$T/k$i.pem" 2>/dev/null
done
# alpha: sp0 (k1,k2), sp1 (k3,k4), sp2 (k5,k6); beta: idp0 (k7,k8), idp1 (k1: shared
# with sp0, and k9); gamma: one SP with an RSA-1024 key; delta: signed by the wrong key.
mkfeed --out "$T/feeds/alpha.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 3 \
	--key-stride 2 --entity-cert "$T/k1.pem" --entity-cert "$T/k2.pem" --entity-cert "$T/k3.pem" \
	--entity-cert "$T/k4.pem" --entity-cert "$T/k5.pem" --entity-cert "$T/k6.pem" \
	--valid-until +2592000 --prefix 'https://sp%d.example.org/sp'
mkfeed --out "$T/feeds/beta.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 2 \
	--key-stride 2 --entity-cert "$T/k7.pem" --entity-cert "$T/k8.pem" --entity-cert "$T/k1.pem" \
	--entity-cert "$T/k9.pem" \
	--valid-until +2592000 --prefix 'https://idp%d.example.org/idp'
mkfeed --out "$T/feeds/gamma.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 1 \
	--entity-cert "$PKI/weak.pem" --valid-until +2592000 --prefix 'https://weak%d.example.org/sp'
mkfeed --out "$T/feeds/delta.xml" --key "$PKI/signer2.key" --cert "$PKI/signer2.pem" --entities 1 \
	--valid-until +2592000 --prefix 'https://forged%d.example.org/sp'

main_conf "$T/etc/fedtrust.conf" "audit-log    = $T/audit.log" "audit-syslog = no"
# write_list SHARED_POLICY [REVOKE_LINE]
write_list() {
	cat > "$T/etc/trustlists/$LIST.conf" <<CONF
; partners of the research gateway
[trustlist]
name            = $LIST
outputs         = saml-aggregate, bundle
bundle-validity = 1d
max-drop        = 10%
shared-keys     = $1

[source alpha]
type         = saml
url          = file://$T/feeds/alpha.xml
anchor       = $PKI/signer.pem
max-validity = 40d
${2:-}

[source beta]
type           = saml
url            = file://$T/feeds/beta.xml
anchor         = $PKI/signer.pem
max-validity   = 40d
owner          = idp-team@example.org
approved-until = $APPROVED

[source gamma]
type         = saml
url          = file://$T/feeds/gamma.xml
anchor       = $PKI/signer.pem
max-validity = 40d

[source delta]
type         = saml
url          = file://$T/feeds/delta.xml
anchor       = $PKI/signer.pem
max-validity = 40d
CONF
}

P=$T/publish/$LIST
build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" "$@" > "$T/build.out" 2>&1; }
# lookup ID [--at T]: exit status of `fedtrust lookup`, output in $T/l
lookup() {
	id=$1
	shift
	"$FEDTRUST" lookup --bundle "$P/bundle.jwt" --key "$P/keys.json" --issuer "$ISS" \
		--list "$LIST" --id "$id" --proto saml2 "$@" > "$T/l" 2>&1
}
found() { lookup "$@" && grep -q "^id: $1\$" "$T/l"; }
gone() { ! lookup "$@" && grep -q "^NOT FOUND" "$T/l"; }
payload() { cut -d. -f2 "$1" | "$PYTHON3" -c '
import sys, base64, json
s = sys.stdin.read().strip(); s += "=" * (-len(s) % 4)
print(json.dumps(json.loads(base64.urlsafe_b64decode(s))))'; }
seq_of() { payload "$P/bundle.jwt" | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["seq"])'; }
# audit_has EVENT PYTHON-CONDITION-over-e: some audit line of EVENT satisfies it
audit_has() {
	"$PYTHON3" - "$T/audit.log" "$1" "$2" <<'PY'
import json, sys
ok = False
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == sys.argv[2] and eval(sys.argv[3], {}, {"e": e}):
        ok = True
sys.exit(0 if ok else 1)
PY
}
# RFC 7638 thumbprint of a certificate's P-256 key, computed without fedtrust
jkt() {
	"$PYTHON3" - "$1" <<'PY'
import sys, json, hashlib, base64
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
n = c.public_key().public_numbers()
def b64(i):
    return base64.urlsafe_b64encode(i.to_bytes(32, "big")).decode().rstrip("=")
j = json.dumps({"crv": "P-256", "kty": "EC", "x": b64(n.x), "y": b64(n.y)},
               separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(j.encode()).digest()).decode().rstrip("="))
PY
}

# ---- 1. first publication: hygiene, rejection, audit
write_list warn
build
rc=$?
check "build publishes while one source is rejected (exit 1 = a source failed: $rc)" [ $rc -eq 1 ] && [ -s "$P/bundle.jwt" ]
[ -s "$P/bundle.jwt" ] || { cat "$T/build.out"; finish; exit 1; }
SEQ1=$(seq_of)
check "sp0 (shared key, policy warn) is published" found https://sp0.example.org/sp
check "idp1 (shared key, policy warn) is published" found https://idp1.example.org/idp
check "the RSA-1024 entity is left out" gone https://weak0.example.org/sp
check "build log: key-weak for the RSA-1024 entity" grep -q "weak0.example.org.*key-weak" "$T/build.out"
check "build log: the shared key names both partners" grep -q "sp0.example.org.*idp1.example.org\|idp1.example.org.*sp0.example.org" "$T/build.out"
check "audit: key-shared with both ids and both sources, policy warn" audit_has key-shared \
	'set(e["ids"]) >= {"https://sp0.example.org/sp", "https://idp1.example.org/idp"} and set(e["sources"]) == {"alpha", "beta"} and e["policy"] == "warn" and e["list"] == "partners" and len(e["spki"]) == 43'
check "audit: key-weak for gamma's entity" audit_has key-weak \
	'e["id"] == "https://weak0.example.org/sp" and e["source"] == "gamma" and e["proto"] == "saml2"'
check "audit: rejection of delta with sig-untrusted-key" audit_has rejection \
	'e["source"] == "delta" and e["reason"] == "sig-untrusted-key" and e["list"] == "partners"'
check "audit: publication with list, seq and the bundle digest" audit_has publication \
	"e['list'] == 'partners' and e['seq'] == $SEQ1 and len(e['bdig']) == 43"
check "audit: operator-key-used names the key and the artifacts" audit_has operator-key-used \
	"e['seq'] == $SEQ1 and len(e['kid']) == 43 and 'bundle.jwt' in e['artifacts']"
check "change report for the first publication" [ -s "$P/changes/$SEQ1.json" ]

# ---- 2. revoke one entity: gone from the bundle, listed, reaches fedtrust pull
write_list warn "revoke-entity = https://sp1.example.org/sp $REVOKED_AT key compromise reported (ticket 4711)"
build
SEQ2=$(seq_of)
check "a new generation after the revocation ($SEQ1 -> $SEQ2)" [ "$SEQ2" -gt "$SEQ1" ]
check "the revoked entity is not found" gone https://sp1.example.org/sp
check "lookup says REVOKED with the reason" grep -q "^REVOKED https://sp1.example.org/sp (saml2) at .*ticket 4711" "$T/l"
check "the other entities of the source stay" found https://sp2.example.org/sp
check "the mass-drop guard does not count a revocation (1 of 5 is over max-drop)" \
	sh -c '! grep -q mass-drop "$1"' _ "$T/build.out"
JKT2=$(jkt "$T/k3.pem")
payload "$P/bundle.jwt" > "$T/p2.json"
check "the bundle lists the revocation with the key's RFC 7638 thumbprint" "$PYTHON3" -c '
import json, sys
p = json.load(open(sys.argv[1]))
r = [x for x in p["revoked"] if x["id"] == "https://sp1.example.org/sp"]
assert len(r) == 1 and r[0]["proto"] == "saml2" and r[0]["src"] == "alpha", r
assert sys.argv[2] in r[0]["jkt"] and len(r[0]["jkt"]) == 2 and len(r[0]["x5t#S256"]) == 2, r
assert r[0]["reason"].startswith("key compromise"), r' "$T/p2.json" "$JKT2"
check "audit: revocation event" audit_has revocation \
	'e["source"] == "alpha" and e["id"] == "https://sp1.example.org/sp" and "4711" in e["reason"]'
check "audit: entity-removed with reason revoked" audit_has entity-removed \
	"e['id'] == 'https://sp1.example.org/sp' and e['reason'] == 'revoked' and e['seq'] == $SEQ2"
check "change report: sp1 removed, reason revoked" "$PYTHON3" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert any(x["id"] == "https://sp1.example.org/sp" and x["reason"] == "revoked" for x in r["removed"]), r' "$P/changes/$SEQ2.json"
"$FEDTRUST" diff -c "$T/etc/fedtrust.conf" --list "$LIST" "$SEQ1" "$SEQ2" > "$T/diff.out" 2>&1
rc=$?
check "fedtrust diff $SEQ1 $SEQ2 exits 0 ($rc)" [ $rc -eq 0 ]
check "fedtrust diff says sp1 was removed because it was revoked" grep -q "removed https://sp1.example.org/sp.*revoked" "$T/diff.out"

# the consumer: serve the live generation over HTTPS, pull once
cp -rL "$P" "$T/www/$LIST"
start_httpsd "$T/www"
openssl pkey -in "$PKI/operator-ec.key" -pubout -out "$T/consumer/operator.pub.pem" 2>/dev/null
cat > "$T/consumer/pull.conf" <<CONF
[pull]
url         = https://127.0.0.1:$PORT/files/$LIST/
issuer      = $ISS
list        = $LIST
key         = operator.pub.pem
state-dir   = state
output-dir  = out
ca-file     = $PKI/ca.pem
outputs     = pem
CONF
"$FEDTRUST" pull -c "$T/consumer/pull.conf" --once > "$T/pull.out" 2>&1
rc=$?
check "fedtrust pull applies the bundle (exit $rc)" [ $rc -eq 0 ]
check "fedtrust pull logs the revocation" grep -q "revoked https://sp1.example.org/sp (saml2)" "$T/pull.out"
check "fedtrust pull writes revoked.json with the thumbprint" "$PYTHON3" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["id"] for x in r] == ["https://sp1.example.org/sp"] and sys.argv[2] in r[0]["jkt"], r' \
	"$T/consumer/out/revoked.json" "$JKT2"

# ---- 3. shared-keys = reject: both partners using the key leave (2 of 4: --force)
write_list reject "revoke-entity = https://sp1.example.org/sp $REVOKED_AT key compromise reported (ticket 4711)"
build
check "shared-keys = reject trips the mass-drop guard first" grep -q "reason=mass-drop" "$T/build.out"
build --force
check "shared-keys = reject: sp0 left out" gone https://sp0.example.org/sp
check "shared-keys = reject: idp1 left out" gone https://idp1.example.org/idp
check "shared-keys = reject: idp0 (own key) stays" found https://idp0.example.org/idp
check "build log: key-shared drops" grep -q "reason=key-shared" "$T/build.out"

# ---- 4. approval: warned ahead, lapses at the set time
write_list warn "revoke-entity = https://sp1.example.org/sp $REVOKED_AT key compromise reported (ticket 4711)"
AT1=$((NOW + 10 * 86400))
build --at "$AT1"
check "10 days before approved-until: beta still published" found https://idp0.example.org/idp --at "$AT1"
check "build log warns that the approval ends" grep -q "source=beta: approval ends" "$T/build.out"
check "audit: approval-expiring with owner and days_left" audit_has approval-expiring \
	'e["source"] == "beta" and e["owner"] == "idp-team@example.org" and 9 <= e["days_left"] <= 11'
AT2=$((NOW + 25 * 86400))
build --at "$AT2"
check "after approved-until: beta's entities are gone" gone https://idp0.example.org/idp --at "$AT2"
check "after approved-until: alpha stays" found https://sp2.example.org/sp --at "$AT2"
check "build log: approval-expired" grep -q "reason=approval-expired" "$T/build.out"
check "audit: approval-expired" audit_has approval-expired 'e["source"] == "beta" and e["list"] == "partners"'
payload "$P/bundle.jwt" > "$T/p4.json"
check "the revocation is still listed 25 days later" grep -q '"id": "https://sp1.example.org/sp"' "$T/p4.json"

# ---- 5. every audit line parses and carries the common fields
check "every audit line is JSON with ts, event, severity, host and pid" "$PYTHON3" -c '
import json, sys, re
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["ts"]), e
    assert e["severity"] in ("info", "warning", "alert"), e
    assert isinstance(e["event"], str) and e["host"] and isinstance(e["pid"], int), e
    n += 1
assert n >= 10, n' "$T/audit.log"
check "audit log is not world-readable" [ "$(stat -c %a "$T/audit.log")" = 600 ]
finish
