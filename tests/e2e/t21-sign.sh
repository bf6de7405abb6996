#!/bin/sh
# Signing and attesting images in a layout, as cosign stores them: one
# sha256-<hex>.sig manifest whose layers are the signatures (a layer per
# signer, never the same one twice), DSSE attestations under .att, each also
# an OCI 1.1 referrer; the image's digest never changes.  An independent
# Python reader recomputes each payload and verifies each signature.
. "$(dirname "$0")/lib.sh"

PY=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import nacl, cryptography' 2>/dev/null; then PY=$p; break; fi
done
KC="$TOP/tests/interop/keycheck.py"
export STELE_PASSWORD=pw
stele keygen --output-prefix a >a.id 2>/dev/null
stele keygen --output-prefix b >b.id 2>/dev/null
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\nENV A=1\n' >ctx/Dockerfile
stele build -q -t app:1 ctx >digest
D=$(cat digest)
H=${D#sha256:}
S=store

# tagged LAYOUT TAG: the manifest JSON under that ref.name.
tagged() {
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	idx = json.load(open(sys.argv[1] + "/index.json"))
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]]
	assert len(m) == 1, m
	print(open(sys.argv[1] + "/blobs/sha256/" + m[0]["digest"][7:]).read())
	PY
}
nlayers() { tagged "$1" "$2" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))'; }
image_entry() { python3 -c 'import json,sys; print([m["digest"] for m in json.load(open(sys.argv[1]+"/index.json"))["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")==sys.argv[2]][0])' "$1" "$2"; }

test_expect_success 'sign with key a: a sha256-<hex>.sig manifest with one layer' '
	cp $S/blobs/sha256/$H manifest.before &&
	stele sign --key a.key app:1 >out && cat out &&
	grep -q "signed as app:1 by key $(cat a.id) (1 signature)" out &&
	test "$(nlayers $S sha256-$H.sig)" = 1
'
test_expect_success 'sign with key b: the same manifest tag, two layers' '
	stele sign --key b.key app:1 >out &&
	grep -q "(2 signatures)" out &&
	test "$(nlayers $S sha256-$H.sig)" = 2
'
test_expect_success 'sign with key a again: nothing added, index unchanged' '
	cp $S/index.json index.before &&
	stele sign --key a.key app:1 >out &&
	grep -q "already signed as app:1 by key $(cat a.id); nothing added" out &&
	cmp $S/index.json index.before && test "$(nlayers $S sha256-$H.sig)" = 2
'
test_expect_success 'the image digest never changed' '
	test "$(image_entry $S app:1)" = "$D" &&
	cmp $S/blobs/sha256/$H manifest.before &&
	stele inspect --json app:1 >i.json && test "$(json_get i.json .digest)" = "$D"
'
test_expect_success 'the signature manifest is what cosign writes' '
	tagged $S sha256-$H.sig >sig.json &&
	test "$(json_get sig.json .mediaType)" = application/vnd.oci.image.manifest.v1+json &&
	test "$(json_get sig.json .config.mediaType)" = application/vnd.oci.image.config.v1+json &&
	test "$(json_get sig.json .layers[0].mediaType)" = application/vnd.dev.cosign.simplesigning.v1+json &&
	json_get sig.json ".layers[1].annotations" | grep -q "dev.cosignproject.cosign/signature" &&
	payload=$(json_get sig.json .layers[0].digest) &&
	test "$(cat "$(blob $S "$payload")")" = "{\"critical\":{\"identity\":{\"docker-reference\":\"app:1\"},\"image\":{\"docker-manifest-digest\":\"$D\"},\"type\":\"cosign container image signature\"},\"optional\":null}"
'
if [ -n "$PY" ]; then
	test_expect_success 'an independent reader recomputes the payload and verifies both signatures' '
		"$PY" "$KC" sig $S "$D" app:1 a.pub b.pub
	'
else
	test_skip 'independent signature check' 'no python3 with nacl and cryptography'
fi
test_expect_success 'each signature is also an OCI 1.1 referrer of the image' '
	stele inspect --json app:1 >i.json &&
	python3 - "$D" <<-PY
	import json, sys
	refs = json.load(open("i.json"))["referrers"]
	sigs = [r for r in refs if r["artifactType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"]
	assert len(sigs) == 2, refs
	for r in sigs:
	    m = json.load(open("store/blobs/sha256/" + r["digest"][7:]))
	    assert m["subject"]["digest"] == sys.argv[1]
	    assert m["config"]["mediaType"] == r["artifactType"]
	    assert len(m["layers"]) == 1
	PY
'
test_expect_success 'attest: the provenance statement as a DSSE envelope under .att' '
	stele attest --key a.key app:1 >out && cat out &&
	grep -q "attested by key $(cat a.id) (1 attestation)" out &&
	tagged $S sha256-$H.att >att.json &&
	test "$(json_get att.json .layers[0].mediaType)" = application/vnd.dsse.envelope.v1+json &&
	test "$(json_get att.json .layers[0].annotations.predicateType)" = https://slsa.dev/provenance/v1 &&
	stele attest --key a.key app:1 >out && grep -q "nothing added" out &&
	test "$(image_entry $S app:1)" = "$D"
'
if [ -n "$PY" ]; then
	test_expect_success 'an independent reader verifies the envelope over the exact stored statement' '
		"$PY" "$KC" att $S "$D" a.pub
	'
else
	test_skip 'an independent reader verifies the envelope' 'no python3 with nacl and cryptography'
fi
test_expect_success 'oci: layouts need --identity; -a annotations go into optional' '
	stele build -q -o oci:lay:1 ctx >ld &&
	expect_code 2 stele sign --key a.key oci:lay:1 2>err &&
	grep -q "give --identity" err &&
	expect_code 2 stele sign --key a.key --identity "Bad Ref" oci:lay:1 &&
	stele sign --key a.key --identity reg.example/app:1.4.0 -a team=rm -a ticket=42 oci:lay:1 &&
	LH=$(cut -c8- ld) && tagged lay sha256-$LH.sig >ls.json &&
	p=$(json_get ls.json .layers[0].digest) &&
	grep -q "\"docker-reference\":\"reg.example/app:1.4.0\"" "$(blob lay "$p")" &&
	grep -q "\"optional\":{\"team\":\"rm\",\"ticket\":\"42\"}" "$(blob lay "$p")"
'
# only LAYOUT TAG OUT: a copy of the layout whose index lists just TAG
# (oci-image-tool 1.0.0-rc1 refuses any --ref when a layout has two tags).
only() {
	rm -rf "$3" && cp -r "$1" "$3" &&
	python3 - "$3" "$2" <<-'PY'
	import json, sys
	p = sys.argv[1] + "/index.json"
	idx = json.load(open(p))
	idx["manifests"] = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]]
	json.dump(idx, open(p, "w"))
	PY
}
if command -v oci-image-tool >/dev/null 2>&1; then
	test_expect_success 'the signed image still validates (oci-image-tool)' '
		only lay 1 v1 && oci-image-tool validate --type image --ref name=1 v1
	'
else
	test_skip 'oci-image-tool validation' 'oci-image-tool is not installed'
fi
stele build -q -o oci:conc:1 ctx >conc.digest
test_expect_success 'two signers at once: both signatures kept' '
	stele sign --key a.key --identity x/app:1 oci:conc:1 >/dev/null &
	pa=$! &&
	stele sign --key b.key --identity x/app:1 oci:conc:1 >/dev/null &&
	wait $pa &&
	test "$(nlayers conc sha256-$(cut -c8- conc.digest).sig)" = 2
'
test_expect_success 'build --sign-key attests at the end of the build' '
	stele build -q --sign-key b.key -o oci:built:1 ctx >bd 2>err && cat err &&
	grep -q "attested by key $(cat b.id)" err &&
	test "$(nlayers built sha256-$(cut -c8- bd).att)" = 1
'
if [ -n "$PY" ]; then
	test_expect_success 'build --sign-key: an independent reader verifies the envelope' '
		"$PY" "$KC" att built "$(cat bd)" b.pub
	'
else
	test_skip 'build --sign-key: an independent reader verifies the envelope' 'no python3 with nacl and cryptography'
fi
test_expect_success 'build --sign-key with a wrong passphrase fails before building' '
	STELE_PASSWORD=nope expect_code 3 stele build -q --sign-key b.key -o oci:never:1 ctx 2>err &&
	grep -q "wrong passphrase" err && ! test -e never
'
