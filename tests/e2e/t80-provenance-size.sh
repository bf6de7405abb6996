#!/bin/sh
# The provenance records every file a COPY read, and a statement holds at
# most 12 MiB (docs/limits.md), written and read alike.  A statement past
# the 4 MiB of a manifest is written and read back (it used to fail at the
# end of the build with "cannot serialise JSON"); a COPY whose file
# records alone could not fit is refused before its layer is written.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
# tree DIR N: N empty files with 200-byte names in 200-byte directories,
# about 1 KiB of provenance each.
tree() {
	python3 - "$1" "$2" <<-'PY'
	import os, sys
	root, n = sys.argv[1], int(sys.argv[2])
	for i in range(n):
	    d = os.path.join(root, "d%03d" % (i // 250) + "x" * 196)
	    os.makedirs(d, exist_ok=True)
	    open(os.path.join(d, "f%05d" % i + "y" * 194), "w").close()
	PY
}

test_expect_success 'a statement larger than a manifest (about 6 MiB) is written and read back' '
	mkdir mid && tree mid/t 6000 && printf "FROM scratch\nCOPY t/ /data/\n" >mid/Dockerfile &&
	stele build -q -t mid:1 mid >digest &&
	stele inspect --json mid:1 >i.json &&
	python3 - i.json "$STELE_STORE" <<-PY
	import json, os, sys
	i = json.load(open(sys.argv[1]))
	p = [r for r in i["referrers"] if r.get("artifactType") == "application/vnd.in-toto+json"]
	assert len(p) == 1, p
	m = json.load(open(os.path.join(sys.argv[2], "blobs/sha256", p[0]["digest"][7:])))
	size = m["layers"][0]["size"]
	print("statement bytes", size)
	assert 4 << 20 < size < 12 << 20, size
	files = [x for l in i["layers"] for x in l.get("provenance", {}).get("inputs", []) if x["kind"] == "file"]
	assert len(files) == 6000, len(files)
	PY
'
test_expect_success 'a COPY whose file records exceed 12 MiB is refused, naming the limit; nothing is stored' '
	mkdir big && tree big/t 14000 && printf "FROM scratch\nCOPY t/ /data/\n" >big/Dockerfile &&
	{ ls "$STELE_STORE/blobs/sha256" 2>/dev/null || true; } | sort >before &&
	expect_code 3 stele build -q -t big:1 big 2>err && cat err &&
	grep -q "Dockerfile:2" err &&
	grep -q "14000 files to copy: the provenance would record them in at least 1[0-9] MiB, more than a provenance statement holds (12 MiB" err &&
	{ ls "$STELE_STORE/blobs/sha256" 2>/dev/null || true; } | sort >after && cmp before after &&
	! stele inspect big:1 >/dev/null 2>&1
'
