#!/bin/sh
# fedtrustd, `fedtrust build` and `fedtrust pull --once` end to end under
# valgrind (memcheck): a small feed over HTTPS, the daemon publishes, a
# `fedtrust refresh` makes a second cycle, /metrics and a HEAD of head.jwt
# are served, SIGTERM stops it.  The fetch and verify children that
# src/privsep.c forks for every cycle are checked too
# (--child-silent-after-fork=no, one log per process).  Every process must
# end with "ERROR SUMMARY: 0 errors" and nothing definitely or indirectly
# lost; valgrind's own exit status (99 on an error) must not appear.
# Skipped without valgrind and in a sanitizer build (ASan and valgrind do
# not mix).
. "$top_srcdir/tests/tools/common.sh"

command -v valgrind > /dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 77; }
command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }
if nm "$FEDTRUSTD" 2> /dev/null | grep -q '__asan_init' ||
    ldd "$FEDTRUSTD" 2> /dev/null | grep -q 'libasan'; then
	echo "SKIP: a sanitizer build (valgrind does not run ASan binaries)"
	exit 77
fi

VG="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
	--track-fds=no --trace-children=no --child-silent-after-fork=no --num-callers=30"
NOW=$(date +%s)
mkdir -p "$T/www" "$T/etc/trustlists" "$T/vg"
feed() {
	mkfeed --out "$1" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$2" \
		--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--valid-until +864000 --now "$NOW"
}
feed "$T/www/a.xml" 3
feed "$T/a2.xml" 4
start_httpsd "$T/www"
LPORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$LPORT
CONF=$T/etc/fedtrust.conf
cat > "$CONF" <<CONF
[fedtrust]
issuer       = https://trust.example.org
base-url     = https://127.0.0.1:$PORT/files/
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
ca-file      = $PKI/ca.pem
listen       = 127.0.0.1:$LPORT
CONF
cat > "$T/etc/trustlists/demo.conf" <<CONF
[trustlist]
name    = demo
outputs = saml-aggregate, bundle, mdq

[source a]
type   = saml
url    = https://127.0.0.1:$PORT/files/a.xml
anchor = $PKI/signer.pem
CONF
until_ok() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; n=$((n - 1)); sleep 0.1; done; return 1; }
LOG=$T/daemon.log
# logged PATTERN: in the daemon log (fails at once when the daemon is gone)
logged() {
	grep -q -- "$1" "$LOG" && return 0
	kill -0 "$DAEMON_PID" 2> /dev/null && return 1
	echo "fedtrustd is gone"
	exit 1
}
# vg_ok NAME: every valgrind log of NAME is clean (VG_SUMMARIES: logs with a summary)
vg_ok() {
	n=0
	k=0
	for f in "$T/vg/$1".*.log; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		# the fetch child is SIGKILLed after each cycle (privsep.c): no summary, errors still logged
		grep -q 'ERROR SUMMARY: 0 errors' "$f" && k=$((k + 1))
		if grep -q 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|indirectly lost: [1-9]\|Invalid \(read\|write\|free\)\|uninitialised\|Conditional jump\|Syscall param\|Mismatched free\|overlap' "$f"; then
			fail "valgrind: $1: $(basename "$f") reports errors:"
			sed -n '1,80p' "$f"
		fi
	done
	check "valgrind: $1: $n process logs, all clean, $k with 'ERROR SUMMARY: 0 errors'" [ $k -ge 1 ]
	VG_SUMMARIES=$k
}
t0=$(date +%s)

# 1. the daemon: first cycle, a refresh and a second cycle, /metrics, HEAD, SIGTERM
$VG --log-file="$T/vg/fedtrustd.%p.log" "$FEDTRUSTD" -f -c "$CONF" -v > "$LOG" 2>&1 &
DAEMON_PID=$!
check "fedtrustd under valgrind: ready (first cycle published)" until_ok 90 logged 'fedtrustd: ready'
check "the first cycle published generation 1" logged 'list=demo: published generation 1 '
cp "$T/a2.xml" "$T/www/a.xml"
timeout 60 "$FEDTRUST" refresh -c "$CONF" --list demo --source a > "$T/refresh.out" 2>&1
check "fedtrust refresh: ok ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "the second cycle published generation 2" until_ok 60 logged 'list=demo: published generation 2 '
c=$(curl -s -o "$T/metrics" -w '%{http_code}' "$U/metrics")
check "/metrics 200 (got $c)" [ "$c" = 200 ]
check "/metrics: demo seq 2" grep -q '^fedtrust_list_seq{list="demo"} 2$' "$T/metrics"
c=$(curl -s -I -o /dev/null -w '%{http_code}' "$U/demo/head.jwt")
check "HEAD /demo/head.jwt 200 (got $c)" [ "$c" = 200 ]
c=$(curl -s -o /dev/null -w '%{http_code}' "$U/demo/entities/https%3A%2F%2Fe3.example.org%2Fmd" -H 'Accept: application/samlmetadata+xml')
check "GET of a per-entity lookup 200 (got $c)" [ "$c" = 200 ]
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
check "fedtrustd under valgrind: SIGTERM exit 0 (got $rc; 99 = valgrind found errors)" [ $rc -eq 0 ]
vg_ok fedtrustd
np=$VG_SUMMARIES
# main, and a verify child for each of the two cycles, ran to their end
check "fedtrustd: the forked verify children were checked too ($np summaries)" [ "$np" -ge 3 ]
echo "daemon part: $(($(date +%s) - t0)) s"

# 2. fedtrust build (one cycle with its children)
feed "$T/www/a.xml" 5
$VG --log-file="$T/vg/build.%p.log" "$FEDTRUST" build -c "$CONF" > "$T/build.out" 2>&1
rc=$?
check "fedtrust build under valgrind: exit 0 (got $rc)" [ $rc -eq 0 ]
check "fedtrust build published generation 3" grep -q 'list=demo: published generation 3 ' "$T/build.out"
vg_ok build

# 3. fedtrust pull --once from the published folder
rm -rf "$T/www/demo"
cp -rL "$T/publish/demo" "$T/www/demo"
openssl pkey -in "$PKI/operator-ec.key" -pubout -out "$T/op.pub.pem" 2> /dev/null
mkdir -p "$T/consumer"
cat > "$T/consumer/pull.conf" <<CONF
[pull]
url         = https://127.0.0.1:$PORT/files/demo/
issuer      = https://trust.example.org
list        = demo
key         = $T/op.pub.pem
state-dir   = state
output-dir  = out
ca-file     = $PKI/ca.pem
outputs     = pem, nginx-map, jwks
CONF
$VG --log-file="$T/vg/pull.%p.log" "$FEDTRUST" pull -c "$T/consumer/pull.conf" --once > "$T/pull.out" 2>&1
rc=$?
check "fedtrust pull --once under valgrind: exit 0 (got $rc: $(tail -1 "$T/pull.out"))" [ $rc -eq 0 ]
check "pull wrote the nginx map" [ -s "$T/consumer/out/nginx-map.conf" ]
vg_ok pull
echo "total: $(($(date +%s) - t0)) s"
[ "$NFAIL" -eq 0 ] || { echo "--- daemon log (tail)"; tail -30 "$LOG"; }
finish
