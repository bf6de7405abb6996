#!/bin/sh
# fsck flags two index.json entries with the same ref name
# (org.opencontainers.image.ref.name): which image the name means would
# depend on the reader (issue 9, finding 7).
. "$(dirname "$0")/lib.sh"

mkdir a b && echo a >a/f && echo b >b/f &&
printf 'FROM scratch\nCOPY f /f\n' >a/Dockerfile && cp a/Dockerfile b/Dockerfile
stele build -q -t app:1 a >da 2>/dev/null
stele build -q -t other:1 b >db 2>/dev/null
cp -a "$STELE_STORE" good-store
fresh() { rm -rf "$STELE_STORE" && cp -a good-store "$STELE_STORE"; }

# name_entry NAME DIGEST: append an index.json entry naming DIGEST NAME.
name_entry() {
	python3 - "$STELE_STORE" "$1" "$2" <<-'PY'
	import json, os, sys
	s, name, d = sys.argv[1:]
	i = json.load(open(s + "/index.json"))
	size = os.path.getsize(s + "/blobs/sha256/" + d[7:])
	i["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
	    "digest": d, "size": size,
	    "annotations": {"org.opencontainers.image.ref.name": name}})
	json.dump(i, open(s + "/index.json", "w"), sort_keys=True, separators=(",", ":"))
	PY
}

test_expect_success 'a store as stele writes it: no problem' '
	stele fsck >out && cat out && grep -q ", 0 problems" out
'
test_expect_success 'two entries named app:1 for two images: a problem naming app:1' '
	fresh && name_entry app:1 "$(cat db)" &&
	expect_code 1 stele fsck >out && cat out &&
	grep -q "^duplicate app:1: 2 index.json entries have this ref name" out &&
	grep -q ", 1 problems" out
'
test_expect_success 'the same image named twice by one name is flagged too' '
	fresh && name_entry app:1 "$(cat da)" &&
	expect_code 1 stele fsck >out && cat out && grep -q "^duplicate app:1: 2 " out
'
test_expect_success 'three entries: one problem, counted; --json names the kind' '
	fresh && name_entry app:1 "$(cat db)" && name_entry app:1 "$(cat da)" &&
	expect_code 1 stele fsck --json >f.json &&
	python3 - <<-PY
	import json
	p = json.load(open("f.json"))["problems"]
	assert p == [{"kind": "duplicate", "subject": "app:1",
	    "reason": "3 index.json entries have this ref name; it must name one manifest"}], p
	PY
'
test_expect_success 'two names for one image are fine' '
	fresh && name_entry again:1 "$(cat da)" &&
	stele fsck >out && cat out && grep -q ", 0 problems" out
'
test_expect_success 'fsck --prune repairs nothing here: the entries stay as they are' '
	fresh && name_entry app:1 "$(cat db)" && cp "$STELE_STORE/index.json" before.json &&
	expect_code 1 stele fsck --prune >out && cat out && grep -q "^duplicate app:1" out &&
	cmp before.json "$STELE_STORE/index.json"
'
