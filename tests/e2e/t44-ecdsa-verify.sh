#!/bin/sh
# ECDSA P-256 keys (the kind `cosign generate-key-pair` makes; here from
# `stele keygen --type ecdsa-p256`) beside Ed25519 ones: sign, attest,
# build --sign-key and verify, with --key and with policy keys.  Forgery
# matrix across key kinds: an ECDSA signature under an Ed25519-only policy
# and the reverse are not counted and deny with a reason naming both kinds;
# a tampered ECDSA signature, an ECDSA-signed payload for another image and
# an ECDSA attestation under Ed25519-only provenance keys deny.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
FORGE="/usr/bin/python3 $TOP/tests/e2e/forge.py"
stele keygen --type ecdsa-p256 --output-prefix ec >/dev/null 2>&1
stele keygen --type ecdsa-p256 --output-prefix ec2 >/dev/null 2>&1
stele keygen --output-prefix ed >/dev/null 2>&1

mkdir app && echo hello >app/f && printf 'FROM scratch\nCOPY f /f\n' >app/Dockerfile
D=$(stele build -q -t app:1 app)
cp -a "$STELE_STORE" unsigned-store
S="$STELE_STORE"

# policy FILE KEYS-JSON SIGNERS THRESHOLD [PROVENANCE-KEYS]
policy() {
	if [ -n "${5:-}" ]; then prov=", \"provenance\": {\"required\": true, \"keys\": [$5]}"; else prov=""; fi
	printf '{"keys": {%s}, "signatures": {"keys": [%s], "threshold": %s}%s}\n' "$2" "$3" "$4" "$prov" >"$1"
}
EC='"ec": {"path": "ec.pub"}'
ED='"ed": {"path": "ed.pub"}'
EC2='"ec2": {"path": "ec2.pub"}'
policy ec-only.json "$EC" '"ec"' 1
policy ed-only.json "$ED" '"ed"' 1
policy both.json "$EC, $ED" '"ec", "ed"' 2
policy ec2-only.json "$EC2" '"ec2"' 1
policy prov-ed.json "$ED" '"ed"' 1 '"ed"'
policy prov-ec.json "$EC, $ED" '"ec"' 1 '"ec"'

# denied POLICY PATTERN: exit 1, a FAIL line matching PATTERN, "denied" last
denied() {
	expect_code 1 stele verify --policy "$1" app:1 >out 2>/dev/null; rc=$?
	cat out
	[ $rc = 0 ] && grep -q "^FAIL.*$2" out && tail -n1 out | grep -q "^denied"
}
fresh() { rm -rf "$S" && cp -a unsigned-store "$S"; }

test_expect_success 'an ECDSA key signs; verify --key with its public key allows' '
	stele sign --key ec.key app:1 >out && grep -q "signed as app:1 by key $(openssl pkey -pubin -in ec.pub -outform DER | sha256sum | cut -c1-64)" out &&
	stele verify --key ec.pub app:1 >out 2>/dev/null && cat out &&
	tail -n1 out | grep -q "^allowed $D"
'
cp -a "$S" ec-store
test_expect_success 'signing again with the same ECDSA key adds nothing (randomised signatures)' '
	stele sign --key ec.key app:1 >out && grep -q "nothing added" out &&
	stele verify --key ec.pub app:1 >out 2>/dev/null && grep -c "^ok   signature sha256" out | grep -qx 1
'
test_expect_success 'a policy key entry with a P-256 public key, by path and inline pem' '
	stele verify --policy ec-only.json app:1 >/dev/null 2>&1 &&
	python3 -c "import json;print(json.dumps({\"keys\":{\"ec\":{\"pem\":open(\"ec.pub\").read()}},\"signatures\":{\"keys\":[\"ec\"],\"threshold\":1}}))" >inline.json &&
	stele verify --policy inline.json app:1 >/dev/null 2>&1
'
test_expect_success 'a threshold of 2 met by an ECDSA key and an Ed25519 key' '
	stele sign --key ed.key app:1 >/dev/null &&
	stele verify --policy both.json app:1 >out 2>/dev/null && cat out &&
	grep -q "^ok   signature threshold: 2 of 2" out
'
test_expect_success 'forgery: an ECDSA signature under an Ed25519-only policy (named: kinds)' '
	rm -rf "$S" && cp -a ec-store "$S" &&
	denied ed-only.json "signature threshold: 0 of 1 .*an ECDSA P-256 signature, and the 1 trusted key(s) are all Ed25519" &&
	grep -q "^ok   signature sha256:[0-9a-f]*: not counted: signature is an ECDSA P-256 signature" out &&
	expect_code 1 stele verify --key ed.pub app:1 >out 2>/dev/null &&
	grep -q "are all Ed25519" out
'
test_expect_success 'forgery: an Ed25519 signature under an ECDSA-only policy (named: kinds)' '
	fresh && stele sign --key ed.key app:1 >/dev/null &&
	denied ec-only.json "signature threshold: 0 of 1 .*an Ed25519 signature, and the 1 trusted key(s) are all ECDSA P-256" &&
	expect_code 1 stele verify --key ec.pub app:1 >out 2>/dev/null &&
	grep -q "are all ECDSA P-256" out
'
test_expect_success 'forgery: an ECDSA signature by another P-256 key: not counted, denied' '
	rm -rf "$S" && cp -a ec-store "$S" &&
	denied ec2-only.json "signature threshold: 0 of 1 .*no trusted key made it"
'
P=$(printf '{"critical":{"identity":{"docker-reference":"app:1"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' "$D")
test_expect_success 'a forged-by-hand ECDSA signature (Python cryptography) verifies: the forge is sound' '
	fresh && $FORGE sign "$S" "$D" ec.key pw "$P" &&
	stele verify --policy ec-only.json app:1 >out 2>/dev/null && cat out && tail -n1 out | grep -q "^allowed"
'
test_expect_success 'forgery: a tampered ECDSA signature (one bit of s): denied' '
	$FORGE flipsig "$S" "$D" &&
	denied ec-only.json "signature threshold: 0 of 1 .*no trusted key made it"
'
test_expect_success 'forgery: an ECDSA-signed payload naming another image: denied' '
	fresh && O=$(printf "sha256:%064d" 0) &&
	$FORGE sign "$S" "$D" ec.key pw "$(printf "%s" "$P" | sed "s/$D/$O/")" &&
	denied ec-only.json "signature.*is for image $O"
'
test_expect_success 'attest with an ECDSA key: provenance allowed under an ECDSA provenance key' '
	fresh && stele attest --key ec.key app:1 >/dev/null && stele sign --key ec.key app:1 >/dev/null &&
	stele verify --policy prov-ec.json app:1 >out 2>/dev/null && cat out &&
	grep -q "^ok   attestation .*SLSA provenance signed by .ec." out && tail -n1 out | grep -q "^allowed"
'
test_expect_success 'forgery: an ECDSA attestation under Ed25519-only keys: denied, named' '
	stele sign --key ed.key app:1 >/dev/null &&
	denied prov-ed.json "provenance: no SLSA provenance signed by an allowed key" &&
	grep -q "^ok   attestation .*not counted: attestation is an ECDSA P-256 signature, and the 1 trusted key(s) are all Ed25519" out
'
test_expect_success 'build --sign-key with an ECDSA key attests what it built' '
	fresh && stele build -q --sign-key ec.key -t app:1 app >d2 2>/dev/null && test "$(cat d2)" = "$D" &&
	stele sign --key ec.key app:1 >/dev/null &&
	stele verify --policy prov-ec.json app:1 >out 2>/dev/null && cat out && tail -n1 out | grep -q "^allowed"
'
test_expect_success 'a P-256 public key whose point is off the curve: the policy is refused (exit 3)' '
	python3 - <<-PY &&
	import base64
	l = open("ec.pub").read().strip().split("\n")
	der = bytearray(base64.b64decode("".join(l[1:-1])))
	der[-1] ^= 1
	b = base64.b64encode(bytes(der)).decode()
	open("bad.pub", "w").write("-----BEGIN PUBLIC KEY-----\n%s\n%s\n-----END PUBLIC KEY-----\n" % (b[:64], b[64:]))
	PY
	policy bad.json "\"ec\": {\"path\": \"bad.pub\"}" "\"ec\"" 1 &&
	expect_code 3 stele verify --policy bad.json app:1 2>err && cat err &&
	grep -q "point is not on the curve" err &&
	expect_code 3 stele verify --key bad.pub app:1 2>err && grep -q "point is not on the curve" err
'
