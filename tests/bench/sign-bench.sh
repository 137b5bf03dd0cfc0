#!/bin/sh
# Benchmark: signing an N-entity SAML aggregate (out_saml_aggregate with its
# PUB-05 self-check, tests/bench/sign_bench) beside `xmlsec1 --sign` of the
# same document, time and peak RSS in one run.
#   N=10000 RUNS=3 KEY=operator sh tests/bench/sign-bench.sh   (make bench-sign)
. "$top_srcdir/tests/tools/common.sh"
N=${N:-10000}
RUNS=${RUNS:-3}
KEY=${KEY:-operator}
OUT=${BENCH_OUT:-$top_builddir/bench-sign.txt}
BENCH=$top_builddir/tests/bench/sign_bench
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "generating and signing a $N-entity feed, extracting its entities..."
mkfeed --out "$T/feed.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities "$N" \
	--entity-cert "$PKI/entity1.pem" --entity-cert "$PKI/entity2.pem" \
	--entity-cert "$PKI/entity3.pem" --entity-cert "$PKI/entity4.pem" --valid-until +864000
"$BENCH" dump "$T/feed.xml" "$PKI/signer.pem" "$T/ents" || exit 1
: > "$T/ours"
for i in $(seq "$RUNS"); do
	/usr/bin/time -f '%e %M' -a -o "$T/ours" "$BENCH" sign "$T/ents" "$PKI/$KEY.key" \
		"$PKI/$KEY.pem" "$T/agg.xml" > "$T/sign.out" || { cat "$T/sign.out"; exit 1; }
done
xmlsec1_ok "$T/agg.xml" "$PKI/$KEY.pem" || { echo "xmlsec1 does not verify the aggregate"; exit 1; }
# the same document as a template: digest, signature and certificate emptied
# (line 2 holds the root start tag, ds:Signature and Extensions)
sed -e '2s|<ds:DigestValue>[^<]*</ds:DigestValue>|<ds:DigestValue></ds:DigestValue>|' \
	-e '2s|<ds:SignatureValue>[^<]*</ds:SignatureValue>|<ds:SignatureValue></ds:SignatureValue>|' \
	-e '2s|<ds:X509Certificate>[^<]*</ds:X509Certificate>|<ds:X509Certificate></ds:X509Certificate>|' \
	"$T/agg.xml" > "$T/tmpl.xml"
: > "$T/xmlsec"
for i in $(seq "$RUNS"); do
	/usr/bin/time -f '%e %M' -a -o "$T/xmlsec" xmlsec1 --sign \
		--privkey-pem "$PKI/$KEY.key,$PKI/$KEY.pem" \
		--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor \
		--output "$T/xmlsec.xml" "$T/tmpl.xml" > /dev/null 2>&1 || { echo "xmlsec1 --sign failed"; exit 1; }
done
ot=$(cut -d' ' -f1 "$T/ours" | median)
om=$(cut -d' ' -f2 "$T/ours" | median)
xt=$(cut -d' ' -f1 "$T/xmlsec" | median)
xm=$(cut -d' ' -f2 "$T/xmlsec" | median)
{
	echo "sign benchmark: $(sed -n 's/^entities \([0-9]*\) bytes \([0-9]*\) .*/\1 entities, \2 bytes/p' "$T/sign.out"), key $KEY, median of $RUNS runs, $(date -u +%Y-%m-%d)"
	printf '%-40s %6s s %8s kB\n' "xmlsec1 --sign (DOM)" "$xt" "$xm"
	printf '%-40s %6s s %8s kB\n' "fedtrust sign + self-check (process)" "$ot" "$om"
	echo "ratio time (fedtrust/xmlsec1): $(echo "scale=2; $ot / $xt" | bc)"
	echo "ratio peak RSS (fedtrust/xmlsec1): $(echo "scale=2; $om / $xm" | bc)"
} | tee "$OUT"
NPASS=1
finish
