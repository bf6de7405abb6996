#!/bin/sh
# The provenance statement stored beside the image records, for each
# layer, its recipe line, instruction and the source commit and tree ids.
. "$(dirname "$0")/lib.sh"

make_app_repo app >/dev/null
make_busybox_base "oci:$TMP/base:bb"
mkdir lib && git -C lib init -q -b main && echo "lib v2" >lib/lib.txt &&
git_commit lib lib && git -C lib tag v2
printf 'FROM oci:%s/base:bb AS base\n\nFROM base\nCOPY src/ /app/\nADD git+file://%s/lib#v2 /lib/\nCOPY docs/readme.md /doc/\n' "$TMP" "$TMP" >app/Dockerfile
git_commit app recipe
commit=$(git -C app rev-parse HEAD)
tree=$(git -C app rev-parse HEAD^{tree})
libcommit=$(git -C lib rev-parse v2)
libtree=$(git -C lib rev-parse v2^{tree})

test_expect_success 'build from the repository at a tag' '
	git -C app tag v9 &&
	stele build -q -o oci:$TMP/img:1 "git+file://$TMP/app#v9" >digest
'
test_expect_success 'the image index entry is the image alone; provenance is a referrer' '
	stele inspect --json oci:img:1 >i.json &&
	python3 - "$(cat digest)" <<-PY
	import json,sys
	idx=json.load(open("img/index.json"))
	tagged=[m for m in idx["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")=="1"]
	assert len(tagged)==1 and tagged[0]["digest"]==sys.argv[1]
	refs=[m for m in idx["manifests"] if m.get("artifactType")=="application/vnd.in-toto+json"]
	assert len(refs)==1, refs
	man=json.load(open("img/blobs/sha256/"+refs[0]["digest"][7:]))
	assert man["subject"]["digest"]==sys.argv[1], man
	assert man["layers"][0]["annotations"]["in-toto.io/predicate-type"]=="https://slsa.dev/provenance/v1"
	PY
'
test_expect_success 'the statement names the image and every layer with its step and sources' '
	python3 - "$(cat digest)" "$commit" "$tree" "$libcommit" "$libtree" <<-PY
	import json,sys
	digest,commit,tree,lc,lt=sys.argv[1:]
	idx=json.load(open("img/index.json"))
	ref=[m for m in idx["manifests"] if m.get("artifactType")][0]
	man=json.load(open("img/blobs/sha256/"+ref["digest"][7:]))
	st=json.load(open("img/blobs/sha256/"+man["layers"][0]["digest"][7:]))
	assert st["_type"]=="https://in-toto.io/Statement/v1"
	assert st["subject"][0]["digest"]["sha256"]==digest[7:]
	p=st["predicate"]; bd=p["buildDefinition"]
	assert bd["buildType"]=="https://stele.dev/buildtypes/recipe/v1"
	assert bd["externalParameters"]["source"]["ref"]=="v9"
	assert bd["externalParameters"]["recipe"]["path"]=="Dockerfile"
	deps={d["uri"]:d["digest"] for d in bd["resolvedDependencies"]}
	app=[v for k,v in deps.items() if k.endswith("/app")][0]
	assert app=={"gitCommit":commit,"gitTree":tree}, app
	assert [v for k,v in deps.items() if k.endswith("/lib")][0]=={"gitCommit":lc,"gitTree":lt}
	img=json.load(open("img/blobs/sha256/"+digest[7:]))
	layers=p["runDetails"]["byproducts"]
	assert [l["digest"]["sha256"] for l in layers]==[l["digest"][7:] for l in img["layers"]]
	cfg=json.load(open("img/blobs/sha256/"+img["config"]["digest"][7:]))
	assert [l["annotations"]["diffID"] for l in layers]==cfg["rootfs"]["diff_ids"]
	base,copy1,add,copy2=[l["annotations"] for l in layers]
	assert base["base"] and base["line"]==1 and base["inputs"][0]["image"].startswith("oci:")
	assert copy1["line"]==4 and copy1["instruction"]=="COPY src/ /app/" and copy1["stage"]=="1"
	assert base["stage"]=="base"
	g=[i for i in copy1["inputs"] if i["kind"]=="git"][0]
	assert g["digest"]=={"gitCommit":commit,"gitTree":tree}
	files={i["path"]:i["digest"]["sha256"] for i in copy1["inputs"] if i["kind"]=="file"}
	import hashlib
	assert files["src/one.txt"]==hashlib.sha256(b"one\n").hexdigest(), files
	assert add["line"]==5 and add["inputs"][0]["digest"]=={"gitCommit":lc,"gitTree":lt}
	assert copy2["line"]==6 and copy2["instruction"]=="COPY docs/readme.md /doc/"
	PY
'
test_expect_success 'inspect shows each layer with its step and sources' '
	stele inspect oci:img:1 >out && cat out &&
	grep -q "step: Dockerfile:4 COPY src/ /app/" out &&
	grep -q "commit $commit tree $tree" out &&
	grep -q "step: Dockerfile:5 ADD" out &&
	grep -q "Referrers:" out && grep -q "slsa.dev/provenance/v1" out
'
test_expect_success 'the image annotations carry revision and created' '
	python3 - "$(cat digest)" "$commit" <<-PY
	import json,sys
	m=json.load(open("img/blobs/sha256/"+sys.argv[1][7:]))
	a=m["annotations"]
	assert a["org.opencontainers.image.revision"]==sys.argv[2], a
	assert a["org.opencontainers.image.created"]=="2023-11-14T22:13:20Z", a
	assert a["org.opencontainers.image.base.digest"].startswith("sha256:"), a
	PY
'
test_expect_success '--lock records the resolved base and commits; --locked uses only them' '
	stele build --lock app.lock -o oci:$TMP/lk:1 "git+file://$TMP/app#v9" >d1 2>err &&
	grep -q "is named by a tag" err &&
	python3 -c "import json;l=json.load(open(\"app.lock\"));assert l[\"git\"][\"git+file://$TMP/app#v9\"]==\"$commit\", l;assert l[\"git\"][\"git+file://$TMP/lib#v2\"]==\"$libcommit\", l;assert list(l[\"images\"].values())[0].startswith(\"sha256:\"), l" &&
	echo "lib v3" >lib/lib.txt && git_commit lib v3 && git -C lib tag -f v2 >/dev/null &&
	d2=$(stele build -q --lock app.lock --locked -o oci:$TMP/lk2:1 "git+file://$TMP/app#v9") &&
	[ "$(cat d1)" = "$d2" ] &&
	d3=$(stele build -q -o oci:$TMP/lk3:1 "git+file://$TMP/app#v9") && [ "$d3" != "$d2" ]
'
test_expect_success '--locked refuses what the lock does not hold' '
	printf "{\"images\":{},\"git\":{}}" >empty.lock &&
	expect_code 3 stele build -q --lock empty.lock --locked -o oci:$TMP/lk4:1 "git+file://$TMP/app#v9" 2>err &&
	grep -q "not in the lock file" err && [ ! -e lk4 ]
'
test_expect_success 'a build from the cache records the same dependencies and layer records' '
	export STELE_CACHE="$TMP/pcache" &&
	stele build -q -o oci:$TMP/pc1:1 "git+file://$TMP/app#v9" >/dev/null &&
	stele build -o oci:$TMP/pc2:1 "git+file://$TMP/app#v9" >/dev/null 2>err &&
	grep -q "from the cache, 0 built" err &&
	python3 - <<-PY
	import json
	def st(d):
	    i = json.load(open(d + "/index.json"))
	    r = [m for m in i["manifests"] if m.get("artifactType")][0]
	    m = json.load(open(d + "/blobs/sha256/" + r["digest"][7:]))
	    s = json.load(open(d + "/blobs/sha256/" + m["layers"][0]["digest"][7:]))["predicate"]
	    return s["buildDefinition"], s["runDetails"]["byproducts"]
	a, b = st("pc1"), st("pc2")
	assert a == b, (a, b)
	PY
'
