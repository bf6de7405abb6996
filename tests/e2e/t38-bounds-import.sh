#!/bin/sh
# Bounds on directories and written layers, and the caps on JSON and other
# files stele reads (docs/limits.md): `stele import DIR` refuses a sparse
# 1 TiB file at once, too many entries, too deep a tree; hardlinks count
# once and symlink loops are only links; a layer built from a directory
# context is checked before it is written; every refusal names the input
# and the limit, and --max-size/--max-entries raise the limits.
. "$(dirname "$0")/lib.sh"
mkdir "$TMP/tmp" && export TMPDIR="$TMP/tmp"
: "${BOUNDS_TIMEOUT:=60}"
s() { timeout "$BOUNDS_TIMEOUT" "$STELE" "$@"; }

# import DIR, refused: exit 3, the message matches, no image is written.
refused() { # DIR PATTERN [OPTIONS...]
	dir=$1 pat=$2
	shift 2
	rm -rf rl
	expect_code 3 s import -q -t "oci:$TMP/rl:x" "$@" "$dir" 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "$pat" err &&
	[ -z "$(ls -A rl/blobs/sha256 2>/dev/null)" ] && [ -z "$(ls -A "$TMPDIR")" ]
}

test_expect_success 'a directory holding a sparse 1 TiB file is refused at once' '
	mkdir sparse && echo hi >sparse/a && truncate -s 1T sparse/big &&
	refused sparse "import .sparse.: .big. (1 TiB) takes the image past the max-size limit of 64 GiB" &&
	rm sparse/big
'
mkdir sizes && head -c 1024 /dev/zero >sizes/a && head -c 1024 /dev/zero >sizes/b &&
	ln sizes/a sizes/a2
test_expect_success 'file content past --max-size is refused; a hardlink counts once' '
	refused sizes "import .sizes.: .b. (1 KiB) takes the image past the max-size limit of 1 KiB" --max-size 1K &&
	s import -q -t oci:$TMP/sz:x --max-size 2K sizes >/dev/null
'
mkdir entries && for i in 1 2 3 4 5; do mkdir entries/d$i; done
test_expect_success 'more entries than --max-entries are refused; raising it lets them in' '
	refused entries "import .entries.: more than 4 entries (the max-entries limit)" --max-entries 4 &&
	s import -q -t oci:$TMP/en:x --max-entries 5 entries >/dev/null
'
test_expect_success 'a tree deeper than 256 directories is refused; 256 is fine' '
	mkdir deep && p=deep && i=0 && while [ $i -lt 256 ]; do p=$p/d; i=$((i + 1)); done &&
	mkdir -p "$p" &&
	s import -q -t oci:$TMP/dp:x deep >/dev/null &&
	mkdir "$p/d" &&
	refused deep "import .deep.: .d/d/d/.*is nested deeper than 256 directories"
'
test_expect_success 'a path longer than 4096 bytes is refused, naming it' '
	mkdir long && n=$(printf "%0200d" 0) && p=long && i=0 &&
	while [ $i -lt 21 ]; do p=$p/$n; i=$((i + 1)); done &&
	mkdir -p "$p" && refused long "long/$n/$n"
'
test_expect_success 'symlink loops are imported as links, never followed' '
	mkdir loops && ln -s b loops/a && ln -s a loops/b && ln -s . loops/self &&
	ln -s .. loops/up && ln -s /loops loops/abs &&
	s import -q -t oci:$TMP/lp:x loops >/dev/null &&
	stele inspect --json oci:$TMP/lp:x >i.json &&
	tar -tvzf "$(blob lp "$(json_get i.json .manifest.layers[0].digest)")" >list &&
	[ "$(grep -c "^l" list)" = 5 ] && grep -q "self -> \\.$" list &&
	[ "$(wc -l <list)" = 5 ]
'

# The layer writer: a COPY from a directory context is checked as a whole
# before a byte is written.  (A step found in the build cache writes no
# layer, hence --no-cache.)
mkdir ctx && head -c 1024 /dev/zero >ctx/a && head -c 1024 /dev/zero >ctx/b &&
	printf 'FROM scratch\nCOPY a b /app/\n' >ctx/Dockerfile
build_refused() { # PATTERN [OPTIONS...]
	pat=$1
	shift
	rm -rf rl
	expect_code 3 s build -q --no-cache -o "oci:$TMP/rl:x" "$@" ctx 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "$pat" err && [ -z "$(ls -A rl/blobs/sha256 2>/dev/null)" ]
}
test_expect_success 'a layer holding more than --max-size is refused before it is written' '
	build_refused "Dockerfile:2: COPY.*the layer would hold more than 1 KiB of file content (.app/b. is 1 KiB), past the max-size limit" --max-size 1K &&
	s build -q -o oci:$TMP/b1:x --max-size 2K ctx >/dev/null
'
test_expect_success 'a layer with more entries than --max-entries is refused' '
	build_refused "Dockerfile:2: COPY.*the layer would have 3 entries, more than the max-entries limit of 2" --max-entries 2 &&
	s build -q --no-cache -o oci:$TMP/b2:x --max-entries 3 ctx >/dev/null
'

# Files stele parses are capped; each refusal names the file.
big_json() { # FILE BYTES: a valid JSON object of about BYTES bytes
	python3 -c 'import json,sys; json.dump({"pad": "x" * int(sys.argv[2])}, open(sys.argv[1], "w"))' "$1" "$2"
}
test_expect_success 'a policy over 1 MiB is refused, naming it' '
	big_json policy.json 1100000 &&
	expect_code 3 stele verify --policy policy.json oci:$TMP/b1:x 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "policy.json.*exceeds the limit of 1048576 bytes" err
'
test_expect_success 'an index.json over 4 MiB is refused, naming it' '
	cp -r b1 bigidx && big_json bigidx/index.json 4300000 &&
	expect_code 3 stele inspect oci:$TMP/bigidx:x 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "index.json.*exceeds the limit of 4194304 bytes" err
'
test_expect_success 'a manifest blob over 4 MiB is refused, naming its digest' '
	cp -r b1 bigman && big_json m.json 4300000 &&
	d=$(sha256sum m.json | cut -d" " -f1) && cp m.json bigman/blobs/sha256/$d &&
	python3 -c "
import json,sys
i=json.load(open(\"bigman/index.json\"))
i[\"manifests\"][0][\"digest\"]=\"sha256:$d\"
i[\"manifests\"][0][\"size\"]=$(wc -c <m.json)
json.dump(i,open(\"bigman/index.json\",\"w\"))" &&
	expect_code 3 stele inspect oci:$TMP/bigman:x 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "exceeds the limit of 4194304 bytes" err && grep -q "$d" err
'
test_expect_success 'a recipe over 1 MiB and a lock file over 1 MiB are refused, naming them' '
	mkdir rc && python3 -c "print(\"FROM scratch\n\" + \"# pad\n\" * 200000)" >rc/Dockerfile &&
	expect_code 3 stele build -q -o oci:$TMP/r1:x rc 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "recipe .rc/Dockerfile.*exceeds the limit of 1048576 bytes" err &&
	big_json lock.json 1100000 &&
	expect_code 3 stele build -q -o oci:$TMP/r2:x --lock lock.json ctx 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "lock.json.*exceeds the limit of 1048576 bytes" err
'

# A RUN step's layer goes through the same check: a sparse 1 TiB file made
# by the command is refused before the layer is written (needs runc).
if command -v runc >/dev/null 2>&1 && make_busybox_base busybox:test; then
	mkdir runctx && printf 'FROM busybox:test\nRUN truncate -s 1099511627776 /big\n' >runctx/Dockerfile
	test_expect_success 'a RUN step that makes a sparse 1 TiB file is refused at once' '
		expect_code 3 s build -q --no-cache -o "oci:$TMP/rr:x" runctx 2>err; rc=$?; cat err
		[ $rc = 0 ] && grep -q "Dockerfile:2: RUN.*the layer would hold more than 64 GiB of file content (.big. is 1 TiB), past the max-size limit" err &&
		[ -z "$(ls -A rr/blobs/sha256 2>/dev/null)" ]
	'
else
	test_skip 'a RUN step that makes a sparse 1 TiB file is refused at once' 'no runc, or no busybox base'
fi

# Rebuilds take the limits too (they are not in the provenance).
export STELE_CACHE="$TMP/cache" STELE_PASSWORD=pw
mkdir app && git -C app init -q -b main && head -c 2048 /dev/zero >app/f &&
	printf 'FROM scratch\nCOPY f /f\n' >app/Dockerfile && git_commit app v1
test_expect_success 'stele rebuild and verify --rebuild honour --max-size' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >/dev/null &&
	expect_code 3 stele rebuild --max-size 1K app:1 >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "COPY.*the layer would hold more than 1 KiB of file content (.f. is 2 KiB)" err &&
	stele rebuild --max-size 2K app:1 >out 2>/dev/null && grep -q "^identical" out &&
	stele keygen --output-prefix ci >/dev/null 2>&1 && stele attest --key ci.key app:1 >/dev/null 2>&1 &&
	stele sign --key ci.key app:1 >/dev/null 2>&1 &&
	printf "{\"keys\":{\"ci\":{\"path\":\"ci.pub\"}},\"signatures\":{\"threshold\":1},\"provenance\":{\"keys\":[\"ci\"]}}" >p.json &&
	expect_code 1 stele verify --policy p.json --rebuild --max-size 1K app:1 >out 2>/dev/null; rc=$?; cat out
	[ $rc = 0 ] && grep -q "^FAIL rebuild: .*max-size limit" out &&
	stele verify --policy p.json --rebuild --max-size 2K app:1 >out 2>/dev/null && grep -q "^ok   rebuild: identical" out &&
	expect_code 2 stele rebuild --max-entries 0 app:1 2>/dev/null &&
	expect_code 2 stele verify --policy p.json --max-size 1X app:1 2>/dev/null
'
