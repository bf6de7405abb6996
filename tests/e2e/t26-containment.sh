#!/bin/sh
# Containment: a hostile build context (directory or git) or a hostile base
# image can at most point inside itself.  Every path from a recipe, an
# archive or an image is resolved inside its root (util/root.h): links are
# followed as if the root were "/", never into the build machine's files.
. "$(dirname "$0")/lib.sh"

# A marker on the "host" that no image may ever contain: a file in a host
# directory named by absolute links below.  (Real attacks name /etc/shadow;
# a private marker proves the same without depending on the machine.)
HOSTDIR="$TMP/host"
mkdir -p "$HOSTDIR/etc/ssh" "$HOSTDIR/sub"
echo HOST-SECRET >"$HOSTDIR/etc/hostname"
echo HOST-KEY >"$HOSTDIR/etc/ssh/key"

# layer_tar: a python helper opening a layer blob whatever its compression.
cat >"$TMP/layers.py" <<'PY'
import io, json, subprocess, sys, tarfile
def image(d):
    b = lambda g: open(d + "/blobs/sha256/" + g.split(":")[1], "rb").read()
    idx = json.load(open(d + "/index.json"))["manifests"]
    top = [x for x in idx if "org.opencontainers.image.ref.name" in x.get("annotations", {})]
    m = json.loads(b(top[0]["digest"]))
    out = []
    for l in m["layers"]:
        data = b(l["digest"])
        if data[:4] == b"\x28\xb5\x2f\xfd":
            data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
        out.append(tarfile.open(fileobj=io.BytesIO(data)))
    return out
PY
PYTHONPATH="$TMP"
export PYTHONPATH

# image_files NAME: "path<TAB>content" of every regular file in the image,
# the last layer's version winning.
image_files() {
	rm -rf "$TMP/x.oci" && stele copy -q "$1" "oci:$TMP/x.oci" >/dev/null &&
	python3 - "$TMP/x.oci" <<'PY'
import sys, layers
files = {}
for t in layers.image(sys.argv[1]):
    for e in t:
        if e.isfile():
            files[e.name] = t.extractfile(e).read().decode(errors="replace").strip()
for k in sorted(files):
    print(k + "\t" + files[k])
PY
}

no_host_data() { ! grep -q 'HOST-' "$1"; }

# The hostile context: links to the host, absolute and relative, chained,
# in parents, and with ".." after a link.
make_ctx() {
	mkdir -p "$1/etc/ssh" "$1/deep/a/b" "$1/real" &&
	echo context-hostname >"$1/etc/hostname" &&
	echo context-key >"$1/etc/ssh/key" &&
	ln -s "$HOSTDIR" "$1/hostlink" &&       # absolute, to a host dir
	ln -s / "$1/rootlink" &&                # the root itself
	ln -s ../../../../../../../.. "$1/reldir" && # climbs far above
	ln -s rootlink "$1/l1" && ln -s l1 "$1/l2" && # links to links
	ln -s "$HOSTDIR/etc/hostname" "$1/filelink" && # absolute file link
	ln -s ../../.. "$1/deep/a/b/up" &&      # relative, in a subdirectory
	ln -s "$HOSTDIR/sub/.." "$1/real/dotdot" && # ".." in a link target
	mkdir -p "$1$HOSTDIR/etc" && echo context-shadowed >"$1$HOSTDIR/etc/hostname"
}

copy_case() { # NAME SOURCE: build COPY SOURCE /out from the context
	printf 'FROM scratch\nCOPY %s /out\n' "$2" >"$TMP/ctx/Dockerfile.$1"
}

test_expect_success 'directory context: links never leave the context' '
	make_ctx "$TMP/ctx" &&
	printf "FROM scratch\nCOPY rootlink%s/etc/hostname /h1\nCOPY hostlink/etc/hostname /h2\nCOPY reldir/etc/hostname /h3\nCOPY l2/etc/hostname /h4\nCOPY deep/a/b/up/etc/hostname /h5\nCOPY filelink /h6\nCOPY real/dotdot/etc/hostname /h7\nCOPY rootlink/etc/ssh/. /ssh/\n" "" >"$TMP/ctx/Dockerfile" &&
	stele build -q -t esc:dir "$TMP/ctx" >/dev/null &&
	image_files esc:dir >files &&
	cat files && no_host_data files &&
	grep -q "^h1	context-hostname" files &&
	grep -q "^h2	context-shadowed" files &&
	grep -q "^h3	context-hostname" files &&
	grep -q "^h4	context-hostname" files &&
	grep -q "^h5	context-hostname" files &&
	grep -q "^h6	context-shadowed" files &&
	grep -q "^h7	context-shadowed" files &&
	grep -q "^ssh/key	context-key" files
'

test_expect_success 'directory context: a link to a host path the context lacks is not found' '
	mkdir -p ctx2 && ln -s /etc ctx2/hostetc &&
	printf "FROM scratch\nCOPY hostetc/hostname /h\n" >ctx2/Dockerfile &&
	expect_code 3 stele build -q -t esc:missing ctx2 2>err &&
	grep -q "not found in the build context" err &&
	! stele inspect esc:missing >/dev/null 2>&1
'

test_expect_success 'directory context: a link loop is an error naming the path' '
	mkdir -p ctx3 && ln -s loop2 ctx3/loop1 && ln -s loop1 ctx3/loop2 &&
	printf "FROM scratch\nCOPY loop1/x /x\n" >ctx3/Dockerfile &&
	expect_code 3 stele build -q -t esc:loop ctx3 2>err &&
	grep -q "too many levels of symbolic links" err && grep -q "loop1" err
'

test_expect_success 'git context: the same links resolve inside the tree' '
	rm -rf repo && cp -a "$TMP/ctx" repo && git -C repo init -q -b main &&
	git_commit repo hostile &&
	stele build -q -t esc:git "repo#main" >/dev/null &&
	image_files esc:git >gfiles && cat gfiles && no_host_data gfiles &&
	grep -q "^h1	context-hostname" gfiles &&
	grep -q "^h2	context-shadowed" gfiles &&
	grep -q "^h5	context-hostname" gfiles &&
	grep -q "^ssh/key	context-key" gfiles &&
	image_files esc:dir >dfiles && cmp dfiles gfiles
'

test_expect_success 'ADD through links stays inside the context; ADD of a directory and of an absolute link' '
	mkdir -p ctx4/dir/sub && echo in-dir >ctx4/dir/sub/f &&
	ln -s "$HOSTDIR" ctx4/hostlink && ln -s /dir ctx4/abslink &&
	(cd "$HOSTDIR" && tar cf "$TMP/host.tar" etc) &&
	mkdir -p "ctx4$HOSTDIR" && (cd ctx4/dir && tar cf "$TMP/ctx4$HOSTDIR/a.tar" sub) &&
	printf "FROM scratch\nADD dir /d/\nADD abslink /e/\nADD hostlink/a.tar /t/\n" >ctx4/Dockerfile &&
	stele build -q -t esc:add ctx4 >/dev/null &&
	image_files esc:add >afiles && cat afiles && no_host_data afiles &&
	grep -q "^d/sub/f	in-dir" afiles &&
	grep -q "^e/sub/f	in-dir" afiles &&
	grep -q "^t/sub/f	in-dir" afiles
'

# A hostile base image: links that point at the host's directories.
test_expect_success 'hostile base image: COPY --from, WORKDIR and --chown stay inside it' '
	mkdir -p base/app base/data base/etc &&
	ln -s /etc base/app/cfg &&
	ln -s "$HOSTDIR" base/app/host &&
	ln -s / base/app/root &&
	echo base-hostname >base/etc/hostname &&
	ln -s /data/passwd base/etc/passwd &&
	echo "app:x:4321:4321::/:/bin/sh" >base/data/passwd &&
	stele import -q -t hostile:base base >/dev/null &&
	echo f >ctx5f &&
	mkdir -p ctx5 && echo f >ctx5/f &&
	printf "FROM hostile:base AS base\nFROM scratch\nCOPY --from=base /app/cfg/hostname /a\nCOPY --from=base /app/root/etc/hostname /b\nCOPY --from=hostile:base /app/cfg/hostname /c\n" >ctx5/Dockerfile &&
	stele build -q -t esc:from ctx5 >/dev/null &&
	image_files esc:from >ffiles && cat ffiles && no_host_data ffiles &&
	grep -q "^a	base-hostname" ffiles &&
	grep -q "^b	base-hostname" ffiles &&
	grep -q "^c	base-hostname" ffiles &&
	printf "FROM scratch\nCOPY --from=hostile:base /app/host/etc/hostname /x\n" >ctx5/Dockerfile.h &&
	expect_code 3 stele build -q -f ctx5/Dockerfile.h -t esc:fromhost ctx5 2>err &&
	grep -q "not found" err
'

test_expect_success 'hostile base image: relative chains, links to links and .. after a link stay inside it' '
	mkdir -p base2/app/deep base2/etc && echo base2-hostname >base2/etc/hostname &&
	ln -s l2 base2/app/l1 && ln -s ../../../../../../etc base2/app/l2 &&
	ln -s "$HOSTDIR/sub/.." base2/app/dd && ln -s ../.. base2/app/deep/up &&
	stele import -q -t hostile:base2 base2 >/dev/null &&
	printf "FROM scratch\nCOPY --from=hostile:base2 /app/l1/hostname /a\nCOPY --from=hostile:base2 /app/deep/up/app/deep/up/etc/hostname /b\n" >ctx5/Dockerfile.c &&
	stele build -q -f ctx5/Dockerfile.c -t esc:chain ctx5 >/dev/null &&
	image_files esc:chain >cfiles && cat cfiles && no_host_data cfiles &&
	grep -q "^a	base2-hostname" cfiles && grep -q "^b	base2-hostname" cfiles &&
	printf "FROM scratch\nCOPY --from=hostile:base2 /app/dd/etc/hostname /c\n" >ctx5/Dockerfile.d &&
	expect_code 3 stele build -q -f ctx5/Dockerfile.d -t esc:dd ctx5 2>err && grep -q "not found" err
'

test_expect_success 'git context: ADD and COPY through links stay inside the tree' '
	rm -rf repo4 && cp -a ctx4 repo4 && git -C repo4 init -q -b main && git_commit repo4 hostile &&
	stele build -q -t esc:gitadd "repo4#main" >/dev/null &&
	image_files esc:gitadd >gafiles && cat gafiles && no_host_data gafiles &&
	grep -q "^d/sub/f	in-dir" gafiles && grep -q "^t/sub/f	in-dir" gafiles
'

test_expect_success 'hostile base image: user names come from the image (links inside it)' '
	printf "FROM hostile:base\nCOPY --chown=app f /owned\n" >ctx5/Dockerfile.u &&
	stele build -q -f ctx5/Dockerfile.u -t esc:chown ctx5 >/dev/null &&
	rm -rf x.oci && stele copy -q esc:chown oci:x.oci >/dev/null &&
	python3 - x.oci <<-PY
	import sys, layers
	t = layers.image(sys.argv[1])[-1]
	e = t.getmember("owned")
	assert (e.uid, e.gid) == (4321, 4321), (e.uid, e.gid)
	PY
'

test_expect_success 'hostile base image: WORKDIR through a link to a host directory makes it in the image' '
	printf "FROM hostile:base\nWORKDIR /app/host/sub\n" >ctx5/Dockerfile.w &&
	stele build -q -f ctx5/Dockerfile.w -t esc:wd ctx5 >/dev/null &&
	rm -rf x.oci && stele copy -q esc:wd oci:x.oci >/dev/null &&
	python3 - x.oci "${HOSTDIR#/}" <<-PY &&
	import sys, layers
	l = layers.image(sys.argv[1])
	assert len(l) == 2, l
	names = l[-1].getnames()
	assert sys.argv[2] + "/sub" in names, names
	PY
	test -z "$(ls -A "$HOSTDIR/sub")"
'

if command -v runc >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
test_expect_success 'RUN: a WORKDIR through a link in the image never creates host directories' '
	make_busybox_base bb:test &&
	printf "FROM bb:test\nRUN ln -s %s /escape\nWORKDIR /escape/runmade\nRUN pwd >/pwd.txt\n" "$HOSTDIR" >ctx5/Dockerfile.r &&
	stele build -q -f ctx5/Dockerfile.r -t esc:run ctx5 >/dev/null &&
	test ! -e "$HOSTDIR/runmade" &&
	image_files esc:run >rfiles && grep -q "^pwd.txt	.*/runmade$" rfiles
'
else
	test_skip 'RUN: a WORKDIR through a link' 'needs runc and root'
fi

test_done
