#!/bin/sh
# The vulnerabilities rule's vexKeys: OpenVEX documents suppress findings
# in verify only when a vexKeys key that counts now signed them, whether
# attached to the image as in-toto attestations (predicate
# https://openvex.dev/ns/v0.2.0, as cosign attest --type openvex and vexctl
# write them) or listed in the policy's vex files (DSSE envelopes, as stele
# scan --vex takes).  Not trusted: a document by another key (not
# counted), by a revoked vexKeys key, a listed file nobody trusted signed
# (denies); a trusted but malformed document denies.  With
# requireSignedScan the scanner's own recorded suppression is not taken,
# only the policy's VEX.  Documents are signed with forge.py.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
for k in sec other ci; do stele keygen --output-prefix $k >/dev/null 2>&1; done
mkdir app && git -C app init -q -b main &&
printf 'ID=debian\nVERSION_ID="12"\n' >app/os-release &&
printf 'Package: libdemo1\nStatus: install ok installed\nArchitecture: amd64\nSource: demo (1.0-1)\nVersion: 1.0-1+b1\nDescription: demo\n' >app/libdemo1 &&
printf 'FROM scratch\nCOPY os-release /etc/os-release\nCOPY libdemo1 /var/lib/dpkg/status.d/libdemo1\n' >app/Dockerfile &&
git_commit app app
mkdir -p db
printf '{"id":"CVE-2026-1001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n' >db/a.json
printf '{"updated":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >db/stele-db.json
SEC_ID=$(python3 -c 'import hashlib,base64,sys
l=open(sys.argv[1]).read().strip().split("\n")
print(hashlib.sha256(base64.b64decode("".join(l[1:-1]))).hexdigest())' sec.pub)
KEYS='"keys":{"sec":{"path":"sec.pub"},"other":{"path":"other.pub"},"ci":{"path":"ci.pub"}},'
pol() { # FILE VULNS-EXTRA [TOP-EXTRA]
	printf '{%s%s"signatures":{"threshold":0},"vulnerabilities":{"db":"db","maxSeverity":"high","maxDbAgeHours":24%s}}\n' \
		"$KEYS" "${3:-}" "$2" >"$1"
}
pol novex.json ''
pol vex.json ',"vexKeys":["sec"]'
pol vexrevoked.json ',"vexKeys":["sec"]' "\"revoked\":[\"$SEC_ID\"],"
pol vexfile.json ',"vexKeys":["sec"],"vex":["na.dsse"]'
pol vexfileother.json ',"vexKeys":["sec"],"vex":["na-other.dsse"]'
printf '{%s"signatures":{"threshold":0},"vulnerabilities":{"maxSeverity":"high","maxDbAgeHours":24,"requireSignedScan":true,"scanKeys":["ci"],"maxScanAgeHours":24,"vexKeys":["sec"]}}\n' \
	"$KEYS" >scanvex.json
# The OpenVEX document: CVE-2026-1001 does not affect libdemo1 (STATUS,
# JUSTIFICATION), alone and as an in-toto statement about the image.
vexdoc() { # STATUS [JUSTIFICATION]
	printf '{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec","timestamp":"2026-11-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"CVE-2026-1001"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:deb/debian/libdemo1"}]}],"status":"%s"%s}]}' \
		"$1" "${2:+,\"justification\":\"$2\"}"
}
intoto() { # DOC-FILE
	python3 - "$1" "$(cat d)" <<-'PY'
	import json, sys
	doc, d = json.load(open(sys.argv[1])), sys.argv[2]
	print(json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://openvex.dev/ns/v0.2.0",
	                  "subject": [{"name": "app", "digest": {"sha256": d[7:]}}], "predicate": doc}))
	PY
}
# attach STORE KEY DOC-FILE: the document as an attestation signed by KEY,
# in a copy of the store taken before anything was attached.
attach() {
	rm -rf "$1" && cp -a clean "$1" && intoto "$3" >"$1.st" &&
	$FORGE dsse "$TMP/$1" "$(cat d)" "$2.key" pw application/vnd.in-toto+json "$1.st"
}
vfy() { STELE_STORE="$TMP/$1" stele verify --policy "$2" app:1 >out 2>&1; }

test_expect_success 'build the image; without VEX the critical finding is denied' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >d &&
	cp -a "$STELE_STORE" clean &&
	vexdoc not_affected vulnerable_code_not_in_execute_path >na.json &&
	vexdoc not_affected >nojust.json &&
	$FORGE envelope sec.key pw application/vnd.openvex+json na.json >na.dsse &&
	$FORGE envelope other.key pw application/vnd.openvex+json na.json >na-other.dsse &&
	expect_code 1 vfy clean vex.json && grep -q "FAIL vulnerability CVE-2026-1001:" out &&
	grep -q "1 findings, 1 above high; 0 suppressed by signed VEX" out
'
test_expect_success 'a VEX attestation signed by a vexKeys key suppresses it' '
	attach bysec sec na.json &&
	expect_code 0 vfy bysec vex.json && cat out &&
	grep -q "ok   VEX attestation sha256:.*: OpenVEX document https://example.com/vex/1 signed by .sec." out &&
	grep -q "ok   vulnerabilities: 1 packages scanned in Debian:12: 1 findings, 0 above high; 1 suppressed by signed VEX" out
'
test_expect_success 'without vexKeys the same attestation suppresses nothing' '
	expect_code 1 vfy bysec novex.json && grep -q "FAIL vulnerability CVE-2026-1001:" out
'
test_expect_success 'a VEX attestation by a key vexKeys does not name is not counted' '
	attach byother other na.json &&
	expect_code 1 vfy byother vex.json &&
	grep -q "ok   VEX attestation sha256:.*: not counted: signed by .other., not a key of vulnerabilities.vexKeys" out &&
	grep -q "FAIL vulnerability CVE-2026-1001:" out
'
test_expect_success 'a VEX attestation by a revoked vexKeys key is not counted' '
	expect_code 1 vfy bysec vexrevoked.json &&
	grep -q "VEX attestation sha256:.*: not counted: key .sec. .* is revoked" out &&
	grep -q "FAIL vulnerability CVE-2026-1001:" out
'
test_expect_success 'a malformed VEX attestation a vexKeys key signed denies, naming what is wrong' '
	attach badvex sec nojust.json &&
	expect_code 1 vfy badvex vex.json &&
	grep -q "FAIL VEX attestation sha256:.*not_affected needs a justification" out
'
test_expect_success 'a listed VEX file signed by a vexKeys key suppresses; one signed by another key denies' '
	expect_code 0 vfy clean vexfile.json &&
	grep -q "ok   VEX na.dsse: OpenVEX document https://example.com/vex/1" out &&
	expect_code 1 vfy clean vexfileother.json &&
	grep -q "FAIL VEX na-other.dsse: not signed by a usable key of vulnerabilities.vexKeys" out
'
test_expect_success 'requireSignedScan: the scanner s recorded suppression is not taken, the policy s VEX is' '
	rm -rf scan && cp -a clean scan &&
	STELE_STORE="$TMP/scan" stele scan --db db --vex na-other.dsse --vex-key other.pub --attest --key ci.key app:1 >/dev/null 2>&1 &&
	expect_code 1 vfy scan scanvex.json &&
	grep -q "FAIL vulnerability CVE-2026-1001 (signed scan):" out &&
	intoto na.json >scan.st && $FORGE dsse "$TMP/scan" "$(cat d)" sec.key pw application/vnd.in-toto+json scan.st &&
	expect_code 0 vfy scan scanvex.json &&
	grep -q "ok   signed scan findings: .*1 findings, 0 above high; 1 suppressed by signed VEX" out
'
test_expect_success 'invalid vexKeys and vex are an invalid policy (exit 3)' '
	pol bad.json ",\"vex\":[\"na.dsse\"]" &&
	expect_code 3 stele verify --policy bad.json app:1 2>err && grep -q "vex needs vexKeys" err &&
	pol bad.json ",\"vexKeys\":[\"nobody\"]" &&
	expect_code 3 stele verify --policy bad.json app:1 2>err && grep -q "vexKeys names the unknown key .nobody." err
'
test_done
