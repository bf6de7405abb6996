#!/bin/sh
# The from-source example: a C program compiled in a RUN step on a Debian
# bookworm base (debootstrap, cached in /var/cache/stele), shipped alone in a
# FROM scratch image.  Reproducible with and without the cache, and runnable
# under runc and podman.
. "$(dirname "$0")/lib.sh"

unset SOURCE_DATE_EPOCH      # the epoch is the commit time
export STELE_CACHE="$TMP/cache"
git clone -q "$TOP" a && git clone -q "$TOP" b
rev=$(git -C a rev-parse HEAD)

test_expect_success 'the Debian base: debootstrap (cached) and stele import' '
	root=$(sh "$TOP/scripts/mkdebian.sh") && [ -x "$root/usr/bin/gcc" ] &&
	SOURCE_DATE_EPOCH=0 stele import -q -t bookworm-gcc:1 "$root" >base.digest
'
test_expect_success 'build in one directory, with the cache' '
	(cd a && stele build -f recipes/fromsource/Dockerfile -o oci:$TMP/img:v1 ".#$rev" >../d1 2>../log1) ||
	{ cat log1; false; }
'
test_expect_success 'build again in another directory with --no-cache: same digest' '
	(cd b && umask 077 && TZ=Asia/Tokyo stele build --no-cache -f recipes/fromsource/Dockerfile \
		-o oci:$TMP/img2:v1 "git+file://$TMP/b#$rev" >../d2 2>../log2) &&
	grep -q "0 steps from the cache" log2 && cat d1 d2 && [ "$(cat d1)" = "$(cat d2)" ]
'
test_expect_success 'a rebuild with nothing changed hits the cache for every step' '
	(cd a && stele build -f recipes/fromsource/Dockerfile -o oci:$TMP/img3:v1 ".#$rev" >../d3 2>../log3) &&
	grep -q "4 steps from the cache, 0 built" log3 && [ "$(cat d1)" = "$(cat d3)" ]
'
test_expect_success 'the image holds only the static binary, runs as 65532' '
	umoci unpack --image img:v1 u >/dev/null &&
	[ "$(cd u/rootfs && find . -mindepth 1 | sort | tr "\n" " ")" = "./hello " ] &&
	grep -q "\"uid\": 65532" u/config.json
'
test_expect_success 'runc runs it' '
	run_image img v1 >out && cat out &&
	grep -qx "hello from a static binary built by stele (uid 65532)" out
'
if command -v podman >/dev/null 2>&1; then
	# podman wants a lowercase path in oci: references.
	pod=/tmp/stele-podman-$$
	test_at_exit "rm -rf $pod"
	test_expect_success 'podman runs it' '
		rm -rf $pod && mkdir -p $pod && cp -r img $pod/img &&
		podman --storage-driver vfs --root "$TMP/pr" --runroot "$TMP/prr" \
			--cgroup-manager cgroupfs --events-backend file --runtime runc \
			run --rm --network none --ulimit nofile=1024:1024 \
			--ulimit nproc=1024:1024 "oci:$pod/img:v1" podman >out 2>err ||
		{ cat err; false; }
		cat out && grep -qx "hello from a static binary built by stele (uid 65532): podman" out
	'
else
	test_skip 'podman runs it' 'podman is not installed'
fi
test_expect_success 'the provenance ties the binary to the commit and the compile step' '
	stele inspect oci:img:v1 >insp && cat insp &&
	grep -q "step: recipes/fromsource/Dockerfile:13 COPY --from=build" insp &&
	stele inspect --json oci:img:v1 >j.json &&
	python3 - "$rev" <<-PY
	import json, sys
	j = json.load(open("j.json"))
	idx = json.load(open("img/index.json"))
	r = [m for m in idx["manifests"] if m.get("artifactType")][0]
	m = json.load(open("img/blobs/sha256/" + r["digest"][7:]))
	st = json.load(open("img/blobs/sha256/" + m["layers"][0]["digest"][7:]))
	deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
	assert any(d["digest"].get("gitCommit") == sys.argv[1] for d in deps), deps
	assert any(d["uri"] == "bookworm-gcc:1" for d in deps), deps
	assert st["predicate"]["buildDefinition"]["internalParameters"].get("hermetic", True)
	PY
'
test_expect_success 'stele rebuild of the example says identical' '
	stele rebuild oci:img:v1 >out 2>/dev/null && cat out && grep -q "^identical" out
'
