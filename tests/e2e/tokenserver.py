#!/usr/bin/env python3
"""A bearer token server for docker-registry's `auth.token`, on 127.0.0.1.

    tokenserver.py DIR USER:PASS TTL

Makes an RSA key and a self-signed certificate (DIR/token.crt, the
registry's rootcertbundle), then serves GET /token?service=S&scope=... :
Basic USER:PASS gets pull and push on every repository asked for; no
credentials get pull only; wrong credentials get 401.  Tokens are RS256
JWTs whose x5c header holds the certificate, valid for TTL seconds
(expires_in says so too).  Each request is logged to DIR/token.log as
"user scope...".  Writes its port to DIR/token.port when ready.
"""
import base64
import datetime
import http.server
import json
import os
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

DIR, CREDS, TTL = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stele test token issuer")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
with open(os.path.join(DIR, "token.crt"), "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    head = b64u(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [x5c]}).encode())
    body = b64u(json.dumps(claims).encode())
    sig = key.sign((head + "." + body).encode(), padding.PKCS1v15(), hashes.SHA256())
    return head + "." + body + "." + b64u(sig)


class Token(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        user = ""
        if auth.startswith("Basic "):
            given = base64.b64decode(auth[6:]).decode()
            if given != CREDS:
                with open(os.path.join(DIR, "token.log"), "a") as f:
                    f.write("REJECTED %s\n" % given.split(":")[0])
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "bad credentials"}]})
            user = given.split(":")[0]
        scopes = q.get("scope", [])
        with open(os.path.join(DIR, "token.log"), "a") as f:
            f.write("%s %s\n" % (user or "-", " ".join(scopes)))
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) != 3:
                continue
            want = parts[2].split(",")
            allowed = want if user else [a for a in want if a == "pull"]
            access.append({"type": parts[0], "name": parts[1], "actions": allowed})
        t = int(time.time())
        claims = {"iss": "stele-test", "sub": user, "aud": q.get("service", [""])[0],
                  "exp": t + TTL, "nbf": t - 10, "iat": t,
                  "jti": base64.b16encode(os.urandom(8)).decode(), "access": access}
        self.answer(200, {"token": jwt(claims), "expires_in": TTL})


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
with open(os.path.join(DIR, "token.port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, "token.port.tmp"), os.path.join(DIR, "token.port"))
srv.serve_forever()
