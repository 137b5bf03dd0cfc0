#!/bin/sh
# The systemd unit as built: `systemd-analyze verify` accepts it without a
# word about it, it carries the hardening the service relies on, and the
# daemon speaks the notify protocol its Type=notify and WatchdogSec expect
# (READY=1 after the first cycle, WATCHDOG=1 pings, RELOADING=1 on SIGHUP,
# STOPPING=1 on SIGTERM), checked on a notify socket of our own.
. "$top_srcdir/tests/tools/common.sh"

command -v systemd-analyze > /dev/null 2>&1 || { echo "SKIP: systemd-analyze not installed"; exit 77; }

# built by `make` (systemdsystemunit_DATA), before make check runs the tests
UNIT=$top_builddir/systemd/fedtrustd.service
[ -f "$UNIT" ] || { fail "$UNIT was not built"; finish; exit 1; }

# 1. the generated unit: every @VAR@ substituted, absolute paths
check "generated unit has no @VAR@ left" sh -c "! grep -n '@[a-z_]*@' '$UNIT'"
check "ExecStart runs fedtrustd -f -c CONF by absolute paths" \
	grep -Eq '^ExecStart=/[^ ]*/fedtrustd -f -c /[^ ]*/fedtrust/fedtrust\.conf$' "$UNIT"
check "ExecStartPre checks the configuration (fedtrustd -n)" \
	grep -Eq '^ExecStartPre=/[^ ]*/fedtrustd -n -c /[^ ]*/fedtrust\.conf$' "$UNIT"

# 2. the settings the service depends on
has() { grep -Eq "^$1\$" "$UNIT"; }
check "Type=notify" has 'Type=notify'
check "WatchdogSec set" has 'WatchdogSec=[1-9][0-9]*(s|min)?'
check "ExecReload sends SIGHUP" has 'ExecReload=/[^ ]*kill -HUP \$MAINPID'
check "User=fedtrust" has 'User=fedtrust'
check "ProtectSystem=strict" has 'ProtectSystem=strict'
check "ReadWritePaths set" has 'ReadWritePaths=/.+'
check "NoNewPrivileges=yes" has 'NoNewPrivileges=yes'
check "CapabilityBoundingSet= (empty)" has 'CapabilityBoundingSet='
check "no other CapabilityBoundingSet line" [ "$(grep -c '^CapabilityBoundingSet' "$UNIT")" -eq 1 ]
check "RestrictAddressFamilies keeps AF_UNIX and AF_INET" \
	sh -c "grep '^RestrictAddressFamilies=' '$UNIT' | grep -q AF_UNIX && grep '^RestrictAddressFamilies=' '$UNIT' | grep -q AF_INET"
check "SystemCallFilter set" has 'SystemCallFilter=.+'
check "the children may install Landlock rules and seccomp filters" has 'SystemCallFilter=landlock_create_ruleset landlock_add_rule landlock_restrict_self seccomp'
check "MemoryDenyWriteExecute=yes" has 'MemoryDenyWriteExecute=yes'
check "PrivateTmp=yes" has 'PrivateTmp=yes'
check "ProtectHome=yes" has 'ProtectHome=yes'

# 3. systemd-analyze verify on a copy whose commands are the built binaries
#    (verify checks that they exist); --man=no: the man pages are not installed
mkdir -p "$T/unit"
sed -E "s#^(Exec[A-Za-z]*=)[^ ]*/fedtrustd( |\$)#\\1$FEDTRUSTD\\2#" "$UNIT" > "$T/unit/fedtrustd.service"
check "the copy runs the built fedtrustd" grep -q "^ExecStart=$FEDTRUSTD -f " "$T/unit/fedtrustd.service"
systemd-analyze verify --man=no "$T/unit/fedtrustd.service" > "$T/analyze.out" 2>&1
rc=$?
check "systemd-analyze verify exits 0 (got $rc)" [ $rc -eq 0 ]
check "systemd-analyze has nothing to say about the unit" sh -c "! grep -i 'fedtrust' '$T/analyze.out'"
[ -s "$T/analyze.out" ] && sed 's/^/  analyze: /' "$T/analyze.out"

# 4. the notify protocol, on a datagram socket of ours
SOCKDIR=$T
[ ${#T} -gt 80 ] && SOCKDIR=$(mktemp -d)
NOTIFY=$SOCKDIR/notify.sock
"$PYTHON3" - "$NOTIFY" "$T/notify.log" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 60
with open(sys.argv[2], "a") as log:
    while time.time() < end:
        try:
            m = s.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            continue
        for line in m.split("\n"):
            if line:
                log.write("%.2f %s\n" % (time.time(), line))
                log.flush()
PY
NOTIFY_PID=$!
trap 'kill "$NOTIFY_PID" 2> /dev/null; cleanup' EXIT
i=0
while [ ! -S "$NOTIFY" ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done

LPORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/etc/trustlists" "$T/feeds"
mkfeed --out "$T/feeds/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 3 \
	--valid-until +864000
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
listen       = 127.0.0.1:$LPORT
CONF
cat > "$T/etc/trustlists/t.conf" <<CONF
[trustlist]
name = t
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 "$FEDTRUSTD" -f -c "$T/etc/fedtrust.conf" > "$T/daemon.log" 2>&1 &
DAEMON_PID=$!
# wait_for PATTERN SECONDS: a line of notify.log matching PATTERN
wait_for() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		grep -q "$1" "$T/notify.log" 2> /dev/null && return 0
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}
check "READY=1 sent" wait_for ' READY=1$' 20
check "the list is published when READY=1 arrives" [ -L "$T/publish/t" ]
sleep 2.5
n=$(grep -c ' WATCHDOG=1$' "$T/notify.log")
check "WATCHDOG=1 pinged at least twice in 2.5 s with WATCHDOG_USEC=2s (got $n)" [ "$n" -ge 2 ]
kill -HUP "$DAEMON_PID"
check "RELOADING=1 on SIGHUP" wait_for ' RELOADING=1$' 10
check "READY=1 again after the reload" \
	sh -c "sed -n '/ RELOADING=1\$/,\$p' '$T/notify.log' | grep -q ' READY=1\$'"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
check "SIGTERM: exit 0 (got $rc)" [ $rc -eq 0 ]
check "STOPPING=1 on SIGTERM" wait_for ' STOPPING=1$' 5
kill "$NOTIFY_PID" 2> /dev/null
wait "$NOTIFY_PID" 2> /dev/null
[ "$SOCKDIR" != "$T" ] && rm -rf "$SOCKDIR"
check "no sanitizer report in the daemon log" sh -c "! grep -q 'runtime error:\|Sanitizer' '$T/daemon.log'"
[ "$NFAIL" -eq 0 ] || { echo "--- notify.log"; cat "$T/notify.log"; echo "--- daemon.log"; tail -20 "$T/daemon.log"; }
finish
