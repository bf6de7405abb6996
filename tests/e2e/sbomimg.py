#!/usr/bin/env python3
"""Test helper for the SBOM tests (t50-t53).

  sbomimg.py make DIR        write an OCI layout DIR holding one image per
                             scenario below (tag = scenario name), each
                             made of hand-written tar layers (whiteouts,
                             symlinks, hostile databases)
  sbomimg.py summary FILE    print an SBOM (SPDX or CycloneDX JSON, as stele
                             writes it) as sorted lines:
                               pkg NAME VERSION PURL LAYER-DIFFID
                               unowned PATH SHA256 LAYER-DIFFID
                               modified PATH PACKAGE LAYER-DIFFID
  sbomimg.py diffids DIR TAG print the image's diff_ids, one a line
"""
import hashlib, io, json, os, re, sys, tarfile

MT_MAN = "application/vnd.oci.image.manifest.v1+json"


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            kind, name = e[0], e[1]
            i = tarfile.TarInfo(name)
            i.mtime = 0
            data = None
            if kind == "f":
                data = e[2] if isinstance(e[2], bytes) else e[2].encode()
                i.size = len(data)
                i.mode = 0o644
            elif kind == "d":
                i.type = tarfile.DIRTYPE
                i.mode = 0o755
            elif kind == "l":
                i.type = tarfile.SYMTYPE
                i.linkname = e[2]
            elif kind == "h":
                i.type = tarfile.LNKTYPE
                i.linkname = e[2]
            t.addfile(i, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def md5(b):
    return hashlib.md5(b.encode() if isinstance(b, str) else b).hexdigest()


A_BIN = "#!/bin/sh\necho a\n"
A2_BIN = "#!/bin/sh\necho a two\n"
OSR = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def status(*pkgs):
    out = ""
    for name, ver in pkgs:
        out += ("Package: %s\nStatus: install ok installed\nPriority: optional\n"
                "Architecture: amd64\nVersion: %s\nDescription: test\n two lines\n\n"
                % (name, ver))
    return out


BASE = [
    ("d", "etc"), ("f", "etc/os-release", OSR),
    ("l", "bin", "usr/bin"),
    ("d", "usr"), ("d", "usr/bin"),
    ("f", "usr/bin/a", A_BIN), ("f", "usr/bin/a2", A2_BIN), ("f", "usr/bin/b", "unowned\n"),
    ("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"), ("d", "var/lib/dpkg/info"),
    ("f", "var/lib/dpkg/status", status(("a", "1.0-1"))),
    # /bin/a2 reaches usr/bin/a2 through the merged-/usr symlink.
    ("f", "var/lib/dpkg/info/a.list", "/.\n/usr\n/usr/bin\n/usr/bin/a\n/bin/a2\n"),
    ("f", "var/lib/dpkg/info/a.md5sums",
     "%s  usr/bin/a\n%s  bin/a2\n" % (md5(A_BIN), md5(A2_BIN))),
]

SCENARIOS = {
    "base": [BASE],
    # c arrives in layer 2; a keeps layer 1 (same version); a file in layer 3.
    "upgrade": [BASE,
                [("f", "var/lib/dpkg/status", status(("a", "1.0-1"), ("c", "2:3.0+dfsg-1~bpo12+1"))),
                 ("f", "var/lib/dpkg/info/c.list", "/usr/bin/c\n"),
                 ("f", "usr/bin/c", "c\n")],
                [("f", "usr/bin/d", "d\n")]],
    # a's version changes in layer 2: it came with layer 2.
    "newversion": [BASE, [("f", "var/lib/dpkg/status", status(("a", "1.1-1")))]],
    "wh-status": [BASE, [("f", "var/lib/dpkg/.wh.status", "")]],
    "wh-opaque": [BASE, [("d", "var/lib/dpkg"), ("f", "var/lib/dpkg/.wh..wh..opq", ""),
                         ("f", "usr/bin/.wh.b", "")]],
    # A whiteout never hides an entry of its own layer, in either order.
    "wh-same-layer": [BASE, [("f", "usr/bin/x", "x\n"), ("f", "usr/bin/.wh.x", ""),
                             ("f", "usr/bin/.wh.y", ""), ("f", "usr/bin/y", "y\n")]],
    "modified": [BASE, [("f", "usr/bin/a", "#!/bin/sh\necho trojan\n")]],
    "hardlink": [BASE, [("h", "usr/bin/a3", "usr/bin/a")]],
    "statusd": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"), ("d", "var/lib/dpkg/status.d"),
                 ("f", "var/lib/dpkg/status.d/base-files",
                  "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"),
                 ("f", "var/lib/dpkg/status.d/base-files.md5sums", "%s  etc/debian_version\n" % md5("12.5\n")),
                 ("f", "var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"),
                 ("d", "etc"), ("f", "etc/debian_version", "12.5\n")]],
    # Hostile databases.
    "symlink-db": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"), ("d", "tmp"),
                    ("f", "tmp/status", status(("evil", "1"))),
                    ("l", "var/lib/dpkg/status", "/tmp/status")]],
    "symlink-dir": [[("d", "var"), ("d", "var/lib"), ("d", "tmp"), ("d", "tmp/dpkg"),
                     ("f", "tmp/dpkg/status", status(("evil", "1"))),
                     ("l", "var/lib/dpkg", "../../tmp/dpkg")]],
    "symlink-apk": [[("d", "lib"), ("d", "lib/apk"), ("d", "lib/apk/db"),
                     ("l", "lib/apk/db/installed", "/etc/passwd")]],
    "malformed": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"),
                   ("f", "var/lib/dpkg/status", status(("a", "1")) + "Package: b\nthis is not a field\n")]],
    "nul": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"),
             ("f", "var/lib/dpkg/status", "Package: a\x00\nVersion: 1\n")]],
    "huge": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"),
              ("f", "var/lib/dpkg/status", "Package: a\nVersion: 1\nDescription: x\n" +
               " .\n" * (17 << 20))]],
    "absolute": [[("f", "/etc/passwd", "x\n")]],
    # A malformed status in a lower layer, replaced: only the final one counts.
    "fixed-later": [[("d", "var"), ("d", "var/lib"), ("d", "var/lib/dpkg"),
                     ("f", "var/lib/dpkg/status", "garbage\n")],
                    [("f", "var/lib/dpkg/status", status(("a", "1.0-1")))]],
}


def put(out, b):
    h = hashlib.sha256(b).hexdigest()
    with open(os.path.join(out, "blobs/sha256", h), "wb") as f:
        f.write(b)
    return "sha256:" + h, len(b)


def make(out):
    os.makedirs(os.path.join(out, "blobs/sha256"), exist_ok=True)
    manifests = []
    for name in sorted(SCENARIOS):
        layers, diffs = [], []
        for entries in SCENARIOS[name]:
            t = tar(entries)
            d, s = put(out, t)
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s})
            diffs.append(d)
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-02-03T04:05:06.789+01:00",
                          "rootfs": {"type": "layers", "diff_ids": diffs}}, sort_keys=True).encode()
        cd, cs = put(out, cfg)
        man = json.dumps({"schemaVersion": 2, "mediaType": MT_MAN,
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                          "layers": layers}, sort_keys=True).encode()
        md, ms = put(out, man)
        manifests.append({"mediaType": MT_MAN, "digest": md, "size": ms,
                          "annotations": {"org.opencontainers.image.ref.name": name}})
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


def summary(path):
    doc = json.load(open(path))
    lines = []
    if doc.get("spdxVersion"):
        for p in doc["packages"]:
            if p["SPDXID"] == "SPDXRef-Image":
                continue
            purl = [r["referenceLocator"] for r in p["externalRefs"] if r["referenceType"] == "purl"][0]
            m = re.search(r"diffID (sha256:[0-9a-f]{64})", p["annotations"][0]["comment"])
            lines.append("pkg %s %s %s %s" % (p["name"], p["versionInfo"], purl, m.group(1) if m else "-"))
        for f in doc.get("files", []):
            c = f["comment"]
            m = re.search(r"diffID (sha256:[0-9a-f]{64})", c)
            sha = [x["checksumValue"] for x in f["checksums"] if x["algorithm"] == "SHA256"][0]
            if c.startswith("owned by no package"):
                lines.append("unowned /%s %s %s" % (f["fileName"][2:], sha, m.group(1)))
            else:
                pk = re.search(r"package database of (\S+) ", c).group(1)
                lines.append("modified /%s %s %s" % (f["fileName"][2:], pk, m.group(1)))
    else:
        for c in doc.get("components", []):
            props = {p["name"]: p["value"] for p in c.get("properties", [])}
            if c["type"] == "file":
                sha = [h["content"] for h in c["hashes"] if h["alg"] == "SHA-256"][0]
                if props["stele:finding"] == "unowned":
                    lines.append("unowned %s %s %s" % (c["name"], sha, props["stele:layer:diffID"]))
                else:
                    lines.append("modified %s %s %s" % (c["name"], props["stele:package"], props["stele:layer:diffID"]))
            else:
                lines.append("pkg %s %s %s %s" % (c["name"], c["version"], c["purl"], props.get("stele:layer:diffID", "-")))
    for line in sorted(lines):
        print(line)


def diffids(out, tag):
    idx = json.load(open(os.path.join(out, "index.json")))
    m = [m for m in idx["manifests"]
         if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
    man = json.load(open(os.path.join(out, "blobs/sha256", m["digest"][7:])))
    cfg = json.load(open(os.path.join(out, "blobs/sha256", man["config"]["digest"][7:])))
    for d in cfg["rootfs"]["diff_ids"]:
        print(d)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "summary":
        summary(sys.argv[2])
    elif sys.argv[1] == "diffids":
        diffids(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
