#!/usr/bin/python3
"""Independent checks of stele's key files, signatures and attestations,
written from the formats' descriptions (docs/keys.md, cosign's), using only
Python's hashlib, PyNaCl (secretbox) and cryptography (Ed25519, ECDSA P-256
with SHA-256, PKCS#8).

usage: keycheck.py key KEYFILE PUBFILE PASSPHRASE KEYID
       keycheck.py sig LAYOUT IMAGE_DIGEST IDENTITY PUBFILE...
       keycheck.py att LAYOUT IMAGE_DIGEST PUBFILE...
       keycheck.py mkkey OUT PASSPHRASE N [TYPE]
           (a cosign-format file, any N; TYPE ed25519 (default), p256,
           p384 or rsa; the public key goes to OUT.pub)
"""
import base64, hashlib, json, os, sys

import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def b64(s):
    out = base64.b64decode(s, validate=True)
    assert base64.b64encode(out).decode() == s, "non-canonical base64"
    return out


def pem_body(path, want):
    lines = open(path).read().strip().split("\n")
    assert lines[0] == "-----BEGIN %s-----" % want, lines[0]
    assert lines[-1] == "-----END %s-----" % want, lines[-1]
    assert all(len(l) <= 64 for l in lines[1:-1])
    return base64.b64decode("".join(lines[1:-1]))


def decrypt(path, pw):
    doc = json.loads(pem_body(path, "ENCRYPTED COSIGN PRIVATE KEY"))
    assert list(doc) == ["kdf", "cipher", "ciphertext"], list(doc)
    kdf, cipher = doc["kdf"], doc["cipher"]
    assert kdf["name"] == "scrypt" and cipher["name"] == "nacl/secretbox"
    assert kdf["params"] == {"N": 32768, "r": 8, "p": 1}, kdf["params"]
    key = hashlib.scrypt(pw.encode(), salt=b64(kdf["salt"]), n=32768, r=8,
                         p=1, maxmem=64 << 20, dklen=32)
    box = nacl.secret.SecretBox(key)
    return box.decrypt(b64(doc["ciphertext"]), b64(cipher["nonce"]))


def load_pub(path):
    pub = serialization.load_pem_public_key(open(path, "rb").read())
    assert isinstance(pub, ed25519.Ed25519PublicKey) or (
        isinstance(pub, ec.EllipticCurvePublicKey) and
        isinstance(pub.curve, ec.SECP256R1)), pub
    return pub


def verify(pub, sig, msg):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
    else:
        pub.verify(sig, msg)


def spki(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def cmd_key(keyfile, pubfile, pw, keyid):
    der = decrypt(keyfile, pw)
    priv = serialization.load_der_private_key(der, None)
    pub = load_pub(pubfile)
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        assert isinstance(priv.curve, ec.SECP256R1)
        # the plaintext is PKCS#8 (not SEC1), exactly as re-encoded
        assert der == priv.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        assert spki(priv.public_key()) == spki(pub)
    else:
        assert len(der) == 48 and der[:16].hex() == "302e020100300506032b657004220420"
        assert isinstance(priv, ed25519.Ed25519PrivateKey)
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        assert priv.public_key().public_bytes(*raw) == pub.public_bytes(*raw)
    assert hashlib.sha256(spki(pub)).hexdigest() == keyid
    assert oct(os.stat(keyfile).st_mode & 0o777) == "0o600"
    print("key ok")


def blob(layout, digest):
    data = open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def tagged(layout, tag):
    idx = json.load(open(os.path.join(layout, "index.json")))
    m = [m for m in idx["manifests"]
         if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    assert len(m) == 1, m
    return json.loads(blob(layout, m[0]["digest"]))


def verify_any(pubs, sig, msg):
    for p in pubs:
        try:
            verify(p, sig, msg)
            return p
        except Exception:
            pass
    raise AssertionError("no key verifies")


def cmd_sig(layout, digest, identity, *pubfiles):
    pubs = [load_pub(p) for p in pubfiles]
    blob(layout, digest)
    man = tagged(layout, "sha256-%s.sig" % digest[7:])
    assert man["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    want = json.dumps({"critical": {"identity": {"docker-reference": identity},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": None}, separators=(",", ":")).encode()
    used = set()
    for l in man["layers"]:
        assert l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        payload = blob(layout, l["digest"])
        assert payload == want, payload
        sig = b64(l["annotations"]["dev.cosignproject.cosign/signature"])
        used.add(spki(verify_any(pubs, sig, payload)))
    assert len(used) == len(pubs) == len(man["layers"]), (len(used), len(man["layers"]))
    print("signatures ok: %d" % len(man["layers"]))


def cmd_att(layout, digest, *pubfiles):
    pubs = [load_pub(p) for p in pubfiles]
    man = tagged(layout, "sha256-%s.att" % digest[7:])
    for l in man["layers"]:
        assert l["mediaType"] == "application/vnd.dsse.envelope.v1+json"
        env = json.loads(blob(layout, l["digest"]))
        assert env["payloadType"] == "application/vnd.in-toto+json"
        body = b64(env["payload"])
        pae = b"DSSEv1 %d %s %d %s" % (len(env["payloadType"]),
                                       env["payloadType"].encode(), len(body), body)
        verify_any(pubs, b64(env["signatures"][0]["sig"]), pae)
        st = json.loads(body)
        assert any(s["digest"]["sha256"] == digest[7:] for s in st["subject"])
        assert l["annotations"]["predicateType"] == st["predicateType"]
        # the exact bytes the builder stored as the provenance referrer
        stored = [m for m in json.load(open(os.path.join(layout, "index.json")))["manifests"]
                  if m.get("artifactType") == "application/vnd.in-toto+json"]
        bodies = [blob(layout, json.loads(blob(layout, m["digest"]))["layers"][0]["digest"])
                  for m in stored]
        assert body in bodies
    print("attestations ok: %d" % len(man["layers"]))


def cmd_mkkey(out, pw, n, kind="ed25519"):
    priv = {"ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
            "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
            "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
            "rsa": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
    der = priv.private_bytes(serialization.Encoding.DER,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    salt, n = os.urandom(32), int(n)
    key = hashlib.scrypt(pw.encode(), salt=salt, n=n, r=8, p=1,
                         maxmem=256 << 20, dklen=32)
    nonce = nacl.utils.random(24)
    ct = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext
    e = lambda b: base64.b64encode(b).decode()
    doc = json.dumps({"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                              "salt": e(salt)},
                      "cipher": {"name": "nacl/secretbox", "nonce": e(nonce)},
                      "ciphertext": e(ct)}, separators=(",", ":"))
    body = e(doc.encode())
    with open(out, "w") as f:
        f.write("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")
        for i in range(0, len(body), 64):
            f.write(body[i:i + 64] + "\n")
        f.write("-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
    with open(out + ".pub", "wb") as f:
        f.write(priv.public_key().public_bytes(serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo))


if __name__ == "__main__":
    {"key": cmd_key, "sig": cmd_sig, "att": cmd_att,
     "mkkey": cmd_mkkey}[sys.argv[1]](*sys.argv[2:])
