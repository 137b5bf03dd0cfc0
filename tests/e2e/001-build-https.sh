#!/bin/sh
# End to end: feeds signed at test time, served over HTTPS on 127.0.0.1 with a
# test CA, `fedtrust build`, then checks of what was published and of how
# failures keep the last good data live.
. "$top_srcdir/tests/tools/common.sh"

NOW=$(date +%s)
mkdir -p "$T/www" "$T/etc/trustlists"
# Feed a: 5 entities (e0..e4), signed by signer; feed b: e3 and b0..b1, signed by signer2.
mkfeed --out "$T/www/a.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 5 \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" --valid-until +864000 --now "$NOW"
cp "$T/www/a.xml" "$T/a-good.xml"
mkfeed --out "$T/www/b.xml" --key "$PKI/signer2.key" --cert "$PKI/signer2.pem" --entities 2 \
	--prefix 'https://b%d.example.org/md' --entity-cert "$PKI/entity3.pem" --valid-until +864000 --now "$NOW"
start_httpsd "$T/www"

cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer      = https://trust.example.org
state-dir   = $T/state
publish-dir = $T/publish
trustlists  = trustlists
signing-key = $PKI/operator.key
signing-cert = $PKI/operator.pem
ca-file     = $PKI/ca.pem
fetch-timeout = 20s
CONF
cat > "$T/etc/trustlists/research.conf" <<CONF
[trustlist]
name          = research
saml-validity = 4d
max-drop      = 30%

[source a]
type     = saml
url      = https://127.0.0.1:$PORT/files/a.xml
anchor   = $PKI/signer.pem
priority = 1

[source b]
type     = saml
url      = https://127.0.0.1:$PORT/files/b.xml
anchor   = $PKI/signer2.pem
priority = 5
deny     = https://b1.example.org/*
CONF
AGG=$T/publish/research/aggregate.xml
build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" "$@" > "$T/out" 2>&1; }

# 1. first build publishes a signed aggregate
build; rc=$?
check "first build exits 0 (got $rc)" [ $rc -eq 0 ]
check "publish/research is a symlink to a generation" [ -L "$T/publish/research" ]
check "aggregate verifies with xmlsec1 pinned to the operator certificate" xmlsec1_ok "$AGG" "$PKI/operator.pem"
n=$(grep -o 'entityID="[^"]*"' "$AGG" | sort -u | wc -l)
check "aggregate holds e0-e4 and b0 (6 entities, got $n)" [ "$n" -eq 6 ]
check "denied b1 is absent" sh -c "! grep -q 'b1.example.org' '$AGG'"
check "the drop of b1 is logged with its reason" grep -q 'entity=https://b1.example.org/md dropped reason=entity-filtered' "$T/out"
check "aggregate has Name, validUntil and cacheDuration" \
	grep -q 'Name="https://trust.example.org/research"' "$AGG"
vu=$(grep -o 'validUntil="[^"]*"' "$AGG" | head -1 | cut -d'"' -f2)
vu_s=$(date -d "$vu" +%s)
d=$((vu_s - NOW))
check "aggregate validUntil is now + saml-validity (4d), got $d s" [ $d -ge 345000 -a $d -le 346000 ]
nsig=$(grep -o '<ds:Signature[ >]' "$AGG" | wc -l)
check "exactly one signature in the aggregate (got $nsig)" [ "$nsig" -eq 1 ]
gen1=$(readlink "$T/publish/research")

# 2. nothing changed: conditional GET, no new generation
build; rc=$?
check "unchanged build exits 0" [ $rc -eq 0 ]
check "unchanged build keeps the generation" [ "$(readlink "$T/publish/research")" = "$gen1" ]
check "unchanged build says so" grep -q 'unchanged' "$T/out"

# 3. a tampered feed is rejected with its reason and source; last good stays
sed 's/e2\.example\.org/x2.example.org/' "$T/a-good.xml" > "$T/www/a.xml"
build; rc=$?
check "tampered feed: exit 1" [ $rc -eq 1 ]
check "tampered feed: reason and source named" grep -q 'source=research/a reason=sig-invalid' "$T/out"
check "tampered feed: last good copy served" grep -q 'source=research/a: serving the last good copy' "$T/out"
check "tampered feed: published aggregate unchanged" [ "$(readlink "$T/publish/research")" = "$gen1" ]
check "tampered entity never published" sh -c "! grep -q x2.example.org '$AGG'"

# 4. a validly signed feed that lost most entities trips the mass-drop guard
mkfeed --out "$T/www/a.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 1 \
	--valid-until +864000 --now "$NOW"
build; rc=$?
check "mass drop: exit 1" [ $rc -eq 1 ]
check "mass drop: reason logged" grep -q 'reason=mass-drop' "$T/out"
check "mass drop: generation kept" [ "$(readlink "$T/publish/research")" = "$gen1" ]
build --force; rc=$?
check "mass drop with --force publishes (exit $rc)" [ $rc -eq 0 ]
n=$(grep -o 'entityID="[^"]*"' "$AGG" | sort -u | wc -l)
check "forced generation holds 2 entities (got $n)" [ "$n" -eq 2 ]
check "forced generation is a new one" [ "$(readlink "$T/publish/research")" != "$gen1" ]
gen2=$(readlink "$T/publish/research")

# 5. an unreachable source: fetch fails, last good copy used until it expires
sed -i "s|url      = https://127.0.0.1:$PORT/files/b.xml|url      = https://127.0.0.1:1/files/b.xml|" "$T/etc/trustlists/research.conf"
build; rc=$?
check "unreachable source: exit 1" [ $rc -eq 1 ]
check "unreachable source: fetch-failed named" grep -q 'source=research/b reason=fetch-failed' "$T/out"
check "unreachable source: its entities stay" grep -q 'b0.example.org' "$AGG"

# 6. after the feeds' validUntil nothing is published and the old output stays
build --at $((NOW + 900000)); rc=$?
check "expired inputs: exit 1" [ $rc -eq 1 ]
check "expired inputs: nothing to publish" grep -q 'reason=feed-empty' "$T/out"
check "expired inputs: generation kept" [ "$(readlink "$T/publish/research")" = "$gen2" ]

# 7. no usable signing key: nothing is published
sed -i "s|signing-key = .*|signing-key = $T/missing.key|" "$T/etc/fedtrust.conf"
mkfeed --out "$T/www/a.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 2 \
	--valid-until +864000 --now "$NOW"
build; rc=$?
check "missing signing key: exit 1" [ $rc -eq 1 ]
check "missing signing key: sign-failed logged" grep -q 'reason=sign-failed' "$T/out"
check "missing signing key: generation kept" [ "$(readlink "$T/publish/research")" = "$gen2" ]

# 8. a config error is exit 2 with file:line
echo "bogus = 1" >> "$T/etc/trustlists/research.conf"
build; rc=$?
check "config error: exit 2" [ $rc -eq 2 ]
check "config error names file and line" grep -q 'research.conf:[0-9]*: unknown key "bogus"' "$T/out"
finish
