#!/bin/sh
# Benchmark: `fedtrust verify` beside `xmlsec1 --verify` on the same signed
# feed, in the same run: median wall time and peak RSS of RUNS runs each,
# reported as ratios (fedtrust / xmlsec1).  Not part of make check.
#   N=10000 RUNS=3 sh tests/bench/verify-bench.sh   (from make bench)
. "$top_srcdir/tests/tools/common.sh"
N=${N:-10000}
RUNS=${RUNS:-3}
OUT=${BENCH_OUT:-$top_builddir/bench-verify.txt}
feed=$T/feed-$N.xml
echo "generating and signing a $N-entity feed..."
mkfeed --out "$feed" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$N" \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
	--entity-cert "$PKI/entity3.pem" --entity-cert "$PKI/entity4.pem" --valid-until +864000
size=$(stat -c %s "$feed")

# measure NAME CMD...: appends "wall_s maxrss_kB" lines to $T/NAME
measure() {
	name=$1
	shift
	: > "$T/$name"
	for i in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$T/time.$$" "$@" > /dev/null 2>&1 || { echo "$name failed"; exit 1; }
		cat "$T/time.$$" >> "$T/$name"
	done
}
median() { sort -n -k"$2" "$T/$1" | awk -v k="$2" '{ a[NR] = $k } END { print a[int((NR + 1) / 2)] }'; }

measure xmlsec1 xmlsec1 --verify --enabled-reference-uris same-doc --enabled-key-data raw-x509-cert \
	--pubkey-cert-pem "$PKI/signer.pem" --id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor "$feed"
measure fedtrust "$FEDTRUST" verify --anchor "$PKI/signer.pem" "$feed"
xt=$(median xmlsec1 1); xm=$(median xmlsec1 2)
ft=$(median fedtrust 1); fm=$(median fedtrust 2)
{
	echo "verify benchmark: $N entities, $size bytes, median of $RUNS runs, $(date -u +%Y-%m-%d)"
	printf '%-18s %8s s %10s kB\n' "xmlsec1 --verify" "$xt" "$xm"
	printf '%-18s %8s s %10s kB\n' "fedtrust verify" "$ft" "$fm"
	echo "ratio time (fedtrust/xmlsec1): $(echo "scale=2; $ft / $xt" | bc)"
	echo "ratio peak RSS (fedtrust/xmlsec1): $(echo "scale=2; $fm / $xm" | bc)"
	echo "peak RSS / file size: $(echo "scale=2; $fm * 1024 / $size" | bc)"
} | tee "$OUT"
NPASS=1
finish
