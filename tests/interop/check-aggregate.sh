#!/bin/sh
# Check a signed SAML aggregate with two independent consumers.
#
#   check-aggregate.sh AGGREGATE CERT ENTITYID [idp|sp|aa]
#
# (a) xmlsec1 --verify pinned to CERT must succeed;
# (b) the Shibboleth SP (mdquery with a minimal shibboleth2.xml: XML provider
#     with schema validation, RequireValidUntil and Signature filters pinned to
#     CERT) must load it and print ENTITYID's role descriptor, with no CRIT or
#     FATAL line in its log;
# (c) a tampered copy (an attribute added to ENTITYID's EntityDescriptor, so
#     the entity is still there if the signature were ignored) must be
#     refused by both.
# Exit 0 ok, 1 failure, 77 when xmlsec1, mdquery or openssl is missing.
# Both mdquery and shibd exit 0 even when they refuse metadata: the verdict
# comes from their log, which goes to a file in the temp dir (SHIBSP_LOGGING).
set -u

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 AGGREGATE CERT ENTITYID [idp|sp|aa]" >&2
	exit 2
fi
role=${4:-idp}
case $role in
idp) desc=IDPSSODescriptor ;;
sp) desc=SPSSODescriptor ;;
aa) desc=AttributeAuthorityDescriptor ;;
*) echo "$0: role must be idp, sp or aa" >&2; exit 2 ;;
esac
for tool in xmlsec1 mdquery openssl; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool not installed"
		exit 77
	fi
done

# mdquery resolves relative paths against its own config directory
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "$1" ;;
	esac
}
md=$(abspath "$1")
cert=$(abspath "$2")
eid=$3
[ -r "$md" ] || { echo "FAIL: cannot read $md"; exit 1; }
[ -r "$cert" ] || { echo "FAIL: cannot read $cert"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-aggregate.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*"
	exit 1
}

xmlsec_verify() {
	xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
		--pubkey-cert-pem "$cert" \
		--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor "$1" \
		>"$tmp/xmlsec.out" 2>&1
}

# A throwaway SP key pair for the SP's CredentialResolver
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/sp-key.pem" -out "$tmp/sp-cert.pem" \
	-days 2 -subj /CN=check-aggregate >/dev/null 2>&1 || fail "openssl: cannot make the SP key pair"

# shibboleth2.xml for one metadata file; every path absolute
shib_config() { # METADATA CONFIG
	cat >"$2" <<EOF
<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">
  <UnixListener address="$tmp/shibd.sock"/>
  <ApplicationDefaults entityID="https://check-aggregate.invalid/shibboleth">
    <Sessions lifetime="28800" timeout="3600" checkAddress="false"/>
    <MetadataProvider type="XML" validate="true" path="$1" reloadChanges="false">
      <MetadataFilter type="RequireValidUntil" maxValidityInterval="2419200"/>
      <MetadataFilter type="Signature" certificate="$cert" verifyBackup="false"/>
    </MetadataProvider>
    <CredentialResolver type="File" key="$tmp/sp-key.pem" certificate="$tmp/sp-cert.pem"/>
  </ApplicationDefaults>
  <SecurityPolicyProvider type="XML" validate="true">
    <SecurityPolicies>
      <Policy id="default" validate="false">
        <PolicyRule type="XMLSigning" errorFatal="true"/>
      </Policy>
    </SecurityPolicies>
  </SecurityPolicyProvider>
</SPConfig>
EOF
}

# Run mdquery on METADATA; output in $tmp/mdquery.out, log in $tmp/shibsp.log
shib_query() { # METADATA
	shib_config "$1" "$tmp/shibboleth2.xml"
	cat >"$tmp/shibsp.logger" <<EOF
log4j.rootCategory=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.fileName=$tmp/shibsp.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%p %c %x: %m%n
EOF
	rm -f "$tmp/shibsp.log"
	SHIBSP_CONFIG="$tmp/shibboleth2.xml" SHIBSP_LOGGING="$tmp/shibsp.logger" \
		mdquery -e "$eid" -saml2 -$role >"$tmp/mdquery.out" 2>&1
	echo $? >"$tmp/mdquery.rc"
	[ -s "$tmp/shibsp.log" ] || fail "mdquery wrote no log (is SHIBSP_LOGGING honoured?)"
}

# (a) xmlsec1 accepts the aggregate
xmlsec_verify "$md" || { cat "$tmp/xmlsec.out"; fail "xmlsec1 refused $md"; }

# (b) the Shibboleth SP accepts it and finds the entity's role
shib_query "$md"
if grep -E '^(CRIT|FATAL) ' "$tmp/shibsp.log" >/dev/null; then
	grep -E '^(WARN|ERROR|CRIT|FATAL) ' "$tmp/shibsp.log"
	fail "Shibboleth SP refused $md"
fi
[ "$(cat "$tmp/mdquery.rc")" = 0 ] || { cat "$tmp/mdquery.out"; fail "mdquery exited $(cat "$tmp/mdquery.rc")"; }
grep "<md:$desc\|<$desc" "$tmp/mdquery.out" >/dev/null ||
	{ cat "$tmp/mdquery.out"; fail "mdquery did not print the $desc of $eid"; }

# (c) a tampered copy: one attribute added inside the signed entity
eid_re=$(printf '%s\n' "$eid" | sed 's/[][\.*^$/&]/\\&/g')
sed "s/entityID=\"$eid_re\"/& ID=\"_tampered\"/" "$md" >"$tmp/tampered.xml"
cmp -s "$md" "$tmp/tampered.xml" && fail "could not find entityID=\"$eid\" to tamper with"
if xmlsec_verify "$tmp/tampered.xml"; then
	fail "xmlsec1 accepted a tampered copy"
fi
shib_query "$tmp/tampered.xml"
grep -E '^CRIT ' "$tmp/shibsp.log" >/dev/null ||
	fail "Shibboleth SP logged no CRIT line for a tampered copy"
if grep "<md:$desc\|<$desc" "$tmp/mdquery.out" >/dev/null; then
	fail "Shibboleth SP returned $eid from a tampered copy"
fi
echo "OK: $md verified by xmlsec1 and the Shibboleth SP; tampered copy refused by both"
exit 0
