#!/bin/sh
# Signed scan attestations: `stele scan --attest --key K` signs the scan's
# result as an in-toto statement of cosign's vuln predicate
# (https://cosign.sigstore.dev/attestation/vuln/v1: invocation, scanner
# {uri, version, db {uri, version}, result}, metadata {scanStartedOn,
# scanFinishedOn}), stored under sha256-<hex>.att and as an OCI 1.1
# referrer, carried by push and pull; `cosign verify-attestation --type vuln`
# (Debian trixie's cosign 2.5, fetched as t22 does) accepts it against a
# registry on 127.0.0.1 and refuses another key.  Nothing is attached when
# the scan or the key fails; usage errors.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
stele keygen --output-prefix ci >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
make_dpkg_app
mkdir -p db
printf '{"id":"CVE-2026-1001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"demo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}\n' >db/a.json
printf '{"tool":{"CVE-2026-2002":{"releases":{"bookworm":{"status":"open","urgency":"low"}}}}}\n' >db/tracker.json
printf '{"updated":"2026-11-01T00:00:00Z"}\n' >db/stele-db.json
# The statements under the image's .att tag, one JSON per line.
att_statements() { # LAYOUT DIGEST
	python3 - "$1" "$2" <<-'PY'
	import base64, json, sys
	lay, d = sys.argv[1], sys.argv[2]
	idx = json.load(open(lay + "/index.json"))
	tag = "sha256-%s.att" % d[7:]
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
	if m:
	    man = json.load(open(lay + "/blobs/sha256/" + m[0]["digest"][7:]))
	    for l in man["layers"]:
	        env = json.load(open(lay + "/blobs/sha256/" + l["digest"][7:]))
	        print(base64.b64decode(env["payload"]).decode())
	PY
}

test_expect_success 'build the image' '
	stele build -q -t app:1 "git+file://$TMP/app#main" >d
'
test_expect_success 'usage: --attest needs --key, --key needs --attest' '
	expect_code 2 stele scan --db db --attest app:1 2>err && grep -q "needs --key" err &&
	expect_code 2 stele scan --db db --key ci.key app:1 2>err && grep -q "for --attest" err
'
test_expect_success 'nothing is attached when the scan fails or the key does not open' '
	expect_code 3 stele scan --db nodb --attest --key ci.key app:1 2>err &&
	echo wrong >pw.txt &&
	expect_code 3 stele scan --db db --attest --key ci.key --passphrase-file pw.txt app:1 2>err &&
	[ -z "$(att_statements "$STELE_STORE" "$(cat d)")" ]
'
test_expect_success 'scan --attest signs and stores the result; the report is printed as without it' '
	before=$(date -u +%s) &&
	expect_code 1 stele scan --db db --json --fail-on high --attest --key ci.key app:1 >out.json 2>err &&
	after=$(date -u +%s) && cat err &&
	grep -q "scan of $(cat d) (2 findings) attested by key" err &&
	stele scan --db db --json app:1 >plain.json &&
	att_statements "$STELE_STORE" "$(cat d)" >st.json && [ $(wc -l <st.json) = 1 ] &&
	python3 - "$(cat d)" "$TMP/db" $before $after <<-PY
	import calendar, json, sys, time
	d, db, before, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	st = json.loads(open("st.json").read())
	assert st["_type"] == "https://in-toto.io/Statement/v1"
	assert st["predicateType"] == "https://cosign.sigstore.dev/attestation/vuln/v1"
	assert st["subject"] == [{"name": "app", "digest": {"sha256": d[7:]}}], st["subject"]
	p = st["predicate"]
	assert sorted(p) == ["invocation", "metadata", "scanner"], sorted(p)
	assert p["invocation"] == {"parameters": ["--db=db"], "uri": "", "event_id": "", "builder.id": ""}, p["invocation"]
	sc = p["scanner"]
	assert sc["uri"].startswith("pkg:generic/stele@") and sc["uri"].endswith(sc["version"]), sc
	assert sc["db"] == {"uri": db, "version": "2026-11-01T00:00:00Z"}, sc["db"]
	assert sc["result"] == json.load(open("plain.json")) == json.load(open("out.json"))
	assert {f["id"] for f in sc["result"]["findings"]} == {"CVE-2026-1001", "CVE-2026-2002"}
	t = lambda s: calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
	a, b = t(p["metadata"]["scanStartedOn"]), t(p["metadata"]["scanFinishedOn"])
	assert before <= a <= b <= after, (before, a, b, after)
	PY
'
test_expect_success 'a referrer of the image carries it too' '
	python3 - "$STELE_STORE" "$(cat d)" <<-PY
	import base64, json, sys
	lay, d = sys.argv[1], sys.argv[2]
	idx = json.load(open(lay + "/index.json"))
	seen = []
	for r in idx["manifests"]:
	    if r.get("artifactType") != "application/vnd.dev.cosign.artifact.att.v1+json":
	        continue
	    man = json.load(open(lay + "/blobs/sha256/" + r["digest"][7:]))
	    assert man["subject"]["digest"] == d
	    env = json.load(open(lay + "/blobs/sha256/" + man["layers"][0]["digest"][7:]))
	    seen.append(json.loads(base64.b64decode(env["payload"]))["predicateType"])
	assert "https://cosign.sigstore.dev/attestation/vuln/v1" in seen, seen
	PY
'
test_expect_success 'VEX options are recorded in the invocation, suppression in the result' '
	python3 - <<-PY &&
	import base64, json
	doc = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "timestamp": "2026-11-01T00:00:00Z",
	       "statements": [{"vulnerability": {"name": "CVE-2026-2002"}, "products": [{"@id": "pkg:deb/debian/tool"}],
	                       "status": "not_affected", "justification": "vulnerable_code_not_present"}]}
	open("vex.json", "w").write(json.dumps(doc))
	PY
	$FORGE envelope ci.key pw application/vnd.openvex+json vex.json >vex.dsse &&
	stele scan --db db --vex vex.dsse --vex-key ci.pub --attest --key ci.key app:1 >/dev/null 2>&1 &&
	att_statements "$STELE_STORE" "$(cat d)" | tail -n1 >st2.json &&
	python3 - <<-PY
	import json
	p = json.load(open("st2.json"))["predicate"]
	assert p["invocation"]["parameters"] == ["--db=db", "--vex=vex.dsse", "--vex-key=ci.pub"], p["invocation"]
	f = {x["id"]: x for x in p["scanner"]["result"]["findings"]}
	assert f["CVE-2026-2002"]["suppressed"]["status"] == "not_affected", f
	assert "suppressed" not in f["CVE-2026-1001"]
	PY
'

if ! find_cosign; then
	test_skip 'cosign verify-attestation --type vuln' "$COSIGN_WHY"
	exit 0
fi
if ! start_registry; then
	test_skip 'cosign verify-attestation --type vuln' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
CV="--insecure-ignore-tlog=true --allow-http-registry=true"
test_expect_success 'push carries the scan attestations to the registry' '
	stele sign --key ci.key --identity $REG/app:1 app:1 >/dev/null &&
	stele push --key ci.pub --tls-verify=false app:1 docker://$REG/app:1 >/dev/null 2>err || { cat err; false; }
'
test_expect_success 'cosign verify-attestation --type vuln accepts them' '
	"$COSIGN" verify-attestation --key ci.pub $CV --type vuln $REG/app:1 >va.out 2>va.err || { cat va.err; false; }
	python3 - <<-PY
	import base64, json
	got = [json.loads(base64.b64decode(json.loads(l)["payload"])) for l in open("va.out") if l.strip()]
	vuln = [s for s in got if s["predicateType"] == "https://cosign.sigstore.dev/attestation/vuln/v1"]
	assert len(vuln) == 2, [s["predicateType"] for s in got]
	assert all(s["predicate"]["scanner"]["result"]["findings"] for s in vuln)
	PY
'
test_expect_success 'cosign refuses them with another key' '
	expect_code 1 "$COSIGN" verify-attestation --key other.pub $CV --type vuln $REG/app:1 >/dev/null 2>&1
'
test_expect_success 'pull brings them back' '
	stele pull --tls-verify=false docker://$REG/app:1 oci:back:1 >/dev/null &&
	att_statements back "$(cat d)" | grep -c "attestation/vuln/v1" | grep -qx 2
'
test_done
