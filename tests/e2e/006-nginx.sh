#!/bin/sh
# A real nginx authorises TLS clients only through the map that
# `fedtrust pull` derives from a verified full-variant bundle: partner A's
# client certificate is the certificate of an SP's KeyDescriptor in the
# feed (-> 200 and its entity id), partner B's is not (-> 403), no
# certificate -> 403; after A's entity leaves the feed, build + pull rewrite
# the map and the hook reloads nginx (-> A gets 403).  nginx runs
# unprivileged-friendly from a temp prefix.  Exit 77 without nginx or curl.
. "$top_srcdir/tests/tools/common.sh"

NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "SKIP: $NGINX not installed"; exit 77; }
command -v curl > /dev/null 2>&1 || { echo "SKIP: curl not installed"; exit 77; }

N=$T/nginx
OUT=$T/consumer/out
mkdir -p "$N/tmp" "$T/etc/trustlists" "$T/feeds" "$T/consumer" "$T/ca"
o() { openssl "$@" 2> /dev/null; }

# ---- a test CA issues the two partners' client certificates
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca/ca.key" \
	-out "$T/ca/ca.pem" -days 30 -subj "/CN=Partner Test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
for p in a b; do
	o req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca/$p.key" \
		-out "$T/ca/$p.csr" -subj "/CN=partner-$p.example.org"
	printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n' > "$T/ca/ext"
	o x509 -req -in "$T/ca/$p.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" \
		-CAcreateserial -days 30 -extfile "$T/ca/ext" -out "$T/ca/$p.pem"
done
[ -s "$T/ca/a.pem" ] && [ -s "$T/ca/b.pem" ] || { fail "test CA"; finish; exit 1; }

# feed WITH_A: an IdP with a test certificate, and (if WITH_A=1) partner A's SP
feed() {
	PYTHONPATH=$TOOLS "$PYTHON3" - "$1" "$T/ca/a.pem" "$PKI/entity1.pem" "$PKI/signer.key" \
		"$PKI/signer.pem" "$T/feeds/feed.xml" <<'PY'
import sys, time, mkfeed
with_a, a, e1, key, cert, out = sys.argv[1:]
ents = mkfeed.entity_xml("https://idp.example.org/idp", 0, [e1], roles=("idp",))
if with_a == "1":
    ents += mkfeed.entity_xml("https://partner-a.example.org/sp", 1, [a], roles=("sp",))
doc = mkfeed.template(valid_until=mkfeed.iso(time.time() + 864000), entities=ents)
open(out, "wb").write(mkfeed.sign(doc, key, cert))
PY
}
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $T/state
publish-dir  = $T/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
CONF
cat > "$T/etc/trustlists/gw.conf" <<CONF
[trustlist]
name            = gw
outputs         = saml-aggregate, bundle
bundle-variant  = full
max-drop        = 100%
[source feed]
type   = saml
url    = file://$T/feeds/feed.xml
anchor = $PKI/signer.pem
CONF
openssl pkey -in "$PKI/operator-ec.key" -pubout -out "$T/consumer/op.pem" 2> /dev/null
# the hook reloads nginx once it runs (the first pull comes before nginx starts)
cat > "$T/consumer/reload.sh" <<HOOK
#!/bin/sh
[ -s "$N/nginx.pid" ] || exit 0
exec "$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/error.log" -s reload
HOOK
chmod +x "$T/consumer/reload.sh"
# file:// base URL: burl (https) is not under it, so bundle.jwt is used
cat > "$T/consumer/pull.conf" <<CONF
[pull]
url         = file://$T/publish/gw/
issuer      = https://trust.example.org
list        = gw
key         = op.pem
state-dir   = state
output-dir  = out
outputs     = nginx-map, pem
reload-hook = reload.sh
CONF
build() { "$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1; }
pull() { "$FEDTRUST" pull -c "$T/consumer/pull.conf" --once > "$T/pull.out" 2>&1; }

feed 1 && build
rc=$?
check "fedtrust build publishes the full variant (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { cat "$T/build.out"; finish; exit 1; }
pull
rc=$?
check "fedtrust pull --once applies it (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$T/pull.out"
check "the map names partner A" grep -q '"https://partner-a.example.org/sp";' "$OUT/nginx-map.conf"

# ---- nginx in a temp prefix on a free port
NPORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$N/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 64; }
http {
	access_log $N/access.log;
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	default_type text/plain;
	include $OUT/nginx-map.conf;
	server {
		listen 127.0.0.1:$NPORT ssl;
		ssl_certificate $PKI/server.pem;
		ssl_certificate_key $PKI/server.key;
		# any certificate may be presented; only the map authorises
		ssl_verify_client optional_no_ca;
		location / {
			if (\$fedtrust_partner = "") {
				return 403 "denied\n";
			}
			add_header X-Fedtrust-Partner \$fedtrust_partner always;
			return 200 "partner=\$fedtrust_partner\n";
		}
	}
}
CONF
"$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/error.log" > "$T/nginx.out" 2>&1
rc=$?
check "nginx starts with the derived map (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { cat "$T/nginx.out" "$N/error.log"; finish; exit 1; }
stop_nginx() { [ -s "$N/nginx.pid" ] && "$NGINX" -p "$N" -c "$N/nginx.conf" -e "$N/error.log" -s stop 2> /dev/null; }
trap 'stop_nginx; cleanup' EXIT

# req NAME [curl args]: status code into $T/NAME.code, body into $T/NAME.body
req() {
	n=$1
	shift
	curl -s -o "$T/$n.body" -w '%{http_code}' --cacert "$PKI/ca.pem" "$@" \
		"https://127.0.0.1:$NPORT/" > "$T/$n.code" 2> "$T/$n.err"
}
i=0
until req probe; do i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1; done

req a --cert "$T/ca/a.pem" --key "$T/ca/a.key"
check "partner A's certificate -> 200 ($(cat "$T/a.code"))" [ "$(cat "$T/a.code")" = 200 ]
check "nginx names partner A's entity id" grep -qx 'partner=https://partner-a.example.org/sp' "$T/a.body"
req b --cert "$T/ca/b.pem" --key "$T/ca/b.key"
check "partner B's certificate (not in the feed) -> 403 ($(cat "$T/b.code"))" [ "$(cat "$T/b.code")" = 403 ]
req none
check "no client certificate -> 403 ($(cat "$T/none.code"))" [ "$(cat "$T/none.code")" = 403 ]

# ---- A leaves the feed: build, pull, the hook reloads nginx
feed 0 && build
rc=$?
check "a build without partner A publishes (exit $rc)" [ $rc -eq 0 ]
pull
rc=$?
check "pull applies it and runs the reload hook (exit $rc)" sh -c "[ $rc -eq 0 ] && grep -q 'reload-hook .* ran' '$T/pull.out'"
check "the map no longer names partner A" sh -c "! grep -q partner-a '$OUT/nginx-map.conf'"
i=0
while :; do
	req a2 --cert "$T/ca/a.pem" --key "$T/ca/a.key"
	[ "$(cat "$T/a2.code")" = 403 ] && break
	i=$((i + 1))
	[ $i -gt 50 ] && break
	sleep 0.1
done
check "after the reload partner A gets 403 ($(cat "$T/a2.code"))" [ "$(cat "$T/a2.code")" = 403 ]
stop_nginx
check "nginx stops" [ $? -eq 0 ]
finish
