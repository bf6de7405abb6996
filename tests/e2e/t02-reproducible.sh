#!/bin/sh
# The same recipe and sources give the same manifest digest whatever the
# directory, umask, TZ, locale, file mtimes, creation order and clock.
. "$(dirname "$0")/lib.sh"

# make_tree DIR ORDER: the same files, created in a given order.
make_tree() {
	mkdir -p "$1"
	if [ "$2" = forward ]; then
		mkdir -p "$1/src/sub" "$1/docs"
		echo one >"$1/src/one.txt"; echo two >"$1/src/sub/two.txt"
		printf '#!/bin/sh\necho run\n' >"$1/src/run"; chmod 755 "$1/src/run"
		echo readme >"$1/docs/readme.md"; ln -s one.txt "$1/src/link"
		ln "$1/src/one.txt" "$1/src/hard.txt"
	else
		mkdir -p "$1/docs" "$1/src/sub"
		echo readme >"$1/docs/readme.md"; ln -s one.txt "$1/src/link"
		printf '#!/bin/sh\necho run\n' >"$1/src/run"; chmod 700 "$1/src/run"
		echo two >"$1/src/sub/two.txt"; echo one >"$1/src/one.txt"
		ln "$1/src/one.txt" "$1/src/hard.txt"
	fi
	printf 'ARG V=1\nFROM scratch\nCOPY src/ /app/\nCOPY docs/*.md /doc/\nENV V=$V\nWORKDIR /app\nCMD ["/app/run"]\n' >"$1/Dockerfile"
}

test_expect_success 'a directory context: two trees, two environments, one digest' '
	(umask 022; make_tree a forward) &&
	(umask 077; make_tree b reverse) &&
	touch -d "2001-01-01" b/src/one.txt b/docs/readme.md &&
	d1=$(cd a && TZ=UTC LANG=C LC_ALL=C stele build -q -o oci:$TMP/out1:x .) &&
	sleep 1 &&
	d2=$(cd b && umask 077 && TZ=Asia/Tokyo LANG=fr_FR.UTF-8 LC_ALL= stele build -q -o oci:$TMP/out2:x .) &&
	echo "$d1 $d2" && [ "$d1" = "$d2" ]
'

test_expect_success 'a git context: two clones made differently, one digest' '
	(umask 022; make_tree r1 forward; git -C r1 init -q -b main; git_commit r1 c) &&
	(umask 077; make_tree r2 reverse; chmod 755 r2/src/run; git -C r2 init -q -b main; git_commit r2 c) &&
	[ "$(git -C r1 rev-parse HEAD)" = "$(git -C r2 rev-parse HEAD)" ] &&
	unset SOURCE_DATE_EPOCH &&
	d1=$(TZ=UTC stele build -q -o oci:$TMP/g1:x "git+file://$TMP/r1#main") &&
	sleep 1 &&
	d2=$(cd r2 && umask 077 && TZ=America/New_York stele build -q -o oci:$TMP/g2:x ".#main") &&
	echo "$d1 $d2" && [ "$d1" = "$d2" ]
'

test_expect_success 'the epoch of a git build is the commit time' '
	m=$(python3 -c "import json;print(json.load(open(\"g1/index.json\"))[\"manifests\"][0][\"digest\"])") &&
	c=$(json_get "$(blob g1 $m)" .config.digest) &&
	[ "$(json_get "$(blob g1 $c)" .created)" = "2020-09-13T12:26:40Z" ]
'

test_expect_success 'building twice into one store changes nothing but provenance' '
	d1=$(cd a && stele build -q -t rep:1 .) && d2=$(cd a && stele build -q -t rep:1 .) &&
	[ "$d1" = "$d2" ]
'

test_expect_success 'zstd layers are reproducible too' '
	d1=$(cd a && stele build -q --compression zstd -o oci:$TMP/z1:x .) &&
	d2=$(cd b && umask 077 && stele build -q --compression zstd -o oci:$TMP/z2:x .) &&
	[ "$d1" = "$d2" ]
'

# Golden digests: any change to the canon (tar, gzip settings, JSON) shows
# here and must be deliberate.  gzip bytes depend on libdeflate (Debian 12:
# 1.14); gzip-zlib bytes on zlib (1.2.13).  GOLDEN_GZIP changed when gzip
# moved from zlib to libdeflate (docs/reproducibility.md says why); the old
# bytes are GOLDEN_GZIP_ZLIB, still made by --compression gzip-zlib.  It
# changed again when libdeflate's default level went from 6 to 3 (the same
# page says why; images at 6 record it and rebuild at 6, t12).
GOLDEN_NONE=sha256:72266da5a420d6a6191cdae033ee5937345126aa8e43c3fc9b35f945f5cdccab
GOLDEN_GZIP=sha256:9629af7c54937ec76cc665f0f7e0ebae54ff2a21a779e354d24a0026e09b99dc
GOLDEN_GZIP_ZLIB=sha256:7ef454f6a31b512252bf37c5bba438b7844bbe222a54f819b64a56fea3475882
# zstd bytes depend on libzstd (Debian 12: 1.5.4) built multithreaded, and
# not on the worker count (2 before, 3 since: the same digest).
GOLDEN_ZSTD=sha256:cc50f9d5d0bd08bc6ba4f10e09c4f610c4e027e0024a8e7c6e83f13b65ef429f
test_expect_success 'golden digest: uncompressed layers' '
	d=$(cd a && SOURCE_DATE_EPOCH=1700000000 stele build -q --compression none -o oci:$TMP/gold1:x .) &&
	echo "$d" && [ "$d" = "$GOLDEN_NONE" ]
'
test_expect_success 'golden digest: gzip layers' '
	d=$(cd a && SOURCE_DATE_EPOCH=1700000000 stele build -q -o oci:$TMP/gold2:x .) &&
	echo "$d" && [ "$d" = "$GOLDEN_GZIP" ]
'
test_expect_success 'golden digest: zstd layers' '
	d=$(cd a && SOURCE_DATE_EPOCH=1700000000 stele build -q --compression zstd -o oci:$TMP/gold4:x .) &&
	echo "$d" && [ "$d" = "$GOLDEN_ZSTD" ]
'
test_expect_success 'golden digest: gzip-zlib layers, the bytes of stele before libdeflate' '
	d=$(cd a && SOURCE_DATE_EPOCH=1700000000 stele build -q --compression gzip-zlib -o oci:$TMP/gold3:x .) &&
	echo "$d" && [ "$d" = "$GOLDEN_GZIP_ZLIB" ]
'
