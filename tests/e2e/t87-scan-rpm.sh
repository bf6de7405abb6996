#!/bin/sh
# stele scan of an rpm image: os-release of Rocky Linux 9.4 and an rpm
# database written by Debian's rpm (`rpm -i --justdb`, as t51 makes it),
# against a fixture OSV database: for each package, records whose fixed
# versions are around the installed one (epochs, tildes, carets, letters,
# releases).  The scan finds exactly the records whose fixed version rpm
# itself (its Lua rpm.vercmp, a separate process) says is newer than the
# installed one; records of Rocky Linux 8 and AlmaLinux 9 match nothing.
. "$(dirname "$0")/lib.sh"

if ! command -v rpmbuild >/dev/null 2>&1 || ! command -v rpm >/dev/null 2>&1; then
	test_skip 'scan of an rpm image' 'rpm and rpmbuild are not installed (Debian package rpm)'
	exit 0
fi
mkspec() { # NAME EPOCH VERSION RELEASE
	cat >"$1.spec" <<-SPEC
	Name: $1
	${2:+Epoch: $2}
	Version: $3
	Release: $4
	Summary: test package
	License: MIT
	BuildArch: noarch
	%description
	test
	%install
	mkdir -p %{buildroot}/usr/share/$1
	printf '$1\n' >%{buildroot}/usr/share/$1/f
	%files
	/usr/share/$1/f
	SPEC
	rpmbuild -bb --define "_topdir $TMP/rpmtop" --define '__os_install_post %{nil}' \
		--define '_build_id_links none' "$1.spec" >"$1.log" 2>&1 || { cat "$1.log"; return 1; }
}
test_expect_success 'an rpm image: Rocky Linux 9.4, five packages in its rpm database' '
	mkspec openssl 1 3.0.7 27.el9 &&
	mkspec glibc "" 2.34 100.el9_4.2 &&
	mkspec curl "" 7.76.1~rc1 29.el9 &&
	mkspec zlib "" 1.2.11^20240101git 40.el9 &&
	mkspec bash "" 5.1.8a 9.el9 &&
	mkdir -p root/var/lib/rpm root/etc &&
	rpm --dbpath "$TMP/root/var/lib/rpm" --initdb &&
	rpm --dbpath "$TMP/root/var/lib/rpm" -i --justdb --nodeps --ignorearch --ignoreos \
		rpmtop/RPMS/*/*.rpm 2>/dev/null &&
	printf "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.4\"\n" >root/etc/os-release &&
	rpm --dbpath "$TMP/root/var/lib/rpm" -qa --qf "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n" |
		sort >installed.txt && cat installed.txt && [ $(wc -l <installed.txt) = 5 ] &&
	stele import -q -t rpm:1 root >/dev/null
'
osv() { # ID ECOSYSTEM PACKAGE FIXED
	printf '{"id":"%s","modified":"2026-11-01T00:00:00Z","summary":"fixture","affected":[{"package":{"ecosystem":"%s","name":"%s"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"%s"}]}]}],"database_specific":{"severity":"HIGH"}}\n' \
		"$1" "$2" "$3" "$4" >"db/osv/rpm/$1.json"
}
vercmp() { rpm --eval "%{lua: print(rpm.vercmp(\"$1\", \"$2\"))}"; }
mkdir -p db/osv/rpm && : >expected.txt
while read -r name v; do
	case $v in *:*) ep="${v%%:*}"; evr="${v#*:}" ;; *) ep=; evr=$v ;; esac
	ver="${evr%-*}" rel="${evr##*-}"
	n=0
	for f in "$v" "${ep:+$ep:}$ver-$rel.1" "${ep:+$ep:}$ver-${rel}~1" "${ep:+$ep:}$ver^1-$rel" \
		"${ep:+$ep:}${ver}a-$rel" "${ep:+$ep:}$ver~1-$rel" "$((${ep:-0} + 1)):0.1-1" \
		"$ver-$rel" "${ep:+$ep:}$ver.1-1" "${ep:+$ep:}${ver%.*}-99"; do
		n=$((n + 1))
		osv "STELE-$name-$n" "Rocky Linux:9" "$name" "$f"
		[ "$(vercmp "$v" "$f")" = -1 ] && echo "STELE-$name-$n" >>expected.txt
	done
	osv "STELE-R8-$name" "Rocky Linux:8" "$name" "99:1-1"
	osv "STELE-ALMA-$name" "AlmaLinux:9" "$name" "99:1-1"
done <installed.txt
sort -o expected.txt expected.txt

test_expect_success 'the scan finds exactly the records rpm says the image is vulnerable to' '
	cat expected.txt && [ $(wc -l <expected.txt) -ge 20 ] && [ $(wc -l <expected.txt) -le 40 ] &&
	stele scan --db db --json rpm:1 >scan.json
	[ $? -le 1 ] &&
	python3 -c "import json; d = json.load(open(\"scan.json\")); print(\"\\n\".join(sorted({f[\"id\"] for f in d[\"findings\"]})))" >got.txt &&
	diff -u expected.txt got.txt
'
test_expect_success 'each finding: ecosystem, package, installed and fixed version, severity' '
	python3 - <<-PY
	import json
	d = json.load(open("scan.json"))
	assert d["ecosystem"] == "Rocky Linux:9", d["ecosystem"]
	assert d["packages"] == 5 and d["unmatchedPackages"] == 0, d
	inst = dict(l.split() for l in open("installed.txt"))
	for f in d["findings"]:
	    assert f["installed"] == inst[f["package"]], f
	    assert f["status"] == "fixed" and f["fixed"] and f["severity"] == "high", f
	PY
'
test_expect_success 'AlmaLinux 9: the AlmaLinux records match instead' '
	cp -a root alma && printf "ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n" >alma/etc/os-release &&
	stele import -q -t rpm:alma alma >/dev/null &&
	stele scan --db db --json rpm:alma >alma.json
	[ $? -le 1 ] &&
	python3 -c "import json; d = json.load(open(\"alma.json\")); assert d[\"ecosystem\"] == \"AlmaLinux:9\"; print(\"\\n\".join(sorted({f[\"id\"] for f in d[\"findings\"]})))" >alma.txt &&
	printf "STELE-ALMA-%s\n" bash curl glibc openssl zlib >want.alma && diff -u want.alma alma.txt
'
test_done
