#!/bin/sh
# Building an image again (stele build of the same inputs, stele rebuild,
# verify --rebuild) adds no second provenance referrer: a statement that
# differs from the stored one only in when the build ran (runDetails
# metadata) records nothing new (issue 9, finding 7: 19 referrers after a
# few runs).  A statement that says something else is still added.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache" STELE_PASSWORD=pw
mkdir app && git -C app init -q -b main && echo hello >app/f &&
printf 'FROM scratch\nARG V=1\nCOPY f /f\n' >app/Dockerfile && git_commit app v1
SRC="git+file://$TMP/app#main"
stele build -q -t app:1 "$SRC" >digest 2>/dev/null

# provs IMAGE: the digests of IMAGE's provenance referrers, one a line.
provs() {
	stele inspect --json "$1" | python3 -c 'import json, sys
for r in json.load(sys.stdin)["referrers"]:
    if r.get("artifactType") == "application/vnd.in-toto+json":
        print(r["digest"])'
}
# The clock second changes between builds, so the statements' times differ.
tick() { sleep 1.1; }

test_expect_success 'one build, one provenance referrer' '
	provs app:1 >p1 && cat p1 && [ "$(grep -c "" p1)" = 1 ]
'
test_expect_success 'the same build again (cached): the same image, no second referrer' '
	tick && stele build -q -t app:1 "$SRC" >d2 2>/dev/null && cmp digest d2 &&
	provs app:1 >p2 && cat p2 && cmp p1 p2
'
test_expect_success 'again with --no-cache: still the one referrer' '
	tick && stele build -q --no-cache -t app:1 "$SRC" >d3 2>/dev/null && cmp digest d3 &&
	provs app:1 >p3 && cmp p1 p3
'
test_expect_success 'five more builds: still one (index.json holds one entry for it)' '
	for i in 1 2 3 4 5; do tick; stele build -q -t app:1 "$SRC" >/dev/null 2>&1 || exit 1; done &&
	provs app:1 >p4 && cmp p1 p4 &&
	[ "$(grep -c "application/vnd.in-toto+json" "$STELE_STORE/index.json")" = 1 ]
'
test_expect_success 'stele rebuild and verify --rebuild add none either' '
	stele keygen --output-prefix k >/dev/null 2>&1 && stele sign --key k.key app:1 >/dev/null &&
	for i in 1 2 3; do tick; stele rebuild app:1 >out 2>/dev/null && grep -q "^identical" out || exit 1; done &&
	tick && stele verify --rebuild --key k.pub app:1 >/dev/null 2>&1 &&
	provs app:1 >p5 && cmp p1 p5
'
test_expect_success 'into an oci: layout twice: one referrer there too' '
	stele build -q -o "oci:$TMP/lay:1" "$SRC" >/dev/null 2>&1 && tick &&
	stele build -q -o "oci:$TMP/lay:1" "$SRC" >/dev/null 2>&1 &&
	provs "oci:$TMP/lay:1" >pl && [ "$(grep -c "" pl)" = 1 ]
'
test_expect_success 'a statement that says something else is added (a different build argument, same image)' '
	tick && stele build -q --build-arg V=2 -t app:1 "$SRC" >d6 2>/dev/null && cmp digest d6 &&
	provs app:1 >p6 && cat p6 && [ "$(grep -c "" p6)" = 2 ] && grep -qF -f p1 p6
'
test_expect_success 'the image still inspects, verifies and rebuilds' '
	stele inspect app:1 | grep -q "step: " &&
	stele verify --key k.pub app:1 >/dev/null &&
	stele rebuild app:1 2>/dev/null | grep -q "^identical"
'
