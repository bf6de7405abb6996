#!/bin/sh
# stele sbom of the Debian base the tests build (scripts/mkdebian.sh,
# debootstrap, cached in /var/cache/stele): the package list equals
# dpkg-query's on the same tree, name for name and version for version, in
# SPDX and CycloneDX; the documents are byte-identical when made again.
# An image built FROM it with a COPY names, for the files the COPY added,
# the recipe line and the source commit, and a COPY over a file a package
# owns is reported as modified.  Every document is checked by an
# independent validator (tests/e2e/sbomvalid.py: the published SPDX 2.3 and
# CycloneDX 1.6 JSON schemas through Debian's python3-jsonschema, and the
# SPDX 2.3 and purl rules a schema cannot state), which rejects broken
# copies of them; CycloneDX output also by the CycloneDX project's own
# validator (@cyclonedx/cyclonedx-library from the npm registry, cached in
# /var/cache/stele/npm-validate) where npm can install it; CI (Debian's
# mirror only) skips that extra, saying why.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/sbomvalid-lib.sh"

if ! command -v debootstrap >/dev/null 2>&1 && [ ! -f /var/cache/stele/bookworm-gcc.complete ]; then
	test_skip 'sbom of the Debian base' 'debootstrap is not installed and no cached Debian base'
	exit 0
fi
if ! root=$(sh "$TOP/scripts/mkdebian.sh" 2>"$TMP/mkdebian.err"); then
	test_skip 'sbom of the Debian base' "debootstrap cannot run here: $(tail -n1 "$TMP/mkdebian.err")"
	exit 0
fi
H="$TOP/tests/e2e/sbomimg.py"

test_expect_success 'import the Debian base' '
	SOURCE_DATE_EPOCH=0 stele import -q -t deb:1 "$root" >base.digest
'
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' | sort >want.txt
for f in spdx cyclonedx; do
	test_expect_success "$f: the package list is dpkg-query's, name for name, version for version" "
		stele sbom -f $f -o base.$f.json deb:1 &&
		python3 \"\$H\" summary base.$f.json | sed -n 's/^pkg \\([^ ]*\\) \\([^ ]*\\) .*/\\1 \\2/p' | sort >got.$f &&
		wc -l <want.txt && diff -u want.txt got.$f && [ \$(wc -l <got.$f) -gt 100 ]
	"
done
test_expect_success 'purls name the distro from os-release and the source package' '
	grep -q "pkg:deb/debian/libgcc-s1@12.2.0-14[^?]*?arch=amd64&distro=debian-12&upstream=gcc-12" base.spdx.json &&
	grep -q "\"purl\":\"pkg:deb/debian/bash@5.2.15-2%2Bb[0-9]*?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2\"" base.cyclonedx.json
'
test_expect_success 'nothing in the untouched base disagrees with md5sums; unowned files have digests' '
	python3 "$H" summary base.spdx.json >sum.txt && ! grep -q "^modified" sum.txt &&
	grep -q "^unowned /etc/hostname [0-9a-f]\{64\} " sum.txt &&
	! grep -q "^unowned /usr/bin/bash " sum.txt && ! grep -q "^unowned /usr/bin/ls " sum.txt
'
test_expect_success 'the same image gives byte-identical SBOMs' '
	stele sbom deb:1 >again.spdx && cmp again.spdx base.spdx.json &&
	stele sbom -f cyclonedx deb:1 >again.cdx && cmp again.cdx base.cyclonedx.json &&
	grep -q "\"documentNamespace\":\"https://stele.dev/sbom/spdx/$(cut -c8- base.digest)\"" base.spdx.json
'
# An image built from a git commit on the base: a COPY adds a file and
# replaces one that a package owns (/bin/run-parts in its list, /bin a symlink to usr/bin).
mkdir app && git -C app init -q -b main && mkdir app/bin &&
printf 'hello\n' >app/bin/hello && printf 'not the real run-parts\n' >app/run-parts &&
printf 'FROM deb:1\nCOPY bin/hello /usr/local/bin/hello\nCOPY run-parts /usr/bin/run-parts\n' >app/Dockerfile &&
git_commit app app
rev=$(git -C app rev-parse HEAD)
test_expect_success 'an image built on the base: each component names its layer, step and commit' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >app.digest &&
	stele sbom -f cyclonedx -o app.cdx app:1 &&
	python3 - "$rev" <<-PY
	import json, sys
	d = json.load(open("app.cdx"))
	c = {x["name"]: {p["name"]: p["value"] for p in x.get("properties", [])} for x in d["components"]}
	h = c["/usr/local/bin/hello"]
	assert h["stele:finding"] == "unowned", h
	assert h["stele:step"] == "Dockerfile:2 COPY bin/hello /usr/local/bin/hello", h
	assert h["stele:source:commit"] == sys.argv[1], h
	w = [x for x in d["components"] if x["name"] == "/usr/bin/run-parts"][0]
	p = {q["name"]: q["value"] for q in w["properties"]}
	assert p["stele:finding"] == "modified" and p["stele:package"] == "debianutils", p
	assert p["stele:step"] == "Dockerfile:3 COPY run-parts /usr/bin/run-parts", p
	assert p["stele:expected"].startswith("md5:"), p
	b = c["bash"]
	assert b["stele:layer:base"] == "true" and "stele:source:commit" not in b, b
	PY
'
test_expect_success 'SPDX: the required fields, unique SPDXIDs, every relationship resolves' '
	stele sbom -o app.spdx app:1 2>/dev/null &&
	python3 - <<-PY
	import json, re
	d = json.load(open("app.spdx"))
	for k in ("spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"):
	    assert k in d, k
	assert d["spdxVersion"] == "SPDX-2.3" and d["dataLicense"] == "CC0-1.0"
	assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", d["creationInfo"]["created"])
	ids = [p["SPDXID"] for p in d["packages"]] + [f["SPDXID"] for f in d["files"]]
	assert len(ids) == len(set(ids)) and all(re.match(r"^SPDXRef-[A-Za-z0-9.-]+$", i) for i in ids)
	ids = set(ids) | {"SPDXRef-DOCUMENT"}
	for r in d["relationships"]:
	    assert r["spdxElementId"] in ids and r["relatedSpdxElement"] in ids, r
	for p in d["packages"]:
	    for k in ("name", "downloadLocation", "filesAnalyzed"):
	        assert k in p, (k, p)
	for f in d["files"]:
	    assert f["fileName"].startswith("./") and any(c["algorithm"] == "SHA1" for c in f["checksums"])
	PY
'
if sv_ready; then
	test_expect_success 'SPDX 2.3: the schema and the SPDX rules accept the base and the app documents' '
		sbom_valid spdx base.spdx.json app.spdx
	'
	test_expect_success 'CycloneDX 1.6: the schema and the purl and reference rules accept them' '
		sbom_valid cyclonedx base.cyclonedx.json app.cdx
	'
	test_expect_success 'and reject broken copies: no SPDXID, a purl in the wrong category, files in an unanalyzed package, a duplicate bom-ref' '
		sbom_mutants spdx app.spdx no-spdxid purl-category files-in-unanalyzed &&
		sbom_mutants cyclonedx app.cdx dup-bom-ref
	'
else
	test_skip 'SPDX 2.3 and CycloneDX 1.6 validator' "$SV_WHY"
fi
# The CycloneDX project's validator, from the npm registry (not in CI).
NPMDIR=${STELE_NPM_CACHE:-/var/cache/stele/npm-validate}
if [ ! -d "$NPMDIR/node_modules/@cyclonedx/cyclonedx-library" ] && command -v npm >/dev/null 2>&1; then
	if mkdir -p "$NPMDIR" 2>/dev/null; then
		(cd "$NPMDIR" && timeout 180 npm install --no-audit --no-fund --silent --fetch-retries=0 --fetch-timeout=30000 \
			@cyclonedx/cyclonedx-library ajv ajv-formats ajv-formats-draft2019 >"$TMP/npm.log" 2>&1) || true
	fi
fi
if ! command -v node >/dev/null 2>&1; then
	test_skip 'CycloneDX validator' 'node is not installed'
elif [ ! -d "$NPMDIR/node_modules/@cyclonedx/cyclonedx-library" ]; then
	test_skip 'CycloneDX validator' "npm could not install @cyclonedx/cyclonedx-library: $(tail -n1 "$TMP/npm.log" 2>/dev/null || echo 'npm is not installed')"
else
	cat >validate.js <<-'JS'
	const { Validation, Spec } = require('@cyclonedx/cyclonedx-library');
	const v = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
	v.validate(require('fs').readFileSync(process.argv[2], 'utf8')).then(err => {
	  if (err === null) { console.log('valid: ' + process.argv[2]); process.exit(0); }
	  console.log(JSON.stringify(err).slice(0, 2000)); process.exit(1);
	}, e => { console.log('validator failed: ' + e); process.exit(2); });
	JS
	test_expect_success 'the CycloneDX validator (JSON schema 1.6, strict) accepts the documents' '
		NODE_PATH="$NPMDIR/node_modules" node validate.js base.cyclonedx.json &&
		NODE_PATH="$NPMDIR/node_modules" node validate.js app.cdx
	'
	test_expect_success 'and rejects a broken one (the validator is live)' '
		sed "s/\"specVersion\":\"1.6\"/\"specVersion\":\"1.6\",\"bogus\":1/" app.cdx >bad.cdx &&
		! NODE_PATH="$NPMDIR/node_modules" node validate.js bad.cdx
	'
fi
