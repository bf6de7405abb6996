#!/bin/sh
# The vulnerabilities rule's requireSignedScan: verify judges the image by
# its newest scan attestation (stele scan --attest) signed by a scanKeys
# key, without scanning it (no database needed).  Denied: no signed scan, a
# scan by another key or by a revoked one, a scan older than
# maxScanAgeHours or dated in the future, a scan whose database was older
# than maxDbAgeHours when it ran, a scan a trusted key signed that does not
# read, findings above maxSeverity (each named).  The forged scans are real
# statements edited and signed again with the scan key (forge.py).
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
stele keygen --output-prefix ci >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
make_dpkg_app
mkdir -p db
printf '{"id":"CVE-2026-1001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n' >db/a.json
printf '{"tool":{"CVE-2026-2002":{"releases":{"bookworm":{"status":"open","urgency":"low"}}}}}\n' >db/tracker.json
printf '{"updated":"%s"}\n' "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" >db/stele-db.json
pol() { # FILE SCANKEYS MAXSEV [EXTRA-TOP-LEVEL]
	printf '{"keys":{"ci":{"path":"ci.pub"},"other":{"path":"other.pub"}},%s"signatures":{"threshold":0},"vulnerabilities":{"maxSeverity":"%s","maxDbAgeHours":24,"requireSignedScan":true,"scanKeys":%s,"maxScanAgeHours":24}}\n' \
		"${4:-}" "$3" "$2" >"$1"
}
pol crit.json '["ci"]' critical
pol high.json '["ci"]' high
pol otherkey.json '["other"]' critical
CI_ID=$(python3 -c 'import hashlib,base64,sys
l=open(sys.argv[1]).read().strip().split("\n")
print(hashlib.sha256(base64.b64decode("".join(l[1:-1]))).hexdigest())' ci.pub)
pol revoked.json '["ci"]' critical "\"revoked\":[\"$CI_ID\"],"
# forged STORE EDIT: the fresh scan statement edited by the Python EDIT
# (on `st`) and signed again by the scan key, attached to the image in a
# copy of the store taken before any scan.
forged() {
	rm -rf "$1" && cp -a clean "$1" &&
	python3 - "$2" <<-'PY' &&
	import calendar, json, sys, time
	st = json.load(open("st.json"))
	p = st["predicate"]
	rfc = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
	now = int(time.time())
	exec(sys.argv[1])
	open("forged.json", "w").write(json.dumps(st))
	PY
	$FORGE dsse "$TMP/$1" "$(cat d)" ci.key pw application/vnd.in-toto+json forged.json
}
vfy() { STELE_STORE="$TMP/$1" stele verify --policy "$2" app:1 >out 2>&1; }

test_expect_success 'build the image; keep a copy of the store before any scan' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >d &&
	cp -a "$STELE_STORE" clean
'
test_expect_success 'no signed scan: denied, saying how to make one' '
	expect_code 1 vfy clean crit.json &&
	grep -q "FAIL signed scan: no vulnerability scan signed by a key of vulnerabilities.scanKeys is attached (requireSignedScan; stele scan --attest)" out
'
test_expect_success 'a fresh scan by the scan key: allowed under critical without the database; each finding above high named' '
	stele scan --db db --attest --key ci.key app:1 >/dev/null 2>&1 &&
	STELE_STORE="$TMP/store" python3 - "$(cat d)" <<-PY &&
	import base64, json, os, sys
	lay, d = os.environ["STELE_STORE"], sys.argv[1]
	idx = json.load(open(lay + "/index.json"))
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "sha256-%s.att" % d[7:]][0]
	man = json.load(open(lay + "/blobs/sha256/" + m["digest"][7:]))
	env = json.load(open(lay + "/blobs/sha256/" + man["layers"][-1]["digest"][7:]))
	open("st.json", "wb").write(base64.b64decode(env["payload"]))
	PY
	mv db db.away &&
	expect_code 0 vfy store crit.json && cat out &&
	grep -q "ok   signed scan findings: scan by .ci. (stele .*, database $TMP/db of .*) in Debian:12: 2 findings, 0 above critical" out &&
	grep -q "ok   signed scan age: finished .*, 0 hours ago; the policy allows 24" out &&
	grep -q "ok   signed scan database age: the database was 1 hours old" out &&
	expect_code 1 vfy store high.json &&
	grep -q "FAIL vulnerability CVE-2026-1001 (signed scan): critical fixed in libdemo1 1.0-1+b1 (source demo 1.0-1), fixed in 1.0-2" out &&
	! grep -q "CVE-2026-2002 (signed scan)" out &&
	mv db.away db
'
test_expect_success '--json lists the signed-scan checks' '
	STELE_STORE="$TMP/store" expect_code 1 stele verify --json --policy high.json app:1 >out.json &&
	python3 -c "
import json; d = json.load(open(\"out.json\"))
bad = {c[\"name\"] for c in d[\"checks\"] if not c[\"ok\"]}
assert bad == {\"vulnerability CVE-2026-1001 (signed scan)\", \"signed scan findings\"}, bad
"
'
test_expect_success 'a scan signed by a key scanKeys does not name is not counted' '
	expect_code 1 vfy store otherkey.json &&
	grep -q "not counted: signed by .ci., not a key of vulnerabilities.scanKeys" out &&
	grep -q "FAIL signed scan: no vulnerability scan" out
'
test_expect_success 'a scan by a revoked key is not counted' '
	expect_code 1 vfy store revoked.json &&
	grep -q "not counted: key .ci. .* is revoked" out &&
	grep -q "FAIL signed scan: no vulnerability scan" out
'
test_expect_success 'a scan older than maxScanAgeHours denies' '
	forged stale "p[\"metadata\"] = {\"scanStartedOn\": rfc(now - 49 * 3600), \"scanFinishedOn\": rfc(now - 48 * 3600)}" &&
	expect_code 1 vfy stale crit.json &&
	grep -q "FAIL signed scan age: finished .*, 48 hours ago; the policy allows 24" out
'
test_expect_success 'the newest signed scan is the one judged' '
	forged newer "p[\"metadata\"] = {\"scanStartedOn\": rfc(now - 49 * 3600), \"scanFinishedOn\": rfc(now - 48 * 3600)}" &&
	STELE_STORE="$TMP/newer" stele scan --db db --attest --key ci.key app:1 >/dev/null 2>&1 &&
	expect_code 0 vfy newer crit.json && grep -q "ok   signed scan age: finished .*, 0 hours ago" out
'
test_expect_success 'a scan dated in the future denies' '
	forged future "p[\"metadata\"] = {\"scanStartedOn\": rfc(now + 2 * 86400), \"scanFinishedOn\": rfc(now + 2 * 86400)}" &&
	expect_code 1 vfy future crit.json && grep -q "FAIL signed scan age: the scan says it finished at .*, in the future" out
'
test_expect_success 'a database older than maxDbAgeHours when the scan ran denies; one with no time too' '
	forged olddb "p[\"scanner\"][\"result\"][\"dbUpdated\"] = now - 72 * 3600" &&
	expect_code 1 vfy olddb crit.json &&
	grep -q "FAIL signed scan database age: the database was 7[12] hours old when the scan finished; the policy allows 24" out &&
	forged nodbtime "del p[\"scanner\"][\"result\"][\"dbUpdated\"]" &&
	expect_code 1 vfy nodbtime crit.json && grep -q "FAIL signed scan database age: the scan records no database time" out
'
test_expect_success 'a scan the scan key signed that does not read denies, naming what is wrong' '
	forged nostatus "del p[\"scanner\"][\"result\"][\"findings\"][0][\"status\"]" &&
	expect_code 1 vfy nostatus crit.json &&
	grep -q "FAIL signed scan sha256:.*finding 0 of the scan: id, package, version, source, installed, status and severity are required" out &&
	forged otherimg "p[\"scanner\"][\"result\"][\"image\"] = \"sha256:\" + \"0\" * 64" &&
	expect_code 1 vfy otherimg crit.json && grep -q "scanner.result is about another image" out &&
	forged notimes "del p[\"metadata\"][\"scanStartedOn\"]" &&
	expect_code 1 vfy notimes crit.json && grep -q "scanStartedOn and scanFinishedOn must be RFC 3339" out &&
	forged badtype "st[\"predicateType\"] = \"https://cosign.sigstore.dev/attestation/vuln/v1\"; p[\"scanner\"][\"result\"] = {\"SchemaVersion\": 2}" &&
	expect_code 1 vfy badtype crit.json && grep -q "scanner.result is not a stele report" out
'
test_expect_success 'an invalid signed-scan policy is refused (exit 3)' '
	printf "{\"signatures\":{\"threshold\":0},\"vulnerabilities\":{\"maxSeverity\":\"high\",\"requireSignedScan\":true}}" >bad.json &&
	expect_code 3 stele verify --policy bad.json app:1 2>err && grep -q "requireSignedScan needs scanKeys" err &&
	printf "{\"keys\":{\"ci\":{\"path\":\"ci.pub\"}},\"signatures\":{\"threshold\":0},\"vulnerabilities\":{\"maxSeverity\":\"high\",\"requireSignedScan\":true,\"scanKeys\":[\"nobody\"],\"maxScanAgeHours\":1}}" >bad.json &&
	expect_code 3 stele verify --policy bad.json app:1 2>err && grep -q "scanKeys names the unknown key .nobody." err
'
test_done
