#!/bin/sh
# Identities in a registry (Debian's docker-registry on 127.0.0.1): the
# normal flow (build, push --sign-key, verify where the image lives), sign
# in a registry, cross-repository replay, tag/digest confusion and every
# signedIdentity type, each verdict compared with containers/image (skopeo
# 1.18 from Debian trixie: 1.9.3's sigstore support is patched out) and,
# where it has a say, cosign 2.5.  Every verdict is written to matrix.txt,
# printed at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

if ! reg_serve main; then
	test_skip 'identities in a registry' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
SKOPEO=${STELE_SKOPEO:-}
if [ -z "$SKOPEO" ]; then
	SKOPEO=$(sh "$TOP/tests/interop/get-skopeo.sh" "$TOP/build/tools/skopeo" 2>"$TMP/getsk.err" || true)
fi
if [ -z "$SKOPEO" ] || ! "$SKOPEO" --version >/dev/null 2>&1; then
	SKOPEO=""
fi
find_cosign || true
export STELE_QUIET=1 STELE_PASSWORD=pw COSIGN_PASSWORD=pw
I="--tls-verify=false"
stele keygen --output-prefix k >/dev/null 2>&1
stele keygen --output-prefix other >/dev/null 2>&1
mkdir ctx && echo hello >ctx/hello.txt && printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >ctx/Dockerfile
stele build -q -t app:1 ctx >digest
D=$(cat digest)
H=${D#sha256:}
mkdir rd && printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" >rd/r.yaml
: >matrix.txt

# st_policy IDENTITY_JSON OUT / sk_policy IDENTITY_JSON OUT: the same rule
# for stele and for containers/image ("" = the default: no identity given).
st_policy() {
	if [ -n "$1" ]; then
		printf '{"keys": {"k": {"path": "%s/k.pub"}}, "signatures": {"threshold": 1, "identity": %s}}' "$TMP" "$1" >"$2"
	else
		printf '{"keys": {"k": {"path": "%s/k.pub"}}, "signatures": {"threshold": 1}}' "$TMP" >"$2"
	fi
}
sk_policy() {
	printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[{"type":"sigstoreSigned","keyPath":"%s/k.pub"%s}]}}}' \
		"$REG" "$TMP" "${1:+,\"signedIdentity\":$1}" >"$2"
}
# verdicts NAME IDENTITY_JSON REF WANT(allow|deny): stele verify and, when
# there, skopeo copy under the same rule; both must give WANT.
verdicts() {
	st_policy "$2" st.json && sk_policy "$2" sk.json || return 1
	if stele verify --policy st.json $I "docker://$3" >st.out 2>&1; then s=allow; else s=deny; fi
	k=skipped
	if [ -n "$SKOPEO" ]; then
		rm -rf skout
		if "$SKOPEO" --policy sk.json --registries.d rd copy -q --remove-signatures --src-tls-verify=false \
			"docker://$3" oci:skout:x >sk.out 2>&1; then k=allow; else k=deny; fi
	fi
	printf '%-44s %-34s %-72s stele=%s skopeo=%s\n' "$1" "${2:-(default)}" "$3" "$s" "$k" >>matrix.txt
	tail -n1 matrix.txt
	[ "$s" = "$4" ] || { cat st.out; return 1; }
	[ "$k" = "$4" ] || [ "$k" = skipped ] || { cat sk.out; return 1; }
}
# cosign_verdict NAME REF WANT: cosign verify --key k.pub (cosign binds no
# identity: it checks the key and the digest).
cosign_verdict() {
	[ -n "$COSIGN" ] || return 0
	if "$COSIGN" verify --key k.pub --insecure-ignore-tlog=true --allow-http-registry=true \
		"$2" >co.out 2>&1; then c=allow; else c=deny; fi
	printf '%-44s %-34s %-72s cosign=%s\n' "$1" "(cosign verify --key)" "$2" "$c" >>matrix.txt
	tail -n1 matrix.txt
	[ "$c" = "$3" ] || { cat co.out; return 1; }
}

test_expect_success 'build, then push --sign-key: signed for the destination as it is pushed' '
	stele push --sign-key k.key --key k.pub $I app:1 docker://$REG/app/sig:1 2>err >/dev/null && cat err &&
	tags_of $REG app/sig >tags && cat tags && grep -qx 1 tags && grep -qx "sha256-$H.sig" tags &&
	stele pull $I docker://$REG/app/sig:1 oci:pulled:1 >/dev/null &&
	grep -q "\"docker-reference\":\"$REG/app/sig:1\"" pulled/blobs/sha256/* &&
	! grep -rq "\"docker-reference\"" store/blobs/sha256/ 2>/dev/null
'
test_expect_success 'push --sign-key leaves the source as it was (no signature added locally)' '
	! stele verify --key k.pub app:1 >/dev/null 2>&1
'
test_expect_success 'the normal flow: stele verify of docker://HOST/REPO@sha256 and :TAG allows' '
	stele verify --key k.pub $I docker://$REG/app/sig@$D >out 2>&1 && cat out &&
	grep -q "image verified as .$REG/app/sig@$D." out &&
	stele verify --key k.pub $I docker://$REG/app/sig:1 >/dev/null 2>&1
'
if [ -n "$SKOPEO" ]; then
	test_expect_success 'the normal flow: skopeo sigstoreSigned + matchRepository accepts' '
		verdicts "flow: push --sign-key, by digest" "{\"type\":\"matchRepository\"}" "$REG/app/sig@$D" allow
	'
else
	test_skip 'skopeo 1.18 verdicts' "no skopeo with sigstore (Debian trixie's could not be fetched: $(tail -n1 "$TMP/getsk.err" 2>/dev/null))"
fi
if [ -n "$COSIGN" ]; then
	test_expect_success 'the normal flow: cosign verify accepts' '
		cosign_verdict "flow: push --sign-key" "$REG/app/sig:1" allow
	'
else
	test_skip 'cosign verdicts' "no cosign (fetching Debian trixie's failed: $(tail -n1 "$TMP/getco.err" 2>/dev/null))"
fi

# The same digest, its .sig tag copied along, in another repository.
test_expect_success 'setup: the image and its signature copied next to the same digest in other/repo' '
	stele copy --insecure-skip-verify $I docker://$REG/app/sig:1 docker://$REG/other/repo:1 >/dev/null 2>&1 &&
	tags_of $REG other/repo | grep -qx "sha256-$H.sig"
'
test_expect_success 'forgery: cross-repository replay by digest is denied (stele and skopeo, default identity)' '
	expect_code 1 stele verify --key k.pub $I docker://$REG/other/repo@$D >out 2>/dev/null && cat out &&
	grep -q "^FAIL signature threshold: 0 of 1 .*signed for repository .$REG/app/sig., not .$REG/other/repo." out &&
	verdicts "replay: other repo, by digest" "" "$REG/other/repo@$D" deny
'
test_expect_success 'forgery: cross-repository replay under matchRepository (stele and skopeo deny)' '
	verdicts "replay: other repo, by digest" "{\"type\":\"matchRepository\"}" "$REG/other/repo@$D" deny &&
	verdicts "replay: other repo, by tag" "{\"type\":\"matchRepository\"}" "$REG/other/repo:1" deny
'
if [ -n "$COSIGN" ]; then
	test_expect_success 'cross-repository replay: cosign accepts it (it binds no repository: recorded, not agreed)' '
		cosign_verdict "replay: other repo (cosign binds no identity)" "$REG/other/repo@$D" allow
	'
fi

test_expect_success 'setup: the same digest also tagged app/sig:2 (no signature of its own)' '
	stele copy --insecure-skip-verify --no-attachments $I docker://$REG/app/sig:1 docker://$REG/app/sig:2 >/dev/null 2>&1
'
test_expect_success 'forgery: tag confusion (signed for :1, pulled as :2) denied by default, as skopeo does' '
	verdicts "tag confusion: :1 signature, pulled as :2" "" "$REG/app/sig:2" deny
'
test_expect_success 'matchRepoDigestOrExact: the signed tag and the digest are allowed' '
	verdicts "default: the signed tag" "" "$REG/app/sig:1" allow &&
	verdicts "default: by digest" "" "$REG/app/sig@$D" allow &&
	verdicts "explicit default: by digest" "{\"type\":\"matchRepoDigestOrExact\"}" "$REG/app/sig@$D" allow &&
	verdicts "explicit default: other tag" "{\"type\":\"matchRepoDigestOrExact\"}" "$REG/app/sig:2" deny
'
test_expect_success 'matchRepository: any tag of the repository' '
	verdicts "matchRepository: other tag" "{\"type\":\"matchRepository\"}" "$REG/app/sig:2" allow
'
test_expect_success 'matchExact: the signed tag only; by digest and other tags denied' '
	verdicts "matchExact: the signed tag" "{\"type\":\"matchExact\"}" "$REG/app/sig:1" allow &&
	verdicts "matchExact: by digest" "{\"type\":\"matchExact\"}" "$REG/app/sig@$D" deny &&
	verdicts "matchExact: other tag" "{\"type\":\"matchExact\"}" "$REG/app/sig:2" deny
'
test_expect_success 'exactReference: the reference named, wherever the image is' '
	verdicts "exactReference: other repo" "{\"type\":\"exactReference\",\"dockerReference\":\"$REG/app/sig:1\"}" "$REG/other/repo:1" allow &&
	verdicts "exactReference: mismatch" "{\"type\":\"exactReference\",\"dockerReference\":\"$REG/app/sig:9\"}" "$REG/app/sig:1" deny
'
test_expect_success 'exactRepository: the repository named' '
	verdicts "exactRepository: other repo" "{\"type\":\"exactRepository\",\"dockerRepository\":\"$REG/app/sig\"}" "$REG/other/repo:1" allow &&
	verdicts "exactRepository: mismatch" "{\"type\":\"exactRepository\",\"dockerRepository\":\"$REG/app/nope\"}" "$REG/app/sig:1" deny
'
test_expect_success 'remapIdentity: other/repo read as app/sig; a wrong signedPrefix denies' '
	stele copy --insecure-skip-verify $I docker://$REG/app/sig:1 docker://$REG/mirror/sig:1 >/dev/null 2>&1 &&
	verdicts "remapIdentity: mirror -> app" "{\"type\":\"remapIdentity\",\"prefix\":\"$REG/mirror\",\"signedPrefix\":\"$REG/app\"}" "$REG/mirror/sig:1" allow &&
	verdicts "remapIdentity: mismatch" "{\"type\":\"remapIdentity\",\"prefix\":\"$REG/mirror\",\"signedPrefix\":\"$REG/nope\"}" "$REG/mirror/sig:1" deny &&
	verdicts "remapIdentity: prefix not matching" "{\"type\":\"remapIdentity\",\"prefix\":\"$REG/elsewhere\",\"signedPrefix\":\"$REG/app\"}" "$REG/mirror/sig:1" deny
'
test_expect_success 'an identity type with a bad field: a policy error for stele (exit 3) and for skopeo' '
	st_policy "{\"type\":\"exactReference\"}" bad.json && sk_policy "{\"type\":\"exactReference\"}" skbad.json &&
	expect_code 3 stele verify --policy bad.json $I docker://$REG/app/sig:1 >/dev/null 2>err && cat err &&
	grep -q "dockerReference (type exactReference) is required" err &&
	if [ -n "$SKOPEO" ]; then
		! "$SKOPEO" --policy skbad.json --registries.d rd copy -q --remove-signatures --src-tls-verify=false \
			docker://$REG/app/sig:1 oci:skout:y >sk.out 2>&1 && cat sk.out &&
		printf "%-44s %-34s %-72s stele=error(3) skopeo=error\n" "bad field" "exactReference without dockerReference" "$REG/app/sig:1" >>matrix.txt
	fi
'

# cosign's own signatures name the repository only.
if [ -n "$COSIGN" ]; then
	test_expect_success 'cosign signs (repository-only identity): matchRepository allows, the default denies (stele and skopeo)' '
		stele push --insecure-skip-verify $I app:1 docker://$REG/cos/app:1 >/dev/null 2>&1 &&
		"$COSIGN" sign --key k.key --tlog-upload=false --allow-http-registry=true --yes $REG/cos/app@$D >/dev/null 2>&1 &&
		verdicts "cosign-signed: matchRepository" "{\"type\":\"matchRepository\"}" "$REG/cos/app:1" allow &&
		verdicts "cosign-signed: default, by tag" "" "$REG/cos/app:1" deny &&
		verdicts "cosign-signed: default, by digest" "" "$REG/cos/app@$D" deny &&
		cosign_verdict "cosign-signed" "$REG/cos/app:1" allow
	'
fi

test_expect_success 'stele sign docker://: signs in the registry, tags untouched, no layer fetched, the image not re-pushed' '
	stele push --insecure-skip-verify $I app:1 docker://$REG/remote/app:1 >/dev/null 2>&1 &&
	puts() { grep -c "\"PUT /v2/remote/app/manifests/\(1\|$D\) " "$REG_LOG"; } &&
	L=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$REG/v2/remote/app/manifests/1 |
		python3 -c "import json,sys;print(json.load(sys.stdin)[\"layers\"][0][\"digest\"])") &&
	gets() { grep -c "\"GET /v2/remote/app/blobs/$L " "$REG_LOG" || true; } &&
	before=$(puts) && gbefore=$(gets) &&
	stele sign --key k.key $I docker://$REG/remote/app:1 >out && cat out &&
	[ "$(puts)" = "$before" ] && [ "$(gets)" = "$gbefore" ] &&
	grep -q "^$D signed as $REG/remote/app:1 by key" out &&
	tags_of $REG remote/app >tags && cat tags && grep -qx "sha256-$H.sig" tags &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/remote/app:1)" = "$D" ] &&
	verdicts "stele sign docker://, by tag" "" "$REG/remote/app:1" allow &&
	verdicts "stele sign docker://, by digest" "{\"type\":\"matchRepository\"}" "$REG/remote/app@$D" allow &&
	cosign_verdict "stele sign docker://" "$REG/remote/app:1" allow &&
	stele sign --key k.key $I docker://$REG/remote/app:1 >out && grep -q "nothing added" out
'
test_expect_success 'stele sign docker:// with another key adds beside the first; both verify' '
	stele sign --key other.key $I docker://$REG/remote/app:1 >out && grep -q "(2 signatures)" out &&
	stele verify --key k.pub $I docker://$REG/remote/app:1 >/dev/null 2>&1 &&
	stele verify --key other.pub $I docker://$REG/remote/app:1 >/dev/null 2>&1
'
test_expect_success 'push --identity: the gate verifies as that reference; a mismatch pushes nothing' '
	stele sign --key k.key --identity $REG/gate/app:1 app:1 >/dev/null &&
	stele push --key k.pub --identity $REG/gate/app:1 $I app:1 docker://$REG/gate/app:1 >/dev/null 2>&1 &&
	expect_code 1 stele push --key k.pub --identity $REG/gate/other:1 $I app:1 docker://$REG/gate2/app:1 2>err &&
	cat err && grep -q "not pushed" err && ! curl -sf http://$REG/v2/gate2/app/tags/list
'
test_expect_success 'usage: --identity must be a docker reference; --sign-key needs a docker:// destination' '
	expect_code 2 stele push --key k.pub --identity "Bad Ref" $I app:1 docker://$REG/x:1 2>/dev/null &&
	expect_code 2 stele copy --sign-key k.key app:1 oci:x:1 2>/dev/null &&
	expect_code 2 stele verify --key k.pub --identity "Bad Ref" app:1 2>/dev/null
'
test_expect_success 'the allow/deny matrix (also in build/t41-matrix.txt)' '
	cat matrix.txt && cp matrix.txt "$(dirname "$STELE")/t41-matrix.txt"
'
