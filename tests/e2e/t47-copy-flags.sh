#!/bin/sh
# COPY/ADD flags with BuildKit's meaning: --link, --unpack.  buildah 1.28
# knows neither, so the results asserted are BuildKit's.
. "$(dirname "$0")/lib.sh"

mkdir ctx && echo x >ctx/x && mkdir -p t/d && echo in-tar >t/d/f && tar -C t -cf ctx/a.tar d
# Two bases that differ; one has /usr/lnk -> real and /opt (0700).
mkdir -p b1/usr/real b1/opt b2/etc && ln -s real b1/usr/lnk && chmod 700 b1/opt && echo two >b2/etc/two
SOURCE_DATE_EPOCH=0 stele import -q -t "oci:$TMP/base:1" b1 >/dev/null
SOURCE_DATE_EPOCH=0 stele import -q -t "oci:$TMP/base:2" b2 >/dev/null

# last_layer LAYOUT: the digest of the image's top layer.
last_layer() {
	python3 - "$1" <<-'PY'
	import json, sys
	o = sys.argv[1]
	idx = json.load(open(o + "/index.json"))
	d = [m for m in idx["manifests"] if "artifactType" not in m][0]["digest"]
	print(json.load(open(o + "/blobs/sha256/" + d[7:]))["layers"][-1]["digest"])
	PY
}

test_expect_success 'COPY --link: the layer is the same whatever the base' '
	printf "FROM oci:$TMP/base:1\nCOPY --link x /opt/app/\n" >ctx/l1.df &&
	printf "FROM oci:$TMP/base:2\nCOPY --link x /opt/app/\n" >ctx/l2.df &&
	stele build -q -f ctx/l1.df -o oci:$TMP/l1:x ctx >/dev/null &&
	stele build -q -f ctx/l2.df -o oci:$TMP/l2:x ctx >/dev/null &&
	[ "$(last_layer l1)" = "$(last_layer l2)" ] &&
	printf "FROM oci:$TMP/base:1\nCOPY x /opt/app/\n" >ctx/n1.df &&
	stele build -q -f ctx/n1.df -o oci:$TMP/n1:x ctx >/dev/null &&
	[ "$(last_layer l1)" != "$(last_layer n1)" ]
'
test_expect_success 'COPY --link: directories it creates are new (0755, root), never those of the base' '
	umoci unpack --image l1:x l1u >/dev/null && umoci unpack --image n1:x n1u >/dev/null &&
	[ "$(stat -c %a l1u/rootfs/opt)" = 755 ] && [ "$(stat -c %a n1u/rootfs/opt)" = 700 ] &&
	[ "$(cat l1u/rootfs/opt/app/x)" = x ]
'
test_expect_success 'COPY --link does not follow a link of the base in its destination' '
	printf "FROM oci:$TMP/base:1\nCOPY --link x /usr/lnk/\n" >ctx/sl.df &&
	stele build -q -f ctx/sl.df -o oci:$TMP/sl:x ctx >/dev/null && umoci unpack --image sl:x slu >/dev/null &&
	[ ! -L slu/rootfs/usr/lnk ] && [ -d slu/rootfs/usr/lnk ] && [ "$(cat slu/rootfs/usr/lnk/x)" = x ] &&
	[ ! -e slu/rootfs/usr/real/x ]
'
test_expect_success 'COPY --link=false is a plain COPY' '
	printf "FROM oci:$TMP/base:1\nCOPY --link=false x /opt/app/\n" >ctx/lf.df &&
	stele build -q -f ctx/lf.df -o oci:$TMP/lf:x ctx >/dev/null && [ "$(last_layer lf)" = "$(last_layer n1)" ]
'
test_expect_success 'ADD --unpack=false copies an archive as a file; ADD unpacks it by default' '
	printf "FROM scratch\nADD --unpack=false a.tar /k/\nADD a.tar /u/\nADD --unpack=true a.tar /t/\n" >ctx/un.df &&
	stele build -q -f ctx/un.df -o oci:$TMP/un:x ctx >/dev/null && umoci unpack --image un:x unu >/dev/null &&
	cmp ctx/a.tar unu/rootfs/k/a.tar && [ "$(cat unu/rootfs/u/d/f)" = in-tar ] && [ "$(cat unu/rootfs/t/d/f)" = in-tar ]
'
test_expect_success 'a bad boolean flag names the file, line and flag' '
	printf "FROM scratch\nCOPY --link=yes x /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: expecting boolean value for flag .--link., not: yes" err &&
	printf "FROM scratch\nCOPY --unpack x /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: unknown flag .--unpack." err
'
test_expect_success 'COPY --chmod symbolic (BuildKit): applied to each entry, +X on directories and executables' '
	mkdir -p ctx/sym/sub && echo a >ctx/sym/ro && echo b >ctx/sym/exe && chmod 755 ctx/sym/exe ctx/sym/sub && chmod 644 ctx/sym/ro &&
	printf "FROM scratch\nCOPY --chmod=go-w,o-rx,+X sym /s/\nCOPY --chmod=0640 sym/ro /octal\n" >ctx/sym.df &&
	stele build -q -f ctx/sym.df -o oci:$TMP/sym:x ctx >/dev/null && umoci unpack --image sym:x symu >/dev/null &&
	[ "$(stat -c %a symu/rootfs/s/ro)" = 640 ] && [ "$(stat -c %a symu/rootfs/s/exe)" = 751 ] &&
	[ "$(stat -c %a symu/rootfs/s/sub)" = 751 ] && [ "$(stat -c %a symu/rootfs/octal)" = 640 ]
'
test_expect_success 'COPY --chmod: a mode neither octal nor symbolic names itself' '
	printf "FROM scratch\nCOPY --chmod=u+q x /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: --chmod: invalid mode .u+q. (invalid symbolic mode" err &&
	printf "FROM scratch\nCOPY --chmod=17777 x /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: --chmod: invalid mode .17777. (want octal up to 07777" err
'
mkdir g && git -C g init -q -b main && echo from-git >g/g.txt && git_commit g g && commit=$(git -C g rev-parse HEAD)
test_expect_success 'ADD --checksum=COMMIT of a git source: the ref must resolve to it (full id or prefix)' '
	printf "FROM scratch\nADD --checksum=$commit git+file://$TMP/g#main /g/\nADD --checksum=$(echo "$commit" | cut -c1-12) git+file://$TMP/g#main /h/\n" >ctx/sum.df &&
	stele build -q -f ctx/sum.df -o oci:$TMP/sum:x ctx >/dev/null && umoci unpack --image sum:x sumu >/dev/null &&
	[ "$(cat sumu/rootfs/g/g.txt)" = from-git ] && [ "$(cat sumu/rootfs/h/g.txt)" = from-git ] &&
	printf "FROM scratch\nADD --keep-git-dir=false git+file://$TMP/g#main /g/\n" >ctx/kg.df &&
	stele build -q -f ctx/kg.df -o oci:$TMP/kg:x ctx >/dev/null
'
test_expect_success 'ADD --checksum of another commit fails verification (exit 1), naming both' '
	printf "FROM scratch\nADD --checksum=0123456789abcdef git+file://$TMP/g#main /g/\n" >ctx/bad.df &&
	expect_code 1 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: --checksum: expected commit 0123456789abcdef, .git+file://.*#main. resolved to $commit" err && [ ! -e bad ]
'
# badadd NAME MESSAGE LINE2: ADD rejections, with exit 3.
badadd() {
	printf "FROM scratch\n%s\n" "$3" >ctx/bad.df
	printf '%s\n' "$2" >want
	test_expect_success "ADD rejects: $1" "
		expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err; rc=\$?; cat err
		[ \$rc = 0 ] && grep -q 'ctx/bad.df:2: ADD: ' err && grep -qF -f want err
	"
}
badadd '--checksum with two sources' "--checksum can't be specified for multiple sources" "ADD --checksum=$commit x a.tar /d/"
badadd '--checksum of a local file' "--checksum requires a git or http(s) source, not 'x'" "ADD --checksum=$commit x /d/"
badadd '--checksum of an ftp URL' "--checksum requires a git or http(s) source, not 'ftp://example.invalid/x.tgz'" "ADD --checksum=$commit ftp://example.invalid/x.tgz /d/"
badadd '--checksum of a download, not sha256' "invalid --checksum 'sha256:0000' for a download: want sha256:<64 hex digits>" "ADD --checksum=sha256:0000 https://example.invalid/x.tgz /d/"
badadd 'an unpinned download says how to pin it' "'https://example.invalid/x.tgz': a download must be pinned: ADD --checksum=sha256:<hex of the file> URL DEST" "ADD https://example.invalid/x.tgz /d/"
badadd '--unpack=true of a download' "--unpack=true of a download is not supported" "ADD --unpack --checksum=sha256:$(printf %064d 0) https://example.invalid/x.tgz /d/"
badadd '--checksum not hex' "invalid --checksum 'sha256:00' for a git URL" "ADD --checksum=sha256:00 git+file://$TMP/g#main /d/"
badadd '--keep-git-dir' '--keep-git-dir: stele adds the tree of the commit' "ADD --keep-git-dir git+file://$TMP/g#main /d/"
test_expect_success 'build --check knows --checksum rules' '
	printf "FROM scratch\nADD --checksum=abc x /x\n" >ctx/bad.df &&
	expect_code 3 stele build --check -f ctx/bad.df 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: --checksum requires a git or http(s) source, not .x." err
'
mkdir -p ex/dir1/sub ex/dir2 && for f in dir1/a.png dir1/b.txt dir1/c.mp3 dir1/sub/d.png dir1/sub/e.txt dir2/f.mp3 dir2/g.pdf home.txt home.md homer.go; do echo "$f" >"ex/$f"; done
cat >ex/Dockerfile <<'DF'
FROM scratch AS a
COPY --exclude=*/*.png --exclude=*.md . /1/
COPY --exclude=*.mp3 dir1/ /2/
COPY --exclude=*.mp3 --exclude=*.png dir* /3/
COPY --exclude=*.txt hom* /4/
COPY --exclude=**/*.png --exclude=!sub/d.png dir1 /5/
COPY --exclude=sub dir1 /6/
ADD --exclude=* dir2 /7/
DF
test_expect_success 'COPY/ADD --exclude: patterns as .dockerignore, relative to each source directory, or a file source by name' '
	stele build -q -o oci:$TMP/exo:x ex >/dev/null && umoci unpack --image exo:x exu >/dev/null &&
	(cd exu/rootfs && find . -type f | sort) >got && cat got &&
	cat >want <<-\EOF &&
	./1/Dockerfile
	./1/dir1/b.txt
	./1/dir1/c.mp3
	./1/dir1/sub/d.png
	./1/dir1/sub/e.txt
	./1/dir2/f.mp3
	./1/dir2/g.pdf
	./1/home.txt
	./1/homer.go
	./2/a.png
	./2/b.txt
	./2/sub/d.png
	./2/sub/e.txt
	./3/b.txt
	./3/g.pdf
	./3/sub/d.png
	./3/sub/e.txt
	./4/home.md
	./4/homer.go
	./5/b.txt
	./5/c.mp3
	./5/sub/d.png
	./5/sub/e.txt
	./6/a.png
	./6/b.txt
	./6/c.mp3
	EOF
	diff want got && [ -d exu/rootfs/7 ]
'
test_expect_success 'a bad --exclude pattern names the instruction' '
	printf "FROM scratch\nCOPY --exclude=[ x /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: --exclude:1: syntax error in pattern .\[." err
'
mkdir -p par/a/b par/x/y && for f in a/b/c.txt a/b/d.md a/e.txt x/y/z.txt; do echo "$f" >"par/$f"; done
cat >par/Dockerfile <<'DF'
FROM scratch
COPY --parents a/b/c.txt /p1/
COPY --parents a/*/*.txt /p2/
COPY --parents ./a/./b/c.txt /p3/
COPY --parents a/b x /p4/
COPY --parents a/./b /p5
COPY --parents --exclude=*.md a/b /p6/
COPY --parents <<EOF a/e.txt /p7/
heredoc
EOF
DF
test_expect_success 'COPY --parents: matches keep their path (from the root, or after /./) under the destination' '
	stele build -q -o oci:$TMP/paro:x par >/dev/null && umoci unpack --image paro:x paru >/dev/null &&
	(cd paru/rootfs && find . -type f | sort) >got && cat got &&
	cat >want <<-\EOF &&
	./p1/a/b/c.txt
	./p2/a/b/c.txt
	./p3/b/c.txt
	./p4/a/b/c.txt
	./p4/a/b/d.md
	./p4/x/y/z.txt
	./p5/b/c.txt
	./p5/b/d.md
	./p6/a/b/c.txt
	./p7/EOF
	./p7/a/e.txt
	EOF
	diff want got
'
test_expect_success 'COPY --parents of a path outside the context is refused' '
	printf "FROM scratch\nCOPY --parents ../x/./y /p/\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: COPY: source .../x/./y. is outside the build context" err &&
	printf "FROM scratch\nADD --parents x /p/\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: unknown flag .--parents." err
'

# Pinned downloads, from a server on 127.0.0.1 only.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
mkdir -p www/files && echo payload >www/files/app.bin && tar -C t -czf www/files/app.tgz d
start_http_server "$TMP/www"
URL="http://127.0.0.1:$(cat port)/files"
SUM=sha256:$(sha256sum www/files/app.bin | cut -d" " -f1)
TGZ=sha256:$(sha256sum www/files/app.tgz | cut -d" " -f1)

test_expect_success 'ADD --checksum=sha256 of an http URL: downloaded, checked, named by the URL, 0600, never unpacked' '
	printf "FROM scratch\nADD --checksum=$SUM $URL/app.bin?x=1#f /opt/\nADD --checksum=$TGZ $URL/app.tgz /opt/\nADD --chmod=644 --checksum=$SUM $URL/app.bin /renamed\n" >ctx/dl.df &&
	stele build -q -f ctx/dl.df -o oci:$TMP/dl:x ctx >/dev/null && umoci unpack --image dl:x dlu >/dev/null &&
	[ "$(cat dlu/rootfs/opt/app.bin)" = payload ] && [ "$(stat -c %a dlu/rootfs/opt/app.bin)" = 600 ] &&
	cmp www/files/app.tgz dlu/rootfs/opt/app.tgz && [ "$(stat -c %a dlu/rootfs/renamed)" = 644 ] &&
	grep -l "\"kind\":\"download\"" dl/blobs/sha256/* >/dev/null &&
	grep -h "$URL/app.tgz" dl/blobs/sha256/* | grep -q "${TGZ#sha256:}" &&
	stele inspect oci:$TMP/dl:x >insp && cat insp &&
	grep -q "from: download $URL/app.tgz $TGZ" insp
'
test_expect_success 'a download whose digest differs fails verification (exit 1), naming both digests' '
	printf "FROM scratch\nADD --checksum=$TGZ $URL/app.bin /x\n" >ctx/bad.df &&
	expect_code 1 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: download .$URL/app.bin. has digest $SUM, not $TGZ (--checksum)" err && [ ! -e bad ]
'
test_expect_success 'a download that fails names the URL and the status' '
	printf "FROM scratch\nADD --checksum=$SUM $URL/none.bin /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: cannot download .$URL/none.bin.: HTTP status 404" err &&
	printf "FROM scratch\nADD --checksum=$SUM http://127.0.0.1:1/app.bin /x\n" >ctx/bad.df &&
	expect_code 3 stele build -q -f ctx/bad.df -o oci:$TMP/bad:x ctx 2>err && cat err &&
	grep -q "ctx/bad.df:2: ADD: cannot download .http://127.0.0.1:1/app.bin.: " err && [ ! -e bad ]
'
test_expect_success 'a pinned download is cached: the same digest without the server' '
	d1=$(stele build -q -f ctx/dl.df -o oci:$TMP/dl2:x ctx) && test_kill $srv_pid &&
	d2=$(stele build -q -f ctx/dl.df -o oci:$TMP/dl3:x ctx) && [ "$d1" = "$d2" ] &&
	[ "$d1" = "$(json_get dl/index.json manifests.0.digest)" ]
'
