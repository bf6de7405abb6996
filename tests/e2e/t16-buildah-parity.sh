#!/bin/sh
# Issue 13's instructions and flags against buildah bud, a reference
# builder: where buildah 1.28 and BuildKit agree, the file tree and the
# config of one combined recipe are compared with buildah's; where buildah
# 1.28 refuses a flag (heredocs, RUN --network, COPY/ADD --link, --parents,
# --exclude, symbolic --chmod, ADD --checksum, --keep-git-dir), the result
# BuildKit documents is stated here and asserted.  t07 compares COPY, ENV,
# .dockerignore, stages, VOLUME, MAINTAINER and RUN --mount=type=bind; t45
# and t47 hold the error cases.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
make_busybox_base bb:1
printf 'not-in-any-layer-%s' 5e1c >secret.txt

mkdir -p ctx/src/sub ctx/a/b ctx/a/c && echo one >ctx/src/one.txt && echo two >ctx/src/sub/two.txt &&
	echo x >ctx/a/b/c.txt && echo y >ctx/a/c/d.txt && echo png >ctx/a/b/i.png && printf '#!/bin/sh\n' >ctx/src/run &&
	chmod 755 ctx/src/run && echo f >ctx/f

# Where buildah 1.28 and BuildKit agree.  buildah 1.28 leaves in the layer
# the mount points it creates (/run/secrets, /cache, /scratch, /x), and
# deletes a directory of the base it mounted a cache or tmpfs on; BuildKit
# does neither (and a tmpfs on /tmp breaks buildah 1.28's next secret mount
# in chroot isolation): the targets are new directories, left out of
# buildah's tree, and stele's must not have them.  Its VOLUME makes the
# directories in the tree (/data, /var/log); BuildKit's never does: they
# are left out of buildah's tree too.  COPY --chmod=0640 of a directory's
# contents leaves the destination it creates 0755 in buildah 1.28 (and in
# BuildKit before moby/buildkit#4945 was fixed, tonistiigi/fsutil#228);
# BuildKit now gives it the --chmod mode: 0640, put in buildah's place.
cat >ctx/both.df <<'DF'
# syntax=docker/dockerfile:1
# check=skip=all
FROM bb:1
MAINTAINER Jane Doe <jane@example.com>
EXPOSE 80 53/udp 8080/tcp
HEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=2s --retries=3 CMD wget -q http://localhost/ || exit 1
ONBUILD COPY f /from-trigger
RUN echo "$HOME" >/home-root
RUN --mount=type=cache,target=/cache/c,id=c1 echo cached >/cache/c/kept && ls /cache/c >/cache-ls
RUN --mount=type=cache,target=/cache/c,id=c1 ls /cache/c >/cache-ls2
RUN --mount=type=tmpfs,target=/scratch echo t >/scratch/t && ls /scratch >/tmpfs-ls
RUN --mount=type=secret,id=tok wc -c </run/secrets/tok >/secret-len && stat -c %a /run/secrets/tok >/secret-mode
RUN --mount=type=secret,id=tok,target=/x/tok,mode=0440 wc -c </x/tok >/secret-len2 && stat -c %a /x/tok >/secret-mode2
COPY --chown=nobody:nobody src/one.txt /own-name
COPY --chown=1000 src/one.txt /own-uid
COPY --chown=1000:2000 --chmod=0640 src/ /own-dir/
ADD --chown=nobody --chmod=700 src/run /add-own
USER nobody
RUN echo "$HOME" >/tmp/home-nobody
USER 1234:1234
RUN echo "$HOME" >/tmp/home-1234
VOLUME /data /var/log
DF

# tree DIR: one line per entry of an unpacked rootfs, what the layer says of it.
tree() { (cd "$1" && find . -printf "%p %m %u %g %y %l %s\n" | sort); }

if command -v buildah >/dev/null 2>&1; then
	# buildah keeps cache mounts under $TMPDIR (else /var/tmp).
	mkdir btmp && B="env TMPDIR=$TMP/btmp buildah --root $TMP/bs --runroot $TMP/br --storage-driver vfs"
	test_expect_success 'the instructions buildah 1.28 knows: the same file tree, files and config as buildah' '
		skopeo copy -q "oci:$STELE_STORE:bb:1" "containers-storage:[vfs@$TMP/bs+$TMP/br]localhost/bb:1" >/dev/null &&
		$B bud --format docker --isolation chroot -q --secret id=tok,src=$TMP/secret.txt \
			-f ctx/both.df -t localhost/both:1 ctx >/dev/null &&
		$B push -q localhost/both:1 "oci:$TMP/b:x" >/dev/null &&
		$B inspect --type image localhost/both:1 >b-inspect.json &&
		stele build -q --secret id=tok,src=$TMP/secret.txt -f ctx/both.df -o "oci:$TMP/s:x" ctx >/dev/null &&
		umoci unpack --image b:x ub >/dev/null && umoci unpack --image s:x us >/dev/null &&
		tree ub/rootfs | grep -vE "^\./(etc/hostname|etc/hosts|etc/resolv\.conf|run|run/secrets|cache|cache/c|scratch|x|data|var|var/log) " |
			sed "s|^\./own-dir 755 |./own-dir 640 |" >b.tree &&
		tree us/rootfs >s.tree && diff b.tree s.tree &&
		! grep -E "^\./(run|cache|scratch|x|data|var) " s.tree &&
		for f in home-root cache-ls cache-ls2 tmpfs-ls secret-len secret-mode secret-len2 secret-mode2 tmp/home-nobody tmp/home-1234; do
			cmp ub/rootfs/$f us/rootfs/$f || return 1
		done &&
		[ "$(cat us/rootfs/home-root us/rootfs/tmp/home-nobody us/rootfs/tmp/home-1234)" = "/root
/nonexistent
/" ] && [ "$(cat us/rootfs/cache-ls2)" = kept ] && [ "$(cat us/rootfs/tmpfs-ls)" = t ] && [ "$(cat us/rootfs/secret-len)" = 21 ] &&
		! grep -rl not-in-any-layer b s &&
		python3 - <<-\PY
		import json
		def cfg(o):
		    idx = json.load(open(o + "/index.json"))
		    d = [m for m in idx["manifests"] if "artifactType" not in m][0]["digest"]
		    m = json.load(open(o + "/blobs/sha256/" + d[7:]))
		    c = json.load(open(o + "/blobs/sha256/" + m["config"]["digest"][7:]))
		    return dict(c["config"], author=c.get("author"))
		a, b = cfg("b"), cfg("s")
		a.get("Labels", {}).pop("io.buildah.version", None)
		if not a.get("Labels"): a.pop("Labels", None)
		# buildah writes HEALTHCHECK and ONBUILD only into a Docker-format
		# config, which its OCI copy drops: they are compared from there.
		d = json.load(open("b-inspect.json"))["Docker"]["config"]
		for k in ("Healthcheck", "OnBuild"):
		    assert k not in a, (k, a)
		    a[k] = d[k]
		bad = [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
		for x in bad: print("config differs:", x)
		assert not bad
		assert b["author"] == "Jane Doe <jane@example.com>" and sorted(b["Volumes"]) == ["/data", "/var/log"], b
		assert b["Healthcheck"]["Test"] == ["CMD-SHELL", "wget -q http://localhost/ || exit 1"], b
		assert b["OnBuild"] == ["COPY f /from-trigger"] and b["User"] == "1234:1234", b
		PY
	'
	# A child of that image: its ONBUILD trigger runs (and is not passed on),
	# HEALTHCHECK NONE; buildah 1.28 has no --start-interval (t07 asserts
	# BuildKit's).
	test_expect_success 'ONBUILD run in a child, HEALTHCHECK NONE: the same tree and config as buildah' '
		printf "FROM localhost/both:1\nHEALTHCHECK NONE\n" >ctx/child.df &&
		$B bud --format docker --isolation chroot -q -f ctx/child.df -t localhost/child:1 ctx >/dev/null &&
		$B push -q localhost/child:1 "oci:$TMP/bc:x" >/dev/null &&
		$B inspect --type image localhost/child:1 >bc-inspect.json &&
		sed "s|localhost/both:1|oci:$TMP/s:x|" ctx/child.df >ctx/child-s.df &&
		stele build -q -f ctx/child-s.df -o "oci:$TMP/sc:x" ctx >/dev/null &&
		umoci unpack --image bc:x ubc >/dev/null && umoci unpack --image sc:x usc >/dev/null &&
		tree ubc/rootfs | grep -vE "^\./(etc/hostname|etc/hosts|etc/resolv\.conf|run|run/secrets|cache|cache/c|scratch|x|data|var|var/log) " |
			sed "s|^\./own-dir 755 |./own-dir 640 |" >bc.tree &&
		tree usc/rootfs >sc.tree && diff bc.tree sc.tree && [ "$(cat usc/rootfs/from-trigger)" = f ] &&
		stele inspect --json oci:$TMP/sc:x >sc.json &&
		python3 - <<-\PY
		import json
		d = json.load(open("bc-inspect.json"))["Docker"]["config"]
		c = json.load(open("sc.json"))["config"]["config"]
		assert d["Healthcheck"] == c["Healthcheck"] == {"Test": ["NONE"]}, (d, c)
		assert not d.get("OnBuild") and "OnBuild" not in c, (d, c)
		PY
	'
	# Each flag below is refused by buildah 1.28 (it predates them); should a
	# newer buildah take one, it belongs in the comparison above instead.
	if buildah --version | grep -q 'version 1\.28\.'; then
		# refused LINES MESSAGE: buildah 1.28 fails on the recipe, saying MESSAGE.
		refused() {
			printf "FROM bb:1\n%b\n" "$1" >ctx/refused.df &&
			! $B bud --isolation chroot -q -f ctx/refused.df ctx >out 2>&1 &&
			if ! grep -qF "$2" out; then cat out; echo "buildah did not refuse: $1"; return 1; fi
		}
		test_expect_success 'buildah 1.28 refuses what is asserted below against BuildKit instead' '
			refused "RUN <<EOF\ntrue\nEOF" "Unknown instruction: \"TRUE\"" &&
			refused "COPY <<EOF /x\nx\nEOF" "\"/<<EOF\": no such file" &&
			refused "RUN --network=none true" "RUN only supports the --mount flag" &&
			for l in "COPY --link f /x" "COPY --parents f /x/" "COPY --exclude=*.png f /x"; do
				refused "$l" "COPY only supports the --chmod=<permissions> --chown=<uid:gid> and the --from" || return 1
			done &&
			refused "COPY --chmod=u+x f /x" "Error parsing chmod u+x" &&
			refused "ADD --keep-git-dir=false f /x" "ADD only supports the --chmod" &&
			refused "ADD --checksum=sha256:$(printf %064d 0) http://127.0.0.1:1/x /x" "ADD only supports the --chmod"
		'
	else
		test_skip 'buildah 1.28 refuses what is asserted against BuildKit' "buildah is $(buildah --version), not 1.28: its refusals are not known"
	fi
else
	test_skip 'comparison with buildah' 'buildah is not installed'
fi

# Where buildah 1.28 knows nothing: BuildKit's results, as its Dockerfile
# reference documents them, are written out below.
mkdir -p www && echo payload >www/app.bin && mkdir g && git -C g init -q -b main && echo from-git >g/g.txt && git_commit g g
start_http_server "$TMP/www"
SUM=sha256:$(sha256sum www/app.bin | cut -d" " -f1)
{
	cat <<'DF'
FROM bb:1
ARG NAME=world
RUN <<EOF
echo one-heredoc >/hd-run
EOF
RUN cat <<A >/hd-a && cat <<"B" >/hd-b
a $NAME
A
b $NAME
B
DF
	printf 'RUN <<-EOF\n\techo tabs-stripped >/hd-tabs\n\tEOF\n'
	cat <<'DF'
COPY <<EOF /hd-copy
hello $NAME
EOF
DF
	printf 'COPY <<-X <<Y /hd-dir/\n\tx-tab\n\tX\ny\nY\n'
	cat <<'DF'
RUN --network=none ls /sys/class/net >/net-none
COPY --link src/one.txt /link/
COPY --parents a/./b/c.txt src/*/two.txt /par/
COPY --exclude=**/*.png --exclude=c a/ /exc/
COPY --chmod=u+x,go-r src/one.txt /sym-file
COPY --chmod=a=rX src/ /sym-dir/
ADD --keep-git-dir=false git+file://GIT#main /git/
ADD --checksum=SUM URL/app.bin /dl/
DF
} | sed "s|GIT|$TMP/g|; s|SUM|$SUM|; s|URL|http://127.0.0.1:$(cat port)|" >ctx/buildkit.df

# BuildKit: a RUN heredoc is the script (run with SHELL; <<- strips the
# tabs); heredocs left on a line go back to the shell, which expands an
# unquoted one; COPY <<EOF /path writes the heredoc to /path, 0644, ARG and
# ENV expanded; several on one COPY are files named X and Y in the directory;
# --network=none has only lo; --link copies as COPY; --parents keeps the
# path from the context root (from /./ when given); --exclude drops matches
# below each source directory (**/*.png at any depth, c the directory);
# symbolic --chmod applies to each entry's own mode (0644 u+x,go-r is 0700;
# a=rX gives 0444 files, 0555 directories and executables); --keep-git-dir=false adds the tree without .git; a pinned
# download is named by the URL, mode 0600, never unpacked.
cat >want.tree <<'EOF'
./dl 755 root root d
./dl/app.bin 600 root root f  8
./exc 755 root root d
./exc/b 755 root root d
./exc/b/c.txt 644 root root f  2
./git 755 root root d
./git/g.txt 644 root root f  9
./hd-a 644 root root f  8
./hd-b 644 root root f  8
./hd-copy 644 root root f  12
./hd-dir 755 root root d
./hd-dir/X 644 root root f  6
./hd-dir/Y 644 root root f  2
./hd-run 644 root root f  12
./hd-tabs 644 root root f  14
./link 755 root root d
./link/one.txt 644 root root f  4
./net-none 644 root root f  3
./par 755 root root d
./par/b 755 root root d
./par/b/c.txt 644 root root f  2
./par/src 755 root root d
./par/src/sub 755 root root d
./par/src/sub/two.txt 644 root root f  4
./sym-dir 555 root root d
./sym-dir/one.txt 444 root root f  4
./sym-dir/run 555 root root f  10
./sym-dir/sub 555 root root d
./sym-dir/sub/two.txt 444 root root f  4
./sym-file 700 root root f  4
EOF
test_expect_success 'heredocs, RUN --network, --link, --parents, --exclude, symbolic --chmod, --keep-git-dir, --checksum: BuildKit'"'"'s results' '
	stele build -q -f ctx/buildkit.df -o "oci:$TMP/k:x" ctx >/dev/null &&
	umoci unpack --image k:x uk >/dev/null &&
	tree uk/rootfs | grep -E "^\./(dl|exc|git|hd-|link|net-none|par|sym-)" | sed "s/ d  [0-9]*\$/ d/" >k.tree &&
	diff want.tree k.tree &&
	r=uk/rootfs && [ "$(cat $r/hd-run)" = one-heredoc ] && [ "$(cat $r/hd-a)" = "a world" ] &&
	[ "$(cat $r/hd-b)" = "b \$NAME" ] && [ "$(cat $r/hd-tabs)" = tabs-stripped ] &&
	[ "$(cat $r/hd-copy)" = "hello world" ] && [ "$(cat $r/hd-dir/X)" = x-tab ] && [ "$(cat $r/hd-dir/Y)" = y ] &&
	[ "$(cat $r/net-none)" = lo ] && [ "$(cat $r/dl/app.bin)" = payload ] && [ "$(cat $r/git/g.txt)" = from-git ]
'
