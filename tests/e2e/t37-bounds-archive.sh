#!/bin/sh
# Bounds on what an archive may expand to (docs/limits.md): a 10 KiB tar
# declaring a 1 TiB sparse file is refused at its header, naming the input
# and the limit, wherever an archive is extracted (stele import, a FROM
# base's layer, COPY --from an image, ADD of a local tar); so are too many
# entries, too long or too deep paths; --max-size and --max-entries raise
# the limits.  Every stele run is under `timeout`, so the old behaviour
# (materialising the terabyte) fails instead of hanging the suite
# (BOUNDS_TIMEOUT seconds, default 60).
. "$(dirname "$0")/lib.sh"
# stele's own temporary directories too, so a run killed by timeout leaves
# nothing behind.
mkdir "$TMP/tmp" && export TMPDIR="$TMP/tmp"

: "${BOUNDS_TIMEOUT:=60}"
s() { timeout "$BOUNDS_TIMEOUT" "$STELE" "$@"; }

mkdir outside sp
# GNU tar's own sparse encodings of a 1 TiB hole, and a small sparse file.
truncate -s 1T sp/big && truncate -s 10M sp/ten &&
	tar --sparse -cf bomb-gnu.tar -C sp big &&
	tar --format=pax --sparse --sparse-version=1.0 -cf bomb-pax.tar -C sp big &&
	gzip -c bomb-gnu.tar >bomb.tar.gz &&
	tar --sparse -cf ten.tar -C sp ten && rm -f sp/big
python3 - "$TMP" <<'PY'
import io, os, sys, tarfile
tmp = sys.argv[1]
def tar(name, members):
    with tarfile.open(os.path.join(tmp, name + ".tar"), "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def f(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def sym(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
tar("entries", [f("f%02d" % i) for i in range(11)])
tar("sizes", [f("a", b"a" * 1024), f("b", b"b" * 1024)])
tar("deep257", [f("d/" * 256 + "f")])
tar("deep256", [f("d/" * 255 + "f")])
tar("longpath", [f("p/" * 2048 + "f")])
tar("longlink", [sym("l", "t" * 4096)])
# A pax hardlink carrying 3 MiB of data that nothing reads (libarchive
# skips it by itself), then a file.
i = tarfile.TarInfo("b"); i.type = tarfile.LNKTYPE; i.linkname = "a"; i.size = 3 << 20
i.pax_headers = {"size": str(3 << 20)}
tar("hlskip", [f("a"), (i, b"\0" * (3 << 20)), f("c")])
# Old-GNU sparse entry whose map puts data 1 GiB past its 4-byte size.
def octal(n, w): return (b"%0*o" % (w - 1, n)) + b"\0"
h = bytearray(512); h[0:6] = b"beyond"
h[100:108] = octal(0o644, 8); h[108:116] = octal(0, 8); h[116:124] = octal(0, 8)
h[124:136] = octal(4, 12); h[136:148] = octal(0, 12); h[156:157] = b"S"
h[257:265] = b"ustar  \0"; h[386:398] = octal(1 << 30, 12); h[398:410] = octal(4, 12)
h[483:495] = octal(4, 12); h[148:156] = b" " * 8; h[148:156] = b"%06o\0 " % sum(h)
open(os.path.join(tmp, "beyond.tar"), "wb").write(bytes(h) + b"data" + b"\0" * 508 + b"\0" * 1024)
PY

# import TAR, refused: exit 3, the message names the tarball and the limit,
# no image is written.
refused() { # TAR PATTERN [OPTIONS...]
	tarball=$1 pat=$2
	shift 2
	rm -rf rl
	expect_code 3 s import -q -t "oci:$TMP/rl:x" "$@" "$tarball" 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "layer '$tarball'" err && grep -q "$pat" err &&
	[ -z "$(ls -A rl/blobs/sha256 2>/dev/null)" ] && [ -z "$(ls -A outside)" ]
}

test_expect_success 'the 10 KiB GNU sparse tar of 1 TiB is refused at once, naming it and the limit' '
	[ "$(wc -c <bomb-gnu.tar)" -le 10240 ] &&
	refused bomb-gnu.tar "entry .big.: sparse file of 1 TiB expands the layer past the max-size limit of 64 GiB"
'
test_expect_success 'the same in pax sparse 1.0 and gzip-compressed' '
	refused bomb-pax.tar "sparse file of 1 TiB .*max-size limit of 64 GiB" &&
	refused bomb.tar.gz "sparse file of 1 TiB .*max-size limit of 64 GiB"
'
test_expect_success 'the refused import leaves no temporary files behind' '
	refused bomb-gnu.tar "max-size limit" && [ -z "$(ls -A "$TMPDIR")" ]
'
test_expect_success 'a sparse map placing data past the entry size is refused' '
	refused beyond.tar "entry .beyond.: data lies beyond the entry.s size"
'
test_expect_success 'a small sparse file is imported whole, and --max-size is honoured' '
	refused ten.tar "sparse file of 10 MiB expands the layer past the max-size limit of 5 MiB" --max-size 5M &&
	s import -q -t oci:$TMP/tenl:x --max-size 10M ten.tar >/dev/null &&
	stele inspect --json oci:$TMP/tenl:x >i.json &&
	tar -tvzf "$(blob tenl "$(json_get i.json .manifest.layers[0].digest)")" >list &&
	grep -q " 10485760 .* ten\$" list
'
test_expect_success 'file content past --max-size is refused; raising it lets it in' '
	refused sizes.tar "entry .b.: file of 1 KiB expands the layer past the max-size limit of 1 KiB" --max-size 1K &&
	s import -q -t sizes:1 --max-size 2K sizes.tar >/dev/null
'
test_expect_success 'more entries than --max-entries are refused; raising it lets them in' '
	refused entries.tar "more than 10 entries (the max-entries limit)" --max-entries 10 &&
	s import -q -t entries:1 --max-entries 11 entries.tar >/dev/null
'
test_expect_success 'the decompressed tar stream is bounded too, even where nothing reads it' '
	gzip -9 hlskip.tar && [ "$(wc -c <hlskip.tar.gz)" -lt 10240 ] &&
	refused hlskip.tar.gz "the tar stream is longer than 1031 KiB (max-size, plus 2048 bytes for each of max-entries and 1 MiB)" --max-size 1K --max-entries 3 &&
	s import -q -t hl:1 --max-size 3M --max-entries 3 hlskip.tar.gz >/dev/null
'
test_expect_success 'a path deeper than 256 directories is refused; 256 is fine' '
	refused deep257.tar "path is nested deeper than 256 directories" &&
	s import -q -t deep:1 deep256.tar >/dev/null
'
test_expect_success 'a path longer than 4096 bytes is refused' '
	refused longpath.tar "path is too long (more than 4096 bytes)"
'
test_expect_success 'a symlink target longer than 4095 bytes is refused' '
	refused longlink.tar "symlink target is longer than 4095 bytes"
'
test_expect_success 'bad --max-size and --max-entries values are usage errors' '
	expect_code 2 stele import -t x:1 --max-size 12Q ten.tar 2>err && grep -q "invalid size .12Q." err &&
	expect_code 2 stele import -t x:1 --max-size 0 ten.tar 2>/dev/null &&
	expect_code 2 stele import -t x:1 --max-entries -1 ten.tar 2>err && grep -q "invalid --max-entries" err &&
	expect_code 2 stele build -t x:1 --max-entries 1x . 2>/dev/null &&
	expect_code 2 stele build -t x:1 --max-size 99999999999999999999 . 2>/dev/null
'

bomb_digest=$(make_tar_layout bomb-gnu.tar bomb x)
ten_digest=$(make_tar_layout ten.tar tenimg x)
mkdir ctx && echo hi >ctx/a && cp bomb-gnu.tar ten.tar ctx/
build_refused() { # RECIPE PATTERN [OPTIONS...]
	printf %b "$1" >ctx/Dockerfile
	pat=$2
	shift 2
	rm -rf rl
	expect_code 3 s build -q -o "oci:$TMP/rl:x" "$@" ctx 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "$pat" err && [ -z "$(ls -A rl/blobs/sha256 2>/dev/null)" ]
}

test_expect_success 'a FROM base whose layer is the sparse bomb is refused, naming the layer' '
	build_refused "FROM oci:$TMP/bomb:x\nCOPY a /a\n" \
		"Dockerfile:2: COPY.*layer .$bomb_digest.: entry .big.: sparse file of 1 TiB expands the layer past the max-size limit of 64 GiB"
'
test_expect_success 'COPY --from an image whose layer is the bomb is refused' '
	build_refused "FROM scratch\nCOPY --from=oci:$TMP/bomb:x /big /big\n" \
		"Dockerfile:2: COPY.*--from .oci:$TMP/bomb:x.*layer .$bomb_digest.: entry .big.: sparse file of 1 TiB"
'
test_expect_success 'ADD of the bomb tar from the context is refused' '
	build_refused "FROM scratch\nADD bomb-gnu.tar /x/\n" \
		"Dockerfile:2: ADD: layer .bomb-gnu.tar.: entry .big.: sparse file of 1 TiB expands the layer past the max-size limit of 64 GiB"
'
test_expect_success 'build --max-size applies to bases, COPY --from and ADD; raising it lets them in' '
	build_refused "FROM oci:$TMP/tenimg:x\nCOPY a /a\n" "layer .$ten_digest.: entry .ten.: sparse file of 10 MiB expands the layer past the max-size limit of 9 MiB" --max-size 9M &&
	build_refused "FROM scratch\nCOPY --from=oci:$TMP/tenimg:x /ten /ten\n" "max-size limit of 9 MiB" --max-size 9M &&
	build_refused "FROM scratch\nADD ten.tar /x/\n" "max-size limit of 9 MiB" --max-size 9M &&
	printf "FROM oci:$TMP/tenimg:x\nCOPY --from=oci:$TMP/tenimg:x /ten /ten2\nADD ten.tar /x/\n" >ctx/Dockerfile &&
	s build -q -t y:1 --max-size 30M ctx >/dev/null
'
test_expect_success 'build --max-entries applies to base layers' '
	make_tar_layout entries.tar entimg x >/dev/null &&
	build_refused "FROM oci:$TMP/entimg:x\nCOPY a /a\n" "more than 10 entries (the max-entries limit)" --max-entries 10 &&
	s build -q -t y:1 --max-entries 11 ctx >/dev/null
'
test_expect_success 'nothing was written outside the targets' '
	[ -z "$(ls -A outside)" ]
'
