#!/bin/sh
# The image manifest loader is strict: schemaVersion is the integer 2 and
# the config and every layer are descriptors (mediaType a string, digest a
# sha256 digest, size a non-negative integer).  A manifest that is not is
# refused by every command that opens the image, so no caller sees it (issue
# 9, finding 3: `"layers":[{}]` with a provenance referrer crashed inspect;
# `"schemaVersion": -0.0` was accepted).
. "$(dirname "$0")/lib.sh"

mkdir ctx && echo hi >ctx/a.txt && printf 'FROM scratch\nCOPY a.txt /a.txt\n' >ctx/Dockerfile
stele build -q -o "oci:$TMP/lay:1" ctx >digest
STELE_PASSWORD=pw stele keygen --output-prefix k >/dev/null 2>&1

# forge TAG PYTHON: a copy of image 1's manifest `m`, changed by the
# statement (or given verbatim when it sets `raw`), tagged TAG, with a copy
# of image 1's provenance referrer made to point at it.
forge() {
	/usr/bin/python3 - "$TMP/lay" "$1" "$2" <<-'PY'
	import hashlib, json, os, sys
	lay, tag, expr = sys.argv[1:]
	REF = "org.opencontainers.image.ref.name"
	def blob(d): return os.path.join(lay, "blobs", "sha256", d[7:])
	def put(data):
	    d = "sha256:" + hashlib.sha256(data).hexdigest()
	    open(blob(d), "wb").write(data)
	    return d, len(data)
	idx = json.load(open(os.path.join(lay, "index.json")))
	good = [x for x in idx["manifests"] if x.get("annotations", {}).get(REF) == "1"][0]
	prov = [x for x in idx["manifests"] if x.get("artifactType") == "application/vnd.in-toto+json"][0]
	m = json.load(open(blob(good["digest"])))
	v = {"m": m, "json": json}
	exec(expr, v)
	data = (v.get("raw") or json.dumps(m, sort_keys=True, separators=(",", ":"))).encode()
	d, n = put(data)
	r = json.load(open(blob(prov["digest"])))
	r["subject"] = {"mediaType": good["mediaType"], "digest": d, "size": n}
	rd, rn = put(json.dumps(r, sort_keys=True, separators=(",", ":")).encode())
	idx["manifests"].append({"mediaType": good["mediaType"], "digest": d, "size": n, "annotations": {REF: tag}})
	idx["manifests"].append(dict(prov, digest=rd, size=rn))
	json.dump(idx, open(os.path.join(lay, "index.json"), "w"), sort_keys=True, separators=(",", ":"))
	PY
}

# refused TAG MESSAGE: inspect (text and JSON) and copy all refuse the image
# with exit 3 and MESSAGE, and nothing crashes.
refused() {
	for a in "" --json; do
		expect_code 3 stele inspect $a "oci:$TMP/lay:$1" >out 2>err || { cat err; return 1; }
		cat err && grep -qF -- "$2" err || return 1
	done
	expect_code 3 stele copy "oci:$TMP/lay:$1" "oci:$TMP/copy-$1:1" 2>err && cat err &&
	grep -qF -- "$2" err && [ ! -e "copy-$1" ]
}

test_expect_success 'the image as built is accepted' '
	stele inspect "oci:$TMP/lay:1" >out && grep -q "^Digest: *$(cat digest)" out &&
	grep -q "step: " out
'
test_expect_success 'a layer that is an empty object, with a provenance referrer: refused, no crash' '
	forge empty "m.update(layers=[{}])" &&
	refused empty "layer 0 is not a descriptor"
'
test_expect_success 'schemaVersion -0.0 is not the integer 2' '
	forge negzero "raw = json.dumps(m, sort_keys=True, separators=(\",\", \":\")).replace(\"\\\"schemaVersion\\\":2\", \"\\\"schemaVersion\\\":-0.0\")" &&
	grep -q "\"schemaVersion\":-0.0" "$(blob lay "$(json_get lay/index.json .manifests[-2].digest)")" &&
	refused negzero "schemaVersion must be the integer 2"
'
test_expect_success 'schemaVersion 2.0, "2", 1 and a missing one are refused' '
	forge real "raw = json.dumps(m, sort_keys=True, separators=(\",\", \":\")).replace(\"\\\"schemaVersion\\\":2\", \"\\\"schemaVersion\\\":2.0\")" &&
	forge str "m.update(schemaVersion=\"2\")" && forge one "m.update(schemaVersion=1)" &&
	forge none "m.pop(\"schemaVersion\")" &&
	for t in real str one none; do refused $t "schemaVersion must be the integer 2" || exit 1; done
'
test_expect_success 'a layer without mediaType, digest or size, or with wrong types: refused' '
	forge nomt "m[\"layers\"][0].pop(\"mediaType\")" &&
	forge nodig "m[\"layers\"][0].pop(\"digest\")" &&
	forge nosize "m[\"layers\"][0].pop(\"size\")" &&
	forge negsize "m[\"layers\"][0].update(size=-1)" &&
	forge strsize "m[\"layers\"][0].update(size=\"12\")" &&
	forge realsize "m[\"layers\"][0].update(size=1.5)" &&
	forge numdig "m[\"layers\"][0].update(digest=7)" &&
	forge baddig "m[\"layers\"][0].update(digest=\"sha256:abc\")" &&
	forge nummt "m[\"layers\"][0].update(mediaType=[])" &&
	forge notobj "m.update(layers=[\"x\"])" &&
	for t in nomt nodig nosize negsize strsize realsize numdig baddig nummt notobj; do
		refused $t "layer 0 is not a descriptor" || exit 1
	done
'
test_expect_success 'the config must be a descriptor too' '
	forge cfgsize "m[\"config\"].pop(\"size\")" &&
	forge cfgmt "m[\"config\"].update(mediaType=1)" &&
	refused cfgsize "config is not a descriptor" && refused cfgmt "config is not a descriptor"
'
test_expect_success 'verify refuses such an image with a clear error, not a crash' '
	expect_code 3 stele verify --key k.pub "oci:$TMP/lay:empty" 2>err && cat err &&
	grep -q "layer 0 is not a descriptor" err
'
