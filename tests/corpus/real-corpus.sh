#!/bin/sh
# Real third-party SAML metadata (CORPUS/real, see its README.md and
# MANIFEST.tsv) through "fedtrust verify", byte-exact, at a fixed time inside
# each document's validity window (one day before its validUntil).
#
# Documents signed with algorithms outside R6's default allow-list are refused
# by default with their exact code, and ACCEPTed when the operator opts in for
# that source (extra-algorithms in the config, --allow-alg here); a tampered
# copy still fails with the opt-in:
#  - rsa-sha1 signatures (SURFconext 2016, SWAMID 2011, Kalmar2 2010, SWITCH
#    2009 and 2014, Austrian rh07): sig-alg-forbidden.  SWITCH 2014 is also the
#    CA-mode sample (its signer chains to the SWITCHaai Root CA).
#  - eIDAS FR connector/proxy: rsa-sha512 over a sha1 digest: sig-digest-weak.
#  - eIDAS IT connector: ecdsa-sha512: sig-alg-forbidden.
# AD FS 2015 has no validUntil on its root: valid-until-missing (R11, no opt-in).
# Accepted by default: WAYF eduGAIN 2019 (77 entities), RCTSaai 2017 (3), NO connector (1).
set -u

if [ -z "${CORPUS:-}" ] || [ ! -d "$CORPUS/real/saml" ]; then
	echo "SKIP: no corpus (CORPUS=${CORPUS:-unset})"
	exit 77
fi
FEDTRUST=${FEDTRUST:-${top_builddir:-.}/src/fedtrust}
S=$CORPUS/real/saml
A=$S/anchors
X=$S/pyxmlsecurity
tmp=$(mktemp -d "${TMPDIR:-/tmp}/real-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# check NAME EXPECT FILE ARGS...: EXPECT is ACCEPT or a reason code.
check() {
	name=$1 want=$2 file=$3
	shift 3
	out=$("$FEDTRUST" verify "$@" "$file" 2>"$tmp/err")
	rc=$?
	case $want in
	ACCEPT) ok=0; [ $rc -eq 0 ] && case $out in "ACCEPT "*) ok=1;; esac ;;
	*) ok=0; [ $rc -eq 1 ] && case $out in "REJECT $want:"*) ok=1;; esac ;;
	esac
	if [ $ok -eq 1 ]; then
		echo "PASS: $name: $out"
	else
		echo "FAIL: $name: expected $want, got rc=$rc: $out $(cat "$tmp/err")"
		fail=1
	fi
}

# tampered NAME FILE ID ARGS...: change one character inside entityID ID.
tampered() {
	name=$1 file=$2 id=$3
	shift 3
	new=$(printf '%s' "$id" | sed 's/.$/Z/')
	sed "s|entityID=\"$id\"|entityID=\"$new\"|" "$file" > "$tmp/t.xml"
	if cmp -s "$file" "$tmp/t.xml"; then
		echo "FAIL: $name: could not tamper with $id"
		fail=1
		return
	fi
	check "$name (tampered)" sig-invalid "$tmp/t.xml" "$@"
}

long="--max-validity 3650d"

wayf="--anchor $A/wayf-metadata-2016-signing.embedded.crt --at 2019-07-23T08:10:04Z"
check wayf-edugain-2019 ACCEPT "$S/wayf-edugain-metadata-2019.xml" $wayf
tampered wayf-edugain-2019 "$S/wayf-edugain-metadata-2019.xml" \
	"$(grep -o 'entityID="[^"]*"' "$S/wayf-edugain-metadata-2019.xml" | sed -n '5s/entityID="\(.*\)"/\1/p')" $wayf
# the same feed under an unrelated real anchor
check wayf-edugain-2019-wrong-anchor sig-untrusted-key "$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$A/ukf-meta_uk_ukfederation-2014.pem" --at 2019-07-23T08:10:04Z
check wayf-edugain-2019-expired expired "$S/wayf-edugain-metadata-2019.xml" \
	--anchor "$A/wayf-metadata-2016-signing.embedded.crt" --at 2019-07-25T00:00:00Z

rcts="--anchor $A/rctsaai-ptmetadatasigner.embedded.crt --at 2017-04-21T12:17:22Z $long"
check rctsaai-2017 ACCEPT "$S/rctsaai-edugain-export-2017-04-15.xml" $rcts
tampered rctsaai-2017 "$S/rctsaai-edugain-export-2017-04-15.xml" \
	"$(grep -o 'entityID="[^"]*"' "$S/rctsaai-edugain-export-2017-04-15.xml" | sed -n '1s/entityID="\(.*\)"/\1/p')" $rcts

no="--anchor $X/verify-no-connector-signer.crt --at 2018-09-12T07:50:33Z $long"
check eidas-no-connector ACCEPT "$X/verify-no-connector-in.xml" $no
tampered eidas-no-connector "$X/verify-no-connector-in.xml" \
	"https://eidas-test1.difi.eon.no/EidasNode/ConnectorMetadata" $no

# refused by the rules (see the header)
check eidas-it-connector sig-alg-forbidden "$X/verify-it-connector-in.xml" \
	--anchor "$X/verify-it-connector-signer.crt" --at 2021-06-13T12:45:10Z $long
check eidas-fr-connector sig-digest-weak "$X/verify-fr-connector-in.xml" \
	--anchor "$X/verify-fr-connector-signer.crt" --at 2018-03-16T10:21:09Z $long
check eidas-fr-proxy sig-digest-weak "$X/verify-fr-proxy-in.xml" \
	--anchor "$X/verify-fr-proxy-signer.crt" --at 2018-03-16T10:02:12Z $long
check rh07 sig-alg-forbidden "$X/verify-rh07-in.xml" \
	--anchor "$X/verify-rh07-signer.crt" --at 2016-07-05T18:29:02Z $long
check adfs-2015 valid-until-missing "$S/adfs-bead-loc-federationmetadata-2015.xml" \
	--anchor "$A/adfs-bead-loc-signing.embedded.crt" --at 2016-01-01T00:00:00Z
check surfconext-2016 sig-alg-forbidden "$S/surfconext-engine-idp-metadata-2016.xml" \
	--anchor "$A/surfconext-engine-2016.embedded.crt" --at 2016-01-27T14:26:41Z
check swamid-2011 sig-alg-forbidden "$S/swamid-1.0-metadata-2011.xml" \
	--anchor "$A/swamid-metadata-signer-v1.1.embedded.crt" --at 2011-06-01T00:00:00Z $long
check kalmar2-2010 sig-alg-forbidden "$S/swamid-kalmar-1.0-metadata-2010.xml" \
	--anchor "$A/kalmar2-signer.pem" --at 2010-04-02T11:30:05Z $long
check switch-2009 sig-alg-forbidden "$S/switch-aaitest-metadata-2009.xml" \
	--anchor "$A/switchaai-metadata-signer-2008.embedded.crt" --at 2009-10-18T13:00:17Z $long
check switch-2014 sig-alg-forbidden "$S/switch-aaitest-metadata-2014-02-05.xml" \
	--anchor "$A/switchaai-metadata-signer-2011.embedded.crt" --at 2014-02-09T09:59:21Z $long
check switch-2014-ca sig-alg-forbidden "$S/switch-aaitest-metadata-2014-02-05.xml" \
	--ca "$A/SWITCHaaiRootCA.crt.pem" --at 2014-02-09T09:59:21Z $long

# the same documents with the operator's explicit opt-in for their algorithms
sha1="--allow-alg rsa-sha1 --allow-alg sha1"
# optin NAME FILE ENTITY-TO-TAMPER ARGS...: ACCEPT, and a tampered copy fails
optin() {
	name=$1 file=$2 id=$3
	shift 3
	check "$name (opt-in)" ACCEPT "$file" "$@"
	tampered "$name" "$file" "$id" "$@"
}
first_id() { grep -o 'entityID="[^"]*"' "$1" | sed -n '1s/entityID="\(.*\)"/\1/p'; }
optin eidas-it-connector "$X/verify-it-connector-in.xml" "$(first_id "$X/verify-it-connector-in.xml")" \
	--allow-alg ecdsa-sha512 --anchor "$X/verify-it-connector-signer.crt" --at 2021-06-13T12:45:10Z $long
optin eidas-fr-connector "$X/verify-fr-connector-in.xml" "$(first_id "$X/verify-fr-connector-in.xml")" \
	$sha1 --anchor "$X/verify-fr-connector-signer.crt" --at 2018-03-16T10:21:09Z $long
# the FR proxy carries a second signature on its IDPSSODescriptor whose ID is a URL
# (not an NCName): it cannot be processed, so R3 drops the only entity
check "eidas-fr-proxy (opt-in)" feed-empty "$X/verify-fr-proxy-in.xml" \
	$sha1 --anchor "$X/verify-fr-proxy-signer.crt" --at 2018-03-16T10:02:12Z $long
# rh07 and Kalmar2 are signed with 1024-bit RSA keys: no opt-in exists for weak keys
check "rh07 (opt-in)" sig-key-weak "$X/verify-rh07-in.xml" \
	$sha1 --anchor "$X/verify-rh07-signer.crt" --at 2016-07-05T18:29:02Z $long
optin surfconext-2016 "$S/surfconext-engine-idp-metadata-2016.xml" \
	"$(first_id "$S/surfconext-engine-idp-metadata-2016.xml")" \
	$sha1 --anchor "$A/surfconext-engine-2016.embedded.crt" --at 2016-01-27T14:26:41Z
# SWAMID 2011 has no validUntil on its root
check "swamid-2011 (opt-in)" valid-until-missing "$S/swamid-1.0-metadata-2011.xml" \
	$sha1 --anchor "$A/swamid-metadata-signer-v1.1.embedded.crt" --at 2011-06-01T00:00:00Z $long
check "kalmar2-2010 (opt-in)" sig-key-weak "$S/swamid-kalmar-1.0-metadata-2010.xml" \
	$sha1 --anchor "$A/kalmar2-signer.pem" --at 2010-04-02T11:30:05Z $long
optin switch-2009 "$S/switch-aaitest-metadata-2009.xml" "$(first_id "$S/switch-aaitest-metadata-2009.xml")" \
	$sha1 --anchor "$A/switchaai-metadata-signer-2008.embedded.crt" --at 2009-10-18T13:00:17Z $long
optin switch-2014 "$S/switch-aaitest-metadata-2014-02-05.xml" \
	"$(first_id "$S/switch-aaitest-metadata-2014-02-05.xml")" \
	$sha1 --anchor "$A/switchaai-metadata-signer-2011.embedded.crt" --at 2014-02-09T09:59:21Z $long
optin switch-2014-ca "$S/switch-aaitest-metadata-2014-02-05.xml" \
	"$(first_id "$S/switch-aaitest-metadata-2014-02-05.xml")" \
	$sha1 --ca "$A/SWITCHaaiRootCA.crt.pem" --at 2014-02-09T09:59:21Z $long
# CA mode with a signer-name rule: the real signer's CN matches, a foreign name does not
check switch-2014-ca-name ACCEPT "$S/switch-aaitest-metadata-2014-02-05.xml" \
	$sha1 --ca "$A/SWITCHaaiRootCA.crt.pem" --signer-name '*SWITCHaai Metadata Signer*' \
	--at 2014-02-09T09:59:21Z $long
check switch-2014-ca-wrong-name chain-name-mismatch "$S/switch-aaitest-metadata-2014-02-05.xml" \
	$sha1 --ca "$A/SWITCHaaiRootCA.crt.pem" --signer-name 'CN=someone-else*' \
	--at 2014-02-09T09:59:21Z $long
# documents edited after signing must be refused, whatever the code
for f in "$CORPUS"/real/neg/*; do
	[ -f "$f" ] || continue
	out=$("$FEDTRUST" verify --anchor "$A/adfs-bead-loc-signing.embedded.crt" \
	    --anchor "$A/swamid-metadata-signer-v1.1.embedded.crt" \
	    --at 2016-01-01T00:00:00Z $long "$f" 2>&1)
	rc=$?
	case $out in
	"REJECT "*) [ $rc -eq 1 ] && { echo "PASS: neg/$(basename "$f"): $out"; continue; } ;;
	esac
	echo "FAIL: neg/$(basename "$f"): expected REJECT, got rc=$rc: $out"
	fail=1
done
# the AD FS edit keeps sha256 and is caught by the digest itself
check neg-adfs-edited sig-invalid "$CORPUS/real/neg/adfs-bead-loc-federationmetadata-edited-2017.xml" \
	--anchor "$A/adfs-bead-loc-signing.embedded.crt" --at 2016-01-01T00:00:00Z

exit $fail
