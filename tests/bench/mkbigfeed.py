#!/usr/bin/env python3
"""Generate federation-scale SAML feeds for tests/bench/fed-bench.sh.

  mkbigfeed.py --dir BENCH_DIR --entities N [--seed S] [--changed PCT]
               [--valid-until +SECONDS] --out TEMPLATE.xml

Writes an unsigned feed (an EntitiesDescriptor with a signature template as
first child, for `xmlsec1 --sign`) of N realistic entities of about 9 KB each:
a mix of IdPs (some with an AttributeAuthority) and SPs, with mdui:UIInfo in
English and one other language (DisplayName, Description, InformationURL,
PrivacyStatementURL, Logo), mdattr:EntityAttributes (entity categories,
assurance certification), mdrpi:RegistrationInfo with RegistrationPolicy,
shibmd:Scope for IdPs, SSO/SLO/ACS/ArtifactResolution endpoints,
NameIDFormats, AttributeConsumingService for SPs, Organization and
technical/support/administrative/REFEDS-security contacts, and one or two
KeyDescriptors.

Certificates are real RSA-2048 X.509 certificates, distinct per entity and
key use (own subject CN = the entity's host, own serial, own validity,
self-signed), but their keys come from a pool of POOL keys generated once
and kept in BENCH_DIR/keypool (making 1.5 fresh RSA keys per entity for 50k
entities would take an hour).  Everything but the key pool is a function of
(seed, entity number), so the same (N, seed) always gives the same entities.

The entities (the expensive part) are cached in BENCH_DIR/feeds as
body-N-S.xml with an offsets file; each call only wraps them in a fresh
header (creationInstant now, validUntil --valid-until ahead).  --changed PCT
gives the "steady" variant: the same feed with PCT percent of the entities
changed (a new signing certificate and display name), spliced from the
cached body.  Needs the `cryptography` module.
"""
import argparse
import base64
import datetime
import hashlib
import multiprocessing
import os
import random
import shutil
import sys
import time
import unicodedata

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import mkfeed  # noqa: E402  (signature_template, iso)

POOL = 512
NSDECL = ('xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
          'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
          'xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi" '
          'xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" '
          'xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" '
          'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
          'xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" '
          'xmlns:remd="http://refeds.org/metadata" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
          'xmlns:xs="http://www.w3.org/2001/XMLSchema"')
PROTO = "urn:oasis:names:tc:SAML:2.0:protocol"
B = "urn:oasis:names:tc:SAML:2.0:bindings:"
NAMEID = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
# (xml:lang, organisation word, "service of", "login service", description text, country)
LANGS = [
    ("de", "Universität", "Dienst der", "Anmeldedienst",
     "Zentraler Anmeldedienst für Studierende und Beschäftigte, betrieben vom Rechenzentrum.", "DE"),
    ("fr", "Université", "Service de l'", "Service d'authentification",
     "Service d'authentification central pour les étudiants et le personnel de l'établissement.", "FR"),
    ("sv", "Högskola", "Tjänst vid", "Inloggningstjänst",
     "Central inloggningstjänst för studenter och anställda, driven av IT-avdelningen.", "SE"),
    ("fi", "Yliopisto", "Palvelu:", "Kirjautumispalvelu",
     "Keskitetty kirjautumispalvelu opiskelijoille ja henkilökunnalle, ylläpitäjä tietohallinto.", "FI"),
    ("nl", "Universiteit", "Dienst van", "Inlogdienst",
     "Centrale inlogdienst voor studenten en medewerkers, beheerd door de ICT-afdeling.", "NL"),
    ("es", "Universidad", "Servicio de la", "Servicio de acceso",
     "Servicio central de identificación para estudiantes y personal, gestionado por el área TIC.", "ES"),
    ("it", "Università", "Servizio dell'", "Servizio di autenticazione",
     "Servizio centrale di autenticazione per studenti e personale, gestito dall'area informatica.", "IT"),
    ("pl", "Uniwersytet", "Usługa", "Usługa logowania",
     "Centralna usługa logowania dla studentów i pracowników, prowadzona przez dział IT.", "PL"),
]
CITIES = ["Aachen", "Lyon", "Uppsala", "Tampere", "Utrecht", "Granada", "Bologna", "Kraków",
          "Leiden", "Graz", "Lund", "Porto", "Ghent", "Brno", "Cork", "Tartu"]
SUBJECTS = ["Library", "Research Data", "E-Learning", "Wiki", "Survey", "Video Conferencing",
            "Journal Access", "Lab Booking", "HPC Portal", "Repository", "Print Service",
            "Course Registration", "Collaboration", "Mailing Lists", "Software Portal"]
CATEGORIES = ["http://refeds.org/category/research-and-scholarship",
              "https://refeds.org/category/code-of-conduct/v2",
              "https://refeds.org/category/personalized",
              "https://refeds.org/category/pseudonymous",
              "https://refeds.org/category/anonymous"]
ATTRS = [("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "eduPersonPrincipalName"),
         ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
         ("urn:oid:2.16.840.1.113730.3.1.241", "displayName"),
         ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "eduPersonScopedAffiliation"),
         ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "eduPersonTargetedID"),
         ("urn:oid:2.5.4.42", "givenName"),
         ("urn:oid:2.5.4.4", "sn"),
         ("urn:oid:1.3.6.1.4.1.25178.1.2.9", "schacHomeOrganization"),
         ("urn:oid:1.3.6.1.4.1.5923.1.1.1.16", "eduPersonOrcid"),
         ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "eduPersonAssurance")]
NAMES = [("Anna", "Schmidt"), ("Jean", "Dupont"), ("Erik", "Lindqvist"), ("Aino", "Virtanen"),
         ("Sanne", "de Vries"), ("Lucía", "García"), ("Marco", "Rossi"), ("Zofia", "Nowak"),
         ("Liam", "Murphy"), ("Eva", "Novák")]
EPOCH = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc)

_keys = None


def load_pool(d):
    """The POOL keys of d/keypool, generating the missing ones (in parallel) once."""
    kd = os.path.join(d, "keypool")
    os.makedirs(kd, exist_ok=True)
    missing = [k for k in range(POOL) if not os.path.exists(os.path.join(kd, "%03d.pem" % k))]
    if missing:
        sys.stderr.write("mkbigfeed: generating %d RSA-2048 pool keys in %s (once)\n" % (len(missing), kd))
        with multiprocessing.Pool(workers()) as p:
            p.map(make_key, [(kd, k) for k in missing], chunksize=8)
    return kd


def make_key(arg):
    kd, k = arg
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = os.path.join(kd, "%03d.pem.%d" % (k, os.getpid()))
    with open(tmp, "wb") as f:
        f.write(pem)
    os.rename(tmp, os.path.join(kd, "%03d.pem" % k))


def init_worker(kd):
    global _keys
    _keys = KeyPool(kd)


class KeyPool:
    """The pool's keys, loaded when first used (our own keys: no RSA consistency check)."""

    def __init__(self, kd):
        self.kd = kd
        self.keys = {}

    def __getitem__(self, k):
        if k not in self.keys:
            with open(os.path.join(self.kd, "%03d.pem" % k), "rb") as f:
                self.keys[k] = serialization.load_pem_private_key(
                    f.read(), password=None, unsafe_skip_rsa_key_validation=True)
        return self.keys[k]


def workers():
    return max(1, min(os.cpu_count() or 1, 4))


def h64(*parts):
    """A stable 64-bit number of parts (serials, key choice)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def cert_b64(seed, i, use, variant, host, org, country):
    """A distinct self-signed RSA-2048 certificate for entity i, key use use, base64 in lines of 64."""
    rng = random.Random(h64(seed, i, use, variant, "cert"))
    key = _keys[h64(seed, i, use, variant, "key") % POOL]
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, host)])
    start = EPOCH + datetime.timedelta(days=rng.randrange(0, 900), seconds=rng.randrange(86400))
    end = start + datetime.timedelta(days=365 * rng.choice((5, 10, 20)))
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key())
         .serial_number((h64(seed, i, use, variant, "serial") >> 1) | 1)
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .sign(key, hashes.SHA256()))
    b = base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
    return "\n".join(b[j:j + 64] for j in range(0, len(b), 64))


def ascii_fold(s):
    """s without its accents (host names and mail local parts)."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def keydesc(use, b64, ind):
    u = ' use="%s"' % use if use else ""
    return ('%s<md:KeyDescriptor%s>\n%s  <ds:KeyInfo>\n%s    <ds:X509Data>\n'
            '%s      <ds:X509Certificate>\n%s\n%s      </ds:X509Certificate>\n'
            '%s    </ds:X509Data>\n%s  </ds:KeyInfo>\n%s</md:KeyDescriptor>\n'
            % (ind, u, ind, ind, ind, b64, ind, ind, ind, ind))


def uiinfo(disp, desc, host, lang, ind):
    l = lang[0]
    return ('%s<mdui:UIInfo>\n'
            '%s  <mdui:DisplayName xml:lang="en">%s</mdui:DisplayName>\n'
            '%s  <mdui:DisplayName xml:lang="%s">%s</mdui:DisplayName>\n'
            '%s  <mdui:Description xml:lang="en">%s</mdui:Description>\n'
            '%s  <mdui:Description xml:lang="%s">%s</mdui:Description>\n'
            '%s  <mdui:InformationURL xml:lang="en">https://%s/about/en/</mdui:InformationURL>\n'
            '%s  <mdui:InformationURL xml:lang="%s">https://%s/about/%s/</mdui:InformationURL>\n'
            '%s  <mdui:PrivacyStatementURL xml:lang="en">https://%s/privacy/en/</mdui:PrivacyStatementURL>\n'
            '%s  <mdui:PrivacyStatementURL xml:lang="%s">https://%s/privacy/%s/</mdui:PrivacyStatementURL>\n'
            '%s  <mdui:Logo height="80" width="240" xml:lang="en">https://%s/static/logo-en.png</mdui:Logo>\n'
            '%s</mdui:UIInfo>\n'
            % (ind, ind, disp[0], ind, l, disp[1], ind, desc[0], ind, l, desc[1],
               ind, host, ind, l, host, l, ind, host, ind, l, host, l, ind, host, ind))


def attrs(cats, ind):
    out = '%s<mdattr:EntityAttributes>\n' % ind
    for name, vals in cats:
        out += '%s  <saml:Attribute Name="%s" NameFormat="%s">\n' % (ind, name, URI)
        for v in vals:
            out += '%s    <saml:AttributeValue>%s</saml:AttributeValue>\n' % (ind, v)
        out += '%s  </saml:Attribute>\n' % ind
    return out + '%s</mdattr:EntityAttributes>\n' % ind


def contacts(host, rng, ind):
    out = ""
    for kind in ("technical", "support", "administrative", "security"):
        g, s = NAMES[rng.randrange(len(NAMES))]
        if kind == "security":
            out += ('%s<md:ContactPerson contactType="other" '
                    'remd:contactType="http://refeds.org/metadata/contactType/security">\n'
                    '%s  <md:GivenName>Security Response Team</md:GivenName>\n'
                    '%s  <md:EmailAddress>mailto:cert@%s</md:EmailAddress>\n'
                    '%s  <md:TelephoneNumber>+%d %d</md:TelephoneNumber>\n%s</md:ContactPerson>\n'
                    % (ind, ind, ind, host, ind, rng.randrange(30, 49), rng.randrange(10**7, 10**8), ind))
            continue
        out += ('%s<md:ContactPerson contactType="%s">\n'
                '%s  <md:GivenName>%s</md:GivenName>\n%s  <md:SurName>%s</md:SurName>\n'
                '%s  <md:EmailAddress>mailto:%s-%s@%s</md:EmailAddress>\n%s</md:ContactPerson>\n'
                % (ind, kind, ind, g, ind, s, ind, kind, ascii_fold(g).lower(), host, ind))
    return out


def endpoint(tag, binding, loc, ind, index=None, default=False):
    ix = ' index="%d"' % index if index is not None else ""
    df = ' isDefault="true"' if default else ""
    return '%s<md:%s Binding="%s%s" Location="%s"%s%s/>\n' % (ind, tag, B, binding, loc, ix, df)


def entity(seed, i, variant=0):
    """Entity i of the feed of seed (variant > 0: its changed form)."""
    rng = random.Random(h64(seed, i, "entity"))
    lang = LANGS[rng.randrange(len(LANGS))]
    city = CITIES[rng.randrange(len(CITIES))]
    kind = ("idp", "sp", "sp", "idp-aa", "sp")[i % 5]
    dom = "%s-%06d.example.edu" % (ascii_fold(city).lower(), i)
    org_en = "University of %s %d" % (city, i)
    org_xx = "%s %s %d" % (lang[1], city, i)
    I1, I2, I3, I4 = "  ", "    ", "      ", "        "
    if kind.startswith("idp"):
        host = "idp." + dom
        eid = "https://%s/idp/shibboleth" % host
        disp = ("%s Login" % org_en, "%s %s" % (lang[3], org_xx))
        desc = ("Central login service for students and staff of the %s, run by its IT centre." % org_en,
                lang[4])
    else:
        svc = SUBJECTS[rng.randrange(len(SUBJECTS))]
        host = "%s.sp.%s" % (svc.lower().replace(" ", "-"), dom)
        eid = "https://%s/shibboleth" % host
        disp = ("%s %s" % (org_en, svc), "%s %s %s" % (lang[2], org_xx, svc))
        desc = ("The %s of the %s for members of the federation; access needs a federated login." % (svc.lower(), org_en),
                "%s (%s)" % (lang[4], svc))
    if variant:
        disp = ("%s (renewed %d)" % (disp[0], variant), disp[1])
    cats = [("http://macedir.org/entity-category", [CATEGORIES[j] for j in range(len(CATEGORIES))
                                                      if rng.random() < 0.35] or [CATEGORIES[0]]),
            ("urn:oasis:names:tc:SAML:attribute:assurance-certification",
             ["https://refeds.org/sirtfi", "https://refeds.org/sirtfi2"][:rng.randrange(1, 3)])]
    if kind.startswith("idp"):
        cats.append(("http://macedir.org/entity-category-support", [CATEGORIES[0], CATEGORIES[1]]))
    regi = EPOCH + datetime.timedelta(days=rng.randrange(0, 700), seconds=rng.randrange(86400))
    ext = ('%s<mdrpi:RegistrationInfo registrationAuthority="https://www.%s.example.net" '
           'registrationInstant="%s">\n'
           '%s  <mdrpi:RegistrationPolicy xml:lang="en">https://www.%s.example.net/policy/en/metadata-registration-practice-statement-v2.pdf</mdrpi:RegistrationPolicy>\n'
           '%s  <mdrpi:RegistrationPolicy xml:lang="%s">https://www.%s.example.net/policy/%s/metadata-registration-practice-statement-v2.pdf</mdrpi:RegistrationPolicy>\n'
           '%s</mdrpi:RegistrationInfo>\n'
           % (I2, lang[5].lower() + "fed", regi.strftime("%Y-%m-%dT%H:%M:%SZ"), I2, lang[5].lower() + "fed",
              I2, lang[0], lang[5].lower() + "fed", lang[0], I2))
    ext += attrs(cats, I2)
    # key descriptors: IdPs and a third of the SPs have a signing and an encryption
    # certificate (an IdP's AttributeAuthority lists its signing one again)
    two = kind.startswith("idp") or rng.random() < 0.35
    sign_cert = cert_b64(seed, i, "sig", variant, host, org_en, lang[5])
    kd_sign = keydesc("signing" if two else None, sign_cert, I2)
    kd = kd_sign
    if two:
        kd += keydesc("encryption", cert_b64(seed, i, "enc", 0, host, org_en, lang[5]), I2)
    nameid = "".join("%s<md:NameIDFormat>%s%s</md:NameIDFormat>\n" % (I2, NAMEID, f)
                     for f in ("persistent", "transient"))
    roles = ""
    if kind.startswith("idp"):
        roles += ('%s<md:IDPSSODescriptor protocolSupportEnumeration="%s" errorURL="https://%s/error?lang=en">\n'
                  '%s<md:Extensions>\n%s<shibmd:Scope regexp="false">%s</shibmd:Scope>\n%s'
                  '%s<mdui:DiscoHints>\n%s  <mdui:DomainHint>%s</mdui:DomainHint>\n%s</mdui:DiscoHints>\n'
                  '%s</md:Extensions>\n%s'
                  % (I1, PROTO, host, I2, I3, dom, uiinfo(disp, desc, host, lang, I3),
                     I3, I3, dom, I3, I2, kd))
        roles += endpoint("ArtifactResolutionService", "SOAP",
                          "https://%s:8443/idp/profile/SAML2/SOAP/ArtifactResolution" % host, I2, 1)
        roles += endpoint("SingleLogoutService", "HTTP-Redirect", "https://%s/idp/profile/SAML2/Redirect/SLO" % host, I2)
        roles += endpoint("SingleLogoutService", "HTTP-POST", "https://%s/idp/profile/SAML2/POST/SLO" % host, I2)
        roles += nameid
        for b in ("HTTP-POST", "HTTP-POST-SimpleSign", "HTTP-Redirect"):
            roles += endpoint("SingleSignOnService", b, "https://%s/idp/profile/SAML2/%s/SSO"
                              % (host, b.split("-", 1)[1] if "-" in b else b), I2)
        roles += '%s</md:IDPSSODescriptor>\n' % I1
        if kind == "idp-aa":
            roles += ('%s<md:AttributeAuthorityDescriptor protocolSupportEnumeration="%s">\n'
                      '%s<md:Extensions>\n%s<shibmd:Scope regexp="false">%s</shibmd:Scope>\n%s</md:Extensions>\n%s'
                      % (I1, PROTO, I2, I3, dom, I2, kd_sign))
            roles += endpoint("AttributeService", "SOAP", "https://%s:8443/idp/profile/SAML2/SOAP/AttributeQuery" % host, I2)
            roles += nameid + '%s</md:AttributeAuthorityDescriptor>\n' % I1
    else:
        roles += ('%s<md:SPSSODescriptor protocolSupportEnumeration="%s" AuthnRequestsSigned="false" '
                  'WantAssertionsSigned="true">\n%s<md:Extensions>\n%s'
                  '%s<idpdisc:DiscoveryResponse xmlns:idpdisc="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" '
                  'Binding="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" Location="https://%s/Shibboleth.sso/Login" index="1"/>\n'
                  '%s</md:Extensions>\n%s'
                  % (I1, PROTO, I2, uiinfo(disp, desc, host, lang, I3), I3, host, I2, kd))
        roles += endpoint("SingleLogoutService", "HTTP-Redirect", "https://%s/Shibboleth.sso/SLO/Redirect" % host, I2)
        roles += endpoint("SingleLogoutService", "HTTP-POST", "https://%s/Shibboleth.sso/SLO/POST" % host, I2)
        roles += nameid
        roles += endpoint("AssertionConsumerService", "HTTP-POST", "https://%s/Shibboleth.sso/SAML2/POST" % host,
                          I2, 1, True)
        roles += endpoint("AssertionConsumerService", "HTTP-POST-SimpleSign",
                          "https://%s/Shibboleth.sso/SAML2/POST-SimpleSign" % host, I2, 2)
        roles += endpoint("AssertionConsumerService", "HTTP-Artifact", "https://%s/Shibboleth.sso/SAML2/Artifact" % host,
                          I2, 3)
        roles += ('%s<md:AttributeConsumingService index="1">\n'
                  '%s<md:ServiceName xml:lang="en">%s</md:ServiceName>\n'
                  '%s<md:ServiceName xml:lang="%s">%s</md:ServiceName>\n'
                  % (I2, I3, disp[0], I3, lang[0], disp[1]))
        for j, (oid, friendly) in enumerate(ATTRS[:rng.randrange(3, 8)]):
            roles += ('%s<md:RequestedAttribute FriendlyName="%s" Name="%s" NameFormat="%s" isRequired="%s"/>\n'
                      % (I3, friendly, oid, URI, "true" if j < 2 else "false"))
        roles += '%s</md:AttributeConsumingService>\n%s</md:SPSSODescriptor>\n' % (I2, I1)
    org = ('%s<md:Organization>\n'
           '%s<md:OrganizationName xml:lang="en">%s</md:OrganizationName>\n'
           '%s<md:OrganizationName xml:lang="%s">%s</md:OrganizationName>\n'
           '%s<md:OrganizationDisplayName xml:lang="en">%s</md:OrganizationDisplayName>\n'
           '%s<md:OrganizationDisplayName xml:lang="%s">%s</md:OrganizationDisplayName>\n'
           '%s<md:OrganizationURL xml:lang="en">https://www.%s/en/</md:OrganizationURL>\n'
           '%s<md:OrganizationURL xml:lang="%s">https://www.%s/%s/</md:OrganizationURL>\n'
           '%s</md:Organization>\n'
           % (I1, I2, org_en, I2, lang[0], org_xx, I2, org_en, I2, lang[0], org_xx,
              I2, dom, I2, lang[0], dom, lang[0], I1))
    return ('<md:EntityDescriptor entityID="%s">\n%s<md:Extensions>\n%s%s</md:Extensions>\n%s%s%s'
            '</md:EntityDescriptor>\n'
            % (eid, I1, ext, I1, roles, org, contacts(host, rng, I1)))


def entity_job(arg):
    seed, i, variant = arg
    return entity(seed, i, variant).encode()


def write_body(kd, seed, n, path):
    """Generate the n entities of seed into path (+ path.idx: n+1 byte offsets)."""
    t0 = time.time()
    sys.stderr.write("mkbigfeed: generating %d entities (seed %d) into %s\n" % (n, seed, path))
    offs = [0]
    with multiprocessing.Pool(workers(), initializer=init_worker, initargs=(kd,)) as p, \
            open(path + ".tmp", "wb") as f:
        for b in p.imap(entity_job, ((seed, i, 0) for i in range(n)), chunksize=64):
            f.write(b)
            offs.append(offs[-1] + len(b))
    with open(path + ".idx.tmp", "w") as f:
        f.write("\n".join(map(str, offs)) + "\n")
    os.rename(path + ".idx.tmp", path + ".idx")
    os.rename(path + ".tmp", path)
    sys.stderr.write("mkbigfeed: %d entities, %d bytes in %.1f s\n" % (n, offs[-1], time.time() - t0))


def changed_set(n, pct):
    """The entity numbers the changed variant alters: every (100/pct)th one."""
    step = max(1, int(round(100.0 / pct)))
    return list(range(step // 2, n, step))


def write_changed(kd, seed, n, pct, base, path):
    """base with pct percent of its entities in their changed form."""
    with open(base + ".idx") as f:
        offs = [int(x) for x in f.read().split()]
    if len(offs) != n + 1:
        raise SystemExit("mkbigfeed: %s.idx does not hold %d entities" % (base, n))
    which = changed_set(n, pct)
    init_worker(kd)
    new = {i: entity(seed, i, 1).encode() for i in which}
    with open(base, "rb") as src, open(path + ".tmp", "wb") as f:
        pos = 0
        for i in which:
            f.write(src.read(offs[i] - pos))
            src.seek(offs[i + 1])
            pos = offs[i + 1]
            f.write(new[i])
        shutil.copyfileobj(src, f, 1 << 20)
    os.rename(path + ".tmp", path)
    sys.stderr.write("mkbigfeed: changed %d of %d entities into %s\n" % (len(which), n, path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="bench folder (key pool and cached entities)")
    ap.add_argument("--entities", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--changed", type=float, default=0, help="percent of entities changed")
    ap.add_argument("--valid-until", default="+345600", help="+SECONDS from now")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    kd = load_pool(a.dir)
    fd = os.path.join(a.dir, "feeds")
    os.makedirs(fd, exist_ok=True)
    base = os.path.join(fd, "body-%d-%d.xml" % (a.entities, a.seed))
    if not os.path.exists(base):
        write_body(kd, a.seed, a.entities, base)
    body = base
    if a.changed > 0:
        body = os.path.join(fd, "body-%d-%d-c%g.xml" % (a.entities, a.seed, a.changed))
        if not os.path.exists(body):
            write_changed(kd, a.seed, a.entities, a.changed, base, body)
    now = int(time.time())
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<md:EntitiesDescriptor %s ID="ROOT" Name="urn:bench:feed" validUntil="%s" cacheDuration="PT6H">'
            '%s\n<md:Extensions>\n  <mdrpi:PublicationInfo publisher="https://fed.example.net" '
            'creationInstant="%s" publicationId="bench-%d-%d-%g-%d"/>\n</md:Extensions>\n'
            % (NSDECL, mkfeed.iso(now + int(a.valid_until)), mkfeed.signature_template(ref="#ROOT"),
               mkfeed.iso(now), a.entities, a.seed, a.changed, now))
    with open(a.out + ".tmp", "wb") as f, open(body, "rb") as src:
        f.write(head.encode())
        shutil.copyfileobj(src, f, 1 << 20)
        f.write(b"</md:EntitiesDescriptor>\n")
    os.rename(a.out + ".tmp", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
