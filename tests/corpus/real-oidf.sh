#!/bin/sh
# Real OpenID Federation statements and JWTs (CORPUS/real/oidfed, see
# MANIFEST.tsv) through "fedtrust verify --type jws", byte-exact, at a fixed
# time inside each one's iat..exp, with the anchors given there
# (*.jwks.derived.json) or, for a subordinate statement, the issuer's keys
# as its superior attests them (an anchor file written here from the jwks
# claim of the statement about the issuer).  Every verdict line is exact.
#
# What the strict profile (docs/jws-sources.md) makes of them:
#  - gematik federation master EC (ES256, typed): ACCEPT; its signed IdP list
#    (typ idp-list+jwt) ACCEPTs with --typ idp-list+jwt.
#  - SPID/CIE demo (RS256, typed): every entity statement names
#    http://127.0.0.1:800x/ entities, not https entity identifiers:
#    jwt-claim-invalid.  The trust marks verify with --typ trust-mark+jwt; the
#    one known-bad mark (untyped, kid of no key) is jws-typ-invalid, and
#    jws-kid-unknown under --allow-untyped.
#  - fedservice chain feide.no -> ntnu.no -> op.ntnu.no (2020, untyped):
#    jws-typ-invalid by default.  Under --allow-untyped the drafts of the
#    time show: both configurations list every key twice under one kid
#    (jws-key-invalid), both subordinate statements carry authority_hints
#    (jwt-claim-invalid: a configuration-only claim).  Their signatures and
#    the chain's key binding are real: each ACCEPTs as a plain JWT
#    (--allow-untyped --typ JWT) with its superior's keys, and fails with
#    any other link's.
# A copy of every accepted file with one payload byte changed (the last digit
# of iat, one second off) is jws-sig-invalid.
set -u

if [ -z "${CORPUS:-}" ] || [ ! -d "$CORPUS/real/oidfed" ]; then
	echo "SKIP: no corpus (CORPUS=${CORPUS:-unset})"
	exit 77
fi
FEDTRUST=${FEDTRUST:-${top_builddir:-.}/src/fedtrust}
PYTHON3=${PYTHON3:-python3}
O=$CORPUS/real/oidfed
G=$O/gematik-oviva
S=$O/spid-cie-oidc-django
F=$O/fedservice-testfed
tmp=$(mktemp -d "${TMPDIR:-/tmp}/real-oidf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
n=0

# check NAME EXPECTED-LINE FILE ARGS...: the first output line must be EXPECTED-LINE
# (exit 0 for ACCEPT, 1 for REJECT).
check() {
	name=$1 want=$2 file=$3
	shift 3
	out=$("$FEDTRUST" verify --type jws "$@" "$file" 2>"$tmp/err")
	rc=$?
	first=$(printf '%s\n' "$out" | head -n 1)
	case $want in
	ACCEPT*) wrc=0 ;;
	*) wrc=1 ;;
	esac
	n=$((n + 1))
	if [ "$first" = "$want" ] && [ $rc -eq $wrc ]; then
		echo "PASS: $name: $first"
	else
		echo "FAIL: $name: expected \"$want\" (exit $wrc), got exit $rc: $out $(cat "$tmp/err")"
		fail=1
	fi
}

# prepare FILE...: one python3 run (no jq) writes, for each FILE, into $tmp:
# NAME.kid (header kid), NAME.iss (iss claim), NAME.tampered (one payload
# byte changed: the last digit of iat, one second off) and NAME.jwks (its
# jwks claim as a JWK Set file, each distinct key once).
prepare() {
	"$PYTHON3" - "$tmp" "$@" <<'EOF'
import base64, json, os, sys

def seg(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def enc(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

out = sys.argv[1]
for src in sys.argv[2:]:
    name = os.path.join(out, os.path.basename(src))
    parts = open(src).read().split(".")
    header, payload = json.loads(seg(parts[0])), seg(parts[1])
    claims = json.loads(payload)
    open(name + ".kid", "w").write(header.get("kid", ""))
    open(name + ".iss", "w").write(claims.get("iss", ""))
    i = payload.index(b'"iat"') + 5
    while not payload[i:i + 1].isdigit():
        i += 1
    while payload[i + 1:i + 2].isdigit():
        i += 1
    d = payload[i] - 0x30
    p = payload[:i] + bytes([0x30 + (d - 1 if d > 0 else 1)]) + payload[i + 1:]
    assert len(p) == len(payload) and sum(a != b for a, b in zip(p, payload)) == 1
    open(name + ".tampered", "w").write(parts[0] + "." + enc(p) + "." + parts[2])
    if "jwks" in claims:
        keys = []
        for k in claims["jwks"]["keys"]:
            if k not in keys:
                keys.append(k)
        json.dump({"keys": keys}, open(name + ".jwks", "w"))
EOF
}

# accepted NAME ALG FILE ARGS...: ACCEPT, and the copy with one payload byte changed does not.
accepted() {
	name=$1 alg=$2 file=$3
	shift 3
	check "$name" "ACCEPT 1 entities" "$file" "$@"
	b=$tmp/$(basename "$file")
	check "$name (tampered)" \
	    "REJECT jws-sig-invalid: key \"$(cat "$b.kid")\": $alg signature does not verify" \
	    "$b.tampered" "$@"
}

NOTYP='(nor jwk-set+jwt; --typ names another JWT type)'
prepare "$G"/*.jwt "$S"/jwt/*.jwt "$F"/*.jwt || { echo "FAIL: python3 could not read the corpus"; exit 1; }

# ---------------------------------------------------------------- gematik (ES256)
GA=$G/anchor-app-ref-federationmaster.jwks.derived.json
GE=$G/federation_api_client_masterEntityStatement.jwt
GL=$G/federation_api_client_idpList.jwt
# iat 2024-01-18T14:02:12Z, exp 2024-01-19T14:02:12Z
accepted "gematik master EC" ES256 "$GE" --anchor "$GA" --at 2024-01-18T18:00:00Z
check "gematik master EC at its exp" \
    "REJECT expired: exp 2024-01-19T14:02:12Z has passed (now 2024-01-19T14:02:12Z)" "$GE" \
    --anchor "$GA" --at 2024-01-19T14:02:12Z
check "gematik master EC 61 s before its iat" \
    "REJECT not-yet-valid: iat 2024-01-18T14:02:12Z is in the future (now 2024-01-18T14:01:11Z, skew 60s)" \
    "$GE" --anchor "$GA" --at 2024-01-18T14:01:11Z
check "gematik master EC, max-validity 1h" \
    "REJECT validity-too-long: exp 2024-01-19T14:02:12Z is more than max-validity 3600s away" "$GE" \
    --anchor "$GA" --at 2024-01-18T18:00:00Z --max-validity 1h
check "gematik master EC, SPID anchor" \
    "REJECT jws-kid-unknown: JWS kid \"puk_fedmaster_sig\" is none of the 1 trusted keys" "$GE" \
    --anchor "$S/anchor-TA-127.0.0.1-8000.jwks.derived.json" --at 2024-01-18T18:00:00Z
# iat 2024-01-22T15:27:59Z, exp 2024-01-23T15:27:59Z
check "gematik IdP list by its header" \
    "REJECT jws-typ-invalid: JWS typ \"idp-list+jwt\" is not \"entity-statement+jwt\" $NOTYP" "$GL" \
    --anchor "$GA" --at 2024-01-22T16:00:00Z
accepted "gematik IdP list, --typ idp-list+jwt" ES256 "$GL" --anchor "$GA" \
    --at 2024-01-22T16:00:00Z --typ idp-list+jwt
check "gematik IdP list as an entity statement" \
    "REJECT jws-typ-invalid: JWS typ \"idp-list+jwt\" is not \"entity-statement+jwt\"" "$GL" \
    --anchor "$GA" --at 2024-01-22T16:00:00Z --typ entity-statement+jwt

# ---------------------------------------------------------------- SPID/CIE demo (RS256)
SA=$S/anchor-TA-127.0.0.1-8000.jwks.derived.json
SAT=2022-04-23T15:50:00Z	# 1650729000: inside every statement's window
for f in "$S"/jwt/*-entity-statement-*.jwt; do
	iss=$(cat "$tmp/$(basename "$f").iss")
	check "SPID $(basename "$f")" \
	    "REJECT jwt-claim-invalid: iss $iss is not an entity identifier (https URL with a host, no query or fragment)" \
	    "$f" --anchor "$SA" --at $SAT
done
# The demo federation predates the final spec (http:// ids, constraints in
# the TA's configuration): --legacy-drafts verifies what can be verified.
SE=$S/jwt/fa-entity-statement-iss8000-sub8000-iat1650728848.jwt
accepted "SPID TA EC, --legacy-drafts" RS256 "$SE" --anchor "$SA" --at $SAT --legacy-drafts
for f in "$S"/jwt/*-trust-mark-*.jwt; do
	check "SPID $(basename "$f") by its header" \
	    "REJECT jws-typ-invalid: JWS typ \"trust-mark+jwt\" is not \"entity-statement+jwt\" $NOTYP" \
	    "$f" --anchor "$SA" --at $SAT
	accepted "SPID $(basename "$f"), --typ trust-mark+jwt" RS256 "$f" --anchor "$SA" \
	    --at $SAT --typ trust-mark+jwt
done
BAD=$S/jwt/fa-jwt-iss8000-sub8000_oidc_rp-iat1645612401.jwt
check "SPID known-bad mark" "REJECT jws-typ-invalid: JWS typ missing (expected trust-mark+jwt)" \
    "$BAD" --anchor "$SA" --at $SAT --typ trust-mark+jwt
check "SPID known-bad mark, untyped allowed" \
    "REJECT jws-kid-unknown: JWS kid \"FifYx03bnosD8m6gYQIfNHNP9cM_Sam9Tc5nLloIIrc\" is none of the 1 trusted keys" \
    "$BAD" --anchor "$SA" --at $SAT --typ trust-mark+jwt --allow-untyped

# ---------------------------------------------------------------- fedservice chain (RS256, untyped)
F1=$F/1-feide.no-entity-configuration-TA.jwt
F2=$F/2-feide.no-about-ntnu.no.jwt
F3=$F/3-ntnu.no-about-op.ntnu.no.jwt
F4=$F/4-op.ntnu.no-entity-configuration-leaf.jwt
FAT=2020-02-21T13:00:00Z	# 1582290000: inside all four windows
# The configured TA keys: the derived anchor lists the one key twice under one
# kid (a set we refuse); the operator's anchor file holds it once.
cp "$tmp/$(basename "$F1").jwks" "$tmp/feide.jwks"
cp "$tmp/$(basename "$F2").jwks" "$tmp/ntnu.jwks"	# ntnu.no's keys as feide.no attests them
cp "$tmp/$(basename "$F3").jwks" "$tmp/op-ntnu.jwks"	# op.ntnu.no's keys as ntnu.no attests them
# The derived anchor lists one key twice under one kid: the same JWK twice is one key.
accepted "fedservice TA EC with the derived anchor, --legacy-drafts" RS256 "$F1" \
    --anchor "$F/anchor-feide.no-TA.jwks.derived.json" --at $FAT --legacy-drafts
for link in "$F1:feide" "$F2:feide" "$F3:ntnu" "$F4:op-ntnu"; do
	f=${link%%:*} a=$tmp/${link#*:}.jwks
	check "fedservice $(basename "$f")" \
	    "REJECT jws-typ-invalid: JWS typ missing (expected entity-statement+jwt) $NOTYP" "$f" \
	    --anchor "$a" --at $FAT
	accepted "fedservice $(basename "$f") as a plain JWT" RS256 "$f" --anchor "$a" \
	    --at $FAT --allow-untyped --typ JWT
done
check "fedservice feide.no about ntnu.no, untyped allowed" \
    "REJECT jwt-claim-invalid: authority_hints is not allowed in a subordinate statement" \
    "$F2" --anchor "$tmp/feide.jwks" --at $FAT --allow-untyped
check "fedservice ntnu.no about op.ntnu.no, untyped allowed" \
    "REJECT jwt-claim-invalid: authority_hints is not allowed in a subordinate statement" \
    "$F3" --anchor "$tmp/ntnu.jwks" --at $FAT --allow-untyped
# The whole 4-link chain as early drafts wrote it: each link with its superior's keys.
for link in "$F1:feide" "$F2:feide" "$F3:ntnu" "$F4:op-ntnu"; do
	f=${link%%:*} a=$tmp/${link#*:}.jwks
	accepted "fedservice $(basename "$f"), --legacy-drafts" RS256 "$f" --anchor "$a" \
	    --at $FAT --legacy-drafts
done
# Key binding: each link verifies only with its superior's keys.
check "fedservice ntnu.no about op.ntnu.no with the TA's keys" \
    "REJECT jws-kid-unknown: JWS kid \"UzVDZVZneVVvWWlYM0tSN0tpQ08xUmw1N3dCdnlTLUxTWm40X0pZQU9tOA\" is none of the 1 trusted keys" \
    "$F3" --anchor "$tmp/feide.jwks" --at $FAT --allow-untyped --typ JWT
check "fedservice leaf EC with ntnu.no's keys" \
    "REJECT jws-kid-unknown: JWS kid \"NGhTOTl4U0hsWXYxVFJxU0hOVXRwQjV1OGVzenNZc2NyVUtYbFhlV0l4SQ\" is none of the 1 trusted keys" \
    "$F4" --anchor "$tmp/ntnu.jwks" --at $FAT --allow-untyped --typ JWT
check "fedservice chain after the TA EC's exp" \
    "REJECT expired: exp 2020-02-22T10:50:59Z has passed (now 2020-02-23T00:00:00Z)" "$F1" \
    --anchor "$tmp/feide.jwks" --at 2020-02-23T00:00:00Z --allow-untyped --typ JWT

echo "$n checks"
exit $fail
