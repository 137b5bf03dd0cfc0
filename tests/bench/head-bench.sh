#!/bin/sh
# Benchmark: the built-in HTTP server (src/httpd.c, through
# tests/bench/httpd_bench) beside nginx serving the same publish folder
# statically, in the same run: requests/s of wrk polling head.jwt with
# If-None-Match (what every consumer does, answered 304), and of plain GETs
# of head.jwt (200), with the ratio ours / nginx.  Both use the same number
# of worker threads/processes.  Not part of make check.
#   DURATION=10 CONNS=16 sh tests/bench/head-bench.sh   (from make bench)
. "$top_srcdir/tests/tools/common.sh"
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
N=${N:-100}
OUT=${BENCH_OUT:-$top_builddir/bench-head.txt}
BENCH=$top_builddir/tests/bench/httpd_bench
NGINX=${NGINX:-/usr/sbin/nginx}
command -v wrk > /dev/null 2>&1 || { echo "SKIP: wrk not installed"; exit 77; }
[ -x "$NGINX" ] || { echo "SKIP: $NGINX not installed"; exit 77; }
command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }

# ---- a demo list published by fedtrust build
mkdir -p "$T/etc/trustlists" "$T/nginx/tmp"
mkfeed --out "$T/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$N" \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" --valid-until +864000
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer      = https://trust.example.org
state-dir   = $T/state
publish-dir = $T/publish
trustlists  = trustlists
signing-key = $PKI/operator-ec.key
CONF
cat > "$T/etc/trustlists/demo.conf" <<CONF
[trustlist]
name    = demo
outputs = bundle
[source feed]
type   = saml
url    = file://$T/feed.xml
anchor = $PKI/signer.pem
CONF
"$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1 || { cat "$T/build.out"; exit 1; }
[ -s "$T/publish/demo/head.jwt" ] || { echo "no head.jwt published"; exit 1; }

# ---- the built-in server
"$BENCH" "$T/publish" "$T/port" > "$T/httpd.log" 2>&1 &
DAEMON_PID=$!
i=0
while [ ! -s "$T/port" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "httpd_bench did not start"; cat "$T/httpd.log"; exit 1; }
	sleep 0.1
done
OPORT=$(cat "$T/port")

# ---- nginx on the same folder, as many workers as httpd.c has threads (min(CPUs, 4))
W=$(nproc)
[ "$W" -gt 4 ] && W=4
NPORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NG=$T/nginx
cat > "$NG/nginx.conf" <<CONF
daemon on;
worker_processes $W;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $NG/tmp/body;
	proxy_temp_path $NG/tmp/proxy;
	fastcgi_temp_path $NG/tmp/fastcgi;
	uwsgi_temp_path $NG/tmp/uwsgi;
	scgi_temp_path $NG/tmp/scgi;
	server {
		listen 127.0.0.1:$NPORT;
		root $T/publish;
		location ~ /head\.jwt\$ {
			types { } default_type application/vnd.fedtrust.bundle-head+jwt;
			add_header Cache-Control "public, max-age=30, stale-if-error=3600, no-transform";
		}
	}
}
CONF
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" > "$T/nginx.out" 2>&1 ||
	{ cat "$T/nginx.out" "$NG/error.log"; exit 1; }
stop_all() {
	[ -s "$NG/nginx.pid" ] && "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" -s stop 2> /dev/null
	cleanup
}
trap stop_all EXIT

# etag PORT: the ETag the server gives head.jwt (waits for the server to answer)
etag() {
	i=0
	while :; do
		e=$(curl -sI "http://127.0.0.1:$1/demo/head.jwt" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
		[ -n "$e" ] && break
		i=$((i + 1))
		[ $i -gt 50 ] && return 1
		sleep 0.1
	done
	echo "$e"
}
OTAG=$(etag "$OPORT") || { echo "no ETag from httpd_bench"; exit 1; }
NTAG=$(etag "$NPORT") || { echo "no ETag from nginx"; cat "$NG/error.log"; exit 1; }
for p in "$OPORT $OTAG" "$NPORT $NTAG"; do
	set -- $p
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "http://127.0.0.1:$1/demo/head.jwt")
	[ "$code" = 304 ] || { echo "port $1: If-None-Match $2 gave $code, not 304"; exit 1; }
done

# rps PORT [HEADER]: requests/s of one wrk run (fails on socket errors or non-2xx/3xx answers)
rps() {
	port=$1
	shift
	wrk -t2 -c"$CONNS" -d"${DURATION}s" "$@" "http://127.0.0.1:$port/demo/head.jwt" > "$T/wrk.out" 2>&1 ||
		{ cat "$T/wrk.out"; return 1; }
	if grep -q -e 'Non-2xx' -e 'Socket errors' "$T/wrk.out"; then
		cat "$T/wrk.out" >&2
		return 1
	fi
	sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$T/wrk.out"
}
echo "wrk: $CONNS connections, ${DURATION}s per run, $W workers each..."
o304=$(rps "$OPORT" -H "If-None-Match: $OTAG") || exit 1
n304=$(rps "$NPORT" -H "If-None-Match: $NTAG") || exit 1
o200=$(rps "$OPORT") || exit 1
n200=$(rps "$NPORT") || exit 1
{
	echo "head benchmark: head.jwt ($(wc -c < "$T/publish/demo/head.jwt" | tr -d ' ') bytes), wrk -t2 -c$CONNS -d${DURATION}s, $W workers, $(date -u +%Y-%m-%d)"
	printf '%-40s %12s %12s %8s\n' "" "fedtrust" "nginx" "ratio"
	printf '%-40s %12s %12s %8s\n' "If-None-Match -> 304 (requests/s)" "$o304" "$n304" \
		"$(echo "scale=2; $o304 / $n304" | bc)"
	printf '%-40s %12s %12s %8s\n' "GET -> 200 (requests/s)" "$o200" "$n200" \
		"$(echo "scale=2; $o200 / $n200" | bc)"
} | tee "$OUT"
NPASS=1
finish
