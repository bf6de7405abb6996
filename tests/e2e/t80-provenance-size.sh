#!/bin/sh
# The provenance records every file a COPY read: up to 512 inline in the
# layer record, past that in a file list blob that the record names by
# digest (docs/provenance.md), so that a statement stays small whatever a
# COPY holds.  The list goes wherever the provenance goes: the build
# cache, gc, push and pull, the registry build cache; a damaged or missing
# list is refused by name.  (A COPY of 14,000 files with long names was
# refused before: its records did not fit the 12 MiB of a statement.)
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache" STELE_PASSWORD=pw
# tree DIR N [NAMELEN]: N empty files, with 200-byte names in 200-byte
# directories by default (about 1 KiB of records each).
tree() {
	python3 - "$1" "$2" "${3:-194}" <<-'PY'
	import os, sys
	root, n, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	for i in range(n):
	    d = os.path.join(root, "d%03d" % (i // 250) + "x" * w)
	    os.makedirs(d, exist_ok=True)
	    open(os.path.join(d, "f%05d" % i + "y" * w), "w").close()
	PY
}
# check_list STORE IMAGE N: the referrer's layers are the statement, then
# the one file list, which the COPY's record names; N records, one a line.
check_list() {
	STELE_STORE=$1 stele inspect --json "$2" >i.json &&
	python3 - i.json "$1" "$3" <<-'PY'
	import hashlib, json, os, sys
	i = json.load(open(sys.argv[1])); store = sys.argv[2]; n = int(sys.argv[3])
	blob = lambda d: open(os.path.join(store, "blobs/sha256", d.split(":")[-1]), "rb").read()
	p = [r for r in i["referrers"] if r.get("artifactType") == "application/vnd.in-toto+json"]
	assert len(p) == 1, p
	m = json.loads(blob(p[0]["digest"]))
	st, fl = m["layers"]
	assert st["size"] < 64 << 10, st["size"]
	assert fl["mediaType"] == "application/vnd.stele.filelist.v1+jsonl", fl
	rec = [x for l in i["layers"] for x in l.get("provenance", {}).get("inputs", []) if x["kind"] in ("file", "files")]
	assert rec == [{"kind": "files", "mediaType": fl["mediaType"], "count": n, "size": fl["size"],
	                "digest": {"sha256": fl["digest"][7:]}}], rec
	data = blob(fl["digest"])
	assert hashlib.sha256(data).hexdigest() == fl["digest"][7:]
	lines = data.decode().splitlines()
	assert len(lines) == n, len(lines)
	empty = hashlib.sha256(b"").hexdigest()
	for line in lines:
	    r = json.loads(line)
	    assert sorted(r) == ["dest", "digest", "kind", "path"] and r["kind"] == "file", r
	    assert r["digest"] == {"sha256": empty} and r["dest"].startswith("data/"), r
	    assert line == json.dumps(r, sort_keys=True, separators=(",", ":")), line
	PY
}

test_expect_success 'a COPY of 14,000 files with long names records them in a file list; the statement stays small' '
	mkdir big && tree big/t 14000 && printf "FROM scratch\nCOPY t/ /data/\n" >big/Dockerfile &&
	stele build -q -t big:1 big >digest &&
	check_list "$STELE_STORE" big:1 14000 &&
	stele inspect big:1 >text && [ "$(grep -c "^      file: t/d" text)" = 14000 ]
'
test_expect_success 'up to 512 files the records stand inline; 513 make a list' '
	mkdir s512 s513 && tree s512/t 512 4 && tree s513/t 513 4 &&
	printf "FROM scratch\nCOPY t/ /data/\n" >s512/Dockerfile && cp s512/Dockerfile s513/ &&
	stele build -q -t s:512 s512 >/dev/null && stele build -q -t s:513 s513 >/dev/null &&
	stele inspect --json s:512 >a.json && stele inspect --json s:513 >b.json &&
	python3 - a.json b.json <<-PY
	import json, sys
	kinds = lambda f: [x["kind"] for l in json.load(open(f))["layers"] for x in l["provenance"]["inputs"]]
	assert kinds(sys.argv[1]) == ["file"] * 512, kinds(sys.argv[1])[:3]
	assert kinds(sys.argv[2]) == ["files"], kinds(sys.argv[2])[:3]
	PY
'
test_expect_success 'a damaged or missing file list is refused by inspect, naming it' '
	cp -r "$STELE_STORE" st2 &&
	fl=$(python3 -c "import json;print([x for l in json.load(open(\"i.json\"))[\"layers\"] for x in l[\"provenance\"][\"inputs\"]][0][\"digest\"][\"sha256\"])") &&
	printf x | dd of="st2/blobs/sha256/$fl" bs=1 seek=10 conv=notrunc 2>/dev/null &&
	expect_code 1 env STELE_STORE="$TMP/st2" "$STELE" inspect big:1 >/dev/null 2>err && cat err &&
	grep -q "file list sha256:$fl does not match its digest" err &&
	rm "st2/blobs/sha256/$fl" &&
	expect_code 3 env STELE_STORE="$TMP/st2" "$STELE" inspect big:1 >/dev/null 2>err && cat err &&
	grep -q "blob sha256:$fl is missing" err
'
test_expect_success 'a fresh store gets the file list with the layer from the build cache; gc keeps it' '
	STELE_STORE=$TMP/st3 stele build --json -t big:1 big >b.json 2>/dev/null &&
	[ "$(json_get b.json .cache.hits)" = 1 ] && [ "$(json_get b.json .digest)" = "$(cat digest)" ] &&
	check_list "$TMP/st3" big:1 14000 &&
	STELE_STORE=$TMP/st3 stele gc >/dev/null && check_list "$TMP/st3" big:1 14000 &&
	rm -rf "$TMP/st3" && stele gc >/dev/null &&
	STELE_STORE=$TMP/st3 stele build --json -t big:1 big >b.json 2>/dev/null &&
	[ "$(json_get b.json .cache.hits)" = 1 ] && check_list "$TMP/st3" big:1 14000
'
test_expect_success 'a cache entry whose file list is gone is a miss, and the step is built again' '
	for b in cache/layers/blobs/sha256/*; do
		head -c 20 "$b" | grep -q "{\"dest\"" && rm "$b"
	done
	STELE_STORE=$TMP/st4 stele build --json -t big:1 big >b.json 2>/dev/null &&
	[ "$(json_get b.json .cache.hits)" = 0 ] && [ "$(json_get b.json .digest)" = "$(cat digest)" ] &&
	check_list "$TMP/st4" big:1 14000
'
# digests_match JSON DIR: each file record of the image's provenance (inline
# or in a file list) names the SHA-256 of DIR/path's content.
digests_match() {
	python3 - "$1" "$2" "$STELE_STORE" <<-'PY'
	import hashlib, json, os, sys
	i = json.load(open(sys.argv[1])); ctx = sys.argv[2]; store = sys.argv[3]
	recs = []
	for l in i["layers"]:
	    for x in l.get("provenance", {}).get("inputs", []):
	        if x["kind"] == "file":
	            recs.append(x)
	        elif x["kind"] == "files":
	            data = open(os.path.join(store, "blobs/sha256", x["digest"]["sha256"]), "rb").read()
	            recs += [json.loads(line) for line in data.decode().splitlines()]
	assert len(recs) >= 4, recs
	for r in recs:
	    want = hashlib.sha256(open(os.path.join(ctx, r["path"]), "rb").read()).hexdigest()
	    assert r["digest"] == {"sha256": want}, (r, want)
	print(len(recs))
	PY
}
test_expect_success 'each file record names its content: text, random, empty and hardlinked files, inline and listed' '
	mkdir dg && mkdir dg/t && printf "hello\n" >dg/t/a && head -c 300000 /dev/urandom >dg/t/b &&
	ln dg/t/b dg/t/c && : >dg/t/empty && printf "FROM scratch\nCOPY t/ /data/\n" >dg/Dockerfile &&
	stele build -q -t dg:1 dg >/dev/null && stele inspect --json dg:1 >dg.json &&
	[ "$(digests_match dg.json dg)" = 4 ] &&
	tree dg/t/many 600 8 && stele build -q -t dg:2 dg >/dev/null && stele inspect --json dg:2 >dg2.json &&
	[ "$(digests_match dg2.json dg)" = 604 ]
'
if ! start_registry; then
	test_skip 'push and pull carry the file list' 'Debian docker-registry did not start on 127.0.0.1'
	test_skip 'the registry build cache carries the file list' 'Debian docker-registry did not start on 127.0.0.1'
	test_done
fi
test_expect_success 'push and pull carry the file list' '
	stele push -q --insecure-skip-verify --tls-verify=false big:1 "docker://$REG/big:1" 2>/dev/null &&
	STELE_STORE=$TMP/st5 stele pull -q --tls-verify=false "docker://$REG/big:1" big:1 >/dev/null &&
	check_list "$TMP/st5" big:1 14000
'
test_expect_success 'the registry build cache carries the file list' '
	stele keygen --output-prefix ci >/dev/null 2>&1 &&
	STELE_CACHE=$TMP/cacheA STELE_STORE=$TMP/stA stele build --json -t big:1 --tls-verify=false \
		--cache-to "docker://$REG/ci/big:cache" --cache-sign-key ci.key big >a.json 2>a.log || { cat a.log; false; }
	[ "$(json_get a.json .cacheTo.entries)" = 1 ] &&
	skopeo inspect --raw --tls-verify=false "docker://$REG/ci/big:cache" >m.json &&
	python3 -c "import json;l=json.load(open(\"m.json\"))[\"layers\"];assert sorted(x[\"mediaType\"] for x in l)==[\"application/vnd.oci.image.layer.v1.tar+gzip\",\"application/vnd.stele.filelist.v1+jsonl\"], l" &&
	STELE_CACHE=$TMP/cacheB STELE_STORE=$TMP/stB stele build --json -t big:1 --tls-verify=false \
		--cache-from "docker://$REG/ci/big:cache" --cache-key ci.pub big >b.json 2>b.log || { cat b.log; false; }
	[ "$(json_get b.json .cache.hits)" = 1 ] && [ "$(json_get b.json .cacheFrom[0].blobsFetched)" = 2 ] &&
	[ "$(json_get b.json .digest)" = "$(cat digest)" ] &&
	check_list "$TMP/stB" big:1 14000
'
test_done
