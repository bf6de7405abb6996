#!/bin/sh
# stele audit with a vulnerability database: each deployed image is scanned
# now and compared with its newest signed scan (stele scan --attest by a
# scanKeys key); exactly the findings that appeared since are listed as
# new, those the policy's vulnerabilities rule denies fail the image, the
# rest are warnings.  An image without a signed scan (or with one by a key
# the policy does not take) has every finding new.  JSON, table and SARIF;
# a missing database is an error.  Registry on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
if ! start_registry; then
	test_skip 'audit with a vulnerability database' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
for k in rm ci other; do stele keygen --output-prefix $k >/dev/null 2>&1; done
for v in 1 2 3; do
	mkdir "app$v" && git -C "app$v" init -q -b main &&
	printf 'ID=debian\nVERSION_ID="12"\n' >"app$v/os-release" &&
	printf 'Package: libdemo1\nStatus: install ok installed\nArchitecture: amd64\nSource: demo (1.0-1)\nVersion: 1.0-1+b1\nDescription: demo\n' >"app$v/libdemo1" &&
	printf 'Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0-3\nDescription: tool %s\n' "$v" >"app$v/tool" &&
	printf 'FROM scratch\nCOPY os-release /etc/os-release\nCOPY libdemo1 /var/lib/dpkg/status.d/libdemo1\nCOPY tool /var/lib/dpkg/status.d/tool\n' >"app$v/Dockerfile" &&
	git_commit "app$v" "app$v"
done
osv() { # FILE ID PACKAGE FIXED CVSS-VECTOR
	printf '{"id":"%s","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"%s"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"%s"}]}]}],"severity":[{"type":"CVSS_V3","score":"%s"}]}\n' \
		"$2" "$3" "$4" "$5" >"$1"
}
LOW=CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N
HIGH=CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N
# scanned: the database the images were scanned with (a low finding in demo);
# now: the same and, since, a high one in tool and a negligible one in demo.
mkdir -p scanned now
osv scanned/1001.json CVE-2026-1001 demo 1.0-2 $LOW
cp scanned/1001.json now/
osv now/3003.json CVE-2026-3003 tool 2.0-4 $HIGH
printf '{"demo":{"CVE-2026-4004":{"releases":{"bookworm":{"status":"open","urgency":"unimportant"}}}}}\n' >now/tracker.json
cat >audit.json <<EOF
{"keys": {"rm": {"path": "rm.pub"}, "ci": {"path": "ci.pub"}, "other": {"path": "other.pub"}},
 "signatures": {"keys": ["rm"], "threshold": 1},
 "vulnerabilities": {"maxSeverity": "medium", "requireSignedScan": true,
                     "scanKeys": ["ci"], "maxScanAgeHours": 24}}
EOF
cat >plain.json <<EOF
{"keys": {"rm": {"path": "rm.pub"}, "ci": {"path": "ci.pub"}}, "signatures": {"keys": ["rm"], "threshold": 1}}
EOF
# The new findings of the image named by REF-SUFFIX: "ID PACKAGE" lines.
new_of() { # REPORT REPO
	python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    if any(x.endswith("/" + sys.argv[2] + ":1") for x in r["references"]):
        for f in r["vulnerabilities"]["new"]: print(f["id"], f["package"])' "$1" "$2" | sort
}

test_expect_success 'three images pushed: app1 scanned and signed by ci, app2 never scanned, app3 scanned by other' '
	for v in 1 2 3; do
		stele build -q --sign-key rm.key -t "app$v:1" "git+file://$TMP/app$v#main" >"v$v.digest" 2>/dev/null &&
		stele sign --key rm.key --identity "$REG/app$v:1" "app$v:1" >/dev/null || return 1
	done &&
	stele scan --db scanned --attest --key ci.key app1:1 >/dev/null 2>&1 &&
	stele scan --db scanned --attest --key other.key app3:1 >/dev/null 2>&1 &&
	for v in 1 2 3; do
		stele push --key rm.pub --tls-verify=false "app$v:1" "docker://$REG/app$v:1" >/dev/null 2>&1 || return 1
	done &&
	printf "%s/app1:1\n%s/app2:1\n%s/app3:1\n" "$REG" "$REG" "$REG" >list
'
test_expect_success 'audit --db: exactly the findings new since the signed scan; the denied one fails app1' '
	expect_code 1 stele audit --policy audit.json --images list --db now --json --tls-verify=false >a.json 2>err; cat err &&
	printf "CVE-2026-3003 tool\nCVE-2026-4004 libdemo1\n" >want1 &&
	new_of a.json app1 | diff want1 - &&
	python3 - "$(cat v1.digest)" <<-PY
	import json, sys
	r = [x for x in json.load(open("a.json"))["results"] if x["digest"] == sys.argv[1]][0]
	v = r["vulnerabilities"]
	assert v["db"] == "now" and v["findings"] == 3, v
	assert v["scan"]["signer"] == "ci" and v["scan"]["findings"] == 1, v["scan"]
	assert v["ok"] is False and len(v["reasons"]) == 1, v
	assert "CVE-2026-3003 high fixed in tool 2.0-3 (source tool 2.0-3), fixed in 2.0-4: new, since the signed scan of" in v["reasons"][0], v["reasons"]
	assert any(w.startswith("vulnerability CVE-2026-4004 negligible not-fixed in libdemo1") for w in r["warnings"]), r["warnings"]
	assert r["allowed"] is False and r["signature"]["ok"] is True
	PY
'
test_expect_success 'app2 (no signed scan) and app3 (scanned by a key scanKeys does not name): every finding is new' '
	printf "CVE-2026-1001 libdemo1\nCVE-2026-3003 tool\nCVE-2026-4004 libdemo1\n" >want &&
	new_of a.json app2 | diff want - && new_of a.json app3 | diff want - &&
	python3 - <<-PY
	import json
	for r in json.load(open("a.json"))["results"]:
	    if r["references"][0].endswith(("/app2:1", "/app3:1")):
	        assert r["vulnerabilities"]["scan"] is None, r["vulnerabilities"]
	        assert any("no signed scan to compare with" in s for s in r["reasons"]), r["reasons"]
	PY
'
test_expect_success 'with the database the images were scanned with, nothing is new' '
	stele audit --policy audit.json --images list --db scanned --json --tls-verify=false >b.json 2>/dev/null;
	[ -z "$(new_of b.json app1)" ] &&
	python3 -c "
import json
r = [x for x in json.load(open(\"b.json\"))[\"results\"] if x[\"references\"][0].endswith(\"/app1:1\")][0]
assert r[\"allowed\"] is True and r[\"vulnerabilities\"][\"ok\"] is True, r[\"reasons\"]
"
'
test_expect_success 'without a vulnerabilities rule new findings are warnings; without a database nothing is compared' '
	printf "%s/app1:1\n" "$REG" >one &&
	expect_code 0 stele audit --policy plain.json --images one --db now --json --tls-verify=false >c.json 2>/dev/null &&
	new_of c.json app1 | diff want1 - &&
	expect_code 0 stele audit --policy plain.json --images one --json --tls-verify=false >d.json 2>/dev/null &&
	! grep -q "\"vulnerabilities\"" d.json
'
test_expect_success 'the table and SARIF carry them' '
	expect_code 1 stele audit --policy audit.json --images list --db now --tls-verify=false >table 2>/dev/null &&
	grep -q "  - vulnerabilities: CVE-2026-3003 high fixed in tool" table &&
	grep -q "  warning: vulnerability CVE-2026-4004" table &&
	expect_code 1 stele audit --policy audit.json --images list --db now --sarif --tls-verify=false >s.sarif 2>/dev/null &&
	python3 - <<-PY
	import json
	run = json.load(open("s.sarif"))["runs"][0]
	ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
	v = [r for r in run["results"] if r["ruleId"] == "stele/vulnerability"]
	assert v and ids[v[0]["ruleIndex"]] == "stele/vulnerability", ids
	assert all(r["level"] == "error" for r in v) and len(v) == 3, v
	assert any("CVE-2026-3003" in r["message"]["text"] for r in v)
	PY
'
test_expect_success 'a missing database is an error (exit 3)' '
	expect_code 3 stele audit --policy audit.json --images list --db nodb --tls-verify=false 2>err &&
	grep -q "nodb" err
'
test_done
