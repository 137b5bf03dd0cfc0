#!/bin/sh
# The project's own hostile corpus (docs/hostile-corpus.md): generate every case with fresh keys and
# signatures (tests/hostile/gen.py), run `fedtrust verify` on each under a time and memory cap, and
# compare the verdict with the case's expected code.  Independently cross-check the corpus itself with
# xmlsec1 (pinned key): accept-controls must verify, sig-invalid cases must not, and wrapping cases must
# still carry a valid digest over the moved original (so their rejection is structural).
#
# Environment (set by `make check`): FEDTRUST, PYTHON3 (default python3), TESTDATA (tests/ sources),
# top_builddir.  Optional: HOSTILE_ONLY=substring (subset of cases), HOSTILE_KEEP=1 (keep the temp
# directory), HOSTILE_XMLSEC_ONLY=1 (only the xmlsec1 cross-check, no fedtrust needed),
# HOSTILE_VMEM_KB (address-space cap per run, default 2 GB; not applied to ASan builds).
set -u

: "${PYTHON3:=python3}"
: "${TESTDATA:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=.}"
: "${FEDTRUST:=$top_builddir/src/fedtrust}"
: "${HOSTILE_VMEM_KB:=2097152}"
xmlsec_only=${HOSTILE_XMLSEC_ONLY:-0}

if [ "$xmlsec_only" != 1 ] && [ ! -x "$FEDTRUST" ]; then
	echo "hostile: $FEDTRUST is not built" >&2
	exit 99
fi

mkdir -p "$top_builddir/tests/tmp"
tmp=$(mktemp -d "$top_builddir/tests/tmp/hostile.XXXXXX") || exit 99
canary_pid=
cleanup() {
	[ -n "$canary_pid" ] && kill "$canary_pid" 2>/dev/null
	if [ "${HOSTILE_KEEP:-0}" = 1 ]; then
		echo "hostile: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

sh "$TESTDATA/tools/mkpki.sh" "$tmp/pki" || { echo "hostile: mkpki.sh failed" >&2; exit 99; }
# B5 canary: every outbound reference in the corpus (external DTD, entities, Reference URI, Manifest,
# RetrievalMethod) points at this loopback listener; any connection to it is a failure.  It exits by
# itself after 10 idle minutes.
"$PYTHON3" - "$tmp/canary" <<'EOF' &
import os, socket, sys
base = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
s.settimeout(600)
with open(base + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(base + ".tmp", base + ".port")
try:
    while True:
        c, a = s.accept()
        with open(base + ".hits", "a") as f:
            f.write("connection from %s:%d\n" % a)
        c.close()
except socket.timeout:
    pass
EOF
canary_pid=$!
i=0
while [ ! -f "$tmp/canary.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$tmp/canary.port" ] || { echo "hostile: canary listener did not start" >&2; exit 99; }
canary="http://127.0.0.1:$(cat "$tmp/canary.port")"

only=
[ -n "${HOSTILE_ONLY:-}" ] && only="--only=$HOSTILE_ONLY"
# shellcheck disable=SC2086
"$PYTHON3" "$TESTDATA/hostile/gen.py" "$tmp/cases" "$tmp/pki" --canary "$canary" $only || {
	echo "hostile: gen.py failed" >&2; exit 99; }

# A sanitizer build reserves terabytes of address space: an address-space cap would break it.
vmem_cap=$HOSTILE_VMEM_KB
if [ "$xmlsec_only" != 1 ] && { ldd "$FEDTRUST" 2>/dev/null | grep -q 'libasan'; }; then
	echo "hostile: ASan build, no address-space cap (time cap still applies)"
	vmem_cap=unlimited
fi
have_xmlsec=1
command -v xmlsec1 >/dev/null 2>&1 || { have_xmlsec=0; echo "hostile: xmlsec1 missing, no cross-check"; }

pass=0
fail=0
nl='
'

for c in "$tmp/cases"/*/; do
	c=${c%/}
	name=${c##*/}
	case $name in _*) continue ;; esac
	expect=$(cat "$c/expect")
	ok=1
	msg=

	if [ "$xmlsec_only" != 1 ]; then
		oldifs=$IFS
		IFS=$nl
		set -f	# signer-name globs in args must not be expanded
		# shellcheck disable=SC2046
		set -- $(cat "$c/args")
		set +f
		IFS=$oldifs
		(
			ulimit -v "$vmem_cap" 2>/dev/null
			exec timeout 60 "$FEDTRUST" verify "$@" "$c/doc.xml"
		) >"$c/out" 2>"$c/err" </dev/null
		rc=$?
		line=$(grep -E '^(ACCEPT|REJECT) ' "$c/out" | head -n 1)
		word=${line%% *}
		rest=${line#* }
		if [ "$word" = ACCEPT ]; then
			got="ACCEPT ${rest%% *}"
		elif [ "$word" = REJECT ]; then
			code=${rest%%:*}
			got="REJECT ${code%% *}"
		else
			got="no verdict"
		fi
		case $expect in
		"ACCEPT")	match=ACCEPT; have=$word ;;
		*)		match=$expect; have=$got ;;
		esac
		if [ "$rc" -eq 124 ]; then
			ok=0; msg="timed out after 60 s (hang)"
		elif [ "$rc" -gt 128 ]; then
			ok=0; msg="crashed (exit $rc): $(tail -n 2 "$c/err" | tr '\n' ' ')"
		elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
			ok=0; msg="exit $rc, $got: $(tail -n 2 "$c/err" | tr '\n' ' ')"
		elif grep -q -E 'runtime error:|Sanitizer' "$c/err"; then
			ok=0; msg="sanitizer report: $(grep -m 1 -E 'runtime error:|Sanitizer' "$c/err")"
		elif [ "$have" != "$match" ]; then
			ok=0; msg="expected $expect, got $got"
		elif { [ "$word" = ACCEPT ] && [ "$rc" -ne 0 ]; } || { [ "$word" = REJECT ] && [ "$rc" -ne 1 ]; }; then
			ok=0; msg="$got but exit $rc"
		fi
	fi

	# Cross-check of the corpus with an independent verifier (pinned key only; documented
	# differences, e.g. xmlsec1 accepting rsa-sha1 or a wrapped original, are encoded as the
	# expected xmlsec1 result by gen.py, with the reason in the case's `why`).
	if [ "$have_xmlsec" = 1 ] && [ -f "$c/xmlsec" ]; then
		xexp=$(head -n 1 "$c/xmlsec")
		oldifs=$IFS
		IFS=$nl
		set -f
		# shellcheck disable=SC2046
		set -- $(tail -n +2 "$c/xmlsec")
		set +f
		IFS=$oldifs
		if timeout 60 xmlsec1 --verify --enabled-reference-uris empty,same-doc \
		    --enabled-key-data raw-x509-cert "$@" "$c/doc.xml" >"$c/xmlsec.out" 2>&1; then
			xgot=OK
		else
			xgot=FAIL
		fi
		if [ "$xgot" != "$xexp" ]; then
			ok=0
			msg="${msg:+$msg; }xmlsec1 cross-check: expected $xexp, got $xgot"
		fi
	fi

	if [ "$ok" = 1 ]; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: $msg"
	fi
done

if [ -s "$tmp/canary.hits" ]; then
	fail=$((fail + 1))
	echo "FAIL canary: $(wc -l <"$tmp/canary.hits") outbound connection(s) to $canary (B5)"
else
	echo "PASS canary: no outbound connection to $canary"
fi

echo "$pass passed, $fail failed"
[ "$pass" -gt 0 ] || exit 99
[ "$fail" -eq 0 ]
