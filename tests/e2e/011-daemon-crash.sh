#!/bin/sh
# Crash safety: `fedtrust build` (and once fedtrustd) on a feed of 800
# entities (3200 published files) with every output, killed with SIGKILL at several points of its
# cycle.  After each kill the list's link names a complete generation whose
# bundle verifies against its head and keys, nothing half-written is reachable,
# and the next run publishes a sequence number above every one seen.  Then a
# restart: fedtrustd serves the previous generation at once, before its first
# cycle (slow and failing sources) completes; max-stale drops a source whose
# last good fetch is too old; after the feeds' validity nothing is healthy.
. "$top_srcdir/tests/tools/common.sh"

command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }
command -v xmlsec1 > /dev/null 2>&1 || { echo "SKIP: xmlsec1 not installed"; exit 77; }

N=800
NOW=$(date +%s)
stamp() { echo "[$(($(date +%s) - NOW)) s] $*"; }
mkdir -p "$T/feeds" "$T/www" "$T/etc/trustlists"
big() { # OUT ENTITIES
	mkfeed --out "$1" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$2" \
		--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--valid-until +864000 --now "$NOW"
}
big "$T/feeds/big-a.xml" $N &
big "$T/feeds/big-b.xml" $((N + 1)) &
mkfeed --out "$T/www/m.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 3 \
	--prefix 'https://m%d.example.org/md' --valid-until +864000 --now "$NOW"
wait
cp "$T/feeds/big-a.xml" "$T/feeds/big.xml"
echo '{}' > "$T/routes.json"
start_httpsd "$T/www" "$T/routes.json"
LPORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$LPORT

CONF=$T/etc/fedtrust.conf
cat > "$CONF" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
ca-file      = $PKI/ca.pem
listen       = 127.0.0.1:$LPORT
CONF
# list.conf BIG_URL BIG_TIMEOUT
list_conf() {
	cat > "$T/etc/trustlists/big.conf" <<CONF
[trustlist]
name    = big
outputs = saml-aggregate, bundle, mdq
refresh = 1h

[source feed]
type   = saml
url    = $1
anchor = $PKI/signer.pem
fetch-timeout = $2

[source m]
type      = saml
url       = https://127.0.0.1:$PORT/files/m.xml
anchor    = $PKI/signer.pem
max-stale = 60s
CONF
}
list_conf "file://$T/feeds/big.xml" 10s
P=$T/publish/big
LOG=$T/daemon.log
seen=0				# the highest sequence number seen anywhere
note_seq() { [ -n "$1" ] && [ "$1" -gt "$seen" ] && seen=$1; return 0; }
# every sequence number the state and publish folders show
note_all() {
	for g in "$T/publish/.gen/big"/*; do
		[ -d "$g" ] && note_seq "$(basename "$g" | sed 's/^0*//')"
	done
	[ -f "$T/state/seq/big" ] && note_seq "$(tr -dc 0-9 < "$T/state/seq/big")"
	return 0
}
live_seq() { basename "$(readlink "$P")" | sed 's/^0*//'; }
now_ms() { date +%s%N | cut -c1-13; }
build() { "$FEDTRUST" build -c "$CONF" > "$T/build.out" 2>&1; }
# until_ok SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds
until_ok() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

# live_ok WHAT: the live generation is complete and consistent
live_ok() {
	what=$1
	s=$(live_seq)
	check "$what: publish/big is a link to a generation ($s)" [ -L "$P" -a -n "$s" ]
	for f in head.jwt bundle.jwt keys.json aggregate.xml "bundles/$s.jwt"; do
		[ -s "$P/$f" ] || fail "$what: $f missing from generation $s"
	done
	"$FEDTRUST" bundle verify --key "$P/keys.json" --issuer https://trust.example.org --list big \
		--head "$P/head.jwt" "$P/bundle.jwt" > "$T/verify.out" 2>&1
	check "$what: bundle verifies with its head ($(cat "$T/verify.out"))" grep -q "^OK seq=$s " "$T/verify.out"
	ne=$(sed -n 's/.* entities=\([0-9]*\).*/\1/p' "$T/verify.out")
	na=$(grep -o 'entityID="[^"]*"' "$P/aggregate.xml" | sort -u | wc -l)
	nj=$(ls "$P/entities" | grep -c '\.jwt$')
	check "$what: bundle, aggregate and entity lookups agree ($ne, $na, $nj entities)" \
		[ "$ne" = "$na" -a "$na" = "$nj" ]
	check "$what: aggregate verifies with xmlsec1" xmlsec1_ok "$P/aggregate.xml" "$PKI/operator-ec.pem"
	check "$what: no temporary file in the live generation" \
		sh -c "! find '$P/' -name '.*' -o -name '*.tmp*' -o -name '*~' | grep -q ."
	cmp -s "$P/bundle.jwt" "$P/bundles/$s.jwt" || fail "$what: bundle.jwt differs from bundles/$s.jwt"
	note_seq "$s"
}

stamp "feeds ready"
# 1. two complete builds: the first signs everything, the second is the steady case
build
rc=$?
check "first build publishes (exit $rc)" [ $rc -eq 0 -a -L "$P" ]
live_ok "first build"
cp "$T/feeds/big-b.xml" "$T/feeds/big.xml"
t0=$(now_ms)
build
D=$(($(now_ms) - t0))
live_ok "steady build (${D} ms)"
# the feed variant that differs from the live generation (a kill keeps it live)
other_variant() {
	"$FEDTRUST" bundle verify --key "$P/keys.json" --issuer https://trust.example.org --list big \
		"$P/bundle.jwt" 2> /dev/null | grep -q " entities=$((N + 3)) " && echo b || echo a
}
stamp "two builds done"

# 2. fedtrustd killed in the middle of its first cycle
cp "$T/feeds/big-$(other_variant).xml" "$T/feeds/big.xml"
"$FEDTRUSTD" -f -c "$CONF" > "$LOG.0" 2>&1 &
DAEMON_PID=$!
ms=$((D * 60 / 100))
sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
DAEMON_PID=
note_all
live_ok "fedtrustd killed"

# 3. SIGKILL at 15%, 50% and 85% of a steady build, then twice at chosen
#    points: 0.2 s after the new generation folder appears (inside the
#    write) and as soon as the link has switched (before the state is updated)
newest_gen() { ls "$T/publish/.gen/big" 2> /dev/null | sort | tail -1 | sed 's/^0*//'; }
partial=0
landed=0
for when in 15 50 85 writing switched; do
	cp "$T/feeds/big-$(other_variant).xml" "$T/feeds/big.xml"
	before=$(live_seq)
	top=$(newest_gen)
	"$FEDTRUST" build -c "$CONF" > "$T/build.out" 2>&1 &
	pid=$!
	case $when in
	writing)
		until_ok 30 sh -c "[ \$(ls '$T/publish/.gen/big' | sort | tail -1 | sed 's/^0*//') -gt $top ]" ||
			fail "no new generation folder appeared"
		;;
	switched)
		until_ok 30 sh -c "[ \"\$(readlink '$P')\" != '$(readlink "$P")' ]" ||
			fail "the link did not switch"
		;;
	*)
		ms=$((D * when / 100))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		;;
	esac
	kill -KILL $pid 2> /dev/null
	wait $pid 2> /dev/null
	after=$(live_seq)
	for g in "$T/publish/.gen/big"/*; do
		[ -d "$g" ] || continue
		s=$(basename "$g" | sed 's/^0*//')
		[ "$s" -gt "${after:-0}" ] && partial=$((partial + 1))
	done
	echo "kill ($when): live $before -> $after, seq file $(cat "$T/state/seq/big" 2> /dev/null)," \
		"generations: $(ls "$T/publish/.gen/big" | sed 's/^0*//' | tr '\n' ' ')"
	note_all
	live_ok "killed ($when)"
	case $when in
	# where a kill lands is up to the scheduler: when it came before the switch,
	# the previous generation must be live and the half-written one left aside
	writing)
		if [ "$after" = "$before" ]; then
			landed=1
			pass "the kill inside the write left the previous generation live"
		else
			echo "note: the kill meant for the write landed after the switch ($before -> $after)"
		fi;;
	switched) check "the kill after the switch left the new generation live" [ "$after" -gt "$before" ];;
	esac
done
stamp "kills done"
echo "kills that left a partial generation: $partial"
if [ "$landed" = 1 ]; then
	check "the kill inside the write left a half-written generation aside (not live) ($partial)" \
	    [ $partial -ge 1 ]
fi

# 4. the next run publishes the feed, above every number seen (a kill after
#    the switch must not leave state that calls a different live generation
#    "unchanged")
v=$(other_variant)
cp "$T/feeds/big-$v.xml" "$T/feeds/big.xml"
[ $v = a ] && want=$((N + 3)) || want=$((N + 4))
build
rc=$?
check "build after the kills exits 0 (got $rc)" [ $rc -eq 0 ]
check "build after the kills publishes a generation ($(grep 'list=big' "$T/build.out" | tail -1))" \
	grep -q 'list=big: published generation' "$T/build.out"
"$FEDTRUST" bundle verify --key "$P/keys.json" --issuer https://trust.example.org --list big \
	"$P/bundle.jwt" > "$T/verify.out" 2>&1
check "the live generation holds the feed's $want entities ($(cat "$T/verify.out"))" \
	grep -q " entities=$want " "$T/verify.out"
s=$(live_seq)
check "its seq $s is above every seq seen ($seen)" [ "$s" -gt "$seen" ]
live_ok "after the kills"
check "no temporary link left in publish-dir" sh -c "! ls -a '$T/publish' | grep -q '^\\.tmp-'"
OLDHEAD=$T/old-head.jwt
cp "$P/head.jwt" "$OLDHEAD"
OLDSEQ=$s

stamp "crash part done"
# 5. restart: the feed stalls (1 byte/s until the 6 s fetch timeout), m
#    answers 500 and its last good fetch is older than max-stale (-P one hour on)
list_conf "https://127.0.0.1:$PORT/slow?bytes=100000&delay=1" 6s
printf '%s\n' '{"/files/m.xml": {"status": 500, "type": "text/plain", "body": "down"}}' > "$T/routes.json"
"$FEDTRUSTD" -f -c "$CONF" -P $((NOW + 3600)) > "$LOG" 2>&1 &
DAEMON_PID=$!
served() { [ "$(curl -s -o "$T/head.jwt" -w '%{http_code}' "$U/big/head.jwt")" = 200 ]; }
check "restart: head.jwt served within 2 s" until_ok 20 served
check "restart: it is the previous generation's head" cmp -s "$T/head.jwt" "$OLDHEAD"
check "restart: served before the first cycle completed" \
	sh -c "! grep -q 'fedtrustd: ready\\|list=big: published\\|list=big: unchanged' '$LOG'"
c=$(curl -s -o "$T/health" -w '%{http_code}' "$U/healthz")
check "restart: /healthz during the first cycle: 200 ok or 503 never published (got $c: $(head -1 "$T/health"))" \
	sh -c "{ [ $c = 200 ] && [ \"\$(head -1 '$T/health')\" = ok ]; } ||
		{ [ $c = 503 ] && grep -q '^list big: never published' '$T/health'; }"
for f in ".gen/big/$(printf '%020d' "$OLDSEQ")/head.jwt" .gen/big/ ".tmp-big.x/head.jwt"; do
	c=$(curl -s -o /dev/null -w '%{http_code}' "$U/$f")
	check "restart: /$f not served (got $c)" [ "$c" != 200 ]
done
logged() { grep -q -- "$1" "$LOG"; }
check "restart: ready after the first cycle" until_ok 30 logged 'fedtrustd: ready'
check "restart: the stalled feed times out" logged 'source=big/feed reason=fetch-timeout'
check "restart: the feed's last good copy is used" logged 'source=big/feed: serving the last good copy'
check "restart: m fails with its HTTP status" logged 'source=big/m reason=fetch-http-status'
check "restart: m's last good copy is past max-stale" logged 'source=big/m reason=stale-expired: .*max-stale'
s=$(curl -s "$U/big/head.jwt" | cut -d. -f2 | "$PYTHON3" -c '
import base64, json, sys
s = sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["seq"])')
check "restart: a new generation without m ($OLDSEQ -> $s)" [ "$s" -gt "$OLDSEQ" ]
check "restart: m's entities are gone" \
	sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$U/big/entities/https%3A%2F%2Fm0.example.org%2Fmd')\" = 404 ]"
c=$(curl -s -o "$T/health" -w '%{http_code}' "$U/healthz")
check "restart: /healthz 200 ok after the cycle (got $c: $(head -1 "$T/health"))" \
	sh -c "[ $c = 200 ] && [ \"\$(head -1 '$T/health')\" = ok ]"
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
check "restart: SIGTERM exit 0 (got $rc)" [ $rc -eq 0 ]

stamp "first restart done"
# 6. restart 20 days on: every last good copy has expired; the old generation
#    is still served as it is, and health says the list is not healthy
list_conf "https://127.0.0.1:1/big.xml" 6s
cp "$LOG" "$LOG.1"
cp "$P/head.jwt" "$OLDHEAD"
"$FEDTRUSTD" -f -c "$CONF" -P $((NOW + 20 * 86400)) > "$LOG" 2>&1 &
DAEMON_PID=$!
check "expired: ready" until_ok 30 logged 'fedtrustd: ready'
served
check "expired: head.jwt still served as it is" cmp -s "$T/head.jwt" "$OLDHEAD"
check "expired: the feed's last good copy is refused (stale-expired)" \
	logged 'source=big/feed reason=stale-expired'
c=$(curl -s -o "$T/health" -w '%{http_code}' "$U/healthz")
check "expired: /healthz 503 (got $c)" [ "$c" = 503 ]
check "expired: /healthz names the list ($(head -1 "$T/health"))" grep -q '^list big: ' "$T/health"
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
check "expired: SIGTERM exit 0 (got $rc)" [ $rc -eq 0 ]
check "no sanitizer report in the logs" sh -c "! cat '$LOG' '$LOG.0' '$LOG.1' | grep -q 'runtime error:\|Sanitizer'"
[ "$NFAIL" -eq 0 ] || { echo "--- daemon log (tail, repeats removed)"; tail -300 "$LOG" | awk '!seen[$0]++' | tail -30; }
finish
