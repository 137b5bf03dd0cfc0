#!/usr/bin/env python3
"""Server certificates that a fetch must refuse (NET-01), made at test time.

  mktlsbad.py DIR CA.pem CA.key

Writes DIR/NAME.pem and DIR/NAME.key (P-256) for:
  wronghost   issued by the test CA for wrong.example.net only (hostname mismatch)
  selfsigned  for 127.0.0.1, self-signed
  expired     issued by the test CA for 127.0.0.1, expired yesterday
  unknownca   for 127.0.0.1, issued by a CA nobody trusts (DIR/unknownca-root.pem)
  good        issued by the test CA for 127.0.0.1 (the control: must be accepted)
Uses python3-cryptography (a test dependency, .ci/install-deps).
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject_cn, key, issuer_cn, issuer_key, start, end, sans, ca=False):
    b = (x509.CertificateBuilder()
         .subject_name(name(subject_cn))
         .issuer_name(name(issuer_cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
    else:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                          False, False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def write(d, stem, crt, key):
    with open(os.path.join(d, stem + ".pem"), "wb") as f:
        f.write(crt.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        with open(os.path.join(d, stem + ".key"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))


def main():
    d, ca_pem, ca_key = sys.argv[1:4]
    os.makedirs(d, exist_ok=True)
    with open(ca_pem, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(ca_key, "rb") as f:
        cakey = serialization.load_pem_private_key(f.read(), None)
    ca_cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    loop = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]

    k = ec.generate_private_key(ec.SECP256R1())
    write(d, "wronghost", cert("wrong.example.net", k, ca_cn, cakey, now - DAY, now + 30 * DAY,
                               [x509.DNSName("wrong.example.net")]), k)
    k = ec.generate_private_key(ec.SECP256R1())
    write(d, "selfsigned", cert("127.0.0.1", k, "127.0.0.1", k, now - DAY, now + 30 * DAY, loop), k)
    k = ec.generate_private_key(ec.SECP256R1())
    write(d, "expired", cert("127.0.0.1", k, ca_cn, cakey, now - 30 * DAY, now - DAY, loop), k)
    rk = ec.generate_private_key(ec.SECP256R1())
    root = cert("Unknown Test Root", rk, "Unknown Test Root", rk, now - DAY, now + 30 * DAY, [],
                ca=True)
    write(d, "unknownca-root", root, None)
    k = ec.generate_private_key(ec.SECP256R1())
    write(d, "unknownca", cert("127.0.0.1", k, "Unknown Test Root", rk, now - DAY, now + 30 * DAY,
                               loop), k)
    k = ec.generate_private_key(ec.SECP256R1())
    write(d, "good", cert("127.0.0.1", k, ca_cn, cakey, now - DAY, now + 30 * DAY, loop), k)


if __name__ == "__main__":
    main()
