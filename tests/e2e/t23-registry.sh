#!/bin/sh
# push, pull and copy against Debian's docker-registry (distribution 2.8)
# over plain HTTP on 127.0.0.1: the verify gate, same digests as skopeo
# sees them, signatures and referrers (tag-schema fallback) both ways, no
# blob uploaded twice, mounts across repositories, chunked uploads, and
# cosign where it is available.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reglib.sh"

if ! reg_serve main; then
	test_skip 'registry tests' 'docker-registry could not be started on 127.0.0.1'
	exit 0
fi
export STELE_QUIET=1
I="--tls-verify=false"
# Signed for where it is pushed: pulled copies are verified as $REG/app:1.
make_signed_image app:1 "$REG/app:1"
D=$(cat digest)
H=${D#sha256:}
printf '{"keys": {"k": {"path": "%s/k.pub"}}, "signatures": {"keys": ["k"], "threshold": 1}}\n' "$TMP" >policy.json

test_expect_success 'push --policy: the image, its .sig tag and the sha256-<hex> referrers index' '
	stele push --policy policy.json $I --json app:1 docker://$REG/app:1 >push.json &&
	cat push.json &&
	[ "$(json_get push.json .digest)" = "$D" ] &&
	[ "$(json_get push.json .signatures)" = 1 ] &&
	[ "$(json_get push.json .referrers)" = 2 ] &&
	tags_of $REG app >tags && cat tags &&
	grep -qx 1 tags && grep -qx "sha256-$H.sig" tags && grep -qx "sha256-$H" tags
'
test_expect_success 'skopeo inspect and skopeo copy read what stele pushed: same digest' '
	skopeo inspect --tls-verify=false --raw docker://$REG/app:1 | sha256sum | grep -q "^$H " &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/app:1)" = "$D" ] &&
	skopeo copy -q --src-tls-verify=false docker://$REG/app:1 oci:sk:1 &&
	stele inspect --json oci:sk:1 >sk.json && [ "$(json_get sk.json .digest)" = "$D" ]
'
test_expect_success 'the referrers index lists the signature and the provenance with their artifact types' '
	curl -sf -H "Accept: application/vnd.oci.image.index.v1+json" \
		http://$REG/v2/app/manifests/sha256-$H >ref.json &&
	grep -q "application/vnd.dev.cosign.artifact.sig.v1+json" ref.json &&
	grep -q "application/vnd.in-toto+json" ref.json
'
test_expect_success 'a re-push uploads no blob (counted in the registry log)' '
	n0=$(uploads_in_log "$REG_LOG" app) &&
	stele push --key k.pub $I --json app:1 docker://$REG/app:1 >again.json &&
	n1=$(uploads_in_log "$REG_LOG" app) &&
	echo "uploads before $n0, after $n1" &&
	[ "$n0" -gt 0 ] && [ "$n0" = "$n1" ] &&
	[ "$(json_get again.json .blobs.transferred)" = 0 ] &&
	[ "$(json_get again.json .manifests)" = 0 ] && [ "$(json_get again.json .manifests_present)" -ge 2 ]
'
test_expect_success 'pull into oci: brings the signature and provenance; verify --key accepts the pulled copy' '
	stele pull $I docker://$REG/app:1 oci:back:1 >out && [ "$(cat out)" = "$D" ] &&
	stele verify --key k.pub oci:back:1 >v.out && cat v.out &&
	grep -q "sha256-$H.sig" back/index.json &&
	grep -q "application/vnd.in-toto+json" back/index.json &&
	stele inspect oci:back:1 >i.out && grep -qi "provenance\|in-toto" i.out
'
test_expect_success 'pull into the store by default, as HOST/REPO:TAG; and by digest' '
	STELE_STORE=$TMP/store2 stele pull $I docker://$REG/app:1 >out &&
	STELE_STORE=$TMP/store2 stele inspect --json $REG/app:1 >s2.json &&
	[ "$(json_get s2.json .digest)" = "$D" ] &&
	stele pull $I docker://$REG/app@$D oci:bydigest:x >out && [ "$(cat out)" = "$D" ]
'
test_expect_success 'a pull of what is already there fetches no blob' '
	stele pull $I --json docker://$REG/app:1 oci:back:1 >p2.json &&
	[ "$(json_get p2.json .blobs.transferred)" = 0 ]
'
test_expect_success 'copy between repositories of one registry mounts blobs, uploads none' '
	stele copy --key k.pub $I --json docker://$REG/app:1 docker://$REG/mirror:1 >m.json &&
	cat m.json &&
	[ "$(json_get m.json .blobs.mounted)" -ge 3 ] &&
	grep -c "POST /v2/mirror/blobs/uploads/?mount=" "$REG_LOG" &&
	! grep -q "\"\\(PATCH\\|PUT\\) /v2/mirror/blobs/uploads" "$REG_LOG" &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/mirror:1)" = "$D" ]
'
test_expect_success 'copy: docker:// to oci:, oci: to the store, the store to docker:// (same digest)' '
	stele copy $I docker://$REG/app:1 oci:c1:a >/dev/null &&
	STELE_STORE=$TMP/store3 stele copy oci:c1:a app:1 >/dev/null &&
	STELE_STORE=$TMP/store3 stele copy --key k.pub $I app:1 docker://$REG/copied:1 >/dev/null &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/copied:1)" = "$D" ] &&
	tags_of $REG copied | grep -qx "sha256-$H.sig"
'
test_expect_success 'stele pulls what skopeo pushed: same digest' '
	stele build -q -o oci:lay:v1 ctx >ld &&
	skopeo copy -q --dest-tls-verify=false oci:lay:v1 docker://$REG/fromskopeo:1 &&
	sd=$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/fromskopeo:1) &&
	stele pull $I docker://$REG/fromskopeo:1 oci:fs:1 >out &&
	[ "$(cat out)" = "$sd" ] && stele verify --insecure-skip-verify oci:fs:1 >/dev/null 2>&1 ||
	stele inspect oci:fs:1 >/dev/null
'
test_expect_success 'large blobs go up in chunks (PATCH) and the digest is kept' '
	STELE_REGISTRY_CHUNK_SIZE=400000 stele push --key k.pub $I app:1 docker://$REG/chunked:1 >/dev/null &&
	n=$(grep -c "\"PATCH /v2/chunked/blobs/uploads" "$REG_LOG") && echo "PATCH requests: $n" &&
	[ "$n" -ge 4 ] &&
	[ "$(skopeo inspect --tls-verify=false --format "{{.Digest}}" docker://$REG/chunked:1)" = "$D" ]
'
test_expect_success 'push --policy of an unsigned image pushes nothing (exit 1, tag lists unchanged)' '
	stele build -q -t app:unsigned ctx >/dev/null &&
	tags_of $REG app >before &&
	expect_code 1 stele push --policy policy.json $I app:unsigned docker://$REG/app:2 2>err &&
	cat err && grep -q "not pushed" err &&
	tags_of $REG app >after && cmp before after &&
	expect_code 1 stele push --policy policy.json $I app:unsigned docker://$REG/unsigned:1 2>/dev/null &&
	! curl -sf http://$REG/v2/unsigned/tags/list
'
test_expect_success 'push --key of a tampered image pushes nothing' '
	stele copy app:1 oci:tam:1 >/dev/null &&
	l=$(json_get "tam/blobs/sha256/$H" .layers[0].digest) &&
	cp "$(blob tam "$l")" tl && printf X | dd of=tl bs=1 seek=100 conv=notrunc 2>/dev/null &&
	mv -f tl "$(blob tam "$l")" &&
	expect_code 1 stele push --key k.pub $I oci:tam:1 docker://$REG/tampered:1 2>err && cat err &&
	! curl -sf http://$REG/v2/tampered/tags/list &&
	! grep -q "/v2/tampered/blobs/uploads" "$REG_LOG"
'
test_expect_success 'push wants exactly one of --policy, --key, --insecure-skip-verify' '
	expect_code 2 stele push $I app:1 docker://$REG/app:1 2>err && grep -q "needs one of" err &&
	expect_code 2 stele push --key k.pub --policy policy.json $I app:1 docker://$REG/app:1 &&
	expect_code 2 stele push --key k.pub $I app:1 oci:x:1
'
test_expect_success 'plain http only with --tls-verify=false (https is required otherwise)' '
	expect_code 3 stele push --key k.pub app:1 docker://$REG/nohttp:1 2>err && cat err &&
	grep -qi "ssl\|tls" err && ! curl -sf http://$REG/v2/nohttp/tags/list &&
	stele push --key k.pub $I app:1 docker://$REG/nohttp:1 2>err >/dev/null &&
	grep -q "warning: --tls-verify=false" err
'
test_expect_success 'an index with two platforms: pushed whole, pulled whole, same digest' '
	mkdir ctx3 && echo three >ctx3/t && printf "FROM scratch\nCOPY t /t\n" >ctx3/Dockerfile &&
	stele build -q -o oci:idx:a ctx >/dev/null && stele build -q -o oci:idx:b ctx3 >/dev/null &&
	"$PY" - idx <<-PY &&
	import hashlib, json, os, sys
	lay = sys.argv[1]
	idx = json.load(open(lay + "/index.json"))
	ms = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]
	      if "org.opencontainers.image.ref.name" in m.get("annotations", {})}
	kids = []
	for name, arch in (("a", "amd64"), ("b", "arm64")):
	    d = dict(ms[name]); d.pop("annotations")
	    d["platform"] = {"os": "linux", "architecture": arch}
	    kids.append(d)
	blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
	                   "manifests": kids}, sort_keys=True, separators=(",", ":")).encode()
	h = hashlib.sha256(blob).hexdigest()
	open(lay + "/blobs/sha256/" + h, "wb").write(blob)
	idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
	    "digest": "sha256:" + h, "size": len(blob),
	    "annotations": {"org.opencontainers.image.ref.name": "multi"}})
	json.dump(idx, open(lay + "/index.json", "w"))
	open("xdigest", "w").write("sha256:" + h)
	open("kids", "w").write(" ".join(k["digest"] for k in kids))
	PY
	X=$(cat xdigest) &&
	stele push --insecure-skip-verify $I --json oci:idx:multi docker://$REG/multi:1 >mp.json 2>/dev/null &&
	[ "$(json_get mp.json .digest)" = "$X" ] && [ "$(json_get mp.json .manifests)" = 3 ] &&
	skopeo inspect --tls-verify=false --raw docker://$REG/multi:1 | sha256sum | grep -q "^${X#sha256:} " &&
	stele pull $I docker://$REG/multi:1 oci:mp:1 >out && [ "$(cat out)" = "$X" ] &&
	for d in $(cat kids); do [ -f "$(blob mp "$d")" ] || exit 1; done &&
	stele inspect --json oci:mp:1 >mi.json && [ "$(json_get mi.json .digest)" = "$(cut -d" " -f1 kids)" ] &&
	STELE_TEST_REGISTRY=$REG/multi@$X STELE_TEST_REGISTRY_OTHER=$(cut -d" " -f2 kids) \
		"$(dirname "$STELE")/tests/test_registry" >unit.out 2>&1;
	sed "s/^skip/(unit) skip/" unit.out; grep -q "PASSED  \] [0-9]* test" unit.out && ! grep -q "FAILED" unit.out && grep -q "not fetched (another platform)" unit.out
'
test_expect_success 'signatures on both sides are merged by push and by pull, never dropped' '
	stele keygen --output-prefix k3 >/dev/null 2>&1 && stele keygen --output-prefix k4 >/dev/null 2>&1 &&
	stele copy --no-attachments app:1 oci:ma:1 >/dev/null &&
	stele sign --key k3.key --identity app:1 oci:ma:1 >/dev/null &&
	stele push --key k3.pub $I oci:ma:1 docker://$REG/merge:1 >/dev/null &&
	stele push --key k.pub $I app:1 docker://$REG/merge:1 >/dev/null &&
	stele pull $I docker://$REG/merge:1 oci:mb:1 >/dev/null &&
	stele verify --key k.pub --identity $REG/app:1 oci:mb:1 >/dev/null &&
	stele verify --key k3.pub --identity app:1 oci:mb:1 >/dev/null &&
	stele copy --no-attachments app:1 oci:mc:1 >/dev/null &&
	stele sign --key k4.key --identity app:1 oci:mc:1 >/dev/null &&
	stele pull $I docker://$REG/merge:1 oci:mc:1 >/dev/null &&
	stele verify --key k4.pub --identity app:1 oci:mc:1 >/dev/null &&
	stele verify --key k3.pub --identity app:1 oci:mc:1 >/dev/null &&
	stele verify --key k.pub --identity $REG/app:1 oci:mc:1 >/dev/null
'
test_expect_success 'stele_registry_pull_to (the builder'"'"'s FROM HOST/REPO@DIGEST): pulls once, then offline' '
	STELE_TEST_REGISTRY=$REG/app@$D "$(dirname "$STELE")/tests/test_registry" >unit.out 2>&1;
	sed "s/^skip/(unit) skip/" unit.out; grep -q "PASSED  \] [0-9]* test" unit.out && ! grep -q "FAILED" unit.out && grep -q "^pull_to: .*404" unit.out &&
	grep -q "^prefetch: [0-9]* requests" unit.out
'
test_expect_success 'a missing image is a clear error naming it' '
	expect_code 3 stele pull $I docker://$REG/nope:1 oci:nope:1 2>err && cat err &&
	grep -q "nope:1" err && grep -q "404" err && [ ! -e nope ]
'

if ! find_cosign; then
	test_skip 'cosign verify of what stele pushed' "$COSIGN_WHY"
else
	test_expect_success 'cosign verify --key accepts the signature stele pushed' '
		"$COSIGN" verify --key k.pub --insecure-ignore-tlog=true --allow-http-registry=true \
			$REG/app:1 >cv.out 2>cv.err && grep -q "$D" cv.out
	'
	test_expect_success 'stele verifies a signature cosign pushed with a stele key' '
		stele keygen --output-prefix c2 >/dev/null 2>&1 &&
		COSIGN_PASSWORD=pw "$COSIGN" sign --key c2.key --tlog-upload=false --allow-http-registry=true \
			--yes $REG/app@$D >/dev/null 2>&1 &&
		stele pull $I docker://$REG/app:1 oci:cs:1 >/dev/null &&
		printf "{\"keys\": {\"c2\": {\"path\": \"c2.pub\"}}, \"signatures\": {\"threshold\": 1, \"identity\": {\"type\": \"matchRepository\"}}}" >c2policy.json &&
		stele verify --policy c2policy.json oci:cs:1 >cs.out && cat cs.out &&
		stele verify --key k.pub oci:cs:1 >/dev/null
	'
fi
