#!/bin/sh
# Bases named the Docker way: FROM debian:12 or FROM library/alpine, when
# the local store lacks them, are docker.io/library/… as Docker resolves
# them, pulled (here through a registry mirror on 127.0.0.1: tests never
# leave it), with the tag warning and the lock; when nothing is found the
# error says what was tried and how to fix it.
. "$(dirname "$0")/lib.sh"

export STELE_CACHE="$TMP/cache" STELE_REGISTRY_BACKOFF_MS=1
if ! start_registry; then
	test_expect_success 'a registry on 127.0.0.1 starts' 'false'
	test_done
fi
make_busybox_base "oci:$TMP/bb:1"
# The "Docker Hub" images, served by the local registry as docker.io's mirror.
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/library/debian:12"
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/library/alpine:latest"
skopeo copy -q --dest-tls-verify=false "oci:$TMP/bb:1" "docker://$REG/org/tool:2"
BD=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/library/debian:12")
mkdir c && echo x >c/x

test_expect_success 'FROM debian:12, not in the store: docker.io/library/debian:12, pulled through the mirror' '
	printf "FROM debian:12\nRUN cat /etc/passwd >/dev/null && echo built >/b\n" >c/Dockerfile &&
	stele build --tls-verify=false --registry-mirror docker.io=$REG --lock c.lock -o oci:$TMP/o1:x c >d1 2>err && cat err &&
	grep -q "warning: base .debian:12. is named by a tag" err &&
	grep -q "is not in the local store: trying docker.io/library/debian, as Docker names it" err &&
	grep -q "pulling docker.io/library/debian:12 through the mirror $REG" err &&
	python3 -c "import json;l=json.load(open(\"c.lock\"));assert l[\"images\"][\"debian:12\"]==\"$BD\", l" &&
	python3 - "$BD" "$REG" <<-\PY
	import json, sys
	i = json.load(open("o1/index.json"))
	r = [m for m in i["manifests"] if m.get("artifactType")][0]
	m = json.load(open("o1/blobs/sha256/" + r["digest"][7:]))
	raw = open("o1/blobs/sha256/" + m["layers"][0]["digest"][7:]).read()
	deps = json.loads(raw)["predicate"]["buildDefinition"]["resolvedDependencies"]
	base = [d for d in deps if d.get("name") == "debian:12"]
	assert base and base[0]["uri"] == "docker://docker.io/library/debian@" + sys.argv[1], deps
	assert sys.argv[2] not in raw, "the mirror is in the provenance"
	PY
'
test_expect_success 'the mirror from $STELE_REGISTRY_MIRRORS; FROM library/alpine; FROM org/tool:2' '
	printf "FROM library/alpine\nCOPY x /x\nFROM org/tool:2\nCOPY --from=0 /x /y\n" >c/Dockerfile &&
	STELE_REGISTRY_MIRRORS="quay.example=127.0.0.1:1,docker.io=$REG" \
		stele build --tls-verify=false -o oci:$TMP/o2:x c >/dev/null 2>err && cat err &&
	grep -q "pulling docker.io/library/alpine:latest through the mirror $REG" err &&
	grep -q "pulling docker.io/org/tool:2 through the mirror $REG" err
'
test_expect_success 'COPY --from and RUN --mount from= an image the store lacks: Docker'"'"'s name, pulled once' '
	printf "FROM scratch AS s\nCOPY --from=org/tool:2 /bin/busybox /bb\nFROM org/tool:2\nRUN --mount=from=org/tool:2,source=/bin,target=/b ls /b >/seen\n" >c/Dockerfile &&
	STELE_STORE=$TMP/store-from stele build --tls-verify=false --registry-mirror docker.io=$REG -o oci:$TMP/of:x c >/dev/null 2>err && cat err &&
	[ "$(grep -c "pulling docker.io/org/tool:2 through the mirror $REG" err)" = 1 ] &&
	umoci unpack --image of:x ofu >/dev/null && grep -qx busybox ofu/rootfs/seen
'
test_expect_success 'COPY --from or from= naming no stage and no image is never pulled' '
	printf "FROM scratch\nCOPY --from=nostage /x /x\n" >c/Dockerfile &&
	expect_code 3 stele build --registry-mirror docker.io=$REG -o oci:$TMP/ns:x c 2>err; rc=$?; cat err &&
	[ $rc = 0 ] && grep -q "unknown stage .nostage." err && ! grep -q pulling err
'
test_expect_success 'with the lock: the recorded digest, found in the store offline (mirror down)' '
	printf "FROM debian:12\nRUN cat /etc/passwd >/dev/null && echo built >/b\n" >c/Dockerfile &&
	stele build --locked --lock c.lock --registry-mirror docker.io=127.0.0.1:1 -o oci:$TMP/o3:x c >d3 2>err && cat err &&
	cmp d1 d3 && ! grep -q "named by a tag" err
'
test_expect_success 'an image in the local store by that name wins over docker.io' '
	SOURCE_DATE_EPOCH=0 stele import -q -t debian:12 "$TMP/bbroot" >/dev/null &&
	printf "FROM debian:12\nCOPY x /x\n" >c/Dockerfile &&
	stele build --registry-mirror docker.io=127.0.0.1:1 -o oci:$TMP/o4:x c >/dev/null 2>err && cat err &&
	! grep -q "pulling" err
'
test_expect_success 'nothing found: the error names the candidates tried and how to fix it' '
	printf "FROM nothere:3\nCOPY x /x\n" >c/Dockerfile &&
	expect_code 3 stele build --tls-verify=false --registry-mirror docker.io=$REG -o oci:$TMP/o5:x c 2>err; rc=$?; cat err &&
	[ $rc = 0 ] &&
	grep -q "c/Dockerfile:1: FROM: base image .nothere:3.: not found: tried the local store (.*nothere:3.*) and docker.io/library/nothere:3 through the mirror $REG (" err &&
	grep -q "import the image into the store (stele import, stele copy), name an OCI layout (oci:DIR:TAG), or pull through a mirror (--registry-mirror docker.io=HOST)" err &&
	[ ! -e o5 ]
'
test_expect_success 'an empty store says the same (not "is not an OCI image layout" alone)' '
	printf "FROM debian:13\n" >c/Dockerfile &&
	STELE_STORE=$TMP/empty-store expect_code 3 stele build --registry-mirror docker.io=127.0.0.1:1 -o oci:$TMP/o6:x c 2>err; rc=$?; cat err &&
	[ $rc = 0 ] &&
	grep -q "base image .debian:13.: not found: tried the local store (.*empty-store.*) and docker.io/library/debian:13 through the mirror 127.0.0.1:1 (" err
'
test_expect_success 'a name Docker would not pull is said so' '
	printf "FROM a..b:12\n" >c/Dockerfile &&
	expect_code 3 stele build --registry-mirror docker.io=127.0.0.1:1 -o oci:$TMP/o7:x c 2>err; rc=$?; cat err &&
	[ $rc = 0 ] && grep -q "c/Dockerfile:1: FROM: base image .a..b:12.: not in the local store (.*), and not a name Docker would pull: .a..b. is not a repository name Docker accepts" err
'
test_expect_success 'a bad --registry-mirror or $STELE_REGISTRY_MIRRORS is a usage error' '
	expect_code 2 stele build --registry-mirror docker.io -o oci:$TMP/o8:x c 2>err && cat err &&
	grep -q "registry-mirror .docker.io.: want HOST=MIRROR" err &&
	expect_code 2 stele build --registry-mirror docker.io=http://x/y -o oci:$TMP/o8:x c 2>err &&
	STELE_REGISTRY_MIRRORS="docker.io=a,=b" expect_code 2 stele build -o oci:$TMP/o8:x c 2>err && cat err &&
	grep -q "STELE_REGISTRY_MIRRORS: .=b. is not HOST=MIRROR" err
'

test_done
