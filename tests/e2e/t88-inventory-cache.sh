#!/bin/sh
# The inventory cache (sbom.h, stele_sbom_read_cached; docs/sbom.md): sbom
# and scan read an image's inventory once, then from
# $STELE_CACHE/inventory/<key>.json.  Output through the cache is
# byte-identical to output without it (SPDX, CycloneDX, scan JSON); an
# entry is read only when its recorded digest matches its bytes, so a
# corrupt entry, one of another image, a truncated or headerless one is
# ignored and rewritten; a layer blob changed since (its stat) is read
# again and reported; an unwritable cache is no error; a smaller
# --max-entries is still enforced (the limits are part of the key).
. "$(dirname "$0")/lib.sh"

mkdir -p root/lib/apk/db root/bin root/etc
printf 'ID=alpine\nVERSION_ID=3.20.3\n' >root/etc/os-release
printf 'busybox binary\n' >root/bin/busybox
printf 'nobody owns me\n' >root/bin/extra
z() { printf 'Q1%s' "$(printf '%s\n' "$1" | openssl dgst -sha1 -binary | base64)"; }
cat >root/lib/apk/db/installed <<EOF
P:busybox
V:1.36.1-r29
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
Z:$(z 'another busybox')

EOF
mkdir -p db/osv/Alpine
printf '{"id":"ALP-1","modified":"2026-11-01T00:00:00Z","affected":[{"package":{"ecosystem":"Alpine:v3.20","name":"busybox"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.36.1-r30"}]}]}]}\n' >db/osv/Alpine/ALP-1.json

# every document, with the cache directory $1
outputs() {
	STELE_CACHE="$1" stele sbom -f spdx alp:1 >"$2.spdx" &&
	STELE_CACHE="$1" stele sbom -f cyclonedx alp:1 >"$2.cdx" &&
	STELE_CACHE="$1" stele scan --db db --json alp:1 >"$2.scan"
}
same() {
	cmp "$1.spdx" "$2.spdx" && cmp "$1.cdx" "$2.cdx" && cmp "$1.scan" "$2.scan"
}
entry() { ls "$1"/inventory/*.json; }

test_expect_success 'import; the first read writes one entry' '
	stele import -q -t alp:1 root >/dev/null &&
	outputs "$TMP/c" first &&
	[ $(ls c/inventory | wc -l) = 1 ] &&
	head -n1 "$(entry c)" | grep -Eq "^sha256:[0-9a-f]{64}\$" &&
	grep -q "\"ALP-1\"" first.scan && grep -q "bin/extra" first.spdx
'
test_expect_success 'output through the cache is byte-identical to output without it' '
	outputs "$TMP/c" warm && same first warm &&
	outputs "$TMP/c-fresh" fresh && same first fresh
'
# Rewrite the cached JSON with python ($2: a statement on d), header
# recomputed ($3 = keep: the old header kept).
edit() {
	python3 - "$1" "$2" "${3:-}" <<-'PY'
	import hashlib, json, sys
	path, stmt, keep = sys.argv[1:4]
	head, body = open(path, "rb").read().split(b"\n", 1)
	d = json.loads(body)
	exec(stmt)
	body = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
	if not keep:
	    head = b"sha256:" + hashlib.sha256(body).hexdigest().encode()
	open(path, "wb").write(head + b"\n" + body)
	PY
}
test_expect_success 'a hit is read from the cache (an entry whose digest checks is used)' '
	cp "$(entry c)" saved &&
	edit "$(entry c)" "d[\"packages\"][0][\"version\"] = \"9.9-r0\"" &&
	STELE_CACHE="$TMP/c" stele sbom alp:1 >hit.spdx &&
	grep -q "\"versionInfo\":\"9.9-r0\"" hit.spdx &&
	cp saved "$(entry c)"
'
test_expect_success 'an entry whose bytes do not match its digest is ignored and rewritten' '
	edit "$(entry c)" "d[\"packages\"][0][\"version\"] = \"9.9-r0\"" keep &&
	! cmp -s saved "$(entry c)" &&
	outputs "$TMP/c" bad && same first bad &&
	cmp saved "$(entry c)"
'
test_expect_success 'an entry of another image (or format) is ignored and rewritten' '
	edit "$(entry c)" "d[\"image\"] = \"sha256:\" + \"0\" * 64" &&
	outputs "$TMP/c" foreign && same first foreign && cmp saved "$(entry c)" &&
	edit "$(entry c)" "d[\"format\"] = \"stele-inventory-0\"" &&
	outputs "$TMP/c" oldfmt && same first oldfmt && cmp saved "$(entry c)" &&
	edit "$(entry c)" "d[\"files\"][0][\"layer\"] = 7" &&
	outputs "$TMP/c" badlayer && same first badlayer && cmp saved "$(entry c)"
'
test_expect_success 'a truncated, empty or headerless entry is ignored and rewritten' '
	head -c 100 saved >"$(entry c)" &&
	outputs "$TMP/c" trunc && same first trunc && cmp saved "$(entry c)" &&
	: >"$(entry c)" &&
	outputs "$TMP/c" empty && same first empty && cmp saved "$(entry c)" &&
	tail -n +2 saved >"$(entry c)" &&
	outputs "$TMP/c" nohead && same first nohead && cmp saved "$(entry c)"
'
test_expect_success 'a layer blob damaged after the read is read again, and reported corrupt (exit 1)' '
	d=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().split(\"\\n\", 1)[1])[\"blobs\"].split()[0])" "$(entry c)") &&
	f=$(find "$STELE_STORE" -path "*/blobs/sha256/${d#sha256:}") && [ -f "$f" ] && cp "$f" keep &&
	chmod u+w "$f" && printf "x" >>"$f" &&
	expect_code 1 env STELE_CACHE="$TMP/c" "$STELE" sbom alp:1 >/dev/null 2>err; rc=$?; cat err; cp keep "$f"
	[ $rc = 0 ] && grep -q "is corrupt" err &&
	outputs "$TMP/c" repaired && same first repaired
'
test_expect_success 'a cache that cannot be written is no error' '
	: >notadir &&
	outputs "$TMP/notadir" ro && same first ro
'
test_expect_success 'a layer limit is part of the key: a smaller one is still enforced' '
	expect_code 3 env STELE_CACHE="$TMP/c" "$STELE" sbom --max-entries 2 alp:1 >/dev/null 2>err &&
	grep -q "entries" err
'
test_expect_success 'a string that is not UTF-8 is not cached: the output is the same from the cache' '
	mkdir -p u/lib/apk/db u/etc && cp root/etc/os-release u/etc/ &&
	printf "P:busybox\nV:1.36.1-r29\nL:GPL\377\n\n" >u/lib/apk/db/installed &&
	stele import -q -t utf:1 u >/dev/null &&
	STELE_CACHE="$TMP/uc" stele sbom -f cyclonedx utf:1 >u1 &&
	STELE_CACHE="$TMP/uc" stele sbom -f cyclonedx utf:1 >u2 &&
	grep -q "GPL%FF" u1 && cmp u1 u2
'
test_done
