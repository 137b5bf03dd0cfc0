#!/bin/sh
# The ready definitions of real federations under trustlists/federations:
#  - every file parses, is disabled by default, and its anchors load
#    (fedtrustd -n), also when enabled one at a time;
#  - where the corpus (CORPUS/real/saml, see its MANIFEST.tsv) holds a real
#    feed of that federation, the shipped anchor is the key that signed it:
#    fedtrust verify with the definition's own anchor/ca, signer-name and
#    max-validity ACCEPTs the feed at a time inside its validity, and another
#    federation's anchor is refused with sig-untrusted-key.
#      WAYF        wayf-edugain-metadata-2019.xml (also at its creationInstant:
#                  the shipped max-validity must admit WAYF's 7-day window)
#      SWITCHaai   switch-aaitest-metadata-2014-02-05.xml and -2009.xml, CA mode
#                  through the SWITCHaai Root CA (rsa-sha1 then: opt-in here only)
#      SWAMID      swamid-1.0-metadata-2011.xml has no validUntil, so it can never
#                  be ACCEPTed: the shipped anchor gets past the signature to
#                  valid-until-missing while a foreign anchor stops at
#                  sig-untrusted-key.
.  "$top_srcdir/tests/tools/common.sh"

F=$top_srcdir/trustlists/federations

# get FILE KEY: the first value of KEY in a definition
get() { sed -n "s/^$2 *= *//p" "$F/$1" | head -n 1; }

mainconf() {
	cat > "$T/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = $1
signing-key  = $PKI/operator.key
signing-cert = $PKI/operator.pem
CONF
}

n=0
for f in "$F"/*.conf; do
	n=$((n + 1))
	b=$(basename "$f")
	check "$b is disabled by default" grep -q '^enabled *= *no$' "$f"
	check "$b names its anchor's status in its header" grep -q '^; ANCHOR' "$f"
	check "$b sets max-validity" grep -q '^max-validity *= *[0-9]' "$f"
	check "$b fetches over https" grep -q '^url *= *https://' "$f"
done
check "there are federation definitions ($n)" [ "$n" -ge 6 ]

mainconf "$F"
"$FEDTRUSTD" -n -c "$T/fedtrust.conf" > "$T/out" 2>&1
rc=$?
check "fedtrustd -n accepts the shipped definitions (exit $rc)" [ $rc -eq 0 ]
check "all $n lists were read" grep -q "configuration OK ($n trust lists)" "$T/out"

# enabled one at a time, as the README tells operators to do
for f in "$F"/*.conf; do
	b=$(basename "$f")
	rm -rf "$T/lists"
	mkdir -p "$T/lists"
	cp -R "$F/anchors" "$T/lists/"
	sed 's/^enabled *= *no$/enabled         = yes/' "$f" > "$T/lists/$b"
	mainconf "$T/lists"
	"$FEDTRUSTD" -n -c "$T/fedtrust.conf" > "$T/out" 2>&1
	rc=$?
	check "$b enabled: fedtrustd -n accepts it (exit $rc)" [ $rc -eq 0 ]
done

# a broken anchor is caught by the same check (the test above can fail)
sed "s|^anchor *=.*|anchor = $T/garbage.pem|" "$F/ukfederation.conf" > "$T/lists/ukfederation.conf"
rm -f "$T/lists/"[!u]*.conf
echo "not a certificate" > "$T/garbage.pem"
"$FEDTRUSTD" -n -c "$T/fedtrust.conf" > "$T/out" 2>&1
rc=$?
check "a garbage anchor fails the check (exit $rc)" [ $rc -eq 2 ]

if [ -z "${CORPUS:-}" ] || [ ! -d "$CORPUS/real/saml" ]; then
	echo "corpus not found (CORPUS=${CORPUS:-unset}): feed checks skipped"
	finish
	exit $?
fi
S=$CORPUS/real/saml

# verify NAME EXPECT FILE ARGS...: EXPECT is ACCEPT or a reason code
verify() {
	name=$1 want=$2 file=$3
	shift 3
	out=$("$FEDTRUST" verify "$@" "$file" 2>"$T/err")
	rc=$?
	case $want in
	ACCEPT) [ $rc -eq 0 ] && case $out in "ACCEPT "*) pass "$name: $out"; return;; esac ;;
	*) [ $rc -eq 1 ] && case $out in "REJECT $want:"*) pass "$name: $out"; return;; esac ;;
	esac
	fail "$name: expected $want, got rc=$rc: $out $(cat "$T/err")"
}

# WAYF: pinned to the shipped certificate, with the shipped max-validity
wayf="--max-validity $(get wayf.conf max-validity)"
verify "wayf: shipped anchor signs WAYF's feed" ACCEPT "$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$F/$(get wayf.conf anchor)" $wayf --at 2019-07-23T08:10:04Z
verify "wayf: shipped max-validity admits the 7-day window at creation" ACCEPT \
	"$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$F/$(get wayf.conf anchor)" $wayf --at 2019-07-17T08:11:04Z
verify "wayf: a tighter max-validity would refuse it" validity-too-long \
	"$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$F/$(get wayf.conf anchor)" --max-validity 6d --at 2019-07-17T08:11:04Z
verify "wayf: UK federation anchor refused" sig-untrusted-key "$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$F/$(get ukfederation.conf anchor)" $wayf --at 2019-07-23T08:10:04Z
verify "wayf: SWAMID anchor refused" sig-untrusted-key "$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$F/$(get swamid.conf anchor)" $wayf --at 2019-07-23T08:10:04Z

# SWITCHaai: CA mode through the shipped root and the shipped signer-name
sha1="--allow-alg rsa-sha1 --allow-alg sha1"
verify "switchaai: shipped root and signer-name accept the 2014 feed" ACCEPT \
	"$S/switch-aaitest-metadata-2014-02-05.xml" $sha1 \
	--ca "$F/$(get switchaai.conf ca)" --signer-name "$(get switchaai.conf signer-name)" \
	--max-validity "$(get switchaai.conf max-validity)" --at 2014-02-09T09:59:21Z
verify "switchaai: shipped root and signer-name accept the 2009 feed" ACCEPT \
	"$S/switch-aaitest-metadata-2009.xml" $sha1 \
	--ca "$F/$(get switchaai.conf ca)" --signer-name "$(get switchaai.conf signer-name)" \
	--max-validity 3650d --at 2009-10-18T13:00:17Z
verify "switchaai: WAYF anchor refused" sig-untrusted-key \
	"$S/switch-aaitest-metadata-2014-02-05.xml" $sha1 \
	--anchor "$F/$(get wayf.conf anchor)" --max-validity 10d --at 2014-02-09T09:59:21Z
verify "switchaai: InCommon anchor refused" sig-untrusted-key \
	"$S/switch-aaitest-metadata-2014-02-05.xml" $sha1 \
	--anchor "$F/$(get incommon.conf anchor)" --max-validity 10d --at 2014-02-09T09:59:21Z

# SWAMID 2011: the signature check comes first, then the missing validUntil
verify "swamid: shipped (historical) anchor passes the signature" valid-until-missing \
	"$S/swamid-1.0-metadata-2011.xml" $sha1 \
	--anchor "$F/$(get swamid.conf anchor)" --max-validity 3650d --at 2011-06-01T00:00:00Z
verify "swamid: WAYF anchor refused" sig-untrusted-key "$S/swamid-1.0-metadata-2011.xml" $sha1 \
	--anchor "$F/$(get wayf.conf anchor)" --max-validity 3650d --at 2011-06-01T00:00:00Z

finish
