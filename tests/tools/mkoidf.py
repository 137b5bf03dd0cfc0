#!/usr/bin/env python3
"""A mock OpenID Federation, generated per run, for fedtrust's OIDF tests.

  mkoidf.py --port PORT --out DIR [--now EPOCH] [--host 127.0.0.1]
            [--variant NAME | --variant all]
  mkoidf.py --list-variants

Signed with python3's `cryptography` package (any version since 38), so that
fedtrust's resolver is checked against an implementation that shares no code
with it.  Every key is generated per run: EC P-256 for every entity except the
intermediate, whose RSA-2048 key makes its statements RS256.

The federation (ids https://HOST:PORT/<name>):

  ta   trust anchor; trust_mark_issuers authorises tmi for the mark type
       https://HOST:PORT/ta/tm/certified
  |- ia    intermediate (RSA-2048, RS256).  The TA's statement about it carries
  |  |     constraints {max_path_length 1, naming_constraints permitted
  |  |     ["127.0.0.1"], allowed_entity_types [openid_provider,
  |  |     openid_relying_party]} and a metadata_policy (RP scope subset_of
  |  |     openid profile email offline_access).
  |  |- op  openid_provider (+ oauth_resource metadata that allowed_entity_types
  |  |      removes); protocol keys by value (jwks): prov "chain", one ES256
  |  |      "sig" key and one RSA "enc" key
  |  `- rp  openid_relying_party, scope "openid profile email admin
  |         offline_access"; ia's statement about it has metadata_policy
  |         (scope subset_of openid profile email phone, token_endpoint_auth_method
  |         value, grant_types default, redirect_uris essential) and a metadata
  |         override; protocol keys through signed_jwks_uri (prov "signed_jwks");
  |         carries a trust mark issued by tmi
  |- rp2   openid_relying_party directly under the TA; the TA's statement gives
  |        scope default "openid email"; protocol keys through jwks_uri
  |        (prov "jwks_uri")
  `- tmi   trust-mark issuer (federation_entity only)

Statement lifetimes are chosen so that every leaf's chain has one clear
earliest exp (op: its own EC; rp: ia's statement about it; rp2: its EC).
A signed-jwks partner (not part of the federation) is generated too: its
jwk-set+jwt is served at /partner/jwks.jwt, its signer's JWK Set is
DIR/partner-anchor.jwks.

Output in DIR (for --variant all: one such folder DIR/<variant>/ per variant,
"ok" being the correct federation):
  routes.json   the route table of tests/tools/httpsd.py --routes:
                {"<path?query>": {"status": N, "type": "...", "body": "..."}}
                entity configurations (/<name>/.well-known/openid-federation),
                fetch answers (/<name>/fetch?sub=<percent-encoded id>; any other
                sub is 404 not_found), list answers (/<name>/list, ?intermediate=
                true|false and ?entity_type=... in every combination; any other
                filter, and in the variant list-no-filters every filter, is 400
                unsupported_parameter), /rp/signed-jwks, /rp2/jwks.json,
                /partner/jwks.jwt
  anchor.jwks   the TA's JWK Set (the source's anchor)
  partner-anchor.jwks   the signed-jwks partner's signing key (JWK Set)
  summary.json  what a correct resolver outputs for this variant:
                {"ta", "variant", "expect" (reason code or "ok"), "where"
                 ("source", "leaf:NAME[,NAME]", "tm:NAME" or "none"),
                 "static" (entity ids to configure as `entity =`),
                 "present" {id: {name, proto, roles, ta, path, valid_until,
                            scopes (null = unrestricted), tm [{type, exp}],
                            keys [{kid, jkt, prov, purposes, use, alg}],
                            fed_jkt (federation keys: never in the bundle)}},
                 "absent" [ids never in the bundle], "ids" {name: id},
                 "partner" {iss, keys [...]}, "tm_type"}

--list-variants prints "NAME EXPECTED_CODE WHERE" per variant.  Each variant
is the same federation with exactly one defect (security-rules.md JWS-01..14,
the table VARIANTS below says which statement is damaged and how):
  leaf:NAME[,NAME]  a defective statement in that leaf's chain: the leaf is
                    dropped with the code (`entity=ID dropped reason=CODE`),
                    every other leaf is published unchanged
  tm:NAME           a defective trust mark: only the mark is left out (logged
                    with the code), the leaf stays
  source            a defective TA configuration (or anchor): the source fails
                    (`source=LIST/SOURCE reason=CODE`), none of its leaves is
                    published
  none              nothing is wrong (list-no-filters: a list endpoint that
                    answers 400 unsupported_parameter to every filter)
Codes follow what the strict layers beneath the resolver decide first: a
non-integer number is json-invalid (the strict JSON parser), a signed JWK Set
that fails verification is not used, so a leaf left without any protocol key
is metadata-invalid; an EC issued by another entity is chain-link-invalid.
The loop variant (ia -> ib -> ia, the TA no longer lists ia) names op in
"static": configure it as `entity =`, it must end in chain-no-anchor after a
bounded number of fetches; rp is then unreachable and simply absent.
"""
import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import sys
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

EST = "entity-statement+jwt"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ENTITY_TYPES = ("federation_entity", "openid_provider", "openid_relying_party",
                "oauth_authorization_server", "oauth_client", "oauth_resource")

# name, expected reason code, where (see the module comment)
VARIANTS = [
    ("alg-none", "jws-alg-forbidden", "leaf:op"),
    ("alg-none-signed", "jws-alg-forbidden", "leaf:rp2"),
    ("hs256-pubkey", "jws-alg-forbidden", "leaf:rp"),
    ("rs256-on-ec", "jws-alg-forbidden", "leaf:op"),
    ("kid-unknown", "jws-kid-unknown", "leaf:rp2"),
    ("kid-missing", "jws-kid-unknown", "leaf:op"),
    ("hdr-jwk", "jws-header-forbidden", "leaf:op"),
    ("hdr-jku", "jws-header-forbidden", "leaf:rp"),
    ("hdr-x5c", "jws-header-forbidden", "leaf:rp2"),
    ("hdr-crit", "jws-header-forbidden", "leaf:op"),
    ("claim-crit", "jwt-claim-invalid", "leaf:rp"),
    ("ecdsa-zero", "jws-sig-invalid", "leaf:op"),
    ("ecdsa-r-is-n", "jws-sig-invalid", "leaf:rp2"),
    ("ecdsa-der", "jws-sig-invalid", "leaf:rp"),
    ("b64-padding", "jws-malformed", "leaf:op"),
    ("b64-trailing-bits", "jws-malformed", "leaf:rp2"),
    ("b64-std-alphabet", "jws-malformed", "leaf:rp"),
    ("dup-claim", "json-invalid", "leaf:rp"),
    ("dup-header-alg", "json-invalid", "leaf:op"),
    ("exp-float", "json-invalid", "leaf:op"),
    ("exp-string", "jwt-claim-invalid", "leaf:rp2"),
    ("expired", "expired", "leaf:op"),
    ("iat-future", "not-yet-valid", "leaf:rp"),
    ("typ-missing", "jws-typ-invalid", "leaf:op"),
    ("typ-jwt", "jws-typ-invalid", "leaf:rp"),
    ("typ-jwk-set", "jws-typ-invalid", "leaf:rp2"),
    ("typ-trust-mark", "jws-typ-invalid", "leaf:op"),
    ("ss-iss-mismatch", "chain-link-invalid", "leaf:rp"),
    ("ss-sub-mismatch", "chain-link-invalid", "leaf:op"),
    ("ec-iss-ne-sub", "chain-link-invalid", "leaf:rp2"),
    ("wrong-signer", "jws-sig-invalid", "leaf:rp"),
    ("ec-unattested-key", "chain-link-invalid", "leaf:op"),
    ("hint-not-superior", "chain-link-invalid", "leaf:rp2"),
    ("loop", "chain-no-anchor", "leaf:op"),
    ("max-path-length", "chain-constraint-violated", "leaf:op,rp"),
    ("naming-constraints", "chain-constraint-violated", "leaf:rp"),
    ("policy-crit", "chain-policy-invalid", "leaf:rp"),
    ("tm-foreign-key", "trust-mark-invalid", "tm:rp"),
    ("tm-unauthorized", "trust-mark-invalid", "tm:rp"),
    ("sjwks-foreign-key", "metadata-invalid", "leaf:rp"),
    ("ta-key-mismatch", "chain-anchor-key-mismatch", "source"),
    ("ta-expired", "expired", "source"),
    ("ta-typ-jwt", "jws-typ-invalid", "source"),
    ("list-no-filters", "ok", "none"),
]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cj(o):
    """Compact JSON, members in insertion order."""
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def intb(i, n=None):
    if n is None:
        n = max(1, (i.bit_length() + 7) // 8)
    return i.to_bytes(n, "big")


def thumbprint(jwk):
    """RFC 7638 SHA-256 thumbprint (base64url)."""
    req = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    s = json.dumps({k: jwk[k] for k in req}, separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(s.encode()).digest())


class Key:
    """A key pair; pub is the public JWK (kid = thumbprint unless given)."""

    def __init__(self, kind, kid=None, extra=None):
        self.kind = kind
        if kind == "EC":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            n = self.priv.public_key().public_numbers()
            self.pub = {"kty": "EC", "crv": "P-256", "x": b64u(intb(n.x, 32)),
                        "y": b64u(intb(n.y, 32))}
            self.alg = "ES256"
        else:
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = self.priv.public_key().public_numbers()
            self.pub = {"kty": "RSA", "n": b64u(intb(n.n)), "e": b64u(intb(n.e))}
            self.alg = "RS256"
        self.jkt = thumbprint(self.pub)
        self.kid = kid or self.jkt
        self.pub["kid"] = self.kid
        if extra:
            self.pub.update(extra)

    def sign(self, data, der=False):
        if self.kind == "EC":
            sig = self.priv.sign(data, ec.ECDSA(hashes.SHA256()))
            if der:
                return sig
            r, s = decode_dss_signature(sig)
            return intb(r, 32) + intb(s, 32)
        return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def pem(self):
        return self.priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Jws:
    """A JWS to be serialised late, so that a variant can change any part first."""

    def __init__(self, payload, key, typ):
        self.payload = payload
        self.key = key
        self.header = {"alg": key.alg, "kid": key.kid, "typ": typ}
        self.hraw = None        # header text override
        self.praw = None        # payload text override (after late fields are filled)
        self.sigfn = None       # signing input -> signature bytes
        self.post = None        # (h64, p64, s64) -> (h64, p64, s64)

    def compact(self):
        h = self.hraw if self.hraw is not None else cj(self.header)
        p = self.praw(cj(self.payload)) if self.praw is not None else cj(self.payload)
        h64, p64 = b64u(h.encode()), b64u(p.encode())
        si = (h64 + "." + p64).encode()
        sig = self.sigfn(si) if self.sigfn is not None else self.key.sign(si)
        s64 = b64u(sig)
        if self.post is not None:
            h64, p64, s64 = self.post(h64, p64, s64)
        return h64 + "." + p64 + "." + s64


class Fed:
    """The federation model: keys, statements and documents of one run."""

    def __init__(self, host, port, now, keys):
        self.now = now
        self.base = "https://%s:%d" % (host, port)
        self.k = keys
        self.id = {n: self.base + "/" + n for n in ("ta", "ia", "ib", "op", "rp", "rp2", "tmi",
                                                   "partner")}
        self.tm_type = self.id["ta"] + "/tm/certified"
        self.static = []
        self.build()

    def fe(self, name, org, intermediate=False):
        m = {"organization_name": org}
        if intermediate:
            m["federation_fetch_endpoint"] = self.id[name] + "/fetch"
            m["federation_list_endpoint"] = self.id[name] + "/list"
        return m

    def ec(self, name, exp, metadata, hints=None, extra=None):
        p = {"iss": self.id[name], "sub": self.id[name], "iat": self.now - 600, "exp": exp,
             "jwks": {"keys": [self.k[name].pub]}}
        if hints is not None:
            p["authority_hints"] = [self.id[h] for h in hints]
        p["metadata"] = metadata
        if extra:
            p.update(extra)
        return Jws(p, self.k[name], EST)

    def ss(self, sup, sub, exp, extra=None):
        p = {"iss": self.id[sup], "sub": self.id[sub], "iat": self.now - 600, "exp": exp,
             "jwks": {"keys": [self.k[sub].pub]}}
        if extra:
            p.update(extra)
        p["source_endpoint"] = self.id[sup] + "/fetch"
        return Jws(p, self.k[sup], EST)

    def build(self):
        now, I, k = self.now, self.id, self.k
        self.subs = {"ta": ["ia", "rp2", "tmi"], "ia": ["op", "rp"]}
        self.exps = {"ec:ta": now + 60000, "ss:ta:ia": now + 58000, "ss:ta:rp2": now + 57000,
                     "ss:ta:tmi": now + 86400, "ss:ia:op": now + 55000, "ss:ia:rp": now + 52000,
                     "ec:op": now + 50000, "ec:rp": now + 54000, "ec:rp2": now + 56000,
                     "ec:ia": now + 2 * 86400, "ec:tmi": now + 2 * 86400}
        e = self.exps
        self.st = {}
        self.st["ec:ta"] = self.ec("ta", e["ec:ta"], {"federation_entity": self.fe(
            "ta", "Test Trust Anchor", True)}, extra={
            "trust_mark_issuers": {self.tm_type: [I["tmi"]]}})
        self.st["ec:ia"] = self.ec("ia", e["ec:ia"], {"federation_entity": self.fe(
            "ia", "Test Intermediate", True)}, hints=["ta"])
        self.st["ec:tmi"] = self.ec("tmi", e["ec:tmi"], {"federation_entity": {
            "organization_name": "Test Trust Mark Issuer",
            "federation_trust_mark_status_endpoint": I["tmi"] + "/status"}}, hints=["ta"])
        self.st["ec:op"] = self.ec("op", e["ec:op"], {
            "federation_entity": self.fe("op", "Test OP"),
            "openid_provider": {
                "issuer": I["op"],
                "authorization_endpoint": I["op"] + "/authorize",
                "token_endpoint": I["op"] + "/token",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
                "client_registration_types_supported": ["automatic"],
                "jwks": {"keys": [k["op-sig"].pub, k["op-enc"].pub]}},
            "oauth_resource": {"resource": I["op"] + "/api"}}, hints=["ia"])
        self.tm = Jws({"iss": I["tmi"], "sub": I["rp"], "trust_mark_type": self.tm_type,
                       "iat": now - 600, "exp": now + 20 * 86400}, k["tmi"], "trust-mark+jwt")
        self.st["ec:rp"] = self.ec("rp", e["ec:rp"], {
            "federation_entity": self.fe("rp", "Test RP"),
            "openid_relying_party": {
                "client_name": "Test RP",
                "redirect_uris": [I["rp"] + "/cb"],
                "response_types": ["code"],
                "client_registration_types": ["automatic"],
                "scope": "openid profile email admin offline_access",
                "token_endpoint_auth_method": "private_key_jwt",
                "signed_jwks_uri": I["rp"] + "/signed-jwks"}}, hints=["ia"],
            extra={"trust_marks": [{"trust_mark_type": self.tm_type, "trust_mark": None}]})
        self.st["ec:rp2"] = self.ec("rp2", e["ec:rp2"], {
            "federation_entity": self.fe("rp2", "Test RP 2"),
            "openid_relying_party": {
                "client_name": "Test RP 2",
                "redirect_uris": [I["rp2"] + "/cb"],
                "response_types": ["code"],
                "client_registration_types": ["automatic"],
                "jwks_uri": I["rp2"] + "/jwks.json"}}, hints=["ta"])
        self.st["ss:ta:ia"] = self.ss("ta", "ia", e["ss:ta:ia"], {
            "constraints": {"max_path_length": 1,
                            "naming_constraints": {"permitted": ["127.0.0.1"]},
                            "allowed_entity_types": ["openid_provider", "openid_relying_party"]},
            "metadata_policy": {
                "openid_relying_party": {"scope": {"subset_of": [
                    "openid", "profile", "email", "offline_access"]}},
                "openid_provider": {"id_token_signing_alg_values_supported": {
                    "subset_of": ["ES256", "RS256"]}}}})
        self.st["ss:ta:rp2"] = self.ss("ta", "rp2", e["ss:ta:rp2"], {
            "metadata_policy": {"openid_relying_party": {"scope": {"default": "openid email"}}}})
        self.st["ss:ta:tmi"] = self.ss("ta", "tmi", e["ss:ta:tmi"])
        self.st["ss:ia:op"] = self.ss("ia", "op", e["ss:ia:op"])
        self.st["ss:ia:rp"] = self.ss("ia", "rp", e["ss:ia:rp"], {
            "metadata": {"openid_relying_party": {"client_name": "Test RP (registered)"}},
            "metadata_policy": {"openid_relying_party": {
                "scope": {"subset_of": ["openid", "profile", "email", "phone"]},
                "token_endpoint_auth_method": {"value": "private_key_jwt"},
                "grant_types": {"default": ["authorization_code"]},
                "redirect_uris": {"essential": True}}}})
        self.sjwks = Jws({"iss": I["rp"], "sub": I["rp"], "iat": now - 600,
                          "exp": now + 7 * 86400, "keys": [k["rp-sig"].pub]},
                         k["rp"], "jwk-set+jwt")
        self.jwks_rp2 = {"keys": [k["rp2-sig"].pub]}
        self.partner = Jws({"iss": I["partner"], "sub": I["partner"], "iat": now - 600,
                            "exp": now + 7 * 86400,
                            "keys": [k["partner-sig"].pub, k["partner-enc"].pub]},
                           k["partner"], "jwk-set+jwt")
        self.anchor = {"keys": [k["ta"].pub]}
        # filters of the list endpoints: types from the (undamaged) configurations
        self.types = {"ia": {"federation_entity"}, "tmi": {"federation_entity"},
                      "ib": {"federation_entity"},
                      "op": {"federation_entity", "openid_provider", "oauth_resource"},
                      "rp": {"federation_entity", "openid_relying_party"},
                      "rp2": {"federation_entity", "openid_relying_party"}}
        self.intermediates = {"ia", "ib"}
        self.list_filters = True

    def render(self):
        """The route table."""
        routes = {}

        def put(path, body, typ, status=200):
            routes[path] = {"status": status, "type": typ, "body": body}

        trust_marks = self.st["ec:rp"].payload.get("trust_marks")
        if trust_marks and trust_marks[0].get("trust_mark") is None:
            trust_marks[0]["trust_mark"] = self.tm.compact()
        for key, j in self.st.items():
            kind, a = key.split(":")[0], key.split(":")[1:]
            if kind == "ec":
                put("/%s/.well-known/openid-federation" % a[0], j.compact(),
                    "application/entity-statement+jwt")
            else:
                put("/%s/fetch?sub=%s" % (a[0], urllib.parse.quote(self.id[a[1]], safe="")),
                    j.compact(), "application/entity-statement+jwt")
        err = '{"error":"%s","error_description":"%s"}'
        for sup in self.subs:
            put("/%s/fetch?*" % sup, err % ("not_found", "unknown subordinate"),
                "application/json", 404)
            put("/%s/list?*" % sup, err % ("unsupported_parameter", "filter not supported"),
                "application/json", 400)
            subs = self.subs[sup]
            put("/%s/list" % sup, cj([self.id[s] for s in subs]), "application/json")
            if not self.list_filters:
                continue
            for im in (None, "true", "false"):
                for n in range(0, len(ENTITY_TYPES) + 1):
                    for types in itertools.combinations(ENTITY_TYPES, n):
                        if im is None and not types:
                            continue
                        sel = [s for s in subs
                               if (not types or self.types[s] & set(types)) and
                               (im is None or (s in self.intermediates) == (im == "true"))]
                        q = ["entity_type=" + t for t in types]
                        if im is not None:
                            q.append("intermediate=" + im)
                        put("/%s/list?%s" % (sup, "&".join(q)),
                            cj([self.id[s] for s in sel]), "application/json")
        put("/rp/signed-jwks", self.sjwks.compact(), "application/jwk-set+jwt")
        put("/rp2/jwks.json", cj(self.jwks_rp2), "application/json")
        put("/partner/jwks.jwt", self.partner.compact(), "application/jwk-set+jwt")
        return routes

    def prot_key(self, name, prov):
        pub = self.k[name].pub
        return {"kid": pub["kid"], "jkt": self.k[name].jkt, "prov": prov,
                "purposes": ["jwt"] if pub.get("use") == "sig" else ["jwe"],
                "use": pub.get("use"), "alg": pub.get("alg")}

    def expected(self):
        """What a correct resolver outputs for the undamaged federation."""
        I, e = self.id, self.exps
        chain = {"op": ["ec:op", "ss:ia:op", "ss:ta:ia", "ec:ta"],
                 "rp": ["ec:rp", "ss:ia:rp", "ss:ta:ia", "ec:ta"],
                 "rp2": ["ec:rp2", "ss:ta:rp2", "ec:ta"]}
        out = {}
        for name, roles, path, scopes, tm, keys in (
                ("op", ["openid_provider"], ["ia", "ta"], None, [],
                 [self.prot_key("op-sig", "chain"), self.prot_key("op-enc", "chain")]),
                ("rp", ["openid_relying_party"], ["ia", "ta"], ["email", "openid", "profile"],
                 [{"type": self.tm_type, "exp": self.tm.payload["exp"]}],
                 [self.prot_key("rp-sig", "signed_jwks")]),
                ("rp2", ["openid_relying_party"], ["ta"], ["email", "openid"], [],
                 [self.prot_key("rp2-sig", "jwks_uri")])):
            out[I[name]] = {"name": name, "proto": "oidf", "roles": roles, "ta": I["ta"],
                            "path": [I[p] for p in path],
                            "valid_until": min(e[s] for s in chain[name]),
                            "scopes": scopes, "tm": tm, "keys": keys,
                            "fed_jkt": self.k[name].jkt}
        return out


def make_keys():
    k = {}
    for n in ("ta", "op", "rp", "rp2", "tmi", "ib", "partner", "attacker", "ta-other"):
        k[n] = Key("EC")
    k["ia"] = Key("RSA")
    k["attacker-rsa"] = Key("RSA")
    k["op-sig"] = Key("EC", "op-sig-1", {"use": "sig", "alg": "ES256"})
    k["op-enc"] = Key("RSA", "op-enc-1", {"use": "enc", "alg": "RSA-OAEP"})
    k["rp-sig"] = Key("EC", "rp-sig-1", {"use": "sig", "alg": "ES256"})
    k["rp2-sig"] = Key("EC", "rp2-sig-1", {"use": "sig", "alg": "ES256"})
    k["partner-sig"] = Key("EC", "partner-sig-1", {"use": "sig", "alg": "ES256"})
    k["partner-enc"] = Key("EC", "partner-enc-1", {"use": "enc", "alg": "ECDH-ES"})
    return k


def raw_sig(r, s):
    return intb(r, 32) + intb(s, 32)


def flip_trailing_bits(s64):
    """Same bytes, but non-zero unused bits in the last character (non-canonical)."""
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(s64) % 4 == 0:
        raise ValueError("no unused bits")
    i = alpha.index(s64[-1])
    unused = {2: 4, 3: 2}[len(s64) % 4]
    return s64[:-1] + alpha[i | ((1 << unused) - 1)]


def std_alphabet(f, j):
    """Serialise j's payload in the standard base64 alphabet (+ and /)."""
    # base64 of ASCII JSON rarely holds "-" or "_" (6-bit values 62, 63): three
    # "?" in a row put one at the last position of a byte triple
    j.payload["jti"] = "???"
    if not set("-_") & set(b64u(cj(j.payload).encode())):
        raise SystemExit("mkoidf.py: b64-std-alphabet: no - or _ in the payload")
    j.post = lambda h, p, s: (h, p.replace("-", "+").replace("_", "/"), s)


def apply_variant(f, v):
    """Put exactly one defect into the federation f."""
    st, k, I, now = f.st, f.k, f.id, f.now
    if v == "ok":
        return
    if v == "alg-none":
        j = st["ec:op"]
        j.header["alg"] = "none"
        j.sigfn = lambda si: b""
    elif v == "alg-none-signed":
        j = st["ec:rp2"]
        j.header["alg"] = "nOnE"
    elif v == "hs256-pubkey":
        j = st["ss:ia:rp"]
        j.header["alg"] = "HS256"
        secret = k["ia"].pem()
        j.sigfn = lambda si: hmac.new(secret, si, hashlib.sha256).digest()
    elif v == "rs256-on-ec":
        st["ec:op"].header["alg"] = "RS256"
    elif v == "kid-unknown":
        st["ec:rp2"].header["kid"] = "no-such-key"
    elif v == "kid-missing":
        del st["ec:op"].header["kid"]
    elif v == "hdr-jwk":
        j = st["ec:op"]
        j.key = k["attacker"]
        j.header = {"alg": "ES256", "kid": k["attacker"].kid, "typ": EST,
                    "jwk": {x: k["attacker"].pub[x] for x in ("kty", "crv", "x", "y")}}
    elif v == "hdr-jku":
        st["ec:rp"].header["jku"] = f.base + "/canary/jku"
    elif v == "hdr-x5c":
        st["ec:rp2"].header["x5c"] = [base64.b64encode(b"not a certificate").decode()]
    elif v == "hdr-crit":
        j = st["ec:op"]
        j.header["crit"] = ["x-unknown"]
        j.header["x-unknown"] = True
    elif v == "claim-crit":
        j = st["ec:rp"]
        j.payload["crit"] = ["x_unknown_claim"]
        j.payload["x_unknown_claim"] = True
    elif v == "ecdsa-zero":
        st["ec:op"].sigfn = lambda si: bytes(64)
    elif v == "ecdsa-r-is-n":
        j = st["ec:rp2"]
        j.sigfn = lambda si: raw_sig(P256_N, int.from_bytes(k["rp2"].sign(si)[32:], "big"))
    elif v == "ecdsa-der":
        j = st["ec:rp"]
        j.sigfn = lambda si: k["rp"].sign(si, der=True)
    elif v == "b64-padding":
        j = st["ec:op"]
        # a payload whose length is 0 mod 4 would need no padding: lengthen it
        while len(b64u(cj(j.payload).encode())) % 4 == 0:
            j.payload["jti"] = j.payload.get("jti", "") + "x"
        j.post = lambda h, p, s: (h, p + "=" * (-len(p) % 4), s)
    elif v == "b64-trailing-bits":
        st["ec:rp2"].post = lambda h, p, s: (h, p, flip_trailing_bits(s))
    elif v == "b64-std-alphabet":
        std_alphabet(f, st["ec:rp"])
    elif v == "dup-claim":
        st["ec:rp"].praw = lambda p: p[:-1] + ',"exp":%d}' % (now + 10 * 86400)
    elif v == "dup-header-alg":
        j = st["ec:op"]
        j.hraw = '{"alg":"ES256","alg":"none","kid":"%s","typ":"%s"}' % (k["op"].kid, EST)
    elif v == "exp-float":
        j = st["ec:op"]
        j.praw = lambda p: p.replace('"exp":%d' % j.payload["exp"],
                                     '"exp":%d.5' % j.payload["exp"], 1)
    elif v == "exp-string":
        j = st["ec:rp2"]
        j.payload["exp"] = str(j.payload["exp"])
    elif v == "expired":
        j = st["ss:ia:op"]
        j.payload["iat"] = now - 7200
        j.payload["exp"] = now - 3600
    elif v == "iat-future":
        st["ec:rp"].payload["iat"] = now + 3600
    elif v == "typ-missing":
        del st["ec:op"].header["typ"]
    elif v == "typ-jwt":
        st["ec:rp"].header["typ"] = "JWT"
    elif v == "typ-jwk-set":
        st["ec:rp2"].header["typ"] = "jwk-set+jwt"
    elif v == "typ-trust-mark":
        st["ss:ia:op"].header["typ"] = "trust-mark+jwt"
    elif v == "ss-iss-mismatch":
        # issued and signed by ia, but naming another issuer
        st["ss:ia:rp"].payload["iss"] = I["ib"]
    elif v == "ss-sub-mismatch":
        # the answer for op names rp as its subject
        st["ss:ia:op"].payload["sub"] = I["rp"]
        st["ss:ia:op"].payload["jwks"] = {"keys": [k["rp"].pub]}
    elif v == "ec-iss-ne-sub":
        # served as rp2's configuration, but issued by the TA: shaped like a
        # subordinate statement (no EC-only claim), so only the linkage is wrong
        st["ec:rp2"].payload["iss"] = I["ta"]
        del st["ec:rp2"].payload["authority_hints"]
    elif v == "wrong-signer":
        # ia's kid, but signed by another RSA key
        st["ss:ia:rp"].key = k["attacker-rsa"]
    elif v == "ec-unattested-key":
        # self-consistent EC with a new key; ia's statement still attests the genuine one
        j = st["ec:op"]
        j.key = k["attacker"]
        j.header["kid"] = k["attacker"].kid
        j.payload["jwks"] = {"keys": [k["attacker"].pub]}
    elif v == "hint-not-superior":
        st["ec:rp2"].payload["authority_hints"] = [I["ia"]]
    elif v == "loop":
        # ia -> ib -> ia: the TA no longer knows ia, op is configured statically
        f.subs = {"ta": ["rp2", "tmi"], "ia": ["op", "rp", "ib"], "ib": ["ia"]}
        del st["ss:ta:ia"]
        st["ec:ia"].payload["authority_hints"] = [I["ib"]]
        st["ec:ib"] = f.ec("ib", now + 86400, {"federation_entity": f.fe(
            "ib", "Test Intermediate B", True)}, hints=["ia"])
        st["ss:ia:ib"] = f.ss("ia", "ib", now + 86400)
        st["ss:ib:ia"] = f.ss("ib", "ia", now + 86400)
        f.static = [I["op"]]
    elif v == "max-path-length":
        st["ss:ta:ia"].payload["constraints"]["max_path_length"] = 0
    elif v == "naming-constraints":
        st["ss:ia:rp"].payload["constraints"] = {
            "naming_constraints": {"permitted": [".example.org"]}}
    elif v == "policy-crit":
        j = st["ss:ia:rp"]
        j.payload["metadata_policy"]["openid_relying_party"]["client_name"] = {
            "x_regexp": "^Test"}
        j.payload["metadata_policy_crit"] = ["x_regexp"]
    elif v == "tm-foreign-key":
        f.tm.key = k["attacker"]          # the issuer's kid, another key
    elif v == "tm-unauthorized":
        st["ec:ta"].payload["trust_mark_issuers"] = {f.tm_type: [I["rp2"]]}
    elif v == "sjwks-foreign-key":
        f.sjwks.key = k["attacker"]
        f.sjwks.header["kid"] = k["attacker"].kid
    elif v == "ta-key-mismatch":
        f.anchor = {"keys": [k["ta-other"].pub]}
    elif v == "ta-expired":
        j = st["ec:ta"]
        j.payload["iat"] = now - 7200
        j.payload["exp"] = now - 3600
    elif v == "ta-typ-jwt":
        st["ec:ta"].header["typ"] = "JWT"
    elif v == "list-no-filters":
        f.list_filters = False
    else:
        raise SystemExit("mkoidf.py: unknown variant %s" % v)


def summary(f, v, code, where):
    exp = f.expected()
    absent = [f.id[n] for n in ("ta", "ia", "ib", "tmi")]
    if where == "source":
        absent += list(exp)
        exp = {}
    elif where.startswith("leaf:"):
        for n in where[5:].split(","):
            absent.append(f.id[n])
            del exp[f.id[n]]
        if v == "loop":         # not reachable at all: neither listed nor configured
            absent.append(f.id["rp"])
            del exp[f.id["rp"]]
    elif where.startswith("tm:"):
        exp[f.id[where[3:]]]["tm"] = []
    return {"ta": f.id["ta"], "variant": v, "expect": code, "where": where,
            "static": f.static, "present": exp, "absent": absent,
            "ids": {n: f.id[n] for n in f.id}, "tm_type": f.tm_type,
            "partner": {"iss": f.id["partner"],
                        "keys": [f.prot_key("partner-sig", "signed_jwks"),
                                 f.prot_key("partner-enc", "signed_jwks")]}}


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write(text)
    os.rename(tmp, path)


def generate(out, host, port, now, keys, v, code, where):
    f = Fed(host, port, now, keys)
    apply_variant(f, v)
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "anchor.jwks"), json.dumps(f.anchor, indent=1) + "\n")
    write(os.path.join(out, "partner-anchor.jwks"),
          json.dumps({"keys": [keys["partner"].pub]}, indent=1) + "\n")
    write(os.path.join(out, "summary.json"),
          json.dumps(summary(f, v, code, where), indent=1) + "\n")
    # the route table last: a server re-reading it never sees a half-made federation
    write(os.path.join(out, "routes.json"), json.dumps(f.render(), indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description="mock OpenID Federation for fedtrust's tests")
    ap.add_argument("--port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--out")
    ap.add_argument("--now", type=int, default=None)
    ap.add_argument("--variant", default="ok")
    ap.add_argument("--list-variants", action="store_true")
    a = ap.parse_args()
    if a.list_variants:
        for n, c, w in VARIANTS:
            print(n, c, w)
        return 0
    if a.port is None or a.out is None:
        ap.error("--port and --out are required")
    now = a.now if a.now is not None else int(time.time())
    table = dict((n, (c, w)) for n, c, w in VARIANTS)
    table["ok"] = ("ok", "none")
    keys = make_keys()
    if a.variant == "all":
        for n in ["ok"] + [n for n, _, _ in VARIANTS]:
            generate(os.path.join(a.out, n), a.host, a.port, now, keys, n, *table[n])
    elif a.variant in table:
        generate(a.out, a.host, a.port, now, keys, a.variant, *table[a.variant])
    else:
        ap.error("unknown variant %s (see --list-variants)" % a.variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())
