#!/bin/sh
# fedtrustd end to end: SAML feeds served over HTTPS (tests/tools/httpsd.py),
# the daemon in the foreground with its HTTP server on loopback and the
# evaluation time pinned with -P.  Checks: everything is served once ready;
# `fedtrust refresh` makes one source due now (new generation, new entity
# looked up by id), is rate limited, costs a 304 and no new generation when
# nothing changed, and fetches nothing else; readers never see a head whose
# bundle is not the one it names while generations switch; a failing source
# keeps its last good copy until that copy's validUntil, then the list turns
# unhealthy; a broken configuration on SIGHUP keeps the running one; /metrics
# and /healthz; SIGTERM stops with exit 0.
. "$top_srcdir/tests/tools/common.sh"

command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }

NOW=$(date +%s)
P=$((NOW + 3600))		# fedtrustd -P: evaluation starts one hour ahead
mkdir -p "$T/www" "$T/feeds" "$T/etc/trustlists"
feed() { # OUT ENTITIES PREFIX [mkfeed args]
	out=$1 n=$2 prefix=$3
	shift 3
	mkfeed --out "$out" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$n" \
		--prefix "$prefix" --entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--now "$NOW" "$@"
}
# research/a: e0..e4, then e0..e5; short/s: s0..s1 (a short-lived version later)
feed "$T/www/a.xml" 5 'https://e%d.example.org/md' --valid-until +864000
feed "$T/feeds/a2.xml" 6 'https://e%d.example.org/md' --valid-until +864000
feed "$T/www/s.xml" 2 'https://s%d.example.org/md' --valid-until +864000
# churn/c1..c4: 250 entities each, and a second version of each with one more
for i in 1 2 3 4; do
	feed "$T/www/c$i.xml" 250 "https://c$i-%d.example.org/md" --valid-until +864000 &
	feed "$T/feeds/c$i-2.xml" 251 "https://c$i-%d.example.org/md" --valid-until +864000 &
done
wait
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
fetch-timeout = 10s
CONF
cat > "$T/etc/trustlists/research.conf" <<CONF
[trustlist]
name    = research
outputs = saml-aggregate, bundle, mdq
refresh = 1h

[source a]
type   = saml
url    = https://127.0.0.1:$PORT/files/a.xml
anchor = $PKI/signer.pem
CONF
cat > "$T/etc/trustlists/short.conf" <<CONF
[trustlist]
name    = short
outputs = saml-aggregate, bundle
refresh = 1h

[source s]
type   = saml
url    = https://127.0.0.1:$PORT/files/s.xml
anchor = $PKI/signer.pem
CONF
{
	printf '[trustlist]\nname    = churn\noutputs = bundle\nrefresh = 1h\n'
	for i in 1 2 3 4; do
		printf '\n[source c%s]\ntype   = saml\nurl    = https://127.0.0.1:%s/files/c%s.xml\nanchor = %s\n' \
			"$i" "$PORT" "$i" "$PKI/signer.pem"
	done
} > "$T/etc/trustlists/churn.conf"

LOG=$T/daemon.log
# code URL [curl args]: the HTTP status; the body in $T/body
code() { u=$1; shift; curl -s -o "$T/body" -w '%{http_code}' "$@" "$u"; }
# payload FILE: the JSON payload of a compact JWS (unverified, for reading fields)
payload() { "$PYTHON3" -c '
import base64, json, sys
s = open(sys.argv[1]).read().strip().split(".")[1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))))' "$1"; }
# seq LIST: seq of the head.jwt the daemon serves for LIST (empty when none)
seq() {
	[ "$(code "$U/$1/head.jwt")" = 200 ] || return 0
	payload "$T/body" | "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["seq"])'
}
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
seq_after() { s=$(seq "$1"); [ -n "$s" ] && [ "$s" -gt "$2" ]; }
logged() { grep -q -- "$1" "$LOG"; }
# refresh ARGS: fedtrust refresh (the daemon answers between cycles; never wait 2 minutes here)
refresh() { timeout 20 "$FEDTRUST" refresh -c "$CONF" "$@" > "$T/refresh.out" 2>&1; }
now_ms() { date +%s%N | cut -c1-13; }
# evaluation time of the daemon now (-P advances at the real pace)
evalnow() { echo $((P + $(date +%s) - DSTART)); }
count() { grep -c -- "$1" "$T/httpsd.log"; }
# nshort: entities of the short list's served aggregate
nshort() { curl -s "$U/short/aggregate.xml" | grep -o 'entityID="[^"]*"' | sort -u | wc -l; }
# b64sha FILE: base64url SHA-256 of the file (a head's bdig)
b64sha() { "$PYTHON3" -c '
import base64, hashlib, sys
print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode().rstrip("="))' "$1"; }
# at_least1 N: N, or 1 when N < 1 (a wait that may already be over)
at_least1() { [ "$1" -lt 1 ] && echo 1 || echo "$1"; }

# 1. start: the HTTP server answers at once, the first cycle publishes every list
DSTART=$(date +%s)
"$FEDTRUSTD" -f -c "$CONF" -P "$P" -v > "$LOG" 2>&1 &
DAEMON_PID=$!
first=
n=0
while [ -z "$first" ] && [ $n -lt 100 ]; do
	c=$(code "$U/healthz")
	[ "$c" != 000 ] && first="$c $(head -1 "$T/body")"
	n=$((n + 1))
	sleep 0.05
done
check "HTTP server answers before the first cycle completes: /healthz 503 never published (got '$first')" \
	sh -c "echo '$first' | grep -q '^503 list [a-z]*: never published'"
check "fedtrustd: ready logged" until_ok 30 logged 'fedtrustd: ready'
check "ready only after the first publication" \
	sh -c "sed -n '1,/fedtrustd: ready/p' '$LOG' | grep -q 'list=churn: published generation'"
for l in research short churn; do
	check "/$l/head.jwt served" [ "$(code "$U/$l/head.jwt")" = 200 ]
done
check "/research/aggregate.xml served and verifies with xmlsec1" \
	sh -c "[ \"\$(curl -s -o '$T/agg.xml' -w '%{http_code}' '$U/research/aggregate.xml')\" = 200 ] &&
		xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
		--pubkey-cert-pem '$PKI/operator-ec.pem' \
		--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor '$T/agg.xml' > /dev/null 2>&1"
c=$(code "$U/healthz")
check "/healthz 200 ok once every list is published (got $c: $(head -1 "$T/body"))" \
	sh -c "[ $c = 200 ] && [ \"\$(head -1 '$T/body')\" = ok ]"
R1=$(seq research)
S1=$(seq short)
check "research seq is a number ($R1)" [ -n "$R1" ]
E5=$U/research/entities/https%3A%2F%2Fe5.example.org%2Fmd
c=$(code "$E5" -H 'Accept: application/samlmetadata+xml')
check "entity e5 not known yet (got $c)" [ "$c" = 404 ]

# 2. a changed feed is picked up after `fedtrust refresh`, and only that source is fetched
cp "$T/feeds/a2.xml" "$T/www/a.xml"
before_a=$(count 'GET /files/a.xml ')
before_all=$(count 'GET /files/')
T0=$(date +%s)
t=$(now_ms)
refresh --list research --source a
rc=$?
dt=$(($(now_ms) - t))
check "fedtrust refresh --list research --source a: exit 0 (got $rc)" [ $rc -eq 0 ]
check "fedtrust refresh prints 'ok 1' ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "the idle daemon answered the refresh within 2 s (${dt} ms)" [ $dt -le 2000 ]
t=$(now_ms)
check "new research generation after the refresh" until_ok 15 seq_after research "$R1"
echo "new generation $(($(now_ms) - t)) ms after the answer"
R2=$(seq research)
check "log: list=research: published generation $R2 with 6 entities" \
	logged "list=research: published generation $R2 with 6 entities"
c=$(code "$E5" -H 'Accept: application/samlmetadata+xml')
check "GET /research/entities/<e5> with Accept samlmetadata+xml: 200 (got $c)" [ "$c" = 200 ]
check "it is e5's EntityDescriptor" grep -q 'entityID="https://e5.example.org/md"' "$T/body"
check "a.xml fetched once by the refresh" [ $(($(count 'GET /files/a.xml ') - before_a)) -eq 1 ]
check "no other source fetched (not due)" [ $(($(count 'GET /files/') - before_all)) -eq 1 ]
refresh --list research --source a
rc=$?
check "second forced refresh within 10 s: exit 1 (got $rc)" [ $rc -eq 1 ]
check "second forced refresh: rate limited ($(cat "$T/refresh.out"))" grep -q '^error.*rate limited' "$T/refresh.out"
refresh --list nosuchlist
rc=$?
check "refresh of an unknown list: exit 1, error (got $rc: $(cat "$T/refresh.out"))" \
	sh -c "[ $rc -eq 1 ] && grep -q '^error' '$T/refresh.out'"

# 3. concurrent readers: head.jwt, then the bundle its burl names; the digest
#    must be the head's bdig, while the churn list publishes 4 generations
cat > "$T/readers.py" <<'PY'
import base64, hashlib, json, os, sys, threading, time, urllib.error, urllib.parse, urllib.request
base, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
res = {"ok": 0, "mismatch": 0, "missing": 0, "backwards": 0, "other": 0, "seqs": set(), "notes": []}

def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()

def note(kind, text):
    with lock:
        res[kind] += 1
        if len(res["notes"]) < 10:
            res["notes"].append("%s: %s" % (kind, text))

def reader():
    last = 0
    end = time.time() + 120  # never outlive a test that died
    while not os.path.exists(stop) and time.time() < end:
        try:
            head = get(base + "/churn/head.jwt").decode()
            s = head.split(".")[1]
            p = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
            if p["seq"] < last:
                note("backwards", "seq %d after %d" % (p["seq"], last))
            last = p["seq"]
            path = urllib.parse.urlsplit(p["burl"]).path
            try:
                b = get(base + path)
            except urllib.error.HTTPError as e:
                note("missing", "%s -> %d (head seq %d)" % (path, e.code, p["seq"]))
                continue
            d = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).decode().rstrip("=")
            if d != p["bdig"]:
                note("mismatch", "head seq %d bdig %s, %s has %s" % (p["seq"], p["bdig"], path, d))
                continue
            with lock:
                res["ok"] += 1
                res["seqs"].add(p["seq"])
        except Exception as e:
            note("other", repr(e))

ts = [threading.Thread(target=reader) for _ in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
res["seqs"] = len(res["seqs"])
json.dump(res, open(out, "w"))
PY
C1=$(seq churn)
rm -f "$T/stop"
"$PYTHON3" "$T/readers.py" "$U" "$T/stop" "$T/readers.json" &
READERS=$!
sleep 0.5
last=$C1
for i in 1 2 3 4; do
	curl -s -o "$T/prevhead.jwt" "$U/churn/head.jwt"
	cp "$T/feeds/c$i-2.xml" "$T/www/c$i.xml"
	refresh --list churn --source "c$i" || { fail "refresh of churn/c$i: $(cat "$T/refresh.out")"; break; }
	until_ok 15 seq_after churn "$last" || { fail "churn generation after refreshing c$i"; break; }
	last=$(seq churn)
	sleep 0.3
done
touch "$T/stop"
wait "$READERS"
echo "readers: $(cat "$T/readers.json" 2> /dev/null)"
rj() { "$PYTHON3" -c "import json, sys; r = json.load(open(sys.argv[1])); print($1)" "$T/readers.json"; }
check "churn published 4 new generations ($C1 -> $last)" [ "$last" -ge $((C1 + 4)) ]
check "readers completed head+bundle rounds ($(rj 'r["ok"]'))" [ "$(rj 'r["ok"]')" -gt 20 ]
check "readers saw at least 3 generations ($(rj 'r["seqs"]'))" [ "$(rj 'r["seqs"]')" -ge 3 ]
check "no bundle whose digest differs from the head's bdig" [ "$(rj 'r["mismatch"]')" -eq 0 ]
check "no head whose burl was not served" [ "$(rj 'r["missing"]')" -eq 0 ]
check "no head seq going backwards" [ "$(rj 'r["backwards"]')" -eq 0 ]
check "no other reader error" [ "$(rj 'r["other"]')" -eq 0 ]
# a consumer that read the head just before the switch fetches its burl just after
pseq=$(payload "$T/prevhead.jwt" | "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["seq"])')
pdig=$(payload "$T/prevhead.jwt" | "$PYTHON3" -c 'import json, sys; print(json.load(sys.stdin)["bdig"])')
c=$(code "$U/churn/bundles/$pseq.jwt")
check "the previous head's burl (bundles/$pseq.jwt) is still served after the switch (got $c)" [ "$c" = 200 ]
check "and it is the bundle that head named" [ "$(b64sha "$T/body")" = "$pdig" ]

# 4. SIGHUP with a broken trust list: the running configuration stays
cat > "$T/etc/trustlists/extra.conf" <<CONF
[trustlist]
name = extra

[source x]
type   = saml
url    = https://127.0.0.1:$PORT/files/s.xml
anchor = $PKI/signer.pem
bogus  = 1
CONF
kill -HUP "$DAEMON_PID"
check "reload failed logged with file:line" \
	until_ok 10 logged 'reload failed, keeping the running configuration: .*/extra\.conf:8: '
check "still serving research after the failed reload" [ "$(code "$U/research/head.jwt")" = 200 ]
check "the broken list is not served" [ "$(code "$U/extra/aggregate.xml")" = 404 ]
check "still running" kill -0 "$DAEMON_PID"
feed "$T/www/x.xml" 2 'https://x%d.example.org/md' --valid-until +864000
sed -i -e '/^bogus/d' -e 's|/files/s.xml|/files/x.xml|' "$T/etc/trustlists/extra.conf"
kill -HUP "$DAEMON_PID"
check "configuration reloaded" until_ok 10 logged 'configuration reloaded'
served() { [ "$(code "$U/$1")" = 200 ]; }
check "the new list is fetched and served after the reload" until_ok 15 served extra/aggregate.xml

# 5. unchanged feed: a 304 and no new generation
left=$((T0 + 11 - $(date +%s)))
[ $left -gt 0 ] && sleep $left
n304=$(count 'GET /files/a.xml HTTP/1.1 -> 304')
nun=$(grep -c 'list=research: unchanged' "$LOG")
gen=$(readlink "$T/publish/research")
refresh --list research --source a
check "research/a refreshed again ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "unchanged feed costs a 304" until_ok 10 sh -c "[ \$(grep -c 'GET /files/a.xml HTTP/1.1 -> 304' '$T/httpsd.log') -gt $n304 ]"
check "log: list=research: unchanged" until_ok 10 sh -c "[ \$(grep -c 'list=research: unchanged, generation $R2 stays live' '$LOG') -gt $nun ]"
check "no re-signing: seq unchanged" [ "$(seq research)" = "$R2" ]
check "no re-signing: same generation folder" [ "$(readlink "$T/publish/research")" = "$gen" ]

# 6. short/s becomes a short-lived feed (validUntil 25 s of evaluation time ahead)
VU=$(($(evalnow) + 25))
feed "$T/www/s.xml" 3 'https://s%d.example.org/md' --now "$VU" --valid-until +0 --creation -60
TS=$(date +%s)
refresh --list short --source s
check "short/s refreshed ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "new short generation with the 3 entities" until_ok 15 sh -c "[ \$(curl -s '$U/short/aggregate.xml' | grep -c 'entityID=\"https://s2.example.org/md\"') -eq 1 ]"

# 7. the failing source: 500, last good copy served, list still healthy
left=$((TS + 10 - $(date +%s)))
[ $left -gt 0 ] && sleep $left
printf '%s\n' '{"/files/s.xml": {"status": 500, "type": "text/plain", "body": "down"}}' > "$T/routes.json.tmp"
mv "$T/routes.json.tmp" "$T/routes.json"
remain=$((VU - $(evalnow)))
check "the short feed still has ${remain}s of validity left (machine fast enough)" [ $remain -ge 5 ]
TG=$(date +%s)
refresh --list short --source s
check "short/s refreshed again ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "the 500 is logged with its reason" until_ok 10 logged 'source=short/s reason=fetch-http-status'
check "the last good copy is served" until_ok 10 logged 'source=short/s: serving the last good copy'
check "GET s.xml -> 500 seen by the server" grep -q 'GET /files/s.xml HTTP/1.1 -> 500' "$T/httpsd.log"
check "short still serves its 3 entities" [ "$(nshort)" -eq 3 ]
c=$(code "$U/healthz")
check "/healthz still 200 while the last good copy is valid (got $c)" [ "$c" = 200 ]
code "$U/metrics" > /dev/null
check "metrics: short/s status 1 (stale)" grep -Eq '^fedtrust_source_status\{list="short",source="s"\} 1$' "$T/body"
# another source's refresh runs a cycle in which s is not due: s is still failing
n=$(grep -c 'list=churn' "$LOG")
refresh --list churn --source c1
check "churn/c1 refreshed ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
until_ok 10 sh -c "[ \$(grep -c 'list=churn' '$LOG') -gt $n ]"
code "$U/metrics" > /dev/null
check "metrics: short/s still stale after a cycle that did not fetch it" \
	grep -Eq '^fedtrust_source_status\{list="short",source="s"\} 1$' "$T/body"

# 8. the last good copy of short/s reaches its validUntil: the list turns unhealthy
unhealthy() { [ "$(code "$U/healthz")" = 503 ]; }
check "/healthz 503 once short's generation expired" until_ok "$(at_least1 $((VU - $(evalnow) + 10)))" unhealthy
check "/healthz names it: list short: expired at" grep -q '^list short: expired at ' "$T/body"
check "/healthz does not blame research" sh -c "! grep -q 'list research' '$T/body'"
left=$((TG + 11 - $(date +%s)))
[ $left -gt 0 ] && sleep $left
refresh --list short --source s
check "short/s refreshed a third time ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "expired last good copy dropped: reason stale-expired" until_ok 10 logged 'source=short/s reason=stale-expired'
check "nothing new published for short: still its 3 entities" [ "$(nshort)" -eq 3 ]
n1=$(grep -c 'list=short' "$LOG")
sleep 3
n2=$(grep -c 'list=short' "$LOG")
check "no busy loop once short expired: $((n2 - n1)) list=short log lines in 3 s" [ $((n2 - n1)) -le 3 ]
t=$(now_ms)
timeout 20 "$FEDTRUST" refresh -c "$CONF" --list research > "$T/refresh.out" 2>&1
check "the daemon still answers the control socket within 2 s ($(($(now_ms) - t)) ms: $(cat "$T/refresh.out"))" \
	[ $(($(now_ms) - t)) -le 2000 ]
code "$U/healthz" > /dev/null
check "/healthz: short kept its previous generation" grep -q '^list short: kept previous generation: ' "$T/body"

# 9. metrics families
c=$(code "$U/metrics")
check "/metrics 200 (got $c)" [ "$c" = 200 ]
for fam in fedtrust_up fedtrust_source_last_attempt_timestamp_seconds \
	fedtrust_source_last_success_timestamp_seconds fedtrust_source_consecutive_failures \
	fedtrust_source_status fedtrust_rejections_total fedtrust_list_seq \
	fedtrust_list_entities fedtrust_list_valid_until_timestamp_seconds fedtrust_list_kept_total \
	fedtrust_http_requests_total; do
	check "/metrics has # TYPE $fam" grep -q "^# TYPE $fam " "$T/body"
done
check "metrics: short/s status 2 (failed)" grep -Eq '^fedtrust_source_status\{list="short",source="s"\} 2$' "$T/body"
check "metrics: research/a status 0" grep -Eq '^fedtrust_source_status\{list="research",source="a"\} 0$' "$T/body"
check "metrics: research seq $R2" grep -Eq "^fedtrust_list_seq\\{list=\"research\"\\} $R2\$" "$T/body"
check "metrics: research has 6 entities" grep -Eq '^fedtrust_list_entities\{list="research"\} 6$' "$T/body"
check "metrics: rejections of short/s by fetch-http-status" \
	grep -Eq '^fedtrust_rejections_total\{list="short",source="s",reason="fetch-http-status"\} [1-9]' "$T/body"
check "metrics: rejections of short/s by stale-expired" \
	grep -Eq '^fedtrust_rejections_total\{list="short",source="s",reason="stale-expired"\} [1-9]' "$T/body"
check "metrics: HTTP 200 responses counted" grep -Eq '^fedtrust_http_requests_total\{code="200"\} [1-9]' "$T/body"
check "metrics: HTTP 404 responses counted" grep -Eq '^fedtrust_http_requests_total\{code="404"\} [1-9]' "$T/body"

# 10. SIGTERM: clean stop
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
check "SIGTERM: exit 0 (got $rc)" [ $rc -eq 0 ]
check "the HTTP server is gone" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$U/healthz')\" = 000 ]"
check "no rejection outside short/s and the broken reload" \
	sh -c "! grep 'reason=' '$LOG' | grep -v 'source=short/s reason=' | grep -v 'list=short' | grep -q ."
check "no sanitizer report in the daemon log" sh -c "! grep -q 'runtime error:\|Sanitizer' '$LOG'"
[ "$NFAIL" -eq 0 ] || { echo "--- daemon log (tail, repeats removed)"; tail -300 "$LOG" | awk '!seen[$0]++' | tail -40; }
finish
