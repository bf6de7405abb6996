#!/bin/sh
# stele images, tag and rmi on the store and on an oci:DIR layout: what
# podman users expect (a tag goes; the image with its signatures only when
# no other tag names it; several tags by digest want --force), and every
# refusal.
. "$(dirname "$0")/lib.sh"

export STELE_PASSWORD=pw STELE_CACHE="$TMP/cache"
stele keygen --output-prefix k >/dev/null 2>&1
mkdir a b
echo a >a/f && printf 'FROM scratch\nCOPY f /f\n' >a/Dockerfile
echo b >b/f && printf 'FROM scratch\nCOPY f /g\nLABEL x=1\n' >b/Dockerfile
DA=$(stele build -q -t app:1 a) && DB=$(stele build -q -t base:2 b) &&
	stele sign --key k.key app:1 >/dev/null

fsck_ok() { stele fsck --json >f.json && [ "$(json_get f.json .problems)" = "[]" ]; }

# refs FILE: the ref.names of a layout's index.json, sorted, one a line.
refs() { python3 -c 'import json,sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    n = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
    print(n if n else "referrer " + m["annotations"].get("dev.stele.subject", "?"))' "$1" | sort; }

test_expect_success 'images lists the store sorted by name, with digest, size and signatures' '
	stele images >out && cat out &&
	head -1 out | grep -q "^NAME" &&
	sed -n 2p out | grep -q "^app:1 *$(echo "$DA" | cut -c1-19) .* 1$" &&
	sed -n 3p out | grep -q "^base:2 " && [ $(wc -l <out) = 3 ]
'

test_expect_success 'images --json: one array with every field' '
	stele images --json >j && cat j &&
	[ "$(json_get j .[0].name)" = app:1 ] && [ "$(json_get j .[0].digest)" = "$DA" ] &&
	[ "$(json_get j .[0].signatures)" = 1 ] && [ "$(json_get j .[0].attestations)" = 0 ] &&
	[ "$(json_get j .[0].referrers)" -ge 2 ] &&
	[ "$(json_get j .[0].created)" = 2023-11-14T22:13:20Z ] &&
	[ "$(json_get j .[1].name)" = base:2 ] && [ "$(json_get j .[1].size)" -gt 0 ] &&
	! grep -q "sha256-" j
'

test_expect_success 'tag by name and by digest; a name in use moves' '
	stele tag app:1 app:latest && stele tag "$DB" other/b:7 &&
	stele tag base:2 app:latest &&
	stele images --json >j &&
	python3 -c "import json,sys; d={i[\"name\"]: i[\"digest\"] for i in json.load(open(\"j\"))}; sys.exit(0 if d == {\"app:1\": \"$DA\", \"app:latest\": \"$DB\", \"base:2\": \"$DB\", \"other/b:7\": \"$DB\"} else 1)" &&
	stele verify --key k.pub app:1 >/dev/null && fsck_ok
'

test_expect_success 'tag refusals: attachment tags, a digest as the new name, other layouts, registries, missing images, usage' '
	expect_code 2 stele tag app:1 "sha256-${DA#sha256:}.sig" 2>e && grep -q "signature or attestation tag" e &&
	expect_code 2 stele tag "sha256-${DA#sha256:}.sig" x:1 2>e && grep -q "signature or attestation tag" e &&
	expect_code 2 stele tag app:1 "x@$DA" 2>e && grep -q "must be a tag" e &&
	expect_code 2 stele tag app:1 oci:lay:x 2>e && grep -q "different layouts" e &&
	expect_code 2 stele tag app:1 docker://127.0.0.1:1/x:1 2>e && grep -q "registry" e &&
	expect_code 3 stele tag nope:1 x:1 2>e && grep -q "not found" e &&
	expect_code 3 stele tag "sha256:$(printf %064d 0)" x:1 2>e && grep -q "not found" e &&
	expect_code 2 stele tag app:1 2>e && expect_code 2 stele tag --bogus a b 2>e &&
	! stele images | grep -q "^x:"
'

test_expect_success 'rmi NAME of an image another tag names only untags it' '
	stele rmi app:latest >out && cat out && grep -qx "Untagged: app:latest" out &&
	! grep -q Deleted out && stele images | grep -q "^base:2" && fsck_ok
'

test_expect_success 'rmi by digest of an image with two tags is refused, then --force removes both' '
	refs "$STELE_STORE" >before &&
	expect_code 3 stele rmi "$DB" 2>e && cat e && grep -q "has 2 tags (base:2, other/b:7)" e &&
	grep -q -- "--force" e && refs "$STELE_STORE" >after && cmp before after &&
	stele rmi --force --json "$DB" >j && cat j &&
	[ "$(json_get j .deleted)" = "$DB" ] && [ "$(json_get j .untagged)" = "[\"base:2\", \"other/b:7\"]" ] &&
	! stele images | grep -q "^base:2" && ! stele images | grep -q other/b &&
	! refs "$STELE_STORE" | grep -q "${DB#sha256:}" && fsck_ok
'

test_expect_success 'rmi of the last tag removes the image with its signature tag and referrers' '
	stele tag app:1 keep:1 && stele rmi app:1 >out && grep -qx "Untagged: app:1" out &&
	refs "$STELE_STORE" | grep -q "sha256-${DA#sha256:}.sig" &&
	stele rmi --json keep:1 >j && cat j && [ "$(json_get j .deleted)" = "$DA" ] &&
	[ "$(json_get j .attachments)" -ge 3 ] &&
	refs "$STELE_STORE" >r && cat r && [ ! -s r ] && fsck_ok
'

test_expect_success 'rmi refusals: a referrer, an attachment tag, an image an index lists, missing, usage' '
	D=$(stele build -q -t app:1 a) && stele sign --key k.key app:1 >/dev/null &&
	SIG=$(python3 -c "import json; print([m[\"digest\"] for m in json.load(open(\"$STELE_STORE/index.json\"))[\"manifests\"] if m.get(\"artifactType\",\"\").endswith(\"sig.v1+json\")][0])") &&
	expect_code 3 stele rmi "$SIG" 2>e && grep -q "referrer of an image" e &&
	expect_code 3 stele rmi "sha256-${D#sha256:}.sig" 2>e && grep -q "goes with its image" e &&
	python3 - "$STELE_STORE" "$D" <<-PY &&
	import hashlib, json, os, sys
	store, d = sys.argv[1], sys.argv[2]
	size = os.path.getsize(store + "/blobs/sha256/" + d[7:])
	ix = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
	    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size}]},
	    sort_keys=True, separators=(",", ":")).encode()
	h = hashlib.sha256(ix).hexdigest()
	open(store + "/blobs/sha256/" + h, "wb").write(ix)
	idx = json.load(open(store + "/index.json"))
	idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + h,
	    "size": len(ix), "annotations": {"org.opencontainers.image.ref.name": "multi:1"}})
	json.dump(idx, open(store + "/index.json", "w"))
	PY
	expect_code 3 stele rmi "$D" 2>e && cat e && grep -q "listed by image index .multi:1." e &&
	stele rmi app:1 >out && cat out && grep -qx "Untagged: app:1" out && ! grep -q Deleted out &&
	refs "$STELE_STORE" | grep -q "sha256-${D#sha256:}.sig" &&
	expect_code 3 stele rmi nope:1 2>e && grep -q "not found" e &&
	expect_code 3 stele rmi "sha256:$(printf %064d 0)" 2>e && grep -q "not found" e &&
	expect_code 2 stele rmi 2>e && expect_code 2 stele rmi docker://127.0.0.1:1/x:1 2>e &&
	expect_code 2 stele rmi oci:lay 2>e && grep -q "names no image" e &&
	stele rmi multi:1 >out && grep -q "Deleted" out && fsck_ok
'

test_expect_success 'an oci:DIR layout: images, tag, rmi' '
	stele build -q -o oci:lay:v1 a >/dev/null && stele tag oci:lay:v1 oci:lay:v2 &&
	stele images --json oci:lay >j && [ "$(json_get j .[1].name)" = v2 ] &&
	stele rmi oci:lay:v1 >out && grep -qx "Untagged: v1" out &&
	stele rmi oci:lay:v2 >out && grep -q "^Deleted: " out &&
	stele images --json oci:lay >j && [ "$(cat j)" = "[]" ] &&
	expect_code 2 stele images lay 2>e && expect_code 2 stele images oci:a oci:b 2>e &&
	expect_code 3 stele images oci:nowhere 2>e
'

test_expect_success 'rmi of several images goes on after a failure and exits non-zero' '
	stele build -q -t m:1 a >/dev/null && stele build -q -t m:2 b >/dev/null &&
	expect_code 3 stele rmi m:1 nope:3 m:2 >out 2>e && grep -qx "Untagged: m:1" out &&
	grep -qx "Untagged: m:2" out && grep -q "nope:3" e
'
