#!/bin/sh
# Interoperability with cosign itself (Debian trixie's cosign 2.5, pure
# Ed25519 for key-based signing; ECDSA P-256 keys are t43's): cosign reads stele's key files and stele
# reads cosign's; an image signed and attested by stele, copied to a local
# registry with skopeo, passes `cosign verify` and `cosign verify-attestation`;
# cosign signs it with stele's key and stele's library checks that
# signature after skopeo copies it back into a layout.
#
# cosign is taken from $STELE_COSIGN, the PATH, or build/tools (fetched
# there by tests/interop/get-cosign.sh from the Debian mirror, without
# installing it).  Every part that cannot run says why it is skipped.
. "$(dirname "$0")/lib.sh"

if ! find_cosign; then
	test_skip 'cosign interop' "$COSIGN_WHY"
	exit 0
fi
echo "# using $COSIGN ($("$COSIGN" version 2>/dev/null | sed -n 's/^GitVersion: *//p'))"
UNIT="$(dirname "$STELE")/tests/test_signer"
export STELE_PASSWORD=pw COSIGN_PASSWORD=pw
stele keygen --output-prefix rm >rm.id 2>/dev/null
stele keygen --output-prefix other >/dev/null 2>&1
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\n' >ctx/Dockerfile
D=$(stele build -q -o oci:lay:1 ctx)
H=${D#sha256:}

test_expect_success 'cosign verify-blob accepts a payload and signature stele made' '
	stele sign --key rm.key --identity app:1 oci:lay:1 >/dev/null &&
	python3 - "$H" <<-PY &&
	import base64, json, sys
	idx = json.load(open("lay/index.json"))
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "sha256-%s.sig" % sys.argv[1]][0]
	man = json.load(open("lay/blobs/sha256/" + m["digest"][7:]))
	l = man["layers"][0]
	open("payload.json", "wb").write(open("lay/blobs/sha256/" + l["digest"][7:], "rb").read())
	open("payload.sig", "w").write(l["annotations"]["dev.cosignproject.cosign/signature"])
	PY
	"$COSIGN" verify-blob --key rm.pub --signature payload.sig --insecure-ignore-tlog=true payload.json &&
	! "$COSIGN" verify-blob --key other.pub --signature payload.sig --insecure-ignore-tlog=true payload.json
'
test_expect_success 'cosign signs a blob with a stele key file; the signature verifies with the stele key' '
	printf "hello" >blob &&
	"$COSIGN" sign-blob --key rm.key --tlog-upload=false --yes blob >blob.sig 2>/dev/null &&
	"$COSIGN" verify-blob --key rm.pub --signature blob.sig --insecure-ignore-tlog=true blob
'
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import cryptography" 2>/dev/null; then
	test_expect_success 'cosign'"'"'s blob signature verifies with python'"'"'s cryptography too' '
		/usr/bin/python3 -c "
import base64, sys
from cryptography.hazmat.primitives import serialization
pub = serialization.load_pem_public_key(open(\"rm.pub\", \"rb\").read())
pub.verify(base64.b64decode(open(\"blob.sig\").read()), b\"hello\")"
	'
else
	test_skip 'cosign'"'"'s blob signature checked by python'"'"'s cryptography' 'no /usr/bin/python3 with cryptography'
fi
test_expect_success 'stele signs with a key cosign imported (ENCRYPTED SIGSTORE, N=65536)' '
	openssl genpkey -algorithm ed25519 -out plain.pem 2>/dev/null &&
	"$COSIGN" import-key-pair --key plain.pem --output-key-prefix imported >/dev/null 2>&1 &&
	head -n1 imported.key &&
	stele sign --key imported.key --identity app:1 oci:lay:1 >out && cat out &&
	grep -q "(2 signatures)" out
'
test_expect_success 'a key cosign generate-key-pair made (ECDSA P-256) signs too (more in t43)' '
	"$COSIGN" generate-key-pair --output-key-prefix ec >/dev/null 2>&1 &&
	stele sign --key ec.key --identity app:2 oci:lay:1 >out && cat out &&
	grep -q "(3 signatures)" out
'

if ! command -v skopeo >/dev/null 2>&1; then
	test_skip 'cosign verify against a registry' 'skopeo is not installed (it copies the layout to the registry)'
	exit 0
fi
if ! start_registry; then
	test_skip 'cosign verify against a registry' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
cp1() { skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false "$@"; }

test_expect_success 'copy the image, its .sig and .att to a local registry (skopeo, digests kept)' '
	cp1 oci:lay:1 docker://$REG/app:1 &&
	cp1 oci:lay:sha256-$H.sig docker://$REG/app:sha256-$H.sig &&
	skopeo inspect --raw --tls-verify=false docker://$REG/app:1 | sha256sum | grep -q "^$H "
'
test_expect_success 'cosign verify accepts the signature stele made (and rejects another key)' '
	"$COSIGN" verify --key rm.pub --insecure-ignore-tlog=true --allow-http-registry=true $REG/app:1 >v.out 2>v.err &&
	grep -q "\"docker-manifest-digest\":\"$D\"" v.out &&
	expect_code 12 "$COSIGN" verify --key other.pub --insecure-ignore-tlog=true --allow-http-registry=true $REG/app:1
'
test_expect_success 'cosign verify-attestation accepts the provenance stele attested' '
	stele attest --key rm.key oci:lay:1 >/dev/null &&
	cp1 oci:lay:sha256-$H.att docker://$REG/app:sha256-$H.att &&
	"$COSIGN" verify-attestation --key rm.pub --insecure-ignore-tlog=true --allow-http-registry=true \
		--type slsaprovenance1 $REG/app:1 >va.out 2>va.err &&
	grep -q "\"payloadType\":\"application/vnd.in-toto+json\"" va.out
'
test_expect_success 'cosign signs the image with the stele key; stele checks all four signatures' '
	"$COSIGN" sign --key rm.key --tlog-upload=false --allow-http-registry=true --yes $REG/app@$D >/dev/null 2>&1 &&
	cp1 docker://$REG/app:sha256-$H.sig oci:back:sha256-$H.sig &&
	cp1 docker://$REG/app:1 oci:back:1 &&
	STELE_INTEROP_LAYOUT=back STELE_INTEROP_DIGEST=$D STELE_INTEROP_PUB=rm.pub:imported.pub:ec.pub \
	STELE_INTEROP_COUNT=4 "$UNIT" >unit.out 2>&1; cat unit.out;
	grep -q "OK  *\] test_signer_interop_layout" unit.out && ! grep -q FAILED unit.out &&
	grep -q "verified identity=$REG/app " unit.out
'
