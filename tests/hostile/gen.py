#!/usr/bin/env python3
"""Generate the project's own hostile SAML metadata corpus (security-rules.md).

  gen.py OUTDIR PKIDIR [--now EPOCH] [--only SUBSTRING]

Every case is a directory OUTDIR/<name>/ holding
  doc.xml  the document (keys and signatures made now, by xmlsec1),
  args     extra arguments of `fedtrust verify`, one per line (--at, --anchor or --ca/--crl/--signer-name),
  expect   "ACCEPT", "ACCEPT n" (n = entity count) or "REJECT <reason-code>",
  xmlsec   optional independent cross-check: first line OK or FAIL (what `xmlsec1 --verify` with the
           pinned key must say), further lines the extra xmlsec1 arguments (key, --id-attr).
  why      one line: why this verdict (first rule violated in the verification order R10 parse ->
           R2 root -> R3 signature count/position -> R5 Object/Manifest, transforms, c14n -> R6
           algorithms -> R4 reference/IDs -> key/anchor -> crypto -> R11 validity -> entities).
Mutations after signing are byte/string edits of the signed output; where a wrapping case moves the
genuinely signed element, the xmlsec file records that xmlsec1 still accepts the digest over it (so the
expected rejection is structural, not a broken signature).
"""
import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import mkfeed as m  # noqa: E402

MD = m.MD
DS = m.DS
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XPATH2 = "http://www.w3.org/2002/06/xmldsig-filter2"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
B64 = "http://www.w3.org/2000/09/xmldsig#base64"
C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
EXCC = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
XPTR = "http://www.w3.org/2001/04/xmldsig-more/xptr"
HMAC256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
DSA256 = "http://www.w3.org/2009/xmldsig11#dsa-sha256"
ID_ROOT = MD + ":EntitiesDescriptor"
ID_ENT = MD + ":EntityDescriptor"
SIG_RE = re.compile(r"<ds:Signature\b.*?</ds:Signature>", re.S)
ROOT_RE = re.compile(r"<md:EntitiesDescriptor\b[^>]*>")
END = "</md:EntitiesDescriptor>"


class Gen:
    def __init__(self, out, pki, now, only=None, canary="http://127.0.0.1:9"):
        self.canary = canary
        self.out = out
        self.pki = pki
        self.now = now
        self.only = only
        self.vu = m.iso(now + 86400)
        self.count = 0
        self.keys = os.path.join(out, "_keys")
        os.makedirs(self.keys, exist_ok=True)

    def p(self, name):
        """Path of a PKI file (made by mkpki.sh) or of a key made here."""
        for d in (self.pki, self.keys):
            if os.path.exists(os.path.join(d, name)):
                return os.path.join(d, name)
        raise FileNotFoundError(name)

    # ---------------------------------------------------------------- building blocks

    def certs(self):
        return [self.p("entity%d.pem" % i) for i in (1, 2, 3, 4)]

    def feed(self, sig=None, n=3, vu="default", **kw):
        """Unsigned template: an aggregate of n entities, signature template first child."""
        if vu == "default":
            vu = self.vu
        kw.setdefault("creation", m.iso(self.now - 60))
        if sig is None:
            sig = m.signature_template()
        return m.template(n=n, valid_until=vu, certs=self.certs(), sig=sig, **kw)

    def sign(self, tpl, key="signer", cert="signer", root="EntitiesDescriptor", extra_ids=()):
        k = self.p(key + ".key")
        c = self.p(cert + ".pem") if cert else None
        data = tpl.encode() if isinstance(tpl, str) else tpl
        return m.sign(data, k, c, root=root, extra_ids=extra_ids).decode()

    def signed(self, **kw):
        """The standard signed feed (3 entities, rsa-sha256, exc-c14n, #ROOT)."""
        return self.sign(self.feed(**kw))

    def entity(self, i, **kw):
        return m.entity_xml("https://e%d.example.org/md" % i, i, self.certs(), ra="https://registrar.example.org", **kw)

    def case(self, name, doc, expect, why, anchors=("signer.pem",), extra=(), at=None,
             xmlsec=None, xmlsec_args=None, ca=False):
        """Write one case. doc: str or bytes. xmlsec: None (default by expect), "OK", "FAIL" or "SKIP"."""
        if self.only and self.only not in name:
            return
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        data = doc.encode() if isinstance(doc, str) else doc
        # Outbound references point at the runner's loopback canary, which must never be hit (B5).
        data = data.replace(b"CANARY_URL", self.canary.encode())
        with open(os.path.join(d, "doc.xml"), "wb") as f:
            f.write(data)
        args = ["--at", str(self.now if at is None else at)]
        if ca:
            args += ["--ca", self.p("fedca.pem"), "--crl", self.p("fedca.crl")]
        else:
            for a in anchors:
                args += ["--anchor", self.p(a)]
        args += list(extra)
        with open(os.path.join(d, "args"), "w") as f:
            f.write("\n".join(args) + "\n")
        with open(os.path.join(d, "expect"), "w") as f:
            f.write(expect + "\n")
        with open(os.path.join(d, "why"), "w") as f:
            f.write(why + "\n")
        if xmlsec is None:
            # Every accept must verify with xmlsec1 too, every sig-invalid must not.
            xmlsec = "OK" if expect.startswith("ACCEPT") else "FAIL" if expect == "REJECT sig-invalid" else None
        if xmlsec in ("OK", "FAIL"):
            if xmlsec_args is None:
                pin = anchors[-1] if not ca else "fedsigner.pem"
                kind = "--pubkey-pem" if pin.endswith(".pub.pem") else "--pubkey-cert-pem"
                xmlsec_args = [kind, self.p(pin), "--id-attr:ID", ID_ROOT]
            with open(os.path.join(d, "xmlsec"), "w") as f:
                f.write(xmlsec + "\n" + "\n".join(xmlsec_args) + "\n")
        self.count += 1

    def openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr))

    def make_keys(self):
        """Keys the PKI does not have: DSA, P-384, P-521, an HMAC secret, an expired certificate."""
        k = self.keys
        self.openssl("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048",
                     "-out", os.path.join(k, "dsa.param"))
        self.openssl("genpkey", "-paramfile", os.path.join(k, "dsa.param"), "-out", os.path.join(k, "dsa.key"))
        self.openssl("req", "-x509", "-key", os.path.join(k, "dsa.key"), "-out", os.path.join(k, "dsa.pem"),
                     "-days", "3650", "-subj", "/CN=dsa-signer")
        for curve, name in (("P-384", "ec384"), ("P-521", "ec521")):
            self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve,
                         "-out", os.path.join(k, name + ".key"))
            self.openssl("req", "-x509", "-key", os.path.join(k, name + ".key"), "-out",
                         os.path.join(k, name + ".pem"), "-days", "3650", "-subj", "/CN=" + name + "-signer")
        with open(os.path.join(k, "hmac.bin"), "wb") as f:
            f.write(os.urandom(32))
        self.expired_cert()

    def expired_cert(self):
        """A self-signed certificate valid from now-10d to now-1d (openssl ca lets us set both dates)."""
        k = self.keys
        db = os.path.join(k, "exp.db")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("2000\n")
        cnf = os.path.join(k, "exp.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = x\n[x]\ndatabase = %s/index.txt\nserial = %s/serial\n"
                    "new_certs_dir = %s\ndefault_md = sha256\npolicy = p\nunique_subject = no\n"
                    "[p]\ncommonName = supplied\n" % (db, db, db))

        def asn1(t):
            return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(k, "expired.key"),
                     "-out", os.path.join(k, "expired.csr"), "-subj", "/CN=expired.example.org")
        self.openssl("ca", "-batch", "-config", cnf, "-selfsign", "-keyfile", os.path.join(k, "expired.key"),
                     "-in", os.path.join(k, "expired.csr"), "-out", os.path.join(k, "expired.pem"), "-notext",
                     "-startdate", asn1(self.now - 10 * 86400), "-enddate", asn1(self.now - 86400))

    def xmlsec_sign(self, tpl, key, cert=None, extra=(), hmac=None):
        """xmlsec1 --sign with a hand-made template; returns str (raises on failure)."""
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "t.xml"), os.path.join(d, "s.xml")
            with open(src, "w", encoding="utf-8") as f:
                f.write(tpl)
            cmd = ["xmlsec1", "--sign"]
            if hmac:
                cmd += ["--hmackey", hmac]
            else:
                cmd += ["--privkey-pem", key + ("," + cert if cert else "")]
            cmd += ["--id-attr:ID", ID_ROOT]
            for e in extra:
                cmd += ["--id-attr:ID", e]
            cmd += ["--output", dst, src]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("xmlsec1 --sign failed: " + r.stderr[-400:])
            return open(dst, encoding="utf-8").read()

    # ---------------------------------------------------------------- string surgery on signed output

    @staticmethod
    def parts(doc):
        """Split a signed aggregate into (decl, root start tag, signature, rest of body)."""
        mt = ROOT_RE.search(doc)
        ms = SIG_RE.search(doc)
        assert mt and ms and ms.start() == mt.end(), "signature is not the first child"
        decl = doc[:mt.start()]
        body = doc[ms.end():doc.rindex(END)]
        return decl, mt.group(0), ms.group(0), body

    def unsigned_original(self, doc):
        """The signed root element with its signature removed (what the digest covers)."""
        decl, start, sig, body = self.parts(doc)
        return start + body + END

    def evil_start(self, root_id="EVIL"):
        return ('<md:EntitiesDescriptor %s ID="%s" Name="urn:evil" validUntil="%s">'
                % (m.NSDECL, root_id, m.iso(self.now + 20 * 86400)))

    def evil_entity(self):
        return m.entity_xml("https://evil.example.net/md", 9, self.certs(), ra="https://evil.example.net")

    # ---------------------------------------------------------------- the cases

    def wrapping(self):
        g = self.signed()
        decl, start, sig, body = self.parts(g)
        orig = start + body + END
        evil = self.evil_entity()
        pin = ["--pubkey-cert-pem", self.p("signer.pem"), "--id-attr:ID", ID_ROOT]

        self.case("xsw-00-baseline-tampered", g.replace(">Org 1<", ">Org X<", 1), "REJECT sig-invalid",
                  "baseline: signed text changed after signing, digest fails", xmlsec="FAIL")
        self.case("xsw-01-orig-in-object",
                  decl + self.evil_start() + sig.replace("</ds:Signature>", "<ds:Object>%s</ds:Object></ds:Signature>" % orig)
                  + evil + END, "REJECT sig-object-forbidden",
                  "original moved into ds:Object under an evil root: R5 (no ds:Object) is checked before R4")
        self.case("xsw-02-orig-before-sig", decl + self.evil_start() + orig + sig + evil + END,
                  "REJECT sig-position",
                  "original placed before the signature in an evil root: root's first child is not the signature (R3);"
                  " the digest over the original still matches (xmlsec1 OK)", xmlsec="OK")
        self.case("xsw-03-unsigned-wrapper", decl + self.evil_start() + g[len(decl):].rstrip() + evil + END,
                  "REJECT sig-missing",
                  "signed original wrapped whole into an unsigned root: no ds:Signature child of the root (R3);"
                  " xmlsec1 happily verifies the nested one", xmlsec="OK")
        self.case("xsw-04-orig-in-extensions",
                  decl + self.evil_start() + sig + "<md:Extensions>" + orig + "</md:Extensions>" + evil + END,
                  "REJECT sig-reference-not-root",
                  "original moved into md:Extensions of an evil root: Reference resolves to a non-root element (R4)",
                  xmlsec="OK")
        self.case("xsw-05-orig-in-keyinfo",
                  decl + self.evil_start() + sig.replace("</ds:KeyInfo>", orig + "</ds:KeyInfo>") + evil + END,
                  "REJECT sig-reference-not-root",
                  "original moved into KeyInfo: Reference resolves to an element inside the signature (R4)")
        # Reference to an entity: the signature genuinely signs entity 0, not the root.
        tpl = self.feed(sig=m.signature_template(ref="#ENT0")).replace(
            "<md:EntityDescriptor entityID=", '<md:EntityDescriptor ID="ENT0" entityID=', 1)
        self.case("xsw-06-ref-to-entity", self.sign(tpl, extra_ids=[ID_ENT]), "REJECT sig-reference-not-root",
                  "signature references an EntityDescriptor (valid digest), not the document element (R4)",
                  xmlsec="OK", xmlsec_args=pin + ["--id-attr:ID", ID_ENT])
        self.case("xsw-07a-dup-id-evil-root",
                  decl + self.evil_start("ROOT") + sig + "<md:Extensions>" + orig + "</md:Extensions>" + evil + END,
                  "REJECT sig-id-duplicate", "evil root carries the same ID as the signed original (R4: ID must be unique)")
        self.case("xsw-07b-dup-id-evil-copy",
                  g.replace(END, '<md:EntitiesDescriptor ID="ROOT" Name="urn:evil">' + evil + END + END, 1),
                  "REJECT sig-id-duplicate", "an evil nested group with the root's ID appended (R4 before crypto)")
        tpl = self.feed().replace("<md:EntityDescriptor entityID=", '<md:EntityDescriptor ID="ROOT" entityID=', 1)
        self.case("xsw-07c-dup-id-on-entity", self.sign(tpl), "REJECT sig-id-duplicate",
                  "an entity carries the root's ID; signature valid when only the root is an ID (xmlsec1 OK), R4 refuses",
                  xmlsec="OK")
        ext = "<md:Extensions>"
        self.case("xsw-08-sig-in-extensions", decl + start + body.replace(ext, ext + sig, 1) + END,
                  "REJECT sig-missing",
                  "signature moved into the root's md:Extensions: no ds:Signature child of the root (R3); still a"
                  " valid enveloped signature for xmlsec1", xmlsec="OK")
        self.case("xsw-09-sig-last-child", decl + start + body + sig + END, "REJECT sig-position",
                  "signature moved to the last child of the root (R3: first element child)", xmlsec="OK")
        i = body.index("</md:Extensions>") + len("</md:Extensions>")
        self.case("xsw-10-sig-after-extensions", decl + start + body[:i] + sig + body[i:] + END,
                  "REJECT sig-position", "signature after md:Extensions (R3 schema position)", xmlsec="OK")
        self.case("xsw-11-two-root-sigs", decl + start + sig + sig + body + END, "REJECT sig-multiple",
                  "two ds:Signature children of the root (R3)")
        sig2 = m.signature_template()
        ref = re.search(r"<ds:Reference.*?</ds:Reference>", sig2, re.S).group(0)
        sig2 = sig2.replace(ref, ref + ref)
        self.case("xsw-12-two-references", self.sign(self.feed(sig=sig2)), "REJECT sig-reference-count",
                  "SignedInfo with two References, both to the root (R4: exactly one)", xmlsec="OK")
        self.case("xsw-13-zero-references", decl + start + re.sub(r"<ds:Reference.*?</ds:Reference>", "", sig, flags=re.S)
                  + body + END, "REJECT sig-reference-count", "SignedInfo without a Reference (R4)")
        self.case("xsw-14-ref-xpointer-root", self.sign(self.feed(sig=m.signature_template(ref="#xpointer(/)"))),
                  "REJECT sig-reference-not-root", "URI=#xpointer(/) is neither empty nor #ID (R4)", xmlsec="OK")
        self.case("xsw-15-ref-xpointer-id",
                  self.sign(self.feed(sig=m.signature_template(ref="#xpointer(id('ROOT'))"))),
                  "REJECT sig-reference-not-root", "URI=#xpointer(id('ROOT')) is neither empty nor #ID (R4)",
                  xmlsec="OK")
        for n, uri in (("16-ref-http", "CANARY_URL/x"), ("17-ref-file", "file:///etc/passwd"),
                       ("18-ref-nonexistent", "#NOPE"), ("19-ref-bare-id", "ROOT")):
            self.case("xsw-" + n, g.replace('URI="#ROOT"', 'URI="%s"' % uri, 1), "REJECT sig-reference-not-root",
                      "Reference URI %s is not empty or #<root ID>; must not be dereferenced (R4, B5)" % uri)
        # Comments, CDATA and PIs inside signed text after signing.
        self.case("xsw-20-pi-in-signed-text", g.replace(">Org 1<", "><?evil x?>Org 1<", 1), "REJECT sig-invalid",
                  "a processing instruction is part of the canonical form: digest fails", xmlsec="FAIL")
        self.case("xsw-21-cdata-changes-text", g.replace(">Org 1<", "><![CDATA[Org <1>]]><", 1),
                  "REJECT sig-invalid", "CDATA adding characters changes the canonical text: digest fails",
                  xmlsec="FAIL")
        self.case("xsw-22-comment-splits-text", g.replace(">Org 1<", ">Org <!--evil-->1<", 1), "ACCEPT 3",
                  "comments are not in the exc-c14n form of a #ID reference, so the signature stays valid;"
                  " the infoset text is unchanged (extraction must read the whole text, not the first node)",
                  xmlsec="OK")
        self.case("xsw-23-cdata-same-text", g.replace(">Org 1<", "><![CDATA[Org 1]]><", 1), "ACCEPT 3",
                  "a CDATA section with the same characters canonicalises to the same text: still valid",
                  xmlsec="OK")
        self.case("xsw-24-comment-in-entityid-text", g.replace("mailto:ops@", "mailto:<!--x-->ops@", 1), "ACCEPT 3",
                  "comment inside EmailAddress: not part of the digest (exc-c14n without comments)", xmlsec="OK")
        # KeyInfo: attacker keys, RetrievalMethod, KeyName.
        self.case("xsw-30-keyinfo-attacker-cert", self.signed_by("other"), "REJECT sig-untrusted-key",
                  "valid signature by an attacker whose certificate is in KeyInfo; KeyInfo is never trusted (R7)")
        kv = m.signature_template().replace(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>",
            "<ds:KeyInfo><ds:KeyValue/></ds:KeyInfo>")
        self.case("xsw-31-keyinfo-attacker-keyvalue", self.sign(self.feed(sig=kv), key="other", cert=None),
                  "REJECT sig-untrusted-key", "valid signature by an attacker RSAKeyValue in KeyInfo (R7)")
        ki = re.search(r"<ds:KeyInfo>.*?</ds:KeyInfo>", g, re.S).group(0)
        rm = ('<ds:KeyInfo><ds:RetrievalMethod URI="CANARY_URL/key" '
              'Type="http://www.w3.org/2000/09/xmldsig#X509Data"/></ds:KeyInfo>')
        self.case("xsw-32-keyinfo-retrievalmethod", g.replace(ki, rm, 1), "ACCEPT 3",
                  "KeyInfo is outside SignedInfo and never dereferenced (R7/B5): the pinned anchor verifies",
                  xmlsec="OK", xmlsec_args=pin)
        self.case("xsw-33-keyinfo-keyname", g.replace(ki, "<ds:KeyInfo><ds:KeyName>file:///etc/passwd</ds:KeyName>"
                                                          "</ds:KeyInfo>", 1), "ACCEPT 3",
                  "KeyName is ignored (R7): the pinned anchor verifies", xmlsec="OK")
        self.case("xsw-34-keyinfo-pinned-cert-attacker-sig",
                  self.signed_by("other").replace(
                      re.search(r"<ds:X509Certificate>.*?</ds:X509Certificate>", self.signed_by("other"), re.S).group(0),
                      "<ds:X509Certificate>%s</ds:X509Certificate>" % m.cert_b64(self.p("signer.pem")), 1),
                  "REJECT sig-untrusted-key",
                  "attacker signature with the genuine signer's certificate copied into KeyInfo: digest matches,"
                  " no anchor verifies the value")
        self.case("xsw-35-sigvalue-flipped", self.flip_sigvalue(g), "REJECT sig-untrusted-key",
                  "SignatureValue altered: digest matches, no anchor verifies the value", xmlsec="FAIL")

    def signed_by(self, who):
        if not hasattr(self, "_by"):
            self._by = {}
        if who not in self._by:
            self._by[who] = self.sign(self.feed(), key=who, cert=who)
        return self._by[who]

    @staticmethod
    def flip_sigvalue(doc):
        mv = re.search(r"<ds:SignatureValue>(.*?)</ds:SignatureValue>", doc, re.S)
        raw = bytearray(base64.b64decode("".join(mv.group(1).split())))
        raw[len(raw) // 2] ^= 0x01
        return doc[:mv.start(1)] + base64.b64encode(bytes(raw)).decode() + doc[mv.end(1):]

    def transforms(self):
        g = self.signed()
        pin = ["--pubkey-cert-pem", self.p("signer.pem"), "--id-attr:ID", ID_ROOT]

        def with_tr(extra_xml):
            t = m.signature_template().replace("</ds:Transforms>", extra_xml + "</ds:Transforms>")
            return t

        def try_sign(sig):
            try:
                return self.sign(self.feed(sig=sig)), "OK"
            except RuntimeError:
                return None, None

        specs = [
            ("tr-01-xpath", '<ds:Transform Algorithm="%s"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath>'
                            '</ds:Transform>' % XPATH),
            ("tr-02-xpath-filter2", '<ds:Transform Algorithm="%s"><dsig-xpath:XPath xmlns:dsig-xpath="%s" '
                                    'Filter="union">/</dsig-xpath:XPath></ds:Transform>' % (XPATH2, XPATH2)),
            ("tr-03-xslt", '<ds:Transform Algorithm="%s"><xsl:stylesheet version="1.0" '
                           'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">'
                           '<xsl:copy-of select="."/></xsl:template></xsl:stylesheet></ds:Transform>' % XSLT),
            ("tr-04-base64", '<ds:Transform Algorithm="%s"/>' % B64),
            ("tr-05-c14n11", '<ds:Transform Algorithm="%s"/>' % C14N11),
            ("tr-06-xpointer", '<ds:Transform Algorithm="%s"><XPointer xmlns="%s">xpointer(/)</XPointer>'
                               '</ds:Transform>' % (XPTR, XPTR)),
            ("tr-07-inclusive-c14n10", '<ds:Transform Algorithm="%s"/>' % C14N10),
            ("tr-08-enveloped-twice", '<ds:Transform Algorithm="%s"/>' % m.ENV),
        ]
        for name, xml in specs:
            doc, xs = try_sign(with_tr(xml))
            if doc is None:
                # xmlsec1 cannot sign with it: add it to a genuinely signed document (the crypto then fails
                # too, but R5 comes before any crypto).
                doc = g.replace("</ds:Transforms>", xml + "</ds:Transforms>", 1)
            self.case(name, doc, "REJECT sig-transform-forbidden",
                      "Reference transform beyond enveloped + one exc-c14n (R5)", xmlsec=xs)
        self.case("tr-09-no-enveloped", self.sign(self.feed(sig=m.signature_template(transforms=[m.EXC]))),
                  "REJECT sig-transform-forbidden", "enveloped-signature transform missing (R5)")
        self.case("tr-10-c14n-signedinfo-c14n11", self.sign(self.feed(sig=m.signature_template(c14n=C14N11))),
                  "REJECT sig-c14n-forbidden", "SignedInfo CanonicalizationMethod C14N 1.1 (R5: only C14N 1.0/exc)",
                  xmlsec="OK")
        self.case("tr-11-c14n-signedinfo-unknown", g.replace('CanonicalizationMethod Algorithm="%s"' % m.EXC,
                                                             'CanonicalizationMethod Algorithm="urn:evil:c14n"', 1),
                  "REJECT sig-c14n-forbidden", "unknown SignedInfo CanonicalizationMethod (R5)")
        self.case("tr-12-object-empty", g.replace("</ds:Signature>", '<ds:Object Id="o"/></ds:Signature>', 1),
                  "REJECT sig-object-forbidden", "ds:Object present (R5), outside SignedInfo so the crypto is valid",
                  xmlsec="OK")
        self.case("tr-13-object-manifest", g.replace(
            "</ds:Signature>", '<ds:Object><ds:Manifest><ds:Reference URI="CANARY_URL/m"><ds:DigestMethod '
            'Algorithm="%s"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:Manifest></ds:Object>'
            '</ds:Signature>' % m.DIGESTS["sha256"], 1), "REJECT sig-object-forbidden",
            "ds:Manifest inside ds:Object (R5); its Reference must never be fetched (B5)")
        # Accept side of R5/c14n.
        self.case("ctl-tr-exc-c14n-with-comments",
                  self.sign(self.feed(sig=m.signature_template(transforms=[m.ENV, EXCC]))), "ACCEPT 3",
                  "R5 allows exclusive C14N with comments", xmlsec="OK")
        incl = m.signature_template().replace(
            '<ds:Transform Algorithm="%s"/></ds:Transforms>' % m.EXC,
            '<ds:Transform Algorithm="%s"><ec:InclusiveNamespaces xmlns:ec="%s" PrefixList="xs xsi"/>'
            '</ds:Transform></ds:Transforms>' % (m.EXC, m.EXC))
        self.case("ctl-tr-inclusive-namespaces", self.sign(self.feed(sig=incl)), "ACCEPT 3",
                  "exc-c14n with an InclusiveNamespaces PrefixList is allowed (R5)", xmlsec="OK")
        self.case("ctl-c14n-signedinfo-c14n10", self.sign(self.feed(sig=m.signature_template(c14n=C14N10))),
                  "ACCEPT 3", "SignedInfo canonicalised with inclusive C14N 1.0 is allowed (reason.c: R_SIG_C14N)",
                  xmlsec="OK")

    def parser(self):
        g = self.signed()
        decl, start, sig, body = self.parts(g)
        x = g[len(decl):]
        hdr = '<?xml version="1.0" encoding="UTF-8"?>\n'
        dt = "md:EntitiesDescriptor"
        self.case("parse-01-doctype-internal", hdr + "<!DOCTYPE %s [<!ELEMENT foo ANY>]>\n" % dt + x,
                  "REJECT xml-doctype-forbidden", "internal DTD subset (R10)")
        self.case("parse-02-doctype-external", hdr + '<!DOCTYPE %s SYSTEM "CANARY_URL/md.dtd">\n' % dt + x,
                  "REJECT xml-doctype-forbidden", "external DTD, never fetched (R10, B5)")
        self.case("parse-03-doctype-empty", hdr + "<!DOCTYPE %s>\n" % dt + x, "REJECT xml-doctype-forbidden",
                  "any DOCTYPE, even without a subset (R10)")
        lol = "".join('<!ENTITY l%d "%s">' % (i, "&l%d;" % (i - 1) * 10) for i in range(1, 10))
        self.case("parse-04-billion-laughs", hdr + '<!DOCTYPE %s [<!ENTITY l0 "lol">%s]>\n' % (dt, lol)
                  + x.replace(">Org 1<", ">&l9;<", 1), "REJECT xml-doctype-forbidden",
                  "entity expansion bomb: refused for its DTD before any expansion (R10)")
        self.case("parse-05-quadratic-blowup", hdr + '<!DOCTYPE %s [<!ENTITY a "%s">]>\n' % (dt, "A" * 100000)
                  + x.replace(">Org 1<", ">" + "&a;" * 20000 + "<", 1), "REJECT xml-doctype-forbidden",
                  "quadratic blowup (one 100 kB entity referenced 20000 times): DTD refused (R10)")
        self.case("parse-06-xxe-file", hdr + '<!DOCTYPE %s [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' % dt
                  + x.replace(">Org 1<", ">&x;<", 1), "REJECT xml-doctype-forbidden",
                  "external entity to a local file (R10, B5)")
        self.case("parse-07-xxe-http", hdr + '<!DOCTYPE %s [<!ENTITY x SYSTEM "CANARY_URL/x">]>\n' % dt
                  + x.replace(">Org 1<", ">&x;<", 1), "REJECT xml-doctype-forbidden",
                  "external entity over http (R10, B5)")
        self.case("parse-08-parameter-entity",
                  hdr + '<!DOCTYPE %s [<!ENTITY %% p SYSTEM "CANARY_URL/p.dtd"> %%p;]>\n' % dt + x,
                  "REJECT xml-doctype-forbidden", "external parameter entity (R10, B5)")
        # XInclude inside signed Extensions: only an element unless XInclude were processed (then the
        # tree would change and the digest fail), so a validly signed document with an inert xi:include.
        xi = ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>')
        tpl = self.feed().replace("<md:Extensions><mdrpi:PublicationInfo", "<md:Extensions>" + xi +
                                  "<mdrpi:PublicationInfo", 1)
        self.case("parse-09-xinclude", self.sign(tpl), "ACCEPT 3",
                  "xi:include is never processed (R10): it stays an inert extension element and the signature"
                  " over it is valid", xmlsec="OK")
        deep = "".join('<x:n xmlns:x="urn:test:deep">' for _ in range(100)) + "</x:n>" * 100
        tpl = self.feed().replace("<md:Extensions><mdrpi:PublicationInfo", "<md:Extensions>" + deep +
                                  "<mdrpi:PublicationInfo", 1)
        self.case("parse-10-deep-nesting-signed", self.sign(tpl), "REJECT xml-limit",
                  "100 nested elements inside a signed Extensions (> MAX_XML_DEPTH 64)", xmlsec="OK")
        deep = "<x:n xmlns:x=\"urn:test:deep\">" * 5000 + "</x:n>" * 5000
        self.case("parse-11-deep-nesting-5000", g.replace("<md:Extensions>", "<md:Extensions>" + deep, 1),
                  "REJECT xml-limit", "5000 nested elements (also beyond libxml2's own depth limit)")
        big = 20 * 1024 * 1024
        self.case("parse-12-huge-attribute", g.replace('publicationId="pub-1"', 'publicationId="%s"' % ("A" * big), 1),
                  "REJECT xml-limit", "20 MB attribute value: beyond the parser's own limits, never lifted (R10)")
        self.case("parse-13-huge-text", g.replace(">Org 1<", ">%s<" % ("A" * big), 1), "REJECT xml-limit",
                  "20 MB text node: beyond the parser's own limits, never lifted (R10)")
        b = g.encode()
        self.case("parse-14-invalid-utf8", b.replace(b">Org 1<", b">Org \xff\xfe1<", 1), "REJECT xml-malformed",
                  "invalid UTF-8 bytes")
        self.case("parse-15-overlong-utf8", b.replace(b">Org 1<", b">Org \xc0\xbc1<", 1), "REJECT xml-malformed",
                  "overlong UTF-8 encoding of '<'")
        # A signed document with a non-ASCII character, then the declaration changed.
        gu = self.sign(self.feed().replace(">Einheit 1<", ">Einheit \u00fc\u00df\u20ac 1<", 1))
        self.case("parse-16-latin1-declared-utf8-bytes",
                  gu.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1).encode(),
                  "REJECT xml-malformed",
                  "declared ISO-8859-1 over UTF-8 bytes: only UTF-8 is read (parse stage, before the digest, which"
                  " would fail too: xmlsec1 decodes Latin-1 and refuses)", xmlsec="FAIL")
        self.case("parse-17-utf16-declared-utf8-bytes", gu.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode(),
                  "REJECT xml-malformed", "declared UTF-16 but the bytes are UTF-8 without a BOM: encoding mismatch")
        u7 = self.sign(self.feed().replace(">Org 1<", ">Org +ADw-1+AD4-<", 1))
        self.case("parse-18-utf7", u7.replace('encoding="UTF-8"', 'encoding="UTF-7"', 1).encode(), "REJECT xml-malformed",
                  "UTF-7 declaration (+ADw- would decode to '<'): only UTF-8 is read")
        ns_bad = self.feed().replace('xmlns:md="%s"' % MD, 'xmlns:md="urn:evil:metadata"', 1)
        self.case("parse-20-ns-md-prefix-other-uri",
                  self.sign_ns(ns_bad, "urn:evil:metadata"),
                  "REJECT xml-root-invalid", "prefix md bound to another URI: root matched by namespace URI (R2)",
                  xmlsec="OK", xmlsec_args=["--pubkey-cert-pem", self.p("signer.pem"), "--id-attr:ID",
                                            "urn:evil:metadata:EntitiesDescriptor"])
        nons = self.feed().replace('xmlns:md="%s" ' % MD, "", 1).replace("<md:", "<").replace("</md:", "</")
        self.case("parse-21-ns-none", self.sign_ns(nons, None), "REJECT xml-root-invalid",
                  "EntitiesDescriptor without a namespace (R2)", xmlsec="OK",
                  xmlsec_args=["--pubkey-cert-pem", self.p("signer.pem"), "--id-attr:ID", "EntitiesDescriptor"])
        wrong_local = self.feed().replace("md:EntitiesDescriptor", "md:EntitiesDescriptorX")
        self.case("parse-22-ns-wrong-local-name", self.sign_ns(wrong_local, MD, "EntitiesDescriptorX"),
                  "REJECT xml-root-invalid", "right namespace, wrong local name (R2)")
        dflt = self.feed().replace('xmlns:md="%s"' % MD, 'xmlns="%s"' % MD, 1).replace("<md:", "<").replace("</md:", "</")
        self.case("ctl-ns-default-namespace", self.sign_ns(dflt, MD), "ACCEPT 3",
                  "root in the metadata namespace as the default namespace (no prefix): R2 matches the URI",
                  xmlsec="OK")
        sigwrong = g.replace('<ds:Signature xmlns:ds="%s">' % DS, '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig">', 1)
        self.case("parse-23-ns-signature-wrong-uri", sigwrong, "REJECT sig-missing",
                  "ds:Signature in a namespace that is not xmldsig: no signature child (R3)")
        self.case("parse-24-second-root", g.rstrip() + "\n" + self.evil_start() + self.evil_entity() + END + "\n",
                  "REJECT xml-malformed", "a second root element after the document element")
        self.case("parse-25-text-after-root", g.rstrip() + "\nevil text\n", "REJECT xml-malformed",
                  "character data after the document element")
        self.case("parse-26-truncated", b[:len(b) // 2], "REJECT xml-malformed", "body cut in half")
        self.case("parse-27-empty", b"", "REJECT xml-empty", "zero bytes")
        self.case("parse-28-control-char-raw", b.replace(b">Org 1<", b">Org \x011<", 1), "REJECT xml-malformed",
                  "raw U+0001 is not an XML 1.0 character")
        self.case("parse-29-control-char-ref", g.replace(">Org 1<", ">Org &#x1;1<", 1), "REJECT xml-malformed",
                  "&#x1; is not an XML 1.0 character")
        self.case("parse-30-xml11-control-char", g.replace('version="1.0"', 'version="1.1"', 1)
                  .replace(">Org 1<", ">Org &#x1;1<", 1), "REJECT xml-malformed",
                  "XML 1.1 declaration used to smuggle &#x1;: read as XML 1.0, not well-formed")
        self.case("parse-33-xml11-declaration", g.replace('version="1.0"', 'version="1.1"', 1),
                  "REJECT xml-malformed", "XML 1.1 declaration: only XML 1.0 is read (libxml2 would only warn,"
                  " so xmlsec1 still verifies it)", xmlsec="OK")
        self.case("parse-19-utf16-bom", b"\xff\xfe" + gu.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
                  .encode("utf-16-le"), "REJECT xml-malformed",
                  "a correctly encoded UTF-16 document with BOM: only UTF-8 is read (--type saml: the type guess"
                  " is not what this case tests)", extra=("--type", "saml"))
        self.case("parse-31-nul-byte", b.replace(b">Org 1<", b">Org \x001<", 1), "REJECT xml-malformed",
                  "NUL byte inside the document")
        self.case("parse-32-unclosed-comment", g.replace("<md:Extensions>", "<md:Extensions><!--", 1),
                  "REJECT xml-malformed", "unterminated comment")
        self.case("ctl-trailing-comment-pi", g.rstrip() + "\n<!-- trailing comment -->\n<?trailing pi?>\n",
                  "ACCEPT 3", "comments and PIs after the root are outside the signed element", xmlsec="OK")
        self.case("ctl-utf8-bom", b"\xef\xbb\xbf" + b, "ACCEPT 3", "UTF-8 byte order mark", xmlsec="OK")
        self.case("ctl-crlf", b.replace(b"\n", b"\r\n"), "ACCEPT 3",
                  "CRLF line ends are normalised to LF by the parser: same infoset", xmlsec="OK")
        self.case("ctl-no-xml-declaration", x, "ACCEPT 3", "no XML declaration (UTF-8 by default)", xmlsec="OK")
        self.case("ctl-non-ascii-utf8", gu, "ACCEPT 3", "UTF-8 text with non-ASCII characters", xmlsec="OK")

    def sign_ns(self, tpl, ns, local="EntitiesDescriptor"):
        """Sign a template whose root is not md:EntitiesDescriptor (ID attribute registered by name)."""
        key, cert = self.p("signer.key"), self.p("signer.pem")
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "t.xml"), os.path.join(d, "s.xml")
            with open(src, "w", encoding="utf-8") as f:
                f.write(tpl)
            idn = (ns + ":" + local) if ns else local
            r = subprocess.run(["xmlsec1", "--sign", "--privkey-pem", key + "," + cert, "--id-attr:ID", idn,
                                "--output", dst, src], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("xmlsec1 --sign failed: " + r.stderr[-400:])
            return open(dst, encoding="utf-8").read()

    def crypto(self):
        g = self.signed()
        kd = self.keys
        pin = lambda c: ["--pubkey-cert-pem", self.p(c), "--id-attr:ID", ID_ROOT]  # noqa: E731
        self.case("alg-01-rsa-sha1", self.sign(self.feed(sig=m.signature_template(alg="rsa-sha1"))),
                  "REJECT sig-alg-forbidden", "rsa-sha1 SignatureMethod (R6); xmlsec1 accepts it", xmlsec="OK")
        self.case("alg-02-sha1-digest", self.sign(self.feed(sig=m.signature_template(digest="sha1"))),
                  "REJECT sig-digest-weak", "sha1 DigestMethod (R6); xmlsec1 accepts it", xmlsec="OK")
        self.case("alg-03-md5-digest", self.sign(self.feed(sig=m.signature_template(digest="md5"))),
                  "REJECT sig-digest-weak", "md5 DigestMethod (R6)")
        self.case("alg-04-rsa-md5", self.sign(self.feed(sig=m.signature_template(alg="rsa-md5"))),
                  "REJECT sig-alg-forbidden", "rsa-md5 SignatureMethod (R6)")
        self.case("alg-05-rsa-1024", self.sign(self.feed(), key="weak", cert="weak"), "REJECT sig-key-weak",
                  "valid rsa-sha256 signature by an RSA-1024 anchor (R6: RSA >= 2048)", anchors=("weak.pem",),
                  xmlsec="OK")
        dsa = self.xmlsec_sign(self.feed(sig=m.signature_template(alg=DSA256)), os.path.join(kd, "dsa.key"),
                               os.path.join(kd, "dsa.pem"))
        self.case("alg-06-dsa", dsa, "REJECT sig-alg-forbidden", "dsa-sha256 SignatureMethod (R6), refused before"
                  " any key is looked at", xmlsec="OK", xmlsec_args=pin("dsa.pem"))
        self.case("alg-06b-dsa-with-dsa-anchor", dsa, "REJECT sig-alg-forbidden",
                  "dsa-sha256 refused even when the DSA key is the configured anchor (R6)", anchors=("dsa.pem",))
        self.case("alg-07-unknown-sig-alg", g.replace(m.ALGS["rsa-sha256"], "urn:evil:sig-alg", 1),
                  "REJECT sig-alg-forbidden", "unknown SignatureMethod URI (R6)")
        self.case("alg-08-unknown-digest", g.replace(m.DIGESTS["sha256"], "urn:evil:digest", 1),
                  "REJECT sig-digest-weak", "unknown DigestMethod URI: not sha256/384/512 (R6)")
        hs = m.signature_template(alg=HMAC256, keyinfo=False)
        self.case("alg-09-hmac-sha256", self.xmlsec_sign(self.feed(sig=hs), None, hmac=os.path.join(kd, "hmac.bin")),
                  "REJECT sig-alg-forbidden", "hmac-sha256 where a public-key signature is expected (R6)")
        pem = os.path.join(kd, "hmac-pem.bin")
        shutil.copyfile(self.p("signer.pem"), pem)
        self.case("alg-10-hmac-key-is-anchor-pem", self.xmlsec_sign(self.feed(sig=hs), None, hmac=pem),
                  "REJECT sig-alg-forbidden",
                  "HMAC keyed with the anchor certificate's PEM bytes (key confusion) (R6)")
        ht = hs.replace('<ds:SignatureMethod Algorithm="%s"/>' % HMAC256,
                        '<ds:SignatureMethod Algorithm="%s"><ds:HMACOutputLength>8</ds:HMACOutputLength>'
                        '</ds:SignatureMethod>' % HMAC256)
        try:
            doc = self.xmlsec_sign(self.feed(sig=ht), None, hmac=os.path.join(kd, "hmac.bin"))
        except RuntimeError:
            doc = self.xmlsec_sign(self.feed(sig=hs), None, hmac=os.path.join(kd, "hmac.bin")).replace(
                '<ds:SignatureMethod Algorithm="%s"/>' % HMAC256,
                '<ds:SignatureMethod Algorithm="%s"><ds:HMACOutputLength>8</ds:HMACOutputLength>'
                '</ds:SignatureMethod>' % HMAC256, 1)
            mv = re.search(r"<ds:SignatureValue>(.*?)</ds:SignatureValue>", doc, re.S)
            doc = doc[:mv.start(1)] + "AQ==" + doc[mv.end(1):]
        self.case("alg-11-hmac-truncated", doc, "REJECT sig-alg-forbidden",
                  "HMAC with HMACOutputLength 8 bits (R6)")
        ec = self.sign(self.feed(sig=m.signature_template(alg="ecdsa-sha256")), key="signer-ec", cert="signer-ec")
        mv = re.search(r"<ds:SignatureValue>(.*?)</ds:SignatureValue>", ec, re.S)
        self.case("alg-12-ecdsa-r-s-zero", ec[:mv.start(1)] + base64.b64encode(b"\0" * 64).decode() + ec[mv.end(1):],
                  "REJECT sig-untrusted-key",
                  "ECDSA r = s = 0 with the EC anchor: digest matches, the value never verifies", anchors=("signer-ec.pem",),
                  xmlsec="FAIL", xmlsec_args=pin("signer-ec.pem"))
        self.case("alg-13-ecdsa-value-truncated", ec[:mv.start(1)] + base64.b64encode(
            base64.b64decode("".join(mv.group(1).split()))[:63]).decode() + ec[mv.end(1):],
            "REJECT sig-untrusted-key", "ECDSA value of 63 bytes: digest matches, value invalid",
            anchors=("signer-ec.pem",))
        self.case("alg-14-ecdsa-signed-rsa-anchor", ec, "REJECT sig-untrusted-key",
                  "valid ECDSA signature, but the configured anchor is the RSA signer")
        p521 = self.xmlsec_sign(self.feed(sig=m.signature_template(alg="ecdsa-sha256")), os.path.join(kd, "ec521.key"),
                                os.path.join(kd, "ec521.pem"))
        self.case("alg-15-ecdsa-p521", p521, "REJECT sig-key-weak",
                  "ecdsa on P-521: only P-256/P-384 allowed (R6)", anchors=("ec521.pem",), xmlsec="OK",
                  xmlsec_args=pin("ec521.pem"))
        self.case("alg-16-rsa-sig-ec-method", g.replace(m.ALGS["rsa-sha256"], m.ALGS["ecdsa-sha256"], 1),
                  "REJECT sig-untrusted-key",
                  "SignatureMethod claims ecdsa-sha256 over an RSA value, EC anchor: digest matches, no verify",
                  anchors=("signer-ec.pem",))
        # Accept-controls for algorithms and anchors.
        self.case("ctl-rsa-sha512", self.sign(self.feed(sig=m.signature_template(alg="rsa-sha512", digest="sha512"))),
                  "ACCEPT 3", "rsa-sha512 with a sha512 digest (R6 allow-list)", xmlsec="OK")
        self.case("ctl-rsa-sha384", self.sign(self.feed(sig=m.signature_template(alg="rsa-sha384", digest="sha384"))),
                  "ACCEPT 3", "rsa-sha384 with a sha384 digest (R6 allow-list)", xmlsec="OK")
        self.case("ctl-ecdsa-sha256", ec, "ACCEPT 3", "ecdsa-sha256 on P-256 with the EC anchor (R6)",
                  anchors=("signer-ec.pem",), xmlsec="OK", xmlsec_args=pin("signer-ec.pem"))
        e384 = self.xmlsec_sign(self.feed(sig=m.signature_template(alg="ecdsa-sha384", digest="sha384")),
                                os.path.join(kd, "ec384.key"), os.path.join(kd, "ec384.pem"))
        self.case("ctl-ecdsa-sha384-p384", e384, "ACCEPT 3", "ecdsa-sha384 on P-384 (R6)", anchors=("ec384.pem",),
                  xmlsec="OK", xmlsec_args=pin("ec384.pem"))
        self.case("ctl-anchor-public-key", g, "ACCEPT 3", "anchor given as a bare public key",
                  anchors=("signer.pub.pem",), xmlsec="OK")
        self.case("ctl-anchor-rollover", g, "ACCEPT 3", "two anchors, the second one signed (rollover)",
                  anchors=("signer2.pem", "signer.pem"), xmlsec="OK")
        self.case("alg-17-wrong-anchor", g, "REJECT sig-untrusted-key", "genuine signature, anchor is another key",
                  anchors=("signer2.pem",))

    def validity(self):
        now = self.now
        self.case("val-01-no-valid-until", self.signed(vu=None), "REJECT valid-until-missing", "root without validUntil (R11)",
                  xmlsec="OK")
        self.case("val-02-expired", self.signed(vu=m.iso(now - 3600)), "REJECT expired", "validUntil an hour ago",
                  xmlsec="OK")
        self.case("val-03-expires-now", self.signed(vu=m.iso(now)), "REJECT expired",
                  "validUntil == now: must be after now")
        self.case("val-04-too-far", self.signed(vu=m.iso(now + 60 * 86400)), "REJECT validity-too-long",
                  "validUntil 60 days ahead with --max-validity 28d", extra=("--max-validity", "28d"), xmlsec="OK")
        ents = self.entity(0) + self.entity(1, valid_until=m.iso(now - 3600)) + self.entity(2)
        self.case("val-05-nested-expired", self.signed(entities=ents), "ACCEPT 2",
                  "one entity's own validUntil passed: that entity dropped (entity-expired), feed accepted",
                  xmlsec="OK")
        ents = self.entity(0) + self.entity(1, valid_until=m.iso(now + 10 * 86400)) + self.entity(2)
        self.case("val-06-nested-later-than-root", self.signed(entities=ents), "ACCEPT 3",
                  "entity validUntil after the root's: accepted, clamped to the root", xmlsec="OK")
        grp = ('<md:EntitiesDescriptor Name="urn:group:old" validUntil="%s">%s%s</md:EntitiesDescriptor>'
               % (m.iso(now - 3600), self.entity(1), self.entity(2)))
        self.case("val-07-nested-group-expired", self.signed(entities=self.entity(0) + grp + self.entity(3)),
                  "ACCEPT 2", "a nested group's validUntil passed: its two entities dropped", xmlsec="OK")
        ents = self.entity(0) + self.entity(1, valid_until="not-a-date") + self.entity(2)
        self.case("val-08-nested-malformed", self.signed(entities=ents), "ACCEPT 2",
                  "an entity's validUntil does not parse: that entity dropped (time-malformed)")
        self.case("val-09-cache-p0d", self.signed(cache_duration="P0D"), "ACCEPT 3",
                  "cacheDuration P0D is a refresh hint only (the scheduler clamps it)", xmlsec="OK")
        self.case("val-10-cache-p1000y", self.signed(cache_duration="P1000Y"), "ACCEPT 3",
                  "cacheDuration P1000Y: hint only, clamped by validUntil and the scheduler", xmlsec="OK")
        self.case("val-11-cache-malformed", self.signed(cache_duration="PTXS"), "REJECT time-malformed",
                  "cacheDuration PTXS does not parse")
        self.case("val-12-cache-overflow", self.signed(cache_duration="P99999999999999999999Y"),
                  "REJECT time-malformed", "cacheDuration overflowing any integer")
        self.case("val-13-valid-until-malformed", self.signed(vu="2026-13-45T99:00:00Z"), "REJECT time-malformed",
                  "validUntil with month 13")
        self.case("val-14-valid-until-words", self.signed(vu="tomorrow"), "REJECT time-malformed",
                  "validUntil not a dateTime")
        self.case("val-15-valid-until-no-zone", self.signed(vu=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now + 86400))),
                  "ACCEPT 3", "validUntil without a time zone: SAML times are UTC, read as UTC")
        self.case("val-16-creation-future", self.signed(creation=m.iso(now + 86400)), "REJECT not-yet-valid",
                  "PublicationInfo creationInstant a day ahead (beyond the skew)")
        self.case("val-17-creation-malformed", self.signed(creation="yesterday"), "REJECT time-malformed",
                  "creationInstant not a dateTime")
        ents = self.entity(0) + m.entity_xml("https://e1.example.org/md", 0, [self.p("expired.pem")],
                                             ra="https://registrar.example.org") + self.entity(2)
        exp = self.signed(entities=ents)
        self.case("val-18-entity-cert-expired-warn", exp, "ACCEPT 3",
                  "an expired certificate in a KeyDescriptor: warn by default", xmlsec="OK")
        self.case("val-19-entity-cert-expired-reject", exp, "ACCEPT 2",
                  "--cert-validity reject: the entity with the expired certificate is dropped (entity-cert-expired)",
                  extra=("--cert-validity", "reject"), xmlsec="OK")
        ents = self.entity(0) + m.entity_xml("https://e1.example.org/md", 1, self.certs(),
                                             ra="https://registrar.example.org").replace(
            m.cert_b64(self.certs()[1]), "bm90IGEgY2VydGlmaWNhdGU=", 1) + self.entity(2)
        self.case("val-20-entity-cert-garbage", self.signed(entities=ents), "ACCEPT 2",
                  "a KeyDescriptor certificate that does not parse: entity dropped (entity-key-invalid)")

    def content(self):
        e = self.entity
        dup = e(0) + e(1) + e(1) + e(2)
        self.case("ent-01-duplicate-id", self.signed(entities=dup), "ACCEPT 2",
                  "entityID twice in one feed: both copies dropped (entity-duplicate)", xmlsec="OK")
        self.case("ent-02-duplicate-only", self.signed(entities=e(1) + e(1)), "REJECT feed-empty",
                  "the only entityID occurs twice: both dropped, nothing left")
        self.case("ent-03-empty-aggregate", self.signed(entities=""), "REJECT feed-empty",
                  "signed aggregate without entities", xmlsec="OK")

        def bad(eid):
            return e(0) + m.entity_xml(eid, 1, self.certs(), ra="https://registrar.example.org") + e(2)
        self.case("ent-04-entityid-empty", self.signed(entities=bad("")), "ACCEPT 2", "entityID empty: dropped")
        self.case("ent-05-entityid-tab", self.signed(entities=bad("https://e1.example.org/&#x9;md")), "ACCEPT 2",
                  "entityID with a TAB (character reference survives attribute normalisation): dropped")
        self.case("ent-06-entityid-c1-control", self.signed(entities=bad("https://e1.example.org/\u0085md")), "ACCEPT 2",
                  "entityID with U+0085 (a C1 control, legal XML): dropped")
        self.case("ent-07-entityid-2000-bytes", self.signed(entities=bad("https://e1.example.org/" + "a" * 2000)),
                  "ACCEPT 2", "entityID longer than MAX_ENTITY_ID (1024): dropped")
        self.case("ent-08-entityid-missing", self.signed(entities=e(0) + e(1).replace(
            ' entityID="https://e1.example.org/md"', "", 1) + e(2)), "ACCEPT 2", "EntityDescriptor without entityID: dropped")
        self.case("ent-13-entityid-del", self.signed(entities=bad("https://e1.example.org/\x7fmd")), "ACCEPT 2",
                  "entityID with DEL (U+007F): dropped")
        self.case("ent-14-entityid-space", self.signed(entities=bad("https://e1.example.org/ md")), "ACCEPT 2",
                  "entityID with a space (not a URI character): dropped")
        self.case("ent-09-entityid-newline", self.signed(entities=bad("https://e1.example.org/&#xA;md")), "ACCEPT 2",
                  "entityID with a line feed: dropped (would split log lines)")
        # Nested group carrying an embedded signature.
        grp_tpl = ('<md:EntitiesDescriptor %s ID="G1" Name="urn:group:1">%s%s%s</md:EntitiesDescriptor>'
                   % (m.NSDECL, m.signature_template(ref="#G1"), e(1), e(2)))
        grp = self.sign('<?xml version="1.0" encoding="UTF-8"?>\n' + grp_tpl)
        grp = grp[grp.index("<md:EntitiesDescriptor"):].rstrip()
        bad_grp = grp.replace(">Org 1<", ">Org X<", 1)
        self.case("ent-10-nested-group-bad-sig", self.signed(entities=e(0) + bad_grp + e(3)), "ACCEPT 2",
                  "nested group whose embedded signature fails: its two entities dropped (entity-sig-invalid)",
                  xmlsec=None)
        ogrp = self.sign('<?xml version="1.0" encoding="UTF-8"?>\n' + grp_tpl, key="other", cert="other")
        ogrp = ogrp[ogrp.index("<md:EntitiesDescriptor"):].rstrip()
        self.case("ent-11-nested-group-attacker-sig", self.signed(entities=e(0) + ogrp + e(3)), "ACCEPT 2",
                  "nested group signed by a key that is no anchor: its entities dropped")
        ent_tpl = e(1, ns=True).replace("<md:EntityDescriptor ", '<md:EntityDescriptor ID="E1" ', 1)
        ent_tpl = ent_tpl.replace("<md:Extensions>", m.signature_template(ref="#E1") + "<md:Extensions>", 1)
        se = self.sign('<?xml version="1.0" encoding="UTF-8"?>\n' + ent_tpl, root="EntityDescriptor")
        se = se[se.index("<md:EntityDescriptor"):].rstrip().replace(">Org 1<", ">Org X<", 1)
        self.case("ent-12-entity-bad-embedded-sig", self.signed(entities=e(0) + se + e(2)), "ACCEPT 2",
                  "an entity whose own embedded signature fails: that entity dropped (entity-sig-invalid)")

    def controls(self):
        g = self.signed()
        self.case("ctl-basic", g, "ACCEPT 3", "the plain signed aggregate", xmlsec="OK")

        def requote(mt):
            tag = mt.group(0)
            if tag.startswith("<?") or tag.startswith("<!"):
                return tag
            tag = re.sub(r'="([^"\']*)"', r"='\1'", tag)
            return re.sub(r"(['\"])\s+(?=[\w:]+=)", "\\1 \n\t  ", tag)
        rq = re.sub(r"<[^>]+>", requote, g)
        assert rq != g
        self.case("ctl-requoted", rq, "ACCEPT 3",
                  "same infoset re-serialised: attribute quotes ' and line breaks between attributes", xmlsec="OK")
        self.case("ctl-self-closing-expanded", g.replace('publicationId="pub-1"/>',
                                                         'publicationId="pub-1"></mdrpi:PublicationInfo>', 1),
                  "ACCEPT 3", "empty element written as start+end tag: same infoset", xmlsec="OK")
        # Freshly re-signed: a signed document re-signed in place (new values, same key).
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in.xml")
            bumped = g.replace(self.vu, m.iso(self.now + 2 * 86400), 1)
            with open(src, "w", encoding="utf-8") as f:
                f.write(bumped)
            dst = os.path.join(d, "out.xml")
            subprocess.run(["xmlsec1", "--sign", "--privkey-pem", self.p("signer.key") + "," + self.p("signer.pem"),
                            "--id-attr:ID", ID_ROOT, "--output", dst, src], check=True, capture_output=True)
            self.case("ctl-resigned", open(dst, encoding="utf-8").read(), "ACCEPT 3",
                      "a signed document changed and signed again over the old signature", xmlsec="OK")
        self.case("ctl-uri-empty", self.sign(self.feed(sig=m.signature_template(ref=""))), "ACCEPT 3",
                  "Reference URI=\"\" (whole document = root)", xmlsec="OK")
        ki = re.search(r"<ds:KeyInfo>.*?</ds:KeyInfo>", g, re.S).group(0)
        self.case("ctl-keyinfo-removed", g.replace(ki, "", 1), "ACCEPT 3", "KeyInfo removed: the anchor is pinned",
                  xmlsec="OK")
        self.case("ctl-keyinfo-foreign-cert", g.replace(ki, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                                                            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                                                            % m.cert_b64(self.p("other.pem")), 1),
                  "ACCEPT 3", "KeyInfo holds an unrelated certificate next to the genuine signature (R7)",
                  xmlsec="OK")
        self.case("ctl-keyinfo-two-certs", g.replace("</ds:X509Data>", "<ds:X509Certificate>%s</ds:X509Certificate>"
                                                     "</ds:X509Data>" % m.cert_b64(self.p("other.pem")), 1),
                  "ACCEPT 3", "KeyInfo with the genuine and an attacker certificate", xmlsec="OK")
        single = self.sign(self.feed(single=True), root="EntityDescriptor")
        self.case("ctl-single-entity", single, "ACCEPT 1", "a signed EntityDescriptor as the document element",
                  xmlsec="OK", xmlsec_args=["--pubkey-cert-pem", self.p("signer.pem"), "--id-attr:ID", ID_ENT])
        dsig = m.signature_template().replace("ds:", "").replace('xmlns:ds="', 'xmlns="')
        self.case("ctl-signature-default-ns", self.sign(self.feed(sig=dsig)), "ACCEPT 3",
                  "ds:Signature written with the xmldsig namespace as default namespace", xmlsec="OK")
        big = "".join(self.entity(i) for i in range(40))
        self.case("ctl-forty-entities", self.signed(entities=big), "ACCEPT 40", "a larger aggregate", xmlsec="OK")

    def camode(self):
        sn = ("--signer-name", "*.example.org")
        fed = self.sign(self.feed(), key="fedsigner", cert="fedsigner")
        self.case("ca-01-ok", fed, "ACCEPT 3", "fedsigner's certificate in KeyInfo chains to fedca, not revoked,"
                  " name matches", ca=True, extra=sn, xmlsec="OK")
        self.case("ca-02-revoked", self.sign(self.feed(), key="fedsigner-revoked", cert="fedsigner-revoked"),
                  "REJECT chain-revoked", "signer certificate revoked by fedca.crl", ca=True, extra=sn)
        self.case("ca-03-name-mismatch", fed, "REJECT chain-name-mismatch",
                  "signer SAN metadata-signer.example.org does not match *.example.com", ca=True,
                  extra=("--signer-name", "*.example.com"))
        self.case("ca-04-self-signed-other", self.signed_by("other"), "REJECT chain-untrusted",
                  "self-signed attacker certificate in KeyInfo does not chain to fedca", ca=True, extra=sn)
        ki = re.search(r"<ds:KeyInfo>.*?</ds:KeyInfo>", fed, re.S).group(0)
        self.case("ca-05-no-certificate", fed.replace(ki, "", 1), "REJECT sig-untrusted-key",
                  "CA mode without a certificate in KeyInfo: no key that chains to the CA exists, so no anchor"
                  " verifies (chain-untrusted is for a certificate that is present but does not chain)",
                  ca=True, extra=sn)
        ocert = re.search(r"<ds:X509Certificate>.*?</ds:X509Certificate>", self.signed_by("other"), re.S).group(0)
        self.case("ca-06-cert-key-mismatch",
                  self.signed_by("other").replace(ocert, "<ds:X509Certificate>%s</ds:X509Certificate>"
                                                  % m.cert_b64(self.p("fedsigner.pem")), 1),
                  "REJECT sig-untrusted-key",
                  "KeyInfo holds fedsigner's valid certificate but the attacker signed: digest matches, value fails",
                  ca=True, extra=sn)

    def all(self):
        self.make_keys()
        for part in (self.controls, self.wrapping, self.transforms, self.parser, self.crypto, self.validity,
                     self.content, self.camode):
            part()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("pkidir")
    ap.add_argument("--now", type=int, default=None)
    ap.add_argument("--only", default=None, help="generate only cases whose name contains this")
    ap.add_argument("--canary", default="http://127.0.0.1:9",
                    help="base URL of a loopback listener that outbound references point to")
    a = ap.parse_args()
    now = a.now if a.now is not None else int(time.time())
    os.makedirs(a.outdir, exist_ok=True)
    g = Gen(os.path.abspath(a.outdir), os.path.abspath(a.pkidir), now, a.only, a.canary.rstrip("/"))
    g.all()
    print("%d cases in %s" % (g.count, a.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
