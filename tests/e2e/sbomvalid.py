#!/usr/bin/env python3
"""Independent checks of an SBOM, for the e2e tests (not stele's code).

    sbomvalid.py [--mutate NAME] spdx|cyclonedx FILE...
    sbomvalid.py mutations spdx|cyclonedx
    sbomvalid.py probe

Each FILE is validated against the published JSON schema (SPDX 2.3 from
spdx/spdx-spec, CycloneDX 1.6 and the schemas it references from
CycloneDX/specification; copies in tests/data/schemas, see the README
there) with python3-jsonschema, references resolved from those files only,
never the network, and formats checked.  SPDX documents then go through
the rules of the SPDX 2.3 specification that its schema cannot express
(clause numbers below), and CycloneDX documents through the uniqueness and
reference rules of CycloneDX 1.6 and the purl specification.

--mutate NAME first breaks the document in one known way (the list:
`mutations`), to show that the check meant to catch it does.

Exit status: 0 valid; 1 invalid (one line per problem, "FILE: RULE: what");
2 the validator cannot run here (python3-jsonschema or a format checker
missing, a mutation that does not apply) or a usage error; 3 a crash.
"""
import copy
import datetime
import hashlib
import json
import os
import re
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "data", "schemas")
FILES = {
    "spdx": ("spdx-2.3.schema.json", []),
    "cyclonedx": ("bom-1.6.schema.json",
                  ["spdx.schema.json", "jsf-0.82.schema.json"]),
}
MAX_REPORTED = 25


class Unavailable(Exception):
    """The validator cannot run here: exit 2, never a pass."""


# ---- JSON schema ----

RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?"
    r"([Zz]|[+-](\d\d):(\d\d))$")


def is_rfc3339(s):
    """RFC 3339 section 5.6 date-time (jsonschema checks it only with
    rfc3339-validator installed, which Debian 12 does not package)."""
    if not isinstance(s, str):
        return True
    m = RFC3339.match(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    if m.group(9) and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    try:
        datetime.date(y, mo, d)
    except ValueError:
        return False
    return h <= 23 and mi <= 59 and sec <= 60


def used_formats(node, acc):
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            acc.add(node["format"])
        for v in node.values():
            used_formats(v, acc)
    elif isinstance(node, list):
        for v in node:
            used_formats(v, acc)
    return acc


def validator(kind):
    try:
        import jsonschema
    except ImportError:
        raise Unavailable("python3-jsonschema is not installed")
    main, extra = FILES[kind]
    docs = []
    for name in [main] + extra:
        with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
            docs.append(json.load(f))
    root = docs[0]
    cls = jsonschema.validators.validator_for(root)
    cls.check_schema(root)
    checker = copy.deepcopy(cls.FORMAT_CHECKER)
    if "date-time" not in checker.checkers:
        checker.checks("date-time")(is_rfc3339)
    missing = set()
    for d in docs:
        used_formats(d, missing)
    missing -= set(checker.checkers)
    if missing:
        raise Unavailable("no checker for the format(s) %s (python3-rfc3987 "
                          "checks uri and iri)" % ", ".join(sorted(missing)))
    try:
        # jsonschema >= 4.18: a registry of the local files and nothing
        # else (no retrieve function: an unknown $ref is an error).
        from referencing import Registry, Resource
        reg = Registry().with_resources(
            (d["$id"], Resource.from_contents(d)) for d in docs)
        return cls(root, registry=reg, format_checker=checker)
    except ImportError:
        pass

    def offline(uri):
        raise jsonschema.RefResolutionError("not in tests/data/schemas: " + uri)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(
            root["$id"], root, store={d["$id"]: d for d in docs},
            handlers={"http": offline, "https": offline})
    return cls(root, resolver=resolver, format_checker=checker)


def schema_errors(v, doc):
    out = []
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        out.append("schema: %s: %s" % (where, e.message[:300]))
    return out


# ---- purl (github.com/package-url/purl-spec, PURL-SPECIFICATION.rst) ----

PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def purl_errors(p):
    """Problems with a purl string, as the purl specification's parsing
    rules and canonical form state them; [] when it is well formed."""
    bad = []
    if not isinstance(p, str) or not p.startswith("pkg:"):
        return ["not a purl (no 'pkg:' scheme): %r" % (p,)]
    if re.search(r"[\s\x00-\x1f\x7f]", p):
        bad.append("whitespace or a control character")
    if PCT.search(p):
        bad.append("a '%' that is not a %XX escape")
    rest = p[4:].lstrip("/")
    rest, _, subpath = rest.partition("#")
    rest, q, quals = rest.partition("?")
    head, at, version = rest.rpartition("@") if "@" in rest.rsplit("/", 1)[-1] \
        else (rest, "", "")
    if at and not version:
        bad.append("an '@' with no version")
    segs = head.strip("/").split("/")
    if len(segs) < 2:
        bad.append("no type and name")
        return bad
    ptype, name = segs[0], segs[-1]
    if not re.match(r"^[a-zA-Z.+-][a-zA-Z0-9.+-]*$", ptype):
        bad.append("type %r is not [a-zA-Z.+-][a-zA-Z0-9.+-]*" % ptype)
    elif ptype != ptype.lower():
        bad.append("type %r is not lowercase (canonical form)" % ptype)
    if not name:
        bad.append("an empty name")
    if any(not s for s in segs[1:-1]):
        bad.append("an empty namespace segment")
    if q:
        keys = []
        for kv in quals.split("&"):
            k, eq, val = kv.partition("=")
            if not eq or not val:
                bad.append("qualifier %r has no value" % kv)
            if not re.match(r"^[a-z.\-_][a-z0-9.\-_]*$", k):
                bad.append("qualifier key %r is not lowercase "
                           "[a-z.-_][a-z0-9.-_]*" % k)
            keys.append(k)
        if len(set(keys)) != len(keys):
            bad.append("a qualifier key given twice")
        if keys != sorted(keys):
            bad.append("qualifiers are not sorted by key (canonical form)")
    return bad


# ---- SPDX 2.3 ----

SPDXID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
DOCREF = re.compile(r"^DocumentRef-[A-Za-z0-9.\-]+$")
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]+$")
HEXLEN = {"SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128,
          "SHA3-256": 64, "SHA3-384": 96, "SHA3-512": 128, "BLAKE2b-256": 64,
          "BLAKE2b-384": 96, "BLAKE2b-512": 128, "MD2": 32, "MD4": 32,
          "MD5": 32, "ADLER32": 8}
# Annex F: the category each listed reference type belongs to.
REFCAT = {"cpe22Type": "SECURITY", "cpe23Type": "SECURITY",
          "advisory": "SECURITY", "fix": "SECURITY", "url": "SECURITY",
          "swid": "SECURITY", "maven-central": "PACKAGE-MANAGER",
          "npm": "PACKAGE-MANAGER", "nuget": "PACKAGE-MANAGER",
          "bower": "PACKAGE-MANAGER", "purl": "PACKAGE-MANAGER",
          "swh": "PERSISTENT-ID", "gitoid": "PERSISTENT-ID"}
IRI_BAD = re.compile(r"[\x00-\x20\x7f-\x9f\"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})")
LICENSE_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9.\-+:]+)")


def url_ok(s):
    """An absolute URL or IRI (RFC 3986/3987): a scheme, then no space,
    control or excluded character, '%' only as %XX, at most one '#'."""
    return isinstance(s, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:.", s)) \
        and not IRI_BAD.search(s) and s.count("#") <= 1


def date_ok(s):
    if not isinstance(s, str) or not CREATED.match(s):
        return False
    try:
        datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def license_errors(expr, declared):
    """Annex D: NONE, NOASSERTION or a license expression whose
    LicenseRef-s are declared in hasExtractedLicensingInfos."""
    if expr in ("NONE", "NOASSERTION"):
        return []
    toks, pos = [], 0
    while pos < len(expr):
        m = LICENSE_TOKEN.match(expr, pos)
        if not m:
            return ["%r is not a license expression" % expr]
        toks.append(m.group(1))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    bad, depth, want_id = [], 0, True
    for t in toks:
        if t == "(":
            depth += 1
            if not want_id:
                bad.append("'(' after a license in %r" % expr)
        elif t == ")":
            depth -= 1
            if want_id or depth < 0:
                bad.append("unbalanced ')' in %r" % expr)
        elif t in ("AND", "OR", "WITH"):
            if want_id:
                bad.append("operator %s without a left side in %r" % (t, expr))
            want_id = True
        else:
            if not want_id:
                bad.append("two licenses without an operator in %r" % expr)
            want_id = False
            ref = t.split(":")[-1]
            if ref.startswith("LicenseRef-") and ":" not in t and \
                    ref not in declared:
                bad.append("%s is not declared in hasExtractedLicensingInfos"
                           % ref)
    if want_id or depth:
        bad.append("%r is incomplete" % expr)
    return bad


def spdx_errors(d):
    err = []
    add = err.append
    if d.get("spdxVersion") != "SPDX-2.3":
        add("6.1 spdxVersion: %r is not SPDX-2.3" % d.get("spdxVersion"))
    if d.get("dataLicense") != "CC0-1.0":
        add("6.2 dataLicense: %r is not CC0-1.0" % d.get("dataLicense"))
    if d.get("SPDXID") != "SPDXRef-DOCUMENT":
        add("6.3 SPDXID: the document's is %r, not SPDXRef-DOCUMENT"
            % d.get("SPDXID"))
    ns = d.get("documentNamespace")
    if isinstance(ns, str) and "#" in ns:
        add("6.5 documentNamespace: %r contains '#'" % ns)
    elif not isinstance(ns, str) or not URI.match(ns) or PCT.search(ns):
        add("6.5 documentNamespace: %r is not an absolute URI with a scheme "
            "(RFC 3986)" % (ns,))
    ci = d.get("creationInfo") or {}
    for c in ci.get("creators") or []:
        if not re.match(r"^(Person|Organization|Tool): \S", c):
            add("6.8 creators: %r is not 'Person: ', 'Organization: ' or "
                "'Tool: ' and a name" % c)
    if not date_ok(ci.get("created")):
        add("6.9 created: %r is not YYYY-MM-DDThh:mm:ssZ" % ci.get("created"))
    extdocs = {e.get("externalDocumentId")
               for e in d.get("externalDocumentRefs") or []}
    for e in extdocs:
        if not isinstance(e, str) or not DOCREF.match(e):
            add("6.6 externalDocumentRefs: %r is not DocumentRef-[idstring]"
                % (e,))
    declared = {x.get("licenseId")
                for x in d.get("hasExtractedLicensingInfos") or []}

    # Every element's SPDXID: syntax (3.2 of clause 7, 8, 9) and unique.
    kinds = {}
    elements = [("document", d)]
    for key, kind in (("packages", "package"), ("files", "file"),
                      ("snippets", "snippet")):
        elements += [(kind, x) for x in d.get(key) or []]
    for kind, x in elements:
        i = x.get("SPDXID")
        if not isinstance(i, str) or not SPDXID.match(i):
            add("SPDXID: %s %r is not SPDXRef-[A-Za-z0-9.-]+" % (kind, i))
            continue
        if i in kinds:
            add("SPDXID: %s is used twice (a %s and a %s)"
                % (i, kinds[i], kind))
        kinds[i] = kind

    def resolves(ref, none_ok):
        if none_ok and ref in ("NONE", "NOASSERTION"):
            return True
        if isinstance(ref, str) and ":" in ref:
            docref, _, local = ref.partition(":")
            return docref in extdocs and bool(SPDXID.match(local))
        return ref in kinds

    # Clause 11: relationships name elements of this document (or of a
    # declared external one); the document DESCRIBES something.
    describes = list(d.get("documentDescribes") or [])
    for r in d.get("relationships") or []:
        a, t, b = (r.get("spdxElementId"), r.get("relationshipType"),
                   r.get("relatedSpdxElement"))
        if not resolves(a, False):
            add("11 relationships: spdxElementId %r names no element" % (a,))
        if not resolves(b, True):
            add("11 relationships: relatedSpdxElement %r names no element"
                % (b,))
        if a == "SPDXRef-DOCUMENT" and t == "DESCRIBES":
            describes.append(b)
        if b == "SPDXRef-DOCUMENT" and t == "DESCRIBED_BY":
            describes.append(a)
    for x in d.get("documentDescribes") or []:
        if not resolves(x, False):
            add("6.x documentDescribes: %r names no element" % (x,))
    if not describes:
        add("11.1 DESCRIBES: the document describes nothing (no "
            "SPDXRef-DOCUMENT DESCRIBES relationship)")

    def checksums(where, cs, need_sha1):
        algs = [c.get("algorithm") for c in cs or []]
        for c in cs or []:
            alg, val = c.get("algorithm"), c.get("checksumValue")
            n = HEXLEN.get(alg)
            if not isinstance(val, str) or not re.match(r"^[0-9a-f]+$", val):
                add("%s: %s checksum %r is not lowercase hexadecimal"
                    % (where, alg, val))
            elif n and len(val) != n:
                add("%s: %s checksum has %d hex digits, not %d"
                    % (where, alg, len(val), n))
        if need_sha1 and algs.count("SHA1") != 1:
            add("%s: a file needs exactly one SHA1 checksum (8.4), has %d"
                % (where, algs.count("SHA1")))

    files_of = {}
    by_id = {f.get("SPDXID"): f for f in d.get("files") or []}
    for r in d.get("relationships") or []:
        a, t, b = (r.get("spdxElementId"), r.get("relationshipType"),
                   r.get("relatedSpdxElement"))
        if t == "CONTAINS" and kinds.get(b) == "file":
            files_of.setdefault(a, []).append(b)
        if t == "CONTAINED_BY" and kinds.get(a) == "file":
            files_of.setdefault(b, []).append(a)
    for p in d.get("packages") or []:
        w = "7 package %s" % p.get("SPDXID")
        analyzed = p.get("filesAnalyzed", True)
        if not analyzed:
            had = files_of.get(p.get("SPDXID"), []) + list(p.get("hasFiles") or [])
            if had:
                add("%s: 7.8 filesAnalyzed is false, so the package shall "
                    "not contain files, but it contains %d (%s...)"
                    % (w, len(had), had[0]))
            if "packageVerificationCode" in p:
                add("%s: 7.9 packageVerificationCode with filesAnalyzed "
                    "false" % w)
            if p.get("licenseInfoFromFiles"):
                add("%s: 7.14 licenseInfoFromFiles with filesAnalyzed "
                    "false" % w)
        for f in p.get("hasFiles") or []:
            if kinds.get(f) != "file":
                add("%s: hasFiles %r names no file" % (w, f))
        pvc = p.get("packageVerificationCode") or {}
        vc = pvc.get("packageVerificationCodeValue")
        if vc is not None and not re.match(r"^[0-9a-f]{40}$", vc):
            add("%s: 7.9 packageVerificationCodeValue %r is not 40 lowercase "
                "hex digits" % (w, vc))
        elif vc is not None and not pvc.get(
                "packageVerificationCodeExcludedFiles"):
            # 7.9's algorithm: SHA1 over the sorted SHA1s of its files.
            sums = sorted(c.get("checksumValue", "") for f in set(
                files_of.get(p.get("SPDXID"), []) + list(p.get("hasFiles") or []))
                for c in (by_id.get(f) or {}).get("checksums") or []
                if c.get("algorithm") == "SHA1")
            want = hashlib.sha1("".join(sums).encode()).hexdigest()
            if vc != want:
                add("%s: 7.9 packageVerificationCodeValue %s is not %s, the "
                    "code of the files it contains" % (w, vc, want))
        dl = p.get("downloadLocation")
        if dl not in ("NONE", "NOASSERTION") and not url_ok(dl):
            add("%s: 7.7 downloadLocation %r is not NONE, NOASSERTION, a URL "
                "or a VCS location" % (w, dl))
        hp = p.get("homepage")
        if hp is not None and hp not in ("NONE", "NOASSERTION") and \
                not url_ok(hp):
            add("%s: 7.11 homepage %r is not NONE, NOASSERTION or a URL"
                % (w, hp))
        for k in ("supplier", "originator"):
            v = p.get(k)
            if v is not None and v != "NOASSERTION" and \
                    not re.match(r"^(Person|Organization): \S", v):
                add("%s: 7.5/7.6 %s %r is not 'Person: ', 'Organization: ' "
                    "or NOASSERTION" % (w, k, v))
        checksums(w, p.get("checksums"), False)
        for k in ("licenseConcluded", "licenseDeclared"):
            if isinstance(p.get(k), str):
                for m in license_errors(p[k], declared):
                    add("%s: %s: %s" % (w, k, m))
        for ref in p.get("externalRefs") or []:
            cat, typ, loc = (ref.get("referenceCategory"),
                             ref.get("referenceType"),
                             ref.get("referenceLocator"))
            want = REFCAT.get(typ)
            if cat not in ("SECURITY", "PACKAGE-MANAGER", "PACKAGE_MANAGER",
                           "PERSISTENT-ID", "PERSISTENT_ID", "OTHER"):
                add("%s: 7.21 externalRefs: category %r is not one of "
                    "SPDX 2.3's" % (w, cat))
            elif want and cat.replace("_", "-") != want:
                add("%s: 7.21 externalRefs: a %s reference belongs to "
                    "category %s (Annex F), not %s" % (w, typ, want, cat))
            if not isinstance(loc, str) or not loc or re.search(r"\s", loc):
                add("%s: 7.21 externalRefs: locator %r is empty or has "
                    "spaces" % (w, loc))
            elif typ == "purl":
                for m in purl_errors(loc):
                    add("%s: F.3.5 purl %s: %s" % (w, loc, m))
        for a in p.get("annotations") or []:
            if not date_ok(a.get("annotationDate")):
                add("%s: 12.2 annotationDate %r is not YYYY-MM-DDThh:mm:ssZ"
                    % (w, a.get("annotationDate")))
            if not re.match(r"^(Person|Organization|Tool): \S",
                            a.get("annotator") or ""):
                add("%s: 12.1 annotator %r" % (w, a.get("annotator")))
    for f in d.get("files") or []:
        w = "8 file %s" % f.get("SPDXID")
        checksums(w, f.get("checksums"), True)
        if not str(f.get("fileName", "")).startswith("./"):
            add("%s: 8.1 fileName %r is not a relative path starting './'"
                % (w, f.get("fileName")))
        if isinstance(f.get("licenseConcluded"), str):
            for m in license_errors(f["licenseConcluded"], declared):
                add("%s: licenseConcluded: %s" % (w, m))
    return err


# ---- CycloneDX 1.6 ----

def cdx_errors(d):
    err = []
    refs = {}

    def walk(c, where):
        r = c.get("bom-ref")
        if r is not None:
            if r in refs:
                err.append("bom-ref: %r is used twice (%s and %s); 1.6 says "
                           "it shall be unique within the BOM"
                           % (r, refs[r], where))
            refs[r] = where
        if "purl" in c:
            for m in purl_errors(c["purl"]):
                err.append("purl: %s %s: %s" % (where, c["purl"], m))
        for i, s in enumerate(c.get("components") or []):
            walk(s, "%s/components/%d" % (where, i))
    mc = (d.get("metadata") or {}).get("component")
    if mc:
        walk(mc, "metadata/component")
    for i, c in enumerate(d.get("components") or []):
        walk(c, "components/%d" % i)
    for i, s in enumerate(d.get("services") or []):
        walk(s, "services/%d" % i)
    seen = set()
    for dep in d.get("dependencies") or []:
        if dep.get("ref") not in refs:
            err.append("dependencies: ref %r names no component"
                       % dep.get("ref"))
        if dep.get("ref") in seen:
            err.append("dependencies: ref %r is listed twice" % dep.get("ref"))
        seen.add(dep.get("ref"))
        for x in dep.get("dependsOn") or []:
            if x not in refs:
                err.append("dependencies: %r depends on %r, which names no "
                           "component" % (dep.get("ref"), x))
    return err


# ---- mutations: one known fault each ----

def first(items, pred, what):
    for x in items:
        if pred(x):
            return x
    raise Unavailable("mutation does not apply: the document has no %s" % what)


def pkg_with_purl(d):
    return first(d.get("packages") or [],
                 lambda p: any(r.get("referenceType") == "purl"
                               for r in p.get("externalRefs") or []),
                 "package with a purl")


def purl_ref(d):
    return first(pkg_with_purl(d)["externalRefs"],
                 lambda r: r.get("referenceType") == "purl", "purl")


def m_no_spdxid(d):
    del pkg_with_purl(d)["SPDXID"]


def m_purl_category(d):
    purl_ref(d)["referenceCategory"] = "SECURITY"


def m_purl_category_v22(d):
    purl_ref(d)["referenceCategory"] = "PACKAGE_MANAGER"


def m_purl_syntax(d):
    r = purl_ref(d)
    r["referenceLocator"] = r["referenceLocator"].replace("pkg:", "pkg:Deb%", 1)


def m_dup_spdxid(d):
    ps = [p for p in d.get("packages") or [] if "SPDXID" in p]
    if len(ps) < 2:
        raise Unavailable("mutation does not apply: fewer than two packages")
    ps[1]["SPDXID"] = ps[0]["SPDXID"]


def m_dangling(d):
    d["relationships"][-1]["relatedSpdxElement"] = "SPDXRef-Nowhere"


def m_no_describes(d):
    d["relationships"] = [r for r in d["relationships"]
                          if r.get("relationshipType") != "DESCRIBES"]
    d.pop("documentDescribes", None)


def m_namespace(d):
    d["documentNamespace"] = d["documentNamespace"].split("://", 1)[-1]


def m_namespace_hash(d):
    d["documentNamespace"] += "#1"


def m_checksum_alg(d):
    first(d.get("files") or [], lambda f: True, "file")["checksums"][0][
        "algorithm"] = "SHA-1"


def m_checksum_len(d):
    c = first(d.get("files") or [], lambda f: True, "file")["checksums"]
    first(c, lambda x: x["algorithm"] == "SHA1", "SHA1")["checksumValue"] += "0"


def m_no_sha1(d):
    f = first(d.get("files") or [], lambda f: True, "file")
    f["checksums"] = [c for c in f["checksums"] if c["algorithm"] != "SHA1"]


def m_created(d):
    d["creationInfo"]["created"] = d["creationInfo"]["created"].replace("T", " ")


def m_files_in_unanalyzed(d):
    f = first(d.get("files") or [], lambda f: True, "file")
    p = pkg_with_purl(d)
    p["filesAnalyzed"] = False
    d["relationships"].append({"spdxElementId": p["SPDXID"],
                               "relationshipType": "CONTAINS",
                               "relatedSpdxElement": f["SPDXID"]})


def m_license_ref(d):
    pkg_with_purl(d)["licenseDeclared"] = "MIT OR LicenseRef-nowhere"


def m_extra_field(d):
    pkg_with_purl(d)["licence"] = "MIT"


def cdx_pkg(d):
    return first(d.get("components") or [], lambda c: "purl" in c,
                 "component with a purl")


def m_cdx_extra_field(d):
    d["bogus"] = 1


def m_cdx_type(d):
    cdx_pkg(d)["type"] = "package"


def m_cdx_serial(d):
    d["serialNumber"] = d["serialNumber"].replace("urn:uuid:", "uuid:")


def m_cdx_hash(d):
    c = first(d.get("components") or [], lambda c: c.get("hashes"), "hashes")
    c["hashes"][0]["content"] = c["hashes"][0]["content"][:-1]


def m_cdx_timestamp(d):
    d["metadata"]["timestamp"] = d["metadata"]["timestamp"].replace("T", "X")


def m_cdx_iri(d):
    cdx_pkg(d)["externalReferences"] = [{"type": "website",
                                         "url": "http://exa mple/<x>"}]


def m_cdx_dup_ref(d):
    cs = [c for c in d.get("components") or [] if "bom-ref" in c]
    if len(cs) < 2:
        raise Unavailable("mutation does not apply: fewer than two components")
    cs[1]["bom-ref"] = cs[0]["bom-ref"]


def m_cdx_dangling(d):
    d["dependencies"][0]["dependsOn"].append("pkg:deb/nowhere/x@1")


def m_cdx_purl(d):
    c = cdx_pkg(d)
    c["purl"] = c["purl"].replace("?", "?Arch=x&", 1) if "?" in c["purl"] \
        else c["purl"] + "?Arch=x"


def m_homepage(d):
    pkg_with_purl(d)["homepage"] = "https://example.org/%zz"


def m_verification_code(d):
    p = first(d.get("packages") or [], lambda p: p.get("filesAnalyzed", True),
              "package with filesAnalyzed true")
    p["packageVerificationCode"] = {"packageVerificationCodeValue": "0" * 40}


MUTATIONS = {
    "spdx": {
        "no-spdxid": m_no_spdxid, "purl-category": m_purl_category,
        "purl-category-2.2": m_purl_category_v22,
        "purl-syntax": m_purl_syntax, "dup-spdxid": m_dup_spdxid,
        "dangling-relationship": m_dangling, "no-describes": m_no_describes,
        "namespace-relative": m_namespace, "namespace-hash": m_namespace_hash,
        "checksum-algorithm": m_checksum_alg,
        "checksum-length": m_checksum_len, "file-without-sha1": m_no_sha1,
        "created-format": m_created,
        "files-in-unanalyzed": m_files_in_unanalyzed,
        "undeclared-licenseref": m_license_ref, "extra-field": m_extra_field,
        "wrong-verification-code": m_verification_code,
        "homepage": m_homepage,
    },
    "cyclonedx": {
        "extra-field": m_cdx_extra_field, "component-type": m_cdx_type,
        "serial-number": m_cdx_serial, "hash-length": m_cdx_hash,
        "timestamp-format": m_cdx_timestamp, "url-format": m_cdx_iri,
        "dup-bom-ref": m_cdx_dup_ref,
        "dangling-dependency": m_cdx_dangling, "purl-qualifier": m_cdx_purl,
    },
}


def main(argv):
    mutate = None
    if argv[:1] == ["--mutate"] and len(argv) > 1:
        mutate, argv = argv[1], argv[2:]
    if argv == ["probe"]:
        for kind in FILES:
            validator(kind)
        import jsonschema
        print("jsonschema %s: schemas and formats checkable"
              % getattr(jsonschema, "__version__", "?"))
        return 0
    if len(argv) == 2 and argv[0] == "mutations" and argv[1] in FILES:
        print("\n".join(sorted(MUTATIONS[argv[1]])))
        return 0
    if len(argv) < 2 or argv[0] not in FILES or \
            (mutate and mutate not in MUTATIONS[argv[0]]):
        sys.stderr.write(__doc__)
        return 2
    kind = argv[0]
    v = validator(kind)
    rc = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if mutate:
            MUTATIONS[kind][mutate](doc)
        errs = schema_errors(v, doc)
        errs += spdx_errors(doc) if kind == "spdx" else cdx_errors(doc)
        for e in errs[:MAX_REPORTED]:
            print("%s: %s" % (path, e))
        if len(errs) > MAX_REPORTED:
            print("%s: ... and %d more" % (path, len(errs) - MAX_REPORTED))
        if errs:
            rc = 1
        else:
            print("%s: valid %s" % (path, "SPDX 2.3" if kind == "spdx"
                                    else "CycloneDX 1.6"))
    return rc


if __name__ == "__main__":
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sys.exit(main(sys.argv[1:]))
    except Unavailable as e:
        print("sbomvalid: cannot validate: %s" % e)
        sys.exit(2)
    except Exception:
        # A crash is neither "valid" nor "invalid".
        import traceback
        traceback.print_exc()
        sys.exit(3)
