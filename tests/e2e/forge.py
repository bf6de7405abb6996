#!/usr/bin/python3
"""Forgeries for the verify tests: each command damages or counterfeits
something in an OCI layout the way an attacker could.  Signatures are made
with real keys (decrypted by tests/interop/keycheck.py), so only the rule
under test can catch them.

usage: forge.py flip LAYOUT DIGEST            flip a byte of a blob in place
       forge.py sign LAYOUT DIGEST KEY PW PAYLOAD
                                              append a signed payload (exact bytes)
       forge.py dsse LAYOUT DIGEST KEY PW TYPE STATEMENT_FILE
                                              append a DSSE envelope
       forge.py envelope KEY PW TYPE FILE     print a DSSE envelope of FILE
       forge.py swap LAYOUT TAG N OTHER_DIGEST  layer N of TAG's manifest becomes
                                              OTHER_DIGEST (a new manifest, retagged)
       forge.py copysig LAYOUT FROM_DIGEST TO_DIGEST
                                              another image's .sig put on this one
       forge.py junk LAYOUT DIGEST KIND       append a layer no key could have
                                              made (KIND: rsa-sig, nosig, garbage-att)
       forge.py flipsig LAYOUT DIGEST         flip a bit in the last byte of the
                                              last .sig layer's signature (for
                                              ECDSA DER: the low bit of s)
"""
import base64, hashlib, json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
import keycheck  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

REF = "org.opencontainers.image.ref.name"
MT = "application/vnd.oci.image.manifest.v1+json"


def path(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest[7:])


def put(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(path(layout, d), "wb") as f:
        f.write(data)
    return d, len(data)


def index(layout):
    return json.load(open(os.path.join(layout, "index.json")))


def save_index(layout, idx):
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(idx, f, sort_keys=True, separators=(",", ":"))


def tag(layout, name, digest, size):
    idx = index(layout)
    idx["manifests"] = [m for m in idx["manifests"]
                        if m.get("annotations", {}).get(REF) != name]
    idx["manifests"].append({"mediaType": MT, "digest": digest, "size": size,
                             "annotations": {REF: name}})
    save_index(layout, idx)


def tagged(layout, name):
    for m in index(layout)["manifests"]:
        if m.get("annotations", {}).get(REF) == name:
            return json.load(open(path(layout, m["digest"])))
    return None


def sign_bytes(keyfile, pw, msg):
    der = keycheck.decrypt(keyfile, pw)
    priv = serialization.load_der_private_key(der, None)
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        return priv.sign(msg, ec.ECDSA(hashes.SHA256()))
    return priv.sign(msg)


def envelope(keyfile, pw, ptype, body):
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(body), body)
    sig = sign_bytes(keyfile, pw, pae)
    return json.dumps({"payloadType": ptype,
                       "payload": base64.b64encode(body).decode(),
                       "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]},
                      separators=(",", ":")).encode()


def append_layer(layout, name, layer):
    man = tagged(layout, name)
    if man is None:
        cfg_d, cfg_n = put(layout, b"{}")
        man = {"schemaVersion": 2, "mediaType": MT,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": cfg_d, "size": cfg_n}, "layers": []}
    man["layers"].append(layer)
    d, n = put(layout, json.dumps(man, separators=(",", ":")).encode())
    tag(layout, name, d, n)


def main(cmd, *a):
    if cmd == "flip":
        layout, digest = a
        p = path(layout, digest)
        data = bytearray(open(p, "rb").read())
        data[len(data) // 2] ^= 0x01
        open(p, "wb").write(bytes(data))
    elif cmd == "sign":
        layout, digest, key, pw, payload = a
        payload = payload.encode()
        sig = sign_bytes(key, pw, payload)
        d, n = put(layout, payload)
        append_layer(layout, "sha256-%s.sig" % digest[7:], {
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": d, "size": n,
            "annotations": {"dev.cosignproject.cosign/signature":
                            base64.b64encode(sig).decode()}})
    elif cmd == "envelope":
        key, pw, ptype, stfile = a
        sys.stdout.write(envelope(key, pw, ptype, open(stfile, "rb").read()).decode())
    elif cmd == "dsse":
        layout, digest, key, pw, ptype, stfile = a
        body = open(stfile, "rb").read()
        d, n = put(layout, envelope(key, pw, ptype, body))
        pt = json.loads(body).get("predicateType", "")
        append_layer(layout, "sha256-%s.att" % digest[7:], {
            "mediaType": "application/vnd.dsse.envelope.v1+json", "digest": d, "size": n,
            "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": pt}})
    elif cmd == "swap":
        layout, name, n, other = a
        idx = [m for m in index(layout)["manifests"]
               if m.get("annotations", {}).get(REF) == name][0]
        man = json.load(open(path(layout, idx["digest"])))
        man["layers"][int(n)]["digest"] = other
        man["layers"][int(n)]["size"] = os.path.getsize(path(layout, other))
        d, size = put(layout, json.dumps(man, separators=(",", ":")).encode())
        tag(layout, name, d, size)
        print(d)
    elif cmd == "copysig":
        layout, src, dst = a
        for m in index(layout)["manifests"]:
            if m.get("annotations", {}).get(REF) == "sha256-%s.sig" % src[7:]:
                tag(layout, "sha256-%s.sig" % dst[7:], m["digest"], m["size"])
    elif cmd == "junk":
        layout, digest, kind = a
        if kind == "garbage-att":
            d, n = put(layout, b"not an envelope")
            append_layer(layout, "sha256-%s.att" % digest[7:], {
                "mediaType": "application/vnd.dsse.envelope.v1+json", "digest": d,
                "size": n, "annotations": {"dev.cosignproject.cosign/signature": "",
                                           "predicateType": "https://slsa.dev/provenance/v1"}})
            return
        d, n = put(layout, b'{"anything":"at all"}')
        ann = {} if kind == "nosig" else \
            {"dev.cosignproject.cosign/signature": base64.b64encode(os.urandom(256)).decode()}
        append_layer(layout, "sha256-%s.sig" % digest[7:], {
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": d, "size": n, "annotations": ann})
    elif cmd == "flipsig":
        layout, digest = a
        name = "sha256-%s.sig" % digest[7:]
        man = tagged(layout, name)
        ann = man["layers"][-1]["annotations"]
        sig = bytearray(base64.b64decode(ann["dev.cosignproject.cosign/signature"]))
        sig[-1] ^= 0x01
        ann["dev.cosignproject.cosign/signature"] = base64.b64encode(bytes(sig)).decode()
        d, n = put(layout, json.dumps(man, separators=(",", ":")).encode())
        tag(layout, name, d, n)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(*sys.argv[1:])
