#!/bin/sh
# Benchmark: libfedtrust verify + index of an N-entity bundle (made by
# `fedtrust build` from a signed feed) beside the `jose` command's bare
# verification of the same bundle, and lookup latency, in one run.
#   N=10000 RUNS=5 sh tests/bench/bundle-bench.sh   (from make bench)
. "$top_srcdir/tests/tools/common.sh"
N=${N:-10000}
RUNS=${RUNS:-5}
OUT=${BENCH_OUT:-$top_builddir/bench-bundle.txt}
BENCH=$top_builddir/tests/bench/bundle_bench
mkdir -p "$T/etc/trustlists"
echo "generating and signing a $N-entity feed, building its bundle..."
mkfeed --out "$T/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$N" \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
	--entity-cert "$PKI/entity3.pem" --entity-cert "$PKI/entity4.pem" --valid-until +864000
cat > "$T/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer      = https://trust.example.org
state-dir   = $T/state
publish-dir = $T/publish
trustlists  = trustlists
signing-key = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
CONF
cat > "$T/etc/trustlists/bench.conf" <<CONF
[trustlist]
name    = bench
outputs = bundle
max-drop = 100%
[source feed]
type   = saml
url    = file://$T/feed.xml
anchor = $PKI/signer.pem
CONF
/usr/bin/time -f '%e %M' -o "$T/build.time" "$FEDTRUST" build -c "$T/etc/fedtrust.conf" > "$T/build.out" 2>&1 ||
	{ cat "$T/build.out"; exit 1; }
B=$T/publish/bench/bundle.jwt
"$PYTHON3" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["keys"][0]))' \
	"$T/publish/bench/keys.json" > "$T/op.jwk"
: > "$T/jose"
for i in $(seq "$RUNS"); do
	/usr/bin/time -f '%e %M' -a -o "$T/jose" jose jws ver -i "$B" -k "$T/op.jwk" -O /dev/null ||
		{ echo "jose failed"; exit 1; }
done
jt=$(sort -n "$T/jose" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
"$BENCH" "$T/publish/bench/keys.json" https://trust.example.org bench "$B" "$RUNS" > "$T/ours" ||
	{ cat "$T/ours"; exit 1; }
vt=$(sed -n 's/^verify+index median \([0-9.]*\) s$/\1/p' "$T/ours")
{
	echo "bundle benchmark: $(sed -n 's/^entities \([0-9]*\) bytes \([0-9]*\)$/\1 entities, \2 bytes/p' "$T/ours"), median of $RUNS runs, $(date -u +%Y-%m-%d)"
	echo "fedtrust build (feed -> bundle, cold): $(cut -d' ' -f1 "$T/build.time") s, peak RSS $(cut -d' ' -f2 "$T/build.time") kB"
	printf '%-34s %8s s\n' "jose jws ver (bare verification)" "$jt"
	printf '%-34s %8s s\n' "libfedtrust verify + index" "$vt"
	echo "ratio (libfedtrust / jose): $(echo "scale=2; $vt / $jt" | bc)"
	grep '^lookup' "$T/ours"
} | tee "$OUT"
NPASS=1
finish
