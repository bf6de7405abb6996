#!/bin/sh
# stele sbom over hand-written layers (tests/e2e/sbomimg.py): whiteouts and
# opaque directories hide what lower layers put there and never what their
# own layer holds, a package is dated to the layer that installed it, a
# merged-/usr symlink resolves ownership, hardlinks, distroless status.d;
# and every hostile database is refused with a clear error: a symlinked
# database or database directory, a malformed or NUL-holding status, one
# larger than the cap, an absolute entry, a corrupt layer blob; file names
# that are not UTF-8 or look like escapes keep bom-refs of their own.  Every
# document written passes the independent SPDX 2.3 and CycloneDX 1.6
# validator (tests/e2e/sbomvalid.py).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/sbomvalid-lib.sh"

H="$TOP/tests/e2e/sbomimg.py"
python3 "$H" make L
layer() { python3 "$H" diffids L "$1" | sed -n "${2}p"; }
sum() { stele sbom -f "$1" "oci:L:$2" >"$2.$1.json" && python3 "$H" summary "$2.$1.json"; }
# both TAG: the SPDX and CycloneDX summaries, which must agree, in sum.txt
both() { sum spdx "$1" >s1 && sum cyclonedx "$1" >s2 && diff -u s1 s2 && mv s1 sum.txt; }

test_expect_success 'one layer: the package, its purl, the unowned files, ownership through /bin -> usr/bin' '
	both base && cat sum.txt && L1=$(layer base 1) &&
	grep -qx "pkg a 1.0-1 pkg:deb/debian/a@1.0-1?arch=amd64&distro=debian-12 $L1" sum.txt &&
	grep -q "^unowned /usr/bin/b [0-9a-f]\{64\} $L1$" sum.txt &&
	! grep -q "/usr/bin/a2\? " sum.txt && ! grep -q "^modified" sum.txt &&
	grep -q "^unowned /usr/bin/b $(printf "unowned\n" | sha256sum | cut -d" " -f1) " sum.txt
'
test_expect_success 'a package is dated to the layer that installed its version' '
	both upgrade && cat sum.txt &&
	grep -q "^pkg a 1.0-1 .* $(layer upgrade 1)$" sum.txt &&
	grep -qx "pkg c 2:3.0+dfsg-1~bpo12+1 pkg:deb/debian/c@2%3A3.0%2Bdfsg-1~bpo12%2B1?arch=amd64&distro=debian-12 $(layer upgrade 2)" sum.txt &&
	grep -q "^unowned /usr/bin/d .* $(layer upgrade 3)$" sum.txt &&
	both newversion && grep -q "^pkg a 1.1-1 .* $(layer newversion 2)$" sum.txt
'
test_expect_success 'a status deleted by a whiteout in a later layer: no packages, its files unowned' '
	both wh-status && cat sum.txt && ! grep -q "^pkg" sum.txt &&
	grep -q "^unowned /usr/bin/a " sum.txt && ! grep -q "dpkg/status " sum.txt
'
test_expect_success 'an opaque directory and a file whiteout hide the lower layers' '
	both wh-opaque && cat sum.txt && ! grep -q "^pkg" sum.txt &&
	! grep -q "/var/lib/dpkg/" sum.txt && ! grep -q "/usr/bin/b " sum.txt &&
	grep -q "^unowned /usr/bin/a " sum.txt
'
test_expect_success 'a whiteout never hides an entry of its own layer' '
	both wh-same-layer && grep -q "^unowned /usr/bin/x " sum.txt &&
	grep -q "^unowned /usr/bin/y " sum.txt
'
test_expect_success 'a file whose bytes disagree with md5sums is a finding, dated to its layer' '
	both modified && cat sum.txt &&
	grep -qx "modified /usr/bin/a a $(layer modified 2)" sum.txt &&
	grep -q "md5:" modified.spdx.json && grep -q "content disagrees" modified.spdx.json
'
test_expect_success 'a hardlink carries its target bytes; distroless status.d and its md5sums' '
	both hardlink && grep -q "^unowned /usr/bin/a3 $(printf "#!/bin/sh\necho a\n" | sha256sum | cut -d" " -f1) $(layer hardlink 2)$" sum.txt &&
	both statusd && cat sum.txt &&
	grep -q "^pkg base-files 12.4+deb12u5 pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64 " sum.txt &&
	grep -q "^pkg tzdata 2024a-0+deb12u1 " sum.txt && ! grep -q "etc/debian_version" sum.txt
'
test_expect_success 'a malformed status in a lower layer, replaced above, is not an error' '
	both fixed-later && grep -q "^pkg a 1.0-1 .* $(layer fixed-later 2)$" sum.txt
'
test_expect_success 'timestamps: the image created (offset applied, fraction dropped); same bytes twice' '
	grep -q "\"created\":\"2024-02-03T03:05:06Z\"" base.spdx.json &&
	grep -q "\"timestamp\":\"2024-02-03T03:05:06Z\"" base.cyclonedx.json &&
	stele sbom oci:L:base >again.json && cmp again.json base.spdx.json &&
	stele sbom -f cyclonedx -o again2.json oci:L:base 2>/dev/null && cmp again2.json base.cyclonedx.json
'
# Names that jstr's escape alone would confuse: a modified usr/bin/a and an
# unowned "usr/bin/a#modified"; "usr/bin/b%FF" and usr/bin/b<0xff> (not
# UTF-8).  Each file keeps a bom-ref of its own.
python3 - "$TOP/tests/e2e" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import sbomimg
sbomimg.SCENARIOS = {"names": [sbomimg.BASE, [
    ("f", "usr/bin/a", "#!/bin/sh\necho trojan\n"), ("f", "usr/bin/a#modified", "x\n"),
    ("f", "usr/bin/b%FF", "1\n"), ("f", b"usr/bin/b\xff".decode("utf-8", "surrogateescape"), "2\n")]]}
sbomimg.make("N")
PY
test_expect_success 'CycloneDX: every file has a bom-ref of its own, whatever its name' '
	stele sbom -f spdx -o names.spdx.json oci:N:names &&
	stele sbom -f cyclonedx -o names.cyclonedx.json oci:N:names &&
	python3 - <<-PY
	import json
	d = json.load(open("names.cyclonedx.json"))
	refs = sorted(c["bom-ref"] for c in d["components"] if c["type"] == "file" and "/usr/bin/" in c["name"])
	print(refs)
	assert refs == ["file:/usr/bin/a#modified", "file:/usr/bin/a%23modified", "file:/usr/bin/b",
	                "file:/usr/bin/b%25FF", "file:/usr/bin/b%FF"], refs
	allrefs = [c["bom-ref"] for c in d["components"]]
	assert len(allrefs) == len(set(allrefs)), allrefs
	assert sorted(d["dependencies"][0]["dependsOn"]) == sorted(c["bom-ref"] for c in d["components"])
	PY
'
if sv_ready; then
	test_expect_success 'every document above passes the SPDX 2.3 and CycloneDX 1.6 validator' '
		ls *.spdx.json | grep -c . | grep -qx 11 && ls *.cyclonedx.json | grep -c . | grep -qx 11 &&
		sbom_valid spdx *.spdx.json && sbom_valid cyclonedx *.cyclonedx.json
	'
else
	test_skip 'every document above passes the SPDX 2.3 and CycloneDX 1.6 validator' "$SV_WHY"
fi
refused() { # TAG CODE MESSAGE
	expect_code "$2" stele sbom "oci:L:$1" >out 2>err; rc=$?; cat err
	[ $rc = 0 ] && [ ! -s out ] && grep -q "$3" err
}
test_expect_success 'a database that is a symlink is refused' '
	refused symlink-db 3 "database .*/var/lib/dpkg/status.* is a symlink" &&
	refused symlink-apk 3 "database .*/lib/apk/db/installed.* is a symlink"
'
test_expect_success 'a database reached through a symlinked directory is refused' '
	refused symlink-dir 3 "reached through a symlink"
'
test_expect_success 'a malformed status names the file and line; a NUL byte is refused' '
	refused malformed 3 "var/lib/dpkg/status.*line 10: not a .Field: value. line" &&
	refused nul 3 "NUL byte"
'
test_expect_success 'a status larger than the cap is refused' '
	refused huge 3 "package database .*var/lib/dpkg/status.* is larger than 32 MiB"
'
test_expect_success 'an absolute entry is refused, naming it' '
	refused absolute 3 "entry ./etc/passwd.: the name is absolute"
'
test_expect_success 'a layer with more entries than --max-entries is refused' '
	expect_code 3 stele sbom --max-entries 3 oci:L:base >/dev/null 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "more than 3 entries" err
'
test_expect_success 'a corrupt layer blob is a verification failure (exit 1)' '
	b=$(layer base 1) && f=L/blobs/sha256/${b#sha256:} && cp "$f" keep &&
	chmod u+w "$f" && printf "x" | dd of="$f" bs=1 seek=700 conv=notrunc 2>/dev/null &&
	expect_code 1 stele sbom oci:L:base >/dev/null 2>err; rc=$?; cat err; cp keep "$f"
	[ $rc = 0 ] && grep -q "is corrupt" err
'
test_expect_success 'usage errors' '
	expect_code 2 stele sbom 2>/dev/null && expect_code 2 stele sbom -f xml oci:L:base 2>err &&
	grep -q "unknown --format" err && stele sbom --help | grep -q "cyclonedx"
'
