#!/bin/sh
# fedtrust source add | test | list | show | remove | revoke against a running
# fedtrustd (SAML feeds over HTTPS from tests/tools/httpsd.py, the daemon on
# loopback).  Checks: an added source's entities reach the published bundle
# after the reload (fedtrust lookup); bad anchors, URLs, names, characters
# and duplicates are refused with exit 2 and leave the file byte for byte;
# comments, order and the file mode survive add, revoke and remove; list,
# list --json and show print the fields; test prints ACCEPT and the accept
# and drop lines, REJECT sig-untrusted-key for a feed signed with the wrong
# key, fetches fresh (no 304) and changes nothing in state-dir, publish-dir
# or the config folder; revoking an entity or a whole source and removing a
# source take their entities out of the bundle while the others stay;
# without the daemon the edit is saved and says so.
. "$top_srcdir/tests/tools/common.sh"

command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }

NOW=$(date +%s)
mkdir -p "$T/www" "$T/etc/trustlists" "$T/anchors"
feed() { # OUT ENTITIES PREFIX KEY [mkfeed args]
	out=$1 n=$2 prefix=$3 key=$4
	shift 4
	mkfeed --out "$out" --key "$PKI/$key.key" --cert "$PKI/$key.pem" --entities "$n" \
		--prefix "$prefix" --entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
		--now "$NOW" --valid-until +864000 "$@"
}
feed "$T/www/a.xml" 3 'https://a%d.example.org/md' signer
feed "$T/a2.xml" 4 'https://a%d.example.org/md' signer
feed "$T/www/b.xml" 3 'https://b%d.example.org/md' signer2
feed "$T/www/k.xml" 2 'https://k%d.example.org/md' signer
start_httpsd "$T/www"
LPORT=$(free_port)
cp "$PKI/signer2.pem" "$T/anchors/b.pem"
printf 'not a certificate\n' > "$T/anchors/junk.pem"
APPROVED=$(date -u -d "@$((NOW + 5 * 86400))" +%Y-%m-%d)

CONF=$T/etc/fedtrust.conf
main_conf "$CONF" "listen       = 127.0.0.1:$LPORT" "fetch-timeout = 10s" "audit-syslog = no"
LIST=$T/etc/trustlists/research.conf
cat > "$LIST" <<CONF
# Research partners (this comment must survive every edit)
[trustlist]
name     = research
outputs  = saml-aggregate, bundle
refresh  = 1h
max-drop = 100%   ; the test takes whole sources out

# partner A, registration ticket 17
[source a]
type   = saml
url    = https://127.0.0.1:$PORT/files/a.xml
anchor = $PKI/signer.pem
owner  = a-ops@example.org
approved-until = $APPROVED

; partner K stays all along
[source k]
type   = saml
url    = https://127.0.0.1:$PORT/files/k.xml
anchor = $PKI/signer.pem
CONF
chmod 640 "$LIST"
cp "$LIST" "$T/orig.conf"

LOG=$T/daemon.log
# src ARGS: fedtrust source ARGS -c CONF, stdout in $T/out, stderr in $T/err (and $T/allerr)
src() {
	"$FEDTRUST" source "$@" -c "$CONF" > "$T/out" 2> "$T/err"
	rc=$?
	cat "$T/err" >> "$T/allerr"
	return $rc
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
logged() { grep -q -- "$1" "$LOG"; }
lookup() {
	"$FEDTRUST" lookup --bundle "$T/publish/research/bundle.jwt" \
		--key "$T/publish/research/keys.json" --issuer https://trust.example.org \
		--list research --id "$1" > "$T/lookup.out" 2>&1
}
found() { lookup "$1"; }
gone() { ! lookup "$1" && grep -q 'NOT FOUND' "$T/lookup.out"; }
# snapshot: path, size, mtime and sha256 of everything under state, publish and etc
snapshot() {
	(cd "$T" && find state publish etc -printf '%p %y %s %T@ %l\n' | sort &&
		find state publish etc -type f -exec sha256sum {} + | sort) > "$1"
}
unchanged() { cmp -s "$LIST" "$1"; }
count() { grep -c -- "$1" "$T/httpsd.log"; }

# 1. the daemon publishes a and k
"$FEDTRUSTD" -f -c "$CONF" -v > "$LOG" 2>&1 &
DAEMON_PID=$!
check "fedtrustd: ready" until_ok 30 logged 'fedtrustd: ready'
check "a0 is published" until_ok 10 found https://a0.example.org/md
check "k1 is published" found https://k1.example.org/md
check "b0 is not published yet" gone https://b0.example.org/md

# 2. refusals: exit 2, the file byte for byte as it was
refused() { # DESCRIPTION ERROR-PATTERN ARGS...
	d=$1 pat=$2
	shift 2
	cp "$LIST" "$T/before.conf"
	ino=$(stat -c %i "$LIST")
	src "$@"
	rc=$?
	check "$d: exit 2 (got $rc: $(head -1 "$T/err"))" [ $rc -eq 2 ]
	check "$d: says why" grep -q -- "$pat" "$T/err"
	check "$d: file unchanged byte for byte" unchanged "$T/before.conf"
	check "$d: file not rewritten (same inode)" [ "$(stat -c %i "$LIST")" = "$ino" ]
}
B="--list research --type saml --url https://127.0.0.1:$PORT/files/b.xml"
refused "add with an unparsable anchor" 'junk.pem' add $B --name b --anchor "$T/anchors/junk.pem"
refused "add with a missing anchor" 'nonexistent.pem' add $B --name b --anchor "$T/anchors/nonexistent.pem"
refused "add with an http URL" 'https:// or file://' add --list research --type saml \
	--url "http://127.0.0.1:$PORT/files/b.xml" --name b --anchor "$T/anchors/b.pem"
refused "add of an existing name" 'already has a source named "a"' add $B --name a --anchor "$T/anchors/b.pem"
refused "add with an upper-case name" 'must match' add $B --name B --anchor "$T/anchors/b.pem"
refused "add with a name containing '_'" 'must match' add $B --name b_2 --anchor "$T/anchors/b.pem"
refused "add with ';' in the owner" "';' or '#'" add $B --name b --anchor "$T/anchors/b.pem" --owner 'x ; y'
refused "add with '#' in the note" "';' or '#'" add $B --name b --anchor "$T/anchors/b.pem" --note 'ticket #4'
refused "add with a newline in the note" 'control character' add $B --name b --anchor "$T/anchors/b.pem" \
	--note "$(printf 'one\ntwo')"
refused "add with a note too long for one INI line" 'too long' add $B --name b --anchor "$T/anchors/b.pem" \
	--note "$(printf '%0200d' 0)"
refused "add with a bad type" '--type' add --list research --type ldap --name b \
	--url "https://127.0.0.1:$PORT/files/b.xml" --anchor "$T/anchors/b.pem"
refused "add with a bad approved-until" 'approved-until' add $B --name b --anchor "$T/anchors/b.pem" \
	--approved-until tomorrow
refused "add to an unknown list" 'no trust list named' add --list nosuch --type saml --name b \
	--url "https://127.0.0.1:$PORT/files/b.xml" --anchor "$T/anchors/b.pem"
refused "add without --anchor" 'missing a required option' add $B --name b
refused "revoke with an empty reason" 'empty' revoke --list research --name a --reason ''
refused "revoke with ';' in the reason" "';' or '#'" revoke --list research --name a --reason 'a;b'
refused "revoke of an unknown source" 'no source named' revoke --list research --name zz --reason x
refused "remove of an unknown source" 'no source named' remove --list research --name zz
refused "an option of another sub-command" 'not an option' remove --list research --name a --reason x
check "no temporary file left beside the trust list" [ "$(ls -A "$T/etc/trustlists")" = research.conf ]

# 3. source test changes nothing: a new version of a.xml is verified, not stored
snapshot "$T/snap1"
n200=$(count 'GET /files/a.xml HTTP/1.1 -> 200')
n304=$(count 'GET /files/a.xml HTTP/1.1 -> 304')
src test --list research --name a
rc=$?
check "test --name a: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "test --name a: ACCEPT 3 entities" grep -qx 'ACCEPT 3 entities' "$T/out"
check "test --name a: accept line of a2 with proto and roles" \
	grep -Eq '^accept https://a2\.example\.org/md saml2 [a-z,]+$' "$T/out"
check "test --name a: 3 accept lines" [ "$(grep -c '^accept ' "$T/out")" -eq 3 ]
check "test fetched fresh: a 200, no conditional request" \
	[ "$(count 'GET /files/a.xml HTTP/1.1 -> 200')" -eq $((n200 + 1)) ]
check "test fetched fresh: no 304" [ "$(count 'GET /files/a.xml HTTP/1.1 -> 304')" -eq "$n304" ]
check "test warns that the approval ends soon" grep -q 'approval ends' "$T/err"
cp "$T/a2.xml" "$T/www/a.xml"
src test --list research --name a
check "test of the new a.xml: ACCEPT 4 entities" grep -qx 'ACCEPT 4 entities' "$T/out"
src test --list research --type saml --url "https://127.0.0.1:$PORT/files/b.xml" \
	--anchor "$T/anchors/b.pem" --roles sp
rc=$?
check "test of an unsaved source: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "test of an unsaved source with roles sp: accept and drop lines" \
	sh -c "grep -qx 'ACCEPT 1 entities' '$T/out' && grep -qx 'accept https://b1.example.org/md saml2 sp' '$T/out' &&
		grep -q '^drop https://b0.example.org/md entity-filtered: ' '$T/out'"
src test --list research --type saml --url "https://127.0.0.1:$PORT/files/b.xml" \
	--anchor "$PKI/signer.pem"
rc=$?
check "test of a feed signed with the wrong key: exit 1 (got $rc)" [ $rc -eq 1 ]
check "test of a feed signed with the wrong key: REJECT sig-untrusted-key" \
	grep -q '^REJECT sig-untrusted-key: ' "$T/out"
src test --list research --name nosuch
rc=$?
check "test of an unknown source: exit 2 (got $rc)" [ $rc -eq 2 ]
snapshot "$T/snap2"
check "source test changed nothing in state-dir, publish-dir or etc" cmp -s "$T/snap1" "$T/snap2"
[ "$NFAIL" -eq 0 ] || diff "$T/snap1" "$T/snap2" | head -20
check "the daemon still publishes the 3 entities of the old a.xml" gone https://a3.example.org/md

# 4. add b while the daemon runs: its entities are published after the reload
cd "$T/anchors" || exit 1
src add --list research --name b --type saml --url "https://127.0.0.1:$PORT/files/b.xml" \
	--anchor b.pem --owner 'b-ops@example.org' --approved-until 2099-12-31 \
	--note 'ticket 42, approved by the board' --roles idp,sp
rc=$?
cd "$T" || exit 1
check "add b: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "add b: says it was added" grep -q '^added source b to list research' "$T/out"
check "add b: fedtrustd reloads" grep -qx 'fedtrustd: reloading' "$T/out"
check "b0 is published after the reload" until_ok 30 found https://b0.example.org/md
check "b2 is published too" found https://b2.example.org/md
check "a0 is still published" found https://a0.example.org/md
check "the reload was logged" logged 'configuration reloaded'
check "add b: the original text is kept byte for byte before the new section" \
	sh -c "head -c $(wc -c < "$T/orig.conf") '$LIST' | cmp -s - '$T/orig.conf'"
check "add b: the relative anchor is written as an absolute path" \
	grep -qx "anchor *= $T/anchors/b.pem" "$LIST"
check "add b: owner, approved-until, roles and note written" sh -c "
	grep -qx 'owner *= b-ops@example.org' '$LIST' && grep -qx 'approved-until *= 2099-12-31' '$LIST' &&
	grep -qx 'roles *= idp,sp' '$LIST' && grep -qx 'note *= ticket 42, approved by the board' '$LIST'"
check "add b: mode 640 kept" [ "$(stat -c %a "$LIST")" = 640 ]
check "no temporary file left beside the trust list" [ "$(ls -A "$T/etc/trustlists")" = research.conf ]
cp "$LIST" "$T/after-add.conf"
refused "a second add of b" 'already has a source named "b"' add $B --name b --anchor "$T/anchors/b.pem"
check "a second add of b: the file is as after the first" unchanged "$T/after-add.conf"

# 5. list, list --json, show
src list
check "list: exit 0" [ $? -eq 0 ]
check "list: a header line" grep -q '^LIST	SOURCE	TYPE	URL	OWNER	APPROVED-UNTIL	STATUS$' "$T/out"
check "list: research/a with owner, approved-until and expires in N days" \
	grep -Eq "^research	a	saml	https://127\\.0\\.0\\.1:$PORT/files/a\\.xml	a-ops@example\\.org	${APPROVED}T23:59:59Z	expires in [4-6] days$" "$T/out"
check "list: research/b ok" \
	grep -q "^research	b	saml	https://127.0.0.1:$PORT/files/b.xml	b-ops@example.org	2099-12-31T23:59:59Z	ok$" "$T/out"
check "list: research/k without owner" grep -q "^research	k	saml	.*	-	-	ok$" "$T/out"
src list --list research --json
check "list --json: the fields of every source" "$PYTHON3" -c '
import json, sys
a = {s["source"]: s for s in json.load(open(sys.argv[1]))}
assert sorted(a) == ["a", "b", "k"], a
assert a["a"]["approval"] == "expiring" and 4 <= a["a"]["days_left"] <= 6, a["a"]
assert a["a"]["owner"] == "a-ops@example.org" and a["a"]["list"] == "research"
assert a["b"]["approval"] == "ok" and a["b"]["note"] == "ticket 42, approved by the board"
assert a["b"]["approved_until"] == "2099-12-31T23:59:59Z" and a["b"]["type"] == "saml"
assert a["k"]["owner"] is None and a["k"]["approved_until"] is None
assert all(not s["revoked"] and s["revoked_entities"] == 0 and s["list_enabled"] for s in a.values())
' "$T/out"
src show --list research --name b
check "show b: exit 0" [ $? -eq 0 ]
for want in 'name: b' 'type: saml' "url: https://127.0.0.1:$PORT/files/b.xml" "anchor: $T/anchors/b.pem" \
	'owner: b-ops@example.org' 'approved-until: 2099-12-31T23:59:59Z (ok)' 'roles: idp, sp' \
	'note: ticket 42, approved by the board' 'max-validity: 28d' 'priority: 0'; do
	check "show b: '$want'" grep -qxF -- "$want" "$T/out"
done
check "show b: the state of its last good copy" sh -c "grep -q '^state: last good copy, [0-9]* bytes, sha256 [0-9a-f]\{64\}$' '$T/out' &&
	grep -q '^state-fetched: ' '$T/out' && grep -q '^state-valid-until: ' '$T/out'"
src show --list research --name zz
check "show of an unknown source: exit 2" [ $? -eq 2 ]

# 6. revoke one entity of b: gone after the reload, the others stay
src revoke --list research --name b --entity https://b1.example.org/md --reason 'key compromised' \
	--at 2026-11-23T22:10:00Z
rc=$?
check "revoke --entity b1: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "revoke --entity b1: the line written" \
	grep -qx 'revoke-entity *= https://b1.example.org/md 2026-11-23T22:10:00Z key compromised' "$LIST"
check "b1 NOT FOUND after the reload" until_ok 30 gone https://b1.example.org/md
check "b0 still published" found https://b0.example.org/md
check "a0 still published" found https://a0.example.org/md
refused "revoking b1 again" 'already revoked' revoke --list research --name b \
	--entity https://b1.example.org/md --reason again
src test --list research --name b
check "test of b: drop line for the revoked b1" \
	grep -q '^drop https://b1.example.org/md revoked: ' "$T/out"
src list --list research
check "list: b shows 1 entity revoked" grep -q '^research	b	.*	ok, 1 entity revoked$' "$T/out"

# 7. revoke the whole source a: all its entities go
src revoke --list research --name a --reason 'contract ended'
rc=$?
check "revoke a: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "revoke a: 'revoked = TIME REASON' written" \
	grep -Eq '^revoked *= [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z contract ended$' "$LIST"
check "a0 NOT FOUND after the reload" until_ok 30 gone https://a0.example.org/md
check "a1 NOT FOUND" gone https://a1.example.org/md
check "a2 NOT FOUND" gone https://a2.example.org/md
check "b0 still published" found https://b0.example.org/md
check "k0 still published" found https://k0.example.org/md
refused "a second revocation of a" 'already revoked' revoke --list research --name a --reason again
src test --list research --name a
rc=$?
check "test of the revoked source a: exit 1, REJECT revoked (got $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q '^REJECT revoked: ' '$T/out'"
src list --list research --json
check "list --json: a revoked" "$PYTHON3" -c '
import json, sys
a = {s["source"]: s for s in json.load(open(sys.argv[1]))}
assert a["a"]["revoked"] and a["b"]["revoked_entities"] == 1, a' "$T/out"

# 8. remove b: the section goes, its entities vanish
src remove --list research --name b
rc=$?
check "remove b: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "remove b: no [source b] left" [ "$(grep -c '^\[source b\]' "$LIST")" -eq 0 ]
check "b0 NOT FOUND after the reload" until_ok 30 gone https://b0.example.org/md
check "k1 still published" found https://k1.example.org/md

# comments, order and mode after add, revoke and remove
check "the comments survived every edit" sh -c "
	grep -qx '# Research partners (this comment must survive every edit)' '$LIST' &&
	grep -qx 'max-drop = 100%   ; the test takes whole sources out' '$LIST' &&
	grep -qx '# partner A, registration ticket 17' '$LIST' &&
	grep -qx '; partner K stays all along' '$LIST'"
"$PYTHON3" - "$T/orig.conf" "$LIST" > "$T/expect.conf" <<'PY'
import sys
# the original with one line added after source a's last key
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("[source k]") - 2
added = [l for l in open(sys.argv[2]).read().split("\n") if l.startswith("revoked ")]
sys.stdout.write("\n".join(lines[:i] + added + lines[i:]))
PY
check "after add, revoke and remove the file is the original plus the revocation" \
	cmp -s "$T/expect.conf" "$LIST"
[ "$NFAIL" -eq 0 ] || diff "$T/expect.conf" "$LIST"
check "mode 640 kept" [ "$(stat -c %a "$LIST")" = 640 ]

# 9. without the daemon: the edit is saved and the command says so
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
check "fedtrustd stopped: exit 0 (got $rc)" [ $rc -eq 0 ]
src add --list research --name b --type saml --url "https://127.0.0.1:$PORT/files/b.xml" \
	--anchor "$T/anchors/b.pem"
rc=$?
check "add without the daemon: exit 0 (got $rc: $(cat "$T/err"))" [ $rc -eq 0 ]
check "add without the daemon: says it applies at start" \
	grep -qx 'fedtrustd is not running: the change applies when it starts' "$T/out"
check "add without the daemon: the section is written" grep -qx '\[source b\]' "$LIST"
check "no sanitizer report" sh -c "! grep -q 'runtime error:\|Sanitizer' '$LOG' '$T/allerr'"
finish
