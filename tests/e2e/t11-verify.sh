#!/bin/sh
# verify: one policy, every check, a reason for every denial.  A forgery
# matrix: each case damages or counterfeits one thing and must be denied
# with its own reason; the good path passes a threshold-2 policy.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
for k in alice bob carol ci old rev; do stele keygen --output-prefix $k >/dev/null 2>&1; done

make_busybox_base "oci:$TMP/base:bb"
BASE=$(python3 -c "import json;print(json.load(open('base/index.json'))['manifests'][0]['digest'])")
mkdir app && git -C app init -q -b main && echo hello >app/f &&
printf 'FROM oci:%s/base@%s\nCOPY f /f\nUSER 1000\n' "$TMP" "$BASE" >app/Dockerfile &&
git_commit app v1 && git -C app tag v1.0

stele build -q -t app:1 "git+file://$TMP/app#v1.0" >digest
D=$(cat digest)
cp -a "$STELE_STORE" bare-store
stele attest --key ci.key app:1 >/dev/null 2>&1
cp -a "$STELE_STORE" unsigned-store
stele sign --key alice.key app:1 >/dev/null 2>&1
stele sign --key bob.key app:1 >/dev/null 2>&1
cp -a "$STELE_STORE" good-store

cat >policy.json <<EOF
{"keys": {"alice": {"path": "alice.pub"}, "bob": {"path": "bob.pub"},
          "ci": {"path": "ci.pub"},
          "old": {"path": "old.pub", "notAfter": "2020-01-01T00:00:00Z"},
          "rev": {"path": "rev.pub"}},
 "revoked": ["$(stele keygen --help >/dev/null; python3 -c "
import hashlib,base64
l=open('rev.pub').read().strip().split('\n')
print(hashlib.sha256(base64.b64decode(''.join(l[1:-1]))).hexdigest())")"],
 "signatures": {"keys": ["alice", "bob", "old", "rev"], "threshold": 2},
 "provenance": {"required": true, "keys": ["ci"],
                "builderIds": ["https://stele.dev/builder/local"],
                "sources": ["git+file://$TMP/app"], "refs": ["refs/tags/v*"],
                "recipe": "Dockerfile", "hermetic": true},
 "image": {"nonRoot": true, "pinnedBases": true, "registries": ["oci"],
           "maxAgeDays": 36500, "noLatest": true}}
EOF

payload() { # IDENTITY DIGEST [EXTRA]
	printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"%s},"optional":null}' "$1" "$2" "${3:-}"
}

# denied NAME REASON-PATTERN [POLICY]: the current store is denied, naming it
denied() {
	expect_code 1 stele verify --policy "${3:-policy.json}" app:1 >out 2>/dev/null; rc=$?
	cat out
	[ $rc = 0 ] && grep -q "^FAIL.*$2" out && tail -n1 out | grep -q "^denied"
}
fresh() { rm -rf "$STELE_STORE" && cp -a good-store "$STELE_STORE"; }
S="$STELE_STORE"

test_expect_success 'the good path: built, attested, signed by two keys: allowed' '
	fresh && stele verify --policy policy.json app:1 >out 2>/dev/null && cat out &&
	grep -q "^ok   signature threshold: 2 of 2" out && tail -n1 out | grep -q "^allowed $D"
'
test_expect_success 'the JSON report has one entry per check' '
	stele verify --policy policy.json --json app:1 >r.json 2>/dev/null &&
	[ "$(json_get r.json .allowed)" = True ] &&
	python3 -c "import json;r=json.load(open(\"r.json\"));assert len(r[\"checks\"])>10 and all(c[\"ok\"] for c in r[\"checks\"])"
'
test_expect_success '--key alone: one signature by that key' '
	{ stele verify --key alice.pub app:1 >out 2>&1 || { cat out; false; }; } &&
	expect_code 1 stele verify --key carol.pub app:1 >/dev/null 2>&1
'
L2=$(python3 -c "import json;i=json.load(open('$S/index.json'));m=[x for x in i['manifests'] if x.get('annotations',{}).get('org.opencontainers.image.ref.name')=='app:1'][0];print(json.load(open('$S/blobs/sha256/'+m['digest'][7:]))['layers'][1]['digest'])")
CFG=$(python3 -c "import json;print(json.load(open('$S/blobs/sha256/${D#sha256:}'))['config']['digest'])")

test_expect_success 'forgery: a flipped byte in a layer' '
	fresh && $FORGE flip "$S" "$L2" && denied layer "layer 2: blob $L2 is corrupt"
'
test_expect_success 'forgery: a flipped byte in the config' '
	fresh && $FORGE flip "$S" "$CFG" && denied config "image: .*corrupt"
'
test_expect_success 'forgery: a flipped byte in the manifest' '
	fresh && $FORGE flip "$S" "$D" && denied manifest "image: .*corrupt"
'
test_expect_success 'forgery: a layer swapped for another image'"'"'s' '
	fresh && mkdir -p other && echo other >other/g && printf "FROM scratch\nCOPY g /g\n" >other/Dockerfile &&
	stele build -q -t other:1 other >/dev/null &&
	OL=$(stele inspect --json other:1 | python3 -c "import json,sys;print(json.load(sys.stdin)[\"manifest\"][\"layers\"][0][\"digest\"])") &&
	$FORGE swap "$S" app:1 1 "$OL" >/dev/null && denied swap "diff_id"
'
test_expect_success 'forgery: a signature copied from another image' '
	fresh && stele build -q -t other:1 other >od && stele sign --key alice.key other:1 >/dev/null 2>&1 &&
	$FORGE copysig "$S" "$(cat od)" "$D" && denied copied "signature .*$(cat od | cut -c1-15)\|signature threshold: 0"
'
test_expect_success 'forgery: a payload with an altered digest (validly signed)' '
	fresh && $FORGE sign "$S" "$D" alice.key pw "$(payload app:1 "$(cat od)")" &&
	denied digest "signature.*sha256"
'
test_expect_success 'forgery: a payload with an extra field' '
	fresh && $FORGE sign "$S" "$D" alice.key pw "$(payload app:1 "$D" ",\"extra\":1")" &&
	denied extra "signature.*extra\|signature.*unknown\|signature.*field"
'
test_expect_success 'forgery: a payload with a duplicate key' '
	fresh && $FORGE sign "$S" "$D" alice.key pw "$(payload app:1 "$D" ",\"type\":\"x\"")" &&
	denied duplicate "signature.*duplicate"
'
# One good signature and the forged one: only a counted second key passes.
half() { rm -rf "$S" && cp -a unsigned-store "$S" && stele sign --key alice.key app:1 >/dev/null 2>&1; }
test_expect_success 'forgery: a payload for a different identity is not counted' '
	half && $FORGE sign "$S" "$D" bob.key pw "$(payload evil:1 "$D")" &&
	denied identity "signature threshold: 1 of 2 .*bob.*signed for .evil:1., not for .app:1."
'
test_expect_success 'forgery: a signature by an untrusted key' '
	half && stele sign --key carol.key app:1 >/dev/null 2>&1 &&
	denied untrusted "signature threshold: 1 of 2 .*no trusted key made it"
'
test_expect_success 'a signature by a trusted key not among signatures.keys is not counted' '
	half && stele sign --key ci.key app:1 >/dev/null 2>&1 &&
	denied ci "signature threshold: 1 of 2 .*: key .ci. may not sign images\$" &&
	grep -q "^ok   signature sha256:.*: not counted: key .ci. may not sign images\$" out
'
test_expect_success 'forgery: a signature by an expired key' '
	half && stele sign --key old.key app:1 >/dev/null 2>&1 &&
	denied expired "signature threshold: 1 of 2 .*key .old. expired"
'
test_expect_success 'forgery: a signature by a revoked key' '
	half && stele sign --key rev.key app:1 >/dev/null 2>&1 &&
	denied revoked "signature threshold: 1 of 2 .*key .rev. .* is revoked"
'
test_expect_success 'extra signatures by unknown keys do not deny a good image' '
	fresh && stele sign --key carol.key app:1 >/dev/null 2>&1 &&
	stele verify --policy policy.json app:1 >/dev/null 2>&1
'
test_expect_success 'noise no trusted key could have made (an RSA-sized signature, a layer without one, a non-envelope) is not counted and cannot deny' '
	fresh && $FORGE junk "$S" "$D" rsa-sig && $FORGE junk "$S" "$D" nosig &&
	$FORGE junk "$S" "$D" garbage-att &&
	stele verify --policy policy.json app:1 >out 2>&1; rc=$?; cat out; [ $rc = 0 ] &&
	grep -q "^ok   signature .*not counted: signature annotation is too long" out &&
	grep -q "^ok   signature .*not counted: layer has no" out &&
	grep -q "^ok   attestation .*not counted" out
'
test_expect_success 'forgery: a threshold of 2 met by one key signing twice' '
	rm -rf "$S" && cp -a unsigned-store "$S" &&
	stele sign --key alice.key app:1 >/dev/null 2>&1 &&
	stele sign --key alice.key -a note=again app:1 >/dev/null 2>&1 &&
	denied twice "signature threshold: 1 of 2"
'
test_expect_success 'forgery: a DSSE envelope with another payloadType' '
	fresh && python3 -c "import json;print(json.dumps({\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"app\",\"digest\":{\"sha256\":\"${D#sha256:}\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}))" >st.json &&
	$FORGE dsse "$S" "$D" ci.key pw application/json st.json && denied ptype "attestation.*payload"
'
test_expect_success 'forgery: a DSSE statement about another digest' '
	fresh && sed "s/${D#sha256:}/$(cut -c8- od)/" st.json >st2.json &&
	$FORGE dsse "$S" "$D" ci.key pw application/vnd.in-toto+json st2.json && denied subject "attestation.*"
'
test_expect_success 'forgery: provenance signed by a key not allowed for provenance' '
	rm -rf "$S" && cp -a bare-store "$S" && stele attest --key alice.key app:1 >/dev/null 2>&1 &&
	stele sign --key alice.key app:1 >/dev/null 2>&1 && stele sign --key bob.key app:1 >/dev/null 2>&1 &&
	denied provkey "provenance: no SLSA provenance signed by an allowed key .*alice.*not allowed for provenance"
'
test_expect_success 'policy: a source repository outside the policy' '
	fresh && sed "s|\"git+file://$TMP/app\"|\"git+https://git.example/other\"|" policy.json >p2.json &&
	denied source "is not an allowed repository" p2.json
'
test_expect_success 'policy: a ref outside the policy' '
	fresh && sed "s|refs/tags/v\*|refs/tags/release-*|" policy.json >p3.json &&
	denied ref "ref .refs/tags/v1.0. does not match" p3.json
'
test_expect_success 'policy: a RUN with network under hermetic' '
	fresh && printf "FROM oci:%s/base@%s\nRUN --network=host true\nUSER 1000\n" "$TMP" "$BASE" >app/Dockerfile &&
	git_commit app net && git -C app tag v1.1 &&
	stele build -q -t app:1 "git+file://$TMP/app#v1.1" >/dev/null &&
	stele attest --key ci.key app:1 >/dev/null 2>&1 && stele sign --key alice.key app:1 >/dev/null 2>&1 &&
	stele sign --key bob.key app:1 >/dev/null 2>&1 && denied hermetic "hermetic: line 2 (RUN --network=host true) ran with --network=host"
'
test_expect_success 'policy: a root USER' '
	fresh && printf "FROM oci:%s/base@%s\nCOPY f /f\n" "$TMP" "$BASE" >app/Dockerfile &&
	git_commit app root && git -C app tag v1.2 &&
	stele build -q -t app:1 "git+file://$TMP/app#v1.2" >/dev/null &&
	stele attest --key ci.key app:1 >/dev/null 2>&1 && stele sign --key alice.key app:1 >/dev/null 2>&1 &&
	stele sign --key bob.key app:1 >/dev/null 2>&1 && denied root "the image runs as root"
'
test_expect_success 'policy: an unpinned base' '
	fresh && printf "FROM oci:%s/base:bb\nCOPY f /f\nUSER 1000\n" "$TMP" >app/Dockerfile &&
	git_commit app unpinned && git -C app tag v1.3 &&
	stele build -q -t app:1 "git+file://$TMP/app#v1.3" >/dev/null &&
	stele attest --key ci.key app:1 >/dev/null 2>&1 && stele sign --key alice.key app:1 >/dev/null 2>&1 &&
	stele sign --key bob.key app:1 >/dev/null 2>&1 && denied unpinned "not pinned by digest"
'
test_expect_success 'policy: an image older than the maximum age' '
	fresh && sed "s/\"maxAgeDays\": 36500/\"maxAgeDays\": 30/" policy.json >p4.json &&
	denied age "maximum age: created 2023" p4.json
'
test_expect_success 'policy: maximum age of a reproducible build created at the epoch comes from its signed provenance' '
	mkdir -p ctx && echo x >ctx/f && printf "FROM scratch\nCOPY f /f\n" >ctx/Dockerfile &&
	S0="$STELE_STORE" && STELE_STORE="$TMP/epoch-store" &&
	(unset SOURCE_DATE_EPOCH; stele build -q -t ep:1 ctx >/dev/null) &&
	stele inspect --json ep:1 >ep.json 2>/dev/null; grep -q "1970-01-01" ep.json &&
	printf "{\"keys\": {\"ci\": {\"path\": \"ci.pub\"}}, \"provenance\": {\"keys\": [\"ci\"]}, \"signatures\": {\"threshold\": 0}, \"image\": {\"maxAgeDays\": 30}}\n" >age.json &&
	expect_code 1 stele verify --policy age.json ep:1 >out 2>/dev/null &&
	grep -q "^FAIL maximum age: created is the epoch and no signed provenance" out &&
	stele attest --key ci.key ep:1 >/dev/null 2>&1 &&
	stele verify --policy age.json ep:1 >out 2>/dev/null &&
	grep -q "^ok   maximum age: built (signed provenance; created is the epoch) 20" out;
	rc=$?; STELE_STORE="$S0"; cat out; [ $rc = 0 ]
'
test_expect_success 'policy: a latest tag' '
	fresh && stele build -q -t app:latest "git+file://$TMP/app#v1.0" >/dev/null &&
	stele attest --key ci.key app:latest >/dev/null 2>&1 &&
	stele sign --key alice.key app:latest >/dev/null 2>&1 && stele sign --key bob.key app:latest >/dev/null 2>&1 &&
	expect_code 1 stele verify --policy policy.json app:latest >out 2>/dev/null && grep -q "FAIL no latest tag" out
'
test_expect_success 'policy: an unknown key in the policy is an error, never a weaker policy' '
	fresh && sed "s/\"nonRoot\"/\"nonRooot\"/" policy.json >p5.json &&
	! stele verify --policy p5.json app:1 >out 2>err && grep -q "unknown key .nonRooot." err
'
test_expect_success 'policy: a key entry of the wrong kind is an error' '
	printf "{\"keys\": {\"x\": {\"path\": \"alice.key\"}}}" >p6.json &&
	! stele verify --policy p6.json app:1 >/dev/null 2>err && grep -q "policy" err
'
test_expect_success 'usage: exactly one of --policy and --key' '
	expect_code 2 stele verify app:1 2>/dev/null &&
	expect_code 2 stele verify --key alice.pub --policy policy.json app:1 2>/dev/null
'

# ---- identities (verify/identity.h): both trusted keys sign IDENT (exact
# payload bytes, the image's index entry untouched), then the policy's
# signatures.identity decides.  Each type has an allowed case and a denied
# one; each denial names the rule.
signed_for() { # IDENT: alice and bob sign this digest for IDENT
	rm -rf "$S" && cp -a unsigned-store "$S" &&
	$FORGE sign "$S" "$D" alice.key pw "$(payload "$1" "$D")" &&
	$FORGE sign "$S" "$D" bob.key pw "$(payload "$1" "$D")"
}
with_identity() { # JSON OUT: policy.json with signatures.identity = JSON
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	p = json.load(open("policy.json"))
	p["signatures"]["identity"] = json.loads(sys.argv[1])
	json.dump(p, open(sys.argv[2], "w"))
	PY
}
allowed_as() { # POLICY [REF]
	stele verify --policy "$1" "${2:-app:1}" >out 2>/dev/null || { cat out; false; }
}
test_expect_success 'identity: the default binds to the store NAME:TAG (docker.io/library/app:1 is app:1)' '
	signed_for docker.io/library/app:1 && allowed_as policy.json &&
	grep -q "^ok   signature identity: matchRepoDigestOrExact (default), image verified as .app:1." out
'
test_expect_success 'forgery: cross-repository replay (the same digest signed for another repository)' '
	signed_for reg.example/app/sig:1 &&
	denied replay "signature threshold: 0 of 2 .*signed for .reg.example/app/sig:1., not for .app:1."
'
test_expect_success 'forgery: tag confusion (signed for app:2, verified as app:1)' '
	signed_for app:2 && denied tag "signature threshold: 0 of 2 .*signed for .app:2., not for .app:1."
'
test_expect_success 'identity: by digest, a signature for any tag of the same repository counts (as in containers/image)' '
	signed_for app:2 && allowed_as policy.json "app@$D" &&
	grep -q "image verified as .app@$D." out
'
test_expect_success 'forgery: digest confusion (signed for another repository, verified by digest)' '
	signed_for evil:2 &&
	expect_code 1 stele verify --policy policy.json "app@$D" >out 2>/dev/null && cat out &&
	grep -q "^FAIL signature threshold: 0 of 2 .*signed for repository .docker.io/library/evil., not .docker.io/library/app." out
'
test_expect_success 'forgery: a repository-only signature (cosign style) under the default' '
	signed_for app && denied nameonly "signature threshold: 0 of 2 .*a repository without tag or digest"
'
test_expect_success 'identity matchRepository: allows cosign-style signatures of the repository' '
	signed_for app && with_identity "{\"type\": \"matchRepository\"}" pr.json && allowed_as pr.json
'
test_expect_success 'forgery: matchRepository mismatch (another repository)' '
	signed_for other && denied mrepo "signed for repository .docker.io/library/other., not .docker.io/library/app. (matchRepository)" pr.json
'
test_expect_success 'identity matchExact: the same tag is allowed' '
	signed_for app:1 && with_identity "{\"type\": \"matchExact\"}" pe.json && allowed_as pe.json
'
test_expect_success 'forgery: matchExact mismatch (verified by digest, signed for a tag)' '
	signed_for app:1 &&
	expect_code 1 stele verify --policy pe.json "app@$D" >out 2>/dev/null && cat out &&
	grep -q "^FAIL signature threshold: 0 of 2 .*not exactly .app@$D. (matchExact)" out
'
test_expect_success 'identity exactReference: the one reference named, whatever the image is verified as' '
	signed_for reg.example/app:1.4.0 &&
	with_identity "{\"type\": \"exactReference\", \"dockerReference\": \"reg.example/app:1.4.0\"}" pxr.json &&
	allowed_as pxr.json
'
test_expect_success 'forgery: exactReference mismatch (another tag of it)' '
	signed_for reg.example/app:1.4.1 && denied xref "not for .reg.example/app:1.4.0. (exactReference)" pxr.json
'
test_expect_success 'identity exactRepository: any reference in the repository named' '
	signed_for reg.example/app:9 &&
	with_identity "{\"type\": \"exactRepository\", \"dockerRepository\": \"reg.example/app\"}" pxp.json &&
	allowed_as pxp.json
'
test_expect_success 'forgery: exactRepository mismatch' '
	signed_for reg.example/evil:9 && denied xrepo "not .reg.example/app. (exactRepository)" pxp.json
'
test_expect_success 'identity remapIdentity: docker.io/library signed as reg.example/mirror' '
	signed_for reg.example/mirror/app:1 &&
	with_identity "{\"type\": \"remapIdentity\", \"prefix\": \"docker.io/library\", \"signedPrefix\": \"reg.example/mirror\"}" prm.json &&
	allowed_as prm.json
'
test_expect_success 'forgery: remapIdentity mismatch (signed under another prefix)' '
	signed_for reg.example/other/app:1 && denied remap "signed for .reg.example/other/app:1., not for .reg.example/mirror/app:1." prm.json
'
test_expect_success 'identity: the old string form still works (exactReference) and says so' '
	signed_for reg.example/app:1.4.0 &&
	python3 -c "import json;p=json.load(open(\"policy.json\"));p[\"signatures\"][\"identity\"]=\"reg.example/app:1.4.0\";json.dump(p,open(\"pold.json\",\"w\"))" &&
	allowed_as pold.json && grep -q "exactReference reg.example/app:1.4.0 (old string form)" out &&
	signed_for reg.example/app:1.4.1 && denied old "exactReference" pold.json
'
# bad_identity JSON PATTERN: a policy error (exit 3) naming the problem
bad_identity() {
	with_identity "$1" pbad.json &&
	expect_code 3 stele verify --policy pbad.json app:1 >/dev/null 2>err && cat err && grep -q "$2" err
}
test_expect_success 'policy error: an identity type with a bad or missing field (exit 3)' '
	bad_identity "{\"type\": \"exactReference\"}" "identity.dockerReference (type exactReference) is required" &&
	bad_identity "{\"type\": \"exactReference\", \"dockerReference\": \"reg.example/app\"}" "must have a tag or a digest" &&
	bad_identity "{\"type\": \"exactReference\", \"dockerReference\": \"Bad Ref:1\"}" "not a docker reference" &&
	bad_identity "{\"type\": \"exactRepository\", \"dockerRepository\": \"reg.example/app:1\"}" "must be a repository, without tag or digest" &&
	bad_identity "{\"type\": \"remapIdentity\", \"prefix\": \"library\", \"signedPrefix\": \"reg.example/m\"}" "prefix .library. (type remapIdentity) must be" &&
	bad_identity "{\"type\": \"remapIdentity\", \"prefix\": \"docker.io\"}" "signedPrefix (type remapIdentity) is required" &&
	bad_identity "{\"type\": \"matchRepository\", \"dockerRepository\": \"x/y\"}" "unknown key .dockerRepository. in signatures.identity" &&
	bad_identity "{\"type\": \"matchTag\"}" "type .matchTag. is not one of" &&
	bad_identity "{}" "must be an object with a \"type\""
'

# ---- fail closed: a policy says what it trusts.
test_expect_success 'fail closed: {} is an invalid policy (exit 3), not an allowed unsigned image' '
	rm -rf "$S" && cp -a bare-store "$S" && echo "{}" >pempty.json &&
	expect_code 3 stele verify --policy pempty.json app:1 >out 2>err && cat err &&
	grep -q "says nothing about signatures" err && ! grep -q "^allowed" out
'
test_expect_success 'fail closed: keys without a signatures section is invalid' '
	echo "{\"keys\": {\"alice\": {\"path\": \"alice.pub\"}}}" >pnosig.json &&
	expect_code 3 stele verify --policy pnosig.json app:1 2>err && grep -q "says nothing about signatures" err
'
test_expect_success 'fail closed: a threshold no set of the policy'"'"'s keys can meet is invalid' '
	echo "{\"signatures\": {\"threshold\": 1}}" >pnokeys.json &&
	expect_code 3 stele verify --policy pnokeys.json app:1 2>err && grep -q "threshold is 1 but 0 key(s) may sign" err &&
	echo "{\"keys\": {\"alice\": {\"path\": \"alice.pub\"}}, \"signatures\": {\"threshold\": 2}}" >ptoo.json &&
	expect_code 3 stele verify --policy ptoo.json app:1 2>err && grep -q "threshold is 2 but 1 key(s) may sign" err
'
test_expect_success 'fail closed: empty allow-lists and empty sections are invalid, never "no rule"' '
	for body in "\"signatures\": {\"keys\": [], \"threshold\": 0}" \
		    "\"signatures\": {\"threshold\": 0}, \"provenance\": {\"builderIds\": []}" \
		    "\"signatures\": {\"threshold\": 0}, \"provenance\": {\"sources\": []}" \
		    "\"signatures\": {\"threshold\": 0}, \"provenance\": {\"refs\": []}" \
		    "\"signatures\": {\"threshold\": 0}, \"provenance\": {\"keys\": []}" \
		    "\"signatures\": {\"threshold\": 0}, \"image\": {\"registries\": []}" \
		    "\"signatures\": {\"threshold\": 0}, \"image\": {}"; do
		echo "{$body}" >pe2.json &&
		expect_code 3 stele verify --policy pe2.json app:1 2>err && cat err &&
		grep -q "is empty" err || exit 1
	done
'
test_expect_success 'fail closed: threshold 0 must be said, and every report (text and JSON) warns' '
	echo "{\"signatures\": {\"threshold\": 0}}" >pzero.json &&
	stele verify --policy pzero.json app:1 >out 2>/dev/null && cat out &&
	grep -q "^warning: signatures.threshold is 0: this policy allows unsigned images" out &&
	tail -n1 out | grep -q "^allowed" &&
	stele verify --policy pzero.json --json app:1 >z.json 2>/dev/null &&
	python3 -c "import json;r=json.load(open(\"z.json\"));assert r[\"allowed\"] and any(\"threshold is 0\" in w for w in r[\"warnings\"]), r"
'
test_expect_success 'fail closed: a denied report carries the warning too' '
	echo "{\"signatures\": {\"threshold\": 0}, \"image\": {\"maxAgeDays\": 1}}" >pz2.json &&
	expect_code 1 stele verify --policy pz2.json --json app:1 >z2.json 2>/dev/null &&
	python3 -c "import json;r=json.load(open(\"z2.json\"));assert not r[\"allowed\"] and r[\"warnings\"], r" &&
	expect_code 1 stele verify --policy pz2.json app:1 >out 2>/dev/null &&
	tail -n2 out | head -n1 | grep -q "^warning: signatures.threshold is 0"
'
test_expect_success '--signatures-only: the policy without reading layers, and says so' '
	fresh && stele verify --signatures-only --policy policy.json app:1 >out 2>/dev/null && cat out &&
	grep -q "^ok   signature threshold: 2 of 2" out && ! grep -q "^ok   layer" out &&
	grep -q "^warning: --signatures-only: the layer blobs were not read" out &&
	tail -n1 out | grep -q "^allowed $D"
'
test_expect_success '--signatures-only does not see a damaged layer (documented); verify does' '
	fresh && $FORGE flip "$S" "$L2" &&
	stele verify --signatures-only --policy policy.json app:1 >/dev/null 2>&1 &&
	expect_code 1 stele verify --policy policy.json app:1 >/dev/null 2>&1
'
test_expect_success '--signatures-only still denies a missing signature, a damaged config or manifest' '
	fresh && expect_code 1 stele verify --signatures-only --key carol.pub app:1 >/dev/null 2>&1 &&
	fresh && $FORGE flip "$S" "$CFG" &&
	expect_code 1 stele verify --signatures-only --policy policy.json app:1 >/dev/null 2>&1 &&
	fresh && $FORGE flip "$S" "$D" &&
	expect_code 1 stele verify --signatures-only --policy policy.json app:1 >/dev/null 2>&1
'
test_expect_success '--signatures-only with --rebuild is a usage error' '
	fresh && expect_code 2 stele verify --signatures-only --rebuild --policy policy.json app:1 2>err &&
	grep -q "exclude each other" err
'
# Layers are inflated by ISA-L, member after member: a gzip stream cut short
# (its digest in the manifest, so only the inflate can tell) or with a
# member whose CRC is wrong uncompresses to nothing a diff_id can match.
for cut in truncated badcrc; do
test_expect_success "a $cut gzip layer is named unreadable" "
	fresh && python3 - '$S' '$D' $cut <<-'PY' &&
	import hashlib, json, sys
	s, d, how = sys.argv[1:]
	b = lambda x: s + '/blobs/sha256/' + x[7:]
	def put(data):
	    x = 'sha256:' + hashlib.sha256(data).hexdigest()
	    open(b(x), 'wb').write(data)
	    return x
	man = json.load(open(b(d)))
	gz = open(b(man['layers'][0]['digest']), 'rb').read()
	gz = gz[:len(gz) // 2] if how == 'truncated' else gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:]
	man['layers'][0]['digest'] = put(gz); man['layers'][0]['size'] = len(gz)
	mj = json.dumps(man, sort_keys=True, separators=(',', ':')).encode()
	nd = put(mj)
	i = json.load(open(s + '/index.json'))
	for m in i['manifests']:
	    if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == 'app:1':
	        m['digest'] = nd; m['size'] = len(mj)
	json.dump(i, open(s + '/index.json', 'w'))
	PY
	expect_code 1 stele verify --key alice.pub app:1 >out 2>/dev/null && cat out &&
	grep -q '^FAIL layer 1: blob .* uncompresses to (unreadable)' out
"
done
