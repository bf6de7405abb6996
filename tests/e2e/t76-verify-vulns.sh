#!/bin/sh
# The verify policy's vulnerabilities rule: verify (and push, through the
# same pipeline) denies an image with a finding above maxSeverity, naming
# the advisory, package, installed and fixed version; "none" allows no
# finding at all; fixableOnly counts only findings with a fix; a database
# older than maxDbAgeHours, or with no recorded time, or missing, denies.
# The image: a small Debian-like tree (os-release and a distroless dpkg
# status.d entry) built from a git repository.
. "$(dirname "$0")/lib.sh"

make_dpkg_app
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
old=$(date -u -d '-48 hours' +%Y-%m-%dT%H:%M:%SZ)
mkdir -p db/osv
# demo: a critical fixed advisory (CVSS 9.8); tool: a low one not yet fixed.
printf '{"id":"CVE-2026-1001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n' >db/osv/CVE-2026-1001.json
printf '{"tool":{"CVE-2026-2002":{"releases":{"bookworm":{"status":"open","urgency":"low"}}}}}\n' >db/tracker.json
printf '{"updated":"%s"}\n' "$now" >db/stele-db.json
pol() { # FILE VULNS-JSON
	printf '{"signatures":{"threshold":0},"vulnerabilities":%s}\n' "$2" >"$1"
}
pol high.json '{"db":"db","maxSeverity":"high","maxDbAgeHours":24}'
pol crit.json '{"db":"db","maxSeverity":"critical","maxDbAgeHours":24}'
pol none.json '{"db":"db","maxSeverity":"none","maxDbAgeHours":24}'
pol nonefix.json '{"db":"db","maxSeverity":"none","fixableOnly":true,"maxDbAgeHours":24}'

test_expect_success 'build the image' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >app.digest
'
test_expect_success 'a fixable critical CVE above maxSeverity high: denied, naming CVE, package, installed and fixed version' '
	expect_code 1 stele verify --policy high.json app:1 >out 2>&1 &&
	grep -q "vulnerability CVE-2026-1001.*critical fixed in libdemo1 1.0-1+b1 (source demo 1.0-1), fixed in 1.0-2" out &&
	! grep -q "vulnerability CVE-2026-2002" out
'
test_expect_success '--json names the failing checks' '
	expect_code 1 stele verify --json --policy high.json app:1 >out.json &&
	python3 -c "
import json; d = json.load(open(\"out.json\"))
bad = [c for c in d[\"checks\"] if not c[\"ok\"]]
assert d[\"allowed\"] is False
assert {c[\"name\"] for c in bad} == {\"vulnerability CVE-2026-1001\", \"vulnerabilities\"}, bad
"
'
test_expect_success 'maxSeverity critical allows it' '
	expect_code 0 stele verify --policy crit.json app:1 >out 2>&1 &&
	grep -q "2 findings, 0 above critical" out
'
test_expect_success 'maxSeverity none denies any finding, the low unfixed one too' '
	expect_code 1 stele verify --policy none.json app:1 >out 2>&1 &&
	grep -q "vulnerability CVE-2026-2002.*low not-fixed in tool 2.0-3" out &&
	grep -q "vulnerability CVE-2026-1001" out
'
test_expect_success 'fixableOnly: the unfixed one does not count, the fixed one does' '
	expect_code 1 stele verify --policy nonefix.json app:1 >out 2>&1 &&
	! grep -q "vulnerability CVE-2026-2002" out && grep -q "vulnerability CVE-2026-1001" out &&
	rm db/osv/CVE-2026-1001.json &&
	expect_code 0 stele verify --policy nonefix.json app:1 >out 2>&1
'
test_expect_success 'a database older than maxDbAgeHours denies, even with no finding' '
	printf "{\"updated\":\"%s\"}\n" "$old" >db/stele-db.json &&
	expect_code 1 stele verify --policy nonefix.json app:1 >out 2>&1 &&
	grep -q "vulnerability database age.*is 4[78] hours old, the policy allows 24" out
'
test_expect_success 'a database with no recorded time denies when an age is required' '
	rm db/stele-db.json &&
	expect_code 1 stele verify --policy nonefix.json app:1 >out 2>&1 &&
	grep -q "records no time" out
'
test_expect_success 'a missing or malformed database denies (never a silent pass)' '
	pol nodb.json "{\"db\":\"nodb\",\"maxSeverity\":\"critical\"}" &&
	expect_code 1 stele verify --policy nodb.json app:1 >out 2>&1 &&
	grep -q "vulnerabilities.*cannot scan: no vulnerability database at" out &&
	mkdir -p bad && echo "{\"id\":\"X\"}" >bad/x.json &&
	pol bad.json "{\"db\":\"bad\",\"maxSeverity\":\"critical\"}" &&
	expect_code 1 stele verify --policy bad.json app:1 >out 2>&1 &&
	grep -q "cannot scan: x.json" out
'
test_expect_success 'packages of a distribution the database cannot be matched against: denied, never zero findings' '
	rm -rf db3 && mkdir db3 && printf "{\"updated\":\"%s\"}\n" "$now" >db3/stele-db.json &&
	pol crit3.json "{\"db\":\"db3\",\"maxSeverity\":\"critical\",\"maxDbAgeHours\":24}" &&
	mkdir -p other && cp app/libdemo1 app/tool other/ &&
	printf "ID=plan9\nVERSION_ID=\"4\"\n" >other/os-release && cp app/Dockerfile other/ &&
	stele build -q -t other:1 other >/dev/null &&
	expect_code 1 stele verify --policy crit3.json other:1 >out 2>&1 && cat out &&
	grep -q "^FAIL vulnerability coverage: the scan left 2 packages unmatched (distribution plan9)" out &&
	stele scan --db db3 --json other:1 >scan.json &&
	[ "$(json_get scan.json .unmatchedPackages)" = 2 ] && [ "$(json_get scan.json .ecosystem)" = None ]
'
test_expect_success 'an image with no packages has nothing unmatched: allowed' '
	mkdir -p bare && echo hi >bare/f && printf "FROM scratch\nCOPY f /f\n" >bare/Dockerfile &&
	stele build -q -t bare:1 bare >/dev/null &&
	{ stele verify --policy crit3.json bare:1 >out 2>&1 || { cat out; false; }; } && ! grep -q "vulnerability coverage" out
'
test_expect_success 'an invalid vulnerabilities section is an invalid policy (exit 3)' '
	pol typo.json "{\"db\":\"db\",\"maxSeverty\":\"high\"}" &&
	expect_code 3 stele verify --policy typo.json app:1 2>err && grep -q "maxSeverty" err &&
	pol nosev.json "{\"db\":\"db\"}" &&
	expect_code 3 stele verify --policy nosev.json app:1 2>err && grep -q "maxSeverity" err
'
test_expect_success 'the policy warns when it sets no maximum database age' '
	pol noage.json "{\"db\":\"db\",\"maxSeverity\":\"critical\"}" &&
	expect_code 0 stele verify --policy noage.json app:1 >out 2>&1 &&
	grep -q "maxDbAgeHours is not set" out
'
# The verified push runs the same pipeline: a denied image is never written.
if ! start_registry; then
	test_skip 'push with a vulnerabilities rule' 'docker-registry cannot start on 127.0.0.1'
else
	test_expect_success 'push: denied under maxSeverity high, nothing written; pushed under maxSeverity critical' '
		printf "{\"updated\":\"%s\"}\n" "$now" >db/stele-db.json &&
		printf "{\"id\":\"CVE-2026-1001\",\"modified\":\"2026-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"demo\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.0-2\"}]}]}],\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]}\n" >db/osv/CVE-2026-1001.json &&
		expect_code 1 stele push --policy high.json --tls-verify=false app:1 "docker://$REG/app:1" >out 2>&1 &&
		grep -q "CVE-2026-1001" out &&
		! curl -sf "http://$REG/v2/app/tags/list" | grep -q "\"1\"" &&
		stele push --policy crit.json --tls-verify=false app:1 "docker://$REG/app:1" >/dev/null 2>&1 &&
		curl -sf "http://$REG/v2/app/tags/list" | grep -q "\"1\""
	'
fi
test_done
