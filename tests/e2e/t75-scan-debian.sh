#!/bin/sh
# stele scan of the Debian base the tests build (scripts/mkdebian.sh, cached
# in /var/cache/stele) against a fixture OSV database written here: records
# for real source packages of the base, with fixed versions newer and older
# than the installed source version (as dpkg-query reports it), a range in
# another release, a last_affected range and Debian tracker entries.  The
# scan finds exactly the records whose fixed version dpkg itself
# (dpkg --compare-versions) says is newer than the installed one.  A
# package brought in by a recipe step is reported with its layer, recipe
# line and source commit.  Exit codes, the warm index and the refusals.
. "$(dirname "$0")/lib.sh"

if ! command -v debootstrap >/dev/null 2>&1 && [ ! -f /var/cache/stele/bookworm-gcc.complete ]; then
	test_skip 'scan of the Debian base' 'debootstrap is not installed and no cached Debian base'
	exit 0
fi
if ! root=$(sh "$TOP/scripts/mkdebian.sh" 2>"$TMP/mkdebian.err"); then
	test_skip 'scan of the Debian base' "debootstrap cannot run here: $(tail -n1 "$TMP/mkdebian.err")"
	exit 0
fi

test_expect_success 'import the Debian base' '
	SOURCE_DATE_EPOCH=0 stele import -q -t deb:1 "$root" >base.digest
'
# The installed source versions, from dpkg itself.
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${source:Package} ${source:Version}\n' | sort -u >sources.txt
osv() { # ID ECOSYSTEM PACKAGE FIXED
	printf '{"id":"%s","modified":"2026-11-01T00:00:00Z","summary":"fixture %s","affected":[{"package":{"ecosystem":"%s","name":"%s"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"%s"}]}],"ecosystem_specific":{"urgency":"high"}}]}\n' \
		"$1" "$1" "$2" "$3" "$4" >"db/osv/Debian/$1.json"
}
mkdir -p db/osv/Debian db/tracker && : >expected.txt
for src in openssl glibc zlib tar bash coreutils systemd perl gcc-12 shadow; do
	v=$(awk -v s="$src" '$1 == s { print $2 }' sources.txt)
	[ -n "$v" ] || continue
	case $v in *:*) ep="${v%%:*}:" ;; *) ep= ;; esac
	osv "STELE-NEW-$src" Debian:12 "$src" "$v+stele1"
	osv "STELE-OLD-$src" Debian:12 "$src" "${ep}0.1-1"
	osv "STELE-D11-$src" Debian:11 "$src" "$v+stele1"
	for id in NEW OLD; do
		f=$(sed -n 's/.*"fixed":"\([^"]*\)".*/\1/p' "db/osv/Debian/STELE-$id-$src.json")
		if dpkg --compare-versions "$v" lt "$f"; then
			echo "STELE-$id-$src" >>expected.txt
		fi
	done
done
# last_affected: glibc up to (and including) the installed version.
gv=$(awk '$1 == "glibc" { print $2 }' sources.txt)
printf '{"id":"STELE-LAST-glibc","modified":"2026-11-02T00:00:00Z","database_specific":{"severity":"LOW"},"affected":[{"package":{"ecosystem":"Debian:12","name":"glibc"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"%s"}]}]}]}\n' "$gv" >db/osv/Debian/STELE-LAST-glibc.json
echo STELE-LAST-glibc >>expected.txt
cat >db/tracker/debian.json <<'JSON'
{"zlib":{"CVE-2023-45853":{"description":"minizip","releases":{"bookworm":{"status":"open","urgency":"unimportant","nodsa_reason":"ignored"}}}},
 "bash":{"CVE-2022-3715":{"releases":{"bookworm":{"status":"resolved","fixed_version":"0","urgency":"low"}}}},
 "tar":{"CVE-2005-2541":{"releases":{"bookworm":{"status":"open","urgency":"low**"},"bullseye":{"status":"open","urgency":"low"}}}}}
JSON
printf 'CVE-2023-45853\nCVE-2005-2541\n' >>expected.txt
sort -o expected.txt expected.txt

test_expect_success 'the scan finds exactly the records dpkg says the base is vulnerable to' '
	[ $(grep -c NEW expected.txt) -ge 8 ] && ! grep -q OLD expected.txt &&
	stele scan --db db --json deb:1 >scan.json &&
	python3 -c "import json; d = json.load(open(\"scan.json\")); print(\"\\n\".join(sorted({f[\"id\"] for f in d[\"findings\"]})))" >got.txt &&
	diff -u expected.txt got.txt
'
test_expect_success 'each finding: binary and source package, installed and fixed version, status, severity, layer' '
	python3 - "$(cat base.digest)" <<-PY
	import json, sys
	d = json.load(open("scan.json"))
	assert d["ecosystem"] == "Debian:12" and d["image"] == sys.argv[1], d["image"]
	src = dict(l.split() for l in open("sources.txt"))
	for f in d["findings"]:
	    assert f["installed"] == src[f["source"]], f
	    assert f["origin"]["layer"].startswith("sha256:") and f["origin"].get("base") is not True, f
	    if f["id"].startswith("STELE-NEW-"):
	        assert f["status"] == "fixed" and f["fixed"] == f["installed"] + "+stele1", f
	        assert f["severity"] == "high" and f["severitySource"] == "vendor", f
	    if f["id"] == "STELE-LAST-glibc":
	        assert f["status"] == "not-fixed" and "fixed" not in f and f["severity"] == "low", f
	    if f["id"] == "CVE-2023-45853":
	        assert f["status"] == "wont-fix" and f["severity"] == "negligible" and f["package"] == "zlib1g", f
	libc = [f for f in d["findings"] if f["id"] == "STELE-NEW-glibc"]
	assert {"libc6", "libc-bin"} <= {f["package"] for f in libc}, libc
	PY
'
test_expect_success 'text report names id, severity, package, versions and the layer' '
	stele scan --db db deb:1 >scan.txt &&
	grep -q "^STELE-NEW-openssl high fixed libssl3 .* (source openssl [^ ]*) fixed in [^ ]*+stele1 layer sha256:" scan.txt
'
test_expect_success 'SARIF 2.1.0: one result per finding, rules named' '
	stele scan --db db --sarif deb:1 >scan.sarif &&
	python3 - <<-PY
	import json
	s = json.load(open("scan.sarif")); d = json.load(open("scan.json"))
	assert s["version"] == "2.1.0" and len(s["runs"]) == 1
	r = s["runs"][0]
	assert r["tool"]["driver"]["name"] == "stele"
	assert len(r["results"]) == len(d["findings"])
	rules = {x["id"] for x in r["tool"]["driver"]["rules"]}
	assert all(x["ruleId"] in rules and x["message"]["text"] and x["level"] in ("error", "warning", "note") for x in r["results"])
	PY
'
test_expect_success 'exit codes: --fail-on denies at the threshold and above, --fixable-only' '
	expect_code 0 stele scan --db db deb:1 >/dev/null &&
	expect_code 1 stele scan --db db --fail-on high deb:1 >out 2>err &&
	grep -q "^DENY STELE-NEW-openssl " out && grep -q "findings at high or above" err &&
	! grep -q "^DENY CVE-2005-2541" out &&
	expect_code 0 stele scan --db db --fail-on critical deb:1 >/dev/null &&
	expect_code 1 stele scan --db db --fail-on negligible deb:1 >/dev/null &&
	rm db/osv/Debian/STELE-NEW-* &&
	expect_code 1 stele scan --db db --fail-on low deb:1 >/dev/null &&
	expect_code 0 stele scan --db db --fail-on low --fixable-only deb:1 >out &&
	! grep -q "^DENY" out
'
test_expect_success 'the index is built once and reused; a changed source rebuilds it' '
	stele scan --db db deb:1 >/dev/null && ls -i db/.stele-index.db >i1 &&
	stele scan --db db deb:1 >/dev/null && ls -i db/.stele-index.db >i2 &&
	cmp i1 i2 &&
	osv STELE-NEW2-openssl Debian:12 openssl "$(awk "\$1 == \"openssl\" { print \$2 }" sources.txt)+stele2" &&
	stele scan --db db deb:1 >out && ls -i db/.stele-index.db >i3 &&
	! cmp -s i1 i3 && grep -q "^STELE-NEW2-openssl " out
'
test_expect_success 'usage errors exit 2' '
	expect_code 2 stele scan deb:1 &&
	expect_code 2 stele scan --db db &&
	expect_code 2 stele scan --db db --json --sarif deb:1 &&
	expect_code 2 stele scan --db db --fail-on severe deb:1 &&
	expect_code 2 stele scan --db db --fail-on none deb:1 &&
	expect_code 2 stele scan --db db --fixable-only deb:1
'
test_expect_success 'a missing database, a malformed record, a bad version: exit 3 naming it' '
	expect_code 3 stele scan --db nodb deb:1 2>err && grep -q "no vulnerability database at" err &&
	cp -r db bad && echo "{\"id\":\"X\"}" >bad/osv/Debian/broken.json &&
	expect_code 3 stele scan --db bad deb:1 2>err && grep -q "broken.json" err &&
	rm bad/osv/Debian/broken.json && osv STELE-BADVER Debian:12 openssl "1.0-" &&
	cp db/osv/Debian/STELE-BADVER.json bad/osv/Debian/ && rm db/osv/Debian/STELE-BADVER.json &&
	expect_code 3 stele scan --db bad deb:1 2>err && grep -q "STELE-BADVER" err &&
	expect_code 3 stele scan --db db nosuch:1
'
# A package a recipe step brings in (a distroless status.d entry COPYed by
# a recipe in a git repository) names its layer, recipe line and commit.
mkdir app && git -C app init -q -b main &&
printf 'Package: stele-demo\nStatus: install ok installed\nArchitecture: amd64\nSource: stele-demo-src\nVersion: 1.0-1\nDescription: demo\n' >app/demo &&
printf 'FROM deb:1\nENV A=1\nCOPY demo /var/lib/dpkg/status.d/stele-demo\n' >app/Dockerfile &&
git_commit app app
rev=$(git -C app rev-parse HEAD)
test_expect_success 'a package from a recipe step: the finding names layer, recipe line and commit' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >/dev/null &&
	osv STELE-DEMO Debian:12 stele-demo-src 1.0-2 &&
	stele scan --db db --json app:1 >app.json &&
	python3 - "$rev" <<-PY
	import json, sys
	d = json.load(open("app.json"))
	f = [x for x in d["findings"] if x["id"] == "STELE-DEMO"]
	assert len(f) == 1, d["findings"]
	o = f[0]["origin"]
	assert o["recipe"] == "Dockerfile" and o["line"] == 3 and o["commit"] == sys.argv[1], o
	assert f[0]["fixed"] == "1.0-2" and f[0]["installed"] == "1.0-1", f
	base = [x for x in d["findings"] if x["id"] == "STELE-LAST-glibc"][0]
	assert base["origin"].get("base") is True, base
	PY
'
test_done
