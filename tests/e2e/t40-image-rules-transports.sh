#!/bin/sh
# image.noLatest and the other image rules hold on every transport (store,
# oci:, docker://), with the tag taken from the reference the image is
# named by (and from the identity it is verified as): a docker:// image was
# once reported as tag 'image' (the temporary layout's name) and allowed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

export STELE_QUIET=1 STELE_PASSWORD=pw
I="--tls-verify=false"
stele keygen --output-prefix k >/dev/null 2>&1
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\n' >ctx/Dockerfile
stele build -q -t app:latest ctx >digest
D=$(cat digest)
# Attested, so that noLatest can check the bases (none: FROM scratch).
stele attest --key k.key app:latest >/dev/null 2>&1
stele copy app:latest app:1 >/dev/null
stele copy app:latest oci:lay:latest >/dev/null
stele copy app:latest oci:lay:1 >/dev/null
echo '{"keys": {"k": {"path": "k.pub"}}, "signatures": {"threshold": 0},
 "provenance": {"keys": ["k"]}, "image": {"noLatest": true}}' >nolatest.json
echo '{"signatures": {"threshold": 0}, "image": {"nonRoot": true}}' >nonroot.json

# latest_denied REF [ARGS]: denied, naming the latest tag
latest_denied() {
	ref=$1
	shift
	expect_code 1 stele verify --policy nolatest.json "$@" "$ref" >out 2>/dev/null; rc=$?
	cat out
	[ $rc = 0 ] && grep -q "^FAIL no latest tag: tag .latest." out
}
allowed() {
	stele verify --policy nolatest.json "$@" >out 2>/dev/null || { cat out; false; }
}

test_expect_success 'store: NAME:latest denied, NAME:1 allowed' '
	latest_denied app:latest && allowed app:1
'
test_expect_success 'oci: DIR:latest denied, DIR:1 allowed' '
	latest_denied oci:lay:latest && allowed oci:lay:1
'
test_expect_success 'oci: verified as a latest identity (--identity) is denied too' '
	expect_code 1 stele verify --policy nolatest.json --identity reg.example/app:latest oci:lay:1 >out 2>/dev/null &&
	cat out && grep -q "^FAIL no latest tag: tag .1., verified as tag .latest." out
'
if ! reg_serve main; then
	test_skip 'docker:// image rules' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
stele push --insecure-skip-verify "$I" app:latest "docker://$REG/app:latest" >/dev/null 2>&1
stele push --insecure-skip-verify "$I" app:latest "docker://$REG/app:1" >/dev/null 2>&1

test_expect_success 'docker://HOST/REPO:latest is denied, reported as tag latest (not the layout name)' '
	latest_denied docker://$REG/app:latest $I && ! grep -q "tag .image." out
'
test_expect_success 'docker://HOST/REPO without a tag is :latest, denied' '
	latest_denied docker://$REG/app $I
'
test_expect_success 'docker://HOST/REPO:1 and @sha256 are allowed' '
	allowed $I docker://$REG/app:1 && grep -q "^ok   no latest tag: tag .1." out &&
	{ allowed $I docker://$REG/app@$D || { echo DIGEST; false; }; } && cat out && grep -q "^ok   no latest tag: tag .(none)." out
'
test_expect_success 'the warning of an explicit threshold 0 is in the docker:// report too' '
	grep -q "^warning: signatures.threshold is 0" out
'
test_expect_success 'nonRoot holds on every transport (a root image denied from store, oci: and docker://)' '
	for ref in app:1 oci:lay:1 docker://$REG/app:1; do
		expect_code 1 stele verify --policy nonroot.json $I "$ref" >out 2>/dev/null &&
		grep -q "^FAIL non-root user: USER is .(unset: root)." out || { cat out; exit 1; }
	done
'
test_expect_success 'the push gate repeats the policy'"'"'s warning (threshold 0) on stderr' '
	stele push --policy nonroot.json "$I" app:1 "docker://$REG/warned:1" 2>err; cat err &&
	grep -q "^stele: warning: signatures.threshold is 0" err
'
