#!/bin/sh
# Interoperability with cosign (Debian trixie's cosign 2.5) for ECDSA P-256
# keys, the kind `cosign generate-key-pair` makes: stele signs and attests
# with cosign's own key file and `cosign verify` / `verify-attestation`
# accept it from a local registry; cosign signs with that key and `stele
# verify docker://...` with cosign.pub as policy key accepts it, while an Ed25519 key
# denies it naming both kinds; cosign reads a P-256 key file stele made; a
# wrong passphrase for cosign's key file is a clear error (exit 3).  cosign's
# payloads name the repository only, so the policies here use
# containers/image's identity type for that, matchRepository.  Last, `stele
# push --sign-key cosign.key` signs with the ECDSA key as it pushes, and
# stele, cosign and skopeo 1.18 (containers/image, sigstoreSigned) accept
# it, while an Ed25519 key is refused by stele and skopeo.
#
# cosign is found as t22 finds it (STELE_COSIGN, PATH, or fetched into
# build/tools by tests/interop/get-cosign.sh); every part that cannot run
# says why it is skipped.
. "$(dirname "$0")/lib.sh"

if ! find_cosign; then
	test_skip 'cosign ECDSA interop' "$COSIGN_WHY"
	exit 0
fi
echo "# using $COSIGN ($("$COSIGN" version 2>/dev/null | sed -n 's/^GitVersion: *//p'))"
PY=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import nacl, cryptography' 2>/dev/null; then PY=$p; break; fi
done
KC="$TOP/tests/interop/keycheck.py"
export STELE_PASSWORD=pw COSIGN_PASSWORD=pw
"$COSIGN" generate-key-pair --output-key-prefix cosign >/dev/null 2>&1
stele keygen --output-prefix ed >/dev/null 2>&1
mkdir ctx && echo hi >ctx/f && printf 'FROM scratch\nCOPY f /f\n' >ctx/Dockerfile
D=$(stele build -q -o oci:lay:1 ctx)
H=${D#sha256:}

test_expect_success 'cosign generate-key-pair made an ECDSA P-256 key' '
	head -n1 cosign.key | grep -q "ENCRYPTED .* PRIVATE KEY" &&
	openssl pkey -pubin -in cosign.pub -text -noout | grep -q "NIST CURVE: P-256"
'
test_expect_success 'stele signs with cosign'"'"'s key file; cosign verify-blob accepts payload and signature' '
	stele sign --key cosign.key --identity app:1 oci:lay:1 >out && cat out &&
	grep -q "by key $(openssl pkey -pubin -in cosign.pub -outform DER | sha256sum | cut -c1-64)" out &&
	python3 - "$H" <<-PY &&
	import base64, json, sys
	idx = json.load(open("lay/index.json"))
	m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "sha256-%s.sig" % sys.argv[1]][0]
	l = json.load(open("lay/blobs/sha256/" + m["digest"][7:]))["layers"][0]
	open("payload.json", "wb").write(open("lay/blobs/sha256/" + l["digest"][7:], "rb").read())
	open("payload.sig", "w").write(l["annotations"]["dev.cosignproject.cosign/signature"])
	PY
	"$COSIGN" verify-blob --key cosign.pub --signature payload.sig --insecure-ignore-tlog=true payload.json &&
	! "$COSIGN" verify-blob --key ed.pub --signature payload.sig --insecure-ignore-tlog=true payload.json 2>/dev/null
'
test_expect_success 'a wrong passphrase for cosign'"'"'s key file: "wrong passphrase", exit 3, nothing written' '
	tree_state lay >before &&
	STELE_PASSWORD=nope expect_code 3 stele sign --key cosign.key --identity app:2 oci:lay:1 2>err &&
	cat err && grep -q "cannot decrypt key file .cosign.key.: wrong passphrase" err &&
	tree_state lay >after && cmp before after
'
test_expect_success 'cosign reads a P-256 key file stele made: sign-blob, and verify-blob with stele'"'"'s public key' '
	stele keygen --type ecdsa-p256 --output-prefix sp >/dev/null 2>&1 &&
	printf "hello" >blob &&
	"$COSIGN" sign-blob --key sp.key --tlog-upload=false --yes blob >blob.sig 2>/dev/null &&
	"$COSIGN" verify-blob --key sp.pub --signature blob.sig --insecure-ignore-tlog=true blob &&
	if [ -n "$PY" ]; then
		"$PY" -c "
import base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
pub = serialization.load_pem_public_key(open(\"sp.pub\", \"rb\").read())
pub.verify(base64.b64decode(open(\"blob.sig\").read()), b\"hello\", ec.ECDSA(hashes.SHA256()))"
	fi
'

if ! command -v skopeo >/dev/null 2>&1; then
	test_skip 'cosign ECDSA verify against a registry' 'skopeo is not installed (it copies the layout to the registry)'
	exit 0
fi
if ! start_registry; then
	test_skip 'cosign ECDSA verify against a registry' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
cp1() { skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false "$@"; }
CV="--insecure-ignore-tlog=true --allow-http-registry=true"

test_expect_success 'copy the image and the .sig stele made to a local registry (skopeo, digests kept)' '
	cp1 oci:lay:1 docker://$REG/app:1 &&
	cp1 oci:lay:sha256-$H.sig docker://$REG/app:sha256-$H.sig &&
	skopeo inspect --raw --tls-verify=false docker://$REG/app:1 | sha256sum | grep -q "^$H "
'
test_expect_success 'cosign verify --key cosign.pub accepts the ECDSA signature stele made; another key is rejected' '
	"$COSIGN" verify --key cosign.pub $CV $REG/app:1 >v.out 2>v.err &&
	grep -q "\"docker-manifest-digest\":\"$D\"" v.out &&
	expect_code 12 "$COSIGN" verify --key ed.pub $CV $REG/app:1 >/dev/null 2>&1
'
test_expect_success 'cosign verify-attestation accepts the provenance stele attested with cosign'"'"'s key' '
	stele attest --key cosign.key oci:lay:1 >/dev/null &&
	cp1 oci:lay:sha256-$H.att docker://$REG/app:sha256-$H.att &&
	"$COSIGN" verify-attestation --key cosign.pub $CV --type slsaprovenance1 $REG/app:1 >va.out 2>va.err &&
	grep -q "\"payloadType\":\"application/vnd.in-toto+json\"" va.out
'
# cosign's payload names the repository only: matchRepository takes it.
cat >cosign-policy.json <<EOF
{"keys": {"cosign": {"path": "cosign.pub"}},
 "signatures": {"keys": ["cosign"], "threshold": 1, "identity": {"type": "matchRepository"}}}
EOF
cat >ed-policy.json <<EOF
{"keys": {"ed": {"path": "ed.pub"}},
 "signatures": {"keys": ["ed"], "threshold": 1, "identity": {"type": "matchRepository"}}}
EOF
test_expect_success 'cosign signs (its key, an image no one else signed); stele verify with cosign.pub allows' '
	cp1 oci:lay:1 docker://$REG/cosigned:1 &&
	"$COSIGN" sign --key cosign.key --tlog-upload=false --allow-http-registry=true --yes $REG/cosigned@$D >/dev/null 2>&1 &&
	stele verify --policy cosign-policy.json --tls-verify=false docker://$REG/cosigned@$D >out 2>err;
	cat out err; tail -n1 out | grep -q "^allowed $D" &&
	grep -q "^ok   signature sha256:[0-9a-f]*: by key .cosign. for .$REG/cosigned." out
'
test_expect_success 'forgery: that cosign ECDSA signature under an Ed25519 key: denied, naming both kinds' '
	expect_code 1 stele verify --policy ed-policy.json --tls-verify=false docker://$REG/cosigned@$D >out 2>/dev/null;
	cat out; tail -n1 out | grep -q "^denied" &&
	grep -q "^FAIL signature threshold: 0 of 1 .*an ECDSA P-256 signature, and the 1 trusted key(s) are all Ed25519" out
'
test_expect_success 'the cosign signature pulled back into a layout: an independent reader verifies it' '
	cp1 docker://$REG/cosigned:sha256-$H.sig oci:back:sha256-$H.sig &&
	cp1 docker://$REG/cosigned:1 oci:back:1 &&
	if [ -n "$PY" ]; then "$PY" "$KC" sig back "$D" "$REG/cosigned" cosign.pub; fi
'

# containers/image (Debian trixie's skopeo 1.18, as t41 fetches it) checks
# the ECDSA signature `stele push --sign-key cosign.key` makes.
SKOPEO=${STELE_SKOPEO:-}
if [ -z "$SKOPEO" ]; then
	SKOPEO=$(sh "$TOP/tests/interop/get-skopeo.sh" "$TOP/build/tools/skopeo" 2>"$TMP/getsk.err" || true)
fi
test_expect_success 'push --sign-key with cosign'"'"'s ECDSA key: stele verify and cosign verify accept the pushed image' '
	stele build -q -t app:1 ctx >/dev/null &&
	stele push --sign-key cosign.key --key cosign.pub --tls-verify=false app:1 docker://$REG/ecpush:1 >/dev/null 2>err &&
	stele verify --key cosign.pub --tls-verify=false docker://$REG/ecpush@$D >out 2>&1 && tail -n1 out | grep -q "^allowed $D" &&
	"$COSIGN" verify --key cosign.pub $CV $REG/ecpush:1 >/dev/null 2>&1 &&
	expect_code 1 stele verify --key ed.pub --tls-verify=false docker://$REG/ecpush@$D >out 2>&1 &&
	grep -q "an ECDSA P-256 signature, and the 1 trusted key(s) are all Ed25519" out
'
if [ -z "$SKOPEO" ] || ! "$SKOPEO" --version >/dev/null 2>&1; then
	test_skip 'skopeo 1.18 and ECDSA' "no skopeo with sigstore (Debian trixie's could not be fetched: $(tail -n1 "$TMP/getsk.err" 2>/dev/null))"
	exit 0
fi
mkdir rd && printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" >rd/r.yaml
sk_policy() { # PUBFILE OUT
	printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[{"type":"sigstoreSigned","keyPath":"%s/%s","signedIdentity":{"type":"matchRepository"}}]}}}' \
		"$REG" "$TMP" "$1" >"$2"
}
sk_copy() { "$SKOPEO" --policy "$1" --registries.d rd copy -q --remove-signatures --src-tls-verify=false "docker://$REG/ecpush@$D" "oci:$2:x"; }
test_expect_success 'skopeo 1.18 (sigstoreSigned, keyPath cosign.pub) accepts it; with an Ed25519 keyPath it refuses' '
	sk_policy cosign.pub sk-ec.json && sk_policy ed.pub sk-ed.json &&
	sk_copy sk-ec.json skok && ! sk_copy sk-ed.json skno 2>sk.err && cat sk.err
'
