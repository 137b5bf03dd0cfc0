#!/bin/sh
# Make every key and certificate the tests need, fresh at test time.
#   mkpki.sh DIR
# DIR/ca.{key,pem}          TLS test CA;  DIR/server.{key,pem} for 127.0.0.1/localhost
# DIR/signer.{key,pem}      feed signer, self-signed RSA-2048 (pinned mode)
# DIR/signer2.{key,pem}     second feed signer (rollover)
# DIR/signer-ec.{key,pem}   feed signer, P-256
# DIR/weak.{key,pem}        RSA-1024 signer (must be refused)
# DIR/other.{key,pem}       an attacker's self-signed RSA-2048 key
# DIR/operator.{key,pem}    operator signing key, RSA-2048;  DIR/operator-ec.{key,pem} P-256
# DIR/fedca.{key,pem}       federation CA (CA mode); DIR/fedsigner.{key,pem} issued by it,
#                           DIR/fedsigner-revoked.{key,pem} issued and revoked,
#                           DIR/fedca.crl (PEM) revoking it; DIR/fedsigner.pub.pem public key only
# DIR/entity1..4.pem        certificates to put in KeyDescriptors
set -eu
d=$1
mkdir -p "$d"
cd "$d"
[ -f .done ] && exit 0
o() { openssl "$@" 2>/dev/null; }

selfsigned() { # name keyopts subject days
	o req -x509 -newkey "$2" -nodes -keyout "$1.key" -out "$1.pem" -days "${4:-3650}" -subj "$3" \
		-addext basicConstraints=critical,CA:FALSE
}
selfsigned signer rsa:2048 "/CN=metadata-signer/O=Test Federation"
selfsigned signer2 rsa:2048 "/CN=metadata-signer-2/O=Test Federation"
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signer-ec.key
o req -x509 -key signer-ec.key -out signer-ec.pem -days 3650 -subj "/CN=metadata-signer-ec"
selfsigned weak rsa:1024 "/CN=weak-signer"
selfsigned other rsa:2048 "/CN=metadata-signer/O=Attacker"
selfsigned operator rsa:2048 "/CN=fedtrust operator"
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out operator-ec.key
o req -x509 -key operator-ec.key -out operator-ec.pem -days 3650 -subj "/CN=fedtrust operator ec"
for i in 1 2 3 4; do selfsigned "entity$i" rsa:2048 "/CN=entity$i.example.org"; done

# TLS CA and the 127.0.0.1 server certificate
o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=fedtrust test TLS CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
o req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
o x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 3650 -extfile server.ext

# Federation CA with a CRL (openssl ca needs a small database)
mkdir -p fedca.db
: > fedca.db/index.txt
echo 1000 > fedca.db/serial
echo 1000 > fedca.db/crlnumber
cat > fedca.cnf <<CNF
[ca]
default_ca = fed
[fed]
dir = fedca.db
database = fedca.db/index.txt
serial = fedca.db/serial
crlnumber = fedca.db/crlnumber
new_certs_dir = fedca.db
certificate = fedca.pem
private_key = fedca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = supplied
organizationName = optional
[signer]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
CNF
o req -x509 -newkey rsa:2048 -nodes -keyout fedca.key -out fedca.pem -days 3650 -subj "/CN=Test Federation Root CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
issue() { # name cn san
	o req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2/O=Test Federation" -addext "subjectAltName=$3"
	o ca -batch -config fedca.cnf -extensions signer -in "$1.csr" -out "$1.pem" -notext
}
issue fedsigner metadata-signer.example.org DNS:metadata-signer.example.org
issue fedsigner-revoked old-signer.example.org DNS:old-signer.example.org
o ca -config fedca.cnf -revoke fedsigner-revoked.pem
o ca -config fedca.cnf -gencrl -out fedca.crl
o pkey -in fedsigner.key -pubout -out fedsigner.pub.pem
o pkey -in signer.key -pubout -out signer.pub.pem
for f in *.key; do chmod 600 "$f"; done
touch .done
