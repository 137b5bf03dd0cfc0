#!/bin/sh
# OpenID Federation end to end: a mock federation signed at test time by an
# independent implementation (tests/tools/mkoidf.py, python3 cryptography),
# served over HTTPS on 127.0.0.1 with the test CA, resolved by `fedtrust
# build` from a `type = oidf` source.  The correct federation must publish
# exactly what mkoidf.py's summary says (roles, protocol keys with kid, jkt,
# prov and purposes, trust marks, scopes after policy, ta, path,
# valid_until); then each variant with one defect (security-rules.md
# JWS-01..14) must log its reason code for the source or the leaf and keep
# what it affects out of the bundle, the rest of the federation unharmed.
. "$top_srcdir/tests/tools/common.sh"

"$PYTHON3" -c 'import cryptography' 2> /dev/null || { echo "SKIP: python3 cryptography not installed"; exit 77; }
command -v xmlsec1 > /dev/null 2>&1 || { echo "SKIP: xmlsec1 not installed"; exit 77; }

NOW=$(date +%s)
LIST=oidf
SRC=fed
mkdir -p "$T/www" "$T/feeds"

# httpsd with a route table, re-read per request (start, learn the port, then write it)
start_httpsd "$T/www" "$T/routes.json"
TA=https://127.0.0.1:$PORT/ta

# every variant of one run (same keys), in $T/fed/<variant>/
"$PYTHON3" "$TOOLS/mkoidf.py" --port "$PORT" --now "$NOW" --out "$T/fed" --variant all ||
	{ echo "mkoidf.py failed"; exit 1; }
"$PYTHON3" "$TOOLS/mkoidf.py" --list-variants > "$T/variants"
# one python run for what the shell needs: ID_<name> variables, and per variant
# the `entity =` lines of its static leaves
eval "$("$PYTHON3" - "$T/fed" <<'PY'
import json, os, sys
for v in os.listdir(sys.argv[1]):
    s = json.load(open(os.path.join(sys.argv[1], v, "summary.json")))
    with open(os.path.join(sys.argv[1], v, "static.conf"), "w") as f:
        f.writelines("entity = %s\n" % e for e in s["static"])
for n, i in s["ids"].items():
    print("ID_%s='%s'" % (n, i))
PY
)"
# a one-entity SAML feed beside the federation, so that a bundle is published
# even when the federation fails as a whole
mkfeed --out "$T/feeds/saml.xml" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --entities 1 \
	--prefix 'https://saml%d.example.org/md' --entity-cert "$PKI/entity1.pem" \
	--valid-until +864000 --now "$NOW"

# serve VARIANT; write a config whose state and output are fresh for it
use() {
	cp "$T/fed/$1/routes.json" "$T/routes.json.tmp" && mv "$T/routes.json.tmp" "$T/routes.json"
	D=$T/run/$1
	rm -rf "$D"
	mkdir -p "$D/etc/trustlists"
	cat > "$D/etc/fedtrust.conf" <<CONF
[fedtrust]
issuer       = https://trust.example.org
state-dir    = $D/state
publish-dir  = $D/publish
trustlists   = trustlists
signing-key  = $PKI/operator-ec.key
signing-cert = $PKI/operator-ec.pem
fetch-timeout = 10s
CONF
	{
		printf '[trustlist]\nname = %s\noutputs = saml-aggregate, bundle\n\n' "$LIST"
		printf '[source saml]\ntype = saml\nurl = file://%s\nanchor = %s\n\n' \
			"$T/feeds/saml.xml" "$PKI/signer.pem"
		printf '[source %s]\ntype = oidf\nurl = %s\nanchor = %s\nca-file = %s\n' \
			"$SRC" "$TA" "$T/fed/$1/anchor.jwks" "$PKI/ca.pem"
		cat "$T/fed/$1/static.conf"
	} > "$D/etc/trustlists/$LIST.conf"
}
# build: `fedtrust build` of the current config at NOW; output in $D/out, exit
# code in $rc, the number of HTTPS requests it made in $nreq
build() {
	n0=$(wc -l < "$T/httpsd.log")
	"$FEDTRUST" build -c "$D/etc/fedtrust.conf" --at "$NOW" > "$D/out" 2>&1
	rc=$?
	nreq=$(($(wc -l < "$T/httpsd.log") - n0))
}

# The comparison of published bundles with mkoidf's summaries, one python run
# for many: cmp.py NOW [--lookup] VARIANT...  (the bundle of each run in
# $T/run/VARIANT).  Each bundle is verified with `fedtrust bundle verify`
# first, then decoded; with --lookup every present entity is also looked up
# with `fedtrust lookup` and every absent one must be NOT FOUND.  Prints one
# PASS or FAIL line per variant, with the mismatches under it.
cat > "$T/cmp.py" <<'PY'
import base64, json, os, subprocess, sys, time
T, now = os.environ["T"], sys.argv[1]
lookup = sys.argv[2] == "--lookup"
fedtrust = os.environ["FEDTRUST"]
when = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

def compare(s, pub, src, fail):
    common = ["--key", pub + "/keys.json", "--issuer", "https://trust.example.org", "--list",
              "oidf", "--at", now]
    r = subprocess.run([fedtrust, "bundle", "verify"] + common + [pub + "/bundle.jwt"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return fail("bundle verify: " + r.stdout + r.stderr)
    seg = open(pub + "/bundle.jwt").read().strip().split(".")[1]
    p = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    if [e["id"] for e in p["entities"] if e["proto"] == "saml2"] != ["https://saml0.example.org/md"]:
        fail("the SAML entity is not in the bundle")
    got = {e["id"]: e for e in p["entities"] if e["proto"] != "saml2"}
    if sorted(got) != sorted(s["present"]):
        fail("oidf entities %s, expected %s" % (sorted(got), sorted(s["present"])))
    for i in s["absent"]:
        if any(e["id"] == i for e in p["entities"]):
            fail("%s is in the bundle" % i)
    for i, x in s["present"].items():
        e = got.get(i)
        if e is None:
            continue
        n = x["name"]
        for m in ("proto", "ta", "path", "valid_until"):
            if e.get(m) != x[m]:
                fail("%s: %s is %r, expected %r" % (n, m, e.get(m), x[m]))
        if sorted(e["roles"]) != sorted(x["roles"]):
            fail("%s: roles %s, expected %s" % (n, e["roles"], x["roles"]))
        if e.get("src") != src:
            fail("%s: src %r, expected %r" % (n, e.get("src"), src))
        want = None if x["scopes"] is None else sorted(x["scopes"])
        have = None if "scopes" not in e else sorted(e["scopes"])
        if have != want:
            fail("%s: scopes %s, expected %s" % (n, have, want))
        if sorted(e.get("tm", []), key=json.dumps) != sorted(x["tm"], key=json.dumps):
            fail("%s: tm %s, expected %s" % (n, e.get("tm"), x["tm"]))
        have = sorted((k.get("kid"), k["jkt"], k["prov"], ",".join(sorted(k["purposes"])),
                       k.get("use"), k.get("alg")) for k in e["keys"])
        want = sorted((k["kid"], k["jkt"], k["prov"], ",".join(sorted(k["purposes"])),
                       k["use"], k["alg"]) for k in x["keys"])
        if have != want:
            fail("%s: keys %s, expected %s" % (n, have, want))
        if any(k["jkt"] == x["fed_jkt"] for k in e["keys"]):
            fail("%s: its federation entity key is published as a protocol key" % n)
        if not lookup:
            continue
        r = subprocess.run([fedtrust, "lookup", "--bundle", pub + "/bundle.jwt"] + common +
                           ["--id", i, "--proto", "oidf"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s: lookup exit %d: %s" % (n, r.returncode, r.stdout + r.stderr))
            continue
        lines = r.stdout.splitlines()
        field = dict(l.split(": ", 1) for l in lines if ": " in l and l[:4] not in ("key:", "tm: "))
        if sorted(field.get("roles", "").split()) != sorted(x["roles"]):
            fail("%s: lookup roles %r" % (n, field.get("roles")))
        sc = field.get("scopes", "").strip()
        if (x["scopes"] is None and sc != "(not restricted)") or \
           (x["scopes"] is not None and sorted(sc.split()) != sorted(x["scopes"])):
            fail("%s: lookup scopes %r, expected %s" % (n, sc, x["scopes"]))
        lk = sorted(tuple(w.split("=", 1)[1] for w in l.split()[1:4] if "=" in w)
                    for l in lines if l.startswith("key: "))
        want = sorted((k["jkt"], k["kid"], k["alg"]) for k in x["keys"])
        if lk != want:
            fail("%s: lookup keys %s, expected %s" % (n, lk, want))
        if field.get("ta") != x["ta"]:
            fail("%s: lookup ta %r, expected %r" % (n, field.get("ta"), x["ta"]))
        if field.get("path", "").split() != x["path"]:
            fail("%s: lookup path %r, expected %r" % (n, field.get("path"), x["path"]))
        # trust ends at min(valid_until, bundle exp): that is what lookup shows
        if field.get("valid_until") != when(min(x["valid_until"], p["exp"])):
            fail("%s: lookup valid_until %r" % (n, field.get("valid_until")))
        tms = sorted(l[4:] for l in lines if l.startswith("tm: "))
        want = sorted("%s exp=%s" % (t["type"], when(t["exp"])) for t in x["tm"])
        if tms != want:
            fail("%s: lookup tm %s, expected %s" % (n, tms, want))
    for i in s["absent"]:
        if not lookup:
            break
        r = subprocess.run([fedtrust, "lookup", "--bundle", pub + "/bundle.jwt"] + common +
                           ["--id", i, "--proto", "oidf"], capture_output=True, text=True)
        if r.returncode != 1 or not r.stdout.startswith("NOT FOUND"):
            fail("lookup of absent %s: exit %d %s" % (i, r.returncode, r.stdout.strip()))

for v in sys.argv[3:]:
    bad = []
    def fail(msg):
        bad.append("  mismatch: " + msg)
    s = json.load(open(os.path.join(T, "fed", v, "summary.json")))
    try:
        compare(s, os.path.join(T, "run", v, "publish", "oidf"), "fed", fail)
    except (OSError, ValueError, KeyError) as ex:
        fail("%s: %s" % (type(ex).__name__, ex))
    print("%s: %s: the published bundle %s mkoidf's summary"
          % ("FAIL" if bad else "PASS", v, "and its lookups match" if lookup else "matches"))
    for l in bad:
        print(l)
PY
export FEDTRUST T
# cmp_summary [--lookup] VARIANT...: the PASS/FAIL lines of cmp.py, counted
cmp_summary() {
	[ "$1" = --lookup ] || set -- --nolookup "$@"
	"$PYTHON3" "$T/cmp.py" "$NOW" "$@" > "$T/cmp.out" 2>&1
	cat "$T/cmp.out"
	NPASS=$((NPASS + $(grep -c '^PASS: ' "$T/cmp.out")))
	NFAIL=$((NFAIL + $(grep -c '^FAIL: ' "$T/cmp.out")))
	grep -q -e '^PASS: ' -e '^FAIL: ' "$T/cmp.out" || fail "cmp.py: $(tail -1 "$T/cmp.out")"
}
id_of() { eval echo "\$ID_$1"; }

# 1. the correct federation
use ok
build
check "federation: build exits 0 (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$D/out"
check "federation: bundle published" [ -s "$D/publish/$LIST/bundle.jwt" ]
cmp_summary --lookup ok
check "federation: no entity dropped" sh -c "! grep -q 'dropped reason=' '$D/out'"
"$FEDTRUST" bundle show "$D/publish/$LIST/bundle.jwt" > "$D/show" 2>&1
check "bundle show lists the OP with its role and 2 keys" \
	grep -q "^  $(id_of op) oidf roles=openid_provider keys=2\$" "$D/show"
check "bundle show lists the RP with 1 key" \
	grep -q "^  $(id_of rp) oidf roles=openid_relying_party keys=1\$" "$D/show"
check "bundle show lists RP 2 with 1 key" \
	grep -q "^  $(id_of rp2) oidf roles=openid_relying_party keys=1\$" "$D/show"
check "bundle show: source $SRC ok" grep -q "^  $SRC type=oidf status=ok\$" "$D/show"
check "the aggregate holds only the SAML entity" \
	[ "$(grep -o 'entityID="[^"]*"' "$D/publish/$LIST/aggregate.xml" | tr '\n' ' ')" = 'entityID="https://saml0.example.org/md" ' ]
check "federation: fetches are few ($nreq requests)" [ "$nreq" -gt 5 -a "$nreq" -lt 60 ]

# 2. one defect per variant
while read -r v code where; do
	use "$v"
	build
	case $where in
	source)
		check "$v: build fails (exit $rc)" [ $rc -eq 1 ]
		check "$v: source=$LIST/$SRC reason=$code" grep -q "source=$LIST/$SRC reason=$code:" "$D/out"
		;;
	leaf:*)
		check "$v: build exits 0 (got $rc)" [ $rc -eq 0 ]
		for n in $(echo "${where#leaf:}" | tr ',' ' '); do
			check "$v: entity $n dropped reason=$code" \
				grep -q "entity=$(id_of "$n") dropped reason=$code:" "$D/out"
		done
		;;
	tm:*)
		check "$v: build exits 0 (got $rc)" [ $rc -eq 0 ]
		check "$v: reason=$code logged" grep -q "reason=$code:" "$D/out"
		check "$v: no entity dropped" sh -c "! grep -q 'dropped reason=' '$D/out'"
		;;
	none)
		check "$v: build exits 0 (got $rc)" [ $rc -eq 0 ]
		check "$v: no entity dropped" sh -c "! grep -q 'dropped reason=' '$D/out'"
		;;
	esac
	if ! grep -q "reason=$code:" "$D/out" && [ "$code" != ok ]; then
		sed 's/^/  | /' "$D/out" | grep -v 'level=debug' | head -20
	fi
	case $v in
	hdr-jku)
		check "$v: the jku URL was never fetched" sh -c "! grep -q /canary/ '$T/httpsd.log'" ;;
	loop)
		check "$v: the loop was cut short ($nreq requests)" [ "$nreq" -lt 60 ] ;;
	esac
done < "$T/variants"
cmp_summary $(cut -d' ' -f1 "$T/variants")
finish
