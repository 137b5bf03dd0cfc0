#!/usr/bin/env python3
"""Generate SAML metadata feeds for the tests, signed at test time with xmlsec1.

As a command:
  mkfeed.py --out FEED.xml --key K.pem --cert C.pem [--entities N] [--valid-until T]
            [--cache-duration PT6H] [--alg rsa-sha256] [--digest sha256] [--single]
            [--prefix https://e%d.example.org] [--ra URI] [--entity-cert C.pem ...]
            [--unsigned] [--creation T]
  T is an xs:dateTime, or +SECONDS / -SECONDS relative to now (or to --now).
As a module (tests/hostile/gen.py): template(), sign(), entity_xml(), iso().
"""
import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENV = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALGS = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "dsa-sha1": "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    "hmac-sha256": "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "rsa-md5": "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
}
DIGESTS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
    "md5": "http://www.w3.org/2001/04/xmldsig-more#md5",
}
NSDECL = ('xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
          'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
          'xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi" '
          'xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" '
          'xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" '
          'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
          'xmlns:xs="http://www.w3.org/2001/XMLSchema"')


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def when(s, now):
    if s is None:
        return None
    if s[0] in "+-":
        return iso(now + int(s))
    return s


def cert_b64(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())


def signature_template(alg="rsa-sha256", digest="sha256", ref="#ROOT", keyinfo=True,
                       transforms=None, c14n=EXC):
    if transforms is None:
        transforms = [ENV, EXC]
    tr = "".join('<ds:Transform Algorithm="%s"/>' % t for t in transforms)
    ki = "<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>" if keyinfo else ""
    return ('<ds:Signature xmlns:ds="%s"><ds:SignedInfo>'
            '<ds:CanonicalizationMethod Algorithm="%s"/>'
            '<ds:SignatureMethod Algorithm="%s"/>'
            '<ds:Reference URI="%s"><ds:Transforms>%s</ds:Transforms>'
            '<ds:DigestMethod Algorithm="%s"/><ds:DigestValue/></ds:Reference>'
            '</ds:SignedInfo><ds:SignatureValue/>%s</ds:Signature>'
            % (DS, c14n, ALGS.get(alg, alg), ref, tr, DIGESTS.get(digest, digest), ki))


def entity_xml(eid, i, certs, ra=None, valid_until=None, roles=("idp",), extra="", ns=False,
               stride=1):
    """One EntityDescriptor. ns=True declares the namespaces on it (standalone).
    Entity i signs with certs[i*stride] and encrypts to the next one (modulo):
    stride 2 gives every entity its own pair."""
    i0 = i
    i = i * stride
    cert = cert_b64(certs[i % len(certs)])
    kd = ('<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
          '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>' % cert)
    kd += ('<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
           '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
           % cert_b64(certs[(i + 1) % len(certs)]))
    host = eid.split("//")[-1].split("/")[0]
    ui = ('<mdui:UIInfo><mdui:DisplayName xml:lang="en">Entity %d</mdui:DisplayName>'
          '<mdui:DisplayName xml:lang="de">Einheit %d</mdui:DisplayName>'
          '<mdui:Description xml:lang="en">Test entity number %d of the generated feed.</mdui:Description>'
          '</mdui:UIInfo>' % (i0, i0, i0))
    roles_xml = ""
    for r in roles:
        if r == "idp":
            roles_xml += ('<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
                          '<md:Extensions>%s</md:Extensions>%s'
                          '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
                          'Location="https://%s/sso"/></md:IDPSSODescriptor>' % (ui, kd, host))
        elif r == "sp":
            roles_xml += ('<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
                          '<md:Extensions>%s</md:Extensions>%s'
                          '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                          'Location="https://%s/acs" index="0"/></md:SPSSODescriptor>' % (ui, kd, host))
        elif r == "aa":
            roles_xml += ('<md:AttributeAuthorityDescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
                          '%s<md:AttributeService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" '
                          'Location="https://%s/aa"/></md:AttributeAuthorityDescriptor>' % (kd, host))
    ext = ""
    if ra:
        ext += '<mdrpi:RegistrationInfo registrationAuthority="%s" registrationInstant="2020-01-01T00:00:00Z"/>' % ra
    ext += ('<mdattr:EntityAttributes><saml:Attribute Name="http://macedir.org/entity-category" '
            'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">'
            '<saml:AttributeValue xsi:type="xs:string">http://refeds.org/category/research-and-scholarship</saml:AttributeValue>'
            '</saml:Attribute></mdattr:EntityAttributes>')
    vu = ' validUntil="%s"' % valid_until if valid_until else ""
    return ('<md:EntityDescriptor%s entityID="%s"%s><md:Extensions>%s</md:Extensions>%s%s'
            '<md:Organization><md:OrganizationName xml:lang="en">Org %d</md:OrganizationName>'
            '<md:OrganizationDisplayName xml:lang="en">Organisation %d</md:OrganizationDisplayName>'
            '<md:OrganizationURL xml:lang="en">https://%s/</md:OrganizationURL></md:Organization>'
            '<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:ops@%s</md:EmailAddress>'
            '</md:ContactPerson></md:EntityDescriptor>'
            % (" " + NSDECL if ns else "", eid, vu, ext, extra, roles_xml, i0, i0, host, host))


def template(n=3, valid_until=None, cache_duration="PT6H", prefix="https://e%d.example.org/md",
             certs=None, ra="https://registrar.example.org", root_id="ROOT", name="urn:test:feed",
             sig=None, entities=None, creation=None, single=False, stride=1):
    """A whole unsigned document with the signature template as first child of the root."""
    if sig is None:
        sig = signature_template(ref="#" + root_id)
    cd = ' cacheDuration="%s"' % cache_duration if cache_duration else ""
    vu = ' validUntil="%s"' % valid_until if valid_until else ""
    if single:
        body = entity_xml(prefix % 0, 0, certs, ra=ra)
        # Single EntityDescriptor root: move ID/validUntil/signature into it.
        head, rest = body.split(">", 1)
        head = head.replace("<md:EntityDescriptor", "<md:EntityDescriptor %s ID=\"%s\"%s%s" % (NSDECL, root_id, vu, cd), 1)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + head + ">" + sig + rest + "\n"
    pub = ('<md:Extensions><mdrpi:PublicationInfo publisher="https://fed.example.org" '
           'creationInstant="%s" publicationId="pub-1"/></md:Extensions>' % (creation or iso(time.time())))
    if entities is None:
        roles_cycle = [("idp",), ("sp",), ("idp", "aa"), ("sp",)]
        entities = "".join(entity_xml(prefix % i, i, certs, ra=ra, roles=roles_cycle[i % 4],
                                      stride=stride)
                           for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<md:EntitiesDescriptor %s ID="%s" Name="%s"%s%s>%s%s%s'
            '</md:EntitiesDescriptor>\n' % (NSDECL, root_id, name, vu, cd, sig, pub, entities))


def sign(doc, key, cert=None, root="EntitiesDescriptor", extra_ids=()):
    """Sign a template with xmlsec1; returns the signed bytes."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.xml")
        dst = os.path.join(d, "s.xml")
        with open(src, "w" if isinstance(doc, str) else "wb") as f:
            f.write(doc)
        keyarg = "%s,%s" % (key, cert) if cert else key
        cmd = ["xmlsec1", "--sign", "--privkey-pem", keyarg,
               "--id-attr:ID", MD + ":" + root]
        for e in extra_ids:
            cmd += ["--id-attr:ID", e]
        cmd += ["--output", dst, src]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("xmlsec1 --sign failed: " + r.stderr)
        return open(dst, "rb").read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--key")
    ap.add_argument("--cert")
    ap.add_argument("--entities", type=int, default=3)
    ap.add_argument("--now", type=int, default=None)
    ap.add_argument("--valid-until", default="+86400")
    ap.add_argument("--creation", default=None)
    ap.add_argument("--cache-duration", default="PT6H")
    ap.add_argument("--alg", default="rsa-sha256")
    ap.add_argument("--digest", default="sha256")
    ap.add_argument("--prefix", default="https://e%d.example.org/md")
    ap.add_argument("--ra", default="https://registrar.example.org")
    ap.add_argument("--name", default="urn:test:feed")
    ap.add_argument("--entity-cert", action="append", default=[])
    ap.add_argument("--single", action="store_true")
    ap.add_argument("--key-stride", type=int, default=1,
                    help="entity i uses --entity-cert number i*STRIDE and the next one")
    ap.add_argument("--unsigned", action="store_true")
    a = ap.parse_args()
    now = a.now if a.now is not None else int(time.time())
    certs = a.entity_cert or [a.cert]
    vu = when(a.valid_until, now) if a.valid_until != "none" else None
    sig = "" if a.unsigned else signature_template(alg=a.alg, digest=a.digest, ref="#ROOT")
    doc = template(n=a.entities, valid_until=vu, cache_duration=a.cache_duration or None,
                   prefix=a.prefix, certs=certs, ra=a.ra or None, name=a.name, sig=sig,
                   creation=when(a.creation, now) if a.creation else iso(now), single=a.single,
                   stride=a.key_stride)
    if a.unsigned:
        out = doc.encode()
    else:
        out = sign(doc, a.key, a.cert, root="EntityDescriptor" if a.single else "EntitiesDescriptor")
    with open(a.out, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    sys.exit(main())
