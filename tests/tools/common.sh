# Sourced by the script tests (e2e, interop): temp folder, test PKI, the
# HTTPS test server and small assertion helpers.  `make check` exports
# top_srcdir, top_builddir, FEDTRUST, FEDTRUSTD, PYTHON3 and CORPUS.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"
FEDTRUST=${FEDTRUST:-$top_builddir/src/fedtrust}
FEDTRUSTD=${FEDTRUSTD:-$top_builddir/src/fedtrustd}
PYTHON3=${PYTHON3:-python3}
TOOLS=$top_srcdir/tests/tools
T=$top_builddir/tests/tmp/$(basename "$0" .sh).$$
rm -rf "$T"
mkdir -p "$T"
PKI=$top_builddir/tests/tmp/pki
mkdir -p "$PKI"
flock "$PKI.lock" sh "$TOOLS/mkpki.sh" "$PKI"
NPASS=0
NFAIL=0
HTTPSD_PID=

cleanup() {
	[ -n "$HTTPSD_PID" ] && kill "$HTTPSD_PID" 2>/dev/null || true
	[ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null || true
	if [ "$NFAIL" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; fi
}
trap cleanup EXIT

pass() { NPASS=$((NPASS + 1)); echo "PASS: $*"; }
fail() { NFAIL=$((NFAIL + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: pass when the command succeeds
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# Print the summary line and exit with the verdict.
finish() {
	echo "$NPASS passed, $NFAIL failed"
	[ "$NFAIL" -eq 0 ]
}

mkfeed() { "$PYTHON3" "$TOOLS/mkfeed.py" "$@"; }

# start_httpsd ROOT [ROUTES]: serve ROOT at https://127.0.0.1:$PORT/files/NAME
# (and the route table ROUTES, re-read per request, when given); it exits by
# itself after HTTPSD_LIFETIME seconds (default 1800: a safety net for
# an orphaned server; slow CI runs of the daemon tests take minutes)
start_httpsd() {
	rm -f "$T/port"
	"$PYTHON3" "$TOOLS/httpsd.py" --cert "$PKI/server.pem" --key "$PKI/server.key" \
		--root "$1" ${2:+--routes "$2"} --port-file "$T/port" --lifetime "${HTTPSD_LIFETIME:-1800}" \
		> "$T/httpsd.log" 2>&1 &
	HTTPSD_PID=$!
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "httpsd did not start"; cat "$T/httpsd.log"; exit 1; }
		sleep 0.1
	done
	PORT=$(cat "$T/port")
}

# An xmlsec1 check of a published aggregate, pinned to the operator certificate.
xmlsec1_ok() {
	xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
		--pubkey-cert-pem "$2" --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor \
		"$1" > /dev/null 2>&1
}

# A free TCP port on 127.0.0.1 (for fedtrustd's listen).
free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# main_conf FILE [LINE...]: a [fedtrust] section for a test daemon or build in $T
# (operator EC key, the test CA for fetches, trustlists beside FILE), then LINEs.
main_conf() {
	f=$1
	shift
	{
		echo "[fedtrust]"
		echo "issuer       = https://trust.example.org"
		echo "state-dir    = $T/state"
		echo "publish-dir  = $T/publish"
		echo "trustlists   = trustlists"
		echo "signing-key  = $PKI/operator-ec.key"
		echo "signing-cert = $PKI/operator-ec.pem"
		echo "ca-file      = $PKI/ca.pem"
		for l in "$@"; do echo "$l"; done
	} > "$f"
}
