#!/bin/sh
# stele sbom of an Alpine-style root filesystem (a hand-written
# lib/apk/db/installed with P V A o L F R Z c fields, imported with stele
# import): the package list round-trips in SPDX and CycloneDX, purls are
# pkg:apk/alpine/...&distro=alpine-VERSION_ID, a file whose bytes disagree
# with its Z: checksum is reported as modified, a file no package lists is
# unowned; a homepage (U) that is no well-formed URL is left out.  Both
# documents pass an independent validator (the published
# JSON schemas and the SPDX 2.3 rules, tests/e2e/sbomvalid.py), which
# rejects each deliberately broken copy of them for its own fault; the
# CycloneDX project's npm validator also runs where t50 installed it.
# Then rpm: packages built with rpmbuild and recorded with `rpm --initdb` and
# `rpm -i --justdb` (Debian's rpm 4.18, sqlite backend) round-trip against
# `rpm -qa`; a file whose digest disagrees with its header is modified; a
# database with changes only in its WAL, a corrupt database and a malformed
# header are refused.  The rpm documents pass the same validator.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/sbomvalid-lib.sh"

H="$TOP/tests/e2e/sbomimg.py"
mkdir -p root/lib/apk/db root/bin root/etc root/usr/bin root/lib
printf 'ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n' >root/etc/os-release
printf 'musl loader\n' >root/lib/ld-musl-x86_64.so.1
printf 'busybox binary\n' >root/bin/busybox
printf 'tampered scanelf\n' >root/usr/bin/scanelf
printf 'nobody owns me\n' >root/bin/extra
z() { printf 'Q1%s' "$(printf '%s\n' "$1" | openssl dgst -sha1 -binary | base64)"; }
cat >root/lib/apk/db/installed <<EOF
C:Q1wDbUdaGdIIGMt0VqeGI/5fasxD0=
P:musl
V:1.2.5-r0
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712087767
c:4fe5ec52c5d2d8a3d1d3b8de54a9e0c4cb3e1f3f
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:$(z 'musl loader')

P:busybox
V:1.36.1-r29
A:x86_64
U:https://busybox.net/%zz
L:GPL-2.0-only
o:busybox
c:1f71d2a1b8a3d56f1e2b6b6e2a1b0c0a3f9d1a22
F:bin
R:busybox
a:0:0:755
Z:$(z 'busybox binary')

P:scanelf
V:1.3.7-r2
A:x86_64
L:GPL-2.0-only
o:pax-utils
F:usr/bin
R:scanelf
Z:$(z 'the real scanelf')

EOF
cat >want.txt <<EOF
busybox 1.36.1-r29
musl 1.2.5-r0
scanelf 1.3.7-r2
EOF

test_expect_success 'import the apk root filesystem' '
	stele import -q -t alp:1 root >digest
'
for f in spdx cyclonedx; do
	test_expect_success "$f: the package list round-trips" "
		stele sbom -f $f -o alp.$f.json alp:1 &&
		python3 \"\$H\" summary alp.$f.json >sum.$f && cat sum.$f &&
		sed -n 's/^pkg \\([^ ]*\\) \\([^ ]*\\) .*/\\1 \\2/p' sum.$f | sort >got.$f &&
		diff -u want.txt got.$f
	"
done
test_expect_success 'the two formats agree on everything' '
	diff -u sum.spdx sum.cyclonedx
'
test_expect_success 'purls: pkg:apk/alpine with arch, distro and upstream (the origin)' '
	grep -q "^pkg musl 1.2.5-r0 pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3 " sum.spdx &&
	grep -q "^pkg scanelf 1.3.7-r2 pkg:apk/alpine/scanelf@1.3.7-r2?arch=x86_64&distro=alpine-3.20.3&upstream=pax-utils " sum.spdx
'
test_expect_success 'a Z: checksum mismatch is a finding; an unlisted file is unowned; listed files are not' '
	grep -q "^modified /usr/bin/scanelf scanelf " sum.spdx &&
	grep -q "^unowned /bin/extra $(printf "nobody owns me\n" | sha256sum | cut -d" " -f1) " sum.spdx &&
	! grep -q "^unowned /bin/busybox " sum.spdx && ! grep -q "^unowned /lib/ld-musl" sum.spdx
'
test_expect_success 'license (L), origin and aports commit (c) are in the documents' '
	python3 - <<-PY
	import json
	d = json.load(open("alp.cyclonedx.json"))
	m = [c for c in d["components"] if c["name"] == "musl"][0]
	assert m["licenses"] == [{"license": {"name": "MIT"}}], m
	p = {x["name"]: x["value"] for x in m["properties"]}
	assert p["stele:package:source"] == "musl 1.2.5-r0" and p["stele:package:files"] == "1", p
	assert p["stele:package:commit"] == "4fe5ec52c5d2d8a3d1d3b8de54a9e0c4cb3e1f3f", p
	s = json.load(open("alp.spdx.json"))
	m = [c for c in s["packages"] if c["name"] == "musl"][0]
	assert "MIT" in m["comment"] and m["homepage"] == "https://musl.libc.org/", m
	assert m["sourceInfo"].endswith("at commit 4fe5ec52c5d2d8a3d1d3b8de54a9e0c4cb3e1f3f"), m
	PY
'
test_expect_success 'byte-identical when made again' '
	stele sbom -f cyclonedx alp:1 | cmp - alp.cyclonedx.json &&
	stele sbom alp:1 | cmp - alp.spdx.json
'
if sv_ready; then
	test_expect_success 'SPDX 2.3 and CycloneDX 1.6: the schemas and the SPDX rules accept both documents' '
		sbom_valid spdx alp.spdx.json && sbom_valid cyclonedx alp.cyclonedx.json &&
		! grep -q "busybox.net" alp.spdx.json alp.cyclonedx.json
	'
	test_expect_success 'and reject every deliberately broken copy, each for its own fault' '
		sbom_mutants spdx alp.spdx.json && sbom_mutants cyclonedx alp.cyclonedx.json
	'
else
	test_skip 'SPDX 2.3 and CycloneDX 1.6 validator' "$SV_WHY"
fi
test_expect_success 'a malformed installed database is refused, naming the line' '
	printf "P:bad\nV:1\nnonsense\n" >root/lib/apk/db/installed &&
	stele import -q -t alp:bad root >/dev/null &&
	expect_code 3 stele sbom alp:bad >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "lib/apk/db/installed.*line 3: not a .K:value. line" err
'
NPMDIR=${STELE_NPM_CACHE:-/var/cache/stele/npm-validate}
if command -v node >/dev/null 2>&1 && [ -d "$NPMDIR/node_modules/@cyclonedx/cyclonedx-library" ]; then
	test_expect_success 'the CycloneDX validator accepts the document' '
		NODE_PATH="$NPMDIR/node_modules" node -e "
const { Validation, Spec } = require(\"@cyclonedx/cyclonedx-library\");
new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(require(\"fs\").readFileSync(\"alp.cyclonedx.json\", \"utf8\"))
  .then(e => { if (e !== null) { console.log(JSON.stringify(e)); process.exit(1); } console.log(\"valid\"); }, e => { console.log(String(e)); process.exit(2); });"
	'
else
	test_skip 'the CycloneDX validator accepts the document' "no @cyclonedx/cyclonedx-library in $NPMDIR (t50 installs it from the npm registry where it can)"
fi

# ---- rpm ----
if ! command -v rpmbuild >/dev/null 2>&1 || ! command -v rpm >/dev/null 2>&1; then
	test_skip 'rpm fixture' 'rpm and rpmbuild are not installed (Debian package rpm)'
	exit 0
fi
mkspec() { # NAME EPOCH VERSION RELEASE ARCH FILE CONTENT
	cat >"$1.spec" <<-EOF
	Name: $1
	${2:+Epoch: $2}
	Version: $3
	Release: $4
	Summary: test package
	License: MIT
	URL: https://example.invalid/$1
	BuildArch: $5
	%description
	test
	%install
	mkdir -p %{buildroot}$(dirname "$6")
	printf '$7\n' >%{buildroot}$6
	%files
	$6
	EOF
	rpmbuild -bb --define "_topdir $TMP/rpmtop" --define '__os_install_post %{nil}' \
		--define '_build_id_links none' --target "$5" "$1.spec" >"$1.log" 2>&1 || { cat "$1.log"; return 1; }
}
test_expect_success 'rpm: build two packages, record them in an rpm database (--justdb)' '
	mkspec hello 1 1.2 3.fc40 noarch /usr/bin/hello "hello" &&
	mkspec libfoo "" 2.0 1.fc40 x86_64 /usr/lib64/libfoo.so.2 "foo" &&
	mkdir -p rroot/var/lib/rpm rroot/usr/bin rroot/usr/lib64 rroot/etc &&
	rpm --dbpath "$TMP/rroot/var/lib/rpm" --initdb &&
	rpm --dbpath "$TMP/rroot/var/lib/rpm" -i --justdb --nodeps --ignorearch --ignoreos \
		rpmtop/RPMS/*/*.rpm 2>/dev/null &&
	printf "hello\n" >rroot/usr/bin/hello && printf "not foo\n" >rroot/usr/lib64/libfoo.so.2 &&
	printf "ID=fedora\nVERSION_ID=40\n" >rroot/etc/os-release &&
	rpm --dbpath "$TMP/rroot/var/lib/rpm" -qa --qf "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n" |
		sort >want.rpm && cat want.rpm && [ $(wc -l <want.rpm) = 2 ] &&
	stele import -q -t rpm:1 rroot >/dev/null
'
for f in spdx cyclonedx; do
	test_expect_success "rpm, $f: the package list is rpm -qa's" "
		stele sbom -f $f -o rpm.$f.json rpm:1 &&
		python3 \"\$H\" summary rpm.$f.json >rsum.$f && cat rsum.$f &&
		sed -n 's/^pkg \\([^ ]*\\) \\([^ ]*\\) .*/\\1 \\2/p' rsum.$f | sort >rgot.$f &&
		diff -u want.rpm rgot.$f
	"
done
test_expect_success 'rpm: purls with epoch and distro; a digest mismatch is modified; owned files are not unowned' '
	diff -u rsum.spdx rsum.cyclonedx && cat rsum.spdx &&
	grep -q "^pkg hello 1:1.2-3.fc40 pkg:rpm/fedora/hello@1.2-3.fc40?arch=noarch&distro=fedora-40&epoch=1 " rsum.spdx &&
	grep -q "^pkg libfoo 2.0-1.fc40 pkg:rpm/fedora/libfoo@2.0-1.fc40?arch=x86_64&distro=fedora-40 " rsum.spdx &&
	grep -q "^modified /usr/lib64/libfoo.so.2 libfoo " rsum.spdx && grep -q "sha256:" rpm.spdx.json &&
	! grep -q "^unowned /usr/bin/hello " rsum.spdx && ! grep -q "^modified /usr/bin/hello " rsum.spdx
'
if sv_ready; then
	test_expect_success 'rpm: the schemas and the SPDX rules accept both documents' '
		sbom_valid spdx rpm.spdx.json && sbom_valid cyclonedx rpm.cyclonedx.json
	'
else
	test_skip 'rpm: SPDX 2.3 and CycloneDX 1.6 validator' "$SV_WHY"
fi
test_expect_success 'rpm: a database with changes only in its write-ahead log is refused' '
	cp -a rroot wal && printf "x" >wal/var/lib/rpm/rpmdb.sqlite-wal &&
	stele import -q -t rpm:wal wal >/dev/null &&
	expect_code 3 stele sbom rpm:wal >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "write-ahead log" err
'
test_expect_success 'rpm: a corrupt database and a malformed header are refused' '
	cp -a rroot bad && printf "SQLite format 3\0garbage%0200d" 0 >bad/var/lib/rpm/rpmdb.sqlite &&
	stele import -q -t rpm:bad bad >/dev/null &&
	expect_code 3 stele sbom rpm:bad >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "var/lib/rpm/rpmdb.sqlite" err &&
	cp -a rroot hdr && python3 -c "
import sqlite3
c = sqlite3.connect(\"hdr/var/lib/rpm/rpmdb.sqlite\")
c.execute(\"UPDATE Packages SET blob = X\x27000000FF00000010\x27\")
c.commit()
c.execute(\"PRAGMA wal_checkpoint(TRUNCATE)\")
c.close()" &&
	stele import -q -t rpm:hdr hdr >/dev/null &&
	expect_code 3 stele sbom rpm:hdr >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "not a well-formed rpm header" err
'
