#!/bin/sh
# A hostile tar cannot write outside its target: `stele import` and the
# extraction of a FROM base both reject it, naming the entry.
. "$(dirname "$0")/lib.sh"

mkdir outside
# The corpus, made here: one tarball per attack.
python3 - "$TMP" <<'PY'
import io, os, sys, tarfile
tmp = sys.argv[1]
def tar(name, members):
    with tarfile.open(os.path.join(tmp, name + ".tar"), "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def f(name, data=b"pwned\n"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def d(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; return (i, None)
def l(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; return (i, None)
def dev(name, kind):
    i = tarfile.TarInfo(name); i.type = kind; i.devmajor = 1; i.devminor = 3; return (i, None)
out = os.path.join(tmp, "outside")
tar("dotdot", [d("ok"), f("../outside/evil")])
tar("absolute", [f(out + "/evil")])
tar("nested-dotdot", [d("a"), f("a/../../outside/evil")])
tar("symlink-escape", [l("link", out), f("link/evil")])
tar("symlink-dotdot", [l("up", ".."), f("up/outside/evil")])
tar("hardlink-abs", [l("h", "/etc/passwd", tarfile.LNKTYPE)])
tar("hardlink-dotdot", [l("h", "../outside/x", tarfile.LNKTYPE)])
tar("chardev", [dev("null", tarfile.CHRTYPE)])
tar("blockdev", [dev("sda", tarfile.BLKTYPE)])
PY

attacks="dotdot absolute nested-dotdot symlink-escape symlink-dotdot hardlink-abs hardlink-dotdot chardev blockdev"

mkdir ctx && echo hi >ctx/a && printf 'FROM oci:%s/base:evil\nCOPY a /a\n' "$TMP" >ctx/Dockerfile
for a in $attacks; do
	test_expect_success "import rejects the $a tar, naming the entry" "
		expect_code 3 stele import -q -t x:1 $a.tar 2>err; rc=\$?; cat err
		[ \$rc = 0 ] && grep -q \"entry '\" err &&
		[ -z \"\$(ls -A outside)\" ] && ! ls \"\$STELE_STORE\" 2>/dev/null | grep -q .
	"
	test_expect_success "a FROM base with the $a layer is rejected" "
		rm -rf base && make_tar_layout $a.tar base evil >/dev/null &&
		expect_code 3 stele build -q -t y:1 ctx 2>err; rc=\$?; cat err
		[ \$rc = 0 ] && grep -q 'Dockerfile:2: COPY' err && grep -q \"entry '\" err &&
		[ -z \"\$(ls -A outside)\" ] && ! ls \"\$STELE_STORE\" 2>/dev/null | grep -q .
	"
done
test_expect_success 'nothing was written outside the targets' '
	[ -z "$(ls -A outside)" ] && [ "$(grep -c pwned /etc/passwd)" = 0 ]
'
