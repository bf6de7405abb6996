#!/bin/sh
# Signed SBOM attestations: `stele build --sign-key K --sbom` and `stele
# attest --sbom [--format cyclonedx]` sign the image's SBOM as an in-toto
# statement (predicate https://spdx.dev/Document or
# https://cyclonedx.org/bom), stored under sha256-<hex>.att and as an OCI
# 1.1 referrer; it travels with push, pull and copy; `cosign
# verify-attestation --type spdxjson|cyclonedx --key` (Debian trixie's cosign
# 2.5, fetched as t22 does) accepts it against a registry on 127.0.0.1 and
# refuses another key.  The signed predicates pass the independent SPDX 2.3
# and CycloneDX 1.6 validator (tests/e2e/sbomvalid.py).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/e2e/sbomvalid-lib.sh"

export STELE_PASSWORD=pw COSIGN_PASSWORD=pw
stele keygen --output-prefix rm >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
mkdir -p root/lib/apk/db root/bin root/etc
printf 'ID=alpine\nVERSION_ID=3.20.3\n' >root/etc/os-release
printf 'busybox binary\n' >root/bin/busybox
printf 'P:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:busybox\n\nP:musl\nV:1.2.5-r0\nA:x86_64\n\n' \
	>root/lib/apk/db/installed
stele import -q -t alp:1 root >/dev/null
mkdir ctx && echo hi >ctx/hello && printf 'FROM alp:1\nCOPY hello /hello\n' >ctx/Dockerfile
# The predicate types stored under the image's .att tag, sorted.
att_types() { # LAYOUT DIGEST
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	lay, d = sys.argv[1], sys.argv[2]
	idx = json.load(open(lay + "/index.json"))
	tag = "sha256-%s.att" % d[7:]
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
	if not m:
	    sys.exit(0)
	man = json.load(open(lay + "/blobs/sha256/" + m[0]["digest"][7:]))
	for t in sorted(l["annotations"]["predicateType"] for l in man["layers"]):
	    print(t)
	PY
}
store() { echo "$STELE_STORE"; }

test_expect_success 'build --sign-key --sbom attests the provenance and the SPDX SBOM' '
	stele build -q --sign-key rm.key --sbom -t app:1 ctx >d 2>err && cat err &&
	grep -q "SBOM (https://spdx.dev/Document, 2 packages) attested by key" err &&
	att_types "$(store)" "$(cat d)" >types && cat types &&
	printf "https://slsa.dev/provenance/v1\nhttps://spdx.dev/Document\n" | diff - types
'
test_expect_success 'attest --sbom --format cyclonedx adds the CycloneDX one; again adds nothing' '
	stele attest --key rm.key --sbom --format cyclonedx app:1 >out && cat out &&
	grep -q "cyclonedx.org/bom, 2 packages) attested by key .* (3 attestations)" out &&
	stele attest --key rm.key --sbom --format cyclonedx app:1 >out && cat out &&
	grep -q "already attested" out && stele attest --key rm.key --sbom app:1 | grep -q "already attested" &&
	att_types "$(store)" "$(cat d)" | grep -c . | grep -qx 3
'
test_expect_success 'the signed statement: in-toto v1, the image as subject, the SBOM as predicate, a referrer too' '
	python3 - "$(store)" "$(cat d)" <<-PY
	import base64, json, sys
	lay, d = sys.argv[1], sys.argv[2]
	idx = json.load(open(lay + "/index.json"))
	refs = [m for m in idx["manifests"] if m.get("artifactType") == "application/vnd.dev.cosign.artifact.att.v1+json"]
	seen = set()
	for r in refs:
	    man = json.load(open(lay + "/blobs/sha256/" + r["digest"][7:]))
	    assert man["subject"]["digest"] == d
	    env = json.load(open(lay + "/blobs/sha256/" + man["layers"][0]["digest"][7:]))
	    st = json.loads(base64.b64decode(env["payload"]))
	    assert st["_type"] == "https://in-toto.io/Statement/v1"
	    assert st["subject"][0]["digest"]["sha256"] == d[7:]
	    seen.add(st["predicateType"])
	    if st["predicateType"] == "https://spdx.dev/Document":
	        names = sorted(p["name"] for p in st["predicate"]["packages"])
	        assert names == sorted([d, "busybox", "musl"]), names
	    if st["predicateType"] == "https://cyclonedx.org/bom":
	        assert st["predicate"]["bomFormat"] == "CycloneDX"
	assert seen == {"https://slsa.dev/provenance/v1", "https://spdx.dev/Document", "https://cyclonedx.org/bom"}, seen
	PY
'
test_expect_success 'the statement carries the same document stele sbom writes' '
	stele sbom -f cyclonedx app:1 >cdx.json &&
	python3 - "$(store)" "$(cat d)" <<-PY
	import base64, json, sys
	lay, d = sys.argv[1], sys.argv[2]
	idx = json.load(open(lay + "/index.json"))
	tag = "sha256-%s.att" % d[7:]
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
	man = json.load(open(lay + "/blobs/sha256/" + m["digest"][7:]))
	for l in man["layers"]:
	    st = json.loads(base64.b64decode(json.load(open(lay + "/blobs/sha256/" + l["digest"][7:]))["payload"]))
	    if st["predicateType"] == "https://cyclonedx.org/bom":
	        assert st["predicate"] == json.load(open("cdx.json"))
	        break
	else:
	    sys.exit("no CycloneDX statement")
	PY
'
if sv_ready; then
	test_expect_success 'the signed predicates pass the SPDX 2.3 and CycloneDX 1.6 validator' '
		python3 - "$(store)" "$(cat d)" <<-PY &&
		import base64, json, sys
		lay, d = sys.argv[1], sys.argv[2]
		idx = json.load(open(lay + "/index.json"))
		tag = "sha256-%s.att" % d[7:]
		m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
		out = {"https://spdx.dev/Document": "pred.spdx.json", "https://cyclonedx.org/bom": "pred.cdx.json"}
		for l in json.load(open(lay + "/blobs/sha256/" + m["digest"][7:]))["layers"]:
		    st = json.loads(base64.b64decode(json.load(open(lay + "/blobs/sha256/" + l["digest"][7:]))["payload"]))
		    if st["predicateType"] in out:
		        json.dump(st["predicate"], open(out.pop(st["predicateType"]), "w"))
		assert not out, out
		PY
		sbom_valid spdx pred.spdx.json && sbom_valid cyclonedx pred.cdx.json
	'
else
	test_skip 'the signed predicates pass the SPDX 2.3 and CycloneDX 1.6 validator' "$SV_WHY"
fi
test_expect_success 'verify still allows the image, and attest --sbom is refused for an image whose database is refused' '
	stele sign --key rm.key --identity app:1 app:1 >/dev/null &&
	stele verify --key rm.pub app:1 >out 2>&1 && tail -n1 out | grep -q "^allowed" &&
	ln -sf /etc/passwd root/lib/apk/db/installed && stele import -q -t bad:1 root >/dev/null &&
	expect_code 3 stele attest --key rm.key --sbom bad:1 2>err; rc=$?; cat err
	[ $rc = 0 ] && grep -q "is a symlink" err &&
	[ -z "$(att_types "$(store)" "$(stele inspect --json bad:1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"digest\"])")")" ]
'
test_expect_success 'usage: --format needs --sbom, build --sbom needs --sign-key, unknown formats' '
	expect_code 2 stele attest --key rm.key --format spdx app:1 2>err && grep -q "for --sbom" err &&
	expect_code 2 stele attest --key rm.key --sbom --format xml app:1 2>/dev/null &&
	expect_code 2 stele build --sbom -t x:1 ctx 2>err && grep -q "needs --sign-key" err &&
	expect_code 2 stele build --sbom=xml --sign-key rm.key -t x:1 ctx 2>/dev/null
'

if ! find_cosign; then
	test_skip 'cosign verify-attestation of SBOMs' "$COSIGN_WHY"
	exit 0
fi
if ! start_registry; then
	test_skip 'cosign verify-attestation of SBOMs' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
D=$(cat d)
CV="--insecure-ignore-tlog=true --allow-http-registry=true"
test_expect_success 'push carries the SBOM attestations to the registry' '
	stele sign --key rm.key --identity $REG/app:1 app:1 >/dev/null &&
	stele push --key rm.pub --tls-verify=false app:1 docker://$REG/app:1 >/dev/null 2>err || { cat err; false; }
'
for t in spdxjson cyclonedx; do
	test_expect_success "cosign verify-attestation --type $t accepts it" "
		\"\$COSIGN\" verify-attestation --key rm.pub $CV --type $t \$REG/app:1 >va.out 2>va.err ||
		{ cat va.err; false; }
		python3 - $t <<-'PY'
		import base64, json, sys
		want = {'spdxjson': 'https://spdx.dev/Document', 'cyclonedx': 'https://cyclonedx.org/bom'}[sys.argv[1]]
		got = [json.loads(base64.b64decode(json.loads(l)['payload']))['predicateType'] for l in open('va.out') if l.strip()]
		assert want in got, got
		PY
	"
done
test_expect_success 'cosign refuses them with another key' '
	expect_code 1 "$COSIGN" verify-attestation --key other.pub $CV --type spdxjson $REG/app:1 >/dev/null 2>&1
'
test_expect_success 'pull and copy bring the SBOM attestations along' '
	stele pull --tls-verify=false docker://$REG/app:1 oci:back:1 >/dev/null &&
	att_types back "$D" >types && cat types && grep -c . types | grep -qx 3 &&
	stele copy --key rm.pub --tls-verify=false docker://$REG/app:1 docker://$REG/mirror:1 >/dev/null &&
	"$COSIGN" verify-attestation --key rm.pub $CV --type cyclonedx $REG/mirror:1 >/dev/null
'
