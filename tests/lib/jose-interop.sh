#!/bin/sh
# Interop of the libfedtrust JWS layer with the Debian `jose` command
# (latchset jose, package jose): tokens we sign verify in jose, tokens jose
# signs with a header of exactly alg/kid/typ verify in ours, tampered tokens
# fail in both, and our kid equals jose's RFC 7638 thumbprint.  Ed25519 is
# not covered: Debian 12's jose 11 has no Ed25519 (npm jose covers it later).
# Our side runs through tests/unit/jws_tool (keygen = `fedtrust keygen`).
# Exit 77 when jose is not installed.
set -u

: "${top_builddir:=.}"
TOOL="$top_builddir/tests/unit/jws_tool"
TYP=vnd.fedtrust.bundle+jwt

if ! command -v jose >/dev/null 2>&1; then
	echo "SKIP: the jose command is not installed (Debian package jose)"
	exit 77
fi
if [ ! -x "$TOOL" ]; then
	echo "FAIL: $TOOL is not built (make tests/unit/jws_tool)"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/jose-interop.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

printf '{"iss":"https://trust.example.net","list":"interop","seq":1}' > "$T/payload"
printf '{"iss":"https://evil.example","list":"interop","seq":2}' > "$T/evil"
EVIL64=$(jose b64 enc -I "$T/evil")

# tamper IN OUT: the same header and signature over another payload.
tamper() {
	h=$(cut -d. -f1 "$1")
	s=$(cut -d. -f3 "$1")
	printf '%s.%s.%s' "$h" "$EVIL64" "$s" > "$2"
}

for alg in ES256 ES384 PS256; do
	# ---- ours -> jose
	if ! "$TOOL" keygen --alg "$alg" --out "$T/$alg.pem" > "$T/$alg.keygen"; then
		ko "$alg: keygen"
		continue
	fi
	sed -n 1p "$T/$alg.keygen" > "$T/$alg.pub.jwk"
	kid=$(sed -n 's/^thumbprint: //p' "$T/$alg.keygen")
	if [ "$(jose jwk thp -i "$T/$alg.pub.jwk" -a S256)" = "$kid" ]; then
		ok "$alg: keygen thumbprint equals jose jwk thp"
	else
		ko "$alg: keygen thumbprint differs from jose jwk thp"
	fi
	if [ "$(stat -c %a "$T/$alg.pem")" = 600 ]; then
		ok "$alg: private key file mode 0600"
	else
		ko "$alg: private key file mode $(stat -c %a "$T/$alg.pem")"
	fi
	if "$TOOL" keygen --alg "$alg" --out "$T/$alg.pem" > /dev/null 2>&1; then
		ko "$alg: keygen overwrote an existing file"
	elif [ $? -eq 2 ]; then
		ok "$alg: keygen refuses to overwrite (exit 2)"
	else
		ko "$alg: keygen over an existing file: wrong exit code"
	fi
	if ! "$TOOL" sign "$T/$alg.pem" "$alg" "$TYP" "$T/payload" "$T/$alg.ours.jws"; then
		ko "$alg: sign"
		continue
	fi
	if jose jws ver -i "$T/$alg.ours.jws" -k "$T/$alg.pub.jwk" -O "$T/out" 2>/dev/null &&
	    cmp -s "$T/out" "$T/payload"; then
		ok "$alg: our token verifies in jose"
	else
		ko "$alg: our token does not verify in jose"
	fi
	tamper "$T/$alg.ours.jws" "$T/$alg.ours.bad"
	if jose jws ver -i "$T/$alg.ours.bad" -k "$T/$alg.pub.jwk" -O "$T/out" 2>/dev/null; then
		ko "$alg: jose accepts our tampered token"
	else
		ok "$alg: jose rejects our tampered token"
	fi
	if "$TOOL" verify "$T/$alg.pub.jwk" "$TYP" "$T/$alg.ours.bad" | grep -q '^REJECT jws-sig-invalid'; then
		ok "$alg: we reject our tampered token (jws-sig-invalid)"
	else
		ko "$alg: we do not reject our tampered token as jws-sig-invalid"
	fi

	# ---- jose -> ours
	jose jwk gen -i "{\"alg\":\"$alg\"}" -o "$T/$alg.jose.jwk" &&
	    jose jwk pub -i "$T/$alg.jose.jwk" -o "$T/$alg.jose.pub.jwk" || {
		ko "$alg: jose jwk gen"
		continue
	}
	jkid=$(jose jwk thp -i "$T/$alg.jose.pub.jwk" -a S256)
	if ! jose jws sig -I "$T/payload" -k "$T/$alg.jose.jwk" -c -o "$T/$alg.jose.jws" \
	    -s "{\"protected\":{\"alg\":\"$alg\",\"kid\":\"$jkid\",\"typ\":\"$TYP\"}}"; then
		ko "$alg: jose jws sig"
		continue
	fi
	if "$TOOL" verify "$T/$alg.jose.pub.jwk" "$TYP" "$T/$alg.jose.jws" > "$T/out" &&
	    cmp -s "$T/out" "$T/payload"; then
		ok "$alg: jose's token verifies in ours"
	else
		ko "$alg: jose's token does not verify in ours: $(cat "$T/out")"
	fi
	tamper "$T/$alg.jose.jws" "$T/$alg.jose.bad"
	if "$TOOL" verify "$T/$alg.jose.pub.jwk" "$TYP" "$T/$alg.jose.bad" | grep -q '^REJECT jws-sig-invalid'; then
		ok "$alg: we reject jose's tampered token (jws-sig-invalid)"
	else
		ko "$alg: we do not reject jose's tampered token as jws-sig-invalid"
	fi
	if jose jws ver -i "$T/$alg.jose.bad" -k "$T/$alg.jose.pub.jwk" -O "$T/out" 2>/dev/null; then
		ko "$alg: jose accepts its own tampered token"
	else
		ok "$alg: jose rejects its own tampered token"
	fi
	# A jose token with one more protected member (cty) is refused by the header rule.
	jose jws sig -I "$T/payload" -k "$T/$alg.jose.jwk" -c -o "$T/$alg.cty.jws" \
	    -s "{\"protected\":{\"alg\":\"$alg\",\"cty\":\"json\",\"kid\":\"$jkid\",\"typ\":\"$TYP\"}}"
	if "$TOOL" verify "$T/$alg.jose.pub.jwk" "$TYP" "$T/$alg.cty.jws" | grep -q '^REJECT jws-header-forbidden'; then
		ok "$alg: we reject jose's token with an extra header member"
	else
		ko "$alg: jose's token with an extra header member not rejected by the header rule"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
