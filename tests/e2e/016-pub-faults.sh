#!/bin/sh
# PUB-01..07 of security-rules.md (section 8), with `fedtrust build` and
# fedtrustd on a small file:// feed and the fault-injection shim
# tests/tools/faultshim.c (LD_PRELOAD) for what a test cannot do to a real
# disk or signer:
#  PUB-01 signing key missing, unreadable, corrupted, of the wrong type or
#         not matching signing-cert: `fedtrustd -n` refuses; at run time
#         (build and a running daemon) nothing is published (sign-failed)
#         and the live generation stays byte for byte.
#  PUB-02 ENOSPC/EIO on write (at once and after a short write), EIO on
#         fsync/syncfs, EIO on the switch's rename, a read-only publish
#         folder (EROFS): exit 1, the error names the path and errno, no
#         temp link or half generation, old files untouched, the next run
#         publishes.  Legal short writes publish correct files.
#  PUB-03 SIGKILL exactly before the switch and in the middle of a write:
#         the leftovers (generation folder, temp link) are removed by the
#         next run and the sequence continues upwards.
#  PUB-04 planted symlinks (next generation's name, a file inside it, a
#         temp link name, the list link itself) are never followed.
#  PUB-05 every signature corrupted after signing (shim): the self-check
#         blocks the aggregate and the bundle.
#  PUB-06 --at one day back, the state-dir lock, two builds at once: seq
#         never decreases or repeats, bundle iat never goes back.
#  PUB-07 key rollover: next-key announced in keys.json and op_keys.next;
#         signed with the next key a consumer pinning only the old key
#         refuses, pinning both accepts; an old publication (and the old
#         key with old state) restored afterwards is refused by the pull
#         agent's seq/iat floor.
. "$top_srcdir/tests/tools/common.sh"

command -v xmlsec1 > /dev/null 2>&1 || { echo "SKIP: xmlsec1 not installed"; exit 77; }
SHIM=$top_builddir/tests/tools/.libs/faultshim.so
[ -f "$SHIM" ] || { echo "FAIL: $SHIM is not built (make check builds it)"; exit 1; }
# an ASan-linked binary refuses a preloaded library listed before its runtime
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

NOW=$(date +%s)
FNOW=$((NOW - 3 * 86400))	# the feeds were signed three days ago (PUB-06 builds one day back)
mkdir -p "$T/etc/trustlists" "$T/outside" "$T/keys"
feed() { # OUT ENTITIES PREFIX
	mkfeed --out "$1" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$2" \
		--prefix "$3" --entity-cert "$PKI/entity1.pem" --valid-until +1728000 --now "$FNOW"
}
feed "$T/a3.xml" 3 'https://a%d.example.org/md' &
feed "$T/a4.xml" 4 'https://a%d.example.org/md' &
feed "$T/b.xml" 2 'https://b%d.example.org/md' &
wait
cp "$T/a3.xml" "$T/a.xml"
cp "$PKI/operator-ec.key" "$T/keys/op.key"
cp "$PKI/operator-ec.pem" "$T/keys/op.pem"
openssl pkey -in "$T/keys/op.key" -pubout -out "$T/keys/k1.pub.pem" 2> /dev/null
CONF=$T/etc/fedtrust.conf
conf() { # [extra lines]
	cat > "$CONF" <<CONF
[fedtrust]
issuer       = https://trust.example.org
base-url     = ${BASE:-https://127.0.0.1:1/files/}
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $T/keys/op.key
signing-cert = $T/keys/op.pem
$*
CONF
}
conf
cat > "$T/etc/trustlists/l.conf" <<CONF
[trustlist]
name     = l
outputs  = saml-aggregate, bundle
max-drop = 100%

[source a]
type   = saml
url    = file://$T/a.xml
anchor = $PKI/signer.pem

[source b]
type   = saml
url    = file://$T/b.xml
anchor = $PKI/signer.pem
CONF
P=$T/publish/l
G=$T/publish/.gen/l

build() { "$FEDTRUST" build -c "$CONF" "$@" > "$T/build.out" 2>&1; }
# faulty ENV...: run `fedtrust build` with the shim and FAULT_* settings (FAULT_LOG set)
faulty() {
	rm -f "$T/fault.log"
	env LD_PRELOAD="$SHIM" FAULT_LOG="$T/fault.log" "$@" "$FEDTRUST" build -c "$CONF" \
		> "$T/build.out" 2>&1
}
# flip: the other feed variant for source a (a change the next build must publish)
flip() { if cmp -s "$T/a.xml" "$T/a3.xml"; then cp "$T/a4.xml" "$T/a.xml"; else cp "$T/a3.xml" "$T/a.xml"; fi; }
live_seq() { basename "$(readlink "$P")" | sed 's/^0*//'; }
# snap FILE: the list link and the sha256 of every file of the live generation
snap() { { readlink "$P"; (cd "$P/" && find . -type f | sort | xargs sha256sum); } > "$1"; }
# clean: no temp link, no generation folder above the live one
clean() {
	s=$(live_seq)
	ls -a "$T/publish" | grep -q '^\.tmp-' && return 1
	for g in "$G"/*; do
		[ "$(basename "$g" | sed 's/^0*//')" -gt "$s" ] && return 1
	done
	return 0
}
# bverify KEYFILE... : fedtrust bundle verify of the live bundle with these keys
bverify() {
	ks=
	for k in "$@"; do ks="$ks --key $k"; done
	"$FEDTRUST" bundle verify $ks --issuer https://trust.example.org --list l \
		--head "$P/head.jwt" "$P/bundle.jwt" > "$T/verify.out" 2>&1
}
# live_ok WHAT: the live generation is complete: bundle and aggregate verify
live_ok() {
	check "$1: the live bundle verifies" bverify "$T/keys/${2:-k1}.pub.pem"
	check "$1: the live aggregate verifies with xmlsec1" xmlsec1_ok "$P/aggregate.xml" "$T/keys/op.pem"
}
payload() { "$PYTHON3" -c '
import base64, json, sys
s = open(sys.argv[1]).read().strip().split(".")[1]
p = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
print(p[sys.argv[2]] if sys.argv[2] in p else "")' "$@"; }
built() { grep -q "list=l: published generation" "$T/build.out"; }
reason() { grep -q "list=l reason=$1: " "$T/build.out" || grep -q "^reason=$1: " "$T/build.out"; }
tm() { echo "[$(($(date +%s) - NOW)) s] $*"; }

build
check "first build publishes (exit 0)" built
live_ok "first build"

# ------------------------------------------------------------ PUB-01
tm "PUB-01"
nck() { "$FEDTRUSTD" -n -c "$CONF" > "$T/n.out" 2>&1; }
check "fedtrustd -n: configuration OK with the operator key" nck
mv "$T/keys/op.key" "$T/keys/op.key.good"
# KEYCASE DESCRIPTION PATTERN: fedtrustd -n refuses (exit 2) and prints PATTERN
keycase() {
	nck
	rc=$?
	check "PUB-01 $1: fedtrustd -n exit 2 (got $rc: $(head -1 "$T/n.out"))" [ $rc -eq 2 ]
	check "PUB-01 $1: the error names the key and the cause" grep -q "signing-key: .*$2" "$T/n.out"
}
keycase "key missing" "op.key: No such file or directory"
if [ "$(id -u)" = 0 ]; then
	# root reads a mode 000 file: a directory in the key's place is what root cannot read as a key
	echo "note: running as root: a directory stands in for an unreadable key file"
	mkdir "$T/keys/op.key"
	keycase "key unreadable (a directory)" "op.key: no private key found"
	rmdir "$T/keys/op.key"
else
	cp "$T/keys/op.key.good" "$T/keys/op.key"
	chmod 000 "$T/keys/op.key"
	keycase "key unreadable (mode 000)" "op.key: Permission denied"
	rm -f "$T/keys/op.key"
fi
head -c 120 "$T/keys/op.key.good" > "$T/keys/op.key"
keycase "key truncated" "op.key: no private key found"
sed 's/^\(MI.\)../\1AA/' "$T/keys/op.key.good" > "$T/keys/op.key"
keycase "key with corrupted DER" "op.key: no private key found"
openssl genpkey -algorithm ed25519 -out "$T/keys/ed.key" 2> /dev/null
openssl req -x509 -key "$T/keys/ed.key" -out "$T/keys/ed.pem" -subj /CN=ed -days 30 2> /dev/null
cp "$T/keys/ed.key" "$T/keys/op.key"
cp "$T/keys/op.pem" "$T/keys/op.pem.good"
cp "$T/keys/ed.pem" "$T/keys/op.pem"
keycase "Ed25519 key for saml-aggregate" "Ed25519 key, which cannot sign the SAML outputs of trust list l"
cp "$T/keys/op.pem.good" "$T/keys/op.pem"
cp "$PKI/operator.key" "$T/keys/op.key"
keycase "key not matching signing-cert" "signing certificate .*op.pem does not match key"
cp "$T/keys/op.key.good" "$T/keys/op.key"
check "fedtrustd -n: OK again with the right key" nck

# run time, fedtrust build: each broken key leaves the live generation as it is
snap "$T/snap0"
seq0=$(cat "$T/state/seq/l")
flip
for k in missing garbage ed25519 mismatch; do
	case $k in
	missing) rm -f "$T/keys/op.key";;
	garbage) head -c 300 /dev/urandom | base64 > "$T/keys/op.key";;
	ed25519) cp "$T/keys/ed.key" "$T/keys/op.key"; cp "$T/keys/ed.pem" "$T/keys/op.pem";;
	mismatch) cp "$PKI/operator.key" "$T/keys/op.key"; cp "$T/keys/op.pem.good" "$T/keys/op.pem";;
	esac
	build
	rc=$?
	check "PUB-01 build with the key $k: exit 1 (got $rc)" [ $rc -eq 1 ]
	check "PUB-01 build with the key $k: reason sign-failed logged ($(grep 'reason=' "$T/build.out" | head -1))" \
		reason sign-failed
	check "PUB-01 build with the key $k: nothing published" sh -c "! grep -q 'published generation' '$T/build.out'"
	snap "$T/snap1"
	check "PUB-01 build with the key $k: live generation unchanged byte for byte" cmp -s "$T/snap0" "$T/snap1"
done
# the Ed25519 case reaches out_saml.c (the key loads): a sequence number was spent, never reused
cp "$T/keys/op.key.good" "$T/keys/op.key"
cp "$T/keys/op.pem.good" "$T/keys/op.pem"
build
check "PUB-01 the right key back: the next build publishes above $seq0 ($(live_seq))" \
	sh -c "grep -q 'published generation' '$T/build.out' && [ $(live_seq) -gt $seq0 ]"

# run time, fedtrustd: the key replaced between two cycles
LOG=$T/daemon.log
"$FEDTRUSTD" -f -c "$CONF" -v > "$LOG" 2>&1 &
DAEMON_PID=$!
until_ok() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; n=$((n - 1)); sleep 0.1; done; return 1; }
logged() { grep -q -- "$1" "$LOG"; }
check "fedtrustd: ready" until_ok 30 logged 'fedtrustd: ready'
snap "$T/snap0"
head -c 300 /dev/urandom | base64 > "$T/keys/op.key"
flip
timeout 20 "$FEDTRUST" refresh -c "$CONF" --list l --source a > "$T/refresh.out" 2>&1
check "fedtrustd: refresh accepted ($(cat "$T/refresh.out"))" grep -qx 'ok 1' "$T/refresh.out"
check "PUB-01 fedtrustd: a cycle with the corrupted key logs sign-failed" until_ok 20 logged 'reason=sign-failed'
snap "$T/snap1"
check "PUB-01 fedtrustd: live generation unchanged byte for byte" cmp -s "$T/snap0" "$T/snap1"
check "PUB-01 fedtrustd: still running" kill -0 "$DAEMON_PID"
cp "$T/keys/op.key.good" "$T/keys/op.key"
n=$(grep -c 'list=l: published generation' "$LOG")
timeout 20 "$FEDTRUST" refresh -c "$CONF" --list l --source b > "$T/refresh.out" 2>&1
check "PUB-01 fedtrustd: with the key restored the next cycle publishes" \
	until_ok 20 sh -c "[ \$(grep -c 'list=l: published generation' '$LOG') -gt $n ]"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
check "fedtrustd: SIGTERM exit 0 (got $rc)" [ $rc -eq 0 ]
live_ok "after PUB-01"

# ------------------------------------------------------------ PUB-02
tm "PUB-02"
# fcase NAME ERRNO-TEXT PATH-PATTERN ENV...: a faulted build fails cleanly, the next one publishes
fcase() {
	name=$1 etext=$2 ppat=$3
	shift 3
	snap "$T/snap0"
	flip
	faulty FAULT_PATH_PREFIX="$T/publish" "$@"
	rc=$?
	check "PUB-02 $name: exit 1 (got $rc)" [ $rc -eq 1 ]
	check "PUB-02 $name: the fault was injected ($(head -1 "$T/fault.log" 2> /dev/null))" [ -s "$T/fault.log" ]
	check "PUB-02 $name: publish-failed names the path and '$etext' ($(grep 'reason=' "$T/build.out" | head -1))" \
		grep -q "list=l reason=publish-failed: .*$ppat.*$etext" "$T/build.out"
	check "PUB-02 $name: no temp link, no generation above the live one" clean
	snap "$T/snap1"
	check "PUB-02 $name: old published files untouched (sha256)" cmp -s "$T/snap0" "$T/snap1"
	s=$(live_seq)
	build
	check "PUB-02 $name: the next run without the fault publishes ($s -> $(live_seq))" \
		sh -c "grep -q 'published generation' '$T/build.out' && [ $(live_seq) -gt $s ]"
}
fcase "ENOSPC on the first write" "No space left on device" "$G/[0-9]*/aggregate.xml: " \
	FAULT_OP=write FAULT_ERRNO=ENOSPC FAULT_AFTER_BYTES=0
fcase "short write then EIO" "Input/output error" "$G/[0-9]*/aggregate.xml: " \
	FAULT_OP=write FAULT_ERRNO=EIO FAULT_AFTER_BYTES=3000
fcase "ENOSPC in a later file" "No space left on device" "$G/[0-9]*/[a-z]" \
	FAULT_OP=write FAULT_ERRNO=ENOSPC FAULT_AFTER_BYTES=$(($(stat -c %s "$P/aggregate.xml") + 100))
fcase "EIO on fsync" "Input/output error" "$G/[0-9]*: syncfs" FAULT_OP=fsync FAULT_ERRNO=EIO
fcase "EIO on the switch (rename)" "Input/output error" "rename $T/publish/.tmp-l\." FAULT_OP=rename FAULT_ERRNO=EIO
if [ "$(id -u)" != 0 ]; then
	snap "$T/snap0"
	flip
	chmod -R a-w "$T/publish"
	build
	rc=$?
	chmod -R u+w "$T/publish"
	check "PUB-02 read-only publish folder (chmod a-w): exit 1 (got $rc)" [ $rc -eq 1 ]
	check "PUB-02 read-only publish folder: publish-failed names the path" \
		grep -q "list=l reason=publish-failed: $T/publish/.*Permission denied" "$T/build.out"
	snap "$T/snap1"
	check "PUB-02 read-only publish folder: old files untouched" cmp -s "$T/snap0" "$T/snap1"
	build
	check "PUB-02 read-only publish folder: writable again, the next run publishes" built
else
	echo "note: running as root: chmod a-w does not stop root; the shim returns EROFS instead"
	fcase "read-only file system (EROFS)" "Read-only file system" "$G/[0-9]*" \
		FAULT_OP=create,rename FAULT_ERRNO=EROFS
fi
flip
faulty FAULT_PATH_PREFIX="$T/publish" FAULT_OP=short
check "PUB-02 short writes (half of each): the build still publishes" built
check "PUB-02 short writes: the fault was injected" true
live_ok "after short writes"

# ------------------------------------------------------------ PUB-03
tm "PUB-03"
snap "$T/snap0"
before=$(live_seq)
flip
faulty FAULT_PATH_PREFIX="$T/publish" FAULT_OP=kill-rename
rc=$?
check "PUB-03 killed just before the switch (SIGKILL, exit $rc)" [ $rc -eq 137 ]
snap "$T/snap1"
check "PUB-03 after the kill the previous generation is live, unchanged" cmp -s "$T/snap0" "$T/snap1"
check "PUB-03 the kill left a temp link" sh -c "ls -a '$T/publish' | grep -q '^\\.tmp-l\\.'"
left1=$(cat "$T/state/seq/l")
check "PUB-03 the kill left the complete, unswitched generation $left1" [ -f "$G/$(printf %020d "$left1")/bundle.jwt" ]
faulty FAULT_PATH_PREFIX="$T/publish" FAULT_OP=kill-write FAULT_AFTER_BYTES=0
rc=$?
left2=$(cat "$T/state/seq/l")
check "PUB-03 killed in the middle of the first write (exit $rc)" [ $rc -eq 137 ]
check "PUB-03 the kill left a half-written generation $left2" [ -d "$G/$(printf %020d "$left2")" ]
check "PUB-03 still the previous generation live" [ "$(live_seq)" = "$before" ]
live_ok "after the kills"
build
s=$(live_seq)
check "PUB-03 the next run publishes above every number used ($left1, $left2 -> $s)" \
	sh -c "grep -q 'published generation' '$T/build.out' && [ $s -gt $left2 ] && [ $left2 -gt $left1 ] && [ $left1 -gt $before ]"
check "PUB-03 the leftover generation $left1 is removed" [ ! -e "$G/$(printf %020d "$left1")" ]
check "PUB-03 the leftover generation $left2 is removed" [ ! -e "$G/$(printf %020d "$left2")" ]
check "PUB-03 the stale temp link is removed" sh -c "! ls -a '$T/publish' | grep -q '^\\.tmp-'"
check "PUB-03 the previous generation $before is kept as an old one" [ -d "$G/$(printf %020d "$before")" ]
live_ok "after PUB-03"

# ------------------------------------------------------------ PUB-04
tm "PUB-04"
echo "victim" > "$T/outside/victim"
echo "victim2" > "$T/outside/aggregate.xml"
( cd "$T/outside" && sha256sum victim aggregate.xml ) > "$T/outside.sha"
next=$(($(cat "$T/state/seq/l") + 1))
# the next generation's name is a symlink to a folder outside
ln -s "$T/outside" "$G/$(printf %020d "$next")"
# a temp link name, pointing at a file outside
ln -s "$T/outside/victim" "$T/publish/.tmp-l.0123456789abcdef"
flip
build
check "PUB-04 planted links: the build publishes generation $next" \
	sh -c "grep -q 'published generation $next ' '$T/build.out'"
check "PUB-04 the generation is a real folder, not the planted link" \
	sh -c "[ -d '$G/$(printf %020d "$next")' ] && [ ! -L '$G/$(printf %020d "$next")' ]"
check "PUB-04 the planted temp link is gone" [ ! -e "$T/publish/.tmp-l.0123456789abcdef" ]
check "PUB-04 nothing outside changed" sh -c "cd '$T/outside' && sha256sum -c --quiet '$T/outside.sha'"
check "PUB-04 nothing was written outside" [ "$(ls "$T/outside" | wc -l)" -eq 2 ]
# a folder at the next generation's name holding links to files outside
next=$(($(cat "$T/state/seq/l") + 1))
mkdir -p "$G/$(printf %020d "$next")/bundles"
ln -s "$T/outside/aggregate.xml" "$G/$(printf %020d "$next")/aggregate.xml"
ln -s "$T/outside/victim" "$G/$(printf %020d "$next")/bundle.jwt"
ln -s "$T/outside" "$G/$(printf %020d "$next")/changes"
flip
build
check "PUB-04 links inside the next generation: the build publishes $next" \
	sh -c "grep -q 'published generation $next ' '$T/build.out'"
check "PUB-04 its files are regular files" sh -c "[ ! -L '$P/aggregate.xml' ] && [ ! -L '$P/bundle.jwt' ] && [ ! -L '$P/changes' ]"
check "PUB-04 nothing outside changed" sh -c "cd '$T/outside' && sha256sum -c --quiet '$T/outside.sha'"
check "PUB-04 nothing was written outside" [ "$(ls "$T/outside" | wc -l)" -eq 2 ]
live_ok "after planted links"
# the list link itself replaced by a link to a folder outside
rm "$P"
ln -s "$T/outside" "$P"
flip
build
check "PUB-04 a foreign list link is replaced by a generation" \
	sh -c "grep -q 'published generation' '$T/build.out' && readlink '$P' | grep -q '^.gen/l/'"
check "PUB-04 nothing outside changed" sh -c "cd '$T/outside' && sha256sum -c --quiet '$T/outside.sha'"
check "PUB-04 nothing was written outside" [ "$(ls "$T/outside" | wc -l)" -eq 2 ]

# ------------------------------------------------------------ PUB-05
tm "PUB-05"
# pcase WHAT PATTERN: every signature OpenSSL returns is corrupted; the self-check refuses
pcase() {
	snap "$T/snap0"
	flip
	faulty FAULT_OP=corrupt-sign
	rc=$?
	check "PUB-05 $1: exit 1 (got $rc)" [ $rc -eq 1 ]
	check "PUB-05 $1: a signature was corrupted after signing" grep -q corrupted "$T/fault.log"
	check "PUB-05 $1: self-check-failed ($(grep 'reason=' "$T/build.out" | head -1))" \
		grep -q "list=l reason=self-check-failed: self-check: $2" "$T/build.out"
	snap "$T/snap1"
	check "PUB-05 $1: nothing published" cmp -s "$T/snap0" "$T/snap1"
	check "PUB-05 $1: no generation above the live one" clean
	build
	check "PUB-05 $1: without the fault the next run publishes" built
}
pcase "aggregate" "aggregate refused by the verifier: sig-"
sed -i 's/^outputs .*/outputs  = bundle/' "$T/etc/trustlists/l.conf"
pcase "bundle" "vnd.fedtrust.bundle+jwt does not verify"
sed -i 's/^outputs .*/outputs  = saml-aggregate, bundle/' "$T/etc/trustlists/l.conf"
flip
build
live_ok "after PUB-05"

# ------------------------------------------------------------ PUB-06
tm "PUB-06"
s1=$(live_seq)
iat1=$(payload "$P/bundle.jwt" iat)
hiat1=$(payload "$P/head.jwt" iat)
flip
build --at $((NOW - 86400))
rc=$?
s2=$(live_seq)
if built; then
	iat2=$(payload "$P/bundle.jwt" iat)
	hiat2=$(payload "$P/head.jwt" iat)
	check "PUB-06 clock one day back: seq still increases ($s1 -> $s2)" [ "$s2" -gt "$s1" ]
	check "PUB-06 clock one day back: bundle iat does not go back ($iat1 -> $iat2)" [ "$iat2" -ge "$iat1" ]
	check "PUB-06 clock one day back: head iat does not go back ($hiat1 -> $hiat2)" [ "$hiat2" -ge "$hiat1" ]
else
	check "PUB-06 clock one day back: refused (exit $rc: $(grep 'reason=' "$T/build.out" | head -1))" [ $rc -eq 1 ]
	check "PUB-06 clock one day back: nothing published" [ "$s2" = "$s1" ]
fi
build
s3=$(live_seq)
check "PUB-06 clock right again: seq increases ($s2 -> $s3)" [ "$s3" -ge "$s2" ]
# the state-dir lock held (by flock(1), as another process would)
flip
"$PYTHON3" -c '
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(30)' "$T/state/lock" "$T/locked" &
LOCKER=$!
until_ok 5 test -f "$T/locked"
s=$(live_seq)
seqf=$(cat "$T/state/seq/l")
build
rc=$?
kill "$LOCKER" 2> /dev/null
wait "$LOCKER" 2> /dev/null
check "PUB-06 lock held: exit 1 (got $rc)" [ $rc -eq 1 ]
check "PUB-06 lock held: the refusal names the lock ($(head -1 "$T/build.out"))" grep -q 'lock' "$T/build.out"
check "PUB-06 lock held: nothing published, no number spent" [ "$(live_seq)" = "$s" -a "$(cat "$T/state/seq/l")" = "$seqf" ]
build
check "PUB-06 lock released: the next build publishes" built
# two builds at once, four times: never the same number twice, never backwards
: > "$T/seqs"
for i in 1 2 3 4; do
	flip
	"$FEDTRUST" build -c "$CONF" > "$T/b1.out" 2>&1 &
	p1=$!
	"$FEDTRUST" build -c "$CONF" > "$T/b2.out" 2>&1 &
	p2=$!
	wait $p1
	wait $p2
	cat "$T/b1.out" "$T/b2.out" | sed -n 's/.*list=l: published generation \([0-9]*\) .*/\1/p' >> "$T/seqs"
	echo "L $(live_seq)" >> "$T/seqs"
done
check "PUB-06 two builds at once: at least 4 publications ($(grep -vc L "$T/seqs"))" [ "$(grep -vc L "$T/seqs")" -ge 4 ]
check "PUB-06 two builds at once: no number published twice" \
	sh -c "[ -z \"\$(grep -v L '$T/seqs' | sort | uniq -d)\" ]"
check "PUB-06 two builds at once: the live seq never went back ($(grep L "$T/seqs" | tr '\n' ' '))" \
	sh -c "sed -n 's/^L //p' '$T/seqs' | sort -n -c"
live_ok "after PUB-06"

# ------------------------------------------------------------ PUB-07
tm "PUB-07"
command -v curl > /dev/null 2>&1 || { echo "SKIP: PUB-07 needs curl"; finish; exit; }
start_httpsd "$T/publish"
BASE=https://127.0.0.1:$PORT/files/
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/keys/k2.key" 2> /dev/null
openssl req -x509 -key "$T/keys/k2.key" -out "$T/keys/k2.pem" -subj /CN=k2 -days 30 2> /dev/null
openssl pkey -in "$T/keys/k2.key" -pubout -out "$T/keys/k2.pub.pem" 2> /dev/null
kid() { "$PYTHON3" -c '
import base64, hashlib, json, subprocess, sys
from cryptography.hazmat.primitives import serialization
k = serialization.load_pem_public_key(open(sys.argv[1], "rb").read()).public_numbers()
b = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).decode().rstrip("=")
j = json.dumps({"crv": "P-256", "kty": "EC", "x": b(k.x), "y": b(k.y)}, separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(j.encode()).digest()).decode().rstrip("="))' "$1"; }
K1=$(kid "$T/keys/k1.pub.pem")
K2=$(kid "$T/keys/k2.pub.pem")
# 1. next-key announced
conf "next-key     = $T/keys/k2.pub.pem"
flip
build
check "PUB-07 with next-key: published" built
check "PUB-07 keys.json has the current and the next key" \
	sh -c "grep -q '\"$K1\"' '$P/keys.json' && grep -q '\"$K2\"' '$P/keys.json'"
"$PYTHON3" -c '
import base64, json, sys
s = open(sys.argv[1]).read().strip().split(".")[1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["op_keys"], sort_keys=True))' "$P/bundle.jwt" > "$T/opkeys"
check "PUB-07 op_keys: current $K1, next [$K2] ($(cat "$T/opkeys"))" \
	grep -qx "{\"current\": \"$K1\", \"next\": \[\"$K2\"\]}" "$T/opkeys"
check "PUB-07 announced, still signed by the old key: verifies with the old key only" bverify "$T/keys/k1.pub.pem"
# the consumer, pinning the old key only
mkdir -p "$T/consumer"
cat > "$T/consumer/pull.conf" <<CONF
[pull]
url         = ${BASE}l/
issuer      = https://trust.example.org
list        = l
key         = $T/keys/k1.pub.pem
state-dir   = state
output-dir  = out
ca-file     = $PKI/ca.pem
outputs     = pem
CONF
pull() { "$FEDTRUST" pull -c "$T/consumer/pull.conf" --once > "$T/pull.out" 2>&1; }
cseq() { "$PYTHON3" -c 'import json, sys; print(json.load(open(sys.argv[1]))["seq"])' "$T/consumer/state/state.json"; }
pull
check "PUB-07 consumer (old key pinned) applies the announcing bundle ($(tail -1 "$T/pull.out"))" [ $? -eq 0 ]
check "PUB-07 consumer: ALARM next-key-unpinned (the announced key is not pinned there)" \
	grep -q 'ALARM next-key-unpinned' "$T/pull.out"
cp -a "$T/publish" "$T/publish.k1"
cp -a "$T/state" "$T/state.k1"
S_K1=$(live_seq)
# 2. signing with the next key
cp "$T/keys/k2.key" "$T/keys/op.key"
cp "$T/keys/k2.pem" "$T/keys/op.pem"
conf
flip
build
check "PUB-07 signed with the new key: published" built
bverify "$T/keys/k1.pub.pem"
rc=$?
check "PUB-07 bundle verify with only the old key pinned: refused (exit $rc: $(head -1 "$T/verify.out"))" [ $rc -ne 0 ]
check "PUB-07 bundle verify with both keys pinned: accepted" bverify "$T/keys/k1.pub.pem" "$T/keys/k2.pub.pem"
pull
rc=$?
check "PUB-07 pull with only the old key pinned: refused (exit $rc: $(grep 'reason=' "$T/pull.out" | head -1))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'reason=jws-kid-unknown' '$T/pull.out'"
check "PUB-07 pull kept its state (seq $S_K1)" \
	[ "$(cseq)" = "$S_K1" ]
sed -i "s|^key .*|key         = $T/keys/k1.pub.pem\\nkey         = $T/keys/k2.pub.pem|" "$T/consumer/pull.conf"
pull
check "PUB-07 pull with both keys pinned: accepted ($(tail -1 "$T/pull.out"))" [ $? -eq 0 ]
S_K2=$(live_seq)
check "PUB-07 consumer at seq $S_K2" [ "$(cseq)" = "$S_K2" ]
# 3. the old key restored by accident: an old publication served again ...
mv "$T/publish" "$T/publish.k2"
cp -a "$T/publish.k1" "$T/publish"
pull
rc=$?
check "PUB-07 an old publication (old key, seq $S_K1) served again: refused (exit $rc: $(grep 'ALARM\|reason=' "$T/pull.out" | head -1))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'ALARM rollback' '$T/pull.out'"
check "PUB-07 the consumer stays at seq $S_K2" [ "$(cseq)" = "$S_K2" ]
# ... and the old key with the old state dir signs anew (seq and iat from the past)
rm -rf "$T/state"
cp -a "$T/state.k1" "$T/state"
cp "$T/keys/op.key.good" "$T/keys/op.key"
cp "$T/keys/op.pem.good" "$T/keys/op.pem"
flip
build
S_OLD=$(live_seq)
check "PUB-07 old key and old state: the operator publishes seq $S_OLD (<= $S_K2)" [ "$S_OLD" -le "$S_K2" ]
pull
rc=$?
check "PUB-07 old key and old state: the consumer refuses it (exit $rc: $(grep 'ALARM\|reason=' "$T/pull.out" | head -1))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'ALARM rollback\|ALARM equivocation' '$T/pull.out'"
check "PUB-07 the consumer still at seq $S_K2" [ "$(cseq)" = "$S_K2" ]

tm "done"
[ "$NFAIL" -eq 0 ] || { echo "--- last build output"; cat "$T/build.out"; }
finish
